//! The conformance cases C01-C60 of the torch.func reference (section 5), one test each,
//! named after the case id and asserting the values the reference gives.

// 3.14 is the literal of torch's test_constant_function, not an approximation of pi.
#![allow(clippy::approx_constant)]

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};

use cotangent::nn::{self, Module};
use cotangent::testing::TestRng;
use cotangent::tree::DynTree;
use cotangent::{
    DType, GradOpts, HessianOpts, JacfwdOpts, JacrevOpts, JvpOpts, Randomness, Tensor, UNMAPPED,
    VmapOpts, grad, grad_and_value, grad_and_value_with, grad_with, hessian, hessian_with, jacfwd,
    jacfwd_with, jacrev, jacrev_with, jvp, jvp_with, jvp_with_aux, linearize, vjp, vjp_with_aux,
    vmap, vmap_with,
};
use cotangent::{manual_seed, mse_loss};

// ---------------------------------------------------------------- helpers

fn rng(seed: u64) -> TestRng {
    TestRng::new(seed)
}

/// f64 tensor with values in [-1, 1).
fn rand(r: &mut TestRng, shape: &[usize]) -> Tensor {
    r.tensor(shape, -1.0, 1.0)
}

fn s(v: f64) -> Tensor {
    Tensor::scalar(v)
}

#[track_caller]
fn close(a: &Tensor, b: &Tensor) {
    assert_eq!(a.shape(), b.shape(), "shapes differ: {a} vs {b}");
    assert!(a.allclose(b, 1e-9, 1e-10), "not close:\n{a}\n{b}");
}

#[track_caller]
fn close_tol(a: &Tensor, b: &Tensor, rtol: f64, atol: f64) {
    assert_eq!(a.shape(), b.shape(), "shapes differ");
    assert!(a.allclose(b, rtol, atol), "not close:\n{a}\n{b}");
}

fn panic_message(f: impl FnOnce()) -> String {
    let payload = catch_unwind(AssertUnwindSafe(f)).expect_err("expected a panic");
    match payload.downcast::<String>() {
        Ok(s) => *s,
        Err(p) => p
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .unwrap_or_default(),
    }
}

#[track_caller]
fn panics_with(f: impl FnOnce(), part: &str) {
    let msg = panic_message(f);
    assert!(msg.contains(part), "message {msg:?} lacks {part:?}");
}

fn eye(n: usize) -> Tensor {
    Tensor::eye(n, n).to_dtype(DType::F64)
}

fn diag(v: &Tensor) -> Tensor {
    let n = v.numel();
    &eye(n) * &v.reshape(&[1, n as isize])
}

// ---------------------------------------------------------------- A. grad

#[test]
fn c01_primitive() {
    let x = s(0.7);
    let g: Tensor = grad(|x: Tensor| x.sin())(x.clone());
    close(&g, &x.cos());
}

#[test]
fn c02_composite() {
    let x = rand(&mut rng(2), &[2, 3, 4]);
    let g: Tensor = grad(|x: Tensor| x.flatten(0, -1).sum())(x.clone());
    close(&g, &x.ones_like());
}

#[test]
fn c03_matmul() {
    let mut r = rng(3);
    let (x, y) = (rand(&mut r, &[3]), rand(&mut r, &[3, 5]));
    let g: Tensor = grad(|(x, y): (Tensor, Tensor)| x.matmul(&y).sum())((x, y.clone()));
    close(&g, &y.sum_dim(&[1], false));
}

#[test]
fn c04_cross_entropy() {
    let mut r = rng(4);
    let l = rand(&mut r, &[2, 5]);
    let t = Tensor::new(vec![1i64, 3]);
    let g: Tensor =
        grad(|(l, t): (Tensor, Tensor)| cotangent::cross_entropy(&l, &t))((l.clone(), t.clone()));
    let expected = (&l.softmax(-1) - &cotangent::one_hot(&t, 5).to_dtype(DType::F64)) / 2.0;
    close(&g, &expected);
}

#[test]
fn c05_second_order() {
    let x = s(0.3);
    let g2: Tensor = grad(grad(|x: Tensor| x.sin()))(x.clone());
    close(&g2, &-x.sin());
    let g3: Tensor = grad(grad(grad(|x: Tensor| x.sin())))(x.clone());
    close(&g3, &-x.cos());
}

#[test]
fn c06_argnums() {
    let (x, y) = (s(2.0), s(3.0));
    let f = |(x, y): (Tensor, Tensor)| &x * &y;
    let g0: Tensor = grad_with(f, GradOpts::new().argnums(0))((x.clone(), y.clone()));
    close(&g0, &y);
    let g1: Tensor = grad_with(f, GradOpts::new().argnums(1))((x.clone(), y.clone()));
    close(&g1, &x);
    let (g,): (Tensor,) = grad_with(f, GradOpts::new().argnums((0,)))((x.clone(), y.clone()));
    close(&g, &y);
    let (a, b): (Tensor, Tensor) =
        grad_with(f, GradOpts::new().argnums((0, 1)))((x.clone(), y.clone()));
    close(&a, &y);
    close(&b, &x);
    let (a, b): (Tensor, Tensor) =
        grad_with(f, GradOpts::new().argnums((1, 0)))((x.clone(), y.clone()));
    close(&a, &x);
    close(&b, &y);
    let gm1: Tensor = grad_with(f, GradOpts::new().argnums(-1))((x.clone(), y.clone()));
    close(&gm1, &x);
    let gm2: Tensor = grad_with(f, GradOpts::new().argnums(-2))((x.clone(), y.clone()));
    close(&gm2, &y);
}

#[test]
fn c07_argnums_errors() {
    let args = || (s(2.0), s(3.0));
    let f = |(x, y): (Tensor, Tensor)| &x * &y;
    panics_with(
        || {
            drop(grad_with::<_, _, Tensor, _>(f, GradOpts::new().argnums(2))(
                args(),
            ))
        },
        "Got argnum=2, but only 2 positional inputs",
    );
    panics_with(
        || drop(grad_with::<_, _, Tensor, _>(f, GradOpts::new().argnums(-3))(args())),
        "Got argnum=-3, but only 2 positional inputs",
    );
    panics_with(
        || {
            drop(grad_with::<_, _, DynTree, _>(
                f,
                GradOpts::new().argnums((0, 0)),
            )(args()))
        },
        "must be unique",
    );
    panics_with(
        || {
            drop(grad_with::<_, _, DynTree, _>(
                f,
                GradOpts::new().argnums((0, -2)),
            )(args()))
        },
        "must be unique",
    );
    panics_with(
        || {
            drop(grad_with::<_, _, DynTree, _>(
                f,
                GradOpts::new().argnums(()),
            )(args()))
        },
        "must be non-empty",
    );
    // The library keeps working after a caught failure.
    let g: Tensor = grad_with(f, GradOpts::new().argnums(0))(args());
    close(&g, &s(3.0));
}

type Foo = BTreeMap<String, Tensor>;

fn c08_f(((x, y), b): ((Tensor, Tensor), Foo)) -> Tensor {
    &(&x + &(&y * 2.0)) + &(&b["foo"] * 3.0)
}

#[test]
fn c08_pytree_args() {
    let b: Foo = [("foo".to_string(), s(1.0))].into();
    let args = || ((s(1.0), s(1.0)), b.clone());
    let (gx, gy) = grad(c08_f)(args());
    close(&gx, &s(1.0));
    close(&gy, &s(2.0));
    let ((gx, gy),): ((Tensor, Tensor),) = grad_with(c08_f, GradOpts::new().argnums((0,)))(args());
    close(&gx, &s(1.0));
    close(&gy, &s(2.0));
    let ((gx, gy), gb): ((Tensor, Tensor), Foo) =
        grad_with(c08_f, GradOpts::new().argnums((0, 1)))(args());
    close(&gx, &s(1.0));
    close(&gy, &s(2.0));
    close(&gb["foo"], &s(3.0));
}

