#!/usr/bin/env python3
"""tests/net/demo_server_check.py HTTP_SERVER [--tls DIR]

Drives examples/http_server as a separate process, as a program outside the
project would: Python's http.client for /, /stream and /poll, Debian's
python3-websockets for /ws and /ws/echo (text, binary, fragments, ping,
close codes); then SIGTERM must end it cleanly. With --hubs 2 the same
against two hubs of one process; with --processes, against two pre-forked
workers, one of them SIGKILLed and restarted.
With --tls DIR (made by make_certs.sh: ca.pem, cert.pem, key.pem), the
server runs with --cert/--key and every check goes over HTTPS / WSS with
certificate verification against ca.pem (Python's ssl module), and
`openssl s_client` fetches / too.

Exits 77 (skipped) when python3-websockets is missing.
"""
import asyncio
import http.client
import json
import os
import re
import signal
import ssl
import subprocess
import sys
import time

try:
    import websockets
except ImportError:
    print("skipped: python3-websockets is not installed (apt-get install python3-websockets)")
    sys.exit(77)

PROG = sys.argv[1]
TLS_DIR = sys.argv[sys.argv.index("--tls") + 1] if "--tls" in sys.argv else None
failures = 0


def check(cond, what):
    global failures
    if not cond:
        failures += 1
        print("FAIL:", what)
    else:
        print("ok  ", what)


def start(*extra):
    args = [PROG, "--port", "0"] + list(extra)
    if TLS_DIR:
        args += ["--cert", os.path.join(TLS_DIR, "cert.pem"), "--key", os.path.join(TLS_DIR, "key.pem")]
    p = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
    line = p.stdout.readline()
    m = re.fullmatch(r"listening on (\d+)\n", line)
    if not m:
        p.kill()
        raise SystemExit("http_server did not announce its port: %r" % line)
    return p, int(m.group(1))


def ssl_ctx():
    return ssl.create_default_context(cafile=os.path.join(TLS_DIR, "ca.pem"))


def conn(port):
    if TLS_DIR:
        return http.client.HTTPSConnection("localhost", port, timeout=10, context=ssl_ctx())
    return http.client.HTTPConnection("127.0.0.1", port, timeout=10)


def ws_url(port, path):
    return ("wss://localhost:%d%s" if TLS_DIR else "ws://127.0.0.1:%d%s") % (port, path)


def ws_kw():
    return {"ssl": ssl_ctx()} if TLS_DIR else {}


def s_client(port):
    req = b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    r = subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % port, "-servername", "localhost",
                        "-verify_hostname", "localhost", "-CAfile", os.path.join(TLS_DIR, "ca.pem"),
                        "-verify_return_error", "-quiet"],
                       input=req, capture_output=True, timeout=20)
    check(r.returncode == 0 and r.stdout.startswith(b"HTTP/1.1 200 OK\r\n") and r.stdout.endswith(b"<p>Hello World</p>"),
          "openssl s_client: GET / over TLS, certificate verified (%r)" % r.stdout[-40:])
    # An untrusted certificate is refused by the client; the server counts and goes on.
    r = subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % port, "-servername", "localhost",
                        "-CAfile", os.path.join(TLS_DIR, "other.pem"), "-verify_return_error", "-quiet"],
                       input=req, capture_output=True, timeout=20)
    check(r.returncode != 0, "openssl s_client trusting another CA refuses the certificate")


def http_checks(port):
    if TLS_DIR:
        s_client(port)
    c = conn(port)
    for _ in range(2):  # keep-alive: the same connection twice
        c.request("GET", "/")
        r = c.getresponse()
        body = r.read()
        check(r.status == 200 and body == b"<p>Hello World</p>", "GET / is the Hello World page")
        check(r.getheader("Content-Type") == "text/html", "  text/html")
    c.request("GET", "/stream")
    r = c.getresponse()
    check(r.getheader("Transfer-Encoding") == "chunked", "GET /stream is chunked")
    check(r.read() == b"<p>HelloWorld</p>", "  and its two chunks make <p>HelloWorld</p>")
    c.request("GET", "/index.html")
    r = c.getresponse()
    page = r.read().decode()
    check(r.status == 200 and "new WebSocket(" in page and '"/ws"' in page, "GET /index.html is the page, pointed at /ws")
    c.request("GET", "/jquery.min.js")
    r = c.getresponse()
    check(r.status == 200 and len(r.read()) > 100, "GET /jquery.min.js")
    c.request("GET", "/nothing")
    r = c.getresponse()
    r.read()
    check(r.status == 404, "GET /nothing is 404")
    c.close()
    c = conn(port)
    c.request("GET", "/poll")
    r = c.getresponse()
    t0 = time.time()
    line = r.fp.readline()  # the chunk size
    datum = r.fp.readline()
    check(r.status == 200 and r.getheader("Content-Type") == "application/json", "GET /poll streams JSON")
    check(json.loads(datum) == "Hello World" and time.time() - t0 < 3, "  a datum from the queue: %r" % datum)
    c.close()


