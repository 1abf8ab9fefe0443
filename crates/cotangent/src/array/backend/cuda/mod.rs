//! The CUDA backend (`--features cuda`): device buffers, kernels compiled by NVRTC from CUDA
//! C, GEMM through cuBLAS. The door is [`Cuda`], the [`Backend`] implementation that
//! `backend/mod.rs` dispatches to when an op's arrays live on a `Device::Cuda`; nothing
//! above `array/` sees this folder.
//!
//! - `runtime.rs`: a device's context, its one stream, cuBLAS handle and caches; finding
//!   the driver without letting cudarc panic.
//! - `memory.rs`: the caching allocator (Note [Device caching allocator]) and its counters.
//! - `compile.rs`: NVRTC, and the in-process and on-disk caches of compiled modules.
//! - `checks.rs`: errors that depend on device data, reported at the next read (Note
//!   [Deferred device checks]).
//! - `cudnn.rs`: conv2d through cuDNN when it loads (Note [Choosing the convolution]).
//! - `libm.rs`: the host's libm functions that normals use, in CUDA C.
//! - `launch.rs`: kernel parameters, launches, merging dims of strided views.
//! - `source.rs`: the CUDA C prelude every module starts with.
//! - `elementwise.rs`, `reduce.rs`, `index.rs`, `random.rs`, `blas.rs`, `conv.rs`: the
//!   kernels, by family, as on the CPU side.
//!
//! Every call queues work on the device's stream and returns; the host waits only to read
//! data ([`to_host`]). An elementwise primitive brings its own CUDA expression
//! (`UnaryKernel::CUDA`), so adding one touches no file here.

#![allow(unsafe_code)]

pub(crate) mod blas;
pub(crate) mod checks;
pub(crate) mod compile;
pub(crate) mod conv;
pub(crate) mod cudnn;
pub(crate) mod elementwise;
pub(crate) mod index;
pub(crate) mod launch;
pub(crate) mod libm;
pub(crate) mod memory;
pub(crate) mod random;
pub(crate) mod reduce;
pub(crate) mod runtime;
pub(crate) mod source;

use cudarc::driver::result;

use self::elementwise::{Map, dtype_code};
use self::memory::Block;
use self::runtime::{Gpu, check};
use super::{Backend, BinaryKernel, Comparison, Distribution, ReduceOp, RngState, UnaryKernel};
use super::{Conv2dParams, DotDims, IndexOutOfBounds, Pool2dParams};
use crate::Device;
use crate::array::storage::{Storage, StorageElement};
use crate::array::{Array, DType, Layout};
use crate::error::{Error, defer};

pub use self::runtime::{device_count, is_available};

/// A typed buffer on one device. While it lives its bytes count in the device's
/// `memory_allocated`; when it drops, its block goes back to the allocator's cache.
#[derive(Debug)]
pub struct CudaStorage {
    block: Block,
    len: usize,
    dtype: DType,
    ordinal: usize,
}

impl CudaStorage {
    /// The device address of element 0.
    pub(crate) fn ptr(&self) -> u64 {
        self.block.ptr
    }
    /// Number of elements.
    pub fn len(&self) -> usize {
        self.len
    }
    /// `true` if it holds no elements.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    /// The element type.
    pub fn dtype(&self) -> DType {
        self.dtype
    }
    /// The device.
    pub fn device(&self) -> Device {
        Device::Cuda(self.ordinal)
    }
}

impl Drop for CudaStorage {
    fn drop(&mut self) {
        if let Ok(gpu) = runtime::gpu(self.ordinal) {
            gpu.memory.release(&self.block);
        }
    }
}

/// The device state of `device`, raising its error (no driver, no such device).
#[track_caller]
pub(crate) fn gpu_of(device: Device) -> &'static Gpu {
    match device {
        Device::Cuda(i) => runtime::gpu(i).unwrap_or_else(|e| crate::error::raise(e)),
        Device::Cpu => unreachable!("internal: CUDA backend called for a CPU array"),
    }
}

/// The device state of an array on a CUDA device.
pub(crate) fn gpu_of_array(a: &Array) -> &'static Gpu {
    gpu_of(a.device())
}

/// A fresh uninitialised row-major array of `shape` on `gpu` (a kernel writes it before
/// anything reads it), or the allocator's [`Error::OutOfMemory`], deferred to the op.
pub(crate) fn empty(gpu: &Gpu, shape: &[usize], dtype: DType) -> Array {
    let n: usize = shape.iter().product();
    let storage = storage(gpu, n, dtype).unwrap_or_else(|e| defer(e));
    Array::from_storage(Storage::Cuda(storage), Layout::contiguous(shape))
}

