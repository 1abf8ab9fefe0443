//! `index_select`: whole slices picked along one axis by a 1-d index (torch's
//! `index_select`): `out[i, j, k] = x[i, index[j], k]` for `axis = 1`. The output is `x`'s
//! shape with the axis resized to `index`'s length. The kernel is `gather` with the index
//! broadcast over the other dims, which copies whole rows at a time.
//!
//! Derivative: linear in `x`. Its adjoint adds each cotangent slice back at its index:
//! `x̄ = index_add(zeros_like(x), axis, index, ȳ)` (a `scatter_add` with the broadcast index).

use super::broadcast_in_dim::broadcast_in_dim;
use super::frontend::normalize_dim;
use super::gather::Gather;
use super::rules::{batch_at_front, bind_in_user_dims};
use super::scatter_add::ScatterAdd;
use super::{Aval, AvalRef, Primitive, Residuals, Save};
use crate::array::backend;
use crate::array::{Array, DType, Dims, Layout};
use crate::error::{Error, Result, raise};
use crate::testing::{OpInfo, RefArray};
use crate::trace::{Tensor, bind};

/// Select slices along `axis` with a 1-d `i64` index.
#[derive(Clone, Debug)]
pub(crate) struct IndexSelect {
    pub(crate) axis: usize,
}

impl Primitive for IndexSelect {
    fn name(&self) -> &'static str {
        "index_select"
    }

    fn shape_rule(&self, inputs: &[AvalRef<'_>]) -> Result<Aval> {
        let (x, index) = (inputs[0], inputs[1]);
        if index.dtype != DType::I64 {
            return Err(Error::dtype(
                "index_select",
                format!("Expected dtype int64 for index, got {}", index.dtype),
            ));
        }
        if index.shape.len() != 1 {
            return Err(Error::shape(
                "index_select",
                format!(
                    "Index is supposed to be a vector, got shape {:?}",
                    index.shape
                ),
            ));
        }
        if self.axis >= x.shape.len() {
            return Err(Error::shape(
                "index_select",
                format!("internal: axis {} for shape {:?}", self.axis, x.shape),
            ));
        }
        let mut shape: Dims = x.shape.into();
        shape[self.axis] = index.shape[0];
        Ok(Aval {
            shape,
            dtype: x.dtype,
        })
    }

    fn eval(&self, inputs: &[&Array], out: &Aval) -> Array {
        let (x, index) = (inputs[0], inputs[1]);
        // The index viewed at the output's shape: stride 0 except along the axis.
        let mut strides: Dims = smallvec::smallvec![0; out.shape.len()];
        strides[self.axis] = index.layout().strides()[0];
        let layout = Layout::from_parts(out.shape.clone(), strides, index.layout().offset());
        backend::gather(x, self.axis, &index.with_layout(layout)).unwrap_or_else(|e| {
            raise(Error::index("index_select", format!("index out of range in self: {e}")))
        })
    }

    fn jvp(&self, primals: &[Tensor], _: &Tensor, tangents: &[Option<Tensor>]) -> Option<Tensor> {
        tangents[0]
            .as_ref()
            .map(|t| bind(self.clone(), &[t, &primals[1]]))
    }

    fn saves(&self) -> Save {
        Save::inputs(&[1])
    }

    // index_add into zeros: a scatter_add with the index broadcast to the cotangent's shape.
    fn vjp(&self, res: &Residuals, cotangent: &Tensor, needed: &[bool]) -> Vec<Option<Tensor>> {
        let x_bar = needed[0].then(|| {
            let zeros = cotangent.new_full_dtype(res.shape(0), 0.0, res.dtype(0));
            let index = broadcast_in_dim(res.input(1), cotangent.shape(), &[self.axis]);
            bind(ScatterAdd { axis: self.axis }, &[&zeros, &index, cotangent])
        });
        vec![x_bar, None]
    }

    fn vmap(
        &self,
        inputs: &[Tensor],
        axes: &[Option<usize>],
        size: usize,
    ) -> (Tensor, Option<usize>) {
        let x = batch_at_front(&inputs[0], axes[0], size);
        let axis = self.axis + 1;
        if axes[1].is_none() {
            return (
                bind_in_user_dims(None, IndexSelect { axis }, &[&x, &inputs[1]]),
                Some(0),
            );
        }
        // A batched index selects different slices per batch element: a gather with the
        // index [size, k] broadcast over x's other dims.
        let index = batch_at_front(&inputs[1], axes[1], size);
        let mut shape = x.shape().to_vec();
        shape[axis] = index.shape()[1];
        let index = broadcast_in_dim(&index, &shape, &[0, axis]);
        (
            bind_in_user_dims(Some("index_select"), Gather { axis }, &[&x, &index]),
            Some(0),
        )
    }
}

