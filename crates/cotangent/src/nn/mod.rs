//! Models: torch.nn's modules as values whose parameters and buffers form a named pytree.
//!
//! A [`Module`] holds its tensors in plain fields and names them the way torch's state dict
//! does (`"fc1.weight"`, `"0.bias"`). Nothing here has rules of its own: every layer's
//! forward is a composite of the public ops, so `grad`, `vmap`, `jvp` and the rest go
//! through any model. The functional bridge is [`functional_call`]: it calls a module with
//! some of its tensors replaced (by tracers, under a transform), which is how per-sample
//! gradients, ensembles and MAML are written:
//!
//! ```
//! use cotangent::nn::{self, Module};
//! use cotangent::{Tensor, grad, manual_seed, mse_loss};
//! manual_seed(0);
//! let model = nn::Linear::new(3, 2);
//! let params = model.named_parameters(); // {"bias": .., "weight": ..}
//! let (x, t) = (Tensor::ones(&[4, 3]), Tensor::zeros(&[4, 2]));
//! let g = grad(|p: std::collections::BTreeMap<String, Tensor>| {
//!     mse_loss(&nn::functional_call(&model, &p, &x), &t)
//! })(params);
//! assert_eq!(g["weight"].shape(), &[2, 3]);
//! ```
//!
//! Optimisers ([`optim`]) are pure functions from (parameters, gradients, state) to new
//! parameters and state, so a training step can itself be transformed (vmapped over an
//! ensemble, differentiated through in MAML).

mod functional_call;
pub mod init;
mod layers;
pub mod optim;

pub use functional_call::{
    CallOpts, ParamDicts, functional_call, functional_call_with, reparametrize, stack_module_state,
    try_functional_call, try_reparametrize, try_stack_module_state,
};
pub use layers::{
    Conv2d, Conv2dArgs, Dropout, Flatten, GELU, LayerNorm, Linear, MaxPool2d, ReLU, Sequential,
    Sigmoid, Tanh,
};

use std::collections::BTreeMap;

use crate::array::DType;
use crate::error::{Error, OrRaise, Result};
use crate::trace::Tensor;

pub(crate) use layers::op_info;

/// A map from state-dict names to tensors: what `dict(model.named_parameters())` is in torch.
pub type StateDict = BTreeMap<String, Tensor>;

/// Whether a module's tensor is learned (a parameter) or carried state (a buffer, such as
/// running statistics).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A learned tensor (`nn.Parameter`).
    Parameter,
    /// A non-learned tensor registered with `register_buffer`.
    Buffer,
}

