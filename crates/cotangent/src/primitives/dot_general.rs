//! `dot_general`: XLA's DotGeneral, the one contraction primitive behind `matmul`, `mm`,
//! `bmm`, `dot`, `mv`, `outer`, `tensordot` and `linear`.
//!
//! With batch dims `B` (paired between the operands), contracting dims `K` (paired) and the
//! remaining free dims `M` of `lhs` and `N` of `rhs`,
//! `out[b, m, n] = sum_k lhs[b, m, k] * rhs[b, k, n]`, where each letter stands for a group of
//! dims; the output's dims are the batch dims, then `lhs`'s free dims, then `rhs`'s, each in
//! operand order.
//!
//! It is bilinear, so its derivatives are dot_generals too:
//! `d out = dot_general(d lhs, rhs) + dot_general(lhs, d rhs)`, and the cotangent of `lhs` is
//! `dot_general(cotangent, rhs)` contracting the output's `N` dims with `rhs`'s free dims
//! (batch dims stay batch dims), transposed back to `lhs`'s dim order; likewise for `rhs`.

use super::frontend::try_normalize_dim;
use super::rules::{add_opt, batch_at_front};
use super::{Aval, AvalRef, Primitive, Residuals, Save};
use crate::array::backend::{self, DotDims};
use crate::array::{Array, DType, Dims};
use crate::error::{Error, Result, OrRaise};
use crate::testing::{OpInfo, RefArray};
use crate::trace::{Tensor, bind, try_bind};

/// Contract `dims.lhs_contract` with `dims.rhs_contract`, batching over `dims.lhs_batch` /
/// `dims.rhs_batch`.
#[derive(Clone, Debug)]
pub(crate) struct DotGeneral {
    pub(crate) dims: DotDims,
}

/// The free dims of an operand of rank `rank`, in order.
pub(crate) fn free_dims(rank: usize, batch: &[usize], contract: &[usize]) -> Vec<usize> {
    (0..rank)
        .filter(|d| !batch.contains(d) && !contract.contains(d))
        .collect()
}

/// Checks that `batch` and `contract` are valid, disjoint dims of `shape`.
fn check_operand(side: &str, shape: &[usize], batch: &[usize], contract: &[usize]) -> Result<()> {
    let mut seen = vec![false; shape.len()];
    for &d in batch.iter().chain(contract) {
        if d >= shape.len() {
            return Err(Error::index(
                "dot_general",
                format!("{side} dim {d} is out of range for {side} of shape {shape:?}"),
            ));
        }
        if std::mem::replace(&mut seen[d], true) {
            return Err(Error::shape(
                "dot_general",
                format!(
                    "{side} dim {d} is used more than once among batch dims {batch:?} and \
                     contracting dims {contract:?}; each dim may appear once"
                ),
            ));
        }
    }
    Ok(())
}

