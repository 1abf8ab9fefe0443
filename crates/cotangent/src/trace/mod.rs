//! `Tensor`, the value user programs hold, and `bind`, the single door every primitive goes
//! through.
//!
//! A `Tensor` is either a concrete [`Array`] or a *tracer*: a value owned by one live
//! transform frame (see `frame.rs` and Note [Levels and perturbation confusion]). Each
//! transform defines what its tracers carry (a primal and a tangent for `jvp`, a primal and
//! a graph node for `vjp`, a batched value and its batch axis for `vmap`); this module only
//! knows their logical shape and dtype.
//!
//! `bind` is where values meet primitives. With no tracer among the arguments it evaluates
//! the primitive on the backend directly (the eager fast path: shape rule, kernel, nothing
//! else). Otherwise it hands the primitive to the frame of the highest level among the
//! arguments, whose interpreter runs the primitive's rule; the rule's own ops bind again and
//! land one level down, until everything is concrete.

pub(crate) mod construct;
pub(crate) mod display;
pub(crate) mod frame;

use frame::FrameRef;

pub use construct::TensorData;

use std::any::Any;
use std::fmt;
use std::sync::Arc;

use smallvec::SmallVec;

use crate::array::{Array, DType, Dims};
use crate::error::{Error, OrRaise, Result, boundary};
use crate::primitives::{AvalRef, DynPrimitive, Primitive};

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
    Tracer(Arc<Tracer>),
}

/// What a transform attaches to its tracers.
pub(crate) trait Payload:
    Any + Send + Sync + std::panic::RefUnwindSafe + std::panic::UnwindSafe
{
    /// The concrete value behind the tracer, for `.item()`, printing and data-dependent
    /// control flow; `vmap` refuses (a batch has no single value).
    fn host_value(&self) -> Result<&Tensor>;
    /// The device of the value behind the tracer (the transform's own value, which lives
    /// on one device like any tensor).
    fn device(&self) -> crate::Device;
    /// Upcast for downcasting to the transform's own payload type.
    fn as_any(&self) -> &dyn Any;
}

/// A value owned by the transform frame (`level`, `frame_id`). Built with a concrete payload
/// type and used as `Tracer<dyn Payload>`, so a tracer is one allocation (the `Arc`), not
/// two (an `Arc` and a boxed payload).
pub(crate) struct Tracer<P: ?Sized = dyn Payload> {
    pub(crate) level: usize,
    pub(crate) frame_id: u64,
    /// The thread whose frame stack holds the frame (see `frame::thread_number`).
    pub(crate) thread: u32,
    /// The transform the user called that made it (`grad` for a `vjp` frame under `grad`).
    pub(crate) transform: &'static str,
    pub(crate) shape: Dims,
    pub(crate) dtype: DType,
    pub(crate) payload: P,
}

impl Tensor {
    /// Wrap a concrete array.
    pub fn from_array(array: Array) -> Tensor {
        Tensor {
            repr: Repr::Concrete(array),
        }
    }

    /// A tracer of `frame` with the given logical shape and dtype.
    pub(crate) fn tracer(
        frame: FrameRef,
        shape: &[usize],
        dtype: DType,
        payload: impl Payload,
    ) -> Tensor {
        Self::tracer_with_dims(frame, shape.into(), dtype, payload)
    }

    /// [`Tensor::tracer`] taking the shape by value (no copy when the caller has one).
    pub(crate) fn tracer_with_dims(
        frame: FrameRef,
        shape: Dims,
        dtype: DType,
        payload: impl Payload,
    ) -> Tensor {
        let t: Arc<Tracer> = Arc::new(Tracer {
            level: frame.level,
            frame_id: frame.id,
            thread: frame::thread_number(),
            transform: frame.transform,
            shape,
            dtype,
            payload,
        });
        Tensor {
            repr: Repr::Tracer(t),
        }
    }

    /// The tracer behind this tensor, if it is one.
    pub(crate) fn as_tracer(&self) -> Option<&Tracer> {
        match &self.repr {
            Repr::Tracer(t) => Some(t),
            Repr::Concrete(_) => None,
        }
    }

