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
use std::sync::Arc;

use smallvec::SmallVec;

use crate::array::{Array, DType, Dims};
use crate::error::Result;
use crate::trace::Tensor;

pub(crate) mod binary;
pub mod frontend;
pub(crate) mod rules;
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

/// What a reverse-mode graph node keeps alive for its primitive's `vjp` rule. Rules declare
/// only what they read (`exp` keeps its output, `add` nothing), so reverse mode holds no more
/// memory than the backward pass needs. Input shapes and dtypes are always kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Save {
    /// Bit `i` set: keep input `i`.
    pub inputs: u32,
    /// Keep the output.
    pub output: bool,
}

impl Save {
    /// Keep nothing (linear primitives whose adjoint needs only shapes).
    pub const NOTHING: Save = Save {
        inputs: 0,
        output: false,
    };
    /// Keep every input.
    pub const INPUTS: Save = Save {
        inputs: u32::MAX,
        output: false,
    };
    /// Keep the output only.
    pub const OUTPUT: Save = Save {
        inputs: 0,
        output: true,
    };
    /// Keep the inputs at these positions.
    pub const fn inputs(positions: &[usize]) -> Save {
        let mut mask = 0u32;
        let mut i = 0;
        while i < positions.len() {
            mask |= 1 << positions[i];
            i += 1;
        }
        Save {
            inputs: mask,
            output: false,
        }
    }
}

/// The values a `vjp` rule reads, as declared by its [`Save`]. Stored inline in the graph
/// node for up to three inputs (no allocation per recorded op).
pub struct Residuals {
    pub(crate) inputs: SmallVec<[Option<Tensor>; 3]>,
    pub(crate) output: Option<Tensor>,
    pub(crate) shapes: SmallVec<[Dims; 3]>,
    pub(crate) dtypes: SmallVec<[DType; 3]>,
}

impl Residuals {
    /// Keep what `save` asks for.
    pub(crate) fn capture(save: Save, inputs: &[&Tensor], output: &Tensor) -> Residuals {
        Residuals {
            inputs: inputs
                .iter()
                .enumerate()
                .map(|(i, x)| (save.inputs >> i.min(31) & 1 == 1).then(|| (*x).clone()))
                .collect(),
            output: save.output.then(|| output.clone()),
            shapes: inputs.iter().map(|x| x.shape().into()).collect(),
            dtypes: inputs.iter().map(|x| x.dtype()).collect(),
        }
    }

    /// Input `i`, which the rule declared in its `saves()`.
    #[track_caller]
    pub fn input(&self, i: usize) -> &Tensor {
        self.inputs[i]
            .as_ref()
            .expect("internal: vjp rule reads an input its saves() did not declare")
    }

    /// The output, which the rule declared in its `saves()`.
    #[track_caller]
    pub fn output(&self) -> &Tensor {
        self.output
            .as_ref()
            .expect("internal: vjp rule reads the output its saves() did not declare")
    }

    /// Shape of input `i`.
    pub fn shape(&self, i: usize) -> &[usize] {
        &self.shapes[i]
    }

    /// Dtype of input `i`.
    pub fn dtype(&self, i: usize) -> DType {
        self.dtypes[i]
    }
}

