//! Elementwise composites: `relu`, `clamp`, `square`, `gelu`, `silu`, `softplus`,
//! `leaky_relu`, `hardtanh`, `log_sigmoid`. Each is written with public ops only, so every
//! transform handles it with no rules of its own; where a choice of formula decides the
//! derivative at a kink, the docs say which one it gives.
//!
//! Float parameters (`clamp` bounds, slopes) act like Python floats in torch: an integer
//! tensor is promoted to `f32`, a float tensor keeps its dtype.

use crate::array::DType;
use crate::error::{Error, OrRaise, raise};
use crate::primitives::logical_and::logical_and as and;
use crate::primitives::logical_or::logical_or;
use crate::primitives::unary::int_op_info;
use crate::primitives::{
    erf::erf_series, maximum::maximum, minimum::minimum, where_select::where_,
};
use crate::testing::{OpInfo, RefArray, S, XS, broadcast_shape};
use crate::trace::Tensor;

/// Rectified linear unit max(x, 0) (`torch.relu`), keeping the dtype. NaN stays NaN, and the
/// derivative at 0 is 0 (it is computed as `where(x <= 0, 0, x)`).
///
/// ```
/// # use cotangent::{Tensor, relu};
/// let x = Tensor::from_slice(&[-1.0f32, 0.0, 2.0], &[3]).unwrap();
/// assert_eq!(relu(&x).to_vec::<f32>(), vec![0.0, 0.0, 2.0]);
/// ```
#[track_caller]
pub fn relu(x: &Tensor) -> Tensor {
    where_(&x.le_scalar(0.0), &Tensor::scalar_of(0.0, x.dtype()), x)
}

/// `x` limited to `[min, max]` (`torch.clamp`; either bound may be `None`). If `min > max`
/// every element becomes `max`, as in torch. NaN stays NaN, and a NaN bound makes every
/// element NaN. An integer tensor is promoted to `f32` (the bounds are Python floats); use
/// [`clamp_tensor`] with `i64` bounds to keep it integer.
///
/// The derivative is torch 2.15's: 1 strictly inside the interval, 0 outside, on its ends
/// (`x == min` or `x == max`) and at NaN.
///
/// # Panics
/// If both bounds are `None` (torch: "At least one of 'min' or 'max' must not be None").
///
/// ```
/// # use cotangent::{Tensor, clamp};
/// let x = Tensor::from_slice(&[-3.0f32, 0.5, 3.0], &[3]).unwrap();
/// assert_eq!(clamp(&x, Some(-1.0), Some(1.0)).to_vec::<f32>(), vec![-1.0, 0.5, 1.0]);
/// assert_eq!(clamp(&x, None, Some(0.0)).to_vec::<f32>(), vec![-3.0, 0.0, 0.0]);
/// ```
#[track_caller]
pub fn clamp(x: &Tensor, min: Option<f64>, max: Option<f64>) -> Tensor {
    if min.is_none() && max.is_none() {
        raise(Error::value(
            "clamp",
            "At least one of 'min' or 'max' must not be None",
        ));
    }
    let dtype = DType::result_type_with_scalar(x.dtype(), true);
    let x = &x.to_dtype(dtype);
    let c = |v: f64| Tensor::wrapped_scalar(v, dtype);
    if min.is_some_and(f64::is_nan) || max.is_some_and(f64::is_nan) {
        return x.new_full(x.shape(), f64::NAN);
    }
    // `x` is picked only strictly inside the interval, so that is where the derivative is 1;
    // the last branch is reached only by NaN, which stays NaN with derivative 0.
    let nan = c(f64::NAN);
    match (min, max) {
        (Some(lo), Some(hi)) if lo > hi => where_(&x.eq(x), &c(hi), &nan),
        (Some(lo), Some(hi)) => where_(
            &x.gt_scalar(lo),
            &where_(&x.lt_scalar(hi), x, &c(hi)),
            &where_(&x.le_scalar(lo), &c(lo), &nan),
        ),
        (Some(lo), None) => where_(&x.gt_scalar(lo), x, &where_(&x.le_scalar(lo), &c(lo), &nan)),
        (None, Some(hi)) => where_(&x.lt_scalar(hi), x, &where_(&x.ge_scalar(hi), &c(hi), &nan)),
        (None, None) => unreachable!("checked above"),
    }
}

