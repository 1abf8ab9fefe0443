//! `reduce_prod`: the product over a set of axes, which are removed (torch's `prod`). The
//! empty product is 1; integer and bool inputs multiply as `i64`, as in torch.
//!
//! Derivative: `∂y/∂x_i = ∏_{j≠i} x_j`, which is `y / x_i` where `x_i ≠ 0`. A rule must not
//! divide (zeros are common); it uses the exclusive products instead (prefix × suffix
//! products, or for a single zero, the product of the others).

use super::broadcast_in_dim::broadcast_in_dim;
use super::frontend::{keepdim_shape, reduction_axes, try_normalize_dim};
use super::reduce_sum::reduce_sum;
use super::reduce_sum::{reduced_aval, reduction_samples, reference_reduce};
use super::rules::batch_at_front;
use super::{Aval, AvalRef, Primitive, Residuals, Save};
use crate::array::backend::{self, ReduceOp};
use crate::array::{Array, DType, Dims};
use crate::error::{Error, Result, OrRaise};
use crate::testing::OpInfo;
use crate::trace::{Tensor, bind};

/// Product over `axes` (sorted, unique).
#[derive(Clone, Debug)]
pub(crate) struct ReduceProd {
    pub(crate) axes: Dims,
}

impl Primitive for ReduceProd {
    fn name(&self) -> &'static str {
        "prod"
    }

    fn shape_rule(&self, inputs: &[AvalRef<'_>]) -> Result<Aval> {
        if inputs[0].dtype == DType::Bool {
            return Err(Error::shape(
                "prod",
                "internal: bool input should be cast to int64 first",
            ));
        }
        reduced_aval("prod", inputs[0], &self.axes)
    }

    fn eval(&self, inputs: &[&Array], _out: &Aval) -> Array {
        backend::reduce(inputs[0], &self.axes, ReduceOp::Prod)
    }

    // d(prod x) = sum_i (prod x / x_i) dx_i: exact for inputs without zeros.
    fn jvp(
        &self,
        primals: &[Tensor],
        output: &Tensor,
        tangents: &[Option<Tensor>],
    ) -> Option<Tensor> {
        let t = tangents[0].as_ref()?;
        let x = &primals[0];
        if !x.dtype().is_float() {
            return None;
        }
        let ratio = &self.unreduce(output, x.shape()) / x;
        Some(reduce_sum(&(t * &ratio), &self.axes))
    }

    fn saves(&self) -> Save {
        Save {
            inputs: 1,
            output: true,
        }
    }

    fn vjp(&self, res: &Residuals, cotangent: &Tensor, _: &[bool]) -> Vec<Option<Tensor>> {
        let x = res.input(0);
        let ratio = &self.unreduce(res.output(), x.shape()) / x;
        vec![Some(&self.unreduce(cotangent, x.shape()) * &ratio)]
    }

    fn vmap(
        &self,
        inputs: &[Tensor],
        axes: &[Option<usize>],
        size: usize,
    ) -> (Tensor, Option<usize>) {
        let x = batch_at_front(&inputs[0], axes[0], size);
        let shifted = self.axes.iter().map(|&a| a + 1).collect();
        (bind(ReduceProd { axes: shifted }, &[&x]), Some(0))
    }
}

impl ReduceProd {
    /// `g` (the output's shape) broadcast back over the reduced axes of `shape`.
    fn unreduce(&self, g: &Tensor, shape: &[usize]) -> Tensor {
        let kept: Vec<usize> = (0..shape.len())
            .filter(|d| !self.axes.contains(d))
            .collect();
        broadcast_in_dim(g, shape, &kept)
    }
}

/// Product over `dims` (`None`: all), keeping them as size 1 if `keepdim`.
#[track_caller]
pub(crate) fn prod_dims(x: &Tensor, dims: Option<&[isize]>, keepdim: bool) -> Tensor {
    let axes = reduction_axes("prod", x, dims);
    // torch multiplies bools as int64.
    let x = if x.dtype() == DType::Bool {
        x.to_dtype(DType::I64)
    } else {
        x.clone()
    };
    let out = if axes.is_empty() {
        x.clone()
    } else {
        bind(ReduceProd { axes: axes.clone() }, &[&x])
    };
    if keepdim {
        super::reshape::reshape_to(&out, &keepdim_shape(x.shape(), &axes))
    } else {
        out
    }
}

