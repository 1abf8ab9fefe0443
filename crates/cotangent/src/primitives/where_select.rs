//! `where`: elementwise selection, `condition ? input : other` (`torch.where`). The
//! derivative flows to `input` where the condition holds and to `other` elsewhere; the
//! bool condition gets none.
//!
//! The file is not `where.rs` because `where` is a Rust keyword; the public function is
//! [`where_`].

use super::frontend::{promote_and_broadcast, result_type, try_broadcast_shapes};
use super::rules::vmap_elementwise;
use super::{Aval, AvalRef, Primitive, Residuals, Save};
use crate::array::backend;
use crate::array::{Array, DType};
use crate::error::{Error, Result, OrRaise};
use crate::testing::{OpInfo, RefArray, S, TestRng, XS, broadcast_shape};
use crate::trace::{Tensor, bind};

/// Select between two arrays of one shape and dtype by a bool array of the same shape.
#[derive(Clone, Debug)]
pub(crate) struct Where;

/// torch's short dtype name, as its `where` message spells it.
fn scalar_type_name(dtype: DType) -> &'static str {
    match dtype {
        DType::Bool => "Bool",
        DType::I64 => "Long",
        DType::F32 => "Float",
        DType::F64 => "Double",
    }
}

/// The condition must be bool (torch's wording).
fn check_condition(dtype: DType) -> Result<()> {
    if dtype != DType::Bool {
        return Err(Error::dtype(
            "where",
            format!(
                "expected condition to be a boolean tensor, but got a tensor with dtype {}; \
                 compare first (e.g. x.gt_scalar(0.0)) or use .to_dtype(DType::Bool)",
                scalar_type_name(dtype)
            ),
        ));
    }
    Ok(())
}

impl Primitive for Where {
    fn name(&self) -> &'static str {
        "where"
    }

    fn shape_rule(&self, inputs: &[AvalRef<'_>]) -> Result<Aval> {
        let (c, x, y) = (inputs[0], inputs[1], inputs[2]);
        check_condition(c.dtype)?;
        if c.shape != x.shape || x.shape != y.shape || x.dtype != y.dtype {
            return Err(Error::dtype(
                "where",
                format!(
                    "internal: primitive operands must have equal shapes and equal value \
                     dtypes, got condition {:?}, input {:?} {}, other {:?} {}",
                    c.shape, x.shape, x.dtype, y.shape, y.dtype
                ),
            ));
        }
        Ok(Aval::new(x.shape, x.dtype))
    }

    fn eval(&self, inputs: &[&Array], _out: &Aval) -> Array {
        backend::select(inputs[0], inputs[1], inputs[2])
    }

    fn jvp(&self, primals: &[Tensor], _: &Tensor, tangents: &[Option<Tensor>]) -> Option<Tensor> {
        let c = &primals[0];
        match (&tangents[1], &tangents[2]) {
            (Some(tx), Some(ty)) => Some(bind(Where, &[c, tx, ty])),
            (Some(tx), None) => Some(where_(c, tx, &zero(tx))),
            (None, Some(ty)) => Some(where_(c, &zero(ty), ty)),
            (None, None) => None,
        }
    }

    fn saves(&self) -> Save {
        Save::inputs(&[0])
    }

    fn vjp(&self, res: &Residuals, cotangent: &Tensor, needed: &[bool]) -> Vec<Option<Tensor>> {
        let c = res.input(0);
        let wanted = |i: usize| needed[i] && res.dtype(i).is_float();
        vec![
            None,
            wanted(1).then(|| where_(c, cotangent, &zero(cotangent))),
            wanted(2).then(|| where_(c, &zero(cotangent), cotangent)),
        ]
    }

    fn vmap(
        &self,
        inputs: &[Tensor],
        axes: &[Option<usize>],
        size: usize,
    ) -> (Tensor, Option<usize>) {
        vmap_elementwise(inputs, axes, size, |x| bind(Where, &[&x[0], &x[1], &x[2]]))
    }
}

/// A 0-d zero of `t`'s dtype (`where_` broadcasts it, a view).
fn zero(t: &Tensor) -> Tensor {
    Tensor::scalar_of(0.0, t.dtype())
}

