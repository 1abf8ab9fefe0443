//! Errors. Misuse of an op (a shape mismatch, a dim out of range) panics with the message of
//! an [`Error::Op`] from the infallible op and returns it from the `try_` twin; operations on
//! outside data (building a tensor from a slice, reading a file) return `Result`.

use std::fmt;

/// Everything that can go wrong in cotangent.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Error {
    /// An op was called with arguments it cannot accept. `op` is the op's torch name;
    /// `msg` names the shapes or values involved and what would be valid.
    Op {
        /// The op, e.g. `"matmul"`.
        op: &'static str,
        /// What was wrong and what to do instead.
        msg: String,
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
    /// An [`Error::Op`].
    pub fn op(op: &'static str, msg: impl Into<String>) -> Error {
        Error::Op {
            op,
            msg: msg.into(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Op { op, msg } => write!(f, "{op}: {msg}"),
            Error::ShapeData { shape, len } => write!(
                f,
                "shape {shape:?} is invalid for input of size {len}: the shape needs {} elements",
                shape.iter().product::<usize>()
            ),
            Error::Data(msg) => f.write_str(msg),
        }
    }
}

impl std::error::Error for Error {}

/// `Result` with cotangent's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
