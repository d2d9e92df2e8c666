/* transport/calls.c - requests that wait for an answer from another node
 * (grove_call to a remote ref, grove_whereis_remote), the calls from other
 * nodes that a local actor has not answered yet (its end answers them),
 * error replies, and the per-peer records of monitors and links that a
 * node-down must fire.
 *
 * A waiting request lives on the heap (a blocked greenlet's stack may be
 * copied away while it waits) in the node's table, keyed by a 64-bit id
 * that goes on the wire; the reply, a node-down or the caller's own
 * timeout or kill takes it out. A reply that finds no request (it came too
 * late) is counted and dropped, never given to a later call.
 *
 * grove_call_async's calls use the same records with no greenlet: the
 * record holds a reference on the future's record (actor/future.c) instead,
 * and the REPLY, a node-down or the node's stop settles the future and frees
 * the record at once. Freeing the future first cancels the record
 * (r_call_cancel): the REPLY that may still come finds no call and is
 * counted as unknown_target.
 *
 * An error REPLY whose status is GROVE_EEXITED (the callee ended before it
 * answered) carries the callee's exit reason as the second element of its
 * body, [status, reason] (docs/protocol.md, section 7); the caller gets both.
 */
#include "transport_internal.h"

#include <math.h>
#include <string.h>

enum { K_CALL = 0, K_WHEREIS = 1 };

struct grove__call {
  uint64_t id;
  uint32_t node;
  int kind;
  int done;
  int status;
  int reason;        /* GROVE_EEXITED: the callee's exit reason */
  grove_greenlet *g; /* the blocked caller; NULL for a future's call */
  grove__acall *acall;
  grove_msg *reply;
  grove_ref ref;
};

static int add(grove__node *n, grove__call *c) {
  if (grove__grow((void **)&n->calls, &n->capcalls, n->ncalls, sizeof *n->calls, 16))
    return GROVE_ENOMEM;
  n->calls[n->ncalls++] = c;
  return 0;
}

static void drop(grove__node *n, grove__call *c) {
  for (size_t i = n->ncalls; i-- > 0;) {
    if (n->calls[i] == c) {
      n->calls[i] = n->calls[--n->ncalls];
      return;
    }
  }
}

/* Wait for c's answer. Returns 0 with c->done set, or the wait's error. */
static int await(grove__node *n, grove__call *c, uint64_t deadline, const char *what) {
  int rc = 0;
  while (!c->done && rc == 0)
    rc = grove__wait_until(n->hub, NULL, deadline, what, c);
  if (grove__node_current() == n)
    drop(n, c);
  return c->done ? 0 : rc;
}

static grove__call *new_call(grove__node *n, grove__peer *p, int kind) {
  grove__call *c = calloc(1, sizeof *c);
  if (!c)
    return NULL;
  c->id = ++n->next_call;
  c->node = p->id;
  c->kind = kind;
  c->g = grove__current(n->hub);
  if (add(n, c)) {
    free(c);
    return NULL;
  }
  return c;
}

/* Write m as a CALL to `to` and file its record (*out). Takes m (a dead
 * letter when it fails). May wait for the flow-control window. */
static int start_call(grove_ref to, grove_msg *m, uint64_t deadline, grove__node **np,
                      grove__call **out) {
  grove__node *n = grove__node_current();
  grove__peer *p = n ? grove__peer_by_id(n, to.node) : NULL;
  size_t size = m->body.size + strlen(m->tag) + GROVE__ENV_OVERHEAD;
  int rc = 0;
  if (!p || p->state != GROVE__P_UP)
    rc = GROVE_EHOSTUNREACH;
  else if (m->blob)
    rc = GROVE_EINVAL;
  else if (m->body.size + 256 > p->max_message)
    rc = GROVE_EMSGSIZE;
  else
    rc = grove__flow_admit(&n, &p, to, size, deadline); /* may wait: looks them up again */
  grove__call *c = NULL;
  if (rc == 0 && !(c = new_call(n, p, K_CALL)))
    rc = GROVE_ENOMEM;
  if (rc) {
    grove__dead_letter_here(to, m, rc);
    return rc;
  }
  grove__flow_announce_sender(n, p, m->sender);
  msgpack_packer *pk = grove__node_begin_env(n, p, size);
  size_t mark = grove__data_mark(p);
  grove__w_send(pk, to, NULL, grove__node_wire_ref(n, m->sender), m->tag, m->body.data,
                m->body.size, 1, c->id);
  grove__data_count(p, mark);
  grove_msg_free(m);
  *np = n;
  *out = c;
  return 0;
}

