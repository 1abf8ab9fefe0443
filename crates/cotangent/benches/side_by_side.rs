//! The cotangent half of the side-by-side benchmark against PyTorch (`bench/compare_torch.py`
//! runs the other half and prints the table).
//!
//! Each workload prints one JSON object per line on stdout:
//! `{"lib":"cotangent","workload":"add_4M","median_s":...,"iters":...,"samples":...,
//! "gflops":...,"gbps":...,"pool":true,"threads":2}`.
//!
//! Method (mirrored exactly in the Python script): warm up for at least 3 calls and 0.2 s,
//! then time samples of `batch` back-to-back calls (`batch` chosen so a sample lasts about
//! 2 ms, which makes timer overhead negligible for the tiny eager-overhead workload), take at
//! least 15 samples within a ~2 s budget, and report the median of `sample_time / batch`.
//! Every output is kept alive until the call returns and passed through `black_box`, and
//! each workload's result is checked once against a plain-loop reference, so nothing can be
//! optimised away and a wrong kernel cannot look fast.
//!
//! `BENCH_ITERS=n` replaces the adaptive timing with exactly `n` calls (see `measure`).
//!
//! Threads: rayon's default pool (one thread per core). `COTANGENT_POOL=0` disables the
//! buffer pool (read once per process); the value in force is reported as `"pool"`.
//!
//! The model-level workloads (`per_sample_grads_cnn`, `ensemble_mlp_10`,
//! `ensemble_train_step_10`) take their parameters, inputs and labels from the same LCG as
//! the Python side reimplements, so both libraries compute on identical numbers; their JSON
//! line carries `"check":{"shapes":[...],"abs_sum":...}` (every output tensor's shape, in
//! key order, and the sum of the absolute values of all output elements), which the script
//! compares with torch's.
//!
//! Usage: `cargo bench -p cotangent --bench side_by_side [-- WORKLOAD...]`, where the
//! optional names pick a subset (`matmul_1024 add_4M sum_16M transpose_4096 add_5
//! grad_sin_sum_5 per_sample_grads_cnn ensemble_mlp_10 ensemble_train_step_10`).
//! `per_sample_grads_mlp_784` (per-sample gradients of an MNIST-sized MLP: 686 MB of output
//! per call, where the buffer pool decides the time) runs only when named; it has no torch
//! side in `compare_torch.py` yet.
//!
//! Every line also reports the process's resident memory after the workload (`rss_mb`) and
//! its peak (`rss_peak_mb`), from `/proc/self/status` (null elsewhere), and `"mem"`: from
//! `cotangent::memory`, the peak of `memory_allocated` while the workload was timed (warm-up
//! included), `memory_reserved` and the pool's idle bytes at the end, and how many buffers
//! the pool served (`pool_hits`), could not serve (`pool_misses`) and evicted, during the
//! timing.

use std::hint::black_box;
use std::time::{Duration, Instant};

use cotangent::memory::{self, MemoryStats};
use cotangent::nn::{self, Module, StateDict};
use cotangent::{Tensor, UNMAPPED, VmapOpts, cross_entropy, grad, nll_loss, vmap_with};

// The examples' models, so the benchmark times exactly what they run.
#[path = "../examples/common/models.rs"]
mod models;
use models::{SimpleCnn, SimpleMlp};

/// Minimum number of timed samples.
const MIN_SAMPLES: usize = 15;
/// Most samples taken, however fast the workload.
const MAX_SAMPLES: usize = 200;
/// Target wall time of the timed samples of one workload.
const BUDGET: Duration = Duration::from_secs(2);
/// Target length of one sample (calls are batched up to this).
const SAMPLE_TARGET: Duration = Duration::from_millis(2);
/// Minimum warm-up time.
const WARMUP: Duration = Duration::from_millis(200);

/// Timing of one workload.
struct Stats {
    /// Median seconds per call.
    median_s: f64,
    /// Timed calls in total (samples x batch).
    iters: usize,
    /// Number of samples the median is over.
    samples: usize,
    /// Memory counters when the timing started (peaks reset) and when it ended.
    memory: (MemoryStats, MemoryStats),
}

