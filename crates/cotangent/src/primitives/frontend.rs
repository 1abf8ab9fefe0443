//! What the public ops do before a primitive sees its inputs: negative dims, broadcasting and
//! dtype promotion, with torch's rules and torch's error messages.

use crate::array::{DType, Dims};
use crate::error::{Error, OrRaise, Result};
use crate::trace::Tensor;

/// `d` as a non-negative dim of a rank-`rank` tensor (`-1` is the last dim). A 0-d tensor
/// accepts `0` and `-1`, as in torch.
pub fn try_normalize_dim(op: &'static str, d: isize, rank: usize) -> Result<usize> {
    let r = rank.max(1) as isize;
    if d < -r || d >= r {
        return Err(Error::index(
            op,
            format!(
                "Dimension out of range (expected to be in range of [{}, {}], but got {d})",
                -r,
                r - 1
            ),
        ));
    }
    Ok(if d < 0 { (d + r) as usize } else { d as usize })
}

/// [`try_normalize_dim`], panicking with its message.
#[track_caller]
pub fn normalize_dim(op: &'static str, d: isize, rank: usize) -> usize {
    try_normalize_dim(op, d, rank).or_raise()
}

/// A list of dims, normalised, sorted and checked for repeats (torch: "dim 1 appears
/// multiple times in the list of dims").
pub fn try_normalize_dims(op: &'static str, dims: &[isize], rank: usize) -> Result<Dims> {
    let mut out = Dims::new();
    for &d in dims {
        let n = try_normalize_dim(op, d, rank)?;
        if out.contains(&n) {
            return Err(Error::shape(
                op,
                format!("dim {n} appears multiple times in the list of dims"),
            ));
        }
        out.push(n);
    }
    if rank == 0 {
        out.clear();
    }
    out.sort_unstable();
    Ok(out)
}

/// The broadcast shape of `a` and `b` by numpy/torch rules.
pub fn try_broadcast_shapes(op: &'static str, a: &[usize], b: &[usize]) -> Result<Dims> {
    let rank = a.len().max(b.len());
    let mut out: Dims = smallvec::smallvec![0; rank];
    for i in 0..rank {
        let da = if i < rank - a.len() {
            1
        } else {
            a[i - (rank - a.len())]
        };
        let db = if i < rank - b.len() {
            1
        } else {
            b[i - (rank - b.len())]
        };
        out[i] = if da == db || db == 1 {
            da
        } else if da == 1 {
            db
        } else {
            return Err(Error::shape(
                op,
                format!(
                    "The size of tensor a ({da}) must match the size of tensor b ({db}) at \
                     non-singleton dimension {i}; shapes {a:?} and {b:?} cannot be broadcast"
                ),
            ));
        };
    }
    Ok(out)
}

/// `x` broadcast to `shape` as a view (numpy rules: leading dims are added, size-1 dims are
/// expanded), or an error naming `op`.
pub fn try_broadcast_to(op: &'static str, x: &Tensor, shape: &[usize]) -> Result<Tensor> {
    if x.shape() == shape {
        return Ok(x.clone());
    }
    // A view costs nothing, but its size must be representable like any tensor's.
    crate::array::layout::check_shape(op, shape, x.dtype())?;
    let (rank, xr) = (shape.len(), x.dim());
    if xr > rank {
        return Err(Error::shape(
            op,
            format!(
                "the number of sizes provided ({rank}) must be greater or equal to the number \
                 of dimensions in the tensor ({xr}): cannot broadcast shape {:?} to {shape:?}",
                x.shape()
            ),
        ));
    }
    // The first dim (counting in the target shape) where the sizes differ and the tensor's is
    // not 1: torch names it and both sizes.
    if let Some(i) = (0..xr).find(|&i| x.shape()[i] != 1 && x.shape()[i] != shape[rank - xr + i]) {
        return Err(Error::shape(
            op,
            format!(
                "The expanded size of the tensor ({}) must match the existing size ({}) at \
                 non-singleton dimension {}.  Target sizes: {shape:?}.  Tensor sizes: {:?}",
                shape[rank - xr + i],
                x.shape()[i],
                rank - xr + i,
                x.shape()
            ),
        ));
    }
    let dims: Vec<usize> = (rank - xr..rank).collect();
    Ok(super::broadcast_in_dim::broadcast_in_dim(x, shape, &dims))
}

/// The dtype torch computes for a binary op on two tensors (0-d tensors have lower priority).
pub fn result_type(a: &Tensor, b: &Tensor) -> DType {
    DType::result_type(a.dtype(), a.dim() == 0, b.dtype(), b.dim() == 0)
}

/// `a` and `b` promoted to their common dtype (or `force` if given) and broadcast to their
/// common shape: the canonical inputs of a binary primitive.
#[track_caller]
pub fn binary_operands(
    op: &'static str,
    a: &Tensor,
    b: &Tensor,
    force: Option<DType>,
) -> (Tensor, Tensor) {
    crate::trace::check_live(op, &[a, b]).or_raise();
    let dtype = force.unwrap_or_else(|| result_type(a, b));
    let shape = try_broadcast_shapes(op, a.shape(), b.shape()).or_raise();
    (
        promote_and_broadcast(op, &beside(a, &[b]), dtype, &shape),
        promote_and_broadcast(op, &beside(b, &[a]), dtype, &shape),
    )
}

/// `x`, moved to the device of the first of `others` that is not on the CPU if `x` is a
/// 0-d CPU tensor (torch: a 0-d CPU tensor combines with tensors of any device). Done
/// before broadcasting, so the rules downstream see one device (the move itself is cheap:
/// constants are cached on the device).
#[track_caller]
pub(crate) fn beside(x: &Tensor, others: &[&Tensor]) -> Tensor {
    if x.dim() == 0
        && x.device() == crate::Device::Cpu
        && let Some(d) = others
            .iter()
            .map(|o| o.device())
            .find(|d| *d != crate::Device::Cpu)
    {
        return x.to(d);
    }
    x.clone()
}

/// `x` converted to `dtype` and broadcast to `shape` (a function, not a closure, so that
/// `#[track_caller]` reaches the user's line).
#[track_caller]
pub(crate) fn promote_and_broadcast(
    op: &'static str,
    x: &Tensor,
    dtype: DType,
    shape: &[usize],
) -> Tensor {
    let x = if x.dtype() == dtype {
        x.clone()
    } else {
        x.to_dtype(dtype)
    };
    try_broadcast_to(op, &x, shape).or_raise()
}

/// The dims a reduction over `dims` covers (`None`: all dims), normalised and sorted.
#[track_caller]
pub fn reduction_axes(op: &'static str, x: &Tensor, dims: Option<&[isize]>) -> Dims {
    match dims {
        None => (0..x.dim()).collect(),
        Some(d) => try_normalize_dims(op, d, x.dim()).or_raise(),
    }
}

/// The shape a reduction over `axes` leaves with `keepdim` (reduced dims become 1).
pub fn keepdim_shape(shape: &[usize], axes: &[usize]) -> Dims {
    shape
        .iter()
        .enumerate()
        .map(|(d, &n)| if axes.contains(&d) { 1 } else { n })
        .collect()
}
