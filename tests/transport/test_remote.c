/* tests/transport/test_remote.c - actors in two processes: send, call and
 * reply across nodes (ipc and tcp), ordering, remote senders and refs inside
 * bodies, error codes (unknown ref, unknown name, unknown node, blobs),
 * remote monitors and links, node-down detection by heartbeat after SIGKILL
 * (monitors, links, pending calls, grove_monitor_node) and reconnection of a
 * restarted node.
 *
 * The parent is node "par"; the child (this program started again, see
 * tr_util.h) is node "srv" with these actors, registered by name:
 *   echo     call: replies "echo-reply" with the same body;
 *            send "ping" [v]: sends "pong" [v, sender-is-par's] to the sender
 *   count    send "n" [i]: counts, checks i == count; call "get": [count, misordered]
 *   err      call [code]: grove_reply_error(code)
 *   refback  send "ref" [ref]: sends "back" [7, ref-is-par's] to the ref in the body
 *   hold     call: keeps the request, never replies
 *   ctl      call "spawn" [0]: a "mortal" actor (stops on "stop");
 *            call "spawn" [1]: a "crasher" (fails with GROVE_EPERM on "crash");
 *            call "whoami": [pid]; "quit"; "stats" (tr_util.h)
 */
#include "tr_util.h"

#define PAR "par"
#define SRV "srv"

/* ---- the child's actors ------------------------------------------------------------------ */

static int echo_receive(grove_actor *self, grove_msg *msg) {
  if (grove_msg_is(msg, "ping")) {
    grove_ref from = grove_msg_sender(msg);
    grove_msg *p = TR_MSG("pong", tr_int(msg, 0), from.node == grove_node_id(PAR) ? 1 : 0);
    CHECK_EQ(grove_send(from, p), 0);
  } else if (grove_msg_is_call(msg)) {
    grove_msg *r = grove_msg_new("echo-reply");
    tr_copy_body(r, msg);
    CHECK_EQ(grove_reply(msg, r), 0);
  }
  return 0;
}

typedef struct counter {
  grove_actor base;
  int64_t n, misordered;
} counter;

static int count_receive(grove_actor *self, grove_msg *msg) {
  counter *c = (counter *)self;
  if (grove_msg_is(msg, "n")) {
    if (tr_int(msg, 0) != c->n)
      c->misordered++;
    c->n++;
  } else if (grove_msg_is(msg, "get")) {
    grove_reply(msg, TR_MSG("count", c->n, c->misordered));
  }
  return 0;
}

static int err_receive(grove_actor *self, grove_msg *msg) {
  if (grove_msg_is_call(msg))
    CHECK_EQ(grove_reply_error(msg, (int)tr_int(msg, 0)), 0);
  return 0;
}

static int refback_receive(grove_actor *self, grove_msg *msg) {
  if (grove_msg_is(msg, "ref")) {
    grove_ref r = tr_ref(msg, 0);
    CHECK_EQ(grove_send(r, TR_MSG("back", 7, r.node == grove_node_id(PAR) ? 1 : 0)), 0);
  }
  return 0;
}

typedef struct holder {
  grove_actor base;
  grove_msg *held[16];
  int n;
} holder;

static int hold_receive(grove_actor *self, grove_msg *msg) {
  holder *h = (holder *)self;
  if (grove_msg_is_call(msg) && h->n < 16)
    h->held[h->n++] = grove_msg_take(msg);
  return 0;
}

static void hold_terminate(grove_actor *self, int reason) {
  holder *h = (holder *)self;
  for (int i = 0; i < h->n; i++)
    grove_msg_free(h->held[i]);
}

static int mortal_receive(grove_actor *self, grove_msg *msg) {
  if (grove_msg_is(msg, "stop"))
    return GROVE_STOP;
  if (grove_msg_is(msg, "crash"))
    return GROVE_EPERM;
  return 0;
}

