//! CPU compute kernels for matrix products, 2-D convolution and 2-D max pooling.
//!
//! Everything here works on raw slices plus explicit shapes and strides; nothing knows about
//! tensors. Floating-point products (`f32`, `f64`, via [`GemmScalar`]) go through the `gemm`
//! crate; `i64` products use a plain triple loop ([`gemm_batched_i64`]).
//!
//! Threading: a large single product is split *inside* `gemm` (`Parallelism::Rayon`), while a
//! batch of small products is split *across* the batch with rayon, each product running
//! single-threaded. Convolution is im2col followed by one product per image and group, and is
//! split across the batch (or inside the product when the batch is too small). Max pooling is
//! split across `(n, c)` planes.
//!
//! Every entry point validates its shapes, strides and offsets with assertions before touching
//! memory, so no safe caller can cause an out-of-bounds access.

use gemm::Parallelism;
use rayon::prelude::*;

use crate::array::DType;
use crate::array::alloc::AllocFailed;

/// Per-product work (`m * n * k` multiply-adds) from which one product is split across threads
/// inside `gemm`. Below it, products run single-threaded (and a batch of them is split across
/// the batch instead).
const GEMM_PAR_WORK: usize = 144 * 144 * 144;

/// Per-product work below which a plain loop beats `gemm`'s per-call overhead.
const NAIVE_WORK: usize = 8 * 8 * 8;

/// Total work (multiply-adds, or elements visited for pooling) below which a whole call stays
/// on the calling thread: spawning rayon tasks costs more than it saves.
const SEQ_WORK: usize = 32 * 1024;

/// Work handed to one rayon task at least, when a batch is split across tasks.
const TASK_WORK: usize = 16 * 1024;

mod sealed {
    /// Keeps [`super::GemmScalar`] implemented for `f32` and `f64` only.
    pub trait Sealed {}
    impl Sealed for f32 {}
    impl Sealed for f64 {}
}

/// The float element types the `gemm`-backed kernels accept: `f32` and `f64`.
pub(crate) trait GemmScalar:
    sealed::Sealed
    + Copy
    + Send
    + Sync
    + PartialOrd
    + std::fmt::Debug
    + std::ops::Add<Output = Self>
    + std::ops::Mul<Output = Self>
    + 'static
{
    /// The dtype, for errors.
    const DTYPE: DType;
    /// Additive identity.
    const ZERO: Self;
    /// Multiplicative identity.
    const ONE: Self;
    /// Negative infinity: the identity of `max`, used as max-pool padding.
    const NEG_INFINITY: Self;
    /// Whether `self` is NaN.
    fn is_nan(self) -> bool;
}

impl GemmScalar for f32 {
    const DTYPE: DType = DType::F32;
    const ZERO: Self = 0.0;
    const ONE: Self = 1.0;
    const NEG_INFINITY: Self = f32::NEG_INFINITY;
    #[inline]
    fn is_nan(self) -> bool {
        f32::is_nan(self)
    }
}

impl GemmScalar for f64 {
    const DTYPE: DType = DType::F64;
    const ZERO: Self = 0.0;
    const ONE: Self = 1.0;
    const NEG_INFINITY: Self = f64::NEG_INFINITY;
    #[inline]
    fn is_nan(self) -> bool {
        f64::is_nan(self)
    }
}

/// A strided matrix operand: element `(i, j)` of batch `b` lives at
/// `data[offsets[b] + i * row_stride + j * col_stride]` (strides in elements; 0 broadcasts,
/// negative strides are allowed as long as every reached index stays inside `data`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct MatRef<'a, T> {
    /// The backing storage.
    pub data: &'a [T],
    /// The offset of element `(0, 0)` of each batch entry.
    pub offsets: &'a [usize],
    /// Distance between consecutive rows, in elements.
    pub row_stride: isize,
    /// Distance between consecutive columns, in elements.
    pub col_stride: isize,
}

/// Whether every index `off + i * rs + j * cs` with `i < rows`, `j < cols` lies in `0..len`.
/// Always true when the block is empty.
fn block_in_bounds(len: usize, off: usize, rows: usize, cols: usize, rs: isize, cs: isize) -> bool {
    if rows == 0 || cols == 0 {
        return true;
    }
    // i128 cannot overflow here: each term is below 2^64 * 2^63.
    let span = |extent: usize, stride: isize| (extent as i128 - 1) * stride as i128;
    let (r, c) = (span(rows, rs), span(cols, cs));
    let lo = off as i128 + r.min(0) + c.min(0);
    let hi = off as i128 + r.max(0) + c.max(0);
    lo >= 0 && hi < len as i128
}

/// Asserts that every batch entry of `x`, seen as a `rows x cols` matrix, stays inside its data.
fn assert_operand<T>(name: &str, x: &MatRef<'_, T>, rows: usize, cols: usize) {
    for (b, &off) in x.offsets.iter().enumerate() {
        assert!(
            block_in_bounds(x.data.len(), off, rows, cols, x.row_stride, x.col_stride),
            "matmul: operand {name} batch {b} ({rows}x{cols} at offset {off}, strides \
             [{}, {}]) reaches outside its {} elements",
            x.row_stride,
            x.col_stride,
            x.data.len()
        );
    }
}

/// Checks the shared preconditions of the batched products; returns the batch size.
fn check_batched<T>(
    m: usize,
    n: usize,
    k: usize,
    a: &MatRef<'_, T>,
    b: &MatRef<'_, T>,
    out_len: usize,
) -> usize {
    let batch = a.offsets.len();
    assert_eq!(
        batch,
        b.offsets.len(),
        "matmul: operands have different batch sizes"
    );
    let expected = batch
        .checked_mul(m)
        .and_then(|x| x.checked_mul(n))
        .expect("matmul: output size overflows usize");
    assert_eq!(
        out_len, expected,
        "matmul: output has {out_len} elements, expected batch {batch} x {m} x {n}"
    );
    assert_operand("a", a, m, k);
    assert_operand("b", b, k, n);
    batch
}

/// The work of an `m x n x k` product, saturating (only used for heuristics).
fn work(m: usize, n: usize, k: usize) -> usize {
    m.saturating_mul(n).saturating_mul(k)
}

/// `out = A * B` for one `m x n x k` product through `gemm`, where `A` starts at `a[a_off]`
/// with strides `(a_rs, a_cs)`, `B` at `b[b_off]` with `(b_rs, b_cs)`, and `out` is a
/// contiguous row-major `m x n` block that is fully overwritten.
///
/// Panics unless every element it reads or writes is in bounds.
#[allow(unsafe_code)]
fn gemm_one<T: GemmScalar>(
    m: usize,
    n: usize,
    k: usize,
    (a, a_off, a_rs, a_cs): (&[T], usize, isize, isize),
    (b, b_off, b_rs, b_cs): (&[T], usize, isize, isize),
    out: &mut [T],
    par: Parallelism,
) {
    assert_eq!(
        Some(out.len()),
        m.checked_mul(n),
        "matmul: output block has the wrong length"
    );
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        out.fill(T::ZERO);
        return;
    }
    assert!(block_in_bounds(a.len(), a_off, m, k, a_rs, a_cs));
    assert!(block_in_bounds(b.len(), b_off, k, n, b_rs, b_cs));
    // `out` has m*n elements, so `n` and `m * n` fit in isize (slices are at most isize::MAX
    // bytes long).
    let out_rs = n as isize;
    // SAFETY: the asserts above guarantee that every index `off + i*rs + j*cs` that gemm reads
    // (i < rows, j < cols) lies inside `a` resp. `b`, and `out` is exactly the m x n row-major
    // block gemm writes (row stride n, column stride 1). `a_off`/`b_off` are in bounds (the
    // blocks are non-empty), so `as_ptr().add(off)` stays inside the allocation. `out` is a
    // unique borrow, so it cannot alias `a` or `b`. `read_dst = false`, so the old contents of
    // `out` are never read and the `ZERO` alpha is ignored.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            out.as_mut_ptr(),
            1,
            out_rs,
            false,
            a.as_ptr().add(a_off),
            a_cs,
            a_rs,
            b.as_ptr().add(b_off),
            b_cs,
            b_rs,
            T::ZERO,
            T::ONE,
            false,
            false,
            false,
            par,
        );
    }
}

