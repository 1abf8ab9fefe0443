//! Losses, as composites: `cross_entropy`, `nll_loss`, `mse_loss` (torch.nn.functional's,
//! with `reduction="mean"`).

use crate::array::DType;
use crate::testing::{OpInfo, RefArray, TestRng};
use crate::trace::Tensor;

/// torch's `F.nll_loss(log_probs, target)`: `-mean(log_probs[i, target[i]])` for
/// `log_probs` of shape `[N, C]` and integer `target` of shape `[N]`.
///
/// # Panics
/// If the shapes do not fit, or a target is out of range.
#[track_caller]
pub fn nll_loss(log_probs: &Tensor, target: &Tensor) -> Tensor {
    assert!(
        log_probs.dim() == 2 && target.dim() == 1 && target.shape()[0] == log_probs.shape()[0],
        "nll_loss: expected input [N, C] and target [N], got {:?} and {:?}",
        log_probs.shape(),
        target.shape()
    );
    assert!(
        target.dtype() == DType::I64,
        "nll_loss: expected target of dtype torch.int64, got {}",
        target.dtype()
    );
    let picked = log_probs.take_along_dim(&target.unsqueeze(-1), Some(-1));
    -picked.mean()
}

/// torch's `F.cross_entropy(logits, target)` for class indices: `nll_loss(log_softmax(logits))`.
///
/// ```
/// # use cotangent::{Tensor, cross_entropy};
/// let logits = Tensor::new([[0.0f64, 0.0]]);
/// let loss = cross_entropy(&logits, &Tensor::new(vec![1i64]));
/// assert!((loss.item::<f64>() - 2f64.ln()).abs() < 1e-12);
/// ```
#[track_caller]
pub fn cross_entropy(logits: &Tensor, target: &Tensor) -> Tensor {
    nll_loss(&logits.log_softmax(-1), target)
}

/// torch's `F.mse_loss(input, target)`: `mean((input - target)²)`.
#[track_caller]
pub fn mse_loss(input: &Tensor, target: &Tensor) -> Tensor {
    let e = input - target;
    (&e * &e).mean()
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
