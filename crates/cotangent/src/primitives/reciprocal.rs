//! `reciprocal`: elementwise 1/x. d/dx (1/x) = -1/x².

use super::Save;
use super::unary::{Point, UnaryOp, apply};
use crate::array::FloatElement;
use crate::array::backend::UnaryKernel;
use crate::testing::OpInfo;
use crate::trace::Tensor;

/// The reciprocal kernel.
pub(crate) struct Reciprocal;

impl UnaryKernel for Reciprocal {
    const NAME: &'static str = "reciprocal";
    const CUDA: &'static str = "T(1) / x";
    fn float<T: FloatElement>(x: T) -> T {
        x.recip()
    }
}
impl UnaryOp for Reciprocal {
    const SAVE: Save = Save::OUTPUT;
    fn df(p: &Point<'_>) -> Option<Tensor> {
        Some(-p.y().square())
    }
}

/// Elementwise 1/x; zero gives inf (`torch.reciprocal`). Integer and bool inputs are promoted to `f32`.
///
/// ```
/// # use cotangent::{Tensor, reciprocal};
/// let x = Tensor::from_slice(&[4.0f32, -0.5], &[2]).unwrap();
/// assert_eq!(reciprocal(&x).to_vec::<f32>(), vec![0.25, -2.0]);
/// ```
#[track_caller]
pub fn reciprocal(x: &Tensor) -> Tensor {
    apply::<Reciprocal>(x)
}

impl Tensor {
    /// Elementwise 1/x; see [`reciprocal`].
    #[track_caller]
    pub fn reciprocal(&self) -> Tensor {
        reciprocal(self)
    }
}

pub(crate) fn op_info() -> Vec<OpInfo> {
    vec![
        OpInfo::unary_on("reciprocal", reciprocal, |x| 1.0 / x, (0.2, 3.0)),
        OpInfo::unary_on("reciprocal_negative", reciprocal, |x| 1.0 / x, (-3.0, -0.2)),
    ]
}
