/* sleep0_foo_bar.c - port of sleep0_foo_bar.py (seed 001, "同步、异步" 执行).
 *
 * foo and bar hand control to each other with grove_sleep(0).
 */
#include <grove.h>
#include <stdio.h>
#include <stdlib.h>

static void *foo(void *arg) {
  puts("Running in foo");
  grove_sleep(0);
  puts("Explicit context switch to foo again");
  return NULL;
}

static void *bar(void *arg) {
  puts("Explicit context to bar");
  grove_sleep(0);
  puts("Implicit context switch back to bar");
  return NULL;
}

int main(void) {
  grove_greenlet *gs[] = {grove_spawn(foo, NULL), grove_spawn(bar, NULL)};
  int rc = grove_joinall(gs, 2, GROVE_FOREVER);

  grove_greenlet_release(gs[0]);
  grove_greenlet_release(gs[1]);
  return rc == 0 && grove_hub_close() == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
