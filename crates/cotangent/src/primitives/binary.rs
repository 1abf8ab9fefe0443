//! Shared machinery for elementwise binary primitives (add, sub, mul, div, pow, maximum, ...).
//!
//! A binary primitive file declares its kernel ([`BinaryKernel`]); [`Binary<K>`] is the
//! primitive on equal shapes and dtypes, and [`apply`] is the frontend that promotes and
//! broadcasts first.

use std::fmt;
use std::marker::PhantomData;

use super::frontend::binary_operands;
use super::rules::vmap_elementwise;
use super::{Aval, AvalRef, Primitive, Residuals, Save};
use crate::array::backend::{self, BinaryKernel};
use crate::array::{Array, DType};
use crate::error::{Error, Result};
use crate::testing::{OpInfo, RefArray, S, TestRng, XS, broadcast_shape};
use crate::trace::{Tensor, bind};

/// What a binary primitive file declares beyond its kernel.
pub(crate) trait BinaryOp: BinaryKernel + Send + Sync {
    /// Integer (and bool) operands are promoted to the default float dtype first (torch's
    /// true division: `torch.arange(3) / 2` is float32).
    const INT_TO_FLOAT: bool = false;
    /// What `vjp` reads (inputs `[a, b]`, output).
    const SAVE: Save;
    /// Tangent of the output from the operands' tangents (`None` = zero).
    fn jvp(
        a: &Tensor,
        b: &Tensor,
        out: &Tensor,
        a_dot: Option<&Tensor>,
        b_dot: Option<&Tensor>,
    ) -> Option<Tensor>;
    /// Cotangents of `[a, b]` where `needed`.
    fn vjp(res: &Residuals, out_bar: &Tensor, needed: &[bool]) -> [Option<Tensor>; 2];
}

/// `impl BinaryOp` for a kernel with a bool output (the logical ops): no derivative, nothing
/// saved. Spelled out per op, so a primitive without rules still does not compile.
macro_rules! bool_output_binary_op {
    ($kernel:ty) => {
        impl $crate::primitives::binary::BinaryOp for $kernel {
            const SAVE: $crate::primitives::Save = $crate::primitives::Save::NOTHING;
            fn jvp(
                _: &Tensor,
                _: &Tensor,
                _: &Tensor,
                _: Option<&Tensor>,
                _: Option<&Tensor>,
            ) -> Option<Tensor> {
                None
            }
            fn vjp(
                _: &$crate::primitives::Residuals,
                _: &Tensor,
                _: &[bool],
            ) -> [Option<Tensor>; 2] {
                [None, None]
            }
        }
    };
}
pub(crate) use bool_output_binary_op;

/// The primitive for kernel `K` on equal shapes and dtypes.
pub(crate) struct Binary<K>(PhantomData<fn() -> K>);

impl<K> Binary<K> {
    pub(crate) fn new() -> Self {
        Binary(PhantomData)
    }
}

impl<K> Clone for Binary<K> {
    fn clone(&self) -> Self {
        Binary(PhantomData)
    }
}

impl<K: BinaryOp> fmt::Debug for Binary<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(K::NAME)
    }
}

/// Checks shared by every binary primitive: equal shapes and dtypes (the frontend's job, so
/// a failure here is an internal error).
pub(crate) fn equal_avals(op: &'static str, a: AvalRef<'_>, b: AvalRef<'_>) -> Result<()> {
    if a.shape != b.shape || a.dtype != b.dtype {
        return Err(Error::dtype(
            op,
            format!(
                "internal: primitive operands must have equal shapes and dtypes, got {:?} {} and {:?} {}",
                a.shape, a.dtype, b.shape, b.dtype
            ),
        ));
    }
    Ok(())
}

