//! Random draws on the device: the host's Philox4x32-10 stream, bit for bit.
//!
//! The layout is the host's (`cpu/random.rs`): block `b` of a draw at key `(seed, offset)` is
//! `philox4x32_10([lo32(offset + b), hi32(offset + b), 0, 0], [lo32(seed), hi32(seed)])`, and
//! each kind maps a fixed number of elements onto a block (uniform and normal `f32`: 4;
//! `f64`, randint: 2). One device thread computes one block and writes the elements it
//! covers (a ragged last block writes only the elements that exist), so element `i` is the
//! host's element `i`:
//!
//! - uniform `f32` and `f64`, randint and bernoulli are integer arithmetic and exact float
//!   scalings, identical bit for bit;
//! - normals use the host's formulas, rounding points and `log`/`sin`/`cos` (the `libm`
//!   crate's, transcribed in `libm.rs`), identical bit for bit;
//! - randperm is computed on the host (see [`randperm`]).

use super::checks::{self, Failure};
use super::compile::Source;
use super::launch::{BLOCK, Params, coalesce, grid_for, launch};
use super::runtime::Gpu;
use super::source::module;
use crate::array::backend::cpu::random::{RandomKind, blocks_used, kind_of};
use crate::array::backend::{Backend, Distribution, RngState};
use crate::array::{Array, DType};
use crate::error::{Error, defer};

/// Every random kernel; one module, since all share the generator.
const BODY: &str = r#"
/* Philox4x32-10 (Random123's philox4x32_R(10, ...)), as cpu/random.rs. */
struct W4 { unsigned w[4]; };

__device__ __forceinline__ W4 philox(u64 seed, u64 ctr) {
  unsigned c0 = (unsigned)ctr, c1 = (unsigned)(ctr >> 32), c2 = 0u, c3 = 0u;
  unsigned k0 = (unsigned)seed, k1 = (unsigned)(seed >> 32);
#pragma unroll
  for (int round = 0; round < 10; ++round) {
    if (round > 0) { k0 += 0x9E3779B9u; k1 += 0xBB67AE85u; }
    unsigned hi0 = __umulhi(0xD2511F53u, c0), lo0 = 0xD2511F53u * c0;
    unsigned hi1 = __umulhi(0xCD9E8D57u, c2), lo1 = 0xCD9E8D57u * c2;
    unsigned n0 = hi1 ^ c1 ^ k0, n2 = hi0 ^ c3 ^ k1;
    c0 = n0; c1 = lo1; c2 = n2; c3 = lo0;
  }
  W4 out = {{c0, c1, c2, c3}};
  return out;
}

__device__ __forceinline__ u64 join(unsigned lo, unsigned hi) { return (u64)lo | ((u64)hi << 32); }

/* [0, 1) on the 2^-24 and 2^-53 grids. The integer converts exactly and the scaling by a
   power of two is exact, so these equal the host's values, and any multiply-add the compiler
   forms with them (1 - u below) rounds as the separate operations do. */
__device__ __forceinline__ float unit_f32(unsigned w) { return (float)(w >> 8) * 0x1p-24f; }
__device__ __forceinline__ double unit_f64(u64 x) { return (double)(x >> 11) * 0x1p-53; }

/* TAU as the host's f32 and f64 constants (0x40C90FDB, 0x401921FB54442D18). */
#define TAU_F32 0x1.921fb6p+2f
#define TAU_F64 0x1.921fb54442d18p+2

/* Box-Muller at the host's rounding points (cpu/random.rs): u1, u2, -2 ln u1, its sqrt, TAU u2,
   its sine and cosine, the products; ln, sin and cos are the host's (libm.rs), sqrt is IEEE
   (--prec-sqrt=true), and the _rn intrinsics keep products and sums from fusing. */
__device__ __forceinline__ void box_muller_f32(unsigned a, unsigned b, float* z) {
  float u1 = FS(1.0f, unit_f32(a));
  float u2 = unit_f32(b);
  float r = sqrtf(FM(-2.0f, ct_logf(u1)));
  float s, c;
  ct_sincosf(FM(TAU_F32, u2), &s, &c);
  z[0] = FM(r, c);
  z[1] = FM(r, s);
}

