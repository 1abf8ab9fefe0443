#![doc = include_str!("../../../README.md")]
#![doc(test(attr(deny(warnings))))]

pub mod array;
pub mod error;
pub mod ops;
pub mod primitives;
pub mod testing;
pub mod trace;

pub use array::{DType, Element};
pub use error::{Error, Result};
pub use primitives::add::add;
pub use primitives::div::div;
pub use primitives::mul::mul;
pub use primitives::neg::neg;
pub use primitives::sin::sin;
pub use primitives::sub::sub;
pub use trace::Tensor;
