/* greenlet_state.c - a greenlet's result: value, error, ready, successful. */
#include <grove.h>
#include <stdio.h>

#define E_YOU_FAIL (-5001) /* an application error code, outside grove's range */

static void *win(void *arg) { return "You win!"; }

static void *fail(void *arg) {
  grove_exit(E_YOU_FAIL); /* ends this greenlet now, unsuccessfully */
  return NULL;            /* not reached */
}

int main(void) {
  grove_greenlet *winner = grove_spawn(win, NULL);
  grove_greenlet *loser = grove_spawn(fail, NULL);
  grove_greenlet *both[] = {winner, loser};

  /* A failure stays inside its greenlet: joinall only waits. */
  if (grove_joinall(both, 2, GROVE_FOREVER) != 0)
    return 1;
  printf("ready: %d %d\n", grove_ready(winner), grove_ready(loser));
  printf("successful: %d %d\n", grove_successful(winner), grove_successful(loser));
  printf("value: %s\n", (const char *)grove_value(winner));
  printf("loser's error: %d\n", grove_error(loser));

  /* grove_get is join + value: 0 and the value, or the greenlet's error. */
  void *value;
  int rc1 = grove_get(winner, &value, GROVE_FOREVER);
  int rc2 = grove_get(loser, NULL, GROVE_FOREVER);
  printf("get: %d \"%s\", %d\n", rc1, (const char *)value, rc2);

  grove_greenlet_release(winner);
  grove_greenlet_release(loser);
  return rc1 == 0 && rc2 == E_YOU_FAIL && grove_hub_close() == 0 ? 0 : 1;
}
