//! Jacobians and Hessians: `jacrev`, `jacfwd`, `hessian`.
//!
//! - `jacrev` = one forward pass under `vjp`, then `vmap` of the pullback over the rows of an
//!   identity (one row per output element), in chunks of `chunk_size` rows if asked
//!   (`chunk_size = 1` is a plain loop with no vmap). Each chunk builds only its own rows, so
//!   with `chunk_size = k` the basis costs `k x outputs` elements, not `outputs^2`.
//! - `jacfwd` = `vmap` of `jvp` over the columns of an identity (one per input element). Like
//!   torch's it has no `chunk_size`: the basis is `inputs^2` elements.
//! - `hessian` = `jacfwd(jacrev(f))`, forward-over-reverse.
//!
//! Each transform has its own options type with only torch's settings for it
//! ([`JacrevOpts`], [`JacfwdOpts`], [`HessianOpts`]), so a setting one of them does not have
//! (`chunk_size` on jacfwd, `randomness` on jacrev) does not compile instead of being ignored.
//!
//! The result is indexed `[output leaf][argument]`: the output's structure with each tensor
//! replaced by the Jacobian with respect to the selected argument(s), each of shape
//! `output.shape + input.shape`.

use std::ops::Range;
use std::panic::Location;

use super::Argnums;
use super::jvp::push_forward;
use super::vjp::{order_by_argnums, select_argnums, trace};
use super::vmap::{Randomness, VmapOpts, vmap_with};
use crate::DType;
use crate::array::storage::StorageElement;
use crate::error::{Error, OrRaise, Result, catch, catch_result};
use crate::trace::Tensor;
use crate::tree::{DynTree, Tree, TreeDef};

/// Options of [`jacrev_with`]: torch's `argnums`, `has_aux` and `chunk_size`.
///
/// jacrev has no `randomness` (torch's neither), so it cannot be set:
///
/// ```compile_fail
/// use cotangent::{JacrevOpts, Randomness};
/// let _ = JacrevOpts::new().randomness(Randomness::Same);
/// ```
#[derive(Clone, Debug)]
pub struct JacrevOpts {
    /// Which positional arguments (default 0).
    pub argnums: Argnums,
    /// `f` returns `(output, aux)`.
    pub has_aux: bool,
    /// Rows of the Jacobian per vmap of the pullback (`None`: all at once; `1`: a plain loop
    /// with no vmap). Each chunk builds only its own rows of the identity, so memory grows
    /// with the chunk, not with the square of the output size.
    pub chunk_size: Option<usize>,
}

impl Default for JacrevOpts {
    fn default() -> Self {
        JacrevOpts {
            argnums: Argnums::One(0),
            has_aux: false,
            chunk_size: None,
        }
    }
}

impl JacrevOpts {
    /// Defaults: `argnums = 0`, no aux, no chunking.
    pub fn new() -> Self {
        Self::default()
    }
    /// Set `argnums`: an integer, or a tuple such as `(1, 0)`.
    pub fn argnums(mut self, argnums: impl Into<Argnums>) -> Self {
        self.argnums = argnums.into();
        self
    }
    /// Set `has_aux`.
    pub fn has_aux(mut self, has_aux: bool) -> Self {
        self.has_aux = has_aux;
        self
    }
    /// Set `chunk_size` (must be positive: 0 is an error when the Jacobian is computed).
    pub fn chunk_size(mut self, k: usize) -> Self {
        self.chunk_size = Some(k);
        self
    }
}

/// Options of [`jacfwd_with`]: torch's `argnums`, `has_aux` and `randomness`.
///
/// jacfwd has no `chunk_size` (torch's neither), so it cannot be set:
///
/// ```compile_fail
/// let _ = cotangent::JacfwdOpts::new().chunk_size(2);
/// ```
#[derive(Clone, Debug)]
pub struct JacfwdOpts {
    /// Which positional arguments (default 0).
    pub argnums: Argnums,
    /// `f` returns `(output, aux)`.
    pub has_aux: bool,
    /// The randomness of its internal vmap (default error).
    pub randomness: Randomness,
}

