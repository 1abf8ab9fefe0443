//! Errors that depend on device data, reported at the next read instead of at the op.
//!
//! Note [Deferred device checks]: whether a gather index is in bounds, or a bernoulli `p` lies
//! in [0, 1], is known only on the device. Answering at the op would make the host wait for
//! the stream on every call (10 us and a pipeline drain each; a training step with a
//! cross-entropy loss would wait once per step before it had queued its backward pass). So
//! each such op queues its check kernel and, behind it, a one-thread kernel that records a
//! failure in the device's error word (`[failing check id, value]`, 0 when none; a
//! compare-and-swap keeps the first failure in stream order, which is program order). The
//! host keeps what each pending id means. The next read of device data (`to_host`,
//! `cuda::synchronize`) reads the word with the data, and a failure becomes the op's error
//! there, with a line saying where it came from; the word is cleared and the library goes on.
//! torch reports a failed device-side assert the same way, at a later CUDA call, but leaves the
//! context unusable. A failing op writes zeros (gather) or skips the bad elements
//! (scatter_add), never a read or write out of bounds.
//!
//! `COTANGENT_CUDA_SYNC_CHECKS=1` makes each op wait and fail itself, as on the CPU, with
//! the error in the caller's dims under `vmap` (torch's `CUDA_LAUNCH_BLOCKING` for asserts).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock};

use cudarc::driver::{result, sys};

use super::runtime::{Gpu, check};
use crate::array::backend::IndexOutOfBounds;
use crate::array::backend::cpu::random::bad_probability;
use crate::error::Error;

/// What a failed check means, kept on the host under its id.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Failure {
    /// An index of `op` outside `0..size` along `dim` (the word's value is the index).
    Index {
        op: &'static str,
        dim: usize,
        size: usize,
    },
    /// A bernoulli probability outside [0, 1] (the word's value is its bits as an `f64`).
    Probability { f32: bool },
}

impl Failure {
    /// The error the host kernel raises for the same input (`cpu/index.rs`,
    /// `cpu/random.rs`), and where this one was found.
    fn error(self, value: u64) -> Error {
        const WHERE: &str = " (found by a CUDA kernel queued earlier and reported at this \
                             read of device data, as kernels run asynchronously; set \
                             COTANGENT_CUDA_SYNC_CHECKS=1 to fail at the op itself)";
        match self {
            Failure::Index { op, dim, size } => {
                let e = IndexOutOfBounds {
                    index: value as i64,
                    dim,
                    size,
                };
                Error::index(op, format!("{e}{WHERE}"))
            }
            Failure::Probability { f32 } => Error::value(
                "bernoulli",
                format!("{}{WHERE}", probability_message(value, f32)),
            ),
        }
    }
}

/// The host's bernoulli message for the bad `p` whose `f64` bits are `bits`, printed in its
/// own dtype.
pub(crate) fn probability_message(bits: u64, f32: bool) -> String {
    let bad = f64::from_bits(bits);
    if f32 {
        bad_probability(&(bad as f32))
    } else {
        bad_probability(&bad)
    }
}

/// Whether ops wait for their own checks (`COTANGENT_CUDA_SYNC_CHECKS=1`).
pub(crate) fn synchronous() -> bool {
    static SYNC: OnceLock<bool> = OnceLock::new();
    *SYNC.get_or_init(|| {
        std::env::var("COTANGENT_CUDA_SYNC_CHECKS").is_ok_and(|v| !v.is_empty() && v != "0")
    })
}

/// A device's error word and the meaning of the checks queued since the last read.
#[derive(Default)]
pub(crate) struct Checks {
    /// The word's device address (2 x u64), allocated on first use outside the caching
    /// allocator so that torch's counters see only tensors.
    word: OnceLock<sys::CUdeviceptr>,
    /// `(id, meaning)` of each check queued since the last read, oldest first.
    pending: Mutex<Vec<(u64, Failure)>>,
    /// Whether `pending` may be non-empty: reads skip the lock when nothing is queued.
    any: AtomicBool,
}

/// Checks queued before a read is forced: bounds the host list in a loop that never reads.
const MAX_PENDING: usize = 4096;

impl Checks {
    fn word(&self, gpu: &Gpu) -> sys::CUdeviceptr {
        *self.word.get_or_init(|| {
            gpu.bind();
            // SAFETY: a fresh 16-byte allocation, zeroed before any kernel can see it.
            unsafe {
                let ptr = check("cuMemAlloc", result::malloc_sync(16));
                check("cuMemsetD8", result::memset_d8_sync(ptr, 0, 16));
                ptr
            }
        })
    }

    /// Queue a check meaning `failure`: `launch(word, id)` queues the kernel that records
    /// `id` and the bad value in the word. Under the lock, so a concurrent read cannot clear
    /// the id before its kernel is queued.
    pub(crate) fn queue(&self, gpu: &Gpu, failure: Failure, launch: impl FnOnce(u64, u64)) {
        let word = self.word(gpu);
        let full = {
            let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
            let id = pending.last().map_or(1, |&(last, _)| last + 1);
            launch(word, id);
            pending.push((id, failure));
            self.any.store(true, Ordering::Release);
            pending.len() >= MAX_PENDING
        };
        if full {
            gpu.read_barrier();
        }
    }

    /// After the stream has drained: the first failure since the last read, if any, with the
    /// word cleared and the pending list emptied.
    pub(crate) fn settle(&self, gpu: &Gpu) -> Option<Error> {
        if !self.any.load(Ordering::Acquire) {
            return None;
        }
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        let word = *self.word.get()?;
        let mut host = [0u64; 2];
        // SAFETY: the word is 16 bytes of live device memory; the copy is synchronous and
        // every kernel that writes it was queued (under this lock) before it.
        unsafe {
            check(
                "cuMemcpyDtoHAsync",
                result::memcpy_dtoh_async(&mut host, word, gpu.cu_stream()),
            );
        }
        gpu.synchronize();
        let failed = if host[0] == 0 {
            None
        } else {
            // SAFETY: as above; no kernel is queued, so clearing it races with nothing.
            unsafe { check("cuMemsetD8", result::memset_d8_sync(word, 0, 16)) };
            pending
                .iter()
                .find(|&&(id, _)| id == host[0])
                .map(|&(_, failure)| failure.error(host[1]))
        };
        pending.clear();
        self.any.store(false, Ordering::Release);
        failed
    }
}