/// The slices of `x` at `index` (1-d `i64`) along `dim` (`torch.index_select`). A 0-d
/// `index` counts as one element; a 0-d `x` accepts one index, `0`.
///
/// # Panics
/// If an index is negative or not below `x.size(dim)`, if `index` is not a 1-d `i64`
/// tensor, or if `dim` is out of range.
///
/// ```
/// # use cotangent::{Tensor, index_select};
/// let x = Tensor::new([[1.0f32, 2.0], [3.0, 4.0], [5.0, 6.0]]);
/// let y = index_select(&x, 0, &Tensor::new([2i64, 0]));
/// assert_eq!(y.to_vec::<f32>(), vec![5.0, 6.0, 1.0, 2.0]);
/// ```
#[track_caller]
pub fn index_select(x: &Tensor, dim: isize, index: &Tensor) -> Tensor {
    use super::reshape::reshape_to;
    let axis = normalize_dim("index_select", dim, x.dim());
    let index = if index.dim() == 0 {
        reshape_to(index, &[1])
    } else {
        index.clone()
    };
    if x.dim() == 0 {
        if index.numel() != 1 {
            raise(Error::index(
                    "index_select",
                    format!(
                        "Index to scalar can have only 1 value, got {} value(s)",
                        index.numel()
                    )
                ));
        }
        return reshape_to(
            &bind(IndexSelect { axis }, &[&reshape_to(x, &[1]), &index]),
            &[],
        );
    }
    bind(IndexSelect { axis }, &[x, &index])
}

impl Tensor {
    /// The slices at `index` along `dim`; see [`index_select`].
    ///
    /// ```
    /// # use cotangent::Tensor;
    /// let x = Tensor::new([[1i64, 2, 3], [4, 5, 6]]);
    /// let y = x.index_select(1, &Tensor::new([2i64, 2]));
    /// assert_eq!(y.to_vec::<i64>(), vec![3, 3, 6, 6]);
    /// ```
    #[track_caller]
    pub fn index_select(&self, dim: isize, index: &Tensor) -> Tensor {
        index_select(self, dim, index)
    }
}

/// Reference: `out[p] = x[p with p[axis] = index[p[axis]]]`.
fn reference_index_select(x: &RefArray, axis: usize, index: &RefArray) -> RefArray {
    let mut shape = x.shape.clone();
    shape[axis] = index.data.len();
    RefArray::from_fn(&shape, |p| {
        let mut q = p.to_vec();
        q[axis] = index.data[p[axis]] as usize;
        x.get(&q)
    })
}

pub(crate) fn op_info() -> Vec<OpInfo> {
    vec![
        OpInfo::new(
            "index_select",
            |a| a[0].index_select(1, &a[1]),
            |r| reference_index_select(&r[0], 1, &r[1]),
            |rng| {
                vec![
                    vec![rng.tensor(&[3, 4], -1.0, 1.0), rng.indices(&[6], 4)],
                    vec![rng.tensor(&[2, 5, 3], -1.0, 1.0), rng.indices(&[2], 5)],
                    vec![rng.tensor(&[3, 4], -1.0, 1.0), rng.indices(&[0], 4)],
                    vec![rng.tensor(&[0, 4], -1.0, 1.0), rng.indices(&[3], 4)],
                ]
            },
        ),
        OpInfo::new(
            "index_select_last",
            |a| a[0].index_select(-1, &a[1]),
            |r| reference_index_select(&r[0], r[0].shape.len() - 1, &r[1]),
            |rng| {
                vec![
                    vec![rng.tensor(&[2, 3, 5], -1.0, 1.0), rng.indices(&[7], 5)],
                    vec![rng.tensor(&[4], -1.0, 1.0), rng.indices(&[4], 4)],
                ]
            },
        ),
        OpInfo::new(
            "index_select_scalar_index",
            |a| a[0].index_select(0, &a[1]),
            |r| {
                if r[0].shape.is_empty() {
                    return r[0].clone();
                }
                let idx = RefArray {
                    shape: vec![1],
                    data: r[1].data.clone(),
                };
                reference_index_select(&r[0], 0, &idx)
            },
            |rng| {
                vec![
                    vec![rng.tensor(&[3, 2], -1.0, 1.0), rng.indices(&[], 3)],
                    vec![rng.tensor(&[], -1.0, 1.0), rng.indices(&[], 1)],
                ]
            },
        ),
    ]
}
