/* async_result.c - a future: an event that carries a value or an error. */
#include <grove.h>
#include <stdio.h>

static grove_async_result *a, *b;

static void *setter(void *arg) {
  grove_sleep(0.01);
  grove_async_result_set(a, "Hello!"); /* the result does not own the value */
  grove_async_result_set_error(b, GROVE_ENOENT);
  return NULL;
}

static void *waiter(void *arg) {
  void *value;
  int rc = grove_async_result_get(a, &value, GROVE_FOREVER);
  printf("a: %s %s\n", grove_err_name(rc), (const char *)value);
  rc = grove_async_result_get(b, &value, GROVE_FOREVER);
  printf("b: %s (%s)\n", grove_err_name(rc), grove_strerror(rc));
  return NULL;
}

int main(void) {
  a = grove_async_result_new();
  b = grove_async_result_new();
  /* Nobody sets it within 5 ms: gevent's Timeout from get(timeout=...). */
  int rc0 = grove_async_result_get(a, NULL, 0.005);
  printf("before: %s\n", grove_err_name(rc0));

  grove_greenlet *gs[2];
  gs[0] = grove_spawn(setter, NULL);
  gs[1] = grove_spawn(waiter, NULL);
  int rc = grove_joinall(gs, 2, GROVE_FOREVER);
  printf("ready %d successful %d / ready %d successful %d\n", grove_async_result_ready(a),
         grove_async_result_successful(a), grove_async_result_ready(b),
         grove_async_result_successful(b));

  grove_greenlet_release(gs[0]);
  grove_greenlet_release(gs[1]);
  grove_async_result_free(a);
  grove_async_result_free(b);
  return rc0 == GROVE_ETIMEDOUT && rc == 0 && grove_hub_close() == 0 ? 0 : 1;
}