#[test]
fn c09_has_aux() {
    let x = rand(&mut rng(9), &[3]);
    let f = |t: Tensor| (t.sin().sum(), t.cos());
    let (g, aux): (Tensor, Tensor) = grad_with(f, GradOpts::new().has_aux(true))(x.clone());
    close(&g, &x.cos());
    close(&aux, &x.cos());
    let as_list = |t: Tensor| vec![t.sin().sum(), t.cos()];
    panics_with(
        || {
            drop(grad_with::<_, _, DynTree, _>(
                as_list,
                GradOpts::new().has_aux(true),
            )(x.clone()))
        },
        "output of function f should be a tuple: (output, aux)",
    );
    let triple = |t: Tensor| (t.sin().sum(), t.cos(), t.cos());
    panics_with(
        || {
            drop(grad_with::<_, _, DynTree, _>(
                triple,
                GradOpts::new().has_aux(true),
            )(x.clone()))
        },
        "output of function f should be a tuple: (output, aux)",
    );
}

#[test]
fn c10_aux_is_differentiable_by_an_outer_transform() {
    let f = |x: Tensor| {
        let inner = |x: Tensor| {
            let c = &(&x * &x) * &x;
            (c.clone(), vec![c])
        };
        let (_, aux): (Tensor, Vec<Tensor>) = grad_with(inner, GradOpts::new().has_aux(true))(x);
        aux[0].clone()
    };
    let g: Tensor = grad(f)(s(4.0));
    close(&g, &s(48.0));
}

#[test]
fn c11_non_scalar_output() {
    let x = rand(&mut rng(11), &[3]);
    panics_with(
        || drop(grad::<Tensor, _>(|x: Tensor| x)(x.clone())),
        "Expected f(*args) to return a scalar Tensor, got tensor with 1 dims",
    );
    panics_with(
        || {
            drop(grad::<Tensor, _>(|x: Tensor| x.sum().reshape(&[1]))(
                x.clone(),
            ))
        },
        "got tensor with 1 dims",
    );
}

#[test]
fn c12_zero_grads_for_unused_inputs() {
    let mut r = rng(12);
    let d: Foo = [
        ("a".to_string(), rand(&mut r, &[10])),
        ("b".to_string(), rand(&mut r, &[10])),
    ]
    .into();
    let g: Foo = grad(|d: Foo| (&d["a"] * &d["a"]).sum())(d.clone());
    close(&g["a"], &(&d["a"] * 2.0));
    close(&g["b"], &d["b"].zeros_like());
    let y = s(5.0);
    let g: Tensor = grad(|_x: Tensor| y.clone())(s(1.0));
    close(&g, &s(0.0));
}

#[test]
fn c13_grad_and_value() {
    let x = rand(&mut rng(13), &[3]);
    let (g, v) = grad_and_value(|x: Tensor| (&(&x * &x) * &x).sum())(x.clone());
    close(&g, &(&(&x * &x) * 3.0));
    close(&v, &(&(&x * &x) * &x).sum());
    let f = |x: Tensor| ((&x * &x).sum(), x.sin());
    let (g, (v, aux)): (Tensor, (Tensor, Tensor)) =
        grad_and_value_with(f, GradOpts::new().has_aux(true))(x.clone());
    close(&g, &(&x * 2.0));
    close(&v, &(&x * &x).sum());
    close(&aux, &x.sin());
}

#[test]
fn c14_stop_gradient() {
    let f = |x: Tensor| &(&x * &x) - &(&x * &x).stop_gradient();
    let x = s(1.5);
    let g: Tensor = grad(f)(x.clone());
    close(&g, &(&x * 2.0));
    let g2: Tensor = grad(grad(f))(x.clone());
    close(&g2, &s(2.0));
    let h = |x: Tensor| {
        let quartic = |x: Tensor| &(&(&x * &x) * &(&x * &x)) * 0.25;
        let inner: Tensor = grad(quartic)(x.clone());
        &(&(&x * &x) * &x) - &inner.stop_gradient()
    };
    let g: Tensor = grad(h)(x.clone());
    close(&g, &(&(&x * &x) * 3.0));
}

// ---------------------------------------------------------------- B. vjp

#[test]
fn c15_vjp_basic() {
    let x = s(0.4);
    let (out, f) = vjp(|x: Tensor| x.sin(), x.clone());
    close(&out, &x.sin());
    let v = s(1.7);
    let g: Tensor = f.call(v.clone());
    close(&g, &(&v * &x.cos()));
}

#[test]
fn c16_vjp_multiple_outputs() {
    let x = rand(&mut rng(16), &[5]);
    let (_, f) = vjp(|x: Tensor| (x.sin(), x.cos()), x.clone());
    let g: Tensor = f.call((x.ones_like(), x.ones_like()));
    close(&g, &(&x.cos() - &x.sin()));
}

#[test]
fn c17_vjp_matmul() {
    let mut r = rng(17);
    let (x, y, ct) = (
        rand(&mut r, &[5, 4]),
        rand(&mut r, &[4, 5]),
        rand(&mut r, &[5, 5]),
    );
    let (_, f) = vjp(
        |(x, y): (Tensor, Tensor)| x.matmul(&y),
        (x.clone(), y.clone()),
    );
    let (gx, gy) = f.call(ct.clone());
    close(&gx, &ct.matmul(&y.t()));
    close(&gy, &x.t().matmul(&ct));
}

#[test]
fn c18_vjp_pytrees() {
    let (a, b, c) = (s(2.0), s(3.0), s(5.0));
    let v = s(7.0);
    let (_, f) = vjp(
        |x: (Tensor, (Tensor, Tensor))| &x.0 * &x.1.0,
        (a.clone(), (b.clone(), c.clone())),
    );
    let (ga, (gb, gc)) = f.call(v.clone());
    close(&ga, &(&b * &v));
    close(&gb, &(&a * &v));
    close(&gc, &s(0.0));
    let (_, f) = vjp(|x: Tensor| (x.clone(), (x.clone(), x)), a.clone());
    let (v1, v2, v3) = (s(1.0), s(2.0), s(3.0));
    let g: Tensor = f.call((v1.clone(), (v2.clone(), v3.clone())));
    close(&g, &s(6.0));
    panics_with(
        || drop(f.call(((v1.clone(), (v2.clone(), v3.clone())),))),
        "Expected pytree structure of cotangents to be the same as pytree structure of outputs",
    );
}

#[test]
fn c19_vjp_unrelated_outputs() {
    let y = s(3.0);
    let (_, f) = vjp(
        |(_w, x): (Tensor, Tensor)| (y.clone(), y.clone(), x),
        (s(1.0), s(2.0)),
    );
    let (gw, gx) = f.call((s(1.0), s(1.0), s(1.0)));
    close(&gw, &s(0.0));
    close(&gx, &s(1.0));
}

#[test]
fn c20_vjp_output_checks() {
    let x = rand(&mut rng(20), &[3]);
    panics_with(|| drop(vjp(|_x: Tensor| (), x.clone())), "non-empty output");
    panics_with(
        || drop(vjp(|_x: Tensor| 1.0f64, x.clone())),
        "return only tensors",
    );
    panics_with(
        || drop(vjp(|x: Tensor| x.to_dtype(DType::I64), x.clone())),
        "All outputs of f must be floating-point",
    );
    let (out, f, aux) = vjp_with_aux(|t: Tensor| (t.sin(), t.cos()), x.clone());
    close(&out, &x.sin());
    close(&aux, &x.cos());
    let v = rand(&mut rng(21), &[3]);
    let g: Tensor = f.call(v.clone());
    close(&g, &(&v * &x.cos()));
}

#[test]
fn c21_vjp_fn_under_vmap() {
    let mut r = rng(21);
    let x = rand(&mut r, &[3]);
    let xs = rand(&mut r, &[5, 3]);
    let (_, f) = vjp(|x: Tensor| x.sin(), x.clone());
    let batched: Tensor = vmap(|v: Tensor| f.call::<Tensor>(v))(xs.clone());
    let looped = cotangent::stack(
        &(0..5)
            .map(|i| f.call::<Tensor>(xs.select(0, i)))
            .collect::<Vec<_>>(),
        0,
    );
    close(&batched, &looped);
}

