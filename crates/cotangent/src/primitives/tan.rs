//! `tan`: elementwise tangent. d/dx tan x = 1 + tan² x.

use super::Save;
use super::unary::{Point, UnaryOp, apply};
use crate::array::FloatElement;
use crate::array::backend::UnaryKernel;
use crate::testing::OpInfo;
use crate::trace::Tensor;

/// The tangent kernel.
pub(crate) struct Tan;

impl UnaryKernel for Tan {
    const NAME: &'static str = "tan";
    const CUDA: &'static str = "tan(x)";
    fn float<T: FloatElement>(x: T) -> T {
        x.tan()
    }
}
impl UnaryOp for Tan {
    const SAVE: Save = Save::OUTPUT;
    fn df(p: &Point<'_>) -> Option<Tensor> {
        Some(p.y().square() + 1.0)
    }
}

/// Elementwise tangent (`torch.tan`). Integer and bool inputs are promoted to `f32`.
///
/// ```
/// # use cotangent::{Tensor, tan};
/// let x = Tensor::from_slice(&[0.0f32], &[1]).unwrap();
/// assert_eq!(tan(&x).to_vec::<f32>(), vec![0.0]);
/// ```
#[track_caller]
pub fn tan(x: &Tensor) -> Tensor {
    apply::<Tan>(x)
}

impl Tensor {
    /// Elementwise tangent; see [`tan`].
    #[track_caller]
    pub fn tan(&self) -> Tensor {
        tan(self)
    }
}

pub(crate) fn op_info() -> Vec<OpInfo> {
    vec![OpInfo::unary_on("tan", tan, f64::tan, (-1.3, 1.3))]
}
