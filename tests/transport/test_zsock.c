/* tests/transport/test_zsock.c - cooperative ZeroMQ sockets (grove/zmq.h).
 *
 * Greenlets of one hub talk over the user's own libzmq sockets (inproc and
 * ipc endpoints): REQ/REP, PUSH/PULL, DEALER/ROUTER with multipart
 * messages; two REQ/REP pairs progressing side by side (a wait that blocked
 * the thread would stall the other pair); timeouts, polls, kills and closes
 * of blocked greenlets; and the missed-edge stress: bursts both ways on one
 * pair of sockets with small high-water marks, a reader and a writer on
 * each socket, every wait bounded so that a lost wake-up fails instead of
 * hanging.
 */
#include "test.h"

#include <errno.h>
#include <unistd.h>
#include <zmq.h>

TEST_WATCHDOG(100)

#define OP_TIMEOUT 10.0 /* seconds: any single wait that should succeed */

static void *ctx_new(void) {
  void *ctx = zmq_ctx_new();
  CHECK(ctx != NULL);
  return ctx;
}

static void *sock_new(void *ctx, int type) {
  void *s = zmq_socket(ctx, type);
  CHECK(s != NULL);
  int zero = 0;
  zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero);
  return s;
}

static void *bound(void *ctx, int type, const char *ep) {
  void *s = sock_new(ctx, type);
  CHECK_EQ(zmq_bind(s, ep), 0);
  return s;
}

static void *connected(void *ctx, int type, const char *ep) {
  void *s = sock_new(ctx, type);
  CHECK_EQ(zmq_connect(s, ep), 0);
  return s;
}

static const char *ipc_ep(const char *name) {
  static char buf[8][128];
  static int next;
  char *b = buf[next++ % 8];
  snprintf(b, sizeof buf[0], "ipc:///tmp/grove-zsock-%d-%s", (int)getpid(), name);
  return b;
}

static void ipc_unlink(const char *ep) { unlink(ep + strlen("ipc://")); }

static void ctx_end(void *ctx) { CHECK_EQ(zmq_ctx_term(ctx), 0); }

static int send_str(void *s, const char *str, int flags) {
  return grove_zmq_send(s, str, strlen(str), flags, OP_TIMEOUT);
}

/* Receive one frame as a string into buf (NUL-terminated). */
static int recv_str(void *s, char *buf, size_t cap, double timeout) {
  int n = grove_zmq_recv(s, buf, cap - 1, 0, timeout);
  if (n >= 0)
    buf[(size_t)n < cap - 1 ? (size_t)n : cap - 1] = 0;
  return n;
}

/* ---- REQ/REP ---------------------------------------------------------------------- */

typedef struct {
  void *sock;
  int rounds;
  double delay; /* the replier sleeps before each reply */
  char tag;
  int done;
} pair_arg;

static void *replier(void *arg) {
  pair_arg *a = arg;
  char buf[64], out[80];
  for (int i = 0; i < a->rounds; i++) {
    if (recv_str(a->sock, buf, sizeof buf, OP_TIMEOUT) < 0)
      return IARG(-1);
    if (a->delay > 0)
      grove_sleep(a->delay);
    snprintf(out, sizeof out, "re:%s", buf);
    if (send_str(a->sock, out, 0) < 0)
      return IARG(-2);
  }
  return NULL;
}

static void *requester(void *arg) {
  pair_arg *a = arg;
  char buf[64], want[80], req[32];
  for (int i = 0; i < a->rounds; i++) {
    snprintf(req, sizeof req, "%c%d", a->tag, i);
    if (send_str(a->sock, req, 0) < 0)
      return IARG(-1);
    if (recv_str(a->sock, buf, sizeof buf, OP_TIMEOUT) < 0)
      return IARG(-2);
    snprintf(want, sizeof want, "re:%s", req);
    if (strcmp(buf, want) != 0)
      return IARG(-3);
    a->done++;
    if (a->delay == 0)
      test_log("%c%d", a->tag, i);
  }
  return NULL;
}

static void test_req_rep_inproc(void) {
  void *ctx = ctx_new();
  void *rep = bound(ctx, ZMQ_REP, "inproc://rr");
  void *req = connected(ctx, ZMQ_REQ, "inproc://rr");
  pair_arg ra = {rep, 200, 0, 'r', 0}, qa = {req, 200, 0, 'q', 0};
  grove_greenlet *g[] = {grove_spawn(replier, &ra), grove_spawn(requester, &qa)};
  CHECK_EQ(grove_joinall(g, 2, 30), 0);
  CHECK(grove_value(g[0]) == NULL);
  CHECK(grove_value(g[1]) == NULL);
  CHECK_EQ(qa.done, 200);
  for (int i = 0; i < 2; i++)
    grove_greenlet_release(g[i]);
  CHECK_EQ(grove_zmq_close(req), 0);
  CHECK_EQ(grove_zmq_close(rep), 0);
  ctx_end(ctx);
}

/* Two pairs in one hub: pair A's replier takes 0.2 s per reply, pair B
 * makes 50 round trips meanwhile. B must finish while A's first reply is
 * still pending: A's waits let B run. */
