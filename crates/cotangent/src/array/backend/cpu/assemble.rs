//! Kernels that build one array out of pieces: concatenate and constant pad.
//!
//! Both write a fresh row-major output and copy each input into its region with a strided
//! walk, so any input layout works. The work is split into pieces that own disjoint ranges
//! of the output (rows for concatenate, runs of the interior for pad), which rayon handles in
//! parallel above a size threshold.

use rayon::prelude::*;

use super::index::copy_range;
use super::strided::{Walk, parallel_chunk};
use crate::array::storage::{StorageElement, alloc_uninit};
use crate::array::{Array, Dims, Layout};

/// Elements per thread below which these kernels stay single-threaded.
const MIN_PER_THREAD: usize = 1 << 15;

/// The arrays `xs` (equal rank and dtype, equal shapes except along `axis`) joined along
/// `axis`.
pub(crate) fn concatenate<T: StorageElement>(xs: &[&Array], axis: usize) -> Array {
    let mut shape: Dims = xs[0].shape().into();
    shape[axis] = xs.iter().map(|x| x.shape()[axis]).sum();
    let outer: usize = shape[..axis].iter().product();
    let inner: usize = shape[axis + 1..].iter().product();
    let row = shape[axis] * inner;
    let n = outer * row;
    let mut out = alloc_uninit::<T>(n);
    if n > 0 {
        let walks: Vec<Walk<1>> = xs.iter().map(|x| Walk::new([x.layout()])).collect();
        let srcs: Vec<&[T]> = xs.iter().map(|x| x.buffer::<T>()).collect();
        let blocks: Vec<usize> = xs.iter().map(|x| x.shape()[axis] * inner).collect();
        // Output row `o` is input 0's row `o`, then input 1's, ...
        let copy_row = |o: usize, dst: &mut [T]| {
            let mut at = 0;
            for k in 0..xs.len() {
                let b = blocks[k];
                copy_range(&mut dst[at..at + b], srcs[k], &walks[k], o * b..(o + 1) * b);
                at += b;
            }
        };
        match parallel_chunk(n, MIN_PER_THREAD) {
            // Few long rows (concatenating along a leading dim): one task per (row, input).
            Some(_) if outer < 4 * rayon::current_num_threads() => {
                let mut pieces: Vec<(usize, usize, &mut [T])> = Vec::new();
                for (o, mut rest) in out.chunks_mut(row).enumerate() {
                    for k in 0..xs.len() {
                        let (piece, tail) = rest.split_at_mut(blocks[k]);
                        pieces.push((o, k, piece));
                        rest = tail;
                    }
                }
                pieces.into_par_iter().for_each(|(o, k, dst)| {
                    let b = blocks[k];
                    copy_range(dst, srcs[k], &walks[k], o * b..(o + 1) * b);
                });
            }
            Some(chunk) => {
                let rows_per = chunk.div_ceil(row).max(1);
                out.par_chunks_mut(rows_per * row)
                    .enumerate()
                    .for_each(|(c, dst)| {
                        for (r, dst_row) in dst.chunks_mut(row).enumerate() {
                            copy_row(c * rows_per + r, dst_row);
                        }
                    });
            }
            None => {
                for (o, dst_row) in out.chunks_mut(row).enumerate() {
                    copy_row(o, dst_row);
                }
            }
        }
    }
    Array::from_parts(T::wrap(out), Layout::contiguous(&shape))
}

