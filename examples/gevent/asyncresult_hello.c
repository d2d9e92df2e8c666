/* asyncresult_hello.c - port of asyncresult_hello.py (seed 001 / 002,
 * AsyncResult as a future).
 *
 * The setter sets "Hello!" after a sleep; the waiter blocks in get until
 * then and prints the value.
 */
#include <grove.h>
#include <stdio.h>
#include <stdlib.h>

static grove_async_result *a;

static void *setter(void *arg) {
  grove_sleep(0.03);
  grove_async_result_set(a, "Hello!");
  return NULL;
}

static void *waiter(void *arg) {
  void *value;
  if (grove_async_result_get(a, &value, GROVE_FOREVER) == 0)
    puts(value);
  return NULL;
}

int main(void) {
  a = grove_async_result_new();
  grove_greenlet *gs[] = {grove_spawn(setter, NULL), grove_spawn(waiter, NULL)};
  int rc = grove_joinall(gs, 2, GROVE_FOREVER);

  grove_greenlet_release(gs[0]);
  grove_greenlet_release(gs[1]);
  grove_async_result_free(a);
  return rc == 0 && grove_hub_close() == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