// ---------------------------------------------------------------- C. jvp, linearize

#[test]
fn c22_jvp_basic() {
    let mut r = rng(22);
    let (x, t) = (rand(&mut r, &[2, 3]), rand(&mut r, &[2, 3]));
    let (y, y_dot) = jvp(|x: Tensor| x.sin(), x.clone(), t.clone());
    close(&y, &x.sin());
    close(&y_dot, &(&x.cos() * &t));
}

#[test]
fn c23_jvp_multiple_inputs_outputs() {
    let mut r = rng(23);
    let (x, y, tx, ty) = (
        rand(&mut r, &[3]),
        rand(&mut r, &[3]),
        rand(&mut r, &[3]),
        rand(&mut r, &[3]),
    );
    let (out, dot) = jvp(
        |(x, y): (Tensor, Tensor)| &x * &y,
        (x.clone(), y.clone()),
        (tx.clone(), ty.clone()),
    );
    close(&out, &(&x * &y));
    close(&dot, &(&(&y * &tx) + &(&x * &ty)));
    let f = |(x, y): (Tensor, Tensor)| (&(&x * 2.0) + &(&y * 3.0), &(&x * 4.0) + &(&y * 5.0));
    let (_, (d1, d2)) = jvp(f, (x.clone(), y.clone()), (tx.clone(), ty.clone()));
    let (e1, e2) = f((tx.clone(), ty.clone()));
    close(&d1, &e1);
    close(&d2, &e2);
    let g = |((a, b), y, z): ((Tensor, Tensor), Tensor, Tensor)| {
        &(&(&a + &(&b * 2.0)) + &(&y * 3.0)) + &(&z * 4.0)
    };
    let ones = || ((s(1.0), s(1.0)), s(1.0), s(1.0));
    let (out, dot) = jvp(g, ones(), ones());
    close(&out, &s(10.0));
    close(&dot, &s(10.0));
}

#[test]
fn c24_unrelated_output_and_strict() {
    let mut r = rng(24);
    let (x, t) = (rand(&mut r, &[3]), rand(&mut r, &[3]));
    let y = rand(&mut r, &[3]);
    let (out, dot) = jvp(|_x: Tensor| y.clone(), x.clone(), t.clone());
    close(&out, &y);
    close(&dot, &y.zeros_like());
    panics_with(
        || {
            drop(jvp_with(
                |_x: Tensor| y.clone(),
                x.clone(),
                t.clone(),
                JvpOpts { strict: true },
            ))
        },
        "strict",
    );
}

#[test]
fn c25_jvp_errors() {
    let x = rand(&mut rng(25), &[3]);
    // NB: "primals must be a tuple" cannot happen: the primals are the function's argument,
    // checked by the compiler. Structure, emptiness and shape are checked at run time.
    panics_with(
        || {
            drop(jvp(
                |v: Vec<Tensor>| v[0].clone(),
                vec![x.clone()],
                vec![x.clone(), x.clone()],
            ))
        },
        "same python structure",
    );
    panics_with(
        || drop(jvp(|_v: Vec<Tensor>| s(1.0), vec![], vec![])),
        "at least one Tensor",
    );
    panics_with(
        || {
            drop(jvp(
                |x: Tensor| x,
                x.clone(),
                Tensor::zeros_dtype(&[4], DType::F64),
            ))
        },
        "different primal and tangent shapes",
    );
}

#[test]
fn c26_jvp_has_aux() {
    let mut r = rng(26);
    let (x, t) = (rand(&mut r, &[3]), rand(&mut r, &[3]));
    let (out, dot, aux) = jvp_with_aux(|z: Tensor| (z.sin(), z.cos()), x.clone(), t.clone());
    close(&out, &x.sin());
    close(&dot, &(&t * &x.cos()));
    close(&aux, &x.cos());
}

#[test]
fn c27_linearize() {
    let z = Tensor::zeros_dtype(&[3, 3], DType::F64);
    let (y, jf) = linearize(|x: Tensor| x.sin(), z.clone());
    close(&y, &z);
    close(&jf(z.ones_like()), &z.ones_like());
    let mut r = rng(27);
    let a = rand(&mut r, &[4, 4]);
    let (x, t) = (rand(&mut r, &[4]), rand(&mut r, &[4]));
    let f = |x: Tensor| a.matmul(&x).tanh();
    let (_, jf) = linearize(f, x.clone());
    close(&jf(t.clone()), &jvp(f, x.clone(), t.clone()).1);
    panics_with(
        || drop(jf(Tensor::zeros_dtype(&[5], DType::F64))),
        "doesn't match the shape",
    );
}

#[test]
fn c28_nested_jvp_closure() {
    let foo = |x: Tensor| jvp(|y: Tensor| &x * &y, s(3.0), s(1.0)).1;
    let (out, dot) = jvp(foo, s(1.0), s(2.0));
    close(&out, &s(1.0));
    close(&dot, &s(2.0));
}

#[test]
fn c29_perturbation_confusion() {
    let f = |x: Tensor| {
        let inner: Tensor = grad(|y: Tensor| &x + &y)(s(1.0));
        &x * &inner
    };
    let g: Tensor = grad(f)(s(1.0));
    close(&g, &s(1.0));
    // autodidax2: f(x) = x * derivative(|y| x, 0.0); derivative(f, 0.0) == 0.
    let derivative = |f: &dyn Fn(Tensor) -> Tensor, x: Tensor| jvp(f, x, s(1.0)).1;
    let f2 = |x: Tensor| &x * &derivative(&|_y: Tensor| x.clone(), s(0.0));
    close(&derivative(&f2, s(0.0)), &s(0.0));
}

#[test]
fn c30_hvp_forward_over_reverse() {
    let mut r = rng(30);
    let a = rand(&mut r, &[4, 4]);
    let (x, v) = (rand(&mut r, &[4]), rand(&mut r, &[4]));
    let f = |x: Tensor| x.dot(&a.matmul(&x));
    let hvp = jvp(grad(f), x.clone(), v.clone()).1;
    close(&hvp, &(&a + &a.t()).matmul(&v));
    let h: Tensor = hessian(f)(x.clone());
    close(&hvp, &h.matmul(&v));
}

// ---------------------------------------------------------------- D. vmap

fn dot(x: &Tensor, y: &Tensor) -> Tensor {
    (x * y).sum()
}

#[test]
fn c31_batched_dot() {
    let mut r = rng(31);
    let (x, y) = (rand(&mut r, &[2, 5]), rand(&mut r, &[2, 5]));
    let out = vmap(|(x, y): (Tensor, Tensor)| dot(&x, &y))((x.clone(), y.clone()));
    close(&out, &(&x * &y).sum_dim(&[1], false));
    let y1 = rand(&mut r, &[5]);
    let out = vmap_with(
        |(x, y): (Tensor, Tensor)| dot(&x, &y),
        VmapOpts::new().in_dims((0, UNMAPPED)),
    )((x.clone(), y1.clone()));
    close(&out, &x.matmul(&y1));
    let (x3, y3) = (rand(&mut r, &[2, 3, 5]), rand(&mut r, &[2, 3, 5]));
    let out = vmap(vmap(|(x, y): (Tensor, Tensor)| dot(&x, &y)))((x3, y3));
    assert_eq!(out.shape(), &[2, 3]);
}

#[test]
fn c32_non_zero_in_dims() {
    let mut r = rng(32);
    let t = rand(&mut r, &[2, 3, 5]);
    close(
        &vmap_with(|x: Tensor| x, VmapOpts::new().in_dims(1))(t.clone()),
        &t.permute(&[1, 0, 2]),
    );
    let (x, y) = (rand(&mut r, &[2, 3]), rand(&mut r, &[3, 2]));
    let mul = |(x, y): (Tensor, Tensor)| &x * &y;
    close(
        &vmap_with(mul, VmapOpts::new().in_dims((0, 1)))((x.clone(), y.clone())),
        &(&x * &y.t()),
    );
    let y2 = rand(&mut r, &[2, 3]);
    close(
        &vmap_with(mul, VmapOpts::new().in_dims((-1, -1)))((x.clone(), y2.clone())),
        &(&x * &y2).t(),
    );
}

