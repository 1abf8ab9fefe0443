//! `reduce_sum`: sum over a set of axes, which are removed. Linear; its adjoint broadcasts
//! the cotangent back over the summed axes.

use super::frontend::{keepdim_shape, reduction_axes};
use super::broadcast_in_dim::broadcast_in_dim;
use super::rules::batch_at_front;
use super::{Aval, AvalRef, Primitive, Residuals, Save};
use crate::array::backend::{self, ReduceOp};
use crate::array::{Array, DType, Dims};
use crate::error::{Error, Result};
use crate::testing::{OpInfo, RefArray};
use crate::trace::{Tensor, bind};

/// Sum over `axes` (sorted, unique).
#[derive(Clone, Debug)]
pub(crate) struct ReduceSum {
    pub(crate) axes: Dims,
}

/// Shape rule shared by the reductions: the axes are valid and removed.
pub(crate) fn reduced_aval(op: &'static str, x: AvalRef<'_>, axes: &[usize]) -> Result<Aval> {
    if axes.iter().any(|&a| a >= x.shape.len()) || axes.windows(2).any(|w| w[0] >= w[1]) {
        return Err(Error::shape(op, format!("internal: bad axes {axes:?} for shape {:?}", x.shape)));
    }
    let shape = x.shape.iter().enumerate().filter(|(d, _)| !axes.contains(d)).map(|(_, &n)| n);
    Ok(Aval { shape: shape.collect(), dtype: x.dtype })
}

impl Primitive for ReduceSum {
    fn name(&self) -> &'static str {
        "sum"
    }

    fn shape_rule(&self, inputs: &[AvalRef<'_>]) -> Result<Aval> {
        if inputs[0].dtype == DType::Bool {
            return Err(Error::shape("sum", "internal: bool input should be cast to int64 first"));
        }
        reduced_aval("sum", inputs[0], &self.axes)
    }

    fn eval(&self, inputs: &[&Array], _out: &Aval) -> Array {
        backend::reduce(inputs[0], &self.axes, ReduceOp::Sum)
    }


    fn jvp(&self, _: &[Tensor], _: &Tensor, tangents: &[Option<Tensor>]) -> Option<Tensor> {
        tangents[0].as_ref().map(|t| bind(self.clone(), &[t]))
    }

    fn saves(&self) -> Save {
        Save::NOTHING
    }

    fn vjp(&self, res: &Residuals, cotangent: &Tensor, _: &[bool]) -> Vec<Option<Tensor>> {
        let shape = res.shape(0);
        let kept: Vec<usize> = (0..shape.len()).filter(|d| !self.axes.contains(d)).collect();
        vec![Some(broadcast_in_dim(cotangent, shape, &kept))]
    }

    fn vmap(&self, inputs: &[Tensor], axes: &[Option<usize>], size: usize) -> (Tensor, Option<usize>) {
        let x = batch_at_front(&inputs[0], axes[0], size);
        let shifted = self.axes.iter().map(|&a| a + 1).collect();
        (bind(ReduceSum { axes: shifted }, &[&x]), Some(0))
    }
}

/// Sum over `axes` (sorted, unique, non-negative), removing them.
#[track_caller]
pub(crate) fn reduce_sum(x: &Tensor, axes: &[usize]) -> Tensor {
    if axes.is_empty() && x.dtype() != DType::Bool {
        return x.clone();
    }
    // torch sums bools as int64.
    let x = if x.dtype() == DType::Bool { x.to_dtype(DType::I64) } else { x.clone() };
    bind(ReduceSum { axes: axes.into() }, &[&x])
}

/// Sum over `dims` (`None`: all), keeping them as size 1 if `keepdim` (`torch.sum`).
#[track_caller]
pub fn sum_dims(x: &Tensor, dims: Option<&[isize]>, keepdim: bool) -> Tensor {
    let axes = reduction_axes("sum", x, dims);
    let out = reduce_sum(x, &axes);
    if keepdim { super::reshape::reshape_to(&out, &keepdim_shape(x.shape(), &axes)) } else { out }
}

