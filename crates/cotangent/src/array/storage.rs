//! Buffers: the flat, typed memory an [`Array`](super::Array) views, the counters of
//! [`crate::memory`], and the pool that recycles large CPU buffers.
//!
//! Note [Buffer pool]: fresh memory is slow to touch on our machines (each first write to a
//! page faults, measured near 0.6 GB/s), so an output of `a + b` on 4M elements would spend
//! most of its time in the kernel's page faults. Large buffers (64 KiB and up) are therefore
//! returned to a size-bucketed pool when their last view drops, and the next kernel that
//! needs a buffer of that size takes one back instead of asking the allocator. Small buffers
//! go straight to the allocator, which already recycles them cheaply.
//!
//! The pool is bounded by the workload's own recent peak: after every pool operation,
//!
//! ```text
//! idle bytes <= max(IDLE_FLOOR_BYTES, recent peak of memory_allocated - memory_allocated)
//! ```
//!
//! i.e. live plus idle memory never exceeds what the program itself had live at its recent
//! peak (plus a 64 MiB floor), so the pool never raises the process's high-water mark. A
//! loop whose iterations peak at P reuses everything (what one iteration frees is at most
//! what the next needs, at most P), while buffers of sizes a workload no longer asks for
//! cannot pile up. "Recent" is two epochs of pool traffic, each at least 8 x that peak
//! (and 1 GiB): after a phase with a large peak, its idle buffers are released once the
//! program has requested that much memory at a lower peak. When a buffer must go, the one
//! idle longest goes first (least recently freed, over all dtypes), never the incoming one
//! by refusal. A request is served by an idle buffer of capacity in `[len, 2 len)` (newest
//! first), so a reused buffer's unused tail is less than its length; that tail counts in
//! `memory_reserved`, not `memory_allocated`.
//!
//! Every live buffer is counted in [`crate::memory`]'s counters when it is wrapped into a
//! [`CpuStorage`] and uncounted when that drops; `CpuStorage` has private fields, so no
//! buffer escapes the count. `memory::empty_cache` frees the idle buffers now.
//! `COTANGENT_POOL=0` disables the pool (used by the benchmark that measures whether it
//! pays); [`set_pool_enabled`] switches it at run time.

use std::any::Any;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering, Ordering::Relaxed};
use std::sync::{Mutex, MutexGuard};

use super::dtype::{DType, Element};
use crate::memory::MemoryCounters;

/// The host memory counters behind [`crate::memory`].
pub(crate) static CPU_MEMORY: MemoryCounters = MemoryCounters::new();

/// Typed CPU memory. While it lives its bytes count in `memory::memory_allocated`; when it
/// drops, a large buffer goes back to the pool (Note [Buffer pool]).
#[derive(Debug)]
pub struct CpuStorage {
    data: CpuData,
}

/// The vector inside a [`CpuStorage`] (also what the pool keeps idle).
#[derive(Debug)]
enum CpuData {
    Bool(Vec<bool>),
    I64(Vec<i64>),
    F32(Vec<f32>),
    F64(Vec<f64>),
}

impl CpuStorage {
    /// The element type.
    pub fn dtype(&self) -> DType {
        match &self.data {
            CpuData::Bool(_) => DType::Bool,
            CpuData::I64(_) => DType::I64,
            CpuData::F32(_) => DType::F32,
            CpuData::F64(_) => DType::F64,
        }
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        match &self.data {
            CpuData::Bool(v) => v.len(),
            CpuData::I64(v) => v.len(),
            CpuData::F32(v) => v.len(),
            CpuData::F64(v) => v.len(),
        }
    }

    /// `true` if it holds no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Drop for CpuStorage {
    fn drop(&mut self) {
        match &mut self.data {
            CpuData::Bool(v) => release(std::mem::take(v)),
            CpuData::I64(v) => release(std::mem::take(v)),
            CpuData::F32(v) => release(std::mem::take(v)),
            CpuData::F64(v) => release(std::mem::take(v)),
        }
    }
}

/// Typed access to the vector inside a [`CpuStorage`].
pub trait StorageElement: Element {
    /// The slice, if the storage holds this element type.
    fn slice(s: &CpuStorage) -> Option<&[Self]>;
    /// Wrap a vector (from here on its bytes count as allocated).
    fn wrap(v: Vec<Self>) -> CpuStorage;
}

