//! Moving data into and out of tensors: from vectors, slices and nested arrays, and back.

use super::Tensor;
use crate::array::storage::StorageElement;
use crate::array::{Array, DType};
use crate::error::{Error, OrRaise, Result};

/// Values that can become a tensor: scalars, `Vec`s, slices and nested arrays of `f32`,
/// `f64`, `i64` or `bool` (torch's `torch.tensor(data)`).
pub trait TensorData {
    /// The element type.
    type Elem: StorageElement;
    /// Row-major values and the shape.
    fn flatten(self) -> (Vec<Self::Elem>, Vec<usize>);
}

impl<T: StorageElement> TensorData for Vec<T> {
    type Elem = T;
    fn flatten(self) -> (Vec<T>, Vec<usize>) {
        let n = self.len();
        (self, vec![n])
    }
}

impl<T: StorageElement> TensorData for &[T] {
    type Elem = T;
    fn flatten(self) -> (Vec<T>, Vec<usize>) {
        (self.to_vec(), vec![self.len()])
    }
}

impl<T: StorageElement, const N: usize> TensorData for [T; N] {
    type Elem = T;
    fn flatten(self) -> (Vec<T>, Vec<usize>) {
        (self.to_vec(), vec![N])
    }
}

impl<T: StorageElement, const N: usize, const M: usize> TensorData for [[T; N]; M] {
    type Elem = T;
    fn flatten(self) -> (Vec<T>, Vec<usize>) {
        (self.iter().flatten().copied().collect(), vec![M, N])
    }
}

impl<T: StorageElement, const N: usize, const M: usize, const K: usize> TensorData
    for [[[T; N]; M]; K]
{
    type Elem = T;
    fn flatten(self) -> (Vec<T>, Vec<usize>) {
        (
            self.iter().flatten().flatten().copied().collect(),
            vec![K, M, N],
        )
    }
}

impl Tensor {
    /// A tensor from nested arrays or a vector (`torch.tensor`).
    ///
    /// ```
    /// # use cotangent::Tensor;
    /// let x = Tensor::new([[1.0f32, 2.0], [3.0, 4.0]]);
    /// assert_eq!(x.shape(), &[2, 2]);
    /// ```
    #[track_caller]
    pub fn new<D: TensorData>(data: D) -> Tensor {
        let (values, shape) = data.flatten();
        Tensor::from_vec(values, &shape).expect("nested arrays have consistent lengths")
    }

    /// A tensor owning `data` in row-major order with the given shape.
    ///
    /// # Errors
    /// [`Error::ShapeData`] if `data.len()` is not the product of `shape`; [`Error::Shape`]
    /// if that product overflows (torch: "Storage size calculation overflowed with
    /// sizes=[...]").
    ///
    /// ```
    /// # use cotangent::{Error, Tensor};
    /// let err = Tensor::from_vec(vec![1.0f32, 2.0], &[3, 0x5555555555555556]).unwrap_err();
    /// assert!(matches!(err, Error::Shape { op: "from_vec", .. }));
    /// ```
    pub fn from_vec<T: StorageElement>(data: Vec<T>, shape: &[usize]) -> Result<Tensor> {
        let host = Array::from_vec(data, shape)?;
        match crate::default_device() {
            crate::Device::Cpu => Ok(Tensor::from_array(host)),
            device => Ok(Tensor::from_array(host.try_to_device(device)?)),
        }
    }

    /// A tensor copying `data` in row-major order with the given shape.
    ///
    /// # Errors
    /// As [`Tensor::from_vec`].
    pub fn from_slice<T: StorageElement>(data: &[T], shape: &[usize]) -> Result<Tensor> {
        Tensor::from_vec(data.to_vec(), shape)
    }

    /// A 0-d tensor.
    pub fn scalar<T: StorageElement>(value: T) -> Tensor {
        Tensor::from_vec(vec![value], &[]).expect("one element")
    }

