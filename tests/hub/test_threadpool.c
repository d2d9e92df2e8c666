/* tests/hub/test_threadpool.c - grove_threadpool_apply (gevent's
 * ThreadPool.apply): work on libuv's thread pool while greenlets run. */
#include "test.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <unistd.h>

static int square(void *arg, void **result) {
  int n = IVAL(arg);
  *result = IARG(n * n);
  return 0;
}

static int fails(void *arg, void **result) {
  (void)arg;
  *result = IARG(99); /* ignored by the caller: fn failed */
  return GROVE_ENOENT;
}

static int sleep_ms(void *arg, void **result) {
  usleep((useconds_t)IVAL(arg) * 1000);
  *result = IARG(7);
  return 0;
}

static void test_result(void) {
  void *r = NULL;
  CHECK_EQ(grove_threadpool_apply(square, IARG(12), &r, GROVE_FOREVER), 0);
  CHECK_EQ(IVAL(r), 144);
  /* result may be NULL */
  CHECK_EQ(grove_threadpool_apply(square, IARG(3), NULL, 5.0), 0);
}

static void test_error(void) {
  void *r = IARG(1);
  CHECK_EQ(grove_threadpool_apply(fails, NULL, &r, GROVE_FOREVER), GROVE_ENOENT);
  CHECK_EQ(grove_threadpool_apply(NULL, NULL, &r, GROVE_FOREVER), GROVE_EINVAL);
  CHECK_EQ(grove_threadpool_apply(square, NULL, &r, NAN), GROVE_EINVAL);
  /* timeout 0 polls: the work cannot be done without waiting */
  CHECK_EQ(grove_threadpool_apply(square, IARG(2), &r, 0), GROVE_ETIMEDOUT);
  CHECK(r == NULL);
}

static int ticks;

static void *ticker(void *arg) {
  (void)arg;
  for (;;) {
    if (grove_sleep(0.01) != 0)
      return NULL;
    ticks++;
  }
}

/* The hub keeps running other greenlets while fn sleeps on a pool thread. */
static void test_others_run(void) {
  ticks = 0;
  grove_greenlet *t = grove_spawn(ticker, NULL);
  void *r = NULL;
  double t0 = test_now();
  CHECK_EQ(grove_threadpool_apply(sleep_ms, IARG(200), &r, 5.0), 0);
  double dt = test_now() - t0;
  CHECK_EQ(IVAL(r), 7);
  CHECK(dt >= 0.15 && dt < 3.0);
  CHECK(ticks >= 5);
  CHECK_EQ(grove_kill(t, 1.0), 0);
  grove_greenlet_release(t);
}

static atomic_int bg_done;

static int slow_then_flag(void *arg, void **result) {
  usleep((useconds_t)IVAL(arg) * 1000);
  *result = malloc(16); /* dropped by grove if nobody waits: fn's to manage */
  free(*result);
  *result = NULL;
  atomic_store(&bg_done, 1);
  return 0;
}

/* The caller times out; the work finishes in the background and its request
 * is freed without touching the greenlet that left. */
static void test_timeout_background(void) {
  atomic_store(&bg_done, 0);
  void *r = IARG(1);
  double t0 = test_now();
  CHECK_EQ(grove_threadpool_apply(slow_then_flag, IARG(150), &r, 0.03), GROVE_ETIMEDOUT);
  CHECK(test_now() - t0 < 1.0);
  CHECK(r == NULL);
  CHECK_EQ(atomic_load(&bg_done), 0);
  /* The pending request keeps the loop alive: sleep past its end, while
   * other short work still goes through the pool. */
  void *sq = NULL;
  CHECK_EQ(grove_threadpool_apply(square, IARG(5), &sq, 2.0), 0);
  CHECK_EQ(IVAL(sq), 25);
  for (int i = 0; i < 300 && !atomic_load(&bg_done); i++)
    grove_sleep(0.01);
  CHECK_EQ(atomic_load(&bg_done), 1);
  grove_sleep(0.02); /* let the hub run the after-work callback */
}

/* The hub closes cleanly even with abandoned work still on a pool thread:
 * grove_hub_close runs the loop until it is done. */
static void test_close_with_pending(void) {
  atomic_store(&bg_done, 0);
  CHECK_EQ(grove_threadpool_apply(slow_then_flag, IARG(100), NULL, 0.01), GROVE_ETIMEDOUT);
}

static int apply_rc;
static atomic_int gate; /* the gated work waits for it (2 s at most) */

static int gated(void *arg, void **result) {
  (void)arg;
  for (int i = 0; i < 2000 && !atomic_load(&gate); i++)
    usleep(1000);
  *result = IARG(5);
  atomic_store(&bg_done, 1);
  return 0;
}

static void *applier(void *arg) {
  void *r = NULL;
  apply_rc = grove_threadpool_apply(gated, arg, &r, GROVE_FOREVER);
  test_log("applier=%s", grove_err_name(apply_rc));
  CHECK(r == NULL);
  /* Killed: every later blocking call fails the same way. */
  CHECK_EQ(grove_threadpool_apply(square, IARG(2), &r, GROVE_FOREVER), GROVE_ECANCELED);
  return NULL;
}

/* Killing the waiting greenlet: GROVE_ECANCELED at once; the work goes on
 * and its result is dropped when it ends. */
static void test_kill(void) {
  atomic_store(&gate, 0);
  atomic_store(&bg_done, 0);
  grove_greenlet *g = grove_spawn(applier, NULL);
  CHECK_EQ(grove_sleep(0.02), 0);
  CHECK_EQ(grove_kill(g, 2.0), 0);
  CHECK_EQ(apply_rc, GROVE_ECANCELED);
  CHECK_LOG("applier=GROVE_ECANCELED");
  CHECK_EQ(atomic_load(&bg_done), 0);
  grove_greenlet_release(g);
  atomic_store(&gate, 1);
  for (int i = 0; i < 300 && !atomic_load(&bg_done); i++)
    grove_sleep(0.01);
  CHECK_EQ(atomic_load(&bg_done), 1);
}

/* Many at once: more requests than pool threads. */
static void *many_one(void *arg) {
  void *r = NULL;
  int rc = grove_threadpool_apply(square, arg, &r, 5.0);
  return rc == 0 ? r : IARG(-1);
}

static void test_many(void) {
  enum { N = 32 };
  grove_greenlet *g[N];
  for (int i = 0; i < N; i++)
    g[i] = grove_spawn(many_one, IARG(i));
  CHECK_EQ(grove_joinall(g, N, 5.0), 0);
  for (int i = 0; i < N; i++) {
    CHECK_EQ(IVAL(grove_value(g[i])), i * i);
    grove_greenlet_release(g[i]);
  }
}

/* A scoped deadline applies too. */
static void test_scoped_timeout(void) {
  grove_timeout *t = grove_timeout_start(0.03);
  CHECK_EQ(grove_threadpool_apply(sleep_ms, IARG(100), NULL, GROVE_FOREVER), GROVE_ETIMEDOUT);
  CHECK_EQ(grove_timeout_cancel(t), 0);
  grove_sleep(0.15);
}

TEST_MAIN(TEST(test_result), TEST(test_error), TEST(test_others_run), TEST(test_timeout_background),
          TEST(test_close_with_pending), TEST(test_kill), TEST(test_many),
          TEST(test_scoped_timeout))
