/* tests/hub/test_kill.c - grove_kill as cancellation: a killed greenlet's
 * current and later blocking calls return GROVE_ECANCELED (gevent raises
 * GreenletExit at its blocking point).
 */
#include "test.h"

#include <stdint.h>

static grove_event *ev;
static int ran;

static void settle(void) { CHECK_EQ(grove_sleep(0.01), 0); }

static void *wait_forever(void *arg) {
  test_log("wait");
  int rc = grove_event_wait(ev, GROVE_FOREVER);
  test_log("woke=%s", grove_err_name(rc));
  return IARG(rc);
}

static void *mark_ran(void *arg) {
  ran++;
  return IARG(1);
}

static int links_fired;
static void count_link(grove_greenlet *g, void *arg) {
  links_fired++;
  test_log("link");
}

/* gevent: kill(block=True) on a greenlet blocked in Event.wait: GreenletExit
 * is raised in it and it finishes before kill() returns; it counts as
 * successful. */
static void test_kill_blocked(void) {
  ev = grove_event_new();
  grove_greenlet *g = grove_spawn(wait_forever, NULL);
  CHECK_EQ(grove_sleep(0), 0);
  CHECK_LOG("wait");
  CHECK_EQ(grove_kill(g, GROVE_FOREVER), 0);
  test_log("killed");
  CHECK_LOG("wait woke=GROVE_ECANCELED killed");
  CHECK(grove_ready(g));
  CHECK(grove_cancelled(g));
  CHECK(grove_successful(g));
  CHECK_EQ(grove_error(g), 0);
  CHECK_EQ(IVAL(grove_value(g)), GROVE_ECANCELED);
  CHECK(!grove_event_is_set(ev));
  grove_greenlet_release(g);
  CHECK_EQ(grove_event_free(ev), 0);
}

/* gevent: killing a greenlet that has not started: it never runs, is ready at
 * once (even with block=False), successful, no longer "started" (gevent
 * prints started False, dead True), and its links fire. */
static void test_kill_unstarted(void) {
  ran = 0;
  links_fired = 0;
  grove_greenlet *g = grove_spawn(mark_ran, NULL);
  CHECK_EQ(grove_link(g, count_link, NULL), 0);
  CHECK_EQ(grove_kill(g, 0), 0);
  CHECK(grove_ready(g));
  CHECK(!grove_started(g));
  CHECK(grove_cancelled(g));
  CHECK(grove_successful(g));
  CHECK(grove_value(g) == NULL);
  settle();
  CHECK_EQ(ran, 0);
  CHECK_EQ(links_fired, 1);
  CHECK_EQ(grove_join(g, GROVE_FOREVER), 0);
  void *v = IARG(5);
  CHECK_EQ(grove_get(g, &v, 0), 0);
  CHECK(v == NULL);
  grove_greenlet_release(g);

  /* Same with a blocking kill. */
  g = grove_spawn(mark_ran, NULL);
  CHECK_EQ(grove_kill(g, GROVE_FOREVER), 0);
  CHECK(grove_ready(g));
  settle();
  CHECK_EQ(ran, 0);
  grove_greenlet_release(g);
}

static void test_kill_spawn_later(void) {
  ran = 0;
  links_fired = 0;
  grove_greenlet *g = grove_spawn_later(10.0, mark_ran, NULL);
  CHECK_EQ(grove_link(g, count_link, NULL), 0);
  double t0 = test_now();
  CHECK_EQ(grove_kill(g, GROVE_FOREVER), 0);
  CHECK(grove_ready(g));
  settle();
  CHECK(test_now() - t0 < 2.0);
  CHECK_EQ(ran, 0);
  CHECK_EQ(links_fired, 1);
  grove_greenlet_release(g);
}

/* gevent: kill(block=False) returns before the target has run: ready() is
 * False until it has handled GreenletExit. */