    /// The payload if this tensor is a tracer of frame `frame_id`.
    pub(crate) fn payload_of<P: Payload>(&self, frame_id: u64) -> Option<&P> {
        self.as_tracer()
            .filter(|t| t.frame_id == frame_id)
            .and_then(|t| t.payload.as_any().downcast_ref())
    }

    /// `true` if both handles are the same tensor: clones of one value (torch's `a is b`
    /// for tensors). Equal values in different buffers are not the same; `nn` uses this to
    /// find tied weights.
    pub fn is_same(&self, other: &Tensor) -> bool {
        match (&self.repr, &other.repr) {
            (Repr::Concrete(a), Repr::Concrete(b)) => {
                a.shares_buffer_with(b) && a.layout() == b.layout() && a.dtype() == b.dtype()
            }
            (Repr::Tracer(a), Repr::Tracer(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }

    /// `true` for a concrete tensor (not a tracer of any transform).
    pub fn is_concrete(&self) -> bool {
        matches!(self.repr, Repr::Concrete(_))
    }

    /// The concrete array behind this tensor: its own, or for a tracer of `grad`/`jvp` the
    /// value it traces.
    ///
    /// # Panics
    /// Under `vmap`, where a batched value has no single array (torch's data-dependent
    /// control flow error).
    #[inline]
    #[track_caller]
    pub fn array(&self) -> &Array {
        self.try_array().or_raise()
    }

    /// Like [`Tensor::array`], returning the error instead of panicking.
    #[inline]
    pub fn try_array(&self) -> Result<&Array> {
        match &self.repr {
            Repr::Concrete(a) => Ok(a),
            Repr::Tracer(_) => self.traced_array(),
        }
    }

    /// [`Tensor::try_array`] of a tracer (out of line: the eager path never gets here).
    #[cold]
    fn traced_array(&self) -> Result<&Array> {
        let mut t = self;
        loop {
            match &t.repr {
                Repr::Concrete(a) => return Ok(a),
                Repr::Tracer(tr) => match tr.payload.host_value() {
                    Ok(value) => t = value,
                    // A batched value has none; but one whose vmap is gone is an escaped
                    // tracer, which is the error to report.
                    Err(_) if !tr.is_live() => return Err(dead_tracer_error("item/to_vec", tr)),
                    Err(e) => return Err(e),
                },
            }
        }
    }

    /// The shape (torch's `x.shape`).
    pub fn shape(&self) -> &[usize] {
        match &self.repr {
            Repr::Concrete(a) => a.shape(),
            Repr::Tracer(t) => &t.shape,
        }
    }

    /// The size of dim `d` (negative counts from the end), torch's `x.size(d)`.
    #[track_caller]
    pub fn size(&self, d: isize) -> usize {
        if self.dim() == 0 {
            crate::error::raise(Error::index(
                "size",
                "dimension specified as 0 but tensor has no dimensions",
            ));
        }
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

    /// The device its values live on (torch: `x.device`). Under a transform, the device of
    /// the value the tracer stands for.
    pub fn device(&self) -> crate::Device {
        match &self.repr {
            Repr::Concrete(a) => a.device(),
            Repr::Tracer(t) => t.payload.device(),
        }
    }

    /// The element type.
    pub fn dtype(&self) -> DType {
        match &self.repr {
            Repr::Concrete(a) => a.dtype(),
            Repr::Tracer(t) => t.dtype,
        }
    }
}

/// Split `xs` for one frame: this frame's tracers give `own(payload)` = (value, data); any
/// other value is a constant to the frame and passes as itself with no data.
pub(crate) fn unbox<'a, P: Payload, D>(
    xs: impl IntoIterator<Item = &'a Tensor>,
    frame_id: u64,
    own: impl Fn(&P) -> (Tensor, D),
) -> (Vec<Tensor>, Vec<Option<D>>) {
    xs.into_iter()
        .map(|x| match x.payload_of::<P>(frame_id) {
            Some(p) => {
                let (value, data) = own(p);
                (value, Some(data))
            }
            None => (x.clone(), None),
        })
        .unzip()
}

/// Apply `prim` to `inputs`, panicking with the shape rule's message on invalid input.
#[track_caller]
pub(crate) fn bind<P: Primitive + Clone>(prim: P, inputs: &[&Tensor]) -> Tensor {
    try_bind(prim, inputs).or_raise()
}

/// Apply `prim` to `inputs`, or return the error: the shape rule's, or one found while
/// evaluating (an allocation that failed) or inside a transform's rule.
pub(crate) fn try_bind<P: Primitive + Clone>(prim: P, inputs: &[&Tensor]) -> Result<Tensor> {
    if inputs.iter().all(|t| t.is_concrete()) && (!inputs.is_empty() || frame::no_frames()) {
        return eval_concrete(&prim, inputs);
    }
    bind_dyn(&prim, inputs)
}

/// `bind` for a primitive known only as a trait object (interpreters and rules use it).
pub(crate) fn bind_dyn(prim: &dyn DynPrimitive, inputs: &[&Tensor]) -> Result<Tensor> {
    // The frame of the highest level among the tracers owns this application.
    let mut top: Option<&Tracer> = None;
    for tr in inputs.iter().filter_map(|t| t.as_tracer()) {
        if top.is_none_or(|best| tr.level > best.level) {
            top = Some(tr);
        }
    }
    match top {
        Some(tr) => {
            let Some(interp) = frame::live_interpreter(tr.level, tr.frame_id) else {
                return Err(dead_tracer_error(prim.name(), tr));
            };
            check_shapes(prim, inputs)?;
            let _ceiling = frame::lower_ceiling(tr.level);
            boundary(|| interp.process(tr.frame(), prim, inputs))
        }
        None if inputs.is_empty() => draw_in_frames(prim, inputs),
        None => eval_concrete(prim, inputs),
    }
}

impl Tracer {
    /// Whether its frame is on this thread's stack.
    fn is_live(&self) -> bool {
        frame::is_live(self.level, self.frame_id)
    }

    /// Its frame, as the interpreter that owns it sees it.
    fn frame(&self) -> FrameRef {
        FrameRef {
            level: self.level,
            id: self.frame_id,
            transform: self.transform,
        }
    }
}

/// An error if one of `inputs` is a tracer whose transform is not live on this thread,
/// named after the user's `op` (checked by frontends before their own helper ops run).
pub(crate) fn check_live(op: &'static str, inputs: &[&Tensor]) -> Result<()> {
    for tr in inputs.iter().filter_map(|t| t.as_tracer()) {
        if !tr.is_live() {
            return Err(dead_tracer_error(op, tr));
        }
    }
    Ok(())
}

/// Why a tracer's frame is not on this thread's stack: it was sent to another thread, or its
/// transform has returned.
fn dead_tracer_error(op: &'static str, tr: &Tracer) -> Error {
    let transform = tr.transform;
    if tr.thread != frame::thread_number() {
        return Error::transform(
            transform,
            format!(
                "{op} was given a tracer of a {transform} running on another thread: a value \
                 inside a transformed function belongs to the thread that called the transform. \
                 Compute with it inside the function on that thread, or return it from the \
                 function and send the result"
            ),
        );
    }
    Error::transform(
        transform,
        format!(
            "{op} encountered a tracer of a {transform} that has already returned (an escaped \
             tracer): a value computed inside the transformed function was stored and used after \
             the transform finished; return it from the function instead"
        ),
    )
}

/// A random draw whose inputs are all constants: the innermost visible frame that wants it
/// (vmap's randomness) takes it; otherwise it is evaluated directly.
fn draw_in_frames(prim: &dyn DynPrimitive, constants: &[&Tensor]) -> Result<Tensor> {
    for (frame, interp) in frame::visible_frames() {
        let _ceiling = frame::lower_ceiling(frame.level);
        if let Some(out) = boundary(|| interp.process_nullary(frame, prim, constants))? {
            return Ok(out);
        }
    }
    eval_concrete(prim, constants)
}

/// [`try_bind`] for random draws: a draw from constant inputs (`bernoulli` of a concrete
/// probability) is still seen by `vmap`, which must refuse it, share it or draw per
/// example, as torch's randomness flag says; other primitives of constants just run.
pub(crate) fn try_bind_random<P: Primitive + Clone>(prim: P, inputs: &[&Tensor]) -> Result<Tensor> {
    if inputs.iter().all(|t| t.is_concrete()) && !frame::no_frames() {
        draw_in_frames(&prim, inputs)
    } else {
        try_bind(prim, inputs)
    }
}

/// Run the shape rule on logical shapes, so errors under transforms read as in eager mode.
fn check_shapes(prim: &dyn DynPrimitive, inputs: &[&Tensor]) -> Result<()> {
    let avals: SmallVec<[AvalRef<'_>; 4]> = inputs
        .iter()
        .map(|t| AvalRef {
            shape: t.shape(),
            dtype: t.dtype(),
        })
        .collect();
    let out = prim.shape_rule(&avals)?;
    check_output(prim.name(), &out)
}

/// Every shape a primitive produces is checked here, views included: a shape whose size
/// overflows is an error naming the op, so no element count or buffer index downstream can
/// wrap (the shape rules compute sizes with checked arithmetic up to this point).
fn check_output(op: &'static str, out: &crate::primitives::Aval) -> Result<()> {
    crate::array::layout::check_shape(op, &out.shape, out.dtype).map(|_| ())
}

/// The eager path: check shapes, evaluate on the backend. No allocation beyond the output.
fn eval_concrete<P: Primitive + ?Sized>(prim: &P, inputs: &[&Tensor]) -> Result<Tensor> {
    match inputs.len() {
        0 => eval_eager(prim, &[]),
        1 => eval_eager(prim, &[inputs[0].array()]),
        2 => eval_eager(prim, &[inputs[0].array(), inputs[1].array()]),
        3 => eval_eager(
            prim,
            &[inputs[0].array(), inputs[1].array(), inputs[2].array()],
        ),
        _ => {
            let arrays: Vec<&Array> = inputs.iter().map(|t| t.array()).collect();
            eval_eager(prim, &arrays)
        }
    }
}

fn eval_eager<P: Primitive + ?Sized>(prim: &P, arrays: &[&Array]) -> Result<Tensor> {
    let out = match arrays.len() {
        0 => prim.shape_rule(&[])?,
        1 => prim.shape_rule(&[aval(arrays[0])])?,
        2 => prim.shape_rule(&[aval(arrays[0]), aval(arrays[1])])?,
        3 => prim.shape_rule(&[aval(arrays[0]), aval(arrays[1]), aval(arrays[2])])?,
        _ => prim.shape_rule(&arrays.iter().map(|a| aval(a)).collect::<Vec<_>>())?,
    };
    check_output(prim.name(), &out)?;
    // The kernel writes its result in place, so the boundary moves nothing on success.
    let mut result = None;
    boundary(|| result = Some(prim.eval(arrays, &out)))
        .map_err(|e| complete_alloc(e, prim.name(), &out))?;
    let result = result.expect("the kernel returned");
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

/// An allocation failure deferred from a kernel knows its bytes and dtype, not the op: name
/// the op and the shape of its output.
fn complete_alloc(e: Error, name: &'static str, out: &crate::primitives::Aval) -> Error {
    match e {
        Error::Alloc {
            op: "",
            dtype,
            bytes,
            ..
        } => Error::Alloc {
            op: name,
            shape: out.shape.to_vec(),
            dtype,
            bytes,
        },
        Error::OutOfMemory {
            op: "",
            device,
            bytes,
            allocated,
            reserved,
            free,
            total,
        } => Error::OutOfMemory {
            op: name,
            device,
            bytes,
            allocated,
            reserved,
            free,
            total,
        },
        other => other,
    }
}

fn aval(a: &Array) -> AvalRef<'_> {
    AvalRef {
        shape: a.shape(),
        dtype: a.dtype(),
    }
}

impl fmt::Display for Tensor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.try_array() {
            Ok(a) => f.write_str(&format_array_impl(a)),
            // A batched value has no single array to show.
            Err(_) => write!(
                f,
                "BatchedTensor(shape={:?}, dtype={})",
                self.shape(),
                self.dtype()
            ),
        }
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
