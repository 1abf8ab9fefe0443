//! The frame stack: which transforms are live on this thread, innermost last.
//!
//! Each call of a transform (`jvp`, `vjp`/`grad`, `vmap`) pushes a [`Frame`] for exactly the
//! duration of the call and pops it through a [`FrameGuard`], so a panic inside the
//! transformed function unwinds the stack cleanly and the library stays usable.
//!
//! Note [Levels and perturbation confusion]: every frame gets a unique id and its position in
//! the stack (its level). A tracer records both. `bind` hands a primitive to the frame of the
//! highest level among its arguments; that frame unboxes only *its own* tracers and treats
//! everything else (concrete arrays, tracers of older frames) as constants. So in
//! `grad(|x| x * grad(|y| x + y)(1.0))`, the inner frame sees `x` as a constant and its
//! derivative with respect to `y` is 1, not 2.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use super::Tensor;
use crate::primitives::DynPrimitive;

/// Which live frame a tracer belongs to: its level, its unique id, and the transform the
/// user called (kept by each tracer for messages once the frame is gone).
#[derive(Clone, Copy, Debug)]
pub(crate) struct FrameRef {
    pub(crate) level: usize,
    pub(crate) id: u64,
    pub(crate) transform: &'static str,
}

/// A transform's way of running a primitive on values some of which are its tracers.
pub(crate) trait Interpreter {
    /// Apply `prim` to `inputs`, at least one of which is a tracer of `frame`.
    fn process(&self, frame: FrameRef, prim: &dyn DynPrimitive, inputs: &[&Tensor]) -> Tensor;
    /// Apply a random draw whose inputs are all constants (none, or a concrete probability)
    /// while this frame is the innermost one that can see it. Only `vmap` does anything but
    /// evaluate it below.
    fn process_nullary(
        &self,
        frame: FrameRef,
        prim: &dyn DynPrimitive,
        constants: &[&Tensor],
    ) -> Option<Tensor> {
        let _ = (frame, prim, constants);
        None
    }
}

/// One live transform call.
pub(crate) struct Frame {
    pub(crate) id: u64,
    /// The transform the user called (`grad`, `jacrev`), for messages about its tracers.
    pub(crate) transform: &'static str,
    pub(crate) interpreter: Rc<dyn Interpreter>,
}

thread_local! {
    static STACK: RefCell<Vec<Frame>> = const { RefCell::new(Vec::new()) };
    /// Frames at or above this level are invisible to `bind` (while a frame processes a
    /// primitive, its rules bind one level down). `usize::MAX` = everything is visible.
    static CEILING: Cell<usize> = const { Cell::new(usize::MAX) };
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// Numbers threads in the order they first create a tracer, so a tracer records its
/// thread in four bytes and a use on another thread gets its own error.
static NEXT_THREAD: AtomicU32 = AtomicU32::new(1);

thread_local! {
    static THREAD_NUMBER: Cell<u32> = const { Cell::new(0) };
}

/// This thread's number (see [`NEXT_THREAD`]).
pub(crate) fn thread_number() -> u32 {
    THREAD_NUMBER.with(|n| {
        if n.get() == 0 {
            n.set(NEXT_THREAD.fetch_add(1, Ordering::Relaxed));
        }
        n.get()
    })
}

/// Pops its frame when dropped, also during a panic.
pub(crate) struct FrameGuard {
    frame: FrameRef,
}

impl FrameGuard {
    /// The frame it keeps live.
    pub(crate) fn frame(&self) -> FrameRef {
        self.frame
    }
}

impl Drop for FrameGuard {
    fn drop(&mut self) {
        STACK.with(|s| {
            let mut s = s.borrow_mut();
            // Inner guards drop first, so this frame is on top unless a guard leaked.
            debug_assert_eq!(s.len(), self.frame.level + 1, "frame stack out of order");
            if s.last().is_some_and(|f| f.id == self.frame.id) {
                s.pop();
            }
        });
    }
}

/// Push a frame for `interpreter`, on behalf of the user's `transform`; it is live until the
/// guard drops.
pub(crate) fn push_frame(
    transform: &'static str,
    make: impl FnOnce(u64) -> Rc<dyn Interpreter>,
) -> FrameGuard {
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    let interpreter = make(id);
    let level = STACK.with(|s| {
        let mut s = s.borrow_mut();
        s.push(Frame {
            id,
            transform,
            interpreter,
        });
        s.len() - 1
    });
    FrameGuard {
        frame: FrameRef {
            level,
            id,
            transform,
        },
    }
}

/// `true` while the frame `id` at `level` is on this thread's stack.
pub(crate) fn is_live(level: usize, id: u64) -> bool {
    STACK.with(|s| s.borrow().get(level).is_some_and(|f| f.id == id))
}

/// `true` when no transform is live on this thread (the eager fast path).
pub(crate) fn no_frames() -> bool {
    STACK.with(|s| s.borrow().is_empty())
}

/// The interpreter of the frame at `level`, if that frame is still the one with `id`.
pub(crate) fn live_interpreter(level: usize, id: u64) -> Option<Rc<dyn Interpreter>> {
    STACK.with(|s| {
        s.borrow()
            .get(level)
            .filter(|f| f.id == id)
            .map(|f| f.interpreter.clone())
    })
}

/// The frames visible from the current dispatch position, innermost first.
pub(crate) fn visible_frames() -> Vec<(FrameRef, Rc<dyn Interpreter>)> {
    let ceiling = CEILING.with(Cell::get);
    STACK.with(|s| {
        s.borrow()
            .iter()
            .enumerate()
            .take(ceiling.min(s.borrow().len()))
            .rev()
            .map(|(level, f)| {
                let frame = FrameRef {
                    level,
                    id: f.id,
                    transform: f.transform,
                };
                (frame, f.interpreter.clone())
            })
            .collect()
    })
}

/// Restores the previous ceiling when dropped.
pub(crate) struct CeilingGuard(usize);

impl Drop for CeilingGuard {
    fn drop(&mut self) {
        CEILING.with(|c| c.set(self.0));
    }
}

/// Hide the frames at `level` and above until the guard drops.
pub(crate) fn lower_ceiling(level: usize) -> CeilingGuard {
    CeilingGuard(CEILING.with(|c| c.replace(level)))
}
