//! Matrix products with torch's names and rules (`matmul`, `mm`, `bmm`, `dot`, `mv`,
//! `outer`, `tensordot`, `linear`), all composites over [`dot_general`](crate::dot_general)
//! and views. Batch broadcasting is a stride-0 view and transposed operands are read in
//! place, so no operand is copied unless its layout cannot be read as a strided matrix.

use crate::array::DType;
use crate::array::alloc::alloc_named;
use crate::error::{Error, OrRaise, Result};
use crate::primitives::dot_general::{reference_dot_general, try_dot_general};
use crate::primitives::frontend::{try_broadcast_shapes, try_broadcast_to, try_normalize_dim};
use crate::testing::{OpInfo, RefArray, TestRng, broadcast_shape};
use crate::trace::Tensor;

/// `rows x cols` as torch prints matrix shapes.
fn mat(rows: usize, cols: usize) -> String {
    format!("{rows}x{cols}")
}

/// The error for bool operands, which have no matrix product in torch either.
fn no_bool(op: &'static str, a: &Tensor, b: &Tensor) -> Result<()> {
    if a.dtype().promote(b.dtype()) == DType::Bool {
        return Err(Error::dtype(
            op,
            "not implemented for 'Bool'; cast the operands to a float or \
             integer dtype first",
        ));
    }
    Ok(())
}

/// The inner-size error of `dot`.
fn dot_mismatch(op: &'static str, n: usize, m: usize) -> Error {
    Error::shape(
        op,
        format!(
            "inconsistent tensor size, expected tensor [{n}] and src [{m}] to have the same \
             number of elements, but got {n} and {m} elements respectively"
        ),
    )
}

/// `dot_general` for the product op `op`: a failure of the product itself (its output too
/// large to represent or to allocate) is named after `op`, the function the user called.
fn product(
    op: &'static str,
    a: &Tensor,
    b: &Tensor,
    contracting: (&[isize], &[isize]),
    batch: (&[isize], &[isize]),
) -> Result<Tensor> {
    try_dot_general(a, b, contracting, batch).map_err(|e| match e {
        e @ Error::Alloc {
            op: "dot_general", ..
        } => alloc_named(op, e),
        Error::Shape {
            op: "dot_general",
            msg,
        } if msg.starts_with("Storage size calculation overflowed") => Error::Shape { op, msg },
        other => other,
    })
}

