#!/usr/bin/env python3
"""grove-top's tests, run from ctest (tests/tools/CMakeLists.txt).

    top_check.py CASE GROVE_TOP HELPER [SHOT]

CASE:
  once-fake    grove-top --once against fake_introspect (HELPER) answering
               in the contract's format: the rows, their inbox numbers and
               rates, the peer, the dead-letter rate.
  bad-replies  against fake_introspect answering garbage, an error, the
               wrong tag, nothing, or not running the service at all; and
               against no node at all: --once says
               what is wrong and exits 1 (or 0 for a reply it could read),
               never crashes, never prints a control byte it was sent; the
               live view (in tmux) keeps running through the garbage.
  curve        against a CURVE node (curve_node, HELPER) answering only one
               key: the allowed keypair (read from files, @FILE) gets the
               frame, another is refused (GROVE_EPERM), none never gets in,
               the server key alone is a bad command line.
  once-demo    grove-top --once against examples/observed (HELPER) with
               its introspection on: the demo's actors with their inboxes
               (stuck: 50 of 50, waiting), hubs, greenlets.
  tmux-demo    the live view in a detached tmux session against
               examples/observed: the actors appear, `s` moves the sort
               column, `r` reverses it, `?` shows the help and hides it,
               the node going down is said on screen and grove-top keeps
               running, it recovers when the node is back, `q` ends it
               (exit status 0). SHOT: where to write the screen (the text
               screenshot in docs/observability.md).

Exits 77 (ctest's skip) when grove-top was not built (no ncurses) or, for
the tmux cases, when tmux is missing. Every wait is bounded.
"""
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

SKIP = 77


def fail(msg):
    print("FAIL: " + msg, flush=True)
    sys.exit(1)


def wait_for(pred, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.1)
    fail("timed out after %g s waiting for %s" % (timeout, what))


class Node:
    """A node process (fake_introspect or observed) that prints a first
    line once it runs; stopped with SIGTERM, then SIGKILL."""

    def __init__(self, argv):
        self.argv = argv
        self.p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True)
        first = self.p.stdout.readline()
        if not first:
            err = self.p.stderr.read()
            fail("%s did not start: %s" % (argv[0], err.strip()))

    def stop(self):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(10)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        rc = self.p.returncode
        self.p.stdout.close()
        err = self.p.stderr.read()
        self.p.stderr.close()
        return rc, err


def top_once(top, node, endpoint, *extra, timeout=30):
    p = subprocess.run([top, "--once", *extra, node, endpoint], capture_output=True,
                       timeout=timeout)
    return p.returncode, p.stdout.decode("latin-1"), p.stderr.decode("latin-1")


def row(frame, name):
    """The cells of the table row whose first cell is name (split on blanks)."""
    for line in frame.splitlines():
        cells = line.split()
        if cells and cells[0] == name:
            return cells
    fail("no row %r in the frame:\n%s" % (name, frame))


def ipc(tmp, name):
    return "ipc://" + os.path.join(tmp, name)


# ---- against fake_introspect ---------------------------------------------------------------

def case_once_fake(top, fake, tmp):
    ep = ipc(tmp, "fake")
    node = Node([fake, "fake", ep, "good"])
    try:
        rc, out, err = top_once(top, "fake", ep, "--interval", "1")
        print(out)
        if rc != 0:
            fail("grove-top --once exited %d: %s" % (rc, err))
        if "node fake at " + ep not in out:
            fail("the header does not name the node")
        if "incarnation 42" not in out:
            fail("no incarnation in the header")
        # NAME CLASS HUB INBOX MAX MSGS/S RECEIVED STATE
        a = row(out, "alpha")
        if a[1:5] != ["fake", "0", "7", "10"] or a[-1] != "idle":
            fail("alpha's row is %r" % a)
        if not 50 <= float(a[5]) <= 200:  # the fake's received grows 100/s
            fail("alpha's msgs/s is %s, not about 100" % a[5])
        b = row(out, "beta")
        if b[1:5] != ["fake", "0", "0", "-"] or b[5] != "0.0":
            fail("beta's row is %r" % b)
        # longest inboxes first
        if out.index("alpha ") > out.index("beta "):
            fail("actors are not sorted by inbox")
        if "sorted by INBOX, descending" not in out or "INBOXv" not in out:
            fail("no sort indicator on INBOX")
        p = row(out, "elsewhere")
        if p[1:3] != ["tcp://127.0.0.1:1", "down"] or p[-2:] != ["3", "-"]:
            fail("the peer's row is %r" % p)
        m = re.search(r"dead letters \d+ \(([0-9.]+)/s\)", out)
        if not m or not 1.0 <= float(m.group(1)) <= 4.0:
            fail("the dead-letter rate is not about 2/s")
        row(out, "fake-main")
        # --interval 0: one snapshot, the rates unknown
        rc, out, err = top_once(top, "fake", ep, "--interval", "0")
        if rc != 0 or row(out, "alpha")[5] != "-":
            fail("--interval 0: rc %d, alpha %r" % (rc, row(out, "alpha")))
    finally:
        node.stop()
    print("ok: once-fake")


