//! Indexing kernels: gather (behind torch's `gather`, `index_select`, `take_along_dim`) and
//! scatter_add.
//!
//! Both take an `i64` index operand whose values pick positions along one axis of the data.
//! Every index is checked against that axis before any data moves, so a bad index is an
//! [`IndexOutOfBounds`] error, never a read or write at a wrong position. The index operand
//! may be any strided view, including a broadcast one (stride 0): `index_select` gathers
//! with its 1-d index broadcast over the other dims, and the check reads each stored index
//! once.

use std::ops::{Add, Range};

use rayon::prelude::*;

use super::elementwise::fill_parallel;
use super::strided::{Walk, parallel_chunk};
use crate::array::backend::IndexOutOfBounds;
use crate::array::layout::contiguous_strides;
use crate::array::storage::{StorageElement, alloc_uninit};
use crate::array::{Array, Dims, Layout};

/// Elements per thread below which indexing kernels stay single-threaded.
const MIN_PER_THREAD: usize = 1 << 15;

/// Copy the elements of `walk` at row-major positions `range` into `dst` (of that length).
pub(crate) fn copy_range<T: Copy>(dst: &mut [T], src: &[T], walk: &Walk<1>, range: Range<usize>) {
    let mut o = 0;
    walk.for_each_run(range, |[s], [ds], len| {
        let d = &mut dst[o..o + len];
        if ds == 1 {
            d.copy_from_slice(&src[s..s + len]);
        } else {
            for (i, v) in d.iter_mut().enumerate() {
                *v = src[s + i * ds];
            }
        }
        o += len;
    });
}

/// The elements of `x` in row-major order, as a fresh vector.
pub(crate) fn to_contiguous_vec<T: StorageElement>(x: &Array) -> Vec<T> {
    let src = x.buffer::<T>();
    let walk = Walk::new([x.layout()]);
    let n = x.numel();
    let mut out = alloc_uninit::<T>(n);
    match parallel_chunk(n, MIN_PER_THREAD) {
        Some(chunk) => out.par_chunks_mut(chunk).enumerate().for_each(|(i, dst)| {
            copy_range(dst, src, &walk, i * chunk..i * chunk + dst.len());
        }),
        None => copy_range(&mut out, src, &walk, 0..n),
    }
    out
}

/// The first index (row-major) of the `i64` array `index` outside `0..size`, as an error for
/// dimension `axis`. Broadcast dims (stride 0) are visited once.
pub(crate) fn check_indices(
    index: &Array,
    axis: usize,
    size: usize,
) -> Result<(), IndexOutOfBounds> {
    let l = index.layout();
    let shape: Dims = l
        .shape()
        .iter()
        .zip(l.strides())
        .map(|(&n, &s)| if s == 0 && n > 0 { 1 } else { n })
        .collect();
    let stored = Layout::from_parts(shape, l.strides().into(), l.offset());
    let idx = index.buffer::<i64>();
    let walk = Walk::new([&stored]);
    let n = walk.numel();
    let first_bad = |range: Range<usize>| {
        let mut bad = None;
        walk.for_each_run(range, |[s], [ds], len| {
            if bad.is_none() {
                bad = (0..len)
                    .map(|i| idx[s + i * ds])
                    .find(|&v| v < 0 || v as usize >= size);
            }
        });
        bad
    };
    let bad = match parallel_chunk(n, 4 * MIN_PER_THREAD) {
        Some(chunk) => (0..n.div_ceil(chunk))
            .into_par_iter()
            .find_map_first(|c| first_bad(c * chunk..((c + 1) * chunk).min(n))),
        None => first_bad(0..n),
    };
    match bad {
        Some(index) => Err(IndexOutOfBounds {
            index,
            dim: axis,
            size,
        }),
        None => Ok(()),
    }
}

/// `out[p] = x[p with p[axis] replaced by index[p]]` over the positions `p` of `index`'s
/// shape, which has `x`'s rank and fits inside `x` except along `axis` (torch.gather).
pub(crate) fn gather<T: StorageElement>(
    x: &Array,
    axis: usize,
    index: &Array,
) -> Result<Array, IndexOutOfBounds> {
    check_indices(index, axis, x.shape()[axis])?;
    let shape = index.shape();
    // x restricted to index's shape, not moving along `axis`: the index adds that offset.
    let mut strides: Dims = x.layout().strides().into();
    let axis_stride = std::mem::replace(&mut strides[axis], 0);
    let x_view = Layout::from_parts(shape.into(), strides, x.layout().offset());
    let walk = Walk::new([&x_view, index.layout()]);
    let (src, idx) = (x.buffer::<T>(), index.buffer::<i64>());
    Ok(fill_parallel(shape, |range, dst: &mut [T]| {
        let mut o = 0;
        walk.for_each_run(range, |[xs, is], [dx, di], len| {
            let dst = &mut dst[o..o + len];
            if di == 0 {
                // One index for the whole run (index_select's broadcast index): a row copy.
                let base = xs + idx[is] as usize * axis_stride;
                if dx == 1 {
                    dst.copy_from_slice(&src[base..base + len]);
                } else {
                    for (i, d) in dst.iter_mut().enumerate() {
                        *d = src[base + i * dx];
                    }
                }
            } else {
                for (i, d) in dst.iter_mut().enumerate() {
                    *d = src[xs + i * dx + idx[is + i * di] as usize * axis_stride];
                }
            }
            o += len;
        });
    }))
}

