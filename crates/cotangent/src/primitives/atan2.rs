//! `atan2`: elementwise angle of the point (b, a), atan2(a, b) ∈ [-π, π] (the quadrant-aware
//! atan(a/b)). ∂/∂a = b/(a² + b²) and ∂/∂b = -a/(a² + b²).

use super::binary::{BinaryOp, apply};
use super::{Residuals, Save};
use crate::array::FloatElement;
use crate::array::backend::BinaryKernel;
use crate::testing::OpInfo;
use crate::trace::Tensor;

/// The two-argument arctangent kernel.
pub(crate) struct Atan2;

impl BinaryKernel for Atan2 {
    const NAME: &'static str = "atan2";
    const CUDA: &'static str = "atan2(a, b)";
    fn float<T: FloatElement>(a: T, b: T) -> T {
        a.atan2(b)
    }
}
impl BinaryOp for Atan2 {
    const INT_TO_FLOAT: bool = true;
    const SAVE: Save = Save::INPUTS;
    fn jvp(
        a: &Tensor,
        b: &Tensor,
        _: &Tensor,
        a_dot: Option<&Tensor>,
        b_dot: Option<&Tensor>,
    ) -> Option<Tensor> {
        // d atan2(a, b) = (b da - a db) / (a² + b²)
        let num = match (a_dot, b_dot) {
            (Some(ta), Some(tb)) => &(ta * b) - &(tb * a),
            (Some(ta), None) => ta * b,
            (None, Some(tb)) => -(tb * a),
            (None, None) => return None,
        };
        Some(&num / &(&(a * a) + &(b * b)))
    }
    fn vjp(res: &Residuals, out_bar: &Tensor, needed: &[bool]) -> [Option<Tensor>; 2] {
        let (a, b) = (res.input(0), res.input(1));
        let scaled = out_bar / &(&(a * a) + &(b * b));
        [
            needed[0].then(|| &scaled * b),
            needed[1].then(|| -(&scaled * a)),
        ]
    }
}

/// Elementwise atan2(input, other), the angle of the point (other, input), with
/// broadcasting and type promotion (`torch.atan2`; integer operands give `f32`).
///
/// ```
/// # use cotangent::{Tensor, atan2};
/// let y = Tensor::from_slice(&[0.0f32, 1.0], &[2]).unwrap();
/// let x = Tensor::from_slice(&[1.0f32, 0.0], &[2]).unwrap();
/// assert_eq!(atan2(&y, &x).to_vec::<f32>(), vec![0.0, std::f32::consts::FRAC_PI_2]);
/// ```
#[track_caller]
pub fn atan2(input: &Tensor, other: &Tensor) -> Tensor {
    apply::<Atan2>(input, other)
}

impl Tensor {
    /// Elementwise atan2(self, other); see [`atan2`].
    #[track_caller]
    pub fn atan2(&self, other: &Tensor) -> Tensor {
        atan2(self, other)
    }
}

pub(crate) fn op_info() -> Vec<OpInfo> {
    vec![OpInfo::binary("atan2", atan2, f64::atan2)]
}
