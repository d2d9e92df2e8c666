/* A program outside the project, linked with the installed grove-patch:
 * three greenlets' plain usleep calls overlap. */
#include <grove.h>
#include <grove/patch.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static void *nap(void *arg) {
  usleep(100000);
  return arg;
}

int main(void) {
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  grove_greenlet *g[3];
  for (int i = 0; i < 3; i++)
    g[i] = grove_spawn(nap, NULL);
  int rc = grove_joinall(g, 3, 10);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  for (int i = 0; i < 3; i++)
    grove_greenlet_release(g[i]);
  double took = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
  if (rc != 0 || !grove_patch_active() || took > 0.25) {
    fprintf(stderr, "installed grove-patch: not in effect (%.3f s)\n", took);
    return 1;
  }
  puts("installed grove-patch works");
  return grove_hub_close() == 0 ? 0 : 1;
}