/// Time `f` (one call = one operation) with warm-up, adaptive batching and a median; or,
/// with `BENCH_ITERS=n` in the environment, exactly `n` calls (no warm-up, one call per
/// sample), so that counts that do not depend on the machine's load (instructions under
/// callgrind, page faults) can be compared per call between two builds.
fn measure(mut f: impl FnMut()) -> Stats {
    memory::reset_peak_memory_stats();
    let memory_before = memory::memory_stats();
    if let Some(n) = std::env::var("BENCH_ITERS")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
    {
        let mut times: Vec<f64> = (0..n)
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed().as_secs_f64()
            })
            .collect();
        times.sort_by(f64::total_cmp);
        return Stats {
            median_s: times.get(n / 2).copied().unwrap_or(f64::NAN),
            iters: n,
            samples: n,
            memory: (memory_before, memory::memory_stats()),
        };
    }
    let start = Instant::now();
    let mut warm = 0usize;
    while warm < 3 || start.elapsed() < WARMUP {
        f();
        warm += 1;
    }
    let per_call = start.elapsed().as_secs_f64() / warm as f64;
    let batch = ((SAMPLE_TARGET.as_secs_f64() / per_call).ceil() as usize).max(1);
    let samples = ((BUDGET.as_secs_f64() / (per_call * batch as f64)) as usize)
        .clamp(MIN_SAMPLES, MAX_SAMPLES);
    let mut times: Vec<f64> = (0..samples)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..batch {
                f();
            }
            t.elapsed().as_secs_f64() / batch as f64
        })
        .collect();
    times.sort_by(f64::total_cmp);
    let mid = times.len() / 2;
    let median_s = if times.len() % 2 == 1 {
        times[mid]
    } else {
        0.5 * (times[mid - 1] + times[mid])
    };
    Stats {
        median_s,
        iters: samples * batch,
        samples,
        memory: (memory_before, memory::memory_stats()),
    }
}

/// The 24 high bits of a 64-bit LCG's states after `seed` (no dependency on a random crate;
/// `bench/compare_torch.py` reimplements it, so both sides can use the same numbers).
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

/// `n` deterministic class labels in 0..10 (i64, as `nll_loss` wants).
fn labels(n: usize, seed: u64) -> Tensor {
    let v: Vec<i64> = lcg(seed).take(n).map(|b| (b % 10) as i64).collect();
    Tensor::from_vec(v, &[n]).expect("length matches")
}

fn tensor(shape: &[usize], seed: u64) -> Tensor {
    Tensor::from_vec(values(shape.iter().product(), seed), shape).expect("length matches")
}

/// Print one result line.
fn report(workload: &str, s: &Stats, gflops: Option<f64>, bytes: Option<f64>, pool: bool) {
    report_with(workload, s, gflops, bytes, pool, "");
}

/// Print one result line with `extra` (`,"key":value...` or empty) appended to the object.
fn report_with(
    workload: &str,
    s: &Stats,
    gflops: Option<f64>,
    bytes: Option<f64>,
    pool: bool,
    extra: &str,
) {
    let opt = |v: Option<f64>| v.map_or("null".to_string(), |v| format!("{v:.4}"));
    println!(
        "{{\"lib\":\"cotangent\",\"workload\":\"{workload}\",\"median_s\":{:.9e},\"iters\":{},\
         \"samples\":{},\"gflops\":{},\"gbps\":{},\"pool\":{pool},\"threads\":{},\
         \"rss_mb\":{},\"rss_peak_mb\":{},\"mem\":{}{extra}}}",
        s.median_s,
        s.iters,
        s.samples,
        opt(gflops.map(|f| f / s.median_s / 1e9)),
        opt(bytes.map(|b| b / s.median_s / 1e9)),
        rayon::current_num_threads(),
        opt(proc_status_mb("VmRSS:")),
        opt(proc_status_mb("VmHWM:")),
        memory_json(&s.memory.0, &s.memory.1),
    );
}

/// The `"mem"` object: what the timed calls did to `cotangent::memory`'s counters.
fn memory_json(before: &MemoryStats, after: &MemoryStats) -> String {
    let mb = |b: usize| b as f64 / 1e6;
    format!(
        "{{\"peak_allocated_mb\":{:.3},\"reserved_mb\":{:.3},\"cached_mb\":{:.3},\
         \"pool_hits\":{},\"pool_misses\":{},\"pool_evictions\":{}}}",
        mb(after.peak_allocated_bytes),
        mb(after.reserved_bytes),
        mb(after.cached_bytes),
        after.pool_hits - before.pool_hits,
        after.pool_misses - before.pool_misses,
        after.pool_evictions - before.pool_evictions,
    )
}

