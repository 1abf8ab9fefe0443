//! The cotangent half of the GPU benchmark (`bench/gpu_compare.py` runs torch.func and JAX on
//! the same workloads and prints the table; `bench/gpu.sh` runs both on the GPU machine).
//!
//! Usage: `gpu_bench [--device cpu|cuda|cuda:N] [WORKLOAD...]` (default `--device cuda`, all
//! workloads; `--list` prints their names). Every tensor is created on that device
//! (`set_default_device`); TF32 is off (IEEE float32, as torch's and JAX's settings in the
//! script). Each workload prints one JSON object on a line of stdout:
//! `{"lib":"cotangent","workload":"gemm_4096","device":"cuda:0","median_s":...,"min_s":...,
//! "iters":...,"samples":...,"batch":...,"warmup_calls":...,"warmup_s":...,"gflops":...,
//! "gbytes_s":...,"peak_mb":...,"check":{"shapes":[...],"abs_sum":...}}`, or
//! `{"lib":"cotangent","workload":...,"error":"..."}` if it panicked (the others still run;
//! the exit status is then 1).
//!
//! Method (mirrored in the Python script): warm up, each call followed by
//! `cuda::synchronize()`, for at least 3 calls and 0.2 s and until the timings settle (the
//! median of the last 3 calls is no more than 10 % below the median of the 3 before: the
//! first calls compile kernels with NVRTC), at most 10 s; then time samples of `batch`
//! back-to-back calls followed by one `synchronize` (`batch` chosen so a sample lasts about
//! 10 ms), take 10 to 100 samples within about 1 s, and report the median of
//! `sample_time / batch`.
//!
//! Every workload's result is checked once, before the timing, against an independent
//! computation: a plain `grad` per example (or per model, per task) on the CPU, a closed form
//! evaluated in f64 on the host, or host arithmetic on a few entries. The inputs and
//! parameters come from the 64-bit LCG of `side_by_side.rs` (reimplemented in the script), so
//! all three libraries compute on identical numbers; `"check"` holds every output's shape
//! (in key order) and the sum of |x| over all its elements, which the script compares
//! across libraries.
//!
//! Workloads (float32): `gemm_4096`, `add_256MB`, `psg_mlp_B{64,256,1024,4096}`,
//! `ensemble_{16,64}`, `vmap_jacrev_{64,1024}`, `vmap_jacfwd_64`, `hessian_{128,1024}`,
//! `jacfwd_jacfwd_128`, `jacrev_jacrev_128`, `mlp_grad_B256`, `maml_sine`,
//! `psg_cnn`, `conv_3x3_64`, `grad_sin_5`; see `bench/README.md` for what each computes.
//! `COTANGENT_CUDNN=0` in the environment turns cuDNN off (see `cuda::set_cudnn_enabled`),
//! to time the im2col + cuBLAS convolution.

use std::hint::black_box;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::{Duration, Instant};

use cotangent::nn::{self, Linear, Module, StateDict};
use cotangent::{
    DType, Device, GradOpts, Result, Tensor, UNMAPPED, VmapOpts, conv2d, cross_entropy, cuda, grad,
    grad_with, hessian, jacfwd, jacrev, linear, mse_loss, nll_loss, vmap, vmap_with,
    with_default_device,
};

// The tutorials' CNN, as the examples and the CPU benchmark run it.
#[path = "../examples/common/models.rs"]
mod models;
use models::SimpleCnn;

/// Minimum warm-up time.
const WARMUP: Duration = Duration::from_millis(200);
/// Warm-up stops here even if the timings have not settled.
const WARMUP_MAX: Duration = Duration::from_secs(10);
/// Target length of one sample (calls are batched up to this, then synchronized).
const SAMPLE_TARGET: Duration = Duration::from_millis(10);
/// Target wall time of the timed samples of one workload.
const BUDGET: Duration = Duration::from_secs(1);
/// Fewest and most timed samples.
const MIN_SAMPLES: usize = 10;
const MAX_SAMPLES: usize = 100;

/// A workload: its name and what runs it.
type Workload = (&'static str, fn(&Ctx));

/// The workloads, in the order they run.
const WORKLOADS: &[Workload] = &[
    ("gemm_4096", |c| gemm(c, 4096)),
    ("add_256MB", |c| add(c, 64 << 20)),
    ("psg_mlp_B64", |c| psg_mlp(c, 64)),
    ("psg_mlp_B256", |c| psg_mlp(c, 256)),
    ("psg_mlp_B1024", |c| psg_mlp(c, 1024)),
    ("psg_mlp_B4096", |c| psg_mlp(c, 4096)),
    ("ensemble_16", |c| ensemble(c, 16)),
    ("ensemble_64", |c| ensemble(c, 64)),
    ("vmap_jacrev_64", |c| vmap_jacrev(c, 64)),
    ("vmap_jacrev_1024", |c| vmap_jacrev(c, 1024)),
    ("vmap_jacfwd_64", |c| vmap_jacfwd(c, 64)),
    ("hessian_128", |c| hessian_tanh(c, 128)),
    ("hessian_1024", |c| hessian_tanh(c, 1024)),
    ("jacfwd_jacfwd_128", |c| hessian_twice(c, 128, true)),
    ("jacrev_jacrev_128", |c| hessian_twice(c, 128, false)),
    ("mlp_grad_B256", |c| mlp_grad(c, 256)),
    ("maml_sine", maml_sine),
    ("psg_cnn", psg_cnn),
    ("conv_3x3_64", conv_3x3_64),
    ("grad_sin_5", grad_sin_5),
];

/// What every workload needs to know.
struct Ctx {
    device: Device,
}

/// Timing of one workload.
struct Stats {
    median_s: f64,
    min_s: f64,
    iters: usize,
    samples: usize,
    batch: usize,
    warmup_calls: usize,
    warmup_s: f64,
}

fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    if v.len() % 2 == 1 {
        v[mid]
    } else {
        0.5 * (v[mid - 1] + v[mid])
    }
}