macro_rules! storage_element {
    ($t:ty, $variant:ident) => {
        impl StorageElement for $t {
            fn slice(s: &CpuStorage) -> Option<&[Self]> {
                match &s.data {
                    CpuData::$variant(v) => Some(v),
                    _ => None,
                }
            }
            fn wrap(v: Vec<Self>) -> CpuStorage {
                born(&v);
                CpuStorage {
                    data: CpuData::$variant(v),
                }
            }
        }
    };
}
storage_element!(bool, Bool);
storage_element!(i64, I64);
storage_element!(f32, F32);
storage_element!(f64, F64);

/// Buffers of at least this many bytes are pooled; smaller ones use the allocator directly.
const POOL_MIN_BYTES: usize = 1 << 16;
/// Idle bytes the pool may always keep, whatever the recent peak (Note [Buffer pool]).
const IDLE_FLOOR_BYTES: usize = 64 << 20;
/// An epoch of the recent peak lasts until the pool has been asked for this many times the
/// recent peak (in bytes)...
const EPOCH_PEAK_FACTOR: usize = 8;
/// ...and at least this many bytes.
const EPOCH_MIN_BYTES: usize = 1 << 30;

/// The peak of `memory_allocated` in the current epoch (Note [Buffer pool]); raised by
/// [`born`], restarted by the pool when an epoch ends.
static EPOCH_PEAK: AtomicUsize = AtomicUsize::new(0);

/// Count a vector that becomes a live buffer.
fn born<T>(v: &Vec<T>) {
    let size = std::mem::size_of::<T>();
    let allocated = CPU_MEMORY.born(v.len() * size, v.capacity() * size);
    if allocated > EPOCH_PEAK.load(Relaxed) {
        EPOCH_PEAK.fetch_max(allocated, Relaxed);
    }
}

/// Idle vectors of one element type; `buckets[b]` holds those whose capacity is in
/// `[2^b, 2^(b+1))` elements, oldest first, each with the pool's clock when it came in.
struct Idle<T> {
    buckets: [VecDeque<(u64, Vec<T>)>; 64],
}

impl<T: Element> Idle<T> {
    const fn new() -> Self {
        Idle {
            buckets: [const { VecDeque::new() }; 64],
        }
    }

    /// The newest idle vector with capacity in `[len, 2 len)`.
    fn take(&mut self, len: usize) -> Option<Vec<T>> {
        let b = bucket(len);
        for bucket in [b, b + 1] {
            let list = self.buckets.get_mut(bucket)?;
            let fits = |(_, v): &(u64, Vec<T>)| v.capacity() >= len && v.capacity() / 2 < len;
            if let Some(i) = list.iter().rposition(fits) {
                return list.remove(i).map(|(_, v)| v);
            }
        }
        None
    }

    fn put(&mut self, clock: u64, v: Vec<T>) {
        self.buckets[bucket(v.capacity())].push_back((clock, v));
    }

    /// The clock and bucket of the vector idle longest.
    fn oldest(&self) -> Option<(u64, usize)> {
        self.buckets
            .iter()
            .enumerate()
            .filter_map(|(b, list)| list.front().map(|(clock, _)| (*clock, b)))
            .min()
    }

    fn pop_oldest(&mut self, bucket: usize) -> Vec<T> {
        self.buckets[bucket]
            .pop_front()
            .map(|(_, v)| v)
            .unwrap_or_default()
    }

    /// Move every idle vector to `out`, wrapped.
    fn drain_into(&mut self, out: &mut Vec<CpuData>, wrap: fn(Vec<T>) -> CpuData) {
        for list in &mut self.buckets {
            out.extend(list.drain(..).map(|(_, v)| wrap(v)));
        }
    }
}

/// The bucket of a vector of `n >= 1` elements: `floor(log2(n))`.
fn bucket(n: usize) -> usize {
    (usize::BITS - 1 - n.leading_zeros()) as usize
}

