//! Tensor factories with torch's names: `zeros`, `ones`, `full`, `arange`, `linspace`, `eye`
//! and the `*_like` forms. They take no tensor inputs, so to every transform their results
//! are constants. Each has a `try_` form: a shape whose size overflows is an
//! [`Error::Shape`], memory the allocator refuses an [`Error::Alloc`] naming the factory, the
//! shape and the bytes.

use crate::array::alloc::{AllocFailed, try_filled, try_with_capacity, try_zeroed};
use crate::array::layout::check_shape;
use crate::array::storage::StorageElement;
use crate::array::{Array, DType, Device, Layout};
use crate::error::{Error, OrRaise, Result};
use crate::testing::{OpInfo, RefArray};
use crate::trace::Tensor;

/// Where and in which dtype a factory makes its tensor: torch's `dtype=` and `device=`
/// keywords as a builder.
///
/// ```
/// use cotangent::{DType, Device, Tensor, TensorOptions};
/// let opts = TensorOptions::new().dtype(DType::F64).device(Device::Cpu);
/// let x = Tensor::zeros_with(&[2, 3], opts);
/// assert_eq!((x.dtype(), x.device()), (DType::F64, Device::Cpu));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TensorOptions {
    pub(crate) dtype: Option<DType>,
    pub(crate) device: Device,
}

impl TensorOptions {
    /// The factory's default dtype, on the CPU.
    pub fn new() -> Self {
        Self::default()
    }
    /// The element type (torch's `dtype=`).
    pub fn dtype(mut self, dtype: DType) -> Self {
        self.dtype = Some(dtype);
        self
    }
    /// The device (torch's `device=`).
    pub fn device(mut self, device: Device) -> Self {
        self.device = device;
        self
    }
    /// The dtype, or `default` if none was set.
    pub(crate) fn dtype_or(&self, default: DType) -> DType {
        self.dtype.unwrap_or(default)
    }
}

/// `t` on `device`: factories that compute their values on the host (arange, eye, ...)
/// copy them over; the copy of a fresh tensor is a plain upload.
fn placed(t: Result<Tensor>, device: Device) -> Result<Tensor> {
    let t = t?;
    if device == Device::Cpu {
        return Ok(t);
    }
    Ok(Tensor::from_array(t.array().try_to_device(device)?))
}

/// A tensor of `shape` filled with `value` converted to `dtype`, or the error naming `op`: a
/// shape whose size overflows, or memory the allocator refuses.
fn filled(op: &'static str, shape: &[usize], value: f64, dtype: DType) -> Result<Tensor> {
    filled_on(op, shape, value, dtype, crate::default_device())
}

/// [`filled`] on `device` (filled there: no host buffer).
fn filled_on(
    op: &'static str,
    shape: &[usize],
    value: f64,
    dtype: DType,
    device: Device,
) -> Result<Tensor> {
    let n = check_shape(op, shape, dtype)?;
    if device != Device::Cpu {
        return crate::array::backend::full_on(op, device, shape, value, dtype)
            .map(Tensor::from_array);
    }
    let fail = |e: AllocFailed| e.error(op, shape, dtype);
    let storage = match dtype {
        DType::F32 => f32::wrap(buffer(n, value as f32).map_err(fail)?),
        DType::F64 => f64::wrap(buffer(n, value).map_err(fail)?),
        DType::I64 => i64::wrap(buffer(n, value as i64).map_err(fail)?),
        DType::Bool => bool::wrap(buffer(n, value != 0.0).map_err(fail)?),
    };
    Ok(Tensor::from_array(Array::from_parts(
        storage,
        Layout::contiguous(shape),
    )))
}

/// `n` copies of `value`; zeros (but not `-0.0`) come from zeroed memory, which costs no
/// writes.
fn buffer<T: StorageElement>(n: usize, value: T) -> Result<Vec<T>, AllocFailed> {
    if value.to_f64().to_bits() == 0 {
        try_zeroed(n)
    } else {
        try_filled(n, value)
    }
}

/// A 1-d tensor of `n` values `value(i)`, or the error naming `op`.
fn from_fn<T: StorageElement>(
    op: &'static str,
    n: usize,
    value: impl Fn(usize) -> T,
) -> Result<Tensor> {
    check_shape(op, &[n], T::DTYPE)?;
    let mut values = try_with_capacity(n).map_err(|e| e.error(op, &[n], T::DTYPE))?;
    values.extend((0..n).map(value));
    Tensor::from_vec(values, &[n])
}

