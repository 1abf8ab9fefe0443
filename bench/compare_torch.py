#!/usr/bin/env python3
"""Side-by-side benchmark of cotangent against PyTorch (torch.func) on the CPU.

Runs the same workloads in both libraries in one go and prints a table of medians, ratios
and targets:

  matmul_1024     f32 (1024 x 1024) @ (1024 x 1024)   target: cotangent GFLOP/s >= 0.85 x torch's
  add_4M          a + b, 4M-element f32 vectors          target: time <= 1.2 x torch's
  sum_16M         x.sum(), 16M f32                       target: time <= 1.2 x torch's
  transpose_4096  x.t().contiguous(), 4096 x 4096 f32    target: time <= 1.5 x torch's
  add_5           a + b, 5-element f32 (eager overhead)  target: cotangent <= 0.5 us absolute
  grad_sin_sum_5  grad(lambda x: x.sin().sum())(x),      target: cotangent <= 3 us absolute
                  5-element f32 (reverse-mode overhead;
                  torch side: torch.func.grad)
  per_sample_grads_cnn    per-sample gradients of all parameters     target: report the ratio
                          of the per_sample_grads example's CNN
                          (conv 1->32 3x3, relu, conv 32->64 3x3,
                          relu, max_pool2d 2, flatten, linear
                          256->128, relu, linear 128->10,
                          log_softmax; nll_loss) over a [64, 1, 8, 8]
                          batch: vmap(grad(compute_loss),
                          in_dims=(None, None, 0, 0)) over
                          functional_call, as in PyTorch's
                          "Per-sample-gradients" tutorial
  ensemble_mlp_10         forward pass of 10 MLPs 64-128-128-10      target: report the ratio
                          (stack_module_state) on one shared [64, 64]
                          minibatch: vmap(fmodel, in_dims=(0, 0,
                          None)), as in the "Model ensembling" tutorial
                          (torch's stacked params require grad, as
                          stack_module_state returns them)
  ensemble_train_step_10  gradient of a training step of the same    target: report the ratio
                          ensemble: vmap(grad(loss), in_dims=(0, 0,
                          None, None)) of the cross-entropy on [64, 64]
                          inputs and [64] labels, w.r.t. the stacked
                          params (no optimiser update)

The three model workloads take parameters, inputs and labels from the same 64-bit LCG on
both sides (reimplemented here; see `lcg_bits`), so both libraries compute on identical
numbers; the bench binary reports every output's shape and the sum of |output| over all
elements, and the script compares them with torch's (shapes exactly, the sum to a relative
1e-4). A mismatch is shown in the result column and makes the script exit non-zero.

plus the buffer-pool experiment: the cotangent side runs twice, as separate processes, with
the pool on and with COTANGENT_POOL=0 (the variable is read once per process).

The cotangent side is `cargo bench -p cotangent --bench side_by_side`
(crates/cotangent/benches/side_by_side.rs), which prints one JSON line per workload: the
script builds it with `cargo bench --no-run` and then runs that binary once per workload and
pool setting, interleaved with the torch measurement of the same workload, so a change in
the machine's load hits both libraries alike (and an edit to the tree mid-run cannot trigger
a rebuild). The timing method here mirrors the Rust side exactly: warm up (>= 3 calls and 0.2 s), time samples of
`batch` back-to-back calls (batch chosen so a sample lasts ~2 ms, which is how the 5-element
eager-overhead case is timed as a loop of many calls divided by their number), take >= 15
samples within a ~2 s budget, report the median seconds per call. The whole comparison is
repeated for --rounds rounds (default 3), interleaved, and for each library and workload the
round with the median result is reported (one round disturbed by another process on the
machine does not decide the result; every round's median is kept in --json-out). Before each
measurement the script waits (up to --quiet-wait seconds) until the CPUs are idle, since on a
2-core machine a concurrent compiler halves one library's threads; torch's OpenMP barriers
suffer worst (a 0.6 ms sum becomes 8 ms when a core is taken).

If JAX is importable, grad_sin_sum_5 is also timed in JAX as jax.jit(jax.grad(f)) (compiled
once, then each call dispatches the compiled function and waits for its result with
block_until_ready); its medians are printed in a separate table, for reference only.

Before/after a change: --baseline-exe EXE names a second bench binary (say, the
side_by_side binary built from the commit before the change, copied out of target/), which
each round also runs on every workload (pool on) next to this tree's, alternating which of
the two goes first; a table of the two medians, their ratio and the per-round ratios (the
noise) follows the main one. --cotangent-exe EXE uses a prebuilt binary instead of building
this tree's.

Usage: python bench/compare_torch.py [--threads 2] [--rounds 3] [--json-out FILE]
       [--baseline-exe EXE] [--cotangent-exe EXE] [WORKLOAD ...]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parent.parent

MIN_SAMPLES = 15
MAX_SAMPLES = 200
BUDGET_S = 2.0
SAMPLE_TARGET_S = 2e-3
WARMUP_S = 0.2

WORKLOADS = [
    "matmul_1024",
    "add_4M",
    "sum_16M",
    "transpose_4096",
    "add_5",
    "grad_sin_sum_5",
    "per_sample_grads_cnn",
    "ensemble_mlp_10",
    "ensemble_train_step_10",
]
# Workloads also timed in JAX when it is installed.
JAX_WORKLOADS = ["grad_sin_sum_5"]

# workload -> (kind, bound, description)
#   "speed": cotangent GFLOP/s / torch GFLOP/s must be >= bound
#   "time":  cotangent time / torch time must be <= bound
#   "abs":   cotangent time must be <= bound seconds
#   "report": no target; the time ratio is reported (and the outputs cross-checked)
TARGETS = {
    "matmul_1024": ("speed", 0.85, "GFLOP/s >= 0.85x torch"),
    "add_4M": ("time", 1.2, "time <= 1.2x torch"),
    "sum_16M": ("time", 1.2, "time <= 1.2x torch"),
    "transpose_4096": ("time", 1.5, "time <= 1.5x torch"),
    "add_5": ("abs", 0.5e-6, "<= 0.5 us"),
    "grad_sin_sum_5": ("abs", 3e-6, "<= 3 us"),
    "per_sample_grads_cnn": ("report", None, "report"),
    "ensemble_mlp_10": ("report", None, "report"),
    "ensemble_train_step_10": ("report", None, "report"),
}
# Relative tolerance of the cross-check of the model workloads' sum of |output|.
CHECK_RTOL = 1e-4


def measure(f) -> dict:
    """Median seconds per call of `f`, with warm-up and adaptive batching (see module doc)."""
    start = time.perf_counter()
    warm = 0
    while warm < 3 or time.perf_counter() - start < WARMUP_S:
        f()
        warm += 1
    per_call = (time.perf_counter() - start) / warm
    batch = max(1, int(-(-SAMPLE_TARGET_S // per_call)))
    samples = min(MAX_SAMPLES, max(MIN_SAMPLES, int(BUDGET_S / (per_call * batch))))
    times = []
    for _ in range(samples):
        t = time.perf_counter()
        for _ in range(batch):
            f()
        times.append((time.perf_counter() - t) / batch)
    return {"median_s": statistics.median(times), "iters": samples * batch, "samples": samples}


def values(shape, seed):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(shape, generator=g, dtype=torch.float32) * 2 - 1


LCG_A, LCG_C, LCG_MASK = 6364136223846793005, 1442695040888963407, (1 << 64) - 1


def lcg_bits(n: int, seed: int) -> list[int]:
    """The bench binary's `lcg`: the 24 high bits of a 64-bit LCG's states after `seed`."""
    s = (seed * LCG_A + LCG_C) & LCG_MASK
    out = []
    for _ in range(n):
        s = (s * LCG_A + LCG_C) & LCG_MASK
        out.append(s >> 40)
    return out


def lcg_values(shape, seed: int) -> torch.Tensor:
    """The bench binary's `values`: in [-1, 1), multiples of 2^-23, so exact in f32."""
    bits = lcg_bits(math.prod(shape), seed)
    return torch.tensor([b / 2**24 * 2 - 1 for b in bits], dtype=torch.float32).reshape(shape)


