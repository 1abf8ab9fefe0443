//! The host's `log`, `logf`, `sincos` and `sincosf` in CUDA C, bit for bit: normals are drawn
//! with them on both sides (`cpu/random.rs` calls the `libm` crate, whose FreeBSD msun
//! implementations use only IEEE operations, so the host's values do not depend on the
//! platform's C library either).
//!
//! Checked against the `libm` crate by compiling this text as C (`cc -ffp-contract=off`, the
//! intrinsics as plain operations; the test below): identical bits on all 2^24 inputs of
//! Box-Muller's f32 grid and on 2*10^6 of its f64 inputs (2*10^7 once, by hand); on the device
//! by `normals_are_the_hosts_bit_for_bit` (`random.rs`).

/// CUDA C source, included in the random module ahead of its kernels.
pub(crate) const LIBM: &str = r#"
/* The host's log, logf, sincos and sincosf: the `libm` crate's (FreeBSD msun, from Sun's
   fdlibm), operation for operation, so that normals are the host's bit for bit. The _rn
   intrinsics keep the compiler from fusing a multiply and an add into one FMA (one rounding
   where the host rounds twice); division and square root are IEEE (--prec-div,
   --prec-sqrt). Only the branches Box-Muller reaches are kept: log on (0, 1], sincos on
   [0, 2 pi]. */
#define DM(a, b) __dmul_rn(a, b)
#define DA(a, b) __dadd_rn(a, b)
#define DS(a, b) __dsub_rn(a, b)
#define FM(a, b) __fmul_rn(a, b)
#define FA(a, b) __fadd_rn(a, b)
#define FS(a, b) __fsub_rn(a, b)

/* e_log.c: log(1 + f) = f - hfsq + s (hfsq + R(s^2)), s = f / (2 + f), x = 2^k (1 + f). */
__device__ __forceinline__ double ct_log(double x) {
  const double ln2_hi = 6.93147180369123816490e-01, ln2_lo = 1.90821492927058770002e-10;
  const double lg1 = 6.666666666666735130e-01, lg2 = 3.999999999940941908e-01,
               lg3 = 2.857142874366239149e-01, lg4 = 2.222219843214978396e-01,
               lg5 = 1.818357216161805012e-01, lg6 = 1.531383769920937332e-01,
               lg7 = 1.479819860511658591e-01;
  u64 ui = (u64)__double_as_longlong(x);
  unsigned hx = (unsigned)(ui >> 32);
  int k = 0;
  if (hx < 0x00100000u || (hx >> 31) != 0) {
    if ((ui << 1) == 0) return -1.0 / DM(x, x);
    if ((hx >> 31) != 0) return __longlong_as_double(0x7ff8000000000000ll); /* NaN; unreached */
    k -= 54;
    x = DM(x, 0x1p54);
    ui = (u64)__double_as_longlong(x);
    hx = (unsigned)(ui >> 32);
  } else if (hx >= 0x7ff00000u) {
    return x;
  } else if (hx == 0x3ff00000u && (ui << 32) == 0) {
    return 0.0;
  }
  hx += 0x3ff00000u - 0x3fe6a09eu;
  k += (int)(hx >> 20) - 0x3ff;
  hx = (hx & 0x000fffffu) + 0x3fe6a09eu;
  ui = ((u64)hx << 32) | (ui & 0xffffffffull);
  x = __longlong_as_double((i64)ui);
  double f = DS(x, 1.0);
  double hfsq = DM(DM(0.5, f), f);
  double s = f / DA(2.0, f);
  double z = DM(s, s);
  double w = DM(z, z);
  double t1 = DM(w, DA(lg2, DM(w, DA(lg4, DM(w, lg6)))));
  double t2 = DM(z, DA(lg1, DM(w, DA(lg3, DM(w, DA(lg5, DM(w, lg7)))))));
  double r = DA(t2, t1);
  double dk = (double)k;
  return DA(DA(DS(DA(DM(s, DA(hfsq, r)), DM(dk, ln2_lo)), hfsq), f), DM(dk, ln2_hi));
}

