/* actor/node_hubs.c - one node for every hub of the process: the actors of
 * every hub reach remote refs, and remote nodes reach the actors of every
 * hub, through the one node (its socket, peers and flow control) that lives
 * on one hub.
 *
 * Design notes.
 *
 * The transport stays single-threaded: its state belongs to the node's hub
 * (H) and only H's thread touches it. The actor layer bridges the hubs:
 *
 *   - outbound: a hub other than H has no remote operations of its own; it
 *     uses the proxies below (grove__remote_of), each of which hands its
 *     operation to H through H's inbound queue and runs the transport's real
 *     operation there. A send waits until H has handed the message to the
 *     transport (a ticket, answered from H's hub context when the link
 *     window has room, or from a greenlet of H that waits for room): the
 *     sender's order, its wait for the window and its timeout are those of
 *     a sender on H. A call runs the remote call in a greenlet of H while
 *     the caller waits on its own hub. Monitors, links, exit signals,
 *     downs, replies, flow-control returns and actor ends are records
 *     pushed to H in order, never waited for: an operation that fails there
 *     has the consequence it has locally (a monitor of an unreachable node
 *     fires GROVE_EXIT_NOCONNECTION, a link to it sends that exit signal).
 *   - inbound: the transport calls the actor layer's entry points on H
 *     (grove__actor_deliver, grove__actor_monitor_remote, ...). A ref that
 *     names an actor of another hub (bits 32-47 of its id) is routed there:
 *     a message moves by pointer, a record carries the rest (the records
 *     hubs push each other, hubs.c), and what fails
 *     there is answered through that hub's proxies (a request to an actor
 *     that is gone gets its error reply, a monitor of it a down).
 *   - refs: a ref packed on any hub with node 0 is written with the node's
 *     id, and read back as 0 (grove__node_id_of).
 *   - flow control: the transport grants credit for bounded inboxes by the
 *     bound; for an actor of another hub the bound is read from its ref,
 *     which carries it (capped at GROVE__REF_BOUND_MAX: a larger inbox gets
 *     less credit than room, never more).
 *
 * Per sender, messages keep their order across the two hops: the sender's
 * hub pushes in order, H hands them to the peer's buffer in arrival order,
 * and the receiving node routes them to the target's hub in order.
 */
#include "actor_internal.h"

#include <stdatomic.h>
#include <stdlib.h>

_Atomic(const grove__remote_ops *) grove__remote_proxy;
_Atomic uint32_t grove__remote_node_id;
static _Atomic size_t node_hub_index;
static _Atomic(grove_hub *) node_hub_ptr;
/* The system whose node is published: the first node started. A thread
 * with a hub of its own, not grouped with the others (not started by
 * grove_hubs_start), may run a node of its own as before: it is simply not
 * the one the grouped hubs share. */
static _Atomic(grove__actor_sys *) owner;

static const grove__remote_ops proxy_ops;

/* ---- the peers that are up, for the other hubs ---------------------------------- */

/* The ids of the nodes the shared node is connected to, so that a proxy
 * answers GROVE_EHOSTUNREACH at once for a monitor, link or exit signal to
 * a node that is not up, as the node's hub does. Written by H only (the
 * transport's peer up and down), read by any hub: open addressing over
 * atomics, 0 empty, UP_GONE a removed entry. A table that ever fills says
 * "up" for every id from then on (the proxies then hand everything to H,
 * as before) until the node stops. */
#define UP_SLOTS 4096u
#define UP_GONE UINT32_MAX
static _Atomic uint32_t up_ids[UP_SLOTS];
static _Atomic bool up_overflow;

static inline uint32_t up_hash(uint32_t id) { return (id * 2654435761u) >> 20; /* 12 bits */ }

