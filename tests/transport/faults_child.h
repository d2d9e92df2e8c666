/* tests/transport/faults_child.h - the second node of the fault tests
 * (test_partition, test_hijack, test_connect_race, test_exit_flush,
 * test_spec): this program started again as a child (tr_util.h), node
 * NAME on ENDPOINT, with these actors, registered by name:
 *
 *   echo     call: replies "echo-reply" [first int of the body]
 *   sink     send "n" [i]: counts, checks i == count; call "get": [count, misordered]
 *   noreply  call: ends (GROVE_STOP) without replying
 *   hold     call: keeps the request; send "end": ends with the requests unanswered
 *   drop     call: returns without replying (the request is freed), lives on
 *   ctl      call "spawn": [ref] of a "mortal" (ends on "stop"; on "crash" [ms,
 *            code] sleeps ms, then ends with code, unanswered);
 *            call "watch" [ref]: a watcher (trapping exits) monitors and links ref;
 *            call "report": [downs, exits] the watchers got so far;
 *            call "flood" [ref, n]: sends n "n" [i] to ref, answers [sent ok];
 *            call "bgflood" [ref, n]: the same in a greenlet of its own, answers at once;
 *            call "floodrep": [done, sent ok, dropped_unroutable, dropped_unknown_peer,
 *            unknown_target, nodes_down, unconfirmed];
 *            "quit", "stats" (tr_util.h)
 *
 * Arguments (key=value) besides tr_child_opts': dial=NAME@ENDPOINT connect
 * to that node at start; at=T (CLOCK_REALTIME seconds) connect then, not at
 * once; floodto=NAME n=N send N "n" [i] to NAME's sink once connected, then
 * check NAME's count (exit 1 if wrong); exit=1 return from the child's
 * main right after the flood, without grove_node_stop (test_exit_flush);
 * sinkref=GEN:ID (with floodto, dial=NAME@ENDPOINT) the sink's ref: connect
 * without waiting, flood at once (before the handshake is done), return. */
#ifndef GROVE_TEST_FAULTS_CHILD_H
#define GROVE_TEST_FAULTS_CHILD_H

#include "tr_util.h"

static int fc_receive_echo(grove_actor *self, grove_msg *msg) {
  if (grove_msg_is_call(msg))
    grove_reply(msg, TR_MSG("echo-reply", tr_int(msg, 0)));
  return 0;
}

typedef struct fc_sink {
  grove_actor base;
  int64_t n, misordered;
} fc_sink;

static int fc_receive_sink(grove_actor *self, grove_msg *msg) {
  fc_sink *c = (fc_sink *)self;
  if (grove_msg_is(msg, "n")) {
    if (tr_int(msg, 0) != c->n)
      c->misordered++;
    c->n++;
  } else if (grove_msg_is(msg, "get")) {
    grove_reply(msg, TR_MSG("count", c->n, c->misordered));
  }
  return 0;
}

static int fc_receive_noreply(grove_actor *self, grove_msg *msg) {
  return grove_msg_is_call(msg) ? GROVE_STOP : 0;
}

typedef struct fc_holder {
  grove_actor base;
  grove_msg *held[16];
  int n;
} fc_holder;

static int fc_receive_hold(grove_actor *self, grove_msg *msg) {
  fc_holder *h = (fc_holder *)self;
  if (grove_msg_is(msg, "end"))
    return GROVE_STOP;
  if (grove_msg_is_call(msg) && h->n < 16)
    h->held[h->n++] = grove_msg_take(msg);
  return 0;
}

static void fc_terminate_hold(grove_actor *self, int reason) {
  fc_holder *h = (fc_holder *)self;
  for (int i = 0; i < h->n; i++)
    grove_msg_free(h->held[i]);
}

static int fc_receive_drop(grove_actor *self, grove_msg *msg) { return 0; }

static int fc_receive_mortal(grove_actor *self, grove_msg *msg) {
  if (grove_msg_is(msg, "crash")) {
    grove_sleep((double)tr_int(msg, 0) / 1000.0);
    return (int)tr_int(msg, 1);
  }
  return grove_msg_is(msg, "stop") ? GROVE_STOP : 0;
}

static int64_t fc_downs, fc_exits;
static int fc_receive_watcher(grove_actor *self, grove_msg *msg) {
  if (grove_msg_is(msg, GROVE_TAG_DOWN))
    fc_downs++;
  else if (grove_msg_is(msg, GROVE_TAG_EXIT))
    fc_exits++;
  else if (grove_msg_is(msg, "watch")) {
    uint64_t id;
    CHECK_EQ(grove_monitor(tr_ref(msg, 0), &id), 0);
    CHECK_EQ(grove_link_actors(grove_self(), tr_ref(msg, 0)), 0);
    grove_reply(msg, TR_MSG("watching", 0));
  }
  return 0;
}

