#!/usr/bin/env bash
# test_cache_trust.sh - the compile cache trusts nothing another local user could have placed:
# cache directories that are symbolic links, owned by someone else, group/world-writable or below
# a directory others can write are refused; a cached shared object that is a symbolic link, owned
# by someone else, group/world-writable or hard-linked is never loaded (compiled again instead);
# the cache key follows the toolchain (wasm2c, cc, wasm-rt.h); wasm2c and cc run under time,
# memory and file-size limits; without HOME and XDG_CACHE_HOME no predictable /tmp path is used.
# "Planted" shared objects are real ones whose constructor leaves a marker file when loaded.
source "$(dirname "$0")/lib.sh"
HOST=$PORTAL_HOST
APP=$PORTAL_APPS/hello.wasm
unset PORTAL_CACHE_DIR PORTAL_WASM2C PORTAL_CC PORTAL_WASM_RT_INCLUDE PORTAL_TOOL_TIMEOUT_S \
    PORTAL_TOOL_MEMORY_MB PORTAL_TOOL_FILE_MB
run() { timeout -k 5 180 "$HOST" run -v "$@" "$APP" -- 10; } # [--cache-dir DIR]
uid=$(id -u)
# The "other user" for planted files: only root can give files away (CI runs as root).
if [ "$uid" = 0 ]; then OTHER=$(id -u nobody 2>/dev/null || echo 65534); else OTHER=; fi
skip() { echo "     SKIPPED (not root, cannot create files owned by another user): $1"; }

# The planted object: loading it is visible (marker file), and it would satisfy no entry lookup.
MARKER=$WORK/planted-was-loaded
cat > "$WORK/planted.c" <<EOF
#include <fcntl.h>
#include <unistd.h>
__attribute__((constructor)) static void planted(void)
{
    int fd = open("$MARKER", O_WRONLY | O_CREAT, 0600);
    if (fd >= 0)
        close(fd);
}
EOF
cc -shared -fPIC -o "$WORK/planted.so" "$WORK/planted.c" || { fail "cannot build planted.so"; finish; exit 1; }
not_loaded() { test ! -e "$MARKER"; }
lacks() { ! grep -qF -- "$2" "$1"; }

