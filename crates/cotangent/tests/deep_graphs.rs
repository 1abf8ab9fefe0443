//! Deep reverse-mode graphs never overflow the stack (issue 8, item 1).
//!
//! Each transform runs on a chain of `depth` elementwise ops (`sin` applied `depth` times),
//! once on the main thread and once on a spawned thread with a 2 MiB stack (the default of
//! `std::thread::spawn`). Building, walking and dropping the graph must take constant stack:
//! a recursive drop of the node chain overflowed at about 100k ops on the main thread and 20k
//! on a 2 MiB thread in release builds (below 20k everywhere in debug), which aborts the
//! process (a stack overflow cannot be caught). A panic raised after such a chain must
//! unwind cleanly and leave the library usable. (`grad` alone never overflowed: it frees
//! each node as its backward walk passes it; it is here so that stays true.)
//!
//! Every result is checked against a plain f64 loop, so a test that runs also computes the
//! right numbers. `harness = false` with one test thread, because libtest would run every
//! test on a thread of its own and never on the main thread.
//!
//! The depth is 1,000,000 in release builds and 50,000 in debug ones (where every other case
//! overflowed before the fix, and which keeps `cargo test` in debug near 30 s of CPU);
//! `COTANGENT_DEEP_GRAPH_DEPTH` overrides it. `.ci/run` runs this binary in release, so CI
//! checks the full million.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Instant;

use cotangent::{Tensor, grad, hessian, jacrev, vjp};
use libtest_mimic::{Arguments, Failed, Trial};

/// The primal the chains start from: two elements, so Jacobians and Hessians are 2 x 2.
const X0: [f64; 2] = [0.7, -1.3];

/// `sin` applied `depth` times, elementwise.
fn chain(x: Tensor, depth: usize) -> Tensor {
    let mut y = x;
    for _ in 0..depth {
        y = y.sin();
    }
    y
}

/// The value, first and second derivative of `sin` applied `depth` times to `x`, by
/// forward recurrences in plain f64.
fn reference(x: f64, depth: usize) -> (f64, f64, f64) {
    let (mut v, mut d1, mut d2) = (x, 1.0, 0.0);
    for _ in 0..depth {
        let (s, c) = v.sin_cos();
        (v, d1, d2) = (s, c * d1, c * d2 - s * d1 * d1);
    }
    (v, d1, d2)
}

fn x0() -> Tensor {
    Tensor::new(X0)
}

fn check_close(what: &str, got: &[f64], want: &[f64]) -> Result<(), Failed> {
    let close = got.len() == want.len()
        && got
            .iter()
            .zip(want)
            .all(|(g, w)| (g - w).abs() <= 1e-9 * w.abs().max(1e-300) + 1e-300);
    if close {
        Ok(())
    } else {
        Err(format!("{what}: got {got:?}, want {want:?}").into())
    }
}

/// The 2 x 2 diagonal matrix with `d` on its diagonal, row-major.
fn diagonal(d: [f64; 2]) -> Vec<f64> {
    vec![d[0], 0.0, 0.0, d[1]]
}

fn values(depth: usize) -> [f64; 2] {
    X0.map(|x| reference(x, depth).0)
}

fn first_derivatives(depth: usize) -> [f64; 2] {
    X0.map(|x| reference(x, depth).1)
}

fn second_derivatives(depth: usize) -> [f64; 2] {
    X0.map(|x| reference(x, depth).2)
}

/// `vjp` traces the chain and its `vjp_fn` is dropped without being called.
fn vjp_then_drop_unused(depth: usize) -> Result<(), Failed> {
    let (y, vjp_fn) = vjp(|x: Tensor| chain(x, depth), x0());
    drop(vjp_fn);
    check_close("vjp output", &y.to_vec::<f64>(), &values(depth))
}

/// `vjp_fn.call` walks the whole chain back; then the `vjp_fn` is dropped.
fn vjp_fn_call(depth: usize) -> Result<(), Failed> {
    let (y, vjp_fn) = vjp(|x: Tensor| chain(x, depth), x0());
    let ct: Tensor = vjp_fn.call(Tensor::ones_like(&y));
    // Called twice: the first walk must leave the graph intact.
    let again: Tensor = vjp_fn.call(Tensor::ones_like(&y));
    drop(vjp_fn);
    check_close(
        "vjp_fn.call",
        &ct.to_vec::<f64>(),
        &first_derivatives(depth),
    )?;
    check_close(
        "second vjp_fn.call",
        &again.to_vec::<f64>(),
        &first_derivatives(depth),
    )
}

fn grad_of_chain(depth: usize) -> Result<(), Failed> {
    let g = grad(|x: Tensor| chain(x, depth).sum())(x0());
    check_close("grad", &g.to_vec::<f64>(), &first_derivatives(depth))
}

fn jacrev_of_chain(depth: usize) -> Result<(), Failed> {
    let j: Tensor = jacrev(|x: Tensor| chain(x, depth))(x0());
    check_close(
        "jacrev",
        &j.to_vec::<f64>(),
        &diagonal(first_derivatives(depth)),
    )
}

/// `grad` of a function that also builds a deep chain it never uses: the chain is not on
/// the backward walk and is dropped when the function returns.
fn grad_with_unused_deep_branch(depth: usize) -> Result<(), Failed> {
    let g = grad(|x: Tensor| {
        let _unused = chain(x.clone(), depth);
        x.sin().sum()
    })(x0());
    check_close("grad", &g.to_vec::<f64>(), &X0.map(f64::cos))
}

