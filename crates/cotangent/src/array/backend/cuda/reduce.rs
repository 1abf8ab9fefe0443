//! Reductions over any axes, arg reductions and cumulative sums on the device.
//!
//! As on the host (`cpu/reduce.rs`), the input is seen as `n_out` rows of `k` elements: the
//! kept dims index the rows (row-major, which is the output's order) and the reduced dims the
//! elements of a row, each set of dims merged by [`coalesce`] and read through its strides, so
//! any view (transposed, sliced, broadcast) is reduced in place.
//!
//! One kernel serves every shape of problem. A block of 256 threads takes `ob` rows and
//! gives each `kb` threads (`ob * kb = 256`, powers of two): `kb = 1` is one thread per
//! output, `ob = 1` one block per output. The threads of a warp run along whichever of the
//! two has the smaller innermost stride, so the reads coalesce both for a reduction over the
//! last axis (threads along the row) and over a leading one (threads along the outputs).
//! Each thread folds its elements, then the block combines the `kb` partials of each row in
//! shared memory. When there are too few rows to fill the device, the rows are also split
//! along `k` over `gridDim.y`; the splits write partials (in the accumulator type) and a
//! second launch reduces them.
//!
//! Accumulators: `f32` sums are kept in `f64` (the host adds blocks of 4096 in `f32` and the
//! blocks in `f64`; `f64` throughout is at least as accurate), everything else in the element
//! type; `i64` sums and products wrap. Max and min propagate NaN as the host does.
//!
//! Arg reductions carry (value, index) pairs and break ties by the smaller index, so the
//! first occurrence (and the first NaN) wins whatever order the threads combine in.
//!
//! Cumulative sums: one thread per line when lines are short or many; otherwise blocks
//! scan 256 elements at a time with warp shuffles, and long lines are cut into chunks whose
//! totals a first pass computes (the reduction kernel with its split), so every chunk scans
//! in parallel from the sum of the chunks before it. `f32` totals are kept in `f64`.

use std::fmt::Write;

use super::compile::{Key, Source};
use super::elementwise::dtype_code;
use super::launch::{BLOCK, MAX_RANK, Params, coalesce, grid_for, launch};
use super::runtime::Gpu;
use super::source::{c_type, module};
use crate::array::backend::ReduceOp;
use crate::array::{Array, DType};
use crate::error::{Error, raise};

/// Blocks that keep the device busy (132 SMs, 8 resident blocks of 256 threads each): below
/// this many row tiles, a reduction also splits its rows.
const TARGET_BLOCKS: usize = 1024;
/// The fewest elements a thread folds in one split; below that a split costs more than it
/// brings.
const MIN_PER_THREAD: usize = 32;
/// `gridDim.y` limit (the number of splits).
const MAX_GRID_Y: usize = 65535;
/// Blocks along `gridDim.x`; the kernels loop over row tiles past it.
const MAX_GRID_X: usize = 1 << 20;
/// Elements a cumsum block scans when a line is cut into chunks (a multiple of 256).
const SCAN_CHUNK: usize = 4096;

/// The input as rows: `n_out` rows of `k` elements.
struct Rows {
    /// Kept dims (merged) and their input strides.
    kept: Vec<usize>,
    kept_strides: Vec<usize>,
    /// Reduced dims (merged) and their input strides.
    red: Vec<usize>,
    red_strides: Vec<usize>,
    /// The input's offset, in elements.
    offset: usize,
    n_out: usize,
    k: usize,
}

