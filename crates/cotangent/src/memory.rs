//! How much memory tensors hold, and the cache of idle buffers: torch's caching-allocator
//! interface (`torch.cuda.memory_allocated` and friends) for host memory.
//!
//! - [`memory_allocated`]: bytes held by live tensors' buffers, each counted once however
//!   many views share it (a tensor of `n` f32 elements is `4 n` bytes; a view is 0).
//! - [`memory_reserved`]: bytes the library holds from the system allocator: the live
//!   buffers plus the idle ones the buffer pool keeps for reuse (and the unused tail of a
//!   reused buffer that is larger than its tensor; see Note [Buffer pool] in
//!   `array/storage.rs`). Never less than [`memory_allocated`].
//! - [`max_memory_allocated`], [`max_memory_reserved`]: the peaks since the process started
//!   or since the last [`reset_peak_memory_stats`].
//! - [`empty_cache`]: give every idle pooled buffer back to the system allocator now, so
//!   `memory_reserved()` falls to what live tensors hold.
//! - [`memory_stats`]: all of the above at once, plus the pool's hit, miss and eviction
//!   counts.
//!
//! ```
//! use cotangent::{Tensor, memory};
//!
//! let before = memory::memory_allocated();
//! let x = Tensor::zeros(&[1000, 1000]); // f32
//! let xt = x.t(); // a view: no new buffer
//! assert!(memory::memory_allocated() >= before + 4_000_000);
//! assert!(memory::memory_reserved() >= memory::memory_allocated());
//! drop((x, xt));
//! memory::empty_cache(); // idle buffers go back to the system allocator
//! ```
//!
//! The counters are process-wide atomics: buffers allocated on any thread (rayon workers,
//! user threads) count, so a measurement is exact only when no other thread allocates
//! tensors meanwhile. Each counter is exact on its own; `memory_reserved` adds two of them,
//! so while other threads are allocating it can be off by one buffer in flight.
//!
//! These counters describe host (CPU) memory, the only device today. A device allocator
//! (CUDA) keeps the same counters, one `MemoryCounters` per device, and reports them
//! through the same names with a device argument.

use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

pub use crate::array::storage::set_pool_enabled;
use crate::array::storage::{self, CPU_MEMORY};

/// Bytes held by live tensors' buffers (host memory). Views share their base's buffer and
/// add nothing. torch: `torch.cuda.memory_allocated()`.
pub fn memory_allocated() -> usize {
    CPU_MEMORY.allocated()
}

/// The peak of [`memory_allocated`] since the process started or the last
/// [`reset_peak_memory_stats`]. torch: `torch.cuda.max_memory_allocated()`.
pub fn max_memory_allocated() -> usize {
    CPU_MEMORY.peak_allocated.load(Relaxed)
}

/// Bytes held from the system allocator: [`memory_allocated`] plus the idle buffers the
/// pool keeps for reuse (plus the unused tails of reused buffers larger than their tensor).
/// torch: `torch.cuda.memory_reserved()`.
pub fn memory_reserved() -> usize {
    CPU_MEMORY.reserved()
}

/// The peak of [`memory_reserved`] since the process started or the last
/// [`reset_peak_memory_stats`]. torch: `torch.cuda.max_memory_reserved()`.
pub fn max_memory_reserved() -> usize {
    CPU_MEMORY.peak_reserved.load(Relaxed)
}

/// Restart both peaks ([`max_memory_allocated`], [`max_memory_reserved`]) from the current
/// values. torch: `torch.cuda.reset_peak_memory_stats()`.
pub fn reset_peak_memory_stats() {
    CPU_MEMORY.reset_peaks();
}

/// Free every idle buffer the pool holds, so [`memory_reserved`] falls to what live tensors
/// hold. The pool stays on and fills again as tensors are dropped. torch:
/// `torch.cuda.empty_cache()`.
pub fn empty_cache() {
    storage::empty_cache();
}

/// A snapshot of the memory counters (torch: `torch.cuda.memory_stats()`, a few of its
/// keys). Fields are read one after another, so under concurrent allocation they can
/// disagree by a buffer in flight.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemoryStats {
    /// [`memory_allocated`].
    pub allocated_bytes: usize,
    /// [`max_memory_allocated`].
    pub peak_allocated_bytes: usize,
    /// [`memory_reserved`].
    pub reserved_bytes: usize,
    /// [`max_memory_reserved`].
    pub peak_reserved_bytes: usize,
    /// Bytes in idle pooled buffers (what [`empty_cache`] would free).
    pub cached_bytes: usize,
    /// Buffers the pool has handed out again instead of asking the system allocator.
    pub pool_hits: u64,
    /// Poolable requests the pool could not serve (a fresh allocation).
    pub pool_misses: u64,
    /// Idle buffers the pool freed to stay within its cap.
    pub pool_evictions: u64,
}

