/* transport/flow.c - flow control between nodes: the link window, credit
 * for bounded inboxes, and the CREDIT envelopes that carry both
 * (docs/protocol.md, section 7; docs/transport.md, "Backpressure").
 *
 * Design notes.
 *
 * Two levels, as HTTP/2 has a connection window and stream windows:
 *
 * - The link window, in bytes, per peer and direction. Each node grants
 *   each peer `window` bytes (its hello says how many). A sender counts
 *   the data it sends (the encoded SEND, CALL and REPLY envelopes) and may
 *   send a SEND or CALL only while what the peer has not returned yet plus
 *   the new envelope fits in the window (or nothing is in flight: one
 *   envelope larger than the window goes alone). REPLYs never wait but
 *   count; control envelopes neither wait nor count. The receiver returns
 *   the bytes it has processed (decoded and handed over) in a CREDIT: when
 *   GROVE__CREDIT_STEP (1 MiB, a quarter of its window if less) is owed,
 *   and at the end of every drain pass. A CREDIT of a frame's worth or more
 *   goes to ZeroMQ at once, before the actors work through what the pass
 *   delivered; a smaller one rides with the next frame - so a ping-pong
 *   returns credit with each answer, in the same frame, and a flood in
 *   steps. This bounds what a sender buffers for a peer (its buffer,
 *   ZeroMQ's queues, the kernel's) to about the window, whatever the
 *   frames' sizes: ZeroMQ's high-water marks count frames.
 *
 *   The window's size (GROVE__WINDOW_DEFAULT, 16 MiB): a flood moves at
 *   most a window per round trip of its credit, and that round trip goes
 *   through six threads (each end's hub and ZeroMQ I/O thread, both ways),
 *   each of which waits for a CPU. Measured on a loaded 2-core VM, grove's
 *   own part was short - a CREDIT left the receiver's hub within tens of
 *   microseconds, a waiting sender went on within microseconds of its
 *   arrival, and the receiver was seldom idle while the sender waited -
 *   but threads were off the CPU for 10-100 ms at a time, and 4 MiB (28 ms
 *   of a 150 MB/s flood) let the pipe run dry whenever either end was: a
 *   quarter of the throughput was lost, and 16 MiB brought it back. A
 *   window that grows from 4 MiB when the peer drains it while a sender
 *   waits was tried and hardly ever grew (the stalls are gaps on either
 *   side, not a receiver starved while the sender waits); a receiver that
 *   holds credit back while frames wait in its socket fell back to the
 *   small window on a busy machine, where it is always behind. What a
 *   larger window costs is memory per peer only when it fills (a stalled
 *   peer) and the wait of a call behind a flood (a window of data ahead of
 *   it).
 *
 * - Credit per bounded inbox. For each (peer S, bounded local actor T) the
 *   receiver keeps `held` (S's messages in T's inbox) and `credit` (how
 *   many more S may send), and keeps held + credit <= T's inbox_max by
 *   granting `inbox_max - held - credit` when that is positive: after each
 *   message T's receive takes (the actor layer's consumed hook), once per
 *   scheduling round (the flush callback). The sender keeps, per bounded
 *   remote actor it has heard of, the credit it was granted and the
 *   greenlets waiting for more. A message to an actor it has heard nothing
 *   of costs nothing but link window: unbounded actors stay unbounded.
 *   The receiver announces a bounded actor (a grant, of 0 if need be)
 *   before the sender can have a reason to flood it: ahead of a WHEREIS
 *   answer naming it and of the first message the actor sends to that
 *   node, and whenever a message for it comes without credit. What a sender
 *   sent before it knew is delivered anyway (grove__actor_deliver ignores
 *   the bound): that overshoot is bounded by the link window.
 *
 * Waiting is first come, first served without barging (grove__flowq):
 * while anybody waits, a newcomer queues behind even if there is credit,
 * so a bulk sender that finds credit after every wake-up cannot starve a
 * caller that waits behind it. A send takes its target's credit first,
 * then link window, so a full remote inbox holds up only the senders to
 * that actor, never the link.
 *
 * A waiter looks everything up again after each wake-up - the node may
 * have stopped, the peer gone down, the target's entry been freed - and
 * wake-up codes are hints: GROVE_EHOSTUNREACH (down) and GROVE_ENOENT (the
 * target is gone) end the wait, 0 makes it look again.
 *
 * Against peers that ignore credit: the receiver counts, per pair, the bytes
 * that came without credit; past twice the window plus max_message (one
 * window sent before the sender learnt the bound, one after a
 * re-handshake made it forget) they are dropped (`dropped_flow`). A link
 * window check at the receiver would never fire - it returns what it
 * receives as soon as it has processed it - so the per-pair count is the
 * one that bounds what a peer can put into an inbox.
 *
 * State starts afresh on both sides when a peer goes down (or restarts),
 * and when a peer that is up sends a HELLO: it has lost its state for us
 * (it declared us down, or it is still shaking hands).
 */