/// `x` seen as rows over its kept dims, each reducing over `axes` (sorted, unique).
fn rows_of(op: &'static str, x: &Array, axes: &[usize]) -> Rows {
    let (shape, strides) = (x.shape(), x.layout().strides());
    let (mut kept, mut kept_strides, mut red, mut red_strides) = (vec![], vec![], vec![], vec![]);
    for d in 0..shape.len() {
        if axes.contains(&d) {
            red.push(shape[d]);
            red_strides.push(strides[d]);
        } else {
            kept.push(shape[d]);
            kept_strides.push(strides[d]);
        }
    }
    let n_out = kept.iter().product();
    let k = red.iter().product();
    let (kept, mut ks) = coalesce(&kept, &[&kept_strides]);
    let (red, mut rs) = coalesce(&red, &[&red_strides]);
    for (what, dims) in [("kept", &kept), ("reduced", &red)] {
        if dims.len() > MAX_RANK {
            raise(Error::Device {
                op,
                msg: format!(
                    "CUDA kernels index at most {MAX_RANK} dims, and the {what} dims of this \
                     view of shape {shape:?} need {}; call .contiguous() on the input first",
                    dims.len()
                ),
            });
        }
    }
    Rows {
        kept,
        kept_strides: ks.swap_remove(0),
        red,
        red_strides: rs.swap_remove(0),
        offset: x.layout().offset(),
        n_out,
        k,
    }
}

/// How a launch spreads rows and their elements over threads and blocks.
#[derive(Clone, Copy, Debug)]
struct Tiling {
    /// Threads of a warp run along a row (else along the outputs).
    k_fast: bool,
    /// log2 of the threads per row (`kb`) and of the rows per block (`ob`).
    kb_log: u32,
    ob_log: u32,
    /// Splits of each row (`gridDim.y`) and the elements of each but the last.
    splits: usize,
    chunk: usize,
    /// `gridDim.x`.
    blocks_x: usize,
}

/// The tiling for `n_out` rows of `k` (> 0) elements whose innermost strides along a row
/// and across rows are `red_inner` and `kept_inner` (`None` without such dims).
fn tiling(
    n_out: usize,
    k: usize,
    red_inner: Option<usize>,
    kept_inner: Option<usize>,
    allow_split: bool,
) -> Tiling {
    let k_fast = match (red_inner, kept_inner) {
        (_, None) => true,
        (None, Some(_)) => false,
        (Some(r), Some(o)) => r <= o,
    };
    let block = BLOCK as usize;
    let kb = if k_fast {
        let whole = k.next_power_of_two().min(block);
        if n_out.div_ceil(block / whole) >= TARGET_BLOCKS {
            // Rows enough to fill the device: fewer threads per row, several elements each
            // (a warp still reads 32 neighbours when the row has them).
            k.div_ceil(8)
                .next_power_of_two()
                .clamp(whole.min(32), whole)
        } else {
            whole
        }
    } else {
        block / n_out.next_power_of_two().min(block)
    };
    let ob = block / kb;
    let tiles = n_out.div_ceil(ob);
    let splits = if allow_split && tiles < TARGET_BLOCKS {
        TARGET_BLOCKS
            .div_ceil(tiles)
            .min(k / (kb * MIN_PER_THREAD))
            .clamp(1, MAX_GRID_Y)
    } else {
        1
    };
    let chunk = k.div_ceil(splits);
    Tiling {
        k_fast,
        kb_log: kb.trailing_zeros(),
        ob_log: ob.trailing_zeros(),
        splits: k.div_ceil(chunk),
        chunk,
        blocks_x: tiles.min(MAX_GRID_X),
    }
}

impl Rows {
    fn tiling(&self, allow_split: bool) -> Tiling {
        tiling(
            self.n_out,
            self.k,
            self.red_strides.last().copied(),
            self.kept_strides.last().copied(),
            allow_split,
        )
    }
}

/// `offset_of`: a row-major position's offset in a strided layout.
const OFFSET_OF: &str = r#"
/* The offset of row-major position r of shape s in layout l. */
__device__ __forceinline__ i64 offset_of(const Shape& s, const Lay& l, i64 r) {
  i64 o = l.off;
  for (int d = (int)s.rank - 1; d > 0; --d) { const i64 m = s.dim[d]; o += (r % m) * l.st[d]; r /= m; }
  return s.rank > 0 ? o + r * l.st[0] : o;
}
"#;

/// The fields every row-tiled kernel's parameter struct has, after its pointers (see
/// [`Tiling`] and [`tile_params`]).
const TILE_FIELDS: &str =
    "i64 n_out; i64 K; i64 chunk; i64 kb_log; i64 ob_log; i64 k_fast; i64 out_split;";

