//! Property tests of the transforms on random compositions of smooth ops (issue 3):
//! `jacfwd == jacrev`, Hessians are symmetric, `grad` / `hessian` agree with nested
//! `jacrev`, and `vmap(f)(xs)[i] == f(xs[i])`.
//!
//! Those properties only compare the transforms with each other, so the file also checks
//! `jacrev` against central finite differences, which catches a derivative rule that is
//! wrong the same way in forward and reverse mode.
//!
//! A case is a vector `x` of length 2-5 with entries in [-1, 1] and a chain of 1-5
//! [`Step`]s, each smooth and well-conditioned on the values the chain can reach.

use cotangent::{Tensor, VmapOpts, grad, hessian, jacfwd, jacrev, softplus, vmap, vmap_with};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

/// One op of a random composition, applied to a vector of length `n`.
#[derive(Clone, Debug)]
enum Step {
    Sin,
    Cos,
    Tanh,
    /// `(x * 0.3).exp()`.
    ScaledExp,
    /// `x * x`.
    Square,
    AddC(f64),
    MulC(f64),
    Sigmoid,
    Softplus,
    /// `x @ m` (`left == false`) or `m @ x` (`left == true`), `m` row-major `n x n`.
    MatMul {
        m: Vec<f64>,
        left: bool,
    },
    /// `(m @ outer(x, x) @ m).sum(0) / n`, with `outer(x, x) = x[:, None] @ x[None, :]`:
    /// matrix products whose traced operand has free dims on either side.
    Bilinear(Vec<f64>),
    /// `x.sum(-1)` broadcast back to `[n]` through `unsqueeze` and `expand`, over `n`.
    MeanBroadcast,
    /// `x.flip([-1])`.
    Reverse,
    /// `x.index_select(0, perm)`.
    Gather(Vec<i64>),
    /// `x.unsqueeze(-1).permute([1, 0]).reshape([-1])`.
    Transpose,
    /// `(x[:, None, None] * m[None]).permute([1, 2, 0]).sin().sum([0, 1]) / n`: a rank-3
    /// permutation that is not its own inverse.
    Permute3(Vec<f64>),
    /// `(x * x + 1).log()`.
    LogSquarePlusOne,
}

impl Step {
    fn apply(&self, x: &Tensor) -> Tensor {
        let n = *x.shape().last().expect("a vector");
        match self {
            Step::Sin => x.sin(),
            Step::Cos => x.cos(),
            Step::Tanh => x.tanh(),
            Step::ScaledExp => (x * 0.3).exp(),
            Step::Square => x * x,
            Step::AddC(c) => x + *c,
            Step::MulC(c) => x * *c,
            Step::Sigmoid => x.sigmoid(),
            Step::Softplus => softplus(x),
            Step::MatMul { m, left } => {
                let m = Tensor::from_vec(m.clone(), &[n, n]).expect("n x n");
                if *left { m.matmul(x) } else { x.matmul(&m) }
            }
            Step::Bilinear(m) => {
                let m = Tensor::from_vec(m.clone(), &[n, n]).expect("n x n");
                let outer = x.unsqueeze(-1).matmul(&x.unsqueeze(0));
                m.matmul(&outer).matmul(&m).sum_dim(&[0], false) / n as f64
            }
            Step::MeanBroadcast => {
                x.sum_dim(&[-1], false).unsqueeze(-1).expand(&[n as isize]) / n as f64
            }
            Step::Reverse => x.flip(&[-1]),
            Step::Gather(perm) => x.index_select(0, &Tensor::new(perm.clone())),
            Step::Transpose => x.unsqueeze(-1).permute(&[1, 0]).reshape(&[-1]),
            Step::Permute3(m) => {
                let m = Tensor::from_vec(m.clone(), &[1, n, n]).expect("n x n");
                let t = &x.reshape(&[-1, 1, 1]) * &m;
                t.permute(&[1, 2, 0]).sin().sum_dim(&[0, 1], false) / n as f64
            }
            Step::LogSquarePlusOne => (x * x + 1.0).log(),
        }
    }
}

