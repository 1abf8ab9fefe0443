//! The kernel interface between primitives and devices.
//!
//! [`Backend`] is the small set of kernels every device provides. Elementwise kernels are
//! generic over a kernel type ([`UnaryKernel`], [`BinaryKernel`]) that a primitive file
//! defines next to its rules, so adding an elementwise primitive adds no backend code. The
//! free functions below pick the backend from the arrays' device (one match arm per
//! device) after checking that an op's arrays share one, with torch's message when they do
//! not.
//!
//! Note [Host scalars on a device]: as in torch, a CPU tensor holding one value may meet
//! tensors of any device: `x * 2.0` makes a 0-d CPU tensor, and so do the constants in the
//! rules. Such an operand is copied to the others' device (as a kernel parameter, through a
//! per-device cache of constants, so no host copy and no wait); every other mix of devices is
//! an [`Error::Device`].

pub mod cpu;
#[cfg(feature = "cuda")]
pub mod cuda;

use std::borrow::Cow;
use std::sync::atomic::{AtomicU64, Ordering};

use super::{Array, DType, Device, Dims, FloatElement};
use crate::error::{Error, defer};

/// Kernel invocations since the process started (see [`kernel_calls`]).
static KERNEL_CALLS: AtomicU64 = AtomicU64::new(0);

/// Count one kernel invocation (a relaxed increment: a few nanoseconds, no ordering).
#[inline]
fn count() {
    KERNEL_CALLS.fetch_add(1, Ordering::Relaxed);
}

/// How many backend kernels have run in this process, on any thread: every call of the free
/// functions below that reaches a device counts once. Layout-only views (transpose, reshape,
/// broadcast, slicing) and the no-op cases of [`cast`] and [`contiguous`] run no kernel and
/// do not count. Read it before and after a computation to see how many kernels it launched
/// (the test that `vmap(grad(f))` never loops per example does this); other threads' work
/// counts too, so measure with nothing else running.
pub fn kernel_calls() -> u64 {
    KERNEL_CALLS.load(Ordering::Relaxed)
}

/// An elementwise unary function, given once for every float type.
pub trait UnaryKernel: 'static {
    /// The op's name, for messages.
    const NAME: &'static str;
    /// The function as a CUDA C expression in `x` of type `T` (the CUDA backend compiles it
    /// for every dtype the op accepts, so it must be valid for each; the `ct_*` helpers of
    /// `cuda/source.rs` are overloaded for that). Required in every build, so an elementwise
    /// primitive is one file whatever the features.
    const CUDA: &'static str;
    /// Device functions the expression calls, if any beyond the prelude's.
    const CUDA_HELPERS: &'static str = "";
    /// The function on floats.
    fn float<T: FloatElement>(x: T) -> T;
    /// The function on integers, if the op accepts them (neg, abs, sign).
    const INT: Option<fn(i64) -> i64> = None;
    /// The function on bools, if the op accepts them (logical_not, sign).
    const BOOL: Option<fn(bool) -> bool> = None;
}

/// An elementwise binary function on equal shapes and dtypes.
pub trait BinaryKernel: 'static {
    /// The op's name, for messages.
    const NAME: &'static str;
    /// The function as a CUDA C expression in `a` and `b` of type `T`; see
    /// [`UnaryKernel::CUDA`].
    const CUDA: &'static str;
    /// Device functions the expression calls, if any beyond the prelude's.
    const CUDA_HELPERS: &'static str = "";
    /// The function on floats.
    fn float<T: FloatElement>(a: T, b: T) -> T;
    /// The function on integers, if the op accepts them.
    const INT: Option<fn(i64, i64) -> i64> = None;
    /// The function on bools, if the op accepts them (logical and/or/xor).
    const BOOL: Option<fn(bool, bool) -> bool> = None;
}

/// Comparisons produce bool arrays.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Comparison {
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