impl<K: BinaryOp> Primitive for Binary<K> {
    fn name(&self) -> &'static str {
        K::NAME
    }

    fn shape_rule(&self, inputs: &[AvalRef<'_>]) -> Result<Aval> {
        let (a, b) = (inputs[0], inputs[1]);
        equal_avals(K::NAME, a, b)?;
        let ok = match a.dtype {
            DType::F32 | DType::F64 => true,
            DType::I64 => K::INT.is_some(),
            DType::Bool => K::BOOL.is_some(),
        };
        if !ok {
            return Err(Error::dtype(
                K::NAME,
                format!(
                    "not implemented for '{}'; cast the operands with .to_dtype() first",
                    a.dtype
                ),
            ));
        }
        Ok(Aval::new(a.shape, a.dtype))
    }

    fn eval(&self, inputs: &[&Array], _out: &Aval) -> Array {
        backend::binary::<K>(inputs[0], inputs[1])
    }

    fn jvp(
        &self,
        primals: &[Tensor],
        output: &Tensor,
        tangents: &[Option<Tensor>],
    ) -> Option<Tensor> {
        K::jvp(
            &primals[0],
            &primals[1],
            output,
            tangents[0].as_ref(),
            tangents[1].as_ref(),
        )
    }

    fn saves(&self) -> Save {
        K::SAVE
    }

    fn vjp(&self, res: &Residuals, cotangent: &Tensor, needed: &[bool]) -> Vec<Option<Tensor>> {
        K::vjp(res, cotangent, needed).into()
    }

    fn vmap(
        &self,
        inputs: &[Tensor],
        axes: &[Option<usize>],
        size: usize,
    ) -> (Tensor, Option<usize>) {
        vmap_elementwise(inputs, axes, size, |x| {
            bind(Binary::<K>::new(), &[&x[0], &x[1]])
        })
    }
}

/// `K(a, b)` with torch's promotion and broadcasting.
#[track_caller]
pub(crate) fn apply<K: BinaryOp>(a: &Tensor, b: &Tensor) -> Tensor {
    // Fast path: the common case of equal shapes and dtypes needs no frontend work.
    if a.shape() == b.shape()
        && a.dtype() == b.dtype()
        && (a.dtype().is_float() || !K::INT_TO_FLOAT)
    {
        return bind(Binary::<K>::new(), &[a, b]);
    }
    let mut force = None;
    if K::INT_TO_FLOAT && !super::frontend::result_type(a, b).is_float() {
        force = Some(DType::F32);
    }
    let (a, b) = binary_operands(K::NAME, a, b, force);
    bind(Binary::<K>::new(), &[&a, &b])
}

/// A sample generator for one operand of a given shape.
pub(crate) type OperandFn = fn(&mut TestRng, &[usize]) -> Tensor;

/// An op-table entry for a broadcasting binary op whose operands come from `gen_a` and
/// `gen_b` (integer, bool, or floats with repeats), over the same shape pairs as
/// [`OpInfo::binary`]. Integer and bool samples are kept by the harness, so callers set
/// `.dtypes()` and `.out_dtype()` to match.
pub(crate) fn sampled_op_info(
    name: &str,
    op: fn(&Tensor, &Tensor) -> Tensor,
    f: fn(f64, f64) -> f64,
    gen_a: OperandFn,
    gen_b: OperandFn,
) -> OpInfo {
    OpInfo::new(
        name,
        move |a| op(&a[0], &a[1]),
        move |r| {
            let shape = broadcast_shape(&[&r[0].shape, &r[1].shape]);
            RefArray::from_fn(&shape, |i| f(r[0].get_broadcast(i), r[1].get_broadcast(i)))
        },
        move |rng| {
            let pairs: [(&[usize], &[usize]); 7] = [
                (&[S], &[S]),
                (&[XS, S], &[S]),
                (&[XS, 1], &[1, S]),
                (&[], &[XS, S]),
                (&[XS, S], &[]),
                (&[0, XS], &[XS]),
                (&[2, XS, 4], &[2, XS, 4]),
            ];
            pairs
                .iter()
                .map(|(a, b)| vec![gen_a(rng, a), gen_b(rng, b)])
                .collect()
        },
    )
}

/// `i64` samples in `[lo, hi)`.
pub(crate) fn int_samples(rng: &mut TestRng, shape: &[usize], lo: i64, hi: i64) -> Tensor {
    &rng.indices(shape, (hi - lo) as usize) + lo
}

/// Bool samples, about half true.
pub(crate) fn bool_samples(rng: &mut TestRng, shape: &[usize]) -> Tensor {
    rng.indices(shape, 2).to_dtype(DType::Bool)
}

/// `f64` samples from {-2, -1, 0, 1, 2}, so that zeros and equal pairs occur (for
/// comparisons and logical ops).
pub(crate) fn repeating_float_samples(rng: &mut TestRng, shape: &[usize]) -> Tensor {
    int_samples(rng, shape, -2, 3).to_dtype(DType::F64)
}
