/* transport/node_fwd.c - the node's calls from the other hubs of the process.
 *
 * A process has one node, on the hub that started it; its state belongs to
 * that hub's thread. A node call made on another hub (grove_node_connect,
 * grove_whereis_remote, grove_monitor_node, ...) runs on the node's hub, in
 * a greenlet there, while the caller's greenlet waits on its own hub: the
 * arguments are copied into a heap ticket first, so that a caller that is
 * killed while it waits leaves nothing the node's hub still reads, and what
 * the call produced for it (a reply) is freed there. A call from a hub's own
 * context (a callback), which cannot wait, gets GROVE_EPERM (false, 0,
 * NULL for the calls that return no code).
 *
 * The actors' remote operations (sends, calls, monitors, links) do not come
 * here: actor/node_hubs.c hands them over without a greenlet.
 */
#include "transport_internal.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

static _Atomic(grove_hub *) node_hub;
static _Atomic(grove__node *) the_node;

/* The first node started is the one the grouped hubs share (a thread with
 * a hub of its own, not grouped, may run another as before). */
void grove__node_publish(grove__node *n) {
  if (n) {
    grove__node *none = NULL;
    if (atomic_compare_exchange_strong(&the_node, &none, n))
      atomic_store_explicit(&node_hub, n->hub, memory_order_release);
  } else {
    grove__node *me = grove__node_current();
    if (me && atomic_compare_exchange_strong(&the_node, &me, NULL))
      atomic_store_explicit(&node_hub, NULL, memory_order_release);
  }
}

static bool grouped(grove_hub *h) { return h && grove__hub_at(grove__hub_index(h)) == h; }

bool grove__node_exists(void) {
  grove_hub *h = atomic_load_explicit(&node_hub, memory_order_acquire);
  return h && grouped(h) && grouped(grove__hub_peek());
}

grove_hub *grove__node_elsewhere(void) {
  grove_hub *h = atomic_load_explicit(&node_hub, memory_order_acquire), *here = grove__hub_peek();
  return h && h != here && grouped(h) && grouped(here) ? h : NULL;
}

const char *grove__node_name_elsewhere(int endpoint) {
  grove__node *n =
      grove__node_elsewhere() ? atomic_load_explicit(&the_node, memory_order_acquire) : NULL;
  return n ? (endpoint ? n->endpoint : n->name) : NULL; /* fixed while it runs */
}

typedef struct fwd {
  grove__xwait w; /* first */
  int kind;
  char *s1, *s2, *s3;
  double d;
  uint64_t deadline;
  grove_ref ref;
  grove_msg *m;
  char (*names)[64];
  size_t cap, n;
  grove_node_stats stats;
  const char *cstr;
  uint32_t u;
  int rc, last;
} fwd;

static void fwd_free(fwd *f) {
  free(f->s1);
  free(f->s2);
  free(f->s3);
  free(f->names);
  free(f);
}

static void fwd_drop(grove__xwait *w) { fwd_free((fwd *)w); }

static void *fwd_body(void *p) {
  fwd *f = p;
  grove__node *n = grove__node_current();
  switch (f->kind) {
  case GROVE__FWD_STOP:
    f->rc = grove_node_stop();
    break;
  case GROVE__FWD_NAME_OF:
    f->cstr = grove_node_name_of(f->u);
    break;
  case GROVE__FWD_STATS:
    f->rc = grove_node_stats_get(&f->stats);
    break;
  case GROVE__FWD_CONNECT:
    f->rc = f->d < 0 ? grove_node_connect(f->s1, f->s2)
                     : grove_node_connect_ex(f->s1, f->s2, f->s3, f->d);
    break;
  case GROVE__FWD_IS_UP:
    f->rc = grove_node_is_up(f->s1);
    break;
  case GROVE__FWD_PEERS:
    f->n = grove_node_peers(f->names, f->cap);
    break;
  case GROVE__FWD_WAIT_UP:
    f->rc = grove_node_wait_up(f->s1, f->d);
    break;
  case GROVE__FWD_MONITOR_NODE:
    f->rc = grove__monitor_node_as(f->s1, f->ref);
    break;
  case GROVE__FWD_DEMONITOR_NODE:
    f->rc = grove__demonitor_node_as(f->s1, f->ref);
    break;
  case GROVE__FWD_WHEREIS:
    f->rc = grove_whereis_remote(f->s1, f->s2, &f->ref, f->d);
    break;
  case GROVE__FWD_WHEREIS_WAIT:
    f->rc = grove_whereis_remote_wait(f->s1, f->s2, &f->ref, f->d);
    break;
  case GROVE__FWD_WHEREIS_UNTIL:
    f->rc =
        n ? grove__whereis_until(f->s1, f->s2, &f->ref, f->deadline, &f->last) : GROVE_EHOSTUNREACH;
    break;
  }
  if (!grove__xwait_done(&f->w, 0))
    fwd_free(f); /* the caller gave up */
  return NULL;
}