static void test_two_pairs_interleave(void) {
  void *ctx = ctx_new();
  const char *epa = ipc_ep("pa"), *epb = ipc_ep("pb");
  void *repa = bound(ctx, ZMQ_REP, epa), *reqa = connected(ctx, ZMQ_REQ, epa);
  void *repb = bound(ctx, ZMQ_REP, epb), *reqb = connected(ctx, ZMQ_REQ, epb);
  pair_arg ra = {repa, 2, 0.2, 'a', 0}, qa = {reqa, 2, 0.2, 'a', 0};
  pair_arg rb = {repb, 50, 0, 'b', 0}, qb = {reqb, 50, 0, 'b', 0};
  double t0 = test_now();
  grove_greenlet *g[] = {grove_spawn(replier, &ra), grove_spawn(requester, &qa),
                         grove_spawn(replier, &rb), grove_spawn(requester, &qb)};
  CHECK_EQ(grove_join(g[3], 30), 0);
  CHECK_EQ(qb.done, 50);
  CHECK_EQ(qa.done, 0); /* A's first reply is 0.2 s away */
  CHECK_EQ(grove_joinall(g, 4, 30), 0);
  CHECK_EQ(qa.done, 2);
  double took = test_now() - t0;
  CHECK(took >= 0.39 && took < 5);
  for (int i = 0; i < 4; i++) {
    CHECK(grove_value(g[i]) == NULL);
    grove_greenlet_release(g[i]);
  }
  void *socks[] = {repa, reqa, repb, reqb};
  for (int i = 0; i < 4; i++)
    CHECK_EQ(grove_zmq_close(socks[i]), 0);
  ctx_end(ctx);
  ipc_unlink(epa);
  ipc_unlink(epb);
}

/* Two pairs over inproc, both fast: their round trips alternate, since
 * every recv waits and lets the other pair's greenlets run. */
static void test_two_pairs_alternate(void) {
  void *ctx = ctx_new();
  void *rep1 = bound(ctx, ZMQ_REP, "inproc://p1"), *req1 = connected(ctx, ZMQ_REQ, "inproc://p1");
  void *rep2 = bound(ctx, ZMQ_REP, "inproc://p2"), *req2 = connected(ctx, ZMQ_REQ, "inproc://p2");
  pair_arg r1 = {rep1, 3, 0, 'x', 0}, q1 = {req1, 3, 0, 'x', 0};
  pair_arg r2 = {rep2, 3, 0, 'y', 0}, q2 = {req2, 3, 0, 'y', 0};
  grove_greenlet *g[] = {grove_spawn(replier, &r1), grove_spawn(requester, &q1),
                         grove_spawn(replier, &r2), grove_spawn(requester, &q2)};
  CHECK_EQ(grove_joinall(g, 4, 30), 0);
  CHECK_LOG("x0 y0 x1 y1 x2 y2");
  for (int i = 0; i < 4; i++)
    grove_greenlet_release(g[i]);
  void *socks[] = {rep1, req1, rep2, req2};
  for (int i = 0; i < 4; i++)
    CHECK_EQ(grove_zmq_close(socks[i]), 0);
  ctx_end(ctx);
}

/* ---- PUSH/PULL ----------------------------------------------------------------------- */

typedef struct {
  void *sock;
  int n;
  int got, misordered;
} flow_arg;

static void *pusher(void *arg) {
  flow_arg *a = arg;
  for (int i = 0; i < a->n; i++)
    if (grove_zmq_send(a->sock, &i, sizeof i, 0, OP_TIMEOUT) != (int)sizeof i)
      return IARG(-1);
  return NULL;
}

static void *puller(void *arg) {
  flow_arg *a = arg;
  for (int i = 0; i < a->n; i++) {
    int v = -1;
    if (grove_zmq_recv(a->sock, &v, sizeof v, 0, OP_TIMEOUT) != (int)sizeof v)
      return IARG(-1);
    if (v != i)
      a->misordered++;
    a->got++;
  }
  return NULL;
}

static void test_push_pull_ipc(void) {
  void *ctx = ctx_new();
  const char *ep = ipc_ep("pp");
  void *pull = bound(ctx, ZMQ_PULL, ep);
  void *push = sock_new(ctx, ZMQ_PUSH);
  int hwm = 10; /* the pusher waits for room again and again */
  zmq_setsockopt(push, ZMQ_SNDHWM, &hwm, sizeof hwm);
  zmq_setsockopt(pull, ZMQ_RCVHWM, &hwm, sizeof hwm);
  CHECK_EQ(zmq_connect(push, ep), 0);
  flow_arg in = {pull, 5000, 0, 0}, out = {push, 5000, 0, 0};
  grove_greenlet *g[] = {grove_spawn(puller, &in), grove_spawn(pusher, &out)};
  CHECK_EQ(grove_joinall(g, 2, 60), 0);
  CHECK(grove_value(g[0]) == NULL && grove_value(g[1]) == NULL);
  CHECK_EQ(in.got, 5000);
  CHECK_EQ(in.misordered, 0);
  for (int i = 0; i < 2; i++)
    grove_greenlet_release(g[i]);
  CHECK_EQ(grove_zmq_close(push), 0);
  CHECK_EQ(grove_zmq_close(pull), 0);
  ctx_end(ctx);
  ipc_unlink(ep);
}

/* ---- DEALER/ROUTER, multipart ---------------------------------------------------------------- */

typedef struct {
  void *sock;
  int id, rounds, ok;
} dealer_arg;

static void *dealer_fn(void *arg) {
  dealer_arg *a = arg;
  for (int i = 0; i < a->rounds; i++) {
    char body[32];
    snprintf(body, sizeof body, "%d.%d", a->id, i);
    grove_zmq_part parts[] = {{"job", 3}, {body, strlen(body)}};
    if (grove_zmq_send_parts(a->sock, parts, 2, OP_TIMEOUT) != 0)
      return IARG(-1);
    zmq_msg_t m[4];
    size_t n;
    int rc = grove_zmq_msg_recv_parts(a->sock, m, 4, &n, OP_TIMEOUT);
    int good = rc == 0 && n == 2 && zmq_msg_size(&m[0]) == 4 &&
               memcmp(zmq_msg_data(&m[0]), "done", 4) == 0 && zmq_msg_size(&m[1]) == strlen(body) &&
               memcmp(zmq_msg_data(&m[1]), body, strlen(body)) == 0;
    for (size_t k = 0; k < n; k++)
      zmq_msg_close(&m[k]);
    if (!good)
      return IARG(-2);
    a->ok++;
  }
  return NULL;
}

