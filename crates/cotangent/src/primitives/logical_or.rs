//! `logical_or`: elementwise logical or: a bool tensor, true where either operand is true (nonzero
//! counts as true; any input dtype). Not differentiable (bool output).

use super::binary::{Binary, bool_output_binary_op, bool_samples, repeating_float_samples, sampled_op_info};
use super::frontend::binary_operands;
use crate::array::backend::BinaryKernel;
use crate::array::{DType, FloatElement};
use crate::testing::OpInfo;
use crate::trace::{Tensor, bind};

/// The logical-or kernel.
pub(crate) struct LogicalOr;

impl BinaryKernel for LogicalOr {
    const NAME: &'static str = "logical_or";
    const CUDA: &'static str = "(a != T(0)) || (b != T(0))";
    // Unused: the frontend converts to bool first. Kept consistent (1 for true, else 0).
    fn float<T: FloatElement>(a: T, b: T) -> T {
        let zero = T::from_f64(0.0);
        if (a != zero) | (b != zero) {
            T::from_f64(1.0)
        } else {
            zero
        }
    }
    const BOOL: Option<fn(bool, bool) -> bool> = Some(|a, b| a | b);
}
bool_output_binary_op!(LogicalOr);

/// Elementwise logical or with broadcasting (`torch.logical_or`): true where either operand is true.
/// Operands of any dtype are converted to bool (nonzero is true); the result is bool.
///
/// ```
/// # use cotangent::{Tensor, logical_or};
/// let a = Tensor::from_slice(&[true, true, false, false], &[4]).unwrap();
/// let b = Tensor::from_slice(&[1.0f32, 0.0, 2.0, 0.0], &[4]).unwrap();
/// assert_eq!(logical_or(&a, &b).to_vec::<bool>(), vec![true, true, true, false]);
/// ```
#[track_caller]
pub fn logical_or(a: &Tensor, b: &Tensor) -> Tensor {
    let (a, b) = binary_operands("logical_or", a, b, Some(DType::Bool));
    bind(Binary::<LogicalOr>::new(), &[&a, &b])
}

impl Tensor {
    /// Elementwise logical or; see [`logical_or`].
    #[track_caller]
    pub fn logical_or(&self, other: &Tensor) -> Tensor {
        logical_or(self, other)
    }
}

fn reference(a: f64, b: f64) -> f64 {
    if (a != 0.0) | (b != 0.0) { 1.0 } else { 0.0 }
}

pub(crate) fn op_info() -> Vec<OpInfo> {
    vec![
        sampled_op_info(
            "logical_or",
            logical_or,
            reference,
            repeating_float_samples,
            repeating_float_samples,
        )
        .out_dtype(DType::Bool),
        sampled_op_info(
            "logical_or_bool",
            logical_or,
            reference,
            bool_samples,
            bool_samples,
        )
        .dtypes(&[DType::Bool])
        .out_dtype(DType::Bool),
    ]
}
