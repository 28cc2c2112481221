#!/usr/bin/env bash
# The GPU check: C++ tests, the uvu suite on CUDA, compute-sanitizer, the attention benchmarks
# (ours and PyTorch's flash attention) and the GPT training-step benchmarks (ours and PyTorch's),
# in one run of under 10 minutes. It is written for a GPU machine that has CUDA 13,
# compute-sanitizer and Python + PyTorch but may have no node and no network: everything else
# is built on a development machine and copied along in .device/. (On a machine that has node,
# nvcc and a GPU, run both steps in the same checkout.)
#
# 1. Here (node + nvcc, no GPU needed), from the repository root:
#      HEADGRAD_BUILD_DIR=build HEADGRAD_NATIVE_ARCH=OFF HEADGRAD_CUDA=ON node scripts/build-native.mjs
#      scripts/gpu-check.sh --pack
#    --pack writes .device/ (git-ignored): node.xz (this node binary), node_modules.tar.xz (the
#    runtime packages, without typescript), build.tar.xz (addon, C++ tests, bench binaries) and
#    lib.tar.xz (shared libraries the binaries need beyond glibc and libstdc++, e.g. OpenBLAS,
#    compressed: OpenBLAS alone is ~35 MiB).
#    HEADGRAD_NATIVE_ARCH=OFF keeps the CPU kernels portable (x86-64-v3), not tuned to this CPU.
# 2. On the GPU machine, from the repository root of a checkout with .device/ copied into it:
#      scripts/gpu-check.sh
#    On a GPU machine that has node and nvcc itself, skip --pack: build there (step 1's build
#    command) and run scripts/gpu-check.sh in the same checkout; the unpack stage then only
#    reports the node it uses.
#    Stages: the GPU's name (nvidia-smi), unpacking .device/, C++ tests (each build/test_* binary; ctest's files hold this machine's paths), the
#    uvu suite with HEADGRAD_DEVICE=cuda (tests that honour it run on CUDA and fail rather than
#    skip without a GPU), compute-sanitizer memcheck on `bench_attention_cuda --small` and
#    `bench_train_cuda --small`, the attention benchmarks (CUDA, PyTorch, comparison table), the
#    training-step benchmarks (bench_train_cuda, scripts/bench_torch_train.py, table), and last
#    the slow racecheck runs.
#    A failed stage is recorded and the next one still runs; the exit code is non-zero if any
#    stage failed. The whole run has a budget (GPU_CHECK_BUDGET seconds, default 560): a stage's
#    time limit is cut to what is left, and stages that find no time left are recorded as
#    skipped (a failure), so the script always ends within its budget, with its summary.
#    Results go to $OUT (default ./gpu-check-out): gpu-check.log (every stage's output),
#    summary.txt, bench_cuda.json, bench_torch.json, bench_gpu.json, bench_table.txt,
#    bench_train_cuda.json, bench_train_torch.json, bench_train.json, bench_train_table.txt.
#    The tables are printed last.
set -u
cd "$(dirname "$0")/.."
ROOT=$PWD

