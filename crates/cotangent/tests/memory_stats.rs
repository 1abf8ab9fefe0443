//! The memory counters of `cotangent::memory` (torch's caching-allocator interface) and the
//! bound on the buffer pool (Note [Buffer pool] in `array/storage.rs`).
//!
//! The counters are process-wide, so this is its own test binary (`harness = false`) and its
//! trials run one at a time (`--test-threads` is forced to 1): nothing else allocates tensors
//! while a trial measures.

use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Barrier};

use cotangent::memory::{
    self, empty_cache, max_memory_allocated, max_memory_reserved, memory_allocated,
    memory_reserved, memory_stats, reset_peak_memory_stats,
};
use cotangent::{DType, Tensor, vjp};
use libtest_mimic::{Arguments, Failed, Trial};

const MIB: usize = 1 << 20;
/// The pool's floor on idle bytes (`IDLE_FLOOR_BYTES` in `array/storage.rs`).
const IDLE_FLOOR: usize = 64 * MIB;

/// The largest `max_memory_allocated` seen before any reset in this process: the pool's
/// recent peak can never exceed it.
static ALL_TIME_PEAK: AtomicUsize = AtomicUsize::new(0);

fn reset_peaks() {
    ALL_TIME_PEAK.fetch_max(max_memory_allocated(), Relaxed);
    reset_peak_memory_stats();
}

fn all_time_peak() -> usize {
    ALL_TIME_PEAK.load(Relaxed).max(max_memory_allocated())
}

/// Idle bytes the pool may keep now (Note [Buffer pool]), an upper bound: the recent peak is
/// at most the all-time peak.
fn idle_bound() -> usize {
    IDLE_FLOOR.max(all_time_peak().saturating_sub(memory_allocated()))
}

/// `(x + 1)`: a kernel output, whose buffer comes from the pool when one fits.
fn kernel_output(x: &Tensor) -> Tensor {
    x + 1.0
}

fn ensure(ok: bool, msg: impl FnOnce() -> String) -> Result<(), Failed> {
    if ok { Ok(()) } else { Err(msg().into()) }
}

fn eq(what: &str, got: usize, want: usize) -> Result<(), Failed> {
    ensure(got == want, || {
        format!("{what}: got {got} bytes, want {want}")
    })
}

fn counts_are_exact() -> Result<(), Failed> {
    let base = memory_allocated();
    for (dtype, size) in [
        (DType::F32, 4),
        (DType::F64, 8),
        (DType::I64, 8),
        (DType::Bool, 1),
    ] {
        // Small (allocator) and large (pooled) buffers alike.
        for n in [1, 1000, 3 << 20] {
            let x = Tensor::zeros_dtype(&[n], dtype);
            eq(
                &format!("zeros([{n}], {dtype})"),
                memory_allocated(),
                base + size * n,
            )?;
            let y = kernel_output(&x);
            let want = base + size * n + y.dtype().size_of() * n;
            eq(
                &format!("zeros([{n}], {dtype}) + 1"),
                memory_allocated(),
                want,
            )?;
            drop((x, y));
            eq(
                &format!("after dropping [{n}] {dtype}"),
                memory_allocated(),
                base,
            )?;
        }
    }

    // Views share their base's buffer: they allocate nothing, and the buffer lives (and
    // counts) until the last view drops.
    let x = Tensor::zeros(&[1024, 1024]);
    let with_x = memory_allocated();
    eq("zeros([1024, 1024])", with_x, base + (4 << 20))?;
    let views = [
        x.t(),
        x.reshape(&[512, 2048]),
        x.slice(0, 1, 1000, 3),
        x.narrow(1, 10, 20),
        x.select(0, 7),
        x.unsqueeze(0).expand(&[4, 1024, 1024]),
    ];
    eq("six views of x", memory_allocated(), with_x)?;
    drop(x);
    eq("views alive, x dropped", memory_allocated(), with_x)?;
    drop(views);
    eq("all views dropped", memory_allocated(), base)?;

    // A vector handed to `from_vec` counts its length as allocated and its capacity as
    // reserved.
    empty_cache();
    let (res0, alloc0) = (memory_reserved(), memory_allocated());
    let mut v = Vec::with_capacity(3000);
    v.extend((0..1000).map(|i| i as f32));
    let t = Tensor::from_vec(v, &[1000]).unwrap();
    eq("from_vec allocated", memory_allocated(), alloc0 + 4000)?;
    eq("from_vec reserved", memory_reserved(), res0 + 12000)?;
    drop(t);
    eq("from_vec dropped, allocated", memory_allocated(), alloc0)?;
    eq("from_vec dropped, reserved", memory_reserved(), res0)?;
    Ok(())
}

