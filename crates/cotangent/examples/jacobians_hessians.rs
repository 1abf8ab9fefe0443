//! Jacobians, Hessians, hvp and batched Jacobians, by composing function transforms.
//!
//! Jacobians and Hessians are what sensitivity analysis, Newton and Gauss-Newton solvers,
//! implicit differentiation, physics residuals and curvature studies of networks are made
//! of. Autograd gives one vector-Jacobian product per backward pass, so the textbook way to
//! get a Jacobian is a loop over unit vectors; `jacrev`/`jacfwd` vectorise that loop with
//! `vmap`, `hessian` composes forward over reverse, and `vmap` adds a batch dimension.
//!
//! This mirrors PyTorch's "Jacobians, Hessians, hvp, vhp, and more: composing function
//! transforms" tutorial (`intermediate_source/jacobians_hessians.py`), section by section,
//! on `predict(weight, bias, x) = tanh(linear(x, weight, bias))`:
//! 1. the Jacobian w.r.t. `x` (D = 16) by the tutorial's `compute_jac` (a loop of `vjp`
//!    over unit vectors), by `vmap(vjp_fn)` and by `jacrev(predict, argnums=2)`;
//! 2. the Jacobian w.r.t. `weight` and `bias` at once (`argnums=(0, 1)`), against a loop;
//! 3. `jacfwd == jacrev`, and their timings for a tall function (2048 outputs, 32 inputs:
//!    `jacfwd` wins) and a wide one (32 outputs, 2048 inputs: `jacrev` wins);
//! 4. `hessian` vs `jacfwd(jacfwd)`, `jacrev(jacrev)` and `jacfwd(jacrev)`, against a
//!    double loop of `grad` (smaller than the tutorial's 32 x 512: `jacrev(jacrev)` would
//!    build a 16384 x 16384 identity there);
//! 5. batched Jacobians and Hessians, `vmap(jacrev(..), in_dims=(None, None, 0))`, against a
//!    loop over the batch and the tutorial's summed-output trick;
//! 6. Hessian-vector products by forward-over-reverse (`jvp(grad(f))`) and reverse-over-
//!    reverse (`vjp(grad(f))`) against `hessian(f) @ v`.
//!
//! Every section asserts that the naive way and the transforms agree (and, marked
//! "(added)", checks a closed form the tutorial does not), and prints both timings (median
//! of several runs). Tensors are f32, torch's default dtype; any failed check panics.
//!
//! Run with `cargo run --release --example jacobians_hessians`.

use std::time::Instant;

use cotangent::{
    HessianOpts, JacfwdOpts, JacrevOpts, Tensor, UNMAPPED, VmapOpts, grad, hessian, hessian_with,
    jacfwd_with, jacrev_with, jvp, linear, manual_seed, stack, vjp, vmap, vmap_with,
};

/// `predict(weight, bias, x) = F.linear(x, weight, bias).tanh()`, arguments as one tuple.
fn predict((weight, bias, x): (Tensor, Tensor, Tensor)) -> Tensor {
    linear(&x, &weight, Some(&bias)).tanh()
}

#[path = "common/check.rs"]
mod check;
#[path = "common/device.rs"]
mod device;
use check::{assert_close, time_ms};

/// `torch.allclose`'s defaults.
fn assert_allclose(what: &str, a: &Tensor, b: &Tensor) {
    assert_close(what, a, b, 1e-5, 1e-8);
}

/// `naive: 12.3 ms   transform: 1.2 ms   (10.2x)`
fn print_timing(naive: &str, naive_ms: f64, transform: &str, transform_ms: f64) {
    println!(
        "  {naive}: {naive_ms:.3} ms   {transform}: {transform_ms:.3} ms   ({:.1}x)",
        naive_ms / transform_ms
    );
}

fn main() {
    device::from_args();
    manual_seed(0);
    let start = Instant::now();
    jacobian_of_x();
    jacobian_of_parameters();
    jacfwd_versus_jacrev();
    hessians();
    batched_jacobians_and_hessians();
    hessian_vector_products();
    println!(
        "jacobians_hessians: all checks passed in {:.1} s",
        start.elapsed().as_secs_f64()
    );
}