static void *router_fn(void *arg) {
  dealer_arg *a = arg; /* rounds = total requests to serve */
  for (int i = 0; i < a->rounds; i++) {
    zmq_msg_t m[3];
    size_t n;
    if (grove_zmq_msg_recv_parts(a->sock, m, 3, &n, OP_TIMEOUT) != 0 || n != 3) {
      for (size_t k = 0; k < n; k++)
        zmq_msg_close(&m[k]);
      return IARG(-1);
    }
    /* [identity, "job", body] -> [identity, "done", body] */
    zmq_msg_close(&m[1]);
    zmq_msg_init_size(&m[1], 4);
    memcpy(zmq_msg_data(&m[1]), "done", 4);
    if (grove_zmq_msg_send_parts(a->sock, m, 3, OP_TIMEOUT) != 0)
      return IARG(-2);
    for (int k = 0; k < 3; k++)
      CHECK_EQ(zmq_msg_size(&m[k]), 0); /* taken */
    a->ok++;
  }
  return NULL;
}

static void test_dealer_router(void) {
  void *ctx = ctx_new();
  const char *ep = ipc_ep("dr");
  void *router = bound(ctx, ZMQ_ROUTER, ep);
  enum { NDEALERS = 3, ROUNDS = 100 };
  void *dealers[NDEALERS];
  dealer_arg da[NDEALERS], ra = {router, 0, NDEALERS * ROUNDS, 0};
  grove_greenlet *g[NDEALERS + 1];
  g[0] = grove_spawn(router_fn, &ra);
  for (int i = 0; i < NDEALERS; i++) {
    dealers[i] = connected(ctx, ZMQ_DEALER, ep);
    da[i] = (dealer_arg){dealers[i], i, ROUNDS, 0};
    g[i + 1] = grove_spawn(dealer_fn, &da[i]);
  }
  CHECK_EQ(grove_joinall(g, NDEALERS + 1, 60), 0);
  CHECK_EQ(ra.ok, NDEALERS * ROUNDS);
  for (int i = 0; i < NDEALERS + 1; i++) {
    CHECK(grove_value(g[i]) == NULL);
    grove_greenlet_release(g[i]);
  }
  for (int i = 0; i < NDEALERS; i++) {
    CHECK_EQ(da[i].ok, ROUNDS);
    CHECK_EQ(grove_zmq_close(dealers[i]), 0);
  }
  CHECK_EQ(grove_zmq_close(router), 0);
  ctx_end(ctx);
  ipc_unlink(ep);
}

/* Frame by frame: SNDMORE, grove_zmq_more, truncation, a message with
 * more parts than the caller has room for. */
static void test_multipart_frames(void) {
  void *ctx = ctx_new();
  void *a = bound(ctx, ZMQ_PAIR, "inproc://mp"), *b = connected(ctx, ZMQ_PAIR, "inproc://mp");
  CHECK_EQ(send_str(a, "one", ZMQ_SNDMORE), 3);
  CHECK_EQ(send_str(a, "two", ZMQ_SNDMORE), 3);
  CHECK_EQ(send_str(a, "three-is-long", 0), 13);
  char buf[8];
  CHECK_EQ(recv_str(b, buf, sizeof buf, OP_TIMEOUT), 3);
  CHECK_STR(buf, "one");
  CHECK_EQ(grove_zmq_more(b), 1);
  CHECK_EQ(recv_str(b, buf, sizeof buf, OP_TIMEOUT), 3);
  CHECK_EQ(grove_zmq_more(b), 1);
  char small[4];
  CHECK_EQ(grove_zmq_recv(b, small, sizeof small, 0, OP_TIMEOUT), 13); /* truncated */
  CHECK(memcmp(small, "thre", 4) == 0);
  CHECK_EQ(grove_zmq_more(b), 0);

  /* Five parts into room for two: the first two are kept, the rest dropped
   * and the whole message consumed. */
  grove_zmq_part parts[] = {{"p0", 2}, {"p1", 2}, {"p2", 2}, {"p3", 2}, {"", 0}};
  CHECK_EQ(grove_zmq_send_parts(a, parts, 5, OP_TIMEOUT), 0);
  CHECK_EQ(send_str(a, "next", 0), 4);
  zmq_msg_t m[2];
  size_t n = 99;
  CHECK_EQ(grove_zmq_msg_recv_parts(b, m, 2, &n, OP_TIMEOUT), GROVE_EMSGSIZE);
  CHECK_EQ(n, 2);
  CHECK(memcmp(zmq_msg_data(&m[1]), "p1", 2) == 0);
  for (size_t k = 0; k < n; k++)
    zmq_msg_close(&m[k]);
  CHECK_EQ(recv_str(b, buf, sizeof buf, OP_TIMEOUT), 4);
  CHECK_STR(buf, "next");
  CHECK_EQ(grove_zmq_more(b), 0);

  CHECK_EQ(grove_zmq_close(a), 0);
  CHECK_EQ(grove_zmq_close(b), 0);
  ctx_end(ctx);
}

/* zmq_msg_t forms: zero-copy data is freed by ZeroMQ once sent, and a
 * message whose send fails is released too (ownership is taken always). */
static int freed;
static void free_count(void *data, void *hint) {
  (void)hint;
  freed++;
  free(data);
}

