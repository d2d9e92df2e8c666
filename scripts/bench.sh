#!/bin/bash
# scripts/bench.sh - grove beside its peers (make bench).
#
#   scripts/bench.sh [BUILD] [--quick]
#
# Runs build/bench/grove-bench one benchmark per process, then the same
# benchmarks written for each peer (bench/peers/: Go, Erlang, CAF, gevent, raw
# libzmq, a bare assembly switch, libuv and gevent echo servers), each one
# RUNS times; records every figure and the peak RSS of every run in
# BUILD/bench/results/results.tsv, and has scripts/bench_report.py write
# docs/benchmarks.md, docs/img/bench-*.png and the headline table in README.md.
#
# Missing peers are installed from Debian (scripts/install-deps.sh, only what
# is missing); a peer whose toolchain cannot be installed or built is shown
# as "not available" on the page. Every run has a timeout. Only loopback and
# ipc are used.
#
# --quick: 3 runs instead of 5, grove-bench's --quick sizes (100k instead of
# 1M objects, a tenth of the loops; gevent 10k instead of 100k), one
# repetition inside each process, Go/Erlang/CAF on one thread only (their
# runs of the several-hub benchmarks keep every core), 1-second echo runs:
# under two minutes on a 2-core machine.
# Environment: BENCH_RUNS (runs per benchmark), BENCH_TIMEOUT (seconds per
# run: 300, quick 60), GROVE_DEPS_EXTRA (passed on to install-deps.sh).
set -eu

usage() {
  sed -n '2,/^set -eu/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'
  exit "${1:-0}"
}

BUILD=build
QUICK=0
for a in "$@"; do
  case $a in
  --quick) QUICK=1 ;;
  -h | --help) usage 0 ;;
  -*)
    echo "bench: unknown option $a" >&2
    usage 2 >&2
    ;;
  *) BUILD=$a ;;
  esac
done

ROOT=$(cd "$(dirname "$0")/.." && pwd)
if [ ! -d "$BUILD" ]; then
  echo "bench: no build directory $BUILD (make build, or cmake -S . -B $BUILD first)" >&2
  exit 1
fi
BUILD=$(cd "$BUILD" && pwd)
B=$BUILD/bench
P=$B/peers
OUT=$B/results
mkdir -p "$P" "$OUT"
RESULTS=$OUT/results.tsv
META=$OUT/meta.tsv
LOG=$OUT/bench.log
: >"$LOG"
PY=/usr/bin/python3 # Debian's: the one python3-gevent and -matplotlib are for

if [ "$QUICK" = 1 ]; then
  RUNS=${BENCH_RUNS:-3}
  Q=--quick
  TIMEOUT=${BENCH_TIMEOUT:-60}
  ECHO_SECONDS=1
  CONNS_IDLE=1000
else
  RUNS=${BENCH_RUNS:-5}
  Q=
  TIMEOUT=${BENCH_TIMEOUT:-300}
  ECHO_SECONDS=5
  CONNS_IDLE=10000
fi
ECHO_CONNS=100
ECHO_SIZE=64
START=$(date +%s)

say() { printf '%s\n' "$*"; }
log() { printf '%s\n' "$*" >>"$LOG"; }

# ---- 1. peers' toolchains: install what is missing ---------------------------------
# Debian 12's erlang-base ships erlc too; libcaf-dev is CAF 0.17.
PEER_PKGS="golang-go erlang-base libcaf-dev python3-gevent python3-matplotlib libzmq3-dev time wrk nginx-light python3-websockets"
say "bench: checking the peers' packages ($PEER_PKGS)"
# shellcheck disable=SC2086 # a list of package names
if ! "$ROOT/scripts/install-deps.sh" $PEER_PKGS >>"$LOG" 2>&1; then
  # One at a time, so that one package the mirror lacks keeps no other out.
  for p in $PEER_PKGS; do
    "$ROOT/scripts/install-deps.sh" "$p" >>"$LOG" 2>&1 ||
      say "bench: could not install $p (see $LOG); its peer is reported as not available"
  done
