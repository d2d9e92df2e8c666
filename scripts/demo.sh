#!/bin/sh
# make demo: run the demos from a build tree (default: build).
# Today these are the ports of the gevent tutorial (examples/gevent/); the
# actor ping-pong, pipeline and cluster demos join this list as they land.
set -eu
BUILD=${1:-build}
dir="$BUILD/examples/gevent"
if [ ! -d "$dir" ]; then
  echo "demo: $dir not found; build first (make build)" >&2
  exit 1
fi
status=0
for prog in "$dir"/*; do
  [ -x "$prog" ] && [ -f "$prog" ] || continue
  case "$prog" in *.actual) continue ;; esac
  name=$(basename "$prog")
  echo "==== gevent tutorial, in C: $name"
  if ! "$prog"; then
    echo "demo: $name failed" >&2
    status=1
  fi
  echo
done
exit $status