def case_bad_replies(top, fake, tmp, have_tmux):
    expect = {
        "eperm": "refused the snapshot (GROVE_EPERM)",
        "wrongtag": 'answered with tag "nope"',
        "silent": "did not answer within 1 s",
        "none": "runs no grove.introspect: its introspection is off",
    }
    for mode in ["garbage", "eperm", "wrongtag", "silent", "none"]:
        ep = ipc(tmp, "fake-" + mode)
        node = Node([fake, "fake", ep, mode])
        try:
            # garbage cycles through 6 kinds of malformed replies
            for _ in range(7 if mode == "garbage" else 1):
                rc, out, err = top_once(top, "fake", ep, "--interval", "0", "--timeout", "1")
                if rc not in (0, 1):
                    fail("%s: grove-top --once ended with %d: %s" % (mode, rc, err))
                if re.search(r"[\x00-\x08\x0b-\x1f\x7f]", out + err):
                    fail("%s: grove-top printed a control byte it was sent" % mode)
                if mode in expect and (rc != 1 or expect[mode] not in err):
                    fail("%s: rc %d, stderr %r" % (mode, rc, err))
                if mode == "garbage" and rc == 1 and "malformed reply" not in err:
                    fail("garbage: rc 1 but stderr %r" % err)
            if mode == "garbage" and have_tmux:
                live_through_garbage(top, ep, tmp)
        finally:
            node.stop()
    rc, out, err = top_once(top, "nobody", ipc(tmp, "nobody"), "--timeout", "1")
    if rc != 1 or "node nobody is not reachable" not in err:
        fail("no node: rc %d, stderr %r" % (rc, err))
    # bad command lines: 2 and a message
    for argv in [[], ["only-node"], ["--interval", "x", "n", "e"], ["--bogus", "n", "e"],
                 ["--curve-public", "short", "n", "e"], ["n", "e", "extra"]]:
        p = subprocess.run([top, *argv], capture_output=True, timeout=10)
        if p.returncode != 2 or not p.stderr:
            fail("bad command line %r: rc %d" % (argv, p.returncode))
    print("ok: bad-replies")


def live_through_garbage(top, ep, tmp):
    t = Tmux(tmp)
    try:
        t.start([top, "--interval", "0.2", "fake", ep])
        wait_for(lambda: "grove-top - node" in t.capture(), 10, "the live view to start")
        time.sleep(3)  # some 15 garbage replies
        screen = t.capture()
        if t.dead():
            fail("grove-top ended while shown garbage:\n" + screen)
        if "q quit" not in screen:
            fail("no help line while shown garbage:\n" + screen)
        t.keys("q")
        wait_for(t.dead, 10, "grove-top to end on q")
        if t.status() != "0":
            fail("grove-top's exit status after q: %s" % t.status())
    finally:
        t.close()


# ---- against a CURVE node -----------------------------------------------------------------

def case_curve(top, curve_node, tmp):
    ep = ipc(tmp, "curve")
    node = Node([curve_node, "sealed", ep, tmp])
    k = lambda f: "@" + os.path.join(tmp, f)  # keys from files
    try:
        rc, out, err = top_once(top, "sealed", ep, "--interval", "0", "--curve-server-key",
                                k("server.pub"), "--curve-public", k("client.pub"),
                                "--curve-secret", k("client.sec"))
        if rc != 0 or "node sealed at" not in out:
            fail("the allowed key: rc %d, %s" % (rc, err))
        row(out, "grove.introspect")
        rc, out, err = top_once(top, "sealed", ep, "--interval", "0", "--timeout", "2",
                                "--curve-server-key", k("server.pub"), "--curve-public",
                                k("other.pub"), "--curve-secret", k("other.sec"))
        if rc != 1 or "refused the snapshot (GROVE_EPERM)" not in err:
            fail("another key: rc %d, stderr %r" % (rc, err))
        # without CURVE the handshake never completes: the node is not reachable
        rc, out, err = top_once(top, "sealed", ep, "--interval", "0", "--timeout", "2")
        if rc != 1 or "not reachable" not in err:
            fail("no keys: rc %d, stderr %r" % (rc, err))
        # a keypair of our own alone would only be refused: a bad command line
        p = subprocess.run([top, "--once", "--curve-server-key", k("server.pub"), "sealed", ep],
                           capture_output=True, text=True, timeout=10)
        if p.returncode != 2 or "CURVE needs all three" not in p.stderr:
            fail("server key alone: rc %d, %r" % (p.returncode, p.stderr))
    finally:
        rc, err = node.stop()
    if rc != 0:
        fail("curve_node exited %d: %s" % (rc, err))
    print("ok: curve")


