#!/usr/bin/env bash
# The whole test suite: install the test dependencies when missing (cmake/install-deps.sh --tests), build the release (static) preset with
# warnings as errors and run every unit and end-to-end test; then build the asan preset (ASan +
# UBSan, -fno-sanitize-recover=all, assertions on, same build/_deps) and run the same suite again
# under the sanitizers (issue 8). AUDIT_WITH_ASAN=0 skips the second run (about 30 minutes on two
# cores). Exits non-zero when any test fails in either run. Arguments go to both ctest runs.
set -euo pipefail
cd "$(dirname "$0")/.."
# The whole suite includes the headless-Chromium check of the fleet report page.
export AUDIT_WITH_CHROMIUM=${AUDIT_WITH_CHROMIUM:-1}
start=$SECONDS
bash cmake/install-deps.sh --tests  # the fixture tools and checkers, beyond the tools' own
echo "phase test dependencies: $((SECONDS - start)) s"
rc=0
start=$SECONDS
# AUDIT_TESTS on explicitly: cmake/demo.sh configures the same build directory without tests.
cmake --preset release -DAUDIT_TESTS=ON >/dev/null
cmake --build --preset release -j"$(nproc)"
echo "phase release build: $((SECONDS - start)) s"
start=$SECONDS
ctest --preset release -j"$(nproc)" "$@" || rc=1
echo "phase release suite: $((SECONDS - start)) s"
if [[ ${AUDIT_WITH_ASAN:-1} == 1 ]]; then
    start=$SECONDS
    cmake --preset asan -DAUDIT_TESTS=ON >/dev/null
    cmake --build --preset asan -j"$(nproc)"
    echo "phase asan build: $((SECONDS - start)) s"
    start=$SECONDS
    # Any sanitizer report fails the test that triggered it (the build does not recover).
    ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:detect_stack_use_after_return=1:strict_string_checks=1} \
        UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
        ctest --preset asan -j"$(nproc)" "$@" || rc=1
    echo "phase asan suite: $((SECONDS - start)) s"
fi
exit $rc
