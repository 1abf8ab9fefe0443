//! `+ - * /` and unary `-` on tensors and scalars, by reference or by value, with torch's
//! type promotion (a Rust `f64` is a Python float, an `i64` a Python int). There is no `f32`
//! scalar form: with one float impl, a literal like `2.0` needs no annotation.

use std::ops::{Add, Div, Mul, Neg, Not, Sub};

use crate::array::DType;
use crate::error::{Error, raise};
use crate::trace::Tensor;

/// A scalar operand as a 0-d tensor of the dtype torch would give `tensor op scalar`.
fn scalar_operand(t: &Tensor, value: f64, is_float: bool) -> Tensor {
    let dtype = DType::result_type_with_scalar(t.dtype(), is_float);
    Tensor::scalar_of(value, dtype)
}

macro_rules! binary_operator {
    ($trait:ident, $method:ident, $func:path) => {
        impl $trait<&Tensor> for &Tensor {
            type Output = Tensor;
            #[track_caller]
            fn $method(self, rhs: &Tensor) -> Tensor {
                $func(self, rhs)
            }
        }
        impl $trait<Tensor> for Tensor {
            type Output = Tensor;
            #[track_caller]
            fn $method(self, rhs: Tensor) -> Tensor {
                $func(&self, &rhs)
            }
        }
        impl $trait<&Tensor> for Tensor {
            type Output = Tensor;
            #[track_caller]
            fn $method(self, rhs: &Tensor) -> Tensor {
                $func(&self, rhs)
            }
        }
        impl $trait<Tensor> for &Tensor {
            type Output = Tensor;
            #[track_caller]
            fn $method(self, rhs: Tensor) -> Tensor {
                $func(self, &rhs)
            }
        }
        binary_operator!(@scalar $trait, $method, $func, f64, true);
        binary_operator!(@scalar $trait, $method, $func, i64, false);
    };
    (@scalar $trait:ident, $method:ident, $func:path, $s:ty, $is_float:expr) => {
        impl $trait<$s> for &Tensor {
            type Output = Tensor;
            #[track_caller]
            fn $method(self, rhs: $s) -> Tensor {
                $func(self, &scalar_operand(self, rhs as f64, $is_float))
            }
        }
        impl $trait<$s> for Tensor {
            type Output = Tensor;
            #[track_caller]
            fn $method(self, rhs: $s) -> Tensor {
                $func(&self, &scalar_operand(&self, rhs as f64, $is_float))
            }
        }
        impl $trait<&Tensor> for $s {
            type Output = Tensor;
            #[track_caller]
            fn $method(self, rhs: &Tensor) -> Tensor {
                $func(&scalar_operand(rhs, self as f64, $is_float), rhs)
            }
        }
        impl $trait<Tensor> for $s {
            type Output = Tensor;
            #[track_caller]
            fn $method(self, rhs: Tensor) -> Tensor {
                $func(&scalar_operand(&rhs, self as f64, $is_float), &rhs)
            }
        }
    };
}

binary_operator!(Add, add, crate::primitives::add::add);
binary_operator!(Sub, sub, crate::primitives::sub::sub);
binary_operator!(Mul, mul, crate::primitives::mul::mul);
binary_operator!(Div, div, crate::primitives::div::div);

impl Neg for &Tensor {
    type Output = Tensor;
    #[track_caller]
    fn neg(self) -> Tensor {
        crate::primitives::neg::neg(self)
    }
}

impl Neg for Tensor {
    type Output = Tensor;
    #[track_caller]
    fn neg(self) -> Tensor {
        crate::primitives::neg::neg(&self)
    }
}

/// `!x`: logical not of a bool tensor (torch's `~mask`). Bitwise not of integers is not
/// implemented.
#[track_caller]
fn not_operator(x: &Tensor) -> Tensor {
    if x.dtype() != DType::Bool {
        raise(Error::dtype(
            "bitwise_not",
            format!(
                "the `!` operator is only implemented for bool tensors, got {}; for a mask use \
                 logical_not() or compare first (e.g. !x.gt_scalar(0.0))",
                x.dtype()
            ),
        ));
    }
    crate::primitives::logical_not::logical_not(x)
}

impl Not for &Tensor {
    type Output = Tensor;
    #[track_caller]
    fn not(self) -> Tensor {
        not_operator(self)
    }
}

impl Not for Tensor {
    type Output = Tensor;
    #[track_caller]
    fn not(self) -> Tensor {
        not_operator(&self)
    }
}
