//! `mul`: elementwise product. d(a b) = b da + a db. Also the `*` operator.

use super::rules::add_opt;
use super::{Residuals, Save};
use super::binary::{BinaryOp, apply};
use crate::array::FloatElement;
use crate::array::backend::BinaryKernel;
use crate::testing::OpInfo;
use crate::trace::Tensor;

/// The kernel.
pub(crate) struct Mul;

impl BinaryKernel for Mul {
    const NAME: &'static str = "mul";
    const CUDA: &'static str = "ct_mul(a, b)";
    fn float<T: FloatElement>(a: T, b: T) -> T {
        a * b
    }
    const INT: Option<fn(i64, i64) -> i64> = Some(i64::wrapping_mul);
    const BOOL: Option<fn(bool, bool) -> bool> = Some(|a, b| a & b);
}
impl BinaryOp for Mul {
    const SAVE: Save = Save::INPUTS;
    fn jvp(a: &Tensor, b: &Tensor, _: &Tensor, a_dot: Option<&Tensor>, b_dot: Option<&Tensor>) -> Option<Tensor> {
        add_opt(a_dot.map(|t| t * b), b_dot.map(|t| a * t))
    }
    fn vjp(res: &Residuals, out_bar: &Tensor, needed: &[bool]) -> [Option<Tensor>; 2] {
        [needed[0].then(|| out_bar * res.input(1)), needed[1].then(|| res.input(0) * out_bar)]
    }
}

/// Elementwise `mul` with broadcasting and type promotion (`torch.mul`).
#[track_caller]
pub fn mul(a: &Tensor, b: &Tensor) -> Tensor {
    apply::<Mul>(a, b)
}

pub(crate) fn op_info() -> Vec<OpInfo> {
    vec![OpInfo::binary("mul", mul, |a, b| a * b)]
}