/// Like [`matmul`], returning an error instead of panicking.
pub fn try_matmul(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    let (ra, rb) = (a.dim(), b.dim());
    if ra == 0 || rb == 0 {
        return Err(Error::shape(
            "matmul",
            format!(
                "both arguments to matmul need to be at least 1D, but they are {ra}D and {rb}D"
            ),
        ));
    }
    no_bool("matmul", a, b)?;
    let (sa, sb) = (a.shape(), b.shape());
    let k = sa[ra - 1];
    // The contracted dim of b: its only dim if a vector, else its second-to-last.
    let kb = if rb == 1 { sb[0] } else { sb[rb - 2] };
    let m_rows: usize = sa[..ra - 1].iter().product();
    match (ra, rb) {
        (1, 1) => {
            if k != kb {
                return Err(dot_mismatch("matmul", k, kb));
            }
            product("matmul", a, b, (&[0], &[0]), (&[], &[]))
        }
        (_, 1) => {
            if k != kb {
                return Err(Error::shape(
                    "matmul",
                    format!(
                        "size mismatch, got input ({m_rows}), mat ({}), vec ({kb})",
                        mat(m_rows, k)
                    ),
                ));
            }
            product("matmul", a, b, (&[-1], &[0]), (&[], &[]))
        }
        (_, 2) => {
            // [..., n, k] @ [k, m]: one product with all of a's leading dims as rows.
            if k != kb {
                return Err(Error::shape(
                    "matmul",
                    format!(
                        "mat1 and mat2 shapes cannot be multiplied ({} and {})",
                        mat(m_rows, k),
                        mat(kb, sb[1])
                    ),
                ));
            }
            product("matmul", a, b, (&[-1], &[0]), (&[], &[]))
        }
        _ => {
            // Batched: a vector a is a 1-row matrix, batch dims broadcast as views.
            let a2 = if ra == 1 { a.unsqueeze(0) } else { a.clone() };
            let (sa2, ra2) = (a2.shape().to_vec(), a2.dim());
            let batch = try_broadcast_shapes("matmul", &sa2[..ra2 - 2], &sb[..rb - 2])?;
            let Some(nb) = crate::array::layout::checked_numel(&batch) else {
                return Err(Error::shape(
                    "matmul",
                    format!(
                        "Storage size calculation overflowed with sizes={batch:?} (the batch dims)"
                    ),
                ));
            };
            if k != kb {
                return Err(Error::shape(
                    "matmul",
                    format!(
                        "Expected size for first two dimensions of batch2 tensor to be: [{nb}, {k}] \
                         but got: [{nb}, {kb}]."
                    ),
                ));
            }
            let mut shape_a = batch.to_vec();
            shape_a.extend_from_slice(&sa2[ra2 - 2..]);
            let mut shape_b = batch.to_vec();
            shape_b.extend_from_slice(&sb[rb - 2..]);
            let a3 = try_broadcast_to("matmul", &a2, &shape_a)?;
            let b3 = try_broadcast_to("matmul", b, &shape_b)?;
            let bd: Vec<isize> = (0..batch.len() as isize).collect();
            let nbd = batch.len() as isize;
            let out = product("matmul", &a3, &b3, (&[nbd + 1], &[nbd]), (&bd, &bd))?;
            Ok(if ra == 1 { out.squeeze_dim(-2) } else { out })
        }
    }
}

/// Matrix product with torch's rules (`torch.matmul`, Python's `@`): vector·vector is a
/// 0-d dot product, a vector operand is a row (left) or column (right) that is removed
/// again, and batch dims broadcast (`[2, 1, 3, 4] @ [5, 4, 6]` is `[2, 5, 3, 6]`). Dtypes
/// are promoted (float or `i64`).
///
/// # Panics
/// On 0-d or bool operands, or mismatched inner sizes, with torch's message
/// ("mat1 and mat2 shapes cannot be multiplied (2x3 and 4x5)").
///
/// ```
/// # use cotangent::{Tensor, matmul};
/// let a = Tensor::new([[1.0f32, 2.0], [3.0, 4.0]]);
/// let b = Tensor::new([1.0f32, 1.0]);
/// assert_eq!(matmul(&a, &b).to_vec::<f32>(), vec![3.0, 7.0]);
/// assert_eq!(matmul(&Tensor::ones(&[2, 1, 3, 4]), &Tensor::ones(&[5, 4, 6])).shape(), &[2, 5, 3, 6]);
/// ```
#[track_caller]
pub fn matmul(a: &Tensor, b: &Tensor) -> Tensor {
    try_matmul(a, b).or_raise()
}

/// Product of two matrices (`torch.mm`); no broadcasting.
///
/// # Panics
/// Unless both operands are 2-d with matching inner sizes, with torch's message.
///
/// ```
/// # use cotangent::{Tensor, mm};
/// assert_eq!(mm(&Tensor::ones(&[2, 3]), &Tensor::ones(&[3, 4])).shape(), &[2, 4]);
/// ```
#[track_caller]
pub fn mm(a: &Tensor, b: &Tensor) -> Tensor {
    let check = || -> Result<Tensor> {
        if a.dim() != 2 {
            return Err(Error::shape(
                "mm",
                format!("self must be a matrix, got a {}-d tensor", a.dim()),
            ));
        }
        if b.dim() != 2 {
            return Err(Error::shape(
                "mm",
                format!("mat2 must be a matrix, got a {}-d tensor", b.dim()),
            ));
        }
        no_bool("mm", a, b)?;
        let (sa, sb) = (a.shape(), b.shape());
        if sa[1] != sb[0] {
            return Err(Error::shape(
                "mm",
                format!(
                    "mat1 and mat2 shapes cannot be multiplied ({} and {})",
                    mat(sa[0], sa[1]),
                    mat(sb[0], sb[1])
                ),
            ));
        }
        product("mm", a, b, (&[1], &[0]), (&[], &[]))
    };
    check().or_raise()
}

