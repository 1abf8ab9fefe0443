//! MAML (model-agnostic meta-learning) on sine-wave regression, with `grad` through an
//! inner SGD step and `vmap` over the tasks of a meta-batch.
//!
//! MAML (Finn, Abbeel and Levine, 2017) learns an initialisation from which a network fits a
//! new task after a few gradient steps on a handful of examples; it is the standard baseline
//! of few-shot learning and the classic use of second-order gradients. The meta-loss of a
//! task is the query-set loss *after* an inner SGD step on the support set,
//! `params' = params - alpha * grad(loss)(params, x_s, y_s)`, so its gradient
//! differentiates through a gradient: `grad` of a function that calls `grad`. The tasks of a
//! meta-batch are independent, so `vmap` runs them as one batched computation.
//!
//! This mirrors functorch's "MAML with functorch transforms"
//! (`functorch/examples/maml_regression/evjang_transforms.py`, after Eric Jang's JAX MAML
//! tutorial): an MLP 1 -> 40 -> 40 -> 1 with ReLU as a pure function of its parameters,
//! `vmap(get_loss_for_task)` over the meta-batch, Adam on the meta-parameters, then K-shot
//! adaptation to a new sine. Differences: amplitudes are U(0.1, 5) as in the MAML paper and
//! Eric Jang's tutorial (the functorch file uses U(0.1, 0.5)); K = 10 support and 10 query
//! points, a meta-batch of 25 tasks and inner step size 0.01 as in the paper; the parameters
//! are a `BTreeMap<String, Tensor>` with state-dict names (`"fc1.weight"`) initialised like
//! `nn.Linear`; 1000 meta-steps instead of 20000, so the run stays short.
//!
//! What it checks (any failure panics, so the process exits non-zero):
//! - the meta-gradient of a meta-batch computed by a loop over tasks (`grad` per task,
//!   averaged) equals `vmap(grad(task_loss), in_dims=(None, 0, 0, 0, 0))` averaged, and
//!   `grad` of the `vmap`ped mean loss (the original's formulation); timings of each;
//! - the meta-gradient is second order: it matches central finite differences of the
//!   meta-loss in f64 on a small network, and differs from first-order MAML (the inner
//!   gradient behind `stop_gradient`), whose distance to the exact one is printed;
//! - training works: the meta-loss on 100 held-out tasks falls below half its initial value;
//! - the learned initialisation adapts to new sines better than a random one, after the
//!   same K-shot SGD steps.
//!
//! Run with `cargo run --release --example maml_sine`.

use std::collections::BTreeMap;
use std::f64::consts::PI;
use std::time::Instant;

use cotangent::nn::optim::Adam;
use cotangent::{
    DType, Tensor, UNMAPPED, VmapOpts, grad, grad_and_value, linear, manual_seed, mse_loss, rand,
    vmap_with,
};

/// Parameters by state-dict name, as `nn::functional_call` will take them.
type Params = BTreeMap<String, Tensor>;
/// One task's arguments to the meta-loss: (meta-parameters, x_support, y_support, x_query,
/// y_query); the data are `[K, 1]`.
type TaskArgs = (Params, Tensor, Tensor, Tensor, Tensor);

/// The network of the original: 1 -> 40 -> 40 -> 1.
const WIDTHS: [usize; 4] = [1, 40, 40, 1];
/// Support points and query points per task (K-shot).
const K: usize = 10;
/// Tasks per meta-batch.
const META_BATCH: usize = 25;
/// Inner SGD step size (alpha).
const INNER_LR: f64 = 0.01;
/// Inner SGD steps inside the meta-loss.
const INNER_STEPS: usize = 1;
/// Adam step size on the meta-parameters.
const META_LR: f64 = 3e-3;
const META_STEPS: usize = 1000;
const PRINT_EVERY: usize = 100;

#[path = "common/device.rs"]
mod device;

fn main() {
    device::from_args();
    manual_seed(0);
    let params = init_mlp(&WIDTHS, DType::F32);
    let tasks = SineTasks::sample(META_BATCH, K, DType::F32);

    compare_meta_gradients(&params, &tasks);
    check_second_order();
    let trained = train(params);
    compare_adaptation(&trained);
    println!("maml_sine: all checks passed");
}