impl Tensor {
    /// `f32` zeros (`torch.zeros`).
    ///
    /// # Panics
    /// If the shape's size overflows or the memory cannot be allocated; see
    /// [`Tensor::try_zeros`].
    #[track_caller]
    pub fn zeros(shape: &[usize]) -> Tensor {
        Tensor::try_zeros(shape).or_raise()
    }

    /// [`Tensor::zeros`], returning the error instead of panicking: [`Error::Shape`] if the
    /// number of elements or bytes overflows, [`Error::Alloc`] if the allocator refuses.
    ///
    /// ```
    /// # use cotangent::{Error, Tensor};
    /// let err = Tensor::try_zeros(&[1 << 60]).unwrap_err();
    /// assert!(matches!(err, Error::Alloc { op: "zeros", bytes, .. } if bytes == 1 << 62));
    /// assert_eq!(Tensor::try_zeros(&[2]).unwrap().to_vec::<f32>(), vec![0.0, 0.0]);
    /// ```
    pub fn try_zeros(shape: &[usize]) -> Result<Tensor> {
        filled("zeros", shape, 0.0, DType::F32)
    }

    /// `f32` ones (`torch.ones`).
    ///
    /// # Panics
    /// As [`Tensor::zeros`].
    #[track_caller]
    pub fn ones(shape: &[usize]) -> Tensor {
        Tensor::try_ones(shape).or_raise()
    }

    /// [`Tensor::ones`], returning the error instead of panicking.
    pub fn try_ones(shape: &[usize]) -> Result<Tensor> {
        filled("ones", shape, 1.0, DType::F32)
    }

    /// `value` everywhere, as `dtype` (`torch.full(shape, value, dtype=dtype)`). A fraction
    /// truncates toward zero for `i64`; bool is `value != 0`.
    ///
    /// # Panics
    /// If `value` does not fit `dtype` (NaN, ±inf or beyond ±2⁶³ for `i64`, a finite value
    /// beyond `f32::MAX` for `f32`), as torch refuses it ("value cannot be converted to type
    /// int64_t without overflow") instead of storing a saturated number.
    ///
    /// ```
    /// # use cotangent::{DType, Tensor};
    /// assert_eq!(Tensor::full(&[2], 2.7, DType::I64).to_vec::<i64>(), vec![2, 2]);
    /// ```
    #[track_caller]
    pub fn full(shape: &[usize], value: f64, dtype: DType) -> Tensor {
        Tensor::try_full(shape, value, dtype).or_raise()
    }

    /// [`Tensor::full`], returning the error instead of panicking.
    pub fn try_full(shape: &[usize], value: f64, dtype: DType) -> Result<Tensor> {
        dtype.check_scalar("full", value)?;
        filled("full", shape, value, dtype)
    }

    /// Zeros of the given dtype.
    ///
    /// # Panics
    /// As [`Tensor::zeros`].
    #[track_caller]
    pub fn zeros_dtype(shape: &[usize], dtype: DType) -> Tensor {
        Tensor::try_zeros_dtype(shape, dtype).or_raise()
    }

    /// [`Tensor::zeros_dtype`], returning the error instead of panicking.
    pub fn try_zeros_dtype(shape: &[usize], dtype: DType) -> Result<Tensor> {
        filled("zeros", shape, 0.0, dtype)
    }

    /// Zeros with this tensor's shape and dtype (`torch.zeros_like`).
    ///
    /// # Panics
    /// If the memory cannot be allocated (the tensor may be a large broadcast view).
    #[track_caller]
    pub fn zeros_like(&self) -> Tensor {
        self.try_zeros_like().or_raise()
    }

    /// [`Tensor::zeros_like`], returning the error instead of panicking.
    pub fn try_zeros_like(&self) -> Result<Tensor> {
        filled_on("zeros_like", self.shape(), 0.0, self.dtype(), self.device())
    }

    /// Ones with this tensor's shape and dtype (`torch.ones_like`).
    ///
    /// # Panics
    /// As [`Tensor::zeros_like`].
    #[track_caller]
    pub fn ones_like(&self) -> Tensor {
        self.try_ones_like().or_raise()
    }

    /// [`Tensor::ones_like`], returning the error instead of panicking.
    pub fn try_ones_like(&self) -> Result<Tensor> {
        filled_on("ones_like", self.shape(), 1.0, self.dtype(), self.device())
    }

