/* sleepers.c - plain usleep and nanosleep calls, made cooperative.
 *
 * Linked with grove-patch, the three greenlets' sleeps overlap: the hub
 * runs the others while one sleeps, so the program takes the longest
 * sleep (0.3 s), not the sum (0.6 s). */
#include <grove.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *nap(void *arg) {
  long ms = (long)(intptr_t)arg;
  printf("nap %ld ms: starts\n", ms);
  if (ms == 200) {
    struct timespec ts = {0, 200 * 1000000L};
    nanosleep(&ts, NULL);
  } else {
    usleep((useconds_t)(ms * 1000));
  }
  printf("nap %ld ms: done\n", ms);
  return NULL;
}

int main(void) {
  double t0 = now();
  grove_greenlet *g[] = {grove_spawn(nap, (void *)300), grove_spawn(nap, (void *)100),
                         grove_spawn(nap, (void *)200)};
  grove_joinall(g, 3, GROVE_FOREVER);
  double took = now() - t0;
  printf("three naps took %s\n", took < 0.5 ? "as long as the longest" : "their sum");
  for (int i = 0; i < 3; i++)
    grove_greenlet_release(g[i]);
  return grove_hub_close() == 0 ? 0 : 1;
}