fn storage(gpu: &Gpu, len: usize, dtype: DType) -> Result<CudaStorage, Error> {
    let block = gpu.memory.alloc(gpu, len * dtype.size_of())?;
    Ok(CudaStorage {
        block,
        len,
        dtype,
        ordinal: gpu.ordinal,
    })
}

/// `shape` filled with `value` (converted to `dtype` as `full` does on the host) on `gpu`.
/// For `i64`, `int` is the exact value (the host's conversion of `value`).
pub(crate) fn full(gpu: &Gpu, shape: &[usize], value: f64, int: i64, dtype: DType) -> Array {
    let out = empty(gpu, shape, dtype);
    let expr = match dtype {
        DType::Bool => "v != 0.0",
        DType::I64 => "vi",
        _ => "v",
    };
    let m = Map {
        key: ("full", dtype_code(&[dtype])),
        helpers: "",
        expr,
        names: &[],
        inputs: &[],
        out: dtype,
    };
    elementwise::run_with(gpu, &m, &out, &[], value, int);
    out
}

/// An array on the host with `a`'s values (the host waits for the device here).
pub(crate) fn to_host(a: &Array) -> Array {
    let gpu = gpu_of_array(a);
    let c = contiguous_on(gpu, a);
    let n = c.numel();
    macro_rules! read {
        ($t:ty) => {{
            let mut v: Vec<$t> = crate::array::alloc::try_with_capacity::<$t>(n)
                .unwrap_or_else(|e| defer(e.error("to_host", a.shape(), a.dtype())));
            if n > 0 {
                gpu.bind();
                let src =
                    c.cuda_storage().ptr() + (c.layout().offset() * a.dtype().size_of()) as u64;
                // SAFETY: `v` has capacity for `n` elements; the copy writes all of them
                // before `set_len` exposes them, and the stream synchronisation below waits
                // for it. `src` is `n` elements of `c`'s live buffer.
                unsafe {
                    let dst = std::slice::from_raw_parts_mut(v.as_mut_ptr(), n);
                    check(
                        "cuMemcpyDtoHAsync",
                        result::memcpy_dtoh_async(dst, src, gpu.cu_stream()),
                    );
                }
                gpu.read_barrier();
                // SAFETY: the copy above initialised `n` elements.
                unsafe { v.set_len(n) };
            }
            Array::from_parts(<$t>::wrap(v), Layout::contiguous(a.shape()))
        }};
    }
    match a.dtype() {
        DType::F32 => read!(f32),
        DType::F64 => read!(f64),
        DType::I64 => read!(i64),
        DType::Bool => read!(bool),
    }
}

/// A copy of the host array `a` on `gpu`.
pub(crate) fn from_host(gpu: &Gpu, a: &Array) -> Array {
    // One value (a scalar, or a broadcast of one) goes as a kernel parameter: no copy from
    // pageable memory, and repeated constants come from a small cache.
    if a.cpu_storage().len() == 1 {
        let value = scalar_on(gpu, a);
        return value.with_layout(Layout::from_parts(
            a.shape().into(),
            smallvec::smallvec![0; a.rank()],
            0,
        ));
    }
    let host = super::cpu::Cpu::contiguous(a);
    let host = if a.layout().is_contiguous()
        && a.layout().offset() == 0
        && a.numel() == a.cpu_storage().len()
    {
        a.clone()
    } else {
        host
    };
    let out = empty(gpu, a.shape(), a.dtype());
    let n = a.numel();
    if n > 0 {
        gpu.bind();
        macro_rules! write {
            ($t:ty) => {{
                let src = &host.buffer::<$t>()[host.layout().offset()..host.layout().offset() + n];
                // SAFETY: `out` holds `n` elements; the copy is queued on the stream, which
                // orders it before any kernel that reads `out`. From pageable memory the
                // driver stages `src` before returning, so it may be dropped afterwards.
                unsafe {
                    check(
                        "cuMemcpyHtoDAsync",
                        result::memcpy_htod_async(out.cuda_storage().ptr(), src, gpu.cu_stream()),
                    )
                }
            }};
        }
        match a.dtype() {
            DType::F32 => write!(f32),
            DType::F64 => write!(f64),
            DType::I64 => write!(i64),
            DType::Bool => write!(bool),
        }
    }
    out
}

