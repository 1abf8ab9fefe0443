//! Model ensembling: run (and train) many models of one architecture as one vectorised model.
//!
//! Ensembles average the predictions of several independently initialised (or trained)
//! models; they are more accurate and better calibrated than one model, and they are how
//! people measure the effect of initialisation or data order. Running the members one after
//! another leaves the hardware idle on small models; `stack_module_state` stacks the members'
//! parameters along a new leading dim and `vmap` over `functional_call` runs them all at once.
//!
//! This mirrors PyTorch's "Model ensembling" tutorial (`intermediate_source/ensembling.py`),
//! on real data: 10 of the tutorial's `SimpleMLP` (three linear layers with ReLU, 64 -> 128
//! -> 128 -> 10 for flattened 8x8 digits instead of MNIST's 784 inputs). Its two options are
//! here with their asserts (`allclose(atol=1e-3, rtol=1e-5)`, the tutorial's; the largest
//! difference is printed): (1) a different minibatch per model, `vmap(fmodel)(params, buffers,
//! minibatches)`, and (2) the same minibatch for all, `in_dims=(0, 0, None)`, each against
//! the loop `[model(x) for model in models]`, with timings of both. On a 2-core CPU the two
//! are close at this size: each member's matmuls already keep the cores busy, so vmap saves
//! only the per-op overhead (the tutorial's large speedups are GPU numbers, where one small
//! model leaves most of the device idle).
//!
//! One step beyond the tutorial (which only runs inference): the ensemble is trained, every
//! member on its own shuffle of the training set, by a training step (`grad_and_value` of
//! the cross-entropy, then an `nn::optim::Sgd` step with momentum) vmapped over the members.
//! The first epoch also runs as a loop over the members from the same start, and the two
//! must end with the same parameters (`allclose(rtol=1e-4, atol=1e-5)`), timings printed.
//! Then the test accuracy of each member and of the ensemble (averaged logits) is printed;
//! every member must reach 90%. A failed check panics, so the process exits non-zero.
//!
//! Run with `cargo run --release --example model_ensembling`.

use std::time::Instant;

use cotangent::datasets::load_digits_default;
use cotangent::nn::optim::{Sgd, SgdState};
use cotangent::nn::{self, Module, StateDict};
use cotangent::{
    Result, Tensor, UNMAPPED, VmapOpts, cross_entropy, grad_and_value, manual_seed, vmap, vmap_with,
};

#[path = "common/check.rs"]
mod check;
#[path = "common/device.rs"]
mod device;
#[path = "common/models.rs"]
mod models;
use check::{assert_close, time_interleaved};
use models::SimpleMlp;

/// Arguments of the vmapped training step: stacked parameters, optimiser state, and one
/// minibatch (images, labels) per model.
type StepArgs = (StateDict, SgdState<StateDict>, Tensor, Tensor);

