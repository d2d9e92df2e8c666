/* bench/grove-bench.c - grove's benchmarks.
 *
 *   grove-bench [--quick] [NAME...]     (no NAME: run them all)
 *
 * Prints one line per figure: `NAME VALUE UNIT`. Each benchmark checks its own
 * result and exits non-zero if it is wrong. Timings are the best of a few
 * repetitions (the least disturbed by the rest of the machine).
 *
 *   switch          ns per raw context switch (grove__ctx_switch between two
 *                   contexts: the floor under everything else)
 *   yield           ns per grove_sleep(0) hand-off between two greenlets
 *                   (two switches, through the hub, plus run-queue work)
 *   spawn_join      ns per spawn + run + exit + join + release, 100k times
 *   queue_pingpong  messages/s between two greenlets over two queues
 *   greenlets_1m    1M greenlets blocked on one event: RSS bytes per greenlet
 *                   (greenlets_1m) and the time to spawn them and run each to
 *                   its wait (greenlets_1m_spawn)
 *   actor_pingpong  messages/s between two actors
 *   call_roundtrip  ns per grove_call + grove_reply to a local actor
 *   actors_1m_idle  RSS bytes per idle actor (1M actors, each has run init)
 *   skynet          1M actors in a 10-ary tree summing their ids: wall
 *                   seconds (skynet) and peak RSS (skynet_rss)
 *   skynet_hubs     the same over one hub per CPU (the root's ten subtrees
 *                   placed round-robin): seconds and peak RSS (run it alone
 *                   for its own peak: the RSS is the whole process's)
 *   pipeline        messages/s through 4 actor stages
 *   fairness_timer_lateness
 *                   ms, the worst lateness of a 10 ms periodic timer while an
 *                   actor works through a backlog of 2M messages (about a
 *                   microsecond of work each)
 *   cross_hub_*, parallel_pingpong, hubs_idle_cpu
 *                   several hubs in one process: see bench_hubs.c
 *   remote_*, tcp_* the transport and TCP, between two processes: see
 *                   bench_net.c
 *   http_*, ws_echo the HTTP server and WebSockets (a server process, wrk
 *                   and grove clients): see bench_web.c
 *
 * GROVE_BENCH_METRICS=1 runs every benchmark (and the second process of
 * the remote ones) with a Prometheus endpoint up and nobody scraping it
 * (grove_metrics_start on 127.0.0.1, a port picked): what metrics cost
 * when they are on (docs/observability.md, "Cost").
 */
#include "internal.h"
#include "bench.h"

#include <grove.h>
#include <stdio.h>
#include <sys/resource.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int quick;

static void fail(const char *name, const char *why) {
  fprintf(stderr, "grove-bench: %s: %s\n", name, why);
  exit(1);
}

/* ---- switch: the raw context switch -------------------------------------------- */

#if GROVE_CTX_ASM
/* Both contexts run the same loop, as two greenlets switching inside grove's
 * blocking path do (so the switch returns to the call site it was called
 * from, from the CPU's point of view). */
typedef struct {
  void *sp;
  void **other;
  long n;
  long count;
} sw_ctx;

static sw_ctx sw_a, sw_b;

__attribute__((noinline)) static void sw_loop(sw_ctx *self) {
  while (self->count < self->n) {
    self->count++;
    grove__ctx_switch(&self->sp, *self->other);
  }
}

static void sw_entry(void) {
  for (;;)
    sw_loop(&sw_b);
}
#endif

static void bench_switch(void) {
#if GROVE_CTX_ASM
  size_t size = 64 * 1024;
  char *stack = malloc(size);
  grove_greenlet dummy;
  memset(&dummy, 0, sizeof dummy);
  long n = quick ? 2000000 : 20000000;
  double best = 1e9;
  for (int rep = 0; rep < 5; rep++) {
    sw_a = (sw_ctx){NULL, &sw_b.sp, n, 0};
    sw_b = (sw_ctx){grove__ctx_init(&dummy, stack + size, sw_entry), &sw_a.sp, n + 1, 0};
    double t0 = now_s();
    sw_loop(&sw_a);
    double dt = now_s() - t0;
    if (sw_a.count != n || sw_b.count != n)
      fail("switch", "contexts did not alternate");
    double ns = dt * 1e9 / (2.0 * (double)n); /* two switches per round trip */
    if (ns < best)
      best = ns;
  }
  free(stack);
  report("switch", best, "ns");
#else
  report("switch", -1, "unsupported(ucontext)");
#endif
}