    /// `value` with this tensor's shape and dtype (`torch.full_like`).
    ///
    /// # Panics
    /// If `value` does not fit the dtype; see [`Tensor::full`].
    #[track_caller]
    pub fn full_like(&self, value: f64) -> Tensor {
        self.try_full_like(value).or_raise()
    }

    /// [`Tensor::full_like`], returning the error instead of panicking.
    pub fn try_full_like(&self, value: f64) -> Result<Tensor> {
        self.dtype().check_scalar("full_like", value)?;
        filled_on(
            "full_like",
            self.shape(),
            value,
            self.dtype(),
            self.device(),
        )
    }

    /// `0, 1, ..., end - 1` as `i64` (`torch.arange(end)`).
    ///
    /// # Panics
    /// If `end` is negative (torch's message), or too large to allocate; see
    /// [`Tensor::try_arange`].
    ///
    /// ```
    /// # use cotangent::Tensor;
    /// assert_eq!(Tensor::arange(3).to_vec::<i64>(), vec![0, 1, 2]);
    /// ```
    #[track_caller]
    pub fn arange(end: i64) -> Tensor {
        Tensor::try_arange(end).or_raise()
    }

    /// [`Tensor::arange`], returning the error instead of panicking: [`Error::Value`] for a
    /// negative `end`, [`Error::Shape`] if the size in bytes overflows, [`Error::Alloc`] if
    /// the allocator refuses.
    ///
    /// ```
    /// # use cotangent::{Error, Tensor};
    /// assert!(matches!(Tensor::try_arange(i64::MAX), Err(Error::Shape { op: "arange", .. })));
    /// assert!(matches!(Tensor::try_arange(-1), Err(Error::Value { op: "arange", .. })));
    /// ```
    pub fn try_arange(end: i64) -> Result<Tensor> {
        if end < 0 {
            return Err(Error::value(
                "arange",
                format!(
                    "upper bound and larger bound inconsistent with step sign (0 -> {end} with \
                     step 1)"
                ),
            ));
        }
        from_fn("arange", end as usize, |i| i as i64)
    }

    /// `start, start + step, ...` up to (excluding) `end`, as `dtype`
    /// (`torch.arange(start, end, step, dtype=dtype)`). The length is
    /// `ceil((end - start) / step)`, computed in `f64`. For `i64`, as in torch, `start` and
    /// `step` are truncated to integers first and the values are `start + i * step`:
    /// `arange_step(-1.5, 1.5, 1.0, I64)` is `[-1, 0, 1]`, and a fractional `step` below 1
    /// truncates to 0.
    ///
    /// # Panics
    /// If a bound or the step is NaN or infinite, the step is zero or has the wrong sign
    /// (torch's messages), the range is too long to allocate, or for `i64` the values do not
    /// fit (see [`Tensor::try_arange_step`]).
    ///
    /// ```
    /// # use cotangent::{DType, Tensor};
    /// let x = Tensor::arange_step(5.0, 0.0, -1.5, DType::I64);
    /// assert_eq!(x.to_vec::<i64>(), vec![5, 4, 3, 2]);
    /// ```
    #[track_caller]
    pub fn arange_step(start: f64, end: f64, step: f64, dtype: DType) -> Tensor {
        Tensor::try_arange_step(start, end, step, dtype).or_raise()
    }