void grove__remote_peer_up(uint32_t node, bool up) {
  grove__actor_sys *sys = grove__actor_sys_peek();
  if (!sys || atomic_load(&owner) != sys || node == 0)
    return; /* not the shared node (a thread's own node) */
  if (node == UP_GONE) {
    atomic_store(&up_overflow, true);
    return;
  }
  uint32_t h = up_hash(node), gone = UP_SLOTS;
  for (uint32_t i = 0; i < UP_SLOTS; i++) {
    _Atomic uint32_t *e = &up_ids[(h + i) & (UP_SLOTS - 1)];
    uint32_t v = atomic_load_explicit(e, memory_order_relaxed);
    if (v == node) {
      if (!up)
        atomic_store_explicit(e, UP_GONE, memory_order_release);
      return;
    }
    if (v == UP_GONE && gone == UP_SLOTS)
      gone = (h + i) & (UP_SLOTS - 1);
    if (v == 0) {
      if (up)
        atomic_store_explicit(&up_ids[gone < UP_SLOTS ? gone : (h + i) & (UP_SLOTS - 1)], node,
                              memory_order_release);
      return;
    }
  }
  if (up && gone < UP_SLOTS)
    atomic_store_explicit(&up_ids[gone], node, memory_order_release);
  else if (up)
    atomic_store(&up_overflow, true);
}

static void up_clear(void) {
  for (uint32_t i = 0; i < UP_SLOTS; i++)
    atomic_store_explicit(&up_ids[i], 0, memory_order_relaxed);
  atomic_store(&up_overflow, false);
}

/* Whether the shared node is connected to this node (any hub). */
static bool peer_up(uint32_t node) {
  if (atomic_load_explicit(&up_overflow, memory_order_relaxed))
    return true;
  uint32_t h = up_hash(node);
  for (uint32_t i = 0; i < UP_SLOTS; i++) {
    uint32_t v = atomic_load_explicit(&up_ids[(h + i) & (UP_SLOTS - 1)], memory_order_acquire);
    if (v == node)
      return true;
    if (v == 0)
      return false;
  }
  return false;
}

void grove__node_hubs_set(grove__actor_sys *sys, const grove__remote_ops *ops, uint32_t node_id) {
  if (ops) {
    grove__actor_sys *none = NULL;
    if (!atomic_compare_exchange_strong(&owner, &none, sys))
      return; /* another hub's node is the shared one */
    up_clear();
    atomic_store_explicit(&node_hub_index, sys->index, memory_order_relaxed);
    atomic_store_explicit(&node_hub_ptr, sys->hub, memory_order_relaxed);
    atomic_store_explicit(&grove__remote_node_id, node_id, memory_order_relaxed);
    atomic_store_explicit(&grove__remote_proxy, &proxy_ops, memory_order_release);
  } else if (atomic_load(&owner) == sys) {
    atomic_store_explicit(&grove__remote_proxy, NULL, memory_order_release);
    atomic_store_explicit(&grove__remote_node_id, 0, memory_order_relaxed);
    up_clear();
    atomic_store(&owner, NULL);
  }
}

/* The node's hub, if it is one of the grouped hubs (else NULL: the proxies
 * then fail as with no node). */
static grove_hub *node_hub(void) {
  if (!atomic_load_explicit(&grove__remote_proxy, memory_order_acquire))
    return NULL;
  grove_hub *h = grove__hub_at(atomic_load_explicit(&node_hub_index, memory_order_relaxed));
  return h && h == atomic_load_explicit(&node_hub_ptr, memory_order_relaxed) ? h : NULL;
}

/* The transport's own operations, on H (NULL: the node has stopped). */
static const grove__remote_ops *real_ops(grove__actor_sys **sysp) {
  grove__actor_sys *sys = grove__actor_sys_get();
  *sysp = sys;
  return sys ? sys->remote : NULL;
}

/* ---- records ------------------------------------------------------------------ */

enum {
  /* run on H: the transport's operation */
  P_SEND_NOWAIT, /* a send from a hub's own context: no waiting */
  P_REPLY,
  P_MONITOR,
  P_DEMONITOR,
  P_DOWN,
  P_LINK,
  P_UNLINK,
  P_EXIT,
  P_CONSUMED,
  P_ENDED
};

typedef struct prec {
  grove__xnode node;
  int kind;
  grove_ref a, b;
  uint64_t id;
  int reason, how;
  uint32_t peer;
  grove_msg *m;
} prec;