#include "transport_internal.h"

#include <string.h>

/* ---- a table keyed by refs ----------------------------------------------------------- */

static size_t ref_hash(grove_ref r) {
  uint64_t h = (r.id ^ ((uint64_t)r.gen << 32 | r.node)) * 0x9E3779B97F4A7C15ull;
  return (size_t)(h ^ (h >> 31));
}

static grove_ref entry_ref(const void *e) { return *(const grove_ref *)e; }

void *grove__reftab_get(const grove__reftab *t, grove_ref r) {
  if (t->n == 0)
    return NULL;
  size_t mask = t->cap - 1;
  for (size_t i = ref_hash(r) & mask;; i = (i + 1) & mask) {
    void *e = t->slots[i];
    if (!e)
      return NULL;
    if (grove_ref_eq(entry_ref(e), r))
      return e;
  }
}

static void reftab_insert(void **slots, size_t cap, void *e) {
  size_t mask = cap - 1;
  size_t i = ref_hash(entry_ref(e)) & mask;
  while (slots[i])
    i = (i + 1) & mask;
  slots[i] = e;
}

/* Add an entry whose ref is not in the table. Returns 0 or GROVE_ENOMEM. */
static int reftab_put(grove__reftab *t, void *e) {
  if ((t->n + 1) * 2 > t->cap) {
    size_t cap = t->cap ? t->cap * 2 : 16;
    void **slots = calloc(cap, sizeof *slots);
    if (!slots)
      return GROVE_ENOMEM;
    for (size_t i = 0; i < t->cap; i++)
      if (t->slots[i])
        reftab_insert(slots, cap, t->slots[i]);
    free(t->slots);
    t->slots = slots;
    t->cap = cap;
  }
  reftab_insert(t->slots, t->cap, e);
  t->n++;
  return 0;
}

/* Take an entry out (linear probing: the ones after it move back). */
static void *reftab_del(grove__reftab *t, grove_ref r) {
  if (t->n == 0)
    return NULL;
  size_t mask = t->cap - 1, i = ref_hash(r) & mask;
  while (t->slots[i] && !grove_ref_eq(entry_ref(t->slots[i]), r))
    i = (i + 1) & mask;
  void *found = t->slots[i];
  if (!found)
    return NULL;
  t->slots[i] = NULL;
  t->n--;
  for (size_t j = (i + 1) & mask; t->slots[j]; j = (j + 1) & mask) {
    void *e = t->slots[j];
    t->slots[j] = NULL;
    reftab_insert(t->slots, t->cap, e);
  }
  return found;
}

/* Free every entry (with fn, if given) and the slots. */
static void reftab_clear(grove__reftab *t, void (*fn)(void *e, void *arg), void *arg) {
  for (size_t i = 0; i < t->cap; i++)
    if (t->slots[i] && fn)
      fn(t->slots[i], arg);
  free(t->slots);
  t->slots = NULL;
  t->cap = t->n = 0;
}

/* ---- waiting for credit ---------------------------------------------------------------- */

