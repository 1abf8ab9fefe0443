//! `abs`: elementwise absolute value |x|. d/dx |x| = sign x (0 at 0, by convention).

use crate::error::{Error, raise};
use super::Save;
use super::unary::{Point, UnaryOp, apply, int_op_info};
use crate::array::backend::UnaryKernel;
use crate::array::{DType, FloatElement};
use crate::testing::OpInfo;
use crate::trace::Tensor;

/// The absolute-value kernel.
pub(crate) struct Abs;

impl UnaryKernel for Abs {
    const NAME: &'static str = "abs";
    const CUDA: &'static str = "ct_abs(x)";
    fn float<T: FloatElement>(x: T) -> T {
        x.abs()
    }
    const INT: Option<fn(i64) -> i64> = Some(i64::wrapping_abs);
}
impl UnaryOp for Abs {
    const SAVE: Save = Save::inputs(&[0]);
    fn df(p: &Point<'_>) -> Option<Tensor> {
        Some(p.x().sign())
    }
}

/// Elementwise absolute value (`torch.abs`). Float and `i64` inputs keep their dtype.
///
/// # Panics
/// On a bool tensor (torch: "abs" is not implemented for 'Bool').
///
/// ```
/// # use cotangent::{Tensor, abs};
/// let x = Tensor::from_slice(&[-2i64, 3], &[2]).unwrap();
/// assert_eq!(abs(&x).to_vec::<i64>(), vec![2, 3]);
/// ```
#[track_caller]
pub fn abs(x: &Tensor) -> Tensor {
    if x.dtype() == DType::Bool {
        raise(Error::dtype(
            "abs",
            "not implemented for 'torch.bool'; cast the input with .to_dtype() first",
        ));
    }
    apply::<Abs>(x)
}

impl Tensor {
    /// Elementwise absolute value; see [`abs`].
    #[track_caller]
    pub fn abs(&self) -> Tensor {
        abs(self)
    }
}

pub(crate) fn op_info() -> Vec<OpInfo> {
    vec![
        OpInfo::unary("abs", abs, f64::abs),
        int_op_info("abs_i64", abs, f64::abs),
    ]
}
