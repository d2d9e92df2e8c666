/* tests/hub/test_group.c - Group and Pool (gevent.pool). */
#include "test.h"

#include <stdint.h>

static grove_event *ev;

static void settle(void) { CHECK_EQ(grove_sleep(0.01), 0); }

static void release_all(grove_greenlet **g, int n) {
  for (int i = 0; i < n; i++)
    grove_greenlet_release(g[i]);
}

static void *wait_ev(void *arg) { return IARG(grove_event_wait(ev, GROVE_FOREVER)); }

static void *noop(void *arg) { return arg; }

/* Sleeps arg milliseconds, logging start and end; returns arg. */
static void *task(void *arg) {
  int ms = IVAL(arg);
  test_log("s%d", ms);
  CHECK_EQ(grove_sleep(ms / 1000.0), 0);
  test_log("e%d", ms);
  return arg;
}

static void *failing_task(void *arg) {
  int ms = IVAL(arg);
  CHECK_EQ(grove_sleep(ms / 1000.0), 0);
  if (ms % 2)
    grove_exit(-5000 - ms);
  return IARG(ms);
}

static void test_group_add_discard_contains(void) {
  ev = grove_event_new();
  grove_group *grp = grove_group_new();
  grove_group *other = grove_group_new();
  CHECK(grp != NULL);
  CHECK_EQ(grove_group_size(grp), 0);
  grove_greenlet *g = grove_spawn(wait_ev, NULL);
  CHECK(!grove_group_contains(grp, g));
  CHECK_EQ(grove_group_add(grp, g, GROVE_FOREVER), 0);
  CHECK(grove_group_contains(grp, g));
  CHECK_EQ(grove_group_size(grp), 1);
  CHECK_EQ(grove_group_add(grp, g, 0), GROVE_EEXIST);
  CHECK_EQ(grove_group_add(other, g, 0), GROVE_EEXIST); /* one group at a time */
  CHECK_EQ(grove_group_size(grp), 1);
  CHECK_EQ(grove_group_discard(grp, g), 0);
  CHECK(!grove_group_contains(grp, g));
  CHECK_EQ(grove_group_size(grp), 0);
  CHECK_EQ(grove_group_discard(grp, g), GROVE_ENOENT);
  /* Discarded, it keeps running; now it may join the other group. */
  CHECK_EQ(grove_group_add(other, g, 0), 0);
  CHECK_EQ(grove_sleep(0), 0);
  CHECK(grove_started(g));
  CHECK(!grove_ready(g));
  grove_event_set(ev);
  CHECK_EQ(grove_group_join(other, 1.0), 0);
  CHECK(grove_ready(g));
  CHECK_EQ(grove_group_size(other), 0);
  CHECK(!grove_group_contains(other, g));
  grove_greenlet_release(g);
  CHECK_EQ(grove_group_free(grp), 0);
  CHECK_EQ(grove_group_free(other), 0);
  CHECK_EQ(grove_event_free(ev), 0);
}

static void test_group_add_finished(void) {
  grove_group *grp = grove_group_new();
  grove_greenlet *g = grove_spawn(noop, NULL);
  CHECK_EQ(grove_join(g, 1.0), 0);
  CHECK_EQ(grove_group_add(grp, g, 0), 0);
  /* gevent: len(group) is 1 after adding a finished greenlet, until the hub
   * runs its link notification, which removes it. */
  CHECK_EQ(grove_group_size(grp), 1);
  CHECK(grove_group_contains(grp, g));
  CHECK_EQ(grove_sleep(0), 0);
  CHECK_EQ(grove_group_size(grp), 0);
  CHECK(!grove_group_contains(grp, g));
  CHECK_EQ(grove_group_join(grp, 0), 0);
  CHECK_EQ(grove_group_join(grp, 1.0), 0); /* cleanup even if the above failed */
  grove_greenlet_release(g);
  CHECK_EQ(grove_group_free(grp), 0);
}

