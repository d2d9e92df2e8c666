/* tests/hub/test_timeout.c - scoped deadlines (gevent's `with Timeout(s):`). */
#include "test.h"

#include <stdint.h>

static int in_range(double dt, double lo, double hi) { return dt >= lo && dt < hi; }

/* gevent: with Timeout(0.05): sleep(1) is interrupted after about 0.05 s. */
static void test_scope_interrupts_sleep(void) {
  grove_timeout *t = grove_timeout_start(0.05);
  CHECK(t != NULL);
  CHECK(!grove_timeout_expired(t));
  double t0 = test_now();
  CHECK_EQ(grove_sleep(1.0), GROVE_ETIMEDOUT);
  CHECK(in_range(test_now() - t0, 0.04, 0.9));
  CHECK(grove_timeout_expired(t));
  CHECK_EQ(grove_timeout_cancel(t), 0);
  /* After the scope ends, blocking calls behave normally again. */
  CHECK_EQ(grove_sleep(0.01), 0);
}

static void test_expired_scope_fails_later_calls(void) {
  grove_event *e = grove_event_new();
  grove_timeout *t = grove_timeout_start(0.02);
  CHECK_EQ(grove_event_wait(e, GROVE_FOREVER), GROVE_ETIMEDOUT);
  CHECK(grove_timeout_expired(t));
  double t0 = test_now();
  CHECK_EQ(grove_sleep(1.0), GROVE_ETIMEDOUT);
  CHECK_EQ(grove_event_wait(e, 1.0), GROVE_ETIMEDOUT);
  CHECK(test_now() - t0 < 0.5); /* they fail at once */
  CHECK_EQ(grove_timeout_cancel(t), 0);
  CHECK_EQ(grove_event_wait(e, 0.01), GROVE_ETIMEDOUT); /* its own timeout */
  CHECK_EQ(grove_sleep(0.01), 0);
  CHECK_EQ(grove_event_free(e), 0);
}

static void test_cancel_before_expiry(void) {
  grove_timeout *t = grove_timeout_start(0.03);
  CHECK_EQ(grove_sleep(0.005), 0);
  CHECK(!grove_timeout_expired(t));
  CHECK_EQ(grove_timeout_cancel(t), 0);
  double t0 = test_now();
  CHECK_EQ(grove_sleep(0.08), 0); /* the cancelled deadline does not fire */
  CHECK(in_range(test_now() - t0, 0.07, 2.0));
}

static void test_never_expiring_scope(void) {
  grove_timeout *t = grove_timeout_start(-1);
  CHECK(t != NULL);
  CHECK_EQ(grove_sleep(0.03), 0);
  CHECK(!grove_timeout_expired(t));
  CHECK_EQ(grove_timeout_cancel(t), 0);
}

/* gevent: nested Timeouts, the outer (shorter) one fires first. */
static void test_nested_outer_shorter(void) {
  grove_timeout *outer = grove_timeout_start(0.05);
  grove_timeout *inner = grove_timeout_start(5.0);
  double t0 = test_now();
  CHECK_EQ(grove_sleep(2.0), GROVE_ETIMEDOUT);
  CHECK(in_range(test_now() - t0, 0.04, 1.5));
  CHECK(grove_timeout_expired(outer));
  CHECK(!grove_timeout_expired(inner));
  CHECK_EQ(grove_timeout_cancel(inner), 0);
  CHECK_EQ(grove_timeout_cancel(outer), 0);
  CHECK_EQ(grove_sleep(0.01), 0);
}

static void test_nested_inner_shorter(void) {
  grove_timeout *outer = grove_timeout_start(5.0);
  grove_timeout *inner = grove_timeout_start(0.05);
  double t0 = test_now();
  CHECK_EQ(grove_sleep(2.0), GROVE_ETIMEDOUT);
  CHECK(in_range(test_now() - t0, 0.04, 1.5));
  CHECK(grove_timeout_expired(inner));
  CHECK(!grove_timeout_expired(outer));
  CHECK_EQ(grove_timeout_cancel(inner), 0);
  /* Only the outer scope remains, and it has not expired. */
  CHECK_EQ(grove_sleep(0.02), 0);
  CHECK_EQ(grove_timeout_cancel(outer), 0);
}