/// A model or a layer: a forward function plus named tensors and submodules.
///
/// Implement the required methods for a new layer; the provided ones (names, state dicts,
/// train/eval) walk the module tree. The macros [`module_children!`](crate::module_children),
/// [`module_tensors!`](crate::module_tensors) and
/// [`module_training_flag!`](crate::module_training_flag) write the accessor methods for
/// plain fields, which is what torch's `__init__` attribute assignments amount to. A module's forward takes one tensor and returns one,
/// like `nn.Sequential`'s members; for other signatures, use [`reparametrize`] and call any
/// method of the returned module.
///
/// ```
/// use cotangent::nn::{Kind, Module};
/// use cotangent::{Result, Tensor};
///
/// /// `x * scale`, with a learned scale.
/// #[derive(Clone)]
/// struct Scale {
///     scale: Tensor,
///     training: bool,
/// }
///
/// impl Module for Scale {
///     fn type_name(&self) -> &'static str {
///         "Scale"
///     }
///     fn try_forward(&self, x: &Tensor) -> Result<Tensor> {
///         Ok(x * &self.scale)
///     }
///     fn own_tensors(&self) -> Vec<(&'static str, Kind, &Tensor)> {
///         vec![("scale", Kind::Parameter, &self.scale)]
///     }
///     fn own_tensors_mut(&mut self) -> Vec<(&'static str, Kind, &mut Tensor)> {
///         vec![("scale", Kind::Parameter, &mut self.scale)]
///     }
///     fn is_training(&self) -> bool {
///         self.training
///     }
///     fn set_training(&mut self, training: bool) {
///         self.training = training;
///     }
/// }
///
/// let m = Scale { scale: Tensor::scalar(2.0f32), training: true };
/// assert_eq!(m.forward(&Tensor::new([1.0f32, 2.0])).to_vec::<f32>(), vec![2.0, 4.0]);
/// assert_eq!(m.named_parameters().keys().collect::<Vec<_>>(), ["scale"]);
/// ```
pub trait Module: CloneModule + Send + Sync + 'static {
    /// The class name, as torch's `module._get_name()` gives it (`"Linear"`).
    fn type_name(&self) -> &'static str;

    /// The forward pass, or an error naming the module and the shapes when the input does
    /// not fit.
    fn try_forward(&self, x: &Tensor) -> Result<Tensor>;

    /// The module's own parameters and buffers (not its children's), in registration order.
    fn own_tensors(&self) -> Vec<(&'static str, Kind, &Tensor)> {
        Vec::new()
    }

    /// Mutable access to the same tensors as [`Module::own_tensors`], in the same order.
    fn own_tensors_mut(&mut self) -> Vec<(&'static str, Kind, &mut Tensor)> {
        Vec::new()
    }

    /// The direct submodules with their names (`"fc1"`, or `"0"` in a [`Sequential`]).
    fn children(&self) -> Vec<(String, &dyn Module)> {
        Vec::new()
    }

    /// Mutable access to the same submodules as [`Module::children`].
    fn children_mut(&mut self) -> Vec<(String, &mut dyn Module)> {
        Vec::new()
    }

    /// torch's `module.training`.
    fn is_training(&self) -> bool;

    /// Set this module's own mode; [`Module::train`] and [`Module::eval`] set it for the
    /// whole tree.
    fn set_training(&mut self, training: bool);

    /// One line describing the module, like torch's repr (`Linear(in_features=3, ...)`).
    fn describe(&self) -> String {
        format!("{}()", self.type_name())
    }

    /// The forward pass.
    ///
    /// # Panics
    /// With the message of [`Module::try_forward`]'s error.
    #[track_caller]
    fn forward(&self, x: &Tensor) -> Tensor {
        // `catch_result`: an op inside `try_forward` that raises (a layer written with
        // panicking ops) is reported here, at the caller's line, like the layer's own errors.
        crate::error::catch_result(|| self.try_forward(x)).or_raise()
    }

    /// Every parameter and buffer of the tree with its full name, in registration order.
    /// A tensor registered under two names (tied weights) appears under both.
    fn named_tensors(&self) -> Vec<(String, Kind, Tensor)> {
        let mut out = Vec::new();
        walk(self, "", &mut |name, kind, t| {
            out.push((name, kind, t.clone()))
        });
        out
    }

    /// torch's `dict(module.named_parameters())`: each parameter once, under its first name
    /// (a tied copy is left out, as torch's `remove_duplicate=True` does).
    fn named_parameters(&self) -> StateDict {
        unique_of_kind(self, Kind::Parameter)
    }

    /// torch's `dict(module.named_buffers())`.
    fn named_buffers(&self) -> StateDict {
        unique_of_kind(self, Kind::Buffer)
    }

    /// Parameters and buffers under every name (torch's `state_dict()`, tied names included).
    fn state_dict(&self) -> StateDict {
        self.named_tensors()
            .into_iter()
            .map(|(n, _, t)| (n, t))
            .collect()
    }

    /// The number of scalar parameters (each tied tensor counted once).
    fn num_parameters(&self) -> usize {
        self.named_parameters().values().map(Tensor::numel).sum()
    }

    /// Training mode for the whole tree (dropout active).
    fn train(&mut self) {
        set_mode(self, true);
    }

    /// Evaluation mode for the whole tree (dropout off).
    fn eval(&mut self) {
        set_mode(self, false);
    }

    /// Replace tensors by name, like torch's `load_state_dict`. Tied names stay tied; with
    /// `strict`, the keys must be exactly the module's names.
    ///
    /// # Errors
    /// An unknown key, a missing key under `strict`, tied names given different tensors, or
    /// a tensor whose shape differs from the one it replaces.
    fn load_state_dict(&mut self, dict: &StateDict, strict: bool) -> Result<()>
    where
        Self: Sized,
    {
        let given = dict.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        functional_call::replace_tensors(
            self,
            given,
            CallOpts::new().strict(strict),
            "load_state_dict",
        )
    }

    /// Convert every floating-point tensor to `dtype` (torch's `module.to(dtype)`), keeping
    /// tied tensors tied.
    fn to_dtype(&mut self, dtype: DType)
    where
        Self: Sized,
    {
        let mut done: Vec<(Tensor, Tensor)> = Vec::new();
        walk_mut(self, "", &mut |_, _, t| {
            if !t.dtype().is_float() {
                return;
            }
            let new = match done.iter().find(|(old, _)| old.is_same(t)) {
                Some((_, new)) => new.clone(),
                None => {
                    let new = t.to_dtype(dtype);
                    done.push((t.clone(), new.clone()));
                    new
                }
            };
            *t = new;
        });
    }

    /// Move every tensor, parameters and buffers, to `device` (torch's `module.to(device)`),
    /// keeping tied tensors tied.
    ///
    /// # Panics
    /// With [`crate::Error::Device`] if the device cannot be used.
    #[track_caller]
    fn to_device(&mut self, device: crate::Device)
    where
        Self: Sized,
    {
        let mut done: Vec<(Tensor, Tensor)> = Vec::new();
        walk_mut(self, "", &mut |_, _, t| {
            let new = match done.iter().find(|(old, _)| old.is_same(t)) {
                Some((_, new)) => new.clone(),
                None => {
                    let new = t.to(device);
                    done.push((t.clone(), new.clone()));
                    new
                }
            };
            *t = new;
        });
    }
}

