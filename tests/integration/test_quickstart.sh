#!/usr/bin/env bash
# test_quickstart.sh - docs/quickstart.md does what it says, with its commands taken from the page
# itself (the blocks after its "<!-- test_quickstart.sh: NAME -->" markers), so page and test
# cannot drift: apps/tls-hello/main.c is at most 60 lines; the page's clang line builds it; the
# app's own "try:" line (openssl s_client -verify_return_error -CAfile build/certs/ca.pem) verifies
# its development certificate and gets each line back in upper case; the page's provisioning block
# puts the RSA certificate on a temporary --sd card and the app serves that one (the built-in one
# is ECDSA, so a 2048-bit key proves the file was used); a missing file ends the app with its
# reason; the page's installed-SDK block (cmake --install, four-line CMakeLists.txt, gen-certs.sh)
# builds the app in a folder outside the repo and the installed portal-host runs it.
# The commands run in $WORK/top, which holds sdk/, apps/ and build/ (links to the source and the
# build under test), so they run unchanged and write nothing into the repo.
source "$(dirname "$0")/lib.sh"
: "${PORTAL_CERTS:?}" "${PORTAL_SOURCE:?}" "${PORTAL_BUILD:?}"
export PORTAL_CACHE_DIR
DOC=$PORTAL_SOURCE/docs/quickstart.md
SRC=$PORTAL_SOURCE/apps/tls-hello/main.c
valgrind_scale STDIN_S 1 3 "s of s_client stdin (the time the answer has to come back)"
TOP=$WORK/top
mkdir -p "$TOP" "$WORK/home" "$WORK/bin"
ln -s "$PORTAL_SOURCE/sdk" "$TOP/sdk"
ln -s "$PORTAL_SOURCE/apps" "$TOP/apps"
ln -s "$PORTAL_BUILD" "$TOP/build"
# The page says `clang`: make that the clang this build uses for apps.
wasi_clang=$(sed -n 's/^PORTAL_WASI_CLANG:FILEPATH=//p' "$PORTAL_BUILD/CMakeCache.txt")
[ -x "$wasi_clang" ] && ln -s "$wasi_clang" "$WORK/bin/clang"
export PATH=$WORK/bin:$PATH
# apps must never see the user's real home (default --sd card)
export XDG_DATA_HOME=$WORK/xdg

