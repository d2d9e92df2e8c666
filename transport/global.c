/* transport/global.c - cluster-wide names (Erlang's global:register_name):
 * a name that every member resolves to one actor.
 *
 * Design notes.
 *
 * The owner is the authority. A name is registered on the node of its
 * actor, which tells every member that speaks membership (members.c) with a
 * GLOBAL envelope [1, 17, 0, name, ref, incarnation], and tells it again to
 * every member that comes up later (a member that joins learns the table
 * from the owners themselves: in a full mesh each member hears each owner).
 * Each member keeps a replica; grove_global_whereis reads it and never
 * waits. An owner drops its name - and says so, [1, 17, 1, name, ref, inc]
 * - when the actor ends or the name is unregistered; every member drops the
 * names of a node that goes down for it (and hears them again when it comes
 * back). So a name is never resolved to a node that is down here, and a
 * replica holds nothing an owner did not say in its current session.
 *
 * Conflicts. Registration is optimistic: grove_global_register succeeds
 * when the name is free as far as this node knows. Two nodes that
 * registered the name at once, or on the two sides of a partition, learn of
 * each other when the GLOBAL envelopes cross (or the partition heals). Every
 * member applies one rule, wherever it hears the two from and in whatever
 * order: the registration whose owner has the lower (incarnation, node
 * name) wins - incarnations are random 64-bit numbers fixed when a node
 * starts, so the winner is arbitrary but the same everywhere (Erlang's
 * default resolver picks at random too). The loser's owner node drops its
 * registration, tells the others (an unregister) and sends the losing actor
 * a GROVE_TAG_GLOBAL_LOST message [name, winner's ref]; the actor is not
 * killed (Erlang's random_exit_name kills it: an actor that wants that
 * returns an error on the message).
 *
 * Bounds: at most GLOBAL_MAX names in a replica; what a peer registers
 * beyond is refused and counted (global_refused), as a GLOBAL naming an
 * actor that is not the sender's own.
 */
#include "transport_internal.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define GLOBAL_MAX 65536

typedef struct gname {
  struct gname *next;           /* in its bucket */
  struct gname *lnext, **lprev; /* in the list of this node's own names */
  char name[GROVE__NAME_MAX + 1];
  grove_ref ref;                   /* as on the wire: node = the owner's id */
  uint64_t inc;                    /* the owner's incarnation */
  char owner[GROVE__NAME_MAX + 1]; /* the owner node's name */
} gname;

struct grove__global {
  gname **buckets;
  size_t nbuckets, n;
  gname *local; /* this node's own */
  size_t nlocal;
};

static grove__global *table(grove__node *n) {
  if (!n->global) {
    grove__global *g = calloc(1, sizeof *g);
    if (!g || !(g->buckets = calloc(64, sizeof *g->buckets))) {
      free(g);
      return NULL;
    }
    g->nbuckets = 64;
    n->global = g;
  }
  return n->global;
}

static gname **slot(grove__global *g, const char *name, size_t len) {
  gname **pp = &g->buckets[grove__fnv1a(name, len) & (g->nbuckets - 1)];
  while (*pp && !(strlen((*pp)->name) == len && memcmp((*pp)->name, name, len) == 0))
    pp = &(*pp)->next;
  return pp;
}

static void grow(grove__global *g) {
  if (g->n < g->nbuckets)
    return;
  size_t nb = g->nbuckets * 2;
  gname **b = calloc(nb, sizeof *b);
  if (!b)
    return; /* longer chains, still correct */
  for (size_t i = 0; i < g->nbuckets; i++) {
    for (gname *e = g->buckets[i], *next; e; e = next) {
      next = e->next;
      gname **pp = &b[grove__fnv1a(e->name, strlen(e->name)) & (nb - 1)];
      e->next = *pp;
      *pp = e;
    }
  }
  free(g->buckets);
  g->buckets = b;
  g->nbuckets = nb;
}

static void unlink_local(grove__global *g, gname *e) {
  if (e->lprev) {
    *e->lprev = e->lnext;
    if (e->lnext)
      e->lnext->lprev = e->lprev;
    e->lprev = NULL;
    g->nlocal--;
  }
}

/* Remove the entry *pp points to. */
static void drop(grove__global *g, gname **pp) {
  gname *e = *pp;
  *pp = e->next;
  unlink_local(g, e);
  g->n--;
  free(e);
}

static gname *insert(grove__global *g, gname **pp, const char *name, size_t len, grove_ref ref,
                     uint64_t inc, const char *owner, int local) {
  gname *e = calloc(1, sizeof *e);
  if (!e)
    return NULL;
  memcpy(e->name, name, len);
  e->ref = ref;
  e->inc = inc;
  snprintf(e->owner, sizeof e->owner, "%s", owner);
  e->next = *pp;
  *pp = e;
  g->n++;
  if (local) {
    e->lnext = g->local;
    if (g->local)
      g->local->lprev = &e->lnext;
    e->lprev = &g->local;
    g->local = e;
    g->nlocal++;
  }
  grow(g);
  return e;
}

