#!/usr/bin/env bash
# Builds the C++ tests with AddressSanitizer + UndefinedBehaviorSanitizer (CPU backend only, in
# its own build folder so the addon build is untouched) and runs them with ctest. Any report
# (heap overflow, use after free, leak, signed overflow, misaligned access, ...) fails the run.
#   scripts/sanitize.sh            (HEADGRAD_SANITIZE_DIR, default build-sanitize)
set -euo pipefail
cd "$(dirname "$0")/.."
dir="${HEADGRAD_SANITIZE_DIR:-build-sanitize}"
flags="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -g"
cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHEADGRAD_CUDA=OFF -DHEADGRAD_TESTS=ON \
  -DCMAKE_CXX_FLAGS="$flags" -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" >/dev/null
cmake --build "$dir" -j "${HEADGRAD_SANITIZE_JOBS:-2}"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:strict_string_checks=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
ctest --test-dir "$dir" --output-on-failure