/// `x` limited to `[min, max]` elementwise, with tensor bounds that broadcast against `x`
/// (`torch.clamp(x, min_tensor, max_tensor)`); the result has the promoted dtype of all
/// three. Values as [`clamp`]: `max` where `min > max`, NaN where any of the three is NaN.
///
/// The derivative is torch 2.15's, which also reaches the bounds. With one bound it is
/// [`maximum`]'s (or `minimum`'s): to the winner, split evenly on a tie,
/// to both at NaN. With both:
/// - `min < x < max`: to `x`; `x < min`: to `min`; `x > max`: to `max`;
/// - `x == min` or `x == max` with `min < max`: half to `x`, half to that bound;
/// - `min == max == x`: to `x`; `min > max`: to `max` (and to a NaN `x` as well);
/// - NaN `x`: to `x`; a NaN bound: to `x` unless `x` lies beyond the other bound.
///
/// # Panics
/// If both bounds are `None`, or if the shapes cannot be broadcast.
///
/// ```
/// # use cotangent::{Tensor, clamp_tensor};
/// let x = Tensor::from_slice(&[-3i64, 1, 3], &[3]).unwrap();
/// let y = clamp_tensor(&x, Some(&Tensor::scalar(0i64)), Some(&Tensor::scalar(2i64)));
/// assert_eq!(y.to_vec::<i64>(), vec![0, 1, 2]);
/// ```
#[track_caller]
pub fn clamp_tensor(x: &Tensor, min: Option<&Tensor>, max: Option<&Tensor>) -> Tensor {
    // The shapes are checked here, so that a mismatch names clamp (not its `lt`).
    let mut shape: Vec<usize> = x.shape().to_vec();
    for bound in [min, max].into_iter().flatten() {
        shape = crate::primitives::frontend::try_broadcast_shapes("clamp", &shape, bound.shape())
            .or_raise()
            .to_vec();
    }
    let (lo, hi) = match (min, max) {
        (Some(lo), Some(hi)) => (lo, hi),
        (Some(lo), None) => return maximum(x, lo),
        (None, Some(hi)) => return minimum(x, hi),
        (None, None) => raise(Error::value(
            "clamp",
            "At least one of 'min' or 'max' must not be None",
        )),
    };
    let within = DType::result_type(x.dtype(), x.dim() == 0, lo.dtype(), lo.dim() == 0);
    let x_lo_0d = x.dim() == 0 && lo.dim() == 0;
    let dtype = DType::result_type(within, x_lo_0d, hi.dtype(), hi.dim() == 0);
    let (x, lo, hi) = (&x.to_dtype(dtype), &lo.to_dtype(dtype), &hi.to_dtype(dtype));
    let (below, above) = (x.lt(lo), x.gt(hi));
    if !dtype.is_float() {
        // Applying max after min gives `max` for crossed bounds.
        return where_(&above, hi, &where_(&below, lo, x));
    }
    // A tie splits only on a proper interval (min == max == x goes to x). Its value must be
    // exactly x: `x + (bound - x) / 2` is, unless the tie is at ±inf (then it is NaN), where
    // `x / 2 + bound / 2` is (which in turn is not for an odd subnormal).
    let proper = lo.lt(hi);
    let (at_lo, at_hi) = (and(&x.eq(lo), &proper), and(&x.eq(hi), &proper));
    let split = |bound: &Tensor| {
        let finite = bound.abs().lt_scalar(f64::INFINITY);
        let half = |t: &Tensor| t * 0.5;
        where_(
            &finite,
            &(x + &half(&(bound - x))),
            &(&half(x) + &half(bound)),
        )
    };
    let inside = where_(&at_lo, &split(lo), &where_(&at_hi, &split(hi), x));
    let mut y = where_(&below, lo, &where_(&above, hi, &inside));
    // The two rare cases, skipped when concrete bounds rule them out.
    let may_hold = |mask: &Tensor| !mask.is_concrete() || mask.any().item::<bool>();
    let crossed = lo.gt(hi);
    if may_hold(&crossed) {
        // Everything is `max`; torch's derivative reaches a NaN `x` too.
        y = where_(&crossed, &where_(&x.ne(x), &(x + hi), hi), &y);
    }
    let nan_bound = logical_or(&lo.ne(lo), &hi.ne(hi));
    if may_hold(&nan_bound) {
        let nan = Tensor::wrapped_scalar(f64::NAN, dtype);
        y = where_(
            &nan_bound,
            &where_(&logical_or(&below, &above), &nan, &(x + &nan)),
            &y,
        );
    }
    y
}

/// x² elementwise (`torch.square`), keeping integer dtypes (bool becomes `i64`).
///
/// ```
/// # use cotangent::{Tensor, square};
/// let x = Tensor::from_slice(&[-3i64, 2], &[2]).unwrap();
/// assert_eq!(square(&x).to_vec::<i64>(), vec![9, 4]);
/// ```
#[track_caller]
pub fn square(x: &Tensor) -> Tensor {
    let x = if x.dtype() == DType::Bool {
        x.to_dtype(DType::I64)
    } else {
        x.clone()
    };
    &x * &x
}

impl Tensor {
    /// Rectified linear unit; see [`relu`].
    #[track_caller]
    pub fn relu(&self) -> Tensor {
        relu(self)
    }

    /// `self` limited to `[min, max]`; see [`clamp`].
    #[track_caller]
    pub fn clamp(&self, min: Option<f64>, max: Option<f64>) -> Tensor {
        clamp(self, min, max)
    }

    /// `self` limited to tensor bounds; see [`clamp_tensor`].
    #[track_caller]
    pub fn clamp_tensor(&self, min: Option<&Tensor>, max: Option<&Tensor>) -> Tensor {
        clamp_tensor(self, min, max)
    }

    /// x² elementwise; see [`square`].
    #[track_caller]
    pub fn square(&self) -> Tensor {
        square(self)
    }
}

/// Gaussian error linear unit (`torch.nn.functional.gelu(x, approximate=...)`):
/// `approximate = "none"` gives the exact x Φ(x) = x (1 + erf(x/√2)) / 2, and `"tanh"` gives
/// x (1 + tanh(√(2/π) (x + 0.044715 x³))) / 2.
///
/// # Panics
/// If `approximate` is neither `"none"` nor `"tanh"` (torch: "approximate argument must be
/// either none or tanh.").
///
/// ```
/// # use cotangent::{Tensor, gelu};
/// let x = Tensor::from_slice(&[0.0f32, 10.0], &[2]).unwrap();
/// assert_eq!(gelu(&x, "none").to_vec::<f32>(), vec![0.0, 10.0]);
/// assert_eq!(gelu(&x, "tanh").to_vec::<f32>(), vec![0.0, 10.0]);
/// ```
#[track_caller]
pub fn gelu(x: &Tensor, approximate: &str) -> Tensor {
    match approximate {
        "none" => x * 0.5 * (1.0 + (x * std::f64::consts::FRAC_1_SQRT_2).erf()),
        "tanh" => {
            let k = (2.0 / std::f64::consts::PI).sqrt();
            let inner = (x + &(x * x * x * 0.044715)) * k;
            x * 0.5 * (1.0 + inner.tanh())
        }
        other => raise(Error::value(
            "gelu",
            format!("approximate argument must be either none or tanh. (got {other:?})"),
        )),
    }
}

/// Sigmoid linear unit x σ(x), also called swish (`torch.nn.functional.silu`).
///
/// ```
/// # use cotangent::{Tensor, silu};
/// let x = Tensor::from_slice(&[0.0f32, 2.0], &[2]).unwrap();
/// let y = silu(&x).to_vec::<f32>();
/// assert_eq!(y[0], 0.0);
/// assert!((y[1] - 2.0 / (1.0 + (-2.0f32).exp())).abs() < 1e-6);
/// ```
#[track_caller]
pub fn silu(x: &Tensor) -> Tensor {
    x * &x.sigmoid()
}