pack() {
  set -e
  [ -f build/Release/headgrad.node ] || { echo "no build/Release/headgrad.node: run the build command first" >&2; exit 1; }
  [ -x build/bench_attention_cuda ] || { echo "no build/bench_attention_cuda: build with HEADGRAD_CUDA=ON" >&2; exit 1; }
  [ -x build/bench_train_cuda ] || { echo "no build/bench_train_cuda: build with HEADGRAD_CUDA=ON" >&2; exit 1; }
  rm -rf .device/lib  # left by older versions of this script
  mkdir -p .device
  echo "[pack] node"
  xz -T2 -c "$(command -v node)" > .device/node.xz
  echo "[pack] node_modules (without typescript)"
  tar -chf - --exclude=./typescript --exclude=./.cache -C node_modules . | xz -T2 > .device/node_modules.tar.xz
  echo "[pack] build outputs"
  local bins=(build/Release/headgrad.node build/bench_attention_cuda build/bench_train_cuda build/test_*)
  tar -cf - "${bins[@]}" | xz -T2 > .device/build.tar.xz
  echo "[pack] shared libraries beyond the C/C++ runtime"
  local libdir
  libdir=$(mktemp -d)
  ldd "${bins[@]}" 2>/dev/null | awk '$3 ~ /^\// {print $3}' | sort -u |
    grep -Ev '/(libc|libm|libdl|librt|libpthread|libgcc_s|libstdc\+\+|ld-linux[^/]*)\.so' |
    while read -r lib; do cp -L "$lib" "$libdir/"; done
  tar -cf - -C "$libdir" . | xz -T2 > .device/lib.tar.xz
  rm -rf "$libdir"
  du -sh .device/* | sed 's/^/[pack] /'
}

if [ "${1:-}" = "--pack" ]; then pack; exit $?; fi

OUT=${OUT:-$ROOT/gpu-check-out}
mkdir -p "$OUT"
LOG=$OUT/gpu-check.log
SUMMARY=$OUT/summary.txt
: > "$LOG"
: > "$SUMMARY"
FAILED=0
BUDGET=${GPU_CHECK_BUDGET:-560}

# stage NAME SECONDS CMD...: runs CMD with a time limit (cut to the budget left), appends its
# output to the log, records ok/FAILED in the summary, never stops the script.
stage() {
  local name=$1 limit=$2
  shift 2
  echo "=== $name" | tee -a "$LOG"
  local left=$((BUDGET - SECONDS - 15))  # 15 s: timeout's kill grace and the summary
  if [ $left -lt 5 ]; then
    echo "$name: FAILED (skipped: the ${BUDGET}s budget is spent)" | tee -a "$SUMMARY" "$LOG"
    FAILED=1
    return
  fi
  [ $limit -le $left ] || limit=$left
  local t0=$SECONDS rc
  timeout --kill-after=10 "$limit" "$@" >> "$LOG" 2>&1
  rc=$?
  local status=ok
  if [ $rc -eq 124 ]; then status="FAILED (timed out after ${limit}s)"
  elif [ $rc -ne 0 ]; then status="FAILED (exit $rc)"; fi
  echo "$name: $status in $((SECONDS - t0))s" | tee -a "$SUMMARY" "$LOG"
  [ $rc -eq 0 ] || FAILED=1
}

unpack() {
  set -e
  if [ ! -f .device/node.xz ]; then
    # built on this machine: its own node, node_modules and build/ are used as they are
    echo "no .device/: using this machine's node ($(command -v node)), node_modules and build/"
    node --version
    return 0
  fi
  mkdir -p /tmp/node/bin
  xz -dc .device/node.xz > /tmp/node/bin/node
  chmod +x /tmp/node/bin/node
  if [ ! -f node_modules/uvu/bin.js ]; then
    # the folder must be named node_modules: Node resolves a package's own imports (tsx ->
    # esbuild) from its real path, looking only in folders of that name
    rm -rf /tmp/hg/node_modules node_modules
    mkdir -p /tmp/hg/node_modules
    xz -dc .device/node_modules.tar.xz | tar -xf - -C /tmp/hg/node_modules
    ln -s /tmp/hg/node_modules node_modules
  fi
  if [ -f .device/build.tar.xz ]; then xz -dc .device/build.tar.xz | tar -xf -; fi
  mkdir -p /tmp/hg_lib
  if [ -f .device/lib.tar.xz ]; then xz -dc .device/lib.tar.xz | tar -xf - -C /tmp/hg_lib; fi
  /tmp/node/bin/node --version
}

# Each build/test_* binary; exit code 77 ("skipped", e.g. no GPU) counts as a failure here.
cpp_tests() {
  local rc=0 t
  for t in build/test_*; do
    [ -x "$t" ] || continue
    echo "--- $t"
    "$t" || { echo "--- $t FAILED"; rc=1; }
  done
  return $rc
}

export PATH=/tmp/node/bin:$PATH
export LD_LIBRARY_PATH=/tmp/hg_lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}  # filled by the unpack stage
export PYTHONUNBUFFERED=1

stage gpu 30 nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv
stage unpack 120 bash -c "$(declare -f unpack); unpack"
stage cpp-tests 150 bash -c "$(declare -f cpp_tests); cpp_tests"
stage uvu-cuda 180 env HEADGRAD_DEVICE=cuda node --import tsx node_modules/uvu/bin.js test '\.test\.ts$'
stage memcheck 90 compute-sanitizer --tool memcheck --error-exitcode 1 build/bench_attention_cuda --small
stage memcheck-train 90 compute-sanitizer --tool memcheck --error-exitcode 1 build/bench_train_cuda --small
stage bench-cuda 180 build/bench_attention_cuda --out "$OUT/bench_cuda.json"
stage bench-torch 120 python3 scripts/bench_torch_attention.py --out "$OUT/bench_torch.json"
stage table 30 bash -c "python3 scripts/gpu_bench_table.py '$OUT/bench_cuda.json' '$OUT/bench_torch.json' --json '$OUT/bench_gpu.json' > '$OUT/bench_table.txt'"
# training section: the GPT engine on CUDA against PyTorch on the same card
stage bench-train-cuda 150 build/bench_train_cuda --out "$OUT/bench_train_cuda.json"
stage bench-train-torch 120 python3 scripts/bench_torch_train.py --out "$OUT/bench_train_torch.json"
stage train-table 30 bash -c "python3 scripts/gpu_train_table.py '$OUT/bench_train_cuda.json' '$OUT/bench_train_torch.json' --json '$OUT/bench_train.json' > '$OUT/bench_train_table.txt'"
# slowest, so last: shared-memory races in the attention and the engine's kernels
stage racecheck 120 compute-sanitizer --tool racecheck --error-exitcode 1 build/bench_attention_cuda --small
stage racecheck-train 90 compute-sanitizer --tool racecheck --error-exitcode 1 build/bench_train_cuda --small

# Few files in $OUT, so the results are easy to copy off a remote machine: the log, the summary
# and the merged tables/JSON loose, the raw benchmark JSONs in one archive.
raw=()
for f in bench_cuda.json bench_torch.json bench_train_cuda.json bench_train_torch.json; do
  [ -f "$OUT/$f" ] && raw+=("$f")
done
if [ ${#raw[@]} -gt 0 ]; then tar -czf "$OUT/raw-bench.tgz" -C "$OUT" "${raw[@]}" && (cd "$OUT" && rm -f "${raw[@]}"); fi

echo
echo "=== summary ($OUT)"
cat "$SUMMARY"
echo
[ -s "$OUT/bench_table.txt" ] && cat "$OUT/bench_table.txt"
echo
[ -s "$OUT/bench_train_table.txt" ] && cat "$OUT/bench_train_table.txt"
exit $FAILED
