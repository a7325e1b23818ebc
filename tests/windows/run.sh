#!/usr/bin/env bash
# The Windows part (issue 16): install the cross-compiler, Wine and wixl when missing, cross-build
# the dependencies (cached in build/_deps-windows, or AUDIT_WINDOWS_DEPS_DIR) and the windows
# preset's .exe tools, check that each imports only Windows system DLLs and fits 8 MiB, then run
# every Wine test here, each in its own fresh WINEPREFIX, AUDIT_WINE_JOBS of them at a time (their
# time is mostly Wine starting up, not CPU). The Linux tools the tests compare with come from the
# release preset: built here only when missing (audit-scan, audit-keys, audit-verify,
# audit-attest, audit-kit). Prints each phase's wall time and the CPU time (user+sys) of the
# processes it waited for (wineserver, a daemon, is not among them) and the total. Exits non-zero
# when anything fails.
#   AUDIT_JOBS       make -j for the builds (default 2)
#   AUDIT_WINE_JOBS  Wine tests run at once (default 2)
set -euo pipefail
cd "$(dirname "$0")/../.."
jobs=${AUDIT_JOBS:-2}
wine_jobs=${AUDIT_WINE_JOBS:-2}
t0=$SECONDS
# CPU seconds (user+sys) of this shell's waited-for children so far (/proc/self/stat 16-17).
child_cpu() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.1f", ($16 + $17) / hz }' /proc/$$/stat; }
start=$SECONDS cpu0=$(child_cpu)
phase() {
    local cpu
    cpu=$(child_cpu)
    echo "phase windows $1: $((SECONDS - start)) s wall, $(awk -v a="$cpu" -v b="$cpu0" 'BEGIN { printf "%.0f", a - b }') s CPU (load $(cut -d' ' -f1-3 /proc/loadavg))"
    start=$SECONDS cpu0=$cpu
}

bash cmake/install-deps.sh --windows
phase "dependencies (apt)"

deps=()
[[ -n "${AUDIT_WINDOWS_DEPS_DIR:-}" ]] && deps=(-DAUDIT_WINDOWS_DEPS_DIR="$AUDIT_WINDOWS_DEPS_DIR")
cmake --preset windows -DAUDIT_WINDOWS_JOBS="$jobs" "${deps[@]}" >/dev/null
phase "cross-built libraries (configure)"
cmake --build --preset windows -j"$jobs"
phase "cross-built tools"

bash tests/windows/check_imports.sh build/windows/bin/*.exe
# Unity builds: every libaudit file of the Windows build still compiles alone, so none uses a name
# only another file of its area defines (tests/layering/files_alone.py; the Linux suite checks its
# own build the same way).
python3 tests/layering/files_alone.py build/windows
need=()
for t in audit-scan audit-verify audit-keys audit-attest audit-kit; do
    [[ -x build/release/bin/$t ]] || need+=("$t")
done
if ((${#need[@]})); then
    cmake --preset release >/dev/null
    cmake --build --preset release -j"$jobs" --target "${need[@]}"
fi
phase "imports check + Linux tools"

rc=0
logs=$(mktemp -d /tmp/audit-windows-logs.XXXXXX)
names=()
for t in tests/windows/*.sh; do
    case $(basename "$t") in lib.sh | run.sh | check_imports.sh) continue ;; esac
    names+=("$(basename "$t" .sh)")
done
# At most wine_jobs tests at once; each one's output is printed whole when it ends.
running=0
for n in "${names[@]}"; do
    if ((running >= wine_jobs)); then
        wait -n || true
        running=$((running - 1))
    fi
    (
        s=$SECONDS
        if bash "tests/windows/$n.sh" >"$logs/$n.log" 2>&1; then r=0; else r=1; fi
        echo "$r $((SECONDS - s))" >"$logs/$n.rc"
    ) &
    running=$((running + 1))
done
wait
for n in "${names[@]}"; do
    echo "=== $n"
    cat "$logs/$n.log"
    read -r r s <"$logs/$n.rc" || { r=1 s=?; }
    ((r == 0)) || { rc=1; echo "FAILED: $n"; }
    echo "    ($n: $s s wall)"
done
rm -rf "$logs"
phase "Wine tests (${#names[@]}, $wine_jobs at a time)"
echo "windows total: $((SECONDS - t0)) s"
exit $rc