static void test_group_members_leave_when_done(void) {
  static const int ms[3] = {90, 60, 20};
  grove_group *grp = grove_group_new();
  CHECK_EQ(grove_group_join(grp, 0), 0); /* empty: returns at once */
  grove_greenlet *g[3];
  for (int i = 0; i < 3; i++) {
    g[i] = grove_group_spawn(grp, task, IARG(ms[i]));
    CHECK(g[i] != NULL);
    CHECK(grove_group_contains(grp, g[i]));
  }
  CHECK_EQ(grove_group_size(grp), 3);
  CHECK_EQ(grove_group_free(grp), GROVE_EBUSY);
  CHECK_EQ(grove_group_join(grp, 0.04), GROVE_ETIMEDOUT);
  CHECK_EQ(grove_group_size(grp), 2);
  CHECK_EQ(grove_group_join(grp, 2.0), 0);
  CHECK_EQ(grove_group_size(grp), 0);
  CHECK_LOG("s90 s60 s20 e20 e60 e90");
  release_all(g, 3);
  CHECK_EQ(grove_group_free(grp), 0);
}

static void test_group_detached_members(void) {
  grove_group *grp = grove_group_new();
  for (int i = 0; i < 5; i++)
    grove_greenlet_release(grove_group_spawn(grp, task, IARG(5)));
  CHECK_EQ(grove_group_size(grp), 5); /* the group holds its own references */
  CHECK_EQ(grove_group_join(grp, 2.0), 0);
  CHECK_EQ(grove_group_size(grp), 0);
  CHECK_EQ(grove_group_free(grp), 0);
}

static void test_group_kill(void) {
  ev = grove_event_new();
  grove_group *grp = grove_group_new();
  grove_greenlet *g[3];
  for (int i = 0; i < 3; i++)
    g[i] = grove_group_spawn(grp, wait_ev, NULL);
  CHECK_EQ(grove_sleep(0), 0);
  CHECK_EQ(grove_group_kill(grp, 2.0), 0);
  CHECK_EQ(grove_group_size(grp), 0);
  for (int i = 0; i < 3; i++) {
    CHECK(grove_ready(g[i]));
    CHECK(grove_cancelled(g[i]));
    CHECK_EQ(IVAL(grove_value(g[i])), GROVE_ECANCELED);
  }
  release_all(g, 3);
  CHECK_EQ(grove_group_kill(grp, 0), 0); /* empty */
  CHECK_EQ(grove_group_free(grp), 0);
  CHECK_EQ(grove_event_free(ev), 0);
}

static void test_group_free_count(void) {
  grove_group *grp = grove_group_new();
  CHECK_EQ(grove_pool_free_count(grp), 1);
  CHECK(!grove_pool_full(grp));
  CHECK_EQ(grove_pool_wait_available(grp, 0), 0);
  CHECK_EQ(grove_group_free(grp), 0);
}

/* gevent: Pool(2), spawn 100 ms and 20 ms tasks, the third spawn blocks until
 * the 20 ms one ends: "spawned2 s100 s20 e20 spawned3 free=0 s30 e30 e100". */
static void test_pool_spawn_blocks_when_full(void) {
  grove_group *pool = grove_pool_new(2);
  CHECK(pool != NULL);
  CHECK_EQ(grove_pool_free_count(pool), 2);
  CHECK(!grove_pool_full(pool));
  double t0 = test_now();
  grove_greenlet *g[3];
  g[0] = grove_group_spawn(pool, task, IARG(100));
  CHECK_EQ(grove_pool_free_count(pool), 1);
  g[1] = grove_group_spawn(pool, task, IARG(20));
  CHECK_EQ(grove_pool_free_count(pool), 0);
  CHECK(grove_pool_full(pool));
  test_log("spawned2");
  g[2] = grove_group_spawn(pool, task, IARG(30));
  double dt = test_now() - t0;
  CHECK(dt >= 0.015 && dt < 2.0);
  test_log("spawned3 free=%zu", grove_pool_free_count(pool));
  CHECK_EQ(grove_group_size(pool), 2);
  CHECK_EQ(grove_group_join(pool, 2.0), 0);
  CHECK_LOG("spawned2 s100 s20 e20 spawned3 free=0 s30 e30 e100");
  CHECK_EQ(grove_pool_free_count(pool), 2);
  release_all(g, 3);
  CHECK_EQ(grove_group_free(pool), 0);
}

