#!/usr/bin/python3
"""tests/chaos/chaos_net.py - grove nodes with real network faults between them.

Three nodes (a, b, c), each a chaos_node process in a network namespace of
its own, joined by veth pairs to a bridge in a fourth namespace. The test
creates all of it, and removes it whatever happens (atexit, signal handlers,
and namespaces of dead runs are swept at start). The faults:

  delay      every packet a node sends held DELAY ms (+ jitter): tc netem
             where the kernel has it, else chaos_delay (an NFQUEUE delayer)
  loss       a share of the packets a node sends dropped (iptables statistic)
  blip       a full partition of one pair shorter than the heartbeat timeout
  partition  a pair cannot talk at all (iptables DROP both ways)
  oneway     what x sends to y is dropped, what y sends to x arrives
  isolate    one node cut from the two others
  freeze     one node's process SIGSTOPped, then SIGCONTed (a hung host)

each followed by healing and a wait for every node to see every peer up
again. The nodes stream numbered messages to each other all along, probe each
other with calls, and watch each other's actors with monitors and links.

Then calls to a callee that ends without replying (they must fail at once,
not wait for their timeout) and, at the very end, node a returning from main
without grove_node_stop right after sending 20,000 messages to b (b must get
them all: a node flushes at exit).

The figures: messages sent, delivered, counted as dropped (the nodes' stats),
lost without a count (must be 0), duplicates and out of order per pair (must
be 0), false node-downs (during delay, loss and blips: must be 0), monitors
and links that fired twice or on one side only (must be 0), hung calls
(must be 0), the time to detect each partition and to recover after healing.

Without root, `ip`, network namespaces, iptables, or a way to delay packets
(netem or the NFQUEUE delayer), it says what is missing and exits 77 (ctest's
skip). Usage:

  chaos_net.py --node PATH_TO_chaos_node [--delay-bin PATH_TO_chaos_delay]
               [--duration SECONDS]   (default: the fixed sequence only)
"""
import argparse
import atexit
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import threading
import time

SKIP = 77
NODES = ["a", "b", "c"]
IP = {"a": "198.18.0.1", "b": "198.18.0.2", "c": "198.18.0.3"}  # RFC 2544 test range
PORT = 7400
HB_INTERVAL = 0.25
HB_TIMEOUT = 2.0
RATE = 1000  # messages a second, per ordered pair

created_ns = []
procs = []  # (name, Popen)
delayers = {}  # node -> Popen
prefix = "chx%d" % os.getpid()
cleaned = False


def log(msg):
    print("chaos_net: " + msg, flush=True)


def run(args, ns=None, check=True, quiet=False):
    cmd = (["ip", "netns", "exec", ns] if ns else []) + args
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if check and r.returncode != 0:
        raise RuntimeError("%s: %s" % (" ".join(cmd), r.stderr.strip()))
    return r


def ns_of(x):
    return prefix + x


def cleanup():
    global cleaned
    if cleaned:
        return
    cleaned = True
    for _, p in procs:
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except OSError:
            pass
    for p in delayers.values():
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except OSError:
            pass
    for _, p in procs:
        try:
            p.wait(timeout=5)
        except Exception:
            pass
    for ns in reversed(created_ns):
        run(["ip", "netns", "del", ns], check=False)


def on_signal(sig, frame):
    cleanup()
    sys.exit(128 + sig)


def sweep_stale():
    """Namespaces left by a run of this test that died without cleaning up."""
    r = run(["ip", "netns", "list"], check=False)
    for line in r.stdout.splitlines():
        m = re.match(r"^(chx(\d+))[a-z]+\b", line)
        if m and int(m.group(2)) != os.getpid() and not os.path.exists("/proc/%s" % m.group(2)):
            run(["ip", "netns", "del", line.split()[0]], check=False)


def skip(why):
    print("==== chaos summary: network ====")
    print("%-34s %s" % ("result", "SKIPPED: " + why))
    print("==== end network ====", flush=True)
    sys.exit(SKIP)