fi

TIME=()
if [ -x /usr/bin/time ]; then
  TIME=(/usr/bin/time -f %M -o "$OUT/run.rss")
fi

# ---- 2. build the peers --------------------------------------------------------------
# why_<peer> stays empty when the peer can run, else says why it cannot.
why_grove="" why_asm="" why_zmq="" why_tcp="" why_go="" why_erlang="" why_caf="" why_gevent=""
why_nginx="" why_websockets="" why_wrk=""

# The C peers are CMake targets beside grove-bench (make bench has built them
# with everything else); only the missing ones are built here.
for t in grove-bench zmq-peer grove-echo-client uv-echo-server asm-switch; do
  if [ ! -x "$B/$t" ] && [ -f "$BUILD/CMakeCache.txt" ]; then
    cmake --build "$BUILD" -j 2 --target "$t" >>"$LOG" 2>&1 || log "bench: target $t did not build"
  fi
done
[ -x "$B/grove-bench" ] || why_grove="grove-bench not built"
[ -x "$B/asm-switch" ] || why_asm="asm-switch not built"
[ -x "$B/zmq-peer" ] || why_zmq="zmq-peer not built (libzmq3-dev missing when CMake ran?)"
[ -x "$B/grove-echo-client" ] || why_tcp="grove-echo-client not built"

if ! command -v go >/dev/null 2>&1; then
  why_go="golang-go not installed"
elif ! (cd "$ROOT/bench/peers/go" && GOPROXY=off GOFLAGS='' GO111MODULE=on GOCACHE="$P/go-cache" \
  go build -o "$P/go-peer" .) >>"$LOG" 2>&1; then
  why_go="go build failed (see $LOG)"
fi

ERL_SRC=$ROOT/bench/peers/erlang/grove_peer.erl
if ! command -v erl >/dev/null 2>&1 || ! command -v erlc >/dev/null 2>&1; then
  why_erlang="erlang-base (erl, erlc) not installed"
elif [ ! "$P/erlang/grove_peer.beam" -nt "$ERL_SRC" ]; then
  mkdir -p "$P/erlang"
  erlc -o "$P/erlang" "$ERL_SRC" >>"$LOG" 2>&1 || why_erlang="erlc failed (see $LOG)"
fi

CAF_SRC=$ROOT/bench/peers/caf/caf_peer.cpp
if [ ! -f /usr/include/caf/all.hpp ] || ! command -v c++ >/dev/null 2>&1; then
  why_caf="libcaf-dev (or a C++ compiler) not installed"
elif [ ! "$P/caf-peer" -nt "$CAF_SRC" ]; then
  say "bench: compiling the CAF peer (C++, ~20 s once)"
  c++ -O2 -std=c++17 -o "$P/caf-peer" "$CAF_SRC" -lcaf_core -pthread >>"$LOG" 2>&1 ||
    why_caf="the CAF peer did not compile (see $LOG)"
fi

if ! $PY -c 'import gevent' >/dev/null 2>&1; then
  why_gevent="python3-gevent not installed"
fi
command -v wrk >/dev/null 2>&1 || why_wrk="wrk (the HTTP client) not installed"
[ -x /usr/sbin/nginx ] || why_nginx="nginx-light not installed"
$PY -c 'import websockets' >/dev/null 2>&1 || why_websockets="python3-websockets not installed"

