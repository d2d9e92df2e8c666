#!/usr/bin/python3
"""Write the seed corpus of the wire fuzzer (tests/transport/fuzz_wire.c)
into tests/transport/corpus/: one file per seed, each file one frame as a
peer would send it (one or more envelopes back to back, docs/protocol.md).

    /usr/bin/python3 tests/transport/make_corpus.py

Valid envelopes of every kind, several envelopes in one frame, then broken
ones: truncated, garbage, wrong version, wrong shape or types, huge declared
counts in tiny frames, deep nesting, bad refs. The generated files are
committed; ctest replays them (transport/fuzz_wire_corpus). Files whose name
starts with "crash-" are inputs the fuzzer once crashed on: keep them.
Needs python3-msgpack.
"""
import os
import struct

import msgpack

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "corpus")

(HELLO, WELCOME, SEND, CALL, REPLY, HEARTBEAT, WHEREIS, MONITOR, DEMONITOR, DOWN, LINK,
 UNLINK, EXIT, BYE, CREDIT, EXIT2, MEMBERS, GLOBAL) = range(18)


def fnv1a32(name):
    h = 0x811C9DC5
    for b in name.encode():
        h = ((h ^ b) * 0x01000193) & 0xFFFFFFFF
    return h or 1


def ref(node, gen, ident):
    return msgpack.ExtType(1, struct.pack(">IIQ", fnv1a32(node), gen, ident))


def env(*fields):
    return msgpack.packb([1] + list(fields), use_bin_type=True)


def body(*objs):
    return b"".join(msgpack.packb(o, use_bin_type=True) for o in objs)


