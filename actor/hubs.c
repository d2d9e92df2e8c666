/* actor/hubs.c - actors on the other hubs of the process: send, call and
 * reply, bounded inboxes, exit signals, links and monitors across hubs,
 * spawning on another hub, and stopping a hub's actors.
 *
 * Design notes.
 *
 * Shared nothing: an actor, its slot, its inbox, its links and monitors
 * belong to its hub's actor system and are touched only by that hub's
 * thread. What crosses is pushed to the other hub's inbound queue
 * (hub/core/hubs.c) and runs there, in that hub's context:
 *   - a message moves by pointer: the sender fills in m->xnode and m->xto
 *     and pushes m itself; the receiving hub appends it to the inbox as a
 *     local send would. One push per message, no allocation, no copy. The
 *     queue is FIFO per pushing thread, so messages from one sender to one
 *     receiver arrive in the order sent. A send to a ref of another hub
 *     returns 0 once pushed; if the actor has ended, the message is a dead
 *     letter on the receiving hub (as a send to a remote ref).
 *   - an actor with a bounded inbox says so in its ref (GROVE__REF_BOUNDED):
 *     a sender of another hub then sends a ticket (grove__xwait) with the
 *     message and waits for the answer: the receiving hub appends it if
 *     there is room, or parks the ticket in the actor's xsenders list until
 *     receive takes a message off the inbox; the sender's timeout, kill and
 *     the actor's end work as for a local sender (the message is then a dead
 *     letter, and the call returns the same code).
 *   - a call: the request carries the caller greenlet (referenced) and a
 *     token, as locally; the caller waits on its own hub. The reply is
 *     pushed to the caller's hub with the greenlet's reference moved into
 *     it, and the caller's hub checks the token and wakes it. A request that
 *     is freed on the callee's hub still holds the caller greenlet, which
 *     only its own hub may release: such a message is pushed home to be
 *     freed (grove__x_msg_home). A callee that ends while it holds a request
 *     answers it with GROVE_EEXITED and its reason, as a local caller's wait
 *     ends. grove_call_async's requests cross the same way, carrying the
 *     future's record instead of the greenlet (future.c).
 *   - exit signals, links, monitors and downs are small records pushed to
 *     the hub of the actor they concern, which applies them with the same
 *     code the transport's entry points use for other nodes (a link's exit
 *     signal that finds no link is stale, and dropped). Monitor ids are
 *     process-unique once hubs are grouped, so a watcher's and a target's
 *     hub file the same monitor under the same key.
 *
 * Allocation caches stay per hub: a message allocated on one hub and freed
 * on another goes into the freeing hub's cache (a message struct is plain
 * memory); greenlets never move (see above).
 */
#include "actor_internal.h"

#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

static grove_hub *hub_of(grove_ref r) { return grove__hub_at(grove__ref_hub(r)); }

/* ---- send ------------------------------------------------------------------------ */

static void deliver_arrive(grove__xnode *n) {
  grove_msg *m = grove__container_of(n, grove_msg, xnode);
  grove__actor_sys *sys = grove__actor_sys_get();
  grove_actor *a = sys ? grove__actor_lookup(sys, m->xto) : NULL;
  if (!a) {
    if (m->flags & GROVE__MSG_CALL)
      grove_reply_error(m, GROVE_ENOENT); /* the caller learns at once, as locally */
    grove__dead_letter(sys, m->xto, m, GROVE_ENOENT);
    return;
  }
  if (GROVE__UNLIKELY(m->remote))
    a->_flags |= A_REMOTE; /* its end must reach the transport (node_hubs.c) */
  grove__actor_enqueue(sys, a, m->xto, m, 0);
}

/* A send to a bounded inbox of another hub: the ticket the sender waits on. */
typedef struct xsend {
  grove__xwait w;   /* first */
  grove__list link; /* in the actor's xsenders while it waits for room */
  grove_msg *m;
  grove_ref to;
} xsend;

static void xsend_drop(grove__xwait *w) { free(w); }

/* At the receiving hub: the sender gave up, or the actor is gone. */
static void xsend_fail(grove__actor_sys *sys, xsend *t, int code) {
  grove_msg *m = t->m;
  if (grove__xwait_abandoned(&t->w)) {
    grove__dead_letter(sys, t->to, m, GROVE_ETIMEDOUT);
    free(t);
    return;
  }
  grove__dead_letter(sys, t->to, m, code);
  if (!grove__xwait_done(&t->w, code))
    free(t);
}

