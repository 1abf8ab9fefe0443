//! Composite ops: functions written only with primitives, so every transform handles them
//! with no rules of their own (softmax, log_softmax, mean, stack, ...), plus tensor creation
//! and the arithmetic operators.

pub mod creation;
pub mod elementwise;
pub mod linalg;
pub mod losses;
pub mod nn;
pub mod one_hot;
pub mod operators;
pub mod reductions;
pub mod shape;

use crate::testing::OpInfo;

/// The composites' test-table entries.
pub fn op_table() -> Vec<OpInfo> {
    let mut table = Vec::new();
    table.extend(creation::op_info());
    table.extend(elementwise::op_info());
    table.extend(linalg::op_info());
    table.extend(reductions::op_info());
    table.extend(shape::op_info());
    table.extend(one_hot::op_info());
    table.extend(losses::op_info());
    table.extend(nn::op_info());
    table
}
