//! `logical_and`: elementwise logical and: a bool tensor, true where both operands are true (nonzero
//! counts as true; any input dtype). Not differentiable (bool output).

use super::binary::{Binary, bool_output_binary_op, bool_samples, repeating_float_samples, sampled_op_info};
use super::frontend::binary_operands;
use crate::array::backend::BinaryKernel;
use crate::array::{DType, FloatElement};
use crate::testing::OpInfo;
use crate::trace::{Tensor, bind};

/// The logical-and kernel.
pub(crate) struct LogicalAnd;

impl BinaryKernel for LogicalAnd {
    const NAME: &'static str = "logical_and";
    const CUDA: &'static str = "(a != T(0)) && (b != T(0))";
    // Unused: the frontend converts to bool first. Kept consistent (1 for true, else 0).
    fn float<T: FloatElement>(a: T, b: T) -> T {
        let zero = T::from_f64(0.0);
        if (a != zero) & (b != zero) {
            T::from_f64(1.0)
        } else {
            zero
        }
    }
    const BOOL: Option<fn(bool, bool) -> bool> = Some(|a, b| a & b);
}
bool_output_binary_op!(LogicalAnd);

/// Elementwise logical and with broadcasting (`torch.logical_and`): true where both operands are true.
/// Operands of any dtype are converted to bool (nonzero is true); the result is bool.
///
/// ```
/// # use cotangent::{Tensor, logical_and};
/// let a = Tensor::from_slice(&[true, true, false, false], &[4]).unwrap();
/// let b = Tensor::from_slice(&[1.0f32, 0.0, 2.0, 0.0], &[4]).unwrap();
/// assert_eq!(logical_and(&a, &b).to_vec::<bool>(), vec![true, false, false, false]);
/// ```
#[track_caller]
pub fn logical_and(a: &Tensor, b: &Tensor) -> Tensor {
    let (a, b) = binary_operands("logical_and", a, b, Some(DType::Bool));
    bind(Binary::<LogicalAnd>::new(), &[&a, &b])
}

impl Tensor {
    /// Elementwise logical and; see [`logical_and`].
    #[track_caller]
    pub fn logical_and(&self, other: &Tensor) -> Tensor {
        logical_and(self, other)
    }
}

fn reference(a: f64, b: f64) -> f64 {
    if (a != 0.0) & (b != 0.0) { 1.0 } else { 0.0 }
}

pub(crate) fn op_info() -> Vec<OpInfo> {
    vec![
        sampled_op_info(
            "logical_and",
            logical_and,
            reference,
            repeating_float_samples,
            repeating_float_samples,
        )
        .out_dtype(DType::Bool),
        sampled_op_info(
            "logical_and_bool",
            logical_and,
            reference,
            bool_samples,
            bool_samples,
        )
        .dtypes(&[DType::Bool])
        .out_dtype(DType::Bool),
    ]
}
