//! Counter-based random number generation for the CPU backend.
//!
//! Every draw is produced by the Philox4x32-10 block cipher (Salmon et al., "Parallel random
//! numbers: as easy as 1, 2, 3", SC'11), the generator used by cuRAND, PyTorch's CUDA backend
//! and JAX. A stream position is a [`PhiloxKey`]: the 64-bit `seed` is the Philox key and the
//! 64-bit `offset` is the first 128-bit counter block of the draw. Block `b` of a draw is
//!
//! ```text
//! philox4x32_10([lo32(offset + b), hi32(offset + b), 0, 0], [lo32(seed), hi32(seed)])
//! ```
//!
//! (wrapping addition), which yields four `u32` words. Each kind of draw maps a fixed number of
//! elements onto one block, so element `i` depends only on `(seed, offset, i)`:
//!
//! | kind          | elements per block | words per element                      |
//! |---------------|--------------------|----------------------------------------|
//! | uniform `f32` | 4                  | 1 (`(w >> 8) * 2^-24`)                 |
//! | uniform `f64` | 2                  | 2 (`(w0 \| w1 << 32) >> 11) * 2^-53`)  |
//! | normal `f32`  | 4                  | Box-Muller on word pairs (0,1), (2,3)  |
//! | normal `f64`  | 2                  | Box-Muller on two 64-bit uniforms      |
//! | randint       | 2                  | 2 (one 64-bit draw, multiply-shift)    |
//! | randperm      | 2                  | 2 (one 64-bit sort key)                |
//!
//! Because of this, fills can be split across threads at block boundaries and the result is
//! bit-identical whatever the thread count; a CUDA kernel using the same layout reproduces
//! every draw bit for bit. Normals take `log`, `sin` and `cos` from the `libm` crate (IEEE
//! operations only, so the same on every platform), which `cuda/libm.rs` transcribes.
//!
//! The global generator ([`manual_seed`], [`next_key`], ...) holds a seed and a block offset.
//! Each draw reserves `blocks_used(kind, n)` blocks via [`next_key`], which returns the key at
//! the current offset and advances it, so successive draws never overlap.

use std::sync::{Mutex, MutexGuard, PoisonError};

use rayon::prelude::*;

use crate::array::alloc::{filled_or_defer, with_capacity_or_defer};
use crate::array::backend::Distribution;
use crate::array::storage::{StorageElement, alloc_uninit};
use crate::array::{Array, DType, Layout};
use crate::error::{Error, defer};

/// Philox4x32 round multipliers.
const PHILOX_M0: u32 = 0xD251_1F53;
const PHILOX_M1: u32 = 0xCD9E_8D57;
/// Philox4x32 key-schedule increments (golden ratio, sqrt(3) - 1).
const PHILOX_W0: u32 = 0x9E37_79B9;
const PHILOX_W1: u32 = 0xBB67_AE85;

/// Seed used when [`manual_seed`] was never called (PyTorch's `default_rng_seed_val`).
pub(crate) const DEFAULT_SEED: u64 = 67_280_421_310_721;

/// Fills at least this long are split across the rayon pool.
const PAR_THRESHOLD: usize = 1 << 16;
/// Elements per parallel task; a multiple of every elements-per-block count (2 and 4).
const PAR_CHUNK: usize = 1 << 13;

/// 2^-24: spacing of the `f32` uniform grid.
const INV_2_24: f32 = 1.0 / 16_777_216.0;
/// 2^-53: spacing of the `f64` uniform grid.
const INV_2_53: f64 = 1.0 / 9_007_199_254_740_992.0;

/// A stream position: key = seed, counter base = offset (in units of 128-bit Philox blocks).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct PhiloxKey {
    /// The Philox key (both 32-bit key words).
    pub seed: u64,
    /// Index of the first counter block of the draw.
    pub offset: u64,
}

impl PhiloxKey {
    /// A key at `offset` blocks into the stream of `seed`.
    pub(crate) const fn new(seed: u64, offset: u64) -> Self {
        Self { seed, offset }
    }

    /// The key `blocks` blocks further along the same stream (only tests need it so far).
    #[cfg(test)]
    pub(crate) const fn advanced(self, blocks: u64) -> Self {
        Self {
            seed: self.seed,
            offset: self.offset.wrapping_add(blocks),
        }
    }

    /// The four words of block `index` of this draw.
    #[inline]
    fn block(self, index: u64) -> [u32; 4] {
        let ctr = self.offset.wrapping_add(index);
        philox4x32_10(
            [ctr as u32, (ctr >> 32) as u32, 0, 0],
            [self.seed as u32, (self.seed >> 32) as u32],
        )
    }
}

