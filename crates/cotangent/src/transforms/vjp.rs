//! Reverse mode: `vjp`, and the graph its backward pass walks.
//!
//! While `f` runs under a vjp frame, every primitive applied to one of the frame's tracers
//! records a `Node`: the primitive, the nodes of its traced inputs, and the residuals its
//! `vjp` rule declared (`Save`). The tracers carry their node, so the graph is exactly what
//! the outputs depend on, and it lives as long as the returned `vjp_fn`.
//!
//! `vjp_fn(cotangents)` walks the graph from the outputs in reverse topological order (see
//! Note [Backward order]) and calls each node's `vjp` rule. The rules use public ops, so
//! they bind under whatever frames are live *when `vjp_fn` is called*: inside `vmap` that
//! batches the backward pass (`jacrev`), inside another `grad` it records the backward pass
//! itself (`grad(grad(f))`). `grad` gives the graph up to its single backward pass, which
//! frees each node's residuals as soon as it is past the node.
//! See Note [Symbolic zeros]: inputs that receive no cotangent get zeros only at the end.

use std::collections::HashMap;
use std::collections::btree_map::{self, BTreeMap};
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use smallvec::SmallVec;

use super::Argnums;
use crate::array::Dims;
use crate::error::{Error, OrRaise, Result, catch_result};
use crate::primitives::{DynPrimitive, Residuals};
use crate::trace::frame::{FrameRef, Interpreter, push_frame};
use crate::trace::{Payload, Tensor, bind_dyn, unbox};
use crate::tree::{Tree, TreeDef};

/// One recorded primitive application, or an input leaf of the traced function.
pub(crate) struct Node {
    /// Unique and increasing: every node's id is larger than its parents' (see Note
    /// [Backward order]).
    id: u64,
    op: Option<NodeOp>,
    leaf: usize,
}

/// Inputs of a primitive application (most have one to three), kept inline.
type Small<T> = SmallVec<[T; 3]>;

struct NodeOp {
    /// A box, not an `Arc`: boxing a primitive without parameters (`sin`, `add`) allocates
    /// nothing.
    prim: Box<dyn DynPrimitive>,
    parents: Small<Option<Arc<Node>>>,
    residuals: Residuals,
}

// Note [Dropping deep graphs]
// ~~~~~~~~~~~~~~~~~~~~~~~~~~~
// A chain of n ops is n nodes, each holding its parent's `Arc`. The compiler's drop glue
// would free it recursively, one stack frame set per node, and overflow the stack (an
// abort, not a panic) near 100k ops on an 8 MiB main thread and 20k on a 2 MiB one. So
// `Node::drop` frees iteratively: it takes the ops of the parents it was the last owner of
// (`Arc::into_inner`, the same single atomic decrement as a plain drop) and frees them in a
// loop, so whatever drops a node (a `VjpFn`, a tracer, unwinding) uses constant stack for
// the graph it owned. Parents still shared are left to their other owners.
//
// Dropping a node also drops its residuals, and those may be tracers of other frames that
// hold nodes of other graphs (grad(grad(f)), hessian = jacfwd(jacrev)): that re-enters
// `Node::drop` for the other graph, which again frees its own chain in a loop. Residuals
// are values one level below the node's frame (the interpreter unboxes its own tracers, and
// a tracer of a finished frame is refused by `bind`), so this nesting is bounded by the
// number of nested transforms, never by the length of a chain. No thread-local state is
// involved, so this also holds while thread-locals are being torn down.

impl Drop for Node {
    fn drop(&mut self) {
        let Some(first) = self.op.take() else {
            return;
        };
        // A chain has one uniquely owned parent per node: it goes to `next`, and `later`
        // (which allocates only when used) takes the rest of a branching graph.
        let mut next = Some(first);
        let mut later: Vec<NodeOp> = Vec::new();
        while let Some(mut op) = next.take().or_else(|| later.pop()) {
            for parent in op.parents.drain(..).flatten() {
                if let Some(parent_op) = Arc::into_inner(parent).and_then(|mut p| p.op.take()) {
                    if next.is_none() {
                        next = Some(parent_op);
                    } else {
                        later.push(parent_op);
                    }
                }
            }
            // The primitive and the residuals; see the Note on residuals that hold nodes.
            drop(op);
        }
    }
}

