//! The layers: torch.nn's `Linear`, `Conv2d`, `MaxPool2d`, `Dropout`, `Flatten`, `LayerNorm`,
//! the activations and `Sequential`, with torch's default initialisations.

use std::collections::BTreeMap;

use super::{Kind, Module, init, input_error};
use crate::error::{Error, Result, raise};
use crate::ops::elementwise::gelu;
use crate::ops::linalg::try_linear;
use crate::ops::nn::{dropout, try_layer_norm};
use crate::primitives::conv2d::try_conv2d;
use crate::primitives::max_pool2d::try_max_pool2d;
use crate::testing::{OpInfo, RefArray, TestRng};
use crate::trace::Tensor;

/// The tensors of a layer with a weight and an optional bias.
fn weight_and_bias<'a>(
    weight: &'a Tensor,
    bias: &'a Option<Tensor>,
) -> Vec<(&'static str, Kind, &'a Tensor)> {
    let mut v = vec![("weight", Kind::Parameter, weight)];
    v.extend(bias.iter().map(|b| ("bias", Kind::Parameter, b)));
    v
}

/// [`weight_and_bias`], mutably.
fn weight_and_bias_mut<'a>(
    weight: &'a mut Tensor,
    bias: &'a mut Option<Tensor>,
) -> Vec<(&'static str, Kind, &'a mut Tensor)> {
    let mut v = vec![("weight", Kind::Parameter, weight)];
    v.extend(bias.iter_mut().map(|b| ("bias", Kind::Parameter, b)));
    v
}

/// `torch.nn.Linear(in_features, out_features, bias=True)`: `y = x Wᵀ + b` over the last
/// dim. Weight `[out, in]` and bias `[out]` start uniform in `±1/sqrt(in_features)`, torch's
/// default (Kaiming-uniform with `a = sqrt(5)`).
///
/// ```
/// use cotangent::nn::{Linear, Module};
/// use cotangent::Tensor;
/// let fc = Linear::new(3, 2);
/// assert_eq!(fc.forward(&Tensor::ones(&[4, 3])).shape(), &[4, 2]);
/// assert_eq!(fc.describe(), "Linear(in_features=3, out_features=2, bias=True)");
/// ```
#[derive(Clone)]
pub struct Linear {
    /// `[out_features, in_features]`.
    pub weight: Tensor,
    /// `[out_features]`, if the layer has a bias.
    pub bias: Option<Tensor>,
    training: bool,
}

impl Linear {
    /// A layer with a bias, initialised like torch's.
    #[track_caller]
    pub fn new(in_features: usize, out_features: usize) -> Linear {
        Self::with_bias(in_features, out_features, true)
    }

    /// torch's `Linear(in_features, out_features, bias=bias)`.
    #[track_caller]
    pub fn with_bias(in_features: usize, out_features: usize, bias: bool) -> Linear {
        let bound = init::fan_in_bound(in_features);
        Linear {
            weight: init::kaiming_uniform(&[out_features, in_features], in_features),
            bias: bias.then(|| init::uniform(&[out_features], -bound, bound)),
            training: true,
        }
    }

    /// The number of input features (the weight's last dim).
    pub fn in_features(&self) -> usize {
        self.weight.shape()[1]
    }

    /// The number of output features.
    pub fn out_features(&self) -> usize {
        self.weight.shape()[0]
    }
}

impl Module for Linear {
    fn type_name(&self) -> &'static str {
        "Linear"
    }
    fn describe(&self) -> String {
        format!(
            "Linear(in_features={}, out_features={}, bias={})",
            self.in_features(),
            self.out_features(),
            py_bool(self.bias.is_some())
        )
    }
    fn try_forward(&self, x: &Tensor) -> Result<Tensor> {
        if x.dim() == 0 || x.shape()[x.dim() - 1] != self.in_features() {
            return Err(input_error(
                "Linear",
                self.describe(),
                &format!("input [*, {}]", self.in_features()),
                x.shape(),
            ));
        }
        try_linear(x, &self.weight, self.bias.as_ref())
    }
    fn own_tensors(&self) -> Vec<(&'static str, Kind, &Tensor)> {
        weight_and_bias(&self.weight, &self.bias)
    }
    fn own_tensors_mut(&mut self) -> Vec<(&'static str, Kind, &mut Tensor)> {
        weight_and_bias_mut(&mut self.weight, &mut self.bias)
    }
    crate::module_training_flag!();
}