int grove__r_call(grove_ref to, grove_msg *m, grove_msg **reply, uint64_t deadline, int *reason) {
  grove__node *n;
  grove__call *c;
  int rc = start_call(to, m, deadline, &n, &c);
  if (rc)
    return rc;
  rc = await(n, c, deadline, "remote call");
  if (rc == 0) {
    rc = c->status;
    if (rc == 0)
      *reply = c->reply;
    else if (c->reply)
      grove_msg_free(c->reply);
    if (rc == GROVE_EEXITED && reason)
      *reason = c->reason;
  }
  free(c);
  return rc;
}

int grove__r_call_async(grove_ref to, grove_msg *m, grove__acall *a, uint64_t deadline) {
  grove__node *n;
  grove__call *c;
  int rc = start_call(to, m, deadline, &n, &c);
  if (rc)
    return rc;
  c->g = NULL;
  c->acall = a;
  grove__acall_set_remote(a, c);
  return 0;
}

/* A future's call is over: settle it (reply taken) and free the record. */
static void async_done(grove__node *n, grove__call *c, grove_msg *reply, int status, int reason) {
  grove__acall *a = c->acall;
  drop(n, c);
  free(c);
  grove__acall_set_remote(a, NULL);
  grove__acall_settle(a, reply, status, reason);
  grove__acall_unref(a);
}

void grove__r_call_cancel(void *rec) {
  grove__call *c = rec;
  grove__node *n = grove__node_current();
  grove__acall *a = c->acall;
  if (n)
    drop(n, c);
  free(c);
  grove__acall_unref(a); /* the caller already forgot c */
}

/* The exit reason of an error REPLY's body [status, reason] (GROVE_EFAILED
 * when the body has none: an older peer, or a malformed one). */
static int body_reason(const char *body, size_t len) {
  msgpack_unpacked u;
  msgpack_unpacked_init(&u);
  size_t off = 0;
  int reason = GROVE_EFAILED;
  if (msgpack_unpack_next(&u, body, len, &off) == MSGPACK_UNPACK_SUCCESS &&
      msgpack_unpack_next(&u, body, len, &off) == MSGPACK_UNPACK_SUCCESS) {
    const msgpack_object *o = &u.data;
    if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER && o->via.i64 >= INT32_MIN)
      reason = (int)o->via.i64;
    else if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER && o->via.u64 <= INT32_MAX)
      reason = (int)o->via.u64;
  }
  msgpack_unpacked_destroy(&u);
  return reason;
}

/* grove_whereis_remote(_wait) from a hub other than the node's. */
static int whereis_elsewhere(grove_hub *h, int kind, const char *node, const char *name,
                             grove_ref *out, double timeout) {
  if (out)
    *out = GROVE_REF_NULL;
  if (!node || !name || !out)
    return GROVE_EINVAL;
  grove__fwd_out o = {0};
  int rc = grove__fwd_call(h, kind, node, name, NULL, timeout, &o);
  if (rc == 0)
    *out = o.ref;
  return rc;
}

