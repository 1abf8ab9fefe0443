//! Shared machinery for elementwise unary primitives.
//!
//! An elementwise primitive file declares a kernel type with its scalar function
//! ([`UnaryKernel`]) and whether integer inputs are promoted to float first, as torch does for
//! `sin` of an integer tensor. [`Unary<K>`] turns that into a [`Primitive`].

use std::fmt;
use std::marker::PhantomData;

use super::{Aval, AvalRef, Primitive};
use crate::array::backend::{self, UnaryKernel};
use crate::array::{Array, DType};
use crate::error::{Error, Result};
use crate::trace::{Tensor, bind};

/// What an elementwise unary primitive file declares beyond its kernel.
pub(crate) trait UnaryOp: UnaryKernel + Send + Sync {
    /// Shown by `Debug`.
    const DEBUG_NAME: &'static str = Self::NAME;
}

/// The primitive for kernel `K`: same shape and dtype out as in.
pub(crate) struct Unary<K>(PhantomData<fn() -> K>);

impl<K> Unary<K> {
    pub(crate) fn new() -> Self {
        Unary(PhantomData)
    }
}

impl<K: UnaryOp> fmt::Debug for Unary<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(K::DEBUG_NAME)
    }
}

impl<K: UnaryOp> Primitive for Unary<K> {
    fn name(&self) -> &'static str {
        K::NAME
    }

    fn shape_rule(&self, inputs: &[AvalRef<'_>]) -> Result<Aval> {
        let x = inputs[0];
        let ok = match x.dtype {
            DType::F32 | DType::F64 => true,
            DType::I64 => K::INT.is_some(),
            DType::Bool => false,
        };
        if !ok {
            return Err(Error::op(
                K::NAME,
                format!("not implemented for '{}'; cast the input to a float dtype first", x.dtype),
            ));
        }
        Ok(Aval::new(x.shape, x.dtype))
    }

    fn eval(&self, inputs: &[&Array], _out: &Aval) -> Array {
        backend::unary::<K>(inputs[0])
    }
}

/// Apply `K` to `x`, promoting integer and bool inputs to the default float dtype when the
/// op has no integer version (torch: `torch.sin(torch.arange(3))` is float32).
#[track_caller]
pub(crate) fn apply<K: UnaryOp>(x: &Tensor) -> Tensor {
    if K::INT.is_none() && !x.dtype().is_float() {
        return bind(Unary::<K>::new(), &[&x.to_dtype(DType::F32)]);
    }
    if x.dtype() == DType::Bool {
        return bind(Unary::<K>::new(), &[&x.to_dtype(DType::I64)]);
    }
    bind(Unary::<K>::new(), &[x])
}
