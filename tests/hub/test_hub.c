/* tests/hub/test_hub.c - the hub itself: LoopExit, grove_hub_post from other
 * threads, thread ownership (GROVE_EPERM), one hub per thread, grove_dump,
 * error names and NULL arguments across the API. */
#include "test.h"

#include <pthread.h>
#include <stdint.h>
#include <unistd.h>

static grove_event *ev;

static void *wait_ev(void *arg) { return IARG(grove_event_wait(ev, GROVE_FOREVER)); }
static void *noop(void *arg) { return arg; }

/* gevent: the main greenlet waiting on an Event nobody can set gets LoopExit
 * instead of hanging. */
static void test_loopexit_main_event(void) {
  ev = grove_event_new();
  double t0 = test_now();
  CHECK_EQ(grove_event_wait(ev, GROVE_FOREVER), GROVE_ELOOPEXIT);
  CHECK(test_now() - t0 < 2.0);
  /* The hub is still usable afterwards. */
  CHECK_EQ(grove_sleep(0.01), 0);
  grove_event_set(ev);
  CHECK_EQ(grove_event_wait(ev, GROVE_FOREVER), 0);
  CHECK_EQ(grove_event_free(ev), 0);
}

static void *yield_a_few(void *arg) {
  for (int i = 0; i < 3; i++)
    grove_sleep(0);
  return NULL;
}

static void test_loopexit_after_others_finish(void) {
  /* Runnable greenlets that never set the event run first, then LoopExit. */
  ev = grove_event_new();
  grove_greenlet *g = grove_spawn(yield_a_few, NULL);
  CHECK_EQ(grove_event_wait(ev, GROVE_FOREVER), GROVE_ELOOPEXIT);
  CHECK(grove_ready(g));
  grove_greenlet_release(g);
  CHECK_EQ(grove_event_free(ev), 0);
}

/* gevent: joining a greenlet blocked on an Event nobody sets raises LoopExit
 * in the joiner. */
static void test_loopexit_join(void) {
  ev = grove_event_new();
  grove_greenlet *g = grove_spawn(wait_ev, NULL);
  double t0 = test_now();
  CHECK_EQ(grove_join(g, GROVE_FOREVER), GROVE_ELOOPEXIT);
  CHECK(test_now() - t0 < 2.0);
  CHECK(grove_started(g));
  CHECK(!grove_ready(g));
  CHECK_EQ(grove_kill(g, GROVE_FOREVER), 0);
  CHECK_EQ(IVAL(grove_value(g)), GROVE_ECANCELED);
  grove_greenlet_release(g);
  CHECK_EQ(grove_event_free(ev), 0);
}

static void test_loopexit_other_primitives(void) {
  grove_queue *q = grove_queue_new(0);
  grove_semaphore *s = grove_semaphore_new(0);
  grove_async_result *r = grove_async_result_new();
  grove_queue *jq = grove_joinable_queue_new(0);
  void *v;
  CHECK_EQ(grove_queue_get(q, &v, GROVE_FOREVER), GROVE_ELOOPEXIT);
  CHECK_EQ(grove_semaphore_acquire(s, GROVE_FOREVER), GROVE_ELOOPEXIT);
  CHECK_EQ(grove_async_result_get(r, &v, GROVE_FOREVER), GROVE_ELOOPEXIT);
  CHECK_EQ(grove_queue_put(jq, IARG(1), 0), 0);
  CHECK_EQ(grove_queue_join(jq, GROVE_FOREVER), GROVE_ELOOPEXIT);
  ev = grove_event_new();
  grove_group *grp = grove_group_new();
  grove_greenlet *m = grove_group_spawn(grp, wait_ev, NULL);
  CHECK_EQ(grove_group_join(grp, GROVE_FOREVER), GROVE_ELOOPEXIT);
  CHECK_EQ(grove_group_kill(grp, GROVE_FOREVER), 0);
  grove_greenlet_release(m);
  CHECK_EQ(grove_group_free(grp), 0);
  CHECK_EQ(grove_event_free(ev), 0);
  CHECK_EQ(grove_queue_get(jq, &v, 0), 0);
  CHECK_EQ(grove_queue_task_done(jq), 0);
  CHECK_EQ(grove_queue_free(jq), 0);
  CHECK_EQ(grove_queue_free(q), 0);
  CHECK_EQ(grove_semaphore_free(s), 0);
  CHECK_EQ(grove_async_result_free(r), 0);
}

