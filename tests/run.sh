#!/usr/bin/env bash
# The whole test suite: install dependencies when missing, build the release (static) preset with
# warnings as errors, run every unit and end-to-end test. Exits non-zero when any test fails.
set -euo pipefail
cd "$(dirname "$0")/.."
# The whole suite includes the headless-Chromium check of the fleet report page.
export AUDIT_WITH_CHROMIUM=${AUDIT_WITH_CHROMIUM:-1}
bash cmake/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release -j"$(nproc)"
ctest --preset release -j"$(nproc)" "$@"
