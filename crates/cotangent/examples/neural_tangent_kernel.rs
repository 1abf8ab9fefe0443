//! The empirical neural tangent kernel (NTK) of a small CNN, two ways.
//!
//! The NTK `Θ(x1, x2) = J(x1) J(x2)ᵀ`, where `J(x)` is the Jacobian of the network's output
//! with respect to all its parameters, describes how a network evolves under gradient
//! descent: researchers use it to study training dynamics and generalisation, to predict the
//! outcome of training wide networks, for data selection and uncertainty estimates. It needs
//! Jacobians with respect to parameters for many inputs, which is what `jacrev`, `vjp`,
//! `jvp` and `vmap` over `functional_call` give.
//!
//! This mirrors PyTorch's "Neural Tangent Kernels" tutorial
//! (`intermediate_source/neural_tangent_kernels.py`): the tutorial's CNN (three 3x3
//! convolutions of 32 channels with ReLU, then a linear layer to 10 outputs) adapted to the
//! 1x8x8 handwritten digits that ship with the crate instead of random 3x32x32 images (so the
//! linear layer takes 32x2x2 = 128 features, not 21632), with the tutorial's 20 training and
//! 5 test inputs, here real digits. `fnet_single(params, x)` runs the model on one input.
//!
//! - Method 1, Jacobian contraction: `vmap(jacrev(fnet_single), (None, 0))` for both sets,
//!   then per parameter the tutorial's einsums (`Naf,Mbf->NMab` for the full kernel,
//!   `Naf,Maf->NM` for its trace, `Naf,Maf->NMa` for its diagonal), summed over parameters.
//!   There is no einsum here: the contractions are `tensordot` and `bmm`.
//! - Method 2, NTK-vector products: `vjp` at x1, then `jvp` at x2 of each basis vector of the
//!   output space, `vmap`ped over the basis and over both sets of inputs.
//! - Naive: each example's Jacobian by `jacrev` in a loop, then `J1 J2ᵀ` for every pair in a
//!   loop.
//!
//! It asserts that the three full kernels agree, and that the two methods agree on the
//! trace and the diagonal (which must also be the trace and diagonal of the full kernel),
//! all with the tutorial's `allclose(atol=1e-5)` (and torch's default `rtol=1e-5`) in f32
//! (kernel entries are sums of about 20,000 products; the largest difference is printed),
//! checks (added) the kernel's symmetry `Θ(x2, x1) = Θ(x1, x2)ᵀ`, and prints the timings
//! of each (median of 5 runs). A failed
//! check panics, so the process exits non-zero.
//!
//! Run with `cargo run --release --example neural_tangent_kernel`.

use cotangent::datasets::load_digits_default;
use cotangent::nn::{self, Conv2d, Linear, Module, StateDict};
use cotangent::{
    Result, Tensor, UNMAPPED, VmapOpts, jacrev, jvp, manual_seed, tensordot, vjp, vmap, vmap_with,
};

#[path = "common/check.rs"]
mod check;
#[path = "common/device.rs"]
mod device;
use check::{assert_close, time_interleaved};

/// The tutorial's CNN for 1x8x8 inputs: 8 -> 6 -> 4 -> 2 through three 3x3 convolutions.
#[derive(Clone)]
struct Cnn {
    conv1: Conv2d,
    conv2: Conv2d,
    conv3: Conv2d,
    fc: Linear,
    training: bool,
}

impl Cnn {
    fn new() -> Cnn {
        Cnn {
            conv1: Conv2d::new(1, 32, 3),
            conv2: Conv2d::new(32, 32, 3),
            conv3: Conv2d::new(32, 32, 3),
            fc: Linear::new(32 * 2 * 2, 10),
            training: true,
        }
    }
}

impl Module for Cnn {
    fn type_name(&self) -> &'static str {
        "CNN"
    }
    fn try_forward(&self, x: &Tensor) -> Result<Tensor> {
        let x = self.conv1.try_forward(x)?.relu();
        let x = self.conv2.try_forward(&x)?.relu();
        let x = self.conv3.try_forward(&x)?;
        self.fc.try_forward(&x.flatten(1, -1))
    }
    cotangent::module_children!(conv1, conv2, conv3, fc);
    cotangent::module_training_flag!();
}

/// What part of the kernel to compute, the tutorial's `compute=` argument.
#[derive(Clone, Copy, Debug)]
enum Compute {
    /// `[N, M, O, O]`: every pair of outputs.
    Full,
    /// `[N, M]`: the trace over outputs.
    Trace,
    /// `[N, M, O]`: the diagonal over outputs.
    Diagonal,
}

