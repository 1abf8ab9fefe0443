//! `pad`: a constant border around a tensor (torch's `F.pad(x, pad, mode="constant",
//! value)`). The primitive adds `lo[d]` elements of `value` before and `hi[d]` after every
//! dim `d`; negative padding (cropping) is a `slice` applied first by the frontend.
//!
//! Derivative: linear in `x` (the pad value is a constant). Its adjoint slices the interior
//! back out: `x̄ = ȳ[lo_0 : lo_0 + n_0, lo_1 : lo_1 + n_1, ...]`.

use super::rules::batch_at_front;
use super::{Aval, AvalRef, Primitive, Residuals, Save};
use crate::array::backend;
use crate::array::{Array, DType, Dims};
use crate::error::{Error, Result, OrRaise};
use crate::testing::{OpInfo, RefArray};
use crate::trace::{Tensor, bind};

/// Pad with `value`: `lo[d]` before and `hi[d]` after along each dim.
#[derive(Clone, Debug)]
pub(crate) struct Pad {
    pub(crate) lo: Dims,
    pub(crate) hi: Dims,
    pub(crate) value: f64,
}

impl Primitive for Pad {
    fn name(&self) -> &'static str {
        "pad"
    }

    fn shape_rule(&self, inputs: &[AvalRef<'_>]) -> Result<Aval> {
        let x = inputs[0];
        if self.lo.len() != x.shape.len() || self.hi.len() != x.shape.len() {
            return Err(Error::shape(
                "pad",
                format!(
                    "internal: padding {:?}/{:?} for shape {:?}; need one amount per dim",
                    self.lo, self.hi, x.shape
                ),
            ));
        }
        let mut shape = Dims::new();
        for d in 0..x.shape.len() {
            match x.shape[d].checked_add(self.lo[d]).and_then(|n| n.checked_add(self.hi[d])) {
                Some(n) => shape.push(n),
                None => {
                    return Err(Error::shape(
                        "pad",
                        format!(
                            "Storage size calculation overflowed: padding dim {d} of shape {:?} \
                             by {} and {} gives more than 2^64 elements",
                            x.shape, self.lo[d], self.hi[d]
                        ),
                    ));
                }
            }
        }
        Ok(Aval {
            shape,
            dtype: x.dtype,
        })
    }

    fn eval(&self, inputs: &[&Array], _out: &Aval) -> Array {
        backend::pad(inputs[0], &self.lo, &self.hi, self.value)
    }

    // The pad value is a constant: the tangent is padded with zeros.
    fn jvp(&self, _: &[Tensor], _: &Tensor, tangents: &[Option<Tensor>]) -> Option<Tensor> {
        let pad = Pad {
            lo: self.lo.clone(),
            hi: self.hi.clone(),
            value: 0.0,
        };
        tangents[0].as_ref().map(|t| bind(pad, &[t]))
    }

    fn saves(&self) -> Save {
        Save::NOTHING
    }

    // The primitive only grows (the frontend crops with a slice first): slice the interior.
    fn vjp(&self, res: &Residuals, cotangent: &Tensor, _: &[bool]) -> Vec<Option<Tensor>> {
        let shape = res.shape(0);
        let limit: Dims = (0..shape.len()).map(|d| self.lo[d] + shape[d]).collect();
        let ones: Dims = smallvec::smallvec![1; shape.len()];
        vec![Some(super::slice::slice_all(
            cotangent, &self.lo, &limit, &ones,
        ))]
    }

    fn vmap(
        &self,
        inputs: &[Tensor],
        axes: &[Option<usize>],
        size: usize,
    ) -> (Tensor, Option<usize>) {
        let x = batch_at_front(&inputs[0], axes[0], size);
        let lo = std::iter::once(0).chain(self.lo.iter().copied()).collect();
        let hi = std::iter::once(0).chain(self.hi.iter().copied()).collect();
        (
            bind(
                Pad {
                    lo,
                    hi,
                    value: self.value,
                },
                &[&x],
            ),
            Some(0),
        )
    }
}

/// `x` padded with `value` (`F.pad(x, pad, value=value)`, constant mode). `pad` holds
/// `(before, after)` pairs starting from the **last** dim: `[left, right]` pads the last dim,
/// `[left, right, top, bottom]` the last two, and so on. Negative amounts crop. `value` is
/// converted to `x`'s dtype.
///
/// # Panics
/// If `pad` has odd length or more pairs than `x` has dims, if cropping leaves a negative
/// size, or if `value` does not fit `x`'s dtype (NaN for an `i64` tensor), with torch's
/// messages.
///
/// ```
/// # use cotangent::{Tensor, pad};
/// let x = Tensor::ones(&[1, 2]);
/// let y = pad(&x, &[1, 0, 0, 1], 0.0);
/// assert_eq!(y.shape(), &[2, 3]);
/// assert_eq!(y.to_vec::<f32>(), vec![0.0, 1.0, 1.0, 0.0, 0.0, 0.0]);
/// assert_eq!(pad(&x, &[-1, 0], 0.0).to_vec::<f32>(), vec![1.0]);
/// ```
#[track_caller]
pub fn pad(x: &Tensor, pad: &[isize], value: f64) -> Tensor {
    try_pad(x, pad, value).or_raise()
}