/// `grad` of a function that calls a deep `vjp_fn` (second order): the inner graph's
/// residuals are tracers of the outer `grad` holding nodes of the outer graph, and the inner
/// graph is dropped inside the outer frame when the function returns. The chain is
/// elementwise, so this is each element's second derivative.
fn grad_of_vjp_fn_call(depth: usize) -> Result<(), Failed> {
    let g = grad(|x: Tensor| {
        let (y, vjp_fn) = vjp(|x: Tensor| chain(x, depth), x);
        let ct: Tensor = vjp_fn.call(Tensor::ones_like(&y));
        ct.sum()
    })(x0());
    check_close(
        "grad of vjp_fn.call",
        &g.to_vec::<f64>(),
        &second_derivatives(depth),
    )
}

/// `hessian` = jacfwd(jacrev): the reverse-mode graph's residuals are tracers of the
/// forward-mode and batching frames around it.
fn hessian_of_chain(depth: usize) -> Result<(), Failed> {
    let h: Tensor = hessian(|x: Tensor| chain(x, depth).sum())(x0());
    check_close(
        "hessian",
        &h.to_vec::<f64>(),
        &diagonal(second_derivatives(depth)),
    )
}

/// The library works normally after a caught panic: eager ops and a fresh `grad`.
fn still_usable() -> Result<(), Failed> {
    let x = x0();
    if !x.sin().is_concrete() {
        return Err("an eager op returned a tracer: a transform frame was left live".into());
    }
    let g = grad(|x: Tensor| x.sin().sum())(x.clone());
    check_close(
        "grad after the panic",
        &g.to_vec::<f64>(),
        &X0.map(f64::cos),
    )
}

const PANIC_MESSAGE: &str = "deliberate panic after a deep chain";

fn expect_deliberate_panic(result: std::thread::Result<()>) -> Result<(), Failed> {
    let Err(payload) = result else {
        return Err("the closure was expected to panic".into());
    };
    match payload.downcast_ref::<&str>() {
        Some(&m) if m == PANIC_MESSAGE => Ok(()),
        _ => Err("the closure panicked with another message".into()),
    }
}

/// A panic inside `grad`'s function after the chain was built: unwinding drops the traced
/// chain while the frame is popped.
fn panic_inside_grad(depth: usize) -> Result<(), Failed> {
    let result = catch_unwind(AssertUnwindSafe(|| {
        let _ = grad(|x: Tensor| {
            let y = chain(x, depth).sum();
            if y.dim() == 0 {
                std::panic::panic_any(PANIC_MESSAGE);
            }
            y
        })(x0());
    }));
    expect_deliberate_panic(result)?;
    still_usable()
}

/// A panic while a deep `vjp_fn` is alive: unwinding drops it.
fn panic_with_live_vjp_fn(depth: usize) -> Result<(), Failed> {
    let result = catch_unwind(AssertUnwindSafe(|| {
        let (_y, vjp_fn) = vjp(|x: Tensor| chain(x, depth), x0());
        let _keep_alive = &vjp_fn;
        std::panic::panic_any(PANIC_MESSAGE);
    }));
    expect_deliberate_panic(result)?;
    still_usable()
}

/// One test: it runs the transform on a chain of the given depth.
type Case = fn(usize) -> Result<(), Failed>;

/// Run `case` on a fresh thread with a 2 MiB stack, the default of `std::thread::spawn`.
fn on_small_thread(case: Case, depth: usize) -> Result<(), Failed> {
    let handle = std::thread::Builder::new()
        .name("deep-graph-2mib".into())
        .stack_size(2 << 20)
        .spawn(move || case(depth))
        .map_err(|e| format!("could not spawn the test thread: {e}"))?;
    match handle.join() {
        Ok(result) => result,
        Err(payload) => std::panic::resume_unwind(payload),
    }
}

fn depth() -> usize {
    match std::env::var("COTANGENT_DEEP_GRAPH_DEPTH") {
        Ok(s) => s
            .parse()
            .unwrap_or_else(|_| panic!("COTANGENT_DEEP_GRAPH_DEPTH={s:?} is not a number")),
        Err(_) if cfg!(debug_assertions) => 50_000,
        Err(_) => 1_000_000,
    }
}

fn main() {
    let mut args = Arguments::from_args();
    // One test thread: libtest-mimic then runs every test on the main thread itself.
    args.test_threads = Some(1);
    let depth = depth();
    // The deliberate panics would otherwise print a backtrace note per case.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if info.payload().downcast_ref::<&str>() != Some(&PANIC_MESSAGE) {
            default_hook(info);
        }
    }));
    let cases: [(&str, Case); 9] = [
        ("vjp_then_drop_unused_vjp_fn", vjp_then_drop_unused),
        ("vjp_fn_call", vjp_fn_call),
        ("grad", grad_of_chain),
        ("grad_with_unused_deep_branch", grad_with_unused_deep_branch),
        ("grad_of_vjp_fn_call", grad_of_vjp_fn_call),
        ("jacrev", jacrev_of_chain),
        ("hessian", hessian_of_chain),
        ("panic_inside_grad_unwinds", panic_inside_grad),
        ("panic_with_live_vjp_fn_unwinds", panic_with_live_vjp_fn),
    ];
    let mut trials = Vec::new();
    for (name, case) in cases {
        let timed = move |where_: &str, run: &dyn Fn() -> Result<(), Failed>| {
            let start = Instant::now();
            let result = run();
            eprintln!(
                "  {name} at depth {depth} on the {where_}: {:.2} s",
                start.elapsed().as_secs_f64()
            );
            result
        };
        trials.push(Trial::test(format!("{name}::main_thread"), move || {
            timed("main thread", &|| case(depth))
        }));
        trials.push(Trial::test(format!("{name}::thread_2mib"), move || {
            timed("2 MiB thread", &|| on_small_thread(case, depth))
        }));
    }
    libtest_mimic::run(&args, trials).exit();
}
