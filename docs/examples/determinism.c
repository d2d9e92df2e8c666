/* determinism.c - the same program always interleaves the same way. */
#include <grove.h>
#include <stdint.h>
#include <stdio.h>

static char trace[64];
static int ntrace;

static void *rounds(void *arg) {
  char name = (char)(intptr_t)arg;
  for (int i = 0; i < 3; i++) {
    trace[ntrace++] = name;
    grove_sleep(0); /* to the back of the run queue */
  }
  return NULL;
}

static void *task(void *arg) {
  int pid = (int)(intptr_t)arg;
  grove_sleep(0.05 * (4 - pid)); /* later tasks sleep less */
  printf("Task %d done\n", pid);
  return NULL;
}

int main(void) {
  /* Greenlets start in spawn order; sleep(0) makes them take turns. */
  grove_greenlet *gs[3];
  for (int i = 0; i < 3; i++)
    gs[i] = grove_spawn(rounds, (void *)(intptr_t)('A' + i));
  int rc = grove_joinall(gs, 3, GROVE_FOREVER);
  printf("%s\n", trace);
  for (int i = 0; i < 3; i++)
    grove_greenlet_release(gs[i]);

  /* Sleepers wake in deadline order, not spawn order. */
  for (int i = 1; i <= 3; i++)
    gs[i - 1] = grove_spawn(task, (void *)(intptr_t)i);
  rc |= grove_joinall(gs, 3, GROVE_FOREVER);
  for (int i = 0; i < 3; i++)
    grove_greenlet_release(gs[i]);
  return rc == 0 && grove_hub_close() == 0 ? 0 : 1;
}
