#!/usr/bin/env python3
"""GPU benchmark: cotangent against torch.func (eager) and JAX (eager and jit), one table.

Runs the same float32 workloads, on the same numbers, in three libraries on one device and
prints one table: workload | cotangent | torch.func | JAX eager | JAX jit | cotangent/torch
| target | verdict | FLOP floor | byte floor.

  gemm_4096               f32 a @ b, 4096^3, IEEE (TF32 off)     target: TFLOP/s >= 0.95x torch's
  add_256MB               a + b, two 64M-element f32 vectors     target: GB/s (3 x 256 MiB moved)
                                                                 >= 0.85x the copy bandwidth
  psg_mlp_B{64,256,1024,4096}  per-sample gradients of the MLP   target (B = 1024, 4096): time
                          784-512-512-10 (ReLU, cross_entropy):  <= 1.0x torch.func's
                          vmap(grad(loss), in_dims=(None, 0, 0))
                          over functional_call
  ensemble_{16,64}        gradients of 16 / 64 MLPs 784-256-10   target: time <= 1.0x torch.func's
                          on one shared batch of 64:
                          stack_module_state, vmap(grad(loss),
                          in_dims=(0, 0, None, None))
  vmap_jacrev_{64,1024}   vmap(jacrev(f)), f(x) = tanh(W2 tanh(W1 x)), x in R^256    report
  vmap_jacfwd_64          the same with jacfwd (forward mode), 64 inputs             report
  hessian_{128,1024}      hessian(g) (jacfwd(jacrev)), g(x) = sum(tanh(W x)), W n x n
                                                                 target (n = 128): time <= 1.0x torch.func
  jacfwd_jacfwd_128       jacfwd(jacfwd(g)) and jacrev(jacrev(g)),                    report
  jacrev_jacrev_128       g(x) = sum(tanh(W x)^2), W 128 x 128
  mlp_grad_B256           grad of the batch-mean cross_entropy of the MLP            report
                          784-512-512-10 at B = 256 (the per-sample rows' reference)
  maml_sine               MAML sine meta-gradient: MLP 1-40-40-1, target: time <= 1.0x torch.func
                          5 tasks x 10 shots, 1 inner SGD step
                          (lr 0.01), grad of the mean of
                          vmap(task_loss, in_dims=(None, 0, 0, 0, 0))
  psg_cnn                 per-sample gradients of the tutorials'  report
                          CNN (1x8x8 inputs, batch 64, nll_loss)
  conv_3x3_64             grad of 0.5 sum(conv2d(x, w, pad 1)^2)  report
                          w.r.t. x [32, 64, 56, 56] and w
                          [64, 64, 3, 3] (a ResNet stage's conv:
                          forward, input and weight gradients)
  grad_sin_5              grad(sin(x).sum()), 5 elements          target: time <= 1.0x torch.func

The cotangent side is the `gpu` bench binary (crates/cotangent/benches/gpu.rs; on the GPU
machine target/device/gpu_bench, built by scripts/cuda-build.sh), run once per workload as a
separate process (`EXE --device DEV WORKLOAD`), so one failing workload does not take the
others with it; it prints one JSON line per workload. The libraries run one after another
(cotangent, then torch, then JAX), so no library's cached device memory is held while
another one runs (JAX is told not to preallocate: XLA_PYTHON_CLIENT_PREALLOCATE=false).

Timing, the same in all three (and in gpu.rs): warm up, each call followed by a device
synchronisation (torch.cuda.synchronize(), JAX block_until_ready()), for at least 3 calls
and 0.2 s and until the timings settle (the median of the last 3 calls no more than 10 %
below the median of the 3 before), at most 10 s; then time samples of `batch` back-to-back
calls followed by one synchronisation (`batch` chosen so a sample lasts about 10 ms), 10 to
100 samples within about 1 s; report the median of sample_time / batch. JAX eager calls the
transformed function (jax.vmap(jax.grad(...)), ...) without jax.jit, so each primitive is
dispatched on its own; JAX jit is jax.jit of the same function.

Precision: torch.backends.cuda.matmul.allow_tf32 = False, torch.backends.cudnn.allow_tf32 =
False; JAX jax_default_matmul_precision = "highest"; cotangent's TF32 is off by default (the
binary also calls cuda::set_allow_tf32(false)).

Same numbers: parameters, inputs and labels come from the bench binary's 64-bit LCG
(reimplemented here, vectorised with numpy), so every library computes on identical inputs.
Each library reports every output's shape and the sum of |x| over all output elements; the
script compares them (shapes exactly, the sums to a relative 1e-4) and exits non-zero on a
mismatch. The cotangent binary also checks each result against an independent computation
(a plain grad per example on the CPU, or a closed form in f64) before timing it.

Ceilings, measured by torch in the same run: the device-to-device copy bandwidth (y.copy_(x)
of 1 GiB, read + write counted) and the IEEE sgemm rate at 4096^3 (on --device cpu: 64 MiB
and 1024^3, to keep a CPU test short). The floors of a workload are its counted FLOPs over
that GEMM rate and its counted bytes over that bandwidth (see `counts`).

Usage: python3 bench/gpu_compare.py [--device cuda|cpu|cuda:N] [--cotangent-exe EXE]
       [--libs cotangent,torch,jax] [--json-out FILE] [WORKLOAD ...]
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

# Before JAX is imported anywhere: do not grab 75 % of the GPU at start-up.
os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")

import numpy as np

REPO = Path(__file__).resolve().parent.parent

WARMUP_S = 0.2
WARMUP_MAX_S = 10.0
SAMPLE_TARGET_S = 10e-3
BUDGET_S = 1.0
MIN_SAMPLES = 10
MAX_SAMPLES = 100

WORKLOADS = [
    "gemm_4096",
    "add_256MB",
    "psg_mlp_B64",
    "psg_mlp_B256",
    "psg_mlp_B1024",
    "psg_mlp_B4096",
    "ensemble_16",
    "ensemble_64",
    "vmap_jacrev_64",
    "vmap_jacrev_1024",
    "vmap_jacfwd_64",
    "hessian_128",
    "hessian_1024",
    "jacfwd_jacfwd_128",
    "jacrev_jacrev_128",
    "mlp_grad_B256",
    "maml_sine",
    "psg_cnn",
    "conv_3x3_64",
    "grad_sin_5",
]

# workload -> (kind, bound, text)
#   "gemm": cotangent GFLOP/s >= bound x torch's
#   "copy": cotangent GB/s >= bound x the copy bandwidth measured by torch
#   "time": cotangent time <= bound x torch.func's
TARGETS = {
    "gemm_4096": ("gemm", 0.95, "TFLOP/s >= 0.95x torch"),
    "add_256MB": ("copy", 0.85, "GB/s >= 0.85x copy"),
    "psg_mlp_B1024": ("time", 1.0, "time <= 1.0x torch"),
    "psg_mlp_B4096": ("time", 1.0, "time <= 1.0x torch"),
    "ensemble_16": ("time", 1.0, "time <= 1.0x torch"),
    "ensemble_64": ("time", 1.0, "time <= 1.0x torch"),
    "maml_sine": ("time", 1.0, "time <= 1.0x torch"),
    "hessian_128": ("time", 1.0, "time <= 1.0x torch"),
    "grad_sin_5": ("time", 1.0, "time <= 1.0x torch"),
}
CHECK_RTOL = 1e-4
LIBS = ["cotangent", "torch", "jax_eager", "jax_jit"]
LIB_TITLES = {"cotangent": "cotangent", "torch": "torch.func", "jax_eager": "JAX eager", "jax_jit": "JAX jit"}


# ---------------------------------------------------------------- timing


def measure(f, sync) -> dict:
    """Median seconds per call of `f` (see the module doc); `sync(out)` waits for the device."""
    start = time.perf_counter()
    warm = []
    while True:
        t = time.perf_counter()
        out = f()
        sync(out)
        warm.append(time.perf_counter() - t)
        out = None
        n = len(warm)
        settled = n >= 6 and statistics.median(warm[-3:]) >= 0.9 * statistics.median(warm[-6:-3])
        elapsed = time.perf_counter() - start
        if (n >= 3 and elapsed >= WARMUP_S and settled) or elapsed >= WARMUP_MAX_S:
            break
    warmup_s = time.perf_counter() - start
    per_call = max(statistics.median(warm[-3:]), 1e-9)
    batch = max(1, math.ceil(SAMPLE_TARGET_S / per_call))
    samples = min(MAX_SAMPLES, max(MIN_SAMPLES, int(BUDGET_S / (per_call * batch))))
    times = []
    for _ in range(samples):
        t = time.perf_counter()
        for _ in range(batch):
            out = None
            out = f()
        sync(out)
        times.append((time.perf_counter() - t) / batch)
        out = None
    return {
        "median_s": statistics.median(times),
        "min_s": min(times),
        "iters": samples * batch,
        "samples": samples,
        "batch": batch,
        "warmup_calls": len(warm),
        "warmup_s": warmup_s,
    }


# ---------------------------------------------------------------- the bench binary's numbers

LCG_A, LCG_C, LCG_MASK = 6364136223846793005, 1442695040888963407, (1 << 64) - 1


def lcg_bits(n: int, seed: int) -> np.ndarray:
    """The bench binary's `lcg`: the 24 high bits of a 64-bit LCG's states after `seed`
    (vectorised: a first block of states serially, then jumps of one block length)."""
    s = (seed * LCG_A + LCG_C) & LCG_MASK
    m = max(1, min(n, 1 << 14))
    block = np.empty(m, dtype=np.uint64)
    for i in range(m):
        s = (s * LCG_A + LCG_C) & LCG_MASK
        block[i] = s
    jump_a, jump_c = 1, 0  # step^m(s) = jump_a * s + jump_c (mod 2^64)
    for _ in range(m):
        jump_a, jump_c = (jump_a * LCG_A) & LCG_MASK, (jump_c * LCG_A + LCG_C) & LCG_MASK
    out = np.empty(n, dtype=np.uint64)
    out[: min(n, m)] = block[: min(n, m)]
    ja, jc = np.uint64(jump_a), np.uint64(jump_c)
    with np.errstate(over="ignore"):
        for start in range(m, n, m):
            block = block * ja + jc  # wraps mod 2^64
            k = min(m, n - start)
            out[start : start + k] = block[:k]
    return out >> np.uint64(40)


def values(shape, seed: int) -> np.ndarray:
    """The bench binary's `values`: in [-1, 1), multiples of 2^-23 (exact in f32)."""
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    bits = lcg_bits(math.prod(shape), seed)
    v = (bits.astype(np.float32) / np.float32(1 << 24)) * np.float32(2.0) - np.float32(1.0)
    return v.reshape(shape)


