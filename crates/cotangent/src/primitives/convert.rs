//! `convert`: change the element type (torch's `x.to(dtype)`), with `as` semantics (floats
//! to integers truncate toward zero; anything to bool is `!= 0`). Linear between float
//! types; its adjoint converts the cotangent back.

use super::{Aval, AvalRef, Primitive, Residuals, Save};
use crate::array::backend;
use crate::array::{Array, DType};
use crate::error::Result;
use crate::testing::OpInfo;
use crate::trace::{Tensor, bind};

/// Convert to `dtype`.
#[derive(Clone, Debug)]
pub(crate) struct Convert {
    pub(crate) dtype: DType,
}

impl Primitive for Convert {
    fn name(&self) -> &'static str {
        "to"
    }

    fn shape_rule(&self, inputs: &[AvalRef<'_>]) -> Result<Aval> {
        Ok(Aval::new(inputs[0].shape, self.dtype))
    }

    fn eval(&self, inputs: &[&Array], _out: &Aval) -> Array {
        backend::cast(inputs[0], self.dtype)
    }


    fn jvp(&self, primals: &[Tensor], _: &Tensor, tangents: &[Option<Tensor>]) -> Option<Tensor> {
        // Only float-to-float conversions carry a derivative.
        let float = primals[0].dtype().is_float() && self.dtype.is_float();
        tangents[0].as_ref().filter(|_| float).map(|t| t.to_dtype(self.dtype))
    }

    fn saves(&self) -> Save {
        Save::NOTHING
    }

    fn vjp(&self, res: &Residuals, cotangent: &Tensor, _: &[bool]) -> Vec<Option<Tensor>> {
        let float = res.dtype(0).is_float() && self.dtype.is_float();
        vec![float.then(|| cotangent.to_dtype(res.dtype(0)))]
    }

    fn vmap(&self, inputs: &[Tensor], axes: &[Option<usize>], _: usize) -> (Tensor, Option<usize>) {
        (inputs[0].to_dtype(self.dtype), axes[0])
    }
}

impl Tensor {
    /// The same values as `dtype` (torch's `x.to(dtype)`); `self` if already of that dtype.
    ///
    /// ```
    /// # use cotangent::{DType, Tensor};
    /// let x = Tensor::from_slice(&[1.7f32, -1.7], &[2]).unwrap();
    /// assert_eq!(x.to_dtype(DType::I64).to_vec::<i64>(), vec![1, -1]);
    /// ```
    #[track_caller]
    pub fn to_dtype(&self, dtype: DType) -> Tensor {
        if self.dtype() == dtype {
            return self.clone();
        }
        bind(Convert { dtype }, &[self])
    }
}

pub(crate) fn op_info() -> Vec<OpInfo> {
    let to = |dtype: DType, name: &str, f: fn(f64) -> f64| {
        OpInfo::unary_on(name, |x| x.to_dtype(DType::F64), f, (-3.0, 3.0)).out_dtype(dtype)
    };
    vec![
        to(DType::F64, "to_f64", |x| x),
        OpInfo::new(
            "to_i64",
            |a| a[0].to_dtype(DType::I64),
            |r| crate::testing::RefArray { shape: r[0].shape.clone(), data: r[0].data.iter().map(|x| x.trunc()).collect() },
            |rng| vec![vec![rng.tensor(&[3, 4], -5.0, 5.0)], vec![rng.tensor(&[], -5.0, 5.0)]],
        )
        .out_dtype(DType::I64),
        OpInfo::new(
            "to_bool",
            |a| a[0].to_dtype(DType::Bool),
            |r| crate::testing::RefArray {
                shape: r[0].shape.clone(),
                data: r[0].data.iter().map(|&x| if x != 0.0 { 1.0 } else { 0.0 }).collect(),
            },
            |rng| vec![vec![rng.tensor(&[3, 4], -1.0, 1.0).to_dtype(DType::I64)]],
        )
        .out_dtype(DType::Bool),
    ]
}
