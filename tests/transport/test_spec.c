/* tests/transport/test_spec.c - the wire protocol where docs/protocol.md
 * and the code once disagreed, checked byte by byte with a bare ZeroMQ
 * peer ("raw", tr_util.h's tr_raw) against this node ("spec"):
 *
 *   - an EXIT is a link's signal: one for a link that is not there is
 *     stale and ignored (section 8); EXIT2, grove_actor_exit's signal,
 *     applies without a link; EXIT with kill applies always;
 *   - the version decides first: an array whose first element is another
 *     version is counted as a version drop whatever its length (9, 12, 200
 *     elements), one of version 1 with more than 8 elements as malformed
 *     (sections 10 and 12);
 *   - a REPLY larger than the caller's declared max_message is not sent:
 *     the caller gets status -90 (GROVE_EMSGSIZE) at once, the replier's
 *     grove_reply returns it, as a SEND is refused (section 7);
 *   - every error REPLY has one shape: tag grove.error, body [status]
 *     (section 7), whether the node answers (no such target) or an actor
 *     (grove_reply_error), or the node for an actor that ended without
 *     answering. */
#include "tr_util.h"

#define ME "spec"
#define RAW "raw"

static int big_rc = 1;
static int big_receive(grove_actor *self, grove_msg *msg) {
  if (grove_msg_is_call(msg)) {
    static char buf[20000];
    grove_msg *r = grove_msg_new("big");
    grove_msg_pack_bin(r, buf, (size_t)tr_int(msg, 0));
    big_rc = grove_reply(msg, r);
  }
  return 0;
}
static int noreply_receive(grove_actor *self, grove_msg *msg) {
  return grove_msg_is_call(msg) ? GROVE_STOP : 0;
}
static int err_receive(grove_actor *self, grove_msg *msg) {
  if (grove_msg_is_call(msg))
    grove_reply_error(msg, -5001);
  return 0;
}
static int mortal_receive(grove_actor *self, grove_msg *msg) { return 0; }
static const grove_actor_class big_class = {"big", sizeof(grove_actor), NULL, big_receive, NULL};
static const grove_actor_class noreply_class = {"noreply", sizeof(grove_actor), NULL,
                                                noreply_receive, NULL};
static const grove_actor_class err_class = {"err", sizeof(grove_actor), NULL, err_receive, NULL};
static const grove_actor_class mortal_class = {"mortal", sizeof(grove_actor), NULL, mortal_receive,
                                               NULL};

static grove_ref named(const grove_actor_class *c, const char *name) {
  grove_actor_opts o = {.name = name};
  grove_ref r = GROVE_REF_NULL;
  CHECK_EQ(grove_actor_spawn_ex(c, NULL, &o, &r), 0);
  return r;
}

typedef struct wire {
  tr_raw r;
  msgpack_sbuffer sb;
  msgpack_packer pk;
} wire;

static void flush(wire *w) { CHECK_EQ(tr_raw_send_sb(&w->r, &w->sb), 0); }

/* HELLO [1, 0, "raw", 7, nil, max_message] */
static void open_raw(wire *w, size_t max_message) {
  CHECK_EQ(tr_raw_open(&w->r, RAW, grove_node_endpoint()), 0);
  msgpack_sbuffer_init(&w->sb);
  msgpack_packer_init(&w->pk, &w->sb, msgpack_sbuffer_write);
  msgpack_pack_array(&w->pk, 6);
  msgpack_pack_uint8(&w->pk, 1);
  msgpack_pack_uint8(&w->pk, 0);
  tr_pack_str(&w->pk, RAW);
  msgpack_pack_uint64(&w->pk, 7);
  msgpack_pack_nil(&w->pk);
  msgpack_pack_uint64(&w->pk, max_message);
  flush(w);
  CHECK(tr_raw_expect(&w->r, 1, 5.0) != NULL);
}

static void close_raw(wire *w) {
  msgpack_sbuffer_destroy(&w->sb);
  tr_raw_close(&w->r);
}

static void pack_ref(msgpack_packer *pk, grove_ref r) {
  if (r.node == 0)
    r.node = grove_node_id(ME);
  tr_pack_ref(pk, r.node, r.gen, r.id);
}

static const grove_ref raw_actor = {0, 1, 5}; /* node filled in below */

static grove_ref raw_ref(void) {
  grove_ref r = raw_actor;
  r.node = grove_node_id(RAW);
  return r;
}

static void env_exit(wire *w, grove_ref to, int reason, bool kill) {
  msgpack_pack_array(&w->pk, 6);
  msgpack_pack_uint8(&w->pk, 1);
  msgpack_pack_uint8(&w->pk, 12);
  pack_ref(&w->pk, raw_ref());
  pack_ref(&w->pk, to);
  msgpack_pack_int64(&w->pk, reason);
  if (kill)
    msgpack_pack_true(&w->pk);
  else
    msgpack_pack_false(&w->pk);
}