    /// [`Tensor::arange_step`], returning the error instead of panicking: [`Error::Value`]
    /// for invalid bounds or step, [`Error::Shape`] if the number of elements overflows,
    /// [`Error::Alloc`] if the allocator refuses.
    ///
    /// ```
    /// # use cotangent::{DType, Error, Tensor};
    /// let err = Tensor::try_arange_step(0.0, f64::NAN, 1.0, DType::F32).unwrap_err();
    /// assert_eq!(err.to_string(), "arange: unsupported range: 0 -> NaN");
    /// assert!(matches!(Tensor::try_arange_step(0.0, 1e30, 1.0, DType::F32), Err(Error::Shape { .. })));
    /// ```
    pub fn try_arange_step(start: f64, end: f64, step: f64, dtype: DType) -> Result<Tensor> {
        if !start.is_finite() || !end.is_finite() {
            return Err(Error::value(
                "arange",
                format!("unsupported range: {start} -> {end}"),
            ));
        }
        if !step.is_finite() {
            return Err(Error::value(
                "arange",
                format!("step must be a finite number, got {step}"),
            ));
        }
        if step == 0.0 {
            return Err(Error::value("arange", "step must be nonzero"));
        }
        if !(step > 0.0 && end >= start || step < 0.0 && end <= start) {
            return Err(Error::value(
                "arange",
                "upper bound and larger bound inconsistent with step sign",
            ));
        }
        // `end - start` of two finite bounds can still be infinite (1e308 - -1e308), never NaN.
        let size = ((end - start) / step).ceil();
        if size > i64::MAX as f64 {
            return Err(Error::shape(
                "arange",
                format!(
                    "invalid size, possible overflow: {start} -> {end} with step {step} has \
                     {size:e} elements"
                ),
            ));
        }
        let n = size as usize;
        let value = |i: usize| start + i as f64 * step;
        match dtype {
            DType::F32 => from_fn("arange", n, |i| value(i) as f32),
            DType::F64 => from_fn("arange", n, value),
            DType::I64 => {
                // torch truncates start and step to integers first; the values must fit.
                for value in [start, step] {
                    dtype.check_scalar("arange", value)?;
                }
                let (start_i, step_i) = (start as i64, step as i64);
                let fits = (n as i64).checked_sub(1).is_none_or(|last| {
                    last.checked_mul(step_i)
                        .and_then(|v| v.checked_add(start_i))
                        .is_some()
                });
                if !fits {
                    return Err(Error::value(
                        "arange",
                        format!(
                            "the values from {start} to {end} by {step} overflow torch.int64; \
                             use an end within [-2^63, 2^63) or a float dtype"
                        ),
                    ));
                }
                from_fn("arange", n, |i| start_i + i as i64 * step_i)
            }
            DType::Bool => from_fn("arange", n, |i| value(i) != 0.0),
        }
    }

    /// `steps` evenly spaced `f32` values from `start` to `end` inclusive (`torch.linspace`).
    ///
    /// # Panics
    /// If `steps` values cannot be allocated; see [`Tensor::try_linspace`].
    #[track_caller]
    pub fn linspace(start: f64, end: f64, steps: usize) -> Tensor {
        Tensor::try_linspace(start, end, steps).or_raise()
    }

    /// [`Tensor::linspace`], returning the error instead of panicking.
    pub fn try_linspace(start: f64, end: f64, steps: usize) -> Result<Tensor> {
        let step = if steps > 1 {
            (end - start) / (steps - 1) as f64
        } else {
            0.0
        };
        // torch fills the second half from the end, so the last value is exactly `end`.
        from_fn("linspace", steps, |i| {
            if i < steps / 2 {
                (start + step * i as f64) as f32
            } else {
                (end - step * (steps - 1 - i) as f64) as f32
            }
        })
    }

    /// The `n x m` `f32` identity matrix (`torch.eye(n, m)`).
    ///
    /// # Panics
    /// If `n * m` overflows or cannot be allocated; see [`Tensor::try_eye`].
    #[track_caller]
    pub fn eye(n: usize, m: usize) -> Tensor {
        Tensor::try_eye(n, m).or_raise()
    }

    /// [`Tensor::eye`], returning the error instead of panicking.
    ///
    /// ```
    /// # use cotangent::{Error, Tensor};
    /// let err = Tensor::try_eye(1 << 32, 1 << 32).unwrap_err();
    /// assert!(matches!(err, Error::Shape { op: "eye", .. }));
    /// ```
    pub fn try_eye(n: usize, m: usize) -> Result<Tensor> {
        let shape = [n, m];
        let len = check_shape("eye", &shape, DType::F32)?;
        let mut values: Vec<f32> =
            try_zeroed(len).map_err(|e| e.error("eye", &shape, DType::F32))?;
        for i in 0..n.min(m) {
            values[i * m + i] = 1.0;
        }
        Tensor::from_vec(values, &shape)
    }
}

/// The factories with [`TensorOptions`] (torch's `dtype=` and `device=` keywords), and the
/// `new_*` forms that take dtype and device from an existing tensor (torch's
/// `x.new_zeros(shape)`), which rules use so their constants live where their inputs do.
impl Tensor {
    /// Zeros of `shape` (`torch.zeros(shape, dtype=, device=)`; default dtype `f32`).
    #[track_caller]
    pub fn zeros_with(shape: &[usize], opts: TensorOptions) -> Tensor {
        Tensor::try_zeros_with(shape, opts).or_raise()
    }

