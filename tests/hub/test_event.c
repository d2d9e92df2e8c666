/* tests/hub/test_event.c - Event and AsyncResult (gevent.event). */
#include "test.h"

#include <stdint.h>

static grove_event *ev;
static grove_async_result *res;

static void *waiter(void *arg) {
  test_log("w%d", IVAL(arg));
  int rc = grove_event_wait(ev, GROVE_FOREVER);
  test_log("woke%d=%s", IVAL(arg), grove_err_name(rc));
  return NULL;
}

static void release_all(grove_greenlet **g, int n) {
  for (int i = 0; i < n; i++)
    grove_greenlet_release(g[i]);
}

/* gevent: three waiters; set() -> the setter continues ("afterset"), then the
 * waiters wake in wait order before the setter's sleep(0) returns:
 * "w1 w2 w3 set afterset woke1 woke2 woke3 main". */
static void test_event_wake_order(void) {
  ev = grove_event_new();
  grove_greenlet *g[3];
  for (int i = 0; i < 3; i++)
    g[i] = grove_spawn(waiter, IARG(i + 1));
  CHECK_EQ(grove_sleep(0), 0);
  test_log("set");
  grove_event_set(ev);
  CHECK(grove_event_is_set(ev));
  test_log("afterset");
  CHECK_EQ(grove_sleep(0), 0);
  test_log("main");
  CHECK_EQ(grove_joinall(g, 3, GROVE_FOREVER), 0);
  CHECK_LOG("w1 w2 w3 set afterset woke1=GROVE_OK woke2=GROVE_OK woke3=GROVE_OK main");
  release_all(g, 3);
  CHECK_EQ(grove_event_free(ev), 0);
}

static void test_event_set_before_wait(void) {
  ev = grove_event_new();
  CHECK(!grove_event_is_set(ev));
  grove_event_set(ev);
  CHECK(grove_event_is_set(ev));
  double t0 = test_now();
  CHECK_EQ(grove_event_wait(ev, 0), 0);
  CHECK_EQ(grove_event_wait(ev, GROVE_FOREVER), 0);
  CHECK_EQ(grove_event_wait(ev, 5.0), 0);
  CHECK(test_now() - t0 < 1.0);
  grove_event_set(ev); /* setting twice is harmless */
  CHECK(grove_event_is_set(ev));
  /* A waiter spawned after the set does not block either. */
  grove_greenlet *g = grove_spawn(waiter, IARG(1));
  CHECK_EQ(grove_join(g, 1.0), 0);
  CHECK_LOG("w1 woke1=GROVE_OK");
  grove_greenlet_release(g);
  CHECK_EQ(grove_event_free(ev), 0);
}

static void test_event_wait_timeout(void) {
  ev = grove_event_new();
  double t0 = test_now();
  CHECK_EQ(grove_event_wait(ev, 0.05), GROVE_ETIMEDOUT);
  double dt = test_now() - t0;
  CHECK(dt >= 0.04 && dt < 2.0);
  t0 = test_now();
  CHECK_EQ(grove_event_wait(ev, 0), GROVE_ETIMEDOUT);
  CHECK(test_now() - t0 < 1.0);
  CHECK_EQ(grove_event_free(ev), 0);
}

static void *set_after(void *arg) {
  CHECK_EQ(grove_sleep(IVAL(arg) / 1000.0), 0);
  grove_event_set(ev);
  return NULL;
}

static void test_event_set_wakes_timed_waiter_early(void) {
  ev = grove_event_new();
  grove_greenlet *g = grove_spawn(set_after, IARG(20));
  double t0 = test_now();
  CHECK_EQ(grove_event_wait(ev, 5.0), 0);
  CHECK(test_now() - t0 < 2.0);
  CHECK_EQ(grove_join(g, GROVE_FOREVER), 0);
  grove_greenlet_release(g);
  CHECK_EQ(grove_event_free(ev), 0);
}