static void env_exit2(wire *w, grove_ref to, int reason) {
  msgpack_pack_array(&w->pk, 5);
  msgpack_pack_uint8(&w->pk, 1);
  msgpack_pack_uint8(&w->pk, 15);
  pack_ref(&w->pk, raw_ref());
  pack_ref(&w->pk, to);
  msgpack_pack_int64(&w->pk, reason);
}

static void env_link(wire *w, grove_ref to) {
  msgpack_pack_array(&w->pk, 4);
  msgpack_pack_uint8(&w->pk, 1);
  msgpack_pack_uint8(&w->pk, 10);
  pack_ref(&w->pk, raw_ref());
  pack_ref(&w->pk, to);
}

static void test_exit_signals(void) {
  CHECK_EQ(grove_node_start(ME, tr_ipc("spec1"), NULL), 0);
  wire w;
  open_raw(&w, 0);
  grove_queue *q;
  grove_ref trapper = tr_mbox_new(&q, true);
  grove_ref m1 = grove_actor_spawn(&mortal_class, NULL),
            m2 = grove_actor_spawn(&mortal_class, NULL),
            m3 = grove_actor_spawn(&mortal_class, NULL);
  /* stale: no link, any reason but kill */
  env_exit(&w, trapper, -5, false);
  env_exit(&w, m1, -5, false);
  env_exit(&w, m1, GROVE_EXIT_SHUTDOWN, false);
  env_exit(&w, m1, GROVE_EXIT_KILLED, false);
  flush(&w);
  grove_msg *m = tr_mbox_get(q, 0.5);
  CHECK(m == NULL); /* the trapping actor got nothing */
  grove_msg_free(m);
  CHECK(grove_actor_alive(m1));
  /* EXIT2: grove_actor_exit's signal, no link needed */
  env_exit2(&w, trapper, -7);
  env_exit2(&w, m1, -7);
  /* a link's signal with the link there */
  env_link(&w, m2);
  env_exit(&w, m2, -8, false);
  /* the untrappable kill */
  env_exit(&w, m3, GROVE_EXIT_KILLED, true);
  flush(&w);
  m = tr_mbox_get(q, 5.0);
  CHECK(m && grove_msg_is(m, GROVE_TAG_EXIT));
  CHECK(grove_ref_eq(tr_ref(m, 0), raw_ref()));
  CHECK_EQ(tr_int(m, 1), -7);
  grove_msg_free(m);
  int reason = 0;
  CHECK_EQ(grove_actor_wait(m1, &reason, 5.0), 0);
  CHECK_EQ(reason, -7);
  CHECK_EQ(grove_actor_wait(m2, &reason, 5.0), 0);
  CHECK_EQ(reason, -8);
  CHECK_EQ(grove_actor_wait(m3, &reason, 5.0), 0);
  CHECK_EQ(reason, GROVE_EXIT_KILLED);
  /* this node sends grove_actor_exit as EXIT2 (kill as EXIT with kill) */
  grove_actor_exit(raw_ref(), -9);
  grove_actor_exit(raw_ref(), GROVE_EXIT_KILLED);
  msgpack_object *o = tr_raw_expect(&w.r, 15, 5.0);
  CHECK(o && o->via.array.size == 5 && o->via.array.ptr[4].via.i64 == -9);
  o = tr_raw_expect(&w.r, 12, 5.0);
  CHECK(o && o->via.array.size == 6 && o->via.array.ptr[5].via.boolean);
  tr_mbox_free(trapper, q);
  close_raw(&w);
  CHECK_EQ(grove_node_stop(), 0);
}

/* An array of k elements: [version, kind, nil...]. */
static void env_array(wire *w, uint64_t version, uint32_t k) {
  msgpack_pack_array(&w->pk, k);
  msgpack_pack_uint64(&w->pk, version);
  for (uint32_t i = 1; i < k; i++)
    if (i == 1)
      msgpack_pack_uint8(&w->pk, 5);
    else
      msgpack_pack_nil(&w->pk);
}

static void test_version_first(void) {
  CHECK_EQ(grove_node_start(ME, tr_ipc("spec2"), NULL), 0);
  wire w;
  open_raw(&w, 0);
  grove_node_stats a, b;
  CHECK_EQ(grove_node_stats_get(&a), 0);
  env_array(&w, 2, 9);
  env_array(&w, 2, 12);
  env_array(&w, 2, 200);
  env_array(&w, 2, 1);
  env_array(&w, 7, 3);
  env_array(&w, 1, 9); /* version 1, too long: malformed */
  env_array(&w, 1, 2); /* a HEARTBEAT, the frame goes on */
  flush(&w);
  /* a call after them: everything before it was processed */
  tr_env_send(&w.pk, "nobody", 0, 0, "x", NULL, 0, 99);
  flush(&w);
  CHECK(tr_raw_expect(&w.r, 4, 5.0) != NULL);
  CHECK_EQ(grove_node_stats_get(&b), 0);
  CHECK_EQ(b.dropped_version - a.dropped_version, 5);
  CHECK_EQ(b.dropped_malformed - a.dropped_malformed, 1);
  close_raw(&w);
  CHECK_EQ(grove_node_stop(), 0);
}

