//! `rsqrt`: elementwise reciprocal square root 1/√x. d/dx x^(-1/2) = -x^(-3/2)/2.

use super::Save;
use super::unary::{Point, UnaryOp, apply};
use crate::array::FloatElement;
use crate::array::backend::UnaryKernel;
use crate::testing::OpInfo;
use crate::trace::Tensor;

/// The reciprocal square root kernel.
pub(crate) struct Rsqrt;

impl UnaryKernel for Rsqrt {
    const NAME: &'static str = "rsqrt";
    // Not CUDA's `rsqrt`, which is approximate: the host computes 1 / sqrt(x) too.
    const CUDA: &'static str = "T(1) / sqrt(x)";
    fn float<T: FloatElement>(x: T) -> T {
        x.sqrt().recip()
    }
}
impl UnaryOp for Rsqrt {
    const SAVE: Save = Save::OUTPUT;
    fn df(p: &Point<'_>) -> Option<Tensor> {
        Some(p.y() * p.y().square() * -0.5)
    }
}

/// Elementwise 1/√x; zero gives inf, negative inputs NaN (`torch.rsqrt`). Integer and bool inputs are promoted to `f32`.
///
/// ```
/// # use cotangent::{Tensor, rsqrt};
/// let x = Tensor::from_slice(&[4.0f32, 0.25], &[2]).unwrap();
/// assert_eq!(rsqrt(&x).to_vec::<f32>(), vec![0.5, 2.0]);
/// ```
#[track_caller]
pub fn rsqrt(x: &Tensor) -> Tensor {
    apply::<Rsqrt>(x)
}

impl Tensor {
    /// Elementwise 1/√x; see [`rsqrt`].
    #[track_caller]
    pub fn rsqrt(&self) -> Tensor {
        rsqrt(self)
    }
}

pub(crate) fn op_info() -> Vec<OpInfo> {
    vec![OpInfo::unary_on(
        "rsqrt",
        rsqrt,
        |x| 1.0 / x.sqrt(),
        (0.1, 4.0),
    )]
}