/// A copy of `x` with `src[p]` added at `p with p[axis] replaced by index[p]`, for every
/// position `p` of `index`'s shape (torch.scatter_add). `index` fits inside `src`, and inside
/// `x` except along `axis`.
pub(crate) fn scatter_add<T: StorageElement + Add<Output = T>>(
    x: &Array,
    axis: usize,
    index: &Array,
    src: &Array,
) -> Result<Array, IndexOutOfBounds> {
    check_indices(index, axis, x.shape()[axis])?;
    let mut out = to_contiguous_vec::<T>(x);
    let shape = index.shape();
    if index.numel() > 0 {
        let mut out_strides = contiguous_strides(x.shape());
        let axis_stride = std::mem::replace(&mut out_strides[axis], 0);
        let row_stride = contiguous_strides(x.shape())[0];
        let out_view = Layout::from_parts(shape.into(), out_strides, 0);
        let src_view = Layout::from_parts(
            shape.into(),
            src.layout().strides().into(),
            src.layout().offset(),
        );
        let walk = Walk::new([&out_view, index.layout(), &src_view]);
        let (idx, sv) = (index.buffer::<i64>(), src.buffer::<T>());
        let idx_row: usize = shape[1..].iter().product();
        // Adds the index rows `rows` (along dim 0) into `dst`, which starts at out[base].
        let scatter_rows = |rows: Range<usize>, dst: &mut [T], base: usize| {
            walk.for_each_run(
                rows.start * idx_row..rows.end * idx_row,
                |[o, i, s], [od, id, sd], len| {
                    for k in 0..len {
                        let pos = o + k * od + idx[i + k * id] as usize * axis_stride - base;
                        dst[pos] = super::accumulate(dst[pos], sv[s + k * sd]);
                    }
                },
            );
        };
        // Rows along dim 0 write disjoint rows of the output unless dim 0 is the scatter axis.
        match parallel_chunk(index.numel(), MIN_PER_THREAD) {
            Some(chunk) if axis != 0 && shape[0] > 1 => {
                let rows_per = chunk.div_ceil(idx_row.max(1)).max(1);
                out.par_chunks_mut(rows_per * row_stride)
                    .enumerate()
                    .for_each(|(c, dst)| {
                        let r0 = c * rows_per;
                        let r1 = (r0 + rows_per).min(shape[0]);
                        if r0 < r1 {
                            scatter_rows(r0..r1, dst, r0 * row_stride);
                        }
                    });
            }
            _ => scatter_rows(0..shape[0], &mut out, 0),
        }
    }
    Ok(Array::from_parts(
        T::wrap(out),
        Layout::contiguous(x.shape()),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn array(shape: &[usize], f: impl Fn(usize) -> f64) -> Array {
        let n = shape.iter().product();
        Array::from_vec((0..n).map(f).collect::<Vec<f64>>(), shape).unwrap()
    }

    fn indices(shape: &[usize], n: usize) -> Array {
        let len: usize = shape.iter().product();
        let v: Vec<i64> = (0..len).map(|k| ((k * 7919 + 13) % n) as i64).collect();
        Array::from_vec(v, shape).unwrap()
    }

    #[test]
    fn large_gather_matches_loops_on_a_transposed_view() {
        // 400 x 300 data read through a transpose, gathered along dim 1: parallel path.
        let base = array(&[300, 400], |k| k as f64);
        let x = base.with_layout(base.layout().permute(&[1, 0]));
        let index = indices(&[400, 250], 300);
        let out = gather::<f64>(&x, 1, &index).unwrap().to_vec::<f64>();
        let (xv, iv) = (x.to_vec::<f64>(), index.to_vec::<i64>());
        for i in 0..400 {
            for j in 0..250 {
                assert_eq!(out[i * 250 + j], xv[i * 300 + iv[i * 250 + j] as usize]);
            }
        }
    }

    #[test]
    fn first_bad_index_is_reported_in_row_major_order() {
        let x = array(&[3, 2], |k| k as f64);
        let mut v = vec![1i64; 600_000];
        v[400_001] = -4;
        v[500_000] = 9;
        let index = Array::from_vec(v, &[300_000, 2]).unwrap();
        let err = gather::<f64>(&x, 0, &index).unwrap_err();
        assert_eq!(
            err,
            IndexOutOfBounds {
                index: -4,
                dim: 0,
                size: 3
            }
        );
    }

    #[test]
    fn large_scatter_add_matches_loops() {
        for axis in [0, 1] {
            let x = array(&[400, 300], |k| (k % 5) as f64);
            let index = indices(&[400, 300], if axis == 0 { 400 } else { 300 });
            let src = array(&[400, 300], |k| (k % 11) as f64 - 5.0);
            let out = scatter_add::<f64>(&x, axis, &index, &src)
                .unwrap()
                .to_vec::<f64>();
            let mut want = x.to_vec::<f64>();
            let (iv, sv) = (index.to_vec::<i64>(), src.to_vec::<f64>());
            for i in 0..400 {
                for j in 0..300 {
                    let k = i * 300 + j;
                    let (r, c) = if axis == 0 {
                        (iv[k] as usize, j)
                    } else {
                        (i, iv[k] as usize)
                    };
                    want[r * 300 + c] += sv[k];
                }
            }
            assert_eq!(out, want, "axis {axis}");
        }
    }
}
