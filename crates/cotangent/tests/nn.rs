//! The `nn` layer beyond conformance cases C59-C60: optimisers against torch's numbers,
//! initialisation, train/eval, tied weights, and the error of every misuse the issue lists.

use std::collections::BTreeMap;

use cotangent::nn::optim::{Adam, Sgd};
use cotangent::nn::{self, CallOpts, Module};
use cotangent::testing::{assert_panics_with, panic_message};
use cotangent::{
    DType, Randomness, Tensor, UNMAPPED, VmapOpts, cross_entropy, grad, manual_seed, vmap,
    vmap_with,
};

type Dict = BTreeMap<String, Tensor>;

fn dict(pairs: &[(&str, &Tensor)]) -> Dict {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), (*v).clone()))
        .collect()
}

fn mlp() -> nn::Sequential {
    nn::Sequential::new()
        .push(nn::Linear::new(4, 8))
        .push(nn::Tanh::new())
        .push(nn::Linear::new(8, 3))
}

// ---------------------------------------------------------------- optimisers

/// `(p⁴).sum() + p[0] p[1]` and its gradient, for the optimiser runs below.
fn quartic(p: Tensor) -> Tensor {
    (&(&p * &p) * &(&p * &p)).sum() + &p.select(0, 0) * &p.select(0, 1)
}

fn run_steps(step: impl Fn(&Tensor, &Tensor) -> Tensor) -> Vec<f64> {
    let mut p = Tensor::new([1.0f64, -2.0, 0.5]);
    for _ in 0..5 {
        let g = grad(quartic)(p.clone());
        p = step(&p, &g);
    }
    p.to_vec::<f64>()
}

fn assert_near(got: &[f64], want: &[f64]) {
    for (g, w) in got.iter().zip(want) {
        assert!((g - w).abs() < 1e-12, "got {got:?}, torch gives {want:?}");
    }
}

// The expected values are torch 2.15's, from five steps on the same function in float64:
//   p = nn.Parameter(torch.tensor([1.0, -2.0, 0.5])); opt = <optimiser>([p])
//   for _ in range(5): opt.zero_grad(); ((p**4).sum() + p[0]*p[1]).backward(); opt.step()

#[test]
fn sgd_matches_torch() {
    let run = |opt: Sgd| {
        let state = std::cell::RefCell::new(opt.init(&Tensor::new([0.0f64; 3])));
        run_steps(|p, g| {
            let (p, s) = opt.step(p, g, &state.borrow());
            *state.borrow_mut() = s;
            p
        })
    };
    assert_near(
        &run(Sgd::new(0.01)),
        &[0.9014117850925377, -1.208424075219428, 0.4764149481182924],
    );
    assert_near(
        &run(Sgd::new(0.01)
            .momentum(0.9)
            .dampening(0.1)
            .weight_decay(0.01)),
        &[0.7493596413787503, 0.015922001147760854, 0.4419638556918366],
    );
    assert_near(
        &run(Sgd::new(0.01).momentum(0.9).nesterov(true)),
        &[
            0.6755208000430847,
            -0.045287518443188124,
            0.4249428884852648,
        ],
    );
}

#[test]
fn adam_matches_torch() {
    let run = |opt: Adam| {
        let state = std::cell::RefCell::new(opt.init(&Tensor::new([0.0f64; 3])));
        run_steps(|p, g| {
            let (p, s) = opt.step(p, g, &state.borrow());
            *state.borrow_mut() = s;
            p
        })
    };
    assert_near(
        &run(Adam::new(0.1)),
        &[0.6248905734432759, -1.512164139843103, 0.08712071009608394],
    );
    assert_near(
        &run(Adam::new(0.05).betas(0.8, 0.99).eps(1e-6).weight_decay(0.1)),
        &[0.7739186897588152, -1.7540073742395603, 0.27118975789400057],
    );
}

