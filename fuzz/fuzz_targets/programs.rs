//! Arbitrary programs over cotangent's tensor frontend and transforms.
//!
//! The input decodes (through `arbitrary`) into a few small tensors of any dtype and a
//! sequence of ops with arbitrary dims and arguments, run eagerly or as the body of a
//! transform (`vmap`, `grad`, `vjp`, `jvp`, `jacrev`, `jacfwd`, `hessian`, `linearize`, and
//! some nestings), followed by ops on the transform's results (where a tracer that escaped
//! through `Stash` meets them). Everything runs inside `cotangent::catch`.
//!
//! The property: bad input fails only with a cotangent error. A foreign panic (a failed
//! `assert!`, an index out of bounds, an overflow in debug) is re-raised by `catch` and
//! libFuzzer's panic hook aborts on it, which the fuzzer reports as a crash; so are aborts,
//! stack overflows and timeouts. After every program the library must still work: a
//! small eager op and a small `grad` give their known values.
#![no_main]

use std::cell::RefCell;

use arbitrary::Arbitrary;
use std::collections::BTreeMap;

use cotangent::nn::optim::{Adam, Sgd};
use cotangent::nn::{
    Conv2d, Dropout, Flatten, GELU, LayerNorm, Linear, MaxPool2d, Module, ReLU, Sequential,
    StateDict, Tanh, functional_call,
};
use cotangent::transforms::vmap::Dims;
use cotangent::tree::DynTree;
use cotangent::{CrossEntropyOpts, DType, GradOpts, JacrevOpts, Randomness, Tensor, VmapOpts, catch};
use libfuzzer_sys::fuzz_target;

/// Tensors on the stack stay below this many elements, so the fuzzer measures logic, not
/// allocation (an op's output can be a few times larger than its inputs before it is dropped).
const MAX_NUMEL: usize = 1024;
/// Inputs of the Jacobian transforms stay this small: their cost is inputs × outputs.
const MAX_JAC_INPUT: usize = 24;
const MAX_STACK: usize = 12;
const MAX_OPS: usize = 24;

#[derive(Arbitrary, Debug)]
struct Program {
    inputs: Vec<Input>,
    mode: Mode,
    body: Vec<Op>,
    /// Run eagerly on the transform's outputs (and whatever the body stashed).
    after: Vec<Op>,
    /// Reduce the body's result with `sum()` (so `grad` and `hessian` see a scalar).
    sum_output: bool,
}

