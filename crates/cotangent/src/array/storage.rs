//! Buffers: the flat, typed memory an [`Array`](super::Array) views, and the pool that recycles
//! large CPU buffers.
//!
//! Note [Buffer pool]: fresh memory is slow to touch on our machines (each first write to a
//! page faults, measured near 0.6 GB/s), so an output of `a + b` on 4M elements would spend
//! most of its time in the kernel's page faults. Large buffers are therefore returned to a
//! size-bucketed pool when their last view drops, and the next kernel that needs the same
//! bucket takes one back instead of asking the allocator. Small buffers go straight to the
//! allocator, which already recycles them cheaply. `COTANGENT_POOL=0` disables the pool (used
//! by the benchmark that measures whether it pays); [`set_pool_enabled`] switches it at run
//! time (used by tests that measure memory, where idle pooled buffers would count).

use std::sync::Mutex;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU8, Ordering};

use super::dtype::{DType, Element};

/// Typed CPU memory.
#[derive(Debug)]
pub enum CpuStorage {
    /// bool elements
    Bool(Vec<bool>),
    /// i64 elements
    I64(Vec<i64>),
    /// f32 elements
    F32(Vec<f32>),
    /// f64 elements
    F64(Vec<f64>),
}

impl CpuStorage {
    /// The element type.
    pub fn dtype(&self) -> DType {
        match self {
            CpuStorage::Bool(_) => DType::Bool,
            CpuStorage::I64(_) => DType::I64,
            CpuStorage::F32(_) => DType::F32,
            CpuStorage::F64(_) => DType::F64,
        }
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        match self {
            CpuStorage::Bool(v) => v.len(),
            CpuStorage::I64(v) => v.len(),
            CpuStorage::F32(v) => v.len(),
            CpuStorage::F64(v) => v.len(),
        }
    }

    /// `true` if it holds no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Drop for CpuStorage {
    fn drop(&mut self) {
        match self {
            CpuStorage::Bool(v) => recycle(std::mem::take(v)),
            CpuStorage::I64(v) => recycle(std::mem::take(v)),
            CpuStorage::F32(v) => recycle(std::mem::take(v)),
            CpuStorage::F64(v) => recycle(std::mem::take(v)),
        }
    }
}

/// Typed access to the vector inside a [`CpuStorage`].
pub trait StorageElement: Element {
    /// The slice, if the storage holds this element type.
    fn slice(s: &CpuStorage) -> Option<&[Self]>;
    /// Wrap a vector.
    fn wrap(v: Vec<Self>) -> CpuStorage;
    /// This type's pool.
    fn pool() -> &'static Pool<Self>;
}

macro_rules! storage_element {
    ($t:ty, $variant:ident) => {
        impl StorageElement for $t {
            fn slice(s: &CpuStorage) -> Option<&[Self]> {
                match s {
                    CpuStorage::$variant(v) => Some(v),
                    _ => None,
                }
            }
            fn wrap(v: Vec<Self>) -> CpuStorage {
                CpuStorage::$variant(v)
            }
            fn pool() -> &'static Pool<Self> {
                static POOL: OnceLock<Pool<$t>> = OnceLock::new();
                POOL.get_or_init(Pool::new)
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
/// Upper bound on the bytes a pool keeps idle, per element type.
const POOL_MAX_IDLE_BYTES: usize = 1 << 30;

/// A size-bucketed free list of vectors of one element type. See Note [Buffer pool].
pub struct Pool<T> {
    inner: Mutex<PoolInner<T>>,
}

struct PoolInner<T> {
    /// `buckets[b]` holds vectors whose capacity is in `[2^b, 2^(b+1))` elements.
    buckets: Vec<Vec<Vec<T>>>,
    idle_bytes: usize,
}

impl<T: Element> Pool<T> {
    fn new() -> Self {
        Pool {
            inner: Mutex::new(PoolInner {
                buckets: (0..64).map(|_| Vec::new()).collect(),
                idle_bytes: 0,
            }),
        }
    }
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
/// memory use this). Buffers already handed out are unaffected.
pub fn set_pool_enabled(enabled: bool) {
    POOL_STATE.store(if enabled { POOL_ON } else { POOL_OFF }, Ordering::Relaxed);
    if !enabled {
        drain::<bool>();
        drain::<i64>();
        drain::<f32>();
        drain::<f64>();
    }
}

/// Free every idle buffer of `T`'s pool.
fn drain<T: StorageElement>() {
    let idle: Vec<Vec<Vec<T>>> = {
        let mut inner = T::pool().inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.idle_bytes = 0;
        inner.buckets.iter_mut().map(std::mem::take).collect()
    };
    // Freed outside the lock.
    drop(idle);
}

fn poolable<T>(len: usize) -> bool {
    len * std::mem::size_of::<T>() >= POOL_MIN_BYTES && pool_enabled()
}

/// A vector of `len` elements whose contents are unspecified (but initialised): kernels that
/// overwrite every element ask for this. Served from the pool when one fits; a refusal of the
/// allocator fails the kernel with [`Error::Alloc`](crate::Error::Alloc).
pub fn alloc_uninit<T: StorageElement>(len: usize) -> Vec<T> {
    if poolable::<T>(len) {
        // Any vector in this bucket or the next has room for `len`... only if its capacity
        // is >= len, which holds for the next bucket and is checked for this one.
        let b = usize::BITS as usize - 1 - len.leading_zeros() as usize;
        let mut inner = T::pool().inner.lock().unwrap_or_else(|e| e.into_inner());
        for bucket in [b, b + 1] {
            if let Some(i) = inner.buckets[bucket]
                .iter()
                .rposition(|v| v.capacity() >= len)
            {
                let mut v = inner.buckets[bucket].swap_remove(i);
                inner.idle_bytes -= v.capacity() * std::mem::size_of::<T>();
                drop(inner);
                // The old contents are valid values of T; resize only touches new elements.
                v.resize(len, T::default());
                v.truncate(len);
                return v;
            }
        }
    }
    super::alloc::zeroed_or_defer(len)
}

fn recycle<T: StorageElement>(v: Vec<T>) {
    if !poolable::<T>(v.capacity()) {
        return;
    }
    let bytes = v.capacity() * std::mem::size_of::<T>();
    let b = usize::BITS as usize - 1 - v.capacity().leading_zeros() as usize;
    let mut inner = T::pool().inner.lock().unwrap_or_else(|e| e.into_inner());
    if inner.idle_bytes + bytes <= POOL_MAX_IDLE_BYTES {
        inner.idle_bytes += bytes;
        inner.buckets[b].push(v);
    }
}

/// Memory on some device. Only the CPU exists today; a CUDA variant joins it later.
#[derive(Debug)]
pub enum Storage {
    /// Host memory.
    Cpu(CpuStorage),
}

impl Storage {
    /// The element type.
    pub fn dtype(&self) -> DType {
        match self {
            Storage::Cpu(s) => s.dtype(),
        }
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        match self {
            Storage::Cpu(s) => s.len(),
        }
    }

    /// `true` if it holds no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