static const grove_actor_class echo_class = {"echo", sizeof(grove_actor), NULL, echo_receive, NULL};
static const grove_actor_class count_class = {"count", sizeof(counter), NULL, count_receive, NULL};
static const grove_actor_class err_class = {"err", sizeof(grove_actor), NULL, err_receive, NULL};
static const grove_actor_class refback_class = {"refback", sizeof(grove_actor), NULL,
                                                refback_receive, NULL};
static const grove_actor_class hold_class = {"hold", sizeof(holder), NULL, hold_receive,
                                             hold_terminate};
static const grove_actor_class mortal_class = {"mortal", sizeof(grove_actor), NULL, mortal_receive,
                                               NULL};

static int srv_ctl(grove_actor *self, grove_msg *msg) {
  if (grove_msg_is(msg, "spawn")) {
    grove_ref r = grove_actor_spawn(&mortal_class, NULL);
    tr_track(r);
    grove_msg *rep = grove_msg_new("spawned");
    grove_msg_pack_ref(rep, r);
    grove_reply(msg, rep);
    return 0;
  }
  if (grove_msg_is(msg, "whoami")) {
    grove_reply(msg, TR_MSG("pid", getpid()));
    return 0;
  }
  return -1000;
}

static int child_main(const tr_child *c) {
  if (tr_child_node_start(c) != 0)
    return 2;
  tr_spawn_named(&echo_class, "echo");
  tr_spawn_named(&count_class, "count");
  tr_spawn_named(&err_class, "err");
  tr_spawn_named(&refback_class, "refback");
  tr_spawn_named(&hold_class, "hold");
  tr_ctl_hook = srv_ctl;
  tr_child_serve(c);
  return tr_child_finish();
}

/* ---- the parent's side ------------------------------------------------------------------- */

static grove_ref whereis(const char *name) { return tr_whereis(SRV, name); }

static grove_ref spawn_remote(int kind) {
  grove_ref ctl = whereis("ctl"), r = GROVE_REF_NULL;
  grove_msg *rep = NULL;
  CHECK_EQ(grove_call(ctl, TR_MSG("spawn", kind), &rep, 5.0), 0);
  r = tr_ref(rep, 0);
  grove_msg_free(rep);
  CHECK_EQ(r.node, grove_node_id(SRV));
  return r;
}

/* Start the child on child_ep and this node on par_ep, connect. */
static pid_t setup(const char *child_ep, const char *par_ep, const grove_node_opts *o,
                   const char *hb_args) {
  char bound[256];
  pid_t pid = tr_spawn(bound, sizeof bound, "srv", SRV, child_ep, PAR, hb_args, NULL);
  CHECK(pid > 0);
  if (pid <= 0)
    return pid;
  CHECK_EQ(grove_node_peers(NULL, 0), 0); /* no node here yet */
  CHECK_EQ(grove_node_start(PAR, par_ep, o), 0);
  CHECK_EQ(grove_node_connect(SRV, bound), 0);
  CHECK(grove_node_is_up(SRV));
  return pid;
}

static void finish(pid_t pid) {
  CHECK_EQ(grove_node_stop(), 0);
  if (pid > 0)
    CHECK_EQ(tr_reap(pid, 5.0), 0);
}

