/* pool_map_free_count.c - port of pool_map_free_count.py (seed 000, "Pool").
 *
 * A pool of 2 maps, over three items (the pool itself each time), a function
 * that prints the pool's size and free count.
 */
#include <grove.h>
#include <stdio.h>
#include <stdlib.h>

static void *pool_size(void *arg) {
  grove_group *p = arg;
  printf("found notice: current pool size: %d free %d\n", (int)grove_group_size(p),
         (int)grove_pool_free_count(p));
  return NULL;
}

int main(void) {
  grove_group *p = grove_pool_new(2);
  void *args[] = {p, p, p};
  void *results[3];
  int rc = grove_group_map(p, pool_size, args, 3, results);

  if (grove_group_free(p) != 0)
    rc = -1;
  return rc == 0 && grove_hub_close() == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
