/* pool_imap_unordered.c - port of pool_imap_unordered.py (seed 001, "确定性").
 *
 * Four runs of imap_unordered on a pool of 10 over an echo function that
 * blocks the whole thread for 1 ms (nanosleep, which does not yield, like the
 * seed's time.sleep without monkey patching). Greenlets are deterministic:
 * the four runs give the same order.
 */
#include <grove.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define N 10

static void *echo(void *arg) {
  struct timespec ms = {0, 1000000};
  nanosleep(&ms, NULL);
  return arg;
}

/* One run: collect the results in the order imap_unordered yields them. */
static int run(grove_group *p, void **args, int out[N]) {
  grove_imap *it = grove_group_imap_unordered(p, echo, args, N);
  if (it == NULL)
    return GROVE_ENOMEM;
  int n = 0, rc;
  void *result;
  while ((rc = grove_imap_next(it, &result, NULL, GROVE_FOREVER)) == 0 && n < N)
    out[n++] = (int)(intptr_t)result;
  grove_imap_free(it);
  return rc == GROVE_EOF && n == N ? 0 : -1;
}

static void print_run(const int r[N]) {
  printf("[");
  for (int i = 0; i < N; i++)
    printf(i ? ", %d" : "%d", r[i]);
  printf("]\n");
}

int main(void) {
  grove_group *p = grove_pool_new(10);
  void *args[N];
  for (intptr_t i = 0; i < N; i++)
    args[i] = (void *)i;
  int runs[4][N] = {{0}};
  int rc = 0;
  for (int r = 0; r < 4; r++)
    rc |= run(p, args, runs[r]);
  for (int r = 0; r < 4; r++)
    print_run(runs[r]);
  bool same = true;
  for (int r = 1; r < 4; r++)
    same = same && memcmp(runs[0], runs[r], sizeof runs[0]) == 0;
  puts(same ? "True" : "False");

  /* Members leave the pool as they finish; wait for the last one. */
  rc |= grove_group_join(p, GROVE_FOREVER);
  if (grove_group_free(p) != 0)
    rc = -1;
  return rc == 0 && grove_hub_close() == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
