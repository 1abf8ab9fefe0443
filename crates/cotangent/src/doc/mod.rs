//! Documentation-only modules.

pub mod torch_for_rust_users;