/* ---- yield ------------------------------------------------------------------------- */

static long yield_n;
static void *yielder(void *arg) {
  long *count = arg;
  for (long i = 0; i < yield_n; i++) {
    grove_sleep(0);
    (*count)++;
  }
  return NULL;
}

static void bench_yield(void) {
  yield_n = quick ? 200000 : 2000000;
  double best = 1e9;
  for (int rep = 0; rep < 3; rep++) {
    long c1 = 0, c2 = 0;
    grove_greenlet *g[2];
    double t0 = now_s();
    g[0] = grove_spawn(yielder, &c1);
    g[1] = grove_spawn(yielder, &c2);
    grove_joinall(g, 2, GROVE_FOREVER);
    double dt = now_s() - t0;
    grove_greenlet_release(g[0]);
    grove_greenlet_release(g[1]);
    if (c1 != yield_n || c2 != yield_n)
      fail("yield", "wrong count");
    double ns = dt * 1e9 / (2.0 * (double)yield_n);
    if (ns < best)
      best = ns;
  }
  report("yield", best, "ns");
}

/* ---- spawn_join ---------------------------------------------------------------------- */

static void *ident(void *arg) { return arg; }

static void bench_spawn_join(void) {
  long n = quick ? 20000 : 100000;
  double best = 1e9;
  for (int rep = 0; rep < 5; rep++) {
    long sum = 0;
    double t0 = now_s();
    for (long i = 0; i < n; i++) {
      grove_greenlet *g = grove_spawn(ident, (void *)i);
      void *v;
      if (grove_get(g, &v, GROVE_FOREVER) != 0)
        fail("spawn_join", "get failed");
      sum += (long)v;
      grove_greenlet_release(g);
    }
    double dt = now_s() - t0;
    if (sum != n * (n - 1) / 2)
      fail("spawn_join", "wrong sum");
    double ns = dt * 1e9 / (double)n;
    if (ns < best)
      best = ns;
  }
  report("spawn_join", best, "ns");
}

/* ---- queue_pingpong ---------------------------------------------------------------------- */

typedef struct {
  grove_queue *in, *out;
  long n;
} pp_arg;

static void *pinger(void *p) {
  pp_arg *a = p;
  void *item;
  for (long i = 0; i < a->n; i++) {
    grove_queue_put(a->out, (void *)(i + 1), GROVE_FOREVER);
    if (grove_queue_get(a->in, &item, GROVE_FOREVER) != 0 || (long)item != i + 1)
      fail("queue_pingpong", "wrong reply");
  }
  return NULL;
}

static void *ponger(void *p) {
  pp_arg *a = p;
  void *item;
  for (long i = 0; i < a->n; i++) {
    if (grove_queue_get(a->in, &item, GROVE_FOREVER) != 0)
      fail("queue_pingpong", "get failed");
    grove_queue_put(a->out, item, GROVE_FOREVER);
  }
  return NULL;
}

static void bench_queue_pingpong(void) {
  long n = quick ? 200000 : 2000000;
  double best = 0;
  for (int rep = 0; rep < 3; rep++) {
    grove_queue *q1 = grove_queue_new(0), *q2 = grove_queue_new(0);
    pp_arg a = {q2, q1, n}, b = {q1, q2, n};
    double t0 = now_s();
    grove_greenlet *g[2] = {grove_spawn(pinger, &a), grove_spawn(ponger, &b)};
    grove_joinall(g, 2, GROVE_FOREVER);
    double dt = now_s() - t0;
    grove_greenlet_release(g[0]);
    grove_greenlet_release(g[1]);
    grove_queue_free(q1);
    grove_queue_free(q2);
    double rate = 2.0 * (double)n / dt; /* messages: n pings + n pongs */
    if (rate > best)
      best = rate;
  }
  report("queue_pingpong", best / 1e6, "M msgs/s");
}

