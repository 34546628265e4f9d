#!/usr/bin/env bash
# The soak test for longer than CI runs it: a steady mixed load (reads, cancels, deadlines,
# bad requests, stalled readers, refusals) on a real `glaserve serve`, sampling its memory,
# slots and queue over time. Builds what it needs in build/ first.
#   scripts/soak.sh --minutes 120       # the log goes to build/soak-<date>.log too
set -euo pipefail
cd "$(dirname "$0")/.."
minutes=10
while [ $# -gt 0 ]; do
  case "$1" in
    --minutes) minutes="$2"; shift 2 ;;
    *) echo "usage: scripts/soak.sh [--minutes N]" >&2; exit 2 ;;
  esac
done
[ -f build/build.ninja ] || cmake -S . -B build -G Ninja
cmake --build build --target glaserve glaserve_reliability_tests
log="build/soak-$(date +%Y%m%d-%H%M%S).log"
echo "soak: ${minutes} min, log in ${log}"
GLASERVE_SOAK_SECONDS=$((minutes * 60)) build/bin/glaserve_reliability_tests \
  --gtest_filter='SoakTest.*' 2>&1 | tee "$log"
exit "${PIPESTATUS[0]}"