/// The one value of host array `a` (one element in its buffer) as a 0-d array on `gpu`,
/// from the device's cache of constants.
fn scalar_on(gpu: &Gpu, a: &Array) -> Array {
    // The buffer's one value, whatever the view's shape (it may even be empty).
    let a = &a.with_layout(Layout::contiguous(&[1]));
    let (value, int) = match a.dtype() {
        DType::I64 => {
            let v = a.to_vec::<i64>()[0];
            (v as f64, v)
        }
        _ => (a.to_vec::<f64>()[0], 0),
    };
    let bits = if a.dtype() == DType::I64 {
        int as u64
    } else {
        value.to_bits()
    };
    let key = (a.dtype(), bits);
    let mut cache = gpu.scalars.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(s) = cache.get(&key) {
        return s.clone();
    }
    let s = full(gpu, &[], value, int, a.dtype());
    // The constants of a program are few; a program that makes many starts the cache over.
    if cache.len() >= 4096 {
        cache.clear();
    }
    cache.insert(key, s.clone());
    s
}

/// `a` moved to `device` (another CUDA device goes through the host).
pub(crate) fn to_device(a: &Array, device: Device) -> Array {
    match (a.device(), device) {
        (from, to) if from == to => a.clone(),
        (Device::Cpu, Device::Cuda(_)) => from_host(gpu_of(device), a),
        (Device::Cuda(_), Device::Cpu) => to_host(a),
        (Device::Cuda(_), Device::Cuda(_)) => from_host(gpu_of(device), &to_host(a)),
        (Device::Cpu, Device::Cpu) => unreachable!(),
    }
}

/// A row-major copy of `a` on `gpu` (or `a` itself if it already is one).
pub(crate) fn contiguous_on(gpu: &Gpu, a: &Array) -> Array {
    if a.layout().is_contiguous() {
        return a.clone();
    }
    copy(gpu, a)
}

fn copy(gpu: &Gpu, a: &Array) -> Array {
    let out = empty(gpu, a.shape(), a.dtype());
    copy_into(gpu, &out, a);
    out
}

/// Write `src`'s values through the view `dst` (same shape, same dtype).
pub(crate) fn copy_into(gpu: &Gpu, dst: &Array, src: &Array) {
    let m = Map {
        key: ("copy", dtype_code(&[src.dtype()])),
        helpers: "",
        expr: "x",
        names: &["x"],
        inputs: &[src.dtype()],
        out: src.dtype(),
    };
    elementwise::run(gpu, &m, dst, &[src]);
}

fn unsupported(op: &str, dtype: DType) -> ! {
    panic!(
        "{op}: not implemented for '{dtype}' (internal: the frontend should have cast the input)"
    )
}

/// The `K`'s dtypes on this backend match the CPU's: floats always, integers and bools when
/// the kernel has a host function for them.
fn check_kernel_dtype(name: &str, dtype: DType, int: bool, boolean: bool) {
    match dtype {
        DType::I64 if !int => unsupported(name, dtype),
        DType::Bool if !boolean => unsupported(name, dtype),
        _ => {}
    }
}

/// Device arrays, device threads.
#[derive(Clone, Copy, Debug, Default)]
pub struct Cuda;

impl Backend for Cuda {
    fn unary<K: UnaryKernel>(x: &Array) -> Array {
        check_kernel_dtype(K::NAME, x.dtype(), K::INT.is_some(), K::BOOL.is_some());
        let gpu = gpu_of_array(x);
        let out = empty(gpu, x.shape(), x.dtype());
        let m = Map {
            key: (K::NAME, dtype_code(&[x.dtype()])),
            helpers: K::CUDA_HELPERS,
            expr: K::CUDA,
            names: &["x"],
            inputs: &[x.dtype()],
            out: x.dtype(),
        };
        elementwise::run(gpu, &m, &out, &[x]);
        out
    }

    fn binary<K: BinaryKernel>(a: &Array, b: &Array) -> Array {
        check_kernel_dtype(K::NAME, a.dtype(), K::INT.is_some(), K::BOOL.is_some());
        let gpu = gpu_of_array(a);
        let out = empty(gpu, a.shape(), a.dtype());
        let m = Map {
            key: (K::NAME, dtype_code(&[a.dtype(), b.dtype()])),
            helpers: K::CUDA_HELPERS,
            expr: K::CUDA,
            names: &["a", "b"],
            inputs: &[a.dtype(), b.dtype()],
            out: a.dtype(),
        };
        elementwise::run(gpu, &m, &out, &[a, b]);
        out
    }

