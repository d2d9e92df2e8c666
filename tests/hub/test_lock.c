/* tests/hub/test_lock.c - Semaphore, BoundedSemaphore, Lock, RLock
 * (gevent.lock). */
#include "test.h"

#include <stdint.h>

static grove_semaphore *sem;
static grove_lock *lock;
static grove_rlock *rlock;

static void release_all(grove_greenlet **g, int n) {
  for (int i = 0; i < n; i++)
    grove_greenlet_release(g[i]);
}

static void test_semaphore_counts(void) {
  sem = grove_semaphore_new(2);
  CHECK(sem != NULL);
  CHECK_EQ(grove_semaphore_counter(sem), 2);
  CHECK(!grove_semaphore_locked(sem));
  CHECK_EQ(grove_semaphore_acquire(sem, 0), 0);
  CHECK_EQ(grove_semaphore_acquire(sem, GROVE_FOREVER), 0);
  CHECK_EQ(grove_semaphore_counter(sem), 0);
  CHECK(grove_semaphore_locked(sem));
  CHECK_EQ(grove_semaphore_acquire(sem, 0), GROVE_ETIMEDOUT);
  double t0 = test_now();
  CHECK_EQ(grove_semaphore_acquire(sem, 0.05), GROVE_ETIMEDOUT);
  double dt = test_now() - t0;
  CHECK(dt >= 0.04 && dt < 2.0);
  CHECK_EQ(grove_semaphore_counter(sem), 0);
  CHECK_EQ(grove_semaphore_release(sem), 0);
  CHECK_EQ(grove_semaphore_counter(sem), 1);
  CHECK_EQ(grove_semaphore_release(sem), 0);
  /* A plain semaphore may go above its initial value. */
  CHECK_EQ(grove_semaphore_release(sem), 0);
  CHECK_EQ(grove_semaphore_counter(sem), 3);
  CHECK_EQ(grove_semaphore_free(sem), 0);

  sem = grove_semaphore_new(0);
  CHECK(sem != NULL);
  CHECK(grove_semaphore_locked(sem));
  CHECK_EQ(grove_semaphore_free(sem), 0);
  CHECK(grove_semaphore_new(-1) == NULL);
  CHECK(grove_bounded_semaphore_new(-1) == NULL);
}

static void test_bounded_over_release(void) {
  sem = grove_bounded_semaphore_new(2);
  CHECK_EQ(grove_semaphore_release(sem), GROVE_EOVERFLOW);
  CHECK_EQ(grove_semaphore_counter(sem), 2);
  CHECK_EQ(grove_semaphore_acquire(sem, 0), 0);
  CHECK_EQ(grove_semaphore_release(sem), 0);
  CHECK_EQ(grove_semaphore_release(sem), GROVE_EOVERFLOW);
  CHECK_EQ(grove_semaphore_counter(sem), 2);
  CHECK_EQ(grove_semaphore_free(sem), 0);
}

static void *sem_worker(void *arg) {
  test_log("w%d", IVAL(arg));
  int rc = grove_semaphore_acquire(sem, GROVE_FOREVER);
  if (rc != 0) {
    test_log("w%d=%s", IVAL(arg), grove_err_name(rc));
    return NULL;
  }
  test_log("got%d", IVAL(arg));
  CHECK_EQ(grove_semaphore_release(sem), 0);
  return NULL;
}

/* gevent: Semaphore(0), three waiters, one release: "w1 w2 w3 got1 got2
 * got3" (each passes the permit on by releasing it). */
static void test_semaphore_fifo(void) {
  sem = grove_semaphore_new(0);
  grove_greenlet *g[3];
  for (int i = 0; i < 3; i++)
    g[i] = grove_spawn(sem_worker, IARG(i + 1));
  CHECK_EQ(grove_sleep(0), 0);
  CHECK_EQ(grove_semaphore_free(sem), GROVE_EBUSY);
  CHECK_EQ(grove_semaphore_release(sem), 0);
  CHECK_EQ(grove_joinall(g, 3, 2.0), 0);
  CHECK_LOG("w1 w2 w3 got1 got2 got3");
  CHECK_EQ(grove_semaphore_counter(sem), 1);
  release_all(g, 3);
  CHECK_EQ(grove_semaphore_free(sem), 0);
}

/* gevent: Semaphore(1) held by main, waiters w1 w2; main releases and at once
 * acquires again without blocking (it finds the counter above zero):
 * "w1 w2 barge=1 c=0 got1 got2". */