# ---- 3. the machine and every runtime's version ------------------------------------------
meta() { printf '%s\t%s\n' "$1" "$2" >>"$META"; }
first_line() { "$@" 2>&1 | head -n 1 || true; }
: >"$META"
meta date "$(date -u '+%Y-%m-%d %H:%M UTC')"
meta command "${GROVE_BENCH_CMD:-scripts/bench.sh $*}"
meta quick "$QUICK"
meta runs "$RUNS"
meta echo "$ECHO_CONNS connections, $ECHO_SIZE-byte messages, $ECHO_SECONDS s per run; tcp_connections: $CONNS_IDLE connections"
meta load_start "$(cut -d ' ' -f 1-3 /proc/loadavg)"
meta cpu "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
meta cores "$(nproc)"
meta memory "$(awk '/^MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)"
meta kernel "$(uname -srm)"
# shellcheck disable=SC1091
meta os "$(. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME")"
meta "grove" "$(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo unknown), $(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$BUILD/CMakeCache.txt" 2>/dev/null)"
meta "gcc" "$(first_line gcc --version)"
meta "libuv" "$(pkg-config --modversion libuv 2>/dev/null || echo n/a)"
meta "libzmq" "$(pkg-config --modversion libzmq 2>/dev/null || echo n/a)"
meta "msgpack-c" "$(pkg-config --modversion msgpack 2>/dev/null || echo n/a)"
if [ -z "$why_go" ]; then meta "Go" "$(go version)"; fi
if [ -z "$why_erlang" ]; then
  meta "Erlang/OTP" "$(erl -noshell -eval 'io:format("OTP ~s, ERTS ~s",
    [erlang:system_info(otp_release), erlang:system_info(version)]), halt().' 2>&1)"
fi
if [ -z "$why_caf" ]; then
  meta "CAF" "$(dpkg-query -W -f='${Version}' libcaf-dev 2>/dev/null), $(first_line c++ --version)"
fi
if [ -z "$why_gevent" ]; then
  meta "gevent" "$($PY -c 'import sys, gevent, greenlet
print("gevent %s, greenlet %s, CPython %s" % (gevent.__version__, greenlet.__version__, sys.version.split()[0]))')"
fi
if [ -z "$why_nginx" ]; then meta "nginx" "$(/usr/sbin/nginx -v 2>&1 | sed 's/^nginx version: //')"; fi
if [ -z "$why_websockets" ]; then
  meta "websockets" "$($PY -c 'import websockets; print("websockets", websockets.__version__)')"
fi
if [ -z "$why_wrk" ]; then meta "wrk" "$(first_line wrk -v)"; fi
for peer in grove asm zmq tcp go erlang caf gevent nginx websockets wrk; do
  why=why_$peer
  if [ -n "${!why}" ]; then meta "unavailable:$peer" "${!why}"; fi
done

# ---- 4. running ---------------------------------------------------------------------------
# results.tsv: runtime, mode, bench, run, status, name, value, unit, rss_kb, detail
# status: ok (one row per printed figure), pending (grove-bench does not know
# the name yet), n/a (peer unavailable), failed, timeout.
printf 'runtime\tmode\tbench\trun\tstatus\tname\tvalue\tunit\trss_kb\tdetail\n' >"$RESULTS"
row() { printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >>"$RESULTS"; }
clean() { tr '\t\n' '  ' | cut -c 1-200; }

