//! `floor`: elementwise rounding down to an integer value. Its derivative is 0 wherever it
//! exists.

use super::Save;
use super::unary::{Point, UnaryOp, apply, int_op_info};
use crate::array::FloatElement;
use crate::array::backend::UnaryKernel;
use crate::testing::OpInfo;
use crate::trace::Tensor;

/// The floor kernel.
pub(crate) struct Floor;

impl UnaryKernel for Floor {
    const NAME: &'static str = "floor";
    const CUDA: &'static str = "ct_floor(x)";
    fn float<T: FloatElement>(x: T) -> T {
        x.floor()
    }
    // Integers are already whole: torch returns a copy.
    const INT: Option<fn(i64) -> i64> = Some(|x| x);
}
impl UnaryOp for Floor {
    const SAVE: Save = Save::NOTHING;
    fn df(_: &Point<'_>) -> Option<Tensor> {
        None
    }
}

/// Elementwise floor, the largest integer value `<= x`, in the input's dtype
/// (`torch.floor`; integer inputs come back unchanged).
///
/// ```
/// # use cotangent::{Tensor, floor};
/// let x = Tensor::from_slice(&[1.5f32, -1.5], &[2]).unwrap();
/// assert_eq!(floor(&x).to_vec::<f32>(), vec![1.0, -2.0]);
/// ```
#[track_caller]
pub fn floor(x: &Tensor) -> Tensor {
    apply::<Floor>(x)
}

impl Tensor {
    /// Elementwise floor; see [`floor`].
    #[track_caller]
    pub fn floor(&self) -> Tensor {
        floor(self)
    }
}

pub(crate) fn op_info() -> Vec<OpInfo> {
    vec![
        OpInfo::unary_on("floor", floor, f64::floor, (-4.0, 4.0)),
        int_op_info("floor_i64", floor, |x| x),
    ]
}
