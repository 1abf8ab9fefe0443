//! Pytrees with `#[derive(Tree)]`, escaped tracers, and the frame stack after a panic.

use std::cell::RefCell;

use cotangent::testing::assert_panics_with;
use cotangent::tree::Tree;
use cotangent::{DType, Tensor, UNMAPPED, VmapOpts, grad, vmap, vmap_with};

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