static void *set_later(void *arg) {
  CHECK_EQ(grove_sleep(0.05), 0);
  grove_event_set(ev);
  return NULL;
}

/* A pending timer can still wake the waiter: no LoopExit. */
static void test_timer_keeps_loop_alive(void) {
  ev = grove_event_new();
  grove_greenlet *g = grove_spawn(set_later, NULL);
  CHECK_EQ(grove_event_wait(ev, GROVE_FOREVER), 0);
  CHECK_EQ(grove_join(g, 1.0), 0);
  grove_greenlet_release(g);
  grove_event_clear(ev);
  /* gevent: e.wait(0.05) alone returns False after the timeout. */
  double t0 = test_now();
  CHECK_EQ(grove_event_wait(ev, 0.05), GROVE_ETIMEDOUT);
  CHECK(test_now() - t0 >= 0.04);
  CHECK_EQ(grove_event_free(ev), 0);
}

/* ---- grove_hub_post ------------------------------------------------------ */

static grove_event *post_ev;
static int post_rc;

static void post_set_event(void *arg) { grove_event_set((grove_event *)arg); }

static void *poster_thread(void *arg) {
  usleep(20000);
  post_rc = grove_hub_post(post_set_event, post_ev);
  return NULL;
}

/* gevent: hub.loop.run_callback_threadsafe from a thread wakes a greenlet
 * waiting on an Event. */
static void test_post_from_thread_wakes_waiter(void) {
  CHECK(grove_hub_current() != NULL);
  CHECK(grove_hub_default() == grove_hub_current());
  post_ev = grove_event_new();
  post_rc = 1;
  CHECK_EQ(grove_hub_hold(), 0);
  pthread_t th;
  CHECK_EQ(pthread_create(&th, NULL, poster_thread, NULL), 0);
  alarm(30); /* a broken post would hang the wait below */
  double t0 = test_now();
  CHECK_EQ(grove_event_wait(post_ev, GROVE_FOREVER), 0);
  alarm(0);
  CHECK(test_now() - t0 < 5.0);
  CHECK_EQ(grove_hub_unhold(), 0);
  pthread_join(th, NULL);
  CHECK_EQ(post_rc, 0);
  CHECK_EQ(grove_event_free(post_ev), 0);
}

static void *set_post_ev(void *arg) {
  test_log("greenlet");
  grove_event_set(post_ev);
  return NULL;
}

static void post_spawn(void *arg) {
  test_log("callback");
  grove_greenlet_release(grove_spawn(set_post_ev, NULL));
}

static void *post_spawn_thread(void *arg) {
  usleep(10000);
  post_rc = grove_hub_post_to((grove_hub *)arg, post_spawn, NULL);
  return NULL;
}

static void test_post_to_callback_spawns_greenlet(void) {
  post_ev = grove_event_new();
  post_rc = 1;
  CHECK_EQ(grove_hub_hold(), 0);
  pthread_t th;
  CHECK_EQ(pthread_create(&th, NULL, post_spawn_thread, grove_hub_current()), 0);
  CHECK_EQ(grove_event_wait(post_ev, 10.0), 0);
  CHECK_EQ(grove_hub_unhold(), 0);
  pthread_join(th, NULL);
  CHECK_EQ(post_rc, 0);
  CHECK_EQ(grove_sleep(0.01), 0);
  CHECK_LOG("callback greenlet");
  CHECK_EQ(grove_event_free(post_ev), 0);
}

enum { NPOSTS = 1000 };
static int post_count, post_out_of_order, post_fail;

static void post_inc(void *arg) {
  if (IVAL(arg) != post_count)
    post_out_of_order++;
  if (++post_count == NPOSTS)
    grove_event_set(post_ev);
}

static void *many_poster(void *arg) {
  for (int i = 0; i < NPOSTS; i++)
    if (grove_hub_post(post_inc, IARG(i)) != 0)
      post_fail++;
  return NULL;
}

/* gevent: callbacks posted from one thread run in the order posted. */
static void test_many_posts(void) {
  post_ev = grove_event_new();
  post_count = post_out_of_order = post_fail = 0;
  CHECK_EQ(grove_hub_hold(), 0);
  pthread_t th;
  CHECK_EQ(pthread_create(&th, NULL, many_poster, NULL), 0);
  CHECK_EQ(grove_event_wait(post_ev, 10.0), 0);
  CHECK_EQ(grove_hub_unhold(), 0);
  pthread_join(th, NULL);
  CHECK_EQ(post_fail, 0);
  CHECK_EQ(post_count, NPOSTS);
  CHECK_EQ(post_out_of_order, 0);
  CHECK_EQ(grove_event_free(post_ev), 0);
}

