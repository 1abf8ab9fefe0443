//! Losses, as composites: `cross_entropy`, `nll_loss`, `mse_loss` (torch.nn.functional's,
//! with `reduction="mean"`).

use crate::array::DType;
use crate::error::{Error, OrRaise, Result, catch};
use crate::testing::{OpInfo, RefArray, TestRng};
use crate::trace::Tensor;

/// torch's `F.nll_loss(log_probs, target)`: `-mean(log_probs[i, target[i]])` for
/// `log_probs` of shape `[N, C]` and integer `target` of shape `[N]`.
///
/// # Panics
/// If the shapes do not fit, or a target is not a class index in `[0, C)`.
#[track_caller]
pub fn nll_loss(log_probs: &Tensor, target: &Tensor) -> Tensor {
    try_nll_loss(log_probs, target).or_raise()
}

/// [`nll_loss`], returning the error instead of panicking.
pub fn try_nll_loss(log_probs: &Tensor, target: &Tensor) -> Result<Tensor> {
    if log_probs.dim() != 2 {
        return Err(Error::shape(
            "nll_loss",
            format!(
                "expected input of shape [N, C] (a batch of log-probabilities over C classes), \
                 got {:?}",
                log_probs.shape()
            ),
        ));
    }
    if target.dtype() != DType::I64 {
        let hint = if target.dtype().is_float() {
            "; for class probabilities use cross_entropy"
        } else {
            ""
        };
        return Err(Error::dtype(
            "nll_loss",
            format!(
                "expected target of dtype torch.int64 (class indices), got {}{hint}",
                target.dtype()
            ),
        ));
    }
    if target.shape() != &log_probs.shape()[..1] {
        return Err(Error::shape(
            "nll_loss",
            format!(
                "Expected input batch_size ({}) to match target batch_size ({}): input {:?}, \
                 target {:?} (one class index per row)",
                log_probs.shape()[0],
                target.shape().first().copied().unwrap_or(0),
                log_probs.shape(),
                target.shape()
            ),
        ));
    }
    let classes = log_probs.shape()[1];
    let out_of_range = |detail: String| {
        Error::index(
            "nll_loss",
            format!("{detail}: targets must be class indices in [0, {classes})"),
        )
    };
    // Eager and under grad the targets can be read: name the offending one, as torch does.
    // Under vmap they cannot, and on a GPU reading them would make the host wait each step;
    // the gather below finds it instead (on a GPU, at the next read: cuda/checks.rs).
    if let Ok(values) = target.try_array()
        && values.device() == crate::Device::Cpu
        && let Some(&bad) = values
            .to_vec::<i64>()
            .iter()
            .find(|&&t| t < 0 || t as usize >= classes)
    {
        return Err(out_of_range(format!("Target {bad} is out of bounds")));
    }
    let picked = catch(|| log_probs.take_along_dim(&target.unsqueeze(-1), Some(-1))).map_err(
        |e| match e {
            Error::Index { msg, .. } => out_of_range(format!("a target is out of bounds ({msg})")),
            other => other,
        },
    )?;
    Ok(-picked.mean())
}

/// Options of [`cross_entropy_with`], torch's keyword arguments.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct CrossEntropyOpts {
    /// Mix the target with the uniform distribution over the classes: the target becomes
    /// `(1 - label_smoothing) * target + label_smoothing / C` (default 0).
    pub label_smoothing: f64,
}

impl CrossEntropyOpts {
    /// Defaults: no label smoothing.
    pub fn new() -> Self {
        Self::default()
    }

    /// Set `label_smoothing`, in `[0, 1]`.
    pub fn label_smoothing(mut self, epsilon: f64) -> Self {
        self.label_smoothing = epsilon;
        self
    }
}

