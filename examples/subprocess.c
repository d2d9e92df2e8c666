/* subprocess.c - the gevent tutorial's subprocess example in C.
 *
 *   import gevent
 *   from gevent.subprocess import Popen, PIPE
 *
 *   def cron():
 *       while True:
 *           print("cron")
 *           gevent.sleep(0.2)
 *
 *   g = gevent.spawn(cron)
 *   sub = Popen(['sleep 1; uname'], stdout=PIPE, shell=True)
 *   out, err = sub.communicate()
 *   g.kill()
 *   print(out.rstrip())
 *
 * While main waits for the child (a second of sleep, then uname), the hub
 * keeps running the cron greenlet: "cron" is printed about five times before
 * the child's output ("Linux" here).
 */
#include <grove.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *cron(void *arg) {
  (void)arg;
  for (;;) {
    printf("cron\n");
    if (grove_sleep(0.2) != 0) /* GROVE_ECANCELED once killed */
      return NULL;
  }
}

int main(void) {
  grove_greenlet *g = grove_spawn(cron, NULL);

  const char *argv[] = {"/bin/sh", "-c", "sleep 1; uname", NULL};
  grove_subprocess_opts opts = {.argv = argv, .stdout_mode = GROVE_STDIO_PIPE};
  grove_subprocess *sub;
  int rc = grove_subprocess_spawn(&opts, &sub);
  if (rc != 0) {
    fprintf(stderr, "spawn: %s\n", grove_strerror(rc));
    return 1;
  }
  char *out = NULL;
  size_t len = 0;
  rc = grove_subprocess_communicate(sub, NULL, 0, &out, &len, NULL, NULL, 10.0);
  grove_kill(g, GROVE_FOREVER);
  grove_greenlet_release(g);
  if (rc != 0) {
    fprintf(stderr, "communicate: %s\n", grove_strerror(rc));
    grove_subprocess_free(sub);
    return 1;
  }
  while (len > 0 && (out[len - 1] == '\n' || out[len - 1] == ' '))
    out[--len] = 0; /* out.rstrip() */
  printf("%s\n", out);
  free(out);

  int code = -1;
  grove_subprocess_poll(sub, &code);
  grove_subprocess_free(sub);
  return code == 0 && grove_hub_close() == 0 ? 0 : 1;
}
