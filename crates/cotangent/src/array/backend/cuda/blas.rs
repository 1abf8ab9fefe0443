//! `dot_general` through cuBLAS: each operand is seen as a batch of matrices `[b, m, k]` /
//! `[b, k, n]` by permuting its layout (no copy), and one strided-batched GEMM computes the
//! product. An operand whose batch, free or contracting dims do not each merge into one
//! stride, or whose matrix has no unit stride, is first copied row-major in that order.
//!
//! cuBLAS is column-major: the row-major `C = A B` is computed as the column-major
//! `C^T = B^T A^T`. A row-major stored operand is, read column-major, its own transpose
//! (`CUBLAS_OP_N` then gives the transpose we need); a column-major stored one (a transposed
//! view, `w.t()`) takes `CUBLAS_OP_T`. Float32 products are IEEE unless TF32 is allowed
//! ([`set_allow_tf32`], torch's `allow_tf32`, off by default). `i64` has no cuBLAS GEMM and
//! uses a plain kernel with wrapping arithmetic.

use std::sync::atomic::{AtomicBool, Ordering};

use cudarc::cublas::{result as cublas, sys};

use super::compile::Source;
use super::elementwise::dtype_code;
use super::launch::{BLOCK, Params, grid_for, launch};
use super::runtime::{Gpu, check};
use super::source::module;
use crate::array::backend::DotDims;
use crate::array::{Array, DType, Layout};

/// A cuBLAS handle bound to the device's stream, created on first use.
pub(crate) struct Handle(sys::cublasHandle_t);

// SAFETY: the handle is only used while the `Gpu::blas` mutex is held, so never from two
// threads at once, which is what cuBLAS requires of a handle.
unsafe impl Send for Handle {}

static ALLOW_TF32: AtomicBool = AtomicBool::new(false);

/// See [`crate::cuda::set_allow_tf32`].
pub fn set_allow_tf32(on: bool) {
    ALLOW_TF32.store(on, Ordering::Relaxed);
}

/// See [`crate::cuda::allow_tf32`].
pub fn allow_tf32() -> bool {
    ALLOW_TF32.load(Ordering::Relaxed)
}

/// How an operand's matrices are stored for cuBLAS.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Mat {
    /// Device address of the first matrix.
    pub(crate) ptr: u64,
    /// `CUBLAS_OP_T` if stored column-major (see the module doc).
    pub(crate) trans: bool,
    /// Leading dimension.
    pub(crate) ld: usize,
    /// Elements between batch entries (0 for a broadcast operand).
    pub(crate) batch_stride: usize,
}

/// The single stride `dims` of `layout` merge into (size-1 dims ignored; `Some(0)` for a
/// group that is all size 1), or `None`.
fn merged(layout: &Layout, dims: &[usize]) -> Option<usize> {
    let (shape, strides) = (layout.shape(), layout.strides());
    let mut kept = dims.iter().copied().filter(|&d| shape[d] != 1);
    let Some(mut prev) = kept.next() else {
        return Some(0);
    };
    for d in kept {
        if strides[prev] != strides[d] * shape[d] {
            return None;
        }
        prev = d;
    }
    Some(strides[prev])
}

/// `a` as a batch of `rows x cols` matrices over the dim groups, if its strides allow.
fn as_mat(a: &Array, batch: &[usize], rows: &[usize], cols: &[usize]) -> Option<Mat> {
    let l = a.layout();
    let size = |g: &[usize]| g.iter().map(|&d| l.shape()[d]).product::<usize>();
    let (r, c) = (size(rows), size(cols));
    let sb = merged(l, batch)?;
    let (sr, sc) = (merged(l, rows)?, merged(l, cols)?);
    let ptr = a.cuda_storage().ptr() + (l.offset() * a.dtype().size_of()) as u64;
    // Row-major: unit column stride; read column-major it is a `cols x rows` matrix.
    if (sc == 1 || c == 1) && (r == 1 || sr >= c.max(1)) {
        let ld = if r == 1 { c.max(1) } else { sr };
        return Some(Mat {
            ptr,
            trans: false,
            ld,
            batch_stride: sb,
        });
    }
    if (sr == 1 || r == 1) && (c == 1 || sc >= r.max(1)) {
        let ld = if c == 1 { r.max(1) } else { sc };
        return Some(Mat {
            ptr,
            trans: true,
            ld,
            batch_stride: sb,
        });
    }
    None
}

