//! Layout: shape, strides and offset of a strided view over a flat buffer.
//!
//! Every view operation (permute, broadcast, slice, reshape of compatible strides) is a pure
//! function on layouts and costs O(rank); no data moves.

use smallvec::SmallVec;

use super::DType;
use crate::error::Error;

/// Inline storage for shapes and strides; tensors of rank > 6 spill to the heap.
pub type Dims = SmallVec<[usize; 6]>;

/// Row-major ("C-contiguous") strides for `shape`.
pub fn contiguous_strides(shape: &[usize]) -> Dims {
    let mut strides: Dims = smallvec::smallvec![0; shape.len()];
    let mut acc = 1usize;
    for (s, &d) in strides.iter_mut().zip(shape).rev() {
        *s = acc;
        acc *= d.max(1);
    }
    strides
}

/// Number of elements of a shape (1 for a 0-d shape).
pub fn numel(shape: &[usize]) -> usize {
    shape.iter().product()
}

/// The number of elements of `shape`, or `None` if it overflows `usize`. A shape with a zero
/// dim has no elements whatever its other dims.
pub fn checked_numel(shape: &[usize]) -> Option<usize> {
    if shape.contains(&0) {
        return Some(0);
    }
    shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d))
}

/// The number of elements of `shape` if a row-major buffer of it is representable: its
/// strides (the products of the dims, zero dims counted as 1) fit `usize` and it takes at most
/// `isize::MAX` bytes at `elem_size` bytes an element (Rust's limit for one allocation, and
/// what keeps every buffer index and byte offset of a kernel from wrapping). `None` otherwise.
#[inline]
pub fn checked_size(shape: &[usize], elem_size: usize) -> Option<usize> {
    let (mut span, mut empty) = (1usize, false);
    for &d in shape {
        empty |= d == 0;
        span = span.checked_mul(d.max(1))?;
    }
    if span.checked_mul(elem_size.max(1))? > isize::MAX as usize {
        return None;
    }
    Some(if empty { 0 } else { span })
}

/// The number of elements of a `dtype` tensor of `shape`, or the error that names `op` and
/// the shape when its size is not representable (see [`checked_size`]); torch's wording.
/// Every op's output goes through this, so the check is inline and the message out of line.
#[inline]
pub(crate) fn check_shape(op: &'static str, shape: &[usize], dtype: DType) -> Result<usize, Error> {
    match checked_size(shape, dtype.size_of()) {
        Some(n) => Ok(n),
        None => Err(overflow_error(op, shape, dtype)),
    }
}

#[cold]
#[inline(never)]
fn overflow_error(op: &'static str, shape: &[usize], dtype: DType) -> Error {
    let msg = match checked_numel(shape) {
        None => format!("Storage size calculation overflowed with sizes={shape:?}"),
        Some(0) => format!(
            "Stride calculation overflowed with sizes={shape:?}: the product of the nonzero \
             sizes does not fit in 64 bits"
        ),
        Some(n) => format!(
            "Storage size calculation overflowed with sizes={shape:?}: {n} elements of {dtype} \
             take more than {} bytes, the most one tensor can hold",
            isize::MAX
        ),
    };
    Error::shape(op, msg)
}

/// Where each element of an n-d view lives in its buffer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    shape: Dims,
    strides: Dims,
    offset: usize,
}

impl Layout {
    /// A row-major layout starting at offset 0.
    pub fn contiguous(shape: &[usize]) -> Layout {
        Layout {
            shape: shape.into(),
            strides: contiguous_strides(shape),
            offset: 0,
        }
    }

    /// A layout from its parts; the caller guarantees it fits its buffer.
    pub fn from_parts(shape: Dims, strides: Dims, offset: usize) -> Layout {
        debug_assert_eq!(shape.len(), strides.len());
        Layout {
            shape,
            strides,
            offset,
        }
    }

