/* asyncresult_love.c - port of asyncresult_love.py (seed 000, "AsyncResult").
 *
 * The setter stores "I LOVE" in an AsyncResult; four waiters get it, and
 * print it if the result holds a value rather than an error.
 */
#include <grove.h>
#include <stdio.h>
#include <stdlib.h>

static void *setter(void *arg) {
  grove_async_result *a = arg;
  puts("I");
  grove_sleep(0.03);
  puts("LOVE");
  grove_async_result_set(a, "I LOVE");
  return NULL;
}

static void *waiter(void *arg) {
  grove_async_result *a = arg;
  void *value = NULL;
  grove_async_result_get(a, &value, GROVE_FOREVER);
  if (grove_async_result_successful(a))
    printf("found notice: recv data from setter %s.\n", (const char *)value);
  puts("You");
  return NULL;
}

int main(void) {
  grove_async_result *a = grove_async_result_new();
  grove_greenlet *gs[5];
  gs[0] = grove_spawn(setter, a);
  for (int i = 1; i < 5; i++)
    gs[i] = grove_spawn(waiter, a);
  int rc = grove_joinall(gs, 5, GROVE_FOREVER);

  for (int i = 0; i < 5; i++)
    grove_greenlet_release(gs[i]);
  grove_async_result_free(a);
  return rc == 0 && grove_hub_close() == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
