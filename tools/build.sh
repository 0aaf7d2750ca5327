#!/usr/bin/env bash
# Configures and builds one flavour of kite:
#   tools/build.sh          -> build/       (RelWithDebInfo: the binary, all tests, benchmarks)
#   tools/build.sh asan     -> build-asan/  (ASan + UBSan, for the unit tests)
set -euo pipefail
cd "$(dirname "$0")/.."

flavour=${1:-release}
case "$flavour" in
  # Line tables only (-g1): backtraces and sanitizer reports keep file:line, the build needs a
  # quarter less CPU and the binary is a fraction of the size; configure with -g for a debugger.
  release) dir=build; flags=("-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O2 -g1 -DNDEBUG") ;;
  asan) dir=build-asan; flags=(-DKITE_SANITIZE=ON -DKITE_BUILD_BENCH=OFF -DCMAKE_BUILD_TYPE=Debug
                               -DCMAKE_CXX_FLAGS_DEBUG=-g1) ;;
  *) echo "usage: tools/build.sh [release|asan]" >&2; exit 2 ;;
esac

if [[ ! -f $dir/build.ninja ]]; then
  cmake -S . -B "$dir" -G Ninja "${flags[@]}" >/dev/null
fi
cmake --build "$dir" -- -j"$(nproc)"