/// High and low halves of the 64-bit product `a * b`.
#[inline(always)]
fn mulhilo(a: u32, b: u32) -> (u32, u32) {
    let p = u64::from(a) * u64::from(b);
    ((p >> 32) as u32, p as u32)
}

/// The Philox4x32 block function with 10 rounds (Random123's `philox4x32_R(10, ...)`).
#[inline]
pub(crate) fn philox4x32_10(counter: [u32; 4], key: [u32; 2]) -> [u32; 4] {
    let mut c = counter;
    let mut k = key;
    for round in 0..10 {
        if round > 0 {
            k[0] = k[0].wrapping_add(PHILOX_W0);
            k[1] = k[1].wrapping_add(PHILOX_W1);
        }
        let (hi0, lo0) = mulhilo(PHILOX_M0, c[0]);
        let (hi1, lo1) = mulhilo(PHILOX_M1, c[2]);
        c = [hi1 ^ c[1] ^ k[0], lo1, hi0 ^ c[3] ^ k[1], lo0];
    }
    c
}

/// The kinds of draw, for [`blocks_used`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum RandomKind {
    /// [`uniform_f32`]
    UniformF32,
    /// [`uniform_f64`]
    UniformF64,
    /// [`normal_f32`]
    NormalF32,
    /// [`normal_f64`]
    NormalF64,
    /// [`randint`]
    RandInt,
    /// [`randperm`]
    RandPerm,
}

impl RandomKind {
    /// How many output elements one Philox block produces.
    const fn elements_per_block(self) -> usize {
        match self {
            Self::UniformF32 | Self::NormalF32 => 4,
            Self::UniformF64 | Self::NormalF64 | Self::RandInt | Self::RandPerm => 2,
        }
    }
}

/// How many Philox blocks a draw of `n` elements of `kind` consumes, so the caller can advance
/// the global offset by exactly that much.
pub(crate) const fn blocks_used(kind: RandomKind, n: usize) -> u64 {
    n.div_ceil(kind.elements_per_block()) as u64
}

/// How many Philox blocks a uniform draw of `n` elements consumes (`f64` if `is_f64`; only
/// tests need it so far).
#[cfg(test)]
pub(crate) const fn blocks_used_uniform(n: usize, is_f64: bool) -> u64 {
    blocks_used(
        if is_f64 {
            RandomKind::UniformF64
        } else {
            RandomKind::UniformF32
        },
        n,
    )
}

/// Fills `out` with `gen(block)` values, `K` elements per Philox block, in parallel for long
/// outputs. Element `i` always comes from block `key.offset + i / K`, position `i % K`.
fn fill_blocks<T, const K: usize, G>(key: PhiloxKey, out: &mut [T], generate: G)
where
    T: Copy + Send,
    G: Fn([u32; 4]) -> [T; K] + Sync,
{
    const { assert!(K > 0 && PAR_CHUNK.is_multiple_of(K)) };
    let fill_seq = |first_block: u64, chunk: &mut [T]| {
        let mut block = first_block;
        let mut exact = chunk.chunks_exact_mut(K);
        for dst in &mut exact {
            dst.copy_from_slice(&generate(key.block(block)));
            block += 1;
        }
        let rest = exact.into_remainder();
        if !rest.is_empty() {
            let vals = generate(key.block(block));
            rest.copy_from_slice(&vals[..rest.len()]);
        }
    };
    if out.len() >= PAR_THRESHOLD {
        out.par_chunks_mut(PAR_CHUNK)
            .enumerate()
            .for_each(|(c, chunk)| fill_seq((c * (PAR_CHUNK / K)) as u64, chunk));
    } else {
        fill_seq(0, out);
    }
}

/// Maps a word to `[0, 1)` on the 2^-24 grid; the largest value is `1 - 2^-24`.
#[inline(always)]
fn unit_f32(w: u32) -> f32 {
    (w >> 8) as f32 * INV_2_24
}

/// Maps a 64-bit draw to `[0, 1)` on the 2^-53 grid; the largest value is `1 - 2^-53`.
#[inline(always)]
fn unit_f64(x: u64) -> f64 {
    (x >> 11) as f64 * INV_2_53
}

/// Joins two words into one 64-bit draw (`lo` is the low half).
#[inline(always)]
fn join(lo: u32, hi: u32) -> u64 {
    u64::from(lo) | (u64::from(hi) << 32)
}

