//! conv2d through cuDNN, when `libcudnn.so.9` loads.
//!
//! Note [Choosing the convolution]: cuDNN is opened at run time like the other CUDA
//! libraries, but it is optional: without it (or with [`set_enabled`]`(false)`, torch's
//! `torch.backends.cudnn.enabled`), and for any configuration cuDNN declines, `conv.rs` runs
//! im2col and cuBLAS instead. A configuration (shapes, strides, padding, dilation, groups,
//! dtype, TF32) gets its descriptors and cuDNN's first heuristic algorithm once, cached for
//! the process, so a call costs one cuDNN launch and at most a workspace allocation. Float32
//! convolutions are IEEE (`CUDNN_FMA_MATH`) unless TF32 is allowed, the same switch as the
//! GEMMs (torch keeps a separate one for cuDNN, on by default). The operands are made
//! row-major first (a no-op for the usual contiguous input).

use std::collections::HashMap;
use std::ffi::c_void;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Mutex, OnceLock};

use cudarc::cudnn::{result as dnn, sys};

use super::runtime::{Gpu, check};
use crate::array::backend::Conv2dParams;
use crate::array::{Array, DType};

/// 0 off, 1 on, `UNSET` until first asked (then from `COTANGENT_CUDNN`, on unless "0").
static ENABLED: AtomicU8 = AtomicU8::new(UNSET);
const UNSET: u8 = 2;

/// See [`crate::cuda::set_cudnn_enabled`].
pub fn set_enabled(on: bool) {
    ENABLED.store(u8::from(on), Ordering::Relaxed);
}

/// See [`crate::cuda::cudnn_enabled`].
pub fn enabled() -> bool {
    match ENABLED.load(Ordering::Relaxed) {
        UNSET => {
            let on = std::env::var("COTANGENT_CUDNN").map_or(true, |v| v != "0");
            // A set_enabled racing with this first read wins.
            let _ =
                ENABLED.compare_exchange(UNSET, u8::from(on), Ordering::Relaxed, Ordering::Relaxed);
            ENABLED.load(Ordering::Relaxed) == 1
        }
        v => v == 1,
    }
}

/// cuDNN's version (`major * 10000 + minor * 100 + patch` for 9.x), if the library loads.
pub fn version() -> Option<usize> {
    static VERSION: OnceLock<Option<usize>> = OnceLock::new();
    *VERSION.get_or_init(|| {
        // SAFETY: only tries to dlopen the library; no symbol is called.
        if !unsafe { sys::is_culib_present() } {
            return None;
        }
        // cuDNN 9's API (legacy convolution calls included) is what the bindings are for.
        Some(dnn::get_version()).filter(|&v| v >= 90000)
    })
}

/// One convolution configuration.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
struct Key {
    x: [usize; 4],
    w: [usize; 4],
    y: [usize; 4],
    stride: [usize; 2],
    padding: [usize; 2],
    dilation: [usize; 2],
    groups: usize,
    f64: bool,
    tf32: bool,
}

/// The descriptors and algorithm of one configuration.
struct Plan {
    x: sys::cudnnTensorDescriptor_t,
    w: sys::cudnnFilterDescriptor_t,
    conv: sys::cudnnConvolutionDescriptor_t,
    y: sys::cudnnTensorDescriptor_t,
    algo: sys::cudnnConvolutionFwdAlgo_t,
    workspace: usize,
}

/// A device's cuDNN handle (bound to its stream) and its plans; `None` for a configuration
/// cuDNN declined.
pub(crate) struct Dnn {
    handle: sys::cudnnHandle_t,
    plans: HashMap<Key, Option<Plan>>,
}

// SAFETY: the handle and descriptors are used only while the `Gpu::dnn` mutex is held, so never
// from two threads at once, which is what cuDNN requires of a handle.
unsafe impl Send for Dnn {}

/// The most workspace an algorithm may ask for.
const MAX_WORKSPACE: usize = 1 << 30;