int grove_whereis_remote(const char *node, const char *name, grove_ref *out, double timeout) {
  grove_hub *h = grove__node_elsewhere();
  if (GROVE__UNLIKELY(h != NULL))
    return whereis_elsewhere(h, GROVE__FWD_WHEREIS, node, name, out, timeout);
  grove__node *n = grove__node_current();
  if (!n)
    return GROVE_ENOENT;
  if (out)
    *out = GROVE_REF_NULL;
  if (!node || !name || !*name || strlen(name) > GROVE__NAME_MAX || !out)
    return GROVE_EINVAL;
  if (strcmp(node, n->name) == 0)
    return isnan(timeout) ? GROVE_EINVAL : grove_whereis(name, out);
  grove_hub *hub = n->hub;
  uint64_t deadline;
  int rc = grove__begin_wait(hub, timeout, &deadline);
  if (rc == 0 && grove__in_hub(hub))
    rc = GROVE_EPERM; /* it waits for the answer, even with a timeout of 0 */
  if (rc)
    return rc;
  grove__peer *p = grove__peer_by_name(n, node, strlen(node));
  if (!p || p->state != GROVE__P_UP)
    return GROVE_EHOSTUNREACH;
  /* A lookup is control: it does not wait for the window. */
  grove__call *c = new_call(n, p, K_WHEREIS);
  if (!c)
    return GROVE_ENOMEM;
  grove__w_whereis(grove__node_begin_env(n, p, 96), c->id, name);
  rc = await(n, c, deadline, "whereis_remote");
  if (rc == 0 && (rc = c->status) == 0)
    *out = c->ref;
  free(c);
  return rc;
}

/* The name on node, waited for until `deadline`: 0, the wait's error, or
 * GROVE_ETIMEDOUT with *last the last answer that was not a ref (ENOENT:
 * the node has no such name; EHOSTUNREACH: the node was not up). Asks
 * again and again (a lookup is a round trip, cheap next to a restart): a
 * wire-level wait would need the peer's help, and any peer - any
 * language - answers a plain WHEREIS. */
int grove__whereis_until(const char *node, const char *name, grove_ref *out, uint64_t deadline,
                         int *last) {
  double pause = 0.002;
  *last = GROVE_EHOSTUNREACH;
  for (;;) {
    double left = grove__seconds_left(deadline);
    int rc = grove_node_is_up(node) ? 0 : grove_node_wait_up(node, left);
    if (rc == 0)
      rc = grove_whereis_remote(node, name, out, grove__seconds_left(deadline));
    if (rc == 0 || (rc != GROVE_ENOENT && rc != GROVE_EHOSTUNREACH && rc != GROVE_ETIMEDOUT))
      return rc;
    if (rc != GROVE_ETIMEDOUT)
      *last = rc;
    left = grove__seconds_left(deadline);
    if (left == 0)
      return GROVE_ETIMEDOUT;
    if ((rc = grove_sleep(left >= 0 && left < pause ? left : pause)) != 0)
      return rc;
    pause = pause * 2 < 0.05 ? pause * 2 : 0.05;
  }
}

int grove_whereis_remote_wait(const char *node, const char *name, grove_ref *out, double timeout) {
  grove_hub *h = grove__node_elsewhere();
  if (GROVE__UNLIKELY(h != NULL))
    return whereis_elsewhere(h, GROVE__FWD_WHEREIS_WAIT, node, name, out, timeout);
  grove__node *n = grove__node_current();
  if (!n)
    return GROVE_ENOENT;
  if (out)
    *out = GROVE_REF_NULL;
  if (!node || !name || !*name || strlen(name) > GROVE__NAME_MAX || !out || isnan(timeout))
    return GROVE_EINVAL;
  if (strcmp(node, n->name) == 0)
    return grove_whereis_wait(name, out, timeout);
  uint64_t deadline;
  int rc = grove__begin_wait(n->hub, timeout, &deadline);
  if (rc)
    return rc;
  int last;
  return grove__whereis_until(node, name, out, deadline, &last);
}

int grove_call_name_remote(const char *node, const char *name, grove_msg *msg, grove_msg **reply,
                           double timeout) {
  if (reply)
    *reply = NULL;
  if (!msg)
    return GROVE_EINVAL;
  grove__node *n = grove__node_current();
  grove_hub *h = grove__node_elsewhere();
  const char *self = n ? n->name : grove__node_name_elsewhere(0);
  int rc = 0;
  if (!node || !name || !*name || strlen(name) > GROVE__NAME_MAX || !reply || isnan(timeout))
    rc = GROVE_EINVAL;
  else if (!self)
    rc = GROVE_EHOSTUNREACH;
  else if (strcmp(node, self) == 0)
    return grove_call_name(name, msg, reply, timeout);
  uint64_t deadline = UINT64_MAX;
  grove_hub *me = grove__hub();
  if (rc == 0)
    rc = me ? grove__begin_wait(me, timeout, &deadline) : GROVE_ENOMEM;
  grove_ref ref;
  int last = 0;
  if (rc == 0 && h) {
    /* The node is another hub's: the name is looked up there. */
    grove__fwd_out o = {.deadline = deadline};
    rc = grove__fwd_call(h, GROVE__FWD_WHEREIS_UNTIL, node, name, NULL, 0, &o);
    ref = o.ref;
    last = o.last;
    if (rc == GROVE_ETIMEDOUT)
      rc = last;
  } else if (rc == 0 &&
             (rc = grove__whereis_until(node, name, &ref, deadline, &last)) == GROVE_ETIMEDOUT)
    rc = last; /* nobody had the name there in time, or the node was not up */
  if (rc) {
    grove__dead_letter_here(GROVE_REF_NULL, msg, rc);
    return rc;
  }
  return grove_call(ref, msg, reply, grove__seconds_left(deadline));
}