/// Box-Muller on two `f32` uniforms from words `a` (radius) and `b` (angle), with `libm`'s
/// functions (not the platform's, which differ between C libraries; see the module doc).
#[inline(always)]
fn box_muller_f32(a: u32, b: u32) -> [f32; 2] {
    // 1 - u is exact on the 2^-24 grid and lies in (0, 1], so the log is finite.
    let u1 = 1.0 - unit_f32(a);
    let u2 = unit_f32(b);
    let r = (-2.0 * libm::logf(u1)).sqrt();
    let (s, c) = libm::sincosf(std::f32::consts::TAU * u2);
    [r * c, r * s]
}

/// Box-Muller on two `f64` uniforms from 64-bit draws `a` (radius) and `b` (angle).
#[inline(always)]
fn box_muller_f64(a: u64, b: u64) -> [f64; 2] {
    // 1 - u is exact on the 2^-53 grid and lies in (0, 1], so the log is finite.
    let u1 = 1.0 - unit_f64(a);
    let u2 = unit_f64(b);
    let r = (-2.0 * libm::log(u1)).sqrt();
    let (s, c) = libm::sincos(std::f64::consts::TAU * u2);
    [r * c, r * s]
}

/// Fills `out` with `U[0, 1)` `f32` values (24 random mantissa bits from one word each).
/// Consumes [`blocks_used`]`(RandomKind::UniformF32, out.len())` blocks.
pub(crate) fn uniform_f32(key: PhiloxKey, out: &mut [f32]) {
    fill_blocks(key, out, |w| w.map(unit_f32));
}

/// Fills `out` with `U[0, 1)` `f64` values (53 random bits from two words each).
/// Consumes [`blocks_used`]`(RandomKind::UniformF64, out.len())` blocks.
pub(crate) fn uniform_f64(key: PhiloxKey, out: &mut [f64]) {
    fill_blocks(key, out, |w| {
        [unit_f64(join(w[0], w[1])), unit_f64(join(w[2], w[3]))]
    });
}

/// Fills `out` with standard normal `f32` values (Box-Muller, both outputs used).
/// Consumes [`blocks_used`]`(RandomKind::NormalF32, out.len())` blocks.
pub(crate) fn normal_f32(key: PhiloxKey, out: &mut [f32]) {
    fill_blocks(key, out, |w| {
        let [z0, z1] = box_muller_f32(w[0], w[1]);
        let [z2, z3] = box_muller_f32(w[2], w[3]);
        [z0, z1, z2, z3]
    });
}

/// Fills `out` with standard normal `f64` values (Box-Muller, both outputs used).
/// Consumes [`blocks_used`]`(RandomKind::NormalF64, out.len())` blocks.
pub(crate) fn normal_f64(key: PhiloxKey, out: &mut [f64]) {
    fill_blocks(key, out, |w| {
        box_muller_f64(join(w[0], w[1]), join(w[2], w[3]))
    });
}

/// Fills `out` with integers uniform in `[low, high)`.
///
/// Each element maps one 64-bit draw `x` to `low + (x * (high - low)) >> 64` (multiply-shift,
/// no rejection, so the block count is fixed): the relative bias of any value is at most
/// `(high - low) / 2^64`. Any `i64` range works, including `[i64::MIN, i64::MAX)`.
/// Consumes [`blocks_used`]`(RandomKind::RandInt, out.len())` blocks.
///
/// # Panics
///
/// If `high <= low`.
pub(crate) fn randint(key: PhiloxKey, low: i64, high: i64, out: &mut [i64]) {
    assert!(high > low, "randint: empty range [{low}, {high})");
    let range = high.wrapping_sub(low) as u64;
    let map = |x: u64| low.wrapping_add(((u128::from(x) * u128::from(range)) >> 64) as i64);
    fill_blocks(key, out, |w| [map(join(w[0], w[1])), map(join(w[2], w[3]))]);
}

/// Fills `out` with raw 64-bit draws, two per block.
fn bits_u64(key: PhiloxKey, out: &mut [u64]) {
    fill_blocks(key, out, |w| [join(w[0], w[1]), join(w[2], w[3])]);
}

/// A uniformly random permutation of `0..n`: index `i` gets the 64-bit sort key of element `i`
/// and indices are sorted by `(key, index)`, so the result is deterministic (ties, which have
/// probability about `n^2 / 2^65`, are broken by index).
/// Consumes [`blocks_used`]`(RandomKind::RandPerm, n)` blocks.
pub(crate) fn randperm(key: PhiloxKey, n: usize) -> Vec<i64> {
    // Temporaries as large as the output: an allocator refusal fails the draw (Error::Alloc).
    let mut draws = filled_or_defer(n, 0u64, DType::I64);
    bits_u64(key, &mut draws);
    let mut keyed: Vec<(u64, usize)> = with_capacity_or_defer(n, DType::I64);
    keyed.extend(draws.into_iter().zip(0..));
    // All pairs are distinct, so an unstable sort has only one possible result.
    if n >= PAR_THRESHOLD {
        keyed.par_sort_unstable();
    } else {
        keyed.sort_unstable();
    }
    let mut perm = with_capacity_or_defer(n, DType::I64);
    perm.extend(keyed.into_iter().map(|(_, i)| i as i64));
    perm
}

