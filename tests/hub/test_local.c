/* tests/hub/test_local.c - greenlet-local storage (gevent.local). */
#include "test.h"

#include <stdint.h>

static grove_local *key, *key2;
static int dtor_calls;
static int dtor_sum;

static void dtor(void *value) {
  dtor_calls++;
  dtor_sum += IVAL(value);
}

static void free_dtor(void *value) {
  dtor_calls++;
  dtor_sum += *(int *)value;
  free(value);
}

static void *per_greenlet(void *arg) {
  int me = IVAL(arg);
  int ok = 1;
  if (grove_local_get(key) != NULL)
    ok = 0;
  if (grove_local_set(key, IARG(me)) != 0)
    ok = 0;
  for (int i = 0; i < 5; i++) {
    CHECK_EQ(grove_sleep(0), 0);
    if (IVAL(grove_local_get(key)) != me)
      ok = 0;
  }
  return IARG(ok);
}

/* gevent: each greenlet sees its own attribute values on a local(). */
static void test_values_are_per_greenlet(void) {
  key = grove_local_new(NULL);
  CHECK(key != NULL);
  CHECK_EQ(grove_local_set(key, IARG(1000)), 0);
  grove_greenlet *g[5];
  for (int i = 0; i < 5; i++)
    g[i] = grove_spawn(per_greenlet, IARG(i + 1));
  CHECK_EQ(grove_joinall(g, 5, 2.0), 0);
  for (int i = 0; i < 5; i++) {
    CHECK_EQ(IVAL(grove_value(g[i])), 1);
    grove_greenlet_release(g[i]);
  }
  CHECK_EQ(IVAL(grove_local_get(key)), 1000);
  CHECK_EQ(grove_local_free(key), 0);
}

/* gevent: reading an attribute never set raises AttributeError (ENOENT). */
static void test_unset_is_enoent(void) {
  key = grove_local_new(dtor);
  void *v = IARG(5);
  CHECK(grove_local_get(key) == NULL);
  CHECK_EQ(grove_local_lookup(key, &v), GROVE_ENOENT);
  CHECK_EQ(grove_local_delete(key), GROVE_ENOENT);
  /* A stored NULL is not "unset". */
  CHECK_EQ(grove_local_set(key, NULL), 0);
  v = IARG(5);
  CHECK_EQ(grove_local_lookup(key, &v), 0);
  CHECK(v == NULL);
  CHECK_EQ(grove_local_set(key, IARG(3)), 0);
  CHECK_EQ(grove_local_lookup(key, &v), 0);
  CHECK_EQ(IVAL(v), 3);
  CHECK_EQ(grove_local_free(key), 0);
}

static void test_delete_and_replace(void) {
  dtor_calls = dtor_sum = 0;
  key = grove_local_new(dtor);
  CHECK_EQ(grove_local_set(key, IARG(1)), 0);
  CHECK_EQ(grove_local_set(key, IARG(2)), 0); /* replacing does not call the destructor */
  CHECK_EQ(dtor_calls, 0);
  CHECK_EQ(grove_local_delete(key), 0);
  CHECK_EQ(dtor_calls, 1);
  CHECK_EQ(dtor_sum, 2);
  CHECK_EQ(grove_local_delete(key), GROVE_ENOENT);
  void *v;
  CHECK_EQ(grove_local_lookup(key, &v), GROVE_ENOENT);
  CHECK(grove_local_get(key) == NULL);
  CHECK_EQ(dtor_calls, 1);
  CHECK_EQ(grove_local_free(key), 0);
  CHECK_EQ(dtor_calls, 1); /* nothing was set any more */
}

static void *set_heap_values(void *arg) {
  int *a = malloc(sizeof *a), *b = malloc(sizeof *b);
  *a = IVAL(arg);
  *b = 100 * IVAL(arg);
  CHECK_EQ(grove_local_set(key, a), 0);
  CHECK_EQ(grove_local_set(key2, b), 0);
  CHECK_EQ(grove_sleep(0), 0);
  CHECK(grove_local_get(key) == a);
  return NULL;
}

static void test_destructors_run_when_greenlet_ends(void) {
  dtor_calls = dtor_sum = 0;
  key = grove_local_new(free_dtor);
  key2 = grove_local_new(free_dtor);
  grove_greenlet *g[3];
  for (int i = 0; i < 3; i++)
    g[i] = grove_spawn(set_heap_values, IARG(i + 1));
  CHECK_EQ(grove_joinall(g, 3, 2.0), 0);
  CHECK_EQ(dtor_calls, 6);
  CHECK_EQ(dtor_sum, 6 + 600);
  for (int i = 0; i < 3; i++)
    grove_greenlet_release(g[i]);
  CHECK_EQ(grove_local_free(key), 0);
  CHECK_EQ(grove_local_free(key2), 0);
  CHECK_EQ(dtor_calls, 6);
}

static grove_event *ev;
static void *set_then_wait(void *arg) {
  CHECK_EQ(grove_local_set(key, arg), 0);
  grove_event_wait(ev, GROVE_FOREVER);
  return NULL;
}

static void *set_then_exit(void *arg) {
  CHECK_EQ(grove_local_set(key, arg), 0);
  grove_exit(GROVE_EAGAIN);
  return NULL;
}