/// Implements [`Module::is_training`] and [`Module::set_training`] inside an
/// `impl Module` block, on a `training: bool` field (or the field named).
///
/// ```
/// # use cotangent::nn::{Linear, Module};
/// # use cotangent::{Result, Tensor};
/// #[derive(Clone)]
/// struct Mlp { fc1: Linear, fc2: Linear, training: bool }
///
/// impl Module for Mlp {
///     fn type_name(&self) -> &'static str { "Mlp" }
///     fn try_forward(&self, x: &Tensor) -> Result<Tensor> {
///         self.fc2.try_forward(&self.fc1.try_forward(x)?.relu())
///     }
///     cotangent::module_children!(fc1, fc2);
///     cotangent::module_training_flag!();
/// }
///
/// let m = Mlp { fc1: Linear::new(2, 4), fc2: Linear::new(4, 1), training: true };
/// assert_eq!(m.named_parameters().len(), 4);
/// assert!(m.named_parameters().contains_key("fc2.bias"));
/// ```
#[macro_export]
macro_rules! module_training_flag {
    () => {
        $crate::module_training_flag!(training);
    };
    ($field:ident) => {
        fn is_training(&self) -> bool {
            self.$field
        }
        fn set_training(&mut self, training: bool) {
            self.$field = training;
        }
    };
}

/// Implements [`Module::children`] and [`Module::children_mut`] inside an `impl Module`
/// block, for fields that are modules, named after the fields (torch's attribute names).
/// See [`module_training_flag!`](crate::module_training_flag) for an example.
#[macro_export]
macro_rules! module_children {
    ($($field:ident),* $(,)?) => {
        fn children(&self) -> Vec<(String, &dyn $crate::nn::Module)> {
            vec![$((stringify!($field).to_string(), &self.$field as &dyn $crate::nn::Module)),*]
        }
        fn children_mut(&mut self) -> Vec<(String, &mut dyn $crate::nn::Module)> {
            vec![$((
                stringify!($field).to_string(),
                &mut self.$field as &mut dyn $crate::nn::Module
            )),*]
        }
    };
}