#[test]
fn optimiser_step_vmaps_over_an_ensemble() {
    // Three independent parameter sets stepped at once equal three separate steps.
    manual_seed(3);
    let models: Vec<nn::Linear> = (0..3).map(|_| nn::Linear::new(4, 2)).collect();
    let (params, _) = nn::stack_module_state(&models);
    let x = Tensor::randn(&[5, 4]);
    let y = Tensor::new([0i64, 1, 1, 0, 1]);
    let opt = Adam::new(0.01);
    let base = models[0].clone();
    let loss = |p: Dict, x: &Tensor| cross_entropy(&nn::functional_call(&base, &p, x), &y);
    let step = |p: Dict| {
        let g: Dict = grad(|p: Dict| loss(p, &x))(p.clone());
        opt.step(&p, &g, &opt.init(&p)).0
    };
    let batched: Dict = vmap(step)(params);
    for (i, m) in models.iter().enumerate() {
        let one = step(m.named_parameters());
        for (k, v) in &one {
            assert!(
                batched[k].select(0, i as isize).allclose(v, 1e-5, 1e-6),
                "{k} of model {i}"
            );
        }
    }
}

// ---------------------------------------------------------------- modules

#[test]
fn torch_default_initialisation_bounds() {
    manual_seed(0);
    let fc = nn::Linear::new(100, 50);
    let bound = 0.1f32; // 1/sqrt(100)
    let w = fc.weight.to_vec::<f32>();
    assert!(w.iter().all(|v| v.abs() <= bound));
    // Uniform on ±b has standard deviation b/√3.
    let std = fc.weight.std().item::<f32>();
    assert!((std - bound / 3f32.sqrt()).abs() < 0.005, "std {std}");
    let conv = nn::Conv2d::new(4, 8, 3);
    let b = 1.0 / 36f32.sqrt();
    assert!(conv.weight.to_vec::<f32>().iter().all(|v| v.abs() <= b));
    assert_eq!(conv.bias.as_ref().unwrap().shape(), &[8]);
    let ln = nn::LayerNorm::new(&[5]);
    assert_eq!(ln.weight.as_ref().unwrap().to_vec::<f32>(), vec![1.0; 5]);
    assert_eq!(ln.bias.as_ref().unwrap().to_vec::<f32>(), vec![0.0; 5]);
}

#[test]
fn state_dict_names_and_modes() {
    let mut m = mlp();
    let names: Vec<String> = m.state_dict().into_keys().collect();
    assert_eq!(names, ["0.bias", "0.weight", "2.bias", "2.weight"]);
    assert_eq!(m.num_parameters(), 4 * 8 + 8 + 8 * 3 + 3);
    assert!(m.is_training() && m.layers()[1].is_training());
    m.eval();
    assert!(!m.is_training() && m.layers().iter().all(|l| !l.is_training()));
    m.train();
    assert!(m.layers().iter().all(|l| l.is_training()));
    assert!(m.describe().starts_with(
        "Sequential((0): Linear(in_features=4, out_features=8, bias=True), (1): Tanh()"
    ));
}

#[test]
fn load_state_dict_and_to_dtype() {
    let mut m = mlp();
    let other = mlp();
    m.load_state_dict(&other.state_dict(), true).unwrap();
    let x = Tensor::randn(&[2, 4]);
    assert!(m.forward(&x).allclose(&other.forward(&x), 0.0, 0.0));
    let err = m
        .load_state_dict(&Dict::new(), true)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("Missing key(s): '0.weight', '0.bias', '2.weight', '2.bias'."),
        "{err}"
    );
    m.to_dtype(DType::F64);
    assert!(m.state_dict().values().all(|t| t.dtype() == DType::F64));
    assert_eq!(m.forward(&x.to_dtype(DType::F64)).dtype(), DType::F64);
}

/// A module with one parameter registered twice (torch's weight tying) and a buffer.
#[derive(Clone)]
struct TiedWithBuffer {
    w: Tensor,
    w_again: Tensor,
    count: Tensor,
    training: bool,
}

impl Module for TiedWithBuffer {
    fn type_name(&self) -> &'static str {
        "TiedWithBuffer"
    }
    fn try_forward(&self, x: &Tensor) -> cotangent::Result<Tensor> {
        Ok(&(x * &self.w) + &(&self.w_again * &self.count))
    }
    cotangent::module_tensors!(Parameter w, Parameter w_again, Buffer count);
    cotangent::module_training_flag!();
}

