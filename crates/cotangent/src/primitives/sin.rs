//! `sin`: elementwise sine. d/dx sin x = cos x.

use super::Save;
use super::unary::{Point, UnaryOp, apply};
use crate::array::FloatElement;
use crate::array::backend::UnaryKernel;
use crate::testing::OpInfo;
use crate::trace::Tensor;

/// The sine kernel.
pub(crate) struct Sin;

impl UnaryKernel for Sin {
    const NAME: &'static str = "sin";
    const CUDA: &'static str = "sin(x)";
    fn float<T: FloatElement>(x: T) -> T {
        x.sin()
    }
}
impl UnaryOp for Sin {
    const SAVE: Save = Save::inputs(&[0]);
    fn df(p: &Point<'_>) -> Option<Tensor> {
        Some(p.x().cos())
    }
}

/// Elementwise sine (`torch.sin`). Integer inputs are promoted to `f32`.
///
/// ```
/// # use cotangent::{Tensor, sin};
/// let y = sin(&Tensor::from_slice(&[0.0f32], &[1]).unwrap());
/// assert_eq!(y.to_vec::<f32>(), vec![0.0]);
/// ```
#[track_caller]
pub fn sin(x: &Tensor) -> Tensor {
    apply::<Sin>(x)
}

impl Tensor {
    /// Elementwise sine; see [`sin`].
    #[track_caller]
    pub fn sin(&self) -> Tensor {
        sin(self)
    }
}

pub(crate) fn op_info() -> Vec<OpInfo> {
    vec![OpInfo::unary("sin", sin, f64::sin)]
}