def init_scale(fan_in: int) -> np.float32:
    return np.float32(1.0 / math.sqrt(fan_in))


def scaled(shape, seed: int, scale) -> np.ndarray:
    return values(shape, seed) * np.float32(scale)


def labels(n: int, seed: int) -> np.ndarray:
    return (lcg_bits(n, seed) % np.uint64(10)).astype(np.int64)


def lcg_params(shapes: dict, lead: int, seed: int) -> dict:
    """The bench binary's `lcg_params`: the k-th name in sorted order gets
    values(seed + k) * (1/sqrt(fan_in)) (an f32 product), fan_in that of the layer's
    weight, skipping `lead` stacked leading dims."""
    out = {}
    for k, name in enumerate(sorted(shapes)):
        layer = name.rsplit(".", 1)[0]
        fan_in = math.prod(shapes[layer + ".weight"][lead + 1 :])
        out[name] = scaled(shapes[name], seed + k, init_scale(fan_in))
    return out


def linear_shapes(dims) -> dict:
    """fc1..fcN of an MLP with these widths, as state-dict shapes."""
    out = {}
    for i, (d_in, d_out) in enumerate(zip(dims[:-1], dims[1:])):
        out[f"fc{i + 1}.weight"] = (d_out, d_in)
        out[f"fc{i + 1}.bias"] = (d_out,)
    return out


