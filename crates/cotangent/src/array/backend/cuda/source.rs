//! The CUDA C every kernel module starts with: element types, the `Shape` and `Lay` structs
//! that [`super::launch::Params`] fills, and the scalar helpers that the primitives' CUDA
//! expressions call (`ct_*`), overloaded so one expression serves every dtype an op takes.

use crate::array::DType;

/// The C type of a dtype's elements on the device (`bool` is one byte, as on the host).
pub(crate) fn c_type(dtype: DType) -> &'static str {
    match dtype {
        DType::F32 => "float",
        DType::F64 => "double",
        DType::I64 => "long long",
        DType::Bool => "bool",
    }
}

/// The common prelude (see the module doc).
pub(crate) const PRELUDE: &str = r#"
typedef long long i64;
typedef unsigned long long u64;
#define MAXR 16
struct Shape { i64 rank; i64 n; i64 dim[MAXR]; };
struct Lay { i64 off; i64 st[MAXR]; };

#define CT_INF __int_as_float(0x7f800000)
__device__ __forceinline__ bool ct_isnan(float x) { return x != x; }
__device__ __forceinline__ bool ct_isnan(double x) { return x != x; }
__device__ __forceinline__ bool ct_isnan(i64) { return false; }
__device__ __forceinline__ bool ct_isnan(bool) { return false; }
__device__ __forceinline__ float ct_abs(float x) { return fabsf(x); }
__device__ __forceinline__ double ct_abs(double x) { return fabs(x); }
__device__ __forceinline__ i64 ct_abs(i64 x) { return x < 0 ? (i64)(0ull - (u64)x) : x; }
/* Integer arithmetic wraps, as on the host (two's complement through unsigned). */
__device__ __forceinline__ float ct_add(float a, float b) { return a + b; }
__device__ __forceinline__ double ct_add(double a, double b) { return a + b; }
__device__ __forceinline__ i64 ct_add(i64 a, i64 b) { return (i64)((u64)a + (u64)b); }
__device__ __forceinline__ float ct_sub(float a, float b) { return a - b; }
__device__ __forceinline__ double ct_sub(double a, double b) { return a - b; }
__device__ __forceinline__ i64 ct_sub(i64 a, i64 b) { return (i64)((u64)a - (u64)b); }
__device__ __forceinline__ float ct_mul(float a, float b) { return a * b; }
__device__ __forceinline__ double ct_mul(double a, double b) { return a * b; }
__device__ __forceinline__ i64 ct_mul(i64 a, i64 b) { return (i64)((u64)a * (u64)b); }
__device__ __forceinline__ i64 ct_neg(i64 a) { return (i64)(0ull - (u64)a); }
__device__ __forceinline__ float ct_neg(float a) { return -a; }
__device__ __forceinline__ double ct_neg(double a) { return -a; }
/* Integer division and remainder by zero have no value; the host raises, the device gives 0
   (torch's CUDA kernels give an unspecified value). i64::MIN / -1 wraps as on the host. */
__device__ __forceinline__ i64 ct_idiv_trunc(i64 a, i64 b) { return b == 0 ? 0 : (b == -1 ? ct_neg(a) : a / b); }
__device__ __forceinline__ i64 ct_irem(i64 a, i64 b) { return (b == 0 || b == -1) ? 0 : a % b; }
__device__ __forceinline__ bool ct_add(bool a, bool b) { return a || b; }
__device__ __forceinline__ bool ct_mul(bool a, bool b) { return a && b; }
/* Integers are already whole: rounding returns them as they are. */
__device__ __forceinline__ float ct_ceil(float x) { return ceilf(x); }
__device__ __forceinline__ double ct_ceil(double x) { return ceil(x); }
__device__ __forceinline__ i64 ct_ceil(i64 x) { return x; }
__device__ __forceinline__ float ct_floor(float x) { return floorf(x); }
__device__ __forceinline__ double ct_floor(double x) { return floor(x); }
__device__ __forceinline__ i64 ct_floor(i64 x) { return x; }
__device__ __forceinline__ float ct_rint(float x) { return rintf(x); }
__device__ __forceinline__ double ct_rint(double x) { return rint(x); }
__device__ __forceinline__ i64 ct_rint(i64 x) { return x; }
__device__ __forceinline__ float ct_fmod(float a, float b) { return fmodf(a, b); }
__device__ __forceinline__ double ct_fmod(double a, double b) { return fmod(a, b); }
__device__ __forceinline__ i64 ct_fmod(i64 a, i64 b) { return ct_irem(a, b); }
/* The remainder with the divisor's sign (Python's %). */
template <typename U> __device__ __forceinline__ U ct_remainder(U a, U b) {
  U r = ct_fmod(a, b);
  return (r != U(0) && ((r < U(0)) != (b < U(0)))) ? (U)(r + b) : r;
}
__device__ __forceinline__ float ct_pow(float a, float b) { return powf(a, b); }
__device__ __forceinline__ double ct_pow(double a, double b) { return pow(a, b); }
/* Square and multiply, wrapping; negative exponents as the host (1, +-1, else 0). */
__device__ __forceinline__ i64 ct_pow(i64 a, i64 b) {
  if (b < 0) return a == 1 ? 1 : (a == -1 ? ((b & 1) ? -1 : 1) : 0);
  i64 out = 1;
  while (b > 0) { if (b & 1) out = ct_mul(out, a); a = ct_mul(a, a); b >>= 1; }
  return out;
}
"#;

/// A module's full text: the prelude, then `body`.
pub(crate) fn module(body: &str) -> String {
    let mut s = String::with_capacity(PRELUDE.len() + body.len() + 1);
    s.push_str(PRELUDE);
    s.push_str(body);
    s
}
