#!/usr/bin/env bash
# Builds everything and runs every test (unit, integration, end-to-end) with CTest.
# GPU tests report themselves as skipped where no GPU is present.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh "$@"
ctest --test-dir build --output-on-failure --parallel "$(nproc)" --timeout 900
