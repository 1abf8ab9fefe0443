//! Reductions built from primitives: `max`/`min` with indices, `mean`, `var`, `std`,
//! `logsumexp`, `softmax`, `log_softmax`, `any` and `all`.
//!
//! They are written only with public tensor ops, so every transform differentiates and
//! batches them without rules of their own. The numerically delicate ones subtract the max
//! first (`logsumexp`, `softmax`, `log_softmax`), as torch does; the max's own derivative
//! cancels out of those formulas, so no gradient is lost by the shift.

use crate::array::DType;
use crate::error::{Error, raise};
use crate::primitives::frontend::{normalize_dim, reduction_axes};
use crate::primitives::reduce_sum::sum_dims;
use crate::primitives::where_select::where_;
use crate::primitives::{argmax::argmax, argmin::argmin, reduce_max::amax};
use crate::testing::{OpInfo, RefArray, TestRng};
use crate::trace::Tensor;

/// torch's short dtype name, for messages ("Long", "Float").
fn scalar_type_name(dtype: DType) -> &'static str {
    match dtype {
        DType::Bool => "Bool",
        DType::I64 => "Long",
        DType::F32 => "Float",
        DType::F64 => "Double",
    }
}

/// The dims a reduction covers as an explicit list: `None` or an empty list mean all dims.
#[track_caller]
fn dims_or_all(op: &'static str, x: &Tensor, dims: Option<&[isize]>) -> Vec<isize> {
    let dims = dims.filter(|d| !d.is_empty());
    reduction_axes(op, x, dims)
        .iter()
        .map(|&a| a as isize)
        .collect()
}

/// Number of elements a reduction over `dims` (explicit, normalisable) combines.
fn reduced_count(x: &Tensor, dims: &[isize]) -> usize {
    dims.iter()
        .map(|&d| x.shape()[normalize_dim("reduce", d, x.dim())])
        .product()
}

/// Panics with torch's message if `dim` of `x` is empty (`max`/`min` have no identity).
#[track_caller]
fn check_nonempty_dim(op: &'static str, x: &Tensor, dim: isize) -> usize {
    let axis = normalize_dim(op, dim, x.dim());
    if x.dim() > 0 && x.shape()[axis] == 0 {
        raise(Error::shape(
            op,
            format!("Expected reduction dim {axis} to have non-zero size."),
        ));
    }
    axis
}

/// The max along `dim` and its index, `(values, indices)` (`torch.max(x, dim, keepdim)`).
/// Ties give the first index; a NaN is the max, and its index is returned. The derivative of
/// `values` flows only to the element at the returned index, ties or not, as in torch
/// ([`amax`] shares it among ties instead).
///
/// # Panics
/// If `dim` is out of range or empty, with torch's message.
///
/// ```
/// # use cotangent::{Tensor, max_dim};
/// let x = Tensor::new([[1.0f32, 7.0, 3.0], [9.0, 2.0, 9.0]]);
/// let (values, indices) = max_dim(&x, 1, false);
/// assert_eq!(values.to_vec::<f32>(), vec![7.0, 9.0]);
/// assert_eq!(indices.to_vec::<i64>(), vec![1, 0]);
/// ```
#[track_caller]
pub fn max_dim(x: &Tensor, dim: isize, keepdim: bool) -> (Tensor, Tensor) {
    check_nonempty_dim("max", x, dim);
    values_at(x, dim, keepdim, argmax(x, Some(dim), true))
}

/// `(x[index along dim], index)`, with `index` kept as size 1 along `dim`: picking the
/// values by their index is what sends the derivative to that element alone.
fn values_at(x: &Tensor, dim: isize, keepdim: bool, index: Tensor) -> (Tensor, Tensor) {
    if x.dim() == 0 {
        return (x.clone(), index);
    }
    let values = x.gather(dim, &index);
    if keepdim {
        (values, index)
    } else {
        (values.squeeze_dim(dim), index.squeeze_dim(dim))
    }
}