fn peak_and_reset() -> Result<(), Failed> {
    reset_peaks();
    let base = memory_allocated();
    eq("peak right after reset", max_memory_allocated(), base)?;
    let a = Tensor::zeros(&[2 << 20]); // 8 MiB
    let b = Tensor::zeros(&[1 << 20]); // 4 MiB
    drop(a);
    let c = Tensor::zeros(&[1 << 20]);
    eq(
        "peak of a and b live together",
        max_memory_allocated(),
        base + 12 * MIB,
    )?;
    ensure(max_memory_reserved() >= max_memory_allocated(), || {
        "max_memory_reserved < max_memory_allocated".into()
    })?;
    reset_peaks();
    eq("peak after reset", max_memory_allocated(), base + 8 * MIB)?;
    eq(
        "reserved peak after reset",
        max_memory_reserved(),
        memory_reserved(),
    )?;
    drop((b, c));
    eq("peak does not fall", max_memory_allocated(), base + 8 * MIB)?;
    Ok(())
}

fn empty_cache_releases_idle_memory() -> Result<(), Failed> {
    let x = Tensor::zeros(&[4 << 20]);
    let outputs: Vec<Tensor> = (0..4).map(|_| kernel_output(&x)).collect();
    drop(outputs);
    let stats = memory_stats();
    ensure(stats.cached_bytes >= 4 * (16 * MIB), || {
        format!("four 16 MiB outputs were freed but the pool keeps only {stats:?}")
    })?;
    eq(
        "reserved = allocated + cached",
        memory_reserved(),
        memory_allocated() + stats.cached_bytes,
    )?;
    empty_cache();
    eq("cached after empty_cache", memory_stats().cached_bytes, 0)?;
    eq(
        "reserved after empty_cache",
        memory_reserved(),
        memory_allocated(),
    )?;
    // A freed buffer is idle again, in reserved but not allocated.
    drop(x);
    eq(
        "cached after dropping x",
        memory_stats().cached_bytes,
        16 * MIB,
    )?;
    eq(
        "reserved after dropping x",
        memory_reserved(),
        memory_allocated() + 16 * MIB,
    )?;
    Ok(())
}

fn pool_reuses_freed_buffers() -> Result<(), Failed> {
    let x = Tensor::zeros(&[4 << 20]);
    drop(kernel_output(&x));
    let before = memory_stats();
    for _ in 0..10 {
        drop(kernel_output(&x));
    }
    let after = memory_stats();
    ensure(after.pool_hits >= before.pool_hits + 10, || {
        format!("a loop of same-sized outputs missed the pool: {before:?} -> {after:?}")
    })?;
    eq(
        "no new reserve in the loop",
        after.reserved_bytes,
        before.reserved_bytes,
    )?;
    Ok(())
}

fn cap_holds_after_freeing_many_sizes() -> Result<(), Failed> {
    // 300 buffers of distinct sizes (4 to 10 MiB), each freed before the next is made:
    // 2 GiB in all. The pool used to keep each one until it held 1 GiB per dtype; now the
    // live peak is one buffer, so idle memory stays near the floor.
    empty_cache();
    let mut worst = 0usize;
    for i in 0..300usize {
        let n = (1 << 20) + i * 5000;
        drop(Tensor::zeros(&[n]));
        worst = worst.max(memory_stats().cached_bytes);
    }
    let bound = idle_bound();
    ensure(worst <= bound, || {
        format!("idle memory {worst} B exceeded the cap {bound} B")
    })?;
    ensure(worst <= 256 * MIB, || {
        format!("idle memory reached {worst} B after freeing 2 GiB one buffer at a time")
    })?;
    Ok(())
}

fn cap_holds_after_freeing_many_large_buffers() -> Result<(), Failed> {
    // 24 buffers of 8 MiB live at once (192 MiB), then all freed: the pool may keep them
    // (the workload's own peak) and no more...
    empty_cache();
    let x = Tensor::zeros(&[2 << 20]);
    let many: Vec<Tensor> = (0..24).map(|_| kernel_output(&x)).collect();
    drop(many);
    let idle = memory_stats().cached_bytes;
    let bound = idle_bound();
    ensure(idle <= bound, || {
        format!("idle {idle} B exceeded the cap {bound} B")
    })?;
    ensure(
        memory_reserved() <= all_time_peak().max(memory_allocated() + IDLE_FLOOR),
        || "reserved memory above the workload's peak".into(),
    )?;
    drop(x);
    // ...until a later phase with a small peak has asked for enough memory (two epochs of
    // at least 1 GiB, or 8 x the recent peak, each; 4 GiB here): the big phase's buffers go.
    // (`cat` copies with memcpy, fast enough in a debug build.)
    let small = Tensor::zeros(&[1 << 20]); // 4 MiB
    for _ in 0..512 {
        drop(cotangent::cat(&[&small, &small], 0));
    }
    let idle = memory_stats().cached_bytes;
    ensure(idle <= IDLE_FLOOR, || {
        format!("after a long phase with a small peak, {idle} B stayed idle")
    })?;
    Ok(())
}