static void prec_run_h(prec *r) {
  grove__actor_sys *sys;
  const grove__remote_ops *ops = real_ops(&sys);
  if (!ops) {
    /* The node stopped meanwhile: what needed it fails as with no node. */
    if (r->m)
      grove__dead_letter(sys, r->a, r->m, GROVE_EHOSTUNREACH);
    if (sys && r->kind == P_MONITOR)
      grove__send_down(sys, r->id, r->a, r->b, GROVE_EXIT_NOCONNECTION);
    if (sys && r->kind == P_LINK)
      grove__signal_exit(sys, r->a, r->b, GROVE_EXIT_NOCONNECTION, 0);
    return;
  }
  switch (r->kind) {
  case P_SEND_NOWAIT:
    ops->send(r->b, r->m, 0); /* H's context cannot wait either: a dead letter if full */
    break;
  case P_REPLY:
    ops->reply(r->peer, r->id, r->a, r->m);
    break;
  case P_MONITOR: { /* a: watcher (ours), b: target (remote) */
    int rc = ops->monitor(r->a, r->b, r->id);
    if (rc)
      grove__send_down(sys, r->id, r->a, r->b, rc == GROVE_ENOMEM ? rc : GROVE_EXIT_NOCONNECTION);
    break;
  }
  case P_DEMONITOR:
    ops->demonitor(r->id);
    break;
  case P_DOWN:
    ops->down(r->a, r->id, r->b, r->reason);
    break;
  case P_LINK: /* a: ours, b: remote */
    if (ops->link(r->a, r->b) != 0)
      grove__signal_exit(sys, r->a, r->b, GROVE_EXIT_NOCONNECTION, 0);
    break;
  case P_UNLINK:
    ops->unlink(r->a, r->b);
    break;
  case P_EXIT: /* a: to (remote), b: from */
    ops->exit(r->a, r->b, r->reason, r->how);
    break;
  case P_CONSUMED:
    ops->consumed(r->peer, r->a);
    break;
  case P_ENDED:
    ops->ended(r->a, r->reason);
    break;
  }
}

static void prec_arrive(grove__xnode *n) {
  prec *r = grove__container_of(n, prec, node);
  prec_run_h(r);
  free(r);
}

/* Push a record to H. Returns false (nothing pushed) without memory or
 * without a node; the caller then drops what it carried. */
static bool push_h(int kind, grove_ref a, grove_ref b, uint64_t id, int reason, int how,
                   uint32_t peer, grove_msg *m) {
  grove_hub *to = node_hub();
  prec *r = to ? malloc(sizeof *r) : NULL;
  if (!r)
    return false;
  *r = (prec){
      .kind = kind, .a = a, .b = b, .id = id, .reason = reason, .how = how, .peer = peer, .m = m};
  r->node.fn = prec_arrive;
  grove__hub_push(to, &r->node);
  return true;
}

/* ---- outbound: the proxies ------------------------------------------------------ */

/* A send or call waiting for H. */
typedef struct pticket {
  grove__xwait w; /* first */
  grove_ref to;
  grove_msg *m;
  grove_msg *reply;
  grove__acall *acall; /* call_async: the future, settled at home */
  grove_hub *home;
  /* call_async: the greenlet of H running it (H's only), and the ticket's
   * references: home's (acall_home), and one per cancel on its way to H */
  grove_greenlet *g;
  bool running, cancelled; /* H's: the greenlet has started; a cancel came */
  _Atomic int refs;
  uint64_t deadline;
  int rc, reason;
  int call;
} pticket;

static void pticket_free(pticket *t, grove__actor_sys *sys) {
  if (t->reply)
    grove__dead_letter(sys, t->to, t->reply, GROVE_ETIMEDOUT); /* the caller gave up */
  free(t);
}

static void pticket_drop(grove__xwait *w) { pticket_free((pticket *)w, grove__actor_sys_peek()); }

/* On H, done: answer the asker, or clean up if it gave up. */
static void pticket_answer(pticket *t, int rc) {
  if (!grove__xwait_done(&t->w, rc))
    pticket_free(t, grove__actor_sys_peek());
}