/// `nn.Linear`'s default initialisation for each layer: weight and bias U(-1/sqrt(fan_in),
/// 1/sqrt(fan_in)).
fn init_mlp(widths: &[usize], dtype: DType) -> Params {
    let mut params = Params::new();
    for (layer, pair) in widths.windows(2).enumerate() {
        let (fan_in, fan_out) = (pair[0], pair[1]);
        let bound = 1.0 / (fan_in as f64).sqrt();
        let uniform = |shape: &[usize]| rand(shape, dtype) * (2.0 * bound) - bound;
        params.insert(
            format!("fc{}.weight", layer + 1),
            uniform(&[fan_out, fan_in]),
        );
        params.insert(format!("fc{}.bias", layer + 1), uniform(&[fan_out]));
    }
    params
}

/// The MLP as a pure function of its parameters: linear layers with ReLU between them.
fn mlp(params: &Params, x: &Tensor) -> Tensor {
    let layers = params.len() / 2;
    let mut h = x.clone();
    for layer in 1..=layers {
        let weight = &params[format!("fc{layer}.weight").as_str()];
        let bias = &params[format!("fc{layer}.bias").as_str()];
        h = linear(&h, weight, Some(bias));
        if layer < layers {
            h = h.relu();
        }
    }
    h
}

/// A batch of sine tasks `y = A sin(x + phase)`, A ~ U(0.1, 5), phase ~ U(0, pi),
/// x ~ U(-5, 5); support and query sets are `[tasks, points, 1]`.
struct SineTasks {
    x_support: Tensor,
    y_support: Tensor,
    x_query: Tensor,
    y_query: Tensor,
}

impl SineTasks {
    fn sample(tasks: usize, points: usize, dtype: DType) -> SineTasks {
        Self::sample_with_query(tasks, points, points, dtype)
    }

    fn sample_with_query(tasks: usize, support: usize, query: usize, dtype: DType) -> SineTasks {
        let amplitude = rand(&[tasks, 1, 1], dtype) * 4.9 + 0.1;
        let phase = rand(&[tasks, 1, 1], dtype) * PI;
        let wave = |x: &Tensor| &amplitude * &(x + &phase).sin();
        let x_support = rand(&[tasks, support, 1], dtype) * 10.0 - 5.0;
        let x_query = rand(&[tasks, query, 1], dtype) * 10.0 - 5.0;
        SineTasks {
            y_support: wave(&x_support),
            y_query: wave(&x_query),
            x_support,
            x_query,
        }
    }

    fn len(&self) -> usize {
        self.x_support.shape()[0]
    }

    /// Task `i`'s data, `[K, 1]` each.
    fn task(&self, i: usize) -> (Tensor, Tensor, Tensor, Tensor) {
        let pick = |t: &Tensor| t.select(0, i as isize);
        (
            pick(&self.x_support),
            pick(&self.y_support),
            pick(&self.x_query),
            pick(&self.y_query),
        )
    }

    /// The meta-loss arguments for every task at once, for `vmap` with in_dims
    /// `(None, 0, 0, 0, 0)`.
    fn batched_args(&self, params: &Params) -> TaskArgs {
        (
            params.clone(),
            self.x_support.clone(),
            self.y_support.clone(),
            self.x_query.clone(),
            self.y_query.clone(),
        )
    }
}

/// Whether the meta-gradient flows through the inner gradient (exact MAML) or treats it as a
/// constant (first-order MAML, "FOMAML").
#[derive(Clone, Copy)]
enum Order {
    Second,
    First,
}