/// The pool: idle vectors of every element type under one budget. See Note [Buffer pool].
struct Pool {
    bools: Idle<bool>,
    i64s: Idle<i64>,
    f32s: Idle<f32>,
    f64s: Idle<f64>,
    /// Bytes (capacities) of all idle vectors.
    idle_bytes: usize,
    /// Stamps idle vectors, for oldest-first eviction.
    clock: u64,
    /// Bytes requested from the pool in the current epoch.
    epoch_traffic: usize,
    /// The peak of `memory_allocated` in the previous epoch.
    previous_peak: usize,
    hits: u64,
    misses: u64,
    evictions: u64,
}

static POOL: Mutex<Pool> = Mutex::new(Pool {
    bools: Idle::new(),
    i64s: Idle::new(),
    f32s: Idle::new(),
    f64s: Idle::new(),
    idle_bytes: 0,
    clock: 0,
    epoch_traffic: 0,
    previous_peak: 0,
    hits: 0,
    misses: 0,
    evictions: 0,
});

fn lock_pool() -> MutexGuard<'static, Pool> {
    POOL.lock().unwrap_or_else(|e| e.into_inner())
}

impl Pool {
    fn idle<T: Element>(&mut self) -> &mut Idle<T> {
        let list: &mut dyn Any = match T::DTYPE {
            DType::Bool => &mut self.bools,
            DType::I64 => &mut self.i64s,
            DType::F32 => &mut self.f32s,
            DType::F64 => &mut self.f64s,
        };
        list.downcast_mut()
            .expect("internal: pool list of another element type")
    }

    /// The recent peak of `memory_allocated`: this epoch's and the previous one's.
    fn recent_peak(&self) -> usize {
        self.previous_peak.max(EPOCH_PEAK.load(Relaxed))
    }

    /// Most idle bytes allowed while `live` bytes are allocated.
    fn idle_limit(&self, live: usize) -> usize {
        IDLE_FLOOR_BYTES.max(self.recent_peak().saturating_sub(live))
    }

    /// An idle vector for `len` elements, if one fits; evicts what the cap requires once
    /// this request is live.
    fn take<T: Element>(&mut self, len: usize, evicted: &mut Vec<CpuData>) -> Option<Vec<T>> {
        let bytes = len * std::mem::size_of::<T>();
        self.epoch_traffic = self.epoch_traffic.saturating_add(bytes);
        let epoch = EPOCH_MIN_BYTES.max(self.recent_peak().saturating_mul(EPOCH_PEAK_FACTOR));
        if self.epoch_traffic >= epoch {
            self.previous_peak = EPOCH_PEAK.swap(CPU_MEMORY.allocated(), Relaxed);
            self.epoch_traffic = 0;
        }
        let found = self.idle::<T>().take(len);
        match &found {
            Some(v) => {
                let cap = v.capacity() * std::mem::size_of::<T>();
                self.idle_bytes -= cap;
                CPU_MEMORY.leave_idle(cap);
                self.hits += 1;
            }
            None => self.misses += 1,
        }
        let limit = self.idle_limit(CPU_MEMORY.allocated() + bytes);
        self.evict_to(limit, evicted);
        found
    }

    /// Keep `v` idle, then evict what the cap requires.
    fn put<T: Element>(&mut self, v: Vec<T>, evicted: &mut Vec<CpuData>) {
        self.idle_bytes += v.capacity() * std::mem::size_of::<T>();
        self.clock += 1;
        let clock = self.clock;
        self.idle::<T>().put(clock, v);
        let limit = self.idle_limit(CPU_MEMORY.allocated());
        self.evict_to(limit, evicted);
    }

    /// Move the longest-idle vectors to `evicted` until at most `limit` bytes stay idle.
    fn evict_to(&mut self, limit: usize, evicted: &mut Vec<CpuData>) {
        while self.idle_bytes > limit {
            let oldest = [
                self.bools.oldest().map(|(c, b)| (c, b, DType::Bool)),
                self.i64s.oldest().map(|(c, b)| (c, b, DType::I64)),
                self.f32s.oldest().map(|(c, b)| (c, b, DType::F32)),
                self.f64s.oldest().map(|(c, b)| (c, b, DType::F64)),
            ];
            let Some((_, b, dtype)) = oldest.into_iter().flatten().min() else {
                break;
            };
            let (data, bytes) = match dtype {
                DType::Bool => bytes_of(self.bools.pop_oldest(b), CpuData::Bool),
                DType::I64 => bytes_of(self.i64s.pop_oldest(b), CpuData::I64),
                DType::F32 => bytes_of(self.f32s.pop_oldest(b), CpuData::F32),
                DType::F64 => bytes_of(self.f64s.pop_oldest(b), CpuData::F64),
            };
            self.idle_bytes -= bytes;
            CPU_MEMORY.leave_idle(bytes);
            self.evictions += 1;
            evicted.push(data);
        }
    }