#[derive(Arbitrary, Debug)]
struct Input {
    dtype: u8,
    shape: Vec<u8>,
    values: Vec<i8>,
    /// Make it a non-contiguous view (transposed or strided) before use.
    view: u8,
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum Mode {
    Eager,
    Vmap {
        in_dim: i8,
        second: Option<i8>,
        out_dim: i8,
        chunk: u8,
        randomness: u8,
    },
    Grad,
    GradArgnums(i8, Option<i8>),
    GradAndValue,
    Vjp {
        cotangent: u8,
    },
    Jvp {
        tangent: u8,
    },
    Linearize {
        tangent: u8,
    },
    Jacrev {
        chunk: u8,
    },
    Jacfwd,
    Hessian,
    VmapGrad,
    VmapVmap {
        in_dim: i8,
    },
    JvpGrad,
    GradGrad,
    VmapJacrev,
}

/// One op: operands are stack slots (`a`, `b`, `c` taken modulo the stack's length), dims
/// and sizes are small signed and unsigned bytes.
#[derive(Arbitrary, Debug, Clone)]
enum Op {
    Unary(u8, u8),
    Binary(u8, u8, u8),
    Compare(u8, u8, u8),
    Scalar(u8, u8, i8),
    Where(u8, u8, u8),
    Clamp(u8, Option<i8>, Option<i8>),
    ClampTensor(u8, u8, u8),
    ToDType(u8, u8),
    Reshape(u8, Vec<i8>),
    Permute(u8, Vec<i8>),
    Transpose(u8, i8, i8),
    Expand(u8, Vec<i8>),
    BroadcastTo(u8, Vec<u8>),
    Narrow(u8, i8, i8, u8),
    Select(u8, i8, i8),
    Slice(u8, i8, i8, i8, u8),
    Squeeze(u8, Option<i8>),
    Unsqueeze(u8, i8),
    Flatten(u8, i8, i8),
    Unflatten(u8, i8, Vec<i8>),
    Movedim(u8, i8, i8),
    Flip(u8, Vec<i8>),
    Repeat(u8, Vec<u8>),
    Pad(u8, Vec<i8>, i8),
    Chunk(u8, u8, i8),
    Split(u8, u8, i8),
    SplitWithSizes(u8, Vec<u8>, i8),
    Unbind(u8, i8),
    Cat(Vec<u8>, i8),
    Stack(Vec<u8>, i8),
    Reduce(u8, u8, Vec<i8>, bool),
    ReduceAll(u8, u8),
    ArgReduce(u8, bool, Option<i8>, bool),
    MaxDim(u8, bool, i8, bool),
    VarStd(u8, bool, Vec<i8>, i8, bool),
    Softmax(u8, bool, i8),
    Cumsum(u8, i8),
    Gather(u8, i8, u8),
    TakeAlongDim(u8, u8, Option<i8>),
    IndexSelect(u8, i8, u8),
    ScatterAdd(u8, i8, u8, u8),
    OneHot(u8, i8),
    Linalg(u8, u8, u8),
    Tensordot(u8, u8, Vec<i8>, Vec<i8>),
    DotGeneral(u8, u8, Vec<i8>, Vec<i8>, Vec<i8>, Vec<i8>),
    Linear(u8, u8, Option<u8>),
    Conv2d(u8, u8, Option<u8>, [u8; 2], [u8; 2], [u8; 2], u8),
    MaxPool2d(u8, [u8; 2], Option<[u8; 2]>, [u8; 2], [u8; 2], bool),
    LayerNorm(u8, Vec<u8>, Option<u8>, Option<u8>),
    Loss(u8, u8, u8, i8),
    Random(u8, Vec<u8>, i8, i8),
    Dropout(u8, i8, bool),
    Item(u8),
    Creation(u8, i8, i8, u8),
    Layer(u8, u8, u8, u8),
    FunctionalCall(u8, u8, Option<u8>),
    Optimise(u8, u8, u8, i8),
    OtherThread(u8, u8),
    Stash(u8),
    Unstash,
}

thread_local! {
    /// A tensor the body put aside: a tracer when stashed under a transform, so using it in
    /// `after` (or in a later call of the body) is an escaped tracer.
    static STASH: RefCell<Option<Tensor>> = const { RefCell::new(None) };
}

fn small(v: i8, m: i8) -> isize {
    (v % m) as isize
}

fn size(v: u8, m: u8) -> usize {
    (v % m) as usize
}

fn dtype(v: u8) -> DType {
    match v % 6 {
        0 | 1 => DType::F32,
        2 => DType::F64,
        3 | 4 => DType::I64,
        _ => DType::Bool,
    }
}

/// Floats with the awkward values in reach: NaN, infinities, zeros of both signs.
fn float_of(b: i8) -> f64 {
    match b {
        127 => f64::NAN,
        126 => f64::INFINITY,
        -128 => f64::NEG_INFINITY,
        -127 => -0.0,
        b => b as f64 / 8.0,
    }
}

fn make_input(input: &Input) -> Option<Tensor> {
    let shape: Vec<usize> = input.shape.iter().take(4).map(|&d| size(d, 5)).collect();
    let n: usize = shape.iter().product();
    let value = |i: usize| {
        input
            .values
            .get(i % input.values.len().max(1))
            .copied()
            .unwrap_or(1)
    };
    let t = match dtype(input.dtype) {
        DType::F32 => Tensor::from_vec((0..n).map(|i| float_of(value(i)) as f32).collect(), &shape),
        DType::F64 => Tensor::from_vec((0..n).map(|i| float_of(value(i))).collect(), &shape),
        DType::I64 => Tensor::from_vec((0..n).map(|i| value(i) as i64 % 6).collect(), &shape),
        DType::Bool => Tensor::from_vec((0..n).map(|i| value(i) % 2 == 0).collect(), &shape),
    }
    .ok()?;
    Some(match input.view % 4 {
        1 if t.dim() >= 2 => t.transpose(0, -1),
        2 if t.dim() >= 1 && t.size(0) > 1 => t.slice(0, 0, t.size(0) as isize, 2),
        3 if t.dim() >= 1 => t.expand(
            &[2].iter()
                .chain(&vec![-1; t.dim()])
                .copied()
                .collect::<Vec<_>>(),
        ),
        _ => t,
    })
}

struct Machine {
    stack: Vec<Tensor>,
}

impl Machine {
    fn arg(&self, i: u8) -> &Tensor {
        &self.stack[i as usize % self.stack.len()]
    }