/* e_logf.c, the same in float. */
__device__ __forceinline__ float ct_logf(float x) {
  const float ln2_hi = 6.9313812256e-01f, ln2_lo = 9.0580006145e-06f;
  const float lg1 = 0.66666662693f, lg2 = 0.40000972152f, lg3 = 0.28498786688f,
              lg4 = 0.24279078841f;
  unsigned ix = __float_as_uint(x);
  int k = 0;
  if (ix < 0x00800000u || (ix >> 31) != 0) {
    if ((ix << 1) == 0) return -1.0f / FM(x, x);
    if ((ix >> 31) != 0) return __uint_as_float(0x7fc00000u); /* NaN; unreached */
    k -= 25;
    x = FM(x, 0x1p25f);
    ix = __float_as_uint(x);
  } else if (ix >= 0x7f800000u) {
    return x;
  } else if (ix == 0x3f800000u) {
    return 0.0f;
  }
  ix += 0x3f800000u - 0x3f3504f3u;
  k += (int)(ix >> 23) - 0x7f;
  ix = (ix & 0x007fffffu) + 0x3f3504f3u;
  x = __uint_as_float(ix);
  float f = FS(x, 1.0f);
  float s = f / FA(2.0f, f);
  float z = FM(s, s);
  float w = FM(z, z);
  float t1 = FM(w, FA(lg2, FM(w, lg4)));
  float t2 = FM(z, FA(lg1, FM(w, lg3)));
  float r = FA(t2, t1);
  float hfsq = FM(FM(0.5f, f), f);
  float dk = (float)k;
  return FA(FA(FS(FA(FM(s, FA(hfsq, r)), FM(dk, ln2_lo)), hfsq), f), FM(dk, ln2_hi));
}

/* k_sin.c and k_cos.c: sin and cos of x + y on [-pi/4, pi/4] (y the tail; iy = 0: y = 0). */
__device__ __forceinline__ double ct_k_sin(double x, double y, int iy) {
  const double s1 = -1.66666666666666324348e-01, s2 = 8.33333333332248946124e-03,
               s3 = -1.98412698298579493134e-04, s4 = 2.75573137070700676789e-06,
               s5 = -2.50507602534068634195e-08, s6 = 1.58969099521155010221e-10;
  double z = DM(x, x);
  double w = DM(z, z);
  double r = DA(DA(s2, DM(z, DA(s3, DM(z, s4)))), DM(DM(z, w), DA(s5, DM(z, s6))));
  double v = DM(z, x);
  if (iy == 0) return DA(x, DM(v, DA(s1, DM(z, r))));
  return DS(x, DS(DS(DM(z, DS(DM(0.5, y), DM(v, r))), y), DM(v, s1)));
}

__device__ __forceinline__ double ct_k_cos(double x, double y) {
  const double c1 = 4.16666666666666019037e-02, c2 = -1.38888888888741095749e-03,
               c3 = 2.48015872894767294178e-05, c4 = -2.75573143513906633035e-07,
               c5 = 2.08757232129817482790e-09, c6 = -1.13596475577881948265e-11;
  double z = DM(x, x);
  double w = DM(z, z);
  double r = DA(DM(z, DA(c1, DM(z, DA(c2, DM(z, c3))))),
                DM(DM(w, w), DA(c4, DM(z, DA(c5, DM(z, c6))))));
  double hz = DM(0.5, z);
  double w1 = DS(1.0, hz);
  return DA(w1, DA(DS(DS(1.0, w1), hz), DS(DM(z, r), DM(x, y))));
}

