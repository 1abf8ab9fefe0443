//! `gather`: values picked along one axis by an index tensor (torch's `gather`, and
//! `take_along_dim` on top of it). With `index` of `x`'s rank,
//! `out[i, j, k] = x[index[i, j, k], j, k]` for `axis = 0` (likewise for other axes); the
//! output has `index`'s shape.
//!
//! Derivative: linear in `x` (the index carries no tangent). Its adjoint scatters the
//! cotangent back: `x̄ = scatter_add(zeros_like(x), axis, index, ȳ)`, so an element picked
//! twice receives both cotangents.

use super::frontend::{normalize_dim, try_broadcast_shapes, try_broadcast_to};
use super::rules::{batch_at_front, bind_in_user_dims};
use super::scatter_add::ScatterAdd;
use super::{Aval, AvalRef, Primitive, Residuals, Save};
use crate::array::backend;
use crate::array::{Array, DType};
use crate::error::{Error, Result, raise, OrRaise, defer};
use crate::testing::{OpInfo, RefArray};
use crate::trace::{Tensor, bind};

/// Gather along `axis`.
#[derive(Clone, Debug)]
pub(crate) struct Gather {
    pub(crate) axis: usize,
}

/// Checks of torch's `gather_shape_check`: an `i64` index of the data's rank, no larger than
/// the data in any dim but `axis`.
pub(crate) fn check_gather_shapes(
    op: &'static str,
    x: AvalRef<'_>,
    index: AvalRef<'_>,
    axis: usize,
) -> Result<()> {
    if index.dtype != DType::I64 {
        return Err(Error::dtype(
            op,
            format!("Expected dtype int64 for index, got {}", index.dtype),
        ));
    }
    if x.shape.len() != index.shape.len() || axis >= x.shape.len() {
        return Err(Error::shape(
            op,
            format!(
                "Index tensor must have the same number of dimensions as input tensor, got \
                 index of shape {:?} for input of shape {:?}",
                index.shape, x.shape
            ),
        ));
    }
    if let Some(d) = (0..x.shape.len()).find(|&d| d != axis && index.shape[d] > x.shape[d]) {
        return Err(Error::shape(
            op,
            format!(
                "Size does not match at dimension {d} expected index {:?} to be smaller than \
                 self {:?} apart from dimension {axis}",
                index.shape, x.shape
            ),
        ));
    }
    Ok(())
}

