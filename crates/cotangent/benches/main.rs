//! Criterion benchmarks of the eager tensor core's primitives, at moderate sizes so a full
//! run stays short on a 2-core machine: `cargo bench -p cotangent --bench main`.
//!
//! Group `primitives`: elementwise add (bytes moved), a multiply with a broadcast operand
//! (bytes moved), full sum (elements read), a 256^3
//! matrix product (flops, reported as elements), a transposed copy (bytes moved) and the
//! eager overhead of a tiny add. The head-to-head comparison with PyTorch lives in
//! `side_by_side.rs` and `bench/compare_torch.py`.
//!
//! Group `transforms`: the fixed cost of reverse mode (`grad(|x| x.sin().sum())` on 5
//! elements; issue 3's target is 3 us), and per-example gradients of a small tanh MLP over a
//! batch of 64, batched with `vmap(grad(f))` against a loop of `grad(f)` over the examples.

// `criterion_group!` generates an undocumented `pub fn`.
#![allow(missing_docs)]

use std::hint::black_box;
use std::time::Duration;

use cotangent::{Tensor, UNMAPPED, VmapOpts, conv2d, grad, vmap_with};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

/// Deterministic values in [-1, 1).
fn tensor(shape: &[usize], seed: u64) -> Tensor {
    let n: usize = shape.iter().product();
    let mut s = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let values: Vec<f32> = (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect();
    Tensor::from_vec(values, shape).expect("length matches")
}

fn primitives(c: &mut Criterion) {
    let mut g = c.benchmark_group("primitives");
    g.sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));

    let n = 1 << 20;
    let (a, b) = (tensor(&[n], 1), tensor(&[n], 2));
    g.throughput(Throughput::Bytes(3 * 4 * n as u64));
    g.bench_function("add_f32_1M", |bench| {
        bench.iter(|| black_box(black_box(&a) + black_box(&b)))
    });

    // A broadcast operand along the last dim (a [128, 128, 1] factor on a [128, 128, 128]
    // tangent, as in jacfwd(jacfwd)): runs of the big operand against one value.
    let (big, col) = (tensor(&[128, 128, 128], 11), tensor(&[128, 128, 1], 12));
    g.throughput(Throughput::Bytes(2 * 4 * (128 * 128 * 128) as u64));
    g.bench_function("mul_broadcast_f32_128x128x128", |bench| {
        bench.iter(|| black_box(black_box(&big) * black_box(&col)))
    });

    let x = tensor(&[4 << 20], 3);
    g.throughput(Throughput::Elements(4 << 20));
    g.bench_function("sum_f32_4M", |bench| {
        bench.iter(|| black_box(black_box(&x).sum()))
    });

    let m = 256;
    let (p, q) = (tensor(&[m, m], 4), tensor(&[m, m], 5));
    g.throughput(Throughput::Elements(2 * (m * m * m) as u64));
    g.bench_function("matmul_f32_256", |bench| {
        bench.iter(|| black_box(black_box(&p).matmul(black_box(&q))))
    });

    let t = tensor(&[1024, 1024], 6);
    g.throughput(Throughput::Bytes(2 * 4 * 1024 * 1024));
    g.bench_function("transpose_copy_f32_1024", |bench| {
        bench.iter(|| black_box(black_box(&t).t().contiguous()))
    });

    // The per-sample-gradients CNN's second convolution on a batch of 64 (small outputs:
    // the images share one im2col product).
    let (img, ker) = (tensor(&[64, 32, 6, 6], 9), tensor(&[64, 32, 3, 3], 10));
    g.throughput(Throughput::Elements(2 * 64 * 64 * 32 * 9 * 16));
    g.bench_function("conv2d_f32_64x32x6x6_k3", |bench| {
        bench.iter(|| {
            black_box(conv2d(
                black_box(&img),
                black_box(&ker),
                None,
                [1, 1],
                [0, 0],
                [1, 1],
                1,
            ))
        })
    });

    // relu is `where_(x <= 0, 0, x)`: the select kernel on random signs.
    let h = tensor(&[10, 64, 128], 11);
    g.throughput(Throughput::Elements(10 * 64 * 128));
    g.bench_function("relu_f32_10x64x128", |bench| {
        bench.iter(|| black_box(black_box(&h).relu()))
    });

    let (s1, s2) = (tensor(&[5], 7), tensor(&[5], 8));
    g.throughput(Throughput::Elements(5));
    g.bench_function("add_f32_5_eager_overhead", |bench| {
        bench.iter(|| black_box(black_box(&s1) + black_box(&s2)))
    });
    g.finish();
}

/// A two-layer tanh MLP's squared error on one example (`x` `[32]`, target `t` `[8]`).
fn mlp_loss((params, x, t): (Vec<Tensor>, Tensor, Tensor)) -> Tensor {
    let h = x.matmul(&params[0]).tanh();
    let e = &h.matmul(&params[1]).tanh() - &t;
    (&e * &e).sum()
}

fn transforms(c: &mut Criterion) {
    let mut g = c.benchmark_group("transforms");
    g.sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));

    let x = tensor(&[5], 9);
    let grad_sin_sum = grad(|x: Tensor| x.sin().sum());
    g.throughput(Throughput::Elements(5));
    g.bench_function("grad_sin_sum_5", |bench| {
        bench.iter(|| black_box(grad_sin_sum(black_box(x.clone()))))
    });

    let batch = 64;
    let params = vec![tensor(&[32, 64], 10), tensor(&[64, 8], 11)];
    let (xs, ts) = (tensor(&[batch, 32], 12), tensor(&[batch, 8], 13));
    let per_example = vmap_with(grad(mlp_loss), VmapOpts::new().in_dims((UNMAPPED, 0, 0)));
    g.throughput(Throughput::Elements(batch as u64));
    g.bench_function("vmap_grad_mlp_64", |bench| {
        bench.iter(|| {
            let grads: Vec<Tensor> = per_example((params.clone(), xs.clone(), ts.clone()));
            black_box(grads)
        })
    });
    let one_example = grad(mlp_loss);
    g.bench_function("loop_grad_mlp_64", |bench| {
        bench.iter(|| {
            let grads: Vec<Vec<Tensor>> = (0..batch as isize)
                .map(|i| one_example((params.clone(), xs.select(0, i), ts.select(0, i))))
                .collect();
            black_box(grads)
        })
    });
    g.finish();
}

criterion_group!(benches, primitives, transforms);
criterion_main!(benches);
