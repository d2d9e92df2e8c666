/* tests/transport/flow_child.h - the child node of the flow-control tests
 * (test_flow.c, test_flow_load.c): a node with a slow bounded actor, a
 * sink, an echo, and a ctl that can pause, kill, hog or measure it.
 *
 * Actors, registered by name:
 *   slow   bounded (arg inbox=, 64 by default); each "item" takes delay= ms
 *          (grove_sleep: it yields). "pause" [ms] sleeps in receive; "gate"
 *          waits for ctl's "open". It records the longest inbox it has seen
 *          at the end of a receive (what arrived while it worked included).
 *   sink   unbounded: counts what it gets.
 *   echo   unbounded: a call is answered with its body.
 *   ctl    (tr_util.h) and:
 *            "report"      -> [slow's items, longest inbox, sink's count, slow's inbox now]
 *            "open"        -> opens slow's gate
 *            "kill-slow"   -> ends slow
 *            "fstats"      -> [dropped_flow, window_waits, target_waits, credits_sent,
 *                              credits_received, nodes_down, unknown_target, nodes_up]
 *            "rss"         -> [VmRSS kB, VmHWM kB]
 *            "tick" [on]   -> starts (1) or stops (0) a 10 ms periodic timer
 *            "tickrep"     -> [worst lateness us, ticks]
 *            "hog" [total ms, chunk ms] -> a greenlet blocks the thread (usleep)
 *                             for chunk ms at a time, for total ms: the node
 *                             reads nothing meanwhile
 *            "connect" [name, endpoint] -> grove_node_connect
 *            "backlog" [n] -> an actor gets n messages (about 1 us of work
 *                             each) while it waits at a gate; answered once
 *                             they are all queued
 *            "backlog-go"  -> opens that gate (answered at once)
 *            "backlog-wait" -> answered when that actor has done them all
 */
#ifndef GROVE_TEST_FLOW_CHILD_H
#define GROVE_TEST_FLOW_CHILD_H

#include "tr_util.h"

/* AddressSanitizer keeps freed memory in quarantine (256 MB by default):
 * resident memory bounds make room for it. */
#if defined(__SANITIZE_ADDRESS__)
#define RSS_SLACK_KB (300 * 1024)
#else
#define RSS_SLACK_KB 0
#endif

static double fc_delay;
static int64_t fc_got, fc_longest, fc_sink;
static grove_event *fc_gate, *fc_bl_gate;
static grove_ref fc_slow, fc_bl;

/* The calling actor's inbox length now. */
static size_t fc_inbox(grove_actor *self) {
  grove_actor_stats st;
  memset(&st, 0, sizeof st);
  grove_actor_stats_get(grove_actor_ref(self), &st);
  return st.inbox_len;
}

static int slow_receive(grove_actor *self, grove_msg *msg) {
  if (grove_msg_is(msg, "pause"))
    grove_sleep((double)tr_int(msg, 0) / 1000);
  else if (grove_msg_is(msg, "gate"))
    grove_event_wait(fc_gate, 20.0);
  else {
    fc_got++;
    if (fc_delay > 0)
      grove_sleep(fc_delay);
  }
  int64_t len = (int64_t)fc_inbox(self);
  if (len > fc_longest)
    fc_longest = len;
  if (grove_msg_is_call(msg))
    grove_reply(msg, TR_MSG("ok", fc_got));
  return 0;
}

static int sink_receive(grove_actor *self, grove_msg *msg) {
  fc_sink++;
  if (grove_msg_is_call(msg))
    grove_reply(msg, TR_MSG("count", fc_sink));
  return 0;
}

static int fecho_receive(grove_actor *self, grove_msg *msg) {
  if (grove_msg_is_call(msg)) {
    grove_msg *r = grove_msg_new("echo-reply");
    tr_copy_body(r, msg);
    grove_reply(msg, r);
  }
  return 0;
}

static int64_t fc_bl_count, fc_bl_total;
static int bl_receive(grove_actor *self, grove_msg *msg) {
  if (grove_msg_is(msg, "gate")) {
    grove_event_wait(fc_bl_gate, 30.0);
    return 0;
  }
  /* about a microsecond of work each: a million take a second or so */
  for (volatile int i = 0; i < 400; i++) {
  }
  return ++fc_bl_count == fc_bl_total ? GROVE_STOP : 0;
}

