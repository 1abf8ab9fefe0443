//! gather and scatter_add on the device, with the host's bounds check.
//!
//! Both take an `i64` index operand (any strided view, broadcasts included) whose values pick
//! positions along one axis of the data. As on the host (`cpu/index.rs`), a bad index is
//! reported as [`IndexOutOfBounds`] naming the first bad index in row-major order of the index
//! operand's stored elements (broadcast dims collapsed, which finds the same one). The check is
//! a kernel that records the first bad linear position with `atomicMin`, and a one-thread
//! kernel that fetches that index's value into the device's error word; the next read reports
//! it (Note [Deferred device checks], `checks.rs`), so neither op makes the host wait. The ops
//! themselves never touch memory at a bad index: gather writes 0 there, scatter_add skips it.
//!
//! scatter_add adds with atomics, so where several `src` elements land on one output element
//! the float sums are formed in an order the hardware picks (torch's CUDA `scatter_add` does
//! the same); integer sums wrap and are exact in any order.

use std::fmt::Write;

use super::checks::{self, Failure};
use super::compile::Source;
use super::elementwise::dtype_code;
use super::launch::{BLOCK, MAX_RANK, Params, coalesce, grid_for, launch};
use super::runtime::Gpu;
use super::source::{c_type, module};
use crate::array::backend::IndexOutOfBounds;
use crate::array::layout::contiguous_strides;
use crate::array::{Array, DType};

/// The bounds check, one module for every data dtype (it reads only the index).
const CHECK_BODY: &str = r#"
struct P { const i64* idx; Shape s; Lay l; i64 size; u64* status; u64* word; u64 id; };

template <typename I> __device__ __forceinline__ i64 index_offset(const P& p, I i) {
  i64 o = p.l.off;
  I rem = i;
  for (int d = (int)p.s.rank - 1; d >= 0; --d) {
    I c;
    if (d == 0) c = rem; else { I m = (I)p.s.dim[d]; c = rem % m; rem /= m; }
    o += (i64)c * p.l.st[d];
  }
  return o;
}

/* status[0] (all ones when nothing is bad) becomes the smallest linear position whose index
   lies outside [0, size). Reading it first skips most atomics when many indices are bad. */
template <typename I> __device__ __forceinline__ void check_all(const P& p) {
  for (I i = (I)blockIdx.x * blockDim.x + threadIdx.x; i < (I)p.s.n; i += (I)gridDim.x * blockDim.x) {
    i64 v = p.idx[index_offset<I>(p, i)];
    if ((v < 0 || v >= p.size) && (u64)i < *(volatile u64*)p.status) atomicMin(p.status, (u64)i);
  }
}

extern "C" __global__ void check32(const P p) { check_all<unsigned>(p); }
extern "C" __global__ void check64(const P p) { check_all<i64>(p); }

/* One thread, after the check: status[1] = the index value at position status[0], and the
   device's error word (if given) = [id, that value] unless an earlier check failed. */
extern "C" __global__ void pick(const P p) {
  u64 first = p.status[0];
  if (first == ~0ull) return;
  u64 v = (u64)p.idx[index_offset<i64>(p, (i64)first)];
  p.status[1] = v;
  if (p.word && atomicCAS(p.word, 0ull, p.id) == 0ull) p.word[1] = v;
}
"#;

fn check_source() -> Source {
    Source {
        code: module(CHECK_BODY),
        entries: vec!["check32", "check64", "pick"],
    }
}

/// The device-side atomic add of each scatter dtype.
const ATOMIC_ADD: &str = r#"
/* Global-memory float atomicAdd (RED.ADD.F32) flushes subnormal inputs and results to zero
   whatever --ftz says, unlike the host's IEEE add. For |v| >= 2^-100 (or v inf or NaN) that
   flush cannot change the rounded sum: a subnormal x is below half an ulp of v, and a sum of
   two floats of magnitude above 2^-101 is a nonzero multiple of 2^-124 or exactly 0, never
   subnormal. Smaller v (zeros and subnormals included) take a compare-and-swap loop with the
   IEEE add, so every sum is rounded exactly as on the host. */