MLP_DIMS = [784, 512, 512, 10]
ENSEMBLE_DIMS = [784, 256, 10]
ENSEMBLE_BATCH = 64
CNN_SHAPES = {
    "conv1.weight": (32, 1, 3, 3),
    "conv1.bias": (32,),
    "conv2.weight": (64, 32, 3, 3),
    "conv2.bias": (64,),
    "fc1.weight": (128, 256),
    "fc1.bias": (128,),
    "fc2.weight": (10, 128),
    "fc2.bias": (10,),
}
MAML_DIMS = [1, 40, 40, 1]
MAML_TASKS, MAML_SHOTS, MAML_INNER_LR = 5, 10, 0.01
JAC_N = 256
CONV_X = (32, 64, 56, 56)
CONV_W = (64, 64, 3, 3)


def size_of(name: str) -> int:
    return int(name.rsplit("_", 1)[1].lstrip("B").rstrip("MB"))


def inputs(name: str) -> dict:
    """The workload's inputs as numpy arrays, identical to the bench binary's."""
    if name == "gemm_4096":
        n = 4096
        return {"a": values((n, n), 1), "b": values((n, n), 2)}
    if name == "add_256MB":
        n = 64 << 20
        return {"a": values(n, 3), "b": values(n, 4)}
    if name.startswith("psg_mlp_B") or name.startswith("mlp_grad_B"):
        b = size_of(name)
        return {
            "params": lcg_params(linear_shapes(MLP_DIMS), 0, 300),
            "x": values((b, 784), 30),
            "y": labels(b, 31),
        }
    if name.startswith("ensemble_"):
        m = size_of(name)
        shapes = {k: (m, *v) for k, v in linear_shapes(ENSEMBLE_DIMS).items()}
        return {
            "params": lcg_params(shapes, 1, 200),
            "x": values((ENSEMBLE_BATCH, 784), 20),
            "y": labels(ENSEMBLE_BATCH, 21),
        }
    if name.startswith("vmap_jacrev_") or name.startswith("vmap_jacfwd_"):
        count, n = size_of(name), JAC_N
        return {
            "w1": scaled((n, n), 40, init_scale(n)),
            "w2": scaled((n, n), 41, init_scale(n)),
            "xs": values((count, n), 42),
        }
    if name.startswith("hessian_"):
        n = size_of(name)
        return {"w": scaled((n, n), 50, init_scale(n)), "x": values(n, 51)}
    if name in ("jacfwd_jacfwd_128", "jacrev_jacrev_128"):
        n = size_of(name)
        return {"w": scaled((n, n), 52, init_scale(n)), "x": values(n, 53)}
    if name == "maml_sine":
        t, k = MAML_TASKS, MAML_SHOTS
        return {
            "params": lcg_params(linear_shapes(MAML_DIMS), 0, 600),
            "amplitude": values((t, 1, 1), 70),  # * 2.45 + 2.55 on the device
            "phase": values((t, 1, 1), 71),  # (+ 1) * pi / 2 on the device
            "xs": values((t, k, 1), 72),  # * 5 on the device
            "xq": values((t, k, 1), 73),
        }
    if name == "psg_cnn":
        return {"params": lcg_params(CNN_SHAPES, 0, 100), "x": values((64, 1, 8, 8), 10), "y": labels(64, 11)}
    if name == "conv_3x3_64":
        return {"x": values(CONV_X, 80), "w": scaled(CONV_W, 81, init_scale(9 * CONV_W[1]))}
    if name == "grad_sin_5":
        return {"x": values(5, 9)}
    raise KeyError(name)


def counts(name: str) -> tuple[float | None, float | None]:
    """(FLOPs, bytes) per call that no implementation can avoid (elementwise work and
    activations not counted), for the floors; None where not counted."""
    if name == "gemm_4096":
        n = 4096
        return 2.0 * n**3, 3.0 * 4 * n * n
    if name == "add_256MB":
        n = 64 << 20
        return float(n), 12.0 * n
    if name.startswith("psg_mlp_B"):
        b = size_of(name)
        pw = sum(i * o for i, o in zip(MLP_DIMS[:-1], MLP_DIMS[1:]))
        p = pw + sum(MLP_DIMS[1:])
        first = MLP_DIMS[0] * MLP_DIMS[1]
        # forward 2 Pw, input gradients of layers 2.. 2 (Pw - first), per-sample weight
        # gradients (outer products) Pw, per example; every per-sample gradient written.
        return b * (2.0 * pw + 2.0 * (pw - first) + pw), 4.0 * (b * p + p + b * MLP_DIMS[0])
    if name.startswith("ensemble_"):
        m, b = size_of(name), ENSEMBLE_BATCH
        pw = sum(i * o for i, o in zip(ENSEMBLE_DIMS[:-1], ENSEMBLE_DIMS[1:]))
        p = pw + sum(ENSEMBLE_DIMS[1:])
        # per model: forward 2 B Pw, weight gradients 2 B Pw, input gradient of layer 2;
        # parameters read and gradients written.
        flops = m * (4.0 * b * pw + 2.0 * b * ENSEMBLE_DIMS[1] * ENSEMBLE_DIMS[2])
        return flops, 4.0 * (2 * m * p + b * ENSEMBLE_DIMS[0])
    if name.startswith("vmap_jacrev_") or name.startswith("vmap_jacfwd_"):
        count, n = size_of(name), JAC_N
        # per input: the forward pass and one n x n x n product for
        # diag(1 - h2^2) W2 diag(1 - h1^2) W1; the Jacobians written.
        return count * (4.0 * n * n + 2.0 * n**3), 4.0 * (count * n * n + count * n + 2 * n * n)
    if name.startswith("hessian_"):
        n = size_of(name)
        # W^T diag(d) W: one n x n x n product; W read, H written.
        return 2.0 * n**3 + 2.0 * n * n, 4.0 * (2 * n * n + n)
    if name == "conv_3x3_64":
        (n, c, h, w), (o, _, kh, kw) = CONV_X, CONV_W
        # forward, input gradient and weight gradient: one n*o*h*w*c*kh*kw MAC count each;
        # x and w read, the gradients written.
        return 3 * 2.0 * n * o * h * w * c * kh * kw, 4.0 * 2 * (n * c * h * w + o * c * kh * kw)
    return None, None


