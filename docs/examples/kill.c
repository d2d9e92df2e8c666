/* kill.c - killing is cancellation: the victim's blocking calls return
 * GROVE_ECANCELED and it unwinds by returning. */
#include <grove.h>
#include <stdio.h>
#include <stdlib.h>

static void *cron(void *arg) {
  char *buf = malloc(64); /* something to clean up on the way out */
  int rc;
  while ((rc = grove_sleep(3600)) == 0) /* an hourly job */
    printf("job\n");
  printf("cron: sleep returned %s, cleaning up\n", grove_err_name(rc));
  free(buf);
  return NULL;
}

static void *never(void *arg) {
  printf("never runs\n");
  return NULL;
}

int main(void) {
  grove_greenlet *g = grove_spawn(cron, NULL);
  grove_sleep(0.01);                     /* cron starts and blocks in its sleep */
  int rc = grove_kill(g, GROVE_FOREVER); /* wake it, then wait until it has returned */
  printf("kill: %s, ready %d, cancelled %d, successful %d\n", grove_err_name(rc), grove_ready(g),
         grove_cancelled(g), grove_successful(g));

  /* A greenlet killed before it started never runs. */
  grove_greenlet *n = grove_spawn(never, NULL);
  int rc2 = grove_kill(n, GROVE_FOREVER);
  printf("killed before start: %s, ready %d\n", grove_err_name(rc2), grove_ready(n));

  grove_greenlet_release(g);
  grove_greenlet_release(n);
  return rc == 0 && rc2 == 0 && grove_hub_close() == 0 ? 0 : 1;
}
