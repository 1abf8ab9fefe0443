//! Optimisers as pure functions: `step(params, grads, state) -> (params, state)` over any
//! parameter tree (a state dict, a `#[derive(Tree)]` struct, a `Vec`). Nothing is updated in
//! place, so a step can be vmapped over an ensemble or differentiated through (MAML), and
//! the states are pytrees themselves.
//!
//! The update rules are torch.optim's, step for step:
//!
//! ```
//! use cotangent::nn::optim::Sgd;
//! use cotangent::{Tensor, grad};
//! let opt = Sgd::new(0.1).momentum(0.9);
//! let mut x = Tensor::new([1.0f64]);
//! let mut state = opt.init(&x);
//! for _ in 0..100 {
//!     let g = grad(|x: Tensor| (&x * &x).sum())(x.clone());
//!     (x, state) = opt.step(&x, &g, &state);
//! }
//! assert!(x.abs().item::<f64>() < 1e-2);
//! ```

use crate::error::{Error, raise};
use crate::trace::Tensor;
use crate::tree::Tree;
use crate::tree::TreeDef;

/// torch's `optim.SGD(lr, momentum=0, dampening=0, weight_decay=0, nesterov=False)`.
#[derive(Clone, Copy, Debug)]
pub struct Sgd {
    lr: f64,
    momentum: f64,
    dampening: f64,
    weight_decay: f64,
    nesterov: bool,
}

/// The momentum buffers of [`Sgd`] (none until the first step, as in torch).
#[derive(Clone, Tree)]
pub struct SgdState<T: Tree> {
    /// One buffer per parameter, shaped like the parameters.
    pub momentum_buffer: Option<T>,
}

impl Sgd {
    /// Plain gradient descent with learning rate `lr`.
    ///
    /// # Panics
    /// If `lr` is negative or NaN (torch's "Invalid learning rate").
    #[track_caller]
    pub fn new(lr: f64) -> Sgd {
        check_non_negative("Sgd", "learning rate", lr);
        Sgd {
            lr,
            momentum: 0.0,
            dampening: 0.0,
            weight_decay: 0.0,
            nesterov: false,
        }
    }

    /// Heavy-ball momentum: `buf = momentum * buf + (1 - dampening) * g`.
    #[track_caller]
    pub fn momentum(mut self, momentum: f64) -> Sgd {
        check_non_negative("Sgd", "momentum value", momentum);
        self.momentum = momentum;
        self
    }

    /// Dampening of the momentum update.
    pub fn dampening(mut self, dampening: f64) -> Sgd {
        self.dampening = dampening;
        self
    }

    /// L2 penalty: `g += weight_decay * p`.
    #[track_caller]
    pub fn weight_decay(mut self, weight_decay: f64) -> Sgd {
        check_non_negative("Sgd", "weight_decay value", weight_decay);
        self.weight_decay = weight_decay;
        self
    }

    /// Nesterov momentum: step along `g + momentum * buf`.
    pub fn nesterov(mut self, nesterov: bool) -> Sgd {
        self.nesterov = nesterov;
        self
    }

    /// The state before the first step.
    pub fn init<T: Tree>(&self, _params: &T) -> SgdState<T> {
        SgdState {
            momentum_buffer: None,
        }
    }

    /// One step: the new parameters and state.
    ///
    /// # Panics
    /// If `grads` is not shaped like `params`.
    #[track_caller]
    pub fn step<T: Tree>(&self, params: &T, grads: &T, state: &SgdState<T>) -> (T, SgdState<T>) {
        if self.nesterov && (self.momentum <= 0.0 || self.dampening != 0.0) {
            raise(Error::value(
                "Sgd.step",
                "Nesterov momentum requires a momentum and zero dampening",
            ));
        }
        let (p, def) = params.flatten();
        let g = leaves_like("Sgd.step", "grads", grads, &def, &p);
        let g: Vec<Tensor> = if self.weight_decay != 0.0 {
            g.iter()
                .zip(&p)
                .map(|(g, p)| g + &(p * self.weight_decay))
                .collect()
        } else {
            g
        };
        if self.momentum == 0.0 {
            let new = p.iter().zip(&g).map(|(p, g)| p - &(g * self.lr)).collect();
            return (
                rebuild(&def, new),
                SgdState {
                    momentum_buffer: None,
                },
            );
        }
        let bufs: Vec<Tensor> = match &state.momentum_buffer {
            None => g.clone(),
            Some(b) => leaves_like("Sgd.step", "state", b, &def, &p)
                .iter()
                .zip(&g)
                .map(|(b, g)| &(b * self.momentum) + &(g * (1.0 - self.dampening)))
                .collect(),
        };
        let new = p
            .iter()
            .zip(&g)
            .zip(&bufs)
            .map(|((p, g), b)| {
                let d = if self.nesterov {
                    g + &(b * self.momentum)
                } else {
                    b.clone()
                };
                p - &(d * self.lr)
            })
            .collect();
        (
            rebuild(&def, new),
            SgdState {
                momentum_buffer: Some(rebuild(&def, bufs)),
            },
        )
    }
}

/// torch's `optim.Adam(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0)`.
#[derive(Clone, Copy, Debug)]
pub struct Adam {
    lr: f64,
    betas: (f64, f64),
    eps: f64,
    weight_decay: f64,
}