/// `a` permuted to `order` and, if it is not then a batch of matrices, copied row-major.
fn operand(gpu: &Gpu, a: &Array, nb: usize, nr: usize, order: &[usize]) -> (Array, Mat) {
    let view = a.with_layout(a.layout().permute(order));
    let n = order.len();
    let (batch, rows, cols): (Vec<usize>, Vec<usize>, Vec<usize>) = (
        (0..nb).collect(),
        (nb..nb + nr).collect(),
        (nb + nr..n).collect(),
    );
    if let Some(m) = as_mat(&view, &batch, &rows, &cols) {
        return (view, m);
    }
    let copy = super::contiguous_on(gpu, &view);
    let m = as_mat(&copy, &batch, &rows, &cols).expect("a row-major copy is a batch of matrices");
    (copy, m)
}

/// XLA's DotGeneral; see `Backend::dot_general`.
pub(crate) fn dot_general(gpu: &Gpu, lhs: &Array, rhs: &Array, dims: &DotDims) -> Array {
    let free = |rank: usize, batch: &[usize], contract: &[usize]| -> Vec<usize> {
        (0..rank)
            .filter(|d| !batch.contains(d) && !contract.contains(d))
            .collect()
    };
    let lfree = free(lhs.rank(), &dims.lhs_batch, &dims.lhs_contract);
    let rfree = free(rhs.rank(), &dims.rhs_batch, &dims.rhs_contract);
    let sizes = |a: &Array, g: &[usize]| g.iter().map(|&d| a.shape()[d]).collect::<Vec<_>>();
    let mut shape = sizes(lhs, &dims.lhs_batch);
    shape.extend(sizes(lhs, &lfree));
    shape.extend(sizes(rhs, &rfree));
    let b: usize = sizes(lhs, &dims.lhs_batch).iter().product();
    let m: usize = sizes(lhs, &lfree).iter().product();
    let n: usize = sizes(rhs, &rfree).iter().product();
    let k: usize = sizes(lhs, &dims.lhs_contract).iter().product();
    let dtype = lhs.dtype();
    if b * m * n == 0 {
        return super::empty(gpu, &shape, dtype);
    }
    if k == 0 {
        return super::full(gpu, &shape, 0.0, 0, dtype);
    }
    let nb = dims.lhs_batch.len();
    let lorder: Vec<usize> = [&dims.lhs_batch[..], &lfree, &dims.lhs_contract].concat();
    let rorder: Vec<usize> = [&dims.rhs_batch[..], &dims.rhs_contract[..], &rfree].concat();
    let (la, lm) = operand(gpu, lhs, nb, lfree.len(), &lorder);
    let (ra, rm) = operand(gpu, rhs, nb, dims.rhs_contract.len(), &rorder);
    let out = super::empty(gpu, &shape, dtype);
    let c = out.cuda_storage().ptr();
    if dtype == DType::I64 {
        gemm_i64(gpu, [b, m, n, k], &la, &ra, &out);
    } else {
        gemm(gpu, dtype, [b, m, n, k], lm, rm, c, n, m * n);
    }
    out
}

