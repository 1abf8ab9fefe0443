//! `maximum`: elementwise max(a, b); NaN in either operand gives NaN. Its derivative flows
//! to the larger operand (torch splits it evenly on ties, and gives it to both at a NaN).

use super::binary::{BinaryOp, apply, bool_samples, int_samples, sampled_op_info};
use super::rules::add_opt;
use super::{Residuals, Save};
use crate::array::backend::BinaryKernel;
use crate::array::{DType, FloatElement};
use crate::testing::OpInfo;
use crate::trace::Tensor;

/// The maximum kernel.
pub(crate) struct Maximum;

impl BinaryKernel for Maximum {
    const NAME: &'static str = "maximum";
    const CUDA: &'static str = "a < b ? b : (a >= b ? a : (T)(a + b))";
    fn float<T: FloatElement>(a: T, b: T) -> T {
        // Like torch's `std::max` with a NaN check: both tests fail only for NaN, and then
        // the sum is NaN.
        if a < b {
            b
        } else if a >= b {
            a
        } else {
            a + b
        }
    }
    const INT: Option<fn(i64, i64) -> i64> = Some(i64::max);
    const BOOL: Option<fn(bool, bool) -> bool> = Some(|a, b| a | b);
}
impl BinaryOp for Maximum {
    const SAVE: Save = Save::INPUTS;
    fn jvp(
        a: &Tensor,
        b: &Tensor,
        _: &Tensor,
        a_dot: Option<&Tensor>,
        b_dot: Option<&Tensor>,
    ) -> Option<Tensor> {
        selection_jvp(a, b, a_dot, b_dot, Tensor::gt)
    }
    fn vjp(res: &Residuals, out_bar: &Tensor, needed: &[bool]) -> [Option<Tensor>; 2] {
        selection_vjp(res, out_bar, needed, Tensor::gt)
    }
}

/// The jvp of a binary selection (`maximum`, `minimum`): each operand's tangent weighted by
/// its share of the output: 0 where the other operand wins, 0.5 on a tie (torch and JAX
/// split it evenly), else 1; so at a NaN, where no comparison holds, both get all of it, as
/// in torch.
pub(crate) fn selection_jvp(
    a: &Tensor,
    b: &Tensor,
    a_dot: Option<&Tensor>,
    b_dot: Option<&Tensor>,
    wins: fn(&Tensor, &Tensor) -> Tensor,
) -> Option<Tensor> {
    if !a.dtype().is_float() {
        return None;
    }
    add_opt(
        a_dot.map(|t| t * &share(a, b, wins)),
        b_dot.map(|t| t * &share(b, a, wins)),
    )
}

/// The vjp of a binary selection; see [`selection_jvp`].
pub(crate) fn selection_vjp(
    res: &Residuals,
    out_bar: &Tensor,
    needed: &[bool],
    wins: fn(&Tensor, &Tensor) -> Tensor,
) -> [Option<Tensor>; 2] {
    if !res.dtype(0).is_float() {
        return [None, None];
    }
    let (a, b) = (res.input(0), res.input(1));
    [
        needed[0].then(|| out_bar * &share(a, b, wins)),
        needed[1].then(|| out_bar * &share(b, a, wins)),
    ]
}

/// The share of the derivative that flows to `x` against `y` (torch's
/// `where(x == y, g / 2, g).masked_fill_(y wins, 0)`).
fn share(x: &Tensor, y: &Tensor, wins: fn(&Tensor, &Tensor) -> Tensor) -> Tensor {
    let dtype = x.dtype();
    let loses = wins(y, x).to_dtype(dtype);
    let ties = &x.eq(y).to_dtype(dtype) * 0.5;
    1.0 - &loses - &ties
}

/// Elementwise maximum with broadcasting and type promotion (`torch.maximum`). NaN
/// propagates.
///
/// ```
/// # use cotangent::{Tensor, maximum};
/// let a = Tensor::from_slice(&[1.0f32, 5.0, f32::NAN], &[3]).unwrap();
/// let b = Tensor::from_slice(&[3.0f32, 2.0, 0.0], &[3]).unwrap();
/// let m = maximum(&a, &b).to_vec::<f32>();
/// assert_eq!(&m[..2], &[3.0, 5.0]);
/// assert!(m[2].is_nan());
/// ```
#[track_caller]
pub fn maximum(a: &Tensor, b: &Tensor) -> Tensor {
    apply::<Maximum>(a, b)
}

impl Tensor {
    /// Elementwise maximum; see [`maximum`].
    #[track_caller]
    pub fn maximum(&self, other: &Tensor) -> Tensor {
        maximum(self, other)
    }
}

fn max_ref(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else if a >= b {
        a
    } else {
        b
    }
}

pub(crate) fn op_info() -> Vec<OpInfo> {
    vec![
        OpInfo::binary("maximum", maximum, max_ref),
        sampled_op_info(
            "maximum_i64",
            maximum,
            max_ref,
            |rng, s| int_samples(rng, s, -3, 4),
            |rng, s| int_samples(rng, s, -3, 4),
        )
        .dtypes(&[DType::I64])
        .out_dtype(DType::I64),
        sampled_op_info("maximum_bool", maximum, max_ref, bool_samples, bool_samples)
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
        assert!(maximum(&a, &b).to_vec::<f64>().iter().all(|v| v.is_nan()));
    }

    #[test]
    fn derivatives_at_ties_and_nan_follow_torch() {
        // torch 2.15.0: grad(lambda a, b: torch.maximum(a, b).sum(), argnums=(0, 1)) at
        // a = [nan, 1, 1, 2], b = [1, nan, 1, 1] is ([1, 1, 0.5, 1], [1, 1, 0.5, 0]), and
        // the same for minimum with b = [1, nan, 1, 3].
        let a = Tensor::from_slice(&[f64::NAN, 1.0, 1.0, 2.0], &[4]).unwrap();
        for (op, b) in [
            (maximum as fn(&Tensor, &Tensor) -> Tensor, [1.0, f64::NAN, 1.0, 1.0]),
            (crate::minimum, [1.0, f64::NAN, 1.0, 3.0]),
        ] {
            let b = Tensor::from_slice(&b, &[4]).unwrap();
            let (ga, gb): (Tensor, Tensor) = crate::grad_with(
                |(a, b): (Tensor, Tensor)| op(&a, &b).sum(),
                crate::GradOpts::new().argnums((0, 1)),
            )((a.clone(), b));
            assert_eq!(ga.to_vec::<f64>(), vec![1.0, 1.0, 0.5, 1.0]);
            assert_eq!(gb.to_vec::<f64>(), vec![1.0, 1.0, 0.5, 0.0]);
        }
    }
}
