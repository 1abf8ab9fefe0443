//! Reductions over any set of axes (sum, max, min, prod) and arg-reductions.
//!
//! The input is viewed with the kept dims first and the reduced dims last, so each output
//! element reduces one row-major range of that view. Unit-stride runs are folded with several
//! independent accumulators (the compiler vectorises them), and float sums add blocks of
//! 4096 elements in f64 so long sums stay accurate. Work is split over output elements, or,
//! for a single output, over ranges of the input.

use rayon::prelude::*;

use super::strided::{Walk, parallel_chunk};
use crate::array::backend::ReduceOp;
use crate::array::storage::{StorageElement, alloc_uninit};
use crate::array::{Array, Dims, Element, Layout};

/// Elements per thread below which reductions stay single-threaded.
const MIN_PER_THREAD: usize = 1 << 16;
/// Block of a float sum that is accumulated in the element type before moving to f64.
const SUM_BLOCK: usize = 4096;

/// How to combine elements of one type.
pub(crate) trait Fold<T>: Sync {
    fn init(&self) -> T;
    fn combine(&self, a: T, b: T) -> T;
    /// Fold a unit-stride slice; lanes let the compiler vectorise.
    fn fold_slice(&self, xs: &[T]) -> T
    where
        T: Copy,
    {
        let mut acc = [self.init(); 8];
        let chunks = xs.chunks_exact(8);
        let rem = chunks.remainder();
        for c in chunks {
            for l in 0..8 {
                acc[l] = self.combine(acc[l], c[l]);
            }
        }
        let mut r = self.init();
        for a in acc {
            r = self.combine(r, a);
        }
        for &x in rem {
            r = self.combine(r, x);
        }
        r
    }
}

struct Sum;
struct Prod;
struct Max;
struct Min;

impl<T: Element + std::ops::Add<Output = T>> Fold<T> for Sum {
    fn init(&self) -> T {
        T::zero()
    }
    fn combine(&self, a: T, b: T) -> T {
        super::accumulate(a, b)
    }
    fn fold_slice(&self, xs: &[T]) -> T {
        if !T::DTYPE.is_float() {
            return xs.iter().fold(T::zero(), |a, &b| super::accumulate(a, b));
        }
        super::dispatch::avx2_or_plain(|| float_sum(xs))
    }
}

/// Blocks in the element type, blocks combined in f64. Inlined into both the baseline and
/// the AVX2 build (Note [AVX2 dispatch]).
#[inline(always)]
fn float_sum<T: Element + std::ops::Add<Output = T>>(xs: &[T]) -> T {
    let mut total = 0f64;
    for block in xs.chunks(SUM_BLOCK) {
        let mut acc = [T::zero(); 16];
        let chunks = block.chunks_exact(16);
        let rem = chunks.remainder();
        for c in chunks {
            for l in 0..16 {
                acc[l] = acc[l] + c[l];
            }
        }
        let mut r = T::zero();
        for a in acc {
            r = r + a;
        }
        for &x in rem {
            r = r + x;
        }
        total += r.to_f64();
    }
    T::from_f64(total)
}

impl<T: Element + std::ops::Mul<Output = T>> Fold<T> for Prod {
    fn init(&self) -> T {
        T::one()
    }
    fn combine(&self, a: T, b: T) -> T {
        super::multiply(a, b)
    }
}

impl<T: Element> Fold<T> for Max {
    fn init(&self) -> T {
        unreachable!("max has no identity; fold_from is used")
    }
    fn combine(&self, a: T, b: T) -> T {
        // NaN wins, as in torch.
        if b > a || b.is_nan() && !a.is_nan() {
            b
        } else {
            a
        }
    }
    fn fold_slice(&self, xs: &[T]) -> T {
        xs[1..].iter().fold(xs[0], |a, &b| self.combine(a, b))
    }
}

impl<T: Element> Fold<T> for Min {
    fn init(&self) -> T {
        unreachable!("min has no identity; fold_from is used")
    }
    fn combine(&self, a: T, b: T) -> T {
        if b < a || b.is_nan() && !a.is_nan() {
            b
        } else {
            a
        }
    }
    fn fold_slice(&self, xs: &[T]) -> T {
        xs[1..].iter().fold(xs[0], |a, &b| self.combine(a, b))
    }
}

/// The input layout permuted so the kept axes come first, and the output shape.
fn kept_first(x: &Array, axes: &[usize]) -> (Layout, Dims, usize) {
    let rank = x.rank();
    let kept: Vec<usize> = (0..rank).filter(|d| !axes.contains(d)).collect();
    let perm: Vec<usize> = kept.iter().chain(axes).copied().collect();
    let out_shape: Dims = kept.iter().map(|&d| x.shape()[d]).collect();
    let block: usize = axes.iter().map(|&d| x.shape()[d]).product();
    (x.layout().permute(&perm), out_shape, block)
}

