//! Privacy accounting for DP-SGD: the Rényi differential privacy (RDP) of the
//! Poisson-subsampled Gaussian mechanism, composed over training steps and converted to
//! (epsilon, delta).
//!
//! One DP-SGD step samples each training example with probability `sample_rate` (Poisson
//! sampling), clips each per-sample gradient to L2 norm `C`, sums them and adds Gaussian
//! noise of standard deviation `noise_multiplier * C`. Its RDP at order `alpha` is
//! `log(A_alpha) / (alpha - 1)` (Mironov, Talwar, Zhang 2019, "Rényi Differential Privacy of
//! the Sampled Gaussian Mechanism", arXiv:1908.10530, section 3.3), computed in log space with
//! a finite sum for integer orders and a convergent series for fractional ones: the
//! computation of TensorFlow Privacy's `rdp_accountant.py` and Opacus's
//! `opacus/accountants/analysis/rdp.py` (`_compute_log_a_for_int_alpha`,
//! `_compute_log_a_for_frac_alpha`). RDP adds up over steps; the conversion to
//! (epsilon, delta) is Opacus's `get_privacy_spent`, the bound of Balle et al. 2020
//! ("Hypothesis testing interpretations and Rényi differential privacy", Theorem 21),
//! minimised over the orders.
//!
//! ```
//! use cotangent::privacy::RdpAccountant;
//! // Opacus's own unit test: noise 1.5, sample rate 0.04, 90 epochs.
//! let mut accountant = RdpAccountant::new();
//! accountant.step(1.5, 0.04, 2250);
//! let (epsilon, _order) = accountant.epsilon(1e-5);
//! assert!((epsilon - 7.32911117143).abs() < 1e-6);
//! ```

use crate::error::{Error, raise};

/// The RDP orders Opacus's `RDPAccountant` searches by default: 1.1, 1.2, ..., 10.9, then
/// 12, 13, ..., 63 (`[1 + x / 10.0 for x in range(1, 100)] + list(range(12, 64))`).
pub fn default_orders() -> Vec<f64> {
    (1..100)
        .map(|x| 1.0 + f64::from(x) / 10.0)
        .chain((12..64).map(f64::from))
        .collect()
}

/// Tracks the privacy spent by a sequence of Poisson-subsampled Gaussian mechanisms (DP-SGD
/// steps) with RDP, like Opacus's `RDPAccountant`.
#[derive(Clone, Debug, Default)]
pub struct RdpAccountant {
    /// `(noise_multiplier, sample_rate, num_steps)`, consecutive equal settings merged.
    history: Vec<(f64, f64, u64)>,
}

impl RdpAccountant {
    /// An accountant that has seen no steps.
    pub fn new() -> RdpAccountant {
        RdpAccountant::default()
    }

    /// Records `num_steps` steps, each sampling examples with probability `sample_rate` and
    /// adding Gaussian noise of `noise_multiplier` times the clipping norm.
    ///
    /// # Panics
    /// If `noise_multiplier` is negative or NaN, or `sample_rate` is not in `[0, 1]`.
    #[track_caller]
    pub fn step(&mut self, noise_multiplier: f64, sample_rate: f64, num_steps: u64) {
        check_mechanism("RdpAccountant::step", noise_multiplier, sample_rate);
        match self.history.last_mut() {
            Some((sigma, q, steps)) if *sigma == noise_multiplier && *q == sample_rate => {
                *steps += num_steps;
            }
            _ => self
                .history
                .push((noise_multiplier, sample_rate, num_steps)),
        }
    }

    /// The total RDP at each of `orders` of all steps recorded so far.
    ///
    /// # Panics
    /// If an order is not greater than 1.
    #[track_caller]
    pub fn rdp(&self, orders: &[f64]) -> Vec<f64> {
        check_orders("RdpAccountant::rdp", orders);
        let mut total = vec![0.0; orders.len()];
        for &(sigma, q, steps) in &self.history {
            for (t, r) in total.iter_mut().zip(compute_rdp(q, sigma, steps, orders)) {
                *t += r;
            }
        }
        total
    }

