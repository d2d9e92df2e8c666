/* timeout_start.c - port of timeout_start.py (seed 001, "超时", first
 * example).
 *
 * A scoped timeout started in the main greenlet interrupts its join of a
 * greenlet that sleeps longer. The seed then just exits; the port ends the
 * scope and kills the sleeper so that nothing is left running.
 */
#include <grove.h>
#include <stdio.h>
#include <stdlib.h>

static void *wait_fn(void *arg) {
  grove_sleep(0.05);
  return NULL;
}

int main(void) {
  double seconds = 0.01;
  grove_timeout *timeout = grove_timeout_start(seconds);

  grove_greenlet *g = grove_spawn(wait_fn, NULL);
  if (grove_join(g, GROVE_FOREVER) == GROVE_ETIMEDOUT)
    puts("Could not complete");

  grove_timeout_cancel(timeout);
  grove_kill(g, GROVE_FOREVER);
  grove_greenlet_release(g);
  return grove_hub_close() == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
