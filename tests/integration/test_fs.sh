#!/usr/bin/env bash
# test_fs.sh - module portal_fs on portal-host with the fs_app test app: every import with exact
# return codes and messages (upstream's), the card directory given by --sd and the default one
# ($XDG_DATA_HOME or ~/.local/share, created 0700), hostile paths (`..`, no leading '/', 256 bytes,
# embedded NUL, symbolic links to files and directories outside the card, absolute and relative, a
# FIFO), a directory swapped with a symbolic link while the app opens files beneath it (it must
# never read the outside file), buffers and strings outside memory (trap naming the import), the
# limits (17th file, 9th directory) and teardown closing every file and directory (descriptors at
# exit = at start). The path checks run twice: with openat2 and with the openat walk
# (PORTAL_FS_NO_OPENAT2=1).
source "$(dirname "$0")/lib.sh"
export PORTAL_CACHE_DIR
APP=$PORTAL_APPS/fs_app.wasm
FDWATCH=$PORTAL_TOOLS/fdwatch
SWAP=$PORTAL_TOOLS/fs_swap
host_clean() { ! grep -qE "Sanitizer|runtime error:|Segmentation|core dumped|Aborted|stack smashing|double free|corrupted" "$1"; }
# apps must never see the user's real home: every run here has its own data directories
export XDG_DATA_HOME=$WORK/xdg HOME=$WORK/home

# make_card DIR - a fresh card and, next to it, an "outside" directory the links point at.
make_card() {
    local top=$1
    rm -rf "$top"
    mkdir -p "$top/sd/sub" "$top/sd/race/d" "$top/outside/sub"
    printf 'hello portal\n' > "$top/sd/hello.txt"
    printf 'OUTSIDE secret\n' > "$top/outside/secret.txt"
    printf 'inside\n' > "$top/sd/race/d/secret.txt"
    ln -s "$top/outside/secret.txt" "$top/sd/out_file"
    ln -s ../outside/secret.txt "$top/sd/out_rel"
    ln -s "$top/outside" "$top/sd/out_dir"
    ln -s ../outside "$top/sd/out_dir_rel"
    ln -s hello.txt "$top/sd/in_link"
    ln -s "$top/outside/dangling" "$top/sd/dangling"
    ln -s ../../outside "$top/sd/sub/deep_link"
    ln -s "$top/outside" "$top/sd/race/l"
    mkfifo "$top/sd/fifo"
}
# outside_intact DIR - nothing outside the card was read-modified, created or removed
outside_intact() {
    [ "$(cat "$1/outside/secret.txt")" = "OUTSIDE secret" ] &&
        [ "$(ls -A "$1/outside" | tr '\n' ' ')" = "secret.txt sub " ] &&
        [ -z "$(ls -A "$1/outside/sub")" ]
}

declare -A VAL_RC VAL_MSG
# load_vals FILE - reads the app's "VAL case rc message" lines
load_vals() {
    VAL_RC=() VAL_MSG=()
    local tag name code msg
    while read -r tag name code msg; do
        [ "$tag" = VAL ] && VAL_RC[$name]=$code && VAL_MSG[$name]=$msg
    done < "$1"
}
# expect LABEL CASE RC TEXT - RC exact; the message equals TEXT (empty TEXT: not checked, the
# call succeeded and left an earlier message alone)
expect() {
    local got_rc=${VAL_RC[$2]:-} got_msg=${VAL_MSG[$2]:-}
    if [ -z "$got_rc" ]; then
        fail "$1 $2: not reported"
    elif [ "$got_rc" = "$3" ] && { [ -z "$4" ] || [ "$got_msg" = "$4" ]; }; then
        pass "$1 $2: $3${4:+ '$4'}"
    else
        fail "$1 $2: got $got_rc '$got_msg', want $3 '$4'"
    fi
}

