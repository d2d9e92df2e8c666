/* fanin.c - fanin.py translated line for line: four workers, each linked
 * to an AsyncResult of its own by grove_link_value (the value) and
 * grove_link_exception (the error); a watcher waits on one result while
 * main takes them all as they become ready with grove_iwait. */
#include <grove.h>
#include <stdint.h>
#include <stdio.h>

static grove_async_result *results[4], *late;

static void *compute(void *arg) {
  intptr_t n = (intptr_t)arg;
  if (grove_sleep(0.05 * (double)n) != 0)
    return NULL;
  if (n == 3)
    grove_exit(-22);
  return (void *)(n * n);
}

static void *watcher(void *arg) {
  void *v;
  int rc = grove_async_result_get(arg, &v, GROVE_FOREVER);
  if (rc == 0)
    printf("watcher: result 1 is %d\n", (int)(intptr_t)v);
  else
    printf("watcher: result 1 failed %d\n", rc);
  return NULL;
}

static void on_value(grove_greenlet *g, void *arg) {
  intptr_t i = (intptr_t)arg;
  printf("link_value %d\n", (int)i);
  grove_async_result_set(results[i], grove_value(g));
}

static void on_exception(grove_greenlet *g, void *arg) {
  intptr_t i = (intptr_t)arg;
  printf("link_exception %d\n", (int)i);
  grove_async_result_set_error(results[i], grove_error(g));
}

static void late_value(grove_greenlet *g, void *arg) {
  (void)g;
  grove_async_result_set(late, arg);
}

int main(void) {
  static const intptr_t ns[] = {2, 1, 4, 3};
  grove_greenlet *gs[5];
  grove_waitable objs[4];
  for (intptr_t i = 0; i < 4; i++) {
    results[i] = grove_async_result_new();
    objs[i] = GROVE_WAITABLE_ASYNC_RESULT(results[i]);
  }
  for (intptr_t i = 0; i < 4; i++) {
    gs[i] = grove_spawn(compute, (void *)ns[i]);
    grove_link_value(gs[i], on_value, (void *)i);
    grove_link_exception(gs[i], on_exception, (void *)i);
  }
  gs[4] = grove_spawn(watcher, results[1]);
  int total = 0, rc;
  size_t i;
  grove_iwait *it = grove_iwait_new(objs, 4, 0, GROVE_FOREVER);
  while ((rc = grove_iwait_next(it, &i)) == 0) {
    void *v;
    int err = grove_async_result_get(results[i], &v, GROVE_FOREVER);
    if (err == 0) {
      printf("main: result %zu = %d\n", i, (int)(intptr_t)v);
      total += (int)(intptr_t)v;
    } else {
      printf("main: result %zu failed %d, exception %d\n", i, err,
             grove_async_result_error(results[i]));
    }
  }
  grove_iwait_free(it);
  printf("main: total %d\n", total);
  late = grove_async_result_new();
  grove_link_value(gs[0], late_value, "late link_value ran");
  grove_link_value(gs[3], late_value, "never: g3 failed");
  void *msg;
  int rc2 = grove_async_result_get(late, &msg, GROVE_FOREVER);
  printf("main: %s\n", (const char *)msg);
  int rc3 = grove_joinall(gs, 5, GROVE_FOREVER);
  printf("main: successful %d %d %d %d\n", grove_successful(gs[0]), grove_successful(gs[1]),
         grove_successful(gs[2]), grove_successful(gs[3]));
  int bad = 0;
  for (int k = 0; k < 5; k++)
    grove_greenlet_release(gs[k]);
  for (int k = 0; k < 4; k++)
    bad |= grove_async_result_free(results[k]);
  bad |= grove_async_result_free(late);
  return rc == GROVE_EOF && rc2 == 0 && rc3 == 0 && bad == 0 && grove_hub_close() == 0 ? 0 : 1;
}
