//! `ceil`: elementwise rounding up to an integer value. Its derivative is 0 wherever it
//! exists.

use super::Save;
use super::unary::{Point, UnaryOp, apply, int_op_info};
use crate::array::FloatElement;
use crate::array::backend::UnaryKernel;
use crate::testing::OpInfo;
use crate::trace::Tensor;

/// The ceiling kernel.
pub(crate) struct Ceil;

impl UnaryKernel for Ceil {
    const NAME: &'static str = "ceil";
    const CUDA: &'static str = "ct_ceil(x)";
    fn float<T: FloatElement>(x: T) -> T {
        x.ceil()
    }
    // Integers are already whole: torch returns a copy.
    const INT: Option<fn(i64) -> i64> = Some(|x| x);
}
impl UnaryOp for Ceil {
    const SAVE: Save = Save::NOTHING;
    fn df(_: &Point<'_>) -> Option<Tensor> {
        None
    }
}

/// Elementwise ceiling, the smallest integer value `>= x`, in the input's dtype
/// (`torch.ceil`; integer inputs come back unchanged).
///
/// ```
/// # use cotangent::{Tensor, ceil};
/// let x = Tensor::from_slice(&[1.5f32, -1.5], &[2]).unwrap();
/// assert_eq!(ceil(&x).to_vec::<f32>(), vec![2.0, -1.0]);
/// ```
#[track_caller]
pub fn ceil(x: &Tensor) -> Tensor {
    apply::<Ceil>(x)
}

impl Tensor {
    /// Elementwise ceiling; see [`ceil`].
    #[track_caller]
    pub fn ceil(&self) -> Tensor {
        ceil(self)
    }
}

pub(crate) fn op_info() -> Vec<OpInfo> {
    vec![
        OpInfo::unary_on("ceil", ceil, f64::ceil, (-4.0, 4.0)),
        int_op_info("ceil_i64", ceil, |x| x),
    ]
}