EXPECTED=$(cat << 'EOF'
feature-fs|0|1
isMounted|1|
mount-when-mounted|0|
cardInfo|18|mounted=1 type=2 capacity>0=1 name=HOST tail=0000 after=aa
cardInfo-len-17|-1|fs_card_info: out_len too small (need 18)
cardInfo-len-0|-1|fs_card_info: out_len too small (need 18)
mkdir|0|
mkdir-exists|0|
mkdir-root|0|
mkdir-missing-parent|-2|fs_mkdir: mkdir failed
mkdir-not-on-card|-2|fs_mkdir: mkdir failed
open-create|0|
write|10|
write-len-0|0|
read-write-only|-2|fs_read: read failed
close|0|
close-again|-1|fs_close: bad handle
close-0|-1|fs_close: invalid handle
close-neg|-1|fs_close: invalid handle
write-closed|-1|fs_write: bad handle
open-append|0|
write-append|2|
open-read|0|
read-4|4|0123
seek-cur|6|
read-after-seek|4|6789
read-rest|2|AB
read-eof|0|
read-len-0|0|
seek-end|9|
seek-set|1|
seek-whence-3|-1|fs_seek: invalid whence
seek-negative|-2|fs_seek: lseek failed
seek-kept|1|
write-read-only|-2|fs_write: write failed
open-rdwr|0|
write-rdwr|2|
seek-rdwr|0|
read-rdwr|12|zz23456789AB
open-missing|-4|fs_open: not found
open-access-0|-1|fs_open: invalid access mode
open-access-0-create|-1|fs_open: invalid access mode
open-dir|-2|fs_open: open failed
open-not-on-card|-4|fs_open: not found
open-sdcardx|-4|fs_open: not found
open-root-slash|-4|fs_open: not found
stat-file|24|size=12 dir=0 reserved-zero=1 mtime-recent=1 after=aa
stat-dir|24|dir=1 after=aa
stat-root|24|dir=1
stat-len-23|-1|fs_stat: out_len too small (need 24)
stat-missing|-4|fs_stat: not found
stat-not-on-card|-4|fs_stat: not found
stat-bad-path-len-0|-1|fs_stat: out_len too small (need 24)
rename|0|
rename-missing|-4|fs_rename: not found
rename-bad-to|-1|fs: path must start with '/'
rename-off-card|-4|fs_rename: not found
opendir|0|
readdir-cut|2|g. after=aa
readdir-end|0|
readdir-len-0|-1|fs_readdir: out_len <= 0
closedir|0|
closedir-again|-1|fs_closedir: bad handle
closedir-0|-1|fs_closedir: invalid handle
readdir-closed|-1|fs_readdir: bad handle
readdir-full|5|g.txt
readdir-file-handle|-1|fs_readdir: bad handle
read-dir-handle|-1|fs_read: bad handle
closedir-file-handle|-1|fs_closedir: bad handle
close-dir-handle|-1|fs_close: bad handle
opendir-missing|-4|fs_opendir: not found
opendir-file|-2|fs_opendir: opendir failed
opendir-not-on-card|-4|fs_opendir: not found
readdir-root|0|entries>0=1 dot-entries=0
rmdir-not-empty|-2|fs_rmdir: rmdir failed
remove-dir|-2|fs_remove: unlink failed
remove|0|
remove-again|-4|fs_remove: not found
rmdir|0|
rmdir-again|-4|fs_rmdir: not found
rmdir-root|-2|fs_rmdir: rmdir failed
remove-root|-2|fs_remove: unlink failed
remove-not-on-card|-4|fs_remove: not found
path-relative|-1|fs: path must start with '/'
path-empty|-1|fs: path must start with '/'
path-dotdot|-1|fs: path contains '..'
path-dotdot-end|-1|fs: path contains '..'
path-dotdot-only|-1|fs: path contains '..'
path-dotdot-mkdir|-1|fs: path contains '..'
path-dotdot-rename-to|-1|fs: path contains '..'
path-dotdot-remove|-1|fs: path contains '..'
path-dotdot-rmdir|-1|fs: path contains '..'
path-dots-3|0|
path-dot-name|0|
path-dot-segment|24|
path-double-slash|24|
path-256|-1|fs: path too long
path-256-stat|-1|fs: path too long
path-256-rename-from|-1|fs: path too long
path-255|-4|fs_open: not found
path-399|-1|fs: path too long
path-nul|13|hello portal
link-file-abs|-2|fs_open: open failed
link-file-rel|-2|fs_open: open failed
link-file-write|-2|fs_open: open failed
link-dir-abs|-2|fs_open: open failed
link-dir-rel|-2|fs_open: open failed
link-dir-create|-2|fs_open: open failed
link-inside|-2|fs_open: open failed
link-dangling-create|-2|fs_open: open failed
link-stat|-2|fs_stat: stat failed
link-stat-dir|-2|fs_stat: stat failed
link-stat-through|-2|fs_stat: stat failed
link-opendir|-2|fs_opendir: opendir failed
link-opendir-rel|-2|fs_opendir: opendir failed
link-mkdir-through|-2|fs_mkdir: mkdir failed
link-remove-through|-2|fs_remove: unlink failed
link-rmdir-through|-2|fs_rmdir: rmdir failed
link-rename-from|-2|fs_rename: rename failed
link-rename-to|-2|fs_rename: rename failed
link-deep|-2|fs_open: open failed
fifo|-2|fs_open: open failed
fifo-write|-2|fs_open: open failed
unmount|0|
unmounted-isMounted|0|
unmounted-open|-3|fs_open: SD not mounted
unmounted-stat|-3|fs_stat: SD not mounted
unmounted-stat-len-0|-3|fs_stat: SD not mounted
unmounted-opendir|-3|fs_opendir: SD not mounted
unmounted-mkdir|-3|fs_mkdir: SD not mounted
unmounted-rmdir|-3|fs_rmdir: SD not mounted
unmounted-remove|-3|fs_remove: SD not mounted
unmounted-rename|-3|fs_rename: SD not mounted
unmounted-bad-path|-3|fs_open: SD not mounted
unmounted-cardInfo|18|mounted=0 type=0
unmounted-read-open-handle|5|
mount|0|
mounted-again|1|
mounted-read|1|
open-16|0|16 files open
open-17th|-2|fs_open: too many open files
open-17th-create|-2|fs_open: too many open files
close-one|0|
open-after-close|0|a handle never seen before
stale-handle|-1|fs_read: bad handle
opendir-8|0|8 directories open
opendir-9th|-2|fs_opendir: too many open dirs
close-one-dir|0|
opendir-after-close|0|
EOF
)
for h in 0 -1 2147483647 -2147483648 12345; do
    for imp in read write seek readdir; do
        EXPECTED+=$'\n'"$imp-handle-$h|-1|fs_$imp: bad handle"
    done
