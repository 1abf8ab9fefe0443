//! `argmax`: the position of the largest element along one axis, which is removed, as `i64`
//! (torch's `argmax`). The first occurrence wins among ties, and NaN counts as larger than
//! everything, as in torch.
//!
//! Derivative: the output is an integer, so it carries no tangent; the derivative is zero
//! (torch marks it non-differentiable).

use super::frontend::normalize_dim;
use super::reduce_sum::reduced_aval;
use super::rules::batch_at_front;
use super::{Aval, AvalRef, Primitive, Residuals, Save};
use crate::array::backend;
use crate::array::{Array, DType};
use crate::error::{Error, Result, raise};
use crate::testing::{OpInfo, RefArray, TestRng};
use crate::trace::{Tensor, bind};

/// Index of the max (or, with `max = false`, the min) along `axis` (a non-empty dim): one
/// primitive for both, as they differ only in the kernel's comparison; `argmin` lives in
/// `argmin.rs`.
#[derive(Clone, Debug)]
pub(crate) struct ArgReduce {
    pub(crate) axis: usize,
    pub(crate) max: bool,
}

/// Shape rule of argmax/argmin: the axis is removed, it must be non-empty, the output is `i64`.
fn arg_aval(op: &'static str, x: AvalRef<'_>, axis: usize) -> Result<Aval> {
    if x.shape.get(axis) == Some(&0) {
        return Err(Error::shape(
            op,
            format!("Expected reduction dim {axis} to have non-zero size."),
        ));
    }
    let out = reduced_aval(op, x, &[axis])?;
    Ok(Aval {
        shape: out.shape,
        dtype: DType::I64,
    })
}

impl Primitive for ArgReduce {
    fn name(&self) -> &'static str {
        if self.max { "argmax" } else { "argmin" }
    }

    fn shape_rule(&self, inputs: &[AvalRef<'_>]) -> Result<Aval> {
        arg_aval(self.name(), inputs[0], self.axis)
    }

    fn eval(&self, inputs: &[&Array], _out: &Aval) -> Array {
        backend::arg_reduce(inputs[0], self.axis, self.max)
    }

    // Integer output: no derivative.
    fn jvp(&self, _: &[Tensor], _: &Tensor, _: &[Option<Tensor>]) -> Option<Tensor> {
        None
    }

    fn saves(&self) -> Save {
        Save::NOTHING
    }

    fn vjp(&self, _: &Residuals, _: &Tensor, _: &[bool]) -> Vec<Option<Tensor>> {
        vec![None]
    }

    fn vmap(
        &self,
        inputs: &[Tensor],
        axes: &[Option<usize>],
        size: usize,
    ) -> (Tensor, Option<usize>) {
        let x = batch_at_front(&inputs[0], axes[0], size);
        let shifted = ArgReduce {
            axis: self.axis + 1,
            max: self.max,
        };
        (bind(shifted, &[&x]), Some(0))
    }
}

/// The frontend shared by argmax and argmin: `dim` `None` indexes the flattened tensor, 0-d
/// inputs have one position, `keepdim` keeps the reduced dim(s) as size 1.
#[track_caller]
pub(crate) fn arg_reduce(
    op: &'static str,
    x: &Tensor,
    dim: Option<isize>,
    keepdim: bool,
    bind_axis: impl FnOnce(&Tensor, usize) -> Tensor,
) -> Tensor {
    use super::reshape::reshape_to;
    match dim {
        None => {
            if x.numel() == 0 {
                raise(Error::shape(
                        op,
                        "Expected reduction dim to be specified for input.numel() == 0."
                    ));
            }
            let out = bind_axis(&reshape_to(x, &[x.numel()]), 0);
            if keepdim {
                reshape_to(&out, &vec![1; x.dim()])
            } else {
                out
            }
        }
        Some(d) => {
            let axis = normalize_dim(op, d, x.dim());
            if x.dim() == 0 {
                return bind_axis(&reshape_to(x, &[1]), 0);
            }
            if x.shape()[axis] == 0 {
                raise(Error::shape(
                        op,
                        format!("Expected reduction dim {axis} to have non-zero size.")
                    ));
            }
            let out = bind_axis(x, axis);
            if keepdim {
                let mut shape = x.shape().to_vec();
                shape[axis] = 1;
                reshape_to(&out, &shape)
            } else {
                out
            }
        }
    }
}