void grove__call_complete(grove__node *n, grove__peer *p, const grove__env *e) {
  grove__call *c = NULL;
  for (size_t i = 0; i < n->ncalls; i++) {
    if (n->calls[i]->id == e->id && n->calls[i]->node == p->id && !n->calls[i]->done) {
      c = n->calls[i];
      break;
    }
  }
  if (!c) {
    n->stats.unknown_target++; /* a late reply: its call is over */
    return;
  }
  c->status = (int)e->code;
  if (c->status == GROVE_EEXITED && c->kind == K_CALL)
    c->reason = body_reason((const char *)e->body, e->body_len);
  if (c->kind == K_WHEREIS) {
    grove_ref r;
    if (c->status == 0 && grove__wire_ref(e->body, e->body_len, &r) == 0)
      c->ref = grove__node_local_ref(n, r);
    else if (c->status == 0)
      c->status = GROVE_EPROTO;
  } else if (c->status == 0) {
    char tag[GROVE__NAME_MAX + 1];
    memcpy(tag, e->tag, e->tag_len);
    tag[e->tag_len] = 0;
    grove_msg *m = grove_msg_new(tag);
    if (!m || grove__msg_set_body(m, e->body, e->body_len) != 0) {
      grove_msg_free(m);
      c->status = GROVE_ENOMEM;
    } else {
      m->sender = grove__node_local_ref(n, e->from);
      c->reply = m;
    }
  }
  if (c->acall) {
    grove_msg *reply = c->reply;
    int status = c->status;
    if (reply && status != 0) {
      grove_msg_free(reply);
      reply = NULL;
    }
    async_done(n, c, reply, status, c->reason);
    return;
  }
  c->done = 1;
  grove__wake(c->g, 0);
}

void grove__calls_fail_node(grove__node *n, uint32_t node) {
  for (size_t i = n->ncalls; i-- > 0;) {
    if (i >= n->ncalls)
      continue; /* settling a future may have run code that dropped calls */
    grove__call *c = n->calls[i];
    if (!c->done && (node == 0 || c->node == node)) {
      if (c->acall) {
        async_done(n, c, NULL, GROVE_EHOSTUNREACH, 0);
        continue;
      }
      c->done = 1;
      c->status = GROVE_EHOSTUNREACH;
      grove__wake(c->g, 0);
    }
  }
}

void grove__calls_free(grove__node *n) {
  /* Every waiter was failed first; the calls belong to their greenlets. */
  free(n->calls);
  n->calls = NULL;
  n->ncalls = n->capcalls = 0;
}

/* ---- calls from other nodes that a local actor has not answered ----------------------------
 *
 * A local caller waits among its callee's callers, and the callee's end
 * wakes it with GROVE_ENOENT. A remote caller's node cannot wait there, so
 * this node remembers each CALL it delivered, by (peer, call id) and by
 * callee, until it is answered (r_reply), its callee ends (then it answers
 * GROVE_ENOENT itself) or its peer goes down. Two chained hash tables share
 * the records; a callee that keeps requests without ever answering them
 * keeps their records until it ends (at most GROVE__RCALLS_MAX: past that a
 * call is not remembered, and its caller waits for its timeout). */

#define GROVE__RCALLS_MAX (1u << 20)

