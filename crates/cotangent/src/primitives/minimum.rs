//! `minimum`: elementwise min(a, b); NaN in either operand gives NaN. Its derivative flows
//! to the smaller operand (torch splits it evenly on ties).

use super::binary::{BinaryOp, apply, bool_samples, int_samples, sampled_op_info};
use super::maximum::{selection_jvp, selection_vjp};
use super::{Residuals, Save};
use crate::array::backend::BinaryKernel;
use crate::array::{DType, FloatElement};
use crate::testing::OpInfo;
use crate::trace::Tensor;

/// The minimum kernel.
pub(crate) struct Minimum;

impl BinaryKernel for Minimum {
    const NAME: &'static str = "minimum";
    const CUDA: &'static str = "b < a ? b : (a <= b ? a : (T)(a + b))";
    fn float<T: FloatElement>(a: T, b: T) -> T {
        // Like torch's `std::min` with a NaN check: both tests fail only for NaN, and then
        // the sum is NaN.
        if b < a {
            b
        } else if a <= b {
            a
        } else {
            a + b
        }
    }
    const INT: Option<fn(i64, i64) -> i64> = Some(i64::min);
    const BOOL: Option<fn(bool, bool) -> bool> = Some(|a, b| a & b);
}
impl BinaryOp for Minimum {
    const SAVE: Save = Save::INPUTS;
    fn jvp(
        a: &Tensor,
        b: &Tensor,
        _: &Tensor,
        a_dot: Option<&Tensor>,
        b_dot: Option<&Tensor>,
    ) -> Option<Tensor> {
        selection_jvp(a, b, a_dot, b_dot, Tensor::lt)
    }
    fn vjp(res: &Residuals, out_bar: &Tensor, needed: &[bool]) -> [Option<Tensor>; 2] {
        selection_vjp(res, out_bar, needed, Tensor::lt)
    }
}

/// Elementwise minimum with broadcasting and type promotion (`torch.minimum`). NaN
/// propagates.
///
/// ```
/// # use cotangent::{Tensor, minimum};
/// let a = Tensor::from_slice(&[1.0f32, 5.0, f32::NAN], &[3]).unwrap();
/// let b = Tensor::from_slice(&[3.0f32, 2.0, 0.0], &[3]).unwrap();
/// let m = minimum(&a, &b).to_vec::<f32>();
/// assert_eq!(&m[..2], &[1.0, 2.0]);
/// assert!(m[2].is_nan());
/// ```
#[track_caller]
pub fn minimum(a: &Tensor, b: &Tensor) -> Tensor {
    apply::<Minimum>(a, b)
}

impl Tensor {
    /// Elementwise minimum; see [`minimum`].
    #[track_caller]
    pub fn minimum(&self, other: &Tensor) -> Tensor {
        minimum(self, other)
    }
}

fn min_ref(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else if a <= b {
        a
    } else {
        b
    }
}

pub(crate) fn op_info() -> Vec<OpInfo> {
    vec![
        OpInfo::binary("minimum", minimum, min_ref),
        sampled_op_info(
            "minimum_i64",
            minimum,
            min_ref,
            |rng, s| int_samples(rng, s, -3, 4),
            |rng, s| int_samples(rng, s, -3, 4),
        )
        .dtypes(&[DType::I64])
        .out_dtype(DType::I64),
        sampled_op_info("minimum_bool", minimum, min_ref, bool_samples, bool_samples)
            .dtypes(&[DType::Bool])
            .out_dtype(DType::Bool),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nan_propagates_from_either_side() {
        let a = Tensor::from_slice(&[f64::NAN, 1.0, f64::NAN], &[3]).unwrap();
        let b = Tensor::from_slice(&[1.0, f64::NAN, f64::NAN], &[3]).unwrap();
        assert!(minimum(&a, &b).to_vec::<f64>().iter().all(|v| v.is_nan()));
    }
}
