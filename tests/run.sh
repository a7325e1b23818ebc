#!/usr/bin/env bash
# The whole test suite: install the test dependencies when missing (cmake/install-deps.sh --tests),
# build the release (static) preset with warnings as errors and run every test (unit, fuzz
# regressions, every e2e scenario); then build the asan preset (ASan + UBSan,
# -fno-sanitize-recover=all, assertions on, same build/_deps) and run the `asan-ci` test preset
# under the sanitizers: the unit tests, the fuzz regressions and the e2e scenarios labelled `asan`
# (the parsers and the scanner's walk; README "Test tiers"). AUDIT_ASAN_ALL=1 runs every test under
# the sanitizers instead; AUDIT_WITH_ASAN=0 skips the second build. Last, the Windows part
# (tests/windows/run.sh: cross-built dependencies and .exe tools, the Wine tests); its apt packages
# (mingw-w64, Wine, wixl) are installed first, so the unit case that makes a certificate store Blob
# with Wine's crypt32 runs too (AUDIT_WITH_WINE=1). AUDIT_WITH_WINDOWS=0 leaves the Windows part
# out (and that case skipped). Prints each phase's duration and a summary. Exits non-zero
# when any test fails in any run. Arguments go to both ctest runs.
set -euo pipefail
cd "$(dirname "$0")/.."
# The whole suite includes the headless-Chromium check of the fleet report page.
export AUDIT_WITH_CHROMIUM=${AUDIT_WITH_CHROMIUM:-1}
phases=()
total=$SECONDS
start=$SECONDS
phase() {  # phase NAME: print and remember how long the phase that just ended took
    local s=$((SECONDS - start))
    phases+=("$(printf '%-22s %4d:%02d' "$1" $((s / 60)) $((s % 60)))")
    echo "phase $1: $s s"
    start=$SECONDS
}
bash cmake/install-deps.sh --tests  # the fixture tools and checkers, beyond the tools' own
phase "test dependencies"
windows=${AUDIT_WITH_WINDOWS:-1}
if [[ $windows == 1 ]]; then
    bash cmake/install-deps.sh --windows  # mingw-w64, Wine 8, wixl
    phase "windows dependencies"
    export AUDIT_WITH_WINE=${AUDIT_WITH_WINE:-1}
fi
rc=0
# AUDIT_TESTS on explicitly: cmake/demo.sh configures the same build directory without tests.
cmake --preset release -DAUDIT_TESTS=ON >/dev/null
cmake --build --preset release -j"$(nproc)"
phase "release build"
ctest --preset release -j"$(nproc)" "$@" || rc=1
phase "release suite"
if [[ ${AUDIT_WITH_ASAN:-1} == 1 ]]; then
    cmake --preset asan -DAUDIT_TESTS=ON >/dev/null
    cmake --build --preset asan -j"$(nproc)"
    phase "asan build"
    preset=asan-ci
    [[ ${AUDIT_ASAN_ALL:-0} == 1 ]] && preset=asan
    # Any sanitizer report fails the test that triggered it (the build does not recover).
    ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:detect_stack_use_after_return=1:strict_string_checks=1} \
        UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
        ctest --preset "$preset" -j"$(nproc)" "$@" || rc=1
    phase "asan suite ($preset)"
fi
# The Windows part (tests/windows/run.sh: cross-built dependencies and .exe tools, Wine tests;
# README "Windows"). Its Linux tools come from the release build above.
if [[ $windows == 1 ]]; then
    bash tests/windows/run.sh || rc=1
    phase "windows (Wine)"
fi
echo "durations (min:s):"
printf '  %s\n' "${phases[@]}"
s=$((SECONDS - total))
printf '  %-22s %4d:%02d\n' "tests/run.sh total" $((s / 60)) $((s % 60))
exit $rc