impl Primitive for DotGeneral {
    fn name(&self) -> &'static str {
        "dot_general"
    }

    fn shape_rule(&self, inputs: &[AvalRef<'_>]) -> Result<Aval> {
        let (l, r) = (inputs[0], inputs[1]);
        let d = &self.dims;
        if l.dtype != r.dtype {
            return Err(Error::dtype(
                "dot_general",
                format!(
                    "internal: operand dtypes differ ({} and {})",
                    l.dtype, r.dtype
                ),
            ));
        }
        if l.dtype == DType::Bool {
            return Err(Error::dtype(
                "dot_general",
                "not implemented for 'torch.bool'; cast the operands with .to_dtype() first",
            ));
        }
        if d.lhs_batch.len() != d.rhs_batch.len() || d.lhs_contract.len() != d.rhs_contract.len() {
            return Err(Error::shape(
                "dot_general",
                format!(
                    "lhs and rhs must have as many batch dims ({:?} vs {:?}) and contracting \
                     dims ({:?} vs {:?}) as each other",
                    d.lhs_batch, d.rhs_batch, d.lhs_contract, d.rhs_contract
                ),
            ));
        }
        check_operand("lhs", l.shape, &d.lhs_batch, &d.lhs_contract)?;
        check_operand("rhs", r.shape, &d.rhs_batch, &d.rhs_contract)?;
        for (kind, ls, rs) in [
            ("batch", &d.lhs_batch, &d.rhs_batch),
            ("contracting", &d.lhs_contract, &d.rhs_contract),
        ] {
            for (&a, &b) in ls.iter().zip(rs.iter()) {
                if l.shape[a] != r.shape[b] {
                    return Err(Error::shape(
                        "dot_general",
                        format!(
                            "{kind} dim {a} of lhs (size {}) does not match {kind} dim {b} of rhs \
                             (size {}); lhs has shape {:?} and rhs {:?}",
                            l.shape[a], r.shape[b], l.shape, r.shape
                        ),
                    ));
                }
            }
        }
        let mut shape: Dims = d.lhs_batch.iter().map(|&a| l.shape[a]).collect();
        shape.extend(
            free_dims(l.shape.len(), &d.lhs_batch, &d.lhs_contract)
                .into_iter()
                .map(|a| l.shape[a]),
        );
        shape.extend(
            free_dims(r.shape.len(), &d.rhs_batch, &d.rhs_contract)
                .into_iter()
                .map(|b| r.shape[b]),
        );
        Ok(Aval {
            shape,
            dtype: l.dtype,
        })
    }

    fn eval(&self, inputs: &[&Array], _out: &Aval) -> Array {
        backend::dot_general(inputs[0], inputs[1], &self.dims)
    }

    fn jvp(&self, primals: &[Tensor], _: &Tensor, tangents: &[Option<Tensor>]) -> Option<Tensor> {
        if !primals[0].dtype().is_float() {
            return None;
        }
        add_opt(
            tangents[0]
                .as_ref()
                .map(|t| bind(self.clone(), &[t, &primals[1]])),
            tangents[1]
                .as_ref()
                .map(|t| bind(self.clone(), &[&primals[0], t])),
        )
    }

    fn saves(&self) -> Save {
        Save::INPUTS
    }

    fn vjp(&self, res: &Residuals, cotangent: &Tensor, needed: &[bool]) -> Vec<Option<Tensor>> {
        if !res.dtype(0).is_float() {
            return vec![None, None];
        }
        let d = &self.dims;
        let (lr, rr) = (res.shape(0).len(), res.shape(1).len());
        let lhs = needed[0].then(|| {
            transpose_lhs(
                cotangent,
                res.input(1),
                lr,
                (&d.lhs_contract, &d.lhs_batch),
                (&d.rhs_contract, &d.rhs_batch),
                false,
            )
        });
        let rhs = needed[1].then(|| {
            transpose_lhs(
                cotangent,
                res.input(0),
                rr,
                (&d.rhs_contract, &d.rhs_batch),
                (&d.lhs_contract, &d.lhs_batch),
                true,
            )
        });
        vec![lhs, rhs]
    }

    fn vmap(
        &self,
        inputs: &[Tensor],
        axes: &[Option<usize>],
        size: usize,
    ) -> (Tensor, Option<usize>) {
        let d = &self.dims;
        let shift = |ds: &Dims| -> Dims { ds.iter().map(|&a| a + 1).collect() };
        let unshifted = |ds: &Dims| -> Dims { ds.clone() };
        let nb = d.lhs_batch.len();
        // A batched operand gets its batch axis at the front (dims shifted by one); with both
        // batched the new axis is a batch dim, with one it is a free dim of that operand.
        let l = axes[0].map(|a| batch_at_front(&inputs[0], Some(a), size));
        let r = axes[1].map(|a| batch_at_front(&inputs[1], Some(a), size));
        let (lhs_batch, rhs_batch) = match (l.is_some(), r.is_some()) {
            (true, true) => {
                let mut lb: Dims = smallvec::smallvec![0];
                lb.extend(shift(&d.lhs_batch));
                let mut rb: Dims = smallvec::smallvec![0];
                rb.extend(shift(&d.rhs_batch));
                (lb, rb)
            }
            (true, false) => (shift(&d.lhs_batch), unshifted(&d.rhs_batch)),
            _ => (unshifted(&d.lhs_batch), shift(&d.rhs_batch)),
        };
        let dims = DotDims {
            lhs_batch,
            rhs_batch,
            lhs_contract: if l.is_some() {
                shift(&d.lhs_contract)
            } else {
                d.lhs_contract.clone()
            },
            rhs_contract: if r.is_some() {
                shift(&d.rhs_contract)
            } else {
                d.rhs_contract.clone()
            },
        };
        let lhs = l.unwrap_or_else(|| inputs[0].clone());
        let rhs = r.unwrap_or_else(|| inputs[1].clone());
        let out_axis = match (axes[0].is_some(), axes[1].is_some()) {
            (true, true) => 0,
            // The batch axis is lhs's first free dim.
            (true, false) => nb,
            // The batch axis is rhs's first free dim, after lhs's free dims.
            _ => nb + free_dims(inputs[0].dim(), &d.lhs_batch, &d.lhs_contract).len(),
        };
        (bind(DotGeneral { dims }, &[&lhs, &rhs]), Some(out_axis))
    }
}

