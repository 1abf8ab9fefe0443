//! Walking several equally-shaped strided views in lockstep, one innermost run at a time.
//!
//! Every CPU kernel that accepts non-contiguous input goes through [`Walk`]: it coalesces
//! dims that are contiguous in *all* operands (so a transposed-but-dense pair of operands or
//! a broadcast row still gets long runs), and it can start at any row-major position, which
//! is what lets kernels split the work across threads.

use std::ops::Range;

use crate::array::{Dims, Layout};

/// `N` strided operands of one shape, with dims merged wherever all operands allow it.
#[derive(Clone, Debug)]
pub(crate) struct Walk<const N: usize> {
    shape: Dims,
    strides: [Dims; N],
    offsets: [usize; N],
}

impl<const N: usize> Walk<N> {
    /// A walk over `layouts`, which must all have the same shape.
    pub(crate) fn new(layouts: [&Layout; N]) -> Self {
        let shape = layouts[0].shape();
        debug_assert!(layouts.iter().all(|l| l.shape() == shape));
        let mut out_shape = Dims::new();
        let mut strides: [Dims; N] = std::array::from_fn(|_| Dims::new());
        for d in 0..shape.len() {
            if shape[d] == 1 {
                continue;
            }
            // Merge with the previous kept dim when every operand is contiguous across both.
            if !out_shape.is_empty() {
                let mergeable = (0..N)
                    .all(|k| *strides[k].last().unwrap() == layouts[k].strides()[d] * shape[d]);
                if mergeable {
                    *out_shape.last_mut().unwrap() *= shape[d];
                    for (k, s) in strides.iter_mut().enumerate() {
                        *s.last_mut().unwrap() = layouts[k].strides()[d];
                    }
                    continue;
                }
            }
            out_shape.push(shape[d]);
            for (k, s) in strides.iter_mut().enumerate() {
                s.push(layouts[k].strides()[d]);
            }
        }
        let offsets = std::array::from_fn(|k| layouts[k].offset());
        Walk {
            shape: out_shape,
            strides,
            offsets,
        }
    }

    /// The coalesced shape.
    pub(crate) fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// The coalesced strides of operand `k`.
    pub(crate) fn strides(&self, k: usize) -> &[usize] {
        &self.strides[k]
    }

    /// The starting offset of operand `k`.
    pub(crate) fn offset(&self, k: usize) -> usize {
        self.offsets[k]
    }

    /// Total number of elements.
    pub(crate) fn numel(&self) -> usize {
        self.shape.iter().product()
    }

    /// Calls `f(starts, strides, len)` for each innermost run covering the row-major element
    /// positions in `range`, in order.
    pub(crate) fn for_each_run(
        &self,
        range: Range<usize>,
        mut f: impl FnMut([usize; N], [usize; N], usize),
    ) {
        if range.is_empty() {
            return;
        }
        let rank = self.shape.len();
        if rank == 0 {
            f(self.offsets, [1; N], 1);
            return;
        }
        let inner = self.shape[rank - 1];
        let inner_strides: [usize; N] = std::array::from_fn(|k| self.strides[k][rank - 1]);
        // Multi-index of range.start, and the operands' positions there.
        let mut index: Dims = smallvec::smallvec![0; rank];
        let mut rest = range.start;
        for d in (0..rank).rev() {
            index[d] = rest % self.shape[d];
            rest /= self.shape[d];
        }
        let mut pos: [usize; N] = std::array::from_fn(|k| {
            self.offsets[k]
                + (0..rank)
                    .map(|d| index[d] * self.strides[k][d])
                    .sum::<usize>()
        });
        let mut done = range.start;
        while done < range.end {
            let len = (inner - index[rank - 1]).min(range.end - done);
            f(pos, inner_strides, len);
            done += len;
            index[rank - 1] += len;
            for k in 0..N {
                pos[k] += len * inner_strides[k];
            }
            // Carry into the outer dims like an odometer.
            let mut d = rank - 1;
            while index[d] == self.shape[d] && d > 0 {
                for k in 0..N {
                    pos[k] -= self.shape[d] * self.strides[k][d];
                    pos[k] += self.strides[k][d - 1];
                }
                index[d] = 0;
                index[d - 1] += 1;
                d -= 1;
            }
        }
    }
}

/// Chunk length for splitting `n` elements of work across the thread pool, or `None` when
/// the work is too small to be worth a fork (`min_per_thread` elements per thread at least).
pub(crate) fn parallel_chunk(n: usize, min_per_thread: usize) -> Option<usize> {
    let threads = rayon::current_num_threads();
    if threads < 2 || n < 2 * min_per_thread {
        return None;
    }
    let chunks = (threads * 4).min(n / min_per_thread).max(2);
    Some(n.div_ceil(chunks))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect<const N: usize>(w: &Walk<N>, range: Range<usize>) -> Vec<[usize; N]> {
        let mut out = Vec::new();
        w.for_each_run(range, |starts, strides, len| {
            for i in 0..len {
                out.push(std::array::from_fn(|k| starts[k] + i * strides[k]));
            }
        });
        out
    }

    #[test]
    fn walk_matches_offsets_for_any_range() {
        let a = Layout::contiguous(&[3, 4, 5]).permute(&[2, 0, 1]);
        let b = Layout::contiguous(&[5, 3, 4]);
        let w = Walk::new([&a, &b]);
        let all = collect(&w, 0..60);
        let expected: Vec<[usize; 2]> = a
            .offsets()
            .into_iter()
            .zip(b.offsets())
            .map(|(x, y)| [x, y])
            .collect();
        assert_eq!(all, expected);
        for (lo, hi) in [(0, 7), (7, 23), (23, 60), (59, 60), (13, 13)] {
            assert_eq!(collect(&w, lo..hi), expected[lo..hi].to_vec());
        }
    }

    #[test]
    fn contiguous_operands_coalesce_to_one_run() {
        let a = Layout::contiguous(&[2, 3, 4]);
        let w = Walk::new([&a, &a]);
        assert_eq!(w.shape.as_slice(), &[24]);
    }
}
