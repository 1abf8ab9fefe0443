#!/usr/bin/env bash
# Build everything the GPU machine runs, here (no GPU and no CUDA toolkit needed: cudarc
# opens the CUDA libraries at run time), and put stripped copies in target/device/, the
# folder the device call carries (design/cuda.md), and an archive of it, target/device.tar.xz
# (carry that one: under the 64 MiB a call may take). Then, on the GPU machine, from the repo
# root: `bash scripts/cuda-suite.sh`.
set -euo pipefail
cd "$(dirname "$0")/.."
out=target/device
rm -rf "$out" && mkdir -p "$out/tests" "$out/examples"
# Test binaries: cargo lists their paths in its JSON messages.
cargo test --release -p cotangent --features cuda --no-run --message-format=json 2>/dev/null |
    python3 -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["profile"]["test"]:
        kind = m["target"]["kind"][0]
        name = m["target"]["name"] if kind != "lib" else "unit"
        print(name, m["executable"])
' | while read -r name exe; do
    case "$name" in
        unit | op_table | conformance | properties | cuda | nn | transforms_misc | kernel_calls)
            cp "$exe" "$out/tests/$name" ;;
    esac
done
cargo build --release -p cotangent --features cuda --examples --quiet
for example in crates/cotangent/examples/*.rs; do
    name=$(basename "$example" .rs)
    cp "target/release/examples/$name" "$out/examples/$name"
done
if [ -f crates/cotangent/benches/gpu.rs ]; then
    # The GPU benchmark's cotangent half (bench/gpu.sh runs it against torch and JAX). Cargo
    # names the executable target/release/deps/gpu-<hash>: take its path from cargo's JSON
    # messages rather than guessing among older builds' hashes.
    exe=$(cargo build --release -p cotangent --features cuda --bench gpu --message-format=json |
        python3 -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["name"] == "gpu":
        print(m["executable"])
' | tail -1)
    [ -n "$exe" ] || { echo "cuda-build.sh: no gpu bench executable in cargo's output" >&2; exit 1; }
    cp "$exe" "$out/gpu_bench"
fi
strip "$out"/tests/* "$out"/examples/* "$out"/gpu_bench 2>/dev/null || true
# What the device call carries must stay under 64 MiB: one compressed archive.
tar -C target -cJf target/device.tar.xz device
du -sh "$out" target/device.tar.xz
