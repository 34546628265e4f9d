#!/usr/bin/env bash
# Configures and builds glaserve into build/ (executables in build/bin/). Extra arguments
# go to CMake's configure step, e.g. -DGLASERVE_CUDA=OFF.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -G Ninja "$@"
cmake --build build --parallel "$(nproc)"
