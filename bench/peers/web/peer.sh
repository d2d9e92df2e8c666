#!/bin/sh
# bench/peers/web/peer.sh NAME PEER [--quick] - a web peer, measured exactly
# as grove-bench measures grove's own server, printing one `NAME VALUE UNIT`
# line for scripts/bench.sh:
#
#   peer.sh http_hello gevent   gevent's pywsgi (bench/peers/web/pywsgi_hello.py)
#   peer.sh http_hello nginx    nginx-light, one worker (bench/peers/web/nginx.conf)
#   peer.sh ws_echo websockets  Python's websockets (bench/peers/web/ws_echo.py),
#                               driven by grove-bench's own ws_echo client
#                               ($GROVE_BENCH: the grove-bench binary)
#
# http_hello: wrk, keep-alive GET /, 100 connections, one thread, a 1 s
# warm-up, then 3 s (--quick: 1 s). The server runs on CPU 0 and the client
# on CPU 1 when there are two. Exits 77 when the peer or wrk is missing.
set -eu
name=$1
peer=$2
quick=${3:-}
here=$(cd "$(dirname "$0")" && pwd)
py=/usr/bin/python3
secs=3
[ "$quick" = --quick ] && secs=1
tmp=$(mktemp -d)
spid=""
cleanup() {
  [ -n "$spid" ] && kill "$spid" 2>/dev/null && wait "$spid" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
skip() { echo "peer.sh: $name $peer: skipped: $*" >&2; exit 77; }
pin0="" pin1=""
if [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null 2>&1; then
  pin0="taskset -c 0" pin1="taskset -c 1"
fi
port=$($py -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

case "$name:$peer" in
http_hello:gevent)
  $py -c 'import gevent' 2>/dev/null || skip "python3-gevent is not installed"
  $pin0 $py "$here/pywsgi_hello.py" "$port" >"$tmp/log" 2>&1 &
  spid=$! ;;
http_hello:nginx)
  [ -x /usr/sbin/nginx ] || skip "nginx-light is not installed"
  mkdir -p "$tmp/nginx"
  sed -e "s|PORT|$port|" -e "s|DIR|$tmp/nginx|g" "$here/nginx.conf" >"$tmp/nginx/nginx.conf"
  $pin0 /usr/sbin/nginx -c "$tmp/nginx/nginx.conf" -p "$tmp/nginx" >"$tmp/log" 2>&1 &
  spid=$! ;;
ws_echo:websockets)
  $py -c 'import websockets' 2>/dev/null || skip "python3-websockets is not installed"
  [ -n "${GROVE_BENCH:-}" ] || skip "GROVE_BENCH (the grove-bench client) is not set"
  $pin0 $py "$here/ws_echo.py" "$port" >"$tmp/log" 2>&1 &
  spid=$! ;;
*)
  echo "peer.sh: unknown benchmark/peer $name $peer" >&2
  exit 2 ;;
esac

i=0
while ! $py -c "import socket; socket.create_connection(('127.0.0.1',$port),1)" 2>/dev/null; do
  i=$((i + 1))
  if [ $i -gt 100 ] || ! kill -0 "$spid" 2>/dev/null; then
    echo "peer.sh: $peer did not accept on port $port: $(tail -n 3 "$tmp/log")" >&2
    exit 1
  fi
  sleep 0.1
done

case $name in
http_hello)
  command -v wrk >/dev/null 2>&1 || skip "wrk is not installed"
  $pin1 wrk -t1 -c100 -d1s "http://127.0.0.1:$port/" >/dev/null 2>&1
  $pin1 wrk -t1 -c100 -d"${secs}s" "http://127.0.0.1:$port/" >"$tmp/wrk" 2>&1
  if grep -qE 'Non-2xx|Socket errors' "$tmp/wrk"; then
    echo "peer.sh: wrk reported errors: $(grep -E 'Non-2xx|Socket errors' "$tmp/wrk")" >&2
    exit 1
  fi
  awk '/Requests\/sec/ {print "http_hello", $2, "req/s"; found=1} END {exit !found}' "$tmp/wrk" ;;
ws_echo)
  GROVE_BENCH_WS_URL="ws://127.0.0.1:$port/ws/echo" $pin1 "$GROVE_BENCH" $quick ws_echo ;;
esac