/// torch's `F.cross_entropy(logits, target)`: the mean over the batch of the cross-entropy
/// between `softmax(logits)` and the target, for `logits` of shape `[N, C]` and a target of
/// class indices (`i64`, shape `[N]`) or of class probabilities (float, shape `[N, C]`).
///
/// ```
/// # use cotangent::{Tensor, cross_entropy};
/// let logits = Tensor::new([[0.0f64, 0.0]]);
/// let loss = cross_entropy(&logits, &Tensor::new(vec![1i64]));
/// assert!((loss.item::<f64>() - 2f64.ln()).abs() < 1e-12);
/// let soft = cross_entropy(&logits, &Tensor::new([[0.25f64, 0.75]]));
/// assert!((soft.item::<f64>() - 2f64.ln()).abs() < 1e-12);
/// ```
///
/// # Panics
/// If the shapes or dtypes do not fit, or a class index is out of range.
#[track_caller]
pub fn cross_entropy(logits: &Tensor, target: &Tensor) -> Tensor {
    try_cross_entropy_with(logits, target, CrossEntropyOpts::default()).or_raise()
}

/// torch's `F.cross_entropy(logits, target, label_smoothing=...)`.
///
/// ```
/// # use cotangent::{CrossEntropyOpts, Tensor, cross_entropy_with};
/// let logits = Tensor::new([[2.0f64, 0.0, -1.0]]);
/// let opts = CrossEntropyOpts::new().label_smoothing(0.1);
/// let by_index = cross_entropy_with(&logits, &Tensor::new(vec![0i64]), opts);
/// // The same as class probabilities 0.9 + 0.1 / 3 on class 0 and 0.1 / 3 elsewhere.
/// let p = Tensor::new([[0.9 + 0.1 / 3.0, 0.1 / 3.0, 0.1 / 3.0]]);
/// let by_probs = cross_entropy_with(&logits, &p, cotangent::CrossEntropyOpts::new());
/// assert!(by_index.allclose(&by_probs, 1e-12, 0.0));
/// ```
#[track_caller]
pub fn cross_entropy_with(logits: &Tensor, target: &Tensor, opts: CrossEntropyOpts) -> Tensor {
    try_cross_entropy_with(logits, target, opts).or_raise()
}

/// [`cross_entropy_with`], returning the error instead of panicking.
pub fn try_cross_entropy_with(
    logits: &Tensor,
    target: &Tensor,
    opts: CrossEntropyOpts,
) -> Result<Tensor> {
    let epsilon = opts.label_smoothing;
    if !(0.0..=1.0).contains(&epsilon) {
        return Err(Error::value(
            "cross_entropy",
            format!("label_smoothing must be between 0.0 and 1.0. Got: {epsilon}"),
        ));
    }
    if logits.dim() != 2 {
        return Err(Error::shape(
            "cross_entropy",
            format!(
                "expected logits of shape [N, C] (a batch of scores over C classes), got {:?}",
                logits.shape()
            ),
        ));
    }
    if !logits.dtype().is_float() {
        return Err(Error::dtype(
            "cross_entropy",
            format!("expected float logits, got {}", logits.dtype()),
        ));
    }
    let log_probs = logits.log_softmax(-1);
    let classes = logits.shape()[1] as f64;
    if target.dtype().is_float() {
        // Class probabilities: -sum_c p_c log q_c, averaged over the batch.
        if target.shape() != logits.shape() {
            return Err(Error::shape(
                "cross_entropy",
                format!(
                    "a float target holds class probabilities and must have the logits' shape \
                     {:?}, got {:?}; for class indices use an int64 target of shape [N]",
                    logits.shape(),
                    target.shape()
                ),
            ));
        }
        let target = if epsilon > 0.0 {
            target * (1.0 - epsilon) + epsilon / classes
        } else {
            target.clone()
        };
        let per_row = -(&log_probs * &target).sum_dim(&[-1], false);
        return Ok(per_row.mean());
    }
    let nll = try_nll_loss(&log_probs, target).map_err(|e| match e {
        Error::Shape { msg, .. } => Error::shape("cross_entropy", msg),
        Error::DType { msg, .. } => Error::dtype(
            "cross_entropy",
            format!("{msg}; a float target of the logits' shape is read as class probabilities"),
        ),
        Error::Index { msg, .. } => Error::index("cross_entropy", msg),
        other => other,
    })?;
    if epsilon == 0.0 {
        return Ok(nll);
    }
    // torch: (1 - eps) * nll + eps * mean over classes of -log q, averaged over the batch.
    let smooth = -log_probs.sum_dim(&[-1], false).mean() / classes;
    Ok(nll * (1.0 - epsilon) + smooth * epsilon)
}

