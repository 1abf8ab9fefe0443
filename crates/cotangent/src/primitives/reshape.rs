//! `reshape`: the same elements in row-major order, in a new shape. A view when the strides
//! allow it (always for contiguous input), a copy otherwise, as in torch. Linear; its adjoint
//! reshapes back.

use super::frontend::normalize_dim;
use super::rules::batch_at_front;
use super::{Aval, AvalRef, Primitive, Residuals, Save};
use crate::array::backend;
use crate::array::{Array, Dims};
use crate::error::{Error, Result, OrRaise, raise};
use crate::testing::{OpInfo, RefArray};
use crate::trace::{Tensor, bind, try_bind};

/// Reshape to `shape` (same element count).
#[derive(Clone, Debug)]
pub(crate) struct Reshape {
    pub(crate) shape: Dims,
}

impl Primitive for Reshape {
    fn name(&self) -> &'static str {
        "reshape"
    }

    fn shape_rule(&self, inputs: &[AvalRef<'_>]) -> Result<Aval> {
        let x = inputs[0];
        let n: usize = x.shape.iter().product();
        if crate::array::layout::checked_numel(&self.shape) != Some(n) {
            return Err(Error::shape(
                "reshape",
                format!("shape '{:?}' is invalid for input of size {n}", self.shape.as_slice()),
            ));
        }
        Ok(Aval { shape: self.shape.clone(), dtype: x.dtype })
    }

    fn eval(&self, inputs: &[&Array], _out: &Aval) -> Array {
        let x = inputs[0];
        match x.layout().reshape(&self.shape) {
            Some(layout) => x.with_layout(layout),
            None => {
                let c = backend::contiguous(x);
                let layout = c.layout().reshape(&self.shape).expect("contiguous reshapes");
                c.with_layout(layout)
            }
        }
    }


    fn jvp(&self, _: &[Tensor], _: &Tensor, tangents: &[Option<Tensor>]) -> Option<Tensor> {
        tangents[0].as_ref().map(|t| bind(self.clone(), &[t]))
    }

    fn saves(&self) -> Save {
        Save::NOTHING
    }

    fn vjp(&self, res: &Residuals, cotangent: &Tensor, _: &[bool]) -> Vec<Option<Tensor>> {
        vec![Some(reshape_to(cotangent, res.shape(0)))]
    }

    fn vmap(&self, inputs: &[Tensor], axes: &[Option<usize>], size: usize) -> (Tensor, Option<usize>) {
        let x = batch_at_front(&inputs[0], axes[0], size);
        let shape = std::iter::once(size).chain(self.shape.iter().copied()).collect();
        (bind(Reshape { shape }, &[&x]), Some(0))
    }
}

/// Resolve torch's shape argument: one `-1` is inferred from the element count.
pub fn try_infer_shape(op: &'static str, shape: &[isize], numel: usize) -> Result<Dims> {
    let mut infer = None;
    let mut known = 1usize;
    for (i, &s) in shape.iter().enumerate() {
        match s {
            -1 if infer.is_some() => {
                return Err(Error::shape(op, "only one dimension can be inferred"));
            }
            -1 => infer = Some(i),
            s if s < 0 => return Err(Error::value(op, format!("invalid shape dimension {s}"))),
            s => {
                known = known.checked_mul(s as usize).ok_or_else(|| {
                    Error::shape(
                        op,
                        format!("Storage size calculation overflowed with sizes={shape:?}"),
                    )
                })?
            }
        }
    }
    let mut out: Dims = shape.iter().map(|&s| s.max(0) as usize).collect();
    if let Some(i) = infer {
        if known == 0 {
            return Err(Error::shape(
                op,
                format!(
                    "cannot reshape tensor of 0 elements into shape {shape:?} because the \
                     unspecified dimension size -1 can be any value and is ambiguous"
                ),
            ));
        }
        if !numel.is_multiple_of(known) {
            return Err(Error::shape(op, format!("shape '{shape:?}' is invalid for input of size {numel}")));
        }
        out[i] = numel / known;
    }
    if crate::array::layout::checked_numel(&out) != Some(numel) {
        return Err(Error::shape(op, format!("shape '{shape:?}' is invalid for input of size {numel}")));
    }
    Ok(out)
}

/// `x` with a new shape (`torch.reshape`); one dim may be `-1`.
///
/// ```
/// # use cotangent::Tensor;
/// let x = Tensor::arange(6);
/// assert_eq!(x.reshape(&[2, -1]).shape(), &[2, 3]);
/// ```
#[track_caller]
pub fn reshape(x: &Tensor, shape: &[isize]) -> Tensor {
    let shape = try_infer_shape("reshape", shape, x.numel()).or_raise();
    reshape_to(x, &shape)
}

/// Reshape to a resolved shape.
#[track_caller]
pub(crate) fn reshape_to(x: &Tensor, shape: &[usize]) -> Tensor {
    if x.shape() == shape {
        return x.clone();
    }
    bind(Reshape { shape: shape.into() }, &[x])
}

impl Tensor {
    /// New shape, one dim may be `-1`; see [`reshape`].
    #[track_caller]
    pub fn reshape(&self, shape: &[isize]) -> Tensor {
        reshape(self, shape)
    }

