#!/usr/bin/env bash
# Installs every build, test and run dependency of glaserve from Debian 12 packages.
# Used by the README, .ci/run and the Dockerfile alike, so all three build the same way.
# Nothing else is downloaded: the build uses only what this script installs.
# The Dockerfile runs it on Ubuntu 24.04 (NVIDIA's CUDA images are Ubuntu-based), where
# every package below has the same name, and gRPC, Protobuf and abseil the same versions.
#   scripts/install-deps.sh [--fuzz]    --fuzz: also clang for scripts/fuzz.sh
set -euo pipefail

packages=(
  # toolchain
  build-essential cmake ninja-build ccache pkg-config git ca-certificates
  # gRPC + Protobuf (the public API and the server)
  libgrpc++-dev libgrpc-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  # abseil: flags, status, strings, synchronization, time
  libabsl-dev
  # tests and benchmarks (gnuplot-nox: PNG plots of glaserve-bench --plot-dir)
  libgtest-dev libgmock-dev libbenchmark-dev gnuplot-nox
  # checkpoint config parsing, CPU matmuls; sentencepiece for its CLIs only (spm_train makes
  # the test tokenizers, spm_encode/spm_decode are the tokenizer tests' oracle)
  nlohmann-json3-dev sentencepiece libopenblas-dev
  # test helpers: the random-checkpoint tool and the independent reference are Python
  python3 python3-numpy
  # TLS test certificates
  openssl
  libcpp-httplib-dev prometheus  # metrics endpoint; promtool and a real Prometheus for its tests
  # deployment tests: real balancers in front of two replicas; lint of the deploy files
  nginx haproxy shellcheck python3-yaml
)
if [ "${1:-}" = "--fuzz" ]; then
  # libFuzzer and the sanitizer runtimes for clang (scripts/fuzz.sh); CI replays the fuzz
  # corpora with the compiler above instead.
  packages+=(clang-14 libclang-rt-14-dev)
fi

if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
export DEBIAN_FRONTEND=noninteractive
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
