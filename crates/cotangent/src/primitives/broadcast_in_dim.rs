//! `broadcast_in_dim`: place the input's dims at positions `dims` of a larger `shape`,
//! repeating it along the others (XLA's BroadcastInDim; torch's `expand`/`broadcast_to`).
//! A view with zero strides: no data moves. Linear; its adjoint sums over the new dims.

use super::frontend::try_broadcast_to;
use super::rules::batch_at_front;
use super::{Aval, AvalRef, Primitive, Residuals, Save};
use crate::array::{Array, Dims};
use crate::error::{Error, Result, OrRaise};
use crate::testing::{OpInfo, RefArray};
use crate::trace::{Tensor, bind};

/// Broadcast to `shape`, input dim `i` going to output dim `dims[i]`.
#[derive(Clone, Debug)]
pub(crate) struct BroadcastInDim {
    pub(crate) shape: Dims,
    pub(crate) dims: Dims,
}

impl Primitive for BroadcastInDim {
    fn name(&self) -> &'static str {
        "broadcast_in_dim"
    }

    fn shape_rule(&self, inputs: &[AvalRef<'_>]) -> Result<Aval> {
        let x = inputs[0];
        let increasing = self.dims.windows(2).all(|w| w[0] < w[1]);
        let fits = self.dims.len() == x.shape.len()
            && increasing
            && self.dims.iter().all(|&d| d < self.shape.len())
            && x.shape.iter().zip(&self.dims).all(|(&n, &d)| n == 1 || n == self.shape[d]);
        if !fits {
            return Err(Error::shape(
                "broadcast_in_dim",
                format!(
                    "cannot broadcast shape {:?} to {:?} with dims {:?}: each input dim must map \
                     to an increasing output dim of equal size, or have size 1",
                    x.shape, self.shape, self.dims
                ),
            ));
        }
        Ok(Aval { shape: self.shape.clone(), dtype: x.dtype })
    }

    fn eval(&self, inputs: &[&Array], _out: &Aval) -> Array {
        let x = inputs[0];
        x.with_layout(x.layout().broadcast_in_dim(&self.shape, &self.dims))
    }


    fn jvp(&self, _: &[Tensor], _: &Tensor, tangents: &[Option<Tensor>]) -> Option<Tensor> {
        tangents[0].as_ref().map(|t| bind(self.clone(), &[t]))
    }

    fn saves(&self) -> Save {
        Save::NOTHING
    }

    fn vjp(&self, res: &Residuals, cotangent: &Tensor, _: &[bool]) -> Vec<Option<Tensor>> {
        // Sum over the new dims and over input dims of size 1 that were expanded.
        let in_shape = res.shape(0);
        let summed: Vec<usize> = (0..self.shape.len())
            .filter(|d| match self.dims.iter().position(|x| x == d) {
                None => true,
                Some(i) => in_shape[i] == 1 && self.shape[*d] != 1,
            })
            .collect();
        let reduced = super::reduce_sum::reduce_sum(cotangent, &summed);
        vec![Some(super::reshape::reshape_to(&reduced, in_shape))]
    }

    fn vmap(&self, inputs: &[Tensor], axes: &[Option<usize>], size: usize) -> (Tensor, Option<usize>) {
        let x = batch_at_front(&inputs[0], axes[0], size);
        let shape = std::iter::once(size).chain(self.shape.iter().copied()).collect();
        let dims = std::iter::once(0).chain(self.dims.iter().map(|&d| d + 1)).collect();
        (bind(BroadcastInDim { shape, dims }, &[&x]), Some(0))
    }
}

/// `x` broadcast to `shape`, with input dim `i` placed at output dim `dims[i]`.
#[track_caller]
pub fn broadcast_in_dim(x: &Tensor, shape: &[usize], dims: &[usize]) -> Tensor {
    if x.shape() == shape {
        return x.clone();
    }
    bind(BroadcastInDim { shape: shape.into(), dims: dims.into() }, &[x])
}

/// `x` broadcast to `shape` by numpy's rules (`torch.broadcast_to`).
///
/// ```
/// # use cotangent::Tensor;
/// let x = Tensor::from_slice(&[1.0f32, 2.0], &[2]).unwrap();
/// assert_eq!(x.broadcast_to(&[3, 2]).to_vec::<f32>(), vec![1.0, 2.0, 1.0, 2.0, 1.0, 2.0]);
/// ```
#[track_caller]
pub fn broadcast_to(x: &Tensor, shape: &[usize]) -> Tensor {
    try_broadcast_to("broadcast_to", x, shape).or_raise()
}

impl Tensor {
    /// Broadcast to `shape` (numpy rules); see [`broadcast_to`].
    #[track_caller]
    pub fn broadcast_to(&self, shape: &[usize]) -> Tensor {
        broadcast_to(self, shape)
    }

    /// torch's `expand`: like `broadcast_to`, where `-1` keeps that dim's size.
    #[track_caller]
    pub fn expand(&self, sizes: &[isize]) -> Tensor {
        self.try_expand(sizes).or_raise()
    }

    /// [`Tensor::expand`], returning the error instead of panicking.
    pub fn try_expand(&self, sizes: &[isize]) -> Result<Tensor> {
        let Some(lead) = sizes.len().checked_sub(self.dim()) else {
            return Err(Error::shape(
                "expand",
                format!(
                    "expand({:?}, size={sizes:?}): the number of sizes provided ({}) must be \
                     greater or equal to the number of dimensions in the tensor ({})",
                    self.shape(),
                    sizes.len(),
                    self.dim()
                ),
            ));
        };
        let mut shape = Vec::with_capacity(sizes.len());
        for (i, &s) in sizes.iter().enumerate() {
            shape.push(match (s, i.checked_sub(lead)) {
                (-1, Some(j)) => self.shape()[j],
                (-1, None) => {
                    return Err(Error::shape(
                        "expand",
                        format!(
                            "-1 is not allowed in a leading, non-existing dimension {i} (sizes \
                             {sizes:?} for a tensor of shape {:?})",
                            self.shape()
                        ),
                    ));
                }
                (s, _) if s < 0 => {
                    return Err(Error::value(
                        "expand",
                        format!("invalid size {s} at dim {i} of sizes {sizes:?}"),
                    ));
                }
                (s, _) => s as usize,
            });
        }
        try_broadcast_to("expand", self, &shape)
    }

    /// Expand to `other`'s shape.
    #[track_caller]
    pub fn expand_as(&self, other: &Tensor) -> Tensor {
        try_broadcast_to("expand", self, other.shape()).or_raise()
    }
}

pub(crate) fn op_info() -> Vec<OpInfo> {
    vec![OpInfo::new(
        "broadcast_to",
        |a| a[0].broadcast_to(&[2, 3, 4]),
        |r| RefArray::from_fn(&[2, 3, 4], |i| r[0].get_broadcast(i)),
        |rng| {
            vec![
                vec![rng.tensor(&[3, 4], -1.0, 1.0)],
                vec![rng.tensor(&[3, 1], -1.0, 1.0)],
                vec![rng.tensor(&[], -1.0, 1.0)],
                vec![rng.tensor(&[2, 1, 4], -1.0, 1.0)],
            ]
        },
    )]
}
