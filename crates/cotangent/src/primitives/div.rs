//! `div`: elementwise true division (integers divide as floats, as in torch). d(a / b) = da / b - a db / b². Also the `/` operator.

use super::binary::{BinaryOp, apply};
use crate::array::FloatElement;
use crate::array::backend::BinaryKernel;
use crate::testing::OpInfo;
use crate::trace::Tensor;

/// The kernel.
pub(crate) struct Div;

impl BinaryKernel for Div {
    const NAME: &'static str = "div";
    fn float<T: FloatElement>(a: T, b: T) -> T {
        a / b
    }
    
}
impl BinaryOp for Div {
    const INT_TO_FLOAT: bool = true;
}

/// Elementwise `div` with broadcasting and type promotion (`torch.div`).
#[track_caller]
pub fn div(a: &Tensor, b: &Tensor) -> Tensor {
    apply::<Div>(a, b)
}

pub(crate) fn op_info() -> Vec<OpInfo> {
    vec![OpInfo::binary_on("div", div, |a, b| a / b, (-2.0, 2.0), (0.5, 2.0))]
}