/// Batched strided matrix product: `out[b] = A[b] * B[b]` with `A[b]` of shape `m x k` and
/// `B[b]` of shape `k x n`.
///
/// `out` is contiguous `[batch, m, n]` row-major and fully overwritten, where
/// `batch = a.offsets.len() == b.offsets.len()`. `k == 0` zero-fills `out`.
///
/// Panics if the batch sizes differ, `out` has the wrong length, or any operand element would
/// be read from outside its data.
pub(crate) fn gemm_batched<T: GemmScalar>(
    m: usize,
    n: usize,
    k: usize,
    a: MatRef<'_, T>,
    b: MatRef<'_, T>,
    out: &mut [T],
) {
    let batch = check_batched(m, n, k, &a, &b, out.len());
    if m == 0 || n == 0 || batch == 0 {
        return;
    }
    if k == 0 {
        out.fill(T::ZERO);
        return;
    }
    let threads = rayon::current_num_threads();
    let per = work(m, n, k);
    let total = per.saturating_mul(batch);
    let naive = per < NAIVE_WORK;
    let one = |i: usize, o: &mut [T], par: Parallelism| {
        let a = (a.data, a.offsets[i], a.row_stride, a.col_stride);
        let b = (b.data, b.offsets[i], b.row_stride, b.col_stride);
        if naive {
            naive_one(m, n, k, a, b, o, T::ZERO, |acc, x, y| acc + x * y);
        } else {
            gemm_one(m, n, k, a, b, o, par);
        }
    };
    let chunks = m * n;
    if threads <= 1 || total < SEQ_WORK {
        for (i, o) in out.chunks_exact_mut(chunks).enumerate() {
            one(i, o, Parallelism::None);
        }
    } else if per < GEMM_PAR_WORK {
        // Many small products: one single-threaded product per task, grouped so that each
        // task carries enough work.
        out.par_chunks_exact_mut(chunks)
            .enumerate()
            .with_min_len(TASK_WORK.div_ceil(per.max(1)))
            .for_each(|(i, o)| one(i, o, Parallelism::None));
    } else {
        // Large products: whole rounds of `threads` products run one per thread; the rest are
        // split inside gemm.
        let full = batch - batch % threads;
        let (head, tail) = out.split_at_mut(full * chunks);
        head.par_chunks_exact_mut(chunks)
            .enumerate()
            .for_each(|(i, o)| one(i, o, Parallelism::None));
        for (i, o) in tail.chunks_exact_mut(chunks).enumerate() {
            one(full + i, o, Parallelism::Rayon(threads));
        }
    }
}

/// `out = A * B` for one small product with plain loops; same operand convention as
/// [`gemm_one`]. `mul_add(acc, x, y)` is `acc + x * y` in the element type's arithmetic.
fn naive_one<T: Copy>(
    m: usize,
    n: usize,
    k: usize,
    (a, a_off, a_rs, a_cs): (&[T], usize, isize, isize),
    (b, b_off, b_rs, b_cs): (&[T], usize, isize, isize),
    out: &mut [T],
    zero: T,
    mul_add: impl Fn(T, T, T) -> T,
) {
    assert_eq!(
        Some(out.len()),
        m.checked_mul(n),
        "matmul: output block has the wrong length"
    );
    assert!(block_in_bounds(a.len(), a_off, m, k, a_rs, a_cs));
    assert!(block_in_bounds(b.len(), b_off, k, n, b_rs, b_cs));
    if n == 0 {
        return;
    }
    // The asserts keep every index below in 0..len, so the isize arithmetic cannot overflow.
    for (i, orow) in out.chunks_exact_mut(n).enumerate() {
        let a_row = a_off as isize + i as isize * a_rs;
        for (j, o) in orow.iter_mut().enumerate() {
            let b_col = b_off as isize + j as isize * b_cs;
            let mut acc = zero;
            for p in 0..k as isize {
                let x = a[(a_row + p * a_cs) as usize];
                let y = b[(b_col + p * b_rs) as usize];
                acc = mul_add(acc, x, y);
            }
            *o = acc;
        }
    }
}

/// Batched strided `i64` matrix product with the same contract as [`gemm_batched`].
///
/// Arithmetic wraps on overflow (like PyTorch's integer matmul in practice).
pub(crate) fn gemm_batched_i64(
    m: usize,
    n: usize,
    k: usize,
    a: MatRef<'_, i64>,
    b: MatRef<'_, i64>,
    out: &mut [i64],
) {
    let batch = check_batched(m, n, k, &a, &b, out.len());
    if m == 0 || n == 0 || batch == 0 {
        return;
    }
    // One output row per item: row `r` is row `r % m` of batch entry `r / m`.
    let row = |r: usize, o: &mut [i64]| {
        let (bi, i) = (r / m, r % m);
        o.fill(0);
        // All indices were validated by `check_batched`, so these stay within 0..len and the
        // arithmetic cannot overflow isize.
        let a_row = a.offsets[bi] as isize + i as isize * a.row_stride;
        let b_off = b.offsets[bi] as isize;
        for p in 0..k {
            let av = a.data[(a_row + p as isize * a.col_stride) as usize];
            let b_row = b_off + p as isize * b.row_stride;
            for (j, ov) in o.iter_mut().enumerate() {
                let bv = b.data[(b_row + j as isize * b.col_stride) as usize];
                *ov = ov.wrapping_add(av.wrapping_mul(bv));
            }
        }
    };
    let total = work(m, n, k).saturating_mul(batch);
    if rayon::current_num_threads() <= 1 || total < SEQ_WORK {
        out.chunks_exact_mut(n)
            .enumerate()
            .for_each(|(r, o)| row(r, o));
    } else {
        let min_len = TASK_WORK.div_ceil(work(1, n, k).max(1));
        out.par_chunks_exact_mut(n)
            .enumerate()
            .with_min_len(min_len)
            .for_each(|(r, o)| row(r, o));
    }
}

/// `(in + 2 * pad - dilation * (kernel - 1) - 1) / stride + 1`, or `None` when the input is
/// smaller than the dilated kernel.
fn conv_out_len(
    input: usize,
    kernel: usize,
    stride: usize,
    pad: usize,
    dil: usize,
) -> Option<usize> {
    // Checked: the shape rule keeps these sizes below 2^63, but this entry point asserts its
    // own preconditions.
    let padded = input.checked_add(pad.checked_mul(2)?)?;
    let span = dil.checked_mul(kernel.checked_sub(1)?)?.checked_add(1)?;
    padded.checked_sub(span).map(|x| x / stride + 1)
}