__device__ __forceinline__ void box_muller_f64(u64 a, u64 b, double* z) {
  double u1 = DS(1.0, unit_f64(a));
  double u2 = unit_f64(b);
  double r = sqrt(DM(-2.0, ct_log(u1)));
  double s, c;
  ct_sincos(DM(TAU_F64, u2), &s, &c);
  z[0] = DM(r, c);
  z[1] = DM(r, s);
}

/* The K values of one block for each kind. */
struct UniformF32 { __device__ void operator()(const W4& w, float* v) const {
  for (int k = 0; k < 4; ++k) v[k] = unit_f32(w.w[k]);
} };
struct UniformF64 { __device__ void operator()(const W4& w, double* v) const {
  v[0] = unit_f64(join(w.w[0], w.w[1]));
  v[1] = unit_f64(join(w.w[2], w.w[3]));
} };
struct NormalF32 { __device__ void operator()(const W4& w, float* v) const {
  box_muller_f32(w.w[0], w.w[1], v);
  box_muller_f32(w.w[2], w.w[3], v + 2);
} };
struct NormalF64 { __device__ void operator()(const W4& w, double* v) const {
  box_muller_f64(join(w.w[0], w.w[1]), join(w.w[2], w.w[3]), v);
} };
/* Multiply-shift: low + (x * range) >> 64, wrapping. */
struct RandInt { i64 low; u64 range; __device__ void operator()(const W4& w, i64* v) const {
  v[0] = (i64)((u64)low + __umul64hi(join(w.w[0], w.w[1]), range));
  v[1] = (i64)((u64)low + __umul64hi(join(w.w[2], w.w[3]), range));
} };

/* One block's K elements are 16 bytes, and the output starts on an allocation (256-byte
   aligned), so a whole block is one vector store (checked, should that ever change). */
template <typename T, int K> struct alignas(16) Chunk { T v[K]; };

struct P { void* out; i64 n; u64 seed; u64 offset; i64 low; u64 range; };

template <typename T, int K, typename G> __device__ __forceinline__ void fill(const P& p, G gen) {
  T* out = (T*)p.out;
  bool aligned = ((u64)p.out & 15) == 0;
  i64 blocks = (p.n + K - 1) / K;
  for (i64 b = (i64)blockIdx.x * blockDim.x + threadIdx.x; b < blocks; b += (i64)gridDim.x * blockDim.x) {
    Chunk<T, K> c;
    gen(philox(p.seed, p.offset + (u64)b), c.v);
    i64 base = b * K;
    if (aligned && base + K <= p.n) {
      *(Chunk<T, K>*)(out + base) = c;
    } else {
      for (int k = 0; k < K && base + k < p.n; ++k) out[base + k] = c.v[k];
    }
  }
}

extern "C" __global__ void uniform_f32(const P p) { fill<float, 4>(p, UniformF32()); }
extern "C" __global__ void uniform_f64(const P p) { fill<double, 2>(p, UniformF64()); }
extern "C" __global__ void normal_f32(const P p) { fill<float, 4>(p, NormalF32()); }
extern "C" __global__ void normal_f64(const P p) { fill<double, 2>(p, NormalF64()); }
extern "C" __global__ void randint(const P p) { RandInt g = {p.low, p.range}; fill<i64, 2>(p, g); }

/* bernoulli: out[i] = u[i] < p[i] for the uniform draw u of p's dtype and shape (row-major),
   p read through its merged dims and strides. A p outside [0, 1] (or NaN) records its linear
   position in status[0] (the smallest one wins), for the host to raise the host's error. */
template <typename T> struct PB { T* out; const T* p; Shape s; Lay l; u64 seed; u64 offset; u64* status; u64* word; u64 id; };

