//! `cos`: elementwise cosine. d/dx cos x = -sin x.

use super::Save;
use super::unary::{Point, UnaryOp, apply};
use crate::array::FloatElement;
use crate::array::backend::UnaryKernel;
use crate::testing::OpInfo;
use crate::trace::Tensor;

/// The cosine kernel.
pub(crate) struct Cos;

impl UnaryKernel for Cos {
    const NAME: &'static str = "cos";
    const CUDA: &'static str = "cos(x)";
    fn float<T: FloatElement>(x: T) -> T {
        x.cos()
    }
}
impl UnaryOp for Cos {
    const SAVE: Save = Save::inputs(&[0]);
    fn df(p: &Point<'_>) -> Option<Tensor> {
        Some(-p.x().sin())
    }
}

/// Elementwise cosine (`torch.cos`). Integer and bool inputs are promoted to `f32`.
///
/// ```
/// # use cotangent::{Tensor, cos};
/// let x = Tensor::from_slice(&[0.0f32], &[1]).unwrap();
/// assert_eq!(cos(&x).to_vec::<f32>(), vec![1.0]);
/// ```
#[track_caller]
pub fn cos(x: &Tensor) -> Tensor {
    apply::<Cos>(x)
}

impl Tensor {
    /// Elementwise cosine; see [`cos`].
    #[track_caller]
    pub fn cos(&self) -> Tensor {
        cos(self)
    }
}

pub(crate) fn op_info() -> Vec<OpInfo> {
    vec![OpInfo::unary("cos", cos, f64::cos)]
}