static void test_event_clear(void) {
  ev = grove_event_new();
  grove_event_set(ev);
  grove_event_clear(ev);
  CHECK(!grove_event_is_set(ev));
  CHECK_EQ(grove_event_wait(ev, 0), GROVE_ETIMEDOUT);
  CHECK_EQ(grove_event_wait(ev, 0.01), GROVE_ETIMEDOUT);
  grove_event_clear(ev); /* clearing a clear event is harmless */
  grove_event_set(ev);
  CHECK_EQ(grove_event_wait(ev, 0), 0);
  CHECK_EQ(grove_event_free(ev), 0);
}

static void *timed_waiter(void *arg) {
  int rc = grove_event_wait(ev, 1.0);
  test_log("w%d=%s", IVAL(arg), grove_err_name(rc));
  return NULL;
}

/* gevent: e.set(); e.clear() before the waiters have run: they still return
 * True ("w1=True w2=True"): a set during the wait counts. */
static void test_event_set_then_clear_still_wakes(void) {
  ev = grove_event_new();
  grove_greenlet *g[2] = {grove_spawn(timed_waiter, IARG(1)), grove_spawn(timed_waiter, IARG(2))};
  CHECK_EQ(grove_sleep(0), 0);
  grove_event_set(ev);
  grove_event_clear(ev);
  double t0 = test_now();
  CHECK_EQ(grove_joinall(g, 2, GROVE_FOREVER), 0);
  CHECK(test_now() - t0 < 0.5);
  CHECK_LOG("w1=GROVE_OK w2=GROVE_OK");
  CHECK(!grove_event_is_set(ev));
  release_all(g, 2);
  CHECK_EQ(grove_event_free(ev), 0);
}

static void test_event_free_with_waiters_busy(void) {
  ev = grove_event_new();
  grove_greenlet *g = grove_spawn(waiter, IARG(1));
  CHECK_EQ(grove_sleep(0), 0);
  CHECK_EQ(grove_event_free(ev), GROVE_EBUSY);
  /* Nothing was freed: the event still works. */
  grove_event_set(ev);
  CHECK_EQ(grove_join(g, 1.0), 0);
  CHECK_LOG("w1 woke1=GROVE_OK");
  grove_greenlet_release(g);
  CHECK_EQ(grove_event_free(ev), 0);
}

static void test_event_waiter_timed_out_is_not_a_waiter(void) {
  /* After a waiter gave up (timeout), the event has no waiters: free works. */
  ev = grove_event_new();
  grove_greenlet *g = grove_spawn(timed_waiter, IARG(1));
  CHECK_EQ(grove_join(g, 3.0), 0);
  CHECK_LOG("w1=GROVE_ETIMEDOUT");
  grove_greenlet_release(g);
  CHECK_EQ(grove_event_free(ev), 0);
}

static void test_event_many_rounds(void) {
  ev = grove_event_new();
  for (int round = 0; round < 3; round++) {
    grove_greenlet *g[10];
    for (int i = 0; i < 10; i++)
      g[i] = grove_spawn(timed_waiter, IARG(i));
    CHECK_EQ(grove_sleep(0), 0);
    grove_event_set(ev);
    CHECK_EQ(grove_joinall(g, 10, 2.0), 0);
    grove_event_clear(ev);
    release_all(g, 10);
  }
  CHECK_LOG("w0=GROVE_OK w1=GROVE_OK w2=GROVE_OK w3=GROVE_OK w4=GROVE_OK w5=GROVE_OK w6=GROVE_OK "
            "w7=GROVE_OK w8=GROVE_OK w9=GROVE_OK w0=GROVE_OK w1=GROVE_OK w2=GROVE_OK w3=GROVE_OK "
            "w4=GROVE_OK w5=GROVE_OK w6=GROVE_OK w7=GROVE_OK w8=GROVE_OK w9=GROVE_OK w0=GROVE_OK "
            "w1=GROVE_OK w2=GROVE_OK w3=GROVE_OK w4=GROVE_OK w5=GROVE_OK w6=GROVE_OK w7=GROVE_OK "
            "w8=GROVE_OK w9=GROVE_OK");
  CHECK_EQ(grove_event_free(ev), 0);
}