    fn push(&mut self, t: Tensor) {
        if t.numel() <= MAX_NUMEL {
            if self.stack.len() >= MAX_STACK {
                self.stack.remove(0);
            }
            self.stack.push(t);
        }
    }

    fn run(&mut self, ops: &[Op]) {
        for op in ops.iter().take(MAX_OPS) {
            if self.stack.is_empty() {
                return;
            }
            for t in self.step(op) {
                self.push(t);
            }
        }
    }

    fn dims(v: &[i8]) -> Vec<isize> {
        v.iter().take(5).map(|&d| small(d, 6)).collect()
    }

    fn sizes(v: &[u8], m: u8) -> Vec<usize> {
        v.iter().take(5).map(|&d| size(d, m)).collect()
    }

    fn step(&mut self, op: &Op) -> Vec<Tensor> {
        use cotangent as c;
        let one = |t: Tensor| vec![t];
        match op {
            Op::Unary(a, which) => {
                let x = self.arg(*a);
                one(match which % 34 {
                    0 => -x,
                    1 => x.abs(),
                    2 => x.exp(),
                    3 => x.log(),
                    4 => x.sin(),
                    5 => x.cos(),
                    6 => x.tanh(),
                    7 => x.sigmoid(),
                    8 => x.relu(),
                    9 => x.sqrt(),
                    10 => x.rsqrt(),
                    11 => x.reciprocal(),
                    12 => x.floor(),
                    13 => x.ceil(),
                    14 => x.round(),
                    15 => x.sign(),
                    16 => x.erf(),
                    17 => x.expm1(),
                    18 => x.log1p(),
                    19 => x.tan(),
                    20 => x.logical_not(),
                    21 => x.square(),
                    22 => c::gelu(x, "none"),
                    23 => c::gelu(x, "tanh"),
                    24 => c::gelu(x, "erf"),
                    25 => c::softplus(x),
                    26 => c::silu(x),
                    27 => c::leaky_relu(x, 0.1),
                    28 => c::hardtanh(x, 1.0, -1.0),
                    29 => c::log_sigmoid(x),
                    30 => x.stop_gradient(),
                    31 => x.contiguous(),
                    32 => x.t(),
                    _ => x.mT(),
                })
            }
            Op::Binary(a, b, which) => {
                let (x, y) = (self.arg(*a), self.arg(*b));
                one(match which % 14 {
                    0 => x + y,
                    1 => x - y,
                    2 => x * y,
                    3 => x / y,
                    4 => x.pow(y),
                    5 => x.atan2(y),
                    6 => x.maximum(y),
                    7 => x.minimum(y),
                    8 => x.fmod(y),
                    9 => x.remainder(y),
                    10 => x.logical_and(y),
                    11 => x.logical_or(y),
                    12 => x.logical_xor(y),
                    _ => c::mse_loss(x, y),
                })
            }
            Op::Compare(a, b, which) => {
                let (x, y) = (self.arg(*a), self.arg(*b));
                one(match which % 6 {
                    0 => x.eq(y),
                    1 => x.ne(y),
                    2 => x.lt(y),
                    3 => x.le(y),
                    4 => x.gt(y),
                    _ => x.ge(y),
                })
            }
            Op::Scalar(a, which, v) => {
                let (x, v) = (self.arg(*a), float_of(*v));
                one(match which % 8 {
                    0 => x + v,
                    1 => x * v,
                    2 => x / v,
                    3 => x.pow_scalar(v),
                    4 => x.pow_scalar_int(v as i64),
                    5 => x.eq_scalar(v),
                    6 => x.lt_scalar(v),
                    _ => x.full_like(v),
                })
            }
            Op::Where(p, a, b) => one(c::where_(self.arg(*p), self.arg(*a), self.arg(*b))),
            Op::Clamp(a, lo, hi) => one(self.arg(*a).clamp(lo.map(float_of), hi.map(float_of))),
            Op::ClampTensor(a, lo, hi) => one(self
                .arg(*a)
                .clamp_tensor(Some(self.arg(*lo)), Some(self.arg(*hi)))),
            Op::ToDType(a, d) => one(self.arg(*a).to_dtype(dtype(*d))),
            Op::Reshape(a, shape) => {
                let shape: Vec<isize> = shape.iter().take(5).map(|&d| small(d, 7) - 1).collect();
                let x = self.arg(*a);
                one(if shape.len().is_multiple_of(2) {
                    x.reshape(&shape)
                } else {
                    x.view(&shape)
                })
            }
            Op::Permute(a, dims) => one(self.arg(*a).permute(&Self::dims(dims))),
            Op::Transpose(a, d0, d1) => one(self.arg(*a).transpose(small(*d0, 6), small(*d1, 6))),
            Op::Expand(a, sizes) => {
                let sizes: Vec<isize> = sizes.iter().take(5).map(|&d| small(d, 5)).collect();
                one(self.arg(*a).expand(&sizes))
            }
            Op::BroadcastTo(a, shape) => one(self.arg(*a).broadcast_to(&Self::sizes(shape, 5))),
            Op::Narrow(a, d, start, len) => {
                one(self
                    .arg(*a)
                    .narrow(small(*d, 6), small(*start, 6), size(*len, 6)))
            }
            Op::Select(a, d, i) => one(self.arg(*a).select(small(*d, 6), small(*i, 6))),
            Op::Slice(a, d, start, end, step) => one(self.arg(*a).slice(
                small(*d, 6),
                small(*start, 8),
                small(*end, 8),
                size(*step, 4),
            )),
            Op::Squeeze(a, d) => one(match d {
                Some(d) => self.arg(*a).squeeze_dim(small(*d, 6)),
                None => self.arg(*a).squeeze(),
            }),
            Op::Unsqueeze(a, d) => one(self.arg(*a).unsqueeze(small(*d, 6))),
            Op::Flatten(a, s, e) => one(self.arg(*a).flatten(small(*s, 6), small(*e, 6))),
            Op::Unflatten(a, d, sizes) => {
                let sizes: Vec<isize> = sizes.iter().take(4).map(|&d| small(d, 6) - 1).collect();
                one(self.arg(*a).unflatten(small(*d, 6), &sizes))
            }
            Op::Movedim(a, s, d) => one(self.arg(*a).movedim(small(*s, 6), small(*d, 6))),
            Op::Flip(a, dims) => one(self.arg(*a).flip(&Self::dims(dims))),
            Op::Repeat(a, sizes) => one(self.arg(*a).repeat(&Self::sizes(sizes, 4))),
            Op::Pad(a, pads, v) => {
                let pads: Vec<isize> = pads.iter().take(7).map(|&p| small(p, 5)).collect();
                one(c::pad(self.arg(*a), &pads, float_of(*v)))
            }
            Op::Chunk(a, n, d) => self.arg(*a).chunk(size(*n, 5), small(*d, 6)),
            Op::Split(a, n, d) => self.arg(*a).split(size(*n, 5), small(*d, 6)),
            Op::SplitWithSizes(a, sizes, d) => self
                .arg(*a)
                .split_with_sizes(&Self::sizes(sizes, 5), small(*d, 6)),
            Op::Unbind(a, d) => self.arg(*a).unbind(small(*d, 6)),
            Op::Cat(args, d) => {
                let xs: Vec<&Tensor> = args.iter().take(4).map(|&i| self.arg(i)).collect();
                one(c::cat(&xs, small(*d, 6)))
            }
            Op::Stack(args, d) => {
                let xs: Vec<&Tensor> = args.iter().take(4).map(|&i| self.arg(i)).collect();
                one(c::stack(&xs, small(*d, 6)))
            }
            Op::Reduce(a, which, dims, keep) => {
                let (x, dims, keep) = (self.arg(*a), Self::dims(dims), *keep);
                one(match which % 7 {
                    0 => x.sum_dim(&dims, keep),
                    1 => x.mean_dim(&dims, keep),
                    2 => x.amax(&dims, keep),
                    3 => x.amin(&dims, keep),
                    4 => x.logsumexp(&dims, keep),
                    5 => x.any_dim(&dims, keep),
                    _ => x.all_dim(&dims, keep),
                })
            }
            Op::ReduceAll(a, which) => {
                let x = self.arg(*a);
                one(match which % 9 {
                    0 => x.sum(),
                    1 => x.mean(),
                    2 => x.prod(),
                    3 => x.max(),
                    4 => x.min(),
                    5 => x.var(),
                    6 => x.std(),
                    7 => x.any(),
                    _ => x.all(),
                })
            }
            Op::ArgReduce(a, max, d, keep) => {
                let (x, d) = (self.arg(*a), d.map(|d| small(d, 6)));
                one(if *max {
                    x.argmax(d, *keep)
                } else {
                    x.argmin(d, *keep)
                })
            }
            Op::MaxDim(a, max, d, keep) => {
                let x = self.arg(*a);
                let (v, i) = if *max {
                    x.max_dim(small(*d, 6), *keep)
                } else {
                    x.min_dim(small(*d, 6), *keep)
                };
                vec![v, i]
            }
            Op::VarStd(a, var, dims, correction, keep) => {
                let (x, dims, corr) = (self.arg(*a), Self::dims(dims), float_of(*correction));
                one(if *var {
                    x.var_dim(&dims, corr, *keep)
                } else {
                    x.std_dim(&dims, corr, *keep)
                })
            }
            Op::Softmax(a, log, d) => one(if *log {
                self.arg(*a).log_softmax(small(*d, 6))
            } else {
                self.arg(*a).softmax(small(*d, 6))
            }),
            Op::Cumsum(a, d) => one(self.arg(*a).cumsum(small(*d, 6))),
            Op::Gather(a, d, i) => one(self.arg(*a).gather(small(*d, 6), self.arg(*i))),
            Op::TakeAlongDim(a, i, d) => one(self
                .arg(*a)
                .take_along_dim(self.arg(*i), d.map(|d| small(d, 6)))),
            Op::IndexSelect(a, d, i) => one(self.arg(*a).index_select(small(*d, 6), self.arg(*i))),
            Op::ScatterAdd(a, d, i, s) => {
                one(self
                    .arg(*a)
                    .scatter_add(small(*d, 6), self.arg(*i), self.arg(*s)))
            }
            Op::OneHot(a, n) => one(self.arg(*a).one_hot(small(*n, 8) as i64)),
            Op::Linalg(a, b, which) => {
                let (x, y) = (self.arg(*a), self.arg(*b));
                one(match which % 6 {
                    0 => x.matmul(y),
                    1 => x.mm(y),
                    2 => x.bmm(y),
                    3 => x.mv(y),
                    4 => x.dot(y),
                    _ => x.outer(y),
                })
            }
            Op::Tensordot(a, b, da, db) => one(c::tensordot(
                self.arg(*a),
                self.arg(*b),
                &Self::dims(da),
                &Self::dims(db),
            )),
            Op::DotGeneral(a, b, ca, cb, ba, bb) => one(c::dot_general(
                self.arg(*a),
                self.arg(*b),
                (&Self::dims(ca), &Self::dims(cb)),
                (&Self::dims(ba), &Self::dims(bb)),
            )),
            Op::Linear(x, w, b) => {
                let bias = b.map(|b| self.arg(b).clone());
                one(c::linear(self.arg(*x), self.arg(*w), bias.as_ref()))
            }
            Op::Conv2d(x, w, b, stride, padding, dilation, groups) => {
                let bias = b.map(|b| self.arg(b).clone());
                let pair = |p: &[u8; 2], m: u8| [size(p[0], m), size(p[1], m)];
                one(c::conv2d(
                    self.arg(*x),
                    self.arg(*w),
                    bias.as_ref(),
                    pair(stride, 4),
                    pair(padding, 3),
                    pair(dilation, 3),
                    size(*groups, 4),
                ))
            }
            Op::MaxPool2d(x, kernel, stride, padding, dilation, ceil) => {
                let pair = |p: &[u8; 2], m: u8| [size(p[0], m), size(p[1], m)];
                one(c::max_pool2d(
                    self.arg(*x),
                    pair(kernel, 4),
                    stride.as_ref().map(|s| pair(s, 4)),
                    pair(padding, 3),
                    pair(dilation, 3),
                    *ceil,
                ))
            }
            Op::LayerNorm(x, shape, w, b) => {
                let (w, b) = (
                    w.map(|w| self.arg(w).clone()),
                    b.map(|b| self.arg(b).clone()),
                );
                one(c::layer_norm(
                    self.arg(*x),
                    &Self::sizes(shape, 5),
                    w.as_ref(),
                    b.as_ref(),
                    1e-5,
                ))
            }
            Op::Loss(a, t, which, smoothing) => {
                let (x, target) = (self.arg(*a), self.arg(*t));
                one(match which % 3 {
                    0 => c::nll_loss(x, target),
                    1 => c::cross_entropy(x, target),
                    _ => c::cross_entropy_with(
                        x,
                        target,
                        CrossEntropyOpts::new().label_smoothing(float_of(*smoothing)),
                    ),
                })
            }
            Op::Random(which, shape, lo, hi) => {
                let shape = Self::sizes(shape, 5);
                one(match which % 7 {
                    0 => c::rand(&shape, DType::F32),
                    1 => c::randn(&shape, DType::F64),
                    2 => c::randint(*lo as i64, *hi as i64, &shape),
                    3 => c::randperm(size(*hi as u8, 9)),
                    4 => c::normal(float_of(*lo), float_of(*hi), &shape),
                    5 => c::bernoulli(self.arg(*lo as u8)),
                    _ => self.arg(*hi as u8).rand_like(),
                })
            }
            Op::Dropout(a, p, training) => {
                one(c::dropout(self.arg(*a), float_of(*p) / 8.0, *training))
            }
            Op::Item(a) => {
                let x = self.arg(*a);
                one(Tensor::scalar(x.item::<f64>()))
            }
            Op::Creation(which, a, b, n) => one(match which % 6 {
                0 => Tensor::arange(*a as i64 % 16),
                // Finite bounds only: an infinite range is an allocation failure, item 3 of
                // issue 8, fixed on another branch.
                1 => Tensor::arange_step(*a as f64, *b as f64, float_of(*n as i8), DType::F32),
                2 => Tensor::linspace(float_of(*a), float_of(*b), size(*n, 9)),
                3 => Tensor::eye(size(*n, 6), size(*a as u8, 6)),
                4 => Tensor::full(&[size(*n, 5)], float_of(*a), dtype(*b as u8)),
                _ => Tensor::scalar_of(float_of(*a), dtype(*n)),
            }),
            Op::Layer(which, a, n, m) => {
                let x = self.arg(*a);
                let (n, m) = (size(*n, 5), size(*m, 4) + 1);
                let layer: Box<dyn Module> = match which % 9 {
                    0 => Box::new(Linear::new(n, m)),
                    1 => Box::new(Linear::with_bias(n, m, false)),
                    2 => Box::new(Conv2d::new(n, m, m % 3 + 1)),
                    3 => Box::new(MaxPool2d::new(n).stride(m - 1).padding(size(*a, 2))),
                    4 => Box::new(Flatten::dims(n as isize - 2, m as isize - 3)),
                    5 => Box::new(LayerNorm::new(&x.shape()[x.dim().saturating_sub(n % 3)..])),
                    6 => Box::new(Dropout::new(n as f64 / 4.0)),
                    7 => Box::new(
                        Sequential::new()
                            .push(ReLU::new())
                            .push(Linear::new(n, m))
                            .push(Tanh::new()),
                    ),
                    _ => Box::new(GELU::new()),
                };
                one(layer.forward(x))
            }
            Op::FunctionalCall(x, w, b) => {
                let model = Linear::new(3, 2);
                let mut params: StateDict = BTreeMap::new();
                params.insert("weight".into(), self.arg(*w).clone());
                if let Some(b) = b {
                    params.insert("bias".into(), self.arg(*b).clone());
                }
                one(functional_call(&model, &params, self.arg(*x)))
            }
            Op::Optimise(which, p, g, lr) => {
                let (p, g, lr) = (self.arg(*p), self.arg(*g), float_of(*lr));
                if which % 2 == 0 {
                    let opt = Sgd::new(lr)
                        .momentum(size(*which, 3) as f64 / 2.0)
                        .nesterov(which % 4 == 2);
                    let (p1, state) = opt.step(p, g, &opt.init(p));
                    let (p2, _) = opt.step(&p1, g, &state);
                    one(p2)
                } else {
                    let opt = Adam::new(lr)
                        .betas(0.9, 0.99)
                        .weight_decay(size(*which, 3) as f64);
                    let (p1, _) = opt.step(p, g, &opt.init(p));
                    one(p1)
                }
            }
            Op::OtherThread(a, which) => {
                // A tensor sent to another thread: a tracer of a live transform must give a
                // cotangent error there, a concrete tensor a value; nothing else.
                let x = self.arg(*a).clone();
                let which = *which;
                let result = std::thread::spawn(move || {
                    catch(|| if which % 2 == 0 { &x + &x } else { x.sum() })
                })
                .join()
                .unwrap_or_else(|e| std::panic::resume_unwind(e));
                result
                    .ok()
                    .into_iter()
                    .filter(|t| t.is_concrete())
                    .collect()
            }
            Op::Stash(a) => {
                let x = self.arg(*a).clone();
                STASH.with(|s| *s.borrow_mut() = Some(x));
                vec![]
            }
            Op::Unstash => STASH.with(|s| s.borrow().clone()).into_iter().collect(),
        }
    }
}

/// The body as a function of the transform's argument(s): the stack starts with the
/// arguments, then the inputs not passed as arguments (constants to the transform).
fn body(program: &Program, args: Vec<Tensor>, constants: &[Tensor]) -> Tensor {
    let mut m = Machine { stack: args };
    m.stack.extend(constants.iter().cloned());
    m.run(&program.body);
    let out = m
        .stack
        .last()
        .cloned()
        .unwrap_or_else(|| Tensor::scalar(0.0f32));
    if program.sum_output { out.sum() } else { out }
}

fn run(program: &Program) {
    STASH.with(|s| *s.borrow_mut() = None);
    let inputs: Vec<Tensor> = program
        .inputs
        .iter()
        .take(4)
        .filter_map(make_input)
        .collect();
    let Some(x) = inputs.first().cloned() else {
        return;
    };
    let second = inputs.get(1).cloned().unwrap_or_else(|| x.clone());
    let rest = inputs.get(1..).unwrap_or(&[]);
    let f = |x: Tensor| body(program, vec![x], rest);
    let f2 = |(x, y): (Tensor, Tensor)| body(program, vec![x, y], inputs.get(2..).unwrap_or(&[]));
    let jac_input_ok = x.numel() <= MAX_JAC_INPUT;

    let outputs: Vec<Tensor> = match program.mode {
        Mode::Eager => vec![f(x)],
        Mode::Vmap {
            in_dim,
            second: d2,
            out_dim,
            chunk,
            randomness,
        } => {
            let mut opts = VmapOpts::new()
                .out_dims(Dims::Dim(Some(small(out_dim, 5))))
                .randomness(match randomness % 3 {
                    0 => Randomness::Error,
                    1 => Randomness::Same,
                    _ => Randomness::Different,
                });
            if chunk % 4 != 0 {
                opts = opts.chunk_size(size(chunk, 4));
            }
            let in_dim = Dims::Dim(Some(small(in_dim, 5)));
            match d2 {
                None => vec![cotangent::vmap_with(f, opts.in_dims(in_dim))(x)],
                Some(d) => {
                    let d = if d % 3 == 0 { None } else { Some(small(d, 5)) };
                    let dims = Dims::Tuple(vec![in_dim, Dims::Dim(d)]);
                    vec![cotangent::vmap_with(f2, opts.in_dims(dims))((x, second))]
                }
            }
        }
        Mode::Grad => vec![cotangent::grad(f)(x)],
        Mode::GradArgnums(a, b) => {
            let argnums = match b {
                None => cotangent::Argnums::One(small(a, 4)),
                Some(b) => cotangent::Argnums::Many(vec![small(a, 4), small(b, 4)]),
            };
            let g: DynTree =
                cotangent::grad_with(f2, GradOpts::new().argnums(argnums))((x, second));
            g.leaves
        }
        Mode::GradAndValue => {
            let (g, v) = cotangent::grad_and_value(f)(x);
            vec![g, v]
        }
        Mode::Vjp { cotangent: which } => {
            let (y, vjp_fn) = cotangent::vjp(f, x);
            let ct = inputs
                .get(which as usize % inputs.len())
                .cloned()
                .unwrap_or_else(|| y.ones_like());
            let ct = if which % 2 == 0 { y.ones_like() } else { ct };
            vec![y, vjp_fn.call(ct)]
        }
        Mode::Jvp { tangent } => {
            let t = inputs[tangent as usize % inputs.len()].clone();
            let (y, t) = cotangent::jvp(f, x, t);
            vec![y, t]
        }
        Mode::Linearize { tangent } => {
            let t = inputs[tangent as usize % inputs.len()].clone();
            let (y, jvp_fn) = cotangent::linearize(f, x);
            vec![y, jvp_fn(t)]
        }
        Mode::Jacrev { chunk } if jac_input_ok => {
            let mut opts = JacrevOpts::new();
            if chunk % 3 != 0 {
                opts = opts.chunk_size(size(chunk, 3));
            }
            vec![cotangent::jacrev_with::<Tensor, Tensor, Tensor, _>(f, opts)(x)]
        }
        Mode::Jacfwd if jac_input_ok => vec![cotangent::jacfwd::<Tensor, Tensor, Tensor, _>(f)(x)],
        Mode::Hessian if jac_input_ok => vec![cotangent::hessian::<Tensor, Tensor, _>(f)(x)],
        Mode::VmapGrad => vec![cotangent::vmap(cotangent::grad(f))(x)],
        Mode::VmapVmap { in_dim } => {
            let inner = cotangent::vmap_with(
                f,
                VmapOpts::new().in_dims(Dims::Dim(Some(small(in_dim, 4)))),
            );
            vec![cotangent::vmap(inner)(x)]
        }
        Mode::JvpGrad => {
            let t = x.ones_like();
            let (g, gt) = cotangent::jvp(cotangent::grad(f), x, t);
            vec![g, gt]
        }
        Mode::GradGrad => {
            let g = cotangent::grad(f);
            vec![cotangent::grad(|x: Tensor| g(x).sum())(x)]
        }
        Mode::VmapJacrev if jac_input_ok => {
            vec![cotangent::vmap(cotangent::jacrev::<
                Tensor,
                Tensor,
                Tensor,
                _,
            >(f))(x)]
        }
        _ => vec![],
    };

    let mut after = Machine { stack: outputs };
    after.stack.extend(inputs.iter().cloned());
    after.run(&program.after);
    for t in &after.stack {
        // Reading every result back exercises the data paths of views and lazy values.
        let _ = t.to_dtype(DType::F64).to_vec::<f64>();
    }
}

/// The library after any program: plain ops and a transform still give their values.
fn check_usable() {
    let x = Tensor::new([1.0f32, 2.0, 3.0]);
    assert_eq!(
        (&x + &x).sum().item::<f32>(),
        12.0,
        "eager ops broke after a caught error"
    );
    let g = cotangent::grad(|x: Tensor| (&x * &x).sum())(x);
    assert_eq!(
        g.to_vec::<f32>(),
        vec![2.0, 4.0, 6.0],
        "grad broke after a caught error"
    );
    assert!(
        g.is_concrete(),
        "a transform frame was left open after a caught error"
    );
}

fuzz_target!(|program: Program| {
    let _ = catch(|| run(&program));
    STASH.with(|s| *s.borrow_mut() = None);
    check_usable();
});