/// Time `f` (one call = one operation; its output is dropped at once) as the module doc
/// says. GPU work is asynchronous: every warm-up call and every sample ends with
/// `cuda::synchronize()` (a no-op when no GPU was used).
fn measure<T>(mut f: impl FnMut() -> T) -> Stats {
    let start = Instant::now();
    let mut warm: Vec<f64> = Vec::new();
    loop {
        let t = Instant::now();
        black_box(f());
        cuda::synchronize();
        warm.push(t.elapsed().as_secs_f64());
        let n = warm.len();
        let settled = n >= 6 && median(&warm[n - 3..]) >= 0.9 * median(&warm[n - 6..n - 3]);
        let elapsed = start.elapsed();
        if (n >= 3 && elapsed >= WARMUP && settled) || elapsed >= WARMUP_MAX {
            break;
        }
    }
    let warmup_s = start.elapsed().as_secs_f64();
    let per_call = median(&warm[warm.len().saturating_sub(3)..]).max(1e-9);
    let batch = ((SAMPLE_TARGET.as_secs_f64() / per_call).ceil() as usize).max(1);
    let samples = ((BUDGET.as_secs_f64() / (per_call * batch as f64)) as usize)
        .clamp(MIN_SAMPLES, MAX_SAMPLES);
    let times: Vec<f64> = (0..samples)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..batch {
                black_box(f());
            }
            cuda::synchronize();
            t.elapsed().as_secs_f64() / batch as f64
        })
        .collect();
    Stats {
        median_s: median(&times),
        min_s: times.iter().copied().fold(f64::INFINITY, f64::min),
        iters: samples * batch,
        samples,
        batch,
        warmup_calls: warm.len(),
        warmup_s,
    }
}

/// Print one result line. `flops` / `bytes` (per call) give `gflops` / `gbytes_s`; `check`
/// is the `,"check":{...}` of [`output_check`] (or empty).
fn report(c: &Ctx, workload: &str, s: &Stats, flops: Option<f64>, bytes: Option<f64>, check: &str) {
    let opt = |v: Option<f64>| v.map_or("null".to_string(), |v| format!("{v:.6e}"));
    let peak_mb = match c.device {
        Device::Cuda(i) => format!("{:.3}", cuda::max_memory_allocated(i) as f64 / 1e6),
        Device::Cpu => "null".to_string(),
    };
    println!(
        "{{\"lib\":\"cotangent\",\"workload\":\"{workload}\",\"device\":\"{}\",\
         \"median_s\":{:.9e},\"min_s\":{:.9e},\"iters\":{},\"samples\":{},\"batch\":{},\
         \"warmup_calls\":{},\"warmup_s\":{:.4},\"gflops\":{},\"gbytes_s\":{},\"peak_mb\":{}{check}}}",
        c.device,
        s.median_s,
        s.min_s,
        s.iters,
        s.samples,
        s.batch,
        s.warmup_calls,
        s.warmup_s,
        opt(flops.map(|f| f / s.median_s / 1e9)),
        opt(bytes.map(|b| b / s.median_s / 1e9)),
        peak_mb,
    );
}

/// The `,"check":{...}` field: each output's shape (in order) and the sum of |x| over all
/// their elements (each tensor reduced over its first dim on the device in f32, the rest in
/// f64, as the script does).
fn output_check<'a>(outputs: impl IntoIterator<Item = &'a Tensor>) -> String {
    let (mut shapes, mut abs_sum) = (Vec::new(), 0f64);
    for t in outputs {
        shapes.push(format!("{:?}", t.shape()));
        let a = t.abs();
        let a = if t.shape().len() >= 2 {
            a.sum_dim(&[0], false)
        } else {
            a
        };
        abs_sum += a.to_dtype(DType::F64).sum().item::<f64>();
    }
    format!(
        ",\"check\":{{\"shapes\":[{}],\"abs_sum\":{abs_sum:.9e}}}",
        shapes.join(",")
    )
}

/// A string as a JSON string literal.
fn json_string(s: &str) -> String {
    let mut out = String::from("\"");
    for ch in s.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

// ---- deterministic inputs (the same as side_by_side.rs and the script's) ----

/// The 24 high bits of a 64-bit LCG's states after `seed`.
fn lcg(seed: u64) -> impl Iterator<Item = u64> {
    let step = |s: u64| {
        s.wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407)
    };
    let mut s = step(seed);
    std::iter::repeat_with(move || {
        s = step(s);
        s >> 40
    })
}

