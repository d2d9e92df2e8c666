/* tests/transport/test_hostile.c - a node under attack keeps serving.
 *
 * The node under test is this process's node "srv" (max_message 1024). Bare
 * libzmq DEALERs (tr_raw in tr_util.h) connect to it: "good" speaks the
 * protocol properly, "evil" (and friends) send garbage, wrong versions,
 * truncated and oversized frames, envelopes before the handshake, envelopes
 * to actors that do not exist, multi-frame messages. A real grove node
 * ("peer", a child process) is connected too. After each attack the node
 * must still answer "good" and "peer", and the counters of
 * grove_node_stats_get must say what was dropped and why. A flood of bad
 * frames must not become a flood of log lines.
 *
 * srv's actor "calc": call "add" [a, b] replies "sum" [a + b]; a body it
 * cannot read gets the error GROVE_EINVAL.
 */
#include "tr_util.h"

#define SRV "srv"

/* ---- the child: a plain grove node with an "echo" actor ----------------------------------------
 */

static int echo_receive(grove_actor *self, grove_msg *msg) {
  if (grove_msg_is_call(msg)) {
    grove_msg *r = grove_msg_new("echo-reply");
    tr_copy_body(r, msg);
    grove_reply(msg, r);
  }
  return 0;
}
static const grove_actor_class echo_class = {"echo", sizeof(grove_actor), NULL, echo_receive, NULL};

static int child_main(const tr_child *c) {
  grove_node_opts o;
  const char *allow[2];
  tr_child_opts(c, &o, allow);
  if (grove_node_start(c->name, c->endpoint, &o) != 0)
    return 2;
  grove_actor_opts ao = {.name = "echo"};
  grove_ref r;
  CHECK_EQ(grove_actor_spawn_ex(&echo_class, NULL, &ao, &r), 0);
  tr_track(r);
  tr_child_serve(c);
  return tr_child_finish();
}

/* ---- the node under attack ------------------------------------------------------------------ */

static int calc_receive(grove_actor *self, grove_msg *msg) {
  if (!grove_msg_is_call(msg))
    return 0;
  int64_t a, b;
  if (grove_msg_int(msg, 0, &a) != 0 || grove_msg_int(msg, 1, &b) != 0) {
    grove_reply_error(msg, GROVE_EINVAL);
    return 0;
  }
  grove_reply(msg, TR_MSG("sum", a + b));
  return 0;
}
static const grove_actor_class calc_class = {"calc", sizeof(grove_actor), NULL, calc_receive, NULL};

typedef struct counts {
  uint64_t malformed, version, oversize, unknown_peer, unknown_target;
} counts;

static counts snap(void) {
  grove_node_stats st;
  memset(&st, 0, sizeof st);
  grove_node_stats_get(&st);
  return (counts){st.dropped_malformed, st.dropped_version, st.dropped_oversize,
                  st.dropped_unknown_peer, st.unknown_target};
}

/* Wait until the counters moved by at least the deltas (frames from
 * different peers are not ordered), then check they moved by exactly that. */
static counts expect_delta(int line, counts base, uint64_t m, uint64_t v, uint64_t o, uint64_t u,
                           uint64_t t) {
  counts want = {base.malformed + m, base.version + v, base.oversize + o, base.unknown_peer + u,
                 base.unknown_target + t};
  double deadline = test_now() + 3;
  counts now;
  for (;;) {
    now = snap();
    if ((now.malformed >= want.malformed && now.version >= want.version &&
         now.oversize >= want.oversize && now.unknown_peer >= want.unknown_peer &&
         now.unknown_target >= want.unknown_target) ||
        test_now() > deadline)
      break;
    grove_sleep(0.001);
  }
  grove_sleep(0.01); /* anything more would show now */
  now = snap();
  if (memcmp(&now, &want, sizeof now) != 0) {
    fprintf(stderr,
            "line %d: counters malformed %llu/%llu version %llu/%llu oversize %llu/%llu "
            "unknown_peer %llu/%llu unknown_target %llu/%llu (got/want)\n",
            line, (unsigned long long)now.malformed, (unsigned long long)want.malformed,
            (unsigned long long)now.version, (unsigned long long)want.version,
            (unsigned long long)now.oversize, (unsigned long long)want.oversize,
            (unsigned long long)now.unknown_peer, (unsigned long long)want.unknown_peer,
            (unsigned long long)now.unknown_target, (unsigned long long)want.unknown_target);
    test__failed = 1;
  }
  return now;
}
#define EXPECT(base, m, v, o, u, t) (base = expect_delta(__LINE__, base, m, v, o, u, t))