/// A `kB` line of `/proc/self/status` (`VmRSS:` resident now, `VmHWM:` its peak), in MB.
fn proc_status_mb(key: &str) -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(key))?;
    let kb: f64 = line[key.len()..]
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kb * 1024.0 / 1e6)
}

/// Panic unless `got` is within a relative tolerance of `want`.
fn check(what: &str, got: f64, want: f64, rtol: f64) {
    assert!(
        (got - want).abs() <= rtol * want.abs().max(1.0),
        "{what}: cotangent gave {got}, reference {want}"
    );
}

/// `a @ b` for 1024 x 1024 f32 matrices; flops = 2 n^3.
fn matmul_1024(pool: bool) {
    let n = 1024;
    let (a, b) = (tensor(&[n, n], 1), tensor(&[n, n], 2));
    let c = a.matmul(&b);
    let (va, vb, vc) = (a.to_vec::<f32>(), b.to_vec::<f32>(), c.to_vec::<f32>());
    for (i, j) in [(0, 0), (17, 999), (1023, 512)] {
        let want: f64 = (0..n)
            .map(|k| va[i * n + k] as f64 * vb[k * n + j] as f64)
            .sum();
        check("matmul", vc[i * n + j] as f64, want, 1e-4);
    }
    let s = measure(|| {
        black_box(black_box(&a).matmul(black_box(&b)));
    });
    report(
        "matmul_1024",
        &s,
        Some(2.0 * (n * n * n) as f64),
        None,
        pool,
    );
}

/// `a + b` on `n`-element f32 vectors; bytes moved = 3 n 4.
fn add(name: &str, n: usize, pool: bool) {
    let (a, b) = (tensor(&[n], 3), tensor(&[n], 4));
    let c = &a + &b;
    let (va, vb, vc) = (a.to_vec::<f32>(), b.to_vec::<f32>(), c.to_vec::<f32>());
    for i in [0, n / 2, n - 1] {
        check("add", vc[i] as f64, (va[i] + vb[i]) as f64, 0.0);
    }
    let s = measure(|| {
        black_box(black_box(&a) + black_box(&b));
    });
    report(name, &s, None, Some(3.0 * 4.0 * n as f64), pool);
}

/// `x.sum()` over 16M f32; bytes read = 4 n.
fn sum_16m(pool: bool) {
    let n = 16 << 20;
    let x = tensor(&[n], 5);
    let want: f64 = x.to_vec::<f32>().iter().map(|&v| v as f64).sum();
    check("sum", x.sum().item::<f32>() as f64, want, 1e-4);
    let s = measure(|| {
        black_box(black_box(&x).sum());
    });
    report("sum_16M", &s, None, Some(4.0 * n as f64), pool);
}

/// `x.t().contiguous()` on a 4096 x 4096 f32 matrix; bytes moved = 2 n^2 4.
fn transpose_4096(pool: bool) {
    let n = 4096;
    let x = tensor(&[n, n], 6);
    let y = x.t().contiguous();
    let (vx, vy) = (x.to_vec::<f32>(), y.to_vec::<f32>());
    for (i, j) in [(0, 1), (4095, 3), (1234, 4000)] {
        check("transpose", vy[i * n + j] as f64, vx[j * n + i] as f64, 0.0);
    }
    let s = measure(|| {
        black_box(black_box(&x).t().contiguous());
    });
    report(
        "transpose_4096",
        &s,
        None,
        Some(2.0 * 4.0 * (n * n) as f64),
        pool,
    );
}

/// `grad(|x| x.sin().sum())(x)` on a 5-element f32 vector: the fixed cost of one reverse-mode
/// transform (trace two primitives, walk the graph back, run their vjp rules). Target: at
/// most 3 us (issue 3).
fn grad_sin_sum_5(pool: bool) {
    let x = tensor(&[5], 9);
    let g = grad(|x: Tensor| x.sin().sum());
    let got = g(x.clone()).to_vec::<f32>();
    for (v, dv) in x.to_vec::<f32>().iter().zip(&got) {
        check("grad_sin_sum", *dv as f64, v.cos() as f64, 1e-6);
    }
    let s = measure(|| {
        black_box(g(black_box(x.clone())));
    });
    report("grad_sin_sum_5", &s, None, None, pool);
}

