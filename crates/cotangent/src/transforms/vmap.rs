//! Batching: `vmap`.
//!
//! A batch tracer carries a value with one extra dim, the batch axis, somewhere in its
//! shape; its logical shape is the value's without that axis. When a primitive meets one,
//! the interpreter hands every input with its batch axis (`None` for inputs that are not
//! this frame's tracers) to the primitive's `vmap` rule, which returns the batched output
//! and its axis. Rules never loop over the batch, and there is no per-example fallback.
//!
//! Random draws have no tensor inputs, so `bind` offers them to the innermost visible vmap
//! frame (`process_nullary`): `randomness = error` refuses, `same` lets the draw happen once
//! below, `different` asks the random primitive for a batched draw.

use std::cell::Cell;
use std::panic::Location;
use std::rc::Rc;

use crate::error::{Error, OrRaise, Result, catch_result, raise};
use crate::primitives::DynPrimitive;
use crate::primitives::frontend::try_normalize_dim;
use crate::trace::frame::{FrameRef, Interpreter, push_frame};
use crate::trace::{Payload, Tensor, unbox};
use crate::tree::{Tree, TreeDef};

/// torch's `randomness` flag of `vmap` (and `jacfwd`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Randomness {
    /// Any random op inside the function is an error (the default).
    #[default]
    Error,
    /// One draw, shared by every batch element.
    Same,
    /// An independent draw for every batch element.
    Different,
}

impl std::str::FromStr for Randomness {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "error" => Ok(Randomness::Error),
            "same" => Ok(Randomness::Same),
            "different" => Ok(Randomness::Different),
            other => Err(Error::transform(
                "vmap",
                format!(
                    "Only allowed values for randomness are 'error', 'different', or 'same'. Got {other}"
                ),
            )),
        }
    }
}

thread_local! {
    /// The randomness of the vmap frame whose rule is running (random primitives with
    /// batched tensor inputs read it).
    static CURRENT_RANDOMNESS: Cell<Randomness> = const { Cell::new(Randomness::Error) };
}

/// The `randomness` of the vmap frame currently running a batching rule.
pub(crate) fn current_randomness() -> Randomness {
    CURRENT_RANDOMNESS.with(Cell::get)
}

/// The message torch gives for data-dependent control flow under vmap.
const DATA_DEPENDENT: &str = "It looks like you're either (1) calling .item() on a Tensor or (2) \
     attempting to use a Tensor in some data-dependent control flow (reading its values, \
     printing them, comparing them into a Rust bool). Under vmap a value stands for a whole \
     batch and has no single value. For (1), rewrite the computation with tensor operations; \
     for (2), compute both branches and choose with where_, or move the control flow outside \
     vmap.";

/// What a batch tracer carries.
struct BatchPayload {
    value: Tensor,
    axis: usize,
}

