#!/usr/bin/env bash
# setup.sh - installs what the build and the tests need on Debian 12, only what is missing.
# Idempotent and fast when everything is present (one dpkg query, no network).
set -euo pipefail

packages=(
  build-essential cmake pkg-config      # native toolchain
  clang lld wasi-libc libclang-rt-14-dev-wasm32   # wasm32-wasi apps
  wabt                                  # wasm2c + wasm-rt-impl (portal-host's engine)
  libmbedtls-dev liblwip-dev            # TLS; lwIP headers for the firmware platform compile check
  openssl                               # certificates + s_client in tests
  socat procps iproute2                 # test peers and process/fd inspection
  valgrind                              # make test-valgrind (memcheck); bench measures with it too
)
# `setup.sh bench`: also what `make bench` compares against and measures with, and the i386 (ILP32)
# toolchain and mbedTLS for its device projection (Debian multiarch: adds the i386 architecture).
if [ "${1:-}" = bench ]; then
  packages+=(nodejs gnuplot-nox gcc-multilib libmbedtls-dev:i386)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "setup: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
    sudo="sudo"
  fi
  export DEBIAN_FRONTEND=noninteractive
  if [[ " ${missing[*]} " == *":i386 "* ]] && ! dpkg --print-foreign-architectures | grep -qx i386; then
    $sudo dpkg --add-architecture i386
  fi
  # an index that fails to download (a mirror mid-sync) is not fatal: the install says what is missing
  $sudo apt-get update -qq || echo "setup: apt-get update reported errors; trying the install anyway" >&2
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
bash "$(dirname "$0")/setup-zig.sh" >/dev/null
