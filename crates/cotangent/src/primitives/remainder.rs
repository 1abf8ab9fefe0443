//! `remainder`: elementwise Python modulo a mod b = a - b⌊a/b⌋, whose result has the sign
//! of the divisor b (torch's `remainder` and `%`). ∂/∂a = 1 and ∂/∂b = -⌊a/b⌋ away from
//! the jumps.

use crate::error::{Error, defer};
use super::binary::{BinaryOp, apply, int_samples, sampled_op_info};
use super::rules::add_opt;
use super::{Residuals, Save};
use crate::array::backend::BinaryKernel;
use crate::array::{DType, FloatElement};
use crate::testing::{OpInfo, TestRng};
use crate::trace::Tensor;

/// The modulo kernel.
pub(crate) struct Remainder;

impl BinaryKernel for Remainder {
    const NAME: &'static str = "remainder";
    const CUDA: &'static str = "ct_remainder(a, b)";
    fn float<T: FloatElement>(a: T, b: T) -> T {
        // The truncated remainder (exact), moved into the divisor's sign when they differ.
        let zero = T::from_f64(0.0);
        let r = a % b;
        if r != zero && ((r < zero) != (b < zero)) {
            r + b
        } else {
            r
        }
    }
    const INT: Option<fn(i64, i64) -> i64> = Some(|a, b| {
        if b == 0 {
            defer(Error::value(
                "remainder",
                "ZeroDivisionError (integer remainder by zero)",
            ));
        }
        let r = a.wrapping_rem(b);
        if r != 0 && ((r < 0) != (b < 0)) {
            r + b
        } else {
            r
        }
    });
}
impl BinaryOp for Remainder {
    const SAVE: Save = Save::inputs(&[0, 1]);
    fn jvp(
        a: &Tensor,
        b: &Tensor,
        _: &Tensor,
        a_dot: Option<&Tensor>,
        b_dot: Option<&Tensor>,
    ) -> Option<Tensor> {
        if !a.dtype().is_float() {
            return None;
        }
        add_opt(a_dot.cloned(), b_dot.map(|t| -(t * &(a / b).floor())))
    }
    fn vjp(res: &Residuals, out_bar: &Tensor, needed: &[bool]) -> [Option<Tensor>; 2] {
        if !res.dtype(0).is_float() {
            return [None, None];
        }
        [
            needed[0].then(|| out_bar.clone()),
            needed[1].then(|| -(out_bar * &(res.input(0) / res.input(1)).floor())),
        ]
    }
}

/// Elementwise Python-style modulo with broadcasting and type promotion
/// (`torch.remainder`): the result is zero or has the sign of `b`. Float division by zero
/// gives NaN.
///
/// # Panics
/// On an integer division by zero (torch: "ZeroDivisionError").
///
/// ```
/// # use cotangent::{Tensor, remainder};
/// let a = Tensor::from_slice(&[-3i64, 3, 5], &[3]).unwrap();
/// let b = Tensor::from_slice(&[2i64, -2, 5], &[3]).unwrap();
/// assert_eq!(remainder(&a, &b).to_vec::<i64>(), vec![1, -1, 0]);
/// ```
#[track_caller]
pub fn remainder(a: &Tensor, b: &Tensor) -> Tensor {
    apply::<Remainder>(a, b)
}

impl Tensor {
    /// Elementwise Python-style modulo; see [`remainder`].
    #[track_caller]
    pub fn remainder(&self, other: &Tensor) -> Tensor {
        remainder(self, other)
    }
}

/// Python's float modulo as CPython computes it (`float_rem`): C's `fmod`, plus the divisor
/// when the signs differ.
fn remainder_ref(a: f64, b: f64) -> f64 {
    let r = a % b;
    if r != 0.0 && (r < 0.0) != (b < 0.0) {
        r + b
    } else {
        r
    }
}

/// Nonzero divisors in ±[1, 3].
pub(super) fn int_divisors(rng: &mut TestRng, s: &[usize]) -> Tensor {
    let magnitude = int_samples(rng, s, 1, 4);
    let sign = &(&int_samples(rng, s, 0, 2) * 2i64) - 1i64;
    &magnitude * &sign
}

pub(crate) fn op_info() -> Vec<OpInfo> {
    vec![
        OpInfo::binary_on(
            "remainder",
            remainder,
            remainder_ref,
            (-4.0, 4.0),
            (0.5, 2.0),
        ),
        OpInfo::binary_on(
            "remainder_negative_divisor",
            remainder,
            remainder_ref,
            (-4.0, 4.0),
            (-2.0, -0.5),
        ),
        sampled_op_info(
            "remainder_i64",
            remainder,
            |a, b| a - b * (a / b).floor(),
            |rng, s| int_samples(rng, s, -7, 8),
            int_divisors,
        )
        .dtypes(&[DType::I64])
        .out_dtype(DType::I64),
    ]
}