/// State of the global generator.
#[derive(Debug)]
struct GlobalState {
    /// The seed set by [`manual_seed`] (or [`DEFAULT_SEED`]).
    seed: u64,
    /// The next unreserved block.
    offset: u64,
}

impl GlobalState {
    /// The state of a process that never called [`manual_seed`].
    const fn new() -> Self {
        Self {
            seed: DEFAULT_SEED,
            offset: 0,
        }
    }
}

static GLOBAL: Mutex<GlobalState> = Mutex::new(GlobalState::new());

/// Locks the global generator (the state is two integers, so a poisoned lock is still valid).
fn global() -> MutexGuard<'static, GlobalState> {
    GLOBAL.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Seeds the global generator and resets its offset to 0.
pub(crate) fn manual_seed(seed: u64) {
    let mut g = global();
    g.seed = seed;
    g.offset = 0;
}

/// The seed of the global generator ([`DEFAULT_SEED`] unless [`manual_seed`] was called).
pub(crate) fn initial_seed() -> u64 {
    global().seed
}

/// Reserves `blocks` blocks of the global stream: returns the key at the current offset and
/// advances the offset by `blocks`. Thread-safe; concurrent callers get disjoint ranges.
pub(crate) fn next_key(blocks: u64) -> PhiloxKey {
    let mut g = global();
    let key = PhiloxKey {
        seed: g.seed,
        offset: g.offset,
    };
    g.offset = g.offset.wrapping_add(blocks);
    key
}

/// Reserves exactly the blocks a draw of `n` elements of `kind` needs (see [`next_key`]).
pub(crate) fn next_key_for(kind: RandomKind, n: usize) -> PhiloxKey {
    next_key(blocks_used(kind, n))
}

/// The current global state (seed and next offset), like `torch.get_rng_state`.
pub(crate) fn get_state() -> PhiloxKey {
    let g = global();
    PhiloxKey {
        seed: g.seed,
        offset: g.offset,
    }
}

/// Restores a state returned by [`get_state`], like `torch.set_rng_state`.
pub(crate) fn set_state(state: PhiloxKey) {
    let mut g = global();
    g.seed = state.seed;
    g.offset = state.offset;
}

/// The kernel-level kind of a draw of `dist` in `dtype`, or `None` if that pair is not a
/// valid draw (the primitive's shape rule rejects those first).
pub(crate) fn kind_of(dist: Distribution, dtype: DType) -> Option<RandomKind> {
    match (dist, dtype) {
        (Distribution::Uniform, DType::F32) => Some(RandomKind::UniformF32),
        (Distribution::Uniform, DType::F64) => Some(RandomKind::UniformF64),
        (Distribution::Normal, DType::F32) => Some(RandomKind::NormalF32),
        (Distribution::Normal, DType::F64) => Some(RandomKind::NormalF64),
        (Distribution::RandInt { .. }, DType::I64) => Some(RandomKind::RandInt),
        (Distribution::RandPerm, DType::I64) => Some(RandomKind::RandPerm),
        _ => None,
    }
}

/// A contiguous array of `shape` holding `fill`'s values.
fn filled<T: StorageElement>(shape: &[usize], fill: impl FnOnce(&mut [T])) -> Array {
    let mut out = alloc_uninit::<T>(crate::array::layout::numel(shape));
    fill(&mut out);
    Array::from_parts(T::wrap(out), Layout::contiguous(shape))
}

