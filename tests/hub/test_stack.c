/* tests/hub/test_stack.c - stacks: many idle greenlets, deep recursion on
 * dedicated stacks, and locals that survive switches on shared stacks. */
#include "test.h"

#include <stdint.h>

static grove_event *ev;
static long woke;

static void *wait_and_count(void *arg) {
  if (grove_event_wait(ev, GROVE_FOREVER) == 0)
    woke++;
  return arg;
}

/* 100k greenlets blocked on one event, then all woken (gevent handles this
 * with a few hundred bytes per greenlet; so must grove). */
static void test_100k_blocked_on_one_event(void) {
  enum { N = 100000 };
  ev = grove_event_new();
  woke = 0;
  grove_greenlet **g = calloc(N, sizeof *g);
  CHECK(g != NULL);
  double t0 = test_now();
  int spawned = 0;
  for (int i = 0; i < N; i++) {
    g[i] = grove_spawn(wait_and_count, IARG(i));
    if (g[i])
      spawned++;
  }
  CHECK_EQ(spawned, N);
  CHECK_EQ(grove_sleep(0), 0); /* every one of them runs up to its wait */
  CHECK_EQ(grove_hub_greenlet_count(), N);
  CHECK_EQ(woke, 0);
  grove_event_set(ev);
  CHECK_EQ(grove_joinall(g, N, 30.0), 0);
  CHECK_EQ(woke, N);
  int bad = 0;
  for (int i = 0; i < N; i++) {
    if (!g[i] || !grove_successful(g[i]) || IVAL(grove_value(g[i])) != i)
      bad++;
    grove_greenlet_release(g[i]);
  }
  CHECK_EQ(bad, 0);
  free(g);
  fprintf(stderr, "100k greenlets: %.2f s\n", test_now() - t0);
  CHECK_EQ(grove_event_free(ev), 0);
}

/* Each frame holds a buffer the compiler cannot drop. */
static long recurse(int depth, int yield_every) {
  volatile char buf[256];
  for (size_t i = 0; i < sizeof buf; i++)
    buf[i] = (char)(depth + i);
  long sum = 0;
  if (yield_every && depth % yield_every == 0)
    grove_sleep(0);
  if (depth > 0)
    sum = recurse(depth - 1, yield_every);
  for (size_t i = 0; i < sizeof buf; i++)
    if (buf[i] != (char)(depth + i))
      return -1000000;
  if (sum < 0)
    return sum;
  return sum + depth;
}

static void *deep(void *arg) { return (void *)(intptr_t)recurse(IVAL(arg), 0); }

static long expected_sum(int depth) { return (long)depth * (depth + 1) / 2; }

static void test_deep_recursion_dedicated(void) {
  /* ~20000 frames of > 256 bytes: well over 5 MB of stack. */
  enum { DEPTH = 20000 };
  grove_spawn_opts opts = {.name = "deep", .stack = GROVE_STACK_DEDICATED, .stack_size = 16u << 20};
  grove_greenlet *g = grove_spawn_ex(deep, IARG(DEPTH), &opts);
  CHECK(g != NULL);
  void *v = NULL;
  CHECK_EQ(grove_get(g, &v, 10.0), 0);
  CHECK_EQ((long)(intptr_t)v, expected_sum(DEPTH));
  grove_greenlet_release(g);
}

static void *deep_yielding(void *arg) { return (void *)(intptr_t)recurse(IVAL(arg), 100); }

static int ticks;
static void *ticker(void *arg) {
  for (int i = 0; i < 50; i++) {
    ticks++;
    grove_sleep(0);
  }
  return NULL;
}

static void test_deep_recursion_yields_while_deep(void) {
  /* Two dedicated greenlets recurse deeply and yield at many depths while
   * shared-stack greenlets run in between. */
  enum { DEPTH = 5000 };
  ticks = 0;
  grove_spawn_opts opts = {.stack = GROVE_STACK_DEDICATED, .stack_size = 8u << 20};
  grove_greenlet *g[4];
  g[0] = grove_spawn_ex(deep_yielding, IARG(DEPTH), &opts);
  g[1] = grove_spawn(ticker, NULL);
  g[2] = grove_spawn_ex(deep_yielding, IARG(DEPTH - 1), &opts);
  g[3] = grove_spawn(ticker, NULL);
  CHECK_EQ(grove_joinall(g, 4, 10.0), 0);
  CHECK_EQ((long)(intptr_t)grove_value(g[0]), expected_sum(DEPTH));
  CHECK_EQ((long)(intptr_t)grove_value(g[2]), expected_sum(DEPTH - 1));
  CHECK_EQ(ticks, 100);
  for (int i = 0; i < 4; i++)
    grove_greenlet_release(g[i]);
}

