//! Building tensors: data of the wrong length, impossible ranges and fills, `item` of a
//! tensor that is not one element.

use cotangent::{DType, Tensor};

use crate::common::z;

bad_result! {
    from_vec_wrong_length: ShapeData("", "shape [2, 2] is invalid for input of size 3") =>
        Tensor::from_vec(vec![1.0f32, 2.0, 3.0], &[2, 2]);
    from_slice_wrong_length: ShapeData("", "shape [3] is invalid for input of size 2") =>
        Tensor::from_slice(&[1i64, 2], &[3]);
    from_vec_empty_shape_needs_one: ShapeData("", "shape [] is invalid for input of size 0") =>
        Tensor::from_vec(Vec::<f64>::new(), &[]);
    from_vec_zero_dim_with_data: ShapeData("", "shape [0, 4] is invalid for input of size 1") =>
        Tensor::from_vec(vec![true], &[0, 4]);
    from_vec_overflowing_shape: Shape("from_vec", "Storage size calculation overflowed with sizes=[3, 6148914691236517206]") =>
        Tensor::from_vec(vec![1.0f32, 2.0], &[3, 0x5555_5555_5555_5556]);
    try_item_of_many: Shape("item", "a Tensor with 2 elements cannot be converted to Scalar") =>
        z(&[2]).try_item::<f32>();
}

bad! {
    item_of_many: Shape("item", "a Tensor with 6 elements cannot be converted to Scalar") =>
        z(&[2, 3]).item::<f32>();
    item_of_empty: Shape("item", "a Tensor with 0 elements cannot be converted to Scalar") =>
        z(&[0]).item::<f64>();
    arange_zero_step: Value("arange", "step must be nonzero") =>
        Tensor::arange_step(0.0, 5.0, 0.0, DType::F32);
    arange_step_of_wrong_sign: Value("arange", "upper bound and larger bound inconsistent with step sign") =>
        Tensor::arange_step(0.0, 5.0, -1.0, DType::F64);
    arange_nan_bound: Value("arange", "unsupported range: 0 -> NaN") =>
        Tensor::arange_step(0.0, f64::NAN, 1.0, DType::F32);
    arange_infinite_bound: Value("arange", "unsupported range: 0 -> inf") =>
        Tensor::arange_step(0.0, f64::INFINITY, 1.0, DType::F32);
    full_nan_as_int: Value("full", "value NaN cannot be converted to type torch.int64 without overflow") =>
        Tensor::full(&[2], f64::NAN, DType::I64);
    zeros_overflowing_shape: Shape("zeros", "Storage size calculation overflowed with sizes=[4294967296, 4294967296]") =>
        Tensor::zeros(&[1 << 32, 1 << 32]);
    // 2^60 bytes: more than any address space, refused whatever the overcommit setting.
    zeros_too_large_to_allocate: Alloc("zeros", "can't allocate memory: you tried to allocate 1152921504606846976 bytes") =>
        Tensor::zeros(&[1 << 58]);
    eye_overflowing: Shape("eye", "Storage size calculation overflowed") =>
        Tensor::eye(1 << 33, 1 << 33);
    size_dim_out_of_range: Index("size", "Dimension out of range (expected to be in range of [-2, 1], but got 2)") =>
        z(&[2, 3]).size(2);
    size_of_scalar: Index("size", "dimension specified as 0 but tensor has no dimensions") =>
        Tensor::scalar(1.0f32).size(0);
    allclose_shapes_that_do_not_broadcast: Shape("allclose", "The size of tensor a (3) must match the size of tensor b (4)") =>
        z(&[3]).allclose(&z(&[4]), 1e-5, 1e-8);
}
