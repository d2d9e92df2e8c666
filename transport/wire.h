/* transport/wire.h - the wire envelope (docs/protocol.md): encoding and a
 * decoder that validates every field. Pure functions: no node, no socket,
 * so the decoder can be fuzzed on its own (tests/transport/fuzz_wire.c). */
#ifndef GROVE_TRANSPORT_WIRE_H
#define GROVE_TRANSPORT_WIRE_H

#include <grove.h>
#include <msgpack.h>
#include <stddef.h>
#include <stdint.h>

#define GROVE__WIRE_VERSION 1
#define GROVE__NAME_MAX 63

enum {
  GROVE__W_HELLO = 0,
  GROVE__W_WELCOME = 1,
  GROVE__W_SEND = 2,
  GROVE__W_CALL = 3,
  GROVE__W_REPLY = 4,
  GROVE__W_HEARTBEAT = 5,
  GROVE__W_WHEREIS = 6,
  GROVE__W_MONITOR = 7,
  GROVE__W_DEMONITOR = 8,
  GROVE__W_DOWN = 9,
  GROVE__W_LINK = 10,
  GROVE__W_UNLINK = 11,
  GROVE__W_EXIT = 12,
  GROVE__W_BYE = 13,
  GROVE__W_CREDIT = 14,
  GROVE__W_EXIT2 = 15,   /* an exit signal of grove_actor_exit (Erlang's exit/2), not a link's */
  GROVE__W_MEMBERS = 16, /* the members a node knows: [[name, endpoint, incarnation], ...] */
  GROVE__W_GLOBAL = 17,  /* a cluster-wide name registered / unregistered by its owner */
  GROVE__W_NKINDS
};

/* A decoded envelope: pointers into the frame being decoded. */
typedef struct grove__env {
  int kind;
  grove_ref to, from;  /* refs as on the wire (node = the node's id) */
  const char *to_name; /* SEND/CALL to a registered name instead of a ref */
  size_t to_name_len;
  const char *tag; /* SEND/CALL/REPLY */
  size_t tag_len;
  const char *body;
  size_t body_len;
  uint64_t id;      /* call id, request id, monitor id, incarnation */
  int64_t code;     /* REPLY status, DOWN/EXIT/EXIT2 reason */
  int kill;         /* EXIT */
  const char *name; /* HELLO/WELCOME node name, WHEREIS name */
  size_t name_len;
  const char *endpoint; /* HELLO/WELCOME advertised endpoint (may be NULL) */
  size_t endpoint_len;
  uint64_t max_message; /* HELLO/WELCOME: the largest frame it accepts (0: not said) */
  uint64_t window;      /* HELLO/WELCOME: the receive window it grants, bytes (0: not said) */
  uint64_t bytes;       /* CREDIT: data bytes returned */
  /* CREDIT: its grants, read with grove__grant_next. The node's decoder
   * (grove__env_next) points into the frame's bytes, the reference decoder
   * (grove__env_decode) at the unpacked objects. */
  const char *grants;
  size_t grants_len;
  const msgpack_object *grants_obj;
  uint32_t ngrants;
  /* MEMBERS: its entries, read with grove__member_next (the same two
   * forms as the grants). GLOBAL: code = the operation, name, to = the
   * ref, id = the owner's incarnation. */
  const char *members;
  size_t members_len;
  const msgpack_object *members_obj;
  uint32_t nmembers;
} grove__env;

/* One entry of a MEMBERS envelope. */
typedef struct grove__wmember {
  const char *name;
  size_t name_len;
  const char *endpoint;
  size_t endpoint_len;
  uint64_t incarnation;
} grove__wmember;
#define GROVE__MEMBERS_WIRE_MAX 1024 /* entries in one MEMBERS envelope at most */

typedef struct grove__member_iter {
  const grove__env *e;
  uint32_t i;
  size_t off;
} grove__member_iter;
static inline void grove__member_iter_init(grove__member_iter *it, const grove__env *e) {
  it->e = e;
  it->i = 0;
  it->off = 0;
}
/* Returns 1 with *m set, 0 after the last one. */
int grove__member_next(grove__member_iter *it, grove__wmember *m);

/* GLOBAL operations */
enum { GROVE__GLOBAL_REGISTER = 0, GROVE__GLOBAL_UNREGISTER = 1 };

/* One grant of a CREDIT envelope: `credit` more messages may go to the
 * bounded actor `target` (a ref of the CREDIT's sender), or -1: it is gone. */