static void test_msg_forms(void) {
  void *ctx = ctx_new();
  void *rep = bound(ctx, ZMQ_REP, "inproc://mf"), *req = connected(ctx, ZMQ_REQ, "inproc://mf");
  freed = 0;
  zmq_msg_t m;
  char *data = strdup("zero-copy");
  zmq_msg_init_data(&m, data, 9, free_count, NULL);
  CHECK_EQ(grove_zmq_msg_send(req, &m, 0, OP_TIMEOUT), 9);
  CHECK_EQ(zmq_msg_size(&m), 0);
  zmq_msg_close(&m);

  zmq_msg_t r;
  zmq_msg_init(&r);
  CHECK_EQ(grove_zmq_msg_recv(rep, &r, 0, OP_TIMEOUT), 9);
  CHECK(memcmp(zmq_msg_data(&r), "zero-copy", 9) == 0);
  zmq_msg_close(&r);
  CHECK_EQ(freed, 1);

  /* REQ may not send twice: GROVE_EFSM, and the message is released. */
  data = strdup("again");
  zmq_msg_init_data(&m, data, 5, free_count, NULL);
  CHECK_EQ(grove_zmq_msg_send(req, &m, 0, OP_TIMEOUT), GROVE_EFSM);
  CHECK_EQ(zmq_msg_size(&m), 0);
  CHECK_EQ(freed, 2);
  zmq_msg_close(&m);
  /* REP may not receive again before it replied. */
  char buf[8];
  CHECK_EQ(grove_zmq_recv(rep, buf, sizeof buf, 0, OP_TIMEOUT), GROVE_EFSM);
  CHECK_STR(grove_err_name(GROVE_EFSM), "GROVE_EFSM");

  CHECK_EQ(grove_zmq_close(req), 0);
  CHECK_EQ(grove_zmq_close(rep), 0);
  ctx_end(ctx);
}

/* ---- timeouts, polls, bad input ---------------------------------------------------------------
 */

static void test_timeouts(void) {
  void *ctx = ctx_new();
  void *rep = bound(ctx, ZMQ_REP, "inproc://to");
  void *req = sock_new(ctx, ZMQ_REQ); /* no peer yet: a send must wait */
  char buf[8];
  double t0 = test_now();
  CHECK_EQ(grove_zmq_recv(rep, buf, sizeof buf, 0, 0.1), GROVE_ETIMEDOUT);
  double took = test_now() - t0;
  CHECK(took >= 0.09 && took < 3);

  t0 = test_now();
  CHECK_EQ(grove_zmq_recv(rep, buf, sizeof buf, 0, 0), GROVE_ETIMEDOUT);
  CHECK_EQ(grove_zmq_recv(rep, buf, sizeof buf, ZMQ_DONTWAIT, GROVE_FOREVER), GROVE_EAGAIN);
  CHECK_EQ(grove_zmq_send(req, "x", 1, 0, 0), GROVE_ETIMEDOUT);
  CHECK_EQ(grove_zmq_send(req, "x", 1, ZMQ_DONTWAIT, 1), GROVE_EAGAIN);
  CHECK(test_now() - t0 < 1);

  t0 = test_now();
  CHECK_EQ(grove_zmq_send(req, "x", 1, 0, 0.05), GROVE_ETIMEDOUT);
  CHECK(test_now() - t0 >= 0.04);

  /* A scoped deadline covers a wait forever. */
  grove_timeout *t = grove_timeout_start(0.05);
  CHECK_EQ(grove_zmq_recv(rep, buf, sizeof buf, 0, GROVE_FOREVER), GROVE_ETIMEDOUT);
  grove_timeout_cancel(t);

  /* Once connected, a poll succeeds at once. */
  CHECK_EQ(zmq_connect(req, "inproc://to"), 0);
  CHECK_EQ(grove_zmq_send(req, "hi", 2, 0, OP_TIMEOUT), 2);
  CHECK_EQ(grove_zmq_recv(rep, buf, sizeof buf, 0, OP_TIMEOUT), 2);
  CHECK_EQ(grove_zmq_send(rep, "ok", 2, 0, 0), 2);
  CHECK_EQ(grove_zmq_recv(req, buf, sizeof buf, 0, OP_TIMEOUT), 2);

  CHECK_EQ(grove_zmq_close(req), 0);
  CHECK_EQ(grove_zmq_close(rep), 0);
  ctx_end(ctx);
}

static void *late_push(void *arg) {
  grove_sleep(0.05);
  CHECK_EQ(send_str(arg, "late", 0), 4);
  return NULL;
}

static void *late_write(void *arg) {
  grove_sleep(0.05);
  CHECK_EQ(write(IVAL(arg), "w", 1), 1);
  return NULL;
}

static void test_poll(void) {
  void *ctx = ctx_new();
  void *pull1 = bound(ctx, ZMQ_PULL, "inproc://po1"),
       *push1 = connected(ctx, ZMQ_PUSH, "inproc://po1");
  void *pull2 = bound(ctx, ZMQ_PULL, "inproc://po2"),
       *push2 = connected(ctx, ZMQ_PUSH, "inproc://po2");
  int fds[2];
  CHECK_EQ(pipe(fds), 0);
  zmq_pollitem_t items[] = {
      {pull1, 0, ZMQ_POLLIN, 0}, {pull2, 0, ZMQ_POLLIN, 0}, {NULL, fds[0], ZMQ_POLLIN, 0}};
  double t0 = test_now();
  CHECK_EQ(grove_zmq_poll(items, 3, 0.05), GROVE_ETIMEDOUT);
  CHECK(test_now() - t0 >= 0.04);
  CHECK_EQ(grove_zmq_poll(items, 3, 0), GROVE_ETIMEDOUT);

  /* A message on the second socket. */
  grove_greenlet *g = grove_spawn(late_push, push2);
  t0 = test_now();
  CHECK_EQ(grove_zmq_poll(items, 3, OP_TIMEOUT), 1);
  CHECK(test_now() - t0 >= 0.04);
  CHECK_EQ(items[0].revents, 0);
  CHECK_EQ(items[1].revents, ZMQ_POLLIN);
  CHECK_EQ(items[2].revents, 0);
  char buf[8];
  CHECK_EQ(recv_str(pull2, buf, sizeof buf, 0), 4);
  CHECK_EQ(grove_join(g, 5), 0);
  grove_greenlet_release(g);

  /* A plain fd. */
  g = grove_spawn(late_write, IARG(fds[1]));
  CHECK_EQ(grove_zmq_poll(items, 3, OP_TIMEOUT), 1);
  CHECK_EQ(items[2].revents, ZMQ_POLLIN);
  CHECK_EQ(grove_join(g, 5), 0);
  grove_greenlet_release(g);
  close(fds[0]);
  close(fds[1]);

  /* Writable: a PUSH socket with a peer. */
  zmq_pollitem_t out[] = {{push1, 0, ZMQ_POLLOUT, 0}};
  CHECK_EQ(grove_zmq_poll(out, 1, 0), 1);
  CHECK_EQ(out[0].revents, ZMQ_POLLOUT);

  CHECK_EQ(grove_zmq_poll(NULL, 1, 0), GROVE_EINVAL);
  CHECK_EQ(grove_zmq_poll(items, 0, 0), GROVE_EINVAL);
  CHECK_EQ(grove_zmq_poll(items, 1, NAN), GROVE_EINVAL);
  void *socks[] = {pull1, push1, pull2, push2};
  for (int i = 0; i < 4; i++)
    CHECK_EQ(grove_zmq_close(socks[i]), 0);
  ctx_end(ctx);
}

