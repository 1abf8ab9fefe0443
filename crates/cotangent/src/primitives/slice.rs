//! `slice`: the elements `start..limit` with `step` along every dim (XLA's Slice; torch's
//! basic indexing `x[a:b:c]`, `narrow`, `select`). A view: no data moves. Linear; its adjoint
//! pads the cotangent with zeros back to the input's shape.

use super::frontend::normalize_dim;
use super::rules::batch_at_front;
use super::{Aval, AvalRef, Primitive, Residuals, Save};
use crate::array::{Array, Dims};
use crate::error::{Error, Result, raise};
use crate::testing::{OpInfo, RefArray};
use crate::trace::{Tensor, bind};

/// Per-dim `start..limit` with `step` (all already clamped and valid).
#[derive(Clone, Debug)]
pub(crate) struct Slice {
    pub(crate) start: Dims,
    pub(crate) limit: Dims,
    pub(crate) step: Dims,
}

impl Primitive for Slice {
    fn name(&self) -> &'static str {
        "slice"
    }

    fn shape_rule(&self, inputs: &[AvalRef<'_>]) -> Result<Aval> {
        let x = inputs[0];
        let r = x.shape.len();
        let valid = self.start.len() == r
            && self.limit.len() == r
            && self.step.len() == r
            && (0..r).all(|d| {
                self.step[d] >= 1 && self.start[d] <= self.limit[d] && self.limit[d] <= x.shape[d]
            });
        if !valid {
            return Err(Error::shape(
                "slice",
                format!(
                    "start {:?}, limit {:?}, step {:?} do not fit shape {:?}: need \
                     start <= limit <= size and step >= 1 in every dim",
                    self.start, self.limit, self.step, x.shape
                ),
            ));
        }
        let shape = (0..r).map(|d| (self.limit[d] - self.start[d]).div_ceil(self.step[d]));
        Ok(Aval { shape: shape.collect(), dtype: x.dtype })
    }

    fn eval(&self, inputs: &[&Array], _out: &Aval) -> Array {
        let x = inputs[0];
        x.with_layout(x.layout().slice(&self.start, &self.limit, &self.step))
    }


    fn jvp(&self, _: &[Tensor], _: &Tensor, tangents: &[Option<Tensor>]) -> Option<Tensor> {
        tangents[0].as_ref().map(|t| bind(self.clone(), &[t]))
    }

    fn saves(&self) -> Save {
        Save::NOTHING
    }

    fn vjp(&self, res: &Residuals, cotangent: &Tensor, _: &[bool]) -> Vec<Option<Tensor>> {
        vec![Some(unslice(cotangent, res.shape(0), &self.start, &self.step))]
    }

    fn vmap(&self, inputs: &[Tensor], axes: &[Option<usize>], size: usize) -> (Tensor, Option<usize>) {
        let x = batch_at_front(&inputs[0], axes[0], size);
        let start = std::iter::once(0).chain(self.start.iter().copied()).collect();
        let limit = std::iter::once(size).chain(self.limit.iter().copied()).collect();
        let step = std::iter::once(1).chain(self.step.iter().copied()).collect();
        (bind(Slice { start, limit, step }, &[&x]), Some(0))
    }
}

/// `x` restricted to `start..limit` with `step` along every dim (validated by the shape rule).
#[track_caller]
pub(crate) fn slice_all(x: &Tensor, start: &[usize], limit: &[usize], step: &[usize]) -> Tensor {
    let whole = (0..x.dim()).all(|d| start[d] == 0 && limit[d] == x.shape()[d] && step[d] == 1);
    if whole {
        return x.clone();
    }
    bind(Slice { start: start.into(), limit: limit.into(), step: step.into() }, &[x])
}

/// Python's slice clamping: negative bounds count from the end, then clamp to `0..=size`.
fn clamp_bound(b: isize, size: usize) -> usize {
    let b = if b < 0 { b + size as isize } else { b };
    b.clamp(0, size as isize) as usize
}

impl Tensor {
    /// `x[..., start:end:step, ...]` along `dim` (torch's `x.slice(dim, start, end, step)`);
    /// bounds are clamped like Python slices, negative bounds count from the end.
    ///
    /// ```
    /// # use cotangent::Tensor;
    /// let x = Tensor::arange(10);
    /// assert_eq!(x.slice(0, 1, -1, 3).to_vec::<i64>(), vec![1, 4, 7]);
    /// ```
    #[track_caller]
    pub fn slice(&self, dim: isize, start: isize, end: isize, step: usize) -> Tensor {
        if step == 0 {
            raise(Error::value(
                "slice",
                format!("slice step must be positive, got {step}"),
            ));
        }
        not_a_scalar("slice", self);
        let d = normalize_dim("slice", dim, self.dim());
        let size = self.shape()[d];
        let (s, e) = (clamp_bound(start, size), clamp_bound(end, size));
        let mut lo: Dims = smallvec::smallvec![0; self.dim()];
        let mut hi: Dims = self.shape().into();
        let mut st: Dims = smallvec::smallvec![1; self.dim()];
        lo[d] = s;
        hi[d] = e.max(s);
        st[d] = step;
        slice_all(self, &lo, &hi, &st)
    }

