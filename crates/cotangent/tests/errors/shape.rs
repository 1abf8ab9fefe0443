//! Shapes and views: reshape, permute, expand, narrow/select/slice, squeeze, flatten,
//! movedim, flip, repeat, the splits, cat/stack and pad.

use cotangent::{
    Tensor, cat, chunk, hstack, pad, split, split_with_sizes, stack, try_cat, try_pad, vstack,
};

use crate::common::z;

bad! {
    reshape_wrong_numel: Shape("reshape", "shape '[4, 2]' is invalid for input of size 6") =>
        z(&[2, 3]).reshape(&[4, 2]);
    reshape_two_inferred_dims: Shape("reshape", "only one dimension can be inferred") =>
        z(&[2, 3]).reshape(&[-1, -1]);
    reshape_inferred_dim_beside_zero: Shape("reshape", "the unspecified dimension size -1 can be any value") =>
        z(&[0, 3]).reshape(&[3, 0, -1]);
    reshape_negative_size: Value("reshape", "invalid shape dimension -2") =>
        z(&[2, 3]).reshape(&[-2, 3]);
    reshape_inferred_dim_does_not_divide: Shape("reshape", "shape '[4, -1]' is invalid for input of size 6") =>
        z(&[2, 3]).reshape(&[4, -1]);
    view_wrong_numel: Shape("reshape", "shape '[7]' is invalid for input of size 6") =>
        z(&[2, 3]).view(&[7]);
    permute_repeated_dim: Shape("permute", "number of dims don't match or dims repeat: the input has 2 dims [2, 3], the permutation is [0, 0]; give each dim exactly once") =>
        z(&[2, 3]).permute(&[0, 0]);
    permute_wrong_number_of_dims: Shape("permute", "number of dims don't match or dims repeat: the input has 2 dims [2, 3], the permutation is [0]") =>
        z(&[2, 3]).permute(&[0]);
    permute_dim_out_of_range: Index("permute", "Dimension out of range (expected to be in range of [-2, 1], but got 2)") =>
        z(&[2, 3]).permute(&[0, 2]);
    transpose_dim_out_of_range: Index("transpose", "Dimension out of range (expected to be in range of [-2, 1], but got -3)") =>
        z(&[2, 3]).transpose(0, -3);
    t_of_three_dims: Shape("t", "t() expects a tensor with <= 2 dimensions, but self is 3D") =>
        z(&[2, 2, 2]).t();
    m_t_of_one_dim: Shape("mT", "tensor.mT is only supported on matrices or batches of matrices. Got 1-D tensor.") =>
        z(&[3]).mT();
    expand_to_fewer_dims: Shape("expand", "the number of sizes provided (1) must be greater or equal to the number of dimensions in the tensor (2)") =>
        z(&[2, 3]).expand(&[3]);
    expand_non_singleton: Shape("expand", "The expanded size of the tensor (4) must match the existing size (3) at non-singleton dimension 1.  Target sizes: [2, 4].  Tensor sizes: [2, 3]") =>
        z(&[2, 3]).expand(&[2, 4]);
    expand_inferred_new_leading_dim: Shape("expand", "-1 is not allowed in a leading, non-existing dimension 0") =>
        z(&[3]).expand(&[-1, 3]);
    expand_negative_size: Value("expand", "invalid size -2 at dim 0 of sizes [-2]") =>
        z(&[3]).expand(&[-2]);
    broadcast_to_incompatible: Shape("broadcast_to", "[2, 3]") =>
        z(&[2, 3]).broadcast_to(&[3, 3]);
    expand_as_incompatible: Shape("expand", "The expanded size of the tensor (5) must match the existing size (3)") =>
        z(&[3]).expand_as(&z(&[2, 5]));
    narrow_past_the_end: Index("narrow", "start (2) + length (2) exceeds dimension size (3).") =>
        z(&[2, 3]).narrow(1, 2, 2);
    narrow_negative_start_out_of_range: Index("narrow", "start out of range (expected to be in range of [-3, 3], but got -4)") =>
        z(&[2, 3]).narrow(1, -4, 1);
    narrow_of_scalar: Index("narrow", "narrow() cannot be applied to a 0-dim tensor.") =>
        Tensor::scalar(1.0f32).narrow(0, 0, 1);
    narrow_dim_out_of_range: Index("narrow", "Dimension out of range (expected to be in range of [-2, 1], but got 2)") =>
        z(&[2, 3]).narrow(2, 0, 1);
    select_out_of_range: Index("select", "index 2 is out of bounds for dimension 0 with size 2") =>
        z(&[2, 3]).select(0, 2);
    select_negative_out_of_range: Index("select", "index -4 is out of bounds for dimension 1 with size 3") =>
        z(&[2, 3]).select(1, -4);
    select_of_scalar: Index("select", "select() cannot be applied to a 0-dim tensor.") =>
        Tensor::scalar(1.0f32).select(0, 0);
    slice_zero_step: Value("slice", "slice step must be positive") =>
        z(&[4]).slice(0, 0, 4, 0);
    slice_of_scalar: Index("slice", "slice() cannot be applied to a 0-dim tensor.") =>
        Tensor::scalar(1.0f32).slice(0, 0, 1, 1);
    slice_dim_out_of_range: Index("slice", "Dimension out of range (expected to be in range of [-1, 0], but got 1)") =>
        z(&[4]).slice(1, 0, 1, 1);
    unbind_of_scalar: Index("unbind", "Dimension specified as 0 but tensor has no dimensions") =>
        Tensor::scalar(1.0f32).unbind(0);
    unbind_dim_out_of_range: Index("unbind", "Dimension out of range (expected to be in range of [-2, 1], but got 3)") =>
        z(&[2, 3]).unbind(3);
    squeeze_dim_out_of_range: Index("squeeze", "Dimension out of range (expected to be in range of [-2, 1], but got 2)") =>
        z(&[2, 1]).squeeze_dim(2);
    unsqueeze_dim_out_of_range: Index("unsqueeze", "Dimension out of range (expected to be in range of [-3, 2], but got 3)") =>
        z(&[2, 1]).unsqueeze(3);
    flatten_start_after_end: Value("flatten", "flatten() has invalid args: start_dim cannot come after end_dim") =>
        z(&[2, 3, 4]).flatten(2, 1);
    flatten_dim_out_of_range: Index("flatten", "Dimension out of range (expected to be in range of [-3, 2], but got 3)") =>
        z(&[2, 3, 4]).flatten(0, 3);
    unflatten_sizes_do_not_multiply: Shape("unflatten", "shape '[2, 2]' is invalid for input of size 6") =>
        z(&[6]).unflatten(0, &[2, 2]);
    unflatten_of_scalar: Index("unflatten", "Dimension specified as 0 but tensor has no dimensions") =>
        Tensor::scalar(1.0f32).unflatten(0, &[1]);
    unflatten_no_sizes: Value("unflatten", "sizes must be non-empty") =>
        z(&[6]).unflatten(0, &[]);
    movedim_out_of_range: Index("movedim", "Dimension out of range (expected to be in range of [-2, 1], but got 2)") =>
        z(&[2, 3]).movedim(2, 0);
    flip_repeated_dim: Shape("flip", "dim 0 appears multiple times in the list of dims") =>
        z(&[2, 3]).flip(&[0, -2]);
    flip_dim_out_of_range: Index("flip", "Dimension out of range (expected to be in range of [-2, 1], but got 5)") =>
        z(&[2, 3]).flip(&[5]);
    repeat_fewer_sizes_than_dims: Shape("repeat", "Number of dimensions of repeat dims can not be smaller than number of dimensions of tensor") =>
        z(&[2, 3]).repeat(&[2]);
    chunk_zero_chunks: Value("chunk", "chunk expects `chunks` to be greater than 0, got: 0") =>
        chunk(&z(&[2, 3]), 0, 0);
    chunk_of_scalar: Shape("chunk", "chunk expects at least a 1-dimensional tensor") =>
        chunk(&Tensor::scalar(1.0f32), 1, 0);
    split_zero_size: Value("split", "split_size can only be 0 if dimension size is 0, but got dimension size of 3") =>
        split(&z(&[3]), 0, 0);
    split_with_sizes_bad_sum: Shape("split_with_sizes", "split_with_sizes expects split_sizes to sum exactly to 3 (input tensor's size at dimension 1), but got split_sizes=[1, 1]") =>
        split_with_sizes(&z(&[2, 3]), &[1, 1], 1);
    cat_sizes_differ: Shape("cat", "Sizes of tensors must match except in dimension 1. Expected size 3 but got size 4 for tensor number 1 in the list.") =>
        cat(&[z(&[3, 2]), z(&[4, 5])], 1);
    cat_ranks_differ: Shape("cat", "Tensors must have same number of dimensions: got 2 and 1") =>
        cat(&[z(&[3, 2]), z(&[3])], 0);
    cat_scalar: Shape("cat", "zero-dimensional tensor (at position 1) cannot be concatenated") =>
        cat(&[z(&[3, 2]), Tensor::scalar(1.0f32)], 0);
    cat_empty_list: Value("cat", "expected a non-empty list of Tensors") =>
        cat::<Tensor>(&[], 0);
    cat_dim_out_of_range: Index("cat", "Dimension out of range (expected to be in range of [-2, 1], but got 2)") =>
        cat(&[z(&[3, 2]), z(&[3, 2])], 2);
    stack_sizes_differ: Shape("stack", "stack expects each tensor to be equal size, but got [2, 3] at entry 0 and [2, 4] at entry 1") =>
        stack(&[z(&[2, 3]), z(&[2, 4])], 0);
    stack_empty_list: Value("stack", "stack expects a non-empty TensorList") =>
        stack::<Tensor>(&[], 0);
    stack_dim_out_of_range: Index("stack", "Dimension out of range (expected to be in range of [-3, 2], but got 3)") =>
        stack(&[z(&[2, 3]), z(&[2, 3])], 3);
    hstack_empty_list: Value("hstack", "hstack expects a non-empty TensorList") =>
        hstack::<Tensor>(&[]);
    vstack_sizes_differ: Shape("vstack", "Sizes of tensors must match except in dimension 0. Expected size 3 but got size 2 for tensor number 1 in the list.") =>
        vstack(&[z(&[2, 3]), z(&[2, 2])]);
    pad_odd_length: Value("pad", "Padding length must be divisible by 2") =>
        pad(&z(&[2, 3]), &[1], 0.0);
    pad_too_long: Shape("pad", "Padding length should be less than or equal to two times the input dimension but got padding length 6 and input of dimension 2") =>
        pad(&z(&[2, 3]), &[1, 1, 1, 1, 1, 1], 0.0);
    pad_negative_output: Shape("pad", "The input size 3, plus negative padding -2 and -2 resulted in a negative output size, which is invalid. Check dimension 1 of your input.") =>
        pad(&z(&[2, 3]), &[-2, -2], 0.0);
}

