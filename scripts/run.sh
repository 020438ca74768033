#!/usr/bin/env bash
# Builds subtb and runs the main job: the quick version of the SubTB paper's hypergrid
# comparison (`subtb repro hypergrid --quick`: TB vs DB vs SubTB(0.9), about five minutes
# on two cores), whose report, tables and figures land in docs/results/hypergrid/.
# Arguments replace the job: `bash scripts/run.sh demo`, `bash scripts/run.sh repro hypergrid --full`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release --target subtb_cli
# OpenMP threads that sleep rather than spin when idle: on a shared or busy machine,
# spinning threads make these small training steps many times slower.
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-passive}"
if [ $# -eq 0 ]; then set -- repro hypergrid --quick; fi
exec ./build/release/apps/subtb "$@"