/// The index of the largest element along `dim` (`None`: of the flattened tensor), as `i64`
/// (`torch.argmax`). Ties give the first index; NaN counts as the largest.
///
/// # Panics
/// If the reduced dim (or the whole tensor, for `None`) is empty, with torch's message.
///
/// ```
/// # use cotangent::{Tensor, argmax};
/// let x = Tensor::new([[1.0f32, 5.0, 5.0], [4.0, 2.0, 0.0]]);
/// assert_eq!(argmax(&x, Some(1), false).to_vec::<i64>(), vec![1, 0]);
/// assert_eq!(argmax(&x, None, false).item::<i64>(), 1);
/// ```
#[track_caller]
pub fn argmax(x: &Tensor, dim: Option<isize>, keepdim: bool) -> Tensor {
    arg_reduce("argmax", x, dim, keepdim, |x, axis| {
        bind(ArgReduce { axis, max: true }, &[x])
    })
}

impl Tensor {
    /// The index of the max along `dim` (`None`: flattened); see [`argmax`].
    ///
    /// ```
    /// # use cotangent::Tensor;
    /// assert_eq!(Tensor::new([3i64, 9, 4]).argmax(None, false).item::<i64>(), 1);
    /// ```
    #[track_caller]
    pub fn argmax(&self, dim: Option<isize>, keepdim: bool) -> Tensor {
        argmax(self, dim, keepdim)
    }
}

/// Reference arg-reduction along `axis`: the first index whose value beats all earlier ones
/// under `better(candidate, best)`; NaN beats everything and is beaten by nothing.
pub(crate) fn reference_arg(r: &RefArray, axis: usize, keepdim: bool, max: bool) -> RefArray {
    let mut out_shape = r.shape.clone();
    if keepdim {
        out_shape[axis] = 1;
    } else {
        out_shape.remove(axis);
    }
    RefArray::from_fn(&out_shape, |o| {
        let mut idx: Vec<usize> = o.to_vec();
        if !keepdim {
            idx.insert(axis, 0);
        }
        let mut best = 0usize;
        for k in 0..r.shape[axis] {
            idx[axis] = k;
            let v = r.get(&idx);
            idx[axis] = best;
            let b = r.get(&idx);
            let wins = !b.is_nan() && (v.is_nan() || if max { v > b } else { v < b });
            if wins {
                best = k;
            }
        }
        best as f64
    })
}

/// Reference over the flattened input.
pub(crate) fn reference_arg_flat(r: &RefArray, max: bool) -> RefArray {
    let flat = RefArray {
        shape: vec![r.data.len()],
        data: r.data.clone(),
    };
    reference_arg(&flat, 0, false, max)
}

/// Samples for argmax/argmin: random values, NaNs, ties and a 0-d input.
pub(crate) fn arg_samples(rng: &mut TestRng) -> Vec<Vec<Tensor>> {
    let mut s = super::reduce_max::extremum_samples(rng);
    s.push(vec![Tensor::new([[2.0f64, 2.0], [-1.0, f64::NAN]])]);
    s
}

pub(crate) fn op_info() -> Vec<OpInfo> {
    vec![
        OpInfo::new(
            "argmax",
            |a| a[0].argmax(Some(-1), false),
            |r| reference_arg(&r[0], r[0].shape.len() - 1, false, true),
            arg_samples,
        )
        .out_dtype(DType::I64),
        OpInfo::new(
            "argmax_keepdim",
            |a| a[0].argmax(Some(0), true),
            |r| reference_arg(&r[0], 0, true, true),
            |rng| {
                let mut s = arg_samples(rng);
                s.push(vec![rng.tensor(&[3, 0], -1.0, 1.0)]);
                s
            },
        )
        .out_dtype(DType::I64),
        OpInfo::new(
            "argmax_flat",
            |a| a[0].argmax(None, false),
            |r| reference_arg_flat(&r[0], true),
            |rng| {
                let mut s = arg_samples(rng);
                s.push(vec![rng.tensor(&[], -1.0, 1.0)]);
                s
            },
        )
        .out_dtype(DType::I64),
        OpInfo::new(
            "argmax_i64",
            |a| a[0].argmax(Some(0), false),
            |r| reference_arg(&r[0], 0, false, true),
            |rng| vec![vec![rng.indices(&[6, 3], 4)], vec![rng.indices(&[5], 3)]],
        )
        .dtypes(&[DType::I64])
        .out_dtype(DType::I64),
    ]
}