/* ---- greenlets_1m -------------------------------------------------------------------------- */

static grove_event *g1m_event;
static long g1m_woken;

static void *g1m_wait(void *arg) {
  (void)arg;
  if (grove_event_wait(g1m_event, GROVE_FOREVER) == 0)
    g1m_woken++;
  return NULL;
}

static void bench_greenlets_1m(void) {
  long n = quick ? 100000 : 1000000;
  grove_greenlet **gs = malloc((size_t)n * sizeof *gs);
  g1m_event = grove_event_new();
  g1m_woken = 0;
  grove_sleep(0); /* the hub and its stacks exist before we measure */
  long rss0 = proc_rss(0);
  double t0 = now_s();
  for (long i = 0; i < n; i++) {
    gs[i] = grove_spawn(g1m_wait, NULL);
    grove_greenlet_release(gs[i]); /* they keep themselves alive */
  }
  grove_sleep(0); /* every one of them runs up to its wait */
  double dt = now_s() - t0;
  long rss1 = proc_rss(0);
  if ((long)grove_hub_greenlet_count() != n)
    fail("greenlets_1m", "not every greenlet is alive");
  grove_event_set(g1m_event);
  while (grove_hub_greenlet_count() > 0)
    grove_sleep(0.001);
  if (g1m_woken != n)
    fail("greenlets_1m", "not every greenlet was woken");
  grove_event_free(g1m_event);
  free(gs);
  /* the array of pointers is not part of what a greenlet costs */
  double per = (double)(rss1 - rss0) / (double)n;
  report("greenlets_1m", per, "B/greenlet");
  report("greenlets_1m_spawn", dt, "s");
}

/* ---- actors --------------------------------------------------------------------------------- */

typedef struct {
  grove_actor base;
  grove_ref peer;
  long left;
} pp_actor;

static double pp_end;

static int pp_receive(grove_actor *self, grove_msg *msg) {
  pp_actor *a = (pp_actor *)self;
  if (grove_msg_is(msg, "peer")) {
    int64_t left = 0;
    grove_msg_ref(msg, 0, &a->peer);
    grove_msg_int(msg, 1, &left);
    a->left = (long)left;
    return 0;
  }
  if (a->left-- <= 0) {
    pp_end = now_s();
    grove_actor_exit(a->peer, GROVE_EXIT_SHUTDOWN);
    return GROVE_STOP;
  }
  grove_send(a->peer, grove_msg_new("ball"));
  return 0;
}

static const grove_actor_class pp_class = {
    .name = "pp", .size = sizeof(pp_actor), .receive = pp_receive};

static void bench_actor_pingpong(void) {
  long n = quick ? 200000 : 2000000;
  double best = 0;
  for (int rep = 0; rep < 3; rep++) {
    grove_ref a = grove_actor_spawn(&pp_class, NULL), b = grove_actor_spawn(&pp_class, NULL);
    /* a stops after n/2 balls: n messages travel in all */
    grove_msg *m = grove_msg_new("peer");
    grove_msg_pack_ref(m, b);
    grove_msg_pack_int(m, n / 2);
    grove_send(a, m);
    m = grove_msg_new("peer");
    grove_msg_pack_ref(m, a);
    grove_msg_pack_int(m, n);
    grove_send(b, m);
    grove_sleep(0);
    double t0 = now_s();
    grove_send(a, grove_msg_new("ball"));
    int ra, rb;
    if (grove_actor_wait(a, &ra, 60) != 0 && grove_actor_alive(a))
      fail("actor_pingpong", "did not finish");
    grove_actor_wait(b, &rb, 60);
    double dt = pp_end - t0;
    (void)ra;
    (void)rb;
    double rate = (double)n / dt;
    if (rate > best)
      best = rate;
  }
  report("actor_pingpong", best / 1e6, "M msgs/s");
}

