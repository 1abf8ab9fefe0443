//! `grad` and `grad_and_value`: reverse mode for scalar functions.
//!
//! `grad(f)(x)` is `vjp(f, x)` pulled back from a cotangent of 1, after checking that `f`
//! returns a 0-d float tensor (torch checks `dim() == 0`: a shape-`[1]` loss is an error).
//! Only the arguments in `argnums` are traced, so the others cost nothing.

use std::panic::Location;

use super::Argnums;
use super::vjp::{order_by_argnums, select_argnums, trace_flat};
use crate::error::{Error, OrRaise, Result, catch_result};
use crate::trace::Tensor;
use crate::tree::{Tree, TreeDef};

/// Options of [`grad_with`] and [`grad_and_value_with`], torch.func's keyword arguments.
#[derive(Clone, Debug)]
pub struct GradOpts {
    /// Which positional arguments to differentiate (default 0).
    pub argnums: Argnums,
    /// `f` returns `(output, aux)`; aux is passed through undifferentiated.
    pub has_aux: bool,
}

impl Default for GradOpts {
    fn default() -> Self {
        GradOpts {
            argnums: Argnums::One(0),
            has_aux: false,
        }
    }
}

impl GradOpts {
    /// Defaults: `argnums = 0`, `has_aux = false`.
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
}

/// What one call of a gradient transform computes.
struct GradResult {
    grads: Vec<Tensor>,
    grad_def: TreeDef,
    value: Tensor,
    aux: Option<(Vec<Tensor>, TreeDef)>,
}

fn grad_core<A: Tree, O: Tree>(
    transform: &'static str,
    f: impl FnOnce(A) -> O,
    args: A,
    opts: &GradOpts,
) -> Result<GradResult> {
    let (leaves, def) = args.flatten();
    drop(args);
    let (mask, grad_def) = select_argnums(transform, &def, &opts.argnums)?;
    let (traced, _) = trace_flat(transform, f, &leaves, &def, &mask)?;
    drop(leaves);
    let (value_def, aux_def) = match (&traced.out_def, opts.has_aux) {
        (TreeDef::Tuple(parts), true) if parts.len() == 2 => {
            (parts[0].clone(), Some(parts[1].clone()))
        }
        (other, true) => {
            return Err(Error::transform(
                transform,
                format!(
                    "{transform}(f)(*args): output of function f should be a tuple: (output, aux) \
                     if has_aux is True, got structure {other}"
                ),
            ));
        }
        (other, false) => (other.clone(), None),
    };
    if value_def != TreeDef::Leaf {
        return Err(Error::transform(
            transform,
            format!("{transform}(f)(*args): Expected f(*args) to return a Tensor, got {value_def}"),
        ));
    }
    let value = traced.outputs[0].clone();
    if value.dim() != 0 {
        return Err(Error::transform(
            transform,
            format!(
                "{transform}(f)(*args): Expected f(*args) to return a scalar Tensor, got tensor \
                 with {} dims (shape {:?}). Maybe you wanted to use the vjp or jacrev APIs \
                 instead?",
                value.dim(),
                value.shape()
            ),
        ));
    }
    if !value.dtype().is_float() {
        return Err(Error::transform(
            transform,
            format!(
                "{transform}(f)(*args): the output must be a floating point Tensor, got {}",
                value.dtype()
            ),
        ));
    }
    let mut cts: Vec<Option<Tensor>> = vec![None; traced.outputs.len()];
    cts[0] = Some(value.ones_like());
    let aux = aux_def.map(|d| (traced.outputs[1..].to_vec(), d));
    let grads = order_by_argnums(&def, &opts.argnums, transform, traced.into_pullback(&cts))?;
    Ok(GradResult {
        grads,
        grad_def,
        value,
        aux,
    })
}

/// `grad`'s result: the gradients of the selected arguments.
fn grad_call<A: Tree, O: Tree, R: Tree>(
    transform: &'static str,
    f: impl FnOnce(A) -> O,
    args: A,
    opts: &GradOpts,
) -> Result<R> {
    let r = grad_core(transform, f, args, opts)?;
    match r.aux {
        None => R::unflatten(&r.grad_def, r.grads),
        Some((aux, aux_def)) => {
            let mut leaves = r.grads;
            leaves.extend(aux);
            R::unflatten(&TreeDef::Tuple(vec![r.grad_def, aux_def]), leaves)
        }
    }
}

/// `grad_and_value`'s result: `(gradients, value)`, or `(gradients, (value, aux))`.
fn grad_and_value_call<A: Tree, O: Tree, R: Tree>(
    f: impl FnOnce(A) -> O,
    args: A,
    opts: &GradOpts,
) -> Result<R> {
    let r = grad_core("grad_and_value", f, args, opts)?;
    let mut leaves = r.grads;
    leaves.push(r.value);
    match r.aux {
        None => R::unflatten(&TreeDef::Tuple(vec![r.grad_def, TreeDef::Leaf]), leaves),
        Some((aux, aux_def)) => {
            leaves.extend(aux);
            let value_aux = TreeDef::Tuple(vec![TreeDef::Leaf, aux_def]);
            R::unflatten(&TreeDef::Tuple(vec![r.grad_def, value_aux]), leaves)
        }
    }
}

