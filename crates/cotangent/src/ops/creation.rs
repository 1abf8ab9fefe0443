//! Tensor factories with torch's names: `zeros`, `ones`, `full`, `arange`, `linspace`, `eye`
//! and the `*_like` forms. They take no tensor inputs, so to every transform their results
//! are constants.

use crate::array::{Array, DType};
use crate::error::{Error, OrRaise, raise};
use crate::testing::{OpInfo, RefArray};
use crate::trace::Tensor;

/// A tensor of `shape` filled with `value` converted to `dtype`.
fn filled(shape: &[usize], value: f64, dtype: DType) -> Tensor {
    let n: usize = shape.iter().product();
    let array = match dtype {
        DType::F32 => Array::from_vec(vec![value as f32; n], shape),
        DType::F64 => Array::from_vec(vec![value; n], shape),
        DType::I64 => Array::from_vec(vec![value as i64; n], shape),
        DType::Bool => Array::from_vec(vec![value != 0.0; n], shape),
    };
    Tensor::from_array(array.expect("length matches"))
}

impl Tensor {
    /// `f32` zeros (`torch.zeros`).
    pub fn zeros(shape: &[usize]) -> Tensor {
        filled(shape, 0.0, DType::F32)
    }

    /// `f32` ones (`torch.ones`).
    pub fn ones(shape: &[usize]) -> Tensor {
        filled(shape, 1.0, DType::F32)
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
        dtype.check_scalar("full", value).or_raise();
        filled(shape, value, dtype)
    }

    /// Zeros of the given dtype.
    pub fn zeros_dtype(shape: &[usize], dtype: DType) -> Tensor {
        filled(shape, 0.0, dtype)
    }

    /// Zeros with this tensor's shape and dtype (`torch.zeros_like`).
    pub fn zeros_like(&self) -> Tensor {
        filled(self.shape(), 0.0, self.dtype())
    }

    /// Ones with this tensor's shape and dtype (`torch.ones_like`).
    pub fn ones_like(&self) -> Tensor {
        filled(self.shape(), 1.0, self.dtype())
    }

    /// `value` with this tensor's shape and dtype (`torch.full_like`).
    ///
    /// # Panics
    /// If `value` does not fit the dtype; see [`Tensor::full`].
    #[track_caller]
    pub fn full_like(&self, value: f64) -> Tensor {
        self.dtype().check_scalar("full_like", value).or_raise();
        filled(self.shape(), value, self.dtype())
    }

    /// `0, 1, ..., end - 1` as `i64` (`torch.arange(end)`).
    ///
    /// ```
    /// # use cotangent::Tensor;
    /// assert_eq!(Tensor::arange(3).to_vec::<i64>(), vec![0, 1, 2]);
    /// ```
    pub fn arange(end: i64) -> Tensor {
        Tensor::from_vec(
            (0..end.max(0)).collect::<Vec<i64>>(),
            &[end.max(0) as usize],
        )
        .expect("length matches")
    }

    /// `start, start + step, ...` up to (excluding) `end`, as `dtype`
    /// (`torch.arange(start, end, step, dtype=dtype)`). The length is
    /// `ceil((end - start) / step)`, computed in `f64`. For `i64`, as in torch, `start` and
    /// `step` are truncated to integers first and the values are `start + i * step`:
    /// `arange_step(-1.5, 1.5, 1.0, I64)` is `[-1, 0, 1]`, and a fractional `step` below 1
    /// truncates to 0.
    ///
    /// # Panics
    /// If `step` is zero or has the wrong sign, with torch's message; for `i64`, if `start`
    /// or `step` does not fit (see [`Tensor::full`]).
    ///
    /// ```
    /// # use cotangent::{DType, Tensor};
    /// let x = Tensor::arange_step(5.0, 0.0, -1.5, DType::I64);
    /// assert_eq!(x.to_vec::<i64>(), vec![5, 4, 3, 2]);
    /// ```
    #[track_caller]
    pub fn arange_step(start: f64, end: f64, step: f64, dtype: DType) -> Tensor {
        if step == 0.0 {
            raise(Error::value("arange", "step must be nonzero"));
        }
        if (end - start) * step < 0.0 {
            raise(Error::value(
                "arange",
                "upper bound and larger bound inconsistent with step sign",
            ));
        }
        let n = ((end - start) / step).ceil().max(0.0) as usize;
        if dtype == DType::I64 {
            for value in [start, step] {
                dtype.check_scalar("arange", value).or_raise();
            }
            let (start_i, step_i) = (start as i64, step as i64);
            // `end` itself need not fit (torch uses it only for the length), but the values
            // must: one past i64's range is an error, not a wrapped number.
            let values: Option<Vec<i64>> = (0..n as i64)
                .map(|i| i.checked_mul(step_i)?.checked_add(start_i))
                .collect();
            let Some(values) = values else {
                panic!(
                    "arange: the values from {start} to {end} by {step} overflow torch.int64; \
                     use an end within [-2^63, 2^63) or a float dtype"
                );
            };
            return Tensor::from_vec(values, &[n]).expect("length matches");
        }
        let values: Vec<f64> = (0..n).map(|i| start + i as f64 * step).collect();
        Tensor::from_vec(values, &[n])
            .expect("length matches")
            .to_dtype(dtype)
    }

    /// `steps` evenly spaced `f32` values from `start` to `end` inclusive (`torch.linspace`).
    pub fn linspace(start: f64, end: f64, steps: usize) -> Tensor {
        let step = if steps > 1 {
            (end - start) / (steps - 1) as f64
        } else {
            0.0
        };
        // torch fills the second half from the end, so the last value is exactly `end`.
        let values: Vec<f32> = (0..steps)
            .map(|i| {
                if i < steps / 2 {
                    (start + step * i as f64) as f32
                } else {
                    (end - step * (steps - 1 - i) as f64) as f32
                }
            })
            .collect();
        Tensor::from_vec(values, &[steps]).expect("length matches")
    }

    /// The `n x m` `f32` identity matrix (`torch.eye(n, m)`).
    pub fn eye(n: usize, m: usize) -> Tensor {
        let values: Vec<f32> = (0..n * m)
            .map(|k| {
                if k / m.max(1) == k % m.max(1) {
                    1.0
                } else {
                    0.0
                }
            })
            .collect();
        Tensor::from_vec(values, &[n, m]).expect("length matches")
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
