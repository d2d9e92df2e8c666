/* hub/core/observe.c - what the hub knows of itself for grove/observe.h:
 * its load (greenlets, run queue, loop lag), its greenlets, and the
 * gathering of a per-hub picture from every hub of the process.
 *
 * Design notes.
 *
 * Nothing here is on a hot path. A picture of a hub is read on that hub's
 * own thread: the asker pushes a ticket (grove__xwait) to the hub's inbound
 * queue and waits; the hub runs the reader in its own context, between two
 * run-queue entries, and answers. So the counters the readers look at stay
 * plain fields of per-hub structures, written by their hub only - no
 * atomics, no shared cache lines - and a reader never runs in a greenlet of
 * the hub it looks at (it would count itself).
 *
 * Loop lag: while something observes the process (grove__observe_hold),
 * each hub runs a libuv timer every PROBE_MS and records how late it fired.
 * A hub that runs a long turn, or a callback that does not yield, makes it
 * late by that much: the figure Node.js and Tokio users call event-loop
 * lag. The timer never keeps the loop alive (unref) and stops itself at its
 * next firing once nothing observes; grove_hub_close closes it with the
 * loop's other handles.
 */
#include "internal.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#define PROBE_MS 200

static _Atomic int observers;

bool grove__observing(void) { return atomic_load_explicit(&observers, memory_order_relaxed) > 0; }

static void probe_cb(uv_timer_t *t) {
  grove_hub *hub = t->data;
  uint64_t now = uv_hrtime();
  if (!grove__observing()) {
    uv_timer_stop(t);
    hub->probe_on = 0;
    hub->probe_lag = 0;
    return;
  }
  hub->probe_lag = now > hub->probe_due ? now - hub->probe_due : 0;
  hub->probe_due = now + PROBE_MS * 1000000ull;
  uv_timer_start(t, probe_cb, PROBE_MS, 0);
}

/* Arm the calling hub's probe if something observes and it is not armed. */
void grove__probe_arm(grove_hub *hub) {
  if (!hub || hub->probe_on || hub->closing || !grove__observing())
    return;
  if (!hub->probe_init) {
    uv_timer_init(&hub->loop, &hub->probe);
    uv_unref((uv_handle_t *)&hub->probe);
    hub->probe.data = hub;
    hub->probe_init = 1;
  }
  hub->probe_on = 1;
  hub->probe_lag = 0;
  hub->probe_due = uv_hrtime() + PROBE_MS * 1000000ull;
  uv_timer_start(&hub->probe, probe_cb, PROBE_MS, 0);
}

static void arm_arrive(grove__xnode *n) {
  free(n);
  grove__probe_arm(grove__tls_hub);
}

void grove__observe_hold(int delta) {
  int was = atomic_fetch_add_explicit(&observers, delta, memory_order_relaxed);
  if (delta <= 0 || was > 0)
    return;
  grove__probe_arm(grove__tls_hub);
  size_t count = grove_hub_count();
  for (size_t i = 0; i < count; i++) {
    grove_hub *h = grove__hub_at(i);
    if (!h || h == grove__tls_hub)
      continue;
    grove__xnode *n = calloc(1, sizeof *n);
    if (!n)
      continue; /* armed at its first gather instead */
    n->fn = arm_arrive;
    grove__hub_push(h, n);
  }
}

void grove__hub_observe(grove_hub *hub, grove__hub_obs *out) {
  memset(out, 0, sizeof *out);
  if (!hub)
    return;
  out->greenlets = hub->nalive;
  size_t q = 0;
  for (grove__list *n = hub->runq.next; n != &hub->runq; n = n->next)
    q++;
  out->runq = q;
  out->lag_ms = hub->probe_on ? (double)hub->probe_lag / 1e6 : 0;
}

/* ---- gathering from every hub ------------------------------------------------------- */

typedef struct gather_req {
  grove__xwait w; /* first */
  grove__gather_fn fn;
  void *(*ask)(void *arg); /* grove__hub_ask's, instead of fn */
  void (*free_result)(void *);
  size_t index, cap;
  void *result;
  uint64_t arg[GROVE__ASK_ARG / 8]; /* ask's argument, copied */
} gather_req;

static void gather_drop(grove__xwait *w) {
  gather_req *r = (gather_req *)w;
  if (r->result && r->free_result)
    r->free_result(r->result);
  free(r);
}

static void gather_arrive(grove__xnode *n) {
  gather_req *r = grove__container_of(n, gather_req, w.node);
  grove__probe_arm(grove__tls_hub);
  r->result = r->ask ? r->ask(r->arg) : r->fn(r->index, r->cap);
  if (!grove__xwait_done(&r->w, 0))
    gather_drop(&r->w); /* the asker gave up */
}

/* Hand r to h and wait for its answer. */
static int gather_send(grove_hub *h, gather_req *r, void **result, uint64_t deadline) {
  grove__xwait_prepare(&r->w, gather_drop);
  r->w.node.fn = gather_arrive;
  grove__hub_push(h, &r->w.node);
  int rc = grove__xwait_block(&r->w, deadline, "a hub's snapshot");
  if (rc != 0 && !r->w.answered)
    return rc; /* the ticket is the other hub's now: it frees it */
  *result = r->result;
  free(r);
  return rc;
}

