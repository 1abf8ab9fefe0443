//! The caching allocator of one device, torch's in miniature.
//!
//! Note [Device caching allocator]: `cuMemAlloc` and `cuMemFree` cost tens of microseconds
//! and `cuMemFree` synchronises the device, so a buffer whose tensor dies goes back to a free
//! list of its size bucket and the next request of that bucket takes it again. Sizes are
//! rounded up (to 512 bytes below 1 MiB, to 2 MiB up to 16 MiB, then to an eighth of the
//! power of two above) so that a workload's repeated shapes land in a few buckets. Because the
//! backend queues everything on one stream per device, reuse needs no event: a kernel queued
//! after the block was released runs after every kernel that read it (stream order), which is
//! what torch's stream-ordered allocator relies on for a single stream.
//!
//! When the driver refuses a block, the cache is emptied (synchronise, free every idle block)
//! and the request tried once more; if that fails too the op gets an
//! [`Error::OutOfMemory`] with the bytes and the counters, and nothing is left half-done.

use std::collections::BTreeMap;
use std::sync::Mutex;

use cudarc::driver::result;

use super::runtime::Gpu;
use crate::Device;
use crate::error::Error;
use crate::memory::MemoryCounters;

/// A device buffer: its address and the bucket it came from.
#[derive(Debug)]
pub(crate) struct Block {
    pub(crate) ptr: u64,
    /// Bytes asked for (what `memory_allocated` counts).
    pub(crate) bytes: usize,
    /// Bytes of the bucket (what `memory_reserved` counts).
    pub(crate) size: usize,
}

/// Free lists by bucket size, and the counters.
pub(crate) struct Allocator {
    device: Device,
    pub(crate) counters: MemoryCounters,
    idle: Mutex<BTreeMap<usize, Vec<u64>>>,
}

/// The bucket a request of `bytes` is served from (Note [Device caching allocator]).
pub(crate) fn bucket(bytes: usize) -> usize {
    const SMALL: usize = 1 << 20;
    const MID: usize = 16 << 20;
    const TWO_MIB: usize = 2 << 20;
    let bytes = bytes.max(1);
    if bytes <= SMALL {
        bytes.div_ceil(512) * 512
    } else if bytes <= MID {
        bytes.div_ceil(TWO_MIB) * TWO_MIB
    } else {
        let step = (bytes.next_power_of_two() / 16).max(TWO_MIB);
        bytes.div_ceil(step) * step
    }
}

impl Allocator {
    pub(crate) fn new(device: Device) -> Self {
        Allocator {
            device,
            counters: MemoryCounters::new(),
            idle: Mutex::new(BTreeMap::new()),
        }
    }

    fn idle(&self) -> std::sync::MutexGuard<'_, BTreeMap<usize, Vec<u64>>> {
        self.idle.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A block of at least `bytes`, or [`Error::OutOfMemory`] (op not yet named).
    pub(crate) fn alloc(&self, gpu: &Gpu, bytes: usize) -> Result<Block, Error> {
        if bytes == 0 {
            return Ok(Block {
                ptr: 0,
                bytes: 0,
                size: 0,
            });
        }
        let size = bucket(bytes);
        let reused = self.idle().get_mut(&size).and_then(Vec::pop);
        let ptr = match reused {
            Some(ptr) => {
                self.counters.leave_idle(size);
                ptr
            }
            None => {
                gpu.bind();
                // SAFETY: a plain device allocation; the memory is uninitialised, which is
                // fine for the byte buffers the kernels write before anything reads them.
                match unsafe { result::malloc_sync(size) } {
                    Ok(ptr) => ptr,
                    Err(_) => {
                        self.empty_cache(gpu);
                        // SAFETY: as above.
                        unsafe { result::malloc_sync(size) }
                            .map_err(|_| self.out_of_memory(gpu, bytes))?
                    }
                }
            }
        };
        self.counters.born(bytes, size);
        Ok(Block { ptr, bytes, size })
    }

    /// Give a block back to its bucket (Note [Device caching allocator]).
    pub(crate) fn release(&self, block: &Block) {
        if block.size == 0 {
            return;
        }
        self.counters.died(block.bytes, block.size, true);
        self.idle().entry(block.size).or_default().push(block.ptr);
    }

    /// Free every idle block (torch: `torch.cuda.empty_cache()`).
    pub(crate) fn empty_cache(&self, gpu: &Gpu) {
        let blocks = std::mem::take(&mut *self.idle());
        if blocks.is_empty() {
            return;
        }
        // Kernels queued earlier may still read a block released since.
        gpu.synchronize();
        for (size, ptrs) in blocks {
            for ptr in ptrs {
                // SAFETY: `ptr` came from `malloc_sync`, is idle (no tensor holds it) and the
                // stream has drained, so no queued kernel uses it.
                let freed = unsafe { result::free_sync(ptr) };
                super::runtime::check("cuMemFree", freed);
                self.counters.leave_idle(size);
            }
        }
    }

    fn out_of_memory(&self, gpu: &Gpu, bytes: usize) -> Error {
        let (free, total) = gpu.ctx.mem_get_info().unwrap_or((0, 0));
        Error::OutOfMemory {
            op: "",
            device: self.device,
            bytes,
            allocated: self.counters.allocated(),
            reserved: self.counters.reserved(),
            free,
            total,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::bucket;

    #[test]
    fn buckets_round_up_and_never_shrink() {
        assert_eq!(bucket(1), 512);
        assert_eq!(bucket(513), 1024);
        assert_eq!(bucket(1 << 20), 1 << 20);
        assert_eq!(bucket((1 << 20) + 1), 2 << 20);
        assert_eq!(bucket(17 << 20), 18 << 20);
        for b in [1usize, 700, 5 << 20, 100 << 20, 1 << 30, (1 << 30) + 1] {
            assert!(bucket(b) >= b && bucket(b) < b * 2 + 512);
        }
    }
}