typedef struct grove__rcall {
  uint32_t peer;
  uint64_t id;
  grove_ref callee;
  struct grove__rcall *next_id, *next_callee;
} grove__rcall;

static size_t hash_id(uint32_t peer, uint64_t id) {
  uint64_t h = (id ^ ((uint64_t)peer << 32)) * 0x9E3779B97F4A7C15ull;
  return (size_t)(h ^ (h >> 29));
}

static size_t hash_callee(grove_ref r) {
  uint64_t h = (r.id ^ ((uint64_t)r.gen << 32)) * 0xC2B2AE3D27D4EB4Full;
  return (size_t)(h ^ (h >> 31));
}

static int rc_grow(grove__node *n) {
  if (n->nrcalls < n->caprcalls)
    return 0;
  size_t cap = n->caprcalls ? n->caprcalls * 2 : 64;
  grove__rcall **byid = calloc(cap, sizeof *byid), **bycallee = calloc(cap, sizeof *bycallee);
  if (!byid || !bycallee) {
    free(byid);
    free(bycallee);
    return GROVE_ENOMEM;
  }
  for (size_t i = 0; i < n->caprcalls; i++) {
    grove__rcall *rc = n->rc_byid[i];
    while (rc) {
      grove__rcall *next = rc->next_id;
      size_t a = hash_id(rc->peer, rc->id) & (cap - 1), b = hash_callee(rc->callee) & (cap - 1);
      rc->next_id = byid[a];
      byid[a] = rc;
      rc->next_callee = bycallee[b];
      bycallee[b] = rc;
      rc = next;
    }
  }
  free(n->rc_byid);
  free(n->rc_bycallee);
  n->rc_byid = byid;
  n->rc_bycallee = bycallee;
  n->caprcalls = cap;
  return 0;
}

void grove__rcall_add(grove__node *n, uint32_t peer, uint64_t id, grove_ref callee) {
  if (n->nrcalls >= GROVE__RCALLS_MAX || rc_grow(n) != 0)
    return;
  grove__rcall *rc = malloc(sizeof *rc);
  if (!rc)
    return;
  rc->peer = peer;
  rc->id = id;
  rc->callee = callee;
  size_t mask = n->caprcalls - 1;
  grove__rcall **a = &n->rc_byid[hash_id(peer, id) & mask];
  grove__rcall **b = &n->rc_bycallee[hash_callee(callee) & mask];
  rc->next_id = *a;
  *a = rc;
  rc->next_callee = *b;
  *b = rc;
  n->nrcalls++;
}

static void unhook_id(grove__node *n, grove__rcall *rc) {
  grove__rcall **pp = &n->rc_byid[hash_id(rc->peer, rc->id) & (n->caprcalls - 1)];
  while (*pp && *pp != rc)
    pp = &(*pp)->next_id;
  if (*pp)
    *pp = rc->next_id;
}

static void unhook_callee(grove__node *n, grove__rcall *rc) {
  grove__rcall **pp = &n->rc_bycallee[hash_callee(rc->callee) & (n->caprcalls - 1)];
  while (*pp && *pp != rc)
    pp = &(*pp)->next_callee;
  if (*pp)
    *pp = rc->next_callee;
}

void grove__rcall_done(grove__node *n, uint32_t peer, uint64_t id) {
  if (n->nrcalls == 0)
    return;
  grove__rcall *rc = n->rc_byid[hash_id(peer, id) & (n->caprcalls - 1)];
  while (rc && !(rc->peer == peer && rc->id == id))
    rc = rc->next_id;
  if (!rc)
    return;
  unhook_id(n, rc);
  unhook_callee(n, rc);
  free(rc);
  n->nrcalls--;
}

void grove__rcalls_ended(grove__node *n, grove_ref callee, int reason) {
  if (n->nrcalls == 0)
    return;
  grove__rcall **pp = &n->rc_bycallee[hash_callee(callee) & (n->caprcalls - 1)];
  while (*pp) {
    grove__rcall *rc = *pp;
    if (!grove_ref_eq(rc->callee, callee)) {
      pp = &rc->next_callee;
      continue;
    }
    *pp = rc->next_callee;
    unhook_id(n, rc);
    n->nrcalls--;
    grove__peer *p = grove__peer_by_id(n, rc->peer);
    if (p && p->state == GROVE__P_UP)
      grove__reply_error(n, p, rc->id, GROVE_EEXITED, reason, grove__node_wire_ref(n, callee));
    free(rc);
  }
}

