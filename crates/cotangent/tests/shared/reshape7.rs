//! A user's own layer, shared by the error catalogue and the locations test: its forward
//! is written with panicking ops (a reshape to 7 elements), so its errors must still come
//! out as the layer's caller's.

use cotangent::Tensor;
use cotangent::nn::Module;

/// Reshapes its input to 7 elements.
#[derive(Clone)]
pub struct Reshape7 {
    pub training: bool,
}

impl Module for Reshape7 {
    fn type_name(&self) -> &'static str {
        "Reshape7"
    }
    fn try_forward(&self, x: &Tensor) -> cotangent::Result<Tensor> {
        Ok(x.reshape(&[7]))
    }
    fn is_training(&self) -> bool {
        self.training
    }
    fn set_training(&mut self, training: bool) {
        self.training = training;
    }
}