#[test]
fn c33_out_dims() {
    let mut r = rng(33);
    let x = rand(&mut r, &[2, 3]);
    close(
        &vmap_with(|x: Tensor| x, VmapOpts::new().out_dims(1))(x.clone()),
        &x.t(),
    );
    let y = rand(&mut r, &[2, 3, 5, 7]);
    close(
        &vmap_with(|x: Tensor| x, VmapOpts::new().out_dims(2))(y.clone()),
        &y.permute(&[1, 2, 0, 3]),
    );
    close(
        &vmap_with(|x: Tensor| x, VmapOpts::new().out_dims(-1))(y.clone()),
        &y.permute(&[1, 2, 3, 0]),
    );
    let z = rand(&mut r, &[2, 3, 5]);
    let (a, b) = vmap_with(|x: Tensor| (x.clone(), x), VmapOpts::new().out_dims((0, 1)))(z.clone());
    close(&a, &z);
    close(&b, &z.permute(&[1, 0, 2]));
    close(
        &vmap_with(|x: Tensor| x, VmapOpts::new().out_dims((1,)))(x.clone()),
        &x.t(),
    );
}

#[test]
fn c34_nested_out_dims() {
    let y = rand(&mut rng(34), &[2, 3, 5, 7]);
    let out = vmap(|y: Tensor| vmap_with(|x: Tensor| x, VmapOpts::new().out_dims(1))(y))(y.clone());
    close(&out, &y.permute(&[0, 2, 1, 3]));
    let out = vmap_with(
        |y: Tensor| vmap_with(|x: Tensor| x, VmapOpts::new().out_dims(1))(y),
        VmapOpts::new().out_dims(1),
    )(y.clone());
    assert_eq!(out.shape(), &[5, 2, 3, 7]);
    close(&out, &y.permute(&[2, 0, 1, 3]));
    let out = vmap_with(
        |y: Tensor| vmap_with(|x: Tensor| x, VmapOpts::new().out_dims(-1))(y),
        VmapOpts::new().out_dims(-1),
    )(y.clone());
    assert_eq!(out.shape(), &[5, 7, 3, 2]);
    close(&out, &y.permute(&[2, 3, 1, 0]));
}

#[test]
fn c35_nested_different_map_sizes() {
    let mut r = rng(35);
    let (x, y, z) = (
        rand(&mut r, &[2, 3]),
        rand(&mut r, &[5, 3]),
        rand(&mut r, &[7, 3]),
    );
    let out = vmap(|x: Tensor| vmap(|y: Tensor| &x * &y)(y.clone()))(x.clone());
    assert_eq!(out.shape(), &[2, 5, 3]);
    close(&out, &(&x.reshape(&[2, 1, 3]) * &y));
    let out = vmap(|x: Tensor| {
        vmap(|y: Tensor| vmap(|z: Tensor| &(&x * &y) * &z)(z.clone()))(y.clone())
    })(x.clone());
    assert_eq!(out.shape(), &[2, 5, 7, 3]);
    close(
        &out,
        &(&(&x.reshape(&[2, 1, 1, 3]) * &y.reshape(&[1, 5, 1, 3])) * &z),
    );
}

#[test]
fn c36_nested_non_default_in_dims() {
    let mut r = rng(36);
    let (x, y) = (rand(&mut r, &[5, 2, 3]), rand(&mut r, &[3, 5, 2]));
    let mul = |(x, y): (Tensor, Tensor)| &x * &y;
    let f = vmap_with(
        vmap_with(vmap(mul), VmapOpts::new().in_dims((1, 0))),
        VmapOpts::new().in_dims((1, 2)),
    );
    close(
        &f((x.clone(), y.clone())),
        &(&x.permute(&[1, 2, 0]) * &y.permute(&[2, 0, 1])),
    );
}

#[test]
fn c37_unbatched_output_is_broadcast() {
    let out = vmap(|_x: Tensor| s(3.14))(Tensor::ones(&[3]));
    close(&out, &Tensor::full(&[3], 3.14, DType::F64));
    let (x, y) = (rand(&mut rng(37), &[3]), rand(&mut rng(38), &[5]));
    let out = vmap(|x: Tensor| vmap(|_y: Tensor| x.clone())(y.clone()))(x.clone());
    close(&out, &x.reshape(&[3, 1]).expand(&[3, 5]));
    let out = vmap_with(
        |_x: Tensor| Tensor::zeros(&[2]),
        VmapOpts::new().out_dims(-1),
    )(Tensor::ones(&[5]));
    assert_eq!(out.shape(), &[2, 5]);
}

#[test]
fn c38_out_dims_none() {
    let x = Tensor::ones(&[3]);
    let a = Tensor::arange(3);
    let out = vmap_with(|_x: Tensor| a.clone(), VmapOpts::new().out_dims(UNMAPPED))(x.clone());
    assert_eq!(out.to_vec::<i64>(), vec![0, 1, 2]);
    panics_with(
        || drop(vmap_with(|x: Tensor| x, VmapOpts::new().out_dims(UNMAPPED))(x.clone())),
        "can not return a BatchedTensor when out_dim is None",
    );
}

#[test]
fn c39_pytree_in_out() {
    let mut r = rng(39);
    let z: Foo = [
        ("x".to_string(), rand(&mut r, &[2, 5])),
        ("y".to_string(), rand(&mut r, &[5])),
    ]
    .into();
    let in_dims: BTreeMap<String, Option<i32>> =
        [("x".to_string(), Some(0)), ("y".to_string(), None)].into();
    let out = vmap_with(
        |z: Foo| &z["x"] + &z["y"],
        VmapOpts::new().in_dims((in_dims,)),
    )(z.clone());
    close(&out, &(&z["x"] + &z["y"]));
    let y = rand(&mut r, &[2, 3]);
    let (a, (b, c)) = vmap_with(
        |y: Tensor| (y.clone(), (y.clone(), y)),
        VmapOpts::new().out_dims((0, (0, 1))),
    )(y.clone());
    close(&a, &y);
    close(&b, &y);
    close(&c, &y.t());
    let (a, (b, c)) = vmap_with(
        |y: Tensor| (y.clone(), (y.clone(), y)),
        VmapOpts::new().out_dims(1),
    )(y.clone());
    for t in [a, b, c] {
        close(&t, &y.t());
    }
}

#[test]
fn c40_vmap_errors() {
    let mut r = rng(40);
    let (x2, x3) = (rand(&mut r, &[2]), rand(&mut r, &[3]));
    let add = |(x, y): (Tensor, Tensor)| &x + &y;
    panics_with(
        || drop(vmap(add)((x2.clone(), x3.clone()))),
        "Expected all tensors to have the same size in the mapped dimension",
    );
    panics_with(|| drop(vmap(|_: ()| s(1.0))(())), "got no inputs");
    panics_with(
        || {
            drop(vmap_with(
                |x: Tensor| x,
                VmapOpts::new().in_dims((UNMAPPED,)),
            )(x2.clone()))
        },
        "at least one Tensor to vmap over",
    );
    panics_with(
        || {
            drop(vmap_with(add, VmapOpts::new().in_dims((0,)))((
                x2.clone(),
                x2.clone(),
            )))
        },
        "in_dims is not compatible with the structure of `inputs`",
    );
    panics_with(
        || {
            drop(vmap_with(
                |(x, _n): (Tensor, f64)| x,
                VmapOpts::new().in_dims((0, 0)),
            )((x2.clone(), 1.0)))
        },
        "Got in_dim=0 for an input but the input is of type",
    );
    let m = rand(&mut r, &[2, 3]);
    panics_with(
        || {
            drop(vmap_with(|x: Tensor| x, VmapOpts::new().in_dims(2))(
                m.clone(),
            ))
        },
        "expected in_dim to satisfy -2 <= in_dim < 2",
    );
    panics_with(|| drop(vmap(|x: Tensor| x)(s(1.0))), "dimensionality 0");
    panics_with(
        || {
            let _: f64 = vmap(|_x: Tensor| 3.14f64)(x2.clone());
        },
        "must only return Tensors, got type",
    );
    panics_with(
        || {
            drop(vmap_with(|x: Tensor| x, VmapOpts::new().out_dims((0, 0)))(
                x2.clone(),
            ))
        },
        "out_dims is not compatible",
    );
    panics_with(
        || {
            drop(vmap_with(|x: Tensor| x, VmapOpts::new().out_dims(3))(
                m.clone(),
            ))
        },
        "Dimension out of range",
    );
}

