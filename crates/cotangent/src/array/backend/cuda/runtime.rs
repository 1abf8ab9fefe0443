//! One CUDA device as the backend sees it: its context, its one stream, its cuBLAS handle,
//! its compiled kernels and its allocator, created on first use and kept for the process.
//!
//! Note [Finding the driver]: cudarc opens `libcuda`, `libnvrtc` and `libcublas` at run time
//! and panics if one is missing, so [`gpu`] asks whether each library can be loaded before
//! anything touches cudarc: a machine without a driver gets an [`Error::Device`] naming the
//! feature and what was looked for, never a panic from inside cudarc.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use cudarc::driver::{CudaContext, CudaStream, sys};

use super::compile::Kernels;
use super::memory::Allocator;
use crate::Device;
use crate::error::Error;

/// A device's state. Everything the backend queues goes on `stream`, so stream order alone
/// orders every kernel, copy and buffer reuse (no events).
pub(crate) struct Gpu {
    pub(crate) ordinal: usize,
    pub(crate) ctx: Arc<CudaContext>,
    pub(crate) stream: Arc<CudaStream>,
    /// Compute capability, e.g. `(9, 0)`: the architecture NVRTC compiles for.
    pub(crate) arch: (i32, i32),
    pub(crate) kernels: Kernels,
    pub(crate) memory: Allocator,
    pub(crate) blas: Mutex<Option<super::blas::Handle>>,
    /// Device copies of host scalars (`x * 2.0`), by dtype and bit pattern: a 0-d CPU
    /// tensor meets a device tensor in every rule that scales by a constant, and re-uploading
    /// it each time would cost a copy per op.
    pub(crate) scalars: Mutex<HashMap<(crate::DType, u64), crate::array::Array>>,
    /// Checks of device data whose verdict the next read reports (Note [Deferred device
    /// checks]).
    pub(crate) checks: super::checks::Checks,
    /// The cuDNN handle and plans, created on the first convolution; `None` if cuDNN is
    /// missing or would not start (Note [Choosing the convolution]).
    pub(crate) dnn: OnceLock<Option<Mutex<super::cudnn::Dnn>>>,
}

impl Gpu {
    /// The raw stream handle for launches.
    pub(crate) fn cu_stream(&self) -> sys::CUstream {
        self.stream.cu_stream()
    }

    /// Make the context current on this thread (a no-op when it already is).
    pub(crate) fn bind(&self) {
        check("cuCtxSetCurrent", self.ctx.bind_to_thread());
    }

    /// Wait for everything queued on the stream.
    pub(crate) fn synchronize(&self) {
        self.bind();
        check("cuStreamSynchronize", self.stream.synchronize());
    }

    /// Wait for the stream before the host reads device data, and raise the first failed
    /// device check queued since the last read (Note [Deferred device checks]).
    pub(crate) fn read_barrier(&self) {
        self.synchronize();
        if let Some(e) = self.checks.settle(self) {
            crate::error::defer(e)
        }
    }
}

/// Panic with an [`Error::Device`] naming `call` if a CUDA call failed. A failed call after
/// the backend's own checks is an environment problem (a driver fault, a lost device); the
/// panic carries a typed error that `catch` and the `try_` forms turn into `Err`.
#[track_caller]
pub(crate) fn check<T, E: std::fmt::Debug>(call: &'static str, r: Result<T, E>) -> T {
    match r {
        Ok(v) => v,
        Err(e) => crate::error::raise(Error::Device {
            op: call,
            msg: format!("CUDA call failed: {e:?}"),
        }),
    }
}