/* e_rem_pio2.c: x = n pi/2 + y0 + y1, |y0 + y1| <= pi/4, for |x| < 2^20 pi/2 (medium()). */
#define CT_PIO2_1 1.57079632673412561417e+00
#define CT_PIO2_1T 6.07710050650619224932e-11
__device__ __forceinline__ int ct_rem_pio2_medium(double x, unsigned ix, double* y0, double* y1) {
  const double to_int = 6755399441055744.0, inv_pio2 = 6.36619772367581382433e-01;
  const double pio2_2 = 6.07710050630396597660e-11, pio2_2t = 2.02226624879595063154e-21;
  const double pio2_3 = 2.02226624871116645580e-21, pio2_3t = 8.47842766036889956997e-32;
  double f_n = DS(DA(DM(x, inv_pio2), to_int), to_int);
  int n = (int)f_n;
  double r = DS(x, DM(f_n, CT_PIO2_1));
  double w = DM(f_n, CT_PIO2_1T);
  double y = DS(r, w);
  int ex = (int)(ix >> 20);
  int ey = (int)(((u64)__double_as_longlong(y) >> 52) & 0x7ff);
  if (ex - ey > 16) {
    double t = r;
    w = DM(f_n, pio2_2);
    r = DS(t, w);
    w = DS(DM(f_n, pio2_2t), DS(DS(t, r), w));
    y = DS(r, w);
    ey = (int)(((u64)__double_as_longlong(y) >> 52) & 0x7ff);
    if (ex - ey > 49) {
      t = r;
      w = DM(f_n, pio2_3);
      r = DS(t, w);
      w = DS(DM(f_n, pio2_3t), DS(DS(t, r), w));
      y = DS(r, w);
    }
  }
  *y0 = y;
  *y1 = DS(DS(r, y), w);
  return n;
}

/* One of rem_pio2's fixed reductions: x - m pi/2 (sign 0) or x + m pi/2 in two parts. */
__device__ __forceinline__ int ct_rem_fixed(double x, int sign, double m, double* y0, double* y1) {
  double hi = DM(m, CT_PIO2_1), lo = DM(m, CT_PIO2_1T); /* m = 1..4: as the host's constants */
  if (sign == 0) {
    double z = DS(x, hi);
    *y0 = DS(z, lo);
    *y1 = DS(DS(z, *y0), lo);
    return (int)m;
  }
  double z = DA(x, hi);
  *y0 = DA(z, lo);
  *y1 = DA(DS(z, *y0), lo);
  return -(int)m;
}

__device__ __forceinline__ int ct_rem_pio2(double x, double* y0, double* y1) {
  u64 u = (u64)__double_as_longlong(x);
  int sign = (int)(u >> 63);
  unsigned ix = (unsigned)(u >> 32) & 0x7fffffffu;
  if (ix <= 0x400f6a7au) {
    if ((ix & 0xfffffu) == 0x921fbu) return ct_rem_pio2_medium(x, ix, y0, y1);
    return ct_rem_fixed(x, sign, ix <= 0x4002d97cu ? 1.0 : 2.0, y0, y1);
  }
  if (ix <= 0x401c463bu) {
    if (ix <= 0x4015fdbcu) {
      if (ix == 0x4012d97cu) return ct_rem_pio2_medium(x, ix, y0, y1);
      return ct_rem_fixed(x, sign, 3.0, y0, y1);
    }
    if (ix == 0x401921fbu) return ct_rem_pio2_medium(x, ix, y0, y1);
    return ct_rem_fixed(x, sign, 4.0, y0, y1);
  }
  return ct_rem_pio2_medium(x, ix, y0, y1); /* |x| < 2^20 pi/2 here; larger is not reached */
}

/* s_sincos.c */
__device__ __forceinline__ void ct_sincos(double x, double* s, double* c) {
  unsigned ix = (unsigned)((u64)__double_as_longlong(x) >> 32) & 0x7fffffffu;
  if (ix <= 0x3fe921fbu) {
    if (ix < 0x3e46a09eu) { *s = x; *c = 1.0; return; }
    *s = ct_k_sin(x, 0.0, 0);
    *c = ct_k_cos(x, 0.0);
    return;
  }
  if (ix >= 0x7ff00000u) { *s = *c = DS(x, x); return; }
  double y0, y1;
  int n = ct_rem_pio2(x, &y0, &y1);
  double sn = ct_k_sin(y0, y1, 1), cs = ct_k_cos(y0, y1);
  switch (n & 3) {
    case 0: *s = sn; *c = cs; break;
    case 1: *s = cs; *c = -sn; break;
    case 2: *s = -sn; *c = -cs; break;
    default: *s = -cs; *c = sn; break;
  }
}