async def ws_checks(port):
    async with websockets.connect(ws_url(port, "/ws"), **ws_kw()) as ws:
        msgs = [json.loads(await asyncio.wait_for(ws.recv(), 5)) for _ in range(3)]
        check([m["x"] for m in msgs] == [0, 1, 2], "/ws counts x: %s" % msgs)
        check(all(1 <= m["y"] <= 5 and set(m) == {"x", "y"} for m in msgs), "  y in 1..5")
    async with websockets.connect(ws_url(port, "/ws"), **ws_kw()) as ws:
        raw = await asyncio.wait_for(ws.recv(), 5)
        check(re.fullmatch(r'\{"x": 0, "y": [1-5]\}', raw) is not None, "  the exact shape: %s" % raw)
    async with websockets.connect(ws_url(port, "/ws/echo"), max_size=2**22, **ws_kw()) as ws:
        await ws.send("héllo")
        check(await asyncio.wait_for(ws.recv(), 5) == "héllo", "/ws/echo echoes text (UTF-8)")
        await ws.send(bytes(range(256)))
        check(await asyncio.wait_for(ws.recv(), 5) == bytes(range(256)), "  and binary")
        big = os.urandom(300000)
        await ws.send(big)
        check(await asyncio.wait_for(ws.recv(), 10) == big, "  and 300 kB (16-bit, 64-bit lengths)")
        await ws.send(["frag", "mented", " message"])  # one message in three frames
        check(await asyncio.wait_for(ws.recv(), 5) == "fragmented message", "  and a fragmented message, joined")
        pong = await ws.ping(b"are you there")
        await asyncio.wait_for(pong, 5)
        check(True, "  and answers a ping")
        await ws.close(code=4000, reason="done")
        check(ws.close_code == 4000, "  and the close handshake echoes the code (%s)" % ws.close_code)


def stop(p, what):
    t0 = time.time()
    p.send_signal(signal.SIGTERM)
    try:
        rc = p.wait(10)
    except subprocess.TimeoutExpired:
        p.kill()
        rc = "hung"
    check(rc == 0 and time.time() - t0 < 5, "%s: SIGTERM stops it cleanly (exit %s)" % (what, rc))


def children(pid):
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True).stdout
    return sorted(int(x) for x in out.split())


def main():
    p, port = start()
    try:
        http_checks(port)
        asyncio.run(ws_checks(port))
    finally:
        stop(p, "http_server")

    # One process, two hubs accepting on the one socket: every check again,
    # and concurrent long polls (whichever hub takes one has its own queue).
    p, port = start("--hubs", "2")
    try:
        threads = len(os.listdir("/proc/%d/task" % p.pid))
        check(threads >= 2, "--hubs 2: a thread per hub (%d threads)" % threads)
        http_checks(port)
        asyncio.run(ws_checks(port))
        import concurrent.futures

        def poll_once(_):
            c = conn(port)
            c.request("GET", "/poll")
            r = c.getresponse()
            r.fp.readline()  # the chunk size
            datum = r.fp.readline()
            c.close()
            return r.status == 200 and json.loads(datum) == "Hello World"

        # each hub's producer puts one datum a second: 4 polls take 2-4 s
        with concurrent.futures.ThreadPoolExecutor(4) as ex:
            got = sum(ex.map(poll_once, range(4)))
        check(got == 4, "  4 concurrent long polls answered: %d" % got)
    finally:
        stop(p, "http_server --hubs 2")

    p, port = start("--processes", "2")
    try:
        t0 = time.time()
        while len(children(p.pid)) < 2 and time.time() - t0 < 10:
            time.sleep(0.05)
        workers = children(p.pid)
        check(len(workers) == 2, "--processes 2: two workers %s" % workers)
        http_checks(port)
        os.kill(workers[0], signal.SIGKILL)
        t0 = time.time()
        while (workers[0] in children(p.pid) or len(children(p.pid)) < 2) and time.time() - t0 < 10:
            time.sleep(0.05)
        now = children(p.pid)
        check(len(now) == 2 and workers[0] not in now, "  a SIGKILLed worker is restarted: %s" % now)
        good = 0
        for _ in range(20):  # whichever worker accepts, it answers
            c = conn(port)
            c.request("GET", "/")
            good += c.getresponse().read() == b"<p>Hello World</p>"
            c.close()
        check(good == 20, "  20 GETs after the restart: %d answered" % good)
        asyncio.run(ws_checks(port))
    finally:
        workers = children(p.pid)
        stop(p, "http_server --processes 2")
        time.sleep(0.1)
        alive = [w for w in workers if os.path.exists("/proc/%d" % w) and "zombie" not in open("/proc/%d/status" % w).read()]
        check(not alive, "  and its workers are gone")
    print("FAILED: %d check(s)" % failures if failures else "all checks passed")
    sys.exit(1 if failures else 0)


main()