/// JAX's `_dot_general_transpose_lhs`: the cotangent of the operand `x` (of rank `x_rank`,
/// with contracting and batch dims `x_dims`) of a dot_general with `y` (dims `y_dims`), given
/// the output cotangent `g`. `swap` is set when `x` was the right operand (its free dims come
/// after `y`'s in the output).
fn transpose_lhs(
    g: &Tensor,
    y: &Tensor,
    x_rank: usize,
    x_dims: (&[usize], &[usize]),
    y_dims: (&[usize], &[usize]),
    swap: bool,
) -> Tensor {
    let (x_contract, x_batch) = x_dims;
    let (y_contract, y_batch) = y_dims;
    let x_kept = free_dims(x_rank, x_batch, x_contract);
    let y_kept = free_dims(y.dim(), y_batch, y_contract);
    let nb = x_batch.len();
    let ans_batch: Dims = (0..nb).collect();
    let ans_y: Dims = if swap {
        (nb..nb + y_kept.len()).collect()
    } else {
        (nb + x_kept.len()..nb + x_kept.len() + y_kept.len()).collect()
    };
    let dims = DotDims {
        lhs_batch: ans_batch,
        rhs_batch: y_batch.into(),
        lhs_contract: ans_y,
        rhs_contract: y_kept.iter().copied().collect(),
    };
    let out = bind(DotGeneral { dims }, &[g, y]);
    // `out`'s dims are x's batch dims, x's kept dims, then x's contracting dims in the order
    // of y's (sorted) contracting dims.
    let mut order: Vec<usize> = (0..y_contract.len()).collect();
    order.sort_by_key(|&i| y_contract[i]);
    let mut src: Vec<usize> = x_batch.to_vec();
    src.extend(&x_kept);
    src.extend(order.iter().map(|&i| x_contract[i]));
    let mut perm = vec![0isize; x_rank];
    for (pos, &xd) in src.iter().enumerate() {
        perm[xd] = pos as isize;
    }
    out.permute(&perm)
}

