/* tests/transport/test_node_hubs.c - one node serving every hub of its
 * process: actors of a hub other than the node's send to, call, monitor and
 * link with remote actors; a remote node sends to, calls, floods (with flow
 * control by the bounded inbox) and monitors actors of that hub through
 * refs; the node's calls (whereis, is_up, peers, stats, stop) work from any
 * hub; a second grove_node_start on another hub is refused.
 *
 * The parent ("par") runs 2 hubs; its node lives on one of them and the
 * scenario runs on the other (both ways round). The child ("srv", this
 * program again, one hub) has these actors:
 *   echo   call: "echo-reply" with the same body
 *   count  send "n" [i]: counts, checks the order; call "get": [count, misordered]
 *   ctl    "spawn" [0|1]: a mortal (stops on "stop") or a crasher (GROVE_EPERM on "crash");
 *          "flood" [n, start, ref]: sends "n" [start..start+n-1] to ref, replies [sent ok];
 *          "callref" [ref]: calls ref "get", replies [rc, v0, v1];
 *          "watch" [ref, report]: monitors ref, sends "down" [reason] to report
 */
#include "tr_util.h"

#define PAR "par"
#define SRV "srv"

/* ---- both sides ---------------------------------------------------------------------- */

typedef struct counter {
  grove_actor base;
  int64_t n, misordered;
  uint32_t max_inbox;
  int slow;
} counter;

static int count_receive(grove_actor *self, grove_msg *msg) {
  counter *c = (counter *)self;
  if (grove_msg_is(msg, "n")) {
    if (tr_int(msg, 0) != c->n)
      c->misordered++;
    c->n++;
    grove_actor_stats st;
    if (grove_actor_stats_get(grove_self(), &st) == 0 && st.inbox_len > c->max_inbox)
      c->max_inbox = (uint32_t)st.inbox_len;
    if (c->slow && c->n % 16 == 0)
      grove_sleep(0.001);
  } else if (grove_msg_is(msg, "get")) {
    grove_reply(msg, TR_MSG("count", c->n, c->misordered, (int64_t)c->max_inbox));
  }
  return 0;
}

static int count_init(grove_actor *self, void *arg) {
  ((counter *)self)->slow = arg != NULL;
  return 0;
}

static const grove_actor_class count_class = {
    .name = "count", .size = sizeof(counter), .init = count_init, .receive = count_receive};

/* ---- the child's actors ------------------------------------------------------------------ */

static int echo_receive(grove_actor *self, grove_msg *msg) {
  (void)self;
  if (grove_msg_is_call(msg)) {
    grove_msg *r = grove_msg_new("echo-reply");
    tr_copy_body(r, msg);
    CHECK_EQ(grove_reply(msg, r), 0);
  }
  return 0;
}

static const grove_actor_class echo_class = {
    .name = "echo", .size = sizeof(grove_actor), .receive = echo_receive};

static int mortal_receive(grove_actor *self, grove_msg *msg) {
  (void)self;
  return grove_msg_is(msg, "stop") ? GROVE_STOP : 0;
}

static int crasher_receive(grove_actor *self, grove_msg *msg) {
  (void)self;
  return grove_msg_is(msg, "crash") ? GROVE_EPERM : 0;
}

/* Takes every call and answers none (frees them when it ends). */
typedef struct keeper {
  grove_actor base;
  grove_msg *kept[256];
  int n;
} keeper;

static int keeper_receive(grove_actor *self, grove_msg *msg) {
  keeper *k = (keeper *)self;
  if (grove_msg_is_call(msg) && k->n < 256)
    k->kept[k->n++] = grove_msg_take(msg);
  return 0;
}

static void keeper_terminate(grove_actor *self, int reason) {
  (void)reason;
  keeper *k = (keeper *)self;
  for (int i = 0; i < k->n; i++)
    grove_msg_free(k->kept[i]);
}

static const grove_actor_class keeper_class = {.name = "keeper",
                                               .size = sizeof(keeper),
                                               .receive = keeper_receive,
                                               .terminate = keeper_terminate};

static const grove_actor_class mortal_class = {
    .name = "mortal", .size = sizeof(grove_actor), .receive = mortal_receive};
static const grove_actor_class crasher_class = {
    .name = "crasher", .size = sizeof(grove_actor), .receive = crasher_receive};

typedef struct watcher {
  grove_actor base;
  grove_ref target, report;
} watcher;

