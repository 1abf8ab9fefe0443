//! gather and scatter_add on the device.

use super::runtime::Gpu;
use crate::array::Array;
use crate::array::backend::IndexOutOfBounds;

/// torch.gather along `axis`, or the first bad index.
pub(crate) fn gather(
    gpu: &Gpu,
    x: &Array,
    axis: usize,
    index: &Array,
) -> Result<Array, IndexOutOfBounds> {
    let _ = (gpu, x, axis, index);
    super::not_yet("gather")
}

/// torch.scatter_add along `axis`, or the first bad index.
pub(crate) fn scatter_add(
    gpu: &Gpu,
    x: &Array,
    axis: usize,
    index: &Array,
    src: &Array,
) -> Result<Array, IndexOutOfBounds> {
    let _ = (gpu, x, axis, index, src);
    super::not_yet("scatter_add")
}

/// This file's kernel sources, for the NVRTC compile check (`cuda/mod.rs`).
#[cfg(test)]
pub(crate) fn sources_for_test() -> Vec<(String, super::compile::Source)> {
    Vec::new()
}