/// The hyper-parameters of [`Conv2d::with`], torch's keyword arguments with its defaults.
#[derive(Clone, Copy, Debug)]
pub struct Conv2dArgs {
    /// Step between windows, `(1, 1)` by default.
    pub stride: [usize; 2],
    /// Zero padding on each side, `(0, 0)` by default.
    pub padding: [usize; 2],
    /// Spacing between kernel taps, `(1, 1)` by default.
    pub dilation: [usize; 2],
    /// Channel groups, 1 by default.
    pub groups: usize,
    /// Whether the layer has a bias (default `true`).
    pub bias: bool,
}

impl Default for Conv2dArgs {
    fn default() -> Self {
        Conv2dArgs {
            stride: [1, 1],
            padding: [0, 0],
            dilation: [1, 1],
            groups: 1,
            bias: true,
        }
    }
}

/// `torch.nn.Conv2d`: 2-D cross-correlation over `[N, C, H, W]` (or `[C, H, W]`) input.
/// Weight `[out, in / groups, kh, kw]` and bias start uniform in `±1/sqrt(fan_in)` with
/// `fan_in = in / groups * kh * kw`, torch's default.
///
/// ```
/// use cotangent::nn::{Conv2d, Module};
/// use cotangent::Tensor;
/// let conv = Conv2d::new(1, 4, 3);
/// assert_eq!(conv.forward(&Tensor::ones(&[2, 1, 8, 8])).shape(), &[2, 4, 6, 6]);
/// ```
#[derive(Clone)]
pub struct Conv2d {
    /// `[out_channels, in_channels / groups, kh, kw]`.
    pub weight: Tensor,
    /// `[out_channels]`, if the layer has a bias.
    pub bias: Option<Tensor>,
    args: Conv2dArgs,
    training: bool,
}

impl Conv2d {
    /// A square `kernel_size` convolution with torch's defaults (stride 1, no padding).
    #[track_caller]
    pub fn new(in_channels: usize, out_channels: usize, kernel_size: usize) -> Conv2d {
        Self::with(
            in_channels,
            out_channels,
            [kernel_size, kernel_size],
            Conv2dArgs::default(),
        )
    }

    /// torch's `Conv2d(in, out, kernel_size, stride=, padding=, dilation=, groups=, bias=)`.
    ///
    /// # Panics
    /// If `groups` is 0 or does not divide both channel counts (torch's messages).
    #[track_caller]
    pub fn with(
        in_channels: usize,
        out_channels: usize,
        kernel_size: [usize; 2],
        args: Conv2dArgs,
    ) -> Conv2d {
        let g = args.groups;
        if g == 0 {
            raise(Error::value("Conv2d", "groups must be a positive integer"));
        }
        if !in_channels.is_multiple_of(g) {
            raise(Error::value(
                "Conv2d",
                format!("in_channels must be divisible by groups (got {in_channels} and {g})"),
            ));
        }
        if !out_channels.is_multiple_of(g) {
            raise(Error::value(
                "Conv2d",
                format!("out_channels must be divisible by groups (got {out_channels} and {g})"),
            ));
        }
        let fan_in = in_channels / g * kernel_size[0] * kernel_size[1];
        let bound = init::fan_in_bound(fan_in);
        Conv2d {
            weight: init::kaiming_uniform(
                &[
                    out_channels,
                    in_channels / g,
                    kernel_size[0],
                    kernel_size[1],
                ],
                fan_in,
            ),
            bias: args
                .bias
                .then(|| init::uniform(&[out_channels], -bound, bound)),
            args,
            training: true,
        }
    }
}

impl Conv2d {
    /// The number of input channels (the weight's second dim times the groups).
    pub fn in_channels(&self) -> usize {
        self.weight.shape()[1] * self.args.groups
    }
}