/// Whether the driver, NVRTC and cuBLAS libraries can be opened (Note [Finding the driver]).
fn missing_library() -> Option<&'static str> {
    static MISSING: OnceLock<Option<&'static str>> = OnceLock::new();
    *MISSING.get_or_init(|| {
        // SAFETY: these only try to dlopen the library and drop the handle; no symbol is
        // called.
        let present = unsafe {
            [
                (
                    "libcuda.so (the NVIDIA driver)",
                    cudarc::driver::sys::is_culib_present(),
                ),
                (
                    "libnvrtc.so (NVRTC, CUDA 13)",
                    cudarc::nvrtc::sys::is_culib_present(),
                ),
                (
                    "libcublas.so (cuBLAS, CUDA 13)",
                    cudarc::cublas::sys::is_culib_present(),
                ),
            ]
        };
        present.iter().find(|(_, ok)| !ok).map(|(name, _)| *name)
    })
}

/// Whether a CUDA device can be used: the libraries load and the driver reports at least one
/// device. Tests use it to skip on machines without a GPU.
pub fn is_available() -> bool {
    device_count() > 0
}

/// The number of CUDA devices (0 without a driver). torch: `torch.cuda.device_count()`.
pub fn device_count() -> usize {
    static COUNT: OnceLock<usize> = OnceLock::new();
    *COUNT.get_or_init(|| {
        if missing_library().is_some() {
            return 0;
        }
        match cudarc::driver::result::init() {
            Ok(()) => CudaContext::device_count().map_or(0, |n| n.max(0) as usize),
            Err(_) => 0,
        }
    })
}

/// The state of CUDA device `ordinal`, created on first use.
pub(crate) fn gpu(ordinal: usize) -> Result<&'static Gpu, Error> {
    const MAX_DEVICES: usize = 64;
    static GPUS: OnceLock<Vec<OnceLock<Result<&'static Gpu, Error>>>> = OnceLock::new();
    let slots = GPUS.get_or_init(|| (0..MAX_DEVICES).map(|_| OnceLock::new()).collect());
    let Some(slot) = slots.get(ordinal) else {
        return Err(no_such_device(ordinal));
    };
    slot.get_or_init(|| open(ordinal).map(|g| &*Box::leak(Box::new(g))))
        .clone()
}

fn no_such_device(ordinal: usize) -> Error {
    Error::Device {
        op: "cuda",
        msg: format!(
            "CUDA device {ordinal} does not exist: the driver reports {} device(s). Use an \
             ordinal below that (Device::Cuda(0) is the first GPU)",
            device_count()
        ),
    }
}

fn open(ordinal: usize) -> Result<Gpu, Error> {
    if let Some(lib) = missing_library() {
        return Err(Error::Device {
            op: "cuda",
            msg: format!(
                "no CUDA driver: cotangent was built with the `cuda` feature, but {lib} could \
                 not be loaded (looked for it by name in the loader's path: /etc/ld.so.cache and \
                 LD_LIBRARY_PATH). Install the NVIDIA driver and CUDA 13 libraries, or add their \
                 folder to LD_LIBRARY_PATH; use Device::Cpu on a machine without a GPU"
            ),
        });
    }
    if ordinal >= device_count() {
        return Err(no_such_device(ordinal));
    }
    let fail = |call: &str, e: cudarc::driver::DriverError| Error::Device {
        op: "cuda",
        msg: format!("opening CUDA device {ordinal}: {call} failed: {e:?}"),
    };
    let ctx = CudaContext::new(ordinal).map_err(|e| fail("cuDevicePrimaryCtxRetain", e))?;
    // SAFETY: the backend orders all its work on one stream and never uses cudarc's
    // `CudaSlice`, whose cross-stream safety the events provide (cuda.md, pitfall 2).
    unsafe { ctx.disable_event_tracking() };
    let stream = ctx.new_stream().map_err(|e| fail("cuStreamCreate", e))?;
    let arch = ctx
        .compute_capability()
        .map_err(|e| fail("cuDeviceGetAttribute", e))?;
    Ok(Gpu {
        ordinal,
        ctx,
        stream,
        arch,
        kernels: Kernels::default(),
        memory: Allocator::new(Device::Cuda(ordinal)),
        blas: Mutex::new(None),
        scalars: Mutex::new(HashMap::new()),
        checks: Default::default(),
        dnn: OnceLock::new(),
    })
}
