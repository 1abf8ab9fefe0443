//! `transpose`: reorder dims (output dim `i` is input dim `perm[i]`). A view: no data moves.
//! Linear; its adjoint is the inverse permutation.

use super::frontend::{normalize_dim, try_normalize_dim};
use super::rules::batch_at_front;
use super::{Aval, AvalRef, Primitive, Residuals, Save};
use crate::array::{Array, Dims};
use crate::error::{Error, Result, raise};
use crate::testing::{OpInfo, RefArray};
use crate::trace::{Tensor, bind};

/// Permute dims.
#[derive(Clone, Debug)]
pub(crate) struct Transpose {
    pub(crate) perm: Dims,
}

impl Primitive for Transpose {
    fn name(&self) -> &'static str {
        "permute"
    }

    fn shape_rule(&self, inputs: &[AvalRef<'_>]) -> Result<Aval> {
        let x = inputs[0];
        let mut seen = vec![false; x.shape.len()];
        let valid = self.perm.len() == x.shape.len()
            && self.perm.iter().all(|&p| p < seen.len() && !std::mem::replace(&mut seen[p], true));
        if !valid {
            return Err(Error::shape(
                "permute",
                format!(
                    "number of dims don't match or dims repeat: the input has {} dims {:?}, \
                     the permutation is {:?}; give each dim exactly once",
                    x.shape.len(),
                    x.shape,
                    self.perm
                ),
            ));
        }
        Ok(Aval { shape: self.perm.iter().map(|&p| x.shape[p]).collect(), dtype: x.dtype })
    }

    fn eval(&self, inputs: &[&Array], _out: &Aval) -> Array {
        let x = inputs[0];
        x.with_layout(x.layout().permute(&self.perm))
    }


    fn jvp(&self, _: &[Tensor], _: &Tensor, tangents: &[Option<Tensor>]) -> Option<Tensor> {
        tangents[0].as_ref().map(|t| bind(self.clone(), &[t]))
    }

    fn saves(&self) -> Save {
        Save::NOTHING
    }

    fn vjp(&self, _: &Residuals, cotangent: &Tensor, _: &[bool]) -> Vec<Option<Tensor>> {
        let mut inverse: Dims = smallvec::smallvec![0; self.perm.len()];
        for (i, &p) in self.perm.iter().enumerate() {
            inverse[p] = i;
        }
        vec![Some(bind(Transpose { perm: inverse }, &[cotangent]))]
    }

    fn vmap(&self, inputs: &[Tensor], axes: &[Option<usize>], size: usize) -> (Tensor, Option<usize>) {
        let x = batch_at_front(&inputs[0], axes[0], size);
        let perm = std::iter::once(0).chain(self.perm.iter().map(|&p| p + 1)).collect();
        (bind(Transpose { perm }, &[&x]), Some(0))
    }
}

/// `x` with its dims reordered (`torch.permute`); negative dims count from the end.
///
/// ```
/// # use cotangent::Tensor;
/// let x = Tensor::zeros(&[2, 3, 4]);
/// assert_eq!(x.permute(&[2, 0, 1]).shape(), &[4, 2, 3]);
/// ```
#[track_caller]
pub fn permute(x: &Tensor, dims: &[isize]) -> Tensor {
    // A loop, not a closure, so that a bad dim is reported at the caller's line.
    let mut perm = Dims::new();
    for &d in dims {
        perm.push(normalize_dim("permute", d, x.dim()));
    }
    if perm.iter().enumerate().all(|(i, &p)| i == p) && perm.len() == x.dim() {
        return x.clone();
    }
    bind(Transpose { perm }, &[x])
}

impl Tensor {
    /// Reorder dims; see [`permute`].
    #[track_caller]
    pub fn permute(&self, dims: &[isize]) -> Tensor {
        permute(self, dims)
    }

    /// Swap two dims (`torch.transpose`).
    #[track_caller]
    pub fn transpose(&self, dim0: isize, dim1: isize) -> Tensor {
        let r = self.dim();
        let (a, b) = (normalize_dim("transpose", dim0, r), normalize_dim("transpose", dim1, r));
        let mut perm: Vec<isize> = (0..r as isize).collect();
        if r > 0 {
            perm.swap(a, b);
        }
        permute(self, &perm)
    }

    /// Matrix transpose of a tensor with at most 2 dims (`torch.Tensor.t`).
    ///
    /// # Panics
    /// If the tensor has more than 2 dims, with torch's message.
    #[track_caller]
    pub fn t(&self) -> Tensor {
        match self.dim() {
            0 | 1 => self.clone(),
            2 => self.transpose(0, 1),
            n => raise(Error::shape(
                "t",
                format!(
                    "t() expects a tensor with <= 2 dimensions, but self is {n}D; use \
                     .transpose(-2, -1) or .mT() for batches of matrices"
                ),
            )),
        }
    }

    /// Transpose of the last two dims (`torch.Tensor.mT`).
    #[allow(non_snake_case)] // torch's name
    #[track_caller]
    pub fn mT(&self) -> Tensor {
        if self.dim() < 2 {
            raise(Error::shape(
                "mT",
                format!(
                    "tensor.mT is only supported on matrices or batches of matrices. Got {}-D \
                     tensor.",
                    self.dim()
                ),
            ));
        }
        self.transpose(-2, -1)
    }

    /// Move dim `source` to position `destination`, keeping the others in order
    /// (`torch.movedim`).
    #[track_caller]
    pub fn movedim(&self, source: isize, destination: isize) -> Tensor {
        let r = self.dim();
        let s = normalize_dim("movedim", source, r);
        let d = normalize_dim("movedim", destination, r);
        let mut order: Vec<isize> = (0..r as isize).filter(|&i| i as usize != s).collect();
        if r > 0 {
            order.insert(d, s as isize);
        }
        permute(self, &order)
    }

    /// Like [`Tensor::movedim`], returning an error instead of panicking.
    pub fn try_movedim(&self, source: isize, destination: isize) -> Result<Tensor> {
        try_normalize_dim("movedim", source, self.dim())?;
        try_normalize_dim("movedim", destination, self.dim())?;
        Ok(self.movedim(source, destination))
    }
}

pub(crate) fn op_info() -> Vec<OpInfo> {
    let samples = |rng: &mut crate::testing::TestRng| {
        vec![vec![rng.tensor(&[2, 3, 4], -1.0, 1.0)], vec![rng.tensor(&[0, 3, 1], -1.0, 1.0)]]
    };
    vec![
        OpInfo::new(
            "permute",
            |a| a[0].permute(&[2, 0, 1]),
            |r| {
                let s = &r[0].shape;
                RefArray::from_fn(&[s[2], s[0], s[1]], |i| r[0].get(&[i[1], i[2], i[0]]))
            },
            samples,
        ),
        OpInfo::new(
            "transpose",
            |a| a[0].transpose(0, -1),
            |r| {
                let s = &r[0].shape;
                RefArray::from_fn(&[s[2], s[1], s[0]], |i| r[0].get(&[i[2], i[1], i[0]]))
            },
            samples,
        ),
        OpInfo::new(
            "movedim",
            |a| a[0].movedim(0, -1),
            |r| {
                let s = &r[0].shape;
                RefArray::from_fn(&[s[1], s[2], s[0]], |i| r[0].get(&[i[2], i[0], i[1]]))
            },
            samples,
        ),
    ]
}
