#!/usr/bin/env bash
# Packs the GPU test and benchmark binaries of a build with the shared libraries they need
# that a bare CUDA machine lacks (abseil, OpenBLAS, gtest... from Debian), so they run
# on a GPU host that has only the CUDA toolkit. CUDA's own libraries are left out: the
# host's driver and toolkit provide them.
#
# Usage: tools/gpu/pack.sh BUILD_DIR OUT_DIR
#   then on the GPU host: LD_LIBRARY_PATH=OUT_DIR/lib:/usr/local/cuda/lib64 OUT_DIR/bin/<binary>
set -euo pipefail
build=${1:?usage: pack.sh BUILD_DIR OUT_DIR}
out=${2:?usage: pack.sh BUILD_DIR OUT_DIR}
rm -rf "$out"
mkdir -p "$out/bin" "$out/lib"
for binary in "$build"/bin/glaserve_kernels_cuda_tests "$build"/bin/glaserve_engine_cuda_tests \
              "$build"/bin/glaserve_bench_*; do
  [[ -x $binary ]] || continue
  cp "$binary" "$out/bin/"
  strip --strip-debug "$out/bin/$(basename "$binary")"
  # Every resolved library outside the system's core and CUDA's folders.
  ldd "$binary" | awk '/=> \// {print $3}' | while read -r lib; do
    case "$lib" in
      /usr/local/cuda*|*/libc.so*|*/libm.so*|*/libstdc++.so*|*/libgcc_s.so*|*/libpthread.so*|*/libdl.so*|*/librt.so*) ;;
      *) cp -Ln "$lib" "$out/lib/" ;;
    esac
  done
done
du -sh "$out"
