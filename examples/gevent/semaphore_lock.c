/* semaphore_lock.c - port of semaphore_lock.py (seed 001, Semaphore(1) used
 * as a lock by f1 and f2).
 *
 * f1 and f2 each take the semaphore around their print, then sleep 0.6 s
 * and 0.18 s between rounds.
 */
#include <grove.h>
#include <stdio.h>
#include <stdlib.h>

static grove_semaphore *sem;

static void *f1(void *arg) {
  for (int i = 0; i < 5; i++) {
    grove_semaphore_acquire(sem, GROVE_FOREVER);
    printf("run f1, this is  %d\n", i);
    grove_semaphore_release(sem);
    grove_sleep(0.6);
  }
  return NULL;
}

static void *f2(void *arg) {
  for (int i = 0; i < 5; i++) {
    grove_semaphore_acquire(sem, GROVE_FOREVER);
    printf("run f2, that is  %d\n", i);
    grove_semaphore_release(sem);
    grove_sleep(0.18);
  }
  return NULL;
}

int main(void) {
  sem = grove_semaphore_new(1);
  grove_greenlet *t[] = {grove_spawn(f1, NULL), grove_spawn(f2, NULL)};
  int rc = grove_joinall(t, 2, GROVE_FOREVER);

  grove_greenlet_release(t[0]);
  grove_greenlet_release(t[1]);
  if (grove_semaphore_free(sem) != 0)
    rc = -1;
  return rc == 0 && grove_hub_close() == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
