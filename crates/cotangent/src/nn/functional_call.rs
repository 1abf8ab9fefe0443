//! `functional_call` and `stack_module_state`: the bridge from modules, which hold their
//! tensors, to the transforms, which want functions of tensors.
//!
//! torch swaps a module's attributes in place and restores them afterwards. Here a module is
//! a cheap value (its tensors are reference-counted), so [`reparametrize`] returns a copy
//! with the named tensors replaced; nothing needs restoring and the original is never seen
//! half-swapped.

use std::collections::BTreeMap;

use super::{Module, StateDict, walk_mut};
use crate::error::{Error, OrRaise, Result};
use crate::ops::shape::stack;
use crate::trace::Tensor;

/// Options of [`functional_call_with`] and [`try_reparametrize`]: torch's keyword arguments
/// `strict=False, tie_weights=True`.
#[derive(Clone, Copy, Debug)]
pub struct CallOpts {
    strict: bool,
    tie_weights: bool,
}

impl Default for CallOpts {
    fn default() -> Self {
        CallOpts {
            strict: false,
            tie_weights: true,
        }
    }
}

impl CallOpts {
    /// torch's defaults: not strict, tied weights stay tied.
    pub fn new() -> Self {
        Self::default()
    }

    /// With `strict`, the keys must be exactly the module's parameter and buffer names.
    pub fn strict(mut self, strict: bool) -> Self {
        self.strict = strict;
        self
    }

    /// With `tie_weights` (the default), a tensor registered under several names in the
    /// module is replaced under all of them when one name is given.
    pub fn tie_weights(mut self, tie_weights: bool) -> Self {
        self.tie_weights = tie_weights;
        self
    }
}

/// What [`functional_call`] accepts as replacement tensors: one map, several maps (a tuple
/// of two, a slice or a `Vec`; their keys must be disjoint), or `(name, tensor)` pairs.
pub trait ParamDicts {
    /// The replacement tensors by name.
    ///
    /// # Errors
    /// A key in more than one map, or a name twice among the pairs.
    fn into_named(self) -> Result<Vec<(String, Tensor)>>;
}

fn merge<'a>(maps: impl IntoIterator<Item = &'a StateDict>) -> Result<Vec<(String, Tensor)>> {
    let mut merged: BTreeMap<&str, &Tensor> = BTreeMap::new();
    let mut repeated: Vec<&str> = Vec::new();
    for map in maps {
        for (k, v) in map {
            if merged.insert(k, v).is_some() && !repeated.contains(&k.as_str()) {
                repeated.push(k);
            }
        }
    }
    if !repeated.is_empty() {
        return Err(Error::value(
            "functional_call",
            format!(
                "{} appeared in multiple dictionaries; behavior of functional call is ambiguous",
                py_list(&repeated)
            ),
        ));
    }
    Ok(merged
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect())
}

impl ParamDicts for &StateDict {
    fn into_named(self) -> Result<Vec<(String, Tensor)>> {
        merge([self])
    }
}

impl ParamDicts for StateDict {
    fn into_named(self) -> Result<Vec<(String, Tensor)>> {
        Ok(self.into_iter().collect())
    }
}

impl ParamDicts for (&StateDict, &StateDict) {
    fn into_named(self) -> Result<Vec<(String, Tensor)>> {
        merge([self.0, self.1])
    }
}

impl ParamDicts for &(StateDict, StateDict) {
    fn into_named(self) -> Result<Vec<(String, Tensor)>> {
        merge([&self.0, &self.1])
    }
}

impl ParamDicts for &[StateDict] {
    fn into_named(self) -> Result<Vec<(String, Tensor)>> {
        merge(self)
    }
}

impl ParamDicts for &[&StateDict] {
    fn into_named(self) -> Result<Vec<(String, Tensor)>> {
        merge(self.iter().copied())
    }
}

