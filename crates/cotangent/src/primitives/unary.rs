//! Shared machinery for elementwise unary primitives.
//!
//! An elementwise primitive file declares a kernel type with its scalar function
//! ([`UnaryKernel`]) and whether integer inputs are promoted to float first, as torch does for
//! `sin` of an integer tensor. [`Unary<K>`] turns that into a [`Primitive`].

use std::fmt;
use std::marker::PhantomData;

use super::rules::vmap_elementwise;
use super::{Aval, AvalRef, Primitive, Residuals, Save};
use crate::array::backend::{self, UnaryKernel};
use crate::array::{Array, DType};
use crate::error::{Error, Result};
use crate::testing::{OpInfo, RefArray, S, XS};
use crate::trace::{Tensor, bind};

/// The input `x` and output `y` at which a derivative is evaluated; each is present if the
/// op's `SAVE` asks for it (forward mode always has both).
pub(crate) struct Point<'a> {
    x: Option<&'a Tensor>,
    y: Option<&'a Tensor>,
}

impl Point<'_> {
    /// The input (declared in `SAVE`).
    #[track_caller]
    pub(crate) fn x(&self) -> &Tensor {
        self.x
            .expect("internal: derivative reads x but SAVE does not keep the input")
    }

    /// The output (declared in `SAVE`).
    #[track_caller]
    pub(crate) fn y(&self) -> &Tensor {
        self.y
            .expect("internal: derivative reads y but SAVE does not keep the output")
    }
}

/// What an elementwise unary primitive file declares beyond its kernel: its derivative.
/// `jvp = t * df`, `vjp = ct * df` and the batching rule follow (see [`Unary`]).
pub(crate) trait UnaryOp: UnaryKernel + Send + Sync {
    /// Shown by `Debug`.
    const DEBUG_NAME: &'static str = Self::NAME;
    /// What `df` reads: `Save::inputs(&[0])` for x, `Save::OUTPUT` for y.
    const SAVE: Save;
    /// The derivative dy/dx at the point, or `None` where it is zero everywhere
    /// (sign, floor). Written with public ops, so it is differentiable again.
    fn df(p: &Point<'_>) -> Option<Tensor>;
    /// For linear ops (neg): the op itself, used on tangents and (being self-adjoint)
    /// cotangents instead of multiplying by `df`.
    const LINEAR: Option<fn(&Tensor) -> Tensor> = None;
}

/// The primitive for kernel `K`: same shape and dtype out as in.
pub(crate) struct Unary<K>(PhantomData<fn() -> K>);

impl<K> Unary<K> {
    pub(crate) fn new() -> Self {
        Unary(PhantomData)
    }
}

impl<K> Clone for Unary<K> {
    fn clone(&self) -> Self {
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
            return Err(Error::dtype(
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

    fn jvp(
        &self,
        primals: &[Tensor],
        output: &Tensor,
        tangents: &[Option<Tensor>],
    ) -> Option<Tensor> {
        let t = tangents[0].as_ref()?;
        if let Some(linear) = K::LINEAR {
            return Some(linear(t));
        }
        K::df(&Point {
            x: Some(&primals[0]),
            y: Some(output),
        })
        .map(|d| t * &d)
    }

    fn saves(&self) -> Save {
        K::SAVE
    }

    fn vjp(&self, res: &Residuals, cotangent: &Tensor, needed: &[bool]) -> Vec<Option<Tensor>> {
        if !needed[0] {
            return vec![None];
        }
        if let Some(linear) = K::LINEAR {
            return vec![Some(linear(cotangent))];
        }
        let p = Point {
            x: res.inputs[0].as_ref(),
            y: res.output.as_ref(),
        };
        vec![K::df(&p).map(|d| cotangent * &d)]
    }

    fn vmap(
        &self,
        inputs: &[Tensor],
        axes: &[Option<usize>],
        size: usize,
    ) -> (Tensor, Option<usize>) {
        vmap_elementwise(inputs, axes, size, |x| bind(Unary::<K>::new(), &[&x[0]]))
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