done

# ==== A. every import, both resolution methods; teardown closes the 24 descriptors left open ====
for method in openat2 walk; do
    label="values ($method)"
    card=$WORK/card-$method
    make_card "$card"
    no2=0
    [ "$method" = walk ] && no2=1
    out=$WORK/values-$method
    env PORTAL_FS_NO_OPENAT2=$no2 ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
        timeout 300 "$FDWATCH" "$out.fdw" "$PORTAL_HOST" run "$APP" --sd "$card/sd" -- values \
        > "$out.out" 2> "$out.err"
    rc=$?
    check "$label: exit 0 (rc $rc)" test $rc -eq 0
    check "$label: ran to its end" grep -qx END "$out.out"
    check "$label: host clean (no crash or sanitizer report)" host_clean "$out.err"
    load_vals "$out.out"
    n=0
    while IFS='|' read -r name want text; do
        [ -n "$name" ] && expect "$label" "$name" "$want" "$text" && n=$((n + 1))
    done <<< "$EXPECTED"
    check "$label: the app reported exactly the $(grep -c . <<< "$EXPECTED") expected cases" \
        test "$(grep -c '^VAL ' "$out.out")" -eq "$(grep -c . <<< "$EXPECTED")"
    check "$label: nothing outside the card was changed or created" outside_intact "$card"
    check "$label: the refused 17th open created nothing" test ! -e "$card/sd/not-created.txt"
    check "$label: the symbolic links are still there" test -L "$card/sd/out_dir" -a -L "$card/sd/out_file"
    check "$label: the app's own file on the card ('...' directory made and removed)" \
        test ! -e "$card/sd/..." -a ! -e "$card/sd/d"
    check_exit_fds "$out.fdw" "$label"
    [ $rc -eq 0 ] || tail -5 "$out.err"
done

# LeakSanitizer cannot run in a traced process (fdwatch): on the ASan build one more run without it.
if [ "${PORTAL_SANITIZED:-0}" = 1 ]; then
    make_card "$WORK/card-lsan"
    ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=1" timeout 300 "$PORTAL_HOST" run "$APP" \
        --sd "$WORK/card-lsan/sd" -- values > "$WORK/lsan.out" 2> "$WORK/lsan.err"
    check "values (LeakSanitizer, no fdwatch): exit 0, ran to its end" grep -qx END "$WORK/lsan.out"
    check "values (LeakSanitizer, no fdwatch): host clean, nothing leaked" host_clean "$WORK/lsan.err"