static void test_semaphore_barging(void) {
  sem = grove_semaphore_new(1);
  CHECK_EQ(grove_semaphore_acquire(sem, 0), 0);
  grove_greenlet *g[2] = {grove_spawn(sem_worker, IARG(1)), grove_spawn(sem_worker, IARG(2))};
  CHECK_EQ(grove_sleep(0), 0);
  CHECK_EQ(grove_semaphore_release(sem), 0);
  test_log("barge=%d", grove_semaphore_acquire(sem, 0) == 0);
  CHECK_EQ(grove_sleep(0.01), 0);
  test_log("c=%d", grove_semaphore_counter(sem));
  CHECK_EQ(grove_semaphore_release(sem), 0);
  CHECK_EQ(grove_joinall(g, 2, 2.0), 0);
  CHECK_LOG("w1 w2 barge=1 c=0 got1 got2");
  release_all(g, 2);
  CHECK_EQ(grove_semaphore_free(sem), 0);
}

/* gevent: Semaphore(0), waiters 1 and 2; kill 1, release: 2 gets the permit
 * ("killed1 c=1 got2 c=0"). */
static void test_semaphore_killed_waiter_takes_nothing(void) {
  sem = grove_semaphore_new(0);
  grove_greenlet *g[2] = {grove_spawn(sem_worker, IARG(1)), grove_spawn(sem_worker, IARG(2))};
  CHECK_EQ(grove_sleep(0), 0);
  CHECK_EQ(grove_kill(g[0], 1.0), 0);
  CHECK_EQ(grove_semaphore_release(sem), 0);
  test_log("c=%d", grove_semaphore_counter(sem));
  CHECK_EQ(grove_join(g[1], 1.0), 0);
  CHECK_LOG("w1 w2 w1=GROVE_ECANCELED c=1 got2");
  CHECK_EQ(grove_semaphore_counter(sem), 1);
  release_all(g, 2);
  CHECK_EQ(grove_semaphore_free(sem), 0);
}

static void *sem_timed(void *arg) {
  int rc = grove_semaphore_acquire(sem, 0.02);
  test_log("t=%s", grove_err_name(rc));
  return NULL;
}

static void test_semaphore_timed_out_waiter_takes_nothing(void) {
  sem = grove_semaphore_new(0);
  grove_greenlet *g[2] = {grove_spawn(sem_timed, NULL), grove_spawn(sem_worker, IARG(2))};
  CHECK_EQ(grove_join(g[0], 2.0), 0);
  CHECK_EQ(grove_semaphore_release(sem), 0);
  CHECK_EQ(grove_join(g[1], 1.0), 0);
  CHECK_LOG("w2 t=GROVE_ETIMEDOUT got2");
  CHECK_EQ(grove_semaphore_counter(sem), 1);
  release_all(g, 2);
  CHECK_EQ(grove_semaphore_free(sem), 0);
}

static void *sem_waiter(void *arg) {
  int rc = grove_semaphore_wait(sem, GROVE_FOREVER);
  test_log("wait=%s c=%d", grove_err_name(rc), grove_semaphore_counter(sem));
  return NULL;
}

static void test_semaphore_wait(void) {
  sem = grove_semaphore_new(0);
  CHECK_EQ(grove_semaphore_wait(sem, 0), GROVE_ETIMEDOUT);
  CHECK_EQ(grove_semaphore_wait(sem, 0.01), GROVE_ETIMEDOUT);
  grove_greenlet *g = grove_spawn(sem_waiter, NULL);
  CHECK_EQ(grove_sleep(0), 0);
  CHECK_EQ(grove_semaphore_release(sem), 0);
  CHECK_EQ(grove_join(g, 1.0), 0);
  CHECK_LOG("wait=GROVE_OK c=1"); /* waiting does not take the permit */
  CHECK_EQ(grove_semaphore_wait(sem, 0), 0);
  CHECK_EQ(grove_semaphore_counter(sem), 1);
  grove_greenlet_release(g);
  CHECK_EQ(grove_semaphore_free(sem), 0);
}

static void *lock_worker(void *arg) {
  test_log("try%d", IVAL(arg));
  int rc = grove_lock_acquire(lock, GROVE_FOREVER);
  test_log("got%d=%s", IVAL(arg), grove_err_name(rc));
  CHECK_EQ(grove_sleep(0), 0);
  test_log("rel%d", IVAL(arg));
  CHECK_EQ(grove_lock_release(lock), 0);
  return NULL;
}

