#!/usr/bin/env bash
# count_instructions.sh BUILD_DIR - the instruction section of docs/benchmarks.md (markdown on stdout,
# progress on stderr), called by bench/run.sh. Counts the server's instructions under callgrind for
# exact numbers of operations (the client runs natively and checks its counts): three runs at N, N+d,
# N+2d operations give two independent estimates of the cost of d operations with start-up and
# shutdown cancelled out; they must agree to 1%. Servers: ours (portal-host + the wasm echo app),
# raw (native mbedTLS echo server) and raw built -m32 -Os against Debian's i386 mbedTLS (the ILP32
# projection to the device). Also: where a resumed handshake's instructions go (per object, ours next
# to raw) and the heap a handshake needs (dhat), with ESP-IDF's default buffer sizes.
set -uo pipefail
export LC_ALL=C # sort and join agree on order
B=$(cd "${1:?usage: count_instructions.sh BUILD_DIR}" && pwd)
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CLIENT=$B/bench/bench_client
HOST=$B/portal-host
APP=$B/apps-wasm/tls-echo-server.wasm
CERTS=$B/certs
export PORTAL_CACHE_DIR=${PORTAL_CACHE_DIR:-$B/wasm-cache}
WORK=$(mktemp -d)
trap 'jobs -p | xargs -r kill -9 2>/dev/null; rm -rf "$WORK"' EXIT
SERVERS=(raw ours)
declare -A BIN=([raw]=$B/bench/mbedtls_echo_server [raw32]=$WORK/mbedtls_echo_server32)
IDLE_SESSIONS=4

command -v valgrind > /dev/null || { echo "Instruction counts: not measured (valgrind missing)."; exit 0; }

# The ILP32 build: the same server source, -m32 -Os, Debian's i386 mbedTLS (multiarch).
RAW32_NOTE=""
if ${CC:-cc} -m32 -Os -std=c11 -D_GNU_SOURCE -o "${BIN[raw32]}" "$ROOT/bench/mbedtls_echo_server.c" \
    -lmbedtls -lmbedx509 -lmbedcrypto 2> "$WORK/raw32.err"; then
    SERVERS+=(raw32)
else
    RAW32_NOTE="The -m32 build failed (is \`scripts/setup.sh bench\` done? it installs gcc-multilib and libmbedtls-dev:i386): $(head -1 "$WORK/raw32.err")"
fi

# serve TOOL OUTFILE SERVER CERT PORT : starts SERVER under valgrind TOOL, waits until it listens.
serve() {
    local tool=$1 out=$2 s=$3 cert=$4 port=$5 log=$WORK/log.$port
    local opt=(--tool="$tool")
    [ "$tool" = callgrind ] && opt+=(--callgrind-out-file="$out") || opt+=(--dhat-out-file="$out")
    case $s in
    ours) valgrind "${opt[@]}" "$HOST" run "$APP" -- --port "$port" $([ "$cert" = rsa ] && echo --rsa) \
              > /dev/null 2> "$log" & ;;
    *) valgrind "${opt[@]}" "${BIN[$s]}" "$port" "$CERTS/server-$cert.pem" "$CERTS/server-$cert.key" \
              2> "$log" & ;;
    esac
    SPID=$!
    for _ in $(seq 600); do grep -qE 'listening on port|try: openssl' "$log" 2>/dev/null && return 0; sleep 0.05; done
    return 1
}

# one SERVER MEASURE N PORT : instructions of the server for N operations -> $WORK/ir.SERVER.MEASURE.N
one() {
    local s=$1 m=$2 n=$3 port=$4 cg=$WORK/cg.$1.$2.$3 cert=ec rc=0
    [ "$m" = full_rsa ] && cert=rsa
    serve callgrind "$cg" "$s" "$cert" "$port" || { echo "count: $s did not start" >&2; return; }
    case $m in
    full_*) timeout 600 "$CLIENT" handshakes 127.0.0.1 "$port" "$n" 1 > /dev/null; rc=$? ;;
    resumed) timeout 600 "$CLIENT" handshakes 127.0.0.1 "$port" "$n" 1 resume > /dev/null; rc=$? ;;
    mib) timeout 600 "$CLIENT" bulk 127.0.0.1 "$port" "$n" 1 > /dev/null; rc=$? ;;
    idle) timeout 600 "$CLIENT" idle 127.0.0.1 "$port" $IDLE_SESSIONS "$n" > /dev/null; rc=$? ;;
    esac
    kill -TERM "$SPID"; wait "$SPID"
    if [ $rc -eq 0 ]; then sed -n 's/^summary: //p' "$cg" > "$WORK/ir.$s.$m.$n"
    else echo "count: $s $m $n: the client failed (exit $rc)" >&2; fi
}