static void fwd_arrive(grove__xnode *node) {
  fwd *f = grove__container_of(node, fwd, w.node);
  grove_greenlet *g = grove_spawn(fwd_body, f);
  if (g) {
    grove_greenlet_release(g);
    return;
  }
  if (!grove__xwait_done(&f->w, GROVE_ENOMEM))
    fwd_free(f);
}

static char *dup_or_null(const char *s, bool *fail) {
  if (!s)
    return NULL;
  char *d = strdup(s);
  if (!d)
    *fail = true;
  return d;
}

/* Run it on the node's hub h and wait. Returns the ticket with the
 * results (the caller frees it with grove__fwd_free), or NULL with *rc
 * set: no memory, a caller that cannot wait, or one that gave up. */
static fwd *fwd_run(grove_hub *h, fwd *f, int *rc) {
  grove_hub *here = grove__hub();
  if (!here || grove__in_hub(here)) {
    *rc = here ? GROVE_EPERM : GROVE_ENOMEM;
    fwd_free(f);
    return NULL;
  }
  grove__xwait_prepare(&f->w, fwd_drop);
  f->w.node.fn = fwd_arrive;
  grove__hub_push(h, &f->w.node);
  int r = grove__xwait_block(&f->w, UINT64_MAX, "node call (node on another hub)");
  if (r == 0 || f->w.answered) {
    if (r) {
      fwd_free(f); /* it could not run (ENOMEM there) */
      *rc = r;
      return NULL;
    }
    return f;
  }
  *rc = r; /* killed while it runs: the ticket is the node hub's now */
  return NULL;
}

/* A ticket for `kind` with copies of the strings (NULL: no memory). */
static fwd *fwd_new(int kind, const char *s1, const char *s2, const char *s3) {
  fwd *f = calloc(1, sizeof *f);
  if (!f)
    return NULL;
  bool fail = false;
  f->kind = kind;
  f->s1 = dup_or_null(s1, &fail);
  f->s2 = dup_or_null(s2, &fail);
  f->s3 = dup_or_null(s3, &fail);
  if (fail) {
    fwd_free(f);
    return NULL;
  }
  return f;
}

int grove__fwd_call(grove_hub *h, int kind, const char *s1, const char *s2, const char *s3,
                    double d, grove__fwd_out *out) {
  fwd *f = fwd_new(kind, s1, s2, s3);
  if (!f)
    return GROVE_ENOMEM;
  f->d = d;
  if (out) {
    f->ref = out->ref;
    f->u = out->u;
    f->deadline = out->deadline;
    f->cap = out->cap;
    if (out->names && out->cap && !(f->names = calloc(out->cap, sizeof *f->names))) {
      fwd_free(f);
      return GROVE_ENOMEM;
    }
  }
  int rc = 0;
  if (!(f = fwd_run(h, f, &rc)))
    return rc;
  rc = f->rc;
  if (out) {
    out->ref = f->ref;
    out->stats = f->stats;
    out->cstr = f->cstr;
    out->n = f->n;
    out->last = f->last;
    if (out->names && f->names)
      memcpy(out->names, f->names, (f->n < out->cap ? f->n : out->cap) * sizeof *f->names);
  }
  fwd_free(f);
  return rc;
}
