//! Pytrees with `#[derive(Tree)]`, escaped tracers, the frame stack after a panic, and the
//! dtypes of transform results (torch's, for mixed float dtypes and empty inputs).

use std::cell::RefCell;

use cotangent::testing::assert_panics_with;
use cotangent::tree::DynTree;
use cotangent::tree::Tree;
use cotangent::{
    DType, GradOpts, HessianOpts, JacfwdOpts, JacrevOpts, Tensor, UNMAPPED, VmapOpts, grad,
    grad_with, hessian, hessian_with, jacfwd, jacfwd_with, jacrev, jacrev_with, vjp, vmap,
    vmap_with,
};

#[derive(Clone, Debug, Tree)]
struct Linear {
    weight: Tensor,
    bias: Tensor,
}

#[derive(Clone, Debug, Tree)]
struct Mlp {
    layers: Vec<Linear>,
    scale: f64,
}

fn forward(m: &Mlp, x: &Tensor) -> Tensor {
    let mut h = x.clone();
    for l in &m.layers {
        h = (&h.matmul(&l.weight.t()) + &l.bias).tanh();
    }
    &h * m.scale
}

fn mlp(seed: u64) -> Mlp {
    let mut r = cotangent::testing::TestRng::new(seed);
    Mlp {
        layers: vec![
            Linear {
                weight: r.tensor(&[4, 3], -1.0, 1.0),
                bias: r.tensor(&[4], -1.0, 1.0),
            },
            Linear {
                weight: r.tensor(&[2, 4], -1.0, 1.0),
                bias: r.tensor(&[2], -1.0, 1.0),
            },
        ],
        scale: 2.0,
    }
}

#[test]
fn derived_structs_are_pytrees() {
    let m = mlp(1);
    let (leaves, def) = m.flatten();
    assert_eq!(leaves.len(), 4);
    assert_eq!(
        def.to_string(),
        "Mlp { layers: [Linear { weight: *, bias: * }, Linear { weight: *, bias: * }], scale: 2.0 }"
    );
    let back = Mlp::unflatten(&def, leaves).unwrap();
    assert_eq!(back.scale, 2.0);
    // Gradients come back as the same struct; the static field passes through.
    let x = cotangent::testing::TestRng::new(2).tensor(&[5, 3], -1.0, 1.0);
    let g = grad(|(m, x): (Mlp, Tensor)| forward(&m, &x).sum())((m.clone(), x.clone()));
    assert_eq!(g.layers[0].weight.shape(), &[4, 3]);
    assert_eq!(g.scale, 2.0);
    // Against finite differences on one weight entry.
    let eps = 1e-6;
    let bump = |d: f64| {
        let mut w = m.layers[1].bias.to_vec::<f64>();
        w[0] += d;
        let mut m2 = m.clone();
        m2.layers[1].bias = Tensor::from_vec(w, &[2]).unwrap();
        forward(&m2, &x).sum().item::<f64>()
    };
    let fd = (bump(eps) - bump(-eps)) / (2.0 * eps);
    assert!((g.layers[1].bias.to_vec::<f64>()[0] - fd).abs() < 1e-6);
    // Per-sample gradients of the struct.
    let per: Mlp = vmap_with(
        grad(|(m, x): (Mlp, Tensor)| forward(&m, &x).sum()),
        VmapOpts::new().in_dims((UNMAPPED, 0)),
    )((m, x));
    assert_eq!(per.layers[0].weight.shape(), &[5, 4, 3]);
}

#[test]
fn escaped_tracers_are_an_error() {
    let stash: RefCell<Option<Tensor>> = RefCell::new(None);
    let _: Tensor = grad(|x: Tensor| {
        stash.replace(Some(x.clone()));
        x.sin()
    })(Tensor::scalar(1.0f64));
    let escaped = stash.take().unwrap();
    assert_panics_with(|| drop(escaped.sin()), &["escaped tracer"]);
}

#[test]
fn a_panic_inside_a_transform_leaves_the_library_usable() {
    let x = Tensor::ones(&[3]).to_dtype(DType::F64);
    assert_panics_with(
        || drop(vmap(|x: Tensor| x.reshape(&[7]))(Tensor::ones(&[2, 3]))),
        &["reshape"],
    );
    assert_panics_with(|| drop(grad(|x: Tensor| x.sin())(x.clone())), &["scalar"]);
    // No frame is left behind: eager ops and new transforms work.
    assert_eq!((&x + &x).sum().item::<f64>(), 6.0);
    let g: Tensor = grad(|x: Tensor| (&x * &x).sum())(x.clone());
    assert_eq!(g.to_vec::<f64>(), vec![2.0; 3]);
}

