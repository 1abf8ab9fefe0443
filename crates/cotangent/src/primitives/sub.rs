//! `sub`: elementwise difference. d(a - b) = da - db. Also the `-` operator.

use super::{Residuals, Save};
use super::binary::{BinaryOp, apply};
use crate::array::{DType, FloatElement};
use crate::array::backend::BinaryKernel;
use crate::error::{Error, raise};
use crate::testing::OpInfo;
use crate::trace::Tensor;

/// The kernel.
pub(crate) struct Sub;

impl BinaryKernel for Sub {
    const NAME: &'static str = "sub";
    const CUDA: &'static str = "ct_sub(a, b)";
    fn float<T: FloatElement>(a: T, b: T) -> T {
        a - b
    }
    const INT: Option<fn(i64, i64) -> i64> = Some(i64::wrapping_sub);
}
impl BinaryOp for Sub {
    const SAVE: Save = Save::NOTHING;
    fn jvp(_: &Tensor, _: &Tensor, _: &Tensor, a_dot: Option<&Tensor>, b_dot: Option<&Tensor>) -> Option<Tensor> {
        match (a_dot, b_dot) {
            (Some(a), Some(b)) => Some(a - b),
            (Some(a), None) => Some(a.clone()),
            (None, Some(b)) => Some(-b),
            (None, None) => None,
        }
    }
    fn vjp(_: &Residuals, out_bar: &Tensor, needed: &[bool]) -> [Option<Tensor>; 2] {
        [needed[0].then(|| out_bar.clone()), needed[1].then(|| -out_bar)]
    }
}

/// Elementwise `sub` with broadcasting and type promotion (`torch.sub`).
///
/// # Panics
/// With a bool operand (torch's messages: a difference of masks is a logical op).
#[track_caller]
pub fn sub(a: &Tensor, b: &Tensor) -> Tensor {
    match (a.dtype() == DType::Bool, b.dtype() == DType::Bool) {
        (true, true) => raise(Error::dtype(
            "sub",
            "Subtraction, the `-` operator, with two bool tensors is not supported. Use the `^` \
             operator or the logical_xor() function instead.",
        )),
        (true, false) | (false, true) => raise(Error::dtype(
            "sub",
            "Subtraction, the `-` operator, with a bool tensor is not supported. If you are \
             trying to invert a mask, use the `!` operator or the logical_not() function instead.",
        )),
        (false, false) => apply::<Sub>(a, b),
    }
}

pub(crate) fn op_info() -> Vec<OpInfo> {
    vec![OpInfo::binary("sub", sub, |a, b| a - b)]
}