/// Softplus ln(1 + eˣ) with torch's defaults `beta = 1`, `threshold = 20`
/// (`torch.nn.functional.softplus(x)`); see [`softplus_with`].
///
/// ```
/// # use cotangent::{Tensor, softplus};
/// let x = Tensor::from_slice(&[0.0f64, 30.0], &[2]).unwrap();
/// assert_eq!(softplus(&x).to_vec::<f64>(), vec![2f64.ln(), 30.0]);
/// ```
#[track_caller]
pub fn softplus(x: &Tensor) -> Tensor {
    softplus_with(x, 1.0, 20.0)
}

/// Softplus ln(1 + e^(βx)) / β, and `x` itself where βx > `threshold`
/// (`torch.nn.functional.softplus(x, beta, threshold)`). The exponent is capped at the
/// threshold, so no branch overflows and derivatives stay finite.
///
/// ```
/// # use cotangent::{Tensor, softplus_with};
/// let x = Tensor::from_slice(&[0.0f64, 3.0], &[2]).unwrap();
/// assert_eq!(softplus_with(&x, 2.0, 5.0).to_vec::<f64>(), vec![2f64.ln() / 2.0, 3.0]);
/// ```
#[track_caller]
pub fn softplus_with(x: &Tensor, beta: f64, threshold: f64) -> Tensor {
    let bx = x * beta;
    // Capped so the unused branch cannot overflow; at βx == threshold the soft branch is
    // taken, and its derivative must flow there.
    let cap = Tensor::wrapped_scalar(threshold, bx.dtype());
    let capped = where_(&bx.gt_scalar(threshold), &cap, &bx);
    let soft = capped.exp().log1p() / beta;
    where_(&bx.gt_scalar(threshold), x, &soft)
}

/// Leaky ReLU: x for x > 0 and `negative_slope` · x otherwise
/// (`torch.nn.functional.leaky_relu`; torch's default slope is 0.01).
///
/// ```
/// # use cotangent::{Tensor, leaky_relu};
/// let x = Tensor::from_slice(&[-2.0f32, 3.0], &[2]).unwrap();
/// assert_eq!(leaky_relu(&x, 0.5).to_vec::<f32>(), vec![-1.0, 3.0]);
/// ```
#[track_caller]
pub fn leaky_relu(x: &Tensor, negative_slope: f64) -> Tensor {
    where_(&x.gt_scalar(0.0), x, &(x * negative_slope))
}

/// `x` limited to `[min_val, max_val]` (`torch.nn.functional.hardtanh`; torch's defaults
/// are -1 and 1). The values are [`clamp`]'s; the derivative is torch's
/// `hardtanh_backward`: 0 on the ends and outside, 1 inside and at NaN.
///
/// # Panics
/// If `min_val > max_val`.
///
/// ```
/// # use cotangent::{Tensor, hardtanh};
/// let x = Tensor::from_slice(&[-3.0f32, 0.5, 3.0], &[3]).unwrap();
/// assert_eq!(hardtanh(&x, -1.0, 1.0).to_vec::<f32>(), vec![-1.0, 0.5, 1.0]);
/// ```
#[track_caller]
pub fn hardtanh(x: &Tensor, min_val: f64, max_val: f64) -> Tensor {
    if min_val > max_val {
        raise(Error::value(
            "hardtanh",
            format!("min_val ({min_val}) must not be greater than max_val ({max_val})"),
        ));
    }
    let dtype = DType::result_type_with_scalar(x.dtype(), true);
    let x = &x.to_dtype(dtype);
    let c = |v: f64| Tensor::wrapped_scalar(v, dtype);
    where_(
        &x.le_scalar(min_val),
        &c(min_val),
        &where_(&x.ge_scalar(max_val), &c(max_val), x),
    )
}

/// ln σ(x) = -ln(1 + e⁻ˣ), computed stably as min(x, 0) - ln(1 + e^(-|x|))
/// (`torch.nn.functional.logsigmoid`).
///
/// ```
/// # use cotangent::{Tensor, log_sigmoid};
/// let x = Tensor::from_slice(&[0.0f64, -1000.0], &[2]).unwrap();
/// assert_eq!(log_sigmoid(&x).to_vec::<f64>(), vec![-(2f64.ln()), -1000.0]);
/// ```
#[track_caller]
pub fn log_sigmoid(x: &Tensor) -> Tensor {
    // `minimum` splits the derivative evenly at 0, and |x|' = 0 there: the sum is the
    // true derivative σ(-0) = 1/2.
    let x = if x.dtype().is_float() {
        x.clone()
    } else {
        x.to_dtype(DType::F32)
    };
    minimum(&x, &Tensor::scalar_of(0.0, x.dtype())) - (-x.abs()).exp().log1p()
}

fn clamp_ref(x: f64, lo: f64, hi: f64) -> f64 {
    x.max(lo).min(hi)
}

fn gelu_ref(x: f64) -> f64 {
    0.5 * x * (1.0 + erf_series(x / 2f64.sqrt()))
}

fn gelu_tanh_ref(x: f64) -> f64 {
    let k = (2.0 / std::f64::consts::PI).sqrt();
    0.5 * x * (1.0 + (k * (x + 0.044715 * x * x * x)).tanh())
}

fn softplus_ref(x: f64, beta: f64, threshold: f64) -> f64 {
    if beta * x > threshold {
        x
    } else {
        (beta * x).exp().ln_1p() / beta
    }
}