#[test]
fn integer_inputs_cannot_be_differentiated() {
    assert_panics_with(
        || {
            drop(grad(|x: Tensor| x.to_dtype(DType::F32).sum())(
                Tensor::arange(3),
            ))
        },
        &["only Tensors of floating point dtype can require gradients"],
    );
}

#[test]
fn randperm_under_vmap_different_draws_one_permutation_per_element() {
    let x = Tensor::zeros(&[4]);
    let f = |_x: Tensor| cotangent::randperm(6);
    let perms = vmap_with(
        f,
        VmapOpts::new().randomness(cotangent::Randomness::Different),
    )(x.clone());
    assert_eq!(perms.shape(), &[4, 6]);
    let rows: Vec<Vec<i64>> = (0..4).map(|i| perms.select(0, i).to_vec::<i64>()).collect();
    for row in &rows {
        let mut sorted = row.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..6).collect::<Vec<i64>>());
    }
    assert!(
        rows.windows(2).any(|w| w[0] != w[1]),
        "independent draws: {rows:?}"
    );
    let same = vmap_with(f, VmapOpts::new().randomness(cotangent::Randomness::Same))(x.clone());
    let rows: Vec<Vec<i64>> = (0..4).map(|i| same.select(0, i).to_vec::<i64>()).collect();
    assert!(rows.windows(2).all(|w| w[0] == w[1]));
    assert_panics_with(|| drop(vmap(f)(x)), &["randomness error mode"]);
}

#[test]
fn bernoulli_with_a_batched_probability() {
    let p = Tensor::new([[0.0f32, 1.0, 0.0], [1.0, 1.0, 0.0]]);
    let f = |p: Tensor| p.bernoulli();
    let out = vmap_with(
        f,
        VmapOpts::new().randomness(cotangent::Randomness::Different),
    )(p.clone());
    assert_eq!(out.to_vec::<f32>(), p.to_vec::<f32>());
    assert_panics_with(
        || {
            drop(vmap_with(
                f,
                VmapOpts::new().randomness(cotangent::Randomness::Same),
            )(p.clone()))
        },
        &["same randomness with a batched tensor input"],
    );
}

#[test]
fn bernoulli_of_a_constant_probability_is_seen_by_vmap() {
    // The probability is built inside the function from no batched input (as dropout builds
    // its keep mask), so the draw has only constant inputs; vmap must still apply its
    // randomness flag, as torch's does.
    let f = |x: Tensor| &x * &Tensor::full(&[200], 0.5, cotangent::DType::F32).bernoulli();
    let x = Tensor::ones(&[4, 200]);
    assert_panics_with(|| drop(vmap(f)(x.clone())), &["randomness error mode"]);
    let rows = |t: &Tensor| -> Vec<Vec<f32>> { (0..4).map(|i| t.select(0, i).to_vec()).collect() };
    let different = vmap_with(
        f,
        VmapOpts::new().randomness(cotangent::Randomness::Different),
    )(x.clone());
    assert!(rows(&different).windows(2).all(|w| w[0] != w[1]));
    let same = vmap_with(f, VmapOpts::new().randomness(cotangent::Randomness::Same))(x);
    assert!(rows(&same).windows(2).all(|w| w[0] == w[1]));
}

#[test]
fn per_sample_conv_weight_grads_of_an_empty_batch() {
    // Both conv operands batched (the weight gradient under vmap) with a batch of zero
    // elements: the batch cannot be folded into groups, the result is simply empty.
    let f = |(w, x): (Tensor, Tensor)| {
        cotangent::conv2d(&x.unsqueeze(0), &w, None, [1, 1], [0, 0], [1, 1], 1)
            .tanh()
            .sum()
    };
    let per_sample = |n: usize| -> Tensor {
        vmap_with(grad(f), VmapOpts::new().in_dims((UNMAPPED, 0)))((
            Tensor::ones(&[2, 1, 3, 3]),
            Tensor::ones(&[n, 1, 8, 8]),
        ))
    };
    assert_eq!(per_sample(2).shape(), &[2, 2, 1, 3, 3]);
    assert_eq!(per_sample(0).shape(), &[0, 2, 1, 3, 3]);
}

// ---------------------------------------------------------------- result dtypes
// Every expected dtype below is what torch 2.15.0 (torch.func) returns for the same call.