impl Payload for BatchPayload {
    fn device(&self) -> crate::Device {
        self.value.device()
    }
    fn host_value(&self) -> Result<&Tensor> {
        Err(Error::transform("vmap", DATA_DEPENDENT))
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

struct VmapInterpreter {
    size: usize,
    randomness: Randomness,
}

/// Restores the previous randomness when dropped.
struct RandomnessGuard(Randomness);

impl Drop for RandomnessGuard {
    fn drop(&mut self) {
        CURRENT_RANDOMNESS.with(|c| c.set(self.0));
    }
}

fn box_batched(frame: FrameRef, value: Tensor, axis: Option<usize>) -> Tensor {
    match axis {
        Some(a) => {
            let mut shape = value.shape().to_vec();
            shape.remove(a);
            let dtype = value.dtype();
            Tensor::tracer(frame, &shape, dtype, BatchPayload { value, axis: a })
        }
        None => value,
    }
}

impl Interpreter for VmapInterpreter {
    fn process(&self, frame: FrameRef, prim: &dyn DynPrimitive, inputs: &[&Tensor]) -> Tensor {
        let (values, axes) = unbox(inputs.iter().copied(), frame.id, |p: &BatchPayload| {
            (p.value.clone(), p.axis)
        });
        let _guard = RandomnessGuard(CURRENT_RANDOMNESS.with(|c| c.replace(self.randomness)));
        let (out, axis) = prim.vmap(&values, &axes, self.size);
        box_batched(frame, out, axis)
    }

    fn process_nullary(
        &self,
        frame: FrameRef,
        prim: &dyn DynPrimitive,
        constants: &[&Tensor],
    ) -> Option<Tensor> {
        match self.randomness {
            Randomness::Error => raise(Error::transform(
                "vmap",
                "called random operation while in randomness error mode. Please either \
                     use the 'same' or 'different' randomness flags on vmap or perform the \
                     randomness operation out of vmap",
            )),
            Randomness::Same => None,
            Randomness::Different => {
                let _guard =
                    RandomnessGuard(CURRENT_RANDOMNESS.with(|c| c.replace(self.randomness)));
                let inputs: Vec<Tensor> = constants.iter().map(|&t| t.clone()).collect();
                let (out, axis) = prim.vmap(&inputs, &vec![None; inputs.len()], self.size);
                Some(box_batched(frame, out, axis))
            }
        }
    }
}

/// A prefix tree of batch dims: `in_dims`/`out_dims` of torch's vmap. A single dim applies
/// to everything below it; `None` means "not mapped".
#[derive(Clone, Debug, PartialEq)]
pub enum Dims {
    /// One dim (or `None`) for the whole subtree.
    Dim(Option<isize>),
    /// One entry per tuple element.
    Tuple(Vec<Dims>),
    /// One entry per list element.
    List(Vec<Dims>),
    /// One entry per map key.
    Map(Vec<(String, Dims)>),
}

impl From<i32> for Dims {
    fn from(d: i32) -> Self {
        Dims::Dim(Some(d as isize))
    }
}

impl From<isize> for Dims {
    fn from(d: isize) -> Self {
        Dims::Dim(Some(d))
    }
}

impl From<Option<i32>> for Dims {
    fn from(d: Option<i32>) -> Self {
        Dims::Dim(d.map(|d| d as isize))
    }
}

impl<T: Into<Dims>> From<Vec<T>> for Dims {
    fn from(v: Vec<T>) -> Self {
        Dims::List(v.into_iter().map(Into::into).collect())
    }
}

impl<T: Into<Dims>> From<std::collections::BTreeMap<String, T>> for Dims {
    fn from(m: std::collections::BTreeMap<String, T>) -> Self {
        Dims::Map(m.into_iter().map(|(k, v)| (k, v.into())).collect())
    }
}

macro_rules! dims_from_tuple {
    ($($n:ident),+) => {
        impl<$($n: Into<Dims>),+> From<($($n,)+)> for Dims {
            #[allow(non_snake_case)]
            fn from(t: ($($n,)+)) -> Self {
                let ($($n,)+) = t;
                Dims::Tuple(vec![$($n.into()),+])
            }
        }
    };
}
dims_from_tuple!(A);
dims_from_tuple!(A, B);
dims_from_tuple!(A, B, C);
dims_from_tuple!(A, B, C, D);
dims_from_tuple!(A, B, C, D, E);
dims_from_tuple!(A, B, C, D, E, F);
dims_from_tuple!(A, B, C, D, E, F, G);
dims_from_tuple!(A, B, C, D, E, F, G, H);

/// `None` for "not mapped", usable inside `in_dims` tuples: `(UNMAPPED, 0, 0)`.
pub const UNMAPPED: Option<i32> = None;

impl std::fmt::Display for Dims {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Dims::Dim(Some(d)) => write!(f, "{d}"),
            Dims::Dim(None) => f.write_str("None"),
            Dims::Tuple(c) | Dims::List(c) => {
                let inner: Vec<String> = c.iter().map(|d| d.to_string()).collect();
                if matches!(self, Dims::Tuple(_)) {
                    write!(f, "({})", inner.join(", "))
                } else {
                    write!(f, "[{}]", inner.join(", "))
                }
            }
            Dims::Map(c) => {
                let inner: Vec<String> = c.iter().map(|(k, d)| format!("{k:?}: {d}")).collect();
                write!(f, "{{{}}}", inner.join(", "))
            }
        }
    }
}