__device__ __forceinline__ void ct_atomic_add(float* a, float v) {
  if (!(fabsf(v) < 0x1p-100f)) { atomicAdd(a, v); return; }
  unsigned* w = (unsigned*)a;
  unsigned old = *(volatile unsigned*)w, assumed;
  do {
    assumed = old;
    old = atomicCAS(w, assumed, __float_as_uint(__fadd_rn(__uint_as_float(assumed), v)));
  } while (old != assumed);
}
/* Double atomicAdd (sm_60+; CUDA 13 targets sm_75 and newer) rounds to nearest and keeps
   subnormals. */
__device__ __forceinline__ void ct_atomic_add(double* a, double v) { atomicAdd(a, v); }
/* Two's complement addition wraps the same through unsigned. */
__device__ __forceinline__ void ct_atomic_add(i64* a, i64 v) { atomicAdd((u64*)a, (u64)v); }
"#;

/// The gather module for elements of `dtype`: `out[i] = x[offset_x(i) + idx[offset_i(i)] *
/// axis_stride]` over the row-major positions `i` of the index shape.
fn gather_source(dtype: DType) -> Source {
    let mut s = String::new();
    let _ = writeln!(s, "typedef {} T;", c_type(dtype));
    s.push_str(
        r#"
struct P { T* out; const T* x; const i64* idx; Shape s; Lay lx; Lay li; i64 axis_stride; i64 size; };

template <typename I> __device__ __forceinline__ void at(const P& p, I i) {
  i64 ox = p.lx.off, oi = p.li.off;
  I rem = i;
  for (int d = (int)p.s.rank - 1; d >= 0; --d) {
    I c;
    if (d == 0) c = rem; else { I m = (I)p.s.dim[d]; c = rem % m; rem /= m; }
    ox += (i64)c * p.lx.st[d];
    oi += (i64)c * p.li.st[d];
  }
  i64 v = p.idx[oi];
  p.out[i] = v >= 0 && v < p.size ? p.x[ox + v * p.axis_stride] : T(0);
}

extern "C" __global__ void gather32(const P p) {
  for (unsigned i = blockIdx.x * blockDim.x + threadIdx.x; i < (unsigned)p.s.n; i += gridDim.x * blockDim.x) at<unsigned>(p, i);
}
extern "C" __global__ void gather64(const P p) {
  for (i64 i = (i64)blockIdx.x * blockDim.x + threadIdx.x; i < p.s.n; i += (i64)gridDim.x * blockDim.x) at<i64>(p, i);
}
"#,
    );
    Source {
        code: module(&s),
        entries: vec!["gather32", "gather64"],
    }
}

/// The scatter_add module for elements of `dtype` (float or `i64`): adds `src[offset_s(i)]`
/// at `out[offset_o(i) + idx[offset_i(i)] * axis_stride]` for each position `i` of the index
/// shape.
fn scatter_source(dtype: DType) -> Source {
    let mut s = String::new();
    let _ = writeln!(s, "typedef {} T;", c_type(dtype));
    s.push_str(ATOMIC_ADD);
    s.push_str(
        r#"
struct P { T* out; const i64* idx; const T* src; Shape s; Lay lo; Lay li; Lay ls; i64 axis_stride; i64 size; };

template <typename I> __device__ __forceinline__ void at(const P& p, I i) {
  i64 oo = p.lo.off, oi = p.li.off, os = p.ls.off;
  I rem = i;
  for (int d = (int)p.s.rank - 1; d >= 0; --d) {
    I c;
    if (d == 0) c = rem; else { I m = (I)p.s.dim[d]; c = rem % m; rem /= m; }
    oo += (i64)c * p.lo.st[d];
    oi += (i64)c * p.li.st[d];
    os += (i64)c * p.ls.st[d];
  }
  i64 v = p.idx[oi];
  if (v >= 0 && v < p.size) ct_atomic_add(p.out + (oo + v * p.axis_stride), p.src[os]);
}

extern "C" __global__ void scatter32(const P p) {
  for (unsigned i = blockIdx.x * blockDim.x + threadIdx.x; i < (unsigned)p.s.n; i += gridDim.x * blockDim.x) at<unsigned>(p, i);
}
extern "C" __global__ void scatter64(const P p) {
  for (i64 i = (i64)blockIdx.x * blockDim.x + threadIdx.x; i < p.s.n; i += (i64)gridDim.x * blockDim.x) at<i64>(p, i);
}
"#,
    );
    Source {
        code: module(&s),
        entries: vec!["scatter32", "scatter64"],
    }
}

