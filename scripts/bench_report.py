"""bench_report.py - turn scripts/bench.sh's results into docs/benchmarks.md.

    /usr/bin/python3 scripts/bench_report.py --results R.tsv --meta M.tsv \\
        --out docs/benchmarks.md --img docs/img [--readme README.md]

Reads one row per figure per run (results.tsv) and the machine's description
(meta.tsv), and writes the page: the machine and every runtime's version, a
headline table (grove against the best peer for each benchmark), then one
table per benchmark (median over the runs, min-max, median peak RSS, ratio to
grove, the target) with a bar chart in docs/img/bench-NAME.png when
matplotlib is there. The headline table goes between the markers
<!-- headline:start --> and <!-- headline:end --> in the page and, if it has
them, in README.md.
"""
import argparse
import csv
import os
import re
import statistics
import sys

# name: (what it measures, unit shown, better ("lower"/"higher"))
BENCHES = {
    "switch": ("raw context switch between two contexts: the floor under every blocking call",
               "ns", "lower"),
    "yield": ("hand-off between two greenlets through the scheduler (grove_sleep(0), "
              "runtime.Gosched, gevent.sleep(0))", "ns", "lower"),
    "spawn_join": ("spawn + run + exit + join (or receive the result), one at a time",
                   "ns", "lower"),
    "queue_pingpong": ("messages per second between two greenlets over two queues (Go: channels)",
                       "M msgs/s", "higher"),
    "greenlets_1m": ("resident memory per greenlet, 1M greenlets blocked on one event "
                     "(Go: goroutines blocked on one channel)", "B/greenlet", "lower"),
    "greenlets_1m_spawn": ("time to spawn the 1M greenlets and run each to its wait",
                           "s", "lower"),
    "actor_pingpong": ("messages per second between two actors bouncing a ball",
                       "M msgs/s", "higher"),
    "cross_hub_pingpong": ("messages per second between two actors on two hubs of one process "
                           "(Go: two goroutines over unbuffered channels; Erlang, CAF: "
                           "actor_pingpong. The peers run on every core, but their schedulers, "
                           "not the program, decide where the two run)", "M msgs/s", "higher"),
    "cross_hub_call": ("a request and its reply to an actor on another hub of the process "
                       "(the peers: call_roundtrip on every core)", "ns", "lower"),
    "parallel_pingpong": ("total messages per second, one ping-pong pair per hub, all hubs "
                          "(the peers: one pair per core)", "M msgs/s", "higher"),
    "parallel_pingpong_ratio": ("parallel_pingpong over the same pairs on one hub (the peers: "
                                "on one thread of the same process: GOMAXPROCS(1), "
                                "schedulers_online 1, a CAF system of one thread)", "x",
                                "higher"),
    "hubs_idle_cpu": ("CPU used by an idle 2-hub process over 2 s, after 1000 calls (the "
                      "peers: their runtime on every core, idle after as many calls)", "%",
                      "lower"),
    "call_roundtrip": ("a request and its reply to a local actor (grove_call, gen_server-style "
                       "call, CAF request/then, a reply channel, an AsyncResult)",
                       "ns", "lower"),
    "actors_1m_idle": ("resident memory per idle actor, 1M actors that have each run their init",
                       "B/actor", "lower"),
    "skynet": ("1M actors in a 10-ary tree, each leaf sends its id up, each node sums: wall time "
               "(the peak RSS column is the whole process)", "s", "lower"),
    "skynet_hubs": ("skynet over one hub per core, the root's ten subtrees placed round-robin "
                    "on the hubs (the peers: their skynet on every core, placed by their "
                    "schedulers)", "s", "lower"),
    "pipeline": ("messages per second through source -> parse -> transform -> sink, "
                 "each hop bounded to 64 messages (3 deliveries per item)",
                 "M msgs/s", "higher"),
    "fairness_timer_lateness": ("worst lateness of a 10 ms periodic timer while an actor works "
                                "through a backlog of 2M messages (about 1 µs of work each)",
                                "ms", "lower"),
    "remote_rtt_ipc": ("round trip of a 32-byte message to another process over ipc:// (median)",
                       "us", "lower"),
    "remote_rtt_tcp": ("round trip of a 32-byte message to another process over loopback TCP (median)",
                       "us", "lower"),
    "remote_throughput_ipc": ("one-way 32-byte messages per second to another process over "
                              "ipc://. The libzmq row sends each message as its own ZeroMQ "
                              "message; a transport that packs a sender's messages into one "
                              "frame (grove's does) can pass it",
                              "msgs/s", "higher"),
    "remote_throughput_tcp": ("one-way 32-byte messages per second to another process over loopback TCP",
                              "msgs/s", "higher"),
    "remote_throughput_curve": ("as remote_throughput_tcp, encrypted with CURVE",
                                "msgs/s", "higher"),
    "remote_flood_rss": ("peak resident memory of a node receiving 1M one-way 100-byte messages "
                         "into an actor with a 64-message inbox (flow control holds the sender "
                         "back)", "MiB", "lower"),
    "remote_flood_timer_lateness": ("worst lateness of a 10 ms periodic timer on a node receiving "
                                    "a 2 s flood of 100-byte messages", "ms", "lower"),
    "remote_flood_timer_lateness_256k": ("the same with a flood of 256 KiB messages",
                                         "ms", "lower"),
    "tcp_echo": ("echo round trips per second: 100 connections, 64-byte messages, client and "
                 "server in separate processes (peak RSS: the server's)",
                 "req/s", "higher"),
    "tcp_connections": ("server memory per open connection (idle after one echo; RSS growth / "
                        "connections)", "B/conn", "lower"),
    "http_hello": ("HTTP/1.1 keep-alive GET / answered with 13 bytes: wrk, 100 connections, one "
                   "thread; server on CPU 0, wrk on CPU 1 (grove: examples' HTTP server; gevent: "
                   "pywsgi; nginx: one worker)", "req/s", "higher"),
    "http_hello_hubs1": ("http_hello's work with one hub through grove_http_serve_hubs, nothing "
                         "pinned, wrk with a thread per CPU", "req/s", "higher"),
    "http_hello_hubs": ("the same with one hub per CPU accepting on the one socket (on 2 cores wrk "
                        "needs one: compare with http_hello_hubs1)", "req/s", "higher"),
    "http_long_poll_conns": ("server memory per idle long-poll client (10k clients waiting on "
                             "/poll; RSS growth / clients)", "B/conn", "lower"),
    "ws_echo": ("64-byte WebSocket messages echoed per second, the same grove client against "
                "grove's server and Python's websockets", "msgs/s", "higher"),
}
SKIP = {"skynet_rss", "skynet_hubs_rss"}  # grove-bench's own peak RSS lines: the column shows them

