//! Reverse mode keeps only what the rules need (issue 3): the gradient of a 50-layer tanh MLP
//! holds no more than about twice the activations at its peak, beyond the gradients it
//! returns (which for 256 x 256 weights and a batch of 64 are themselves 4 x the
//! activations). Two measurements: the bytes `vjp` keeps between the forward and the backward
//! pass (the residuals the rules declared: about one activation per layer), and the peak of
//! a whole `grad` call minus its returned gradients.
//!
//! A counting global allocator tracks the bytes live on the heap and their peak. The buffer
//! pool is switched off first (`set_pool_enabled(false)`), so idle pooled buffers do not
//! count as live. The process-wide counters see every thread's allocations, so everything
//! runs sequentially in one `#[test]` (tests of one binary run on parallel threads).

// The counting allocator needs `unsafe impl GlobalAlloc`; it only forwards to `System`.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

use cotangent::array::storage::set_pool_enabled;
use cotangent::{Tensor, grad, vjp};

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
    set_pool_enabled(false);
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
