//! Functional forms of the `nn` layers that are not single primitives (torch.nn.functional's
//! `layer_norm` and `dropout`), as composites.

use crate::error::{Error, OrRaise, Result, raise};
use crate::primitives::random::bernoulli;
use crate::testing::{OpInfo, RefArray, TestRng};
use crate::trace::Tensor;

/// torch's `F.layer_norm(x, normalized_shape, weight, bias, eps)`: normalise over the last
/// `normalized_shape.len()` dims with the biased variance, then scale and shift.
///
/// ```
/// # use cotangent::{Tensor, layer_norm};
/// let x = Tensor::new([[1.0f64, 3.0]]);
/// let y = layer_norm(&x, &[2], None, None, 0.0);
/// assert_eq!(y.to_vec::<f64>(), vec![-1.0, 1.0]);
/// ```
///
/// # Panics
/// With the message of [`try_layer_norm`]'s error.
#[track_caller]
pub fn layer_norm(
    x: &Tensor,
    normalized_shape: &[usize],
    weight: Option<&Tensor>,
    bias: Option<&Tensor>,
    eps: f64,
) -> Tensor {
    try_layer_norm(x, normalized_shape, weight, bias, eps).or_raise()
}

/// Like [`layer_norm`], returning an error instead of panicking.
///
/// # Errors
/// If `x`'s trailing dims are not `normalized_shape` (torch's message), or `weight`/`bias`
/// are not of shape `normalized_shape`.
pub fn try_layer_norm(
    x: &Tensor,
    normalized_shape: &[usize],
    weight: Option<&Tensor>,
    bias: Option<&Tensor>,
    eps: f64,
) -> Result<Tensor> {
    let k = normalized_shape.len();
    let shape = x.shape();
    if k == 0 || shape.len() < k || shape[shape.len() - k..] != *normalized_shape {
        return Err(Error::shape(
            "layer_norm",
            format!(
                "Given normalized_shape={normalized_shape:?}, expected input with shape \
                 [*, {}], but got input of size {shape:?}",
                normalized_shape
                    .iter()
                    .map(|d| d.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    }
    for (what, t) in [("weight", weight), ("bias", bias)] {
        if let Some(t) = t
            && t.shape() != normalized_shape
        {
            return Err(Error::shape(
                "layer_norm",
                format!(
                    "{what} has shape {:?}, expected normalized_shape {normalized_shape:?}",
                    t.shape()
                ),
            ));
        }
    }
    let dims: Vec<isize> = (1..=k as isize).map(|i| -i).collect();
    let mean = x.mean_dim(&dims, true);
    let centered = x - &mean;
    let var = (&centered * &centered).mean_dim(&dims, true);
    let mut y = &centered * &(var + eps).rsqrt();
    if let Some(w) = weight {
        y = &y * w;
    }
    if let Some(b) = bias {
        y = &y + b;
    }
    Ok(y)
}

/// torch's `F.dropout(x, p, training)`: in training, zero each element with probability `p`
/// and scale the rest by `1 / (1 - p)`; otherwise return `x`. Draws random numbers, so under
/// `vmap` it needs `randomness` set to `"different"` or `"same"`.
///
/// ```
/// # use cotangent::{Tensor, dropout, manual_seed};
/// manual_seed(0);
/// let y = dropout(&Tensor::ones(&[1000]), 0.5, true);
/// let kept = y.to_vec::<f32>().iter().filter(|&&v| v == 2.0).count();
/// assert!((400..600).contains(&kept));
/// ```
///
/// # Panics
/// Unless `0 <= p <= 1`, with torch's message.
#[track_caller]
pub fn dropout(x: &Tensor, p: f64, training: bool) -> Tensor {
    if !(0.0..=1.0).contains(&p) {
        raise(Error::value(
            "dropout",
            format!("dropout probability has to be between 0 and 1, but got {p}"),
        ));
    }
    if !training || p == 0.0 {
        return x.clone();
    }
    if p == 1.0 {
        return x * 0.0;
    }
    let keep = bernoulli(&x.full_like(1.0 - p));
    x * &keep * (1.0 / (1.0 - p))
}

/// Reference layer norm over the last two dims of a `[n, 3, 4]` input, with weight and bias.
pub(crate) fn layer_norm_reference(r: &[RefArray]) -> RefArray {
    let (x, w, b) = (&r[0], &r[1], &r[2]);
    RefArray::from_fn(&x.shape, |idx| {
        let (i, j, l) = (idx[0], idx[1], idx[2]);
        let vals: Vec<f64> = (0..3)
            .flat_map(|a| (0..4).map(move |c| (a, c)))
            .map(|(a, c)| x.get(&[i, a, c]))
            .collect();
        let mean = vals.iter().sum::<f64>() / 12.0;
        let var = vals.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / 12.0;
        (x.get(&[i, j, l]) - mean) / (var + 1e-5).sqrt() * w.get(&[j, l]) + b.get(&[j, l])
    })
}

pub(crate) fn op_info() -> Vec<OpInfo> {
    vec![OpInfo::new(
        "layer_norm",
        |a| layer_norm(&a[0], &[3, 4], Some(&a[1]), Some(&a[2]), 1e-5),
        layer_norm_reference,
        |rng: &mut TestRng| {
            vec![vec![
                rng.tensor(&[2, 3, 4], -2.0, 2.0),
                rng.tensor(&[3, 4], 0.5, 1.5),
                rng.tensor(&[3, 4], -1.0, 1.0),
            ]]
        },
    )]
}
