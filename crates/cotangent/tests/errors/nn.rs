//! Modules, functional_call, stack_module_state, load_state_dict and the optimisers: inputs
//! a layer cannot take, parameter dicts that do not fit the module, hyper-parameters out of
//! range.

use cotangent::nn::optim::{Adam, Sgd};
use cotangent::nn::{
    CallOpts, Conv2d, Dropout, Flatten, LayerNorm, Linear, MaxPool2d, Module, ReLU, Sequential,
    StateDict, functional_call, functional_call_with, reparametrize, stack_module_state,
    try_functional_call, try_stack_module_state,
};
use cotangent::{DType, Tensor};

use crate::common::z;

#[path = "../shared/reshape7.rs"]
mod reshape7;
use reshape7::Reshape7;

fn linear() -> Linear {
    Linear::new(3, 2)
}

fn params_with(name: &str, t: Tensor) -> StateDict {
    let mut p = linear().named_parameters();
    p.insert(name.into(), t);
    p
}

bad! {
    linear_forward_wrong_features: Shape("Linear", "Linear(in_features=3, out_features=2, bias=True) expected input [*, 3], but got input of shape [4, 5]") =>
        linear().forward(&z(&[4, 5]));
    linear_forward_scalar: Shape("Linear", "expected input [*, 3], but got input of shape []") =>
        linear().forward(&Tensor::scalar(1.0f32));
    conv2d_forward_wrong_channels: Shape("Conv2d", "expected input [N, 3, H, W] or [3, H, W], but got input of shape [1, 2, 5, 5]") =>
        Conv2d::new(3, 4, 3).forward(&z(&[1, 2, 5, 5]));
    conv2d_forward_too_small: Shape("conv2d", "Kernel size can't be greater than actual input size") =>
        Conv2d::new(1, 1, 3).forward(&z(&[1, 2, 2]));
    conv2d_layer_zero_groups: Value("Conv2d", "groups must be a positive integer") =>
        Conv2d::with(2, 2, [1, 1], cotangent::nn::Conv2dArgs { groups: 0, ..Default::default() });
    conv2d_layer_channels_not_divisible: Value("Conv2d", "in_channels must be divisible by groups (got 3 and 2)") =>
        Conv2d::with(3, 2, [1, 1], cotangent::nn::Conv2dArgs { groups: 2, ..Default::default() });
    max_pool_layer_wrong_rank: Shape("MaxPool2d", "MaxPool2d(kernel_size=2, stride=2, padding=0) expected input [N, C, H, W] or [C, H, W], but got input of shape [4, 4]") =>
        MaxPool2d::new(2).forward(&z(&[4, 4]));
    max_pool_layer_zero_stride: Value("max_pool2d", "stride should be greater than zero") =>
        MaxPool2d::new(2).stride(0).forward(&z(&[1, 4, 4]));
    dropout_layer_probability_above_one: Value("Dropout", "dropout probability has to be between 0 and 1, but got 2") =>
        Dropout::new(2.0);
    flatten_layer_dims_out_of_range: Shape("Flatten", "Flatten(start_dim=1, end_dim=-1) expected input with dims 1 to -1, but got input of shape [3]") =>
        Flatten::new().forward(&z(&[3]));
    layer_norm_layer_wrong_shape: Shape("LayerNorm", "expected input [*, [4]], but got input of shape [2, 3]") =>
        LayerNorm::new(&[4]).forward(&z(&[2, 3]));
    op_error_inside_a_custom_forward: Shape("reshape", "shape '[7]' is invalid for input of size 3") =>
        Sequential::new().push(Reshape7 { training: true }).forward(&z(&[3]));
    sequential_names_the_failing_layer: Shape("Linear", "Linear(in_features=2, out_features=5, bias=True) expected input [*, 2], but got input of shape [4, 3]") =>
        Sequential::new().push(Linear::new(3, 3)).push(ReLU::new()).push(Linear::new(2, 5)).forward(&z(&[4, 3]));
    functional_call_unknown_key: Value("functional_call", "Linear has no parameter or buffer named 'wieght'; its names are 'weight', 'bias'") =>
        functional_call(&linear(), params_with("wieght", z(&[2, 3])), &z(&[1, 3]));
    functional_call_wrong_shape: Shape("functional_call", "'weight' of Linear has shape [2, 3], but the tensor given for it has shape [3, 2]") =>
        functional_call(&linear(), params_with("weight", z(&[3, 2])), &z(&[1, 3]));
    functional_call_stacked_params_without_vmap: Shape("functional_call", "stacked parameters (from stack_module_state) go through vmap") =>
        functional_call(&linear(), params_with("weight", z(&[5, 2, 3])), &z(&[1, 3]));
    functional_call_strict_missing_key: Value("functional_call", "Error(s) in reparametrizing for Linear:\n\tMissing key(s): 'bias'.") =>
        functional_call_with(&linear(), params_with("weight", z(&[2, 3])).into_iter().filter(|(k, _)| k == "weight").collect::<StateDict>(), &z(&[1, 3]), CallOpts::new().strict(true));
    functional_call_key_in_two_dicts: Value("functional_call", "['bias', 'weight'] appeared in multiple dictionaries; behavior of functional call is ambiguous") =>
        functional_call(&linear(), (&params_with("weight", z(&[2, 3])), &params_with("weight", z(&[2, 3]))), &z(&[1, 3]));
    functional_call_repeated_pair: Value("functional_call", "the name 'bias' appears twice among the (name, tensor) pairs") =>
        functional_call(&linear(), vec![("bias", z(&[2])), ("bias", z(&[2]))], &z(&[1, 3]));
    functional_call_input_does_not_fit: Shape("Linear", "expected input [*, 3], but got input of shape [1, 4]") =>
        functional_call(&linear(), linear().named_parameters(), &z(&[1, 4]));
    reparametrize_unknown_key: Value("functional_call", "has no parameter or buffer named 'scale'") =>
        reparametrize(&linear(), vec![("scale", z(&[1]))], CallOpts::new());
    stack_module_state_no_models: Shape("stack_module_state", "Expected at least one model, got 0.") =>
        stack_module_state::<Linear>(&[]);
    stack_module_state_mixed_modes: Shape("stack_module_state", "Expected all models to have the same training/eval mode.") =>
        stack_module_state(&[linear(), { let mut m = linear(); m.eval(); m }]);
    stack_module_state_different_shapes: Shape("stack_module_state", "model 1 has 'weight' of shape [2, 4] and dtype torch.float32, model 0 of shape [2, 3]") =>
        stack_module_state(&[linear(), Linear::new(4, 2)]);
    sgd_negative_learning_rate: Value("Sgd", "Invalid learning rate: -0.1") =>
        Sgd::new(-0.1);
    sgd_negative_momentum: Value("Sgd", "Invalid momentum value: -1") =>
        Sgd::new(0.1).momentum(-1.0);
    sgd_negative_weight_decay: Value("Sgd", "Invalid weight_decay value: -0.5") =>
        Sgd::new(0.1).weight_decay(-0.5);
    sgd_nesterov_without_momentum: Value("Sgd.step", "Nesterov momentum requires a momentum and zero dampening") =>
        { let opt = Sgd::new(0.1).nesterov(true); let p = z(&[2]); opt.step(&p, &p, &opt.init(&p)) };
    sgd_grads_of_wrong_structure: Shape("Sgd.step", "grads must have the parameters' structure") =>
        { let opt = Sgd::new(0.1); let p = vec![z(&[2])]; opt.step(&p, &vec![z(&[2]), z(&[2])], &opt.init(&p)) };
    sgd_grads_of_wrong_shape: Shape("Sgd.step", "grads leaf 0 has shape [3], but its parameter has shape [2]") =>
        { let opt = Sgd::new(0.1); let p = z(&[2]); opt.step(&p, &z(&[3]), &opt.init(&p)) };
    adam_negative_learning_rate: Value("Adam", "Invalid learning rate: -1") =>
        Adam::new(-1.0);
    adam_beta_out_of_range: Value("Adam", "Invalid beta parameter at index 1: 1") =>
        Adam::new(1e-3).betas(0.9, 1.0);
    adam_negative_eps: Value("Adam", "Invalid epsilon value: -0.001") =>
        Adam::new(1e-3).eps(-1e-3);
    adam_grads_of_wrong_shape: Shape("Adam.step", "grads leaf 0 has shape [2, 1], but its parameter has shape [2]") =>
        { let opt = Adam::new(1e-3); let p = z(&[2]); opt.step(&p, &z(&[2, 1]), &opt.init(&p)) };
    adam_state_of_other_params: Shape("Adam.step", "state leaf 0 has shape [4]") =>
        { let opt = Adam::new(1e-3); let p = z(&[2]); opt.step(&p, &p, &opt.init(&z(&[4]))) };
}

