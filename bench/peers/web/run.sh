#!/bin/sh
# bench/peers/web/run.sh [BUILD] - the web benchmarks side by side, without
# the rest of `make bench`: grove's HTTP server, gevent's pywsgi and nginx
# (one worker) under the same wrk; ws_echo against grove and against
# Python's websockets with the same grove client; http_long_poll_conns.
# Prints `NAME.PEER VALUE UNIT` lines and the ratios against the targets.
# Each peer is run by peer.sh, exactly as `make bench` runs it.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
build=${1:-$root/build}
bench=$build/bench/grove-bench
"$root/scripts/install-deps.sh" wrk nginx-light python3-gevent python3-websockets >/dev/null
val() { awk 'NR == 1 {print $2}'; }

g=$("$bench" http_hello | val)
echo "http_hello.grove $g req/s"
p=$(sh "$here/peer.sh" http_hello gevent | val)
echo "http_hello.gevent $p req/s"
n=$(sh "$here/peer.sh" http_hello nginx | val)
echo "http_hello.nginx $n req/s"
/usr/bin/python3 -c "g,p,n=$g,$p,$n; print('http_hello grove/gevent %.1fx (target >= 10x), grove/nginx %.2fx (target >= 0.8x)' % (g/p, g/n))"

w=$("$bench" ws_echo | val)
echo "ws_echo.grove $w msgs/s"
wp=$(GROVE_BENCH="$bench" sh "$here/peer.sh" ws_echo websockets | val)
echo "ws_echo.python $wp msgs/s"
/usr/bin/python3 -c "print('ws_echo grove/python %.1fx' % ($w/$wp))"
"$bench" http_long_poll_conns