# The runs: N, N+d, N+2d of each measure, two at a time (instruction counts do not depend on load).
declare -A START=([full_ec]=2 [full_rsa]=2 [resumed]=10 [mib]=1 [idle]=1)
declare -A STEP=([full_ec]=5 [full_rsa]=4 [resumed]=300 [mib]=1 [idle]=2)
MEASURES=(full_ec full_rsa resumed mib idle)
port=25100
for s in "${SERVERS[@]}"; do
    for m in "${MEASURES[@]}"; do
        for k in 0 1 2; do
            port=$((port + 1))
            while [ "$(jobs -rp | wc -l)" -ge 2 ]; do wait -n; done
            one "$s" "$m" $((START[$m] + k * STEP[$m])) $port &
        done
    done
done
wait
echo "count: callgrind runs done" >&2

# per-operation cost: E1, E2 (the two estimates) and their mean; "" when a run is missing
declare -A PER E1 E2
for s in "${SERVERS[@]}"; do
    for m in "${MEASURES[@]}"; do
        n0=${START[$m]}; d=${STEP[$m]}
        read -r a b c < <(cat "$WORK/ir.$s.$m.$n0" "$WORK/ir.$s.$m.$((n0 + d))" "$WORK/ir.$s.$m.$((n0 + 2 * d))" 2>/dev/null | tr '\n' ' ')
        [ -n "${c:-}" ] || continue
        div=$d; [ "$m" = idle ] && div=$((d * IDLE_SESSIONS)) # per idle session per second
        E1[$s,$m]=$(( (b - a) / div )); E2[$s,$m]=$(( (c - b) / div )); PER[$s,$m]=$(( (c - a) / (2 * div) ))
    done
done

fmt() { [ -n "${1:-}" ] && sed ':a;s/\([0-9]\)\([0-9]\{3\}\)\($\|,\)/\1,\2\3/;ta' <<< "$1" || echo "–"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (a == "" || b == "" || b == 0) print "–"; else printf "%.3f", a / b }'; }
spread() { # e1 e2 -> relative difference in %
    awk -v a="${1:-}" -v b="${2:-}" 'BEGIN{ if (a == "" || b == "") print "–"; else { m = (a + b) / 2; d = a - b; if (d < 0) d = -d; if (m < 0) m = -m; r = 100 * d / m
        printf "%.2f%%%s", r, (r > 1 ? " (over 1%)" : "") } }'
}
declare -A MNAME=([full_ec]="full handshake, ECDSA P-256" [full_rsa]="full handshake, RSA-2048"
    [resumed]="resumed handshake (ticket)" [mib]="1 MiB echoed (one stream)"
    [idle]="one idle session for one second")
declare -A MOPS=([full_ec]="handshakes" [full_rsa]="handshakes" [resumed]="resumed handshakes"
    [mib]="MiB" [idle]="s with $IDLE_SESSIONS sessions")

echo "## Instructions (callgrind; exact, machine-independent: what projects to the device)"
echo
echo "Server instructions per operation, counted by \`valgrind --tool=callgrind\` (valgrind's own work"
echo "is not counted) while the native client did exactly N, N+d and N+2d operations (one thread; each"
echo "run checked by the client): per operation = (I(N+2d) − I(N)) / 2d, so start-up and shutdown cancel"
echo "out. The two independent estimates (I(N+d) − I(N)) / d and (I(N+2d) − I(N+d)) / d must agree:"
echo "their difference is the \"repeatability\" column. Handshakes include one 22-byte echo each."
echo
echo "| operation | runs at N, N+d, N+2d | raw | ours | ours / raw | repeatability raw / ours |"
echo "|---|---|---|---|---|---|"
for m in "${MEASURES[@]}"; do
    n0=${START[$m]}; d=${STEP[$m]}
    if [ "$m" = idle ]; then # ~0: the two estimates themselves say how close to 0 it is
        rep="$(fmt "${E1[raw,$m]:-}"), $(fmt "${E2[raw,$m]:-}") / $(fmt "${E1[ours,$m]:-}"), $(fmt "${E2[ours,$m]:-}") (the estimates)"
    else rep="$(spread "${E1[raw,$m]:-}" "${E2[raw,$m]:-}") / $(spread "${E1[ours,$m]:-}" "${E2[ours,$m]:-}")"; fi
    r=$(ratio "${PER[ours,$m]:-}" "${PER[raw,$m]:-}"); [ "$m" = idle ] && r="– (both ~0)"
    echo "| ${MNAME[$m]} | $n0, $((n0 + d)), $((n0 + 2 * d)) ${MOPS[$m]} | $(fmt "${PER[raw,$m]:-}") | $(fmt "${PER[ours,$m]:-}") | $r | $rep |"
