//! `logical_xor`: elementwise logical xor: a bool tensor, true where exactly one operand is true (nonzero
//! counts as true; any input dtype). Not differentiable (bool output).

use super::binary::{Binary, bool_output_binary_op, bool_samples, repeating_float_samples, sampled_op_info};
use super::frontend::binary_operands;
use crate::array::backend::BinaryKernel;
use crate::array::{DType, FloatElement};
use crate::testing::OpInfo;
use crate::trace::{Tensor, bind};

/// The logical-xor kernel.
pub(crate) struct LogicalXor;

impl BinaryKernel for LogicalXor {
    const NAME: &'static str = "logical_xor";
    const CUDA: &'static str = "(a != T(0)) != (b != T(0))";
    // Unused: the frontend converts to bool first. Kept consistent (1 for true, else 0).
    fn float<T: FloatElement>(a: T, b: T) -> T {
        let zero = T::from_f64(0.0);
        if (a != zero) ^ (b != zero) {
            T::from_f64(1.0)
        } else {
            zero
        }
    }
    const BOOL: Option<fn(bool, bool) -> bool> = Some(|a, b| a ^ b);
}
bool_output_binary_op!(LogicalXor);

/// Elementwise logical xor with broadcasting (`torch.logical_xor`): true where exactly one operand is true.
/// Operands of any dtype are converted to bool (nonzero is true); the result is bool.
///
/// ```
/// # use cotangent::{Tensor, logical_xor};
/// let a = Tensor::from_slice(&[true, true, false, false], &[4]).unwrap();
/// let b = Tensor::from_slice(&[1.0f32, 0.0, 2.0, 0.0], &[4]).unwrap();
/// assert_eq!(logical_xor(&a, &b).to_vec::<bool>(), vec![false, true, true, false]);
/// ```
#[track_caller]
pub fn logical_xor(a: &Tensor, b: &Tensor) -> Tensor {
    let (a, b) = binary_operands("logical_xor", a, b, Some(DType::Bool));
    bind(Binary::<LogicalXor>::new(), &[&a, &b])
}

impl Tensor {
    /// Elementwise logical xor; see [`logical_xor`].
    #[track_caller]
    pub fn logical_xor(&self, other: &Tensor) -> Tensor {
        logical_xor(self, other)
    }
}

fn reference(a: f64, b: f64) -> f64 {
    if (a != 0.0) ^ (b != 0.0) { 1.0 } else { 0.0 }
}

pub(crate) fn op_info() -> Vec<OpInfo> {
    vec![
        sampled_op_info(
            "logical_xor",
            logical_xor,
            reference,
            repeating_float_samples,
            repeating_float_samples,
        )
        .out_dtype(DType::Bool),
        sampled_op_info(
            "logical_xor_bool",
            logical_xor,
            reference,
            bool_samples,
            bool_samples,
        )
        .dtypes(&[DType::Bool])
        .out_dtype(DType::Bool),
    ]
}
