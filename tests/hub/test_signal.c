/* tests/hub/test_signal.c - grove_signal_wait, grove_signal_handle and
 * grove_shutdown (gevent.signal_handler(SIGQUIT, gevent.kill)). */
#include "test.h"

#include <signal.h>
#include <stdint.h>
#include <sys/types.h>
#include <unistd.h>

/* Sends signal `arg` to the process after 50 ms. */
static void *raiser(void *arg) {
  if (grove_sleep(0.05) != 0)
    return NULL;
  test_log("raise");
  kill(getpid(), IVAL(arg));
  return NULL;
}

static void test_wait(void) {
  grove_greenlet *r = grove_spawn(raiser, IARG(SIGUSR1));
  double t0 = test_now();
  CHECK_EQ(grove_signal_wait(SIGUSR1, 5.0), 0);
  double dt = test_now() - t0;
  CHECK(dt >= 0.03 && dt < 3.0);
  test_log("got");
  CHECK_EQ(grove_join(r, 1.0), 0);
  grove_greenlet_release(r);
  CHECK_LOG("raise got");
}

static void *sig_waiter(void *arg) {
  int rc = grove_signal_wait(IVAL(arg), 5.0);
  test_log("w=%s", grove_err_name(rc));
  return NULL;
}

/* Every greenlet waiting for the signal is woken by it. */
static void test_wait_several(void) {
  grove_greenlet *w[2] = {grove_spawn(sig_waiter, IARG(SIGUSR2)),
                          grove_spawn(sig_waiter, IARG(SIGUSR2))};
  grove_greenlet *r = grove_spawn(raiser, IARG(SIGUSR2));
  CHECK_EQ(grove_joinall(w, 2, 5.0), 0);
  CHECK_EQ(grove_join(r, 1.0), 0);
  CHECK_LOG("raise w=GROVE_OK w=GROVE_OK");
  grove_greenlet_release(w[0]);
  grove_greenlet_release(w[1]);
  grove_greenlet_release(r);
}

static void test_wait_timeout(void) {
  double t0 = test_now();
  CHECK_EQ(grove_signal_wait(SIGUSR1, 0.05), GROVE_ETIMEDOUT);
  double dt = test_now() - t0;
  CHECK(dt >= 0.04 && dt < 2.0);
  CHECK_EQ(grove_signal_wait(SIGUSR1, 0), GROVE_ETIMEDOUT);
  CHECK_EQ(grove_signal_wait(0, 1.0), GROVE_EINVAL);
  CHECK_EQ(grove_signal_wait(SIGUSR1, NAN), GROVE_EINVAL);
}

static void test_wait_killed(void) {
  grove_greenlet *w = grove_spawn(sig_waiter, IARG(SIGUSR1));
  CHECK_EQ(grove_sleep(0.02), 0);
  CHECK_EQ(grove_kill(w, 1.0), 0);
  CHECK_LOG("w=GROVE_ECANCELED");
  grove_greenlet_release(w);
}

static int handled;

static void *on_signal(void *arg) {
  handled++;
  test_log("handler%d", IVAL(arg));
  return NULL;
}

/* A handler runs in a new greenlet for each arrival, until cancelled. */
static void test_handler(void) {
  handled = 0;
  grove_signal_handler *h = grove_signal_handle(SIGUSR1, on_signal, IARG(1));
  CHECK(h != NULL);
  for (int i = 0; i < 3; i++) {
    kill(getpid(), SIGUSR1);
    for (int k = 0; k < 200 && handled <= i; k++)
      grove_sleep(0.005);
  }
  CHECK_EQ(handled, 3);
  CHECK_LOG("handler1 handler1 handler1");
  grove_signal_handler_cancel(h);
  grove_signal_handler_cancel(NULL); /* no-op */
  CHECK(grove_signal_handle(SIGUSR1, NULL, NULL) == NULL);
  CHECK(grove_signal_handle(0, on_signal, NULL) == NULL);
  CHECK(grove_signal_handle(10000, on_signal, NULL) == NULL);
}

