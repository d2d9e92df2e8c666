#!/usr/bin/python3
"""tests/transport/mesh_netns.py - membership and cluster-wide names across
network namespaces: five grove nodes, each a mesh_node process in a namespace
of its own ("its own machine", with its own address), joined by veth pairs
to a bridge in a sixth namespace. The test creates all of it and removes it
whatever happens (atexit, signal handlers; namespaces of dead runs are swept
at start).

  1. join: n1 is the seed; n2..n5 are given only the seed (n3 and n5 by its
     endpoint alone, the others as name@endpoint). Every node must see the
     four others up within 2 s of the last one starting (the full mesh,
     by gossip).
  2. a global name: n2 registers "svc"; every member resolves it to n2 and
     calls it by name.
  3. partition: iptables DROP between {n1, n2} and {n3, n4, n5}. Each side
     must see the other side down and its own side up (consistent within
     the side); "svc" is dropped on the far side. Both sides then register
     the same names: "conf" (n1 and n4) and "svc" (n5, on the far side).
  4. heal: the full mesh again, every node's view the same; each conflict
     resolved by the rule - the registration whose node has the lower
     (incarnation, name) wins - on every member, and the loser's actor told
     (GROVE_TAG_GLOBAL_LOST), once.
  5. leave: n4 stops (removed everywhere at once), n5 is SIGKILLed (down
     everywhere within the heartbeat timeout).

Without root, `ip`, network namespaces or iptables it says what is missing
and exits 77 (ctest's skip).

  mesh_netns.py --node PATH_TO_mesh_node
"""
import argparse
import atexit
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time

SKIP = 77
NODES = ["n1", "n2", "n3", "n4", "n5"]
IP = {x: "198.18.7.%d" % (i + 1) for i, x in enumerate(NODES)}  # RFC 2544 test range
PORT = 7600
HB_INTERVAL = 0.2
HB_TIMEOUT = 1.2
FORGET = 8.0  # member_forget: how long a lost member stays listed
SIDE_A, SIDE_B = ["n1", "n2"], ["n3", "n4", "n5"]

prefix = "msh%d" % os.getpid()
created_ns = []
procs = {}
cleaned = False
failures = []


def log(msg):
    print("mesh_netns: " + msg, flush=True)


def check(cond, what):
    if not cond:
        failures.append(what)
        log("FAILED: " + what)
    return cond


def run(args, ns=None, check_rc=True):
    cmd = (["ip", "netns", "exec", ns] if ns else []) + args
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if check_rc and r.returncode != 0:
        raise RuntimeError("%s: %s" % (" ".join(cmd), r.stderr.strip()))
    return r


def ns_of(x):
    return prefix + x


def cleanup():
    global cleaned
    if cleaned:
        return
    cleaned = True
    for n in procs.values():
        try:
            os.killpg(n.proc.pid, signal.SIGKILL)
        except OSError:
            pass
        try:
            n.proc.wait(timeout=5)
        except Exception:
            pass
    for ns in reversed(created_ns):
        run(["ip", "netns", "del", ns], check_rc=False)


def on_signal(sig, frame):
    cleanup()
    sys.exit(128 + sig)


def sweep_stale():
    r = run(["ip", "netns", "list"], check_rc=False)
    for line in r.stdout.splitlines():
        m = re.match(r"^(msh(\d+))[a-z0-9]+\b", line)
        if m and int(m.group(2)) != os.getpid() and not os.path.exists("/proc/%s" % m.group(2)):
            run(["ip", "netns", "del", line.split()[0]], check_rc=False)


def skip(why):
    print("mesh_netns: SKIPPED: " + why, flush=True)
    sys.exit(SKIP)


def probe():
    if os.geteuid() != 0:
        skip("needs root to create network namespaces")
    if not shutil.which("ip"):
        skip("needs iproute2 (`ip`)")
    if not shutil.which("iptables"):
        skip("needs iptables")
    p = prefix + "p"
    if run(["ip", "netns", "add", p], check_rc=False).returncode != 0:
        skip("cannot create a network namespace here (`ip netns add` failed)")
    try:
        if run(["iptables", "-N", "MESH_PROBE"], ns=p, check_rc=False).returncode != 0:
            skip("iptables does not work in a network namespace here")
    finally:
        run(["ip", "netns", "del", p], check_rc=False)


