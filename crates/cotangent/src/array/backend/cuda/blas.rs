//! dot_general through cuBLAS.

use super::runtime::Gpu;
use crate::array::Array;
use crate::array::backend::DotDims;

/// A cuBLAS handle bound to the device's stream.
pub(crate) struct Handle;

/// XLA's DotGeneral.
pub(crate) fn dot_general(gpu: &Gpu, lhs: &Array, rhs: &Array, dims: &DotDims) -> Array {
    let _ = (gpu, lhs, rhs, dims);
    super::not_yet("dot_general")
}

/// This file's kernel sources, for the NVRTC compile check (`cuda/mod.rs`).
#[cfg(test)]
pub(crate) fn sources_for_test() -> Vec<(String, super::compile::Source)> {
    Vec::new()
}

static ALLOW_TF32: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// See [`crate::cuda::set_allow_tf32`].
pub fn set_allow_tf32(on: bool) {
    ALLOW_TF32.store(on, std::sync::atomic::Ordering::Relaxed);
}

/// See [`crate::cuda::allow_tf32`].
pub fn allow_tf32() -> bool {
    ALLOW_TF32.load(std::sync::atomic::Ordering::Relaxed)
}