impl Default for JacfwdOpts {
    fn default() -> Self {
        JacfwdOpts {
            argnums: Argnums::One(0),
            has_aux: false,
            randomness: Randomness::Error,
        }
    }
}

impl JacfwdOpts {
    /// Defaults: `argnums = 0`, no aux, `randomness = error`.
    pub fn new() -> Self {
        Self::default()
    }
    /// Set `argnums`: an integer, or a tuple such as `(1, 0)`.
    pub fn argnums(mut self, argnums: impl Into<Argnums>) -> Self {
        self.argnums = argnums.into();
        self
    }
    /// Set `has_aux`.
    pub fn has_aux(mut self, has_aux: bool) -> Self {
        self.has_aux = has_aux;
        self
    }
    /// Set `randomness`.
    pub fn randomness(mut self, randomness: Randomness) -> Self {
        self.randomness = randomness;
        self
    }
}

/// Options of [`hessian_with`]: torch's `argnums`.
#[derive(Clone, Debug)]
pub struct HessianOpts {
    /// Which positional arguments (default 0).
    pub argnums: Argnums,
}

impl Default for HessianOpts {
    fn default() -> Self {
        HessianOpts {
            argnums: Argnums::One(0),
        }
    }
}

impl HessianOpts {
    /// Defaults: `argnums = 0`.
    pub fn new() -> Self {
        Self::default()
    }
    /// Set `argnums`: an integer, or a tuple such as `(1, 0)`.
    pub fn argnums(mut self, argnums: impl Into<Argnums>) -> Self {
        self.argnums = argnums.into();
        self
    }
}

/// Rows `rows` of `eye(n)`, restricted to the columns `offset..offset + numel(shape)` of one
/// leaf and shaped `[rows.len(), *shape]`, in `dtype`. Only these rows are allocated, which is
/// what lets a `chunk_size` bound jacrev's memory.
fn basis(rows: Range<usize>, offset: usize, like: &Tensor) -> Tensor {
    let (shape, dtype) = (like.shape(), like.dtype());
    let len: usize = shape.iter().product();
    let mut full = vec![rows.len()];
    full.extend_from_slice(shape);
    if like.device() != crate::Device::Cpu {
        // Made where the values live, from two index vectors: row r has its one at r.
        let opts = crate::TensorOptions::new().device(like.device());
        let r = &Tensor::arange_with(rows.len() as i64, opts) + rows.start as i64;
        let c = &Tensor::arange_with(len as i64, opts) + offset as i64;
        return r
            .reshape(&[rows.len() as isize, 1])
            .eq(&c.reshape(&[1, len as isize]))
            .to_dtype(dtype)
            .reshape(&full.iter().map(|&n| n as isize).collect::<Vec<_>>());
    }
    // The ones of eye(n) in these rows and columns: global indices where row == column.
    let diagonal = rows.start.max(offset)..rows.end.min(offset + len);
    fn unit_rows<T: StorageElement + From<bool> + Clone>(
        numel: usize,
        ones: impl Iterator<Item = usize>,
        shape: &[usize],
    ) -> Tensor {
        let mut data = vec![T::from(false); numel];
        for i in ones {
            data[i] = T::from(true);
        }
        // On the host, like `like` (not on the default device).
        Tensor::from_array(crate::array::Array::from_vec(data, shape).expect("length matches"))
    }
    let ones = diagonal.map(|g| (g - rows.start) * len + (g - offset));
    let numel = rows.len() * len;
    match dtype {
        // Built in the target dtype: no f64 copy to convert.
        DType::F32 => unit_rows::<f32>(numel, ones, &full),
        _ => unit_rows::<f64>(numel, ones, &full).to_dtype(dtype),
    }
}

