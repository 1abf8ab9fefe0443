//! Differentially private SGD (DP-SGD) on the handwritten digits, with per-sample gradients
//! from `vmap(grad(..))`.
//!
//! A model trained on personal data can leak it: membership-inference and extraction attacks
//! recover facts about training examples from ordinary models. DP-SGD (Abadi et al. 2016,
//! "Deep Learning with Differential Privacy") bounds what any single example can change:
//! each step clips every example's gradient to L2 norm `C`, sums the clipped gradients and
//! adds Gaussian noise of standard deviation `sigma * C`. Private-training libraries (Opacus
//! for PyTorch, TensorFlow Privacy, JAX Privacy) are built on it, and its cost is the
//! per-sample gradient, which ordinary backpropagation does not give.
//!
//! This mirrors PyTorch's "Per-sample-gradients" tutorial
//! (`intermediate_source/per_sample_grads.py`), which names differential privacy as a use
//! of per-sample gradients, and Opacus's functorch grad sampler
//! (`opacus/grad_sample/functorch.py`, `grad_sample_mode="functorch"`), which computes
//! per-sample gradients with `vmap(grad(loss), in_dims=(None, 0, 0))` over a functional copy
//! of the layer. Here the whole model goes through `functional_call` under one
//! `vmap(grad(..))`, and the function under `vmap` also clips, so one vectorised call
//! returns every example's clipped gradient.
//!
//! What it does and checks:
//! - For one batch of 256 training digits, the sum of clipped per-sample gradients is
//!   computed the naive way (a loop: `grad` of each example's loss, clipped, added up) and
//!   with `vmap` of the same clipped-gradient function; asserts they agree (allclose) and
//!   that every vmapped clipped gradient has norm at most `C`, and prints both timings.
//! - Trains a small CNN (conv 1->16, tanh, max-pool, conv 16->32, tanh, max-pool, linear
//!   128->10) privately, and the same model (same initial weights, optimiser, learning-rate
//!   schedule, number of steps) ordinarily: plain mean gradients of shuffled minibatches of
//!   the expected private batch size, no clipping or noise. One line per epoch: training
//!   loss and test accuracy of both.
//! - Privacy accounting: the steps go to the library's RDP accountant for the
//!   Poisson-subsampled Gaussian mechanism (`cotangent::privacy::RdpAccountant`), and the
//!   example prints `private model: test accuracy NN.N% (epsilon E at delta 1e-5)`. It
//!   asserts the private model reaches 90% test accuracy, and writes a PNG of training loss
//!   and test accuracy per epoch to `<target dir>/dp_sgd_digits.png`.
//!
//! Sampling is Poisson, as the accountant assumes: each step includes each of the N training
//! examples independently with probability `q = B / N` (B = 256 expected), so batch sizes
//! vary and may even be empty (then the step is noise alone). The noisy sum is divided by the
//! expected batch size `q N`, not the actual one, which would itself depend on the data
//! (Opacus does the same).
//!
//! The privacy statement: the sequence of noisy gradients, hence every model along the way
//! and the final one, is (epsilon, delta)-differentially private with respect to adding or
//! removing one of the 1437 training digits (the test digits are treated as public). Not
//! covered: the training loss printed and plotted for the private model (a diagnostic that
//! reads the training data outside the mechanism; a real deployment would not release it),
//! the choice of hyper-parameters, which were tuned by looking at the results, and the
//! random numbers, which come from a fast seeded generator (Philox), not a cryptographically
//! secure one (Opacus's `secure_mode`).
//!
//! Run with `cargo run --release --example dp_sgd_digits` (about 12 s on 2 cores); options
//! `-- --epochs N` (default 40; more epochs spend more privacy) and `-- --seed S` (default
//! 0; the model's initialisation, the sampling, the noise and the train/test split).

#[path = "common/check.rs"]
mod check;
#[path = "common/device.rs"]
mod device;
#[path = "common/plot.rs"]
mod plot;

use std::path::PathBuf;
use std::time::Instant;

use check::{assert_close, time_interleaved};
use cotangent::datasets::{Digits, load_digits_default};
use cotangent::nn::optim::Sgd;
use cotangent::nn::{self, Conv2d, Conv2dArgs, Linear, Module, StateDict};
use cotangent::privacy::RdpAccountant;
use cotangent::{
    DType, Tensor, UNMAPPED, VmapOpts, cross_entropy, grad_and_value, manual_seed, vmap_with,
};

