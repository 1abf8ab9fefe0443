//! The torch.func whirlwind tour, translated line by line.
//!
//! This mirrors PyTorch's "torch.func Whirlwind Tour" (`docs/source/func.whirlwind_tour.md`)
//! section by section: `grad` (and grad of grad), `vmap` (a model over a batch, then
//! per-sample gradients with `in_dims=(None, 0, 0)`), `vjp`, `jvp`, `jacrev` (alone and
//! under `vmap`), `jacfwd`, Hessians by composing `jacrev`/`jacfwd`, and `hessian`. Each
//! Python line is quoted above its Rust spelling, and every `assert` of the tour is here,
//! with `torch.allclose`'s default tolerances. Where the tour only computes a value, a check
//! marked "(added)" confirms it. Like the tour, tensors are `float32` (torch's default
//! dtype). Any failed check panics.
//!
//! Run with `cargo run --release --example whirlwind_tour`.

use cotangent::{
    Tensor, UNMAPPED, VmapOpts, grad, hessian, jacfwd, jacrev, jvp, manual_seed, vjp, vmap,
    vmap_with,
};

/// `torch.allclose(a, b)` with its defaults, `rtol=1e-05, atol=1e-08`.
fn allclose(a: &Tensor, b: &Tensor) -> bool {
    a.shape() == b.shape() && a.allclose(b, 1e-5, 1e-8)
}

/// `torch.diag(v)` for a vector `v`: the square matrix with `v` on its diagonal.
fn diag(v: &Tensor) -> Tensor {
    let n = v.numel();
    &Tensor::eye(n, n).to_dtype(v.dtype()) * v
}

#[path = "common/device.rs"]
mod device;

fn main() {
    device::from_args();
    manual_seed(0);
    grad_section();
    vmap_section();
    vjp_section();
    jvp_section();
    jacobians_section();
    println!("whirlwind tour: all checks passed");
}

/// `grad` (gradient computation).
fn grad_section() {
    // x = torch.randn([])
    let x = Tensor::randn(&[]);
    // cos_x = grad(lambda x: torch.sin(x))(x)
    let cos_x: Tensor = grad(|x: Tensor| x.sin())(x.clone());
    // assert torch.allclose(cos_x, x.cos())
    assert!(allclose(&cos_x, &x.cos()));

    // Second-order gradients
    // neg_sin_x = grad(grad(lambda x: torch.sin(x)))(x)
    let neg_sin_x: Tensor = grad(grad(|x: Tensor| x.sin()))(x.clone());
    // assert torch.allclose(neg_sin_x, -x.sin())
    assert!(allclose(&neg_sin_x, &-x.sin()));
    println!("grad:    grad(sin)(x) = cos(x), grad(grad(sin))(x) = -sin(x)");
}

/// `vmap` (auto-vectorization), then `vmap(grad(..))` for per-sample gradients.
fn vmap_section() {
    // batch_size, feature_size = 3, 5
    let (batch_size, feature_size) = (3, 5);
    // weights = torch.randn(feature_size, requires_grad=True)
    // (no requires_grad: transforms differentiate whatever they are asked to)
    let weights = Tensor::randn(&[feature_size]);

    // def model(feature_vec):
    //     # Very simple linear model with activation
    //     assert feature_vec.dim() == 1
    //     return feature_vec.dot(weights).relu()
    let model = |feature_vec: Tensor| {
        assert_eq!(feature_vec.dim(), 1);
        feature_vec.dot(&weights).relu()
    };

    // examples = torch.randn(batch_size, feature_size)
    let examples = Tensor::randn(&[batch_size, feature_size]);
    // result = vmap(model)(examples)
    let result = vmap(model)(examples.clone());
    // (added) one output per example, equal to running the model on each example
    assert_eq!(result.shape(), &[batch_size]);
    let looped = cotangent::stack(
        &(0..batch_size as isize)
            .map(|i| model(examples.select(0, i)))
            .collect::<Vec<_>>(),
        0,
    );
    assert!(allclose(&result, &looped));
    println!(
        "vmap:    vmap(model)(examples) has shape {:?}",
        result.shape()
    );

    // When composed with grad, vmap can be used to compute per-sample-gradients.

    // def model(weights, feature_vec):
    //     # Very simple linear model with activation
    //     assert feature_vec.dim() == 1
    //     return feature_vec.dot(weights).relu()
    fn model2(weights: &Tensor, feature_vec: &Tensor) -> Tensor {
        assert_eq!(feature_vec.dim(), 1);
        feature_vec.dot(weights).relu()
    }

    // def compute_loss(weights, example, target):
    //     y = model(weights, example)
    //     return ((y - target) ** 2).mean()  # MSELoss
    fn compute_loss((weights, example, target): (Tensor, Tensor, Tensor)) -> Tensor {
        let y = model2(&weights, &example);
        (&y - &target).pow_scalar_int(2).mean()
    }

    // weights = torch.randn(feature_size, requires_grad=True)
    let weights = Tensor::randn(&[feature_size]);
    // examples = torch.randn(batch_size, feature_size)
    let examples = Tensor::randn(&[batch_size, feature_size]);
    // targets = torch.randn(batch_size)
    let targets = Tensor::randn(&[batch_size]);
    // inputs = (weights, examples, targets)
    let inputs = (weights.clone(), examples.clone(), targets.clone());
    // grad_weight_per_example = vmap(grad(compute_loss), in_dims=(None, 0, 0))(*inputs)
    let grad_weight_per_example = vmap_with(
        grad(compute_loss),
        VmapOpts::new().in_dims((UNMAPPED, 0, 0)),
    )(inputs);
    // (added) one gradient per example, equal to grad on each example alone
    assert_eq!(grad_weight_per_example.shape(), &[batch_size, feature_size]);
    for i in 0..batch_size as isize {
        let g: Tensor =
            grad(compute_loss)((weights.clone(), examples.select(0, i), targets.select(0, i)));
        assert!(allclose(&grad_weight_per_example.select(0, i), &g));
    }
    println!(
        "vmap:    per-sample gradients have shape {:?}",
        grad_weight_per_example.shape()
    );
}

