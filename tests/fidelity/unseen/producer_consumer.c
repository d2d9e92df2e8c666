/* producer_consumer.c - producer_consumer.py translated line for line: a
 * producer and three consumers around a bounded JoinableQueue; main waits
 * for every task to be done, then kills the consumers. */
#include <grove.h>
#include <stdint.h>
#include <stdio.h>

static grove_queue *q;

static void *consumer(void *arg) {
  const char *name = arg;
  void *item;
  while (grove_queue_get(q, &item, GROVE_FOREVER) == 0) {
    intptr_t n = (intptr_t)item;
    printf("%s got %d\n", name, (int)n);
    for (int i = 0; i < n % 3; i++)
      if (grove_sleep(0) != 0)
        return NULL; /* killed: GreenletExit leaves without task_done */
    printf("%s done %d\n", name, (int)n);
    grove_queue_task_done(q);
  }
  return NULL;
}

static void *producer(void *arg) {
  for (intptr_t i = 1; i < 8; i++) {
    if (grove_queue_put(q, (void *)i, GROVE_FOREVER) != 0)
      return arg;
    printf("put %d (qsize %zu)\n", (int)i, grove_queue_qsize(q));
  }
  printf("producer finished\n");
  return arg;
}

int main(void) {
  static const char *names[] = {"c0", "c1", "c2"};
  q = grove_joinable_queue_new(2);
  grove_greenlet *workers[3];
  for (int i = 0; i < 3; i++)
    workers[i] = grove_spawn(consumer, (void *)names[i]);
  grove_greenlet *p = grove_spawn(producer, NULL);
  int rc = grove_join(p, GROVE_FOREVER);
  printf("producer joined, unfinished %zu\n", grove_queue_unfinished_tasks(q));
  int rc2 = grove_queue_join(q, GROVE_FOREVER);
  printf("all tasks done, unfinished %zu\n", grove_queue_unfinished_tasks(q));
  int rc3 = grove_killall(workers, 3, GROVE_FOREVER);
  printf("consumers dead: %d %d %d\n", grove_ready(workers[0]), grove_ready(workers[1]),
         grove_ready(workers[2]));
  printf("producer successful: %d\n", grove_successful(p));
  for (int i = 0; i < 3; i++)
    grove_greenlet_release(workers[i]);
  grove_greenlet_release(p);
  int rc4 = grove_queue_free(q);
  return rc == 0 && rc2 == 0 && rc3 == 0 && rc4 == 0 && grove_hub_close() == 0 ? 0 : 1;
}