/// The unit cotangents of the flattened output elements `rows`: one tensor per output leaf,
/// shaped `[rows.len(), *leaf.shape]`.
fn output_basis(outputs: &[Tensor], rows: Range<usize>) -> Vec<Tensor> {
    let mut offset = 0;
    outputs
        .iter()
        .map(|y| {
            let b = basis(rows.clone(), offset, y);
            offset += y.numel();
            b
        })
        .collect()
}

/// Split `(output, aux)` when `has_aux`, with torch's error otherwise.
fn split_aux(
    transform: &'static str,
    def: &TreeDef,
    has_aux: bool,
) -> Result<(TreeDef, Option<TreeDef>)> {
    match (def, has_aux) {
        (TreeDef::Tuple(p), true) if p.len() == 2 => Ok((p[0].clone(), Some(p[1].clone()))),
        (other, true) => Err(Error::transform(
            transform,
            format!(
                "{transform}(f, ...)(*args): output of function f should be a tuple: (output, aux) if has_aux is True, got {other}"
            ),
        )),
        (other, false) => Ok((other.clone(), None)),
    }
}

/// The output structure with every tensor leaf replaced by `inner`.
fn nest(outer: &TreeDef, inner: &TreeDef) -> TreeDef {
    match outer {
        TreeDef::Leaf => inner.clone(),
        TreeDef::Static(_) => outer.clone(),
        TreeDef::Tuple(c) => TreeDef::Tuple(c.iter().map(|d| nest(d, inner)).collect()),
        TreeDef::List(c) => TreeDef::List(c.iter().map(|d| nest(d, inner)).collect()),
        TreeDef::Option(c) => TreeDef::Option(c.as_ref().map(|d| Box::new(nest(d, inner)))),
        TreeDef::Map(c) => {
            TreeDef::Map(c.iter().map(|(k, d)| (k.clone(), nest(d, inner))).collect())
        }
        TreeDef::Struct(n, c) => {
            TreeDef::Struct(n, c.iter().map(|(k, d)| (*k, nest(d, inner))).collect())
        }
    }
}

fn check_real_outputs(transform: &'static str, outputs: &[Tensor]) -> Result<()> {
    if let Some((i, y)) = outputs
        .iter()
        .enumerate()
        .find(|(_, y)| !y.dtype().is_float())
    {
        return Err(Error::transform(
            transform,
            format!(
                "Expected all outputs to be floating point but received {} tensor at flattened output idx: {i}",
                y.dtype()
            ),
        ));
    }
    Ok(())
}

