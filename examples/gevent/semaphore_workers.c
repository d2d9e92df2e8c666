/* semaphore_workers.c - port of semaphore_workers.py (seed 001 / 002, "锁和
 * 信号量").
 *
 * worker1 acquires and releases a bounded semaphore of 2 by hand, worker2
 * holds it for a block (the seed's `with sem:`); an unbounded pool (a grove
 * group) maps worker1 over 0..1, then worker2 over 3..5.
 */
#include <grove.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static grove_semaphore *sem;

static void *worker1(void *arg) {
  int n = (int)(intptr_t)arg;
  grove_semaphore_acquire(sem, GROVE_FOREVER);
  printf("Worker %d acquired semaphore\n", n);
  grove_sleep(0);
  grove_semaphore_release(sem);
  printf("Worker %d released semaphore\n", n);
  return NULL;
}

static void *worker2(void *arg) {
  int n = (int)(intptr_t)arg;
  grove_semaphore_acquire(sem, GROVE_FOREVER); /* with sem: */
  printf("Worker %d acquired semaphore\n", n);
  grove_sleep(0);
  grove_semaphore_release(sem); /* end of the with block */
  printf("Worker %d released semaphore\n", n);
  return NULL;
}

int main(void) {
  sem = grove_bounded_semaphore_new(2);
  grove_group *pool = grove_group_new();
  void *first[] = {(void *)0, (void *)1};
  void *second[] = {(void *)3, (void *)4, (void *)5};
  void *results[3];
  int rc = grove_group_map(pool, worker1, first, 2, results);
  rc |= grove_group_map(pool, worker2, second, 3, results);

  if (grove_group_free(pool) != 0 || grove_semaphore_free(sem) != 0)
    rc = -1;
  return rc == 0 && grove_hub_close() == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