static void post_log(void *arg) { test_log("posted%d", IVAL(arg)); }

static void test_post_from_hub_thread(void) {
  CHECK(grove_hub_current() != NULL); /* post never creates a hub */
  CHECK_EQ(grove_hub_post(post_log, IARG(1)), 0);
  CHECK_EQ(grove_hub_post_to(grove_hub_current(), post_log, IARG(2)), 0);
  CHECK_EQ(grove_sleep(0.01), 0);
  CHECK_LOG("posted1 posted2");
}

static void test_hold_unbalanced(void) {
  CHECK_EQ(grove_hub_unhold(), GROVE_EINVAL);
  CHECK_EQ(grove_hub_hold(), 0);
  CHECK_EQ(grove_hub_hold(), 0);
  CHECK_EQ(grove_hub_unhold(), 0);
  CHECK_EQ(grove_hub_unhold(), 0);
  CHECK_EQ(grove_hub_unhold(), GROVE_EINVAL);
  /* Without a hold, a forever wait is LoopExit again. */
  ev = grove_event_new();
  CHECK_EQ(grove_event_wait(ev, GROVE_FOREVER), GROVE_ELOOPEXIT);
  CHECK_EQ(grove_event_free(ev), 0);
}

/* ---- thread ownership ---------------------------------------------------- */

static struct {
  grove_event *e;
  grove_async_result *r;
  grove_queue *q;
  grove_semaphore *s;
  grove_lock *l;
  grove_rlock *rl;
  grove_group *grp;
  grove_greenlet *g;
} objs;

enum { NFOREIGN = 22 };
static int foreign_rc[NFOREIGN];
static double foreign_elapsed;

static void dummy_link(grove_greenlet *g, void *arg) {}

static void *foreign_thread(void *arg) {
  void *v;
  int i = 0;
  double t0 = test_now();
  foreign_rc[i++] = grove_event_wait(objs.e, 0);
  foreign_rc[i++] = grove_event_wait(objs.e, 1.0);
  foreign_rc[i++] = grove_event_free(objs.e);
  foreign_rc[i++] = grove_async_result_get(objs.r, &v, 0);
  foreign_rc[i++] = grove_async_result_wait(objs.r, 1.0);
  foreign_rc[i++] = grove_async_result_free(objs.r);
  foreign_rc[i++] = grove_queue_put(objs.q, IARG(1), 0);
  foreign_rc[i++] = grove_queue_get(objs.q, &v, 1.0);
  foreign_rc[i++] = grove_queue_put_nowait(objs.q, IARG(1));
  foreign_rc[i++] = grove_queue_get_nowait(objs.q, &v);
  foreign_rc[i++] = grove_queue_free(objs.q);
  foreign_rc[i++] = grove_semaphore_acquire(objs.s, 0);
  foreign_rc[i++] = grove_semaphore_release(objs.s);
  foreign_rc[i++] = grove_lock_acquire(objs.l, 1.0);
  foreign_rc[i++] = grove_rlock_acquire(objs.rl, 0);
  foreign_rc[i++] = grove_group_join(objs.grp, 1.0);
  foreign_rc[i++] = grove_group_add(objs.grp, objs.g, 0);
  foreign_rc[i++] = grove_join(objs.g, 1.0);
  foreign_rc[i++] = grove_get(objs.g, &v, 0);
  foreign_rc[i++] = grove_kill(objs.g, 0);
  foreign_rc[i++] = grove_link(objs.g, dummy_link, NULL);
  foreign_elapsed = test_now() - t0;
  /* The calls that return nothing are ignored. */
  grove_event_set(objs.e);
  grove_async_result_set(objs.r, IARG(1));
  /* This thread may have got a hub of its own; release it. */
  foreign_rc[i++] = grove_hub_close();
  return NULL;
}

static void *wait_objs_e(void *arg) { return IARG(grove_event_wait(objs.e, GROVE_FOREVER)); }

