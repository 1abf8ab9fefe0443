//! Helpers shared by the primitives' batching rules.
//!
//! Batching rules receive each input with an optional batch axis. Elementwise rules with all
//! inputs batched on the same axis move no data; otherwise the batch axis is moved to the
//! front (a view) and unbatched inputs are broadcast along it (a view with stride 0).

use crate::trace::Tensor;

/// `x` with its batch axis at position 0; an unbatched `x` is broadcast to `size` there.
pub(crate) fn batch_at_front(x: &Tensor, axis: Option<usize>, size: usize) -> Tensor {
    match axis {
        Some(0) => x.clone(),
        Some(a) => x.movedim(a as isize, 0),
        None => {
            let mut shape = vec![size];
            shape.extend_from_slice(x.shape());
            super::broadcast_in_dim::broadcast_in_dim(x, &shape, &(1..=x.dim()).collect::<Vec<_>>())
        }
    }
}

/// The batching rule of every elementwise primitive: `op` applied to inputs that share their
/// batch axis.
pub(crate) fn vmap_elementwise(
    inputs: &[Tensor],
    axes: &[Option<usize>],
    size: usize,
    op: impl FnOnce(&[Tensor]) -> Tensor,
) -> (Tensor, Option<usize>) {
    let first = axes.iter().flatten().next().copied();
    let same =
        axes.iter().all(|a| *a == first) && inputs.windows(2).all(|w| w[0].shape() == w[1].shape());
    if same {
        return (op(inputs), first);
    }
    let moved: Vec<Tensor> = inputs
        .iter()
        .zip(axes)
        .map(|(x, &a)| batch_at_front(x, a, size))
        .collect();
    (op(&moved), Some(0))
}

/// Add two optional tangents or cotangents, keeping symbolic zeros symbolic.
pub(crate) fn add_opt(a: Option<Tensor>, b: Option<Tensor>) -> Option<Tensor> {
    match (a, b) {
        (Some(a), Some(b)) => Some(&a + &b),
        (a, None) => a,
        (None, b) => b,
    }
}

/// `try_bind(prim, inputs)` for a batching rule that moved one batch dim in front of the
/// user's dims: an index error found by the kernel ("index 5 is out of bounds for dimension
/// 1 with size 3") is reported in the user's dims (dimension 0), under `op` if given (a rule
/// that implements one op with another's primitive). Nested vmaps each shift by one.
pub(crate) fn bind_in_user_dims<P: super::Primitive + Clone>(
    op: Option<&'static str>,
    prim: P,
    inputs: &[&Tensor],
) -> Tensor {
    use crate::error::{Error, defer};
    match crate::trace::try_bind(prim, inputs) {
        Ok(out) => out,
        Err(Error::Index { op: own, msg }) => {
            defer(Error::index(op.unwrap_or(own), unbatched_dim(&msg)))
        }
        Err(other) => defer(other),
    }
}

/// `msg` with its "for dimension N" decreased by one (the batch dim in front is gone).
fn unbatched_dim(msg: &str) -> String {
    const KEY: &str = "for dimension ";
    let Some(start) = msg.find(KEY).map(|i| i + KEY.len()) else {
        return msg.to_string();
    };
    let digits = msg[start..].bytes().take_while(u8::is_ascii_digit).count();
    match msg[start..start + digits].parse::<usize>() {
        Ok(d) if d > 0 => format!("{}{}{}", &msg[..start], d - 1, &msg[start + digits..]),
        _ => msg.to_string(),
    }
}
