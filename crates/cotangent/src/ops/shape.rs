//! Shape composites: `stack`, `hstack`, `vstack`, `split`, `split_with_sizes`, `chunk`,
//! `flip` and `repeat`, written with `cat`, slicing views, `index_select` and broadcasting.
//! The pieces of a split are views of the input: no data moves.

use std::borrow::Borrow;

use crate::array::alloc::{alloc_named, try_with_capacity};
use crate::array::{DType, Dims};
use crate::error::{Error, OrRaise, raise};
use crate::primitives::concatenate::{cat, try_cat};
use crate::primitives::frontend::normalize_dim;
use crate::testing::{OpInfo, RefArray, TestRng};
use crate::trace::Tensor;

/// The tensors, of one shape, joined along a new dim `dim` (`torch.stack`); `dim` ranges over
/// `-(n+1)..=n` for rank-`n` inputs. Dtypes are promoted as in `cat`.
///
/// # Panics
/// If the list is empty or the shapes differ, with torch's message.
///
/// ```
/// # use cotangent::{Tensor, stack};
/// let (a, b) = (Tensor::zeros(&[2, 3]), Tensor::ones(&[2, 3]));
/// assert_eq!(stack(&[&a, &b], 0).shape(), &[2, 2, 3]);
/// assert_eq!(stack(&[&a, &b], -1).shape(), &[2, 3, 2]);
/// ```
#[track_caller]
pub fn stack<T: Borrow<Tensor>>(tensors: &[T], dim: isize) -> Tensor {
    let Some(first) = tensors.first().map(|t| t.borrow()) else {
        raise(Error::value(
            "stack",
            "stack expects a non-empty TensorList",
        ));
    };
    for (k, t) in tensors.iter().enumerate() {
        let t = t.borrow();
        if t.shape() != first.shape() {
            raise(Error::shape(
                "stack",
                format!(
                    "stack expects each tensor to be equal size, but got {:?} at entry 0 \
                         and {:?} at entry {k}",
                    first.shape(),
                    t.shape()
                ),
            ));
        }
    }
    let d = normalize_dim("stack", dim, first.dim() + 1) as isize;
    let mut shape = first.shape().to_vec();
    shape.insert(d as usize, tensors.len());
    crate::array::layout::check_shape("stack", &shape, first.dtype()).or_raise();
    let parts: Vec<Tensor> = tensors.iter().map(|t| t.borrow().unsqueeze(d)).collect();
    try_cat(&parts, d)
        .map_err(|e| alloc_named("stack", e))
        .or_raise()
}

/// `x` as is if it has at least `rank` dims, else with leading size-1 dims added (torch's
/// `atleast_1d`/`atleast_2d`, except that a 1-d tensor becomes `[1, n]`).
fn at_least(x: &Tensor, rank: usize) -> Tensor {
    if x.dim() >= rank {
        return x.clone();
    }
    let mut shape: Vec<isize> = vec![1; rank - x.dim()];
    shape.extend(x.shape().iter().map(|&n| n as isize));
    x.reshape(&shape)
}

/// The tensors joined column-wise (`torch.hstack`): along dim 0 if they are 1-d, else along
/// dim 1; 0-d tensors count as 1-d.
///
/// ```
/// # use cotangent::{Tensor, hstack};
/// let y = hstack(&[Tensor::new([1i64, 2]), Tensor::new([3i64])]);
/// assert_eq!(y.to_vec::<i64>(), vec![1, 2, 3]);
/// ```
#[track_caller]
pub fn hstack<T: Borrow<Tensor>>(tensors: &[T]) -> Tensor {
    non_empty("hstack", tensors.len());
    let parts: Vec<Tensor> = tensors.iter().map(|t| at_least(t.borrow(), 1)).collect();
    let dim = if parts.first().is_some_and(|t| t.dim() == 1) {
        0
    } else {
        1
    };
    try_cat(&parts, dim)
        .map_err(|e| as_op("hstack", e))
        .or_raise()
}

