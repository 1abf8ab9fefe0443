#!/usr/bin/env bash
# Side-by-side benchmark of cotangent against PyTorch on the CPU; see bench/README.md.
#
#   bench/run.sh [compare_torch.py args...]      e.g. bench/run.sh --threads 2 add_4M
#
# Creates bench/.venv (once) with bench/requirements.txt, builds the release bench binary
# and prints the comparison table. BENCH_PYTHON=/path/to/python skips the venv and uses an
# interpreter that already has torch.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"

if [[ -n "${BENCH_PYTHON:-}" ]]; then
    py="$BENCH_PYTHON"
else
    venv="$here/.venv"
    if [[ ! -x "$venv/bin/python" ]]; then
        python3 -m venv "$venv"
        "$venv/bin/python" -m pip install --upgrade pip
    fi
    # Cheap when already satisfied.
    "$venv/bin/python" -m pip install -q -r "$here/requirements.txt"
    py="$venv/bin/python"
fi

exec "$py" "$here/compare_torch.py" "$@"