typedef struct {
  grove_actor base;
} echo_actor;

static int echo_receive(grove_actor *self, grove_msg *msg) {
  (void)self;
  if (grove_msg_is_call(msg))
    grove_reply(msg, grove_msg_new("echo"));
  else if (grove_msg_is(msg, "stop"))
    return GROVE_STOP;
  return 0;
}

static const grove_actor_class echo_class = {
    .name = "echo", .size = sizeof(echo_actor), .receive = echo_receive};

static void bench_call_roundtrip(void) {
  long n = quick ? 100000 : 1000000;
  double best = 1e9;
  grove_ref e = grove_actor_spawn(&echo_class, NULL);
  for (int rep = 0; rep < 3; rep++) {
    double t0 = now_s();
    for (long i = 0; i < n; i++) {
      grove_msg *r;
      if (grove_call(e, grove_msg_new("ping"), &r, GROVE_FOREVER) != 0)
        fail("call_roundtrip", "call failed");
      grove_msg_free(r);
    }
    double ns = (now_s() - t0) * 1e9 / (double)n;
    if (ns < best)
      best = ns;
  }
  grove_send(e, grove_msg_new("stop"));
  grove_actor_wait(e, NULL, 10);
  report("call_roundtrip", best, "ns");
}

static long idle_ended;
static void idle_terminate(grove_actor *self, int reason) {
  (void)self;
  (void)reason;
  idle_ended++;
}
static int idle_init(grove_actor *self, void *arg) {
  (void)self;
  (void)arg;
  return 0;
}
static const grove_actor_class idle_class = {.name = "idle",
                                             .size = sizeof(grove_actor),
                                             .init = idle_init,
                                             .receive = echo_receive,
                                             .terminate = idle_terminate};

static void bench_actors_1m_idle(void) {
  long n = quick ? 100000 : 1000000;
  grove_ref *refs = malloc((size_t)n * sizeof *refs);
  grove_sleep(0);
  long rss0 = proc_rss(0);
  for (long i = 0; i < n; i++)
    refs[i] = grove_actor_spawn(&idle_class, NULL);
  grove_sleep(0); /* every one runs its init, then is idle */
  long rss1 = proc_rss(0);
  idle_ended = 0;
  for (long i = 0; i < n; i++)
    grove_send(refs[i], grove_msg_new("stop"));
  while (idle_ended < n)
    grove_sleep(0.001);
  /* the refs array (16 B/actor) is the benchmark's, not the actors' */
  double per = (double)(rss1 - rss0 - (long)((size_t)n * sizeof *refs)) / (double)n;
  free(refs);
  report("actors_1m_idle", per, "B/actor");
}

/* skynet: each actor gets (num, size); a leaf replies num to its parent,
 * an inner node spawns 10 children and replies the sum of their answers. */
typedef struct {
  grove_actor base;
  grove_ref parent;
  int64_t sum;
  int pending;
} sky_actor;

static int64_t skynet_result;
static int skynet_done;

static int sky_receive(grove_actor *self, grove_msg *msg) {
  sky_actor *a = (sky_actor *)self;
  if (grove_msg_is(msg, "job")) {
    int64_t num, size;
    grove_msg_ref(msg, 0, &a->parent);
    grove_msg_int(msg, 1, &num);
    grove_msg_int(msg, 2, &size);
    if (size == 1) {
      grove_msg *r = grove_msg_new("sum");
      grove_msg_pack_int(r, num);
      grove_send(a->parent, r);
      return GROVE_STOP;
    }
    int64_t step = size / 10;
    a->pending = 10;
    /* skynet_hubs: the root spreads its ten subtrees over the hubs */
    size_t hubs = grove_ref_is_null(a->parent) ? grove_hub_count() : 1;
    for (int i = 0; i < 10; i++) {
      grove_ref c = GROVE_REF_NULL;
      if (hubs > 1)
        grove_actor_spawn_on((size_t)i % hubs, self->_cls, NULL, NULL, &c);
      else
        c = grove_actor_spawn(self->_cls, NULL);
      grove_msg *j = grove_msg_new("job");
      grove_msg_pack_ref(j, grove_actor_ref(self));
      grove_msg_pack_int(j, num + i * step);
      grove_msg_pack_int(j, step);
      grove_send(c, j);
    }
    return 0;
  }
  int64_t v = 0;
  grove_msg_int(msg, 0, &v);
  a->sum += v;
  if (--a->pending > 0)
    return 0;
  if (grove_ref_is_null(a->parent)) {
    skynet_result = a->sum;
    skynet_done = 1;
  } else {
    grove_msg *r = grove_msg_new("sum");
    grove_msg_pack_int(r, a->sum);
    grove_send(a->parent, r);
  }
  return GROVE_STOP;
}

