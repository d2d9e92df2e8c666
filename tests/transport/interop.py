#!/usr/bin/python3
"""A Python node talking to a grove node: the wire protocol (docs/protocol.md)
spoken with nothing but pyzmq and msgpack.

Run by tests/transport/test_interop.c as

    /usr/bin/python3 interop.py ENDPOINT GROVE_NODE_NAME

(/usr/bin/python3: the Debian packages python3-zmq and python3-msgpack are
installed for the system interpreter, scripts/install-deps.sh). The grove
node has two actors registered by name: "calc" answers a call with the sum
of the integers in its body; "callback" is called with [ref] and calls that
ref with "double" [21], then answers its own caller with [what it got, 1 if
the answer came from that ref]. This script is node "py":

  1. a DEALER whose ZeroMQ routing id is the node name "py" connects and
     says HELLO; the grove node answers WELCOME;
  2. it calls "calc" by name (the "to" field is a string) with the body
     2, 3 and gets 5; the reply's sender is calc's ref, whose node id is
     FNV-1a 32 of "grove" (computed here);
  3. it resolves "calc" with WHEREIS and calls the ref: 10 + 20 + 12 = 42;
     WHEREIS of an unknown name is answered with status -ENOENT;
  4. it calls "callback" with a ref to a Python "actor" of its own (node =
     fnv1a32("py"), gen 1, id 1): the grove actor CALLs that ref, Python
     answers the CALL with a REPLY, and the grove actor's answer to the
     original call carries what Python answered: a Python process calls a
     grove actor and is called back;
  5. a call to a ref that does not exist there gets status -ENOENT;
  6. flow control, the link window (docs/protocol.md, section 7): its HELLO
     grants the grove node a window of 256 KiB (the 7th element), and it
     calls "burst", which sends 3000 messages of 1 KiB to a Python ref:
     3 MB go through a 256 KiB window only because this client returns
     credit (CREDIT envelopes) for the data it has processed; it also
     keeps within the window the grove node granted it (16 MiB by default);
  7. flow control, a bounded inbox: "bounded" (inbox_max 8, 1 ms per
     message) is announced with a grant of 8 ahead of the WHEREIS answer
     that names it; 100 sends honour the grants that follow, and the actor
     reports that its inbox never held more than 8;
  8. the rules where docs/protocol.md and grove once disagreed: an EXIT
     for a link that does not exist is stale and ignored, an EXIT2 (the
     signal of grove_actor_exit) applies ("trapper" counts what it got);
     arrays of 9, 12 and 200 elements of version 2 are dropped as another
     version (the grove side checks dropped_version == 3); a REPLY larger
     than the 64 KiB our HELLO accepts is refused and we get status -90 at
     once ("big"); every error REPLY is tag grove.error, body [status];
  9. it says BYE.

While it waits it sends a HEARTBEAT every 0.3 s, so the grove node does not
declare it down. Exit status 0 when everything matched, 1 otherwise.
"""
import errno
import os
import struct
import sys
import time

import msgpack
import zmq

VERSION = 1
(HELLO, WELCOME, SEND, CALL, REPLY, HEARTBEAT, WHEREIS, MONITOR, DEMONITOR, DOWN, LINK,
 UNLINK, EXIT, BYE, CREDIT, EXIT2) = range(16)
DATA = (SEND, CALL, REPLY)  # the envelopes that count against the link window
DEFAULT_WINDOW = 16 << 20  # what a node grants when its hello does not say
GONE = -1  # a grant of -1: the bounded actor has ended
REF_EXT = 1  # msgpack ext type of a ref: node (u32) gen (u32) id (u64), big-endian
ENOENT = -errno.ENOENT
EMSGSIZE = -errno.EMSGSIZE
MAX_MESSAGE = 64 * 1024  # what our HELLO says we accept


def fnv1a32(name):
    """FNV-1a, 32 bits, of the node name's bytes: the node id its refs carry.

    h starts at the offset basis 2166136261; for each byte, h ^= byte then
    h *= 16777619 (mod 2**32). A name whose hash is 0 gets 1 (0 means "this
    node" inside a grove process)."""
    h = 0x811C9DC5
    for b in name.encode():
        h ^= b
        h = (h * 0x01000193) & 0xFFFFFFFF
    return h or 1