/// `C[i] = A[i] B[i]` for `i < b`, `A` `m x k`, `B` `k x n`, `C` row-major `m x n` with row
/// stride `ldc` and batch stride `stride_c`, through cuBLAS (f32 or f64).
pub(crate) fn gemm(
    gpu: &Gpu,
    dtype: DType,
    [b, m, n, k]: [usize; 4],
    a: Mat,
    bm: Mat,
    c: u64,
    ldc: usize,
    stride_c: usize,
) {
    let int = |v: usize, what: &str| -> i32 {
        i32::try_from(v)
            .unwrap_or_else(|_| panic!("internal: GEMM {what} {v} exceeds cuBLAS's int"))
    };
    let op = |t: bool| {
        if t {
            sys::cublasOperation_t::CUBLAS_OP_T
        } else {
            sys::cublasOperation_t::CUBLAS_OP_N
        }
    };
    let mut guard = gpu.blas.lock().unwrap_or_else(|p| p.into_inner());
    gpu.bind();
    let handle = match &*guard {
        Some(h) => h.0,
        None => {
            let h = check("cublasCreate", cublas::create_handle());
            // SAFETY: a fresh handle and the device's live stream.
            let bound = unsafe { cublas::set_stream(h, gpu.cu_stream() as sys::cudaStream_t) };
            check("cublasSetStream", bound);
            *guard = Some(Handle(h));
            h
        }
    };
    let mode = if dtype == DType::F32 && allow_tf32() {
        sys::cublasMath_t::CUBLAS_TF32_TENSOR_OP_MATH
    } else {
        sys::cublasMath_t::CUBLAS_DEFAULT_MATH
    };
    // SAFETY: the handle is held under the mutex.
    check(
        "cublasSetMathMode",
        unsafe { sys::cublasSetMathMode(handle, mode) }.result(),
    );
    // Column-major C^T (n x m) = op(B) (n x k) * op(A) (k x m): B's matrices go first.
    let (mm, nn, kk) = (int(n, "n"), int(m, "m"), int(k, "k"));
    let (lda, ldb, ldcc) = (int(bm.ld, "ld"), int(a.ld, "ld"), int(ldc.max(1), "ldc"));
    let batch = int(b, "batch");
    let (sa, sb, sc) = (
        bm.batch_stride as i64,
        a.batch_stride as i64,
        stride_c as i64,
    );
    // SAFETY: the pointers address live device buffers of `dtype` that the caller holds,
    // each holding its `b` matrices at the given strides and leading dimensions (checked by
    // `as_mat`); alpha and beta are host scalars; the call is queued on the device's stream.
    let status = unsafe {
        match dtype {
            DType::F32 => {
                let (one, zero) = (1f32, 0f32);
                cublas::sgemm_strided_batched(
                    handle,
                    op(bm.trans),
                    op(a.trans),
                    mm,
                    nn,
                    kk,
                    &one,
                    bm.ptr as *const f32,
                    lda,
                    sa,
                    a.ptr as *const f32,
                    ldb,
                    sb,
                    &zero,
                    c as *mut f32,
                    ldcc,
                    sc,
                    batch,
                )
            }
            DType::F64 => {
                let (one, zero) = (1f64, 0f64);
                cublas::dgemm_strided_batched(
                    handle,
                    op(bm.trans),
                    op(a.trans),
                    mm,
                    nn,
                    kk,
                    &one,
                    bm.ptr as *const f64,
                    lda,
                    sa,
                    a.ptr as *const f64,
                    ldb,
                    sb,
                    &zero,
                    c as *mut f64,
                    ldcc,
                    sc,
                    batch,
                )
            }
            d => panic!("internal: cuBLAS GEMM of {d}"),
        }
    };
    check("cublasGemmStridedBatched", status);
}

const GEMM_I64: &str = r#"
struct P { i64 b; i64 m; i64 n; i64 k; const i64* a; Lay la; const i64* bb; Lay lb; i64* c; };
extern "C" __global__ void gemm_i64(const P p) {
  i64 total = p.b * p.m * p.n;
  for (i64 t = (i64)blockIdx.x * blockDim.x + threadIdx.x; t < total; t += (i64)gridDim.x * blockDim.x) {
    i64 j = t % p.n, r = t / p.n, i = r % p.m, bi = r / p.m;
    i64 acc = 0;
    const i64* a = p.a + p.la.off + bi * p.la.st[0] + i * p.la.st[1];
    const i64* b = p.bb + p.lb.off + bi * p.lb.st[0] + j * p.lb.st[2];
    for (i64 q = 0; q < p.k; ++q) acc = ct_add(acc, ct_mul(a[q * p.la.st[2]], b[q * p.lb.st[1]]));
    p.c[t] = acc;
  }
}
"#;

fn gemm_i64_source() -> Source {
    Source {
        code: module(GEMM_I64),
        entries: vec!["gemm_i64"],
    }
}

/// The `i64` product on `[b, m, k]` / `[b, k, n]` operands (made row-major first).
fn gemm_i64(gpu: &Gpu, [b, m, n, k]: [usize; 4], lhs: &Array, rhs: &Array, out: &Array) {
    let l = super::contiguous_on(gpu, lhs);
    let r = super::contiguous_on(gpu, rhs);
    let module = gpu.kernels.get(
        gpu,
        ("gemm_i64", dtype_code(&[DType::I64])),
        gemm_i64_source,
    );
    let mut p = Params::new();
    p.usize(b).usize(m).usize(n).usize(k);
    p.buffer(&l).lay(l.layout().offset(), &[m * k, k, 1]);
    p.buffer(&r).lay(r.layout().offset(), &[k * n, n, 1]);
    p.buffer(out);
    launch(
        gpu,
        &module.entries[0],
        (grid_for(b * m * n), 1, 1),
        (BLOCK, 1, 1),
        0,
        &mut p,
    );
}

/// This file's kernel sources, for the NVRTC compile check (`cuda/mod.rs`).
#[cfg(test)]
pub(crate) fn sources_for_test() -> Vec<(String, Source)> {
    vec![("gemm_i64".into(), gemm_i64_source())]
}
