//! Memory bounds, measured with a counting global allocator.
//!
//! - Reverse mode keeps only what the rules need (issue 3): the gradient of a 50-layer tanh
//!   MLP holds no more than about twice the activations at its peak, beyond the gradients it
//!   returns (which for 256 x 256 weights and a batch of 64 are themselves 4 x the
//!   activations). Two measurements: the bytes `vjp` keeps between the forward and the
//!   backward pass (the residuals the rules declared: about one activation per layer), and
//!   the peak of a whole `grad` call minus its returned gradients.
//! - `chunk_size` bounds jacrev's memory (issue 8): on f: R^2 -> R^N each chunk of `k` rows
//!   builds only its own `k x N` rows of the identity, so the peak beyond the `N x 2` Jacobian
//!   grows with `k * N`, not `N^2` (N = 40,000 once asked for 19.2 GB with any chunk size).
//!
//! The allocator tracks the bytes live on the heap and their peak. The buffer pool is
//! switched off first (`set_pool_enabled(false)`), so idle pooled buffers do not count as
//! live. The process-wide counters see every thread's allocations, so the tests take one lock
//! and run one at a time (tests of one binary run on parallel threads).

// The counting allocator needs `unsafe impl GlobalAlloc`; it only forwards to `System`.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::{Mutex, MutexGuard};

use cotangent::array::storage::set_pool_enabled;
use cotangent::{JacrevOpts, Tensor, grad, jacfwd, jacrev_with, vjp};

/// `System`, counting the bytes currently allocated and their peak.
struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(bytes: usize) {
    let now = CURRENT.fetch_add(bytes, Relaxed) + bytes;
    PEAK.fetch_max(now, Relaxed);
}

// SAFETY: every method forwards to `System` with the caller's arguments unchanged, so the
// `GlobalAlloc` contract holds exactly as for `System`; the counters are plain atomics.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded unchanged; the caller upholds `alloc`'s contract.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded unchanged; the caller upholds `alloc_zeroed`'s contract.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged; `ptr` came from this allocator with `layout`.
        unsafe { System.dealloc(ptr, layout) };
        CURRENT.fetch_sub(layout.size(), Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded unchanged; the caller upholds `realloc`'s contract.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            CURRENT.fetch_sub(layout.size(), Relaxed);
            grew(new_size);
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Bytes live now.
fn live() -> usize {
    CURRENT.load(Relaxed)
}

/// Restart peak tracking from the bytes live now.
fn reset_peak() {
    PEAK.store(live(), Relaxed);
}

/// One measurement at a time: the counters are process-wide.
fn exclusive() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    // A failed test poisons the lock; the counters are still fine for the next one.
    let guard = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    set_pool_enabled(false);
    guard
}

/// Deterministic values in [-scale, scale).
fn tensor(shape: &[usize], seed: u64, scale: f32) -> Tensor {
    let n: usize = shape.iter().product();
    let mut s = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let values: Vec<f32> = (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0) * scale
        })
        .collect();
    Tensor::from_vec(values, shape).expect("length matches")
}

const LAYERS: usize = 50;
const WIDTH: usize = 256;
const BATCH: usize = 64;

#[test]
fn grad_of_deep_tanh_mlp_holds_about_twice_the_activations() {
    let _serial = exclusive();
    let x = tensor(&[BATCH, WIDTH], 1, 1.0);
    let params: Vec<Tensor> = (0..LAYERS)
        .map(|i| tensor(&[WIDTH, WIDTH], 2 + i as u64, 1.0 / (WIDTH as f32).sqrt()))
        .collect();
    let loss = |ws: Vec<Tensor>| {
        let mut h = x.clone();
        for w in &ws {
            h = h.matmul(w).tanh();
        }
        h.sum()
    };
    // Warm up (rayon's thread pool, thread-locals), so the baseline is steady.
    drop(grad(loss)(params.clone()));

    let f32_bytes = std::mem::size_of::<f32>();
    let activations = LAYERS * BATCH * WIDTH * f32_bytes;
    let grad_bytes = LAYERS * WIDTH * WIDTH * f32_bytes;

    // 1. What the forward pass keeps for the backward pass (vjp's residuals).
    let baseline = live();
    let (value, vjp_fn) = vjp(loss, params.clone());
    let kept = live().saturating_sub(baseline);
    let kept_ratio = kept as f64 / activations as f64;
    drop((value, vjp_fn));

    // 2. The peak of a whole `grad` call, beyond the gradients it returns.
    let baseline = live();
    reset_peak();
    let grads: Vec<Tensor> = grad(loss)(params.clone());
    let peak_extra = PEAK.load(Relaxed).saturating_sub(baseline);
    let returned = live().saturating_sub(baseline);
    assert_eq!(grads.len(), LAYERS);
    assert!(grads.iter().all(|g| g.shape() == [WIDTH, WIDTH]));
    drop(grads);
    let beyond_grads = peak_extra.saturating_sub(grad_bytes);
    let ratio = beyond_grads as f64 / activations as f64;

    let peak_ratio = peak_extra as f64 / activations as f64;
    let report = format!(
        "activations {activations} B, gradients {grad_bytes} B; after the forward pass vjp \
         keeps {kept} B ({kept_ratio:.3} x activations); grad: peak {peak_extra} B above the \
         baseline ({peak_ratio:.3} x activations), {beyond_grads} B beyond the gradients = \
         {ratio:.3} x activations; {returned} B still live on return"
    );
    println!("{report}");
    assert!(
        kept_ratio <= 1.25,
        "the forward pass keeps more than the rules need: {report}"
    );
    assert!(
        beyond_grads as f64 <= 2.5 * activations as f64,
        "grad's peak memory beyond its gradients exceeds 2.5 x activations: {report}"
    );
}