static int gather_one(grove_hub *me, grove_hub *h, size_t index, grove__gather_fn fn, size_t cap,
                      void (*free_result)(void *), void **result, uint64_t deadline) {
  if (h == me) {
    grove__probe_arm(me);
    *result = fn(index, cap);
    return 0;
  }
  gather_req *r = calloc(1, sizeof *r);
  if (!r)
    return GROVE_ENOMEM;
  r->fn = fn;
  r->free_result = free_result;
  r->index = index;
  r->cap = cap;
  return gather_send(h, r, result, deadline);
}

int grove__hub_ask(grove_hub *h, void *(*fn)(void *arg), const void *arg, size_t len,
                   void (*free_result)(void *), void **result) {
  *result = NULL;
  if (len > GROVE__ASK_ARG)
    return GROVE_EINVAL;
  grove_hub *me = grove__hub();
  uint64_t deadline;
  int rc = grove__begin_wait(me, GROVE_FOREVER, &deadline);
  if (rc)
    return rc;
  gather_req *r = calloc(1, sizeof *r);
  if (!r)
    return GROVE_ENOMEM;
  r->ask = fn;
  r->free_result = free_result;
  memcpy(r->arg, arg, len);
  return gather_send(h, r, result, deadline);
}

int grove__hub_gather_one(grove_hub *h, grove__gather_fn fn, size_t cap,
                          void (*free_result)(void *), void **result) {
  *result = NULL;
  grove_hub *me = grove__hub();
  uint64_t deadline;
  int rc = grove__begin_wait(me, GROVE_FOREVER, &deadline);
  if (rc)
    return rc;
  return gather_one(me, h, h->index, fn, cap, free_result, result, deadline);
}

int grove__hubs_gather(grove__gather_fn fn, size_t cap, void (*free_result)(void *), void **results,
                       size_t nresults) {
  for (size_t i = 0; i < nresults; i++)
    results[i] = NULL;
  grove_hub *me = grove__hub();
  uint64_t deadline;
  int rc = grove__begin_wait(me, GROVE_FOREVER, &deadline);
  if (rc)
    return rc;
  size_t count = grove_hub_count();
  for (size_t i = 0; i < count && i < nresults; i++) {
    grove_hub *h = grove__hub_at(i);
    if (!h && i == 0 && count == 1)
      h = me; /* one hub, not grouped */
    if (!h)
      continue;
    if ((rc = gather_one(me, h, i, fn, cap, free_result, &results[i], deadline)) != 0)
      return rc;
  }
  return 0;
}

/* ---- greenlets --------------------------------------------------------------------- */

typedef struct glist {
  size_t n, total;
  grove_greenlet_info g[];
} glist;

static void *greenlets_of(size_t index, size_t cap) {
  grove_hub *hub = grove__tls_hub;
  glist *l = malloc(sizeof *l + cap * sizeof l->g[0]);
  if (!l)
    return NULL;
  l->n = l->total = 0;
  for (grove__list *n = hub->greenlets.next; n != &hub->greenlets; n = n->next) {
    grove_greenlet *g = grove__container_of(n, grove_greenlet, all);
    if (g->head.flags & (GROVE__F_DAEMON | GROVE__F_MAIN | GROVE__F_HUB))
      continue;
    if (g->state == GROVE__DEAD)
      continue;
    l->total++;
    if (l->n >= cap)
      continue;
    grove_greenlet_info *o = &l->g[l->n++];
    memset(o, 0, sizeof *o);
    o->id = g->id;
    o->hub = index;
    if (g->name)
      snprintf(o->name, sizeof o->name, "%s", g->name);
    else
      snprintf(o->name, sizeof o->name, "Greenlet-%llu", (unsigned long long)g->id);
    switch (g->state) {
    case GROVE__RUNNING:
      o->state = GROVE_GREENLET_RUNNING;
      break;
    case GROVE__BLOCKED:
      o->state = GROVE_GREENLET_BLOCKED;
      if (g->wait_what)
        snprintf(o->waiting, sizeof o->waiting, "%s", g->wait_what);
      break;
    default:
      o->state = GROVE_GREENLET_READY;
      break;
    }
  }
  return l;
}

int grove_greenlets_list(grove_greenlet_info *out, size_t cap, size_t *n, size_t *total) {
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
  int rc = grove__hubs_gather(greenlets_of, cap, free, res, count);
  size_t w = 0, t = 0;
  for (size_t i = 0; i < count; i++) {
    glist *l = res[i];
    if (!l)
      continue;
    t += l->total;
    for (size_t k = 0; k < l->n && w < cap; k++)
      out[w++] = l->g[k];
    free(l);
  }
  free(res);
  if (n)
    *n = w;
  if (total)
    *total = t;
  return rc;
}

const char *grove_greenlet_state_name(int state) {
  switch (state) {
  case GROVE_GREENLET_READY:
    return "ready";
  case GROVE_GREENLET_RUNNING:
    return "running";
  case GROVE_GREENLET_BLOCKED:
    return "blocked";
  case GROVE_GREENLET_DEAD:
    return "dead";
  default:
    return "?";
  }
}
