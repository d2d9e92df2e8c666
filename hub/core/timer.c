/* hub/core/timer.c - the hub's deadline heap.
 *
 * Design notes: a binary min-heap of pointers to grove__timer entries that
 * live inside the greenlets (or other owners), ordered by (deadline, seq).
 * seq is the arming order, so timers with equal deadlines fire in the order
 * they were armed, which is libuv's rule and hence gevent's. One libuv timer
 * (hub->uvtimer) is armed for the earliest deadline only, so a million
 * sleeping greenlets cost one heap slot each, not one libuv handle each.
 * Each entry knows its slot, so cancelling is O(log n).
 */
#include "internal.h"

static int before(const grove__timer *a, const grove__timer *b) {
  if (a->deadline != b->deadline)
    return a->deadline < b->deadline;
  return a->seq < b->seq;
}

static void place(grove_hub *hub, uint32_t i, grove__timer *t) {
  hub->heap[i] = t;
  t->slot = i + 1;
}

static void sift_up(grove_hub *hub, uint32_t i) {
  grove__timer *t = hub->heap[i];
  while (i > 0) {
    uint32_t parent = (i - 1) / 2;
    if (!before(t, hub->heap[parent]))
      break;
    place(hub, i, hub->heap[parent]);
    i = parent;
  }
  place(hub, i, t);
}

static void sift_down(grove_hub *hub, uint32_t i) {
  grove__timer *t = hub->heap[i];
  uint32_t n = hub->nheap;
  for (;;) {
    uint32_t l = 2 * i + 1, r = l + 1, m = i;
    grove__timer *best = t;
    if (l < n && before(hub->heap[l], best)) {
      m = l;
      best = hub->heap[l];
    }
    if (r < n && before(hub->heap[r], best)) {
      m = r;
      best = hub->heap[r];
    }
    if (m == i)
      break;
    place(hub, i, best);
    i = m;
  }
  place(hub, i, t);
}

int grove__timer_arm(grove_hub *hub, grove__timer *t, uint64_t deadline) {
  if (t->slot)
    grove__timer_cancel(hub, t);
  if (hub->nheap == hub->capheap) {
    /* Without memory for the slot the wait cannot be bounded: the caller
     * fails before it blocks. */
    if (hub->capheap > UINT32_MAX / 2)
      return GROVE_ENOMEM;
    uint32_t cap = hub->capheap ? hub->capheap * 2 : 64;
    grove__timer **h = realloc(hub->heap, cap * sizeof *h);
    if (!h)
      return GROVE_ENOMEM;
    hub->heap = h;
    hub->capheap = cap;
  }
  t->deadline = deadline;
  t->seq = hub->timer_seq++;
  hub->heap[hub->nheap] = t;
  t->slot = hub->nheap + 1;
  hub->nheap++;
  sift_up(hub, hub->nheap - 1);
  return 0;
}

void grove__timer_cancel(grove_hub *hub, grove__timer *t) {
  if (!t->slot)
    return;
  uint32_t i = t->slot - 1;
  t->slot = 0;
  hub->nheap--;
  if (i == hub->nheap)
    return;
  grove__timer *last = hub->heap[hub->nheap];
  place(hub, i, last);
  if (i > 0 && before(last, hub->heap[(i - 1) / 2]))
    sift_up(hub, i);
  else
    sift_down(hub, i);
}

grove__timer *grove__timer_peek(grove_hub *hub) { return hub->nheap ? hub->heap[0] : NULL; }

void grove__timer_pop(grove_hub *hub) {
  if (hub->nheap)
    grove__timer_cancel(hub, hub->heap[0]);
}

void grove__timer_free_heap(grove_hub *hub) {
  free(hub->heap);
  hub->heap = NULL;
  hub->nheap = hub->capheap = 0;
}
