#!/usr/bin/env bash
# run.sh BUILD_DIR [--quick] - `make bench`: measures our TLS echo app under portal-host against a
# minimal native mbedTLS echo server (the ceiling), Node.js, `openssl s_server` and socat, same
# machine, same certificate (ECDSA P-256, then RSA-2048). Every timed figure is an exact number of
# operations, repeated RUNS times (median, min, max), with the CPU the client and the server used;
# bench/count_instructions.sh adds the exact instruction counts and the device projection;
# bench/client.sh the client row (our tlsConnect against openssl s_server next to raw mbedTLS).
# Writes docs/benchmarks.md and docs/benchmarks.png. Bounded: ~6 minutes (--quick: ~1.5 minutes).
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
mkdir -p "$OUT"
export PORTAL_CACHE_DIR=${PORTAL_CACHE_DIR:-$B/wasm-cache}
PIDS=()
cleanup() { for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill -9 "$p" 2>/dev/null; done; rm -rf "$WORK"; }
trap cleanup EXIT
STARTED=$SECONDS

# Operations per run (socat forks a process per connection: fewer handshakes, same bulk).
RUNS=3
if [ "$QUICK" = --quick ]; then FULL=40; FULL_SOCAT=10; RESUMED=300; BULK1=8; BULK16=1; BULK64=1
    ROUNDS=10; IDLE=50
else FULL=300; FULL_SOCAT=60; RESUMED=3000; BULK1=64; BULK16=4; BULK64=1; ROUNDS=100; IDLE=100; fi
RTT_CLIENTS=64
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
field() { sed -n "s/.* $1=\([0-9.]*\).*/\1/p"; } # value of key=... in each RESULT line

# R[label,server,measure] = median; LO/HI = min/max; N = runs that passed; OPS = operations per run;
# CPU = "client u+s | server u+s | wall" of the median run; NOTE = why there is no figure.
declare -A R LO HI N OPS CPU NOTE SCPU
# timed LABEL SERVER MEASURE FIELD OPS-TEXT CLIENT-ARGS... - RUNS runs of one client command (with
# server=PID); median, min and max of FIELD over the runs; the median run gives the CPU.
timed() {
    local label=$1 s=$2 m=$3 key=$4 ops=$5; shift 5
    local lines=$WORK/runs.$label.$s.$m; : > "$lines"
    for _ in $(seq "$RUNS"); do
        local out rc
        out=$(timeout 120 "$CLIENT" "$@" server="$SRV" 2> "$WORK/err"); rc=$?
        sed "s/^/$label $s $m: /" "$WORK/err" >> "$WORK/client.err"
        if [ $rc -eq 0 ]; then grep '^RESULT' <<< "$out" >> "$lines"
        elif [[ $m == resumed ]] && grep -q 'resumed the session' "$WORK/err"; then
            NOTE[$label,$s,$m]="no resumption ($(field resumed <<< "$out")/$(field handshakes <<< "$out") resumed)"
        else NOTE[$label,$s,$m]="failed: $(head -1 "$WORK/err" | cut -c1-80)"; fi
    done
    OPS[$label,$s,$m]=$ops
    N[$label,$s,$m]=$(wc -l < "$lines")
    [ "${N[$label,$s,$m]}" -eq "$RUNS" ] || return 0
    local sorted; sorted=$(awk -v k="$key" '{for(i=1;i<=NF;i++) if (index($i, k"=")==1) print substr($i, length(k)+2), $0}' "$lines" | sort -n)
    local mid; mid=$(sed -n "$(( (RUNS + 1) / 2 ))p" <<< "$sorted")
    R[$label,$s,$m]=${mid%% *}
    LO[$label,$s,$m]=$(head -1 <<< "$sorted" | cut -d' ' -f1)
    HI[$label,$s,$m]=$(tail -1 <<< "$sorted" | cut -d' ' -f1)
    CPU[$label,$s,$m]=$(awk '{for(i=1;i<=NF;i++){split($i,kv,"="); v[kv[1]]=kv[2]}
        sv = ("server_user" in v) ? sprintf("%.2f+%.2f", v["server_user"], v["server_sys"]) : "–"
        printf "%.2f+%.2f | %s | %.2f", v["client_user"], v["client_sys"], sv, v["seconds"]}' <<< "${mid#* }")
    # server CPU ms per handshake or per MiB echoed, over all RUNS runs (less tick rounding)
    SCPU[$label,$s,$m]=$(awk '{for(i=1;i<=NF;i++){split($i,kv,"="); v[kv[1]]=kv[2]}
        if (!("server_user" in v)) next; cpu += v["server_user"] + v["server_sys"]
        ops += ("bytes" in v) ? v["bytes"] / 1048576 : ("handshakes" in v) ? v["handshakes"] : 0 }
        END { if (ops > 0) printf "%.3f", 1000 * cpu / ops }' "$lines")
}

