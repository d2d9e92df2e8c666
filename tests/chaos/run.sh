#!/bin/sh
# tests/chaos/run.sh BUILD [DURATION] - the chaos suite's long form (`make
# chaos DURATION=600`): DURATION seconds in all (default 600), a quarter for
# the supervision tree, a quarter for the clusters, half for the network
# faults. Every part prints its summary block; all of them are also written
# to BUILD/chaos/chaos-summary-<date>.txt (the logs are beside it). Exits 0
# when every part passed (a skipped network part, 77, is reported as such
# and fails the long form: it was asked for).
# CHAOS_SEED=N repeats a run's choices.
set -u
BUILD=${1:?usage: tests/chaos/run.sh BUILD [DURATION]}
DURATION=${2:-600}
SRC=$(cd "$(dirname "$0")" && pwd)
BIN=$(cd "$BUILD/tests/chaos" && pwd)
WORK="$(cd "$BUILD" && pwd)/chaos"
mkdir -p "$WORK"
OUT="$WORK/chaos-summary-$(date +%Y%m%d-%H%M%S).txt"
export CHAOS_SUMMARY_FILE="$OUT"
q=$(awk "BEGIN { printf \"%d\", $DURATION / 4 }")
h=$(awk "BEGIN { printf \"%d\", $DURATION / 2 }")
echo "chaos: long form, $DURATION s (supervisor $q s, cluster $q s, network $h s); figures -> $OUT"
{
  echo "chaos suite, long form: $DURATION s, $(date -u +%Y-%m-%dT%H:%M:%SZ), $(git -C "$SRC" rev-parse --short HEAD 2>/dev/null)"
  echo "command: make chaos DURATION=$DURATION${CHAOS_SEED:+ CHAOS_SEED=$CHAOS_SEED}"
} > "$OUT"
cd "$WORK" || exit 2
status=0
"$BIN/chaos_sup" "$q"; rc=$?; echo "chaos: supervisor: exit $rc"; [ $rc -eq 0 ] || status=1
"$BIN/chaos_cluster" "$q"; rc=$?; echo "chaos: cluster: exit $rc"; [ $rc -eq 0 ] || status=1
delay=""
[ -x "$BIN/chaos_delay" ] && delay="--delay-bin $BIN/chaos_delay"
# shellcheck disable=SC2086
/usr/bin/python3 "$SRC/chaos_net.py" --node "$BIN/chaos_node" $delay --duration "$h" --workdir "$WORK"
rc=$?
if [ $rc -eq 77 ]; then
  echo "chaos: network: SKIPPED (see its summary)" | tee -a "$OUT"
  status=1
else
  echo "chaos: network: exit $rc"
  [ $rc -eq 0 ] || status=1
fi
echo "chaos: figures in $OUT"
exit $status