/// The prologue of a row-tiled kernel: `t`, `kb`/`ob`, this thread's row and element slot
/// (`ot`, `kt`), the step in shared memory to the same row's slot `kt + 1` (`partner`), this
/// split's element range and the number of row tiles.
const TILE_PROLOGUE: &str = r#"
  const int t = threadIdx.x;
  const int kb = 1 << p.kb_log, ob = 1 << p.ob_log;
  const int kt = p.k_fast ? (t & (kb - 1)) : (t >> p.ob_log);
  const int ot = p.k_fast ? (t >> p.kb_log) : (t & (ob - 1));
  const int partner = p.k_fast ? 1 : ob;
  const i64 k_begin = (i64)blockIdx.y * p.chunk;
  const i64 k_end = p.K < k_begin + p.chunk ? p.K : k_begin + p.chunk;
  const i64 tiles = (p.n_out + ob - 1) >> p.ob_log;
"#;

fn tile_params(p: &mut Params, rows: &Rows, t: &Tiling, out_split: usize) {
    p.usize(rows.n_out)
        .usize(rows.k)
        .usize(t.chunk)
        .u64(t.kb_log as u64)
        .u64(t.ob_log as u64)
        .u64(t.k_fast as u64)
        .usize(out_split);
}

fn op_name(op: ReduceOp) -> &'static str {
    match op {
        ReduceOp::Sum => "reduce_sum",
        ReduceOp::Max => "reduce_max",
        ReduceOp::Min => "reduce_min",
        ReduceOp::Prod => "reduce_prod",
    }
}

/// The accumulator dtype of `op` over `dtype`.
fn acc_dtype(op: ReduceOp, dtype: DType) -> DType {
    match (op, dtype) {
        (ReduceOp::Sum, DType::F32) => DType::F64,
        _ => dtype,
    }
}

