"""gevent-peer: grove-bench's benchmarks written with gevent, the model grove
ports to C, for the side-by-side comparison (scripts/bench.sh).

    /usr/bin/python3 peer.py [--quick] NAME...

Prints `NAME VALUE UNIT` lines exactly as grove-bench does, with the same
names and units (each figure is the best of grove-bench's number of
repetitions; one with --quick, and one skynet per process), and exits 1 if a
result is wrong. Python is ~100x slower than C per message, so the loops are
a tenth to a thirtieth of grove-bench's (the rates do not depend on them).
The million-object benchmarks hold 100k (10k with --quick): a million
gevent Actors take half a minute and ~11 GB. Bytes per greenlet do not
depend on the count; skynet's time grows with it, about linearly.

    switch          ns per greenlet.switch() between two raw greenlets
    yield           ns per gevent.sleep(0) hand-off between two greenlets
    spawn_join      ns per gevent.spawn + run + exit + join
    queue_pingpong  msgs/s between two greenlets over two gevent.queue.Queue
    greenlets_1m    greenlets blocked on one Event: RSS bytes each, and the
                    time to spawn them and run each to its wait
    actor_pingpong  msgs/s between two Actors (the tutorial's Actor class)
    call_roundtrip  ns per request carrying an AsyncResult + its reply
    actors_1m_idle  RSS bytes per idle Actor (greenlet + Queue inbox)
    skynet          Actors in a 10-ary tree summing their ids, seconds
    pipeline        msgs/s through source -> parse -> transform -> sink Actors
                    with Queue(64) inboxes
"""
import gc
import os
import sys
import time

import gevent
import greenlet
from gevent.event import AsyncResult, Event
from gevent.queue import Queue

QUICK = False


def size(full, small):
    return small if QUICK else full


def report(name, value, unit):
    print("%s %.*f %s" % (name, 0 if value >= 100 else 2, value, unit), flush=True)


def fail(name, why):
    print("gevent-peer: %s: %s" % (name, why), file=sys.stderr)
    sys.exit(1)


def rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def best(reps, lower, fn):
    values = [fn() for _ in range(1 if QUICK else reps)]
    return min(values) if lower else max(values)


class Actor(gevent.Greenlet):
    """The gevent tutorial's Actor: a greenlet with a Queue inbox."""

    def __init__(self, maxsize=None):
        self.inbox = Queue(maxsize)
        gevent.Greenlet.__init__(self)

    def receive(self, message):
        raise NotImplementedError()

    def _run(self):
        self.running = True
        while self.running:
            message = self.inbox.get()
            self.receive(message)


def bench_switch():
    n = size(300000, 100000)

    def other(count):
        while True:
            count = main.switch(count + 1)

    def run():
        g = greenlet.greenlet(other)
        count = 0
        t0 = time.perf_counter()
        for _ in range(n):
            count = g.switch(count)
        dt = time.perf_counter() - t0
        if count != n:
            fail("switch", "contexts did not alternate")
        g.throw(greenlet.GreenletExit)
        return dt * 1e9 / (2 * n)  # two switches per round trip

    main = greenlet.getcurrent()
    report("switch", best(5, True, run), "ns")


def bench_yield():
    n = size(50000, 20000)

    def yielder(n):
        for _ in range(n):
            gevent.sleep(0)
        return n

    def run():
        t0 = time.perf_counter()
        gs = [gevent.spawn(yielder, n), gevent.spawn(yielder, n)]
        gevent.joinall(gs)
        dt = time.perf_counter() - t0
        if [g.value for g in gs] != [n, n]:
            fail("yield", "wrong count")
        return dt * 1e9 / (2 * n)

    report("yield", best(3, True, run), "ns")


def bench_spawn_join():
    n = size(30000, 20000)

    def run():
        total = 0
        t0 = time.perf_counter()
        for i in range(n):
            g = gevent.spawn(int, i)
            g.join()
            total += g.value
        dt = time.perf_counter() - t0
        if total != n * (n - 1) // 2:
            fail("spawn_join", "wrong sum")
        return dt * 1e9 / n

    report("spawn_join", best(5, True, run), "ns")


def bench_queue_pingpong():
    n = size(60000, 20000)

    def pinger(inq, outq):
        for i in range(1, n + 1):
            outq.put(i)
            if inq.get() != i:
                fail("queue_pingpong", "wrong reply")

    def ponger(inq, outq):
        for _ in range(n):
            outq.put(inq.get())

    def run():
        q1, q2 = Queue(), Queue()
        t0 = time.perf_counter()
        gevent.joinall([gevent.spawn(pinger, q2, q1), gevent.spawn(ponger, q1, q2)])
        return 2 * n / (time.perf_counter() - t0)

    report("queue_pingpong", best(3, False, run) / 1e6, "M msgs/s")


def bench_greenlets_1m():
    n = size(100000, 10000)
    event = Event()
    woken = [0]

    def wait():
        event.wait()
        woken[0] += 1

    gevent.sleep(0)
    gc.collect()
    rss0 = rss_bytes()
    t0 = time.perf_counter()
    for _ in range(n):
        gevent.spawn(wait)
    gevent.sleep(0)  # every one of them runs up to its wait
    dt = time.perf_counter() - t0
    rss1 = rss_bytes()
    event.set()
    while woken[0] < n:
        gevent.sleep(0.001)
    report("greenlets_1m", (rss1 - rss0) / n, "B/greenlet")
    report("greenlets_1m_spawn", dt, "s")