# bench RUNTIME MODE DETAIL BENCH WHY CMD...: run CMD RUNS times (WHY non-empty: n/a).
bench() {
  local runtime=$1 mode=$2 detail=$3 name=$4 why=$5
  shift 5
  printf '%-8s %-24s %-24s' "$runtime" "$mode" "$name"
  if [ -n "$why" ]; then
    row "$runtime" "$mode" "$name" 0 n/a "$name" "" "" "" "$why"
    say "not available: $why"
    return
  fi
  local run rc rss figures t0=$SECONDS
  for run in $(seq 1 "$RUNS"); do
    rm -f "$OUT/run.rss"
    set +e
    timeout -k 5 "$TIMEOUT" "${TIME[@]}" "$@" >"$OUT/run.out" 2>"$OUT/run.err"
    rc=$?
    set -e
    { echo "## $runtime $mode $name run $run: $* (exit $rc)"; cat "$OUT/run.out" "$OUT/run.err"; } >>"$LOG"
    rss=$(tail -n 1 "$OUT/run.rss" 2>/dev/null | grep -E '^[0-9]+$' || true)
    figures=$(grep -E '^[a-z0-9_]+ -?[0-9.]+ .+$' "$OUT/run.out" || true)
    if [ "$rc" = 2 ] && grep -q 'unknown benchmark' "$OUT/run.err"; then
      row "$runtime" "$mode" "$name" 0 pending "$name" "" "" "" "not in grove-bench yet"
      say "pending"
      return
    elif [ "$rc" = 77 ]; then
      row "$runtime" "$mode" "$name" 0 n/a "$name" "" "" "" "$(head -n 1 "$OUT/run.err" | clean)"
      say "skipped: $(head -n 1 "$OUT/run.err")"
      return
    elif [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
      row "$runtime" "$mode" "$name" "$run" timeout "$name" "" "" "$rss" "no result in ${TIMEOUT}s"
      say "TIMEOUT after ${TIMEOUT}s"
      return
    elif [ "$rc" != 0 ] || [ -z "$figures" ]; then
      row "$runtime" "$mode" "$name" "$run" failed "$name" "" "" "$rss" \
        "exit $rc: $(tail -n 1 "$OUT/run.err" | clean)"
      say "FAILED (exit $rc): $(tail -n 1 "$OUT/run.err")"
      return
    fi
    while read -r fname value unit; do
      row "$runtime" "$mode" "$name" "$run" ok "$fname" "$value" "$unit" "$rss" "$detail"
    done <<<"$figures"
    printf ' %s' "$(head -n 1 <<<"$figures" | cut -d ' ' -f 2)"
  done
  say " $(head -n 1 <<<"$figures" | cut -d ' ' -f 3-)  [$((SECONDS - t0)) s]"
}

free_port() {
  $PY -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# server_bench RUNTIME MODE BENCH WHY SERVER...: start SERVER PORT, wait until
# it accepts, run the client against it, read the server's peak RSS, kill it.
server_bench() {
  local runtime=$1 mode=$2 name=$3 why=$4
  shift 4
  printf '%-8s %-24s %-24s' "$runtime" "$mode" "$name"
  [ -z "$why" ] && why=$why_tcp
  if [ -n "$why" ]; then
    row "$runtime" "$mode" "$name" 0 n/a "$name" "" "" "" "$why"
    say "not available: $why"
    return
  fi
  local run port spid up rc rss figures t0=$SECONDS
  for run in $(seq 1 "$RUNS"); do
    port=$(free_port)
    "$@" "$port" >>"$LOG" 2>&1 &
    spid=$!
    up=0
    for _ in $(seq 1 200); do
      kill -0 "$spid" 2>/dev/null || break
      if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        up=1
        break
      fi
      sleep 0.05
    done
    if [ "$up" = 0 ]; then
      kill "$spid" 2>/dev/null || true
      wait "$spid" 2>/dev/null || true
      row "$runtime" "$mode" "$name" "$run" failed "$name" "" "" "" "the server did not accept on port $port"
      say "FAILED: the server did not accept connections"
      return
    fi
    set +e
    if [ "$name" = tcp_echo ]; then
      timeout -k 5 $((ECHO_SECONDS + 60)) "$B/grove-echo-client" 127.0.0.1 "$port" \
        "$ECHO_CONNS" "$ECHO_SIZE" "$ECHO_SECONDS" >"$OUT/run.out" 2>"$OUT/run.err"
    else
      timeout -k 5 60 "$B/grove-echo-client" --memory "$spid" 127.0.0.1 "$port" \
        "$CONNS_IDLE" >"$OUT/run.out" 2>"$OUT/run.err"
    fi
    rc=$?
    set -e
    rss=$(awk '/^VmHWM/ {print $2}' "/proc/$spid/status" 2>/dev/null || true)
    kill "$spid" 2>/dev/null || true
    wait "$spid" 2>/dev/null || true
    { echo "## $runtime $mode $name run $run: $* $port (client exit $rc)"; cat "$OUT/run.out" "$OUT/run.err"; } >>"$LOG"
    figures=$(grep -E '^[a-z0-9_]+ -?[0-9.]+ .+$' "$OUT/run.out" || true)
    if [ "$rc" != 0 ] || [ -z "$figures" ]; then
      row "$runtime" "$mode" "$name" "$run" failed "$name" "" "" "$rss" \
        "client exit $rc: $(tail -n 1 "$OUT/run.err" | clean)"
      say "FAILED (client exit $rc): $(tail -n 1 "$OUT/run.err")"
      return
    fi
    while read -r fname value unit; do
      row "$runtime" "$mode" "$name" "$run" ok "$fname" "$value" "$unit" "$rss" "server's peak RSS"
    done <<<"$figures"
    printf ' %s' "$(head -n 1 <<<"$figures" | cut -d ' ' -f 2)"
  done
  say " $(head -n 1 <<<"$figures" | cut -d ' ' -f 3-)  [$((SECONDS - t0)) s]"
}

say "bench: $RUNS runs per benchmark$([ "$QUICK" = 1 ] && echo ', quick sizes'); log in $LOG"
ulimit -n 20000 2>/dev/null || true # tcp_connections holds thousands of sockets
NPROC=$(nproc)

# grove's several-hub benchmarks (2 hubs; skynet_hubs: one per CPU); the
# peers run them in their multi-core default only, --quick too.
HUB_NAMES="cross_hub_pingpong cross_hub_call parallel_pingpong skynet_hubs hubs_idle_cpu"

# grove itself. The names after pipeline are those grove-bench is still to
# learn: they show as pending until it does.
for name in switch yield spawn_join queue_pingpong greenlets_1m actor_pingpong call_roundtrip \
  actors_1m_idle skynet pipeline $HUB_NAMES fairness_timer_lateness remote_rtt_ipc remote_rtt_tcp \
  remote_throughput_ipc remote_throughput_tcp remote_throughput_curve remote_flood_rss \
  remote_flood_timer_lateness remote_flood_timer_lateness_256k tcp_echo tcp_connections \
  http_hello http_hello_hubs1 http_hello_hubs http_long_poll_conns ws_echo; do
  detail=""
  case $name in
  remote_* | tcp_*) detail="grove-bench and its own second process" ;;
  http_* | ws_*) detail="grove-bench and its server process" ;;
  esac
  mode="1 hub"
  case $name in
  skynet_hubs) mode="$NPROC hubs" ;;
  cross_hub_* | parallel_pingpong | hubs_idle_cpu) mode="2 hubs" ;;
  esac
  bench grove "$mode" "$detail" "$name" "$why_grove" "$B/grove-bench" $Q "$name"