/// Expected batch size `B`: each step samples each training example with probability
/// `B / N`. Large batches average more signal against the same noise per step.
const EXPECTED_BATCH: f64 = 256.0;
/// Noise multiplier `sigma`: the noise added to the sum has standard deviation `sigma * C`.
const NOISE_MULTIPLIER: f64 = 2.0;
/// Clipping norm `C` of each example's gradient (over all parameters together).
const MAX_GRAD_NORM: f64 = 0.5;
/// SGD with heavy-ball momentum, the learning rate decayed to 0 on a cosine over training.
const LEARNING_RATE: f64 = 0.8;
const MOMENTUM: f64 = 0.9;
const DEFAULT_EPOCHS: usize = 40;
const DELTA: f64 = 1e-5;
const TEST_FRACTION: f64 = 0.2;
const MIN_PRIVATE_ACCURACY: f64 = 90.0;

/// The CNN for 1x8x8 digits: 8x8 -> pool -> 4x4 -> pool -> 2x2, 32 channels, 10 logits.
/// tanh rather than ReLU: under clipping and noise its bounded activations train better
/// (Papernot et al. 2021, "Tempered sigmoid activations for deep learning with differential
/// privacy"); here ReLU lost about 4 points of private test accuracy (10 seeds, batch 64).
#[derive(Clone)]
struct DigitsCnn {
    conv1: Conv2d,
    conv2: Conv2d,
    fc: Linear,
    training: bool,
}

impl DigitsCnn {
    fn new() -> DigitsCnn {
        let same = Conv2dArgs {
            padding: [1, 1],
            ..Conv2dArgs::default()
        };
        DigitsCnn {
            conv1: Conv2d::with(1, 16, [3, 3], same),
            conv2: Conv2d::with(16, 32, [3, 3], same),
            fc: Linear::new(32 * 2 * 2, 10),
            training: true,
        }
    }
}

impl Module for DigitsCnn {
    fn type_name(&self) -> &'static str {
        "DigitsCnn"
    }
    fn try_forward(&self, x: &Tensor) -> cotangent::Result<Tensor> {
        let pool = |x: &Tensor| cotangent::max_pool2d(x, [2, 2], None, [0, 0], [1, 1], false);
        // Pixels in [0, 1] centred to [-1, 1]: a fixed map, so it costs no privacy.
        let x = (x - 0.5) * 2.0;
        let x = pool(&self.conv1.try_forward(&x)?.tanh());
        let x = pool(&self.conv2.try_forward(&x)?.tanh());
        self.fc.try_forward(&x.flatten(1, -1))
    }
    cotangent::module_children!(conv1, conv2, fc);
    cotangent::module_training_flag!();
}

/// One example's gradient of the loss, scaled to L2 norm at most `MAX_GRAD_NORM` over all
/// parameters together (Opacus's factor `min(1, C / (norm + 1e-6))`), and the loss itself.
fn clipped_grad(
    model: &DigitsCnn,
    params: &StateDict,
    image: &Tensor,
    label: &Tensor,
) -> (StateDict, Tensor) {
    let loss = |(p, x, y): (StateDict, Tensor, Tensor)| {
        cross_entropy(
            &nn::functional_call(model, &p, &x.unsqueeze(0)),
            &y.unsqueeze(0),
        )
    };
    let (g, loss): (StateDict, Tensor) =
        grad_and_value(loss)((params.clone(), image.clone(), label.clone()));
    let norm = g
        .values()
        .map(|t| t.square().sum())
        .reduce(|a, b| &a + &b)
        .expect("the model has parameters")
        .sqrt();
    let factor = (MAX_GRAD_NORM / (norm + 1e-6)).clamp(None, Some(1.0));
    let clipped = g.into_iter().map(|(k, t)| (k, &t * &factor)).collect();
    (clipped, loss)
}

/// Every example's clipped gradient (stacked along a new dim 0) and loss:
/// `vmap(clipped_grad, in_dims=(None, 0, 0))` over the batch.
fn per_sample_clipped(
    model: &DigitsCnn,
    params: &StateDict,
    batch: &Digits,
) -> (StateDict, Tensor) {
    vmap_with(
        |(p, x, y): (StateDict, Tensor, Tensor)| clipped_grad(model, &p, &x, &y),
        VmapOpts::new().in_dims((UNMAPPED, 0, 0)),
    )((params.clone(), batch.images.clone(), batch.labels.clone()))
}

