/* queue_boss_workers.c - port of queue_boss_workers.py (seed 001 / 002,
 * "队列", first example).
 *
 * The boss fills the queue with tasks 1..24 and finishes; then three workers
 * take turns (grove_sleep(0) after each task) until it is empty.
 */
#include <grove.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static grove_queue *tasks;

static void *worker(void *arg) {
  const char *n = arg;
  while (!grove_queue_empty(tasks)) {
    void *task;
    if (grove_queue_get(tasks, &task, GROVE_FOREVER) != 0)
      break;
    printf("Worker %s got task %d\n", n, (int)(intptr_t)task);
    grove_sleep(0);
  }
  puts("Quitting time!");
  return NULL;
}

static void *boss(void *arg) {
  for (intptr_t i = 1; i < 25; i++)
    grove_queue_put_nowait(tasks, (void *)i);
  return NULL;
}

int main(void) {
  tasks = grove_queue_new(0);
  grove_greenlet *b = grove_spawn(boss, NULL);
  int rc = grove_join(b, GROVE_FOREVER);
  grove_greenlet_release(b);

  grove_greenlet *workers[] = {grove_spawn(worker, "steve"), grove_spawn(worker, "john"),
                               grove_spawn(worker, "nancy")};
  rc |= grove_joinall(workers, 3, GROVE_FOREVER);

  for (int i = 0; i < 3; i++)
    grove_greenlet_release(workers[i]);
  grove_queue_free(tasks);
  return rc == 0 && grove_hub_close() == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