def lcg_labels(n: int, seed: int) -> torch.Tensor:
    """The bench binary's `labels`: class indices in 0..10, int64."""
    return torch.tensor([b % 10 for b in lcg_bits(n, seed)], dtype=torch.int64)


def lcg_params(params: dict, lead: int, seed: int) -> dict:
    """The bench binary's `lcg_params`: the k-th name in sorted order gets
    `lcg_values(seed + k) / sqrt(fan_in)` (f32 product), `fan_in` that of the layer's weight,
    skipping `lead` stacked leading dims."""
    out = {}
    for k, name in enumerate(sorted(params)):
        layer = name.rsplit(".", 1)[0]
        fan_in = math.prod(params[layer + ".weight"].shape[lead + 1 :])
        scale = torch.tensor(1.0 / math.sqrt(fan_in), dtype=torch.float32)
        out[name] = lcg_values(tuple(params[name].shape), seed + k) * scale
    return out


def output_check(tensors) -> dict:
    """Shapes (in order) and the sum of |x| over all elements, as the bench binary reports."""
    tensors = list(tensors)
    return {
        "shapes": [list(t.shape) for t in tensors],
        "abs_sum": sum(t.detach().double().abs().sum().item() for t in tensors),
    }


class SimpleCNN(torch.nn.Module):
    """The per_sample_grads example's CNN (the tutorial's SimpleCNN for 1x8x8 inputs, with
    log_softmax output)."""

    def __init__(self):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(1, 32, 3, 1)
        self.conv2 = torch.nn.Conv2d(32, 64, 3, 1)
        self.fc1 = torch.nn.Linear(2 * 2 * 64, 128)
        self.fc2 = torch.nn.Linear(128, 10)

    def forward(self, x):
        F = torch.nn.functional
        x = F.relu(self.conv1(x))
        x = F.relu(self.conv2(x))
        x = F.max_pool2d(x, 2)
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        x = self.fc2(x)
        return F.log_softmax(x, dim=1)