/// The Jacobian of `predict` w.r.t. `x`: a loop of vjp, `vmap(vjp_fn)`, `jacrev`.
fn jacobian_of_x() {
    println!("1. Jacobian of predict w.r.t. x (D = 16)");
    let d = 16;
    let weight = Tensor::randn(&[d, d]);
    let bias = Tensor::randn(&[d]);
    let x = Tensor::randn(&[d]);
    let unit_vectors = Tensor::eye(d, d);

    // compute_jac: one backward pass (here a fresh vjp) per row, as autograd.grad would do.
    let compute_jac = |x: &Tensor| {
        let rows: Vec<Tensor> = unit_vectors
            .unbind(0)
            .into_iter()
            .map(|vec| {
                let (_, vjp_fn) = vjp(|x| predict((weight.clone(), bias.clone(), x)), x.clone());
                vjp_fn.call::<Tensor>(vec)
            })
            .collect();
        stack(&rows, 0)
    };
    let jacobian = compute_jac(&x);
    assert_eq!(jacobian.shape(), &[d, d]);
    println!("  jacobian[0] = {}", jacobian.select(0, 0));

    // (added) the closed form: d tanh(W x + b) / dx = diag(1 - y^2) W.
    let y = predict((weight.clone(), bias.clone(), x.clone()));
    let closed_form = &(1.0 - &(&y * &y)).unsqueeze(1) * &weight;
    assert_close(
        "compute_jac vs diag(1 - y^2) W",
        &jacobian,
        &closed_form,
        1e-5,
        1e-6,
    );

    // _, vjp_fn = vjp(partial(predict, weight, bias), x); ft_jacobian, = vmap(vjp_fn)(unit_vectors)
    let (_, vjp_fn) = vjp(|x| predict((weight.clone(), bias.clone(), x)), x.clone());
    let ft_jacobian = vmap(|v: Tensor| vjp_fn.call::<Tensor>(v))(unit_vectors.clone());
    assert_allclose("vmap(vjp_fn) vs compute_jac", &ft_jacobian, &jacobian);

    // ft_jacobian = jacrev(predict, argnums=2)(weight, bias, x)
    let jacrev_x = jacrev_with::<_, _, Tensor, _>(predict, JacrevOpts::new().argnums(2));
    let args = (weight.clone(), bias.clone(), x.clone());
    let ft_jacobian = jacrev_x(args.clone());
    assert_allclose(
        "jacrev(predict, argnums=2) vs compute_jac",
        &ft_jacobian,
        &jacobian,
    );

    let (_, naive_ms) = time_ms(50, || compute_jac(&x));
    let (_, jacrev_ms) = time_ms(50, || jacrev_x(args.clone()));
    print_timing("compute_jac (loop of vjp)", naive_ms, "jacrev", jacrev_ms);
}

/// `jacrev(predict, argnums=(0, 1))`: the Jacobians w.r.t. weight and bias in one call.
fn jacobian_of_parameters() {
    println!("2. Jacobian w.r.t. weight and bias (argnums = (0, 1))");
    let d = 16;
    let weight = Tensor::randn(&[d, d]);
    let bias = Tensor::randn(&[d]);
    let x = Tensor::randn(&[d]);
    let args = (weight.clone(), bias.clone(), x.clone());

    // ft_jac_weight, ft_jac_bias = jacrev(predict, argnums=(0, 1))(weight, bias, x)
    let jacrev_wb =
        jacrev_with::<_, _, (Tensor, Tensor), _>(predict, JacrevOpts::new().argnums((0, 1)));
    let (jac_weight, jac_bias) = jacrev_wb(args.clone());
    assert_eq!(jac_weight.shape(), &[d, d, d]);
    assert_eq!(jac_bias.shape(), &[d, d]);

    // Naive: one vjp per output element, pulling back to (weight, bias).
    let loop_of_vjp = || {
        let (rows_weight, rows_bias): (Vec<Tensor>, Vec<Tensor>) = Tensor::eye(d, d)
            .unbind(0)
            .into_iter()
            .map(|vec| {
                let (_, vjp_fn) = vjp(
                    |(w, b): (Tensor, Tensor)| predict((w, b, x.clone())),
                    (weight.clone(), bias.clone()),
                );
                vjp_fn.call::<Tensor>(vec)
            })
            .unzip();
        (stack(&rows_weight, 0), stack(&rows_bias, 0))
    };
    let (naive_weight, naive_bias) = loop_of_vjp();
    assert_allclose(
        "jacrev d/dweight vs loop of vjp",
        &jac_weight,
        &naive_weight,
    );
    assert_allclose("jacrev d/dbias vs loop of vjp", &jac_bias, &naive_bias);

    // (added) d y_k / d b_j = delta_kj (1 - y_k^2), and d y_k / d W_ij = delta_ki (1 - y_k^2) x_j.
    let y = predict(args.clone());
    let slope = 1.0 - &(&y * &y);
    let eye = Tensor::eye(d, d);
    assert_close(
        "jacrev d/dbias vs diag(1 - y^2)",
        &jac_bias,
        &(&eye * &slope),
        1e-5,
        1e-6,
    );
    let expected_weight = &(&eye * &slope.unsqueeze(1)).unsqueeze(2) * &x.unsqueeze(0).unsqueeze(0);
    assert_close(
        "jacrev d/dweight vs closed form",
        &jac_weight,
        &expected_weight,
        1e-5,
        1e-6,
    );

    let (_, naive_ms) = time_ms(30, loop_of_vjp);
    let (_, jacrev_ms) = time_ms(30, || jacrev_wb(args.clone()));
    print_timing("loop of vjp", naive_ms, "jacrev(argnums=(0, 1))", jacrev_ms);
}