static void test_kill_nowait(void) {
  ev = grove_event_new();
  grove_greenlet *g = grove_spawn(wait_forever, NULL);
  CHECK_EQ(grove_sleep(0), 0);
  CHECK_EQ(grove_kill_nowait(g), 0);
  CHECK(!grove_ready(g));
  CHECK(grove_cancelled(g));
  CHECK_EQ(grove_join(g, 2.0), 0);
  CHECK_LOG("wait woke=GROVE_ECANCELED");
  CHECK_EQ(IVAL(grove_value(g)), GROVE_ECANCELED);
  grove_greenlet_release(g);
  CHECK_EQ(grove_event_free(ev), 0);
}

/* gevent: kill(timeout=0) blocks like any kill until GreenletExit has been
 * thrown into the target, then joins it with timeout 0: a target that ends
 * at once is dead when it returns. */
static void test_kill_timeout_zero(void) {
  ev = grove_event_new();
  grove_greenlet *g = grove_spawn(wait_forever, NULL);
  CHECK_EQ(grove_sleep(0), 0);
  CHECK_EQ(grove_kill(g, 0), 0);
  CHECK(grove_ready(g));
  CHECK_LOG("wait woke=GROVE_ECANCELED");
  grove_greenlet_release(g);
  CHECK_EQ(grove_event_free(ev), 0);
}

static void test_kill_with_timeout(void) {
  ev = grove_event_new();
  grove_greenlet *g = grove_spawn(wait_forever, NULL);
  CHECK_EQ(grove_sleep(0), 0);
  double t0 = test_now();
  CHECK_EQ(grove_kill(g, 1.0), 0);
  CHECK(test_now() - t0 < 0.9);
  CHECK(grove_ready(g));
  grove_greenlet_release(g);
  CHECK_EQ(grove_event_free(ev), 0);
}

static void *sleep_long(void *arg) {
  double t0 = test_now();
  int rc = grove_sleep(10.0);
  test_log("sleep=%s fast=%d", grove_err_name(rc), test_now() - t0 < 2.0);
  return NULL;
}

static void test_kill_sleeping(void) {
  grove_greenlet *g = grove_spawn(sleep_long, NULL);
  CHECK_EQ(grove_sleep(0.01), 0);
  double t0 = test_now();
  CHECK_EQ(grove_kill(g, GROVE_FOREVER), 0);
  CHECK(test_now() - t0 < 2.0);
  CHECK_LOG("sleep=GROVE_ECANCELED fast=1");
  grove_greenlet_release(g);
}

static void test_killall(void) {
  ev = grove_event_new();
  ran = 0;
  grove_greenlet *g[4];
  g[0] = grove_spawn(wait_forever, NULL);
  g[1] = grove_spawn(wait_forever, NULL);
  CHECK_EQ(grove_sleep(0), 0);
  g[2] = NULL;
  g[3] = grove_spawn(mark_ran, NULL); /* not started yet */
  CHECK_EQ(grove_killall(g, 4, GROVE_FOREVER), 0);
  CHECK_EQ(ran, 0);
  for (int i = 0; i < 4; i++) {
    if (!g[i])
      continue;
    CHECK(grove_ready(g[i]));
    CHECK(grove_cancelled(g[i]));
    CHECK(grove_successful(g[i]));
  }
  CHECK_LOG("wait wait woke=GROVE_ECANCELED woke=GROVE_ECANCELED");
  CHECK_EQ(grove_hub_greenlet_count(), 0);
  for (int i = 0; i < 4; i++)
    grove_greenlet_release(g[i]);
  CHECK_EQ(grove_event_free(ev), 0);
}

static void test_killall_nowait(void) {
  ev = grove_event_new();
  grove_greenlet *g[2] = {grove_spawn(wait_forever, NULL), grove_spawn(wait_forever, NULL)};
  CHECK_EQ(grove_sleep(0), 0);
  CHECK_EQ(grove_killall_nowait(g, 2), 0);
  CHECK(!grove_ready(g[0]) && !grove_ready(g[1]));
  CHECK_EQ(grove_joinall(g, 2, 2.0), 0);
  CHECK(grove_cancelled(g[0]) && grove_cancelled(g[1]));
  grove_greenlet_release(g[0]);
  grove_greenlet_release(g[1]);
  CHECK_EQ(grove_event_free(ev), 0);
}

