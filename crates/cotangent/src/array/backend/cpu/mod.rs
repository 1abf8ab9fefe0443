//! The CPU backend: kernels over host memory, multithreaded with rayon above size thresholds.

pub(crate) mod assemble;
pub(crate) mod conv;
pub(crate) mod copy;
pub(crate) mod dispatch;
pub(crate) mod dot_general;
pub(crate) mod elementwise;
pub(crate) mod index;
pub(crate) mod matmul;
pub(crate) mod random;
pub(crate) mod reduce;
pub(crate) mod scan;
pub(crate) mod strided;

use super::IndexOutOfBounds;
use super::{Backend, BinaryKernel, Comparison, Distribution, ReduceOp, RngState, UnaryKernel};
use super::{Conv2dParams, DotDims, Pool2dParams};
use crate::array::{Array, DType};

/// Host memory, host threads.
#[derive(Clone, Copy, Debug, Default)]
pub struct Cpu;

/// Runs `$body` with `$t` bound to the Rust element type of `$dtype`.
macro_rules! with_dtype {
    ($dtype:expr, $t:ident => $body:expr) => {
        match $dtype {
            DType::F32 => {
                type $t = f32;
                $body
            }
            DType::F64 => {
                type $t = f64;
                $body
            }
            DType::I64 => {
                type $t = i64;
                $body
            }
            DType::Bool => {
                type $t = bool;
                $body
            }
        }
    };
}

/// `a + b` for the accumulating kernels (sums, scatter_add): integers wrap on overflow, as
/// torch's integer arithmetic and cotangent's elementwise `add` do, instead of panicking in
/// a debug build.
pub(crate) fn accumulate<T: crate::array::Element + std::ops::Add<Output = T>>(a: T, b: T) -> T {
    if T::DTYPE == DType::I64 {
        T::from_i64(a.to_i64().wrapping_add(b.to_i64()))
    } else {
        a + b
    }
}

/// `a * b` for products, wrapping on integer overflow like [`accumulate`].
pub(crate) fn multiply<T: crate::array::Element + std::ops::Mul<Output = T>>(a: T, b: T) -> T {
    if T::DTYPE == DType::I64 {
        T::from_i64(a.to_i64().wrapping_mul(b.to_i64()))
    } else {
        a * b
    }
}

fn unsupported(op: &str, dtype: DType) -> ! {
    panic!(
        "{op}: not implemented for '{dtype}' (internal: the frontend should have cast the input)"
    )
}

impl Backend for Cpu {
    fn unary<K: UnaryKernel>(x: &Array) -> Array {
        match x.dtype() {
            DType::F32 => elementwise::map(x, K::float::<f32>),
            DType::F64 => elementwise::map(x, K::float::<f64>),
            DType::I64 => match K::INT {
                Some(f) => elementwise::map(x, f),
                None => unsupported(K::NAME, DType::I64),
            },
            DType::Bool => match K::BOOL {
                Some(f) => elementwise::map(x, f),
                None => unsupported(K::NAME, DType::Bool),
            },
        }
    }

    fn binary<K: BinaryKernel>(a: &Array, b: &Array) -> Array {
        match a.dtype() {
            DType::F32 => elementwise::zip(a, b, K::float::<f32>),
            DType::F64 => elementwise::zip(a, b, K::float::<f64>),
            DType::I64 => match K::INT {
                Some(f) => elementwise::zip(a, b, f),
                None => unsupported(K::NAME, DType::I64),
            },
            DType::Bool => match K::BOOL {
                Some(f) => elementwise::zip(a, b, f),
                None => unsupported(K::NAME, DType::Bool),
            },
        }
    }

    // `x < y` on bools (false < true) is torch's order too; one generic body serves all dtypes.
    #[allow(clippy::bool_comparison)]
    fn compare(a: &Array, b: &Array, op: Comparison) -> Array {
        with_dtype!(a.dtype(), T => match op {
            Comparison::Eq => elementwise::zip(a, b, |x: T, y: T| x == y),
            Comparison::Ne => elementwise::zip(a, b, |x: T, y: T| x != y),
            Comparison::Lt => elementwise::zip(a, b, |x: T, y: T| x < y),
            Comparison::Le => elementwise::zip(a, b, |x: T, y: T| x <= y),
            Comparison::Gt => elementwise::zip(a, b, |x: T, y: T| x > y),
            Comparison::Ge => elementwise::zip(a, b, |x: T, y: T| x >= y),
        })
    }

