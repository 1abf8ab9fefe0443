//! `round`: elementwise rounding to the nearest integer value, halves to even (torch and
//! numpy: 0.5 -> 0, 1.5 -> 2, 2.5 -> 2). Its derivative is 0 wherever it exists.

use super::Save;
use super::unary::{Point, UnaryOp, apply, int_op_info};
use crate::array::FloatElement;
use crate::array::backend::UnaryKernel;
use crate::testing::{OpInfo, RefArray};
use crate::trace::Tensor;

/// The round-half-to-even kernel.
pub(crate) struct Round;

impl UnaryKernel for Round {
    const NAME: &'static str = "round";
    // `rint` rounds half to even in the default rounding mode, as the host does.
    const CUDA: &'static str = "ct_rint(x)";
    fn float<T: FloatElement>(x: T) -> T {
        let r = x.round();
        let half = T::from_f64(0.5);
        // `round` takes halves away from zero; a tie goes to the even neighbour instead,
        // which is 2 round(x / 2) (x / 2 is exact).
        if (r - x).abs() == half {
            (x * half).round() / half
        } else {
            r
        }
    }
    // Integers are already whole: torch returns a copy.
    const INT: Option<fn(i64) -> i64> = Some(|x| x);
}
impl UnaryOp for Round {
    const SAVE: Save = Save::NOTHING;
    fn df(_: &Point<'_>) -> Option<Tensor> {
        None
    }
}

/// Elementwise rounding to the nearest integer value, ties to even, in the input's dtype
/// (`torch.round`; integer inputs come back unchanged).
///
/// ```
/// # use cotangent::{Tensor, round};
/// let x = Tensor::from_slice(&[0.5f32, 1.5, 2.5, -2.5, 2.6], &[5]).unwrap();
/// assert_eq!(round(&x).to_vec::<f32>(), vec![0.0, 2.0, 2.0, -2.0, 3.0]);
/// ```
#[track_caller]
pub fn round(x: &Tensor) -> Tensor {
    apply::<Round>(x)
}

impl Tensor {
    /// Elementwise rounding, ties to even; see [`round`].
    #[track_caller]
    pub fn round(&self) -> Tensor {
        round(self)
    }
}

pub(crate) fn op_info() -> Vec<OpInfo> {
    vec![
        OpInfo::unary_on("round", round, f64::round_ties_even, (-4.0, 4.0)),
        // Every tie in [-4, 4], where the rounding direction matters.
        OpInfo::new(
            "round_ties",
            |a| round(&a[0]),
            |r| RefArray {
                shape: r[0].shape.clone(),
                data: r[0].data.iter().map(|x| x.round_ties_even()).collect(),
            },
            |_| {
                let ties: Vec<f64> = (-8..8).map(|k| k as f64 * 0.5).collect();
                vec![vec![Tensor::from_vec(ties, &[4, 4]).expect("16 values")]]
            },
        )
        .gap(
            "jvp_matches_finite_differences",
            "every sample is a half-integer or integer, where round jumps: finite differences \
             see the step, the derivative (zero almost everywhere) does not",
        ),
        int_op_info("round_i64", round, |x| x),
    ]
}