/* "watch" [target, report] (a call: the monitor is set up when it returns) */
static int watcher_receive(grove_actor *self, grove_msg *msg) {
  watcher *w = (watcher *)self;
  if (grove_msg_is(msg, "watch")) {
    w->target = tr_ref(msg, 0);
    w->report = tr_ref(msg, 1);
    grove_reply(msg, TR_MSG("rc", (int64_t)grove_monitor(w->target, NULL)));
    return 0;
  }
  if (grove_msg_is(msg, GROVE_TAG_DOWN)) {
    CHECK_EQ(grove_send(w->report, TR_MSG("down", tr_int(msg, 2))), 0);
    return GROVE_STOP;
  }
  return 0;
}

static const grove_actor_class watcher_class = {
    .name = "watcher", .size = sizeof(watcher), .receive = watcher_receive};

static int srv_ctl(grove_actor *self, grove_msg *msg) {
  (void)self;
  grove_ref r = GROVE_REF_NULL;
  if (grove_msg_is(msg, "spawn")) {
    CHECK_EQ(grove_actor_spawn_ex(tr_int(msg, 0) ? &crasher_class : &mortal_class, NULL, NULL, &r),
             0);
    tr_track(r);
    grove_msg *rep = grove_msg_new("ref");
    grove_msg_pack_ref(rep, r);
    grove_reply(msg, rep);
    return 0;
  }
  if (grove_msg_is(msg, "flood")) {
    int64_t n = tr_int(msg, 0), start = tr_int(msg, 1), ok = 0;
    r = tr_ref(msg, 2);
    for (int64_t i = start; i < start + n; i++)
      ok += grove_send_timeout(r, TR_MSG("n", i), 10.0) == 0;
    grove_reply(msg, TR_MSG("flooded", ok));
    return 0;
  }
  if (grove_msg_is(msg, "callref")) {
    grove_msg *rep = NULL;
    int rc = grove_call(tr_ref(msg, 0), grove_msg_new("get"), &rep, 5.0);
    grove_reply(
        msg, TR_MSG("called", (int64_t)rc, rep ? tr_int(rep, 0) : -1, rep ? tr_int(rep, 1) : -1));
    grove_msg_free(rep);
    return 0;
  }
  if (grove_msg_is(msg, "watch")) {
    int rc = grove_actor_spawn_ex(&watcher_class, NULL, NULL, &r);
    if (rc == 0) {
      tr_track(r);
      grove_msg *w = grove_msg_new("watch"), *wr = NULL;
      grove_msg_pack_ref(w, tr_ref(msg, 0));
      grove_msg_pack_ref(w, tr_ref(msg, 1));
      rc = grove_call(r, w, &wr, 5.0);
      if (rc == 0)
        rc = (int)tr_int(wr, 0);
      grove_msg_free(wr);
    }
    grove_reply(msg, TR_MSG("rc", (int64_t)rc));
    return 0;
  }
  return -1000;
}

static int child_main(const tr_child *c) {
  if (tr_child_node_start(c) != 0)
    return 2;
  tr_spawn_named(&echo_class, "echo");
  tr_spawn_named(&count_class, "count");
  tr_spawn_named(&keeper_class, "keeper");
  tr_ctl_hook = srv_ctl;
  tr_child_serve(c);
  return tr_child_finish();
}

/* ---- the parent's side ------------------------------------------------------------------- */

static grove_ref whereis(const char *name) { return tr_whereis(SRV, name); }

/* The greenlets of the node's hub now. */
static void *greenlets_here(void *arg) {
  (void)arg;
  grove_hub_counts c;
  return grove_hub_counts_get(&c) == 0 ? (void *)c.greenlets : (void *)~(uintptr_t)0;
}

static size_t node_hub_greenlets(size_t hub) {
  void *v = NULL;
  CHECK_EQ(grove_hub_call_on(hub, greenlets_here, NULL, &v, 5.0), 0);
  return (size_t)(uintptr_t)v;
}

static grove_msg *ctl_call(grove_msg *m) {
  grove_msg *rep = NULL;
  int rc = grove_call(whereis("ctl"), m, &rep, 15.0);
  if (rc)
    fprintf(stderr, "ctl call: %s\n", grove_err_name(rc));
  CHECK_EQ(rc, 0);
  return rep;
}

static grove_msg *with_refs(grove_msg *m, grove_ref a, grove_ref b) {
  grove_msg_pack_ref(m, a);
  if (!grove_ref_is_null(b))
    grove_msg_pack_ref(m, b);
  return m;
}