static void pticket_unref(pticket *t) {
  if (atomic_fetch_sub_explicit(&t->refs, 1, memory_order_acq_rel) == 1)
    free(t);
}

/* Home: the call_async is done (answered, failed or cancelled). */
static void acall_home(grove__xnode *n) {
  pticket *t = grove__container_of(n, pticket, w.node);
  grove__acall_set_remote(t->acall, NULL); /* nothing left to cancel */
  grove__acall_settle(t->acall, t->reply, t->rc, t->reason);
  grove__acall_unref(t->acall);
  pticket_unref(t);
}

/* On H: the future was freed at home (px_call_cancel). The greenlet still
 * waiting for the reply is killed: the transport forgets the call as it
 * does for a killed caller, and the ticket goes home as cancelled. */
typedef struct pcancel {
  grove__xnode node;
  pticket *t;
} pcancel;

static void pcancel_arrive(grove__xnode *n) {
  pcancel *c = grove__container_of(n, pcancel, node);
  pticket *t = c->t;
  free(c);
  t->cancelled = true; /* a greenlet not started yet goes home at once */
  if (t->g && t->running)
    grove_kill_nowait(t->g);
  pticket_unref(t);
}

/* On H: the call_async's greenlet is done; the ticket goes home. */
static void acall_send_home(pticket *t, int rc) {
  grove_greenlet *g = t->g;
  t->g = NULL; /* before the push: home may free t at once */
  t->rc = rc;
  t->w.node.fn = acall_home;
  grove__hub_push(t->home, &t->w.node);
  grove_greenlet_release(g); /* NULL is ignored */
}

/* On H, in a greenlet of its own: the operations that may wait. */
static void *pticket_body(void *p) {
  pticket *t = p;
  grove__actor_sys *sys;
  const grove__remote_ops *ops = real_ops(&sys);
  int rc;
  t->running = true;
  if (t->cancelled) {
    grove__dead_letter(sys, t->to, t->m, GROVE_ECANCELED);
    rc = GROVE_ECANCELED;
  } else if (!ops) {
    grove__dead_letter(sys, t->to, t->m, GROVE_EHOSTUNREACH);
    rc = GROVE_EHOSTUNREACH;
  } else if (t->call) {
    rc = ops->call(t->to, t->m, &t->reply, t->deadline, &t->reason);
  } else {
    rc = ops->send(t->to, t->m, t->deadline);
  }
  t->m = NULL;
  if (t->acall) {
    acall_send_home(t, rc);
    return NULL;
  }
  pticket_answer(t, rc);
  return NULL;
}

static void pticket_arrive(grove__xnode *n) {
  pticket *t = grove__container_of(n, pticket, w.node);
  grove__actor_sys *sys;
  const grove__remote_ops *ops = real_ops(&sys);
  if (!t->acall && grove__xwait_abandoned(&t->w)) {
    grove__dead_letter(sys, t->to, t->m, GROVE_ETIMEDOUT); /* the sender gave up first */
    free(t);
    return;
  }
  if (ops && !t->call) {
    /* The common case: room in the window, handed over from here. */
    int rc = ops->send_try(t->to, t->m);
    if (rc != GROVE_EAGAIN) {
      t->m = NULL;
      pticket_answer(t, rc);
      return;
    }
  }
  grove_greenlet *g = grove_spawn(pticket_body, t);
  if (g) {
    if (t->acall)
      t->g = g; /* kept until it is done: a cancel may kill it */
    else
      grove_greenlet_release(g);
    return;
  }
  grove__dead_letter(sys, t->to, t->m, GROVE_ENOMEM);
  t->m = NULL;
  if (t->acall) {
    acall_send_home(t, GROVE_ENOMEM);
  } else {
    pticket_answer(t, GROVE_ENOMEM);
  }
}

static pticket *pticket_new(grove_ref to, grove_msg *m, uint64_t deadline, int call) {
  pticket *t = calloc(1, sizeof *t);
  if (!t)
    return NULL;
  grove__xwait_prepare(&t->w, pticket_drop);
  t->w.node.fn = pticket_arrive;
  t->to = to;
  t->m = m;
  t->deadline = deadline;
  t->call = call;
  t->home = grove__hub_peek();
  return t;
}

