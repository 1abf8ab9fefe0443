//! CUDA C to machine code: NVRTC compiles each kernel's source for the device's architecture
//! on first use, and the result is cached in the process (by kernel key) and on disk (by a
//! hash of the source and architecture), so a kernel costs one compile per machine, not one
//! per call or per run (cuda.md: 50-90 ms a compile; CUBIN, not PTX, which the driver would
//! JIT again at 89 ms a module).
//!
//! The disk cache lives in `$COTANGENT_CACHE_DIR`, else `$XDG_CACHE_HOME/cotangent`, else
//! `$HOME/.cache/cotangent`, under `cuda/sm_XY/`; each entry keeps its source beside the
//! CUBIN and is used only if that source matches exactly, so a hash collision or a stale
//! file can cost a compile but never load the wrong code.

use std::collections::HashMap;
use std::ffi::CString;
use std::hash::{Hash, Hasher};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use cudarc::driver::{CudaFunction, CudaModule};
use cudarc::nvrtc::{Ptx, result as nvrtc, sys as nvrtc_sys};

use super::runtime::Gpu;
use crate::error::Error;

/// What identifies a kernel module in the process cache: its family (a kernel's name) and
/// a number the family derives from everything else its source depends on (dtypes,
/// operand count, variant).
pub(crate) type Key = (&'static str, u64);

/// A loaded module and its entry points, in the order its builder named them.
pub(crate) struct Module {
    _module: Arc<CudaModule>,
    pub(crate) entries: Vec<CudaFunction>,
}

/// The per-device cache of loaded modules.
#[derive(Default)]
pub(crate) struct Kernels {
    loaded: Mutex<HashMap<Key, Arc<Module>>>,
}

/// A module's source and the names of its `extern "C"` entry points.
pub(crate) struct Source {
    pub(crate) code: String,
    pub(crate) entries: Vec<&'static str>,
}

impl Kernels {
    /// The module for `key`, building its source with `build` and compiling it the first
    /// time (or loading it from the disk cache).
    pub(crate) fn get(&self, gpu: &Gpu, key: Key, build: impl FnOnce() -> Source) -> Arc<Module> {
        if let Some(m) = self.lock().get(&key) {
            return m.clone();
        }
        let source = build();
        let cubin = cached_or_compiled(&source.code, gpu.arch)
            .unwrap_or_else(|log| crate::error::raise(compile_error(key.0, &log)));
        gpu.bind();
        let module = super::runtime::check(
            "cuModuleLoadData",
            gpu.ctx.load_module(Ptx::from_binary(cubin)),
        );
        let entries = source
            .entries
            .iter()
            .map(|name| super::runtime::check("cuModuleGetFunction", module.load_function(name)))
            .collect();
        let m = Arc::new(Module {
            _module: module,
            entries,
        });
        self.lock().insert(key, m.clone());
        m
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Arc<Module>>> {
        self.loaded.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn compile_error(family: &str, log: &str) -> Error {
    Error::Device {
        op: "cuda",
        msg: format!("internal: NVRTC rejected the {family} kernel (a bug in cotangent):\n{log}"),
    }
}

fn cache_dir(arch: (i32, i32)) -> Option<PathBuf> {
    let env = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    let root = env("COTANGENT_CACHE_DIR")
        .or_else(|| env("XDG_CACHE_HOME").map(|p| p.join("cotangent")))
        .or_else(|| env("HOME").map(|p| p.join(".cache").join("cotangent")))?;
    Some(root.join("cuda").join(format!("sm_{}{}", arch.0, arch.1)))
}

fn cached_or_compiled(code: &str, arch: (i32, i32)) -> Result<Vec<u8>, String> {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (code, arch, env!("CARGO_PKG_VERSION")).hash(&mut h);
    let stem = format!("{:016x}", h.finish());
    let dir = cache_dir(arch);
    if let Some(dir) = &dir {
        let (cu, bin) = (
            dir.join(format!("{stem}.cu")),
            dir.join(format!("{stem}.cubin")),
        );
        if std::fs::read_to_string(&cu).is_ok_and(|s| s == code)
            && let Ok(cubin) = std::fs::read(&bin)
        {
            return Ok(cubin);
        }
    }
    let cubin = compile(code, arch)?;
    if let Some(dir) = &dir {
        // A cache that cannot be written (read-only home) only costs compiles.
        let _ = std::fs::create_dir_all(dir).and_then(|()| {
            let tmp = dir.join(format!("{stem}.{}.tmp", std::process::id()));
            std::fs::write(&tmp, &cubin)?;
            std::fs::rename(&tmp, dir.join(format!("{stem}.cubin")))?;
            std::fs::write(dir.join(format!("{stem}.cu")), code)
        });
    }
    Ok(cubin)
}

/// Compile `code` to a CUBIN for `sm_XY`, or NVRTC's log. Needs only `libnvrtc`, no GPU:
/// the kernel sources are compile-checked on machines without one.
pub(crate) fn compile(code: &str, arch: (i32, i32)) -> Result<Vec<u8>, String> {
    let src = CString::new(code).map_err(|e| e.to_string())?;
    let prog = nvrtc::create_program(&src, None).map_err(|e| format!("{e:?}"))?;
    let opts = [
        format!("--gpu-architecture=sm_{}{}", arch.0, arch.1),
        "--std=c++17".to_string(),
        // IEEE float semantics, as on the CPU: no flush-to-zero, correctly rounded division
        // and square root (nvcc's defaults; NVRTC's too, spelled out).
        "--ftz=false".to_string(),
        "--prec-div=true".to_string(),
        "--prec-sqrt=true".to_string(),
    ];
    // SAFETY: `prog` was created above and is destroyed once, below; `src` outlives it.
    unsafe {
        let compiled = nvrtc::compile_program(prog, &opts);
        let result = match compiled {
            Ok(()) => cubin_of(prog),
            Err(e) => {
                let log = nvrtc::get_program_log(prog)
                    .map(|l| {
                        let bytes: Vec<u8> = l.iter().map(|&c| c as u8).collect();
                        String::from_utf8_lossy(&bytes)
                            .trim_end_matches('\0')
                            .to_string()
                    })
                    .unwrap_or_default();
                Err(format!("{e:?}\n{log}\n--- source ---\n{code}"))
            }
        };
        let _ = nvrtc::destroy_program(prog);
        result
    }
}

/// The CUBIN of a compiled program.
///
/// # Safety
/// `prog` must be a live program whose compilation succeeded.
unsafe fn cubin_of(prog: nvrtc_sys::nvrtcProgram) -> Result<Vec<u8>, String> {
    let mut size = 0usize;
    // SAFETY: the caller's contract; `size` is a valid out-pointer.
    unsafe { nvrtc_sys::nvrtcGetCUBINSize(prog, &mut size) }
        .result()
        .map_err(|e| format!("{e:?}"))?;
    let mut cubin = vec![0u8; size];
    // SAFETY: `cubin` has the size NVRTC reported.
    unsafe { nvrtc_sys::nvrtcGetCUBIN(prog, cubin.as_mut_ptr().cast()) }
        .result()
        .map_err(|e| format!("{e:?}"))?;
    Ok(cubin)
}
