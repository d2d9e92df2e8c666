/* tests/patch/preload_probe.c - the patch from LD_PRELOAD.
 *
 * This program links grove but not grove-patch; ctest runs it with
 * LD_PRELOAD=libgrove-patch.so. It finds grove_patch_active with dlsym (it
 * cannot call it directly: nothing here links the patch library) and
 * checks that three greenlets' plain usleep(0.2 s) calls overlap. */
#include "test.h"

#include <dlfcn.h>

static void *sleeper(void *arg) {
  (void)arg;
  usleep(200000);
  return NULL;
}

int main(void) {
  bool (*active)(void);
  *(void **)&active = dlsym(RTLD_DEFAULT, "grove_patch_active");
  if (!active || !active()) {
    fprintf(stderr, "preload_probe: the patch is not in effect (run with "
                    "LD_PRELOAD=libgrove-patch.so)\n");
    return 1;
  }
  grove_greenlet *g[3];
  double t0 = test_now();
  for (int i = 0; i < 3; i++)
    g[i] = grove_spawn(sleeper, NULL);
  CHECK_EQ(grove_joinall(g, 3, 10), 0);
  double took = test_now() - t0;
  CHECK(took >= 0.19 && took < 0.5);
  for (int i = 0; i < 3; i++)
    grove_greenlet_release(g[i]);
  CHECK_EQ(grove_hub_close(), 0);
  printf("%s preload: 3 x usleep(0.2 s) in %.3f s\n", test__failed ? "FAIL" : "ok  ", took);
  return test__failed;
}