static int px_send(grove_ref to, grove_msg *m, uint64_t deadline) {
  grove_hub *h = node_hub(), *here = grove__hub_peek();
  grove__actor_sys *sys = grove__actor_sys_peek();
  if (!h) {
    grove__dead_letter(sys, to, m, GROVE_EHOSTUNREACH);
    return GROVE_EHOSTUNREACH;
  }
  if (m->blob) {
    grove__dead_letter(sys, to, m, GROVE_EINVAL); /* a local pointer cannot cross */
    return GROVE_EINVAL;
  }
  if (deadline == 0 || grove__in_hub(here)) {
    /* A sender that cannot wait: handed to H, which drops it (counted) if
     * the window is full, as it would for its own context. */
    if (!push_h(P_SEND_NOWAIT, to, to, 0, 0, 0, 0, m)) {
      grove__dead_letter(sys, to, m, GROVE_ENOMEM);
      return GROVE_ENOMEM;
    }
    return 0;
  }
  pticket *t = pticket_new(to, m, deadline, 0);
  if (!t) {
    grove__dead_letter(sys, to, m, GROVE_ENOMEM);
    return GROVE_ENOMEM;
  }
  grove__hub_push(h, &t->w.node);
  int rc = grove__xwait_block(&t->w, deadline, "node send (node on another hub)");
  if (rc == 0 || t->w.answered)
    free(t);
  return rc;
}

static int px_call(grove_ref to, grove_msg *m, grove_msg **reply, uint64_t deadline, int *reason) {
  grove_hub *h = node_hub();
  grove__actor_sys *sys = grove__actor_sys_peek();
  pticket *t = h ? pticket_new(to, m, deadline, 1) : NULL;
  if (!t) {
    int rc = h ? GROVE_ENOMEM : GROVE_EHOSTUNREACH;
    grove__dead_letter(sys, to, m, rc);
    return rc;
  }
  grove__hub_push(h, &t->w.node);
  /* H's call ends by the same deadline; a little later here, so that its
   * answer (a timeout too) is the one the caller gets. */
  uint64_t mine = deadline > UINT64_MAX - 50000000ull ? UINT64_MAX : deadline + 50000000ull;
  int rc = grove__xwait_block(&t->w, mine, "node call (node on another hub)");
  if (rc == 0 || t->w.answered) {
    if (rc == 0) {
      *reply = t->reply;
      t->reply = NULL;
    } else if (rc == GROVE_EEXITED && reason) {
      *reason = t->reason;
    }
    pticket_free(t, sys);
  }
  return rc;
}

static int px_call_async(grove_ref to, grove_msg *m, grove__acall *c, uint64_t deadline) {
  grove_hub *h = node_hub();
  pticket *t = h ? pticket_new(to, m, deadline, 1) : NULL;
  if (!t)
    return h ? GROVE_ENOMEM : GROVE_EHOSTUNREACH; /* c and m untouched */
  t->acall = c; /* the reference the caller took for us; dropped at home */
  atomic_init(&t->refs, 1);
  grove__acall_set_remote(c, t); /* freeing the future cancels it: px_call_cancel */
  grove__hub_push(h, &t->w.node);
  return 0;
}

/* Home: the future of a call_async still running on H was freed. H kills
 * the greenlet that waits for the reply (pcancel_arrive); the ticket comes
 * home as usual and drops the future's last references there. */
static void px_call_cancel(void *rec) {
  pticket *t = rec;
  grove_hub *h = node_hub();
  pcancel *c = h ? malloc(sizeof *c) : NULL;
  if (!c)
    return; /* it runs to its deadline or the reply, as before */
  atomic_fetch_add_explicit(&t->refs, 1, memory_order_relaxed);
  c->t = t;
  c->node.fn = pcancel_arrive;
  grove__hub_push(h, &c->node);
}