static void test_cancel_outer_first(void) {
  grove_timeout *outer = grove_timeout_start(0.03);
  grove_timeout *inner = grove_timeout_start(5.0);
  CHECK_EQ(grove_timeout_cancel(outer), 0);
  CHECK_EQ(grove_sleep(0.06), 0); /* the outer deadline is gone */
  CHECK(!grove_timeout_expired(inner));
  CHECK_EQ(grove_timeout_cancel(inner), 0);
}

static void test_call_timeout_shorter_wins(void) {
  grove_event *e = grove_event_new();
  grove_timeout *t = grove_timeout_start(5.0);
  double t0 = test_now();
  CHECK_EQ(grove_event_wait(e, 0.05), GROVE_ETIMEDOUT);
  CHECK(in_range(test_now() - t0, 0.04, 2.0));
  CHECK(!grove_timeout_expired(t));
  CHECK_EQ(grove_sleep(0.01), 0);
  CHECK_EQ(grove_timeout_cancel(t), 0);
  CHECK_EQ(grove_event_free(e), 0);
}

static grove_event *ev;
static void *set_soon(void *arg) {
  CHECK_EQ(grove_sleep(0.02), 0);
  grove_event_set(ev);
  return NULL;
}

static void test_call_finishing_in_time_is_unaffected(void) {
  ev = grove_event_new();
  grove_greenlet *g = grove_spawn(set_soon, NULL);
  grove_timeout *t = grove_timeout_start(2.0);
  CHECK_EQ(grove_event_wait(ev, GROVE_FOREVER), 0);
  CHECK(!grove_timeout_expired(t));
  CHECK_EQ(grove_timeout_cancel(t), 0);
  CHECK_EQ(grove_join(g, GROVE_FOREVER), 0);
  grove_greenlet_release(g);
  CHECK_EQ(grove_event_free(ev), 0);
}

static void *wait_forever(void *arg) { return IARG(grove_event_wait(ev, GROVE_FOREVER)); }

/* Every kind of blocking call honours the scope. */
static void test_scope_applies_to_every_blocking_call(void) {
  ev = grove_event_new();
  grove_queue *q = grove_queue_new(1);
  grove_queue *fullq = grove_queue_new(1);
  CHECK_EQ(grove_queue_put(fullq, IARG(1), 0), 0);
  grove_semaphore *s = grove_semaphore_new(0);
  grove_lock *l = grove_lock_new();
  CHECK_EQ(grove_lock_acquire(l, 0), 0);
  grove_async_result *r = grove_async_result_new();
  grove_greenlet *g = grove_spawn(wait_forever, NULL);
  grove_group *grp = grove_group_new();
  grove_greenlet *m = grove_group_spawn(grp, wait_forever, NULL);

  double t0 = test_now();
  grove_timeout *t = grove_timeout_start(0.03);
  void *item;
  CHECK_EQ(grove_queue_get(q, &item, GROVE_FOREVER), GROVE_ETIMEDOUT);
  CHECK(test_now() - t0 >= 0.02);
  CHECK_EQ(grove_queue_peek(q, &item, GROVE_FOREVER), GROVE_ETIMEDOUT);
  CHECK_EQ(grove_queue_put(fullq, IARG(2), GROVE_FOREVER), GROVE_ETIMEDOUT);
  CHECK_EQ(grove_semaphore_acquire(s, GROVE_FOREVER), GROVE_ETIMEDOUT);
  CHECK_EQ(grove_lock_acquire(l, GROVE_FOREVER), GROVE_ETIMEDOUT);
  CHECK_EQ(grove_async_result_get(r, &item, GROVE_FOREVER), GROVE_ETIMEDOUT);
  CHECK_EQ(grove_join(g, GROVE_FOREVER), GROVE_ETIMEDOUT);
  CHECK_EQ(grove_group_join(grp, GROVE_FOREVER), GROVE_ETIMEDOUT);
  CHECK_EQ(grove_event_wait(ev, GROVE_FOREVER), GROVE_ETIMEDOUT);
  CHECK(test_now() - t0 < 1.5);
  CHECK_EQ(grove_timeout_cancel(t), 0);

  grove_event_set(ev);
  CHECK_EQ(grove_join(g, 1.0), 0);
  CHECK_EQ(grove_group_join(grp, 1.0), 0);
  grove_greenlet_release(g);
  grove_greenlet_release(m);
  CHECK_EQ(grove_group_free(grp), 0);
  CHECK_EQ(grove_lock_release(l), 0);
  CHECK_EQ(grove_lock_free(l), 0);
  CHECK_EQ(grove_semaphore_free(s), 0);
  CHECK_EQ(grove_async_result_free(r), 0);
  CHECK_EQ(grove_queue_free(q), 0);
  CHECK_EQ(grove_queue_free(fullq), 0);
  CHECK_EQ(grove_event_free(ev), 0);
}