    /// The shape.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// Strides in elements.
    pub fn strides(&self) -> &[usize] {
        &self.strides
    }

    /// Offset of element `[0, 0, ...]` in the buffer.
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// Number of dimensions.
    pub fn rank(&self) -> usize {
        self.shape.len()
    }

    /// Number of elements.
    pub fn numel(&self) -> usize {
        numel(&self.shape)
    }

    /// Row-major contiguous (size-1 dims may have any stride).
    pub fn is_contiguous(&self) -> bool {
        // Same rule as `contiguous_strides` (zero-size dims count as 1), so every layout it
        // builds is contiguous.
        let mut expected = 1usize;
        for (&d, &s) in self.shape.iter().zip(&self.strides).rev() {
            if d != 1 && s != expected {
                return false;
            }
            expected *= d.max(1);
        }
        true
    }

    /// One past the largest buffer index this view touches (0 for an empty view).
    pub fn max_extent(&self) -> usize {
        if self.numel() == 0 {
            return 0;
        }
        self.offset
            + self
                .shape
                .iter()
                .zip(&self.strides)
                .map(|(&d, &s)| (d - 1) * s)
                .sum::<usize>()
            + 1
    }

    /// Reorder dimensions: output dim `i` is input dim `perm[i]`.
    pub fn permute(&self, perm: &[usize]) -> Layout {
        Layout {
            shape: perm.iter().map(|&p| self.shape[p]).collect(),
            strides: perm.iter().map(|&p| self.strides[p]).collect(),
            offset: self.offset,
        }
    }

    /// Broadcast into `shape`: input dim `i` becomes output dim `dims[i]` (XLA's
    /// broadcast_in_dim). Size-1 input dims and new dims get stride 0.
    pub fn broadcast_in_dim(&self, shape: &[usize], dims: &[usize]) -> Layout {
        let mut strides: Dims = smallvec::smallvec![0; shape.len()];
        for (i, &d) in dims.iter().enumerate() {
            if self.shape[i] == shape[d] && self.shape[i] != 1 {
                strides[d] = self.strides[i];
            }
        }
        Layout {
            shape: shape.into(),
            strides,
            offset: self.offset,
        }
    }

    /// `start..limit` with `step` along every dim (lengths already validated).
    pub fn slice(&self, start: &[usize], limit: &[usize], step: &[usize]) -> Layout {
        let mut offset = self.offset;
        let mut shape = Dims::new();
        let mut strides = Dims::new();
        for d in 0..self.rank() {
            let len = limit[d].saturating_sub(start[d]).div_ceil(step[d]);
            if len > 0 {
                offset += start[d] * self.strides[d];
            }
            shape.push(len);
            // With one element or none the stride is never used, and `step` may be huge.
            strides.push(if len > 1 {
                self.strides[d] * step[d]
            } else {
                self.strides[d]
            });
        }
        Layout {
            shape,
            strides,
            offset,
        }
    }

