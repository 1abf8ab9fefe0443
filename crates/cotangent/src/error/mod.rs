//! Errors: what can go wrong ([`Error`], one variant per kind, so callers can match on it),
//! how an error reaches the user (`raise.rs`), and how to handle one without unwinding
//! ([`catch`] and the `try_` forms built on it).
//!
//! Misuse of an op or a transform (a shape mismatch, a dim out of range, a non-scalar output
//! under `grad`) panics at the caller's line with the error's message, like a Python
//! exception raised at the user's call; the `try_` twins return the same error as a
//! `Result`. Operations on outside data (building a tensor from a slice, reading a file)
//! return `Result` directly. See Note [Raising at the caller's line] in `raise.rs`.

mod raise;

pub use raise::catch;
pub(crate) use raise::{OrRaise, boundary, catch_result, defer, raise};

use std::fmt;

use crate::array::DType;

/// Everything that can go wrong in cotangent. Each variant names the op or transform
/// (torch's name) and says what was wrong and what would be valid.
///
/// ```
/// use cotangent::{Error, Tensor};
/// let x = Tensor::zeros(&[2, 3]);
/// match x.try_reshape(&[4]) {
///     Err(Error::Shape { op, msg }) => {
///         assert_eq!(op, "reshape");
///         assert!(msg.contains("invalid for input of size 6"));
///     }
///     other => panic!("expected a shape error, got {other:?}"),
/// }
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Error {
    /// Shapes that do not fit: operands that don't broadcast, matmul's inner dims, a reshape
    /// to another number of elements, a shape whose element count overflows.
    Shape {
        /// The op, e.g. `"matmul"`.
        op: &'static str,
        /// What was wrong and what to do instead.
        msg: String,
    },
    /// An element type the op does not accept (a float index, a bool matmul).
    DType {
        /// The op.
        op: &'static str,
        /// What was wrong and what to do instead.
        msg: String,
    },
    /// A dim or index out of range (dim 3 of a 2-d tensor, a gather index past the end, a
    /// target class not below the number of classes).
    Index {
        /// The op.
        op: &'static str,
        /// What was wrong and what to do instead.
        msg: String,
    },
    /// An argument whose value is invalid (a negative size, a zero step, a NaN bound, a
    /// probability outside [0, 1], a value the dtype cannot hold).
    Value {
        /// The op.
        op: &'static str,
        /// What was wrong and what to do instead.
        msg: String,
    },
    /// A transform used in a way it does not support: `argnums` or `in_dims` that don't fit
    /// the inputs, a non-scalar output under `grad`, `.item()` under `vmap`, a tracer used
    /// after its transform returned.
    Transform {
        /// The transform, e.g. `"vmap"`.
        transform: &'static str,
        /// What was wrong and what to do instead.
        msg: String,
    },
    /// Memory that could not be allocated.
    Alloc {
        /// The op that asked for it.
        op: &'static str,
        /// The shape of the tensor being allocated.
        shape: Vec<usize>,
        /// Its element type.
        dtype: DType,
        /// The bytes requested.
        bytes: usize,
    },
    /// Tensors on different devices in one op, a device that is missing (no driver, no
    /// such ordinal, a build without the `cuda` feature), or a failed device call.
    Device {
        /// The op or call that failed.
        op: &'static str,
        /// What went wrong and what to do.
        msg: String,
    },
    /// The device allocator could not serve a request even after freeing its cache: the
    /// bytes asked for and the allocator's counters (torch's `OutOfMemoryError`).
    OutOfMemory {
        /// The op whose output could not be allocated (empty until the op is known).
        op: &'static str,
        /// The device.
        device: crate::Device,
        /// Bytes requested.
        bytes: usize,
        /// Bytes held by live tensors on the device.
        allocated: usize,
        /// Bytes the allocator holds from the driver (live plus cached).
        reserved: usize,
        /// Free and total device memory as the driver reports them.
        free: usize,
        /// Total device memory.
        total: usize,
    },
    /// Data of the wrong length for a shape.
    ShapeData {
        /// The requested shape.
        shape: Vec<usize>,
        /// The number of elements given.
        len: usize,
    },
    /// Reading or parsing outside data failed.
    Data(String),
}

