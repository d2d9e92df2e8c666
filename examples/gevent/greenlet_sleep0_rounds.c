/* greenlet_sleep0_rounds.c - port of greenlet_sleep0_rounds.py (seed 001,
 * "2、gevent 指南", first example).
 *
 * Three greenlets named g1..g3 run f(5): print the current greenlet's name
 * and a counter, then yield with grove_sleep(0).
 */
#include <grove.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static void *f(void *arg) {
  int n = (int)(intptr_t)arg;
  for (int i = 0; i < n; i++) {
    printf("%s %d\n", grove_greenlet_name(grove_current()), i);
    grove_sleep(0);
  }
  return NULL;
}

int main(void) {
  grove_greenlet *g1 = grove_spawn(f, (void *)5);
  grove_greenlet_set_name(g1, "g1");
  grove_greenlet *g2 = grove_spawn(f, (void *)5);
  grove_greenlet_set_name(g2, "g2");
  grove_greenlet *g3 = grove_spawn(f, (void *)5);
  grove_greenlet_set_name(g3, "g3");
  int rc = grove_join(g1, GROVE_FOREVER);
  rc |= grove_join(g2, GROVE_FOREVER);
  rc |= grove_join(g3, GROVE_FOREVER);

  grove_greenlet_release(g1);
  grove_greenlet_release(g2);
  grove_greenlet_release(g3);
  return rc == 0 && grove_hub_close() == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