/// One primitive operation together with every rule the system knows about it. There are no
/// default method bodies: a primitive states every rule, so a missing one is a compile error.
///
/// Rules are written with the public `Tensor` ops only, never with buffers, so a rule is
/// itself differentiable and batchable: that is what makes `grad(grad(f))`, `jacfwd(jacrev(f))`
/// and `vmap(grad(f))` work with no special code.
///
/// Note [Symbolic zeros]: a tangent or cotangent of `None` is a zero that was never built.
/// Rules skip it (never `zeros_like` just to add it); zeros are materialised only at the API
/// boundary.
pub trait Primitive:
    fmt::Debug + Send + Sync + std::panic::RefUnwindSafe + std::panic::UnwindSafe + 'static
{
    /// The op's name as torch users know it (`"sin"`, `"matmul"`), used in messages.
    fn name(&self) -> &'static str;
    /// The output's shape and dtype, or the error a user sees for invalid inputs. Never
    /// reads data.
    fn shape_rule(&self, inputs: &[AvalRef<'_>]) -> Result<Aval>;
    /// The output on concrete arrays whose avals passed `shape_rule`, which gave `out`.
    fn eval(&self, inputs: &[&Array], out: &Aval) -> Array;
    /// Forward mode: the output's tangent from the inputs' tangents (`None` = zero), or
    /// `None` if it is zero. `output` is the primal output, for rules that reuse it.
    fn jvp(
        &self,
        primals: &[Tensor],
        output: &Tensor,
        tangents: &[Option<Tensor>],
    ) -> Option<Tensor>;
    /// What reverse mode must keep for `vjp`.
    fn saves(&self) -> Save;
    /// Reverse mode: each input's cotangent from the output's, for the inputs with
    /// `needed[i]` (others get `None`, as do inputs whose cotangent is zero).
    fn vjp(
        &self,
        residuals: &Residuals,
        cotangent: &Tensor,
        needed: &[bool],
    ) -> Vec<Option<Tensor>>;
    /// Batching: the output and its batch axis from inputs whose batch axes are `axes`
    /// (`None` = unbatched; at least one is batched) and the batch `size`. Never loops over
    /// the batch.
    fn vmap(
        &self,
        inputs: &[Tensor],
        axes: &[Option<usize>],
        size: usize,
    ) -> (Tensor, Option<usize>);
}

/// A primitive that can be stored in a reverse-mode graph (any `Primitive + Clone`).
pub trait DynPrimitive: Primitive {
    /// A shared copy for the graph.
    fn to_arc(&self) -> Arc<dyn DynPrimitive>;
    /// An owned copy for the graph (allocates nothing for a primitive without parameters).
    fn to_box(&self) -> Box<dyn DynPrimitive>;
}

impl<P: Primitive + Clone> DynPrimitive for P {
    fn to_arc(&self) -> Arc<dyn DynPrimitive> {
        Arc::new(self.clone())
    }
    fn to_box(&self) -> Box<dyn DynPrimitive> {
        Box::new(self.clone())
    }
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
    stop_gradient,
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
    device_put,
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

/// The CUDA sources of every elementwise kernel in each dtype it accepts, for the NVRTC
/// compile check in `array/backend/cuda` (test-only: a kernel missing here is still
/// compiled and checked by the op table on a GPU).
#[cfg(all(test, feature = "cuda"))]
pub(crate) fn cuda_sources_for_test() -> Vec<(String, crate::array::backend::cuda::compile::Source)>
{
    use crate::array::backend::cuda::elementwise::{Map, dtype_code, source_for_test};
    use crate::array::backend::{BinaryKernel, UnaryKernel};
    fn dtypes(int: bool, boolean: bool) -> Vec<DType> {
        let mut d = vec![DType::F32, DType::F64];
        if int {
            d.push(DType::I64);
        }
        if boolean {
            d.push(DType::Bool);
        }
        d
    }
    fn unary<K: UnaryKernel>(
        out: &mut Vec<(String, crate::array::backend::cuda::compile::Source)>,
    ) {
        for d in dtypes(K::INT.is_some(), K::BOOL.is_some()) {
            let m = Map {
                key: (K::NAME, dtype_code(&[d])),
                helpers: K::CUDA_HELPERS,
                expr: K::CUDA,
                names: &["x"],
                inputs: &[d],
                out: d,
            };
            out.push((format!("{} {d}", K::NAME), source_for_test(&m)));
        }
    }
    fn binary<K: BinaryKernel>(
        out: &mut Vec<(String, crate::array::backend::cuda::compile::Source)>,
    ) {
        for d in dtypes(K::INT.is_some(), K::BOOL.is_some()) {
            let m = Map {
                key: (K::NAME, dtype_code(&[d, d])),
                helpers: K::CUDA_HELPERS,
                expr: K::CUDA,
                names: &["a", "b"],
                inputs: &[d, d],
                out: d,
            };
            out.push((format!("{} {d}", K::NAME), source_for_test(&m)));
        }
    }
    let mut out = Vec::new();
    macro_rules! all {
        ($f:ident: $($k:path),* $(,)?) => { $($f::<$k>(&mut out);)* };
    }
    all!(unary: abs::Abs, ceil::Ceil, cos::Cos, erf::Erf, exp::Exp, expm1::Expm1, floor::Floor, log::Log, log1p::Log1p, logical_not::LogicalNot, logistic::Logistic, neg::Neg, reciprocal::Reciprocal, round::Round, rsqrt::Rsqrt, sign::Sign, sin::Sin, sqrt::Sqrt, tan::Tan, tanh::Tanh, );
    all!(binary: add::Add, atan2::Atan2, div::Div, fmod::Fmod, logical_and::LogicalAnd, logical_or::LogicalOr, logical_xor::LogicalXor, maximum::Maximum, minimum::Minimum, mul::Mul, pow::Pow, remainder::Remainder, sub::Sub, );
    out
}