impl<const N: usize> ParamDicts for [&StateDict; N] {
    fn into_named(self) -> Result<Vec<(String, Tensor)>> {
        merge(self)
    }
}

impl<S: AsRef<str>> ParamDicts for &[(S, Tensor)] {
    fn into_named(self) -> Result<Vec<(String, Tensor)>> {
        let mut out: Vec<(String, Tensor)> = Vec::with_capacity(self.len());
        for (k, v) in self {
            let k = k.as_ref();
            if out.iter().any(|(seen, _)| seen == k) {
                return Err(Error::value(
                    "functional_call",
                    format!(
                        "the name '{k}' appears twice among the (name, tensor) pairs; give \
                         each parameter or buffer once"
                    ),
                ));
            }
            out.push((k.to_string(), v.clone()));
        }
        Ok(out)
    }
}

impl<S: AsRef<str>> ParamDicts for Vec<(S, Tensor)> {
    fn into_named(self) -> Result<Vec<(String, Tensor)>> {
        self.as_slice().into_named()
    }
}

/// torch's `functional_call(module, params, (x,))`: the module's forward with the named
/// parameters and buffers replaced by `params`; names not given keep the module's own
/// tensors, and tied weights stay tied.
///
/// ```
/// use cotangent::nn::{self, Module};
/// use cotangent::{Tensor, manual_seed};
/// manual_seed(0);
/// let model = nn::Linear::new(3, 3);
/// let mut params = model.named_parameters();
/// params.insert("bias".into(), Tensor::ones(&[3]));
/// let x = Tensor::zeros(&[2, 3]);
/// let y = nn::functional_call(&model, &params, &x);
/// assert_eq!(y.to_vec::<f32>(), vec![1.0; 6]);
/// ```
///
/// # Panics
/// With the message of [`try_functional_call`]'s error.
#[track_caller]
pub fn functional_call<M: Module + Clone>(
    module: &M,
    params: impl ParamDicts,
    x: &Tensor,
) -> Tensor {
    try_functional_call(module, params, x, CallOpts::new()).or_raise()
}

/// [`functional_call`] with torch's `strict` and `tie_weights` options.
///
/// # Panics
/// With the message of [`try_functional_call`]'s error.
#[track_caller]
pub fn functional_call_with<M: Module + Clone>(
    module: &M,
    params: impl ParamDicts,
    x: &Tensor,
    opts: CallOpts,
) -> Tensor {
    try_functional_call(module, params, x, opts).or_raise()
}

/// Like [`functional_call_with`], returning an error instead of panicking.
///
/// # Errors
/// Those of [`try_reparametrize`], and the module's own for input of the wrong shape.
pub fn try_functional_call<M: Module + Clone>(
    module: &M,
    params: impl ParamDicts,
    x: &Tensor,
    opts: CallOpts,
) -> Result<Tensor> {
    // `catch_result`: errors raised by ops inside the module's forward come back as `Err` too.
    crate::error::catch_result(|| try_reparametrize(module, params, opts)?.try_forward(x))
}

/// A copy of `module` with the named tensors replaced: the general form of
/// [`functional_call`], for calling any method of the module, not only its forward.
///
/// # Panics
/// With the message of [`try_reparametrize`]'s error.
#[track_caller]
pub fn reparametrize<M: Module + Clone>(module: &M, params: impl ParamDicts, opts: CallOpts) -> M {
    try_reparametrize(module, params, opts).or_raise()
}

/// Like [`reparametrize`], returning an error instead of panicking.
///
/// # Errors
/// A key in two maps; a key the module does not have (always: a module cannot gain a
/// tensor, so torch's silent acceptance would leave the value unused); with `strict`, any
/// missing key too (torch's "Error(s) in reparametrizing" message); tied names given
/// different tensors; a replacement whose shape differs from the tensor it replaces.
pub fn try_reparametrize<M: Module + Clone>(
    module: &M,
    params: impl ParamDicts,
    opts: CallOpts,
) -> Result<M> {
    let given = params.into_named()?;
    let mut copy = module.clone();
    replace_tensors(&mut copy, given, opts, "functional_call")?;
    Ok(copy)
}