/* ---- AsyncResult ------------------------------------------------------- */

static void *result_getter(void *arg) {
  void *v = IARG(-1);
  int rc = grove_async_result_get(res, &v, GROVE_FOREVER);
  if (rc == 0)
    test_log("g%d=%s:%d", IVAL(arg), grove_err_name(rc), IVAL(v));
  else
    test_log("g%d=%s", IVAL(arg), grove_err_name(rc));
  return NULL;
}

/* gevent: three getters; r.set(7) -> "afterset g1=7 g2=7 g3=7". */
static void test_async_result_wake_order(void) {
  res = grove_async_result_new();
  grove_greenlet *g[3];
  for (int i = 0; i < 3; i++)
    g[i] = grove_spawn(result_getter, IARG(i + 1));
  CHECK_EQ(grove_sleep(0), 0);
  CHECK(!grove_async_result_ready(res));
  grove_async_result_set(res, IARG(7));
  test_log("afterset");
  CHECK_EQ(grove_joinall(g, 3, GROVE_FOREVER), 0);
  CHECK_LOG("afterset g1=GROVE_OK:7 g2=GROVE_OK:7 g3=GROVE_OK:7");
  CHECK(grove_async_result_ready(res));
  CHECK(grove_async_result_successful(res));
  release_all(g, 3);
  CHECK_EQ(grove_async_result_free(res), 0);
}

static void test_async_result_set_before_get(void) {
  res = grove_async_result_new();
  CHECK(!grove_async_result_ready(res));
  CHECK(!grove_async_result_successful(res));
  grove_async_result_set(res, IARG(3));
  void *v = NULL;
  CHECK_EQ(grove_async_result_get(res, &v, 0), 0);
  CHECK_EQ(IVAL(v), 3);
  CHECK_EQ(grove_async_result_get(res, NULL, 0), 0);
  CHECK_EQ(grove_async_result_wait(res, 0), 0);
  /* gevent: setting a ready result again replaces the value. */
  grove_async_result_set(res, IARG(4));
  CHECK_EQ(grove_async_result_get(res, &v, GROVE_FOREVER), 0);
  CHECK_EQ(IVAL(v), 4);
  CHECK_EQ(grove_async_result_free(res), 0);
}

static void test_async_result_timeout(void) {
  res = grove_async_result_new();
  void *v = IARG(9);
  double t0 = test_now();
  CHECK_EQ(grove_async_result_get(res, &v, 0.05), GROVE_ETIMEDOUT);
  double dt = test_now() - t0;
  CHECK(dt >= 0.04 && dt < 2.0);
  CHECK_EQ(grove_async_result_get(res, &v, 0), GROVE_ETIMEDOUT);
  CHECK_EQ(grove_async_result_wait(res, 0.01), GROVE_ETIMEDOUT);
  CHECK(!grove_async_result_ready(res));
  CHECK_EQ(grove_async_result_free(res), 0);
}

static void test_async_result_set_error(void) {
  res = grove_async_result_new();
  grove_greenlet *g = grove_spawn(result_getter, IARG(1));
  CHECK_EQ(grove_sleep(0), 0);
  grove_async_result_set_error(res, GROVE_ENOENT);
  CHECK_EQ(grove_join(g, 1.0), 0);
  CHECK_LOG("g1=GROVE_ENOENT");
  CHECK(grove_async_result_ready(res));
  CHECK(!grove_async_result_successful(res));
  CHECK_EQ(grove_async_result_get(res, NULL, 0), GROVE_ENOENT);
  CHECK_EQ(grove_async_result_wait(res, 0), 0);
  grove_greenlet_release(g);

  /* A user code is stored as is. */
  grove_async_result_set_error(res, 12345);
  CHECK_EQ(grove_async_result_get(res, NULL, 0), 12345);
  /* 0 is recorded as GROVE_EFAILED. */
  grove_async_result_set_error(res, 0);
  CHECK_EQ(grove_async_result_get(res, NULL, 0), GROVE_EFAILED);
  CHECK(!grove_async_result_successful(res));
  /* gevent: set() after set_exception() makes it successful again. */
  grove_async_result_set(res, IARG(8));
  void *v = NULL;
  CHECK_EQ(grove_async_result_get(res, &v, 0), 0);
  CHECK_EQ(IVAL(v), 8);
  CHECK(grove_async_result_successful(res));
  CHECK_EQ(grove_async_result_free(res), 0);
}