/// The composites' table entries.
pub(crate) fn op_info() -> Vec<OpInfo> {
    vec![
        OpInfo::unary("relu", relu, |x| x.max(0.0)),
        int_op_info("relu_i64", relu, |x| x.max(0.0)),
        OpInfo::unary_on(
            "clamp",
            |x| clamp(x, Some(-0.5), Some(1.0)),
            |x| clamp_ref(x, -0.5, 1.0),
            (-3.0, 3.0),
        ),
        OpInfo::unary("clamp_min", |x| x.clamp(Some(0.25), None), |x| x.max(0.25)),
        OpInfo::unary("clamp_max", |x| x.clamp(None, Some(0.25)), |x| x.min(0.25)),
        // Crossed bounds: everything becomes max.
        OpInfo::unary(
            "clamp_crossed",
            |x| x.clamp(Some(1.0), Some(-1.0)),
            |_| -1.0,
        ),
        OpInfo::new(
            "clamp_tensor",
            |a| clamp_tensor(&a[0], Some(&a[1]), Some(&a[2])),
            |r| {
                let shape = broadcast_shape(&[&r[0].shape, &r[1].shape, &r[2].shape]);
                RefArray::from_fn(&shape, |i| {
                    clamp_ref(
                        r[0].get_broadcast(i),
                        r[1].get_broadcast(i),
                        r[2].get_broadcast(i),
                    )
                })
            },
            |rng| {
                let triples: [(&[usize], &[usize], &[usize]); 5] = [
                    (&[S], &[S], &[S]),
                    (&[XS, S], &[S], &[]),
                    (&[XS, 1], &[1, S], &[XS, S]),
                    (&[], &[XS], &[1]),
                    (&[0, XS], &[XS], &[1, XS]),
                ];
                triples
                    .iter()
                    .map(|(x, lo, hi)| {
                        vec![
                            rng.tensor(x, -3.0, 3.0),
                            rng.tensor(lo, -2.0, 0.5),
                            rng.tensor(hi, -0.5, 2.0),
                        ]
                    })
                    .collect()
            },
        ),
        int_op_info(
            "clamp_tensor_i64",
            |x| x.clamp_tensor(Some(&Tensor::scalar(-1i64)), Some(&Tensor::scalar(2i64))),
            |x| clamp_ref(x, -1.0, 2.0),
        ),
        OpInfo::unary("square", square, |x| x * x),
        int_op_info("square_i64", square, |x| x * x),
        OpInfo::unary_on("gelu", |x| gelu(x, "none"), gelu_ref, (-2.5, 2.5)),
        OpInfo::unary_on("gelu_tanh", |x| gelu(x, "tanh"), gelu_tanh_ref, (-4.0, 4.0)),
        OpInfo::unary_on("silu", silu, |x| x / (1.0 + (-x).exp()), (-6.0, 6.0)),
        OpInfo::unary_on(
            "softplus",
            softplus,
            |x| softplus_ref(x, 1.0, 20.0),
            (-25.0, 25.0),
        ),
        OpInfo::unary_on(
            "softplus_with",
            |x| softplus_with(x, 2.0, 5.0),
            |x| softplus_ref(x, 2.0, 5.0),
            (-6.0, 6.0),
        ),
        OpInfo::unary(
            "leaky_relu",
            |x| leaky_relu(x, 0.1),
            |x| if x > 0.0 { x } else { 0.1 * x },
        ),
        OpInfo::unary_on(
            "hardtanh",
            |x| hardtanh(x, -1.0, 1.0),
            |x| clamp_ref(x, -1.0, 1.0),
            (-3.0, 3.0),
        ),
        OpInfo::unary_on(
            "log_sigmoid",
            log_sigmoid,
            |x| -(-x).exp().ln_1p(),
            (-30.0, 30.0),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nan_propagates_through_relu_and_clamp() {
        let x = Tensor::from_slice(&[f64::NAN], &[1]).unwrap();
        assert!(relu(&x).item::<f64>().is_nan());
        assert!(clamp(&x, Some(0.0), Some(1.0)).item::<f64>().is_nan());
        assert!(log_sigmoid(&x).item::<f64>().is_nan());
    }

    #[test]
    fn dtypes_follow_torch() {
        let i = Tensor::from_slice(&[-2i64, 3], &[2]).unwrap();
        assert_eq!(relu(&i).dtype(), DType::I64);
        assert_eq!(clamp(&i, Some(0.0), None).dtype(), DType::F32);
        assert_eq!(gelu(&i, "none").dtype(), DType::F32);
        let f = Tensor::from_slice(&[1.0f64], &[1]).unwrap();
        assert_eq!(softplus(&f).dtype(), DType::F64);
        assert_eq!(clamp(&f, Some(0.0), None).dtype(), DType::F64);
    }

    /// x, bound, then value and `[d/dx, d/dbound]` of `clamp(x, min=bound)`, then of
    /// `clamp(x, max=bound)`.
    type OneBoundCase = (f64, f64, f64, [f64; 2], f64, [f64; 2]);
    /// x, min, max, value, d/dx.
    type FloatBoundsCase = (f64, Option<f64>, Option<f64>, f64, f64);

    const N: f64 = f64::NAN;
    const I: f64 = f64::INFINITY;

    /// Equal, NaN to NaN included.
    fn same(a: f64, b: f64) -> bool {
        a == b || (a.is_nan() && b.is_nan())
    }

    /// The value and derivatives of `f` at 0-d f64 arguments.
    fn value_and_grads<const K: usize>(
        f: impl Fn(&[Tensor]) -> Tensor,
        args: [f64; K],
    ) -> (f64, [f64; K]) {
        let args: Vec<Tensor> = args.iter().map(|&v| Tensor::scalar(v)).collect();
        let value = f(&args).item::<f64>();
        let (_, pull) = crate::vjp(|a: Vec<Tensor>| f(&a), args);
        let grads: Vec<Tensor> = pull.call(Tensor::scalar(1.0f64));
        (value, std::array::from_fn(|i| grads[i].item::<f64>()))
    }

    #[test]
    fn clamp_with_tensor_bounds_matches_torch_2_15() {
        // (x, min, max, value, [d/dx, d/dmin, d/dmax]), each from torch 2.15.0:
        // torch.clamp(x, min, max) and torch.func.grad(..., argnums=(0, 1, 2)) on 0-d f64
        // tensors. Ties split evenly, min == max == x goes to x, crossed bounds to max; a
        // NaN x or bound gives the derivative where torch's backward puts it.
        let cases: [(f64, f64, f64, f64, [f64; 3]); 80] = [
            (-1.0, 0.0, 2.0, 0.0, [0.0, 1.0, 0.0]),
            (0.0, 0.0, 2.0, 0.0, [0.5, 0.5, 0.0]),
            (1.0, 0.0, 2.0, 1.0, [1.0, 0.0, 0.0]),
            (2.0, 0.0, 2.0, 2.0, [0.5, 0.0, 0.5]),
            (3.0, 0.0, 2.0, 2.0, [0.0, 0.0, 1.0]),
            (N, 0.0, 2.0, N, [1.0, 0.0, 0.0]),
            (I, 0.0, 2.0, 2.0, [0.0, 0.0, 1.0]),
            (-I, 0.0, 2.0, 0.0, [0.0, 1.0, 0.0]),
            (-1.0, 2.0, 0.0, 0.0, [0.0, 0.0, 1.0]),
            (0.0, 2.0, 0.0, 0.0, [0.0, 0.0, 1.0]),
            (1.0, 2.0, 0.0, 0.0, [0.0, 0.0, 1.0]),
            (2.0, 2.0, 0.0, 0.0, [0.0, 0.0, 1.0]),
            (3.0, 2.0, 0.0, 0.0, [0.0, 0.0, 1.0]),
            (N, 2.0, 0.0, N, [1.0, 0.0, 1.0]),
            (I, 2.0, 0.0, 0.0, [0.0, 0.0, 1.0]),
            (-I, 2.0, 0.0, 0.0, [0.0, 0.0, 1.0]),
            (-1.0, 1.0, 1.0, 1.0, [0.0, 1.0, 0.0]),
            (0.0, 1.0, 1.0, 1.0, [0.0, 1.0, 0.0]),
            (1.0, 1.0, 1.0, 1.0, [1.0, 0.0, 0.0]),
            (2.0, 1.0, 1.0, 1.0, [0.0, 0.0, 1.0]),
            (3.0, 1.0, 1.0, 1.0, [0.0, 0.0, 1.0]),
            (N, 1.0, 1.0, N, [1.0, 0.0, 0.0]),
            (I, 1.0, 1.0, 1.0, [0.0, 0.0, 1.0]),
            (-I, 1.0, 1.0, 1.0, [0.0, 1.0, 0.0]),
            (-1.0, N, 2.0, N, [1.0, 0.0, 0.0]),
            (0.0, N, 2.0, N, [1.0, 0.0, 0.0]),
            (1.0, N, 2.0, N, [1.0, 0.0, 0.0]),
            (2.0, N, 2.0, N, [1.0, 0.0, 0.0]),
            (3.0, N, 2.0, N, [0.0, 0.0, 0.0]),
            (N, N, 2.0, N, [1.0, 0.0, 0.0]),
            (I, N, 2.0, N, [0.0, 0.0, 0.0]),
            (-I, N, 2.0, N, [1.0, 0.0, 0.0]),
            (-1.0, 0.0, N, N, [0.0, 0.0, 0.0]),
            (0.0, 0.0, N, N, [1.0, 0.0, 0.0]),
            (1.0, 0.0, N, N, [1.0, 0.0, 0.0]),
            (2.0, 0.0, N, N, [1.0, 0.0, 0.0]),
            (3.0, 0.0, N, N, [1.0, 0.0, 0.0]),
            (N, 0.0, N, N, [1.0, 0.0, 0.0]),
            (I, 0.0, N, N, [1.0, 0.0, 0.0]),
            (-I, 0.0, N, N, [0.0, 0.0, 0.0]),
            (-1.0, -I, I, -1.0, [1.0, 0.0, 0.0]),
            (0.0, -I, I, 0.0, [1.0, 0.0, 0.0]),
            (1.0, -I, I, 1.0, [1.0, 0.0, 0.0]),
            (2.0, -I, I, 2.0, [1.0, 0.0, 0.0]),
            (3.0, -I, I, 3.0, [1.0, 0.0, 0.0]),
            (N, -I, I, N, [1.0, 0.0, 0.0]),
            (I, -I, I, I, [0.5, 0.0, 0.5]),
            (-I, -I, I, -I, [0.5, 0.5, 0.0]),
            (-1.0, -I, -I, -I, [0.0, 0.0, 1.0]),
            (0.0, -I, -I, -I, [0.0, 0.0, 1.0]),
            (1.0, -I, -I, -I, [0.0, 0.0, 1.0]),
            (2.0, -I, -I, -I, [0.0, 0.0, 1.0]),
            (3.0, -I, -I, -I, [0.0, 0.0, 1.0]),
            (N, -I, -I, N, [1.0, 0.0, 0.0]),
            (I, -I, -I, -I, [0.0, 0.0, 1.0]),
            (-I, -I, -I, -I, [1.0, 0.0, 0.0]),
            (-1.0, I, I, I, [0.0, 1.0, 0.0]),
            (0.0, I, I, I, [0.0, 1.0, 0.0]),
            (1.0, I, I, I, [0.0, 1.0, 0.0]),
            (2.0, I, I, I, [0.0, 1.0, 0.0]),
            (3.0, I, I, I, [0.0, 1.0, 0.0]),
            (N, I, I, N, [1.0, 0.0, 0.0]),
            (I, I, I, I, [1.0, 0.0, 0.0]),
            (-I, I, I, I, [0.0, 1.0, 0.0]),
            (-1.0, 0.0, I, 0.0, [0.0, 1.0, 0.0]),
            (0.0, 0.0, I, 0.0, [0.5, 0.5, 0.0]),
            (1.0, 0.0, I, 1.0, [1.0, 0.0, 0.0]),
            (2.0, 0.0, I, 2.0, [1.0, 0.0, 0.0]),
            (3.0, 0.0, I, 3.0, [1.0, 0.0, 0.0]),
            (N, 0.0, I, N, [1.0, 0.0, 0.0]),
            (I, 0.0, I, I, [0.5, 0.0, 0.5]),
            (-I, 0.0, I, 0.0, [0.0, 1.0, 0.0]),
            (-1.0, -I, 0.0, -1.0, [1.0, 0.0, 0.0]),
            (0.0, -I, 0.0, 0.0, [0.5, 0.0, 0.5]),
            (1.0, -I, 0.0, 0.0, [0.0, 0.0, 1.0]),
            (2.0, -I, 0.0, 0.0, [0.0, 0.0, 1.0]),
            (3.0, -I, 0.0, 0.0, [0.0, 0.0, 1.0]),
            (N, -I, 0.0, N, [1.0, 0.0, 0.0]),
            (I, -I, 0.0, 0.0, [0.0, 0.0, 1.0]),
            (-I, -I, 0.0, -I, [0.5, 0.5, 0.0]),
        ];
        for (x, lo, hi, value, grads) in cases {
            let clamped = |a: &[Tensor]| clamp_tensor(&a[0], Some(&a[1]), Some(&a[2]));
            let (y, got) = value_and_grads(clamped, [x, lo, hi]);
            assert!(
                same(y, value) && got.iter().zip(grads).all(|(&a, b)| same(a, b)),
                "clamp({x}, {lo}, {hi}) = {y}, grads {got:?}; torch: {value}, {grads:?}"
            );
        }
    }

    #[test]
    fn clamp_with_one_tensor_bound_matches_torch_2_15() {
        // (x, bound, value and [d/dx, d/dbound] of clamp(x, min=bound), the same of
        // clamp(x, max=bound)) from torch 2.15.0: maximum's and minimum's derivatives.
        let cases: [OneBoundCase; 32] = [
            (-1.0, 0.0, 0.0, [0.0, 1.0], -1.0, [1.0, 0.0]),
            (0.0, 0.0, 0.0, [0.5, 0.5], 0.0, [0.5, 0.5]),
            (1.0, 0.0, 1.0, [1.0, 0.0], 0.0, [0.0, 1.0]),
            (2.0, 0.0, 2.0, [1.0, 0.0], 0.0, [0.0, 1.0]),
            (3.0, 0.0, 3.0, [1.0, 0.0], 0.0, [0.0, 1.0]),
            (N, 0.0, N, [1.0, 1.0], N, [1.0, 1.0]),
            (I, 0.0, I, [1.0, 0.0], 0.0, [0.0, 1.0]),
            (-I, 0.0, 0.0, [0.0, 1.0], -I, [1.0, 0.0]),
            (-1.0, N, N, [1.0, 1.0], N, [1.0, 1.0]),
            (0.0, N, N, [1.0, 1.0], N, [1.0, 1.0]),
            (1.0, N, N, [1.0, 1.0], N, [1.0, 1.0]),
            (2.0, N, N, [1.0, 1.0], N, [1.0, 1.0]),
            (3.0, N, N, [1.0, 1.0], N, [1.0, 1.0]),
            (N, N, N, [1.0, 1.0], N, [1.0, 1.0]),
            (I, N, N, [1.0, 1.0], N, [1.0, 1.0]),
            (-I, N, N, [1.0, 1.0], N, [1.0, 1.0]),
            (-1.0, -I, -1.0, [1.0, 0.0], -I, [0.0, 1.0]),
            (0.0, -I, 0.0, [1.0, 0.0], -I, [0.0, 1.0]),
            (1.0, -I, 1.0, [1.0, 0.0], -I, [0.0, 1.0]),
            (2.0, -I, 2.0, [1.0, 0.0], -I, [0.0, 1.0]),
            (3.0, -I, 3.0, [1.0, 0.0], -I, [0.0, 1.0]),
            (N, -I, N, [1.0, 1.0], N, [1.0, 1.0]),
            (I, -I, I, [1.0, 0.0], -I, [0.0, 1.0]),
            (-I, -I, -I, [0.5, 0.5], -I, [0.5, 0.5]),
            (-1.0, I, I, [0.0, 1.0], -1.0, [1.0, 0.0]),
            (0.0, I, I, [0.0, 1.0], 0.0, [1.0, 0.0]),
            (1.0, I, I, [0.0, 1.0], 1.0, [1.0, 0.0]),
            (2.0, I, I, [0.0, 1.0], 2.0, [1.0, 0.0]),
            (3.0, I, I, [0.0, 1.0], 3.0, [1.0, 0.0]),
            (N, I, N, [1.0, 1.0], N, [1.0, 1.0]),
            (I, I, I, [0.5, 0.5], I, [0.5, 0.5]),
            (-I, I, I, [0.0, 1.0], -I, [1.0, 0.0]),
        ];
        for (x, b, min_value, min_grads, max_value, max_grads) in cases {
            let below = |a: &[Tensor]| clamp_tensor(&a[0], Some(&a[1]), None);
            let above = |a: &[Tensor]| clamp_tensor(&a[0], None, Some(&a[1]));
            for (f, value, grads) in [
                (&below as &dyn Fn(&[Tensor]) -> Tensor, min_value, min_grads),
                (&above, max_value, max_grads),
            ] {
                let (y, got) = value_and_grads(f, [x, b]);
                assert!(
                    same(y, value) && got.iter().zip(grads).all(|(&a, b)| same(a, b)),
                    "x {x}, bound {b}: {y}, {got:?}; torch: {value}, {grads:?}"
                );
            }
        }
    }

    #[test]
    fn clamp_with_float_bounds_matches_torch_2_15() {
        // (x, min, max, value, d/dx) from torch 2.15.0 (torch.clamp(x, min, max) with Python
        // floats): the derivative is 1 strictly inside the interval only, 0 on its ends and
        // at NaN; a NaN bound makes the value NaN.
        let cases: [FloatBoundsCase; 128] = [
            (-1.0, Some(0.0), Some(2.0), 0.0, 0.0),
            (0.0, Some(0.0), Some(2.0), 0.0, 0.0),
            (1.0, Some(0.0), Some(2.0), 1.0, 1.0),
            (2.0, Some(0.0), Some(2.0), 2.0, 0.0),
            (3.0, Some(0.0), Some(2.0), 2.0, 0.0),
            (N, Some(0.0), Some(2.0), N, 0.0),
            (I, Some(0.0), Some(2.0), 2.0, 0.0),
            (-I, Some(0.0), Some(2.0), 0.0, 0.0),
            (-1.0, Some(2.0), Some(0.0), 0.0, 0.0),
            (0.0, Some(2.0), Some(0.0), 0.0, 0.0),
            (1.0, Some(2.0), Some(0.0), 0.0, 0.0),
            (2.0, Some(2.0), Some(0.0), 0.0, 0.0),
            (3.0, Some(2.0), Some(0.0), 0.0, 0.0),
            (N, Some(2.0), Some(0.0), N, 0.0),
            (I, Some(2.0), Some(0.0), 0.0, 0.0),
            (-I, Some(2.0), Some(0.0), 0.0, 0.0),
            (-1.0, Some(1.0), Some(1.0), 1.0, 0.0),
            (0.0, Some(1.0), Some(1.0), 1.0, 0.0),
            (1.0, Some(1.0), Some(1.0), 1.0, 0.0),
            (2.0, Some(1.0), Some(1.0), 1.0, 0.0),
            (3.0, Some(1.0), Some(1.0), 1.0, 0.0),
            (N, Some(1.0), Some(1.0), N, 0.0),
            (I, Some(1.0), Some(1.0), 1.0, 0.0),
            (-I, Some(1.0), Some(1.0), 1.0, 0.0),
            (-1.0, Some(N), Some(2.0), N, 0.0),
            (0.0, Some(N), Some(2.0), N, 0.0),
            (1.0, Some(N), Some(2.0), N, 0.0),
            (2.0, Some(N), Some(2.0), N, 0.0),
            (3.0, Some(N), Some(2.0), N, 0.0),
            (N, Some(N), Some(2.0), N, 0.0),
            (I, Some(N), Some(2.0), N, 0.0),
            (-I, Some(N), Some(2.0), N, 0.0),
            (-1.0, Some(0.0), Some(N), N, 0.0),
            (0.0, Some(0.0), Some(N), N, 0.0),
            (1.0, Some(0.0), Some(N), N, 0.0),
            (2.0, Some(0.0), Some(N), N, 0.0),
            (3.0, Some(0.0), Some(N), N, 0.0),
            (N, Some(0.0), Some(N), N, 0.0),
            (I, Some(0.0), Some(N), N, 0.0),
            (-I, Some(0.0), Some(N), N, 0.0),
            (-1.0, Some(-I), Some(I), -1.0, 1.0),
            (0.0, Some(-I), Some(I), 0.0, 1.0),
            (1.0, Some(-I), Some(I), 1.0, 1.0),
            (2.0, Some(-I), Some(I), 2.0, 1.0),
            (3.0, Some(-I), Some(I), 3.0, 1.0),
            (N, Some(-I), Some(I), N, 0.0),
            (I, Some(-I), Some(I), I, 0.0),
            (-I, Some(-I), Some(I), -I, 0.0),
            (-1.0, Some(-I), Some(-I), -I, 0.0),
            (0.0, Some(-I), Some(-I), -I, 0.0),
            (1.0, Some(-I), Some(-I), -I, 0.0),
            (2.0, Some(-I), Some(-I), -I, 0.0),
            (3.0, Some(-I), Some(-I), -I, 0.0),
            (N, Some(-I), Some(-I), N, 0.0),
            (I, Some(-I), Some(-I), -I, 0.0),
            (-I, Some(-I), Some(-I), -I, 0.0),
            (-1.0, Some(I), Some(I), I, 0.0),
            (0.0, Some(I), Some(I), I, 0.0),
            (1.0, Some(I), Some(I), I, 0.0),
            (2.0, Some(I), Some(I), I, 0.0),
            (3.0, Some(I), Some(I), I, 0.0),
            (N, Some(I), Some(I), N, 0.0),
            (I, Some(I), Some(I), I, 0.0),
            (-I, Some(I), Some(I), I, 0.0),
            (-1.0, Some(0.0), Some(I), 0.0, 0.0),
            (0.0, Some(0.0), Some(I), 0.0, 0.0),
            (1.0, Some(0.0), Some(I), 1.0, 1.0),
            (2.0, Some(0.0), Some(I), 2.0, 1.0),
            (3.0, Some(0.0), Some(I), 3.0, 1.0),
            (N, Some(0.0), Some(I), N, 0.0),
            (I, Some(0.0), Some(I), I, 0.0),
            (-I, Some(0.0), Some(I), 0.0, 0.0),
            (-1.0, Some(-I), Some(0.0), -1.0, 1.0),
            (0.0, Some(-I), Some(0.0), 0.0, 0.0),
            (1.0, Some(-I), Some(0.0), 0.0, 0.0),
            (2.0, Some(-I), Some(0.0), 0.0, 0.0),
            (3.0, Some(-I), Some(0.0), 0.0, 0.0),
            (N, Some(-I), Some(0.0), N, 0.0),
            (I, Some(-I), Some(0.0), 0.0, 0.0),
            (-I, Some(-I), Some(0.0), -I, 0.0),
            (-1.0, Some(0.0), None, 0.0, 0.0),
            (0.0, Some(0.0), None, 0.0, 0.0),
            (1.0, Some(0.0), None, 1.0, 1.0),
            (2.0, Some(0.0), None, 2.0, 1.0),
            (3.0, Some(0.0), None, 3.0, 1.0),
            (N, Some(0.0), None, N, 0.0),
            (I, Some(0.0), None, I, 1.0),
            (-I, Some(0.0), None, 0.0, 0.0),
            (-1.0, None, Some(2.0), -1.0, 1.0),
            (0.0, None, Some(2.0), 0.0, 1.0),
            (1.0, None, Some(2.0), 1.0, 1.0),
            (2.0, None, Some(2.0), 2.0, 0.0),
            (3.0, None, Some(2.0), 2.0, 0.0),
            (N, None, Some(2.0), N, 0.0),
            (I, None, Some(2.0), 2.0, 0.0),
            (-I, None, Some(2.0), -I, 1.0),
            (-1.0, Some(N), None, N, 0.0),
            (0.0, Some(N), None, N, 0.0),
            (1.0, Some(N), None, N, 0.0),
            (2.0, Some(N), None, N, 0.0),
            (3.0, Some(N), None, N, 0.0),
            (N, Some(N), None, N, 0.0),
            (I, Some(N), None, N, 0.0),
            (-I, Some(N), None, N, 0.0),
            (-1.0, None, Some(N), N, 0.0),
            (0.0, None, Some(N), N, 0.0),
            (1.0, None, Some(N), N, 0.0),
            (2.0, None, Some(N), N, 0.0),
            (3.0, None, Some(N), N, 0.0),
            (N, None, Some(N), N, 0.0),
            (I, None, Some(N), N, 0.0),
            (-I, None, Some(N), N, 0.0),
            (-1.0, Some(-I), None, -1.0, 1.0),
            (0.0, Some(-I), None, 0.0, 1.0),
            (1.0, Some(-I), None, 1.0, 1.0),
            (2.0, Some(-I), None, 2.0, 1.0),
            (3.0, Some(-I), None, 3.0, 1.0),
            (N, Some(-I), None, N, 0.0),
            (I, Some(-I), None, I, 1.0),
            (-I, Some(-I), None, -I, 0.0),
            (-1.0, None, Some(I), -1.0, 1.0),
            (0.0, None, Some(I), 0.0, 1.0),
            (1.0, None, Some(I), 1.0, 1.0),
            (2.0, None, Some(I), 2.0, 1.0),
            (3.0, None, Some(I), 3.0, 1.0),
            (N, None, Some(I), N, 0.0),
            (I, None, Some(I), I, 0.0),
            (-I, None, Some(I), -I, 1.0),
        ];
        for (x, lo, hi, value, grad) in cases {
            let (y, [got]) = value_and_grads(|a: &[Tensor]| clamp(&a[0], lo, hi), [x]);
            assert!(
                same(y, value) && same(got, grad),
                "clamp({x}, {lo:?}, {hi:?}) = {y}, d/dx {got}; torch: {value}, {grad}"
            );
        }
        // Bounds of every element at once, batched and in f32.
        let x = Tensor::from_slice(&[-1.0f32, 0.0, 0.5, 1.0, 2.0, f32::NAN], &[6]).unwrap();
        let g: Tensor = crate::grad(|x: Tensor| clamp(&x, Some(0.0), Some(1.0)).sum())(x.clone());
        assert_eq!(g.to_vec::<f32>(), vec![0.0, 0.0, 1.0, 0.0, 0.0, 0.0]);
        let per_row = crate::vmap(crate::grad(|x: Tensor| {
            clamp(&x, Some(0.0), Some(1.0)).sum()
        }));
        assert_eq!(
            per_row(x.reshape(&[2, 3])).to_vec::<f32>(),
            g.to_vec::<f32>()
        );
    }

    #[test]
    fn hardtanh_derivative_is_torchs_hardtanh_backward() {
        // (x, min_val, max_val, value, d/dx) from torch 2.15.0's F.hardtanh: 0 on the ends,
        // 1 at NaN (unlike clamp).
        let cases: [(f64, f64, f64, f64, f64); 16] = [
            (-1.0, -1.0, 1.0, -1.0, 0.0),
            (-1.0, 0.0, 6.0, 0.0, 0.0),
            (0.0, -1.0, 1.0, 0.0, 1.0),
            (0.0, 0.0, 6.0, 0.0, 0.0),
            (1.0, -1.0, 1.0, 1.0, 0.0),
            (1.0, 0.0, 6.0, 1.0, 1.0),
            (2.0, -1.0, 1.0, 1.0, 0.0),
            (2.0, 0.0, 6.0, 2.0, 1.0),
            (3.0, -1.0, 1.0, 1.0, 0.0),
            (3.0, 0.0, 6.0, 3.0, 1.0),
            (N, -1.0, 1.0, N, 1.0),
            (N, 0.0, 6.0, N, 1.0),
            (I, -1.0, 1.0, 1.0, 0.0),
            (I, 0.0, 6.0, 6.0, 0.0),
            (-I, -1.0, 1.0, -1.0, 0.0),
            (-I, 0.0, 6.0, 0.0, 0.0),
        ];
        for (x, lo, hi, value, grad) in cases {
            let (y, [got]) = value_and_grads(|a: &[Tensor]| hardtanh(&a[0], lo, hi), [x]);
            assert!(
                same(y, value) && same(got, grad),
                "hardtanh({x}): {y}, {got}; torch: {value}, {grad}"
            );
        }
    }

    #[test]
    fn softplus_derivative_at_the_threshold_is_the_soft_branch() {
        // torch 2.15.0: grad(F.softplus)(20.0) = σ(20) (its backward takes the soft branch
        // unless βx > threshold); capping the exponent must not cut the derivative there.
        let (_, [g]) = value_and_grads(|a: &[Tensor]| softplus(&a[0]), [20.0]);
        assert!((g - 1.0 / (1.0 + (-20f64).exp())).abs() < 1e-15, "{g}");
    }

    /// The panic message of `f`.
    fn panic_message(f: impl FnOnce() -> Tensor + std::panic::UnwindSafe) -> String {
        let payload = std::panic::catch_unwind(f).expect_err("expected a panic");
        match payload.downcast::<String>() {
            Ok(s) => *s,
            Err(p) => p
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .unwrap_or_default(),
        }
    }

    #[test]
    fn bad_arguments_panic_with_torch_messages() {
        let x = Tensor::zeros(&[2]);
        assert!(panic_message(|| clamp(&x, None, None)).contains("At least one of 'min' or 'max'"));
        assert!(panic_message(|| gelu(&x, "erf")).contains("either none or tanh"));
        assert!(panic_message(|| !&x).contains("only implemented for bool tensors"));
        let mask = Tensor::from_slice(&[true, false], &[2]).unwrap();
        assert_eq!((!&mask).to_vec::<bool>(), vec![false, true]);
    }
}
