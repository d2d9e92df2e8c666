/* hub/core/timer.c - the hub's deadline heaps.
 *
 * Design notes: binary min-heaps of pointers to grove__timer entries that
 * live inside the greenlets (or other owners), ordered by (deadline, seq).
 * seq is the arming order, so timers with equal deadlines fire in the order
 * they were armed, which is libuv's rule and hence gevent's. One libuv timer
 * (hub->uvtimer) is armed for the earliest deadline only, so a million
 * sleeping greenlets cost one heap slot each, not one libuv handle each.
 * Each entry knows its slot, so cancelling is O(log n).
 *
 * There are two heaps, one per priority, because gevent's timers have two:
 * the watchers a greenlet waits on (sleep, spawn_later) have libev's default
 * priority, and the timeouts (gevent.Timeout: every `timeout=` argument and
 * every scoped Timeout, and the timer of wait/iwait/joinall) have priority
 * -1. libev fires the timers that expired in one loop iteration by priority
 * first and deadline second, so when a sleep and a timeout both expire
 * before the hub polls, the sleeper runs first whichever expired earlier
 * (hub.c's timer pass drains the watcher heap first).
 */
#include "internal.h"

static int before(const grove__timer *a, const grove__timer *b) {
  if (a->deadline != b->deadline)
    return a->deadline < b->deadline;
  return a->seq < b->seq;
}

static void place(grove__heap *h, uint32_t i, grove__timer *t) {
  h->a[i] = t;
  t->slot = i + 1;
}

static void sift_up(grove__heap *h, uint32_t i) {
  grove__timer *t = h->a[i];
  while (i > 0) {
    uint32_t parent = (i - 1) / 2;
    if (!before(t, h->a[parent]))
      break;
    place(h, i, h->a[parent]);
    i = parent;
  }
  place(h, i, t);
}

static void sift_down(grove__heap *h, uint32_t i) {
  grove__timer *t = h->a[i];
  uint32_t n = h->n;
  for (;;) {
    uint32_t l = 2 * i + 1, r = l + 1, m = i;
    grove__timer *best = t;
    if (l < n && before(h->a[l], best)) {
      m = l;
      best = h->a[l];
    }
    if (r < n && before(h->a[r], best)) {
      m = r;
      best = h->a[r];
    }
    if (m == i)
      break;
    place(h, i, best);
    i = m;
  }
  place(h, i, t);
}

int grove__timer_arm(grove_hub *hub, grove__timer *t, uint64_t deadline, int prio) {
  if (t->slot)
    grove__timer_cancel(hub, t);
  grove__heap *h = &hub->timers[prio ? 1 : 0];
  if (h->n == h->cap) {
    /* Without memory for the slot the wait cannot be bounded: the caller
     * fails before it blocks. */
    if (h->cap > UINT32_MAX / 2)
      return GROVE_ENOMEM;
    uint32_t cap = h->cap ? h->cap * 2 : 64;
    grove__timer **a = realloc(h->a, cap * sizeof *a);
    if (!a)
      return GROVE_ENOMEM;
    h->a = a;
    h->cap = cap;
  }
  t->deadline = deadline;
  t->seq = hub->timer_seq++;
  t->prio = (uint8_t)(prio ? 1 : 0);
  h->a[h->n] = t;
  t->slot = h->n + 1;
  h->n++;
  sift_up(h, h->n - 1);
  return 0;
}

void grove__timer_cancel(grove_hub *hub, grove__timer *t) {
  if (!t->slot)
    return;
  grove__heap *h = &hub->timers[t->prio];
  uint32_t i = t->slot - 1;
  t->slot = 0;
  h->n--;
  if (i == h->n)
    return;
  grove__timer *last = h->a[h->n];
  place(h, i, last);
  if (i > 0 && before(last, h->a[(i - 1) / 2]))
    sift_up(h, i);
  else
    sift_down(h, i);
}

grove__timer *grove__timer_peek(grove_hub *hub) {
  grove__timer *a = hub->timers[0].n ? hub->timers[0].a[0] : NULL;
  grove__timer *b = hub->timers[1].n ? hub->timers[1].a[0] : NULL;
  if (!a || !b)
    return a ? a : b;
  return a->deadline <= b->deadline ? a : b;
}

/* The next timer of this loop iteration: expired at the last poll and armed
 * before it (libev makes the expired timers pending once, after its poll; one
 * armed while they run waits for the next iteration, even a 0-second one),
 * watchers before timeouts. NULL when none is left. Not removed. */
grove__timer *grove__timer_due(grove_hub *hub) {
  for (int p = 0; p < 2; p++) {
    grove__heap *h = &hub->timers[p];
    if (h->n && h->a[0]->deadline <= hub->now && h->a[0]->seq < hub->reify_seq)
      return h->a[0];
  }
  return NULL;
}

uint32_t grove__timer_count(const grove_hub *hub) { return hub->timers[0].n + hub->timers[1].n; }

void grove__timer_free_heap(grove_hub *hub) {
  for (int p = 0; p < 2; p++) {
    free(hub->timers[p].a);
    hub->timers[p].a = NULL;
    hub->timers[p].n = hub->timers[p].cap = 0;
  }
}