# ---- against the demo node ---------------------------------------------------------------

def start_demo(observed, tmp):
    ep = ipc(tmp, "observed")
    return Node([observed, "--introspect", ep, "--name", "observed"]), ep


def case_once_demo(top, observed, tmp):
    node, ep = start_demo(observed, tmp)
    try:
        # the stuck inbox fills within a moment; the sink's grows steadily
        def frame():
            rc, out, err = top_once(top, "observed", ep, "--interval", "1")
            if rc != 0:
                fail("grove-top --once exited %d: %s" % (rc, err))
            return out if row(out, "stuck")[3] == "50" else None

        out = wait_for(frame, 20, "stuck's inbox to be full")
        print(out)
        # NAME CLASS HUB INBOX MAX MSGS/S RECEIVED STATE
        s = row(out, "stuck")
        if s[1:5] != ["stuck", "0", "50", "50"] or s[-1] != "waiting":
            fail("stuck's row is %r" % s)
        k = row(out, "slow-sink")
        if k[1] != "sink" or int(k[3]) <= 0 or k[4] != "-":
            fail("slow-sink's row is %r (its inbox should grow)" % k)
        if not 20 <= float(k[5]) <= 80:  # 20 ms an item: ~50/s
            fail("slow-sink's msgs/s is %s, not about 50" % k[5])
        c = row(out, "counter")
        if c[1:3] != ["counter", "1"] or not 300 <= float(c[5]) <= 3000:
            fail("counter's row is %r (hub 1, ~1000 msgs/s)" % c)
        for name in ["parse", "idle-1", "idle-2"]:
            r = row(out, name)
            if name.startswith("idle") and (r[3] != "0" or r[6] != "0" or r[-1] != "idle"):
                fail("%s's row is %r" % (name, r))
        if out.index("slow-sink ") > out.index("stuck ") and int(k[3]) > 50:
            fail("actors are not sorted by inbox")
        for hub in ("hub 0:", "hub 1:"):
            if hub not in out:
                fail("no %r line in the header" % hub)
        # NAME HUB STATE WAITING ON
        f = row(out, "feeder")
        if f[1:3] != ["0", "blocked"] or "inbox" not in " ".join(f[3:]):
            fail("the feeder greenlet should be blocked on stuck's full inbox: %r" % f)
        row(out, "producer")
        row(out, "ticker")
    finally:
        rc, err = node.stop()
    if rc != 0:
        fail("observed exited %d: %s" % (rc, err))
    print("ok: once-demo")


def quote(a):
    return "'" + a.replace("'", "'\\''") + "'"


class Tmux:
    """A tmux server of our own (its own socket), one session, the pane kept
    after its program ends (its last screen can still be read)."""

    def __init__(self, tmp):
        self.sock = os.path.join(tmp, "tmux.sock")
        self.status_file = os.path.join(tmp, "tmux-status")
        if os.path.exists(self.status_file):
            os.unlink(self.status_file)
        self.started = False

    def run(self, *args, check=True):
        p = subprocess.run(["tmux", "-S", self.sock, *args], capture_output=True, text=True,
                           timeout=10)
        if check and p.returncode != 0:
            fail("tmux %s: %s" % (" ".join(args), p.stderr.strip()))
        return p.stdout

    def start(self, argv):
        # The pane's shell writes the program's exit status to a file: tmux's
        # own #{pane_dead_status} is not reliable (tmux 3.3a sometimes never
        # reaps a pane's process when remain-on-exit is on).
        cmd = " ".join(quote(a) for a in argv)
        cmd += "; echo $? > " + quote(self.status_file)
        self.started = True
        self.run("-f", "/dev/null", "new-session", "-d", "-s", "top", "-x", "110", "-y", "30",
                 cmd, ";", "set-option", "-t", "top", "remain-on-exit", "on")

    def capture(self):
        return self.run("capture-pane", "-p", "-t", "top")

    def keys(self, *k):
        self.run("send-keys", "-t", "top", *k)

    def dead(self):
        """The program has ended (its exit status is written)."""
        try:
            with open(self.status_file) as f:
                return f.read().strip() != ""
        except FileNotFoundError:
            return False

    def status(self):
        with open(self.status_file) as f:
            return f.read().strip()

    def close(self):
        if self.started:
            self.run("kill-server", check=False)