#[test]
fn c41_data_dependence() {
    let x = rand(&mut rng(41), &[3]);
    panics_with(
        || drop(vmap(|x: Tensor| s(x.item::<f64>()))(x.clone())),
        "calling .item() on a Tensor",
    );
    panics_with(
        || {
            drop(vmap(|x: Tensor| {
                if x.gt_scalar(0.0).item::<bool>() {
                    x
                } else {
                    x.zeros_like()
                }
            })(x.clone()))
        },
        "data-dependent control flow",
    );
}

#[test]
fn c42_randomness() {
    let x = Tensor::zeros_dtype(&[3], DType::F64);
    let noisy = |x: Tensor| &x + &Tensor::randn_dtype(&[], DType::F64);
    panics_with(
        || drop(vmap(noisy)(x.clone())),
        "called random operation while in randomness error mode",
    );
    let same =
        vmap_with(noisy, VmapOpts::new().randomness(Randomness::Same))(x.clone()).to_vec::<f64>();
    assert!(same[0] == same[1] && same[1] == same[2], "{same:?}");
    let diff = vmap_with(noisy, VmapOpts::new().randomness(Randomness::Different))(x.clone())
        .to_vec::<f64>();
    assert!(
        diff[0] != diff[1] && diff[1] != diff[2] && diff[0] != diff[2],
        "{diff:?}"
    );
    let err = "invalid".parse::<Randomness>().unwrap_err();
    assert!(
        err.to_string()
            .contains("Only allowed values for randomness are 'error', 'different', or 'same'")
    );
}

#[test]
fn c43_chunk_size() {
    let x = rand(&mut rng(43), &[10, 2]);
    let f = |x: Tensor| (x.sin(), x.sum_dim(&[0], false));
    let (a, b) = vmap(f)(x.clone());
    // 61 output elements: chunks that do not divide them, 1, one short, exact, past the end.
    for k in [1, 2, 3, 4, 7, 10, 60, 61, 62, 1000] {
        let (ca, cb) = vmap_with(f, VmapOpts::new().chunk_size(k))(x.clone());
        close(&ca, &a);
        close(&cb, &b);
    }
    panics_with(
        || drop(vmap_with(f, VmapOpts::new().chunk_size(0))(x.clone())),
        "chunk_size should be None or greater than 0",
    );
}

#[test]
fn c44_negative_axes_and_select() {
    let x = Tensor::arange(60).reshape(&[3, 4, 5]).to_dtype(DType::F64);
    let out = vmap_with(|x: Tensor| x.sum(), VmapOpts::new().in_dims(-1))(x.clone());
    close(&out, &x.sum_dim(&[0, 1], false));
    panics_with(
        || {
            drop(vmap_with(|x: Tensor| x.sum(), VmapOpts::new().in_dims(-4))(
                x.clone(),
            ))
        },
        "in_dim",
    );
    let pred = Tensor::new([false, true]);
    let on_true = Tensor::new([2.0f64]);
    let on_false = Tensor::new([[3.0f64, 4.0]]);
    let f = |(p, a, b): (Tensor, Tensor, Tensor)| cotangent::where_(&p, &a, &b);
    let out = vmap_with(f, VmapOpts::new().in_dims((0, UNMAPPED, 1)).out_dims(1))((
        pred, on_true, on_false,
    ));
    close(&out, &Tensor::new([[3.0f64, 2.0]]));
}

#[test]
fn c45_transposes_under_vmap() {
    let mut r = rng(45);
    let x = rand(&mut r, &[4, 3, 3]);
    close(
        &vmap(|x: Tensor| &x + &x.t())(x.clone()),
        &(&x + &x.transpose(-1, -2)),
    );
    let y = rand(&mut r, &[6, 3, 4, 5]);
    close(
        &vmap(|x: Tensor| x.permute(&[1, 0, 2]))(y.clone()),
        &y.permute(&[0, 2, 1, 3]),
    );
    let z = rand(&mut r, &[3, 4, 6, 5]);
    close(
        &vmap_with(
            |x: Tensor| x.permute(&[1, 2, 0]),
            VmapOpts::new().in_dims(2),
        )(z.clone()),
        &z.permute(&[2, 1, 3, 0]),
    );
}

#[test]
fn c46_matmat_from_vdot() {
    let mut r = rng(46);
    let (a, b) = (rand(&mut r, &[4, 3]), rand(&mut r, &[3, 2]));
    let vdot = |(x, y): (Tensor, Tensor)| dot(&x, &y);
    let matvec = vmap_with(vdot, VmapOpts::new().in_dims((0, UNMAPPED)));
    let matmat = vmap_with(matvec, VmapOpts::new().in_dims((UNMAPPED, 1)).out_dims(1));
    close(&matmat((a.clone(), b.clone())), &a.matmul(&b));
}

// ---------------------------------------------------------------- E. compositions

#[test]
fn c47_vmap_grad_and_grad_vmap() {
    let mut r = rng(47);
    let (x, t) = (rand(&mut r, &[3]), rand(&mut r, &[3]));
    close(&vmap(grad(|x: Tensor| x.sin()))(x.clone()), &x.cos());
    let g: Tensor = grad(|x: Tensor| vmap(|x: Tensor| x.sin())(x).sum())(x.clone());
    close(&g, &x.cos());
    let (y, dot) = jvp(vmap(|x: Tensor| x.sin()), x.clone(), t.clone());
    close(&y, &x.sin());
    close(&dot, &(&x.cos() * &t));
    let (_, f) = vjp(vmap(|x: Tensor| x.sin()), x.clone());
    close(&f.call::<Tensor>(t.clone()), &(&x.cos() * &t));
}

#[test]
fn c48_per_sample_gradients() {
    let mut r = rng(48);
    let (w, x, t) = (
        rand(&mut r, &[16, 2]),
        rand(&mut r, &[64, 16]),
        rand(&mut r, &[64, 2]),
    );
    let loss = |(w, x, t): (Tensor, Tensor, Tensor)| {
        let e = &x.matmul(&w) - &t;
        (&e * &e).sum()
    };
    let per_sample = vmap_with(grad(loss), VmapOpts::new().in_dims((UNMAPPED, 0, 0)))((
        w.clone(),
        x.clone(),
        t.clone(),
    ));
    assert_eq!(per_sample.shape(), &[64, 16, 2]);
    let looped: Vec<Tensor> = (0..64)
        .map(|i| grad(loss)((w.clone(), x.select(0, i), t.select(0, i))))
        .collect();
    close(&per_sample, &cotangent::stack(&looped, 0));
    // JAX's variant: a 2-layer tanh MLP with a list of (W, b) parameters.
    type Params = Vec<(Tensor, Tensor)>;
    let params: Params = vec![
        (rand(&mut r, &[2, 3]), rand(&mut r, &[2])),
        (rand(&mut r, &[4, 2]), rand(&mut r, &[4])),
    ];
    let (inputs, targets) = (rand(&mut r, &[5, 3]), rand(&mut r, &[5, 4]));
    let mlp_loss = |(params, x, y): (Params, Tensor, Tensor)| {
        let mut h = x;
        for (wi, bi) in &params {
            h = (&wi.matmul(&h) + bi).tanh();
        }
        let e = &h - &y;
        (&e * &e).sum()
    };
    let grads: Params = vmap_with(grad(mlp_loss), VmapOpts::new().in_dims((UNMAPPED, 0, 0)))((
        params.clone(),
        inputs,
        targets,
    ));
    for ((gw, gb), (w, b)) in grads.iter().zip(&params) {
        let mut ws = vec![5];
        ws.extend_from_slice(w.shape());
        assert_eq!(gw.shape(), ws.as_slice());
        assert_eq!(gb.shape(), &[5, b.shape()[0]]);
    }
}