/// Reductions over a set of axes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ReduceOp {
    /// Sum (identity 0).
    Sum,
    /// Maximum (NaN propagates; no identity: empty reductions are rejected above).
    Max,
    /// Minimum (NaN propagates).
    Min,
    /// Product (identity 1).
    Prod,
}

/// An index outside its dim, found by an indexing kernel before any data moved. Displays as
/// torch's message: "index 7 is out of bounds for dimension 0 with size 3".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IndexOutOfBounds {
    /// The offending index value.
    pub index: i64,
    /// The dim it indexes.
    pub dim: usize,
    /// That dim's size.
    pub size: usize,
}

impl std::fmt::Display for IndexOutOfBounds {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "index {} is out of bounds for dimension {} with size {}",
            self.index, self.dim, self.size
        )
    }
}

/// Distributions the random kernels draw from. Every draw is a pure function of its
/// [`RngState`] (Philox4x32-10, counter-based; see `cpu::random`), so results do not depend
/// on the thread count.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Distribution {
    /// Uniform on `[0, 1)` (float dtypes).
    Uniform,
    /// Standard normal (float dtypes).
    Normal,
    /// Uniform integers in `[low, high)` (`i64`).
    RandInt {
        /// Smallest value.
        low: i64,
        /// One past the largest value (`high > low`).
        high: i64,
    },
    /// A uniformly random permutation of `0..n` (`i64`, 1-d shape `[n]`).
    RandPerm,
}

/// A position in the random stream: the Philox key (`seed`) and the first 128-bit counter
/// block of the next draw (`offset`). The global generator's state (torch's
/// `get_rng_state`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RngState {
    /// The seed (Philox key).
    pub seed: u64,
    /// Counter blocks already consumed.
    pub offset: u64,
}

/// The dimension numbers of a `dot_general` (XLA's DotDimensionNumbers): `lhs_batch[i]`
/// pairs with `rhs_batch[i]`, `lhs_contract[i]` with `rhs_contract[i]`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct DotDims {
    /// Batch dims of the left operand.
    pub lhs_batch: Dims,
    /// Batch dims of the right operand.
    pub rhs_batch: Dims,
    /// Contracting (summed) dims of the left operand.
    pub lhs_contract: Dims,
    /// Contracting dims of the right operand.
    pub rhs_contract: Dims,
}

/// Parameters of a 2-d convolution (torch's `conv2d` arguments, each `[height, width]`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Conv2dParams {
    /// Step between windows.
    pub stride: [usize; 2],
    /// Zeros added on both sides.
    pub padding: [usize; 2],
    /// Step between kernel taps.
    pub dilation: [usize; 2],
    /// Channel groups (`c_in` and `c_out` are divisible by it).
    pub groups: usize,
}

/// Parameters of a 2-d pooling (torch's `max_pool2d` arguments, each `[height, width]`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Pool2dParams {
    /// Window size.
    pub kernel_size: [usize; 2],
    /// Step between windows.
    pub stride: [usize; 2],
    /// Implicit `-inf` added on both sides (at most half the window).
    pub padding: [usize; 2],
    /// Step between window taps.
    pub dilation: [usize; 2],
    /// Round the output size up rather than down (a last partial window is kept).
    pub ceil_mode: bool,
}