#[test]
fn a_cotangent_of_another_float_dtype_gives_the_gradient_in_the_primal_dtype() {
    let x = Tensor::new([0.5f64, 1.0]);
    // sin's rule multiplies by cos(x), which promotes; add's passes the cotangent through.
    let (sin_y, sin_pull) = vjp(|x: Tensor| x.sin(), x.clone());
    let (_, add_pull) = vjp(|x: Tensor| &x + 1.0, x.clone());
    for pull in [&sin_pull, &add_pull] {
        let g: Tensor = pull.call(Tensor::ones(&[2]));
        assert_eq!(g.dtype(), DType::F64);
        // An integer cotangent is accepted, as in torch.
        let g: Tensor = pull.call(Tensor::new([1i64, 1]));
        assert_eq!(g.dtype(), DType::F64);
    }
    let g: Tensor = sin_pull.call(Tensor::ones(&[2]));
    assert_eq!(g.to_vec::<f64>(), x.cos().to_vec::<f64>());
    assert_eq!(sin_y.dtype(), DType::F64);
    // An f64 cotangent of an f32 primal: the gradient is f32.
    let x32 = x.to_dtype(DType::F32);
    for f in [|x: Tensor| x.sin(), |x: Tensor| &x * 2.0] {
        let (_, pull) = vjp(f, x32.clone());
        let g: Tensor = pull.call(Tensor::ones(&[2]).to_dtype(DType::F64));
        assert_eq!(g.dtype(), DType::F32);
    }
    // Outputs of both dtypes, each cotangent in the other one's dtype.
    let (_, pull) = vjp(
        |x: Tensor| (x.sin(), x.to_dtype(DType::F32).cos()),
        x.clone(),
    );
    let g: Tensor = pull.call((Tensor::ones(&[2]), Tensor::ones(&[2]).to_dtype(DType::F64)));
    assert_eq!(g.dtype(), DType::F64);
    // Batched cotangents (the pullback under vmap, as jacrev runs it).
    let g = vmap(|ct: Tensor| -> Tensor { add_pull.call(ct) })(Tensor::ones(&[3, 2]));
    assert_eq!((g.dtype(), g.shape()), (DType::F64, &[3, 2][..]));
}

#[test]
fn jacobians_of_empty_inputs_keep_their_dtype() {
    for dtype in [DType::F32, DType::F64] {
        let empty = Tensor::zeros_dtype(&[0], dtype);
        let two = Tensor::new([0.5f64, 1.0]).to_dtype(dtype);
        let check = |j: Tensor, shape: &[usize]| {
            assert_eq!((j.dtype(), j.shape()), (dtype, shape));
        };
        let sin = |x: Tensor| x.sin();
        check(jacrev(sin)(empty.clone()), &[0, 0]);
        check(
            jacrev_with(sin, JacrevOpts::new().chunk_size(1))(empty.clone()),
            &[0, 0],
        );
        check(
            jacrev_with(sin, JacrevOpts::new().chunk_size(3))(empty.clone()),
            &[0, 0],
        );
        check(jacfwd(sin)(empty.clone()), &[0, 0]);
        check(hessian(|x: Tensor| x.sin().sum())(empty.clone()), &[0, 0]);
        // An empty output of a non-empty input, and a scalar output of an empty input.
        check(jacrev(|x: Tensor| x.narrow(0, 0, 0))(two.clone()), &[0, 2]);
        check(jacfwd(|x: Tensor| x.narrow(0, 0, 0))(two.clone()), &[0, 2]);
        check(jacrev(|x: Tensor| x.sum())(empty.clone()), &[0]);
        check(jacfwd(|x: Tensor| x.sum())(empty.clone()), &[0]);
        // jacfwd of an empty input still returns aux, and Jacobians for every output leaf.
        let (j, aux): ((Tensor, Tensor), Tensor) = jacfwd_with(
            |x: Tensor| ((x.sin(), x.sum()), &x.sum() + 2.0),
            JacfwdOpts::new().has_aux(true),
        )(empty.clone());
        check(j.0, &[0, 0]);
        check(j.1, &[0]);
        assert_eq!(aux.item::<f64>(), 2.0);
        // An empty input next to a non-empty one.
        let (a, b): (Tensor, Tensor) = jacfwd_with(
            |(a, b): (Tensor, Tensor)| &a.sum() * &b,
            JacfwdOpts::new().argnums((0, 1)),
        )((empty.clone(), two.clone()));
        check(a, &[2, 0]);
        check(b, &[2, 2]);
    }
}

