#!/usr/bin/env bash
# test_abi_drift.sh - every ABI fact has one source: host/api's import tables, host/core/features.h
# and host/core/app.h (printed by the build's abi_dump). This checks the C SDK headers, wasi-libc's
# WASI calls, the Zig SDK (ffi.zig, feature bits, error codes) and the docs' signature/feature/error
# tables against them with compiled probes (tests/abi/abi_drift.py); any drift fails. Runs no portal-host, so
# valgrind adds nothing (label no-valgrind).
# Environment (set by ctest): PORTAL_TOOLS, PORTAL_SOURCE, PORTAL_BUILD, PORTAL_APPS.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

: "${PORTAL_TOOLS:?PORTAL_TOOLS must name the directory with the test tools}"
: "${PORTAL_SOURCE:?PORTAL_SOURCE must name the source tree}"
: "${PORTAL_BUILD:?PORTAL_BUILD must name the build tree}"
work=$WORK

# The clang the apps are built with (cmake/apps.cmake caches it) and, when the build has Zig apps
# (cmake/zig.cmake), the pinned Zig where scripts/setup-zig.sh installed it (looked up, never
# installed from here).
clang=$(sed -n 's/^PORTAL_WASI_CLANG:FILEPATH=//p' "$PORTAL_BUILD/CMakeCache.txt")
zig=-
if [ -f "$PORTAL_APPS/zig-sdk-test.wasm" ]; then
    zig_dir=${PORTAL_ZIG_DIR:-$PORTAL_SOURCE/.tools/zig}
    zig=$(find "$zig_dir/node_modules" -type f -name zig -perm -u+x 2>/dev/null | head -n 1)
    check "the build's Zig is in $zig_dir" [ -n "$zig" ]
    [ -n "$zig" ] || zig=-
fi

"$PORTAL_TOOLS/abi_dump" > "$work/dump"
check "abi_dump lists imports" grep -q '^import portal_socket sockSocket iii:i (iii)i$' "$work/dump"

timeout 240 python3 "$PORTAL_SOURCE/tests/abi/abi_drift.py" "$work/dump" "$PORTAL_SOURCE" "$work" \
    "$clang" "$zig" wasm-objdump > "$work/out" 2>&1 || true
while IFS= read -r line; do
    case "$line" in
        "RESULT ok "*) pass "${line#RESULT ok }" ;;
        "RESULT FAIL "*) fail "${line#RESULT FAIL }" ;;
        "RESULT skip "*) echo "skip - ${line#RESULT skip }" ;;
        *) echo "$line" ;;
    esac
done < "$work/out"
groups=$(grep -c '^RESULT \(ok\|FAIL\) ' "$work/out" || true)
expected=7
[ "$zig" = - ] && expected=5
check "every fact group reported ($groups of $expected)" [ "$groups" -eq "$expected" ]
finish
