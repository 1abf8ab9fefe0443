//! Element types: the four dtypes cotangent stores, and torch's promotion rules between them.

use std::fmt;

use crate::error::Error;

/// The element type of an array. `F32` is the default, as in torch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DType {
    /// `torch.bool`
    Bool,
    /// `torch.int64` (torch's default integer type)
    I64,
    /// `torch.float32` (the default floating type)
    F32,
    /// `torch.float64`
    F64,
}

impl DType {
    /// `true` for `F32` and `F64`.
    pub fn is_float(self) -> bool {
        matches!(self, DType::F32 | DType::F64)
    }

    /// Bytes per element.
    pub fn size_of(self) -> usize {
        match self {
            DType::Bool => 1,
            DType::I64 | DType::F64 => 8,
            DType::F32 => 4,
        }
    }

    /// torch's spelling, for messages: `torch.float32`.
    pub fn torch_name(self) -> &'static str {
        match self {
            DType::Bool => "torch.bool",
            DType::I64 => "torch.int64",
            DType::F32 => "torch.float32",
            DType::F64 => "torch.float64",
        }
    }

    /// The category torch promotes by: bool < integer < floating.
    fn category(self) -> u8 {
        match self {
            DType::Bool => 0,
            DType::I64 => 1,
            DType::F32 | DType::F64 => 2,
        }
    }

    /// The dtype that holds both `self` and `other` (torch.promote_types).
    pub fn promote(self, other: DType) -> DType {
        self.max(other)
    }

    /// torch.result_type for two tensor operands, with 0-d tensors at lower priority:
    /// a 0-d operand only changes the result when it is of a higher category
    /// (`f32 tensor + f64 0-d tensor` is `f32`; `i64 tensor + f32 0-d tensor` is `f32`).
    pub fn result_type(a: DType, a_is_0d: bool, b: DType, b_is_0d: bool) -> DType {
        match (a_is_0d, b_is_0d) {
            (false, true) => Self::with_lower_priority(a, b),
            (true, false) => Self::with_lower_priority(b, a),
            _ => a.promote(b),
        }
    }

    /// Promotion of a dimensioned operand `dim` with a 0-d or scalar operand `low`.
    fn with_lower_priority(dim: DType, low: DType) -> DType {
        if low.category() > dim.category() {
            // torch: an integer tensor with a float scalar takes the default float dtype,
            // unless the scalar operand is a 0-d f64 tensor (then f64 wins as a tensor dtype).
            if low.is_float() && !dim.is_float() {
                low
            } else {
                low.max(dim)
            }
        } else {
            dim
        }
    }

    /// torch.result_type(tensor, python_scalar): a Rust `f64` literal counts as a float
    /// scalar (default dtype f32 when the tensor is integral), an `i64` as an integer scalar.
    pub fn result_type_with_scalar(tensor: DType, scalar_is_float: bool) -> DType {
        match (tensor.category(), scalar_is_float) {
            (2, _) => tensor,
            (_, true) => DType::F32,
            (1, false) => tensor,
            (_, false) => DType::I64,
        }
    }
}

impl DType {
    /// Check that the float `value` converts to `self` without overflow, as torch checks a
    /// Python scalar it stores into a tensor (`full`, `fill_`, `pad`'s value,
    /// `scalar_tensor`): NaN, ±inf and values outside `[-2⁶³, 2⁶³)` do not fit `i64`, finite
    /// values beyond ±`f32::MAX` do not fit `f32`; everything fits `f64` and bool (`!= 0`).
    /// Fractions are fine: they truncate toward zero, as in torch.
    ///
    /// # Errors
    /// [`Error::Value`] naming `op`, the value and the dtype (torch: "value cannot be converted
    /// to type int64_t without overflow").
    pub(crate) fn check_scalar(self, op: &'static str, value: f64) -> Result<(), Error> {
        // 2⁶³ is exact in f64; i64::MAX is not, so the upper bound is exclusive.
        const TWO_POW_63: f64 = 9_223_372_036_854_775_808.0;
        let (fits, range) = match self {
            DType::I64 => (
                (-TWO_POW_63..TWO_POW_63).contains(&value),
                "integers from -2^63 to 2^63 - 1",
            ),
            DType::F32 => (
                !value.is_finite() || value.abs() <= f32::MAX as f64,
                "finite values up to ±3.4028235e38, and ±inf and NaN",
            ),
            DType::F64 | DType::Bool => (true, ""),
        };
        if fits {
            return Ok(());
        }
        Err(Error::value(
            op,
            format!(
                "value {value:e} cannot be converted to type {self} without overflow \
                 ({self} holds {range}); use a value in that range or a wider dtype"
            ),
        ))
    }
}

impl fmt::Display for DType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.torch_name())
    }
}

