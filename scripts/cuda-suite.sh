#!/usr/bin/env bash
# The whole CUDA suite on the GPU machine, in one go, from the binaries that
# scripts/cuda-build.sh left in target/device/: the device tests, the op table, the
# conformance cases, the property tests, nn and the transform tests with every tensor on
# the GPU (COTANGENT_DEFAULT_DEVICE=cuda), then every example with --device cuda, then
# (if built) the GPU benchmark. Full logs go to $LOGS (default $OUT or /tmp/cuda-logs);
# a short summary is printed last.
set -uo pipefail
cd "$(dirname "$0")/.."
bin=target/device
if [ ! -d "$bin" ] && [ -f target/device.tar.xz ]; then
    tar -C target -xJf target/device.tar.xz
fi
logs=${LOGS:-${OUT:-/tmp/cuda-logs}}
mkdir -p "$logs"
export COTANGENT_CACHE_DIR=${COTANGENT_CACHE_DIR:-/tmp/cotangent-cache}
export RUST_BACKTRACE=1
summary=()
run() { # name, then the command
    local name=$1; shift
    local t0=$(date +%s%N)
    "$@" >"$logs/$name.log" 2>&1
    local rc=$?
    local t1=$(date +%s%N)
    local result=$(grep -E '^test result:' "$logs/$name.log" | tail -1)
    summary+=("$(printf '%-28s rc=%-3s %8.3gs  %s' "$name" "$rc" "$(( (t1 - t0) / 1000000 ))e-3" "$result")")
    if [ $rc -ne 0 ]; then
        echo "---- $name failed; last lines:"
        grep -E 'FAILED|failed|panicked|Error' "$logs/$name.log" | head -40
        tail -5 "$logs/$name.log"
    fi
}
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
ls /lib/x86_64-linux-gnu/libcudnn.so* 2>/dev/null || echo "no libcudnn in /lib/x86_64-linux-gnu"
run cuda_tests "$bin/tests/cuda" --nocapture
grep -h "cuDNN version" "$logs/cuda_tests.log" || true
[ -x "$bin/tests/unit" ] && run unit_tests "$bin/tests/unit"
for t in op_table conformance properties nn transforms_misc kernel_calls; do
    [ -x "$bin/tests/$t" ] && run "${t}_cuda" env COTANGENT_DEFAULT_DEVICE=cuda "$bin/tests/$t" ${TEST_ARGS:-}
done
# The convolutions once more without cuDNN: im2col + cuBLAS, the path taken where it is missing.
[ -x "$bin/tests/op_table" ] && run op_table_cuda_im2col env COTANGENT_DEFAULT_DEVICE=cuda COTANGENT_CUDNN=0 "$bin/tests/op_table" conv
for e in "$bin"/examples/*; do
    [ -x "$e" ] || continue
    run "example_$(basename "$e")" "$e" --device cuda
done
echo "==== summary"
printf '%s\n' "${summary[@]}"
