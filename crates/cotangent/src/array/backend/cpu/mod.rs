//! The CPU backend: kernels over host memory, multithreaded with rayon above size thresholds.

pub(crate) mod copy;
pub(crate) mod elementwise;
pub(crate) mod matmul;
pub(crate) mod reduce;
pub(crate) mod random;
pub(crate) mod strided;

use super::{Backend, BinaryKernel, Comparison, ReduceOp, UnaryKernel};
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
pub(crate) use with_dtype;

fn unsupported(op: &str, dtype: DType) -> ! {
    panic!("{op}: not implemented for '{dtype}' (internal: the frontend should have cast the input)")
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
            DType::Bool => unsupported(K::NAME, DType::Bool),
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
}