/// A Rust type that can be an array element.
pub trait Element:
    Copy + Send + Sync + PartialOrd + PartialEq + fmt::Debug + Default + 'static
{
    /// Its dtype.
    const DTYPE: DType;
    /// Conversion used by casts and references (bool: 0/1).
    fn to_f64(self) -> f64;
    /// Conversion used by casts (`as` semantics; bool: `!= 0`).
    fn from_f64(x: f64) -> Self;
    /// Conversion to i64 (`as` semantics).
    fn to_i64(self) -> i64;
    /// Conversion from i64 (`as` semantics).
    fn from_i64(x: i64) -> Self;
    /// Zero.
    fn zero() -> Self {
        Self::default()
    }
    /// One.
    fn one() -> Self {
        Self::from_i64(1)
    }
    /// `true` for a floating NaN.
    fn is_nan(self) -> bool {
        #[allow(clippy::eq_op)] // NaN is the only value unequal to itself
        let nan = self != self;
        nan
    }
}

impl Element for f32 {
    const DTYPE: DType = DType::F32;
    fn to_f64(self) -> f64 {
        self as f64
    }
    fn from_f64(x: f64) -> Self {
        x as f32
    }
    fn to_i64(self) -> i64 {
        self as i64
    }
    fn from_i64(x: i64) -> Self {
        x as f32
    }
}

impl Element for f64 {
    const DTYPE: DType = DType::F64;
    fn to_f64(self) -> f64 {
        self
    }
    fn from_f64(x: f64) -> Self {
        x
    }
    fn to_i64(self) -> i64 {
        self as i64
    }
    fn from_i64(x: i64) -> Self {
        x as f64
    }
}

impl Element for i64 {
    const DTYPE: DType = DType::I64;
    fn to_f64(self) -> f64 {
        self as f64
    }
    fn from_f64(x: f64) -> Self {
        x as i64
    }
    fn to_i64(self) -> i64 {
        self
    }
    fn from_i64(x: i64) -> Self {
        x
    }
}

impl Element for bool {
    const DTYPE: DType = DType::Bool;
    fn to_f64(self) -> f64 {
        if self { 1.0 } else { 0.0 }
    }
    fn from_f64(x: f64) -> Self {
        x != 0.0
    }
    fn to_i64(self) -> i64 {
        self as i64
    }
    fn from_i64(x: i64) -> Self {
        x != 0
    }
}

/// Floating element types (`f32`, `f64`), for kernels that only make sense on floats.
pub trait FloatElement: Element + num_traits::Float + std::iter::Sum {}
impl FloatElement for f32 {}
impl FloatElement for f64 {}

#[cfg(test)]
mod tests {
    use super::DType::*;
    use super::*;

    #[test]
    fn promotion_follows_torch() {
        assert_eq!(F32.promote(F64), F64);
        assert_eq!(I64.promote(F32), F32);
        assert_eq!(Bool.promote(I64), I64);
        assert_eq!(DType::result_type(F32, false, F64, true), F32);
        assert_eq!(DType::result_type(I64, false, F32, true), F32);
        assert_eq!(DType::result_type(I64, false, F64, true), F64);
        assert_eq!(DType::result_type(Bool, false, I64, true), I64);
        assert_eq!(DType::result_type(F64, true, F32, true), F64);
        assert_eq!(DType::result_type_with_scalar(I64, true), F32);
        assert_eq!(DType::result_type_with_scalar(F64, true), F64);
        assert_eq!(DType::result_type_with_scalar(I64, false), I64);
        assert_eq!(DType::result_type_with_scalar(Bool, false), I64);
    }

    #[test]
    fn scalars_that_overflow_the_dtype_are_rejected_like_torch() {
        // torch 2.15: torch.full((1,), v, dtype=...) raises for exactly these.
        for v in [
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            1e30,
            -(i64::MIN as f64),
        ] {
            let e = I64.check_scalar("full", v).unwrap_err().to_string();
            assert!(
                e.starts_with("full: value")
                    && e.contains("cannot be converted to type torch.int64 without overflow"),
                "{e}"
            );
        }
        for v in [i64::MIN as f64, -(i64::MIN as f64) - 1024.0, 2.5, -2.5, 0.0] {
            assert!(I64.check_scalar("full", v).is_ok(), "{v}");
        }
        for v in [1e300, -1e300, 3.4028235e38] {
            assert!(F32.check_scalar("full", v).is_err(), "{v}");
        }
        for v in [f64::NAN, f64::INFINITY, f32::MAX as f64, 1e-300] {
            assert!(F32.check_scalar("full", v).is_ok(), "{v}");
        }
        for v in [f64::NAN, 1e300, f64::INFINITY] {
            assert!(F64.check_scalar("full", v).is_ok() && Bool.check_scalar("full", v).is_ok());
        }
    }
}