measure() { # label cert key
    local label=$1 cert=$2 key=$3
    for s in "${SERVERS[@]}"; do
        PORT=$((PORT + 1))
        start_server "$s" "$cert" "$key" "$PORT"
        local probe="" full=$FULL; [ "$s" = s_server ] && probe=noecho; [ "$s" = socat ] && full=$FULL_SOCAT
        # memory first, on a fresh server: later phases leave freed memory in the allocator
        if [ "$s" != socat ] && [ "$s" != s_server ]; then
            local before after
            before=$(rss_kb "$SRV")
            timeout 60 "$CLIENT" idle 127.0.0.1 $PORT "$IDLE" 1 > "$WORK/idle.out" 2>> "$WORK/client.err" &
            local idle=$!
            for _ in $(seq 100); do grep -q RESULT "$WORK/idle.out" && break; sleep 0.1; done
            sleep 0.3
            after=$(rss_kb "$SRV")
            if wait $idle; then
                R[$label,$s,mem]=$(awk -v a="$after" -v b="$before" -v n="$IDLE" 'BEGIN{printf "%.1f", (a-b)/n}')
            else NOTE[$label,$s,mem]="failed"; fi
        fi
        timed "$label" "$s" full rate "$full handshakes" handshakes 127.0.0.1 $PORT "$full" 2 $probe
        local resumed=$RESUMED; [ "$s" = socat ] && resumed=$full
        timed "$label" "$s" resumed rate "$resumed handshakes" handshakes 127.0.0.1 $PORT "$resumed" 2 resume $probe
        if [ "$s" != s_server ]; then
            timed "$label" "$s" bulk1 mbps "1 × $BULK1 MiB" bulk 127.0.0.1 $PORT "$BULK1" 1
            timed "$label" "$s" bulk16 mbps "16 × $BULK16 MiB" bulk 127.0.0.1 $PORT "$BULK16" 16
            timed "$label" "$s" bulk64 mbps "64 × $BULK64 MiB" bulk 127.0.0.1 $PORT "$BULK64" 64
            timed "$label" "$s" p50 p50_ms "$RTT_CLIENTS × $ROUNDS round trips" rtt 127.0.0.1 $PORT $RTT_CLIENTS "$ROUNDS"
            # p99 from the same runs
            local lines=$WORK/runs.$label.$s.p50
            if [ "$(wc -l < "$lines")" -eq "$RUNS" ]; then
                local p99s; p99s=$(field p99_ms < "$lines" | sort -n)
                R[$label,$s,p99]=$(sed -n "$(( (RUNS + 1) / 2 ))p" <<< "$p99s")
                LO[$label,$s,p99]=$(head -1 <<< "$p99s"); HI[$label,$s,p99]=$(tail -1 <<< "$p99s")
                OPS[$label,$s,p99]=${OPS[$label,$s,p50]}; N[$label,$s,p99]=$RUNS; CPU[$label,$s,p99]=${CPU[$label,$s,p50]}
            fi
        fi
        stop_server
        echo "bench: $label $s: full ${R[$label,$s,full]:-?}/s resumed ${R[$label,$s,resumed]:-?}/s bulk ${R[$label,$s,bulk1]:--}/${R[$label,$s,bulk16]:--}/${R[$label,$s,bulk64]:--} MB/s rtt p50/p99 ${R[$label,$s,p50]:--}/${R[$label,$s,p99]:--} ms mem ${R[$label,$s,mem]:--} KiB/session ($((SECONDS - STARTED)) s)" >&2
    done
}