/// torch.func.grad: the gradient of a scalar function with respect to its first argument.
/// `A` is the argument tree (a tuple for several arguments); the result has the structure of
/// the first argument.
///
/// ```
/// use cotangent::{Tensor, grad};
/// let x = Tensor::scalar(0.5f64);
/// let cos_x = grad(|x: Tensor| x.sin())(x.clone());
/// assert!(cos_x.allclose(&x.cos(), 1e-12, 0.0));
/// let neg_sin_x = grad(grad(|x: Tensor| x.sin()))(x.clone());
/// assert!(neg_sin_x.allclose(&-x.sin(), 1e-12, 0.0));
/// ```
///
/// # Panics
/// If `f` does not return a 0-d float tensor, or an op inside `f` fails; [`try_grad`]
/// returns the error instead. A misuse of `grad` itself is reported at the line that
/// called `grad` (the returned closure cannot carry its caller's line).
#[track_caller]
pub fn grad<A: Tree, F: Fn(A) -> Tensor>(f: F) -> impl Fn(A) -> A::First {
    let site = Location::caller();
    move |args: A| grad_call("grad", &f, args, &GradOpts::default()).or_raise_at(site)
}

/// [`grad`] returning every error raised while computing the gradient (by `grad` or by an
/// op inside `f`) as `Err`, without unwinding out of the call.
///
/// ```
/// use cotangent::{Error, Tensor, try_grad};
/// let not_scalar = try_grad(|x: Tensor| x.sin())(Tensor::new([1.0f64, 2.0]));
/// assert!(matches!(not_scalar, Err(Error::Transform { transform: "grad", .. })));
/// let bad_op = try_grad(|x: Tensor| x.reshape(&[3]).sum())(Tensor::new([1.0f64, 2.0]));
/// assert!(matches!(bad_op, Err(Error::Shape { op: "reshape", .. })));
/// ```
pub fn try_grad<A: Tree, F: Fn(A) -> Tensor>(f: F) -> impl Fn(A) -> Result<A::First> {
    move |args: A| catch_result(|| grad_call("grad", &f, args, &GradOpts::default()))
}

/// torch.func.grad with options. The result type `R` is chosen by the caller: the selected
/// argument's structure for an integer `argnums`, a tuple of them for a tuple, and
/// `(gradients, aux)` with `has_aux`. A result type of the wrong structure panics with the
/// structure it should have.
///
/// ```
/// use cotangent::{Tensor, grad_with, GradOpts};
/// let (x, y) = (Tensor::scalar(2.0f64), Tensor::scalar(3.0f64));
/// let f = |(x, y): (Tensor, Tensor)| &x * &y;
/// let (gy, gx): (Tensor, Tensor) = grad_with(f, GradOpts::new().argnums((1, 0)))((x, y));
/// assert_eq!((gy.item::<f64>(), gx.item::<f64>()), (2.0, 3.0));
/// ```
#[track_caller]
pub fn grad_with<A: Tree, O: Tree, R: Tree, F: Fn(A) -> O>(
    f: F,
    opts: GradOpts,
) -> impl Fn(A) -> R {
    let site = Location::caller();
    move |args: A| grad_call("grad", &f, args, &opts).or_raise_at(site)
}

/// [`grad_with`] returning errors as `Err` (see [`try_grad`]).
pub fn try_grad_with<A: Tree, O: Tree, R: Tree, F: Fn(A) -> O>(
    f: F,
    opts: GradOpts,
) -> impl Fn(A) -> Result<R> {
    move |args: A| catch_result(|| grad_call("grad", &f, args, &opts))
}

/// torch.func.grad_and_value: `(gradient, value)`, in torch's order (JAX's `value_and_grad`
/// returns the opposite).
///
/// ```
/// use cotangent::{Tensor, grad_and_value};
/// let x = Tensor::new([1.0f64, 2.0]);
/// let (g, v) = grad_and_value(|x: Tensor| (&x * &x).sum())(x);
/// assert_eq!(g.to_vec::<f64>(), vec![2.0, 4.0]);
/// assert_eq!(v.item::<f64>(), 5.0);
/// ```
#[track_caller]
pub fn grad_and_value<A: Tree, F: Fn(A) -> Tensor>(f: F) -> impl Fn(A) -> (A::First, Tensor) {
    let site = Location::caller();
    move |args: A| grad_and_value_call(&f, args, &GradOpts::default()).or_raise_at(site)
}

/// [`grad_and_value`] returning errors as `Err` (see [`try_grad`]).
pub fn try_grad_and_value<A: Tree, F: Fn(A) -> Tensor>(
    f: F,
) -> impl Fn(A) -> Result<(A::First, Tensor)> {
    move |args: A| catch_result(|| grad_and_value_call(&f, args, &GradOpts::default()))
}

/// torch.func.grad_and_value with options: `(gradients, value)`, or with `has_aux`
/// `(gradients, (value, aux))`.
#[track_caller]
pub fn grad_and_value_with<A: Tree, O: Tree, R: Tree, F: Fn(A) -> O>(
    f: F,
    opts: GradOpts,
) -> impl Fn(A) -> R {
    let site = Location::caller();
    move |args: A| grad_and_value_call(&f, args, &opts).or_raise_at(site)
}

/// [`grad_and_value_with`] returning errors as `Err` (see [`try_grad`]).
pub fn try_grad_and_value_with<A: Tree, O: Tree, R: Tree, F: Fn(A) -> O>(
    f: F,
    opts: GradOpts,
) -> impl Fn(A) -> Result<R> {
    move |args: A| catch_result(|| grad_and_value_call(&f, args, &opts))
}