/// Deterministic values in [-1, 1), exact in f32 (multiples of 2^-23).
fn values(n: usize, seed: u64) -> Vec<f32> {
    lcg(seed)
        .take(n)
        .map(|b| (b as f32 / (1u64 << 24) as f32) * 2.0 - 1.0)
        .collect()
}

/// A tensor of [`values`] on the default device.
fn tensor(shape: &[usize], seed: u64) -> Tensor {
    Tensor::from_vec(values(shape.iter().product(), seed), shape).expect("length matches")
}

/// [`values`] times `scale` (an f32 product, as the script computes it).
fn scaled(shape: &[usize], seed: u64, scale: f32) -> Tensor {
    let v: Vec<f32> = values(shape.iter().product(), seed)
        .into_iter()
        .map(|v| v * scale)
        .collect();
    Tensor::from_vec(v, shape).expect("length matches")
}

/// `n` deterministic class labels in 0..10 (i64).
fn labels(n: usize, seed: u64) -> Tensor {
    let v: Vec<i64> = lcg(seed).take(n).map(|b| (b % 10) as i64).collect();
    Tensor::from_vec(v, &[n]).expect("length matches")
}

/// `1 / sqrt(fan_in)` in f32, torch's default init bound.
fn init_scale(fan_in: usize) -> f32 {
    (1.0 / (fan_in as f64).sqrt()) as f32
}

/// New values for `params` (same keys and shapes): the k-th key in sorted order gets
/// `values(seed + k) / sqrt(fan_in)`, `fan_in` that of the layer's weight, skipping `lead`
/// stacked leading dims (side_by_side.rs's `lcg_params`).
fn lcg_params(params: &StateDict, lead: usize, seed: u64) -> StateDict {
    params
        .iter()
        .enumerate()
        .map(|(k, (name, p))| {
            let layer = name.rsplit_once('.').map_or("", |(layer, _)| layer);
            let weight = &params[&format!("{layer}.weight")];
            let fan_in: usize = weight.shape()[lead + 1..].iter().product();
            (
                name.clone(),
                scaled(p.shape(), seed + k as u64, init_scale(fan_in)),
            )
        })
        .collect()
}

/// Every tensor of `d` on the CPU.
fn to_cpu(d: &StateDict) -> StateDict {
    d.iter().map(|(k, v)| (k.clone(), v.cpu())).collect()
}

/// Entry `i` along dim 0 of every tensor of `d`.
fn member(d: &StateDict, i: isize) -> StateDict {
    d.iter().map(|(k, v)| (k.clone(), v.select(0, i))).collect()
}

/// Panic unless `got` (any device) is within `tol x max|want|` of `want` everywhere.
fn check_close(what: &str, got: &Tensor, want: &Tensor, tol: f64) {
    assert_eq!(got.shape(), want.shape(), "{what}: shapes differ");
    let (g, w) = (got.to_vec::<f32>(), want.to_vec::<f32>());
    check_close_host(
        what,
        &g,
        &w.iter().map(|&v| v as f64).collect::<Vec<_>>(),
        tol,
    );
}

/// [`check_close`] on host values, the reference in f64.
fn check_close_host(what: &str, got: &[f32], want: &[f64], tol: f64) {
    assert_eq!(got.len(), want.len(), "{what}: lengths differ");
    let scale = want.iter().fold(0f64, |m, v| m.max(v.abs())).max(1e-30);
    let (worst, at) = got
        .iter()
        .zip(want)
        .map(|(&g, &w)| (g as f64 - w).abs())
        .enumerate()
        .fold(
            (0f64, 0),
            |(m, at), (i, d)| if d > m { (d, i) } else { (m, at) },
        );
    assert!(
        worst <= tol * scale,
        "{what}: max |cotangent - reference| = {worst:e} at element {at} (cotangent {}, \
         reference {}) > {tol:e} x max|reference| ({scale:e})",
        got[at],
        want[at]
    );
}

/// [`check_close`] for every tensor of two dicts with the same keys.
fn check_dicts(what: &str, got: &StateDict, want: &StateDict, tol: f64) {
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        want.keys().collect::<Vec<_>>(),
        "{what}: keys differ"
    );
    for (name, g) in got {
        check_close(&format!("{what}, {name}"), g, &want[name], tol);
    }
}

/// Tolerance (relative to the largest reference entry) of the checks of transformed f32
/// results against a reference computed in another order or on another device.
const TOL: f64 = 1e-3;

// ---- the workloads ----

/// `a @ b`, f32, n x n x n, IEEE (TF32 off); flops = 2 n^3. Checked: 16 entries against f64
/// dot products on the host (TF32's 10-bit mantissa would miss the 2e-3 bound by far).
fn gemm(c: &Ctx, n: usize) {
    let (a, b) = (tensor(&[n, n], 1), tensor(&[n, n], 2));
    let out = a.matmul(&b);
    let (va, vb, vc) = (a.to_vec::<f32>(), b.to_vec::<f32>(), out.to_vec::<f32>());
    for k in 0..16 {
        let (i, j) = ((k * 977 + 13) % n, (k * 1531 + 7) % n);
        let want: f64 = (0..n)
            .map(|l| va[i * n + l] as f64 * vb[l * n + j] as f64)
            .sum();
        let got = vc[i * n + j] as f64;
        assert!(
            (got - want).abs() <= 2e-3,
            "gemm: c[{i}, {j}] = {got}, f64 reference {want}"
        );
    }
    let check = output_check([&out]);
    drop(out);
    let s = measure(|| black_box(&a).matmul(black_box(&b)));
    report(
        c,
        &format!("gemm_{n}"),
        &s,
        Some(2.0 * (n as f64).powi(3)),
        None,
        &check,
    );
}

