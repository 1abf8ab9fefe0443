//! `scatter_add`: a copy of `x` with the values of `src` added at positions given by an
//! index along one axis (torch's functional `scatter_add`). For `axis = 0`,
//! `out[index[i, j], j] += src[i, j]` for every position `(i, j)` of `index`; repeated
//! indices accumulate. The inverse-direction partner of `gather`.
//!
//! Derivative: linear in `(x, src)`. `x̄ = ȳ` and `s̄rc = gather(ȳ, axis, index)` (restricted
//! to `index`'s shape, zero elsewhere).

use super::frontend::normalize_dim;
use super::gather::Gather;
use super::pad::Pad;
use super::rules::{batch_at_front, bind_in_user_dims};
use super::{Aval, AvalRef, Primitive, Residuals, Save};
use crate::array::backend;
use crate::array::{Array, DType};
use crate::error::{Error, Result, defer};
use crate::testing::{OpInfo, RefArray};
use crate::trace::{Tensor, bind};

/// Scatter-add along `axis`: inputs `x`, `index`, `src`.
#[derive(Clone, Debug)]
pub(crate) struct ScatterAdd {
    pub(crate) axis: usize,
}

impl Primitive for ScatterAdd {
    fn name(&self) -> &'static str {
        "scatter_add"
    }

    fn shape_rule(&self, inputs: &[AvalRef<'_>]) -> Result<Aval> {
        let (x, index, src) = (inputs[0], inputs[1], inputs[2]);
        let op = "scatter_add";
        if index.dtype != DType::I64 {
            return Err(Error::dtype(
                op,
                format!("Expected dtype int64 for index, got {}", index.dtype),
            ));
        }
        if x.dtype != src.dtype {
            return Err(Error::dtype(
                op,
                format!(
                    "Expected self.dtype to be equal to src.dtype, got {} and {}",
                    x.dtype, src.dtype
                ),
            ));
        }
        if x.dtype == DType::Bool {
            return Err(Error::dtype(
                op,
                "not implemented for 'torch.bool'; cast to int64 first",
            ));
        }
        let rank = x.shape.len();
        if index.shape.len() != rank || src.shape.len() != rank || self.axis >= rank {
            return Err(Error::shape(
                op,
                format!(
                    "Index tensor must have the same number of dimensions as self tensor and \
                     src tensor, got self {:?}, index {:?}, src {:?}",
                    x.shape, index.shape, src.shape
                ),
            ));
        }
        let fits = (0..rank).all(|d| {
            index.shape[d] <= src.shape[d] && (d == self.axis || index.shape[d] <= x.shape[d])
        });
        if !fits {
            return Err(Error::shape(
                op,
                format!(
                    "Expected index {:?} to be smaller than self {:?} apart from dimension {} \
                     and to be smaller size than src {:?}",
                    index.shape, x.shape, self.axis, src.shape
                ),
            ));
        }
        Ok(Aval::new(x.shape, x.dtype))
    }

    fn eval(&self, inputs: &[&Array], _out: &Aval) -> Array {
        backend::scatter_add(inputs[0], self.axis, inputs[1], inputs[2])
            .unwrap_or_else(|e| defer(Error::index("scatter_add", e.to_string())))
    }

    fn jvp(&self, primals: &[Tensor], _: &Tensor, tangents: &[Option<Tensor>]) -> Option<Tensor> {
        let t_src = match (&tangents[0], &tangents[2]) {
            (t_x, None) => return t_x.clone(),
            (_, Some(t)) => t,
        };
        let t_x = tangents[0]
            .clone()
            .unwrap_or_else(|| t_src.new_zeros(primals[0].shape()));
        Some(bind(self.clone(), &[&t_x, &primals[1], t_src]))
    }

    fn saves(&self) -> Save {
        Save::inputs(&[1])
    }

    fn vjp(&self, res: &Residuals, cotangent: &Tensor, needed: &[bool]) -> Vec<Option<Tensor>> {
        let src_bar = needed[2].then(|| {
            let index = res.input(1);
            let picked = bind(Gather { axis: self.axis }, &[cotangent, index]);
            // src may be larger than index: its other elements were not used.
            let src_shape = res.shape(2);
            if picked.shape() == src_shape {
                return picked;
            }
            let lo = smallvec::smallvec![0; src_shape.len()];
            let hi = src_shape
                .iter()
                .zip(index.shape())
                .map(|(&s, &i)| s - i)
                .collect();
            bind(Pad { lo, hi, value: 0.0 }, &[&picked])
        });
        vec![needed[0].then(|| cotangent.clone()), None, src_bar]
    }

    fn vmap(
        &self,
        inputs: &[Tensor],
        axes: &[Option<usize>],
        size: usize,
    ) -> (Tensor, Option<usize>) {
        let moved: Vec<Tensor> = inputs
            .iter()
            .zip(axes)
            .map(|(x, &a)| batch_at_front(x, a, size))
            .collect();
        (
            bind_in_user_dims(
                None,
                ScatterAdd {
                    axis: self.axis + 1,
                },
                &[&moved[0], &moved[1], &moved[2]],
            ),
            Some(0),
        )
    }
}

