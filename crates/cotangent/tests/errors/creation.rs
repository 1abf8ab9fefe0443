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
    // fixed on another branch: element counts that overflow (issue 8, item 2)
    #[ignore]
    from_vec_overflowing_shape: ShapeData("", "overflows") =>
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
    // fixed on another branch: arange with a NaN bound (issue 8, item 9)
    #[ignore]
    arange_nan_bound: Value("arange", "nan") =>
        Tensor::arange_step(0.0, f64::NAN, 1.0, DType::F32);
    // fixed on another branch: an infinite range cannot be allocated (issue 8, item 3)
    #[ignore]
    arange_infinite_bound: Value("arange", "inf") =>
        Tensor::arange_step(0.0, f64::INFINITY, 1.0, DType::F32);
    // fixed on another branch: a fill value the dtype cannot hold (issue 8, item 6)
    #[ignore]
    full_nan_as_int: Value("full", "value cannot be converted to type int64_t without overflow") =>
        Tensor::full(&[2], f64::NAN, DType::I64);
    // fixed on another branch: element counts that overflow (issue 8, item 2)
    #[ignore]
    zeros_overflowing_shape: Shape("zeros", "overflow") =>
        Tensor::zeros(&[1 << 32, 1 << 32]);
    // fixed on another branch: allocation failure is an error (issue 8, item 3)
    #[ignore]
    zeros_too_large_to_allocate: Alloc("zeros", "can't allocate memory") =>
        Tensor::zeros(&[1 << 40]);
    // fixed on another branch: element counts that overflow (issue 8, item 2)
    #[ignore]
    eye_overflowing: Shape("eye", "overflow") =>
        Tensor::eye(1 << 33, 1 << 33);
    size_dim_out_of_range: Index("size", "Dimension out of range (expected to be in range of [-2, 1], but got 2)") =>
        z(&[2, 3]).size(2);
    size_of_scalar: Index("size", "dimension specified as 0 but tensor has no dimensions") =>
        Tensor::scalar(1.0f32).size(0);
    allclose_shapes_that_do_not_broadcast: Shape("allclose", "The size of tensor a (3) must match the size of tensor b (4)") =>
        z(&[3]).allclose(&z(&[4]), 1e-5, 1e-8);
}
