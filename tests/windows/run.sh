#!/usr/bin/env bash
# The Windows part (issue 16, work in progress): install the cross-compiler, Wine and wixl when
# missing, cross-build the dependencies (cached in build/_deps-windows) and the windows preset's
# .exe tools, check that each imports only Windows system DLLs, then run every Wine test here
# (one fresh WINEPREFIX each). The Linux tools the tests compare with come from the release
# preset (built here when missing: only audit-scan, audit-keys, audit-verify, audit-attest).
# Prints each phase's duration and the total. Exits non-zero when anything fails.
#   AUDIT_JOBS  make -j for the builds (default 2)
set -euo pipefail
cd "$(dirname "$0")/../.."
jobs=${AUDIT_JOBS:-2}
t0=$SECONDS
phase() { echo "phase windows $1: $((SECONDS - start)) s"; }

start=$SECONDS
bash cmake/install-deps.sh --windows
phase "dependencies (apt)"

start=$SECONDS
cmake --preset windows -DAUDIT_WINDOWS_JOBS="$jobs" >/dev/null
cmake --build --preset windows -j"$jobs"
phase "cross-build (deps + tools)"

start=$SECONDS
bash tests/windows/check_imports.sh build/windows/bin/*.exe
if [[ ! -x build/release/bin/audit-scan || ! -x build/release/bin/audit-verify ||
      ! -x build/release/bin/audit-keys || ! -x build/release/bin/audit-attest ]]; then
    cmake --preset release >/dev/null
    cmake --build --preset release -j"$jobs" --target audit-scan audit-verify audit-keys audit-attest
fi
phase "imports check + Linux tools"

rc=0
for t in tests/windows/*.sh; do
    case $(basename "$t") in lib.sh | run.sh | check_imports.sh) continue ;; esac
    start=$SECONDS
    echo "=== $(basename "$t" .sh)"
    bash "$t" || { rc=1; echo "FAILED: $(basename "$t" .sh)"; }
    phase "test $(basename "$t" .sh)"
done
echo "windows total: $((SECONDS - t0)) s"
exit $rc