def probe_capabilities(delay_bin):
    if os.geteuid() != 0:
        skip("needs root to create network namespaces")
    if not shutil.which("ip"):
        skip("needs iproute2 (`ip`): scripts/install-deps.sh installs it")
    probe = prefix + "p"
    if run(["ip", "netns", "add", probe], check=False).returncode != 0:
        skip("cannot create a network namespace here (`ip netns add` failed)")
    try:
        run(["ip", "link", "set", "lo", "up"], ns=probe, check=False)
        if not shutil.which("iptables"):
            skip("needs iptables: scripts/install-deps.sh installs it")
        if run(["iptables", "-N", "CHAOS_PROBE"], ns=probe, check=False).returncode != 0:
            skip("iptables does not work in a network namespace here")
        if run(["tc", "qdisc", "add", "dev", "lo", "root", "netem", "delay", "1ms"], ns=probe,
               check=False).returncode == 0:
            return "netem"
        if delay_bin and os.access(delay_bin, os.X_OK) and run(
                ["iptables", "-A", "OUTPUT", "-o", "lo", "-j", "NFQUEUE", "--queue-num", "9",
                 "--queue-bypass"], ns=probe, check=False).returncode == 0:
            return "nfqueue"
        skip("no way to delay packets: tc netem is not in this kernel and the NFQUEUE delayer "
             "(chaos_delay, built with libnetfilter-queue-dev) is missing")
    finally:
        run(["ip", "netns", "del", probe], check=False)


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
        for chain, hook in (("CHAOS_IN", "INPUT"), ("CHAOS_OUT", "OUTPUT")):
            run(["iptables", "-N", chain], ns=ns)
            run(["iptables", "-A", hook, "-j", chain], ns=ns)
    for x in NODES:  # every pair can talk before the nodes start
        for y in NODES:
            if x != y:
                run(["ping", "-c", "1", "-W", "2", IP[y]], ns=ns_of(x), check=False)


# ---- the nodes --------------------------------------------------------------------------


class Node:
    def __init__(self, name, proc):
        self.name = name
        self.proc = proc
        self.ready = None
        self.reports = []
        self.report_done = threading.Event()
        self.ready_ev = threading.Event()
        self.diecalls = []
        self.diecalls_done = threading.Event()
        self.floodsent = None


events = []  # (t, observer, kind, peer, rest)
ev_lock = threading.Lock()


def reader(node, evlog):
    for line in node.proc.stdout:
        line = line.rstrip("\n")
        if line.startswith("EV "):
            parts = line.split()
            t = float(parts[1])
            kind = parts[2]
            peer = parts[3] if len(parts) > 3 else ""
            with ev_lock:
                events.append((t, node.name, kind, peer, parts[4:]))
            evlog.write("%.6f %s %s\n" % (t, node.name, " ".join(parts[2:])))
            evlog.flush()
        elif line.startswith("READY") or line.startswith("NOTREADY"):
            node.ready = line.startswith("READY")
            node.ready_ev.set()
        elif line.startswith("DIECALLS"):
            if line == "DIECALLS end":
                node.diecalls_done.set()
            else:
                node.diecalls.append(dict(kv.split("=", 1) for kv in line.split()[1:]))
        elif line.startswith("FLOODSENT"):
            node.floodsent = dict(kv.split("=", 1) for kv in line.split()[1:])
        elif line.startswith("REPORT"):
            if line == "REPORT end":
                node.report_done.set()
            else:
                node.reports.append(dict(kv.split("=", 1) for kv in line.split()[1:]))