fn jacrev_call<A: Tree, O: Tree>(
    f: &impl Fn(A) -> O,
    args: A,
    opts: &JacrevOpts,
) -> Result<DynTree> {
    if opts.chunk_size == Some(0) {
        return Err(Error::transform(
            "jacrev",
            "chunk_size should be greater than 0.",
        ));
    }
    let (_, def) = args.flatten();
    let (mask, grad_def) = select_argnums("jacrev", &def, &opts.argnums)?;
    let (traced, _) = trace("jacrev", f, &args, &mask)?;
    let (out_def, aux_def) = split_aux("jacrev", &traced.out_def, opts.has_aux)?;
    let n_out = out_def.num_leaves();
    let outputs = &traced.outputs[..n_out];
    check_real_outputs("jacrev", outputs)?;
    let numels: Vec<usize> = outputs.iter().map(Tensor::numel).collect();
    let total: usize = numels.iter().sum();
    let n_aux = traced.outputs.len() - n_out;
    let pull = |cts: Vec<Tensor>| -> Vec<Tensor> {
        let mut all: Vec<Option<Tensor>> = cts.into_iter().map(Some).collect();
        all.extend(std::iter::repeat_n(None, n_aux));
        traced.pullback(&all)
    };
    let (in_leaves, _) = args.flatten();
    let selected: Vec<&Tensor> = in_leaves
        .iter()
        .zip(&mask)
        .filter(|(_, m)| **m)
        .map(|(x, _)| x)
        .collect();
    // rows[i]: [total, *input_i.shape]. Each chunk builds only its own rows of the identity
    // (row r is the unit cotangent of flattened output element r).
    let rows: Vec<Tensor> = match opts.chunk_size {
        // No output elements, no rows: each Jacobian is empty, in its input's dtype (as
        // every gradient is).
        _ if total == 0 => selected.iter().map(|x| x.new_zeros(&[0])).collect(),
        Some(1) => {
            let per_row: Vec<Vec<Tensor>> = (0..total)
                .map(|r| {
                    let cts = output_basis(outputs, r..r + 1);
                    pull(cts.iter().map(|b| b.select(0, 0)).collect())
                })
                .collect();
            (0..traced_inputs(&per_row, &mask))
                .map(|i| stack_rows(&per_row, i))
                .collect()
        }
        Some(k) if k < total => {
            let chunks: Vec<Vec<Tensor>> = (0..total)
                .step_by(k)
                .map(|start| {
                    let part = output_basis(outputs, start..total.min(start + k));
                    vmap_with(&pull, VmapOpts::new())(part)
                })
                .collect();
            (0..chunks[0].len())
                .map(|i| crate::cat(&chunks.iter().map(|c| c[i].clone()).collect::<Vec<_>>(), 0))
                .collect()
        }
        _ => vmap_with(&pull, VmapOpts::new())(output_basis(outputs, 0..total)),
    };
    let mut leaves = Vec::new();
    let mut offset = 0;
    for (j, y) in outputs.iter().enumerate() {
        let per_input: Vec<Tensor> = rows
            .iter()
            .zip(&selected)
            .map(|(r, x)| {
                let mut shape: Vec<isize> = y.shape().iter().map(|&n| n as isize).collect();
                shape.extend(x.shape().iter().map(|&n| n as isize));
                let rows = if r.dim() == 0 || r.shape()[0] == total {
                    r.narrow(0, offset as isize, numels[j])
                } else {
                    r.clone()
                };
                rows.reshape(&shape)
            })
            .collect();
        leaves.extend(order_by_argnums(&def, &opts.argnums, "jacrev", per_input)?);
        offset += numels[j];
    }
    let jac_def = nest(&out_def, &grad_def);
    match aux_def {
        None => Ok(DynTree {
            def: jac_def,
            leaves,
        }),
        Some(aux_def) => {
            leaves.extend(traced.outputs[n_out..].iter().cloned());
            Ok(DynTree {
                def: TreeDef::Tuple(vec![jac_def, aux_def]),
                leaves,
            })
        }
    }
}

fn traced_inputs(per_row: &[Vec<Tensor>], mask: &[bool]) -> usize {
    per_row
        .first()
        .map_or(mask.iter().filter(|m| **m).count(), Vec::len)
}

fn stack_rows(per_row: &[Vec<Tensor>], i: usize) -> Tensor {
    crate::stack(&per_row.iter().map(|r| r[i].clone()).collect::<Vec<_>>(), 0)
}