/// Refuses (with the elementwise kernels' message) a view whose merged dims exceed what the
/// kernels index.
fn ensure_rank(op: &'static str, shape: &[usize], dims: &[usize]) {
    if dims.len() > MAX_RANK {
        crate::error::raise(crate::error::Error::Device {
            op,
            msg: format!(
                "CUDA kernels index at most {MAX_RANK} dims, and this view of shape {shape:?} \
                 needs {}; call .contiguous() on the input first",
                dims.len()
            ),
        });
    }
}

/// The 32-bit entry (index 0) when `n` positions fit, else the 64-bit one (index 1).
fn width_entry(n: usize) -> usize {
    if n < (1 << 31) { 0 } else { 1 }
}

/// Check that every value of the `i64` array `index` lies in `0..size`. The verdict goes to
/// the next read (Note [Deferred device checks]) and this returns `Ok`; with
/// `COTANGENT_CUDA_SYNC_CHECKS=1` the host waits for it and gets the first bad index in
/// row-major order as an error for dimension `axis` (the host's `check_indices`).
fn check_indices(
    gpu: &Gpu,
    op: &'static str,
    index: &Array,
    axis: usize,
    size: usize,
) -> Result<(), IndexOutOfBounds> {
    let l = index.layout();
    if l.numel() == 0 {
        return Ok(());
    }
    // Each stored index once: a broadcast dim (stride 0) is visited at position 0 only. The
    // first bad position of this collapsed view holds the same value as the first bad one of
    // the full view (moving a broadcast coordinate to 0 keeps the value and comes no later),
    // and it is what the host reports.
    let stored: Vec<usize> = l
        .shape()
        .iter()
        .zip(l.strides())
        .map(|(&n, &s)| if s == 0 { 1 } else { n })
        .collect();
    // Merging dims keeps the row-major order of positions, so "first" means the same thing.
    let (dims, strides) = coalesce(&stored, &[l.strides()]);
    ensure_rank(op, l.shape(), &dims);
    let n: usize = dims.iter().product();
    // [first bad linear position, its index value]; all ones means none found.
    let status = super::full(gpu, &[2], -1.0, -1, DType::I64);
    let module = gpu.kernels.get(gpu, ("index.check", 0), check_source);
    let run = |word: u64, id: u64| {
        let mut p = Params::new();
        p.buffer(index)
            .shape(&dims)
            .lay(l.offset(), &strides[0])
            .usize(size)
            .buffer(&status)
            .u64(word)
            .u64(id);
        launch(
            gpu,
            &module.entries[width_entry(n)],
            (grid_for(n), 1, 1),
            (BLOCK, 1, 1),
            0,
            &mut p,
        );
        launch(gpu, &module.entries[2], (1, 1, 1), (1, 1, 1), 0, &mut p);
    };
    if !checks::synchronous() {
        let failure = Failure::Index {
            op,
            dim: axis,
            size,
        };
        gpu.checks.queue(gpu, failure, run);
        return Ok(());
    }
    run(0, 0);
    let words = super::to_host(&status).to_vec::<i64>();
    if words[0] == -1 {
        Ok(())
    } else {
        Err(IndexOutOfBounds {
            index: words[1],
            dim: axis,
            size,
        })
    }
}