/* After cancel, no handler runs: a waiter (which suppresses the default
 * action) sees the signal instead. */
static void test_handler_cancel(void) {
  handled = 0;
  grove_signal_handler *h = grove_signal_handle(SIGUSR2, on_signal, IARG(2));
  grove_signal_handler_cancel(h);
  grove_greenlet *r = grove_spawn(raiser, IARG(SIGUSR2));
  CHECK_EQ(grove_signal_wait(SIGUSR2, 5.0), 0);
  grove_sleep(0.02);
  CHECK_EQ(handled, 0);
  CHECK_EQ(grove_join(r, 1.0), 0);
  grove_greenlet_release(r);
}

/* A handler alone does not keep the hub alive: main blocked forever with
 * nothing else to do gets GROVE_ELOOPEXIT. */
static void test_handler_unref(void) {
  grove_signal_handler *h = grove_signal_handle(SIGUSR1, on_signal, IARG(3));
  grove_event *e = grove_event_new();
  CHECK_EQ(grove_event_wait(e, GROVE_FOREVER), GROVE_ELOOPEXIT);
  grove_event_free(e);
  grove_signal_handler_cancel(h);
}

/* A forgotten handler is a leak grove_hub_close reports. */
static void test_handler_counts_as_object(void) {
  grove_signal_handler *h = grove_signal_handle(SIGUSR1, on_signal, IARG(4));
  CHECK_EQ(grove_hub_close(), GROVE_EBUSY);
  grove_signal_handler_cancel(h);
}

/* ---- shutdown ----------------------------------------------------------------------- */

static void *run_forever(void *arg) {
  int rc = grove_sleep(1000);
  test_log("%s=%s", (const char *)arg, grove_err_name(rc));
  return NULL;
}

static void test_shutdown_from_main(void) {
  grove_greenlet *g[3] = {grove_spawn(run_forever, "a"), grove_spawn(run_forever, "b"),
                          grove_spawn(run_forever, "c")};
  CHECK_EQ(grove_sleep(0.01), 0);
  double t0 = test_now();
  CHECK_EQ(grove_shutdown(2.0), 0);
  CHECK(test_now() - t0 < 1.0);
  CHECK_LOG("a=GROVE_ECANCELED b=GROVE_ECANCELED c=GROVE_ECANCELED");
  for (int i = 0; i < 3; i++) {
    CHECK(grove_ready(g[i]));
    grove_greenlet_release(g[i]);
  }
  CHECK_EQ(grove_hub_greenlet_count(), 0);
  /* Nothing to kill */
  CHECK_EQ(grove_shutdown(1.0), 0);
  /* Not started yet: never runs */
  grove_greenlet *n = grove_spawn(run_forever, "never");
  CHECK_EQ(grove_shutdown(1.0), 0);
  CHECK(grove_ready(n));
  grove_greenlet_release(n);
  CHECK_LOG("a=GROVE_ECANCELED b=GROVE_ECANCELED c=GROVE_ECANCELED");
}

/* Timeout 0, as every timeout 0: the kills are requested and the caller
 * yields once, which is when they happen (a victim that ends at its first
 * GROVE_ECANCELED is gone by then). */
static void test_shutdown_nowait(void) {
  grove_greenlet *f = grove_spawn(run_forever, "f");
  CHECK_EQ(grove_sleep(0), 0);
  CHECK_EQ(grove_shutdown(0), 0);
  CHECK_LOG("f=GROVE_ECANCELED");
  CHECK(grove_ready(f));
  grove_greenlet_release(f);
  CHECK_EQ(grove_shutdown(NAN), GROVE_EINVAL);
}

static void *respawner(void *arg) {
  int rc = grove_sleep(1000);
  test_log("r%d=%s", IVAL(arg), grove_err_name(rc));
  if (IVAL(arg) < 3) {
    /* Dies spawning a successor: the next round kills it. */
    grove_greenlet *g = grove_spawn(respawner, IARG(IVAL(arg) + 1));
    grove_greenlet_release(g);
  }
  return NULL;
}