/// The kernels a device provides. Each returns a new array (views are layout-only and live in
/// [`super::Layout`]).
pub trait Backend {
    /// `K` elementwise.
    fn unary<K: UnaryKernel>(x: &Array) -> Array;
    /// `K` elementwise on equal shapes and dtypes.
    fn binary<K: BinaryKernel>(a: &Array, b: &Array) -> Array;
    /// Elementwise comparison on equal shapes and dtypes; bool output.
    fn compare(a: &Array, b: &Array, op: Comparison) -> Array;
    /// `pred ? a : b` elementwise on equal shapes; `pred` is bool.
    fn select(pred: &Array, a: &Array, b: &Array) -> Array;
    /// Element type conversion (`as` semantics; to bool is `!= 0`).
    fn cast(x: &Array, dtype: DType) -> Array;
    /// A row-major copy.
    fn contiguous(x: &Array) -> Array;
    /// Reduce over `axes` (sorted, unique); the reduced dims are removed.
    fn reduce(x: &Array, axes: &[usize], op: ReduceOp) -> Array;
    /// Index of the max (`max`) or min along `axis`, which is removed; `i64` output. First
    /// occurrence wins and NaN counts as the extreme (torch). The axis must be non-empty.
    fn arg_reduce(x: &Array, axis: usize, max: bool) -> Array;
    /// `out[p] = x[p with p[axis] = index[p]]` for each position `p` of `index` (`i64`, of
    /// `x`'s rank, no larger than `x` except along `axis`; any view, broadcasts included).
    fn gather(x: &Array, axis: usize, index: &Array) -> Result<Array, IndexOutOfBounds>;
    /// A copy of `x` with `src[p]` added at `p with p[axis] = index[p]` for each position `p`
    /// of `index` (which fits inside `src`, and inside `x` except along `axis`).
    fn scatter_add(
        x: &Array,
        axis: usize,
        index: &Array,
        src: &Array,
    ) -> Result<Array, IndexOutOfBounds>;
    /// `xs` (one dtype and rank, equal shapes except along `axis`) joined along `axis`.
    fn concatenate(xs: &[&Array], axis: usize) -> Array;
    /// `x` with `lo[d]` copies of `value` before it and `hi[d]` after it along each dim `d`.
    fn pad(x: &Array, lo: &[usize], hi: &[usize], value: f64) -> Array;
    /// Running sums along `axis` (float or `i64`; `f32` sums are kept in `f64`).
    fn cumsum(x: &Array, axis: usize) -> Array;
    /// A fresh row-major array of `shape` and `dtype` drawn from `dist` at stream position
    /// `key`, which has [`random_blocks`] blocks reserved for it.
    fn random(dist: Distribution, shape: &[usize], dtype: DType, key: RngState) -> Array;
    /// `1` with probability `p` elementwise, else `0`, in `p`'s float dtype; uses the blocks
    /// of a `Uniform` draw of `p`'s shape and dtype.
    fn bernoulli(p: &Array, key: RngState) -> Array;
    /// XLA's DotGeneral on equal dtypes (float or `i64`): sum over the contracting dims,
    /// output dims are the batch dims, then `lhs`'s free dims, then `rhs`'s.
    fn dot_general(lhs: &Array, rhs: &Array, dims: &DotDims) -> Array;
    /// 2-d cross-correlation of `input` `[n, c_in, h, w]` with `weight`
    /// `[c_out, c_in / groups, kh, kw]` (float, equal dtypes), zero padded, no bias.
    fn conv2d(input: &Array, weight: &Array, params: &Conv2dParams) -> Array;
    /// 2-d max pooling of `input` `[n, c, h, w]` (float), padding acting as `-inf`.
    fn max_pool2d(input: &Array, params: &Pool2dParams) -> Array;
}

/// Torch's message for an op whose arrays are on two devices.
fn mixed_devices(op: &'static str, a: Device, b: Device) -> Error {
    // torch names the device of the first tensor that disagrees second.
    let (first, second) = if a == Device::Cpu { (b, a) } else { (a, b) };
    Error::Device {
        op,
        msg: format!(
            "Expected all tensors to be on the same device, but found at least two devices, \
             {first} and {second}! Move them to one device first (x.to(device), x.cuda(), \
             x.cpu())"
        ),
    }
}