static void *kill_self(void *arg) {
  double t0 = test_now();
  test_log("self=%s", grove_err_name(grove_kill(grove_current(), 1.0)));
  test_log("sleep=%s", grove_err_name(grove_sleep(5.0)));
  test_log("wait=%s", grove_err_name(grove_event_wait(ev, GROVE_FOREVER)));
  test_log("fast=%d", test_now() - t0 < 2.0);
  return IARG(5);
}

static void test_self_kill(void) {
  ev = grove_event_new();
  grove_greenlet *g = grove_spawn(kill_self, NULL);
  void *v = NULL;
  CHECK_EQ(grove_get(g, &v, GROVE_FOREVER), 0);
  CHECK_EQ(IVAL(v), 5);
  CHECK_LOG("self=GROVE_ECANCELED sleep=GROVE_ECANCELED wait=GROVE_ECANCELED fast=1");
  CHECK(grove_cancelled(g));
  CHECK(grove_successful(g));
  grove_greenlet_release(g);
  CHECK_EQ(grove_event_free(ev), 0);
}

static grove_queue *kq;
static grove_semaphore *ksem;
static grove_lock *klock;
static grove_async_result *kres;
static grove_greenlet *kother;

static void *blocked_then_more(void *arg) {
  double t0 = test_now();
  test_log("wait=%s", grove_err_name(grove_event_wait(ev, GROVE_FOREVER)));
  test_log("wait2=%s", grove_err_name(grove_event_wait(ev, 5.0)));
  test_log("sleep=%s", grove_err_name(grove_sleep(5.0)));
  test_log("sleep0=%s", grove_err_name(grove_sleep(0)));
  void *item = NULL;
  test_log("get=%s", grove_err_name(grove_queue_get(kq, &item, GROVE_FOREVER)));
  test_log("acquire=%s", grove_err_name(grove_semaphore_acquire(ksem, GROVE_FOREVER)));
  test_log("lock=%s", grove_err_name(grove_lock_acquire(klock, GROVE_FOREVER)));
  test_log("result=%s", grove_err_name(grove_async_result_get(kres, &item, GROVE_FOREVER)));
  test_log("join=%s", grove_err_name(grove_join(kother, GROVE_FOREVER)));
  test_log("fast=%d", test_now() - t0 < 2.0);
  return NULL;
}

static void test_later_blocking_calls_canceled(void) {
  ev = grove_event_new();
  kq = grove_queue_new(0);
  ksem = grove_semaphore_new(0);
  klock = grove_lock_new();
  CHECK_EQ(grove_lock_acquire(klock, 0), 0);
  kres = grove_async_result_new();
  kother = grove_spawn(wait_forever, NULL);
  grove_greenlet *g = grove_spawn(blocked_then_more, NULL);
  CHECK_EQ(grove_sleep(0), 0);
  CHECK_EQ(grove_kill(g, GROVE_FOREVER), 0);
  CHECK_LOG("wait wait=GROVE_ECANCELED wait2=GROVE_ECANCELED sleep=GROVE_ECANCELED "
            "sleep0=GROVE_ECANCELED get=GROVE_ECANCELED acquire=GROVE_ECANCELED "
            "lock=GROVE_ECANCELED result=GROVE_ECANCELED join=GROVE_ECANCELED fast=1");
  /* Nothing the killed greenlet waited on was consumed or disturbed. */
  CHECK(!grove_ready(kother));
  CHECK_EQ(grove_semaphore_counter(ksem), 0);
  CHECK(grove_lock_locked(klock));
  CHECK_EQ(grove_queue_put_nowait(kq, IARG(1)), 0);
  void *item = NULL;
  CHECK_EQ(grove_queue_get_nowait(kq, &item), 0);
  CHECK_EQ(IVAL(item), 1);
  CHECK_EQ(grove_kill(kother, GROVE_FOREVER), 0);
  grove_greenlet_release(kother);
  grove_greenlet_release(g);
  CHECK_EQ(grove_lock_release(klock), 0);
  CHECK_EQ(grove_lock_free(klock), 0);
  CHECK_EQ(grove_semaphore_free(ksem), 0);
  CHECK_EQ(grove_queue_free(kq), 0);
  CHECK_EQ(grove_async_result_free(kres), 0);
  CHECK_EQ(grove_event_free(ev), 0);
}