static const grove_actor_class sky_class = {
    .name = "skynet", .size = sizeof(sky_actor), .receive = sky_receive};

static void skynet_run(const char *name) {
  int64_t size = quick ? 100000 : 1000000;
  double best = 1e9;
  for (int rep = 0; rep < 3; rep++) {
    skynet_done = 0;
    double t0 = now_s();
    grove_ref root = grove_actor_spawn(&sky_class, NULL);
    grove_msg *j = grove_msg_new("job");
    grove_msg_pack_ref(j, GROVE_REF_NULL);
    grove_msg_pack_int(j, 0);
    grove_msg_pack_int(j, size);
    grove_send(root, j);
    while (!skynet_done)
      grove_sleep(0.0005);
    double dt = now_s() - t0;
    if (skynet_result != size * (size - 1) / 2)
      fail(name, "wrong sum");
    grove_sleep(0.001); /* the root's end */
    if (dt < best)
      best = dt;
  }
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  char rss[64];
  snprintf(rss, sizeof rss, "%s_rss", name);
  report(name, best, "s");
  report(rss, (double)ru.ru_maxrss / 1024.0, "MiB(peak, whole process)");
}

static void bench_skynet(void) { skynet_run("skynet"); }

/* skynet over every hub (one per CPU): the root places its ten subtrees
 * round-robin on the hubs, each grows locally; the sums come back across.
 * Compare with skynet (one hub). The peak RSS is the whole process's, and
 * counts an earlier skynet in the same run. */
static void bench_skynet_hubs(void) {
  if (grove_hubs_start(0) != 0)
    fail("skynet_hubs", "grove_hubs_start");
  skynet_run("skynet_hubs");
  if (grove_hubs_stop(5) != 0)
    fail("skynet_hubs", "grove_hubs_stop");
}

/* pipeline: source (main) -> parse -> transform -> sink, 64-message inboxes. */
typedef struct {
  grove_actor base;
  grove_ref next;
  int64_t acc;
  long seen;
} stage_actor;

static long pipe_n;
static int64_t pipe_sum;
static int pipe_done;

static int stage_receive(grove_actor *self, grove_msg *msg) {
  stage_actor *a = (stage_actor *)self;
  int64_t v = 0;
  grove_msg_int(msg, 0, &v);
  if (grove_ref_is_null(a->next)) { /* sink */
    a->acc += v;
    if (++a->seen == pipe_n) {
      pipe_sum = a->acc;
      pipe_done = 1;
      return GROVE_STOP;
    }
    return 0;
  }
  grove_msg *out = grove_msg_new("v");
  grove_msg_pack_int(out, grove_msg_is(msg, "raw") ? v + 1 : v * 2);
  grove_send(a->next, out);
  if (++a->seen == pipe_n)
    return GROVE_STOP;
  return 0;
}

static int stage_init(grove_actor *self, void *arg) {
  grove_ref *next = arg;
  ((stage_actor *)self)->next = next ? *next : GROVE_REF_NULL;
  return 0;
}

static const grove_actor_class stage_class = {
    .name = "stage", .size = sizeof(stage_actor), .init = stage_init, .receive = stage_receive};

