//! Every error points at the user's own line: what a user sees when a cotangent error is not
//! caught is "panicked at <their file>:<their line>", for ops, methods, operators, layers,
//! optimisers and each transform, and for an op that fails inside a transformed function.
//!
//! Each case runs in a child process (this binary again, told which case by an environment
//! variable) that panics uncaught; the parent reads the child's stderr. Just before the call
//! that should fail, the case prints the line it expects (`at!(call)` prints `file!()` and
//! `line!()` of the call), so an edit that moves a line cannot make the test stale. See Note
//! [Raising at the caller's line] in `src/error/raise.rs`: a transform's own errors are
//! reported where the transform was created (`grad(f)`), which is the line of the `at!` here.

use std::collections::BTreeMap;
use std::process::Command;

use cotangent::datasets::Digits;
use cotangent::nn::optim::{Adam, Sgd};
use cotangent::nn::{Linear, Module, ReLU, Sequential, functional_call, stack_module_state};
use cotangent::privacy::RdpAccountant;
use cotangent::{
    DType, GradOpts, JacrevOpts, Tensor, VmapOpts, bernoulli, cat, conv2d, cross_entropy, dropout,
    gather, grad, grad_with, hessian, index_select, jacfwd, jacrev, jacrev_with, jvp, layer_norm,
    linear, linearize, matmul, max_pool2d, mse_loss, nll_loss, randint, scatter_add, stack, vjp,
    vmap, vmap_with,
};
use libtest_mimic::{Arguments, Failed, Trial};

const CASE_VAR: &str = "COTANGENT_LOCATION_CASE";
const EXPECT: &str = "EXPECTED-LOCATION ";

/// Print the location of the call on this line, then make the call. The call must start on
/// the line of `at!` (rustfmt may break a long one: bind its arguments first).
macro_rules! at {
    ($call:expr) => {{
        eprintln!("{EXPECT}{}:{}", file!(), line!());
        $call
    }};
}

/// Discard a result (the cases are run for their panic).
fn ignore<T>(_: T) {}

fn z(shape: &[usize]) -> Tensor {
    Tensor::zeros(shape)
}

fn x3() -> Tensor {
    Tensor::new([1.0f64, 2.0, 3.0])
}

fn m23() -> Tensor {
    Tensor::new([[1.0f64, 2.0, 3.0], [4.0, 5.0, 6.0]])
}

#[path = "shared/reshape7.rs"]
mod reshape7;
use reshape7::Reshape7;

thread_local! {
    static STASH: std::cell::RefCell<Option<Tensor>> = const { std::cell::RefCell::new(None) };
}

