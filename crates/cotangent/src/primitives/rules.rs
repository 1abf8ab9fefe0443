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