    /// `(epsilon, best order)`: the smallest epsilon over [`default_orders`] such that the
    /// steps so far are (epsilon, delta)-DP. An accountant without steps gives
    /// `(0.0, NaN)`. If the best order is the first or last of the list, a wider list (see
    /// [`RdpAccountant::epsilon_with_orders`]) may give a smaller epsilon.
    ///
    /// # Panics
    /// If `delta` is not in `(0, 1)`.
    #[track_caller]
    pub fn epsilon(&self, delta: f64) -> (f64, f64) {
        self.epsilon_with_orders(delta, &default_orders())
    }

    /// Like [`RdpAccountant::epsilon`], searching the given RDP orders.
    ///
    /// # Panics
    /// If `delta` is not in `(0, 1)`, or `orders` is empty or holds an order not greater
    /// than 1.
    #[track_caller]
    pub fn epsilon_with_orders(&self, delta: f64, orders: &[f64]) -> (f64, f64) {
        check_delta("RdpAccountant::epsilon", delta);
        check_orders("RdpAccountant::epsilon", orders);
        if self.history.is_empty() {
            return (0.0, f64::NAN);
        }
        privacy_spent(orders, &self.rdp(orders), delta)
    }
}

/// The RDP at each of `orders` of `steps` compositions of the Poisson-subsampled Gaussian
/// mechanism with sampling rate `q` and noise multiplier `noise_multiplier` (Opacus's and
/// TF Privacy's `compute_rdp`). Orders may be fractional or infinite; the RDP is `0` for
/// `q = 0` and infinite for `noise_multiplier = 0`.
///
/// ```
/// # use cotangent::privacy::compute_rdp;
/// // Without subsampling the Gaussian mechanism's RDP is alpha / (2 sigma^2).
/// assert_eq!(compute_rdp(1.0, 10.0, 1, &[20.0]), vec![0.1]);
/// ```
///
/// # Panics
/// If `noise_multiplier` is negative or NaN, `q` is not in `[0, 1]`, or an order is not
/// greater than 1.
#[track_caller]
pub fn compute_rdp(q: f64, noise_multiplier: f64, steps: u64, orders: &[f64]) -> Vec<f64> {
    check_mechanism("compute_rdp", noise_multiplier, q);
    check_orders("compute_rdp", orders);
    orders
        .iter()
        .map(|&alpha| {
            let r = rdp_one_step(q, noise_multiplier, alpha);
            // 0 steps of a non-private mechanism release nothing: 0, not inf * 0 = NaN.
            if steps == 0 { 0.0 } else { r * steps as f64 }
        })
        .collect()
}

/// `(epsilon, best order)` from the RDP `rdp[i]` at `orders[i]`: the smallest over the orders
/// of `rdp - (ln(delta) + ln(alpha)) / (alpha - 1) + ln((alpha - 1) / alpha)` (Balle et al.
/// 2020, Theorem 21; Opacus's `get_privacy_spent`), clamped at 0 as `dp_accounting` does
/// (a negative epsilon, possible only for delta near 1, means (0, delta)-DP).
///
/// ```
/// # use cotangent::privacy::privacy_spent;
/// // Pure 1.1-DP as RDP: constant over the orders, so the largest order wins.
/// let orders: Vec<f64> = (2..33).map(f64::from).collect();
/// let (epsilon, order) = privacy_spent(&orders, &vec![1.1; orders.len()], 1e-5);
/// assert_eq!(order, 32.0);
/// assert!((epsilon - 1.32783806176).abs() < 1e-10);
/// ```
///
/// # Panics
/// If `delta` is not in `(0, 1)`, the slices differ in length or are empty, or an order is
/// not greater than 1.
#[track_caller]
pub fn privacy_spent(orders: &[f64], rdp: &[f64], delta: f64) -> (f64, f64) {
    check_delta("privacy_spent", delta);
    check_orders("privacy_spent", orders);
    if orders.len() != rdp.len() {
        raise(Error::shape(
            "privacy_spent",
            format!(
                "{} orders but {} RDP values; give one RDP value per order",
                orders.len(),
                rdp.len()
            ),
        ));
    }
    let mut best = (f64::INFINITY, f64::NAN);
    for (&alpha, &r) in orders.iter().zip(rdp) {
        let eps = r - (delta.ln() + alpha.ln()) / (alpha - 1.0) + ((alpha - 1.0) / alpha).ln();
        // NaN (e.g. inf - inf at an infinite order) never wins, as with numpy's nanargmin.
        if eps < best.0 || (best.1.is_nan() && !eps.is_nan()) {
            best = (eps, alpha);
        }
    }
    (best.0.max(0.0), best.1)
}