fn jacfwd_call<A: Tree + Clone, O: Tree>(
    f: &impl Fn(A) -> O,
    args: A,
    opts: &JacfwdOpts,
) -> Result<DynTree> {
    let (leaves, def) = args.flatten();
    let (mask, grad_def) = select_argnums("jacfwd", &def, &opts.argnums)?;
    for (i, x) in leaves.iter().enumerate() {
        if mask[i] && !x.dtype().is_float() {
            return Err(Error::transform(
                "jacfwd",
                format!(
                    "Expected all inputs to be floating point but received {} tensor at flattened input idx: {i}",
                    x.dtype()
                ),
            ));
        }
    }
    let selected: Vec<&Tensor> = leaves
        .iter()
        .zip(&mask)
        .filter(|(_, m)| **m)
        .map(|(x, _)| x)
        .collect();
    let total: usize = selected.iter().map(|x| x.numel()).sum();
    // torch's jacfwd has no chunk_size: its one vmap takes the whole identity over the
    // selected inputs, split column-wise per input (total^2 elements in all).
    let mut offset = 0;
    let bases: Vec<Tensor> = selected
        .iter()
        .map(|x| {
            let b = basis(0..total, offset, x);
            offset += x.numel();
            b
        })
        .collect();
    let push = |ts: Vec<Tensor>| -> DynTree {
        let mut it = ts.into_iter();
        let tangents: Vec<Option<Tensor>> = mask
            .iter()
            .map(|&m| if m { it.next() } else { None })
            .collect();
        // Cannot fail: the tangents are built from the arguments' own structure.
        let (values, out_tangents, out_def) =
            push_forward("jacfwd", f, &args, &tangents).or_raise();
        let leaves = values
            .iter()
            .zip(out_tangents)
            .map(|(y, t)| t.unwrap_or_else(|| y.zeros_like()))
            .chain(values.iter().cloned())
            .collect();
        DynTree {
            def: TreeDef::Tuple(vec![out_def.clone(), out_def]),
            leaves,
        }
    };
    if total == 0 {
        return empty_jacfwd(f, &args, &def, &grad_def, &selected, opts);
    }
    let batched = vmap_with(&push, VmapOpts::new().randomness(opts.randomness))(bases);
    let TreeDef::Tuple(parts) = &batched.def else {
        unreachable!("a pair")
    };
    let (out_def, aux_def) = split_aux("jacfwd", &parts[0], opts.has_aux)?;
    let n_out = out_def.num_leaves();
    let n_all = parts[0].num_leaves();
    let tangents = &batched.leaves[..n_out];
    let values = &batched.leaves[n_all..];
    check_real_outputs("jacfwd", &values[..n_out])?;
    let mut out_leaves = Vec::new();
    for (t, y) in tangents.iter().zip(values) {
        // t: [total, *y.shape] -> [*y.shape, total], then split per input leaf.
        let moved = t.movedim(0, -1);
        let mut offset = 0;
        let per_input: Vec<Tensor> = selected
            .iter()
            .map(|x| {
                let piece = moved.narrow(-1, offset as isize, x.numel());
                offset += x.numel();
                let mut shape: Vec<isize> = y.shape()[1..].iter().map(|&n| n as isize).collect();
                shape.extend(x.shape().iter().map(|&n| n as isize));
                piece.reshape(&shape)
            })
            .collect();
        out_leaves.extend(order_by_argnums(&def, &opts.argnums, "jacfwd", per_input)?);
    }
    let jac_def = nest(&out_def, &grad_def);
    match aux_def {
        None => Ok(DynTree {
            def: jac_def,
            leaves: out_leaves,
        }),
        Some(aux_def) => {
            // aux comes out of the vmap with a leading basis dim: torch returns aux[0].
            out_leaves.extend(values[n_out..].iter().map(|a| a.select(0, 0)));
            Ok(DynTree {
                def: TreeDef::Tuple(vec![jac_def, aux_def]),
                leaves: out_leaves,
            })
        }
    }
}

