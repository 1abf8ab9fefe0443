//! `expm1`: elementwise eˣ - 1, accurate for small x. d/dx (eˣ - 1) = eˣ.

use super::Save;
use super::unary::{Point, UnaryOp, apply};
use crate::array::FloatElement;
use crate::array::backend::UnaryKernel;
use crate::testing::OpInfo;
use crate::trace::Tensor;

/// The eˣ - 1 kernel.
pub(crate) struct Expm1;

impl UnaryKernel for Expm1 {
    const NAME: &'static str = "expm1";
    const CUDA: &'static str = "expm1(x)";
    fn float<T: FloatElement>(x: T) -> T {
        x.exp_m1()
    }
}
impl UnaryOp for Expm1 {
    const SAVE: Save = Save::OUTPUT;
    fn df(p: &Point<'_>) -> Option<Tensor> {
        Some(p.y() + 1.0)
    }
}

/// Elementwise eˣ - 1, accurate near 0 (`torch.expm1`). Integer and bool inputs are promoted to `f32`.
///
/// ```
/// # use cotangent::{Tensor, expm1};
/// let x = Tensor::from_slice(&[0.0f32], &[1]).unwrap();
/// assert_eq!(expm1(&x).to_vec::<f32>(), vec![0.0]);
/// ```
#[track_caller]
pub fn expm1(x: &Tensor) -> Tensor {
    apply::<Expm1>(x)
}

impl Tensor {
    /// Elementwise eˣ - 1; see [`expm1`].
    #[track_caller]
    pub fn expm1(&self) -> Tensor {
        expm1(self)
    }
}

pub(crate) fn op_info() -> Vec<OpInfo> {
    vec![OpInfo::unary("expm1", expm1, f64::exp_m1)]
}