#[test]
fn transform_result_dtypes_follow_torch_for_mixed_float_dtypes() {
    use DType::{F32, F64, I64};
    let x64 = Tensor::new([0.5f64, 1.0]);
    let x32 = x64.to_dtype(F32);
    let ints = Tensor::new([1i64, 2]);
    let dtypes = |t: &DynTree| t.leaves.iter().map(Tensor::dtype).collect::<Vec<_>>();
    let to = |d: DType| move |x: Tensor| x.to_dtype(d).sin();
    let to_sum = |d: DType| move |x: Tensor| x.to_dtype(d).sin().sum();
    let one = |t: Tensor| vec![t.dtype()];

    // Gradients and reverse-mode Jacobians take the input's dtype; forward-mode Jacobians
    // take the output's (they are output tangents).
    assert_eq!(one(grad(to_sum(F64))(x32.clone())), [F32]);
    assert_eq!(one(grad(to_sum(F32))(x64.clone())), [F64]);
    assert_eq!(one(jacrev(to(F64))(x32.clone())), [F32]);
    assert_eq!(one(jacrev(to(F32))(x64.clone())), [F64]);
    assert_eq!(one(jacfwd(to(F64))(x32.clone())), [F64]);
    assert_eq!(one(jacfwd(to(F32))(x64.clone())), [F32]);
    assert_eq!(one(hessian(to_sum(F64))(x32.clone())), [F32]);
    assert_eq!(one(hessian(to_sum(F32))(x64.clone())), [F64]);

    let product = |(a, b): (Tensor, Tensor)| (&a * &b).sum();
    let both = (x32.clone(), x64.clone());
    let j: DynTree = jacrev_with(product, JacrevOpts::new().argnums((0, 1)))(both.clone());
    assert_eq!(dtypes(&j), [F32, F64]);
    let j: DynTree = jacfwd_with(product, JacfwdOpts::new().argnums((0, 1)))(both.clone());
    assert_eq!(dtypes(&j), [F64, F64]);
    let h: DynTree = hessian_with(product, HessianOpts::new().argnums((0, 1)))(both.clone());
    assert_eq!(dtypes(&h), [F32, F32, F64, F64]);
    let g: DynTree = grad_with(product, GradOpts::new().argnums((0, 1)))(both.clone());
    assert_eq!(dtypes(&g), [F32, F64]);

    // Outputs of both dtypes, with and without chunking.
    let mixed_out = |a: Tensor| (a.sin(), a.to_dtype(F32).cos());
    for opts in [
        JacrevOpts::new(),
        JacrevOpts::new().chunk_size(1),
        JacrevOpts::new().chunk_size(3),
    ] {
        let j: DynTree = jacrev_with(mixed_out, opts.clone())(x64.clone());
        assert_eq!(dtypes(&j), [F64, F64]);
        let j: DynTree = jacrev_with(mixed_out, opts)(x32.clone());
        assert_eq!(dtypes(&j), [F32, F32]);
    }
    let j: DynTree = jacfwd(mixed_out)(x64.clone());
    assert_eq!(dtypes(&j), [F64, F32]);

    // An input no output depends on gets zeros of its own dtype.
    let unused: Tensor = grad_with(
        |(_a, b): (Tensor, Tensor)| b.sum(),
        GradOpts::new().argnums(0),
    )((x64.clone(), x32.clone()));
    assert_eq!(unused.dtype(), F64);
    // Integer inputs that are not differentiated change nothing.
    let with_ints = |(a, b): (Tensor, Tensor)| &a * &b;
    assert_eq!(
        one(grad(|p: (Tensor, Tensor)| with_ints(p).sum())((
            x32.clone(),
            ints.clone()
        ))),
        [F32]
    );
    assert_eq!(one(jacrev(with_ints)((x32.clone(), ints.clone()))), [F32]);
    assert_eq!(one(jacfwd(with_ints)((x32.clone(), ints.clone()))), [F32]);
    assert_eq!(with_ints((x32.clone(), ints.clone())).dtype(), F32);
    // vmap promotes like the op it maps, and an empty batch keeps the dtype.
    assert_eq!(one(vmap(|(a, b): (Tensor, Tensor)| &a * &b)(both)), [F64]);
    let empty_batch = vmap(|x: Tensor| x.sum())(Tensor::zeros_dtype(&[0, 3], F64));
    assert_eq!((empty_batch.dtype(), empty_batch.shape()), (F64, &[0][..]));
    let unbatched = vmap(|_x: Tensor| Tensor::new([1i64, 2]))(Tensor::zeros_dtype(&[0, 3], F64));
    assert_eq!((unbatched.dtype(), unbatched.shape()), (I64, &[0, 2][..]));
}