/// `vjp` (vector-Jacobian product).
fn vjp_section() {
    // inputs = torch.randn(3)
    let inputs = Tensor::randn(&[3]);
    // func = torch.sin
    let func = |x: Tensor| x.sin();
    // cotangents = (torch.randn(3),)
    let cotangents = (Tensor::randn(&[3]),);
    // outputs, vjp_fn = vjp(func, inputs); vjps = vjp_fn(*cotangents)
    let (outputs, vjp_fn) = vjp(func, inputs.clone());
    let vjps: Tensor = vjp_fn.call(cotangents.0.clone());
    // (added) sin's output, and the cotangent times sin's derivative cos
    assert!(allclose(&outputs, &inputs.sin()));
    assert!(allclose(&vjps, &(&cotangents.0 * &inputs.cos())));
    println!("vjp:     vjp_fn(v) = v * cos(x)");
}

/// `jvp` (Jacobian-vector product).
fn jvp_section() {
    // x = torch.randn(5)
    let x = Tensor::randn(&[5]);
    // y = torch.randn(5)
    let y = Tensor::randn(&[5]);
    // f = lambda x, y: (x * y)
    let f = |(x, y): (Tensor, Tensor)| &x * &y;
    // _, out_tangent = jvp(f, (x, y), (torch.ones(5), torch.ones(5)))
    let (_, out_tangent) = jvp(
        f,
        (x.clone(), y.clone()),
        (Tensor::ones(&[5]), Tensor::ones(&[5])),
    );
    // assert torch.allclose(out_tangent, x + y)
    assert!(allclose(&out_tangent, &(&x + &y)));
    println!("jvp:     jvp(x * y, (x, y), (1, 1)) = x + y");
}

/// `jacrev`, `jacfwd`, and `hessian`.
fn jacobians_section() {
    // x = torch.randn(5)
    let x = Tensor::randn(&[5]);
    // jacobian = jacrev(torch.sin)(x)
    let jacobian: Tensor = jacrev(|x: Tensor| x.sin())(x.clone());
    // expected = torch.diag(torch.cos(x))
    let expected = diag(&x.cos());
    // assert torch.allclose(jacobian, expected)
    assert!(allclose(&jacobian, &expected));
    println!("jacrev:  jacrev(sin)(x) = diag(cos(x))");

    // jacrev can be composed with vmap to produce batched jacobians:
    // x = torch.randn(64, 5)
    let x = Tensor::randn(&[64, 5]);
    // jacobian = vmap(jacrev(torch.sin))(x)
    let jacobian: Tensor = vmap(jacrev::<Tensor, Tensor, Tensor, _>(|x: Tensor| x.sin()))(x);
    // assert jacobian.shape == (64, 5, 5)
    assert_eq!(jacobian.shape(), &[64, 5, 5]);
    println!(
        "vmap:    vmap(jacrev(sin))(x) has shape {:?}",
        jacobian.shape()
    );

    // jacfwd is a drop-in replacement for jacrev that computes Jacobians using
    // forward-mode AD:
    // x = torch.randn(5)
    let x = Tensor::randn(&[5]);
    // jacobian = jacfwd(torch.sin)(x)
    let jacobian: Tensor = jacfwd(|x: Tensor| x.sin())(x.clone());
    // expected = torch.diag(torch.cos(x))
    let expected = diag(&x.cos());
    // assert torch.allclose(jacobian, expected)
    assert!(allclose(&jacobian, &expected));
    println!("jacfwd:  jacfwd(sin)(x) = diag(cos(x))");

    // Composing jacrev with itself or jacfwd can produce hessians:
    // def f(x):
    //     return x.sin().sum()
    fn f(x: Tensor) -> Tensor {
        x.sin().sum()
    }
    // x = torch.randn(5)
    let x = Tensor::randn(&[5]);
    // hessian0 = jacrev(jacrev(f))(x)
    let hessian0: Tensor = jacrev(jacrev::<Tensor, Tensor, Tensor, _>(f))(x.clone());
    // hessian1 = jacfwd(jacrev(f))(x)
    let hessian1: Tensor = jacfwd(jacrev::<Tensor, Tensor, Tensor, _>(f))(x.clone());
    // (added) both are the Hessian of sum(sin(x)): diag(-sin(x))
    let expected = diag(&-x.sin());
    assert!(allclose(&hessian0, &expected));
    assert!(allclose(&hessian1, &expected));
    println!("hessian: jacrev(jacrev(f))(x) = jacfwd(jacrev(f))(x) = diag(-sin(x))");

    // hessian is a convenience function that combines jacfwd and jacrev:
    // x = torch.randn(5)
    let x = Tensor::randn(&[5]);
    // hess = hessian(f)(x)
    let hess: Tensor = hessian(f)(x.clone());
    // (added) the same as composing jacfwd over jacrev by hand
    let by_hand: Tensor = jacfwd(jacrev::<Tensor, Tensor, Tensor, _>(f))(x.clone());
    assert!(allclose(&hess, &by_hand));
    assert!(allclose(&hess, &diag(&-x.sin())));
    println!("hessian: hessian(f)(x) = jacfwd(jacrev(f))(x)");
}