/* Whether registration a wins over b: the lower (incarnation, owner name). */
static int wins(uint64_t inc_a, const char *owner_a, const gname *b) {
  if (inc_a != b->inc)
    return inc_a < b->inc;
  return strcmp(owner_a, b->owner) < 0;
}

static void send_one(grove__node *n, grove__peer *p, int op, const gname *e) {
  grove__w_global(grove__node_begin_env(n, p, 48 + strlen(e->name)), op, e->name, e->ref, e->inc);
}

/* To every peer that speaks membership (but `except`). */
static void broadcast(grove__node *n, int op, const gname *e, const grove__peer *except) {
  for (size_t i = 0; i < n->npeers; i++) {
    grove__peer *p = n->peers[i];
    if (p != except && grove__members_speaks(n, p))
      send_one(n, p, op, e);
  }
}

/* Our registration e lost to `winner`: drop it, say so, tell its actor. */
static void lose(grove__node *n, grove__global *g, gname **pp, grove_ref winner) {
  gname *e = *pp;
  grove__node_log_ev(n, NULL, GROVE_LOG_INFO, GROVE_LOG_TEXT, 0,
                     "global name %s: registered on another node too; that one wins", e->name);
  broadcast(n, GROVE__GLOBAL_UNREGISTER, e, NULL);
  grove_msg *m = grove_msg_new(GROVE_TAG_GLOBAL_LOST);
  grove_ref loser = grove__node_local_ref(n, e->ref);
  if (m) {
    grove_msg_pack_str(m, e->name);
    grove_msg_pack_ref(m, grove__node_local_ref(n, winner));
  }
  drop(g, pp);
  if (m)
    grove__actor_deliver(loser, m); /* it ended meanwhile: a dead letter, counted */
}

void grove__global_in(grove__node *n, grove__peer *p, const grove__env *e) {
  grove__global *g = table(n);
  if (!g)
    return;
  gname **pp = slot(g, e->name, e->name_len);
  if (e->code == GROVE__GLOBAL_UNREGISTER) {
    /* Whoever asks (any member may unregister a name), if it names the
     * same registration: a late one for an older registration does not
     * touch a newer one. */
    if (*pp && grove_ref_eq((*pp)->ref, e->to))
      drop(g, pp);
    return;
  }
  if (e->to.node != p->id) {
    n->stats.global_refused++;
    grove__node_log_ev(n, p, GROVE_LOG_WARN, GROVE_LOG_DROP, 1,
                       "global name %.*s from %s refused: not an actor of that node",
                       (int)e->name_len, e->name, p->name);
    return;
  }
  gname *cur = *pp;
  if (!cur) {
    if (g->n >= GLOBAL_MAX) {
      n->stats.global_refused++;
      grove__node_log_ev(n, p, GROVE_LOG_WARN, GROVE_LOG_DROP, 1,
                         "global name %.*s from %s refused: %d names already", (int)e->name_len,
                         e->name, p->name, GLOBAL_MAX);
      return;
    }
    insert(g, pp, e->name, e->name_len, e->to, e->id, p->name, 0);
    return;
  }
  if (grove_ref_eq(cur->ref, e->to))
    return; /* told again (it came back up, or we both relay) */
  if (strcmp(cur->owner, p->name) == 0) {
    /* The same owner, another actor: its newer word. */
    cur->ref = e->to;
    cur->inc = e->id;
    return;
  }
  /* Two registrations of one name: the rule, the same on every member. */
  n->stats.global_conflicts++;
  if (!wins(e->id, p->name, cur))
    return; /* ours or a third node's stays; p's owner node applies the rule too */
  if (cur->lprev) {
    lose(n, g, pp, e->to);
    pp = slot(g, e->name, e->name_len);
    insert(g, pp, e->name, e->name_len, e->to, e->id, p->name, 0);
    return;
  }
  cur->ref = e->to;
  cur->inc = e->id;
  snprintf(cur->owner, sizeof cur->owner, "%s", p->name);
}

void grove__global_peer_ready(grove__node *n, grove__peer *p) {
  grove__global *g = n->global;
  for (gname *e = g ? g->local : NULL; e; e = e->lnext)
    send_one(n, p, GROVE__GLOBAL_REGISTER, e);
}

void grove__global_peer_down(grove__node *n, grove__peer *p) {
  grove__global *g = n->global;
  if (!g || g->n == g->nlocal)
    return;
  for (size_t i = 0; i < g->nbuckets; i++) {
    for (gname **pp = &g->buckets[i]; *pp;) {
      if (!(*pp)->lprev && (*pp)->ref.node == p->id)
        drop(g, pp);
      else
        pp = &(*pp)->next;
    }
  }
}