/// The min along `dim` and its index, `(values, indices)` (`torch.min(x, dim, keepdim)`).
/// Like [`max_dim`]: the derivative of `values` flows to the returned index alone.
///
/// # Panics
/// If `dim` is out of range or empty, with torch's message.
///
/// ```
/// # use cotangent::{Tensor, min_dim};
/// let (values, indices) = min_dim(&Tensor::new([[4i64, 2, 2]]), -1, true);
/// assert_eq!((values.to_vec::<i64>(), indices.to_vec::<i64>()), (vec![2], vec![1]));
/// ```
#[track_caller]
pub fn min_dim(x: &Tensor, dim: isize, keepdim: bool) -> (Tensor, Tensor) {
    check_nonempty_dim("min", x, dim);
    values_at(x, dim, keepdim, argmin(x, Some(dim), true))
}

/// The mean over `dims` (`None` or empty: all dims), kept as size 1 if `keepdim`
/// (`torch.mean`). The mean of nothing is NaN.
///
/// # Panics
/// For integer or bool tensors, with torch's message ("mean(): could not infer output
/// dtype. Input dtype must be either a floating point or complex dtype. Got: Long").
///
/// ```
/// # use cotangent::{Tensor, mean};
/// let x = Tensor::new([[1.0f32, 2.0], [3.0, 6.0]]);
/// assert_eq!(mean(&x, None, false).item::<f32>(), 3.0);
/// assert_eq!(mean(&x, Some(&[1]), false).to_vec::<f32>(), vec![1.5, 4.5]);
/// ```
#[track_caller]
pub fn mean(x: &Tensor, dims: Option<&[isize]>, keepdim: bool) -> Tensor {
    if !x.dtype().is_float() {
        raise(Error::dtype(
            "mean",
            format!(
                "mean(): could not infer output dtype. Input dtype must be either a \
                     floating point or complex dtype. Got: {}",
                scalar_type_name(x.dtype())
            ),
        ));
    }
    let dims = dims_or_all("mean", x, dims);
    let n = reduced_count(x, &dims);
    sum_dims(x, Some(&dims), keepdim) / n as f64
}

/// The variance over `dims` (`None` or empty: all dims) with `correction` (`torch.var`):
/// `Σ (x - mean)² / max(0, N - correction)`. `correction = 1.0` is torch's default (the
/// unbiased estimate), `0.0` the population variance. Too few elements give NaN or inf, as
/// in torch.
///
/// # Panics
/// For integer or bool tensors ("std and var only support floating point and complex
/// dtypes").
///
/// ```
/// # use cotangent::{Tensor, var};
/// let x = Tensor::new([1.0f64, 2.0, 3.0, 4.0]);
/// assert_eq!(var(&x, None, 1.0, false).item::<f64>(), 5.0 / 3.0);
/// assert_eq!(var(&x, None, 0.0, false).item::<f64>(), 1.25);
/// ```
#[track_caller]
pub fn var(x: &Tensor, dims: Option<&[isize]>, correction: f64, keepdim: bool) -> Tensor {
    variance("var", x, dims, correction, keepdim)
}

/// [`var`], with errors naming `op` (`std` reports as itself).
#[track_caller]
fn variance(
    op: &'static str,
    x: &Tensor,
    dims: Option<&[isize]>,
    correction: f64,
    keepdim: bool,
) -> Tensor {
    if !x.dtype().is_float() {
        raise(Error::dtype(
            op,
            format!(
                "std and var only support floating point and complex dtypes, got {}",
                x.dtype()
            ),
        ));
    }
    let dims = dims_or_all(op, x, dims);
    let n = reduced_count(x, &dims) as f64;
    let centered = x - &mean(x, Some(&dims), true);
    sum_dims(&(&centered * &centered), Some(&dims), keepdim) / (n - correction).max(0.0)
}

/// The standard deviation, `sqrt(var)` (`torch.std`); see [`var`].
///
/// ```
/// # use cotangent::Tensor;
/// # use cotangent::ops::reductions::std;
/// let x = Tensor::new([[1.0f64, 3.0], [5.0, 5.0]]);
/// assert_eq!(std(&x, Some(&[1]), 0.0, false).to_vec::<f64>(), vec![1.0, 0.0]);
/// ```
#[track_caller]
pub fn std(x: &Tensor, dims: Option<&[isize]>, correction: f64, keepdim: bool) -> Tensor {
    variance("std", x, dims, correction, keepdim).sqrt()
}