static void test_pool_add_blocks_and_times_out(void) {
  ev = grove_event_new();
  grove_group *pool = grove_pool_new(1);
  grove_greenlet *a = grove_spawn(wait_ev, NULL);
  grove_greenlet *b = grove_spawn(wait_ev, NULL);
  CHECK_EQ(grove_group_add(pool, a, 0), 0);
  double t0 = test_now();
  CHECK_EQ(grove_group_add(pool, b, 0.05), GROVE_ETIMEDOUT);
  double dt = test_now() - t0;
  CHECK(dt >= 0.04 && dt < 2.0);
  CHECK(!grove_group_contains(pool, b));
  CHECK_EQ(grove_pool_wait_available(pool, 0), GROVE_ETIMEDOUT);
  CHECK_EQ(grove_pool_wait_available(pool, 0.01), GROVE_ETIMEDOUT);
  grove_event_set(ev);
  CHECK_EQ(grove_pool_wait_available(pool, 2.0), 0);
  CHECK_EQ(grove_pool_free_count(pool), 1);
  CHECK(grove_ready(a));
  CHECK_EQ(grove_join(b, 1.0), 0);
  grove_greenlet_release(a);
  grove_greenlet_release(b);
  CHECK_EQ(grove_group_free(pool), 0);
  CHECK_EQ(grove_event_free(ev), 0);
}

static void test_pool_zero(void) {
  grove_group *pool = grove_pool_new(0);
  CHECK(pool != NULL);
  CHECK_EQ(grove_pool_free_count(pool), 0);
  CHECK(grove_pool_full(pool));
  CHECK_EQ(grove_pool_wait_available(pool, 0.01), GROVE_ETIMEDOUT);
  CHECK_EQ(grove_group_free(pool), 0);
}

static grove_group *spawn_pool;
static void *spawn_into_full_pool(void *arg) {
  grove_greenlet *g = grove_group_spawn(spawn_pool, noop, NULL);
  test_log("spawn=%s", g ? "greenlet" : "NULL");
  grove_greenlet_release(g);
  return NULL;
}

static void test_pool_spawn_killed_while_waiting(void) {
  ev = grove_event_new();
  spawn_pool = grove_pool_new(1);
  grove_greenlet *m = grove_group_spawn(spawn_pool, wait_ev, NULL);
  grove_greenlet *s = grove_spawn(spawn_into_full_pool, NULL);
  CHECK_EQ(grove_sleep(0), 0);
  CHECK_EQ(grove_kill(s, 1.0), 0);
  CHECK_LOG("spawn=NULL");
  CHECK_EQ(grove_group_size(spawn_pool), 1);
  grove_event_set(ev);
  CHECK_EQ(grove_group_join(spawn_pool, 1.0), 0);
  grove_greenlet_release(m);
  grove_greenlet_release(s);
  CHECK_EQ(grove_group_free(spawn_pool), 0);
  CHECK_EQ(grove_event_free(ev), 0);
}

/* gevent: Pool(3).map(task, [3,1,2]) -> [30,10,20] in argument order while the
 * tasks finish 1, 2, 3. */
