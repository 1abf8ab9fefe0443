#!/usr/bin/env bash
# The GPU benchmark on the GPU machine, from the repo root: cotangent (the binary that
# scripts/cuda-build.sh left in target/device/gpu_bench) against torch.func and JAX, one
# table; see bench/README.md ("GPU benchmark").
#
#   bash bench/gpu.sh                          # every workload
#   bash bench/gpu.sh psg_mlp_B1024 gemm_4096  # a subset
#   bash bench/gpu.sh --json-out "$OUT/gpu.json"
#
# PYTHON=/path/to/python picks the interpreter (default python3, which has torch and JAX
# there). NVRTC's compiled kernels are cached in COTANGENT_CACHE_DIR (default
# /tmp/cotangent-cache), so the one process per workload does not compile them again.
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONUNBUFFERED=1
export COTANGENT_CACHE_DIR=${COTANGENT_CACHE_DIR:-/tmp/cotangent-cache}
exec "${PYTHON:-python3}" bench/gpu_compare.py --device cuda --cotangent-exe target/device/gpu_bench "$@"