/// The one device `xs` live on, with host scalars moved there (Note [Host scalars on a
/// device]); an [`Error::Device`] (deferred to the op) if two devices meet otherwise.
#[inline]
fn placed<'a, const N: usize>(
    op: &'static str,
    xs: [&'a Array; N],
) -> (Device, [Cow<'a, Array>; N]) {
    let first = xs[0].device();
    if xs.iter().all(|x| x.device() == first) {
        return (first, xs.map(Cow::Borrowed));
    }
    let device = place_mixed(op, &xs);
    (device, xs.map(|x| moved(x, device)))
}

/// The device of a mix of arrays: the one non-CPU device, if the CPU arrays are scalars.
#[cold]
fn place_mixed(op: &'static str, xs: &[&Array]) -> Device {
    let mut device = Device::Cpu;
    for x in xs {
        let d = x.device();
        if d == Device::Cpu && is_host_scalar(x) {
            continue;
        }
        if device == Device::Cpu && d != Device::Cpu {
            device = d;
        } else if d != device {
            defer(mixed_devices(op, device, d));
        }
    }
    if device == Device::Cpu {
        // Only scalars on the CPU and some device: the device wins.
        device = xs
            .iter()
            .map(|x| x.device())
            .find(|d| *d != Device::Cpu)
            .expect("mixed");
    }
    for x in xs {
        if x.device() == Device::Cpu && !is_host_scalar(x) {
            defer(mixed_devices(op, device, Device::Cpu));
        }
    }
    device
}

/// A CPU array whose buffer holds one value (a 0-d tensor, or a broadcast of one).
fn is_host_scalar(x: &Array) -> bool {
    x.device() == Device::Cpu && x.cpu_storage().len() == 1
}

fn moved(x: &Array, device: Device) -> Cow<'_, Array> {
    if x.device() == device {
        Cow::Borrowed(x)
    } else {
        Cow::Owned(to_device(x, device).unwrap_or_else(|e| defer(e)))
    }
}

/// `x` copied to `device` (a no-op copy of the handle if it is there already).
pub(crate) fn to_device(x: &Array, device: Device) -> Result<Array, Error> {
    if x.device() == device {
        return Ok(x.clone());
    }
    #[cfg(feature = "cuda")]
    {
        if let Device::Cuda(i) = device {
            cuda::runtime::gpu(i)?;
        }
        count();
        crate::error::catch_result(|| Ok(cuda::to_device(x, device)))
    }
    #[cfg(not(feature = "cuda"))]
    Err(no_cuda(device))
}

/// A fresh array of `shape` filled with `value` as `dtype` on a non-CPU `device` (the
/// factories' path; the CPU fills its own buffers), or the device's error.
pub(crate) fn full_on(
    op: &'static str,
    device: Device,
    shape: &[usize],
    value: f64,
    dtype: DType,
) -> Result<Array, Error> {
    #[cfg(feature = "cuda")]
    {
        let gpu = cuda::runtime::gpu(match device {
            Device::Cuda(i) => i,
            Device::Cpu => unreachable!("internal: full_on for the cpu"),
        })?;
        count();
        // `as` conversions, as the host factories make them.
        let int = value as i64;
        crate::error::catch_result(|| Ok(cuda::full(gpu, shape, value, int, dtype))).map_err(|e| {
            match e {
                Error::OutOfMemory {
                    op: "",
                    device,
                    bytes,
                    allocated,
                    reserved,
                    free,
                    total,
                } => Error::OutOfMemory {
                    op,
                    device,
                    bytes,
                    allocated,
                    reserved,
                    free,
                    total,
                },
                e => e,
            }
        })
    }
    #[cfg(not(feature = "cuda"))]
    {
        let _ = (op, shape, value, dtype);
        Err(no_cuda(device))
    }
}

/// The error for a device this build cannot reach.
#[cfg(not(feature = "cuda"))]
pub(crate) fn no_cuda(device: Device) -> Error {
    Error::Device {
        op: "to",
        msg: format!(
            "cotangent was built without CUDA support, so {device} cannot be used: rebuild \
             with `--features cuda` (cargo build --features cuda), or use Device::Cpu"
        ),
    }
}

/// Run `$cpu` or `$cuda` (an expression naming the backend type `B`) by device.
macro_rules! by_device {
    ($device:expr, $B:ident => $body:expr) => {
        match $device {
            Device::Cpu => {
                type $B = cpu::Cpu;
                $body
            }
            #[cfg(feature = "cuda")]
            Device::Cuda(_) => {
                type $B = cuda::Cuda;
                $body
            }
            #[cfg(not(feature = "cuda"))]
            Device::Cuda(_) => unreachable!("internal: a device array in a build without cuda"),
        }
    };
}