impl Primitive for Gather {
    fn name(&self) -> &'static str {
        "gather"
    }

    fn shape_rule(&self, inputs: &[AvalRef<'_>]) -> Result<Aval> {
        let (x, index) = (inputs[0], inputs[1]);
        check_gather_shapes("gather", x, index, self.axis)?;
        Ok(Aval::new(index.shape, x.dtype))
    }

    fn eval(&self, inputs: &[&Array], _out: &Aval) -> Array {
        backend::gather(inputs[0], self.axis, inputs[1])
            .unwrap_or_else(|e| defer(Error::index("gather", e.to_string())))
    }

    fn jvp(&self, primals: &[Tensor], _: &Tensor, tangents: &[Option<Tensor>]) -> Option<Tensor> {
        tangents[0]
            .as_ref()
            .map(|t| bind(self.clone(), &[t, &primals[1]]))
    }

    fn saves(&self) -> Save {
        Save::inputs(&[1])
    }

    // Each picked element receives its cotangent; repeats accumulate.
    fn vjp(&self, res: &Residuals, cotangent: &Tensor, needed: &[bool]) -> Vec<Option<Tensor>> {
        let x_bar = needed[0].then(|| {
            let zeros = cotangent.new_full_dtype(res.shape(0), 0.0, res.dtype(0));
            bind(
                ScatterAdd { axis: self.axis },
                &[&zeros, res.input(1), cotangent],
            )
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
        let index = batch_at_front(&inputs[1], axes[1], size);
        (
            bind_in_user_dims(
                None,
                Gather {
                    axis: self.axis + 1,
                },
                &[&x, &index],
            ),
            Some(0),
        )
    }
}

/// The values of `x` at `index` along `dim` (`torch.gather`): `index` has `x`'s rank (a 0-d
/// tensor counts as 1-d), is no larger than `x` in the other dims, and gives the output's
/// shape.
///
/// # Panics
/// If an index is negative or not below `x.size(dim)` (torch: "index 7 is out of bounds for
/// dimension 0 with size 3"), if `index` is not `i64`, or if the shapes do not fit.
///
/// ```
/// # use cotangent::{Tensor, gather};
/// let x = Tensor::new([[1.0f32, 2.0], [3.0, 4.0]]);
/// let index = Tensor::new([[0i64, 0], [1, 0]]);
/// assert_eq!(gather(&x, 1, &index).to_vec::<f32>(), vec![1.0, 1.0, 4.0, 3.0]);
/// ```
#[track_caller]
pub fn gather(x: &Tensor, dim: isize, index: &Tensor) -> Tensor {
    let axis = normalize_dim("gather", dim, x.dim());
    if x.dim() > 0 && index.dim() > 0 {
        return bind(Gather { axis }, &[x, index]);
    }
    // torch treats 0-d tensors as 1-d here.
    use super::reshape::reshape_to;
    let as_1d = |t: &Tensor| {
        if t.dim() == 0 {
            reshape_to(t, &[1])
        } else {
            t.clone()
        }
    };
    let out = bind(Gather { axis }, &[&as_1d(x), &as_1d(index)]);
    reshape_to(&out, index.shape())
}

/// The values of `x` at `indices` along `dim`, with `x` and `indices` broadcast against each
/// other in the other dims (`torch.take_along_dim`); `dim` `None` indexes the flattened `x`
/// with the flattened `indices`. Pairs with `argmax(dim, keepdim=true)` and `argsort`.
///
/// # Panics
/// If the ranks differ, the shapes do not broadcast, or an index is out of range.
///
/// ```
/// # use cotangent::{Tensor, take_along_dim};
/// let x = Tensor::new([[10.0f32, 30.0, 20.0], [60.0, 40.0, 50.0]]);
/// let i = x.argmax(Some(1), true);
/// assert_eq!(take_along_dim(&x, &i, Some(1)).to_vec::<f32>(), vec![30.0, 60.0]);
/// ```
#[track_caller]
pub fn take_along_dim(x: &Tensor, indices: &Tensor, dim: Option<isize>) -> Tensor {
    let op = "take_along_dim";
    if indices.dtype() != DType::I64 {
        raise(Error::dtype(
                op,
                format!(
                    "dtype of indices should be Long but got {}",
                    indices.dtype()
                )
            ));
    }
    let Some(dim) = dim else {
        use super::reshape::reshape_to;
        let (x, indices) = (reshape_to(x, &[x.numel()]), reshape_to(indices, &[indices.numel()]));
        return as_op(op, || gather(&x, 0, &indices));
    };
    if x.dim() != indices.dim() {
        raise(Error::shape(
                op,
                format!(
                    "input and indices should have the same number of dimensions, but got {} \
                     dimensions for input, and {} dimensions for indices",
                    x.dim(),
                    indices.dim()
                )
            ));
    }
    let axis = normalize_dim(op, dim, x.dim());
    if x.dim() == 0 {
        return as_op(op, || gather(x, 0, indices));
    }
    let mut x_shape = x.shape().to_vec();
    x_shape[axis] = indices.shape()[axis];
    let shape = try_broadcast_shapes(op, &x_shape, indices.shape()).or_raise();
    let indices = try_broadcast_to(op, indices, &shape).or_raise();
    let mut x_shape = shape.to_vec();
    x_shape[axis] = x.shape()[axis];
    let x = try_broadcast_to(op, x, &x_shape).or_raise();
    as_op(op, || gather(&x, axis as isize, &indices))
}

/// `f` (a gather), with its errors (an index out of range, found by the kernel) reported
/// as `op`'s at the caller's line.
#[track_caller]
fn as_op(op: &'static str, f: impl FnOnce() -> Tensor) -> Tensor {
    crate::error::boundary(f)
        .map_err(|e| match e {
            Error::Index { msg, .. } => Error::index(op, msg),
            other => other,
        })
        .or_raise()
}

impl Tensor {
    /// The values at `index` along `dim`; see [`gather`].
    ///
    /// ```
    /// # use cotangent::Tensor;
    /// let x = Tensor::new([5i64, 6, 7]);
    /// assert_eq!(x.gather(0, &Tensor::new([2i64, 2, 0])).to_vec::<i64>(), vec![7, 7, 5]);
    /// ```
    #[track_caller]
    pub fn gather(&self, dim: isize, index: &Tensor) -> Tensor {
        gather(self, dim, index)
    }

    /// The values at `indices` along `dim`, broadcasting; see [`take_along_dim`].
    ///
    /// ```
    /// # use cotangent::Tensor;
    /// let x = Tensor::new([[3.0f32, 1.0, 2.0]]);
    /// let i = Tensor::new([[1i64, 2, 0]]);
    /// assert_eq!(x.take_along_dim(&i, Some(1)).to_vec::<f32>(), vec![1.0, 2.0, 3.0]);
    /// ```
    #[track_caller]
    pub fn take_along_dim(&self, indices: &Tensor, dim: Option<isize>) -> Tensor {
        take_along_dim(self, indices, dim)
    }
}

/// Reference gather: `out[p] = x[p with p[axis] = index[p]]`.
fn reference_gather(x: &RefArray, axis: usize, index: &RefArray) -> RefArray {
    RefArray::from_fn(&index.shape, |p| {
        let mut q = p.to_vec();
        q[axis] = index.get(p) as usize;
        x.get(&q)
    })
}

pub(crate) fn op_info() -> Vec<OpInfo> {
    vec![
        OpInfo::new(
            "gather",
            |a| a[0].gather(1, &a[1]),
            |r| reference_gather(&r[0], 1, &r[1]),
            |rng| {
                vec![
                    vec![rng.tensor(&[3, 4], -1.0, 1.0), rng.indices(&[3, 6], 4)],
                    vec![rng.tensor(&[4, 5], -1.0, 1.0), rng.indices(&[2, 3], 5)],
                    vec![
                        rng.tensor(&[2, 3, 4], -1.0, 1.0),
                        rng.indices(&[2, 2, 4], 3),
                    ],
                    vec![rng.tensor(&[3, 4], -1.0, 1.0), rng.indices(&[3, 0], 4)],
                    vec![rng.tensor(&[3, 0], -1.0, 1.0), rng.indices(&[3, 0], 1)],
                ]
            },
        ),
        OpInfo::new(
            "gather_dim0",
            |a| a[0].gather(-3, &a[1]),
            |r| reference_gather(&r[0], 0, &r[1]),
            |rng| {
                vec![
                    vec![
                        rng.tensor(&[3, 2, 4], -1.0, 1.0),
                        rng.indices(&[5, 2, 3], 3),
                    ],
                    vec![
                        rng.tensor(&[1, 1, 1], -1.0, 1.0),
                        rng.indices(&[4, 1, 1], 1),
                    ],
                ]
            },
        ),
        OpInfo::new(
            "gather_0d",
            |a| a[0].gather(0, &a[1]),
            |r| RefArray::from_fn(&r[1].shape, |_| r[0].data[0]),
            |rng| {
                vec![
                    vec![rng.tensor(&[], -1.0, 1.0), rng.indices(&[], 1)],
                    vec![rng.tensor(&[], -1.0, 1.0), rng.indices(&[3], 1)],
                ]
            },
        ),
        OpInfo::new(
            "take_along_dim",
            |a| a[0].take_along_dim(&a[1], Some(0)),
            |r| {
                // Broadcast x and indices against each other except along dim 0.
                let (x, i) = (&r[0], &r[1]);
                let cols = x.shape[1].max(i.shape[1]);
                let shape = [i.shape[0], cols];
                RefArray::from_fn(&shape, |p| {
                    let k = i.get(&[p[0], if i.shape[1] == 1 { 0 } else { p[1] }]) as usize;
                    x.get(&[k, if x.shape[1] == 1 { 0 } else { p[1] }])
                })
            },
            |rng| {
                vec![
                    vec![rng.tensor(&[3, 4], -1.0, 1.0), rng.indices(&[2, 4], 3)],
                    vec![rng.tensor(&[3, 1], -1.0, 1.0), rng.indices(&[5, 4], 3)],
                    vec![rng.tensor(&[3, 4], -1.0, 1.0), rng.indices(&[2, 1], 3)],
                    vec![rng.tensor(&[3, 4], -1.0, 1.0), rng.indices(&[0, 4], 3)],
                ]
            },
        ),
        OpInfo::new(
            "take_along_dim_flat",
            |a| a[0].take_along_dim(&a[1], None),
            |r| {
                let flat = RefArray {
                    shape: vec![r[0].data.len()],
                    data: r[0].data.clone(),
                };
                let idx = RefArray {
                    shape: vec![r[1].data.len()],
                    data: r[1].data.clone(),
                };
                reference_gather(&flat, 0, &idx)
            },
            |rng| {
                vec![
                    vec![rng.tensor(&[3, 4], -1.0, 1.0), rng.indices(&[2, 5], 12)],
                    vec![rng.tensor(&[], -1.0, 1.0), rng.indices(&[3], 1)],
                ]
            },
        ),
        OpInfo::new(
            "gather_i64",
            |a| a[0].gather(0, &a[1]),
            |r| reference_gather(&r[0], 0, &r[1]),
            |rng| vec![vec![rng.indices(&[4, 3], 100), rng.indices(&[6, 2], 4)]],
        )
        .dtypes(&[DType::I64])
        .out_dtype(DType::I64),
    ]
}