    fn select(pred: &Array, a: &Array, b: &Array) -> Array {
        with_dtype!(a.dtype(), T => elementwise::select::<T>(pred, a, b))
    }

    fn cast(x: &Array, dtype: DType) -> Array {
        use crate::array::Element;
        with_dtype!(x.dtype(), S => with_dtype!(dtype, D => {
            // Through f64 for floats (exact for f32 and i64 up to 2^53), through i64 otherwise,
            // so i64 -> i64 and bool -> i64 are exact.
            if S::DTYPE.is_float() || D::DTYPE.is_float() {
                elementwise::map(x, |v: S| D::from_f64(v.to_f64()))
            } else {
                elementwise::map(x, |v: S| D::from_i64(v.to_i64()))
            }
        }))
    }

    fn contiguous(x: &Array) -> Array {
        with_dtype!(x.dtype(), T => elementwise::copy::<T>(x))
    }

    fn reduce(x: &Array, axes: &[usize], op: ReduceOp) -> Array {
        match x.dtype() {
            DType::F32 => reduce::reduce::<f32>(x, axes, op),
            DType::F64 => reduce::reduce::<f64>(x, axes, op),
            DType::I64 => reduce::reduce::<i64>(x, axes, op),
            DType::Bool => unsupported("reduce", DType::Bool),
        }
    }

    fn arg_reduce(x: &Array, axis: usize, max: bool) -> Array {
        with_dtype!(x.dtype(), T => reduce::arg_reduce::<T>(x, axis, max))
    }

    fn gather(x: &Array, axis: usize, index: &Array) -> Result<Array, IndexOutOfBounds> {
        with_dtype!(x.dtype(), T => index::gather::<T>(x, axis, index))
    }

    fn scatter_add(
        x: &Array,
        axis: usize,
        index: &Array,
        src: &Array,
    ) -> Result<Array, IndexOutOfBounds> {
        match x.dtype() {
            DType::F32 => index::scatter_add::<f32>(x, axis, index, src),
            DType::F64 => index::scatter_add::<f64>(x, axis, index, src),
            DType::I64 => index::scatter_add::<i64>(x, axis, index, src),
            DType::Bool => unsupported("scatter_add", DType::Bool),
        }
    }

    fn concatenate(xs: &[&Array], axis: usize) -> Array {
        with_dtype!(xs[0].dtype(), T => assemble::concatenate::<T>(xs, axis))
    }

    fn pad(x: &Array, lo: &[usize], hi: &[usize], value: f64) -> Array {
        with_dtype!(x.dtype(), T => assemble::pad::<T>(x, lo, hi, value))
    }

    fn cumsum(x: &Array, axis: usize) -> Array {
        use std::num::Wrapping;
        match x.dtype() {
            DType::F32 => scan::cumsum::<f32, f64>(x, axis, |v| v as f64, |a| a as f32),
            DType::F64 => scan::cumsum::<f64, f64>(x, axis, |v| v, |a| a),
            // Integer sums wrap on overflow, as in torch.
            DType::I64 => scan::cumsum::<i64, Wrapping<i64>>(x, axis, Wrapping, |a| a.0),
            DType::Bool => unsupported("cumsum", DType::Bool),
        }
    }

    fn random(dist: Distribution, shape: &[usize], dtype: DType, key: RngState) -> Array {
        random::sample(
            dist,
            shape,
            dtype,
            random::PhiloxKey::new(key.seed, key.offset),
        )
    }

    fn bernoulli(p: &Array, key: RngState) -> Array {
        random::bernoulli(random::PhiloxKey::new(key.seed, key.offset), p)
    }

    fn dot_general(lhs: &Array, rhs: &Array, dims: &DotDims) -> Array {
        dot_general::dot_general(lhs, rhs, dims)
    }

    fn conv2d(input: &Array, weight: &Array, params: &Conv2dParams) -> Array {
        conv::conv2d(input, weight, params)
    }

    fn max_pool2d(input: &Array, params: &Pool2dParams) -> Array {
        conv::max_pool2d(input, params)
    }
}