static void test_bad_input(void) {
  char buf[4];
  CHECK_EQ(grove_zmq_send(NULL, "x", 1, 0, 0), GROVE_EINVAL);
  CHECK_EQ(grove_zmq_recv(NULL, buf, 1, 0, 0), GROVE_EINVAL);
  CHECK_EQ(grove_zmq_more(NULL), GROVE_EINVAL);
  CHECK_EQ(grove_zmq_close(NULL), GROVE_EINVAL);
  /* Not a socket: ZeroMQ checks its tag. */
  static uint64_t junk[64];
  CHECK_EQ(grove_zmq_send(junk, "x", 1, 0, 0), GROVE_EINVAL);
  CHECK_EQ(grove_zmq_recv(junk, buf, 1, 0, 1), GROVE_EINVAL);

  void *ctx = ctx_new();
  void *s = bound(ctx, ZMQ_PAIR, "inproc://bad");
  CHECK_EQ(grove_zmq_send(s, "x", 1, 0, NAN), GROVE_EINVAL);
  CHECK_EQ(grove_zmq_send(s, NULL, 1, 0, 0), GROVE_EINVAL);
  CHECK_EQ(grove_zmq_recv(s, NULL, 1, 0, 0), GROVE_EINVAL);
  CHECK_EQ(grove_zmq_msg_send(s, NULL, 0, 0), GROVE_EINVAL);
  CHECK_EQ(grove_zmq_msg_recv(s, NULL, 0, 0), GROVE_EINVAL);
  CHECK_EQ(grove_zmq_send_parts(s, NULL, 1, 0), GROVE_EINVAL);
  grove_zmq_part p = {"x", 1};
  CHECK_EQ(grove_zmq_send_parts(s, &p, 0, 0), GROVE_EINVAL);
  zmq_msg_t m;
  size_t n = 5;
  CHECK_EQ(grove_zmq_msg_recv_parts(s, &m, 0, &n, 0), GROVE_EINVAL);
  CHECK_EQ(n, 0);
  CHECK_EQ(grove_zmq_msg_send_parts(s, NULL, 1, 0), GROVE_EINVAL);
  /* A SUB socket cannot send at all. */
  void *sub = sock_new(ctx, ZMQ_SUB);
  CHECK(grove_zmq_send(sub, "x", 1, 0, 0) < 0);
  CHECK_EQ(grove_zmq_close(sub), 0);
  CHECK_EQ(grove_zmq_close(s), 0);
  ctx_end(ctx);
}

/* The hub's own context may poll but not wait. */
typedef struct {
  void *sock;
  int rc_wait, rc_poll;
  grove_event *done;
} hub_arg;

static void from_hub(void *arg) {
  hub_arg *a = arg;
  char buf[4];
  a->rc_wait = grove_zmq_recv(a->sock, buf, sizeof buf, 0, 1);
  a->rc_poll = grove_zmq_recv(a->sock, buf, sizeof buf, 0, 0);
  grove_event_set(a->done);
}

static void test_from_hub(void) {
  void *ctx = ctx_new();
  void *s = bound(ctx, ZMQ_PULL, "inproc://hub");
  hub_arg a = {s, 0, 0, grove_event_new()};
  CHECK_EQ(grove_hub_post(from_hub, &a), 0);
  CHECK_EQ(grove_event_wait(a.done, 5), 0);
  CHECK_EQ(a.rc_wait, GROVE_EPERM);
  CHECK_EQ(a.rc_poll, GROVE_ETIMEDOUT);
  grove_event_free(a.done);
  CHECK_EQ(grove_zmq_close(s), 0);
  ctx_end(ctx);
}

/* ---- kill, close, context end ------------------------------------------------------------------
 */

typedef struct {
  void *sock;
  int rc;
  int poll; /* wait in grove_zmq_poll rather than recv */
} block_arg;

static void *blocked(void *arg) {
  block_arg *a = arg;
  char buf[8];
  if (a->poll) {
    zmq_pollitem_t it = {a->sock, 0, ZMQ_POLLIN, 0};
    a->rc = grove_zmq_poll(&it, 1, GROVE_FOREVER);
  } else {
    a->rc = grove_zmq_recv(a->sock, buf, sizeof buf, 0, GROVE_FOREVER);
  }
  /* Killed: every later call fails at once too. */
  if (a->rc == GROVE_ECANCELED && grove_zmq_send(a->sock, "x", 1, 0, 0) != GROVE_ECANCELED)
    a->rc = -1;
  return NULL;
}