fi

# ==== B. a directory swapped with a symbolic link while the app opens files beneath it ====
valgrind_scale RACE_OPENS 20000 2000 "opens in the race"
for method in openat2 walk; do
    label="race ($method)"
    card=$WORK/race-$method
    make_card "$card"
    no2=0
    [ "$method" = walk ] && no2=1
    rm -f "$WORK/stop"
    (cd "$card/sd/race" && exec timeout 200 "$SWAP" d l 180 "$WORK/stop") > "$WORK/swap-$method" 2>&1 &
    swap=$!
    CLEANUP_PIDS+=("$swap")
    PORTAL_FS_NO_OPENAT2=$no2 timeout 300 "$PORTAL_HOST" run "$APP" --sd "$card/sd" -- race $RACE_OPENS \
        > "$WORK/race-$method.out" 2> "$WORK/race-$method.err"
    rc=$?
    touch "$WORK/stop"
    wait $swap
    result=$(grep '^RACE' "$WORK/race-$method.out")
    echo "     $label: $result, $(cat "$WORK/swap-$method")"
    check "$label: exit 0 (rc $rc)" test $rc -eq 0
    check "$label: the outside file was never read ($result)" grep -q "outside=0 " <<< "$result"
    check "$label: opens beneath the real directory succeeded" grep -Eq "inside=[1-9]" <<< "$result"
    check "$label: the swapper ran ($(cat "$WORK/swap-$method"))" grep -Eq "^swaps [1-9]" "$WORK/swap-$method"
    check "$label: nothing outside the card was changed" outside_intact "$card"
done