impl Tensor {
    /// Sum of all elements, a 0-d tensor (`x.sum()`).
    ///
    /// ```
    /// # use cotangent::Tensor;
    /// assert_eq!(Tensor::ones(&[2, 3]).sum().item::<f32>(), 6.0);
    /// ```
    #[track_caller]
    pub fn sum(&self) -> Tensor {
        sum_dims(self, None, false)
    }

    /// Sum over `dims` (`x.sum(dims, keepdim)`).
    #[track_caller]
    pub fn sum_dim(&self, dims: &[isize], keepdim: bool) -> Tensor {
        sum_dims(self, Some(dims), keepdim)
    }
}

/// Reference reduction: fold `r` over `axes` (sorted) with `f`, starting from `init`.
pub(crate) fn reference_reduce(
    r: &RefArray,
    axes: &[usize],
    keepdim: bool,
    init: f64,
    f: impl Fn(f64, f64) -> f64,
) -> RefArray {
    let out_shape: Vec<usize> = r
        .shape
        .iter()
        .enumerate()
        .filter_map(|(d, &n)| if axes.contains(&d) { keepdim.then_some(1) } else { Some(n) })
        .collect();
    let red_shape: Vec<usize> = axes.iter().map(|&a| r.shape[a]).collect();
    RefArray::from_fn(&out_shape, |o| {
        let kept: Vec<usize> = if keepdim {
            o.iter().enumerate().filter(|(d, _)| !axes.contains(d)).map(|(_, &i)| i).collect()
        } else {
            o.to_vec()
        };
        let mut acc = init;
        let mut ridx = vec![0usize; red_shape.len()];
        let count: usize = red_shape.iter().product();
        for _ in 0..count {
            let (mut k, mut j) = (0, 0);
            let full: Vec<usize> = (0..r.shape.len())
                .map(|d| {
                    if axes.contains(&d) {
                        j += 1;
                        ridx[j - 1]
                    } else {
                        k += 1;
                        kept[k - 1]
                    }
                })
                .collect();
            acc = f(acc, r.get(&full));
            for d in (0..ridx.len()).rev() {
                ridx[d] += 1;
                if ridx[d] < red_shape[d] {
                    break;
                }
                ridx[d] = 0;
            }
        }
        acc
    })
}

/// Samples for reductions: scalars, empty dims, non-trivial rank.
pub(crate) fn reduction_samples(rng: &mut crate::testing::TestRng) -> Vec<Vec<Tensor>> {
    vec![
        vec![rng.tensor(&[2, 3, 4], -1.0, 1.0)],
        vec![rng.tensor(&[3, 5], -1.0, 1.0)],
        vec![rng.tensor(&[4, 1, 3], -1.0, 1.0)],
    ]
}

pub(crate) fn op_info() -> Vec<OpInfo> {
    vec![
        OpInfo::new(
            "sum",
            |a| a[0].sum(),
            |r| reference_reduce(&r[0], &(0..r[0].shape.len()).collect::<Vec<_>>(), false, 0.0, |a, b| a + b),
            |rng| {
                let mut s = reduction_samples(rng);
                s.push(vec![rng.tensor(&[], -1.0, 1.0)]);
                s.push(vec![rng.tensor(&[0, 3], -1.0, 1.0)]);
                s
            },
        ),
        OpInfo::new(
            "sum_dim",
            |a| a[0].sum_dim(&[-1, 0], false),
            |r| reference_reduce(&r[0], &[0, r[0].shape.len() - 1], false, 0.0, |a, b| a + b),
            reduction_samples,
        ),
        OpInfo::new(
            "sum_dim_keepdim",
            |a| a[0].sum_dim(&[1], true),
            |r| reference_reduce(&r[0], &[1], true, 0.0, |a, b| a + b),
            |rng| {
                let mut s = reduction_samples(rng);
                s.push(vec![rng.tensor(&[2, 0, 3], -1.0, 1.0)]);
                s
            },
        ),
    ]
}