/// Batched product of equal batches of matrices (`torch.bmm`): `[b, n, k] @ [b, k, m]`; no
/// broadcasting.
///
/// # Panics
/// Unless both operands are 3-d with equal batch and matching inner sizes.
///
/// ```
/// # use cotangent::{Tensor, bmm};
/// assert_eq!(bmm(&Tensor::ones(&[5, 2, 3]), &Tensor::ones(&[5, 3, 4])).shape(), &[5, 2, 4]);
/// ```
#[track_caller]
pub fn bmm(a: &Tensor, b: &Tensor) -> Tensor {
    let check = || -> Result<Tensor> {
        if a.dim() != 3 {
            return Err(Error::shape(
                "bmm",
                format!("batch1 must be a 3D tensor, got a {}-d tensor", a.dim()),
            ));
        }
        if b.dim() != 3 {
            return Err(Error::shape(
                "bmm",
                format!("batch2 must be a 3D tensor, got a {}-d tensor", b.dim()),
            ));
        }
        no_bool("bmm", a, b)?;
        let (sa, sb) = (a.shape(), b.shape());
        if sa[0] != sb[0] {
            return Err(Error::shape(
                "bmm",
                format!(
                    "batch1 and batch2 must have same number of batches, got {} and {}",
                    sa[0], sb[0]
                ),
            ));
        }
        if sa[2] != sb[1] {
            return Err(Error::shape(
                "bmm",
                format!(
                    "Expected size for first two dimensions of batch2 tensor to be: [{}, {}] but \
                     got: [{}, {}].",
                    sa[0], sa[2], sb[0], sb[1]
                ),
            ));
        }
        product("bmm", a, b, (&[2], &[1]), (&[0], &[0]))
    };
    check().or_raise()
}

/// Inner product of two vectors, a 0-d tensor (`torch.dot`).
///
/// # Panics
/// Unless both operands are 1-d of equal length, with torch's message.
///
/// ```
/// # use cotangent::{Tensor, dot};
/// let a = Tensor::new([1.0f32, 2.0, 3.0]);
/// assert_eq!(dot(&a, &a).item::<f32>(), 14.0);
/// ```
#[track_caller]
pub fn dot(a: &Tensor, b: &Tensor) -> Tensor {
    let check = || -> Result<Tensor> {
        if a.dim() != 1 || b.dim() != 1 {
            return Err(Error::shape(
                "dot",
                format!(
                    "1D tensors expected, but got {}D and {}D tensors",
                    a.dim(),
                    b.dim()
                ),
            ));
        }
        no_bool("dot", a, b)?;
        if a.shape()[0] != b.shape()[0] {
            return Err(dot_mismatch("dot", a.shape()[0], b.shape()[0]));
        }
        product("dot", a, b, (&[0], &[0]), (&[], &[]))
    };
    check().or_raise()
}