template <typename T> __device__ __forceinline__ i64 p_offset(const PB<T>& p, i64 i) {
  i64 o = p.l.off, rem = i;
  for (int d = (int)p.s.rank - 1; d >= 0; --d) {
    i64 c;
    if (d == 0) c = rem; else { c = rem % p.s.dim[d]; rem /= p.s.dim[d]; }
    o += c * p.l.st[d];
  }
  return o;
}

template <typename T, int K, typename G> __device__ __forceinline__ void bernoulli(const PB<T>& p, G gen) {
  i64 n = p.s.n, blocks = (n + K - 1) / K;
  for (i64 b = (i64)blockIdx.x * blockDim.x + threadIdx.x; b < blocks; b += (i64)gridDim.x * blockDim.x) {
    T u[K];
    gen(philox(p.seed, p.offset + (u64)b), u);
    for (int k = 0; k < K; ++k) {
      i64 i = b * K + k;
      if (i >= n) break;
      T q = p.p[p_offset(p, i)];
      if (!(q >= T(0) && q <= T(1)) && (u64)i < *(volatile u64*)p.status) atomicMin(p.status, (u64)i);
      p.out[i] = u[k] < q ? T(1) : T(0);
    }
  }
}

/* One thread, after bernoulli: status[1] = the bits of the first bad p, as a double, and the
   device's error word (if given) = [id, those bits] unless an earlier check failed. */
template <typename T> __device__ __forceinline__ void bernoulli_pick(const PB<T>& p) {
  u64 first = p.status[0];
  if (first == ~0ull) return;
  u64 v = (u64)__double_as_longlong((double)p.p[p_offset(p, (i64)first)]);
  p.status[1] = v;
  if (p.word && atomicCAS(p.word, 0ull, p.id) == 0ull) p.word[1] = v;
}

extern "C" __global__ void bernoulli_f32(const PB<float> p) { bernoulli<float, 4>(p, UniformF32()); }
extern "C" __global__ void bernoulli_f64(const PB<double> p) { bernoulli<double, 2>(p, UniformF64()); }
extern "C" __global__ void bernoulli_pick_f32(const PB<float> p) { bernoulli_pick(p); }
extern "C" __global__ void bernoulli_pick_f64(const PB<double> p) { bernoulli_pick(p); }
"#;

/// The entry points of [`BODY`], in this order.
const ENTRIES: [&str; 9] = [
    "uniform_f32",
    "uniform_f64",
    "normal_f32",
    "normal_f64",
    "randint",
    "bernoulli_f32",
    "bernoulli_f64",
    "bernoulli_pick_f32",
    "bernoulli_pick_f64",
];

fn source() -> Source {
    Source {
        code: module(&[super::libm::LIBM, BODY].concat()),
        entries: ENTRIES.to_vec(),
    }
}

/// The module's process-cache key (its source depends on nothing).
const KEY: (&str, u64) = ("random.philox", 0);

/// The kernel (index into [`ENTRIES`]) and elements per Philox block of each kind.
fn entry_of(kind: RandomKind) -> (usize, usize) {
    match kind {
        RandomKind::UniformF32 => (0, 4),
        RandomKind::UniformF64 => (1, 2),
        RandomKind::NormalF32 => (2, 4),
        RandomKind::NormalF64 => (3, 2),
        RandomKind::RandInt => (4, 2),
        RandomKind::RandPerm => unreachable!("internal: randperm is drawn on the host"),
    }
}

