//! Error messages of the indexing, assembly and reduction ops: out-of-range indices, shape
//! mismatches and empty reductions stop with torch's wording, before any data moves, and
//! the library keeps working after a caught failure.

use cotangent::{
    DType, Error, Tensor, amax, argmax, cat, chunk, gather, index_select, max_dim, mean, one_hot,
    pad, scatter_add, split_with_sizes, stack, take_along_dim, try_cat, try_pad, var,
};

use cotangent::testing::assert_panics_with;

fn idx<const N: usize>(values: [i64; N]) -> Tensor {
    Tensor::new(values)
}

#[test]
fn gather_rejects_out_of_range_and_negative_indices() {
    let x = Tensor::zeros(&[3, 3]);
    assert_panics_with(
        || drop(gather(&x, 0, &Tensor::new([[0i64, 7, 1]]))),
        &[
            "gather",
            "index 7 is out of bounds for dimension 0 with size 3",
        ],
    );
    assert_panics_with(
        || drop(gather(&x, 1, &Tensor::new([[0i64], [-1]]))),
        &["index -1 is out of bounds for dimension 1 with size 3"],
    );
    // An empty dim has no valid index.
    let empty = Tensor::zeros(&[2, 0]);
    assert_panics_with(
        || drop(gather(&empty, 1, &Tensor::new([[0i64], [0]]))),
        &["index 0 is out of bounds for dimension 1 with size 0"],
    );
    // The library keeps working after the caught panic.
    assert_eq!(gather(&x, 0, &Tensor::new([[2i64, 2, 2]])).shape(), &[1, 3]);
}

#[test]
fn gather_checks_shapes_and_dtypes() {
    let x = Tensor::zeros(&[3, 3]);
    assert_panics_with(
        || drop(gather(&x, 1, &Tensor::zeros_dtype(&[4, 2], DType::I64))),
        &[
            "Size does not match at dimension 0 expected index [4, 2] to be smaller than self \
             [3, 3] apart from dimension 1",
        ],
    );
    assert_panics_with(
        || drop(gather(&x, 0, &Tensor::zeros(&[1, 3]))),
        &["Expected dtype int64 for index"],
    );
    assert_panics_with(
        || drop(gather(&x, 0, &idx([0, 1]))),
        &["Index tensor must have the same number of dimensions as input tensor"],
    );
    assert_panics_with(
        || drop(gather(&x, 2, &idx([0]))),
        &["Dimension out of range"],
    );
}

#[test]
fn take_along_dim_checks_ranks_and_indices() {
    let x = Tensor::zeros(&[2, 3]);
    assert_panics_with(
        || drop(take_along_dim(&x, &idx([0, 1]), Some(1))),
        &[
            "take_along_dim",
            "input and indices should have the same number of dimensions, but got 2 dimensions \
             for input, and 1 dimensions for indices",
        ],
    );
    assert_panics_with(
        || drop(take_along_dim(&x, &Tensor::new([[3i64]]), Some(1))),
        &["index 3 is out of bounds for dimension 1 with size 3"],
    );
    assert_panics_with(
        || drop(take_along_dim(&x, &idx([6]), None)),
        &["index 6 is out of bounds for dimension 0 with size 6"],
    );
}

#[test]
fn index_select_rejects_bad_indices() {
    let x = Tensor::zeros(&[3, 2]);
    assert_panics_with(
        || drop(index_select(&x, 0, &idx([0, 5]))),
        &[
            "index_select",
            "index out of range in self",
            "index 5 is out of bounds for dimension 0 with size 3",
        ],
    );
    assert_panics_with(
        || drop(index_select(&x, 1, &idx([-1]))),
        &["index -1 is out of bounds for dimension 1 with size 2"],
    );
    assert_panics_with(
        || drop(index_select(&x, 0, &Tensor::new([[0i64]]))),
        &["Index is supposed to be a vector"],
    );
    assert_panics_with(
        || drop(index_select(&Tensor::scalar(1.0f32), 0, &idx([0, 0]))),
        &["Index to scalar can have only 1 value"],
    );
}

#[test]
fn scatter_add_rejects_bad_indices_and_shapes() {
    let x = Tensor::zeros(&[3]);
    assert_panics_with(
        || drop(scatter_add(&x, 0, &idx([0, 3]), &Tensor::ones(&[2]))),
        &[
            "scatter_add",
            "index 3 is out of bounds for dimension 0 with size 3",
        ],
    );
    assert_panics_with(
        || drop(scatter_add(&x, 0, &idx([0, 1, 2]), &Tensor::ones(&[2]))),
        &[
            "Expected index [3] to be smaller than self [3] apart from dimension 0 and to be smaller size than src [2]",
        ],
    );
    assert_panics_with(
        || {
            drop(scatter_add(
                &x,
                0,
                &idx([0]),
                &Tensor::ones(&[1]).to_dtype(DType::F64),
            ))
        },
        &["Expected self.dtype to be equal to src.dtype"],
    );
}