static void *scoped_sleeper(void *arg) {
  grove_timeout *t = grove_timeout_start(0.03);
  int rc = grove_sleep(1.0);
  test_log("a=%s", grove_err_name(rc));
  CHECK_EQ(grove_timeout_cancel(t), 0);
  return NULL;
}

static void *plain_sleeper(void *arg) {
  int rc = grove_sleep(0.08);
  test_log("b=%s", grove_err_name(rc));
  return NULL;
}

/* A scope belongs to one greenlet: others are not affected. */
static void test_scope_is_per_greenlet(void) {
  grove_greenlet *g[2] = {grove_spawn(scoped_sleeper, NULL), grove_spawn(plain_sleeper, NULL)};
  CHECK_EQ(grove_sleep(0.05), 0); /* main has no scope */
  CHECK_EQ(grove_joinall(g, 2, 2.0), 0);
  CHECK_LOG("a=GROVE_ETIMEDOUT b=GROVE_OK");
  grove_greenlet_release(g[0]);
  grove_greenlet_release(g[1]);
}

static grove_timeout *foreign;
static void *cancel_foreign(void *arg) {
  test_log("cancel=%s", grove_err_name(grove_timeout_cancel(foreign)));
  return NULL;
}

static void test_cancel_from_other_greenlet(void) {
  foreign = grove_timeout_start(5.0);
  grove_greenlet *g = grove_spawn(cancel_foreign, NULL);
  CHECK_EQ(grove_join(g, 1.0), 0);
  CHECK_LOG("cancel=GROVE_EPERM");
  CHECK_EQ(grove_timeout_cancel(foreign), 0);
  grove_greenlet_release(g);
  CHECK_EQ(grove_timeout_cancel(NULL), GROVE_EINVAL);
}

static void *killed_in_scope(void *arg) {
  grove_timeout *t = grove_timeout_start(5.0);
  int rc = grove_event_wait(ev, GROVE_FOREVER);
  test_log("rc=%s", grove_err_name(rc));
  CHECK_EQ(grove_timeout_cancel(t), 0);
  return NULL;
}

static void test_kill_inside_scope_is_canceled(void) {
  ev = grove_event_new();
  grove_greenlet *g = grove_spawn(killed_in_scope, NULL);
  CHECK_EQ(grove_sleep(0), 0);
  CHECK_EQ(grove_kill(g, 1.0), 0);
  CHECK_LOG("rc=GROVE_ECANCELED");
  grove_greenlet_release(g);
  CHECK_EQ(grove_event_free(ev), 0);
}