/// The sums over a batch of the clipped per-sample gradients and of the losses, with
/// transforms: [`per_sample_clipped`], then sums over the batch dim. An empty batch (Poisson
/// sampling can draw one) sums to zeros without running the model at all.
fn clipped_grad_sum(model: &DigitsCnn, params: &StateDict, batch: &Digits) -> (StateDict, f64) {
    if batch.is_empty() {
        return (zeros_like(params), 0.0);
    }
    let (grads, losses) = per_sample_clipped(model, params, batch);
    let sums = grads
        .into_iter()
        .map(|(k, g)| (k, g.sum_dim(&[0], false)))
        .collect();
    (sums, f64::from(losses.sum().item::<f32>()))
}

/// The same sums the naive way: a loop over the examples, one `grad` each, clipped and added.
fn clipped_grad_sum_loop(
    model: &DigitsCnn,
    params: &StateDict,
    batch: &Digits,
) -> (StateDict, f64) {
    let mut sums = zeros_like(params);
    let mut loss_sum = 0.0;
    for i in 0..batch.len() as isize {
        let (g, loss) = clipped_grad(
            model,
            params,
            &batch.images.select(0, i),
            &batch.labels.select(0, i),
        );
        for (k, t) in g {
            let s = sums.get_mut(&k).expect("same keys");
            *s = &*s + &t;
        }
        loss_sum += f64::from(loss.item::<f32>());
    }
    (sums, loss_sum)
}

fn zeros_like(params: &StateDict) -> StateDict {
    params
        .iter()
        .map(|(k, p)| (k.clone(), p.zeros_like()))
        .collect()
}

/// The norm of each example's gradient, from per-example gradients `[n, ...]`.
fn per_example_norms(g: &StateDict) -> Tensor {
    g.values()
        .map(|t| t.square().flatten(1, -1).sum_dim(&[1], false))
        .reduce(|a, b| &a + &b)
        .expect("the model has parameters")
        .sqrt()
}

/// Naive loop versus `vmap` on one batch of 256 training digits: same clipped sum, timings.
fn compare_naive_and_vmap(model: &DigitsCnn, params: &StateDict, train: &Digits) {
    let batch = train.subset(&(0..EXPECTED_BATCH as usize).collect::<Vec<_>>());
    let runs = 3;
    let mut timings = time_interleaved(
        runs,
        &mut [
            &mut || clipped_grad_sum_loop(model, params, &batch),
            &mut || clipped_grad_sum(model, params, &batch),
        ],
    );
    let (vmap_ms, (vmapped, vmapped_loss)) = timings.pop().expect("two timings");
    let (naive_ms, (looped, looped_loss)) = timings.pop().expect("two timings");
    let mut worst = 0f64;
    for (name, a) in &looped {
        let what = format!("clipped gradient sum of {name}, loop vs vmap");
        worst = worst.max(assert_close(&what, a, &vmapped[name], 1e-4, 1e-5));
    }
    assert!(
        (looped_loss - vmapped_loss).abs() <= 1e-4 * looped_loss.abs(),
        "loss sum, loop vs vmap: {looped_loss} vs {vmapped_loss}"
    );
    let norms = per_example_norms(&per_sample_clipped(model, params, &batch).0);
    let max_norm = norms.max().item::<f32>();
    assert!(
        f64::from(max_norm) <= MAX_GRAD_NORM * (1.0 + 1e-4),
        "a clipped per-sample gradient has norm {max_norm}, above the clipping norm {MAX_GRAD_NORM}"
    );
    let clipped = norms
        .ge_scalar(MAX_GRAD_NORM * (1.0 - 1e-3))
        .to_dtype(DType::I64)
        .sum();
    println!(
        "clipped per-sample gradient sum over {} digits: loop and vmap agree (allclose \
         rtol=1e-4, atol=1e-5; largest difference {worst:.1e}); {} of {} gradients were \
         clipped to norm {MAX_GRAD_NORM}, none is longer",
        batch.len(),
        clipped.item::<i64>(),
        batch.len()
    );
    println!(
        "naive loop: {naive_ms:.1} ms   vmap(grad): {vmap_ms:.1} ms   ({:.1}x)   [median of {runs}]",
        naive_ms / vmap_ms
    );
}

/// Test accuracy in percent.
fn accuracy(model: &DigitsCnn, params: &StateDict, test: &Digits) -> f64 {
    let predicted = nn::functional_call(model, params, &test.images).argmax(Some(-1), false);
    let correct = predicted.eq(&test.labels).to_dtype(DType::F64).mean();
    100.0 * correct.item::<f64>()
}