/// The product of all elements (`dim` `None`, a 0-d result) or along `dim`, kept as size 1
/// if `keepdim` (`torch.prod`).
///
/// # Panics
/// If `dim` is out of range, with torch's message.
///
/// ```
/// # use cotangent::{Tensor, prod};
/// let x = Tensor::new([[1.0f32, 2.0], [3.0, 4.0]]);
/// assert_eq!(prod(&x, None, false).item::<f32>(), 24.0);
/// assert_eq!(prod(&x, Some(-1), true).to_vec::<f32>(), vec![2.0, 12.0]);
/// ```
#[track_caller]
pub fn prod(x: &Tensor, dim: Option<isize>, keepdim: bool) -> Tensor {
    match dim {
        None => prod_dims(x, None, keepdim),
        Some(d) => {
            try_normalize_dim("prod", d, x.dim()).or_raise();
            prod_dims(x, Some(&[d]), keepdim)
        }
    }
}

impl Tensor {
    /// The product of all elements, a 0-d tensor (`x.prod()`); 1 for an empty tensor.
    ///
    /// ```
    /// # use cotangent::Tensor;
    /// assert_eq!(Tensor::new([2i64, 3, 4]).prod().item::<i64>(), 24);
    /// ```
    #[track_caller]
    pub fn prod(&self) -> Tensor {
        prod_dims(self, None, false)
    }

    /// The product along `dim` (`x.prod(dim, keepdim)`); see [`prod`].
    ///
    /// ```
    /// # use cotangent::Tensor;
    /// let x = Tensor::new([[1.0f32, 2.0], [3.0, 4.0]]);
    /// assert_eq!(x.prod_dim(0, false).to_vec::<f32>(), vec![3.0, 8.0]);
    /// ```
    #[track_caller]
    pub fn prod_dim(&self, dim: isize, keepdim: bool) -> Tensor {
        prod(self, Some(dim), keepdim)
    }
}

pub(crate) fn op_info() -> Vec<OpInfo> {
    let times = |a: f64, b: f64| a * b;
    vec![
        OpInfo::new(
            "prod",
            |a| a[0].prod(),
            move |r| {
                reference_reduce(
                    &r[0],
                    &(0..r[0].shape.len()).collect::<Vec<_>>(),
                    false,
                    1.0,
                    times,
                )
            },
            |rng| {
                vec![
                    vec![rng.tensor(&[2, 3], 0.5, 1.5)],
                    vec![rng.tensor(&[3, 1, 2], -1.5, 1.5)],
                    vec![rng.tensor(&[], -1.0, 1.0)],
                    vec![rng.tensor(&[0, 3], -1.0, 1.0)],
                ]
            },
        ),
        OpInfo::new(
            "prod_dim",
            |a| a[0].prod_dim(-1, false),
            move |r| reference_reduce(&r[0], &[r[0].shape.len() - 1], false, 1.0, times),
            |rng| {
                let mut s = reduction_samples(rng);
                s.push(vec![rng.tensor(&[3, 0], -1.0, 1.0)]);
                s
            },
        ),
        OpInfo::new(
            "prod_dim_keepdim",
            |a| a[0].prod_dim(0, true),
            move |r| reference_reduce(&r[0], &[0], true, 1.0, times),
            reduction_samples,
        ),
        OpInfo::new(
            "prod_i64",
            |a| a[0].prod_dim(1, false),
            move |r| reference_reduce(&r[0], &[1], false, 1.0, times),
            |rng| vec![vec![rng.indices(&[3, 4], 5)], vec![rng.indices(&[2, 0], 5)]],
        )
        .dtypes(&[DType::I64])
        .out_dtype(DType::I64),
    ]
}