/// Like [`dot_general`], returning an error instead of panicking.
pub fn try_dot_general(
    lhs: &Tensor,
    rhs: &Tensor,
    contracting: (&[isize], &[isize]),
    batch: (&[isize], &[isize]),
) -> Result<Tensor> {
    let norm = |ds: &[isize], rank: usize| -> Result<Dims> {
        ds.iter()
            .map(|&d| try_normalize_dim("dot_general", d, rank))
            .collect()
    };
    let dims = DotDims {
        lhs_batch: norm(batch.0, lhs.dim())?,
        rhs_batch: norm(batch.1, rhs.dim())?,
        lhs_contract: norm(contracting.0, lhs.dim())?,
        rhs_contract: norm(contracting.1, rhs.dim())?,
    };
    let dtype = lhs.dtype().promote(rhs.dtype());
    if dtype == DType::Bool {
        // Reported by the shape rule, before any conversion.
        return try_bind(DotGeneral { dims }, &[lhs, rhs]);
    }
    try_bind(
        DotGeneral { dims },
        &[&lhs.to_dtype(dtype), &rhs.to_dtype(dtype)],
    )
}

/// XLA's DotGeneral (`jax.lax.dot_general`): `lhs` and `rhs` multiplied and summed over the
/// paired `contracting` dims `(lhs_dims, rhs_dims)`, batched over the paired `batch` dims.
/// The output's dims are the batch dims, then `lhs`'s remaining dims, then `rhs`'s. Dtypes
/// are promoted (float or `i64`; bool is an error); negative dims count from the end.
///
/// # Panics
/// If a dim is out of range or repeated, or paired dims differ in size.
///
/// ```
/// # use cotangent::{Tensor, dot_general};
/// // A batch of 2 products [3, 4] x [4, 5], with rhs stored as [4, 2, 5].
/// let a = Tensor::ones(&[2, 3, 4]);
/// let b = Tensor::ones(&[4, 2, 5]);
/// let c = dot_general(&a, &b, (&[2], &[0]), (&[0], &[1]));
/// assert_eq!(c.shape(), &[2, 3, 5]);
/// assert_eq!(c.to_vec::<f32>()[0], 4.0);
/// ```
#[track_caller]
pub fn dot_general(
    lhs: &Tensor,
    rhs: &Tensor,
    contracting: (&[isize], &[isize]),
    batch: (&[isize], &[isize]),
) -> Tensor {
    try_dot_general(lhs, rhs, contracting, batch).or_raise()
}

/// Reference dot_general on plain arrays: loops over every output index and every
/// contracting index.
pub(crate) fn reference_dot_general(
    l: &RefArray,
    r: &RefArray,
    lc: &[usize],
    rc: &[usize],
    lb: &[usize],
    rb: &[usize],
) -> RefArray {
    let lf = free_dims(l.shape.len(), lb, lc);
    let rf = free_dims(r.shape.len(), rb, rc);
    let mut shape: Vec<usize> = lb.iter().map(|&d| l.shape[d]).collect();
    shape.extend(lf.iter().map(|&d| l.shape[d]));
    shape.extend(rf.iter().map(|&d| r.shape[d]));
    let ksizes: Vec<usize> = lc.iter().map(|&d| l.shape[d]).collect();
    let kcount: usize = ksizes.iter().product();
    RefArray::from_fn(&shape, |o| {
        let (ob, rest) = o.split_at(lb.len());
        let (ol, or) = rest.split_at(lf.len());
        let mut li = vec![0usize; l.shape.len()];
        let mut ri = vec![0usize; r.shape.len()];
        for (i, &v) in ob.iter().enumerate() {
            li[lb[i]] = v;
            ri[rb[i]] = v;
        }
        for (i, &v) in ol.iter().enumerate() {
            li[lf[i]] = v;
        }
        for (i, &v) in or.iter().enumerate() {
            ri[rf[i]] = v;
        }
        let mut acc = 0.0;
        for flat in 0..kcount {
            let mut rest = flat;
            for j in (0..ksizes.len()).rev() {
                let v = rest % ksizes[j];
                rest /= ksizes[j];
                li[lc[j]] = v;
                ri[rc[j]] = v;
            }
            acc += l.get(&li) * r.get(&ri);
        }
        acc
    })
}