static void bench_pipeline(void) {
  pipe_n = quick ? 200000 : 2000000;
  double best = 0;
  for (int rep = 0; rep < 3; rep++) {
    static grove_ref sink, transform, parse; /* read by init: not on a greenlet stack */
    grove_actor_opts o = {.inbox_max = 64};
    pipe_done = 0;
    grove_actor_spawn_ex(&stage_class, NULL, &o, &sink);
    grove_actor_spawn_ex(&stage_class, &sink, &o, &transform);
    grove_actor_spawn_ex(&stage_class, &transform, &o, &parse);
    grove_sleep(0);
    double t0 = now_s();
    for (long i = 0; i < pipe_n; i++) {
      grove_msg *m = grove_msg_new("raw");
      grove_msg_pack_int(m, i);
      grove_send(parse, m);
    }
    while (!pipe_done)
      grove_sleep(0.0005);
    double dt = now_s() - t0;
    if (pipe_sum != (int64_t)pipe_n * (pipe_n + 1)) /* sum of 2*(i+1) */
      fail("pipeline", "wrong sum");
    grove_sleep(0.001);
    double rate = 3.0 * (double)pipe_n / dt; /* messages delivered between stages */
    if (rate > best)
      best = rate;
  }
  report("pipeline", best / 1e6, "M msgs/s");
}

/* ---- fairness_timer_lateness: a backlog does not hold the hub ------------------------------ */

typedef struct {
  grove_actor base;
  long left;
} busy_t;

static int busy_receive(grove_actor *self, grove_msg *m) {
  (void)m;
  for (volatile int i = 0; i < 400; i++) { /* about a microsecond of work */
  }
  return --((busy_t *)self)->left == 0 ? GROVE_STOP : 0;
}

static int busy_init(grove_actor *self, void *arg) {
  ((busy_t *)self)->left = (long)(intptr_t)arg;
  return 0;
}

static const grove_actor_class busy_class = {"busy", sizeof(busy_t), busy_init, busy_receive, NULL};

typedef struct {
  volatile int stop;
  double worst;
  long ticks;
} lateness_t;

static void *lateness_tick(void *arg) {
  lateness_t *t = arg;
  while (!t->stop) {
    double t0 = now_s();
    if (grove_sleep(0.01) != 0)
      break;
    double late = now_s() - t0 - 0.01;
    if (late > t->worst)
      t->worst = late;
    t->ticks++;
  }
  return NULL;
}

static void bench_fairness_timer_lateness(void) {
  long n = quick ? 500000 : 2000000;
  double best = 1e9;
  for (int rep = 0; rep < (quick ? 1 : 3); rep++) {
    grove_ref a = grove_actor_spawn(&busy_class, (void *)(intptr_t)n);
    if (grove_ref_is_null(a))
      fail("fairness_timer_lateness", "spawn");
    for (long i = 0; i < n; i++) /* queued before the actor first runs */
      if (grove_send(a, grove_msg_new("x")) != 0)
        fail("fairness_timer_lateness", "send");
    lateness_t t = {0};
    grove_greenlet *g = grove_spawn(lateness_tick, &t);
    if (grove_actor_wait(a, NULL, 120) != 0)
      fail("fairness_timer_lateness", "the actor did not finish");
    t.stop = 1;
    grove_join(g, 5);
    grove_greenlet_release(g);
    if (t.ticks < 5)
      fail("fairness_timer_lateness", "the timer hardly ran");
    if (t.worst < best)
      best = t.worst;
  }
  report("fairness_timer_lateness", best * 1e3, "ms");
}

/* ------------------------------------------------------------------------------------------- */

/* bench_net.c */
extern int bench_net_quick;
void bench_cross_hub_pingpong(void);
void bench_cross_hub_call(void);
void bench_parallel_pingpong(void);
void bench_hubs_idle_cpu(void);
extern int bench_hubs_quick;
void bench_remote_rtt_ipc(void);
void bench_remote_rtt_tcp(void);
void bench_remote_throughput_ipc(void);
void bench_remote_throughput_tcp(void);
void bench_remote_throughput_curve(void);
void bench_remote_flood_rss(void);
void bench_remote_flood_timer_lateness(void);
void bench_remote_flood_timer_lateness_256k(void);
void bench_tcp_echo(void);
void bench_tcp_connections(void);
int bench_net_child(int argc, char **argv);
/* bench_web.c */
void bench_http_hello(void);
void bench_http_hello_hubs(void);
void bench_http_hello_hubs1(void);
void bench_http_long_poll_conns(void);
void bench_ws_echo(void);
int bench_web_server_main(int port, int announce);

