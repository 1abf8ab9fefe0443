//! The kernel interface between primitives and devices.
//!
//! [`Backend`] is the small set of kernels every device provides. Elementwise kernels are
//! generic over a kernel type ([`UnaryKernel`], [`BinaryKernel`]) that a primitive file
//! defines next to its rules, so adding an elementwise primitive adds no backend code. The
//! free functions below pick the backend from the arrays' device; today that is always the
//! CPU, and a CUDA backend becomes one more match arm.

pub mod cpu;

use super::{Array, DType, FloatElement};

/// An elementwise unary function, given once for every float type.
pub trait UnaryKernel: 'static {
    /// The op's name, for messages.
    const NAME: &'static str;
    /// The function on floats.
    fn float<T: FloatElement>(x: T) -> T;
    /// The function on integers, if the op accepts them (neg, abs, sign).
    const INT: Option<fn(i64) -> i64> = None;
}

/// An elementwise binary function on equal shapes and dtypes.
pub trait BinaryKernel: 'static {
    /// The op's name, for messages.
    const NAME: &'static str;
    /// The function on floats.
    fn float<T: FloatElement>(a: T, b: T) -> T;
    /// The function on integers, if the op accepts them.
    const INT: Option<fn(i64, i64) -> i64> = None;
    /// The function on bools, if the op accepts them (logical and/or/xor).
    const BOOL: Option<fn(bool, bool) -> bool> = None;
}

/// Comparisons produce bool arrays.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Comparison {
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

/// Reductions over a set of axes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ReduceOp {
    /// Sum (identity 0).
    Sum,
    /// Maximum (NaN propagates; no identity: empty reductions are rejected above).
    Max,
    /// Minimum (NaN propagates).
    Min,
    /// Product (identity 1).
    Prod,
}

/// The kernels a device provides. Each returns a new array (views are layout-only and live in
/// [`super::Layout`]).
pub trait Backend {
    /// `K` elementwise.
    fn unary<K: UnaryKernel>(x: &Array) -> Array;
    /// `K` elementwise on equal shapes and dtypes.
    fn binary<K: BinaryKernel>(a: &Array, b: &Array) -> Array;
    /// Elementwise comparison on equal shapes and dtypes; bool output.
    fn compare(a: &Array, b: &Array, op: Comparison) -> Array;
    /// `pred ? a : b` elementwise on equal shapes; `pred` is bool.
    fn select(pred: &Array, a: &Array, b: &Array) -> Array;
    /// Element type conversion (`as` semantics; to bool is `!= 0`).
    fn cast(x: &Array, dtype: DType) -> Array;
    /// A row-major copy.
    fn contiguous(x: &Array) -> Array;
    /// Reduce over `axes` (sorted, unique); the reduced dims are removed.
    fn reduce(x: &Array, axes: &[usize], op: ReduceOp) -> Array;
}

/// `K` elementwise on the array's device.
pub fn unary<K: UnaryKernel>(x: &Array) -> Array {
    cpu::Cpu::unary::<K>(x)
}

/// `K` elementwise on equal shapes and dtypes.
pub fn binary<K: BinaryKernel>(a: &Array, b: &Array) -> Array {
    cpu::Cpu::binary::<K>(a, b)
}

/// Elementwise comparison; bool output.
pub fn compare(a: &Array, b: &Array, op: Comparison) -> Array {
    cpu::Cpu::compare(a, b, op)
}

/// `pred ? a : b` elementwise.
pub fn select(pred: &Array, a: &Array, b: &Array) -> Array {
    cpu::Cpu::select(pred, a, b)
}

/// Element type conversion.
pub fn cast(x: &Array, dtype: DType) -> Array {
    if x.dtype() == dtype {
        return x.clone();
    }
    cpu::Cpu::cast(x, dtype)
}

/// A row-major copy, or the array itself if it already is row-major and tight.
pub fn contiguous(x: &Array) -> Array {
    if x.layout().is_contiguous() {
        return x.clone();
    }
    cpu::Cpu::contiguous(x)
}

/// Reduce over `axes`, removing them.
pub fn reduce(x: &Array, axes: &[usize], op: ReduceOp) -> Array {
    cpu::Cpu::reduce(x, axes, op)
}
