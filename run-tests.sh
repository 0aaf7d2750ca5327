#!/usr/bin/env bash
# One command for a fresh Debian 12 machine (as root): install every
# dependency, build kite twice (release and ASan+UBSan), and run all tests.
# The sanitizer build runs the unit tests; the release build runs everything,
# including the integration tests on the private test bed (tests/testbed).
set -euo pipefail
cd "$(dirname "$0")"

tools/install-deps.sh
tools/build.sh release
tools/build.sh asan

echo "== unit tests under AddressSanitizer + UndefinedBehaviorSanitizer"
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --test-dir build-asan -L unit --output-on-failure -j"$(nproc)"

echo "== all tests (release build, real containerd test bed)"
# Without clang-tidy (label tidy): it needs more CPU than CI's 90 minutes leave on 2 cores, so
# it is the gate before each commit (tools/lint.sh build); clang-format is checked here.
ctest --test-dir build --output-on-failure -j"$(nproc)" -LE tidy