/* The successor is killed by the next round. A blocking kill resumes the
 * killer right after its victim died (gevent's _killall3), before the
 * successor has started: the next round kills it before it starts, so it
 * never runs. */
static void test_shutdown_rounds(void) {
  grove_greenlet *g = grove_spawn(respawner, IARG(1));
  CHECK_EQ(grove_sleep(0.01), 0);
  CHECK_EQ(grove_shutdown(2.0), 0);
  CHECK_EQ(grove_hub_greenlet_count(), 0);
  CHECK_LOG("r1=GROVE_ECANCELED");
  grove_greenlet_release(g);
}

static grove_greenlet *forever_g;
static int shutdown_rc = 1;

static void *quit(void *arg) {
  (void)arg;
  test_log("quit");
  shutdown_rc = grove_shutdown(2.0);
  test_log("shutdown=%s", grove_err_name(shutdown_rc));
  return NULL;
}

/* The seed pattern:
 *   gevent.signal_handler(signal.SIGQUIT, gevent.kill)
 *   thread = gevent.spawn(run_forever); thread.join()
 * SIGQUIT arrives; the handler kills everything: main, blocked in the join,
 * gets GROVE_ECANCELED (once: it can still join and clean up). */
static void test_sigquit_pattern(void) {
  shutdown_rc = 1;
  grove_signal_handler *h = grove_signal_handle(SIGQUIT, quit, NULL);
  CHECK(h != NULL);
  forever_g = grove_spawn(run_forever, "forever");
  grove_greenlet *r = grove_spawn(raiser, IARG(SIGQUIT));
  double t0 = test_now();
  int rc = grove_join(forever_g, 5.0);
  CHECK_EQ(rc, GROVE_ECANCELED);
  CHECK(test_now() - t0 < 3.0);
  test_log("main=%s", grove_err_name(rc));
  /* main was interrupted, not cancelled for good: it can wait again. */
  CHECK_EQ(grove_join(forever_g, 2.0), 0);
  CHECK_EQ(grove_join(r, 2.0), 0);
  for (int i = 0; i < 200 && grove_hub_greenlet_count() > 0; i++)
    CHECK_EQ(grove_sleep(0.005), 0);
  CHECK_EQ(shutdown_rc, 0);
  CHECK_LOG("raise quit main=GROVE_ECANCELED forever=GROVE_ECANCELED shutdown=GROVE_OK");
  grove_greenlet_release(forever_g);
  grove_greenlet_release(r);
  grove_signal_handler_cancel(h);
}

static void post_shutdown(void *arg) {
  (void)arg;
  shutdown_rc = grove_shutdown(1.0); /* the hub cannot wait */
}

static void test_shutdown_from_hub(void) {
  shutdown_rc = 1;
  grove_greenlet *g = grove_spawn(run_forever, "g");
  CHECK_EQ(grove_sleep(0.01), 0);
  CHECK_EQ(grove_hub_post(post_shutdown, NULL), 0);
  /* main is interrupted from its wait too */
  CHECK_EQ(grove_join(g, 2.0), GROVE_ECANCELED);
  CHECK_EQ(shutdown_rc, GROVE_EPERM);
  CHECK_EQ(grove_join(g, 2.0), 0);
  CHECK_LOG("g=GROVE_ECANCELED");
  grove_greenlet_release(g);
}

TEST_MAIN(TEST(test_wait), TEST(test_wait_several), TEST(test_wait_timeout), TEST(test_wait_killed),
          TEST(test_handler), TEST(test_handler_cancel), TEST(test_handler_unref),
          TEST(test_handler_counts_as_object), TEST(test_shutdown_from_main),
          TEST(test_shutdown_nowait), TEST(test_shutdown_rounds), TEST(test_sigquit_pattern),
          TEST(test_shutdown_from_hub))