static void basic(const char *child_ep, const char *par_ep) {
  pid_t pid = setup(child_ep, par_ep, NULL, NULL);
  if (pid <= 0)
    return;
  /* whereis */
  grove_ref echo = whereis("echo"), r = GROVE_REF_NULL;
  CHECK_EQ(echo.node, grove_node_id(SRV));
  CHECK(echo.id != 0);
  CHECK_STR(grove_node_name_of(echo.node), SRV);
  CHECK_EQ(grove_whereis_remote(SRV, "nobody", &r, 5.0), GROVE_ENOENT);
  CHECK(grove_ref_is_null(r));
  CHECK_EQ(grove_whereis_remote("nonode", "echo", &r, 5.0), GROVE_EHOSTUNREACH);

  /* call and reply: the body comes back, the reply's sender is the callee */
  grove_msg *rep = NULL;
  grove_msg *m = TR_MSG("add", 2, 3);
  grove_msg_pack_str(m, "three");
  CHECK_EQ(grove_call(echo, m, &rep, 5.0), 0);
  CHECK(rep != NULL);
  if (rep) {
    CHECK_STR(grove_msg_tag(rep), "echo-reply");
    CHECK_EQ(grove_msg_count(rep), 3);
    CHECK_EQ(tr_int(rep, 0), 2);
    CHECK_EQ(tr_int(rep, 1), 3);
    const char *s = NULL;
    size_t n = 0;
    CHECK_EQ(grove_msg_str(rep, 2, &s, &n), 0);
    CHECK(n == 5 && memcmp(s, "three", 5) == 0);
    CHECK(grove_ref_eq(grove_msg_sender(rep), echo));
    CHECK(!grove_msg_is_call(rep));
    grove_msg_free(rep);
  }

  /* 10k sends keep their order; a call after them sees them all */
  grove_ref count = whereis("count");
  int sent_ok = 0;
  for (int i = 0; i < 10000; i++)
    sent_ok += grove_send(count, TR_MSG("n", i)) == 0;
  CHECK_EQ(sent_ok, 10000);
  CHECK_EQ(grove_call(count, grove_msg_new("get"), &rep, 5.0), 0);
  CHECK_EQ(tr_int(rep, 0), 10000);
  CHECK_EQ(tr_int(rep, 1), 0);
  grove_msg_free(rep);

  /* error replies */
  grove_ref err = whereis("err");
  CHECK_EQ(grove_call(err, TR_MSG("e", GROVE_EPERM), &rep, 5.0), GROVE_EPERM);
  CHECK(rep == NULL);
  CHECK_EQ(grove_call(err, TR_MSG("e", GROVE_ECONNRESET), &rep, 5.0), GROVE_ECONNRESET);

  /* an unknown ref on a live node: the node answers ENOENT */
  grove_ref bogus = {grove_node_id(SRV), 1, 999};
  CHECK_EQ(grove_call(bogus, grove_msg_new("x"), &rep, 5.0), GROVE_ENOENT);
  grove_ref stale = echo;
  stale.gen += 7;
  CHECK_EQ(grove_call(stale, grove_msg_new("x"), &rep, 5.0), GROVE_ENOENT);
  /* a send to it is accepted here and counted there */
  CHECK_EQ(grove_send(bogus, grove_msg_new("x")), 0);
  CHECK_EQ(grove_call(whereis("ctl"), grove_msg_new("stats"), &rep, 5.0), 0);
  CHECK_EQ(tr_int(rep, 1), 3); /* unknown_target on srv */
  grove_msg_free(rep);

  /* blobs are local pointers: refused, and freed (ASan checks the free) */
  static char blob[8];
  grove_msg *b = grove_msg_new("blob");
  CHECK_EQ(grove_msg_set_blob(b, blob, sizeof blob, NULL), 0);
  CHECK_EQ(grove_send(echo, b), GROVE_EINVAL);
  b = grove_msg_new("blob");
  CHECK_EQ(grove_msg_set_blob(b, malloc(16), 16, free), 0);
  CHECK_EQ(grove_call(echo, b, &rep, 5.0), GROVE_EINVAL);
  CHECK(rep == NULL);
  /* the connection still works */
  CHECK_EQ(tr_call_int(echo, TR_MSG("again", 11), 5.0), 11);
  finish(pid);
}

static void test_basic_ipc(void) { basic(tr_ipc("srv"), tr_ipc("par")); }
static void test_basic_tcp(void) { basic("tcp://127.0.0.1:0", "tcp://127.0.0.1:0"); }

/* A node started and stopped many times on one hub leaves nothing behind:
 * every start once registered another close hook in a table of eight, so
 * after eight cycles anything else that needed a hook (the watchdog) failed
 * with GROVE_ENOMEM. */