/* At the receiving hub, with room in a's inbox: deliver, answer. */
static void xsend_take(grove__actor_sys *sys, grove_actor *a, xsend *t) {
  grove_msg *m = t->m;
  grove_ref to = t->to;
  if (!grove__xwait_done(&t->w, 0)) {
    grove__dead_letter(sys, to, m, GROVE_ETIMEDOUT); /* the sender gave up first */
    free(t);
    return;
  }
  grove__actor_enqueue(sys, a, to, m, 0);
}

static void xsend_arrive(grove__xnode *n) {
  xsend *t = grove__container_of(n, xsend, w.node);
  grove__actor_sys *sys = grove__actor_sys_get();
  grove_actor *a = sys ? grove__actor_lookup(sys, t->to) : NULL;
  struct grove__actor_ext *e = a ? grove__actor_ext(a) : NULL;
  if (!e) {
    xsend_fail(sys, t, a ? GROVE_ENOMEM : GROVE_ENOENT);
    return;
  }
  if (a->_len < a->_max && grove__list_empty(&e->xsenders)) {
    xsend_take(sys, a, t);
    return;
  }
  grove__list_push(&e->xsenders, &t->link); /* waits for room, in arrival order */
}

void grove__x_room(grove__actor_sys *sys, grove_actor *a) {
  grove__list *n;
  while (a->_len < a->_max && (n = grove__list_pop(&a->_ext->xsenders)) != NULL) {
    xsend *t = grove__container_of(n, xsend, link);
    if (grove__xwait_abandoned(&t->w)) {
      xsend_fail(sys, t, GROVE_ETIMEDOUT);
      continue;
    }
    xsend_take(sys, a, t);
  }
}

void grove__x_senders_fail(grove__actor_sys *sys, grove_actor *a) {
  grove__list *n;
  while ((n = grove__list_pop(&a->_ext->xsenders)) != NULL)
    xsend_fail(sys, grove__container_of(n, xsend, link), GROVE_ENOENT);
}

int grove__x_send(grove__actor_sys *sys, grove_ref to, grove_msg *m, uint64_t deadline) {
  grove_hub *th = hub_of(to);
  if (!th || th == sys->hub || !grove__alive_elsewhere(to)) {
    /* A stale ref fails at once, as locally (one that ends on the way is
     * a dead letter there, as a local one that ends with it in its inbox). */
    grove__dead_letter(sys, to, m, GROVE_ENOENT);
    return GROVE_ENOENT;
  }
  m->xto = to;
  if (!(to.id & GROVE__REF_BOUNDED) || deadline == 0 || grove__in_hub(sys->hub)) {
    /* Unbounded (or a sender that cannot wait: the hub's own context, as
     * a local full inbox gives it GROVE_EFULL, here the bound is not held). */
    m->xnode.fn = deliver_arrive;
    grove__hub_push(th, &m->xnode);
    return 0;
  }
  xsend *t = malloc(sizeof *t);
  if (!t) {
    grove__dead_letter(sys, to, m, GROVE_ENOMEM);
    return GROVE_ENOMEM;
  }
  grove__xwait_prepare(&t->w, xsend_drop);
  grove__list_init(&t->link);
  t->m = m;
  t->to = to;
  t->w.node.fn = xsend_arrive;
  grove__hub_push(th, &t->w.node);
  int rc = grove__xwait_block(&t->w, deadline, "actor inbox full (other hub)");
  if (rc == 0 || t->w.answered)
    free(t); /* answered: delivered, or the actor was gone (a dead letter there) */
  return rc;
}

/* ---- call and reply ------------------------------------------------------------- */

void grove__x_deliver(grove_hub *th, grove_ref to, grove_msg *m) {
  m->xto = to;
  m->xnode.fn = deliver_arrive;
  grove__hub_push(th, &m->xnode);
}

int grove__x_call(grove__actor_sys *sys, grove_ref to, grove_msg *m, grove_msg **reply,
                  uint64_t deadline, int *reason) {
  grove_hub *hub = sys->hub, *th = hub_of(to);
  if (!th || th == hub) {
    grove__dead_letter(sys, to, m, GROVE_ENOENT);
    return GROVE_ENOENT;
  }
  grove_greenlet *cur = grove__current(hub);
  m->flags |= GROVE__MSG_CALL;
  m->caller = grove_greenlet_ref(cur);
  m->token = ++sys->next_token;
  m->xto = to;
  m->xnode.fn = deliver_arrive;
  grove__set_token(cur, m->token);
  grove__set_slot(cur, NULL);
  grove__hub_push(th, &m->xnode);
  int rc = grove__wait_until(hub, NULL, deadline, "call (other hub)", NULL);
  grove__set_token(cur, 0);
  grove_msg *r = grove__take_slot(cur);
  if (rc) {
    if (r)
      grove__dead_letter(sys, to, r, rc);
    return rc;
  }
  if (!r)
    return GROVE_ENOENT;
  if (r->flags & GROVE__MSG_ERROR) {
    rc = r->error;
    if (rc == GROVE_EEXITED && reason)
      *reason = grove__error_reply_reason(r);
    grove__msg_release(sys, r);
    return rc;
  }
  *reply = r;
  return 0;
}

