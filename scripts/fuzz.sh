#!/usr/bin/env bash
# Fuzzes glaserve's input parsers with libFuzzer: builds tests/fuzz's targets with clang-14
# and ASan + UBSan into build-fuzz/, then runs each for a fixed time starting from its seed
# corpus (tests/fuzz/corpus/<target>, only read). New interesting inputs collect in
# build-fuzz/corpus/<target>; a crash is saved as build-fuzz/crash-<target>-<hash> and
# fails the script. CI replays the seed corpora instead (ctest -L fuzz); this is the
# longer, separate run.
#   scripts/install-deps.sh --fuzz      # once: clang-14 and its libFuzzer runtime
#   scripts/fuzz.sh [--seconds 60] [target ...]     targets: see tests/fuzz/CMakeLists.txt
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=60
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds="$2"; shift 2 ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) targets+=("$1"); shift ;;
  esac
done
[ ${#targets[@]} -gt 0 ] || targets=(safetensors_header model_config sentencepiece_model tokenizer generate_request
                                   state_blob)
command -v clang++-14 >/dev/null || { echo "scripts/fuzz.sh: no clang++-14; run scripts/install-deps.sh --fuzz" >&2; exit 1; }

CC=clang-14 CXX=clang++-14 cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DGLASERVE_CUDA=OFF -DGLASERVE_FUZZ=ON -DGLASERVE_SANITIZE=address,undefined >/dev/null
cmake --build build-fuzz --target "${targets[@]/%/_fuzzer}"

# JSON inputs get a dictionary of their tokens and field names.
declare -A dicts=([safetensors_header]=tests/fuzz/json.dict [model_config]=tests/fuzz/json.dict)
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1
status=0
summary=()
for target in "${targets[@]}"; do
  corpus=build-fuzz/corpus/$target
  log=build-fuzz/$target.log
  mkdir -p "$corpus"
  args=(-max_total_time="$seconds" -print_final_stats=1 -timeout=20 -rss_limit_mb=4096
        -artifact_prefix="build-fuzz/crash-$target-")
  [ -z "${dicts[$target]:-}" ] || args+=(-dict="${dicts[$target]}")
  echo "fuzzing $target for ${seconds}s (log: $log)"
  if ! "build-fuzz/bin/${target}_fuzzer" "${args[@]}" "$corpus" "tests/fuzz/corpus/$target" >"$log" 2>&1; then
    status=1
    echo "  $target FAILED: see $log and build-fuzz/crash-$target-*"
  fi
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 || true)
  summary+=("$(printf '%-20s %12s execs  %8s/s  %s  corpus %s' "$target" "${execs:-?}" "${rate:-?}" \
               "${cov:-cov: ?}" "$(find "$corpus" -type f | wc -l)")")
done
printf '%s\n' "${summary[@]}"
exit $status