/// `x` with `src[p]` added at `p with p[dim] = index[p]` for every position `p` of `index`
/// (`torch.scatter_add`, functional: `x` is not modified). `index` (`i64`) and `src` have
/// `x`'s rank; `index` is no larger than `src`, nor than `x` except along `dim`.
///
/// # Panics
/// If an index is negative or not below `x.size(dim)`, if the dtypes or shapes do not fit
/// (torch's messages), or for bool tensors.
///
/// ```
/// # use cotangent::{Tensor, scatter_add};
/// let x = Tensor::zeros(&[3]);
/// let y = scatter_add(&x, 0, &Tensor::new([0i64, 2, 0]), &Tensor::ones(&[3]));
/// assert_eq!(y.to_vec::<f32>(), vec![2.0, 0.0, 1.0]);
/// ```
#[track_caller]
pub fn scatter_add(x: &Tensor, dim: isize, index: &Tensor, src: &Tensor) -> Tensor {
    let axis = normalize_dim("scatter_add", dim, x.dim());
    if x.dim() > 0 && index.dim() > 0 && src.dim() > 0 {
        return bind(ScatterAdd { axis }, &[x, index, src]);
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
    let out = bind(
        ScatterAdd { axis },
        &[&as_1d(x), &as_1d(index), &as_1d(src)],
    );
    reshape_to(&out, x.shape())
}

impl Tensor {
    /// `self` with `src` added at `index` along `dim`; see [`scatter_add`].
    ///
    /// ```
    /// # use cotangent::Tensor;
    /// let x = Tensor::new([[0i64, 0], [0, 0]]);
    /// let y = x.scatter_add(1, &Tensor::new([[1i64], [1]]), &Tensor::new([[5i64], [7]]));
    /// assert_eq!(y.to_vec::<i64>(), vec![0, 5, 0, 7]);
    /// ```
    #[track_caller]
    pub fn scatter_add(&self, dim: isize, index: &Tensor, src: &Tensor) -> Tensor {
        scatter_add(self, dim, index, src)
    }
}

/// Reference: a copy of `x`, then for each position `p` of `index`,
/// `out[p with p[axis] = index[p]] += src[p]`.
fn reference_scatter_add(x: &RefArray, axis: usize, index: &RefArray, src: &RefArray) -> RefArray {
    // 0-d index and src count as 1-d, as in the op.
    let as_1d = |r: &RefArray| RefArray {
        shape: vec![r.data.len()],
        data: r.data.clone(),
    };
    let (index, src) = if index.shape.is_empty() {
        (&as_1d(index), &as_1d(src))
    } else {
        (index, src)
    };
    let mut out = x.clone();
    let strides: Vec<usize> = (0..x.shape.len())
        .map(|d| x.shape[d + 1..].iter().product())
        .collect();
    RefArray::from_fn(&index.shape, |p| {
        let mut flat = 0;
        for d in 0..p.len() {
            let i = if d == axis {
                index.get(p) as usize
            } else {
                p[d]
            };
            flat += i * strides[d];
        }
        out.data[flat] += src.get(p);
        0.0
    });
    out
}

pub(crate) fn op_info() -> Vec<OpInfo> {
    vec![
        OpInfo::new(
            "scatter_add",
            |a| a[0].scatter_add(0, &a[1], &a[2]),
            |r| reference_scatter_add(&r[0], 0, &r[1], &r[2]),
            |rng| {
                vec![
                    vec![
                        rng.tensor(&[3, 4], -1.0, 1.0),
                        rng.indices(&[5, 4], 3),
                        rng.tensor(&[5, 4], -1.0, 1.0),
                    ],
                    vec![
                        rng.tensor(&[4, 5], -1.0, 1.0),
                        rng.indices(&[2, 3], 4),
                        rng.tensor(&[3, 4], -1.0, 1.0),
                    ],
                    vec![
                        rng.tensor(&[3, 4], -1.0, 1.0),
                        rng.indices(&[0, 4], 3),
                        rng.tensor(&[2, 4], -1.0, 1.0),
                    ],
                    vec![
                        rng.tensor(&[2, 3, 2], -1.0, 1.0),
                        rng.indices(&[4, 3, 2], 2),
                        rng.tensor(&[4, 3, 2], -1.0, 1.0),
                    ],
                ]
            },
        ),
        OpInfo::new(
            "scatter_add_dim1",
            |a| a[0].scatter_add(-1, &a[1], &a[2]),
            |r| reference_scatter_add(&r[0], r[0].shape.len() - 1, &r[1], &r[2]),
            |rng| {
                vec![
                    vec![
                        rng.tensor(&[3, 4], -1.0, 1.0),
                        rng.indices(&[3, 7], 4),
                        rng.tensor(&[3, 7], -1.0, 1.0),
                    ],
                    vec![
                        rng.tensor(&[2, 3, 2], -1.0, 1.0),
                        rng.indices(&[2, 2, 5], 2),
                        rng.tensor(&[2, 3, 5], -1.0, 1.0),
                    ],
                    vec![
                        rng.tensor(&[3], -1.0, 1.0),
                        rng.indices(&[], 3),
                        rng.tensor(&[], -1.0, 1.0),
                    ],
                ]
            },
        ),
        OpInfo::new(
            "scatter_add_i64",
            |a| a[0].scatter_add(1, &a[1], &a[2]),
            |r| reference_scatter_add(&r[0], 1, &r[1], &r[2]),
            |rng| {
                vec![vec![
                    rng.indices(&[2, 3], 10),
                    rng.indices(&[2, 6], 3),
                    rng.indices(&[2, 6], 10),
                ]]
            },
        )
        .dtypes(&[DType::I64])
        .out_dtype(DType::I64),
    ]
}
