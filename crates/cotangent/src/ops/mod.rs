//! Composite ops: functions written only with primitives, so every transform handles them
//! with no rules of their own (softmax, log_softmax, mean, stack, ...), plus tensor creation
//! and the arithmetic operators.

pub mod creation;
pub mod operators;

use crate::testing::OpInfo;

/// The composites' test-table entries.
pub fn op_table() -> Vec<OpInfo> {
    let mut table = Vec::new();
    table.extend(creation::op_info());
    table
}