#[test]
fn tied_weights_are_one_parameter() {
    let w = Tensor::new([2.0f64]);
    let mut m = TiedWithBuffer {
        w: w.clone(),
        w_again: w,
        count: Tensor::new([3.0f64]),
        training: true,
    };
    // named_parameters lists a tied tensor once; the state dict under both names.
    assert_eq!(m.named_parameters().into_keys().collect::<Vec<_>>(), ["w"]);
    assert_eq!(m.named_buffers().into_keys().collect::<Vec<_>>(), ["count"]);
    assert_eq!(m.state_dict().len(), 3);
    // The gradient with respect to a tied weight sums over both uses: x + count.
    let x = Tensor::new([5.0f64]);
    let g: Dict = grad(|p: Dict| nn::functional_call(&m, &p, &x).sum())(m.named_parameters());
    assert_eq!(g["w"].to_vec::<f64>(), vec![8.0]);
    m.to_dtype(DType::F32);
    assert!(m.w.is_same(&m.w_again), "to_dtype keeps ties");
}

// ---------------------------------------------------------------- errors

#[test]
fn functional_call_unknown_key_is_an_error() {
    let m = nn::Linear::new(3, 2);
    let bogus = Tensor::zeros(&[2]);
    let params = dict(&[("weight", &m.weight), ("biass", &bogus)]);
    // Not strict: torch would quietly add the attribute; here it would be unused, so it is
    // an error naming the key and the module's names.
    let msg = panic_message(|| {
        nn::functional_call(&m, &params, &Tensor::zeros(&[1, 3]));
    });
    assert!(
        msg.contains("Linear has no parameter or buffer named 'biass'")
            && msg.contains("'weight', 'bias'"),
        "{msg}"
    );
    // Strict: torch's message, both lists.
    let msg = nn::try_functional_call(
        &m,
        &params,
        &Tensor::zeros(&[1, 3]),
        CallOpts::new().strict(true),
    )
    .unwrap_err()
    .to_string();
    assert_eq!(
        msg,
        "functional_call: Error(s) in reparametrizing for Linear:\n\tUnexpected key(s): \
         'biass'.\n\tMissing key(s): 'bias'."
    );
}

#[test]
fn functional_call_shape_and_pair_errors() {
    let m = nn::Linear::new(3, 2);
    let stacked = Tensor::zeros(&[5, 2, 3]);
    assert_panics_with(
        || {
            nn::functional_call(&m, dict(&[("weight", &stacked)]), &Tensor::zeros(&[1, 3]));
        },
        &[
            "'weight' of Linear has shape [2, 3], but the tensor given for it has shape [5, 2, 3]",
            "stacked parameters (from stack_module_state) go through vmap",
        ],
    );
    let pairs = vec![("bias", Tensor::zeros(&[2])), ("bias", Tensor::ones(&[2]))];
    assert_panics_with(
        || {
            nn::functional_call(&m, pairs, &Tensor::zeros(&[1, 3]));
        },
        &["the name 'bias' appears twice among the (name, tensor) pairs"],
    );
    // Pairs work like a map.
    let pairs = vec![("bias", Tensor::ones(&[2]))];
    let y = nn::functional_call(&m, pairs, &Tensor::zeros(&[1, 3]));
    assert_eq!(y.to_vec::<f32>(), vec![1.0, 1.0]);
}

