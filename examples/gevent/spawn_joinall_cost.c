/* spawn_joinall_cost.c - port of spawn_joinall_cost.py (seed 003, "例子").
 *
 * Three greenlets sleep 0.1 s each at the same time; joinall returns after
 * about one sleep, not three. The cost is measured with the monotonic clock
 * and printed as a verdict, as in the Python port.
 */
#include <grove.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void *func(void *arg) {
  int i = (int)(intptr_t)arg;
  printf("func%d start\n", i);
  grove_sleep(0.1);
  printf("func%d done\n", i);
  return NULL;
}

int main(void) {
  double s = now();
  grove_greenlet *coroutines[3];
  for (intptr_t i = 0; i < 3; i++)
    coroutines[i] = grove_spawn(func, (void *)i);
  int rc = grove_joinall(coroutines, 3, GROVE_FOREVER);
  double e = now();
  printf("gevent cost:  %s\n", e - s < 0.25 ? "concurrent" : "sequential");

  for (int i = 0; i < 3; i++)
    grove_greenlet_release(coroutines[i]);
  return rc == 0 && grove_hub_close() == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
