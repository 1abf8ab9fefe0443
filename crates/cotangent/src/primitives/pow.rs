//! `pow`: elementwise power aᵇ. ∂/∂a aᵇ = b aᵇ⁻¹ and ∂/∂b aᵇ = aᵇ ln a.
//!
//! Integer powers stay integer, as in torch: `i64 ^ i64` is computed exactly (wrapping on
//! overflow), and a negative integer exponent truncates (`2^-1 = 0`, `1^-n = 1`,
//! `(-1)^-n = ±1`). Any float operand makes the result float.

use crate::error::{Error, raise};
use super::binary::{BinaryOp, apply, int_samples, sampled_op_info};
use super::rules::add_opt;
use super::unary::int_op_info;
use super::where_select::where_;
use super::{Residuals, Save};
use crate::array::backend::BinaryKernel;
use crate::array::{DType, FloatElement};
use crate::testing::{OpInfo, TestRng};
use crate::trace::Tensor;

/// The power kernel.
pub(crate) struct Pow;

impl BinaryKernel for Pow {
    const NAME: &'static str = "pow";
    const CUDA: &'static str = "ct_pow(a, b)";
    fn float<T: FloatElement>(a: T, b: T) -> T {
        a.powf(b)
    }
    const INT: Option<fn(i64, i64) -> i64> = Some(int_pow);
}
impl BinaryOp for Pow {
    const SAVE: Save = Save {
        inputs: 0b11,
        output: true,
    };
    fn jvp(
        a: &Tensor,
        b: &Tensor,
        out: &Tensor,
        a_dot: Option<&Tensor>,
        b_dot: Option<&Tensor>,
    ) -> Option<Tensor> {
        if !a.dtype().is_float() {
            return None;
        }
        add_opt(
            a_dot.map(|t| t * &d_base(a, b)),
            b_dot.map(|t| t * &d_exponent(a, out)),
        )
    }
    fn vjp(res: &Residuals, out_bar: &Tensor, needed: &[bool]) -> [Option<Tensor>; 2] {
        let float = res.dtype(0).is_float();
        [
            (needed[0] && float).then(|| out_bar * &d_base(res.input(0), res.input(1))),
            (needed[1] && float).then(|| out_bar * &d_exponent(res.input(0), res.output())),
        ]
    }
}

/// ∂/∂a aᵇ = b aᵇ⁻¹, taken as 0 at a = b = 0 (where it is 0 · ∞), so 0⁰ has a finite
/// derivative. Only that point is guarded: guarding all of b = 0 (as JAX does) would zero
/// the second derivative ∂²/∂b∂a = aᵇ⁻¹ (1 + b ln a) there.
fn d_base(a: &Tensor, b: &Tensor) -> Tensor {
    let zero = Tensor::scalar_of(0.0, b.dtype());
    let singular = b.eq_scalar(0.0).logical_and(&a.eq_scalar(0.0));
    where_(&singular, &zero, &(b * &a.pow(&(b - 1.0))))
}

/// ∂/∂b aᵇ = aᵇ ln a, taken as 0 where a = 0 (JAX).
fn d_exponent(a: &Tensor, out: &Tensor) -> Tensor {
    let at_zero = a.eq_scalar(0.0);
    let safe_a = where_(&at_zero, &Tensor::scalar_of(1.0, a.dtype()), a);
    where_(
        &at_zero,
        &Tensor::scalar_of(0.0, a.dtype()),
        &(&safe_a.log() * out),
    )
}

/// aᵇ on integers with torch's truncation for negative exponents and wrapping overflow.
fn int_pow(a: i64, b: i64) -> i64 {
    if b < 0 {
        return match a {
            1 => 1,
            -1 if b % 2 != 0 => -1,
            -1 => 1,
            _ => 0,
        };
    }
    // Square and multiply.
    let (mut base, mut exp, mut out) = (a, b, 1i64);
    while exp > 0 {
        if exp & 1 == 1 {
            out = out.wrapping_mul(base);
        }
        base = base.wrapping_mul(base);
        exp >>= 1;
    }
    out
}

/// Elementwise `input ^ exponent` with broadcasting and type promotion (`torch.pow`).
/// Integer operands give an integer result (see the module docs for negative exponents).
///
/// ```
/// # use cotangent::{Tensor, pow};
/// let a = Tensor::from_slice(&[2.0f32, 9.0], &[2]).unwrap();
/// let b = Tensor::from_slice(&[3.0f32, 0.5], &[2]).unwrap();
/// assert_eq!(pow(&a, &b).to_vec::<f32>(), vec![8.0, 3.0]);
/// ```
#[track_caller]
pub fn pow(input: &Tensor, exponent: &Tensor) -> Tensor {
    apply::<Pow>(input, exponent)
}

impl Tensor {
    /// Elementwise `self ^ exponent`; see [`pow`].
    #[track_caller]
    pub fn pow(&self, exponent: &Tensor) -> Tensor {
        pow(self, exponent)
    }