# Every target, once: the page's text, the plots' target line and the ✓/✗ all
# come from this table. A bench's targets all must hold. Each is
#   ("<=" | ">=", value)              grove's median against a bound, in the unit shown
#   ("rss<=", MiB)                     grove's peak RSS
#   ("<=x" | ">=x", factor, peer)      grove's median against factor × a peer's, same run
#   ("<=of", factor, bench)            grove's median against factor × grove's own median
#                                      of another bench (same unit), same run
TARGETS = {
    "switch": [("<=", 5)],
    "spawn_join": [("<=", 60)],
    "queue_pingpong": [(">=", 40)],
    "greenlets_1m": [("<=", 1024)],
    "greenlets_1m_spawn": [("<=", 1)],
    "actor_pingpong": [(">=", 50)],
    "call_roundtrip": [("<=", 100)],
    "cross_hub_pingpong": [(">=", 5)],
    "cross_hub_call": [("<=", 1000)],
    "parallel_pingpong_ratio": [(">=", 1.8)],
    "hubs_idle_cpu": [("<=", 1)],
    "actors_1m_idle": [("<=", 256)],
    "skynet": [("<=", 0.3), ("rss<=", 200)],
    "skynet_hubs": [("<=of", 0.6, "skynet")],
    "pipeline": [(">=", 20)],
    "remote_rtt_ipc": [("<=x", 1.15, "libzmq")],
    "remote_rtt_tcp": [("<=x", 1.15, "libzmq")],
    "remote_throughput_ipc": [(">=x", 0.7, "libzmq")],
    "remote_throughput_tcp": [(">=x", 0.7, "libzmq")],
    "remote_throughput_curve": [(">=x", 0.7, "libzmq")],
    "fairness_timer_lateness": [("<=", 50)],
    "remote_flood_rss": [("<=", 200)],
    "remote_flood_timer_lateness": [("<=", 50)],
    "remote_flood_timer_lateness_256k": [("<=", 100)],
    "tcp_echo": [(">=x", 5, "gevent"), (">=x", 1 / 1.5, "libuv")],
    "tcp_connections": [("<=", 4096)],
    "http_hello": [(">=x", 10, "gevent"), (">=x", 0.8, "nginx")],
    "http_long_poll_conns": [("<=", 8192)],
}


