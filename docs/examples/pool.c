/* pool.c - a group with a size limit: imap, imap_unordered, apply_async. */
#include <grove.h>
#include <stdint.h>
#include <stdio.h>

static grove_group *pool;
static grove_event *called;

static void *intensive(void *arg) {
  intptr_t n = (intptr_t)arg;
  printf("  start %d (free slots: %zu)\n", (int)n, grove_pool_free_count(pool));
  static const double seconds[] = {0.3, 0.1, 0.01}; /* the first task takes longest */
  grove_sleep(seconds[n]);
  return (void *)(n * n);
}

static void print_result(void *result, void *cb_arg) {
  printf("apply_async callback: %d\n", (int)(intptr_t)result);
  grove_event_set(called);
}

static int drain(grove_imap *it) {
  void *result;
  size_t index;
  int rc;
  while ((rc = grove_imap_next(it, &result, &index, GROVE_FOREVER)) == 0)
    printf("task %zu -> %d\n", index, (int)(intptr_t)result);
  grove_imap_free(it);
  return rc == GROVE_EOF ? 0 : rc; /* GROVE_EOF: every result returned */
}

int main(void) {
  pool = grove_pool_new(2); /* at most 2 members run at once */
  void *args[3] = {(void *)0, (void *)1, (void *)2};

  printf("Ordered\n");
  int rc = drain(grove_group_imap(pool, intensive, args, 3));
  printf("Unordered\n");
  rc |= drain(grove_group_imap_unordered(pool, intensive, args, 3));

  /* apply_async never blocks; the callback gets the value on success. */
  called = grove_event_new();
  grove_greenlet *g = grove_group_apply_async(pool, intensive, (void *)2, print_result, NULL);
  rc |= grove_event_wait(called, GROVE_FOREVER);
  grove_greenlet_release(g);
  grove_event_free(called);

  rc |= grove_group_free(pool);
  return rc == 0 && grove_hub_close() == 0 ? 0 : 1;
}