/* ---- scopes are timers, checked against gevent 22.10 --------------------- */

static void *z_other(void *arg) {
  test_log("other");
  return arg;
}

/* gevent: with Timeout(0, False): spawn(other); sleep(0); print slept;
 * sleep(0.01) -> other slept out: a 0-second scope expires when the hub
 * polls, not at once. */
static void test_scope_zero_expires_at_next_poll(void) {
  grove_timeout *t = grove_timeout_start(0);
  CHECK(grove_timeout_pending(t));
  grove_greenlet *g = grove_spawn(z_other, NULL);
  CHECK_EQ(grove_sleep(0), 0);
  test_log("slept");
  CHECK(!grove_timeout_expired(t));
  CHECK_EQ(grove_sleep(0.01), GROVE_ETIMEDOUT);
  CHECK(grove_timeout_expired(t));
  CHECK(!grove_timeout_pending(t));
  CHECK_EQ(grove_timeout_cancel(t), 0);
  test_log("out");
  CHECK_LOG("other slept out");
  grove_greenlet_release(g);
}

/* gevent: Timeout.pending: False before start, True while running, False
 * once it fired; a scope that never expires is never pending. */
static void test_scope_pending(void) {
  grove_timeout *t = grove_timeout_start(0.01);
  CHECK(grove_timeout_pending(t));
  CHECK_EQ(grove_sleep(0.05), GROVE_ETIMEDOUT);
  CHECK(!grove_timeout_pending(t));
  CHECK_EQ(grove_timeout_cancel(t), 0);
  t = grove_timeout_start(-1);
  CHECK(!grove_timeout_pending(t));
  CHECK_EQ(grove_timeout_cancel(t), 0);
  CHECK(!grove_timeout_pending(NULL));
}

static grove_event *z_ev;
static void *z_sleeper(void *arg) {
  CHECK_EQ(grove_sleep(0.01), 0);
  test_log("slept");
  return arg;
}
static void *z_waiter(void *arg) {
  test_log("wait=%s", grove_err_name(grove_event_wait(z_ev, 0.005)));
  return arg;
}
static void busy_wait(double s) {
  double t0 = test_now();
  while (test_now() - t0 < s) {
  }
}

/* gevent: a 5 ms Event.wait timeout and a 10 ms sleep both expire while the
 * thread is busy for 30 ms: libev fires the sleeper (a watcher) before the
 * timeout (priority -1) -> slept wait=False. */
static void test_watchers_fire_before_timeouts(void) {
  z_ev = grove_event_new();
  grove_greenlet *w = grove_spawn(z_waiter, NULL);
  grove_greenlet *s = grove_spawn(z_sleeper, NULL);
  CHECK_EQ(grove_sleep(0), 0);
  busy_wait(0.03);
  CHECK_EQ(grove_sleep(0.05), 0);
  CHECK_LOG("slept wait=GROVE_ETIMEDOUT");
  grove_greenlet_release(w);
  grove_greenlet_release(s);
  CHECK_EQ(grove_event_free(z_ev), 0);
}

TEST_MAIN(TEST(test_scope_interrupts_sleep), TEST(test_expired_scope_fails_later_calls),
          TEST(test_cancel_before_expiry), TEST(test_never_expiring_scope),
          TEST(test_nested_outer_shorter), TEST(test_nested_inner_shorter),
          TEST(test_cancel_outer_first), TEST(test_call_timeout_shorter_wins),
          TEST(test_call_finishing_in_time_is_unaffected),
          TEST(test_scope_applies_to_every_blocking_call), TEST(test_scope_is_per_greenlet),
          TEST(test_cancel_from_other_greenlet), TEST(test_kill_inside_scope_is_canceled),
          TEST(test_scope_zero_expires_at_next_poll), TEST(test_scope_pending),
          TEST(test_watchers_fire_before_timeouts))