void grove__global_ended(grove__node *n, grove_ref ref) {
  grove__global *g = n->global;
  if (!g || g->nlocal == 0)
    return;
  grove_ref w = grove__node_wire_ref(n, ref);
  for (gname *e = g->local, *next; e; e = next) {
    next = e->lnext;
    if (grove_ref_eq(e->ref, w)) {
      broadcast(n, GROVE__GLOBAL_UNREGISTER, e, NULL);
      drop(g, slot(g, e->name, strlen(e->name)));
    }
  }
}

void grove__global_free(grove__node *n) {
  grove__global *g = n->global;
  if (!g)
    return;
  for (size_t i = 0; i < g->nbuckets; i++)
    while (g->buckets[i])
      drop(g, &g->buckets[i]);
  free(g->buckets);
  free(g);
  n->global = NULL;
}

/* ---- the public calls ----------------------------------------------------------------------
 *
 * The replica lives on the node's hub. Called on another hub of the
 * process, each call runs there (node_fwd.c: GROVE__FWD_FN), with its
 * arguments and results in a heap ticket. */

static int check_name(const char *name) {
  return name && *name && strlen(name) <= GROVE__NAME_MAX ? 0 : GROVE_EINVAL;
}

enum { OP_REGISTER, OP_UNREGISTER, OP_WHEREIS, OP_NAMES };

typedef struct gcall {
  int op;
  char name[GROVE__NAME_MAX + 1];
  grove_ref ref;
  size_t cap, n;
  char names[][64]; /* OP_NAMES: cap of them */
} gcall;

/* On the node's hub. */
static int run_here(grove__node *n, gcall *c) {
  grove__global *g = n->global;
  size_t len = strlen(c->name);
  switch (c->op) {
  case OP_REGISTER: {
    grove_ref local = grove__node_local_ref(n, c->ref);
    if (grove__actor_gone(local))
      return GROVE_ENOENT;
    if (!(g = table(n)))
      return GROVE_ENOMEM;
    gname **pp = slot(g, c->name, len);
    if (*pp)
      return GROVE_EEXIST;
    gname *e =
        insert(g, pp, c->name, len, grove__node_wire_ref(n, local), n->incarnation, n->name, 1);
    if (!e)
      return GROVE_ENOMEM;
    broadcast(n, GROVE__GLOBAL_REGISTER, e, NULL);
    return 0;
  }
  case OP_UNREGISTER: {
    gname **pp = g ? slot(g, c->name, len) : NULL;
    if (!pp || !*pp)
      return GROVE_ENOENT;
    broadcast(n, GROVE__GLOBAL_UNREGISTER, *pp, NULL);
    drop(g, pp);
    return 0;
  }
  case OP_WHEREIS: {
    gname **pp = g ? slot(g, c->name, len) : NULL;
    if (!pp || !*pp)
      return GROVE_ENOENT;
    c->ref = grove__node_local_ref(n, (*pp)->ref);
    return 0;
  }
  case OP_NAMES:
    c->n = 0;
    for (size_t i = 0; g && i < g->nbuckets; i++)
      for (const gname *e = g->buckets[i]; e; e = e->next, c->n++)
        if (c->n < c->cap)
          snprintf(c->names[c->n], sizeof c->names[c->n], "%s", e->name);
    return 0;
  }
  return GROVE_EINVAL;
}

static int run_fwd(void *arg) {
  grove__node *n = grove__node_current();
  return n ? run_here(n, arg) : GROVE_ENOENT;
}

/* Run c here or on the node's hub; *c holds the results (on the heap when
 * it went there: *cp is replaced, the caller frees it). */
static int run(gcall **cp) {
  grove__node *n = grove__node_current();
  if (n)
    return run_here(n, *cp);
  grove_hub *h = grove__node_elsewhere();
  if (!h)
    return GROVE_ENOENT;
  grove__fwd_out o = {.fn = run_fwd, .arg = *cp};
  *cp = NULL;
  int rc = grove__fwd_call(h, GROVE__FWD_FN, NULL, NULL, NULL, 0, &o);
  *cp = o.arg; /* NULL when it did not come back */
  return rc;
}

static gcall *gcall_new(int op, const char *name, size_t cap) {
  gcall *c = calloc(1, sizeof *c + cap * sizeof c->names[0]);
  if (c) {
    c->op = op;
    c->cap = cap;
    if (name)
      snprintf(c->name, sizeof c->name, "%s", name);
  }
  return c;
}