/// `log(Σ exp(x))` over `dims` (empty: all dims), computed stably
/// (`torch.logsumexp`): the max is subtracted first and added back, and an infinite max is
/// replaced by 0 so all-`-inf` slices give `-inf`. Integer inputs are promoted to `f32`.
///
/// ```
/// # use cotangent::{Tensor, logsumexp};
/// let x = Tensor::new([[1000.0f64, 1000.0], [f64::NEG_INFINITY, f64::NEG_INFINITY]]);
/// let y = logsumexp(&x, &[1], false).to_vec::<f64>();
/// assert!((y[0] - (1000.0 + 2f64.ln())).abs() < 1e-9);
/// assert_eq!(y[1], f64::NEG_INFINITY);
/// ```
#[track_caller]
pub fn logsumexp(x: &Tensor, dims: &[isize], keepdim: bool) -> Tensor {
    let x = if x.dtype().is_float() {
        x.clone()
    } else {
        x.to_dtype(DType::F32)
    };
    let dims = dims_or_all("logsumexp", &x, Some(dims));
    if x.numel() == 0 {
        return sum_dims(&x.exp(), Some(&dims), keepdim).log();
    }
    let m = amax(&x, &dims, true);
    let m = where_(
        &m.abs().eq_scalar(f64::INFINITY),
        &Tensor::scalar_of(0.0, m.dtype()),
        &m,
    );
    let total = sum_dims(&(&x - &m).exp(), Some(&dims), keepdim).log();
    let m = if keepdim {
        m
    } else {
        m.reshape(
            &total
                .shape()
                .iter()
                .map(|&n| n as isize)
                .collect::<Vec<_>>(),
        )
    };
    total + m
}

/// `exp(x) / Σ exp(x)` along `dim` (`torch.softmax`), with the max subtracted first.
///
/// # Panics
/// For integer or bool tensors (torch has no integer softmax), or if `dim` is out of range.
///
/// ```
/// # use cotangent::{Tensor, softmax};
/// let y = softmax(&Tensor::new([[1.0f32, 1.0], [0.0, 1000.0]]), -1);
/// assert_eq!(y.to_vec::<f32>(), vec![0.5, 0.5, 0.0, 1.0]);
/// ```
#[track_caller]
pub fn softmax(x: &Tensor, dim: isize) -> Tensor {
    float_only("softmax", x);
    normalize_dim("softmax", dim, x.dim());
    if x.numel() == 0 {
        return x.clone();
    }
    let e = (x - &amax(x, &[dim], true)).exp();
    &e / &sum_dims(&e, Some(&[dim]), true)
}

/// `log(softmax(x))` along `dim`, computed stably as `x - max - log(Σ exp(x - max))`
/// (`torch.log_softmax`).
///
/// # Panics
/// For integer or bool tensors, or if `dim` is out of range.
///
/// ```
/// # use cotangent::{Tensor, log_softmax};
/// let y = log_softmax(&Tensor::new([0.0f64, 2000.0]), 0);
/// assert_eq!(y.to_vec::<f64>(), vec![-2000.0, 0.0]);
/// ```
#[track_caller]
pub fn log_softmax(x: &Tensor, dim: isize) -> Tensor {
    float_only("log_softmax", x);
    normalize_dim("log_softmax", dim, x.dim());
    if x.numel() == 0 {
        return x.clone();
    }
    let shifted = x - &amax(x, &[dim], true);
    &shifted - &sum_dims(&shifted.exp(), Some(&[dim]), true).log()
}

/// Panics unless `x` is a float tensor (torch: `"softmax_lastdim_kernel_impl" not
/// implemented for 'Long'`).
#[track_caller]
fn float_only(op: &'static str, x: &Tensor) {
    if !x.dtype().is_float() {
        raise(Error::dtype(
            op,
            format!(
                "not implemented for '{}'; cast the input with .to_dtype(DType::F32) first",
                scalar_type_name(x.dtype())
            ),
        ));
    }
}

/// `true` where any element over `dims` (`None` or empty: all) is non-zero (`torch.any`);
/// `false` for an empty reduction. The result is bool.
///
/// ```
/// # use cotangent::{Tensor, any};
/// let x = Tensor::new([[0.0f32, 0.5], [0.0, 0.0]]);
/// assert_eq!(any(&x, Some(&[1]), false).to_vec::<bool>(), vec![true, false]);
/// assert!(any(&x, None, false).item::<bool>());
/// ```
#[track_caller]
pub fn any(x: &Tensor, dims: Option<&[isize]>, keepdim: bool) -> Tensor {
    let dims = dims_or_all("any", x, dims);
    // Counting the non-zeros cannot overflow: at most numel.
    let count = sum_dims(
        &x.to_dtype(DType::Bool).to_dtype(DType::I64),
        Some(&dims),
        keepdim,
    );
    count.to_dtype(DType::Bool)
}