/// Spread a prefix tree of dims over a structure: one entry per node that is a tensor or
/// static leaf, in flatten order. `Err(())` if the prefix does not fit.
fn broadcast_dims(
    dims: &Dims,
    def: &TreeDef,
    out: &mut Vec<(Option<isize>, bool)>,
) -> std::result::Result<(), ()> {
    match (dims, def) {
        (Dims::Dim(d), def) => {
            leaves_with(def, *d, out);
            Ok(())
        }
        (Dims::Tuple(c), TreeDef::Tuple(k)) | (Dims::List(c), TreeDef::List(k))
            if c.len() == k.len() =>
        {
            c.iter()
                .zip(k)
                .try_for_each(|(d, k)| broadcast_dims(d, k, out))
        }
        (Dims::Map(c), TreeDef::Map(k))
            if c.len() == k.len() && c.iter().zip(k).all(|(a, b)| a.0 == b.0) =>
        {
            c.iter()
                .zip(k)
                .try_for_each(|((_, d), (_, k))| broadcast_dims(d, k, out))
        }
        _ => Err(()),
    }
}

/// Every leaf of `def` with `dim`; the flag says whether it is a tensor.
///
/// NB: static fields of `#[derive(Tree)]` structs (a model's configuration, say) are never
/// mapped, whatever the dim; torch has no such structs, and a bare non-tensor argument or
/// output still follows torch's rules.
fn leaves_with(def: &TreeDef, dim: Option<isize>, out: &mut Vec<(Option<isize>, bool)>) {
    match def {
        TreeDef::Leaf => out.push((dim, true)),
        TreeDef::Static(_) => out.push((dim, false)),
        TreeDef::Struct(_, fields) => {
            for (_, f) in fields {
                match f {
                    TreeDef::Static(_) => out.push((None, false)),
                    other => leaves_with(other, dim, out),
                }
            }
        }
        other => other
            .children()
            .into_iter()
            .for_each(|c| leaves_with(c, dim, out)),
    }
}

/// Static leaves in flatten order with their description, for messages.
fn static_leaves(def: &TreeDef, out: &mut Vec<String>) {
    match def {
        TreeDef::Static(_) => out.push(def.to_string()),
        TreeDef::Leaf => {}
        other => other
            .children()
            .into_iter()
            .for_each(|c| static_leaves(c, out)),
    }
}

/// Options of [`vmap_with`]: torch's `in_dims`, `out_dims`, `randomness`, `chunk_size`.
#[derive(Clone, Debug)]
pub struct VmapOpts {
    /// Prefix tree over the positional arguments (default 0).
    pub in_dims: Dims,
    /// Prefix tree over the output (default 0).
    pub out_dims: Dims,
    /// What random ops inside do (default error).
    pub randomness: Randomness,
    /// Process the batch in chunks of this size (`None`: all at once).
    pub chunk_size: Option<usize>,
}

impl Default for VmapOpts {
    fn default() -> Self {
        VmapOpts {
            in_dims: Dims::Dim(Some(0)),
            out_dims: Dims::Dim(Some(0)),
            randomness: Randomness::Error,
            chunk_size: None,
        }
    }
}

impl VmapOpts {
    /// Defaults: `in_dims = 0`, `out_dims = 0`, `randomness = error`, no chunking.
    pub fn new() -> Self {
        Self::default()
    }
    /// Set `in_dims`, e.g. `(UNMAPPED, 0, 0)` or `1`.
    pub fn in_dims(mut self, d: impl Into<Dims>) -> Self {
        self.in_dims = d.into();
        self
    }
    /// Set `out_dims`.
    pub fn out_dims(mut self, d: impl Into<Dims>) -> Self {
        self.out_dims = d.into();
        self
    }
    /// Set `randomness`.
    pub fn randomness(mut self, r: Randomness) -> Self {
        self.randomness = r;
        self
    }
    /// Set `chunk_size` (must be positive).
    pub fn chunk_size(mut self, k: usize) -> Self {
        self.chunk_size = Some(k);
        self
    }
}