static int my_turn(const grove__flowq *q, const struct grove_greenlet *me) {
  return q->head == me || grove__flowq_idle(q);
}

/* The running greenlet goes on (or gives up): the next in line is the head. */
static void flowq_leave(grove__flowq *q, struct grove_greenlet *me) {
  if (q->head != me)
    return;
  q->head = grove__wait_list_first(&q->waiters);
  if (q->head)
    grove__wake(q->head, 0); /* off the list: it waits alone next time */
}

/* Credit came: the head looks again. */
static void flowq_kick(grove__flowq *q) {
  if (q->head)
    grove__wake(q->head, 0);
}

/* Everybody stops waiting (with `code`; 0: look again). */
static void flowq_release(grove__flowq *q, int code) {
  struct grove_greenlet *h = q->head;
  q->head = NULL;
  if (h)
    grove__wake(h, code);
  grove__wake_all(&q->waiters, code);
}

static int window_room(const grove__peer *p, size_t size) {
  uint64_t inflight = p->sent_bytes - p->acked_bytes;
  return inflight == 0 || inflight + size <= p->window;
}

static int peer_usable(const grove__peer *p) {
  return p && p->state != GROVE__P_DOWN && p->state != GROVE__P_NEW;
}

int grove__flow_admit_slow(grove__node **np, grove__peer **pp, grove_ref to, size_t size,
                           uint64_t deadline) {
  grove__node *n = *np;
  grove_hub *hub = n->hub;
  struct grove_greenlet *me = grove__current(hub);
  const uint32_t pid = (*pp)->id;
  int took = 0, counted = 0, rc = 0;
  uint64_t epoch = 0; /* when the target's credit was taken */
  for (;;) {
    n = grove__node_current();
    grove__peer *p = n ? grove__peer_by_id(n, pid) : NULL;
    if (!peer_usable(p)) {
      rc = GROVE_EHOSTUNREACH;
      break;
    }
    if (took && epoch != p->flow_epoch)
      took = 0; /* the flow state started afresh: that credit is void */
    grove__rtarget *t = took ? NULL : grove__reftab_get(&p->targets, to);
    grove__flowq *q = t ? &t->q : &p->linkq;
    if (t)
      flowq_leave(&p->linkq, me); /* the target became bounded while we waited for the link */
    if (my_turn(q, me)) {
      if (t && t->credit > 0) {
        t->credit--;
        took = 1;
        epoch = p->flow_epoch;
        flowq_leave(&t->q, me);
        continue; /* now the link window */
      }
      if (!t && window_room(p, size)) {
        flowq_leave(q, me);
        *np = n;
        *pp = p;
        return 0;
      }
    }
    /* Wait: the gate's rules for a send that must wait (as a full local
     * inbox: grove__actor_enqueue). */
    if (grove__in_hub(hub)) {
      rc = t ? GROVE_EFULL : GROVE_EAGAIN; /* the hub cannot wait: a dead letter */
      flowq_leave(q, me);
      break;
    }
    if (deadline != UINT64_MAX && deadline <= grove__now()) {
      rc = GROVE_ETIMEDOUT;
      flowq_leave(q, me);
      break;
    }
    if (!counted) {
      counted = 1;
      if (t)
        n->stats.target_waits++;
      else
        n->stats.window_waits++;
    }
    if (my_turn(q, me)) {
      q->head = me;
      rc = grove__wait_until(hub, NULL, deadline,
                             t ? "node send (remote inbox full)" : "node send (link window)",
                             t ? (const void *)t : (const void *)p);
    } else {
      rc = grove__wait_until(hub, &q->waiters, deadline,
                             t ? "node send (remote inbox full)" : "node send (link window)",
                             t ? (const void *)t : (const void *)p);
    }
    if (rc == 0)
      continue;
    if (rc == GROVE_ENOENT || rc == GROVE_EHOSTUNREACH)
      break; /* the target or the peer is gone, and its queue with it */
    /* Timed out or killed: leave the queue if it is still there. */
    n = grove__node_current();
    p = n ? grove__peer_by_id(n, pid) : NULL;
    if (p) {
      flowq_leave(&p->linkq, me);
      if ((t = grove__reftab_get(&p->targets, to)) != NULL)
        flowq_leave(&t->q, me);
    }
    break;
  }
  if (took && rc != GROVE_EHOSTUNREACH) {
    /* Give the target's credit back to the next sender. */
    n = grove__node_current();
    grove__peer *p = n ? grove__peer_by_id(n, pid) : NULL;
    grove__rtarget *t = p && p->flow_epoch == epoch ? grove__reftab_get(&p->targets, to) : NULL;
    if (t) {
      t->credit++;
      flowq_kick(&t->q);
    }
  }
  return rc;
}