static void test_map_ordered(void) {
  static void *args[3] = {IARG(60), IARG(20), IARG(40)};
  void *results[3] = {0};
  grove_group *pool = grove_pool_new(3);
  CHECK_EQ(grove_group_map(pool, task, args, 3, results), 0);
  CHECK_EQ(IVAL(results[0]), 60);
  CHECK_EQ(IVAL(results[1]), 20);
  CHECK_EQ(IVAL(results[2]), 40);
  CHECK_LOG("s60 s20 s40 e20 e40 e60");
  CHECK_EQ(grove_group_size(pool), 0);
  CHECK_EQ(grove_group_free(pool), 0);

  /* A pool of one runs them one at a time, still in order. */
  test_log_reset();
  memset(results, 0, sizeof results);
  pool = grove_pool_new(1);
  CHECK_EQ(grove_group_map(pool, task, args, 3, results), 0);
  CHECK_EQ(IVAL(results[0]), 60);
  CHECK_EQ(IVAL(results[1]), 20);
  CHECK_EQ(IVAL(results[2]), 40);
  CHECK_LOG("s60 e60 s20 e20 s40 e40");
  CHECK_EQ(grove_group_free(pool), 0);

  /* A plain group runs them all at once. */
  memset(results, 0, sizeof results);
  grove_group *grp = grove_group_new();
  CHECK_EQ(grove_group_map(grp, task, args, 3, results), 0);
  CHECK_EQ(IVAL(results[0]), 60);
  CHECK_EQ(IVAL(results[2]), 40);
  CHECK_EQ(grove_group_free(grp), 0);
}

static void test_map_first_error_in_index_order(void) {
  static void *args[4] = {IARG(10), IARG(31), IARG(2), IARG(1)};
  void *results[4] = {IARG(-1), IARG(-1), IARG(-1), IARG(-1)};
  grove_group *pool = grove_pool_new(4);
  /* Task 3 (1 ms) fails first in time, task 1 (31 ms) first in index order:
   * gevent's map (list(imap(...))) reads the results in index order and
   * raises at the first failed one, while the later tasks still run. */
  CHECK_EQ(grove_group_map(pool, failing_task, args, 4, results), -5031);
  CHECK_EQ(IVAL(results[0]), 10);
  CHECK_EQ(IVAL(results[1]), -1);           /* not written: the failed one */
  CHECK_EQ(IVAL(results[2]), -1);           /* not read yet */
  CHECK_EQ(grove_group_join(pool, 5.0), 0); /* the rest ran on */
  CHECK_EQ(grove_group_size(pool), 0);
  CHECK_EQ(grove_group_free(pool), 0);
}

/* gevent: Pool(3).imap(task, [60,20,40]) yields 60, 20, 40. */
static void test_imap_ordered(void) {
  static void *args[3] = {IARG(60), IARG(20), IARG(40)};
  grove_group *pool = grove_pool_new(3);
  grove_imap *it = grove_group_imap(pool, task, args, 3);
  CHECK(it != NULL);
  for (int i = 0; i < 3; i++) {
    void *r = NULL;
    size_t idx = 99;
    CHECK_EQ(grove_imap_next(it, &r, &idx, 2.0), 0);
    CHECK_EQ(idx, i);
    CHECK(r == args[i]);
  }
  CHECK_EQ(grove_imap_next(it, NULL, NULL, 1.0), GROVE_EOF);
  CHECK_EQ(grove_imap_next(it, NULL, NULL, 0), GROVE_EOF);
  CHECK_EQ(grove_imap_free(it), 0);
  CHECK_EQ(grove_group_join(pool, 1.0), 0);
  settle();
  CHECK_LOG("s60 s20 s40 e20 e40 e60");
  CHECK_EQ(grove_group_free(pool), 0);
}

/* gevent: Pool(3).imap_unordered(task, [60,20,40]) yields 20, 40, 60 (finish
 * order); with Pool(1) it yields 60, 20, 40. */