static msgpack_sbuffer sb;
static msgpack_packer pk;

/* CALL calc "add" [a, b] from a raw client; returns the sum or the status. */
static uint64_t next_id = 1000;
static int64_t raw_add(tr_raw *r, int64_t a, int64_t b) {
  msgpack_sbuffer body;
  msgpack_sbuffer_init(&body);
  msgpack_packer bp;
  msgpack_packer_init(&bp, &body, msgpack_sbuffer_write);
  msgpack_pack_int64(&bp, a);
  msgpack_pack_int64(&bp, b);
  uint64_t id = ++next_id;
  tr_env_send(&pk, "calc", 0, 0, "add", body.data, body.size, id);
  msgpack_sbuffer_destroy(&body);
  if (tr_raw_send_sb(r, &sb) != 0)
    return -999998;
  msgpack_object *o;
  while ((o = tr_raw_expect(r, 4, 3.0)) != NULL) {
    if (o->via.array.ptr[2].via.u64 != id)
      continue; /* an older reply */
    int64_t st = tr_reply_status(o);
    return st ? st : tr_reply_int(o);
  }
  return -999999;
}

/* A CALL with a raw body; returns the REPLY's status (or -999999). */
static int64_t raw_call_body(tr_raw *r, const char *to_name, const void *body, size_t blen) {
  uint64_t id = ++next_id;
  tr_env_send(&pk, to_name, 0, 0, "add", body, blen, id);
  tr_raw_send_sb(r, &sb);
  msgpack_object *o;
  while ((o = tr_raw_expect(r, 4, 3.0)) != NULL)
    if (o->via.array.ptr[2].via.u64 == id)
      return tr_reply_status(o);
  return -999999;
}

static grove_ref peer_echo;
static tr_raw good;
static int step;

/* The node still serves a proper raw client and a grove peer. */
static void served(int line) {
  step++;
  int64_t s = raw_add(&good, step, 1000);
  if (s != step + 1000) {
    fprintf(stderr, "line %d: good's call got %lld\n", line, (long long)s);
    test__failed = 1;
  }
  int64_t e = tr_call_int(peer_echo, TR_MSG("e", step), 3.0);
  if (e != step) {
    fprintf(stderr, "line %d: call to the peer got %lld\n", line, (long long)e);
    test__failed = 1;
  }
}
#define SERVED() served(__LINE__)

static void send_bytes(tr_raw *r, const char *bytes, size_t len) {
  CHECK_EQ(tr_raw_send(r, bytes, len), 0);
}

