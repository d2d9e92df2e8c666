/* event_waiters.c - port of event_waiters.py (seed 001 / 002, "事件").
 *
 * A setter and five waiters share one event; the waiters wake in the order
 * they started waiting.
 */
#include <grove.h>
#include <stdio.h>
#include <stdlib.h>

static grove_event *evt;

/* After a while, wake all greenlets waiting on evt. */
static void *setter(void *arg) {
  puts("A: Hey wait for me, I have to do something");
  grove_sleep(0.03);
  puts("Ok, I'm done");
  grove_event_set(evt);
  return NULL;
}

static void *waiter(void *arg) {
  puts("I'll wait for you");
  grove_event_wait(evt, GROVE_FOREVER); /* blocking */
  puts("It's about time");
  return NULL;
}

int main(void) {
  evt = grove_event_new();
  grove_greenlet *gs[6];
  gs[0] = grove_spawn(setter, NULL);
  for (int i = 1; i < 6; i++)
    gs[i] = grove_spawn(waiter, NULL);
  int rc = grove_joinall(gs, 6, GROVE_FOREVER);

  for (int i = 0; i < 6; i++)
    grove_greenlet_release(gs[i]);
  grove_event_free(evt);
  return rc == 0 && grove_hub_close() == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