/// Replace the module's tensors by name, checking keys, ties and shapes first so that an
/// error leaves `module` untouched.
pub(super) fn replace_tensors<M: Module + ?Sized>(
    module: &mut M,
    given: Vec<(String, Tensor)>,
    opts: CallOpts,
    who: &'static str,
) -> Result<()> {
    let own = module.named_tensors();
    let own_names: Vec<&str> = own.iter().map(|(n, _, _)| n.as_str()).collect();
    let unexpected: Vec<&str> = given
        .iter()
        .map(|(k, _)| k.as_str())
        .filter(|k| !own_names.contains(k))
        .collect();

    let mut assign: BTreeMap<String, Tensor> = given.iter().cloned().collect();
    if opts.tie_weights {
        // Names whose tensors are one tensor form a group; a value given for any of them
        // goes to all of them.
        let mut grouped = vec![false; own.len()];
        for i in 0..own.len() {
            if grouped[i] {
                continue;
            }
            let group: Vec<usize> = (i..own.len())
                .filter(|&j| own[j].2.is_same(&own[i].2))
                .collect();
            for &j in &group {
                grouped[j] = true;
            }
            if group.len() < 2 {
                continue;
            }
            let values: Vec<(&str, &Tensor)> = group
                .iter()
                .filter_map(|&j| {
                    let name = own[j].0.as_str();
                    given
                        .iter()
                        .find(|(k, _)| k == name)
                        .map(|(_, v)| (name, v))
                })
                .collect();
            if let Some((_, first)) = values.first() {
                if values.iter().any(|(_, v)| !v.is_same(first)) {
                    let names: Vec<&str> = values.iter().map(|(n, _)| *n).collect();
                    return Err(Error::value(
                        who,
                        format!(
                            "functional_call got multiple values for keys {}, which are tied. \
                             Consider using tie_weights=False",
                            py_list(&names)
                        ),
                    ));
                }
                for &j in &group {
                    assign.insert(own[j].0.clone(), (*first).clone());
                }
            }
        }
    }
    let missing: Vec<&str> = own_names
        .iter()
        .copied()
        .filter(|n| !assign.contains_key(*n))
        .collect();

    if opts.strict && (!unexpected.is_empty() || !missing.is_empty()) {
        let mut msgs = Vec::new();
        if !unexpected.is_empty() {
            msgs.push(format!("Unexpected key(s): {}.", quoted(&unexpected)));
        }
        if !missing.is_empty() {
            msgs.push(format!("Missing key(s): {}.", quoted(&missing)));
        }
        return Err(Error::value(
            who,
            format!(
                "Error(s) in reparametrizing for {}:\n\t{}",
                module.type_name(),
                msgs.join("\n\t")
            ),
        ));
    }
    if !unexpected.is_empty() {
        return Err(Error::value(
            who,
            format!(
                "{} has no parameter or buffer named {}; its names are {}. A tensor under an \
                 unknown name would be silently unused",
                module.type_name(),
                quoted(&unexpected),
                quoted(&own_names)
            ),
        ));
    }
    for (name, _, old) in &own {
        if let Some(new) = assign.get(name)
            && new.shape() != old.shape()
        {
            return Err(Error::shape(
                who,
                format!(
                    "'{name}' of {} has shape {:?}, but the tensor given for it has shape {:?}{}",
                    module.type_name(),
                    old.shape(),
                    new.shape(),
                    if new.shape().get(1..) == Some(old.shape()) {
                        "; stacked parameters (from stack_module_state) go through vmap"
                    } else {
                        ""
                    }
                ),
            ));
        }
    }
    walk_mut(module, "", &mut |name, _, t| {
        if let Some(new) = assign.get(&name) {
            *t = new.clone();
        }
    });
    Ok(())
}