done

bench "bare asm" "$(uname -m)" "the physical floor" switch "$why_asm" "$B/asm-switch" $Q switch

# Go, Erlang and CAF run on one thread and on one per core (their default);
# --quick keeps the one-thread mode only, grove's like for like.
THREADS="1 $NPROC"
[ "$QUICK" = 1 ] && THREADS=1

GO_NAMES="yield spawn_join queue_pingpong greenlets_1m actor_pingpong call_roundtrip actors_1m_idle skynet pipeline"
for name in $GO_NAMES; do
  for threads in $THREADS; do
    if [ "$threads" = 1 ]; then
      bench Go "GOMAXPROCS=1" "" "$name" "$why_go" env GOMAXPROCS=1 "$P/go-peer" $Q "$name"
    else
      bench Go "GOMAXPROCS=$threads (default)" "" "$name" "$why_go" env -u GOMAXPROCS "$P/go-peer" $Q "$name"
    fi
  done
done

for name in $HUB_NAMES; do
  bench Go "GOMAXPROCS=$NPROC (default)" "" "$name" "$why_go" env -u GOMAXPROCS "$P/go-peer" $Q "$name"
done

ERL_NAMES="spawn_join actor_pingpong call_roundtrip actors_1m_idle skynet pipeline"
export ERL_CRASH_DUMP_SECONDS=0 # a failed run leaves no erl_crash.dump behind
for name in $ERL_NAMES; do
  for sched in $THREADS; do
    mode="+S $sched"
    [ "$sched" != 1 ] && mode="+S $sched (default)"
    bench Erlang "$mode" "" "$name" "$why_erlang" \
      erl -noshell +P 4194304 +S "$sched" -pa "$P/erlang" -run grove_peer main -extra $Q "$name"
  done