# doc_block NAME - the fenced block after "<!-- test_quickstart.sh: NAME -->", continuation
# lines joined.
doc_block() {
    awk -v tag="<!-- test_quickstart.sh: $1 -->" '
        $0 == tag { want = 1; next }
        want && /^```/ { if (inside) exit; inside = 1; next }
        inside { print }' "$DOC" | sed -e ':a' -e '/\\$/N; s/\\\n *//; ta'
}
# start_app LABEL COMMAND - runs COMMAND (one line of shell; @PORT@ becomes a free port, APP_PORT)
# in $TOP in the background and waits for the app's "try:" line; sets APP_PID and APP_ERR. A port
# taken by someone else between free_port and the app's bind (other tests run in parallel) is
# tried again with another, up to three times.
start_app() {
    APP_ERR=$WORK/${1//[^A-Za-z0-9]/-}.err
    local attempt deadline
    for attempt in 1 2 3; do
        APP_PORT=$(free_port)
        (cd "$TOP" && exec bash -c "exec ${2//@PORT@/$APP_PORT}") > "${APP_ERR%.err}.out" 2> "$APP_ERR" &
        APP_PID=$!
        CLEANUP_PIDS+=("$APP_PID")
        deadline=$((SECONDS + 120))
        until grep -q "try: openssl" "$APP_ERR" || ! alive "$APP_PID" || [ $SECONDS -ge $deadline ]; do
            sleep 0.1
        done
        grep -q "try: openssl" "$APP_ERR" && return 0
        kill -9 "$APP_PID" 2> /dev/null
        wait "$APP_PID" 2> /dev/null
        grep -q "address in use" "$APP_ERR" || break
        echo "     $1: port $APP_PORT was taken meanwhile (attempt $attempt), another one"
    done
    fail "$1: the app did not start: $(tail -n 3 "$APP_ERR")"
    return 1
}
# alive PID - running, not a zombie
alive() { kill -0 "$1" 2> /dev/null && [ "$(awk '{print $3}' "/proc/$1/stat" 2> /dev/null)" != Z ]; }
# talk LABEL DIR COMMAND - runs the s_client COMMAND in DIR with two lines on stdin; checks the
# chain verified and both lines came back upper-cased. The transcript is $WORK/LABEL.s.
talk() {
    local out=$WORK/${1//[^A-Za-z0-9]/-}.s word=portal-$RANDOM
    (printf 'hello %s\nsecond line\n' "$word"; sleep "$STDIN_S") |
        (cd "$2" && timeout $((STDIN_S + 20)) bash -c "$3") > "$out" 2>&1
    check "$1: s_client verified the chain (Verify return code: 0)" grep -q "Verify return code: 0 (ok)" "$out"
    check "$1: 'hello $word' came back as 'HELLO ${word^^}'" grep -qx "HELLO ${word^^}" "$out"
    check "$1: 'second line' came back as 'SECOND LINE'" grep -qx "SECOND LINE" "$out"
    TALK_OUT=$out
}
# stop_app LABEL - SIGTERM, exit status 0
stop_app() {
    kill -TERM "$APP_PID" 2> /dev/null
    wait_exit "$APP_PID" 60
    local rc=$?
    check "$1: stopped on SIGTERM with exit status 0 (rc $rc)" test $rc -eq 0
}
# wait_exit PID SECONDS - the exit status of PID, or 124 (killed) when it takes longer
wait_exit() {
    local deadline=$((SECONDS + $2))
    while kill -0 "$1" 2> /dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.1; done
    kill -0 "$1" 2> /dev/null && { kill -9 "$1"; wait "$1" 2> /dev/null; return 124; }
    wait "$1"
}

# ---- the app is short ----
lines=$(wc -l < "$SRC")
check "apps/tls-hello/main.c is $lines lines (at most 60)" test "$lines" -le 60

# ---- the page's clang line builds it ----
build_line=$(doc_block build | grep '^clang ')
check "quickstart.md has a clang build line" test -n "$build_line"
(cd "$TOP" && timeout 120 bash -c "$build_line") > "$WORK/build.log" 2>&1
rc=$?
check "the page's clang line builds tls-hello.wasm warnings-clean (rc $rc)" test $rc -eq 0 -a -s "$TOP/tls-hello.wasm"
[ $rc -eq 0 ] || cat "$WORK/build.log"

# ---- that build, with the development certificate: run the app's own s_client hint ----
run_line=$(doc_block build | grep '^build/portal-host run ')
check "the page runs it with build/portal-host ($run_line)" test "$run_line" = "build/portal-host run tls-hello.wasm"
if [ -s "$TOP/tls-hello.wasm" ] && start_app "dev certificate" "\"$PORTAL_HOST\" ${run_line#build/portal-host } -- --port @PORT@"; then
    hint=$(sed -n 's/.*; try: //p' "$APP_ERR")
    check "the app's hint is the verifying s_client line" \
        test "$hint" = "openssl s_client -verify_return_error -CAfile build/certs/ca.pem -connect 127.0.0.1:$APP_PORT"
    talk "dev certificate, the app's hint" "$TOP" "$hint"
    check "dev certificate: the server key is the built-in ECDSA P-256 one" grep -q "Server public key is 256 bit" "$TALK_OUT"
    stop_app "dev certificate"
fi

# ---- the page's provisioning block: a card with the RSA certificate ----
s_client_line=$(grep -m1 '^openssl s_client -verify_return_error' "$DOC")
check "the page's s_client line verifies against build/certs/ca.pem" \
    test "$s_client_line" = "openssl s_client -verify_return_error -CAfile build/certs/ca.pem -connect 127.0.0.1:8444"
provision=$(doc_block provision)
(cd "$TOP" && timeout 30 bash -ec "$(grep -v '^build/portal-host' <<< "$provision")") > "$WORK/provision.log" 2>&1
check "the page's provisioning commands run (rc $?)" test -s "$TOP/card/certs/server.key"
check "the card holds the RSA certificate, which is not the built-in one" \
    bash -c "cmp -s '$TOP/card/certs/server.pem' '$PORTAL_CERTS/server-rsa.pem' && ! cmp -s '$TOP/card/certs/server.pem' '$PORTAL_CERTS/server-ec.pem'"
card_run=$(grep '^build/portal-host' <<< "$provision")
if start_app "card certificate" "\"$PORTAL_HOST\" ${card_run#build/portal-host } --port @PORT@"; then
    talk "card certificate, the page's s_client line" "$TOP" "${s_client_line//8444/$APP_PORT}"
    check "card certificate: the server key is the card's RSA-2048 one" grep -q "Server public key is 2048 bit" "$TALK_OUT"
    stop_app "card certificate"
fi

# ---- a file that is not there ----
timeout 120 "$PORTAL_HOST" run "$PORTAL_APPS/tls-hello.wasm" --sd "$TOP/card" -- --port "$(free_port)" \
    --cert /sdcard/certs/missing.pem --key /sdcard/certs/server.key > /dev/null 2> "$WORK/missing.err"
rc=$?
check "a missing certificate file ends the app with exit status 1 (rc $rc)" test $rc -eq 1
check "... and says why: $(grep -m1 -o 'cannot start.*' "$WORK/missing.err")" \
    grep -qE "^E wasm: cannot start on port [0-9]+: fs_stat: not found$" "$WORK/missing.err"

# ---- the page's installed-SDK block: an app folder outside the repo ----
HOME=$WORK/home
mkdir -p "$HOME/tls-hello"
doc_block CMakeLists.txt > "$HOME/tls-hello/CMakeLists.txt"
check "the page's CMakeLists.txt is four lines" test "$(grep -c . "$HOME/tls-hello/CMakeLists.txt")" -eq 4
installed=$(doc_block installed)
(cd "$TOP" && HOME=$HOME timeout 240 bash -ec "$(grep -v 'bin/portal-host run' <<< "$installed")") \
    > "$WORK/installed.log" 2>&1
rc=$?
check "the page's installed-SDK commands build build/tls-hello.wasm in ~/tls-hello (rc $rc)" \
    test $rc -eq 0 -a -s "$HOME/tls-hello/build/tls-hello.wasm"
[ $rc -eq 0 ] || tail -n 20 "$WORK/installed.log"
installed_run=$(grep 'bin/portal-host run' <<< "$installed")
installed_run=${installed_run//\$HOME/$HOME}
check "the page runs it with the installed portal-host" test "${installed_run%% *}" = "$HOME/portal/bin/portal-host"
# under valgrind the installed portal-host runs through portal-host-vg (PORTAL_HOST_REAL)
if [ "$PORTAL_VALGRIND" = 1 ]; then
    installed_cmd="env PORTAL_HOST_REAL=${installed_run%% *} \"$PORTAL_HOST\" ${installed_run#* }"
else
    installed_cmd=$installed_run
fi
TOP_SAVED=$TOP TOP=$HOME/tls-hello
if [ -s "$HOME/tls-hello/build/tls-hello.wasm" ] &&
    start_app "installed SDK" "$installed_cmd -- --port @PORT@"; then
    talk "installed SDK, s_client in ~/tls-hello" "$HOME/tls-hello" "${s_client_line//8444/$APP_PORT}"
    stop_app "installed SDK"
fi
TOP=$TOP_SAVED

finish
