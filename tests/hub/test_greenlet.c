/* tests/hub/test_greenlet.c - spawning, joining, results, links, references,
 * names, spawn_later and the order greenlets run in.
 *
 * Orders asserted here were checked against gevent 22.10 with the equivalent
 * Python program (named in the comment above each case).
 */
#include "test.h"

#include <stdint.h>

static int flag;

static void *set_flag(void *arg) {
  flag = IVAL(arg);
  return NULL;
}

static void *ret_arg(void *arg) { return arg; }

static void *log_arg(void *arg) {
  test_log("%d", IVAL(arg));
  return NULL;
}

/* Let every ready greenlet (and a few timers) run. */
static void settle(void) { CHECK_EQ(grove_sleep(0.01), 0); }

/* gevent: spawn() only schedules; the greenlet runs once the spawner blocks. */
static void test_spawn_runs_after_caller_blocks(void) {
  flag = 0;
  grove_greenlet *g = grove_spawn(set_flag, IARG(7));
  CHECK(g != NULL);
  CHECK_EQ(flag, 0);
  CHECK(grove_started(g)); /* gevent: g.started is True as soon as it is spawned */
  CHECK(!grove_ready(g));
  CHECK(!grove_successful(g));
  CHECK(!grove_cancelled(g));
  CHECK(grove_value(g) == NULL);
  CHECK_EQ(grove_error(g), 0);
  CHECK_EQ(grove_hub_greenlet_count(), 1);
  CHECK_EQ(grove_join(g, GROVE_FOREVER), 0);
  CHECK_EQ(flag, 7);
  CHECK(!grove_started(g)); /* gevent: ...and False again once it has finished */
  CHECK(grove_ready(g));
  CHECK(grove_successful(g));
  CHECK(!grove_cancelled(g));
  CHECK_EQ(grove_error(g), 0);
  CHECK_EQ(grove_hub_greenlet_count(), 0);
  /* Joining a finished greenlet returns at once, even with timeout 0. */
  CHECK_EQ(grove_join(g, 0), 0);
  grove_greenlet_release(g);
}

static void test_get_and_value(void) {
  grove_greenlet *g = grove_spawn(ret_arg, IARG(42));
  void *v = IARG(-1);
  CHECK_EQ(grove_get(g, &v, GROVE_FOREVER), 0);
  CHECK_EQ(IVAL(v), 42);
  CHECK_EQ(IVAL(grove_value(g)), 42);
  /* Fetching again gives the same value; value may be NULL. */
  v = NULL;
  CHECK_EQ(grove_get(g, &v, 0), 0);
  CHECK_EQ(IVAL(v), 42);
  CHECK_EQ(grove_get(g, NULL, 0), 0);
  grove_greenlet_release(g);
}

static grove_greenlet *self_expected;
static int self_ok, self_started, self_ready, self_id_ok;
static uint64_t self_id;

static void *check_self(void *arg) {
  grove_greenlet *me = grove_current();
  self_ok = (me == self_expected);
  self_started = grove_started(me);
  self_ready = grove_ready(me);
  self_id_ok = (grove_greenlet_id(me) == self_id);
  return NULL;
}

static void test_current_and_state_while_running(void) {
  CHECK(grove_current() != NULL);
  CHECK_EQ(grove_greenlet_id(grove_current()), 0);
  CHECK(grove_greenlet_name(grove_current()) != NULL);
  self_ok = self_started = self_ready = self_id_ok = 0;
  self_expected = grove_spawn(check_self, NULL);
  self_id = grove_greenlet_id(self_expected);
  CHECK(self_id != 0);
  CHECK_EQ(grove_join(self_expected, GROVE_FOREVER), 0);
  CHECK(self_ok);
  CHECK(self_started);
  CHECK(!self_ready);
  CHECK(self_id_ok);
  grove_greenlet_release(self_expected);
  self_expected = NULL;
}

