//! Elementwise ops and dtypes: operands that don't broadcast, dtypes an op does not accept,
//! integer division by zero, options out of range.

use cotangent::{
    DType, Tensor, atan2, clamp_tensor, eq, fmod, gelu, hardtanh, logical_and, maximum, minimum,
    pow, remainder, where_,
};

use crate::common::{idx, z};

fn bools() -> Tensor {
    Tensor::new([true, false])
}

bad! {
    add_shapes_do_not_broadcast: Shape("add", "The size of tensor a (3) must match the size of tensor b (4) at non-singleton dimension 1") =>
        &z(&[2, 3]) + &z(&[2, 4]);
    sub_shapes_do_not_broadcast: Shape("sub", "The size of tensor a (2) must match the size of tensor b (3) at non-singleton dimension 0") =>
        &z(&[2]) - &z(&[3]);
    mul_shapes_do_not_broadcast: Shape("mul", "The size of tensor a (5) must match the size of tensor b (2) at non-singleton dimension 2") =>
        &z(&[1, 3, 5]) * &z(&[3, 2]);
    div_shapes_do_not_broadcast: Shape("div", "The size of tensor a (2) must match the size of tensor b (3) at non-singleton dimension 0") =>
        &z(&[2, 1]) / &z(&[3, 1]);
    pow_shapes_do_not_broadcast: Shape("pow", "must match the size of tensor b") =>
        pow(&z(&[2]), &z(&[3]));
    atan2_shapes_do_not_broadcast: Shape("atan2", "must match the size of tensor b") =>
        atan2(&z(&[2]), &z(&[3]));
    maximum_shapes_do_not_broadcast: Shape("maximum", "must match the size of tensor b") =>
        maximum(&z(&[2]), &z(&[3]));
    minimum_shapes_do_not_broadcast: Shape("minimum", "must match the size of tensor b") =>
        minimum(&z(&[4, 2]), &z(&[3]));
    fmod_shapes_do_not_broadcast: Shape("fmod", "must match the size of tensor b") =>
        fmod(&z(&[2]), &z(&[3]));
    eq_shapes_do_not_broadcast: Shape("eq", "must match the size of tensor b") =>
        eq(&z(&[2]), &z(&[3]));
    lt_shapes_do_not_broadcast: Shape("lt", "must match the size of tensor b") =>
        z(&[2]).lt(&z(&[3]));
    logical_and_shapes_do_not_broadcast: Shape("logical_and", "must match the size of tensor b") =>
        logical_and(&bools(), &Tensor::new([true, false, true]));
    operator_with_scalar_keeps_shape_checks: Shape("add", "must match the size of tensor b") =>
        &(&z(&[2]) + 1.0) + &z(&[3]);
    neg_of_bool: DType("neg", "Negation, the `-` operator, on a bool tensor is not supported. If you are trying to invert a mask, use the `!` operator or the logical_not() function instead.") =>
        -&bools();
    sub_of_bools: DType("sub", "Subtraction, the `-` operator, with two bool tensors is not supported. Use the `^` operator or the logical_xor() function instead.") =>
        &bools() - &bools();
    sub_with_a_bool: DType("sub", "Subtraction, the `-` operator, with a bool tensor is not supported. If you are trying to invert a mask, use the `!` operator or the logical_not() function instead.") =>
        &z(&[2]) - &bools();
    where_condition_not_bool: DType("where", "expected condition to be a boolean tensor, but got a tensor with dtype Float") =>
        where_(&z(&[2]), &z(&[2]), &z(&[2]));
    where_shapes_do_not_broadcast: Shape("where", "must match the size of tensor") =>
        where_(&bools(), &z(&[3]), &z(&[2]));
    clamp_bounds_do_not_broadcast: Shape("clamp", "must match the size of tensor") =>
        clamp_tensor(&z(&[2]), Some(&z(&[3])), None);
    fmod_integer_by_zero: Value("fmod", "ZeroDivisionError") =>
        fmod(&idx([4, 5]), &idx([2, 0]));
    remainder_integer_by_zero: Value("remainder", "ZeroDivisionError") =>
        remainder(&idx([4]), &idx([0]));
    integer_to_negative_power: Value("pow", "Integers to negative integer powers are not allowed.") =>
        idx([2, 3]).pow_scalar_int(-1);
    gelu_unknown_approximation: Value("gelu", "approximate argument must be either none or tanh.") =>
        gelu(&z(&[2]), "erf");
    hardtanh_min_above_max: Value("hardtanh", "min_val (1) must not be greater than max_val (-1)") =>
        hardtanh(&z(&[2]), 1.0, -1.0);
    abs_of_bool: DType("abs", "not implemented for 'torch.bool'") =>
        bools().abs();
    to_dtype_then_mismatch: Shape("mul", "must match the size of tensor b") =>
        &z(&[2]).to_dtype(DType::F64) * &z(&[3]).to_dtype(DType::I64);
}