#[test]
fn c49_vjp_grad_mixtures() {
    let mut r = rng(49);
    let x = rand(&mut r, &[3]);
    let sin = |x: Tensor| x.sin();
    let g: Tensor = grad(|x: Tensor| vjp(sin, x.clone()).1.call::<Tensor>(x).sum())(x.clone());
    close(&g, &(&x.cos() - &(&x * &x.sin())));
    let (sx, y) = (s(0.3), s(1.3));
    let (_, f) = vjp(grad(sin), sx.clone());
    close(&f.call::<Tensor>(y.clone()), &(&-&y * &sx.sin()));
    let g: Tensor = grad(|y: Tensor| vjp(sin, sx.clone()).1.call::<Tensor>(y))(y.clone());
    close(&g, &sx.cos());
    let g: Tensor = grad(|y: Tensor| {
        vjp(grad(|x: Tensor| -x.cos()), sx.clone())
            .1
            .call::<Tensor>(y)
    })(y.clone());
    close(&g, &sx.cos());
    let (_, vjp_fn) = vjp(sin, x.clone());
    let (out, _) = vjp(|x: Tensor| vjp_fn.call::<Tensor>(x), x.clone());
    close(&out, &(&x * &x.cos()));
}

#[test]
fn c50_vmap_over_vjp_with_unbatched_cotangent() {
    let mut r = rng(50);
    let (x, v) = (rand(&mut r, &[3, 5]), rand(&mut r, &[5]));
    let f = |(x, v): (Tensor, Tensor)| vjp(|x: Tensor| x.log_softmax(-1), x).1.call::<Tensor>(v);
    let out = vmap_with(f, VmapOpts::new().in_dims((0, UNMAPPED)))((x.clone(), v.clone()));
    // Reference backward of log_softmax: v - softmax(x) * sum(v).
    let expected = &v.expand(&[3, 5]) - &(&x.softmax(-1) * &v.sum());
    close(&out, &expected);
}

// ---------------------------------------------------------------- F. Jacobians, Hessians

#[test]
fn c51_elementwise_jacobians() {
    let mut r = rng(51);
    let x = rand(&mut r, &[3]);
    let jr: Tensor = jacrev(|x: Tensor| x.sin())(x.clone());
    let jf: Tensor = jacfwd(|x: Tensor| x.sin())(x.clone());
    close(&jr, &diag(&x.cos()));
    close(&jf, &diag(&x.cos()));
    let x2 = rand(&mut r, &[2, 3]);
    let expected = diag(&x2.cos().flatten(0, -1)).reshape(&[2, 3, 2, 3]);
    let jr: Tensor = jacrev(|x: Tensor| x.sin())(x2.clone());
    let jf: Tensor = jacfwd(|x: Tensor| x.sin())(x2.clone());
    close(&jr, &expected);
    close(&jf, &expected);
    let xb = rand(&mut r, &[64, 5]);
    let jb: Tensor = vmap(jacrev::<Tensor, Tensor, Tensor, _>(|x: Tensor| x.sin()))(xb.clone());
    assert_eq!(jb.shape(), &[64, 5, 5]);
    let jb: Tensor = vmap(jacfwd::<Tensor, Tensor, Tensor, _>(|x: Tensor| x.sin()))(xb);
    assert_eq!(jb.shape(), &[64, 5, 5]);
}

#[test]
fn c52_shapes_and_rank_edge_cases() {
    let id = |x: Tensor| x;
    let j: Tensor = jacrev(id)(s(2.0));
    assert_eq!(j.shape(), &[] as &[usize]);
    close(&j, &s(1.0));
    let j: Tensor = jacfwd(id)(Tensor::new([2.0f64]));
    close(&j, &Tensor::new([[1.0f64]]));
    let x = rand(&mut rng(52), &[2, 4]);
    let f = |x: Tensor| x.select(0, 0).slice(0, 1, 4, 1).unsqueeze(-1);
    for j in [
        jacrev::<_, _, Tensor, _>(f)(x.clone()),
        jacfwd::<_, _, Tensor, _>(f)(x.clone()),
    ] {
        assert_eq!(j.shape(), &[3, 1, 2, 4]);
        for i in 0..3 {
            assert_eq!(
                j.select(0, i as isize)
                    .select(0, 0)
                    .select(0, 0)
                    .select(0, i as isize + 1)
                    .item::<f64>(),
                1.0
            );
        }
        assert_eq!(j.sum().item::<f64>(), 3.0);
    }
    let stack3 = |x: Tensor| cotangent::stack(&[x.clone(), x.clone(), x], 0);
    let j: Tensor = jacrev(stack3)(s(1.0));
    close(&j, &Tensor::new([1.0f64, 1.0, 1.0]));
    let (a, b) = (rand(&mut rng(53), &[3]), rand(&mut rng(54), &[3]));
    let g = |(x, y): (Tensor, Tensor)| (x.sum(), y.sum(), &x * &y);
    let (j0, j1, j2): (Tensor, Tensor, Tensor) = jacrev(g)((a.clone(), b.clone()));
    close(&j0, &a.ones_like());
    close(&j1, &a.zeros_like());
    close(&j2, &diag(&b));
}

#[test]
fn c53_argnums_and_output_structure() {
    let mut r = rng(53);
    let (x, y) = (rand(&mut r, &[3]), rand(&mut r, &[3]));
    let f = |(x, y): (Tensor, Tensor)| (&(&x * 2.0) + &(&y * 3.0), &(&x * 4.0) + &(&y * 5.0));
    let i3 = eye(3);
    for jac in [0, 1] {
        let ((a, b), (c, d)): ((Tensor, Tensor), (Tensor, Tensor)) = if jac == 0 {
            jacrev_with(f, JacrevOpts::new().argnums((0, 1)))((x.clone(), y.clone()))
        } else {
            jacfwd_with(f, JacfwdOpts::new().argnums((0, 1)))((x.clone(), y.clone()))
        };
        close(&a, &(&i3 * 2.0));
        close(&b, &(&i3 * 3.0));
        close(&c, &(&i3 * 4.0));
        close(&d, &(&i3 * 5.0));
        let (a, c): (Tensor, Tensor) = if jac == 0 {
            jacrev_with(f, JacrevOpts::new())((x.clone(), y.clone()))
        } else {
            jacfwd_with(f, JacfwdOpts::new())((x.clone(), y.clone()))
        };
        close(&a, &(&i3 * 2.0));
        close(&c, &(&i3 * 4.0));
        let ((a,), (c,)): ((Tensor,), (Tensor,)) = if jac == 0 {
            jacrev_with(f, JacrevOpts::new().argnums((0,)))((x.clone(), y.clone()))
        } else {
            jacfwd_with(f, JacfwdOpts::new().argnums((0,)))((x.clone(), y.clone()))
        };
        close(&a, &(&i3 * 2.0));
        close(&c, &(&i3 * 4.0));
    }
    let fd = |(x, y): (Tensor, Tensor)| -> Foo {
        [
            ("left".to_string(), &x * 2.0),
            ("right".to_string(), &y * 3.0),
        ]
        .into()
    };
    let j: BTreeMap<String, (Tensor, Tensor)> =
        jacrev_with(fd, JacrevOpts::new().argnums((0, 1)))((x.clone(), y.clone()));
    close(&j["left"].0, &(&i3 * 2.0));
    close(&j["right"].1, &(&i3 * 3.0));
    type In = ((Tensor, Tensor), Tensor, Tensor);
    let g = |((a0, a1), b, c): In| -> (Tensor, Foo) {
        (
            &a0 + &(&a1 * 2.0),
            [("foo".to_string(), &(&b * 3.0) + &(&c * 4.0))].into(),
        )
    };
    let args = || ((s(1.0), s(1.0)), s(1.0), s(1.0));
    let ((j0, j1), foo): ((Tensor, Tensor), BTreeMap<String, (Tensor, Tensor)>) = jacrev(g)(args());
    close(&j0, &s(1.0));
    close(&j1, &s(2.0));
    close(&foo["foo"].0, &s(0.0));
    close(&foo["foo"].1, &s(0.0));
    type Both = ((Tensor, Tensor), Tensor);
    let (((j0, j1), jb), foo): (Both, BTreeMap<String, Both>) =
        jacrev_with(g, JacrevOpts::new().argnums((0, 1)))(args());
    close(&j0, &s(1.0));
    close(&j1, &s(2.0));
    close(&jb, &s(0.0));
    close(&foo["foo"].1, &s(3.0));
    let x23 = rand(&mut r, &[2, 3]);
    let (jx, jy): (Tensor, Tensor) = jacrev_with(
        |(x, _y): (Tensor, Tensor)| x,
        JacrevOpts::new().argnums((0, 1)),
    )((x23.clone(), x23.clone()));
    close(&jx, &eye(6).reshape(&[2, 3, 2, 3]));
    close(&jy, &Tensor::zeros_dtype(&[2, 3, 2, 3], DType::F64));
}