/// [`pad`], returning an error instead of panicking.
///
/// ```
/// # use cotangent::{Tensor, try_pad};
/// let x = Tensor::zeros(&[2, 3]);
/// assert!(try_pad(&x, &[1], 0.0).is_err());
/// assert_eq!(try_pad(&x, &[1, 1], 0.0).unwrap().shape(), &[2, 5]);
/// ```
pub fn try_pad(x: &Tensor, pad: &[isize], value: f64) -> Result<Tensor> {
    x.dtype().check_scalar("pad", value)?;
    if !pad.len().is_multiple_of(2) {
        return Err(Error::value(
            "pad",
            format!("Padding length must be divisible by 2, got {}", pad.len()),
        ));
    }
    let rank = x.dim();
    if pad.len() / 2 > rank {
        return Err(Error::shape(
            "pad",
            format!(
                "Padding length should be less than or equal to two times the input dimension \
                 but got padding length {} and input of dimension {rank}",
                pad.len()
            ),
        ));
    }
    let (mut lo, mut hi): (Dims, Dims) =
        (smallvec::smallvec![0; rank], smallvec::smallvec![0; rank]);
    let (mut start, mut limit): (Dims, Dims) = (smallvec::smallvec![0; rank], x.shape().into());
    for (k, pair) in pad.chunks(2).enumerate() {
        let d = rank - 1 - k;
        let (before, after, size) = (pair[0], pair[1], x.shape()[d] as isize);
        // In i128: amounts near isize::MIN or MAX must not wrap.
        let (b, a, n) = (before as i128, after as i128, size as i128);
        if n + b + a < 0 || n + b.min(0) + a.min(0) < 0 {
            return Err(Error::shape(
                "pad",
                format!(
                    "The input size {size}, plus negative padding {before} and {after} resulted \
                     in a negative output size, which is invalid. Check dimension {d} of your \
                     input."
                ),
            ));
        }
        start[d] = if before < 0 { before.unsigned_abs() } else { 0 };
        limit[d] = (size + after.min(0)) as usize;
        lo[d] = before.max(0) as usize;
        hi[d] = after.max(0) as usize;
    }
    let ones: Dims = smallvec::smallvec![1; rank];
    let cropped = super::slice::slice_all(x, &start, &limit, &ones);
    if lo.iter().chain(&hi).all(|&n| n == 0) {
        return Ok(cropped);
    }
    crate::trace::try_bind(Pad { lo, hi, value }, &[&cropped])
}

/// Reference: `value` outside the interior, `x[p - lo]` inside; `pad` as in [`pad`].
fn reference_pad(x: &RefArray, pad: &[isize], value: f64) -> RefArray {
    let rank = x.shape.len();
    let mut lo = vec![0isize; rank];
    let mut shape: Vec<usize> = x.shape.clone();
    for (k, pair) in pad.chunks(2).enumerate() {
        let d = rank - 1 - k;
        lo[d] = pair[0];
        shape[d] = (x.shape[d] as isize + pair[0] + pair[1]) as usize;
    }
    RefArray::from_fn(&shape, |p| {
        let q: Vec<isize> = (0..rank).map(|d| p[d] as isize - lo[d]).collect();
        if (0..rank).all(|d| q[d] >= 0 && q[d] < x.shape[d] as isize) {
            x.get(&q.iter().map(|&i| i as usize).collect::<Vec<_>>())
        } else {
            value
        }
    })
}

pub(crate) fn op_info() -> Vec<OpInfo> {
    vec![
        OpInfo::new(
            "pad",
            |a| pad(&a[0], &[1, 2], -3.5),
            |r| reference_pad(&r[0], &[1, 2], -3.5),
            |rng| {
                vec![
                    vec![rng.tensor(&[2, 3], -1.0, 1.0)],
                    vec![rng.tensor(&[4], -1.0, 1.0)],
                    vec![rng.tensor(&[3, 0], -1.0, 1.0)],
                    vec![rng.tensor(&[0, 2], -1.0, 1.0)],
                ]
            },
        ),
        OpInfo::new(
            "pad_2d",
            |a| pad(&a[0], &[0, 1, 2, 1], 0.0),
            |r| reference_pad(&r[0], &[0, 1, 2, 1], 0.0),
            |rng| {
                vec![
                    vec![rng.tensor(&[2, 3], -1.0, 1.0)],
                    vec![rng.tensor(&[2, 3, 4], -1.0, 1.0)],
                    vec![rng.tensor(&[1, 1], -1.0, 1.0)],
                ]
            },
        ),
        OpInfo::new(
            "pad_crop",
            |a| pad(&a[0], &[-1, 2, 1, -2], 7.0),
            |r| reference_pad(&r[0], &[-1, 2, 1, -2], 7.0),
            |rng| {
                vec![
                    vec![rng.tensor(&[4, 3], -1.0, 1.0)],
                    vec![rng.tensor(&[2, 3, 5], -1.0, 1.0)],
                ]
            },
        ),
        OpInfo::new(
            "pad_none",
            |a| pad(&a[0], &[], 1.0),
            |r| r[0].clone(),
            |rng| {
                vec![
                    vec![rng.tensor(&[], -1.0, 1.0)],
                    vec![rng.tensor(&[2, 3], -1.0, 1.0)],
                ]
            },
        ),
        OpInfo::new(
            "pad_i64",
            |a| pad(&a[0], &[2, 0], 9.0),
            |r| reference_pad(&r[0], &[2, 0], 9.0),
            |rng| vec![vec![rng.indices(&[2, 3], 5)]],
        )
        .dtypes(&[DType::I64])
        .out_dtype(DType::I64),
    ]
}
