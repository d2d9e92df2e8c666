/* actor/observe.c - grove_actors_list and grove_hubs_info (grove/observe.h):
 * the actor systems of every hub, as pictures.
 *
 * Design notes.
 *
 * Each hub's part is read on its own thread, in its own context
 * (grove__hubs_gather), from the fields its actor system keeps anyway: an
 * actor's inbox length, bound and count of handled messages, the system's
 * dead letters. Two counters were added for this, both plain fields of the
 * per-hub system, written by its hub only and never on the path of a
 * message: the messages handled by actors that have ended (added once, at
 * the end), and the restarts of the supervisors that run there. A hub's
 * "messages" is that plus what its live actors have handled.
 *
 * The longest inboxes come first. A hub keeps only the `cap` best of its
 * actors in a heap while it walks its slots (O(actors log cap), no
 * allocation per actor), and the caller merges the hubs' lists: a million
 * idle actors cost one pass, not a million records.
 */
#include "actor_internal.h"

#include <grove/observe.h>
#include <string.h>

/* a before b: longer inbox, then lower hub, then older slot (lower id) */
static bool before(const grove_actor_info *a, const grove_actor_info *b) {
  if (a->inbox != b->inbox)
    return a->inbox > b->inbox;
  if (a->hub != b->hub)
    return a->hub < b->hub;
  return a->ref.id < b->ref.id;
}

static int state_of(grove__actor_sys *sys, const grove_actor *a) {
  uint32_t f = a->_flags;
  if (f & (A_KILLED | A_EXITING | A_TERMINATING))
    return GROVE_ACTOR_EXITING;
  if (!(f & A_STARTED))
    return GROVE_ACTOR_STARTING;
  switch (grove__actor_state(a)) {
  case A_IDLE:
    return GROVE_ACTOR_IDLE;
  case A_SCHEDULED:
    return GROVE_ACTOR_RUNNING;
  default:
    if (a->_runner && a->_runner != grove__current(sys->hub) && grove__blocked(a->_runner))
      return GROVE_ACTOR_WAITING;
    return GROVE_ACTOR_RUNNING;
  }
}

static void info_of(grove__actor_sys *sys, size_t index, const grove_actor *a,
                    grove_actor_info *o) {
  memset(o, 0, sizeof *o);
  o->ref = grove_actor_ref(a);
  if (a->_ext && a->_ext->name)
    snprintf(o->name, sizeof o->name, "%s", a->_ext->name);
  if (a->_cls && a->_cls->name)
    snprintf(o->cls, sizeof o->cls, "%s", a->_cls->name);
  o->hub = index;
  o->inbox = a->_len;
  o->inbox_max = a->_max;
  o->received = (a->_flags & A_INIT_DONE) ? a->_processed : 0;
  o->state = state_of(sys, a);
}

/* A max-heap on "after": the root is the entry that would go first. */
static void sift_down(grove_actor_info *h, size_t n, size_t i) {
  for (;;) {
    size_t l = 2 * i + 1, r = l + 1, m = i;
    if (l < n && before(&h[m], &h[l]))
      m = l;
    if (r < n && before(&h[m], &h[r]))
      m = r;
    if (m == i)
      return;
    grove_actor_info t = h[i];
    h[i] = h[m];
    h[m] = t;
    i = m;
  }
}

static void sift_up(grove_actor_info *h, size_t i) {
  while (i > 0) {
    size_t p = (i - 1) / 2;
    if (!before(&h[p], &h[i]))
      return;
    grove_actor_info t = h[i];
    h[i] = h[p];
    h[p] = t;
    i = p;
  }
}

typedef struct alist {
  size_t n, total;
  grove_actor_info a[];
} alist;

static void *actors_of(size_t index, size_t cap) {
  alist *l = malloc(sizeof *l + cap * sizeof l->a[0]);
  if (!l)
    return NULL;
  l->n = l->total = 0;
  grove__actor_sys *sys = grove__actor_sys_peek();
  if (!sys)
    return l;
  for (uint32_t i = 0; i < sys->nslots; i++) {
    grove_actor *a = sys->slots[i].actor;
    if (!a || grove__actor_state(a) == A_DEAD)
      continue;
    l->total++;
    if (cap == 0)
      continue;
    grove_actor_info o;
    info_of(sys, index, a, &o);
    if (l->n < cap) {
      l->a[l->n] = o;
      sift_up(l->a, l->n++);
    } else if (before(&o, &l->a[0])) {
      l->a[0] = o;
      sift_down(l->a, l->n, 0);
    }
  }
  return l;
}

