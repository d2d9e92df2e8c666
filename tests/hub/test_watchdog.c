/* tests/hub/test_watchdog.c - blocking detection (gevent's monitor thread). */
#include "test.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <unistd.h>

/* Under valgrind, threads take turns on one lock: the monitor thread may not
 * get to run while a greenlet spins, so only "at most" can be checked for
 * the reports there (valgrind still checks the memory accesses). */
#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#endif
#endif
#ifndef RUNNING_ON_VALGRIND
#define RUNNING_ON_VALGRIND 0
#endif
#define CHECK_REPORTS(n, expected)                                                                 \
  do {                                                                                             \
    if (RUNNING_ON_VALGRIND)                                                                       \
      CHECK((n) <= (expected));                                                                    \
    else                                                                                           \
      CHECK_EQ((n), (expected));                                                                   \
  } while (0)

/* What the report callback saw (it runs on the monitor thread). */
static pthread_mutex_t seen_lock = PTHREAD_MUTEX_INITIALIZER;
static int seen_count;
static char seen_name[128];
static void *seen_fn;
static double seen_seconds;
static void *seen_arg;

static void report(const char *name, void *fn, double seconds, void *arg) {
  pthread_mutex_lock(&seen_lock);
  seen_count++;
  snprintf(seen_name, sizeof seen_name, "%s", name);
  seen_fn = fn;
  seen_seconds = seconds;
  seen_arg = arg;
  pthread_mutex_unlock(&seen_lock);
}

static void reset(void) {
  pthread_mutex_lock(&seen_lock);
  seen_count = 0;
  seen_name[0] = 0;
  seen_fn = NULL;
  seen_seconds = 0;
  seen_arg = NULL;
  pthread_mutex_unlock(&seen_lock);
}

static int count(void) {
  pthread_mutex_lock(&seen_lock);
  int n = seen_count;
  pthread_mutex_unlock(&seen_lock);
  return n;
}

static void spin(double seconds) {
  double t0 = test_now();
  while (test_now() - t0 < seconds)
    ;
}

static void *busy(void *arg) {
  spin(*(double *)arg);
  return NULL;
}

static double busy_time = 0.15;
static int marker;

/* 150 ms without a switch, threshold 50 ms: reported once, by name. */
static void test_busy_reported_once(void) {
  reset();
  CHECK_EQ(grove_watchdog_start(0.05, report, &marker), 0);
  grove_spawn_opts o = {.name = "busy"};
  grove_greenlet *g = grove_spawn_ex(busy, &busy_time, &o);
  CHECK_EQ(grove_join(g, 5.0), 0);
  grove_greenlet_release(g);
  grove_sleep(0.1); /* nothing blocks now: no second report */
  CHECK_EQ(grove_watchdog_stop(), 0);
  pthread_mutex_lock(&seen_lock);
  CHECK_REPORTS(seen_count, 1);
  if (seen_count) {
    CHECK_STR(seen_name, "busy");
    CHECK(seen_fn == (void *)busy);
    CHECK(seen_seconds >= 0.05 && seen_seconds < 1.0);
    CHECK(seen_arg == &marker);
  }
  pthread_mutex_unlock(&seen_lock);
}

/* Spin (the hub blocked) until the monitor has reported n episodes, at
 * least `seconds` and at most 2 s: on a loaded machine the monitor thread
 * may not run within a fixed short spin. */
static void spin_until_reports(int n, double seconds) {
  double t0 = test_now();
  while (test_now() - t0 < seconds || (count() < n && test_now() - t0 < 2.0))
    ;
}

/* Two separate episodes are two reports; main can be the culprit too. */
static void test_two_episodes(void) {
  reset();
  CHECK_EQ(grove_watchdog_start(0.04, report, NULL), 0);
  spin_until_reports(1, 0.12);
  CHECK_EQ(grove_sleep(0.05), 0); /* a switch: the episode ends */
  for (int i = 0; i < 100 && count() < 1; i++)
    usleep(1000);
  pthread_mutex_lock(&seen_lock);
  int first = seen_count;
  CHECK_REPORTS(first, 1);
  if (first)
    CHECK_STR(seen_name, "main");
  pthread_mutex_unlock(&seen_lock);
  spin_until_reports(first + 1, 0.12);
  CHECK_EQ(grove_sleep(0.05), 0);
  for (int i = 0; i < 100 && count() < first + 1; i++)
    usleep(1000);
  CHECK_REPORTS(count(), first + 1);
  CHECK_EQ(grove_watchdog_stop(), 0);
}

static void *yielder(void *arg) {
  (void)arg;
  /* 150 ms of work in 2 ms slices, yielding to the hub in between. */
  double t0 = test_now();
  while (test_now() - t0 < 0.15) {
    spin(0.002);
    if (grove_sleep(0.001) != 0)
      break;
  }
  return NULL;
}

