//! Forward mode: `jvp` and `linearize`.
//!
//! A jvp tracer carries a primal value and its tangent. When a primitive meets one, the
//! interpreter evaluates the primitive on the primals one level down and asks the
//! primitive's `jvp` rule for the output tangent. Inputs that are not this frame's tracers
//! have a symbolic zero tangent (`None`); an output whose tangent is zero is returned as a
//! plain value, so constant sub-computations cost nothing extra (Note [Symbolic zeros]).

use std::panic::Location;
use std::rc::Rc;

use crate::error::{Error, OrRaise, Result, catch, catch_result};
use crate::primitives::DynPrimitive;
use crate::trace::frame::{FrameRef, Interpreter, push_frame};
use crate::trace::{Payload, Tensor, bind_dyn, unbox};
use crate::tree::{Tree, TreeDef};

/// What a jvp tracer carries.
struct JvpPayload {
    primal: Tensor,
    tangent: Tensor,
}

impl Payload for JvpPayload {
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

struct JvpInterpreter;

impl Interpreter for JvpInterpreter {
    fn process(&self, frame: FrameRef, prim: &dyn DynPrimitive, inputs: &[&Tensor]) -> Tensor {
        let (primals, tangents) = unbox(inputs.iter().copied(), frame.id, |p: &JvpPayload| {
            (p.primal.clone(), p.tangent.clone())
        });
        let refs: Vec<&Tensor> = primals.iter().collect();
        let out = bind_dyn(prim, &refs).or_raise();
        match prim.jvp(&primals, &out, &tangents) {
            Some(t) => {
                let (shape, dtype) = (out.shape().to_vec(), out.dtype());
                Tensor::tracer(
                    frame,
                    &shape,
                    dtype,
                    JvpPayload {
                        primal: out,
                        tangent: t,
                    },
                )
            }
            None => out,
        }
    }
}

/// Run `f` at `primals` pushing `tangents` forward: the output leaves and their tangents
/// (`None` where the output does not depend on the inputs), and the output structure.
pub(crate) fn push_forward<A: Tree, O: Tree>(
    transform: &'static str,
    f: impl FnOnce(A) -> O,
    primals: &A,
    tangents: &[Option<Tensor>],
) -> Result<(Vec<Tensor>, Vec<Option<Tensor>>, TreeDef)> {
    let (leaves, def) = primals.flatten();
    let guard = push_frame(transform, |_| Rc::new(JvpInterpreter));
    let frame = guard.frame();
    let wrapped: Vec<Tensor> = leaves
        .iter()
        .zip(tangents)
        .map(|(x, t)| match t {
            Some(t) => Tensor::tracer(
                frame,
                x.shape(),
                x.dtype(),
                JvpPayload {
                    primal: x.clone(),
                    tangent: t.clone(),
                },
            ),
            None => x.clone(),
        })
        .collect();
    let _ = transform;
    let out = f(A::unflatten(&def, wrapped)?);
    let (out_leaves, out_def) = out.flatten();
    let (values, out_tangents) = unbox(&out_leaves, frame.id, |p: &JvpPayload| {
        (p.primal.clone(), p.tangent.clone())
    });
    drop(guard);
    Ok((values, out_tangents, out_def))
}

/// Check that tangents match primals in structure, shape and dtype.
fn check_tangents(
    transform: &'static str,
    primals: &[Tensor],
    pdef: &TreeDef,
    tangents: &[Tensor],
    tdef: &TreeDef,
) -> Result<()> {
    if !pdef.same_structure(tdef) {
        return Err(Error::transform(
            transform,
            format!(
                "{transform}(f, primals, tangents): Expected primals and tangents to have the same python structure. \
                 For example, if primals is a tuple of 3 tensors, tangents also must be. Got \
                 primals with structure {pdef} and tangents with structure {tdef}"
            ),
        ));
    }
    if primals.is_empty() {
        return Err(Error::transform(
            transform,
            format!(
                "{transform}(f, primals, tangents): Expected primals to contain at least one Tensor"
            ),
        ));
    }
    for (i, (p, t)) in primals.iter().zip(tangents).enumerate() {
        if p.shape() != t.shape() {
            return Err(Error::transform(
                transform,
                format!(
                    "{transform}(f, primals, tangents): jvp called with different primal and tangent shapes: primal {i} \
                     has shape {:?}, tangent has shape {:?}",
                    p.shape(),
                    t.shape()
                ),
            ));
        }
        if p.dtype() != t.dtype() || !p.dtype().is_float() {
            return Err(Error::transform(
                transform,
                format!(
                    "{transform}(f, primals, tangents): primal and tangent arguments do not match or are not floating \
                     point: primal {i} has dtype {}, tangent has dtype {}",
                    p.dtype(),
                    t.dtype()
                ),
            ));
        }
    }
    Ok(())
}

/// Options of [`jvp_with`]: torch's `strict`.
#[derive(Clone, Copy, Debug, Default)]
pub struct JvpOpts {
    /// Error if an output does not depend on the inputs (instead of a zero tangent).
    pub strict: bool,
}

fn jvp_core<A: Tree, O: Tree>(
    f: impl FnOnce(A) -> O,
    primals: A,
    tangents: A,
    strict: bool,
) -> Result<(Vec<Tensor>, Vec<Tensor>, TreeDef)> {
    let (p_leaves, p_def) = primals.flatten();
    let (t_leaves, t_def) = tangents.flatten();
    check_tangents("jvp", &p_leaves, &p_def, &t_leaves, &t_def)?;
    let t_opts: Vec<Option<Tensor>> = t_leaves.into_iter().map(Some).collect();
    let (values, out_tangents, out_def) = push_forward("jvp", f, &primals, &t_opts)?;
    let mut tangents_out = Vec::with_capacity(values.len());
    for (y, t) in values.iter().zip(out_tangents) {
        match t {
            Some(t) => tangents_out.push(t),
            None if strict => {
                return Err(Error::transform(
                    "jvp",
                    "jvp(f, primals, tangents, strict=True): The output of f is independent of \
                     the inputs. This is not allowed with strict=True.",
                ));
            }
            None => tangents_out.push(y.zeros_like()),
        }
    }
    Ok((values, tangents_out, out_def))
}

/// torch.func.jvp: `(f(primals), J·tangents)`. `tangents` has the structure of `primals`;
/// outputs that do not depend on the inputs get zero tangents.
///
/// ```
/// use cotangent::{Tensor, jvp};
/// let (x, t) = (Tensor::new([0.5f64, 1.0]), Tensor::new([1.0f64, 2.0]));
/// let (y, y_dot) = jvp(|x: Tensor| x.sin(), x.clone(), t.clone());
/// assert!(y.allclose(&x.sin(), 1e-12, 0.0));
/// assert!(y_dot.allclose(&(&x.cos() * &t), 1e-12, 0.0));
/// ```
#[track_caller]
pub fn jvp<A: Tree, O: Tree>(f: impl FnOnce(A) -> O, primals: A, tangents: A) -> (O, O) {
    jvp_call(f, primals, tangents, JvpOpts::default()).or_raise()
}

/// [`jvp`] returning every error raised while pushing the tangents forward (by `jvp` or by
/// an op inside `f`) as `Err`, without unwinding out of the call.
pub fn try_jvp<A: Tree, O: Tree>(
    f: impl FnOnce(A) -> O,
    primals: A,
    tangents: A,
) -> Result<(O, O)> {
    catch_result(|| jvp_call(f, primals, tangents, JvpOpts::default()))
}

/// torch.func.jvp with `strict`.
#[track_caller]
pub fn jvp_with<A: Tree, O: Tree>(
    f: impl FnOnce(A) -> O,
    primals: A,
    tangents: A,
    opts: JvpOpts,
) -> (O, O) {
    jvp_call(f, primals, tangents, opts).or_raise()
}

/// [`jvp_with`] returning errors as `Err` (see [`try_jvp`]).
pub fn try_jvp_with<A: Tree, O: Tree>(
    f: impl FnOnce(A) -> O,
    primals: A,
    tangents: A,
    opts: JvpOpts,
) -> Result<(O, O)> {
    catch_result(|| jvp_call(f, primals, tangents, opts))
}

fn jvp_call<A: Tree, O: Tree>(
    f: impl FnOnce(A) -> O,
    primals: A,
    tangents: A,
    opts: JvpOpts,
) -> Result<(O, O)> {
    let (values, tangents_out, def) = jvp_core(f, primals, tangents, opts.strict)?;
    Ok((
        O::unflatten(&def, values)?,
        O::unflatten(&def, tangents_out)?,
    ))
}

/// torch.func.jvp with `has_aux=True`: `f` returns `(output, aux)`; the result is
/// `(output, jvp_out, aux)`.
#[track_caller]
pub fn jvp_with_aux<A: Tree, O: Tree, X: Tree>(
    f: impl FnOnce(A) -> (O, X),
    primals: A,
    tangents: A,
) -> (O, O, X) {
    jvp_with_aux_call(f, primals, tangents).or_raise()
}

/// [`jvp_with_aux`] returning errors as `Err` (see [`try_jvp`]).
pub fn try_jvp_with_aux<A: Tree, O: Tree, X: Tree>(
    f: impl FnOnce(A) -> (O, X),
    primals: A,
    tangents: A,
) -> Result<(O, O, X)> {
    catch_result(|| jvp_with_aux_call(f, primals, tangents))
}

fn jvp_with_aux_call<A: Tree, O: Tree, X: Tree>(
    f: impl FnOnce(A) -> (O, X),
    primals: A,
    tangents: A,
) -> Result<(O, O, X)> {
    let (values, tangents_out, def) = jvp_core(f, primals, tangents, false)?;
    let TreeDef::Tuple(parts) = &def else {
        unreachable!("a pair")
    };
    let n = parts[0].num_leaves();
    Ok((
        O::unflatten(&parts[0], values[..n].to_vec())?,
        O::unflatten(&parts[0], tangents_out[..n].to_vec())?,
        X::unflatten(&parts[1], values[n..].to_vec())?,
    ))
}

/// The tangents given to `linearize`'s function must match the primals' shapes.
fn check_linearize_tangents(primals: &[Tensor], tangents: &[Tensor]) -> Result<()> {
    if primals.len() != tangents.len() {
        return Err(Error::transform(
            "linearize",
            format!(
                "jvp_fn expected {} tangents (one per primal), got {}",
                primals.len(),
                tangents.len()
            ),
        ));
    }
    for (i, (p, t)) in primals.iter().zip(tangents).enumerate() {
        if p.shape() != t.shape() {
            return Err(Error::transform(
                "linearize",
                format!(
                    "tangent:{i} with shape {:?} doesn't match the shape {:?} of the \
                     corresponding primal",
                    t.shape(),
                    p.shape()
                ),
            ));
        }
    }
    Ok(())
}

/// torch.func.linearize: `f(primals)` and a function of tangents equal to
/// `jvp(f, primals, tangents).1`.
///
/// NB: torch traces the jvp once and constant-folds it; cotangent, which has no staging yet,
/// runs the forward pass again inside each call of the returned function.
///
/// ```
/// use cotangent::{Tensor, linearize};
/// let x = Tensor::new([0.5f64, 1.0]);
/// let (y, jvp_fn) = linearize(|x: Tensor| x.sin(), x.clone());
/// let t = Tensor::new([1.0f64, 1.0]);
/// assert!(jvp_fn(t).allclose(&x.cos(), 1e-12, 0.0));
/// # let _ = y;
/// ```
#[track_caller]
pub fn linearize<A: Tree + Clone, O: Tree, F: Fn(A) -> O + Clone>(
    f: F,
    primals: A,
) -> (O, impl Fn(A) -> O) {
    let site = Location::caller();
    let out = f(primals.clone());
    let jvp_fn = linearized(f, primals);
    (out, move |tangents: A| jvp_fn(tangents).or_raise_at(site))
}

/// [`linearize`] returning errors as `Err`, from the forward pass and from each call of the
/// returned function (see [`try_jvp`]).
pub fn try_linearize<A: Tree + Clone, O: Tree, F: Fn(A) -> O + Clone>(
    f: F,
    primals: A,
) -> Result<(O, impl Fn(A) -> Result<O>)> {
    let out = catch(|| f(primals.clone()))?;
    let jvp_fn = linearized(f, primals);
    Ok((out, move |tangents: A| catch_result(|| jvp_fn(tangents))))
}

/// The tangent map of `f` at `primals`.
fn linearized<A: Tree + Clone, O: Tree, F: Fn(A) -> O + Clone>(
    f: F,
    primals: A,
) -> impl Fn(A) -> Result<O> {
    move |tangents: A| {
        let (leaves, _) = primals.flatten();
        let (t_leaves, _) = tangents.flatten();
        check_linearize_tangents(&leaves, &t_leaves)?;
        Ok(jvp_call(f.clone(), primals.clone(), tangents, JvpOpts::default())?.1)
    }
}
