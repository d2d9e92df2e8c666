#!/bin/sh
# make demo: run the demos from a build tree (default: build).
# First the actor demos (examples/*.c) at full size and the transport demos
# (two processes, a cluster of worker processes, the cluster across three
# network namespaces when the machine allows them), grove-top looking at a
# running node, then the cooperative I/O demos, then the ports of the gevent
# tutorial (examples/gevent/).
set -eu
BUILD=${1:-build}
status=0

# ---- the actor and transport demos: KIND:NAME:what it shows -------------------
actors="$BUILD/examples"
for demo in \
  "actors:pingpong:the tutorial's Pinger/Ponger as actor classes; 1,000,000 round trips" \
  "actors:pipeline:source -> parse -> transform -> sink with bounded inboxes (backpressure)" \
  "actors:supervision:a failing worker under a one_for_one supervisor; clients retry" \
  "actors:skynet:1,000,000 actors in a 10-ary tree summing their ids" \
  "actors:parallel_map:a parallel map with one worker actor per hub (every core); its speed-up over one hub" \
  "transport:remote_pingpong:ping-pong between two processes over ZeroMQ: sends, calls, one-way throughput" \
  "transport:cluster:a map-reduce job on 3 worker processes; one is SIGKILLed halfway and restarted"; do
  kind=${demo%%:*}
  rest=${demo#*:}
  name=${rest%%:*}
  prog="$actors/$name"
  if [ ! -x "$prog" ]; then
    echo "demo: $prog not found; build first (make build)" >&2
    exit 1
  fi
  echo "==== $kind: $name - ${rest#*:}"
  if ! "$prog"; then
    echo "demo: $name failed" >&2
    status=1
  fi
  echo
done

# ---- the cluster across machines: three network namespaces ------------------------
# scripts/demo_netns.sh: the same map-reduce job with a worker on each of
# three "machines" (namespaces with their own addresses), CURVE from a key
# file, one machine cut off mid-job and healed. Skipped (and says so)
# without root or network namespaces.
echo "==== transport: cluster --hosts - the job across three machines (network namespaces), one cut off and healed"
if ! scripts/demo_netns.sh "$BUILD"; then
  echo "demo: the multi-host cluster failed" >&2
  status=1
fi
echo

# ---- grove-top: the live view of a running node ---------------------------------
# examples/observed runs a node with its introspection on (a pipeline whose
# sink falls behind, an actor stuck with a full bounded inbox, a busy actor
# on a second hub); grove-top --once prints one frame of what it sees.
# Interactively: build/examples/observed --introspect tcp://127.0.0.1:7070
# in one terminal, build/tools/grove-top observed tcp://127.0.0.1:7070 in
# another (docs/observability.md).
top="$BUILD/tools/grove-top"
echo "==== tools: grove-top - a live view of a node's actors, inboxes, greenlets and peers"
if [ ! -x "$top" ]; then
  echo "demo: $top not built (ncurses missing: apt-get install libncurses-dev); skipped"
elif [ ! -x "$actors/observed" ]; then
  echo "demo: $actors/observed not found; build first (make build)" >&2
  exit 1
else
  dir=$(mktemp -d)
  ep="ipc://$dir/observed"
  "$actors/observed" --introspect "$ep" --seconds 30 >"$dir/out" 2>&1 &
  node=$!
  tries=0
  until grep -q "look at it with" "$dir/out" 2>/dev/null || [ $tries -ge 100 ]; do
    sleep 0.1
    tries=$((tries + 1))
  done
  sleep 2 # let the inboxes grow
  echo "\$ grove-top --once observed $ep"
  if ! "$top" --once observed "$ep"; then
    echo "demo: grove-top failed" >&2
    status=1
  fi
  kill "$node" 2>/dev/null || true
  if ! wait "$node"; then
    echo "demo: observed failed:" >&2
    cat "$dir/out" >&2
    status=1
  fi
  rm -rf "$dir"
fi
echo

# ---- the cooperative I/O demos: servers on 127.0.0.1 (free ports) and -------
# scripted clients in the same process (--demo); NAME:what it shows
for demo in \
  "echo_server:the tutorial's StreamServer: greet each connection, echo its lines; 3 clients at once" \
  "portforwarder:gevent's portforwarder.py: an echo backend behind a forwarder, half-closes passed on" \
  "chat:a chat room; each connection is an actor, the room broadcasts with grove_send" \
  "http_server:the tutorial's web programs on grove's HTTP server: Hello World, streaming, long polling, WebSockets"; do
  name=${demo%%:*}
  prog="$actors/$name"
  if [ ! -x "$prog" ]; then
    echo "demo: $prog not found; build first (make build)" >&2
    exit 1
  fi
  echo "==== I/O: $name - ${demo#*:}"
  if ! "$prog" --demo; then
    echo "demo: $name failed" >&2
    status=1
  fi
  echo
done

# The tutorial's subprocess example: a "cron" greenlet keeps printing while
# `sleep 1; uname` runs in a child process.
if [ -x "$actors/subprocess" ]; then
  echo "==== I/O: subprocess - a cron greenlet prints while 'sleep 1; uname' runs (gevent.subprocess)"
  if ! "$actors/subprocess"; then
    echo "demo: subprocess failed" >&2
    status=1
  fi
  echo
fi

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
