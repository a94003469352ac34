#!/usr/bin/env bash
# run.sh BUILD_DIR [--quick] - `make bench`: measures our TLS echo app under portal-host against a
# minimal native mbedTLS echo server (the ceiling), Node.js, `openssl s_server` and socat, same
# machine, same certificate (ECDSA P-256, then RSA-2048); counts instructions with callgrind;
# writes docs/benchmarks.md and docs/benchmarks.png. Bounded: ~6 minutes (--quick: ~1 minute).
set -uo pipefail
B=$(cd "${1:?usage: run.sh BUILD_DIR [--quick]}" && pwd)
QUICK=${2:-}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CLIENT=$B/bench/bench_client
RAW=$B/bench/mbedtls_echo_server
HOST=$B/portal-host
APP=$B/apps-wasm/tls-echo-server.wasm
CERTS=$B/certs
OUT=${BENCH_OUT:-$ROOT/docs}
WORK=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill -9 "$p" 2>/dev/null; done; rm -rf "$WORK"; }
trap cleanup EXIT

if [ "$QUICK" = --quick ]; then HS=1; BULK=4; BULK16=1; ROUNDS=5; IDLE=50; CG=0
else HS=5; BULK=64; BULK16=8; ROUNDS=100; IDLE=100; CG=1; fi
SERVERS=(ours raw node s_server socat)
PORT=24100

wait_port() { for _ in $(seq 200); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.05; done; return 1; }
rss_kb() { awk '/VmRSS/{print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

start_server() { # name cert key port
    local name=$1 cert=$2 key=$3 port=$4 rsa=""
    [[ $cert == *rsa* ]] && rsa=--rsa
    case $name in
    ours) "$HOST" run --max-tls-sessions 400 --max-pending-handshakes 64 "$APP" -- --port "$port" \
              --max-clients 400 $rsa > /dev/null 2> "$WORK/$name.log" & ;;
    raw) "$RAW" "$port" "$cert" "$key" 2> "$WORK/$name.log" & ;;
    node) node "$ROOT/bench/node_echo.js" "$port" "$cert" "$key" 2> "$WORK/$name.log" & ;;
    s_server) # stdin: a FIFO this script holds open, so s_server never sees end of input
              [ -p "$WORK/s_server.in" ] || { mkfifo "$WORK/s_server.in"; exec 7<> "$WORK/s_server.in"; }
              openssl s_server -accept "$port" -cert "$cert" -key "$key" -quiet \
              < "$WORK/s_server.in" > /dev/null 2> "$WORK/$name.log" & ;;
    socat) socat "openssl-listen:$port,reuseaddr,fork,cert=$cert,key=$key,verify=0" exec:cat \
              2> "$WORK/$name.log" & ;;
    esac
    SRV=$!
    PIDS+=("$SRV")
    wait_port "$port" || { echo "bench: $name did not start" >&2; cat "$WORK/$name.log" >&2; }
}
stop_server() { kill -TERM "$SRV" 2>/dev/null; sleep 0.2; kill -9 "$SRV" 2>/dev/null; wait "$SRV" 2>/dev/null; }
field() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p" | tail -1; }
run_client() { timeout 120 "$CLIENT" "$@" 2>> "$WORK/client.err"; }

declare -A R
measure() { # label cert key
    local label=$1 cert=$2 key=$3
    for s in "${SERVERS[@]}"; do
        PORT=$((PORT + 1))
        start_server "$s" "$cert" "$key" "$PORT"
        local probe=""; [ "$s" = s_server ] && probe=noecho
        # memory first, on a fresh server: later phases leave freed memory in the allocator
        if [ "$s" != socat ] && [ "$s" != s_server ]; then
            local before after
            before=$(rss_kb "$SRV")
            timeout 60 "$CLIENT" idle 127.0.0.1 $PORT $IDLE 3 > "$WORK/idle.out" 2>&1 &
            local idle=$!
            for _ in $(seq 100); do grep -q RESULT "$WORK/idle.out" && break; sleep 0.1; done
            sleep 0.5
            after=$(rss_kb "$SRV")
            wait $idle
            R[$label,$s,mem]=$(awk -v a="$after" -v b="$before" -v n="$IDLE" 'BEGIN{printf "%.1f", (a-b)/n}')
        fi
        R[$label,$s,full]=$(run_client handshakes 127.0.0.1 $PORT $HS 2 $probe | field rate)
        R[$label,$s,resumed]=$(run_client handshakes 127.0.0.1 $PORT $HS 2 resume $probe | field rate)
        if [ "$s" != s_server ]; then
            R[$label,$s,bulk1]=$(run_client bulk 127.0.0.1 $PORT $BULK 1 | field mbps)
            R[$label,$s,bulk16]=$(run_client bulk 127.0.0.1 $PORT $BULK16 16 | field mbps)
            local rtt; rtt=$(run_client rtt 127.0.0.1 $PORT 64 $ROUNDS)
            R[$label,$s,p50]=$(echo "$rtt" | field p50_ms)
            R[$label,$s,p99]=$(echo "$rtt" | field p99_ms)
        fi
        stop_server
        echo "bench: $label $s: full ${R[$label,$s,full]:-?}/s resumed ${R[$label,$s,resumed]:-?}/s bulk ${R[$label,$s,bulk1]:--} MB/s x16 ${R[$label,$s,bulk16]:--} MB/s rtt p50/p99 ${R[$label,$s,p50]:--}/${R[$label,$s,p99]:--} ms mem ${R[$label,$s,mem]:--} KiB/session" >&2
    done
}