static void *result_waiter(void *arg) {
  int rc = grove_async_result_wait(res, GROVE_FOREVER);
  test_log("wait=%s", grove_err_name(rc));
  return NULL;
}

static void test_async_result_wait(void) {
  res = grove_async_result_new();
  grove_greenlet *g = grove_spawn(result_waiter, NULL);
  CHECK_EQ(grove_sleep(0), 0);
  CHECK_EQ(grove_async_result_free(res), GROVE_EBUSY);
  grove_async_result_set_error(res, GROVE_EAGAIN);
  CHECK_EQ(grove_join(g, 1.0), 0);
  CHECK_LOG("wait=GROVE_OK");
  grove_greenlet_release(g);
  CHECK_EQ(grove_async_result_free(res), 0);
}

static void test_async_result_free_with_waiters_busy(void) {
  res = grove_async_result_new();
  grove_greenlet *g = grove_spawn(result_getter, IARG(1));
  CHECK_EQ(grove_sleep(0), 0);
  CHECK_EQ(grove_async_result_free(res), GROVE_EBUSY);
  grove_async_result_set(res, IARG(1));
  CHECK_EQ(grove_join(g, 1.0), 0);
  CHECK_LOG("g1=GROVE_OK:1");
  grove_greenlet_release(g);
  CHECK_EQ(grove_async_result_free(res), 0);
}

static void *set_result_later(void *arg) {
  CHECK_EQ(grove_sleep(0.02), 0);
  grove_async_result_set(res, arg);
  return NULL;
}

static void test_async_result_from_greenlet(void) {
  res = grove_async_result_new();
  grove_greenlet *g = grove_spawn(set_result_later, IARG(77));
  void *v = NULL;
  CHECK_EQ(grove_async_result_get(res, &v, 2.0), 0);
  CHECK_EQ(IVAL(v), 77);
  CHECK_EQ(grove_join(g, GROVE_FOREVER), 0);
  grove_greenlet_release(g);
  CHECK_EQ(grove_async_result_free(res), 0);
}

/* ---- timeout 0, checked against gevent 22.10 ------------------------------ */

static grove_event *z_ev;
static grove_async_result *z_ar;
static void *z_set(void *arg) {
  test_log("set");
  if (z_ev)
    grove_event_set(z_ev);
  if (z_ar)
    grove_async_result_set(z_ar, IARG(3));
  return arg;
}
static void *z_other(void *arg) {
  test_log("other");
  return arg;
}

/* gevent: spawn(setter); e.wait(timeout=0) -> True: the setter runs during
 * the wait's one turn. Unset: the others run, then False. */
static void test_event_wait_timeout_zero_yields(void) {
  z_ev = grove_event_new();
  grove_greenlet *g = grove_spawn(z_set, NULL);
  test_log("wait=%s", grove_err_name(grove_event_wait(z_ev, 0)));
  CHECK_LOG("set wait=GROVE_OK");
  grove_greenlet_release(g);
  test_log_reset();
  grove_event_clear(z_ev);
  g = grove_spawn(z_other, NULL);
  test_log("wait=%s", grove_err_name(grove_event_wait(z_ev, 0)));
  CHECK_LOG("other wait=GROVE_ETIMEDOUT");
  grove_greenlet_release(g);
  CHECK_EQ(grove_event_free(z_ev), 0);
  z_ev = NULL;
}

