//! Per-sample gradients: one gradient per example of a batch instead of their mean.
//!
//! Differential privacy (DP-SGD clips each example's gradient before averaging), data
//! attribution and influence functions, gradient-noise and optimisation research all need the
//! gradient of the loss for every example separately, while ordinary backpropagation only
//! gives the batch mean. The naive way is a loop with a batch of one; `torch.func` writes
//! the loss for one example and lets `vmap(grad(..))` vectorise it over the batch.
//!
//! This mirrors PyTorch's "Per-sample-gradients" tutorial
//! (`intermediate_source/per_sample_grads.py`), on real data: the tutorial's `SimpleCNN`
//! adapted to the 8x8 handwritten digits that ship with the crate (`fc1` takes the 256
//! features of a 2x2x64 map instead of MNIST's 9216), a batch of 64 digits, `log_softmax`
//! and `nll_loss` (cross-entropy) as in the tutorial. It computes the per-sample gradients
//! the naive way (`compute_grad` per example, stacked) and with
//! `vmap(grad(compute_loss), in_dims=(None, None, 0, 0))` over `functional_call`, asserts
//! the two agree for every parameter with `allclose(rtol=1e-4, atol=1e-6)` (f32; tighter
//! than the tutorial's `atol=3e-3, rtol=1e-5`, and the largest difference is printed), checks
//! (added) that their mean is the ordinary batch gradient, and prints the timings of both.
//! A failed check panics, so the process exits non-zero.
//!
//! Run with `cargo run --release --example per_sample_grads`.

use cotangent::datasets::load_digits_default;
use cotangent::nn::{self, Module, StateDict};
use cotangent::{Result, Tensor, UNMAPPED, VmapOpts, grad, manual_seed, nll_loss, vmap_with};

#[path = "common/check.rs"]
mod check;
#[path = "common/device.rs"]
mod device;
#[path = "common/models.rs"]
mod models;
use check::{assert_close, time_interleaved};
use models::SimpleCnn;

fn main() -> Result<()> {
    device::from_args();
    manual_seed(0);
    let batch_size = 64;

    // A batch of 64 training digits: images [64, 1, 8, 8] in [0, 1], labels [64] in 0..9.
    let (train, _test) = load_digits_default()?.split(0.2, 0);
    let batch = train.subset(&(0..batch_size).collect::<Vec<_>>());
    let (data, targets) = (batch.images, batch.labels);

    let model = SimpleCnn::new();
    let params: StateDict = model.named_parameters();
    let buffers: StateDict = model.named_buffers();
    println!(
        "model: SimpleCNN on 1x8x8 digits, {} parameters in {} tensors, batch of {batch_size}",
        model.num_parameters(),
        params.len()
    );

    // loss_fn(predictions, targets) = F.nll_loss(predictions, targets)
    let loss_fn = |predictions: &Tensor, targets: &Tensor| nll_loss(predictions, targets);

    // The ordinary batch gradient: the mean over the batch, what loss.backward() gives.
    let batch_grad: StateDict = grad(|p: StateDict| {
        loss_fn(
            &nn::functional_call(&model, (&p, &buffers), &data),
            &targets,
        )
    })(params.clone());

    // The naive way: compute_grad(sample, target) with a batch of one, for each sample.
    // torch's torch.autograd.grad(loss, model.parameters()) is grad with respect to the
    // parameter dict here: modules hold no autograd state, so the loss takes the parameters.
    let compute_grad = |sample: &Tensor, target: &Tensor| -> StateDict {
        let sample = sample.unsqueeze(0);
        let target = target.unsqueeze(0);
        grad(|p: StateDict| {
            loss_fn(
                &nn::functional_call(&model, (&p, &buffers), &sample),
                &target,
            )
        })(params.clone())
    };
    let mut compute_sample_grads = || -> StateDict {
        let sample_grads: Vec<StateDict> = (0..batch_size as isize)
            .map(|i| compute_grad(&data.select(0, i), &targets.select(0, i)))
            .collect();
        params
            .keys()
            .map(|k| {
                let shards: Vec<&Tensor> = sample_grads.iter().map(|g| &g[k]).collect();
                (k.clone(), cotangent::stack(&shards, 0))
            })
            .collect()
    };

    // The efficient way: the loss of one sample, as a function of (params, buffers, sample,
    // target); grad differentiates it with respect to params, vmap maps it over the batch.
    let compute_loss =
        |(params, buffers, sample, target): (StateDict, StateDict, Tensor, Tensor)| {
            let batch = sample.unsqueeze(0);
            let targets = target.unsqueeze(0);
            let predictions = nn::functional_call(&model, (&params, &buffers), &batch);
            loss_fn(&predictions, &targets)
        };
    let ft_compute_grad = grad(compute_loss);
    let ft_compute_sample_grad = vmap_with(
        ft_compute_grad,
        VmapOpts::new().in_dims((UNMAPPED, UNMAPPED, 0, 0)),
    );

    let runs = 5;
    let mut timings = time_interleaved(
        runs,
        &mut [&mut compute_sample_grads, &mut || {
            ft_compute_sample_grad((
                params.clone(),
                buffers.clone(),
                data.clone(),
                targets.clone(),
            ))
        }],
    );
    let (vmap_ms, ft_per_sample_grads) = timings.pop().expect("two timings");
    let (naive_ms, per_sample_grads) = timings.pop().expect("two timings");

    // per_sample_grads["conv1.weight"] has one [32, 1, 3, 3] gradient per sample.
    assert_eq!(
        per_sample_grads["conv1.weight"].shape(),
        &[batch_size, 32, 1, 3, 3]
    );
    let mut worst = 0f64;
    for (name, param) in &params {
        let mut expected_shape = vec![batch_size];
        expected_shape.extend_from_slice(param.shape());
        assert_eq!(
            ft_per_sample_grads[name].shape(),
            &expected_shape[..],
            "{name}"
        );
        let diff = assert_close(
            &format!("per-sample gradient of {name}, loop vs vmap(grad)"),
            &per_sample_grads[name],
            &ft_per_sample_grads[name],
            1e-4,
            1e-6,
        );
        worst = worst.max(diff);
        // (added) The batch gradient is the mean of the per-sample gradients.
        assert_close(
            &format!("mean of per-sample gradients of {name} vs batch gradient"),
            &ft_per_sample_grads[name].mean_dim(&[0], false),
            &batch_grad[name],
            1e-4,
            1e-6,
        );
    }
    println!(
        "per-sample gradients agree for all {} parameter tensors (allclose rtol=1e-4, \
         atol=1e-6; largest difference {worst:.1e}); their mean is the batch gradient",
        params.len()
    );
    print_norms(&ft_per_sample_grads);
    println!(
        "naive loop: {naive_ms:.1} ms   vmap(grad): {vmap_ms:.1} ms   ({:.1}x)   [median of {runs}]",
        naive_ms / vmap_ms
    );
    Ok(())
}

/// The spread of per-sample gradient norms: what DP-SGD clips.
fn print_norms(grads: &StateDict) {
    let squared: Vec<Tensor> = grads
        .values()
        .map(|g| g.square().flatten(1, -1).sum_dim(&[1], false))
        .collect();
    let norms = cotangent::stack(&squared, 0).sum_dim(&[0], false).sqrt();
    println!(
        "per-sample gradient norms: min {:.3}, mean {:.3}, max {:.3}",
        norms.min().item::<f32>(),
        norms.mean().item::<f32>(),
        norms.max().item::<f32>()
    );
}
