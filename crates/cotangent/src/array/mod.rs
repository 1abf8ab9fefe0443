//! Concrete n-dimensional arrays: a shared buffer, a strided [`Layout`] and a [`DType`].
//!
//! This layer knows nothing about tracing or transforms. Views (permute, broadcast, slice,
//! reshape of compatible strides) are O(1) and share the buffer; kernels in
//! [`backend`] produce new arrays. The layers above only ever see `Array` through
//! [`crate::Tensor`].

pub(crate) mod alloc;
pub mod backend;
pub mod device;
pub mod dtype;
pub mod layout;
pub mod storage;

use std::sync::Arc;

pub use device::Device;
pub use dtype::{DType, Element, FloatElement};
pub use layout::{Dims, Layout};
use storage::{CpuStorage, Storage, StorageElement};

use crate::error::{Error, OrRaise};

/// A strided view of a typed buffer. Cloning is O(rank) and shares the buffer.
#[derive(Clone, Debug)]
pub struct Array {
    storage: Arc<Storage>,
    layout: Layout,
}

impl Array {
    /// An array owning `data` laid out row-major in `shape`.
    ///
    /// # Errors
    /// [`Error::Shape`] if the shape's size overflows (see [`layout::checked_size`]);
    /// [`Error::ShapeData`] if `data.len()` differs from the product of `shape`.
    pub fn from_vec<T: StorageElement>(data: Vec<T>, shape: &[usize]) -> Result<Array, Error> {
        let n = layout::check_shape("from_vec", shape, T::DTYPE)?;
        if data.len() != n {
            return Err(Error::ShapeData {
                shape: shape.to_vec(),
                len: data.len(),
            });
        }
        Ok(Self::from_parts(T::wrap(data), Layout::contiguous(shape)))
    }

    /// Wrap a CPU buffer and a layout that fits it.
    pub(crate) fn from_parts(storage: CpuStorage, layout: Layout) -> Array {
        assert!(
            layout.max_extent() <= storage.len(),
            "layout exceeds its buffer"
        );
        Array {
            storage: Arc::new(Storage::Cpu(storage)),
            layout,
        }
    }

    /// Wrap any buffer and a layout that fits it.
    #[cfg_attr(not(feature = "cuda"), allow(dead_code))]
    pub(crate) fn from_storage(storage: Storage, layout: Layout) -> Array {
        assert!(
            layout.max_extent() <= storage.len(),
            "layout exceeds its buffer"
        );
        Array {
            storage: Arc::new(storage),
            layout,
        }
    }

    /// Where the buffer lives.
    #[inline]
    pub fn device(&self) -> Device {
        self.storage.device()
    }

    /// A new array with `layout` over this array's buffer (used by O(1) view ops). Panics if
    /// the layout reaches outside the buffer, so safe code can never read out of bounds.
    pub(crate) fn with_layout(&self, layout: Layout) -> Array {
        assert!(
            layout.max_extent() <= self.storage.len(),
            "view exceeds its buffer"
        );
        Array {
            storage: self.storage.clone(),
            layout,
        }
    }

    /// The element type.
    pub fn dtype(&self) -> DType {
        self.storage.dtype()
    }

    /// The shape.
    pub fn shape(&self) -> &[usize] {
        self.layout.shape()
    }

    /// Number of dimensions.
    pub fn rank(&self) -> usize {
        self.layout.rank()
    }

    /// Number of elements.
    pub fn numel(&self) -> usize {
        self.layout.numel()
    }

    /// The strided layout.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// The CPU buffer behind this view.
    pub(crate) fn cpu_storage(&self) -> &CpuStorage {
        match &*self.storage {
            Storage::Cpu(s) => s,
            #[cfg(feature = "cuda")]
            Storage::Cuda(_) => panic!("internal: host buffer of a tensor on {}", self.device()),
        }
    }

    /// The device buffer behind this view.
    #[cfg(feature = "cuda")]
    pub(crate) fn cuda_storage(&self) -> &backend::cuda::CudaStorage {
        match &*self.storage {
            Storage::Cuda(s) => s,
            Storage::Cpu(_) => panic!("internal: device buffer of a tensor on the cpu"),
        }
    }

    /// A copy of this array on `device` (itself if it is there already).
    ///
    /// # Errors
    /// [`Error::Device`] if `device` cannot be used: a build without the `cuda` feature, no
    /// driver, no such device.
    pub fn try_to_device(&self, device: Device) -> Result<Array, Error> {
        if self.device() == device {
            return Ok(self.clone());
        }
        backend::to_device(self, device)
    }

    /// The whole buffer as a typed slice (index it with the layout). Panics on a dtype mismatch,
    /// which is a bug in the caller: kernels dispatch on `dtype()` first.
    pub(crate) fn buffer<T: StorageElement>(&self) -> &[T] {
        T::slice(self.cpu_storage())
            .unwrap_or_else(|| panic!("internal: buffer of {} read as {}", self.dtype(), T::DTYPE))
    }

    /// The elements as a slice in row-major order, if the view is contiguous.
    pub(crate) fn contiguous_slice<T: StorageElement>(&self) -> Option<&[T]> {
        if self.layout.is_contiguous() {
            let off = self.layout.offset();
            Some(&self.buffer::<T>()[off..off + self.numel()])
        } else {
            None
        }
    }

    /// `true` if both arrays view the same buffer (for tests of view semantics).
    pub fn shares_buffer_with(&self, other: &Array) -> bool {
        Arc::ptr_eq(&self.storage, &other.storage)
    }

    /// The elements in row-major order, converted to `T` with `as` semantics.
    ///
    /// # Panics
    /// With [`Error::Alloc`] if the vector cannot be allocated (a large broadcast view).
    #[track_caller]
    pub fn to_vec<T: StorageElement>(&self) -> Vec<T> {
        self.try_to_vec().or_raise()
    }

    /// Like [`Array::to_vec`], returning [`Error::Alloc`] (op `to_vec`) instead of panicking.
    pub fn try_to_vec<T: StorageElement>(&self) -> Result<Vec<T>, Error> {
        if self.device() != Device::Cpu {
            return self.try_to_device(Device::Cpu)?.try_to_vec();
        }
        let mut out = alloc::try_with_capacity::<T>(self.numel())
            .map_err(|e| e.error("to_vec", self.shape(), T::DTYPE))?;
        macro_rules! convert {
            ($src:ty, $conv:expr) => {{
                let buf = self.buffer::<$src>();
                self.layout.for_each_run(|start, stride, len| {
                    out.extend((0..len).map(|i| $conv(buf[start + i * stride])))
                });
            }};
        }
        match (self.dtype(), T::DTYPE) {
            (DType::F64, _) => convert!(f64, |x: f64| T::from_f64(x)),
            (DType::F32, _) => convert!(f32, |x: f32| T::from_f64(x as f64)),
            (DType::I64, _) => convert!(i64, |x: i64| T::from_i64(x)),
            (DType::Bool, _) => convert!(bool, |x: bool| T::from_i64(x as i64)),
        }
        Ok(out)
    }
}
