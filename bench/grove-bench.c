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
 */
#include "internal.h"

#include <grove.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int quick;

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long rss_bytes(void) {
  FILE *f = fopen("/proc/self/statm", "r");
  long pages = 0, res = 0;
  if (f) {
    if (fscanf(f, "%ld %ld", &pages, &res) != 2)
      res = 0;
    fclose(f);
  }
  return res * sysconf(_SC_PAGESIZE);
}

static void report(const char *name, double value, const char *unit) {
  printf("%s %.*f %s\n", name, value >= 100 ? 0 : 2, value, unit);
  fflush(stdout);
}

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
  long rss0 = rss_bytes();
  double t0 = now_s();
  for (long i = 0; i < n; i++) {
    gs[i] = grove_spawn(g1m_wait, NULL);
    grove_greenlet_release(gs[i]); /* they keep themselves alive */
  }
  grove_sleep(0); /* every one of them runs up to its wait */
  double dt = now_s() - t0;
  long rss1 = rss_bytes();
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

/* ------------------------------------------------------------------------------------------- */

static const struct {
  const char *name;
  void (*fn)(void);
} benches[] = {
    {"switch", bench_switch},
    {"yield", bench_yield},
    {"spawn_join", bench_spawn_join},
    {"queue_pingpong", bench_queue_pingpong},
    {"greenlets_1m", bench_greenlets_1m},
};

int main(int argc, char **argv) {
  int ran = 0, any = 0;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--quick") == 0)
      quick = 1;
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