#[test]
fn wrong_input_shapes_name_the_module() {
    let x = Tensor::zeros(&[4, 5]);
    assert_panics_with(
        || {
            nn::Linear::new(3, 2).forward(&x);
        },
        &[
            "Linear: Linear(in_features=3, out_features=2, bias=True) expected input [*, 3]",
            "got input of shape [4, 5]",
        ],
    );
    assert_panics_with(
        || {
            nn::Conv2d::new(3, 4, 3).forward(&Tensor::zeros(&[2, 1, 8, 8]));
        },
        &[
            "Conv2d(3, 4, kernel_size=(3, 3), stride=(1, 1)) expected input [N, 3, H, W]",
            "[2, 1, 8, 8]",
        ],
    );
    assert_panics_with(
        || {
            nn::LayerNorm::new(&[4]).forward(&x);
        },
        &["LayerNorm([4], eps=1e-5, elementwise_affine=True) expected input [*, [4]]"],
    );
    // Inside a Sequential, the failing layer is the one named.
    assert_panics_with(
        || {
            mlp().forward(&Tensor::zeros(&[2, 5]));
        },
        &["Linear(in_features=4, out_features=8, bias=True) expected input [*, 4]"],
    );
    // Under a transform too, and the library is usable afterwards.
    let m = nn::Linear::new(3, 2);
    let p = m.named_parameters();
    assert_panics_with(
        || {
            let _: Dict = grad(|p: Dict| nn::functional_call(&m, &p, &x).sum())(p.clone());
        },
        &["expected input [*, 3], but got input of shape [4, 5]"],
    );
    let ok: Dict = grad(|p: Dict| nn::functional_call(&m, &p, &Tensor::ones(&[4, 3])).sum())(p);
    assert_eq!(ok["bias"].to_vec::<f32>(), vec![4.0, 4.0]);
}

#[test]
fn stack_module_state_of_different_architectures() {
    let a = vec![nn::Linear::new(3, 2), nn::Linear::new(3, 4)];
    assert_panics_with(
        || {
            nn::stack_module_state(&a);
        },
        &["model 1 has 'bias' of shape [4]", "model 0 of shape [2]"],
    );
    let b = vec![nn::Linear::new(3, 2), nn::Linear::with_bias(3, 2, false)];
    assert_panics_with(
        || {
            nn::stack_module_state(&b);
        },
        &["model 1 has no 'bias', which model 0 has"],
    );
}

#[test]
fn dropout_under_vmap_needs_randomness() {
    let d = nn::Dropout::new(0.5);
    let x = Tensor::ones(&[4, 100]);
    assert_panics_with(
        || {
            vmap(|x: Tensor| d.forward(&x))(x.clone());
        },
        &["randomness"],
    );
    manual_seed(1);
    let y: Tensor = vmap_with(
        |x: Tensor| d.forward(&x),
        VmapOpts::new().randomness(Randomness::Different),
    )(x.clone());
    let rows: Vec<Vec<f32>> = (0..4).map(|i| y.select(0, i).to_vec::<f32>()).collect();
    assert!(rows[0] != rows[1], "'different' draws a mask per example");
    assert!(y.to_vec::<f32>().iter().all(|&v| v == 0.0 || v == 2.0));
    assert_panics_with(
        || {
            nn::Dropout::new(1.5);
        },
        &["between 0 and 1, but got 1.5"],
    );
    // In eval mode dropout is the identity, under vmap with the default randomness too.
    let mut d = d;
    d.eval();
    let y: Tensor = vmap_with(|x: Tensor| d.forward(&x), VmapOpts::new().in_dims(0))(x.clone());
    assert!(y.allclose(&x, 0.0, 0.0));
    let _ = UNMAPPED;
}

#[test]
fn cross_entropy_with_probabilities_and_label_smoothing_matches_torch() {
    use cotangent::{CrossEntropyOpts, cross_entropy_with};
    // torch 2.15.0: F.cross_entropy(x, t, label_smoothing=0.1), F.cross_entropy(x, p),
    // F.cross_entropy(x, p, label_smoothing=0.25), in float64.
    let x = Tensor::new([[2.0f64, 0.0, -1.0], [0.5, 1.5, -0.3]]);
    let t = Tensor::new([0i64, 2]);
    let p = Tensor::new([[0.2f64, 0.3, 0.5], [0.6, 0.1, 0.3]]);
    let smooth = |e: f64| CrossEntropyOpts::new().label_smoothing(e);
    let cases = [
        (cross_entropy_with(&x, &t, smooth(0.1)), 1.2385944698735247),
        (cross_entropy(&x, &p), 1.9185944698735244),
        (cross_entropy_with(&x, &p, smooth(0.25)), 1.8385944698735246),
    ];
    for (loss, expected) in cases {
        assert!(
            (loss.item::<f64>() - expected).abs() < 1e-14,
            "{loss} vs {expected}"
        );
    }
}