def start_nodes(node_bin, errlog, evlog):
    env = dict(os.environ, CHAOS_RATE=str(RATE), CHAOS_HB_INTERVAL=str(HB_INTERVAL),
               CHAOS_HB_TIMEOUT=str(HB_TIMEOUT))
    nodes = {}
    for x in NODES:
        peers = ["%s=tcp://%s:%d" % (y, IP[y], PORT) for y in NODES if y != x]
        p = subprocess.Popen(["ip", "netns", "exec", ns_of(x), node_bin, x,
                              "tcp://%s:%d" % (IP[x], PORT)] + peers,
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=errlog,
                             text=True, bufsize=1, env=env, start_new_session=True)
        procs.append((x, p))
        node_pids[x] = p.pid  # `ip netns exec` execs the node: the same process
        n = Node(x, p)
        threading.Thread(target=reader, args=(n, evlog), daemon=True).start()
        nodes[x] = n
    return nodes


def tell(nodes, cmd):
    for n in nodes.values():
        try:
            n.proc.stdin.write(cmd + "\n")
            n.proc.stdin.flush()
        except (BrokenPipeError, ValueError):
            pass


# ---- faults -----------------------------------------------------------------------------

delay_method = None
delay_bin = None
workdir = "."


def drop(x, y, direction):
    if direction == "out":
        run(["iptables", "-A", "CHAOS_OUT", "-d", IP[y], "-j", "DROP"], ns=ns_of(x))
    else:
        run(["iptables", "-A", "CHAOS_IN", "-s", IP[y], "-j", "DROP"], ns=ns_of(x))


def fault_delay(x, ms, jitter):
    if delay_method == "netem":
        run(["tc", "qdisc", "add", "dev", "eth0", "root", "netem", "delay", "%dms" % ms,
             "%dms" % jitter], ns=ns_of(x))
    else:
        p = subprocess.Popen(["ip", "netns", "exec", ns_of(x), delay_bin, "1", str(ms),
                              str(jitter)], stdout=subprocess.DEVNULL, start_new_session=True)
        delayers[x] = p
        time.sleep(0.2)  # it has bound its queue
        run(["iptables", "-A", "CHAOS_OUT", "-o", "eth0", "-j", "NFQUEUE", "--queue-num", "1",
             "--queue-bypass"], ns=ns_of(x))


def fault_loss(x, p):
    for y in NODES:
        if y != x:
            run(["iptables", "-A", "CHAOS_OUT", "-d", IP[y], "-m", "statistic", "--mode",
                 "random", "--probability", "%.4f" % p, "-j", "DROP"], ns=ns_of(x))


def heal():
    for pid in node_pids.values():
        try:
            os.kill(pid, signal.SIGCONT)
        except OSError:
            pass
    for x in NODES:
        run(["iptables", "-F", "CHAOS_IN"], ns=ns_of(x), check=False)
        run(["iptables", "-F", "CHAOS_OUT"], ns=ns_of(x), check=False)
        if delay_method == "netem":
            run(["tc", "qdisc", "del", "dev", "eth0", "root"], ns=ns_of(x), check=False)
    for x, p in list(delayers.items()):
        try:
            os.killpg(p.pid, signal.SIGTERM)
            p.wait(timeout=5)
        except Exception:
            os.killpg(p.pid, signal.SIGKILL)
        del delayers[x]


node_pids = {}
nodes_g = {}


def apply(ph):
    k = ph["kind"]
    if k == "freeze":
        os.kill(node_pids[ph["node"]], signal.SIGSTOP)
    if k == "delay":
        fault_delay(ph["node"], ph["ms"], ph["jitter"])
    elif k == "loss":
        fault_loss(ph["node"], ph["p"])
    elif k in ("partition", "blip"):
        drop(ph["x"], ph["y"], "out")
        drop(ph["x"], ph["y"], "in")
    elif k == "oneway":  # what x sends to y is lost
        drop(ph["x"], ph["y"], "out")
    elif k == "isolate":
        for y in NODES:
            if y != ph["node"]:
                drop(ph["node"], y, "out")
                drop(ph["node"], y, "in")