static void test_hostile_peers(void) {
  char bound[256];
  pid_t pid = tr_spawn(bound, sizeof bound, "peer", "peer", tr_ipc("peer"), SRV, NULL);
  CHECK(pid > 0);
  if (pid <= 0)
    return;
  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  grove_node_opts o = {.max_message = 1024, .heartbeat_timeout = 30};
  CHECK_EQ(grove_node_start(SRV, "tcp://127.0.0.1:0", &o), 0);
  const char *ep = grove_node_endpoint();
  grove_actor_opts ao = {.name = "calc"};
  grove_ref calc;
  CHECK_EQ(grove_actor_spawn_ex(&calc_class, NULL, &ao, &calc), 0);
  CHECK_EQ(grove_node_connect("peer", bound), 0);
  CHECK_EQ(grove_whereis_remote("peer", "echo", &peer_echo, 3.0), 0);
  CHECK_EQ(tr_raw_open(&good, "good", ep), 0);
  CHECK_EQ(tr_raw_hello(&good, 3.0), 0);
  SERVED();
  counts c = snap();
  CHECK_EQ(c.malformed + c.version + c.oversize + c.unknown_peer + c.unknown_target, 0);

  tr_raw evil, evil2, evil3;
  CHECK_EQ(tr_raw_open(&evil, "evil", ep), 0);
  /* before any hello: a valid envelope is dropped, counted */
  tr_env_send(&pk, "calc", 0, 0, "add", "\x01\x02", 2, 0);
  tr_raw_send_sb(&evil, &sb);
  EXPECT(c, 0, 0, 0, 1, 0);
  /* a CALL before hello gets no reply */
  tr_env_send(&pk, "calc", 0, 0, "add", "\x01\x02", 2, 5);
  tr_raw_send_sb(&evil, &sb);
  EXPECT(c, 0, 0, 0, 1, 0);
  CHECK(tr_raw_expect(&evil, 4, 0.1) == NULL);
  /* garbage before hello */
  send_bytes(&evil, "\xc1\xc1\xc1", 3);
  EXPECT(c, 1, 0, 0, 0, 0);
  /* a message of more than one frame */
  {
    const void *bufs[2] = {"\x92\x01\x05", "\x92\x01\x05"};
    size_t lens[2] = {3, 3};
    CHECK_EQ(tr_raw_sendv(&evil, 2, bufs, lens), 0);
    EXPECT(c, 1, 0, 0, 0, 0);
    const void *bufs3[3] = {"a", "b", "c"};
    size_t lens3[3] = {1, 1, 1};
    CHECK_EQ(tr_raw_sendv(&evil, 3, bufs3, lens3), 0);
    EXPECT(c, 1, 0, 0, 0, 0);
  }
  /* a hello that names another node than its routing id */
  tr_env_hello(&pk, "other", 1);
  tr_raw_send_sb(&evil, &sb);
  EXPECT(c, 1, 0, 0, 0, 0);
  CHECK(tr_raw_expect(&evil, 1, 0.1) == NULL);
  SERVED();
  /* a peer whose name is the node's own */
  CHECK_EQ(tr_raw_open(&evil3, SRV, ep), 0);
  tr_env_hello(&pk, SRV, 1);
  tr_raw_send_sb(&evil3, &sb);
  EXPECT(c, 1, 0, 0, 0, 0);
  CHECK(tr_raw_expect(&evil3, 1, 0.1) == NULL);
  tr_raw_close(&evil3);

  /* now evil shakes hands properly */
  CHECK_EQ(tr_raw_hello(&evil, 3.0), 0);
  CHECK_EQ(raw_add(&evil, 1, 1), 2);
  SERVED();

  /* not msgpack */
  send_bytes(&evil, "\xc1", 1);
  EXPECT(c, 1, 0, 0, 0, 0);
  send_bytes(&evil, "\xc1hello", 6);
  EXPECT(c, 1, 0, 0, 0, 0);
  /* every byte below 0x80 is a msgpack integer: 5 envelopes, all wrong */
  send_bytes(&evil, "hello", 5);
  EXPECT(c, 5, 0, 0, 0, 0);
  /* msgpack, not an envelope */
  send_bytes(&evil, "\x81\xa1\x61\x01", 4); /* {"a": 1} */
  send_bytes(&evil, "\x07", 1);             /* 7 */
  send_bytes(&evil, "\x91\x01", 2);         /* [1] */
  send_bytes(&evil, "\x90", 1);             /* [] */
  send_bytes(&evil, "\x92\x01\x63", 2 + 1); /* [1, 99]: no such kind */
  send_bytes(&evil, "\x93\x01\x05\x00", 4); /* HEARTBEAT with an extra field */
  send_bytes(&evil, "\x92\xff\x05", 3);     /* version -1 */
  send_bytes(&evil, "\x92\xa1\x31\x05", 4); /* version "1" */
  EXPECT(c, 8, 0, 0, 0, 0);
  /* another protocol version */
  send_bytes(&evil, "\x92\x02\x05", 3);
  send_bytes(&evil, "\x96\x02\x02\xa4\x63\x61\x6c\x63\xc0\xa1\x78\xc4\x00", 13);
  send_bytes(&evil, "\x92\x03\x63", 3); /* the version decides before the kind */
  EXPECT(c, 0, 3, 0, 0, 0);
  SERVED();
  /* truncated: a valid SEND cut short */
  tr_env_send(&pk, "calc", 0, 0, "add", "\x01\x02", 2, 0);
  CHECK_EQ(tr_raw_send(&evil, sb.data, sb.size - 3), 0);
  msgpack_sbuffer_clear(&sb);
  EXPECT(c, 1, 0, 0, 0, 0);
  /* a huge declared array / map / string / bin in a tiny frame */
  send_bytes(&evil, "\xdd\xff\xff\xff\xff\x01\x02", 7);
  send_bytes(&evil, "\xdf\xff\xff\xff\xff\x01\x02", 7);
  send_bytes(&evil, "\xdb\xff\xff\xff\xff\x01\x02", 7);
  send_bytes(&evil, "\xc6\x7f\xff\xff\xff\x01\x02", 7);
  send_bytes(&evil, "\x96\x01\x02\xdd\x00\x01\x00\x00", 8);
  EXPECT(c, 5, 0, 0, 0, 0);
  /* deep nesting */
  {
    char deep[201];
    memset(deep, 0x91, 200);
    deep[200] = (char)0xc0;
    send_bytes(&evil, deep, sizeof deep);
    EXPECT(c, 1, 0, 0, 0, 0);
  }
  /* bad fields: tag with a NUL, tag and name too long, a short ref, ref id 0,
   * a status outside int32, a body that is not bin */
  {
    char longname[65];
    memset(longname, 'x', 64);
    longname[64] = 0;
    tr_env_send(&pk, "calc", 0, 0, "a", "", 0, 0); /* valid: a SEND calc ignores */
    tr_raw_send_sb(&evil, &sb);
    msgpack_pack_array(&pk, 6);
    msgpack_pack_uint8(&pk, 1);
    msgpack_pack_uint8(&pk, 2);
    tr_pack_str(&pk, "calc");
    msgpack_pack_nil(&pk);
    msgpack_pack_str_with_body(&pk, "a\0b", 3);
    msgpack_pack_bin_with_body(&pk, "", 0);
    tr_raw_send_sb(&evil, &sb);
    tr_env_send(&pk, "calc", 0, 0, longname, "", 0, 0);
    tr_raw_send_sb(&evil, &sb);
    tr_env_send(&pk, longname, 0, 0, "add", "", 0, 0);
    tr_raw_send_sb(&evil, &sb);
    msgpack_pack_array(&pk, 6);
    msgpack_pack_uint8(&pk, 1);
    msgpack_pack_uint8(&pk, 2);
    msgpack_pack_ext_with_body(&pk, "0123456789abcde", 15, 1);
    msgpack_pack_nil(&pk);
    tr_pack_str(&pk, "x");
    msgpack_pack_bin_with_body(&pk, "", 0);
    tr_raw_send_sb(&evil, &sb);
    tr_env_send(&pk, NULL, grove_node_id(SRV), 0, "x", "", 0, 0); /* ref id 0 */
    tr_raw_send_sb(&evil, &sb);
    msgpack_pack_array(&pk, 7);
    msgpack_pack_uint8(&pk, 1);
    msgpack_pack_uint8(&pk, 4);
    msgpack_pack_uint64(&pk, 1);
    msgpack_pack_int64(&pk, -5000000000ll);
    msgpack_pack_nil(&pk);
    tr_pack_str(&pk, "x");
    msgpack_pack_bin_with_body(&pk, "", 0);
    tr_raw_send_sb(&evil, &sb);
    msgpack_pack_array(&pk, 6);
    msgpack_pack_uint8(&pk, 1);
    msgpack_pack_uint8(&pk, 2);
    tr_pack_str(&pk, "calc");
    msgpack_pack_nil(&pk);
    tr_pack_str(&pk, "add");
    tr_pack_str(&pk, "not a bin");
    tr_raw_send_sb(&evil, &sb);
    EXPECT(c, 7, 0, 0, 0, 0); /* all but the first */
  }
  SERVED();
  /* oversize: more than max_message (1024) */
  {
    static char big[1500];
    memset(big, 0x90, sizeof big);
    send_bytes(&evil, big, sizeof big);
    EXPECT(c, 0, 0, 1, 0, 0);
    /* far bigger: ZeroMQ's own limit drops the connection; the node is fine */
    static char huge[100000];
    send_bytes(&evil, huge, sizeof huge);
    grove_sleep(0.05);
    SERVED();
  }
  /* after hello: to actors that do not exist */
  tr_env_send(&pk, NULL, grove_node_id(SRV), 999, "x", "", 0, 0);
  tr_raw_send_sb(&evil, &sb);
  EXPECT(c, 0, 0, 0, 0, 1);
  tr_env_send(&pk, NULL, grove_node_id("elsewhere"), 1, "x", "", 0, 0);
  tr_raw_send_sb(&evil, &sb);
  EXPECT(c, 0, 0, 0, 0, 1);
  tr_env_send(&pk, "nobody", 0, 0, "x", "", 0, 0);
  tr_raw_send_sb(&evil, &sb);
  EXPECT(c, 0, 0, 0, 0, 1);
  /* calls to them are answered GROVE_ENOENT (evil reconnected by now) */
  double until = test_now() + 3;
  int64_t st = -999999;
  while (st == -999999 && test_now() < until)
    st = raw_call_body(&evil, "nobody", "", 0);
  CHECK_EQ(st, GROVE_ENOENT);
  c = snap();
  CHECK_EQ(raw_call_body(&evil, "calc", "\x01\x02", 2), 0);
  tr_env_send(&pk, NULL, grove_node_id(SRV), 999, "x", "", 0, 77);
  tr_raw_send_sb(&evil, &sb);
  msgpack_object *ob = tr_raw_expect(&evil, 4, 3.0);
  CHECK(ob != NULL);
  if (ob) {
    CHECK_EQ(ob->via.array.ptr[2].via.u64, 77);
    CHECK_EQ(tr_reply_status(ob), GROVE_ENOENT);
  }
  EXPECT(c, 0, 0, 0, 0, 1);
  /* a reply nobody asked for */
  msgpack_pack_array(&pk, 7);
  msgpack_pack_uint8(&pk, 1);
  msgpack_pack_uint8(&pk, 4);
  msgpack_pack_uint64(&pk, 123456);
  msgpack_pack_int64(&pk, 0);
  msgpack_pack_nil(&pk);
  tr_pack_str(&pk, "x");
  msgpack_pack_bin_with_body(&pk, "", 0);
  tr_raw_send_sb(&evil, &sb);
  EXPECT(c, 0, 0, 0, 0, 1);
  /* bodies calc cannot read: an error reply, nothing worse */
  CHECK_EQ(raw_call_body(&evil, "calc", "\xc1", 1), GROVE_EINVAL);
  CHECK_EQ(raw_call_body(&evil, "calc", "\x01", 1), GROVE_EINVAL);
  {
    char deep[301];
    memset(deep, 0x91, 300);
    deep[300] = 0x01;
    CHECK_EQ(raw_call_body(&evil, "calc", deep, sizeof deep), GROVE_EINVAL);
  }
  CHECK_EQ(raw_call_body(&evil, "calc", "\xdd\x00\x10\x00\x00\x01", 6), GROVE_EINVAL);
  CHECK_EQ(raw_call_body(&evil, "calc", "\xdd\xff\xff\xff\xff\x01", 6), GROVE_EINVAL);
  /* several envelopes in one frame, then garbage: the good ones count */
  {
    msgpack_sbuffer body;
    msgpack_sbuffer_init(&body);
    msgpack_packer bp;
    msgpack_packer_init(&bp, &body, msgpack_sbuffer_write);
    msgpack_pack_int(&bp, 3);
    msgpack_pack_int(&bp, 4);
    tr_env_send(&pk, "calc", 0, 0, "add", body.data, body.size, 501);
    tr_env_send(&pk, "calc", 0, 0, "add", body.data, body.size, 502);
    msgpack_sbuffer_write(&sb, "\xc1", 1);
    tr_raw_send_sb(&evil, &sb);
    msgpack_sbuffer_destroy(&body);
    for (uint64_t want = 501; want <= 502; want++) {
      msgpack_object *r = tr_raw_expect(&evil, 4, 3.0);
      CHECK(r != NULL);
      if (r) {
        CHECK_EQ(r->via.array.ptr[2].via.u64, want);
        CHECK_EQ(tr_reply_int(r), 7);
      }
    }
    EXPECT(c, 1, 0, 0, 0, 0);
  }
  /* an empty frame: nothing to do */
  send_bytes(&evil, "", 0);
  SERVED();
  EXPECT(c, 0, 0, 0, 0, 0);

  /* the log is rate-limited: 1000 bad frames, a few lines */
  char logpath[128];
  snprintf(logpath, sizeof logpath, "/tmp/grove-test-%d-log", (int)getpid());
  fflush(stderr);
  int saved = dup(2);
  int lfd = open(logpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  CHECK(lfd >= 0);
  dup2(lfd, 2);
  close(lfd);
  tr_raw evil4; /* a new peer: its log limiter has not fired yet */
  CHECK_EQ(tr_raw_open(&evil4, "evil4", ep), 0);
  CHECK_EQ(tr_raw_hello(&evil4, 3.0), 0);
  for (int i = 0; i < 1000; i++)
    send_bytes(&evil4, "\xc1", 1);
  CHECK_EQ(tr_raw_open(&evil2, "evil2", ep), 0);
  for (int i = 0; i < 1000; i++) {
    tr_env_send(&pk, "calc", 0, 0, "add", "", 0, 0);
    tr_raw_send_sb(&evil2, &sb);
  }
  counts before = c;
  EXPECT(c, 1000, 0, 0, 1000, 0);
  SERVED();
  fflush(stderr);
  dup2(saved, 2);
  close(saved);
  FILE *lf = fopen(logpath, "r");
  int lines = 0;
  char buf[512];
  while (lf && fgets(buf, sizeof buf, lf))
    lines += strncmp(buf, "grove:", 6) == 0;
  if (lf)
    fclose(lf);
  unlink(logpath);
  printf("     2000 bad envelopes from two peers: %d log line(s)\n", lines);
  CHECK(lines >= 1); /* the first one is said */
  CHECK(lines <= 4);
  CHECK_EQ(c.malformed - before.malformed, 1000);

  /* still serving, counters say it all */
  SERVED();
  grove_node_stats st2;
  CHECK_EQ(grove_node_stats_get(&st2), 0);
  CHECK(st2.received > 0);
  CHECK_EQ(st2.nodes_up, 4); /* peer, good, evil, evil4 */

  tr_raw_close(&evil);
  tr_raw_close(&evil2);
  tr_raw_close(&evil4);
  tr_raw_close(&good);
  msgpack_sbuffer_destroy(&sb);
  tr_end_actor(calc);
  CHECK_EQ(grove_node_stop(), 0);
  CHECK_EQ(tr_reap(pid, 5.0), 0);
}

TR_MAIN(child_main, TEST(test_hostile_peers))