/// The tensors joined row-wise (`torch.vstack`): 0-d and 1-d tensors become rows `[1, n]`,
/// then they are joined along dim 0.
///
/// ```
/// # use cotangent::{Tensor, vstack};
/// let y = vstack(&[Tensor::new([1i64, 2]), Tensor::new([3i64, 4])]);
/// assert_eq!(y.shape(), &[2, 2]);
/// ```
#[track_caller]
pub fn vstack<T: Borrow<Tensor>>(tensors: &[T]) -> Tensor {
    non_empty("vstack", tensors.len());
    let parts: Vec<Tensor> = tensors.iter().map(|t| at_least(t.borrow(), 2)).collect();
    try_cat(&parts, 0)
        .map_err(|e| as_op("vstack", e))
        .or_raise()
}

/// `error` (of the `cat` underneath) as `op`'s.
fn as_op(op: &'static str, error: Error) -> Error {
    match error {
        Error::Shape { msg, .. } => Error::shape(op, msg),
        Error::DType { msg, .. } => Error::dtype(op, msg),
        Error::Index { msg, .. } => Error::index(op, msg),
        Error::Value { msg, .. } => Error::value(op, msg),
        other => other,
    }
}

/// torch's error for stacking no tensors (which `cat` would report as its own).
#[track_caller]
fn non_empty(op: &'static str, n: usize) {
    if n == 0 {
        raise(Error::value(
            op,
            format!("{op} expects a non-empty TensorList"),
        ));
    }
}

/// Checks shared by the splits: `x` is at least 1-d; returns the normalised dim.
#[track_caller]
fn split_dim(op: &'static str, x: &Tensor, dim: isize) -> usize {
    if x.dim() == 0 {
        raise(Error::shape(
            op,
            format!("{op} expects at least a 1-dimensional tensor"),
        ));
    }
    normalize_dim(op, dim, x.dim())
}

/// `x` cut along `dim` into pieces of `split_size` (the last may be smaller), as views
/// (`torch.split(x, split_size, dim)`).
///
/// # Panics
/// If `x` is 0-d, or `split_size` is 0 while the dim is not empty.
///
/// ```
/// # use cotangent::{Tensor, split};
/// let parts = split(&Tensor::arange(5), 2, 0);
/// let sizes: Vec<usize> = parts.iter().map(|p| p.numel()).collect();
/// assert_eq!(sizes, vec![2, 2, 1]);
/// ```
#[track_caller]
pub fn split(x: &Tensor, split_size: usize, dim: isize) -> Vec<Tensor> {
    let d = split_dim("split", x, dim);
    let n = x.shape()[d];
    if split_size == 0 && n > 0 {
        raise(Error::value(
            "split",
            format!(
                "split_size can only be 0 if dimension size is 0, but got dimension size of {n}"
            ),
        ));
    }
    let pieces = if split_size == 0 {
        1
    } else {
        n.div_ceil(split_size).max(1)
    };
    let sizes: Vec<usize> = (0..pieces)
        .map(|i| split_size.min(n - (i * split_size).min(n)))
        .collect();
    narrow_pieces(x, d, &sizes)
}

/// `x` cut along `dim` into pieces of the given sizes, as views (`torch.split_with_sizes`).
///
/// # Panics
/// If the sizes do not add up to the dim's size, with torch's message.
///
/// ```
/// # use cotangent::{Tensor, split_with_sizes};
/// let parts = split_with_sizes(&Tensor::zeros(&[2, 6]), &[1, 0, 5], 1);
/// assert_eq!(parts[2].shape(), &[2, 5]);
/// ```
#[track_caller]
pub fn split_with_sizes(x: &Tensor, split_sizes: &[usize], dim: isize) -> Vec<Tensor> {
    let d = split_dim("split_with_sizes", x, dim);
    let n = x.shape()[d];
    let total = split_sizes
        .iter()
        .try_fold(0usize, |total, &s| total.checked_add(s));
    if total != Some(n) {
        raise(Error::shape(
            "split_with_sizes",
            format!(
                "split_with_sizes expects split_sizes to sum exactly to {n} (input tensor's \
                     size at dimension {d}), but got split_sizes={split_sizes:?}"
            ),
        ));
    }
    narrow_pieces(x, d, split_sizes)
}

