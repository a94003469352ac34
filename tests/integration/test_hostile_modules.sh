#!/usr/bin/env bash
# test_hostile_modules.sh - modules whose names and custom sections carry C source. wasm2c copies
# import and export names byte for byte into comments of the C it generates; a name that closes
# the comment and opens an __attribute__((constructor)) function once printed its marker from
# inside portal-host at dlopen time. Each case builds a small, otherwise valid app (wat2wasm, plus
# byte patches for what text format cannot say), runs it, and checks the exact outcome: exit 125
# with the message naming the refused name (escaped, printable) and nothing compiled, or a normal
# run; and in every case that the injected marker never appears.
source "$(dirname "$0")/lib.sh"
WAT2WASM=${WAT2WASM:-wat2wasm}
CACHE=$WORK/cache
MARKER=INJECTED-MARKER
ALPHABET="names must be 1 to 255 bytes of A-Z a-z 0-9 _ . - \$"

# wat_bytes TEXT: TEXT (printf %b escapes) as a wat string body, every byte as \hh.
wat_bytes() { printf '%b' "$1" | od -An -v -tx1 | tr -s ' \n' ' ' | sed 's/ $//; s/ /\\/g'; }
# printable TEXT: what portal-host shows for a name: quoted, bytes outside the alphabet as \xNN,
# the first 40 bytes only, "..." after a cut.
printable() {
    local out='"' n=0 b
    for b in $(printf '%b' "$1" | od -An -v -tx1); do
        n=$((n + 1))
        [ $n -le 40 ] || { out+=...; break; }
        case $b in
        3[0-9] | 4[1-9a-f] | 5[0-9a] | 6[1-9a-f] | 7[0-9a] | 5f | 2e | 2d | 24) out+=$(printf "\\x$b") ;;
        *) out+="\\x$b" ;;
        esac
    done
    printf '%s"' "$out"
}
nbytes() { printf '%b' "$1" | wc -c | tr -d ' '; }

# make_app OUT [IMPORT_MODULE IMPORT_FIELD] [EXPORT]: the app, with one more import (a function
# of type (i32)->() the app never calls; IMPORT_PARAMS overrides its parameter list) and/or one
# more export (of _start) when given non-empty.
make_app() {
    local out=$1 im=${2:-} ifield=${3:-} ex=${4:-} extra_import='' extra_export=''
    [ -z "$im$ifield" ] || extra_import="(import \"$(wat_bytes "$im")\" \"$(wat_bytes "$ifield")\" (func (param ${IMPORT_PARAMS:-i32})))"
    [ -z "$ex" ] || extra_export="(export \"$(wat_bytes "$ex")\" (func \$start))"
    cat > "$WORK/app.wat" << WAT
(module
  (import "portal_log" "logInfo" (func \$log (param i32)))
  $extra_import
  (memory (export "memory") 1)
  (data (i32.const 64) "hostile module ran\\00")
  (func \$start (export "_start") (call \$log (i32.const 64)))
  (func (export "portalContractVersion") (result i32) (i32.const 1))
  (func (export "portalMicroTaskStep") (param i32 i32) (result i64) (i64.const 0))
  (func (export "portalAlloc") (param i32) (result i32) (i32.const 0))
  (func (export "portalFree") (param i32 i32))
  $extra_export
)
WAT
    "$WAT2WASM" "$WORK/app.wat" -o "$out"
}

run_app() { # WASM: runs it, leaving $WORK/out, $WORK/err, $RC
    timeout 300 "$PORTAL_HOST" run --cache-dir "$CACHE" "$1" > "$WORK/out" 2> "$WORK/err"
    RC=$?
}
compiled() { find "$CACHE" -maxdepth 1 -name '*.so' 2> /dev/null | wc -l; }
no_marker() { ! grep -qF "$MARKER" "$WORK/out" "$WORK/err"; }

