/* pool_map_size.c - port of pool_map_size.py (seed 001 / 002, "组和池", Pool
 * example).
 *
 * A pool of 2 maps three items over a function that prints the pool's size.
 */
#include <grove.h>
#include <stdio.h>
#include <stdlib.h>

static grove_group *pool;

static void *hello_from(void *arg) {
  printf("Size of pool %d\n", (int)grove_group_size(pool));
  return NULL;
}

int main(void) {
  pool = grove_pool_new(2);
  void *args[] = {(void *)0, (void *)1, (void *)2};
  void *results[3];
  int rc = grove_group_map(pool, hello_from, args, 3, results);

  if (grove_group_free(pool) != 0)
    rc = -1;
  return rc == 0 && grove_hub_close() == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