/// `jacfwd` and `jacrev` agree; which one is cheaper depends on the Jacobian's shape.
fn jacfwd_versus_jacrev() {
    println!("3. jacfwd vs jacrev");
    let jacfwd_x = jacfwd_with::<_, _, Tensor, _>(predict, JacfwdOpts::new().argnums(2));
    let jacrev_x = jacrev_with::<_, _, Tensor, _>(predict, JacrevOpts::new().argnums(2));

    let d = 16;
    let args = (
        Tensor::randn(&[d, d]),
        Tensor::randn(&[d]),
        Tensor::randn(&[d]),
    );
    assert_allclose(
        "jacfwd vs jacrev (D = 16)",
        &jacfwd_x(args.clone()),
        &jacrev_x(args),
    );
    println!("  jacfwd(predict, argnums=2) == jacrev(predict, argnums=2) at D = 16");

    // The tutorial's two shapes: tall (many outputs, few inputs), then wide.
    for (name, d_out, d_in) in [("tall", 2048, 32), ("wide", 32, 2048)] {
        let args = (
            Tensor::randn(&[d_out, d_in]),
            Tensor::randn(&[d_out]),
            Tensor::randn(&[d_in]),
        );
        let (forward, fwd_ms) = time_ms(10, || jacfwd_x(args.clone()));
        let (reverse, rev_ms) = time_ms(10, || jacrev_x(args.clone()));
        assert_eq!(forward.shape(), &[d_out, d_in]);
        assert_close(
            &format!("jacfwd vs jacrev ({name})"),
            &forward,
            &reverse,
            1e-5,
            1e-6,
        );
        println!(
            "  {name} ({d_out} outputs x {d_in} inputs): jacfwd {fwd_ms:.3} ms   jacrev {rev_ms:.3} ms"
        );
        let (winner, ratio) = if fwd_ms < rev_ms {
            ("jacfwd", rev_ms / fwd_ms)
        } else {
            ("jacrev", fwd_ms / rev_ms)
        };
        println!(
            "    -> {winner} wins ({ratio:.1}x): jacrev pulls back one cotangent per output row \
             ({d_out}), jacfwd pushes forward one tangent per input column ({d_in})"
        );
    }
}