fn int4(v: [usize; 4]) -> [i32; 4] {
    v.map(|d| d as i32)
}

impl Dnn {
    fn new(gpu: &Gpu) -> Option<Dnn> {
        gpu.bind();
        let handle = dnn::create_handle().ok()?;
        // SAFETY: a live handle and the device's live stream (the driver's and the runtime's
        // stream types are the same object).
        unsafe { dnn::set_stream(handle, gpu.cu_stream() as sys::cudaStream_t).ok()? };
        Some(Dnn {
            handle,
            plans: HashMap::new(),
        })
    }

    /// Descriptors and the heuristics' best algorithm for `k`, or `None` if cuDNN declines.
    fn plan(&self, k: &Key) -> Option<Plan> {
        use sys::cudnnMathType_t::{CUDNN_FMA_MATH, CUDNN_TENSOR_OP_MATH};
        let data = if k.f64 {
            sys::cudnnDataType_t::CUDNN_DATA_DOUBLE
        } else {
            sys::cudnnDataType_t::CUDNN_DATA_FLOAT
        };
        let nchw = sys::cudnnTensorFormat_t::CUDNN_TENSOR_NCHW;
        let mut plan = Plan {
            x: dnn::create_tensor_descriptor().ok()?,
            w: dnn::create_filter_descriptor().ok()?,
            conv: dnn::create_convolution_descriptor().ok()?,
            y: dnn::create_tensor_descriptor().ok()?,
            algo: sys::cudnnConvolutionFwdAlgo_t::CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM,
            workspace: 0,
        };
        let math = if k.tf32 && !k.f64 {
            CUDNN_TENSOR_OP_MATH
        } else {
            CUDNN_FMA_MATH
        };
        // SAFETY: the descriptors are live (created above, destroyed only by `Plan::drop`);
        // the perf array has room for the count requested.
        unsafe {
            dnn::set_tensor4d_descriptor(plan.x, nchw, data, int4(k.x)).ok()?;
            dnn::set_tensor4d_descriptor(plan.y, nchw, data, int4(k.y)).ok()?;
            dnn::set_filter4d_descriptor(plan.w, data, nchw, int4(k.w)).ok()?;
            let [s, p, d] = [k.stride, k.padding, k.dilation].map(|v| v.map(|e| e as i32));
            dnn::set_convolution2d_descriptor(
                plan.conv,
                p[0],
                p[1],
                s[0],
                s[1],
                d[0],
                d[1],
                sys::cudnnConvolutionMode_t::CUDNN_CROSS_CORRELATION,
                data,
            )
            .ok()?;
            dnn::set_convolution_group_count(plan.conv, k.groups as i32).ok()?;
            dnn::set_convolution_math_type(plan.conv, math).ok()?;
            const WANTED: usize = 8;
            let mut perf =
                [std::mem::MaybeUninit::<sys::cudnnConvolutionFwdAlgoPerf_t>::zeroed(); WANTED];
            let mut got = 0i32;
            dnn::get_convolution_forward_algorithm(
                self.handle,
                plan.x,
                plan.w,
                plan.conv,
                plan.y,
                WANTED as i32,
                &mut got,
                perf.as_mut_ptr().cast(),
            )
            .ok()?;
            let ok = sys::cudnnStatus_t::CUDNN_STATUS_SUCCESS;
            let best = perf[..got.clamp(0, WANTED as i32) as usize]
                .iter()
                .map(|p| p.assume_init())
                .find(|p| {
                    p.status == ok
                        && p.memory <= MAX_WORKSPACE
                        && (math == CUDNN_TENSOR_OP_MATH || p.mathType != CUDNN_TENSOR_OP_MATH)
                        && p.mathType != sys::cudnnMathType_t::CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION
                })?;
            dnn::set_convolution_math_type(plan.conv, best.mathType).ok()?;
            let workspace = dnn::get_convolution_forward_workspace_size(
                self.handle,
                plan.x,
                plan.w,
                plan.conv,
                plan.y,
                best.algo,
            )
            .ok()?;
            plan.algo = best.algo;
            plan.workspace = workspace;
            (workspace <= MAX_WORKSPACE).then_some(plan)
        }
    }
}

