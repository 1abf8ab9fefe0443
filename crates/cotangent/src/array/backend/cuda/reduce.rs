//! Reductions over any axes, arg reductions and cumulative sums on the device.

use super::runtime::Gpu;
use crate::array::Array;
use crate::array::backend::ReduceOp;

/// `x` reduced over `axes` (sorted, unique), which are removed.
pub(crate) fn reduce(gpu: &Gpu, x: &Array, axes: &[usize], op: ReduceOp) -> Array {
    let _ = (gpu, x, axes, op);
    super::not_yet("reduce")
}

/// Index of the max (or min) along `axis`, which is removed; `i64`.
pub(crate) fn arg_reduce(gpu: &Gpu, x: &Array, axis: usize, max: bool) -> Array {
    let _ = (gpu, x, axis, max);
    super::not_yet("arg_reduce")
}

/// Running sums along `axis`.
pub(crate) fn cumsum(gpu: &Gpu, x: &Array, axis: usize) -> Array {
    let _ = (gpu, x, axis);
    super::not_yet("cumsum")
}

/// This file's kernel sources, for the NVRTC compile check (`cuda/mod.rs`).
#[cfg(test)]
pub(crate) fn sources_for_test() -> Vec<(String, super::compile::Source)> {
    Vec::new()
}