measure ec "$CERTS/server-ec.pem" "$CERTS/server-ec.key"
measure rsa "$CERTS/server-rsa.pem" "$CERTS/server-rsa.key"

# ---- the client row (markdown section; figures it could not measure say "failed") ----
CLIENTMD=$(BENCH_CLIENT_VIA="\`make bench\` (bench/client.sh)" bash "$ROOT/bench/client.sh" "$B" $QUICK) || echo "bench: the client row is missing figures" >&2

# ---- instruction counts and device projection (markdown section) ----
if [ "$QUICK" = --quick ]; then IRMD="Not measured in this run (--quick)."
else IRMD=$(bash "$ROOT/bench/count_instructions.sh" "$B" 2> >(tee "$WORK/ir.err" >&2)); fi

# ---- single-core crypto ceiling: RUNS runs of 1 s each -> "median (min–max)" ----
spread3() { sort -n | awk '{ v[NR] = $1 } END { if (NR) printf "%s (%s–%s)", v[int((NR + 1) / 2)], v[1], v[NR]; else print "?" }'; }
for _ in $(seq "$RUNS"); do
    speed=$(openssl speed -seconds 1 ecdsap256 ecdhp256 2>/dev/null)
    echo "$speed" | awk '/256 bits ecdsa/{print $(NF-1); exit}' >> "$WORK/sign"
    echo "$speed" | awk '/256 bits ecdh/{print $NF; exit}' >> "$WORK/ecdh"
    openssl speed -seconds 1 -evp aes-128-gcm 2>/dev/null | awk '/^AES-128-GCM|^aes-128-gcm/{print $(NF)}' | tr -d k >> "$WORK/gcm"
done
SIGN=$(spread3 < "$WORK/sign"); ECDH=$(spread3 < "$WORK/ecdh"); GCM=$(spread3 < "$WORK/gcm")

# ---- report ----
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (a == "" || b == "" || b == 0) print "–"; else printf "%.2f", a / b }'; }
cell() { # label server measure -> median, or the reason there is none
    local k=$1,$2,$3
    if [ -n "${R[$k]:-}" ]; then echo "${R[$k]}"; elif [ -n "${NOTE[$k]:-}" ]; then echo "${NOTE[$k]}"; else echo "–"; fi
}
MEASURES=(full resumed bulk1 bulk16 bulk64 p50 p99)
declare -A MNAME=([full]="full handshakes/s" [resumed]="resumed handshakes/s" [bulk1]="bulk 1 stream MB/s"
    [bulk16]="bulk 16 streams MB/s" [bulk64]="bulk 64 streams MB/s" [p50]="rtt p50 ms" [p99]="rtt p99 ms")
