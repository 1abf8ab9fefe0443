//! Kernel parameters and launches.
//!
//! Every kernel takes one parameter, a struct passed by value whose fields are all 8 bytes
//! (pointers, `long long`, `double`, and arrays of them), so its C layout has no padding
//! and [`Params`] builds it as a plain list of `u64` words in field order.

use std::ffi::c_void;

use cudarc::driver::{CudaFunction, result};

use super::runtime::{Gpu, check};
use crate::array::Array;

/// The most dims a kernel indexes after [`coalesce`] merges what it can (torch's CUDA limit
/// is 25; shapes of more than 16 dims that cannot be merged are refused with a message).
pub(crate) const MAX_RANK: usize = 16;

/// Threads per block for the elementwise and indexing kernels.
pub(crate) const BLOCK: u32 = 256;

/// The kernel parameter struct under construction.
#[derive(Default)]
pub(crate) struct Params(Vec<u64>);

impl Params {
    pub(crate) fn new() -> Self {
        Params(Vec::with_capacity(96))
    }
    pub(crate) fn u64(&mut self, v: u64) -> &mut Self {
        self.0.push(v);
        self
    }
    pub(crate) fn i64(&mut self, v: i64) -> &mut Self {
        self.u64(v as u64)
    }
    pub(crate) fn usize(&mut self, v: usize) -> &mut Self {
        self.u64(v as u64)
    }
    pub(crate) fn f64(&mut self, v: f64) -> &mut Self {
        self.u64(v.to_bits())
    }
    /// The device address of `a`'s buffer (its element 0; the layout's offset is separate).
    pub(crate) fn buffer(&mut self, a: &Array) -> &mut Self {
        self.u64(a.cuda_storage().ptr())
    }
    /// A `Shape` struct: rank, element count, then `MAX_RANK` dims (unused ones 1).
    pub(crate) fn shape(&mut self, dims: &[usize]) -> &mut Self {
        debug_assert!(dims.len() <= MAX_RANK);
        self.usize(dims.len()).usize(dims.iter().product());
        for d in 0..MAX_RANK {
            self.usize(dims.get(d).copied().unwrap_or(1));
        }
        self
    }
    /// A `Lay` struct: offset, then `MAX_RANK` strides (unused ones 0).
    pub(crate) fn lay(&mut self, offset: usize, strides: &[usize]) -> &mut Self {
        self.usize(offset);
        for d in 0..MAX_RANK {
            self.i64(strides.get(d).copied().unwrap_or(0) as i64);
        }
        self
    }
}

/// Queue `f` on the device's stream with `grid` x `block` threads and `shared` bytes of
/// dynamic shared memory.
pub(crate) fn launch(
    gpu: &Gpu,
    f: &CudaFunction,
    grid: (u32, u32, u32),
    block: (u32, u32, u32),
    shared: u32,
    params: &mut Params,
) {
    if grid.0 == 0 || grid.1 == 0 || grid.2 == 0 {
        return;
    }
    gpu.bind();
    let mut args = [params.0.as_mut_ptr() as *mut c_void];
    // SAFETY: every kernel takes one struct parameter whose fields are the 8-byte words of
    // `params` in order (module doc), so the single argument pointer points at a correctly
    // laid out value that lives until the launch returns (the driver copies it). The device
    // addresses in it belong to arrays the caller holds, on this device, and stream order
    // keeps their blocks from being reused before the kernel runs (memory.rs).
    let launched = unsafe {
        result::launch_kernel(
            f.cu_function(),
            grid,
            block,
            shared,
            gpu.cu_stream(),
            &mut args,
        )
    };
    check("cuLaunchKernel", launched);
}

/// A grid-stride launch size for `n` elements.
pub(crate) fn grid_for(n: usize) -> u32 {
    // Enough blocks to fill the device several times over; the loops stride past that.
    const MAX_BLOCKS: usize = 132 * 32;
    n.div_ceil(BLOCK as usize).clamp(1, MAX_BLOCKS) as u32
}

/// `shape` with every operand's `strides`, size-1 dims dropped and neighbouring dims merged
/// where every operand steps through them as one (row-major), so a transposed or broadcast
/// view costs as few index divisions as its structure needs. Returns the merged shape and
/// each operand's merged strides.
pub(crate) fn coalesce(shape: &[usize], strides: &[&[usize]]) -> (Vec<usize>, Vec<Vec<usize>>) {
    let mut dims: Vec<usize> = Vec::with_capacity(shape.len());
    let mut out: Vec<Vec<usize>> = vec![Vec::with_capacity(shape.len()); strides.len()];
    for d in 0..shape.len() {
        let n = shape[d];
        if n == 1 {
            continue;
        }
        let mergeable = dims.last().is_some_and(|_| {
            strides
                .iter()
                .zip(&out)
                .all(|(s, o)| *o.last().expect("same length") == s[d] * n)
        });
        if mergeable {
            *dims.last_mut().expect("checked") *= n;
            for (s, o) in strides.iter().zip(out.iter_mut()) {
                *o.last_mut().expect("checked") = s[d];
            }
        } else {
            dims.push(n);
            for (s, o) in strides.iter().zip(out.iter_mut()) {
                o.push(s[d]);
            }
        }
    }
    (dims, out)
}

#[cfg(test)]
mod tests {
    use super::coalesce;

    #[test]
    fn contiguous_merges_to_one_dim_and_transposes_do_not() {
        let (d, s) = coalesce(&[2, 3, 4], &[&[12, 4, 1], &[12, 4, 1]]);
        assert_eq!((d, s), (vec![24], vec![vec![1], vec![1]]));
        let (d, s) = coalesce(&[3, 4], &[&[4, 1], &[1, 3]]);
        assert_eq!((d, s), (vec![3, 4], vec![vec![4, 1], vec![1, 3]]));
        // A broadcast row: stride 0 along dim 0 merges with nothing but size-1 dims vanish.
        let (d, s) = coalesce(&[1, 5, 1, 4], &[&[0, 4, 4, 1], &[0, 0, 0, 1]]);
        assert_eq!((d, s), (vec![5, 4], vec![vec![4, 1], vec![0, 1]]));
        let (d, s) = coalesce(&[1, 1], &[&[1, 1]]);
        assert_eq!((d, s), (vec![], vec![vec![]]));
    }
}