static NEXT_NODE: AtomicU64 = AtomicU64::new(1);

fn next_node_id() -> u64 {
    NEXT_NODE.fetch_add(1, Ordering::Relaxed)
}

/// What a vjp tracer carries: its value, and the node that produced it.
struct VjpPayload {
    primal: Tensor,
    node: Arc<Node>,
}

impl Payload for VjpPayload {
    fn device(&self) -> crate::Device {
        self.primal.device()
    }
    fn host_value(&self) -> Result<&Tensor> {
        Ok(&self.primal)
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

struct VjpInterpreter;

impl Interpreter for VjpInterpreter {
    fn process(&self, frame: FrameRef, prim: &dyn DynPrimitive, inputs: &[&Tensor]) -> Tensor {
        // The values behind this frame's tracers (borrowed: nothing is cloned unless the
        // rule saves it) and the nodes that produced them.
        let mut primals: Small<&Tensor> = SmallVec::with_capacity(inputs.len());
        let mut parents: Small<Option<Arc<Node>>> = SmallVec::with_capacity(inputs.len());
        for &x in inputs {
            match x.payload_of::<VjpPayload>(frame.id) {
                Some(p) => {
                    primals.push(&p.primal);
                    parents.push(Some(p.node.clone()));
                }
                None => {
                    primals.push(x);
                    parents.push(None);
                }
            }
        }
        let out = bind_dyn(prim, &primals).or_raise();
        // Integer and bool results carry no derivative: they leave the graph here.
        if !out.dtype().is_float() {
            return out;
        }
        let residuals = Residuals::capture(prim.saves(), &primals, &out);
        let node = Node {
            id: next_node_id(),
            op: Some(NodeOp {
                prim: prim.to_box(),
                parents,
                residuals,
            }),
            leaf: 0,
        };
        let (shape, dtype): (Dims, _) = (out.shape().into(), out.dtype());
        Tensor::tracer_with_dims(
            frame,
            shape,
            dtype,
            VjpPayload {
                primal: out,
                node: Arc::new(node),
            },
        )
    }
}

thread_local! {
    /// The interpreter every vjp frame uses (it has no state), shared so that pushing a
    /// frame allocates nothing.
    static VJP_INTERPRETER: Rc<VjpInterpreter> = Rc::new(VjpInterpreter);
}

// Note [Backward order]
// ~~~~~~~~~~~~~~~~~~~~~~
// A node is created after its parents (it holds them), and node ids come from one
// increasing counter, so every node's id is larger than its parents'. Processing the nodes
// that have a pending cotangent from the largest id down is therefore a reverse topological
// order: when a node is taken, every consumer (larger id) has already passed its
// contribution. The pending cotangents live in a map ordered by id, which accumulates the
// contributions to a node as they arrive (at most one tensor per node is held) and yields
// the next node without a separate topological sort, hashing or visited set. Only nodes
// that receive a cotangent are ever visited.

/// The backward pass: cotangents of the `num_leaves` input leaves from cotangents of the
/// roots. `None` = no path from any root (a symbolic zero).
/// A node is dropped as soon as its rule has run; if nothing else holds it (the caller gave
/// up its roots, as `grad` does), its residuals are freed then, not at the end.
fn backward(roots: Vec<(Arc<Node>, Tensor)>, num_leaves: usize) -> Vec<Option<Tensor>> {
    let mut pending: BTreeMap<u64, (Arc<Node>, Tensor)> = BTreeMap::new();
    let accumulate =
        |pending: &mut BTreeMap<u64, (Arc<Node>, Tensor)>, node: Arc<Node>, g| match pending
            .entry(node.id)
        {
            btree_map::Entry::Vacant(slot) => {
                slot.insert((node, g));
            }
            btree_map::Entry::Occupied(mut slot) => {
                let total = &mut slot.get_mut().1;
                *total = &*total + &g;
            }
        };
    for (node, ct) in roots {
        accumulate(&mut pending, node, ct);
    }
    let mut leaves: Vec<Option<Tensor>> = vec![None; num_leaves];
    while let Some((_, (node, ct))) = pending.pop_last() {
        match &node.op {
            None => leaves[node.leaf] = Some(ct),
            Some(op) => {
                let needed: SmallVec<[bool; 4]> = op.parents.iter().map(Option::is_some).collect();
                let grads = op.prim.vjp(&op.residuals, &ct, &needed);
                drop(ct);
                for (parent, g) in op.parents.iter().zip(grads) {
                    if let (Some(p), Some(g)) = (parent, g) {
                        accumulate(&mut pending, p.clone(), g);
                    }
                }
            }
        }
    }
    leaves
}

/// A function traced under a vjp frame: its outputs, and what the backward pass needs.
pub(crate) struct Traced {
    /// The output leaves (this frame's tracers replaced by their values).
    pub(crate) outputs: Vec<Tensor>,
    /// The output structure.
    pub(crate) out_def: TreeDef,
    /// The node of each output leaf that depends on a differentiated input.
    roots: Vec<Option<Arc<Node>>>,
    /// The differentiated input leaves (for zeros of unreached inputs).
    inputs: Vec<Tensor>,
}

impl Traced {
    /// Cotangents of the differentiated inputs from cotangents of the outputs (one per
    /// output leaf); zeros where no output depends on an input.
    pub(crate) fn pullback(&self, cotangents: &[Option<Tensor>]) -> Vec<Tensor> {
        let roots: Vec<(Arc<Node>, Tensor)> = self
            .roots
            .iter()
            .zip(cotangents)
            .zip(&self.outputs)
            .filter_map(|((r, c), y)| Some((r.clone()?, in_dtype_of(c.as_ref()?, y))))
            .collect();
        zeros_where_unreached(backward(roots, self.inputs.len()), &self.inputs)
    }

    /// [`Traced::pullback`] for the last use of the graph (`grad`): the graph is given up, so
    /// each node's residuals are freed as soon as the backward pass is past it and peak
    /// memory stays near the larger of the residuals and the gradients, not their sum.
    pub(crate) fn into_pullback(self, cotangents: &[Option<Tensor>]) -> Vec<Tensor> {
        let Traced {
            roots,
            inputs,
            outputs,
            ..
        } = self;
        let roots: Vec<(Arc<Node>, Tensor)> = roots
            .into_iter()
            .zip(cotangents)
            .zip(&outputs)
            .filter_map(|((r, c), y)| Some((r?, in_dtype_of(c.as_ref()?, y))))
            .collect();
        drop(outputs);
        zeros_where_unreached(backward(roots, inputs.len()), &inputs)
    }
}

/// `t` converted to the dtype of `like`. A cotangent takes the dtype of the value it is the
/// cotangent of, as torch's engine casts each gradient to its input's dtype: an `f32`
/// cotangent of an `f64` output gives an `f64` gradient, never a silently narrowed one.
fn in_dtype_of(t: &Tensor, like: &Tensor) -> Tensor {
    t.to_dtype(like.dtype())
}

/// Materialise the symbolic zeros of inputs no output depends on; every gradient comes
/// back in its input's dtype.
fn zeros_where_unreached(grads: Vec<Option<Tensor>>, inputs: &[Tensor]) -> Vec<Tensor> {
    grads
        .into_iter()
        .zip(inputs)
        .map(|(g, x)| g.map_or_else(|| x.zeros_like(), |g| in_dtype_of(&g, x)))
        .collect()
}

/// Run `f` on `args` with the leaves for which `differentiate(i)` holds traced, and return
/// the traced outputs plus `f`'s whole output tree (with tracers) for aux handling.
pub(crate) fn trace<A: Tree, O: Tree>(
    transform: &'static str,
    f: impl FnOnce(A) -> O,
    args: &A,
    differentiate: &[bool],
) -> Result<(Traced, O)> {
    let (leaves, def) = args.flatten();
    trace_flat(transform, f, &leaves, &def, differentiate)
}

/// [`trace`] for arguments already flattened into `leaves` and `def`.
pub(crate) fn trace_flat<A: Tree, O: Tree>(
    transform: &'static str,
    f: impl FnOnce(A) -> O,
    leaves: &[Tensor],
    def: &TreeDef,
    differentiate: &[bool],
) -> Result<(Traced, O)> {
    for (i, x) in leaves.iter().enumerate() {
        if differentiate[i] && !x.dtype().is_float() {
            return Err(Error::transform(
                transform,
                format!(
                    "only Tensors of floating point dtype can require gradients; \
                     input leaf {i} has dtype {}. Convert it with .to_dtype(DType::F32) or leave \
                     it out of argnums",
                    x.dtype()
                ),
            ));
        }
    }
    let guard = push_frame(transform, |_| VJP_INTERPRETER.with(|i| i.clone()));
    let frame = guard.frame();
    let mut inputs = Vec::new();
    let wrapped: Vec<Tensor> = leaves
        .iter()
        .enumerate()
        .map(|(i, x)| {
            if !differentiate[i] {
                return x.clone();
            }
            let node = Node {
                id: next_node_id(),
                op: None,
                leaf: inputs.len(),
            };
            inputs.push(x.clone());
            Tensor::tracer(
                frame,
                x.shape(),
                x.dtype(),
                VjpPayload {
                    primal: x.clone(),
                    node: Arc::new(node),
                },
            )
        })
        .collect();
    let out = f(A::unflatten(def, wrapped)?);
    let (out_leaves, out_def) = out.flatten();
    let (outputs, roots) = unbox(&out_leaves, frame.id, |p: &VjpPayload| {
        (p.primal.clone(), p.node.clone())
    });
    drop(guard);
    Ok((
        Traced {
            outputs,
            out_def,
            roots,
            inputs,
        },
        out,
    ))
}

fn check_cotangents(
    transform: &'static str,
    traced: &Traced,
    ct_def: &TreeDef,
    cts: &[Tensor],
) -> Result<()> {
    if !ct_def.same_structure(&traced.out_def) {
        return Err(Error::transform(
            transform,
            format!(
                "Expected pytree structure of cotangents to be the same as pytree \
                 structure of outputs to the function. cotangents: {ct_def}, primal output: {}",
                traced.out_def
            ),
        ));
    }
    for (i, (c, y)) in cts.iter().zip(&traced.outputs).enumerate() {
        if c.shape() != y.shape() {
            return Err(Error::transform(
                transform,
                format!(
                    "cotangent {i} has shape {:?} but the output has shape {:?}; \
                     pass cotangents shaped like the outputs",
                    c.shape(),
                    y.shape()
                ),
            ));
        }
    }
    Ok(())
}

fn check_outputs(traced: &Traced) -> Result<()> {
    let empty = matches!(&traced.out_def, TreeDef::Static(crate::tree::Static::Unit))
        || matches!(&traced.out_def, TreeDef::Tuple(c) | TreeDef::List(c) if c.is_empty());
    if empty {
        return Err(Error::transform(
            "vjp",
            "vjp(f, *primals): Expected f to be a function that has non-empty output",
        ));
    }
    if contains_static(&traced.out_def) {
        return Err(Error::transform(
            "vjp",
            format!(
                "vjp(f, *primals): expected f(*primals) to return only tensors, got structure {}",
                traced.out_def
            ),
        ));
    }
    if let Some(y) = traced.outputs.iter().find(|y| !y.dtype().is_float()) {
        return Err(Error::transform(
            "vjp",
            format!(
                "vjp(f, *primals): All outputs of f must be floating-point or complex Tensors, got Tensor with dtype {}",
                y.dtype()
            ),
        ));
    }
    Ok(())
}

fn contains_static(def: &TreeDef) -> bool {
    matches!(def, TreeDef::Static(_)) || def.children().iter().any(|c| contains_static(c))
}

/// The pullback returned by [`vjp`]: maps output cotangents to input cotangents. Callable
/// many times, also under other transforms.
pub struct VjpFn<A> {
    traced: Rc<Traced>,
    in_def: TreeDef,
    _marker: std::marker::PhantomData<fn() -> A>,
}

impl<A> Clone for VjpFn<A> {
    fn clone(&self) -> Self {
        VjpFn {
            traced: self.traced.clone(),
            in_def: self.in_def.clone(),
            _marker: std::marker::PhantomData,
        }
    }
}

impl<A: Tree> VjpFn<A> {
    /// Input cotangents (structured like the primals) from output cotangents (structured
    /// like the outputs).
    ///
    /// # Panics
    /// If the cotangents' structure or shapes differ from the outputs'.
    #[track_caller]
    pub fn call<O: Tree>(&self, cotangents: O) -> A {
        self.try_call(cotangents).or_raise()
    }

    /// Like [`VjpFn::call`], returning an error for mismatched cotangents or any error
    /// raised in the backward pass.
    pub fn try_call<O: Tree>(&self, cotangents: O) -> Result<A> {
        catch_result(|| {
            let (cts, ct_def) = cotangents.flatten();
            check_cotangents("vjp_fn", &self.traced, &ct_def, &cts)?;
            let cts: Vec<Option<Tensor>> = cts.into_iter().map(Some).collect();
            A::unflatten(&self.in_def, self.traced.pullback(&cts))
        })
    }
}

/// torch.func.vjp: `f(primals)` and a function mapping output cotangents to input
/// cotangents. Every primal is differentiated; the result of the pullback is structured
/// like `primals` (NB: torch returns a tuple with one entry per positional primal; here a
/// single non-tuple primal gets its cotangent directly).
///
/// ```
/// use cotangent::{Tensor, vjp};
/// let x = Tensor::new([0.5f64, 1.0]);
/// let (y, vjp_fn) = vjp(|x: Tensor| x.sin(), x.clone());
/// let ct: Tensor = vjp_fn.call(Tensor::ones_like(&y));
/// assert!(ct.allclose(&x.cos(), 1e-12, 0.0));
/// ```
#[track_caller]
pub fn vjp<A: Tree, O: Tree>(f: impl FnOnce(A) -> O, primals: A) -> (O, VjpFn<A>) {
    vjp_call(f, primals).or_raise()
}

/// [`vjp`] returning every error raised while tracing (by `vjp` or by an op inside `f`) as
/// `Err`, without unwinding out of the call.
pub fn try_vjp<A: Tree, O: Tree>(f: impl FnOnce(A) -> O, primals: A) -> Result<(O, VjpFn<A>)> {
    catch_result(|| vjp_call(f, primals))
}

fn vjp_call<A: Tree, O: Tree>(f: impl FnOnce(A) -> O, primals: A) -> Result<(O, VjpFn<A>)> {
    let (leaves, in_def) = primals.flatten();
    let (traced, _) = trace_flat("vjp", f, &leaves, &in_def, &vec![true; leaves.len()])?;
    check_outputs(&traced)?;
    let out = O::unflatten(&traced.out_def, traced.outputs.clone())?;
    Ok((
        out,
        VjpFn {
            traced: Rc::new(traced),
            in_def,
            _marker: std::marker::PhantomData,
        },
    ))
}

/// torch.func.vjp with `has_aux=True`: `f` returns `(output, aux)`; the result is
/// `(output, vjp_fn, aux)`, aux not differentiated.
#[track_caller]
pub fn vjp_with_aux<A: Tree, O: Tree, X: Tree>(
    f: impl FnOnce(A) -> (O, X),
    primals: A,
) -> (O, VjpFn<A>, X) {
    vjp_with_aux_call(f, primals).or_raise()
}

/// [`vjp_with_aux`] returning errors as `Err` (see [`try_vjp`]).
pub fn try_vjp_with_aux<A: Tree, O: Tree, X: Tree>(
    f: impl FnOnce(A) -> (O, X),
    primals: A,
) -> Result<(O, VjpFn<A>, X)> {
    catch_result(|| vjp_with_aux_call(f, primals))
}

fn vjp_with_aux_call<A: Tree, O: Tree, X: Tree>(
    f: impl FnOnce(A) -> (O, X),
    primals: A,
) -> Result<(O, VjpFn<A>, X)> {
    let (leaves, in_def) = primals.flatten();
    let (traced, _) = trace_flat("vjp", f, &leaves, &in_def, &vec![true; leaves.len()])?;
    // The traced output is the pair (output, aux): split its leaves.
    let TreeDef::Tuple(parts) = &traced.out_def else {
        unreachable!("a pair")
    };
    let n_out = parts[0].num_leaves();
    let aux = X::unflatten(&parts[1], traced.outputs[n_out..].to_vec())?;
    let out_traced = Traced {
        outputs: traced.outputs[..n_out].to_vec(),
        out_def: parts[0].clone(),
        roots: traced.roots[..n_out].to_vec(),
        inputs: traced.inputs.clone(),
    };
    check_outputs(&out_traced)?;
    let out = O::unflatten(&out_traced.out_def, out_traced.outputs.clone())?;
    Ok((
        out,
        VjpFn {
            traced: Rc::new(out_traced),
            in_def,
            _marker: std::marker::PhantomData,
        },
        aux,
    ))
}

/// The positional arguments of an argument tree: the entries of a tuple, or the tree itself.
/// (Like `TreeDef::positional`, as a slice, so nothing is allocated.)
fn positional(def: &TreeDef) -> &[TreeDef] {
    match def {
        TreeDef::Tuple(c) => c,
        other => std::slice::from_ref(other),
    }
}

/// Which input leaves `argnums` selects, and the structure of the selected arguments.
pub(crate) fn select_argnums(
    transform: &'static str,
    def: &TreeDef,
    argnums: &Argnums,
) -> Result<(Vec<bool>, TreeDef)> {
    let positional = positional(def);
    let (indices, is_tuple) = argnums.resolve_small(transform, positional.len())?;
    let mut mask = Vec::with_capacity(def.num_leaves());
    for (i, p) in positional.iter().enumerate() {
        mask.extend(std::iter::repeat_n(indices.contains(&i), p.num_leaves()));
    }
    let grad_def = if is_tuple {
        TreeDef::Tuple(indices.iter().map(|&i| positional[i].clone()).collect())
    } else {
        positional[indices[0]].clone()
    };
    Ok((mask, grad_def))
}

/// Gradients of the selected leaves, reordered to follow `argnums` order (`(1, 0)` returns
/// the second argument's gradient first).
pub(crate) fn order_by_argnums(
    def: &TreeDef,
    argnums: &Argnums,
    transform: &'static str,
    grads_in_leaf_order: Vec<Tensor>,
) -> Result<Vec<Tensor>> {
    let positional = positional(def);
    let (indices, _) = argnums.resolve_small(transform, positional.len())?;
    // Leaves arrive in positional order of the selected args: already in argnums order
    // when the indices increase (always for a single index).
    if indices.windows(2).all(|w| w[0] < w[1]) {
        return Ok(grads_in_leaf_order);
    }
    let mut sorted = indices.clone();
    sorted.sort_unstable();
    // Split the leaves per arg.
    let mut per_arg: HashMap<usize, Vec<Tensor>> = HashMap::new();
    let mut it = grads_in_leaf_order.into_iter();
    for &i in &sorted {
        per_arg.insert(i, it.by_ref().take(positional[i].num_leaves()).collect());
    }
    Ok(indices
        .iter()
        .flat_map(|i| per_arg.remove(i).unwrap_or_default())
        .collect())
}