static void test_imap_unordered_finish_order(void) {
  static void *args[3] = {IARG(60), IARG(20), IARG(40)};
  static const size_t order3[3] = {1, 2, 0};
  grove_group *pool = grove_pool_new(3);
  grove_imap *it = grove_group_imap_unordered(pool, task, args, 3);
  CHECK(it != NULL);
  for (int i = 0; i < 3; i++) {
    void *r = NULL;
    size_t idx = 99;
    CHECK_EQ(grove_imap_next(it, &r, &idx, 2.0), 0);
    CHECK_EQ(idx, order3[i]);
    CHECK(r == args[order3[i]]);
  }
  CHECK_EQ(grove_imap_next(it, NULL, NULL, 1.0), GROVE_EOF);
  CHECK_EQ(grove_imap_free(it), 0);
  CHECK_EQ(grove_group_join(pool, 1.0), 0);
  settle();
  CHECK_LOG("s60 s20 s40 e20 e40 e60");
  CHECK_EQ(grove_group_free(pool), 0);

  test_log_reset();
  pool = grove_pool_new(1);
  it = grove_group_imap_unordered(pool, task, args, 3);
  for (int i = 0; i < 3; i++) {
    size_t idx = 99;
    CHECK_EQ(grove_imap_next(it, NULL, &idx, 2.0), 0);
    CHECK_EQ(idx, i);
  }
  CHECK_EQ(grove_imap_next(it, NULL, NULL, 1.0), GROVE_EOF);
  CHECK_EQ(grove_imap_free(it), 0);
  CHECK_EQ(grove_group_join(pool, 1.0), 0);
  settle();
  CHECK_LOG("s60 e60 s20 e20 s40 e40");
  CHECK_EQ(grove_group_free(pool), 0);
}

static void test_imap_errors_and_timeout(void) {
  static void *args[3] = {IARG(2), IARG(31), IARG(50)};
  grove_group *grp = grove_group_new();
  grove_imap *it = grove_group_imap(grp, failing_task, args, 3);
  void *r = NULL;
  size_t idx = 99;
  CHECK_EQ(grove_imap_next(it, &r, &idx, 2.0), 0);
  CHECK_EQ(IVAL(r), 2);
  CHECK_EQ(grove_imap_next(it, &r, &idx, 2.0), -5031);
  /* The last task takes 50 ms: a short wait times out, then it arrives. */
  CHECK_EQ(grove_imap_next(it, &r, &idx, 0.001), GROVE_ETIMEDOUT);
  CHECK_EQ(grove_imap_next(it, &r, &idx, 2.0), 0);
  CHECK_EQ(IVAL(r), 50);
  CHECK_EQ(idx, 2);
  CHECK_EQ(grove_imap_next(it, &r, &idx, 2.0), GROVE_EOF);
  CHECK_EQ(grove_imap_free(it), 0);
  CHECK_EQ(grove_group_join(grp, 1.0), 0);
  settle();
  CHECK_EQ(grove_group_free(grp), 0);
}

static void test_imap_free_early(void) {
  /* Freeing the iterator early: the tasks keep running and finish. */
  static void *args[3] = {IARG(10), IARG(20), IARG(30)};
  grove_group *grp = grove_group_new();
  grove_imap *it = grove_group_imap_unordered(grp, task, args, 3);
  CHECK_EQ(grove_imap_next(it, NULL, NULL, 2.0), 0);
  CHECK_EQ(grove_imap_free(it), 0);
  CHECK_EQ(grove_group_join(grp, 2.0), 0);
  settle();
  CHECK_LOG("s10 s20 s30 e10 e20 e30");
  CHECK_EQ(grove_group_free(grp), 0);
}

static grove_event *cb_done;
static void callback(void *result, void *cb_arg) {
  test_log("cb%d:%s", IVAL(result), (const char *)cb_arg);
  if (cb_done)
    grove_event_set(cb_done);
}

/* gevent: apply_async(task, (1,), callback=cb).join() -> "s1 e1 cb10 joined":
 * the callback, linked first, runs before join() returns. */
static void test_apply_async_callback(void) {
  cb_done = NULL;
  grove_group *grp = grove_group_new();
  grove_greenlet *g = grove_group_apply_async(grp, task, IARG(10), callback, "x");
  CHECK(g != NULL);
  CHECK(grove_group_contains(grp, g));
  CHECK_EQ(grove_join(g, 2.0), 0);
  test_log("joined");
  settle();
  CHECK_LOG("s10 e10 cb10:x joined");
  grove_greenlet_release(g);
  CHECK_EQ(grove_group_join(grp, 1.0), 0);
  CHECK_EQ(grove_group_free(grp), 0);
}

