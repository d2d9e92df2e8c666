/* event_love.c - port of event_love.py (seed 000, "Event": I / LOVE / You).
 *
 * One setter prints "I", sleeps, prints "LOVE" and sets the event; four
 * waiters print "You" once it is set. The event is passed as the greenlets'
 * argument, as in the seed.
 */
#include <grove.h>
#include <stdio.h>
#include <stdlib.h>

static void *setter(void *arg) {
  grove_event *e = arg;
  puts("I");
  grove_sleep(0.03);
  puts("LOVE");
  grove_event_set(e);
  return NULL;
}

static void *waiter(void *arg) {
  grove_event *e = arg;
  grove_event_wait(e, GROVE_FOREVER);
  puts("You");
  return NULL;
}

int main(void) {
  grove_event *e = grove_event_new();
  grove_greenlet *gs[5];
  gs[0] = grove_spawn(setter, e);
  for (int i = 1; i < 5; i++)
    gs[i] = grove_spawn(waiter, e);
  int rc = grove_joinall(gs, 5, GROVE_FOREVER);

  for (int i = 0; i < 5; i++)
    grove_greenlet_release(gs[i]);
  grove_event_free(e);
  /* Closing the hub fails if anything is still running: a leak check. */
  return rc == 0 && grove_hub_close() == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