done
echo
echo "What varies between runs: how often a server's event loop wakes up per operation (timing: more"
echo "under load, and ours wakes its scheduler too), and the random values in ECDSA signing and RSA"
echo "blinding."
echo
echo "An idle session costs nothing between events: per session per second the count is within the"
echo "noise of the handshakes that opened the $IDLE_SESSIONS sessions (both servers sleep in \`poll()\` with no timer)."


# ---- where a resumed handshake's instructions go, per object, ours next to raw ----
objects() { # callgrind file -> "object count" per object (self cost)
    callgrind_annotate --threshold=100 --inclusive=no "$1" 2>/dev/null |
        awk '/^ *[0-9][0-9,]* .*\[.*\]$/ { n = $1; gsub(",", "", n); o = $NF; gsub(/[][]/, "", o); sub(".*/", "", o)
             if (o ~ /^libmbedcrypto/) o = "mbedTLS crypto (libmbedcrypto)"; else if (o ~ /^libmbedtls/) o = "mbedTLS TLS (libmbedtls)"
             else if (o ~ /^libmbedx509/) o = "mbedTLS X.509 (libmbedx509)"; else if (o ~ /^libc[.-]/) o = "C library (libc)"
             else if (o == "portal-host") o = "host layer (portal-host)"; else if (o ~ /^mbedtls_echo_server/) o = "raw server loop"
             else if (o ~ /\.so$/ && o !~ /^lib/) o = "the app (wasm2c, compiled)"; s[o] += n }
             END { for (o in s) print s[o] "\t" o }'
}
functions() { # callgrind file -> "function count" (self cost)
    callgrind_annotate --threshold=100 --inclusive=no "$1" 2>/dev/null |
        awk '/^ *[0-9][0-9,]* .*\[.*\]$/ { n = $1; gsub(",", "", n); f = $0; sub(/^.*%\) +/, "", f); sub(/ \[.*$/, "", f)
             sub(/^.*:/, "", f); s[f] += n } END { for (f in s) print s[f] "\t" f }'
}
what_is() { # function name -> which code of ours it is (a key of WHAT below)
    case $1 in
    w2c_printf_core|w2c___fwritex*|w2c_memchr*|w2c_vsnprintf*|w2c_fmt_*|w2c_pad*|w2c_out*|w2c_strlen*|w2c_snprintf*|w2c_memcpy*)
        echo log-app ;;
    __vfprintf_internal|_IO_*|__strchrnul*|*fwrite*|__GI___libc_write|__write|portal_log*) echo log-host ;;
    portal_handles_each) echo scan ;;
    w2c_*) echo app ;;
    portal_*|plan_entries|*glue*|tls_*|rt_*|run_*) echo host ;;
    mbedtls_*|0x*) echo mbedtls ;;
    *) echo other ;;
    esac
}
declare -A WHAT=(
    [log-app]="the app's two log lines per connection, formatted by wasi-libc inside the app: \`pp_logf\` in \`accept_clients\` (\"client … connected (TLSv1.2, …, resumed)\") and in \`close_client\` (\"client … closed\"), apps/tls-echo-server/main.c"
    [log-host]="the host writing those lines to stderr (\`portal_log\`, host/core/app.c, and libc's stdio)"
    [scan]="host/tls/tls_session.c \`portal_tls_poll_fill\` and \`portal_tls_poll_service\`: each walks every handle slot (max sockets + TLS configs + TLS sessions: 136 with the defaults) with \`portal_handles_each\` on every sockPoll"
    [app]="the rest of the app: its event loop (\`serve\`, \`poll_and_serve\`, \`serve_client\`) and wasi-libc"
    [host]="the rest of the host: sockPoll (host/socket/poll.c), the microtask scheduler (host/runtime/microtask.c, run.c), the TLS session layer (host/tls)"
    [mbedtls]="mbedTLS itself (the same work on both sides: the noise of the difference)"
    [other]="other (libc, loader)")