/// `hessian` and the four compositions of `jacfwd`/`jacrev` against a double loop of `grad`.
fn hessians() {
    let (d_out, d_in) = (16, 128);
    println!("4. Hessian of predict w.r.t. x ({d_out} outputs, {d_in} inputs)");
    let weight = Tensor::randn(&[d_out, d_in]);
    let bias = Tensor::randn(&[d_out]);
    let x = Tensor::randn(&[d_in]);
    let args = (weight.clone(), bias.clone(), x.clone());
    let rev_x = || JacrevOpts::new().argnums(2);
    let fwd_x = || JacfwdOpts::new().argnums(2);

    let hess_api = hessian_with::<_, _, Tensor, _>(predict, HessianOpts::new().argnums(2));
    let fwd_fwd =
        jacfwd_with::<_, _, Tensor, _>(jacfwd_with::<_, _, Tensor, _>(predict, fwd_x()), fwd_x());
    let rev_rev =
        jacrev_with::<_, _, Tensor, _>(jacrev_with::<_, _, Tensor, _>(predict, rev_x()), rev_x());
    let fwd_rev =
        jacfwd_with::<_, _, Tensor, _>(jacrev_with::<_, _, Tensor, _>(predict, rev_x()), fwd_x());

    // Naive: H[k, i, :] = grad of (grad of y_k)[i], one double backward per (k, i).
    let loop_of_grad = || {
        let rows: Vec<Tensor> = (0..d_out as isize)
            .flat_map(|k| (0..d_in as isize).map(move |i| (k, i)))
            .map(|(k, i)| {
                let y_k = |x: Tensor| predict((weight.clone(), bias.clone(), x)).select(0, k);
                grad(|x: Tensor| grad(y_k)(x).select(0, i))(x.clone())
            })
            .collect();
        stack(&rows, 0).reshape(&[d_out as isize, d_in as isize, d_in as isize])
    };
    let (naive, naive_ms) = time_ms(1, loop_of_grad);
    println!(
        "  double loop of grad ({} double backward passes): {naive_ms:.3} ms",
        d_out * d_in
    );

    // (added) the closed form: d^2 tanh(z_k) / dx dx = -2 y_k (1 - y_k^2) w_k w_k^T.
    let y = predict(args.clone());
    let curvature = &(&y * -2.0) * &(1.0 - &(&y * &y));
    let closed_form =
        &(&curvature.unsqueeze(1).unsqueeze(2) * &weight.unsqueeze(2)) * &weight.unsqueeze(1);
    assert_close(
        "double loop of grad vs closed form",
        &naive,
        &closed_form,
        1e-5,
        1e-6,
    );

    let named: [(&str, &dyn Fn() -> Tensor); 4] = [
        ("hessian", &|| hess_api(args.clone())),
        ("jacfwd(jacfwd)", &|| fwd_fwd(args.clone())),
        ("jacrev(jacrev)", &|| rev_rev(args.clone())),
        ("jacfwd(jacrev)", &|| fwd_rev(args.clone())),
    ];
    for (name, compute) in named {
        let (h, ms) = time_ms(5, compute);
        assert_eq!(h.shape(), &[d_out, d_in, d_in]);
        assert_close(
            &format!("{name} vs double loop of grad"),
            &h,
            &naive,
            1e-5,
            1e-6,
        );
        print_timing("double loop of grad", naive_ms, name, ms);
    }
}

