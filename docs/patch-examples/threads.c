/* threads.c - the patch stays out of threads without a hub.
 *
 * A plain pthread and two greenlets of the main thread make the same
 * usleep(0.2 s) calls. The greenlets' overlap (the main thread's hub runs
 * one while the other sleeps); the pthread has no hub, so its call is
 * libc's and sleeps the thread, as it always did. */
#include <grove.h>
#include <grove/patch.h>
#include <pthread.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *thread_main(void *arg) {
  grove_patch_stats before, after;
  grove_patch_get_stats(&before);
  double t0 = now();
  usleep(200000);
  double took = now() - t0;
  grove_patch_get_stats(&after);
  printf("pthread: has a hub: %s; usleep slept the thread: %s; cooperative calls: %llu\n",
         grove_may_block() ? "yes" : "no", took >= 0.19 ? "yes" : "no",
         (unsigned long long)(after.calls - before.calls));
  return arg;
}

static void *nap(void *arg) {
  usleep(200000);
  return arg;
}

int main(void) {
  pthread_t t;
  pthread_create(&t, NULL, thread_main, NULL);
  pthread_join(t, NULL);

  double t0 = now();
  grove_greenlet *g[] = {grove_spawn(nap, NULL), grove_spawn(nap, NULL)};
  grove_joinall(g, 2, GROVE_FOREVER);
  printf("greenlets: two usleep(0.2 s) took %s\n", now() - t0 < 0.35 ? "0.2 s" : "0.4 s");
  grove_greenlet_release(g[0]);
  grove_greenlet_release(g[1]);
  return grove_hub_close() == 0 ? 0 : 1;
}
