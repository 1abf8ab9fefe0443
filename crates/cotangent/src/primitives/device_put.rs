//! `to(device)`: the same values on another device (torch's `x.to(device)`, JAX's
//! `device_put`). Linear; its adjoint moves the cotangent back, so gradients arrive on the
//! device their input lives on.

use super::{Aval, AvalRef, Primitive, Residuals, Save};
use crate::Device;
use crate::array::{Array, backend};
use crate::error::{OrRaise, Result, defer};
use crate::testing::OpInfo;
use crate::trace::{Tensor, try_bind};

/// Move from device `from` to device `to`.
#[derive(Clone, Debug)]
pub(crate) struct DevicePut {
    pub(crate) from: Device,
    pub(crate) to: Device,
}

impl Primitive for DevicePut {
    fn name(&self) -> &'static str {
        "to"
    }

    fn shape_rule(&self, inputs: &[AvalRef<'_>]) -> Result<Aval> {
        Ok(Aval::new(inputs[0].shape, inputs[0].dtype))
    }

    fn eval(&self, inputs: &[&Array], _out: &Aval) -> Array {
        backend::to_device(inputs[0], self.to).unwrap_or_else(|e| defer(e))
    }

    fn jvp(&self, _: &[Tensor], _: &Tensor, tangents: &[Option<Tensor>]) -> Option<Tensor> {
        tangents[0].as_ref().map(|t| t.to(self.to))
    }

    fn saves(&self) -> Save {
        Save::NOTHING
    }

    fn vjp(&self, _: &Residuals, cotangent: &Tensor, needed: &[bool]) -> Vec<Option<Tensor>> {
        vec![needed[0].then(|| cotangent.to(self.from))]
    }

    fn vmap(&self, inputs: &[Tensor], axes: &[Option<usize>], _: usize) -> (Tensor, Option<usize>) {
        (inputs[0].to(self.to), axes[0])
    }
}

impl Tensor {
    /// The same values on `device` (torch: `x.to(device)`); `self` if it is there already.
    /// Differentiable: the gradient of a moved tensor is moved back.
    ///
    /// ```
    /// # use cotangent::{Device, Tensor};
    /// let x = Tensor::ones(&[2]);
    /// assert_eq!(x.to(Device::Cpu).device(), Device::Cpu);
    /// ```
    ///
    /// # Panics
    /// With [`crate::Error::Device`] if `device` cannot be used (a build without the `cuda`
    /// feature, no driver, no such device); see [`Tensor::try_to`].
    #[track_caller]
    pub fn to(&self, device: Device) -> Tensor {
        self.try_to(device).or_raise()
    }

    /// [`Tensor::to`], returning the error instead of panicking.
    pub fn try_to(&self, device: Device) -> Result<Tensor> {
        let from = self.device();
        if from == device {
            return Ok(self.clone());
        }
        try_bind(DevicePut { from, to: device }, &[self])
    }

    /// On CUDA device 0 (torch: `x.cuda()`).
    #[track_caller]
    pub fn cuda(&self) -> Tensor {
        self.to(Device::Cuda(0))
    }

    /// On the CPU (torch: `x.cpu()`).
    #[track_caller]
    pub fn cpu(&self) -> Tensor {
        self.to(Device::Cpu)
    }

    /// `true` if it lives on a CUDA device (torch: `x.is_cuda`).
    pub fn is_cuda(&self) -> bool {
        self.device().is_cuda()
    }
}

pub(crate) fn op_info() -> Vec<OpInfo> {
    vec![
        // On the CPU a no-op; in the op table's CUDA run, a copy to the host and back.
        OpInfo::unary_on("to_cpu", |x| x.cpu().to(x.device()), |x| x, (-2.0, 2.0)),
    ]
}
