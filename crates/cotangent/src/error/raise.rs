//! How an [`Error`] reaches the user: a panic at the user's own line, or an `Err` from
//! [`catch`] and the `try_` forms.
//! See Note [Raising at the caller's line] below.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::panic::{self, AssertUnwindSafe, Location, PanicHookInfo};
use std::sync::{Arc, Once};

use super::{Error, Result};

// Note [Raising at the caller's line]
// ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
// Every public op, method, operator and transform is `#[track_caller]` down to [`raise`], so
// the panic reports the line that called the op, not a line of the library. Three things
// would lose that line, and each has its answer here:
//
// - Closures cannot be `#[track_caller]` on stable Rust, so `unwrap_or_else(|e| panic!(..))`
//   reports the closure. [`OrRaise::or_raise`] is a method instead.
// - Some errors are found below the op's frontend: a kernel that cannot allocate its
//   output, or a transform's rule that fails inside `bind`. Those call [`defer`], which
//   unwinds quietly (no hook, no message) with the error as its payload, to the nearest
//   [`boundary`]: `bind` puts one around every evaluation and every interpreter call, and
//   raises the error again at *its* caller. Rules bind again inside a boundary, so an error
//   hops outwards boundary by boundary until it reaches the user's op, and is printed once.
//   While a boundary is open on this thread, [`raise`] itself defers.
// - A transform returns a closure, and the user calls the closure: the line of that call is
//   out of reach. The transform records where it was created (`grad(f)`, usually the same
//   line) and raises its own errors with [`raise_at`] that location; the panic hook prints
//   it in place of the library's line.
//
// The panic payload stays the message as a `String` (what `#[should_panic(expected)]` and
// every hook read); the typed error waits in a thread-local for [`catch`], which checks that
// the payload is that error's message before returning it. The hook is installed once, on
// the first error, and forwards everything that is not a cotangent error to the hook that
// was there before; inside [`catch`] it prints nothing, since the error is returned.

/// The error a deferred failure carries to the nearest [`boundary`].
struct Deferred(Error);

/// The error behind the panic this thread raised last, with its message and the location
/// to print (`None`: the panic's own, which is the caller's line).
struct Raised {
    error: Error,
    message: String,
    location: Option<&'static Location<'static>>,
}

thread_local! {
    static RAISED: RefCell<Option<Raised>> = const { RefCell::new(None) };
    /// Set just before [`raise`] panics; the hook takes it to know the panic is ours.
    static RAISING: Cell<bool> = const { Cell::new(false) };
    /// How many [`catch`] calls are open on this thread (the hook stays quiet inside one).
    static CATCHING: Cell<u32> = const { Cell::new(0) };
    /// How many [`boundary`] calls are open on this thread.
    static BOUNDARIES: Cell<u32> = const { Cell::new(0) };
}

/// Panic with `error` at the caller's line (see Note [Raising at the caller's line]).
#[track_caller]
pub(crate) fn raise(error: Error) -> ! {
    raise_at(error, None)
}

/// Panic with `error`, printed as raised at `location` when one is given (a transform's
/// creation site) and at the caller's line otherwise.
#[track_caller]
pub(crate) fn raise_at(error: Error, location: Option<&'static Location<'static>>) -> ! {
    if BOUNDARIES.get() > 0 {
        panic::resume_unwind(Box::new(Deferred(error)));
    }
    install_hook();
    let message = error.to_string();
    RAISED.set(Some(Raised {
        error,
        message: message.clone(),
        location,
    }));
    RAISING.set(true);
    panic!("{message}")
}

/// Fail from below an op's frontend (a kernel, a rule): the error travels to the nearest
/// [`boundary`], which raises it at its caller's line. Also right on a rayon worker thread,
/// whose panic payload rayon carries to the thread that waits for it.
pub(crate) fn defer(error: Error) -> ! {
    if BOUNDARIES.get() == 0 && rayon::current_thread_index().is_none() {
        // No boundary to catch it (a kernel called outside `bind`): raise it here.
        raise_at(error, None)
    }
    panic::resume_unwind(Box::new(Deferred(error)))
}