    /// A 0-d tensor of `dtype` holding `value` (`torch.scalar_tensor(value, dtype=dtype)`):
    /// a fraction truncates toward zero for `i64`, bool is `value != 0`.
    ///
    /// # Panics
    /// If `value` does not fit `dtype` (NaN, ±inf or beyond ±2⁶³ for `i64`, a finite value
    /// beyond `f32::MAX` for `f32`), with torch's message.
    #[track_caller]
    pub fn scalar_of(value: f64, dtype: DType) -> Tensor {
        dtype.check_scalar("scalar_of", value).or_raise();
        Tensor::wrapped_scalar(value, dtype)
    }

    /// A Python number as the 0-d operand of an op (`x + 2.5`, `x < 1e300`): converted with
    /// `as` semantics, as torch converts a wrapped number inside an op, so an `f32` operand
    /// of 1e300 is inf. Ops only ask for the dtype `result_type` gives, which for a float
    /// value is always a float dtype.
    pub(crate) fn wrapped_scalar(value: f64, dtype: DType) -> Tensor {
        // Always on the host, whatever the default device: a number meets tensors of any
        // device (Note [Host scalars on a device] in array/backend).
        fn host<T: StorageElement>(v: T) -> Tensor {
            Tensor::from_array(Array::from_vec(vec![v], &[]).expect("one element"))
        }
        match dtype {
            DType::F32 => host(value as f32),
            DType::F64 => host(value),
            DType::I64 => host(value as i64),
            DType::Bool => host(value != 0.0),
        }
    }

    /// An integer number as the 0-d `i64` operand of an op, exactly (on the host, like
    /// [`Tensor::wrapped_scalar`]).
    pub(crate) fn wrapped_int(value: i64) -> Tensor {
        Tensor::from_array(Array::from_vec(vec![value], &[]).expect("one element"))
    }

    /// The elements in row-major order, converted to `T` (`as` semantics).
    ///
    /// # Panics
    /// Under `vmap`, and with [`Error::Alloc`] if the vector cannot be allocated (a large
    /// broadcast view).
    #[track_caller]
    pub fn to_vec<T: StorageElement>(&self) -> Vec<T> {
        self.array().to_vec()
    }

    /// Like [`Tensor::to_vec`], returning the error instead of panicking.
    pub fn try_to_vec<T: StorageElement>(&self) -> Result<Vec<T>> {
        self.try_array()?.try_to_vec()
    }

    /// The value of a one-element tensor (`x.item()`).
    ///
    /// # Panics
    /// If the tensor does not have exactly one element.
    #[track_caller]
    pub fn item<T: StorageElement>(&self) -> T {
        self.try_item().or_raise()
    }

    /// Like [`Tensor::item`], returning an error for tensors of more or fewer elements.
    pub fn try_item<T: StorageElement>(&self) -> Result<T> {
        if self.numel() != 1 {
            return Err(Error::shape(
                "item",
                format!(
                    "a Tensor with {} elements cannot be converted to Scalar (shape {:?})",
                    self.numel(),
                    self.shape()
                ),
            ));
        }
        Ok(self.try_array()?.to_vec::<T>()[0])
    }

    /// `true` if both tensors have the same shape and all elements satisfy
    /// `|a - b| <= atol + rtol * |b|` (`torch.allclose`; NaNs are unequal).
    ///
    /// # Panics
    /// If the shapes cannot be broadcast together.
    #[track_caller]
    pub fn allclose(&self, other: &Tensor, rtol: f64, atol: f64) -> bool {
        let shape = crate::primitives::frontend::try_broadcast_shapes(
            "allclose",
            self.shape(),
            other.shape(),
        )
        .or_raise();
        let a = self.broadcast_to(&shape).to_vec::<f64>();
        let b = other.broadcast_to(&shape).to_vec::<f64>();
        a.iter()
            .zip(&b)
            .all(|(&x, &y)| x == y || (x - y).abs() <= atol + rtol * y.abs())
    }
}
