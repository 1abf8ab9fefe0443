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
use crate::testing::{OpInfo, RefArray, S, XS};
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
            DType::Bool => K::BOOL.is_some(),
        };
        if !ok {
            return Err(Error::op(
                K::NAME,
                format!(
                    "not implemented for '{}'; cast the input to a float dtype first",
                    x.dtype
                ),
            ));
        }
        Ok(Aval::new(x.shape, x.dtype))
    }

    fn eval(&self, inputs: &[&Array], _out: &Aval) -> Array {
        backend::unary::<K>(inputs[0])
    }
}

/// Apply `K` to `x`, promoting integer and bool inputs to the default float dtype when the
/// op has no integer version (torch: `torch.sin(torch.arange(3))` is float32). Bool inputs
/// of an op with a bool version (`K::BOOL`: logical_not, sign) are kept as they are.
#[track_caller]
pub(crate) fn apply<K: UnaryOp>(x: &Tensor) -> Tensor {
    if x.dtype() == DType::Bool && K::BOOL.is_some() {
        return bind(Unary::<K>::new(), &[x]);
    }
    if K::INT.is_none() && !x.dtype().is_float() {
        return bind(Unary::<K>::new(), &[&x.to_dtype(DType::F32)]);
    }
    if x.dtype() == DType::Bool {
        return bind(Unary::<K>::new(), &[&x.to_dtype(DType::I64)]);
    }
    bind(Unary::<K>::new(), &[x])
}

/// An op-table entry for an elementwise op on `i64` inputs in `[-3, 4)` whose output is
/// `i64` (the harness keeps integer samples as they are, so one trial covers them).
pub(crate) fn int_op_info(name: &str, op: fn(&Tensor) -> Tensor, f: fn(f64) -> f64) -> OpInfo {
    OpInfo::new(
        name,
        move |a| op(&a[0]),
        move |r| RefArray {
            shape: r[0].shape.clone(),
            data: r[0].data.iter().map(|&x| f(x)).collect(),
        },
        |rng| {
            [&[][..], &[S], &[XS, S], &[0, XS]]
                .iter()
                .map(|s| vec![&rng.indices(s, 7) - 3i64])
                .collect()
        },
    )
    .dtypes(&[DType::I64])
    .out_dtype(DType::I64)
}
