/* greenlet_kill_cron.c - port of greenlet_kill_cron.py (seed 001 / 002,
 * "Subprocess": cron killed once the child process is done).
 *
 * cron prints every 0.1 s until it is killed: grove_kill makes its sleep
 * return GROVE_ECANCELED, and cron returns. The main greenlet's sleep stands
 * for the seed's cooperative wait on `sleep 1; uname`, and 'Linux' for the
 * child's output.
 */
#include <grove.h>
#include <stdio.h>
#include <stdlib.h>

static void *cron(void *arg) {
  for (;;) {
    puts("cron");
    if (grove_sleep(0.1) == GROVE_ECANCELED)
      return NULL;
  }
}

int main(void) {
  grove_greenlet *g = grove_spawn(cron, NULL);
  grove_sleep(0.45); /* stands for: Popen(['sleep 1; uname'], ...).communicate() */
  int rc = grove_kill(g, GROVE_FOREVER);
  puts("Linux"); /* stands for: print(out.rstrip()) */

  grove_greenlet_release(g);
  return rc == 0 && grove_hub_close() == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