    /// [`Tensor::zeros_with`], returning the error instead of panicking.
    pub fn try_zeros_with(shape: &[usize], opts: TensorOptions) -> Result<Tensor> {
        filled_on("zeros", shape, 0.0, opts.dtype_or(DType::F32), opts.device)
    }

    /// Ones of `shape` (`torch.ones(shape, dtype=, device=)`; default dtype `f32`).
    #[track_caller]
    pub fn ones_with(shape: &[usize], opts: TensorOptions) -> Tensor {
        Tensor::try_ones_with(shape, opts).or_raise()
    }

    /// [`Tensor::ones_with`], returning the error instead of panicking.
    pub fn try_ones_with(shape: &[usize], opts: TensorOptions) -> Result<Tensor> {
        filled_on("ones", shape, 1.0, opts.dtype_or(DType::F32), opts.device)
    }

    /// `value` everywhere in `shape` (`torch.full(shape, value, dtype=, device=)`; default
    /// dtype `f32`).
    #[track_caller]
    pub fn full_with(shape: &[usize], value: f64, opts: TensorOptions) -> Tensor {
        Tensor::try_full_with(shape, value, opts).or_raise()
    }

    /// [`Tensor::full_with`], returning the error instead of panicking.
    pub fn try_full_with(shape: &[usize], value: f64, opts: TensorOptions) -> Result<Tensor> {
        let dtype = opts.dtype_or(DType::F32);
        dtype.check_scalar("full", value)?;
        filled_on("full", shape, value, dtype, opts.device)
    }

    /// `0, 1, ..., end - 1` (`torch.arange(end, dtype=, device=)`; default dtype `i64`).
    #[track_caller]
    pub fn arange_with(end: i64, opts: TensorOptions) -> Tensor {
        Tensor::try_arange_with(end, opts).or_raise()
    }

    /// [`Tensor::arange_with`], returning the error instead of panicking.
    pub fn try_arange_with(end: i64, opts: TensorOptions) -> Result<Tensor> {
        let t = match opts.dtype_or(DType::I64) {
            DType::I64 => Tensor::try_arange(end),
            dtype => Tensor::try_arange_step(0.0, end as f64, 1.0, dtype),
        };
        placed(t, opts.device)
    }

    /// The `n x m` identity (`torch.eye(n, m, dtype=, device=)`; default dtype `f32`).
    #[track_caller]
    pub fn eye_with(n: usize, m: usize, opts: TensorOptions) -> Tensor {
        Tensor::try_eye_with(n, m, opts).or_raise()
    }

    /// [`Tensor::eye_with`], returning the error instead of panicking.
    pub fn try_eye_with(n: usize, m: usize, opts: TensorOptions) -> Result<Tensor> {
        let eye = Tensor::try_eye(n, m)?;
        let eye = match opts.dtype_or(DType::F32) {
            DType::F32 => eye,
            dtype => eye.to_dtype(dtype),
        };
        placed(Ok(eye), opts.device)
    }

    /// Zeros of `shape` with this tensor's dtype and device (`x.new_zeros(shape)`).
    #[track_caller]
    pub fn new_zeros(&self, shape: &[usize]) -> Tensor {
        self.new_full_dtype(shape, 0.0, self.dtype())
    }

    /// `value` everywhere in `shape`, with this tensor's dtype and device
    /// (`x.new_full(shape, value)`).
    #[track_caller]
    pub fn new_full(&self, shape: &[usize], value: f64) -> Tensor {
        self.new_full_dtype(shape, value, self.dtype())
    }

    /// `value` everywhere in `shape`, as `dtype`, on this tensor's device
    /// (`x.new_full(shape, value, dtype=dtype)`).
    #[track_caller]
    pub fn new_full_dtype(&self, shape: &[usize], value: f64, dtype: DType) -> Tensor {
        dtype.check_scalar("new_full", value).or_raise();
        filled_on("new_full", shape, value, dtype, self.device()).or_raise()
    }
}

