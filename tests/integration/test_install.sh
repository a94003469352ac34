#!/usr/bin/env bash
# test_install.sh - the installed SDK works on its own: `cmake --install` of this build into a
# temporary prefix, then tests/install-app (its own four-line CMakeLists.txt) copied to a folder
# outside the repo, configured with only -DCMAKE_PREFIX_PATH=<prefix>, built, and run by the
# *installed* portal-host with a fresh module cache (so that portal-host runs wasm2c and cc itself).
# Also: a clang that cannot build wasm32-wasi stops the configure with a clear message, and the
# installed certificate generator works. Under valgrind only the installed portal-host runs under
# memcheck (cmake, clang and openssl are not the code under test).
# Environment (set by ctest): PORTAL_BUILD (the build tree to install), PORTAL_SOURCE, PORTAL_HOST.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
: "${PORTAL_BUILD:?PORTAL_BUILD must name the build tree}" "${PORTAL_SOURCE:?}"

PREFIX=$WORK/prefix
APP_SRC=$WORK/myapp
APP_BUILD=$WORK/myapp/build
INSTALLED_HOST=$PREFIX/bin/portal-host

# The installed portal-host; under valgrind through portal-host-vg, which runs whatever
# PORTAL_HOST_REAL names under memcheck.
if [ "$PORTAL_VALGRIND" = 1 ]; then
    INSTALLED_HOST_CMD=(env PORTAL_HOST_REAL="$INSTALLED_HOST" "$PORTAL_HOST")
else
    INSTALLED_HOST_CMD=("$INSTALLED_HOST")
fi

# ---- install ----
timeout 60 cmake --install "$PORTAL_BUILD" --prefix "$PREFIX" > "$WORK/install.log" 2>&1
check "cmake --install into a temporary prefix succeeds" test $? = 0
for f in bin/portal-host include/portal/portal.h include/portal/microtask.h include/portal/tls_socket.h \
    share/portal-sdk/c/portal_sdk.c share/portal-sdk/zig/sdk.zig share/portal-sdk/zig/sdk/tls_socket.zig \
    share/portal-sdk/gen-certs.sh share/doc/portal-sdk/README.md share/doc/portal-sdk/docs/abi.md \
    lib/cmake/PortalSDK/PortalSDKConfig.cmake lib/cmake/PortalSDK/PortalSDKConfigVersion.cmake; do
    check "installed: $f" test -s "$PREFIX/$f"
done
check "installed portal-host and gen-certs.sh are executable" \
    test -x "$INSTALLED_HOST" -a -x "$PREFIX/share/portal-sdk/gen-certs.sh"
check "the package's portal_add_app is the repo's cmake/apps.cmake (one definition)" \
    cmp -s "$PREFIX/lib/cmake/PortalSDK/PortalSDKApps.cmake" "$PORTAL_SOURCE/cmake/apps.cmake"

# The installed binary must not reach into the build tree: no rpath, only system libraries. Built
# against another mbedTLS (-DPORTAL_MBEDTLS_ROOT), that mbedTLS's folder is the one exception: the
# run path names it and nothing else.
readelf -d "$INSTALLED_HOST" > "$WORK/dynamic.txt" 2>&1
MBEDTLS_LIBDIR=${PORTAL_MBEDTLS_LIBDIR:-}
if [ -z "$MBEDTLS_LIBDIR" ]; then
    check "installed portal-host has no RPATH/RUNPATH" bash -c "! grep -qE 'RPATH|RUNPATH' '$WORK/dynamic.txt'"
else
    check "installed portal-host's run path is only the mbedTLS it was built against ($MBEDTLS_LIBDIR)" \
        test "$(sed -n 's/.*(R\(UN\)\{0,1\}PATH) *Library r\(un\)\{0,1\}path: \[\(.*\)\]$/\3/p' "$WORK/dynamic.txt")" = "$MBEDTLS_LIBDIR"
fi
ldd "$INSTALLED_HOST" > "$WORK/ldd.txt" 2>&1
non_system=$(awk -v mbedtls="$MBEDTLS_LIBDIR/" '/=>/ { if ($3 == "not" || ($3 !~ /^\/(usr\/)?lib(64|32|x32)?\// && (mbedtls == "/" || index($3, mbedtls) != 1))) print $1 " " $3 }' "$WORK/ldd.txt")
check "installed portal-host needs only system libraries${MBEDTLS_LIBDIR:+ and $MBEDTLS_LIBDIR} (${non_system:-all there})" \
    test -z "$non_system"
timeout 60 "${INSTALLED_HOST_CMD[@]}" --version > "$WORK/version.txt" 2>&1
check "installed portal-host --version runs" test $? = 0
package_version=$(sed -n 's/^set(PACKAGE_VERSION "\([0-9.]*\)")$/\1/p' "$PREFIX/lib/cmake/PortalSDK/PortalSDKConfigVersion.cmake")
check "PortalSDK package version (${package_version:-none}) is the installed portal-host's" \
    grep -qxF "portal-host ${package_version:-none}" "$WORK/version.txt"