/// `vmap(jacrev(..))` and `vmap(hessian(..))` over a batch of inputs, against a loop.
fn batched_jacobians_and_hessians() {
    let (batch_size, d_in, d_out) = (64, 31, 33);
    println!(
        "5. batched Jacobians and Hessians (batch {batch_size}, {d_out} outputs, {d_in} inputs)"
    );
    let weight = Tensor::randn(&[d_out, d_in]);
    let bias = Tensor::randn(&[d_out]);
    let x = Tensor::randn(&[batch_size, d_in]);
    let args = (weight.clone(), bias.clone(), x.clone());
    let per_example = VmapOpts::new().in_dims((UNMAPPED, UNMAPPED, 0));

    // compute_batch_jacobian = vmap(jacrev(predict, argnums=2), in_dims=(None, None, 0))
    let jacrev_x = jacrev_with::<_, _, Tensor, _>(predict, JacrevOpts::new().argnums(2));
    let compute_batch_jacobian = vmap_with(&jacrev_x, per_example.clone());
    let loop_of_jacobians = || {
        let rows: Vec<Tensor> = x
            .unbind(0)
            .into_iter()
            .map(|x_b| jacrev_x((weight.clone(), bias.clone(), x_b)))
            .collect();
        stack(&rows, 0)
    };
    let (batch_jacobian, vmap_ms) = time_ms(10, || compute_batch_jacobian(args.clone()));
    let (looped, naive_ms) = time_ms(10, loop_of_jacobians);
    assert_eq!(batch_jacobian.shape(), &[batch_size, d_out, d_in]);
    // The batched forward pass is a matrix product, the loop's a matrix-vector product: the
    // f32 sums run in a different order, so entries of size ~1 differ by a few ulps more
    // than torch.allclose's atol of 1e-8 allows.
    assert_close(
        "vmap(jacrev) vs loop over the batch",
        &batch_jacobian,
        &looped,
        1e-5,
        1e-5,
    );

    // The tutorial's trick: the examples are independent, so the Jacobian of the summed
    // output w.r.t. the whole batch holds every per-example Jacobian.
    let predict_with_output_summed =
        |args: (Tensor, Tensor, Tensor)| predict(args).sum_dim(&[0], false);
    let summed: Tensor =
        jacrev_with(predict_with_output_summed, JacrevOpts::new().argnums(2))(args.clone());
    assert_close(
        "jacrev(predict_with_output_summed).movedim(1, 0) vs vmap(jacrev)",
        &summed.movedim(1, 0),
        &batch_jacobian,
        1e-5,
        1e-6,
    );
    print_timing("loop of jacrev", naive_ms, "vmap(jacrev)", vmap_ms);

    // compute_batch_hessian = vmap(hessian(predict, argnums=2), in_dims=(None, None, 0))
    let hessian_x = hessian_with::<_, _, Tensor, _>(predict, HessianOpts::new().argnums(2));
    let compute_batch_hessian = vmap_with(&hessian_x, per_example);
    let loop_of_hessians = || {
        let rows: Vec<Tensor> = x
            .unbind(0)
            .into_iter()
            .map(|x_b| hessian_x((weight.clone(), bias.clone(), x_b)))
            .collect();
        stack(&rows, 0)
    };
    let (batch_hessian, vmap_ms) = time_ms(5, || compute_batch_hessian(args.clone()));
    let (looped, naive_ms) = time_ms(5, loop_of_hessians);
    assert_eq!(batch_hessian.shape(), &[batch_size, d_out, d_in, d_in]);
    assert_close(
        "vmap(hessian) vs loop over the batch",
        &batch_hessian,
        &looped,
        1e-5,
        1e-5,
    );
    print_timing("loop of hessian", naive_ms, "vmap(hessian)", vmap_ms);
}

/// Hessian-vector products without building the Hessian.
fn hessian_vector_products() {
    let n = 2048;
    println!("6. Hessian-vector products (f(x) = sin(x).sum(), {n} inputs)");
    fn f(x: Tensor) -> Tensor {
        x.sin().sum()
    }
    let x = Tensor::randn(&[n]);
    let tangent = Tensor::randn(&[n]);

    // def hvp(f, primals, tangents): return jvp(grad(f), primals, tangents)[1]
    let hvp = || jvp(grad(f), x.clone(), tangent.clone()).1;
    // def hvp_revrev(f, primals, tangents): _, vjp_fn = vjp(grad(f), *primals); return vjp_fn(*tangents)
    let hvp_revrev = || {
        let (_, vjp_fn) = vjp(grad(f), x.clone());
        vjp_fn.call::<Tensor>(tangent.clone())
    };
    // Naive: build the whole n x n Hessian, then multiply.
    let hessian_times_v = || hessian::<_, Tensor, _>(f)(x.clone()).matmul(&tangent);

    let (result, hvp_ms) = time_ms(20, hvp);
    let (result_revrev, revrev_ms) = time_ms(20, hvp_revrev);
    let (reference, naive_ms) = time_ms(3, hessian_times_v);
    assert_close(
        "jvp(grad(f)) vs hessian(f) @ v",
        &result,
        &reference,
        1e-5,
        1e-6,
    );
    assert_allclose("vjp(grad(f)) vs jvp(grad(f))", &result_revrev, &result);
    // (added) the Hessian of sum(sin(x)) is diag(-sin(x)).
    assert_close(
        "jvp(grad(f)) vs -sin(x) * v",
        &result,
        &(&-x.sin() * &tangent),
        1e-5,
        1e-6,
    );
    print_timing("hessian(f) @ v", naive_ms, "jvp(grad(f))", hvp_ms);
    print_timing("hessian(f) @ v", naive_ms, "vjp(grad(f))", revrev_ms);
}
