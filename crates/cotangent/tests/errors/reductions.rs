//! Reductions: dims out of range or repeated, empty reductions without an identity, and
//! float-only reductions of integers.

use cotangent::{Tensor, amax, amin, argmax, argmin, logsumexp, max_dim, mean, min_dim, prod, var};

use crate::common::z;

bad! {
    sum_dim_out_of_range: Index("sum", "Dimension out of range (expected to be in range of [-2, 1], but got 2)") =>
        z(&[2, 3]).sum_dim(&[2], false);
    sum_dim_repeated: Shape("sum", "dim 0 appears multiple times in the list of dims") =>
        z(&[2, 3]).sum_dim(&[0, -2], false);
    mean_dim_out_of_range: Index("mean", "Dimension out of range (expected to be in range of [-1, 0], but got -2)") =>
        z(&[3]).mean_dim(&[-2], false);
    mean_of_integers: DType("mean", "mean(): could not infer output dtype. Input dtype must be either a floating point or complex dtype. Got: Long") =>
        mean(&Tensor::arange(4), None, false);
    var_of_integers: DType("var", "std and var only support floating point and complex dtypes") =>
        var(&Tensor::arange(4), None, 1.0, false);
    std_of_integers: DType("std", "std and var only support floating point and complex dtypes") =>
        Tensor::arange(4).std();
    var_dim_out_of_range: Index("var", "Dimension out of range") =>
        z(&[3]).var_dim(&[1], 1.0, false);
    softmax_of_integers: DType("softmax", "not implemented for 'Long'") =>
        Tensor::arange(4).softmax(0);
    log_softmax_of_integers: DType("log_softmax", "not implemented for 'Long'") =>
        Tensor::arange(4).log_softmax(0);
    softmax_dim_out_of_range: Index("softmax", "Dimension out of range (expected to be in range of [-2, 1], but got 2)") =>
        z(&[2, 3]).softmax(2);
    log_softmax_dim_out_of_range: Index("log_softmax", "Dimension out of range") =>
        z(&[2, 3]).log_softmax(-3);
    logsumexp_dim_out_of_range: Index("logsumexp", "Dimension out of range") =>
        logsumexp(&z(&[2, 3]), &[4], false);
    max_of_empty: Shape("max", "Expected reduction dim to be specified for input.numel() == 0. Specify the reduction dim with the 'dim' argument.") =>
        z(&[0, 3]).max();
    min_of_empty: Shape("min", "Expected reduction dim to be specified for input.numel() == 0") =>
        z(&[0, 3]).min();
    amax_over_empty_dim: Shape("amax", "Expected reduction dim 0 to have non-zero size.") =>
        amax(&z(&[0, 3]), &[0], false);
    amin_over_empty_dim: Shape("amin", "Expected reduction dim 0 to have non-zero size.") =>
        amin(&z(&[0, 3]), &[0], false);
    amax_dim_out_of_range: Index("amax", "Dimension out of range") =>
        amax(&z(&[2, 3]), &[2], false);
    max_dim_over_empty_dim: Shape("max", "Expected reduction dim 0 to have non-zero size.") =>
        max_dim(&z(&[0, 3]), 0, false);
    min_dim_out_of_range: Index("min", "Dimension out of range (expected to be in range of [-2, 1], but got 2)") =>
        min_dim(&z(&[2, 3]), 2, false);
    argmax_over_empty_dim: Shape("argmax", "Expected reduction dim 0 to have non-zero size.") =>
        argmax(&z(&[0, 3]), Some(0), false);
    argmax_of_empty: Shape("argmax", "input.numel() == 0") =>
        argmax(&z(&[0, 3]), None, false);
    argmin_dim_out_of_range: Index("argmin", "Dimension out of range") =>
        argmin(&z(&[2, 3]), Some(-3), false);
    prod_dim_out_of_range: Index("prod", "Dimension out of range (expected to be in range of [-1, 0], but got 1)") =>
        prod(&z(&[3]), Some(1), false);
    cumsum_dim_out_of_range: Index("cumsum", "Dimension out of range (expected to be in range of [-2, 1], but got 2)") =>
        z(&[2, 3]).cumsum(2);
    any_dim_out_of_range: Index("any", "Dimension out of range") =>
        z(&[2]).any_dim(&[1], false);
    all_dim_out_of_range: Index("all", "Dimension out of range") =>
        z(&[2]).all_dim(&[-2], false);
}

/// Reductions along a non-empty dim of an empty tensor are empty, and sums and products of
/// nothing are their identities.
#[test]
fn empty_reductions_with_identity_are_values() {
    let empty = z(&[0, 3]);
    assert_eq!(amax(&empty, &[1], false).shape(), &[0]);
    assert_eq!(empty.sum().item::<f32>(), 0.0);
    assert_eq!(empty.prod().item::<f32>(), 1.0);
    assert!(mean(&empty, None, false).item::<f32>().is_nan());
}

/// Integer sums and products wrap on overflow, as torch's do, instead of panicking in a
/// debug build (found by the fuzzer).
#[test]
fn integer_sums_wrap() {
    let big = Tensor::new([i64::MAX, 1]);
    assert_eq!(big.sum().item::<i64>(), i64::MIN);
    assert_eq!(Tensor::new([i64::MAX, 2]).prod().item::<i64>(), -2);
    let ones = Tensor::new([1i64]);
    assert_eq!(
        ones.scatter_add(0, &Tensor::new([0i64]), &Tensor::new([i64::MAX]))
            .item::<i64>(),
        i64::MIN
    );
}
