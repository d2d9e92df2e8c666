/* event_round_robin.c - port of event_round_robin.py (seed 001, three events
 * passing the turn 1 -> 2 -> 3).
 *
 * Each greenlet prints its line, sets the next one's event, clears its own
 * and waits on it, ten times; after its loop it sets the next event once
 * more so that every greenlet finishes.
 */
#include <grove.h>
#include <stdio.h>
#include <stdlib.h>

struct turn {
  int num;
  const char *line;
  grove_event *mine; /* waited on: set when it is this greenlet's turn */
  grove_event *next; /* set to give the turn to the next greenlet */
};

static void *fun(void *arg) {
  struct turn *t = arg; /* lives in main's frame: safe to share */
  int i = 0;
  while (i < 10) {
    i += 1;
    puts(t->line);
    grove_event_set(t->next);
    grove_event_clear(t->mine);
    grove_event_wait(t->mine, GROVE_FOREVER);
  }
  grove_event_set(t->next);
  return NULL;
}

int main(void) {
  grove_event *act1 = grove_event_new();
  grove_event *act2 = grove_event_new();
  grove_event *act3 = grove_event_new();
  struct turn turns[] = {
      {1, "进程一:111111111", act1, act2},
      {2, "进程二:222222222", act2, act3},
      {3, "进程三:333333333", act3, act1},
  };
  const char *started[] = {"进程一启动:", "进程二启动:", "进程三启动:"};
  grove_greenlet *gevent_list[3];
  for (int i = 0; i < 3; i++) {
    gevent_list[i] = grove_spawn(fun, &turns[i]);
    puts(started[i]);
  }
  puts("所有进程都已启动!");
  int rc = grove_joinall(gevent_list, 3, GROVE_FOREVER);

  for (int i = 0; i < 3; i++)
    grove_greenlet_release(gevent_list[i]);
  grove_event_free(act1);
  grove_event_free(act2);
  grove_event_free(act3);
  return rc == 0 && grove_hub_close() == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