    /// `length` elements of `dim` starting at `start` (`torch.narrow`).
    ///
    /// # Panics
    /// If `start + length` exceeds the dim's size, with torch's message.
    #[track_caller]
    pub fn narrow(&self, dim: isize, start: isize, length: usize) -> Tensor {
        not_a_scalar("narrow", self);
        let d = normalize_dim("narrow", dim, self.dim());
        let size = self.shape()[d];
        let n = size as isize;
        if start < -n || start > n {
            raise(Error::index(
                "narrow",
                format!("start out of range (expected to be in range of [{}, {n}], but got {start})", -n),
            ));
        }
        let s = if start < 0 { start + n } else { start };
        if s as usize + length > size {
            raise(Error::index(
                "narrow",
                format!("start ({s}) + length ({length}) exceeds dimension size ({size})."),
            ));
        }
        self.slice(dim, s, s + length as isize, 1)
    }

    /// The slice at `index` of `dim`, with that dim removed (`torch.select`, `x[i]`).
    ///
    /// # Panics
    /// If `index` is out of range, with torch's message.
    #[track_caller]
    pub fn select(&self, dim: isize, index: isize) -> Tensor {
        not_a_scalar("select", self);
        let d = normalize_dim("select", dim, self.dim());
        let size = self.shape()[d] as isize;
        if index < -size || index >= size {
            raise(Error::index(
                "select",
                format!("index {index} is out of bounds for dimension {d} with size {size}"),
            ));
        }
        let i = if index < 0 { index + size } else { index };
        let mut shape: Vec<usize> = self.shape().to_vec();
        shape.remove(d);
        super::reshape::reshape_to(&self.slice(d as isize, i, i + 1, 1), &shape)
    }

    /// The slices along `dim`, each with that dim removed (`torch.unbind`).
    #[track_caller]
    pub fn unbind(&self, dim: isize) -> Vec<Tensor> {
        if self.dim() == 0 {
            raise(Error::index(
                "unbind",
                "Dimension specified as 0 but tensor has no dimensions",
            ));
        }
        let d = normalize_dim("unbind", dim, self.dim());
        (0..self.shape()[d] as isize).map(|i| self.select(d as isize, i)).collect()
    }
}

/// torch's error for indexing into a 0-d tensor, which has no dim to index (the dim
/// checks accept dim 0 and -1 for it, as torch's do).
#[track_caller]
fn not_a_scalar(op: &'static str, x: &Tensor) {
    if x.dim() == 0 {
        raise(Error::index(
            op,
            format!("{op}() cannot be applied to a 0-dim tensor."),
        ));
    }
}

pub(crate) fn op_info() -> Vec<OpInfo> {
    vec![
        OpInfo::new(
            "slice",
            |a| a[0].slice(1, 1, -1, 2),
            |r| {
                let s = &r[0].shape;
                let n = (s[1].saturating_sub(2)).div_ceil(2);
                RefArray::from_fn(&[s[0], n, s[2]], |i| r[0].get(&[i[0], 1 + 2 * i[1], i[2]]))
            },
            |rng| vec![vec![rng.tensor(&[2, 6, 3], -1.0, 1.0)], vec![rng.tensor(&[3, 7, 2], -1.0, 1.0)]],
        ),
        OpInfo::new(
            "select",
            |a| a[0].select(-1, -2),
            |r| {
                let s = &r[0].shape;
                RefArray::from_fn(&s[..s.len() - 1], |i| {
                    let mut idx = i.to_vec();
                    idx.push(s[s.len() - 1] - 2);
                    r[0].get(&idx)
                })
            },
            |rng| vec![vec![rng.tensor(&[2, 4, 3], -1.0, 1.0)], vec![rng.tensor(&[5], -1.0, 1.0)]],
        ),
    ]
}

/// The adjoint of a slice: `ct` placed at positions `start + step * i` of a zero tensor of
/// `shape`, built from pads and reshapes so it stays differentiable and batchable.
pub(crate) fn unslice(ct: &Tensor, shape: &[usize], start: &[usize], step: &[usize]) -> Tensor {
    let mut out = ct.clone();
    for d in 0..shape.len() {
        let m = out.shape()[d];
        if m == shape[d] {
            continue;
        }
        if m == 0 {
            let mut s = out.shape().to_vec();
            s[d] = shape[d];
            return ct.new_zeros(&s);
        }
        if step[d] > 1 {
            // Interleave step - 1 zeros after each element: [.., m, 1, ..] -> [.., m, step, ..].
            let widened = pad_dim(&out.unsqueeze(d as isize + 1), d + 1, 0, step[d] - 1);
            let mut s = out.shape().to_vec();
            s[d] = m * step[d];
            out = super::reshape::reshape_to(&widened, &s).narrow(d as isize, 0, (m - 1) * step[d] + 1);
        }
        let after = shape[d] - start[d] - out.shape()[d];
        out = pad_dim(&out, d, start[d], after);
    }
    out
}

/// Zero-pad dim `d` with `before` and `after` elements.
fn pad_dim(x: &Tensor, d: usize, before: usize, after: usize) -> Tensor {
    // F.pad lists (left, right) pairs from the last dim backwards.
    let mut pads = vec![0isize; 2 * (x.dim() - d)];
    let k = 2 * (x.dim() - 1 - d);
    pads[k] = before as isize;
    pads[k + 1] = after as isize;
    super::pad::pad(x, &pads, 0.0)
}
