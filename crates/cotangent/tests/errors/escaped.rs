//! Tracers out of their transform: stored and used after it returned (escaped), or sent to
//! another thread while it is live. Both are errors naming the op and the transform, never
//! a silently wrong value.

use std::cell::RefCell;

use cotangent::{Error, Tensor, catch, grad, jacrev, jvp, vjp, vmap};

fn x3() -> Tensor {
    Tensor::new([1.0f64, 2.0, 3.0])
}

thread_local! {
    static STASH: RefCell<Option<Tensor>> = const { RefCell::new(None) };
}

fn stash(t: &Tensor) {
    STASH.with(|s| *s.borrow_mut() = Some(t.clone()));
}

fn stashed() -> Tensor {
    STASH
        .with(|s| s.borrow_mut().take())
        .expect("the transform stashed a tracer")
}

/// Use `t` on a spawned thread, returning what the op gave there.
fn on_other_thread(t: &Tensor) -> Result<Tensor, Error> {
    let t = t.clone();
    std::thread::spawn(move || catch(|| &t + &t))
        .join()
        .expect("the thread returns")
}

// What `on_other_thread` gave for a tracer of a live transform.
thread_local! {
    static FROM_THREAD: RefCell<Option<Result<Tensor, Error>>> = const { RefCell::new(None) };
}

fn send_from_inside(t: &Tensor) {
    let r = on_other_thread(t);
    FROM_THREAD.with(|s| *s.borrow_mut() = Some(r));
}

fn from_thread() -> Result<Tensor, Error> {
    FROM_THREAD
        .with(|s| s.borrow_mut().take())
        .expect("the function sent a tracer")
}

bad! {
    escaped_vmap_tracer: Transform("vmap", "add encountered a tracer of a vmap that has already returned (an escaped tracer): a value computed inside the transformed function was stored and used after the transform finished; return it from the function instead") =>
        { vmap(|x: Tensor| { stash(&x); x.sin() })(x3()); &stashed() + &x3() };
    escaped_grad_tracer: Transform("grad", "mul encountered a tracer of a grad that has already returned (an escaped tracer)") =>
        { grad(|x: Tensor| { stash(&x); x.sum() })(x3()); &stashed() * &x3() };
    escaped_jvp_tracer: Transform("jvp", "sin encountered a tracer of a jvp that has already returned") =>
        { jvp(|x: Tensor| { stash(&x); x.sin() }, x3(), x3()); stashed().sin() };
    escaped_vjp_tracer: Transform("vjp", "encountered a tracer of a vjp that has already returned") =>
        { let _ = vjp(|x: Tensor| { stash(&x); x.sin() }, x3()); stashed().exp() };
    escaped_jacrev_tracer: Transform("jacrev", "reshape encountered a tracer of a jacrev that has already returned") =>
        { jacrev::<_, _, Tensor, _>(|x: Tensor| { stash(&x); x.sin() })(x3()); stashed().reshape(&[3, 1]) };
    escaped_tracer_into_another_transform: Transform("grad", "encountered a tracer of a grad that has already returned") =>
        { grad(|x: Tensor| { stash(&x); x.sum() })(x3()); let t = stashed(); vmap(move |y: Tensor| &y + &t)(x3()) };
    escaped_tracer_item: Transform("vmap", "has already returned") =>
        { vmap(|x: Tensor| { stash(&x); x.sin() })(x3()); stashed().item::<f64>() };
}

bad_result! {
    vmap_tracer_on_another_thread: Transform("vmap", "add was given a tracer of a vmap running on another thread: a value inside a transformed function belongs to the thread that called the transform. Compute with it inside the function on that thread, or return it from the function and send the result") =>
        { vmap(|x: Tensor| { send_from_inside(&x); x.sin() })(x3()); from_thread() };
    grad_tracer_on_another_thread: Transform("grad", "add was given a tracer of a grad running on another thread") =>
        { grad(|x: Tensor| { send_from_inside(&x); x.sum() })(x3()); from_thread() };
    jvp_tracer_on_another_thread: Transform("jvp", "was given a tracer of a jvp running on another thread") =>
        { jvp(|x: Tensor| { send_from_inside(&x); x.sin() }, x3(), x3()); from_thread() };
}