/* gevent: spawn(setter); a.get(timeout=0) -> 3; get(block=False) never
 * switches. */
static void test_async_result_get_timeout_zero(void) {
  z_ar = grove_async_result_new();
  void *v = NULL;
  CHECK_EQ(grove_async_result_get_nowait(z_ar, &v), GROVE_ETIMEDOUT);
  grove_greenlet *g = grove_spawn(z_set, NULL);
  CHECK_EQ(grove_async_result_get_nowait(z_ar, &v), GROVE_ETIMEDOUT);
  CHECK_LOG("");
  CHECK_EQ(grove_async_result_get(z_ar, &v, 0), 0);
  test_log("get=%d", IVAL(v));
  CHECK_LOG("set get=3");
  CHECK_EQ(grove_async_result_get_nowait(z_ar, &v), 0);
  CHECK_EQ(IVAL(v), 3);
  grove_greenlet_release(g);
  CHECK_EQ(grove_async_result_free(z_ar), 0);
  z_ar = NULL;
}

/* ---- AsyncResult and re-waits, checked against gevent 22.10 ---------------- */

static grove_async_result *r_ar;
static grove_event *r_ev;
static void *r_w1(void *arg) {
  void *v = NULL;
  grove_async_result_get(r_ar, &v, GROVE_FOREVER);
  test_log("w1 got=%d", IVAL(v));
  return arg;
}
static void *r_other(void *arg) {
  test_log("%s", (const char *)arg);
  return arg;
}

/* gevent: w1 waits in get(); a.set(1); spawn(other); a.get() -> 1 at once,
 * though w1 has not been woken yet; a.wait() queues behind w1:
 * get=1 w1 got=1 wait=1, and other after that. */
static void test_async_result_get_ready_returns_at_once(void) {
  r_ar = grove_async_result_new();
  grove_greenlet *w = grove_spawn(r_w1, NULL);
  CHECK_EQ(grove_sleep(0), 0);
  grove_async_result_set(r_ar, IARG(1));
  grove_greenlet *o = grove_spawn(r_other, "other");
  void *v = NULL;
  CHECK_EQ(grove_async_result_get(r_ar, &v, GROVE_FOREVER), 0);
  test_log("get=%d", IVAL(v));
  CHECK_EQ(grove_async_result_wait(r_ar, GROVE_FOREVER), 0);
  test_log("wait=1");
  CHECK_EQ(grove_join(o, 1.0), 0);
  CHECK_LOG("get=1 w1 got=1 wait=1 other");
  grove_greenlet_release(w);
  grove_greenlet_release(o);
  CHECK_EQ(grove_async_result_free(r_ar), 0);
}

/* gevent: set(1) then set_exception(e): ready, successful, get() -> 1,
 * exception -> e. set_exception(e) then set(2): successful, get() -> 2,
 * exception still e. */
static void test_async_result_value_wins(void) {
  grove_async_result *a = grove_async_result_new();
  CHECK_EQ(grove_async_result_error(a), 0);
  grove_async_result_set(a, IARG(1));
  grove_async_result_set_error(a, -5);
  CHECK(grove_async_result_ready(a));
  CHECK(grove_async_result_successful(a));
  void *v = NULL;
  CHECK_EQ(grove_async_result_get(a, &v, 0), 0);
  CHECK_EQ(IVAL(v), 1);
  CHECK_EQ(grove_async_result_error(a), -5);
  CHECK_EQ(grove_async_result_free(a), 0);
  a = grove_async_result_new();
  grove_async_result_set_error(a, -6);
  CHECK_EQ(grove_async_result_error(a), -6);
  CHECK(!grove_async_result_successful(a));
  CHECK_EQ(grove_async_result_get(a, &v, GROVE_FOREVER), -6);
  CHECK_EQ(grove_async_result_get_nowait(a, &v), -6);
  grove_async_result_set(a, IARG(2));
  CHECK(grove_async_result_successful(a));
  CHECK_EQ(grove_async_result_get(a, &v, GROVE_FOREVER), 0);
  CHECK_EQ(IVAL(v), 2);
  CHECK_EQ(grove_async_result_error(a), -6);
  CHECK_EQ(grove_async_result_free(a), 0);
  CHECK_EQ(grove_async_result_error(NULL), GROVE_EINVAL);
}

