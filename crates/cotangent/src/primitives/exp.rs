//! `exp`: elementwise exponential eˣ. d/dx eˣ = eˣ.

use super::Save;
use super::unary::{Point, UnaryOp, apply};
use crate::array::FloatElement;
use crate::array::backend::UnaryKernel;
use crate::testing::OpInfo;
use crate::trace::Tensor;

/// The exponential kernel.
pub(crate) struct Exp;

impl UnaryKernel for Exp {
    const NAME: &'static str = "exp";
    const CUDA: &'static str = "exp(x)";
    fn float<T: FloatElement>(x: T) -> T {
        x.exp()
    }
}
impl UnaryOp for Exp {
    const SAVE: Save = Save::OUTPUT;
    fn df(p: &Point<'_>) -> Option<Tensor> {
        Some(p.y().clone())
    }
}

/// Elementwise eˣ (`torch.exp`). Integer and bool inputs are promoted to `f32`.
///
/// ```
/// # use cotangent::{Tensor, exp};
/// let x = Tensor::from_slice(&[0.0f32], &[1]).unwrap();
/// assert_eq!(exp(&x).to_vec::<f32>(), vec![1.0]);
/// ```
#[track_caller]
pub fn exp(x: &Tensor) -> Tensor {
    apply::<Exp>(x)
}

impl Tensor {
    /// Elementwise eˣ; see [`exp`].
    #[track_caller]
    pub fn exp(&self) -> Tensor {
        exp(self)
    }
}

pub(crate) fn op_info() -> Vec<OpInfo> {
    vec![OpInfo::unary("exp", exp, f64::exp)]
}
