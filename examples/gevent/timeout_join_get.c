/* timeout_join_get.c - port of timeout_join_get.py (seed 001, "超时", third
 * example).
 *
 * A scoped timeout bounds a join, then a get; the seed's
 * gevent.with_timeout(seconds, wait) is a scope around a direct call of
 * wait, checked with grove_timeout_expired(). The seed leaves the two
 * sleeping greenlets behind; the port kills them at the end.
 */
#include <grove.h>
#include <stdio.h>
#include <stdlib.h>

static void *wait_fn(void *arg) {
  grove_sleep(0.03);
  return NULL;
}

int main(void) {
  grove_timeout *timer = grove_timeout_start(0.01);
  grove_greenlet *thread1 = grove_spawn(wait_fn, NULL);
  int rc = grove_join(thread1, GROVE_FOREVER);
  grove_timeout_cancel(timer);
  if (rc == GROVE_ETIMEDOUT)
    puts("Thread 1 timed out");

  /* -- */
  timer = grove_timeout_start(0.01);
  grove_greenlet *thread2 = grove_spawn(wait_fn, NULL);
  rc = grove_get(thread2, NULL, GROVE_FOREVER);
  grove_timeout_cancel(timer);
  if (rc == GROVE_ETIMEDOUT)
    puts("Thread 2 timed out");

  /* -- */
  timer = grove_timeout_start(0.01);
  wait_fn(NULL);
  bool expired = grove_timeout_expired(timer);
  grove_timeout_cancel(timer);
  if (expired)
    puts("Thread 3 timed out");

  grove_greenlet *left[] = {thread1, thread2};
  grove_killall(left, 2, GROVE_FOREVER);
  grove_greenlet_release(thread1);
  grove_greenlet_release(thread2);
  return grove_hub_close() == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
