//! `concatenate`: tensors joined along one axis (torch's `cat`). The inputs share their rank
//! and dtype and match in every other dim; the output's axis is the sum of theirs.
//!
//! Derivative: linear. Its adjoint slices the cotangent back into the inputs' pieces:
//! `x̄_k = ȳ[..., o_k : o_k + n_k, ...]` with `o_k` the sum of the earlier inputs' sizes.

use std::borrow::Borrow;

use super::frontend::try_normalize_dim;
use super::rules::batch_at_front;
use super::{Aval, AvalRef, Primitive, Residuals, Save};
use crate::array::backend;
use crate::array::{Array, DType, Dims};
use crate::error::{Error, Result, OrRaise};
use crate::testing::{OpInfo, RefArray};
use crate::trace::{Tensor, bind};

/// Join the inputs along `axis`.
#[derive(Clone, Debug)]
pub(crate) struct Concatenate {
    pub(crate) axis: usize,
}

/// torch's message for a size mismatch between `first` and input number `k`.
fn size_mismatch(axis: usize, first: &[usize], shape: &[usize], k: usize) -> Option<String> {
    let d = (0..first.len()).find(|&d| d != axis && first[d] != shape[d])?;
    Some(format!(
        "Sizes of tensors must match except in dimension {axis}. Expected size {} but got \
         size {} for tensor number {k} in the list.",
        first[d], shape[d]
    ))
}

impl Primitive for Concatenate {
    fn name(&self) -> &'static str {
        "cat"
    }

    fn shape_rule(&self, inputs: &[AvalRef<'_>]) -> Result<Aval> {
        let Some(first) = inputs.first() else {
            return Err(Error::value("cat", "expected a non-empty list of Tensors"));
        };
        let rank = first.shape.len();
        if self.axis >= rank {
            return Err(Error::shape(
                "cat",
                format!("internal: axis {} for inputs of rank {rank}", self.axis),
            ));
        }
        let mut shape: Dims = first.shape.into();
        shape[self.axis] = 0;
        for (k, x) in inputs.iter().enumerate() {
            if x.dtype != first.dtype {
                return Err(Error::dtype(
                    "cat",
                    format!(
                        "internal: inputs must share a dtype, got {} and {}",
                        first.dtype, x.dtype
                    ),
                ));
            }
            if x.shape.len() != rank {
                return Err(Error::shape(
                    "cat",
                    format!(
                        "Tensors must have same number of dimensions: got {rank} and {}",
                        x.shape.len()
                    ),
                ));
            }
            if let Some(msg) = size_mismatch(self.axis, first.shape, x.shape, k) {
                return Err(Error::shape("cat", msg));
            }
            let Some(total) = shape[self.axis].checked_add(x.shape[self.axis]) else {
                let sizes: Vec<usize> = inputs.iter().map(|x| x.shape[self.axis]).collect();
                return Err(Error::shape(
                    "cat",
                    format!(
                        "Storage size calculation overflowed: the sizes {sizes:?} along dim {} \
                         add up to more than 2^64",
                        self.axis
                    ),
                ));
            };
            shape[self.axis] = total;
        }
        Ok(Aval {
            shape,
            dtype: first.dtype,
        })
    }

    fn eval(&self, inputs: &[&Array], _out: &Aval) -> Array {
        backend::concatenate(inputs, self.axis)
    }

    fn jvp(&self, primals: &[Tensor], _: &Tensor, tangents: &[Option<Tensor>]) -> Option<Tensor> {
        if tangents.iter().all(Option::is_none) {
            return None;
        }
        let parts: Vec<Tensor> = primals
            .iter()
            .zip(tangents)
            .map(|(x, t)| {
                t.clone()
                    .unwrap_or_else(|| x.zeros_like())
            })
            .collect();
        let refs: Vec<&Tensor> = parts.iter().collect();
        Some(bind(self.clone(), &refs))
    }

    fn saves(&self) -> Save {
        Save::NOTHING
    }

    fn vjp(&self, res: &Residuals, cotangent: &Tensor, needed: &[bool]) -> Vec<Option<Tensor>> {
        let ones: Dims = smallvec::smallvec![1; cotangent.dim()];
        let mut offset = 0;
        (0..needed.len())
            .map(|k| {
                let n = res.shape(k)[self.axis];
                let (mut start, mut limit): (Dims, Dims) = (
                    smallvec::smallvec![0; cotangent.dim()],
                    cotangent.shape().into(),
                );
                start[self.axis] = offset;
                limit[self.axis] = offset + n;
                offset += n;
                needed[k].then(|| super::slice::slice_all(cotangent, &start, &limit, &ones))
            })
            .collect()
    }

    fn vmap(
        &self,
        inputs: &[Tensor],
        axes: &[Option<usize>],
        size: usize,
    ) -> (Tensor, Option<usize>) {
        let moved: Vec<Tensor> = inputs
            .iter()
            .zip(axes)
            .map(|(x, &a)| batch_at_front(x, a, size))
            .collect();
        let refs: Vec<&Tensor> = moved.iter().collect();
        (
            bind(
                Concatenate {
                    axis: self.axis + 1,
                },
                &refs,
            ),
            Some(0),
        )
    }
}