/* At the caller's hub: a reply (m->caller holds the caller). */
static void reply_arrive(grove__xnode *n) {
  grove_msg *m = grove__container_of(n, grove_msg, xnode);
  grove__actor_sys *sys = grove__actor_sys_get();
  grove_greenlet *g = m->caller;
  m->caller = NULL;
  if (grove__blocked(g) && grove__token(g) == m->token) {
    grove__set_slot(g, m);
    grove__wake(g, 0);
  } else {
    grove__dead_letter(sys, m->xto, m, GROVE_ETIMEDOUT); /* too late */
  }
  grove_greenlet_release(g);
}

void grove__x_reply(grove_msg *request, grove_msg *reply) {
  grove_greenlet *g = request->caller;
  request->caller = NULL; /* its reference travels home in the reply */
  reply->caller = g;
  reply->token = request->token;
  reply->xto = request->sender;
  reply->xnode.fn = reply_arrive;
  grove__hub_push(grove__greenlet_hub(g), &reply->xnode);
}

static void home_arrive(grove__xnode *n) {
  grove_msg *m = grove__container_of(n, grove_msg, xnode);
  grove_greenlet *g = m->caller;
  grove__acall *c = m->acall;
  m->caller = NULL;
  m->acall = NULL;
  if (g)
    grove_greenlet_release(g);
  if (c)
    grove__acall_unref(c); /* a future's request, freed unanswered on the callee's hub */
  grove__msg_release(grove__actor_sys_peek(), m);
}

void grove__x_msg_home(grove_msg *m) {
  m->xnode.fn = home_arrive;
  grove__hub_push(m->caller ? grove__greenlet_hub(m->caller) : grove__acall_hub(m->acall),
                  &m->xnode);
}

/* ---- exit signals, links, monitors ---------------------------------------------- */

/* One record for every kind: between hubs of the process, and from the
 * node's hub to the hub of an actor a remote node addressed (node_hubs.c).
 * What fails at the record's hub is answered with the generic calls, which
 * reach a watcher or linked actor on this hub, another hub or another node. */
typedef struct xrec {
  grove__xnode node;
  int kind;
  grove_ref a, b;
  uint64_t id;
  int reason, how;
  uint32_t peer; /* DEMONITOR: the watcher's node (0: this process); FORGET: the node */
} xrec;

static void rec_arrive(grove__xnode *n) {
  xrec *r = grove__container_of(n, xrec, node);
  grove__actor_sys *sys = grove__actor_sys_get();
  if (!sys) {
    free(r);
    return;
  }
  switch (r->kind) {
  case GROVE__X_EXIT: /* a: to, b: from */
    grove__actor_exit_remote(r->a, r->b, r->reason, r->how);
    break;
  case GROVE__X_MONITOR: /* a: watcher, b: target */
    if (grove__actor_monitor_remote(r->a, r->b, r->id) != 0)
      grove__send_down(sys, r->id, r->a, r->b, GROVE_ENOENT);
    break;
  case GROVE__X_DEMONITOR: /* b: target */
    grove__actor_demonitor_remote(r->b, r->id, r->peer);
    break;
  case GROVE__X_DOWN: /* a: watcher, b: target: the record here goes, then the message */
    if (grove__mon_drop(sys, r->id, r->b) == 0)
      grove__send_down(sys, r->id, r->a, r->b, r->reason);
    break;
  case GROVE__X_LINK: /* a: here, b: the other end */
    if (grove__actor_link_remote(r->a, r->b) != 0)
      grove__signal_exit(sys, r->b, r->a, GROVE_ENOENT, 0);
    break;
  case GROVE__X_UNLINK:
    grove__actor_unlink_remote(r->a, r->b);
    break;
  case GROVE__X_FORGET:
    grove__actor_forget_node(r->peer);
    break;
  }
  free(r);
}