static void test_apply_async_no_callback_on_failure(void) {
  cb_done = NULL;
  grove_group *grp = grove_group_new();
  grove_greenlet *g = grove_group_apply_async(grp, failing_task, IARG(1), callback, "y");
  grove_greenlet *h = grove_group_apply_async(grp, failing_task, IARG(2), NULL, NULL);
  CHECK_EQ(grove_join(g, 2.0), 0);
  CHECK_EQ(grove_join(h, 2.0), 0);
  settle();
  CHECK_LOG("");
  CHECK_EQ(grove_error(g), -5001);
  CHECK_EQ(IVAL(grove_value(h)), 2);
  grove_greenlet_release(g);
  grove_greenlet_release(h);
  CHECK_EQ(grove_group_free(grp), 0);
}

static void *log_noop(void *arg) {
  test_log("fn");
  return arg;
}

/* gevent: Pool.apply_async on a full pool does not block the caller; it
 * returns a plain greenlet (not in the pool) that runs apply(), i.e. waits for
 * room: log [] until the member ends, then ['fn', 'cb4'], value 4. */
static void test_apply_async_full_pool(void) {
  ev = grove_event_new();
  cb_done = grove_event_new();
  grove_group *pool = grove_pool_new(1);
  grove_greenlet *m = grove_group_spawn(pool, wait_ev, NULL);
  double t0 = test_now();
  grove_greenlet *g = grove_group_apply_async(pool, log_noop, IARG(4), callback, "z");
  CHECK(test_now() - t0 < 0.5);
  CHECK(g != NULL);
  CHECK(!grove_group_contains(pool, g));
  CHECK_EQ(grove_group_size(pool), 1);
  CHECK_EQ(grove_sleep(0.05), 0);
  CHECK_LOG("");
  CHECK(!grove_ready(g));
  grove_event_set(ev);
  CHECK_EQ(grove_event_wait(cb_done, 2.0), 0);
  CHECK_EQ(grove_join(g, 1.0), 0);
  settle();
  CHECK_LOG("fn cb4:z");
  CHECK_EQ(IVAL(grove_value(g)), 4);
  CHECK_EQ(grove_group_join(pool, 1.0), 0);
  grove_greenlet_release(g);
  grove_greenlet_release(m);
  CHECK_EQ(grove_group_free(pool), 0);
  CHECK_EQ(grove_event_free(ev), 0);
  CHECK_EQ(grove_event_free(cb_done), 0);
  cb_done = NULL;
}

static void test_apply(void) {
  grove_group *pool = grove_pool_new(2);
  void *v = NULL;
  CHECK_EQ(grove_group_apply(pool, task, IARG(5), &v), 0);
  CHECK_EQ(IVAL(v), 5);
  CHECK_EQ(grove_group_apply(pool, failing_task, IARG(3), &v), -5003);
  CHECK_EQ(grove_group_apply(pool, noop, IARG(1), NULL), 0);
  CHECK_EQ(grove_group_size(pool), 0);
  CHECK_EQ(grove_group_free(pool), 0);
}