/* gevent: spawn(f,1); spawn(f,2); spawn(f,3); sleep(0) -> "main 1 2 3 main2". */
static void test_spawn_order(void) {
  grove_greenlet *g[3];
  for (int i = 0; i < 3; i++)
    g[i] = grove_spawn(log_arg, IARG(i + 1));
  test_log("main");
  CHECK_EQ(grove_sleep(0), 0);
  test_log("main2");
  CHECK_LOG("main 1 2 3 main2");
  CHECK_EQ(grove_joinall(g, 3, GROVE_FOREVER), 0);
  for (int i = 0; i < 3; i++)
    grove_greenlet_release(g[i]);
}

static void *two_steps(void *arg) {
  test_log("%da", IVAL(arg));
  CHECK_EQ(grove_sleep(0), 0);
  test_log("%db", IVAL(arg));
  return NULL;
}

/* gevent: two greenlets that log, sleep(0), log -> "1a 2a 1b 2b". */
static void test_sleep0_interleaves(void) {
  grove_greenlet *g[2] = {grove_spawn(two_steps, IARG(1)), grove_spawn(two_steps, IARG(2))};
  CHECK_EQ(grove_joinall(g, 2, GROVE_FOREVER), 0);
  CHECK_LOG("1a 2a 1b 2b");
  grove_greenlet_release(g[0]);
  grove_greenlet_release(g[1]);
}

static const int sleep_ms[4] = {60, 20, 40, 20};
static void *sleep_then_log(void *arg) {
  int i = IVAL(arg);
  CHECK_EQ(grove_sleep(sleep_ms[i] / 1000.0), 0);
  test_log("%d", i + 1);
  return NULL;
}

/* gevent: sleeps of 0.06, 0.02, 0.04, 0.02 s wake as "2 4 3 1" (equal
 * deadlines in the order the sleeps started). */
static void test_sleep_ordering(void) {
  grove_greenlet *g[4];
  double t0 = test_now();
  for (int i = 0; i < 4; i++)
    g[i] = grove_spawn(sleep_then_log, IARG(i));
  CHECK_EQ(grove_joinall(g, 4, GROVE_FOREVER), 0);
  double dt = test_now() - t0;
  CHECK_LOG("2 4 3 1");
  CHECK(dt >= 0.05 && dt < 2.0);
  for (int i = 0; i < 4; i++)
    grove_greenlet_release(g[i]);
}

static void test_sleep_duration(void) {
  double t0 = test_now();
  CHECK_EQ(grove_sleep(0.05), 0);
  double dt = test_now() - t0;
  CHECK(dt >= 0.04 && dt < 2.0);
  /* sleep(0) only yields. */
  t0 = test_now();
  CHECK_EQ(grove_sleep(0), 0);
  CHECK(test_now() - t0 < 1.0);
  CHECK_EQ(grove_sleep(NAN), GROVE_EINVAL);
}

static void *sleep_arg_ms(void *arg) {
  grove_sleep(IVAL(arg) / 1000.0);
  return arg;
}

static void test_joinall(void) {
  grove_greenlet *g[4];
  g[0] = grove_spawn(sleep_arg_ms, IARG(30));
  g[1] = NULL; /* NULL entries are skipped */
  g[2] = grove_spawn(sleep_arg_ms, IARG(10));
  g[3] = grove_spawn(sleep_arg_ms, IARG(20));
  CHECK_EQ(grove_joinall(g, 4, GROVE_FOREVER), 0);
  CHECK(grove_ready(g[0]) && grove_ready(g[2]) && grove_ready(g[3]));
  CHECK_EQ(IVAL(grove_value(g[0])), 30);
  CHECK_EQ(IVAL(grove_value(g[2])), 10);
  CHECK_EQ(IVAL(grove_value(g[3])), 20);
  CHECK_EQ(grove_joinall(g, 0, 0), 0);
  for (int i = 0; i < 4; i++)
    grove_greenlet_release(g[i]);
}