measure ec "$CERTS/server-ec.pem" "$CERTS/server-ec.key"
measure rsa "$CERTS/server-rsa.pem" "$CERTS/server-rsa.key"

# ---- instructions (callgrind): per full handshake and per MiB echoed, ours vs raw ----
declare -A IR
callgrind_total() { # outfile
    callgrind_annotate "$1" 2>/dev/null | awk '/PROGRAM TOTALS/{gsub(",","",$1); print $1; exit}'
}
count_ir() { # name what n -> total instructions for n handshakes or n MiB
    local name=$1 what=$2 n=$3
    local cg=$WORK/cg.$name.$what.$n
    PORT=$((PORT + 1))
    case $name in
    ours) valgrind --tool=callgrind --callgrind-out-file="$cg" "$HOST" run "$APP" -- --port $PORT \
              > /dev/null 2>&1 & ;;
    raw) valgrind --tool=callgrind --callgrind-out-file="$cg" "$RAW" $PORT "$CERTS/server-ec.pem" \
              "$CERTS/server-ec.key" > /dev/null 2>&1 & ;;
    esac
    local pid=$!
    PIDS+=("$pid")
    wait_port $PORT || true
    sleep 1
    if [ "$what" = hs ]; then
        for _ in $(seq "$n"); do timeout 60 "$CLIENT" handshakes 127.0.0.1 $PORT 0.001 1 > /dev/null 2>&1; done
    else
        timeout 300 "$CLIENT" bulk 127.0.0.1 $PORT "$n" 1 > /dev/null 2>&1
    fi
    kill -TERM "$pid"; wait "$pid" 2>/dev/null
    callgrind_total "$cg"
}
if [ "$CG" = 1 ] && command -v valgrind > /dev/null; then
    for s in raw ours; do
        a=$(count_ir $s hs 5); b=$(count_ir $s hs 25)
        [ -n "$a" ] && [ -n "$b" ] && IR[$s,hs]=$(( (b - a) / 20 ))
        a=$(count_ir $s mib 1); b=$(count_ir $s mib 5)
        [ -n "$a" ] && [ -n "$b" ] && IR[$s,mib]=$(( (b - a) / 4 ))
        echo "bench: callgrind $s: ${IR[$s,hs]:-?} instructions/handshake, ${IR[$s,mib]:-?} instructions/MiB" >&2
    done
fi

# ---- single-core crypto ceiling ----
speed=$(openssl speed -seconds 1 ecdsap256 ecdhp256 2>/dev/null)
SIGN=$(echo "$speed" | awk '/256 bits ecdsa/{print $(NF-1); exit}')
ECDH=$(echo "$speed" | awk '/256 bits ecdh/{print $NF; exit}')
GCM=$(openssl speed -seconds 1 -evp aes-128-gcm 2>/dev/null | awk '/^AES-128-GCM|^aes-128-gcm/{print $(NF)}' | tr -d k)

