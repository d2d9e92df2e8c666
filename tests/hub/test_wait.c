/* tests/hub/test_wait.c - waiting on several objects: grove_wait,
 * grove_iwait_*, grove_joinall and grove_joinall_ex (gevent.wait, iwait,
 * joinall). Every expected order was printed by the same program under
 * gevent 22.10 (the Python twin is in each case's comment).
 */
#include "test.h"

TEST_WATCHDOG(60)

static void *log_name(void *arg) {
  test_log("%s", (const char *)arg);
  return arg;
}

static void log_link(grove_greenlet *g, void *arg) { test_log("link"); }

static void *link_self(void *arg) {
  CHECK_EQ(grove_link(grove_current(), log_link, NULL), 0);
  return arg;
}

/* g1 = spawn(q, 'g1'); sleep(0); g2 = spawn(q, 'g2'); joinall([g1])
 * -> g1 g2 joinall: joinall goes through the hub even when every greenlet
 * has finished. g1 links itself: joinall([g1]) -> link joinall. */
static void test_joinall_finished_goes_through_the_hub(void) {
  grove_greenlet *g1 = grove_spawn(log_name, "g1");
  CHECK_EQ(grove_sleep(0), 0);
  grove_greenlet *g2 = grove_spawn(log_name, "g2");
  CHECK_EQ(grove_joinall(&g1, 1, GROVE_FOREVER), 0);
  test_log("joinall");
  CHECK_LOG("g1 g2 joinall");
  grove_greenlet_release(g1);
  grove_greenlet_release(g2);
  test_log_reset();
  g1 = grove_spawn(link_self, NULL);
  CHECK_EQ(grove_sleep(0), 0);
  CHECK_EQ(grove_joinall(&g1, 1, GROVE_FOREVER), 0);
  test_log("joinall");
  CHECK_LOG("link joinall");
  grove_greenlet_release(g1);
}

static grove_event *e;
static grove_async_result *a;
static void *setter(void *arg) {
  CHECK_EQ(grove_sleep(0.01), 0);
  grove_async_result_set(a, IARG(1));
  CHECK_EQ(grove_sleep(0.01), 0);
  grove_event_set(e);
  return arg;
}
static void *nap(void *arg) {
  grove_sleep(0.005);
  return arg;
}

/* e, a = Event(), AsyncResult(); s = spawn(setter); w = spawn(nap);
 * wait([e, a, w, s]) -> [2, 1, 0, 3]; wait([e, a, s], count=1) -> [1];
 * wait([e], timeout=0.01) -> []. */
static void test_wait_order_count_timeout(void) {
  e = grove_event_new();
  a = grove_async_result_new();
  grove_greenlet *s = grove_spawn(setter, NULL), *w = grove_spawn(nap, NULL);
  grove_waitable objs[] = {GROVE_WAITABLE_EVENT(e), GROVE_WAITABLE_ASYNC_RESULT(a),
                           GROVE_WAITABLE_GREENLET(w), GROVE_WAITABLE_GREENLET(s)};
  size_t ready[4], n = 9;
  CHECK_EQ(grove_wait(objs, 4, 0, GROVE_FOREVER, ready, &n), 0);
  CHECK_EQ(n, 4);
  CHECK(ready[0] == 2 && ready[1] == 1 && ready[2] == 0 && ready[3] == 3);
  grove_greenlet_release(s);
  grove_greenlet_release(w);
  CHECK_EQ(grove_event_free(e), 0);
  CHECK_EQ(grove_async_result_free(a), 0);

  e = grove_event_new();
  a = grove_async_result_new();
  s = grove_spawn(setter, NULL);
  grove_waitable objs2[] = {GROVE_WAITABLE_EVENT(e), GROVE_WAITABLE_ASYNC_RESULT(a),
                            GROVE_WAITABLE_GREENLET(s)};
  CHECK_EQ(grove_wait(objs2, 3, 1, GROVE_FOREVER, ready, &n), 0);
  CHECK(n == 1 && ready[0] == 1);
  CHECK_EQ(grove_join(s, 1.0), 0);
  grove_greenlet_release(s);
  CHECK_EQ(grove_event_free(e), 0); /* nothing is left linked to it */
  CHECK_EQ(grove_async_result_free(a), 0);

  e = grove_event_new();
  grove_waitable one = GROVE_WAITABLE_EVENT(e);
  double t0 = test_now();
  CHECK_EQ(grove_wait(&one, 1, 0, 0.01, ready, &n), GROVE_ETIMEDOUT);
  CHECK_EQ(n, 0);
  CHECK(test_now() - t0 < 1.0);
  CHECK_EQ(grove_event_free(e), 0);
}