static void test_start_stop_cycles(void) {
  for (int i = 0; i < 20; i++) {
    CHECK_EQ(grove_node_start(PAR, tr_ipc("cycle"), NULL), 0);
    CHECK_EQ(grove_node_start(PAR, tr_ipc("cycle2"), NULL), GROVE_EEXIST);
    CHECK_EQ(grove_node_stop(), 0);
    CHECK_EQ(grove_node_stop(), GROVE_ENOENT);
  }
  CHECK_EQ(grove_watchdog_start(1.0, NULL, NULL), 0);
  CHECK_EQ(grove_watchdog_stop(), 0);
  /* A node still running is a live object: the hub does not close. */
  CHECK_EQ(grove_node_start(PAR, tr_ipc("cycle"), NULL), 0);
  CHECK_EQ(grove_hub_close(), GROVE_EBUSY);
  CHECK_EQ(grove_node_stop(), 0);
}

/* Unreachable nodes: without a node, and to a node never connected. */
static void test_unreachable(void) {
  grove_ref far = {grove_node_id("nowhere"), 1, 1};
  grove_msg *rep = NULL;
  uint64_t dl = grove_dead_letter_count();
  CHECK_EQ(grove_send(far, grove_msg_new("x")), GROVE_EHOSTUNREACH); /* no node running */
  CHECK_EQ(grove_dead_letter_count(), dl + 1);
  CHECK_EQ(grove_node_start(PAR, tr_ipc("par"), NULL), 0);
  dl = grove_dead_letter_count();
  CHECK_EQ(grove_send(far, grove_msg_new("x")), GROVE_EHOSTUNREACH);
  CHECK_EQ(grove_dead_letter_count(), dl + 1);
  CHECK_EQ(grove_send_timeout(far, grove_msg_new("x"), 0), GROVE_EHOSTUNREACH);
  CHECK_EQ(grove_dead_letter_count(), dl + 2);
  CHECK_EQ(grove_call(far, grove_msg_new("x"), &rep, 1.0), GROVE_EHOSTUNREACH);
  CHECK_EQ(grove_dead_letter_count(), dl + 3);
  grove_ref r;
  CHECK_EQ(grove_whereis_remote("nowhere", "x", &r, 1.0), GROVE_EHOSTUNREACH);
  CHECK(!grove_node_is_up("nowhere"));
  CHECK_EQ(grove_node_wait_up("nowhere", 0.05), GROVE_ETIMEDOUT);
  CHECK(grove_node_name_of(far.node) == NULL);
  /* this node's own name resolves locally */
  CHECK_EQ(grove_whereis_remote(PAR, "nobody", &r, 1.0), GROVE_ENOENT);
  CHECK_EQ(grove_node_stop(), 0);
}

/* The sender of a remote message is a remote ref one can answer; a ref
 * packed in a body is usable on the other node. */
