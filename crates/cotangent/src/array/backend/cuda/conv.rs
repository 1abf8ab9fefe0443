//! conv2d and max_pool2d on the device. The convolution goes to cuDNN where it loads (Note
//! [Choosing the convolution], `cudnn.rs`); otherwise it is im2col (a kernel that writes,
//! for each image and group, the `[c_in/g * kh * kw, oh * ow]` matrix of input taps, zeros
//! where the window reaches into the padding) followed by strided-batched cuBLAS GEMMs (one
//! per group over the images, or one per image over the groups); pooling is one thread per output element. Both read the input
//! through its strides. Shapes come from the CPU backend's formulas, so the two agree.

use super::blas::{Mat, gemm};
use super::compile::Source;
use super::elementwise::dtype_code;
use super::launch::{BLOCK, Params, grid_for, launch};
use super::runtime::Gpu;
use super::source::{c_type, module};
use crate::array::backend::cpu::matmul::{conv2d_out_shape, max_pool2d_out_shape};
use crate::array::backend::{Conv2dParams, Pool2dParams};
use crate::array::{Array, DType};

fn four(shape: &[usize]) -> [usize; 4] {
    shape
        .try_into()
        .expect("internal: conv/pool operands are 4-d")
}

const IM2COL: &str = r#"
/* cols[n][g][q][p], q = (c * kh + i) * kw + j over the group's channels, p = y * ow + x. */
struct P { const T* in; Lay l; T* cols; i64 n; i64 cin; i64 h; i64 w; i64 groups; i64 kh; i64 kw;
           i64 oh; i64 ow; i64 sh; i64 sw; i64 ph; i64 pw; i64 dh; i64 dw; };
extern "C" __global__ void im2col(const P p) {
  i64 cg = p.cin / p.groups, q_n = cg * p.kh * p.kw, p_n = p.oh * p.ow;
  i64 total = p.n * p.cin * p.kh * p.kw * p_n;
  for (i64 t = (i64)blockIdx.x * blockDim.x + threadIdx.x; t < total; t += (i64)gridDim.x * blockDim.x) {
    i64 pos = t % p_n, r = t / p_n, q = r % q_n; r /= q_n; i64 g = r % p.groups, b = r / p.groups;
    i64 x = pos % p.ow, y = pos / p.ow;
    i64 j = q % p.kw, i = (q / p.kw) % p.kh, c = g * cg + q / (p.kw * p.kh);
    i64 iy = y * p.sh + i * p.dh - p.ph, ix = x * p.sw + j * p.dw - p.pw;
    T v = T(0);
    if (iy >= 0 && iy < p.h && ix >= 0 && ix < p.w)
      v = p.in[p.l.off + b * p.l.st[0] + c * p.l.st[1] + iy * p.l.st[2] + ix * p.l.st[3]];
    p.cols[t] = v;
  }
}
"#;

const POOL: &str = r#"
struct P { const T* in; Lay l; T* out; i64 n; i64 c; i64 h; i64 w; i64 oh; i64 ow; i64 kh; i64 kw;
           i64 sh; i64 sw; i64 ph; i64 pw; i64 dh; i64 dw; };
extern "C" __global__ void max_pool(const P p) {
  i64 total = p.n * p.c * p.oh * p.ow;
  for (i64 t = (i64)blockIdx.x * blockDim.x + threadIdx.x; t < total; t += (i64)gridDim.x * blockDim.x) {
    i64 x = t % p.ow, r = t / p.ow, y = r % p.oh; r /= p.oh; i64 ch = r % p.c, b = r / p.c;
    const T* base = p.in + p.l.off + b * p.l.st[0] + ch * p.l.st[1];
    T m = -(T)CT_INF;
    for (i64 i = 0; i < p.kh; ++i) {
      i64 iy = y * p.sh + i * p.dh - p.ph;
      if (iy < 0 || iy >= p.h) continue;
      for (i64 j = 0; j < p.kw; ++j) {
        i64 ix = x * p.sw + j * p.dw - p.pw;
        if (ix < 0 || ix >= p.w) continue;
        T v = base[iy * p.l.st[2] + ix * p.l.st[3]];
        /* As the host: a larger value or any NaN replaces the running max. */
        if (v > m || v != v) m = v;
      }
    }
    p.out[t] = m;
  }
}
"#;

fn source(body: &str, dtype: DType, entry: &'static str) -> Source {
    Source {
        code: module(&format!("typedef {} T;\n{body}", c_type(dtype))),
        entries: vec![entry],
    }
}

