//! Fallible allocation: a tensor buffer or a kernel temporary that cannot be allocated is an
//! [`Error::Alloc`], never an abort.
//!
//! `vec![x; n]` and `Vec::with_capacity(n)` abort the process when the allocator refuses
//! (Rust's `handle_alloc_error`), so every buffer whose size comes from the data goes through
//! here. Factories turn an [`AllocFailed`] into an error naming their op and shape; kernels,
//! which run below the frontend (maybe on a rayon worker), [`defer`] it with an empty op,
//! and `bind` fills in the op's name and output shape (see Note [Raising at the caller's
//! line] in `error/raise.rs`).

use std::any::TypeId;

use super::DType;
use super::storage::StorageElement;
use crate::error::{Error, defer};

/// An allocation of `bytes` bytes that the allocator refused (or that no allocator could
/// serve: more than `isize::MAX` bytes, reported as `usize::MAX` when the count overflows).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct AllocFailed {
    pub(crate) bytes: usize,
}

impl AllocFailed {
    /// The refusal of `len` elements of `T`.
    pub(crate) fn of<T>(len: usize) -> AllocFailed {
        AllocFailed {
            bytes: len.saturating_mul(std::mem::size_of::<T>()),
        }
    }

    /// The error of a factory: `op` could not allocate a `dtype` tensor of `shape`.
    pub(crate) fn error(self, op: &'static str, shape: &[usize], dtype: DType) -> Error {
        Error::Alloc {
            op,
            shape: shape.to_vec(),
            dtype,
            bytes: self.bytes,
        }
    }

    /// Fail a kernel: the nearest `bind` names the op and its output shape.
    #[cold]
    pub(crate) fn defer(self, dtype: DType) -> ! {
        defer(Error::Alloc {
            op: "",
            shape: Vec::new(),
            dtype,
            bytes: self.bytes,
        })
    }
}

/// `e` with `op` as its op if it is an [`Error::Alloc`]: a composite (`stack`, `repeat`)
/// names the allocation its primitives could not make after itself, the op the user called.
pub(crate) fn alloc_named(op: &'static str, e: Error) -> Error {
    match e {
        Error::Alloc {
            shape,
            dtype,
            bytes,
            ..
        } => Error::Alloc {
            op,
            shape,
            dtype,
            bytes,
        },
        other => other,
    }
}

/// An empty vector with room for exactly `len` elements.
pub(crate) fn try_with_capacity<T>(len: usize) -> Result<Vec<T>, AllocFailed> {
    let mut v = Vec::new();
    v.try_reserve_exact(len)
        .map_err(|_| AllocFailed::of::<T>(len))?;
    Ok(v)
}

/// `len` copies of `value`.
pub(crate) fn try_filled<T: Clone>(len: usize, value: T) -> Result<Vec<T>, AllocFailed> {
    let mut v = try_with_capacity(len)?;
    v.resize(len, value);
    Ok(v)
}

/// `len` zeros (`T::default()`). For the four element types this asks the allocator for
/// zeroed memory, as `vec![0.0; n]` does, so fresh pages are not written twice (once with
/// zeros here, once by the kernel): on a pool miss of a 64 MiB buffer that is ~20% of the
/// kernel's time on our machines.
#[inline]
pub(crate) fn try_zeroed<T: StorageElement>(len: usize) -> Result<Vec<T>, AllocFailed> {
    let id = TypeId::of::<T>();
    let zero_is_default = [
        TypeId::of::<f32>(),
        TypeId::of::<f64>(),
        TypeId::of::<i64>(),
        TypeId::of::<bool>(),
    ]
    .contains(&id);
    if zero_is_default {
        zeroed_plain(len)
    } else {
        try_filled(len, T::default())
    }
}

/// `len` all-zero-bytes values of `T`, which must be one of `f32`, `f64`, `i64` or `bool`
/// (whose all-zero bytes are `0.0`, `0` and `false`, their defaults).
#[allow(unsafe_code)]
#[inline]
fn zeroed_plain<T: 'static>(len: usize) -> Result<Vec<T>, AllocFailed> {
    if len == 0 {
        return Ok(Vec::new());
    }
    let layout = std::alloc::Layout::array::<T>(len).map_err(|_| AllocFailed::of::<T>(len))?;
    // SAFETY: `layout` has non-zero size (`len > 0` and every caller's `T` is not zero-sized).
    let ptr = unsafe { std::alloc::alloc_zeroed(layout) };
    if ptr.is_null() {
        return Err(AllocFailed::of::<T>(len));
    }
    // SAFETY: `ptr` was allocated by the global allocator with the layout of `[T; len]`, the
    // layout a `Vec<T>` of capacity `len` deallocates with; it is non-null and aligned for
    // `T`; its `len` elements are initialised, since all-zero bytes are a valid value of each
    // type `try_zeroed` passes here (checked by `TypeId`).
    Ok(unsafe { Vec::from_raw_parts(ptr.cast::<T>(), len, len) })
}

/// [`try_zeroed`] in a kernel: a refusal is deferred as the kernel's `Error::Alloc`.
#[inline]
pub(crate) fn zeroed_or_defer<T: StorageElement>(len: usize) -> Vec<T> {
    match try_zeroed(len) {
        Ok(v) => v,
        Err(e) => e.defer(T::DTYPE),
    }
}

/// [`try_filled`] in a kernel working in `dtype`.
pub(crate) fn filled_or_defer<T: Clone>(len: usize, value: T, dtype: DType) -> Vec<T> {
    match try_filled(len, value) {
        Ok(v) => v,
        Err(e) => e.defer(dtype),
    }
}

/// [`try_with_capacity`] in a kernel working in `dtype`.
pub(crate) fn with_capacity_or_defer<T>(len: usize, dtype: DType) -> Vec<T> {
    match try_with_capacity(len) {
        Ok(v) => v,
        Err(e) => e.defer(dtype),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zeroed_vectors_hold_defaults() {
        assert_eq!(try_zeroed::<f32>(3).unwrap(), vec![0.0; 3]);
        assert_eq!(try_zeroed::<bool>(2).unwrap(), vec![false; 2]);
        assert_eq!(try_zeroed::<i64>(0).unwrap(), Vec::<i64>::new());
        assert_eq!(try_filled(2, 7u8).unwrap(), vec![7, 7]);
    }

    #[test]
    fn refusals_report_their_bytes() {
        // More than isize::MAX bytes: no allocator can serve it, whatever the overcommit.
        assert_eq!(
            try_zeroed::<f64>(1 << 60).unwrap_err(),
            AllocFailed { bytes: 1 << 63 }
        );
        assert_eq!(
            try_filled(1 << 61, 0.5f64).unwrap_err(),
            AllocFailed { bytes: usize::MAX }
        );
    }
}