static void test_sender_and_refs(void) {
  pid_t pid = setup(tr_ipc("srv"), tr_ipc("par"), NULL, NULL);
  if (pid <= 0)
    return;
  grove_queue *q;
  grove_ref mb = tr_mbox_new(&q, false);
  grove_ref echo = whereis("echo");
  /* mb sends "ping" from inside an actor: echo answers the sender */
  CHECK_EQ(tr_mbox_relay(mb, "tr.send", echo, "ping", 5), 0);
  grove_msg *m = tr_mbox_get(q, 5.0);
  CHECK(m != NULL);
  if (m) {
    CHECK_STR(grove_msg_tag(m), "pong");
    CHECK_EQ(tr_int(m, 0), 5);
    CHECK_EQ(tr_int(m, 1), 1); /* srv saw a sender of node "par" */
    grove_ref from = grove_msg_sender(m);
    CHECK(grove_ref_eq(from, echo));
    /* reply to the sender of a remote message */
    CHECK_EQ(tr_call_int(from, TR_MSG("x", 99), 5.0), 99);
    grove_msg_free(m);
  }
  /* a call from inside an actor: the callee sees that actor as sender */
  CHECK_EQ(tr_mbox_relay(mb, "tr.call", echo, "y", 77), 77);

  /* a ref of ours in a body, read back over there, used to send back */
  grove_ref refback = whereis("refback");
  CHECK_EQ(grove_send(refback, tr_msg_ref("ref", mb)), 0);
  m = tr_mbox_get(q, 5.0);
  CHECK(m != NULL);
  if (m) {
    CHECK_STR(grove_msg_tag(m), "back");
    CHECK_EQ(tr_int(m, 0), 7);
    CHECK_EQ(tr_int(m, 1), 1); /* the ref read there named node "par" */
    CHECK(grove_ref_eq(grove_msg_sender(m), refback));
    grove_msg_free(m);
  }
  /* a ref of theirs read here is remote, and comes back as theirs */
  grove_msg *rep = NULL;
  CHECK_EQ(grove_call(echo, tr_msg_ref("r", echo), &rep, 5.0), 0);
  CHECK(grove_ref_eq(tr_ref(rep, 0), echo));
  grove_msg_free(rep);
  /* and one of ours comes back local */
  CHECK_EQ(grove_call(echo, tr_msg_ref("r", mb), &rep, 5.0), 0);
  CHECK(grove_ref_eq(tr_ref(rep, 0), mb));
  CHECK_EQ(tr_ref(rep, 0).node, 0);
  grove_msg_free(rep);
  tr_mbox_free(mb, q);
  finish(pid);
}

/* Remote monitors and links. */
static void test_monitor_link(void) {
  pid_t pid = setup(tr_ipc("srv"), tr_ipc("par"), NULL, NULL);
  if (pid <= 0)
    return;
  grove_queue *q;
  grove_ref mb = tr_mbox_new(&q, true);

  /* a monitored remote actor that ends normally */
  grove_ref x = spawn_remote(0);
  grove_msg *rep = NULL;
  grove_msg *mon = grove_msg_new("tr.monitor");
  grove_msg_pack_ref(mon, x);
  CHECK_EQ(grove_call(mb, mon, &rep, 5.0), 0);
  int64_t id = tr_int(rep, 0);
  CHECK_EQ(tr_int(rep, 1), 0);
  grove_msg_free(rep);
  CHECK_EQ(grove_send(x, grove_msg_new("stop")), 0);
  grove_msg *m = tr_mbox_get(q, 5.0);
  CHECK(m != NULL);
  if (m) {
    CHECK_STR(grove_msg_tag(m), GROVE_TAG_DOWN);
    CHECK_EQ(tr_int(m, 0), id);
    CHECK(grove_ref_eq(tr_ref(m, 1), x));
    CHECK_EQ(tr_int(m, 2), GROVE_EXIT_NORMAL);
    grove_msg_free(m);
  }
  /* it is gone: a call says so */
  CHECK_EQ(grove_call(x, grove_msg_new("x"), &rep, 5.0), GROVE_ENOENT);

  /* monitoring a remote ref that does not exist: down at once, ENOENT */
  CHECK_EQ(tr_mbox_do(mb, "tr.monitor", x) != 0, 1);
  m = tr_mbox_get(q, 5.0);
  CHECK(m != NULL);
  if (m) {
    CHECK_STR(grove_msg_tag(m), GROVE_TAG_DOWN);
    CHECK(grove_ref_eq(tr_ref(m, 1), x));
    CHECK_EQ(tr_int(m, 2), GROVE_ENOENT);
    grove_msg_free(m);
  }

  /* a linked remote actor crashes: the trapping local actor gets the exit */
  grove_ref c = spawn_remote(1);
  CHECK_EQ(tr_mbox_do(mb, "tr.link", c), 0);
  CHECK_EQ(grove_send(c, grove_msg_new("crash")), 0);
  m = tr_mbox_get(q, 5.0);
  CHECK(m != NULL);
  if (m) {
    CHECK_STR(grove_msg_tag(m), GROVE_TAG_EXIT);
    CHECK(grove_ref_eq(tr_ref(m, 0), c));
    CHECK_EQ(tr_int(m, 1), GROVE_EPERM);
    grove_msg_free(m);
  }
  /* the other way: a local actor linked to a remote one fails, the remote
   * one (not trapping) ends with the same reason */
  grove_ref c2 = spawn_remote(0);
  int64_t id2 = tr_mbox_do(mb, "tr.monitor", c2);
  grove_queue *q2;
  grove_ref victim = tr_mbox_new(&q2, false);
  CHECK_EQ(tr_mbox_do(victim, "tr.link", c2), 0);
  CHECK_EQ(grove_actor_exit(victim, GROVE_ECONNRESET), 0);
  m = tr_mbox_get(q, 5.0);
  CHECK(m != NULL);
  if (m) {
    CHECK_STR(grove_msg_tag(m), GROVE_TAG_DOWN);
    CHECK_EQ(tr_int(m, 0), id2);
    CHECK(grove_ref_eq(tr_ref(m, 1), c2));
    CHECK_EQ(tr_int(m, 2), GROVE_ECONNRESET);
    grove_msg_free(m);
  }
  tr_mbox_free(victim, q2);
  tr_mbox_free(mb, q);
  finish(pid);
}