/// Fold the elements of `walk` in `range` (non-empty).
fn fold_range<T: Copy, F: Fold<T>>(
    fold: &F,
    src: &[T],
    walk: &Walk<1>,
    range: std::ops::Range<usize>,
) -> T {
    let mut acc: Option<T> = None;
    walk.for_each_run(range, |[s], [ds], len| {
        let part = if ds == 1 {
            fold.fold_slice(&src[s..s + len])
        } else {
            let mut r = src[s];
            for i in 1..len {
                r = fold.combine(r, src[s + i * ds]);
            }
            r
        };
        acc = Some(match acc {
            Some(a) => fold.combine(a, part),
            None => part,
        });
    });
    acc.expect("non-empty range")
}

fn reduce_with<T: StorageElement, F: Fold<T>>(x: &Array, axes: &[usize], fold: F) -> Array {
    let (view, out_shape, block) = kept_first(x, axes);
    let n_out: usize = out_shape.iter().product();
    let src = x.buffer::<T>();
    let walk = Walk::new([&view]);
    let mut out = alloc_uninit::<T>(n_out);
    if block == 0 {
        out.fill(fold.init());
    } else if n_out == 1 {
        // One output: split the input range itself.
        out[0] = match parallel_chunk(block, MIN_PER_THREAD) {
            Some(chunk) => {
                let parts: Vec<T> = (0..block.div_ceil(chunk))
                    .into_par_iter()
                    .map(|i| fold_range(&fold, src, &walk, i * chunk..((i + 1) * chunk).min(block)))
                    .collect();
                let mut it = parts.into_iter();
                let first = it.next().expect("at least one chunk");
                it.fold(first, |a, b| fold.combine(a, b))
            }
            None => fold_range(&fold, src, &walk, 0..block),
        };
    } else {
        let per_out = |o: usize| fold_range(&fold, src, &walk, o * block..(o + 1) * block);
        match parallel_chunk(n_out * block, MIN_PER_THREAD) {
            Some(_) => out
                .par_iter_mut()
                .enumerate()
                .for_each(|(o, d)| *d = per_out(o)),
            None => out
                .iter_mut()
                .enumerate()
                .for_each(|(o, d)| *d = per_out(o)),
        }
    }
    Array::from_parts(T::wrap(out), Layout::contiguous(&out_shape))
}

/// Reduce `x` over `axes` (sorted, unique). Empty max/min reductions are rejected by the
/// primitive's shape rule before they get here.
pub(crate) fn reduce<T>(x: &Array, axes: &[usize], op: ReduceOp) -> Array
where
    T: StorageElement + std::ops::Add<Output = T> + std::ops::Mul<Output = T>,
{
    match op {
        ReduceOp::Sum => reduce_with::<T, _>(x, axes, Sum),
        ReduceOp::Prod => reduce_with::<T, _>(x, axes, Prod),
        ReduceOp::Max => reduce_with::<T, _>(x, axes, Max),
        ReduceOp::Min => reduce_with::<T, _>(x, axes, Min),
    }
}

/// Index of the max (or min) along `axis`, first occurrence, NaN counts as the max (torch).
pub(crate) fn arg_reduce<T: StorageElement>(x: &Array, axis: usize, max: bool) -> Array {
    let (view, out_shape, block) = kept_first(x, &[axis]);
    let n_out: usize = out_shape.iter().product();
    let src = x.buffer::<T>();
    let walk = Walk::new([&view]);
    let better = |cand: T, best: T| {
        if best.is_nan() {
            false
        } else if cand.is_nan() {
            true
        } else if max {
            cand > best
        } else {
            cand < best
        }
    };
    let mut out = crate::array::alloc::zeroed_or_defer::<i64>(n_out);
    out.iter_mut().enumerate().for_each(|(o, d)| {
        let mut best: Option<(T, usize)> = None;
        let mut k = 0usize;
        walk.for_each_run(o * block..(o + 1) * block, |[s], [ds], len| {
            for i in 0..len {
                let v = src[s + i * ds];
                if best.is_none_or(|(b, _)| better(v, b)) {
                    best = Some((v, k));
                }
                k += 1;
            }
        });
        *d = best.map_or(0, |(_, i)| i as i64);
    });
    Array::from_parts(i64::wrap(out), Layout::contiguous(&out_shape))
}