/// The cosine learning-rate schedule at `step` of `total`: from `LEARNING_RATE` down to 0.
/// It only post-processes the noisy gradients, so it costs no privacy.
fn learning_rate(step: usize, total: usize) -> f64 {
    LEARNING_RATE * 0.5 * (1.0 + (std::f64::consts::PI * step as f64 / total as f64).cos())
}

/// The per-epoch curves of one model.
#[derive(Default)]
struct History {
    train_loss: Vec<f64>,
    test_accuracy: Vec<f64>,
}

struct Args {
    epochs: usize,
    seed: u64,
}

fn parse_args() -> Args {
    let usage = "usage: dp_sgd_digits [--epochs N] [--seed S] [--device cpu|cuda]";
    let mut args = Args {
        epochs: DEFAULT_EPOCHS,
        seed: 0,
    };
    let mut it = device::other_args().into_iter();
    while let Some(flag) = it.next() {
        let value = it.next();
        let parsed = value.as_deref().and_then(|v| v.parse::<u64>().ok());
        match (flag.as_str(), parsed) {
            ("--epochs", Some(n)) if n > 0 => args.epochs = n as usize,
            ("--seed", Some(s)) => args.seed = s,
            _ => {
                eprintln!(
                    "dp_sgd_digits: cannot use {flag} {}\n{usage}",
                    value.unwrap_or_default()
                );
                std::process::exit(2);
            }
        }
    }
    args
}

/// Where the plot goes: the cargo target dir (`target/`, three levels above
/// `target/release/examples/dp_sgd_digits`), else the system's temporary dir.
fn plot_path() -> PathBuf {
    let exe = std::env::current_exe().ok();
    let target = exe
        .as_deref()
        .and_then(|p| p.ancestors().nth(3))
        .map(PathBuf::from);
    target
        .filter(|t| t.is_dir())
        .unwrap_or_else(std::env::temp_dir)
        .join("dp_sgd_digits.png")
}