/// The cases, by family: each makes one call that fails, wrapped in `at!`.
fn cases() -> Vec<(&'static str, fn())> {
    vec![
        // Operators and methods.
        ("operator_add", || ignore(at!(&z(&[2]) + &z(&[3])))),
        ("operator_add_scalar_then_tensor", || {
            let y = &z(&[2]) * 2.0;
            ignore(at!(&y - &z(&[3])))
        }),
        ("operator_neg_of_bool", || {
            ignore(at!(-&Tensor::new([true])))
        }),
        ("method_reshape", || ignore(at!(z(&[2, 3]).reshape(&[7])))),
        ("method_item", || ignore(at!(z(&[2]).item::<f32>()))),
        ("method_size", || ignore(at!(z(&[2]).size(3)))),
        ("method_allclose", || {
            ignore(at!(z(&[2]).allclose(&z(&[3]), 0.0, 0.0)))
        }),
        ("method_clamp_tensor", || {
            ignore(at!(z(&[2]).clamp_tensor(Some(&z(&[3])), None)))
        }),
        // Creation and random draws.
        ("creation_arange_step", || {
            ignore(at!(Tensor::arange_step(0.0, 1.0, 0.0, DType::F32)))
        }),
        ("random_randint", || ignore(at!(randint(3, 3, &[2])))),
        ("random_bernoulli_probability", || {
            ignore(at!(bernoulli(&Tensor::new([0.5f32, 1.5]))))
        }),
        ("random_rand_dtype", || {
            ignore(at!(Tensor::rand_dtype(&[2], DType::I64)))
        }),
        // Views.
        ("view_narrow", || ignore(at!(z(&[2, 3]).narrow(1, 2, 2)))),
        ("view_expand", || ignore(at!(z(&[2, 3]).expand(&[2, 4])))),
        ("view_permute", || ignore(at!(z(&[2, 3]).permute(&[0, 0])))),
        ("view_select_of_scalar", || {
            ignore(at!(Tensor::scalar(1.0f32).select(0, 0)))
        }),
        ("view_transpose", || ignore(at!(z(&[2, 3]).transpose(0, 2)))),
        ("view_flatten", || ignore(at!(z(&[2, 3]).flatten(1, 0)))),
        ("view_unbind", || ignore(at!(z(&[2, 3]).unbind(4)))),
        ("assembly_cat", || {
            ignore(at!(cat(&[z(&[2]), z(&[2, 1])], 0)))
        }),
        ("assembly_stack", || {
            ignore(at!(stack(&[z(&[2]), z(&[3])], 0)))
        }),
        ("assembly_chunk", || ignore(at!(z(&[2]).chunk(0, 0)))),
        // Indexing, with the data-dependent range checks found in the kernels.
        ("indexing_gather_out_of_range", || {
            ignore(at!(gather(&z(&[3]), 0, &Tensor::new([5i64]))))
        }),
        ("indexing_gather_method_out_of_range", || {
            ignore(at!(z(&[3]).gather(0, &Tensor::new([-4i64]))))
        }),
        ("indexing_index_select_out_of_range", || {
            ignore(at!(index_select(&z(&[3]), 0, &Tensor::new([3i64]))))
        }),
        ("indexing_scatter_add_out_of_range", || {
            ignore(at!(scatter_add(
                &z(&[3]),
                0,
                &Tensor::new([3i64]),
                &z(&[1])
            )))
        }),
        ("indexing_take_along_dim_out_of_range", || {
            let (x, i) = (z(&[2, 3]), Tensor::new([[3i64]]));
            ignore(at!(x.take_along_dim(&i, Some(1))))
        }),
        ("indexing_one_hot", || {
            ignore(at!(Tensor::new([5i64]).one_hot(3)))
        }),
        // Reductions.
        ("reduction_sum_dim", || {
            ignore(at!(z(&[2, 3]).sum_dim(&[2], false)))
        }),
        ("reduction_max_of_empty", || ignore(at!(z(&[0]).max()))),
        ("reduction_std_of_integers", || {
            ignore(at!(Tensor::arange(3).std()))
        }),
        ("reduction_all_dim", || {
            ignore(at!(z(&[2]).all_dim(&[3], false)))
        }),
        ("reduction_softmax", || ignore(at!(z(&[2]).softmax(1)))),
        // Linear algebra, convolution, pooling.
        ("linalg_matmul", || {
            ignore(at!(matmul(&z(&[2, 3]), &z(&[2, 3]))))
        }),
        ("linalg_matmul_method", || {
            ignore(at!(z(&[2, 3]).matmul(&z(&[2, 3]))))
        }),
        ("linalg_linear", || {
            ignore(at!(linear(&z(&[2, 3]), &z(&[4, 2]), None)))
        }),
        ("conv_conv2d", || {
            ignore(at!(conv2d(
                &z(&[1, 2, 4, 4]),
                &z(&[1, 3, 3, 3]),
                None,
                [1, 1],
                [0, 0],
                [1, 1],
                1
            )))
        }),
        ("pool_max_pool2d", || {
            ignore(at!(max_pool2d(
                &z(&[1, 4, 4]),
                [0, 2],
                None,
                [0, 0],
                [1, 1],
                false
            )))
        }),
        // Functional nn ops and losses.
        ("nn_layer_norm", || {
            ignore(at!(layer_norm(&z(&[2, 3]), &[4], None, None, 1e-5)))
        }),
        ("nn_dropout", || ignore(at!(dropout(&z(&[2]), 2.0, true)))),
        ("loss_cross_entropy_target", || {
            ignore(at!(cross_entropy(&z(&[2, 3]), &Tensor::new([0i64, 3]))))
        }),
        ("loss_nll_loss_shape", || {
            ignore(at!(nll_loss(&z(&[3]), &Tensor::new([0i64]))))
        }),
        ("loss_mse_loss_shape", || {
            ignore(at!(mse_loss(&z(&[3]), &z(&[2]))))
        }),
        // Modules: forward directly, through Sequential, through `dyn Module`, a user's layer
        // written with panicking ops, functional_call, stack_module_state.
        ("module_linear_forward", || {
            ignore(at!(Linear::new(3, 2).forward(&z(&[1, 4]))))
        }),
        ("module_sequential_forward", || {
            let model = Sequential::new()
                .push(Linear::new(3, 3))
                .push(ReLU::new())
                .push(Linear::new(2, 1));
            ignore(at!(model.forward(&z(&[1, 3]))))
        }),
        ("module_dyn_forward", || {
            let model: Box<dyn Module> = Box::new(Linear::new(3, 2));
            ignore(at!(model.forward(&z(&[1, 4]))))
        }),
        ("module_user_layer_forward", || {
            ignore(at!(Reshape7 { training: true }.forward(&z(&[3]))))
        }),
        ("module_functional_call", || {
            let mut params = BTreeMap::new();
            params.insert("wieght".to_string(), z(&[2, 3]));
            ignore(at!(functional_call(
                &Linear::new(3, 2),
                &params,
                &z(&[1, 3])
            )))
        }),
        ("module_stack_module_state", || {
            ignore(at!(stack_module_state::<Linear>(&[])))
        }),
        // Optimisers.
        ("optim_sgd_learning_rate", || ignore(at!(Sgd::new(-1.0)))),
        ("optim_adam_betas", || {
            ignore(at!(Adam::new(1e-3).betas(1.5, 0.9)))
        }),
        ("optim_sgd_step_shapes", || {
            let (opt, p) = (Sgd::new(0.1), z(&[2]));
            let state = opt.init(&p);
            ignore(at!(opt.step(&p, &z(&[3]), &state)))
        }),
        ("optim_adam_step_shapes", || {
            let (opt, p) = (Adam::new(0.1), z(&[2]));
            let state = opt.init(&p);
            ignore(at!(opt.step(&p, &z(&[2, 2]), &state)))
        }),
        // Other public APIs.
        ("privacy_epsilon", || {
            let mut acc = RdpAccountant::new();
            acc.step(1.0, 0.1, 1);
            ignore(at!(acc.epsilon(0.0)))
        }),
        ("privacy_step", || {
            at!(RdpAccountant::new().step(-1.0, 0.1, 1))
        }),
        ("datasets_subset", || {
            let digits = Digits {
                images: z(&[2, 1, 8, 8]),
                labels: Tensor::new([0i64, 1]),
            };
            ignore(at!(digits.subset(&[5])))
        }),
        // Each transform's own misuse: reported where the transform was created.
        ("transform_grad_non_scalar", || {
            ignore(at!(grad(|x: Tensor| x.sin()))(x3()))
        }),
        ("transform_grad_argnums", || {
            let f = |(x, y): (Tensor, Tensor)| (&x * &y).sum();
            ignore(at!(grad_with::<_, _, Tensor, _>(
                f,
                GradOpts::new().argnums(2)
            ))((x3(), x3())))
        }),
        ("transform_vmap_in_dims", || {
            ignore(at!(vmap_with(|x: Tensor| x, VmapOpts::new().in_dims(2)))(
                m23(),
            ))
        }),
        ("transform_vmap_sizes", || {
            let f = |(a, b): (Tensor, Tensor)| &a * &b;
            ignore(at!(vmap(f))((z(&[2]), z(&[3]))))
        }),
        ("transform_jacrev_argnums", || {
            ignore(at!(jacrev_with::<_, _, Tensor, _>(
                |x: Tensor| x.sin(),
                JacrevOpts::new().argnums(1)
            ))(x3()))
        }),
        ("transform_jacrev_chunk_size", || {
            ignore(at!(jacrev_with::<_, _, Tensor, _>(
                |x: Tensor| x.sin(),
                JacrevOpts::new().chunk_size(0)
            ))(x3()))
        }),
        ("transform_jacfwd_integer_input", || {
            ignore(at!(jacfwd::<_, _, Tensor, _>(
                |x: Tensor| x.to_dtype(DType::F64)
            ))(Tensor::arange(2)))
        }),
        ("transform_hessian_integer_output", || {
            ignore(at!(hessian::<_, Tensor, _>(|x: Tensor| x
                .to_dtype(DType::I64)
                .sum()))(x3()))
        }),
        ("transform_vjp_integer_output", || {
            ignore(at!(vjp(|x: Tensor| x.to_dtype(DType::I64), x3())))
        }),
        ("transform_vjp_fn_call_cotangent_shape", || {
            let (_, vjp_fn) = vjp(|x: Tensor| x.sin(), x3());
            ignore(at!(vjp_fn.call(z(&[2]).to_dtype(DType::F64))))
        }),
        ("transform_jvp_tangent_shape", || {
            ignore(at!(jvp(|x: Tensor| x.sin(), x3(), Tensor::new([1.0f64]))))
        }),
        ("transform_linearize_tangent_shape", || {
            let (_, jvp_fn) = at!(linearize(|x: Tensor| x.sin(), x3()));
            ignore(jvp_fn(Tensor::new([1.0f64])))
        }),
        ("transform_vmap_item", || {
            ignore(vmap(|x: Tensor| Tensor::scalar(at!(x.item::<f64>())))(x3()))
        }),
        ("transform_vmap_to_vec", || {
            ignore(vmap(|x: Tensor| Tensor::new(at!(x.to_vec::<f64>())))(x3()))
        }),
        // An op that fails inside a transformed function: reported at the op's line.
        ("inside_vmap", || {
            ignore(vmap(|x: Tensor| at!(x.reshape(&[7])))(m23()))
        }),
        ("inside_vmap_chunked", || {
            let f = |x: Tensor| at!(&x + &z(&[4]).to_dtype(DType::F64));
            ignore(vmap_with(f, VmapOpts::new().chunk_size(1))(m23()))
        }),
        ("inside_vmap_gather_out_of_range", || {
            ignore(vmap(|x: Tensor| at!(x.gather(0, &Tensor::new([7i64]))))(
                m23(),
            ))
        }),
        ("inside_grad", || {
            ignore(grad(|x: Tensor| {
                at!(x.matmul(&z(&[2, 2]).to_dtype(DType::F64))).sum()
            })(x3()))
        }),
        ("inside_jacrev", || {
            ignore(jacrev::<_, _, Tensor, _>(
                |x: Tensor| at!(x.expand(&[2, 4])),
            )(x3()))
        }),
        ("inside_jacfwd", || {
            ignore(jacfwd::<_, _, Tensor, _>(
                |x: Tensor| at!(x.narrow(0, 2, 3)),
            )(x3()))
        }),
        ("inside_hessian", || {
            ignore(hessian::<_, Tensor, _>(|x: Tensor| {
                at!(x.select(0, 9)).sum()
            })(x3()))
        }),
        ("inside_jvp", || {
            ignore(jvp(|x: Tensor| at!(x.permute(&[1])), x3(), x3()))
        }),
        ("inside_vjp", || {
            ignore(vjp(|x: Tensor| at!(x.reshape(&[2])), x3()))
        }),
        ("inside_vmap_of_grad", || {
            ignore(vmap(grad(|x: Tensor| {
                at!(&x * &z(&[2]).to_dtype(DType::F64)).sum()
            }))(m23()))
        }),
        ("inside_grad_of_vmap", || {
            ignore(grad(|x: Tensor| {
                vmap(|r: Tensor| at!(r.sum_dim(&[3], false)))(x).sum()
            })(m23()))
        }),
        ("inside_functional_call_under_grad", || {
            let model = Linear::new(3, 2);
            let f =
                |p: BTreeMap<String, Tensor>| at!(functional_call(&model, &p, &z(&[1, 4]))).sum();
            ignore(grad(f)(model.named_parameters()))
        }),
        // A tracer used after its transform returned: reported at the op that uses it.
        ("escaped_tracer", || {
            ignore(vmap(|x: Tensor| {
                STASH.with(|s| *s.borrow_mut() = Some(x.clone()));
                x.sin()
            })(x3()));
            let t = STASH.with(|s| s.borrow_mut().take()).expect("stashed");
            ignore(at!(&t + &x3()))
        }),
    ]
}