/// The output shape `[n, c_out, oh, ow]` of [`conv2d_forward`].
///
/// Panics if a kernel size, stride or dilation is 0, or if the padded input is smaller than
/// the dilated kernel (PyTorch raises an error there too).
pub(crate) fn conv2d_out_shape(
    in_shape: [usize; 4],
    w_shape: [usize; 4],
    stride: [usize; 2],
    padding: [usize; 2],
    dilation: [usize; 2],
) -> [usize; 4] {
    let [n, _, h, w] = in_shape;
    let [c_out, _, kh, kw] = w_shape;
    assert!(kh > 0 && kw > 0, "conv2d: kernel size must be positive");
    assert!(
        stride.iter().all(|&s| s > 0),
        "conv2d: stride must be positive"
    );
    assert!(
        dilation.iter().all(|&d| d > 0),
        "conv2d: dilation must be positive"
    );
    let too_small = || -> ! {
        panic!(
            "conv2d: padded input {h}x{w} (padding {padding:?}) is smaller than the dilated \
             kernel {kh}x{kw} (dilation {dilation:?})"
        )
    };
    let oh = conv_out_len(h, kh, stride[0], padding[0], dilation[0]).unwrap_or_else(|| too_small());
    let ow = conv_out_len(w, kw, stride[1], padding[1], dilation[1]).unwrap_or_else(|| too_small());
    [n, c_out, oh, ow]
}

/// The geometry of one 2-D convolution, shared by its helpers.
#[derive(Clone, Copy, Debug)]
struct ConvGeom {
    h: usize,
    w: usize,
    kh: usize,
    kw: usize,
    oh: usize,
    ow: usize,
    stride: [usize; 2],
    padding: [usize; 2],
    dilation: [usize; 2],
}

impl ConvGeom {
    /// Whether im2col would reproduce the input unchanged (1x1 kernel, stride 1, no padding).
    fn is_pointwise(&self) -> bool {
        self.kh == 1 && self.kw == 1 && self.stride == [1, 1] && self.padding == [0, 0]
    }

    /// Range of output columns `ow` whose input column `ow * s + kj * d - p` lies in `0..w`.
    fn valid_cols(&self, kj: usize) -> (usize, usize) {
        let (s, p) = (self.stride[1], self.padding[1]);
        let shift = kj * self.dilation[1]; // iw = ow * s + shift - p
        // First ow with ow * s + shift >= p.
        let lo = p.saturating_sub(shift).div_ceil(s).min(self.ow);
        // Last ow with ow * s + shift - p <= w - 1, i.e. ow * s <= w - 1 + p - shift.
        let hi = match (self.w + p).checked_sub(shift + 1) {
            Some(lim) => (lim / s + 1).min(self.ow),
            None => 0,
        };
        (lo, hi.max(lo))
    }

    /// Fills the columns of one image in `cols` from `x` (`[c, h, w]`), zero padded: row `r`
    /// of the `[c * kh * kw, oh * ow]` im2col matrix goes to
    /// `cols[r * row_stride + col_off..][..oh * ow]`. With `row_stride = oh * ow` and
    /// `col_off = 0` that is the matrix itself; a wider `row_stride` puts several images side
    /// by side, so one product covers them all. `c` is `cols.len() / (kh * kw * row_stride)`.
    fn im2col<T: GemmScalar>(
        &self,
        x: &[T],
        cols: &mut [T],
        row_stride: usize,
        col_off: usize,
        parallel: bool,
    ) {
        let plane = self.h * self.w;
        let ohw = self.oh * self.ow;
        let per_channel = self.kh * self.kw * row_stride;
        let channel = |(c, block): (usize, &mut [T])| {
            let xc = &x[c * plane..(c + 1) * plane];
            for r in 0..self.kh * self.kw {
                let dst = &mut block[r * row_stride + col_off..][..ohw];
                let (ki, kj) = (r / self.kw, r % self.kw);
                let (lo, hi) = self.valid_cols(kj);
                let (s, p) = (self.stride[1], self.padding[1]);
                for (o_h, drow) in dst.chunks_exact_mut(self.ow).enumerate() {
                    let ih =
                        (o_h * self.stride[0] + ki * self.dilation[0]).checked_sub(self.padding[0]);
                    match ih.filter(|&ih| ih < self.h) {
                        None => drow.fill(T::ZERO),
                        Some(ih) => {
                            let xrow = &xc[ih * self.w..(ih + 1) * self.w];
                            drow[..lo].fill(T::ZERO);
                            drow[hi..].fill(T::ZERO);
                            if lo < hi {
                                // iw = ow * s + kj * d - p, valid for lo <= ow < hi.
                                let iw0 = lo * s + kj * self.dilation[1] - p;
                                let src = xrow[iw0..].iter().step_by(s);
                                for (d, &v) in drow[lo..hi].iter_mut().zip(src) {
                                    *d = v;
                                }
                            }
                        }
                    }
                }
            }
        };
        if parallel {
            cols.par_chunks_exact_mut(per_channel)
                .enumerate()
                .for_each(channel);
        } else {
            cols.chunks_exact_mut(per_channel)
                .enumerate()
                .for_each(channel);
        }
    }
}

/// `buf` resized to `len` elements (`None`: a count that overflows), for a temporary as large
/// as the data (im2col columns, a product block): a refusal of the allocator fails the kernel
/// with `Error::Alloc` instead of aborting.
fn resize_temp<T: GemmScalar>(buf: &mut Vec<T>, len: Option<usize>) {
    let Some(len) = len else {
        AllocFailed { bytes: usize::MAX }.defer(T::DTYPE)
    };
    if len > buf.len() && buf.try_reserve_exact(len - buf.len()).is_err() {
        AllocFailed::of::<T>(len).defer(T::DTYPE)
    }
    buf.resize(len, T::ZERO);
}

/// Columns per product below which the images of an ungrouped convolution share one product:
/// a product per image of a few output pixels would be mostly gemm's packing overhead.
const CONV_BATCH_COLS: usize = 512;

