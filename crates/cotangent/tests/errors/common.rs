//! The catalogue's check and its table macros.

use cotangent::{Error, Tensor, catch, grad};

/// The variant a case expects, by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Variant {
    Shape,
    DType,
    Index,
    Value,
    Transform,
    Alloc,
    ShapeData,
    Data,
}

fn variant_of(error: &Error) -> Option<Variant> {
    Some(match error {
        Error::Shape { .. } => Variant::Shape,
        Error::DType { .. } => Variant::DType,
        Error::Index { .. } => Variant::Index,
        Error::Value { .. } => Variant::Value,
        Error::Transform { .. } => Variant::Transform,
        Error::Alloc { .. } => Variant::Alloc,
        Error::ShapeData { .. } => Variant::ShapeData,
        Error::Data(_) => Variant::Data,
        _ => return None,
    })
}

/// Names a message may not start with after its op's prefix: a second prefix.
const PREFIXES: &[&str] = &[
    "vmap",
    "grad",
    "vjp",
    "jvp",
    "jacrev",
    "jacfwd",
    "hessian",
    "linearize",
    "argnums",
    "pytree",
    "vjp_fn",
    "functional_call",
];

/// Check one case's outcome: an error of `variant`, naming `op`, whose message contains
/// `expected`; then that the library still works.
#[track_caller]
pub fn check(name: &str, outcome: Result<(), Error>, variant: Variant, op: &str, expected: &str) {
    let error = match outcome {
        Ok(()) => panic!("{name}: expected a {variant:?} error from {op:?}, got no error"),
        Err(error) => error,
    };
    let message = error.to_string();
    if std::env::var_os("CATALOGUE_DUMP").is_some() {
        eprintln!(
            "CATALOGUE {name} | {:?} | {} | {message}",
            variant_of(&error),
            error.op()
        );
    }
    assert_eq!(
        variant_of(&error),
        Some(variant),
        "{name}: wrong variant for {message:?}"
    );
    assert_eq!(error.op(), op, "{name}: wrong op in {message:?}");
    assert!(
        message.contains(expected),
        "{name}: message {message:?} lacks {expected:?}"
    );
    let lower = message.to_lowercase();
    for bad in ["pytorch", "github", "functorch", "tracker"] {
        assert!(
            !lower.contains(bad),
            "{name}: message {message:?} mentions {bad:?}"
        );
    }
    if let Some(rest) = message.strip_prefix(&format!("{op}: ")) {
        for p in PREFIXES.iter().chain([&op]) {
            assert!(
                !rest.starts_with(&format!("{p}: ")),
                "{name}: message {message:?} has two prefixes"
            );
        }
    }
    library_works(name);
}

/// A small op and a small transform give their known values (no frame left open, no
/// thread-local state left behind by the failure).
#[track_caller]
pub fn library_works(name: &str) {
    let x = Tensor::new([1.0f32, 2.0]);
    assert_eq!(
        (&x + &x).sum().item::<f32>(),
        6.0,
        "{name}: eager ops broke"
    );
    let g = grad(|x: Tensor| (&x * &x).sum())(x);
    assert_eq!(g.to_vec::<f32>(), vec![2.0, 4.0], "{name}: grad broke");
    assert!(g.is_concrete(), "{name}: a transform frame was left open");
}

/// Run `f`, which should panic with a cotangent error.
pub fn panics<T>(f: impl FnOnce() -> T) -> Result<(), Error> {
    catch(f).map(drop)
}

/// Run `f`, which should return a cotangent error (a `try_` form, `from_vec`, a loader).
pub fn returns<T>(f: impl FnOnce() -> Result<T, Error>) -> Result<(), Error> {
    catch(f).and_then(|r| r.map(drop))
}

/// One test per row: `name: Variant("op", "part of the message") => expression;`, where
/// the expression should panic with that error.
macro_rules! bad {
    ($($rows:tt)*) => { $crate::common::cases!(panics; $($rows)*); };
}

/// Like [`bad!`], for expressions that return `Result<_, cotangent::Error>`.
macro_rules! bad_result {
    ($($rows:tt)*) => { $crate::common::cases!(returns; $($rows)*); };
}

/// The rows of [`bad!`] and [`bad_result!`]: `outcome` (`panics` or `returns`) turns the
/// expression into a `Result`.
macro_rules! cases {
    ($outcome:ident; $( $(#[$meta:meta])* $name:ident: $variant:ident($op:expr, $msg:expr) => $body:expr; )*) => {
        $(
            $(#[$meta])*
            #[test]
            fn $name() {
                $crate::common::check(
                    stringify!($name),
                    $crate::common::$outcome(|| $body),
                    $crate::common::Variant::$variant,
                    $op,
                    $msg,
                );
            }
        )*
    };
}
pub(crate) use cases;

/// Zeros of `shape` (f32).
pub fn z(shape: &[usize]) -> Tensor {
    Tensor::zeros(shape)
}

/// An `i64` index vector.
pub fn idx<const N: usize>(values: [i64; N]) -> Tensor {
    Tensor::new(values)
}