/// torch's `F.mse_loss(input, target)`: `mean((input - target)²)`.
#[track_caller]
pub fn mse_loss(input: &Tensor, target: &Tensor) -> Tensor {
    // Checked here so that a mismatch names mse_loss, not its `sub`.
    crate::primitives::frontend::try_broadcast_shapes("mse_loss", input.shape(), target.shape())
        .or_raise();
    let e = input - target;
    (&e * &e).mean()
}

/// ln sum_j e^{x[i, j]} for row `i` of a `[N, C]` reference array.
fn log_sum_exp_row(x: &RefArray, i: usize, c: usize) -> f64 {
    let m = (0..c)
        .map(|j| x.get(&[i, j]))
        .fold(f64::NEG_INFINITY, f64::max);
    m + (0..c).map(|j| (x.get(&[i, j]) - m).exp()).sum::<f64>().ln()
}

pub(crate) fn op_info() -> Vec<OpInfo> {
    let ce_ref = |r: &[RefArray]| {
        let (n, c) = (r[0].shape[0], r[0].shape[1]);
        let mut total = 0.0;
        for i in 0..n {
            let m = (0..c)
                .map(|j| r[0].get(&[i, j]))
                .fold(f64::NEG_INFINITY, f64::max);
            let lse = m
                + (0..c)
                    .map(|j| (r[0].get(&[i, j]) - m).exp())
                    .sum::<f64>()
                    .ln();
            total += lse - r[0].get(&[i, r[1].get(&[i]) as usize]);
        }
        RefArray {
            shape: vec![],
            data: vec![total / n as f64],
        }
    };
    vec![
        OpInfo::new(
            "cross_entropy",
            |a| cross_entropy(&a[0], &a[1]),
            ce_ref,
            |rng: &mut TestRng| vec![vec![rng.tensor(&[4, 5], -2.0, 2.0), rng.indices(&[4], 5)]],
        ),
        OpInfo::new(
            "cross_entropy_smoothed",
            |a| cross_entropy_with(&a[0], &a[1], CrossEntropyOpts::new().label_smoothing(0.2)),
            |r| {
                let (n, c) = (r[0].shape[0], r[0].shape[1]);
                let mut total = 0.0;
                for i in 0..n {
                    let lse = log_sum_exp_row(&r[0], i, c);
                    let target = r[1].get(&[i]) as usize;
                    for j in 0..c {
                        let p = if j == target { 0.8 } else { 0.0 } + 0.2 / c as f64;
                        total -= p * (r[0].get(&[i, j]) - lse);
                    }
                }
                RefArray {
                    shape: vec![],
                    data: vec![total / n as f64],
                }
            },
            |rng: &mut TestRng| vec![vec![rng.tensor(&[4, 5], -2.0, 2.0), rng.indices(&[4], 5)]],
        ),
        OpInfo::new(
            "cross_entropy_probs",
            |a| cross_entropy(&a[0], &a[1].softmax(-1)),
            |r| {
                let (n, c) = (r[0].shape[0], r[0].shape[1]);
                let mut total = 0.0;
                for i in 0..n {
                    let lse = log_sum_exp_row(&r[0], i, c);
                    let t_lse = log_sum_exp_row(&r[1], i, c);
                    for j in 0..c {
                        let p = (r[1].get(&[i, j]) - t_lse).exp();
                        total -= p * (r[0].get(&[i, j]) - lse);
                    }
                }
                RefArray {
                    shape: vec![],
                    data: vec![total / n as f64],
                }
            },
            |rng: &mut TestRng| {
                vec![vec![
                    rng.tensor(&[3, 4], -2.0, 2.0),
                    rng.tensor(&[3, 4], -1.0, 1.0),
                ]]
            },
        ),
        OpInfo::new(
            "mse_loss",
            |a| mse_loss(&a[0], &a[1]),
            |r| {
                let n = r[0].data.len() as f64;
                let s: f64 = r[0]
                    .data
                    .iter()
                    .zip(&r[1].data)
                    .map(|(a, b)| (a - b) * (a - b))
                    .sum();
                RefArray {
                    shape: vec![],
                    data: vec![s / n],
                }
            },
            |rng: &mut TestRng| {
                vec![vec![
                    rng.tensor(&[3, 4], -1.0, 1.0),
                    rng.tensor(&[3, 4], -1.0, 1.0),
                ]]
            },
        ),
    ]
}