int grove_global_register(const char *name, grove_ref ref) {
  if (!grove__node_current() && !grove__node_elsewhere())
    return GROVE_ENOENT;
  if (check_name(name) || grove_ref_is_null(ref))
    return GROVE_EINVAL;
  grove__node *n = grove__node_current();
  if (ref.node != 0 && (!n || ref.node != n->id))
    return GROVE_EINVAL; /* an actor of this process's node only */
  if (!n && grove__actor_gone(ref))
    return GROVE_ENOENT; /* checked here: the node's hub cannot see this hub's actors */
  gcall *c = gcall_new(OP_REGISTER, name, 0);
  if (!c)
    return GROVE_ENOMEM;
  c->ref = ref;
  int rc = run(&c);
  free(c);
  return rc;
}

int grove_global_unregister(const char *name) {
  if (!grove__node_current() && !grove__node_elsewhere())
    return GROVE_ENOENT;
  if (check_name(name))
    return GROVE_EINVAL;
  gcall *c = gcall_new(OP_UNREGISTER, name, 0);
  if (!c)
    return GROVE_ENOMEM;
  int rc = run(&c);
  free(c);
  return rc;
}

int grove_global_whereis(const char *name, grove_ref *out) {
  if (out)
    *out = GROVE_REF_NULL;
  if (check_name(name) || !out)
    return GROVE_EINVAL;
  grove__node *n = grove__node_current();
  if (n) { /* the common case: no allocation */
    grove__global *g = n->global;
    gname **pp = g ? slot(g, name, strlen(name)) : NULL;
    if (!pp || !*pp)
      return GROVE_ENOENT;
    *out = grove__node_local_ref(n, (*pp)->ref);
    return 0;
  }
  if (!grove__node_elsewhere())
    return GROVE_ENOENT;
  gcall *c = gcall_new(OP_WHEREIS, name, 0);
  if (!c)
    return GROVE_ENOMEM;
  int rc = run(&c);
  if (rc == 0 && c)
    *out = c->ref;
  free(c);
  return rc;
}

int grove_global_whereis_wait(const char *name, grove_ref *out, double timeout) {
  if (out)
    *out = GROVE_REF_NULL;
  if (check_name(name) || !out || isnan(timeout))
    return GROVE_EINVAL;
  if (!grove__node_current() && !grove__node_elsewhere())
    return GROVE_ENOENT;
  grove_hub *hub = grove__hub();
  if (!hub)
    return GROVE_ENOMEM;
  uint64_t deadline;
  int rc = grove__begin_wait(hub, timeout, &deadline);
  if (rc)
    return rc;
  double step = 0.002;
  for (;;) {
    if ((rc = grove_global_whereis(name, out)) != GROVE_ENOENT)
      return rc;
    if (!grove__node_current() && !grove__node_elsewhere())
      return GROVE_ENOENT; /* the node stopped while we waited */
    double left = grove__seconds_left(deadline);
    if (left == 0)
      return GROVE_ETIMEDOUT;
    if ((rc = grove_sleep(left >= 0 && left < step ? left : step)) != 0)
      return rc;
    step = step < 0.05 ? step * 2 : 0.05;
  }
}

size_t grove_global_names(char (*names)[64], size_t cap) {
  if (!names)
    cap = 0;
  gcall *c = gcall_new(OP_NAMES, NULL, cap);
  if (!c)
    return 0;
  size_t k = run(&c) == 0 && c ? c->n : 0;
  if (c && k)
    memcpy(names, c->names, (k < cap ? k : cap) * sizeof names[0]);
  free(c);
  return k;
}

int grove_call_name_global(const char *name, grove_msg *msg, grove_msg **reply, double timeout) {
  if (reply)
    *reply = NULL;
  if (!msg)
    return GROVE_EINVAL;
  int rc = check_name(name) || !reply || isnan(timeout) ? GROVE_EINVAL : 0;
  grove_hub *hub = grove__hub();
  if (rc == 0 && !hub)
    rc = GROVE_ENOMEM;
  uint64_t deadline = UINT64_MAX;
  if (rc == 0)
    rc = grove__begin_wait(hub, timeout, &deadline);
  grove_ref ref;
  if (rc == 0 && (rc = grove_global_whereis_wait(name, &ref, grove__seconds_left(deadline))) ==
                     GROVE_ETIMEDOUT)
    rc = GROVE_ENOENT; /* nobody had the name in time */
  if (rc) {
    grove__dead_letter_here(GROVE_REF_NULL, msg, rc);
    return rc;
  }
  return grove_call(ref, msg, reply, grove__seconds_left(deadline));
}

int grove_send_name_global(const char *name, grove_msg *msg) {
  if (!msg)
    return GROVE_EINVAL;
  grove_ref ref;
  int rc = check_name(name) ? GROVE_EINVAL : grove_global_whereis(name, &ref);
  if (rc) {
    grove__dead_letter_here(GROVE_REF_NULL, msg, rc);
    return rc;
  }
  return grove_send(ref, msg);
}
