/* stacks.c - which memory another greenlet may point into. */
#include <grove.h>
#include <stdint.h>
#include <stdio.h>

typedef struct tally {
  int sum;
  int pending;
  grove_event *done;
} tally;

static void *adder(void *arg) {
  tally *t = arg; /* points into the stack of main or of a dedicated greenlet */
  grove_sleep(0);
  t->sum += 10;
  if (--t->pending == 0)
    grove_event_set(t->done);
  return NULL;
}

/* Shares its local `t`: allowed only because it runs on a dedicated stack. */
static void *owner(void *arg) {
  tally t = {0, 3, grove_event_new()};
  for (int i = 0; i < 3; i++)
    grove_greenlet_release(grove_spawn(adder, &t)); /* detached */
  grove_event_wait(t.done, GROVE_FOREVER);
  grove_event_free(t.done);
  return (void *)(intptr_t)t.sum;
}

int main(void) {
  /* main runs on the thread's own stack: its locals may be shared freely. */
  tally mine = {0, 2, grove_event_new()};
  grove_greenlet_release(grove_spawn(adder, &mine));
  grove_greenlet_release(grove_spawn(adder, &mine));
  grove_event_wait(mine.done, GROVE_FOREVER);
  grove_event_free(mine.done);
  printf("main's tally: %d\n", mine.sum);

  grove_spawn_opts opts = {
      .name = "owner", .stack = GROVE_STACK_DEDICATED, .stack_size = 64 * 1024};
  grove_greenlet *g = grove_spawn_ex(owner, NULL, &opts);
  void *sum;
  int rc = grove_get(g, &sum, GROVE_FOREVER);
  printf("owner's tally: %d\n", (int)(intptr_t)sum);
  grove_greenlet_release(g);
  return rc == 0 && mine.sum == 20 && (intptr_t)sum == 30 && grove_hub_close() == 0 ? 0 : 1;
}