static void test_kill_finished(void) {
  grove_greenlet *g = grove_spawn(mark_ran, NULL);
  CHECK_EQ(grove_join(g, GROVE_FOREVER), 0);
  CHECK_EQ(grove_kill(g, GROVE_FOREVER), 0);
  CHECK_EQ(grove_kill(g, 0), 0);
  CHECK(grove_successful(g));
  CHECK_EQ(IVAL(grove_value(g)), 1);
  grove_greenlet_release(g);
}

static grove_greenlet *victim;
static void *killer(void *arg) {
  CHECK_EQ(grove_sleep(0.02), 0);
  test_log("kill");
  CHECK_EQ(grove_kill_nowait(victim), 0);
  return NULL;
}

static void test_kill_wakes_joiner(void) {
  ev = grove_event_new();
  victim = grove_spawn(wait_forever, NULL);
  grove_greenlet *k = grove_spawn(killer, NULL);
  CHECK_EQ(grove_join(victim, 2.0), 0);
  test_log("joined");
  CHECK_EQ(grove_join(k, 2.0), 0);
  CHECK_LOG("wait kill woke=GROVE_ECANCELED joined");
  grove_greenlet_release(victim);
  grove_greenlet_release(k);
  CHECK_EQ(grove_event_free(ev), 0);
}

static grove_greenlet *join_target;
static void *join_other(void *arg) {
  int rc = grove_join(join_target, GROVE_FOREVER);
  test_log("join=%s", grove_err_name(rc));
  return NULL;
}

static void test_kill_joiner_leaves_target(void) {
  ev = grove_event_new();
  join_target = grove_spawn(wait_forever, NULL);
  grove_greenlet *j = grove_spawn(join_other, NULL);
  CHECK_EQ(grove_sleep(0), 0);
  CHECK_EQ(grove_kill(j, GROVE_FOREVER), 0);
  CHECK(!grove_ready(join_target));
  CHECK(!grove_cancelled(join_target));
  grove_event_set(ev);
  CHECK_EQ(grove_join(join_target, GROVE_FOREVER), 0);
  CHECK_LOG("wait join=GROVE_ECANCELED woke=GROVE_OK");
  CHECK(!grove_cancelled(join_target));
  grove_greenlet_release(join_target);
  grove_greenlet_release(j);
  CHECK_EQ(grove_event_free(ev), 0);
}

static void *cancel_then_fail(void *arg) {
  int rc = grove_event_wait(ev, GROVE_FOREVER);
  grove_exit(rc);
  return NULL;
}

static void test_killed_greenlet_may_fail(void) {
  ev = grove_event_new();
  grove_greenlet *g = grove_spawn(cancel_then_fail, NULL);
  CHECK_EQ(grove_sleep(0), 0);
  CHECK_EQ(grove_kill(g, GROVE_FOREVER), 0);
  CHECK(!grove_successful(g));
  CHECK(grove_cancelled(g));
  CHECK_EQ(grove_error(g), GROVE_ECANCELED);
  CHECK_EQ(grove_get(g, NULL, 0), GROVE_ECANCELED);
  grove_greenlet_release(g);
  CHECK_EQ(grove_event_free(ev), 0);
}

