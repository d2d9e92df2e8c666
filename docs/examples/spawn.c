/* spawn.c - two greenlets take turns at every grove_sleep(0). */
#include <grove.h>
#include <stdio.h>

static void *foo(void *arg) {
  printf("Running in foo\n");
  grove_sleep(0); /* yield: bar runs next */
  printf("Explicit context switch to foo again\n");
  return NULL;
}

static void *bar(void *arg) {
  printf("Explicit context to bar\n");
  grove_sleep(0);
  printf("Implicit context switch back to bar\n");
  return NULL;
}

int main(void) {
  grove_greenlet *gs[2];
  gs[0] = grove_spawn(foo, NULL); /* spawn order is run order */
  gs[1] = grove_spawn(bar, NULL);
  if (!gs[0] || !gs[1])
    return 1;
  printf("Spawned; nothing has run yet\n");
  /* main blocks here, so the hub runs foo, then bar, in spawn order. */
  int rc = grove_joinall(gs, 2, GROVE_FOREVER);
  grove_greenlet_release(gs[0]);
  grove_greenlet_release(gs[1]);
  return rc == 0 && grove_hub_close() == 0 ? 0 : 1;
}