/// `K` elementwise on the array's device.
pub fn unary<K: UnaryKernel>(x: &Array) -> Array {
    count();
    by_device!(x.device(), B => B::unary::<K>(x))
}

/// `K` elementwise on equal shapes and dtypes.
pub fn binary<K: BinaryKernel>(a: &Array, b: &Array) -> Array {
    count();
    let (device, [a, b]) = placed(K::NAME, [a, b]);
    by_device!(device, B => B::binary::<K>(&a, &b))
}

/// Elementwise comparison; bool output.
pub fn compare(a: &Array, b: &Array, op: Comparison) -> Array {
    count();
    let (device, [a, b]) = placed("compare", [a, b]);
    by_device!(device, B => B::compare(&a, &b, op))
}

/// `pred ? a : b` elementwise.
pub fn select(pred: &Array, a: &Array, b: &Array) -> Array {
    count();
    let (device, [pred, a, b]) = placed("where", [pred, a, b]);
    by_device!(device, B => B::select(&pred, &a, &b))
}

/// Element type conversion.
pub fn cast(x: &Array, dtype: DType) -> Array {
    if x.dtype() == dtype {
        return x.clone();
    }
    count();
    by_device!(x.device(), B => B::cast(x, dtype))
}

/// A row-major copy, or the array itself if it already is row-major and tight.
pub fn contiguous(x: &Array) -> Array {
    if x.layout().is_contiguous() {
        return x.clone();
    }
    count();
    by_device!(x.device(), B => B::contiguous(x))
}

/// Reduce over `axes`, removing them.
pub fn reduce(x: &Array, axes: &[usize], op: ReduceOp) -> Array {
    count();
    by_device!(x.device(), B => B::reduce(x, axes, op))
}

/// Index of the max (or min) along `axis`, removing it; `i64`.
pub fn arg_reduce(x: &Array, axis: usize, max: bool) -> Array {
    count();
    by_device!(x.device(), B => B::arg_reduce(x, axis, max))
}

/// `x` gathered along `axis` at `index` (torch.gather), or the first bad index.
pub fn gather(x: &Array, axis: usize, index: &Array) -> Result<Array, IndexOutOfBounds> {
    count();
    let (device, [x, index]) = placed("gather", [x, index]);
    by_device!(device, B => B::gather(&x, axis, &index))
}

/// `x` plus `src` scattered along `axis` at `index` (torch.scatter_add), or the first bad
/// index.
pub fn scatter_add(
    x: &Array,
    axis: usize,
    index: &Array,
    src: &Array,
) -> Result<Array, IndexOutOfBounds> {
    count();
    let (device, [x, index, src]) = placed("scatter_add", [x, index, src]);
    by_device!(device, B => B::scatter_add(&x, axis, &index, &src))
}

/// `xs` joined along `axis`.
pub fn concatenate(xs: &[&Array], axis: usize) -> Array {
    count();
    let first = xs[0].device();
    if xs.iter().any(|x| x.device() != first) {
        let moved: Vec<Array> = match xs.iter().map(|x| x.device()).find(|d| *d != Device::Cpu) {
            Some(device) => xs
                .iter()
                .map(|x| {
                    if x.device() == device {
                        (*x).clone()
                    } else {
                        defer(mixed_devices("cat", device, x.device()))
                    }
                })
                .collect(),
            None => unreachable!(),
        };
        let refs: Vec<&Array> = moved.iter().collect();
        return by_device!(refs[0].device(), B => B::concatenate(&refs, axis));
    }
    by_device!(first, B => B::concatenate(xs, axis))
}

/// `x` padded with `value`: `lo[d]` before and `hi[d]` after along each dim.
pub fn pad(x: &Array, lo: &[usize], hi: &[usize], value: f64) -> Array {
    count();
    by_device!(x.device(), B => B::pad(x, lo, hi, value))
}