static grove_ref spawn_remote(int kind) {
  grove_msg *rep = ctl_call(TR_MSG("spawn", kind));
  grove_ref r = rep ? tr_ref(rep, 0) : GROVE_REF_NULL;
  grove_msg_free(rep);
  return r;
}

static grove_msg *next(grove_queue *q, const char *tag) {
  grove_msg *m = tr_mbox_get(q, 5.0);
  CHECK(m != NULL);
  if (m && strcmp(grove_msg_tag(m), tag) != 0) {
    fprintf(stderr, "expected %s, got %s\n", tag, grove_msg_tag(m));
    CHECK(0);
  }
  return m;
}

static const char *srv_bound;
static size_t node_hub;

/* Everything, from a hub that is not the node's. */
static void *scenario(void *arg) {
  (void)arg;
  CHECK(grove_hub_index() != node_hub);
  /* the node's calls */
  CHECK_STR(grove_node_name(), PAR);
  CHECK(grove_node_endpoint() != NULL);
  CHECK(grove_node_is_up(SRV));
  CHECK(!grove_node_is_up("nobody"));
  CHECK_EQ(grove_node_wait_up(SRV, 1.0), 0);
  char names[4][64];
  CHECK_EQ(grove_node_peers(names, 4), 1);
  CHECK_STR(names[0], SRV);
  grove_node_stats st;
  CHECK_EQ(grove_node_stats_get(&st), 0);
  CHECK(st.nodes_up >= 1);
  CHECK_EQ(grove_node_connect(SRV, srv_bound), 0); /* already up: fine */
  CHECK_EQ(grove_node_start("again", "tcp://127.0.0.1:0", NULL), GROVE_EEXIST);
  grove_ref r = GROVE_REF_NULL;
  CHECK_EQ(grove_whereis_remote(SRV, "nobody", &r, 2.0), GROVE_ENOENT);
  CHECK_EQ(grove_whereis_remote_wait(SRV, "echo", &r, 2.0), 0);
  CHECK_EQ(r.node, grove_node_id(SRV));
  CHECK_STR(grove_node_name_of(r.node), SRV);

  /* call and reply from this hub */
  grove_ref echo = whereis("echo");
  grove_msg *rep = NULL;
  CHECK_EQ(grove_call(echo, TR_MSG("add", 2, 3), &rep, 5.0), 0);
  if (rep) {
    CHECK_STR(grove_msg_tag(rep), "echo-reply");
    CHECK_EQ(tr_int(rep, 1), 3);
    CHECK(grove_ref_eq(grove_msg_sender(rep), echo));
    grove_msg_free(rep);
  }
  rep = NULL;
  CHECK_EQ(grove_call_name_remote(SRV, "echo", TR_MSG("x", 7), &rep, 5.0), 0);
  CHECK(rep && tr_int(rep, 0) == 7);
  grove_msg_free(rep);

  /* 20k sends from this hub keep their order */
  grove_ref count = whereis("count");
  int ok = 0;
  for (int i = 0; i < 20000; i++)
    ok += grove_send(count, TR_MSG("n", i)) == 0;
  CHECK_EQ(ok, 20000);
  rep = NULL;
  CHECK_EQ(grove_call(count, grove_msg_new("get"), &rep, 5.0), 0);
  CHECK(rep && tr_int(rep, 0) == 20000 && tr_int(rep, 1) == 0);
  grove_msg_free(rep);

  /* the other way: srv floods an actor of this hub, in order, and calls it */
  grove_ref a = GROVE_REF_NULL;
  CHECK_EQ(grove_actor_spawn_ex(&count_class, NULL, NULL, &a), 0);
  rep = ctl_call(with_refs(TR_MSG("flood", 20000, 0), a, GROVE_REF_NULL));
  CHECK(rep && tr_int(rep, 0) == 20000);
  grove_msg_free(rep);
  rep = ctl_call(with_refs(grove_msg_new("callref"), a, GROVE_REF_NULL));
  CHECK(rep && tr_int(rep, 0) == 0 && tr_int(rep, 1) == 20000 && tr_int(rep, 2) == 0);
  grove_msg_free(rep);

  /* a bounded inbox here: the credit srv gets keeps it within its bound */
  grove_actor_opts bo = {.inbox_max = 8};
  grove_ref b = GROVE_REF_NULL;
  CHECK_EQ(grove_actor_spawn_ex(&count_class, (void *)1, &bo, &b), 0);
  /* srv learns that b is bounded from its first answer (the grant goes
   * ahead of it); before, a sender does not know. */
  rep = ctl_call(with_refs(TR_MSG("flood", 1, 0), b, GROVE_REF_NULL));
  CHECK(rep && tr_int(rep, 0) == 1);
  grove_msg_free(rep);
  rep = ctl_call(with_refs(grove_msg_new("callref"), b, GROVE_REF_NULL));
  CHECK(rep && tr_int(rep, 0) == 0 && tr_int(rep, 1) == 1);
  grove_msg_free(rep);
  rep = ctl_call(with_refs(TR_MSG("flood", 2999, 1), b, GROVE_REF_NULL));
  CHECK(rep && tr_int(rep, 0) == 2999);
  grove_msg_free(rep);
  rep = NULL;
  CHECK_EQ(grove_call(b, grove_msg_new("get"), &rep, 10.0), 0);
  if (rep) {
    CHECK_EQ(tr_int(rep, 0), 3000);
    CHECK_EQ(tr_int(rep, 1), 0);
    printf("bounded inbox: at most %lld of 8\n", (long long)tr_int(rep, 2));
    CHECK(tr_int(rep, 2) <= 8);
    grove_msg_free(rep);
  }

  /* monitors and links from an actor of this hub on remote ones */
  grove_queue *q;
  grove_ref mb = tr_mbox_new(&q, true);
  grove_ref x = spawn_remote(0);
  int64_t id = tr_mbox_do(mb, "tr.monitor", x);
  CHECK_EQ(grove_send(x, grove_msg_new("stop")), 0);
  grove_msg *m = next(q, GROVE_TAG_DOWN);
  if (m) {
    CHECK_EQ(tr_int(m, 0), id);
    CHECK(grove_ref_eq(tr_ref(m, 1), x));
    CHECK_EQ(tr_int(m, 2), GROVE_EXIT_NORMAL);
    grove_msg_free(m);
  }
  /* ... on one that is gone: down at once */
  tr_mbox_do(mb, "tr.monitor", x);
  m = next(q, GROVE_TAG_DOWN);
  if (m) {
    CHECK_EQ(tr_int(m, 2), GROVE_ENOENT);
    grove_msg_free(m);
  }
  grove_ref c = spawn_remote(1);
  CHECK_EQ(tr_mbox_do(mb, "tr.link", c), 0);
  CHECK_EQ(grove_send(c, grove_msg_new("crash")), 0);
  m = next(q, GROVE_TAG_EXIT);
  if (m) {
    CHECK(grove_ref_eq(tr_ref(m, 0), c));
    CHECK_EQ(tr_int(m, 1), GROVE_EPERM);
    grove_msg_free(m);
  }

  /* srv monitors an actor of this hub, which ends */
  grove_ref mortal = GROVE_REF_NULL;
  CHECK_EQ(grove_actor_spawn_ex(&mortal_class, NULL, NULL, &mortal), 0);
  rep = ctl_call(with_refs(grove_msg_new("watch"), mortal, mb));
  CHECK(rep && tr_int(rep, 0) == 0);
  grove_msg_free(rep);
  CHECK_EQ(grove_actor_exit(mortal, GROVE_ECONNRESET), 0);
  m = next(q, "down");
  if (m) {
    CHECK_EQ(tr_int(m, 0), GROVE_ECONNRESET);
    grove_msg_free(m);
  }

  /* call_async to a remote actor that never answers, no deadline: freeing
   * the future ends the wait on the node's hub too (nothing is held there) */
  grove_ref keeper = whereis("keeper");
  size_t before = node_hub_greenlets(node_hub);
  for (int i = 0; i < 50; i++) {
    grove_async_result *fut = NULL;
    CHECK_EQ(grove_call_async(keeper, TR_MSG("hold", i), &fut, -1), 0);
    if (i % 2)
      grove_sleep(0.001); /* some have reached the wait on the node's hub */
    CHECK_EQ(grove_async_result_free(fut), 0);
  }
  size_t after = ~(size_t)0;
  for (int i = 0; i < 500 && (after = node_hub_greenlets(node_hub)) > before; i++)
    grove_sleep(0.01);
  CHECK_EQ(after, before);
  /* and one still held is answered when its callee ends */
  grove_async_result *held = NULL;
  CHECK_EQ(grove_call_async(keeper, TR_MSG("hold", 99), &held, 0.2), 0);
  void *v = NULL;
  CHECK_EQ(grove_async_result_get(held, &v, 5.0), GROVE_ETIMEDOUT);
  CHECK_EQ(grove_async_result_free(held), 0);

  /* a link and an exit signal to a node that is not up fail at once from
   * this hub too, as on the node's hub; a monitor of it fires at once
   * (GROVE_EXIT_NOCONNECTION, as Erlang's) */
  grove_ref nowhere = echo;
  nowhere.node = echo.node ^ 0x5a5a5a5au;
  CHECK_EQ(grove_actor_exit(nowhere, GROVE_EXIT_KILLED), GROVE_EHOSTUNREACH);
  CHECK_EQ(tr_mbox_do(mb, "tr.link", nowhere), GROVE_EHOSTUNREACH);
  rep = NULL;
  CHECK_EQ(grove_call(mb, tr_msg_ref("tr.monitor", nowhere), &rep, 5.0), 0);
  CHECK(rep && tr_int(rep, 1) == 0);
  int64_t nid = rep ? tr_int(rep, 0) : 0;
  grove_msg_free(rep);
  m = tr_mbox_get(q, 5.0);
  CHECK(m && grove_msg_is(m, GROVE_TAG_DOWN));
  if (m) {
    CHECK_EQ(tr_int(m, 0), nid);
    CHECK_EQ(tr_int(m, 2), GROVE_EXIT_NOCONNECTION);
    grove_msg_free(m);
  }

  /* the node stops from this hub: a monitor held here fires */
  grove_ref y = spawn_remote(0);
  id = tr_mbox_do(mb, "tr.monitor", y);
  grove_msg *mn = grove_msg_new("tr.monitor_node");
  grove_msg_pack_str(mn, SRV);
  rep = NULL;
  CHECK_EQ(grove_call(mb, mn, &rep, 5.0), 0);
  CHECK(rep && tr_int(rep, 0) == 0);
  grove_msg_free(rep);
  CHECK_EQ(grove_node_stop(), 0);
  CHECK(grove_node_name() == NULL);
  int downs = 0, nodedowns = 0;
  for (int i = 0; i < 2 && (m = tr_mbox_get(q, 5.0)) != NULL; i++) {
    if (grove_msg_is(m, GROVE_TAG_DOWN)) {
      downs++;
      CHECK_EQ(tr_int(m, 0), id);
      CHECK_EQ(tr_int(m, 2), GROVE_EXIT_NOCONNECTION);
    } else if (grove_msg_is(m, GROVE_TAG_NODEDOWN)) {
      const char *s = NULL;
      size_t n = 0;
      CHECK_EQ(grove_msg_str(m, 0, &s, &n), 0);
      CHECK(n == strlen(SRV) && memcmp(s, SRV, n) == 0);
      nodedowns++;
    }
    grove_msg_free(m);
  }
  CHECK_EQ(downs, 1);
  CHECK_EQ(nodedowns, 1);
  CHECK_EQ(grove_send(echo, grove_msg_new("x")), GROVE_EHOSTUNREACH);
  tr_mbox_free(mb, q);
  tr_end_actor(a);
  tr_end_actor(b);
  return NULL;
}

