/* bench/bench_hubs.c - several hubs in one process (grove/hubs.h).
 *
 *   cross_hub_pingpong  M msgs/s between two actors on two hubs
 *   cross_hub_call      ns per grove_call round trip to an actor on another hub
 *   parallel_pingpong   total M msgs/s with one ping-pong pair per hub, all
 *                       hubs at once; also parallel_pingpong_ratio, its ratio
 *                       to the same pairs' work on one hub
 *   hubs_idle_cpu       % of a CPU used by an idle 2-hub process over 2 s
 */
#include "bench.h"

#include <grove.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/resource.h>

extern int bench_hubs_quick;
int bench_hubs_quick;

static void hfail(const char *name, const char *why) {
  fprintf(stderr, "grove-bench: %s: %s\n", name, why);
  exit(1);
}

/* ---- ping-pong pairs ---------------------------------------------------------------- */

typedef struct hpp {
  grove_actor base;
  grove_ref peer;
  long left;
  _Atomic double *end;
} hpp;

static int hpp_receive(grove_actor *self, grove_msg *msg) {
  hpp *a = (hpp *)self;
  if (grove_msg_is(msg, "peer")) {
    int64_t left = 0, end = 0;
    grove_msg_ref(msg, 0, &a->peer);
    grove_msg_int(msg, 1, &left);
    grove_msg_int(msg, 2, &end);
    a->left = (long)left;
    a->end = (_Atomic double *)(intptr_t)end;
    return 0;
  }
  if (a->left-- <= 0) {
    if (a->end)
      *a->end = now_s();
    grove_actor_exit(a->peer, GROVE_EXIT_SHUTDOWN);
    return GROVE_STOP;
  }
  grove_send(a->peer, grove_msg_new("ball"));
  return 0;
}

static const grove_actor_class hpp_class = {
    .name = "hpp", .size = sizeof(hpp), .receive = hpp_receive};

static void peer_msg(grove_ref to, grove_ref peer, long left, _Atomic double *end) {
  grove_msg *m = grove_msg_new("peer");
  grove_msg_pack_ref(m, peer);
  grove_msg_pack_int(m, left);
  grove_msg_pack_int(m, (int64_t)(intptr_t)end);
  grove_send(to, m);
}

/* Wait (from hub 0) for an actor of any hub to end, through a monitor held
 * by a tiny watcher actor: grove_actor_wait is for actors of this hub. */
typedef struct waiter {
  grove_actor base;
  _Atomic int *downs;
} waiter;
static int waiter_receive(grove_actor *self, grove_msg *msg) {
  waiter *w = (waiter *)self;
  if (grove_msg_is(msg, "watch")) {
    grove_ref r;
    grove_msg_ref(msg, 0, &r);
    grove_monitor(r, NULL);
  } else if (grove_msg_is(msg, GROVE_TAG_DOWN)) {
    (*w->downs)++;
  } else if (grove_msg_is(msg, "stop")) {
    return GROVE_STOP;
  }
  return 0;
}
static int waiter_init(grove_actor *self, void *arg) {
  ((waiter *)self)->downs = arg;
  return 0;
}
static const grove_actor_class waiter_class = {
    .name = "waiter", .size = sizeof(waiter), .init = waiter_init, .receive = waiter_receive};

/* Run `pairs` ping-pong pairs, pair i's actors on hubs ha[i] and hb[i],
 * n messages per pair; returns the wall time until the last pair ends. */
static double run_pairs(const char *name, size_t pairs, const size_t *ha, const size_t *hb,
                        long n) {
  _Atomic int downs = 0;
  grove_ref w = grove_actor_spawn(&waiter_class, (void *)&downs);
  grove_ref *a = calloc(pairs, sizeof *a), *b = calloc(pairs, sizeof *b);
  _Atomic double *ends = calloc(pairs, sizeof *ends);
  for (size_t i = 0; i < pairs; i++) {
    if (grove_actor_spawn_on(ha[i], &hpp_class, NULL, NULL, &a[i]) ||
        grove_actor_spawn_on(hb[i], &hpp_class, NULL, NULL, &b[i]))
      hfail(name, "spawn_on failed");
    peer_msg(a[i], b[i], n / 2, &ends[i]);
    peer_msg(b[i], a[i], n, NULL);
    grove_msg *m = grove_msg_new("watch");
    grove_msg_pack_ref(m, a[i]);
    grove_send(w, m);
  }
  grove_sleep(0.01);
  double t0 = now_s();
  for (size_t i = 0; i < pairs; i++)
    grove_send(a[i], grove_msg_new("ball"));
  for (int i = 0; i < 60000 && downs < (int)pairs; i++)
    grove_sleep(0.001);
  if (downs < (int)pairs)
    hfail(name, "did not finish");
  double last = 0;
  for (size_t i = 0; i < pairs; i++)
    if (ends[i] > last)
      last = ends[i];
  grove_send(w, grove_msg_new("stop"));
  grove_actor_wait(w, NULL, 10);
  grove_sleep(0.01); /* the peers' shutdowns */
  free(a);
  free(b);
  free(ends);
  return last - t0;
}

