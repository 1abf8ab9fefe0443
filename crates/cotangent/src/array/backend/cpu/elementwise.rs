//! Elementwise CPU kernels: map, zip, compare, select, cast and strided copy.
//!
//! Each kernel writes a fresh row-major output. Operands are walked with [`Walk`], whose runs
//! have a stride per operand; runs with unit (or zero, for broadcasts) strides take loops the
//! compiler vectorises. Above a size threshold the output is split into chunks handled by
//! rayon, and since each chunk starts its own walk, any layout parallelises.

use rayon::prelude::*;

use super::strided::{Walk, parallel_chunk};
use crate::array::storage::{StorageElement, alloc_uninit};
use crate::array::{Array, Layout};

/// Elements per thread below which elementwise kernels stay single-threaded.
const MIN_PER_THREAD: usize = 1 << 15;

/// Output array from a closure that fills `out[range]` (row-major positions `range`).
pub(crate) fn fill_parallel<T: StorageElement>(
    shape: &[usize],
    fill: impl Fn(std::ops::Range<usize>, &mut [T]) + Sync,
) -> Array {
    let n = crate::array::layout::numel(shape);
    let mut out = alloc_uninit::<T>(n);
    match parallel_chunk(n, MIN_PER_THREAD) {
        Some(chunk) => out
            .par_chunks_mut(chunk)
            .enumerate()
            .for_each(|(i, dst)| fill(i * chunk..i * chunk + dst.len(), dst)),
        None => fill(0..n, &mut out),
    }
    Array::from_parts(T::wrap(out), Layout::contiguous(shape))
}

/// `out[i] = f(x[i])`.
pub(crate) fn map<T: StorageElement, U: StorageElement>(
    x: &Array,
    f: impl Fn(T) -> U + Sync,
) -> Array {
    let src = x.buffer::<T>();
    let walk = Walk::new([x.layout()]);
    fill_parallel(x.shape(), |range, dst: &mut [U]| {
        let mut o = 0;
        walk.for_each_run(range, |[s], [ds], len| {
            let dst = &mut dst[o..o + len];
            if ds == 1 {
                for (d, &v) in dst.iter_mut().zip(&src[s..s + len]) {
                    *d = f(v);
                }
            } else {
                for (i, d) in dst.iter_mut().enumerate() {
                    *d = f(src[s + i * ds]);
                }
            }
            o += len;
        })
    })
}

/// `out[i] = f(a[i], b[i])` for equal shapes.
pub(crate) fn zip<T: StorageElement, U: StorageElement>(
    a: &Array,
    b: &Array,
    f: impl Fn(T, T) -> U + Sync,
) -> Array {
    let (sa, sb) = (a.buffer::<T>(), b.buffer::<T>());
    let walk = Walk::new([a.layout(), b.layout()]);
    fill_parallel(a.shape(), |range, dst: &mut [U]| {
        let mut o = 0;
        walk.for_each_run(range, |[ia, ib], [da, db], len| {
            let dst = &mut dst[o..o + len];
            match (da, db) {
                (1, 1) => {
                    let (x, y) = (&sa[ia..ia + len], &sb[ib..ib + len]);
                    super::dispatch::avx2_or_plain(|| zip_slices(dst, x, y, &f));
                }
                (1, 0) => {
                    let y = sb[ib];
                    for (d, &x) in dst.iter_mut().zip(&sa[ia..ia + len]) {
                        *d = f(x, y);
                    }
                }
                (0, 1) => {
                    let x = sa[ia];
                    for (d, &y) in dst.iter_mut().zip(&sb[ib..ib + len]) {
                        *d = f(x, y);
                    }
                }
                _ => {
                    for (i, d) in dst.iter_mut().enumerate() {
                        *d = f(sa[ia + i * da], sb[ib + i * db]);
                    }
                }
            }
            o += len;
        })
    })
}

/// `dst[i] = f(a[i], b[i])` on unit-stride runs; inlined into both the baseline and the
/// AVX2 build (Note [AVX2 dispatch]).
#[inline(always)]
fn zip_slices<T: Copy, U>(dst: &mut [U], a: &[T], b: &[T], f: &impl Fn(T, T) -> U) {
    for ((d, &x), &y) in dst.iter_mut().zip(a).zip(b) {
        *d = f(x, y);
    }
}

/// `out[i] = if p[i] { a[i] } else { b[i] }` for equal shapes.
pub(crate) fn select<T: StorageElement>(p: &Array, a: &Array, b: &Array) -> Array {
    let (sp, sa, sb) = (p.buffer::<bool>(), a.buffer::<T>(), b.buffer::<T>());
    let walk = Walk::new([p.layout(), a.layout(), b.layout()]);
    fill_parallel(a.shape(), |range, dst: &mut [T]| {
        let mut o = 0;
        walk.for_each_run(range, |[ip, ia, ib], [dp, da, db], len| {
            let dst = &mut dst[o..o + len];
            // The unit-stride and broadcast-scalar runs (relu's `where(x <= 0, 0, x)` is
            // the common one) go through slices without branches, which vectorise to blends;
            // a data-dependent branch per element costs a misprediction on random signs.
            match (dp, da, db) {
                (1, 1, 1) => {
                    let (p, a, b) = (&sp[ip..ip + len], &sa[ia..ia + len], &sb[ib..ib + len]);
                    super::dispatch::avx2_or_plain(|| select_slices(dst, p, a, b));
                }
                (1, 0, 1) => {
                    let (p, a, b) = (&sp[ip..ip + len], sa[ia], &sb[ib..ib + len]);
                    super::dispatch::avx2_or_plain(|| select_scalar_a(dst, p, a, b));
                }
                (1, 1, 0) => {
                    let (p, a, b) = (&sp[ip..ip + len], &sa[ia..ia + len], sb[ib]);
                    super::dispatch::avx2_or_plain(|| select_scalar_b(dst, p, a, b));
                }
                _ => {
                    for (i, d) in dst.iter_mut().enumerate() {
                        *d = if sp[ip + i * dp] {
                            sa[ia + i * da]
                        } else {
                            sb[ib + i * db]
                        };
                    }
                }
            }
            o += len;
        })
    })
}

/// `dst[i] = if p[i] { a[i] } else { b[i] }` on unit-stride runs (Note [AVX2 dispatch]).
#[inline(always)]
fn select_slices<T: Copy>(dst: &mut [T], p: &[bool], a: &[T], b: &[T]) {
    for (((d, &p), &a), &b) in dst.iter_mut().zip(p).zip(a).zip(b) {
        *d = if p { a } else { b };
    }
}

/// [`select_slices`] with a broadcast `a`.
#[inline(always)]
fn select_scalar_a<T: Copy>(dst: &mut [T], p: &[bool], a: T, b: &[T]) {
    for ((d, &p), &b) in dst.iter_mut().zip(p).zip(b) {
        *d = if p { a } else { b };
    }
}

/// [`select_slices`] with a broadcast `b`.
#[inline(always)]
fn select_scalar_b<T: Copy>(dst: &mut [T], p: &[bool], a: &[T], b: T) {
    for ((d, &p), &a) in dst.iter_mut().zip(p).zip(a) {
        *d = if p { a } else { b };
    }
}

/// A row-major copy of any view. 2-d transposes are copied in tiles so both the reads and
/// the writes stay in cache.
pub(crate) fn copy<T: StorageElement>(x: &Array) -> Array {
    if let Some(out) = super::copy::transpose_copy::<T>(x) {
        return out;
    }
    map::<T, T>(x, |v| v)
}