static const grove_actor_class slow_class = {"slow", sizeof(grove_actor), NULL, slow_receive, NULL};
static const grove_actor_class sink_class = {"sink", sizeof(grove_actor), NULL, sink_receive, NULL};
static const grove_actor_class fecho_class = {"echo", sizeof(grove_actor), NULL, fecho_receive,
                                              NULL};
static const grove_actor_class bl_class = {"backlog", sizeof(grove_actor), NULL, bl_receive, NULL};

/* /proc/self/status: VmRSS or VmHWM in kB. */
static long fc_status_kb(const char *key) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  long v = -1;
  size_t k = strlen(key);
  while (f && fgets(line, sizeof line, f))
    if (strncmp(line, key, k) == 0 && line[k] == ':')
      v = atol(line + k + 1);
  if (f)
    fclose(f);
  return v;
}

typedef struct fc_ticker {
  volatile int stop;
  int ticks;
  double worst;
} fc_ticker;
static fc_ticker fc_tick;
static grove_greenlet *fc_tick_g;

static void *fc_tick_fn(void *arg) {
  fc_ticker *t = arg;
  while (!t->stop && t->ticks < 100000) {
    double before = test_now();
    if (grove_sleep(0.01) != 0)
      break;
    double late = test_now() - before - 0.01;
    if (late > t->worst)
      t->worst = late;
    t->ticks++;
  }
  return NULL;
}

static void fc_tick_stop(void) {
  if (fc_tick_g) {
    fc_tick.stop = 1;
    grove_join(fc_tick_g, 5.0);
    grove_greenlet_release(fc_tick_g);
    fc_tick_g = NULL;
  }
}

typedef struct fc_hog {
  double total, chunk;
} fc_hog;
static fc_hog fc_hog_args;
static grove_greenlet *fc_hog_g;

static void *fc_hog_fn(void *arg) {
  fc_hog *h = arg;
  double end = test_now() + h->total;
  while (test_now() < end) {
    tr_usleep(h->chunk); /* the whole thread: no hub, no reading */
    if (grove_sleep(0.005) != 0)
      break;
  }
  return NULL;
}

static void fc_str(grove_msg *m, size_t i, char *out, size_t cap) {
  const char *s = "";
  size_t n = 0;
  out[0] = 0;
  if (grove_msg_str(m, i, &s, &n) == 0 && n < cap) {
    memcpy(out, s, n);
    out[n] = 0;
  }
}