/// `jacfwd` when the selected inputs have no elements: there is no basis to push forward,
/// so `f` runs once for the output structure, and each Jacobian is empty with the dtype its
/// tangent would have had (the output's), as torch's vmap over an empty basis gives.
fn empty_jacfwd<A: Tree, O: Tree>(
    f: &impl Fn(A) -> O,
    args: &A,
    def: &TreeDef,
    grad_def: &TreeDef,
    selected: &[&Tensor],
    opts: &JacfwdOpts,
) -> Result<DynTree> {
    let no_tangents = vec![None; def.num_leaves()];
    let (values, _, all_def) = push_forward("jacfwd", f, args, &no_tangents)?;
    let (out_def, aux_def) = split_aux("jacfwd", &all_def, opts.has_aux)?;
    let n_out = out_def.num_leaves();
    check_real_outputs("jacfwd", &values[..n_out])?;
    let mut leaves = Vec::new();
    for y in &values[..n_out] {
        let per_input: Vec<Tensor> = selected
            .iter()
            .map(|x| y.new_zeros(&[y.shape(), x.shape()].concat()))
            .collect();
        leaves.extend(order_by_argnums(def, &opts.argnums, "jacfwd", per_input)?);
    }
    let jac_def = nest(&out_def, grad_def);
    Ok(match aux_def {
        None => DynTree {
            def: jac_def,
            leaves,
        },
        Some(aux_def) => {
            leaves.extend(values[n_out..].iter().cloned());
            DynTree {
                def: TreeDef::Tuple(vec![jac_def, aux_def]),
                leaves,
            }
        }
    })
}

fn finish<R: Tree>(t: Result<DynTree>) -> Result<R> {
    let t = t?;
    R::unflatten(&t.def, t.leaves)
}

/// torch.func.jacrev: the Jacobian of `f` with respect to its first argument, by reverse
/// mode (cheap for functions with few outputs). Annotate the result type, e.g. `Tensor` for
/// a tensor-to-tensor function.
///
/// ```
/// use cotangent::{Tensor, jacrev};
/// let x = Tensor::new([0.1f64, 0.2, 0.3]);
/// let j: Tensor = jacrev(|x: Tensor| x.sin())(x.clone());
/// let expected = &Tensor::eye(3, 3).to_dtype(cotangent::DType::F64) * &x.cos();
/// assert!(j.allclose(&expected, 1e-12, 0.0));
/// ```
#[track_caller]
pub fn jacrev<A: Tree, O: Tree, R: Tree, F: Fn(A) -> O>(f: F) -> impl Fn(A) -> R {
    jacrev_with(f, JacrevOpts::default())
}

/// torch.func.jacrev with `argnums`, `has_aux` and `chunk_size`.
#[track_caller]
pub fn jacrev_with<A: Tree, O: Tree, R: Tree, F: Fn(A) -> O>(
    f: F,
    opts: JacrevOpts,
) -> impl Fn(A) -> R {
    let site = Location::caller();
    move |args: A| finish(jacrev_call(&f, args, &opts)).or_raise_at(site)
}

/// [`jacrev`] returning every error raised in the call (by `jacrev` or by an op inside `f`)
/// as `Err`, without unwinding out of it.
pub fn try_jacrev<A: Tree, O: Tree, R: Tree, F: Fn(A) -> O>(f: F) -> impl Fn(A) -> Result<R> {
    try_jacrev_with(f, JacrevOpts::default())
}

/// [`jacrev_with`] returning errors as `Err` (see [`try_jacrev`]).
pub fn try_jacrev_with<A: Tree, O: Tree, R: Tree, F: Fn(A) -> O>(
    f: F,
    opts: JacrevOpts,
) -> impl Fn(A) -> Result<R> {
    move |args: A| catch_result(|| finish(jacrev_call(&f, args, &opts)))
}

/// torch.func.jacfwd: the Jacobian of `f` by forward mode (cheap for functions with few
/// inputs).
///
/// ```
/// use cotangent::{Tensor, jacfwd};
/// let x = Tensor::new([0.1f64, 0.2, 0.3]);
/// let j: Tensor = jacfwd(|x: Tensor| x.sin())(x.clone());
/// let expected = &Tensor::eye(3, 3).to_dtype(cotangent::DType::F64) * &x.cos();
/// assert!(j.allclose(&expected, 1e-12, 0.0));
/// ```
#[track_caller]
pub fn jacfwd<A: Tree + Clone, O: Tree, R: Tree, F: Fn(A) -> O>(f: F) -> impl Fn(A) -> R {
    jacfwd_with(f, JacfwdOpts::default())
}