    /// Every idle vector, moved out (the caller frees them outside the lock).
    fn drain(&mut self) -> Vec<CpuData> {
        let mut out = Vec::new();
        self.bools.drain_into(&mut out, CpuData::Bool);
        self.i64s.drain_into(&mut out, CpuData::I64);
        self.f32s.drain_into(&mut out, CpuData::F32);
        self.f64s.drain_into(&mut out, CpuData::F64);
        CPU_MEMORY.leave_idle(self.idle_bytes);
        self.idle_bytes = 0;
        out
    }
}

/// A vector's capacity in bytes, and the vector wrapped for eviction.
fn bytes_of<T>(v: Vec<T>, wrap: fn(Vec<T>) -> CpuData) -> (CpuData, usize) {
    let bytes = v.capacity() * std::mem::size_of::<T>();
    (wrap(v), bytes)
}

/// The pool's counters for `memory::memory_stats`.
pub(crate) struct PoolCounts {
    pub(crate) idle_bytes: usize,
    pub(crate) hits: u64,
    pub(crate) misses: u64,
    pub(crate) evictions: u64,
}

pub(crate) fn pool_counts() -> PoolCounts {
    let pool = lock_pool();
    PoolCounts {
        idle_bytes: pool.idle_bytes,
        hits: pool.hits,
        misses: pool.misses,
        evictions: pool.evictions,
    }
}

/// Free every idle pooled buffer (`memory::empty_cache`).
pub(crate) fn empty_cache() {
    let idle = lock_pool().drain();
    // Freed outside the lock.
    drop(idle);
}

/// [`POOL_STATE`] values.
const POOL_UNSET: u8 = 0;
const POOL_ON: u8 = 1;
const POOL_OFF: u8 = 2;

/// Whether the pool is on: unset until first read, which takes `COTANGENT_POOL` from the
/// environment, unless [`set_pool_enabled`] chose first.
static POOL_STATE: AtomicU8 = AtomicU8::new(POOL_UNSET);

fn pool_enabled() -> bool {
    match POOL_STATE.load(Ordering::Relaxed) {
        POOL_ON => true,
        POOL_OFF => false,
        _ => {
            let on = std::env::var("COTANGENT_POOL")
                .map(|v| v != "0")
                .unwrap_or(true);
            let state = if on { POOL_ON } else { POOL_OFF };
            // A concurrent `set_pool_enabled` wins over the environment.
            match POOL_STATE.compare_exchange(
                POOL_UNSET,
                state,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => on,
                Err(current) => current == POOL_ON,
            }
        }
    }
}

/// Turn the buffer pool (Note [Buffer pool]) on or off for the whole process, overriding
/// `COTANGENT_POOL`. Turning it off also frees every idle pooled buffer, so afterwards the
/// memory the allocator reports is exactly what live arrays hold (tests that measure
/// memory with a counting allocator use this). Buffers already handed out are unaffected.
pub fn set_pool_enabled(enabled: bool) {
    POOL_STATE.store(if enabled { POOL_ON } else { POOL_OFF }, Ordering::Relaxed);
    if !enabled {
        empty_cache();
    }
}

fn poolable<T>(len: usize) -> bool {
    len * std::mem::size_of::<T>() >= POOL_MIN_BYTES && pool_enabled()
}