/// The batched arguments: per-leaf normalised in-dim and the batch size.
fn plan_inputs(
    leaves: &[Tensor],
    def: &TreeDef,
    in_dims: &Dims,
) -> Result<(Vec<Option<usize>>, usize)> {
    if def.positional().is_empty() || matches!(def, TreeDef::Static(crate::tree::Static::Unit)) {
        return Err(Error::transform(
            "vmap",
            "vmap(f)(<inputs>): got no inputs. Maybe you forgot to add inputs, or you are trying \
             to vmap over a function with no inputs. The latter is unsupported.",
        ));
    }
    // in_dims is a prefix of the positional arguments: wrap a non-tuple argument list.
    let positional_def = TreeDef::Tuple(def.positional().into_iter().cloned().collect());
    let mut per_node = Vec::new();
    if broadcast_dims(in_dims, &positional_def, &mut per_node).is_err() {
        return Err(Error::transform(
            "vmap",
            format!(
                "vmap(f, in_dims={in_dims}, ...)(<inputs>): in_dims is not compatible with the \
                 structure of `inputs`. in_dims has structure {in_dims} but inputs has structure \
                 {positional_def}."
            ),
        ));
    }
    let mut statics = Vec::new();
    static_leaves(def, &mut statics);
    let mut dims = Vec::with_capacity(leaves.len());
    let (mut tensors, mut s) = (leaves.iter(), statics.iter());
    for (dim, is_tensor) in per_node {
        if !is_tensor {
            let desc = s.next().cloned().unwrap_or_default();
            if let Some(d) = dim {
                return Err(Error::transform(
                    "vmap",
                    format!(
                        "vmap(f, in_dims={in_dims}, ...)(<inputs>): Got in_dim={d} for an input but \
                         the input is of type {desc} (not a Tensor). We cannot vmap over non-Tensor \
                         arguments, please use None as the respective in_dim"
                    ),
                ));
            }
            continue;
        }
        let x = tensors.next().expect("one tensor per leaf");
        dims.push(match dim {
            None => None,
            Some(d) => {
                let r = x.dim() as isize;
                if d < -r || d >= r || r == 0 {
                    return Err(Error::transform(
                        "vmap",
                        format!(
                            "vmap(f, in_dims={in_dims}, ...)(<inputs>): Got in_dim={d} for some \
                             input, but that input is a Tensor of dimensionality {r} so expected \
                             in_dim to satisfy -{r} <= in_dim < {r}."
                        ),
                    ));
                }
                Some(if d < 0 { (d + r) as usize } else { d as usize })
            }
        });
    }
    let sizes: Vec<usize> = leaves
        .iter()
        .zip(&dims)
        .filter_map(|(x, d)| d.map(|d| x.shape()[d]))
        .collect();
    let Some(&size) = sizes.first() else {
        return Err(Error::transform(
            "vmap",
            "vmap(f, in_dims=..., ...)(<inputs>): Expected at least one Tensor to vmap over (all \
             in_dims are None or there are no tensor inputs)",
        ));
    };
    if sizes.iter().any(|&s| s != size) {
        return Err(Error::transform(
            "vmap",
            format!(
                "Expected all tensors to have the same size in the mapped dimension, got \
                 sizes {sizes:?} for the mapped dimension"
            ),
        ));
    }
    Ok((dims, size))
}

