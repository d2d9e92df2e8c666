/* ownership.c - references, _free, and the leak check at the end. */
#include <grove.h>
#include <stdio.h>

static grove_event *evt;

static void *waiter(void *arg) {
  grove_event_wait(evt, GROVE_FOREVER);
  return NULL;
}

int main(void) {
  evt = grove_event_new();
  /* Detach: drop our reference at once; the greenlet keeps itself alive. */
  grove_greenlet_release(grove_spawn(waiter, NULL));
  grove_sleep(0); /* it starts and waits on evt */

  int busy = grove_event_free(evt); /* a greenlet waits on it: nothing freed */
  int open = grove_hub_close();     /* a greenlet has not finished: nothing freed */
  printf("event_free: %s, hub_close: %s, alive: %zu\n", grove_err_name(busy), grove_err_name(open),
         grove_hub_greenlet_count());

  grove_event_set(evt);
  grove_sleep(0); /* the waiter wakes and returns */
  int freed = grove_event_free(evt);
  int closed = grove_hub_close(); /* everything finished and freed */
  printf("event_free: %s, hub_close: %s\n", grove_err_name(freed), grove_err_name(closed));
  return busy == GROVE_EBUSY && open == GROVE_EBUSY && freed == 0 && closed == 0 ? 0 : 1;
}