/// The composition `f`: the steps in order, from a vector of length `n` to one.
fn apply(steps: &[Step], x: Tensor) -> Tensor {
    steps.iter().fold(x, |x, s| s.apply(&x))
}

/// The scalar version `g = f(x).sum()`, for `grad` and `hessian`.
fn apply_sum(steps: &[Step], x: Tensor) -> Tensor {
    apply(steps, x).sum()
}

fn step(n: usize) -> impl Strategy<Value = Step> {
    // Entries of `m` in [-1, 1] / sqrt(n), so `m` keeps magnitudes about where they are.
    let scale = 1.0 / (n as f64).sqrt();
    prop_oneof![
        Just(Step::Sin),
        Just(Step::Cos),
        Just(Step::Tanh),
        Just(Step::ScaledExp),
        Just(Step::Square),
        (-1.0..1.0f64).prop_map(Step::AddC),
        (-1.5..1.5f64).prop_map(Step::MulC),
        Just(Step::Sigmoid),
        Just(Step::Softplus),
        (
            prop::collection::vec((-1.0..1.0f64).prop_map(move |v| v * scale), n * n),
            any::<bool>()
        )
            .prop_map(|(m, left)| Step::MatMul { m, left }),
        prop::collection::vec((-1.0..1.0f64).prop_map(move |v| v * scale), n * n)
            .prop_map(Step::Bilinear),
        prop::collection::vec(-1.0..1.0f64, n * n).prop_map(Step::Permute3),
        Just(Step::MeanBroadcast),
        Just(Step::Reverse),
        Just((0..n as i64).collect::<Vec<_>>())
            .prop_shuffle()
            .prop_map(Step::Gather),
        Just(Step::Transpose),
        Just(Step::LogSquarePlusOne),
    ]
}

/// A vector length `n`, `rows` input vectors of that length in [-1, 1] (row-major), and 1-5
/// steps.
fn case(rows: usize) -> impl Strategy<Value = (usize, Vec<f64>, Vec<Step>)> {
    (2usize..=5).prop_flat_map(move |n| {
        (
            Just(n),
            prop::collection::vec(-1.0..=1.0f64, rows * n),
            prop::collection::vec(step(n), 1..=5),
        )
    })
}

const RTOL: f64 = 1e-9;

/// `a ≈ b` elementwise with `RTOL`, and an absolute floor of `RTOL` times the largest
/// magnitude in `b` (at least 1): the two sides sum the same terms in different orders, so
/// an entry that cancels to near zero is only exact up to the size of the terms.
fn check_close(what: &str, a: &Tensor, b: &Tensor) -> Result<(), TestCaseError> {
    prop_assert_eq!(a.shape(), b.shape(), "{}: shapes differ", what);
    let scale = b.to_vec::<f64>().iter().fold(1.0f64, |m, v| m.max(v.abs()));
    prop_assert!(
        a.to_vec::<f64>().iter().all(|v| v.is_finite()) && a.allclose(b, RTOL, RTOL * scale),
        "{}: not close:\n{}\n{}",
        what,
        a,
        b
    );
    Ok(())
}

/// The Jacobian of `f` at `x` by central differences, `[n_out, n]`.
fn finite_difference_jacobian(f: impl Fn(Tensor) -> Tensor, x: &[f64]) -> Tensor {
    const H: f64 = 1e-5;
    let n = x.len();
    let columns: Vec<Vec<f64>> = (0..n)
        .map(|j| {
            let at = |d: f64| {
                let mut v = x.to_vec();
                v[j] += d;
                f(vector(v, n)).to_vec::<f64>()
            };
            let (hi, lo) = (at(H), at(-H));
            hi.iter()
                .zip(&lo)
                .map(|(a, b)| (a - b) / (2.0 * H))
                .collect()
        })
        .collect();
    let m = columns[0].len();
    let data = (0..m)
        .flat_map(|i| columns.iter().map(move |c| c[i]))
        .collect();
    Tensor::from_vec(data, &[m, n]).expect("m x n")
}

