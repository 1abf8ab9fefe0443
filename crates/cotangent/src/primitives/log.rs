//! `log`: elementwise natural logarithm. d/dx ln x = 1/x.

use super::Save;
use super::unary::{Point, UnaryOp, apply};
use crate::array::FloatElement;
use crate::array::backend::UnaryKernel;
use crate::testing::OpInfo;
use crate::trace::Tensor;

/// The natural logarithm kernel.
pub(crate) struct Log;

impl UnaryKernel for Log {
    const NAME: &'static str = "log";
    const CUDA: &'static str = "log(x)";
    fn float<T: FloatElement>(x: T) -> T {
        x.ln()
    }
}
impl UnaryOp for Log {
    const SAVE: Save = Save::inputs(&[0]);
    fn df(p: &Point<'_>) -> Option<Tensor> {
        Some(p.x().reciprocal())
    }
}

/// Elementwise natural logarithm; negative inputs give NaN, zero gives -inf (`torch.log`). Integer and bool inputs are promoted to `f32`.
///
/// ```
/// # use cotangent::{Tensor, log};
/// let x = Tensor::from_slice(&[1.0f32], &[1]).unwrap();
/// assert_eq!(log(&x).to_vec::<f32>(), vec![0.0]);
/// ```
#[track_caller]
pub fn log(x: &Tensor) -> Tensor {
    apply::<Log>(x)
}

impl Tensor {
    /// Elementwise natural logarithm; see [`log`].
    #[track_caller]
    pub fn log(&self) -> Tensor {
        log(self)
    }
}

pub(crate) fn op_info() -> Vec<OpInfo> {
    vec![OpInfo::unary_on("log", log, f64::ln, (0.1, 3.0))]
}