/// torch.func.jacfwd with `argnums`, `has_aux` and `randomness`.
#[track_caller]
pub fn jacfwd_with<A: Tree + Clone, O: Tree, R: Tree, F: Fn(A) -> O>(
    f: F,
    opts: JacfwdOpts,
) -> impl Fn(A) -> R {
    let site = Location::caller();
    move |args: A| finish(jacfwd_call(&f, args, &opts)).or_raise_at(site)
}

/// [`jacfwd`] returning errors as `Err` (see [`try_jacrev`]).
pub fn try_jacfwd<A: Tree + Clone, O: Tree, R: Tree, F: Fn(A) -> O>(
    f: F,
) -> impl Fn(A) -> Result<R> {
    try_jacfwd_with(f, JacfwdOpts::default())
}

/// [`jacfwd_with`] returning errors as `Err` (see [`try_jacrev`]).
pub fn try_jacfwd_with<A: Tree + Clone, O: Tree, R: Tree, F: Fn(A) -> O>(
    f: F,
    opts: JacfwdOpts,
) -> impl Fn(A) -> Result<R> {
    move |args: A| catch_result(|| finish(jacfwd_call(&f, args, &opts)))
}

/// torch.func.hessian: `jacfwd(jacrev(f, argnums), argnums)`, forward-over-reverse.
///
/// ```
/// use cotangent::{Tensor, hessian};
/// let x = Tensor::new([0.1f64, 0.2]);
/// let h: Tensor = hessian(|x: Tensor| x.sin().sum())(x.clone());
/// let expected = &Tensor::eye(2, 2).to_dtype(cotangent::DType::F64) * &(-x.sin());
/// assert!(h.allclose(&expected, 1e-12, 0.0));
/// ```
#[track_caller]
pub fn hessian<A: Tree + Clone, R: Tree, F: Fn(A) -> Tensor>(f: F) -> impl Fn(A) -> R {
    hessian_with(f, HessianOpts::default())
}

/// torch.func.hessian with `argnums`.
///
/// ```
/// use cotangent::{HessianOpts, Tensor, hessian_with};
/// let (x, y) = (Tensor::new([1.0f64, 2.0]), Tensor::new([3.0f64]));
/// // f(x, y) = y * sum(x^2): the Hessian with respect to x is 2 y I.
/// let f = |(x, y): (Tensor, Tensor)| (&(&x * &x).sum() * &y).sum();
/// let h: Tensor = hessian_with(f, HessianOpts::new().argnums(0))((x, y));
/// let expected = &Tensor::eye(2, 2).to_dtype(cotangent::DType::F64) * 6.0;
/// assert!(h.allclose(&expected, 1e-12, 0.0));
/// ```
#[track_caller]
pub fn hessian_with<A: Tree + Clone, O: Tree, R: Tree, F: Fn(A) -> O>(
    f: F,
    opts: HessianOpts,
) -> impl Fn(A) -> R {
    let inner_opts = JacrevOpts::new().argnums(opts.argnums.clone());
    let inner = jacrev_with::<A, O, DynTree, F>(f, inner_opts);
    jacfwd_with(inner, JacfwdOpts::new().argnums(opts.argnums))
}

/// [`hessian`] returning errors as `Err` (see [`try_jacrev`]).
pub fn try_hessian<A: Tree + Clone, R: Tree, F: Fn(A) -> Tensor>(f: F) -> impl Fn(A) -> Result<R> {
    try_hessian_with(f, HessianOpts::default())
}

/// [`hessian_with`] returning errors as `Err` (see [`try_jacrev`]).
pub fn try_hessian_with<A: Tree + Clone, O: Tree, R: Tree, F: Fn(A) -> O>(
    f: F,
    opts: HessianOpts,
) -> impl Fn(A) -> Result<R> {
    let h = hessian_with(f, opts);
    move |args: A| catch(|| h(args))
}