#[track_caller]
fn check_mechanism(op: &'static str, noise_multiplier: f64, q: f64) {
    if noise_multiplier.is_nan() || noise_multiplier < 0.0 {
        raise(Error::value(
            op,
            format!("noise_multiplier must be >= 0, got {noise_multiplier}"),
        ));
    }
    if !(0.0..=1.0).contains(&q) {
        raise(Error::value(
            op,
            format!(
                "sample_rate must be in [0, 1] (the probability that an example is in a batch, \
                 e.g. batch_size / dataset_size), got {q}"
            ),
        ));
    }
}

#[track_caller]
fn check_orders(op: &'static str, orders: &[f64]) {
    if orders.is_empty() {
        raise(Error::value(op, "no RDP orders given"));
    }
    if let Some(bad) = orders.iter().find(|&&a| a.is_nan() || a <= 1.0) {
        raise(Error::value(
            op,
            format!("RDP orders must be > 1, got {bad}"),
        ));
    }
}

#[track_caller]
fn check_delta(op: &'static str, delta: f64) {
    if !(delta > 0.0 && delta < 1.0) {
        raise(Error::value(
            op,
            format!("delta must be in (0, 1), got {delta}"),
        ));
    }
}

/// RDP of one step at order `alpha`.
#[track_caller]
fn rdp_one_step(q: f64, sigma: f64, alpha: f64) -> f64 {
    if q == 0.0 {
        0.0
    } else if sigma == 0.0 || alpha.is_infinite() {
        f64::INFINITY
    } else if q == 1.0 {
        alpha / (2.0 * sigma * sigma)
    } else if alpha.fract() == 0.0 {
        log_a_int(q, sigma, alpha as u64) / (alpha - 1.0)
    } else {
        log_a_frac(q, sigma, alpha) / (alpha - 1.0)
    }
}

/// `log(A_alpha)` for integer `alpha`: `A_alpha = sum_i C(alpha, i) q^i (1 - q)^(alpha - i)
/// exp((i^2 - i) / (2 sigma^2))`, summed in log space.
#[track_caller]
fn log_a_int(q: f64, sigma: f64, alpha: u64) -> f64 {
    let (log_q, log_1mq) = (q.ln(), (-q).ln_1p());
    let mut log_a = f64::NEG_INFINITY;
    let mut log_binom = 0.0; // ln C(alpha, 0)
    for i in 0..=alpha {
        let fi = i as f64;
        let term = log_binom
            + fi * log_q
            + (alpha - i) as f64 * log_1mq
            + (fi * fi - fi) / (2.0 * sigma * sigma);
        log_a = log_add(log_a, term);
        // ln C(alpha, i + 1) = ln C(alpha, i) + ln(alpha - i) - ln(i + 1)
        if i < alpha {
            log_binom += ((alpha - i) as f64).ln() - (fi + 1.0).ln();
        }
    }
    log_a
}

/// `log(A_alpha)` for fractional `alpha`: the two halves of the integral split at
/// `z0 = sigma^2 ln(1/q - 1) + 1/2`, each a series in generalised binomial coefficients
/// (which change sign past `alpha`), summed until the terms fall below `e^-30`.
#[track_caller]
fn log_a_frac(q: f64, sigma: f64, alpha: f64) -> f64 {
    let (log_q, log_1mq) = (q.ln(), (-q).ln_1p());
    let z0 = sigma * sigma * (1.0 / q - 1.0).ln() + 0.5;
    let two_sigma2 = 2.0 * sigma * sigma;
    let sqrt2_sigma = std::f64::consts::SQRT_2 * sigma;
    let (mut log_a0, mut log_a1) = (f64::NEG_INFINITY, f64::NEG_INFINITY);
    // ln |C(alpha, i)| and its sign, updated by C(alpha, i+1) = C(alpha, i) (alpha - i)/(i + 1).
    let (mut log_coef, mut coef_positive) = (0.0f64, true);
    let mut i = 0.0f64;
    loop {
        let j = alpha - i;
        let log_t0 = log_coef + i * log_q + j * log_1mq;
        let log_t1 = log_coef + j * log_q + i * log_1mq;
        let log_e0 = 0.5f64.ln() + log_erfc((i - z0) / sqrt2_sigma);
        let log_e1 = 0.5f64.ln() + log_erfc((z0 - j) / sqrt2_sigma);
        let log_s0 = log_t0 + (i * i - i) / two_sigma2 + log_e0;
        let log_s1 = log_t1 + (j * j - j) / two_sigma2 + log_e1;
        if coef_positive {
            log_a0 = log_add(log_a0, log_s0);
            log_a1 = log_add(log_a1, log_s1);
        } else {
            log_a0 = log_sub(log_a0, log_s0, (q, sigma, alpha));
            log_a1 = log_sub(log_a1, log_s1, (q, sigma, alpha));
        }
        if log_s0.max(log_s1) < -30.0 {
            break;
        }
        log_coef += (alpha - i).abs().ln() - (i + 1.0).ln();
        if alpha - i < 0.0 {
            coef_positive = !coef_positive;
        }
        i += 1.0;
    }
    log_add(log_a0, log_a1)
}

