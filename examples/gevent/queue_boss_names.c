/* queue_boss_names.c - port of queue_boss_names.py (seed 000, "Queue").
 *
 * A boss puts tasks 0..24 with put_nowait; once it has finished, three named
 * workers share the queue, yielding with grove_sleep(0) after each task.
 * Tasks are small integers stored in the queue's pointers.
 */
#include <grove.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

struct work_args {
  const char *name;
  grove_queue *q;
};

static void *boss(void *arg) {
  grove_queue *q = arg;
  for (intptr_t i = 0; i < 25; i++)
    grove_queue_put_nowait(q, (void *)i);
  return NULL;
}

static void *work(void *arg) {
  struct work_args *w = arg; /* lives in main's frame: safe to share */
  while (!grove_queue_empty(w->q)) {
    void *task;
    if (grove_queue_get(w->q, &task, GROVE_FOREVER) != 0)
      break;
    printf("found notice: worker %s got task-%d\n", w->name, (int)(intptr_t)task);
    grove_sleep(0);
  }
  return NULL;
}

int main(void) {
  grove_queue *q = grove_queue_new(0);
  grove_greenlet *g = grove_spawn(boss, q);
  grove_join(g, GROVE_FOREVER);
  grove_greenlet_release(g);

  struct work_args args[] = {{"limanman", q}, {"liuzhen", q}, {"zhenbao", q}};
  grove_greenlet *workers[3];
  for (int i = 0; i < 3; i++)
    workers[i] = grove_spawn(work, &args[i]);
  int rc = grove_joinall(workers, 3, GROVE_FOREVER);

  for (int i = 0; i < 3; i++)
    grove_greenlet_release(workers[i]);
  grove_queue_free(q);
  return rc == 0 && grove_hub_close() == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
