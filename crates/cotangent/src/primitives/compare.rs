//! Comparisons `eq`, `ne`, `lt`, `le`, `gt`, `ge`: elementwise, with a bool output. NaN
//! compares unequal to everything, itself included, so only `ne` is true for it. The
//! output is bool, so they have no derivative (transforms treat them as constants).
//!
//! The operands are promoted to their common dtype first (`torch.result_type`), so an
//! `i64` tensor compared with an `f32` tensor is compared in `f32`.

use super::binary::{equal_avals, int_samples, repeating_float_samples, sampled_op_info};
use super::frontend::binary_operands;
use super::rules::vmap_elementwise;
use super::{Aval, AvalRef, Primitive, Residuals, Save};
use crate::array::backend::{self, Comparison};
use crate::array::{Array, DType};
use crate::error::Result;
use crate::testing::{OpInfo, RefArray, S, TestRng, XS};
use crate::trace::{Tensor, bind};

/// An elementwise comparison on equal shapes and dtypes.
#[derive(Clone, Debug)]
pub(crate) struct Compare {
    pub(crate) op: Comparison,
}

/// torch's name for a comparison.
fn op_name(op: Comparison) -> &'static str {
    match op {
        Comparison::Eq => "eq",
        Comparison::Ne => "ne",
        Comparison::Lt => "lt",
        Comparison::Le => "le",
        Comparison::Gt => "gt",
        Comparison::Ge => "ge",
    }
}

impl Primitive for Compare {
    fn name(&self) -> &'static str {
        op_name(self.op)
    }

    fn shape_rule(&self, inputs: &[AvalRef<'_>]) -> Result<Aval> {
        equal_avals(self.name(), inputs[0], inputs[1])?;
        Ok(Aval::new(inputs[0].shape, DType::Bool))
    }

    fn eval(&self, inputs: &[&Array], _out: &Aval) -> Array {
        backend::compare(inputs[0], inputs[1], self.op)
    }

    // Bool output: no derivative.
    fn jvp(&self, _: &[Tensor], _: &Tensor, _: &[Option<Tensor>]) -> Option<Tensor> {
        None
    }

    fn saves(&self) -> Save {
        Save::NOTHING
    }

    fn vjp(&self, _: &Residuals, _: &Tensor, _: &[bool]) -> Vec<Option<Tensor>> {
        vec![None, None]
    }

    fn vmap(
        &self,
        inputs: &[Tensor],
        axes: &[Option<usize>],
        size: usize,
    ) -> (Tensor, Option<usize>) {
        vmap_elementwise(inputs, axes, size, |x| bind(self.clone(), &[&x[0], &x[1]]))
    }
}

/// `a op b` after torch's promotion and broadcasting.
#[track_caller]
fn compare(op: Comparison, a: &Tensor, b: &Tensor) -> Tensor {
    if a.shape() == b.shape() && a.dtype() == b.dtype() {
        return bind(Compare { op }, &[a, b]);
    }
    let (a, b) = binary_operands(op_name(op), a, b, None);
    bind(Compare { op }, &[&a, &b])
}

/// A float scalar as the 0-d operand torch would use against `t`.
fn scalar_operand(t: &Tensor, value: f64) -> Tensor {
    Tensor::wrapped_scalar(value, DType::result_type_with_scalar(t.dtype(), true))
}

/// Elementwise `a == b` with broadcasting and type promotion (`torch.eq`); a bool
/// tensor.
///
/// ```
/// # use cotangent::{Tensor, eq};
/// let a = Tensor::from_slice(&[1.0f32, 2.0, 3.0], &[3]).unwrap();
/// assert_eq!(eq(&a, &Tensor::scalar(2.0f32)).to_vec::<bool>(), vec![false, true, false]);
/// ```
#[track_caller]
pub fn eq(a: &Tensor, b: &Tensor) -> Tensor {
    compare(Comparison::Eq, a, b)
}

/// Elementwise `a != b` with broadcasting and type promotion (`torch.ne`); a bool
/// tensor.
///
/// ```
/// # use cotangent::{Tensor, ne};
/// let a = Tensor::from_slice(&[1.0f32, 2.0, 3.0], &[3]).unwrap();
/// assert_eq!(ne(&a, &Tensor::scalar(2.0f32)).to_vec::<bool>(), vec![true, false, true]);
/// ```
#[track_caller]
pub fn ne(a: &Tensor, b: &Tensor) -> Tensor {
    compare(Comparison::Ne, a, b)
}

/// Elementwise `a < b` with broadcasting and type promotion (`torch.lt`); a bool
/// tensor.
///
/// ```
/// # use cotangent::{Tensor, lt};
/// let a = Tensor::from_slice(&[1.0f32, 2.0, 3.0], &[3]).unwrap();
/// assert_eq!(lt(&a, &Tensor::scalar(2.0f32)).to_vec::<bool>(), vec![true, false, false]);
/// ```
#[track_caller]
pub fn lt(a: &Tensor, b: &Tensor) -> Tensor {
    compare(Comparison::Lt, a, b)
}

