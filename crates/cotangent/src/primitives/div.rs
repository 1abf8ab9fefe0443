//! `div`: elementwise true division (integers divide as floats, as in torch). d(a / b) = da / b - a db / b². Also the `/` operator.

use super::{Residuals, Save};
use super::binary::{BinaryOp, apply};
use crate::array::FloatElement;
use crate::array::backend::BinaryKernel;
use crate::testing::OpInfo;
use crate::trace::Tensor;

/// The kernel.
pub(crate) struct Div;

impl BinaryKernel for Div {
    const NAME: &'static str = "div";
    const CUDA: &'static str = "a / b";
    fn float<T: FloatElement>(a: T, b: T) -> T {
        a / b
    }
    
}
impl BinaryOp for Div {
    const INT_TO_FLOAT: bool = true;
    const SAVE: Save = Save { inputs: 0b10, output: true };
    fn jvp(_: &Tensor, b: &Tensor, out: &Tensor, a_dot: Option<&Tensor>, b_dot: Option<&Tensor>) -> Option<Tensor> {
        // d(a / b) = (da - (a / b) db) / b
        let num = match (a_dot, b_dot) {
            (Some(a), Some(t)) => a - &(out * t),
            (Some(a), None) => a.clone(),
            (None, Some(t)) => -(out * t),
            (None, None) => return None,
        };
        Some(&num / b)
    }
    fn vjp(res: &Residuals, out_bar: &Tensor, needed: &[bool]) -> [Option<Tensor>; 2] {
        let a_bar = out_bar / res.input(1);
        let b_bar = needed[1].then(|| -(&a_bar * res.output()));
        [needed[0].then_some(a_bar), b_bar]
    }
}

/// Elementwise `div` with broadcasting and type promotion (`torch.div`).
#[track_caller]
pub fn div(a: &Tensor, b: &Tensor) -> Tensor {
    apply::<Div>(a, b)
}

pub(crate) fn op_info() -> Vec<OpInfo> {
    vec![OpInfo::binary_on("div", div, |a, b| a / b, (-2.0, 2.0), (0.5, 2.0))]
}