/// The reduction kernel reading `ti`, accumulating in `ta`, writing `to`.
fn reduce_source(op: ReduceOp, ti: DType, ta: DType, to: DType) -> Source {
    let int = ta == DType::I64;
    let (ident, comb) = match op {
        ReduceOp::Sum => ("TA(0)", "ct_add(a, b)"),
        ReduceOp::Prod => ("TA(1)", "ct_mul(a, b)"),
        ReduceOp::Max => (
            if int {
                "(-0x7fffffffffffffffLL - 1)"
            } else {
                "(TA)(-CT_INF)"
            },
            "(b > a || (ct_isnan(b) && !ct_isnan(a))) ? b : a",
        ),
        ReduceOp::Min => (
            if int {
                "0x7fffffffffffffffLL"
            } else {
                "(TA)CT_INF"
            },
            "(b < a || (ct_isnan(b) && !ct_isnan(a))) ? b : a",
        ),
    };
    let mut s = String::new();
    let _ = writeln!(
        s,
        "typedef {} TI;\ntypedef {} TA;\ntypedef {} TO;",
        c_type(ti),
        c_type(ta),
        c_type(to)
    );
    let _ = writeln!(
        s,
        "__device__ __forceinline__ TA ident() {{ return {ident}; }}\n\
         /* a covers elements before b's: max and min keep a on ties, as the host does. */\n\
         __device__ __forceinline__ TA comb(TA a, TA b) {{ return {comb}; }}"
    );
    let _ = writeln!(
        s,
        "struct P {{ const TI* in; TO* out; {TILE_FIELDS} Shape ks; Lay kl; Shape rs; Lay rl; }};"
    );
    s.push_str(OFFSET_OF);
    s.push_str(
        r#"
/* Fold the elements k = k0, k0 + step, ... < k1 of the row that starts at src. */
__device__ TA fold_row(const P& p, const TI* src, i64 k0, i64 k1, i64 step) {
  TA acc = ident();
  const int rank = (int)p.rs.rank;
  if (rank <= 1) {
    const i64 st = rank == 1 ? p.rl.st[0] : 0;
#pragma unroll 4
    for (i64 k = k0; k < k1; k += step) acc = comb(acc, (TA)src[k * st]);
    return acc;
  }
  /* Several reduced dims: k's digits in their mixed radix, advanced by step's digits with
     carries, so no element costs a division. sd[d] == 0 for every d < hi. */
  i64 idx[MAXR], sd[MAXR];
  i64 off = 0, a = k0, b = step;
  int hi = rank;
  for (int d = rank - 1; d >= 0; --d) {
    const i64 m = p.rs.dim[d];
    if (d == 0) { idx[d] = a; sd[d] = b; }
    else { idx[d] = a % m; a /= m; sd[d] = b % m; b /= m; }
    if (sd[d] != 0) hi = d;
    off += idx[d] * p.rl.st[d];
  }
  for (i64 k = k0; k < k1; k += step) {
    acc = comb(acc, (TA)src[off]);
    int carry = 0;
    for (int d = rank - 1; d >= 0; --d) {
      if (d < hi && carry == 0) break;
      const i64 inc = sd[d] + carry;
      idx[d] += inc;
      off += inc * p.rl.st[d];
      /* idx[d] + inc <= 2 dim - 1: one wrap at most. Digit 0 never wraps (k >= K then). */
      if (d > 0 && idx[d] >= p.rs.dim[d]) {
        idx[d] -= p.rs.dim[d];
        off -= p.rs.dim[d] * p.rl.st[d];
        carry = 1;
      } else {
        carry = 0;
      }
    }
  }
  return acc;
}

extern "C" __global__ void reduce(const P p) {
  __shared__ TA sh[256];
"#,
    );
    s.push_str(TILE_PROLOGUE);
    s.push_str(
        r#"
  for (i64 tile = blockIdx.x; tile < tiles; tile += gridDim.x) {
    const i64 r = (tile << p.ob_log) + ot;
    TA acc = ident();
    if (r < p.n_out) acc = fold_row(p, p.in + offset_of(p.ks, p.kl, r), k_begin + kt, k_end, kb);
    sh[t] = acc;
    __syncthreads();
    for (int s = kb >> 1; s > 0; s >>= 1) {
      if (kt < s) sh[t] = comb(sh[t], sh[t + s * partner]);
      __syncthreads();
    }
    if (kt == 0 && r < p.n_out) p.out[(i64)blockIdx.y * p.out_split + r] = (TO)sh[t];
    __syncthreads();
  }
}
"#,
    );
    Source {
        code: module(&s),
        entries: vec!["reduce"],
    }
}

/// Queue one reduction launch: `rows` of `src` (of dtype `ti`) folded with `op` in `ta`
/// into `out` (dtype `to`), split `t.splits` ways (split `y` writes `out[y * n_out + r]`).
fn launch_reduce(
    gpu: &Gpu,
    op: ReduceOp,
    src: &Array,
    rows: &Rows,
    t: &Tiling,
    (ti, ta, to): (DType, DType, DType),
    out: &Array,
) {
    let key: Key = (op_name(op), dtype_code(&[ti, ta, to]));
    let module = gpu.kernels.get(gpu, key, || reduce_source(op, ti, ta, to));
    let mut p = Params::new();
    p.buffer(src).buffer(out);
    tile_params(&mut p, rows, t, rows.n_out);
    p.shape(&rows.kept)
        .lay(rows.offset, &rows.kept_strides)
        .shape(&rows.red)
        .lay(0, &rows.red_strides);
    launch(
        gpu,
        &module.entries[0],
        (t.blocks_x as u32, t.splits as u32, 1),
        (BLOCK, 1, 1),
        0,
        &mut p,
    );
}

/// The rows of a `[splits, n_out]` row-major array of partials, reduced over the splits.
fn partial_rows(splits: usize, n_out: usize) -> Rows {
    let (kept, mut ks) = coalesce(&[n_out], &[&[1]]);
    let (red, mut rs) = coalesce(&[splits], &[&[n_out]]);
    Rows {
        kept,
        kept_strides: ks.swap_remove(0),
        red,
        red_strides: rs.swap_remove(0),
        offset: 0,
        n_out,
        k: splits,
    }
}

