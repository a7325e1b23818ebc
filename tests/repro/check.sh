#!/usr/bin/env bash
# Reproducible-build check (not part of the default CI run: it costs two full builds of the tools).
# Clones one commit twice into two directories of different absolute paths (and lengths), builds
# the release tools in each from scratch (no compiler cache: a cache keyed on paths relative to a
# base directory could hand the second build the first one's objects and hide a leaked path),
# reusing the pinned source-built dependencies of AUDIT_DEPS_DIR, and compares the tools byte for
# byte. Prints each tool's SHA-256 and SHA-384 (the kit manifest records SHA-384: README "Build
# facts" tells an inspector how to compare a kit's tools with a rebuild).
#
# Usage: tests/repro/check.sh [--commit REV] [--deps DIR] [--work DIR] [--keep] [--jobs N]
#   --commit REV  what to build (default HEAD of this repository; a dirty tree is not built)
#   --deps DIR    Botan/Catch2 built from their pinned Debian sources (default build/_deps: the
#                 same dependency build for both; a missing one is built there first)
#   --work DIR    where the two trees go (default a fresh mktemp directory, removed at the end)
#   --keep        keep the two build trees
#   --jobs N      parallel compile jobs (default 2)
# Exit 0 when every tool is byte-identical, 1 when one differs, 2 on a usage or build error.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
commit=HEAD
deps=$repo/build/_deps
work=""
keep=0
jobs=2
while [[ $# -gt 0 ]]; do
    case $1 in
        --commit) commit=$2; shift 2 ;;
        --deps) deps=$2; shift 2 ;;
        --work) work=$2; shift 2 ;;
        --keep) keep=1; shift ;;
        --jobs) jobs=$2; shift 2 ;;
        -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
        *) echo "unknown argument $1" >&2; exit 2 ;;
    esac
done
rev=$(git -C "$repo" rev-parse --verify "$commit^{commit}") || { echo "no commit $commit" >&2; exit 2; }
deps=$(mkdir -p "$deps" && cd "$deps" && pwd)
if [[ -z "$work" ]]; then
    work=$(mktemp -d /tmp/audit-repro-XXXXXX)
    [[ $keep == 1 ]] || trap 'rm -rf "$work"' EXIT
fi
mkdir -p "$work"
tools=(audit-scan audit-verify audit-attest audit-keys audit-kit)

# Two source trees at different absolute paths of different lengths, each a clone at $rev (so that
# --version names the same commit in both).
dirs=("$work/a" "$work/second-tree/with/a/longer/path")
for d in "${dirs[@]}"; do
    rm -rf "$d"
    mkdir -p "$d"
    git clone -q --no-checkout --shared "$repo" "$d/src"
    git -C "$d/src" checkout -q --detach "$rev"
done

echo "commit $rev, dependencies from $deps, load $(cut -d' ' -f1-3 /proc/loadavg)"
for d in "${dirs[@]}"; do
    echo "building in $d/src ($(date -u +%H:%M:%S) UTC)"
    (
        cd "$d/src"
        export CCACHE_DISABLE=1
        cmake --preset release -DAUDIT_TESTS=OFF -DAUDIT_DEPS_DIR="$deps" >"$d/configure.log" 2>&1 ||
            { tail -20 "$d/configure.log" >&2; exit 2; }
        cmake --build --preset release -j"$jobs" --target "${tools[@]}" >"$d/build.log" 2>&1 ||
            { tail -30 "$d/build.log" >&2; exit 2; }
    )
done

status=0
printf '%-13s %9s  %-64s  %s\n' tool bytes sha256 result
for t in "${tools[@]}"; do
    a=${dirs[0]}/src/build/release/bin/$t
    b=${dirs[1]}/src/build/release/bin/$t
    if cmp -s "$a" "$b"; then result=identical; else result=DIFFERENT; status=1; fi
    printf '%-13s %9s  %-64s  %s\n' "$t" "$(stat -c %s "$a")" "$(sha256sum "$a" | cut -d' ' -f1)" "$result"
done
echo "sha384 (as the kit manifest records them):"
for t in "${tools[@]}"; do
    printf '  %-13s %s\n' "$t" "$(sha384sum "${dirs[0]}/src/build/release/bin/$t" | cut -d' ' -f1)"
done
[[ $status == 0 ]] && echo "reproducible: every tool byte-identical across the two directories" ||
    echo "NOT reproducible: see the tools marked DIFFERENT (diffoscope shows where)"
echo "load at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
exit $status