per_resumed() { # kind server -> "count-per-resumed-handshake<TAB>name" lines
    local hi=$WORK/cg.$2.resumed.$((START[resumed] + 2 * STEP[resumed])) lo=$WORK/cg.$2.resumed.${START[resumed]}
    [ -f "$hi" ] && [ -f "$lo" ] || return 0
    join -t $'\t' -a1 -a2 -e 0 -o 0,1.1,2.1 -1 2 -2 2 <($1 "$hi" | sort -t $'\t' -k2,2) <($1 "$lo" | sort -t $'\t' -k2,2) |
        awk -F'\t' -v d=$((2 * STEP[resumed])) '{ printf "%d\t%s\n", ($2 - $3) / d, $1 }'
}
if [ -n "${PER[raw,resumed]:-}" ] && [ -n "${PER[ours,resumed]:-}" ]; then
    echo
    echo "### Where a resumed handshake's instructions go"
    echo
    echo "Per resumed handshake (with its echo), by object, from the same runs (self cost, difference of"
    echo "the N+2d and N runs):"
    echo
    echo "| object | raw | ours | ours − raw |"
    echo "|---|---|---|---|"
    join -t $'\t' -a1 -a2 -e 0 -o 0,1.1,2.1 -1 2 -2 2 <(per_resumed objects raw | sort -t $'\t' -k2,2) \
        <(per_resumed objects ours | sort -t $'\t' -k2,2) |
        awk -F'\t' '{ d = $3 - $2; a = d < 0 ? -d : d; if ($2 > 2000 || $3 > 2000) printf "%d\t%s\t%d\t%d\t%d\n", a, $1, $2, $3, d }' |
        sort -rn | while IFS=$'\t' read -r _ o r u d; do echo "| $o | $(fmt "$r") | $(fmt "$u") | $(fmt "$d") |"; done
    echo
    echo "The functions whose cost differs most between the two (per resumed handshake), and the code"
    echo "they run for:"
    echo
    echo "| function | raw | ours | ours − raw | what it is |"
    echo "|---|---|---|---|---|"
    join -t $'\t' -a1 -a2 -e 0 -o 0,1.1,2.1 -1 2 -2 2 <(per_resumed functions raw | sort -t $'\t' -k2,2) \
        <(per_resumed functions ours | sort -t $'\t' -k2,2) |
        awk -F'\t' '{ d = $3 - $2; a = d < 0 ? -d : d; printf "%d\t%s\t%d\t%d\t%d\n", a, $1, $2, $3, d }' |
        sort -rn > "$WORK/fdiff"
    head -12 "$WORK/fdiff" | while IFS=$'\t' read -r _ f r o d; do
        echo "| \`$f\` | $(fmt "$r") | $(fmt "$o") | $(fmt "$d") | $(what_is "$f") |"
    done
    echo
    total=$((PER[ours,resumed] - PER[raw,resumed]))
    echo "All of ours − raw per resumed handshake, $(fmt $total) instructions ($(awk -v t=$total -v r="${PER[raw,resumed]}" 'BEGIN{printf "%.1f", 100 * t / r}')% of raw), by the code it"
    echo "runs for (every function whose difference is over 50 instructions):"
    echo
    echo "| code | instructions per resumed handshake | what it is |"
    echo "|---|---|---|"
    declare -A CAT=()
    while IFS=$'\t' read -r a f r o d; do
        [ "$a" -gt 50 ] || break
        k=$(what_is "$f"); CAT[$k]=$(( ${CAT[$k]:-0} + d ))
    done < "$WORK/fdiff"
    for k in log-app log-host scan app host mbedtls other; do
        [ -n "${CAT[$k]:-}" ] && echo "| $k | $(fmt "${CAT[$k]}") | ${WHAT[$k]} |"
    done
fi

