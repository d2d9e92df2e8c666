/* queue_kinds.c - priority, LIFO and joinable queues. */
#include <grove.h>
#include <stdint.h>
#include <stdio.h>

typedef struct job {
  int priority; /* smaller runs first */
  const char *name;
} job;

static int by_priority(const void *a, const void *b) {
  return ((const job *)a)->priority - ((const job *)b)->priority;
}

static grove_queue *work;

static void *consumer(void *arg) {
  void *item;
  while (grove_queue_get(work, &item, GROVE_FOREVER) == 0) {
    printf("processed %d\n", (int)(intptr_t)item);
    grove_queue_task_done(work); /* one per item taken */
  }
  return NULL; /* killed: GROVE_ECANCELED */
}

int main(void) {
  static job jobs[] = {{3, "low"}, {1, "urgent"}, {2, "normal"}};
  grove_queue *pq = grove_priority_queue_new(0, by_priority);
  for (int i = 0; i < 3; i++)
    grove_queue_put(pq, &jobs[i], GROVE_FOREVER);
  void *item;
  printf("priority:");
  while (grove_queue_get_nowait(pq, &item) == 0)
    printf(" %s", ((job *)item)->name);

  grove_queue *lifo = grove_lifo_queue_new(0);
  for (intptr_t i = 1; i <= 3; i++)
    grove_queue_put(lifo, (void *)i, GROVE_FOREVER);
  printf("\nlifo:");
  while (grove_queue_get_nowait(lifo, &item) == 0)
    printf(" %d", (int)(intptr_t)item);
  printf("\n");

  /* A joinable queue counts unfinished tasks; join waits for task_done. */
  work = grove_joinable_queue_new(0);
  grove_greenlet *c = grove_spawn(consumer, NULL);
  for (intptr_t i = 1; i <= 3; i++)
    grove_queue_put(work, (void *)i, GROVE_FOREVER);
  int rc = grove_queue_join(work, GROVE_FOREVER);
  printf("all done: %s, unfinished %zu\n", grove_err_name(rc), grove_queue_unfinished_tasks(work));
  grove_kill(c, GROVE_FOREVER);

  grove_greenlet_release(c);
  grove_queue_free(pq);
  grove_queue_free(lifo);
  grove_queue_free(work);
  return rc == 0 && grove_hub_close() == 0 ? 0 : 1;
}
