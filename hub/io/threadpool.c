/* hub/io/threadpool.c - grove_threadpool_apply: run a function on libuv's
 * thread pool while the calling greenlet waits (gevent's ThreadPool.apply).
 *
 * Design notes.
 *
 * Each call queues one heap-allocated request with uv_queue_work. The worker
 * thread runs fn(arg, &result) and stores its return value and result in the
 * request; libuv then runs after_work on the hub's thread (in the poll
 * phase, from the hub's own context), which wakes the waiting greenlet.
 *
 * The request outlives the wait when the greenlet gives up first (timeout,
 * kill, scoped deadline): a running fn cannot be interrupted, so the waiter
 * marks the request abandoned (waiter = NULL) and leaves; after_work then
 * frees the request and drops the result. The waiting greenlet is never
 * touched after it left: after_work only wakes it while it is still blocked
 * in this very wait (its state and wait_obj say so), so a greenlet woken by
 * a kill but not yet resumed keeps its GROVE_ECANCELED.
 *
 * A queued request is an active libuv request and keeps the hub's loop
 * alive until fn returns, also when nobody waits for it any more: a program
 * whose greenlets have all ended (or grove_hub_close) waits for abandoned
 * work to finish. The requests are not hub objects (not counted in
 * hub->nobjects): grove_hub_close runs the loop until they are done.
 *
 * A timeout of 0 (or an expired scoped deadline, or a killed caller) fails
 * before anything is queued: fn could not complete without waiting.
 */
#include "internal.h"

#include <math.h>

typedef struct work_req {
  uv_work_t req;
  grove_work_fn fn;
  void *arg;
  void *result;
  int rc;
  int done;
  grove_greenlet *waiter; /* NULL once the waiter left */
} work_req;

/* On a pool thread: no grove calls here. */
static void work_cb(uv_work_t *req) {
  work_req *w = grove__container_of(req, work_req, req);
  w->result = NULL;
  w->rc = w->fn(w->arg, &w->result);
}

/* On the hub's thread, from the hub's own context (libuv's poll phase). */
static void after_work_cb(uv_work_t *req, int status) {
  work_req *w = grove__container_of(req, work_req, req);
  if (status != 0 && w->rc == 0)
    w->rc = status; /* UV_ECANCELED: not used, but never report success */
  w->done = 1;
  grove_greenlet *g = w->waiter;
  if (!g) {
    free(w); /* abandoned: the result is dropped */
    return;
  }
  if (g->state == GROVE__BLOCKED && g->wait_obj == w)
    grove__wake(g, 0);
}

int grove_threadpool_apply(grove_work_fn fn, void *arg, void **result, double timeout) {
  if (result)
    *result = NULL;
  if (!fn)
    return GROVE_EINVAL;
  grove_hub *hub = grove__hub();
  uint64_t deadline;
  int rc = grove__begin_wait(hub, timeout, &deadline);
  if (rc)
    return rc;
  if (timeout == 0)
    return GROVE_ETIMEDOUT; /* the work would have to run first */
  grove_greenlet *g = hub->head.current;

  work_req *w = calloc(1, sizeof *w);
  if (!w)
    return GROVE_ENOMEM;
  w->fn = fn;
  w->arg = arg;
  w->waiter = g;
  rc = uv_queue_work(&hub->loop, &w->req, work_cb, after_work_cb);
  if (rc != 0) {
    free(w);
    return rc;
  }
  rc = grove__wait_until(hub, NULL, deadline, "threadpool", w);
  if (w->done && rc != GROVE_ECANCELED) {
    /* Finished, even if the wake-up that reached us was a deadline that
     * raced with it: the result is there, report it. */
    rc = w->rc;
    if (result && rc == 0)
      *result = w->result; /* NULL unless 0 is returned, as grove_get */
    free(w);
    return rc;
  }
  if (w->done) {
    free(w); /* killed as it finished: the kill wins, the result is dropped */
    return rc;
  }
  w->waiter = NULL; /* after_work frees it */
  return rc ? rc : GROVE_EFAILED;
}
