/* nested_timeouts.c - nested_timeouts.py translated line for line: nested
 * scoped timeouts (an inner one that fires and is handled inside the outer
 * one, an outer one that fires through the inner one), a call's own timeout
 * inside a scope, and grove_timeout_pending along the way. */
#include <grove.h>
#include <stdio.h>

#define U 0.05
static const char *tf(bool b) { return b ? "True" : "False"; }

typedef struct job_args {
  const char *name;
  int outer, inner, work1, work2;
} job_args;

static void *job(void *arg) {
  job_args *a = arg;
  const char *name = a->name;
  grove_timeout *to = grove_timeout_start(a->outer * U);
  grove_timeout *ti = grove_timeout_start(a->inner * U);
  int rc = grove_sleep(a->work1 * U);
  if (rc == 0)
    printf("%s: first step done\n", name);
  else if (grove_timeout_expired(ti))
    printf("%s: inner fired, outer pending %s, inner pending %s\n", name,
           tf(grove_timeout_pending(to)), tf(grove_timeout_pending(ti)));
  grove_timeout_cancel(ti);
  if (rc != 0 && grove_timeout_expired(to))
    goto outer_fired;
  grove_async_result *r = grove_async_result_new();
  void *v;
  rc = grove_async_result_get(r, &v, a->work2 * U);
  grove_async_result_free(r);
  if (rc == 0)
    printf("%s: second step got a result\n", name);
  else if (grove_timeout_expired(to))
    goto outer_fired;
  else
    printf("%s: second step: its own timeout\n", name);
  if (grove_sleep(0) != 0)
    goto outer_fired;
  printf("%s: done, outer pending %s\n", name, tf(grove_timeout_pending(to)));
  goto after;
outer_fired:
  printf("%s: outer fired, pending %s\n", name, tf(grove_timeout_pending(to)));
after:
  grove_timeout_cancel(to); /* frees to: there is no pending to ask after it */
  printf("%s: after\n", name);
  return (void *)name;
}

int main(void) {
  job_args jobs[] = {{"A", 6, 2, 8, 1}, {"B", 3, 8, 6, 1}, {"C", 4, 1, 8, 8}, {"D", 9, 4, 1, 1}};
  int bad = 0;
  for (int i = 0; i < 4; i++) {
    grove_greenlet *g = grove_spawn(job, &jobs[i]);
    bad |= grove_join(g, GROVE_FOREVER);
    printf("main: joined, value %s\n", (const char *)grove_value(g));
    grove_greenlet_release(g);
  }
  return bad == 0 && grove_hub_close() == 0 ? 0 : 1;
}