# ---- baseline: compile once, then from the cache; the key names the shared object ----
GOOD=$WORK/good
run --cache-dir "$GOOD" > /dev/null 2> "$WORK/base.err"
check "baseline: exit 0" test $? -eq 0
check "baseline: compiled" contains "$WORK/base.err" "compiled in"
SO=$(grep -o "$GOOD/[0-9a-f]*\.so" "$WORK/base.err" | head -1)
KEY=$(basename "$SO")
check "baseline: the shared object is $GOOD/<sha256>.so" test -f "$SO" -a ${#KEY} -eq 67
check "baseline: cache directory created mode 0700" test "$(stat -c %a "$GOOD")" = 700
run --cache-dir "$GOOD" > /dev/null 2> "$WORK/base2.err"
check "baseline: second run loads from the cache" contains "$WORK/base2.err" "loaded from cache"
check "baseline: no build directory left behind" test -z "$(find "$GOOD" -mindepth 1 -type d)"

# plant DIR - puts the planted object where the app's cached module would be
plant() { cp "$WORK/planted.so" "$1/$KEY"; }

# ---- refused cache directories (exit 125, message names the path and the reason) ----
refused_dir() { # label dir expected-reason
    rm -f "$MARKER"
    run --cache-dir "$2" > /dev/null 2> "$WORK/r.err"
    local rc=$?
    check "$1: refused with 125 (got $rc)" test $rc -eq 125
    check "$1: message names $2 and says '$3'" grep -qF "refusing cache directory $2: $3" "$WORK/r.err"
    check "$1: the planted object was not loaded" not_loaded
    [ $rc -eq 125 ] || sed 's/^/       /' "$WORK/r.err" | head -5
}
mkdir -m 700 "$WORK/real"
plant "$WORK/real"
ln -s "$WORK/real" "$WORK/link"
refused_dir "cache directory is a symlink" "$WORK/link" "it is a symbolic link"
for mode in 777 770 702; do
    mkdir -m 700 "$WORK/w$mode" && plant "$WORK/w$mode" && chmod "$mode" "$WORK/w$mode"
    refused_dir "cache directory mode $mode" "$WORK/w$mode" "it is group/world-writable"
done
if [ -n "$OTHER" ]; then
    mkdir -m 700 "$WORK/theirs" && plant "$WORK/theirs" && chown -R "$OTHER" "$WORK/theirs"
    refused_dir "cache directory owned by uid $OTHER" "$WORK/theirs" "it is owned by another user"
else
    skip "cache directory owned by another user"
fi
# a directory above the cache that others can write (and not sticky): they could swap the cache
mkdir -m 700 "$WORK/open" && mkdir -m 700 "$WORK/open/cache" && plant "$WORK/open/cache"
chmod 777 "$WORK/open"
rm -f "$MARKER"
run --cache-dir "$WORK/open/cache" > /dev/null 2> "$WORK/r.err"
rc=$?
check "writable directory above the cache: refused with 125 (got $rc)" test $rc -eq 125
check "writable directory above the cache: message names it" \
    contains "$WORK/r.err" "refusing the cache below $WORK/open: that directory is writable by other users (mode 0777) and not sticky"
check "writable directory above the cache: the planted object was not loaded" not_loaded
if [ -n "$OTHER" ]; then # a directory above the cache that belongs to someone else (mode 755)
    mkdir -m 755 "$WORK/foreign" && mkdir -m 700 "$WORK/foreign/cache" && plant "$WORK/foreign/cache"
    chown "$OTHER" "$WORK/foreign"
    rm -f "$MARKER"
    run --cache-dir "$WORK/foreign/cache" > /dev/null 2> "$WORK/r.err"
    rc=$?
    check "directory above the cache owned by uid $OTHER: refused with 125 (got $rc)" test $rc -eq 125
    check "directory above the cache owned by uid $OTHER: message names it" \
        contains "$WORK/r.err" "refusing the cache below $WORK/foreign: that directory is owned by uid $OTHER, neither you (uid $uid) nor root"
    check "directory above the cache owned by uid $OTHER: the planted object was not loaded" not_loaded
else
    skip "directory above the cache owned by another user"
fi

# ---- untrusted cache entries: never loaded, compiled again and replaced ----
recompiled_entry() { # label dir expected-reason
    rm -f "$MARKER"
    run --cache-dir "$2" > "$WORK/e.out" 2> "$WORK/e.err"
    local rc=$?
    check "$1: app runs (exit $rc)" test $rc -eq 0
    check "$1: says why the cached file is not used: '$3'" \
        grep -qF "not using the cached $2/$KEY: $3; compiling it again" "$WORK/e.err"
    check "$1: compiled again" contains "$WORK/e.err" "compiled in"
    check "$1: the planted object was not loaded" not_loaded
    check "$1: the entry is now a regular file owned by uid $uid, mode without group/other write" \
        test -f "$2/$KEY" -a ! -L "$2/$KEY" -a "$(stat -c %u "$2/$KEY")" = "$uid" \
        -a "$(( 0$(stat -c %a "$2/$KEY") & 022 ))" = 0
    [ $rc -eq 0 ] || sed 's/^/       /' "$WORK/e.err" | head -5
}
mkdir -m 700 "$WORK/e-mode" && plant "$WORK/e-mode" && chmod 666 "$WORK/e-mode/$KEY"
recompiled_entry "cached object mode 0666" "$WORK/e-mode" "it is group/world-writable (mode 0666)"
mkdir -m 700 "$WORK/e-link" && cp "$WORK/planted.so" "$WORK/target.so"
ln -s "$WORK/target.so" "$WORK/e-link/$KEY"
recompiled_entry "cached object is a symlink" "$WORK/e-link" "it is a symbolic link"
check "cached object is a symlink: its target was left alone" cmp -s "$WORK/target.so" "$WORK/planted.so"
mkdir -m 700 "$WORK/e-hard" && plant "$WORK/e-hard" && ln "$WORK/e-hard/$KEY" "$WORK/hardlink.so"
recompiled_entry "cached object with a second hard link" "$WORK/e-hard" "it has 2 hard links"
if [ -n "$OTHER" ]; then
    mkdir -m 700 "$WORK/e-owner" && plant "$WORK/e-owner" && chown "$OTHER" "$WORK/e-owner/$KEY"
    recompiled_entry "cached object owned by uid $OTHER" "$WORK/e-owner" "it is owned by uid $OTHER, not by you (uid $uid)"
else
    skip "cached object owned by another user"
fi

# ---- the key follows the toolchain: wasm2c and cc (--version output, installed file), wasm-rt.h ----
REAL_WASM2C=$(command -v wasm2c)
REAL_CC=$(command -v cc)
mkdir -p "$WORK/bin"
# fake_tool NAME REAL VERSION-TEXT [BODY] - a wrapper that reports VERSION-TEXT, then runs BODY
# (default: the real tool with the same arguments); rewritten in place (same inode) when it exists
fake_tool() {
    printf '#!/usr/bin/env bash\nif [ "$1" = --version ]; then echo "%s"; exit 0; fi\n%s\n' \
        "$3" "${4:-exec $2 \"\$@\"}" > "$WORK/bin/$1"
    chmod 755 "$WORK/bin/$1"
}
# key_changes LABEL PREVIOUS-SO ENV-ASSIGNMENT... - with that environment the app is compiled
# under a key other than PREVIOUS-SO's, and the next run finds it; LAST_SO is the new one
key_changes() {
    local label=$1 previous=$2; shift 2
    env "$@" timeout -k 5 180 "$HOST" run -v --cache-dir "$GOOD" "$APP" -- 10 > /dev/null 2> "$WORK/k.err"
    local rc=$?
    LAST_SO=$(grep -o "$GOOD/[0-9a-f]*\.so" "$WORK/k.err" | head -1)
    check "$label: app runs (exit $rc)" test $rc -eq 0
    check "$label: compiled, not taken from the cache" contains "$WORK/k.err" "compiled in"
    check "$label: under a new key" test -n "$LAST_SO" -a "$LAST_SO" != "$previous"
    env "$@" timeout -k 5 180 "$HOST" run -v --cache-dir "$GOOD" "$APP" -- 10 > /dev/null 2> "$WORK/k2.err"
    check "$label: the same toolchain then loads from the cache" contains "$WORK/k2.err" "loaded from cache"
}
W2C=$WORK/bin/wasm2c
fake_tool wasm2c "$REAL_WASM2C" "wasm2c 1.0.32 build A"
key_changes "wasm2c wrapper" "$SO" PORTAL_WASM2C="$W2C"
touch -r "$W2C" "$WORK/ref" && before=$(stat -c %s:%i:%y "$W2C")
fake_tool wasm2c "$REAL_WASM2C" "wasm2c 1.0.32 build B"
touch -r "$WORK/ref" "$W2C"
check "wasm2c rewritten with the same size, inode and mtime" test "$(stat -c %s:%i:%y "$W2C")" = "$before"
key_changes "only wasm2c --version output changed" "$LAST_SO" PORTAL_WASM2C="$W2C"
touch -d 2001-01-01 "$W2C"
key_changes "only the wasm2c file's mtime changed (a rebuild, same version)" "$LAST_SO" PORTAL_WASM2C="$W2C"
CC_W=$WORK/bin/cc
fake_tool cc "$REAL_CC" "cc 12.2.0 build A"
key_changes "cc wrapper" "$SO" PORTAL_CC="$CC_W"
touch -r "$CC_W" "$WORK/ref"
fake_tool cc "$REAL_CC" "cc 12.2.0 build B"
touch -r "$WORK/ref" "$CC_W"
key_changes "only cc --version output changed" "$LAST_SO" PORTAL_CC="$CC_W"
# the wasm-rt.h the compiler finds (where the build found it, as a rule)
header=$(printf '#include <wasm-rt.h>\n' | cc -M -x c - 2> /dev/null | tr ' \\' '\n\n' | grep '/wasm-rt\.h$' | head -1)
mkdir -p "$WORK/inc" && cp "$header" "$WORK/inc/wasm-rt.h"
key_changes "wasm-rt.h from another directory (cc -I)" "$SO" PORTAL_WASM_RT_INCLUDE="$WORK/inc"
echo "/* a changed runtime header */" >> "$WORK/inc/wasm-rt.h"
key_changes "wasm-rt.h contents changed" "$LAST_SO" PORTAL_WASM_RT_INCLUDE="$WORK/inc"
run --cache-dir "$GOOD" > /dev/null 2> "$WORK/k3.err"
check "the original toolchain still finds its own entry" contains "$WORK/k3.err" "loaded from cache"

# ---- tool limits: time (process group killed), memory, file size ----
fake_tool wasm2c "$REAL_WASM2C" "slow wasm2c" "sleep 300 & echo \$! > $WORK/sleeper.pid; wait"
start=$SECONDS
PORTAL_WASM2C=$WORK/bin/wasm2c PORTAL_TOOL_TIMEOUT_S=2 run --cache-dir "$WORK/slow" > /dev/null 2> "$WORK/l.err"
rc=$? took=$((SECONDS - start))
check "slow wasm2c: refused with 125 (got $rc)" test $rc -eq 125
check "slow wasm2c: 'wasm2c took longer than 2 s'" contains "$WORK/l.err" "wasm2c took longer than 2 s"
check "slow wasm2c: stopped within 60 s (took $took s)" test $took -lt 60
sleeper=$(cat "$WORK/sleeper.pid" 2> /dev/null)
sleep 0.5
# gone, or a zombie waiting for init to reap it (its parent, the fake wasm2c, was killed too)
dead() { [ ! -e "/proc/$1/stat" ] || [ "$(awk '{print $3}' "/proc/$1/stat" 2> /dev/null)" = Z ]; }
check "slow wasm2c: its child (sleep, pid ${sleeper:-?}) was killed with the process group" \
    eval '[ -n "$sleeper" ] && dead "$sleeper"'
[ -n "$sleeper" ] && ! dead "$sleeper" && kill -9 "$sleeper"
# SIGTERM to portal-host while wasm2c runs: the tool's whole group goes too (the terminal's
# Ctrl-C would not reach it, it has its own process group), then the signal ends portal-host
rm -f "$WORK/sleeper.pid"
PORTAL_WASM2C=$WORK/bin/wasm2c "$HOST" run --cache-dir "$WORK/slow" "$APP" > /dev/null 2> "$WORK/i.err" &
pid=$!
CLEANUP_PIDS+=("$pid")
for _ in $(seq 300); do [ -s "$WORK/sleeper.pid" ] && break; sleep 0.1; done
sleeper=$(cat "$WORK/sleeper.pid" 2> /dev/null)
kill -TERM "$pid"
wait "$pid"
rc=$?
check "SIGTERM during wasm2c: portal-host ends by the signal (exit $rc, 143 expected)" test $rc -eq 143
sleep 0.5
check "SIGTERM during wasm2c: the tool's child (sleep, pid ${sleeper:-?}) was killed too" \
    eval '[ -n "$sleeper" ] && dead "$sleeper"'
[ -n "$sleeper" ] && ! dead "$sleeper" && kill -9 "$sleeper"

fake_tool cc "$REAL_CC" "greedy cc" 'printf -v big "%*s" 400000000 ""; echo "allocated ${#big}"'
PORTAL_CC=$WORK/bin/cc PORTAL_TOOL_MEMORY_MB=100 run --cache-dir "$WORK/greedy" > /dev/null 2> "$WORK/m.err"
rc=$?
check "greedy cc: refused with 125 (got $rc)" test $rc -eq 125
check "greedy cc: 'cc ran out of memory (limit 100 MiB'" contains "$WORK/m.err" "cc ran out of memory (limit 100 MiB"
check "greedy cc: it did not get its 400 MB" lacks "$WORK/m.err" "allocated 400000000"

fake_tool wasm2c "$REAL_WASM2C" "verbose wasm2c" "exec head -c 3000000 /dev/zero > \"\$5\""
PORTAL_WASM2C=$WORK/bin/wasm2c PORTAL_TOOL_FILE_MB=1 run --cache-dir "$WORK/big" > /dev/null 2> "$WORK/f.err"
rc=$?
check "wasm2c writing 3 MB: refused with 125 (got $rc)" test $rc -eq 125
check "wasm2c writing 3 MB: 'wrote a file larger than 1 MiB'" contains "$WORK/f.err" "wasm2c wrote a file larger than 1 MiB"
for d in slow greedy big; do
    check "$d: no build directory left behind" test -z "$(find "$WORK/$d" -mindepth 1 2> /dev/null)"
done

# ---- no HOME, no XDG_CACHE_HOME: a private temporary directory, never a predictable one ----
mkdir -m 700 "$WORK/tmp"
for i in 1 2; do
    env -u HOME -u XDG_CACHE_HOME -u PORTAL_CACHE_DIR TMPDIR="$WORK/tmp" \
        timeout -k 5 180 "$HOST" run -v "$APP" -- 10 > /dev/null 2> "$WORK/n$i.err"
    check "no HOME ($i): app runs" test $? -eq 0
    check "no HOME ($i): compiled (nothing reused)" contains "$WORK/n$i.err" "compiled in"
done
so1=$(grep -o "[^ (]*\.so" "$WORK/n1.err" | head -1)
so2=$(grep -o "[^ (]*\.so" "$WORK/n2.err" | head -1)
check "no HOME: not /tmp/portal-host-cache-$uid ($so1)" test -n "$so1" -a "${so1#/tmp/portal-host-cache-}" = "$so1"
check "no HOME: a mkdtemp directory in TMPDIR" grep -qE "^$WORK/tmp/portal-host-[A-Za-z0-9]{6}/" <<< "$so1"
check "no HOME: each run its own directory" test "$(dirname "$so1")" != "$(dirname "$so2")"
check "no HOME: the temporary directories are removed" test -z "$(find "$WORK/tmp" -name 'portal-host-*')"

finish
