//! Array-level 2-D convolution and max pooling: make the operands row-major (NCHW) and call
//! the slice kernels in [`super::matmul`].

use super::matmul::{
    GemmScalar, conv2d_forward, conv2d_out_shape, max_pool2d_forward, max_pool2d_out_shape,
};
use crate::array::backend::{Conv2dParams, Pool2dParams, contiguous};
use crate::array::storage::{StorageElement, alloc_uninit};
use crate::array::{Array, DType, Layout};

/// A 4-d shape as an array (the primitive's shape rule checked the rank).
fn four(shape: &[usize]) -> [usize; 4] {
    shape
        .try_into()
        .expect("internal: conv/pool operands are 4-d")
}

/// The elements of a row-major array as a slice.
fn slice<T: StorageElement>(x: &Array) -> &[T] {
    x.contiguous_slice::<T>()
        .expect("row-major after contiguous()")
}

fn conv<T: StorageElement + GemmScalar>(input: &Array, weight: &Array, p: &Conv2dParams) -> Array {
    let (x, w) = (contiguous(input), contiguous(weight));
    let (xs, ws) = (four(x.shape()), four(w.shape()));
    let shape = conv2d_out_shape(xs, ws, p.stride, p.padding, p.dilation);
    let mut out = alloc_uninit::<T>(shape.iter().product());
    conv2d_forward(
        slice::<T>(&x),
        xs,
        slice::<T>(&w),
        ws,
        p.stride,
        p.padding,
        p.dilation,
        p.groups,
        &mut out,
    );
    Array::from_parts(T::wrap(out), Layout::contiguous(&shape))
}

/// Cross-correlation of `input` `[n, c_in, h, w]` with `weight` `[c_out, c_in / groups, kh,
/// kw]`, zero padded; float dtypes.
pub(crate) fn conv2d(input: &Array, weight: &Array, p: &Conv2dParams) -> Array {
    match input.dtype() {
        DType::F32 => conv::<f32>(input, weight, p),
        DType::F64 => conv::<f64>(input, weight, p),
        d => panic!("conv2d: not implemented for '{d}' (internal: the shape rule rejects it)"),
    }
}

fn pool<T: StorageElement + GemmScalar>(input: &Array, p: &Pool2dParams) -> Array {
    let x = contiguous(input);
    let xs = four(x.shape());
    let shape = max_pool2d_out_shape(
        xs,
        p.kernel_size,
        p.stride,
        p.padding,
        p.dilation,
        p.ceil_mode,
    );
    let mut out = alloc_uninit::<T>(shape.iter().product());
    max_pool2d_forward(
        slice::<T>(&x),
        xs,
        p.kernel_size,
        p.stride,
        p.padding,
        p.dilation,
        p.ceil_mode,
        &mut out,
    );
    Array::from_parts(T::wrap(out), Layout::contiguous(&shape))
}

/// Max over windows of `input` `[n, c, h, w]`, padding acting as `-inf`; float dtypes.
pub(crate) fn max_pool2d(input: &Array, p: &Pool2dParams) -> Array {
    match input.dtype() {
        DType::F32 => pool::<f32>(input, p),
        DType::F64 => pool::<f64>(input, p),
        d => panic!("max_pool2d: not implemented for '{d}' (internal: the shape rule rejects it)"),
    }
}