/// `a + b` on `n`-element f32 vectors; bytes moved = 3 x 4 n. Checked: 8 entries against
/// host addition (bitwise).
fn add(c: &Ctx, n: usize) {
    let (a, b) = (tensor(&[n], 3), tensor(&[n], 4));
    let out = &a + &b;
    for k in 0..8 {
        let i = ((k * (n / 8) + k * 12345) % n) as isize;
        let (x, y, z) = (
            a.select(0, i).item::<f32>(),
            b.select(0, i).item::<f32>(),
            out.select(0, i).item::<f32>(),
        );
        assert_eq!(z, x + y, "add: element {i}");
    }
    let check = output_check([&out]);
    drop(out);
    let s = measure(|| black_box(&a) + black_box(&b));
    let mb = (4 * n) >> 20;
    report(
        c,
        &format!("add_{mb}MB"),
        &s,
        None,
        Some(12.0 * n as f64),
        &check,
    );
}

/// The MNIST MLP 784-512-512-10 of the per-sample-gradient workloads (ReLU between layers).
#[derive(Clone)]
struct Mlp3 {
    fc1: Linear,
    fc2: Linear,
    fc3: Linear,
    training: bool,
}

impl Mlp3 {
    fn new() -> Mlp3 {
        Mlp3 {
            fc1: Linear::new(784, 512),
            fc2: Linear::new(512, 512),
            fc3: Linear::new(512, 10),
            training: true,
        }
    }
}

impl Module for Mlp3 {
    fn type_name(&self) -> &'static str {
        "MLP"
    }
    fn try_forward(&self, x: &Tensor) -> Result<Tensor> {
        let x = self.fc1.try_forward(x)?.relu();
        let x = self.fc2.try_forward(&x)?.relu();
        self.fc3.try_forward(&x)
    }
    cotangent::module_children!(fc1, fc2, fc3);
    cotangent::module_training_flag!();
}

/// The ensemble members' MLP 784-256-10.
#[derive(Clone)]
struct Mlp2 {
    fc1: Linear,
    fc2: Linear,
    training: bool,
}

impl Mlp2 {
    fn new() -> Mlp2 {
        Mlp2 {
            fc1: Linear::new(784, 256),
            fc2: Linear::new(256, 10),
            training: true,
        }
    }
}

impl Module for Mlp2 {
    fn type_name(&self) -> &'static str {
        "MLP"
    }
    fn try_forward(&self, x: &Tensor) -> Result<Tensor> {
        let x = self.fc1.try_forward(x)?.relu();
        self.fc2.try_forward(&x)
    }
    cotangent::module_children!(fc1, fc2);
    cotangent::module_training_flag!();
}

/// The cross-entropy of `model` on one example, as a function of its parameters.
fn sample_loss<M: Module + Clone>(
    model: &M,
) -> impl Fn((StateDict, Tensor, Tensor)) -> Tensor + '_ {
    move |(params, x, y): (StateDict, Tensor, Tensor)| {
        cross_entropy(
            &nn::functional_call(model, &params, &x.unsqueeze(0)),
            &y.unsqueeze(0),
        )
    }
}

/// Per-sample gradients of the MLP 784-512-512-10 at batch `b`:
/// `vmap(grad(loss), in_dims=(None, 0, 0))` over `functional_call`. Checked: the first and
/// last examples against `grad(loss)` of that example alone, on the CPU.
fn psg_mlp(c: &Ctx, b: usize) {
    let model = Mlp3::new();
    let params = lcg_params(&model.named_parameters(), 0, 300);
    let (x, y) = (tensor(&[b, 784], 30), labels(b, 31));
    let per_sample = vmap_with(
        grad(sample_loss(&model)),
        VmapOpts::new().in_dims((UNMAPPED, 0, 0)),
    );
    let call = || per_sample((params.clone(), x.clone(), y.clone()));

    let grads = call();
    with_default_device(Device::Cpu, || {
        let cpu_model = Mlp3::new();
        let p = to_cpu(&params);
        for i in [0, b as isize - 1] {
            let want = grad(sample_loss(&cpu_model))((
                p.clone(),
                x.select(0, i).cpu(),
                y.select(0, i).cpu(),
            ));
            check_dicts(
                &format!("psg_mlp_B{b}: example {i}, vmap(grad) vs grad on the CPU"),
                &member(&grads, i),
                &want,
                TOL,
            );
        }
    });
    let check = output_check(grads.values());
    drop(grads);
    let s = measure(call);
    report(c, &format!("psg_mlp_B{b}"), &s, None, None, &check);
}

