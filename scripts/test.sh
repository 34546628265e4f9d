#!/usr/bin/env bash
# Builds everything and runs every test (unit, integration, end-to-end, reliability, fuzz
# corpus replays) with CTest, then the same code under sanitizers (GLASERVE_SANITIZERS,
# below), each in its own folder:
#   build-asan/  ASan + UBSan: the engine, server, kernel, metrics and reliability tests
#                (the `glaserve serve` they start is sanitized too) and the fuzz corpora;
#   build-tsan/  TSan: the engine and metrics tests (the engine thread against client
#                threads; the metrics registry against scrapes). Server tests are left
#                out: Debian's gRPC is not built with TSan, whose reports on gRPC's own
#                callback plumbing would be false positives.
# Any sanitizer report fails its test. GLASERVE_SANITIZERS picks the configurations:
# "asan,tsan" (the default), "asan", "tsan" or "none". On the 2-core CI machine the two
# add 3 to 5 minutes with a warm ccache and fresh build folders, about 12 with many cache
# misses (docs/reliability.md), well inside what a CI run can spend.
# GPU tests report themselves as skipped where no GPU is present.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh "$@"
ctest --test-dir build --output-on-failure --parallel "$(nproc)" --timeout 900

sanitizers=",${GLASERVE_SANITIZERS:-asan,tsan},"
# Configures `dir` with -fsanitize=`sanitize` (CPU backend, debug info) and builds `targets`.
sanitized_build() {
  local dir=$1 sanitize=$2
  shift 2
  cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGLASERVE_CUDA=OFF \
    -DGLASERVE_SANITIZE="$sanitize" >/dev/null
  cmake --build "$dir" --parallel "$(nproc)" --target "$@"
}

if [[ $sanitizers == *,asan,* ]]; then
  fuzz_replays=()
  for target in safetensors_header model_config sentencepiece_model tokenizer generate_request state_blob; do
    fuzz_replays+=("glaserve_fuzz_${target}_replay")
  done
  sanitized_build build-asan address,undefined glaserve glaserve_engine_tests glaserve_server_tests \
    glaserve_kernels_tests glaserve_metrics_tests glaserve_reliability_tests "${fuzz_replays[@]}"
  # A shorter soak: ASan makes each request several times dearer.
  ASAN_OPTIONS=detect_leaks=1:strict_string_checks=1 \
  UBSAN_OPTIONS=print_stacktrace=1 GLASERVE_SOAK_SECONDS=20 \
    ctest --test-dir build-asan --output-on-failure --parallel "$(nproc)" --timeout 900 \
      -L '^(engine|server|kernels|metrics|reliability|fuzz)$'
fi
if [[ $sanitizers == *,tsan,* ]]; then
  sanitized_build build-tsan thread glaserve_engine_tests glaserve_metrics_tests
  TSAN_OPTIONS=second_deadlock_stack=1 \
    ctest --test-dir build-tsan --output-on-failure --parallel "$(nproc)" --timeout 900 -L '^(engine|metrics)$'
fi