def describe(ph):
    k = ph["kind"]
    if k == "delay":
        return "delay %s +%d ms (jitter %d ms, %s) %.1f s" % (ph["node"], ph["ms"], ph["jitter"],
                                                               delay_method, ph["secs"])
    if k == "loss":
        return "loss %s %.1f%% %.1f s" % (ph["node"], ph["p"] * 100, ph["secs"])
    if k in ("partition", "blip"):
        return "%s %s|%s %.1f s" % (k, ph["x"], ph["y"], ph["secs"])
    if k == "oneway":
        return "oneway %s->%s dropped %.1f s" % (ph["x"], ph["y"], ph["secs"])
    if k in ("isolate", "freeze"):
        return "%s %s %.1f s" % (k, ph["node"], ph["secs"])
    return "%s %.1f s" % (k, ph["secs"])


def cut_pairs(ph):
    """The (observer, peer) pairs whose link the fault cuts, and the pairs
    expected to see a node-down (the one-way case: the deaf side; the other
    side must learn it after healing, so both must see it in the end)."""
    k = ph["kind"]
    if k in ("partition", "oneway"):
        x, y = ph["x"], ph["y"]
        return {(x, y), (y, x)}
    if k in ("isolate", "freeze"):
        c = ph["node"]
        return {(c, y) for y in NODES if y != c} | {(y, c) for y in NODES if y != c}
    return set()


def all_up_since(t0):
    """Whether every observer's last node event about every peer since the
    start is an up (or there was none)."""
    last = {}
    with ev_lock:
        for t, obs, kind, peer, _ in events:
            if kind in ("nodeup", "nodedown"):
                last[(obs, peer)] = kind
    return all(v == "nodeup" for v in last.values())


def events_between(t0, t1, kinds):
    with ev_lock:
        return [e for e in events if t0 <= e[0] < t1 and e[2] in kinds]


# ---- the run ----------------------------------------------------------------------------


def fixed_phases():
    return [
        {"kind": "baseline", "secs": 3},
        {"kind": "delay", "node": "a", "ms": 100, "jitter": 20, "secs": 6},
        {"kind": "loss", "node": "b", "p": 0.05, "secs": 6},
        {"kind": "blip", "x": "a", "y": "c", "secs": 0.8},
        {"kind": "partition", "x": "a", "y": "b", "secs": 4},
        {"kind": "oneway", "x": "a", "y": "b", "secs": 4},
        {"kind": "isolate", "node": "c", "secs": 4},
        {"kind": "freeze", "node": "b", "secs": 4},
    ]


def random_phase(rng):
    k = rng.choice(["delay", "loss", "blip", "partition", "oneway", "isolate", "freeze"])
    x, y = rng.sample(NODES, 2)
    if k == "delay":
        return {"kind": k, "node": x, "ms": rng.randint(10, 200), "jitter": rng.randint(0, 30),
                "secs": rng.uniform(4, 12)}
    if k == "loss":
        return {"kind": k, "node": x, "p": rng.uniform(0.01, 0.05), "secs": rng.uniform(4, 12)}
    if k == "blip":
        return {"kind": k, "x": x, "y": y, "secs": rng.uniform(0.3, 0.9)}
    if k in ("isolate", "freeze"):
        return {"kind": k, "node": x, "secs": rng.uniform(HB_TIMEOUT + 1.5, 8)}
    return {"kind": k, "x": x, "y": y, "secs": rng.uniform(HB_TIMEOUT + 1.5, 8)}