/// The tensors joined along `dim` (`torch.cat`). Inputs are promoted to their common dtype;
/// they must have the same rank and match in every dim but `dim`. As in torch, 1-d inputs of
/// shape `[0]` are skipped whatever the others' rank (legacy empty tensors).
///
/// # Panics
/// If the list is empty, an input is 0-d, or the ranks or sizes do not match (torch: "Sizes
/// of tensors must match except in dimension 1. Expected size 3 but got size 4 for tensor
/// number 1 in the list.").
///
/// ```
/// # use cotangent::{Tensor, cat};
/// let a = Tensor::zeros(&[2, 3]);
/// let b = Tensor::ones(&[2, 1]);
/// assert_eq!(cat(&[&a, &b], 1).shape(), &[2, 4]);
/// assert_eq!(cat(&[a.clone(), a], -2).shape(), &[4, 3]);
/// ```
#[track_caller]
pub fn cat<T: Borrow<Tensor>>(tensors: &[T], dim: isize) -> Tensor {
    try_cat(tensors, dim).or_raise()
}

/// [`cat`], returning an error instead of panicking.
///
/// ```
/// # use cotangent::{Tensor, try_cat};
/// let (a, b) = (Tensor::zeros(&[2, 3]), Tensor::zeros(&[2, 4]));
/// assert!(try_cat(&[&a, &b], 0).is_err());
/// assert_eq!(try_cat(&[&a, &b], 1).unwrap().shape(), &[2, 7]);
/// ```
pub fn try_cat<T: Borrow<Tensor>>(tensors: &[T], dim: isize) -> Result<Tensor> {
    let tensors: Vec<&Tensor> = tensors.iter().map(|t| t.borrow()).collect();
    let Some(&first) = tensors.first() else {
        return Err(Error::value("cat", "expected a non-empty list of Tensors"));
    };
    let dtype = tensors
        .iter()
        .map(|t| t.dtype())
        .fold(first.dtype(), DType::promote);
    // Legacy empty tensors (shape [0]) take no part, whatever the others' rank.
    let kept: Vec<(usize, &Tensor)> = tensors
        .iter()
        .copied()
        .enumerate()
        .filter(|(_, t)| t.shape() != [0])
        .collect();
    let Some(&(_, reference)) = kept.first() else {
        return Ok(first.to_dtype(dtype));
    };
    if let Some((k, _)) = kept.iter().find(|(_, t)| t.dim() == 0) {
        return Err(Error::shape(
            "cat",
            format!("zero-dimensional tensor (at position {k}) cannot be concatenated"),
        ));
    }
    let axis = try_normalize_dim("cat", dim, reference.dim())?;
    for &(k, t) in &kept {
        if t.dim() != reference.dim() {
            return Err(Error::shape(
                "cat",
                format!(
                    "Tensors must have same number of dimensions: got {} and {}",
                    reference.dim(),
                    t.dim()
                ),
            ));
        }
        if let Some(msg) = size_mismatch(axis, reference.shape(), t.shape(), k) {
            return Err(Error::shape("cat", msg));
        }
    }
    let inputs: Vec<Tensor> = kept.iter().map(|(_, t)| t.to_dtype(dtype)).collect();
    if inputs.len() == 1 {
        return Ok(inputs[0].clone());
    }
    let refs: Vec<&Tensor> = inputs.iter().collect();
    crate::trace::try_bind(Concatenate { axis }, &refs)
}

