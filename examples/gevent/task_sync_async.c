/* task_sync_async.c - port of task_sync_async.py (seed 001, the
 * "non-deterministic task" example).
 *
 * task(pid) sleeps DELAYS[pid] * 10 ms and prints. It is first called
 * directly by the main greenlet for pids 1..9, then spawned as greenlets for
 * pids 0..9: those finish in order of their sleep, ties in spawn order.
 */
#include <grove.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static const int DELAYS[10] = {1, 0, 2, 1, 2, 0, 0, 1, 2, 1};

static void *task(void *arg) {
  int pid = (int)(intptr_t)arg;
  grove_sleep(DELAYS[pid] * 0.01);
  printf("Task %d done\n", pid);
  return NULL;
}

static void synchronous(void) {
  for (intptr_t i = 1; i < 10; i++)
    task((void *)i);
}

static int asynchronous(void) {
  grove_greenlet *threads[10];
  for (intptr_t i = 0; i < 10; i++)
    threads[i] = grove_spawn(task, (void *)i);
  int rc = grove_joinall(threads, 10, GROVE_FOREVER);
  for (int i = 0; i < 10; i++)
    grove_greenlet_release(threads[i]);
  return rc;
}

int main(void) {
  puts("同步执行:");
  synchronous();
  puts("异步执行:");
  int rc = asynchronous();
  return rc == 0 && grove_hub_close() == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