/// `true` where every element over `dims` (`None` or empty: all) is non-zero (`torch.all`);
/// `true` for an empty reduction. The result is bool.
///
/// ```
/// # use cotangent::{Tensor, all};
/// let x = Tensor::new([[1i64, 2], [0, 3]]);
/// assert_eq!(all(&x, Some(&[1]), false).to_vec::<bool>(), vec![true, false]);
/// ```
#[track_caller]
pub fn all(x: &Tensor, dims: Option<&[isize]>, keepdim: bool) -> Tensor {
    // all(x) = not any(not x); the dims are checked here so that errors name `all`.
    let dims = dims_or_all("all", x, dims);
    any(&x.to_dtype(DType::Bool).logical_not(), Some(&dims), keepdim).logical_not()
}

impl Tensor {
    /// `(values, indices)` of the max along `dim`; see [`max_dim`].
    ///
    /// ```
    /// # use cotangent::Tensor;
    /// let (v, i) = Tensor::new([[1.0f32, 3.0], [2.0, 0.0]]).max_dim(0, false);
    /// assert_eq!((v.to_vec::<f32>(), i.to_vec::<i64>()), (vec![2.0, 3.0], vec![1, 0]));
    /// ```
    #[track_caller]
    pub fn max_dim(&self, dim: isize, keepdim: bool) -> (Tensor, Tensor) {
        max_dim(self, dim, keepdim)
    }

    /// `(values, indices)` of the min along `dim`; see [`min_dim`].
    ///
    /// ```
    /// # use cotangent::Tensor;
    /// let (v, i) = Tensor::new([[1.0f32, 3.0], [2.0, 0.0]]).min_dim(1, true);
    /// assert_eq!((v.shape(), i.to_vec::<i64>()), (&[2, 1][..], vec![0, 1]));
    /// ```
    #[track_caller]
    pub fn min_dim(&self, dim: isize, keepdim: bool) -> (Tensor, Tensor) {
        min_dim(self, dim, keepdim)
    }

    /// The mean of all elements, a 0-d tensor (`x.mean()`); see [`mean`].
    ///
    /// ```
    /// # use cotangent::Tensor;
    /// assert_eq!(Tensor::new([1.0f32, 2.0, 6.0]).mean().item::<f32>(), 3.0);
    /// ```
    #[track_caller]
    pub fn mean(&self) -> Tensor {
        mean(self, None, false)
    }

    /// The mean over `dims` (`x.mean(dims, keepdim)`); see [`mean`].
    ///
    /// ```
    /// # use cotangent::Tensor;
    /// let x = Tensor::new([[1.0f32, 3.0], [5.0, 7.0]]);
    /// assert_eq!(x.mean_dim(&[0], false).to_vec::<f32>(), vec![3.0, 5.0]);
    /// ```
    #[track_caller]
    pub fn mean_dim(&self, dims: &[isize], keepdim: bool) -> Tensor {
        mean(self, Some(dims), keepdim)
    }

    /// The unbiased variance of all elements (`x.var()`, correction 1); see [`var`].
    ///
    /// ```
    /// # use cotangent::Tensor;
    /// assert_eq!(Tensor::new([1.0f64, 3.0]).var().item::<f64>(), 2.0);
    /// ```
    #[track_caller]
    pub fn var(&self) -> Tensor {
        var(self, None, 1.0, false)
    }

    /// The variance over `dims` with `correction` (`x.var(dims, correction=c, keepdim=k)`);
    /// see [`var`].
    ///
    /// ```
    /// # use cotangent::Tensor;
    /// let x = Tensor::new([[1.0f64, 3.0], [5.0, 5.0]]);
    /// assert_eq!(x.var_dim(&[1], 0.0, false).to_vec::<f64>(), vec![1.0, 0.0]);
    /// ```
    #[track_caller]
    pub fn var_dim(&self, dims: &[isize], correction: f64, keepdim: bool) -> Tensor {
        var(self, Some(dims), correction, keepdim)
    }