/// Method 1: the Jacobians of the outputs with respect to the parameters for every input of
/// each set, contracted over the parameters.
fn empirical_ntk_jacobian_contraction(
    fnet_single: impl Fn((StateDict, Tensor)) -> Tensor + Copy,
    params: &StateDict,
    x1: &Tensor,
    x2: &Tensor,
    compute: Compute,
) -> Tensor {
    // jac = vmap(jacrev(fnet_single), (None, 0))(params, x): per parameter [N, O, *shape],
    // flattened to [N, O, F].
    let jacobians = |x: &Tensor| -> Vec<Tensor> {
        let jac: StateDict = vmap_with(
            jacrev::<_, Tensor, StateDict, _>(fnet_single),
            VmapOpts::new().in_dims((UNMAPPED, 0)),
        )((params.clone(), x.clone()));
        jac.into_values().map(|j| j.flatten(2, -1)).collect()
    };
    let (jac1, jac2) = (jacobians(x1), jacobians(x2));
    let per_parameter: Vec<Tensor> = jac1
        .iter()
        .zip(&jac2)
        .map(|(j1, j2)| match compute {
            // einsum('Naf,Mbf->NMab'): contract f, giving [N, a, M, b], then order the dims.
            Compute::Full => tensordot(j1, j2, &[2], &[2]).permute(&[0, 2, 1, 3]),
            // einsum('Naf,Maf->NM'): contract a and f.
            Compute::Trace => tensordot(j1, j2, &[1, 2], &[1, 2]),
            // einsum('Naf,Maf->NMa'): a is a batch dim, [a, N, f] @ [a, f, M] -> [a, N, M].
            Compute::Diagonal => j1
                .permute(&[1, 0, 2])
                .bmm(&j2.permute(&[1, 2, 0]))
                .permute(&[1, 2, 0]),
        })
        .collect();
    cotangent::stack(&per_parameter, 0).sum_dim(&[0], false)
}

/// Method 2: NTK-vector products. For one pair (x1, x2), `J(x1) J(x2)ᵀ` column by column:
/// `vjp` gives `J(x1)ᵀ e_o`, `jvp` at x2 applies `J(x2)`; vmap runs all `e_o` of the identity
/// at once, and two more vmaps run every pair of inputs.
fn empirical_ntk_ntk_vps(
    func: impl Fn((StateDict, Tensor)) -> Tensor + Copy,
    params: &StateDict,
    x1: &Tensor,
    x2: &Tensor,
    compute: Compute,
) -> Tensor {
    let get_ntk = |(x1, x2): (Tensor, Tensor)| -> Tensor {
        let func_x1 = |params: StateDict| func((params, x1.clone()));
        let func_x2 = |params: StateDict| func((params, x2.clone()));
        let (output, vjp_fn) = vjp(func_x1, params.clone());
        let get_ntk_slice = |vec: Tensor| -> Tensor {
            // vjps = J(x1)ᵀ vec, shaped like the parameters.
            let vjps: StateDict = vjp_fn.call(vec);
            // jvps = J(x2) vjps.
            let (_, jvps) = jvp(func_x2, params.clone(), vjps);
            jvps
        };
        // The identity of the output space, one basis vector per row.
        let o = output.numel();
        let basis = Tensor::eye(o, o).to_dtype(output.dtype());
        vmap(get_ntk_slice)(basis)
    };
    // Every pair of data points: the inner vmap runs over x2, the outer over x1.
    let result: Tensor = vmap_with(
        vmap_with(get_ntk, VmapOpts::new().in_dims((UNMAPPED, 0))),
        VmapOpts::new().in_dims((0, UNMAPPED)),
    )((x1.clone(), x2.clone()));
    let o = result.shape()[2];
    let eye = Tensor::eye(o, o).to_dtype(result.dtype());
    match compute {
        Compute::Full => result,
        // einsum('NMKK->NM') and einsum('NMKK->NMK'): mask the diagonal, sum a dim.
        Compute::Trace => (&result * &eye).sum_dim(&[2, 3], false),
        Compute::Diagonal => (&result * &eye).sum_dim(&[3], false),
    }
}

/// The naive way: one `jacrev` per example, then `J1 J2ᵀ` for every pair.
fn empirical_ntk_loop(
    fnet_single: impl Fn((StateDict, Tensor)) -> Tensor + Copy,
    params: &StateDict,
    x1: &Tensor,
    x2: &Tensor,
) -> Tensor {
    // Each example's Jacobian, all parameters side by side: [O, P].
    let jacobian = |x: Tensor| -> Tensor {
        let jac: StateDict = jacrev(fnet_single)((params.clone(), x));
        let flat: Vec<Tensor> = jac.into_values().map(|j| j.flatten(1, -1)).collect();
        cotangent::cat(&flat, 1)
    };
    let jac1: Vec<Tensor> = x1.unbind(0).into_iter().map(jacobian).collect();
    let jac2: Vec<Tensor> = x2.unbind(0).into_iter().map(jacobian).collect();
    let rows: Vec<Tensor> = jac1
        .iter()
        .map(|j1| {
            let row: Vec<Tensor> = jac2.iter().map(|j2| j1.matmul(&j2.t())).collect();
            cotangent::stack(&row, 0)
        })
        .collect();
    cotangent::stack(&rows, 0)
}

/// Timed calls per measurement.
const RUNS: usize = 5;

