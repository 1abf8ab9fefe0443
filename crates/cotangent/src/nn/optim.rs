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
    pub fn new(lr: f64) -> Sgd {
        Sgd {
            lr,
            momentum: 0.0,
            dampening: 0.0,
            weight_decay: 0.0,
            nesterov: false,
        }
    }

    /// Heavy-ball momentum: `buf = momentum * buf + (1 - dampening) * g`.
    pub fn momentum(mut self, momentum: f64) -> Sgd {
        self.momentum = momentum;
        self
    }

    /// Dampening of the momentum update.
    pub fn dampening(mut self, dampening: f64) -> Sgd {
        self.dampening = dampening;
        self
    }

    /// L2 penalty: `g += weight_decay * p`.
    pub fn weight_decay(mut self, weight_decay: f64) -> Sgd {
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
        let (p, def) = params.flatten();
        let g = leaves_like("Sgd.step", "grads", grads, &def);
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
            Some(b) => leaves_like("Sgd.step", "state", b, &def)
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
    pub fn new(lr: f64) -> Adam {
        Adam {
            lr,
            betas: (0.9, 0.999),
            eps: 1e-8,
            weight_decay: 0.0,
        }
    }

    /// The decay rates of the moment estimates.
    pub fn betas(mut self, beta1: f64, beta2: f64) -> Adam {
        self.betas = (beta1, beta2);
        self
    }

    /// The term added to the denominator.
    pub fn eps(mut self, eps: f64) -> Adam {
        self.eps = eps;
        self
    }

    /// L2 penalty added to the gradient (torch's Adam, not AdamW).
    pub fn weight_decay(mut self, weight_decay: f64) -> Adam {
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
        let g = leaves_like("Adam.step", "grads", grads, &def);
        let m = leaves_like("Adam.step", "state", &state.exp_avg, &def);
        let v = leaves_like("Adam.step", "state", &state.exp_avg_sq, &def);
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

/// The leaves of `tree`, which must have the parameters' structure.
#[track_caller]
fn leaves_like<T: Tree>(op: &'static str, what: &str, tree: &T, def: &TreeDef) -> Vec<Tensor> {
    let (leaves, d) = tree.flatten();
    if !d.same_structure(def) {
        raise(Error::shape(
            op,
            format!("{what} must have the parameters' structure {def}, but has {d}"),
        ));
    }
    leaves
}

fn rebuild<T: Tree>(def: &TreeDef, leaves: Vec<Tensor>) -> T {
    T::unflatten(def, leaves).expect("leaves come from a tree of this structure")
}