A, B = ref("a", 1, 1), ref("b", 3, 42)
seeds = {
    "hello": env(HELLO, "node-a", 12345678901234, "tcp://127.0.0.1:5555"),
    "hello-nil-endpoint": env(HELLO, "b", 0, None),
    "hello-max-message": env(HELLO, "node-c", 7, "ipc:///tmp/c", 16 << 20),
    "welcome-max-message-zero": env(WELCOME, "node-d", 8, None, 0),
    "hello-seven-fields": env(HELLO, "node-e", 9, None, 1024, 5),
    "hello-window": env(HELLO, "node-f", 10, "ipc:///tmp/f", 16 << 20, 4 << 20),
    "welcome-window-zero": env(WELCOME, "node-g", 11, None, 0, 0),
    "hello-eight-fields": env(HELLO, "node-h", 12, None, 1024, 5, 6),
    "hello-window-negative": env(HELLO, "node-i", 13, None, 1024, -5),
    "hello-two-elements": env(HELLO),
    "welcome-four-elements": env(WELCOME, "node-j", 14),
    "credit-bytes": env(CREDIT, 4096, []),
    "credit-grants": env(CREDIT, 0, [[A, 64], [B, 0], [ref("a", 2, 9), 2**32 - 1]]),
    "credit-gone": env(CREDIT, 17, [[B, -1]]),
    "credit-batch": b"".join([env(SEND, B, A, "n", body(1)), env(CREDIT, 123, [[A, 1]]),
                              env(CALL, B, A, "c", body(2), 5), env(CREDIT, 456, [])]),
    "credit-grant-below-gone": env(CREDIT, 0, [[A, -2]]),
    "credit-grant-too-big": env(CREDIT, 0, [[A, 2**32]]),
    "credit-grant-three": env(CREDIT, 0, [[A, 1, 2]]),
    "credit-grant-not-array": env(CREDIT, 0, [A]),
    "credit-grant-map": env(CREDIT, 0, [{"t": 1}]),
    "credit-grants-map": env(CREDIT, 0, {"a": 1}),
    "credit-grants-nil": env(CREDIT, 0, None),
    "credit-bad-ref": env(CREDIT, 0, [[msgpack.ExtType(1, b"\x00" * 16), 3]]),
    "credit-grant-str": env(CREDIT, 0, [["ref", 3]]),
    "credit-bytes-negative": env(CREDIT, -1, []),
    "credit-short": env(CREDIT, 5),
    "credit-nested-grant": env(CREDIT, 0, [[A, [1]]]),
    "credit-array16": b"\x94\x01\x0e\x00\xdc\x00\x02" + msgpack.packb([A, 1]) + msgpack.packb([B, 2]),
    "credit-truncated": env(CREDIT, 0, [[A, 64], [B, 0]])[:-4],
    "members": env(MEMBERS, [["a", "tcp://10.0.0.1:5555", 2**64 - 1],
                             ["b", "ipc:///tmp/b", 0]]),
    "members-empty": env(MEMBERS, []),
    "members-batch": b"".join([env(MEMBERS, [["a", "tcp://x:1", 1]]), env(HEARTBEAT),
                               env(GLOBAL, 0, "svc", A, 7)]),
    "members-entry-two": env(MEMBERS, [["a", "tcp://x:1"]]),
    "members-entry-four": env(MEMBERS, [["a", "tcp://x:1", 1, 2]]),
    "members-not-array": env(MEMBERS, {"a": 1}),
    "members-name-long": env(MEMBERS, [["n" * 64, "tcp://x:1", 1]]),
    "members-endpoint-long": env(MEMBERS, [["a", "t" * 1025, 1]]),
    "members-endpoint-nil": env(MEMBERS, [["a", None, 1]]),
    "members-nul": env(MEMBERS, [["a\0b", "tcp://x:1", 1]]),
    "members-negative": env(MEMBERS, [["a", "tcp://x:1", -1]]),
    "members-nested": env(MEMBERS, [["a", "tcp://x:1", [1]]]),
    "members-too-many": env(MEMBERS, [["a", "e", 1]] * 1025),
    "members-truncated": env(MEMBERS, [["a", "tcp://x:1", 1], ["b", "tcp://y:2", 2]])[:-5],
    "members-short": env(MEMBERS),
    "global-register": env(GLOBAL, 0, "svc", A, 12345),
    "global-unregister": env(GLOBAL, 1, "svc", B, 0),
    "global-op-bad": env(GLOBAL, 2, "svc", A, 1),
    "global-ref-nil": env(GLOBAL, 0, "svc", None, 1),
    "global-name-empty": env(GLOBAL, 0, "", A, 1),
    "global-short": env(GLOBAL, 0, "svc", A),
    "exit2": env(EXIT2, A, B, -5),
    "welcome": env(WELCOME, "node-b", 2**64 - 1, "ipc:///tmp/x"),
    "send-ref": env(SEND, B, A, "ping", body(1, "two", 3.0, [4, 5], {"six": 6}, None, True)),
    "send-name-nil-from": env(SEND, "calc", None, "add", body(2, 3)),
    "send-empty-body": env(SEND, B, None, "t", b""),
    "call": env(CALL, "calc", A, "add", body(2, 3), 7),
    "call-ref-in-body": env(CALL, B, A, "callback", body(A), 2**63),
    "reply-ok": env(REPLY, 7, 0, B, "sum", body(5)),
    "reply-error": env(REPLY, 8, -2, None, "grove.error", b""),
    "reply-whereis": env(REPLY, 9, 0, None, "grove.ref", body(B)),
    "heartbeat": env(HEARTBEAT),
    "whereis": env(WHEREIS, 9, "calc"),
    "monitor": env(MONITOR, A, B, 1 << 32),
    "demonitor": env(DEMONITOR, B, 1 << 32),
    "down": env(DOWN, A, 1 << 32, B, 3),
    "link": env(LINK, A, B),
    "unlink": env(UNLINK, A, B),
    "exit": env(EXIT, A, B, -104, False),
    "exit-kill-nil-from": env(EXIT, None, B, 2, True),
    "bye": env(BYE),
    "batch": b"".join([env(HEARTBEAT)] + [env(SEND, B, A, "n", body(i)) for i in range(20)]
                      + [env(CALL, "calc", A, "add", body(1, 2), 99)]),
    # broken
    "empty": b"",
    "garbage": b"\xc1\xc1\xc1",
    "text": b"hello, world",
    "not-array": msgpack.packb({"kind": 2}),
    "short-array": msgpack.packb([1]),
    "version-2": msgpack.packb([2, SEND, "calc", None, "x", b""], use_bin_type=True),
    "version-negative": msgpack.packb([-1, 2]),
    "version-string": msgpack.packb(["1", 2]),
    "kind-unknown": msgpack.packb([1, 99]),
    "wrong-field-count": msgpack.packb([1, HEARTBEAT, 0]),
    "wrong-types": env(SEND, 5, A, 6, "not-bin"),
    "ref-short": env(SEND, msgpack.ExtType(1, b"\x00" * 15), None, "t", b""),
    "ref-id-zero": env(SEND, msgpack.ExtType(1, b"\x00" * 16), None, "t", b""),
    "ref-wrong-ext-type": env(SEND, msgpack.ExtType(7, b"\x01" * 16), None, "t", b""),
    "tag-with-nul": env(SEND, "calc", None, "a\0b", b""),
    "tag-too-long": env(SEND, "calc", None, "t" * 64, b""),
    "name-too-long": env(HELLO, "n" * 64, 1, None),
    "status-out-of-range": env(REPLY, 1, -(2**40), None, "t", b""),
    "code-huge-positive": env(DOWN, A, 1, B, 2**63 + 5),
    "truncated": env(CALL, "calc", A, "add", body(2, 3), 7)[:-3],
    "truncated-in-batch": env(HEARTBEAT) + env(SEND, B, A, "n", body(1))[:-1],
    "valid-then-garbage": env(HEARTBEAT) + b"\xc1",
    "huge-array": b"\xdd\xff\xff\xff\xff\x01\x02",
    "huge-map": b"\xdf\xff\xff\xff\xff\x01\x02",
    "huge-str": b"\xdb\xff\xff\xff\xff\x01",
    "huge-bin": b"\xc6\xff\xff\xff\xff\x01",
    "huge-ext": b"\xc9\xff\xff\xff\xff\x01\x02",
    "huge-array-inside": b"\x96\x01\x02\xdd\x00\x01\x00\x00",
    "huge-body-count": env(SEND, B, None, "t", b"\xdd\xff\xff\xff\xff"),
    "deep-nesting": b"\x91" * 200 + b"\xc0",
    "nesting-at-limit": b"\x91" * 16 + b"\xc0",
    "deep-map": b"\x81\x01" * 50 + b"\xc0",
}


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, data in seeds.items():
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)
    print("make_corpus.py: %d seeds in %s" % (len(seeds), OUT))


if __name__ == "__main__":
    main()
