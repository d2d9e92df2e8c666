/* sleep_interleave.c - port of sleep_interleave.py (seed 001, func_a and
 * func_b).
 *
 * Two greenlets count down from 10, one sleeping 0.4 s per step and the
 * other 0.18 s; timers wake them in deadline order.
 */
#include <grove.h>
#include <stdio.h>
#include <stdlib.h>

static void *func_a(void *arg) {
  int count = 10;
  while (count > 0) {
    printf("func_a ---> %d\n", count);
    count -= 1;
    grove_sleep(0.4);
  }
  return NULL;
}

static void *func_b(void *arg) {
  int count = 10;
  while (count > 0) {
    printf("func_b ---> %d\n", count);
    count -= 1;
    grove_sleep(0.18);
  }
  return NULL;
}

int main(void) {
  grove_greenlet *g1 = grove_spawn(func_a, NULL);
  grove_greenlet *g2 = grove_spawn(func_b, NULL);
  int rc = grove_join(g1, GROVE_FOREVER);
  rc |= grove_join(g2, GROVE_FOREVER);

  grove_greenlet_release(g1);
  grove_greenlet_release(g2);
  return rc == 0 && grove_hub_close() == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