impl Module for Conv2d {
    fn type_name(&self) -> &'static str {
        "Conv2d"
    }
    fn describe(&self) -> String {
        let a = &self.args;
        let w = self.weight.shape();
        let mut s = format!(
            "Conv2d({}, {}, kernel_size=({}, {}), stride=({}, {})",
            self.in_channels(),
            w[0],
            w[2],
            w[3],
            a.stride[0],
            a.stride[1]
        );
        if a.padding != [0, 0] {
            s += &format!(", padding=({}, {})", a.padding[0], a.padding[1]);
        }
        if a.dilation != [1, 1] {
            s += &format!(", dilation=({}, {})", a.dilation[0], a.dilation[1]);
        }
        if a.groups != 1 {
            s += &format!(", groups={}", a.groups);
        }
        if self.bias.is_none() {
            s += ", bias=False";
        }
        s + ")"
    }
    fn try_forward(&self, x: &Tensor) -> Result<Tensor> {
        let fits = matches!(x.dim(), 3 | 4) && x.shape()[x.dim() - 3] == self.in_channels();
        if !fits {
            return Err(input_error(
                "Conv2d",
                self.describe(),
                &format!(
                    "input [N, {c}, H, W] or [{c}, H, W]",
                    c = self.in_channels()
                ),
                x.shape(),
            ));
        }
        let a = &self.args;
        try_conv2d(
            x,
            &self.weight,
            self.bias.as_ref(),
            a.stride,
            a.padding,
            a.dilation,
            a.groups,
        )
    }
    fn own_tensors(&self) -> Vec<(&'static str, Kind, &Tensor)> {
        weight_and_bias(&self.weight, &self.bias)
    }
    fn own_tensors_mut(&mut self) -> Vec<(&'static str, Kind, &mut Tensor)> {
        weight_and_bias_mut(&mut self.weight, &mut self.bias)
    }
    crate::module_training_flag!();
}

/// `torch.nn.MaxPool2d(kernel_size, stride=kernel_size, padding=0)`.
///
/// ```
/// use cotangent::nn::{MaxPool2d, Module};
/// use cotangent::Tensor;
/// assert_eq!(MaxPool2d::new(2).forward(&Tensor::ones(&[1, 3, 8, 8])).shape(), &[1, 3, 4, 4]);
/// ```
#[derive(Clone)]
pub struct MaxPool2d {
    kernel_size: [usize; 2],
    stride: [usize; 2],
    padding: [usize; 2],
    training: bool,
}

impl MaxPool2d {
    /// Square windows of `kernel_size`, stride equal to the window (torch's default).
    pub fn new(kernel_size: usize) -> MaxPool2d {
        MaxPool2d {
            kernel_size: [kernel_size; 2],
            stride: [kernel_size; 2],
            padding: [0, 0],
            training: true,
        }
    }

    /// A different stride.
    pub fn stride(mut self, stride: usize) -> MaxPool2d {
        self.stride = [stride; 2];
        self
    }

    /// Implicit `-inf` padding on each side.
    pub fn padding(mut self, padding: usize) -> MaxPool2d {
        self.padding = [padding; 2];
        self
    }
}

impl Module for MaxPool2d {
    fn type_name(&self) -> &'static str {
        "MaxPool2d"
    }
    fn describe(&self) -> String {
        format!(
            "MaxPool2d(kernel_size={}, stride={}, padding={})",
            self.kernel_size[0], self.stride[0], self.padding[0]
        )
    }
    fn try_forward(&self, x: &Tensor) -> Result<Tensor> {
        if !matches!(x.dim(), 3 | 4) {
            return Err(input_error(
                "MaxPool2d",
                self.describe(),
                "input [N, C, H, W] or [C, H, W]",
                x.shape(),
            ));
        }
        try_max_pool2d(
            x,
            self.kernel_size,
            Some(self.stride),
            self.padding,
            [1, 1],
            false,
        )
    }
    crate::module_training_flag!();
}

/// `torch.nn.Dropout(p=0.5)`: active in training mode only (see [`crate::dropout`]).
///
/// ```
/// use cotangent::nn::{Dropout, Module};
/// use cotangent::Tensor;
/// let mut d = Dropout::new(0.5);
/// d.eval();
/// assert_eq!(d.forward(&Tensor::ones(&[3])).to_vec::<f32>(), vec![1.0; 3]);
/// ```
#[derive(Clone)]
pub struct Dropout {
    p: f64,
    training: bool,
}

