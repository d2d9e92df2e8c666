#!/bin/sh
# make demo: run the demos from a build tree (default: build).
# First the actor demos (examples/*.c) at full size, then the ports of the
# gevent tutorial (examples/gevent/); the cluster demo joins as it lands.
set -eu
BUILD=${1:-build}
status=0

# ---- the actor demos: NAME, then what it shows ------------------------------
actors="$BUILD/examples"
for demo in \
  "pingpong:the tutorial's Pinger/Ponger as actor classes; 1,000,000 round trips" \
  "pipeline:source -> parse -> transform -> sink with bounded inboxes (backpressure)" \
  "supervision:a failing worker under a one_for_one supervisor; clients retry" \
  "skynet:1,000,000 actors in a 10-ary tree summing their ids"; do
  name=${demo%%:*}
  prog="$actors/$name"
  if [ ! -x "$prog" ]; then
    echo "demo: $prog not found; build first (make build)" >&2
    exit 1
  fi
  echo "==== actors: $name - ${demo#*:}"
  if ! "$prog"; then
    echo "demo: $name failed" >&2
    status=1
  fi
  echo
done

# ---- the gevent tutorial, ported ------------------------------------------------
dir="$BUILD/examples/gevent"
if [ ! -d "$dir" ]; then
  echo "demo: $dir not found; build first (make build)" >&2
  exit 1
fi
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