/// `x` cut along `dim` into `chunks` pieces of equal size `ceil(n / chunks)` (the last may be
/// smaller, and there may be fewer pieces), as views (`torch.chunk`).
///
/// # Panics
/// If `chunks` is 0 or `x` is 0-d, with torch's message.
///
/// ```
/// # use cotangent::{Tensor, chunk};
/// let sizes: Vec<usize> = chunk(&Tensor::arange(5), 3, 0).iter().map(|p| p.numel()).collect();
/// assert_eq!(sizes, vec![2, 2, 1]);
/// ```
#[track_caller]
pub fn chunk(x: &Tensor, chunks: usize, dim: isize) -> Vec<Tensor> {
    if chunks == 0 {
        raise(Error::value(
            "chunk",
            format!("chunk expects `chunks` to be greater than 0, got: {chunks}"),
        ));
    }
    let d = split_dim("chunk", x, dim);
    let n = x.shape()[d];
    if n == 0 {
        // torch: as many empty pieces as asked for (a count from the caller: allocated
        // fallibly).
        let mut pieces = try_with_capacity(chunks)
            .map_err(|e| e.error("chunk", &[chunks], x.dtype()))
            .or_raise();
        pieces.extend((0..chunks).map(|_| x.narrow(d as isize, 0, 0)));
        return pieces;
    }
    split(x, n.div_ceil(chunks), d as isize)
}

/// Consecutive views of `x` along `d` with the given sizes (which sum to its size).
fn narrow_pieces(x: &Tensor, d: usize, sizes: &[usize]) -> Vec<Tensor> {
    let mut start = 0;
    sizes
        .iter()
        .map(|&len| {
            let piece = x.narrow(d as isize, start as isize, len);
            start += len;
            piece
        })
        .collect()
}

/// `x` with the order of elements reversed along each of `dims` (`torch.flip`). Unlike torch
/// this copies through `index_select` (strides are non-negative here).
///
/// # Panics
/// If a dim is out of range or repeated.
///
/// ```
/// # use cotangent::{Tensor, flip};
/// let x = Tensor::new([[1i64, 2, 3], [4, 5, 6]]);
/// assert_eq!(flip(&x, &[1]).to_vec::<i64>(), vec![3, 2, 1, 6, 5, 4]);
/// assert_eq!(flip(&x, &[0, 1]).to_vec::<i64>(), vec![6, 5, 4, 3, 2, 1]);
/// ```
#[track_caller]
pub fn flip(x: &Tensor, dims: &[isize]) -> Tensor {
    let axes: Dims =
        crate::primitives::frontend::try_normalize_dims("flip", dims, x.dim()).or_raise();
    // A loop, not a fold: a closure would hide the caller's line from the errors below.
    let mut y = x.clone();
    for d in axes {
        let n = y.shape()[d];
        if n <= 1 {
            continue;
        }
        // `y` may be a broadcast view of any size: the index is allocated fallibly.
        let mut reversed = try_with_capacity(n)
            .map_err(|e| e.error("flip", y.shape(), DType::I64))
            .or_raise();
        reversed.extend((0..n as i64).rev());
        let index = Tensor::from_vec(reversed, &[n])
            .expect("length matches")
            .to(y.device());
        y = y.index_select(d as isize, &index);
    }
    y
}