md=$OUT/benchmarks.md
{
    echo "# Benchmarks"
    echo
    echo "Produced by \`make bench\` (bench/run.sh) on $(date -u '+%Y-%m-%d %H:%M UTC') in $(( (SECONDS - STARTED) / 60 )) min."
    echo "Machine: $(nproc) cores, $(awk -F: '/model name/{print $2; exit}' /proc/cpuinfo | sed 's/^ *//'), Linux $(uname -r),"
    echo "$(free -g | awk '/Mem/{print $2}') GiB; load average when the report was written: $(cut -d' ' -f1-3 /proc/loadavg)."
    echo "Versions: mbedTLS $(dpkg-query -W -f='${Version}' "libmbedtls-dev:$(dpkg --print-architecture)" 2>/dev/null), Node $(node -v 2>/dev/null),"
    echo "$(openssl version), $(socat -V 2>/dev/null | awk '/socat version/{print $1, $2, $3; exit}'), $(valgrind --version 2>/dev/null), $(cc --version | head -1)."
    [ "$QUICK" = --quick ] && echo && echo "**Quick run** (--quick): few operations per run, figures are rough."
    echo
    echo "Servers: **ours** = apps/tls-echo-server (C, wasm) under portal-host; **raw** = bench/mbedtls_echo_server"
    echo "(native mbedTLS, same settings, no WASM, no host layer: the ceiling); **node** = Node.js"
    echo "\`tls.createServer\` piping each socket to itself (TLS 1.2 forced); **s_server** = \`openssl s_server\`"
    echo "(serves one client at a time and does not echo: handshakes only); **socat** = \`socat openssl-listen,fork\`"
    echo "to \`cat\` (a process per connection)."
    echo
    echo "Client: \`bench/bench_client\` (mbedTLS) on the same machine over loopback. It does an exact number of"
    echo "operations per run, verifies every echoed byte and fails the run when it did less than asked (a"
    echo "failed run shows as \"failed\", never as a smaller figure). Handshakes: 2 threads that block, one"
    echo "22-byte echo per handshake (resumed = session ticket; the client checks that each one resumed). Bulk"
    echo "and rtt: one thread, one \`poll()\` loop over all connections (it sleeps until a socket is ready), so"
    echo "the client uses at most one core and leaves the other to the server; the clock starts after the"
    echo "connections are made. The client offers X25519 first and AES-128-GCM first, as browsers do, so every"
    echo "server here uses X25519 and AES-128-GCM (mbedTLS's own default would start with secp521r1, which the"
    echo "OpenSSL-based servers follow). rtt = one 64-byte echo on each of $RTT_CLIENTS connections at once, per round. mem ="
    echo "server RSS growth per idle session ($IDLE sessions, one run)."
    echo
    echo "Each timed figure is the median of $RUNS runs; the detail tables give min and max, the operations"
    echo "per run, and the CPU seconds (user+sys) that the client and the server process used in the median"
    echo "run next to its wall time: a side whose CPU is close to the wall time was the limit. ours and raw"
    echo "are single-threaded, so when their CPU is close to the wall time they were saturated and the"
    echo "figure is their capacity on one core, whatever the client used. Node's TLS (OpenSSL) is several"
    echo "times cheaper than mbedTLS, so against node and socat the mbedTLS client is the limit in bulk (its"
    echo "CPU is the wall time, theirs is not). When neither side's CPU is close to the wall time, other"
    echo "processes had the CPU (see the load average above). (socat: its per-connection children count"
    echo "only once reaped, so its server CPU is an undercount.)"
    for label in ec rsa; do
        echo
        [ $label = ec ] && echo "## ECDSA P-256 certificate" || echo "## RSA-2048 certificate"
        echo
        echo "| server | full hs/s | resumed hs/s | bulk 1× MB/s | bulk 16× MB/s | bulk 64× MB/s | rtt p50 ms | rtt p99 ms | mem KiB/session | full vs raw | resumed vs raw | bulk 1× / 16× / 64× vs raw |"
        echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
        for s in "${SERVERS[@]}"; do
            local_b=""
            for m in bulk1 bulk16 bulk64; do local_b+="$(ratio "${R[$label,$s,$m]:-}" "${R[$label,raw,$m]:-}") / "; done
            echo "| $s | $(cell $label $s full) | $(cell $label $s resumed) | $(cell $label $s bulk1) | $(cell $label $s bulk16) | $(cell $label $s bulk64) | $(cell $label $s p50) | $(cell $label $s p99) | $(cell $label $s mem) | $(ratio "${R[$label,$s,full]:-}" "${R[$label,raw,full]:-}") | $(ratio "${R[$label,$s,resumed]:-}" "${R[$label,raw,resumed]:-}") | ${local_b% / } |"
        done
        echo
        echo "Server CPU per operation (user+sys of the server process over all $RUNS runs, ms per handshake or"
        echo "per MiB echoed): what each server spent, whatever else ran on the machine; \"vs raw\" = its CPU"
        echo "divided by raw's (below 1: cheaper than raw). Resolution: the kernel's 10 ms CPU tick. socat is left"
        echo "out: its work is in per-connection children."
        echo
        echo "| server | full | resumed | bulk 1× | bulk 16× | bulk 64× | full vs raw | resumed vs raw | bulk 1× / 16× / 64× vs raw |"
        echo "|---|---|---|---|---|---|---|---|---|"
        for s in "${SERVERS[@]}"; do
            [ "$s" = socat ] && continue # its children's CPU is not in its own
            local_b=""
            for m in bulk1 bulk16 bulk64; do local_b+="$(ratio "${SCPU[$label,$s,$m]:-}" "${SCPU[$label,raw,$m]:-}") / "; done
            echo "| $s | ${SCPU[$label,$s,full]:-–} | ${SCPU[$label,$s,resumed]:-–} | ${SCPU[$label,$s,bulk1]:-–} | ${SCPU[$label,$s,bulk16]:-–} | ${SCPU[$label,$s,bulk64]:-–} | $(ratio "${SCPU[$label,$s,full]:-}" "${SCPU[$label,raw,full]:-}") | $(ratio "${SCPU[$label,$s,resumed]:-}" "${SCPU[$label,raw,resumed]:-}") | ${local_b% / } |"
        done
        echo
        echo "<details><summary>Spread and CPU per row ($([ $label = ec ] && echo ECDSA || echo RSA))</summary>"
        echo
        echo "| measure | server | operations per run | runs | median | min | max | client CPU s (u+s) | server CPU s (u+s) | wall s |"
        echo "|---|---|---|---|---|---|---|---|---|---|"
        for m in "${MEASURES[@]}"; do
            for s in "${SERVERS[@]}"; do
                local_k=$label,$s,$m
                [ -n "${OPS[$local_k]:-}" ] || continue
                echo "| ${MNAME[$m]} | $s | ${OPS[$local_k]} | ${N[$local_k]:-0} of $RUNS | $(cell $label $s $m) | ${LO[$local_k]:-–} | ${HI[$local_k]:-–} | ${CPU[$local_k]:-– | – | –} |"
            done
        done
        echo
        echo "</details>"
    done
    echo
    echo "$CLIENTMD"
    echo
    echo "$IRMD"
    echo
    echo "## Single-core crypto ceiling (\`openssl speed\`, OpenSSL, not mbedTLS)"
    echo
    echo "Median (min–max) of $RUNS one-second runs: ECDSA P-256 sign ${SIGN}/s; ECDH P-256 ${ECDH}/s;"
    echo "AES-128-GCM (16 KiB blocks) ${GCM} kB/s."
    if [ -s "$WORK/client.err" ]; then
        echo
        echo "## Client errors in this run"
        echo
        sort -u "$WORK/client.err" | head -20 | sed 's/^/    /'
    fi
    echo
    echo "![handshakes and throughput](benchmarks.png)"
} > "$md"

