//! `stop_gradient`: the identity on values, a constant to every derivative (JAX's
//! `stop_gradient`; torch's `x.detach()` inside a transform). Its derivative is zero.

use super::{Aval, AvalRef, Primitive, Residuals, Save};
use crate::array::Array;
use crate::error::Result;
use crate::testing::OpInfo;
use crate::trace::{Tensor, bind};

/// Block derivatives.
#[derive(Clone, Debug)]
pub(crate) struct StopGradient;

impl Primitive for StopGradient {
    fn name(&self) -> &'static str {
        "stop_gradient"
    }

    fn shape_rule(&self, inputs: &[AvalRef<'_>]) -> Result<Aval> {
        Ok(Aval::new(inputs[0].shape, inputs[0].dtype))
    }

    fn eval(&self, inputs: &[&Array], _out: &Aval) -> Array {
        inputs[0].clone()
    }

    fn jvp(&self, _: &[Tensor], _: &Tensor, _: &[Option<Tensor>]) -> Option<Tensor> {
        None
    }

    fn saves(&self) -> Save {
        Save::NOTHING
    }

    fn vjp(&self, _: &Residuals, _: &Tensor, _: &[bool]) -> Vec<Option<Tensor>> {
        vec![None]
    }

    fn vmap(&self, inputs: &[Tensor], axes: &[Option<usize>], _: usize) -> (Tensor, Option<usize>) {
        (bind(StopGradient, &[&inputs[0]]), axes[0])
    }
}

/// `x` as a constant to every transform: its value passes through, its derivative is zero.
///
/// ```
/// use cotangent::{Tensor, grad, stop_gradient};
/// // d/dx [x² - stop_gradient(x²)] = 2x, although the value is always 0.
/// let g: Tensor = grad(|x: Tensor| &(&x * &x) - &stop_gradient(&(&x * &x)))(Tensor::scalar(1.5f64));
/// assert_eq!(g.item::<f64>(), 3.0);
/// ```
#[track_caller]
pub fn stop_gradient(x: &Tensor) -> Tensor {
    if x.is_concrete() {
        return x.clone();
    }
    bind(StopGradient, &[x])
}

impl Tensor {
    /// See [`stop_gradient`].
    #[track_caller]
    pub fn stop_gradient(&self) -> Tensor {
        stop_gradient(self)
    }

    /// torch's `detach()`: the same as [`stop_gradient`].
    #[track_caller]
    pub fn detach(&self) -> Tensor {
        stop_gradient(self)
    }
}

pub(crate) fn op_info() -> Vec<OpInfo> {
    vec![OpInfo::unary("stop_gradient", stop_gradient, |x| x).gap("jvp_matches_finite_differences", "the derivative is zero by definition, unlike the function's finite differences")]
}