/// Implements [`Module::own_tensors`] and [`Module::own_tensors_mut`] inside an
/// `impl Module` block for `Tensor` fields, each marked `Parameter` or `Buffer`:
/// `module_tensors!(Parameter scale, Buffer running_mean)`.
///
/// ```
/// # use cotangent::nn::Module;
/// # use cotangent::{Result, Tensor};
/// #[derive(Clone)]
/// struct Scale { scale: Tensor, count: Tensor, training: bool }
///
/// impl Module for Scale {
///     fn type_name(&self) -> &'static str { "Scale" }
///     fn try_forward(&self, x: &Tensor) -> Result<Tensor> { Ok(x * &self.scale) }
///     cotangent::module_tensors!(Parameter scale, Buffer count);
///     cotangent::module_training_flag!();
/// }
///
/// let m = Scale { scale: Tensor::scalar(2.0f32), count: Tensor::scalar(0i64), training: true };
/// assert_eq!(m.named_buffers().len(), 1);
/// ```
#[macro_export]
macro_rules! module_tensors {
    ($($kind:ident $field:ident),* $(,)?) => {
        fn own_tensors(&self) -> Vec<(&'static str, $crate::nn::Kind, &$crate::Tensor)> {
            vec![$((stringify!($field), $crate::nn::Kind::$kind, &self.$field)),*]
        }
        fn own_tensors_mut(&mut self) -> Vec<(&'static str, $crate::nn::Kind, &mut $crate::Tensor)> {
            vec![$((stringify!($field), $crate::nn::Kind::$kind, &mut self.$field)),*]
        }
    };
}

/// Cloning of boxed modules (implemented for every `Module + Clone`), so a [`Sequential`]
/// of `Box<dyn Module>` is itself `Clone`.
pub trait CloneModule {
    /// A boxed copy; tensors are shared, not copied.
    fn clone_box(&self) -> Box<dyn Module>;
}

impl<T: Module + Clone> CloneModule for T {
    fn clone_box(&self) -> Box<dyn Module> {
        Box::new(self.clone())
    }
}

impl Clone for Box<dyn Module> {
    fn clone(&self) -> Self {
        (**self).clone_box()
    }
}

impl Module for Box<dyn Module> {
    fn type_name(&self) -> &'static str {
        (**self).type_name()
    }
    fn try_forward(&self, x: &Tensor) -> Result<Tensor> {
        (**self).try_forward(x)
    }
    fn own_tensors(&self) -> Vec<(&'static str, Kind, &Tensor)> {
        (**self).own_tensors()
    }
    fn own_tensors_mut(&mut self) -> Vec<(&'static str, Kind, &mut Tensor)> {
        (**self).own_tensors_mut()
    }
    fn children(&self) -> Vec<(String, &dyn Module)> {
        (**self).children()
    }
    fn children_mut(&mut self) -> Vec<(String, &mut dyn Module)> {
        (**self).children_mut()
    }
    fn is_training(&self) -> bool {
        (**self).is_training()
    }
    fn set_training(&mut self, training: bool) {
        (**self).set_training(training)
    }
    fn describe(&self) -> String {
        (**self).describe()
    }
}

fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix}.{name}")
    }
}

/// Visit every tensor of the tree with its full name, parents' own tensors before children.
fn walk<M: Module + ?Sized>(m: &M, prefix: &str, f: &mut dyn FnMut(String, Kind, &Tensor)) {
    for (name, kind, t) in m.own_tensors() {
        f(join(prefix, name), kind, t);
    }
    for (name, child) in m.children() {
        walk(child, &join(prefix, &name), f);
    }
}

/// [`walk`] with mutable access, in the same order.
fn walk_mut<M: Module + ?Sized>(
    m: &mut M,
    prefix: &str,
    f: &mut dyn FnMut(String, Kind, &mut Tensor),
) {
    for (name, kind, t) in m.own_tensors_mut() {
        f(join(prefix, name), kind, t);
    }
    for (name, child) in m.children_mut() {
        walk_mut(child, &join(prefix, &name), f);
    }
}

/// Set the training flag of `m` and of every module below it.
fn set_mode<M: Module + ?Sized>(m: &mut M, training: bool) {
    m.set_training(training);
    for (_, child) in m.children_mut() {
        set_mode(child, training);
    }
}

fn unique_of_kind<M: Module + ?Sized>(m: &M, want: Kind) -> StateDict {
    let mut seen: Vec<Tensor> = Vec::new();
    let mut out = StateDict::new();
    walk(m, "", &mut |name, kind, t| {
        if seen.iter().any(|s| s.is_same(t)) {
            return;
        }
        seen.push(t.clone());
        if kind == want {
            out.insert(name, t.clone());
        }
    });
    out
}

/// The error of a layer given input it cannot take.
fn input_error(layer: &'static str, describe: String, expected: &str, shape: &[usize]) -> Error {
    Error::shape(
        layer,
        format!("{describe} expected {expected}, but got input of shape {shape:?}"),
    )
}