static void test_joinall_timeout(void) {
  grove_greenlet *g[2] = {grove_spawn(sleep_arg_ms, IARG(10)),
                          grove_spawn(sleep_arg_ms, IARG(5000))};
  double t0 = test_now();
  CHECK_EQ(grove_joinall(g, 2, 0.05), GROVE_ETIMEDOUT);
  double dt = test_now() - t0;
  CHECK(dt >= 0.04 && dt < 2.0);
  CHECK(grove_ready(g[0]));
  CHECK(!grove_ready(g[1]));
  CHECK_EQ(grove_kill(g[1], GROVE_FOREVER), 0);
  grove_greenlet_release(g[0]);
  grove_greenlet_release(g[1]);
}

static grove_event *wait_ev;
static void *wait_event(void *arg) { return IARG(grove_event_wait(wait_ev, GROVE_FOREVER)); }

static void test_join_timeout(void) {
  wait_ev = grove_event_new();
  grove_greenlet *g = grove_spawn(wait_event, NULL);
  double t0 = test_now();
  CHECK_EQ(grove_join(g, 0.05), GROVE_ETIMEDOUT);
  double dt = test_now() - t0;
  CHECK(dt >= 0.04 && dt < 2.0);
  CHECK_EQ(grove_join(g, 0), GROVE_ETIMEDOUT);
  CHECK(grove_started(g));
  CHECK(!grove_ready(g));
  grove_event_set(wait_ev);
  CHECK_EQ(grove_join(g, GROVE_FOREVER), 0);
  CHECK(grove_successful(g));
  CHECK_EQ(IVAL(grove_value(g)), 0);
  grove_greenlet_release(g);
  CHECK_EQ(grove_event_free(wait_ev), 0);
}

static void *join_self(void *arg) { return IARG(grove_join(grove_current(), 1.0)); }

static void test_join_self_deadlock(void) {
  CHECK_EQ(grove_join(grove_current(), 1.0), GROVE_EDEADLK);
  grove_greenlet *g = grove_spawn(join_self, NULL);
  void *v = NULL;
  CHECK_EQ(grove_get(g, &v, GROVE_FOREVER), 0);
  CHECK_EQ(IVAL(v), GROVE_EDEADLK);
  grove_greenlet_release(g);
}

static void deep_exit(int depth, int code) {
  if (depth == 0)
    grove_exit(code);
  else
    deep_exit(depth - 1, code);
  flag = 99; /* never reached */
}

static void *exit_with(void *arg) {
  deep_exit(10, IVAL(arg));
  flag = 99;
  return IARG(1);
}

static void test_exit(void) {
  flag = 0;
  grove_greenlet *g = grove_spawn(exit_with, IARG(GROVE_ENOENT));
  void *v = IARG(5);
  CHECK_EQ(grove_get(g, &v, GROVE_FOREVER), GROVE_ENOENT);
  CHECK_EQ(flag, 0);
  CHECK(grove_ready(g));
  CHECK(!grove_started(g)); /* gevent: a finished greenlet is no longer "started" */
  CHECK(!grove_successful(g));
  CHECK(!grove_cancelled(g));
  CHECK_EQ(grove_error(g), GROVE_ENOENT);
  CHECK(grove_value(g) == NULL);
  CHECK_EQ(grove_join(g, GROVE_FOREVER), 0); /* join succeeds: it has finished */
  grove_greenlet_release(g);

  /* grove_exit(0) is recorded as GROVE_EFAILED. */
  g = grove_spawn(exit_with, IARG(0));
  CHECK_EQ(grove_get(g, NULL, GROVE_FOREVER), GROVE_EFAILED);
  CHECK_EQ(grove_error(g), GROVE_EFAILED);
  CHECK(!grove_successful(g));
  CHECK_EQ(flag, 0);
  grove_greenlet_release(g);
}

static void test_exit_from_main_returns(void) {
  flag = 0;
  grove_exit(GROVE_EINVAL);
  flag = 1;
  CHECK_EQ(flag, 1);
  CHECK_EQ(grove_greenlet_id(grove_current()), 0);
  CHECK_EQ(grove_sleep(0), 0);
}