# ---- chart ----
if command -v gnuplot > /dev/null; then
    dat=$WORK/chart.dat
    for s in "${SERVERS[@]}"; do
        echo "$s ${R[ec,$s,full]:-0} ${R[ec,$s,resumed]:-0} ${R[ec,$s,bulk1]:-0} ${R[ec,$s,bulk16]:-0} ${R[ec,$s,bulk64]:-0}"
    done > "$dat"
    gnuplot <<GP 2>/dev/null
set terminal pngcairo size 1000,420 font ",10" noenhanced
set output "$OUT/benchmarks.png"
set multiplot layout 1,2 title "TLS echo servers, ECDSA P-256, loopback ($(nproc) cores), median of $RUNS runs"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set grid ytics
set key top left
set ylabel "handshakes / s (log scale)"
set logscale y
set title "handshakes (with one echo)"
plot "$dat" using 2:xtic(1) title "full", "" using 3 title "resumed"
unset logscale y
set ylabel "MB/s"
set yrange [0:*]
set title "echo throughput"
plot "$dat" using 4:xtic(1) title "1 stream", "" using 5 title "16 streams", "" using 6 title "64 streams"
unset multiplot
GP
fi
echo "bench: wrote $md in $((SECONDS - STARTED)) s" >&2
[ -s "$WORK/client.err" ] && { echo "bench: client errors:" >&2; sort -u "$WORK/client.err" | head -20 >&2; }
exit 0