/// One vmap pass (no chunking): output leaves with their out-dims applied, and the output
/// structure.
fn vmap_once<A: Tree, O: Tree>(
    f: &impl Fn(A) -> O,
    def: &TreeDef,
    leaves: &[Tensor],
    dims: &[Option<usize>],
    size: usize,
    opts: &VmapOpts,
) -> Result<(Vec<Tensor>, TreeDef)> {
    let guard = push_frame("vmap", |_| {
        Rc::new(VmapInterpreter {
            size,
            randomness: opts.randomness,
        })
    });
    let frame = guard.frame();
    let wrapped: Vec<Tensor> = leaves
        .iter()
        .zip(dims)
        .map(|(x, d)| box_batched(frame, x.clone(), *d))
        .collect();
    let out = f(A::unflatten(def, wrapped)?);
    let (out_leaves, out_def) = out.flatten();
    // Unbox while the frame is live, then pop it before moving axes (plain ops below).
    let (values, axes) = unbox(&out_leaves, frame.id, |p: &BatchPayload| {
        (p.value.clone(), p.axis)
    });
    let unboxed: Vec<(Tensor, Option<usize>)> = values.into_iter().zip(axes).collect();
    drop(guard);
    let mut per_node = Vec::new();
    // `out_dims=(1,)` for a single tensor output is accepted, as in torch.
    let out_dims = match (&opts.out_dims, &out_def) {
        (Dims::Tuple(c), TreeDef::Leaf) if c.len() == 1 => c[0].clone(),
        (d, _) => d.clone(),
    };
    if broadcast_dims(&out_dims, &out_def, &mut per_node).is_err() {
        return Err(Error::transform(
            "vmap",
            format!(
                "vmap(f, ..., out_dims={}): out_dims is not compatible with the structure of \
                 `outputs`. out_dims has structure {} but outputs has structure {out_def}.",
                opts.out_dims, opts.out_dims
            ),
        ));
    }
    // `out_dims=(1,)` for a single tensor output is accepted, as in torch.
    let mut outputs = Vec::with_capacity(unboxed.len());
    let mut tensors = unboxed.into_iter();
    let mut statics = Vec::new();
    static_leaves(&out_def, &mut statics);
    let mut statics = statics.into_iter();
    for (dim, is_tensor) in per_node {
        if !is_tensor {
            let desc = statics.next().unwrap_or_default();
            if dim.is_some() {
                return Err(Error::transform(
                    "vmap",
                    format!(
                        "vmap(f, ...): f must only return Tensors, got type {desc}. Did you mean \
                         to set out_dims= to None for output?"
                    ),
                ));
            }
            continue;
        }
        let (value, axis) = tensors.next().expect("one tensor per leaf");
        outputs.push(match (dim, axis) {
            (None, None) => value,
            (None, Some(_)) => {
                return Err(Error::transform(
                    "vmap",
                    "vmap(f, ..., out_dims=None): f can not return a BatchedTensor when out_dim is None",
                ));
            }
            (Some(d), axis) => {
                let rank = value.dim() + usize::from(axis.is_none());
                let d = try_normalize_dim("vmap", d, rank)?;
                match axis {
                    Some(a) => value.movedim(a as isize, d as isize),
                    None => {
                        // An output that does not depend on the batch is broadcast to it.
                        let mut shape = value.shape().to_vec();
                        shape.insert(d, size);
                        value.unsqueeze(d as isize).expand(&shape.iter().map(|&n| n as isize).collect::<Vec<_>>())
                    }
                }
            }
        });
    }
    Ok((outputs, out_def))
}

fn vmap_call<A: Tree, O: Tree>(f: &impl Fn(A) -> O, args: A, opts: &VmapOpts) -> Result<O> {
    let (leaves, def) = args.flatten();
    let (dims, size) = plan_inputs(&leaves, &def, &opts.in_dims)?;
    match opts.chunk_size {
        Some(0) => Err(Error::transform(
            "vmap",
            "chunk_size should be None or greater than 0.",
        )),
        Some(k) if k < size => {
            // Chunks along the batch, one vmap each, then concatenated on the out-dims.
            let state = crate::primitives::random::get_rng_state();
            let mut chunks: Vec<Vec<Tensor>> = Vec::new();
            let mut out_def = None;
            for start in (0..size).step_by(k) {
                let len = k.min(size - start);
                let part: Vec<Tensor> = leaves
                    .iter()
                    .zip(&dims)
                    .map(|(x, d)| match d {
                        Some(d) => x.narrow(*d as isize, start as isize, len),
                        None => x.clone(),
                    })
                    .collect();
                if opts.randomness == Randomness::Same {
                    crate::primitives::random::set_rng_state(state);
                }
                let (outs, od) = vmap_once(f, &def, &part, &dims, len, opts)?;
                chunks.push(outs);
                out_def = Some(od);
            }
            let out_def = out_def.expect("at least one chunk");
            let mut per_node = Vec::new();
            let _ = broadcast_dims(&opts.out_dims, &out_def, &mut per_node);
            let tensor_dims: Vec<Option<isize>> = per_node
                .into_iter()
                .filter(|(_, t)| *t)
                .map(|(d, _)| d)
                .collect();
            let outputs = (0..chunks[0].len())
                .map(|i| {
                    let parts: Vec<Tensor> = chunks.iter().map(|c| c[i].clone()).collect();
                    match tensor_dims[i] {
                        Some(d) => crate::cat(&parts, d),
                        None => parts[0].clone(),
                    }
                })
                .collect();
            O::unflatten(&out_def, outputs)
        }
        _ => {
            let (outs, out_def) = vmap_once(f, &def, &leaves, &dims, size, opts)?;
            O::unflatten(&out_def, outs)
        }
    }
}

