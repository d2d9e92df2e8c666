/* local_stash.c - port of local_stash.py (seed 001 / 002, "Thread Locals").
 *
 * The seed's local() object has two attributes, x and y; here each is a
 * greenlet-local key. f2 looks x up: never set in f2, it is GROVE_ENOENT
 * (the seed's AttributeError).
 */
#include <grove.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static grove_local *stash_x, *stash_y;

static void *f1(void *arg) {
  grove_local_set(stash_x, (void *)1);
  printf("%d\n", (int)(intptr_t)grove_local_get(stash_x));
  return NULL;
}

static void *f2(void *arg) {
  grove_local_set(stash_y, (void *)2);
  printf("%d\n", (int)(intptr_t)grove_local_get(stash_y));
  void *x;
  if (grove_local_lookup(stash_x, &x) == GROVE_ENOENT)
    puts("x is not local to f2");
  return NULL;
}

int main(void) {
  stash_x = grove_local_new(NULL);
  stash_y = grove_local_new(NULL);
  grove_greenlet *gs[] = {grove_spawn(f1, NULL), grove_spawn(f2, NULL)};
  int rc = grove_joinall(gs, 2, GROVE_FOREVER);

  grove_greenlet_release(gs[0]);
  grove_greenlet_release(gs[1]);
  grove_local_free(stash_x);
  grove_local_free(stash_y);
  return rc == 0 && grove_hub_close() == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
