/* queue_workers.c - a boss fills a queue, three workers drain it. */
#include <grove.h>
#include <stdint.h>
#include <stdio.h>

static grove_queue *tasks;

static void *boss(void *arg) {
  for (intptr_t i = 1; i <= 7; i++)
    grove_queue_put_nowait(tasks, (void *)i); /* unbounded: never GROVE_EFULL */
  return NULL;
}

static void *worker(void *arg) {
  void *task;
  /* get_nowait: GROVE_EEMPTY instead of waiting (gevent's Empty). */
  while (grove_queue_get_nowait(tasks, &task) == 0) {
    printf("Worker %s got task %d\n", (const char *)arg, (int)(intptr_t)task);
    grove_sleep(0);
  }
  printf("Worker %s: quitting time!\n", (const char *)arg);
  return NULL;
}

int main(void) {
  tasks = grove_queue_new(0);
  grove_greenlet *b = grove_spawn(boss, NULL);
  int rc = grove_join(b, GROVE_FOREVER);
  grove_greenlet_release(b);

  const char *names[] = {"steve", "john", "nancy"};
  grove_greenlet *ws[3];
  for (int i = 0; i < 3; i++)
    ws[i] = grove_spawn(worker, (void *)names[i]);
  rc |= grove_joinall(ws, 3, GROVE_FOREVER);
  for (int i = 0; i < 3; i++)
    grove_greenlet_release(ws[i]);
  grove_queue_free(tasks);
  return rc == 0 && grove_hub_close() == 0 ? 0 : 1;
}