/// torch.gather along `axis`, or the first bad index.
pub(crate) fn gather(
    gpu: &Gpu,
    x: &Array,
    axis: usize,
    index: &Array,
) -> Result<Array, IndexOutOfBounds> {
    check_indices(gpu, "gather", index, axis, x.shape()[axis])?;
    let shape = index.shape();
    let out = super::empty(gpu, shape, x.dtype());
    let n = index.numel();
    if n == 0 {
        return Ok(out);
    }
    // x restricted to index's shape, not moving along `axis`: the index adds that offset.
    // The output is row-major over the same positions, so it is written at the linear
    // position, which merging dims preserves.
    let mut x_strides = x.layout().strides().to_vec();
    let axis_stride = std::mem::replace(&mut x_strides[axis], 0);
    let (dims, strides) = coalesce(shape, &[&x_strides, index.layout().strides()]);
    ensure_rank("gather", shape, &dims);
    let module = gpu
        .kernels
        .get(gpu, ("index.gather", dtype_code(&[x.dtype()])), || {
            gather_source(x.dtype())
        });
    let mut p = Params::new();
    p.buffer(&out)
        .buffer(x)
        .buffer(index)
        .shape(&dims)
        .lay(x.layout().offset(), &strides[0])
        .lay(index.layout().offset(), &strides[1])
        .usize(axis_stride)
        .usize(x.shape()[axis]);
    launch(
        gpu,
        &module.entries[width_entry(n)],
        (grid_for(n), 1, 1),
        (BLOCK, 1, 1),
        0,
        &mut p,
    );
    Ok(out)
}

/// torch.scatter_add along `axis`, or the first bad index.
pub(crate) fn scatter_add(
    gpu: &Gpu,
    x: &Array,
    axis: usize,
    index: &Array,
    src: &Array,
) -> Result<Array, IndexOutOfBounds> {
    check_indices(gpu, "scatter_add", index, axis, x.shape()[axis])?;
    let out = super::empty(gpu, x.shape(), x.dtype());
    super::copy_into(gpu, &out, x);
    let shape = index.shape();
    let n = index.numel();
    if n == 0 {
        return Ok(out);
    }
    // The output restricted to index's shape, not moving along `axis`; src is read at the
    // same positions (index fits inside it).
    let mut out_strides = contiguous_strides(x.shape()).to_vec();
    let axis_stride = std::mem::replace(&mut out_strides[axis], 0);
    let (dims, strides) = coalesce(
        shape,
        &[
            &out_strides,
            index.layout().strides(),
            src.layout().strides(),
        ],
    );
    ensure_rank("scatter_add", shape, &dims);
    let module = gpu
        .kernels
        .get(gpu, ("index.scatter_add", dtype_code(&[x.dtype()])), || {
            scatter_source(x.dtype())
        });
    let mut p = Params::new();
    p.buffer(&out)
        .buffer(index)
        .buffer(src)
        .shape(&dims)
        .lay(0, &strides[0])
        .lay(index.layout().offset(), &strides[1])
        .lay(src.layout().offset(), &strides[2])
        .usize(axis_stride)
        .usize(x.shape()[axis]);
    launch(
        gpu,
        &module.entries[width_entry(n)],
        (grid_for(n), 1, 1),
        (BLOCK, 1, 1),
        0,
        &mut p,
    );
    Ok(out)
}

/// This file's kernel sources, for the NVRTC compile check (`cuda/mod.rs`).
#[cfg(test)]
pub(crate) fn sources_for_test() -> Vec<(String, super::compile::Source)> {
    let mut all = vec![("index check".to_string(), check_source())];
    for d in [DType::F32, DType::F64, DType::I64, DType::Bool] {
        all.push((format!("gather {d}"), gather_source(d)));
    }
    for d in [DType::F32, DType::F64, DType::I64] {
        all.push((format!("scatter_add {d}"), scatter_source(d)));
    }
    all
}

