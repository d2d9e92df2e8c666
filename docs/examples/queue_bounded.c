/* queue_bounded.c - put blocks while the queue is full; a get that times out
 * is gevent's Empty. */
#include <grove.h>
#include <stdint.h>
#include <stdio.h>

static grove_queue *tasks;

static void *boss(void *arg) {
  for (intptr_t i = 1; i <= 8; i++)
    grove_queue_put(tasks, (void *)i, GROVE_FOREVER); /* blocks while 3 are queued */
  printf("Assigned all work\n");
  return NULL;
}

static void *worker(void *arg) {
  void *task;
  int rc;
  while ((rc = grove_queue_get(tasks, &task, 0.1)) == 0) {
    printf("Worker %s got task %d\n", (const char *)arg, (int)(intptr_t)task);
    grove_sleep(0);
  }
  printf("Worker %s: %s, quitting\n", (const char *)arg, grove_err_name(rc));
  return rc == GROVE_ETIMEDOUT ? NULL : "unexpected";
}

int main(void) {
  tasks = grove_queue_new(3);
  grove_greenlet *gs[3];
  gs[0] = grove_spawn(boss, NULL);
  gs[1] = grove_spawn(worker, "steve");
  gs[2] = grove_spawn(worker, "john");
  int rc = grove_joinall(gs, 3, GROVE_FOREVER);
  int bad = grove_value(gs[1]) || grove_value(gs[2]);

  /* The non-blocking forms never wait. */
  for (intptr_t i = 0; i < 3; i++)
    grove_queue_put_nowait(tasks, (void *)i);
  int full = grove_queue_put_nowait(tasks, (void *)3);
  printf("qsize %zu, full %d, put_nowait: %s\n", grove_queue_qsize(tasks), grove_queue_full(tasks),
         grove_err_name(full));
  void *item;
  while (grove_queue_get_nowait(tasks, &item) == 0)
    ;

  for (int i = 0; i < 3; i++)
    grove_greenlet_release(gs[i]);
  grove_queue_free(tasks);
  return rc == 0 && !bad && full == GROVE_EFULL && grove_hub_close() == 0 ? 0 : 1;
}