fn vector(data: Vec<f64>, n: usize) -> Tensor {
    Tensor::from_vec(data, &[n]).expect("length n")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Forward- and reverse-mode Jacobians agree.
    #[test]
    fn jacfwd_equals_jacrev((n, data, steps) in case(1)) {
        let x = vector(data, n);
        let f = |x: Tensor| apply(&steps, x);
        let fwd: Tensor = jacfwd(f)(x.clone());
        let rev: Tensor = jacrev(f)(x);
        prop_assert_eq!(fwd.shape(), &[n, n]);
        check_close("jacfwd vs jacrev", &fwd, &rev)?;
    }

    /// `jacrev` agrees with central finite differences, to their accuracy: 1e-6 relative,
    /// with an absolute floor of 1e-6 times the largest of 1, the largest Jacobian entry and
    /// a thousandth of the largest `|f|` (the differences' round-off is about
    /// `2e-11 * |f|`).
    #[test]
    fn jacrev_matches_finite_differences((n, data, steps) in case(1)) {
        let f = |x: Tensor| apply(&steps, x);
        let rev: Tensor = jacrev(f)(vector(data.clone(), n));
        let fd = finite_difference_jacobian(f, &data);
        let fx = f(vector(data.clone(), n)).to_vec::<f64>();
        let largest = |v: &[f64]| v.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        let scale = largest(&fd.to_vec::<f64>()).max(1e-3 * largest(&fx)).max(1.0);
        prop_assert!(
            rev.allclose(&fd, 1e-6, 1e-6 * scale),
            "jacrev vs finite differences: not close:\n{}\n{}",
            rev,
            fd
        );
    }

    /// The Hessian of a scalar function is symmetric.
    #[test]
    fn hessian_is_symmetric((n, data, steps) in case(1)) {
        let x = vector(data, n);
        let h: Tensor = hessian(|x: Tensor| apply_sum(&steps, x))(x);
        prop_assert_eq!(h.shape(), &[n, n]);
        check_close("hessian vs its transpose", &h, &h.t())?;
    }

    /// `vmap(f)(xs)[i] == f(xs[i])`, batched along dim 0 and (on the transposed batch)
    /// along dim 1, and the same for per-example gradients `vmap(grad(g))`.
    #[test]
    fn vmap_matches_per_example((n, data, steps) in case(3)) {
        let xs = Tensor::from_vec(data, &[3, n]).expect("3 x n");
        let f = |x: Tensor| apply(&steps, x);
        let g = |x: Tensor| apply_sum(&steps, x);
        let out0 = vmap(f)(xs.clone());
        let out1 = vmap_with(f, VmapOpts::new().in_dims(1))(xs.t());
        let grads: Tensor = vmap(grad(g))(xs.clone());
        prop_assert_eq!(out0.shape(), &[3, n]);
        prop_assert_eq!(out1.shape(), &[3, n]);
        for i in 0..3 {
            let xi = xs.select(0, i);
            let yi = f(xi.clone());
            check_close(&format!("vmap(f)(xs)[{i}]"), &out0.select(0, i), &yi)?;
            check_close(&format!("vmap(f, in_dims=1)(xs.T)[{i}]"), &out1.select(0, i), &yi)?;
            let gi: Tensor = grad(g)(xi);
            check_close(&format!("vmap(grad(g))(xs)[{i}]"), &grads.select(0, i), &gi)?;
        }
    }

    /// `grad(g) == jacrev(g)` and `hessian(g) == jacrev(jacrev(g))`.
    #[test]
    fn grad_and_hessian_match_jacrev((n, data, steps) in case(1)) {
        let x = vector(data, n);
        let g = |x: Tensor| apply_sum(&steps, x);
        let gr: Tensor = grad(g)(x.clone());
        let jr: Tensor = jacrev(g)(x.clone());
        prop_assert_eq!(gr.shape(), &[n]);
        check_close("grad vs jacrev", &gr, &jr)?;
        let h: Tensor = hessian(g)(x.clone());
        let jj: Tensor = jacrev(|x: Tensor| -> Tensor { jacrev(g)(x) })(x);
        prop_assert_eq!(h.shape(), &[n, n]);
        check_close("hessian vs jacrev(jacrev)", &h, &jj)?;
    }
}