# ---------------------------------------------------------------- torch


def torch_available() -> str | None:
    try:
        import torch  # noqa: F401
    except Exception as e:  # noqa: BLE001
        return f"torch import failed: {e}"
    return None


def torch_setup(device: str):
    import torch

    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.set_float32_matmul_precision("highest")
    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise RuntimeError("torch.cuda.is_available() is False")
        if ":" in device:
            torch.cuda.set_device(torch.device(device))
    return torch.device(device)


def torch_sync(device):
    import torch

    if device.type == "cuda":
        return lambda out: torch.cuda.synchronize(device)
    return lambda out: None


def torch_check(tensors) -> dict:
    """Shapes and sum |x| as the bench binary computes them (first dim reduced on the
    device in f32, the rest in f64)."""
    shapes, total = [], 0.0
    for t in tensors:
        shapes.append(list(t.shape))
        a = t.detach().abs()
        if a.dim() >= 2:
            a = a.sum(dim=0)
        total += a.double().sum().item()
    return {"shapes": shapes, "abs_sum": total}


def torch_models():
    import torch
    from torch import nn

    F = nn.functional

    class MLP(nn.Module):
        def __init__(self, dims):
            super().__init__()
            self.depth = len(dims) - 1
            for i, (d_in, d_out) in enumerate(zip(dims[:-1], dims[1:])):
                setattr(self, f"fc{i + 1}", nn.Linear(d_in, d_out))

        def forward(self, x):
            for i in range(1, self.depth + 1):
                x = getattr(self, f"fc{i}")(x)
                if i < self.depth:
                    x = F.relu(x)
            return x

    class SimpleCNN(nn.Module):
        """The tutorials' CNN for 1x8x8 inputs (examples/common/models.rs)."""

        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 32, 3, 1)
            self.conv2 = nn.Conv2d(32, 64, 3, 1)
            self.fc1 = nn.Linear(2 * 2 * 64, 128)
            self.fc2 = nn.Linear(128, 10)

        def forward(self, x):
            x = F.relu(self.conv1(x))
            x = F.relu(self.conv2(x))
            x = F.max_pool2d(x, 2)
            x = torch.flatten(x, 1)
            x = F.relu(self.fc1(x))
            x = self.fc2(x)
            return F.log_softmax(x, dim=1)

    return MLP, SimpleCNN


def torch_workload(name: str, data: dict, dev):
    """(call, outputs): `call()` runs the workload once; `outputs(result)` lists its output
    tensors in key order."""
    import copy

    import torch
    from torch.func import functional_call, grad, hessian, jacfwd, jacrev, stack_module_state, vmap

    F = torch.nn.functional
    MLP, SimpleCNN = torch_models()

    def T(a):
        return torch.from_numpy(np.ascontiguousarray(a)).to(dev)

    def Td(d):
        return {k: T(v) for k, v in d.items()}

    single = lambda out: [out]  # noqa: E731
    by_key = lambda out: [out[k] for k in sorted(out)]  # noqa: E731

    if name == "gemm_4096":
        a, b = T(data["a"]), T(data["b"])
        return (lambda: a @ b), single
    if name == "add_256MB":
        a, b = T(data["a"]), T(data["b"])
        return (lambda: a + b), single
    if name.startswith("psg_mlp_B"):
        model = MLP(MLP_DIMS).to(dev)
        params, x, y = Td(data["params"]), T(data["x"]), T(data["y"])

        def loss(params, x, y):
            return F.cross_entropy(functional_call(model, params, (x.unsqueeze(0),)), y.unsqueeze(0))

        per_sample = vmap(grad(loss), in_dims=(None, 0, 0))
        return (lambda: per_sample(params, x, y)), by_key
    if name.startswith("ensemble_"):
        m = size_of(name)
        models = [MLP(ENSEMBLE_DIMS).to(dev) for _ in range(m)]
        params, buffers = stack_module_state(models)
        with torch.no_grad():
            for k, v in data["params"].items():
                params[k].copy_(T(v))
        base = copy.deepcopy(models[0]).to("meta")
        del models
        x, y = T(data["x"]), T(data["y"])

        def loss(params, buffers, x, y):
            return F.cross_entropy(functional_call(base, (params, buffers), (x,)), y)

        step = vmap(grad(loss), in_dims=(0, 0, None, None))
        return (lambda: step(params, buffers, x, y)), by_key
    if name.startswith("vmap_jacrev_"):
        w1, w2, xs = T(data["w1"]), T(data["w2"]), T(data["xs"])
        jac = vmap(jacrev(lambda x: torch.tanh(w2 @ torch.tanh(w1 @ x))))
        return (lambda: jac(xs)), single
    if name.startswith("vmap_jacfwd_"):
        w1, w2, xs = T(data["w1"]), T(data["w2"]), T(data["xs"])
        jac = vmap(jacfwd(lambda x: torch.tanh(w2 @ torch.tanh(w1 @ x))))
        return (lambda: jac(xs)), single
    if name.startswith("hessian_"):
        w, x = T(data["w"]), T(data["x"])
        h = hessian(lambda x: torch.tanh(w @ x).sum())
        return (lambda: h(x)), single
    if name in ("jacfwd_jacfwd_128", "jacrev_jacrev_128"):
        w, x = T(data["w"]), T(data["x"])
        jac = jacfwd if name.startswith("jacfwd") else jacrev
        h = jac(jac(lambda x: torch.tanh(w @ x).square().sum()))
        return (lambda: h(x)), single
    if name.startswith("mlp_grad_B"):
        model = MLP(MLP_DIMS).to(dev)
        params, x, y = Td(data["params"]), T(data["x"]), T(data["y"])
        g = grad(lambda params, x, y: F.cross_entropy(functional_call(model, params, (x,)), y))
        return (lambda: g(params, x, y)), by_key
    if name == "maml_sine":
        params = Td(data["params"])
        amplitude = T(data["amplitude"]) * 2.45 + 2.55
        phase = (T(data["phase"]) + 1.0) * (math.pi / 2)
        xs, xq = T(data["xs"]) * 5.0, T(data["xq"]) * 5.0
        ys, yq = amplitude * torch.sin(xs + phase), amplitude * torch.sin(xq + phase)

        def mlp(p, x):
            layers = len(p) // 2
            for i in range(1, layers + 1):
                x = F.linear(x, p[f"fc{i}.weight"], p[f"fc{i}.bias"])
                if i < layers:
                    x = F.relu(x)
            return x

        def task_loss(p, xs, ys, xq, yq):
            g = grad(lambda p: F.mse_loss(mlp(p, xs), ys))(p)
            adapted = {k: p[k] - g[k] * MAML_INNER_LR for k in p}
            return F.mse_loss(mlp(adapted, xq), yq)

        def meta_loss(p):
            return vmap(task_loss, in_dims=(None, 0, 0, 0, 0))(p, xs, ys, xq, yq).mean()

        meta_grad = grad(meta_loss)
        return (lambda: meta_grad(params)), by_key
    if name == "psg_cnn":
        model = SimpleCNN().to(dev)
        params, x, y = Td(data["params"]), T(data["x"]), T(data["y"])

        def loss(params, x, y):
            return F.nll_loss(functional_call(model, params, (x.unsqueeze(0),)), y.unsqueeze(0))

        per_sample = vmap(grad(loss), in_dims=(None, 0, 0))
        return (lambda: per_sample(params, x, y)), by_key
    if name == "conv_3x3_64":
        x, w = T(data["x"]), T(data["w"])
        g = grad(lambda x, w: 0.5 * F.conv2d(x, w, padding=1).square().sum(), argnums=(0, 1))
        return (lambda: g(x, w)), list
    if name == "grad_sin_5":
        x = T(data["x"])
        g = grad(lambda x: x.sin().sum())
        return (lambda: g(x)), single
    raise KeyError(name)


