//! The RDP accountant: noise, sampling rates, orders and deltas out of range.

use cotangent::privacy::{RdpAccountant, compute_rdp, privacy_spent};

fn accountant() -> RdpAccountant {
    let mut a = RdpAccountant::new();
    a.step(1.0, 0.01, 10);
    a
}

bad! {
    step_negative_noise: Value("RdpAccountant::step", "noise_multiplier must be >= 0, got -1") =>
        RdpAccountant::new().step(-1.0, 0.1, 1);
    step_nan_noise: Value("RdpAccountant::step", "noise_multiplier must be >= 0, got NaN") =>
        RdpAccountant::new().step(f64::NAN, 0.1, 1);
    step_sample_rate_above_one: Value("RdpAccountant::step", "sample_rate must be in [0, 1] (the probability that an example is in a batch, e.g. batch_size / dataset_size), got 2") =>
        RdpAccountant::new().step(1.0, 2.0, 1);
    epsilon_delta_zero: Value("RdpAccountant::epsilon", "delta must be in (0, 1), got 0") =>
        accountant().epsilon(0.0);
    epsilon_delta_one: Value("RdpAccountant::epsilon", "delta must be in (0, 1), got 1") =>
        accountant().epsilon(1.0);
    epsilon_no_orders: Value("RdpAccountant::epsilon", "no RDP orders given") =>
        accountant().epsilon_with_orders(1e-5, &[]);
    rdp_order_not_above_one: Value("RdpAccountant::rdp", "RDP orders must be > 1, got 1") =>
        accountant().rdp(&[1.0, 2.0]);
    compute_rdp_sample_rate_negative: Value("compute_rdp", "sample_rate must be in [0, 1]") =>
        compute_rdp(-0.1, 1.0, 1, &[2.0]);
    compute_rdp_nan_order: Value("compute_rdp", "RDP orders must be > 1, got NaN") =>
        compute_rdp(0.1, 1.0, 1, &[f64::NAN]);
    privacy_spent_lengths_differ: Shape("privacy_spent", "2 orders but 1 RDP values; give one RDP value per order") =>
        privacy_spent(&[2.0, 3.0], &[0.1], 1e-5);
    privacy_spent_delta_nan: Value("privacy_spent", "delta must be in (0, 1), got NaN") =>
        privacy_spent(&[2.0], &[0.1], f64::NAN);
}