# ---- heap per handshake (dhat): the i386 build, peak with one handshake minus peak with none ----
heap_peak() { # server clients-handshakes port -> bytes at the heap's global maximum
    local s=$1 n=$2 port=$3
    serve dhat "$WORK/dhat.$s.$n" "$s" ec "$port" || return 0
    [ "$n" -gt 0 ] && timeout 120 "$CLIENT" handshakes 127.0.0.1 "$port" "$n" 1 > /dev/null
    kill -TERM "$SPID"; wait "$SPID"
    sed -n 's/.*At t-gmax: *\([0-9,]*\) bytes.*/\1/p' "$WORK/log.$port" | tr -d ,
}
HEAP_S=raw32; [[ " ${SERVERS[*]} " == *" raw32 "* ]] || HEAP_S=raw
h0=$(heap_peak $HEAP_S 0 25201); h1=$(heap_peak $HEAP_S 1 25202)

# ---- the device projection: the ILP32 (-m32 -Os) counts, at 240 MHz ----
IPC=1
echo
echo "## Device projection (ILP32, 240 MHz)"
echo
if [ -n "${PER[raw32,full_ec]:-}" ]; then
    echo "The raw server built \`-m32 -Os\` and linked against Debian's i386 mbedTLS $(dpkg-query -W -f='${Version}' libmbedtls-dev:i386 2>/dev/null)"
    echo "(multiarch; that library is Debian's own -O2 build for i686, with its x86 assembly for bignums, not"
    echo "-Os: the server's own code is a few hundred lines, the library is almost all of the count). ours"
    echo "cannot be built for i386 here (wabt's wasm2c runtime has no i386 package), so \"ours, projected\" is"
    echo "the i386 raw count times the ours/raw ratio measured above. Time = instructions / (240 MHz ×"
    echo "$IPC instruction per cycle): an optimistic in-order core with no cache or PSRAM stalls and without"
    echo "the ESP32's AES/SHA/bignum accelerators, x86 instructions counted one for one; read it as a scale,"
    echo "not a promise."
    echo
    echo "| operation | raw, amd64 | raw, i386 -Os | ours, projected | ours at 240 MHz |"
    echo "|---|---|---|---|---|"
    for m in full_ec full_rsa resumed mib; do
        proj=$(awk -v r32="${PER[raw32,$m]:-}" -v o="${PER[ours,$m]:-}" -v r="${PER[raw,$m]:-}" 'BEGIN{ if (r32 == "" || o == "" || r == 0) print ""; else printf "%d", r32 * o / r }')
        t=$(awk -v i="$proj" -v ipc=$IPC -v m=$m 'BEGIN{ if (i == "") { print "–"; exit } s = i / (240e6 * ipc)
            if (m == "mib") printf "%.0f ms per MiB (%.1f MB/s echoed)", s * 1e3, 1.048576 / s
            else printf "%.0f ms per handshake (%.1f/s on one core)", s * 1e3, 1 / s }')
        echo "| ${MNAME[$m]} | $(fmt "${PER[raw,$m]:-}") | $(fmt "${PER[raw32,$m]:-}") | $(fmt "$proj") | $t |"
    done
else
    echo "Not measured: ${RAW32_NOTE:-the i386 runs failed}."
fi
echo
if [ -n "${h0:-}" ] && [ -n "${h1:-}" ]; then
    hs=$((h1 - h0))
    echo "RAM for one full ECDSA handshake, measured with \`valgrind --tool=dhat\` on the $([ $HEAP_S = raw32 ] && echo i386 || echo amd64) raw server: the heap's"
    echo "peak with one handshake minus its peak with none = $(fmt $hs) bytes, with Debian's mbedTLS record"
    echo "buffers (16 KiB in, 16 KiB out). With ESP-IDF's defaults (\`CONFIG_MBEDTLS_SSL_IN_CONTENT_LEN\` 16384,"
    echo "\`CONFIG_MBEDTLS_SSL_OUT_CONTENT_LEN\` 4096) the out buffer is 12,288 bytes smaller: about"
    echo "**$(fmt $((hs - 12288))) bytes ($(( (hs - 12288 + 512) / 1024 )) KiB) per handshake in progress** on the device, plus the host"
    echo "layer's own per-session state (the mem column above: ours − raw, in RSS). After the handshake the"
    echo "handshake parameters are freed and a session keeps its buffers and context."
fi