/// `x` with `lo[d]` elements of `value` before and `hi[d]` after it along every dim `d`.
pub(crate) fn pad<T: StorageElement>(x: &Array, lo: &[usize], hi: &[usize], value: f64) -> Array {
    let shape = x.shape();
    let out_shape: Dims = (0..shape.len()).map(|d| lo[d] + shape[d] + hi[d]).collect();
    let n: usize = out_shape.iter().product();
    let value = T::from_f64(value);
    let mut out = alloc_uninit::<T>(n);
    let m = x.numel();
    if m == 0 {
        out.fill(value);
        return Array::from_parts(T::wrap(out), Layout::contiguous(&out_shape));
    }
    // Where x lands in the output, and the output offset of x's k-th element.
    let limit: Dims = (0..shape.len()).map(|d| lo[d] + shape[d]).collect();
    let ones: Dims = smallvec::smallvec![1; shape.len()];
    let interior = Layout::contiguous(&out_shape).slice(lo, &limit, &ones);
    let offset_of = |k: usize| {
        let (mut rest, mut p) = (k, interior.offset());
        for d in (0..shape.len()).rev() {
            p += (rest % shape[d]) * interior.strides()[d];
            rest /= shape[d];
        }
        p
    };
    // Pieces of x's elements; piece i owns out[starts[i]..starts[i + 1]], padding included.
    let chunk = parallel_chunk(n, MIN_PER_THREAD).map_or(m, |c| c.min(m));
    let bounds: Vec<usize> = (0..m.div_ceil(chunk))
        .map(|i| i * chunk)
        .chain([m])
        .collect();
    let mut starts: Vec<usize> = bounds[..bounds.len() - 1]
        .iter()
        .map(|&k| offset_of(k))
        .collect();
    starts.push(offset_of(m - 1) + 1);
    let (head, rest) = out.split_at_mut(starts[0]);
    let (body, tail) = rest.split_at_mut(starts[starts.len() - 1] - starts[0]);
    head.fill(value);
    tail.fill(value);
    let mut pieces: Vec<(usize, &mut [T])> = Vec::new();
    let mut body = body;
    for i in 0..bounds.len() - 1 {
        let (piece, next) = body.split_at_mut(starts[i + 1] - starts[i]);
        pieces.push((i, piece));
        body = next;
    }
    let src = x.buffer::<T>();
    let walk = Walk::new([&interior, x.layout()]);
    let fill_piece = |(i, dst): (usize, &mut [T])| {
        dst.fill(value);
        let base = starts[i];
        walk.for_each_run(bounds[i]..bounds[i + 1], |[o, s], [od, sd], len| {
            if od == 1 && sd == 1 {
                dst[o - base..o - base + len].copy_from_slice(&src[s..s + len]);
            } else {
                for k in 0..len {
                    dst[o + k * od - base] = src[s + k * sd];
                }
            }
        });
    };
    if pieces.len() > 1 {
        pieces.into_par_iter().for_each(fill_piece);
    } else {
        pieces.into_iter().for_each(fill_piece);
    }
    Array::from_parts(T::wrap(out), Layout::contiguous(&out_shape))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn array(shape: &[usize], offset: f64) -> Array {
        let n = shape.iter().product();
        Array::from_vec(
            (0..n).map(|k| k as f64 + offset).collect::<Vec<f64>>(),
            shape,
        )
        .unwrap()
    }

    #[test]
    fn large_concatenate_matches_loops_for_few_and_many_rows() {
        // (outer, sizes along axis 1, inner): few long rows, then many short rows.
        for (outer, sizes, inner) in [(2, [30_000, 50_000], 1), (5_000, [7, 9], 3)] {
            let xs: Vec<Array> = sizes
                .iter()
                .map(|&n| array(&[outer, n, inner], n as f64))
                .collect();
            let refs: Vec<&Array> = xs.iter().collect();
            let out = concatenate::<f64>(&refs, 1).to_vec::<f64>();
            let values: Vec<Vec<f64>> = xs.iter().map(|x| x.to_vec::<f64>()).collect();
            let mut want = Vec::new();
            for o in 0..outer {
                for (x, v) in xs.iter().zip(&values) {
                    let row = x.shape()[1] * inner;
                    want.extend_from_slice(&v[o * row..(o + 1) * row]);
                }
            }
            assert_eq!(out, want);
        }
    }

    #[test]
    fn large_pad_matches_loops() {
        let base = array(&[400, 300], 0.0);
        let x = base.with_layout(base.layout().permute(&[1, 0])); // [300, 400] transposed
        let out = pad::<f64>(&x, &[3, 0], &[1, 5], -1.0).to_vec::<f64>();
        let xv = x.to_vec::<f64>();
        let (rows, cols) = (304, 405);
        assert_eq!(out.len(), rows * cols);
        for r in 0..rows {
            for c in 0..cols {
                let inside = (3..303).contains(&r) && c < 400;
                let want = if inside { xv[(r - 3) * 400 + c] } else { -1.0 };
                assert_eq!(out[r * cols + c], want, "at {r}, {c}");
            }
        }
    }
}