    /// Elementwise `self ^ exponent` for a float exponent (torch's `x.pow(2.5)` or
    /// `x ** 2.5`): integer and bool tensors are promoted to `f32`, float tensors keep
    /// their dtype.
    ///
    /// ```
    /// # use cotangent::Tensor;
    /// let x = Tensor::from_slice(&[4i64, 9], &[2]).unwrap();
    /// assert_eq!(x.pow_scalar(0.5).to_vec::<f32>(), vec![2.0, 3.0]);
    /// ```
    #[track_caller]
    pub fn pow_scalar(&self, exponent: f64) -> Tensor {
        let dtype = DType::result_type_with_scalar(self.dtype(), true);
        pow(self, &Tensor::wrapped_scalar(exponent, dtype))
    }

    /// Elementwise `self ^ exponent` for an integer exponent (torch's `x.pow(2)` or
    /// `x ** 2`): integer tensors stay integer (bool becomes `i64`), float tensors keep
    /// their dtype.
    ///
    /// # Panics
    /// If `self` is integer or bool and `exponent` is negative (torch: "Integers to
    /// negative integer powers are not allowed."); use [`Tensor::pow_scalar`] for a float
    /// result.
    ///
    /// ```
    /// # use cotangent::Tensor;
    /// let x = Tensor::from_slice(&[2i64, -3], &[2]).unwrap();
    /// assert_eq!(x.pow_scalar_int(3).to_vec::<i64>(), vec![8, -27]);
    /// ```
    #[track_caller]
    pub fn pow_scalar_int(&self, exponent: i64) -> Tensor {
        if !self.dtype().is_float() && exponent < 0 {
            raise(Error::value(
                "pow",
                format!(
                    "Integers to negative integer powers are not allowed. Got a {} tensor to \
                     the power {exponent}; use pow_scalar({exponent}.0) for a float result",
                    self.dtype()
                ),
            ));
        }
        let exponent = match DType::result_type_with_scalar(self.dtype(), false) {
            // Exact: through f64, an odd exponent beyond 2^53 could round to an even one.
            DType::I64 => Tensor::wrapped_int(exponent),
            dtype => Tensor::wrapped_scalar(exponent as f64, dtype),
        };
        pow(self, &exponent)
    }
}

/// aᵇ on integer values, by repeated multiplication (the truncating rule for b < 0).
fn int_pow_ref(a: f64, b: f64) -> f64 {
    if b < 0.0 {
        return if a == 1.0 {
            1.0
        } else if a == -1.0 {
            if b % 2.0 == 0.0 { 1.0 } else { -1.0 }
        } else {
            0.0
        };
    }
    (0..b as i64).fold(1.0, |acc, _| acc * a)
}

pub(crate) fn op_info() -> Vec<OpInfo> {
    let float_base = |rng: &mut TestRng, s: &[usize]| rng.tensor(s, -2.0, 2.0);
    let whole_exponent =
        |rng: &mut TestRng, s: &[usize]| int_samples(rng, s, -2, 4).to_dtype(DType::F64);
    vec![
        OpInfo::binary_on("pow", pow, f64::powf, (0.5, 2.0), (-2.0, 2.0)),
        // Negative bases are fine for whole exponents.
        sampled_op_info(
            "pow_whole_exponent",
            pow,
            f64::powf,
            float_base,
            whole_exponent,
        ),
        // The same with an integer exponent, which gets no derivative: checks ∂/∂a at
        // negative bases.
        sampled_op_info("pow_i64_exponent", pow, f64::powf, float_base, |rng, s| {
            int_samples(rng, s, -2, 4)
        }),
        sampled_op_info(
            "pow_i64",
            pow,
            int_pow_ref,
            |rng, s| int_samples(rng, s, -3, 4),
            |rng, s| int_samples(rng, s, -2, 5),
        )
        .dtypes(&[DType::I64])
        .out_dtype(DType::I64),
        OpInfo::unary_on(
            "pow_scalar",
            |x| x.pow_scalar(2.5),
            |x| x.powf(2.5),
            (0.1, 3.0),
        ),
        OpInfo::unary("pow_scalar_int", |x| x.pow_scalar_int(3), |x| x * x * x),
        int_op_info("pow_scalar_int_i64", |x| x.pow_scalar_int(2), |x| x * x),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integer_powers_follow_torch() {
        assert_eq!(int_pow(2, -1), 0);
        assert_eq!(int_pow(-1, -3), -1);
        assert_eq!(int_pow(-1, -2), 1);
        assert_eq!(int_pow(0, 0), 1);
        assert_eq!(int_pow(-3, 3), -27);
        let x = Tensor::from_slice(&[2i64], &[1]).unwrap();
        assert_eq!(x.pow_scalar(2.0).dtype(), DType::F32);
        assert_eq!(x.pow_scalar_int(2).dtype(), DType::I64);
        let msg = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| x.pow_scalar_int(-1)))
            .unwrap_err();
        let msg = msg.downcast_ref::<String>().unwrap();
        assert!(
            msg.contains("Integers to negative integer powers are not allowed."),
            "{msg}"
        );
    }
}