impl Dropout {
    /// Zero elements with probability `p` in training.
    ///
    /// # Panics
    /// Unless `0 <= p <= 1`, with torch's message.
    #[track_caller]
    pub fn new(p: f64) -> Dropout {
        if !(0.0..=1.0).contains(&p) {
            raise(Error::value(
                "Dropout",
                format!("dropout probability has to be between 0 and 1, but got {p}"),
            ));
        }
        Dropout { p, training: true }
    }
}

impl Module for Dropout {
    fn type_name(&self) -> &'static str {
        "Dropout"
    }
    fn describe(&self) -> String {
        format!("Dropout(p={})", self.p)
    }
    fn try_forward(&self, x: &Tensor) -> Result<Tensor> {
        Ok(dropout(x, self.p, self.training))
    }
    crate::module_training_flag!();
}

/// `torch.nn.Flatten(start_dim=1, end_dim=-1)`.
///
/// ```
/// use cotangent::nn::{Flatten, Module};
/// use cotangent::Tensor;
/// assert_eq!(Flatten::new().forward(&Tensor::ones(&[2, 3, 4])).shape(), &[2, 12]);
/// ```
#[derive(Clone)]
pub struct Flatten {
    start_dim: isize,
    end_dim: isize,
    training: bool,
}

impl Default for Flatten {
    fn default() -> Self {
        Self::new()
    }
}

impl Flatten {
    /// Flatten all dims but the first (the batch).
    pub fn new() -> Flatten {
        Self::dims(1, -1)
    }

    /// Flatten `start_dim..=end_dim`.
    pub fn dims(start_dim: isize, end_dim: isize) -> Flatten {
        Flatten {
            start_dim,
            end_dim,
            training: true,
        }
    }
}

impl Module for Flatten {
    fn type_name(&self) -> &'static str {
        "Flatten"
    }
    fn describe(&self) -> String {
        format!(
            "Flatten(start_dim={}, end_dim={})",
            self.start_dim, self.end_dim
        )
    }
    fn try_forward(&self, x: &Tensor) -> Result<Tensor> {
        let r = x.dim().max(1) as isize;
        let norm = |d: isize| if d < 0 { d + r } else { d };
        let (s, e) = (norm(self.start_dim), norm(self.end_dim));
        if s < 0 || e >= r || s > e {
            return Err(input_error(
                "Flatten",
                self.describe(),
                &format!("input with dims {} to {}", self.start_dim, self.end_dim),
                x.shape(),
            ));
        }
        Ok(x.flatten(self.start_dim, self.end_dim))
    }
    crate::module_training_flag!();
}

/// `torch.nn.LayerNorm(normalized_shape, eps=1e-5, elementwise_affine=True)`; weight starts
/// at ones and bias at zeros, as in torch.
///
/// ```
/// use cotangent::nn::{LayerNorm, Module};
/// use cotangent::Tensor;
/// let ln = LayerNorm::new(&[4]);
/// let y = ln.forward(&Tensor::new([[1.0f32, 2.0, 3.0, 4.0]]));
/// assert!(y.mean().item::<f32>().abs() < 1e-6);
/// ```
#[derive(Clone)]
pub struct LayerNorm {
    normalized_shape: Vec<usize>,
    eps: f64,
    /// Scale, of shape `normalized_shape`, if elementwise-affine.
    pub weight: Option<Tensor>,
    /// Shift, of shape `normalized_shape`, if elementwise-affine.
    pub bias: Option<Tensor>,
    training: bool,
}

impl LayerNorm {
    /// Normalise over the trailing `normalized_shape`, with a learned scale and shift.
    #[track_caller]
    pub fn new(normalized_shape: &[usize]) -> LayerNorm {
        Self::with(normalized_shape, 1e-5, true)
    }

    /// torch's `LayerNorm(normalized_shape, eps, elementwise_affine)`.
    #[track_caller]
    pub fn with(normalized_shape: &[usize], eps: f64, elementwise_affine: bool) -> LayerNorm {
        LayerNorm {
            normalized_shape: normalized_shape.to_vec(),
            eps,
            weight: elementwise_affine.then(|| Tensor::ones(normalized_shape)),
            bias: elementwise_affine.then(|| Tensor::zeros(normalized_shape)),
            training: true,
        }
    }
}

