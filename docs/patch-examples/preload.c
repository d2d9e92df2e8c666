/* preload.c - a program that knows nothing of the patch.
 *
 * It links grove only. Run as
 *   LD_PRELOAD=libgrove-patch.so ./preload
 * its plain sleep() calls in two greenlets overlap; run without, they add
 * up. It asks the dynamic linker whether the patch is there (a program
 * linked with grove-patch would call grove_patch_active() directly). */
#include <dlfcn.h>
#include <grove.h>
#include <stdbool.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static void *nap(void *arg) {
  sleep(1);
  return arg;
}

int main(void) {
  bool (*active)(void);
  *(void **)&active = dlsym(RTLD_DEFAULT, "grove_patch_active");
  printf("patched: %s\n", active && active() ? "yes" : "no");

  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  grove_greenlet *g[] = {grove_spawn(nap, NULL), grove_spawn(nap, NULL)};
  grove_joinall(g, 2, GROVE_FOREVER);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  double took = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
  printf("two sleep(1) in greenlets: %s\n", took < 1.5 ? "together" : "one after another");
  grove_greenlet_release(g[0]);
  grove_greenlet_release(g[1]);
  return grove_hub_close() == 0 ? 0 : 1;
}