class Player(Actor):
    def __init__(self, n, done):
        Actor.__init__(self)
        self.n, self.done, self.peer = n, done, None

    def receive(self, hits):
        if hits == self.n:
            self.done.set()
            self.running = False
        else:
            self.peer.inbox.put(hits + 1)


def bench_actor_pingpong():
    n = size(60000, 20000)

    def run():
        done = Event()
        a, b = Player(n, done), Player(n, done)
        a.peer, b.peer = b, a
        a.start()
        b.start()
        gevent.sleep(0)
        t0 = time.perf_counter()
        a.inbox.put(1)
        done.wait()
        dt = time.perf_counter() - t0
        gevent.killall([a, b])
        return n / dt

    report("actor_pingpong", best(3, False, run) / 1e6, "M msgs/s")


class Echo(Actor):
    def receive(self, message):
        request, reply = message
        reply.set(request)


def bench_call_roundtrip():
    n = size(30000, 10000)
    echo = Echo()
    echo.start()

    def run():
        t0 = time.perf_counter()
        for i in range(n):
            reply = AsyncResult()
            echo.inbox.put((i, reply))
            if reply.get() != i:
                fail("call_roundtrip", "wrong reply")
        return (time.perf_counter() - t0) * 1e9 / n

    ns = best(3, True, run)
    echo.kill()
    report("call_roundtrip", ns, "ns")


class Idle(Actor):
    def receive(self, message):
        self.running = False


def bench_actors_1m_idle():
    n = size(100000, 10000)
    gevent.sleep(0)
    gc.collect()
    rss0 = rss_bytes()
    actors = [Idle() for _ in range(n)]
    for a in actors:
        a.start()
    gevent.sleep(0)  # each runs up to its inbox.get()
    rss1 = rss_bytes()
    for a in actors:
        a.inbox.put("stop")
    gevent.joinall(actors)
    if not all(a.dead for a in actors):
        fail("actors_1m_idle", "not every actor ended")
    # the list of references (8 B each) is the benchmark's, not the actors'
    report("actors_1m_idle", (rss1 - rss0 - 8 * n) / n, "B/actor")


class Skynet(Actor):
    def __init__(self, reply_to):
        Actor.__init__(self)
        self.reply_to, self.sum, self.pending = reply_to, 0, 10

    def receive(self, message):
        kind, a, b = message
        if kind == "job":  # (job, num, size)
            if b == 1:
                self.reply_to.put(("sum", a, None))
                self.running = False
                return
            step = b // 10
            for i in range(10):
                Skynet(self.inbox).start_with(("job", a + i * step, step))
        else:  # (sum, value, None)
            self.sum += a
            self.pending -= 1
            if self.pending == 0:
                self.reply_to.put(("sum", self.sum, None))
                self.running = False

    def start_with(self, message):
        self.inbox.put(message)
        self.start()


def bench_skynet():
    n = size(100000, 10000)

    def run():
        result = Queue()
        t0 = time.perf_counter()
        Skynet(result).start_with(("job", 0, n))
        total = result.get()[1]
        dt = time.perf_counter() - t0
        if total != n * (n - 1) // 2:
            fail("skynet", "wrong sum")
        return dt

    report("skynet", best(1, True, run), "s")  # seconds each: one per process


class Stage(Actor):
    def __init__(self, fn, next_inbox, n):
        Actor.__init__(self, 64)
        self.fn, self.next, self.left = fn, next_inbox, n

    def receive(self, value):
        self.next.put(self.fn(value))
        self.left -= 1
        self.running = self.left > 0


class Sink(Actor):
    def __init__(self, n, result):
        Actor.__init__(self, 64)
        self.left, self.acc, self.result = n, 0, result

    def receive(self, value):
        self.acc += value
        self.left -= 1
        if self.left == 0:
            self.result.set(self.acc)
            self.running = False


def bench_pipeline():
    n = size(100000, 20000)

    def run():
        result = AsyncResult()
        sink = Sink(n, result)
        transform = Stage(lambda v: v * 2, sink.inbox, n)
        parse = Stage(lambda v: v + 1, transform.inbox, n)
        for a in (sink, transform, parse):
            a.start()
        gevent.sleep(0)
        t0 = time.perf_counter()
        for i in range(n):
            parse.inbox.put(i)
        total = result.get()
        dt = time.perf_counter() - t0
        if total != n * (n + 1):  # sum of 2*(i+1)
            fail("pipeline", "wrong sum")
        return 3 * n / dt  # messages delivered between stages

    report("pipeline", best(3, False, run) / 1e6, "M msgs/s")


BENCHES = {
    "switch": bench_switch,
    "yield": bench_yield,
    "spawn_join": bench_spawn_join,
    "queue_pingpong": bench_queue_pingpong,
    "greenlets_1m": bench_greenlets_1m,
    "actor_pingpong": bench_actor_pingpong,
    "call_roundtrip": bench_call_roundtrip,
    "actors_1m_idle": bench_actors_1m_idle,
    "skynet": bench_skynet,
    "pipeline": bench_pipeline,
}


def main(args):
    global QUICK
    QUICK = "--quick" in args
    names = [a for a in args if a != "--quick"] or list(BENCHES)
    for name in names:
        if name not in BENCHES:
            print("gevent-peer: unknown benchmark %s" % name, file=sys.stderr)
            return 2
    for name in names:
        BENCHES[name]()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