#[test]
fn c54_hessians() {
    let mut r = rng(54);
    let x = rand(&mut r, &[3]);
    let f = |x: Tensor| x.sin().sum();
    let expected = diag(&-x.sin());
    let rr: Tensor = jacrev(jacrev::<_, _, Tensor, _>(f))(x.clone());
    close(&rr, &expected);
    let fr: Tensor = jacfwd(jacrev::<_, _, Tensor, _>(f))(x.clone());
    close(&fr, &expected);
    let ff: Tensor = jacfwd(jacfwd::<_, _, Tensor, _>(f))(x.clone());
    close(&ff, &expected);
    let a = rand(&mut r, &[4, 4]);
    let x4 = rand(&mut r, &[4]);
    let h: Tensor = hessian(|x: Tensor| x.dot(&a.matmul(&x)))(x4);
    close(&h, &(&a + &a.t()));
    let w = rand(&mut r, &[5, 3]);
    let h: Tensor = jacrev(jacrev::<_, _, Tensor, _>(|x: Tensor| w.matmul(&x)))(x.clone());
    close(&h, &Tensor::zeros_dtype(&[5, 3, 3], DType::F64));
    let h: Tensor = hessian(|x: Tensor| (&x * &x).sum())(x.clone());
    close(&h, &(&eye(3) * 2.0));
    let c = s(2.0);
    let h: Tensor = hessian(|_x: Tensor| c.clone())(x.clone());
    close(&h, &Tensor::zeros_dtype(&[3, 3], DType::F64));
}

#[test]
fn c55_mixed_argnum_hessian_shapes() {
    let mut r = rng(55);
    let (x, u) = (rand(&mut r, &[5]), rand(&mut r, &[2]));
    let f = |(x, u): (Tensor, Tensor)| &dot(&x, &x) + &dot(&u, &u);
    let args = || (x.clone(), u.clone());
    for (inner, outer, shape) in [
        (0, 0, [5, 5]),
        (1, 1, [2, 2]),
        (1, 0, [2, 5]),
        (0, 1, [5, 2]),
    ] {
        let rev = |a: i32| JacrevOpts::new().argnums(a);
        let fwd = |a: i32| JacfwdOpts::new().argnums(a);
        let h1: Tensor =
            jacrev_with(jacrev_with::<_, _, Tensor, _>(f, rev(inner)), rev(outer))(args());
        let h2: Tensor =
            jacfwd_with(jacrev_with::<_, _, Tensor, _>(f, rev(inner)), fwd(outer))(args());
        let h3: Tensor =
            jacrev_with(jacfwd_with::<_, _, Tensor, _>(f, fwd(inner)), rev(outer))(args());
        let h4: Tensor =
            jacfwd_with(jacfwd_with::<_, _, Tensor, _>(f, fwd(inner)), fwd(outer))(args());
        for h in [h1, h2, h3, h4] {
            // J(J(f, inner), outer) is shaped [inner input..., outer input...].
            assert_eq!(h.shape(), &shape);
        }
    }
}

#[test]
fn c56_batched_hessian_equivalence() {
    let mut r = rng(56);
    let a = rand(&mut r, &[8, 2, 2]);
    let x = rand(&mut r, &[8, 100, 2]);
    let loss = |(a, x1, x2): (Tensor, Tensor, Tensor)| {
        let e = &x2 - &a.matmul(&x1.t()).t();
        (&e * &e).sum()
    };
    let h1: Tensor = vmap(jacrev::<_, _, Tensor, _>(jacrev::<_, _, DynTree, _>(loss)))((
        a.clone(),
        x.clone(),
        x.clone(),
    ));
    let h2: Tensor = vmap(hessian::<_, Tensor, _>(loss))((a, x.clone(), x));
    close_tol(&h1, &h2, 1e-8, 1e-8);
}

#[test]
fn c57_tie_semantics() {
    let x = Tensor::new([-1.0f64, -0.5, 0.0, 0.5, 1.0]);
    let h: Tensor = hessian(|x: Tensor| {
        let m = x.maximum(&x.zeros_like());
        (&m * &m).sum()
    })(x);
    close(&h, &diag(&Tensor::new([0.0f64, 0.0, 0.5, 2.0, 2.0])));
    let g: Tensor = grad(|x: Tensor| x.relu().sum())(s(0.0));
    close(&g, &s(0.0));
}

#[test]
fn c58_jacrev_chunking_and_aux() {
    let mut r = rng(58);
    let (x, y) = (rand(&mut r, &[10, 2]), rand(&mut r, &[1, 2]));
    let f = |(x, y): (Tensor, Tensor)| ((x.sin(), &x + &y), (&x + 2.0, x.sum()));
    let reference: DynTree =
        jacrev_with(f, JacrevOpts::new().argnums((0, 1)))((x.clone(), y.clone()));
    // 61 output elements: chunks that do not divide them, 1, one short, exact, past the end.
    for k in [1, 2, 3, 4, 7, 10, 60, 61, 62, 1000] {
        let chunked: DynTree =
            jacrev_with(f, JacrevOpts::new().argnums((0, 1)).chunk_size(k))((x.clone(), y.clone()));
        assert_eq!(chunked.def, reference.def);
        for (a, b) in chunked.leaves.iter().zip(&reference.leaves) {
            close(a, b);
        }
    }
    // 12 output elements in leaves of two dtypes (each chunk's rows of the basis take their
    // leaf's dtype), chunked every way, against the Jacobian by hand.
    let x6 = rand(&mut r, &[6]);
    let mixed = |x: Tensor| (x.sin(), (&x * 2.0).to_dtype(DType::F32));
    for k in [1, 2, 3, 4, 5, 6, 7, 11, 12, 13, 100] {
        let (j_sin, j_f32): (Tensor, Tensor) =
            jacrev_with(mixed, JacrevOpts::new().chunk_size(k))(x6.clone());
        close(&j_sin, &diag(&x6.cos()));
        close(&j_f32, &(&eye(6) * 2.0));
    }
    panics_with(
        || {
            drop(jacrev_with::<_, _, DynTree, _>(
                f,
                JacrevOpts::new().chunk_size(0),
            )((x.clone(), y.clone())))
        },
        "jacrev: chunk_size should be greater than 0.",
    );
    let g = |x: Tensor| x.sin().sum_dim(&[-1], false);
    let chunked: Tensor = vmap(jacrev_with::<_, _, Tensor, _>(
        jacrev_with::<_, _, Tensor, _>(g, JacrevOpts::new().chunk_size(3)),
        JacrevOpts::new().chunk_size(3),
    ))(x.clone());
    let plain: Tensor = vmap(jacrev::<_, _, Tensor, _>(jacrev::<_, _, Tensor, _>(g)))(x.clone());
    close(&chunked, &plain);
    let x3 = rand(&mut r, &[3]);
    let aux_f = |x: Tensor| (x.clone(), x.cos());
    let (j, aux): (Tensor, Tensor) =
        jacrev_with(aux_f, JacrevOpts::new().has_aux(true))(x3.clone());
    close(&j, &eye(3));
    close(&aux, &x3.cos());
    let (j, aux): (Tensor, Tensor) =
        jacfwd_with(aux_f, JacfwdOpts::new().has_aux(true))(x3.clone());
    close(&j, &eye(3));
    close(&aux, &x3.cos());
    let nested = |x: Tensor| {
        let inner = |x: Tensor| {
            let c = &(&x * &x) * &x;
            (c.clone(), vec![c])
        };
        let (_, aux): (Tensor, Vec<Tensor>) =
            jacrev_with(inner, JacrevOpts::new().has_aux(true))(x);
        aux[0].clone()
    };
    let j: Tensor = jacrev(nested)(s(4.0));
    close(&j, &s(48.0));
    let _ = hessian_with::<_, Tensor, DynTree, _>(
        |(x, _y): (Tensor, Tensor)| x.sum(),
        HessianOpts::new().argnums(0),
    );
}

