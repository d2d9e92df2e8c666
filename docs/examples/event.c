/* event.c - one setter wakes every waiter, in the order they started waiting. */
#include <grove.h>
#include <stdint.h>
#include <stdio.h>

static grove_event *evt;

static void *setter(void *arg) {
  printf("A: Hey wait for me, I have to do something\n");
  grove_sleep(0.02);
  printf("Ok, I'm done\n");
  grove_event_set(evt); /* never blocks: the waiters run once setter returns */
  return NULL;
}

static void *waiter(void *arg) {
  printf("%d: I'll wait for you\n", (int)(intptr_t)arg);
  int rc = grove_event_wait(evt, GROVE_FOREVER);
  printf("%d: It's about time (%s)\n", (int)(intptr_t)arg, grove_err_name(rc));
  return NULL;
}

int main(void) {
  evt = grove_event_new();
  grove_greenlet *gs[4];
  gs[0] = grove_spawn(setter, NULL);
  for (int i = 1; i < 4; i++)
    gs[i] = grove_spawn(waiter, (void *)(intptr_t)i);
  int rc = grove_joinall(gs, 4, GROVE_FOREVER);

  /* A set event lets every wait through until it is cleared. */
  int rc2 = grove_event_wait(evt, 0);
  grove_event_clear(evt);
  int rc3 = grove_event_wait(evt, 0.01);
  printf("after set: %s; after clear: %s\n", grove_err_name(rc2), grove_err_name(rc3));

  for (int i = 0; i < 4; i++)
    grove_greenlet_release(gs[i]);
  grove_event_free(evt);
  return rc == 0 && rc2 == 0 && rc3 == GROVE_ETIMEDOUT && grove_hub_close() == 0 ? 0 : 1;
}