/* ---- the receiving side ------------------------------------------------------------- */

static void mark_dirty(grove__node *n, grove__peer *p, grove__pair *pr) {
  if (!pr->dirty) {
    pr->dirty = 1;
    pr->next_dirty = p->dirty;
    p->dirty = pr;
  }
  if (!n->credit_due) {
    n->credit_due = 1;
    grove__node_schedule_flush(n);
  }
}

static grove__pair *pair_new(grove__node *n, grove__peer *p, grove_ref to, uint32_t bound) {
  grove__pair *pr = calloc(1, sizeof *pr);
  if (!pr)
    return NULL;
  pr->target = to;
  pr->bound = bound;
  pr->announce = 1;
  if (reftab_put(&p->pairs, pr) != 0) {
    free(pr);
    return NULL;
  }
  n->npairs++;
  return pr;
}

int grove__flow_arrive(grove__node *n, grove__peer *p, grove_ref to, uint32_t bound, size_t bytes) {
  grove__pair *pr = grove__reftab_get(&p->pairs, to);
  if (GROVE__LIKELY(pr && pr->credit > 0)) {
    pr->credit--;
    pr->held++;
    return 0;
  }
  if (!pr && !(pr = pair_new(n, p, to, bound)))
    return 0; /* out of memory: deliver it, unaccounted */
  /* No credit: the peer does not know yet (or forgot, or ignores it). */
  pr->uncredited += bytes;
  if (pr->uncredited > 2 * (uint64_t)n->opts.window + n->opts.max_message) {
    n->stats.dropped_flow++;
    grove__node_log_ev(n, p, GROVE_LOG_WARN, GROVE_LOG_DROP, 1,
                       "dropped a message from %s: beyond its credit for a bounded inbox", p->name);
    return GROVE_EAGAIN;
  }
  pr->held++;
  pr->announce = 1;
  mark_dirty(n, p, pr);
  return 0;
}

void grove__flow_announce(grove__node *n, grove__peer *p, grove_ref target, uint32_t bound) {
  if (p->state != GROVE__P_UP || grove__reftab_get(&p->pairs, target))
    return;
  grove__pair *pr = pair_new(n, p, target, bound);
  if (!pr)
    return;
  mark_dirty(n, p, pr);
  grove__flow_credit_out(n, p, 0); /* in order: ahead of what names it */
}

/* A grant is due for pr: how much (-1: none). */
static int64_t grant_for(grove__pair *pr) {
  int64_t g = (int64_t)pr->bound - (int64_t)pr->held - (int64_t)pr->credit;
  if (g > 0) {
    pr->credit += (uint32_t)g;
    pr->announce = 0;
    return g;
  }
  if (pr->announce) {
    pr->announce = 0;
    return 0;
  }
  return -1;
}