static void start_hubs(const char *name, size_t n) {
  if (grove_hubs_start(n) != 0)
    hfail(name, "grove_hubs_start failed");
}

static void stop_hubs(const char *name) {
  if (grove_hubs_stop(1.0) != 0)
    hfail(name, "grove_hubs_stop failed");
}

void bench_cross_hub_pingpong(void) {
  long n = bench_hubs_quick ? 200000 : 2000000;
  start_hubs("cross_hub_pingpong", 2);
  size_t ha = 0, hb = 1;
  double best = 0;
  for (int rep = 0; rep < 3; rep++) {
    double rate = (double)n / run_pairs("cross_hub_pingpong", 1, &ha, &hb, n);
    if (rate > best)
      best = rate;
  }
  stop_hubs("cross_hub_pingpong");
  report("cross_hub_pingpong", best / 1e6, "M msgs/s");
}

void bench_parallel_pingpong(void) {
  long n = bench_hubs_quick ? 200000 : 2000000;
  size_t hubs = 2;
  size_t ha[64], hb[64];
  /* One hub: the pairs take turns on it. */
  for (size_t i = 0; i < hubs; i++)
    ha[i] = hb[i] = 0;
  double one = 0;
  for (int rep = 0; rep < 3; rep++) {
    double r = (double)(n * (long)hubs) / run_pairs("parallel_pingpong", hubs, ha, hb, n);
    if (r > one)
      one = r;
  }
  start_hubs("parallel_pingpong", hubs);
  for (size_t i = 0; i < hubs; i++)
    ha[i] = hb[i] = i;
  double all = 0;
  for (int rep = 0; rep < 3; rep++) {
    double r = (double)(n * (long)hubs) / run_pairs("parallel_pingpong", hubs, ha, hb, n);
    if (r > all)
      all = r;
  }
  stop_hubs("parallel_pingpong");
  report("parallel_pingpong", all / 1e6, "M msgs/s");
  report("parallel_pingpong_ratio", all / one, "x");
}

/* ---- call ---------------------------------------------------------------------------- */

typedef struct hecho {
  grove_actor base;
} hecho;
static int hecho_receive(grove_actor *self, grove_msg *msg) {
  (void)self;
  if (grove_msg_is_call(msg))
    grove_reply(msg, grove_msg_new("echo"));
  return 0;
}
static const grove_actor_class hecho_class = {
    .name = "hecho", .size = sizeof(hecho), .receive = hecho_receive};

void bench_cross_hub_call(void) {
  long n = bench_hubs_quick ? 100000 : 1000000;
  start_hubs("cross_hub_call", 2);
  grove_ref e;
  if (grove_actor_spawn_on(1, &hecho_class, NULL, NULL, &e) != 0)
    hfail("cross_hub_call", "spawn_on failed");
  double best = 1e9;
  for (int rep = 0; rep < 3; rep++) {
    double t0 = now_s();
    for (long i = 0; i < n; i++) {
      grove_msg *r;
      if (grove_call(e, grove_msg_new("ping"), &r, GROVE_FOREVER) != 0)
        hfail("cross_hub_call", "call failed");
      grove_msg_free(r);
    }
    double ns = (now_s() - t0) * 1e9 / (double)n;
    if (ns < best)
      best = ns;
  }
  stop_hubs("cross_hub_call");
  report("cross_hub_call", best, "ns");
}

/* ---- idle ------------------------------------------------------------------------------- */

static double cpu_s(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
         (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

void bench_hubs_idle_cpu(void) {
  start_hubs("hubs_idle_cpu", 2);
  /* An actor on each hub, idle; a little traffic first, so the hubs have
   * spun at their longest before they go idle. */
  grove_ref e;
  if (grove_actor_spawn_on(1, &hecho_class, NULL, NULL, &e) != 0)
    hfail("hubs_idle_cpu", "spawn_on failed");
  for (int i = 0; i < 1000; i++) {
    grove_msg *r;
    grove_call(e, grove_msg_new("ping"), &r, GROVE_FOREVER);
    grove_msg_free(r);
  }
  double secs = bench_hubs_quick ? 1.0 : 2.0;
  double c0 = cpu_s(), t0 = now_s();
  grove_sleep(secs);
  double pct = (cpu_s() - c0) / (now_s() - t0) * 100.0;
  stop_hubs("hubs_idle_cpu");
  report("hubs_idle_cpu", pct, "%");
}