fn dropping_a_large_vjp_fn_returns_its_memory() -> Result<(), Failed> {
    let x = Tensor::zeros(&[1 << 20]) + 0.5; // 4 MiB
    let base = memory_allocated();
    let f = |x: Tensor| {
        let mut h = x;
        for _ in 0..8 {
            h = h.sin() * 1.5;
        }
        h.sum()
    };
    let (y, vjp_fn) = vjp(f, x.clone());
    // Each `sin` saves its input: x (already live) and 7 new 4 MiB activations.
    let kept = memory_allocated() - base;
    ensure(kept >= 7 * 4 * MIB, || {
        format!("vjp kept only {kept} B for 7 activations of 4 MiB")
    })?;
    drop(y);
    drop(vjp_fn);
    eq(
        "allocated right after dropping vjp_fn",
        memory_allocated(),
        base,
    )?;

    // The same after the pullback ran, and through a clone of the pullback.
    let (y, vjp_fn) = vjp(f, x.clone());
    let copy = vjp_fn.clone();
    let g = vjp_fn.call(Tensor::scalar(1f32));
    drop(vjp_fn);
    ensure(memory_allocated() > base + 4 * MIB, || {
        "a clone of vjp_fn must keep the residuals".into()
    })?;
    drop((y, copy));
    eq(
        "allocated after the pullback, only its result live",
        memory_allocated(),
        base + 4 * MIB,
    )?;
    drop(g);
    eq(
        "allocated after dropping the gradient",
        memory_allocated(),
        base,
    )?;
    Ok(())
}

fn counts_are_exact_across_threads() -> Result<(), Failed> {
    let base = memory_allocated();
    let threads = 4;
    let barrier = Arc::new(Barrier::new(threads + 1));
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                // Churn: rayon-parallel kernels (1M elements) on every thread at once.
                let x = Tensor::zeros(&[1 << 20]);
                for _ in 0..10 {
                    drop((kernel_output(&x) * 2.0).exp());
                }
                // Then hold a known amount while the main thread reads the counter.
                let held = Tensor::zeros(&[(t + 1) << 20]);
                drop(x);
                barrier.wait();
                barrier.wait();
                drop(held);
            })
        })
        .collect();
    barrier.wait();
    let want = base + (1..=threads).map(|k| 4 * (k << 20)).sum::<usize>();
    let got = memory_allocated();
    barrier.wait();
    for h in handles {
        h.join()
            .map_err(|_| Failed::from("a worker thread panicked"))?;
    }
    eq("while four threads hold 4, 8, 12 and 16 MiB", got, want)?;
    eq("after the threads finished", memory_allocated(), base)?;
    ensure(memory_reserved() >= memory_allocated(), || {
        "reserved < allocated".into()
    })?;
    Ok(())
}

fn pool_can_be_switched_off() -> Result<(), Failed> {
    memory::set_pool_enabled(false);
    let x = Tensor::zeros(&[4 << 20]);
    drop(kernel_output(&x));
    let stats = memory_stats();
    memory::set_pool_enabled(true);
    eq("cached with the pool off", stats.cached_bytes, 0)?;
    eq(
        "reserved with the pool off",
        stats.reserved_bytes,
        stats.allocated_bytes,
    )?;
    Ok(())
}

/// `COTANGENT_POOL=0` is read once per process: run this binary again with it set.
fn cotangent_pool_0_disables_the_pool() -> Result<(), Failed> {
    const NAME: &str = "cotangent_pool_0_disables_the_pool";
    if std::env::var("COTANGENT_POOL").as_deref() == Ok("0") {
        let x = Tensor::zeros(&[4 << 20]);
        drop(kernel_output(&x));
        let stats = memory_stats();
        eq("cached under COTANGENT_POOL=0", stats.cached_bytes, 0)?;
        return eq(
            "pool hits under COTANGENT_POOL=0",
            stats.pool_hits as usize,
            0,
        );
    }
    let exe = std::env::current_exe().map_err(|e| Failed::from(e.to_string()))?;
    let out = std::process::Command::new(exe)
        .args([NAME, "--exact"])
        .env("COTANGENT_POOL", "0")
        .output()
        .map_err(|e| Failed::from(e.to_string()))?;
    ensure(out.status.success(), || {
        format!(
            "the COTANGENT_POOL=0 run failed:\n{}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

fn main() {
    let mut args = Arguments::from_args();
    args.test_threads = Some(1);
    let trials = [
        (
            "counts_are_exact",
            counts_are_exact as fn() -> Result<(), Failed>,
        ),
        ("peak_and_reset", peak_and_reset),
        (
            "empty_cache_releases_idle_memory",
            empty_cache_releases_idle_memory,
        ),
        ("pool_reuses_freed_buffers", pool_reuses_freed_buffers),
        (
            "cap_holds_after_freeing_many_sizes",
            cap_holds_after_freeing_many_sizes,
        ),
        (
            "cap_holds_after_freeing_many_large_buffers",
            cap_holds_after_freeing_many_large_buffers,
        ),
        (
            "dropping_a_large_vjp_fn_returns_its_memory",
            dropping_a_large_vjp_fn_returns_its_memory,
        ),
        (
            "counts_are_exact_across_threads",
            counts_are_exact_across_threads,
        ),
        ("pool_can_be_switched_off", pool_can_be_switched_off),
        (
            "cotangent_pool_0_disables_the_pool",
            cotangent_pool_0_disables_the_pool,
        ),
    ]
    .into_iter()
    .map(|(name, f)| Trial::test(name, f))
    .collect();
    libtest_mimic::run(&args, trials).exit();
}
