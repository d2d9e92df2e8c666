/* tests/transport/test_zmq_edge.c - driving ZeroMQ from the hub.
 *
 * ZMQ_FD is edge-triggered: it only says "look at ZMQ_EVENTS", and a
 * zmq_send can consume the signal that a message arrived. A node that
 * receives a burst while it is busy sending a burst must still see the whole
 * burst without any further traffic to kick its socket (heartbeats are
 * disabled here: hbi=1000 s). Each round is bounded; a missed wake-up fails
 * the round instead of hanging.
 *
 * Backpressure: with tiny high-water marks and a receiver whose whole
 * process is blocked, senders wait (grove_send_timeout returns
 * GROVE_ETIMEDOUT or succeeds late), and every send that returned 0 is
 * delivered.
 *
 * Batching and max_message: many small messages to a node with a small
 * max_message all arrive (each envelope is within the limit).
 *
 * The child is node "srv" with an actor "edge":
 *   "d" [i, bin]       counts (and checks order)
 *   call "flood" [target, n, size, expect, notify]: replies, then sends n
 *                      "d" messages of `size` body bytes to target; from then
 *                      on counts incoming "d" from 0 and, when `expect` have
 *                      arrived and notify is set, sends "done" to target
 *   call "get"         [count, misordered]
 *   "block" [ms]       blocks the child's whole thread (usleep)
 */
#include "tr_util.h"

#define PAR "par"
#define SRV "srv"

/* ---- child --------------------------------------------------------------------------------- */

typedef struct edge {
  grove_actor base;
  int64_t count, misordered, expect;
  grove_ref notify;
} edge;

static grove_msg *data_msg(int64_t i, size_t size) {
  static char pad[65536];
  grove_msg *m = TR_MSG("d", i);
  grove_msg_pack_bin(m, pad, size < sizeof pad ? size : sizeof pad);
  return m;
}

static int edge_receive(grove_actor *self, grove_msg *msg) {
  edge *e = (edge *)self;
  if (grove_msg_is(msg, "d")) {
    if (tr_int(msg, 0) != e->count)
      e->misordered++;
    e->count++;
    if (e->count == e->expect && !grove_ref_is_null(e->notify)) {
      CHECK_EQ(grove_send(e->notify, TR_MSG("done", e->count)), 0);
      e->notify = GROVE_REF_NULL;
    }
  } else if (grove_msg_is(msg, "flood")) {
    grove_ref target = tr_ref(msg, 0);
    int64_t n = tr_int(msg, 1), size = tr_int(msg, 2);
    e->count = 0;
    e->misordered = 0;
    e->expect = tr_int(msg, 3);
    e->notify = tr_int(msg, 4) ? target : GROVE_REF_NULL;
    grove_reply(msg, grove_msg_new("ok"));
    for (int64_t i = 0; i < n; i++)
      CHECK_EQ(grove_send(target, data_msg(i, (size_t)size)), 0);
  } else if (grove_msg_is(msg, "get")) {
    grove_reply(msg, TR_MSG("count", e->count, e->misordered));
  } else if (grove_msg_is(msg, "reset")) {
    e->count = e->misordered = 0;
    grove_reply(msg, grove_msg_new("ok"));
  } else if (grove_msg_is(msg, "block")) {
    tr_usleep((double)tr_int(msg, 0) / 1000);
  }
  return 0;
}

static const grove_actor_class edge_class = {"edge", sizeof(edge), NULL, edge_receive, NULL};

static int child_main(const tr_child *c) {
  grove_node_opts o;
  const char *allow[2];
  tr_child_opts(c, &o, allow);
  if (grove_node_start(c->name, c->endpoint, &o) != 0)
    return 2;
  grove_actor_opts ao = {.name = "edge"};
  grove_ref r;
  CHECK_EQ(grove_actor_spawn_ex(&edge_class, NULL, &ao, &r), 0);
  tr_track(r);
  tr_child_serve(c);
  return tr_child_finish();
}