# ---- report ----
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (a == "" || b == "" || b == 0) print "–"; else printf "%.2f", a / b }'; }
md=$OUT/benchmarks.md
{
    echo "# Benchmarks"
    echo
    echo "Produced by \`make bench\` (bench/run.sh) on $(date -u '+%Y-%m-%d %H:%M UTC'). Machine: $(nproc) cores,"
    echo "$(awk -F: '/model name/{print $2; exit}' /proc/cpuinfo | sed 's/^ *//'), Linux $(uname -r), $(free -g | awk '/Mem/{print $2}') GiB."
    echo "Client and server share the machine (loopback); the client is \`bench/bench_client\` (mbedTLS, threads),"
    echo "which verifies every echoed byte. Versions: mbedTLS $(dpkg-query -W -f='${Version}' libmbedtls-dev 2>/dev/null),"
    echo "Node $(node -v 2>/dev/null), $(openssl version), $(socat -V 2>/dev/null | awk '/socat version/{print $1, $2, $3; exit}')."
    [ "$QUICK" = --quick ] && echo && echo "**Quick run** (--quick): short durations, figures are rough."
    echo
    echo "Servers: **ours** = apps/tls-echo-server (C, wasm) under portal-host; **raw** = bench/mbedtls_echo_server"
    echo "(native mbedTLS, same settings, no WASM, no host layer: the ceiling); **node** = Node.js"
    echo "\`tls.createServer\` piping each socket to itself (TLS 1.2 forced); **s_server** = \`openssl s_server\`"
    echo "(serves one client at a time and does not echo: handshakes only); **socat** = \`socat openssl-listen,fork\`"
    echo "to \`cat\` (a process per connection)."
    echo
    echo "Columns: full/resumed = handshakes per second with one 22-byte echo each (2 client threads; resumed"
    echo "= session ticket); bulk = echo throughput in MB/s with 1 stream ($BULK MiB) and 16 streams ($BULK16 MiB"
    echo "each); rtt = 64-byte echo round trip with 64 active clients ($ROUNDS rounds); mem = server RSS growth per"
    echo "idle session ($IDLE sessions)."
    for label in ec rsa; do
        echo
        [ $label = ec ] && echo "## ECDSA P-256 certificate" || echo "## RSA-2048 certificate"
        echo
        echo "| server | full hs/s | resumed hs/s | bulk 1× MB/s | bulk 16× MB/s | rtt p50 ms | rtt p99 ms | mem KiB/session | full vs raw | bulk 1× vs raw | full vs node | bulk 1× vs node |"
        echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
        for s in "${SERVERS[@]}"; do
            echo "| $s | ${R[$label,$s,full]:-–} | ${R[$label,$s,resumed]:-–} | ${R[$label,$s,bulk1]:-–} | ${R[$label,$s,bulk16]:-–} | ${R[$label,$s,p50]:-–} | ${R[$label,$s,p99]:-–} | ${R[$label,$s,mem]:-–} | $(ratio "${R[$label,$s,full]:-}" "${R[$label,raw,full]:-}") | $(ratio "${R[$label,$s,bulk1]:-}" "${R[$label,raw,bulk1]:-}") | $(ratio "${R[$label,$s,full]:-}" "${R[$label,node,full]:-}") | $(ratio "${R[$label,$s,bulk1]:-}" "${R[$label,node,bulk1]:-}") |"
        done
    done
    echo
    echo "## Instructions (callgrind, ECDSA; machine-independent, what projects to the device)"
    echo
    if [ -n "${IR[raw,hs]:-}" ]; then
        echo "| server | instructions per full handshake | instructions per MiB echoed |"
        echo "|---|---|---|"
        echo "| raw | ${IR[raw,hs]:-–} | ${IR[raw,mib]:-–} |"
        echo "| ours | ${IR[ours,hs]:-–} | ${IR[ours,mib]:-–} |"
        echo "| ours / raw | $(ratio "${IR[ours,hs]:-}" "${IR[raw,hs]:-}") | $(ratio "${IR[ours,mib]:-}" "${IR[raw,mib]:-}") |"
        echo
        echo "Measured as the difference between 25 and 5 handshakes (5 and 1 MiB), so start-up cancels out."
    else
        echo "Not measured in this run (--quick, or valgrind missing)."
    fi
    echo
    echo "## Single-core crypto ceiling (\`openssl speed\`, OpenSSL, not mbedTLS)"
    echo
    echo "ECDSA P-256 sign: ${SIGN:-?}/s; ECDH P-256: ${ECDH:-?}/s; AES-128-GCM (16 KiB blocks): ${GCM:-?} kB/s."
    echo
    echo "![handshakes and throughput](benchmarks.png)"
} > "$md"

# ---- chart ----
if command -v gnuplot > /dev/null; then
    dat=$WORK/chart.dat
    for s in "${SERVERS[@]}"; do
        echo "$s ${R[ec,$s,full]:-0} ${R[ec,$s,resumed]:-0} ${R[ec,$s,bulk1]:-0} ${R[ec,$s,bulk16]:-0}"
    done > "$dat"
    gnuplot <<GP 2>/dev/null
set terminal pngcairo size 1000,420 font ",10" noenhanced
set output "$OUT/benchmarks.png"
set multiplot layout 1,2 title "TLS echo servers, ECDSA P-256, loopback ($(nproc) cores)"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set grid ytics
set ylabel "handshakes / s"
set title "handshakes (with one echo)"
plot "$dat" using 2:xtic(1) title "full", "" using 3 title "resumed"
set ylabel "MB/s"
set title "echo throughput"
plot "$dat" using 4:xtic(1) title "1 stream", "" using 5 title "16 streams"
unset multiplot
GP
fi
echo "bench: wrote $md" >&2
grep -q . "$WORK/client.err" && { echo "bench: client errors:" >&2; sort -u "$WORK/client.err" | head -20 >&2; }
exit 0