/// The peak bytes above the baseline while `jacobian` runs, and the Jacobian it returns.
fn peak_of(jacobian: impl FnOnce() -> Tensor) -> (usize, Tensor) {
    let baseline = live();
    reset_peak();
    let j = jacobian();
    (PEAK.load(Relaxed).saturating_sub(baseline), j)
}

/// f(x) = sin(w x): R^2 -> R^n with w of shape [n, 2]: `(w, x, the Jacobian at x)`, which
/// is cos(w x)[:, None] * w.
fn sin_of_linear(n: usize, seed: u64) -> (Tensor, Tensor, Tensor) {
    let w = tensor(&[n, 2], seed, 1.0);
    let x = tensor(&[2], seed + 1, 1.0);
    let expected = &w.matmul(&x).cos().unsqueeze(1) * &w;
    (w, x, expected)
}

/// Per chunk of k rows jacrev holds its k x N rows of the identity and the cotangent they
/// pull back through sin (k x N each), plus a few hundred bytes of bookkeeping per chunk that
/// the chunks' results keep until they are concatenated (about 1.8 k x N at k = 10).
const BYTES_PER_CHUNK_ELEMENT: usize = 6 * std::mem::size_of::<f32>();

/// Measure jacrev of f: R^2 -> R^n with each chunk size in `chunk_sizes`, check the Jacobian
/// and assert that the peak beyond it is at most `BYTES_PER_CHUNK_ELEMENT x k x n`.
fn jacrev_peaks_scale_with_the_chunk(n: usize, chunk_sizes: &[usize]) {
    let _serial = exclusive();
    let (w, x, expected) = sin_of_linear(n, 11);
    let f = |x: Tensor| w.matmul(&x).sin();
    // Warm up (rayon's thread pool, thread-locals) on a small case, so the baseline is steady.
    let (w_small, x_small, _) = sin_of_linear(100, 21);
    let small = |x: Tensor| w_small.matmul(&x).sin();
    drop(jacrev_with::<_, _, Tensor, _>(
        small,
        JacrevOpts::new().chunk_size(10),
    )(x_small));

    let jacobian_bytes = n * 2 * std::mem::size_of::<f32>();
    let identity_bytes = n * n * std::mem::size_of::<f32>();
    let mut report = format!(
        "jacrev, f: R^2 -> R^{n} (f32): Jacobian {jacobian_bytes} B, the whole identity \
         {identity_bytes} B"
    );
    let mut beyond = Vec::new();
    for &k in chunk_sizes {
        let started = std::time::Instant::now();
        let (peak, j) = peak_of(|| jacrev_with(f, JacrevOpts::new().chunk_size(k))(x.clone()));
        let took = started.elapsed();
        assert!(
            j.allclose(&expected, 1e-5, 1e-6),
            "chunk_size {k}: wrong Jacobian"
        );
        drop(j);
        let extra = peak.saturating_sub(jacobian_bytes);
        let per_element = extra as f64 / (k * n) as f64;
        report += &format!(
            "\n  chunk_size {k:>4}: peak {peak:>11} B, {extra:>11} B beyond the Jacobian = \
             {per_element:.2} B x k x N ({took:.1?})"
        );
        beyond.push((k, extra));
    }
    println!("{report}");
    for (k, extra) in beyond {
        assert!(
            extra <= BYTES_PER_CHUNK_ELEMENT * k * n,
            "chunk_size {k}: peak beyond the Jacobian exceeds {BYTES_PER_CHUNK_ELEMENT} B x k \
             x N: {report}"
        );
    }
}

// jacrev of R^2 -> R^N does N^2 work whatever the chunk size, which takes about a minute per
// chunk size at N = 10,000 in a debug build; N = 5,000 keeps the suite quick and still puts
// the whole identity (100 MB) far above the bound for k = 10 and 100.
#[test]
fn jacrev_chunk_size_bounds_memory_by_the_chunk() {
    jacrev_peaks_scale_with_the_chunk(5_000, &[10, 100, 500]);
}

/// The case: N = 40,000, where the whole identity is 6.4 GB in f32.
#[test]
#[ignore = "N^2 work: about 20 s in release, 15 minutes in debug; run with --release -- --ignored"]
fn jacrev_chunk_size_bounds_memory_by_the_chunk_at_40k_outputs() {
    jacrev_peaks_scale_with_the_chunk(40_000, &[10, 100, 1000]);
}

#[test]
fn jacfwd_of_few_inputs_needs_memory_linear_in_the_outputs() {
    const N: usize = 40_000;
    let _serial = exclusive();
    let (w, x, expected) = sin_of_linear(N, 13);
    let f = |x: Tensor| w.matmul(&x).sin();
    drop(jacfwd::<_, _, Tensor, _>(f)(x.clone()));

    let jacobian_bytes = N * 2 * std::mem::size_of::<f32>();
    let (peak, j) = peak_of(|| jacfwd(f)(x.clone()));
    assert!(j.allclose(&expected, 1e-5, 1e-6), "wrong Jacobian");
    drop(j);
    let ratio = peak as f64 / jacobian_bytes as f64;
    let report = format!(
        "jacfwd, f: R^2 -> R^{N} (f32): peak {peak} B = {ratio:.2} x the Jacobian ({jacobian_bytes} B)"
    );
    println!("{report}");
    // Its basis is 2 x 2; the tangents, the values and the result are each N x 2 or N.
    assert!(
        ratio <= 8.0,
        "jacfwd needs more than 8 x its Jacobian: {report}"
    );
}
