//! `reduce_max`: the largest element over a set of axes, which are removed (torch's `amax`,
//! and `x.max()` over everything). NaN propagates: a slice holding a NaN has max NaN.
//!
//! Derivative: `max` is piecewise linear. Its cotangent flows back to the elements equal to
//! the max, shared evenly among ties (torch's `amax` rule):
//! `x̄ = ȳ · [x == y] / #{x == y}`, with `ȳ` and `y` broadcast back over the reduced axes.

use super::broadcast_in_dim::broadcast_in_dim;
use super::frontend::{keepdim_shape, reduction_axes};
use super::reduce_sum::reduce_sum;
use super::reduce_sum::{reduced_aval, reference_reduce};
use super::rules::batch_at_front;
use super::{Aval, AvalRef, Primitive, Residuals, Save};
use crate::array::backend::{self, ReduceOp};
use crate::array::{Array, DType, Dims};
use crate::error::{Error, Result, raise};
use crate::testing::{OpInfo, RefArray, TestRng};
use crate::trace::{Tensor, bind};

/// Max (or, with `op = ReduceOp::Min`, min) over `axes` (sorted, unique, non-empty dims):
/// one primitive for both, since they differ only in the kernel's comparison; `amin` lives
/// in `reduce_min.rs`.
#[derive(Clone, Debug)]
pub(crate) struct ReduceExtremum {
    pub(crate) axes: Dims,
    pub(crate) op: ReduceOp,
}

/// Shape rule of the reductions without an identity (max, min): every reduced dim must be
/// non-empty, with torch's message.
fn extremum_aval(op: &'static str, x: AvalRef<'_>, axes: &[usize]) -> Result<Aval> {
    if x.dtype == DType::Bool {
        return Err(Error::shape(
            op,
            "internal: bool input should be cast to int64 first",
        ));
    }
    if let Some(&d) = axes.iter().find(|&&d| x.shape.get(d) == Some(&0)) {
        return Err(Error::shape(
            op,
            format!("Expected reduction dim {d} to have non-zero size."),
        ));
    }
    reduced_aval(op, x, axes)
}

impl Primitive for ReduceExtremum {
    fn name(&self) -> &'static str {
        if self.op == ReduceOp::Min { "amin" } else { "amax" }
    }

    fn shape_rule(&self, inputs: &[AvalRef<'_>]) -> Result<Aval> {
        extremum_aval(self.name(), inputs[0], &self.axes)
    }

    fn eval(&self, inputs: &[&Array], _out: &Aval) -> Array {
        backend::reduce(inputs[0], &self.axes, self.op)
    }

    fn jvp(
        &self,
        primals: &[Tensor],
        output: &Tensor,
        tangents: &[Option<Tensor>],
    ) -> Option<Tensor> {
        extremum_jvp(&self.axes, &primals[0], output, tangents[0].as_ref())
    }

    fn saves(&self) -> Save {
        Save {
            inputs: 1,
            output: true,
        }
    }

    fn vjp(&self, res: &Residuals, cotangent: &Tensor, _: &[bool]) -> Vec<Option<Tensor>> {
        vec![Some(extremum_vjp(
            &self.axes,
            res.input(0),
            res.output(),
            cotangent,
        ))]
    }

    fn vmap(
        &self,
        inputs: &[Tensor],
        axes: &[Option<usize>],
        size: usize,
    ) -> (Tensor, Option<usize>) {
        let x = batch_at_front(&inputs[0], axes[0], size);
        let shifted = self.axes.iter().map(|&a| a + 1).collect();
        let op = self.op;
        (bind(ReduceExtremum { axes: shifted, op }, &[&x]), Some(0))
    }
}

/// `g` (shaped like the reduction's output) broadcast back over the reduced `axes` of `shape`.
fn unreduce(g: &Tensor, shape: &[usize], axes: &[usize]) -> Tensor {
    let kept: Vec<usize> = (0..shape.len()).filter(|d| !axes.contains(d)).collect();
    broadcast_in_dim(g, shape, &kept)
}

/// `[x == y] / #{x == y}` with `y` broadcast back: where the derivative of max/min goes.
fn extremum_weights(axes: &[usize], x: &Tensor, out: &Tensor) -> Tensor {
    let mask = x.eq(&unreduce(out, x.shape(), axes)).to_dtype(x.dtype());
    let count = reduce_sum(&mask, axes);
    &mask / &unreduce(&count, x.shape(), axes)
}