static void test_kill_detached(void) {
  /* Links let us see a detached greenlet finish after a kill. */
  ev = grove_event_new();
  links_fired = 0;
  grove_greenlet *g = grove_spawn(wait_forever, NULL);
  CHECK_EQ(grove_link(g, count_link, NULL), 0);
  CHECK_EQ(grove_sleep(0), 0);
  grove_greenlet *ref = grove_greenlet_ref(g);
  grove_greenlet_release(g);
  CHECK_EQ(grove_kill_nowait(ref), 0);
  grove_greenlet_release(ref);
  settle();
  CHECK_EQ(links_fired, 1);
  CHECK_EQ(grove_hub_greenlet_count(), 0);
  CHECK_EQ(grove_event_free(ev), 0);
}

static void test_kill_invalid(void) {
  CHECK_EQ(grove_kill(NULL, 0), GROVE_EINVAL);
  CHECK_EQ(grove_killall(NULL, 2, 0), GROVE_EINVAL);
  CHECK_EQ(grove_killall(NULL, 0, 0), 0);
}

/* ---- the order of a kill, checked against gevent 22.10 ---------------------- */

static void *o_victim(void *arg) {
  int rc = grove_event_wait(ev, GROVE_FOREVER);
  if (rc == GROVE_ECANCELED)
    test_log("victim exit");
  return arg;
}
static void o_link(grove_greenlet *g, void *arg) { test_log("link"); }
static void *o_joiner(void *arg) {
  grove_join(arg, GROVE_FOREVER);
  test_log("joiner");
  return NULL;
}
static void *o_other(void *arg) {
  test_log("other");
  return arg;
}
static void *o_short(void *arg) {
  test_log("short");
  grove_sleep(0);
  test_log("short done");
  return arg;
}
static void *o_killer(void *arg) {
  grove_kill(arg, GROVE_FOREVER);
  test_log("killer back");
  return NULL;
}

/* gevent: v = spawn(victim); v.link(link); spawn(joiner, v); sleep(0);
 * spawn(other); v.kill(); print killed -> other victim-exit killed link
 * joiner: the killer resumes right after its victim died, before the
 * victim's links and joiners. */
static void test_kill_resumes_killer_first(void) {
  ev = grove_event_new();
  grove_greenlet *v = grove_spawn(o_victim, NULL);
  CHECK_EQ(grove_link(v, o_link, NULL), 0);
  grove_greenlet *j = grove_spawn(o_joiner, v);
  CHECK_EQ(grove_sleep(0), 0);
  grove_greenlet *o = grove_spawn(o_other, NULL);
  CHECK_EQ(grove_kill(v, GROVE_FOREVER), 0);
  test_log("killed");
  CHECK_EQ(grove_sleep(0), 0);
  CHECK_LOG("other victim exit killed link joiner");
  grove_greenlet *gs[] = {v, j, o};
  for (int i = 0; i < 3; i++)
    grove_greenlet_release(gs[i]);
  test_log_reset();

  /* killall: the victims in order, then the killer, then their links. */
  grove_greenlet *a = grove_spawn(o_victim, NULL), *b = grove_spawn(o_victim, NULL);
  grove_link(a, o_link, NULL);
  grove_link(b, o_link, NULL);
  CHECK_EQ(grove_sleep(0), 0);
  grove_greenlet *ab[] = {a, b};
  CHECK_EQ(grove_killall(ab, 2, GROVE_FOREVER), 0);
  test_log("killed");
  CHECK_EQ(grove_sleep(0), 0);
  CHECK_LOG("victim exit victim exit killed link link");
  grove_greenlet_release(a);
  grove_greenlet_release(b);
  test_log_reset();

  /* The victim finished while the kill was queued: the killer resumes at
   * the kill's turn. gevent: short short-done killer-back other. */
  grove_greenlet *sh = grove_spawn(o_short, NULL);
  CHECK_EQ(grove_sleep(0), 0);
  grove_greenlet *k = grove_spawn(o_killer, sh);
  o = grove_spawn(o_other, NULL);
  for (int i = 0; i < 3; i++)
    CHECK_EQ(grove_sleep(0), 0);
  CHECK_LOG("short short done killer back other");
  grove_greenlet_release(sh);
  grove_greenlet_release(k);
  grove_greenlet_release(o);
  CHECK_EQ(grove_event_free(ev), 0);
}