pub(crate) fn op_info() -> Vec<OpInfo> {
    vec![
        OpInfo::new(
            "zeros_like",
            |a| a[0].zeros_like(),
            |r| RefArray::from_fn(&r[0].shape, |_| 0.0),
            |rng| vec![vec![rng.tensor(&[3, 2], -1.0, 1.0)]],
        ),
        OpInfo::new(
            "eye",
            |_| Tensor::eye(3, 4),
            |_| RefArray::from_fn(&[3, 4], |i| if i[0] == i[1] { 1.0 } else { 0.0 }),
            |_| vec![vec![]],
        )
        .dtypes(&[DType::F32])
        .no_views(),
        OpInfo::new(
            "linspace",
            |_| Tensor::linspace(-1.0, 2.0, 7),
            |_| RefArray::from_fn(&[7], |i| -1.0 + 0.5 * i[0] as f64),
            |_| vec![vec![]],
        )
        .dtypes(&[DType::F32])
        .no_views(),
    ]
}

#[cfg(test)]
mod tests {
    use crate::array::DType;
    use crate::testing::assert_panics_with;
    use crate::trace::Tensor;

    const OVERFLOW: &str = "cannot be converted to type torch.int64 without overflow";

    #[test]
    fn full_of_a_value_that_does_not_fit_the_dtype_is_an_error() {
        // torch 2.15 raises "value cannot be converted to type int64_t without overflow"
        // for each of these instead of storing a saturated number (0 for NaN, i64::MAX).
        for value in [f64::NAN, 1e30, -1e30, f64::INFINITY, -(i64::MIN as f64)] {
            assert_panics_with(
                || drop(Tensor::full(&[2], value, DType::I64)),
                &["full: value", OVERFLOW],
            );
        }
        let ints = Tensor::arange(3);
        assert_panics_with(|| drop(ints.full_like(f64::NAN)), &["full_like", OVERFLOW]);
        assert_panics_with(
            || drop(Tensor::scalar_of(1e30, DType::I64)),
            &["scalar_of", OVERFLOW],
        );
        assert_panics_with(
            || drop(crate::pad(&ints, &[1, 1], f64::NAN)),
            &["pad: value NaN", OVERFLOW],
        );
        assert_panics_with(
            || drop(Tensor::full(&[1], 1e300, DType::F32)),
            &["full: value 1e300 cannot be converted to type torch.float32 without overflow"],
        );
        // What torch accepts: fractions truncate, i64's extremes, NaN and inf in floats,
        // anything as bool.
        assert_eq!(
            Tensor::full(&[2], -2.7, DType::I64).to_vec::<i64>(),
            vec![-2, -2]
        );
        let low = Tensor::full(&[1], i64::MIN as f64, DType::I64);
        assert_eq!(low.to_vec::<i64>(), vec![i64::MIN]);
        assert!(
            Tensor::full(&[1], f64::NAN, DType::F32)
                .item::<f32>()
                .is_nan()
        );
        let inf = Tensor::full(&[1], f64::INFINITY, DType::F32).item::<f32>();
        assert_eq!(inf, f32::INFINITY);
        assert!(Tensor::full(&[1], f64::NAN, DType::Bool).item::<bool>());
        assert_eq!(
            crate::pad(&ints, &[1, 0], 2.5).to_vec::<i64>(),
            vec![2, 0, 1, 2]
        );
    }

    #[test]
    fn integer_arange_truncates_start_and_step_like_torch() {
        // torch.arange(start, end, step, dtype=torch.int64) in torch 2.15: the length comes
        // from the float bounds, the values from start and step truncated to integers.
        let arange = |a, b, s| Tensor::arange_step(a, b, s, DType::I64).to_vec::<i64>();
        assert_eq!(arange(-1.5, 1.5, 1.0), vec![-1, 0, 1]);
        assert_eq!(arange(0.0, 3.0, 0.5), vec![0; 6]);
        assert_eq!(arange(5.0, 0.0, -1.5), vec![5, 4, 3, 2]);
        assert_eq!(arange(-2.5, 0.0, 0.9), vec![-2, -2, -2]);
        assert_eq!(arange(0.0, 5.5, 1.0), vec![0, 1, 2, 3, 4, 5]);
        // Float dtypes keep the exact float steps.
        let halves = Tensor::arange_step(0.0, 1.5, 0.5, DType::F64).to_vec::<f64>();
        assert_eq!(halves, vec![0.0, 0.5, 1.0]);
        assert_panics_with(
            || drop(Tensor::arange_step(0.0, 1e30, 1e29, DType::I64)),
            &["arange: value 1e29", OVERFLOW],
        );
        // `end` only sets the length, but the values must fit.
        assert_panics_with(
            || drop(Tensor::arange_step(9.2e18, 9.5e18, 2e17, DType::I64)),
            &["arange: the values from", "overflow torch.int64"],
        );
    }
}