def setup_network():
    sw = ns_of("s")
    run(["ip", "netns", "add", sw])
    created_ns.append(sw)
    run(["ip", "link", "add", "br0", "type", "bridge"], ns=sw)
    run(["ip", "link", "set", "br0", "up"], ns=sw)
    for x in NODES:
        ns = ns_of(x)
        run(["ip", "netns", "add", ns])
        created_ns.append(ns)
        run(["ip", "-n", ns, "link", "add", "eth0", "type", "veth", "peer", "name", "p" + x,
             "netns", sw])
        run(["ip", "-n", ns, "addr", "add", IP[x] + "/24", "dev", "eth0"])
        run(["ip", "-n", ns, "link", "set", "eth0", "up"])
        run(["ip", "-n", ns, "link", "set", "lo", "up"])
        run(["ip", "-n", sw, "link", "set", "p" + x, "master", "br0"])
        run(["ip", "-n", sw, "link", "set", "p" + x, "up"])
        for chain, hook in (("MESH_IN", "INPUT"), ("MESH_OUT", "OUTPUT")):
            run(["iptables", "-N", chain], ns=ns)
            run(["iptables", "-A", hook, "-j", chain], ns=ns)
    for x in NODES:
        for y in NODES:
            if x != y:
                run(["ping", "-c", "1", "-W", "2", IP[y]], ns=ns_of(x), check_rc=False)


class Node:
    def __init__(self, name, proc):
        self.name = name
        self.proc = proc
        self.lines = {}
        self.events = []
        self.ready = threading.Event()
        self.cv = threading.Condition()
        self.next_id = 0
        threading.Thread(target=self.reader, daemon=True).start()

    def reader(self):
        for line in self.proc.stdout:
            line = line.rstrip("\n")
            if line.startswith("READY"):
                self.ready.set()
            elif line.startswith("EV "):
                with self.cv:
                    self.events.append(line.split()[1:])
            elif line.startswith("R "):
                parts = line.split(" ", 2)
                with self.cv:
                    self.lines[parts[1]] = parts[2] if len(parts) > 2 else ""
                    self.cv.notify_all()

    def ask(self, cmd, timeout=5.0):
        with self.cv:
            self.next_id += 1
            rid = str(self.next_id)
        try:
            self.proc.stdin.write("%s %s\n" % (rid, cmd))
            self.proc.stdin.flush()
        except (BrokenPipeError, ValueError):
            return None
        deadline = time.monotonic() + timeout
        with self.cv:
            while rid not in self.lines:
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self.cv.wait(left)
            return self.lines.pop(rid)

    def view(self):
        """{name: (state, incarnation)} of grove_nodes."""
        r = self.ask("nodes")
        out = {}
        for item in (r or "").strip().split(","):
            if item:
                name, state, inc = item.split(":")
                out[name] = (int(state), int(inc))
        return out

    def up_set(self):
        return sorted(k for k, v in self.view().items() if v[0] == 0)


def start(node_bin, x, errlog):
    env = dict(os.environ, MESH_HB_INTERVAL=str(HB_INTERVAL), MESH_HB_TIMEOUT=str(HB_TIMEOUT),
               MESH_FORGET=str(FORGET))
    seed_ep = "tcp://%s:%d" % (IP["n1"], PORT)
    seeds = []
    if x != "n1":
        seeds = [seed_ep] if x in ("n3", "n5") else ["n1@" + seed_ep]
    p = subprocess.Popen(["ip", "netns", "exec", ns_of(x), node_bin, x,
                          "tcp://%s:%d" % (IP[x], PORT)] + seeds,
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=errlog, text=True,
                         bufsize=1, env=env, start_new_session=True)
    n = Node(x, p)
    procs[x] = n
    return n


def wait_for(pred, timeout, step=0.02):
    deadline = time.monotonic() + timeout
    while True:
        if pred():
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(step)