static grove_greenlet *link_seen[8];
static int link_calls;
static grove_event *link_done;

static void link_log(grove_greenlet *g, void *arg) {
  test_log("link%d", IVAL(arg));
  if (link_calls < 8)
    link_seen[link_calls] = g;
  link_calls++;
}

static void *log_t(void *arg) {
  test_log("t");
  return NULL;
}

/* gevent: t.link(l1); t.link(l2); t.join() -> "t link1 link2 joined"; a link
 * added after t finished still fires ("added3 link3"). */
static void test_link_order_and_after_finish(void) {
  link_calls = 0;
  grove_greenlet *g = grove_spawn(log_t, NULL);
  CHECK_EQ(grove_link(g, link_log, IARG(1)), 0);
  CHECK_EQ(grove_link(g, link_log, IARG(2)), 0);
  CHECK_EQ(grove_join(g, GROVE_FOREVER), 0);
  test_log("joined");
  settle();
  CHECK_EQ(grove_link(g, link_log, IARG(3)), 0);
  test_log("added3");
  settle();
  CHECK_LOG("t link1 link2 joined added3 link3");
  CHECK_EQ(link_calls, 3);
  for (int i = 0; i < 3; i++)
    CHECK(link_seen[i] == g);
  grove_greenlet_release(g);
}

static void link_set_event(grove_greenlet *g, void *arg) {
  test_log("link-err=%s", grove_err_name(grove_error(g)));
  grove_event_set(link_done);
}

static void test_link_fires_on_failure(void) {
  link_done = grove_event_new();
  grove_greenlet *g = grove_spawn(exit_with, IARG(GROVE_EAGAIN));
  CHECK_EQ(grove_link(g, link_set_event, NULL), 0);
  CHECK_EQ(grove_event_wait(link_done, 2.0), 0);
  settle();
  CHECK_LOG("link-err=GROVE_EAGAIN");
  grove_greenlet_release(g);
  CHECK_EQ(grove_event_free(link_done), 0);
}

static void test_link_released_greenlet(void) {
  /* A detached greenlet still fires its links. */
  link_done = grove_event_new();
  grove_greenlet *g = grove_spawn(set_flag, IARG(3));
  CHECK_EQ(grove_link(g, link_set_event, NULL), 0);
  grove_greenlet_release(g);
  CHECK_EQ(grove_event_wait(link_done, 2.0), 0);
  settle();
  CHECK_EQ(flag, 3);
  CHECK_LOG("link-err=GROVE_OK");
  CHECK_EQ(grove_event_free(link_done), 0);
}

static void test_link_invalid(void) {
  grove_greenlet *g = grove_spawn(set_flag, IARG(0));
  CHECK_EQ(grove_link(NULL, link_log, NULL), GROVE_EINVAL);
  CHECK_EQ(grove_link(g, NULL, NULL), GROVE_EINVAL);
  CHECK_EQ(grove_join(g, GROVE_FOREVER), 0);
  grove_greenlet_release(g);
}

static void test_references(void) {
  flag = 0;
  grove_greenlet *g = grove_spawn(set_flag, IARG(11));
  CHECK(grove_greenlet_ref(g) == g);
  grove_greenlet_release(g); /* drops the extra reference */
  CHECK_EQ(grove_join(g, GROVE_FOREVER), 0);
  /* A finished greenlet stays readable while referenced. */
  CHECK(grove_ready(g));
  CHECK(grove_greenlet_ref(g) == g);
  grove_greenlet_release(g);
  CHECK(grove_successful(g));
  grove_greenlet_release(g);
  grove_greenlet_release(NULL); /* ignored */
  CHECK_EQ(flag, 11);
}

static int detached_done;
static void *detached(void *arg) {
  CHECK_EQ(grove_event_wait(wait_ev, GROVE_FOREVER), 0);
  detached_done++;
  return NULL;
}