static void test_yielder_not_reported(void) {
  reset();
  CHECK_EQ(grove_watchdog_start(0.05, report, NULL), 0);
  grove_greenlet *g = grove_spawn(yielder, NULL);
  CHECK_EQ(grove_join(g, 5.0), 0);
  grove_greenlet_release(g);
  /* an idle hub (main asleep, the hub in its poll) is not blocking either */
  CHECK_EQ(grove_sleep(0.15), 0);
  CHECK_EQ(grove_watchdog_stop(), 0);
  CHECK_EQ(count(), 0);
}

static void test_start_stop(void) {
  reset();
  CHECK_EQ(grove_watchdog_stop(), 0); /* not started: fine */
  CHECK_EQ(grove_watchdog_start(0, report, NULL), GROVE_EINVAL);
  CHECK_EQ(grove_watchdog_start(-1, report, NULL), GROVE_EINVAL);
  CHECK_EQ(grove_watchdog_start(NAN, report, NULL), GROVE_EINVAL);
  CHECK_EQ(grove_watchdog_start(0.05, report, NULL), 0);
  CHECK_EQ(grove_watchdog_start(0.05, report, NULL), GROVE_EEXIST);
  CHECK_EQ(grove_watchdog_stop(), 0);
  CHECK_EQ(grove_watchdog_stop(), 0); /* idempotent */
  /* Started and stopped many times on one hub. */
  for (int i = 0; i < 10; i++) {
    CHECK_EQ(grove_watchdog_start(0.001, report, NULL), 0);
    CHECK_EQ(grove_watchdog_stop(), 0);
  }
  /* After stop, nothing is reported. (A 1 ms monitor may legitimately have
   * reported main, which ran the loop above without switching.) */
  reset();
  spin(0.1);
  CHECK_EQ(count(), 0);
}

/* Left running: grove_hub_close stops it. */
static void test_stopped_by_close(void) {
  reset();
  CHECK_EQ(grove_watchdog_start(0.02, report, NULL), 0);
  CHECK_EQ(grove_hub_close(), 0);
  spin(0.06);
  CHECK_EQ(count(), 0);
}

/* The default report names the greenlet on stderr (checked by eye in the
 * test's output: "grove: greenlet 'default-report' (fn 0x... busy) ..."). */
static void test_default_report(void) {
  CHECK_EQ(grove_watchdog_start(0.02, NULL, NULL), 0);
  double t = 0.06;
  grove_spawn_opts o = {.name = "default-report"};
  grove_greenlet *g = grove_spawn_ex(busy, &t, &o);
  CHECK_EQ(grove_join(g, 5.0), 0);
  grove_greenlet_release(g);
  CHECK_EQ(grove_watchdog_stop(), 0);
}

/* A grove_hub_post callback that spins holds the hub too: the watchdog
 * sees it (it looked only at greenlets) and names the callback. */
static void spinning_post(void *arg) {
  (void)arg;
  spin(0.15);
}

static void *poster(void *arg) {
  grove_hub_post_to((grove_hub *)arg, spinning_post, NULL);
  return NULL;
}

static void test_hub_callback_reported(void) {
  reset();
  CHECK_EQ(grove_watchdog_start(0.05, report, NULL), 0);
  CHECK_EQ(grove_hub_hold(), 0);
  pthread_t t;
  CHECK_EQ(pthread_create(&t, NULL, poster, grove_hub_current()), 0);
  pthread_join(t, NULL);
  CHECK_EQ(grove_sleep(0.3), 0); /* the callback runs in the hub meanwhile */
  CHECK_EQ(grove_hub_unhold(), 0);
  CHECK_EQ(grove_watchdog_stop(), 0);
  CHECK_REPORTS(count(), 1);
  if (count() == 1) {
    pthread_mutex_lock(&seen_lock);
    CHECK_STR(seen_name, "hub: grove_hub_post callback");
    CHECK(seen_fn == (void *)spinning_post);
    CHECK(seen_seconds >= 0.04);
    pthread_mutex_unlock(&seen_lock);
  }
  /* An idle hub (waiting in its poll) is not reported. */
  reset();
  CHECK_EQ(grove_watchdog_start(0.02, report, NULL), 0);
  CHECK_EQ(grove_sleep(0.15), 0);
  CHECK_EQ(grove_watchdog_stop(), 0);
  CHECK_EQ(count(), 0);
}

TEST_MAIN(TEST(test_hub_callback_reported), TEST(test_busy_reported_once), TEST(test_two_episodes),
          TEST(test_yielder_not_reported), TEST(test_start_stop), TEST(test_stopped_by_close),
          TEST(test_default_report))
