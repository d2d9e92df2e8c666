#!/bin/sh
# Install the Debian packages grove needs, only those that are missing.
# Usage: scripts/install-deps.sh [extra-package ...]
#   GROVE_DEPS_EXTRA="pkg ..." adds packages too (the test suite adds
#   python3-gevent, used to check the gevent ports against real gevent;
#   `make test` installs it).
# python3-zmq and python3-msgpack: the transport's interop test runs a
# Python node against a grove node (tests/transport/interop.py) and
# make_corpus.py regenerates the wire fuzzer's seeds.
# libcurl4-openssl-dev, libhiredis-dev and redis-server: the grove-patch
# tests run libcurl's and hiredis' blocking APIs in greenlets (tests/patch/).
# libhttp-parser-dev, libssl-dev: net/ (the HTTP server, WebSockets, TLS).
# The net tests drive the demo HTTP server with python3-websockets, openssl
# (s_client; test certificates are made at run time), chromium (headless, a
# real browser on the tutorial's page; libjs-jquery is the page's jQuery);
# the web benchmarks use wrk, nginx-light and python3-gevent (pywsgi).
# libncurses-dev: grove-top (tools/), the live view of a node; tmux: its
# test drives it in a detached tmux session (send-keys, capture-pane).
# The chaos suite (tests/chaos) builds network namespaces with iproute2 and
# iptables, and delays packets with tc netem or, on a kernel without netem,
# with its NFQUEUE delayer (libnetfilter-queue-dev).
# The metrics test (tests/net/metrics_check.py) checks a scrape of the
# Prometheus endpoint with real parsers: promtool (prometheus) and
# python3-prometheus-client.
set -eu

pkgs="build-essential cmake pkg-config libuv1-dev libmsgpack-dev libzmq3-dev python3-zmq python3-msgpack libhttp-parser-dev libssl-dev"
# test-only: grove-patch (libcurl, hiredis, redis) and net/ (see above)
pkgs="$pkgs libcurl4-openssl-dev libhiredis-dev redis-server openssl python3-websockets chromium libjs-jquery"
pkgs="$pkgs libncurses-dev tmux"
pkgs="$pkgs iproute2 iptables libnetfilter-queue-dev prometheus python3-prometheus-client"
pkgs="$pkgs $* ${GROVE_DEPS_EXTRA:-}"

missing=""
for p in $pkgs; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing="$missing $p"
  fi
done
[ -z "$missing" ] && exit 0

echo "grove: installing missing packages:$missing"
if [ "$(id -u)" -eq 0 ]; then
  SUDO=""
elif command -v sudo >/dev/null 2>&1; then
  SUDO="sudo"
else
  echo "grove: need root (or sudo) to install:$missing" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