# refused NAME WASM WHAT: exit 125, the message names WHAT (e.g. "export 6 name"), the name in
# printable form and its length; nothing compiled; no marker.
refused() {
    local label=$1 wasm=$2 what=$3 name=$4 before
    before=$(compiled)
    run_app "$wasm"
    local want
    want="$wasm is not a valid WebAssembly module: $what $(printable "$name") ($(nbytes "$name") bytes) is not allowed: $ALPHABET"
    check "$label: exit 125 (got $RC)" test "$RC" -eq 125
    check "$label: message names it: $(printable "$name" | cut -c1-50)" grep -qxF "portal-host: $want" "$WORK/err"
    check "$label: nothing compiled" test "$(compiled)" -eq "$before"
    check "$label: marker never printed" no_marker
    [ "$RC" -eq 125 ] || sed 's/^/     /' "$WORK/err" "$WORK/out" | head -20
}
# runs LABEL WASM: a normal run (exit 0, the app's log line), no marker.
runs() {
    run_app "$2"
    check "$1: runs (exit $RC)" test "$RC" -eq 0
    check "$1: the app ran" grep -qF "hostile module ran" "$WORK/err"
    check "$1: marker never printed" no_marker
    [ "$RC" -eq 0 ] || sed 's/^/     /' "$WORK/err" | head -20
}

if ! command -v "$WAT2WASM" > /dev/null; then
    fail "wat2wasm (wabt, installed with wasm2c) not found"
    finish
    exit
fi

# ---- the harness itself: the plain app runs, and so does one with unusual allowed names ----
make_app "$WORK/plain.wasm"
runs "plain app" "$WORK/plain.wasm"
make_app "$WORK/allowed.wasm" 'GOT.mem' 'a-b$c_9' 'Z.y-x$w_0'
runs "names using every allowed punctuation" "$WORK/allowed.wasm"
long255=$(printf 'n%.0s' $(seq 255))
make_app "$WORK/long255.wasm" "" "" "$long255"
runs "255-byte export name" "$WORK/long255.wasm"
# The largest unlinked import: 255-byte names of punctuation (each byte mangled to several) and
# 1,000 parameters. Its wasm2c declaration is over 7 KB; the trapping stub must still be written
# (it once failed to load: "cannot find wasm2c declaration", a fixed 2 KB line buffer).
punct255=$(printf '$.-%.0s' $(seq 85))
IMPORT_PARAMS=$(printf 'i32 %.0s' $(seq 1000)) make_app "$WORK/bigimport.wasm" "$punct255" "$punct255"
runs "unlinked import with 255-byte punctuation names and 1,000 parameters" "$WORK/bigimport.wasm"

# ---- names that would become C ----
GUARD_OPEN='#ifndef PWN_ONCE\n#define PWN_ONCE\n'
CTOR="extern int puts(const char *);\n__attribute__((constructor)) static void pwn(void) { puts(\"$MARKER\"); }\n"
GUARD_CLOSE='#endif\n'
# The attack from the report: close the export comment, define a constructor, reopen a comment.
ATTACK="x' */\n$GUARD_OPEN$CTOR$GUARD_CLOSE/* '"
make_app "$WORK/attack.wasm" "" "" "$ATTACK"
refused "export closing its comment with a constructor" "$WORK/attack.wasm" "export 6 name" "$ATTACK"
# A // comment continued by backslash-newline over the rest of wasm2c's comment line.
SPLICE="x' */\n$GUARD_OPEN$CTOR$GUARD_CLOSE// \\\\\n"
make_app "$WORK/splice.wasm" "" "" "$SPLICE"
refused "export with // and a backslash-newline" "$WORK/splice.wasm" "export 6 name" "$SPLICE"
# The trigraph ??/ is a backslash under -std=c11: "*??/" newline "/" ends a comment.
TRIGRAPH="x *??/\n/\n$GUARD_OPEN$CTOR$GUARD_CLOSE/* '"
make_app "$WORK/trigraph.wasm" "" "" "$TRIGRAPH"
refused "export with a ??/ trigraph" "$WORK/trigraph.wasm" "export 6 name" "$TRIGRAPH"
make_app "$WORK/newline.wasm" "" "" 'ab\ncd'
refused "export with a newline" "$WORK/newline.wasm" "export 6 name" 'ab\ncd'
make_app "$WORK/cr.wasm" "" "" 'ab\rcd'
refused "export with a carriage return" "$WORK/cr.wasm" "export 6 name" 'ab\rcd'
make_app "$WORK/quote.wasm" "" "" "a\"b'c"
refused "export with quotes" "$WORK/quote.wasm" "export 6 name" "a\"b'c"
make_app "$WORK/nul.wasm" "" "" 'a\0b'
refused "export with a NUL byte" "$WORK/nul.wasm" "export 6 name" 'a\0b'
make_app "$WORK/utf8.wasm" "" "" 'caf\xc3\xa9'
refused "export with UTF-8 beyond ASCII" "$WORK/utf8.wasm" "export 6 name" 'caf\xc3\xa9'
# Not UTF-8 at all (text format refuses to write it): patch a placeholder of the same length.
make_app "$WORK/notutf8.wasm" "" "" 'PATCHME'
perl -0777 -pi -e 's/PATCHME/x\xff\xfe*\/ y/' "$WORK/notutf8.wasm"
refused "export that is not UTF-8" "$WORK/notutf8.wasm" "export 6 name" 'x\xff\xfe*/ y'
make_app "$WORK/long256.wasm" "" "" "${long255}n"
refused "256-byte export name" "$WORK/long256.wasm" "export 6 name" "${long255}n"
make_app "$WORK/import-module.wasm" "$ATTACK" "logInfo"
refused "import module name closing its comment" "$WORK/import-module.wasm" "import 1 module name" "$ATTACK"
make_app "$WORK/import-field.wasm" "portal_log" "$SPLICE"
refused "import field name with // and backslash-newline" "$WORK/import-field.wasm" "import 1 field name" "$SPLICE"