def main():
    global delay_method, delay_bin, workdir
    ap = argparse.ArgumentParser()
    ap.add_argument("--node", required=True)
    ap.add_argument("--delay-bin")
    ap.add_argument("--duration", type=float,
                    default=float(os.environ.get("CHAOS_DURATION") or 0))
    ap.add_argument("--seed", type=int, default=int(os.environ.get("CHAOS_SEED") or 0))
    ap.add_argument("--workdir", default=".")
    args = ap.parse_args()
    seed = args.seed or random.randrange(1, 2**31)
    rng = random.Random(seed)
    delay_bin = args.delay_bin
    workdir = args.workdir
    for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(s, on_signal)
    atexit.register(cleanup)
    sweep_stale()
    delay_method = probe_capabilities(args.delay_bin)
    log("seed %d (CHAOS_SEED=%d repeats it), delay by %s" % (seed, seed, delay_method))
    setup_network()
    errlog = open(os.path.join(args.workdir, "chaos_net.log"), "w")
    evlog = open(os.path.join(args.workdir, "chaos_net_events.log"), "w")
    t_begin = time.monotonic()
    nodes = start_nodes(args.node, errlog, evlog)
    nodes_g.update(nodes)
    fails = []
    for n in nodes.values():
        if not n.ready_ev.wait(25) or not n.ready:
            fails.append("node %s never saw all its peers up (see chaos_net.log)" % n.name)
    if fails:
        return finish(nodes, [], fails, seed, t_begin, {})
    log("3 nodes up and watching each other in %.2f s" % (time.monotonic() - t_begin))

    phases = fixed_phases()
    results = []
    t_stop = t_begin + args.duration if args.duration > 0 else 0
    i = 0
    while True:
        if i < len(phases):
            ph = phases[i]
        elif t_stop and time.monotonic() + 15 < t_stop:
            ph = random_phase(rng)
        else:
            break
        i += 1
        results.append(run_phase(ph, fails))
    # remote calls whose callee ends without replying (every link up again)
    tell(nodes, "diecalls 5")
    for n in nodes.values():
        if not n.diecalls_done.wait(40):
            fails.append("node %s: the calls to ending callees did not finish in 40 s" % n.name)
    return finish(nodes, results, fails, seed, t_begin, {})


def run_phase(ph, fails):
    desc = describe(ph)
    t0 = time.monotonic()
    apply(ph)
    time.sleep(ph["secs"])
    t_heal = time.monotonic()
    heal()
    # recovery: every node sees every peer up again
    deadline = t_heal + 15
    while not all_up_since(t0) and time.monotonic() < deadline:
        time.sleep(0.02)
    recovered = all_up_since(t0)
    with ev_lock:
        ups = [e[0] for e in events if e[0] >= t_heal and e[2] == "nodeup"]
    t_rec = max(ups) if ups and recovered else None
    time.sleep(1.5)  # streams flow again
    # every node replaces its target: a monitor or link a node kept from
    # before the fault, although it was declared down, fires now (twice)
    tell(nodes_g, "rotate")
    time.sleep(1.0)
    t_end = time.monotonic()
    res = {"ph": ph, "desc": desc, "t0": t0, "heal": t_heal, "end": t_end,
           "recovered": recovered, "recovery": (t_rec - t_heal) if t_rec else None,
           "detect": [], "false_downs": 0, "double_downs": 0, "asym": 0}
    downs = events_between(t0, t_end, ("nodedown",))
    cut = cut_pairs(ph)
    per = {}
    for t, obs, _, peer, _ in downs:
        per.setdefault((obs, peer), []).append(t)
    for pair, ts in per.items():
        if pair not in cut:
            res["false_downs"] += len(ts)
            fails.append("%s: %s saw %s down %d time(s) (false node-down)" %
                         (desc, pair[0], pair[1], len(ts)))
        elif len(ts) > 1:
            res["double_downs"] += len(ts) - 1
            fails.append("%s: %s saw %s down %d times in one partition" %
                         (desc, pair[0], pair[1], len(ts)))
    for pair in sorted(cut):
        if pair in per:
            res["detect"].append(per[pair][0] - t0)
    # both sides must agree: a down seen by one is seen by the other
    for (x, y) in cut:
        if x < y and (((x, y) in per) != ((y, x) in per)):
            res["asym"] += 1
            seen, unseen = ((x, y), (y, x)) if (x, y) in per else ((y, x), (x, y))
            fails.append("%s: %s saw %s down but %s never saw %s down (sides disagree)" %
                         (desc, seen[0], seen[1], unseen[0], unseen[1]))
    if ph["kind"] in ("partition", "isolate", "oneway", "freeze") and \
            ph["secs"] > HB_TIMEOUT + 1.0:
        for (x, y) in cut:
            if ph["kind"] == "oneway" and (x, y) != (ph["y"], ph["x"]):
                continue
            if ph["kind"] == "freeze" and x == ph["node"]:
                continue  # the frozen node must learn it; the symmetry check says if it did
            if (x, y) not in per:
                fails.append("%s: %s never saw %s down (cut for %.1f s, heartbeat timeout "
                             "%.1f s)" % (desc, x, y, ph["secs"], HB_TIMEOUT))
    if not recovered:
        fails.append("%s: not every node saw every peer up within 15 s of healing" % desc)
    det = ", detect %s" % "/".join("%.2f" % d for d in res["detect"]) if res["detect"] else ""
    rec = ", recovered in %.2f s" % res["recovery"] if res["recovery"] is not None else ""
    log("%-46s downs %d%s%s%s" % (desc, len(downs), det, rec, "" if recovered else
                                  ", NOT RECOVERED"))
    return res