/// Running sums along `axis`.
pub fn cumsum(x: &Array, axis: usize) -> Array {
    count();
    by_device!(x.device(), B => B::cumsum(x, axis))
}

/// A draw of `shape` and `dtype` from `dist` at `key` (reserved with [`reserve_random`]).
pub fn random(dist: Distribution, shape: &[usize], dtype: DType, key: RngState) -> Array {
    random_on(Device::Cpu, dist, shape, dtype, key)
}

/// [`random`] on `device`: the same numbers on every device for the same key.
pub fn random_on(
    device: Device,
    dist: Distribution,
    shape: &[usize],
    dtype: DType,
    key: RngState,
) -> Array {
    count();
    match device {
        Device::Cpu => cpu::Cpu::random(dist, shape, dtype, key),
        #[cfg(feature = "cuda")]
        Device::Cuda(_) => cuda::random::sample(cuda::gpu_of(device), dist, shape, dtype, key),
        #[cfg(not(feature = "cuda"))]
        Device::Cuda(_) => defer(no_cuda(device)),
    }
}

/// Bernoulli draws with per-element probabilities `p` at `key`.
pub fn bernoulli(p: &Array, key: RngState) -> Array {
    count();
    by_device!(p.device(), B => B::bernoulli(p, key))
}

/// XLA's DotGeneral; see [`Backend::dot_general`].
pub fn dot_general(lhs: &Array, rhs: &Array, dims: &DotDims) -> Array {
    count();
    let (device, [lhs, rhs]) = placed("dot_general", [lhs, rhs]);
    by_device!(device, B => B::dot_general(&lhs, &rhs, dims))
}

/// 2-d convolution without bias; see [`Backend::conv2d`].
pub fn conv2d(input: &Array, weight: &Array, params: &Conv2dParams) -> Array {
    count();
    let (device, [input, weight]) = placed("conv2d", [input, weight]);
    by_device!(device, B => B::conv2d(&input, &weight, params))
}

/// 2-d max pooling; see [`Backend::max_pool2d`].
pub fn max_pool2d(input: &Array, params: &Pool2dParams) -> Array {
    count();
    by_device!(input.device(), B => B::max_pool2d(input, params))
}

/// How many counter blocks a draw of `n` elements of `dist` in `dtype` consumes, or `None`
/// if `dist` cannot produce `dtype`.
pub fn random_blocks(dist: Distribution, dtype: DType, n: usize) -> Option<u64> {
    cpu::random::kind_of(dist, dtype).map(|kind| cpu::random::blocks_used(kind, n))
}

/// Reserve the blocks of a draw of `n` elements of `dist` in `dtype` from the global
/// generator: returns the draw's key and advances the generator past it, so concurrent
/// draws never overlap. `None` if `dist` cannot produce `dtype` (nothing is reserved).
pub fn reserve_random(dist: Distribution, dtype: DType, n: usize) -> Option<RngState> {
    let kind = cpu::random::kind_of(dist, dtype)?;
    let key = cpu::random::next_key_for(kind, n);
    Some(RngState {
        seed: key.seed,
        offset: key.offset,
    })
}

/// Seed the global generator and rewind it to offset 0 (`torch.manual_seed`).
pub fn manual_seed(seed: u64) {
    cpu::random::manual_seed(seed);
}

/// The global generator's seed (`torch.initial_seed`).
pub fn initial_seed() -> u64 {
    cpu::random::initial_seed()
}

/// The global generator's state (`torch.get_rng_state`).
pub fn get_rng_state() -> RngState {
    let key = cpu::random::get_state();
    RngState {
        seed: key.seed,
        offset: key.offset,
    }
}

/// Restore a state from [`get_rng_state`] (`torch.set_rng_state`).
pub fn set_rng_state(state: RngState) {
    cpu::random::set_state(cpu::random::PhiloxKey::new(state.seed, state.offset));
}