/// Elementwise `a <= b` with broadcasting and type promotion (`torch.le`); a bool
/// tensor.
///
/// ```
/// # use cotangent::{Tensor, le};
/// let a = Tensor::from_slice(&[1.0f32, 2.0, 3.0], &[3]).unwrap();
/// assert_eq!(le(&a, &Tensor::scalar(2.0f32)).to_vec::<bool>(), vec![true, true, false]);
/// ```
#[track_caller]
pub fn le(a: &Tensor, b: &Tensor) -> Tensor {
    compare(Comparison::Le, a, b)
}

/// Elementwise `a > b` with broadcasting and type promotion (`torch.gt`); a bool
/// tensor.
///
/// ```
/// # use cotangent::{Tensor, gt};
/// let a = Tensor::from_slice(&[1.0f32, 2.0, 3.0], &[3]).unwrap();
/// assert_eq!(gt(&a, &Tensor::scalar(2.0f32)).to_vec::<bool>(), vec![false, false, true]);
/// ```
#[track_caller]
pub fn gt(a: &Tensor, b: &Tensor) -> Tensor {
    compare(Comparison::Gt, a, b)
}

/// Elementwise `a >= b` with broadcasting and type promotion (`torch.ge`); a bool
/// tensor.
///
/// ```
/// # use cotangent::{Tensor, ge};
/// let a = Tensor::from_slice(&[1.0f32, 2.0, 3.0], &[3]).unwrap();
/// assert_eq!(ge(&a, &Tensor::scalar(2.0f32)).to_vec::<bool>(), vec![false, true, true]);
/// ```
#[track_caller]
pub fn ge(a: &Tensor, b: &Tensor) -> Tensor {
    compare(Comparison::Ge, a, b)
}

impl Tensor {
    /// Elementwise `self == other`; see [`eq`].
    #[track_caller]
    pub fn eq(&self, other: &Tensor) -> Tensor {
        eq(self, other)
    }

    /// Elementwise `self == value` for a float scalar (torch's `x == 2.0`): true where
    /// the element is equal to `value`. Integer tensors are compared in `f32`, as torch does.
    ///
    /// ```
    /// # use cotangent::Tensor;
    /// let x = Tensor::from_slice(&[1.0f32, 2.0, 3.0], &[3]).unwrap();
    /// assert_eq!(x.eq_scalar(2.0).to_vec::<bool>(), vec![false, true, false]);
    /// ```
    #[track_caller]
    pub fn eq_scalar(&self, value: f64) -> Tensor {
        compare(Comparison::Eq, self, &scalar_operand(self, value))
    }

    /// Elementwise `self != other`; see [`ne`].
    #[track_caller]
    pub fn ne(&self, other: &Tensor) -> Tensor {
        ne(self, other)
    }

    /// Elementwise `self != value` for a float scalar (torch's `x != 2.0`): true where
    /// the element is not equal to `value`. Integer tensors are compared in `f32`, as torch does.
    ///
    /// ```
    /// # use cotangent::Tensor;
    /// let x = Tensor::from_slice(&[1.0f32, 2.0, 3.0], &[3]).unwrap();
    /// assert_eq!(x.ne_scalar(2.0).to_vec::<bool>(), vec![true, false, true]);
    /// ```
    #[track_caller]
    pub fn ne_scalar(&self, value: f64) -> Tensor {
        compare(Comparison::Ne, self, &scalar_operand(self, value))
    }

    /// Elementwise `self < other`; see [`lt`].
    #[track_caller]
    pub fn lt(&self, other: &Tensor) -> Tensor {
        lt(self, other)
    }

    /// Elementwise `self < value` for a float scalar (torch's `x < 2.0`): true where
    /// the element is less than `value`. Integer tensors are compared in `f32`, as torch does.
    ///
    /// ```
    /// # use cotangent::Tensor;
    /// let x = Tensor::from_slice(&[1.0f32, 2.0, 3.0], &[3]).unwrap();
    /// assert_eq!(x.lt_scalar(2.0).to_vec::<bool>(), vec![true, false, false]);
    /// ```
    #[track_caller]
    pub fn lt_scalar(&self, value: f64) -> Tensor {
        compare(Comparison::Lt, self, &scalar_operand(self, value))
    }

    /// Elementwise `self <= other`; see [`le`].
    #[track_caller]
    pub fn le(&self, other: &Tensor) -> Tensor {
        le(self, other)
    }

    /// Elementwise `self <= value` for a float scalar (torch's `x <= 2.0`): true where
    /// the element is less than or equal to `value`. Integer tensors are compared in `f32`, as torch does.
    ///
    /// ```
    /// # use cotangent::Tensor;
    /// let x = Tensor::from_slice(&[1.0f32, 2.0, 3.0], &[3]).unwrap();
    /// assert_eq!(x.le_scalar(2.0).to_vec::<bool>(), vec![true, true, false]);
    /// ```
    #[track_caller]
    pub fn le_scalar(&self, value: f64) -> Tensor {
        compare(Comparison::Le, self, &scalar_operand(self, value))
    }