/// `steps` SGD steps on `loss(mlp(params, x), y)` from `params`: the inner loop.
fn adapt(params: &Params, x: &Tensor, y: &Tensor, steps: usize, lr: f64, order: Order) -> Params {
    let inner_loss = |(params, x, y): (Params, Tensor, Tensor)| mse_loss(&mlp(&params, &x), &y);
    let mut fast = params.clone();
    for _ in 0..steps {
        let grads = grad(inner_loss)((fast.clone(), x.clone(), y.clone()));
        fast = fast
            .iter()
            .map(|(name, p)| {
                let g = match order {
                    Order::Second => grads[name].clone(),
                    // First-order MAML: the outer gradient sees the inner step as a constant.
                    Order::First => grads[name].stop_gradient(),
                };
                (name.clone(), p - &(g * lr))
            })
            .collect();
    }
    fast
}

/// The meta-loss of one task (`get_loss_for_task` in the original): query loss after the
/// inner SGD step(s) on the support set.
fn task_loss(order: Order) -> impl Fn(TaskArgs) -> Tensor + Copy {
    move |(params, x_support, y_support, x_query, y_query): TaskArgs| {
        let adapted = adapt(
            &params,
            &x_support,
            &y_support,
            INNER_STEPS,
            INNER_LR,
            order,
        );
        mse_loss(&mlp(&adapted, &x_query), &y_query)
    }
}

/// `in_dims` for the meta-loss: parameters shared by every task, task data mapped over dim 0.
fn task_in_dims() -> VmapOpts {
    VmapOpts::new().in_dims((UNMAPPED, 0, 0, 0, 0))
}

/// Naive: `grad` of each task's meta-loss in a loop, averaged.
fn meta_grad_loop(params: &Params, tasks: &SineTasks, order: Order) -> Params {
    let mut sum: Option<Params> = None;
    for i in 0..tasks.len() {
        let (xs, ys, xq, yq) = tasks.task(i);
        let g = grad(task_loss(order))((params.clone(), xs, ys, xq, yq));
        sum = Some(match sum {
            None => g,
            Some(s) => zip_map(&s, &g, |a, b| a + b),
        });
    }
    let n = tasks.len() as f64;
    sum.expect("at least one task")
        .into_iter()
        .map(|(k, v)| (k, v / n))
        .collect()
}

/// Transforms, per task: `vmap(grad(task_loss), in_dims=(None, 0, 0, 0, 0))`, averaged.
fn meta_grad_vmap(params: &Params, tasks: &SineTasks, order: Order) -> Params {
    let per_task: Params =
        vmap_with(grad(task_loss(order)), task_in_dims())(tasks.batched_args(params));
    per_task
        .into_iter()
        .map(|(k, v)| (k, v.mean_dim(&[0], false)))
        .collect()
}

/// The meta-loss of a meta-batch as in the original: `vmap(task_loss)(...).mean()`.
fn meta_loss(tasks: &SineTasks, order: Order) -> impl Fn(Params) -> Tensor + '_ {
    move |params: Params| {
        vmap_with(task_loss(order), task_in_dims())(tasks.batched_args(&params)).mean()
    }
}

fn zip_map(a: &Params, b: &Params, f: impl Fn(&Tensor, &Tensor) -> Tensor) -> Params {
    a.iter().map(|(k, v)| (k.clone(), f(v, &b[k]))).collect()
}

fn max_abs(p: &Params) -> f64 {
    p.values()
        .map(|t| t.abs().max().to_dtype(DType::F64).item::<f64>())
        .fold(0.0, f64::max)
}

fn max_abs_diff(a: &Params, b: &Params) -> f64 {
    max_abs(&zip_map(a, b, |x, y| x - y))
}

fn norm(p: &Params) -> f64 {
    p.values()
        .map(|t| t.square().sum().to_dtype(DType::F64).item::<f64>())
        .sum::<f64>()
        .sqrt()
}

/// Best of `reps` runs of `f`, in milliseconds, and its last result.
fn time_ms<T>(reps: usize, f: impl Fn() -> T) -> (f64, T) {
    let mut best = f64::INFINITY;
    let mut out = f();
    for _ in 0..reps {
        let start = Instant::now();
        out = f();
        best = best.min(start.elapsed().as_secs_f64() * 1e3);
    }
    (best, out)
}