fn main() {
    if let Ok(name) = std::env::var(CASE_VAR) {
        let (_, run) = cases()
            .into_iter()
            .find(|(n, _)| *n == name)
            .expect("a known case");
        run();
        // The case should have panicked.
        std::process::exit(3);
    }
    let args = Arguments::from_args();
    let trials = cases()
        .into_iter()
        .map(|(name, _)| Trial::test(name, move || check(name)))
        .collect();
    libtest_mimic::run(&args, trials).exit();
}

/// Run case `name` in a child and check that it panicked once, at the expected line.
fn check(name: &str) -> Result<(), Failed> {
    let out = Command::new(std::env::current_exe().expect("this binary"))
        .env(CASE_VAR, name)
        .env("RUST_BACKTRACE", "0")
        .output()
        .expect("the child runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let Some(expected) = stderr.lines().rev().find_map(|l| l.strip_prefix(EXPECT)) else {
        return Err(format!("the case printed no expected location:\n{stderr}").into());
    };
    if out.status.code() != Some(101) {
        return Err(format!(
            "expected a panic (exit code 101), got {:?}; stderr:\n{stderr}",
            out.status
        )
        .into());
    }
    let panics: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("panicked at"))
        .collect();
    if panics.len() != 1 {
        return Err(format!(
            "expected one panic message, got {}:\n{stderr}",
            panics.len()
        )
        .into());
    }
    let want = format!("panicked at {expected}:");
    if !panics[0].contains(&want) {
        return Err(format!("expected `{want}`, got `{}`; stderr:\n{stderr}", panics[0]).into());
    }
    Ok(())
}