impl Module for LayerNorm {
    fn type_name(&self) -> &'static str {
        "LayerNorm"
    }
    fn describe(&self) -> String {
        format!(
            "LayerNorm({:?}, eps={:e}, elementwise_affine={})",
            self.normalized_shape,
            self.eps,
            py_bool(self.weight.is_some())
        )
    }
    fn try_forward(&self, x: &Tensor) -> Result<Tensor> {
        let k = self.normalized_shape.len();
        if x.dim() < k || x.shape()[x.dim() - k..] != *self.normalized_shape {
            return Err(input_error(
                "LayerNorm",
                self.describe(),
                &format!("input [*, {:?}]", self.normalized_shape),
                x.shape(),
            ));
        }
        try_layer_norm(
            x,
            &self.normalized_shape,
            self.weight.as_ref(),
            self.bias.as_ref(),
            self.eps,
        )
    }
    fn own_tensors(&self) -> Vec<(&'static str, Kind, &Tensor)> {
        [("weight", &self.weight), ("bias", &self.bias)]
            .into_iter()
            .filter_map(|(n, t)| t.as_ref().map(|t| (n, Kind::Parameter, t)))
            .collect()
    }
    fn own_tensors_mut(&mut self) -> Vec<(&'static str, Kind, &mut Tensor)> {
        [("weight", &mut self.weight), ("bias", &mut self.bias)]
            .into_iter()
            .filter_map(|(n, t)| t.as_mut().map(|t| (n, Kind::Parameter, t)))
            .collect()
    }
    crate::module_training_flag!();
}

/// Declares a parameter-free elementwise activation layer.
macro_rules! activation {
    ($(#[$doc:meta])* $name:ident, $f:expr) => {
        $(#[$doc])*
        #[derive(Clone)]
        pub struct $name {
            training: bool,
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl $name {
            /// The layer.
            pub fn new() -> $name {
                $name { training: true }
            }
        }

        impl Module for $name {
            fn type_name(&self) -> &'static str {
                stringify!($name)
            }
            fn try_forward(&self, x: &Tensor) -> Result<Tensor> {
                let f: fn(&Tensor) -> Tensor = $f;
                Ok(f(x))
            }
            crate::module_training_flag!();
        }
    };
}

activation!(
    /// `torch.nn.ReLU()`: `max(x, 0)`.
    ReLU,
    |x| x.relu()
);
activation!(
    /// `torch.nn.Tanh()`.
    Tanh,
    |x| x.tanh()
);
activation!(
    /// `torch.nn.Sigmoid()`: `1 / (1 + exp(-x))`.
    Sigmoid,
    |x| x.sigmoid()
);
activation!(
    /// `torch.nn.GELU()` (exact, with `erf`; `approximate='none'`).
    GELU,
    |x| gelu(x, "none")
);

/// `torch.nn.Sequential`: layers applied in order, named `"0"`, `"1"`, ... in the state
/// dict.
///
/// ```
/// use cotangent::nn::{Linear, Module, ReLU, Sequential};
/// use cotangent::Tensor;
/// let mlp = Sequential::new().push(Linear::new(4, 8)).push(ReLU::new()).push(Linear::new(8, 2));
/// assert_eq!(mlp.forward(&Tensor::ones(&[5, 4])).shape(), &[5, 2]);
/// let names: Vec<String> = mlp.named_parameters().into_keys().collect();
/// assert_eq!(names, ["0.bias", "0.weight", "2.bias", "2.weight"]);
/// ```
#[derive(Clone)]
pub struct Sequential {
    layers: Vec<Box<dyn Module>>,
    training: bool,
}

impl Default for Sequential {
    fn default() -> Self {
        Self::new()
    }
}

impl Sequential {
    /// No layers yet (the identity).
    pub fn new() -> Sequential {
        Sequential {
            layers: Vec::new(),
            training: true,
        }
    }

    /// Append a layer.
    pub fn push(mut self, layer: impl Module) -> Sequential {
        self.layers.push(Box::new(layer));
        self
    }

    /// The layers.
    pub fn layers(&self) -> &[Box<dyn Module>] {
        &self.layers
    }
}

impl Module for Sequential {
    fn type_name(&self) -> &'static str {
        "Sequential"
    }
    fn describe(&self) -> String {
        let inner: Vec<String> = self
            .layers
            .iter()
            .enumerate()
            .map(|(i, l)| format!("({i}): {}", l.describe()))
            .collect();
        format!("Sequential({})", inner.join(", "))
    }
    fn try_forward(&self, x: &Tensor) -> Result<Tensor> {
        let mut y = x.clone();
        for l in &self.layers {
            y = l.try_forward(&y)?;
        }
        Ok(y)
    }
    fn children(&self) -> Vec<(String, &dyn Module)> {
        self.layers
            .iter()
            .enumerate()
            .map(|(i, l)| (i.to_string(), l.as_ref()))
            .collect()
    }
    fn children_mut(&mut self) -> Vec<(String, &mut dyn Module)> {
        self.layers
            .iter_mut()
            .enumerate()
            .map(|(i, l)| (i.to_string(), l.as_mut()))
            .collect()
    }
    crate::module_training_flag!();
}

fn py_bool(b: bool) -> &'static str {
    if b { "True" } else { "False" }
}

