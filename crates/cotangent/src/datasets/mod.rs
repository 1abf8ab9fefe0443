//! Small real data sets that ship with the crate, for examples and tests.
//!
//! [`load_digits_default`] reads the UCI handwritten digits (1797 images of 8x8 pixels) from
//! the copy in `crates/cotangent/data/`, so examples run on a fresh machine without a
//! download; [`Digits::split`] makes a seeded train/test split.

mod digits;

pub use digits::{Digits, load_digits, load_digits_default};