/// Matrix-vector product (`torch.mv`): `[n, k] @ [k]` is `[n]`.
///
/// # Panics
/// Unless `a` is 2-d and `v` 1-d with matching sizes, with torch's message.
///
/// ```
/// # use cotangent::{Tensor, mv};
/// assert_eq!(mv(&Tensor::ones(&[2, 3]), &Tensor::ones(&[3])).to_vec::<f32>(), vec![3.0, 3.0]);
/// ```
#[track_caller]
pub fn mv(a: &Tensor, v: &Tensor) -> Tensor {
    let check = || -> Result<Tensor> {
        if a.dim() != 2 || v.dim() != 1 {
            return Err(Error::shape(
                "mv",
                format!(
                    "vector + matrix @ vector expected, got 1, {}, {}",
                    a.dim(),
                    v.dim()
                ),
            ));
        }
        no_bool("mv", a, v)?;
        let (sa, n) = (a.shape(), v.shape()[0]);
        if sa[1] != n {
            return Err(Error::shape(
                "mv",
                format!(
                    "size mismatch, got input ({}), mat ({}), vec ({n})",
                    sa[0],
                    mat(sa[0], sa[1])
                ),
            ));
        }
        product("mv", a, v, (&[1], &[0]), (&[], &[]))
    };
    check().or_raise()
}

/// Outer product of two vectors (`torch.outer`): `out[i, j] = a[i] * b[j]`.
///
/// # Panics
/// Unless both operands are 1-d.
///
/// ```
/// # use cotangent::{Tensor, outer};
/// let o = outer(&Tensor::new([1.0f32, 2.0]), &Tensor::new([1.0f32, 10.0, 100.0]));
/// assert_eq!(o.to_vec::<f32>(), vec![1.0, 10.0, 100.0, 2.0, 20.0, 200.0]);
/// ```
#[track_caller]
pub fn outer(a: &Tensor, b: &Tensor) -> Tensor {
    let check = || -> Result<Tensor> {
        for (name, t) in [("self", a), ("vec2", b)] {
            if t.dim() != 1 {
                return Err(Error::shape(
                    "outer",
                    format!("Expected 1-D argument {name}, but got {}-D", t.dim()),
                ));
            }
        }
        no_bool("outer", a, b)?;
        product("outer", a, b, (&[], &[]), (&[], &[]))
    };
    check().or_raise()
}

/// Like [`tensordot`], returning an error instead of panicking.
pub fn try_tensordot(a: &Tensor, b: &Tensor, dims_a: &[isize], dims_b: &[isize]) -> Result<Tensor> {
    if dims_a.len() != dims_b.len() {
        return Err(Error::shape(
            "tensordot",
            format!("both dimension lists should have same length, got {dims_a:?} and {dims_b:?}"),
        ));
    }
    no_bool("tensordot", a, b)?;
    for (&da, &db) in dims_a.iter().zip(dims_b) {
        let (ia, ib) = (
            try_normalize_dim("tensordot", da, a.dim())?,
            try_normalize_dim("tensordot", db, b.dim())?,
        );
        let (na, nb) = (
            a.shape().get(ia).copied().unwrap_or(1),
            b.shape().get(ib).copied().unwrap_or(1),
        );
        if na != nb {
            return Err(Error::shape(
                "tensordot",
                format!(
                    "contracted dimensions need to match, but first has size {na} in dim {ia} and \
                     second has size {nb} in dim {ib}"
                ),
            ));
        }
    }
    product("tensordot", a, b, (dims_a, dims_b), (&[], &[]))
}

/// Sum of products over the paired dims `dims_a` of `a` and `dims_b` of `b`
/// (`torch.tensordot(a, b, dims=(dims_a, dims_b))`); the output has `a`'s other dims, then
/// `b`'s.
///
/// # Panics
/// If the lists differ in length, a dim is out of range or repeated, or paired sizes differ.
///
/// ```
/// # use cotangent::{Tensor, tensordot};
/// let c = tensordot(&Tensor::ones(&[2, 3, 4]), &Tensor::ones(&[4, 3, 5]), &[1, 2], &[1, 0]);
/// assert_eq!(c.shape(), &[2, 5]);
/// assert_eq!(c.to_vec::<f32>()[0], 12.0);
/// ```
#[track_caller]
pub fn tensordot(a: &Tensor, b: &Tensor, dims_a: &[isize], dims_b: &[isize]) -> Tensor {
    try_tensordot(a, b, dims_a, dims_b).or_raise()
}