/// Device against host on the same inputs (skipped without a CUDA device).
#[cfg(test)]
mod tests {
    use super::super::{from_host, runtime, to_host};
    use crate::array::backend::cpu::Cpu;
    use crate::array::backend::{Backend, IndexOutOfBounds};
    use crate::array::{Array, DType, Layout};

    fn sv(v: &[usize]) -> crate::array::Dims {
        v.into()
    }

    fn gpu() -> Option<&'static super::Gpu> {
        if !super::super::is_available() {
            eprintln!("skipped: no CUDA device");
            return None;
        }
        Some(runtime::gpu(0).expect("device 0"))
    }

    /// `host` on the device as the same view: the buffer goes up whole and the layout is
    /// put back, so the kernels see the strides and offset.
    fn up(gpu: &super::Gpu, base: &Array, layout: Layout) -> (Array, Array) {
        let dev = from_host(gpu, base);
        (base.with_layout(layout.clone()), dev.with_layout(layout))
    }

    fn bits(a: &Array) -> Vec<u64> {
        let h = if a.device() == crate::Device::Cpu {
            a.clone()
        } else {
            to_host(a)
        };
        match h.dtype() {
            DType::F32 => h
                .to_vec::<f32>()
                .iter()
                .map(|x| u64::from(x.to_bits()))
                .collect(),
            DType::F64 => h.to_vec::<f64>().iter().map(|x| x.to_bits()).collect(),
            DType::I64 => h.to_vec::<i64>().iter().map(|&x| x as u64).collect(),
            DType::Bool => h.to_vec::<bool>().iter().map(|&x| u64::from(x)).collect(),
        }
    }

    fn data(dtype: DType, n: usize) -> Array {
        match dtype {
            DType::F32 => Array::from_vec((0..n).map(|k| k as f32 * 0.5 - 3.0).collect(), &[n]),
            DType::F64 => Array::from_vec((0..n).map(|k| k as f64 * 0.25 - 7.0).collect(), &[n]),
            DType::I64 => Array::from_vec((0..n).map(|k| k as i64 * 3 - 11).collect(), &[n]),
            DType::Bool => Array::from_vec((0..n).map(|k| k % 3 == 1).collect(), &[n]),
        }
        .unwrap()
    }

    fn indices(n: usize, modulo: usize) -> Array {
        Array::from_vec(
            (0..n).map(|k| ((k * 7919 + 13) % modulo) as i64).collect(),
            &[n],
        )
        .unwrap()
    }

    #[test]
    fn gather_matches_host_on_views() {
        let Some(gpu) = gpu() else { return };
        for dtype in [DType::F32, DType::F64, DType::I64, DType::Bool] {
            // x: a transposed [7, 5] view of a [5, 7] buffer, offset by 3.
            let base = data(dtype, 3 + 35);
            let x_layout = Layout::from_parts(sv(&[7, 5]), sv(&[1, 7]), 3);
            let (hx, dx) = up(gpu, &base, x_layout);
            // Along dim 1 with a full index, and along dim 0 with a smaller one.
            let ib = indices(7 * 4, 5);
            let (hi, di) = up(gpu, &ib, Layout::contiguous(&[7, 4]));
            let want = Cpu::gather(&hx, 1, &hi).unwrap();
            let got = super::gather(gpu, &dx, 1, &di).unwrap();
            assert_eq!(bits(&got), bits(&want), "{dtype} axis 1");
            let ib = indices(6 * 3, 7);
            let (hi, di) = up(gpu, &ib, Layout::contiguous(&[6, 3]));
            let want = Cpu::gather(&hx, 0, &hi).unwrap();
            let got = super::gather(gpu, &dx, 0, &di).unwrap();
            assert_eq!(bits(&got), bits(&want), "{dtype} axis 0");
            // index_select: a 1-d index broadcast over dim 0, transposed index too.
            let ib = indices(4, 5);
            let (hi, di) = up(gpu, &ib, Layout::from_parts(sv(&[7, 4]), sv(&[0, 1]), 0));
            let want = Cpu::gather(&hx, 1, &hi).unwrap();
            let got = super::gather(gpu, &dx, 1, &di).unwrap();
            assert_eq!(bits(&got), bits(&want), "{dtype} broadcast");
            let ib = indices(20, 5);
            let (hi, di) = up(gpu, &ib, Layout::from_parts(sv(&[5, 4]), sv(&[1, 5]), 0));
            let want = Cpu::gather(&hx, 1, &hi).unwrap();
            let got = super::gather(gpu, &dx, 1, &di).unwrap();
            assert_eq!(bits(&got), bits(&want), "{dtype} transposed index");
            // Empty index.
            let e = Array::from_vec(Vec::<i64>::new(), &[0, 2]).unwrap();
            let got = super::gather(gpu, &dx, 1, &from_host(gpu, &e)).unwrap();
            assert_eq!(got.shape(), &[0, 2]);
        }
        // Large and 3-d, through a permuted view.
        let base = data(DType::F32, 40 * 50 * 60);
        let x_layout = Layout::contiguous(&[40, 50, 60]).permute(&[2, 0, 1]);
        let (hx, dx) = up(gpu, &base, x_layout);
        let ib = indices(60 * 40 * 70, 50);
        let (hi, di) = up(gpu, &ib, Layout::contiguous(&[60, 40, 70]));
        let want = Cpu::gather(&hx, 2, &hi).unwrap();
        let got = super::gather(gpu, &dx, 2, &di).unwrap();
        assert_eq!(bits(&got), bits(&want), "3-d");
    }

    /// What the read after `op` raises (Note [Deferred device checks]), or `op`'s own error
    /// when checks are synchronous.
    fn reported(op: impl FnOnce() -> Result<Array, IndexOutOfBounds>) -> String {
        let mut own = None;
        let read = crate::error::catch(|| match op() {
            Ok(out) => drop(to_host(&out)),
            Err(e) => own = Some(e.to_string()),
        });
        match (own, read) {
            (Some(e), _) => e,
            (None, Err(e)) => e.to_string(),
            (None, Ok(())) => panic!("no error was reported"),
        }
    }

    #[test]
    fn first_bad_index_is_the_hosts() {
        let Some(gpu) = gpu() else { return };
        let x = from_host(
            gpu,
            &data(DType::F64, 6).with_layout(Layout::contiguous(&[3, 2])),
        );
        let hx = data(DType::F64, 6).with_layout(Layout::contiguous(&[3, 2]));
        let mut v = vec![1i64; 600_000];
        v[500_000] = 9;
        v[400_001] = -4;
        v[400_003] = 3;
        let hi = Array::from_vec(v, &[300_000, 2]).unwrap();
        let di = from_host(gpu, &hi);
        let want = Cpu::gather(&hx, 0, &hi).unwrap_err();
        assert_eq!(
            want,
            IndexOutOfBounds {
                index: -4,
                dim: 0,
                size: 3
            }
        );
        let got = reported(|| super::gather(gpu, &x, 0, &di));
        assert!(got.contains(&want.to_string()), "{got}");
        let src = from_host(gpu, &data(DType::F64, 600_000));
        let src = src.with_layout(Layout::contiguous(&[300_000, 2]));
        let got = reported(|| super::scatter_add(gpu, &x, 0, &di, &src));
        assert!(got.contains(&want.to_string()), "{got}");
        // A broadcast index: each stored value is checked once, the first bad one reported.
        let hi = Array::from_vec(vec![0i64, 2, 1, 7], &[4]).unwrap();
        let layout = Layout::from_parts(sv(&[3, 4]), sv(&[0, 1]), 0);
        let (hb, db) = up(gpu, &hi, layout);
        let hx = data(DType::F64, 12).with_layout(Layout::contiguous(&[3, 4]));
        let want = Cpu::gather(&hx, 1, &hb).unwrap_err();
        assert_eq!(want.index, 7);
        let got = reported(|| super::gather(gpu, &from_host(gpu, &hx), 1, &db));
        assert!(got.contains(&want.to_string()), "{got}");
        // An empty data axis: every index is out of bounds.
        let hx = Array::from_vec(Vec::<f32>::new(), &[2, 0]).unwrap();
        let hi = Array::from_vec(vec![0i64, 0], &[2, 1]).unwrap();
        let want = Cpu::gather(&hx, 1, &hi).unwrap_err();
        let got = reported(|| super::gather(gpu, &from_host(gpu, &hx), 1, &from_host(gpu, &hi)));
        assert!(got.contains(&want.to_string()), "{got}");
    }

    #[test]
    fn a_failed_check_reports_the_first_op_once_and_the_device_goes_on() {
        let Some(gpu) = gpu() else { return };
        if super::checks::synchronous() {
            return;
        }
        let hx = data(DType::F32, 6).with_layout(Layout::contiguous(&[3, 2]));
        let x = from_host(gpu, &hx);
        let bad = |v: i64| from_host(gpu, &Array::from_vec(vec![0i64, v], &[1, 2]).unwrap());
        // Two failing ops, then good work queued behind them: the read reports the first.
        let first = super::gather(gpu, &x, 0, &bad(5)).unwrap();
        let _second = super::scatter_add(gpu, &x, 0, &bad(-1), &x).unwrap();
        let good = Array::from_vec(vec![2i64, 0], &[1, 2]).unwrap();
        let fine = super::gather(gpu, &x, 0, &from_host(gpu, &good)).unwrap();
        let err = crate::error::catch(|| drop(to_host(&fine))).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("gather"), "{msg}");
        assert!(
            msg.contains("index 5 is out of bounds for dimension 0 with size 3"),
            "{msg}"
        );
        assert!(msg.contains("COTANGENT_CUDA_SYNC_CHECKS"), "{msg}");
        // The failing gather wrote zeros at its bad position; nothing else was touched.
        assert_eq!(
            to_host(&first).to_vec::<f32>(),
            vec![hx.to_vec::<f32>()[0], 0.0]
        );
        // Reported once: the next reads succeed, and later work is checked afresh.
        assert_eq!(bits(&fine), bits(&Cpu::gather(&hx, 0, &good).unwrap()));
        let again = super::gather(gpu, &x, 1, &bad(2)).unwrap();
        let msg = crate::error::catch(|| drop(to_host(&again)))
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("index 2 is out of bounds for dimension 1 with size 2"),
            "{msg}"
        );
    }

    #[test]
    fn a_failure_is_reported_to_the_thread_whose_op_failed() {
        let Some(gpu) = gpu() else { return };
        if super::checks::synchronous() {
            return;
        }
        let hx = data(DType::F64, 6).with_layout(Layout::contiguous(&[3, 2]));
        let bad = Array::from_vec(vec![7i64, 0], &[1, 2]).unwrap();
        // Another thread's failing gather, never read there: this thread's reads are clean.
        std::thread::scope(|s| {
            s.spawn(|| {
                let x = from_host(gpu, &hx);
                drop(super::gather(gpu, &x, 0, &from_host(gpu, &bad)).unwrap());
            });
        });
        let x = from_host(gpu, &hx);
        assert_eq!(bits(&x), bits(&hx));
        // This thread's own failure is reported here, once.
        let out = super::gather(gpu, &x, 0, &from_host(gpu, &bad)).unwrap();
        let msg = crate::error::catch(|| drop(to_host(&out)))
            .unwrap_err()
            .to_string();
        assert!(msg.contains("index 7 is out of bounds"), "{msg}");
        assert_eq!(bits(&x), bits(&hx));
    }

    #[test]
    fn scatter_add_matches_host() {
        let Some(gpu) = gpu() else { return };
        for dtype in [DType::F32, DType::F64, DType::I64] {
            for axis in [0, 1] {
                // Integer-valued data, so sums are exact in any order.
                let hx = data(dtype, 400 * 300).with_layout(Layout::contiguous(&[400, 300]));
                let dx = from_host(gpu, &hx);
                let ib = indices(300 * 400, if axis == 0 { 400 } else { 300 });
                // The index and src as transposed views.
                let il = Layout::contiguous(&[300, 400]).permute(&[1, 0]);
                let (hi, di) = up(gpu, &ib, il.clone());
                let (hs, ds) = up(gpu, &data(dtype, 300 * 400), il);
                let want = Cpu::scatter_add(&hx, axis, &hi, &hs).unwrap();
                let got = super::scatter_add(gpu, &dx, axis, &di, &ds).unwrap();
                assert_eq!(bits(&got), bits(&want), "{dtype} axis {axis}");
                // A smaller index, broadcast along dim 0.
                let ib = indices(7, 300);
                let (hi, di) = up(gpu, &ib, Layout::from_parts(sv(&[50, 7]), sv(&[0, 1]), 0));
                let hs = data(dtype, 400 * 300).with_layout(Layout::contiguous(&[400, 300]));
                let ds = from_host(gpu, &hs);
                let want = Cpu::scatter_add(&hx, 1, &hi, &hs).unwrap();
                let got = super::scatter_add(gpu, &dx, 1, &di, &ds).unwrap();
                assert_eq!(bits(&got), bits(&want), "{dtype} broadcast index");
            }
        }
        // i64 sums wrap.
        let hx = Array::from_vec(vec![i64::MAX, i64::MIN], &[2]).unwrap();
        let hi = Array::from_vec(vec![0i64, 0, 1], &[3]).unwrap();
        let hs = Array::from_vec(vec![1i64, 2, -1], &[3]).unwrap();
        let want = Cpu::scatter_add(&hx, 0, &hi, &hs).unwrap();
        let got = super::scatter_add(
            gpu,
            &from_host(gpu, &hx),
            0,
            &from_host(gpu, &hi),
            &from_host(gpu, &hs),
        )
        .unwrap();
        assert_eq!(bits(&got), bits(&want), "wrapping");
    }

    #[test]
    fn f32_scatter_add_keeps_subnormals_and_signed_zeros() {
        let Some(gpu) = gpu() else { return };
        let tiny = f32::from_bits(1); // the smallest subnormal
        let xs = vec![
            tiny * 3.0,
            -0.0,
            -0.0,
            1e-39,
            -1e-39,
            1.0,
            tiny,
            f32::MIN_POSITIVE,
            0.0,
            -tiny,
        ];
        let src = vec![
            tiny * 5.0,
            0.0,
            -0.0,
            1e-30,
            1e-39,
            tiny,
            1e-20,
            -f32::MIN_POSITIVE,
            -0.0,
            f32::NAN,
        ];
        let n = xs.len();
        let hx = Array::from_vec(xs, &[n]).unwrap();
        let hs = Array::from_vec(src, &[n]).unwrap();
        let hi = Array::from_vec((0..n as i64).collect(), &[n]).unwrap();
        let want = Cpu::scatter_add(&hx, 0, &hi, &hs).unwrap();
        let got = super::scatter_add(
            gpu,
            &from_host(gpu, &hx),
            0,
            &from_host(gpu, &hi),
            &from_host(gpu, &hs),
        )
        .unwrap();
        let (w, g) = (bits(&want), bits(&got));
        for k in 0..n {
            let (a, b) = (f32::from_bits(w[k] as u32), f32::from_bits(g[k] as u32));
            assert!(
                a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()),
                "element {k}: host {a:e}, device {b:e}"
            );
        }
    }
}