fn main() -> cotangent::Result<()> {
    device::from_args();
    let start = Instant::now();
    let args = parse_args();
    manual_seed(args.seed);
    let (train, test) = load_digits_default()?.split(TEST_FRACTION, args.seed);
    let n = train.len();
    let sample_rate = EXPECTED_BATCH / n as f64;
    let steps_per_epoch = (1.0 / sample_rate).round() as usize;
    let total_steps = args.epochs * steps_per_epoch;

    let model = DigitsCnn::new();
    let initial = model.named_parameters();
    println!(
        "DP-SGD on {n} training digits ({} test), CNN with {} parameters; Poisson sampling \
         q = {EXPECTED_BATCH}/{n} = {sample_rate:.3}, noise multiplier {NOISE_MULTIPLIER}, \
         clipping norm {MAX_GRAD_NORM}, {} epochs of {steps_per_epoch} steps",
        test.len(),
        model.num_parameters(),
        args.epochs
    );

    compare_naive_and_vmap(&model, &initial, &train);

    let opt = |step| Sgd::new(learning_rate(step, total_steps)).momentum(MOMENTUM);
    let (mut private, mut ordinary) = (initial.clone(), initial.clone());
    let (mut private_state, mut ordinary_state) = (opt(0).init(&private), opt(0).init(&ordinary));
    let (mut private_curve, mut ordinary_curve) = (History::default(), History::default());
    let mut accountant = RdpAccountant::new();
    let mut batch_sizes = (usize::MAX, 0);
    let mut step = 0;
    for epoch in 1..=args.epochs {
        // The training loss of an epoch is the mean of the losses of the examples its steps
        // drew, each at the parameters of its step.
        let (mut private_loss, mut private_seen) = (0.0, 0);
        let (mut ordinary_loss, mut ordinary_seen) = (0.0, 0);

        // The ordinary model: one shuffled pass in steps_per_epoch minibatches.
        let order: Vec<usize> = Tensor::randperm(n)
            .to_vec::<i64>()
            .iter()
            .map(|&i| i as usize)
            .collect();
        for i in 0..steps_per_epoch {
            let batch =
                train.subset(&order[i * n / steps_per_epoch..(i + 1) * n / steps_per_epoch]);
            let (g, loss): (StateDict, Tensor) = grad_and_value(|p: StateDict| {
                cross_entropy(
                    &nn::functional_call(&model, &p, &batch.images),
                    &batch.labels,
                )
            })(ordinary.clone());
            (ordinary, ordinary_state) = opt(step + i).step(&ordinary, &g, &ordinary_state);
            ordinary_loss += f64::from(loss.item::<f32>()) * batch.len() as f64;
            ordinary_seen += batch.len();
        }

        // The private model: DP-SGD.
        for _ in 0..steps_per_epoch {
            // Poisson sampling: each example independently with probability q.
            let keep = Tensor::rand(&[n]).lt_scalar(sample_rate).to_vec::<bool>();
            let indices: Vec<usize> = (0..n).filter(|&i| keep[i]).collect();
            batch_sizes = (
                batch_sizes.0.min(indices.len()),
                batch_sizes.1.max(indices.len()),
            );
            let (sum, loss_sum) = clipped_grad_sum(&model, &private, &train.subset(&indices));
            // Gaussian noise N(0, (sigma C)^2) on every coordinate, then division by the
            // expected batch size q N.
            let noisy: StateDict = sum
                .into_iter()
                .map(|(k, s)| {
                    let noise = s.randn_like() * (NOISE_MULTIPLIER * MAX_GRAD_NORM);
                    (k, (&s + &noise) * (1.0 / (sample_rate * n as f64)))
                })
                .collect();
            (private, private_state) = opt(step).step(&private, &noisy, &private_state);
            accountant.step(NOISE_MULTIPLIER, sample_rate, 1);
            step += 1;
            private_loss += loss_sum;
            private_seen += indices.len();
        }

        let (p_loss, p_acc) = (
            private_loss / private_seen.max(1) as f64,
            accuracy(&model, &private, &test),
        );
        let (o_loss, o_acc) = (
            ordinary_loss / ordinary_seen as f64,
            accuracy(&model, &ordinary, &test),
        );
        private_curve.train_loss.push(p_loss);
        private_curve.test_accuracy.push(p_acc);
        ordinary_curve.train_loss.push(o_loss);
        ordinary_curve.test_accuracy.push(o_acc);
        println!(
            "epoch {epoch:2}/{}   private: train loss {p_loss:.3}, test accuracy {p_acc:5.1}%   \
             non-private: train loss {o_loss:.3}, test accuracy {o_acc:5.1}%",
            args.epochs
        );
    }

    let (epsilon, order) = accountant.epsilon(DELTA);
    let private_accuracy = *private_curve.test_accuracy.last().expect("epochs > 0");
    let ordinary_accuracy = *ordinary_curve.test_accuracy.last().expect("epochs > 0");
    println!(
        "{step} private steps, batch sizes {} to {} (expected {EXPECTED_BATCH}); RDP \
         accountant: best order {order}",
        batch_sizes.0, batch_sizes.1
    );
    println!(
        "private model: test accuracy {private_accuracy:.1}% (epsilon {epsilon:.2} at delta 1e-5)"
    );
    println!("non-private model: test accuracy {ordinary_accuracy:.1}%");

    let path = plot_path();
    let epochs: Vec<f64> = (1..=args.epochs).map(|e| e as f64).collect();
    let series = |name, ys| plot::Series {
        name,
        xs: &epochs,
        ys,
    };
    plot::line_chart(
        &path,
        &format!("DP-SGD on digits: epsilon {epsilon:.2} at delta 1e-5, and non-private SGD"),
        "epoch",
        &[
            plot::Panel {
                y_label: "training loss",
                series: vec![
                    series("private (DP-SGD)", &private_curve.train_loss),
                    series("non-private", &ordinary_curve.train_loss),
                ],
                y_range: None,
            },
            plot::Panel {
                y_label: "test accuracy (%)",
                series: vec![
                    series("private (DP-SGD)", &private_curve.test_accuracy),
                    series("non-private", &ordinary_curve.test_accuracy),
                ],
                y_range: None,
            },
        ],
    )
    .unwrap_or_else(|e| panic!("dp_sgd_digits: writing the plot {}: {e}", path.display()));
    println!("plot: {}", path.display());

    assert!(
        private_accuracy >= MIN_PRIVATE_ACCURACY,
        "the private model reached only {private_accuracy:.1}% test accuracy after {} epochs \
         (seed {}), below {MIN_PRIVATE_ACCURACY}%",
        args.epochs,
        args.seed
    );
    println!("total time: {:.1} s", start.elapsed().as_secs_f64());
    Ok(())
}