/// 2-d cross-correlation without bias.
pub(crate) fn conv2d(gpu: &Gpu, input: &Array, weight: &Array, p: &Conv2dParams) -> Array {
    let (xs, ws) = (four(input.shape()), four(weight.shape()));
    let shape = conv2d_out_shape(xs, ws, p.stride, p.padding, p.dilation);
    let dtype = input.dtype();
    let [n, cin, h, w] = xs;
    let [cout, cg, kh, kw] = ws;
    let [_, _, oh, ow] = shape;
    let g = p.groups;
    let (q, pn, og) = (cg * kh * kw, oh * ow, cout / g);
    if shape.iter().product::<usize>() == 0 {
        return super::empty(gpu, &shape, dtype);
    }
    if q == 0 {
        return super::full(gpu, &shape, 0.0, 0, dtype);
    }
    if let Some(out) = super::cudnn::conv2d(gpu, input, weight, p, shape) {
        return out;
    }
    let cols = super::empty(gpu, &[n, g, q, pn], dtype);
    let module = gpu.kernels.get(gpu, ("im2col", dtype_code(&[dtype])), || {
        source(IM2COL, dtype, "im2col")
    });
    let mut prm = Params::new();
    prm.buffer(input)
        .lay(input.layout().offset(), input.layout().strides());
    prm.buffer(&cols);
    for v in [n, cin, h, w, g, kh, kw, oh, ow] {
        prm.usize(v);
    }
    for v in [p.stride, p.padding, p.dilation] {
        prm.usize(v[0]).usize(v[1]);
    }
    launch(
        gpu,
        &module.entries[0],
        (grid_for(cols.numel()), 1, 1),
        (BLOCK, 1, 1),
        0,
        &mut prm,
    );
    let wc = super::contiguous_on(gpu, weight);
    let out = super::empty(gpu, &shape, dtype);
    let es = dtype.size_of() as u64;
    let w_at =
        |gi: usize| wc.cuda_storage().ptr() + ((wc.layout().offset() + gi * og * q) as u64) * es;
    let cols_at =
        |b: usize, gi: usize| cols.cuda_storage().ptr() + (((b * g + gi) * q * pn) as u64) * es;
    let out_at =
        |b: usize, gi: usize| out.cuda_storage().ptr() + (((b * g + gi) * og * pn) as u64) * es;
    // out[b, gi] (og x pn) = W[gi] (og x q) * cols[b, gi] (q x pn): one strided-batched GEMM
    // per group over the images, or per image over the groups, whichever launches fewer (a
    // vmapped conv has as many groups as the batch, and often one image).
    if g <= n {
        for gi in 0..g {
            let a = Mat {
                ptr: w_at(gi),
                trans: false,
                ld: q,
                batch_stride: 0,
            };
            let bm = Mat {
                ptr: cols_at(0, gi),
                trans: false,
                ld: pn,
                batch_stride: g * q * pn,
            };
            gemm(
                gpu,
                dtype,
                [n, og, pn, q],
                a,
                bm,
                out_at(0, gi),
                pn,
                cout * pn,
            );
        }
    } else {
        for b in 0..n {
            let a = Mat {
                ptr: w_at(0),
                trans: false,
                ld: q,
                batch_stride: og * q,
            };
            let bm = Mat {
                ptr: cols_at(b, 0),
                trans: false,
                ld: pn,
                batch_stride: q * pn,
            };
            gemm(gpu, dtype, [g, og, pn, q], a, bm, out_at(b, 0), pn, og * pn);
        }
    }
    out
}

/// 2-d max pooling, padding acting as `-inf`.
pub(crate) fn max_pool2d(gpu: &Gpu, input: &Array, p: &Pool2dParams) -> Array {
    let xs = four(input.shape());
    let shape = max_pool2d_out_shape(
        xs,
        p.kernel_size,
        p.stride,
        p.padding,
        p.dilation,
        p.ceil_mode,
    );
    let dtype = input.dtype();
    let out = super::empty(gpu, &shape, dtype);
    if out.numel() == 0 {
        return out;
    }
    let module = gpu
        .kernels
        .get(gpu, ("max_pool2d", dtype_code(&[dtype])), || {
            source(POOL, dtype, "max_pool")
        });
    let [n, c, h, w] = xs;
    let [_, _, oh, ow] = shape;
    let mut prm = Params::new();
    prm.buffer(input)
        .lay(input.layout().offset(), input.layout().strides());
    prm.buffer(&out);
    for v in [n, c, h, w, oh, ow] {
        prm.usize(v);
    }
    for v in [p.kernel_size, p.stride, p.padding, p.dilation] {
        prm.usize(v[0]).usize(v[1]);
    }
    launch(
        gpu,
        &module.entries[0],
        (grid_for(out.numel()), 1, 1),
        (BLOCK, 1, 1),
        0,
        &mut prm,
    );
    out
}

/// This file's kernel sources, for the NVRTC compile check (`cuda/mod.rs`).
#[cfg(test)]
pub(crate) fn sources_for_test() -> Vec<(String, Source)> {
    let mut out = Vec::new();
    for d in [DType::F32, DType::F64] {
        out.push((format!("im2col {d}"), source(IM2COL, d, "im2col")));
        out.push((format!("max_pool2d {d}"), source(POOL, d, "max_pool")));
    }
    out
}