static void *r_setter(void *arg) {
  if (r_ev)
    grove_event_set(r_ev);
  else
    grove_async_result_set(r_ar, IARG(1));
  grove_greenlet_release(grove_spawn(r_other, "g2"));
  return arg;
}
static void *r_rewaiter(void *arg) {
  for (int i = 0; i < 3; i++) {
    CHECK_EQ(grove_event_wait(r_ev, GROVE_FOREVER), 0);
    test_log("%s%c", (const char *)arg, 'a' + i);
  }
  return arg;
}

/* gevent: a woken waiter that waits again on the set event is resumed in
 * the same pass once (the pass's second phase), a second time only in a new
 * pass at the back of the run queue: w1 w2 g2 w3, for an Event and for an
 * AsyncResult. Two such waiters: xa ya xb yb g2 xc yc. */
static void test_rewait_during_notify(void) {
  for (int kind = 0; kind < 2; kind++) {
    test_log_reset();
    r_ev = kind == 0 ? grove_event_new() : NULL;
    r_ar = kind == 1 ? grove_async_result_new() : NULL;
    grove_greenlet *g = grove_spawn(r_setter, NULL);
    for (int i = 0; i < 3; i++) {
      CHECK_EQ(r_ev ? grove_event_wait(r_ev, GROVE_FOREVER)
                    : grove_async_result_wait(r_ar, GROVE_FOREVER),
               0);
      test_log("w%d", i + 1);
    }
    CHECK_EQ(grove_sleep(0), 0);
    CHECK_LOG("w1 w2 g2 w3");
    grove_greenlet_release(g);
    if (r_ev)
      CHECK_EQ(grove_event_free(r_ev), 0);
    else
      CHECK_EQ(grove_async_result_free(r_ar), 0);
  }
  test_log_reset();
  r_ev = grove_event_new();
  r_ar = NULL;
  grove_greenlet *x = grove_spawn(r_rewaiter, "x"), *y = grove_spawn(r_rewaiter, "y");
  CHECK_EQ(grove_sleep(0), 0);
  grove_greenlet *g = grove_spawn(r_setter, NULL);
  for (int i = 0; i < 4; i++)
    CHECK_EQ(grove_sleep(0), 0);
  CHECK_LOG("xa ya xb yb g2 xc yc");
  grove_greenlet_release(x);
  grove_greenlet_release(y);
  grove_greenlet_release(g);
  CHECK_EQ(grove_event_free(r_ev), 0);
  r_ev = NULL;
}

TEST_MAIN(TEST(test_event_wake_order), TEST(test_event_set_before_wait),
          TEST(test_event_wait_timeout), TEST(test_event_set_wakes_timed_waiter_early),
          TEST(test_event_clear), TEST(test_event_set_then_clear_still_wakes),
          TEST(test_event_free_with_waiters_busy),
          TEST(test_event_waiter_timed_out_is_not_a_waiter), TEST(test_event_many_rounds),
          TEST(test_async_result_wake_order), TEST(test_async_result_set_before_get),
          TEST(test_async_result_timeout), TEST(test_async_result_set_error),
          TEST(test_async_result_wait), TEST(test_async_result_free_with_waiters_busy),
          TEST(test_async_result_from_greenlet), TEST(test_event_wait_timeout_zero_yields),
          TEST(test_async_result_get_timeout_zero),
          TEST(test_async_result_get_ready_returns_at_once), TEST(test_async_result_value_wins),
          TEST(test_rewait_during_notify))
