//! Tensor factories with torch's names: `zeros`, `ones`, `full`, `arange`, `linspace`, `eye`
//! and the `*_like` forms. They take no tensor inputs, so to every transform their results
//! are constants.

use crate::array::{Array, DType};
use crate::error::{Error, raise};
use crate::testing::{OpInfo, RefArray};
use crate::trace::Tensor;

/// A tensor of `shape` filled with `value` converted to `dtype`.
#[track_caller]
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
    #[track_caller]
    pub fn zeros(shape: &[usize]) -> Tensor {
        filled(shape, 0.0, DType::F32)
    }

    /// `f32` ones (`torch.ones`).
    #[track_caller]
    pub fn ones(shape: &[usize]) -> Tensor {
        filled(shape, 1.0, DType::F32)
    }

    /// `value` everywhere, as `dtype` (`torch.full(shape, value, dtype=dtype)`).
    #[track_caller]
    pub fn full(shape: &[usize], value: f64, dtype: DType) -> Tensor {
        filled(shape, value, dtype)
    }

    /// Zeros of the given dtype.
    #[track_caller]
    pub fn zeros_dtype(shape: &[usize], dtype: DType) -> Tensor {
        filled(shape, 0.0, dtype)
    }

    /// Zeros with this tensor's shape and dtype (`torch.zeros_like`).
    #[track_caller]
    pub fn zeros_like(&self) -> Tensor {
        filled(self.shape(), 0.0, self.dtype())
    }

    /// Ones with this tensor's shape and dtype (`torch.ones_like`).
    #[track_caller]
    pub fn ones_like(&self) -> Tensor {
        filled(self.shape(), 1.0, self.dtype())
    }

    /// `value` with this tensor's shape and dtype (`torch.full_like`).
    #[track_caller]
    pub fn full_like(&self, value: f64) -> Tensor {
        filled(self.shape(), value, self.dtype())
    }

    /// `0, 1, ..., end - 1` as `i64` (`torch.arange(end)`).
    ///
    /// ```
    /// # use cotangent::Tensor;
    /// assert_eq!(Tensor::arange(3).to_vec::<i64>(), vec![0, 1, 2]);
    /// ```
    #[track_caller]
    pub fn arange(end: i64) -> Tensor {
        Tensor::from_vec(
            (0..end.max(0)).collect::<Vec<i64>>(),
            &[end.max(0) as usize],
        )
        .expect("length matches")
    }

    /// `start, start + step, ...` up to (excluding) `end`, as `dtype`
    /// (`torch.arange(start, end, step, dtype=dtype)`).
    ///
    /// # Panics
    /// If `step` is zero or has the wrong sign, with torch's message.
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
        let values: Vec<f64> = (0..n).map(|i| start + i as f64 * step).collect();
        Tensor::from_vec(values, &[n])
            .expect("length matches")
            .to_dtype(dtype)
    }

    /// `steps` evenly spaced `f32` values from `start` to `end` inclusive (`torch.linspace`).
    #[track_caller]
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
    #[track_caller]
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