/// New values for `params` (same keys and shapes), identical to the Python side's: the k-th
/// key in sorted order gets `values(seed + k) / sqrt(fan_in)` (torch's default init range),
/// where `fan_in` is that layer's weight's fan-in, skipping `lead` stacked leading dims.
fn lcg_params(params: &StateDict, lead: usize, seed: u64) -> StateDict {
    params
        .iter()
        .enumerate()
        .map(|(k, (name, p))| {
            let layer = name.rsplit_once('.').map_or("", |(layer, _)| layer);
            let weight = &params[&format!("{layer}.weight")];
            let fan_in: usize = weight.shape()[lead + 1..].iter().product();
            let scale = (1.0 / (fan_in as f64).sqrt()) as f32;
            let data: Vec<f32> = values(p.shape().iter().product(), seed + k as u64)
                .into_iter()
                .map(|v| v * scale)
                .collect();
            let t = Tensor::from_vec(data, p.shape()).expect("length matches");
            (name.clone(), t)
        })
        .collect()
}

/// The `"check"` field for cross-checking with torch: each output's shape (in order) and the
/// sum of the absolute values of all output elements.
fn output_check<'a>(outputs: impl IntoIterator<Item = &'a Tensor>) -> String {
    let (mut shapes, mut abs_sum) = (Vec::new(), 0f64);
    for t in outputs {
        shapes.push(format!("{:?}", t.shape()));
        abs_sum += t
            .to_vec::<f32>()
            .iter()
            .map(|v| v.abs() as f64)
            .sum::<f64>();
    }
    format!(
        ",\"check\":{{\"shapes\":[{}],\"abs_sum\":{abs_sum:.9e}}}",
        shapes.join(",")
    )
}

/// Panic unless two parameter dicts agree (same keys, `allclose(rtol, atol)`).
fn check_dicts(what: &str, got: &StateDict, want: &StateDict, rtol: f64, atol: f64) {
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        want.keys().collect::<Vec<_>>(),
        "{what}"
    );
    for (name, g) in got {
        assert!(
            g.allclose(&want[name], rtol, atol),
            "{what}: {name} differs"
        );
    }
}

/// Per-sample gradients of all parameters of the per_sample_grads example's CNN over a
/// [64, 1, 8, 8] batch, as PyTorch's tutorial computes them:
/// `vmap(grad(compute_loss), in_dims=(None, None, 0, 0))` over `functional_call`.
fn per_sample_grads_cnn(pool: bool) {
    let batch_size = 64;
    let model = SimpleCnn::new();
    let params = lcg_params(&model.named_parameters(), 0, 100);
    let buffers = model.named_buffers();
    let data = tensor(&[batch_size, 1, 8, 8], 10);
    let targets = labels(batch_size, 11);

    type Args = (StateDict, StateDict, Tensor, Tensor);
    let compute_loss = |(params, buffers, sample, target): Args| {
        let batch = sample.unsqueeze(0);
        let targets = target.unsqueeze(0);
        let predictions = nn::functional_call(&model, (&params, &buffers), &batch);
        nll_loss(&predictions, &targets)
    };
    let ft_compute_sample_grad = vmap_with(
        grad(compute_loss),
        VmapOpts::new().in_dims((UNMAPPED, UNMAPPED, 0, 0)),
    );
    let call = |p: &StateDict, b: &StateDict, x: &Tensor, y: &Tensor| {
        ft_compute_sample_grad((p.clone(), b.clone(), x.clone(), y.clone()))
    };

    let grads = call(&params, &buffers, &data, &targets);
    for (name, p) in &params {
        let mut want = vec![batch_size];
        want.extend_from_slice(p.shape());
        assert_eq!(
            grads[name].shape(),
            &want[..],
            "per-sample gradient of {name}"
        );
    }
    for i in [0, batch_size as isize - 1] {
        let single = grad(compute_loss)((
            params.clone(),
            buffers.clone(),
            data.select(0, i),
            targets.select(0, i),
        ));
        let row: StateDict = grads
            .iter()
            .map(|(k, g)| (k.clone(), g.select(0, i)))
            .collect();
        check_dicts(
            &format!("per-sample gradient {i}: vmap(grad) vs grad"),
            &row,
            &single,
            1e-4,
            1e-6,
        );
    }
    let check = output_check(grads.values());
    let s = measure(|| {
        black_box(call(
            black_box(&params),
            &buffers,
            black_box(&data),
            &targets,
        ));
    });
    report_with("per_sample_grads_cnn", &s, None, None, pool, &check);
}