fn main() -> Result<()> {
    device::from_args();
    manual_seed(0);
    // x_train: 20 digits, x_test: 5 digits, each [n, 1, 8, 8] in [0, 1].
    let (train, test) = load_digits_default()?.split(0.2, 0);
    let x_train = train.images.narrow(0, 0, 20);
    let x_test = test.images.narrow(0, 0, 5);

    let net = Cnn::new();
    let params = net.named_parameters();
    println!(
        "model: CNN on 1x8x8 digits, {} parameters; x_train {:?}, x_test {:?}",
        net.num_parameters(),
        x_train.shape(),
        x_test.shape()
    );

    // fnet_single(params, x) = functional_call(net, params, (x.unsqueeze(0),)).squeeze(0)
    let fnet_single = |(params, x): (StateDict, Tensor)| {
        nn::functional_call(&net, &params, &x.unsqueeze(0)).squeeze_dim(0)
    };

    // The tutorial's tolerance: allclose(atol=1e-5) with the default rtol=1e-5.
    let (rtol, atol) = (1e-5, 1e-5);
    let mut timings = time_interleaved(
        RUNS,
        &mut [
            &mut || empirical_ntk_loop(fnet_single, &params, &x_test, &x_train),
            &mut || {
                empirical_ntk_jacobian_contraction(
                    fnet_single,
                    &params,
                    &x_test,
                    &x_train,
                    Compute::Full,
                )
            },
            &mut || empirical_ntk_ntk_vps(fnet_single, &params, &x_test, &x_train, Compute::Full),
        ],
    )
    .into_iter();
    let mut next = || timings.next().expect("three timings");
    let ((loop_ms, ntk_loop), (jc_ms, ntk_jc), (vps_ms, ntk_vps)) = (next(), next(), next());
    assert_eq!(ntk_jc.shape(), &[5, 20, 10, 10]);
    let d_jc = assert_close(
        "full NTK: Jacobian contraction vs loop",
        &ntk_jc,
        &ntk_loop,
        rtol,
        atol,
    );
    let d_vps = assert_close(
        "full NTK: NTK-vector products vs Jacobian contraction",
        &ntk_vps,
        &ntk_jc,
        rtol,
        atol,
    );
    // (added) Swapping the inputs transposes the kernel: Θ(x2, x1)[m, n] = Θ(x1, x2)[n, m]ᵀ.
    let ntk_swapped =
        empirical_ntk_jacobian_contraction(fnet_single, &params, &x_train, &x_test, Compute::Full);
    assert_eq!(ntk_swapped.shape(), &[20, 5, 10, 10]);
    assert_close(
        "NTK symmetry: Θ(x_train, x_test) vs Θ(x_test, x_train)ᵀ",
        &ntk_swapped,
        &ntk_jc.permute(&[1, 0, 3, 2]),
        rtol,
        atol,
    );
    let scale = ntk_loop.abs().max().item::<f32>();
    println!(
        "full NTK [5, 20, 10, 10] (largest entry {scale:.3}): Jacobian contraction and \
         NTK-vector products agree with the loop (largest differences {d_jc:.1e}, {d_vps:.1e}); \
         Θ(x_train, x_test) [20, 5, 10, 10] is its transpose"
    );

    let eye = Tensor::eye(10, 10);
    for (compute, shape, of_full) in [
        (
            Compute::Trace,
            &[5, 20][..],
            (&ntk_loop * &eye).sum_dim(&[2, 3], false),
        ),
        (
            Compute::Diagonal,
            &[5, 20, 10][..],
            (&ntk_loop * &eye).sum_dim(&[3], false),
        ),
    ] {
        let mut timings = time_interleaved(
            RUNS,
            &mut [
                &mut || {
                    empirical_ntk_jacobian_contraction(
                        fnet_single,
                        &params,
                        &x_test,
                        &x_train,
                        compute,
                    )
                },
                &mut || empirical_ntk_ntk_vps(fnet_single, &params, &x_test, &x_train, compute),
            ],
        );
        let (vps_part_ms, vps) = timings.pop().expect("two timings");
        let (jc_part_ms, jc) = timings.pop().expect("two timings");
        assert_eq!(jc.shape(), shape, "{compute:?}");
        let what = format!("{compute:?} of the NTK");
        assert_close(&format!("{what}: the two methods"), &jc, &vps, rtol, atol);
        assert_close(
            &format!("{what} vs the full loop's"),
            &jc,
            &of_full,
            rtol,
            atol,
        );
        println!(
            "{:<8} {shape:?}: methods agree with each other and with the full kernel   \
             Jacobian contraction: {jc_part_ms:.1} ms   NTK-vector products: {vps_part_ms:.1} ms   \
             [median of {RUNS}]",
            format!("{compute:?}").to_lowercase()
        );
    }

    println!(
        "full NTK: naive loop (jacrev per example, J1 J2ᵀ per pair): {loop_ms:.1} ms   \
         Jacobian contraction: {jc_ms:.1} ms ({:.1}x)   NTK-vector products: {vps_ms:.1} ms \
         ({:.1}x)   [median of {RUNS}]",
        loop_ms / jc_ms,
        loop_ms / vps_ms
    );
    Ok(())
}
