#!/usr/bin/env bash
# Builds subtb and runs the main job on its built-in default.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release --target subtb_cli
exec ./build/release/apps/subtb "${@:-demo}"
