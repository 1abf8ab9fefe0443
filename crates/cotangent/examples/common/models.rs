//! The models of PyTorch's tutorials that several examples and the side-by-side benchmark
//! share (each includes this file with a `#[path]` module, so not every one uses both).
#![allow(dead_code)]

use cotangent::nn::{Conv2d, Linear, Module};
use cotangent::{Result, Tensor};

/// The "Per-sample-gradients" tutorial's `SimpleCNN` for 1x8x8 inputs: two 3x3 convolutions (8 -> 6 -> 4), a 2x2
/// max-pool (4 -> 2), then two linear layers; the output is log-probabilities.
#[derive(Clone)]
pub struct SimpleCnn {
    conv1: Conv2d,
    conv2: Conv2d,
    fc1: Linear,
    fc2: Linear,
    training: bool,
}

impl SimpleCnn {
    pub fn new() -> SimpleCnn {
        SimpleCnn {
            conv1: Conv2d::new(1, 32, 3),
            conv2: Conv2d::new(32, 64, 3),
            fc1: Linear::new(2 * 2 * 64, 128),
            fc2: Linear::new(128, 10),
            training: true,
        }
    }
}

impl Module for SimpleCnn {
    fn type_name(&self) -> &'static str {
        "SimpleCNN"
    }
    fn try_forward(&self, x: &Tensor) -> Result<Tensor> {
        let x = self.conv1.try_forward(x)?.relu();
        let x = self.conv2.try_forward(&x)?.relu();
        let x = cotangent::max_pool2d(&x, [2, 2], None, [0, 0], [1, 1], false);
        let x = x.flatten(1, -1);
        let x = self.fc1.try_forward(&x)?.relu();
        let x = self.fc2.try_forward(&x)?;
        Ok(x.log_softmax(1))
    }
    cotangent::module_children!(conv1, conv2, fc1, fc2);
    cotangent::module_training_flag!();
}

/// The "Model ensembling" tutorial's `SimpleMLP` for flattened 8x8 digits.
#[derive(Clone)]
pub struct SimpleMlp {
    fc1: Linear,
    fc2: Linear,
    fc3: Linear,
    training: bool,
}

impl SimpleMlp {
    pub fn new() -> SimpleMlp {
        SimpleMlp {
            fc1: Linear::new(64, 128),
            fc2: Linear::new(128, 128),
            fc3: Linear::new(128, 10),
            training: true,
        }
    }
}

impl Module for SimpleMlp {
    fn type_name(&self) -> &'static str {
        "SimpleMLP"
    }
    fn try_forward(&self, x: &Tensor) -> Result<Tensor> {
        let x = x.flatten(1, -1);
        let x = self.fc1.try_forward(&x)?.relu();
        let x = self.fc2.try_forward(&x)?.relu();
        self.fc3.try_forward(&x)
    }
    cotangent::module_children!(fc1, fc2, fc3);
    cotangent::module_training_flag!();
}