static void test_detached_greenlet_keeps_running(void) {
  /* Releasing right after spawning detaches: a greenlet keeps itself alive
   * until it finishes. */
  detached_done = 0;
  wait_ev = grove_event_new();
  for (int i = 0; i < 5; i++)
    grove_greenlet_release(grove_spawn(detached, NULL));
  settle();
  CHECK_EQ(grove_hub_greenlet_count(), 5);
  grove_event_set(wait_ev);
  settle();
  CHECK_EQ(detached_done, 5);
  CHECK_EQ(grove_hub_greenlet_count(), 0);
  CHECK_EQ(grove_event_free(wait_ev), 0);
}

static void test_names_and_ids(void) {
  char buf[32];
  strcpy(buf, "worker-1");
  grove_spawn_opts opts = {.name = buf, .stack = GROVE_STACK_SHARED, .stack_size = 0};
  grove_greenlet *a = grove_spawn_ex(set_flag, IARG(0), &opts);
  strcpy(buf, "clobbered");
  CHECK(a != NULL);
  CHECK_STR(grove_greenlet_name(a), "worker-1");
  grove_greenlet *b = grove_spawn(set_flag, IARG(0));
  CHECK(grove_greenlet_name(b) != NULL);
  CHECK_EQ(grove_greenlet_set_name(b, buf), 0);
  strcpy(buf, "x");
  CHECK_STR(grove_greenlet_name(b), "clobbered");
  CHECK_EQ(grove_greenlet_set_name(b, "renamed"), 0);
  CHECK_STR(grove_greenlet_name(b), "renamed");
  CHECK(grove_greenlet_id(a) != 0);
  CHECK(grove_greenlet_id(b) != 0);
  CHECK(grove_greenlet_id(a) != grove_greenlet_id(b));
  grove_greenlet *c = grove_spawn_ex(set_flag, IARG(0), NULL);
  CHECK(c != NULL);
  CHECK(grove_greenlet_id(c) != grove_greenlet_id(a) &&
        grove_greenlet_id(c) != grove_greenlet_id(b));
  grove_greenlet *all[3] = {a, b, c};
  CHECK_EQ(grove_joinall(all, 3, GROVE_FOREVER), 0);
  CHECK_STR(grove_greenlet_name(a), "worker-1"); /* still there after finishing */
  for (int i = 0; i < 3; i++)
    grove_greenlet_release(all[i]);
}

static double later_ran_at;
static void *note_time(void *arg) {
  later_ran_at = test_now();
  test_log("%s", (const char *)arg);
  return NULL;
}

/* gevent: spawn_later(0.02, f, "later"); spawn(f, "now") -> "now later". */
static void test_spawn_later(void) {
  later_ran_at = 0;
  double t0 = test_now();
  grove_greenlet *l = grove_spawn_later(0.05, note_time, "later");
  grove_greenlet *n = grove_spawn(log_arg, IARG(0));
  CHECK(l != NULL);
  CHECK(grove_started(l)); /* gevent: spawn_later(...).started is True at once */
  CHECK_EQ(grove_sleep(0), 0);
  CHECK(grove_started(l));
  CHECK(grove_ready(n));
  CHECK_EQ(grove_join(l, GROVE_FOREVER), 0);
  double dt = later_ran_at - t0;
  CHECK(dt >= 0.04 && dt < 2.0);
  CHECK_LOG("0 later");
  grove_greenlet_release(l);
  grove_greenlet_release(n);
}

static void *child(void *arg) {
  test_log("c");
  return NULL;
}
static void *parent(void *arg) {
  test_log("p1");
  grove_greenlet *c = grove_spawn(child, NULL);
  test_log("p2");
  CHECK_EQ(grove_join(c, GROVE_FOREVER), 0);
  test_log("p3");
  grove_greenlet_release(c);
  return NULL;
}

static void test_nested_spawn(void) {
  grove_greenlet *p = grove_spawn(parent, NULL);
  CHECK_EQ(grove_join(p, GROVE_FOREVER), 0);
  CHECK_LOG("p1 p2 c p3");
  grove_greenlet_release(p);
}

