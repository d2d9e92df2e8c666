/* transport/calls.c - requests that wait for an answer from another node
 * (grove_call to a remote ref, grove_whereis_remote), and the per-peer
 * records of monitors and links that a node-down must fire.
 *
 * A waiting request lives on the heap (a blocked greenlet's stack may be
 * copied away while it waits) in the node's table, keyed by a 64-bit id
 * that goes on the wire; the reply, a node-down or the caller's own
 * timeout or kill takes it out. A reply that finds no request (it came too
 * late) is counted and dropped, never given to a later call.
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
  grove_greenlet *g;
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

int grove__r_call(grove_ref to, grove_msg *m, grove_msg **reply, uint64_t deadline) {
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
  rc = await(n, c, deadline, "remote call");
  if (rc == 0) {
    rc = c->status;
    if (rc == 0)
      *reply = c->reply;
    else if (c->reply)
      grove_msg_free(c->reply);
  }
  free(c);
  return rc;
}

int grove_whereis_remote(const char *node, const char *name, grove_ref *out, double timeout) {
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
  c->done = 1;
  grove__wake(c->g, 0);
}

void grove__calls_fail_node(grove__node *n, uint32_t node) {
  for (size_t i = 0; i < n->ncalls; i++) {
    grove__call *c = n->calls[i];
    if (!c->done && (node == 0 || c->node == node)) {
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