/// `x` tiled `sizes[d]` times along each dim (`x.repeat(sizes)`); `sizes` may be longer than
/// `x`'s rank, which adds leading dims.
///
/// # Panics
/// If `sizes` is shorter than `x`'s rank, with torch's message.
///
/// ```
/// # use cotangent::{Tensor, repeat};
/// let x = Tensor::new([1i64, 2]);
/// assert_eq!(repeat(&x, &[2, 2]).to_vec::<i64>(), vec![1, 2, 1, 2, 1, 2, 1, 2]);
/// ```
#[track_caller]
pub fn repeat(x: &Tensor, sizes: &[usize]) -> Tensor {
    if sizes.len() < x.dim() {
        raise(Error::shape(
            "repeat",
            format!(
                "Number of dimensions of repeat dims can not be smaller than number of \
                     dimensions of tensor (got {} sizes for a {}-d tensor)",
                sizes.len(),
                x.dim()
            ),
        ));
    }
    let lead = sizes.len() - x.dim();
    let own: Vec<usize> = (0..sizes.len())
        .map(|i| if i < lead { 1 } else { x.shape()[i - lead] })
        .collect();
    // [1, s0, 1, s1, ...] broadcast to [r0, s0, r1, s1, ...], then merged pairwise.
    let spread: Vec<isize> = own.iter().flat_map(|&s| [1, s as isize]).collect();
    let target: Vec<usize> = sizes.iter().zip(&own).flat_map(|(&r, &s)| [r, s]).collect();
    let merged: Option<Vec<usize>> = sizes
        .iter()
        .zip(&own)
        .map(|(&r, &s)| r.checked_mul(s))
        .collect();
    let merged = match merged {
        Some(m) => m,
        // The message names the sizes of the result that do not fit.
        None => raise(Error::shape(
            "repeat",
            format!(
                "Storage size calculation overflowed: repeating shape {:?} by {sizes:?} gives \
                 sizes above 2^64",
                x.shape()
            ),
        )),
    };
    crate::array::layout::check_shape("repeat", &merged, x.dtype()).or_raise();
    let merged: Vec<isize> = merged.iter().map(|&m| m as isize).collect();
    x.reshape(&spread)
        .broadcast_to(&target)
        .try_reshape(&merged)
        .map_err(|e| alloc_named("repeat", e))
        .or_raise()
}

impl Tensor {
    /// Pieces of `split_size` along `dim`; see [`split`].
    ///
    /// ```
    /// # use cotangent::Tensor;
    /// let parts = Tensor::zeros(&[5, 2]).split(2, 0);
    /// assert_eq!(parts[2].shape(), &[1, 2]);
    /// ```
    #[track_caller]
    pub fn split(&self, split_size: usize, dim: isize) -> Vec<Tensor> {
        split(self, split_size, dim)
    }

    /// Pieces of the given sizes along `dim`; see [`split_with_sizes`].
    ///
    /// ```
    /// # use cotangent::Tensor;
    /// let parts = Tensor::arange(4).split_with_sizes(&[3, 1], 0);
    /// assert_eq!(parts[1].to_vec::<i64>(), vec![3]);
    /// ```
    #[track_caller]
    pub fn split_with_sizes(&self, split_sizes: &[usize], dim: isize) -> Vec<Tensor> {
        split_with_sizes(self, split_sizes, dim)
    }

    /// `chunks` near-equal pieces along `dim`; see [`chunk`].
    ///
    /// ```
    /// # use cotangent::Tensor;
    /// assert_eq!(Tensor::zeros(&[2, 6]).chunk(4, 1).len(), 3);
    /// ```
    #[track_caller]
    pub fn chunk(&self, chunks: usize, dim: isize) -> Vec<Tensor> {
        chunk(self, chunks, dim)
    }

    /// Reversed along `dims`; see [`flip`].
    ///
    /// ```
    /// # use cotangent::Tensor;
    /// assert_eq!(Tensor::arange(3).flip(&[0]).to_vec::<i64>(), vec![2, 1, 0]);
    /// ```
    #[track_caller]
    pub fn flip(&self, dims: &[isize]) -> Tensor {
        flip(self, dims)
    }