static void test_kill_blocked(void) {
  void *ctx = ctx_new();
  void *s = bound(ctx, ZMQ_PAIR, "inproc://kill");
  for (int poll = 0; poll < 2; poll++) {
    block_arg a = {s, 1, poll};
    grove_greenlet *g = grove_spawn(blocked, &a);
    CHECK_EQ(grove_sleep(0.02), 0);
    CHECK_EQ(a.rc, 1); /* still blocked */
    CHECK_EQ(grove_kill(g, 5), 0);
    CHECK_EQ(a.rc, GROVE_ECANCELED);
    grove_greenlet_release(g);
  }
  CHECK_EQ(grove_zmq_close(s), 0);
  ctx_end(ctx);
}

static void test_close_wakes(void) {
  void *ctx = ctx_new();
  for (int poll = 0; poll < 2; poll++) {
    void *s = bound(ctx, ZMQ_PAIR, poll ? "inproc://close1" : "inproc://close0");
    block_arg a[2] = {{s, 1, poll}, {s, 1, !poll}};
    grove_greenlet *g[] = {grove_spawn(blocked, &a[0]), grove_spawn(blocked, &a[1])};
    CHECK_EQ(grove_sleep(0.02), 0);
    CHECK_EQ(grove_zmq_close(s), 0);
    CHECK_EQ(grove_joinall(g, 2, 5), 0);
    CHECK_EQ(a[0].rc, GROVE_ECLOSED);
    CHECK_EQ(a[1].rc, GROVE_ECLOSED);
    grove_greenlet_release(g[0]);
    grove_greenlet_release(g[1]);
  }
  ctx_end(ctx);
}

/* zmq_ctx_shutdown: blocked calls end with ETERM, which is GROVE_ECLOSED. */
static void test_context_shutdown(void) {
  void *ctx = ctx_new();
  void *s = bound(ctx, ZMQ_PULL, "inproc://term");
  block_arg a = {s, 1, 0};
  grove_greenlet *g = grove_spawn(blocked, &a);
  CHECK_EQ(grove_sleep(0.02), 0);
  CHECK_EQ(zmq_ctx_shutdown(ctx), 0);
  CHECK_EQ(grove_join(g, 5), 0);
  CHECK_EQ(a.rc, GROVE_ECLOSED);
  grove_greenlet_release(g);
  CHECK_EQ(grove_zmq_close(s), 0);
  ctx_end(ctx);
}

/* ---- the missed-edge stress
 * ----------------------------------------------------------------------- */

/* Two DEALER sockets joined over ipc, tiny high-water marks. On each
 * socket one greenlet sends bursts while another receives: every send may
 * consume the edge the receiver on the same socket waits for, and the
 * receiver's recv may consume the writer's. Each wait is bounded by
 * OP_TIMEOUT: a lost wake-up shows as a timeout. (ctest runs this program
 * again with a 100 us turn, transport/test_zsock_short_turns: the hub then
 * polls between almost any two callbacks; test_missed_edge_poll_after_poke
 * is the lost wake-up that found.) */
typedef struct {
  void *sock;
  int n, burst;
  int sent, got, misordered, err;
} stress_arg;

static void *stress_send(void *arg) {
  stress_arg *a = arg;
  for (int i = 0; i < a->n; i++) {
    int rc = grove_zmq_send(a->sock, &i, sizeof i, 0, OP_TIMEOUT);
    if (rc != (int)sizeof i) {
      a->err = rc;
      return NULL;
    }
    a->sent++;
    if ((i + 1) % a->burst == 0)
      grove_sleep(0); /* let the other side drain a burst */
  }
  return NULL;
}

static void *stress_recv(void *arg) {
  stress_arg *a = arg;
  for (int i = 0; i < a->n; i++) {
    int v = -1;
    int rc = grove_zmq_recv(a->sock, &v, sizeof v, 0, OP_TIMEOUT);
    if (rc != (int)sizeof v) {
      a->err = rc;
      return NULL;
    }
    if (v != i)
      a->misordered++;
    a->got++;
  }
  return NULL;
}

