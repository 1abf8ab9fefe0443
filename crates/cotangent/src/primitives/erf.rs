//! `erf`: the elementwise error function erf x = (2/√π) ∫₀ˣ e^(-t²) dt.
//! d/dx erf x = (2/√π) e^(-x²).

use super::Save;
use super::unary::{Point, UnaryOp, apply};
use crate::array::backend::UnaryKernel;
use crate::array::{DType, FloatElement};
use crate::testing::OpInfo;
use crate::trace::Tensor;

/// The error-function kernel.
pub(crate) struct Erf;

impl UnaryKernel for Erf {
    const NAME: &'static str = "erf";
    const CUDA: &'static str = "erf(x)";
    fn float<T: FloatElement>(x: T) -> T {
        // libm's single-precision `erff` for f32 and `erf` for f64. The round trips through
        // f64 are exact, and the branch is resolved at compile time.
        if T::DTYPE == DType::F32 {
            T::from_f64(libm::erff(x.to_f64() as f32) as f64)
        } else {
            T::from_f64(libm::erf(x.to_f64()))
        }
    }
}
impl UnaryOp for Erf {
    const SAVE: Save = Save::inputs(&[0]);
    fn df(p: &Point<'_>) -> Option<Tensor> {
        Some((-p.x().square()).exp() * std::f64::consts::FRAC_2_SQRT_PI)
    }
}

/// Elementwise error function (`torch.erf`). Integer and bool inputs are promoted to `f32`.
///
/// ```
/// # use cotangent::{Tensor, erf};
/// let x = Tensor::from_slice(&[0.0f32, 10.0], &[2]).unwrap();
/// assert_eq!(erf(&x).to_vec::<f32>(), vec![0.0, 1.0]);
/// ```
#[track_caller]
pub fn erf(x: &Tensor) -> Tensor {
    apply::<Erf>(x)
}

impl Tensor {
    /// Elementwise error function; see [`erf`].
    #[track_caller]
    pub fn erf(&self) -> Tensor {
        erf(self)
    }
}

/// erf by its Maclaurin series (2/√π) Σ (-1)ⁿ x²ⁿ⁺¹ / (n! (2n + 1)), summed until the terms
/// vanish: plain and independent of libm, accurate to ~1e-14 for |x| <= 2.5.
pub(crate) fn erf_series(x: f64) -> f64 {
    let (mut term, mut sum) = (x, x);
    for n in 1..200 {
        term *= -x * x / n as f64;
        let add = term / (2 * n + 1) as f64;
        sum += add;
        if add.abs() < 1e-17 * sum.abs() {
            break;
        }
    }
    sum * 2.0 / std::f64::consts::PI.sqrt()
}

pub(crate) fn op_info() -> Vec<OpInfo> {
    vec![OpInfo::unary_on("erf", erf, erf_series, (-2.5, 2.5))]
}