    /// The unbiased standard deviation of all elements (`x.std()`); see [`std()`].
    ///
    /// ```
    /// # use cotangent::Tensor;
    /// assert_eq!(Tensor::new([1.0f64, 3.0, 5.0]).std().item::<f64>(), 2.0);
    /// ```
    #[track_caller]
    pub fn std(&self) -> Tensor {
        std(self, None, 1.0, false)
    }

    /// The standard deviation over `dims` with `correction`; see [`std()`].
    ///
    /// ```
    /// # use cotangent::Tensor;
    /// let x = Tensor::new([[0.0f64, 4.0]]);
    /// assert_eq!(x.std_dim(&[-1], 0.0, true).to_vec::<f64>(), vec![2.0]);
    /// ```
    #[track_caller]
    pub fn std_dim(&self, dims: &[isize], correction: f64, keepdim: bool) -> Tensor {
        std(self, Some(dims), correction, keepdim)
    }

    /// `log(Σ exp(x))` over `dims`; see [`logsumexp`].
    ///
    /// ```
    /// # use cotangent::Tensor;
    /// let y = Tensor::new([0.0f64, 0.0]).logsumexp(&[0], false);
    /// assert!((y.item::<f64>() - 2f64.ln()).abs() < 1e-12);
    /// ```
    #[track_caller]
    pub fn logsumexp(&self, dims: &[isize], keepdim: bool) -> Tensor {
        logsumexp(self, dims, keepdim)
    }

    /// Softmax along `dim`; see [`softmax`].
    ///
    /// ```
    /// # use cotangent::Tensor;
    /// let y = Tensor::new([0.0f64, 0.0, 0.0, 0.0]).softmax(0);
    /// assert_eq!(y.to_vec::<f64>(), vec![0.25; 4]);
    /// ```
    #[track_caller]
    pub fn softmax(&self, dim: isize) -> Tensor {
        softmax(self, dim)
    }

    /// Log-softmax along `dim`; see [`log_softmax`].
    ///
    /// ```
    /// # use cotangent::Tensor;
    /// let y = Tensor::new([0.0f64, 0.0]).log_softmax(-1);
    /// assert_eq!(y.to_vec::<f64>(), vec![-(2f64.ln()); 2]);
    /// ```
    #[track_caller]
    pub fn log_softmax(&self, dim: isize) -> Tensor {
        log_softmax(self, dim)
    }

    /// `true` if any element is non-zero (`x.any()`); see [`any`].
    ///
    /// ```
    /// # use cotangent::Tensor;
    /// assert!(Tensor::new([0i64, 0, 3]).any().item::<bool>());
    /// ```
    #[track_caller]
    pub fn any(&self) -> Tensor {
        any(self, None, false)
    }

    /// Whether any element over `dims` is non-zero; see [`any`].
    ///
    /// ```
    /// # use cotangent::Tensor;
    /// let x = Tensor::new([[false, false], [false, true]]);
    /// assert_eq!(x.any_dim(&[1], false).to_vec::<bool>(), vec![false, true]);
    /// ```
    #[track_caller]
    pub fn any_dim(&self, dims: &[isize], keepdim: bool) -> Tensor {
        any(self, Some(dims), keepdim)
    }

    /// `true` if every element is non-zero (`x.all()`); see [`all`].
    ///
    /// ```
    /// # use cotangent::Tensor;
    /// assert!(!Tensor::new([1.0f32, 0.0]).all().item::<bool>());
    /// assert!(Tensor::zeros(&[0]).all().item::<bool>());
    /// ```
    #[track_caller]
    pub fn all(&self) -> Tensor {
        all(self, None, false)
    }

    /// Whether every element over `dims` is non-zero; see [`all`].
    ///
    /// ```
    /// # use cotangent::Tensor;
    /// let x = Tensor::new([[true, true], [false, true]]);
    /// assert_eq!(x.all_dim(&[0], false).to_vec::<bool>(), vec![false, true]);
    /// ```
    #[track_caller]
    pub fn all_dim(&self, dims: &[isize], keepdim: bool) -> Tensor {
        all(self, Some(dims), keepdim)
    }
}

