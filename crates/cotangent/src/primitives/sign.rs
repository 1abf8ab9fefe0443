//! `sign`: elementwise sign, -1, 0 or 1 (NaN gives 0, as torch computes
//! `(0 < x) - (x < 0)`). Its derivative is 0 everywhere it exists.

use super::Save;
use super::unary::{Point, UnaryOp, apply, int_op_info};
use crate::array::FloatElement;
use crate::array::backend::UnaryKernel;
use crate::testing::OpInfo;
use crate::trace::Tensor;

/// The sign kernel.
pub(crate) struct Sign;

impl UnaryKernel for Sign {
    const NAME: &'static str = "sign";
    // Bools give themselves; NaN gives 0.
    const CUDA: &'static str = "(T0(0) < x) - (x < T0(0))";
    fn float<T: FloatElement>(x: T) -> T {
        // NB: not `num_traits::Float::signum`, which gives 1 for +0 and NaN for NaN.
        let zero = T::from_f64(0.0);
        if x > zero {
            T::from_f64(1.0)
        } else if x < zero {
            T::from_f64(-1.0)
        } else {
            zero
        }
    }
    const INT: Option<fn(i64) -> i64> = Some(i64::signum);
    const BOOL: Option<fn(bool) -> bool> = Some(|x| x);
}
impl UnaryOp for Sign {
    const SAVE: Save = Save::NOTHING;
    fn df(_: &Point<'_>) -> Option<Tensor> {
        None
    }
}

/// Elementwise sign: -1, 0 or 1 in the input's dtype (`torch.sign`). Bool inputs are
/// returned as they are; NaN gives 0.
///
/// ```
/// # use cotangent::{Tensor, sign};
/// let x = Tensor::from_slice(&[-2.5f32, 0.0, 3.0], &[3]).unwrap();
/// assert_eq!(sign(&x).to_vec::<f32>(), vec![-1.0, 0.0, 1.0]);
/// ```
#[track_caller]
pub fn sign(x: &Tensor) -> Tensor {
    apply::<Sign>(x)
}

impl Tensor {
    /// Elementwise sign; see [`sign`].
    #[track_caller]
    pub fn sign(&self) -> Tensor {
        sign(self)
    }
}

fn sign_ref(x: f64) -> f64 {
    if x > 0.0 {
        1.0
    } else if x < 0.0 {
        -1.0
    } else {
        0.0
    }
}

pub(crate) fn op_info() -> Vec<OpInfo> {
    vec![
        OpInfo::unary("sign", sign, sign_ref),
        int_op_info("sign_i64", sign, sign_ref),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DType;

    #[test]
    fn nan_and_bool_follow_torch() {
        let x = Tensor::from_slice(&[f64::NAN, -0.0], &[2]).unwrap();
        assert_eq!(sign(&x).to_vec::<f64>(), vec![0.0, 0.0]);
        let b = Tensor::from_slice(&[true, false], &[2]).unwrap();
        assert_eq!(sign(&b).dtype(), DType::Bool);
        assert_eq!(sign(&b).to_vec::<bool>(), vec![true, false]);
    }
}