/// `x` reduced over `axes` (sorted, unique), which are removed.
pub(crate) fn reduce(gpu: &Gpu, x: &Array, axes: &[usize], op: ReduceOp) -> Array {
    let dtype = x.dtype();
    if dtype == DType::Bool {
        panic!("internal: reduce of bool reached the CUDA kernel");
    }
    let out_shape: Vec<usize> = (0..x.rank())
        .filter(|d| !axes.contains(d))
        .map(|d| x.shape()[d])
        .collect();
    let rows = rows_of(op_name(op), x, axes);
    if rows.n_out == 0 {
        return super::empty(gpu, &out_shape, dtype);
    }
    if rows.k == 0 {
        return match op {
            ReduceOp::Sum => super::full(gpu, &out_shape, 0.0, 0, dtype),
            ReduceOp::Prod => super::full(gpu, &out_shape, 1.0, 1, dtype),
            ReduceOp::Max | ReduceOp::Min => {
                panic!("internal: empty max/min reduction reached the CUDA kernel")
            }
        };
    }
    let out = super::empty(gpu, &out_shape, dtype);
    let acc = acc_dtype(op, dtype);
    let t = rows.tiling(true);
    if t.splits == 1 {
        launch_reduce(gpu, op, x, &rows, &t, (dtype, acc, dtype), &out);
        return out;
    }
    let partials = super::empty(gpu, &[t.splits, rows.n_out], acc);
    launch_reduce(gpu, op, x, &rows, &t, (dtype, acc, acc), &partials);
    let second = partial_rows(t.splits, rows.n_out);
    let t2 = second.tiling(false);
    launch_reduce(gpu, op, &partials, &second, &t2, (acc, acc, dtype), &out);
    out
}

/// The arg-reduction kernel over `dtype`.
fn arg_source(dtype: DType) -> Source {
    let mut s = String::new();
    let _ = writeln!(s, "typedef {} TV;", c_type(dtype));
    let _ = writeln!(
        s,
        "struct P {{ const TV* in; const i64* in_idx; i64* out_idx; TV* out_val; {TILE_FIELDS} \
         i64 st; i64 want_max; Shape ks; Lay kl; }};"
    );
    s.push_str(OFFSET_OF);
    s.push_str(
        r#"
/* Whether (c, ci) beats (b, bi): a NaN beats any number, then the larger (smaller), then
   the smaller index; an index < 0 is no candidate. */
__device__ __forceinline__ bool better(TV c, i64 ci, TV b, i64 bi, bool mx) {
  if (ci < 0) return false;
  if (bi < 0) return true;
  const bool cn = ct_isnan(c), bn = ct_isnan(b);
  if (cn || bn) return cn && (!bn || ci < bi);
  if (mx ? (c > b) : (c < b)) return true;
  return c == b && ci < bi;
}

/* Pass 1 (in_idx null): an element's index is its position k. Pass 2 reads the partials
   of pass 1 ([splits, n_out] values and indices, one layout) and takes their indices. The
   partials keep -1 for "none"; the final output has 0 there (an empty axis, as the host). */
extern "C" __global__ void arg(const P p) {
  __shared__ TV sv[256];
  __shared__ i64 si[256];
  const bool mx = p.want_max != 0;
"#,
    );
    s.push_str(TILE_PROLOGUE);
    s.push_str(
        r#"
  for (i64 tile = blockIdx.x; tile < tiles; tile += gridDim.x) {
    const i64 r = (tile << p.ob_log) + ot;
    TV bv = TV(0);
    i64 bi = -1;
    if (r < p.n_out) {
      const i64 base = offset_of(p.ks, p.kl, r);
      for (i64 k = k_begin + kt; k < k_end; k += kb) {
        const i64 o = base + k * p.st;
        const TV v = p.in[o];
        const i64 i = p.in_idx ? p.in_idx[o] : k;
        if (better(v, i, bv, bi, mx)) { bv = v; bi = i; }
      }
    }
    sv[t] = bv;
    si[t] = bi;
    __syncthreads();
    for (int s = kb >> 1; s > 0; s >>= 1) {
      if (kt < s) {
        const int j = t + s * partner;
        if (better(sv[j], si[j], sv[t], si[t], mx)) { sv[t] = sv[j]; si[t] = si[j]; }
      }
      __syncthreads();
    }
    if (kt == 0 && r < p.n_out) {
      const i64 o = (i64)blockIdx.y * p.out_split + r;
      if (p.out_val) { p.out_val[o] = sv[t]; p.out_idx[o] = si[t]; }
      else p.out_idx[o] = si[t] < 0 ? 0 : si[t];
    }
    __syncthreads();
  }
}
"#,
    );
    Source {
        code: module(&s),
        entries: vec!["arg"],
    }
}