void grove__flow_credit_out(grove__node *n, grove__peer *p, int now) {
  if (p->state != GROVE__P_UP) {
    p->unreturned = 0; /* no state on its side to return to */
    return;
  }
  if (p->unreturned == 0 && !p->dirty)
    return;
  now = now && p->unreturned >= GROVE__BATCH_MAX;
  /* Grants in envelopes that stay well inside what the peer accepts. */
  grove__grant g[64];
  size_t chunk = (p->max_message / 2) / 32;
  if (chunk > 64)
    chunk = 64;
  if (chunk == 0)
    chunk = 1;
  do {
    size_t k = 0;
    while (p->dirty && k < chunk) {
      grove__pair *pr = p->dirty;
      p->dirty = pr->next_dirty;
      pr->dirty = 0;
      pr->next_dirty = NULL;
      int64_t c = grant_for(pr);
      if (c >= 0)
        g[k++] = (grove__grant){grove__node_wire_ref(n, pr->target), c};
    }
    if (k == 0 && p->unreturned == 0)
      break;
    grove__w_credit(grove__node_begin_env(n, p, 16 + 32 * k), p->unreturned, g, k);
    p->out_envs--; /* not a message: nothing is lost if it is dropped with the peer */
    p->unreturned = 0;
    n->stats.credits_sent++;
  } while (p->dirty);
  if (now)
    grove__peer_flush(n, p); /* if ZeroMQ pushes back, it waits in the buffer */
}

void grove__flow_credit_all(grove__node *n, int now) {
  if (!n->credit_due)
    return;
  n->credit_due = 0;
  for (size_t i = 0; i < n->npeers; i++)
    grove__flow_credit_out(n, n->peers[i], now);
}

void grove__flow_consumed(uint32_t origin, grove_ref target) {
  grove__node *n = grove__node_current();
  grove__peer *p = n ? grove__peer_by_id(n, origin) : NULL;
  grove__pair *pr = p ? grove__reftab_get(&p->pairs, target) : NULL;
  if (!pr)
    return; /* it came before a reset: its pair is gone */
  if (pr->held > 0)
    pr->held--;
  mark_dirty(n, p, pr);
}

static void unlink_dirty(grove__peer *p, grove__pair *pr) {
  for (grove__pair **pp = &p->dirty; *pp; pp = &(*pp)->next_dirty) {
    if (*pp == pr) {
      *pp = pr->next_dirty;
      return;
    }
  }
}

void grove__flow_ended(grove_ref target) {
  grove__node *n = grove__node_current();
  if (!n || n->npairs == 0)
    return;
  for (size_t i = 0; i < n->npeers; i++) {
    grove__peer *p = n->peers[i];
    grove__pair *pr = reftab_del(&p->pairs, target);
    if (!pr)
      continue;
    n->npairs--;
    if (pr->dirty)
      unlink_dirty(p, pr);
    free(pr);
    if (p->state == GROVE__P_UP) {
      /* "gone", in order after what the actor sent before it ended */
      grove__grant gone = {grove__node_wire_ref(n, target), GROVE__GRANT_GONE};
      grove__w_credit(grove__node_begin_env(n, p, 48), p->unreturned, &gone, 1);
      p->out_envs--;
      p->unreturned = 0;
      n->stats.credits_sent++;
    }
  }
}

/* ---- the ledger: which messages are in flight -------------------------------------------
 *
 * Bytes bound the window; messages are what a user counts. The ledger
 * keeps the data envelopes in flight as runs of equal size, so that a
 * CREDIT's bytes (which always end on an envelope of grove's: the receiver
 * returns whole envelopes) say how many messages were confirmed, and a
 * peer going down how many were not. A stream of equal messages is one
 * span: the hot path adds one to a count. */

void grove__ledger_add_slow(grove__peer *p, uint32_t size) {
  if (p->span_len == p->span_cap) {
    size_t cap = p->span_cap ? p->span_cap * 2 : 16;
    grove__span *s = malloc(cap * sizeof *s);
    if (!s) {
      if (p->span_len) /* out of memory: an approximate count, nothing lost */
        p->spans[(p->span_head + p->span_len - 1) & (p->span_cap - 1)].count++;
      else
        p->ledger_msgs--;
      return;
    }
    for (size_t i = 0; i < p->span_len; i++)
      s[i] = p->spans[(p->span_head + i) & (p->span_cap - 1)];
    free(p->spans);
    p->spans = s;
    p->span_cap = cap;
    p->span_head = 0;
  }
  grove__span *t = &p->spans[(p->span_head + p->span_len++) & (p->span_cap - 1)];
  t->size = size;
  t->count = 1;
}

