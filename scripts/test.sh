#!/usr/bin/env bash
# Builds subtb (the CUDA sources too when nvcc is present) and runs the whole test suite.
# Tests that need a GPU skip themselves where none is present.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
preset=${SUBTB_PRESET:-release}
cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset"
ctest --preset "$preset"
