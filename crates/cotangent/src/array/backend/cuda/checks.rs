//! Errors that depend on device data, reported at the next read instead of at the op.
//!
//! Note [Deferred device checks]: whether a gather index is in bounds, or a bernoulli `p` lies
//! in [0, 1], is known only on the device. Answering at the op would make the host wait for
//! the stream on every call (10 us and a pipeline drain each; a training step with a
//! cross-entropy loss would wait once per step before it had queued its backward pass). So
//! each such op queues its check kernel and, behind it, a one-thread kernel that records a
//! failure in the device's error word (`[failing check id, value]`, 0 when none; a
//! compare-and-swap keeps the first failure in stream order, which is program order). Each
//! thread has its own word per device, and keeps what each of its pending ids means. The
//! thread's next read of device data (`to_host`, `cuda::synchronize`) reads its word after the
//! data, and a failure becomes the op's error there, with a line saying where it came from;
//! the word is cleared and the library goes on. Other threads' reads see only their own ops.
//! torch reports a failed device-side assert the same way, at a later CUDA call, but leaves the
//! context unusable. A failing op writes zeros (gather) or skips the bad elements
//! (scatter_add), never a read or write out of bounds.
//!
//! `COTANGENT_CUDA_SYNC_CHECKS=1` makes each op wait and fail itself, as on the CPU, with
//! the error in the caller's dims under `vmap` (torch's `CUDA_LAUNCH_BLOCKING` for asserts).

use std::cell::RefCell;
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

/// A device's pool of error words (each thread that queues checks on the device holds one,
/// so a failure is reported to the thread whose op failed, at that thread's next read).
#[derive(Default)]
pub(crate) struct Checks {
    /// Words of threads that have exited, for reuse; allocated outside the caching allocator
    /// so that torch's counters see only tensors.
    free: Mutex<Vec<sys::CUdeviceptr>>,
}

/// One thread's error word on one device (2 x u64) and the meaning of the checks it queued
/// since its last read, oldest first.
struct ThreadChecks {
    ordinal: usize,
    word: sys::CUdeviceptr,
    pending: Vec<(u64, Failure)>,
}

impl Drop for ThreadChecks {
    fn drop(&mut self) {
        // The thread is exiting: its word goes back to the device's pool (cleared, on the
        // stream, by its next owner).
        if let Ok(gpu) = super::runtime::gpu(self.ordinal) {
            let mut free = gpu.checks.free.lock().unwrap_or_else(|e| e.into_inner());
            free.push(self.word);
        }
    }
}

thread_local! {
    /// This thread's checks, by device ordinal.
    static MINE: RefCell<Vec<Option<ThreadChecks>>> = const { RefCell::new(Vec::new()) };
}

/// Checks queued before a read is forced: bounds the host list in a loop that never reads.
const MAX_PENDING: usize = 4096;

/// Zero the 16-byte `word` on the stream, after every kernel queued before.
fn clear(gpu: &Gpu, word: sys::CUdeviceptr) {
    gpu.bind();
    // SAFETY: `word` is 16 bytes of live device memory owned by the calling thread.
    unsafe {
        check(
            "cuMemsetD8Async",
            result::memset_d8_async(word, 0, 16, gpu.cu_stream()),
        )
    };
}

impl Checks {
    /// Queue a check meaning `failure`: `launch(word, id)` queues the kernel that records
    /// `id` and the bad value in this thread's word.
    pub(crate) fn queue(&self, gpu: &Gpu, failure: Failure, launch: impl FnOnce(u64, u64)) {
        let full = MINE.with_borrow_mut(|mine| {
            if mine.len() <= gpu.ordinal {
                mine.resize_with(gpu.ordinal + 1, || None);
            }
            let slot = mine[gpu.ordinal].get_or_insert_with(|| {
                let reused = self.free.lock().unwrap_or_else(|e| e.into_inner()).pop();
                let word = reused.unwrap_or_else(|| {
                    gpu.bind();
                    // SAFETY: a fresh 16-byte allocation, cleared below before any kernel
                    // can see it.
                    unsafe { check("cuMemAlloc", result::malloc_sync(16)) }
                });
                clear(gpu, word);
                ThreadChecks {
                    ordinal: gpu.ordinal,
                    word,
                    pending: Vec::new(),
                }
            });
            let id = slot.pending.last().map_or(1, |&(last, _)| last + 1);
            launch(slot.word, id);
            slot.pending.push((id, failure));
            slot.pending.len() >= MAX_PENDING
        });
        if full {
            gpu.read_barrier();
        }
    }

    /// After the stream has drained: the first failure among this thread's checks since its
    /// last read, if any; the word is cleared and the pending list emptied.
    pub(crate) fn settle(&self, gpu: &Gpu) -> Option<Error> {
        MINE.with_borrow_mut(|mine| {
            let slot = mine.get_mut(gpu.ordinal)?.as_mut()?;
            if slot.pending.is_empty() {
                return None;
            }
            let mut host = [0u64; 2];
            gpu.bind();
            // SAFETY: the word is 16 bytes of live device memory; a copy to pageable memory
            // returns once done, after every kernel queued before it on the stream.
            unsafe {
                check(
                    "cuMemcpyDtoHAsync",
                    result::memcpy_dtoh_async(&mut host, slot.word, gpu.cu_stream()),
                );
            }
            let failed = if host[0] == 0 {
                None
            } else {
                clear(gpu, slot.word);
                slot.pending
                    .iter()
                    .find(|&&(id, _)| id == host[0])
                    .map(|&(_, failure)| failure.error(host[1]))
            };
            slot.pending.clear();
            failed
        })
    }
}