/// A draw of `shape` and `dtype` from `dist` at `key`.
pub(crate) fn sample(
    gpu: &Gpu,
    dist: Distribution,
    shape: &[usize],
    dtype: DType,
    key: RngState,
) -> Array {
    let Some(kind) = kind_of(dist, dtype) else {
        panic!("random: internal: {dist:?} cannot produce {dtype}")
    };
    if kind == RandomKind::RandPerm {
        return randperm(gpu, shape, key);
    }
    let (low, range) = match dist {
        Distribution::RandInt { low, high } => {
            assert!(high > low, "randint: empty range [{low}, {high})");
            (low, high.wrapping_sub(low) as u64)
        }
        _ => (0, 0),
    };
    let out = super::empty(gpu, shape, dtype);
    let n = out.numel();
    if n == 0 {
        return out;
    }
    let (entry, per_block) = entry_of(kind);
    let blocks = n.div_ceil(per_block);
    debug_assert_eq!(blocks as u64, blocks_used(kind, n));
    let module = gpu.kernels.get(gpu, KEY, source);
    let mut p = Params::new();
    p.buffer(&out)
        .usize(n)
        .u64(key.seed)
        .u64(key.offset)
        .i64(low)
        .u64(range);
    launch(
        gpu,
        &module.entries[entry],
        (grid_for(blocks), 1, 1),
        (BLOCK, 1, 1),
        0,
        &mut p,
    );
    out
}

/// One permutation of `0..n` per row of `shape` (`n` its last dim), computed on the host
/// with the CPU kernel and uploaded: it is a sort of `n` random keys per row, which the host
/// does per call at a host sort's cost plus one copy. That is fine for what it is used for
/// (shuffling a dataset's indices once an epoch), and it makes the device's permutation the
/// host's by construction.
fn randperm(gpu: &Gpu, shape: &[usize], key: RngState) -> Array {
    let n = *shape.last().expect("randperm: internal: 0-d shape");
    if n <= 1 {
        // Every row is [0] (or there are no elements). Also keeps a one-element result a
        // fresh array: `from_host` turns one value into a broadcast of a cached constant.
        return super::full(gpu, shape, 0.0, 0, DType::I64);
    }
    let host = super::super::cpu::Cpu::random(Distribution::RandPerm, shape, DType::I64, key);
    super::from_host(gpu, &host)
}

/// Bernoulli draws with probabilities `p`.
pub(crate) fn bernoulli(gpu: &Gpu, p: &Array, key: RngState) -> Array {
    let (entry, per_block) = match p.dtype() {
        DType::F32 => (5, 4),
        DType::F64 => (6, 2),
        d => panic!("bernoulli: internal: p of dtype {d} should have been rejected"),
    };
    let out = super::empty(gpu, p.shape(), p.dtype());
    let n = p.numel();
    if n == 0 {
        return out;
    }
    // p through its merged dims; the output and the uniform draw are row-major over the same
    // positions, which merging keeps in order.
    let (dims, strides) = coalesce(p.shape(), &[p.layout().strides()]);
    if dims.len() > super::launch::MAX_RANK {
        crate::error::raise(Error::Device {
            op: "bernoulli",
            msg: format!(
                "CUDA kernels index at most {} dims, and this view of shape {:?} needs {}; \
                 call .contiguous() on the input first",
                super::launch::MAX_RANK,
                p.shape(),
                dims.len()
            ),
        });
    }
    // [first linear position of a p outside [0, 1], that p as f64 bits]; all ones: none.
    let status = super::full(gpu, &[2], -1.0, -1, DType::I64);
    let module = gpu.kernels.get(gpu, KEY, source);
    let run = |word: u64, id: u64| {
        let mut params = Params::new();
        params
            .buffer(&out)
            .buffer(p)
            .shape(&dims)
            .lay(p.layout().offset(), &strides[0])
            .u64(key.seed)
            .u64(key.offset)
            .buffer(&status)
            .u64(word)
            .u64(id);
        launch(
            gpu,
            &module.entries[entry],
            (grid_for(n.div_ceil(per_block)), 1, 1),
            (BLOCK, 1, 1),
            0,
            &mut params,
        );
        launch(
            gpu,
            &module.entries[entry + 2],
            (1, 1, 1),
            (1, 1, 1),
            0,
            &mut params,
        );
    };
    // The host kernel fails on a p outside [0, 1] (torch's message); here the verdict goes to
    // the next read (Note [Deferred device checks]) unless checks are synchronous.
    let f32 = p.dtype() == DType::F32;
    if !checks::synchronous() {
        gpu.checks.queue(gpu, Failure::Probability { f32 }, run);
        return out;
    }
    run(0, 0);
    let words = super::to_host(&status).to_vec::<i64>();
    if words[0] != -1 {
        let msg = checks::probability_message(words[1] as u64, f32);
        defer(Error::value("bernoulli", msg));
    }
    out
}

