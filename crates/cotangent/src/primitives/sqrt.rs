//! `sqrt`: elementwise square root. d/dx √x = 1/(2√x).

use super::Save;
use super::unary::{Point, UnaryOp, apply};
use crate::array::FloatElement;
use crate::array::backend::UnaryKernel;
use crate::testing::OpInfo;
use crate::trace::Tensor;

/// The square root kernel.
pub(crate) struct Sqrt;

impl UnaryKernel for Sqrt {
    const NAME: &'static str = "sqrt";
    const CUDA: &'static str = "sqrt(x)";
    fn float<T: FloatElement>(x: T) -> T {
        x.sqrt()
    }
}
impl UnaryOp for Sqrt {
    const SAVE: Save = Save::OUTPUT;
    fn df(p: &Point<'_>) -> Option<Tensor> {
        Some(0.5 / p.y())
    }
}

/// Elementwise square root; negative inputs give NaN (`torch.sqrt`). Integer and bool inputs are promoted to `f32`.
///
/// ```
/// # use cotangent::{Tensor, sqrt};
/// let x = Tensor::from_slice(&[4.0f32, 0.25], &[2]).unwrap();
/// assert_eq!(sqrt(&x).to_vec::<f32>(), vec![2.0, 0.5]);
/// ```
#[track_caller]
pub fn sqrt(x: &Tensor) -> Tensor {
    apply::<Sqrt>(x)
}

impl Tensor {
    /// Elementwise square root; see [`sqrt`].
    #[track_caller]
    pub fn sqrt(&self) -> Tensor {
        sqrt(self)
    }
}

pub(crate) fn op_info() -> Vec<OpInfo> {
    vec![OpInfo::unary_on("sqrt", sqrt, f64::sqrt, (0.1, 4.0))]
}