static int cmp_info(const void *x, const void *y) {
  const grove_actor_info *a = x, *b = y;
  return before(a, b) ? -1 : before(b, a) ? 1 : 0;
}

int grove_actors_list(grove_actor_info *out, size_t cap, size_t *n, size_t *total) {
  if (n)
    *n = 0;
  if (total)
    *total = 0;
  if (!out && cap)
    return GROVE_EINVAL;
  size_t count = grove_hub_count();
  void **res = calloc(count ? count : 1, sizeof *res);
  if (!res)
    return GROVE_ENOMEM;
  int rc = grove__hubs_gather(actors_of, cap, free, res, count);
  /* Merge: every hub's best `cap`, sorted, cut to `cap`. */
  size_t all = 0, t = 0;
  for (size_t i = 0; i < count; i++)
    if (res[i])
      all += ((alist *)res[i])->n;
  grove_actor_info *merged = all ? malloc(all * sizeof *merged) : NULL;
  if (all && !merged && rc == 0)
    rc = GROVE_ENOMEM;
  size_t m = 0;
  for (size_t i = 0; i < count; i++) {
    alist *l = res[i];
    if (!l)
      continue;
    t += l->total;
    if (merged) {
      memcpy(merged + m, l->a, l->n * sizeof *merged);
      m += l->n;
    }
    free(l);
  }
  free(res);
  if (merged) {
    qsort(merged, m, sizeof *merged, cmp_info);
    if (m > cap)
      m = cap;
    memcpy(out, merged, m * sizeof *merged);
    free(merged);
  } else {
    m = 0;
  }
  if (n)
    *n = m;
  if (total)
    *total = t;
  return rc;
}

const char *grove_actor_state_name(int state) {
  switch (state) {
  case GROVE_ACTOR_IDLE:
    return "idle";
  case GROVE_ACTOR_RUNNING:
    return "running";
  case GROVE_ACTOR_WAITING:
    return "waiting";
  case GROVE_ACTOR_STARTING:
    return "starting";
  case GROVE_ACTOR_EXITING:
    return "exiting";
  default:
    return "?";
  }
}

/* ---- hubs ------------------------------------------------------------------------------ */

static void *hub_of(size_t index, size_t cap) {
  (void)cap;
  grove_hub_info *o = calloc(1, sizeof *o);
  if (!o)
    return NULL;
  grove__hub_obs h;
  grove__hub_observe(grove__hub_peek(), &h);
  o->index = index;
  o->greenlets = h.greenlets;
  o->runq = h.runq;
  o->loop_lag_ms = h.lag_ms;
  grove__actor_sys *sys = grove__actor_sys_peek();
  if (sys) {
    o->actors = sys->nactors;
    uint64_t msgs = sys->ended_messages;
    for (uint32_t i = 0; i < sys->nslots; i++) {
      grove_actor *a = sys->slots[i].actor;
      if (a && (a->_flags & A_INIT_DONE))
        msgs += a->_processed;
    }
    o->messages = msgs;
    o->dead_letters = sys->dead_letters;
    o->restarts = sys->restarts;
  }
  return o;
}

int grove_hubs_info(grove_hub_info *out, size_t cap, size_t *n) {
  if (n)
    *n = 0;
  if (!out && cap)
    return GROVE_EINVAL;
  size_t count = grove_hub_count();
  if (count > cap)
    count = cap;
  if (count == 0)
    return 0;
  void **res = calloc(count, sizeof *res);
  if (!res)
    return GROVE_ENOMEM;
  int rc = grove__hubs_gather(hub_of, 0, free, res, count);
  size_t w = 0;
  for (size_t i = 0; i < count; i++) {
    if (!res[i])
      continue;
    out[w++] = *(grove_hub_info *)res[i];
    free(res[i]);
  }
  free(res);
  if (n)
    *n = w;
  return rc;
}
