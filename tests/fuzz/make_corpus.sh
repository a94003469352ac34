#!/usr/bin/env bash
# make_corpus.sh [--static|--build] [TARGET] OUTDIR - writes seed corpora for the libFuzzer targets
# in tests/fuzz/. With TARGET (fuzz_wasm_reader, fuzz_wasm2c_names, fuzz_tls_server, fuzz_api,
# fuzz_config) the seeds go
# straight into OUTDIR; without it, into OUTDIR/<target> for every target. Two kinds of seeds:
#   --static  seeds that hold no key or certificate and no build output: hand-built modules and
#             import programs, ClientHellos captured from a real `openssl s_client`, synthetic
#             PEM/DER. These are committed in tests/fuzz/corpus/<target>/; regenerate them with
#             `bash tests/fuzz/make_corpus.sh --static tests/fuzz/corpus` (the captures differ
#             byte for byte on every run: random and key share).
#   --build   seeds made from what the build generates and must never be committed: the dev
#             certificates and keys ($PORTAL_CERTS, else generated with scripts/gen-certs.sh) and
#             the built apps ($PORTAL_APPS/*.wasm). The fuzz ctests make these at run time.
# Without either flag, both kinds.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
source_dir=$(cd "$here/../.." && pwd)
targets=(fuzz_wasm_reader fuzz_wasm2c_names fuzz_tls_server fuzz_api fuzz_config)
want_static=1
want_build=1
case ${1:-} in
--static) want_build=0 && shift ;;
--build) want_static=0 && shift ;;
esac
if [ $# -eq 2 ]; then
    only=$1
    out=$2
elif [ $# -eq 1 ]; then
    only=
    out=$1
else
    echo "usage: make_corpus.sh [--static|--build] [TARGET] OUTDIR" >&2
    exit 2
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
certs=${PORTAL_CERTS:-}
if [ $want_build = 1 ] && { [ -z "$certs" ] || [ ! -f "$certs/server-ec.pem" ]; }; then
    certs=$tmp/certs
    bash "$source_dir/scripts/gen-certs.sh" "$certs" >/dev/null
fi

# ---- helpers: binary output from hex / integers ----
hex() { printf '%b' "$(printf '%s' "$*" | tr -d ' \n' | sed 's/\(..\)/\\x\1/g')"; }
u8() { printf '%b' "\\x$(printf %02x "$1")"; }
u16le() { u8 $(($1 & 255)); u8 $((($1 >> 8) & 255)); }
fsize() { wc -c <"$1" | tr -d ' '; }
leb() { # unsigned LEB128
    local v=$1
    while [ "$v" -ge 128 ]; do u8 $(((v & 127) | 128)); v=$((v >> 7)); done
    u8 "$v"
}
repeat() { local i; for ((i = 0; i < $2; i++)); do printf '%b' "$1"; done; }

# A real ClientHello: openssl s_client talking to a listener that records what it receives.
capture_client_hello() { # outfile s_client-args...
    local file=$1
    shift
    command -v openssl >/dev/null && command -v python3 >/dev/null || return 1
    local portfile=$tmp/port.$$
    rm -f "$portfile"
    python3 - "$file" "$portfile" <<'EOF' &
import socket, sys
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(1)
s.settimeout(5)
open(sys.argv[2], "w").write(str(s.getsockname()[1]))
try:
    c, _ = s.accept()
    c.settimeout(1)
    data = b""
    try:
        while len(data) < 65536:
            chunk = c.recv(65536)
            if not chunk:
                break
            data += chunk
    except socket.timeout:
        pass
    open(sys.argv[1], "wb").write(data)
except socket.timeout:
    pass
EOF
    local pid=$!
    for _ in $(seq 50); do [ -s "$portfile" ] && break; sleep 0.1; done
    [ -s "$portfile" ] || { wait $pid || true; return 1; }
    timeout 5 openssl s_client -connect "127.0.0.1:$(cat "$portfile")" "$@" </dev/null \
        >/dev/null 2>&1 || true
    wait $pid || true
    [ -s "$file" ]
}

# ---- fuzz_wasm_reader: a hand-built module, the real apps, truncated variants ----
corpus_wasm_reader() {
    local d=$1
    [ $want_static = 1 ] || { wasm_from_apps "$d"; return; }
    # types (:i, ii:I), import portal.apiVersion, one function, memory, exports, code.
    hex 0061736d 01000000 \
        010b 02 6000017f 6002 7f7f 017e \
        0215 01 06 706f7274616c 0a 61706956657273696f6e 00 00 \
        0302 01 00 \
        0503 01 00 01 \
        0722 02 06 6d656d6f7279 02 00 15 706f7274616c436f6e747261637456657273696f6e 00 01 \
        0a06 01 04 00 4101 0b >"$d/minimal.wasm"
    hex 0061736d 01000000 >"$d/header.wasm"
    # One function type of P i32 params and R i64 results around the largest accepted (1000 each);
    # 1023 params once wrote one byte past the reader's 1024-byte buffer.
    local p r
    for pr in 1000:0 1001:0 1022:0 1023:0 1024:0 1025:0 0:1023 1000:1000 1000:1001; do
        p=${pr%:*} r=${pr#*:}
        { repeat '\x60' 1; leb "$p"; repeat '\x7f' "$p"; leb "$r"; repeat '\x7e' "$r"; } >"$tmp/type"
        { hex 0061736d 01000000 01; leb $(($(fsize "$tmp/type") + 1)); u8 1; cat "$tmp/type"; } \
            >"$d/type-$p-params-$r-results.wasm"
    done
    # The comment-closing export name, refused by the reader's name alphabet.
    { hex 0061736d 01000000 0503 01 00 01; names_export_section "x*/ int y; /*"; } >"$d/export-star-slash.wasm"
    [ $want_build = 0 ] || wasm_from_apps "$d"
}
names_export_section() { # NAME: an export section exporting memory 0 as NAME
    local n=${#1}
    u8 7; leb $((n + 4)); u8 1; leb "$n"; printf '%s' "$1"; u8 2; u8 0
}

# ---- fuzz_wasm2c_names: named modules (odd first byte) and whole modules (even) ----
# field TEXT: a u16 little-endian length and the bytes (printf %b escapes).
field() { printf '%b' "$1" >"$tmp/field"; u16le "$(fsize "$tmp/field")"; cat "$tmp/field"; }
names_seed() { # out module field export custom-name custom func-name
    { u8 1; field "$2"; field "$3"; field "$4"; field "$5"; field "$6"; field "$7"; } >"$1"
}
corpus_wasm2c_names() {
    local d=$1
    if [ $want_static = 1 ]; then
        names_seed "$d/honest" portal millis portalAlloc producers 'clang 16' main
        names_seed "$d/constructor" m f \
            "x' */\\n#ifndef P\\n#define P\\nextern int puts(const char *);\\n__attribute__((constructor)) static void p(void) { puts(\"INJECTED\"); }\\n#endif\\n/* '" \
            c '' f
        names_seed "$d/reopen" m f "a' */ int injected; /* export: 'b" c '' f
        names_seed "$d/line-splice" m f 'x */ // \\\nint injected;' c '' f
        names_seed "$d/trigraph" m "x *??/\\n/ int injected; /*" e c '' f
        names_seed "$d/newline" "m\\nint injected;" f e c '' f
        names_seed "$d/cr" m "f\\r" e c '' f
        names_seed "$d/quote" m f "e\"'" c '' f
        names_seed "$d/nul" "m\\0" f e c '' f
        names_seed "$d/utf8" m f 'e\xc3\xa9' c '' f
        names_seed "$d/not-utf8" m f 'e\xff' c '' f
        names_seed "$d/name-255" m f "$(printf 'a%.0s' $(seq 255))" c '' f
        names_seed "$d/name-256" m f "$(printf 'a%.0s' $(seq 256))" c '' f
        names_seed "$d/custom-payload" m f e "*/ x" "*/ int injected; /*" "*/ int injected; /*"
        { u8 0; cat "$source_dir/tests/fuzz/corpus/fuzz_wasm_reader/minimal.wasm"; } >"$d/module-minimal"
    fi
    if [ $want_build = 1 ]; then
        local w n=0
        for w in $(ls -S -r "${PORTAL_APPS:-/nonexistent}"/*.wasm 2>/dev/null); do
            [ "$(fsize "$w")" -le 262144 ] || continue
            { u8 0; cat "$w"; } >"$d/module-$(basename "$w" .wasm)"
            n=$((n + 1))
            [ $n -lt 2 ] || break
        done
    fi
}
wasm_from_apps() {
    local d=$1
    # The two smallest apps (libFuzzer's default -max_len follows the largest seed).
    local n=0 w
    for w in $(ls -S -r "${PORTAL_APPS:-/nonexistent}"/*.wasm 2>/dev/null); do
        [ -f "$w" ] || continue
        [ "$(fsize "$w")" -le 262144 ] || continue
        local b
        b=$(basename "$w" .wasm)
        cp "$w" "$d/app-$b.wasm"
        local len
        len=$(fsize "$w")
        head -c $((len / 2)) "$w" >"$d/app-$b.half"
        head -c 300 "$w" >"$d/app-$b.head300"
        n=$((n + 1))
        [ $n -lt 2 ] || break
    done
}

# ---- fuzz_tls_server: raw flights (ClientHello) and established-mode programs ----
corpus_tls_server() {
    local d=$1
    [ $want_static = 1 ] || return 0
    local ch
    for v in tls1_2 tls1_3; do
        ch=$tmp/ch-$v
        if capture_client_hello "$ch" "-$v" -servername localhost; then
            { u8 0; u16le "$(fsize "$ch")"; cat "$ch"; } >"$d/raw-clienthello-$v"
            { u8 2; u16le "$(fsize "$ch")"; cat "$ch"; } >"$d/raw-clienthello-$v-clientauth"
            # ClientHello split over two flights.
            { u8 0; u16le 5; head -c 5 "$ch"; u16le $(($(fsize "$ch") - 5)); tail -c +6 "$ch"; } \
                >"$d/raw-clienthello-$v-split"
        fi
    done
    # Established mode: op 0 app data, 1 raw record, 2 server send, 3 close (odd len) / FIN.
    { u8 1; u8 0; u16le 5; printf hello; u8 2; u16le 3; printf abc; u8 0; u16le 4; printf ping; } \
        >"$d/est-data"
    { u8 1; u8 1; u16le 8; hex 1703030003 616263; u8 0; u16le 2; printf hi; } >"$d/est-badrecord"
    { u8 1; u8 0; u16le 3; printf bye; u8 3; u16le 1; printf x; u8 2; u16le 4; printf late; } \
        >"$d/est-closenotify"
    { u8 3; u8 0; u16le 6; printf client; u8 3; u16le 0; u8 2; u16le 2; printf ok; } \
        >"$d/est-clientauth-fin"
    { u8 1; u8 1; u16le 7; hex 15030300020100; u8 0; u16le 1; printf z; } >"$d/est-alert"
}

# ---- fuzz_api: import programs (see the op table in fuzz_api.c) ----
corpus_api() {
    local d=$1
    [ $want_static = 1 ] || return 0
    local ch=$tmp/ch-api
    capture_client_hello "$ch" -tls1_2 || hex 16030100050100000100 >"$ch"
    local chlen
    chlen=$(fsize "$ch")
    [ "$chlen" -le 250 ] || { head -c 250 "$ch" >"$ch.cut" && mv "$ch.cut" "$ch" && chlen=250; }
    {
        u8 1; u8 0                       # sockSocket(2, 1, 0)          -> handles[0]
        u8 2; u8 0; u8 0; u8 16; u16le 4096; u8 12  # sockBind(h0, 127.0.0.1:0)
        u8 3; u8 0; u8 8                 # sockListen(h0, 8)
        u8 11; u8 0                      # tlsServerConfigCreate(dev EC) -> handles[1]
        u8 1; u8 0                       # sockSocket                  -> handles[2]
        u8 4; u8 2; u8 0; u8 16; u16le 8192; u8 12   # sockConnect(h2, own listener)
        u8 13; u8 1; u8 0; u8 16; u16le 12288; u8 12 # tlsAccept(h1, h0)
        u8 0; u16le 16384; u8 "$chlen"; cat "$ch"    # ClientHello into memory
        u8 6; u8 2; u8 16; u16le 16384; u8 "$chlen"  # sockSend(h2, ClientHello)
        u8 21                            # event loop service
        u8 13; u8 1; u8 0; u8 16; u16le 12288; u8 12 # tlsAccept again
        u8 9; u8 1; u8 16; u16le 20480; u8 24        # sockPoll over the handles
        u8 7; u8 2; u8 16; u16le 24576; u8 200       # sockRecv(h2): the server's flight
        u8 18; u8 16; u16le 28672; u8 64             # lastErrorMessage
        u8 19; u8 16; u16le 28672; u8 4              # netGetIpv4
        u8 12; u8 1                      # tlsServerConfigFree(h1)
        u8 8; u8 0                       # sockClose(h0)
        u8 8; u8 0                       # again (idempotent / stale handle)
    } >"$d/program-tls-accept"
    {
        u8 1; u8 0
        u8 7; u8 0; u8 255; hex ffffffff 01000000   # out-of-range buffer: skipped (trap)
        u8 6; u8 0; u8 255; hex 00ff0000 00010000   # ends exactly at memory end
        u8 17; u8 255; hex 78563412; u8 16; u16le 0; u8 100   # tlsSessionInfo(bad handle)
        u8 10; u8 16; u16le 0; u8 10; u8 16; u16le 16; u8 10; u8 16; u16le 32; u8 0; u8 1
        u8 18; u8 16; u16le 65530; u8 6
    } >"$d/program-edges"
}

# ---- fuzz_config: [flags][cert len u16][key len u16][cert][key][ca] ----
config_seed() { # out flags cert key [ca]
    local out=$1 flags=$2 cert=$3 key=$4 ca=${5:-/dev/null}
    { u8 "$flags"; u16le "$(fsize "$cert")"; u16le "$(fsize "$key")"; cat "$cert" "$key" "$ca"; } \
        >"$out"
}
# client configs: flags bit 6, then [alpn len u8][alpn] before the buffers (fuzz_config.c)
client_seed() { # out flags cert key alpn [ca]
    local out=$1 flags=$2 cert=$3 key=$4 alpn=$5 ca=${6:-/dev/null}
    { u8 $((flags | 64)); u16le "$(fsize "$cert")"; u16le "$(fsize "$key")"; u8 ${#alpn};
      printf '%s' "$alpn"; cat "$cert" "$key" "$ca"; } >"$out"
}
corpus_config() {
    local d=$1
    [ $want_static = 0 ] || config_synthetic "$d"
    [ $want_build = 0 ] || config_from_certs "$d"
}
# Structurally plausible inputs with no real key in them: PEM armour around junk, truncated DER.
config_synthetic() {
    local d=$1 s=$tmp/synthetic
    mkdir -p "$s"
    printf -- '-----BEGIN CERTIFICATE-----\nMIIBkTCCATegAwIBAgIUZm9vYmFyYmF6\n-----END CERTIFICATE-----\n' \
        >"$s/cert.pem"
    printf -- '-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIAAAAAAAAAAAAAAAAAAAAAAA\n-----END EC PRIVATE KEY-----\n' \
        >"$s/key.pem"
    printf -- '-----BEGIN PRIVATE KEY-----\n!!!!\n-----END PRIVATE KEY-----\n' >"$s/pkcs8.pem"
    hex 3082 01 91 3082 0137 a003 020102 0214 >"$s/cert.der"   # a certificate SEQUENCE, cut short
    hex 3077 020101 0420 >"$s/key.der"                            # an EC key SEQUENCE, cut short
    : >"$s/empty"
    config_seed "$d/pem-junk" 0 "$s/cert.pem" "$s/key.pem"
    config_seed "$d/pem-junk-clientca" 1 "$s/cert.pem" "$s/pkcs8.pem" "$s/cert.pem"
    { cat "$s/cert.pem"; u8 0; } >"$s/cert.pem0"
    { cat "$s/key.pem"; u8 0; } >"$s/key.pem0"
    config_seed "$d/pem-nul" 0 "$s/cert.pem0" "$s/key.pem0"
    config_seed "$d/der-short" 2 "$s/cert.der" "$s/key.der"
    config_seed "$d/no-key" 0 "$s/cert.pem" "$s/empty"
    config_seed "$d/unknown-flag" 128 "$s/empty" "$s/empty"
    client_seed "$d/client-junk-ca" 0 "$s/empty" "$s/empty" "h2,http/1.1" "$s/cert.pem"
    client_seed "$d/client-bad-alpn" 1 "$s/empty" "$s/empty" ",h2,,x" "$s/empty"
    client_seed "$d/client-default-store" 2 "$s/empty" "$s/empty" "" "$s/empty"
    client_seed "$d/client-cert-junk" 1 "$s/cert.pem" "$s/key.pem" "http/1.1" "$s/empty"
}
config_from_certs() {
    local d=$1 c=$certs
    config_seed "$d/ec" 0 "$c/server-ec.pem" "$c/server-ec.key"
    config_seed "$d/rsa" 2 "$c/server-rsa.pem" "$c/server-rsa.key"
    config_seed "$d/ec-clientca" 1 "$c/server-ec.pem" "$c/server-ec.key" "$c/ca.pem"
    config_seed "$d/mismatch" 0 "$c/server-ec.pem" "$c/server-rsa.key"
    config_seed "$d/ec-unknown-flag" 128 "$c/server-ec.pem" "$c/server-ec.key"
    if command -v openssl >/dev/null; then
        openssl x509 -in "$c/server-ec.pem" -outform DER -out "$tmp/ec.der" 2>/dev/null &&
            openssl pkey -in "$c/server-ec.key" -outform DER -out "$tmp/ec.key.der" 2>/dev/null &&
            config_seed "$d/ec-der" 0 "$tmp/ec.der" "$tmp/ec.key.der"
    fi
    cat "$c/server-ec.pem" "$c/ca.pem" >"$tmp/chain.pem"
    config_seed "$d/ec-chain" 0 "$tmp/chain.pem" "$c/server-ec.key"
    client_seed "$d/client-ca" 0 /dev/null /dev/null "h2,http/1.1" "$c/ca.pem"
    client_seed "$d/client-mtls" 2 "$c/client.pem" "$c/client.key" "" "$c/ca.pem"
    client_seed "$d/client-mismatch" 0 "$c/client.pem" "$c/server-ec.key" "x" "$c/ca.pem"
}

for t in "${targets[@]}"; do
    [ -z "$only" ] || [ "$only" = "$t" ] || continue
    if [ -n "$only" ]; then dir=$out; else dir=$out/$t; fi
    mkdir -p "$dir"
    case $t in
    fuzz_wasm_reader) corpus_wasm_reader "$dir" ;;
    fuzz_wasm2c_names) corpus_wasm2c_names "$dir" ;;
    fuzz_tls_server) corpus_tls_server "$dir" ;;
    fuzz_api) corpus_api "$dir" ;;
    fuzz_config) corpus_config "$dir" ;;
    esac
    echo "make_corpus: $t: $(find "$dir" -type f | wc -l) seeds in $dir"
done
if [ -n "$only" ] && ! printf '%s\n' "${targets[@]}" | grep -qx "$only"; then
    echo "make_corpus: unknown target $only" >&2
    exit 2
fi