/// A vector of `len` elements whose contents are unspecified (but initialised): kernels that
/// overwrite every element ask for this. Served from the pool when one fits; a refusal of the
/// allocator fails the kernel with [`Error::Alloc`](crate::Error::Alloc).
pub fn alloc_uninit<T: StorageElement>(len: usize) -> Vec<T> {
    if poolable::<T>(len) {
        let mut evicted = Vec::new();
        let found = lock_pool().take::<T>(len, &mut evicted);
        drop(evicted);
        if let Some(mut v) = found {
            // The old contents are valid values of T; resize only touches new elements.
            v.resize(len, T::default());
            v.truncate(len);
            return v;
        }
    }
    match super::alloc::try_zeroed(len) {
        Ok(v) => v,
        // As torch's caching allocator: give the idle buffers back and try once more.
        Err(_) => {
            empty_cache();
            super::alloc::zeroed_or_defer(len)
        }
    }
}

/// Uncount a buffer whose storage dropped, and keep it idle or free it.
fn release<T: StorageElement>(v: Vec<T>) {
    let size = std::mem::size_of::<T>();
    let (len, cap) = (v.len() * size, v.capacity() * size);
    if poolable::<T>(v.capacity()) {
        let mut evicted = Vec::new();
        {
            let mut pool = lock_pool();
            CPU_MEMORY.died(len, cap, true);
            pool.put(v, &mut evicted);
        }
        drop(evicted);
    } else {
        CPU_MEMORY.died(len, cap, false);
    }
}

/// Memory on some device. Only the CPU exists today; a CUDA variant joins it later.
#[derive(Debug)]
pub enum Storage {
    /// Host memory.
    Cpu(CpuStorage),
    /// Memory of a CUDA device.
    #[cfg(feature = "cuda")]
    Cuda(crate::array::backend::cuda::CudaStorage),
}

impl Storage {
    /// The element type.
    pub fn dtype(&self) -> DType {
        match self {
            Storage::Cpu(s) => s.dtype(),
            #[cfg(feature = "cuda")]
            Storage::Cuda(s) => s.dtype(),
        }
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        match self {
            Storage::Cpu(s) => s.len(),
            #[cfg(feature = "cuda")]
            Storage::Cuda(s) => s.len(),
        }
    }

    /// Where the buffer lives.
    #[inline]
    pub fn device(&self) -> crate::Device {
        match self {
            Storage::Cpu(_) => crate::Device::Cpu,
            #[cfg(feature = "cuda")]
            Storage::Cuda(s) => s.device(),
        }
    }

    /// `true` if it holds no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caps(v: Option<Vec<f32>>) -> Option<usize> {
        v.map(|v| v.capacity())
    }

    #[test]
    fn idle_vectors_serve_capacity_in_len_to_twice_len_newest_first() {
        let mut idle = Idle::<f32>::new();
        idle.put(1, Vec::with_capacity(1000));
        idle.put(2, Vec::with_capacity(1500));
        idle.put(3, Vec::with_capacity(1020));
        idle.put(4, Vec::with_capacity(2000));
        // Bucket [512, 1024) first, then [1024, 2048); the newest that fits in each.
        assert_eq!(caps(idle.take(1001)), Some(1020));
        assert_eq!(caps(idle.take(1001)), Some(2000));
        assert_eq!(caps(idle.take(1000)), Some(1000));
        assert_eq!(caps(idle.take(1000)), Some(1500));
        // 2000 would leave a tail as long as the tensor: too large for 1000.
        idle.put(5, Vec::with_capacity(2000));
        assert_eq!(caps(idle.take(1000)), None);
        assert_eq!(caps(idle.take(1001)), Some(2000));
        assert_eq!(caps(idle.take(1)), None);
    }

    #[test]
    fn the_oldest_idle_vector_is_found_across_buckets() {
        let mut idle = Idle::<f64>::new();
        assert_eq!(idle.oldest(), None);
        idle.put(7, Vec::with_capacity(5000));
        idle.put(3, Vec::with_capacity(100));
        idle.put(9, Vec::with_capacity(100));
        assert_eq!(idle.oldest(), Some((3, bucket(100))));
        assert_eq!(idle.pop_oldest(bucket(100)).capacity(), 100);
        assert_eq!(idle.oldest(), Some((7, bucket(5000))));
        let mut out = Vec::new();
        idle.drain_into(&mut out, CpuData::F64);
        assert_eq!(out.len(), 2);
        assert_eq!(idle.oldest(), None);
    }
}