static void test_wrong_thread_is_eperm(void) {
  objs.e = grove_event_new();
  objs.r = grove_async_result_new();
  objs.q = grove_queue_new(0);
  objs.s = grove_semaphore_new(1);
  objs.l = grove_lock_new();
  objs.rl = grove_rlock_new();
  objs.grp = grove_group_new();
  objs.g = grove_spawn(wait_objs_e, NULL);
  CHECK_EQ(grove_sleep(0), 0); /* g is now blocked on e */
  for (int i = 0; i < NFOREIGN; i++)
    foreign_rc[i] = 12345;
  pthread_t th;
  CHECK_EQ(pthread_create(&th, NULL, foreign_thread, NULL), 0);
  pthread_join(th, NULL);
  for (int i = 0; i < NFOREIGN - 1; i++) {
    if (foreign_rc[i] != GROVE_EPERM)
      fprintf(stderr, "foreign call #%d returned %s\n", i, grove_err_name(foreign_rc[i]));
    CHECK_EQ(foreign_rc[i], GROVE_EPERM);
  }
  CHECK_EQ(foreign_rc[NFOREIGN - 1], 0); /* grove_hub_close in the thread */
  CHECK(foreign_elapsed < 0.9);          /* refused at once, no waiting */

  /* Nothing was changed or freed by the refused calls. */
  CHECK(!grove_event_is_set(objs.e));
  CHECK(!grove_async_result_ready(objs.r));
  CHECK_EQ(grove_queue_qsize(objs.q), 0);
  CHECK_EQ(grove_semaphore_counter(objs.s), 1);
  CHECK(!grove_lock_locked(objs.l));
  CHECK(!grove_rlock_locked(objs.rl));
  CHECK_EQ(grove_group_size(objs.grp), 0);
  CHECK(!grove_ready(objs.g));
  CHECK(!grove_cancelled(objs.g));
  CHECK_EQ(grove_hub_greenlet_count(), 1);

  grove_event_set(objs.e);
  CHECK_EQ(grove_join(objs.g, 1.0), 0);
  CHECK_EQ(IVAL(grove_value(objs.g)), 0);
  grove_greenlet_release(objs.g);
  CHECK_EQ(grove_event_free(objs.e), 0);
  CHECK_EQ(grove_async_result_free(objs.r), 0);
  CHECK_EQ(grove_queue_free(objs.q), 0);
  CHECK_EQ(grove_semaphore_free(objs.s), 0);
  CHECK_EQ(grove_lock_free(objs.l), 0);
  CHECK_EQ(grove_rlock_free(objs.rl), 0);
  CHECK_EQ(grove_group_free(objs.grp), 0);
}

/* ---- one hub per thread -------------------------------------------------- */

static struct {
  int sum;
  int join_rc;
  int close_rc;
  int distinct_hub;
  size_t count_before_close;
} th_res;
static grove_hub *main_hub;

static void *thread_worker(void *arg) {
  CHECK_EQ(grove_sleep(0.01), 0);
  return arg;
}

static void *own_hub_thread(void *arg) {
  th_res.distinct_hub = grove_hub_current() != NULL && grove_hub_current() != main_hub;
  grove_greenlet *g[10];
  for (int i = 0; i < 10; i++)
    g[i] = grove_spawn(thread_worker, IARG(i));
  th_res.join_rc = grove_joinall(g, 10, 5.0);
  th_res.sum = 0;
  for (int i = 0; i < 10; i++) {
    th_res.sum += IVAL(grove_value(g[i]));
    grove_greenlet_release(g[i]);
  }
  th_res.count_before_close = grove_hub_greenlet_count();
  th_res.close_rc = grove_hub_close();
  return NULL;
}

static void test_thread_has_own_hub(void) {
  main_hub = grove_hub_current();
  ev = grove_event_new();
  grove_greenlet *mine = grove_spawn(wait_ev, NULL);
  CHECK_EQ(grove_sleep(0), 0);
  memset(&th_res, 0, sizeof th_res);
  th_res.close_rc = 12345;
  pthread_t th;
  CHECK_EQ(pthread_create(&th, NULL, own_hub_thread, NULL), 0);
  pthread_join(th, NULL);
  CHECK(th_res.distinct_hub);
  CHECK_EQ(th_res.join_rc, 0);
  CHECK_EQ(th_res.sum, 45);
  CHECK_EQ(th_res.count_before_close, 0);
  CHECK_EQ(th_res.close_rc, 0);
  /* The main hub is unaffected. */
  CHECK(grove_hub_current() == main_hub);
  CHECK_EQ(grove_hub_greenlet_count(), 1);
  grove_event_set(ev);
  CHECK_EQ(grove_join(mine, 1.0), 0);
  grove_greenlet_release(mine);
  CHECK_EQ(grove_event_free(ev), 0);
}