/* ---- parent -------------------------------------------------------------------------------- */

/* The parent's receiving actor: counts "d", notes "done". */
typedef struct psink {
  grove_actor base;
} psink;
static int64_t p_count, p_misordered, p_done;

static int psink_receive(grove_actor *self, grove_msg *msg) {
  if (grove_msg_is(msg, "d")) {
    if (tr_int(msg, 0) != p_count)
      p_misordered++;
    p_count++;
  } else if (grove_msg_is(msg, "done")) {
    p_done = tr_int(msg, 0);
  }
  return 0;
}
static const grove_actor_class psink_class = {"psink", sizeof(psink), NULL, psink_receive, NULL};

static pid_t setup(const grove_node_opts *o, const char *a1, const char *a2, const char *a3) {
  char bound[256];
  pid_t pid = tr_spawn(bound, sizeof bound, "edge", SRV, tr_ipc("srv"), PAR, a1, a2, a3, NULL);
  CHECK(pid > 0);
  if (pid <= 0)
    return pid;
  CHECK_EQ(grove_node_start(PAR, tr_ipc("par"), o), 0);
  CHECK_EQ(grove_node_connect(SRV, bound), 0);
  return pid;
}

static void finish(pid_t pid) {
  CHECK_EQ(grove_node_stop(), 0);
  if (pid > 0)
    CHECK_EQ(tr_reap(pid, 5.0), 0);
}

/* Wait, without sending anything, until cond holds or timeout. */
#define WAIT_FOR(cond, timeout)                                                                    \
  do {                                                                                             \
    double wf_deadline = test_now() + (timeout);                                                   \
    while (!(cond) && test_now() < wf_deadline)                                                    \
      grove_sleep(0.002);                                                                          \
  } while (0)

static void test_simultaneous_bursts(void) {
  /* no heartbeats: nothing but the bursts crosses the link */
  grove_node_opts o = {.heartbeat_interval = 1000, .heartbeat_timeout = 2000};
  pid_t pid = setup(&o, "hbi=1000", "hbt=2000", NULL);
  if (pid <= 0)
    return;
  grove_ref sink = grove_actor_spawn(&psink_class, NULL);
  grove_ref edge = GROVE_REF_NULL;
  CHECK_EQ(grove_whereis_remote(SRV, "edge", &edge, 5.0), 0);
  static const int sizes[] = {8, 100, 1000, 3000, 40, 20000, 500, 64, 7000, 16};
  int failures = 0;
  for (int round = 0; round < 20 && !failures; round++) {
    int n = 2000 + 997 * (round % 7), m = 1500 + 1301 * (round % 5);
    size_t size = (size_t)sizes[round % 10];
    if (size >= 3000) {
      n /= 4;
      m /= 4;
    }
    int notify = round & 1; /* odd rounds check the child's side */
    p_count = p_misordered = p_done = 0;
    grove_msg *req = grove_msg_new("flood");
    grove_msg_pack_ref(req, sink);
    grove_msg_pack_int(req, n);
    grove_msg_pack_int(req, (int64_t)size);
    grove_msg_pack_int(req, m);
    grove_msg_pack_int(req, notify);
    grove_msg *rep = NULL;
    CHECK_EQ(grove_call(edge, req, &rep, 5.0), 0);
    grove_msg_free(rep);
    /* the child floods us now; flood it at the same time */
    for (int i = 0; i < m; i++)
      grove_send(edge, data_msg(i, size));
    if (!notify) {
      /* our side: everything arrives with no further traffic */
      WAIT_FOR(p_count == n, 5.0);
      if (p_count != n) {
        fprintf(stderr, "round %d: parent got %lld of %d (missed wake-up?)\n", round,
                (long long)p_count, n);
        failures++;
      }
      CHECK_EQ(tr_call_int(edge, grove_msg_new("get"), 5.0), m);
    } else {
      /* the child's side: it says "done" only once it got all m by itself */
      WAIT_FOR(p_done == m && p_count == n, 5.0);
      if (p_done != m) {
        fprintf(stderr, "round %d: child did not report all %d (missed wake-up?)\n", round, m);
        failures++;
      }
      CHECK_EQ(p_count, n);
    }
    CHECK_EQ(p_misordered, 0);
  }
  CHECK_EQ(failures, 0);
  tr_end_actor(sink);
  finish(pid);
}