# ---- custom sections: never handed to wasm2c, the app runs ----
# leb N / section ID BODY-FILE: appends a section (custom sections may come anywhere).
leb() {
    local v=$1
    while [ "$v" -ge 128 ]; do printf "\\x$(printf %02x $(((v & 127) | 128)))"; v=$((v >> 7)); done
    printf "\\x$(printf %02x "$v")"
}
wasm_name() { leb "$(nbytes "$1")"; printf '%b' "$1"; }
custom_section() { # OUT-WASM BODY-FILE: appends custom section with that body
    { printf '\0'; leb "$(wc -c < "$2")"; cat "$2"; } >> "$1"
}
cp "$WORK/plain.wasm" "$WORK/custom.wasm"
{ wasm_name "*/ $CTOR /*"; printf '%b' "*/\n$GUARD_OPEN$CTOR$GUARD_CLOSE/*"; } > "$WORK/body"
custom_section "$WORK/custom.wasm" "$WORK/body"
runs "custom section named and filled with C" "$WORK/custom.wasm"
# "name" section: module name (subsection 0) and function 1's name (subsection 1) as C.
cp "$WORK/plain.wasm" "$WORK/names.wasm"
wasm_name "$ATTACK" > "$WORK/sub0"
{ printf '\1\1'; wasm_name "$ATTACK"; } > "$WORK/sub1"
{ wasm_name name; printf '\0'; leb "$(wc -c < "$WORK/sub0")"; cat "$WORK/sub0"
  printf '\1'; leb "$(wc -c < "$WORK/sub1")"; cat "$WORK/sub1"; } > "$WORK/body"
custom_section "$WORK/names.wasm" "$WORK/body"
runs "name section with C as module and function names" "$WORK/names.wasm"
# A name section wasm2c itself refuses (a function name that is not UTF-8): it runs only because
# wasm2c never sees custom sections.
cp "$WORK/plain.wasm" "$WORK/badnames.wasm"
{ wasm_name name; printf '\1\6\1\1\3\xff\xfeA'; } > "$WORK/body"
custom_section "$WORK/badnames.wasm" "$WORK/body"
runs "name section that wasm2c would refuse" "$WORK/badnames.wasm"
if "${WASM2C:-wasm2c}" "$WORK/badnames.wasm" -o "$WORK/w2c.c" 2> /dev/null; then
    fail "wasm2c accepts the malformed name section itself (the case above proves nothing)"
else
    pass "wasm2c itself refuses that name section"
fi

finish