static void test_greenlet_count(void) {
  wait_ev = grove_event_new();
  grove_greenlet *g[3];
  for (int i = 0; i < 3; i++)
    g[i] = grove_spawn(wait_event, NULL);
  CHECK_EQ(grove_hub_greenlet_count(), 3);
  settle();
  CHECK_EQ(grove_hub_greenlet_count(), 3);
  grove_event_set(wait_ev);
  CHECK_EQ(grove_joinall(g, 3, GROVE_FOREVER), 0);
  CHECK_EQ(grove_hub_greenlet_count(), 0);
  for (int i = 0; i < 3; i++)
    grove_greenlet_release(g[i]);
  CHECK_EQ(grove_event_free(wait_ev), 0);
}

static void test_spawn_null(void) {
  CHECK(grove_spawn(NULL, NULL) == NULL);
  CHECK(grove_spawn_ex(NULL, NULL, NULL) == NULL);
  CHECK(grove_spawn_later(0.01, NULL, NULL) == NULL);
  CHECK_EQ(grove_hub_greenlet_count(), 0);
}

static void *square(void *arg) {
  grove_sleep(0);
  return IARG(IVAL(arg) * IVAL(arg));
}

static void test_many_values(void) {
  enum { N = 200 };
  grove_greenlet **g = calloc(N, sizeof *g);
  for (int i = 0; i < N; i++)
    g[i] = grove_spawn(square, IARG(i));
  for (int i = N - 1; i >= 0; i--) {
    void *v = NULL;
    CHECK_EQ(grove_get(g[i], &v, GROVE_FOREVER), 0);
    CHECK_EQ(IVAL(v), i * i);
  }
  for (int i = 0; i < N; i++)
    grove_greenlet_release(g[i]);
  free(g);
}

/* ---- timeout 0 and spawn_later(0), checked against gevent 22.10 -------- */

static void *log_quick(void *arg) {
  test_log("quick");
  return arg;
}

static grove_event *z_ev;
static void *z_wait(void *arg) {
  grove_event_wait(z_ev, GROVE_FOREVER);
  return arg;
}

/* g = spawn(quick); g.join(timeout=0) -> quick runs during the join's one
 * turn: dead=True. With a target that stays blocked, the greenlets already
 * runnable run, then the join times out. */
static void test_join_timeout_zero_yields(void) {
  grove_greenlet *g = grove_spawn(log_quick, NULL);
  CHECK_EQ(grove_join(g, 0), 0);
  test_log("dead=%d", grove_ready(g));
  CHECK_LOG("quick dead=1");
  grove_greenlet_release(g);
  test_log_reset();
  z_ev = grove_event_new();
  grove_greenlet *w = grove_spawn(z_wait, NULL);
  grove_greenlet *o = grove_spawn(log_quick, NULL);
  CHECK_EQ(grove_join(w, 0), GROVE_ETIMEDOUT);
  test_log("ready=%d", grove_ready(w));
  CHECK_LOG("quick ready=0");
  void *v = IARG(1);
  CHECK_EQ(grove_get_nowait(w, &v), GROVE_ETIMEDOUT); /* get(block=False) */
  CHECK(v == NULL);
  CHECK_EQ(grove_get_nowait(o, &v), 0);
  CHECK_EQ(grove_kill(w, GROVE_FOREVER), 0);
  grove_greenlet_release(w);
  grove_greenlet_release(o);
  CHECK_EQ(grove_event_free(z_ev), 0);
}

static void *log_later(void *arg) {
  test_log("later");
  return arg;
}

static void *sleep0_chain(void *arg) {
  for (int i = 0; i < 3; i++) {
    test_log("chain%d", i);
    CHECK_EQ(grove_sleep(0), 0);
  }
  return arg;
}

/* gevent: spawn_later(0, later); spawn(chain); sleep(0); print main;
 * -> chain0 main chain1 chain2 later: a zero-delay timer fires only once
 * nothing is runnable any more. */
