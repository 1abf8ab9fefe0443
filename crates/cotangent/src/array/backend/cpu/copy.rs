//! Tiled copy for transposed views, the one layout where a plain strided walk thrashes the
//! cache (each read of a column touches a new cache line).

use rayon::prelude::*;

use super::strided::Walk;
use crate::array::storage::{StorageElement, alloc_uninit};
use crate::array::{Array, Layout};

/// Side of the square tiles: 64 x 64 f32 is a 16 KiB staging buffer, which stays in L1.
const TILE: usize = 64;
/// Views smaller than this go through the plain strided walk.
const MIN_ELEMS: usize = 32 * 32;
/// Views smaller than this are copied on the calling thread.
const MIN_PARALLEL: usize = 1 << 16;

/// A row-major copy of `x` if, after merging dims, it is a 2-d view with unit stride on the
/// *outer* dim (a transpose); `None` otherwise.
///
/// Note [Transposed copy]: each `TILE x TILE` tile is staged through a small dense buffer:
/// the source rows of the tile are copied into it contiguously, and the output rows are
/// gathered from it (an L1-resident buffer) and written contiguously. Copying straight from
/// source to output instead writes (or reads) `TILE` lines one row apart per step; with a
/// power-of-two row length those lines all fall in the same L1 set and evict each other,
/// which made `x.t().contiguous()` of a 4096 x 4096 f32 matrix take 47 ms instead of 6 ms
/// (2 cores; `bench/README.md`). This is also how PyTorch's `_copy_transpose` works.
pub(crate) fn transpose_copy<T: StorageElement>(x: &Array) -> Option<Array> {
    let walk = Walk::new([x.layout()]);
    let (shape, strides) = (walk.shape(), walk.strides(0));
    if shape.len() != 2 || strides[0] != 1 || strides[1] == 1 || x.numel() < MIN_ELEMS {
        return None;
    }
    let (rows, cols, col_stride) = (shape[0], shape[1], strides[1]);
    let src = x.buffer::<T>();
    let base = walk.offset(0);
    let mut out = alloc_uninit::<T>(rows * cols);
    // One band of TILE output rows: output (r0 + r, c) is source element
    // base + c * col_stride + r0 + r.
    let band = |(b, dst): (usize, &mut [T])| {
        let r0 = b * TILE;
        let nr = dst.len() / cols;
        let mut buf = [T::default(); TILE * TILE];
        for c0 in (0..cols).step_by(TILE) {
            let nc = (c0 + TILE).min(cols) - c0;
            for c in 0..nc {
                let start = base + (c0 + c) * col_stride + r0;
                buf[c * TILE..c * TILE + nr].copy_from_slice(&src[start..start + nr]);
            }
            for r in 0..nr {
                let row = &mut dst[r * cols + c0..r * cols + c0 + nc];
                for (c, d) in row.iter_mut().enumerate() {
                    *d = buf[c * TILE + r];
                }
            }
        }
    };
    if rows * cols >= MIN_PARALLEL {
        out.par_chunks_mut(TILE * cols).enumerate().for_each(band);
    } else {
        out.chunks_mut(TILE * cols).enumerate().for_each(band);
    }
    Some(Array::from_parts(
        T::wrap(out),
        Layout::contiguous(x.shape()),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `transpose_copy` of `layout` over `0..len` equals the elements in the layout's order.
    fn check(len: usize, layout: Layout) {
        let data: Vec<f32> = (0..len).map(|i| i as f32).collect();
        let x = Array::from_vec(data.clone(), &[len]).unwrap();
        let x = x.with_layout(layout.clone());
        let out = transpose_copy::<f32>(&x).expect("a transposed view");
        assert_eq!(out.shape(), layout.shape());
        let want: Vec<f32> = layout.offsets().iter().map(|&o| data[o]).collect();
        assert_eq!(out.to_vec::<f32>(), want, "layout {layout:?}");
    }

    #[test]
    fn transposes_match_the_strided_order() {
        // Square, ragged edges in both dims, single-threaded and parallel sizes.
        let shapes = [
            (32, 32),
            (64, 64),
            (100, 37),
            (37, 100),
            (130, 200),
            (300, 257),
        ];
        for (r, c) in shapes {
            check(r * c, Layout::contiguous(&[r, c]).permute(&[1, 0]));
        }
        // A transposed slice: an offset and a row stride longer than the rows.
        let l = Layout::contiguous(&[90, 120]).slice(&[3, 5], &[83, 115], &[1, 1]);
        check(90 * 120, l.permute(&[1, 0]));
    }

    #[test]
    fn other_layouts_are_declined() {
        let x = Array::from_vec(vec![0f32; 64 * 64], &[64, 64]).unwrap();
        assert!(transpose_copy::<f32>(&x).is_none());
        let small = Array::from_vec(vec![0f32; 16], &[4, 4]).unwrap();
        let t = small.with_layout(small.layout().permute(&[1, 0]));
        assert!(transpose_copy::<f32>(&t).is_none());
    }
}
