//! `contiguous`: a row-major copy of a view (`x.contiguous()`); the values are unchanged, so
//! it is the identity to every transform. It exists so users (and benchmarks) can choose
//! when a strided view is materialised.

use super::{Aval, AvalRef, Primitive, Residuals, Save};
use crate::array::Array;
use crate::array::backend;
use crate::error::Result;
use crate::testing::OpInfo;
use crate::trace::{Tensor, bind};

/// Materialise row-major.
#[derive(Clone, Debug)]
pub(crate) struct Contiguous;

impl Primitive for Contiguous {
    fn name(&self) -> &'static str {
        "contiguous"
    }

    fn shape_rule(&self, inputs: &[AvalRef<'_>]) -> Result<Aval> {
        Ok(Aval::new(inputs[0].shape, inputs[0].dtype))
    }

    fn eval(&self, inputs: &[&Array], _out: &Aval) -> Array {
        backend::contiguous(inputs[0])
    }


    fn jvp(&self, _: &[Tensor], _: &Tensor, tangents: &[Option<Tensor>]) -> Option<Tensor> {
        tangents[0].clone()
    }

    fn saves(&self) -> Save {
        Save::NOTHING
    }

    fn vjp(&self, _: &Residuals, cotangent: &Tensor, _: &[bool]) -> Vec<Option<Tensor>> {
        vec![Some(cotangent.clone())]
    }

    fn vmap(&self, inputs: &[Tensor], axes: &[Option<usize>], _: usize) -> (Tensor, Option<usize>) {
        (bind(Contiguous, &[&inputs[0]]), axes[0])
    }
}

impl Tensor {
    /// A row-major copy if this tensor is a strided view, otherwise `self` (torch's
    /// `x.contiguous()`).
    ///
    /// ```
    /// # use cotangent::Tensor;
    /// let x = Tensor::arange(6).reshape(&[2, 3]).t().contiguous();
    /// assert_eq!(x.to_vec::<i64>(), vec![0, 3, 1, 4, 2, 5]);
    /// ```
    #[track_caller]
    pub fn contiguous(&self) -> Tensor {
        if self.is_contiguous() {
            return self.clone();
        }
        bind(Contiguous, &[self])
    }

    /// `true` if the elements are laid out row-major without gaps.
    pub fn is_contiguous(&self) -> bool {
        self.try_array().is_ok_and(|a| a.layout().is_contiguous())
    }
}

pub(crate) fn op_info() -> Vec<OpInfo> {
    vec![OpInfo::unary("contiguous", Tensor::contiguous, |x| x)]
}