/* ---- grove_dump ---------------------------------------------------------- */

static void *sleeper(void *arg) {
  grove_sleep(5.0);
  return NULL;
}

static void test_dump_mentions_names(void) {
  ev = grove_event_new();
  grove_spawn_opts a = {.name = "alpha-worker"};
  grove_spawn_opts b = {.name = "beta-sleeper"};
  grove_greenlet *g[3] = {grove_spawn_ex(wait_ev, NULL, &a), grove_spawn_ex(sleeper, NULL, &b),
                          grove_spawn(noop, NULL)};
  CHECK_EQ(grove_greenlet_set_name(g[2], "gamma-renamed"), 0);
  CHECK_EQ(grove_sleep(0), 0);
  /* g[2] has finished: only live greenlets need to be listed. */
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  CHECK(f != NULL);
  grove_dump(f);
  fclose(f);
  CHECK(buf != NULL && len > 0);
  if (buf) {
    CHECK(strstr(buf, "alpha-worker") != NULL);
    CHECK(strstr(buf, "beta-sleeper") != NULL);
  }
  free(buf);

  /* Unstarted greenlets are listed too. */
  grove_greenlet *late = grove_spawn(noop, NULL);
  CHECK_EQ(grove_greenlet_set_name(late, "delta-unstarted"), 0);
  buf = NULL;
  f = open_memstream(&buf, &len);
  grove_dump(f);
  fclose(f);
  CHECK(buf && strstr(buf, "delta-unstarted") != NULL);
  CHECK(buf && strstr(buf, "alpha-worker") != NULL);
  free(buf);

  CHECK_EQ(grove_killall(g, 3, 2.0), 0);
  CHECK_EQ(grove_join(late, 1.0), 0);
  for (int i = 0; i < 3; i++)
    grove_greenlet_release(g[i]);
  grove_greenlet_release(late);
  CHECK_EQ(grove_event_free(ev), 0);
}

/* ---- error codes ----------------------------------------------------------- */

