/* greenlet_kill_noop.c - port of greenlet_kill_noop.py (seed 004,
 * MyNoopGreenlet and kill with block=False).
 *
 * A noop greenlet only sleeps; the seed's __str__ becomes the greenlet's
 * name. The long one is killed without waiting (timeout 0), which only
 * requests the kill: it is still running until the main greenlet joins it.
 * Its sleep then returns GROVE_ECANCELED and it returns normally, which
 * counts as successful, as a GreenletExit does in gevent.
 */
#include <grove.h>
#include <stdio.h>
#include <stdlib.h>

static const char *py_bool(bool b) { return b ? "True" : "False"; }

static void *noop_run(void *arg) {
  const double *seconds = arg; /* main's variable: safe to share */
  grove_sleep(*seconds);
  return NULL;
}

static grove_greenlet *noop_start(const double *seconds) {
  char name[64];
  snprintf(name, sizeof name, "MyNoopGreenlet(%g)", *seconds);
  grove_spawn_opts opts = {.name = name};
  return grove_spawn_ex(noop_run, (void *)seconds, &opts);
}

int main(void) {
  double short_s = 0.01, long_s = 5;
  grove_greenlet *shrt = noop_start(&short_s);
  grove_greenlet *lng = noop_start(&long_s);
  printf("started %s and %s\n", grove_greenlet_name(shrt), grove_greenlet_name(lng));
  int rc = grove_join(shrt, GROVE_FOREVER);
  printf("%s ready: %s successful: %s\n", grove_greenlet_name(shrt), py_bool(grove_ready(shrt)),
         py_bool(grove_successful(shrt)));
  grove_kill_nowait(lng); /* block=False */
  printf("%s ready right after kill(block=False): %s\n", grove_greenlet_name(lng),
         py_bool(grove_ready(lng)));
  rc |= grove_join(lng, GROVE_FOREVER);
  printf("%s ready after join: %s successful: %s\n", grove_greenlet_name(lng),
         py_bool(grove_ready(lng)), py_bool(grove_successful(lng)));

  grove_greenlet_release(shrt);
  grove_greenlet_release(lng);
  return rc == 0 && grove_hub_close() == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
