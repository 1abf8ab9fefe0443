//! `Tensor`, the value user programs hold, and `bind`, the single door every primitive goes
//! through.
//!
//! A `Tensor` is a concrete [`Array`] today; the transforms add tracers (a value owned by one
//! live transform frame) as a second representation. `bind` is where the two meet: with no
//! transform active it evaluates the primitive on the backend directly (the eager fast path,
//! which allocates nothing beyond the output), and later it hands the primitive to the
//! newest frame among the arguments.

pub(crate) mod construct;
pub(crate) mod display;

pub use construct::TensorData;

use std::fmt;

use crate::array::{Array, DType};
use crate::error::{Error, Result};
use crate::primitives::{AvalRef, Primitive};

/// An n-dimensional array of `f32`, `f64`, `i64` or `bool` values, with torch's operations
/// as methods. Cloning is cheap (it shares the buffer).
///
/// ```
/// use cotangent::Tensor;
/// let x = Tensor::from_slice(&[1.0f32, 2.0, 3.0, 4.0], &[2, 2]).unwrap();
/// let y = (&x * 2.0).sum();
/// assert_eq!(y.item::<f32>(), 20.0);
/// ```
#[derive(Clone)]
pub struct Tensor {
    repr: Repr,
}

#[derive(Clone)]
enum Repr {
    Concrete(Array),
}

impl Tensor {
    /// Wrap a concrete array.
    pub fn from_array(array: Array) -> Tensor {
        Tensor {
            repr: Repr::Concrete(array),
        }
    }

    /// The concrete array behind this tensor.
    pub fn array(&self) -> &Array {
        match &self.repr {
            Repr::Concrete(a) => a,
        }
    }

    /// The shape (torch's `x.shape`).
    pub fn shape(&self) -> &[usize] {
        self.array().shape()
    }

    /// The size of dim `d` (negative counts from the end), torch's `x.size(d)`.
    #[track_caller]
    pub fn size(&self, d: isize) -> usize {
        let d = crate::primitives::frontend::normalize_dim("size", d, self.dim());
        self.shape()[d]
    }

    /// Number of dimensions (torch's `x.dim()`).
    pub fn dim(&self) -> usize {
        self.shape().len()
    }

    /// Number of elements (torch's `x.numel()`).
    pub fn numel(&self) -> usize {
        self.shape().iter().product()
    }

    /// The element type.
    pub fn dtype(&self) -> DType {
        self.array().dtype()
    }
}

/// Apply `prim` to `inputs`, panicking with the shape rule's message on invalid input.
#[track_caller]
pub(crate) fn bind<P: Primitive>(prim: P, inputs: &[&Tensor]) -> Tensor {
    match try_bind(prim, inputs) {
        Ok(t) => t,
        Err(e) => panic!("{e}"),
    }
}

/// Apply `prim` to `inputs`, or return the shape rule's error.
pub(crate) fn try_bind<P: Primitive>(prim: P, inputs: &[&Tensor]) -> Result<Tensor, Error> {
    match inputs.len() {
        1 => eval_eager(&prim, &[inputs[0].array()]),
        2 => eval_eager(&prim, &[inputs[0].array(), inputs[1].array()]),
        3 => eval_eager(
            &prim,
            &[inputs[0].array(), inputs[1].array(), inputs[2].array()],
        ),
        _ => {
            let arrays: Vec<&Array> = inputs.iter().map(|t| t.array()).collect();
            eval_eager(&prim, &arrays)
        }
    }
}

/// The eager path: check shapes, evaluate on the backend. No allocation beyond the output.
fn eval_eager<P: Primitive>(prim: &P, arrays: &[&Array]) -> Result<Tensor, Error> {
    let out = match arrays.len() {
        0 => prim.shape_rule(&[])?,
        1 => prim.shape_rule(&[aval(arrays[0])])?,
        2 => prim.shape_rule(&[aval(arrays[0]), aval(arrays[1])])?,
        3 => prim.shape_rule(&[aval(arrays[0]), aval(arrays[1]), aval(arrays[2])])?,
        _ => prim.shape_rule(&arrays.iter().map(|a| aval(a)).collect::<Vec<_>>())?,
    };
    let result = prim.eval(arrays, &out);
    debug_assert_eq!(
        result.shape(),
        out.shape.as_slice(),
        "{}: shape rule vs eval",
        prim.name()
    );
    debug_assert_eq!(
        result.dtype(),
        out.dtype,
        "{}: dtype rule vs eval",
        prim.name()
    );
    Ok(Tensor::from_array(result))
}

fn aval(a: &Array) -> AvalRef<'_> {
    AvalRef {
        shape: a.shape(),
        dtype: a.dtype(),
    }
}

impl fmt::Display for Tensor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_array_impl(self.array()))
    }
}

impl fmt::Debug for Tensor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Format any array like torch.
fn format_array_impl(a: &Array) -> String {
    use display::{DisplayValues, format_tensor};
    match a.dtype() {
        DType::F32 => format_tensor(a.shape(), DisplayValues::F32(&a.to_vec::<f32>())),
        DType::F64 => format_tensor(a.shape(), DisplayValues::F64(&a.to_vec::<f64>())),
        DType::I64 => format_tensor(a.shape(), DisplayValues::I64(&a.to_vec::<i64>())),
        DType::Bool => format_tensor(a.shape(), DisplayValues::Bool(&a.to_vec::<bool>())),
    }
}