def ref(node, gen, ident):
    return msgpack.ExtType(REF_EXT, struct.pack(">IIQ", node, gen, ident))


def unref(obj):
    if not isinstance(obj, msgpack.ExtType) or obj.code != REF_EXT or len(obj.data) != 16:
        raise ValueError("not a ref: %r" % (obj,))
    return struct.unpack(">IIQ", obj.data)


def body(*objs):
    """A message body: a stream of msgpack objects."""
    return b"".join(msgpack.packb(o, use_bin_type=True) for o in objs)


def unbody(data):
    u = msgpack.Unpacker(raw=False, ext_hook=msgpack.ExtType)
    u.feed(data)
    return list(u)


class Failed(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Failed(what)


class Node:
    def __init__(self, name, endpoint, window):
        self.name = name
        self.ctx = zmq.Context()
        self.sock = self.ctx.socket(zmq.DEALER)
        self.sock.setsockopt(zmq.ROUTING_ID, name.encode())
        self.sock.setsockopt(zmq.LINGER, 500)
        self.sock.connect(endpoint)
        self.inbox = []
        self.last_heartbeat = 0.0
        self.next_id = 0
        self.handlers = {}  # (node, gen, id) of our "actors" -> fn(tag, body) -> (tag, body)
        self.counters = {}  # (node, gen, id) of our "actors" that only count SENDs -> count
        # Flow control (docs/protocol.md, section 7).
        self.my_window = window      # what we grant the grove node (our HELLO says it)
        self.window = DEFAULT_WINDOW  # what it grants us (its WELCOME may say otherwise)
        self.inflight = 0            # data bytes sent and not returned yet
        self.owed = 0                # data bytes processed and not returned yet
        self.credit = {}             # ref (its 16 bytes) of a bounded actor -> messages we may send
        self.credits_sent = 0
        self.waited = 0              # sends that waited for credit

    def send(self, *fields):
        data = msgpack.packb([VERSION] + list(fields), use_bin_type=True)
        if fields[0] in DATA:
            self.inflight += len(data)  # a REPLY counts but never waits
        self.sock.send(data)

    def send_data(self, kind, to, *fields, timeout=10.0):
        """SEND or CALL, honouring the grants (a bounded actor's credit) and
        then the link window: wait, reading, until both allow it."""
        deadline = time.monotonic() + timeout
        key = to.data if isinstance(to, msgpack.ExtType) else None
        size = len(msgpack.packb([VERSION, kind, to, *fields], use_bin_type=True))
        while key in self.credit and self.credit[key] == 0 or not (
                self.inflight == 0 or self.inflight + size <= self.window):
            if time.monotonic() > deadline:
                raise Failed("no credit for a send")
            self.waited += 1
            self.heartbeat()
            self._pump(0.05)
        if key in self.credit:
            self.credit[key] -= 1
        self.send(kind, to, *fields)

    def return_credit(self):
        """CREDIT for what we processed: the grove node may send that much more."""
        if self.owed:
            self.send(CREDIT, self.owed, [])
            self.owed = 0
            self.credits_sent += 1

    def on_credit(self, env):
        _, _, returned, grants = env
        self.inflight = max(0, self.inflight - returned)
        for target, n in grants:
            if n == GONE:
                self.credit.pop(target.data, None)
            else:
                self.credit[target.data] = self.credit.get(target.data, 0) + n

    def heartbeat(self):
        now = time.monotonic()
        if now - self.last_heartbeat >= 0.3:
            self.send(HEARTBEAT)
            self.last_heartbeat = now

    def _pump(self, timeout):
        """Read frames for up to timeout seconds; CALLs to our actors are
        answered right here, heartbeats dropped, credit taken in, the rest
        queued. What was processed is returned (CREDIT) once the socket is
        empty, and in the middle of a pass when a quarter of our window is
        owed."""
        if self.sock.poll(int(timeout * 1000)) == 0:
            return
        while True:
            try:
                frame = self.sock.recv(zmq.NOBLOCK)
            except zmq.Again:
                self.return_credit()
                return
            u = msgpack.Unpacker(raw=False, ext_hook=msgpack.ExtType)
            u.feed(frame)  # a frame holds one or more envelopes back to back
            at = 0
            for env in u:
                size, at = u.tell() - at, u.tell()  # its encoded size
                check(isinstance(env, list) and len(env) >= 2 and env[0] == VERSION,
                      "bad envelope %r" % (env,))
                kind = env[1]
                if kind in DATA:
                    self.owed += size
                if kind == HEARTBEAT:
                    continue
                if kind == CREDIT:
                    self.on_credit(env)
                    continue
                if kind == CALL and isinstance(env[2], msgpack.ExtType):
                    self._answer(env)
                    continue
                if kind == SEND and isinstance(env[2], msgpack.ExtType) \
                        and unref(env[2]) in self.counters:
                    self.counters[unref(env[2])] += 1
                    continue
                self.inbox.append(env)
            if self.owed >= self.my_window // 4:
                self.return_credit()

    def _answer(self, env):
        _, _, to, frm, tag, data, call_id = env
        handler = self.handlers.get(unref(to))
        if handler is None:
            self.send(REPLY, call_id, ENOENT, None, "grove.error", b"")
            return
        rtag, rbody = handler(tag, unbody(data), frm)
        self.send(REPLY, call_id, 0, to, rtag, body(*rbody))

    def expect(self, pred, timeout=5.0, what="an envelope"):
        deadline = time.monotonic() + timeout
        while True:
            for i, env in enumerate(self.inbox):
                if pred(env):
                    return self.inbox.pop(i)
            left = deadline - time.monotonic()
            if left <= 0:
                raise Failed("timed out waiting for " + what)
            self.heartbeat()
            self._pump(min(left, 0.1))

    def call(self, to, tag, data, timeout=5.0):
        """CALL; returns (status, from, tag, [body objects])."""
        self.next_id += 1
        cid = self.next_id
        self.send_data(CALL, to, None, tag, data, cid)
        env = self.expect(lambda e: e[1] == REPLY and e[2] == cid, timeout, "reply %d" % cid)
        _, _, _, status, frm, rtag, rdata = env
        return status, frm, rtag, unbody(rdata)

    def whereis(self, name, timeout=5.0):
        self.next_id += 1
        rid = self.next_id
        self.send(WHEREIS, rid, name)
        env = self.expect(lambda e: e[1] == REPLY and e[2] == rid, timeout, "whereis reply")
        status, tag, data = env[3], env[5], env[6]
        check(tag == "grove.ref", "whereis reply tag %r" % tag)
        return status, (unbody(data)[0] if status == 0 else None)


def main():
    endpoint, grove_name = sys.argv[1], sys.argv[2]
    node = Node("py", endpoint, 256 * 1024)
    grove_id = fnv1a32(grove_name)
    py_id = fnv1a32("py")

    # 1. handshake: our max_message is the 6th element, our window the 7th
    node.send(HELLO, "py", int.from_bytes(os.urandom(8), "big"), None, MAX_MESSAGE,
              node.my_window)
    env = node.expect(lambda e: e[1] == WELCOME, 5.0, "WELCOME")
    check(env[2] == grove_name, "welcome from %r" % env[2])
    check(isinstance(env[3], int), "incarnation")
    if len(env) >= 7 and env[6]:
        node.window = env[6]

    # 2. a call by name
    status, frm, tag, out = node.call("calc", "add", body(2, 3))
    check(status == 0, "calc status %r" % status)
    check(out == [5], "2 + 3 = %r" % out)
    node_id, gen, ident = unref(frm)
    check(node_id == grove_id, "calc's ref names node %#x, fnv1a32(%r) = %#x"
          % (node_id, grove_name, grove_id))

    # 3. whereis, then a call to the ref
    status, calc = node.whereis("calc")
    check(status == 0 and unref(calc) == (node_id, gen, ident), "whereis calc: %r" % (calc,))
    status, _, _, out = node.call(calc, "add", body(10, 20, 12))
    check(status == 0 and out == [42], "call to calc's ref: %r %r" % (status, out))
    status, _ = node.whereis("nobody")
    check(status == ENOENT, "whereis nobody: %r" % status)

    # 4. a grove actor calls us back
    me = ref(py_id, 1, 1)
    seen = []

    def doubler(tag, args, frm):
        seen.append((tag, args, frm))
        return "doubled", [2 * args[0]]

    node.handlers[unref(me)] = doubler
    status, _, tag, out = node.call("callback", "please", body(me))
    check(status == 0, "callback status %r" % status)
    check(len(seen) == 1 and seen[0][0] == "double" and seen[0][1] == [21],
          "the callback's call: %r" % (seen,))
    check(unref(seen[0][2])[0] == grove_id, "the callback's sender is on the grove node")
    check(out == [42, 1], "callback answered %r" % out)

    # 5. an unknown ref: an error REPLY, tag grove.error, body [status], from nil
    status, frm, tag, out = node.call(ref(grove_id, 1, 999999), "x", b"")
    check(status == ENOENT, "unknown ref: %r" % status)
    check(tag == "grove.error" and out == [ENOENT] and frm is None,
          "unknown ref's reply: %r %r %r" % (tag, out, frm))

    # 6. the link window: 3 MB through the 256 KiB we grant
    sink = ref(py_id, 1, 2)
    node.counters[unref(sink)] = 0
    n, size = 3000, 1024
    status, _, tag, out = node.call("burst", "go", body(sink, n, size), timeout=30.0)
    check(status == 0 and out == [n], "burst: %r %r" % (status, out))
    check(node.counters[unref(sink)] == n,
          "the burst's messages: %d of %d" % (node.counters[unref(sink)], n))
    check(node.credits_sent >= n * size // node.my_window,
          "credit returned %d times" % node.credits_sent)

    # 7. a bounded inbox: announced before the lookup's answer, then honoured
    status, bounded = node.whereis("bounded")
    check(status == 0, "whereis bounded: %r" % status)
    check(node.credit.get(bounded.data) == 8,
          "the grant that came with the lookup: %r" % node.credit.get(bounded.data))
    for i in range(100):
        node.send_data(SEND, bounded, None, "item", body(i))
    status, _, _, out = node.call(bounded, "report", b"", timeout=30.0)
    check(status == 0 and out[0] == 100, "bounded got %r" % (out,))
    check(out[1] <= 8, "the bounded inbox held %d (bound 8)" % out[1])
    check(node.waited > 0, "the sends never waited for credit")

    # 8a. exit signals: a stale EXIT (no link) is ignored, EXIT2 applies
    status, trapper = node.whereis("trapper")
    check(status == 0, "whereis trapper: %r" % status)
    me = ref(py_id, 1, 9)
    node.send(EXIT, me, trapper, -5, False)
    node.send(EXIT2, me, trapper, -7)
    status, _, _, out = node.call(trapper, "report", b"")
    check(status == 0 and out == [1, -7], "trapper got %r (one exit, -7)" % (out,))
    # 8b. the version decides first: 9, 12 and 200 elements of version 2
    for k in (9, 12, 200):
        node.sock.send(msgpack.packb([2, HEARTBEAT] + [None] * (k - 2)))
    # 8c. a REPLY larger than our max_message: refused, we are told at once
    status, frm, tag, out = node.call("big", "x", body(MAX_MESSAGE + 1000))
    check(status == EMSGSIZE and tag == "grove.error" and out == [EMSGSIZE],
          "a reply too large for us: %r %r %r" % (status, tag, out))
    status, _, tag, out = node.call("big", "x", body(1000))
    check(status == 0 and tag == "big" and len(out[0]) == 1000, "a reply that fits: %r" % status)
    # 8d. an actor's error reply has the same shape, from the actor
    status, frm, tag, out = node.call("trapper", "fail", b"")
    check(status == -5001 and tag == "grove.error" and out == [-5001] and frm == trapper,
          "an actor's error reply: %r %r %r %r" % (status, tag, out, frm))

    # 9. goodbye
    node.return_credit()
    node.send(BYE)
    node.sock.close()
    node.ctx.term()
    print("interop.py: ok")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Failed as e:
        print("interop.py: FAILED: %s" % e, file=sys.stderr)
        sys.exit(1)
