//! Matrix products: ranks, inner sizes, batch sizes and dtypes of matmul, mm, bmm, mv, dot,
//! outer, tensordot, dot_general and linear.

use cotangent::{DType, Tensor, bmm, dot, dot_general, linear, matmul, mm, mv, outer, tensordot};

use crate::common::z;

bad! {
    matmul_scalar: Shape("matmul", "both arguments to matmul need to be at least 1D, but they are 0D and 1D") =>
        matmul(&Tensor::scalar(1.0f32), &z(&[3]));
    matmul_inner_sizes_differ: Shape("matmul", "mat1 and mat2 shapes cannot be multiplied (2x3 and 4x5)") =>
        matmul(&z(&[2, 3]), &z(&[4, 5]));
    matmul_vectors_differ: Shape("matmul", "inconsistent tensor size, expected tensor [3] and src [4] to have the same number of elements, but got 3 and 4 elements respectively") =>
        matmul(&z(&[3]), &z(&[4]));
    matmul_matrix_vector_differ: Shape("matmul", "size mismatch, got input (2), mat (2x3), vec (4)") =>
        matmul(&z(&[2, 3]), &z(&[4]));
    matmul_batched_inner_sizes_differ: Shape("matmul", "Expected size for first two dimensions of batch2 tensor to be: [5, 3] but got: [5, 4].") =>
        matmul(&z(&[5, 2, 3]), &z(&[5, 4, 2]));
    matmul_batch_dims_do_not_broadcast: Shape("matmul", "The size of tensor a (2) must match the size of tensor b (3) at non-singleton dimension 0") =>
        matmul(&z(&[2, 2, 3]), &z(&[3, 3, 2]));
    matmul_of_bools: DType("matmul", "not implemented for 'Bool'") =>
        matmul(&Tensor::new([[true]]), &Tensor::new([[false]]));
    matmul_method_inner_sizes_differ: Shape("matmul", "mat1 and mat2 shapes cannot be multiplied (1x2 and 3x1)") =>
        z(&[1, 2]).matmul(&z(&[3, 1]));
    mm_of_vector: Shape("mm", "self must be a matrix, got a 1-d tensor") =>
        mm(&z(&[3]), &z(&[3, 2]));
    mm_with_vector: Shape("mm", "mat2 must be a matrix, got a 1-d tensor") =>
        mm(&z(&[2, 3]), &z(&[3]));
    mm_inner_sizes_differ: Shape("mm", "mat1 and mat2 shapes cannot be multiplied (2x3 and 2x3)") =>
        mm(&z(&[2, 3]), &z(&[2, 3]));
    bmm_of_matrix: Shape("bmm", "batch1 must be a 3D tensor, got a 2-d tensor") =>
        bmm(&z(&[2, 3]), &z(&[1, 3, 2]));
    bmm_with_matrix: Shape("bmm", "batch2 must be a 3D tensor, got a 2-d tensor") =>
        bmm(&z(&[1, 2, 3]), &z(&[3, 2]));
    bmm_batches_differ: Shape("bmm", "batch1 and batch2 must have same number of batches, got 2 and 3") =>
        bmm(&z(&[2, 2, 3]), &z(&[3, 3, 2]));
    bmm_inner_sizes_differ: Shape("bmm", "Expected size for first two dimensions of batch2 tensor to be: [2, 3] but got: [2, 4].") =>
        bmm(&z(&[2, 2, 3]), &z(&[2, 4, 2]));
    dot_of_matrices: Shape("dot", "1D tensors expected, but got 2D and 1D tensors") =>
        dot(&z(&[2, 2]), &z(&[4]));
    dot_lengths_differ: Shape("dot", "inconsistent tensor size, expected tensor [3] and src [2] to have the same number of elements, but got 3 and 2 elements respectively") =>
        dot(&z(&[3]), &z(&[2]));
    mv_of_vector: Shape("mv", "vector + matrix @ vector expected, got 1, 1, 1") =>
        mv(&z(&[3]), &z(&[3]));
    mv_sizes_differ: Shape("mv", "size mismatch, got input (2), mat (2x3), vec (2)") =>
        mv(&z(&[2, 3]), &z(&[2]));
    outer_of_matrix: Shape("outer", "outer: Expected 1-D argument self, but got 2-D") =>
        outer(&z(&[2, 2]), &z(&[2]));
    tensordot_list_lengths_differ: Shape("tensordot", "both dimension lists should have same length") =>
        tensordot(&z(&[2, 3]), &z(&[3, 2]), &[1], &[0, 1]);
    tensordot_sizes_differ: Shape("tensordot", "contracted dimensions need to match, but first has size 3 in dim 1 and second has size 2 in dim 0") =>
        tensordot(&z(&[2, 3]), &z(&[2, 3]), &[1], &[0]);
    tensordot_dim_out_of_range: Index("tensordot", "Dimension out of range") =>
        tensordot(&z(&[2, 3]), &z(&[3, 2]), &[2], &[0]);
    dot_general_contracting_sizes_differ: Shape("dot_general", "contracting dim 1 of lhs (size 3) does not match contracting dim 0 of rhs (size 2)") =>
        dot_general(&z(&[2, 3]), &z(&[2, 3]), (&[1], &[0]), (&[], &[]));
    dot_general_dim_used_twice: Shape("dot_general", "lhs dim 0 is used more than once") =>
        dot_general(&z(&[2, 2]), &z(&[2, 2]), (&[0], &[0]), (&[0], &[1]));
    dot_general_unbalanced_dims: Shape("dot_general", "lhs and rhs must have as many batch dims") =>
        dot_general(&z(&[2, 2]), &z(&[2, 2]), (&[0, 1], &[0]), (&[], &[]));
    dot_general_dim_out_of_range: Index("dot_general", "Dimension out of range") =>
        dot_general(&z(&[2, 2]), &z(&[2, 2]), (&[2], &[0]), (&[], &[]));
    linear_in_features_differ: Shape("linear", "mat1 and mat2 shapes cannot be multiplied (4x3 and 2x5)") =>
        linear(&z(&[4, 3]), &z(&[5, 2]), None);
    linear_scalar_input: Shape("linear", "input must be at least 1D and weight 1D or 2D, but they are 0D and 2D") =>
        linear(&Tensor::scalar(1.0f32), &z(&[5, 2]), None);
    linear_bias_of_wrong_size: Shape("linear", "The size of tensor a (5) must match the size of tensor b (4)") =>
        linear(&z(&[4, 3]), &z(&[5, 3]), Some(&z(&[4])));
    linear_of_bools: DType("linear", "not implemented for 'Bool'") =>
        linear(&Tensor::new([[true]]), &Tensor::new([[true]]), None);
    matmul_mixed_dtype_inner_mismatch: Shape("matmul", "mat1 and mat2 shapes cannot be multiplied (2x3 and 2x2)") =>
        matmul(&z(&[2, 3]).to_dtype(DType::F64), &Tensor::zeros_dtype(&[2, 2], DType::I64));
}

/// Found by the fuzzer: the backward of a product with an empty operand copied the empty
/// operand and then failed an internal `expect` on its strides.
#[test]
fn vjp_of_a_product_with_an_empty_operand() {
    let x = z(&[3, 0]);
    let (y, f) = cotangent::vjp(
        |x: Tensor| dot_general(&x, &x.logsumexp(&[], false), (&[], &[]), (&[], &[])),
        x,
    );
    assert_eq!(y.shape(), &[3, 0]);
    assert_eq!(f.call(y.ones_like()).shape(), &[3, 0]);
}
