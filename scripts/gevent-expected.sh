#!/bin/sh
# Regenerate examples/gevent/NAME.expected from NAME.py with the real gevent.
#
# Usage: scripts/gevent-expected.sh [--check] [NAME ...]
#   With no NAME, every examples/gevent/*.py is run. Each program is run
#   twice and must print the same thing both times (the ports are meant to
#   be deterministic); its output then becomes NAME.expected.
#   --check writes nothing and fails if an .expected file is out of date.
#
# gevent must be importable by /usr/bin/python3 (the distribution's Python:
# a pyenv or virtualenv python3 earlier on PATH usually lacks it). If it is
# not, python3-gevent is installed with apt-get.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
dir="$here/../examples/gevent"
py=/usr/bin/python3

check=0
if [ "${1:-}" = "--check" ]; then
  check=1
  shift
fi

if ! "$py" -c 'import gevent' 2>/dev/null; then
  "$here/install-deps.sh" python3-gevent
fi
# The web ports (web_*.py) use Flask and gevent-websocket.
if ! "$py" -c 'import flask, geventwebsocket' 2>/dev/null; then
  "$here/install-deps.sh" python3-flask python3-gevent-websocket
fi
echo "gevent-expected: gevent $("$py" -c 'import gevent; print(gevent.__version__)')"

if [ $# -eq 0 ]; then
  set -- $(cd "$dir" && ls -- *.py | sed 's/\.py$//')
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

status=0
for name in "$@"; do
  name=${name%.py}
  src="$dir/$name.py"
  if [ ! -f "$src" ]; then
    echo "gevent-expected: no such port: $src" >&2
    status=1
    continue
  fi
  # The ports print UTF-8 (some seeds are Chinese); do not depend on the
  # caller's locale. Run from the example's folder, as a user would.
  if ! (cd "$dir" && PYTHONIOENCODING=utf-8 "$py" "$name.py" >"$tmp/1" 2>"$tmp/err1") ||
     ! (cd "$dir" && PYTHONIOENCODING=utf-8 "$py" "$name.py" >"$tmp/2" 2>"$tmp/err2"); then
    echo "gevent-expected: $name.py failed:" >&2
    cat "$tmp/err1" "$tmp/err2" >&2
    status=1
    continue
  fi
  if ! cmp -s "$tmp/1" "$tmp/2"; then
    echo "gevent-expected: $name.py is not deterministic:" >&2
    diff -u "$tmp/1" "$tmp/2" >&2 || true
    status=1
    continue
  fi
  if [ $check -eq 1 ]; then
    if ! cmp -s "$tmp/1" "$dir/$name.expected"; then
      echo "gevent-expected: $name.expected is out of date:" >&2
      diff -u "$dir/$name.expected" "$tmp/1" >&2 || true
      status=1
    fi
  elif ! cmp -s "$tmp/1" "$dir/$name.expected" 2>/dev/null; then
    cp "$tmp/1" "$dir/$name.expected"
    echo "gevent-expected: wrote $name.expected"
  fi
done
exit $status
