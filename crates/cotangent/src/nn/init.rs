//! Parameter initialisation, torch.nn.init's, drawing from the global generator (seed it
//! with [`crate::manual_seed`]). Tensors are `f32`, torch's default dtype.

use crate::array::DType;
use crate::primitives::random::{rand, randn};
use crate::trace::Tensor;

/// `torch.nn.init.uniform_`: values uniform in `[low, high)`.
///
/// ```
/// # use cotangent::nn::init;
/// let w = init::uniform(&[100], -0.5, 0.5).to_vec::<f32>();
/// assert!(w.iter().all(|v| (-0.5..0.5).contains(v)));
/// ```
#[track_caller]
pub fn uniform(shape: &[usize], low: f64, high: f64) -> Tensor {
    rand(shape, DType::F32) * (high - low) + low
}

/// `torch.nn.init.normal_`: values from `N(mean, std²)`.
#[track_caller]
pub fn normal(shape: &[usize], mean: f64, std: f64) -> Tensor {
    randn(shape, DType::F32) * std + mean
}

/// `torch.nn.init.kaiming_uniform_(w, a=sqrt(5))` with `fan_in` given: what `Linear` and
/// `Conv2d` use for their weights, which works out to uniform in `±1/sqrt(fan_in)`.
#[track_caller]
pub fn kaiming_uniform(shape: &[usize], fan_in: usize) -> Tensor {
    kaiming_uniform_with(shape, fan_in, 5f64.sqrt())
}

/// `torch.nn.init.kaiming_uniform_(w, a)` (leaky-ReLU gain `sqrt(2 / (1 + a²))`, fan-in
/// mode): uniform in `±gain * sqrt(3 / fan_in)`.
#[track_caller]
pub fn kaiming_uniform_with(shape: &[usize], fan_in: usize, a: f64) -> Tensor {
    let gain = (2.0 / (1.0 + a * a)).sqrt();
    let bound = if fan_in == 0 {
        0.0
    } else {
        gain * (3.0 / fan_in as f64).sqrt()
    };
    uniform(shape, -bound, bound)
}

/// The bound `1/sqrt(fan_in)` torch uses for `Linear` and `Conv2d` biases (0 if `fan_in`
/// is 0).
pub(crate) fn fan_in_bound(fan_in: usize) -> f64 {
    if fan_in == 0 {
        0.0
    } else {
        1.0 / (fan_in as f64).sqrt()
    }
}