/* for x in iwait([e, a, s]): print index -> 1 0 2. */
static void test_iwait(void) {
  e = grove_event_new();
  a = grove_async_result_new();
  grove_greenlet *s = grove_spawn(setter, NULL);
  grove_waitable objs[] = {GROVE_WAITABLE_EVENT(e), GROVE_WAITABLE_ASYNC_RESULT(a),
                           GROVE_WAITABLE_GREENLET(s)};
  grove_iwait *it = grove_iwait_new(objs, 3, 0, GROVE_FOREVER);
  CHECK(it != NULL);
  size_t i;
  int rc;
  while ((rc = grove_iwait_next(it, &i)) == 0)
    test_log("it %zu", i);
  CHECK_EQ(rc, GROVE_EOF);
  CHECK_EQ(grove_iwait_next(it, &i), GROVE_EOF);
  CHECK_LOG("it 1 it 0 it 2");
  CHECK_EQ(grove_iwait_free(it), 0);
  grove_greenlet_release(s);
  CHECK_EQ(grove_event_free(e), 0);
  CHECK_EQ(grove_async_result_free(a), 0);

  /* The timeout ends the iteration; freeing early unlinks. */
  e = grove_event_new();
  grove_waitable one = GROVE_WAITABLE_EVENT(e);
  it = grove_iwait_new(&one, 1, 0, 0.01);
  CHECK_EQ(grove_iwait_next(it, &i), GROVE_ETIMEDOUT);
  CHECK_EQ(grove_iwait_next(it, &i), GROVE_EOF);
  CHECK_EQ(grove_iwait_free(it), 0);
  it = grove_iwait_new(&one, 1, 0, GROVE_FOREVER);
  grove_event_set(e);
  CHECK_EQ(grove_iwait_next(it, &i), 0);
  CHECK_EQ(grove_iwait_free(it), 0);
  CHECK_EQ(grove_event_free(e), 0);
}

static void *fail_later(void *arg) {
  grove_sleep(0.01);
  grove_exit(-7);
  return arg;
}
static void *ok_later(void *arg) {
  grove_sleep(0.02);
  test_log("ok done");
  return arg;
}

/* f = spawn(fail); o = spawn(ok); joinall([o, f], raise_error=True) ->
 * raised -7, then ok done; joinall([f, o], count=1) -> q count1 [1]
 * f.dead=False, then ok done. */
static void test_joinall_raise_error_and_count(void) {
  grove_greenlet *gs[2] = {grove_spawn(ok_later, NULL), grove_spawn(fail_later, NULL)};
  size_t done[2], n = 9;
  CHECK_EQ(grove_joinall_ex(gs, 2, GROVE_FOREVER, 0, GROVE_RAISE_ERROR, done, &n), -7);
  test_log("raised");
  CHECK_EQ(n, 0);
  CHECK_EQ(grove_join(gs[0], 1.0), 0);
  CHECK_LOG("raised ok done");
  grove_greenlet_release(gs[0]);
  grove_greenlet_release(gs[1]);
  test_log_reset();

  gs[0] = grove_spawn(ok_later, NULL);
  gs[1] = grove_spawn(log_name, "q");
  CHECK_EQ(grove_joinall_ex(gs, 2, GROVE_FOREVER, 1, 0, done, &n), 0);
  CHECK(n == 1 && done[0] == 1);
  test_log("count1 dead=%d", grove_ready(gs[0]));
  CHECK_EQ(grove_join(gs[0], 1.0), 0);
  CHECK_LOG("q count1 dead=0 ok done");
  grove_greenlet_release(gs[0]);
  grove_greenlet_release(gs[1]);
}

