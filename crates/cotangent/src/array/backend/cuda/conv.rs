//! conv2d and max_pool2d on the device.

use super::runtime::Gpu;
use crate::array::Array;
use crate::array::backend::{Conv2dParams, Pool2dParams};

/// 2-d cross-correlation without bias.
pub(crate) fn conv2d(gpu: &Gpu, input: &Array, weight: &Array, params: &Conv2dParams) -> Array {
    let _ = (gpu, input, weight, params);
    super::not_yet("conv2d")
}

/// 2-d max pooling.
pub(crate) fn max_pool2d(gpu: &Gpu, input: &Array, params: &Pool2dParams) -> Array {
    let _ = (gpu, input, params);
    super::not_yet("max_pool2d")
}

/// This file's kernel sources, for the NVRTC compile check (`cuda/mod.rs`).
#[cfg(test)]
pub(crate) fn sources_for_test() -> Vec<(String, super::compile::Source)> {
    Vec::new()
}