/// 2-D convolution (cross-correlation, as in PyTorch), NCHW, without bias.
///
/// `input` is contiguous `[n, c_in, h, w]`, `weight` contiguous `[c_out, c_in / groups, kh,
/// kw]`, and `out` contiguous `[n, c_out, oh, ow]` as given by [`conv2d_out_shape`]; `out` is
/// fully overwritten. Padding is zero padding.
///
/// Panics on inconsistent shapes or lengths, zero strides/dilations/groups, or channel counts
/// not divisible by `groups`.
pub(crate) fn conv2d_forward<T: GemmScalar>(
    input: &[T],
    in_shape: [usize; 4],
    weight: &[T],
    w_shape: [usize; 4],
    stride: [usize; 2],
    padding: [usize; 2],
    dilation: [usize; 2],
    groups: usize,
    out: &mut [T],
) {
    let [n, c_in, h, w] = in_shape;
    let [c_out, c_in_g, kh, kw] = w_shape;
    assert!(groups > 0, "conv2d: groups must be positive");
    assert!(
        c_in % groups == 0 && c_out % groups == 0,
        "conv2d: channels in {c_in} / out {c_out} not divisible by groups {groups}"
    );
    assert_eq!(
        c_in / groups,
        c_in_g,
        "conv2d: weight expects {c_in_g} input channels per group, input has {c_in} in \
         {groups} groups"
    );
    let [_, _, oh, ow] = conv2d_out_shape(in_shape, w_shape, stride, padding, dilation);
    let numel = |s: &[usize]| s.iter().try_fold(1usize, |a, &d| a.checked_mul(d));
    assert_eq!(Some(input.len()), numel(&in_shape), "conv2d: input length");
    assert_eq!(Some(weight.len()), numel(&w_shape), "conv2d: weight length");
    assert_eq!(
        Some(out.len()),
        numel(&[n, c_out, oh, ow]),
        "conv2d: output length"
    );
    if out.is_empty() {
        return;
    }
    let kdim = c_in_g * kh * kw;
    if kdim == 0 || h * w == 0 {
        // Every product term is absent or reads padding.
        out.fill(T::ZERO);
        return;
    }
    let geom = ConvGeom {
        h,
        w,
        kh,
        kw,
        oh,
        ow,
        stride,
        padding,
        dilation,
    };
    let c_out_g = c_out / groups;
    let ohw = oh * ow;
    let x_item = c_in_g * h * w;
    let o_item = c_out_g * ohw;
    // Work item `it` is image `it / groups`, group `it % groups`: the product
    // weight_g [c_out_g, kdim] x im2col(x) [kdim, ohw] into the (contiguous) output channels of
    // that group. Input channels of a group are contiguous too, so item `it` reads
    // `input[it * x_item..][..x_item]`.
    let item = |it: usize, o: &mut [T], cols: &mut Vec<T>, par: Parallelism, par_cols: bool| {
        let g = it % groups;
        let x = &input[it * x_item..(it + 1) * x_item];
        let rhs: &[T] = if geom.is_pointwise() {
            x
        } else {
            resize_temp(cols, kdim.checked_mul(ohw));
            geom.im2col(x, cols, ohw, 0, par_cols);
            cols
        };
        gemm_one(
            c_out_g,
            ohw,
            kdim,
            (weight, g * c_out_g * kdim, kdim as isize, 1),
            (rhs, 0, ohw as isize, 1),
            o,
            par,
        );
    };
    let threads = rayon::current_num_threads();
    if groups == 1 && !geom.is_pointwise() && ohw < CONV_BATCH_COLS && n > 1 {
        // Small outputs: a block of images side by side in one im2col matrix
        // [kdim, images * ohw], one product [c_out, images * ohw], then each image's
        // channels copied to their place in `out`.
        let per_block = (CONV_BATCH_COLS / ohw).clamp(1, n);
        let block = |bi: usize, o: &mut [T], (cols, prod): &mut (Vec<T>, Vec<T>), par| {
            let images = o.len() / o_item;
            let width = images * ohw;
            resize_temp(cols, kdim.checked_mul(width));
            for b in 0..images {
                let img = bi * per_block + b;
                let x = &input[img * x_item..(img + 1) * x_item];
                geom.im2col(x, cols, width, b * ohw, false);
            }
            resize_temp(prod, c_out.checked_mul(width));
            gemm_one(
                c_out,
                width,
                kdim,
                (weight, 0, kdim as isize, 1),
                (cols, 0, width as isize, 1),
                prod,
                par,
            );
            for (b, o_img) in o.chunks_exact_mut(o_item).enumerate() {
                for (co, dst) in o_img.chunks_exact_mut(ohw).enumerate() {
                    dst.copy_from_slice(&prod[co * width + b * ohw..][..ohw]);
                }
            }
        };
        let chunk = per_block * o_item;
        if threads > 1 && n > per_block {
            out.par_chunks_mut(chunk)
                .enumerate()
                .for_each_init(Default::default, |bufs, (bi, o)| {
                    block(bi, o, bufs, Parallelism::None)
                });
        } else {
            let par = if threads > 1 && work(c_out, n * ohw, kdim) >= GEMM_PAR_WORK {
                Parallelism::Rayon(threads)
            } else {
                Parallelism::None
            };
            let mut bufs = Default::default();
            for (bi, o) in out.chunks_mut(chunk).enumerate() {
                block(bi, o, &mut bufs, par);
            }
        }
        return;
    }
    let items = n * groups;
    let per_item = work(c_out_g, ohw, kdim);
    let total = per_item.saturating_mul(items);
    if threads <= 1 || total < SEQ_WORK {
        let mut cols = Vec::new();
        for (it, o) in out.chunks_exact_mut(o_item).enumerate() {
            item(it, o, &mut cols, Parallelism::None, false);
        }
    } else if items >= 2 * threads || per_item < GEMM_PAR_WORK {
        let min_len = TASK_WORK.div_ceil(per_item.max(1));
        out.par_chunks_exact_mut(o_item)
            .enumerate()
            .with_min_len(min_len)
            .for_each_init(Vec::new, |cols, (it, o)| {
                item(it, o, cols, Parallelism::None, false);
            });
    } else {
        // Few large items: thread inside im2col and gemm.
        let mut cols = Vec::new();
        for (it, o) in out.chunks_exact_mut(o_item).enumerate() {
            item(it, o, &mut cols, Parallelism::Rayon(threads), true);
        }
    }
}

/// PyTorch's pooling output length, including its `ceil_mode` rule (the last window must start
/// inside the input or its left padding).
fn pool_out_len(
    input: usize,
    kernel: usize,
    stride: usize,
    pad: usize,
    dil: usize,
    ceil_mode: bool,
) -> Option<usize> {
    let span = dil * (kernel - 1) + 1;
    // PyTorch floors `(input + 2 * pad - span + (ceil_mode ? stride - 1 : 0)) / stride`, so in
    // ceil mode a window that starts inside the input but overhangs it still counts.
    let num = (input + 2 * pad + if ceil_mode { stride - 1 } else { 0 }).checked_sub(span)?;
    let mut len = num / stride + 1;
    if ceil_mode && (len - 1) * stride >= input + pad {
        len -= 1;
    }
    Some(len)
}

/// The output shape `[n, c, oh, ow]` of [`max_pool2d_forward`], following PyTorch.
///
/// Panics if a kernel size, stride or dilation is 0, if padding exceeds half the kernel size,
/// or if the output would be empty (PyTorch raises an error in all those cases).
pub(crate) fn max_pool2d_out_shape(
    in_shape: [usize; 4],
    kernel: [usize; 2],
    stride: [usize; 2],
    padding: [usize; 2],
    dilation: [usize; 2],
    ceil_mode: bool,
) -> [usize; 4] {
    let [n, c, h, w] = in_shape;
    assert!(
        h > 0 && w > 0,
        "max_pool2d: input height and width must be positive"
    );
    assert!(
        kernel.iter().all(|&k| k > 0),
        "max_pool2d: kernel size must be positive"
    );
    assert!(
        stride.iter().all(|&s| s > 0),
        "max_pool2d: stride must be positive"
    );
    assert!(
        dilation.iter().all(|&d| d > 0),
        "max_pool2d: dilation must be positive"
    );
    assert!(
        padding[0] <= kernel[0] / 2 && padding[1] <= kernel[1] / 2,
        "max_pool2d: padding {padding:?} must be at most half the kernel size {kernel:?}"
    );
    let dim = |i: usize, input: usize| {
        pool_out_len(
            input,
            kernel[i],
            stride[i],
            padding[i],
            dilation[i],
            ceil_mode,
        )
        .filter(|&l| l > 0)
        .unwrap_or_else(|| {
            panic!(
                "max_pool2d: input {h}x{w} too small for kernel {kernel:?} with padding \
                     {padding:?} and dilation {dilation:?}"
            )
        })
    };
    [n, c, dim(0, h), dim(1, w)]
}

