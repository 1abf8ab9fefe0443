//! `cumsum`: running sums along one axis (torch's `cumsum`):
//! `y[..., i, ...] = Σ_{j ≤ i} x[..., j, ...]`. Integer and bool inputs sum as `i64`, as in
//! torch; `f32` sums are accumulated in `f64` (torch does the same on the CPU).
//!
//! Derivative: linear. Its adjoint is the reversed running sum:
//! `x̄[i] = Σ_{j ≥ i} ȳ[j]`, i.e. `flip(cumsum(flip(ȳ)))` along the axis.

use super::frontend::normalize_dim;
use super::rules::batch_at_front;
use super::{Aval, AvalRef, Primitive, Residuals, Save};
use crate::array::backend;
use crate::array::{Array, DType};
use crate::error::{Error, Result};
use crate::testing::{OpInfo, RefArray};
use crate::trace::{Tensor, bind};

/// Running sums along `axis`.
#[derive(Clone, Debug)]
pub(crate) struct Cumsum {
    pub(crate) axis: usize,
}

impl Primitive for Cumsum {
    fn name(&self) -> &'static str {
        "cumsum"
    }

    fn shape_rule(&self, inputs: &[AvalRef<'_>]) -> Result<Aval> {
        let x = inputs[0];
        if x.dtype == DType::Bool {
            return Err(Error::shape(
                "cumsum",
                "internal: bool input should be cast to int64 first",
            ));
        }
        if self.axis >= x.shape.len() {
            return Err(Error::shape(
                "cumsum",
                format!("internal: axis {} for shape {:?}", self.axis, x.shape),
            ));
        }
        Ok(Aval::new(x.shape, x.dtype))
    }

    fn eval(&self, inputs: &[&Array], _out: &Aval) -> Array {
        backend::cumsum(inputs[0], self.axis)
    }

    fn jvp(&self, _: &[Tensor], _: &Tensor, tangents: &[Option<Tensor>]) -> Option<Tensor> {
        tangents[0].as_ref().map(|t| bind(self.clone(), &[t]))
    }

    fn saves(&self) -> Save {
        Save::NOTHING
    }

    // The adjoint of a running sum is the running sum from the end.
    fn vjp(&self, _: &Residuals, cotangent: &Tensor, _: &[bool]) -> Vec<Option<Tensor>> {
        let d = [self.axis as isize];
        vec![Some(bind(self.clone(), &[&cotangent.flip(&d)]).flip(&d))]
    }

    fn vmap(
        &self,
        inputs: &[Tensor],
        axes: &[Option<usize>],
        size: usize,
    ) -> (Tensor, Option<usize>) {
        let x = batch_at_front(&inputs[0], axes[0], size);
        (
            bind(
                Cumsum {
                    axis: self.axis + 1,
                },
                &[&x],
            ),
            Some(0),
        )
    }
}

/// Running sums of `x` along `dim` (`torch.cumsum`); integer and bool inputs give `i64`.
///
/// # Panics
/// If `dim` is out of range, with torch's message.
///
/// ```
/// # use cotangent::{Tensor, cumsum};
/// let x = Tensor::new([[1i64, 2, 3], [4, 5, 6]]);
/// assert_eq!(cumsum(&x, 1).to_vec::<i64>(), vec![1, 3, 6, 4, 9, 15]);
/// assert_eq!(cumsum(&x, 0).to_vec::<i64>(), vec![1, 2, 3, 5, 7, 9]);
/// ```
#[track_caller]
pub fn cumsum(x: &Tensor, dim: isize) -> Tensor {
    let axis = normalize_dim("cumsum", dim, x.dim());
    let x = if x.dtype().is_float() {
        x.clone()
    } else {
        x.to_dtype(DType::I64)
    };
    if x.dim() == 0 {
        return x;
    }
    bind(Cumsum { axis }, &[&x])
}

impl Tensor {
    /// Running sums along `dim`; see [`cumsum`].
    ///
    /// ```
    /// # use cotangent::Tensor;
    /// let x = Tensor::new([1.0f32, 2.0, 3.0]);
    /// assert_eq!(x.cumsum(0).to_vec::<f32>(), vec![1.0, 3.0, 6.0]);
    /// ```
    #[track_caller]
    pub fn cumsum(&self, dim: isize) -> Tensor {
        cumsum(self, dim)
    }
}

/// Reference: each output element sums the input along `axis` up to its position.
fn reference_cumsum(x: &RefArray, axis: usize) -> RefArray {
    if x.shape.is_empty() {
        return x.clone();
    }
    RefArray::from_fn(&x.shape, |p| {
        let mut q = p.to_vec();
        (0..=p[axis])
            .map(|j| {
                q[axis] = j;
                x.get(&q)
            })
            .sum()
    })
}

pub(crate) fn op_info() -> Vec<OpInfo> {
    let samples = |rng: &mut crate::testing::TestRng| {
        vec![
            vec![rng.tensor(&[3, 5], -1.0, 1.0)],
            vec![rng.tensor(&[2, 3, 4], -1.0, 1.0)],
            vec![rng.tensor(&[7, 1], -1.0, 1.0)],
            vec![rng.tensor(&[0, 3], -1.0, 1.0)],
            vec![rng.tensor(&[3, 0], -1.0, 1.0)],
        ]
    };
    vec![
        OpInfo::new(
            "cumsum",
            |a| a[0].cumsum(0),
            |r| reference_cumsum(&r[0], 0),
            samples,
        ),
        OpInfo::new(
            "cumsum_last",
            |a| a[0].cumsum(-1),
            |r| reference_cumsum(&r[0], r[0].shape.len().saturating_sub(1)),
            move |rng| {
                let mut s = samples(rng);
                s.push(vec![rng.tensor(&[], -1.0, 1.0)]);
                s.push(vec![rng.tensor(&[40], -1.0, 1.0)]);
                s
            },
        ),
        OpInfo::new(
            "cumsum_i64",
            |a| a[0].cumsum(1),
            |r| reference_cumsum(&r[0], 1),
            |rng| {
                vec![
                    vec![rng.indices(&[3, 4], 100)],
                    vec![rng.indices(&[2, 5], 2).to_dtype(DType::Bool)],
                ]
            },
        )
        .dtypes(&[DType::I64])
        .out_dtype(DType::I64),
    ]
}