static void test_lock_basic(void) {
  lock = grove_lock_new();
  CHECK(lock != NULL);
  CHECK(!grove_lock_locked(lock));
  CHECK_EQ(grove_lock_release(lock), GROVE_EOVERFLOW);
  CHECK_EQ(grove_lock_acquire(lock, 0), 0);
  CHECK(grove_lock_locked(lock));
  CHECK_EQ(grove_lock_acquire(lock, 0), GROVE_ETIMEDOUT);
  double t0 = test_now();
  CHECK_EQ(grove_lock_acquire(lock, 0.05), GROVE_ETIMEDOUT);
  double dt = test_now() - t0;
  CHECK(dt >= 0.04 && dt < 2.0);
  CHECK_EQ(grove_lock_release(lock), 0);
  CHECK(!grove_lock_locked(lock));
  CHECK_EQ(grove_lock_release(lock), GROVE_EOVERFLOW);
  CHECK_EQ(grove_lock_free(lock), 0);
}

/* gevent: Lock held by main; three workers queue up and get it one by one in
 * the order they asked. */
static void test_lock_fifo(void) {
  lock = grove_lock_new();
  CHECK_EQ(grove_lock_acquire(lock, GROVE_FOREVER), 0);
  grove_greenlet *g[3];
  for (int i = 0; i < 3; i++)
    g[i] = grove_spawn(lock_worker, IARG(i + 1));
  CHECK_EQ(grove_sleep(0), 0);
  CHECK_EQ(grove_lock_free(lock), GROVE_EBUSY);
  test_log("main-rel");
  CHECK_EQ(grove_lock_release(lock), 0);
  CHECK_EQ(grove_joinall(g, 3, 2.0), 0);
  CHECK_LOG("try1 try2 try3 main-rel got1=GROVE_OK rel1 got2=GROVE_OK rel2 got3=GROVE_OK rel3");
  CHECK(!grove_lock_locked(lock));
  release_all(g, 3);
  CHECK_EQ(grove_lock_free(lock), 0);
}

static void *lock_releaser(void *arg) {
  test_log("release=%s", grove_err_name(grove_lock_release(lock)));
  return NULL;
}

static void test_lock_released_by_other_greenlet(void) {
  lock = grove_lock_new();
  CHECK_EQ(grove_lock_acquire(lock, 0), 0);
  grove_greenlet *g = grove_spawn(lock_releaser, NULL);
  CHECK_EQ(grove_lock_acquire(lock, 2.0), 0); /* woken by the other's release */
  CHECK_EQ(grove_join(g, 1.0), 0);
  CHECK_LOG("release=GROVE_OK");
  CHECK(grove_lock_locked(lock));
  CHECK_EQ(grove_lock_release(lock), 0);
  grove_greenlet_release(g);
  CHECK_EQ(grove_lock_free(lock), 0);
}

static void *rlock_other(void *arg) {
  test_log("o-rel=%s", grove_err_name(grove_rlock_release(rlock)));
  test_log("o-try0=%s", grove_err_name(grove_rlock_acquire(rlock, 0)));
  test_log("o-try");
  int rc = grove_rlock_acquire(rlock, GROVE_FOREVER);
  test_log("o-got=%s", grove_err_name(rc));
  CHECK_EQ(grove_rlock_acquire(rlock, 0), 0); /* reentrant for its new owner */
  CHECK_EQ(grove_rlock_release(rlock), 0);
  CHECK_EQ(grove_rlock_release(rlock), 0);
  return NULL;
}

/* gevent: RLock acquired twice by main; another greenlet blocks until main
 * has released it twice: "o-try rel1 rel2 o-got". */
static void test_rlock(void) {
  rlock = grove_rlock_new();
  CHECK(rlock != NULL);
  CHECK(!grove_rlock_locked(rlock));
  CHECK_EQ(grove_rlock_release(rlock), GROVE_EPERM); /* not acquired */
  CHECK_EQ(grove_rlock_acquire(rlock, 0), 0);
  CHECK_EQ(grove_rlock_acquire(rlock, GROVE_FOREVER), 0);
  CHECK(grove_rlock_locked(rlock));
  grove_greenlet *g = grove_spawn(rlock_other, NULL);
  CHECK_EQ(grove_sleep(0.01), 0);
  CHECK_EQ(grove_rlock_release(rlock), 0);
  test_log("rel1");
  CHECK(grove_rlock_locked(rlock));
  CHECK_EQ(grove_sleep(0.01), 0);
  CHECK_EQ(grove_rlock_release(rlock), 0);
  test_log("rel2");
  CHECK_EQ(grove_join(g, 2.0), 0);
  CHECK_LOG("o-rel=GROVE_EPERM o-try0=GROVE_ETIMEDOUT o-try rel1 rel2 o-got=GROVE_OK");
  CHECK(!grove_rlock_locked(rlock));
  CHECK_EQ(grove_rlock_release(rlock), GROVE_EPERM);
  grove_greenlet_release(g);
  CHECK_EQ(grove_rlock_free(rlock), 0);
}

