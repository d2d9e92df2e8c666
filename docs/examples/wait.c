/* wait.c - wait on several objects at once (gevent.wait, iwait, joinall). */
#include <grove.h>
#include <stdint.h>
#include <stdio.h>

static grove_event *ev;
static grove_async_result *res;

static void *worker(void *arg) {
  intptr_t n = (intptr_t)arg;
  grove_sleep(0.04 * (double)n);
  if (n == 2)
    grove_exit(GROVE_EINVAL); /* worker 2 fails */
  return arg;
}

static void *setter(void *arg) {
  grove_sleep(0.08);
  grove_async_result_set(res, "done");
  grove_sleep(0.08);
  grove_event_set(ev);
  return arg;
}

int main(void) {
  ev = grove_event_new();
  res = grove_async_result_new();
  grove_greenlet *w3 = grove_spawn(worker, (void *)3), *w1 = grove_spawn(worker, (void *)1);
  grove_greenlet *s = grove_spawn(setter, NULL);
  grove_waitable objs[] = {GROVE_WAITABLE_EVENT(ev), GROVE_WAITABLE_ASYNC_RESULT(res),
                           GROVE_WAITABLE_GREENLET(w3), GROVE_WAITABLE_GREENLET(w1)};
  const char *names[] = {"event", "result", "worker 3", "worker 1"};

  /* gevent.iwait: each object as it becomes ready. */
  grove_iwait *it = grove_iwait_new(objs, 4, 0, GROVE_FOREVER);
  size_t i;
  int rc;
  while ((rc = grove_iwait_next(it, &i)) == 0)
    printf("ready: %s\n", names[i]);
  grove_iwait_free(it); /* rc is GROVE_EOF: all four were returned */

  /* gevent.wait(objects, count=1): they are all ready by now, but the
   * answer still comes through the hub, in the order of the list. */
  size_t ready[4], n;
  int rc2 = grove_wait(objs, 4, 1, GROVE_FOREVER, ready, &n);
  printf("wait count=1: %zu object(s), the first %s\n", n, names[ready[0]]);

  /* gevent.joinall(raise_error=True): the first failure, as soon as found. */
  grove_greenlet *more[2] = {grove_spawn(worker, (void *)4), grove_spawn(worker, (void *)2)};
  int rc3 = grove_joinall_ex(more, 2, GROVE_FOREVER, 0, GROVE_RAISE_ERROR, NULL, NULL);
  printf("joinall raise_error: %s, worker 4 finished: %d\n", grove_err_name(rc3),
         grove_ready(more[0]));
  int rc4 = grove_joinall(more, 2, GROVE_FOREVER);

  grove_greenlet *all[] = {w3, w1, s, more[0], more[1]};
  for (int k = 0; k < 5; k++)
    grove_greenlet_release(all[k]);
  grove_event_free(ev);
  grove_async_result_free(res);
  return rc == GROVE_EOF && rc2 == 0 && rc3 == GROVE_EINVAL && rc4 == 0 && grove_hub_close() == 0
             ? 0
             : 1;
}