/// Like [`linear`], returning an error instead of panicking.
pub fn try_linear(x: &Tensor, weight: &Tensor, bias: Option<&Tensor>) -> Result<Tensor> {
    let (rx, rw) = (x.dim(), weight.dim());
    if rx == 0 || rw == 0 || rw > 2 {
        return Err(Error::shape(
            "linear",
            format!(
                "input must be at least 1D and weight 1D or 2D, but they are {rx}D and {rw}D; \
                 weight has shape [out_features, in_features]"
            ),
        ));
    }
    no_bool("linear", x, weight)?;
    let (k, kw) = (x.shape()[rx - 1], weight.shape()[rw - 1]);
    if k != kw {
        let rows: usize = x.shape()[..rx - 1].iter().product();
        let out = if rw == 2 { weight.shape()[0] } else { 1 };
        return Err(Error::shape(
            "linear",
            format!(
                "mat1 and mat2 shapes cannot be multiplied ({} and {})",
                mat(rows, k),
                mat(kw, out)
            ),
        ));
    }
    // Contract x's last dim with weight's last dim: weight is read transposed in place.
    let y = product("linear", x, weight, (&[-1], &[-1]), (&[], &[]))?;
    match bias {
        None => Ok(y),
        Some(b) => {
            try_broadcast_shapes("linear", y.shape(), b.shape())?;
            Ok(&y + b)
        }
    }
}

/// An affine map `x @ weight.T + bias` (`torch.nn.functional.linear`): `x` is
/// `[..., in_features]`, `weight` `[out_features, in_features]` (or `[in_features]`, giving
/// no output dim), `bias` broadcasts against `[..., out_features]`.
///
/// # Panics
/// If `x`'s last dim differs from `weight`'s, with torch's message.
///
/// ```
/// # use cotangent::{Tensor, linear};
/// let x = Tensor::ones(&[4, 3]);
/// let w = Tensor::ones(&[2, 3]);
/// let b = Tensor::new([0.5f32, -0.5]);
/// let y = linear(&x, &w, Some(&b));
/// assert_eq!(y.shape(), &[4, 2]);
/// assert_eq!(y.to_vec::<f32>()[..2], [3.5, 2.5]);
/// ```
#[track_caller]
pub fn linear(x: &Tensor, weight: &Tensor, bias: Option<&Tensor>) -> Tensor {
    try_linear(x, weight, bias).or_raise()
}

impl Tensor {
    /// Matrix product with torch's rules; see [`matmul`].
    #[track_caller]
    pub fn matmul(&self, other: &Tensor) -> Tensor {
        matmul(self, other)
    }

    /// Like [`Tensor::matmul`], returning an error instead of panicking.
    pub fn try_matmul(&self, other: &Tensor) -> Result<Tensor> {
        try_matmul(self, other)
    }

    /// Product of two matrices; see [`mm`].
    #[track_caller]
    pub fn mm(&self, other: &Tensor) -> Tensor {
        mm(self, other)
    }

    /// Batched product of matrices; see [`bmm`].
    #[track_caller]
    pub fn bmm(&self, other: &Tensor) -> Tensor {
        bmm(self, other)
    }

    /// Inner product of two vectors; see [`dot`].
    #[track_caller]
    pub fn dot(&self, other: &Tensor) -> Tensor {
        dot(self, other)
    }

    /// Matrix-vector product; see [`mv`].
    #[track_caller]
    pub fn mv(&self, vec: &Tensor) -> Tensor {
        mv(self, vec)
    }

    /// Outer product of two vectors; see [`outer`].
    #[track_caller]
    pub fn outer(&self, other: &Tensor) -> Tensor {
        outer(self, other)
    }
}