/// One arg-reduction launch over `rows` (one reduced dim) of `values` (with `indices` in
/// the same layout for pass 2); writes `out_idx`, and `out_val` for partials.
#[allow(clippy::too_many_arguments)]
fn launch_arg(
    gpu: &Gpu,
    values: &Array,
    indices: Option<&Array>,
    rows: &Rows,
    t: &Tiling,
    max: bool,
    out_idx: &Array,
    out_val: Option<&Array>,
) {
    let dtype = values.dtype();
    let module = gpu
        .kernels
        .get(gpu, ("arg_reduce", dtype_code(&[dtype])), || {
            arg_source(dtype)
        });
    let mut p = Params::new();
    p.buffer(values);
    match indices {
        Some(i) => p.buffer(i),
        None => p.u64(0),
    };
    p.buffer(out_idx);
    match out_val {
        Some(v) => p.buffer(v),
        None => p.u64(0),
    };
    tile_params(&mut p, rows, t, rows.n_out);
    p.usize(rows.red_strides.first().copied().unwrap_or(0))
        .u64(max as u64)
        .shape(&rows.kept)
        .lay(rows.offset, &rows.kept_strides);
    launch(
        gpu,
        &module.entries[0],
        (t.blocks_x as u32, t.splits as u32, 1),
        (BLOCK, 1, 1),
        0,
        &mut p,
    );
}

/// Index of the max (or min) along `axis`, which is removed; `i64`.
pub(crate) fn arg_reduce(gpu: &Gpu, x: &Array, axis: usize, max: bool) -> Array {
    let mut out_shape = x.shape().to_vec();
    out_shape.remove(axis);
    let rows = rows_of("arg_reduce", x, &[axis]);
    if rows.n_out == 0 {
        return super::empty(gpu, &out_shape, DType::I64);
    }
    if rows.k == 0 {
        return super::full(gpu, &out_shape, 0.0, 0, DType::I64);
    }
    let out = super::empty(gpu, &out_shape, DType::I64);
    let t = rows.tiling(true);
    if t.splits == 1 {
        launch_arg(gpu, x, None, &rows, &t, max, &out, None);
        return out;
    }
    let vals = super::empty(gpu, &[t.splits, rows.n_out], x.dtype());
    let idxs = super::empty(gpu, &[t.splits, rows.n_out], DType::I64);
    launch_arg(gpu, x, None, &rows, &t, max, &idxs, Some(&vals));
    let second = partial_rows(t.splits, rows.n_out);
    let t2 = second.tiling(false);
    launch_arg(gpu, &vals, Some(&idxs), &second, &t2, max, &out, None);
    out
}

