//! Tiled copy for transposed views, the one layout where a plain strided walk thrashes the
//! cache (each read of a column touches a new cache line).

use rayon::prelude::*;

use super::strided::Walk;
use crate::array::storage::{StorageElement, alloc_uninit};
use crate::array::{Array, Layout};

/// Side of the square tiles: 32 x 32 f32 is 4 KiB per tile for reads and for writes.
const TILE: usize = 32;

/// A row-major copy of `x` if, after merging dims, it is a 2-d view with unit stride on the
/// *outer* dim (a transpose); `None` otherwise.
pub(crate) fn transpose_copy<T: StorageElement>(x: &Array) -> Option<Array> {
    let walk = Walk::new([x.layout()]);
    let (shape, strides) = (walk.shape(), walk.strides(0));
    if shape.len() != 2 || strides[0] != 1 || strides[1] == 1 || x.numel() < TILE * TILE {
        return None;
    }
    let (rows, cols, col_stride) = (shape[0], shape[1], strides[1]);
    let src = x.buffer::<T>();
    let base = walk.offset(0);
    let mut out = alloc_uninit::<T>(rows * cols);
    // One task per band of TILE output rows; inside, tiles along the columns.
    out.par_chunks_mut(TILE * cols).enumerate().for_each(|(band, dst)| {
        let r0 = band * TILE;
        let band_rows = dst.len() / cols;
        for c0 in (0..cols).step_by(TILE) {
            let c1 = (c0 + TILE).min(cols);
            for c in c0..c1 {
                let col = &src[base + c * col_stride + r0..base + c * col_stride + r0 + band_rows];
                for (r, &v) in col.iter().enumerate() {
                    dst[r * cols + c] = v;
                }
            }
        }
    });
    Some(Array::from_parts(T::wrap(out), Layout::contiguous(x.shape())))
}