static const grove_actor_class fc_echo = {"echo", sizeof(grove_actor), NULL, fc_receive_echo, NULL};
static const grove_actor_class fc_sink_class = {"sink", sizeof(fc_sink), NULL, fc_receive_sink,
                                                NULL};
static const grove_actor_class fc_noreply = {"noreply", sizeof(grove_actor), NULL,
                                             fc_receive_noreply, NULL};
static const grove_actor_class fc_hold = {"hold", sizeof(fc_holder), NULL, fc_receive_hold,
                                          fc_terminate_hold};
static const grove_actor_class fc_drop = {"drop", sizeof(grove_actor), NULL, fc_receive_drop, NULL};
static const grove_actor_class fc_mortal = {"mortal", sizeof(grove_actor), NULL, fc_receive_mortal,
                                            NULL};
static const grove_actor_class fc_watcher = {"watcher", sizeof(grove_actor), NULL,
                                             fc_receive_watcher, NULL};

/* Send n "n" [i] to `to`; returns how many grove_send accepted. */
static inline int64_t fc_flood(grove_ref to, int64_t n) {
  int64_t ok = 0;
  for (int64_t i = 0; i < n; i++)
    ok += grove_send_timeout(to, TR_MSG("n", i), 10.0) == 0;
  return ok;
}

/* A flood in the background ("bgflood" [ref, n]), its outcome ("floodrep"). */
static grove_ref fc_bg_to;
static int64_t fc_bg_n, fc_bg_ok, fc_bg_done;
static void *fc_bg_flood(void *arg) {
  fc_bg_ok = fc_flood(fc_bg_to, fc_bg_n);
  fc_bg_done = 1;
  return NULL;
}

static int fc_ctl(grove_actor *self, grove_msg *msg) {
  if (grove_msg_is(msg, "bgflood")) {
    fc_bg_to = tr_ref(msg, 0);
    fc_bg_n = tr_int(msg, 1);
    fc_bg_done = 0;
    grove_greenlet_release(grove_spawn(fc_bg_flood, NULL));
    grove_reply(msg, TR_MSG("started", 0));
    return 0;
  }
  if (grove_msg_is(msg, "floodrep")) {
    grove_node_stats st;
    memset(&st, 0, sizeof st);
    grove_node_stats_get(&st);
    grove_reply(msg, TR_MSG("floodrep", fc_bg_done, fc_bg_ok, (int64_t)st.dropped_unroutable,
                            (int64_t)st.dropped_unknown_peer, (int64_t)st.unknown_target,
                            (int64_t)st.nodes_down, (int64_t)st.unconfirmed));
    return 0;
  }
  if (grove_msg_is(msg, "spawn")) {
    grove_ref r = grove_actor_spawn(&fc_mortal, NULL);
    tr_track(r);
    grove_msg *rep = grove_msg_new("spawned");
    grove_msg_pack_ref(rep, r);
    grove_reply(msg, rep);
    return 0;
  }
  if (grove_msg_is(msg, "watch")) {
    grove_actor_opts o = {.trap_exits = true};
    grove_ref w = GROVE_REF_NULL;
    CHECK_EQ(grove_actor_spawn_ex(&fc_watcher, NULL, &o, &w), 0);
    tr_track(w);
    grove_msg *rep = NULL;
    int rc = grove_call(w, tr_msg_ref("watch", tr_ref(msg, 0)), &rep, 5.0);
    grove_msg_free(rep);
    grove_reply(msg, TR_MSG("rc", rc));
    return 0;
  }
  if (grove_msg_is(msg, "report")) {
    grove_reply(msg, TR_MSG("report", fc_downs, fc_exits));
    return 0;
  }
  if (grove_msg_is(msg, "flood")) {
    grove_reply(msg, TR_MSG("flooded", fc_flood(tr_ref(msg, 0), tr_int(msg, 1))));
    return 0;
  }
  return -1000;
}