static void test_missed_edge_stress(void) {
  void *ctx = ctx_new();
  const char *ep = ipc_ep("stress");
  void *a = sock_new(ctx, ZMQ_DEALER), *b = sock_new(ctx, ZMQ_DEALER);
  int hwm = 4;
  void *both[] = {a, b};
  for (int i = 0; i < 2; i++) {
    zmq_setsockopt(both[i], ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt(both[i], ZMQ_RCVHWM, &hwm, sizeof hwm);
  }
  CHECK_EQ(zmq_bind(a, ep), 0);
  CHECK_EQ(zmq_connect(b, ep), 0);
  enum { N = 20000 };
  int bursts[] = {1, 7, 64, 1000};
  for (size_t k = 0; k < sizeof bursts / sizeof bursts[0]; k++) {
    stress_arg as = {a, N, bursts[k], 0, 0, 0, 0}, ar = {a, N, bursts[k], 0, 0, 0, 0};
    stress_arg bs = {b, N, bursts[(k + 1) % 4], 0, 0, 0, 0}, br = {b, N, 1, 0, 0, 0, 0};
    double t0 = test_now();
    grove_greenlet *g[] = {grove_spawn(stress_recv, &ar), grove_spawn(stress_send, &as),
                           grove_spawn(stress_recv, &br), grove_spawn(stress_send, &bs)};
    CHECK_EQ(grove_joinall(g, 4, 90), 0);
    for (int i = 0; i < 4; i++)
      grove_greenlet_release(g[i]);
    CHECK_EQ(as.err, 0);
    CHECK_EQ(bs.err, 0);
    CHECK_EQ(ar.err, 0);
    CHECK_EQ(br.err, 0);
    CHECK_EQ(ar.got, N); /* a received what b sent */
    CHECK_EQ(br.got, N);
    CHECK_EQ(ar.misordered + br.misordered, 0);
    printf("  burst %d: 2 x %d messages both ways in %.3f s\n", bursts[k], N, test_now() - t0);
  }
  CHECK_EQ(grove_zmq_close(a), 0);
  CHECK_EQ(grove_zmq_close(b), 0);
  ctx_end(ctx);
  ipc_unlink(ep);
}

/* The edge itself, step by step. A greenlet waits on socket s; its peer
 * queues what it waits for, which puts a command in s's mailbox and makes
 * ZMQ_FD readable; before the hub polls, another greenlet's call on s
 * processes that command, and ZMQ_FD will not fire again. The waiter must
 * be told anyway. Three ways to eat the edge: a send, a poll and a recv on
 * s; and the waiter may be in grove_zmq_poll. */
typedef struct {
  void *sock;
  int rc;
  int send; /* wait to send (the pipe is full) rather than to receive */
  int poll; /* wait in grove_zmq_poll, then receive */
} edge_arg;

static void *edge_waiter(void *arg) {
  edge_arg *a = arg;
  int v = 0;
  if (a->poll) {
    zmq_pollitem_t it = {a->sock, 0, ZMQ_POLLIN, 0};
    if ((a->rc = grove_zmq_poll(&it, 1, 2.0)) != 1)
      return NULL;
  }
  a->rc = a->send ? grove_zmq_send(a->sock, &v, sizeof v, 0, 2.0)
                  : grove_zmq_recv(a->sock, &v, sizeof v, 0, 2.0);
  return NULL;
}

static void test_missed_edge_targeted(void) {
  for (int how = 0; how < 4; how++) {
    char ep[32];
    snprintf(ep, sizeof ep, "inproc://edge%d", how);
    void *ctx = ctx_new();
    void *s = sock_new(ctx, ZMQ_DEALER), *peer = sock_new(ctx, ZMQ_DEALER);
    int one = 1;
    zmq_setsockopt(s, ZMQ_SNDHWM, &one, sizeof one);
    zmq_setsockopt(peer, ZMQ_RCVHWM, &one, sizeof one);
    CHECK_EQ(zmq_bind(peer, ep), 0);
    CHECK_EQ(zmq_connect(s, ep), 0);
    int v = 7, filled = 0;
    edge_arg a = {s, 1, how == 2, how == 3};
    if (a.send) {
      /* Fill the pipe from s to peer until s pushes back. */
      while (filled < 100 && grove_zmq_send(s, &v, sizeof v, 0, 0) == (int)sizeof v)
        filled++;
      CHECK(filled > 0 && filled < 100);
    }
    grove_greenlet *g = grove_spawn(edge_waiter, &a);
    CHECK_EQ(grove_sleep(0.01), 0); /* g waits; libzmq's command throttle (~1 ms) passes */
    CHECK_EQ(a.rc, 1);
    if (a.send) {
      /* The peer drains the pipe (plain libzmq calls): s gets
       * "activate_write"... */
      for (int i = 0; i < filled; i++)
        CHECK_EQ(zmq_recv(peer, &v, sizeof v, 0), (int)sizeof v);
      /* ...which a recv on s processes (nothing to receive). */
      CHECK_EQ(grove_zmq_recv(s, &v, sizeof v, 0, 0), GROVE_ETIMEDOUT);
    } else {
      /* The peer sends: s gets "activate_read"... */
      CHECK_EQ(zmq_send(peer, &v, sizeof v, 0), (int)sizeof v);
      /* ...which a send on s or a poll of s processes. */
      if (how == 0 || how == 3) {
        CHECK_EQ(grove_zmq_send(s, &v, sizeof v, 0, 0), (int)sizeof v);
      } else {
        zmq_pollitem_t it = {s, 0, ZMQ_POLLOUT, 0};
        CHECK_EQ(grove_zmq_poll(&it, 1, 0), 1);
      }
    }
    CHECK_EQ(grove_join(g, 5), 0);
    CHECK_EQ(a.rc, (int)sizeof v); /* not GROVE_ETIMEDOUT */
    grove_greenlet_release(g);
    CHECK_EQ(grove_zmq_close(s), 0);
    CHECK_EQ(grove_zmq_close(peer), 0);
    ctx_end(ctx);
  }
}

/* The stress case's lost wake-up, made deterministic. R waits to receive
 * on s; the peer sends. The main greenlet sends on s, whose pipe is full:
 * its ZMQ_EVENTS read processes "message arrived", so it pokes R
 * (grove_fd_cancel_wait on ZMQ_FD: R is woken, the fd's watcher closed)
 * and waits on ZMQ_FD itself, with a new watcher. The hub's turn ends
 * before R runs (forced here: a short turn, main works past it, and
 * fillers queued before R make the hub look at the clock, which it does at
 * least every 128 units): the poll puts the new watcher into epoll. Then R
 * runs and leaves the old watcher, whose libuv handle was given back only
 * now -- and libuv's close removes the fd from epoll by number, the new
 * watcher's registration with it (the bug, in hub/io/io.c). R receives and
 * drains the peer, which sends s "activate_write": ZMQ_FD becomes
 * readable, and only the fd can tell the sender. */
typedef struct {
  void *s, *peer;
  int filled, rc;
} poke_arg;

static void *poke_receiver(void *arg) {
  poke_arg *a = arg;
  int v;
  a->rc = grove_zmq_recv(a->s, &v, sizeof v, 0, 2.0);
  for (int i = 0; i < a->filled; i++)
    CHECK_EQ(zmq_recv(a->peer, &v, sizeof v, ZMQ_DONTWAIT), (int)sizeof v);
  return NULL;
}

static void *filler(void *arg) { return arg; }

static void spin(double seconds) {
  double t0 = test_now();
  while (test_now() - t0 < seconds)
    ;
}

static void test_missed_edge_poll_after_poke(void) {
  CHECK_EQ(grove_hub_set_switch_interval(0.0001), 0);
  void *ctx = ctx_new();
  void *s = sock_new(ctx, ZMQ_DEALER), *peer = sock_new(ctx, ZMQ_DEALER);
  int one = 1;
  zmq_setsockopt(s, ZMQ_SNDHWM, &one, sizeof one);
  zmq_setsockopt(peer, ZMQ_RCVHWM, &one, sizeof one);
  CHECK_EQ(zmq_bind(peer, "inproc://poke"), 0);
  CHECK_EQ(zmq_connect(s, "inproc://poke"), 0);
  int v = 7;
  poke_arg a = {s, peer, 0, 1};
  while (a.filled < 100 && grove_zmq_send(s, &v, sizeof v, 0, 0) == (int)sizeof v)
    a.filled++;
  CHECK(a.filled > 0 && a.filled < 100);
  grove_greenlet *r = grove_spawn(poke_receiver, &a);
  CHECK_EQ(grove_sleep(0.01), 0); /* r waits; libzmq's command throttle (~1 ms) passes */
  CHECK_EQ(a.rc, 1);
  CHECK_EQ(zmq_send(peer, &v, sizeof v, 0), (int)sizeof v);
  enum { NFILL = 300 };
  static grove_greenlet *fill[NFILL];
  for (int i = 0; i < NFILL; i++)
    fill[i] = grove_spawn(filler, NULL);
  spin(0.002); /* the turn is over */
  uint64_t cut = grove_hub_turns_cut();
  double t0 = test_now();
  CHECK_EQ(grove_zmq_send(s, &v, sizeof v, 0, 2.0), (int)sizeof v); /* the bug: GROVE_ETIMEDOUT */
  CHECK(test_now() - t0 < 1.0);
  CHECK(grove_hub_turns_cut() > cut); /* the poll between the poke and r did happen */
  CHECK_EQ(grove_join(r, 2.0), 0);
  CHECK_EQ(a.rc, (int)sizeof v);
  CHECK_EQ(grove_joinall(fill, NFILL, 2.0), 0);
  for (int i = 0; i < NFILL; i++)
    grove_greenlet_release(fill[i]);
  grove_greenlet_release(r);
  CHECK_EQ(grove_zmq_close(s), 0);
  CHECK_EQ(grove_zmq_close(peer), 0);
  ctx_end(ctx);
}

/* Several readers on one PULL socket and several writers on one PUSH
 * socket: every message is received exactly once. */
typedef struct {
  void *sock;
  int n;
  int *seen;
} many_arg;

static void *many_recv(void *arg) {
  many_arg *a = arg;
  for (;;) {
    int v;
    int rc = grove_zmq_recv(a->sock, &v, sizeof v, 0, OP_TIMEOUT);
    if (rc != (int)sizeof v)
      return IARG(rc);
    if (v < 0)
      return NULL; /* the end marker: one per reader */
    if (v < a->n)
      a->seen[v]++;
  }
}

static void *many_send(void *arg) {
  many_arg *a = arg; /* n: the first value; seen: unused */
  for (int i = 0; i < 1000; i++) {
    int v = a->n + i;
    if (grove_zmq_send(a->sock, &v, sizeof v, 0, OP_TIMEOUT) != (int)sizeof v)
      return IARG(-1);
  }
  return NULL;
}

static void test_many_waiters(void) {
  void *ctx = ctx_new();
  void *pull = sock_new(ctx, ZMQ_PULL), *push = sock_new(ctx, ZMQ_PUSH);
  int hwm = 2;
  zmq_setsockopt(pull, ZMQ_RCVHWM, &hwm, sizeof hwm);
  zmq_setsockopt(push, ZMQ_SNDHWM, &hwm, sizeof hwm);
  CHECK_EQ(zmq_bind(pull, "inproc://many"), 0);
  CHECK_EQ(zmq_connect(push, "inproc://many"), 0);
  enum { NR = 4, NW = 4, TOTAL = NW * 1000 };
  static int seen[TOTAL];
  memset(seen, 0, sizeof seen);
  many_arg ra = {pull, TOTAL, seen}, wa[NW];
  grove_greenlet *g[NR + NW];
  for (int i = 0; i < NR; i++)
    g[i] = grove_spawn(many_recv, &ra);
  for (int i = 0; i < NW; i++) {
    wa[i] = (many_arg){push, i * 1000, NULL};
    g[NR + i] = grove_spawn(many_send, &wa[i]);
  }
  CHECK_EQ(grove_joinall(g + NR, NW, 60), 0);
  for (int i = 0; i < NR; i++) {
    int end = -1;
    CHECK_EQ(grove_zmq_send(push, &end, sizeof end, 0, OP_TIMEOUT), (int)sizeof end);
  }
  CHECK_EQ(grove_joinall(g, NR + NW, 60), 0);
  for (int i = 0; i < NR + NW; i++) {
    CHECK(grove_value(g[i]) == NULL);
    grove_greenlet_release(g[i]);
  }
  int once = 0;
  for (int i = 0; i < TOTAL; i++)
    once += seen[i] == 1;
  CHECK_EQ(once, TOTAL);
  CHECK_EQ(grove_zmq_close(push), 0);
  CHECK_EQ(grove_zmq_close(pull), 0);
  ctx_end(ctx);
}

TEST_MAIN(TEST(test_req_rep_inproc), TEST(test_two_pairs_interleave),
          TEST(test_two_pairs_alternate), TEST(test_push_pull_ipc), TEST(test_dealer_router),
          TEST(test_multipart_frames), TEST(test_msg_forms), TEST(test_timeouts), TEST(test_poll),
          TEST(test_bad_input), TEST(test_from_hub), TEST(test_kill_blocked),
          TEST(test_close_wakes), TEST(test_context_shutdown), TEST(test_missed_edge_targeted),
          TEST(test_missed_edge_poll_after_poke), TEST(test_missed_edge_stress),
          TEST(test_many_waiters))