done

for name in $HUB_NAMES; do
  bench Erlang "+S $NPROC (default)" "" "$name" "$why_erlang" \
    erl -noshell +P 4194304 -pa "$P/erlang" -run grove_peer main -extra $Q "$name"
done

CAF_NAMES="spawn_join actor_pingpong call_roundtrip actors_1m_idle skynet pipeline"
for name in $CAF_NAMES; do
  for threads in $THREADS; do
    bench CAF "max-threads=$threads" "" "$name" "$why_caf" "$P/caf-peer" --threads "$threads" $Q "$name"
  done
done

for name in $HUB_NAMES; do
  bench CAF "max-threads=$NPROC" "" "$name" "$why_caf" "$P/caf-peer" --threads "$NPROC" $Q "$name"
done

GEVENT=$ROOT/bench/peers/gevent/peer.py
for name in switch yield spawn_join queue_pingpong greenlets_1m actor_pingpong call_roundtrip \
  actors_1m_idle skynet pipeline; do
  # "n=...": measured on fewer objects than grove-bench (bench/peers/gevent/peer.py)
  detail=""
  case $name in
  greenlets_1m | actors_1m_idle | skynet) detail="n=$([ "$QUICK" = 1 ] && echo 10k || echo 100k)" ;;
  esac
  bench gevent "1 hub" "$detail" "$name" "$why_gevent" $PY "$GEVENT" $Q "$name"
done

for t in ipc tcp; do
  bench libzmq "2 processes" "REQ/REP" "remote_rtt_$t" "$why_zmq" "$B/zmq-peer" $Q rtt "$t"
done
for t in ipc tcp curve; do
  bench libzmq "2 processes" "PUSH/PULL" "remote_throughput_$t" "$why_zmq" "$B/zmq-peer" $Q throughput "$t"
done

# TCP echo servers; the client is the same C + libuv program for all.
why_grove_server=""
[ -x "$B/grove-echo-server" ] || why_grove_server="not built yet (build/bench/grove-echo-server)"
for name in tcp_echo tcp_connections; do
  server_bench grove "grove-echo-server" "$name" "$why_grove_server" "$B/grove-echo-server"
  server_bench libuv "uv-echo-server" "$name" "" "$B/uv-echo-server"
  server_bench gevent "StreamServer" "$name" "$why_gevent" $PY "$ROOT/bench/peers/gevent/echo_server.py"
done

# The web servers: wrk (http_hello) and grove-bench's WebSocket client
# (ws_echo) against each, measured as grove-bench measures grove's.
WEB=$ROOT/bench/peers/web/peer.sh
bench gevent "pywsgi" "" http_hello "${why_gevent:-$why_wrk}" sh "$WEB" http_hello gevent $Q
bench nginx "1 worker" "" http_hello "${why_nginx:-$why_wrk}" sh "$WEB" http_hello nginx $Q
bench websockets "asyncio" "grove-bench's client" ws_echo "$why_websockets" \
  env GROVE_BENCH="$B/grove-bench" sh "$WEB" ws_echo websockets $Q

# ---- 5. the page --------------------------------------------------------------------------
meta elapsed "$(($(date +%s) - START)) s"
meta load_end "$(cut -d ' ' -f 1-3 /proc/loadavg)"
say "bench: writing docs/benchmarks.md"
$PY "$ROOT/scripts/bench_report.py" --results "$RESULTS" --meta "$META" \
  --out "$ROOT/docs/benchmarks.md" --img "$ROOT/docs/img" --readme "$ROOT/README.md"
say "bench: done in $(($(date +%s) - START)) s"