/* SIGKILL the other node: heartbeats find out; then it comes back. */
typedef struct pending {
  grove_ref to;
  int rc;
  double done_at;
} pending;

static void *pending_call(void *arg) {
  pending *p = arg;
  grove_msg *rep = NULL;
  p->rc = grove_call(p->to, grove_msg_new("hold"), &rep, 10.0);
  p->done_at = test_now();
  grove_msg_free(rep);
  return NULL;
}

static void test_node_down_and_back(void) {
  grove_node_opts o = {.heartbeat_interval = 0.25, .heartbeat_timeout = 1.0};
  const char *ep = tr_ipc("srv");
  pid_t pid = setup(ep, tr_ipc("par"), &o, "hbi=0.25");
  if (pid <= 0)
    return;
  grove_queue *q;
  grove_ref mb = tr_mbox_new(&q, true);
  grove_ref x = spawn_remote(0), c = spawn_remote(0);
  grove_ref old_echo = whereis("echo"), old_count = whereis("count");
  grove_msg *mon = grove_msg_new("tr.monitor_node");
  grove_msg_pack_str(mon, SRV);
  CHECK_EQ(tr_call_int(mb, mon, 5.0), 0);
  int64_t mid = tr_mbox_do(mb, "tr.monitor", x);
  CHECK(mid > 0);
  CHECK_EQ(tr_mbox_do(mb, "tr.link", c), 0);
  pending pc = {whereis("hold"), 1, 0};
  grove_greenlet *g = grove_spawn(pending_call, &pc);
  grove_sleep(0.05); /* the call is out */
  CHECK_EQ(pc.rc, 1);
  /* let a few heartbeats pass: an idle link stays up */
  grove_sleep(1.3);
  CHECK(grove_node_is_up(SRV));
  CHECK_EQ(pc.rc, 1);
  /* nodes(): the one peer, by name */
  char peers[2][64] = {"", ""};
  CHECK_EQ(grove_node_peers(NULL, 0), 1);
  CHECK_EQ(grove_node_peers(peers, 2), 1);
  CHECK_STR(peers[0], SRV);
  CHECK_STR(peers[1], "");

  double t0 = test_now();
  tr_kill9(pid);
  int got_nodedown = 0, got_down = 0, got_exit = 0;
  double nodedown_at = 0;
  while (got_nodedown + got_down + got_exit < 3) {
    grove_msg *m = tr_mbox_get(q, t0 + 4.0 - test_now());
    if (!m)
      break;
    if (grove_msg_is(m, GROVE_TAG_NODEDOWN)) {
      const char *s;
      size_t n;
      CHECK(grove_msg_str(m, 0, &s, &n) == 0 && n == 3 && memcmp(s, SRV, 3) == 0);
      got_nodedown++;
      nodedown_at = test_now();
    } else if (grove_msg_is(m, GROVE_TAG_DOWN)) {
      CHECK_EQ(tr_int(m, 0), mid);
      CHECK(grove_ref_eq(tr_ref(m, 1), x));
      CHECK_EQ(tr_int(m, 2), GROVE_EXIT_NOCONNECTION);
      got_down++;
    } else if (grove_msg_is(m, GROVE_TAG_EXIT)) {
      CHECK(grove_ref_eq(tr_ref(m, 0), c));
      CHECK_EQ(tr_int(m, 1), GROVE_EXIT_NOCONNECTION);
      got_exit++;
    } else {
      fprintf(stderr, "unexpected %s\n", grove_msg_tag(m));
      CHECK(0);
    }
    grove_msg_free(m);
  }
  CHECK_EQ(got_nodedown, 1);
  CHECK_EQ(got_down, 1);
  CHECK_EQ(got_exit, 1);
  double detect = nodedown_at - t0;
  printf("     node down detected after %.3f s (heartbeat_timeout 1.0)\n", detect);
  CHECK(got_nodedown && detect <= 1.0 + 1.0);
  CHECK_EQ(grove_join(g, 5.0), 0);
  grove_greenlet_release(g);
  CHECK_EQ(pc.rc, GROVE_EHOSTUNREACH);
  CHECK(pc.done_at - t0 <= 2.0);
  CHECK(!grove_node_is_up(SRV));
  CHECK_EQ(grove_node_peers(peers, 2), 0); /* down: no longer among the nodes */
  grove_msg *rep = NULL;
  CHECK_EQ(grove_send(old_echo, grove_msg_new("x")), GROVE_EHOSTUNREACH);
  CHECK_EQ(grove_call(old_echo, grove_msg_new("x"), &rep, 1.0), GROVE_EHOSTUNREACH);
  grove_ref r;
  CHECK_EQ(grove_whereis_remote(SRV, "echo", &r, 1.0), GROVE_EHOSTUNREACH);
  grove_node_stats st;
  CHECK_EQ(grove_node_stats_get(&st), 0);
  CHECK_EQ(st.nodes_down, 1);

  /* the same node comes back, same name and endpoint */
  char bound[256];
  pid = tr_spawn(bound, sizeof bound, "srv", SRV, ep, PAR, "hbi=0.25", NULL);
  CHECK(pid > 0);
  CHECK_EQ(grove_node_wait_up(SRV, 5.0), 0);
  grove_msg *m = tr_mbox_get(q, 5.0);
  CHECK(m && grove_msg_is(m, GROVE_TAG_NODEUP));
  grove_msg_free(m);
  CHECK_EQ(tr_call_int(whereis("ctl"), grove_msg_new("whoami"), 5.0), pid);
  grove_ref echo = whereis("echo");
  CHECK_EQ(tr_call_int(echo, TR_MSG("x", 5), 5.0), 5);
  CHECK_EQ(grove_node_stats_get(&st), 0);
  CHECK_EQ(st.nodes_up, 2);
  /* refs to the old incarnation's actors stay dead: they never reach the
   * new actors (which may sit in the same slots) */
  int rc = grove_call(old_echo, TR_MSG("x", 5), &rep, 5.0);
  if (rc == 0)
    grove_msg_free(rep);
  CHECK_EQ(rc, GROVE_ENOENT);
  grove_send(old_count, TR_MSG("n", 0));
  grove_ref count = whereis("count");
  CHECK_EQ(tr_call_int(count, grove_msg_new("get"), 5.0), 0);
  tr_mbox_free(mb, q);
  finish(pid);
  tr_unlink_ipc(ep);
}

TR_MAIN(child_main, TEST(test_basic_ipc), TEST(test_basic_tcp), TEST(test_start_stop_cycles),
        TEST(test_unreachable), TEST(test_sender_and_refs), TEST(test_monitor_link),
        TEST(test_node_down_and_back))
