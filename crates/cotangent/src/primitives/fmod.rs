//! `fmod`: elementwise C-style remainder a - b trunc(a/b), whose result has the sign of the
//! dividend a (torch's `fmod`). ∂/∂a = 1 and ∂/∂b = -trunc(a/b) away from the jumps.

use crate::error::{Error, defer};
use super::binary::{BinaryOp, apply, int_samples, sampled_op_info};
use super::remainder::int_divisors;
use super::rules::add_opt;
use super::where_select::where_;
use super::{Residuals, Save};
use crate::array::backend::BinaryKernel;
use crate::array::{DType, FloatElement};
use crate::testing::OpInfo;
use crate::trace::Tensor;

/// The truncated-remainder kernel.
pub(crate) struct Fmod;

impl BinaryKernel for Fmod {
    const NAME: &'static str = "fmod";
    const CUDA: &'static str = "ct_fmod(a, b)";
    fn float<T: FloatElement>(a: T, b: T) -> T {
        // Rust's float `%` is C's fmod (exact).
        a % b
    }
    const INT: Option<fn(i64, i64) -> i64> = Some(|a, b| {
        if b == 0 {
            defer(Error::value(
                "fmod",
                "ZeroDivisionError (integer remainder by zero)",
            ));
        }
        a.wrapping_rem(b)
    });
}
impl BinaryOp for Fmod {
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
        add_opt(a_dot.cloned(), b_dot.map(|t| -(t * &trunc_quotient(a, b))))
    }
    fn vjp(res: &Residuals, out_bar: &Tensor, needed: &[bool]) -> [Option<Tensor>; 2] {
        if !res.dtype(0).is_float() {
            return [None, None];
        }
        [
            needed[0].then(|| out_bar.clone()),
            needed[1].then(|| -(out_bar * &trunc_quotient(res.input(0), res.input(1)))),
        ]
    }
}

/// trunc(a / b), the quotient fmod subtracts.
fn trunc_quotient(a: &Tensor, b: &Tensor) -> Tensor {
    let q = a / b;
    where_(&q.lt_scalar(0.0), &q.ceil(), &q.floor())
}

/// Elementwise C-style remainder with broadcasting and type promotion (`torch.fmod`): the
/// result is zero or has the sign of `a`. Float division by zero gives NaN.
///
/// # Panics
/// On an integer division by zero (torch: "ZeroDivisionError").
///
/// ```
/// # use cotangent::{Tensor, fmod};
/// let a = Tensor::from_slice(&[-3i64, 3, 5], &[3]).unwrap();
/// let b = Tensor::from_slice(&[2i64, -2, 5], &[3]).unwrap();
/// assert_eq!(fmod(&a, &b).to_vec::<i64>(), vec![-1, 1, 0]);
/// ```
#[track_caller]
pub fn fmod(a: &Tensor, b: &Tensor) -> Tensor {
    apply::<Fmod>(a, b)
}

impl Tensor {
    /// Elementwise C-style remainder; see [`fmod`].
    #[track_caller]
    pub fn fmod(&self, other: &Tensor) -> Tensor {
        fmod(self, other)
    }
}

pub(crate) fn op_info() -> Vec<OpInfo> {
    vec![
        OpInfo::binary_on("fmod", fmod, |a, b| a % b, (-4.0, 4.0), (0.5, 2.0)),
        OpInfo::binary_on(
            "fmod_negative_divisor",
            fmod,
            |a, b| a % b,
            (-4.0, 4.0),
            (-2.0, -0.5),
        ),
        sampled_op_info(
            "fmod_i64",
            fmod,
            |a, b| a - b * (a / b).trunc(),
            |rng, s| int_samples(rng, s, -7, 8),
            int_divisors,
        )
        .dtypes(&[DType::I64])
        .out_dtype(DType::I64),
    ]
}
