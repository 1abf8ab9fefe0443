//! `dot_general` on strided arrays: each operand is viewed as a batch of matrices without
//! copying when its strides allow, and the products go to [`super::matmul`].
//!
//! The lhs is read as `[batch, m, k]` (batch dims, then its free dims merged into `m`, then
//! its contracting dims merged into `k`) and the rhs as `[batch, k, n]`. The batch dims are
//! never merged: each batch entry gets its own offset, so broadcast (stride 0) and permuted
//! batch dims cost nothing. The free and the contracting dims of an operand must each merge
//! into one strided dim (a transposed matrix does); if either group cannot, the operand is
//! first copied row-major in `[batch, free, contracting]` order, after which both do.

use super::matmul::{MatRef, gemm_batched, gemm_batched_i64};
use crate::array::alloc::with_capacity_or_defer;
use crate::array::backend::DotDims;
use crate::array::storage::{StorageElement, alloc_uninit};
use crate::array::{Array, DType, Dims, Layout};

/// One operand seen as a batch of matrices: the array to read (the input, or a row-major
/// copy), each batch entry's offset, and the row and column strides.
struct Operand {
    array: Array,
    offsets: Vec<usize>,
    row_stride: isize,
    col_stride: isize,
}

impl Operand {
    fn mat_ref<T: StorageElement>(&self) -> MatRef<'_, T> {
        MatRef {
            data: self.array.buffer::<T>(),
            offsets: &self.offsets,
            row_stride: self.row_stride,
            col_stride: self.col_stride,
        }
    }
}

/// The stride of the single dim that `dims` of `layout` merge into, or `None` if they do not
/// merge (size-1 dims are ignored; an empty or all-size-1 group merges with stride 1).
fn merged_stride(layout: &Layout, dims: &[usize]) -> Option<usize> {
    let (shape, strides) = (layout.shape(), layout.strides());
    // An empty group is never read, so any stride does (a copy of an empty array may carry
    // strides that do not chain).
    if dims.iter().any(|&d| shape[d] == 0) {
        return Some(1);
    }
    let mut kept = dims.iter().filter(|&&d| shape[d] != 1);
    let Some(&first) = kept.next() else {
        return Some(1);
    };
    let mut prev = first;
    for &d in kept {
        if strides[prev] != strides[d] * shape[d] {
            return None;
        }
        prev = d;
    }
    Some(strides[prev])
}

/// Offsets of every batch entry (row-major over `batch` dims) of `layout`.
/// `dtype` is the product's, for the error if the offsets cannot be allocated.
fn batch_offsets(layout: &Layout, batch: &[usize], dtype: DType) -> Vec<usize> {
    let sizes: Vec<usize> = batch.iter().map(|&d| layout.shape()[d]).collect();
    let strides: Vec<usize> = batch.iter().map(|&d| layout.strides()[d]).collect();
    let count: usize = sizes.iter().product();
    let mut out = with_capacity_or_defer(count, dtype);
    let mut index = vec![0usize; sizes.len()];
    let mut pos = layout.offset();
    for _ in 0..count {
        out.push(pos);
        for d in (0..sizes.len()).rev() {
            index[d] += 1;
            pos += strides[d];
            if index[d] < sizes[d] {
                break;
            }
            pos -= strides[d] * sizes[d];
            index[d] = 0;
        }
    }
    out
}

/// `x` as a batch of `rows x cols` matrices: batch dims `batch`, row dims `rows`, column
/// dims `cols` (together every dim of `x` once).
fn operand(x: &Array, batch: &[usize], rows: &[usize], cols: &[usize]) -> Operand {
    let layout = x.layout();
    if let (Some(rs), Some(cs)) = (merged_stride(layout, rows), merged_stride(layout, cols)) {
        return Operand {
            array: x.clone(),
            offsets: batch_offsets(layout, batch, x.dtype()),
            row_stride: rs as isize,
            col_stride: cs as isize,
        };
    }
    // Copy row-major as [batch..., rows..., cols...]; then both groups merge.
    let perm: Vec<usize> = batch.iter().chain(rows).chain(cols).copied().collect();
    let copy = crate::array::backend::contiguous(&x.with_layout(layout.permute(&perm)));
    let nb = batch.len();
    let new_rows: Vec<usize> = (nb..nb + rows.len()).collect();
    let new_cols: Vec<usize> = (nb + rows.len()..perm.len()).collect();
    let new_batch: Vec<usize> = (0..nb).collect();
    let l = copy.layout();
    let rs = merged_stride(l, &new_rows).expect("row-major copy merges");
    let cs = merged_stride(l, &new_cols).expect("row-major copy merges");
    Operand {
        offsets: batch_offsets(l, &new_batch, x.dtype()),
        array: copy,
        row_stride: rs as isize,
        col_stride: cs as isize,
    }
}