static void test_destructors_run_for_killed_and_failed(void) {
  dtor_calls = dtor_sum = 0;
  ev = grove_event_new();
  key = grove_local_new(dtor);
  grove_greenlet *g[2] = {grove_spawn(set_then_wait, IARG(5)), grove_spawn(set_then_exit, IARG(7))};
  CHECK_EQ(grove_sleep(0), 0);
  CHECK_EQ(grove_kill(g[0], 1.0), 0);
  CHECK_EQ(grove_joinall(g, 2, 1.0), 0);
  CHECK_EQ(dtor_calls, 2);
  CHECK_EQ(dtor_sum, 12);
  grove_greenlet_release(g[0]);
  grove_greenlet_release(g[1]);
  CHECK_EQ(grove_local_free(key), 0);
  CHECK_EQ(grove_event_free(ev), 0);
}

static void test_free_key_runs_destructors_for_live_values(void) {
  dtor_calls = dtor_sum = 0;
  ev = grove_event_new();
  key = grove_local_new(dtor);
  CHECK_EQ(grove_local_set(key, IARG(1)), 0); /* main's value */
  grove_greenlet *g[2] = {grove_spawn(set_then_wait, IARG(10)),
                          grove_spawn(set_then_wait, IARG(20))};
  CHECK_EQ(grove_sleep(0), 0);
  CHECK_EQ(grove_local_free(key), 0);
  CHECK_EQ(dtor_calls, 3);
  CHECK_EQ(dtor_sum, 31);
  grove_event_set(ev);
  CHECK_EQ(grove_joinall(g, 2, 1.0), 0);
  CHECK_EQ(dtor_calls, 3); /* not called twice when the greenlets end */
  grove_greenlet_release(g[0]);
  grove_greenlet_release(g[1]);
  CHECK_EQ(grove_event_free(ev), 0);
}

static void *use_key_no_dtor(void *arg) {
  CHECK_EQ(grove_local_set(key, arg), 0);
  return grove_local_get(key);
}

static void test_null_destructor(void) {
  key = grove_local_new(NULL);
  grove_greenlet *g = grove_spawn(use_key_no_dtor, IARG(9));
  void *v = NULL;
  CHECK_EQ(grove_get(g, &v, 1.0), 0);
  CHECK_EQ(IVAL(v), 9);
  grove_greenlet_release(g);
  CHECK_EQ(grove_local_set(key, IARG(1)), 0);
  CHECK_EQ(grove_local_delete(key), 0);
  CHECK_EQ(grove_local_free(key), 0);
}

static void test_many_keys(void) {
  enum { N = 64 };
  grove_local *keys[N];
  for (int i = 0; i < N; i++) {
    keys[i] = grove_local_new(NULL);
    CHECK(keys[i] != NULL);
    CHECK_EQ(grove_local_set(keys[i], IARG(i * 3)), 0);
  }
  int bad = 0;
  for (int i = 0; i < N; i++)
    if (IVAL(grove_local_get(keys[i])) != i * 3)
      bad++;
  CHECK_EQ(bad, 0);
  for (int i = 0; i < N; i++)
    CHECK_EQ(grove_local_free(keys[i]), 0);
}

static void test_invalid(void) {
  void *v;
  CHECK_EQ(grove_local_set(NULL, NULL), GROVE_EINVAL);
  CHECK(grove_local_get(NULL) == NULL);
  CHECK_EQ(grove_local_lookup(NULL, &v), GROVE_EINVAL);
  CHECK_EQ(grove_local_delete(NULL), GROVE_EINVAL);
  CHECK_EQ(grove_local_free(NULL), GROVE_EINVAL);
}

/* ---- a local links the greenlet that touches it (gevent 22.10) ------------- */

static grove_local *o_x;
static int o_touch;
static grove_greenlet *o_g2, *o_g3;
static void o_l1(grove_greenlet *g, void *arg) { test_log("L1"); }
static void *o_g3_fn(void *arg) {
  CHECK_EQ(grove_link(o_g2, o_l1, NULL), 0);
  test_log("linked");
  return arg;
}
static void *o_g2_fn(void *arg) {
  void *v;
  if (o_touch && grove_local_lookup(o_x, &v) == GROVE_ENOENT)
    test_log("lget ENOENT");
  o_g3 = grove_spawn(o_g3_fn, NULL);
  return arg;
}
static void *o_g1_fn(void *arg) {
  o_g2 = grove_spawn(o_g2_fn, NULL);
  CHECK_EQ(grove_sleep(0), 0);
  test_log("g1 done");
  return arg;
}

/* gevent: g2 touches a local (even a failed lookup), so it has a link when
 * it dies and its notification is scheduled then; the link g3 adds after
 * its death runs in that notification, before main's get of g1 returns:
 * lget-ENOENT g1-done linked L1 get. Without the touch: g1-done linked get
 * L1. */
static void test_local_links_the_greenlet(void) {
  for (o_touch = 1; o_touch >= 0; o_touch--) {
    test_log_reset();
    o_x = grove_local_new(NULL);
    grove_greenlet *g1 = grove_spawn(o_g1_fn, NULL);
    CHECK_EQ(grove_get(g1, NULL, GROVE_FOREVER), 0);
    test_log("get");
    CHECK_EQ(grove_sleep(0.01), 0);
    CHECK_LOG(o_touch ? "lget ENOENT g1 done linked L1 get" : "g1 done linked get L1");
    grove_greenlet_release(g1);
    grove_greenlet_release(o_g2);
    grove_greenlet_release(o_g3);
    CHECK_EQ(grove_local_free(o_x), 0);
  }
}

TEST_MAIN(TEST(test_values_are_per_greenlet), TEST(test_unset_is_enoent),
          TEST(test_delete_and_replace), TEST(test_destructors_run_when_greenlet_ends),
          TEST(test_destructors_run_for_killed_and_failed),
          TEST(test_free_key_runs_destructors_for_live_values), TEST(test_null_destructor),
          TEST(test_many_keys), TEST(test_invalid), TEST(test_local_links_the_greenlet))