/// The model_ensembling example's 10 MLPs, stacked with `stack_module_state` and given the
/// deterministic values; returns a copy of one model (the structure) and the stacked dicts.
fn ensemble_10() -> (SimpleMlp, StateDict, StateDict) {
    let models: Vec<SimpleMlp> = (0..10).map(|_| SimpleMlp::new()).collect();
    let (params, buffers) = nn::stack_module_state(&models);
    assert!(params.values().all(|p| p.shape()[0] == 10));
    (models[0].clone(), lcg_params(&params, 1, 200), buffers)
}

/// Member `i` of stacked dicts.
fn member(stacked: &StateDict, i: isize) -> StateDict {
    stacked
        .iter()
        .map(|(k, v)| (k.clone(), v.select(0, i)))
        .collect()
}

/// The forward pass of an ensemble of 10 MLPs on one shared [64, 64] minibatch, as PyTorch's
/// "Model ensembling" tutorial runs it: `vmap(fmodel, in_dims=(0, 0, None))`.
fn ensemble_mlp_10(pool: bool) {
    let (base_model, params, buffers) = ensemble_10();
    let minibatch = tensor(&[64, 64], 20);
    let fmodel = |(params, buffers, x): (StateDict, StateDict, Tensor)| {
        nn::functional_call(&base_model, (&params, &buffers), &x)
    };
    let vmap_same = vmap_with(fmodel, VmapOpts::new().in_dims((0, 0, UNMAPPED)));
    let call =
        |p: &StateDict, b: &StateDict, x: &Tensor| vmap_same((p.clone(), b.clone(), x.clone()));

    let predictions = call(&params, &buffers, &minibatch);
    assert_eq!(predictions.shape(), &[10, 64, 10]);
    for i in [0, 9] {
        let alone = fmodel((member(&params, i), member(&buffers, i), minibatch.clone()));
        assert!(
            predictions.select(0, i).allclose(&alone, 1e-5, 1e-5),
            "ensemble member {i}: vmap(fmodel) differs from functional_call"
        );
    }
    let check = output_check([&predictions]);
    let s = measure(|| {
        black_box(call(black_box(&params), &buffers, black_box(&minibatch)));
    });
    report_with("ensemble_mlp_10", &s, None, None, pool, &check);
}

/// The gradient of one training step of the same ensemble: the cross-entropy of each member
/// on one shared [64, 64] minibatch with [64] labels, differentiated with respect to the
/// stacked parameters: `vmap(grad(loss), in_dims=(0, 0, None, None))` (no optimiser update).
fn ensemble_train_step_10(pool: bool) {
    let (base_model, params, buffers) = ensemble_10();
    let (x, y) = (tensor(&[64, 64], 20), labels(64, 21));
    type Args = (StateDict, StateDict, Tensor, Tensor);
    let loss = |(params, buffers, x, y): Args| {
        cross_entropy(
            &nn::functional_call(&base_model, (&params, &buffers), &x),
            &y,
        )
    };
    let step = vmap_with(
        grad(loss),
        VmapOpts::new().in_dims((0, 0, UNMAPPED, UNMAPPED)),
    );
    let call = |p: &StateDict, b: &StateDict, x: &Tensor, y: &Tensor| {
        step((p.clone(), b.clone(), x.clone(), y.clone()))
    };

    let grads = call(&params, &buffers, &x, &y);
    for (name, p) in &params {
        assert_eq!(grads[name].shape(), p.shape(), "stacked gradient of {name}");
    }
    for i in [0, 9] {
        let alone = grad(loss)((
            member(&params, i),
            member(&buffers, i),
            x.clone(),
            y.clone(),
        ));
        check_dicts(
            &format!("ensemble member {i}: vmap(grad) vs grad"),
            &member(&grads, i),
            &alone,
            1e-4,
            1e-6,
        );
    }
    let check = output_check(grads.values());
    let s = measure(|| {
        black_box(call(black_box(&params), &buffers, black_box(&x), &y));
    });
    report_with("ensemble_train_step_10", &s, None, None, pool, &check);
}