def _num(v):
    return ("%g" % v).replace("-", "−")


def target_text(name):
    """The targets of a bench as the page shows them ("" if none)."""
    unit = BENCHES.get(name, (None, ""))[1]
    parts = []
    for t in TARGETS.get(name, []):
        op = "≤" if t[0].startswith("<") else "≥"
        if t[0] in ("<=", ">="):
            parts.append("%s %s %s" % (op, _num(t[1]), unit))
        elif t[0] == "rss<=":
            parts.append("≤ %s MiB" % _num(t[1]))
        elif t[0] == "<=of":
            parts.append("≤ %s× grove's %s" % (_num(t[1]), t[2]))
        elif t[1] >= 1 or t[0] == "<=x":
            parts.append("%s %s× %s" % (op, _num(round(t[1], 2)), t[2]))
        else:
            parts.append("%s %d%% of %s" % (op, round(t[1] * 100), t[2]))
    return " and ".join(parts)


def target_line(name):
    """The absolute bound drawn on a bench's plot, or None."""
    for t in TARGETS.get(name, []):
        if t[0] in ("<=", ">="):
            return t[1]
    return None

# Totals that grow with the number of objects: a row measured on fewer is not compared.
SIZE_DEPENDENT = {"greenlets_1m_spawn", "skynet"}

# unit -> (dimension, factor to the dimension's base unit)
UNITS = {
    "ns": ("time", 1e-9), "us": ("time", 1e-6), "µs": ("time", 1e-6), "ms": ("time", 1e-3),
    "s": ("time", 1.0),
    "msgs/s": ("rate", 1.0), "K msgs/s": ("rate", 1e3), "M msgs/s": ("rate", 1e6),
    "req/s": ("req", 1.0), "K req/s": ("req", 1e3), "M req/s": ("req", 1e6),
    "B/greenlet": ("bytes", 1.0), "B/actor": ("bytes", 1.0), "B/conn": ("bytes", 1.0),
    "KiB/conn": ("bytes", 1024.0),
}

RUNTIME_ORDER = ["grove", "bare asm", "libuv", "libzmq", "nginx", "Go", "Erlang", "CAF", "gevent",
                 "websockets"]


def convert(value, unit, to_unit):
    """value in unit, expressed in to_unit; None when they do not convert."""
    a, b = UNITS.get(unit), UNITS.get(to_unit)
    if unit == to_unit:
        return value
    if not a or not b or a[0] != b[0]:
        return None
    return value * a[1] / b[1]


def fmt(v):
    if v is None:
        return "—"
    a = abs(v)
    if a >= 1e6:
        return "{:,.0f}".format(v)
    if a >= 100:
        return "{:,.0f}".format(v)
    if a >= 10:
        return "{:.1f}".format(v)
    if a >= 1:
        return "{:.2f}".format(v)
    return "{:.3g}".format(v)


def fmt_ratio(r):
    if r is None:
        return "—"
    return "{:.2f}×".format(r) if r < 100 else "{:,.0f}×".format(r)


def fmt_rss(kb):
    if kb is None:
        return "—"
    mib = kb / 1024.0
    return "{:,.0f} MiB".format(mib) if mib >= 10 else "{:.1f} MiB".format(mib)


class Row:
    """One runtime + mode for one benchmark name."""

    def __init__(self, runtime, mode):
        self.runtime, self.mode = runtime, mode
        self.values, self.rss, self.units = [], [], []
        self.status, self.detail = "ok", ""

    def label(self):
        return "%s, %s" % (self.runtime, self.mode) if self.mode else self.runtime

    def comparable(self, name):
        """False for a total over fewer objects than grove-bench's (note "n=...")."""
        return not (name in SIZE_DEPENDENT and self.detail.startswith("n="))

    def finish(self, unit):
        vals = [convert(v, u, unit) for v, u in zip(self.values, self.units)]
        self.unit_ok = all(v is not None for v in vals)
        if not self.unit_ok:  # shown as printed, left out of ratios and plots
            vals, self.unit = self.values, self.units[0]
        else:
            self.unit = unit
        self.median = statistics.median(vals) if vals else None
        self.lo = min(vals) if vals else None
        self.hi = max(vals) if vals else None
        self.rss_median = statistics.median(self.rss) if self.rss else None


