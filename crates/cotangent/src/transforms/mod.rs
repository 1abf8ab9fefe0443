//! The transforms, one file each: three interpreters (`jvp`, `vjp`, `vmap`) and the
//! transforms derived from them (`grad`, `jacrev`, `jacfwd`, `hessian`, `linearize`).
//!
//! Read `trace/mod.rs` first (tracers and `bind`), then `jvp.rs`, `vjp.rs` and `vmap.rs`.
//! No file here names a concrete primitive: interpreters call the primitive's own rules.

pub mod grad;
pub mod jacobian;
pub mod jvp;
pub mod vjp;
pub mod vmap;

use smallvec::SmallVec;

use crate::error::{Error, Result};

/// torch.func's `argnums`: which positional arguments to differentiate. An integer gives
/// the gradient of that argument; a tuple gives a tuple of gradients in the order listed.
/// Negative values count from the end.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Argnums {
    /// `argnums=i`
    One(isize),
    /// `argnums=(i, j, ...)`
    Many(Vec<isize>),
}

impl Argnums {
    /// The resolved (non-negative, validated) indices and whether the result is a tuple.
    ///
    /// # Errors
    /// torch's messages for an empty tuple, an index out of range, or repeated indices.
    pub fn resolve(&self, transform: &'static str, num_args: usize) -> Result<(Vec<usize>, bool)> {
        self.resolve_small(transform, num_args)
            .map(|(indices, is_tuple)| (indices.into_vec(), is_tuple))
    }

    /// [`Argnums::resolve`] without allocating for up to four indices (on every `grad` call).
    pub(crate) fn resolve_small(
        &self,
        transform: &'static str,
        num_args: usize,
    ) -> Result<(SmallVec<[usize; 4]>, bool)> {
        let (raw, is_tuple): (&[isize], bool) = match self {
            Argnums::One(i) => (std::slice::from_ref(i), false),
            Argnums::Many(v) => (v, true),
        };
        if raw.is_empty() {
            return Err(Error::transform(transform, "argnums must be non-empty"));
        }
        let n = num_args as isize;
        let mut out = SmallVec::with_capacity(raw.len());
        for &i in raw {
            if i < -n || i >= n {
                return Err(Error::transform(
                    transform,
                    format!("Got argnum={i}, but only {num_args} positional inputs"),
                ));
            }
            let i = if i < 0 { (i + n) as usize } else { i as usize };
            if out.contains(&i) {
                return Err(Error::transform(
                    transform,
                    format!("argnums elements must be unique, got {raw:?}"),
                ));
            }
            out.push(i);
        }
        Ok((out, is_tuple))
    }
}

macro_rules! argnums_from_int {
    ($($t:ty),*) => {$(
        impl From<$t> for Argnums {
            fn from(i: $t) -> Self {
                Argnums::One(i as isize)
            }
        }
    )*};
}
argnums_from_int!(i32, i64, isize, usize);

macro_rules! argnums_from_tuple {
    ($($n:ident),+) => {
        impl<$($n: Into<i64>),+> From<($($n,)+)> for Argnums {
            #[allow(non_snake_case)]
            fn from(t: ($($n,)+)) -> Self {
                let ($($n,)+) = t;
                Argnums::Many(vec![$($n.into() as isize),+])
            }
        }
    };
}
argnums_from_tuple!(A);
argnums_from_tuple!(A, B);
argnums_from_tuple!(A, B, C);
argnums_from_tuple!(A, B, C, D);
argnums_from_tuple!(A, B, C, D, E);
argnums_from_tuple!(A, B, C, D, E, F);

impl From<Vec<isize>> for Argnums {
    fn from(v: Vec<isize>) -> Self {
        Argnums::Many(v)
    }
}

impl From<()> for Argnums {
    /// `argnums=()`: always an error, kept so the error is reachable as in torch.
    fn from(_: ()) -> Self {
        Argnums::Many(vec![])
    }
}