/// Per-sample gradients of an MNIST-sized MLP (784-512-512-10, relu, cross-entropy) over a
/// batch of 256: `vmap(grad(loss), in_dims=(None, 0, 0))`. The output, one gradient of all
/// 669,706 parameters per sample, is 686 MB of f32 per call, so where its buffers come
/// from (the pool, or fresh pages) decides much of the time (issue 10).
fn per_sample_grads_mlp_784(pool: bool) {
    let batch_size = 256;
    let dims = [784, 512, 512, 10];
    let scaled = |shape: &[usize], seed: u64, fan_in: usize| {
        let scale = (1.0 / (fan_in as f64).sqrt()) as f32;
        let v: Vec<f32> = values(shape.iter().product(), seed)
            .into_iter()
            .map(|v| v * scale)
            .collect();
        Tensor::from_vec(v, shape).expect("length matches")
    };
    let params: Vec<Tensor> = (0..3)
        .flat_map(|l| {
            let (fan_in, fan_out) = (dims[l], dims[l + 1]);
            [
                scaled(&[fan_out, fan_in], 300 + 2 * l as u64, fan_in),
                scaled(&[fan_out], 301 + 2 * l as u64, fan_in),
            ]
        })
        .collect();
    let data = tensor(&[batch_size, 784], 30);
    let targets = labels(batch_size, 31);
    type Args = (Vec<Tensor>, Tensor, Tensor);
    let loss = |(p, x, y): Args| {
        let h = cotangent::linear(&x.unsqueeze(0), &p[0], Some(&p[1])).relu();
        let h = cotangent::linear(&h, &p[2], Some(&p[3])).relu();
        let logits = cotangent::linear(&h, &p[4], Some(&p[5]));
        cross_entropy(&logits, &y.unsqueeze(0))
    };
    let per_sample = vmap_with(grad(loss), VmapOpts::new().in_dims((UNMAPPED, 0, 0)));
    let call =
        |p: &Vec<Tensor>, x: &Tensor, y: &Tensor| per_sample((p.clone(), x.clone(), y.clone()));

    let grads = call(&params, &data, &targets);
    for (g, p) in grads.iter().zip(&params) {
        let mut want = vec![batch_size];
        want.extend_from_slice(p.shape());
        assert_eq!(g.shape(), &want[..], "per-sample gradient shape");
    }
    for i in [0, batch_size as isize - 1] {
        let single = grad(loss)((params.clone(), data.select(0, i), targets.select(0, i)));
        for (g, s) in grads.iter().zip(&single) {
            assert!(
                g.select(0, i).allclose(s, 1e-4, 1e-6),
                "per-sample gradient {i}: vmap(grad) vs grad"
            );
        }
    }
    let check = output_check(&grads);
    drop(grads);
    let s = measure(|| {
        black_box(call(black_box(&params), black_box(&data), &targets));
    });
    report_with("per_sample_grads_mlp_784", &s, None, None, pool, &check);
}

fn main() {
    let pool = std::env::var("COTANGENT_POOL")
        .map(|v| v != "0")
        .unwrap_or(true);
    // `cargo bench` passes `--bench`; other non-flag arguments select workloads.
    let wanted: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let run = |name: &str| wanted.is_empty() || wanted.iter().any(|w| w == name);
    if run("matmul_1024") {
        matmul_1024(pool);
    }
    if run("add_4M") {
        add("add_4M", 4 << 20, pool);
    }
    if run("sum_16M") {
        sum_16m(pool);
    }
    if run("transpose_4096") {
        transpose_4096(pool);
    }
    if run("add_5") {
        add("add_5", 5, pool);
    }
    if run("grad_sin_sum_5") {
        grad_sin_sum_5(pool);
    }
    if run("per_sample_grads_cnn") {
        per_sample_grads_cnn(pool);
    }
    if run("ensemble_mlp_10") {
        ensemble_mlp_10(pool);
    }
    if run("ensemble_train_step_10") {
        ensemble_train_step_10(pool);
    }
    // Opt-in: 686 MB per call.
    if wanted.iter().any(|w| w == "per_sample_grads_mlp_784") {
        per_sample_grads_mlp_784(pool);
    }
}