/* ---- locals on shared stacks ------------------------------------------------ */

enum { NPAT = 1024 };
static int pattern_errors;

static uint32_t pat(int id, int i, int round) {
  return (uint32_t)id * 2654435761u ^ (uint32_t)i * 40503u ^ (uint32_t)round;
}

static int check_pattern(const volatile uint32_t *a, int id, int round) {
  for (int i = 0; i < NPAT; i++)
    if (a[i] != pat(id, i, round))
      return 1;
  return 0;
}

/* A few extra frames of varying size so that greenlets use different amounts
 * of the shared stack; yields at the bottom. */
static void nested_yield(int id, int depth, int round) {
  volatile uint32_t local[64];
  for (int i = 0; i < 64; i++)
    local[i] = (uint32_t)(id * 7 + depth * 13 + round + i);
  if (depth > 0) {
    nested_yield(id, depth - 1, round);
  } else if (round % 7 == 3) {
    grove_sleep(0.001 * (id % 3)); /* timers reorder the greenlets */
  } else {
    grove_sleep(0);
  }
  for (int i = 0; i < 64; i++)
    if (local[i] != (uint32_t)(id * 7 + depth * 13 + round + i))
      pattern_errors++;
}

static void *pattern_keeper(void *arg) {
  int id = IVAL(arg);
  volatile uint32_t a[NPAT];
  double d = id * 0.5; /* a floating-point local too */
  for (int round = 0; round < 200; round++) {
    for (int i = 0; i < NPAT; i++)
      a[i] = pat(id, i, round);
    nested_yield(id, id % 9, round);
    pattern_errors += check_pattern(a, id, round);
    if (d != id * 0.5)
      pattern_errors++;
    d = id * 0.5;
  }
  return arg;
}

static void test_shared_stack_locals_survive_switches(void) {
  enum { N = 64 };
  pattern_errors = 0;
  grove_greenlet *g[N];
  for (int i = 0; i < N; i++)
    g[i] = grove_spawn(pattern_keeper, IARG(i + 1));
  CHECK_EQ(grove_joinall(g, N, 20.0), 0);
  CHECK_EQ(pattern_errors, 0);
  for (int i = 0; i < N; i++) {
    CHECK(grove_successful(g[i]));
    CHECK_EQ(IVAL(grove_value(g[i])), i + 1);
    grove_greenlet_release(g[i]);
  }
}

static void test_mixed_shared_and_dedicated(void) {
  enum { N = 24 };
  pattern_errors = 0;
  grove_greenlet *g[N];
  grove_spawn_opts ded = {.stack = GROVE_STACK_DEDICATED, .stack_size = 0};
  for (int i = 0; i < N; i++)
    g[i] = i % 3 == 0 ? grove_spawn_ex(pattern_keeper, IARG(i + 1), &ded)
                      : grove_spawn(pattern_keeper, IARG(i + 1));
  CHECK_EQ(grove_joinall(g, N, 20.0), 0);
  CHECK_EQ(pattern_errors, 0);
  for (int i = 0; i < N; i++)
    grove_greenlet_release(g[i]);
}

/* Out-parameters on a shared stack: the library writes a getter's result into
 * its local while that greenlet is switched out. */
static grove_queue *q;
static grove_async_result *res;

static void *queue_getter(void *arg) {
  volatile uint32_t guard_before[32];
  void *item = NULL;
  volatile uint32_t guard_after[32];
  for (int i = 0; i < 32; i++)
    guard_before[i] = guard_after[i] = (uint32_t)(IVAL(arg) * 31 + i);
  int rc = grove_queue_get(q, &item, 5.0);
  void *rv = NULL;
  int rc2 = grove_async_result_get(res, &rv, 5.0);
  for (int i = 0; i < 32; i++)
    if (guard_before[i] != (uint32_t)(IVAL(arg) * 31 + i) ||
        guard_after[i] != (uint32_t)(IVAL(arg) * 31 + i))
      pattern_errors++;
  if (rc != 0 || IVAL(item) != IVAL(arg) * 10 || rc2 != 0 || IVAL(rv) != 99)
    pattern_errors++;
  return NULL;
}

static void test_out_params_on_shared_stacks(void) {
  enum { N = 32 };
  pattern_errors = 0;
  q = grove_queue_new(0);
  res = grove_async_result_new();
  grove_greenlet *g[N];
  for (int i = 0; i < N; i++)
    g[i] = grove_spawn(queue_getter, IARG(i + 1));
  CHECK_EQ(grove_sleep(0), 0);
  for (int i = 0; i < N; i++)
    CHECK_EQ(grove_queue_put(q, IARG((i + 1) * 10), 0), 0);
  CHECK_EQ(grove_sleep(0), 0);
  grove_async_result_set(res, IARG(99));
  CHECK_EQ(grove_joinall(g, N, 5.0), 0);
  CHECK_EQ(pattern_errors, 0);
  for (int i = 0; i < N; i++)
    grove_greenlet_release(g[i]);
  CHECK_EQ(grove_queue_free(q), 0);
  CHECK_EQ(grove_async_result_free(res), 0);
}