/// Reference: `f` of the values of each slice over `axes`, with `keepdim`.
fn reference_slices(
    r: &RefArray,
    axes: &[usize],
    keepdim: bool,
    f: impl Fn(&[f64]) -> f64,
) -> RefArray {
    let rank = r.shape.len();
    let out_shape: Vec<usize> = (0..rank)
        .filter_map(|d| {
            if axes.contains(&d) {
                keepdim.then_some(1)
            } else {
                Some(r.shape[d])
            }
        })
        .collect();
    RefArray::from_fn(&out_shape, |o| {
        // The output index with a slot for every input dim (reduced dims start at 0).
        let mut base = vec![0usize; rank];
        let mut k = 0;
        for (d, b) in base.iter_mut().enumerate() {
            if !axes.contains(&d) {
                *b = o[k];
                k += 1;
            } else if keepdim {
                k += 1;
            }
        }
        let mut values = Vec::new();
        let count: usize = axes.iter().map(|&a| r.shape[a]).product();
        for mut flat in 0..count {
            let mut idx = base.clone();
            for &a in axes.iter().rev() {
                idx[a] = flat % r.shape[a];
                flat /= r.shape[a];
            }
            values.push(r.get(&idx));
        }
        f(&values)
    })
}

/// Reference for ops along one dim: `f(line, position)` for each element.
fn reference_lines(r: &RefArray, axis: usize, f: impl Fn(&[f64], usize) -> f64) -> RefArray {
    RefArray::from_fn(&r.shape, |p| {
        let mut q = p.to_vec();
        let line: Vec<f64> = (0..r.shape[axis])
            .map(|j| {
                q[axis] = j;
                r.get(&q)
            })
            .collect();
        f(&line, p[axis])
    })
}

fn ref_mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

fn ref_var(v: &[f64], correction: f64) -> f64 {
    let m = ref_mean(v);
    v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (v.len() as f64 - correction).max(0.0)
}

fn ref_logsumexp(v: &[f64]) -> f64 {
    v.iter().map(|x| x.exp()).sum::<f64>().ln()
}

fn samples(rng: &mut TestRng) -> Vec<Vec<Tensor>> {
    vec![
        vec![rng.tensor(&[2, 3, 4], -2.0, 2.0)],
        vec![rng.tensor(&[3, 5], -2.0, 2.0)],
        vec![rng.tensor(&[4, 1, 3], -2.0, 2.0)],
    ]
}

/// `s` with one-input samples `extra` appended.
fn with_extra(mut s: Vec<Vec<Tensor>>, extra: Vec<Tensor>) -> Vec<Vec<Tensor>> {
    s.extend(extra.into_iter().map(|t| vec![t]));
    s
}

fn all_axes(r: &RefArray) -> Vec<usize> {
    (0..r.shape.len()).collect()
}