/* k_sinf.c and k_cosf.c: float sin and cos of a double on [-pi/4, pi/4]. */
__device__ __forceinline__ float ct_k_sinf(double x) {
  const double s1 = -0.166666666416265235595, s2 = 0.0083333293858894631756,
               s3 = -0.000198393348360966317347, s4 = 0.0000027183114939898219064;
  double z = DM(x, x);
  double w = DM(z, z);
  double r = DA(s3, DM(z, s4));
  double s = DM(z, x);
  return (float)DA(DA(x, DM(s, DA(s1, DM(z, s2)))), DM(DM(s, w), r));
}

__device__ __forceinline__ float ct_k_cosf(double x) {
  const double c0 = -0.499999997251031003120, c1 = 0.0416666233237390631894,
               c2 = -0.00138867637746099294692, c3 = 0.0000243904487962774090654;
  double z = DM(x, x);
  double w = DM(z, z);
  double r = DA(c2, DM(z, c3));
  return (float)DA(DA(DA(1.0, DM(z, c0)), DM(w, c1)), DM(DM(w, z), r));
}

/* s_sincosf.c for |x| <= 9 pi/4 (Box-Muller's angles lie in [0, 2 pi]). */
__device__ __forceinline__ void ct_sincosf(float x, float* s, float* c) {
  const double p1 = 1.0 * (0.5 * 3.1415926535897931160E+00), p2 = 2.0 * (0.5 * 3.1415926535897931160E+00),
               p3 = 3.0 * (0.5 * 3.1415926535897931160E+00), p4 = 4.0 * (0.5 * 3.1415926535897931160E+00);
  unsigned ix = __float_as_uint(x);
  int sign = (int)(ix >> 31);
  ix &= 0x7fffffffu;
  double xd = (double)x;
  if (ix <= 0x3f490fdau) {
    if (ix < 0x39800000u) { *s = x; *c = 1.0f; return; }
    *s = ct_k_sinf(xd);
    *c = ct_k_cosf(xd);
    return;
  }
  if (ix <= 0x407b53d1u) {
    if (ix <= 0x4016cbe3u) {
      if (sign) { *s = -ct_k_cosf(DA(xd, p1)); *c = ct_k_sinf(DA(xd, p1)); }
      else { *s = ct_k_cosf(DS(p1, xd)); *c = ct_k_sinf(DS(p1, xd)); }
    } else if (sign) { *s = -ct_k_sinf(DA(xd, p2)); *c = -ct_k_cosf(DA(xd, p2)); }
    else { *s = -ct_k_sinf(DS(xd, p2)); *c = -ct_k_cosf(DS(xd, p2)); }
    return;
  }
  if (ix <= 0x40afeddfu) {
    if (sign) { *s = ct_k_cosf(DA(xd, p3)); *c = -ct_k_sinf(DA(xd, p3)); }
    else { *s = -ct_k_cosf(DS(xd, p3)); *c = ct_k_sinf(DS(xd, p3)); }
    return;
  }
  /* up to 9 pi/4; beyond is not reached */
  if (sign) { *s = ct_k_sinf(DA(xd, p4)); *c = ct_k_cosf(DA(xd, p4)); }
  else { *s = ct_k_sinf(DS(xd, p4)); *c = ct_k_cosf(DS(xd, p4)); }
}
"#;