/// A fresh row-major array of `shape` and `dtype` drawn from `dist` at stream position `key`
/// (which must have [`blocks_used`] blocks reserved for it). `RandPerm` needs a 1-d shape.
///
/// # Panics
/// On a `(dist, dtype)` pair [`kind_of`] rejects, or a `RandInt` with `high <= low`.
pub(crate) fn sample(dist: Distribution, shape: &[usize], dtype: DType, key: PhiloxKey) -> Array {
    match (dist, dtype) {
        (Distribution::Uniform, DType::F32) => filled(shape, |o| uniform_f32(key, o)),
        (Distribution::Uniform, DType::F64) => filled(shape, |o| uniform_f64(key, o)),
        (Distribution::Normal, DType::F32) => filled(shape, |o| normal_f32(key, o)),
        (Distribution::Normal, DType::F64) => filled(shape, |o| normal_f64(key, o)),
        (Distribution::RandInt { low, high }, DType::I64) => {
            filled(shape, |o| randint(key, low, high, o))
        }
        (Distribution::RandPerm, DType::I64) => {
            // One permutation of the last dim per row (a batch of permutations under vmap);
            // row r starts `r * ceil(n / 2)` blocks into the reservation.
            let n = *shape.last().expect("randperm: internal: 0-d shape");
            let row_blocks = blocks_used(RandomKind::RandPerm, n);
            filled(shape, |o| {
                for (r, row) in o.chunks_mut(n.max(1)).enumerate() {
                    let row_key = PhiloxKey {
                        seed: key.seed,
                        offset: key.offset.wrapping_add((r as u64).wrapping_mul(row_blocks)),
                    };
                    row.copy_from_slice(&randperm(row_key, n));
                }
            })
        }
        _ => panic!("random: internal: {dist:?} cannot produce {dtype}"),
    }
}

/// torch's message for a bernoulli probability outside [0, 1] (shared with the CUDA backend).
pub(crate) fn bad_probability(p: &dyn std::fmt::Debug) -> String {
    format!(
        "Expected p_in >= 0 && p_in <= 1 to be true, but got p = {p:?}; every probability must \
         lie in [0, 1]"
    )
}

/// `1` where a `U[0, 1)` draw (of `p`'s float dtype, laid out row-major over `p`'s shape) is
/// below `p`, else `0`, in `p`'s dtype; `p` may be any strided view. `p` of exactly 0 or 1
/// gives exactly 0 or 1. Uses the blocks of a uniform draw of `p.numel()` elements.
///
/// # Panics
/// If an element of `p` is outside `[0, 1]` (or NaN), with torch's message (deferred to the
/// op's boundary).
pub(crate) fn bernoulli(key: PhiloxKey, p: &Array) -> Array {
    fn below<T: StorageElement>(u: &Array, p: &Array) -> Array {
        super::elementwise::zip(u, p, |u: T, p: T| {
            if !(p >= T::zero() && p <= T::one()) {
                // Data-dependent, so found here: carried to the op's call line.
                defer(Error::value("bernoulli", bad_probability(&p)));
            }
            if u < p { T::one() } else { T::zero() }
        })
    }
    let u = sample(Distribution::Uniform, p.shape(), p.dtype(), key);
    match p.dtype() {
        DType::F32 => below::<f32>(&u, p),
        DType::F64 => below::<f64>(&u, p),
        d => panic!("bernoulli: internal: p of dtype {d} should have been rejected"),
    }
}