    /// Like [`Tensor::reshape`], returning an error instead of panicking.
    pub fn try_reshape(&self, shape: &[isize]) -> Result<Tensor> {
        let shape = try_infer_shape("reshape", shape, self.numel())?;
        if self.shape() == shape.as_slice() {
            return Ok(self.clone());
        }
        // A copy (of a non-contiguous view) can fail to allocate: that is returned too.
        try_bind(Reshape { shape }, &[self])
    }

    /// torch's `view`: a reshape (cotangent's arrays are immutable, so a view and a copy
    /// cannot be told apart).
    #[track_caller]
    pub fn view(&self, shape: &[isize]) -> Tensor {
        reshape(self, shape)
    }

    /// Merge dims `start_dim..=end_dim` into one (`torch.flatten`).
    #[track_caller]
    pub fn flatten(&self, start_dim: isize, end_dim: isize) -> Tensor {
        if self.dim() == 0 {
            return reshape_to(self, &[1]);
        }
        let s = normalize_dim("flatten", start_dim, self.dim());
        let e = normalize_dim("flatten", end_dim, self.dim());
        if s > e {
            raise(Error::value(
                "flatten",
                "flatten() has invalid args: start_dim cannot come after end_dim",
            ));
        }
        let sh = self.shape();
        let mut shape: Vec<usize> = sh[..s].to_vec();
        shape.push(sh[s..=e].iter().product());
        shape.extend_from_slice(&sh[e + 1..]);
        reshape_to(self, &shape)
    }

    /// Split dim `dim` into `sizes` (`torch.unflatten`); one size may be `-1`.
    #[track_caller]
    pub fn unflatten(&self, dim: isize, sizes: &[isize]) -> Tensor {
        if self.dim() == 0 {
            raise(Error::index(
                "unflatten",
                "Dimension specified as 0 but tensor has no dimensions",
            ));
        }
        if sizes.is_empty() {
            raise(Error::value("unflatten", "sizes must be non-empty"));
        }
        let d = normalize_dim("unflatten", dim, self.dim());
        let inner = try_infer_shape("unflatten", sizes, self.shape()[d]).or_raise();
        let mut shape: Vec<usize> = self.shape()[..d].to_vec();
        shape.extend_from_slice(&inner);
        shape.extend_from_slice(&self.shape()[d + 1..]);
        reshape_to(self, &shape)
    }

    /// Insert a size-1 dim at `dim` (`torch.unsqueeze`); `dim` ranges over `-(n+1)..=n`.
    #[track_caller]
    pub fn unsqueeze(&self, dim: isize) -> Tensor {
        let d = normalize_dim("unsqueeze", dim, self.dim() + 1);
        let mut shape: Vec<usize> = self.shape().to_vec();
        shape.insert(d, 1);
        reshape_to(self, &shape)
    }

    /// Remove dim `dim` if it has size 1 (`torch.squeeze(dim)`); otherwise return `self`.
    #[track_caller]
    pub fn squeeze_dim(&self, dim: isize) -> Tensor {
        let d = normalize_dim("squeeze", dim, self.dim());
        if self.dim() == 0 || self.shape()[d] != 1 {
            return self.clone();
        }
        let mut shape: Vec<usize> = self.shape().to_vec();
        shape.remove(d);
        reshape_to(self, &shape)
    }

    /// Remove every size-1 dim (`torch.squeeze()`).
    #[track_caller]
    pub fn squeeze(&self) -> Tensor {
        let shape: Vec<usize> = self.shape().iter().copied().filter(|&n| n != 1).collect();
        reshape_to(self, &shape)
    }
}

pub(crate) fn op_info() -> Vec<OpInfo> {
    let flat = |r: &[RefArray], shape: &[usize]| RefArray { shape: shape.to_vec(), data: r[0].data.clone() };
    vec![
        OpInfo::new(
            "reshape",
            |a| a[0].reshape(&[-1, 2]),
            move |r| flat(r, &[r[0].data.len() / 2, 2]),
            |rng| vec![vec![rng.tensor(&[2, 3, 4], -1.0, 1.0)], vec![rng.tensor(&[4, 0], -1.0, 1.0)]],
        ),
        OpInfo::new(
            "flatten",
            |a| a[0].flatten(1, -1),
            move |r| flat(r, &[r[0].shape[0], r[0].shape[1..].iter().product()]),
            |rng| vec![vec![rng.tensor(&[2, 3, 4], -1.0, 1.0)]],
        ),
        OpInfo::new(
            "unsqueeze",
            |a| a[0].unsqueeze(-1),
            move |r| {
                let mut s = r[0].shape.clone();
                s.push(1);
                flat(r, &s)
            },
            |rng| vec![vec![rng.tensor(&[3, 4], -1.0, 1.0)], vec![rng.tensor(&[], -1.0, 1.0)]],
        ),
        OpInfo::new(
            "squeeze",
            |a| a[0].squeeze(),
            move |r| {
                let s: Vec<usize> = r[0].shape.iter().copied().filter(|&n| n != 1).collect();
                flat(r, &s)
            },
            |rng| vec![vec![rng.tensor(&[3, 1, 4, 1], -1.0, 1.0)]],
        ),
    ]
}