/* g1 finished, g2 sleeping: joinall([g1, g2], timeout=0) -> 1 of them:
 * timeout 0 yields once, through the hub. */
static void test_joinall_timeout_zero(void) {
  grove_greenlet *gs[2];
  gs[0] = grove_spawn(log_name, "g1");
  CHECK_EQ(grove_sleep(0), 0);
  gs[1] = grove_spawn(nap, NULL);
  size_t done[2], n = 9;
  CHECK_EQ(grove_joinall_ex(gs, 2, 0, 0, 0, done, &n), GROVE_ETIMEDOUT);
  CHECK(n == 1 && done[0] == 0);
  CHECK_EQ(grove_joinall(gs, 2, 1.0), 0);
  grove_greenlet_release(gs[0]);
  grove_greenlet_release(gs[1]);
}

static grove_queue *q;
static void *putter(void *arg) {
  CHECK_EQ(grove_sleep(0.01), 0);
  CHECK_EQ(grove_queue_put(q, IARG(5), GROVE_FOREVER), 0);
  return arg;
}

/* A queue (grove's extension: gevent 22.10's queues cannot be waited on):
 * ready once it has held an item. */
static void test_wait_queue(void) {
  q = grove_queue_new(0);
  grove_greenlet *p = grove_spawn(putter, NULL);
  grove_waitable obj = GROVE_WAITABLE_QUEUE(q);
  size_t n = 0;
  CHECK_EQ(grove_wait(&obj, 1, 0, 1.0, NULL, &n), 0);
  CHECK_EQ(n, 1);
  void *item = NULL;
  CHECK_EQ(grove_queue_get_nowait(q, &item), 0);
  CHECK_EQ(IVAL(item), 5);
  CHECK_EQ(grove_queue_free(q), 0);
  grove_greenlet_release(p);
  /* a channel: ready once a putter waits */
  q = grove_channel_new();
  p = grove_spawn(putter, NULL);
  CHECK_EQ(grove_wait(&obj, 0, 0, 0, NULL, &n), 0); /* nothing to wait for */
  obj = GROVE_WAITABLE_QUEUE(q);
  CHECK_EQ(grove_wait(&obj, 1, 0, 1.0, NULL, &n), 0);
  CHECK_EQ(grove_queue_get(q, &item, 1.0), 0);
  CHECK_EQ(IVAL(item), 5);
  CHECK_EQ(grove_join(p, 1.0), 0);
  grove_greenlet_release(p);
  CHECK_EQ(grove_queue_free(q), 0);
}

static void test_wait_invalid(void) {
  grove_waitable bad = {GROVE_WAIT_EVENT, NULL};
  CHECK_EQ(grove_wait(&bad, 1, 0, 0, NULL, NULL), GROVE_EINVAL);
  grove_waitable odd = {(grove_wait_kind)99, &bad};
  CHECK_EQ(grove_wait(&odd, 1, 0, 0, NULL, NULL), GROVE_EINVAL);
  CHECK(grove_iwait_new(&bad, 1, 0, 0) == NULL);
  CHECK_EQ(grove_wait(NULL, 1, 0, 0, NULL, NULL), GROVE_EINVAL);
  CHECK_EQ(grove_iwait_next(NULL, NULL), GROVE_EINVAL);
  CHECK_EQ(grove_iwait_free(NULL), GROVE_EINVAL);
  grove_greenlet *self = grove_current();
  CHECK_EQ(grove_joinall(&self, 1, 1.0), GROVE_EDEADLK);
  CHECK_EQ(grove_joinall_ex(NULL, 0, 0, 0, 2, NULL, NULL), GROVE_EINVAL);
}

TEST_MAIN(TEST(test_joinall_finished_goes_through_the_hub), TEST(test_wait_order_count_timeout),
          TEST(test_iwait), TEST(test_joinall_raise_error_and_count),
          TEST(test_joinall_timeout_zero), TEST(test_wait_queue), TEST(test_wait_invalid))