static void test_invalid(void) {
  grove_group *grp = grove_group_new();
  void *r;
  CHECK(grove_group_spawn(NULL, noop, NULL) == NULL);
  CHECK(grove_group_spawn(grp, NULL, NULL) == NULL);
  CHECK_EQ(grove_group_add(NULL, NULL, 0), GROVE_EINVAL);
  CHECK_EQ(grove_group_add(grp, NULL, 0), GROVE_EINVAL);
  CHECK_EQ(grove_group_discard(grp, NULL), GROVE_EINVAL);
  CHECK_EQ(grove_group_discard(NULL, NULL), GROVE_EINVAL);
  CHECK_EQ(grove_group_join(NULL, 0), GROVE_EINVAL);
  CHECK_EQ(grove_group_kill(NULL, 0), GROVE_EINVAL);
  CHECK_EQ(grove_pool_wait_available(NULL, 0), GROVE_EINVAL);
  CHECK_EQ(grove_group_map(NULL, noop, NULL, 0, NULL), GROVE_EINVAL);
  CHECK_EQ(grove_group_map(grp, NULL, NULL, 0, NULL), GROVE_EINVAL);
  CHECK_EQ(grove_group_apply(NULL, noop, NULL, &r), GROVE_EINVAL);
  CHECK_EQ(grove_group_apply(grp, NULL, NULL, &r), GROVE_EINVAL);
  CHECK(grove_group_apply_async(grp, NULL, NULL, NULL, NULL) == NULL);
  CHECK(grove_group_imap(grp, NULL, NULL, 0) == NULL);
  CHECK_EQ(grove_imap_next(NULL, &r, NULL, 0), GROVE_EINVAL);
  CHECK_EQ(grove_imap_free(NULL), GROVE_EINVAL);
  CHECK_EQ(grove_group_free(NULL), GROVE_EINVAL);
  CHECK_EQ(grove_group_size(grp), 0);
  CHECK_EQ(grove_hub_greenlet_count(), 0);
  CHECK_EQ(grove_group_free(grp), 0);
}

/* ---- map, apply and imap(maxsize), checked against gevent 22.10 ----------- */

static void *o_w(void *arg) {
  int x = IVAL(arg);
  test_log("w%d", x);
  if (x < 3)
    grove_exit(-x);
  return arg;
}

/* gevent: Pool(3).map(w, [1, 2, 3]) where w fails for 1 and 2 -> w1 w2 w3
 * map err=-1: every task is spawned before the first result is read. */
static void test_map_spawns_every_task_first(void) {
  grove_group *p = grove_pool_new(3);
  void *args[] = {IARG(1), IARG(2), IARG(3)}, *res[3] = {0};
  int rc = grove_group_map(p, o_w, args, 3, res);
  test_log("map err=%d", rc);
  CHECK_LOG("w1 w2 w3 map err=-1");
  CHECK_EQ(grove_group_join(p, 1.0), 0);
  CHECK_EQ(grove_group_free(p), 0);
}

static grove_group *o_p;
static void *o_slow(void *arg) {
  test_log("slow start");
  if (grove_sleep(0.32) == 0)
    test_log("not reached");
  return arg;
}
static void *o_member(void *arg) {
  void *v = NULL;
  if (grove_group_apply(o_p, o_slow, NULL, &v) == GROVE_ECANCELED)
    test_log("apply exit");
  return arg;
}

/* gevent: Pool(1) kept full; with Timeout(0.01): p.apply(w, (3,)) ->
 * Timeout (the wait for room failed: its code, not ENOMEM). A member calls
 * p.apply(slow) inline and is killed during it -> slow-start apply-exit
 * dead=True. */
static void test_apply_errors(void) {
  o_p = grove_pool_new(1);
  ev = grove_event_new();
  grove_greenlet *blocker = grove_group_spawn(o_p, wait_ev, NULL);
  grove_timeout *t = grove_timeout_start(0.01);
  void *v = NULL;
  CHECK_EQ(grove_group_apply(o_p, o_w, IARG(3), &v), GROVE_ETIMEDOUT);
  grove_greenlet *g = NULL;
  CHECK_EQ(grove_group_spawn_ex(o_p, o_w, IARG(3), NULL, &g), GROVE_ETIMEDOUT);
  CHECK(g == NULL);
  CHECK_EQ(grove_timeout_cancel(t), 0);
  CHECK_EQ(grove_kill(blocker, 1.0), 0);
  grove_greenlet_release(blocker);
  CHECK_EQ(grove_group_join(o_p, 1.0), 0);
  CHECK_EQ(grove_group_spawn_ex(o_p, NULL, NULL, NULL, &g), GROVE_EINVAL);
  CHECK_EQ(grove_group_free(o_p), 0);
  CHECK_EQ(grove_event_free(ev), 0);

  o_p = grove_pool_new(2);
  g = grove_group_spawn(o_p, o_member, NULL);
  CHECK_EQ(grove_sleep(0), 0);
  CHECK_EQ(grove_kill(g, GROVE_FOREVER), 0);
  test_log("dead=%d", grove_ready(g));
  CHECK_LOG("slow start apply exit dead=1");
  grove_greenlet_release(g);
  CHECK_EQ(grove_group_join(o_p, 1.0), 0);
  CHECK_EQ(grove_group_free(o_p), 0);
}