/// Gradients of `m` MLPs 784-256-10 at once on one shared batch of 64:
/// `stack_module_state`, then `vmap(grad(loss), in_dims=(0, None, None))`. Checked: the
/// first and last members against `grad(loss)` of that model alone, on the CPU.
fn ensemble(c: &Ctx, m: usize) {
    let models: Vec<Mlp2> = (0..m).map(|_| Mlp2::new()).collect();
    let (stacked, _buffers) = nn::stack_module_state(&models);
    let params = lcg_params(&stacked, 1, 200);
    let base = models[0].clone();
    drop(models);
    let (x, y) = (tensor(&[64, 784], 20), labels(64, 21));
    let loss = |(params, x, y): (StateDict, Tensor, Tensor)| {
        cross_entropy(&nn::functional_call(&base, &params, &x), &y)
    };
    let step = vmap_with(grad(loss), VmapOpts::new().in_dims((0, UNMAPPED, UNMAPPED)));
    let call = || step((params.clone(), x.clone(), y.clone()));

    let grads = call();
    with_default_device(Device::Cpu, || {
        let cpu_base = Mlp2::new();
        let (cx, cy) = (x.cpu(), y.cpu());
        let cpu_loss = |(params, x, y): (StateDict, Tensor, Tensor)| {
            cross_entropy(&nn::functional_call(&cpu_base, &params, &x), &y)
        };
        for i in [0, m as isize - 1] {
            let want = grad(cpu_loss)((to_cpu(&member(&params, i)), cx.clone(), cy.clone()));
            check_dicts(
                &format!("ensemble_{m}: model {i}, vmap(grad) vs grad on the CPU"),
                &member(&grads, i),
                &want,
                TOL,
            );
        }
    });
    let check = output_check(grads.values());
    drop(grads);
    let s = measure(call);
    report(c, &format!("ensemble_{m}"), &s, None, None, &check);
}

/// Host `y = W x` for a row-major n x n `W`, in f64.
fn matvec(w: &[f32], x: &[f64]) -> Vec<f64> {
    let n = x.len();
    (0..n)
        .map(|i| (0..n).map(|j| w[i * n + j] as f64 * x[j]).sum())
        .collect()
}

/// `vmap(jacrev(f))` over `count` inputs, `f(x) = tanh(W2 tanh(W1 x))`, x in R^256.
/// Checked: the first and last Jacobians against the closed form
/// `diag(1 - h2^2) W2 diag(1 - h1^2) W1` in f64 on the host.
fn vmap_jacrev(c: &Ctx, count: usize) {
    vmap_jac(c, count, false);
}

/// [`vmap_jacrev`] with `jacfwd` (forward mode: 256 tangents a Jacobian).
fn vmap_jacfwd(c: &Ctx, count: usize) {
    vmap_jac(c, count, true);
}

fn vmap_jac(c: &Ctx, count: usize, forward: bool) {
    let name = format!("vmap_{}_{count}", if forward { "jacfwd" } else { "jacrev" });
    let n = 256;
    let w1 = scaled(&[n, n], 40, init_scale(n));
    let w2 = scaled(&[n, n], 41, init_scale(n));
    let xs = tensor(&[count, n], 42);
    let f = |x: Tensor| w2.matmul(&w1.matmul(&x).tanh()).tanh();
    let batched: Box<dyn Fn(Tensor) -> Tensor + '_> = if forward {
        Box::new(vmap(jacfwd::<_, Tensor, Tensor, _>(f)))
    } else {
        Box::new(vmap(jacrev::<_, Tensor, Tensor, _>(f)))
    };
    let call = || batched(xs.clone());

    let out = call();
    assert_eq!(out.shape(), &[count, n, n]);
    let (hw1, hw2) = (w1.to_vec::<f32>(), w2.to_vec::<f32>());
    for i in [0, count as isize - 1] {
        let x: Vec<f64> = xs
            .select(0, i)
            .to_vec::<f32>()
            .iter()
            .map(|&v| v as f64)
            .collect();
        let h1: Vec<f64> = matvec(&hw1, &x).iter().map(|v| v.tanh()).collect();
        let h2: Vec<f64> = matvec(&hw2, &h1).iter().map(|v| v.tanh()).collect();
        // J[a][b] = (1 - h2[a]^2) sum_k W2[a][k] (1 - h1[k]^2) W1[k][b]
        let mut want = vec![0f64; n * n];
        for a in 0..n {
            let da = 1.0 - h2[a] * h2[a];
            for k in 0..n {
                let s = da * hw2[a * n + k] as f64 * (1.0 - h1[k] * h1[k]);
                for bcol in 0..n {
                    want[a * n + bcol] += s * hw1[k * n + bcol] as f64;
                }
            }
        }
        check_close_host(
            &format!("{name}: input {i} vs the closed form"),
            &out.select(0, i).to_vec::<f32>(),
            &want,
            TOL,
        );
    }
    let check = output_check([&out]);
    drop(out);
    let s = measure(call);
    report(c, &name, &s, None, None, &check);
}