static void *start_node(void *arg) {
  const char *ep = arg;
  node_hub = grove_hub_index();
  int rc = grove_node_start(PAR, ep, NULL);
  CHECK_EQ(rc, 0);
  if (rc == 0)
    CHECK_EQ(grove_node_connect(SRV, srv_bound), 0);
  return NULL;
}

static void run(size_t on) {
  CHECK_EQ(grove_hubs_start(2), 0);
  char bound[256];
  pid_t pid = tr_spawn(bound, sizeof bound, "srv", SRV, tr_ipc("srv"), PAR, NULL);
  CHECK(pid > 0);
  if (pid <= 0)
    return;
  srv_bound = bound;
  if (on == 0)
    start_node((void *)tr_ipc("par"));
  else
    CHECK_EQ(grove_hub_call_on(on, start_node, (void *)tr_ipc("par"), NULL, 10.0), 0);
  if (on == 0)
    CHECK_EQ(grove_hub_call_on(1, scenario, NULL, NULL, 60.0), 0);
  else
    scenario(NULL);
  CHECK(grove_node_name() == NULL);
  CHECK_EQ(tr_reap(pid, 5.0), 0); /* srv saw us go and ended cleanly */
  CHECK_EQ(grove_hubs_stop(5.0), 0);
  CHECK_EQ(grove_hub_close(), 0);
}

static void test_node_on_hub0(void) { run(0); }
static void test_node_on_hub1(void) { run(1); }

TR_MAIN(child_main, TEST(test_node_on_hub0), TEST(test_node_on_hub1))
