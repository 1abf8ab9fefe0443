//! torch.cuda's functions: whether a GPU can be used, waiting for it, and the device
//! allocator's counters. Present in every build; without the `cuda` feature there are no
//! devices (`is_available()` is `false`) and the counters read 0.
//!
//! ```
//! use cotangent::{Device, Tensor, cuda};
//! if cuda::is_available() {
//!     let x = Tensor::ones(&[1024]).to(Device::Cuda(0));
//!     assert!(cuda::memory_allocated(0) >= 4096);
//!     drop(x);
//!     cuda::empty_cache();
//! }
//! ```
//!
//! Kernels run asynchronously: an op returns once its work is queued on the device's
//! stream, and the host waits only when it reads values (`to_vec`, `item`, printing,
//! comparisons that return a Rust `bool`) or calls [`synchronize`]. Time GPU work with a
//! [`synchronize`] before reading the clock.

#[cfg(feature = "cuda")]
use crate::array::backend::cuda::runtime;

/// Whether a CUDA device can be used: built with the `cuda` feature, the driver and CUDA 13
/// libraries load, and at least one device is present (`torch.cuda.is_available()`).
pub fn is_available() -> bool {
    device_count() > 0
}

/// The number of CUDA devices (`torch.cuda.device_count()`); 0 without the feature or a
/// driver.
pub fn device_count() -> usize {
    #[cfg(feature = "cuda")]
    {
        runtime::device_count()
    }
    #[cfg(not(feature = "cuda"))]
    0
}

/// Why CUDA cannot be used here, or `None` if it can: the message a `to(Device::Cuda(0))`
/// would fail with. Tests print it when they skip.
pub fn unavailable_reason() -> Option<String> {
    #[cfg(feature = "cuda")]
    {
        runtime::gpu(0).err().map(|e| e.to_string())
    }
    #[cfg(not(feature = "cuda"))]
    Some(crate::array::backend::no_cuda(crate::Device::Cuda(0)).to_string())
}

#[cfg(feature = "cuda")]
fn with_gpu<T>(device: usize, f: impl FnOnce(&runtime::Gpu) -> T, default: T) -> T {
    match runtime::gpu(device) {
        Ok(g) => f(g),
        Err(_) => default,
    }
}

/// Wait until every kernel queued on every device that has been used has finished
/// (`torch.cuda.synchronize()`). An error found on the device since the last read (an
/// out-of-bounds gather index, a bernoulli `p` outside [0, 1]) is raised here, as at any read.
pub fn synchronize() {
    #[cfg(feature = "cuda")]
    for i in 0..device_count() {
        with_gpu(i, |g| g.read_barrier(), ());
    }
}

/// Bytes held by live tensors on CUDA device `device` (`torch.cuda.memory_allocated`).
pub fn memory_allocated(device: usize) -> usize {
    #[cfg(feature = "cuda")]
    {
        with_gpu(device, |g| g.memory.counters.allocated(), 0)
    }
    #[cfg(not(feature = "cuda"))]
    {
        let _ = device;
        0
    }
}

/// The peak of [`memory_allocated`] since start or [`reset_peak_memory_stats`]
/// (`torch.cuda.max_memory_allocated`).
pub fn max_memory_allocated(device: usize) -> usize {
    #[cfg(feature = "cuda")]
    {
        with_gpu(device, |g| g.memory.counters.peak_allocated(), 0)
    }
    #[cfg(not(feature = "cuda"))]
    {
        let _ = device;
        0
    }
}

/// Bytes the caching allocator holds from the driver: live tensors plus cached blocks
/// (`torch.cuda.memory_reserved`).
pub fn memory_reserved(device: usize) -> usize {
    #[cfg(feature = "cuda")]
    {
        with_gpu(device, |g| g.memory.counters.reserved(), 0)
    }
    #[cfg(not(feature = "cuda"))]
    {
        let _ = device;
        0
    }
}

/// The peak of [`memory_reserved`] (`torch.cuda.max_memory_reserved`).
pub fn max_memory_reserved(device: usize) -> usize {
    #[cfg(feature = "cuda")]
    {
        with_gpu(device, |g| g.memory.counters.peak_reserved(), 0)
    }
    #[cfg(not(feature = "cuda"))]
    {
        let _ = device;
        0
    }
}

/// Restart both peaks from the current values (`torch.cuda.reset_peak_memory_stats`).
pub fn reset_peak_memory_stats(device: usize) {
    #[cfg(feature = "cuda")]
    with_gpu(device, |g| g.memory.counters.reset_peaks(), ());
    #[cfg(not(feature = "cuda"))]
    let _ = device;
}

/// Give every cached block of every device back to the driver (`torch.cuda.empty_cache`).
pub fn empty_cache() {
    #[cfg(feature = "cuda")]
    for i in 0..device_count() {
        with_gpu(i, |g| g.memory.empty_cache(g), ());
    }
}

/// Let float32 matrix products and convolutions use TF32 tensor cores (torch's
/// `torch.backends.cuda.matmul.allow_tf32`): about 7x faster on large GEMMs but with a
/// 10-bit mantissa, so off by default (IEEE float32, as torch's matmuls; torch's separate
/// cuDNN switch defaults to on).
pub fn set_allow_tf32(on: bool) {
    #[cfg(feature = "cuda")]
    crate::array::backend::cuda::blas::set_allow_tf32(on);
    #[cfg(not(feature = "cuda"))]
    let _ = on;
}

/// Whether float32 matrix products may use TF32 ([`set_allow_tf32`]).
pub fn allow_tf32() -> bool {
    #[cfg(feature = "cuda")]
    {
        crate::array::backend::cuda::blas::allow_tf32()
    }
    #[cfg(not(feature = "cuda"))]
    false
}

/// Let `conv2d` use cuDNN where it loads (torch's `torch.backends.cudnn.enabled`; on by
/// default, off if the environment has `COTANGENT_CUDNN=0`). Off, or without cuDNN,
/// convolutions run as im2col and cuBLAS GEMMs.
pub fn set_cudnn_enabled(on: bool) {
    #[cfg(feature = "cuda")]
    crate::array::backend::cuda::cudnn::set_enabled(on);
    #[cfg(not(feature = "cuda"))]
    let _ = on;
}

/// Whether `conv2d` may use cuDNN ([`set_cudnn_enabled`]).
pub fn cudnn_enabled() -> bool {
    #[cfg(feature = "cuda")]
    {
        crate::array::backend::cuda::cudnn::enabled()
    }
    #[cfg(not(feature = "cuda"))]
    true
}

/// The version of the cuDNN library `conv2d` uses (torch's `torch.backends.cudnn.version()`,
/// e.g. `91900` for 9.19.0), or `None` if `libcudnn.so.9` does not load (or without the
/// `cuda` feature).
pub fn cudnn_version() -> Option<usize> {
    #[cfg(feature = "cuda")]
    {
        crate::array::backend::cuda::cudnn::version()
    }
    #[cfg(not(feature = "cuda"))]
    None
}
