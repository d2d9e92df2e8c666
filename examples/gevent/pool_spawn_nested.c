/* pool_spawn_nested.c - port of pool_spawn_nested.py (seed 001, "gevent 池").
 *
 * func_1 runs in an unbounded pool (a grove group) and spawns 100 func_2
 * greenlets into the same pool; the main greenlet joins the pool. The
 * references grove_group_spawn returns are dropped at once: the group keeps
 * its members alive.
 */
#include <grove.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static grove_group *gevent_pool;

static void *func_2(void *arg) {
  printf("func_2 ---> %d\n", (int)(intptr_t)arg);
  return NULL;
}

static void *func_1(void *arg) {
  for (intptr_t index = 0; index < 100; index++)
    grove_greenlet_release(grove_group_spawn(gevent_pool, func_2, (void *)index));
  return NULL;
}

int main(void) {
  gevent_pool = grove_group_new();
  grove_greenlet_release(grove_group_spawn(gevent_pool, func_1, NULL));
  int rc = grove_group_join(gevent_pool, GROVE_FOREVER);

  if (grove_group_free(gevent_pool) != 0)
    rc = -1;
  return rc == 0 && grove_hub_close() == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
