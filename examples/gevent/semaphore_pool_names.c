/* semaphore_pool_names.c - port of semaphore_pool_names.py (seed 000,
 * "BoundedSemaphore").
 *
 * Three workers hold a bounded semaphore of 2 across a grove_sleep(0) (the
 * seed's `with b:` block); an unbounded pool maps them. gevent's Pool()
 * without a size never blocks, which is what a grove group is.
 */
#include <grove.h>
#include <stdio.h>
#include <stdlib.h>

static grove_semaphore *b;

static void *work(void *arg) {
  const char *name = arg;
  grove_semaphore_acquire(b, GROVE_FOREVER);
  printf("found notice: worker %s acquire sem lock.\n", name);
  grove_sleep(0);
  grove_semaphore_release(b);
  printf("found notice: worker %s release sem lock.\n", name);
  return NULL;
}

int main(void) {
  b = grove_bounded_semaphore_new(2);
  grove_group *p = grove_group_new();
  void *names[] = {"李满满", "刘珍珍", "罗诗瑶"};
  void *results[3];
  int rc = grove_group_map(p, work, names, 3, results);

  if (grove_group_free(p) != 0 || grove_semaphore_free(b) != 0)
    rc = -1;
  return rc == 0 && grove_hub_close() == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