bad_result! {
    try_functional_call_unknown_key: Value("functional_call", "has no parameter or buffer named 'w'") =>
        try_functional_call(&linear(), vec![("w", z(&[1]))], &z(&[1, 3]), CallOpts::new());
    try_functional_call_op_error_inside_forward: Shape("reshape", "shape '[7]' is invalid for input of size 2") =>
        try_functional_call(&Reshape7 { training: true }, vec![] as Vec<(&str, Tensor)>, &z(&[2]), CallOpts::new());
    try_stack_module_state_no_models: Shape("stack_module_state", "Expected at least one model, got 0.") =>
        try_stack_module_state::<Linear>(&[]);
    try_forward_wrong_features: Shape("Linear", "expected input [*, 3]") =>
        linear().try_forward(&z(&[2]));
    load_state_dict_wrong_shape: Shape("load_state_dict", "'bias' of Linear has shape [2], but the tensor given for it has shape [3]") =>
        linear().load_state_dict(&params_with("bias", z(&[3])), false);
    load_state_dict_strict_missing: Value("load_state_dict", "Missing key(s): 'weight'.") =>
        linear().load_state_dict(&[("bias".to_string(), z(&[2]))].into_iter().collect(), true);
    to_dtype_then_forward_mismatch: Shape("Linear", "expected input [*, 3]") =>
        { let mut m = linear(); m.to_dtype(DType::F64); m.try_forward(&z(&[1, 2])) };
}