    /// Tiled `sizes[d]` times along each dim; see [`repeat`].
    ///
    /// ```
    /// # use cotangent::Tensor;
    /// assert_eq!(Tensor::new([[1i64], [2]]).repeat(&[1, 2]).to_vec::<i64>(), vec![1, 1, 2, 2]);
    /// ```
    #[track_caller]
    pub fn repeat(&self, sizes: &[usize]) -> Tensor {
        repeat(self, sizes)
    }
}

/// Reference stack along `axis`: `out[.., k, ..] = r[k][..]`.
fn reference_stack(r: &[RefArray], axis: usize) -> RefArray {
    let mut shape = r[0].shape.clone();
    shape.insert(axis, r.len());
    RefArray::from_fn(&shape, |p| {
        let mut q = p.to_vec();
        let k = q.remove(axis);
        r[k].get(&q)
    })
}

/// Reference: the pieces of a split along `axis` with `sizes`, joined back in reverse order
/// (so the test sees every piece and its order).
fn reference_split_reversed(r: &RefArray, axis: usize, sizes: &[usize]) -> RefArray {
    let starts: Vec<usize> = sizes
        .iter()
        .scan(0, |s, &n| {
            *s += n;
            Some(*s - n)
        })
        .collect();
    RefArray::from_fn(&r.shape, |p| {
        // Position p[axis] in the reversed concatenation.
        let mut at = p[axis];
        for k in (0..sizes.len()).rev() {
            if at < sizes[k] {
                let mut q = p.to_vec();
                q[axis] = starts[k] + at;
                return r.get(&q);
            }
            at -= sizes[k];
        }
        unreachable!("position within the dim")
    })
}

/// The pieces joined back in reverse order along `dim`.
fn rejoin_reversed(pieces: Vec<Tensor>, dim: isize) -> Tensor {
    let reversed: Vec<Tensor> = pieces.into_iter().rev().collect();
    cat(&reversed, dim)
}

fn split_samples(rng: &mut TestRng) -> Vec<Vec<Tensor>> {
    vec![
        vec![rng.tensor(&[7, 3], -1.0, 1.0)],
        vec![rng.tensor(&[4, 2], -1.0, 1.0)],
        vec![rng.tensor(&[1, 5], -1.0, 1.0)],
    ]
}