/// Forward rule of max/min: the tangent averaged over the tied extrema.
fn extremum_jvp(
    axes: &[usize],
    x: &Tensor,
    out: &Tensor,
    t: Option<&Tensor>,
) -> Option<Tensor> {
    let t = t?;
    if !x.dtype().is_float() {
        return None;
    }
    Some(reduce_sum(&(t * &extremum_weights(axes, x, out)), axes))
}

/// Reverse rule of max/min: the cotangent shared evenly among the tied extrema.
fn extremum_vjp(axes: &[usize], x: &Tensor, out: &Tensor, ct: &Tensor) -> Tensor {
    &unreduce(ct, x.shape(), axes) * &extremum_weights(axes, x, out)
}

/// The checks and casts shared by max and min: `dims` `None` reduces everything (torch's
/// `x.max()`), `Some(&[])` too (torch's `amax(x, dim=())`). Bool inputs reduce as `i64` and
/// come back as bool (any/all). `bind_axes` binds the primitive on the non-bool input.
#[track_caller]
pub(crate) fn reduce_extremum(
    op: &'static str,
    x: &Tensor,
    dims: Option<&[isize]>,
    keepdim: bool,
    bind_axes: impl FnOnce(&Tensor, Dims) -> Tensor,
) -> Tensor {
    if dims.is_none() && x.numel() == 0 {
        raise(Error::shape(
                op,
                "Expected reduction dim to be specified for input.numel() == 0. Specify the \
                 reduction dim with the 'dim' argument."
            ));
    }
    let axes = match dims {
        Some(d) if !d.is_empty() => reduction_axes(op, x, Some(d)),
        _ => (0..x.dim()).collect(),
    };
    if let Some(&d) = axes.iter().find(|&&d| x.shape()[d] == 0) {
        raise(Error::shape(
                op,
                format!("Expected reduction dim {d} to have non-zero size.")
            ));
    }
    if axes.is_empty() {
        return x.clone();
    }
    let out = if x.dtype() == DType::Bool {
        bind_axes(&x.to_dtype(DType::I64), axes.clone()).to_dtype(DType::Bool)
    } else {
        bind_axes(x, axes.clone())
    };
    if keepdim {
        super::reshape::reshape_to(&out, &keepdim_shape(x.shape(), &axes))
    } else {
        out
    }
}

/// The max over `dims` (all dims if empty), kept as size 1 if `keepdim` (`torch.amax`).
///
/// # Panics
/// If a reduced dim has size zero, or a dim is out of range, with torch's message.
///
/// ```
/// # use cotangent::{Tensor, amax};
/// let x = Tensor::new([[1.0f32, 5.0], [4.0, 2.0]]);
/// assert_eq!(amax(&x, &[1], false).to_vec::<f32>(), vec![5.0, 4.0]);
/// assert_eq!(amax(&x, &[0], true).shape(), &[1, 2]);
/// ```
#[track_caller]
pub fn amax(x: &Tensor, dims: &[isize], keepdim: bool) -> Tensor {
    reduce_extremum("amax", x, Some(dims), keepdim, |x, axes| {
        bind(
            ReduceExtremum {
                axes,
                op: ReduceOp::Max,
            },
            &[x],
        )
    })
}

impl Tensor {
    /// The largest element, a 0-d tensor (`x.max()`); NaN if any element is NaN.
    ///
    /// # Panics
    /// If the tensor is empty, with torch's message.
    ///
    /// ```
    /// # use cotangent::Tensor;
    /// assert_eq!(Tensor::new([3i64, 9, 4]).max().item::<i64>(), 9);
    /// ```
    #[track_caller]
    pub fn max(&self) -> Tensor {
        reduce_extremum("max", self, None, false, |x, axes| {
            bind(
            ReduceExtremum {
                axes,
                op: ReduceOp::Max,
            },
            &[x],
        )
        })
    }