/// Closes a [`boundary`] or [`catch`] counter, also during unwinding.
struct CountGuard(&'static std::thread::LocalKey<Cell<u32>>);

impl CountGuard {
    fn enter(counter: &'static std::thread::LocalKey<Cell<u32>>) -> CountGuard {
        counter.set(counter.get() + 1);
        CountGuard(counter)
    }
}

impl Drop for CountGuard {
    fn drop(&mut self) {
        // `try_with`: during thread teardown the counter may already be gone.
        let _ = self.0.try_with(|c| c.set(c.get().saturating_sub(1)));
    }
}

/// Run `f` (the evaluation of a primitive, or an interpreter's processing of one) and return
/// the error deferred inside it, if any, for the caller to raise at its own caller's line
/// (or to return, in a `try_` form).
#[inline]
pub(crate) fn boundary<T>(f: impl FnOnce() -> T) -> Result<T> {
    let guard = CountGuard::enter(&BOUNDARIES);
    let result = panic::catch_unwind(AssertUnwindSafe(f));
    drop(guard);
    result.map_err(|payload| match payload.downcast::<Deferred>() {
        Ok(deferred) => deferred.0,
        Err(other) => panic::resume_unwind(other),
    })
}

/// Run `f`, returning any cotangent error raised inside it (by an op, a transform or `nn`)
/// as `Err` instead of a panic, and printing nothing for it; a panic that is not a cotangent
/// error (the closure's own `panic!`, a failed `assert!`) keeps unwinding. The `try_` forms
/// of the transforms are this around the transform.
///
/// The library stays usable afterwards: every transform frame opened inside `f` has been
/// closed. Values `f` was mutating may be left part-way, as after any unwinding. Needs
/// `panic = "unwind"` (the default); with `panic = "abort"` a failure aborts.
///
/// ```
/// use cotangent::{Error, Tensor, catch};
/// let (a, b) = (Tensor::ones(&[2, 3]), Tensor::ones(&[4, 5]));
/// let err = catch(|| a.matmul(&b)).unwrap_err();
/// assert!(matches!(err, Error::Shape { op: "matmul", .. }));
/// assert!(catch(|| a.matmul(&b.reshape(&[5, 4]).narrow(0, 0, 3))).is_ok());
/// ```
pub fn catch<T>(f: impl FnOnce() -> T) -> Result<T> {
    install_hook();
    let guard = CountGuard::enter(&CATCHING);
    // Errors inside `f` are raised with this catch's boundary count (none of them open).
    let outer_boundaries = BOUNDARIES.replace(0);
    let result = panic::catch_unwind(AssertUnwindSafe(f));
    BOUNDARIES.set(outer_boundaries);
    drop(guard);
    result.map_err(|payload| match into_error(payload) {
        Ok(error) => error,
        Err(foreign) => panic::resume_unwind(foreign),
    })
}

/// [`catch`] for a computation that returns its own `Result`: the `try_` forms of the
/// transforms.
pub(crate) fn catch_result<T>(f: impl FnOnce() -> Result<T>) -> Result<T> {
    catch(f)?
}

/// The cotangent error behind a panic payload, or the payload back if it is not one.
fn into_error(payload: Box<dyn Any + Send>) -> Result<Error, Box<dyn Any + Send>> {
    let payload = match payload.downcast::<Deferred>() {
        Ok(deferred) => return Ok(deferred.0),
        Err(other) => other,
    };
    let message = payload
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| payload.downcast_ref::<&str>().copied());
    match (message, RAISED.take()) {
        (Some(message), Some(raised)) if raised.message == message => Ok(raised.error),
        _ => Err(payload),
    }
}

/// `unwrap` for cotangent results that raises the error at the caller's line (a method, so
/// `#[track_caller]` reaches it; a closure would report itself).
pub(crate) trait OrRaise<T> {
    /// The value, or the error raised at the caller's line.
    fn or_raise(self) -> T;
    /// The value, or the error raised as if at `site` (where a transform was created).
    fn or_raise_at(self, site: &'static Location<'static>) -> T;
}

impl<T> OrRaise<T> for Result<T> {
    #[track_caller]
    fn or_raise(self) -> T {
        match self {
            Ok(value) => value,
            Err(error) => raise(error),
        }
    }

    #[track_caller]
    fn or_raise_at(self, site: &'static Location<'static>) -> T {
        match self {
            Ok(value) => value,
            Err(error) => raise_at(error, Some(site)),
        }
    }
}

type Hook = Box<dyn Fn(&PanicHookInfo<'_>) + Sync + Send + 'static>;

/// Wrap the current panic hook once (see Note [Raising at the caller's line]).
fn install_hook() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let previous: Arc<Hook> = Arc::new(panic::take_hook());
        panic::set_hook(Box::new(move |info| hook(info, &previous)));
    });
}

fn hook(info: &PanicHookInfo<'_>, previous: &Hook) {
    let ours = RAISING.try_with(|r| r.replace(false)).unwrap_or(false);
    if !ours {
        return previous(info);
    }
    if CATCHING.try_with(Cell::get).unwrap_or(0) > 0 {
        return;
    }
    let location = RAISED
        .try_with(|r| r.borrow().as_ref().and_then(|r| r.location))
        .ok()
        .flatten();
    match location {
        None => previous(info),
        Some(location) => print_panic(location, info),
    }
}

/// What the default hook prints, at `location` instead of the panic's own.
fn print_panic(location: &Location<'_>, info: &PanicHookInfo<'_>) {
    use std::io::Write;
    let thread = std::thread::current();
    let name = thread.name().unwrap_or("<unnamed>");
    let message = info
        .payload()
        .downcast_ref::<String>()
        .map(String::as_str)
        .unwrap_or("");
    let backtrace = std::backtrace::Backtrace::capture();
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "\nthread '{name}' panicked at {location}:\n{message}");
    match backtrace.status() {
        std::backtrace::BacktraceStatus::Captured => {
            let _ = writeln!(err, "stack backtrace:\n{backtrace}");
        }
        _ => {
            let _ = writeln!(
                err,
                "note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace"
            );
        }
    }
}
