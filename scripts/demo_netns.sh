#!/bin/sh
# scripts/demo_netns.sh BUILD - the map-reduce demo across machines:
# examples/cluster --hosts in three network namespaces, each its own
# "machine" with its own address (198.18.10.1-3, veth pairs to a bridge in a
# fourth namespace), CURVE on every link (keys from a key file). The
# coordinator and worker-0 run on m1, worker-1 on m2, worker-2 on m3; one
# second into the job m3 is cut off (`ip link set eth0 down`), two seconds
# later it is healed. The job must finish with the checked result.
# Needs root, iproute2 and network namespaces; says so and skips (exit 0)
# without them. Everything it creates is removed whatever happens.
set -u
BUILD=${1:-build}
prog="$BUILD/examples/cluster"
P=gdm$$
# As a test (ctest examples/cluster_netns) a skip exits DEMO_NETNS_SKIP (77).
skip() {
  echo "demo: skipped the multi-host demo: $1"
  exit "${DEMO_NETNS_SKIP:-0}"
}
[ "$(id -u)" = 0 ] || skip "it needs root to create network namespaces"
command -v ip >/dev/null 2>&1 || skip "it needs iproute2 (ip)"
ip netns add ${P}p 2>/dev/null || skip "this kernel or container does not allow network namespaces"
ip netns del ${P}p
[ -x "$prog" ] || { echo "demo: $prog not found; build first (make build)" >&2; exit 1; }

dir=$(mktemp -d)
pid=
cleanup() {
  [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null
  for x in m1 m2 m3 s; do ip netns del $P$x 2>/dev/null; done
  rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ip netns add ${P}s
ip -n ${P}s link add br0 type bridge
ip -n ${P}s link set br0 up
i=1
for x in m1 m2 m3; do
  ip netns add $P$x
  ip -n $P$x link add eth0 type veth peer name p$x netns ${P}s
  ip -n $P$x addr add 198.18.10.$i/24 dev eth0
  ip -n $P$x link set eth0 up
  ip -n $P$x link set lo up
  ip -n ${P}s link set p$x master br0
  ip -n ${P}s link set p$x up
  i=$((i + 1))
done
for a in 2 3; do ip netns exec ${P}m1 ping -c 1 -W 2 198.18.10.$a >/dev/null 2>&1; done
echo "three machines: ${P}m1 198.18.10.1 (coordinator, worker-0), ${P}m2 198.18.10.2 (worker-1),"
echo "${P}m3 198.18.10.3 (worker-2); a bridge between them"

"$prog" --make-keyfile "$dir/cluster.key_secret" || exit 1
: >"$dir/out" # both writers append, so the script's lines fall in place
ip netns exec ${P}m1 "$prog" --hosts "198.18.10.1,198.18.10.2@${P}m2,198.18.10.3@${P}m3" \
  --keyfile "$dir/cluster.key_secret" >>"$dir/out" 2>&1 &
pid=$!
tries=0
until grep -q "job started" "$dir/out" 2>/dev/null; do
  tries=$((tries + 1))
  if [ $tries -gt 300 ] || ! kill -0 $pid 2>/dev/null; then
    cat "$dir/out"
    echo "demo: the coordinator did not start its job" >&2
    exit 1
  fi
  sleep 0.05
done
sleep 1
echo "[demo] cutting ${P}m3 off: ip link set eth0 down" >>"$dir/out"
ip -n ${P}m3 link set eth0 down
sleep 2
echo "[demo] healing ${P}m3: ip link set eth0 up" >>"$dir/out"
ip -n ${P}m3 link set eth0 up
wait $pid
rc=$?
pid=
cat "$dir/out"
[ $rc = 0 ] || echo "demo: the multi-host job failed" >&2
exit $rc