def torch_ceilings(dev) -> dict:
    """The copy bandwidth (read + write counted) and the IEEE sgemm rate, measured in torch."""
    import torch

    sync = torch_sync(dev)
    big = dev.type == "cuda"
    copy_bytes = (1 << 30) if big else (64 << 20)
    n = 4096 if big else 1024
    out = {}
    x = torch.rand(copy_bytes // 4, device=dev)
    y = torch.empty_like(x)
    s = measure(lambda: y.copy_(x), sync)
    s.update(what=f"y.copy_(x), {copy_bytes >> 20} MiB f32", gbytes_s=2 * copy_bytes / s["median_s"] / 1e9)
    out["copy"] = s
    del x, y
    a, b = torch.rand(n, n, device=dev), torch.rand(n, n, device=dev)
    s = measure(lambda: a @ b, sync)
    s.update(what=f"sgemm {n}^3 IEEE fp32", gflops=2.0 * n**3 / s["median_s"] / 1e9)
    out["gemm"] = s
    del a, b
    if big:
        torch.cuda.empty_cache()
    for k, v in out.items():
        print(json.dumps({"lib": "torch", "ceiling": k, **v}), flush=True)
    return out


def run_torch(wanted: list[str], device: str, data_of) -> tuple[dict, dict, dict]:
    """(results by workload, ceilings, info)."""
    import torch

    dev = torch_setup(device)
    info = {"torch": torch.__version__}
    if dev.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(dev)
    sync = torch_sync(dev)
    ceilings = torch_ceilings(dev)
    results = {}
    for name in wanted:
        try:
            call, outputs = torch_workload(name, data_of(name), dev)
            out = call()
            sync(out)
            check = torch_check(outputs(out))
            del out
            r = measure(call, sync)
            r["check"] = check
        except Exception as e:  # noqa: BLE001
            r = {"error": f"{type(e).__name__}: {e}"}
        r.update(lib="torch", workload=name)
        add_rates(name, r)
        print(json.dumps(r), flush=True)
        results[name] = r
        call = outputs = None
        gc.collect()
        if dev.type == "cuda":
            torch.cuda.empty_cache()
    return results, ceilings, info


# ---------------------------------------------------------------- JAX


def jax_setup(device: str):
    import jax

    jax.config.update("jax_default_matmul_precision", "highest")
    if device.startswith("cuda"):
        index = int(device.split(":")[1]) if ":" in device else 0
        try:
            dev = jax.devices("gpu")[index]
        except RuntimeError:
            dev = jax.devices("cuda")[index]
    else:
        dev = jax.devices("cpu")[0]
    try:
        jax.config.update("jax_default_device", dev)
    except (AttributeError, KeyError, ValueError):
        pass  # run_jax also enters `with jax.default_device(dev)`
    return dev


def jax_workload(name: str, data: dict, dev):
    """(function, args, outputs): `function(*args)` runs the workload (eager as it is,
    or jax.jit of it); `outputs(result)` lists its output arrays in key order."""
    import jax
    import jax.numpy as jnp

    def J(a):
        return jax.device_put(np.ascontiguousarray(a), dev)

    def Jd(d):
        return {k: J(v) for k, v in d.items()}

    single = lambda out: [out]  # noqa: E731
    by_key = lambda out: [out[k] for k in sorted(out)]  # noqa: E731

    def mlp(p, x):
        layers = len(p) // 2
        for i in range(1, layers + 1):
            x = x @ p[f"fc{i}.weight"].T + p[f"fc{i}.bias"]
            if i < layers:
                x = jax.nn.relu(x)
        return x

    def nll(log_probs, y):
        return -jnp.take_along_axis(log_probs, y[:, None], axis=1).mean()

    def cross_entropy(logits, y):
        return nll(jax.nn.log_softmax(logits, axis=-1), y)

    if name == "gemm_4096":
        return (lambda a, b: a @ b), (J(data["a"]), J(data["b"])), single
    if name == "add_256MB":
        return (lambda a, b: a + b), (J(data["a"]), J(data["b"])), single
    if name.startswith("psg_mlp_B"):

        def loss(p, x, y):
            return cross_entropy(mlp(p, x[None]), y[None])

        f = jax.vmap(jax.grad(loss), in_axes=(None, 0, 0))
        return f, (Jd(data["params"]), J(data["x"]), J(data["y"])), by_key
    if name.startswith("ensemble_"):

        def loss(p, x, y):
            return cross_entropy(mlp(p, x), y)

        f = jax.vmap(jax.grad(loss), in_axes=(0, None, None))
        return f, (Jd(data["params"]), J(data["x"]), J(data["y"])), by_key
    if name.startswith("vmap_jacrev_"):

        def f(w1, w2, xs):
            return jax.vmap(jax.jacrev(lambda x: jnp.tanh(w2 @ jnp.tanh(w1 @ x))))(xs)

        return f, (J(data["w1"]), J(data["w2"]), J(data["xs"])), single
    if name.startswith("vmap_jacfwd_"):

        def f(w1, w2, xs):
            return jax.vmap(jax.jacfwd(lambda x: jnp.tanh(w2 @ jnp.tanh(w1 @ x))))(xs)

        return f, (J(data["w1"]), J(data["w2"]), J(data["xs"])), single
    if name.startswith("hessian_"):

        def f(w, x):
            return jax.hessian(lambda x: jnp.tanh(w @ x).sum())(x)

        return f, (J(data["w"]), J(data["x"])), single
    if name in ("jacfwd_jacfwd_128", "jacrev_jacrev_128"):
        jac = jax.jacfwd if name.startswith("jacfwd") else jax.jacrev

        def f(w, x):
            return jac(jac(lambda x: jnp.square(jnp.tanh(w @ x)).sum()))(x)

        return f, (J(data["w"]), J(data["x"])), single
    if name.startswith("mlp_grad_B"):

        def loss(p, x, y):
            return cross_entropy(mlp(p, x), y)

        return jax.grad(loss), (Jd(data["params"]), J(data["x"]), J(data["y"])), by_key
    if name == "maml_sine":
        amplitude = J(data["amplitude"]) * 2.45 + 2.55
        phase = (J(data["phase"]) + 1.0) * (math.pi / 2)
        xs, xq = J(data["xs"]) * 5.0, J(data["xq"]) * 5.0
        ys, yq = amplitude * jnp.sin(xs + phase), amplitude * jnp.sin(xq + phase)

        def mse(a, b):
            return jnp.mean((a - b) ** 2)

        def task_loss(p, xs, ys, xq, yq):
            g = jax.grad(lambda p: mse(mlp(p, xs), ys))(p)
            adapted = {k: p[k] - g[k] * MAML_INNER_LR for k in p}
            return mse(mlp(adapted, xq), yq)

        def meta_grad(p, xs, ys, xq, yq):
            meta_loss = lambda p: jax.vmap(task_loss, in_axes=(None, 0, 0, 0, 0))(p, xs, ys, xq, yq).mean()  # noqa: E731
            return jax.grad(meta_loss)(p)

        return meta_grad, (Jd(data["params"]), xs, ys, xq, yq), by_key
    if name == "psg_cnn":

        def conv(x, w, b):
            y = jax.lax.conv_general_dilated(x, w, (1, 1), "VALID", dimension_numbers=("NCHW", "OIHW", "NCHW"))
            return y + b[None, :, None, None]

        def cnn(p, x):
            x = jax.nn.relu(conv(x, p["conv1.weight"], p["conv1.bias"]))
            x = jax.nn.relu(conv(x, p["conv2.weight"], p["conv2.bias"]))
            x = jax.lax.reduce_window(x, -jnp.inf, jax.lax.max, (1, 1, 2, 2), (1, 1, 2, 2), "VALID")
            x = x.reshape(x.shape[0], -1)
            x = jax.nn.relu(x @ p["fc1.weight"].T + p["fc1.bias"])
            x = x @ p["fc2.weight"].T + p["fc2.bias"]
            return jax.nn.log_softmax(x, axis=1)

        def loss(p, x, y):
            return nll(cnn(p, x[None]), y[None])

        f = jax.vmap(jax.grad(loss), in_axes=(None, 0, 0))
        return f, (Jd(data["params"]), J(data["x"]), J(data["y"])), by_key
    if name == "conv_3x3_64":

        def energy(x, w):
            y = jax.lax.conv_general_dilated(x, w, (1, 1), ((1, 1), (1, 1)), dimension_numbers=("NCHW", "OIHW", "NCHW"))
            return 0.5 * jnp.square(y).sum()

        return jax.grad(energy, argnums=(0, 1)), (J(data["x"]), J(data["w"])), list
    if name == "grad_sin_5":
        return jax.grad(lambda x: jnp.sin(x).sum()), (J(data["x"]),), single
    raise KeyError(name)


def jax_check(arrays) -> dict:
    """Shapes and sum |x| (first dim reduced on the device in f32, the rest in f64 on the
    host, since JAX computes in f32 without jax_enable_x64)."""
    import jax.numpy as jnp

    shapes, total = [], 0.0
    for a in arrays:
        shapes.append(list(a.shape))
        r = jnp.abs(a)
        if r.ndim >= 2:
            r = r.sum(axis=0)
        total += float(np.abs(np.asarray(r, dtype=np.float64)).sum())
    return {"shapes": shapes, "abs_sum": total}


def run_jax(wanted: list[str], device: str, data_of) -> tuple[dict, dict, dict]:
    """(eager results, jit results, info)."""
    import jax

    dev = jax_setup(device)
    info = {"jax": jax.__version__, "jax_device": str(dev)}

    def sync(out):
        jax.block_until_ready(out)

    eager, jitted = {}, {}
    with jax.default_device(dev):
        for name in wanted:
            try:
                f, args, outputs = jax_workload(name, data_of(name), dev)
            except Exception as e:  # noqa: BLE001
                f = None
                error = f"{type(e).__name__}: {e}"
            for mode, table in (("eager", eager), ("jit", jitted)):
                r = {}
                if f is None:
                    r = {"error": error}
                else:
                    try:
                        fn = f if mode == "eager" else jax.jit(f)
                        call = lambda fn=fn: fn(*args)  # noqa: E731
                        t0 = time.perf_counter()
                        out = call()
                        sync(out)
                        first_s = time.perf_counter() - t0
                        check = jax_check(outputs(out))
                        del out
                        r = measure(call, sync)
                        r.update(check=check, first_call_s=first_s)
                    except Exception as e:  # noqa: BLE001
                        r = {"error": f"{type(e).__name__}: {e}"}
                r.update(lib=f"jax_{mode}", workload=name)
                add_rates(name, r)
                print(json.dumps(r), flush=True)
                table[name] = r
                fn = call = None
                gc.collect()
            f = args = None
            gc.collect()
    return eager, jitted, info


# ---------------------------------------------------------------- cotangent


def run_cotangent(exe: str, wanted: list[str], device: str, timeout: float) -> dict:
    """One process per workload: `EXE --device DEV WORKLOAD`; stderr passes through."""
    results = {}
    for name in wanted:
        cmd = [exe, "--device", device, name]
        try:
            proc = subprocess.run(cmd, cwd=REPO, stdout=subprocess.PIPE, text=True, timeout=timeout)
            lines = [json.loads(l) for l in proc.stdout.splitlines() if l.strip().startswith("{")]
            r = next((l for l in lines if l.get("workload") == name), None)
            if r is None:
                r = {"error": f"exit code {proc.returncode}, no result line (stdout: {proc.stdout[-300:]!r})"}
        except subprocess.TimeoutExpired:
            r = {"error": f"timed out after {timeout:.0f} s"}
        r.update(lib="cotangent", workload=name)
        print(json.dumps(r), flush=True)
        results[name] = r
    return results


def add_rates(name: str, r: dict) -> None:
    """GFLOP/s for gemm, GB/s for add (as the bench binary reports them)."""
    if "median_s" not in r:
        return
    flops, nbytes = counts(name)
    if name.startswith("gemm_"):
        r.setdefault("gflops", flops / r["median_s"] / 1e9)
    if name.startswith("add_"):
        r.setdefault("gbytes_s", nbytes / r["median_s"] / 1e9)


# ---------------------------------------------------------------- the table


def fmt_time(s: float | None) -> str:
    if s is None:
        return "-"
    if s < 1e-3:
        return f"{s * 1e6:.1f} us"
    if s < 1:
        return f"{s * 1e3:.3f} ms"
    return f"{s:.3f} s"


def cell(name: str, r: dict | None) -> str:
    if r is None:
        return "n/a"
    if "error" in r:
        return "error"
    text = fmt_time(r["median_s"])
    if name.startswith("gemm_") and r.get("gflops"):
        text += f" ({r['gflops'] / 1e3:.1f} TFLOP/s)"
    if name.startswith("add_") and r.get("gbytes_s"):
        text += f" ({r['gbytes_s']:.0f} GB/s)"
    return text


def verdict(name: str, cot: dict | None, tor: dict | None, ceilings: dict) -> tuple[str, str]:
    """(target text, verdict)."""
    if name not in TARGETS:
        return "report", "-"
    kind, bound, text = TARGETS[name]
    if cot is None or "median_s" not in cot:
        return text, "n/a"
    if kind == "copy":
        bw = ceilings.get("copy", {}).get("gbytes_s")
        if not bw:
            return text, "n/a"
        r = cot["gbytes_s"] / bw
        return text, f"{'PASS' if r >= bound else 'FAIL'} ({r:.2f}x)"
    if tor is None or "median_s" not in tor:
        return text, "n/a"
    if kind == "gemm":
        r = cot["gflops"] / tor["gflops"]
        return text, f"{'PASS' if r >= bound else 'FAIL'} ({r:.2f}x)"
    r = cot["median_s"] / tor["median_s"]
    return text, f"{'PASS' if r <= bound else 'FAIL'} ({r:.2f}x)"


def floors(name: str, ceilings: dict) -> tuple[float | None, float | None]:
    flops, nbytes = counts(name)
    rate = ceilings.get("gemm", {}).get("gflops")
    bw = ceilings.get("copy", {}).get("gbytes_s")
    return (
        flops / (rate * 1e9) if flops and rate else None,
        nbytes / (bw * 1e9) if nbytes and bw else None,
    )


def check_problems(name: str, results: dict) -> list[str]:
    """Differences between the libraries' output checks (against torch's, else the first
    library that reported one)."""
    checks = {lib: results[lib][name]["check"] for lib in LIBS if "check" in results[lib].get(name, {})}
    if len(checks) < 2:
        return []
    ref_lib = "torch" if "torch" in checks else next(iter(checks))
    ref = checks[ref_lib]
    out = []
    for lib, c in checks.items():
        if lib == ref_lib:
            continue
        if c["shapes"] != ref["shapes"]:
            out.append(f"{name}: {lib} output shapes {c['shapes']} != {ref_lib}'s {ref['shapes']}")
            continue
        rel = abs(c["abs_sum"] - ref["abs_sum"]) / max(abs(ref["abs_sum"]), 1e-30)
        if rel > CHECK_RTOL:
            out.append(
                f"{name}: {lib} sum|x| = {c['abs_sum']:.9g}, {ref_lib} {ref['abs_sum']:.9g} "
                f"(relative {rel:.1e} > {CHECK_RTOL:.0e})"
            )
    return out


def table(rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for k, r in enumerate(rows):
        lines.append(" | ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
        if k == 0:
            lines.append("-+-".join("-" * w for w in widths))
    return "\n".join(lines)


def worker(lib: str, wanted: list[str], device: str) -> None:
    """The torch or JAX phase, in a child process of its own (so the libraries never share
    a process: no clash of their CUDA libraries, and each one's cached device memory goes
    when it exits). Prints JSON lines: results, ceilings, {"info": ...}, {"note": ...}."""
    cache: dict[str, dict] = {}

    def data_of(name):
        if name not in cache:
            cache.clear()
            cache[name] = inputs(name)
        return cache[name]

    try:
        if lib == "torch":
            why = torch_available()
            if why:
                print(json.dumps({"note": why}), flush=True)
                return
            _, _, info = run_torch(wanted, device, data_of)
        else:
            try:
                import jax  # noqa: F401
            except Exception as e:  # noqa: BLE001
                print(json.dumps({"note": f"jax import failed: {e}"}), flush=True)
                return
            _, _, info = run_jax(wanted, device, data_of)
    except Exception as e:  # noqa: BLE001
        print(json.dumps({"note": f"{lib}: {type(e).__name__}: {e}"}), flush=True)
        return
    print(json.dumps({"info": info}), flush=True)


def spawn_worker(lib: str, wanted: list[str], device: str) -> tuple[list[dict], str | None]:
    """Run `worker(lib)` in a child Python, echo its output, return its JSON lines (and a
    note if it died)."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", lib, "--device", device, *wanted]
    lines = []
    with subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, text=True) as proc:
        for line in proc.stdout:
            print(line, end="", flush=True)
            if line.startswith("{"):
                try:
                    lines.append(json.loads(line))
                except json.JSONDecodeError:
                    pass
        rc = proc.wait()
    return lines, (f"{lib}: worker exited with code {rc}" if rc != 0 else None)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("workloads", nargs="*", help=f"a subset of {' '.join(WORKLOADS)} (default: all)")
    ap.add_argument("--device", default="cuda", help="cuda (default), cuda:N or cpu, for every library")
    ap.add_argument(
        "--cotangent-exe",
        default="target/device/gpu_bench",
        help="the gpu bench binary (default target/device/gpu_bench, relative to the repo root)",
    )
    ap.add_argument("--libs", default="cotangent,torch,jax", help="which libraries to run (default all three)")
    ap.add_argument("--timeout", type=float, default=300.0, help="seconds per cotangent workload (default 300)")
    ap.add_argument("--json-out", type=Path, help="also write every result to this JSON file")
    ap.add_argument("--worker", choices=["torch", "jax"], help=argparse.SUPPRESS)
    args = ap.parse_args()
    unknown = [w for w in args.workloads if w not in WORKLOADS]
    if unknown:
        sys.exit(f"unknown workloads {unknown}; choose from {' '.join(WORKLOADS)}")
    wanted = [w for w in WORKLOADS if not args.workloads or w in args.workloads]
    libs = set(args.libs.split(","))
    if args.device != "cpu" and not args.device.startswith("cuda"):
        sys.exit("--device takes cuda, cuda:N or cpu")

    if args.worker:
        worker(args.worker, wanted, args.device)
        return

    info = {"device": args.device, "python": platform.python_version(), "numpy": np.__version__}
    notes = []
    results: dict[str, dict] = {lib: {} for lib in LIBS}
    ceilings: dict = {}
    print(f"# {args.device}; workloads: {' '.join(wanted)}", flush=True)

    if "cotangent" in libs:
        exe = Path(args.cotangent_exe)
        exe = exe if exe.is_absolute() else REPO / exe
        if exe.is_file():
            results["cotangent"] = run_cotangent(str(exe), wanted, args.device, args.timeout)
        else:
            notes.append(f"cotangent: no binary at {exe} (bash scripts/cuda-build.sh builds it)")
    for lib in ("torch", "jax"):
        if lib not in libs:
            continue
        lines, note = spawn_worker(lib, wanted, args.device)
        if note:
            notes.append(note)
        for r in lines:
            if "info" in r:
                info.update(r["info"])
            elif "note" in r:
                notes.append(r["note"])
            elif "ceiling" in r:
                ceilings[r["ceiling"]] = r
            elif r.get("lib") in results and "workload" in r:
                results[r["lib"]][r["workload"]] = r

    header = ["workload", *(LIB_TITLES[lib] for lib in LIBS), "cotangent/torch", "target", "verdict"]
    header += ["FLOP floor", "byte floor"]
    rows, summary, problems = [header], [], []
    for name in wanted:
        cot, tor = results["cotangent"].get(name), results["torch"].get(name)
        ratio = "-"
        if cot and tor and "median_s" in cot and "median_s" in tor:
            ratio = f"{cot['median_s'] / tor['median_s']:.2f}x"
        target, ok = verdict(name, cot, tor, ceilings)
        name_problems = check_problems(name, results)
        problems += name_problems
        if name_problems:
            ok = f"{ok}; OUTPUTS DIFFER"
        flop_floor, byte_floor = floors(name, ceilings)
        rows.append(
            [name, *(cell(name, results[lib].get(name)) for lib in LIBS), ratio, target, ok]
            + [fmt_time(flop_floor), fmt_time(byte_floor)]
        )
        summary.append(
            {
                "workload": name,
                "ratio_time": cot["median_s"] / tor["median_s"] if ratio != "-" else None,
                "target": target,
                "verdict": ok,
                "flop_floor_s": flop_floor,
                "byte_floor_s": byte_floor,
                "flops": counts(name)[0],
                "bytes": counts(name)[1],
            }
        )

    print()
    print(
        "# "
        + "; ".join(f"{k} {v}" for k, v in info.items())
        + f"; {platform.machine()}, {os.cpu_count()} CPUs"
    )
    if ceilings:
        c, g = ceilings["copy"], ceilings["gemm"]
        print(
            f"# ceilings (torch): {c['what']}: {c['gbytes_s']:.0f} GB/s (read + write); "
            f"{g['what']}: {g['gflops'] / 1e3:.1f} TFLOP/s"
        )
    print(table(rows))
    for name in wanted:
        errors = [f"{lib}: {results[lib][name]['error']}" for lib in LIBS if "error" in results[lib].get(name, {})]
        for e in errors:
            print(f"error {name}: {e}")
    for n in notes:
        print(f"n/a: {n}")
    for p in problems:
        print(f"OUTPUT MISMATCH {p}")
    if not problems:
        checked = [n for n in wanted if sum("check" in results[lib].get(n, {}) for lib in LIBS) >= 2]
        if checked:
            print(f"outputs agree (shapes; sum |x| within {CHECK_RTOL:.0e}) on: {' '.join(checked)}")

    if args.json_out:
        args.json_out.write_text(
            json.dumps(
                {"info": info, "notes": notes, "ceilings": ceilings, "results": results, "table": summary, "problems": problems},
                indent=2,
            )
        )
    if problems:
        sys.exit(1)


if __name__ == "__main__":
    main()