/// Alias of [`cat`] (`torch.concat`).
///
/// ```
/// # use cotangent::{Tensor, concat};
/// let y = concat(&[Tensor::new([1i64]), Tensor::new([2i64, 3])], 0);
/// assert_eq!(y.to_vec::<i64>(), vec![1, 2, 3]);
/// ```
#[track_caller]
pub fn concat<T: Borrow<Tensor>>(tensors: &[T], dim: isize) -> Tensor {
    cat(tensors, dim)
}

/// Reference: input `k` fills `offsets[k]..offsets[k] + n_k` of the axis.
fn reference_cat(r: &[RefArray], axis: usize) -> RefArray {
    let kept: Vec<&RefArray> = r.iter().filter(|x| x.shape != [0]).collect();
    let mut shape = kept[0].shape.clone();
    shape[axis] = kept.iter().map(|x| x.shape[axis]).sum();
    RefArray::from_fn(&shape, |p| {
        let mut q = p.to_vec();
        for x in &kept {
            if q[axis] < x.shape[axis] {
                return x.get(&q);
            }
            q[axis] -= x.shape[axis];
        }
        unreachable!("index within the total")
    })
}

pub(crate) fn op_info() -> Vec<OpInfo> {
    vec![
        OpInfo::new(
            "cat",
            |a| cat(a, 1),
            |r| reference_cat(r, 1),
            |rng| {
                vec![
                    vec![
                        rng.tensor(&[2, 3], -1.0, 1.0),
                        rng.tensor(&[2, 4], -1.0, 1.0),
                    ],
                    vec![
                        rng.tensor(&[3, 1, 2], -1.0, 1.0),
                        rng.tensor(&[3, 0, 2], -1.0, 1.0),
                        rng.tensor(&[3, 5, 2], -1.0, 1.0),
                    ],
                    vec![rng.tensor(&[2, 3], -1.0, 1.0), rng.tensor(&[0], -1.0, 1.0)],
                    vec![
                        rng.tensor(&[0, 3], -1.0, 1.0),
                        rng.tensor(&[0, 2], -1.0, 1.0),
                    ],
                    vec![rng.tensor(&[4, 2], -1.0, 1.0)],
                ]
            },
        ),
        OpInfo::new(
            "cat_dim0",
            |a| cat(a, -2),
            |r| reference_cat(r, 0),
            |rng| {
                vec![
                    vec![
                        rng.tensor(&[2, 3], -1.0, 1.0),
                        rng.tensor(&[4, 3], -1.0, 1.0),
                    ],
                    vec![
                        rng.tensor(&[1, 2], -1.0, 1.0),
                        rng.tensor(&[3, 2], -1.0, 1.0),
                        rng.tensor(&[2, 2], -1.0, 1.0),
                        rng.tensor(&[0, 2], -1.0, 1.0),
                    ],
                ]
            },
        ),
        OpInfo::new(
            "cat_1d",
            |a| cat(a, 0),
            |r| reference_cat(r, 0),
            |rng| {
                vec![vec![
                    rng.tensor(&[3], -1.0, 1.0),
                    rng.tensor(&[0], -1.0, 1.0),
                    rng.tensor(&[2], -1.0, 1.0),
                ]]
            },
        ),
        OpInfo::new(
            "cat_promotes",
            |a| cat(&[a[0].clone(), a[1].clone()], 0),
            |r| reference_cat(r, 0),
            |rng| {
                vec![vec![
                    rng.tensor(&[2, 3], -1.0, 1.0),
                    rng.indices(&[1, 3], 10),
                ]]
            },
        ),
    ]
}
