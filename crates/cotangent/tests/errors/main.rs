//! The error catalogue: bad inputs across every op family and transform, one case each,
//! with the error's variant, the op or transform it names, and a part of its message (torch's
//! words where torch has them).
//!
//! Every case runs inside `cotangent::catch`, so nothing prints; a case that panics with
//! anything but a cotangent error (a failed `assert!`, an index out of bounds in the library,
//! an overflow in a debug build) is re-raised by `catch` and fails its test. After each case
//! the library must still work. Messages are also checked for the faults a user trips on:
//! two prefixes ("vmap: vmap: ..."), and text about PyTorch's internals or tracker.
//!
//! Cases are written as tables with [`bad!`] (ops that panic) and [`bad_result!`] (APIs
//! that return `Result`); each row becomes one named test.

#[macro_use]
mod common;

mod conv_pool;
mod creation;
mod datasets;
mod elementwise;
mod escaped;
mod indexing;
mod linalg;
mod losses;
mod nested;
mod nn;
mod privacy;
mod random;
mod reductions;
mod shape;
mod transforms;
mod trees;