void grove__x_push_rec(grove_hub *th, int kind, grove_ref a, grove_ref b, uint64_t id, int reason,
                       int how, uint32_t peer) {
  if (!th)
    return; /* that hub is gone: nothing there to tell */
  xrec *r = malloc(sizeof *r);
  if (!r)
    return;
  *r = (xrec){.kind = kind, .a = a, .b = b, .id = id, .reason = reason, .how = how, .peer = peer};
  r->node.fn = rec_arrive;
  grove__hub_push(th, &r->node);
}

static void push_rec(grove_ref dest, int kind, grove_ref a, grove_ref b, uint64_t id, int reason,
                     int how) {
  grove__x_push_rec(hub_of(dest), kind, a, b, id, reason, how, 0);
}

void grove__x_exit(grove__actor_sys *sys, grove_ref to, grove_ref from, int reason, int how) {
  (void)sys;
  push_rec(to, GROVE__X_EXIT, to, from, 0, reason, how);
}

int grove__x_monitor(grove__actor_sys *sys, grove_ref watcher, grove_ref target, uint64_t id) {
  (void)sys;
  if (!hub_of(target))
    return GROVE_ENOENT;
  push_rec(target, GROVE__X_MONITOR, watcher, target, id, 0, 0);
  return 0;
}

void grove__x_demonitor(grove__actor_sys *sys, grove_ref target, uint64_t id) {
  (void)sys;
  push_rec(target, GROVE__X_DEMONITOR, GROVE_REF_NULL, target, id, 0, 0);
}

void grove__x_down(grove__actor_sys *sys, uint64_t id, grove_ref watcher, grove_ref target,
                   int reason) {
  (void)sys;
  push_rec(watcher, GROVE__X_DOWN, watcher, target, id, reason, 0);
}

void grove__x_link(grove__actor_sys *sys, grove_ref local, grove_ref other) {
  (void)sys;
  push_rec(other, GROVE__X_LINK, other, local, 0, 0, 0);
}

void grove__x_unlink(grove__actor_sys *sys, grove_ref local, grove_ref other) {
  (void)sys;
  push_rec(other, GROVE__X_UNLINK, other, local, 0, 0, 0);
}

uint64_t grove__x_monitor_seq(grove__actor_sys *sys) {
  /* Once hubs are grouped, ids come from one counter (above the range a
   * single hub's own counter reaches), so that the two hubs of a monitor
   * agree on its key. */
  static _Atomic uint32_t seq = 0x80000000u;
  if (GROVE__LIKELY(grove_hub_count() == 1))
    return ++sys->next_monitor;
  return atomic_fetch_add_explicit(&seq, 1, memory_order_relaxed);
}

/* ---- spawning on another hub ------------------------------------------------------ */

typedef struct xspawn {
  grove__xwait w; /* first */
  const grove_actor_class *cls;
  void *arg;
  grove_actor_opts opts;
  bool has_opts;
  char *name;
  grove_ref ref;
} xspawn;

static void xspawn_drop(grove__xwait *w) {
  xspawn *s = (xspawn *)w;
  free(s->name);
  free(s);
}

static void xspawn_arrive(grove__xnode *n) {
  xspawn *s = grove__container_of(n, xspawn, w.node);
  if (grove__xwait_abandoned(&s->w)) {
    xspawn_drop(&s->w);
    return;
  }
  int rc = grove_actor_spawn_ex(s->cls, s->arg, s->has_opts ? &s->opts : NULL, &s->ref);
  if (!grove__xwait_done(&s->w, rc)) {
    if (rc == 0)
      grove_actor_exit(s->ref, GROVE_EXIT_KILLED); /* nobody will ever know its ref */
    xspawn_drop(&s->w);
  }
}

int grove_actor_spawn_on(size_t hub, const grove_actor_class *cls, void *arg,
                         const grove_actor_opts *opts, grove_ref *out) {
  if (out)
    *out = GROVE_REF_NULL;
  if (hub >= grove_hub_count())
    return GROVE_EINVAL;
  if (hub == grove_hub_index())
    return grove_actor_spawn_ex(cls, arg, opts, out);
  if (!cls || !cls->receive || cls->size < sizeof(grove_actor))
    return GROVE_EINVAL;
  if (opts && opts->name && !opts->name[0])
    return GROVE_EINVAL;
  grove_hub *th = grove__hub_at(hub), *me = grove__hub();
  if (!th || !me)
    return th ? GROVE_ENOMEM : GROVE_EINVAL;
  uint64_t deadline;
  int rc = grove__begin_wait(me, GROVE_FOREVER, &deadline);
  if (rc)
    return rc;
  xspawn *s = calloc(1, sizeof *s);
  if (!s)
    return GROVE_ENOMEM;
  s->cls = cls;
  s->arg = arg;
  if (opts) {
    s->opts = *opts;
    s->has_opts = true;
    if (opts->name && !(s->name = strdup(opts->name))) {
      free(s);
      return GROVE_ENOMEM;
    }
    s->opts.name = s->name;
  }
  grove__xwait_prepare(&s->w, xspawn_drop);
  s->w.node.fn = xspawn_arrive;
  grove__hub_push(th, &s->w.node);
  rc = grove__xwait_block(&s->w, deadline, "grove_actor_spawn_on");
  if (rc == 0 || s->w.answered) {
    if (rc == 0 && out)
      *out = s->ref;
    xspawn_drop(&s->w);
  }
  return rc;
}

