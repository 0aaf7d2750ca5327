#!/usr/bin/env bash
# Lint gate run by the tests: clang-format must leave every source unchanged,
# and clang-tidy (.clang-tidy at the root) must report nothing.
#   tools/lint.sh BUILD_DIR          the gate run before each commit: clang-format on every
#                                    file, clang-tidy on the product code (not tests/, bench/)
#   tools/lint.sh BUILD_DIR --format clang-format only (the ctest test `lint`, run by CI;
#                                    clang-tidy is the `tidy` test, too slow for CI's budget)
#   tools/lint.sh BUILD_DIR --deep   clang-tidy on tests and benchmarks too, with the clang
#                                    static analyzer (clang-analyzer-*); several times slower,
#                                    run it before a release
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
tidy_args=(--quiet)
deep=false
format_only=false
if [[ ${2:-} == --format ]]; then
  format_only=true
elif [[ ${2:-} == --deep ]]; then
  deep=true
else
  tidy_args+=(--checks=-clang-analyzer-*)
fi

mapfile -t sources < <(git ls-files --cached --others --exclude-standard \
  '*.cpp' '*.h' '*.c' | grep -v '^cri/include/kite/cri/detail/.*_signal_macros.h$')
clang-format --dry-run --Werror "${sources[@]}"
echo "clang-format: ${#sources[@]} files clean"
if $format_only; then exit 0; fi

# clang-tidy needs compile commands, so only translation units of this build.
mapfile -t units < <(printf '%s\n' "${sources[@]}" | grep -E '\.cpp$' |
  { if $deep; then cat; else grep -vE '^(tests|bench)/'; fi; } |
  while read -r f; do grep -q "\"file\": \"$PWD/$f\"" "$build/compile_commands.json" && echo "$f"; done)
printf '%s\n' "${units[@]}" |
  xargs -P "$(nproc)" -n 1 clang-tidy -p "$build" "${tidy_args[@]}" 2>/dev/null
echo "clang-tidy: ${#units[@]} files clean"
