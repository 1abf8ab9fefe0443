//! Random draws on the device: the host's Philox4x32-10 stream, bit for bit.

use super::runtime::Gpu;
use crate::array::backend::{Distribution, RngState};
use crate::array::{Array, DType};

/// A draw of `shape` and `dtype` from `dist` at `key`.
pub(crate) fn sample(
    gpu: &Gpu,
    dist: Distribution,
    shape: &[usize],
    dtype: DType,
    key: RngState,
) -> Array {
    let _ = (gpu, dist, shape, dtype, key);
    super::not_yet("random")
}

/// Bernoulli draws with probabilities `p`.
pub(crate) fn bernoulli(gpu: &Gpu, p: &Array, key: RngState) -> Array {
    let _ = (gpu, p, key);
    super::not_yet("bernoulli")
}

/// This file's kernel sources, for the NVRTC compile check (`cuda/mod.rs`).
#[cfg(test)]
pub(crate) fn sources_for_test() -> Vec<(String, super::compile::Source)> {
    Vec::new()
}
