#![doc = include_str!("../../../README.md")]
#![doc(test(attr(deny(warnings))))]

pub mod array;
pub mod cuda;
pub mod datasets;
pub mod doc;
pub mod error;
pub mod memory;
pub mod nn;
pub mod ops;
pub mod primitives;
pub mod privacy;
pub mod testing;
pub mod trace;
pub mod transforms;
pub mod tree;

extern crate self as cotangent;

pub use cotangent_derive::Tree;

pub use array::device::{default_device, set_default_device, with_default_device};
pub use array::{DType, Device, Element};
pub use error::{Error, Result, catch};
pub use ops::creation::TensorOptions;
pub use ops::elementwise::{
    clamp, clamp_tensor, gelu, hardtanh, leaky_relu, log_sigmoid, relu, silu, softplus,
    softplus_with, square,
};
pub use ops::linalg::{bmm, dot, linear, matmul, mm, mv, outer, tensordot};
pub use ops::losses::{
    CrossEntropyOpts, cross_entropy, cross_entropy_with, mse_loss, nll_loss,
    try_cross_entropy_with, try_nll_loss,
};
pub use ops::nn::{dropout, layer_norm};
pub use ops::one_hot::one_hot;
pub use ops::reductions::{all, any, log_softmax, logsumexp, max_dim, mean, min_dim, softmax, var};
pub use ops::shape::{chunk, flip, hstack, repeat, split, split_with_sizes, stack, vstack};
pub use primitives::abs::abs;
pub use primitives::add::add;
pub use primitives::argmax::argmax;
pub use primitives::argmin::argmin;
pub use primitives::atan2::atan2;
pub use primitives::ceil::ceil;
pub use primitives::compare::{eq, ge, gt, le, lt, ne};
pub use primitives::concatenate::{cat, concat, try_cat};
pub use primitives::conv2d::conv2d;
pub use primitives::cos::cos;
pub use primitives::cumsum::cumsum;
pub use primitives::div::div;
pub use primitives::dot_general::dot_general;
pub use primitives::erf::erf;
pub use primitives::exp::exp;
pub use primitives::expm1::expm1;
pub use primitives::floor::floor;
pub use primitives::fmod::fmod;
pub use primitives::gather::{gather, take_along_dim};
pub use primitives::index_select::index_select;
pub use primitives::log::log;
pub use primitives::log1p::log1p;
pub use primitives::logical_and::logical_and;
pub use primitives::logical_not::logical_not;
pub use primitives::logical_or::logical_or;
pub use primitives::logical_xor::logical_xor;
pub use primitives::logistic::sigmoid;
pub use primitives::max_pool2d::max_pool2d;
pub use primitives::maximum::maximum;
pub use primitives::minimum::minimum;
pub use primitives::mul::mul;
pub use primitives::neg::neg;
pub use primitives::pad::{pad, try_pad};
pub use primitives::pow::pow;
pub use primitives::random::{
    RngState, bernoulli, get_rng_state, initial_seed, manual_seed, normal, rand, randint, randn,
    randperm, set_rng_state, try_bernoulli, try_normal, try_rand, try_randint, try_randn,
    try_randperm,
};
pub use primitives::reciprocal::reciprocal;
pub use primitives::reduce_max::amax;
pub use primitives::reduce_min::amin;
pub use primitives::reduce_prod::prod;
pub use primitives::remainder::remainder;
pub use primitives::round::round;
pub use primitives::rsqrt::rsqrt;
pub use primitives::scatter_add::scatter_add;
pub use primitives::sign::sign;
pub use primitives::sin::sin;
pub use primitives::sqrt::sqrt;
pub use primitives::stop_gradient::stop_gradient;
pub use primitives::sub::sub;
pub use primitives::tan::tan;
pub use primitives::tanh::tanh;
pub use primitives::where_select::where_;
pub use trace::Tensor;
pub use transforms::Argnums;
pub use transforms::grad::{
    GradOpts, grad, grad_and_value, grad_and_value_with, grad_with, try_grad, try_grad_and_value,
    try_grad_and_value_with, try_grad_with,
};
pub use transforms::jacobian::{
    HessianOpts, JacfwdOpts, JacrevOpts, hessian, hessian_with, jacfwd, jacfwd_with, jacrev,
    jacrev_with, try_hessian, try_hessian_with, try_jacfwd, try_jacfwd_with, try_jacrev,
    try_jacrev_with,
};
pub use transforms::jvp::{
    JvpOpts, jvp, jvp_with, jvp_with_aux, linearize, try_jvp, try_jvp_with, try_jvp_with_aux,
    try_linearize,
};
pub use transforms::vjp::{VjpFn, try_vjp, try_vjp_with_aux, vjp, vjp_with_aux};
pub use transforms::vmap::{
    Randomness, UNMAPPED, VmapOpts, try_vmap, try_vmap_with, vmap, vmap_with,
};
