/* queue_bounded_timeout.c - port of queue_bounded_timeout.py (seed 001 / 002,
 * "队列", second example).
 *
 * The boss puts 19 tasks into a queue of at most 3 while three workers take
 * them; a worker quits when its get times out (gevent's Empty).
 */
#include <grove.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static grove_queue *tasks;

static void *worker(void *arg) {
  const char *name = arg;
  void *task;
  int rc;
  while ((rc = grove_queue_get(tasks, &task, 0.05)) == 0) {
    printf("Worker %s got task %d\n", name, (int)(intptr_t)task);
    grove_sleep(0);
  }
  if (rc == GROVE_ETIMEDOUT)
    puts("Quitting time!");
  return NULL;
}

/* Hands out work only as fast as the workers free room in the queue. */
static void *boss(void *arg) {
  for (intptr_t i = 1; i < 10; i++)
    grove_queue_put(tasks, (void *)i, GROVE_FOREVER);
  puts("Assigned all work in iteration 1");

  for (intptr_t i = 10; i < 20; i++)
    grove_queue_put(tasks, (void *)i, GROVE_FOREVER);
  puts("Assigned all work in iteration 2");
  return NULL;
}

int main(void) {
  tasks = grove_queue_new(3);
  grove_greenlet *gs[] = {grove_spawn(boss, NULL), grove_spawn(worker, "steve"),
                          grove_spawn(worker, "john"), grove_spawn(worker, "bob")};
  int rc = grove_joinall(gs, 4, GROVE_FOREVER);

  for (int i = 0; i < 4; i++)
    grove_greenlet_release(gs[i]);
  grove_queue_free(tasks);
  return rc == 0 && grove_hub_close() == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
