#!/usr/bin/env bash
# A bounded fuzz run without cargo-fuzz or a nightly toolchain: builds the `programs` target
# with the instrumentation flags cargo-fuzz uses (all stable `-C` flags; no sanitizer), then
# runs libFuzzer for the given number of seconds (default 45) from an empty corpus.
# A crash (a foreign panic, an abort, a timeout) fails the script and leaves the input in
# fuzz/artifacts/smoke/. Usage: fuzz/smoke.sh [seconds]
set -euo pipefail
cd "$(dirname "$0")"
seconds=${1:-45}
# The flags `cargo fuzz build --sanitizer none` passes, so the two share a build; with an
# explicit --target they apply to the target only, not to build scripts and proc macros.
export RUSTFLAGS=" -Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing \
-Cllvm-args=-simplifycfg-branch-fold-threshold=0 -Cllvm-args=-sanitizer-coverage-stack-depth \
-Cdebug-assertions -Ccodegen-units=1"
host=$(rustc -vV | sed -n 's/^host: //p')
cargo build --release --quiet --locked --target "$host" --config 'profile.release.debug="line-tables-only"' \
    --bin programs
binary=${CARGO_TARGET_DIR:-target}/$host/release/programs
rm -rf artifacts/smoke
mkdir -p artifacts/smoke
corpus=$(mktemp -d)
log=$(mktemp)
trap 'rm -rf "$corpus" "$log"' EXIT
set +e
RAYON_NUM_THREADS=1 "$binary" "$corpus" -seed=1 -max_total_time="$seconds" \
    -max_len=2048 -timeout=10 -rss_limit_mb=3000 -print_final_stats=1 \
    -artifact_prefix=artifacts/smoke/ >"$log" 2>&1
status=$?
set -e
grep -E '^(#[0-9]+[[:space:]]+DONE|stat::number_of_executed_units|INFO: fuzzed)' "$log" || true
if [ "$status" -ne 0 ]; then
    tail -n 60 "$log"
    echo "fuzz: failing input in fuzz/artifacts/smoke/ (reproduce: $binary <file>)"
    exit 1
fi
echo "fuzz: no crash in ${seconds}s"