static int fc_ctl(grove_actor *self, grove_msg *msg) {
  if (grove_msg_is(msg, "report")) {
    grove_actor_stats st;
    memset(&st, 0, sizeof st);
    grove_actor_stats_get(fc_slow, &st);
    grove_reply(msg, TR_MSG("report", fc_got, fc_longest, fc_sink, (int64_t)st.inbox_len));
    return 0;
  }
  if (grove_msg_is(msg, "open")) {
    grove_event_set(fc_gate);
    grove_reply(msg, TR_MSG("ok", 0));
    return 0;
  }
  if (grove_msg_is(msg, "kill-slow")) {
    grove_actor_exit(fc_slow, GROVE_EXIT_KILLED);
    grove_reply(msg, TR_MSG("ok", 0));
    return 0;
  }
  if (grove_msg_is(msg, "fstats")) {
    grove_node_stats s;
    memset(&s, 0, sizeof s);
    grove_node_stats_get(&s);
    grove_reply(msg, TR_MSG("fstats", (int64_t)s.dropped_flow, (int64_t)s.window_waits,
                            (int64_t)s.target_waits, (int64_t)s.credits_sent,
                            (int64_t)s.credits_received, (int64_t)s.nodes_down,
                            (int64_t)s.unknown_target, (int64_t)s.nodes_up));
    return 0;
  }
  if (grove_msg_is(msg, "rss")) {
    grove_reply(msg, TR_MSG("rss", fc_status_kb("VmRSS"), fc_status_kb("VmHWM")));
    return 0;
  }
  if (grove_msg_is(msg, "tick")) {
    fc_tick_stop();
    if (tr_int(msg, 0)) {
      memset(&fc_tick, 0, sizeof fc_tick);
      fc_tick_g = grove_spawn(fc_tick_fn, &fc_tick);
    }
    grove_reply(msg, TR_MSG("ok", 0));
    return 0;
  }
  if (grove_msg_is(msg, "tickrep")) {
    grove_reply(msg, TR_MSG("tick", (int64_t)(fc_tick.worst * 1e6), fc_tick.ticks));
    return 0;
  }
  if (grove_msg_is(msg, "hog")) {
    if (fc_hog_g) {
      grove_join(fc_hog_g, 30.0);
      grove_greenlet_release(fc_hog_g);
    }
    fc_hog_args.total = (double)tr_int(msg, 0) / 1000;
    fc_hog_args.chunk = (double)tr_int(msg, 1) / 1000;
    fc_hog_g = grove_spawn(fc_hog_fn, &fc_hog_args);
    grove_reply(msg, TR_MSG("ok", 0));
    return 0;
  }
  if (grove_msg_is(msg, "connect")) {
    char name[64], ep[256];
    fc_str(msg, 0, name, sizeof name);
    fc_str(msg, 1, ep, sizeof ep);
    grove_reply(msg, TR_MSG("rc", (int64_t)grove_node_connect(name, ep)));
    return 0;
  }
  if (grove_msg_is(msg, "backlog")) {
    fc_bl_total = tr_int(msg, 0);
    fc_bl_count = 0;
    grove_event_clear(fc_bl_gate);
    fc_bl = grove_actor_spawn(&bl_class, NULL);
    tr_track(fc_bl);
    grove_send(fc_bl, grove_msg_new("gate"));
    /* In small chunks: building it must not hold the hub either (each
     * resume of this greenlet is one unit of the hub's turn meter). */
    for (int64_t i = 0; i < fc_bl_total; i++) {
      grove_send(fc_bl, grove_msg_new("x"));
      if (i % 1000 == 999)
        grove_sleep(0);
    }
    grove_reply(msg, TR_MSG("ok", 0));
    return 0;
  }
  if (grove_msg_is(msg, "backlog-go")) {
    grove_event_set(fc_bl_gate);
    grove_reply(msg, TR_MSG("ok", 0));
    return 0;
  }
  if (grove_msg_is(msg, "backlog-wait")) {
    int rc = grove_actor_wait(fc_bl, NULL, 60.0);
    grove_reply(msg, TR_MSG("rc", (int64_t)rc, fc_bl_count));
    return 0;
  }
  return -1000;
}

static void fc_spawn(const grove_actor_class *cls, const char *name, size_t inbox_max,
                     grove_ref *out) {
  grove_actor_opts o = {.name = name, .inbox_max = inbox_max};
  grove_ref r = GROVE_REF_NULL;
  CHECK_EQ(grove_actor_spawn_ex(cls, NULL, &o, &r), 0);
  tr_track(r);
  if (out)
    *out = r;
}

static int flow_child_main(const tr_child *c) {
  grove_node_opts o;
  const char *allow[2];
  tr_child_opts(c, &o, allow);
  o.window = (size_t)tr_arg_double(c, "window", 0);
  int rc = grove_node_start(c->name, c->endpoint, &o);
  if (rc) {
    fprintf(stderr, "child: grove_node_start(%s): %s\n", c->endpoint, grove_err_name(rc));
    return 2;
  }
  fc_delay = tr_arg_double(c, "delay", 1) / 1000;
  fc_gate = grove_event_new();
  fc_bl_gate = grove_event_new();
  fc_spawn(&slow_class, "slow", (size_t)tr_arg_double(c, "inbox", 64), &fc_slow);
  fc_spawn(&sink_class, "sink", 0, NULL);
  fc_spawn(&fecho_class, "echo", 0, NULL);
  tr_ctl_hook = fc_ctl;
  tr_child_serve(c);
  fc_tick_stop();
  if (fc_hog_g) {
    grove_join(fc_hog_g, 30.0);
    grove_greenlet_release(fc_hog_g);
  }
  grove_event_set(fc_gate);
  grove_event_set(fc_bl_gate);
  for (int i = 0; i < tr_ntracked; i++)
    tr_end_actor(tr_tracked[i]);
  grove_event_free(fc_gate);
  grove_event_free(fc_bl_gate);
  return tr_child_finish();
}

#endif