/// This file's kernel sources, for the NVRTC compile check (`cuda/mod.rs`).
#[cfg(test)]
pub(crate) fn sources_for_test() -> Vec<(String, super::compile::Source)> {
    vec![("random".to_string(), source())]
}

/// Device against host for the same keys (skipped without a CUDA device).
#[cfg(test)]
mod tests {
    use super::super::{from_host, runtime, to_host};
    use crate::array::backend::cpu::Cpu;
    use crate::array::backend::{Backend, Distribution, RngState};
    use crate::array::{Array, DType, Layout};

    fn sv(v: &[usize]) -> crate::array::Dims {
        v.into()
    }

    fn gpu() -> Option<&'static super::Gpu> {
        if !super::super::is_available() {
            eprintln!("skipped: no CUDA device");
            return None;
        }
        Some(runtime::gpu(0).expect("device 0"))
    }

    fn bits(a: &Array) -> Vec<u64> {
        let h = if a.device() == crate::Device::Cpu {
            a.clone()
        } else {
            to_host(a)
        };
        match h.dtype() {
            DType::F32 => h
                .to_vec::<f32>()
                .iter()
                .map(|x| u64::from(x.to_bits()))
                .collect(),
            DType::F64 => h.to_vec::<f64>().iter().map(|x| x.to_bits()).collect(),
            _ => h.to_vec::<i64>().iter().map(|&x| x as u64).collect(),
        }
    }

    const KEYS: [RngState; 4] = [
        RngState {
            seed: 1234,
            offset: 77,
        },
        RngState {
            seed: 0x0123_4567_89ab_cdef,
            offset: 0xffff_ffff_ffff_fffe,
        },
        RngState {
            seed: 67_280_421_310_721,
            offset: (1 << 32) - 3,
        },
        RngState { seed: 0, offset: 0 },
    ];

    const SIZES: [&[usize]; 7] = [&[0], &[1], &[3], &[5], &[7, 143], &[1001], &[(1 << 17) + 3]];

    #[test]
    fn uniform_and_randint_are_the_hosts_bit_for_bit() {
        let Some(gpu) = gpu() else { return };
        let dists = [
            (Distribution::Uniform, DType::F32),
            (Distribution::Uniform, DType::F64),
            (
                Distribution::RandInt {
                    low: -1000,
                    high: 12345,
                },
                DType::I64,
            ),
            (
                Distribution::RandInt {
                    low: i64::MIN,
                    high: i64::MAX,
                },
                DType::I64,
            ),
            (
                Distribution::RandInt {
                    low: i64::MAX - 3,
                    high: i64::MAX,
                },
                DType::I64,
            ),
            (Distribution::RandInt { low: 42, high: 43 }, DType::I64),
        ];
        for key in KEYS {
            for shape in SIZES {
                for (dist, dtype) in dists {
                    let want = Cpu::random(dist, shape, dtype, key);
                    let got = super::sample(gpu, dist, shape, dtype, key);
                    assert_eq!(got.shape(), shape);
                    assert_eq!(
                        bits(&got),
                        bits(&want),
                        "{dist:?} {dtype} {shape:?} {key:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn normals_are_the_hosts_bit_for_bit() {
        let Some(gpu) = gpu() else { return };
        for dtype in [DType::F32, DType::F64] {
            for key in KEYS {
                for shape in SIZES {
                    let want = Cpu::random(Distribution::Normal, shape, dtype, key);
                    let got = super::sample(gpu, Distribution::Normal, shape, dtype, key);
                    assert_eq!(bits(&got), bits(&want), "normal {dtype} {shape:?} {key:?}");
                }
            }
        }
        // Every f32 angle and radius of the grid: 2^22 blocks use each word value once.
        let key = KEYS[0];
        let n = 1 << 24;
        let want = Cpu::random(Distribution::Normal, &[n], DType::F32, key);
        let got = super::sample(gpu, Distribution::Normal, &[n], DType::F32, key);
        assert!(bits(&got) == bits(&want), "normal f32 over 2^24 draws");
    }

    #[test]
    fn randperm_is_the_hosts() {
        let Some(gpu) = gpu() else { return };
        // Not KEYS[1]: the host's batched randperm adds row offsets without wrapping.
        for key in [KEYS[0], KEYS[2], KEYS[3]] {
            for shape in [
                &[0][..],
                &[1],
                &[2],
                &[10],
                &[3, 7],
                &[4, 1],
                &[1, 1],
                &[100_000],
            ] {
                let want = Cpu::random(Distribution::RandPerm, shape, DType::I64, key);
                let got = super::sample(gpu, Distribution::RandPerm, shape, DType::I64, key);
                assert_eq!(got.shape(), shape);
                assert!(got.layout().is_contiguous());
                assert_eq!(bits(&got), bits(&want), "{shape:?}");
            }
        }
    }

    #[test]
    fn bernoulli_is_the_hosts_bit_for_bit() {
        let Some(gpu) = gpu() else { return };
        let key = KEYS[1];
        for dtype in [DType::F32, DType::F64] {
            // p on a grid with exact 0s and 1s, through a transposed view with an offset.
            let n = 2 + 301 * 203;
            let vals: Vec<f64> = (0..n).map(|k| (k % 17) as f64 / 16.0).collect();
            let base = Array::from_vec(vals, &[n]).unwrap();
            let base = Cpu::cast(&base, dtype);
            let layout = Layout::from_parts(sv(&[203, 301]), sv(&[1, 203]), 2);
            let hp = base.with_layout(layout.clone());
            let dp = from_host(gpu, &base).with_layout(layout);
            let want = Cpu::bernoulli(&hp, key);
            let got = super::bernoulli(gpu, &dp, key);
            assert_eq!(bits(&got), bits(&want), "{dtype} transposed");
            // A broadcast p (dropout's).
            let one = Cpu::cast(&Array::from_vec(vec![0.3f64, 0.7], &[2]).unwrap(), dtype);
            let layout = Layout::from_parts(sv(&[1000, 13]), sv(&[0, 0]), 1);
            let hp = one.with_layout(layout.clone());
            let dp = from_host(gpu, &one).with_layout(layout);
            assert_eq!(
                bits(&super::bernoulli(gpu, &dp, key)),
                bits(&Cpu::bernoulli(&hp, key)),
                "{dtype} broadcast"
            );
        }
    }

    #[test]
    fn bernoulli_rejects_p_outside_the_unit_interval_as_the_host_does() {
        let Some(gpu) = gpu() else { return };
        // The draw itself, or (Note [Deferred device checks]) the read after it, fails.
        let reported = |p: &Array| {
            crate::error::catch(|| drop(to_host(&super::bernoulli(gpu, p, KEYS[0]))))
                .unwrap_err()
                .to_string()
        };
        for dtype in [DType::F32, DType::F64] {
            let p = Cpu::cast(
                &Array::from_vec(vec![0.5f64, 0.25, 1.0, 1.5, 0.0, f64::NAN, -2.0], &[7]).unwrap(),
                dtype,
            );
            let want = crate::error::catch(|| Cpu::bernoulli(&p, KEYS[0])).unwrap_err();
            let got = reported(&from_host(gpu, &p));
            assert!(got.starts_with(&want.to_string()), "{got}");
            let nan = Cpu::cast(
                &Array::from_vec(vec![0.5f64, f64::NAN], &[2]).unwrap(),
                dtype,
            );
            let want = crate::error::catch(|| Cpu::bernoulli(&nan, KEYS[0])).unwrap_err();
            let got = reported(&from_host(gpu, &nan));
            assert!(got.starts_with(&want.to_string()), "{got}");
        }
    }
}