/// `ln(e^x + e^y)`.
fn log_add(x: f64, y: f64) -> f64 {
    let (a, b) = if x < y { (x, y) } else { (y, x) };
    if a == f64::NEG_INFINITY {
        return b;
    }
    (a - b).exp().ln_1p() + b
}

/// `ln(e^x - e^y)` for `x >= y`.
#[track_caller]
fn log_sub(x: f64, y: f64, setting: (f64, f64, f64)) -> f64 {
    if x.is_nan() || y.is_nan() || x < y {
        raise(Error::value(
            "compute_rdp",
            format!(
                "the RDP series for (sample_rate, noise_multiplier, order) = {setting:?} lost \
                 precision (log-space subtraction went negative); try an integer order"
            ),
        ));
    }
    if y == f64::NEG_INFINITY {
        return x;
    }
    if x == y {
        return f64::NEG_INFINITY;
    }
    let d = x - y;
    // ln(e^d - 1) = d to f64 precision once e^-d is below the rounding error of d.
    if d > 40.0 { x } else { d.exp_m1().ln() + y }
}

/// `ln(erfc(x))`, accurate in the far tail where `erfc` underflows.
fn log_erfc(x: f64) -> f64 {
    // Past 26, erfc(x) < 1e-296 nears the subnormal range and loses precision.
    if x <= 26.0 {
        return libm::erfc(x).ln();
    }
    // Asymptotic series at infinity (TF Privacy's fallback when erfc underflows):
    // ln erfc(x) = -x^2 - ln(x sqrt(pi)) - 1/(2x^2) + 5/(8x^4) - 37/(24x^6) + 353/(64x^8) ...;
    // for x > 26 the first omitted term is below 2e-13.
    let x2 = x * x;
    -x2 - (x * std::f64::consts::PI.sqrt()).ln() - 0.5 / x2 + 0.625 / (x2 * x2)
        - 37.0 / 24.0 / (x2 * x2 * x2)
        + 353.0 / 64.0 / (x2 * x2 * x2 * x2)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(actual: f64, expected: f64, rtol: f64) -> bool {
        (actual - expected).abs() <= rtol * expected.abs()
    }

    // Published values, each from the project's own unit tests:
    // - Opacus, opacus/tests/accountants_test.py, `test_rdp_accountant`
    //   (github.com/pytorch/opacus, commit 030b723fb89aabf3cde663018bb63e5bb95f197a).
    // - Google's dp_accounting (the successor of TF Privacy's rdp_accountant.py),
    //   python/dp_accounting/dp_accounting/rdp/rdp_privacy_accountant_test.py
    //   (github.com/google/differential-privacy, commit 0b109e959470c43e9f177d5411603b70a56cdc7a).
    // - TF Privacy, tensorflow_privacy/privacy/analysis/rdp_accountant_test.py
    //   (github.com/tensorflow/privacy, commit 09270afed61a4e9ef6295217b53731f7515f0350).

    #[test]
    fn opacus_published_epsilon() {
        // test_rdp_accountant: noise 1.5, sample rate 0.04, int(90 / 0.04) = 2250 steps,
        // delta 1e-5: assertAlmostEqual(epsilon, 7.32911117143) (7 decimal places).
        let mut one_call = RdpAccountant::new();
        one_call.step(1.5, 0.04, 2250);
        let mut per_step = RdpAccountant::new();
        for _ in 0..2250 {
            per_step.step(1.5, 0.04, 1);
        }
        assert_eq!(per_step.history, vec![(1.5, 0.04, 2250)]);
        for accountant in [one_call, per_step] {
            let (epsilon, order) = accountant.epsilon(1e-5);
            assert!((epsilon - 7.32911117143).abs() < 5e-8, "{epsilon}");
            assert_eq!(order, 3.9);
        }
    }

    #[test]
    fn dp_accounting_published_rdp() {
        // test_compute_rdp_poisson_sampled_gaussian: q 0.01, noise 2.5, 50 steps,
        // np.allclose(rdp, [...], rtol=1e-4) at orders 1.5, 2.5, 5, 50, 100, inf. Order 1.5 is
        // left out: dp_accounting's fractional series adds |C(alpha, i)| terms without their
        // signs (a looser bound, 6.7058e-4); the signed series of Mironov et al. that Opacus
        // and older TF Privacy use gives 6.50071e-4, which mpmath's integral of A_alpha
        // confirms and TF Privacy's test below publishes.
        let orders = [2.5, 5.0, 50.0, 100.0, f64::INFINITY];
        let expected = [
            1.08548710e-03,
            2.18075656e-03,
            2.38460375e-02,
            1.67416308e02,
        ];
        let rdp = compute_rdp(0.01, 2.5, 50, &orders);
        for (r, e) in rdp.iter().zip(expected) {
            assert!(close(*r, e, 1e-4), "{rdp:?}");
        }
        assert_eq!(rdp[4], f64::INFINITY);
    }

    #[test]
    fn tf_privacy_published_rdp() {
        // test_compute_rdp_scalar: compute_rdp(0.1, 2, 10, 5) = 0.07737 (5 places).
        assert!((compute_rdp(0.1, 2.0, 10, &[5.0])[0] - 0.07737).abs() < 5e-6);
        // test_compute_rdp_sequence: compute_rdp(0.01, 2.5, 50, [1.5, 2.5, 5, 50, 100, inf])
        // = [0.00065, 0.001085, 0.00218075, 0.023846, 167.416307, inf] (delta 1e-5).
        let rdp = compute_rdp(0.01, 2.5, 50, &[1.5, 2.5, 5.0, 50.0, 100.0, f64::INFINITY]);
        let expected = [0.00065, 0.001085, 0.00218075, 0.023846, 167.416307];
        for (r, e) in rdp.iter().zip(expected) {
            assert!((r - e).abs() < 1e-5, "{rdp:?}");
        }
        assert_eq!(rdp[5], f64::INFINITY);
        // test_compute_rdp_no_data (q = 0) and test_compute_rdp_no_sampling (q = 1).
        assert_eq!(compute_rdp(0.0, 10.0, 1, &[20.0]), vec![0.0]);
        assert_eq!(compute_rdp(1.0, 10.0, 1, &[20.0]), vec![0.1]);
    }

    #[test]
    fn published_epsilon_conversions() {
        // dp_accounting test_compute_epsilon_delta_pure_dp (and TF Privacy's
        // test_get_privacy_spent_check_target_delta): RDP 1.1 at orders 2..32, delta 1e-5
        // gives epsilon 1.32783806176 at order 32.
        let orders: Vec<f64> = (2..33).map(f64::from).collect();
        let (epsilon, order) = privacy_spent(&orders, &vec![1.1; orders.len()], 1e-5);
        assert!((epsilon - 1.32783806176).abs() < 5e-8, "{epsilon}");
        assert_eq!(order, 32.0);

        // test_compute_epsilon_delta_gaussian: the Gaussian mechanism with noise 4.530877117
        // over orders 0.001 * (1000..100000) is (1, 1e-6)-DP (assertAlmostEqual, 7 places).
        // Order 1 itself is left out: this API requires orders > 1, and at 1 the bound is
        // undefined (dp_accounting skips orders below 1.01).
        let orders: Vec<f64> = (1001..100000).map(|i| 0.001 * f64::from(i)).collect();
        let rdp = compute_rdp(1.0, 4.530877117, 1, &orders);
        let (epsilon, _) = privacy_spent(&orders, &rdp, 1e-6);
        assert!((epsilon - 1.0).abs() < 5e-8, "{epsilon}");
    }

    #[test]
    fn matches_opacus_1_6_rdp_accountant() {
        // Computed with opacus 1.6.0 (PyPI), `RDPAccountant` with `history = [(noise,
        // sample_rate, steps)]` and `get_privacy_spent(delta=...)` over its default orders.
        let cases = [
            // (noise, sample rate, steps, delta, epsilon, best order)
            (1.5, 0.04, 2250, 1e-5, 7.3291111714386545, 3.9),
            // Abadi et al.-style MNIST: batch 256 of 60000, 60 epochs.
            (1.1, 256.0 / 60000.0, 14062, 1e-5, 2.5965558689607486, 8.1),
            // Digits-sized: batch 64 of 1437, 10 epochs.
            (1.0, 64.0 / 1437.0, 224, 1e-5, 5.017657901743382, 4.3),
            (0.8, 0.01, 1000, 1e-6, 4.293340801773579, 4.9),
            (4.0, 0.5, 100, 1e-5, 6.350179544185608, 4.4),
            (0.5, 0.001, 100000, 1e-5, 14.570158170726522, 2.3),
        ];
        for (sigma, q, steps, delta, eps, alpha) in cases {
            let mut accountant = RdpAccountant::new();
            accountant.step(sigma, q, steps);
            let (epsilon, order) = accountant.epsilon(delta);
            assert!(
                close(epsilon, eps, 1e-10),
                "noise {sigma}, q {q}, {steps} steps: {epsilon} vs opacus {eps}"
            );
            assert_eq!(order, alpha);
        }

        // Per-order RDP of one step (opacus `compute_rdp(q, noise_multiplier, steps=1,
        // orders)`), integer and fractional orders.
        let orders = [1.1, 1.5, 2.0, 2.5, 3.7, 10.9, 12.0, 32.0, 63.0];
        let cases: [(f64, f64, [f64; 9]); 3] = [
            (
                0.04,
                1.5,
                [
                    0.00048165674090481283,
                    0.0006631116940563884,
                    0.000894996966873696,
                    0.0011328034664240456,
                    0.0017298124900233425,
                    0.006591672068071702,
                    0.0077655603810839885,
                    3.788426314311532,
                    10.729206823144093,
                ],
            ),
            (
                0.01,
                0.7,
                [
                    0.00032843787855268703,
                    0.00046922577706008835,
                    0.000669464839435923,
                    0.0009098691963504071,
                    0.0019596673250537717,
                    6.052110271140885,
                    7.22107595733473,
                    27.899337161534355,
                    59.60626716124253,
                ],
            ),
            (
                0.3,
                2.0,
                [
                    0.013188642592707732,
                    0.018391319219010244,
                    0.02524103535169589,
                    0.03251350029705385,
                    0.051984626899236615,
                    0.30576931669859786,
                    0.3858138683364409,
                    2.7582309544510144,
                    6.651608719384147,
                ],
            ),
        ];
        for (q, sigma, expected) in cases {
            let rdp = compute_rdp(q, sigma, 1, &orders);
            for ((r, e), alpha) in rdp.iter().zip(expected).zip(orders) {
                assert!(
                    close(*r, e, 1e-9),
                    "q {q}, noise {sigma}, order {alpha}: {r} vs {e}"
                );
            }
        }
    }

    #[test]
    #[allow(clippy::excessive_precision)] // mpmath's digits, as printed
    fn log_a_matches_multi_precision_at_tf_privacys_hard_settings() {
        // The (q, sigma, order) settings of TF Privacy's test_compute_log_a_equals_mp, which
        // checks log(A_alpha) against multi-precision integration with rtol 1e-4. Expected
        // values from mpmath 1.3.0 at 40 digits: the exact finite sum for integer orders,
        // `mp.quad` of the integral defining A_alpha for fractional ones. (opacus 1.6.0 agrees
        // to 1e-12 except on the three smallest values, where its log(1 - q) instead of
        // log1p(-q) costs it up to 9e-7 relative.)
        let cases = [
            (1e-7, 0.1, 1.01f64, 4.0034123225263953e-8),
            (1e-6, 0.1, 256.0, 3260463.2292971611),
            (1e-5, 0.1, 256.1, 3263607.0397884211),
            (1e-6, 1.0, 27.0, 8.7695113048485018e-10),
            (1e-4, 1.0, 1.5, 6.4426869538366491e-9),
            (1e-3, 1.0, 2.0, 1.7182803522145153e-6),
            (0.01, 10.0, 20.0, 0.00019129699912842962),
            (0.1, 100.0, 20.5, 0.00019991818458068294),
            (0.99, 0.1, 256.0, 3263997.4271140215),
            (0.999, 100.0, 256.1, 3.2601080379731121),
        ];
        for (q, sigma, alpha, expected) in cases {
            let log_a = if alpha.fract() == 0.0 {
                log_a_int(q, sigma, alpha as u64)
            } else {
                log_a_frac(q, sigma, alpha)
            };
            // atol: the fractional series stops at terms below e^-30 (~1e-13), which shows
            // only where log(A) itself is tiny (1.3e-14 off at the first setting).
            assert!(
                (log_a - expected).abs() <= 1e-9 * expected.abs() + 1e-13,
                "q {q}, noise {sigma}, order {alpha}: {log_a} vs {expected}"
            );
        }
    }

    #[test]
    fn composition_adds_rdp_and_epsilon_grows() {
        let orders = default_orders();
        let mut accountant = RdpAccountant::new();
        assert_eq!(accountant.epsilon(1e-5).0, 0.0);
        accountant.step(1.0, 0.02, 100);
        let eps_100 = accountant.epsilon(1e-5).0;
        accountant.step(2.0, 0.05, 10);
        accountant.step(1.0, 0.02, 100);
        assert_eq!(accountant.history.len(), 3);
        let expected: Vec<f64> = compute_rdp(0.02, 1.0, 200, &orders)
            .iter()
            .zip(compute_rdp(0.05, 2.0, 10, &orders))
            .map(|(a, b)| a + b)
            .collect();
        for (r, e) in accountant.rdp(&orders).iter().zip(&expected) {
            assert!(close(*r, *e, 1e-12));
        }
        assert!(accountant.epsilon(1e-5).0 > eps_100);
        // A smaller delta costs more epsilon.
        assert!(accountant.epsilon(1e-8).0 > accountant.epsilon(1e-5).0);
    }

    #[test]
    fn non_private_and_empty_cases() {
        let mut accountant = RdpAccountant::new();
        assert!(accountant.epsilon(1e-5).1.is_nan());
        accountant.step(0.0, 0.1, 1);
        assert_eq!(accountant.epsilon(1e-5).0, f64::INFINITY);
        assert_eq!(compute_rdp(0.1, 0.0, 0, &[2.0]), vec![0.0]);
    }

    #[test]
    fn log_erfc_is_continuous_where_the_series_takes_over() {
        let below = log_erfc(26.0);
        let above = log_erfc(26.0 + 1e-9);
        assert!((below - above).abs() < 1e-6, "{below} {above}");
        assert!((log_erfc(0.0) - 0.0).abs() < 1e-15);
        assert!((log_erfc(-40.0) - 2f64.ln()).abs() < 1e-15);
    }

    #[test]
    #[should_panic(expected = "RdpAccountant::step: sample_rate must be in [0, 1]")]
    fn bad_sample_rate_panics() {
        RdpAccountant::new().step(1.0, 1.5, 1);
    }

    #[test]
    #[should_panic(expected = "compute_rdp: RDP orders must be > 1, got 1")]
    fn order_one_panics() {
        compute_rdp(0.1, 1.0, 1, &[2.0, 1.0]);
    }

    #[test]
    #[should_panic(expected = "RdpAccountant::epsilon: delta must be in (0, 1), got 0")]
    fn zero_delta_panics() {
        let mut accountant = RdpAccountant::new();
        accountant.step(1.0, 0.1, 1);
        accountant.epsilon(0.0);
    }

    #[test]
    fn default_orders_match_opacus() {
        let orders = default_orders();
        assert_eq!(orders.len(), 99 + 52);
        assert_eq!(orders[0], 1.1);
        assert_eq!(orders[98], 10.9);
        assert_eq!(orders[99], 12.0);
        assert_eq!(*orders.last().unwrap(), 63.0);
    }
}
