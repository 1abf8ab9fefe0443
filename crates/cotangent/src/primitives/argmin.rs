//! `argmin`: the position of the smallest element along one axis, which is removed, as `i64`
//! (torch's `argmin`). The first occurrence wins among ties, and NaN counts as smaller than
//! everything, as in torch (a NaN is the result of `min`, so its index is too).
//!
//! Derivative: the output is an integer, so it carries no tangent; the derivative is zero.
//! The primitive is `argmax.rs`'s `ArgReduce` with `max = false`.

use super::argmax::{ArgReduce, arg_reduce, arg_samples, reference_arg, reference_arg_flat};
use crate::array::DType;
use crate::testing::{OpInfo, RefArray};
use crate::trace::{Tensor, bind};

/// The index of the smallest element along `dim` (`None`: of the flattened tensor), as `i64`
/// (`torch.argmin`). Ties give the first index; NaN counts as the smallest.
///
/// # Panics
/// If the reduced dim (or the whole tensor, for `None`) is empty, with torch's message.
///
/// ```
/// # use cotangent::{Tensor, argmin};
/// let x = Tensor::new([[1.0f32, 5.0, 1.0], [4.0, 2.0, 0.0]]);
/// assert_eq!(argmin(&x, Some(1), false).to_vec::<i64>(), vec![0, 2]);
/// ```
#[track_caller]
pub fn argmin(x: &Tensor, dim: Option<isize>, keepdim: bool) -> Tensor {
    arg_reduce("argmin", x, dim, keepdim, |x, axis| {
        bind(ArgReduce { axis, max: false }, &[x])
    })
}

impl Tensor {
    /// The index of the min along `dim` (`None`: flattened); see [`argmin`].
    ///
    /// ```
    /// # use cotangent::Tensor;
    /// assert_eq!(Tensor::new([3i64, 1, 4]).argmin(None, false).item::<i64>(), 1);
    /// ```
    #[track_caller]
    pub fn argmin(&self, dim: Option<isize>, keepdim: bool) -> Tensor {
        argmin(self, dim, keepdim)
    }
}

pub(crate) fn op_info() -> Vec<OpInfo> {
    vec![
        OpInfo::new(
            "argmin",
            |a| a[0].argmin(Some(-1), false),
            |r| reference_arg(&r[0], r[0].shape.len() - 1, false, false),
            arg_samples,
        )
        .out_dtype(DType::I64),
        OpInfo::new(
            "argmin_keepdim",
            |a| a[0].argmin(Some(1), true),
            |r| reference_arg(&r[0], 1, true, false),
            arg_samples,
        )
        .out_dtype(DType::I64),
        OpInfo::new(
            "argmin_flat",
            |a| a[0].argmin(None, true),
            |r| {
                let flat = reference_arg_flat(&r[0], false);
                RefArray {
                    shape: vec![1; r[0].shape.len()],
                    data: flat.data,
                }
            },
            arg_samples,
        )
        .out_dtype(DType::I64),
    ]
}