/// [`LIBM`] compiled as C for the host (the intrinsics as plain operations, no contraction)
/// against the `libm` crate: skipped where no C compiler (`cc`) runs.
#[cfg(test)]
mod tests {
    const HARNESS: &str = r#"
#include <stdio.h>
#include <string.h>
typedef long long i64; typedef unsigned long long u64;
#define __device__
#define __forceinline__ static inline
static inline double __dmul_rn(double a, double b) { return a * b; }
static inline double __dadd_rn(double a, double b) { return a + b; }
static inline double __dsub_rn(double a, double b) { return a - b; }
static inline float __fmul_rn(float a, float b) { return a * b; }
static inline float __fadd_rn(float a, float b) { return a + b; }
static inline float __fsub_rn(float a, float b) { return a - b; }
static inline i64 __double_as_longlong(double x) { i64 r; memcpy(&r, &x, 8); return r; }
static inline double __longlong_as_double(i64 x) { double r; memcpy(&r, &x, 8); return r; }
static inline unsigned __float_as_uint(float x) { unsigned r; memcpy(&r, &x, 4); return r; }
static inline float __uint_as_float(unsigned x) { float r; memcpy(&r, &x, 4); return r; }
@LIBM@
static u64 h;
static void mix(u64 v) { h ^= v; h *= 1099511628211ull; }
int main(void) {
  h = 1469598103934665603ull;
  for (unsigned k = 0; k < (1u << 24); ++k) {
    float u = (float)k * 0x1p-24f, s, c;
    mix(__float_as_uint(ct_logf(1.0f - u)));
    ct_sincosf(0x1.921fb6p+2f * u, &s, &c);
    mix(__float_as_uint(s)); mix(__float_as_uint(c));
  }
  printf("%016llx\n", h);
  h = 1469598103934665603ull;
  u64 st = 12345;
  for (unsigned k = 0; k < @N64@u; ++k) {
    st = st * 6364136223846793005ull + 1442695040888963407ull;
    double u = (double)(st >> 11) * 0x1p-53, s, c;
    mix((u64)__double_as_longlong(ct_log(1.0 - u)));
    ct_sincos(0x1.921fb54442d18p+2 * u, &s, &c);
    mix((u64)__double_as_longlong(s)); mix((u64)__double_as_longlong(c));
  }
  printf("%016llx\n", h);
  return 0;
}
"#;

    /// The same walk with the `libm` crate: every f32 of Box-Muller's grid, `n64` f64 draws.
    fn hashes(n64: u32) -> [u64; 2] {
        let mut h = 1469598103934665603u64;
        let mix = |h: &mut u64, v: u64| *h = (*h ^ v).wrapping_mul(1099511628211);
        for k in 0..(1u32 << 24) {
            let u = k as f32 * (1.0 / (1u32 << 24) as f32);
            mix(&mut h, u64::from(libm::logf(1.0 - u).to_bits()));
            let (s, c) = libm::sincosf(std::f32::consts::TAU * u);
            mix(&mut h, u64::from(s.to_bits()));
            mix(&mut h, u64::from(c.to_bits()));
        }
        let h32 = h;
        h = 1469598103934665603;
        let mut st = 12345u64;
        for _ in 0..n64 {
            st = st
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let u = (st >> 11) as f64 * (1.0 / (1u64 << 53) as f64);
            mix(&mut h, libm::log(1.0 - u).to_bits());
            let (s, c) = libm::sincos(std::f64::consts::TAU * u);
            mix(&mut h, s.to_bits());
            mix(&mut h, c.to_bits());
        }
        [h32, h]
    }

    #[test]
    fn the_transcription_is_the_libm_crate_bit_for_bit() {
        let n64 = 2_000_000u32;
        let dir = std::env::temp_dir().join(format!("cotangent-libm-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (src, exe) = (dir.join("libm.c"), dir.join("libm"));
        let code = HARNESS
            .replace("@LIBM@", super::LIBM)
            .replace("@N64@", &n64.to_string());
        std::fs::write(&src, code).unwrap();
        let built = std::process::Command::new("cc")
            .args(["-O2", "-ffp-contract=off", "-o"])
            .arg(&exe)
            .arg(&src)
            .status();
        if !built.is_ok_and(|s| s.success()) {
            eprintln!("skipped: no C compiler (cc) to build the harness");
            return;
        }
        let out = std::process::Command::new(&exe).output().unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        let got: Vec<u64> = String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(|l| u64::from_str_radix(l, 16).unwrap())
            .collect();
        assert_eq!(got, hashes(n64), "f32 grid hash, f64 hash");
    }
}
