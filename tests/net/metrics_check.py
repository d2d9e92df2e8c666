#!/usr/bin/python3
"""tests/net/metrics_check.py - grove's Prometheus endpoint read by real parsers.

Starts tests/net/metrics_server (two hubs, two nodes, a held actor with 5
messages waiting, 2 supervisor restarts, a dead letter), scrapes
GET /metrics and checks the text with `promtool check metrics` (Debian's
prometheus package) and with prometheus_client's parser
(python3-prometheus-client): both must accept it, and the values must be
what the server set up. Then bad requests: each gets its 4xx and is
counted in grove_metrics_bad_requests_total.

Exit 0: passed; 1: failed; 77 (ctest's skip): neither parser is installed
(scripts/install-deps.sh installs both). With only one of them, that one
is used and the other is said to be missing.

Usage: metrics_check.py PATH/TO/metrics_server
"""
import http.client
import shutil
import socket
import subprocess
import sys
import time

SKIP = 77


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def scrape(port, method="GET", path="/metrics"):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    c.request(method, path)
    r = c.getresponse()
    body = r.read().decode()
    ctype = r.getheader("Content-Type", "")
    c.close()
    return r.status, ctype, body


def raw_request(port, data):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(data)
    got = b""
    try:
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            got += chunk
    except socket.timeout:
        pass
    s.close()
    return got.decode(errors="replace")


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    promtool = shutil.which("promtool")
    try:
        from prometheus_client.parser import text_string_to_metric_families
    except ImportError:
        text_string_to_metric_families = None
    if not promtool and not text_string_to_metric_families:
        print("SKIP: neither promtool (prometheus) nor python3-prometheus-client is installed")
        return SKIP
    if not promtool:
        print("note: promtool is missing: checking with prometheus_client only")
    if not text_string_to_metric_families:
        print("note: prometheus_client is missing: checking with promtool only")

    srv = subprocess.Popen([sys.argv[1]], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                           text=True)
    try:
        line = srv.stdout.readline()
        if not line.startswith("PORT "):
            fail("the server said %r" % line)
        port = int(line.split()[1])
        if srv.stdout.readline().strip() != "READY":
            fail("the server did not get ready")

        # The round trip to m2 is measured once a second: wait for it.
        deadline = time.monotonic() + 10
        while True:
            status, ctype, text = scrape(port)
            if status != 200:
                fail("GET /metrics: %d" % status)
            if "grove_peer_rtt_seconds{" in text or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        if not ctype.startswith("text/plain; version=0.0.4"):
            fail("Content-Type %r" % ctype)
        print("scraped %d bytes, %d lines" % (len(text), text.count("\n")))

        if promtool:
            p = subprocess.run([promtool, "check", "metrics"], input=text, text=True,
                               capture_output=True)
            if p.returncode != 0 or p.stdout.strip() or p.stderr.strip():
                print(text)
                fail("promtool check metrics (%d): %s%s" % (p.returncode, p.stdout, p.stderr))
            print("promtool check metrics: no problems")

        if text_string_to_metric_families:
            fams = {}
            for fam in text_string_to_metric_families(text):
                fams[fam.name] = fam
            print("prometheus_client: %d families" % len(fams))

            def samples(name):
                if name not in fams and name.endswith("_total"):
                    name = name[:-len("_total")]  # a counter's family
                if name not in fams:
                    fail("no family %s (have: %s)" % (name, sorted(fams)))
                return fams[name].samples

            def value(name, **labels):
                for s in samples(name):
                    if all(s.labels.get(k) == v for k, v in labels.items()):
                        return s.value
                fail("no sample %s%s" % (name, labels))

            # Families and their types (prometheus_client names a counter
            # family without its _total).
            expect = {"grove_hubs": "gauge", "grove_hub_greenlets": "gauge",
                      "grove_hub_run_queue_length": "gauge",
                      "grove_hub_loop_lag_seconds": "gauge", "grove_hub_actors": "gauge",
                      "grove_hub_messages": "counter", "grove_hub_dead_letters": "counter",
                      "grove_supervisor_restarts": "counter", "grove_actors": "gauge",
                      "grove_dead_letters": "counter", "grove_actor_inbox_messages": "gauge",
                      "grove_peer_up": "gauge", "grove_peer_sent_messages": "counter",
                      "grove_peer_received_messages": "counter",
                      "grove_peer_dropped_messages": "counter", "grove_peer_rtt_seconds": "gauge",
                      "grove_node_dropped": "counter", "grove_metrics_scrapes": "counter",
                      "grove_metrics_bad_requests": "counter"}
            for name, kind in expect.items():
                if name not in fams:
                    fail("no family %s" % name)
                if fams[name].type != kind:
                    fail("%s is a %s, not a %s" % (name, fams[name].type, kind))
                if not fams[name].documentation:
                    fail("%s has no HELP" % name)

            if value("grove_hubs") != 2:
                fail("grove_hubs = %s" % value("grove_hubs"))
            held = value("grove_actor_inbox_messages", actor="held", hub="1")
            if held != 5:
                fail("the held actor's inbox: %s, not 5" % held)
            first = samples("grove_actor_inbox_messages")[0]
            if first.labels.get("actor") != "held" or first.labels.get("class") != "holder":
                fail("the longest inbox is not first: %s" % (first,))
            if value("grove_supervisor_restarts_total", hub="0") != 2:
                fail("restarts on hub 0: %s" % value("grove_supervisor_restarts_total", hub="0"))
            if value("grove_dead_letters_total") < 1:
                fail("no dead letter")
            if value("grove_hub_actors", hub="1") < 1:
                fail("no actor on hub 1")
            if value("grove_peer_up", peer="m2") != 1:
                fail("m2 is not up")
            if value("grove_peer_received_messages_total", peer="m2") < 10:
                fail("m1 received %s messages from m2, not >= 10 (the calls)"
                     % value("grove_peer_received_messages_total", peer="m2"))
            if value("grove_peer_sent_messages_total", peer="m2") < 10:
                fail("replies to m2: %s" % value("grove_peer_sent_messages_total", peer="m2"))
            rtt = value("grove_peer_rtt_seconds", peer="m2")
            if not 0 <= rtt < 1:
                fail("round trip to m2: %s s" % rtt)
            lag = value("grove_hub_loop_lag_seconds", hub="0")
            if not 0 <= lag < 5:
                fail("loop lag %s s" % lag)
            print("values: held inbox 5, restarts 2, rtt %.6f s, lag %.6f s" % (rtt, lag))

        # Bad requests: 404, 405, a malformed request (400). Each counted.
        st, _, _ = scrape(port, path="/nope")
        if st != 404:
            fail("GET /nope: %d" % st)
        st, _, _ = scrape(port, method="POST")
        if st != 405:
            fail("POST /metrics: %d" % st)
        got = raw_request(port, b"\x16\x03\x01 not http at all\r\n\r\n")
        if not got.startswith("HTTP/1.1 400"):
            fail("garbage: %r" % got[:40])
        st, _, text = scrape(port, method="HEAD")
        if st != 200 or text:
            fail("HEAD /metrics: %d, %d bytes" % (st, len(text)))
        st, _, text = scrape(port)
        bad = [l for l in text.splitlines() if l.startswith("grove_metrics_bad_requests_total ")]
        if bad != ["grove_metrics_bad_requests_total 3"]:
            fail("bad requests counted: %s" % bad)
        print("bad requests: 404, 405, 400, all counted")
    finally:
        try:
            srv.stdin.close()
        except OSError:
            pass
        try:
            rc = srv.wait(30)
        except subprocess.TimeoutExpired:
            srv.kill()
            fail("the server did not stop")
    if rc != 0:
        fail("the server exited with %d" % rc)
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
