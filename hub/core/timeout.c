/* hub/core/timeout.c - scoped deadlines (gevent's `with Timeout(seconds):`).
 *
 * Design notes. A scope is gevent's Timeout: a timer of the timeout priority
 * (timer.c), armed when the scope starts, from the current time. When it
 * fires - from the hub's timer pass, in its place among the timers that
 * expired with it - the scope has expired: the greenlet is woken from
 * whatever it waits in (a sleep(0) included) with GROVE_ETIMEDOUT, as gevent
 * throws the Timeout into it. Until the timer fires the scope has not
 * expired, even when its deadline has passed: a scope of 0 seconds expires
 * at the hub's next poll, so calls that complete before the hub polls
 * succeed (gevent: "it will immediately expire as soon as control returns
 * to the event loop").
 *
 * Unlike gevent, where the Timeout is raised once, an expired scope stays
 * expired: every later blocking call of the greenlet fails with
 * GROVE_ETIMEDOUT until the scope is cancelled (docs/guide.md, "Where grove
 * differs from gevent", says why). The greenlet counts its fired scopes
 * (nfired), so the gate reads one field.
 *
 * A greenlet keeps its open scopes as a stack, innermost first; scopes
 * nest, each with its own timer.
 */
#include "internal.h"

#include <math.h>

struct grove_timeout {
  grove__timer timer;
  grove_greenlet *g;
  struct grove_timeout *outer;
  uint8_t armed; /* it has a deadline (seconds >= 0) */
  uint8_t fired;
};

static grove_greenlet *scope_fired(grove__timer *tm) {
  grove_timeout *t = grove__container_of(tm, grove_timeout, timer);
  grove_greenlet *g = t->g;
  t->fired = 1;
  g->nfired++;
  /* Thrown into the greenlet wherever it waits; a greenlet not waiting
   * (it cannot be running: this is the hub's timer pass) finds the scope
   * expired at its next blocking call. */
  return grove__wake_prepare(g, GROVE_ETIMEDOUT);
}

grove_timeout *grove_timeout_start(double seconds) {
  if (isnan(seconds))
    return NULL;
  grove_hub *hub = grove__hub();
  if (!hub)
    return NULL;
  grove_greenlet *g = hub->head.current;
  if (g->head.flags & GROVE__F_HUB)
    return NULL;
  grove_timeout *t = calloc(1, sizeof *t);
  if (!t)
    return NULL;
  t->g = g;
  t->timer.fn = scope_fired;
  if (seconds >= 0) {
    if (grove__timer_arm(hub, &t->timer, grove__timeout_deadline(hub, seconds),
                         GROVE__TIMER_TIMEOUT) != 0) {
      free(t);
      return NULL;
    }
    t->armed = 1;
  }
  t->outer = g->head.timeouts;
  g->head.timeouts = t;
  return t;
}

static void scope_end(grove_timeout *t) {
  if (t->fired)
    t->g->nfired--;
  else if (t->timer.slot)
    grove__timer_cancel(t->g->hub, &t->timer);
  free(t);
}

int grove_timeout_cancel(grove_timeout *t) {
  if (!t)
    return GROVE_EINVAL;
  grove_hub *hub = grove__tls_hub;
  if (!hub || hub->head.current != t->g)
    return GROVE_EPERM;
  grove_greenlet *g = t->g;
  grove_timeout **pp = &g->head.timeouts;
  while (*pp && *pp != t)
    pp = &(*pp)->outer;
  if (!*pp)
    return GROVE_EINVAL;
  *pp = t->outer;
  scope_end(t);
  return 0;
}

bool grove_timeout_expired(const grove_timeout *t) { return t && t->fired; }

bool grove_timeout_pending(const grove_timeout *t) { return t && t->armed && !t->fired; }

void grove__timeouts_free(grove_greenlet *g) {
  while (g->head.timeouts) {
    grove_timeout *t = g->head.timeouts;
    g->head.timeouts = t->outer;
    scope_end(t);
  }
}
