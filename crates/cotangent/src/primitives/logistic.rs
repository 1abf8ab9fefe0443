//! `sigmoid`: the elementwise logistic function σ(x) = 1/(1 + e⁻ˣ) (file named after the
//! maths, op named after torch). d/dx σ(x) = σ(x)(1 - σ(x)).

use super::Save;
use super::unary::{Point, UnaryOp, apply};
use crate::array::FloatElement;
use crate::array::backend::UnaryKernel;
use crate::testing::OpInfo;
use crate::trace::Tensor;

/// The logistic kernel.
pub(crate) struct Logistic;

impl UnaryKernel for Logistic {
    const NAME: &'static str = "sigmoid";
    const CUDA: &'static str = "T(1) / (T(1) + exp(-x))";
    fn float<T: FloatElement>(x: T) -> T {
        // Saturates cleanly: e⁻ˣ overflows to inf for very negative x, giving 0.
        (T::from_f64(1.0) + (-x).exp()).recip()
    }
}
impl UnaryOp for Logistic {
    const SAVE: Save = Save::OUTPUT;
    fn df(p: &Point<'_>) -> Option<Tensor> {
        Some(p.y() * (1.0 - p.y()))
    }
}

/// Elementwise logistic sigmoid 1/(1 + e⁻ˣ) (`torch.sigmoid`). Integer and bool inputs are
/// promoted to `f32`.
///
/// ```
/// # use cotangent::{Tensor, sigmoid};
/// let x = Tensor::from_slice(&[0.0f32], &[1]).unwrap();
/// assert_eq!(sigmoid(&x).to_vec::<f32>(), vec![0.5]);
/// ```
#[track_caller]
pub fn sigmoid(x: &Tensor) -> Tensor {
    apply::<Logistic>(x)
}

impl Tensor {
    /// Elementwise logistic sigmoid; see [`sigmoid`].
    #[track_caller]
    pub fn sigmoid(&self) -> Tensor {
        sigmoid(self)
    }
}

pub(crate) fn op_info() -> Vec<OpInfo> {
    vec![OpInfo::unary_on(
        "sigmoid",
        sigmoid,
        |x| 1.0 / (1.0 + (-x).exp()),
        (-6.0, 6.0),
    )]
}
