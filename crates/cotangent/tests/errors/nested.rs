//! Nested transforms: misuse of an inner transform, and op errors deep inside, come out with
//! the inner transform's or op's error (one prefix), whatever surrounds them.

use cotangent::{
    DType, JacrevOpts, Tensor, VmapOpts, grad, hessian, jacfwd, jacrev, jacrev_with, jvp, vjp,
    vmap, vmap_with,
};

use crate::common::z;

fn x3() -> Tensor {
    Tensor::new([1.0f64, 2.0, 3.0])
}

fn m23() -> Tensor {
    Tensor::new([[1.0f64, 2.0, 3.0], [4.0, 5.0, 6.0]])
}

bad! {
    vmap_of_grad_non_scalar: Transform("grad", "Expected f(*args) to return a scalar Tensor, got tensor with 1 dims (shape [3])") =>
        vmap(grad(|x: Tensor| x.unsqueeze(0).expand(&[3, -1]).sum_dim(&[1], false)))(m23());
    grad_of_vmap_non_scalar: Transform("grad", "Expected f(*args) to return a scalar Tensor, got tensor with 1 dims (shape [3])") =>
        grad(|x: Tensor| vmap(|y: Tensor| y.sin())(x))(x3());
    grad_of_grad_inner_non_scalar: Transform("grad", "Expected f(*args) to return a scalar Tensor") =>
        grad(|x: Tensor| grad(|y: Tensor| y.sin())(x).sum())(x3());
    vmap_of_vmap_inner_in_dim_out_of_range: Transform("vmap", "Got in_dim=1 for some input, but that input is a Tensor of dimensionality 1 so expected in_dim to satisfy -1 <= in_dim < 1.") =>
        vmap(vmap_with(|x: Tensor| x, VmapOpts::new().in_dims(1)))(m23());
    vmap_of_vmap_sizes_differ: Transform("vmap", "Expected all tensors to have the same size in the mapped dimension, got sizes [3, 2]") =>
        vmap(|x: Tensor| vmap(|(a, b): (Tensor, Tensor)| &a * &b)((x, z(&[2]).to_dtype(DType::F64))))(m23());
    vmap_of_grad_op_error: Shape("matmul", "mat1 and mat2 shapes cannot be multiplied (1x3 and 2x1)") =>
        vmap(grad(|x: Tensor| x.unsqueeze(0).matmul(&Tensor::ones(&[2, 1]).to_dtype(DType::F64)).sum()))(m23());
    grad_of_vmap_op_error: Index("select", "index 3 is out of bounds for dimension 0 with size 3") =>
        grad(|x: Tensor| vmap(|row: Tensor| row.select(0, 3))(x).sum())(m23());
    jacrev_of_vmap_op_error: Shape("reshape", "shape '[4]' is invalid for input of size 3") =>
        jacrev::<_, _, Tensor, _>(|x: Tensor| vmap(|row: Tensor| row.reshape(&[4]))(x))(m23());
    vmap_of_jacrev_argnum_out_of_range: Transform("jacrev", "Got argnum=1, but only 1 positional inputs") =>
        vmap(jacrev_with::<_, _, Tensor, _>(|x: Tensor| x.sin(), JacrevOpts::new().argnums(1)))(m23());
    hessian_of_item_under_vmap: Transform("vmap", "calling .item() on a Tensor") =>
        vmap(hessian::<_, Tensor, _>(|x: Tensor| x.sum() * x.sum().item::<f64>()))(m23());
    jvp_of_grad_op_error: Shape("add", "The size of tensor a (3) must match the size of tensor b (2)") =>
        jvp(grad(|x: Tensor| (&x + &Tensor::ones(&[2]).to_dtype(DType::F64)).sum()), x3(), x3());
    vjp_of_vmap_integer_output: Transform("vjp", "All outputs of f must be floating-point") =>
        vjp(|x: Tensor| vmap(|r: Tensor| r.to_dtype(DType::I64))(x), m23());
    jacfwd_of_jacrev_op_error: Index("gather", "index 9 is out of bounds for dimension 0 with size 3") =>
        jacfwd::<_, _, Tensor, _>(jacrev::<_, _, Tensor, _>(|x: Tensor| x.gather(0, &Tensor::new([9i64])).sum()))(x3());
    vmap_chunked_op_error: Shape("mul", "The size of tensor a (3) must match the size of tensor b (4)") =>
        vmap_with(|x: Tensor| &x * &Tensor::ones(&[4]).to_dtype(DType::F64), VmapOpts::new().chunk_size(1))(m23());
    vmap_vmap_vmap_op_error: Index("transpose", "Dimension out of range (expected to be in range of [-1, 0], but got 1)") =>
        vmap(vmap(vmap(|x: Tensor| x.transpose(0, 1))))(Tensor::zeros(&[2, 2, 2]));
    grad_of_vjp_fn_wrong_cotangent: Transform("vjp_fn", "cotangent 0 has shape [2] but the output has shape [3]") =>
        grad(|x: Tensor| { let (_, f) = vjp(|y: Tensor| y.sin(), x); f.call(Tensor::ones(&[2]).to_dtype(DType::F64)).sum() })(x3());
    vmap_of_gather_out_of_range: Index("gather", "index 5 is out of bounds for dimension 0 with size 3") =>
        vmap(|row: Tensor| row.gather(0, &Tensor::new([0i64, 5])))(m23());
    vmap_of_index_select_out_of_range: Index("index_select", "index 3 is out of bounds for dimension 0 with size 3") =>
        vmap(|row: Tensor| row.index_select(0, &Tensor::new([3i64])))(m23());
    vmap_of_nll_loss_target_out_of_range: Index("nll_loss", "out of bounds") =>
        vmap(|t: Tensor| cotangent::nll_loss(&Tensor::zeros(&[1, 3]), &t.unsqueeze(0)))(Tensor::new([0i64, 7]));
}