/// The dims of a rank-`rank` operand that are neither batch nor contracting, in order.
fn free_dims(rank: usize, batch: &[usize], contract: &[usize]) -> Vec<usize> {
    (0..rank)
        .filter(|d| !batch.contains(d) && !contract.contains(d))
        .collect()
}

/// The output shape of `dot_general`: batch dims, lhs free dims, rhs free dims.
pub(crate) fn out_shape(lhs: &[usize], rhs: &[usize], dims: &DotDims) -> Dims {
    let mut out: Dims = dims.lhs_batch.iter().map(|&d| lhs[d]).collect();
    out.extend(
        free_dims(lhs.len(), &dims.lhs_batch, &dims.lhs_contract)
            .into_iter()
            .map(|d| lhs[d]),
    );
    out.extend(
        free_dims(rhs.len(), &dims.rhs_batch, &dims.rhs_contract)
            .into_iter()
            .map(|d| rhs[d]),
    );
    out
}

type Gemm<T> = fn(usize, usize, usize, MatRef<'_, T>, MatRef<'_, T>, &mut [T]);

fn run<T: StorageElement>(lhs: &Array, rhs: &Array, dims: &DotDims, gemm: Gemm<T>) -> Array {
    let lfree = free_dims(lhs.rank(), &dims.lhs_batch, &dims.lhs_contract);
    let rfree = free_dims(rhs.rank(), &dims.rhs_batch, &dims.rhs_contract);
    let size = |x: &Array, ds: &[usize]| ds.iter().map(|&d| x.shape()[d]).product::<usize>();
    let (m, n, k) = (
        size(lhs, &lfree),
        size(rhs, &rfree),
        size(lhs, &dims.lhs_contract),
    );
    let shape = out_shape(lhs.shape(), rhs.shape(), dims);
    let mut out = alloc_uninit::<T>(crate::array::layout::numel(&shape));
    if !out.is_empty() {
        let a = operand(lhs, &dims.lhs_batch, &lfree, &dims.lhs_contract);
        let b = operand(rhs, &dims.rhs_batch, &dims.rhs_contract, &rfree);
        gemm(m, n, k, a.mat_ref(), b.mat_ref(), &mut out);
    }
    Array::from_parts(T::wrap(out), Layout::contiguous(&shape))
}

/// `dot_general` of two arrays of equal dtype whose dims `dims` has validated.
pub(crate) fn dot_general(lhs: &Array, rhs: &Array, dims: &DotDims) -> Array {
    match lhs.dtype() {
        DType::F32 => run::<f32>(lhs, rhs, dims, gemm_batched::<f32>),
        DType::F64 => run::<f64>(lhs, rhs, dims, gemm_batched::<f64>),
        DType::I64 => run::<i64>(lhs, rhs, dims, gemm_batched_i64),
        DType::Bool => {
            panic!("matmul: not implemented for 'torch.bool' (internal: the frontend rejects it)")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merged_strides() {
        let l = Layout::contiguous(&[2, 3, 4]);
        assert_eq!(merged_stride(&l, &[1, 2]), Some(1));
        assert_eq!(merged_stride(&l, &[0, 1]), Some(4));
        assert_eq!(merged_stride(&l, &[0, 2]), None);
        assert_eq!(merged_stride(&l, &[]), Some(1));
        let t = l.permute(&[2, 1, 0]); // strides [1, 4, 12]
        assert_eq!(merged_stride(&t, &[0]), Some(1));
        assert_eq!(merged_stride(&t, &[2, 1]), Some(4));
        assert_eq!(merged_stride(&t, &[1, 2]), None);
        let b = Layout::contiguous(&[3]).broadcast_in_dim(&[5, 3], &[1]);
        assert_eq!(batch_offsets(&b, &[0], DType::F32), vec![0; 5]);
        assert_eq!(
            batch_offsets(&l, &[0, 1], DType::F32),
            vec![0, 4, 8, 12, 16, 20]
        );
    }
}
