//! Elementwise kernels: an expression over one to three inputs, applied at every position of
//! the output shape. The expression is the primitive's own (`UnaryKernel::CUDA`,
//! `BinaryKernel::CUDA`) or the backend's (compare, select, cast, copy). Each module has
//! three entry points: `flat` when every operand is contiguous after [`coalesce`], else
//! `strided32` or `strided64`, which turn the linear position into each operand's offset
//! through its strides (32-bit index arithmetic when it fits: it is several times cheaper).
//!
//! The output is any layout too, so pad and concatenate write through views of their result.

use std::fmt::Write;

use super::compile::{Key, Source};
use super::launch::{BLOCK, MAX_RANK, Params, coalesce, grid_for, launch};
use super::runtime::Gpu;
use super::source::{c_type, module};
use crate::array::{Array, DType};

/// An elementwise kernel's description: names its source depends on.
pub(crate) struct Map<'a> {
    /// The process-cache key (family and a detail number covering dtypes and arity).
    pub(crate) key: Key,
    /// Extra device functions the expression uses.
    pub(crate) helpers: &'a str,
    /// The C expression, over `names`, of type `TO`.
    pub(crate) expr: &'a str,
    /// The parameter names of the inputs, in order (`x`; `a`, `b`; `p`, `a`, `b`).
    pub(crate) names: &'a [&'a str],
    /// Input dtypes (typedef'd `T0`, `T1`, ...; `T` is `T0`).
    pub(crate) inputs: &'a [DType],
    /// Output dtype (`TO`).
    pub(crate) out: DType,
}

/// A detail number for a key: the dtypes involved, a byte each.
pub(crate) fn dtype_code(dtypes: &[DType]) -> u64 {
    dtypes
        .iter()
        .fold(0u64, |acc, d| (acc << 8) | (*d as u64 + 1))
}

fn source(m: &Map<'_>) -> Source {
    let n = m.inputs.len();
    let mut s = String::new();
    let _ = writeln!(s, "typedef {} TO;", c_type(m.out));
    for (i, d) in m.inputs.iter().enumerate() {
        let _ = writeln!(s, "typedef {} T{i};", c_type(*d));
    }
    let _ = writeln!(s, "typedef {} T;", if n == 0 { "TO" } else { "T0" });
    s.push_str(m.helpers);
    let args: Vec<String> = (0..n).map(|i| format!("T{i} {}", m.names[i])).collect();
    let _ = writeln!(
        s,
        "#define OP_ARGS {}\n",
        if args.is_empty() {
            String::new()
        } else {
            format!(", {}", args.join(", "))
        }
    );
    let _ = writeln!(
        s,
        "__device__ __forceinline__ TO op(double v, i64 vi OP_ARGS) {{ return (TO)({}); }}",
        m.expr
    );
    s.push_str("struct P { double v; i64 vi; Shape s; TO* out; Lay lo;");
    for i in 0..n {
        let _ = write!(s, " const T{i}* in{i}; Lay l{i};");
    }
    s.push_str(" };\n");
    let loads = |idx: &dyn Fn(usize) -> String| -> String {
        (0..n)
            .map(|i| format!(", p.in{i}[{}]", idx(i)))
            .collect::<String>()
    };
    let flat_args = loads(&|i| format!("p.l{i}.off + i"));
    let _ = writeln!(
        s,
        "extern \"C\" __global__ void flat(const P p) {{\n  for (i64 i = (i64)blockIdx.x * blockDim.x + threadIdx.x; i < p.s.n; i += (i64)gridDim.x * blockDim.x)\n    p.out[p.lo.off + i] = op(p.v, p.vi{flat_args});\n}}"
    );
    let mut offs = String::from("i64 o = p.lo.off;");
    let mut steps = String::from("o += c * p.lo.st[d];");
    for i in 0..n {
        let _ = write!(offs, " i64 o{i} = p.l{i}.off;");
        let _ = write!(steps, " o{i} += c * p.l{i}.st[d];");
    }
    let strided_args = loads(&|i| format!("o{i}"));
    let _ = writeln!(
        s,
        "template <typename I> __device__ __forceinline__ void at(const P& p, I i) {{\n  {offs}\n  I rem = i;\n  for (int d = (int)p.s.rank - 1; d >= 0; --d) {{\n    I c;\n    if (d == 0) c = rem; else {{ I m = (I)p.s.dim[d]; c = rem % m; rem /= m; }}\n    {steps}\n  }}\n  p.out[o] = op(p.v, p.vi{strided_args});\n}}"
    );
    for (name, ty) in [("strided32", "unsigned"), ("strided64", "i64")] {
        let _ = writeln!(
            s,
            "extern \"C\" __global__ void {name}(const P p) {{\n  for ({ty} i = ({ty})blockIdx.x * blockDim.x + threadIdx.x; i < ({ty})p.s.n; i += ({ty})gridDim.x * blockDim.x) at<{ty}>(p, i);\n}}"
        );
    }
    Source {
        code: module(&s),
        entries: vec!["flat", "strided32", "strided64"],
    }
}

/// Run `m` writing `out` (a view of a buffer on `gpu`, of the output shape) from `inputs`
/// (arrays on `gpu` of that shape).
pub(crate) fn run(gpu: &Gpu, m: &Map<'_>, out: &Array, inputs: &[&Array]) {
    run_with(gpu, m, out, inputs, 0.0, 0);
}

/// [`run`] with the values `v` (a double) and `vi` (an i64) that the expression may name.
pub(crate) fn run_with(gpu: &Gpu, m: &Map<'_>, out: &Array, inputs: &[&Array], v: f64, vi: i64) {
    let shape = out.shape();
    let numel = out.numel();
    if numel == 0 {
        return;
    }
    let mut all: Vec<&[usize]> = vec![out.layout().strides()];
    all.extend(inputs.iter().map(|a| a.layout().strides()));
    let (dims, strides) = coalesce(shape, &all);
    if dims.len() > MAX_RANK {
        crate::error::raise(crate::error::Error::Device {
            op: m.key.0,
            msg: format!(
                "CUDA kernels index at most {MAX_RANK} dims, and this view of shape {shape:?} \
                 needs {}; call .contiguous() on the input first",
                dims.len()
            ),
        });
    }
    let flat = dims.len() <= 1 && strides.iter().all(|s| s.first().is_none_or(|&st| st == 1));
    let entry = if flat {
        0
    } else if numel < (1 << 31) {
        1
    } else {
        2
    };
    let module = gpu.kernels.get(gpu, m.key, || source(m));
    let mut p = Params::new();
    p.f64(v).i64(vi).shape(&dims);
    p.buffer(out).lay(out.layout().offset(), &strides[0]);
    for (i, a) in inputs.iter().enumerate() {
        p.buffer(a).lay(a.layout().offset(), &strides[i + 1]);
    }
    launch(
        gpu,
        &module.entries[entry],
        (grid_for(numel), 1, 1),
        (BLOCK, 1, 1),
        0,
        &mut p,
    );
}

/// Every source this file can generate for `m`'s shape of kernel, for the compile check.
#[cfg(test)]
pub(crate) fn source_for_test(m: &Map<'_>) -> Source {
    source(m)
}
