//! `add`: elementwise sum. d(a + b) = da + db.

use super::rules::add_opt;
use super::{Residuals, Save};
use super::binary::{BinaryOp, apply};
use crate::array::FloatElement;
use crate::array::backend::BinaryKernel;
use crate::testing::OpInfo;
use crate::trace::Tensor;

/// The addition kernel.
pub(crate) struct Add;

impl BinaryKernel for Add {
    const NAME: &'static str = "add";
    const CUDA: &'static str = "ct_add(a, b)";
    fn float<T: FloatElement>(a: T, b: T) -> T {
        a + b
    }
    const INT: Option<fn(i64, i64) -> i64> = Some(i64::wrapping_add);
    const BOOL: Option<fn(bool, bool) -> bool> = Some(|a, b| a | b);
}
impl BinaryOp for Add {
    const SAVE: Save = Save::NOTHING;
    fn jvp(_: &Tensor, _: &Tensor, _: &Tensor, a_dot: Option<&Tensor>, b_dot: Option<&Tensor>) -> Option<Tensor> {
        add_opt(a_dot.cloned(), b_dot.cloned())
    }
    fn vjp(_: &Residuals, out_bar: &Tensor, needed: &[bool]) -> [Option<Tensor>; 2] {
        [needed[0].then(|| out_bar.clone()), needed[1].then(|| out_bar.clone())]
    }
}

/// Elementwise `a + b` with broadcasting and type promotion (`torch.add`). Also the `+`
/// operator.
///
/// ```
/// # use cotangent::{Tensor, add};
/// let a = Tensor::from_slice(&[1.0f32, 2.0], &[2]).unwrap();
/// let b = Tensor::scalar(10.0f32);
/// assert_eq!(add(&a, &b).to_vec::<f32>(), vec![11.0, 12.0]);
/// ```
#[track_caller]
pub fn add(a: &Tensor, b: &Tensor) -> Tensor {
    apply::<Add>(a, b)
}

pub(crate) fn op_info() -> Vec<OpInfo> {
    vec![OpInfo::binary("add", add, |a, b| a + b)]
}
