//! `neg`: elementwise negation. d/dx (-x) = -1. Also unary `-`.

use crate::error::{Error, raise};
use super::Save;
use super::unary::{Point, UnaryOp, apply};
use crate::array::FloatElement;
use crate::array::backend::UnaryKernel;
use crate::testing::OpInfo;
use crate::trace::Tensor;

/// The negation kernel.
pub(crate) struct Neg;

impl UnaryKernel for Neg {
    const NAME: &'static str = "neg";
    const CUDA: &'static str = "ct_neg(x)";
    fn float<T: FloatElement>(x: T) -> T {
        -x
    }
    const INT: Option<fn(i64) -> i64> = Some(i64::wrapping_neg);
}
impl UnaryOp for Neg {
    const SAVE: Save = Save::NOTHING;
    fn df(_: &Point<'_>) -> Option<Tensor> {
        unreachable!("neg is linear")
    }
    const LINEAR: Option<fn(&Tensor) -> Tensor> = Some(neg);
}

/// Elementwise negation (`torch.neg`, unary `-`).
#[track_caller]
pub fn neg(x: &Tensor) -> Tensor {
    if x.dtype() == crate::DType::Bool {
        raise(Error::dtype(
            "neg",
            "Negation, the `-` operator, on a bool tensor is not supported. If you are trying \
             to invert a mask, use the `!` operator or the logical_not() function instead.",
        ));
    }
    apply::<Neg>(x)
}

impl Tensor {
    /// Elementwise negation; see [`neg`].
    #[track_caller]
    pub fn neg(&self) -> Tensor {
        neg(self)
    }
}

pub(crate) fn op_info() -> Vec<OpInfo> {
    vec![OpInfo::unary("neg", neg, |x| -x)]
}