/* ---- waiting for an actor of another hub ------------------------------------------ */

/* What the greenlet on the actor's hub and the caller share; the last of
 * the two to let go frees it (a caller that times out or is killed returns
 * while the wait there still runs to its own deadline). */
typedef struct xwaitq {
  _Atomic int refs;
  grove_ref ref;
  double timeout;
  bool init;
  int rc, reason;
} xwaitq;

static void xwaitq_put(xwaitq *q) {
  if (atomic_fetch_sub_explicit(&q->refs, 1, memory_order_acq_rel) == 1)
    free(q);
}

static void *xwait_there(void *p) {
  xwaitq *q = p;
  q->rc =
      q->init ? grove__actor_await_init(q->ref) : grove_actor_wait(q->ref, &q->reason, q->timeout);
  xwaitq_put(q);
  return NULL;
}

int grove__x_wait(grove_ref ref, int *reason, double timeout, bool init) {
  /* The caller's own checks first (a killed caller, the hub's context...),
   * so that grove_hub_call_on below fails only before it sent the request
   * (GROVE_EINVAL, GROVE_ENOMEM) or after it (the wait's codes). */
  grove_hub *me = grove__hub();
  uint64_t deadline;
  int rc = me ? grove__begin_wait(me, timeout, &deadline) : GROVE_ENOMEM;
  if (rc)
    return rc;
  xwaitq *q = calloc(1, sizeof *q);
  if (!q)
    return GROVE_ENOMEM;
  atomic_init(&q->refs, 2);
  q->ref = ref;
  q->timeout = timeout;
  q->init = init;
  /* The wait there has the deadline; the caller waits for its answer (the
   * hop back included). A kill of the caller ends its own wait at once. */
  rc = grove_hub_call_on(grove__ref_hub(ref), xwait_there, q, NULL, GROVE_FOREVER);
  if (rc == GROVE_EINVAL || rc == GROVE_ENOMEM) {
    xwaitq_put(q); /* never sent: the other side's reference is ours too */
    xwaitq_put(q);
    return rc == GROVE_EINVAL ? GROVE_ENOENT : rc; /* no such hub: no such actor */
  }
  if (rc == 0) {
    rc = q->rc;
    if (rc == 0 && reason)
      *reason = q->reason;
  }
  xwaitq_put(q);
  return rc;
}

/* ---- stopping a hub's actors ------------------------------------------------------- */

/* The live actors of this hub, newest slots last. */
static size_t live_refs(grove__actor_sys *sys, grove_ref **out) {
  size_t n = 0;
  grove_ref *v = NULL;
  if (sys->nactors && (v = malloc(sys->nactors * sizeof *v)) != NULL) {
    for (uint32_t i = 0; i < sys->nslots && n < sys->nactors; i++) {
      grove_actor *a = sys->slots[i].actor;
      if (a && grove__actor_state(a) != A_DEAD)
        v[n++] = grove_actor_ref(a);
    }
  }
  *out = v;
  return n;
}

/* As a supervisor stops its children: "shutdown" to each (newest first),
 * then, once `timeout` has passed, "killed" to whatever is left - children
 * restarted meanwhile included - until none is. */
void grove__x_stop(void *state, double timeout) {
  grove__actor_sys *sys = state;
  uint64_t deadline = grove__deadline(sys->hub, timeout);
  for (int round = 0; round < 1000 && sys->nactors > 0; round++) {
    grove_ref *refs;
    size_t n = live_refs(sys, &refs);
    bool late = grove__now() >= deadline;
    for (size_t i = n; i-- > 0;)
      grove_actor_exit(refs[i], late ? GROVE_EXIT_KILLED : GROVE_EXIT_SHUTDOWN);
    for (size_t i = 0; i < n; i++)
      grove_actor_wait(refs[i], NULL, late ? 1.0 : grove__seconds_left(deadline));
    free(refs);
    if (!n)
      grove_sleep(0.001); /* out of memory for the list: try again */
  }
}
