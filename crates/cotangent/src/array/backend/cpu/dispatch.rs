//! Run-time CPU feature dispatch for the hottest contiguous loops.
//!
//! Note [AVX2 dispatch]: the crate is built for baseline x86-64 (SSE2), so the compiler
//! vectorises loops 4 f32 lanes wide. Memory-bound loops still gain from 8-lane AVX2 code on
//! this project's machines, because half as many load/add micro-ops keep more cache misses
//! in flight: a 16M-element f32 sum went from 1.82 ms to 1.50 ms on one thread (2-core AMD
//! EPYC; see `bench/README.md`). [`avx2_or_plain`] runs a closure inside a function compiled
//! with AVX2 enabled when the CPU has it, so the same generic loop (marked
//! `#[inline(always)]`) is compiled twice and picked at run time. Results are bitwise equal
//! either way: the loops fix their accumulation order in the source, and the compiler may
//! not reassociate or contract float arithmetic.

/// `true` if the CPU supports AVX2 (std caches the answer after the first call).
#[inline]
pub(crate) fn has_avx2() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx2")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// `f()`, compiled with AVX2 enabled when the CPU has it. `f` should call
/// `#[inline(always)]` code so the loops are generated inside the AVX2 function. See
/// Note [AVX2 dispatch].
#[inline]
#[allow(unsafe_code)]
pub(crate) fn avx2_or_plain<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    if has_avx2() {
        #[target_feature(enable = "avx2")]
        unsafe fn with_avx2<R>(f: impl FnOnce() -> R) -> R {
            f()
        }
        // SAFETY: the only precondition of a `#[target_feature]` function is that the CPU
        // supports the feature, which `has_avx2` has just confirmed.
        return unsafe { with_avx2(f) };
    }
    f()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_paths_agree() {
        let xs: Vec<f32> = (0..10_001).map(|i| (i as f32).sin()).collect();
        #[inline(always)]
        fn total(xs: &[f32]) -> f32 {
            let mut acc = [0f32; 16];
            for c in xs.chunks_exact(16) {
                for l in 0..16 {
                    acc[l] += c[l];
                }
            }
            acc.iter().sum::<f32>() + xs.chunks_exact(16).remainder().iter().sum::<f32>()
        }
        assert_eq!(avx2_or_plain(|| total(&xs)).to_bits(), total(&xs).to_bits());
    }
}