/// Check rows 0, n/2 and n-1 of the n x n Hessian `got` against `W^T diag(d) W` (`w` row-major
/// n x n), in f64 on the host.
fn check_hessian_rows(name: &str, got: &Tensor, w: &[f32], d: &[f64]) {
    let n = d.len();
    let got = got.to_vec::<f32>();
    for i in [0, n / 2, n - 1] {
        let want: Vec<f64> = (0..n)
            .map(|j| {
                (0..n)
                    .map(|k| w[k * n + i] as f64 * d[k] * w[k * n + j] as f64)
                    .sum()
            })
            .collect();
        check_close_host(
            &format!("{name}: row {i} vs the closed form"),
            &got[i * n..(i + 1) * n],
            &want,
            TOL,
        );
    }
}

/// `hessian(g)(x)` (jacfwd over jacrev), `g(x) = sum(tanh(W x))`, W n x n. Checked: rows 0,
/// n/2 and n-1 against the closed form `W^T diag(-2 t (1 - t^2)) W`, `t = tanh(W x)`, in
/// f64 on the host.
fn hessian_tanh(c: &Ctx, n: usize) {
    let w = scaled(&[n, n], 50, init_scale(n));
    let x = tensor(&[n], 51);
    let g = |x: Tensor| w.matmul(&x).tanh().sum();
    let h = hessian::<_, Tensor, _>(g);
    let call = || h(x.clone());

    let out = call();
    assert_eq!(out.shape(), &[n, n]);
    let hw = w.to_vec::<f32>();
    let hx: Vec<f64> = x.to_vec::<f32>().iter().map(|&v| v as f64).collect();
    let d: Vec<f64> = matvec(&hw, &hx)
        .iter()
        .map(|z| {
            let t = z.tanh();
            -2.0 * t * (1.0 - t * t)
        })
        .collect();
    check_hessian_rows(&format!("hessian_{n}"), &out, &hw, &d);
    let check = output_check([&out]);
    drop(out);
    let s = measure(call);
    report(c, &format!("hessian_{n}"), &s, None, None, &check);
}

/// MAML sine (examples/maml_sine.rs): MLP 1-40-40-1, 5 tasks of 10 support and 10 query
/// points, one inner SGD step of 0.01, mse loss.
const MAML_TASKS: usize = 5;
const MAML_SHOTS: usize = 10;
const MAML_INNER_LR: f64 = 0.01;