    /// Elementwise `self > other`; see [`gt`].
    #[track_caller]
    pub fn gt(&self, other: &Tensor) -> Tensor {
        gt(self, other)
    }

    /// Elementwise `self > value` for a float scalar (torch's `x > 2.0`): true where
    /// the element is greater than `value`. Integer tensors are compared in `f32`, as torch does.
    ///
    /// ```
    /// # use cotangent::Tensor;
    /// let x = Tensor::from_slice(&[1.0f32, 2.0, 3.0], &[3]).unwrap();
    /// assert_eq!(x.gt_scalar(2.0).to_vec::<bool>(), vec![false, false, true]);
    /// ```
    #[track_caller]
    pub fn gt_scalar(&self, value: f64) -> Tensor {
        compare(Comparison::Gt, self, &scalar_operand(self, value))
    }

    /// Elementwise `self >= other`; see [`ge`].
    #[track_caller]
    pub fn ge(&self, other: &Tensor) -> Tensor {
        ge(self, other)
    }

    /// Elementwise `self >= value` for a float scalar (torch's `x >= 2.0`): true where
    /// the element is greater than or equal to `value`. Integer tensors are compared in `f32`, as torch does.
    ///
    /// ```
    /// # use cotangent::Tensor;
    /// let x = Tensor::from_slice(&[1.0f32, 2.0, 3.0], &[3]).unwrap();
    /// assert_eq!(x.ge_scalar(2.0).to_vec::<bool>(), vec![false, true, true]);
    /// ```
    #[track_caller]
    pub fn ge_scalar(&self, value: f64) -> Tensor {
        compare(Comparison::Ge, self, &scalar_operand(self, value))
    }
}

fn as_f64(b: bool) -> f64 {
    if b { 1.0 } else { 0.0 }
}

/// Floats from {-1, 0, 1, NaN}.
fn with_nans(rng: &mut TestRng, shape: &[usize]) -> Tensor {
    let values = repeating_float_samples(rng, shape).to_vec::<f64>();
    let values = values
        .into_iter()
        .map(|x| if x.abs() == 2.0 { f64::NAN } else { x })
        .collect();
    Tensor::from_vec(values, shape).expect("same length")
}

/// The table entries of one comparison: floats with ties, NaNs, integers, an integer
/// tensor against a float one (promotion), and the scalar form against 1.
fn entries(
    name: &str,
    op: fn(&Tensor, &Tensor) -> Tensor,
    f: fn(f64, f64) -> f64,
    scalar_op: fn(&Tensor) -> Tensor,
    scalar_f: fn(f64) -> f64,
) -> Vec<OpInfo> {
    let ints = |rng: &mut TestRng, s: &[usize]| int_samples(rng, s, -2, 3);
    vec![
        sampled_op_info(
            name,
            op,
            f,
            repeating_float_samples,
            repeating_float_samples,
        )
        .out_dtype(DType::Bool),
        sampled_op_info(&format!("{name}_nan"), op, f, with_nans, with_nans).out_dtype(DType::Bool),
        sampled_op_info(&format!("{name}_i64"), op, f, ints, ints)
            .dtypes(&[DType::I64])
            .out_dtype(DType::Bool),
        sampled_op_info(
            &format!("{name}_i64_float"),
            op,
            f,
            ints,
            repeating_float_samples,
        )
        .out_dtype(DType::Bool),
        OpInfo::new(
            &format!("{name}_scalar"),
            move |a| scalar_op(&a[0]),
            move |r| RefArray {
                shape: r[0].shape.clone(),
                data: r[0].data.iter().map(|&x| scalar_f(x)).collect(),
            },
            |rng| {
                [&[][..], &[S], &[XS, S], &[0, XS]]
                    .iter()
                    .map(|s| vec![repeating_float_samples(rng, s)])
                    .collect()
            },
        )
        .out_dtype(DType::Bool),
    ]
}

pub(crate) fn op_info() -> Vec<OpInfo> {
    [
        entries(
            "eq",
            eq,
            |x, y| as_f64(x == y),
            |x| x.eq_scalar(1.0),
            |x| as_f64(x == 1.0),
        ),
        entries(
            "ne",
            ne,
            |x, y| as_f64(x != y),
            |x| x.ne_scalar(1.0),
            |x| as_f64(x != 1.0),
        ),
        entries(
            "lt",
            lt,
            |x, y| as_f64(x < y),
            |x| x.lt_scalar(1.0),
            |x| as_f64(x < 1.0),
        ),
        entries(
            "le",
            le,
            |x, y| as_f64(x <= y),
            |x| x.le_scalar(1.0),
            |x| as_f64(x <= 1.0),
        ),
        entries(
            "gt",
            gt,
            |x, y| as_f64(x > y),
            |x| x.gt_scalar(1.0),
            |x| as_f64(x > 1.0),
        ),
        entries(
            "ge",
            ge,
            |x, y| as_f64(x >= y),
            |x| x.ge_scalar(1.0),
            |x| as_f64(x >= 1.0),
        ),
    ]
    .into_iter()
    .flatten()
    .collect()
}