pub(crate) fn op_info() -> Vec<OpInfo> {
    vec![
        OpInfo::new(
            "stack",
            |a| stack(a, 1),
            |r| reference_stack(r, 1),
            |rng| {
                vec![
                    vec![
                        rng.tensor(&[2, 3], -1.0, 1.0),
                        rng.tensor(&[2, 3], -1.0, 1.0),
                    ],
                    vec![
                        rng.tensor(&[4], -1.0, 1.0),
                        rng.tensor(&[4], -1.0, 1.0),
                        rng.tensor(&[4], -1.0, 1.0),
                    ],
                    vec![
                        rng.tensor(&[0, 2], -1.0, 1.0),
                        rng.tensor(&[0, 2], -1.0, 1.0),
                    ],
                ]
            },
        ),
        OpInfo::new(
            "stack_0d",
            |a| stack(a, -1),
            |r| reference_stack(r, r[0].shape.len()),
            |rng| vec![vec![rng.tensor(&[], -1.0, 1.0), rng.tensor(&[], -1.0, 1.0)]],
        ),
        OpInfo::new(
            "split",
            |a| rejoin_reversed(a[0].split(3, 0), 0),
            |r| {
                let n = r[0].shape[0];
                let sizes: Vec<usize> = (0..n.div_ceil(3)).map(|i| 3.min(n - 3 * i)).collect();
                reference_split_reversed(&r[0], 0, &sizes)
            },
            split_samples,
        ),
        OpInfo::new(
            "split_with_sizes",
            |a| rejoin_reversed(a[0].split_with_sizes(&[2, 0, 1], -1), -1),
            |r| reference_split_reversed(&r[0], 1, &[2, 0, 1]),
            |rng| {
                vec![
                    vec![rng.tensor(&[2, 3], -1.0, 1.0)],
                    vec![rng.tensor(&[0, 3], -1.0, 1.0)],
                ]
            },
        ),
        OpInfo::new(
            "chunk",
            |a| rejoin_reversed(a[0].chunk(3, 1), 1),
            |r| {
                let n = r[0].shape[1];
                let c = n.div_ceil(3);
                let sizes: Vec<usize> = (0..n.div_ceil(c)).map(|i| c.min(n - c * i)).collect();
                reference_split_reversed(&r[0], 1, &sizes)
            },
            |rng| {
                vec![
                    vec![rng.tensor(&[2, 7], -1.0, 1.0)],
                    vec![rng.tensor(&[3, 4], -1.0, 1.0)],
                    vec![rng.tensor(&[2, 2], -1.0, 1.0)],
                ]
            },
        ),
        OpInfo::new(
            "hstack",
            |a| hstack(a),
            |r| {
                let (a, b) = (&r[0], &r[1]);
                let shape = [a.shape[0], a.shape[1] + b.shape[1]];
                RefArray::from_fn(&shape, |p| {
                    if p[1] < a.shape[1] {
                        a.get(p)
                    } else {
                        b.get(&[p[0], p[1] - a.shape[1]])
                    }
                })
            },
            |rng| {
                vec![vec![
                    rng.tensor(&[2, 3], -1.0, 1.0),
                    rng.tensor(&[2, 1], -1.0, 1.0),
                ]]
            },
        ),
        OpInfo::new(
            "vstack",
            |a| vstack(a),
            |r| {
                let (a, b) = (&r[0], &r[1]);
                RefArray::from_fn(&[2, a.shape[0]], |p| {
                    if p[0] == 0 {
                        a.get(&p[1..])
                    } else {
                        b.get(&p[1..])
                    }
                })
            },
            |rng| {
                vec![vec![
                    rng.tensor(&[4], -1.0, 1.0),
                    rng.tensor(&[4], -1.0, 1.0),
                ]]
            },
        ),
        OpInfo::new(
            "flip",
            |a| a[0].flip(&[0, -1]),
            |r| {
                let s = &r[0].shape;
                let last = s.len() - 1;
                RefArray::from_fn(s, |p| {
                    let mut q = p.to_vec();
                    q[0] = s[0] - 1 - p[0];
                    q[last] = s[last] - 1 - p[last];
                    r[0].get(&q)
                })
            },
            |rng| {
                vec![
                    vec![rng.tensor(&[3, 4], -1.0, 1.0)],
                    vec![rng.tensor(&[2, 3, 2], -1.0, 1.0)],
                    vec![rng.tensor(&[0, 3], -1.0, 1.0)],
                ]
            },
        ),
        OpInfo::new(
            "repeat",
            |a| a[0].repeat(&[2, 1, 3]),
            |r| {
                let s = &r[0].shape;
                let own: Vec<usize> = (0..3)
                    .map(|i| {
                        if i + s.len() < 3 {
                            1
                        } else {
                            s[i + s.len() - 3]
                        }
                    })
                    .collect();
                let shape: Vec<usize> = own.iter().zip([2, 1, 3]).map(|(&n, k)| n * k).collect();
                RefArray::from_fn(&shape, |p| {
                    let q: Vec<usize> = (3 - s.len()..3).map(|i| p[i] % own[i]).collect();
                    r[0].get(&q)
                })
            },
            |rng| {
                vec![
                    vec![rng.tensor(&[2, 3], -1.0, 1.0)],
                    vec![rng.tensor(&[2, 1, 2], -1.0, 1.0)],
                    vec![rng.tensor(&[], -1.0, 1.0)],
                    vec![rng.tensor(&[0, 2], -1.0, 1.0)],
                ]
            },
        ),
    ]
}
