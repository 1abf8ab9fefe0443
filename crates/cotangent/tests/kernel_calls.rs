//! `vmap` never loops per example: the number of backend kernels that `vmap(grad(f))` runs
//! does not depend on the batch size (issue 3). Counted with
//! `cotangent::array::backend::kernel_calls`, a process-wide counter, so every measurement
//! runs sequentially inside one `#[test]` (tests of one binary run on parallel threads).

use cotangent::array::backend::kernel_calls;
use cotangent::{Tensor, UNMAPPED, VmapOpts, grad, vmap_with};

/// Deterministic values in [-1, 1).
fn tensor(shape: &[usize], seed: u64) -> Tensor {
    let n: usize = shape.iter().product();
    let mut s = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let values: Vec<f32> = (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect();
    Tensor::from_vec(values, shape).expect("length matches")
}

/// A two-layer tanh MLP's squared error on one example: `x` `[8]`, target `t` `[3]`.
fn mlp_loss((params, x, t): (Vec<Tensor>, Tensor, Tensor)) -> Tensor {
    let h = x.matmul(&params[0]).tanh();
    let e = &h.matmul(&params[1]).tanh() - &t;
    (&e * &e).sum()
}

#[test]
fn vmap_grad_kernel_calls_do_not_grow_with_batch_size() {
    let params = vec![tensor(&[8, 16], 1), tensor(&[16, 3], 2)];
    let per_example = vmap_with(grad(mlp_loss), VmapOpts::new().in_dims((UNMAPPED, 0, 0)));
    let mut counts = Vec::new();
    for batch in [2usize, 8, 64] {
        let (x, t) = (tensor(&[batch, 8], 3), tensor(&[batch, 3], 4));
        let before = kernel_calls();
        let grads: Vec<Tensor> = per_example((params.clone(), x.clone(), t.clone()));
        let delta = kernel_calls() - before;
        assert_eq!(grads[0].shape(), &[batch, 8, 16]);
        assert_eq!(grads[1].shape(), &[batch, 16, 3]);
        // The batched result agrees with a loop of grad over the examples (outside the
        // counted region).
        let looped: Vec<Tensor> = (0..batch)
            .map(|i| {
                let g: Vec<Tensor> = grad(mlp_loss)((
                    params.clone(),
                    x.select(0, i as isize),
                    t.select(0, i as isize),
                ));
                g[0].clone()
            })
            .collect();
        assert!(
            grads[0].allclose(&cotangent::stack(&looped, 0), 1e-4, 1e-5),
            "vmap(grad) differs from a loop of grad at batch size {batch}"
        );
        counts.push((batch, delta));
    }
    let first = counts[0].1;
    assert!(first > 0, "vmap(grad(f)) ran no kernels: {counts:?}");
    assert!(
        counts.iter().all(|&(_, c)| c == first),
        "kernel calls of vmap(grad(f)) vary with the batch size (batch, calls): {counts:?}"
    );
    println!("kernel calls of vmap(grad(mlp_loss)) per batch size: {counts:?}");
}
