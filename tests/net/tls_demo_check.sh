#!/bin/sh
# tests/net/tls_demo_check.sh HTTP_SERVER PYTHON3 - demo_server_check.py over
# HTTPS and WSS, with certificates made for this run (make_certs.sh).
set -eu
here=$(dirname "$0")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$here/make_certs.sh" "$tmp"
"$2" "$here/demo_server_check.py" "$1" --tls "$tmp"