static void test_error_names_and_messages(void) {
#define CHECK_CODE(name, value, msg)                                                               \
  CHECK_EQ(GROVE_##name, value);                                                                   \
  CHECK(GROVE_##name < 0);                                                                         \
  CHECK_STR(grove_err_name(GROVE_##name), "GROVE_" #name);                                         \
  CHECK_STR(grove_strerror(GROVE_##name), msg);
  GROVE_ERRNO_MAP(CHECK_CODE)
#undef CHECK_CODE
  /* Codes are distinct. */
  static const int codes[] = {
#define LIST_CODE(name, value, msg) GROVE_##name,
      GROVE_ERRNO_MAP(LIST_CODE)
#undef LIST_CODE
  };
  size_t n = sizeof codes / sizeof codes[0];
  int dup = 0;
  for (size_t i = 0; i < n; i++)
    for (size_t j = i + 1; j < n; j++)
      if (codes[i] == codes[j])
        dup++;
  CHECK_EQ(dup, 0);
  CHECK_EQ(GROVE_ETIMEDOUT, -ETIMEDOUT);
  CHECK_EQ(GROVE_ECANCELED, -ECANCELED);
  CHECK_STR(grove_err_name(0), "GROVE_OK");
  CHECK(grove_strerror(0) != NULL);
  CHECK_STR(grove_err_name(12345), "GROVE_UNKNOWN");
  CHECK_STR(grove_err_name(-3999), "GROVE_UNKNOWN");
  CHECK(grove_strerror(12345) != NULL);
  CHECK(grove_strerror(-3999) != NULL);
  /* A code from the OS outside the table is described by libuv's text. */
  CHECK_STR(grove_err_name(-EROFS), "GROVE_UNKNOWN");
  CHECK(strstr(grove_strerror(-EROFS), "ead-only") != NULL);
  CHECK_STR(grove_err_name(-EPIPE), "GROVE_EPIPE"); /* I/O codes have names */
}

/* ---- NULL arguments ------------------------------------------------------- */

static void test_null_arguments_einval(void) {
  void *v;
  size_t idx;
  /* greenlets */
  CHECK(grove_spawn(NULL, NULL) == NULL);
  CHECK(grove_spawn_ex(NULL, NULL, NULL) == NULL);
  CHECK(grove_spawn_later(0, NULL, NULL) == NULL);
  CHECK_EQ(grove_join(NULL, 0), GROVE_EINVAL);
  CHECK_EQ(grove_join(NULL, GROVE_FOREVER), GROVE_EINVAL);
  CHECK_EQ(grove_joinall(NULL, 1, 0), GROVE_EINVAL);
  CHECK_EQ(grove_get(NULL, &v, 0), GROVE_EINVAL);
  CHECK_EQ(grove_kill(NULL, 0), GROVE_EINVAL);
  CHECK_EQ(grove_killall(NULL, 1, 0), GROVE_EINVAL);
  CHECK_EQ(grove_link(NULL, dummy_link, NULL), GROVE_EINVAL);
  CHECK_EQ(grove_greenlet_set_name(NULL, "x"), GROVE_EINVAL);
  CHECK_EQ(grove_sleep(NAN), GROVE_EINVAL);
  CHECK_EQ(grove_hub_post(NULL, NULL), GROVE_EINVAL);
  CHECK_EQ(grove_hub_post_to(NULL, post_log, NULL), GROVE_EINVAL);
  CHECK_EQ(grove_hub_post_to(grove_hub_current(), NULL, NULL), GROVE_EINVAL);
  grove_greenlet_release(NULL);
  /* event / async result */
  CHECK_EQ(grove_event_wait(NULL, 0), GROVE_EINVAL);
  CHECK_EQ(grove_event_free(NULL), GROVE_EINVAL);
  CHECK_EQ(grove_async_result_get(NULL, &v, 0), GROVE_EINVAL);
  CHECK_EQ(grove_async_result_wait(NULL, 0), GROVE_EINVAL);
  CHECK_EQ(grove_async_result_free(NULL), GROVE_EINVAL);
  /* queues */
  CHECK_EQ(grove_queue_put(NULL, NULL, 0), GROVE_EINVAL);
  CHECK_EQ(grove_queue_get(NULL, &v, 0), GROVE_EINVAL);
  CHECK_EQ(grove_queue_peek(NULL, &v, 0), GROVE_EINVAL);
  CHECK_EQ(grove_queue_put_nowait(NULL, NULL), GROVE_EINVAL);
  CHECK_EQ(grove_queue_get_nowait(NULL, &v), GROVE_EINVAL);
  CHECK_EQ(grove_queue_peek_nowait(NULL, &v), GROVE_EINVAL);
  CHECK_EQ(grove_queue_task_done(NULL), GROVE_EINVAL);
  CHECK_EQ(grove_queue_join(NULL, 0), GROVE_EINVAL);
  CHECK_EQ(grove_queue_free(NULL), GROVE_EINVAL);
  /* locks */
  CHECK_EQ(grove_semaphore_acquire(NULL, 0), GROVE_EINVAL);
  CHECK_EQ(grove_semaphore_release(NULL), GROVE_EINVAL);
  CHECK_EQ(grove_semaphore_counter(NULL), GROVE_EINVAL);
  CHECK_EQ(grove_semaphore_wait(NULL, 0), GROVE_EINVAL);
  CHECK_EQ(grove_semaphore_free(NULL), GROVE_EINVAL);
  CHECK_EQ(grove_lock_acquire(NULL, 0), GROVE_EINVAL);
  CHECK_EQ(grove_lock_release(NULL), GROVE_EINVAL);
  CHECK_EQ(grove_lock_free(NULL), GROVE_EINVAL);
  CHECK_EQ(grove_rlock_acquire(NULL, 0), GROVE_EINVAL);
  CHECK_EQ(grove_rlock_release(NULL), GROVE_EINVAL);
  CHECK_EQ(grove_rlock_free(NULL), GROVE_EINVAL);
  /* timeouts, locals */
  CHECK_EQ(grove_timeout_cancel(NULL), GROVE_EINVAL);
  CHECK_EQ(grove_local_set(NULL, NULL), GROVE_EINVAL);
  CHECK_EQ(grove_local_lookup(NULL, &v), GROVE_EINVAL);
  CHECK_EQ(grove_local_delete(NULL), GROVE_EINVAL);
  CHECK_EQ(grove_local_free(NULL), GROVE_EINVAL);
  /* groups */
  CHECK(grove_group_spawn(NULL, noop, NULL) == NULL);
  CHECK_EQ(grove_group_add(NULL, NULL, 0), GROVE_EINVAL);
  CHECK_EQ(grove_group_discard(NULL, NULL), GROVE_EINVAL);
  CHECK_EQ(grove_group_join(NULL, 0), GROVE_EINVAL);
  CHECK_EQ(grove_group_kill(NULL, 0), GROVE_EINVAL);
  CHECK_EQ(grove_pool_wait_available(NULL, 0), GROVE_EINVAL);
  CHECK_EQ(grove_group_map(NULL, noop, NULL, 0, NULL), GROVE_EINVAL);
  CHECK_EQ(grove_group_apply(NULL, noop, NULL, &v), GROVE_EINVAL);
  CHECK(grove_group_imap(NULL, noop, NULL, 0) == NULL);
  CHECK(grove_group_imap_unordered(NULL, noop, NULL, 0) == NULL);
  CHECK(grove_group_apply_async(NULL, noop, NULL, NULL, NULL) == NULL);
  CHECK_EQ(grove_imap_next(NULL, &v, &idx, 0), GROVE_EINVAL);
  CHECK_EQ(grove_imap_free(NULL), GROVE_EINVAL);
  CHECK_EQ(grove_group_free(NULL), GROVE_EINVAL);
  CHECK_EQ(grove_hub_greenlet_count(), 0);
}

/* Calls that return nothing (or a bool) ignore NULL instead of crashing. */
static void test_null_arguments_void_calls(void) {
  grove_event_set(NULL);
  grove_event_clear(NULL);
  grove_async_result_set(NULL, NULL);
  grove_async_result_set_error(NULL, GROVE_EFAILED);
  CHECK(!grove_event_is_set(NULL));
  CHECK(!grove_async_result_ready(NULL));
  CHECK(!grove_ready(NULL));
  CHECK(!grove_started(NULL));
  CHECK(!grove_successful(NULL));
  CHECK(grove_value(NULL) == NULL);
  CHECK(grove_greenlet_name(NULL) != NULL);
  CHECK(grove_local_get(NULL) == NULL);
  CHECK_EQ(grove_queue_qsize(NULL), 0);
  CHECK_EQ(grove_group_size(NULL), 0);
  grove_dump(NULL);
}

/* ---- closing the hub ------------------------------------------------------ */

static void *try_close(void *arg) { return IARG(grove_hub_close()); }

static void test_hub_close_busy_or_from_greenlet(void) {
  grove_greenlet *g = grove_spawn(try_close, NULL);
  void *v = NULL;
  CHECK_EQ(grove_get(g, &v, 1.0), 0);
  CHECK_EQ(IVAL(v), GROVE_EPERM);
  grove_greenlet_release(g);

  ev = grove_event_new();
  g = grove_spawn(wait_ev, NULL);
  CHECK_EQ(grove_sleep(0), 0);
  CHECK_EQ(grove_hub_close(), GROVE_EBUSY);
  /* Nothing was freed: the greenlet still runs to completion. */
  grove_event_set(ev);
  CHECK_EQ(grove_join(g, 1.0), 0);
  CHECK(grove_successful(g));
  grove_greenlet_release(g);
  CHECK_EQ(grove_event_free(ev), 0);
  CHECK_EQ(grove_hub_close(), 0);
  /* A new hub is created on the next call. */
  CHECK(grove_hub_current() != NULL);
  CHECK_EQ(grove_sleep(0), 0);
}

TEST_MAIN(TEST(test_loopexit_main_event), TEST(test_loopexit_after_others_finish),
          TEST(test_loopexit_join), TEST(test_loopexit_other_primitives),
          TEST(test_timer_keeps_loop_alive), TEST(test_post_from_thread_wakes_waiter),
          TEST(test_post_to_callback_spawns_greenlet), TEST(test_many_posts),
          TEST(test_post_from_hub_thread), TEST(test_hold_unbalanced),
          TEST(test_wrong_thread_is_eperm), TEST(test_thread_has_own_hub),
          TEST(test_dump_mentions_names), TEST(test_error_names_and_messages),
          TEST(test_null_arguments_einval), TEST(test_null_arguments_void_calls),
          TEST(test_hub_close_busy_or_from_greenlet))