/// The MLP as a pure function of its parameters (`fc1..fc3`), ReLU between layers.
fn maml_mlp(params: &StateDict, x: &Tensor) -> Tensor {
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

type TaskArgs = (StateDict, Tensor, Tensor, Tensor, Tensor);

/// One task's meta-loss: the query loss after one inner SGD step on the support set.
fn maml_task_loss((params, xs, ys, xq, yq): TaskArgs) -> Tensor {
    let inner = |(p, x, y): (StateDict, Tensor, Tensor)| mse_loss(&maml_mlp(&p, &x), &y);
    let g = grad(inner)((params.clone(), xs, ys));
    let adapted: StateDict = params
        .iter()
        .map(|(k, p)| (k.clone(), p - &(&g[k] * MAML_INNER_LR)))
        .collect();
    mse_loss(&maml_mlp(&adapted, &xq), &yq)
}

/// The meta-gradient of the MAML sine meta-loss: `grad` of the mean over tasks of
/// `vmap(task_loss, in_dims=(None, 0, 0, 0, 0))` (second order: through the inner `grad`).
/// Checked: against the mean of `grad(task_loss)` over a loop of tasks, on the CPU.
fn maml_sine(c: &Ctx) {
    let widths = [1, 40, 40, 1];
    let mut shapes = StateDict::new();
    for (l, pair) in widths.windows(2).enumerate() {
        shapes.insert(
            format!("fc{}.weight", l + 1),
            Tensor::zeros(&[pair[1], pair[0]]),
        );
        shapes.insert(format!("fc{}.bias", l + 1), Tensor::zeros(&[pair[1]]));
    }
    let params = lcg_params(&shapes, 0, 600);
    let (t, k) = (MAML_TASKS, MAML_SHOTS);
    // Amplitudes in [0.1, 5), phases in [0, pi), x in [-5, 5); y = A sin(x + phase).
    let amplitude = tensor(&[t, 1, 1], 70) * 2.45 + 2.55;
    let phase = (tensor(&[t, 1, 1], 71) + 1.0) * std::f64::consts::FRAC_PI_2;
    let xs = tensor(&[t, k, 1], 72) * 5.0;
    let xq = tensor(&[t, k, 1], 73) * 5.0;
    let ys = &amplitude * &(&xs + &phase).sin();
    let yq = &amplitude * &(&xq + &phase).sin();
    let meta_loss = |p: StateDict| {
        vmap_with(
            maml_task_loss,
            VmapOpts::new().in_dims((UNMAPPED, 0, 0, 0, 0)),
        )((p, xs.clone(), ys.clone(), xq.clone(), yq.clone()))
        .mean()
    };
    let meta_grad = grad(meta_loss);
    let call = || meta_grad(params.clone());

    let got = call();
    let want = with_default_device(Device::Cpu, || {
        let p = to_cpu(&params);
        let mut sum: Option<StateDict> = None;
        for i in 0..t as isize {
            let task = |v: &Tensor| v.select(0, i).cpu();
            let g = grad(maml_task_loss)((p.clone(), task(&xs), task(&ys), task(&xq), task(&yq)));
            sum = Some(match sum {
                None => g,
                Some(s) => s.iter().map(|(k, v)| (k.clone(), v + &g[k])).collect(),
            });
        }
        let sum = sum.expect("at least one task");
        sum.into_iter()
            .map(|(k, v)| (k, v / t as f64))
            .collect::<StateDict>()
    });
    check_dicts(
        "maml_sine: meta-gradient vs a loop over tasks on the CPU",
        &got,
        &want,
        TOL,
    );
    let check = output_check(got.values());
    let s = measure(call);
    report(c, "maml_sine", &s, None, None, &check);
}

/// Per-sample gradients of the tutorials' CNN (examples/common/models.rs, 1x8x8 inputs)
/// over a batch of 64: `vmap(grad(loss), in_dims=(None, 0, 0))` over `functional_call`, the
/// loss `nll_loss` of its log-probabilities. Checked: the first and last examples against
/// `grad(loss)` of that example alone, on the CPU.
fn psg_cnn(c: &Ctx) {
    let b = 64;
    let model = SimpleCnn::new();
    let params = lcg_params(&model.named_parameters(), 0, 100);
    let (x, y) = (tensor(&[b, 1, 8, 8], 10), labels(b, 11));
    let loss = |m: &SimpleCnn, (params, x, y): (StateDict, Tensor, Tensor)| {
        nll_loss(
            &nn::functional_call(m, &params, &x.unsqueeze(0)),
            &y.unsqueeze(0),
        )
    };
    let per_sample = vmap_with(
        grad(|args| loss(&model, args)),
        VmapOpts::new().in_dims((UNMAPPED, 0, 0)),
    );
    let call = || per_sample((params.clone(), x.clone(), y.clone()));

    let grads = call();
    with_default_device(Device::Cpu, || {
        let cpu_model = SimpleCnn::new();
        let p = to_cpu(&params);
        for i in [0, b as isize - 1] {
            let want = grad(|args| loss(&cpu_model, args))((
                p.clone(),
                x.select(0, i).cpu(),
                y.select(0, i).cpu(),
            ));
            check_dicts(
                &format!("psg_cnn: example {i}, vmap(grad) vs grad on the CPU"),
                &member(&grads, i),
                &want,
                TOL,
            );
        }
    });
    let check = output_check(grads.values());
    drop(grads);
    let s = measure(call);
    report(c, "psg_cnn", &s, None, None, &check);
}

/// The Hessian of `g(x) = sum(tanh(W x)^2)`, W n x n, as `jacfwd(jacfwd(g))` (`forward`) or
/// `jacrev(jacrev(g))`. Checked: rows 0, n/2 and n-1 against the closed form
/// `W^T diag(2 (1 - t^2)(1 - 3 t^2)) W`, `t = tanh(W x)`, in f64 on the host.
fn hessian_twice(c: &Ctx, n: usize, forward: bool) {
    let name = if forward {
        format!("jacfwd_jacfwd_{n}")
    } else {
        format!("jacrev_jacrev_{n}")
    };
    let w = scaled(&[n, n], 52, init_scale(n));
    let x = tensor(&[n], 53);
    let g = |x: Tensor| w.matmul(&x).tanh().square().sum();
    let h: Box<dyn Fn(Tensor) -> Tensor + '_> = if forward {
        Box::new(jacfwd::<_, Tensor, Tensor, _>(
            jacfwd::<_, Tensor, Tensor, _>(g),
        ))
    } else {
        Box::new(jacrev::<_, Tensor, Tensor, _>(
            jacrev::<_, Tensor, Tensor, _>(g),
        ))
    };
    let call = || h(x.clone());

    let out = call();
    assert_eq!(out.shape(), &[n, n]);
    let hw = w.to_vec::<f32>();
    let hx: Vec<f64> = x.to_vec::<f32>().iter().map(|&v| v as f64).collect();
    let d: Vec<f64> = matvec(&hw, &hx)
        .iter()
        .map(|z| {
            let t = z.tanh();
            2.0 * (1.0 - t * t) * (1.0 - 3.0 * t * t)
        })
        .collect();
    check_hessian_rows(&name, &out, &hw, &d);
    let check = output_check([&out]);
    drop(out);
    let s = measure(call);
    report(c, &name, &s, None, None, &check);
}

/// The batch-mean gradient of the MLP 784-512-512-10 at batch `b` (`grad` of `cross_entropy`
/// over `functional_call`): the reference for the per-sample rows. Checked: against the
/// mean over the batch of the per-sample gradients (`vmap(grad)`), another path.
fn mlp_grad(c: &Ctx, b: usize) {
    let model = Mlp3::new();
    let params = lcg_params(&model.named_parameters(), 0, 300);
    let (x, y) = (tensor(&[b, 784], 30), labels(b, 31));
    let loss = |(params, x, y): (StateDict, Tensor, Tensor)| {
        cross_entropy(&nn::functional_call(&model, &params, &x), &y)
    };
    let g = grad(loss);
    let call = || g((params.clone(), x.clone(), y.clone()));

    let got = call();
    let per_sample = vmap_with(
        grad(sample_loss(&model)),
        VmapOpts::new().in_dims((UNMAPPED, 0, 0)),
    )((params.clone(), x.clone(), y.clone()));
    let want: StateDict = per_sample
        .into_iter()
        .map(|(k, v)| (k, v.mean_dim(&[0], false)))
        .collect();
    check_dicts(
        &format!("mlp_grad_B{b}: grad vs the mean of vmap(grad)"),
        &got,
        &want,
        TOL,
    );
    let check = output_check(got.values());
    drop(got);
    let s = measure(call);
    report(c, &format!("mlp_grad_B{b}"), &s, None, None, &check);
}

