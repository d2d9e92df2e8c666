/* link.c - run a callback when a greenlet finishes (gevent's link). */
#include <grove.h>
#include <stdio.h>

static grove_semaphore *done; /* released once per link that ran */

static void *work(void *arg) {
  grove_sleep(0.01);
  if (arg)
    grove_exit(GROVE_EINVAL); /* fail */
  return "result";
}

/* Runs in a greenlet of its own once g has finished; g is borrowed. */
static void report(grove_greenlet *g, void *arg) {
  if (grove_successful(g))
    printf("%s: %s succeeded with \"%s\"\n", (const char *)arg, grove_greenlet_name(g),
           (const char *)grove_value(g));
  else
    printf("%s: %s failed: %s\n", (const char *)arg, grove_greenlet_name(g),
           grove_strerror(grove_error(g)));
  grove_semaphore_release(done);
}

int main(void) {
  done = grove_semaphore_new(0);
  grove_spawn_opts opts = {.name = "good"};
  grove_greenlet *good = grove_spawn_ex(work, NULL, &opts);
  opts.name = "bad";
  grove_greenlet *bad = grove_spawn_ex(work, "fail", &opts);
  grove_link(good, report, "first link");
  grove_link(good, report, "second link"); /* links run in the order added */
  grove_link(bad, report, "link");
  /* The greenlets may be released at once: a link holds its own reference. */
  grove_greenlet_release(good);
  grove_greenlet_release(bad);

  int rc = 0;
  for (int i = 0; i < 3 && rc == 0; i++)
    rc = grove_semaphore_acquire(done, GROVE_FOREVER);
  grove_semaphore_free(done);
  return rc == 0 && grove_hub_close() == 0 ? 0 : 1;
}