/// The meta-gradient of one meta-batch three ways; all must agree.
fn compare_meta_gradients(params: &Params, tasks: &SineTasks) {
    let reps = 10; // best of 10 runs each
    let (loop_ms, by_loop) = time_ms(reps, || meta_grad_loop(params, tasks, Order::Second));
    let (vmap_ms, by_vmap) = time_ms(reps, || meta_grad_vmap(params, tasks, Order::Second));
    let (grad_vmap_ms, by_grad_of_vmap) = time_ms(reps, || {
        grad(meta_loss(tasks, Order::Second))(params.clone())
    });

    // f32 sums in different orders: agree to a relative 1e-4 of the largest entry.
    let scale = max_abs(&by_loop);
    let tolerance = 1e-4 * scale;
    for (name, other) in [("vmap(grad)", &by_vmap), ("grad(vmap)", &by_grad_of_vmap)] {
        let diff = max_abs_diff(&by_loop, other);
        assert!(
            diff <= tolerance,
            "meta-gradient by {name} differs from the loop over tasks: max |diff| {diff:e} > \
             {tolerance:e} (largest entry {scale:e})"
        );
    }
    println!(
        "meta-gradient of {META_BATCH} tasks (second order, {} parameters): loop and vmap agree \
         (max |diff| {:.1e}, largest entry {scale:.2})",
        params.values().map(Tensor::numel).sum::<usize>(),
        max_abs_diff(&by_loop, &by_vmap).max(max_abs_diff(&by_loop, &by_grad_of_vmap)),
    );
    println!(
        "naive loop: {loop_ms:.2} ms   vmap(grad): {vmap_ms:.2} ms   ({:.1}x)   \
         grad(vmap): {grad_vmap_ms:.2} ms   ({:.1}x)",
        loop_ms / vmap_ms,
        loop_ms / grad_vmap_ms
    );

    // First-order MAML drops the Hessian term alpha * H_support * grad_query.
    let first_order = meta_grad_vmap(params, tasks, Order::First);
    let gap = norm(&zip_map(&by_vmap, &first_order, |a, b| a - b));
    let relative = gap / norm(&by_vmap);
    println!(
        "first-order MAML (stop_gradient on the inner gradient): |g_exact - g_first_order| = \
         {gap:.3e} ({:.2}% of |g_exact|)",
        100.0 * relative
    );
    assert!(
        relative > 1e-3,
        "the exact meta-gradient should differ from first-order MAML by far more than f32 \
         rounding, got a relative gap of {relative:e}"
    );
}

/// Central finite differences of one task's meta-loss, in f64 (f32 rounding would swamp the
/// difference quotients), on a 1 -> 8 -> 8 -> 1 network so every parameter can be perturbed.
fn check_second_order() {
    let params = init_mlp(&[1, 8, 8, 1], DType::F64);
    let tasks = SineTasks::sample(1, K, DType::F64);
    let (xs, ys, xq, yq) = tasks.task(0);
    let args = |p: Params| (p, xs.clone(), ys.clone(), xq.clone(), yq.clone());
    let exact = grad(task_loss(Order::Second))(args(params.clone()));
    let first_order = grad(task_loss(Order::First))(args(params.clone()));

    let eps = 1e-6;
    let loss_at = |p: Params| task_loss(Order::Second)(args(p)).item::<f64>();
    let mut by_differences = Params::new();
    for (name, value) in &params {
        let flat = value.to_vec::<f64>();
        let mut quotients = Vec::with_capacity(flat.len());
        for i in 0..flat.len() {
            let shifted = |delta: f64| {
                let mut data = flat.clone();
                data[i] += delta;
                let mut p = params.clone();
                p.insert(
                    name.clone(),
                    Tensor::from_vec(data, value.shape()).expect("same size"),
                );
                loss_at(p)
            };
            quotients.push((shifted(eps) - shifted(-eps)) / (2.0 * eps));
        }
        by_differences.insert(
            name.clone(),
            Tensor::from_vec(quotients, value.shape()).unwrap(),
        );
    }

    let scale = max_abs(&by_differences);
    let err_exact = max_abs_diff(&exact, &by_differences);
    let err_first = max_abs_diff(&first_order, &by_differences);
    println!(
        "finite differences (f64, 1-8-8-1 net, one task): max |grad - FD| = {err_exact:.1e} \
         exact, {err_first:.1e} first-order (largest entry {scale:.2})"
    );
    assert!(
        err_exact <= 1e-6 * scale.max(1.0),
        "second-order meta-gradient disagrees with finite differences: max |diff| {err_exact:e}"
    );
    assert!(
        err_first > 1e3 * err_exact,
        "first-order MAML should visibly miss the finite differences (error {err_first:e} vs \
         {err_exact:e} for the exact meta-gradient)"
    );
}

