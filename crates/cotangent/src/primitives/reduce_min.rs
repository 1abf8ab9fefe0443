//! `amin`: the smallest element over a set of axes, which are removed (torch's `amin`,
//! and `x.min()` over everything). NaN propagates: a slice holding a NaN has min NaN.
//!
//! Derivative: like max, the cotangent flows back to the elements equal to the min, shared
//! evenly among ties: `x̄ = ȳ · [x == y] / #{x == y}`. The primitive is `reduce_max.rs`'s
//! `ReduceExtremum` with `ReduceOp::Min`.

use super::reduce_max::{NAN_GAP, ReduceExtremum, extremum_samples, reduce_extremum};
use super::reduce_sum::reference_reduce;
use crate::array::backend::ReduceOp;
use crate::array::DType;
use crate::testing::{OpInfo, RefArray};
use crate::trace::{Tensor, bind};

/// The min over `dims` (all dims if empty), kept as size 1 if `keepdim` (`torch.amin`).
///
/// # Panics
/// If a reduced dim has size zero, or a dim is out of range, with torch's message.
///
/// ```
/// # use cotangent::{Tensor, amin};
/// let x = Tensor::new([[1.0f32, 5.0], [4.0, 2.0]]);
/// assert_eq!(amin(&x, &[1], false).to_vec::<f32>(), vec![1.0, 2.0]);
/// ```
#[track_caller]
pub fn amin(x: &Tensor, dims: &[isize], keepdim: bool) -> Tensor {
    reduce_extremum("amin", x, Some(dims), keepdim, |x, axes| {
        bind(
            ReduceExtremum {
                axes,
                op: ReduceOp::Min,
            },
            &[x],
        )
    })
}

impl Tensor {
    /// The smallest element, a 0-d tensor (`x.min()`); NaN if any element is NaN.
    ///
    /// # Panics
    /// If the tensor is empty, with torch's message.
    ///
    /// ```
    /// # use cotangent::Tensor;
    /// assert_eq!(Tensor::new([3i64, 9, 4]).min().item::<i64>(), 3);
    /// ```
    #[track_caller]
    pub fn min(&self) -> Tensor {
        reduce_extremum("min", self, None, false, |x, axes| {
            bind(
            ReduceExtremum {
                axes,
                op: ReduceOp::Min,
            },
            &[x],
        )
        })
    }

    /// The min over `dims` (all if empty); see [`amin`].
    ///
    /// ```
    /// # use cotangent::Tensor;
    /// let x = Tensor::new([[1.0f32, 5.0], [4.0, 2.0]]);
    /// assert_eq!(x.amin(&[0], true).to_vec::<f32>(), vec![1.0, 2.0]);
    /// ```
    #[track_caller]
    pub fn amin(&self, dims: &[isize], keepdim: bool) -> Tensor {
        amin(self, dims, keepdim)
    }
}

/// `min` with NaN propagation, for references.
fn nan_min(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.min(b)
    }
}

pub(crate) fn op_info() -> Vec<OpInfo> {
    let min_ref = |r: &RefArray, axes: &[usize], keepdim| {
        reference_reduce(r, axes, keepdim, f64::INFINITY, nan_min)
    };
    vec![
        OpInfo::new(
            "min",
            |a| a[0].min(),
            move |r| min_ref(&r[0], &(0..r[0].shape.len()).collect::<Vec<_>>(), false),
            |rng| {
                let mut s = extremum_samples(rng);
                s.push(vec![rng.tensor(&[], -1.0, 1.0)]);
                s
            },
        )
        .gap("jvp_of_vjp_matches_finite_differences", NAN_GAP),
        OpInfo::new(
            "amin",
            |a| a[0].amin(&[0, -1], false),
            move |r| min_ref(&r[0], &[0, r[0].shape.len() - 1], false),
            |rng| {
                let mut s = extremum_samples(rng);
                s.push(vec![rng.tensor(&[2, 0, 3], -1.0, 1.0)]);
                s
            },
        )
        .gap("jvp_of_vjp_matches_finite_differences", NAN_GAP),
        OpInfo::new(
            "amin_keepdim",
            |a| a[0].amin(&[1], true),
            move |r| min_ref(&r[0], &[1], true),
            |rng| {
                let mut s = extremum_samples(rng);
                s.push(vec![rng.tensor(&[0, 3, 2], -1.0, 1.0)]);
                s
            },
        )
        .gap("jvp_of_vjp_matches_finite_differences", NAN_GAP),
        OpInfo::new(
            "amin_i64",
            |a| a[0].amin(&[0], false),
            move |r| min_ref(&r[0], &[0], false),
            |rng| vec![vec![rng.indices(&[4, 3], 7)], vec![rng.indices(&[5], 100)]],
        )
        .dtypes(&[DType::I64])
        .out_dtype(DType::I64),
        OpInfo::new(
            "amin_bool",
            |a| a[0].amin(&[-1], false),
            move |r| min_ref(&r[0], &[r[0].shape.len() - 1], false),
            |rng| {
                let b = |t: Tensor| t.to_dtype(DType::Bool);
                vec![
                    vec![b(rng.indices(&[4, 3], 2))],
                    vec![b(Tensor::new([[1i64, 1], [0, 1]]))],
                ]
            },
        )
        .dtypes(&[DType::Bool])
        .out_dtype(DType::Bool),
    ]
}