    /// The max over `dims` (all if empty); see [`amax`].
    ///
    /// ```
    /// # use cotangent::Tensor;
    /// let x = Tensor::new([[1.0f32, 5.0], [4.0, 2.0]]);
    /// assert_eq!(x.amax(&[0], false).to_vec::<f32>(), vec![4.0, 5.0]);
    /// ```
    #[track_caller]
    pub fn amax(&self, dims: &[isize], keepdim: bool) -> Tensor {
        amax(self, dims, keepdim)
    }
}

/// `max` with NaN propagation, for references.
pub(crate) fn nan_max(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.max(b)
    }
}

/// Samples for max/min: the sum samples plus one holding NaNs and one with ties.
pub(crate) fn extremum_samples(rng: &mut TestRng) -> Vec<Vec<Tensor>> {
    let mut s = super::reduce_sum::reduction_samples(rng);
    let mut v = rng.tensor(&[3, 4], -1.0, 1.0).to_vec::<f64>();
    v[5] = f64::NAN;
    v[11] = f64::NAN;
    s.push(vec![Tensor::from_vec(v, &[3, 4]).expect("length matches")]);
    s.push(vec![Tensor::new([[1.0f64, 0.5, 1.0], [0.5, 0.5, -2.0]])]);
    s
}

fn all_axes(r: &RefArray) -> Vec<usize> {
    (0..r.shape.len()).collect()
}

/// The NaN sample: the gradient there is NaN (`0 / 0`: no element equals a NaN max, as in
/// torch), while its derivative is a symbolic zero, so finite differences of it disagree.
pub(crate) const NAN_GAP: &str =
    "NaN sample: NaN gradient (0/0, as torch) has a symbolic-zero derivative";

pub(crate) fn op_info() -> Vec<OpInfo> {
    let max_ref = |r: &RefArray, axes: &[usize], keepdim| {
        reference_reduce(r, axes, keepdim, f64::NEG_INFINITY, nan_max)
    };
    vec![
        OpInfo::new(
            "max",
            |a| a[0].max(),
            move |r| max_ref(&r[0], &all_axes(&r[0]), false),
            |rng| {
                let mut s = extremum_samples(rng);
                s.push(vec![rng.tensor(&[], -1.0, 1.0)]);
                s
            },
        )
        .gap("jvp_of_vjp_matches_finite_differences", NAN_GAP),
        OpInfo::new(
            "amax",
            |a| a[0].amax(&[-1, 0], false),
            move |r| max_ref(&r[0], &[0, r[0].shape.len() - 1], false),
            |rng| {
                let mut s = extremum_samples(rng);
                s.push(vec![rng.tensor(&[2, 0, 3], -1.0, 1.0)]);
                s
            },
        )
        .gap("jvp_of_vjp_matches_finite_differences", NAN_GAP),
        OpInfo::new(
            "amax_keepdim",
            |a| a[0].amax(&[1], true),
            move |r| max_ref(&r[0], &[1], true),
            |rng| {
                let mut s = extremum_samples(rng);
                s.push(vec![rng.tensor(&[0, 3, 2], -1.0, 1.0)]);
                s
            },
        )
        .gap("jvp_of_vjp_matches_finite_differences", NAN_GAP),
        OpInfo::new(
            "amax_all_dims",
            |a| amax(&a[0], &[], false),
            move |r| max_ref(&r[0], &all_axes(&r[0]), false),
            |rng| {
                vec![
                    vec![rng.tensor(&[2, 3], -1.0, 1.0)],
                    vec![rng.tensor(&[], -1.0, 1.0)],
                ]
            },
        ),
        OpInfo::new(
            "amax_i64",
            |a| a[0].amax(&[0], false),
            move |r| max_ref(&r[0], &[0], false),
            |rng| vec![vec![rng.indices(&[4, 3], 7)], vec![rng.indices(&[5], 100)]],
        )
        .dtypes(&[DType::I64])
        .out_dtype(DType::I64),
        OpInfo::new(
            "amax_bool",
            |a| a[0].amax(&[-1], false),
            move |r| max_ref(&r[0], &[r[0].shape.len() - 1], false),
            |rng| {
                let b = |t: Tensor| t.to_dtype(DType::Bool);
                vec![
                    vec![b(rng.indices(&[4, 3], 2))],
                    vec![b(Tensor::new([[0i64, 0], [0, 1]]))],
                ]
            },
        )
        .dtypes(&[DType::Bool])
        .out_dtype(DType::Bool),
    ]
}