static inline double fc_realtime(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Connect to NAME@ENDPOINT (at `at`, if given). */
static int fc_dial(const tr_child *c) {
  const char *d = tr_arg(c, "dial");
  if (!d)
    return 0;
  char name[64];
  const char *at = strchr(d, '@');
  if (!at || at - d >= (long)sizeof name)
    return GROVE_EINVAL;
  memcpy(name, d, (size_t)(at - d));
  name[at - d] = 0;
  double when = tr_arg_double(c, "at", 0);
  while (when > 0 && fc_realtime() < when)
    grove_sleep(0.0005);
  return grove_node_connect(name, at + 1);
}

static int fc_child_main(const tr_child *c) {
  if (tr_child_node_start(c) != 0)
    return 2;
  tr_spawn_named(&fc_echo, "echo");
  tr_spawn_named(&fc_sink_class, "sink");
  tr_spawn_named(&fc_noreply, "noreply");
  tr_spawn_named(&fc_hold, "hold");
  tr_spawn_named(&fc_drop, "drop");
  tr_ctl_hook = fc_ctl;
  const char *floodto = tr_arg(c, "floodto");
  if (floodto) {
    /* The connect-race and exit tests: no ctl, a flood and a check. */
    tr_child_ready();
    const char *sinkref = tr_arg(c, "sinkref");
    if (sinkref) {
      /* sinkref=GEN:ID: the sink's ref is known, so the flood goes at
       * once, before the handshake is done (test_exit_flush) */
      const char *d = tr_arg(c, "dial"), *at = d ? strchr(d, '@') : NULL;
      unsigned gen = 0;
      unsigned long long id = 0;
      if (!at || sscanf(sinkref, "%u:%llu", &gen, &id) != 2)
        return 3;
      CHECK_EQ(grove_node_connect_ex(floodto, at + 1, NULL, 0), 0);
      grove_ref sink = {.node = grove_node_id(floodto), .gen = gen, .id = id};
      int64_t n = (int64_t)tr_arg_double(c, "n", 0);
      CHECK_EQ(fc_flood(sink, n), n);
      return test__failed ? 1 : 0; /* no grove_node_stop: the node flushes at exit */
    }
    int rc = fc_dial(c);
    if (rc != 0) {
      fprintf(stderr, "child %s: connect: %s\n", c->name, grove_err_name(rc));
      return 3;
    }
    grove_ref sink = GROVE_REF_NULL;
    CHECK_EQ(grove_whereis_remote(floodto, "sink", &sink, 5.0), 0);
    int64_t n = (int64_t)tr_arg_double(c, "n", 0);
    CHECK_EQ(fc_flood(sink, n), n);
    if (tr_arg_double(c, "exit", 0) == 1)
      return test__failed ? 1 : 0; /* no grove_node_stop: the node flushes at exit */
    grove_msg *rep = NULL;
    CHECK_EQ(grove_call(sink, grove_msg_new("get"), &rep, 10.0), 0);
    CHECK_EQ(tr_int(rep, 0), n);
    CHECK_EQ(tr_int(rep, 1), 0);
    grove_msg_free(rep);
    /* wait for the parent's flood to us, then say goodbye */
    grove_ref mine = GROVE_REF_NULL;
    CHECK_EQ(grove_whereis("sink", &mine), 0);
    for (int i = 0; i < 5000; i++) {
      rep = NULL;
      int64_t got = grove_call(mine, grove_msg_new("get"), &rep, 1.0) == 0 ? tr_int(rep, 0) : -1;
      grove_msg_free(rep);
      if (got >= n)
        break;
      grove_sleep(0.002);
    }
    rep = NULL;
    CHECK_EQ(grove_call(mine, grove_msg_new("get"), &rep, 1.0), 0);
    CHECK_EQ(tr_int(rep, 0), n);
    CHECK_EQ(tr_int(rep, 1), 0);
    grove_msg_free(rep);
    for (int i = 0; i < tr_ntracked; i++)
      tr_end_actor(tr_tracked[i]);
    return tr_child_finish();
  }
  int rc = fc_dial(c);
  if (rc != 0)
    fprintf(stderr, "child %s: connect: %s\n", c->name, grove_err_name(rc));
  tr_child_serve(c);
  return tr_child_finish();
}

/* ---- the parent's helpers ------------------------------------------------------------------ */

static inline grove_ref fc_spawn_remote(const char *node) {
  grove_msg *rep = NULL;
  CHECK_EQ(grove_call(tr_whereis(node, "ctl"), grove_msg_new("spawn"), &rep, 5.0), 0);
  grove_ref r = tr_ref(rep, 0);
  grove_msg_free(rep);
  return r;
}

/* The next message in q whose tag is `tag` (others are freed), or NULL. */
static inline grove_msg *fc_expect(grove_queue *q, const char *tag, double timeout) {
  double deadline = test_now() + timeout;
  for (;;) {
    double left = deadline - test_now();
    grove_msg *m = tr_mbox_get(q, left > 0 ? left : 0);
    if (!m || grove_msg_is(m, tag))
      return m;
    grove_msg_free(m);
  }
}

#endif