/// Meta-training: each step samples a meta-batch, takes `grad_and_value` of the vmapped mean
/// meta-loss and an Adam step.
fn train(mut params: Params) -> Params {
    let validation = SineTasks::sample(100, K, DType::F32);
    let validation_loss =
        |p: &Params| meta_loss(&validation, Order::Second)(p.clone()).item::<f32>();
    let before = validation_loss(&params);
    println!("meta-training: {META_STEPS} steps of {META_BATCH} tasks, Adam lr {META_LR}");
    println!("  validation meta-loss (100 held-out tasks) before training: {before:.4}");

    let adam = Adam::new(META_LR);
    let mut adam_state = adam.init(&params);
    let mut recent = Vec::with_capacity(PRINT_EVERY);
    let start = Instant::now();
    for step in 1..=META_STEPS {
        let tasks = SineTasks::sample(META_BATCH, K, DType::F32);
        let (grads, loss) = grad_and_value(meta_loss(&tasks, Order::Second))(params.clone());
        (params, adam_state) = adam.step(&params, &grads, &adam_state);
        recent.push(loss.item::<f32>());
        if step % PRINT_EVERY == 0 {
            let mean = recent.iter().sum::<f32>() / recent.len() as f32;
            println!(
                "  step {step:4}  meta-loss {mean:.4} (mean of the last {PRINT_EVERY})  {:.1} s",
                start.elapsed().as_secs_f64()
            );
            recent.clear();
        }
    }
    let after = validation_loss(&params);
    println!(
        "  validation meta-loss after training: {after:.4} ({:.2}x the initial)",
        after / before
    );
    assert!(
        after < 0.5 * before,
        "meta-training should at least halve the validation meta-loss: {before} -> {after}"
    );
    params
}

/// K-shot adaptation to new sines from the meta-learned and from a random initialisation.
fn compare_adaptation(trained: &Params) {
    let random_init = init_mlp(&WIDTHS, DType::F32);
    // 50 new tasks: K support points to adapt on, 100 query points to judge the fit.
    let tasks = SineTasks::sample_with_query(50, K, 100, DType::F32);
    let shots = [0, 1, 5, 10];
    let query_loss_after = |init: &Params, steps: usize| {
        let per_task = |(params, xs, ys, xq, yq): TaskArgs| {
            mse_loss(
                &mlp(
                    &adapt(&params, &xs, &ys, steps, INNER_LR, Order::Second),
                    &xq,
                ),
                &yq,
            )
        };
        vmap_with(per_task, task_in_dims())(tasks.batched_args(init))
            .mean()
            .item::<f32>()
    };
    println!("adaptation to 50 new sines ({K} support points, SGD lr {INNER_LR}), query MSE:");
    let mut results = Vec::new();
    for (label, init) in [
        ("meta-learned init", trained),
        ("random init", &random_init),
    ] {
        let losses: Vec<f32> = shots.iter().map(|&s| query_loss_after(init, s)).collect();
        let cells: Vec<String> = shots
            .iter()
            .zip(&losses)
            .map(|(s, l)| format!("{s:2} steps {l:.4}"))
            .collect();
        println!("  {label:17}  {}", cells.join("   "));
        results.push(losses);
    }
    let (meta, random) = (&results[0], &results[1]);
    assert!(
        meta[3] < 0.5 * random[3] && meta[3] < meta[0],
        "the meta-learned init should adapt: after 10 steps {} (from {}) vs random init {}",
        meta[3],
        meta[0],
        random[3]
    );
}