/// 2-D max pooling, NCHW. `input` is contiguous `[n, c, h, w]`, `out` contiguous
/// `[n, c, oh, ow]` as given by [`max_pool2d_out_shape`] (same arguments) and fully
/// overwritten. Padding behaves as `-inf`; NaN propagates (a window holding NaN yields NaN).
pub(crate) fn max_pool2d_forward<T: GemmScalar>(
    input: &[T],
    in_shape: [usize; 4],
    kernel: [usize; 2],
    stride: [usize; 2],
    padding: [usize; 2],
    dilation: [usize; 2],
    ceil_mode: bool,
    out: &mut [T],
) {
    let [n, c, h, w] = in_shape;
    let [_, _, oh, ow] =
        max_pool2d_out_shape(in_shape, kernel, stride, padding, dilation, ceil_mode);
    let planes = n.checked_mul(c).expect("max_pool2d: shape overflows");
    assert_eq!(
        Some(input.len()),
        planes.checked_mul(h).and_then(|x| x.checked_mul(w)),
        "max_pool2d: input length"
    );
    assert_eq!(
        Some(out.len()),
        planes.checked_mul(oh).and_then(|x| x.checked_mul(ow)),
        "max_pool2d: output length"
    );
    if out.is_empty() {
        return;
    }
    let [kh, kw] = kernel;
    // Valid kernel taps along one axis for output position `o`: those with
    // 0 <= o * s + t * d - p < len.
    let taps = |o: usize, axis: usize, len: usize, k: usize| {
        let (s, p, d) = (stride[axis], padding[axis], dilation[axis]);
        let start = o * s; // input index + p
        let lo = p.saturating_sub(start).div_ceil(d);
        let hi = match (len + p).checked_sub(start + 1) {
            Some(lim) => (lim / d + 1).min(k),
            None => 0,
        };
        (lo, hi, start, p, d)
    };
    let plane = |(x, o): (&[T], &mut [T])| {
        for (o_h, orow) in o.chunks_exact_mut(ow).enumerate() {
            let (ki_lo, ki_hi, sh, ph, dh) = taps(o_h, 0, h, kh);
            for (o_w, ov) in orow.iter_mut().enumerate() {
                let (kj_lo, kj_hi, sw, pw, dw) = taps(o_w, 1, w, kw);
                let mut m = T::NEG_INFINITY;
                for ki in ki_lo..ki_hi {
                    let row = &x[(sh + ki * dh - ph) * w..][..w];
                    for kj in kj_lo..kj_hi {
                        let v = row[sw + kj * dw - pw];
                        if v > m || v.is_nan() {
                            m = v;
                        }
                    }
                }
                *ov = m;
            }
        }
    };
    let per_plane = (oh * ow).saturating_mul(kh).saturating_mul(kw);
    let total = per_plane.saturating_mul(planes);
    let x_planes = input.chunks_exact(h * w);
    if rayon::current_num_threads() <= 1 || total < SEQ_WORK {
        x_planes.zip(out.chunks_exact_mut(oh * ow)).for_each(plane);
    } else {
        input
            .par_chunks_exact(h * w)
            .zip(out.par_chunks_exact_mut(oh * ow))
            .with_min_len(TASK_WORK.div_ceil(per_plane.max(1)))
            .for_each(plane);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tiny deterministic generator (64-bit LCG, high bits out).
    struct Lcg(u64);

    impl Lcg {
        fn next(&mut self) -> u64 {
            self.0 = self
                .0
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            self.0 >> 33
        }
        /// Uniform in `0..n`.
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
        /// Uniform in `[-1, 1)`.
        fn unit(&mut self) -> f64 {
            (self.next() as f64 / (1u64 << 31) as f64) * 2.0 - 1.0
        }
    }

    trait TestScalar: GemmScalar {
        const TOL: f64;
        fn from_f64(x: f64) -> Self;
        fn to_f64(self) -> f64;
    }

    impl TestScalar for f32 {
        const TOL: f64 = 1e-5;
        fn from_f64(x: f64) -> Self {
            x as f32
        }
        fn to_f64(self) -> f64 {
            f64::from(self)
        }
    }

    impl TestScalar for f64 {
        const TOL: f64 = 1e-12;
        fn from_f64(x: f64) -> Self {
            x
        }
        fn to_f64(self) -> f64 {
            self
        }
    }

    /// Runs `f` on a dedicated 3-thread pool so the parallel branches run even on one core.
    fn pooled<R: Send>(f: impl FnOnce() -> R + Send) -> R {
        rayon::ThreadPoolBuilder::new()
            .num_threads(3)
            .build()
            .unwrap()
            .install(f)
    }

    /// A strided operand: its data, per-batch offsets and strides.
    struct Operand<T> {
        data: Vec<T>,
        offsets: Vec<usize>,
        rs: isize,
        cs: isize,
    }

    impl<T: Copy> Operand<T> {
        fn as_ref(&self) -> MatRef<'_, T> {
            MatRef {
                data: &self.data,
                offsets: &self.offsets,
                row_stride: self.rs,
                col_stride: self.cs,
            }
        }
        fn at(&self, b: usize, i: usize, j: usize) -> T {
            let idx = self.offsets[b] as isize + i as isize * self.rs + j as isize * self.cs;
            self.data[idx as usize]
        }
    }

    /// The operand layouts the tests draw from.
    #[derive(Clone, Copy, Debug)]
    enum Kind {
        RowMajor,
        ColMajor,
        Padded,
        RowBroadcast,
        ColBroadcast,
        Reversed,
    }

    const KINDS: [Kind; 6] = [
        Kind::RowMajor,
        Kind::ColMajor,
        Kind::Padded,
        Kind::RowBroadcast,
        Kind::ColBroadcast,
        Kind::Reversed,
    ];

    /// A random `rows x cols` operand of `batch` entries with the given layout; with
    /// `broadcast`, every batch entry shares one matrix (batch stride 0).
    fn operand<T>(
        rng: &mut Lcg,
        rows: usize,
        cols: usize,
        batch: usize,
        kind: Kind,
        broadcast: bool,
        fill: impl Fn(&mut Lcg) -> T,
    ) -> Operand<T> {
        let (r, c) = (rows as isize, cols as isize);
        let (rs, cs) = match kind {
            Kind::RowMajor => (c, 1),
            Kind::ColMajor => (1, r),
            Kind::Padded => (2 * c + 3, 2),
            Kind::RowBroadcast => (0, 1),
            Kind::ColBroadcast => (1, 0),
            Kind::Reversed => (-c, -1),
        };
        let span = |e: isize, s: isize| if e == 0 { 0 } else { (e - 1) * s };
        let lo = span(r, rs).min(0) + span(c, cs).min(0);
        let hi = span(r, rs).max(0) + span(c, cs).max(0);
        let size = (hi - lo + 1) as usize;
        let gap = rng.below(3);
        let offsets: Vec<usize> = (0..batch)
            .map(|b| if broadcast { 0 } else { b * (size + gap) } + (-lo) as usize + gap)
            .collect();
        let len = offsets.iter().max().map_or(0, |&o| o + hi as usize + 1) + rng.below(3);
        let data = (0..len).map(|_| fill(rng)).collect();
        Operand {
            data,
            offsets,
            rs,
            cs,
        }
    }

    fn check_gemm<T: TestScalar>(
        rng: &mut Lcg,
        (m, n, k, batch): (usize, usize, usize, usize),
        kinds: (Kind, Kind),
        broadcast: (bool, bool),
    ) {
        let fill = |r: &mut Lcg| T::from_f64(r.unit());
        let a = operand(rng, m, k, batch, kinds.0, broadcast.0, fill);
        let b = operand(rng, k, n, batch, kinds.1, broadcast.1, fill);
        let mut out = vec![T::from_f64(f64::NAN); batch * m * n];
        gemm_batched(m, n, k, a.as_ref(), b.as_ref(), &mut out);
        for bi in 0..batch {
            for i in 0..m {
                for j in 0..n {
                    let (mut want, mut scale) = (0.0, 1.0);
                    for p in 0..k {
                        let t = a.at(bi, i, p).to_f64() * b.at(bi, p, j).to_f64();
                        want += t;
                        scale += t.abs();
                    }
                    let got = out[(bi * m + i) * n + j].to_f64();
                    assert!(
                        (got - want).abs() <= T::TOL * scale,
                        "{m}x{n}x{k} batch {batch} {kinds:?} {broadcast:?} at [{bi},{i},{j}]: \
                         got {got}, want {want}"
                    );
                }
            }
        }
    }

    fn random_gemm<T: TestScalar>(seed: u64) {
        let mut rng = Lcg(seed);
        for case in 0..120 {
            let dim = |r: &mut Lcg| {
                if r.below(8) == 0 {
                    r.below(2)
                } else {
                    1 + r.below(40)
                }
            };
            let shape = (
                dim(&mut rng),
                dim(&mut rng),
                dim(&mut rng),
                1 + rng.below(4),
            );
            let kinds = (KINDS[case % 6], KINDS[rng.below(6)]);
            let broadcast = (rng.below(3) == 0, rng.below(3) == 0);
            check_gemm::<T>(&mut rng, shape, kinds, broadcast);
        }
    }

    #[test]
    fn gemm_random_f64() {
        random_gemm::<f64>(1);
        pooled(|| random_gemm::<f64>(2));
    }

    #[test]
    fn gemm_random_f32() {
        random_gemm::<f32>(3);
        pooled(|| random_gemm::<f32>(4));
    }

    #[test]
    fn gemm_every_layout_pair() {
        let mut rng = Lcg(5);
        for ka in KINDS {
            for kb in KINDS {
                check_gemm::<f64>(&mut rng, (7, 5, 9, 2), (ka, kb), (false, true));
                check_gemm::<f32>(&mut rng, (17, 19, 23, 2), (ka, kb), (true, false));
            }
        }
    }

    #[test]
    fn gemm_large_products_thread_inside_gemm() {
        let mut rng = Lcg(6);
        pooled(|| {
            // One product above the in-gemm threading threshold.
            check_gemm::<f32>(
                &mut rng,
                (150, 160, 170, 1),
                (Kind::RowMajor, Kind::ColMajor),
                (false, false),
            );
            // Four products: one round of three across threads, then one threaded inside gemm.
            check_gemm::<f64>(
                &mut rng,
                (145, 150, 140, 4),
                (Kind::ColMajor, Kind::RowMajor),
                (false, true),
            );
        });
    }

    #[test]
    fn gemm_many_small_matrices() {
        let mut rng = Lcg(7);
        pooled(|| {
            for shape in [
                (2, 3, 4, 700),
                (5, 6, 7, 300),
                (12, 9, 11, 150),
                (1, 33, 17, 100),
            ] {
                for kinds in [
                    (Kind::RowMajor, Kind::RowMajor),
                    (Kind::ColMajor, Kind::Padded),
                ] {
                    check_gemm::<f32>(&mut rng, shape, kinds, (false, false));
                    check_gemm::<f64>(&mut rng, shape, kinds, (true, false));
                }
            }
        });
    }

    #[test]
    fn gemm_degenerate_sizes() {
        // k == 0 zero-fills, even with empty operand data.
        let mut out = vec![f32::NAN; 2 * 3 * 4];
        let offs = [0, 0];
        let empty = MatRef {
            data: &[],
            offsets: &offs,
            row_stride: 0,
            col_stride: 1,
        };
        gemm_batched(3, 4, 0, empty, empty, &mut out);
        assert!(out.iter().all(|&x| x == 0.0));
        let mut out_i = vec![7i64; 2 * 3 * 4];
        let empty_i = MatRef {
            data: &[],
            offsets: &offs,
            row_stride: 1,
            col_stride: 1,
        };
        gemm_batched_i64(3, 4, 0, empty_i, empty_i, &mut out_i);
        assert!(out_i.iter().all(|&x| x == 0));
        // m == 0 or n == 0: nothing to write.
        let data = [1.0f64; 9];
        let ok = MatRef {
            data: &data,
            offsets: &offs,
            row_stride: 3,
            col_stride: 1,
        };
        gemm_batched::<f64>(0, 3, 3, ok, ok, &mut []);
        gemm_batched::<f64>(2, 0, 3, ok, ok, &mut []);
        // batch == 0.
        let none = MatRef {
            data: &data,
            offsets: &[],
            row_stride: 3,
            col_stride: 1,
        };
        gemm_batched::<f64>(2, 3, 3, none, none, &mut []);
        // Random shapes with zero dims through the checker too.
        let mut rng = Lcg(8);
        for shape in [
            (0, 4, 5, 2),
            (4, 0, 5, 2),
            (4, 5, 0, 2),
            (0, 0, 0, 3),
            (3, 3, 3, 0),
        ] {
            check_gemm::<f32>(
                &mut rng,
                shape,
                (Kind::RowMajor, Kind::ColMajor),
                (false, false),
            );
        }
    }

    #[test]
    fn gemm_i64_matches_reference() {
        let mut rng = Lcg(9);
        let fill = |r: &mut Lcg| r.below(2001) as i64 - 1000;
        for case in 0..60 {
            let (m, n, k) = (rng.below(20), rng.below(20), rng.below(20));
            let batch = 1 + rng.below(3);
            let (bcast, kind_b) = (rng.below(2) == 0, KINDS[rng.below(6)]);
            let a = operand(&mut rng, m, k, batch, KINDS[case % 6], bcast, fill);
            let b = operand(&mut rng, k, n, batch, kind_b, false, fill);
            let mut out = vec![i64::MIN; batch * m * n];
            let run = |out: &mut [i64]| gemm_batched_i64(m, n, k, a.as_ref(), b.as_ref(), out);
            if case % 2 == 0 {
                run(&mut out);
            } else {
                pooled(|| run(&mut out));
            }
            for bi in 0..batch {
                for i in 0..m {
                    for j in 0..n {
                        let want: i64 = (0..k).map(|p| a.at(bi, i, p) * b.at(bi, p, j)).sum();
                        assert_eq!(out[(bi * m + i) * n + j], want, "case {case}");
                    }
                }
            }
        }
        // Large enough to take the parallel row path.
        let (m, n, k) = (64, 48, 40);
        let a = operand(&mut rng, m, k, 1, Kind::RowMajor, false, fill);
        let b = operand(&mut rng, k, n, 1, Kind::ColMajor, false, fill);
        let mut out = vec![0; m * n];
        pooled(|| gemm_batched_i64(m, n, k, a.as_ref(), b.as_ref(), &mut out));
        for i in 0..m {
            for j in 0..n {
                let want: i64 = (0..k).map(|p| a.at(0, i, p) * b.at(0, p, j)).sum();
                assert_eq!(out[i * n + j], want);
            }
        }
        // Overflow wraps.
        let big = [i64::MAX, 3];
        let op = MatRef {
            data: &big,
            offsets: &[0],
            row_stride: 2,
            col_stride: 1,
        };
        let col = MatRef {
            data: &big,
            offsets: &[0],
            row_stride: 1,
            col_stride: 1,
        };
        let mut out = [0i64];
        gemm_batched_i64(1, 1, 2, op, col, &mut out);
        assert_eq!(out[0], i64::MAX.wrapping_mul(i64::MAX).wrapping_add(9));
    }

    fn mat(data: &[f64], offset: usize, rs: isize, cs: isize) -> MatRef<'_, f64> {
        MatRef {
            data,
            offsets: std::slice::from_ref(Box::leak(Box::new(offset))),
            row_stride: rs,
            col_stride: cs,
        }
    }

    #[test]
    #[should_panic(expected = "reaches outside")]
    fn gemm_rejects_offset_past_end() {
        let d = [0.0; 12];
        let mut out = [0.0; 9];
        // 3x4 row-major needs 12 elements from offset 1: one too many.
        gemm_batched(3, 3, 4, mat(&d, 1, 4, 1), mat(&d, 0, 3, 1), &mut out);
    }

    #[test]
    #[should_panic(expected = "reaches outside")]
    fn gemm_rejects_negative_reach() {
        let d = [0.0; 12];
        let mut out = [0.0; 9];
        // Rows go backwards from offset 4, reaching index -4.
        gemm_batched(3, 3, 4, mat(&d, 0, 3, 1), mat(&d, 4, -4, 1), &mut out);
    }

    #[test]
    #[should_panic(expected = "reaches outside")]
    fn gemm_i64_rejects_out_of_bounds() {
        let d = [0i64; 4];
        let m = MatRef {
            data: &d,
            offsets: &[0, 1],
            row_stride: 2,
            col_stride: 1,
        };
        let mut out = [0; 8];
        gemm_batched_i64(2, 2, 2, m, m, &mut out);
    }

    #[test]
    #[should_panic(expected = "output has")]
    fn gemm_rejects_wrong_output_length() {
        let d = [0.0; 4];
        let mut out = [0.0; 3];
        gemm_batched(2, 2, 2, mat(&d, 0, 2, 1), mat(&d, 0, 2, 1), &mut out);
    }

    #[test]
    #[should_panic(expected = "different batch sizes")]
    fn gemm_rejects_batch_mismatch() {
        let d = [0.0f32; 4];
        let a = MatRef {
            data: &d,
            offsets: &[0, 0],
            row_stride: 2,
            col_stride: 1,
        };
        let b = MatRef {
            data: &d,
            offsets: &[0],
            row_stride: 2,
            col_stride: 1,
        };
        gemm_batched(2, 2, 2, a, b, &mut [0.0; 8]);
    }

    /// Direct 7-loop convolution in f64.
    fn conv_reference(
        x: &[f64],
        [n, c_in, h, w]: [usize; 4],
        wt: &[f64],
        [c_out, c_in_g, kh, kw]: [usize; 4],
        stride: [usize; 2],
        padding: [usize; 2],
        dilation: [usize; 2],
        groups: usize,
        [oh, ow]: [usize; 2],
    ) -> Vec<f64> {
        let c_out_g = c_out / groups;
        let mut out = vec![0.0; n * c_out * oh * ow];
        for b in 0..n {
            for co in 0..c_out {
                let g = co / c_out_g;
                for y in 0..oh {
                    for xo in 0..ow {
                        let mut acc = 0.0;
                        for ci in 0..c_in_g {
                            for ki in 0..kh {
                                for kj in 0..kw {
                                    let ih = (y * stride[0] + ki * dilation[0]) as isize
                                        - padding[0] as isize;
                                    let iw = (xo * stride[1] + kj * dilation[1]) as isize
                                        - padding[1] as isize;
                                    if ih < 0 || iw < 0 || ih >= h as isize || iw >= w as isize {
                                        continue;
                                    }
                                    let c = g * c_in_g + ci;
                                    let xi = ((b * c_in + c) * h + ih as usize) * w + iw as usize;
                                    let wi = ((co * c_in_g + ci) * kh + ki) * kw + kj;
                                    acc += x[xi] * wt[wi];
                                }
                            }
                        }
                        out[((b * c_out + co) * oh + y) * ow + xo] = acc;
                    }
                }
            }
        }
        out
    }

    type ConvCase = (
        [usize; 4],
        [usize; 4],
        [usize; 2],
        [usize; 2],
        [usize; 2],
        usize,
    );

    fn check_conv<T: TestScalar>(rng: &mut Lcg, case: ConvCase) {
        let (in_shape, w_shape, stride, padding, dilation, groups) = case;
        let x64: Vec<f64> = (0..in_shape.iter().product()).map(|_| rng.unit()).collect();
        let w64: Vec<f64> = (0..w_shape.iter().product()).map(|_| rng.unit()).collect();
        let x: Vec<T> = x64.iter().map(|&v| T::from_f64(v)).collect();
        let wt: Vec<T> = w64.iter().map(|&v| T::from_f64(v)).collect();
        let x64: Vec<f64> = x.iter().map(|v| v.to_f64()).collect();
        let w64: Vec<f64> = wt.iter().map(|v| v.to_f64()).collect();
        let shape = conv2d_out_shape(in_shape, w_shape, stride, padding, dilation);
        assert_eq!(shape[..2], [in_shape[0], w_shape[0]]);
        let mut out = vec![T::from_f64(f64::NAN); shape.iter().product()];
        conv2d_forward(
            &x, in_shape, &wt, w_shape, stride, padding, dilation, groups, &mut out,
        );
        let want = conv_reference(
            &x64,
            in_shape,
            &w64,
            w_shape,
            stride,
            padding,
            dilation,
            groups,
            [shape[2], shape[3]],
        );
        let scale = 1.0 + (w_shape[1] * w_shape[2] * w_shape[3]) as f64;
        for (i, (g, w)) in out.iter().zip(&want).enumerate() {
            assert!(
                (g.to_f64() - w).abs() <= T::TOL * scale,
                "{case:?} at {i}: got {g:?}, want {w}"
            );
        }
    }

    fn conv_cases() -> Vec<ConvCase> {
        vec![
            ([2, 3, 7, 6], [4, 3, 3, 3], [1, 1], [0, 0], [1, 1], 1),
            ([2, 3, 7, 6], [4, 3, 3, 3], [1, 1], [1, 1], [1, 1], 1),
            ([1, 4, 9, 11], [6, 2, 3, 2], [2, 3], [1, 2], [1, 1], 2),
            ([3, 4, 10, 9], [4, 1, 3, 3], [1, 2], [2, 1], [2, 3], 4),
            ([2, 6, 8, 8], [9, 2, 1, 1], [1, 1], [0, 0], [1, 1], 3),
            ([2, 5, 8, 7], [3, 5, 1, 1], [2, 2], [0, 0], [1, 1], 1),
            ([1, 2, 5, 5], [3, 2, 2, 2], [3, 3], [4, 3], [2, 2], 1),
            ([1, 1, 1, 1], [2, 1, 3, 3], [1, 1], [1, 1], [1, 1], 1),
            ([2, 3, 6, 6], [2, 3, 6, 6], [1, 1], [0, 0], [1, 1], 1),
            ([0, 3, 6, 6], [2, 3, 3, 3], [1, 1], [0, 0], [1, 1], 1),
            ([2, 0, 6, 6], [2, 0, 3, 3], [1, 1], [1, 1], [1, 1], 1),
            ([2, 2, 0, 4], [2, 2, 1, 1], [1, 1], [1, 0], [1, 1], 1),
            // Many small images: blocks of images share one product, the last block ragged.
            ([70, 3, 5, 6], [4, 3, 3, 3], [1, 1], [1, 1], [1, 1], 1),
            ([45, 2, 9, 8], [3, 2, 2, 3], [2, 1], [1, 0], [1, 2], 1),
            ([600, 1, 3, 3], [2, 1, 2, 2], [1, 1], [0, 0], [1, 1], 1),
        ]
    }

    #[test]
    fn conv2d_matches_reference() {
        let mut rng = Lcg(10);
        for case in conv_cases() {
            check_conv::<f64>(&mut rng, case);
            check_conv::<f32>(&mut rng, case);
            pooled(|| check_conv::<f32>(&mut Lcg(11), case));
        }
    }

    #[test]
    fn conv2d_parallel_paths() {
        let mut rng = Lcg(12);
        pooled(|| {
            // Many items: split across images and groups.
            check_conv::<f32>(
                &mut rng,
                ([6, 4, 12, 12], [8, 2, 3, 3], [1, 1], [1, 1], [1, 1], 2),
            );
            // One large item: threaded im2col and gemm.
            check_conv::<f32>(
                &mut rng,
                ([1, 16, 30, 30], [64, 16, 3, 3], [1, 1], [1, 1], [1, 1], 1),
            );
            check_conv::<f64>(
                &mut rng,
                ([2, 8, 40, 40], [64, 8, 3, 3], [1, 1], [2, 2], [2, 2], 1),
            );
        });
    }

    #[test]
    #[should_panic(expected = "smaller than the dilated kernel")]
    fn conv2d_rejects_too_small_input() {
        conv2d_out_shape([1, 1, 2, 2], [1, 1, 3, 3], [1, 1], [0, 0], [1, 1]);
    }

    /// Direct max pooling in f64, NaN-propagating.
    fn pool_reference(
        x: &[f64],
        [n, c, h, w]: [usize; 4],
        [kh, kw]: [usize; 2],
        stride: [usize; 2],
        padding: [usize; 2],
        dilation: [usize; 2],
        [oh, ow]: [usize; 2],
    ) -> Vec<f64> {
        let mut out = vec![f64::NEG_INFINITY; n * c * oh * ow];
        for p in 0..n * c {
            for y in 0..oh {
                for xo in 0..ow {
                    let o = &mut out[(p * oh + y) * ow + xo];
                    for ki in 0..kh {
                        for kj in 0..kw {
                            let ih =
                                (y * stride[0] + ki * dilation[0]) as isize - padding[0] as isize;
                            let iw =
                                (xo * stride[1] + kj * dilation[1]) as isize - padding[1] as isize;
                            if ih < 0 || iw < 0 || ih >= h as isize || iw >= w as isize {
                                continue;
                            }
                            let v = x[(p * h + ih as usize) * w + iw as usize];
                            if v.is_nan() || o.is_nan() {
                                *o = f64::NAN;
                            } else {
                                *o = o.max(v);
                            }
                        }
                    }
                }
            }
        }
        out
    }

    type PoolCase = (
        [usize; 4],
        [usize; 2],
        [usize; 2],
        [usize; 2],
        [usize; 2],
        bool,
    );

    fn check_pool<T: TestScalar>(rng: &mut Lcg, case: PoolCase, nan_every: usize) {
        let (in_shape, kernel, stride, padding, dilation, ceil) = case;
        let x: Vec<T> = (0..in_shape.iter().product())
            .map(|i| {
                if nan_every > 0 && i % nan_every == 3 {
                    T::from_f64(f64::NAN)
                } else {
                    T::from_f64(rng.unit())
                }
            })
            .collect();
        let x64: Vec<f64> = x.iter().map(|v| v.to_f64()).collect();
        let shape = max_pool2d_out_shape(in_shape, kernel, stride, padding, dilation, ceil);
        let mut out = vec![T::ZERO; shape.iter().product()];
        max_pool2d_forward(
            &x, in_shape, kernel, stride, padding, dilation, ceil, &mut out,
        );
        let want = pool_reference(
            &x64,
            in_shape,
            kernel,
            stride,
            padding,
            dilation,
            [shape[2], shape[3]],
        );
        for (i, (g, w)) in out.iter().zip(&want).enumerate() {
            let g = g.to_f64();
            assert!(
                g == *w || (g.is_nan() && w.is_nan()),
                "{case:?} at {i}: got {g}, want {w}"
            );
        }
    }

    #[test]
    fn max_pool2d_matches_reference() {
        let cases: [PoolCase; 9] = [
            ([2, 3, 8, 8], [2, 2], [2, 2], [0, 0], [1, 1], false),
            ([2, 3, 9, 7], [3, 3], [2, 2], [1, 1], [1, 1], false),
            ([2, 3, 9, 7], [3, 3], [2, 2], [1, 1], [1, 1], true),
            ([1, 2, 5, 5], [2, 2], [3, 3], [1, 1], [1, 1], true),
            ([1, 2, 11, 10], [3, 2], [2, 3], [1, 1], [2, 3], false),
            ([1, 2, 11, 10], [3, 2], [2, 3], [1, 1], [2, 3], true),
            ([3, 1, 4, 6], [4, 6], [1, 1], [2, 3], [1, 1], false),
            ([1, 1, 1, 1], [1, 1], [1, 1], [0, 0], [1, 1], true),
            ([0, 2, 4, 4], [2, 2], [2, 2], [0, 0], [1, 1], false),
        ];
        let mut rng = Lcg(13);
        for case in cases {
            for nan_every in [0, 7] {
                check_pool::<f32>(&mut rng, case, nan_every);
                check_pool::<f64>(&mut rng, case, nan_every);
            }
        }
        pooled(|| {
            let case = ([4, 16, 40, 40], [3, 3], [2, 2], [1, 1], [1, 1], true);
            check_pool::<f32>(&mut rng, case, 0);
            check_pool::<f64>(&mut rng, case, 97);
        });
    }

    #[test]
    fn max_pool2d_nan_propagates() {
        let x = [1.0f32, f32::NAN, 3.0, 2.0];
        let mut out = [0.0f32];
        max_pool2d_forward(
            &x,
            [1, 1, 2, 2],
            [2, 2],
            [2, 2],
            [0, 0],
            [1, 1],
            false,
            &mut out,
        );
        assert!(out[0].is_nan());
        let x = [f64::NAN, 5.0, 3.0, 2.0];
        let mut out = [0.0f64];
        max_pool2d_forward(
            &x,
            [1, 1, 2, 2],
            [2, 2],
            [2, 2],
            [0, 0],
            [1, 1],
            false,
            &mut out,
        );
        assert!(out[0].is_nan());
    }

    #[test]
    fn max_pool2d_shapes_follow_torch() {
        let s = |h, k, st, p, d, ceil| {
            max_pool2d_out_shape([1, 1, h, h], [k, k], [st, st], [p, p], [d, d], ceil)[2]
        };
        assert_eq!(s(5, 2, 2, 0, 1, false), 2);
        assert_eq!(s(5, 2, 2, 0, 1, true), 3);
        assert_eq!(s(6, 3, 2, 1, 1, true), 4);
        assert_eq!(s(6, 3, 2, 1, 1, false), 3);
        // ceil_mode's last window would start in the right padding: dropped.
        assert_eq!(s(5, 2, 3, 1, 1, true), 2);
        assert_eq!(s(112, 3, 2, 1, 1, false), 56);
        assert_eq!(s(10, 3, 1, 0, 2, false), 6);
        // ceil_mode keeps a window that starts inside the input and overhangs it (torch: 1).
        assert_eq!(s(1, 2, 2, 0, 1, true), 1);
        assert_eq!(s(3, 4, 3, 0, 1, true), 1);
    }

    #[test]
    #[should_panic(expected = "at most half the kernel size")]
    fn max_pool2d_rejects_large_padding() {
        max_pool2d_out_shape([1, 1, 8, 8], [2, 2], [1, 1], [2, 0], [1, 1], false);
    }
}
