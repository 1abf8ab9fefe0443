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
//! Threads: rayon's default pool (one thread per core). `COTANGENT_POOL=0` disables the
//! buffer pool (read once per process); the value in force is reported as `"pool"`.
//!
//! Usage: `cargo bench -p cotangent --bench side_by_side [-- WORKLOAD...]`, where the
//! optional names pick a subset (`matmul_1024 add_4M sum_16M transpose_4096 add_5
//! grad_sin_sum_5`).

use std::hint::black_box;
use std::time::{Duration, Instant};

use cotangent::{Tensor, grad};

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
}

/// Time `f` (one call = one operation) with warm-up, adaptive batching and a median.
fn measure(mut f: impl FnMut()) -> Stats {
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
    }
}

/// Deterministic values in [-1, 1) (a 64-bit LCG; no dependency on a random crate).
fn values(n: usize, seed: u64) -> Vec<f32> {
    let mut s = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}

fn tensor(shape: &[usize], seed: u64) -> Tensor {
    Tensor::from_vec(values(shape.iter().product(), seed), shape).expect("length matches")
}

/// Print one result line.
fn report(workload: &str, s: &Stats, gflops: Option<f64>, bytes: Option<f64>, pool: bool) {
    let opt = |v: Option<f64>| v.map_or("null".to_string(), |v| format!("{v:.4}"));
    println!(
        "{{\"lib\":\"cotangent\",\"workload\":\"{workload}\",\"median_s\":{:.9e},\"iters\":{},\
         \"samples\":{},\"gflops\":{},\"gbps\":{},\"pool\":{pool},\"threads\":{}}}",
        s.median_s,
        s.iters,
        s.samples,
        opt(gflops.map(|f| f / s.median_s / 1e9)),
        opt(bytes.map(|b| b / s.median_s / 1e9)),
        rayon::current_num_threads(),
    );
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
}
