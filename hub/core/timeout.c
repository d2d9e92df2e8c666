/* hub/core/timeout.c - scoped deadlines (gevent's `with Timeout(seconds):`).
 *
 * Design notes: a greenlet keeps a stack of its open scopes, innermost first;
 * each scope caches the earliest deadline of itself and every scope outside
 * it, so a blocking call reads the effective deadline in O(1) and folds it
 * into the deadline it arms anyway: a scope costs nothing while no call
 * blocks. A call that finds the deadline already passed fails at once.
 */
#include "internal.h"

#include <math.h>

struct grove_timeout {
  grove_greenlet *g;
  uint64_t deadline;
  uint64_t effective; /* min(deadline, outer->effective) */
  struct grove_timeout *outer;
};

uint64_t grove__scoped_deadline(grove_greenlet *g) {
  return g->head.timeouts ? g->head.timeouts->effective : UINT64_MAX;
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
  grove_timeout *t = malloc(sizeof *t);
  if (!t)
    return NULL;
  t->g = g;
  t->deadline = grove__deadline(hub, seconds);
  t->outer = g->head.timeouts;
  t->effective = t->deadline;
  if (t->outer && t->outer->effective < t->effective)
    t->effective = t->outer->effective;
  g->head.timeouts = t;
  return t;
}

int grove_timeout_cancel(grove_timeout *t) {
  if (!t)
    return GROVE_EINVAL;
  grove_hub *hub = grove__tls_hub;
  if (!hub || hub->head.current != t->g)
    return GROVE_EPERM;
  grove_greenlet *g = t->g;
  /* Unlink t, then recompute the cached minimum of the scopes inside it. */
  grove_timeout **pp = &g->head.timeouts, *inner[64];
  int ninner = 0;
  while (*pp && *pp != t) {
    if (ninner < 64)
      inner[ninner++] = *pp;
    pp = &(*pp)->outer;
  }
  if (!*pp)
    return GROVE_EINVAL;
  *pp = t->outer;
  for (int i = ninner - 1; i >= 0; i--) {
    grove_timeout *s = inner[i];
    s->effective = s->deadline;
    if (s->outer && s->outer->effective < s->effective)
      s->effective = s->outer->effective;
  }
  free(t);
  return 0;
}

bool grove_timeout_expired(const grove_timeout *t) {
  return t && t->deadline != UINT64_MAX && uv_hrtime() >= t->deadline;
}

void grove__timeouts_free(grove_greenlet *g) {
  while (g->head.timeouts) {
    grove_timeout *t = g->head.timeouts;
    g->head.timeouts = t->outer;
    free(t);
  }
}