/// The cumsum kernels over `dtype`, totals in `acc`.
fn scan_source(dtype: DType, acc: DType) -> Source {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "typedef {} TI;\ntypedef {} TA;\ntypedef TI TO;",
        c_type(dtype),
        c_type(acc)
    );
    s.push_str(
        "struct P { const TI* in; TO* out; const TA* part; i64 n; i64 inner; i64 lines; \
         i64 chunk; i64 st; Shape ls; Lay ll; };\n",
    );
    s.push_str(OFFSET_OF);
    s.push_str(
        r#"
/* Line l (row-major over every dim but the axis) starts at out[(l / inner) * n * inner +
   l % inner] in the row-major output, and steps by inner. */
__device__ __forceinline__ i64 out_start(const P& p, i64 l) {
  return (l / p.inner) * p.n * p.inner + l % p.inner;
}

/* One thread per line, in order: exactly the host's sums. */
extern "C" __global__ void scan_lines(const P p) {
  for (i64 l = (i64)blockIdx.x * blockDim.x + threadIdx.x; l < p.lines; l += (i64)gridDim.x * blockDim.x) {
    const TI* src = p.in + offset_of(p.ls, p.ll, l);
    TO* dst = p.out + out_start(p, l);
    TA acc = TA(0);
    for (i64 i = 0; i < p.n; ++i) {
      acc = ct_add(acc, (TA)src[i * p.st]);
      dst[i * p.inner] = (TO)acc;
    }
  }
}

/* The inclusive scan of v over the block's 256 threads (every thread calls it), and the
   block's total. */
__device__ __forceinline__ TA block_scan(TA v, TA* warp_sums, TA& total) {
  const int lane = threadIdx.x & 31, w = threadIdx.x >> 5;
#pragma unroll
  for (int o = 1; o < 32; o <<= 1) {
    const TA u = __shfl_up_sync(0xffffffffu, v, o);
    if (lane >= o) v = ct_add(u, v);
  }
  if (lane == 31) warp_sums[w] = v;
  __syncthreads();
  TA before = TA(0);
  total = TA(0);
#pragma unroll
  for (int i = 0; i < 8; ++i) {
    const TA s = warp_sums[i];
    if (i < w) before = ct_add(before, s);
    total = ct_add(total, s);
  }
  __syncthreads();
  return ct_add(before, v);
}

/* Block (x, y) scans chunk y of line x (and every gridDim.x-th line after it), starting
   from the sum of the totals of chunks 0..y (part: [chunks, lines]; null with one chunk). */
extern "C" __global__ void scan_blocks(const P p) {
  __shared__ TA warp_sums[8];
  const i64 c0 = (i64)blockIdx.y * p.chunk;
  const i64 c1 = p.n < c0 + p.chunk ? p.n : c0 + p.chunk;
  for (i64 l = blockIdx.x; l < p.lines; l += gridDim.x) {
    const TI* src = p.in + offset_of(p.ls, p.ll, l);
    TO* dst = p.out + out_start(p, l);
    TA carry = TA(0), total;
    if (p.part) {
      TA s = TA(0);
      for (i64 j = threadIdx.x; j < (i64)blockIdx.y; j += blockDim.x) s = ct_add(s, p.part[j * p.lines + l]);
      block_scan(s, warp_sums, carry);
    }
    for (i64 i0 = c0; i0 < c1; i0 += 256) {
      const i64 i = i0 + threadIdx.x;
      const TA v = i < c1 ? (TA)src[i * p.st] : TA(0);
      const TA s = block_scan(v, warp_sums, total);
      if (i < c1) dst[i * p.inner] = (TO)ct_add(carry, s);
      carry = ct_add(carry, total);
    }
  }
}
"#,
    );
    Source {
        code: module(&s),
        entries: vec!["scan_lines", "scan_blocks"],
    }
}

/// The accumulator of a cumsum over `dtype` (the host's: `f32` in `f64`).
fn scan_acc(dtype: DType) -> DType {
    match dtype {
        DType::F32 => DType::F64,
        d => d,
    }
}