/* REPLY [1, 4, id, status, from, tag, body]: status, and the body's first int. */
static msgpack_object *reply_for(wire *w, uint64_t id) {
  for (int i = 0; i < 10; i++) {
    msgpack_object *o = tr_raw_expect(&w->r, 4, 5.0);
    if (!o)
      return NULL;
    if (o->via.array.ptr[2].via.u64 == id)
      return o;
  }
  return NULL;
}

static void call(wire *w, const char *name, int64_t arg, uint64_t id) {
  unsigned char body[9] = {0xd3};
  for (int k = 0; k < 8; k++)
    body[1 + k] = (unsigned char)((uint64_t)arg >> (56 - 8 * k));
  tr_env_send(&w->pk, name, 0, 0, "x", body, sizeof body, id);
  flush(w);
}

static void check_error_shape(msgpack_object *o, int64_t status, int from_nil) {
  CHECK(o != NULL);
  if (!o)
    return;
  CHECK_EQ(tr_reply_status(o), status);
  const msgpack_object *f = o->via.array.ptr;
  CHECK(f[5].type == MSGPACK_OBJECT_STR && f[5].via.str.size == 11 &&
        memcmp(f[5].via.str.ptr, "grove.error", 11) == 0);
  CHECK_EQ(tr_reply_int(o), status); /* body [status] */
  CHECK_EQ(f[4].type == MSGPACK_OBJECT_NIL, from_nil);
}

/* The second int of a REPLY's body: an ended callee's exit reason. */
static int64_t reply_reason(const msgpack_object *o) {
  const msgpack_object *b = &o->via.array.ptr[6];
  int64_t v = -999999;
  if (b->type != MSGPACK_OBJECT_BIN)
    return v;
  msgpack_unpacked u;
  msgpack_unpacked_init(&u);
  size_t off = 0;
  if (msgpack_unpack_next(&u, b->via.bin.ptr, b->via.bin.size, &off) == MSGPACK_UNPACK_SUCCESS &&
      msgpack_unpack_next(&u, b->via.bin.ptr, b->via.bin.size, &off) == MSGPACK_UNPACK_SUCCESS) {
    if (u.data.type == MSGPACK_OBJECT_POSITIVE_INTEGER)
      v = (int64_t)u.data.via.u64;
    else if (u.data.type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
      v = u.data.via.i64;
  }
  msgpack_unpacked_destroy(&u);
  return v;
}

static void test_reply_rules(void) {
  CHECK_EQ(grove_node_start(ME, tr_ipc("spec3"), NULL), 0);
  grove_ref big = named(&big_class, "big"), nr = named(&noreply_class, "noreply"),
            err = named(&err_class, "err");
  wire w;
  open_raw(&w, 4096); /* it accepts frames of 4 KiB */
  /* a reply that fits */
  call(&w, "big", 100, 1);
  msgpack_object *o = reply_for(&w, 1);
  CHECK(o && tr_reply_status(o) == 0);
  CHECK_EQ(big_rc, 0);
  /* one that does not: refused, the caller told at once */
  call(&w, "big", 10000, 2);
  o = reply_for(&w, 2);
  check_error_shape(o, GROVE_EMSGSIZE, 0);
  CHECK_EQ(big_rc, GROVE_EMSGSIZE);
  /* error replies, one shape: the node's, an actor's, an ended callee's */
  call(&w, "nobody", 0, 3);
  check_error_shape(reply_for(&w, 3), GROVE_ENOENT, 1);
  call(&w, "err", 0, 4);
  check_error_shape(reply_for(&w, 4), -5001, 0);
  call(&w, "noreply", 0, 5); /* ends before replying: [GROVE_EEXITED, reason normal] */
  o = reply_for(&w, 5);
  check_error_shape(o, GROVE_EEXITED, 0);
  CHECK(o && reply_reason(o) == GROVE_EXIT_NORMAL);
  call(&w, "noreply", 0, 6); /* it has ended: the node answers */
  check_error_shape(reply_for(&w, 6), GROVE_ENOENT, 1);
  tr_end_actor(big);
  tr_end_actor(err);
  CHECK(!grove_actor_alive(nr));
  close_raw(&w);
  CHECK_EQ(grove_node_stop(), 0);
}

static int child_main(const tr_child *c) { return 2; }

TR_MAIN(child_main, TEST(test_exit_signals), TEST(test_version_first), TEST(test_reply_rules))