/// Reference `torch.matmul` on plain arrays: vectors become a row (left) or a column
/// (right), batch dims broadcast by numpy's rule, and every output element is a plain loop
/// over the inner index.
fn reference_matmul(a: &RefArray, b: &RefArray) -> RefArray {
    let a2 = if a.shape.len() == 1 {
        RefArray {
            shape: vec![1, a.shape[0]],
            data: a.data.clone(),
        }
    } else {
        a.clone()
    };
    let b2 = if b.shape.len() == 1 {
        RefArray {
            shape: vec![b.shape[0], 1],
            data: b.data.clone(),
        }
    } else {
        b.clone()
    };
    let (ra, rb) = (a2.shape.len(), b2.shape.len());
    let (n, k, m) = (a2.shape[ra - 2], a2.shape[ra - 1], b2.shape[rb - 1]);
    let batch = broadcast_shape(&[&a2.shape[..ra - 2], &b2.shape[..rb - 2]]);
    let mut shape = batch.clone();
    shape.extend([n, m]);
    // Index of a broadcast operand: drop leading batch dims, size-1 dims read 0.
    let pick = |x: &RefArray, bidx: &[usize], i: usize, j: usize| {
        let r = x.shape.len();
        let skip = bidx.len() - (r - 2);
        let mut idx: Vec<usize> = (0..r - 2)
            .map(|d| if x.shape[d] == 1 { 0 } else { bidx[skip + d] })
            .collect();
        idx.extend([i, j]);
        x.get(&idx)
    };
    let full = RefArray::from_fn(&shape, |o| {
        let (bidx, ij) = o.split_at(batch.len());
        (0..k)
            .map(|p| pick(&a2, bidx, ij[0], p) * pick(&b2, bidx, p, ij[1]))
            .sum()
    });
    // Remove the dims a vector operand added.
    let mut out_shape = batch;
    if a.shape.len() > 1 {
        out_shape.push(n);
    }
    if b.shape.len() > 1 {
        out_shape.push(m);
    }
    RefArray {
        shape: out_shape,
        data: full.data,
    }
}

fn pairs(rng: &mut TestRng, shapes: &[(&[usize], &[usize])]) -> Vec<Vec<Tensor>> {
    shapes
        .iter()
        .map(|(a, b)| vec![rng.tensor(a, -1.0, 1.0), rng.tensor(b, -1.0, 1.0)])
        .collect()
}

