//! Each transform's own misuse: argnums, has_aux, non-scalar or integer outputs, tangents and
//! cotangents that do not fit, in_dims/out_dims, chunk_size, `.item()` under vmap.

use cotangent::transforms::vmap::Dims;
use cotangent::tree::DynTree;
use cotangent::{
    DType, GradOpts, JacfwdOpts, JacrevOpts, JvpOpts, Tensor, UNMAPPED, VmapOpts, grad,
    grad_and_value, grad_with, hessian, jacfwd, jacfwd_with, jacrev, jacrev_with, jvp, jvp_with,
    linearize, try_grad, try_grad_and_value, try_grad_with, try_hessian, try_jacfwd,
    try_jacfwd_with, try_jacrev, try_jacrev_with, try_jvp, try_jvp_with, try_jvp_with_aux,
    try_linearize, try_vjp, try_vjp_with_aux, try_vmap, try_vmap_with, vjp, vmap, vmap_with,
};

use crate::common::z;

fn x3() -> Tensor {
    Tensor::new([1.0f64, 2.0, 3.0])
}

fn pair() -> (Tensor, Tensor) {
    (x3(), x3())
}

fn mul((x, y): (Tensor, Tensor)) -> Tensor {
    (&x * &y).sum()
}

bad! {
    grad_non_scalar_output: Transform("grad", "grad(f)(*args): Expected f(*args) to return a scalar Tensor, got tensor with 1 dims (shape [3]). Maybe you wanted to use the vjp or jacrev APIs instead?") =>
        grad(|x: Tensor| x.sin())(x3());
    grad_shape_one_output_is_not_scalar: Transform("grad", "Expected f(*args) to return a scalar Tensor, got tensor with 1 dims (shape [1])") =>
        grad(|x: Tensor| x.sum_dim(&[0], true))(x3());
    grad_integer_output: Transform("grad", "grad(f)(*args): the output must be a floating point Tensor, got torch.int64") =>
        grad(|x: Tensor| x.to_dtype(DType::I64).sum())(x3());
    grad_integer_input: Transform("grad", "only Tensors of floating point dtype can require gradients; input leaf 0 has dtype torch.int64") =>
        grad(|x: Tensor| x.to_dtype(DType::F32).sum())(Tensor::arange(3));
    grad_argnum_out_of_range: Transform("grad", "Got argnum=2, but only 2 positional inputs") =>
        grad_with::<_, _, Tensor, _>(mul, GradOpts::new().argnums(2))(pair());
    grad_negative_argnum_out_of_range: Transform("grad", "Got argnum=-3, but only 2 positional inputs") =>
        grad_with::<_, _, Tensor, _>(mul, GradOpts::new().argnums(-3))(pair());
    grad_argnums_repeated: Transform("grad", "argnums elements must be unique") =>
        grad_with::<_, _, DynTree, _>(mul, GradOpts::new().argnums((0, -2)))(pair());
    grad_argnums_empty: Transform("grad", "argnums must be non-empty") =>
        grad_with::<_, _, DynTree, _>(mul, GradOpts::new().argnums(()))(pair());
    grad_has_aux_without_pair: Transform("grad", "grad(f)(*args): output of function f should be a tuple: (output, aux) if has_aux is True") =>
        grad_with::<_, _, DynTree, _>(|x: Tensor| x.sum(), GradOpts::new().has_aux(true))(x3());
    grad_has_aux_with_triple: Transform("grad", "output of function f should be a tuple: (output, aux) if has_aux is True, got structure") =>
        grad_with::<_, _, DynTree, _>(|x: Tensor| (x.sum(), x.clone(), x), GradOpts::new().has_aux(true))(x3());
    grad_tuple_output_without_aux: Transform("grad", "grad(f)(*args): Expected f(*args) to return a Tensor, got") =>
        grad_with::<_, _, Tensor, _>(|x: Tensor| (x.sum(), x.sum()), GradOpts::new())(x3());
    grad_result_type_mismatch: Transform("pytree", "the result type is a tuple of 2 but the value has structure") =>
        grad_with::<_, _, (Tensor, Tensor), _>(mul, GradOpts::new().argnums(0))(pair());
    grad_and_value_non_scalar: Transform("grad_and_value", "grad_and_value(f)(*args): Expected f(*args) to return a scalar Tensor") =>
        grad_and_value(|x: Tensor| x.sin())(x3());
    vjp_empty_output: Transform("vjp", "vjp(f, *primals): Expected f to be a function that has non-empty output") =>
        vjp(|_: Tensor| (), x3());
    vjp_integer_output: Transform("vjp", "vjp(f, *primals): All outputs of f must be floating-point or complex Tensors, got Tensor with dtype torch.int64") =>
        vjp(|x: Tensor| x.to_dtype(DType::I64), x3());
    vjp_static_output: Transform("vjp", "vjp(f, *primals): expected f(*primals) to return only tensors") =>
        vjp(|x: Tensor| (x, 3usize), x3());
    vjp_integer_input: Transform("vjp", "only Tensors of floating point dtype can require gradients") =>
        vjp(|x: Tensor| x.to_dtype(DType::F32), Tensor::arange(2));
    vjp_fn_cotangent_of_wrong_shape: Transform("vjp_fn", "cotangent 0 has shape [2] but the output has shape [3]; pass cotangents shaped like the outputs") =>
        { let (_, f) = vjp(|x: Tensor| x.sin(), x3()); f.call(z(&[2])) };
    vjp_fn_cotangent_of_wrong_structure: Transform("vjp_fn", "Expected pytree structure of cotangents to be the same as pytree structure of outputs to the function") =>
        { let (_, f) = vjp(|x: Tensor| (x.sin(), (x.cos(), x)), x3()); f.call((x3(), x3())) };
    jvp_tangent_of_wrong_shape: Transform("jvp", "jvp(f, primals, tangents): jvp called with different primal and tangent shapes: primal 0 has shape [3], tangent has shape [2]") =>
        jvp(|x: Tensor| x.sin(), x3(), z(&[2]).to_dtype(DType::F64));
    jvp_tangent_of_other_dtype: Transform("jvp", "primal and tangent arguments do not match or are not floating point: primal 0 has dtype torch.float64, tangent has dtype torch.float32") =>
        jvp(|x: Tensor| x.sin(), x3(), z(&[3]));
    jvp_tangents_of_other_structure: Transform("jvp", "Expected primals and tangents to have the same python structure") =>
        jvp(|v: Vec<Tensor>| v[0].sin(), vec![x3(), x3()], vec![x3()]);
    jvp_no_primals: Transform("jvp", "jvp(f, primals, tangents): Expected primals to contain at least one Tensor") =>
        jvp(|_: ()| x3(), (), ());
    jvp_integer_primal: Transform("jvp", "are not floating point: primal 0 has dtype torch.int64") =>
        jvp(|x: Tensor| x.to_dtype(DType::F32), Tensor::arange(2), Tensor::arange(2));
    jvp_strict_independent_output: Transform("jvp", "jvp(f, primals, tangents, strict=True): The output of f is independent of the inputs. This is not allowed with strict=True.") =>
        jvp_with(|_: Tensor| Tensor::ones(&[2]), x3(), x3(), JvpOpts { strict: true });
    linearize_tangent_of_wrong_shape: Transform("linearize", "tangent:0 with shape [2] doesn't match the shape [3] of the corresponding primal") =>
        { let (_, f) = linearize(|x: Tensor| x.sin(), x3()); f(Tensor::new([1.0f64, 2.0])) };
    jacrev_argnum_out_of_range: Transform("jacrev", "Got argnum=1, but only 1 positional inputs") =>
        jacrev_with::<_, _, Tensor, _>(|x: Tensor| x.sin(), JacrevOpts::new().argnums(1))(x3());
    jacrev_zero_chunk_size: Transform("jacrev", "jacrev: chunk_size should be greater than 0.") =>
        jacrev_with::<_, _, Tensor, _>(|x: Tensor| x.sin(), JacrevOpts::new().chunk_size(0))(x3());
    jacrev_integer_output: Transform("jacrev", "Expected all outputs to be floating point but received torch.int64 tensor at flattened output idx: 0") =>
        jacrev::<_, _, Tensor, _>(|x: Tensor| x.to_dtype(DType::I64))(x3());
    jacrev_integer_input: Transform("jacrev", "only Tensors of floating point dtype can require gradients") =>
        jacrev::<_, _, Tensor, _>(|x: Tensor| x.to_dtype(DType::F32))(Tensor::arange(2));
    jacrev_has_aux_without_pair: Transform("jacrev", "jacrev(f, ...)(*args): output of function f should be a tuple: (output, aux) if has_aux is True") =>
        jacrev_with::<_, _, DynTree, _>(|x: Tensor| x.sin(), JacrevOpts::new().has_aux(true))(x3());
    jacfwd_integer_input: Transform("jacfwd", "Expected all inputs to be floating point but received torch.int64 tensor at flattened input idx: 0") =>
        jacfwd::<_, _, Tensor, _>(|x: Tensor| x.to_dtype(DType::F32))(Tensor::arange(2));
    jacfwd_argnums_repeated: Transform("jacfwd", "argnums elements must be unique") =>
        jacfwd_with::<_, _, DynTree, _>(mul, JacfwdOpts::new().argnums((1, 1)))(pair());
    jacfwd_random_op_in_error_mode: Transform("vmap", "called random operation while in randomness error mode") =>
        jacfwd::<_, _, Tensor, _>(|x: Tensor| &x + &Tensor::randn(&[3]).to_dtype(DType::F64))(x3());
    hessian_non_scalar_output: Transform("jacrev", "Expected all outputs") =>
        hessian::<_, Tensor, _>(|x: Tensor| x.to_dtype(DType::I64).sum())(x3());
    vmap_in_dim_out_of_range: Transform("vmap", "vmap(f, in_dims=2, ...)(<inputs>): Got in_dim=2 for some input, but that input is a Tensor of dimensionality 2 so expected in_dim to satisfy -2 <= in_dim < 2.") =>
        vmap_with(|x: Tensor| x, VmapOpts::new().in_dims(2))(z(&[2, 3]));
    vmap_of_scalar: Transform("vmap", "Got in_dim=0 for some input, but that input is a Tensor of dimensionality 0 so expected in_dim to satisfy -0 <= in_dim < 0.") =>
        vmap(|x: Tensor| x)(Tensor::scalar(1.0f32));
    vmap_sizes_differ: Transform("vmap", "Expected all tensors to have the same size in the mapped dimension, got sizes [2, 3] for the mapped dimension") =>
        vmap(mul)((z(&[2]), z(&[3])));
    vmap_in_dims_of_other_structure: Transform("vmap", "in_dims is not compatible with the structure of `inputs`. in_dims has structure") =>
        vmap_with(mul, VmapOpts::new().in_dims((0,)))((z(&[2]), z(&[2])));
    vmap_all_unmapped: Transform("vmap", "Expected at least one Tensor to vmap over") =>
        vmap_with(mul, VmapOpts::new().in_dims((UNMAPPED, UNMAPPED)))((z(&[2]), z(&[2])));
    vmap_no_inputs: Transform("vmap", "vmap(f)(<inputs>): got no inputs. Maybe you forgot to add inputs, or you are trying to vmap over a function with no inputs. The latter is unsupported.") =>
        vmap(|_: ()| z(&[2]))(());
    vmap_in_dim_for_non_tensor: Transform("vmap", "Got in_dim=0 for an input but the input is of type") =>
        vmap_with(|(x, _n): (Tensor, usize)| x, VmapOpts::new().in_dims((0, 0)))((z(&[2]), 3usize));
    vmap_non_tensor_output: Transform("vmap", "vmap(f, ...): f must only return Tensors, got type") =>
        vmap(|x: Tensor| (x, 3usize))(z(&[2]));
    vmap_out_dims_of_other_structure: Transform("vmap", "out_dims is not compatible with the structure of `outputs`") =>
        vmap_with(|x: Tensor| x, VmapOpts::new().out_dims((0, 0)))(z(&[2]));
    vmap_out_dim_out_of_range: Index("vmap", "Dimension out of range (expected to be in range of [-2, 1], but got 3)") =>
        vmap_with(|x: Tensor| x, VmapOpts::new().out_dims(3))(z(&[2, 3]));
    vmap_batched_output_with_out_dims_none: Transform("vmap", "vmap(f, ..., out_dims=None): f can not return a BatchedTensor when out_dim is None") =>
        vmap_with(|x: Tensor| x, VmapOpts::new().out_dims(Dims::Dim(None)))(z(&[2]));
    vmap_zero_chunk_size: Transform("vmap", "vmap: chunk_size should be None or greater than 0.") =>
        vmap_with(|x: Tensor| x, VmapOpts::new().chunk_size(0))(z(&[2]));
    vmap_item: Transform("vmap", "It looks like you're either (1) calling .item() on a Tensor or (2) attempting to use a Tensor in some data-dependent control flow") =>
        vmap(|x: Tensor| Tensor::scalar(x.item::<f32>()))(z(&[2]));
    vmap_to_vec: Transform("vmap", "data-dependent control flow") =>
        vmap(|x: Tensor| { let _ = x.to_vec::<f32>(); x })(z(&[2]));
}