typedef struct grove__grant {
  grove_ref target;
  int64_t credit;
} grove__grant;
#define GROVE__GRANT_GONE (-1)
#define GROVE__GRANT_MAX UINT32_MAX

/* Iterate the grants of a decoded CREDIT (the decoder validated them all). */
typedef struct grove__grant_iter {
  const grove__env *e;
  uint32_t i;
  size_t off;
} grove__grant_iter;
static inline void grove__grant_iter_init(grove__grant_iter *it, const grove__env *e) {
  it->e = e;
  it->i = 0;
  it->off = 0;
}
/* Returns 1 with *g set, 0 after the last one. */
int grove__grant_next(grove__grant_iter *it, grove__grant *g);

/* Decode one envelope object. Returns 0, GROVE_EPROTO (malformed: wrong
 * shape or types), GROVE_ENOSYS (another protocol version: the first field
 * is an integer other than 1). */
int grove__env_decode(const msgpack_object *o, grove__env *e);

/* Iterate the envelopes of one frame (a frame is one or more envelopes
 * back to back). Returns 1 with *o set, 0 at the end, GROVE_EPROTO if the
 * rest of the frame is not msgpack (truncated or garbage). */
int grove__frame_next(const char *buf, size_t len, size_t *off, msgpack_unpacked *u);
/* A body that is exactly one ref (the answer to WHEREIS). Returns 0 or
 * GROVE_EPROTO. */
int grove__wire_ref(const char *buf, size_t len, grove_ref *r);

/* What grove__env_next found. */
typedef enum grove__env_outcome {
  GROVE__ENV_END = 0,   /* the end of the frame */
  GROVE__ENV_OK = 1,    /* an envelope: *e is set */
  GROVE__ENV_MALFORMED, /* one bad envelope (wrong shape or types): skip it, go on */
  GROVE__ENV_VERSION,   /* one envelope of another protocol version: skip it, go on */
  GROVE__ENV_GARBAGE    /* the rest of the frame is not msgpack: drop it */
} grove__env_outcome;

/* The node's decoder: the next envelope of a frame, straight from its bytes
 * (no allocation). */
grove__env_outcome grove__env_next(const char *buf, size_t len, size_t *off, grove__env *e);

/* Encoding: each appends one envelope to the packer. */
void grove__pack_ref(msgpack_packer *pk, grove_ref r); /* ext type 1, 16 bytes */
/* HELLO/WELCOME: six elements, seven with a window (0: leave it out). */
void grove__w_hello(msgpack_packer *pk, int kind, const char *name, uint64_t incarnation,
                    const char *endpoint, uint64_t max_message, uint64_t window);
void grove__w_send(msgpack_packer *pk, grove_ref to, const char *to_name, grove_ref from,
                   const char *tag, const void *body, size_t body_len, int call, uint64_t call_id);
void grove__w_reply(msgpack_packer *pk, uint64_t call_id, int64_t status, grove_ref from,
                    const char *tag, const void *body, size_t body_len);
void grove__w_simple(msgpack_packer *pk, int kind); /* HEARTBEAT, BYE */
void grove__w_whereis(msgpack_packer *pk, uint64_t req_id, const char *name);
void grove__w_monitor(msgpack_packer *pk, int kind, grove_ref a, grove_ref b, uint64_t id);
void grove__w_down(msgpack_packer *pk, grove_ref watcher, uint64_t id, grove_ref target,
                   int64_t reason);
void grove__w_link(msgpack_packer *pk, int kind, grove_ref from, grove_ref to);
void grove__w_exit(msgpack_packer *pk, grove_ref from, grove_ref to, int64_t reason, int kill);
/* EXIT2 [1, 15, from, to, reason] */
void grove__w_exit2(msgpack_packer *pk, grove_ref from, grove_ref to, int64_t reason);
/* CREDIT [1, 14, bytes, [[target, credit], ...]] */
void grove__w_credit(msgpack_packer *pk, uint64_t bytes, const grove__grant *grants, size_t n);
/* MEMBERS [1, 16, [[name, endpoint, incarnation], ...]]: the header for n
 * entries, then n grove__w_member. */
void grove__w_members(msgpack_packer *pk, size_t n);
void grove__w_member(msgpack_packer *pk, const char *name, const char *endpoint,
                     uint64_t incarnation);
/* GLOBAL [1, 17, op, name, ref, incarnation] */
void grove__w_global(msgpack_packer *pk, int op, const char *name, grove_ref ref,
                     uint64_t incarnation);

uint32_t grove__fnv1a(const char *s, size_t n);

#endif