/// Op-table entries for the layers with parameters: the layer called through
/// `functional_call` with the sample's weight and bias, so the transform checks
/// differentiate through the module path with respect to input and parameters alike.
pub(crate) fn op_info() -> Vec<OpInfo> {
    // Layers are built here, outside any transform: their random initialisation would be
    // refused under vmap, and the values are replaced anyway.
    fn call<M: Module + Clone>(m: &M, names: &[&str], a: &[Tensor]) -> Tensor {
        let params: BTreeMap<String, Tensor> = names
            .iter()
            .zip(&a[1..])
            .map(|(n, t)| (n.to_string(), t.clone()))
            .collect();
        let m = super::reparametrize(m, &params, super::CallOpts::new());
        m.forward(&a[0])
    }
    let linear_ref = |r: &[RefArray]| {
        let (x, w, b) = (&r[0], &r[1], &r[2]);
        let (n, o, k) = (x.shape[0], w.shape[0], w.shape[1]);
        RefArray::from_fn(&[n, o], |i| {
            b.get(&[i[1]])
                + (0..k)
                    .map(|c| x.get(&[i[0], c]) * w.get(&[i[1], c]))
                    .sum::<f64>()
        })
    };
    let conv_ref = |r: &[RefArray]| {
        // Stride 1, padding 1, 3x3 kernel.
        let (x, w, b) = (&r[0], &r[1], &r[2]);
        let (n, c, h, wd) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3]);
        let o = w.shape[0];
        RefArray::from_fn(&[n, o, h, wd], |i| {
            let mut s = b.get(&[i[1]]);
            for ci in 0..c {
                for p in 0..3 {
                    for q in 0..3 {
                        let (y, z) = (i[2] + p, i[3] + q);
                        if (1..=h).contains(&y) && (1..=wd).contains(&z) {
                            s += x.get(&[i[0], ci, y - 1, z - 1]) * w.get(&[i[1], ci, p, q]);
                        }
                    }
                }
            }
            s
        })
    };
    let seq_ref = move |r: &[RefArray]| {
        // Linear(3, 4) -> Tanh -> Linear(4, 2).
        let h = linear_ref(&[r[0].clone(), r[1].clone(), r[2].clone()]);
        let h = RefArray {
            shape: h.shape.clone(),
            data: h.data.iter().map(|v| v.tanh()).collect(),
        };
        linear_ref(&[h, r[3].clone(), r[4].clone()])
    };
    let linear = Linear::new(3, 4);
    let conv = Conv2d::with(
        2,
        3,
        [3, 3],
        Conv2dArgs {
            padding: [1, 1],
            ..Conv2dArgs::default()
        },
    );
    let norm = LayerNorm::new(&[3, 4]);
    let mlp = Sequential::new()
        .push(Linear::new(3, 4))
        .push(Tanh::new())
        .push(Linear::new(4, 2));
    let elementwise = |name: &str, m: Box<dyn Module>, f: fn(f64) -> f64| {
        OpInfo::new(
            name,
            move |a| m.forward(&a[0]),
            move |r| RefArray {
                shape: r[0].shape.clone(),
                data: r[0].data.iter().map(|&v| f(v)).collect(),
            },
            |rng: &mut TestRng| vec![vec![rng.tensor(&[3, 4], -2.0, 2.0)]],
        )
    };
    let mut eval_dropout = Dropout::new(0.5);
    eval_dropout.set_training(false);
    let pool = MaxPool2d::new(2);
    let flatten = Flatten::new();
    let mut table = vec![
        // ReLU's kink at 0 is never sampled: the values are continuous.
        elementwise("nn_relu", Box::<ReLU>::default(), |v| v.max(0.0)),
        elementwise("nn_tanh", Box::<Tanh>::default(), f64::tanh),
        elementwise("nn_sigmoid", Box::<Sigmoid>::default(), |v| {
            1.0 / (1.0 + (-v).exp())
        }),
        elementwise("nn_gelu", Box::<GELU>::default(), |v| {
            0.5 * v * (1.0 + libm::erf(v / std::f64::consts::SQRT_2))
        }),
        elementwise("nn_dropout_eval", Box::new(eval_dropout), |v| v),
        OpInfo::new(
            "nn_max_pool2d",
            move |a| pool.forward(&a[0]),
            |r| {
                let x = &r[0];
                let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3]);
                RefArray::from_fn(&[n, c, h / 2, w / 2], |i| {
                    let mut m = f64::NEG_INFINITY;
                    for p in 0..2 {
                        for q in 0..2 {
                            m = m.max(x.get(&[i[0], i[1], 2 * i[2] + p, 2 * i[3] + q]));
                        }
                    }
                    m
                })
            },
            |rng: &mut TestRng| vec![vec![rng.tensor(&[2, 3, 4, 6], -2.0, 2.0)]],
        ),
        OpInfo::new(
            "nn_flatten",
            move |a| flatten.forward(&a[0]),
            |r| RefArray {
                shape: vec![r[0].shape[0], r[0].shape[1..].iter().product()],
                data: r[0].data.clone(),
            },
            |rng: &mut TestRng| vec![vec![rng.tensor(&[2, 3, 4], -2.0, 2.0)]],
        ),
    ];
    table.extend([
        OpInfo::new(
            "nn_linear",
            move |a| call(&linear, &["weight", "bias"], a),
            linear_ref,
            |rng: &mut TestRng| {
                vec![vec![
                    rng.tensor(&[5, 3], -1.0, 1.0),
                    rng.tensor(&[4, 3], -1.0, 1.0),
                    rng.tensor(&[4], -1.0, 1.0),
                ]]
            },
        ),
        OpInfo::new(
            "nn_conv2d",
            move |a| call(&conv, &["weight", "bias"], a),
            conv_ref,
            |rng: &mut TestRng| {
                vec![vec![
                    rng.tensor(&[2, 2, 4, 3], -1.0, 1.0),
                    rng.tensor(&[3, 2, 3, 3], -1.0, 1.0),
                    rng.tensor(&[3], -1.0, 1.0),
                ]]
            },
        ),
        OpInfo::new(
            "nn_layer_norm",
            move |a| call(&norm, &["weight", "bias"], a),
            crate::ops::nn::layer_norm_reference,
            |rng: &mut TestRng| {
                vec![vec![
                    rng.tensor(&[2, 3, 4], -2.0, 2.0),
                    rng.tensor(&[3, 4], 0.5, 1.5),
                    rng.tensor(&[3, 4], -1.0, 1.0),
                ]]
            },
        ),
        OpInfo::new(
            "nn_sequential",
            move |a| call(&mlp, &["0.weight", "0.bias", "2.weight", "2.bias"], a),
            seq_ref,
            |rng: &mut TestRng| {
                vec![vec![
                    rng.tensor(&[5, 3], -1.0, 1.0),
                    rng.tensor(&[4, 3], -1.0, 1.0),
                    rng.tensor(&[4], -1.0, 1.0),
                    rng.tensor(&[2, 4], -1.0, 1.0),
                    rng.tensor(&[2], -1.0, 1.0),
                ]]
            },
        ),
    ]);
    table
}