def parse_count(detail):
    """The n of a note "n=100k" (100000), or None."""
    m = re.match(r"n=(\d+)([kM]?)", detail)
    if not m:
        return None
    return int(m.group(1)) * {"": 1, "k": 1000, "M": 1000000}[m.group(2)]


def load(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def collect(results):
    """{name: [Row...]} in first-seen order, every status kept."""
    tables = {}
    for r in results:
        name = r["name"]
        if name in SKIP:
            continue
        rows = tables.setdefault(name, {})
        key = (r["runtime"], r["mode"])
        row = rows.get(key)
        if row is None:
            row = rows[key] = Row(r["runtime"], r["mode"])
        if r["status"] == "ok":
            row.values.append(float(r["value"]))
            row.units.append(r["unit"])
            if r["rss_kb"]:
                row.rss.append(float(r["rss_kb"]))
            row.detail = r["detail"]
        else:
            # a run that failed after others succeeded still marks the row
            row.status, row.detail = r["status"], r["detail"]
    out = {}
    for name, rows in tables.items():
        unit = BENCHES.get(name, (None, None))[1]
        lst = list(rows.values())
        for row in lst:
            if row.values:
                row.finish(unit or row.units[0])
            else:
                row.median = row.lo = row.hi = row.rss_median = None
                row.unit, row.unit_ok = unit or "", False
        out[name] = lst
    return out


def grove_row(rows):
    """grove's row to compare with; for the TCP servers, the one measured with the
    same client as the other servers (grove-echo-server) when there is one."""
    mine = [r for r in rows if r.runtime == "grove" and r.median is not None and r.unit_ok]
    for r in mine:
        if r.mode == "grove-echo-server":
            return r
    return mine[0] if mine else None


def peers(rows, name=None):
    return [r for r in rows if r.runtime != "grove" and r.median is not None and r.unit_ok
            and (name is None or r.comparable(name))]


def best_peer(name, rows):
    ps = peers(rows, name)
    if not ps:
        return None
    better = BENCHES.get(name, (None, None, "lower"))[2]
    return (min if better == "lower" else max)(ps, key=lambda r: r.median)


def meets_target(name, g, rows, tables=None):
    """True/False if grove's row can be checked against every target, else None."""
    targets = TARGETS.get(name)
    if g is None or not targets:
        return None
    v = g.median

    def peer(runtime):
        for r in peers(rows):
            if r.runtime == runtime:
                return r
        return None

    ok = True
    for t in targets:
        if t[0] == "<=":
            ok = ok and v <= t[1]
        elif t[0] == ">=":
            ok = ok and v >= t[1]
        elif t[0] == "rss<=":
            ok = ok and (g.rss_median is None or g.rss_median / 1024 <= t[1])
        elif t[0] == "<=of":
            other = grove_row((tables or {}).get(t[2], []))
            if other is None or other.unit != g.unit:
                return None
            ok = ok and v <= t[1] * other.median
        else:
            p = peer(t[2])
            if p is None:
                return None
            ok = ok and (v <= t[1] * p.median if t[0] == "<=x" else v >= t[1] * p.median)
    return ok


def order_key(row):
    rt = RUNTIME_ORDER.index(row.runtime) if row.runtime in RUNTIME_ORDER else len(RUNTIME_ORDER)
    return (rt, row.mode)


def status_text(row):
    if row.status == "pending":
        return "pending"
    if row.status == "n/a":
        return "not available"
    if row.status in ("failed", "timeout"):
        return row.status
    return "—"


def bench_table(name, rows, quick):
    desc, unit, better = BENCHES.get(name, ("", rows[0].unit, "lower"))
    target = target_text(name)
    g = grove_row(rows)
    lines = []
    lines.append("## `%s`" % name)
    lines.append("")
    if desc:
        lines.append(desc[0].upper() + desc[1:] + ".")
        lines.append("")
    direction = ("lower is better: a ratio above 1 means grove is ahead" if better == "lower"
                 else "higher is better: a ratio below 1 means grove is ahead")
    tgt = " Target: **%s**." % target if target else ""
    lines.append("Unit: %s, %s.%s" % (unit or rows[0].unit, direction, tgt))
    lines.append("")
    lines.append("| runtime | mode | median | min–max | peak RSS | peer / grove | notes |")
    lines.append("| --- | --- | ---: | ---: | ---: | ---: | --- |")
    for r in sorted(rows, key=order_key):
        if r.median is None:
            note = r.detail
            lines.append("| %s | %s | %s | | | | %s |" % (r.runtime, r.mode, status_text(r), note))
            continue
        ratio = None
        if g is not None and r is not g and r.unit_ok and g.median and r.comparable(name):
            ratio = r.median / g.median
        unit_note = "" if r.unit_ok else " %s" % r.unit
        rng = "%s–%s" % (fmt(r.lo), fmt(r.hi))
        notes = r.detail
        if not r.comparable(name):
            notes += ": not comparable"
            n = parse_count(r.detail)
            if name == "skynet" and n:  # the tree's time grows about linearly with it
                notes += " (× %g ≈ %s s for 1M)" % (1e6 / n, fmt(r.median * 1e6 / n))
        if r.status in ("failed", "timeout"):
            notes = ("a run %s: %s" % (r.status, r.detail)).strip()
        runs = len(r.values)
        if runs and runs < 3:
            notes = ("%s; %d run%s" % (notes, runs, "s" if runs > 1 else "")).strip("; ")
        lines.append("| %s | %s | **%s**%s | %s | %s | %s | %s |" % (
            r.runtime if r is not g else "**grove**", r.mode, fmt(r.median), unit_note, rng,
            fmt_rss(r.rss_median), fmt_ratio(ratio) if r is not g else "1", notes))
    return lines


def headline(tables, quick):
    lines = []
    if quick:
        lines.append("*Quick mode (`--quick`): smaller sizes and fewer runs, rougher "
                     "figures; docs/benchmarks.md says what differs.*")
        lines.append("")
    lines.append("| bench | unit | grove | best peer | peer | grove vs best peer | target | grove meets it |")
    lines.append("| --- | --- | ---: | ---: | --- | --- | --- | :---: |")
    for name in BENCHES:
        rows = tables.get(name)
        if not rows:
            continue
        desc, unit, better = BENCHES[name]
        target = target_text(name)
        g = grove_row(rows)
        b = best_peer(name, rows)
        gtext = fmt(g.median) if g else next(
            (status_text(r) for r in rows if r.runtime == "grove"), "—")
        if g and b and g.median and b.median:
            ratio = b.median / g.median if better == "lower" else g.median / b.median
            if ratio >= 1:
                cmp_ = "%s better" % fmt_ratio(ratio)
            else:
                cmp_ = "%s worse" % fmt_ratio(1 / ratio)
        else:
            cmp_ = "—"
        ok = meets_target(name, g, rows, tables)
        mark = {True: "✓", False: "✗", None: "—"}[ok]
        lines.append("| `%s` | %s | %s | %s | %s | %s | %s | %s |" % (
            name, unit, gtext, fmt(b.median) if b else "—", b.label() if b else "—", cmp_,
            target or "", mark))
    return lines


def plot(name, rows, img_dir):
    """A horizontal bar chart of the medians with min-max whiskers; None without matplotlib."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    rows = [r for r in sorted(rows, key=order_key) if r.median is not None and r.unit_ok]
    if not rows:
        return None
    desc, unit, better = BENCHES.get(name, ("", rows[0].unit, "lower"))
    labels = [r.label() for r in rows]
    med = [r.median for r in rows]
    err = [[r.median - r.lo for r in rows], [r.hi - r.median for r in rows]]
    colors = ["#2a7ab9" if r.runtime == "grove" else
              "#999999" if r.runtime in ("bare asm", "libzmq", "libuv", "nginx") else "#e08a3c"
              for r in rows]
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(rows) + 1.4))
    y = list(range(len(rows)))
    ax.barh(y, med, xerr=err, color=colors, capsize=3, error_kw={"elinewidth": 1})
    ax.set_yticks(y)
    ax.set_yticklabels(labels, fontsize=9)
    ax.invert_yaxis()
    lows = [r.lo for r in rows if r.lo > 0]
    highs = [r.hi for r in rows]
    log = bool(lows) and max(highs) / min(lows) > 20
    target = target_line(name)
    top = max(highs + ([target] if target else []))
    if log:
        ax.set_xscale("log")
        ax.set_xlim(min(lows + ([target] if target else [])) / 2, top * 4)
    else:
        ax.set_xlim(0, top * 1.2)
    for i, r in enumerate(rows):  # the median, just right of the whisker
        x = r.hi * 1.08 if log else r.hi + max(highs) * 0.01
        ax.text(x, i, fmt(r.median), va="center", fontsize=8)
    if target:
        ax.axvline(target, color="#3a9a3a", linestyle="--", linewidth=1)
        ax.text(target, 1.01, "target", color="#3a9a3a", fontsize=8, ha="center",
                va="bottom", transform=ax.get_xaxis_transform())
    ax.set_xlabel("%s (%s is better)" % (unit or rows[0].unit, better))
    ax.set_title(name, fontsize=11, loc="left", pad=14 if target else 6)
    ax.grid(axis="x", alpha=0.3, which="both")
    ax.set_axisbelow(True)
    fig.tight_layout()
    path = os.path.join(img_dir, "bench-%s.png" % name)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def replace_between(text, block):
    start, end = "<!-- headline:start -->", "<!-- headline:end -->"
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.S)
    if not pattern.search(text):
        return None
    return pattern.sub(lambda m: start + "\n" + block + "\n" + end, text, count=1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--results", required=True)
    ap.add_argument("--meta", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--img", required=True)
    ap.add_argument("--readme")
    args = ap.parse_args()

    meta_rows = []
    with open(args.meta) as f:
        for line in f:
            if "\t" in line:
                k, v = line.rstrip("\n").split("\t", 1)
                meta_rows.append((k, v))
    meta = dict(meta_rows)
    quick = meta.get("quick") == "1"
    runs = meta.get("runs", "?")
    tables = collect(load(args.results))

    os.makedirs(args.img, exist_ok=True)
    for old in os.listdir(args.img):
        if old.startswith("bench-") and old.endswith(".png"):
            os.remove(os.path.join(args.img, old))
    out_dir = os.path.dirname(os.path.abspath(args.out))
    plots = {}
    for name, rows in tables.items():
        path = plot(name, rows, args.img)
        if path:
            plots[name] = os.path.relpath(path, out_dir)

    L = []
    L.append("# Benchmarks: grove beside its peers")
    L.append("")
    L.append("Generated by `scripts/bench.sh` (`make bench`); do not edit by hand, run it again.")
    L.append("")
    L.append("- **Command:** `%s`" % meta.get("command", "?"))
    L.append("- **Date:** %s (the run took %s)" % (meta.get("date", "?"), meta.get("elapsed", "?")))
    if quick:
        L.append("- **Mode: quick** (`--quick`): %s runs per benchmark, grove-bench's quick sizes "
                 "(100k objects instead of 1M for the `*_1m*` benchmarks and skynet, a tenth of the "
                 "message loops; gevent 10k objects), one repetition inside each process, Go, Erlang and CAF "
                 "in their one-thread mode only, 1-second echo runs. Figures are rougher than a "
                 "full run's." % runs)
    else:
        L.append("- **Mode: full**: %s runs per benchmark." % runs)
    L.append("- **Machine:** %s; %s cores; %s RAM; %s; %s" % (
        meta.get("cpu", "?"), meta.get("cores", "?"), meta.get("memory", "?"),
        meta.get("kernel", "?"), meta.get("os", "?")))
    if "load_start" in meta:
        L.append("- **Load average** (1, 5, 15 min) at the start: %s; at the end: %s. Anything "
                 "else running on the machine shows in the spread (min–max) and the medians."
                 % (meta["load_start"], meta.get("load_end", "?")))
    L.append("")
    L.append("| runtime | version |")
    L.append("| --- | --- |")
    for k in ("grove", "gcc", "libuv", "libzmq", "msgpack-c", "Go", "Erlang/OTP", "CAF", "gevent",
              "nginx", "websockets", "wrk"):
        if k in meta:
            L.append("| %s | %s |" % (k, meta[k]))
    L.append("")
    unavailable = [(k.split(":", 1)[1], v) for k, v in meta_rows if k.startswith("unavailable:")]
    if unavailable:
        L.append("**Not available on this machine:** " +
                 "; ".join("%s: %s" % (k, v) for k, v in unavailable) + ".")
        L.append("")
    L.append("## How to read the tables")
    L.append("")
    L.append("- Each benchmark runs as its own process, %s times; a process prints "
             "`NAME VALUE UNIT` as `grove-bench` does. **median** is the median over the runs, "
             "**min–max** their spread. Inside a process grove-bench repeats each measurement "
             "and keeps the best (3–5 times); the peers do the same with grove-bench's counts, "
             "except skynet (one tree per process: a peer's million takes seconds)%s."
             % (runs, " and in quick mode (once)" if quick else ""))
    L.append("- **peak RSS** is the process's maximum resident set (`/usr/bin/time`), median over "
             "the runs: for the message benchmarks it is mostly the runtime itself. For "
             "`tcp_echo` and `tcp_connections` it is the server's (`VmHWM`).")
    L.append("- **peer / grove** divides the peer's median by grove's: whether above or below 1 is "
             "good depends on the unit, as each table says. The headline puts it the other way: "
             "how much better or worse grove is than the best peer.")
    L.append("- **Modes.** grove is one hub on one thread, except in the several-hub benchmarks "
             "(`cross_hub_*`, `parallel_pingpong`, `skynet_hubs`, `hubs_idle_cpu`: 2 hubs, or one "
             "per core, in one process), which the peers run in their multi-core default only. "
             "Elsewhere Go runs with `GOMAXPROCS=1` and with its default (one per core); Erlang "
             "with one scheduler (`+S 1`) and its default; CAF with `scheduler.max-threads` 1 and "
             "one per core. gevent is one hub, like grove. The multi-threaded modes pay for "
             "cross-thread wake-ups on these ping-pong loops; they are there to show both sides.")
    L.append("- **Peers** are written in each runtime's own idiom (bench/peers/): goroutines and "
             "channels; Erlang processes and plain messages (call = monitor + send + selective "
             "receive, what gen_server:call does); CAF 0.17 event-based actors (its mailboxes are "
             "unbounded, so `pipeline` bounds each hop with credits, as the Erlang peer does); the "
             "gevent tutorial's `Actor` (a Greenlet with a Queue inbox); raw libzmq REQ/REP and "
             "PUSH/PULL between two processes; a bare callee-saved-register switch in assembly "
             "(`bare asm`: the physical floor); a plain libuv echo server. Every peer checks its "
             "own result (sums, echoes) and exits non-zero when it is wrong.")
    L.append("- Sizes: grove-bench's (1M objects; 2M messages) unless a note says otherwise. The "
             "slower peers run shorter message loops, which does not change a rate. gevent holds "
             "100k objects where the others hold 1M (`n=100k`; a million gevent Actors take ~11 GB "
             "and half a minute): bytes per object compare, but its skynet and spawn times do not "
             "(shown, left out of ratios and the headline; skynet's linear estimate for 1M is in "
             "the note).")
    L.append("- TCP: %s; `grove-echo-client` (C + libuv, one thread) is the client for every "
             "server." % meta.get("echo", ""))
    L.append("")
    L.append("## Headline")
    L.append("")
    L.append("<!-- headline:start -->")
    head = "\n".join(headline(tables, quick))
    L.append(head)
    L.append("<!-- headline:end -->")
    L.append("")
    L.append("\"best peer\" is the best median among the other runtimes and modes (for `switch` "
             "that is the bare assembly switch, the floor). \"pending\": grove-bench does not "
             "measure it yet.")
    L.append("")
    order = [n for n in BENCHES if n in tables] + [n for n in tables if n not in BENCHES]
    for name in order:
        L.extend(bench_table(name, tables[name], quick))
        if name in plots:
            L.append("")
            L.append("![%s](%s)" % (name, plots[name]))
        L.append("")

    with open(args.out, "w") as f:
        f.write("\n".join(L))

    if args.readme and os.path.exists(args.readme):
        with open(args.readme) as f:
            text = f.read()
        new = replace_between(text, head)
        if new is not None and new != text:
            with open(args.readme, "w") as f:
                f.write(new)
    print("bench: wrote %s and %d plots in %s" % (args.out, len(plots), args.img))
    return 0


if __name__ == "__main__":
    sys.exit(main())