fn main() -> Result<()> {
    device::from_args();
    manual_seed(0);
    let num_models = 10;
    let batch_size = 64;

    // The digits, split 80/20 with a fixed seed: images [n, 1, 8, 8] in [0, 1], labels [n].
    let (train, test) = load_digits_default()?.split(0.2, 0);
    let (train_images, train_labels) = (train.images, train.labels);
    let (test_images, test_labels) = (test.images, test.labels);
    let n_train = train_labels.shape()[0];
    println!(
        "data: {n_train} training and {} test digits; {num_models} SimpleMLPs 64-128-128-10",
        test_labels.shape()[0]
    );

    // data: num_models different minibatches of 64 training digits.
    let order = Tensor::randperm(n_train).narrow(0, 0, num_models * batch_size);
    let minibatches = train_images.index_select(0, &order).reshape(&[
        num_models as isize,
        batch_size as isize,
        1,
        8,
        8,
    ]);
    let models: Vec<SimpleMlp> = (0..num_models).map(|_| SimpleMlp::new()).collect();

    // Option 1: a different minibatch for each model.
    let mut loop_diff = || {
        let out: Vec<Tensor> = models
            .iter()
            .zip(minibatches.unbind(0))
            .map(|(model, minibatch)| model.forward(&minibatch))
            .collect();
        cotangent::stack(&out, 0)
    };
    // Option 2: the same minibatch for every model.
    let minibatch = minibatches.select(0, 0);
    let mut loop_same = || {
        let out: Vec<Tensor> = models.iter().map(|m| m.forward(&minibatch)).collect();
        cotangent::stack(&out, 0)
    };

    // Stack each parameter of the 10 models: fc1.weight [128, 64] becomes [10, 128, 64].
    let (params, buffers) = nn::stack_module_state(&models);
    assert!(params.values().all(|p| p.shape()[0] == num_models));
    // A copy of one model supplies the structure; functional_call swaps in the tensors
    // (cloning shares the tensors, so there is no need for torch's 'meta' device).
    let base_model = models[0].clone();
    let fmodel = |(params, buffers, x): (StateDict, StateDict, Tensor)| {
        nn::functional_call(&base_model, (&params, &buffers), &x)
    };
    let vmap_diff = vmap(fmodel);
    let vmap_same = vmap_with(fmodel, VmapOpts::new().in_dims((0, 0, UNMAPPED)));

    let runs = 21;
    let mut timings = time_interleaved(
        runs,
        &mut [
            &mut loop_diff,
            &mut || vmap_diff((params.clone(), buffers.clone(), minibatches.clone())),
            &mut loop_same,
            &mut || vmap_same((params.clone(), buffers.clone(), minibatch.clone())),
        ],
    )
    .into_iter();
    let mut next = || timings.next().expect("four timings");
    let ((loop1_ms, predictions1_loop), (vmap1_ms, predictions1_vmap)) = (next(), next());
    let ((loop2_ms, predictions2_loop), (vmap2_ms, predictions2_vmap)) = (next(), next());
    let d1 = assert_close(
        "option 1 (different minibatches): vmap vs loop",
        &predictions1_vmap,
        &predictions1_loop,
        1e-5,
        1e-3,
    );
    let d2 = assert_close(
        "option 2 (same minibatch): vmap vs loop",
        &predictions2_vmap,
        &predictions2_loop,
        1e-5,
        1e-3,
    );
    assert_eq!(predictions1_vmap.shape(), &[num_models, batch_size, 10]);
    println!(
        "predictions [10, 64, 10] agree with the loop (largest difference {d1:.1e}, {d2:.1e})"
    );
    println!(
        "different minibatches: loop over models: {loop1_ms:.3} ms   vmap: {vmap1_ms:.3} ms   \
         ({:.1}x)   [median of {runs}]",
        loop1_ms / vmap1_ms
    );
    println!(
        "same minibatch:        loop over models: {loop2_ms:.3} ms   vmap: {vmap2_ms:.3} ms   \
         ({:.1}x)   [median of {runs}]",
        loop2_ms / vmap2_ms
    );

    // Beyond the tutorial: train the ensemble. One step for one model: the cross-entropy's
    // gradient and value, then an SGD step; vmap runs it for all members at once.
    let opt = Sgd::new(0.05).momentum(0.9);
    let train_step = |(params, state, images, labels): StepArgs| {
        let loss_of = |p: StateDict| {
            cross_entropy(
                &nn::functional_call(&base_model, (&p, &buffers), &images),
                &labels,
            )
        };
        let (grads, loss) = grad_and_value(loss_of)(params.clone());
        let (params, state) = opt.step(&params, &grads, &state);
        (params, state, loss)
    };
    let ensemble_step = vmap(train_step);

    // Each member sees the training set in its own order; one epoch is steps_per_epoch
    // minibatches of [num_models, batch_size] samples.
    let steps_per_epoch = n_train / batch_size;
    let epoch_batches = || -> Vec<(Tensor, Tensor)> {
        let orders: Vec<Tensor> = (0..num_models)
            .map(|_| Tensor::randperm(n_train).narrow(0, 0, steps_per_epoch * batch_size))
            .collect();
        let orders = cotangent::stack(&orders, 0); // [models, steps * batch]
        (0..steps_per_epoch as isize)
            .map(|s| {
                let index = orders
                    .narrow(1, s * batch_size as isize, batch_size)
                    .reshape(&[-1]);
                let shape = [num_models as isize, batch_size as isize, 1, 8, 8];
                (
                    train_images.index_select(0, &index).reshape(&shape),
                    train_labels
                        .index_select(0, &index)
                        .reshape(&[num_models as isize, batch_size as isize]),
                )
            })
            .collect()
    };

    // Epoch 1 twice from the same start, step by step in lockstep (so that a change in the
    // machine's load affects both alike): as a loop over the members, and vmapped.
    let mut members: Vec<(StateDict, SgdState<StateDict>)> = models
        .iter()
        .map(|m| {
            let p = m.named_parameters();
            let s = opt.init(&p);
            (p, s)
        })
        .collect();
    let mut state = opt.init(&params);
    let mut params = params;
    let mut losses = Tensor::zeros(&[num_models]);
    let (mut loop_step_ms, mut vmap_step_ms) = (Vec::new(), Vec::new());
    for (images, labels) in &epoch_batches() {
        let start = Instant::now();
        for (i, (p, s)) in members.iter_mut().enumerate() {
            let i = i as isize;
            let (new_p, new_s, _) = train_step((
                p.clone(),
                s.clone(),
                images.select(0, i),
                labels.select(0, i),
            ));
            (*p, *s) = (new_p, new_s);
        }
        loop_step_ms.push(start.elapsed().as_secs_f64() * 1e3);

        let start = Instant::now();
        let loss;
        (params, state, loss) = ensemble_step((params, state, images.clone(), labels.clone()));
        losses = &losses + &loss;
        vmap_step_ms.push(start.elapsed().as_secs_f64() * 1e3);
    }
    let looped: Vec<StateDict> = members.into_iter().map(|(p, _)| p).collect();
    let mut worst = 0f64;
    for (name, stacked) in &params {
        let column: Vec<&Tensor> = looped.iter().map(|p| &p[name]).collect();
        let d = assert_close(
            &format!("{name} after one epoch: vmapped training step vs loop over models"),
            stacked,
            &cotangent::stack(&column, 0),
            1e-4,
            1e-5,
        );
        worst = worst.max(d);
    }
    let median = |mut t: Vec<f64>| {
        t.sort_by(f64::total_cmp);
        t[t.len() / 2]
    };
    let (loop_epoch_ms, vmap_epoch_ms) = (
        loop_step_ms.iter().sum::<f64>(),
        vmap_step_ms.iter().sum::<f64>(),
    );
    let (loop_ms, vmap_ms) = (median(loop_step_ms), median(vmap_step_ms));
    println!(
        "epoch 1 trained both ways, same parameters (largest difference {worst:.1e}); one \
         training step of all 10 models: loop over models: {loop_ms:.2} ms   vmap(step): \
         {vmap_ms:.2} ms   ({:.1}x)   [median of {steps_per_epoch} steps; epoch {loop_epoch_ms:.0} \
         ms vs {vmap_epoch_ms:.0} ms]",
        loop_ms / vmap_ms
    );

    let evaluate = |params: &StateDict| -> (Vec<f32>, f32) {
        let logits = vmap_same((params.clone(), buffers.clone(), test_images.clone()));
        let member_acc = logits
            .argmax(Some(-1), false)
            .eq(&test_labels.unsqueeze(0))
            .to_dtype(cotangent::DType::F32)
            .mean_dim(&[1], false)
            .to_vec::<f32>();
        let ensemble_acc = logits
            .mean_dim(&[0], false)
            .argmax(Some(-1), false)
            .eq(&test_labels)
            .to_dtype(cotangent::DType::F32)
            .mean()
            .item::<f32>();
        (member_acc, ensemble_acc)
    };
    let report = |epoch: usize, losses: &Tensor, params: &StateDict| {
        let (member_acc, ensemble_acc) = evaluate(params);
        let mean_loss = losses.mean().item::<f32>() / steps_per_epoch as f32;
        let mean_acc = member_acc.iter().sum::<f32>() / member_acc.len() as f32;
        println!(
            "epoch {epoch}: mean training loss {mean_loss:.4}   test accuracy: members {:.1}% \
             on average, ensemble {:.1}%",
            100.0 * mean_acc,
            100.0 * ensemble_acc
        );
    };
    report(1, &losses, &params);

    let epochs = 8;
    let start = Instant::now();
    for epoch in 2..=epochs {
        let mut losses = Tensor::zeros(&[num_models]);
        for (images, labels) in epoch_batches() {
            let loss;
            (params, state, loss) = ensemble_step((params, state, images, labels));
            losses = &losses + &loss;
        }
        report(epoch, &losses, &params);
    }
    println!(
        "epochs 2-{epochs} (vmapped): {:.1} ms",
        start.elapsed().as_secs_f64() * 1e3
    );

    let (member_acc, ensemble_acc) = evaluate(&params);
    let listed: Vec<String> = member_acc
        .iter()
        .map(|a| format!("{:.1}", 100.0 * a))
        .collect();
    println!("member test accuracies (%): {}", listed.join(", "));
    let mut sorted = member_acc.clone();
    sorted.sort_by(f32::total_cmp);
    let median = (sorted[num_models / 2 - 1] + sorted[num_models / 2]) / 2.0;
    println!(
        "ensemble (averaged logits): {:.1}%   median member: {:.1}%   best member: {:.1}%",
        100.0 * ensemble_acc,
        100.0 * median,
        100.0 * sorted[num_models - 1]
    );
    assert!(
        sorted[0] >= 0.9,
        "every member should reach 90% test accuracy; the worst reached {:.1}%",
        100.0 * sorted[0]
    );
    Ok(())
}