static void test_spawn_later_zero_is_a_timer(void) {
  grove_greenlet *l = grove_spawn_later(0, log_later, NULL);
  grove_greenlet *c = grove_spawn(sleep0_chain, NULL);
  CHECK_EQ(grove_sleep(0), 0);
  test_log("main");
  CHECK_EQ(grove_sleep(0.01), 0);
  CHECK_LOG("chain0 main chain1 chain2 later");
  grove_greenlet_release(l);
  grove_greenlet_release(c);
}

/* ---- link_value and link_exception (gevent 22.10) ------------------------- */

static void lv_value(grove_greenlet *g, void *arg) { test_log("value"); }
static void lv_exception(grove_greenlet *g, void *arg) { test_log("exception"); }
static void lv_link(grove_greenlet *g, void *arg) { test_log("link"); }
static void *lv_ok(void *arg) { return IARG(1); }
static void *lv_bad(void *arg) {
  grove_exit(-3);
  return NULL;
}
static void *lv_wait(void *arg) {
  grove_event_wait(arg, GROVE_FOREVER);
  return NULL;
}

/* gevent: g.link_value(v); g.link_exception(e); g.link(l) -> "value link"
 * for a greenlet that succeeds, "exception link" for one that fails, and
 * "value" for one killed (GreenletExit is success). */
static void test_link_value_and_exception(void) {
  grove_fn fns[] = {lv_ok, lv_bad};
  const char *want[] = {"value link", "exception link"};
  for (int i = 0; i < 2; i++) {
    test_log_reset();
    grove_greenlet *g = grove_spawn(fns[i], NULL);
    CHECK_EQ(grove_link_value(g, lv_value, NULL), 0);
    CHECK_EQ(grove_link_exception(g, lv_exception, NULL), 0);
    CHECK_EQ(grove_link(g, lv_link, NULL), 0);
    CHECK_EQ(grove_sleep(0.01), 0);
    CHECK_LOG(want[i]);
    grove_greenlet_release(g);
  }
  test_log_reset();
  grove_event *e = grove_event_new();
  grove_greenlet *g = grove_spawn(lv_wait, e);
  CHECK_EQ(grove_sleep(0), 0);
  CHECK_EQ(grove_link_value(g, lv_value, NULL), 0);
  CHECK_EQ(grove_link_exception(g, lv_exception, NULL), 0);
  CHECK_EQ(grove_kill(g, GROVE_FOREVER), 0);
  CHECK_EQ(grove_sleep(0), 0);
  CHECK_LOG("value");
  grove_greenlet_release(g);
  CHECK_EQ(grove_event_free(e), 0);
  CHECK_EQ(grove_link_value(NULL, lv_value, NULL), GROVE_EINVAL);
  CHECK_EQ(grove_link_exception(grove_current(), NULL, NULL), GROVE_EINVAL);
}

TEST_MAIN(TEST(test_spawn_runs_after_caller_blocks), TEST(test_get_and_value),
          TEST(test_current_and_state_while_running), TEST(test_spawn_order),
          TEST(test_sleep0_interleaves), TEST(test_sleep_ordering), TEST(test_sleep_duration),
          TEST(test_joinall), TEST(test_joinall_timeout), TEST(test_join_timeout),
          TEST(test_join_self_deadlock), TEST(test_exit), TEST(test_exit_from_main_returns),
          TEST(test_link_order_and_after_finish), TEST(test_link_fires_on_failure),
          TEST(test_link_released_greenlet), TEST(test_link_invalid), TEST(test_references),
          TEST(test_detached_greenlet_keeps_running), TEST(test_names_and_ids),
          TEST(test_spawn_later), TEST(test_nested_spawn), TEST(test_greenlet_count),
          TEST(test_spawn_null), TEST(test_many_values), TEST(test_join_timeout_zero_yields),
          TEST(test_spawn_later_zero_is_a_timer), TEST(test_link_value_and_exception))
