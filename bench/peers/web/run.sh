#!/bin/sh
# bench/peers/web/run.sh [BUILD] - the web benchmarks side by side: grove's
# HTTP server, gevent's pywsgi and nginx (one worker) under the same wrk
# (keep-alive GET /, 100 connections, one thread), each server pinned to
# CPU 0 and wrk to CPU 1; then ws_echo against grove and against Python's
# websockets with the same grove client. Prints `NAME VALUE UNIT` lines
# (NAME.grove, NAME.gevent, NAME.nginx, NAME.python) and the ratios.
# Installs wrk, nginx-light, python3-gevent, python3-websockets if missing.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
build=${1:-$root/build}
bench=$build/bench/grove-bench
secs=${GROVE_BENCH_SECS:-5}
"$root/scripts/install-deps.sh" wrk nginx-light python3-gevent python3-websockets >/dev/null
py=/usr/bin/python3
tmp=$(mktemp -d)
pids=""
cleanup() { for p in $pids; do kill "$p" 2>/dev/null || true; done; rm -rf "$tmp"; }
trap cleanup EXIT
pin0="" pin1=""
if [ "$(nproc)" -ge 2 ]; then pin0="taskset -c 0"; pin1="taskset -c 1"; fi

free_port() { $py -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { i=0; while ! $py -c "import socket; socket.create_connection(('127.0.0.1',$1),1)" 2>/dev/null; do
  i=$((i+1)); [ $i -gt 100 ] && { echo "no server on $1" >&2; exit 1; }; sleep 0.1; done; }
rate() { # wrk against port $1: requests/s
  $pin1 wrk -t1 -c100 -d1s "http://127.0.0.1:$1/" >/dev/null 2>&1
  $pin1 wrk -t1 -c100 -d"${secs}s" "http://127.0.0.1:$1/" | awk '/Requests\/sec/ {print $2}'
}

# grove
$pin0 "$bench" --child web 0 >"$tmp/grove.port" & pids="$pids $!"
sleep 0.3; gport=$(cat "$tmp/grove.port"); wait_port "$gport"
g=$(rate "$gport")
echo "http_hello.grove $g req/s"
# gevent pywsgi
pport=$(free_port)
$pin0 $py "$here/pywsgi_hello.py" "$pport" & pids="$pids $!"
wait_port "$pport"
p=$(rate "$pport")
echo "http_hello.gevent $p req/s"
# nginx, one worker
nport=$(free_port)
mkdir -p "$tmp/nginx"
sed -e "s|PORT|$nport|" -e "s|DIR|$tmp/nginx|g" "$here/nginx.conf" >"$tmp/nginx/nginx.conf"
$pin0 /usr/sbin/nginx -c "$tmp/nginx/nginx.conf" -p "$tmp/nginx" & pids="$pids $!"
wait_port "$nport"
n=$(rate "$nport")
echo "http_hello.nginx $n req/s"
$py -c "g,p,n=$g,$p,$n; print('http_hello grove/gevent %.1fx (target >= 10x), grove/nginx %.2fx (target >= 0.8x)' % (g/p, g/n))"

# ws_echo: the same grove client against grove and Python websockets
w=$("$bench" ws_echo | awk '{print $2}')
echo "ws_echo.grove $w msgs/s"
wport=$(free_port)
$pin0 $py "$here/ws_echo.py" "$wport" & pids="$pids $!"
wait_port "$wport"
wp=$(GROVE_BENCH_WS_URL="ws://127.0.0.1:$wport/ws/echo" "$bench" ws_echo | awk '{print $2}')
echo "ws_echo.python $wp msgs/s"
$py -c "print('ws_echo grove/python %.1fx' % ($w/$wp))"
"$bench" http_long_poll_conns
