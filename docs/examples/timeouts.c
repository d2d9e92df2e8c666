/* timeouts.c - a timeout per call, and a scoped deadline over many calls. */
#include <grove.h>
#include <stdio.h>

static void *slow(void *arg) {
  grove_sleep(0.2);
  return "slow result";
}

static void *fetch_all(void *arg) {
  grove_queue *q = arg;
  /* gevent: with Timeout(0.1): ... every call below shares one deadline. */
  grove_timeout *t = grove_timeout_start(0.1);
  int rc = grove_sleep(0.01); /* within the deadline: 0 */
  printf("scoped: sleep: %s\n", grove_err_name(rc));
  void *item;
  rc = grove_queue_get(q, &item, GROVE_FOREVER); /* nobody puts: woken at the deadline */
  printf("scoped: get: %s, expired %d\n", grove_err_name(rc), grove_timeout_expired(t));
  rc = grove_sleep(0); /* still inside the expired scope */
  printf("scoped: next call: %s\n", grove_err_name(rc));
  grove_timeout_cancel(t); /* ends the scope and frees t */
  return NULL;
}

int main(void) {
  grove_greenlet *g = grove_spawn(slow, NULL);
  void *value;
  int rc1 = grove_get(g, &value, 0.01); /* gevent: g.get(timeout=0.01) */
  printf("get with timeout: %s\n", grove_err_name(rc1));
  int rc2 = grove_get(g, &value, GROVE_FOREVER);
  printf("get without: %s \"%s\"\n", grove_err_name(rc2), (const char *)value);
  grove_greenlet_release(g);

  grove_queue *q = grove_queue_new(0);
  g = grove_spawn(fetch_all, q);
  int rc3 = grove_join(g, GROVE_FOREVER);
  grove_greenlet_release(g);
  grove_queue_free(q);
  return rc1 == GROVE_ETIMEDOUT && rc2 == 0 && rc3 == 0 && grove_hub_close() == 0 ? 0 : 1;
}
