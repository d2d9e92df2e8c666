/* queue_producer_consumer.c - port of queue_producer_consumer.py (seed 001,
 * "示例:生产者、消费者").
 *
 * One producer and two consumers share a queue of 3. Each prints a prefix
 * before its blocking put/get and the rest of the line after it, so the
 * output shows exactly where each one blocked and who ran next.
 */
#include <grove.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define N_ITEMS 8

static const int items[N_ITEMS] = {42, 7, 93, 15, 64, 28, 81, 3};
static grove_queue *task_queue;

static void *producer(void *arg) {
  int index = (int)(intptr_t)arg;
  for (int i = 0; i < N_ITEMS; i++) {
    printf("生产者 [%d]", index);
    if (grove_queue_put(task_queue, (void *)(intptr_t)items[i], GROVE_FOREVER) != 0)
      break;
    printf("生产 ---> %d\n", items[i]);
  }
  return NULL;
}

static void *consumer(void *arg) {
  int index = (int)(intptr_t)arg;
  for (int i = 0; i < N_ITEMS / 2; i++) {
    void *item;
    printf("消费者 [%d]", index);
    if (grove_queue_get(task_queue, &item, GROVE_FOREVER) != 0)
      break;
    printf("消费 ---> %d\n", (int)(intptr_t)item);
  }
  return NULL;
}

int main(void) {
  task_queue = grove_queue_new(3);
  grove_greenlet *jobs[3];
  jobs[0] = grove_spawn(producer, (void *)1);
  jobs[1] = grove_spawn(consumer, (void *)1);
  jobs[2] = grove_spawn(consumer, (void *)2);
  int rc = grove_joinall(jobs, 3, GROVE_FOREVER);

  for (int i = 0; i < 3; i++)
    grove_greenlet_release(jobs[i]);
  grove_queue_free(task_queue);
  return rc == 0 && grove_hub_close() == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