class SimpleMLP(torch.nn.Module):
    """The model_ensembling example's MLP (the tutorial's SimpleMLP for 64 inputs)."""

    def __init__(self):
        super().__init__()
        self.fc1 = torch.nn.Linear(64, 128)
        self.fc2 = torch.nn.Linear(128, 128)
        self.fc3 = torch.nn.Linear(128, 10)

    def forward(self, x):
        F = torch.nn.functional
        x = x.flatten(1)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


def ensemble_10():
    """The tutorial's setup: 10 models, stack_module_state, a copy of one model on 'meta' as
    the structure; the stacked tensors are then overwritten in place with the LCG values (so
    they stay what stack_module_state returns: leaves that require grad)."""
    from torch.func import stack_module_state

    models = [SimpleMLP() for _ in range(10)]
    params, buffers = stack_module_state(models)
    with torch.no_grad():
        for name, value in lcg_params(params, 1, 200).items():
            params[name].copy_(value)
    import copy

    base_model = copy.deepcopy(models[0]).to("meta")
    return base_model, params, buffers


def torch_results(wanted: list[str]) -> dict[str, dict]:
    out = {}

    def record(name, stats, flops=None, nbytes=None, check=None):
        if check is not None:
            stats["check"] = check
        stats.update(
            lib="torch",
            workload=name,
            gflops=flops / stats["median_s"] / 1e9 if flops else None,
            gbps=nbytes / stats["median_s"] / 1e9 if nbytes else None,
            threads=torch.get_num_threads(),
        )
        out[name] = stats
        print(json.dumps(stats), flush=True)

    if "matmul_1024" in wanted:
        n = 1024
        a, b = values((n, n), 1), values((n, n), 2)
        record("matmul_1024", measure(lambda: a @ b), flops=2.0 * n**3)
    if "add_4M" in wanted:
        n = 4 << 20
        a, b = values(n, 3), values(n, 4)
        record("add_4M", measure(lambda: a + b), nbytes=3 * 4 * n)
    if "sum_16M" in wanted:
        n = 16 << 20
        x = values(n, 5)
        record("sum_16M", measure(lambda: x.sum()), nbytes=4 * n)
    if "transpose_4096" in wanted:
        n = 4096
        x = values((n, n), 6)
        record("transpose_4096", measure(lambda: x.t().contiguous()), nbytes=2 * 4 * n * n)
    if "add_5" in wanted:
        a, b = values(5, 7), values(5, 8)
        record("add_5", measure(lambda: a + b), nbytes=3 * 4 * 5)
    if "grad_sin_sum_5" in wanted:
        x = values(5, 9)
        g = torch.func.grad(lambda x: x.sin().sum())
        torch.testing.assert_close(g(x), x.cos())
        record("grad_sin_sum_5", measure(lambda: g(x)))
    if "per_sample_grads_cnn" in wanted:
        from torch.func import functional_call, grad, vmap

        batch_size = 64
        model = SimpleCNN()
        params = lcg_params({k: v.detach() for k, v in model.named_parameters()}, 0, 100)
        buffers = {k: v.detach() for k, v in model.named_buffers()}
        data = lcg_values((batch_size, 1, 8, 8), 10)
        targets = lcg_labels(batch_size, 11)

        def compute_loss(params, buffers, sample, target):
            batch = sample.unsqueeze(0)
            targets = target.unsqueeze(0)
            predictions = functional_call(model, (params, buffers), (batch,))
            return torch.nn.functional.nll_loss(predictions, targets)

        ft_compute_sample_grad = vmap(grad(compute_loss), in_dims=(None, None, 0, 0))
        grads = ft_compute_sample_grad(params, buffers, data, targets)
        for name, p in params.items():
            assert grads[name].shape == (batch_size, *p.shape), name
        check = output_check(grads[k] for k in sorted(grads))
        stats = measure(lambda: ft_compute_sample_grad(params, buffers, data, targets))
        record("per_sample_grads_cnn", stats, check=check)
    if "ensemble_mlp_10" in wanted:
        from torch.func import functional_call, vmap

        base_model, params, buffers = ensemble_10()
        minibatch = lcg_values((64, 64), 20)

        def fmodel(params, buffers, x):
            return functional_call(base_model, (params, buffers), (x,))

        vmap_same = vmap(fmodel, in_dims=(0, 0, None))
        predictions = vmap_same(params, buffers, minibatch)
        assert predictions.shape == (10, 64, 10)
        check = output_check([predictions])
        record("ensemble_mlp_10", measure(lambda: vmap_same(params, buffers, minibatch)), check=check)
    if "ensemble_train_step_10" in wanted:
        from torch.func import functional_call, grad, vmap

        base_model, params, buffers = ensemble_10()
        x, y = lcg_values((64, 64), 20), lcg_labels(64, 21)

        def loss(params, buffers, x, y):
            return torch.nn.functional.cross_entropy(functional_call(base_model, (params, buffers), (x,)), y)

        step = vmap(grad(loss), in_dims=(0, 0, None, None))
        grads = step(params, buffers, x, y)
        for name, p in params.items():
            assert grads[name].shape == p.shape, name
        check = output_check(grads[k] for k in sorted(grads))
        record("ensemble_train_step_10", measure(lambda: step(params, buffers, x, y)), check=check)
    return out


