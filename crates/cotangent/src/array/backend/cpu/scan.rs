//! Scans along one axis: cumulative sum.
//!
//! The input is read as `[outer, n, inner]` around the scanned axis. Each outer block is one
//! walk over the input in row-major order, keeping a running total per inner position, so
//! the reads stay sequential whatever the axis. Blocks are independent and run in parallel
//! above a size threshold. Like torch on the CPU, `f32` totals are kept in `f64`.

use std::ops::Add;

use rayon::prelude::*;

use super::strided::{Walk, parallel_chunk};
use crate::array::alloc::filled_or_defer;
use crate::array::storage::{StorageElement, alloc_uninit};
use crate::array::{Array, Layout};

/// Elements per thread below which scans stay single-threaded.
const MIN_PER_THREAD: usize = 1 << 15;

/// Running sums of `x` along `axis`, accumulated in `A` (`to` and `from` convert).
pub(crate) fn cumsum<T, A>(
    x: &Array,
    axis: usize,
    to: impl Fn(T) -> A + Sync,
    from: impl Fn(A) -> T + Sync,
) -> Array
where
    T: StorageElement,
    A: Copy + Default + Add<Output = A> + Send + Sync,
{
    let shape = x.shape();
    let inner: usize = shape[axis + 1..].iter().product();
    let block = shape[axis] * inner;
    let total = x.numel();
    let mut out = alloc_uninit::<T>(total);
    if total > 0 {
        let src = x.buffer::<T>();
        let walk = Walk::new([x.layout()]);
        let range = |o: usize| o * block..(o + 1) * block;
        let scan = |o: usize, dst: &mut [T]| {
            let mut p = 0;
            if inner == 1 {
                // One running total down the block.
                let mut acc = A::default();
                walk.for_each_run(range(o), |[s], [ds], len| {
                    let dst = &mut dst[p..p + len];
                    if ds == 1 {
                        for (d, &v) in dst.iter_mut().zip(&src[s..s + len]) {
                            acc = acc + to(v);
                            *d = from(acc);
                        }
                    } else {
                        for (k, d) in dst.iter_mut().enumerate() {
                            acc = acc + to(src[s + k * ds]);
                            *d = from(acc);
                        }
                    }
                    p += len;
                });
                return;
            }
            // One running total per inner position; each run is cut where a row of `inner`
            // ends, so the pieces update a contiguous range of totals (vectorised).
            let mut acc = filled_or_defer(inner, A::default(), T::DTYPE);
            walk.for_each_run(range(o), |[s], [ds], len| {
                let mut k = 0;
                while k < len {
                    let i = (p + k) % inner;
                    let n = (inner - i).min(len - k);
                    let totals = acc[i..i + n].iter_mut().zip(&mut dst[p + k..p + k + n]);
                    if ds == 1 {
                        for ((a, d), &v) in totals.zip(&src[s + k..s + k + n]) {
                            *a = *a + to(v);
                            *d = from(*a);
                        }
                    } else {
                        for (j, (a, d)) in totals.enumerate() {
                            *a = *a + to(src[s + (k + j) * ds]);
                            *d = from(*a);
                        }
                    }
                    k += n;
                }
                p += len;
            });
        };
        match parallel_chunk(total, MIN_PER_THREAD) {
            Some(_) if total / block > 1 => {
                out.par_chunks_mut(block)
                    .enumerate()
                    .for_each(|(o, dst)| scan(o, dst));
            }
            _ => out
                .chunks_mut(block)
                .enumerate()
                .for_each(|(o, dst)| scan(o, dst)),
        }
    }
    Array::from_parts(T::wrap(out), Layout::contiguous(shape))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn large_cumsum_matches_loops_along_each_axis() {
        let v: Vec<i64> = (0..120_000).map(|k| k % 7 - 3).collect();
        let x = Array::from_vec(v.clone(), &[40, 50, 60]).unwrap();
        let shape = [40, 50, 60];
        for axis in 0..3 {
            let out = cumsum::<i64, i64>(&x, axis, |v| v, |a| a).to_vec::<i64>();
            let stride: usize = shape[axis + 1..].iter().product();
            let mut want = v.clone();
            for k in 0..want.len() {
                if !(k / stride).is_multiple_of(shape[axis]) {
                    want[k] += want[k - stride];
                }
            }
            assert_eq!(out, want, "axis {axis}");
        }
    }
}
