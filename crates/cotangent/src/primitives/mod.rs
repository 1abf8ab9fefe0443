//! The closed set of primitive operations, one file each.
//!
//! A primitive is a type implementing [`Primitive`]: its shape rule (output shape and dtype
//! from input shapes and dtypes, with the error a user sees on bad input) and its evaluation
//! on concrete arrays. Its file also holds the public op function(s) with torch's names,
//! the `Tensor` methods, and the `op_info()` entry that drives the generated tests.
//!
//! Primitives see *canonical* inputs: binary primitives take equal shapes and dtypes, dims
//! are non-negative. Broadcasting, dtype promotion and negative dims are the frontend's job
//! (the public op functions, using [`frontend`]), exactly as in JAX and MLX, so rules stay
//! small.
//!
//! Adding a primitive: write `primitives/<name>.rs` following `sin.rs` (elementwise) or
//! `transpose.rs` (structural), and add one line to the `primitives!` list below.

use std::fmt;

use crate::array::{Array, DType, Dims};
use crate::error::Result;

pub(crate) mod binary;
pub mod frontend;
pub(crate) mod unary;

/// Shape and dtype of a primitive input, without its data.
#[derive(Clone, Copy, Debug)]
pub struct AvalRef<'a> {
    /// The shape.
    pub shape: &'a [usize],
    /// The element type.
    pub dtype: DType,
}

/// Shape and dtype of a primitive output ("abstract value").
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Aval {
    /// The shape.
    pub shape: Dims,
    /// The element type.
    pub dtype: DType,
}

impl Aval {
    /// An aval from a shape slice.
    pub fn new(shape: &[usize], dtype: DType) -> Aval {
        Aval {
            shape: shape.into(),
            dtype,
        }
    }
}

/// One primitive operation. There are no default method bodies: a primitive states every
/// rule, so a missing one is a compile error.
pub trait Primitive: fmt::Debug + Send + Sync + 'static {
    /// The op's name as torch users know it (`"sin"`, `"matmul"`), used in messages.
    fn name(&self) -> &'static str;
    /// The output's shape and dtype, or the error a user sees for invalid inputs. Never
    /// reads data.
    fn shape_rule(&self, inputs: &[AvalRef<'_>]) -> Result<Aval>;
    /// The output on concrete arrays whose avals passed `shape_rule`, which gave `out`.
    fn eval(&self, inputs: &[&Array], out: &Aval) -> Array;
}

/// The registry: one line per primitive module. Each module re-exports its public ops and
/// contributes `op_info()` to [`op_table`].
macro_rules! primitives {
    ($($module:ident),* $(,)?) => {
        $(pub mod $module;)*
        /// Every primitive's test-table entries, in registry order.
        pub fn op_table() -> Vec<crate::testing::OpInfo> {
            let mut table = Vec::new();
            $(table.extend(self::$module::op_info());)*
            table
        }
    };
}

primitives! {
    // elementwise unary
    sin,
    neg,
    exp,
    log,
    log1p,
    expm1,
    cos,
    tan,
    tanh,
    logistic,
    sqrt,
    rsqrt,
    abs,
    sign,
    erf,
    floor,
    ceil,
    round,
    reciprocal,
    logical_not,
    // elementwise binary
    add,
    sub,
    mul,
    div,
    pow,
    maximum,
    minimum,
    remainder,
    fmod,
    atan2,
    logical_and,
    logical_or,
    logical_xor,
    compare,
    where_select,
    // structural (views)
    transpose,
    broadcast_in_dim,
    reshape,
    slice,
    contiguous,
    convert,
    // reductions
    reduce_sum,
    reduce_max,
    reduce_min,
    reduce_prod,
    argmax,
    argmin,
    cumsum,
    // indexing and assembly
    gather,
    index_select,
    scatter_add,
    concatenate,
    pad,
    // random draws
    random,
    // contractions
    dot_general,
    // convolution and pooling
    conv2d,
    max_pool2d,
}
