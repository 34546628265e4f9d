# syntax=docker/dockerfile:1
# glaserve in a container: built in NVIDIA's CUDA 13 development image, run in the CUDA 13
# runtime image, as a non-root user.
#
#   docker build -t glaserve .
#   docker run --gpus all -p 50051:50051 -p 9400:9400 -v /path/to/checkpoint:/models:ro glaserve
#
# Arguments after the image name replace the CMD below (the entrypoint is glaserve), e.g.
# `docker run ... IMAGE serve --model /models --max-seqs 64`. `docker stop` sends SIGTERM: the server drains (health
# NOT_SERVING, new calls UNAVAILABLE, running streams finish within --drain-timeout, 30 s by
# default) and exits 0; give it the time: `docker stop -t 40` (compose: stop_grace_period).
# deploy/ has the balancer, compose, Kubernetes and Prometheus files; deploy/README.md
# explains them.
#
# Why Ubuntu: NVIDIA publishes its CUDA images on Ubuntu (and RHEL-family) bases, not on
# Debian. Ubuntu 24.04 is the release whose packages match what scripts/install-deps.sh
# installs on Debian 12: the same package names, the same versions of the libraries the
# code is written against (gRPC 1.51, Protobuf 3.21, abseil 20220623), CMake >= 3.25. So
# the build stage runs that same script and the same build script as the README and CI.
ARG CUDA_VERSION=13.0.0
ARG UBUNTU_VERSION=24.04

FROM nvidia/cuda:${CUDA_VERSION}-devel-ubuntu${UBUNTU_VERSION} AS build
WORKDIR /src
# Dependencies first, in their own layer: it is rebuilt only when the script changes.
COPY scripts/install-deps.sh scripts/
RUN scripts/install-deps.sh && rm -rf /var/lib/apt/lists/*
# Only what the build reads (a host's build/ folder must not come along: its CMake cache
# names another source path). A test checks that every folder the top CMakeLists.txt
# builds is copied here.
COPY CMakeLists.txt ./
COPY scripts scripts
COPY kernels kernels
COPY engine engine
COPY proto proto
COPY server server
COPY loadtest loadtest
# The same script CI builds with. CUDA is ON rather than AUTO so that a missing nvcc
# fails the build instead of producing a CPU-only image; the tests are CI's job, not
# the image's. ccache keeps objects between image builds.
RUN --mount=type=cache,target=/root/.cache/ccache \
    scripts/build.sh -DGLASERVE_CUDA=ON -DGLASERVE_BUILD_TESTS=OFF
# The distribution packages holding the shared libraries the executables load; the
# runtime stage installs just these (no compilers, no -dev packages).
COPY deploy/runtime-packages.sh deploy/
RUN deploy/runtime-packages.sh build/bin/glaserve build/bin/glaserve-bench > build/runtime-packages.txt \
 && cat build/runtime-packages.txt

FROM nvidia/cuda:${CUDA_VERSION}-runtime-ubuntu${UBUNTU_VERSION}
COPY --from=build /src/build/runtime-packages.txt /tmp/
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive xargs -a /tmp/runtime-packages.txt \
      apt-get install -y --no-install-recommends \
 && rm -rf /var/lib/apt/lists/* /tmp/runtime-packages.txt \
 && useradd --create-home --uid 10001 --user-group glaserve
COPY --from=build /src/build/bin/glaserve /src/build/bin/glaserve-bench /usr/local/bin/
USER glaserve
WORKDIR /home/glaserve
# The checkpoint directory (config.json, safetensors, tokenizer.model) is mounted here,
# read-only is enough.
VOLUME /models
# gRPC (glaserve.v1.TextGeneration, grpc.health.v1.Health, reflection) and Prometheus
# /metrics: the server's default --port and --metrics-port.
EXPOSE 50051 9400
# `glaserve health` is a gRPC health client (grpc-health-probe is not packaged): exit 0
# when SERVING, 1 when NOT_SERVING (draining), 2 when unreachable. The start period
# covers loading a large checkpoint.
HEALTHCHECK --interval=10s --timeout=5s --start-period=300s --retries=3 \
  CMD ["glaserve", "health", "--addr", "127.0.0.1:50051", "--timeout", "3"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["glaserve"]
CMD ["serve", "--model", "/models", "--host", "0.0.0.0", "--port", "50051", "--metrics-port", "9400"]