void grove__rcalls_forget_peer(grove__node *n, uint32_t peer) {
  if (n->nrcalls == 0)
    return;
  for (size_t i = 0; i < n->caprcalls; i++) {
    grove__rcall **pp = &n->rc_byid[i];
    while (*pp) {
      grove__rcall *rc = *pp;
      if (rc->peer != peer) {
        pp = &rc->next_id;
        continue;
      }
      *pp = rc->next_id;
      unhook_callee(n, rc);
      n->nrcalls--;
      free(rc);
    }
  }
}

void grove__rcalls_free(grove__node *n) {
  for (size_t i = 0; i < n->caprcalls; i++) {
    grove__rcall *rc = n->rc_byid[i];
    while (rc) {
      grove__rcall *next = rc->next_id;
      free(rc);
      rc = next;
    }
  }
  free(n->rc_byid);
  free(n->rc_bycallee);
  n->rc_byid = n->rc_bycallee = NULL;
  n->nrcalls = n->caprcalls = 0;
}

/* One int as msgpack: a fixint, or int 32. */
static size_t pack_int32(unsigned char *b, int v) {
  if (v >= -32 && v < 128) {
    b[0] = (unsigned char)(int8_t)v;
    return 1;
  }
  uint32_t u = (uint32_t)v;
  b[0] = 0xd2;
  for (int k = 3; k >= 0; k--)
    b[4 - k] = (unsigned char)(u >> (8 * k));
  return 5;
}

void grove__reply_error(grove__node *n, grove__peer *p, uint64_t id, int status, int reason,
                        grove_ref from) {
  unsigned char body[10];
  /* [status], and for GROVE_EEXITED [status, reason] */
  size_t blen = pack_int32(body, status);
  if (status == GROVE_EEXITED)
    blen += pack_int32(body + blen, reason);
  msgpack_packer *pk = grove__node_begin_env(n, p, GROVE__ENV_OVERHEAD + 32);
  size_t mark = grove__data_mark(p);
  grove__w_reply(pk, id, status, from, "grove.error", body, blen);
  grove__data_count(p, mark);
}

/* ---- monitor and link records ------------------------------------------------------------ */

int grove__rmon_add(grove__peer *p, uint64_t id, grove_ref watcher, grove_ref target) {
  if (grove__grow((void **)&p->monitors, &p->capmonitors, p->nmonitors, sizeof *p->monitors, 4))
    return GROVE_ENOMEM;
  p->monitors[p->nmonitors++] = (grove__rmon){id, watcher, target};
  return 0;
}

int grove__rmon_take(grove__peer *p, uint64_t id, grove_ref *target) {
  for (size_t i = 0; i < p->nmonitors; i++) {
    if (p->monitors[i].id == id) {
      *target = p->monitors[i].target;
      p->monitors[i] = p->monitors[--p->nmonitors];
      return 0;
    }
  }
  return GROVE_ENOENT;
}

void grove__rmon_remove(grove__peer *p, uint64_t id) {
  grove_ref t;
  grove__rmon_take(p, id, &t);
}

int grove__rlink_add(grove__peer *p, grove_ref local, grove_ref remote) {
  for (size_t i = 0; i < p->nlinks; i++)
    if (grove_ref_eq(p->links[i].local, local) && grove_ref_eq(p->links[i].remote, remote))
      return 0;
  if (grove__grow((void **)&p->links, &p->caplinks, p->nlinks, sizeof *p->links, 4))
    return GROVE_ENOMEM;
  p->links[p->nlinks++] = (grove__rlink){local, remote};
  return 0;
}

void grove__rlink_remove(grove__peer *p, grove_ref local, grove_ref remote) {
  for (size_t i = 0; i < p->nlinks; i++) {
    if (grove_ref_eq(p->links[i].local, local) && grove_ref_eq(p->links[i].remote, remote)) {
      p->links[i] = p->links[--p->nlinks];
      return;
    }
  }
}