/// Elementwise `condition ? input : other` (`torch.where(condition, input, other)`). All
/// three broadcast together; `input` and `other` are promoted to their common dtype.
///
/// # Panics
/// If `condition` is not bool (torch: "where expected condition to be a boolean tensor,
/// but got a tensor with dtype Float"), or if the shapes cannot be broadcast.
///
/// ```
/// # use cotangent::{Tensor, where_};
/// let x = Tensor::from_slice(&[-1.0f32, 2.0, -3.0], &[3]).unwrap();
/// let y = where_(&x.gt_scalar(0.0), &x, &Tensor::scalar(0.0f32));
/// assert_eq!(y.to_vec::<f32>(), vec![0.0, 2.0, 0.0]);
/// ```
#[track_caller]
pub fn where_(condition: &Tensor, input: &Tensor, other: &Tensor) -> Tensor {
    check_condition(condition.dtype()).or_raise();
    let dtype = result_type(input, other);
    let shape = try_broadcast_shapes("where", condition.shape(), input.shape())
        .and_then(|s| try_broadcast_shapes("where", &s, other.shape()))
        .or_raise();
    let (c, x, y) = (
        promote_and_broadcast(
            "where",
            &super::frontend::beside(condition, &[input, other]),
            DType::Bool,
            &shape,
        ),
        promote_and_broadcast(
            "where",
            &super::frontend::beside(input, &[condition, other]),
            dtype,
            &shape,
        ),
        promote_and_broadcast(
            "where",
            &super::frontend::beside(other, &[condition, input]),
            dtype,
            &shape,
        ),
    );
    bind(Where, &[&c, &x, &y])
}

impl Tensor {
    /// Elementwise `condition ? self : other` (torch's `x.where(condition, other)`); see
    /// [`where_`].
    ///
    /// ```
    /// # use cotangent::Tensor;
    /// let x = Tensor::from_slice(&[-1.0f32, 2.0], &[2]).unwrap();
    /// let y = x.where_cond(&x.lt_scalar(0.0), &Tensor::scalar(9.0f32));
    /// assert_eq!(y.to_vec::<f32>(), vec![-1.0, 9.0]);
    /// ```
    #[track_caller]
    pub fn where_cond(&self, condition: &Tensor, other: &Tensor) -> Tensor {
        where_(condition, self, other)
    }
}

fn reference(r: &[RefArray]) -> RefArray {
    let shape = broadcast_shape(&[&r[0].shape, &r[1].shape, &r[2].shape]);
    RefArray::from_fn(&shape, |i| {
        if r[0].get_broadcast(i) != 0.0 {
            r[1].get_broadcast(i)
        } else {
            r[2].get_broadcast(i)
        }
    })
}

/// Samples `(condition, input, other)` over broadcasting shape triples; `other` from `gen`.
fn samples(rng: &mut TestRng, other: fn(&mut TestRng, &[usize]) -> Tensor) -> Vec<Vec<Tensor>> {
    let triples: [(&[usize], &[usize], &[usize]); 7] = [
        (&[S], &[S], &[S]),
        (&[XS, S], &[S], &[]),
        (&[XS, 1], &[1, S], &[S]),
        (&[], &[XS, S], &[XS, 1]),
        (&[0, XS], &[XS], &[1]),
        (&[2, 1, 4], &[XS, 1], &[2, XS, 4]),
        (&[2, XS, 4], &[2, XS, 4], &[2, XS, 4]),
    ];
    triples
        .iter()
        .map(|(c, x, y)| {
            let cond = rng.indices(c, 2).to_dtype(DType::Bool);
            vec![cond, rng.tensor(x, -2.0, 2.0), other(rng, y)]
        })
        .collect()
}

pub(crate) fn op_info() -> Vec<OpInfo> {
    let call = |a: &[Tensor]| where_(&a[0], &a[1], &a[2]);
    vec![
        OpInfo::new("where", call, reference, |rng| {
            samples(rng, |rng, s| rng.tensor(s, -2.0, 2.0))
        }),
        // A float input with an integer other: promoted to the float dtype.
        OpInfo::new("where_i64_other", call, reference, |rng| {
            samples(rng, |rng, s| &rng.indices(s, 5) - 2i64)
        }),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn condition_must_be_bool() {
        let x = Tensor::zeros(&[2]);
        let msg = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| where_(&x, &x, &x)))
            .unwrap_err();
        let msg = msg.downcast_ref::<String>().unwrap();
        assert!(
            msg.contains(
                "expected condition to be a boolean tensor, but got a tensor with dtype Float"
            ),
            "{msg}"
        );
    }

    #[test]
    fn promotes_like_torch() {
        let c = Tensor::from_slice(&[true, false], &[2]).unwrap();
        let x = Tensor::from_slice(&[1i64, 2], &[2]).unwrap();
        assert_eq!(where_(&c, &x, &Tensor::scalar(0.5f32)).dtype(), DType::F32);
        assert_eq!(where_(&c, &x, &Tensor::scalar(0.5f64)).dtype(), DType::F64);
        assert_eq!(where_(&c, &x, &Tensor::scalar(0i64)).dtype(), DType::I64);
    }
}