def jax_available() -> bool:
    try:
        import jax  # noqa: F401
    except ImportError:
        return False
    return True


def jax_results(wanted: list[str]) -> dict[str, dict]:
    """The JAX_WORKLOADS among `wanted`, timed in JAX (empty if JAX is not installed)."""
    wanted = [w for w in wanted if w in JAX_WORKLOADS]
    if not wanted or not jax_available():
        return {}
    import jax
    import jax.numpy as jnp

    out = {}
    if "grad_sin_sum_5" in wanted:
        x = jnp.asarray(values(5, 9).numpy())
        g = jax.jit(jax.grad(lambda x: jnp.sin(x).sum()))
        got = g(x).block_until_ready()  # compiles
        assert jnp.allclose(got, jnp.cos(x), rtol=1e-6, atol=1e-6)
        stats = measure(lambda: g(x).block_until_ready())
        stats.update(lib="jax", workload="grad_sin_sum_5", gflops=None, gbps=None, jit=True)
        out["grad_sin_sum_5"] = stats
        print(json.dumps(stats), flush=True)
    return out


def build_cotangent() -> str:
    """Build the release bench binary (`cargo bench --no-run`) and return its path."""
    cmd = ["cargo", "bench", "-p", "cotangent", "--bench", "side_by_side", "--no-run", "--message-format=json"]
    print(f"$ {' '.join(cmd)}", file=sys.stderr, flush=True)
    proc = subprocess.run(cmd, cwd=REPO, stdout=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        sys.exit(f"cargo bench --no-run failed with exit code {proc.returncode}")
    exe = None
    for line in proc.stdout.splitlines():
        msg = json.loads(line)
        if msg.get("reason") == "compiler-artifact" and msg["target"]["name"] == "side_by_side":
            exe = msg.get("executable") or exe
    if exe is None:
        sys.exit("could not find the side_by_side bench executable in cargo's output")
    return exe


def cotangent_run(exe: str, wanted: list[str], threads: int, pool: bool, lib: str = "cotangent") -> dict[str, dict]:
    """Run the bench binary (what `cargo bench --bench side_by_side -- WORKLOADS` runs) in a
    fresh process, so COTANGENT_POOL is read anew. `lib` labels the printed lines."""
    env = dict(os.environ, RAYON_NUM_THREADS=str(threads))
    if pool:
        env.pop("COTANGENT_POOL", None)
    else:
        env["COTANGENT_POOL"] = "0"
    proc = subprocess.run([exe, "--bench", *wanted], cwd=REPO, env=env, stdout=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        sys.exit(f"{exe} failed with exit code {proc.returncode}")
    out = {}
    for line in proc.stdout.splitlines():
        line = line.strip()
        if line.startswith("{"):
            r = json.loads(line)
            r["lib"] = lib
            print(json.dumps(r), flush=True)
            out[r["workload"]] = r
    return out


def cpu_busy(interval: float = 0.5) -> float:
    """Fraction of all CPUs busy over `interval` seconds (from /proc/stat; 0 if unavailable)."""

    def snap():
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
        return sum(fields), fields[3] + fields[4]  # total, idle + iowait

    try:
        t0, i0 = snap()
        time.sleep(interval)
        t1, i1 = snap()
    except (OSError, ValueError, IndexError):
        return 0.0
    return 1.0 - (i1 - i0) / max(1, t1 - t0)


def wait_quiet(max_wait: float, threshold: float = 0.15) -> bool:
    """Wait (up to `max_wait` s) until other processes leave the CPUs idle, so neither library
    is timed while, say, a compiler shares the 2 cores. Returns False if it never got quiet."""
    deadline = time.monotonic() + max_wait
    while True:
        busy = cpu_busy()
        if busy < threshold:
            return True
        if time.monotonic() > deadline:
            print(f"# warning: CPUs still {busy:.0%} busy after {max_wait:.0f} s; timing anyway", flush=True)
            return False
        time.sleep(2.0)


def loadavg() -> str:
    try:
        return Path("/proc/loadavg").read_text().split()[0]
    except OSError:
        return "?"


def combine(per_round: list[dict[str, dict]]) -> dict[str, dict]:
    """Per workload, the round whose median is the median of the rounds' medians (so one
    round disturbed by another process on the machine does not decide the result)."""
    out = {}
    for name in per_round[0]:
        runs = sorted((r[name] for r in per_round if name in r), key=lambda r: r["median_s"])
        pick = dict(runs[(len(runs) - 1) // 2])
        pick["round_medians_s"] = [r[name]["median_s"] for r in per_round if name in r]
        out[name] = pick
    return out


def fmt_time(s: float | None) -> str:
    if s is None:
        return "-"
    if s < 1e-6:
        return f"{s * 1e9:.0f} ns"
    if s < 1e-3:
        return f"{s * 1e6:.2f} us"
    return f"{s * 1e3:.3f} ms"


def rate(r: dict) -> str:
    if r.get("gflops"):
        return f"{r['gflops']:.1f} GFLOP/s"
    if r.get("gbps"):
        return f"{r['gbps']:.2f} GB/s"
    return ""


def compare_checks(name: str, cot: dict, tor: dict) -> str | None:
    """None if the outputs' shapes and sums of |x| agree (or there is nothing to compare),
    else a message saying how they differ."""
    c, t = cot.get("check"), tor.get("check")
    if c is None and t is None:
        return None
    if c is None or t is None:
        return f"{name}: only one side reported an output check"
    if c["shapes"] != t["shapes"]:
        return f"{name}: output shapes differ: cotangent {c['shapes']}, torch {t['shapes']}"
    rel = abs(c["abs_sum"] - t["abs_sum"]) / max(abs(t["abs_sum"]), 1e-30)
    if rel > CHECK_RTOL:
        return (
            f"{name}: sum of |output| differs: cotangent {c['abs_sum']:.9g}, torch {t['abs_sum']:.9g} "
            f"(relative {rel:.1e} > {CHECK_RTOL:.0e})"
        )
    return None


def verdict(name: str, cot: dict, tor: dict) -> tuple[str, str, str]:
    """(ratio shown, target text, PASS/FAIL, or for "report" workloads whether the outputs
    agree)."""
    kind, bound, text = TARGETS[name]
    c, t = cot["median_s"], tor["median_s"]
    if kind == "report":
        return f"{c / t:.2f}x time", text, "outputs differ" if compare_checks(name, cot, tor) else "same output"
    if kind == "speed":
        r = t / c
        return f"{r:.2f}x speed", text, "PASS" if r >= bound else "FAIL"
    if kind == "time":
        r = c / t
        return f"{r:.2f}x time", text, "PASS" if r <= bound else "FAIL"
    return f"{c / t:.2f}x time", text, "PASS" if c <= bound else "FAIL"


def table(rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for k, r in enumerate(rows):
        lines.append(" | ".join(c.ljust(w) for c, w in zip(r, widths)))
        if k == 0:
            lines.append("-+-".join("-" * w for w in widths))
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("workloads", nargs="*", default=WORKLOADS, help=f"subset of {WORKLOADS}")
    ap.add_argument("--threads", type=int, default=2, help="threads for both libraries (default 2)")
    ap.add_argument("--json-out", type=Path, help="also write every result to this JSON file")
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds; the median round counts (default 3)")
    ap.add_argument(
        "--quiet-wait",
        type=float,
        default=120.0,
        help="before each measurement, wait up to this many seconds for the CPUs to be idle (default 120)",
    )
    ap.add_argument("--no-pool-off", action="store_true", help="skip the COTANGENT_POOL=0 run")
    ap.add_argument(
        "--baseline-exe",
        help="a second side_by_side binary (e.g. built before a change) to run interleaved and compare",
    )
    ap.add_argument("--cotangent-exe", help="use this prebuilt side_by_side binary instead of building")
    args = ap.parse_args()
    wanted = [w for w in WORKLOADS if w in args.workloads]
    unknown = set(args.workloads) - set(WORKLOADS)
    if unknown:
        sys.exit(f"unknown workloads {sorted(unknown)}; choose from {WORKLOADS}")

    torch.set_num_threads(args.threads)
    print(
        f"# machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs; "
        f"threads: {args.threads}; torch {torch.__version__}; python {platform.python_version()}",
        flush=True,
    )
    # Build first so compilation does not overlap any timing. Then, per workload, run
    # cotangent (pool on), cotangent (COTANGENT_POOL=0) and torch back to back, so drift in
    # the machine's load affects both libraries alike.
    exe = args.cotangent_exe or build_cotangent()
    print(f"# load average before: {loadavg()} (other processes on a 2-core machine skew results)", flush=True)
    with_jax = jax_available() and any(w in JAX_WORKLOADS for w in wanted)
    if not with_jax and any(w in JAX_WORKLOADS for w in wanted):
        print("# jax is not installed: skipping the JAX timings", flush=True)
    rounds: list[tuple[dict, dict, dict, dict, dict]] = []
    for k in range(args.rounds):
        print(f"# round {k + 1} of {args.rounds}", flush=True)
        cot, cot_nopool, tor, jx, base = {}, {}, {}, {}, {}
        for name in wanted:
            # The baseline binary goes first in odd rounds, second in even ones.
            if args.baseline_exe and k % 2 == 1:
                wait_quiet(args.quiet_wait)
                base.update(cotangent_run(args.baseline_exe, [name], args.threads, True, "cotangent-baseline"))
            wait_quiet(args.quiet_wait)
            cot.update(cotangent_run(exe, [name], args.threads, pool=True))
            if args.baseline_exe and k % 2 == 0:
                wait_quiet(args.quiet_wait)
                base.update(cotangent_run(args.baseline_exe, [name], args.threads, True, "cotangent-baseline"))
            if not args.no_pool_off:
                wait_quiet(args.quiet_wait)
                cot_nopool.update(cotangent_run(exe, [name], args.threads, pool=False))
            wait_quiet(args.quiet_wait)
            tor.update(torch_results([name]))
            if with_jax and name in JAX_WORKLOADS:
                wait_quiet(args.quiet_wait)
                jx.update(jax_results([name]))
        rounds.append((cot, cot_nopool, tor, jx, base))
    print(f"# load average after: {loadavg()}", flush=True)
    cot, cot_nopool, tor, jx, base = (combine([r[i] for r in rounds]) for i in range(5))
    # Per round, this build's median over the baseline's (same round, back to back).
    base_ratios = {
        name: [r[0][name]["median_s"] / r[4][name]["median_s"] for r in rounds if name in r[0] and name in r[4]]
        for name in wanted
    }

    rows = [["workload", "cotangent", "torch", "ratio", "target", "result"]]
    for name in wanted:
        if name not in cot:
            rows.append([name, "missing", fmt_time(tor[name]["median_s"]), "-", TARGETS[name][2], "n/a"])
            continue
        c, t = cot[name], tor[name]
        ratio, target, ok = verdict(name, c, t)
        rows.append(
            [
                name,
                f"{fmt_time(c['median_s'])} ({rate(c)})" if rate(c) and name != "add_5" else fmt_time(c["median_s"]),
                f"{fmt_time(t['median_s'])} ({rate(t)})" if rate(t) and name != "add_5" else fmt_time(t["median_s"]),
                ratio,
                target,
                ok,
            ]
        )
    print()
    print(table(rows))

    mismatches = []
    for name in wanted:
        if name in cot and name in tor and tor[name].get("check"):
            problem = compare_checks(name, cot[name], tor[name])
            if problem:
                mismatches.append(problem)
            else:
                c, t = cot[name]["check"], tor[name]["check"]
                rel = abs(c["abs_sum"] - t["abs_sum"]) / max(abs(t["abs_sum"]), 1e-30)
                print(
                    f"output check {name}: {len(c['shapes'])} output tensors, same shapes; "
                    f"sum |x| cotangent {c['abs_sum']:.7g}, torch {t['abs_sum']:.7g} (relative {rel:.1e})"
                )

    if jx:
        jrow = [["workload", "cotangent", "torch.func", "jax (jit)", "cotangent / jax"]]
        for name in wanted:
            if name in jx:
                c = cot.get(name, {}).get("median_s")
                j = jx[name]["median_s"]
                jrow.append(
                    [
                        name,
                        fmt_time(c),
                        fmt_time(tor.get(name, {}).get("median_s")),
                        fmt_time(j),
                        f"{c / j:.2f}x time" if c else "-",
                    ]
                )
        print()
        print("JAX, for reference (jax.jit(jax.grad(f)), block_until_ready per call):")
        print(table(jrow))

    if cot_nopool:
        prow = [["workload (cotangent)", "pool on", "pool off (COTANGENT_POOL=0)", "off / on"]]
        for name in wanted:
            if name in cot and name in cot_nopool:
                on, off = cot[name]["median_s"], cot_nopool[name]["median_s"]
                prow.append([name, fmt_time(on), fmt_time(off), f"{off / on:.2f}x"])
        print()
        print("Buffer pool (size-bucketed, array/storage.rs):")
        print(table(prow))
        if "add_4M" in cot and "add_4M" in cot_nopool:
            on, off = cot["add_4M"]["median_s"], cot_nopool["add_4M"]["median_s"]
            pays = off / on >= 1.05
            print(
                f"pool decision (add_4M): pool {'PAYS' if pays else 'does NOT pay'} "
                f"(off/on = {off / on:.2f}x; threshold 1.05x)"
            )

    if base:
        brow = [["workload", "baseline", "this build", "this / baseline", "per round", "vs torch: baseline, this"]]
        for name in wanted:
            if name in cot and name in base:
                b, c = base[name]["median_s"], cot[name]["median_s"]
                per_round = base_ratios[name]
                vs_torch = ""
                if name in tor:
                    t = tor[name]["median_s"]
                    vs_torch = f"{b / t:.2f}x, {c / t:.2f}x"
                brow.append(
                    [
                        name,
                        fmt_time(b),
                        fmt_time(c),
                        f"{c / b:.3f}x time",
                        f"{min(per_round):.2f}-{max(per_round):.2f}",
                        vs_torch,
                    ]
                )
        print()
        print(f"Before/after: this build vs --baseline-exe {args.baseline_exe} (pool on; ratios < 1 are faster):")
        print(table(brow))

    if args.json_out:
        args.json_out.write_text(
            json.dumps(
                {"cotangent": cot, "cotangent_pool_off": cot_nopool, "torch": tor, "jax": jx, "cotangent_baseline": base},
                indent=2,
            )
        )
    if mismatches:
        sys.exit("the two libraries computed different outputs:\n" + "\n".join(mismatches))


if __name__ == "__main__":
    main()