bad_result! {
    try_grad_non_scalar_output: Transform("grad", "Expected f(*args) to return a scalar Tensor") =>
        try_grad(|x: Tensor| x.sin())(x3());
    try_grad_op_error_inside: Shape("add", "The size of tensor a (3) must match the size of tensor b (2)") =>
        try_grad(|x: Tensor| (&x + &Tensor::ones(&[2]).to_dtype(DType::F64)).sum())(x3());
    try_grad_with_argnum_out_of_range: Transform("grad", "Got argnum=5, but only 2 positional inputs") =>
        try_grad_with::<_, _, Tensor, _>(mul, GradOpts::new().argnums(5))(pair());
    try_grad_and_value_integer_output: Transform("grad_and_value", "the output must be a floating point Tensor") =>
        try_grad_and_value(|x: Tensor| x.to_dtype(DType::I64).sum())(x3());
    try_vjp_op_error_inside: Shape("matmul", "mat1 and mat2 shapes cannot be multiplied (1x3 and 2x2)") =>
        try_vjp(|x: Tensor| x.unsqueeze(0).matmul(&z(&[2, 2]).to_dtype(DType::F64)), x3());
    try_vjp_fn_call_wrong_shape: Transform("vjp_fn", "cotangent 0 has shape [] but the output has shape [3]") =>
        { let (_, f) = vjp(|x: Tensor| x.sin(), x3()); f.try_call(Tensor::scalar(1.0f64)) };
    try_vjp_with_aux_op_error_inside: Index("narrow", "start (2) + length (2) exceeds dimension size (3).") =>
        try_vjp_with_aux(|x: Tensor| (x.narrow(0, 2, 2), x.cos()), x3()).map(|(y, _, a)| (y, a));
    try_jvp_tangent_of_wrong_shape: Transform("jvp", "jvp called with different primal and tangent shapes") =>
        try_jvp(|x: Tensor| x.sin(), x3(), Tensor::scalar(1.0f64));
    try_jvp_with_strict: Transform("jvp", "strict=True") =>
        try_jvp_with(|_: Tensor| z(&[1]), x3(), x3(), JvpOpts { strict: true });
    try_jvp_op_error_inside: Index("select", "index 5 is out of bounds for dimension 0 with size 3") =>
        try_jvp(|x: Tensor| x.select(0, 5), x3(), x3());
    try_jvp_with_aux_op_error: Shape("reshape", "shape '[2]' is invalid for input of size 3") =>
        try_jvp_with_aux(|x: Tensor| (x.reshape(&[2]), x.clone()), x3(), x3());
    try_linearize_op_error_inside: Shape("reshape", "shape '[4]' is invalid for input of size 3") =>
        try_linearize(|x: Tensor| x.reshape(&[4]), x3()).map(drop);
    try_jacrev_zero_chunk_size: Transform("jacrev", "chunk_size should be greater than 0.") =>
        try_jacrev_with::<_, _, Tensor, _>(|x: Tensor| x.sin(), JacrevOpts::new().chunk_size(0))(x3());
    try_jacrev_op_error_inside: Shape("mul", "The size of tensor a (3) must match the size of tensor b (4)") =>
        try_jacrev::<_, _, Tensor, _>(|x: Tensor| &x * &Tensor::ones(&[4]).to_dtype(DType::F64))(x3());
    try_jacfwd_op_error_inside: Index("transpose", "Dimension out of range") =>
        try_jacfwd::<_, _, Tensor, _>(|x: Tensor| x.transpose(0, 1))(x3());
    try_jacfwd_with_argnums_out_of_range: Transform("jacfwd", "Got argnum=3, but only 2 positional inputs") =>
        try_jacfwd_with::<_, _, DynTree, _>(mul, JacfwdOpts::new().argnums(3))(pair());
    try_hessian_op_error_inside: Shape("expand", "must match the existing size") =>
        try_hessian::<_, Tensor, _>(|x: Tensor| x.expand(&[2, 4]).sum())(x3());
    try_vmap_in_dim_out_of_range: Transform("vmap", "expected in_dim to satisfy -1 <= in_dim < 1") =>
        try_vmap_with(|x: Tensor| x, VmapOpts::new().in_dims(1))(z(&[2]));
    try_vmap_op_error_inside: Shape("matmul", "mat1 and mat2 shapes cannot be multiplied") =>
        try_vmap(|x: Tensor| x.unsqueeze(0).matmul(&z(&[2, 2])))(z(&[4, 3]));
}