def case_tmux_demo(top, observed, tmp, shot):
    node, ep = start_demo(observed, tmp)
    t = Tmux(tmp)
    try:
        t.start([top, "observed", ep])
        # the actors, with rates (a second snapshot) and stuck's inbox full
        def ready():
            s = t.capture()
            return s if ("slow-sink" in s and "stuck" in s and "counter" in s and
                         re.search(r"^stuck +stuck +0 +50 +50 +[0-9.]+ ", s, re.M)) else None

        screen = wait_for(ready, 20, "the demo's actors on screen")
        if "sorted by INBOX, descending" not in screen or "INBOXv" not in screen:
            fail("no sort indicator on INBOX:\n" + screen)
        if not screen.rstrip("\n").splitlines()[-1].startswith("q quit"):
            fail("the help line is not at the bottom:\n" + screen)
        if shot:
            time.sleep(1.2)  # a steady frame for the docs
            with open(shot, "w") as f:
                f.write(t.capture())
        t.keys("s")
        wait_for(lambda: "sorted by MAX, descending" in t.capture() and "MAXv" in t.capture(),
                 5, "the sort to move to MAX")
        if "INBOXv" in t.capture():
            fail("INBOX still marked after s")
        t.keys("r")
        wait_for(lambda: "sorted by MAX, ascending" in t.capture() and "MAX^" in t.capture(),
                 5, "r to reverse the sort")
        t.keys("?")
        wait_for(lambda: "grove-top keys" in t.capture(), 5, "the help")
        t.keys("?")
        wait_for(lambda: "grove-top keys" not in t.capture(), 5, "the help to close")
        t.keys("g")
        wait_for(lambda: "> GREENLETS" in t.capture(), 5, "g to focus the greenlets")
        t.keys("s")
        wait_for(lambda: "GREENLETS" in t.capture() and "sorted by HUB" in t.capture(), 5,
                 "s to sort the greenlets")
        t.keys("a")
        wait_for(lambda: "> ACTORS" in t.capture(), 5, "a to focus the actors")

        # the node goes away: said on screen, grove-top keeps running
        rc, err = node.stop()
        if rc != 0:
            fail("observed exited %d: %s" % (rc, err))
        wait_for(lambda: "node observed at %s is down" % ep in t.capture(), 15,
                 "the node's going down on screen")
        time.sleep(2)
        if t.dead():
            fail("grove-top ended when the node went down")
        # and comes back: live again
        node, ep = start_demo(observed, tmp)
        wait_for(lambda: "live, every 1 s" in t.capture(), 20, "grove-top to reconnect")

        t.keys("q")
        wait_for(t.dead, 10, "grove-top to end on q")
        if t.status() != "0":
            fail("grove-top's exit status after q: %s\n%s" % (t.status(), t.capture()))
    finally:
        t.close()
        node.stop()
    print("ok: tmux-demo")


def main():
    if len(sys.argv) < 4:
        print(__doc__)
        return 2
    case, top, helper = sys.argv[1:4]
    shot = sys.argv[4] if len(sys.argv) > 4 else None
    if not os.access(top, os.X_OK):
        print("SKIP: %s not built (ncurses missing?)" % top)
        return SKIP
    have_tmux = shutil.which("tmux") is not None
    if case == "tmux-demo" and not have_tmux:
        print("SKIP: tmux is not installed")
        return SKIP
    with tempfile.TemporaryDirectory(prefix="grove-top-") as tmp:
        if case == "once-fake":
            case_once_fake(top, helper, tmp)
        elif case == "bad-replies":
            case_bad_replies(top, helper, tmp, have_tmux)
        elif case == "curve":
            case_curve(top, helper, tmp)
        elif case == "once-demo":
            case_once_demo(top, helper, tmp)
        elif case == "tmux-demo":
            case_tmux_demo(top, helper, tmp, shot)
        else:
            fail("unknown case " + case)
    return 0


if __name__ == "__main__":
    sys.exit(main())