def views_are(nodes, expect):
    """expect: {node: sorted list of the members it must see up (and no others listed up)}."""
    return all(procs[x].up_set() == expect[x] for x in nodes)


def full_mesh(nodes):
    return {x: sorted(y for y in nodes if y != x) for x in nodes}


def drop_between(a_side, b_side):
    for x in a_side:
        for y in b_side:
            for (u, v) in ((x, y), (y, x)):
                run(["iptables", "-A", "MESH_OUT", "-d", IP[v], "-j", "DROP"], ns=ns_of(u))
                run(["iptables", "-A", "MESH_IN", "-s", IP[v], "-j", "DROP"], ns=ns_of(u))


def heal():
    for x in NODES:
        run(["iptables", "-F", "MESH_IN"], ns=ns_of(x), check_rc=False)
        run(["iptables", "-F", "MESH_OUT"], ns=ns_of(x), check_rc=False)


def where(x, name):
    r = (procs[x].ask("gwhere " + name) or "? -").split()
    return int(r[0]) if r[0].lstrip("-").isdigit() else None, r[1] if len(r) > 1 else "-"


def expected_winner(a, b):
    """The rule: the lower (incarnation, name) of the two owners, as the members list them."""
    inc = {}
    for x in NODES:
        if x in procs and procs[x].proc.poll() is None:
            for name, (state, i) in procs[x].view().items():
                inc.setdefault(name, i)
    return min((inc.get(a, 0), a), (inc.get(b, 0), b))[1]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--node", required=True)
    args = ap.parse_args()
    probe()
    atexit.register(cleanup)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    sweep_stale()
    setup_network()
    errlog = open(os.environ.get("MESH_ERRLOG", "/dev/null"), "w")

    # 1. join through the seed
    t_start = time.monotonic()
    for x in NODES:
        start(args.node, x, errlog)
    for x in NODES:
        check(procs[x].ready.wait(10), "%s started" % x)
    t_ready = time.monotonic()
    meshed = wait_for(lambda: views_are(NODES, full_mesh(NODES)), 10)
    t_mesh = time.monotonic() - t_ready
    log("5 nodes joined through one seed: fully meshed %.3f s after the last one started "
        "(%.3f s after the first was launched)" % (t_mesh, time.monotonic() - t_start))
    check(meshed, "full mesh after the join")
    check(t_mesh <= 2.0, "full mesh within 2 s (took %.3f s)" % t_mesh)
    inc = {x: procs["n1" if x != "n1" else "n2"].view()[x][1] for x in NODES}
    for x in NODES:  # every member lists the same incarnation for each member
        v = procs[x].view()
        check(all(v[y][1] == inc[y] for y in NODES if y != x),
              "%s agrees on the incarnations" % x)

    # 2. a global name resolved from every member
    check(procs["n2"].ask("greg svc") == "0", "n2 registers svc")
    ok = wait_for(lambda: all(where(x, "svc") == (0, "n2") for x in NODES), 3)
    check(ok, "svc resolved to n2 on every member")
    for x in NODES:
        check(procs[x].ask("gcall svc") == "0 n2", "%s calls svc by name" % x)

    # 3. partition
    t0 = time.monotonic()
    drop_between(SIDE_A, SIDE_B)
    expect = {x: sorted(y for y in (SIDE_A if x in SIDE_A else SIDE_B) if y != x) for x in NODES}
    parted = wait_for(lambda: views_are(NODES, expect), 4 * HB_TIMEOUT + 5)
    log("partition {n1,n2} | {n3,n4,n5}: seen on every node in %.3f s" % (time.monotonic() - t0))
    check(parted, "each side sees only itself up")
    for x in SIDE_A:
        v = procs[x].view()
        check(all(v.get(y, (9,))[0] == 2 for y in SIDE_B), "%s lists the far side as down" % x)
    check(wait_for(lambda: all(where(x, "svc")[0] == -2 for x in SIDE_B), 3),
          "svc dropped on the far side")
    check(all(where(x, "svc") == (0, "n2") for x in SIDE_A), "svc still resolved on its side")
    check(procs["n1"].ask("greg conf") == "0", "n1 registers conf")
    check(procs["n4"].ask("greg conf") == "0", "n4 registers conf")
    check(procs["n5"].ask("greg svc") == "0", "n5 registers svc on the far side")
    check(wait_for(lambda: all(where(x, "conf") == (0, "n1") for x in SIDE_A) and
                   all(where(x, "conf") == (0, "n4") for x in SIDE_B) and
                   all(where(x, "svc") == (0, "n5") for x in SIDE_B), 3),
          "each side resolves its own registrations")

    # 4. heal
    t0 = time.monotonic()
    heal()
    healed = wait_for(lambda: views_are(NODES, full_mesh(NODES)), 4 * HB_TIMEOUT + 10)
    log("healed: full mesh again in %.3f s" % (time.monotonic() - t0))
    check(healed, "full mesh after the heal")
    wc, ws = expected_winner("n1", "n4"), expected_winner("n2", "n5")
    log("rule: conf goes to %s, svc to %s" % (wc, ws))
    resolved = wait_for(lambda: all(where(x, "conf") == (0, wc) for x in NODES) and
                        all(where(x, "svc") == (0, ws) for x in NODES), 5)
    check(resolved, "both conflicts resolved by the rule on every member")
    for x in NODES:
        check(procs[x].ask("gcall conf") == "0 " + wc, "%s calls conf: the winner answers" % x)
    time.sleep(0.3)
    lost = {x: int(procs[x].ask("lost") or -1) for x in NODES}
    losers = {("n4" if wc == "n1" else "n1"), ("n5" if ws == "n2" else "n2")}
    for x in NODES:
        check(lost[x] == (1 if x in losers else 0),
              "%s told of its lost names: %d (expected %d)" % (x, lost[x], 1 if x in losers else 0))

    # 5. leave: a stop and a death
    procs["n4"].proc.stdin.write("0 quit\n")
    procs["n4"].proc.stdin.flush()
    check(procs["n4"].proc.wait(timeout=10) == 0, "n4 stopped cleanly")
    rest = ["n1", "n2", "n3", "n5"]
    # Its goodbye removes it at once; a member that took it for down first
    # (heartbeats late under load) or missed the goodbye removes it as a lost
    # member, after member_forget (docs/transport.md, "Leaving").
    t0 = time.monotonic()
    removed = wait_for(lambda: all("n4" not in procs[x].view() for x in rest), 3)
    if not removed:
        for x in rest:
            log("%s still lists n4 after 3 s: %s" % (x, procs[x].view().get("n4")))
        removed = wait_for(lambda: all("n4" not in procs[x].view() for x in rest),
                           HB_TIMEOUT + FORGET + 3)
        log("n4 removed everywhere %.3f s after its stop (as a lost member)" % (time.monotonic() - t0))
    check(removed, "n4 removed everywhere")
    check(all(procs[x].view().get("n4", (9,))[0] != 0 for x in rest), "n4 up nowhere")
    os.kill(procs["n5"].proc.pid, signal.SIGKILL)
    procs["n5"].proc.wait(timeout=5)
    rest = ["n1", "n2", "n3"]
    t0 = time.monotonic()
    check(wait_for(lambda: views_are(rest, full_mesh(rest)), HB_TIMEOUT + 3),
          "n5 down everywhere")
    log("n5 SIGKILLed: seen down everywhere in %.3f s" % (time.monotonic() - t0))
    if ws == "n5":
        check(wait_for(lambda: all(where(x, "svc")[0] == -2 for x in rest), 3),
              "n5's svc dropped with it")
    for x in rest:
        st = (procs[x].ask("stats") or "").split()
        log("%s: members_refused %s, global_conflicts %s, dropped_malformed %s" % (x, *st))
        procs[x].proc.stdin.write("0 quit\n")
        procs[x].proc.stdin.flush()
    for x in rest:
        check(procs[x].proc.wait(timeout=10) == 0, "%s stopped cleanly" % x)
    if failures:
        log("%d check(s) failed" % len(failures))
        return 1
    log("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