# ==== C. buffers and strings outside linear memory trap, naming the import and argument ====
make_card "$WORK/trapcard"
declare -A TRAP_WANT=(
    [read-far]="portal_fs.fsRead argument out" [read-past-end]="portal_fs.fsRead argument out"
    [read-neg-len]="portal_fs.fsRead argument out" [write-far]="portal_fs.fsWrite argument buf"
    [write-past-end]="portal_fs.fsWrite argument buf" [stat-out-far]="portal_fs.fsStat argument out"
    [stat-out-past-end]="portal_fs.fsStat argument out"
    [stat-path-unterminated]="portal_fs.fsStat argument path"
    [open-path-far]="portal_fs.fsOpen argument path"
    [open-path-unterminated]="portal_fs.fsOpen argument path"
    [rename-to-unterminated]="portal_fs.fsRename argument to"
    [mkdir-path-far]="portal_fs.fsMkdir argument path"
    [readdir-past-end]="portal_fs.fsReaddir argument out"
    [cardinfo-past-end]="portal_fs.fsCardInfo argument out"
    [cardinfo-far]="portal_fs.fsCardInfo argument out"
    [remove-path-far]="portal_fs.fsRemove argument path"
    [rmdir-path-far]="portal_fs.fsRmdir argument path"
    [opendir-path-far]="portal_fs.fsOpendir argument path"
)
cases=$(timeout 60 "$PORTAL_HOST" run "$APP" -- list)
check "trap: the app lists all ${#TRAP_WANT[@]} cases" test "$(wc -l <<< "$cases")" -eq ${#TRAP_WANT[@]}
for c in $cases; do
    timeout 120 "$PORTAL_HOST" run "$APP" --sd "$WORK/trapcard/sd" -- trap "$c" > "$WORK/trap.out" 2> "$WORK/trap.err"
    rc=$?
    if [ $rc -eq 134 ] && grep -qF "out of bounds memory access: ${TRAP_WANT[$c]:-?} (" "$WORK/trap.err" &&
        host_clean "$WORK/trap.err"; then
        pass "trap $c: 134, ${TRAP_WANT[$c]}"
    else
        fail "trap $c: rc $rc, $(grep -h 'trapped\|NO TRAP' "$WORK/trap.err" "$WORK/trap.out")"
    fi
done
# a trap with a file and a directory open: teardown still closes both
env ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" timeout 120 "$FDWATCH" "$WORK/trap.fdw" \
    "$PORTAL_HOST" run "$APP" --sd "$WORK/trapcard/sd" -- trap read-far > /dev/null 2> "$WORK/trap.err"
check "trap with a file and a directory open: exit 134" test $? -eq 134
check_exit_fds "$WORK/trap.fdw" "trap with a file and a directory open"
check "nothing outside the card was changed by the trap cases" outside_intact "$WORK/trapcard"

# ==== D. the card directory: default, created 0700; unusable; usage ====
rm -rf "$XDG_DATA_HOME" "$HOME"
timeout 60 "$PORTAL_HOST" run "$APP" -- race 1 > "$WORK/default.out" 2> "$WORK/default.err"
check "default card: \$XDG_DATA_HOME/portal-host/sdcard created on first use" \
    test -d "$XDG_DATA_HOME/portal-host/sdcard"
check "default card: mode 0700 ($(stat -c %a "$XDG_DATA_HOME/portal-host/sdcard" 2>/dev/null))" \
    test "$(stat -c %a "$XDG_DATA_HOME/portal-host/sdcard" 2>/dev/null)" = 700
check "default card: the app found the (empty) card" grep -q "RACE inside=0 outside=0 failed=1" "$WORK/default.out"
env -u XDG_DATA_HOME timeout 60 "$PORTAL_HOST" run "$APP" -- race 1 > /dev/null 2>&1
check "default card without XDG_DATA_HOME: ~/.local/share/portal-host/sdcard, mode 0700" \
    test "$(stat -c %a "$HOME/.local/share/portal-host/sdcard" 2>/dev/null)" = 700
rm -rf "$HOME"
XDG_DATA_HOME=relative/dir timeout 60 "$PORTAL_HOST" run "$APP" -- race 1 > /dev/null 2>&1
check "a relative XDG_DATA_HOME is ignored (the XDG rule): ~/.local/share is used" \
    test -d "$HOME/.local/share/portal-host/sdcard" -a ! -e relative
timeout 60 "$PORTAL_HOST" run "$APP" -- list > /dev/null 2>&1
rm -rf "$HOME"
timeout 60 "$PORTAL_HOST" run "$APP" -- list > /dev/null 2>&1
check "an app that never calls portal_fs creates no card directory" test ! -e "$HOME"
printf 'not a directory\n' > "$WORK/plainfile"
timeout 60 "$PORTAL_HOST" run "$APP" --sd "$WORK/plainfile" -- values > "$WORK/nocard.out" 2> "$WORK/nocard.err"
load_vals "$WORK/nocard.out"
expect "unusable --sd" isMounted 0 ""
expect "unusable --sd" mount-when-mounted -3 "fs_mount: SD mount failed (no card?)"
expect "unusable --sd" open-create -3 "fs_open: SD not mounted"
expect "unusable --sd" cardInfo 18 "mounted=0 type=0 capacity>0=0 name= tail=0000 after=aa"
check "unusable --sd: one warning names the directory and the reason" \
    test "$(grep -c "portal_fs: cannot use $WORK/plainfile as the card: Not a directory" "$WORK/nocard.err")" -eq 1
timeout 60 "$PORTAL_HOST" run "$APP" --sd > /dev/null 2> "$WORK/usage.err"
check "--sd without a directory: usage error (exit 2)" test $? -eq 2
check "--help lists --sd" grep -q -- "--sd DIR" <("$PORTAL_HOST" --help)

# ==== E. the echo apps load their certificate and key from the card ====
# The card gets the RSA certificate: the apps' built-in default is ECDSA, so a 2048-bit server key
# proves the file was used. s_client verifies the chain against the build's CA.
CERTS=${PORTAL_CERTS:?}
valgrind_scale STDIN_S 1 3 "s of s_client stdin (the time the echo has to come back)"
ECHO_CARD=$WORK/echo-card
mkdir -p "$ECHO_CARD/sd/certs"
cp "$CERTS/server-rsa.pem" "$CERTS/server-rsa.key" "$CERTS/ca.pem" "$ECHO_CARD/sd/certs/"
ln -s "$CERTS/server-ec.key" "$ECHO_CARD/sd/certs/linked.key"
# echo_app LABEL WASM APP-ARGS... - starts the app on a free port, waits for it, runs s_client
echo_app() {
    local label=$1 wasm=$2 port out
    shift 2
    port=$(free_port)
    out=$WORK/echo-${label//[^A-Za-z0-9]/-}
    "$PORTAL_HOST" run "$wasm" --sd "$ECHO_CARD/sd" -- --port "$port" "$@" > "$out.out" 2> "$out.err" &
    local pid=$!
    CLEANUP_PIDS+=("$pid")
    if ! wait_for_log "$out.err" "try: openssl" 120; then
        fail "$label: the app did not start ($(grep -m1 -E 'cannot|tlsServer' "$out.err"))"
        kill -9 "$pid" 2> /dev/null
        return
    fi
    check "$label: the app says where its certificate came from" \
        grep -q "certificate /sdcard/certs/server-rsa.pem, key /sdcard/certs/server-rsa.key" "$out.err"
    check "$label: its hint asks for the CA that signed the card's certificate" bash -c \
        "grep -qx 'I wasm: try: openssl s_client -verify_return_error -CAfile CA.pem${ECHO_CLIENT_CERT:+ -cert CLIENT.pem -key CLIENT.key} -connect 127.0.0.1:$port' '$out.err' &&
         grep -qx 'I wasm: (CA.pem: the CA that signed /sdcard/certs/server-rsa.pem)' '$out.err'"
    [ -z "${ECHO_CLIENT_CERT:-}" ] ||
        check "$label: and for a client certificate signed by the card's CA" grep -qx \
            "I wasm: (CLIENT.pem, CLIENT.key: a client certificate signed by /sdcard/certs/ca.pem, its key)" "$out.err"
    (echo "fs-ping-$RANDOM"; sleep "$STDIN_S") | timeout $((STDIN_S + 15)) openssl s_client \
        -connect "127.0.0.1:$port" -verify_return_error -CAfile "$CERTS/ca.pem" -no_ign_eof \
        ${ECHO_CLIENT_CERT:+-cert "$CERTS/client.pem" -key "$CERTS/client.key"} > "$out.s" 2>&1
    check "$label: s_client verified the chain against ca.pem" grep -q "Verify return code: 0 (ok)" "$out.s"
    check "$label: the server's key is the card's RSA-2048 one" grep -q "Server public key is 2048 bit" "$out.s"
    check "$label: the line came back" grep -q "^fs-ping-" "$out.s"
    kill -TERM "$pid" 2> /dev/null
    wait "$pid"
    check "$label: stopped cleanly on SIGTERM" test $? -eq 0
}
ZIG_APP=$PORTAL_APPS/tls-echo-server-zig.wasm
for wasm in "$PORTAL_APPS/tls-echo-server.wasm" "$ZIG_APP"; do
    name=$(basename "$wasm" .wasm)
    if [ ! -s "$wasm" ]; then
        echo "     $name: not built (no Zig), skipped"
        continue
    fi
    echo_app "$name --cert/--key" "$wasm" --cert /sdcard/certs/server-rsa.pem --key /sdcard/certs/server-rsa.key
    ECHO_CLIENT_CERT=1 echo_app "$name --ca (client certificate)" "$wasm" \
        --cert /sdcard/certs/server-rsa.pem --key /sdcard/certs/server-rsa.key --ca /sdcard/certs/ca.pem
    timeout 120 "$PORTAL_HOST" run "$wasm" --sd "$ECHO_CARD/sd" -- --port "$(free_port)" \
        --cert /sdcard/certs/missing.pem --key /sdcard/certs/server-rsa.key > /dev/null 2> "$WORK/echo-missing.err"
    rc=$?
    check "$name: a missing certificate file ends the app with a message (rc $rc)" \
        grep -q "cannot read /sdcard/certs/missing.pem: fs_stat: not found" "$WORK/echo-missing.err"
    timeout 120 "$PORTAL_HOST" run "$wasm" --sd "$ECHO_CARD/sd" -- --port "$(free_port)" \
        --cert /sdcard/certs/server-rsa.pem --key /sdcard/certs/linked.key > /dev/null 2> "$WORK/echo-link.err"
    check "$name: a key behind a symbolic link out of the card is refused" \
        grep -q "cannot read /sdcard/certs/linked.key: fs_stat: stat failed" "$WORK/echo-link.err"
    timeout 120 "$PORTAL_HOST" run "$wasm" --sd "$ECHO_CARD/sd" -- --port "$(free_port)" \
        --cert /sdcard/certs/server-rsa.pem > /dev/null 2> "$WORK/echo-half.err"
    check "$name: --cert without --key is refused" grep -q -- "--cert and --key go together" "$WORK/echo-half.err"
done

finish