/// Running sums along `axis`.
pub(crate) fn cumsum(gpu: &Gpu, x: &Array, axis: usize) -> Array {
    let dtype = x.dtype();
    if dtype == DType::Bool {
        panic!("internal: cumsum of bool reached the CUDA kernel");
    }
    let shape = x.shape();
    let out = super::empty(gpu, shape, dtype);
    if x.numel() == 0 {
        return out;
    }
    let n = shape[axis];
    let inner: usize = shape[axis + 1..].iter().product();
    let rows = rows_of("cumsum", x, &[axis]);
    let lines = rows.n_out;
    let acc = scan_acc(dtype);
    let module = gpu
        .kernels
        .get(gpu, ("cumsum", dtype_code(&[dtype, acc])), || {
            scan_source(dtype, acc)
        });
    // Short lines, or many whose neighbours are neighbours in memory: a thread per line
    // (sequential, coalesced across threads when inner > 1). Otherwise blocks scan.
    let per_thread = n <= 64 || (lines >= 16384 && (inner > 1 || n <= 512));
    let block = BLOCK as usize;
    let (chunk, chunks) = if per_thread || lines >= TARGET_BLOCKS {
        (n, 1)
    } else {
        let want = n
            .div_ceil(SCAN_CHUNK)
            .min(TARGET_BLOCKS.div_ceil(lines))
            .max(1);
        let chunk = n.div_ceil(want).div_ceil(block) * block;
        (chunk, n.div_ceil(chunk))
    };
    // The chunk totals, by the reduction kernel split at the chunk boundaries.
    let part = (chunks > 1).then(|| {
        let partials = super::empty(gpu, &[chunks, lines], acc);
        let mut t = rows.tiling(false);
        t.chunk = chunk;
        t.splits = chunks;
        launch_reduce(
            gpu,
            ReduceOp::Sum,
            x,
            &rows,
            &t,
            (dtype, acc, acc),
            &partials,
        );
        partials
    });
    let mut p = Params::new();
    p.buffer(x).buffer(&out);
    match &part {
        Some(a) => p.buffer(a),
        None => p.u64(0),
    };
    p.usize(n)
        .usize(inner)
        .usize(lines)
        .usize(chunk)
        .usize(rows.red_strides.first().copied().unwrap_or(0))
        .shape(&rows.kept)
        .lay(rows.offset, &rows.kept_strides);
    if per_thread {
        launch(
            gpu,
            &module.entries[0],
            (grid_for(lines), 1, 1),
            (BLOCK, 1, 1),
            0,
            &mut p,
        );
    } else {
        launch(
            gpu,
            &module.entries[1],
            (lines.min(MAX_GRID_X) as u32, chunks as u32, 1),
            (BLOCK, 1, 1),
            0,
            &mut p,
        );
    }
    out
}

/// This file's kernel sources, for the NVRTC compile check (`cuda/mod.rs`).
#[cfg(test)]
pub(crate) fn sources_for_test() -> Vec<(String, super::compile::Source)> {
    let mut all = Vec::new();
    for op in [ReduceOp::Sum, ReduceOp::Max, ReduceOp::Min, ReduceOp::Prod] {
        for d in [DType::F32, DType::F64, DType::I64] {
            let acc = acc_dtype(op, d);
            // One pass, then split pass 1 and 2 where the accumulator differs.
            let mut variants = vec![(d, acc, d)];
            if acc != d {
                variants.push((d, acc, acc));
                variants.push((acc, acc, d));
            }
            for (ti, ta, to) in variants {
                all.push((op_name(op).to_string(), reduce_source(op, ti, ta, to)));
            }
        }
    }
    for d in [DType::F32, DType::F64, DType::I64, DType::Bool] {
        all.push(("arg_reduce".to_string(), arg_source(d)));
    }
    for d in [DType::F32, DType::F64, DType::I64] {
        all.push(("cumsum".to_string(), scan_source(d, scan_acc(d))));
    }
    all
}

#[cfg(test)]
mod tests {
    use super::tiling;

    #[test]
    fn tilings_fill_a_block_and_split_only_few_long_rows() {
        for (n_out, k, ri, ki) in [
            (1, 1, None, None),
            (1, 100_000_000, Some(1), None),
            (1_000_000, 3, Some(1), Some(3)),
            (10, 1_000_000, Some(10), Some(1)),
            (1_000_000, 1000, Some(1_000_000), Some(1)),
            (100_000, 1000, Some(1), Some(1000)),
        ] {
            let t = tiling(n_out, k, ri, ki, true);
            assert_eq!(t.kb_log + t.ob_log, 8, "{t:?}");
            assert!(
                t.splits >= 1 && t.splits <= 65535 && t.chunk * t.splits >= k,
                "{t:?}"
            );
            assert!(t.chunk * (t.splits - 1) < k, "{t:?}");
        }
        assert!(tiling(1, 100_000_000, Some(1), None, true).splits > 1);
        assert_eq!(tiling(100_000, 1000, Some(1), Some(1000), true).splits, 1);
        assert!(!tiling(10, 1_000_000, Some(10), Some(1), true).k_fast);
    }
}
