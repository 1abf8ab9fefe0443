//! Checks and timings shared by the examples (each includes this file with
//! `#[path = "common/check.rs"] mod check;`, so not every example uses every item).
#![allow(dead_code)]

use std::time::Instant;

use cotangent::{DType, Tensor};

/// `torch.allclose(a, b, rtol, atol)` as an assertion: panics with the largest difference
/// if `|a - b| <= atol + rtol * |b|` fails anywhere; returns the largest difference.
#[track_caller]
pub fn assert_close(what: &str, a: &Tensor, b: &Tensor, rtol: f64, atol: f64) -> f64 {
    assert_eq!(a.shape(), b.shape(), "{what}: shapes differ");
    let worst = if a.numel() == 0 {
        0.0
    } else {
        (a - b).abs().max().to_dtype(DType::F64).item::<f64>()
    };
    assert!(
        a.allclose(b, rtol, atol),
        "{what}: not allclose(rtol={rtol:e}, atol={atol:e}); largest difference {worst:e}"
    );
    worst
}

/// Runs `f` once to warm up, then `reps` times; returns the last result and the median in ms.
pub fn time_ms<R>(reps: usize, mut f: impl FnMut() -> R) -> (R, f64) {
    let mut out = f();
    let mut times = Vec::with_capacity(reps);
    for _ in 0..reps {
        let start = Instant::now();
        out = f();
        times.push(start.elapsed().as_secs_f64() * 1e3);
    }
    times.sort_by(f64::total_cmp);
    (out, times[reps / 2])
}

/// Median wall times in milliseconds of `runs` calls of each of `fs`, and each one's last
/// result. The calls alternate (one of each per round), so a change in the machine's load
/// affects them alike.
pub fn time_interleaved<T>(runs: usize, fs: &mut [&mut dyn FnMut() -> T]) -> Vec<(f64, T)> {
    let mut times = vec![Vec::with_capacity(runs); fs.len()];
    let mut outs: Vec<Option<T>> = fs.iter().map(|_| None).collect();
    for _ in 0..runs {
        for ((f, t), out) in fs.iter_mut().zip(&mut times).zip(&mut outs) {
            let start = Instant::now();
            *out = Some(f());
            t.push(start.elapsed().as_secs_f64() * 1e3);
        }
    }
    times
        .into_iter()
        .zip(outs)
        .map(|(mut t, out)| {
            t.sort_by(f64::total_cmp);
            (t[runs / 2], out.expect("runs > 0"))
        })
        .collect()
}