pub(crate) fn op_info() -> Vec<OpInfo> {
    vec![
        OpInfo::new(
            "max_dim_values",
            |a| a[0].max_dim(1, false).0,
            |r| {
                reference_slices(&r[0], &[1], false, |v| {
                    v.iter().copied().fold(f64::NEG_INFINITY, f64::max)
                })
            },
            samples,
        ),
        OpInfo::new(
            "max_dim_indices",
            |a| a[0].max_dim(-1, true).1,
            |r| {
                let last = r[0].shape.len() - 1;
                let mut out = reference_lines(&r[0], last, |line, _| {
                    let mut best = 0;
                    for (j, &v) in line.iter().enumerate() {
                        if v > line[best] {
                            best = j;
                        }
                    }
                    best as f64
                });
                // One value per line: keep position 0 of the last dim.
                let mut shape = out.shape.clone();
                shape[last] = 1;
                let n = r[0].shape[last];
                out.data = out.data.iter().step_by(n).copied().collect();
                out.shape = shape;
                out
            },
            samples,
        )
        .out_dtype(DType::I64),
        OpInfo::new(
            "min_dim_values",
            |a| a[0].min_dim(0, true).0,
            |r| {
                reference_slices(&r[0], &[0], true, |v| {
                    v.iter().copied().fold(f64::INFINITY, f64::min)
                })
            },
            samples,
        ),
        OpInfo::new(
            "mean",
            |a| a[0].mean(),
            |r| reference_slices(&r[0], &all_axes(&r[0]), false, ref_mean),
            |rng| {
                let extra = vec![rng.tensor(&[], -1.0, 1.0), rng.tensor(&[0, 3], -1.0, 1.0)];
                with_extra(samples(rng), extra)
            },
        ),
        OpInfo::new(
            "mean_dim",
            |a| a[0].mean_dim(&[0, -1], true),
            |r| reference_slices(&r[0], &[0, r[0].shape.len() - 1], true, ref_mean),
            |rng| {
                let extra = vec![rng.tensor(&[3, 0], -1.0, 1.0)];
                with_extra(samples(rng), extra)
            },
        ),
        OpInfo::new(
            "var",
            |a| a[0].var(),
            |r| reference_slices(&r[0], &all_axes(&r[0]), false, |v| ref_var(v, 1.0)),
            samples,
        ),
        OpInfo::new(
            "var_dim_correction0",
            |a| a[0].var_dim(&[1], 0.0, false),
            |r| reference_slices(&r[0], &[1], false, |v| ref_var(v, 0.0)),
            samples,
        ),
        OpInfo::new(
            "std_dim",
            |a| a[0].std_dim(&[-1], 1.0, true),
            |r| {
                reference_slices(&r[0], &[r[0].shape.len() - 1], true, |v| {
                    ref_var(v, 1.0).sqrt()
                })
            },
            samples,
        ),
        OpInfo::new(
            "logsumexp",
            |a| a[0].logsumexp(&[1], false),
            |r| reference_slices(&r[0], &[1], false, ref_logsumexp),
            |rng| {
                let mut v = rng.tensor(&[3, 4], -2.0, 2.0).to_vec::<f64>();
                v[4..8].fill(f64::NEG_INFINITY);
                v[1] = f64::NEG_INFINITY;
                let extra = vec![
                    Tensor::from_vec(v, &[3, 4]).expect("length matches"),
                    rng.tensor(&[3, 0], -1.0, 1.0),
                    rng.tensor(&[0, 2], -1.0, 1.0),
                ];
                with_extra(samples(rng), extra)
            },
        ),
        OpInfo::new(
            "logsumexp_all",
            |a| a[0].logsumexp(&[], true),
            |r| reference_slices(&r[0], &all_axes(&r[0]), true, ref_logsumexp),
            |rng| {
                let extra = vec![rng.tensor(&[], -1.0, 1.0)];
                with_extra(samples(rng), extra)
            },
        ),
        OpInfo::new(
            "softmax",
            |a| a[0].softmax(-1),
            |r| {
                let last = r[0].shape.len().saturating_sub(1);
                if r[0].shape.is_empty() {
                    return RefArray {
                        shape: vec![],
                        data: vec![1.0],
                    };
                }
                reference_lines(&r[0], last, |line, j| {
                    line[j].exp() / line.iter().map(|x| x.exp()).sum::<f64>()
                })
            },
            |rng| {
                let extra = vec![rng.tensor(&[], -1.0, 1.0), rng.tensor(&[0, 3], -1.0, 1.0)];
                with_extra(samples(rng), extra)
            },
        ),
        OpInfo::new(
            "log_softmax",
            |a| a[0].log_softmax(0),
            |r| {
                reference_lines(&r[0], 0, |line, j| {
                    line[j] - line.iter().map(|x| x.exp()).sum::<f64>().ln()
                })
            },
            |rng| {
                let extra = vec![rng.tensor(&[3, 0], -1.0, 1.0)];
                with_extra(samples(rng), extra)
            },
        ),
        OpInfo::new(
            "any",
            |a| a[0].any_dim(&[1], false),
            |r| {
                reference_slices(&r[0], &[1], false, |v| {
                    v.iter().any(|&x| x != 0.0) as u8 as f64
                })
            },
            |rng| {
                let b = |t: Tensor| t.to_dtype(DType::Bool);
                vec![
                    vec![b(rng.indices(&[4, 3], 2))],
                    vec![b(Tensor::new([[0i64, 0, 0], [0, 1, 0]]))],
                    vec![b(rng.indices(&[3, 0], 2))],
                ]
            },
        )
        .dtypes(&[DType::Bool])
        .out_dtype(DType::Bool),
        OpInfo::new(
            "all",
            |a| a[0].all_dim(&[1], true),
            |r| {
                reference_slices(&r[0], &[1], true, |v| {
                    v.iter().all(|&x| x != 0.0) as u8 as f64
                })
            },
            |rng| {
                vec![
                    vec![rng.indices(&[4, 3], 2)],
                    vec![Tensor::new([[1i64, 5, 2], [0, 1, 3]])],
                    vec![rng.indices(&[3, 0], 2)],
                ]
            },
        )
        .dtypes(&[DType::I64])
        .out_dtype(DType::Bool),
        OpInfo::new(
            "any_float",
            |a| a[0].any(),
            |r| RefArray {
                shape: vec![],
                data: vec![r[0].data.iter().any(|&x| x != 0.0) as u8 as f64],
            },
            |rng| {
                vec![
                    vec![rng.tensor(&[2, 3], -1.0, 1.0)],
                    vec![Tensor::zeros(&[2, 2]).to_dtype(DType::F64)],
                ]
            },
        )
        .out_dtype(DType::Bool),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rows with ties, a NaN and a row of equal values.
    fn rows() -> Tensor {
        let n = f64::NAN;
        let values = [1.0, 3.0, 3.0, 2.0, 5.0, 5.0, 5.0, 1.0, n, 1.0, n, 0.0];
        Tensor::from_slice(&values, &[3, 4]).unwrap()
    }

    #[test]
    fn max_dim_and_min_dim_send_the_derivative_to_the_returned_index() {
        // torch 2.15.0: torch.func.grad(lambda x: torch.max(x, 1).values.sum())(x) puts 1 at
        // each returned index (the first of a tie, the first NaN) and 0 elsewhere, where
        // amax would share it among the ties.
        let x = rows();
        let (_, max_index) = max_dim(&x, 1, false);
        assert_eq!(max_index.to_vec::<i64>(), vec![1, 0, 0]);
        let g: Tensor = crate::grad(|x: Tensor| max_dim(&x, 1, false).0.sum())(x.clone());
        let one_hot = |i: [usize; 3]| -> Vec<f64> {
            (0..12)
                .map(|k| if k % 4 == i[k / 4] { 1.0 } else { 0.0 })
                .collect()
        };
        assert_eq!(g.to_vec::<f64>(), one_hot([1, 0, 0]));
        let g: Tensor = crate::grad(|x: Tensor| min_dim(&x, 1, true).0.sum())(x.clone());
        assert_eq!(g.to_vec::<f64>(), one_hot([0, 3, 0]));
        // Forward mode picks the tangent at the index (torch: [1, 4, 8] for arange).
        let t = Tensor::arange(12).to_dtype(DType::F64).reshape(&[3, 4]);
        let (_, dy) = crate::jvp(|x: Tensor| max_dim(&x, 1, false).0, x.clone(), t);
        assert_eq!(dy.to_vec::<f64>(), vec![1.0, 4.0, 8.0]);
        // Per row under vmap, and down the other dim (torch's numbers too).
        let per_row = crate::vmap(crate::grad(|r: Tensor| max_dim(&r, 0, false).0))(x.clone());
        assert_eq!(per_row.to_vec::<f64>(), one_hot([1, 0, 0]));
        let g: Tensor = crate::grad(|x: Tensor| max_dim(&x, 0, false).0.sum())(x);
        let down = [0.0, 0.0, 0.0, 1.0, 0.0, 1.0, 0.0, 0.0, 1.0, 0.0, 1.0, 0.0];
        assert_eq!(g.to_vec::<f64>(), down);
    }

    #[test]
    fn max_dim_values_and_indices_keep_torchs_shapes_and_dtypes() {
        let x = Tensor::new([[1i64, 5], [7, 2]]);
        let (v, i) = max_dim(&x, 0, true);
        assert_eq!((v.shape(), v.to_vec::<i64>()), (&[1, 2][..], vec![7, 5]));
        assert_eq!(i.to_vec::<i64>(), vec![1, 0]);
        let (v, i) = min_dim(&Tensor::new([[true, false], [true, true]]), -1, false);
        assert_eq!(
            (v.dtype(), v.to_vec::<bool>()),
            (DType::Bool, vec![false, true])
        );
        assert_eq!(i.to_vec::<i64>(), vec![1, 0]);
        let (v, i) = max_dim(&Tensor::scalar(3.0f64), 0, false);
        assert_eq!(
            (v.shape(), v.item::<f64>(), i.item::<i64>()),
            (&[][..], 3.0, 0)
        );
        let (v, _) = max_dim(&rows(), 1, false);
        assert!(v.to_vec::<f64>()[2].is_nan());
    }
}
