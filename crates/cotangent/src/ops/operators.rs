//! `+ - * /` and unary `-` on tensors and scalars, by reference or by value, with torch's
//! type promotion (a Rust `f64` is a Python float, an `i64` a Python int). There is no `f32`
//! scalar form: with one float impl, a literal like `2.0` needs no annotation.

use std::ops::{Add, Div, Mul, Neg, Not, Sub};

use crate::array::DType;
use crate::error::{Error, raise};
use crate::trace::Tensor;

/// A Rust scalar as the 0-d operand torch would make of a Python number in
/// `tensor op scalar`.
trait ScalarOperand: Copy {
    fn operand(self, t: &Tensor) -> Tensor;
}

impl ScalarOperand for f64 {
    fn operand(self, t: &Tensor) -> Tensor {
        Tensor::wrapped_scalar(self, DType::result_type_with_scalar(t.dtype(), true))
    }
}

impl ScalarOperand for i64 {
    fn operand(self, t: &Tensor) -> Tensor {
        match DType::result_type_with_scalar(t.dtype(), false) {
            // Exact: going through f64 would round integers beyond 2^53.
            DType::I64 => Tensor::wrapped_int(self),
            dtype => Tensor::wrapped_scalar(self as f64, dtype),
        }
    }
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
        binary_operator!(@scalar $trait, $method, $func, f64);
        binary_operator!(@scalar $trait, $method, $func, i64);
    };
    (@scalar $trait:ident, $method:ident, $func:path, $s:ty) => {
        impl $trait<$s> for &Tensor {
            type Output = Tensor;
            #[track_caller]
            fn $method(self, rhs: $s) -> Tensor {
                $func(self, &rhs.operand(self))
            }
        }
        impl $trait<$s> for Tensor {
            type Output = Tensor;
            #[track_caller]
            fn $method(self, rhs: $s) -> Tensor {
                $func(&self, &rhs.operand(&self))
            }
        }
        impl $trait<&Tensor> for $s {
            type Output = Tensor;
            #[track_caller]
            fn $method(self, rhs: &Tensor) -> Tensor {
                $func(&self.operand(rhs), rhs)
            }
        }
        impl $trait<Tensor> for $s {
            type Output = Tensor;
            #[track_caller]
            fn $method(self, rhs: Tensor) -> Tensor {
                $func(&self.operand(&rhs), &rhs)
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

#[cfg(test)]
mod tests {
    use crate::trace::Tensor;

    #[test]
    fn integer_scalar_operands_keep_every_bit() {
        // Through f64, 2^53 + 1 would become 2^53.
        let big = (1i64 << 53) + 1;
        let zero = Tensor::new([0i64]);
        assert_eq!((&zero + big).to_vec::<i64>(), vec![big]);
        assert_eq!((big - &zero).to_vec::<i64>(), vec![big]);
        assert_eq!((&Tensor::new([1i64]) * big).to_vec::<i64>(), vec![big]);
        let odd_power = Tensor::new([-1i64]).pow_scalar_int(big);
        assert_eq!(odd_power.to_vec::<i64>(), vec![-1]);
        // A float tensor still promotes the integer to its own dtype.
        assert_eq!((&Tensor::new([0.5f64]) + 2i64).to_vec::<f64>(), vec![2.5]);
    }
}
