/* semaphore.c - a bounded semaphore admits two workers at a time; Lock and
 * RLock. */
#include <grove.h>
#include <stdint.h>
#include <stdio.h>

static grove_semaphore *sem;

static void *worker(void *arg) {
  int n = (int)(intptr_t)arg;
  int rc = grove_semaphore_acquire(sem, GROVE_FOREVER);
  if (rc)
    return (void *)(intptr_t)rc;
  printf("Worker %d acquired semaphore\n", n);
  grove_sleep(0);
  grove_semaphore_release(sem);
  printf("Worker %d released semaphore\n", n);
  return NULL;
}

int main(void) {
  sem = grove_bounded_semaphore_new(2);
  grove_group *pool = grove_pool_new(4);
  void *args[4] = {(void *)1, (void *)2, (void *)3, (void *)4}, *results[4];
  int rc = grove_group_map(pool, worker, args, 4, results);
  /* A bounded semaphore refuses to go above its initial value. */
  int over = grove_semaphore_release(sem);
  printf("extra release: %s\n", grove_err_name(over));

  grove_lock *lock = grove_lock_new();
  grove_lock_acquire(lock, GROVE_FOREVER);
  int busy = grove_lock_try_acquire(lock); /* acquire(blocking=False): "would block" */
  grove_lock_release(lock);
  printf("second acquire of a Lock: %s\n", grove_err_name(busy));

  grove_rlock *rlock = grove_rlock_new();
  grove_rlock_acquire(rlock, GROVE_FOREVER);
  int again = grove_rlock_try_acquire(rlock); /* the owner may re-enter */
  grove_rlock_release(rlock);
  printf("RLock re-entered: %s, still locked: %d\n", grove_err_name(again),
         grove_rlock_locked(rlock));
  grove_rlock_release(rlock);

  rc |= grove_group_free(pool) | grove_semaphore_free(sem) | grove_lock_free(lock) |
        grove_rlock_free(rlock);
  int ok = rc == 0 && over == GROVE_EOVERFLOW && busy == GROVE_ETIMEDOUT && again == 0;
  return ok && grove_hub_close() == 0 ? 0 : 1;
}