bad_result! {
    try_cat_sizes_differ: Shape("cat", "Expected size 2 but got size 5") =>
        try_cat(&[z(&[3, 2]), z(&[4, 5])], 0);
    try_pad_negative_output: Shape("pad", "resulted in a negative output size") =>
        try_pad(&z(&[2, 3]), &[0, 0, -3, 0], 0.0);
    try_reshape_wrong_numel: Shape("reshape", "shape '[5]' is invalid for input of size 6") =>
        z(&[2, 3]).try_reshape(&[5]);
    try_expand_non_singleton: Shape("expand", "must match the existing size (3) at non-singleton dimension 1") =>
        z(&[2, 3]).try_expand(&[2, 4]);
    try_movedim_out_of_range: Index("movedim", "Dimension out of range") =>
        z(&[2, 3]).try_movedim(0, 5);
}

/// Empty dims are not errors: they flow through views, reductions and broadcasting.
#[test]
fn zero_size_dims_flow_through() {
    let x = z(&[0, 3]);
    assert_eq!(x.sum().item::<f32>(), 0.0);
    assert_eq!(x.sum_dim(&[0], false).to_vec::<f32>(), vec![0.0; 3]);
    assert_eq!((&x + &Tensor::ones(&[3])).shape(), &[0, 3]);
    assert_eq!(x.t().contiguous().shape(), &[3, 0]);
    assert_eq!(x.reshape(&[3, 0, 1]).shape(), &[3, 0, 1]);
    assert_eq!(chunk(&z(&[0]), 3, 0).len(), 3);
    // Legacy empty tensors are skipped by cat whatever their rank.
    assert_eq!(cat(&[z(&[3, 2]), z(&[0])], 1).shape(), &[3, 2]);
    assert_eq!(
        try_pad(&z(&[2, 3]), &[0, 0, -2, 0], 0.0).unwrap().shape(),
        &[0, 3]
    );
}
