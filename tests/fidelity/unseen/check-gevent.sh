#!/bin/sh
# Runs every unseen/NAME.py under gevent and compares its output with
# NAME.expected. A program may be reordered by a timer that fires late on a
# loaded machine: a mismatch is tried twice more before it counts.
# Exit 77 (skip) when /usr/bin/python3 cannot import gevent.
# --write: (re)write NAME.expected from gevent instead of comparing.
dir=$(cd "$(dirname "$0")" && pwd)
py=/usr/bin/python3
if ! "$py" -c 'import gevent' 2>/dev/null; then
  echo "SKIP: /usr/bin/python3 cannot import gevent (scripts/install-deps.sh python3-gevent)"
  exit 77
fi
fail=0
for src in "$dir"/*.py; do
  name=$(basename "$src" .py)
  if [ "${1:-}" = "--write" ]; then
    "$py" "$src" >"$dir/$name.expected" 2>/dev/null || fail=1
    echo "wrote $name.expected"
    continue
  fi
  ok=0
  for try in 1 2 3; do
    if "$py" "$src" 2>/dev/null | cmp -s - "$dir/$name.expected"; then
      ok=1
      break
    fi
  done
  if [ $ok = 1 ]; then
    echo "ok: gevent prints $name.expected"
  else
    echo "FAIL: gevent does not print $name.expected:"
    "$py" "$src" 2>/dev/null | diff -u "$dir/$name.expected" -
    fail=1
  fi
done
exit $fail
