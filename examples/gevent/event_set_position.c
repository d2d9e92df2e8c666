/* event_set_position.c - port of event_set_position.py (seed 003, "Event").
 *
 * A setter and three waiters, run twice with a new event: first the setter
 * sets the event before its sleep (waiting on a set event returns at once,
 * so each waiter finishes as soon as it starts), then after it (the waiters
 * block until the setter is done).
 */
#include <grove.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static grove_event *evt;
static int position;

static void *setter(void *arg) {
  puts("setter start");
  if (position == 1)
    grove_event_set(evt); /* ---> 1 */
  grove_sleep(0.03);
  puts("setter done");
  if (position == 2)
    grove_event_set(evt); /* ---> 2 */
  return NULL;
}

static void *waiter(void *arg) {
  int i = (int)(intptr_t)arg;
  printf("waiter%d start\n", i);
  grove_event_wait(evt, GROVE_FOREVER);
  printf("waiter%d done\n", i);
  return NULL;
}

int main(void) {
  int rc = 0;
  for (position = 1; position <= 2; position++) {
    printf("evt.set() at position %d:\n", position);
    evt = grove_event_new();
    grove_greenlet *gs[] = {grove_spawn(setter, NULL), grove_spawn(waiter, (void *)1),
                            grove_spawn(waiter, (void *)2), grove_spawn(waiter, (void *)3)};
    rc |= grove_joinall(gs, 4, GROVE_FOREVER);
    for (int i = 0; i < 4; i++)
      grove_greenlet_release(gs[i]);
    grove_event_free(evt);
  }
  return rc == 0 && grove_hub_close() == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