pub(crate) fn op_info() -> Vec<OpInfo> {
    vec![
        OpInfo::new(
            "dot_general",
            // Batch lhs 0 with rhs 1; contract lhs (2, 3) with rhs (3, 0).
            |a| dot_general(&a[0], &a[1], (&[2, -1], &[3, 0]), (&[0], &[1])),
            |r| reference_dot_general(&r[0], &r[1], &[2, 3], &[3, 0], &[0], &[1]),
            |rng| {
                vec![
                    vec![
                        rng.tensor(&[2, 3, 4, 2], -1.0, 1.0),
                        rng.tensor(&[2, 2, 5, 4], -1.0, 1.0),
                    ],
                    vec![
                        rng.tensor(&[3, 1, 2, 3], -1.0, 1.0),
                        rng.tensor(&[3, 3, 4, 2], -1.0, 1.0),
                    ],
                    vec![
                        rng.tensor(&[2, 3, 0, 2], -1.0, 1.0),
                        rng.tensor(&[2, 2, 5, 0], -1.0, 1.0),
                    ],
                    vec![
                        rng.tensor(&[0, 3, 4, 2], -1.0, 1.0),
                        rng.tensor(&[2, 0, 5, 4], -1.0, 1.0),
                    ],
                ]
            },
        ),
        OpInfo::new(
            "dot_general_no_contraction",
            // An outer product with a shared batch dim.
            |a| dot_general(&a[0], &a[1], (&[], &[]), (&[-1], &[0])),
            |r| reference_dot_general(&r[0], &r[1], &[], &[], &[1], &[0]),
            |rng| {
                vec![vec![
                    rng.tensor(&[3, 4], -1.0, 1.0),
                    rng.tensor(&[4, 2], -1.0, 1.0),
                ]]
            },
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integer_operands_use_the_integer_kernel() {
        let a = Tensor::from_vec((0..6i64).collect::<Vec<_>>(), &[2, 3]).expect("data");
        let b = Tensor::from_vec((0..12i64).collect::<Vec<_>>(), &[3, 4]).expect("data");
        let c = dot_general(&a, &b, (&[1], &[0]), (&[], &[]));
        assert_eq!(c.dtype(), DType::I64);
        assert_eq!(c.to_vec::<i64>(), vec![20, 23, 26, 29, 56, 68, 80, 92]);
        // Mixed dtypes promote.
        let f = dot_general(&a, &b.to_dtype(DType::F64), (&[1], &[0]), (&[], &[]));
        assert_eq!(f.dtype(), DType::F64);
        assert_eq!(f.to_vec::<f64>()[7], 92.0);
    }

    #[test]
    fn errors_name_dims_and_shapes() {
        let a = Tensor::zeros(&[2, 3]);
        let b = Tensor::zeros(&[4, 5]);
        let e = try_dot_general(&a, &b, (&[1], &[0]), (&[], &[]))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains(
                "contracting dim 1 of lhs (size 3) does not match contracting dim 0 of rhs (size 4)"
            ),
            "{e}"
        );
        let e = try_dot_general(&a, &b, (&[1, 1], &[0, 1]), (&[], &[]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("used more than once"), "{e}");
        let e = try_dot_general(&a, &b, (&[2], &[0]), (&[], &[]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("Dimension out of range"), "{e}");
        let t = Tensor::full(&[2, 2], 1.0, DType::Bool);
        let e = try_dot_general(&t, &t, (&[1], &[0]), (&[], &[]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("torch.bool"), "{e}");
    }

    #[test]
    fn zero_size_contraction_gives_zeros() {
        let a = Tensor::ones(&[2, 0]);
        let b = Tensor::ones(&[0, 3]);
        let c = dot_general(&a, &b, (&[1], &[0]), (&[], &[]));
        assert_eq!(c.shape(), &[2, 3]);
        assert_eq!(c.to_vec::<f32>(), vec![0.0; 6]);
        let i = dot_general(
            &a.to_dtype(DType::I64),
            &b.to_dtype(DType::I64),
            (&[1], &[0]),
            (&[], &[]),
        );
        assert_eq!(i.to_vec::<i64>(), vec![0; 6]);
    }
}
