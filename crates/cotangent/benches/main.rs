//! Criterion benchmarks of the eager tensor core's primitives, at moderate sizes so a full
//! run stays short on a 2-core machine: `cargo bench -p cotangent --bench main`.
//!
//! Group `primitives`: elementwise add (bytes moved), full sum (elements read), a 256^3
//! matrix product (flops, reported as elements), a transposed copy (bytes moved) and the
//! eager overhead of a tiny add. The head-to-head comparison with PyTorch lives in
//! `side_by_side.rs` and `bench/compare_torch.py`.

// `criterion_group!` generates an undocumented `pub fn`.
#![allow(missing_docs)]

use std::hint::black_box;
use std::time::Duration;

use cotangent::Tensor;
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

    let (s1, s2) = (tensor(&[5], 7), tensor(&[5], 8));
    g.throughput(Throughput::Elements(5));
    g.bench_function("add_f32_5_eager_overhead", |bench| {
        bench.iter(|| black_box(black_box(&s1) + black_box(&s2)))
    });
    g.finish();
}

criterion_group!(benches, primitives);
criterion_main!(benches);