def finish(nodes, results, fails, seed, t_begin, _):
    tell(nodes, "stop")
    time.sleep(3.0)  # what is in flight arrives
    tell(nodes, "report")
    for n in nodes.values():
        if not n.report_done.wait(10):
            fails.append("node %s did not report" % n.name)
    # exit linger: a floods b, then returns from main without grove_node_stop
    FLOOD = 20000
    b = nodes["b"]
    # b's figures are those of the report above: its report after a's exit
    # also holds what a's exit set off (a's goodbye breaks the links to a's
    # actors at b, while a, gone, reports nothing more), and would count as
    # links broken at one end only. It gives the flood's figures alone.
    b_reports = b.reports
    b.reports = []
    b.report_done.clear()
    nodes["a"].proc.stdin.write("floodexit b %d\n" % FLOOD)
    nodes["a"].proc.stdin.flush()
    try:
        code_a = nodes["a"].proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        code_a = "hung"
        fails.append("node a did not exit within 20 s of returning from main")
    time.sleep(2.0)
    b.proc.stdin.write("report\n")
    b.proc.stdin.flush()
    b.report_done.wait(10)
    flood_recv = None
    for r in b.reports:
        if r.get("peer") == "a":
            flood_recv = int(r.get("flood_recv", 0))
            flood_ooo = int(r.get("flood_ooo", 0))
    b.reports = b_reports
    fs = nodes["a"].floodsent or {}
    flood_sent = int(fs.get("sent", 0))
    if flood_recv is None:
        fails.append("exit linger: b did not report")
        flood_recv = flood_ooo = 0
    elif flood_recv < flood_sent:
        fails.append("exit linger: a sent %d to b and returned from main without "
                     "grove_node_stop: b got %d, %d lost" % (flood_sent, flood_recv,
                                                           flood_sent - flood_recv))
    if flood_ooo:
        fails.append("exit linger: %d of a's last messages out of order" % flood_ooo)
    tell({k: v for k, v in nodes.items() if k != "a"}, "quit")
    codes = {"a": code_a}
    for name, p in procs:
        if name == "a":
            continue
        try:
            codes[name] = p.wait(timeout=15)
        except subprocess.TimeoutExpired:
            codes[name] = "hung"
            fails.append("node %s did not quit within 15 s" % name)
    elapsed = time.monotonic() - t_begin

    # per pair: what s sent to r, what r got from s
    peer_rep = {}
    node_rep = {}
    for n in nodes.values():
        for r in n.reports:
            if "peer" in r:
                peer_rep[(n.name, r["peer"])] = r
            elif "node" in r:
                node_rep[n.name] = r
    sent = delivered = dups = ooo = refused = 0
    pair_lines = []
    missing_total = 0
    for s in NODES:
        for r in NODES:
            if s == r or (s, r) not in peer_rep or (r, s) not in peer_rep:
                continue
            snt = int(peer_rep[(s, r)]["sent"])
            got = int(peer_rep[(r, s)]["uniq"])
            d = int(peer_rep[(r, s)]["dups"])
            o = int(peer_rep[(r, s)]["ooo"])
            sent += snt
            delivered += got
            dups += d
            ooo += o
            refused += int(peer_rep[(s, r)]["refused"])
            missing_total += max(0, snt - got)
            pair_lines.append("%s->%s sent %d delivered %d missing %d dup %d ooo %d" %
                              (s, r, snt, got, snt - got, d, o))
            if d or o:
                fails.append("%s->%s: %d duplicates, %d out of order" % (s, r, d, o))
    counted = 0
    counters = ("dropped_unroutable", "dropped_unknown_peer", "dropped_malformed",
                "dropped_version", "dropped_oversize", "unknown_target", "dropped_flow",
                "unconfirmed")
    per_counter = {c: 0 for c in counters}
    for nr in node_rep.values():
        for c in counters:
            per_counter[c] += int(nr.get(c, 0))
            counted += int(nr.get(c, 0))
    lost = max(0, missing_total - counted)
    if lost:
        fails.append("%d messages lost without a count (missing %d, counted drops %d)" %
                     (lost, missing_total, counted))

    def total(key):
        return sum(int(r.get(key, 0)) for r in peer_rep.values())
    probes_hung = total("probe_hung")
    if probes_hung:
        fails.append("%d hung probe calls" % probes_hung)
    mon_double, link_double, texit_double = (total("mon_double"), total("link_double"),
                                             total("texit_double"))
    if mon_double:
        fails.append("%d monitors fired twice (a DOWN for a monitor that already fired)" %
                     mon_double)
    if link_double:
        fails.append("%d links fired twice (an EXIT for a link that already fired)" % link_double)
    link_unknown = total("link_unknown")
    if link_unknown:
        fails.append("%d EXITs at a watcher from a target it never linked to" % link_unknown)
    if texit_double:
        fails.append("%d EXITs at a target for a link already broken" % texit_double)
    one_sided = 0
    for (x, y), r in peer_rep.items():
        if (y, x) in peer_rep:
            # x's watcher's link to y's target, broken by a node-down: at x and at y?
            a, b = int(r["link_fired_nc"]), int(peer_rep[(y, x)]["texits"])
            if a != b:
                one_sided += abs(a - b)
                fails.append("link %s.watcher-%s.target broke %d time(s) at %s, %d at %s "
                             "(one side only)" % (x, y, a, x, b, y))
    die = {"prompt": 0, "waited": 0, "answered": 0, "lookup_failed": 0, "n": 0}
    die_max = 0.0
    die_codes = set()
    for n in nodes.values():
        for d in n.diecalls:
            for k in die:
                die[k] += int(d.get(k, 0))
            die_max = max(die_max, float(d.get("max", 0)))
            die_codes.add(d.get("last", "?"))
    if die["waited"]:
        fails.append("%d of %d remote calls whose callee ended without replying waited for "
                     "their timeout (a local one fails at once)" % (die["waited"], die["n"]))
    if die["lookup_failed"]:
        fails.append("%d lookups of a restarted callee failed" % die["lookup_failed"])
    for name, c in codes.items():
        if c != 0:
            fails.append("node %s exited with %s (grove_hub_close not clean?)" % (name, c))

    false_downs = sum(r["false_downs"] for r in results)
    detect = sorted(d for r in results for d in r["detect"])
    recov = sorted(r["recovery"] for r in results if r["recovery"] is not None and
                   r["ph"]["kind"] in ("partition", "oneway", "isolate", "freeze"))

    def dist(v):
        if not v:
            return "n=0"
        return "n=%d min=%.2f median=%.2f max=%.2f s" % (len(v), v[0], v[len(v) // 2], v[-1])
    kinds = {}
    for r in results:
        kinds[r["ph"]["kind"]] = kinds.get(r["ph"]["kind"], 0) + 1
    lines = [
        ("seed", str(seed)),
        ("duration_s", "%.1f" % elapsed),
        ("topology", "3 nodes in network namespaces, bridge, tcp; heartbeat %.2f s, timeout "
         "%.1f s; %d msg/s per pair" % (HB_INTERVAL, HB_TIMEOUT, RATE)),
        ("delay_by", delay_method),
        ("phases", " ".join("%s=%d" % kv for kv in sorted(kinds.items()))),
        ("messages.sent", str(sent)),
        ("messages.delivered", str(delivered)),
        ("messages.refused_at_send", "%d (grove_send said EHOSTUNREACH: not sent)" % refused),
        ("messages.missing", str(missing_total)),
        ("messages.counted_dropped", "%d (%s)" % (counted, ", ".join(
            "%s %d" % (c, v) for c, v in per_counter.items() if v))),
        ("messages.lost_uncounted", str(lost)),
        ("messages.duplicates", str(dups)),
        ("messages.out_of_order", str(ooo)),
    ]
    lines += [("pair", pl) for pl in pair_lines]
    lines += [
        ("node_downs.false", "%d (during delay, loss, blips, or of pairs not cut)" % false_downs),
        ("node_downs.asymmetric", "%d (one side saw a down, the other never)" %
         sum(r["asym"] for r in results)),
        ("partition.detect_s", dist(detect)),
        ("partition.recover_s", dist(recov)),
        ("partition.not_recovered", str(sum(1 for r in results if not r["recovered"]))),
        ("monitors.fired", str(total("mon_fired"))),
        ("monitors.fired_twice", str(mon_double)),
        ("links.fired", "%d at the watcher, %d at the target" % (total("link_fired"),
                                                                  total("texits"))),
        ("links.fired_twice", str(link_double + texit_double)),
        ("links.one_sided", "%d (broken by a node-down at one end only)" % one_sided),
        ("links.unknown", str(link_unknown)),
        ("probes", "%d (ok %d, ehostunreach %d, timed out %d, other %d)" % (
            total("probes"), total("probe_ok"), total("probe_unreach"),
            total("probe_timeout"), total("probe_other"))),
        ("probes.hung", "%d (excused: %d, made by a node while it was frozen)" % (
            probes_hung, sum(int(r.get("probes_excused", 0)) for r in node_rep.values()))),
        ("calls_to_ending_callee", "%d (failed at once %d, waited for the 1 s timeout %d, "
         "answered %d; slowest %.3f s; codes %s)" % (
             die["n"], die["prompt"], die["waited"], die["answered"], die_max,
             ",".join(sorted(die_codes)) or "-")),
        ("exit_linger", "a sent %d to b, returned from main without grove_node_stop: b got %d "
         "(lost %d)" % (flood_sent, flood_recv, max(0, flood_sent - flood_recv))),
        ("node_exit_codes", " ".join("%s=%s" % kv for kv in sorted(codes.items()))),
        ("logs", "%s, %s" % (os.path.abspath(os.path.join(workdir, "chaos_net.log")),
                             os.path.abspath(os.path.join(workdir, "chaos_net_events.log")))),
    ]
    out = ["==== chaos summary: network ===="]
    out += ["%-34s %s" % kv for kv in lines]
    out += ["  FAIL " + f for f in fails]
    out.append("%-34s %s" % ("result", "FAIL" if fails else "PASS"))
    out.append("==== end network ====")
    text = "\n".join(out) + "\n"
    sys.stdout.write(text)
    sys.stdout.flush()
    sf = os.environ.get("CHAOS_SUMMARY_FILE")
    if sf:
        with open(sf, "a") as f:
            f.write(text)
    cleanup()
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