/// Serialises the tests (in any module) that touch the global generator.
#[cfg(test)]
pub(crate) fn lock_global_for_tests() -> MutexGuard<'static, ()> {
    static GLOBAL_TEST_LOCK: Mutex<()> = Mutex::new(());
    GLOBAL_TEST_LOCK
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lock_global() -> MutexGuard<'static, ()> {
        lock_global_for_tests()
    }

    /// Long enough to take the parallel path, with a ragged tail.
    const BIG: usize = (1 << 17) + 3;

    fn pool(threads: usize) -> rayon::ThreadPool {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
    }

    fn mean_var(xs: impl Iterator<Item = f64> + Clone) -> (f64, f64) {
        let n = xs.clone().count() as f64;
        let mean = xs.clone().sum::<f64>() / n;
        let var = xs.map(|x| (x - mean) * (x - mean)).sum::<f64>() / n;
        (mean, var)
    }

    #[test]
    fn philox_known_answers() {
        // Random123 kat_vectors, "philox4x32 10" lines: counter, key, expected.
        let cases: [([u32; 4], [u32; 2], [u32; 4]); 3] = [
            (
                [0; 4],
                [0; 2],
                [0x6627_e8d5, 0xe169_c58d, 0xbc57_ac4c, 0x9b00_dbd8],
            ),
            (
                [u32::MAX; 4],
                [u32::MAX; 2],
                [0x408f_276d, 0x41c8_3b0e, 0xa20b_c7c6, 0x6d54_51fd],
            ),
            (
                [0x243f_6a88, 0x85a3_08d3, 0x1319_8a2e, 0x0370_7344],
                [0xa409_3822, 0x299f_31d0],
                [0xd16c_fe09, 0x94fd_cceb, 0x5001_e420, 0x2412_6ea1],
            ),
        ];
        for (ctr, key, want) in cases {
            assert_eq!(philox4x32_10(ctr, key), want);
        }
    }

    #[test]
    fn block_layout() {
        let key = PhiloxKey::new(0x0123_4567_89ab_cdef, 0xffff_ffff_ffff_fffe);
        // Counter wraps and carries into the high word; seed splits lo/hi.
        assert_eq!(
            key.block(3),
            philox4x32_10([1, 0, 0, 0], [0x89ab_cdef, 0x0123_4567])
        );
        assert_eq!(
            PhiloxKey::new(5, 1 << 32).block(0),
            philox4x32_10([0, 1, 0, 0], [5, 0])
        );
        // Uniform f32 element i is word i % 4 of block offset + i / 4.
        let mut out = [0f32; 10];
        uniform_f32(key, &mut out);
        for (i, &x) in out.iter().enumerate() {
            assert_eq!(x, unit_f32(key.block((i / 4) as u64)[i % 4]));
        }
    }

    #[test]
    fn unit_conversions_stay_below_one() {
        assert!(unit_f32(u32::MAX) < 1.0);
        assert_eq!(unit_f32(u32::MAX), 1.0 - INV_2_24);
        assert_eq!(unit_f32(0), 0.0);
        assert!(unit_f64(u64::MAX) < 1.0);
        assert_eq!(unit_f64(u64::MAX), 1.0 - INV_2_53);
        assert!(
            box_muller_f32(u32::MAX, u32::MAX)
                .iter()
                .all(|z| z.is_finite())
        );
        assert!(box_muller_f32(0, 0).iter().all(|z| z.is_finite()));
        assert!(
            box_muller_f64(u64::MAX, u64::MAX)
                .iter()
                .all(|z| z.is_finite())
        );
    }

    /// Fills `n` elements of every kind, returned as bit patterns for exact comparison.
    fn fill_all(key: PhiloxKey, n: usize) -> Vec<Vec<u64>> {
        let mut a = vec![0f32; n];
        uniform_f32(key, &mut a);
        let mut b = vec![0f64; n];
        uniform_f64(key, &mut b);
        let mut c = vec![0f32; n];
        normal_f32(key, &mut c);
        let mut d = vec![0f64; n];
        normal_f64(key, &mut d);
        let mut e = vec![0i64; n];
        randint(key, -1000, 12345, &mut e);
        let f = randperm(key, n);
        vec![
            a.iter().map(|x| u64::from(x.to_bits())).collect(),
            b.iter().map(|x| x.to_bits()).collect(),
            c.iter().map(|x| u64::from(x.to_bits())).collect(),
            d.iter().map(|x| x.to_bits()).collect(),
            e.iter().map(|&x| x as u64).collect(),
            f.iter().map(|&x| x as u64).collect(),
        ]
    }

    #[test]
    fn parallel_fill_matches_sequential() {
        let key = PhiloxKey::new(1234, 77);
        let one = pool(1).install(|| fill_all(key, BIG));
        let four = pool(4).install(|| fill_all(key, BIG));
        assert_eq!(one, four);
        // The small (sequential-path) fill is a prefix of the big (parallel-path) fill,
        // except randperm, whose result depends on n as a whole.
        let small = fill_all(key, 1001);
        for kind in 0..5 {
            assert_eq!(small[kind][..], four[kind][..1001], "kind {kind}");
        }
        // And the parallel fill agrees element by element with the block layout.
        let mut u = vec![0f32; BIG];
        pool(4).install(|| uniform_f32(key, &mut u));
        for (i, &x) in u.iter().enumerate() {
            assert_eq!(x, unit_f32(key.block((i / 4) as u64)[i % 4]));
        }
    }

    #[test]
    fn element_depends_only_on_seed_offset_index() {
        let key = PhiloxKey::new(99, 1000);
        let all = fill_all(key, 80);
        for skip_blocks in [1u64, 3, 10] {
            let later = fill_all(key.advanced(skip_blocks), 32);
            let per_block = [4u64, 2, 4, 2, 2];
            for kind in 0..5 {
                let skip = (skip_blocks * per_block[kind]) as usize;
                assert_eq!(later[kind][..], all[kind][skip..skip + 32], "kind {kind}");
            }
        }
    }

    #[test]
    fn blocks_used_counts() {
        assert_eq!(blocks_used_uniform(0, false), 0);
        assert_eq!(blocks_used_uniform(1, false), 1);
        assert_eq!(blocks_used_uniform(4, false), 1);
        assert_eq!(blocks_used_uniform(5, false), 2);
        assert_eq!(blocks_used_uniform(5, true), 3);
        assert_eq!(blocks_used(RandomKind::NormalF32, 9), 3);
        assert_eq!(blocks_used(RandomKind::NormalF64, 9), 5);
        assert_eq!(blocks_used(RandomKind::RandInt, 4), 2);
        assert_eq!(blocks_used(RandomKind::RandPerm, 7), 4);
        // A draw that reserved its blocks never overlaps the next one.
        let key = PhiloxKey::new(7, 0);
        let mut first = [0f64; 5];
        uniform_f64(key, &mut first);
        let mut both = [0f64; 10];
        uniform_f64(key, &mut both[..6]);
        uniform_f64(key.advanced(blocks_used_uniform(5, true)), &mut both[6..]);
        assert_eq!(first[..], both[..5]);
        assert!(both[6..].iter().all(|x| !first.contains(x)));
    }

    #[test]
    fn uniform_statistics() {
        let n = 1 << 20;
        let mut a = vec![0f32; n];
        uniform_f32(PhiloxKey::new(1, 0), &mut a);
        assert!(a.iter().all(|&x| (0.0..1.0).contains(&x)));
        let (mean, var) = mean_var(a.iter().map(|&x| f64::from(x)));
        assert!((mean - 0.5).abs() < 2e-3, "f32 mean {mean}");
        assert!((var - 1.0 / 12.0).abs() < 1e-3, "f32 var {var}");

        let mut b = vec![0f64; n];
        uniform_f64(PhiloxKey::new(2, 0), &mut b);
        assert!(b.iter().all(|&x| (0.0..1.0).contains(&x)));
        let (mean, var) = mean_var(b.iter().copied());
        assert!((mean - 0.5).abs() < 2e-3, "f64 mean {mean}");
        assert!((var - 1.0 / 12.0).abs() < 1e-3, "f64 var {var}");
        // f64 values use more than 32 bits of precision.
        assert!(b.iter().any(|&x| (x * 4_294_967_296.0).fract() != 0.0));

        // Rough uniformity over 16 bins.
        let mut bins = [0usize; 16];
        for &x in &a {
            bins[(x * 16.0) as usize] += 1;
        }
        for &count in &bins {
            let rel = count as f64 / (n as f64 / 16.0);
            assert!((rel - 1.0).abs() < 0.02, "bins {bins:?}");
        }
    }

    #[test]
    fn normal_statistics() {
        let n = 1 << 20;
        let mut a = vec![0f32; n];
        normal_f32(PhiloxKey::new(3, 0), &mut a);
        let mut b = vec![0f64; n];
        normal_f64(PhiloxKey::new(4, 0), &mut b);
        let samples: [Vec<f64>; 2] = [a.iter().map(|&x| f64::from(x)).collect(), b];
        for xs in &samples {
            assert!(xs.iter().all(|x| x.is_finite()));
            let (mean, var) = mean_var(xs.iter().copied());
            assert!(mean.abs() < 5e-3, "mean {mean}");
            assert!((var - 1.0).abs() < 1e-2, "var {var}");
            let kurt = xs.iter().map(|x| x.powi(4)).sum::<f64>() / n as f64;
            assert!((kurt - 3.0).abs() < 0.05, "4th moment {kurt}");
            let within1 = xs.iter().filter(|x| x.abs() < 1.0).count() as f64 / n as f64;
            assert!((within1 - 0.682_689).abs() < 3e-3, "P(|z|<1) {within1}");
            let within2 = xs.iter().filter(|x| x.abs() < 2.0).count() as f64 / n as f64;
            assert!((within2 - 0.954_500).abs() < 2e-3, "P(|z|<2) {within2}");
        }
    }

    #[test]
    fn randint_range_and_uniformity() {
        let n = 1 << 20;
        let mut out = vec![0i64; n];
        randint(PhiloxKey::new(5, 0), -3, 7, &mut out);
        let mut counts = [0usize; 10];
        for &x in &out {
            assert!((-3..7).contains(&x), "{x}");
            counts[(x + 3) as usize] += 1;
        }
        for &count in &counts {
            let rel = count as f64 / (n as f64 / 10.0);
            assert!((rel - 1.0).abs() < 0.02, "counts {counts:?}");
        }

        let mut one = vec![0i64; 100];
        randint(PhiloxKey::new(5, 0), 42, 43, &mut one);
        assert!(one.iter().all(|&x| x == 42));

        let mut wide = vec![0i64; 10_000];
        randint(PhiloxKey::new(6, 0), i64::MIN, i64::MAX, &mut wide);
        assert!(wide.iter().all(|&x| x < i64::MAX));
        assert!(wide.iter().any(|&x| x < 0) && wide.iter().any(|&x| x > 0));

        let mut near_top = vec![0i64; 1000];
        randint(PhiloxKey::new(6, 0), i64::MAX - 3, i64::MAX, &mut near_top);
        assert!(
            near_top
                .iter()
                .all(|&x| (i64::MAX - 3..i64::MAX).contains(&x))
        );
    }

    #[test]
    #[should_panic(expected = "empty range")]
    fn randint_rejects_empty_range() {
        randint(PhiloxKey::new(0, 0), 3, 3, &mut [0; 4]);
    }

    fn assert_permutation(p: &[i64]) {
        let mut seen = vec![false; p.len()];
        for &x in p {
            let i = usize::try_from(x).unwrap();
            assert!(!seen[i], "duplicate {x}");
            seen[i] = true;
        }
    }

    #[test]
    fn randperm_is_permutation() {
        assert!(randperm(PhiloxKey::new(0, 0), 0).is_empty());
        assert_eq!(randperm(PhiloxKey::new(0, 0), 1), vec![0]);
        for n in [2, 10, 1000, 100_000] {
            let key = PhiloxKey::new(8, 3);
            let p = randperm(key, n);
            assert_eq!(p.len(), n);
            assert_permutation(&p);
            assert_eq!(p, randperm(key, n));
            if n >= 10 {
                assert_ne!(p, (0..n as i64).collect::<Vec<_>>());
                assert_ne!(p, randperm(key.advanced(1), n));
            }
        }
        // Position of element 0 is roughly uniform over 4 slots.
        let mut counts = [0usize; 4];
        for offset in 0..4000 {
            let p = randperm(PhiloxKey::new(9, offset * 2), 4);
            counts[p.iter().position(|&x| x == 0).unwrap()] += 1;
        }
        assert!(
            counts.iter().all(|&c| (900..1100).contains(&c)),
            "{counts:?}"
        );
    }

    #[test]
    fn different_streams_differ() {
        let mut a = vec![0f32; 1000];
        let mut b = vec![0f32; 1000];
        let mut c = vec![0f32; 1000];
        uniform_f32(PhiloxKey::new(10, 0), &mut a);
        uniform_f32(PhiloxKey::new(10, 250), &mut b);
        uniform_f32(PhiloxKey::new(11, 0), &mut c);
        let same = |x: &[f32], y: &[f32]| x.iter().zip(y).filter(|(p, q)| p == q).count();
        assert!(same(&a, &b) < 5);
        assert!(same(&a, &c) < 5);
        assert!(same(&b, &c) < 5);
    }

    #[test]
    fn default_seed() {
        assert_eq!(GlobalState::new().seed, DEFAULT_SEED);
        assert_eq!(GlobalState::new().offset, 0);
        assert_eq!(DEFAULT_SEED, 67_280_421_310_721);
    }

    #[test]
    fn manual_seed_reproducibility() {
        let _guard = lock_global();
        let draw = || {
            let n = 37;
            let mut u = vec![0f32; n];
            uniform_f32(next_key_for(RandomKind::UniformF32, n), &mut u);
            let mut z = vec![0f64; n];
            normal_f64(next_key_for(RandomKind::NormalF64, n), &mut z);
            (u, z)
        };
        manual_seed(42);
        assert_eq!(initial_seed(), 42);
        assert_eq!(get_state(), PhiloxKey::new(42, 0));
        let first = draw();
        assert_eq!(get_state().offset, 10 + 19);
        let second = draw();
        assert_ne!(first, second);
        manual_seed(42);
        assert_eq!(draw(), first);
        let saved = get_state();
        assert_eq!(draw(), second);
        set_state(saved);
        assert_eq!(draw(), second);
        manual_seed(43);
        assert_ne!(draw(), first);

        manual_seed(5);
        assert_eq!(next_key(10), PhiloxKey::new(5, 0));
        assert_eq!(next_key(0), PhiloxKey::new(5, 10));
        assert_eq!(next_key(3), PhiloxKey::new(5, 10));
        assert_eq!(next_key(1), PhiloxKey::new(5, 13));
    }

    #[test]
    fn next_key_is_thread_safe() {
        let _guard = lock_global();
        manual_seed(1);
        let mut offsets: Vec<u64> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..4)
                .map(|_| s.spawn(|| (0..1000).map(|_| next_key(3).offset).collect::<Vec<_>>()))
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().unwrap())
                .collect()
        });
        offsets.sort_unstable();
        assert_eq!(offsets, (0..4000).map(|i| i * 3).collect::<Vec<_>>());
        assert_eq!(get_state().offset, 12_000);
    }
}
