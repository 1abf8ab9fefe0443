//! `log1p`: elementwise ln(1 + x), accurate for small x. d/dx ln(1 + x) = 1/(1 + x).

use super::Save;
use super::unary::{Point, UnaryOp, apply};
use crate::array::FloatElement;
use crate::array::backend::UnaryKernel;
use crate::testing::OpInfo;
use crate::trace::Tensor;

/// The ln(1 + x) kernel.
pub(crate) struct Log1p;

impl UnaryKernel for Log1p {
    const NAME: &'static str = "log1p";
    const CUDA: &'static str = "log1p(x)";
    fn float<T: FloatElement>(x: T) -> T {
        x.ln_1p()
    }
}
impl UnaryOp for Log1p {
    const SAVE: Save = Save::inputs(&[0]);
    fn df(p: &Point<'_>) -> Option<Tensor> {
        Some((p.x() + 1.0).reciprocal())
    }
}

/// Elementwise ln(1 + x), accurate near 0 (`torch.log1p`). Integer and bool inputs are promoted to `f32`.
///
/// ```
/// # use cotangent::{Tensor, log1p};
/// let x = Tensor::from_slice(&[0.0f32], &[1]).unwrap();
/// assert_eq!(log1p(&x).to_vec::<f32>(), vec![0.0]);
/// ```
#[track_caller]
pub fn log1p(x: &Tensor) -> Tensor {
    apply::<Log1p>(x)
}

impl Tensor {
    /// Elementwise ln(1 + x); see [`log1p`].
    #[track_caller]
    pub fn log1p(&self) -> Tensor {
        log1p(self)
    }
}

pub(crate) fn op_info() -> Vec<OpInfo> {
    vec![OpInfo::unary_on("log1p", log1p, f64::ln_1p, (-0.9, 2.0))]
}