#[test]
fn cat_messages_follow_torch() {
    let (a, b) = (Tensor::zeros(&[3, 2]), Tensor::zeros(&[4, 5]));
    assert_panics_with(
        || drop(cat(&[&a, &b], 1)),
        &[
            "Sizes of tensors must match except in dimension 1. Expected size 3 but got size 4 \
             for tensor number 1 in the list.",
        ],
    );
    assert_panics_with(
        || drop(cat(&[&a, &Tensor::zeros(&[3])], 0)),
        &["Tensors must have same number of dimensions: got 2 and 1"],
    );
    assert_panics_with(
        || drop(cat(&[a.clone(), Tensor::scalar(1.0f32)], 0)),
        &["zero-dimensional tensor (at position 1) cannot be concatenated"],
    );
    assert_panics_with(
        || drop(cat::<Tensor>(&[], 0)),
        &["expected a non-empty list of Tensors"],
    );
    assert!(matches!(
        try_cat(&[&a, &b], 0),
        Err(Error::Shape { op: "cat", .. })
    ));
    // Legacy empty tensors are skipped whatever their rank.
    assert_eq!(cat(&[&a, &Tensor::zeros(&[0])], 1).shape(), &[3, 2]);
}

#[test]
fn stack_and_splits_check_their_arguments() {
    let (a, b) = (Tensor::zeros(&[2, 3]), Tensor::zeros(&[2, 4]));
    assert_panics_with(
        || drop(stack(&[&a, &b], 0)),
        &[
            "stack expects each tensor to be equal size, but got [2, 3] at entry 0 and [2, 4] at entry 1",
        ],
    );
    assert_panics_with(
        || drop(split_with_sizes(&a, &[1, 1], 1)),
        &["split_with_sizes expects split_sizes to sum exactly to 3"],
    );
    assert_panics_with(
        || drop(chunk(&a, 0, 0)),
        &["chunk expects `chunks` to be greater than 0, got: 0"],
    );
    assert_eq!(chunk(&Tensor::zeros(&[0]), 3, 0).len(), 3);
}

#[test]
fn pad_checks_lengths_and_sizes() {
    let x = Tensor::zeros(&[2, 3]);
    assert_panics_with(
        || drop(pad(&x, &[1], 0.0)),
        &["Padding length must be divisible by 2"],
    );
    assert_panics_with(
        || drop(pad(&x, &[1, 1, 1, 1, 1, 1], 0.0)),
        &[
            "Padding length should be less than or equal to two times the input dimension but got padding length 6 and input of dimension 2",
        ],
    );
    assert_panics_with(
        || drop(pad(&x, &[-2, -2], 0.0)),
        &[
            "The input size 3, plus negative padding -2 and -2 resulted in a negative output size, which is invalid. Check dimension 1 of your input.",
        ],
    );
    assert_eq!(try_pad(&x, &[0, 0, -2, 0], 0.0).unwrap().shape(), &[0, 3]);
    assert!(try_pad(&x, &[0, 0, -3, 0], 0.0).is_err());
}

#[test]
fn empty_reductions_without_identity_are_errors() {
    let empty = Tensor::zeros(&[0, 3]);
    assert_panics_with(
        || drop(empty.max()),
        &[
            "max",
            "Expected reduction dim to be specified for input.numel() == 0. Specify the reduction dim with the 'dim' argument.",
        ],
    );
    assert_panics_with(
        || drop(empty.min()),
        &["min", "Expected reduction dim to be specified"],
    );
    assert_panics_with(
        || drop(amax(&empty, &[0], false)),
        &["amax", "Expected reduction dim 0 to have non-zero size."],
    );
    assert_panics_with(
        || drop(max_dim(&empty, 0, false)),
        &["max", "Expected reduction dim 0 to have non-zero size."],
    );
    assert_panics_with(
        || drop(argmax(&empty, Some(0), false)),
        &["argmax", "Expected reduction dim 0 to have non-zero size."],
    );
    assert_panics_with(
        || drop(argmax(&empty, None, false)),
        &["argmax", "input.numel() == 0"],
    );
    // Along a non-empty dim of an empty tensor, the result is empty.
    assert_eq!(amax(&empty, &[1], false).shape(), &[0]);
    assert_eq!(empty.sum().item::<f32>(), 0.0);
    assert_eq!(empty.prod().item::<f32>(), 1.0);
    assert!(mean(&empty, None, false).item::<f32>().is_nan());
}

#[test]
fn float_only_reductions_name_the_dtype() {
    let ints = Tensor::arange(4);
    assert_panics_with(
        || drop(mean(&ints, None, false)),
        &[
            "mean(): could not infer output dtype. Input dtype must be either a floating point or complex dtype. Got: Long",
        ],
    );
    assert_panics_with(
        || drop(var(&ints, None, 1.0, false)),
        &["std and var only support floating point and complex dtypes"],
    );
    assert_panics_with(
        || drop(ints.softmax(0)),
        &["softmax", "not implemented for 'Long'"],
    );
}

#[test]
fn one_hot_checks_classes() {
    assert_panics_with(
        || drop(one_hot(&idx([0, 3]), 3)),
        &["Class values must be smaller than num_classes."],
    );
    assert_panics_with(
        || drop(one_hot(&idx([-1]), 3)),
        &["Class values must be non-negative."],
    );
    assert_panics_with(
        || drop(one_hot(&Tensor::zeros(&[2]), 3)),
        &["one_hot is only applicable to index tensor of type LongTensor."],
    );
    assert_panics_with(
        || drop(one_hot(&Tensor::zeros_dtype(&[0], DType::I64), -1)),
        &["Can not infer total number of classes from empty tensor."],
    );
    assert_eq!(
        one_hot(&Tensor::zeros_dtype(&[0], DType::I64), 4).shape(),
        &[0, 4]
    );
}