/// The moment estimates of [`Adam`] and its step count.
#[derive(Clone, Tree)]
pub struct AdamState<T: Tree> {
    /// Steps taken (a static leaf: never mapped or differentiated).
    pub step: usize,
    /// First moments, shaped like the parameters.
    pub exp_avg: T,
    /// Second moments, shaped like the parameters.
    pub exp_avg_sq: T,
}

impl Adam {
    /// Adam with learning rate `lr` and torch's other defaults.
    ///
    /// # Panics
    /// If `lr` is negative or NaN (torch's "Invalid learning rate").
    #[track_caller]
    pub fn new(lr: f64) -> Adam {
        check_non_negative("Adam", "learning rate", lr);
        Adam {
            lr,
            betas: (0.9, 0.999),
            eps: 1e-8,
            weight_decay: 0.0,
        }
    }

    /// The decay rates of the moment estimates.
    ///
    /// # Panics
    /// Unless both are in `[0, 1)` (torch's "Invalid beta parameter").
    #[track_caller]
    pub fn betas(mut self, beta1: f64, beta2: f64) -> Adam {
        for (i, beta) in [beta1, beta2].into_iter().enumerate() {
            if !(0.0..1.0).contains(&beta) {
                raise(Error::value(
                    "Adam",
                    format!("Invalid beta parameter at index {i}: {beta}"),
                ));
            }
        }
        self.betas = (beta1, beta2);
        self
    }

    /// The term added to the denominator.
    #[track_caller]
    pub fn eps(mut self, eps: f64) -> Adam {
        check_non_negative("Adam", "epsilon value", eps);
        self.eps = eps;
        self
    }

    /// L2 penalty added to the gradient (torch's Adam, not AdamW).
    #[track_caller]
    pub fn weight_decay(mut self, weight_decay: f64) -> Adam {
        check_non_negative("Adam", "weight_decay value", weight_decay);
        self.weight_decay = weight_decay;
        self
    }

    /// Zero moments, step 0.
    pub fn init<T: Tree>(&self, params: &T) -> AdamState<T> {
        let (p, def) = params.flatten();
        let zeros = || rebuild(&def, p.iter().map(Tensor::zeros_like).collect());
        AdamState {
            step: 0,
            exp_avg: zeros(),
            exp_avg_sq: zeros(),
        }
    }

    /// One step: the new parameters and state.
    ///
    /// # Panics
    /// If `grads` or the state are not shaped like `params`.
    #[track_caller]
    pub fn step<T: Tree>(&self, params: &T, grads: &T, state: &AdamState<T>) -> (T, AdamState<T>) {
        let (p, def) = params.flatten();
        let g = leaves_like("Adam.step", "grads", grads, &def, &p);
        let m = leaves_like("Adam.step", "state", &state.exp_avg, &def, &p);
        let v = leaves_like("Adam.step", "state", &state.exp_avg_sq, &def, &p);
        let (b1, b2) = self.betas;
        let t = state.step + 1;
        let bias1 = 1.0 - b1.powi(t as i32);
        let bias2 = 1.0 - b2.powi(t as i32);
        let (mut new_p, mut new_m, mut new_v) = (Vec::new(), Vec::new(), Vec::new());
        for (((p, g), m), v) in p.iter().zip(&g).zip(&m).zip(&v) {
            let g = if self.weight_decay != 0.0 {
                g + &(p * self.weight_decay)
            } else {
                g.clone()
            };
            let m = &(m * b1) + &(&g * (1.0 - b1));
            let v = &(v * b2) + &(&(&g * &g) * (1.0 - b2));
            let denom = (&v * (1.0 / bias2)).sqrt() + self.eps;
            new_p.push(p - &(&m / &denom * (self.lr / bias1)));
            new_m.push(m);
            new_v.push(v);
        }
        (
            rebuild(&def, new_p),
            AdamState {
                step: t,
                exp_avg: rebuild(&def, new_m),
                exp_avg_sq: rebuild(&def, new_v),
            },
        )
    }
}

/// The leaves of `tree`, which must have the parameters' structure and shapes (checked
/// here, so a mismatch names the optimiser rather than an arithmetic op inside the step).
#[track_caller]
fn leaves_like<T: Tree>(
    op: &'static str,
    what: &str,
    tree: &T,
    def: &TreeDef,
    params: &[Tensor],
) -> Vec<Tensor> {
    let (leaves, d) = tree.flatten();
    if !d.same_structure(def) {
        raise(Error::shape(
            op,
            format!("{what} must have the parameters' structure {def}, but has {d}"),
        ));
    }
    for (i, (leaf, param)) in leaves.iter().zip(params).enumerate() {
        if leaf.shape() != param.shape() {
            raise(Error::shape(
                op,
                format!(
                    "{what} leaf {i} has shape {:?}, but its parameter has shape {:?}; give \
                     each parameter a {what} of its own shape",
                    leaf.shape(),
                    param.shape()
                ),
            ));
        }
    }
    leaves
}

/// torch's constructor checks: `Invalid learning rate: -0.1`.
#[track_caller]
fn check_non_negative(op: &'static str, what: &str, value: f64) {
    if value.is_nan() || value < 0.0 {
        raise(Error::value(op, format!("Invalid {what}: {value}")));
    }
}

fn rebuild<T: Tree>(def: &TreeDef, leaves: Vec<Tensor>) -> T {
    T::unflatten(def, leaves).expect("leaves come from a tree of this structure")
}