static void *rlock_timed(void *arg) {
  double t0 = test_now();
  int rc = grove_rlock_acquire(rlock, 0.05);
  double dt = test_now() - t0;
  test_log("t=%s ok=%d", grove_err_name(rc), dt >= 0.04 && dt < 2.0);
  return NULL;
}

static void test_rlock_timeout_and_busy(void) {
  rlock = grove_rlock_new();
  CHECK_EQ(grove_rlock_acquire(rlock, 0), 0);
  grove_greenlet *g = grove_spawn(rlock_timed, NULL);
  CHECK_EQ(grove_sleep(0), 0);
  CHECK_EQ(grove_rlock_free(rlock), GROVE_EBUSY);
  CHECK_EQ(grove_join(g, 2.0), 0);
  CHECK_LOG("t=GROVE_ETIMEDOUT ok=1");
  CHECK_EQ(grove_rlock_release(rlock), 0);
  grove_greenlet_release(g);
  CHECK_EQ(grove_rlock_free(rlock), 0);
}

static void test_invalid(void) {
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
}

/* ---- timeout 0 and try_acquire, checked against gevent 22.10 ------------ */

static grove_semaphore *z_sem;
static void *z_release(void *arg) {
  test_log("release");
  CHECK_EQ(grove_semaphore_release(z_sem), 0);
  return arg;
}

/* gevent: spawn(release); s.acquire(timeout=0) -> True (the release runs in
 * the turn); acquire(blocking=False) -> False without switching, True once
 * the release has run. */
static void test_acquire_timeout_zero_yields(void) {
  z_sem = grove_semaphore_new(0);
  grove_greenlet *g = grove_spawn(z_release, NULL);
  test_log("acq=%s", grove_err_name(grove_semaphore_acquire(z_sem, 0)));
  CHECK_LOG("release acq=GROVE_OK");
  grove_greenlet_release(g);
  test_log_reset();
  g = grove_spawn(z_release, NULL);
  test_log("acq=%s", grove_err_name(grove_semaphore_try_acquire(z_sem)));
  CHECK_EQ(grove_sleep(0), 0);
  test_log("acq=%s", grove_err_name(grove_semaphore_try_acquire(z_sem)));
  CHECK_LOG("acq=GROVE_ETIMEDOUT release acq=GROVE_OK");
  grove_greenlet_release(g);
  CHECK_EQ(grove_semaphore_free(z_sem), 0);
  grove_lock *l = grove_lock_new();
  CHECK_EQ(grove_lock_try_acquire(l), 0);
  CHECK_EQ(grove_lock_try_acquire(l), GROVE_ETIMEDOUT);
  CHECK_EQ(grove_lock_release(l), 0);
  CHECK_EQ(grove_lock_free(l), 0);
  grove_rlock *r = grove_rlock_new();
  CHECK_EQ(grove_rlock_try_acquire(r), 0);
  CHECK_EQ(grove_rlock_try_acquire(r), 0); /* the owner re-enters */
  CHECK_EQ(grove_rlock_release(r), 0);
  CHECK_EQ(grove_rlock_release(r), 0);
  CHECK_EQ(grove_rlock_free(r), 0);
}

TEST_MAIN(TEST(test_semaphore_counts), TEST(test_bounded_over_release), TEST(test_semaphore_fifo),
          TEST(test_semaphore_barging), TEST(test_semaphore_killed_waiter_takes_nothing),
          TEST(test_semaphore_timed_out_waiter_takes_nothing), TEST(test_semaphore_wait),
          TEST(test_lock_basic), TEST(test_lock_fifo), TEST(test_lock_released_by_other_greenlet),
          TEST(test_rlock), TEST(test_rlock_timeout_and_busy), TEST(test_invalid),
          TEST(test_acquire_timeout_zero_yields))