impl Drop for Plan {
    fn drop(&mut self) {
        // SAFETY: each descriptor was created by `Dnn::plan` and is destroyed once, here.
        unsafe {
            let _ = dnn::destroy_tensor_descriptor(self.x);
            let _ = dnn::destroy_filter_descriptor(self.w);
            let _ = dnn::destroy_convolution_descriptor(self.conv);
            let _ = dnn::destroy_tensor_descriptor(self.y);
        }
    }
}

/// The cross-correlation of `input` `[n, c_in, h, w]` with `weight` `[c_out, c_in/g, kh, kw]`
/// into a fresh `shape` array, or `None` where cuDNN is off, missing or declines (Note
/// [Choosing the convolution]).
pub(crate) fn conv2d(
    gpu: &Gpu,
    input: &Array,
    weight: &Array,
    p: &Conv2dParams,
    shape: [usize; 4],
) -> Option<Array> {
    if !enabled() || version().is_none() {
        return None;
    }
    let dtype = input.dtype();
    if !matches!(dtype, DType::F32 | DType::F64)
        || [input.numel(), weight.numel(), shape.iter().product()]
            .iter()
            .any(|&n| n > i32::MAX as usize)
    {
        return None;
    }
    let four = |s: &[usize]| [s[0], s[1], s[2], s[3]];
    let key = Key {
        x: four(input.shape()),
        w: four(weight.shape()),
        y: shape,
        stride: p.stride,
        padding: p.padding,
        dilation: p.dilation,
        groups: p.groups,
        f64: dtype == DType::F64,
        tf32: super::blas::allow_tf32(),
    };
    let slot = gpu
        .dnn
        .get_or_init(|| Dnn::new(gpu).map(Mutex::new))
        .as_ref()?;
    let mut dnn = slot.lock().unwrap_or_else(|e| e.into_inner());
    if !dnn.plans.contains_key(&key) {
        let plan = dnn.plan(&key);
        dnn.plans.insert(key, plan);
    }
    let plan = dnn.plans[&key].as_ref()?;
    let x = super::contiguous_on(gpu, input);
    let w = super::contiguous_on(gpu, weight);
    let out = super::empty(gpu, &shape, dtype);
    let workspace =
        (plan.workspace > 0).then(|| super::empty(gpu, &[plan.workspace.div_ceil(8)], DType::I64));
    let es = dtype.size_of() as u64;
    let at = |a: &Array| (a.cuda_storage().ptr() + a.layout().offset() as u64 * es) as *mut c_void;
    // Scaling factors are doubles for double data, floats otherwise.
    let (one32, zero32, one64, zero64) = (1f32, 0f32, 1f64, 0f64);
    let (alpha, beta): (*const c_void, *const c_void) = if key.f64 {
        (
            (&one64 as *const f64).cast(),
            (&zero64 as *const f64).cast(),
        )
    } else {
        (
            (&one32 as *const f32).cast(),
            (&zero32 as *const f32).cast(),
        )
    };
    gpu.bind();
    // SAFETY: the descriptors describe `x`, `w` and `out` (row-major, these shapes and dtype),
    // which are live device buffers; the workspace has the size cuDNN asked for; the work is
    // queued on the device's stream, which orders it before any later use or reuse of them.
    let r = unsafe {
        dnn::convolution_forward(
            dnn.handle,
            alpha,
            plan.x,
            at(&x),
            plan.w,
            at(&w),
            plan.conv,
            plan.algo,
            workspace.as_ref().map_or(std::ptr::null_mut(), &at),
            plan.workspace,
            beta,
            plan.y,
            at(&out),
        )
    };
    check("cudnnConvolutionForward", r);
    Some(out)
}
