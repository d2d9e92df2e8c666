/* hub/io/signal.c - signals (gevent.signal_handler, gevent.signal_wait).
 *
 * Design notes.
 *
 * Signals go through libuv's uv_signal_t: libuv's process-wide handler
 * writes the signal number to a pipe that every loop watches, and the
 * loop's signal handles for that number run their callbacks on the hub's
 * thread. While at least one handle for a signal is started, its default
 * action is suppressed; when the last one stops, libuv restores SIG_DFL.
 *
 * grove_signal_wait starts a handle of its own for the duration of the wait
 * (ref'd: a greenlet waiting for a signal keeps the hub alive, so main can
 * wait for SIGTERM); its callback stops it at the first arrival. Every
 * greenlet waiting for the same signal is woken by it. A signal that
 * arrives while nobody waits and no handler is installed takes its default
 * action (SIGUSR1 ends the process).
 *
 * grove_signal_handle starts a persistent handle and unrefs it, so it never
 * keeps a finished program alive; each arrival spawns a greenlet running
 * fn(arg), detached (its reference is released at once). The handler is a
 * hub object (counted in hub->nobjects from creation to cancel). Handles are
 * released with uv_close; the memory goes in the close callback, which runs
 * in the hub's next poll (or in grove_hub_close, which runs the loop until
 * closing handles are gone).
 */
#include "internal.h"

#include <math.h>

/* ---- waiting for a signal ------------------------------------------------------ */

typedef struct sig_wait {
  uv_signal_t sig;
  grove_greenlet *g; /* NULL once the waiter left */
  int fired;
} sig_wait;

static void free_on_close(uv_handle_t *h) { free(h->data); }

static void wait_cb(uv_signal_t *s, int signum) {
  (void)signum;
  sig_wait *w = s->data;
  w->fired = 1;
  uv_signal_stop(s);
  grove_greenlet *g = w->g;
  /* Only while it still waits here: a greenlet already woken (killed) but
   * not yet resumed keeps its wake code. */
  if (g && g->state == GROVE__BLOCKED && g->wait_obj == w)
    grove__wake(g, 0);
}

int grove_signal_wait(int signum, double timeout) {
  if (signum <= 0)
    return GROVE_EINVAL;
  grove_hub *hub = grove__hub();
  uint64_t deadline;
  int rc = grove__begin_wait(hub, timeout, &deadline);
  if (rc)
    return rc;
  if (timeout == 0)
    return GROVE_ETIMEDOUT; /* a signal that already came is not remembered */
  grove_greenlet *g = hub->head.current;
  sig_wait *w = calloc(1, sizeof *w);
  if (!w)
    return GROVE_ENOMEM;
  rc = uv_signal_init(&hub->loop, &w->sig);
  if (rc != 0) {
    free(w);
    return rc;
  }
  w->sig.data = w;
  w->g = g;
  rc = uv_signal_start(&w->sig, wait_cb, signum);
  if (rc == 0) {
    rc = grove__wait_until(hub, NULL, deadline, "signal", w);
    if (rc == GROVE_ETIMEDOUT && w->fired)
      rc = 0; /* it arrived in the same turn as the deadline */
  }
  w->g = NULL;
  uv_close((uv_handle_t *)&w->sig, free_on_close);
  return rc;
}

/* ---- handlers ------------------------------------------------------------------- */

#define MAGIC_SIGNAL 0x5349474eu

struct grove_signal_handler {
  uv_signal_t sig;
  uint32_t magic;
  grove_hub *hub;
  grove_fn fn;
  void *arg;
};

static void handler_cb(uv_signal_t *s, int signum) {
  (void)signum;
  grove_signal_handler *h = s->data;
  grove_greenlet *g = grove_spawn(h->fn, h->arg);
  if (!g) {
    grove_logf(GROVE_LOG_ERROR, "signal %d: cannot spawn its handler (out of memory)", signum);
    return;
  }
  grove_greenlet_release(g); /* detached: it keeps itself alive */
}

grove_signal_handler *grove_signal_handle(int signum, grove_fn fn, void *arg) {
  if (!fn || signum <= 0)
    return NULL;
  grove_hub *hub = grove__hub();
  if (!hub)
    return NULL;
  grove_signal_handler *h = calloc(1, sizeof *h);
  if (!h)
    return NULL;
  if (uv_signal_init(&hub->loop, &h->sig) != 0) {
    free(h);
    return NULL;
  }
  h->sig.data = h;
  if (uv_signal_start(&h->sig, handler_cb, signum) != 0) {
    uv_close((uv_handle_t *)&h->sig, free_on_close);
    return NULL;
  }
  uv_unref((uv_handle_t *)&h->sig);
  h->magic = MAGIC_SIGNAL;
  h->hub = hub;
  h->fn = fn;
  h->arg = arg;
  grove__obj_add(hub, GROVE__OBJ_SIGNAL);
  return h;
}

void grove_signal_handler_cancel(grove_signal_handler *h) {
  if (!h)
    return;
  if (h->magic != MAGIC_SIGNAL) {
    grove__misuse("grove_signal_handler_cancel", GROVE_EINVAL);
    return;
  }
  if (!grove__owned(h->hub)) {
    grove__misuse("grove_signal_handler_cancel", GROVE_EPERM);
    return;
  }
  h->magic = 0;
  grove__obj_remove(h->hub, GROVE__OBJ_SIGNAL);
  uv_signal_stop(&h->sig);
  uv_close((uv_handle_t *)&h->sig, free_on_close);
}