static void *o_self_kill(void *arg) {
  grove_greenlet_release(grove_spawn(o_other, NULL));
  if (grove_kill(grove_current(), GROVE_FOREVER) == GROVE_ECANCELED)
    test_log("self exit");
  return arg;
}
static void *o_self_kill_nowait(void *arg) {
  CHECK_EQ(grove_kill_nowait(grove_current()), 0);
  test_log("goes on");
  if (grove_sleep(0) == GROVE_ECANCELED)
    test_log("exit at sleep");
  return arg;
}

/* gevent: a greenlet that kills itself gets GreenletExit through the hub:
 * the greenlet it spawned runs first -> other self-exit. With
 * kill(block=False) it goes on until its next switch. */
static void test_self_kill_through_the_hub(void) {
  grove_greenlet *g = grove_spawn(o_self_kill, NULL);
  CHECK_EQ(grove_join(g, GROVE_FOREVER), 0);
  test_log("dead=%d", grove_ready(g));
  CHECK_LOG("other self exit dead=1");
  grove_greenlet_release(g);
  test_log_reset();
  g = grove_spawn(o_self_kill_nowait, NULL);
  CHECK_EQ(grove_join(g, GROVE_FOREVER), 0);
  CHECK_LOG("goes on exit at sleep");
  CHECK(grove_cancelled(g));
  grove_greenlet_release(g);
}

static grove_greenlet *o_g2;
static void *o_g2_fn(void *arg) {
  test_log("g2 ran");
  return arg;
}
static void *o_g1_fn(void *arg) {
  o_g2 = grove_spawn_later(0.04, o_g2_fn, NULL);
  int rc = grove_join(o_g2, GROVE_FOREVER);
  test_log("g1 joined g2 %s dead=%d", grove_err_name(rc), grove_ready(o_g2));
  return arg;
}

/* gevent: killall([g1, g2], block=False) where g2 has not started and g1
 * joins it: g2 dies first, in the call; g1 is woken by that death and
 * finishes normally before its GreenletExit is delivered. */
static void test_killall_unstarted_first(void) {
  grove_greenlet *g1 = grove_spawn(o_g1_fn, NULL);
  CHECK_EQ(grove_sleep(0), 0);
  grove_greenlet *gs[] = {g1, o_g2};
  CHECK_EQ(grove_killall_nowait(gs, 2), 0);
  test_log("killall");
  CHECK_EQ(grove_sleep(0), 0);
  CHECK_LOG("killall g1 joined g2 GROVE_OK dead=1");
  CHECK(grove_ready(g1));
  grove_greenlet_release(g1);
  grove_greenlet_release(o_g2);
}

TEST_MAIN(TEST(test_kill_blocked), TEST(test_kill_unstarted), TEST(test_kill_spawn_later),
          TEST(test_kill_nowait), TEST(test_kill_timeout_zero), TEST(test_kill_with_timeout),
          TEST(test_kill_sleeping), TEST(test_killall), TEST(test_killall_nowait),
          TEST(test_self_kill), TEST(test_later_blocking_calls_canceled), TEST(test_kill_finished),
          TEST(test_kill_wakes_joiner), TEST(test_kill_joiner_leaves_target),
          TEST(test_killed_greenlet_may_fail), TEST(test_kill_detached), TEST(test_kill_invalid),
          TEST(test_kill_resumes_killer_first), TEST(test_self_kill_through_the_hub),
          TEST(test_killall_unstarted_first))