static void *o_v(void *arg) {
  test_log("v%d", IVAL(arg));
  return arg;
}

/* gevent: Pool(4).imap(v, [1, 2, 3, 4], maxsize=1); sleep(0.01); print
 * first; then iterate -> v1 first r1 v2 v3 r2 r3 v4 r4.
 * imap_unordered(v, [1, 2, 3], maxsize=2) -> v1 v2 first r1 r2 v3 r3. */
static void test_imap_maxsize(void) {
  grove_group *p = grove_pool_new(4);
  void *args[] = {IARG(1), IARG(2), IARG(3), IARG(4)};
  grove_imap_opts o = {.unordered = false, .maxsize = 1};
  grove_imap *it = grove_group_imap_ex(p, o_v, args, 4, &o);
  CHECK_EQ(grove_sleep(0.01), 0);
  test_log("first");
  void *r;
  int rc;
  while ((rc = grove_imap_next(it, &r, NULL, GROVE_FOREVER)) == 0)
    test_log("r%d", IVAL(r));
  CHECK_EQ(rc, GROVE_EOF);
  CHECK_LOG("v1 first r1 v2 v3 r2 r3 v4 r4");
  CHECK_EQ(grove_imap_free(it), 0);
  test_log_reset();
  o.unordered = true;
  o.maxsize = 2;
  it = grove_group_imap_ex(p, o_v, args, 3, &o);
  CHECK_EQ(grove_sleep(0.01), 0);
  test_log("first");
  while ((rc = grove_imap_next(it, &r, NULL, GROVE_FOREVER)) == 0)
    test_log("r%d", IVAL(r));
  CHECK_LOG("v1 v2 first r1 r2 v3 r3");
  CHECK_EQ(grove_imap_free(it), 0);
  /* Dropped early: the helper waiting for a result to be taken ends. */
  o.maxsize = 1;
  it = grove_group_imap_ex(p, o_v, args, 4, &o);
  CHECK_EQ(grove_sleep(0.01), 0);
  CHECK_EQ(grove_imap_free(it), 0);
  CHECK_EQ(grove_sleep(0.01), 0);
  CHECK_EQ(grove_group_join(p, 1.0), 0);
  CHECK_EQ(grove_group_free(p), 0);
}

TEST_MAIN(TEST(test_group_add_discard_contains), TEST(test_group_add_finished),
          TEST(test_group_members_leave_when_done), TEST(test_group_detached_members),
          TEST(test_group_kill), TEST(test_group_free_count),
          TEST(test_pool_spawn_blocks_when_full), TEST(test_pool_add_blocks_and_times_out),
          TEST(test_pool_zero), TEST(test_pool_spawn_killed_while_waiting), TEST(test_map_ordered),
          TEST(test_map_first_error_in_index_order), TEST(test_imap_ordered),
          TEST(test_imap_unordered_finish_order), TEST(test_imap_errors_and_timeout),
          TEST(test_imap_free_early), TEST(test_apply_async_callback),
          TEST(test_apply_async_no_callback_on_failure), TEST(test_apply_async_full_pool),
          TEST(test_apply), TEST(test_invalid), TEST(test_map_spawns_every_task_first),
          TEST(test_apply_errors), TEST(test_imap_maxsize))