/// torch's `stack_module_state(models)`: the parameters and the buffers of `M` models of one
/// kind, each stacked along a new leading dim of size `M`, ready for
/// `vmap(|p, b, x| functional_call(&models[0], (&p, &b), &x))` with `in_dims = (0, 0, None)`.
///
/// ```
/// use cotangent::nn;
/// use cotangent::manual_seed;
/// manual_seed(0);
/// let models: Vec<nn::Linear> = (0..5).map(|_| nn::Linear::new(3, 2)).collect();
/// let (params, buffers) = nn::stack_module_state(&models);
/// assert_eq!(params["weight"].shape(), &[5, 2, 3]);
/// assert!(buffers.is_empty());
/// ```
///
/// # Panics
/// With the message of [`try_stack_module_state`]'s error.
#[track_caller]
pub fn stack_module_state<M: Module>(models: &[M]) -> (StateDict, StateDict) {
    try_stack_module_state(models).or_raise()
}

/// Like [`stack_module_state`], returning an error instead of panicking.
///
/// # Errors
/// No models, models in different train/eval modes, models of different classes (torch's
/// messages), or models of one class whose tensors differ in name or shape.
pub fn try_stack_module_state<M: Module>(models: &[M]) -> Result<(StateDict, StateDict)> {
    fn err<T>(msg: String) -> Result<T> {
        Err(Error::shape("stack_module_state", msg))
    }
    let Some(first) = models.first() else {
        return err("Expected at least one model, got 0.".into());
    };
    if models
        .iter()
        .any(|m| m.is_training() != first.is_training())
    {
        return err("Expected all models to have the same training/eval mode.".into());
    }
    if models.iter().any(|m| m.type_name() != first.type_name()) {
        return err("Expected all models to be of the same class.".into());
    }
    let per_model: Vec<(StateDict, StateDict)> = models
        .iter()
        .map(|m| (m.named_parameters(), m.named_buffers()))
        .collect();
    let stack_all = |pick: fn(&(StateDict, StateDict)) -> &StateDict| -> Result<StateDict> {
        let reference = pick(&per_model[0]);
        let mut out = StateDict::new();
        for (name, t0) in reference {
            let mut column = Vec::with_capacity(models.len());
            for (i, m) in per_model.iter().enumerate() {
                let keys = pick(m);
                match keys.get(name) {
                    Some(t) if t.shape() == t0.shape() && t.dtype() == t0.dtype() => {
                        column.push(t.clone())
                    }
                    Some(t) => {
                        return err(format!(
                            "model {i} has '{name}' of shape {:?} and dtype {}, model 0 of \
                             shape {:?} and dtype {}; all models must have the same \
                             architecture",
                            t.shape(),
                            t.dtype(),
                            t0.shape(),
                            t0.dtype()
                        ));
                    }
                    None => {
                        return err(format!(
                            "model {i} has no '{name}', which model 0 has; all models must \
                             have the same architecture"
                        ));
                    }
                }
            }
            out.insert(name.clone(), stack(&column, 0));
        }
        if let Some((i, extra)) = per_model.iter().enumerate().find_map(|(i, m)| {
            pick(m)
                .keys()
                .find(|k| !reference.contains_key(*k))
                .map(|k| (i, k))
        }) {
            return err(format!(
                "model {i} has '{extra}', which model 0 does not; all models must have the \
                 same architecture"
            ));
        }
        Ok(out)
    };
    Ok((stack_all(|m| &m.0)?, stack_all(|m| &m.1)?))
}

/// `['a', 'b']`, as Python prints a list of names.
fn py_list(names: &[&str]) -> String {
    format!("[{}]", quoted(names))
}

fn quoted(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("'{n}'"))
        .collect::<Vec<_>>()
        .join(", ")
}
