#!/bin/sh
# tests/net/browser_check.sh HTTP_SERVER - a real browser on the demo
# server: headless Chromium opens /index.html (the tutorial's page, served by
# the same server), its WebSocket connects to /ws and receives the feed; the
# DOM Chromium dumps must show "Connected" and the data paragraphs
# ({"x": 0, "y": 1..5} first). Skipped (77) when Chromium is missing.
set -u
prog=$1
chromium=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$chromium" ]; then
  echo "skipped: chromium is not installed (apt-get install chromium)"
  exit 77
fi
tmp=$(mktemp -d)
srv_pid=
cleanup() {
  [ -n "$srv_pid" ] && kill "$srv_pid" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
"$prog" --port 0 >"$tmp/server.out" &
srv_pid=$!
i=0
while ! grep -q "^listening on" "$tmp/server.out" 2>/dev/null; do
  i=$((i + 1))
  [ $i -gt 100 ] && { echo "FAIL: the server did not start"; exit 1; }
  sleep 0.05
done
port=$(sed -n 's/^listening on \([0-9]*\)$/\1/p' "$tmp/server.out")
# Virtual time runs only while the page is idle: the WebSocket's messages
# arrive in real time, so the budget is in real seconds here too. A loaded
# machine (or a sanitizer build of the server) can need longer: up to three
# tries, each with twice the budget.
for budget in 4000 8000 16000; do
  timeout 90 "$chromium" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$tmp/profile" --virtual-time-budget=$budget --dump-dom \
    "http://127.0.0.1:$port/index.html" >"$tmp/dom.html" 2>"$tmp/chromium.err"
  if grep -q '<div id="conn_status"><b>Connected</b></div>' "$tmp/dom.html" &&
     grep -Eq '<p>\{"x": 0, "y": [1-5]\}</p>' "$tmp/dom.html"; then
    break
  fi
  echo "     the page was not ready after a budget of $budget ms: trying again"
done
status=0
if grep -q '<div id="conn_status"><b>Connected</b></div>' "$tmp/dom.html"; then
  echo "ok   the page's WebSocket connected"
else
  echo "FAIL: the page does not say Connected"; status=1
fi
if grep -Eq '<p>\{"x": 0, "y": [1-5]\}</p>' "$tmp/dom.html"; then
  n=$(grep -Eo '<p>\{"x": [0-9]+, "y": [1-5]\}</p>' "$tmp/dom.html" | wc -l)
  echo "ok   the page received the feed ($n message(s), the first {\"x\": 0, ...})"
else
  echo "FAIL: no data in the page"; status=1
fi
[ $status -eq 0 ] || { echo "--- DOM:"; cat "$tmp/dom.html"; echo "--- chromium:"; tail -5 "$tmp/chromium.err"; }
kill -TERM "$srv_pid"
wait "$srv_pid"
rc=$?
srv_pid=
if [ $rc -eq 0 ]; then echo "ok   the server stopped cleanly on SIGTERM"; else echo "FAIL: server exit $rc"; status=1; fi
exit $status