/* `bytes` of the oldest data in flight were returned. */
static void ledger_ack(grove__peer *p, uint64_t bytes) {
  bytes += p->span_acked;
  p->span_acked = 0;
  while (bytes && p->span_len) {
    grove__span *h = &p->spans[p->span_head];
    uint64_t k = bytes / h->size;
    if (k >= h->count) {
      bytes -= (uint64_t)h->size * h->count;
      p->ledger_msgs -= h->count;
      p->span_head = (p->span_head + 1) & (p->span_cap - 1);
      p->span_len--;
      continue;
    }
    h->count -= (uint32_t)k;
    p->ledger_msgs -= k;
    p->span_acked = (uint32_t)(bytes - k * h->size); /* part of one: not on a boundary */
    break;
  }
}

static void ledger_clear(grove__peer *p) {
  p->span_head = p->span_len = 0;
  p->span_acked = 0;
  p->ledger_msgs = 0;
}

uint64_t grove__ledger_unconfirmed(const grove__peer *p) {
  uint64_t buffered = p->out_msgs;
  for (const grove__frame *f = p->sealed; f; f = f->next)
    buffered += f->msgs;
  return p->ledger_msgs > buffered ? p->ledger_msgs - buffered : 0;
}

/* ---- the sending side: a CREDIT arrives ---------------------------------------------- */

static void target_free(void *e, void *arg) {
  grove__rtarget *t = e;
  flowq_release(&t->q, (int)(intptr_t)arg);
  free(t);
}

void grove__flow_credit_in(grove__node *n, grove__peer *p, const grove__env *e) {
  n->stats.credits_received++;
  if (e->bytes) {
    uint64_t inflight = p->sent_bytes - p->acked_bytes;
    /* more than is in flight: from before a reset */
    uint64_t acked = e->bytes < inflight ? e->bytes : inflight;
    p->acked_bytes += acked;
    ledger_ack(p, acked);
    flowq_kick(&p->linkq);
  }
  grove__grant_iter it;
  grove__grant_iter_init(&it, e);
  grove__grant g;
  while (grove__grant_next(&it, &g)) {
    if (g.target.node != p->id)
      continue; /* it can only speak for its own actors */
    grove__rtarget *t = grove__reftab_get(&p->targets, g.target);
    if (g.credit == GROVE__GRANT_GONE) {
      if (t) {
        reftab_del(&p->targets, g.target);
        target_free(t, (void *)(intptr_t)GROVE_ENOENT);
      }
      continue;
    }
    if (!t) {
      if (p->targets.n >= GROVE__TARGETS_MAX || !(t = calloc(1, sizeof *t)))
        continue; /* then it is only bound by the link window */
      t->ref = g.target;
      grove__list_init(&t->q.waiters);
      if (reftab_put(&p->targets, t) != 0) {
        free(t);
        continue;
      }
    }
    if (g.credit > 0) {
      t->credit += (uint64_t)g.credit;
      flowq_kick(&t->q);
    }
  }
}

/* ---- starting afresh ------------------------------------------------------------------ */

static void pair_free(void *e, void *arg) {
  (void)arg;
  free(e);
}

void grove__flow_reset(grove__node *n, grove__peer *p, int code) {
  p->flow_epoch++;
  p->sent_bytes = p->acked_bytes = 0;
  ledger_clear(p);
  p->unreturned = 0;
  flowq_release(&p->linkq, code);
  reftab_clear(&p->targets, target_free, (void *)(intptr_t)code);
  n->npairs -= p->pairs.n;
  reftab_clear(&p->pairs, pair_free, NULL);
  p->dirty = NULL;
}

void grove__flow_free(grove__peer *p) {
  /* Every waiter was woken when the peer went down. */
  reftab_clear(&p->targets, pair_free, NULL);
  reftab_clear(&p->pairs, pair_free, NULL);
  free(p->spans);
  p->spans = NULL;
  p->span_cap = 0;
  ledger_clear(p);
}