impl Error {
    /// An [`Error::Shape`].
    pub fn shape(op: &'static str, msg: impl Into<String>) -> Error {
        Error::Shape {
            op,
            msg: msg.into(),
        }
    }

    /// An [`Error::DType`].
    pub fn dtype(op: &'static str, msg: impl Into<String>) -> Error {
        Error::DType {
            op,
            msg: msg.into(),
        }
    }

    /// An [`Error::Index`].
    pub fn index(op: &'static str, msg: impl Into<String>) -> Error {
        Error::Index {
            op,
            msg: msg.into(),
        }
    }

    /// An [`Error::Value`].
    pub fn value(op: &'static str, msg: impl Into<String>) -> Error {
        Error::Value {
            op,
            msg: msg.into(),
        }
    }

    /// An [`Error::Transform`].
    pub fn transform(transform: &'static str, msg: impl Into<String>) -> Error {
        Error::Transform {
            transform,
            msg: msg.into(),
        }
    }

    /// The op or transform the error names (`""` for [`Error::ShapeData`] and
    /// [`Error::Data`], which come from outside data).
    pub fn op(&self) -> &'static str {
        match self {
            Error::Shape { op, .. }
            | Error::DType { op, .. }
            | Error::Index { op, .. }
            | Error::Value { op, .. }
            | Error::Alloc { op, .. }
            | Error::Device { op, .. }
            | Error::OutOfMemory { op, .. } => op,
            Error::Transform { transform, .. } => transform,
            Error::ShapeData { .. } | Error::Data(_) => "",
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Shape { op, msg }
            | Error::DType { op, msg }
            | Error::Index { op, msg }
            | Error::Value { op, msg } => write!(f, "{op}: {msg}"),
            // torch words some transform errors as a call, "vmap(f, in_dims=(0,), ...)(<inputs>):
            // ...": that already names the transform.
            Error::Transform { transform, msg } if msg.starts_with(&format!("{transform}(")) => {
                f.write_str(msg)
            }
            Error::Transform { transform, msg } => write!(f, "{transform}: {msg}"),
            Error::Alloc {
                op,
                shape,
                dtype,
                bytes,
            } => write!(
                f,
                "{op}: can't allocate memory: you tried to allocate {bytes} bytes for a {dtype} \
                 tensor of shape {shape:?}. Free other tensors, or compute in smaller pieces \
                 (vmap's and jacrev's chunk_size)"
            ),
            Error::Device { op, msg } => write!(f, "{op}: {msg}"),
            Error::OutOfMemory {
                op,
                device,
                bytes,
                allocated,
                reserved,
                free,
                total,
            } => {
                let mib = |b: usize| b as f64 / (1024.0 * 1024.0);
                write!(
                    f,
                    "{op}: {device} out of memory. Tried to allocate {:.2} MiB ({bytes} bytes).                      The device has {:.2} MiB in all, of which {:.2} MiB is free; {:.2} MiB is                      allocated by tensors and {:.2} MiB reserved by cotangent's allocator. Free                      other tensors, call memory::empty_cache, or compute in smaller pieces                      (vmap's and jacrev's chunk_size)",
                    mib(*bytes),
                    mib(*total),
                    mib(*free),
                    mib(*allocated),
                    mib(*reserved)
                )
            }
            Error::ShapeData { shape, len } => match crate::array::layout::checked_numel(shape) {
                Some(n) => write!(
                    f,
                    "shape {shape:?} is invalid for input of size {len}: the shape needs {n} \
                     elements"
                ),
                None => write!(
                    f,
                    "shape {shape:?} is invalid for input of size {len}: its number of \
                     elements overflows"
                ),
            },
            Error::Data(msg) => f.write_str(msg),
        }
    }
}

impl std::error::Error for Error {}

/// `Result` with cotangent's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
