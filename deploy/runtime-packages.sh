#!/usr/bin/env bash
# Prints, one per line, the Debian/Ubuntu packages that hold the shared libraries the given
# executables load, so that the Dockerfile's runtime stage installs exactly those and not
# the compilers and -dev packages of scripts/install-deps.sh. Run where the executables
# were built (the package database knows the files there); the runtime image must be of
# the same distribution release. Libraries under /usr/local/cuda are left out: the CUDA
# runtime image has them, and the driver's (libcuda) comes from the host at run time.
#
#   deploy/runtime-packages.sh build/bin/glaserve [more executables] > runtime-packages.txt
set -euo pipefail
[ $# -gt 0 ] || { echo "usage: $0 EXECUTABLE..." >&2; exit 2; }

missing=$(ldd "$@" | awk '/=> not found/ && $1 !~ /^libcuda\.so/ {print $1}' | sort -u)
if [ -n "$missing" ]; then
  echo "runtime-packages: libraries not found: $missing" >&2
  exit 1
fi

# "libfoo.so.1 => /lib/x86_64-linux-gnu/libfoo.so.1 (0x...)": ask dpkg (once: each query
# reads its whole file list) which packages own those files, under their /usr names too
# (merged /usr: /lib and /usr/lib are one folder, and dpkg knows each file under the name
# its package used).
mapfile -t paths < <(ldd "$@" | awk '$2 == "=>" && $3 ~ /^\// && $3 !~ /^\/usr\/local\/cuda/ {print $3}' | sort -u)
candidates=()
for path in "${paths[@]}"; do candidates+=("$path" "/usr${path}" "${path#/usr}"); done
owners=$(dpkg-query -S "${candidates[@]}" 2>/dev/null || true)  # "pkg:arch: /path" per file found
owned=$(awk -F': ' '{print $NF}' <<< "$owners")
for path in "${paths[@]}"; do
  if ! grep -qxF -e "$path" -e "/usr${path}" -e "${path#/usr}" <<< "$owned"; then
    echo "runtime-packages: no package owns $path" >&2
    exit 1
  fi
done
cut -d: -f1 <<< "$owners" | tr -d ' ' | tr ',' '\n' | sort -u