    fn compare(a: &Array, b: &Array, op: Comparison) -> Array {
        let gpu = gpu_of_array(a);
        let out = empty(gpu, a.shape(), DType::Bool);
        let (name, expr) = match op {
            Comparison::Eq => ("eq", "a == b"),
            Comparison::Ne => ("ne", "a != b"),
            Comparison::Lt => ("lt", "a < b"),
            Comparison::Le => ("le", "a <= b"),
            Comparison::Gt => ("gt", "a > b"),
            Comparison::Ge => ("ge", "a >= b"),
        };
        let m = Map {
            key: (name, dtype_code(&[a.dtype()])),
            helpers: "",
            expr,
            names: &["a", "b"],
            inputs: &[a.dtype(), b.dtype()],
            out: DType::Bool,
        };
        elementwise::run(gpu, &m, &out, &[a, b]);
        out
    }

    fn select(pred: &Array, a: &Array, b: &Array) -> Array {
        let gpu = gpu_of_array(a);
        let out = empty(gpu, a.shape(), a.dtype());
        let m = Map {
            key: ("select", dtype_code(&[a.dtype()])),
            helpers: "",
            expr: "p ? a : b",
            names: &["p", "a", "b"],
            inputs: &[DType::Bool, a.dtype(), b.dtype()],
            out: a.dtype(),
        };
        elementwise::run(gpu, &m, &out, &[pred, a, b]);
        out
    }

    fn cast(x: &Array, dtype: DType) -> Array {
        let gpu = gpu_of_array(x);
        let out = empty(gpu, x.shape(), dtype);
        // As on the host: through double when a float is involved (exact for f32, and the
        // same rounding of large i64 to f32), to bool as `!= 0`; float to integer saturates
        // and NaN gives 0 (PTX `cvt.rzi` semantics, Rust's `as`).
        let expr = if dtype == DType::Bool {
            "x != T(0)"
        } else if dtype.is_float() || x.dtype().is_float() {
            "(TO)(double)x"
        } else {
            "(TO)x"
        };
        let m = Map {
            key: ("cast", dtype_code(&[x.dtype(), dtype])),
            helpers: "",
            expr,
            names: &["x"],
            inputs: &[x.dtype()],
            out: dtype,
        };
        elementwise::run(gpu, &m, &out, &[x]);
        out
    }

    fn contiguous(x: &Array) -> Array {
        copy(gpu_of_array(x), x)
    }

    fn reduce(x: &Array, axes: &[usize], op: ReduceOp) -> Array {
        if x.dtype() == DType::Bool {
            unsupported("reduce", DType::Bool);
        }
        reduce::reduce(gpu_of_array(x), x, axes, op)
    }

    fn arg_reduce(x: &Array, axis: usize, max: bool) -> Array {
        reduce::arg_reduce(gpu_of_array(x), x, axis, max)
    }

    fn gather(x: &Array, axis: usize, index: &Array) -> Result<Array, IndexOutOfBounds> {
        index::gather(gpu_of_array(x), x, axis, index)
    }

    fn scatter_add(
        x: &Array,
        axis: usize,
        index: &Array,
        src: &Array,
    ) -> Result<Array, IndexOutOfBounds> {
        if x.dtype() == DType::Bool {
            unsupported("scatter_add", DType::Bool);
        }
        index::scatter_add(gpu_of_array(x), x, axis, index, src)
    }

    fn concatenate(xs: &[&Array], axis: usize) -> Array {
        let gpu = gpu_of_array(xs[0]);
        let mut shape = xs[0].shape().to_vec();
        shape[axis] = xs.iter().map(|x| x.shape()[axis]).sum();
        let out = empty(gpu, &shape, xs[0].dtype());
        let mut start = 0;
        for x in xs {
            let n = x.shape()[axis];
            let mut lo = vec![0; shape.len()];
            let mut hi = shape.clone();
            lo[axis] = start;
            hi[axis] = start + n;
            let view = out.with_layout(out.layout().slice(&lo, &hi, &vec![1; shape.len()]));
            copy_into(gpu, &view, x);
            start += n;
        }
        out
    }