/* A dedicated greenlet's locals may be shared with other greenlets (the
 * header allows it). */
static void *writer(void *arg) {
  void *item = NULL;
  if (grove_queue_get(q, &item, 5.0) != 0)
    return IARG(-1);
  int *p = item;
  for (int i = 0; i < 16; i++)
    p[i] = i * i;
  return NULL;
}

static void *dedicated_owner(void *arg) {
  int shared[16] = {0};
  grove_greenlet *w = grove_spawn(writer, NULL);
  if (grove_queue_put(q, shared, 0) != 0)
    return IARG(-1);
  grove_join(w, 5.0);
  grove_greenlet_release(w);
  int bad = 0;
  for (int i = 0; i < 16; i++)
    if (shared[i] != i * i)
      bad++;
  return IARG(bad);
}

static void test_dedicated_locals_shareable(void) {
  q = grove_queue_new(0);
  grove_spawn_opts ded = {.stack = GROVE_STACK_DEDICATED};
  grove_greenlet *g = grove_spawn_ex(dedicated_owner, NULL, &ded);
  void *v = IARG(-2);
  CHECK_EQ(grove_get(g, &v, 5.0), 0);
  CHECK_EQ(IVAL(v), 0);
  grove_greenlet_release(g);
  CHECK_EQ(grove_queue_free(q), 0);
}

static void *tiny(void *arg) { return arg; }

static void test_stack_reuse_many_sequential(void) {
  /* Stacks are pooled and reused: 20000 short greenlets in waves. */
  enum { WAVE = 1000, WAVES = 20 };
  grove_greenlet *g[WAVE];
  grove_spawn_opts ded = {.stack = GROVE_STACK_DEDICATED, .stack_size = 64 * 1024};
  int bad = 0;
  for (int w = 0; w < WAVES; w++) {
    for (int i = 0; i < WAVE; i++)
      g[i] = (w % 4 == 3) ? grove_spawn_ex(tiny, IARG(i), &ded) : grove_spawn(tiny, IARG(i));
    CHECK_EQ(grove_joinall(g, WAVE, 10.0), 0);
    for (int i = 0; i < WAVE; i++) {
      if (!g[i] || IVAL(grove_value(g[i])) != i)
        bad++;
      grove_greenlet_release(g[i]);
    }
  }
  CHECK_EQ(bad, 0);
}

static void *spawner_with_locals(void *arg) {
  int depth = IVAL(arg);
  volatile uint32_t mine[256];
  for (int i = 0; i < 256; i++)
    mine[i] = (uint32_t)(depth * 1000 + i);
  grove_greenlet *c[2] = {NULL, NULL};
  if (depth > 0) {
    c[0] = grove_spawn(spawner_with_locals, IARG(depth - 1));
    c[1] = grove_spawn(spawner_with_locals, IARG(depth - 1));
    grove_joinall(c, 2, 10.0);
  } else {
    grove_sleep(0);
  }
  long total = 1;
  for (int k = 0; k < 2; k++)
    if (c[k]) {
      total += (long)(intptr_t)grove_value(c[k]);
      grove_greenlet_release(c[k]);
    }
  for (int i = 0; i < 256; i++)
    if (mine[i] != (uint32_t)(depth * 1000 + i))
      pattern_errors++;
  return (void *)(intptr_t)total;
}

static void test_tree_of_greenlets(void) {
  pattern_errors = 0;
  grove_greenlet *root = grove_spawn(spawner_with_locals, IARG(9));
  void *v = NULL;
  CHECK_EQ(grove_get(root, &v, 10.0), 0);
  CHECK_EQ((long)(intptr_t)v, 1023); /* 2^10 - 1 greenlets */
  CHECK_EQ(pattern_errors, 0);
  grove_greenlet_release(root);
}

TEST_MAIN(TEST(test_100k_blocked_on_one_event), TEST(test_deep_recursion_dedicated),
          TEST(test_deep_recursion_yields_while_deep),
          TEST(test_shared_stack_locals_survive_switches), TEST(test_mixed_shared_and_dedicated),
          TEST(test_out_params_on_shared_stacks), TEST(test_dedicated_locals_shareable),
          TEST(test_stack_reuse_many_sequential), TEST(test_tree_of_greenlets))