/// All counters at once.
pub fn memory_stats() -> MemoryStats {
    let pool = storage::pool_counts();
    MemoryStats {
        allocated_bytes: memory_allocated(),
        peak_allocated_bytes: max_memory_allocated(),
        reserved_bytes: memory_reserved(),
        peak_reserved_bytes: max_memory_reserved(),
        cached_bytes: pool.idle_bytes,
        pool_hits: pool.hits,
        pool_misses: pool.misses,
        pool_evictions: pool.evictions,
    }
}

/// The counters of one device's allocator. Lock-free: a buffer's birth and death each cost
/// one atomic add in the common case (no unused tail), which the 5-element eager benchmark
/// can afford; the peaks are updated only when exceeded.
#[derive(Debug)]
pub(crate) struct MemoryCounters {
    /// Bytes of live buffers (their lengths).
    allocated: AtomicUsize,
    /// Reserved minus allocated: idle pooled buffers and unused tails of live ones. Kept
    /// apart so that a buffer without a tail touches only `allocated`.
    extra: AtomicUsize,
    peak_allocated: AtomicUsize,
    peak_reserved: AtomicUsize,
}

impl MemoryCounters {
    /// All zero.
    pub(crate) const fn new() -> Self {
        MemoryCounters {
            allocated: AtomicUsize::new(0),
            extra: AtomicUsize::new(0),
            peak_allocated: AtomicUsize::new(0),
            peak_reserved: AtomicUsize::new(0),
        }
    }

    /// Current allocated bytes.
    pub(crate) fn allocated(&self) -> usize {
        self.allocated.load(Relaxed)
    }

    /// The peak of allocated bytes.
    #[cfg_attr(not(feature = "cuda"), allow(dead_code))]
    pub(crate) fn peak_allocated(&self) -> usize {
        self.peak_allocated.load(Relaxed)
    }

    /// The peak of reserved bytes.
    #[cfg_attr(not(feature = "cuda"), allow(dead_code))]
    pub(crate) fn peak_reserved(&self) -> usize {
        self.peak_reserved.load(Relaxed)
    }

    /// Current reserved bytes.
    pub(crate) fn reserved(&self) -> usize {
        let extra = self.extra.load(Relaxed);
        self.allocated.load(Relaxed) + extra
    }

    /// A buffer of `len_bytes` (capacity `cap_bytes`) became live. Returns the new
    /// allocated total. A buffer taken from the pool must have been given back with
    /// [`Self::leave_idle`] first.
    pub(crate) fn born(&self, len_bytes: usize, cap_bytes: usize) -> usize {
        let tail = cap_bytes - len_bytes;
        if tail != 0 {
            self.extra.fetch_add(tail, Relaxed);
        }
        let allocated = self.allocated.fetch_add(len_bytes, Relaxed) + len_bytes;
        // Every local maximum of `allocated` is the result of some `fetch_add`, so checking
        // each result keeps the peak exact.
        if allocated > self.peak_allocated.load(Relaxed) {
            self.peak_allocated.fetch_max(allocated, Relaxed);
        }
        let reserved = allocated + self.extra.load(Relaxed);
        if reserved > self.peak_reserved.load(Relaxed) {
            self.peak_reserved.fetch_max(reserved, Relaxed);
        }
        allocated
    }

    /// A live buffer of `len_bytes` (capacity `cap_bytes`) died; `kept` if the pool keeps
    /// it (its bytes stay reserved, as idle).
    pub(crate) fn died(&self, len_bytes: usize, cap_bytes: usize, kept: bool) {
        let tail = cap_bytes - len_bytes;
        if kept {
            self.extra.fetch_add(len_bytes, Relaxed);
        } else if tail != 0 {
            self.extra.fetch_sub(tail, Relaxed);
        }
        self.allocated.fetch_sub(len_bytes, Relaxed);
    }

    /// `bytes` of idle buffers left the pool (handed out again, or freed).
    pub(crate) fn leave_idle(&self, bytes: usize) {
        self.extra.fetch_sub(bytes, Relaxed);
    }

    pub(crate) fn reset_peaks(&self) {
        self.peak_allocated.store(self.allocated(), Relaxed);
        self.peak_reserved.store(self.reserved(), Relaxed);
    }
}