/// `grad(0.5 * sum(conv2d(x, w, padding 1)^2))` with respect to `x` `[32, 64, 56, 56]` and
/// `w` `[64, 64, 3, 3]`: a ResNet stage's convolution, forward and both gradients (3 x 7.4
/// GFLOP). Checked: both gradients against the same on the CPU.
fn conv_3x3_64(c: &Ctx) {
    let (xs, ws) = ([32, 64, 56, 56], [64, 64, 3, 3]);
    let x = tensor(&xs, 80);
    let w = scaled(&ws, 81, init_scale(9 * ws[1]));
    let energy = |(x, w): (Tensor, Tensor)| {
        0.5 * conv2d(&x, &w, None, [1, 1], [1, 1], [1, 1], 1)
            .square()
            .sum()
    };
    let both = || grad_with(energy, GradOpts::new().argnums((0, 1)));
    let g = both();
    let call = || -> (Tensor, Tensor) { g((x.clone(), w.clone())) };
    let (gx, gw) = call();
    let (want_x, want_w): (Tensor, Tensor) =
        with_default_device(Device::Cpu, || both()((x.cpu(), w.cpu())));
    check_close("conv_3x3_64: grad x vs the CPU", &gx, &want_x, TOL);
    check_close("conv_3x3_64: grad w vs the CPU", &gw, &want_w, TOL);
    let check = output_check([&gx, &gw]);
    drop((gx, gw));
    let s = measure(call);
    let macs = (xs[0] * ws[0] * xs[2] * xs[3] * ws[1] * ws[2] * ws[3]) as f64;
    report(c, "conv_3x3_64", &s, Some(3.0 * 2.0 * macs), None, &check);
}

/// `grad(|x| x.sin().sum())(x)` on 5 elements: dispatch and launch overhead. Checked:
/// against `cos` on the host.
fn grad_sin_5(c: &Ctx) {
    let x = tensor(&[5], 9);
    let g = grad(|x: Tensor| x.sin().sum());
    let out = g(x.clone());
    let want: Vec<f64> = x
        .to_vec::<f32>()
        .iter()
        .map(|&v| (v as f64).cos())
        .collect();
    check_close_host("grad_sin_5 vs cos", &out.to_vec::<f32>(), &want, 1e-6);
    let check = output_check([&out]);
    let s = measure(|| g(black_box(x.clone())));
    report(c, "grad_sin_5", &s, None, None, &check);
}

fn main() {
    let mut device = Device::Cuda(0);
    let mut wanted: Vec<String> = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--device" => match args.next().map(|s| s.parse::<Device>()) {
                Some(Ok(d)) => device = d,
                _ => {
                    eprintln!("--device takes cpu, cuda or cuda:N");
                    std::process::exit(2);
                }
            },
            "--list" => {
                for (name, _) in WORKLOADS {
                    println!("{name}");
                }
                return;
            }
            // `cargo bench` passes `--bench`.
            "--bench" => {}
            s if s.starts_with('-') => {
                eprintln!(
                    "unknown option {s}; usage: gpu_bench [--device cpu|cuda|cuda:N] [--list] [WORKLOAD...]"
                );
                std::process::exit(2);
            }
            _ => wanted.push(a),
        }
    }
    let names: Vec<&str> = WORKLOADS.iter().map(|(n, _)| *n).collect();
    if let Some(bad) = wanted.iter().find(|w| !names.contains(&w.as_str())) {
        eprintln!("unknown workload {bad}; choose from {}", names.join(" "));
        std::process::exit(2);
    }
    if device.is_cuda()
        && let Some(why) = cuda::unavailable_reason()
    {
        eprintln!("--device {device}: {why}");
        std::process::exit(2);
    }
    cotangent::set_default_device(device);
    cuda::set_allow_tf32(false);
    let ctx = Ctx { device };
    let mut failed = 0;
    for (name, run) in WORKLOADS {
        if !(wanted.is_empty() || wanted.iter().any(|w| w == name)) {
            continue;
        }
        if let Device::Cuda(i) = device {
            cuda::reset_peak_memory_stats(i);
        }
        if let Err(payload) = catch_unwind(AssertUnwindSafe(|| run(&ctx))) {
            let msg = payload
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "panicked".to_string());
            println!(
                "{{\"lib\":\"cotangent\",\"workload\":\"{name}\",\"device\":\"{device}\",\"error\":{}}}",
                json_string(&msg)
            );
            failed += 1;
        }
        cuda::synchronize();
        cuda::empty_cache();
    }
    if failed > 0 {
        std::process::exit(1);
    }
}