static int px_reply(uint32_t peer, uint64_t token, grove_ref caller, grove_msg *reply) {
  grove__actor_sys *sys = grove__actor_sys_peek();
  if (reply->blob) {
    grove__dead_letter(sys, caller, reply, GROVE_EINVAL);
    return GROVE_EINVAL;
  }
  if (!push_h(P_REPLY, caller, caller, token, 0, 0, peer, reply))
    grove__dead_letter(sys, caller, reply, GROVE_EHOSTUNREACH);
  return 0;
}

/* Monitors, links and exit signals to a node that is not up fail at once,
 * as on H; one that goes down on the way has its consequence there. */
static int px_monitor(grove_ref watcher, grove_ref target, uint64_t id) {
  if (!peer_up(target.node))
    return GROVE_EHOSTUNREACH;
  return push_h(P_MONITOR, watcher, target, id, 0, 0, 0, NULL) ? 0 : GROVE_EHOSTUNREACH;
}

static int px_demonitor(uint64_t id) {
  push_h(P_DEMONITOR, GROVE_REF_NULL, GROVE_REF_NULL, id, 0, 0, 0, NULL);
  return GROVE_ENOENT; /* whether H knew it is not waited for; the caller's own record decides */
}

static void px_down(grove_ref watcher, uint64_t id, grove_ref target, int reason) {
  push_h(P_DOWN, watcher, target, id, reason, 0, 0, NULL);
}

static int px_link(grove_ref local, grove_ref remote) {
  if (!peer_up(remote.node))
    return GROVE_EHOSTUNREACH;
  return push_h(P_LINK, local, remote, 0, 0, 0, 0, NULL) ? 0 : GROVE_EHOSTUNREACH;
}

static void px_unlink(grove_ref local, grove_ref remote) {
  push_h(P_UNLINK, local, remote, 0, 0, 0, 0, NULL);
}

static int px_exit(grove_ref to, grove_ref from, int reason, int how) {
  if (!peer_up(to.node)) {
    if (how == GROVE__EXIT_LINK)
      push_h(P_UNLINK, from, to, 0, 0, 0, 0, NULL); /* the link is gone all the same, as on H */
    return GROVE_EHOSTUNREACH;
  }
  return push_h(P_EXIT, to, from, 0, reason, how, 0, NULL) ? 0 : GROVE_EHOSTUNREACH;
}

static void px_consumed(uint32_t origin, grove_ref target) {
  push_h(P_CONSUMED, target, target, 0, 0, 0, origin, NULL);
}

static void px_ended(grove_ref target, int reason) {
  push_h(P_ENDED, target, target, 0, reason, 0, 0, NULL);
}

static const grove__remote_ops proxy_ops = {
    .send = px_send,
    .call = px_call,
    .call_async = px_call_async,
    .call_cancel = px_call_cancel,
    .reply = px_reply,
    .monitor = px_monitor,
    .demonitor = px_demonitor,
    .down = px_down,
    .link = px_link,
    .unlink = px_unlink,
    .exit = px_exit,
    .consumed = px_consumed,
    .ended = px_ended,
};

/* ---- inbound: routing to the target's hub ------------------------------------------ */

bool grove__route_remote(grove__actor_sys *sys, int kind, grove_ref here, grove_ref a, grove_ref b,
                         uint64_t id, int reason, int how, uint32_t peer) {
  if (GROVE__LIKELY(!grove__ref_other_hub(sys, here)))
    return false;
  /* hubs.c's records: applied there with the same entry points, and what
   * fails there is answered through that hub's proxies. A hub that is
   * gone has nothing to tell. */
  grove__x_push_rec(grove__hub_at(grove__ref_hub(here)), kind, a, b, id, reason, how, peer);
  return true;
}

void grove__route_forget(grove__actor_sys *sys, uint32_t node) {
  size_t n = grove_hub_count();
  for (size_t i = 0; n > 1 && i < n; i++)
    if (i != sys->index)
      grove__x_push_rec(grove__hub_at(i), GROVE__X_FORGET, GROVE_REF_NULL, GROVE_REF_NULL, 0, 0, 0,
                        node);
}