    /// A view with `new_shape` over the same elements, if the strides allow it without a copy
    /// (torch's `computeStride`): each run of merged input dims must be contiguous in itself.
    pub fn reshape(&self, new_shape: &[usize]) -> Option<Layout> {
        debug_assert_eq!(numel(new_shape), self.numel());
        if self.is_contiguous() {
            return Some(Layout {
                shape: new_shape.into(),
                strides: contiguous_strides(new_shape),
                offset: self.offset,
            });
        }
        if self.numel() == 0 {
            return Some(Layout::from_parts(
                new_shape.into(),
                contiguous_strides(new_shape),
                self.offset,
            ));
        }
        // torch's computeStride: walk the old dims from the back in chunks whose elements are
        // evenly strided, and give the new dims covering the same elements matching strides.
        let (old_shape, old_strides) = (&self.shape, &self.strides);
        let mut new_strides: Dims = smallvec::smallvec![0; new_shape.len()];
        let mut view_d = new_shape.len() as isize - 1;
        let mut chunk_base_stride = *old_strides.last().expect("rank > 0: 0-d is contiguous");
        let mut tensor_numel = 1usize;
        let mut view_numel = 1usize;
        for tensor_d in (0..old_shape.len()).rev() {
            tensor_numel *= old_shape[tensor_d];
            let at_chunk_end = tensor_d == 0
                || old_shape[tensor_d - 1] != 1
                    && old_strides[tensor_d - 1] != tensor_numel * chunk_base_stride;
            if at_chunk_end {
                while view_d >= 0 && (view_numel < tensor_numel || new_shape[view_d as usize] == 1)
                {
                    new_strides[view_d as usize] = view_numel * chunk_base_stride;
                    view_numel *= new_shape[view_d as usize];
                    view_d -= 1;
                }
                if view_numel != tensor_numel {
                    return None;
                }
                if tensor_d > 0 {
                    chunk_base_stride = old_strides[tensor_d - 1];
                    tensor_numel = 1;
                    view_numel = 1;
                }
            }
        }
        if view_d != -1 {
            return None;
        }
        Some(Layout {
            shape: new_shape.into(),
            strides: new_strides,
            offset: self.offset,
        })
    }

    /// Buffer index of every element in row-major order, one contiguous inner run at a time:
    /// calls `f(start, stride, len)` for each run of the innermost dim.
    pub fn for_each_run(&self, mut f: impl FnMut(usize, usize, usize)) {
        let n = self.numel();
        if n == 0 {
            return;
        }
        let rank = self.rank();
        if rank == 0 {
            f(self.offset, 1, 1);
            return;
        }
        let inner = self.shape[rank - 1];
        let inner_stride = self.strides[rank - 1];
        let outer_rank = rank - 1;
        let mut index: Dims = smallvec::smallvec![0; outer_rank];
        let mut pos = self.offset;
        loop {
            f(pos, inner_stride, inner);
            // Advance the outer multi-index like an odometer.
            let mut d = outer_rank;
            loop {
                if d == 0 {
                    return;
                }
                d -= 1;
                index[d] += 1;
                pos += self.strides[d];
                if index[d] < self.shape[d] {
                    break;
                }
                pos -= self.strides[d] * self.shape[d];
                index[d] = 0;
            }
        }
    }

    /// Buffer offsets of every element, row-major. For tests and slow paths.
    pub fn offsets(&self) -> Vec<usize> {
        let mut out = Vec::with_capacity(self.numel());
        self.for_each_run(|start, stride, len| out.extend((0..len).map(|i| start + i * stride)));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reshape_of_transposed_needs_copy() {
        let l = Layout::contiguous(&[2, 3]).permute(&[1, 0]);
        assert!(l.reshape(&[6]).is_none());
        assert_eq!(l.reshape(&[3, 2, 1]).unwrap().offsets(), l.offsets());
        assert_eq!(l.reshape(&[3, 1, 2]).unwrap().offsets(), l.offsets());
    }

    #[test]
    fn reshape_merges_contiguous_chunks() {
        // [4, 3, 2] sliced to [4, 3, 1]... take a permuted view whose last two dims are contiguous.
        let l = Layout::contiguous(&[2, 3, 4]).permute(&[2, 0, 1]); // shape [4,2,3] strides [1,12,4]
        let r = l.reshape(&[4, 6]).unwrap();
        assert_eq!(r.offsets(), l.offsets());
        assert!(l.reshape(&[8, 3]).is_none());
    }

    #[test]
    fn runs_cover_all_offsets() {
        let l = Layout::contiguous(&[3, 4]).slice(&[1, 0], &[3, 4], &[1, 2]);
        assert_eq!(l.offsets(), vec![4, 6, 8, 10]);
        let b = Layout::contiguous(&[3]).broadcast_in_dim(&[2, 3], &[1]);
        assert_eq!(b.offsets(), vec![0, 1, 2, 0, 1, 2]);
    }
}