/* Backpressure: high-water marks of 10 frames, the receiver's process
 * blocked for 1.5 s. */
static void test_backpressure(void) {
  grove_node_opts o = {.sndhwm = 10, .rcvhwm = 10, .heartbeat_timeout = 10};
  pid_t pid = setup(&o, "sndhwm=10", "rcvhwm=10", "hbt=10");
  if (pid <= 0)
    return;
  grove_ref edge = GROVE_REF_NULL;
  CHECK_EQ(grove_whereis_remote(SRV, "edge", &edge, 5.0), 0);
  CHECK_EQ(tr_call_int(edge, grove_msg_new("reset"), 5.0), -999999); /* "ok", no body */
  CHECK_EQ(grove_send(edge, TR_MSG("block", 1500)), 0);
  int64_t ok = 0, timedout = 0, other = 0;
  double max_wait = 0, t_start = test_now();
  /* until the receiver is back (a send succeeds after timeouts) and 200 more */
  int64_t after = -1;
  while (test_now() - t_start < 4.0 && after < 200) {
    double t = test_now();
    int rc = grove_send_timeout(edge, data_msg(ok, 8192), 0.05);
    double w = test_now() - t;
    if (w > max_wait)
      max_wait = w;
    if (rc == 0) {
      ok++;
      if (timedout > 0)
        after++;
    } else if (rc == GROVE_ETIMEDOUT)
      timedout++;
    else
      other++;
    if (ok % 64 == 0)
      grove_sleep(0); /* let the hub breathe */
  }
  printf("     backpressure: %lld sent, %lld timed out, longest send %.3f s\n", (long long)ok,
         (long long)timedout, max_wait);
  CHECK_EQ(other, 0);
  CHECK(timedout > 0 || max_wait >= 0.02); /* senders did wait */
  CHECK(ok > 0);
  /* every accepted message is delivered, in order */
  grove_msg *rep = NULL;
  CHECK_EQ(grove_call(edge, grove_msg_new("get"), &rep, 15.0), 0);
  CHECK_EQ(tr_int(rep, 0), ok);
  CHECK_EQ(tr_int(rep, 1), 0);
  grove_msg_free(rep);
  finish(pid);
}

/* Many small messages to a node whose max_message is small: batching must
 * not make frames the receiver refuses. */
static void test_batching_within_max_message(void) {
  pid_t pid = setup(NULL, "max=4096", NULL, NULL);
  if (pid <= 0)
    return;
  grove_ref edge = GROVE_REF_NULL;
  CHECK_EQ(grove_whereis_remote(SRV, "edge", &edge, 5.0), 0);
  CHECK_EQ(tr_call_int(edge, grove_msg_new("reset"), 5.0), -999999); /* "ok", no body */
  int ok = 0;
  for (int i = 0; i < 2000; i++)
    ok += grove_send(edge, data_msg(i, 100)) == 0;
  CHECK_EQ(ok, 2000);
  grove_msg *rep = NULL;
  int rc = grove_call(edge, grove_msg_new("get"), &rep, 3.0);
  CHECK_EQ(rc, 0);
  CHECK_EQ(tr_int(rep, 0), 2000);
  grove_msg_free(rep);
  finish(pid);
}

TR_MAIN(child_main, TEST(test_simultaneous_bursts), TEST(test_backpressure),
        TEST(test_batching_within_max_message))