static const struct {
  const char *name;
  void (*fn)(void);
} benches[] = {
    {"switch", bench_switch},
    {"yield", bench_yield},
    {"spawn_join", bench_spawn_join},
    {"queue_pingpong", bench_queue_pingpong},
    {"greenlets_1m", bench_greenlets_1m},
    {"actor_pingpong", bench_actor_pingpong},
    {"call_roundtrip", bench_call_roundtrip},
    {"actors_1m_idle", bench_actors_1m_idle},
    {"skynet", bench_skynet},
    {"skynet_hubs", bench_skynet_hubs},
    {"pipeline", bench_pipeline},
    {"fairness_timer_lateness", bench_fairness_timer_lateness},
    {"cross_hub_pingpong", bench_cross_hub_pingpong},
    {"cross_hub_call", bench_cross_hub_call},
    {"parallel_pingpong", bench_parallel_pingpong},
    {"hubs_idle_cpu", bench_hubs_idle_cpu},
    {"remote_rtt_ipc", bench_remote_rtt_ipc},
    {"remote_rtt_tcp", bench_remote_rtt_tcp},
    {"remote_throughput_ipc", bench_remote_throughput_ipc},
    {"remote_throughput_tcp", bench_remote_throughput_tcp},
    {"remote_throughput_curve", bench_remote_throughput_curve},
    {"remote_flood_rss", bench_remote_flood_rss},
    {"remote_flood_timer_lateness", bench_remote_flood_timer_lateness},
    {"remote_flood_timer_lateness_256k", bench_remote_flood_timer_lateness_256k},
    {"tcp_echo", bench_tcp_echo},
    {"tcp_connections", bench_tcp_connections},
    {"http_hello", bench_http_hello},
    {"http_hello_hubs", bench_http_hello_hubs},
    {"http_hello_hubs1", bench_http_hello_hubs1},
    {"http_long_poll_conns", bench_http_long_poll_conns},
    {"ws_echo", bench_ws_echo},
};

int main(int argc, char **argv) {
  int ran = 0, any = 0;
  const char *with_metrics = getenv("GROVE_BENCH_METRICS");
  grove_metrics *metrics = NULL;
  if (with_metrics && strcmp(with_metrics, "1") == 0 &&
      grove_metrics_start("127.0.0.1", 0, &metrics) != 0)
    fail("GROVE_BENCH_METRICS", "cannot start the metrics endpoint");
  if (argc >= 4 && strcmp(argv[1], "--child") == 0 && strcmp(argv[2], "web") == 0)
    return bench_web_server_main(atoi(argv[3]), 1);
  if (argc >= 3 && strcmp(argv[1], "--child") == 0)
    return bench_net_child(argc, argv);
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--quick") == 0)
      quick = bench_net_quick = bench_hubs_quick = 1;
    else
      any = 1;
  }
  for (size_t b = 0; b < sizeof benches / sizeof benches[0]; b++) {
    int want = !any;
    for (int i = 1; i < argc; i++)
      if (strcmp(argv[i], benches[b].name) == 0)
        want = 1;
    if (want) {
      benches[b].fn();
      ran++;
    }
  }
  for (int i = 1; i < argc; i++) {
    int known = strcmp(argv[i], "--quick") == 0;
    for (size_t b = 0; b < sizeof benches / sizeof benches[0]; b++)
      known |= strcmp(argv[i], benches[b].name) == 0;
    if (!known) {
      fprintf(stderr, "grove-bench: unknown benchmark %s\n", argv[i]);
      return 2;
    }
  }
  return ran ? 0 : 2;
}