    fn pad(x: &Array, lo: &[usize], hi: &[usize], value: f64) -> Array {
        let gpu = gpu_of_array(x);
        let shape: Vec<usize> = (0..x.rank())
            .map(|d| lo[d] + x.shape()[d] + hi[d])
            .collect();
        let int = if x.dtype() == DType::I64 {
            value as i64
        } else {
            0
        };
        let out = full(gpu, &shape, value, int, x.dtype());
        let limit: Vec<usize> = (0..x.rank()).map(|d| lo[d] + x.shape()[d]).collect();
        let view = out.with_layout(out.layout().slice(lo, &limit, &vec![1; x.rank()]));
        copy_into(gpu, &view, x);
        out
    }

    fn cumsum(x: &Array, axis: usize) -> Array {
        if x.dtype() == DType::Bool {
            unsupported("cumsum", DType::Bool);
        }
        reduce::cumsum(gpu_of_array(x), x, axis)
    }

    fn random(dist: Distribution, shape: &[usize], dtype: DType, key: RngState) -> Array {
        // A draw has no input to take the device from: `random_on` is the entry.
        let _ = (dist, shape, dtype, key);
        unreachable!("internal: CUDA draws go through cuda::random::sample")
    }

    fn bernoulli(p: &Array, key: RngState) -> Array {
        random::bernoulli(gpu_of_array(p), p, key)
    }

    fn dot_general(lhs: &Array, rhs: &Array, dims: &DotDims) -> Array {
        blas::dot_general(gpu_of_array(lhs), lhs, rhs, dims)
    }

    fn conv2d(input: &Array, weight: &Array, params: &Conv2dParams) -> Array {
        conv::conv2d(gpu_of_array(input), input, weight, params)
    }

    fn max_pool2d(input: &Array, params: &Pool2dParams) -> Array {
        conv::max_pool2d(gpu_of_array(input), input, params)
    }
}

/// The kernel sources compile with NVRTC for sm_90 (needs only `libnvrtc`, found through the
/// loader path, e.g. `LD_LIBRARY_PATH` pointing at the `nvidia-cuda-nvrtc` wheel's `lib`;
/// skipped with a message when it cannot be loaded). Catches CUDA C mistakes on machines
/// without a GPU.
#[cfg(test)]
mod compile_check {
    use super::compile::{Source, compile};
    use super::elementwise::{Map, dtype_code};
    use crate::DType;

    fn nvrtc_present() -> bool {
        // SAFETY: only tries to dlopen the library.
        unsafe { cudarc::nvrtc::sys::is_culib_present() }
    }

    fn elementwise_sources() -> Vec<Source> {
        let mut out = Vec::new();
        for d in [DType::F32, DType::F64, DType::I64, DType::Bool] {
            for (expr, names) in [("x", &["x"][..]), ("p ? a : b", &["p", "a", "b"][..])] {
                let inputs: Vec<DType> = names
                    .iter()
                    .map(|n| if *n == "p" { DType::Bool } else { d })
                    .collect();
                out.push(super::elementwise::source_for_test(&Map {
                    key: ("t", dtype_code(&[d])),
                    helpers: "",
                    expr,
                    names,
                    inputs: &inputs,
                    out: d,
                }));
            }
        }
        out
    }

    /// Every source of every kernel family, for the check.
    pub(crate) fn all_sources() -> Vec<(String, Source)> {
        let mut all: Vec<(String, Source)> = elementwise_sources()
            .into_iter()
            .map(|s| ("elementwise".to_string(), s))
            .collect();
        all.extend(crate::primitives::cuda_sources_for_test());
        all.extend(super::reduce::sources_for_test());
        all.extend(super::index::sources_for_test());
        all.extend(super::random::sources_for_test());
        all.extend(super::blas::sources_for_test());
        all.extend(super::conv::sources_for_test());
        all
    }

    #[test]
    fn every_kernel_source_compiles_for_sm_90() {
        if !nvrtc_present() {
            eprintln!("skipped: libnvrtc cannot be loaded (no CUDA 13 NVRTC on the loader path)");
            return;
        }
        let mut failures = Vec::new();
        let all = all_sources();
        for (family, s) in &all {
            if let Err(log) = compile(&s.code, (9, 0)) {
                failures.push(format!("{family}: {log}"));
            }
        }
        assert!(
            failures.is_empty(),
            "{} of {} failed:\n{}",
            failures.len(),
            all.len(),
            failures.join("\n\n")
        );
    }
}
