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
