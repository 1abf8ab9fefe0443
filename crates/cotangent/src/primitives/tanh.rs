//! `tanh`: elementwise hyperbolic tangent. d/dx tanh x = 1 - tanh² x.

use super::Save;
use super::unary::{Point, UnaryOp, apply};
use crate::array::FloatElement;
use crate::array::backend::UnaryKernel;
use crate::testing::OpInfo;
use crate::trace::Tensor;

/// The hyperbolic tangent kernel.
pub(crate) struct Tanh;

impl UnaryKernel for Tanh {
    const NAME: &'static str = "tanh";
    const CUDA: &'static str = "tanh(x)";
    fn float<T: FloatElement>(x: T) -> T {
        x.tanh()
    }
}
impl UnaryOp for Tanh {
    const SAVE: Save = Save::OUTPUT;
    fn df(p: &Point<'_>) -> Option<Tensor> {
        Some(1.0 - p.y().square())
    }
}

/// Elementwise hyperbolic tangent (`torch.tanh`). Integer and bool inputs are promoted to `f32`.
///
/// ```
/// # use cotangent::{Tensor, tanh};
/// let x = Tensor::from_slice(&[0.0f32], &[1]).unwrap();
/// assert_eq!(tanh(&x).to_vec::<f32>(), vec![0.0]);
/// ```
#[track_caller]
pub fn tanh(x: &Tensor) -> Tensor {
    apply::<Tanh>(x)
}

impl Tensor {
    /// Elementwise hyperbolic tangent; see [`tanh`].
    #[track_caller]
    pub fn tanh(&self) -> Tensor {
        tanh(self)
    }
}

pub(crate) fn op_info() -> Vec<OpInfo> {
    vec![OpInfo::unary_on("tanh", tanh, f64::tanh, (-4.0, 4.0))]
}