# ---- an app outside the repo, built against the installed SDK ----
mkdir -p "$APP_SRC"
cp "$PORTAL_SOURCE/tests/install-app/CMakeLists.txt" "$PORTAL_SOURCE/tests/install-app/main.c" "$APP_SRC/"
case $APP_SRC in "$PORTAL_SOURCE"/*) fail "app folder $APP_SRC lies inside the repo" ;; esac
(cd "$APP_SRC" && timeout 120 cmake -S . -B build -DCMAKE_PREFIX_PATH="$PREFIX") > "$WORK/configure.log" 2>&1
rc=$?
check "app configures with only -DCMAKE_PREFIX_PATH=<prefix> (rc $rc)" test $rc = 0
[ $rc = 0 ] || cat "$WORK/configure.log"
timeout 120 cmake --build "$APP_BUILD" > "$WORK/build.log" 2>&1
rc=$?
check "app builds (rc $rc)" test $rc = 0
[ $rc = 0 ] || cat "$WORK/build.log"
check "app build made install-app.wasm" test -s "$APP_BUILD/install-app.wasm"
check "app build compiles the installed portal_sdk.c" \
    grep -rqF -- "$PREFIX/share/portal-sdk/c/portal_sdk.c" "$APP_BUILD/CMakeFiles"
check "app build never names the repo ($PORTAL_SOURCE)" \
    bash -c "! grep -rqF -- '$PORTAL_SOURCE' '$APP_BUILD'"

# ---- run it with the installed portal-host, fresh cache: it translates and compiles the module ----
out=$WORK/run1.out
(cd "$APP_SRC" && unset PORTAL_CACHE_DIR &&
    timeout 120 "${INSTALLED_HOST_CMD[@]}" run --cache-dir "$WORK/cache" build/install-app.wasm -- 42) \
    > "$out" 2>&1
rc=$?
check "installed portal-host runs the app; exit code is the app's exit(42) (rc $rc)" test $rc = 42
for line in "install-app: api 1, 1 argument(s)" "install-app tick 1" "install-app tick 2" \
    "install-app tick 3" "install-app exiting with 42"; do
    check "output: $line" contains "$out" "$line"
done
check "output: no fourth tick" bash -c "! grep -qF 'install-app tick 4' '$out'"
check "the installed portal-host compiled the module into its cache" \
    test -n "$(find "$WORK/cache" -name '*.so' 2>/dev/null)"
[ $rc = 42 ] || cat "$out"

out=$WORK/run2.out
(cd "$APP_SRC" && timeout 120 "${INSTALLED_HOST_CMD[@]}" run --cache-dir "$WORK/cache" build/install-app.wasm) \
    > "$out" 2>&1
rc=$?
check "second run (cached module), no arguments: exit code 0 (rc $rc)" test $rc = 0
check "second run output: 0 argument(s), three ticks" \
    bash -c "grep -qF 'install-app: api 1, 0 argument(s)' '$out' && grep -qF 'install-app tick 3' '$out'"

# ---- a clang that cannot build wasm32-wasi (here: no wasi-libc) stops the configure clearly ----
mkdir -p "$WORK/noclang/bin" "$WORK/noclang/empty-sysroot"
printf '#!/bin/sh\nexec clang --sysroot=%s "$@"\n' "$WORK/noclang/empty-sysroot" > "$WORK/noclang/bin/clang"
chmod +x "$WORK/noclang/bin/clang"
(cd "$APP_SRC" && timeout 120 cmake -S . -B "$WORK/noclang/build" -DCMAKE_PREFIX_PATH="$PREFIX" \
    -DPORTAL_WASI_CLANG="$WORK/noclang/bin/clang") > "$WORK/noclang.log" 2>&1
rc=$?
check "configure with a clang lacking wasi-libc fails (rc $rc)" test $rc != 0
check "... saying it cannot build a wasm32-wasi module" contains "$WORK/noclang.log" "cannot build a wasm32-wasi module"
check "... and what to install" contains "$WORK/noclang.log" "apt-get install clang lld wasi-libc"

# ---- the installed development certificate generator ----
timeout 60 "$PREFIX/share/portal-sdk/gen-certs.sh" "$WORK/certs" > "$WORK/certs.log" 2>&1
check "installed gen-certs.sh makes certificates" test $? = 0 -a -s "$WORK/certs/server-ec.pem"
check "... and dev_certs.h with dev_server_ec_cert / dev_server_ec_key" \
    bash -c "grep -q 'dev_server_ec_cert\[\]' '$WORK/certs/dev_certs.h' && grep -q 'dev_server_ec_key\[\]' '$WORK/certs/dev_certs.h'"

finish
