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
  6. it says BYE.

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
 UNLINK, EXIT, BYE) = range(14)
REF_EXT = 1  # msgpack ext type of a ref: node (u32) gen (u32) id (u64), big-endian
ENOENT = -errno.ENOENT


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
    def __init__(self, name, endpoint):
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

    def send(self, *fields):
        self.sock.send(msgpack.packb([VERSION] + list(fields), use_bin_type=True))

    def heartbeat(self):
        now = time.monotonic()
        if now - self.last_heartbeat >= 0.3:
            self.send(HEARTBEAT)
            self.last_heartbeat = now

    def _pump(self, timeout):
        """Read frames for up to timeout seconds; CALLs to our actors are
        answered right here, heartbeats dropped, the rest queued."""
        if self.sock.poll(int(timeout * 1000)) == 0:
            return
        while True:
            try:
                frame = self.sock.recv(zmq.NOBLOCK)
            except zmq.Again:
                return
            u = msgpack.Unpacker(raw=False, ext_hook=msgpack.ExtType)
            u.feed(frame)  # a frame holds one or more envelopes back to back
            for env in u:
                check(isinstance(env, list) and len(env) >= 2 and env[0] == VERSION,
                      "bad envelope %r" % (env,))
                kind = env[1]
                if kind == HEARTBEAT:
                    continue
                if kind == CALL and isinstance(env[2], msgpack.ExtType):
                    self._answer(env)
                    continue
                self.inbox.append(env)

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
        self.send(CALL, to, None, tag, data, cid)
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
    node = Node("py", endpoint)
    grove_id = fnv1a32(grove_name)
    py_id = fnv1a32("py")

    # 1. handshake
    node.send(HELLO, "py", int.from_bytes(os.urandom(8), "big"), None)
    env = node.expect(lambda e: e[1] == WELCOME, 5.0, "WELCOME")
    check(env[2] == grove_name, "welcome from %r" % env[2])
    check(isinstance(env[3], int), "incarnation")

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

    # 5. an unknown ref
    status, _, _, _ = node.call(ref(grove_id, 1, 999999), "x", b"")
    check(status == ENOENT, "unknown ref: %r" % status)

    # 6. goodbye
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