// ---------------------------------------------------------------- G. functional_call / stack_module_state

/// The module of torch's tied-weights test: `x + foo + foo_tied`, where `foo_tied` is `foo`.
#[derive(Clone)]
struct Tied {
    foo: Tensor,
    foo_tied: Tensor,
    training: bool,
}

impl nn::Module for Tied {
    fn type_name(&self) -> &'static str {
        "Tied"
    }
    fn try_forward(&self, x: &Tensor) -> cotangent::Result<Tensor> {
        Ok(&(x + &self.foo) + &self.foo_tied)
    }
    cotangent::module_tensors!(Parameter foo, Parameter foo_tied);
    cotangent::module_training_flag!();
}

#[test]
fn c59_functional_call() {
    manual_seed(59);
    let m = nn::Linear::new(3, 3);
    let mut r = rng(59);
    let (x, t) = (rand(&mut r, &[4, 3]), rand(&mut r, &[4, 3]));
    let (w, b) = (rand(&mut r, &[3, 3]), rand(&mut r, &[3]));
    let params: BTreeMap<String, Tensor> = [
        ("weight".to_string(), w.clone()),
        ("bias".to_string(), b.clone()),
    ]
    .into();
    // The forward with the given tensors, not the module's own.
    let y = nn::functional_call(&m, &params, &x);
    close(&y, &(&x.matmul(&w.t()) + &b));

    // grad through functional_call: mse = mean((xWᵀ + b - t)²) over 12 elements.
    let g: BTreeMap<String, Tensor> =
        grad(|p: BTreeMap<String, Tensor>| mse_loss(&nn::functional_call(&m, &p, &x), &t))(
            params.clone(),
        );
    let dy = (&y - &t) * (2.0 / 12.0);
    close(&g["weight"], &dy.t().matmul(&x));
    close(&g["bias"], &dy.sum_dim(&[0], false));

    // Two dicts, as (params, buffers) are passed; here weight and bias split.
    let wd: BTreeMap<String, Tensor> = [("weight".to_string(), w.clone())].into();
    let bd: BTreeMap<String, Tensor> = [("bias".to_string(), b.clone())].into();
    close(&nn::functional_call(&m, (&wd, &bd), &x), &y);
    close(
        &nn::functional_call(&m, (&params, &m.named_buffers()), &x),
        &y,
    );

    // The same key in two dicts.
    panics_with(
        || {
            nn::functional_call(&m, (&params, &bd), &x);
        },
        "['bias'] appeared in multiple dictionaries; behavior of functional call is ambiguous",
    );
    // strict with a missing key.
    let msg = panic_message(|| {
        nn::functional_call_with(&m, &wd, &x, nn::CallOpts::new().strict(true));
    });
    assert!(
        msg.contains("Error(s) in reparametrizing for Linear:")
            && msg.contains("Missing key(s): 'bias'."),
        "{msg}"
    );
    // Not strict: the missing bias is the module's own.
    close(
        &nn::functional_call(&m, &wd, &x),
        &(&x.matmul(&w.t()) + m.bias.as_ref().unwrap()),
    );

    // Tied weights: foo and foo_tied are one tensor, both 1.
    let one = s(1.0);
    let tied = Tied {
        foo: one.clone(),
        foo_tied: one,
        training: true,
    };
    let zero = s(0.0);
    let given: BTreeMap<String, Tensor> = [("foo".to_string(), zero.clone())].into();
    close(&nn::functional_call(&tied, &given, &zero), &zero);
    let untied =
        nn::functional_call_with(&tied, &given, &zero, nn::CallOpts::new().tie_weights(false));
    close(&untied, &s(1.0));
    // Different values for tied names.
    let both: BTreeMap<String, Tensor> = [
        ("foo".to_string(), zero.clone()),
        ("foo_tied".to_string(), s(2.0)),
    ]
    .into();
    panics_with(
        || {
            nn::functional_call(&tied, &both, &zero);
        },
        "functional_call got multiple values for keys ['foo', 'foo_tied'], which are tied",
    );
    // The module itself is untouched.
    close(&tied.forward(&zero), &s(2.0));
}

/// Two linear layers named like torch's `self.l1`, `self.l2`.
#[derive(Clone)]
struct TwoLayer {
    l1: nn::Linear,
    l2: nn::Linear,
    training: bool,
}

impl nn::Module for TwoLayer {
    fn type_name(&self) -> &'static str {
        "TwoLayer"
    }
    fn try_forward(&self, x: &Tensor) -> cotangent::Result<Tensor> {
        self.l2.try_forward(&self.l1.try_forward(x)?.relu())
    }
    cotangent::module_children!(l1, l2);
    cotangent::module_training_flag!();
}

#[test]
fn c60_ensembles() {
    manual_seed(60);
    let models: Vec<nn::Linear> = (0..5).map(|_| nn::Linear::new(3, 3)).collect();
    let data = Tensor::randn(&[64, 3]);
    let (p, b) = nn::stack_module_state(&models);
    assert!(p.values().all(|t| t.shape()[0] == 5));
    let base = models[0].clone();
    let out: Tensor = vmap_with(
        |(p, b, x): (BTreeMap<String, Tensor>, BTreeMap<String, Tensor>, Tensor)| {
            nn::functional_call(&base, (&p, &b), &x)
        },
        VmapOpts::new().in_dims((0, 0, UNMAPPED)),
    )((p, b, data.clone()));
    assert_eq!(out.shape(), &[5, 64, 3]);
    let expected: Vec<Tensor> = models.iter().map(|m| m.forward(&data)).collect();
    close_tol(&out, &cotangent::stack(&expected, 0), 1e-5, 1e-6);

    // Nested module keys.
    let two: Vec<TwoLayer> = (0..2)
        .map(|_| TwoLayer {
            l1: nn::Linear::new(3, 4),
            l2: nn::Linear::new(4, 3),
            training: true,
        })
        .collect();
    let (p2, _) = nn::stack_module_state(&two);
    let keys: Vec<&str> = p2.keys().map(String::as_str).collect();
    assert_eq!(keys, ["l1.bias", "l1.weight", "l2.bias", "l2.weight"]);
    assert_eq!(p2["l1.weight"].shape(), &[2, 4, 3]);

    // Errors: no models, mixed train/eval, mixed classes.
    let none: Vec<nn::Linear> = Vec::new();
    panics_with(
        || {
            nn::stack_module_state(&none);
        },
        "Expected at least one model, got 0.",
    );
    let mut mixed = models.clone();
    mixed[1].eval();
    panics_with(
        || {
            nn::stack_module_state(&mixed);
        },
        "Expected all models to have the same training/eval mode.",
    );
    let classes: Vec<Box<dyn nn::Module>> = vec![
        Box::new(nn::Linear::new(3, 3)),
        Box::new(nn::Sequential::new().push(nn::Linear::new(3, 3))),
    ];
    panics_with(
        || {
            nn::stack_module_state(&classes);
        },
        "Expected all models to be of the same class.",
    );
}