/// torch.func.vmap: `f` mapped over dim 0 of every tensor argument, as if looping and
/// stacking, but in one call. Outputs that do not depend on the batch are broadcast to it.
///
/// ```
/// use cotangent::{Tensor, vmap};
/// let x = Tensor::new([[1.0f32, 2.0], [3.0, 4.0]]);
/// let sums = vmap(|row: Tensor| row.sum())(x);
/// assert_eq!(sums.to_vec::<f32>(), vec![3.0, 7.0]);
/// ```
///
/// # Panics
/// If the inputs don't fit `in_dims`, or an op inside `f` fails; [`try_vmap`] returns the
/// error instead. A misuse of `vmap` itself is reported at the line that called `vmap`.
#[track_caller]
pub fn vmap<A: Tree, O: Tree, F: Fn(A) -> O>(f: F) -> impl Fn(A) -> O {
    let site = Location::caller();
    let opts = VmapOpts::default();
    move |args: A| vmap_call(&f, args, &opts).or_raise_at(site)
}

/// [`vmap`] returning every error raised in the call (by `vmap` or by an op inside `f`) as
/// `Err`, without unwinding out of it.
///
/// ```
/// use cotangent::{Error, Tensor, try_vmap};
/// let x = Tensor::new([[1.0f32, 2.0], [3.0, 4.0]]);
/// let err = try_vmap(|row: Tensor| row.reshape(&[3]))(x).unwrap_err();
/// assert!(matches!(err, Error::Shape { op: "reshape", .. }));
/// ```
pub fn try_vmap<A: Tree, O: Tree, F: Fn(A) -> O>(f: F) -> impl Fn(A) -> Result<O> {
    try_vmap_with(f, VmapOpts::default())
}

/// torch.func.vmap with `in_dims`, `out_dims`, `randomness` and `chunk_size`.
///
/// ```
/// use cotangent::{Tensor, vmap_with, VmapOpts, UNMAPPED};
/// let (x, w) = (Tensor::new([[1.0f32, 2.0], [3.0, 4.0]]), Tensor::new([10.0f32, 100.0]));
/// let f = vmap_with(|(x, w): (Tensor, Tensor)| (&x * &w).sum(), VmapOpts::new().in_dims((0, UNMAPPED)));
/// assert_eq!(f((x, w)).to_vec::<f32>(), vec![210.0, 430.0]);
/// ```
#[track_caller]
pub fn vmap_with<A: Tree, O: Tree, F: Fn(A) -> O>(f: F, opts: VmapOpts) -> impl Fn(A) -> O {
    let site = Location::caller();
    move |args: A| vmap_call(&f, args, &opts).or_raise_at(site)
}

/// [`vmap_with`] returning errors as `Err` (see [`try_vmap`]).
pub fn try_vmap_with<A: Tree, O: Tree, F: Fn(A) -> O>(
    f: F,
    opts: VmapOpts,
) -> impl Fn(A) -> Result<O> {
    move |args: A| catch_result(|| vmap_call(&f, args, &opts))
}
