//! `logical_not`: elementwise boolean negation; any input dtype, bool output (nonzero is
//! true). Not differentiable (bool output).

use super::Save;
use super::binary::{bool_samples, repeating_float_samples};
use super::unary::{Point, Unary, UnaryOp};
use crate::array::backend::UnaryKernel;
use crate::array::{DType, FloatElement};
use crate::testing::{OpInfo, RefArray, S, XS};
use crate::trace::{Tensor, bind};

/// The logical-not kernel.
pub(crate) struct LogicalNot;

impl UnaryKernel for LogicalNot {
    const NAME: &'static str = "logical_not";
    const CUDA: &'static str = "x == T(0)";
    // Unused: the frontend converts to bool first. Kept consistent (1 for zero, else 0).
    fn float<T: FloatElement>(x: T) -> T {
        if x == T::from_f64(0.0) {
            T::from_f64(1.0)
        } else {
            T::from_f64(0.0)
        }
    }
    const BOOL: Option<fn(bool) -> bool> = Some(|x| !x);
}
impl UnaryOp for LogicalNot {
    const SAVE: Save = Save::NOTHING;
    fn df(_: &Point<'_>) -> Option<Tensor> {
        None
    }
}

/// Elementwise logical not (`torch.logical_not`): a bool tensor, true where `x` is zero or
/// false. Also the `!` operator on bool tensors.
///
/// ```
/// # use cotangent::{Tensor, logical_not};
/// let x = Tensor::from_slice(&[0.0f32, 2.0], &[2]).unwrap();
/// assert_eq!(logical_not(&x).to_vec::<bool>(), vec![true, false]);
/// ```
#[track_caller]
pub fn logical_not(x: &Tensor) -> Tensor {
    bind(Unary::<LogicalNot>::new(), &[&x.to_dtype(DType::Bool)])
}

impl Tensor {
    /// Elementwise logical not; see [`logical_not`].
    #[track_caller]
    pub fn logical_not(&self) -> Tensor {
        logical_not(self)
    }
}

pub(crate) fn op_info() -> Vec<OpInfo> {
    let not = |r: &[RefArray]| RefArray {
        shape: r[0].shape.clone(),
        data: r[0]
            .data
            .iter()
            .map(|&x| if x == 0.0 { 1.0 } else { 0.0 })
            .collect(),
    };
    let shapes: [&[usize]; 4] = [&[], &[S], &[XS, S], &[0, XS]];
    vec![
        OpInfo::new(
            "logical_not",
            |a| logical_not(&a[0]),
            not,
            move |rng| {
                shapes
                    .iter()
                    .map(|s| vec![repeating_float_samples(rng, s)])
                    .collect()
            },
        )
        .out_dtype(DType::Bool),
        OpInfo::new(
            "logical_not_bool",
            |a| logical_not(&a[0]),
            not,
            move |rng| shapes.iter().map(|s| vec![bool_samples(rng, s)]).collect(),
        )
        .dtypes(&[DType::Bool])
        .out_dtype(DType::Bool),
    ]
}