pub(crate) fn op_info() -> Vec<OpInfo> {
    let matmul_ref = |r: &[RefArray]| reference_matmul(&r[0], &r[1]);
    vec![
        OpInfo::new(
            "matmul",
            |a| matmul(&a[0], &a[1]),
            matmul_ref,
            |rng| {
                pairs(
                    rng,
                    &[
                        (&[4], &[4]),
                        (&[2, 3], &[3, 4]),
                        (&[3], &[3, 4]),
                        (&[2, 3], &[3]),
                        (&[2, 1, 3, 4], &[5, 4, 6]),
                        (&[2, 3, 4], &[4, 5]),
                        (&[3], &[2, 3, 4]),
                        (&[2, 3, 4], &[4]),
                        (&[2, 3, 4], &[2, 4, 5]),
                        (&[3, 4], &[2, 4, 5]),
                        (&[2, 0], &[0, 3]),
                        (&[0, 3], &[3, 4]),
                        (&[2, 3, 0], &[2, 0, 4]),
                        (&[0], &[0]),
                        (&[0, 2, 3], &[3, 4]),
                        (&[9, 7], &[7, 11]),
                    ],
                )
            },
        ),
        OpInfo::new(
            "mm",
            |a| mm(&a[0], &a[1]),
            matmul_ref,
            |rng| {
                pairs(
                    rng,
                    &[
                        (&[2, 3], &[3, 4]),
                        (&[1, 5], &[5, 1]),
                        (&[3, 0], &[0, 2]),
                        (&[0, 2], &[2, 3]),
                    ],
                )
            },
        ),
        OpInfo::new(
            "bmm",
            |a| bmm(&a[0], &a[1]),
            matmul_ref,
            |rng| {
                pairs(
                    rng,
                    &[
                        (&[2, 3, 4], &[2, 4, 5]),
                        (&[1, 2, 2], &[1, 2, 3]),
                        (&[0, 2, 3], &[0, 3, 4]),
                    ],
                )
            },
        ),
        OpInfo::new(
            "dot",
            |a| dot(&a[0], &a[1]),
            matmul_ref,
            |rng| pairs(rng, &[(&[5], &[5]), (&[0], &[0])]),
        ),
        OpInfo::new(
            "mv",
            |a| mv(&a[0], &a[1]),
            matmul_ref,
            |rng| pairs(rng, &[(&[2, 3], &[3]), (&[4, 1], &[1]), (&[0, 3], &[3])]),
        ),
        OpInfo::new(
            "outer",
            |a| outer(&a[0], &a[1]),
            |r| {
                RefArray::from_fn(&[r[0].shape[0], r[1].shape[0]], |i| {
                    r[0].get(&[i[0]]) * r[1].get(&[i[1]])
                })
            },
            |rng| pairs(rng, &[(&[3], &[4]), (&[1], &[2]), (&[0], &[3])]),
        ),
        OpInfo::new(
            "tensordot",
            |a| tensordot(&a[0], &a[1], &[1, -1], &[1, 0]),
            |r| reference_dot_general(&r[0], &r[1], &[1, r[0].shape.len() - 1], &[1, 0], &[], &[]),
            |rng| pairs(rng, &[(&[2, 3, 4], &[4, 3, 5]), (&[1, 2, 3], &[3, 2])]),
        ),
        OpInfo::new(
            "linear",
            |a| linear(&a[0], &a[1], Some(&a[2])),
            |r| {
                let y = reference_dot_general(
                    &r[0],
                    &r[1],
                    &[r[0].shape.len() - 1],
                    &[r[1].shape.len() - 1],
                    &[],
                    &[],
                );
                let shape = broadcast_shape(&[&y.shape, &r[2].shape]);
                RefArray::from_fn(&shape, |i| y.get_broadcast(i) + r[2].get_broadcast(i))
            },
            |rng| {
                vec![
                    vec![
                        rng.tensor(&[2, 3], -1.0, 1.0),
                        rng.tensor(&[4, 3], -1.0, 1.0),
                        rng.tensor(&[4], -1.0, 1.0),
                    ],
                    vec![
                        rng.tensor(&[5, 2, 3], -1.0, 1.0),
                        rng.tensor(&[4, 3], -1.0, 1.0),
                        rng.tensor(&[4], -1.0, 1.0),
                    ],
                    vec![
                        rng.tensor(&[3], -1.0, 1.0),
                        rng.tensor(&[2, 3], -1.0, 1.0),
                        rng.tensor(&[], -1.0, 1.0),
                    ],
                    vec![
                        rng.tensor(&[0, 3], -1.0, 1.0),
                        rng.tensor(&[2, 3], -1.0, 1.0),
                        rng.tensor(&[2], -1.0, 1.0),
                    ],
                ]
            },
        ),
        OpInfo::new(
            "linear_no_bias",
            |a| linear(&a[0], &a[1], None),
            |r| {
                reference_dot_general(
                    &r[0],
                    &r[1],
                    &[r[0].shape.len() - 1],
                    &[r[1].shape.len() - 1],
                    &[],
                    &[],
                )
            },
            |rng| {
                pairs(
                    rng,
                    &[
                        (&[2, 3], &[4, 3]),
                        (&[2, 2, 3], &[3]),
                        (&[4, 0], &[2, 0]),
                        (&[6, 8], &[5, 8]),
                    ],
                )
            },
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(r: Result<Tensor>) -> String {
        r.expect_err("expected an error").to_string()
    }

    #[test]
    fn matmul_errors_follow_torch() {
        let z = Tensor::zeros;
        assert!(
            err(try_matmul(&z(&[2, 3]), &z(&[4, 5])))
                .contains("mat1 and mat2 shapes cannot be multiplied (2x3 and 4x5)")
        );
        assert!(err(try_matmul(&z(&[3]), &z(&[4]))).contains("expected tensor [3] and src [4]"));
        assert!(
            err(try_matmul(&z(&[2, 3]), &z(&[4])))
                .contains("size mismatch, got input (2), mat (2x3), vec (4)")
        );
        assert!(err(try_matmul(&z(&[]), &z(&[4]))).contains("at least 1D, but they are 0D and 1D"));
        assert!(
            err(try_matmul(&z(&[2, 2, 3]), &z(&[3, 3, 4])))
                .contains("The size of tensor a (2) must match")
        );
        assert!(
            err(try_matmul(&z(&[2, 2, 3]), &z(&[2, 4, 4])))
                .contains("batch2 tensor to be: [2, 3] but got: [2, 4]")
        );
        let t = Tensor::full(&[2, 2], 1.0, DType::Bool);
        assert!(err(try_matmul(&t, &t)).contains("'Bool'"));
        assert!(
            err(try_linear(&z(&[2, 3]), &z(&[5, 4]), None))
                .contains("mat1 and mat2 shapes cannot be multiplied (2x3 and 4x5)")
        );
    }

    #[test]
    fn integer_matmul_and_promotion() {
        let a = Tensor::arange(6).reshape(&[2, 3]);
        let b = Tensor::arange(3);
        assert_eq!(matmul(&a, &b).to_vec::<i64>(), vec![5, 14]);
        assert_eq!(matmul(&a, &b).dtype(), DType::I64);
        let f = matmul(&a, &b.to_dtype(DType::F32));
        assert_eq!(f.dtype(), DType::F32);
        assert_eq!(f.to_vec::<f32>(), vec![5.0, 14.0]);
    }

    #[test]
    fn shapes_of_the_torch_cases() {
        let z = Tensor::zeros;
        assert_eq!(matmul(&z(&[3]), &z(&[3])).shape(), &[] as &[usize]);
        assert_eq!(matmul(&z(&[3]), &z(&[2, 3, 4])).shape(), &[2, 4]);
        assert_eq!(
            matmul(&z(&[2, 1, 3, 4]), &z(&[5, 4, 6])).shape(),
            &[2, 5, 3, 6]
        );
        assert_eq!(matmul(&z(&[5, 4, 6]), &z(&[6])).shape(), &[5, 4]);
        assert_eq!(linear(&z(&[3]), &z(&[2, 3]), None).shape(), &[2]);
        assert_eq!(linear(&z(&[7, 3]), &z(&[3]), None).shape(), &[7]);
    }

    #[test]
    fn large_products_match_a_plain_loop() {
        // Big enough for gemm's threaded paths; compared with f64 accumulation.
        let mut rng = TestRng::new(3);
        for (n, k, m) in [(150, 170, 160), (1, 300, 2), (64, 1, 64)] {
            let a = rng.tensor(&[n, k], -1.0, 1.0);
            let b = rng.tensor(&[m, k], -1.0, 1.0);
            let got = matmul(&a, &b.t()).to_vec::<f64>();
            let (av, bv) = (a.to_vec::<f64>(), b.to_vec::<f64>());
            for i in (0..n).step_by(7) {
                for j in (0..m).step_by(5) {
                    let want: f64 = (0..k).map(|p| av[i * k + p] * bv[j * k + p]).sum();
                    assert!(
                        (got[i * m + j] - want).abs() < 1e-10,
                        "({n},{k},{m}) at ({i},{j})"
                    );
                }
            }
        }
    }
}
