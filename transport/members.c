/* transport/members.c - membership: joining a cluster through seeds, the
 * MEMBERS gossip that makes it a full mesh by itself (Erlang's transitive
 * connect), the member table behind grove_nodes, and membership events for
 * actors and greenlets that subscribe.
 *
 * Design notes.
 *
 * The table. One entry per member this node knows by name: every peer that
 * is up (its handshake put it there), and the members it learnt from
 * others' MEMBERS and is connecting to, or lost and is trying to reach
 * again. The state of an entry is never taken from gossip: only a handshake
 * makes a member UP, and only its own down (heartbeat timeout, goodbye,
 * process exit) makes it DOWN here. Gossip only says "this node exists,
 * at this endpoint, with this incarnation: connect to it". So a member that
 * is down cannot be brought back up by a stale MEMBERS, and each node's view
 * is the truth of its own connections: after a partition heals, the
 * connections come back (peer.c redials) and every view with them.
 *
 * Who talks MEMBERS. A node with seeds (or `mesh` set) starts the exchange
 * with every peer that comes up: it sends its table (the probe). Any node of
 * this release answers the first MEMBERS of a session with its own table and
 * from then on tells that peer of every member that comes up; GLOBAL
 * registrations follow the same rule (global.c). A node of an older release
 * drops the probe as malformed (one count per session, and at most three
 * probes); nothing else is ever sent to it. A node without seeds or mesh
 * answers and relays but does not connect to the members it hears of.
 *
 * What is gossiped: this node itself and the members that are up here with
 * an endpoint - never an entry learnt from gossip and not yet confirmed by
 * a handshake, so a hostile peer's invented members stop at its neighbours.
 * Those are bounded (max_members entries that are not up; more are
 * refused, counted in members_refused and logged) and forgotten after
 * member_forget seconds without a handshake or fresh news of them; the
 * peers dialled for them are disconnected and freed then.
 *
 * Leaving. A member that says goodbye (BYE), or whose process exited, is
 * removed at once and its (name, incarnation) remembered for member_forget
 * seconds: a MEMBERS still naming it (sent before its sender saw it go) is
 * ignored; the same node restarted has another incarnation and is welcome.
 * A member lost by heartbeat timeout stays, DOWN, for member_forget seconds
 * while both sides try to reach it again (a partition healing); the seeds
 * are never forgotten, so a partition longer than that heals through them.
 *
 * Seeds given by endpoint only: we do not know the name of the node there,
 * and peers are known by name. Such a seed gets a connection of our own
 * (peer.c's routing ids) that belongs to no peer yet; the first hello on it
 * names the node, and the connection becomes that peer's
 * (grove__peer_adopt_dial).
 *
 * Timing: hellos to the members this node dials are repeated every 5 ms,
 * doubling up to 100 ms, for connect_timeout (the node's heartbeat tick,
 * every half heartbeat interval, goes on after that), so that a cluster
 * meshes in a few round trips, not a few ticks.
 */
#include "transport_internal.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define ENDPOINT_MAX 255
#define TOMBS 64
#define SEEDS_MAX 64
#define ENTRIES_PER_ENV 256
#define PROBES_MAX 3

typedef struct member {
  char name[GROVE__NAME_MAX + 1];
  size_t name_len;
  char endpoint[ENDPOINT_MAX + 1]; /* "" unknown */
  uint64_t incarnation;
  int state;         /* GROVE_NODE_UP, _CONNECTING, _DOWN */
  uint8_t seed;      /* never forgotten */
  uint8_t dialled;   /* membership connected to it (and disconnects it when forgotten) */
  uint8_t own_inc;   /* the incarnation is the one it announced (its own MEMBERS entry) */
  uint8_t speaks;    /* it sent MEMBERS in this session */
  uint8_t probes;    /* our tables sent to it in this session */
  uint8_t gone;      /* remove at the next tick */
  uint8_t want_dial; /* dial at the next tick */
  uint8_t moved;     /* its endpoint changed: connect afresh at the next tick */
  uint64_t told_gen; /* our generation when we last sent it our table */
  uint64_t told_at;
  uint64_t forget_at;                    /* not up: removed then (0: never) */
  uint64_t fast_until, next_hello, step; /* quick hellos while it connects */
} member;

typedef struct seed {
  char endpoint[ENDPOINT_MAX + 1];
  char name[GROVE__NAME_MAX + 1]; /* "" for a seed given by endpoint only, until it answers */
  char out_id[GROVE__OUT_ID_LEN];
  uint8_t connected; /* endpoint only: our connection is open */
  uint8_t adopted;   /* endpoint only: it answered, the connection is its peer's */
  uint8_t self;      /* it is this node */
  uint64_t redial_at, fast_until, next_hello, step;
} seed;

typedef struct tomb {
  char name[GROVE__NAME_MAX + 1];
  uint64_t incarnation, until;
} tomb;

struct grove__members {
  grove__node *n;
  member **v;
  size_t nv, cap;
  size_t nlearnt; /* entries that are not up */
  seed *seeds;
  size_t nseeds;
  tomb tombs[TOMBS];
  size_t tomb_next;
  grove_ref *watchers;
  size_t nwatchers, capwatchers;
  char advertise[ENDPOINT_MAX + 1]; /* "" : the bound endpoint */
  int mesh;
  size_t max_learnt;
  uint64_t forget_ns;
  uint64_t gen; /* bumped when a member comes up: a table sent before is stale */
  uv_timer_t timer;
  int timer_started, timer_running;
  grove__cb cb;
  int cb_scheduled;
};

static uint64_t secs_ns(double s) { return (uint64_t)(s * 1e9); }

const char *grove__node_advertised(const grove__node *n) {
  return n->members && n->members->advertise[0] ? n->members->advertise : n->endpoint;
}

/* An endpoint another machine cannot use: a wildcard bind. */
static int wildcard(const char *ep) {
  return strstr(ep, "://*") || strstr(ep, "://0.0.0.0") || strstr(ep, "://[::]") ||
         strstr(ep, "://[*]");
}

/* ---- the table --------------------------------------------------------------------------- */

static member *find(grove__members *M, const char *name, size_t len) {
  for (size_t i = 0; i < M->nv; i++)
    if (M->v[i]->name_len == len && memcmp(M->v[i]->name, name, len) == 0)
      return M->v[i];
  return NULL;
}

static member *add(grove__members *M, const char *name, size_t len, int state) {
  if (len == 0 || len > GROVE__NAME_MAX ||
      grove__grow((void **)&M->v, &M->cap, M->nv, sizeof *M->v, 8))
    return NULL;
  member *m = calloc(1, sizeof *m);
  if (!m)
    return NULL;
  memcpy(m->name, name, len);
  m->name_len = len;
  m->state = state;
  if (state != GROVE_NODE_UP)
    M->nlearnt++;
  M->v[M->nv++] = m;
  return m;
}

static void set_endpoint(member *m, const char *ep, size_t len) {
  if (ep && len <= ENDPOINT_MAX) {
    memcpy(m->endpoint, ep, len);
    m->endpoint[len] = 0;
  }
}

/* Remove entry i (from the tick only: it may free the peer dialled for it). */
static void remove_at(grove__node *n, size_t i) {
  grove__members *M = n->members;
  member *m = M->v[i];
  if (m->dialled) {
    grove__peer *p = grove__peer_by_name(n, m->name, m->name_len);
    if (p && p->state != GROVE__P_UP)
      grove__peer_forget(n, p);
  }
  if (m->state != GROVE_NODE_UP)
    M->nlearnt--;
  M->v[i] = M->v[--M->nv];
  free(m);
}

static int tombstoned(grove__members *M, const char *name, size_t len, uint64_t inc) {
  uint64_t t = grove__now();
  for (size_t i = 0; i < TOMBS; i++) {
    const tomb *b = &M->tombs[i];
    if (b->until > t && b->incarnation == inc && strlen(b->name) == len &&
        memcmp(b->name, name, len) == 0)
      return 1;
  }
  return 0;
}

static void bury(grove__members *M, const member *m) {
  tomb *b = &M->tombs[M->tomb_next++ % TOMBS];
  snprintf(b->name, sizeof b->name, "%s", m->name);
  b->incarnation = m->incarnation;
  b->until = grove__now() + M->forget_ns;
}

/* ---- quick hellos ---------------------------------------------------------------------------- */

static void timer_cb(uv_timer_t *t);

static void fast_start(grove__node *n, uint64_t *until, uint64_t *next, uint64_t *step) {
  grove__members *M = n->members;
  uint64_t t = grove__now();
  *until = t + secs_ns(n->opts.connect_timeout);
  *step = 5000000;
  *next = t + *step;
  if (M->timer_started && !M->timer_running) {
    M->timer_running = 1;
    uv_timer_start(&M->timer, timer_cb, 5, 5);
  }
}

/* Due: returns whether a hello is due now (and moves the schedule on). */
static int fast_due(uint64_t t, uint64_t until, uint64_t *next, uint64_t *step, int *pending) {
  if (t >= until)
    return 0;
  *pending = 1;
  if (t < *next)
    return 0;
  *step = *step < 100000000 ? *step * 2 : 100000000;
  *next = t + *step;
  return 1;
}

static void seed_hello(grove__node *n, seed *s) {
  msgpack_sbuffer b;
  msgpack_sbuffer_init(&b);
  msgpack_packer pk;
  msgpack_packer_init(&pk, &b, msgpack_sbuffer_write);
  grove__w_hello(&pk, GROVE__W_HELLO, n->name, n->incarnation, grove__node_advertised(n),
                 n->opts.max_message, n->opts.window == GROVE__WINDOW_DEFAULT ? 0 : n->opts.window);
  /* Refused (EHOSTUNREACH) until ZeroMQ's own handshake is done: repeated. */
  if (zmq_send(n->sock, s->out_id, GROVE__OUT_ID_LEN, ZMQ_SNDMORE | ZMQ_DONTWAIT) >= 0 &&
      zmq_send(n->sock, b.data, b.size, ZMQ_DONTWAIT) >= 0) {
    n->stats.frames_sent++;
    n->stats.sent++;
  }
  msgpack_sbuffer_destroy(&b);
  grove__node_check_events(n);
}

static void seed_connect(grove__node *n, seed *s) {
  if (s->connected) {
    zmq_disconnect(n->sock, s->endpoint);
    s->connected = 0;
  }
  const char *key = n->curve_server_key[0] ? n->curve_server_key : "";
  int rc = grove__zdial(n, s->endpoint, key, s->out_id);
  if (rc) {
    grove__node_log(n, NULL, "seed %s: cannot connect: %s", s->endpoint, grove_strerror(rc));
    return;
  }
  s->connected = 1;
  s->redial_at = grove__now() + 2 * secs_ns(n->opts.heartbeat_timeout);
  seed_hello(n, s);
  fast_start(n, &s->fast_until, &s->next_hello, &s->step);
}

static void dial_member(grove__node *n, member *m) {
  m->want_dial = 0;
  if (!m->endpoint[0] || wildcard(m->endpoint))
    return;
  grove__peer *p = grove__peer_by_name(n, m->name, m->name_len);
  if (p && p->we_connected)
    return; /* connected to already (the user's connect, a seed): not ours to undo */
  int rc = grove__peer_dial(n, m->name, m->name_len, m->endpoint, NULL, &p);
  if (rc) {
    grove__node_log(n, p, "member %s (%s): cannot connect: %s", m->name, m->endpoint,
                    grove_strerror(rc));
    return;
  }
  m->dialled = 1;
  if (p && p->state != GROVE__P_UP)
    fast_start(n, &m->fast_until, &m->next_hello, &m->step);
}

static grove_greenlet *work_cb(grove__cb *cb) {
  grove__members *M = grove__container_of(cb, grove__members, cb);
  M->cb_scheduled = 0;
  grove__node *n = M->n;
  if (!n->sock)
    return NULL;
  uint64_t t = grove__now();
  int pending = 0;
  for (size_t i = 0; i < M->nv; i++) {
    member *m = M->v[i];
    if (m->state == GROVE_NODE_UP || !m->dialled)
      continue;
    if (fast_due(t, m->fast_until, &m->next_hello, &m->step, &pending)) {
      grove__peer *p = grove__peer_by_name(n, m->name, m->name_len);
      if (p && p->state != GROVE__P_UP && p->we_connected)
        grove__peer_send_hello(n, p, GROVE__W_HELLO, NULL, 0);
    }
  }
  for (size_t i = 0; i < M->nseeds; i++) {
    seed *s = &M->seeds[i];
    if (s->connected && !s->adopted &&
        fast_due(t, s->fast_until, &s->next_hello, &s->step, &pending))
      seed_hello(n, s);
  }
  if (!pending && M->timer_running) {
    M->timer_running = 0;
    uv_timer_stop(&M->timer);
  }
  return NULL;
}

static void timer_cb(uv_timer_t *t) {
  grove__members *M = t->data;
  if (!M->cb_scheduled) {
    M->cb_scheduled = 1;
    grove__schedule(M->n->hub, &M->cb);
  }
}

/* ---- MEMBERS out ------------------------------------------------------------------------------
 */

static int gossipable(const member *m) {
  return m->state == GROVE_NODE_UP && m->endpoint[0] && !wildcard(m->endpoint);
}

static size_t entry_size(const char *name, const char *ep) {
  return 1 + 2 + strlen(name) + 3 + strlen(ep) + 9;
}

/* Our table to p: this node and the members up here, in envelopes that fit
 * what p accepts. */
static void send_table(grove__node *n, grove__peer *p, member *pm) {
  grove__members *M = n->members;
  const char *self_ep = grove__node_advertised(n);
  size_t budget = p->max_message / 2 < 65536 ? p->max_message / 2 : 65536;
  size_t i = 0, total = M->nv + 1;
  /* Entry k: 0 is this node, k >= 1 is M->v[k - 1] (if gossipable and not p). */
  while (i < total) {
    size_t first = i, count = 0, bytes = 8;
    for (; i < total && count < ENTRIES_PER_ENV; i++) {
      const char *nm, *ep;
      if (i == 0) {
        if (wildcard(self_ep))
          continue;
        nm = n->name;
        ep = self_ep;
      } else {
        const member *m = M->v[i - 1];
        if (!gossipable(m) || m == pm)
          continue;
        nm = m->name;
        ep = m->endpoint;
      }
      size_t sz = entry_size(nm, ep);
      if (count && bytes + sz > budget)
        break;
      bytes += sz;
      count++;
    }
    if (count == 0)
      continue;
    msgpack_packer *pk = grove__node_begin_env(n, p, bytes);
    grove__w_members(pk, count);
    for (size_t k = first, done = 0; k < i && done < count; k++) {
      if (k == 0) {
        if (wildcard(self_ep))
          continue;
        grove__w_member(pk, n->name, self_ep, n->incarnation);
      } else {
        const member *m = M->v[k - 1];
        if (!gossipable(m) || m == pm)
          continue;
        grove__w_member(pk, m->name, m->endpoint, m->incarnation);
      }
      done++;
    }
  }
  if (pm) {
    pm->told_gen = M->gen;
    pm->told_at = grove__now();
    pm->probes++;
  }
}

/* Member m came up: every peer that speaks MEMBERS (but m) hears of it. */
static void tell_others(grove__node *n, const member *m) {
  if (!gossipable(m))
    return;
  grove__members *M = n->members;
  for (size_t i = 0; i < M->nv; i++) {
    member *o = M->v[i];
    if (o == m || o->state != GROVE_NODE_UP || !o->speaks)
      continue;
    grove__peer *p = grove__peer_by_name(n, o->name, o->name_len);
    if (!p || p->state != GROVE__P_UP)
      continue;
    msgpack_packer *pk = grove__node_begin_env(n, p, 16 + entry_size(m->name, m->endpoint));
    grove__w_members(pk, 1);
    grove__w_member(pk, m->name, m->endpoint, m->incarnation);
    o->told_gen = M->gen;
  }
}

/* ---- events ---------------------------------------------------------------------------------- */

static void notify(grove__members *M, const char *tag, const char *node) {
  for (size_t i = 0; i < M->nwatchers;) {
    if (grove__actor_gone(M->watchers[i])) {
      M->watchers[i] = M->watchers[--M->nwatchers];
      continue;
    }
    grove_msg *m = grove_msg_new(tag);
    if (m) {
      grove_msg_pack_str(m, node);
      grove__actor_deliver(M->watchers[i], m);
    }
    i++;
  }
}

/* ---- hooks ----------------------------------------------------------------------------------- */

void grove__members_peer_up(grove__node *n, grove__peer *p) {
  grove__members *M = n->members;
  if (!M)
    return;
  notify(M, GROVE_TAG_NODEUP, p->name);
  member *m = find(M, p->name, p->name_len);
  if (!m && !(m = add(M, p->name, p->name_len, GROVE_NODE_UP)))
    return; /* no memory: it is up all the same (peer.c), just not listed */
  if (m->state != GROVE_NODE_UP) {
    M->nlearnt--;
    m->state = GROVE_NODE_UP;
  }
  m->forget_at = 0;
  m->gone = m->want_dial = 0;
  m->speaks = 0;
  m->probes = 0;
  if (!m->own_inc)
    m->incarnation = p->incarnation;
  if (p->endpoint)
    set_endpoint(m, p->endpoint, strlen(p->endpoint));
  M->gen++;
  if (M->mesh)
    send_table(n, p, m); /* the probe: a node of this release answers with its own */
  tell_others(n, m);
}

void grove__members_peer_left(grove__node *n, grove__peer *p) {
  grove__members *M = n->members;
  member *m = M ? find(M, p->name, p->name_len) : NULL;
  if (!m || m->seed || m->state == GROVE_NODE_UP)
    return; /* a seed is never forgotten; one that is up speaks for itself */
  bury(M, m);
  m->gone = 1;
}

void grove__members_peer_down(grove__node *n, grove__peer *p, const char *why) {
  grove__members *M = n->members;
  if (!M)
    return;
  notify(M, GROVE_TAG_NODEDOWN, p->name);
  grove__global_peer_down(n, p);
  member *m = find(M, p->name, p->name_len);
  if (!m)
    return;
  if (m->state == GROVE_NODE_UP) {
    m->state = GROVE_NODE_DOWN;
    M->nlearnt++;
  }
  m->speaks = 0;
  m->probes = 0;
  if (strcmp(why, "this node stopped") == 0)
    return;
  uint64_t t = grove__now();
  if (!m->seed && (strcmp(why, "it stopped") == 0 || strcmp(why, "process exited") == 0)) {
    /* It left: gone everywhere (every member gets its goodbye or sees its
     * end), and a MEMBERS still naming it is stale. */
    bury(M, m);
    m->gone = 1;
    return;
  }
  m->forget_at = m->seed ? 0 : t + M->forget_ns;
  /* Lost (a timeout, a new incarnation): both sides try again, so that a
   * healed partition comes back whichever side had connected. */
  if (M->mesh && !p->we_connected && m->endpoint[0])
    m->want_dial = 1;
}

/* A member learnt from p's MEMBERS. */
static void learn(grove__node *n, grove__peer *p, const grove__wmember *w) {
  grove__members *M = n->members;
  if (w->endpoint_len > ENDPOINT_MAX || tombstoned(M, w->name, w->name_len, w->incarnation)) {
    n->stats.members_refused++;
    return;
  }
  member *m = find(M, w->name, w->name_len);
  uint64_t t = grove__now();
  if (!m) {
    if (M->nlearnt >= M->max_learnt) {
      n->stats.members_refused++;
      grove__node_log_ev(n, p, GROVE_LOG_WARN, GROVE_LOG_DROP, 1,
                         "member %.*s from %s refused: %zu members are not connected yet "
                         "(max_members)",
                         (int)w->name_len, w->name, p->name, M->nlearnt);
      return;
    }
    /* Another name with the same node id cannot be in one cluster. */
    grove__peer *q = grove__peer_by_id(n, grove__fnv1a(w->name, w->name_len));
    if ((q && (q->name_len != w->name_len || memcmp(q->name, w->name, w->name_len))) ||
        grove__fnv1a(w->name, w->name_len) == n->id) {
      n->stats.members_refused++;
      return;
    }
    if (!(m = add(M, w->name, w->name_len, GROVE_NODE_CONNECTING))) {
      n->stats.members_refused++;
      return;
    }
    m->incarnation = w->incarnation;
    m->own_inc = 1;
    set_endpoint(m, w->endpoint, w->endpoint_len);
    m->forget_at = t + M->forget_ns;
    dial_member(n, m);
    return;
  }
  if (m->state == GROVE_NODE_UP)
    return; /* its handshake knows better */
  int moved = strlen(m->endpoint) != w->endpoint_len ||
              memcmp(m->endpoint, w->endpoint, w->endpoint_len) != 0;
  if (m->incarnation != w->incarnation || moved) {
    /* It restarted (a new incarnation), maybe elsewhere: the tick connects
     * again, to the new endpoint. */
    m->incarnation = w->incarnation;
    m->own_inc = 1;
    m->gone = 0;
    set_endpoint(m, w->endpoint, w->endpoint_len);
    if (moved && m->dialled)
      m->moved = 1;
  }
  if (!m->seed)
    m->forget_at = t + M->forget_ns; /* somebody sees it: keep trying */
  if (!m->dialled && M->mesh)
    m->want_dial = 1;
}

void grove__members_in(grove__node *n, grove__peer *p, const grove__env *e) {
  grove__members *M = n->members;
  if (!M)
    return;
  member *pm = find(M, p->name, p->name_len);
  int first = pm && !pm->speaks;
  if (pm)
    pm->speaks = 1;
  grove__member_iter it;
  grove__member_iter_init(&it, e);
  grove__wmember w;
  while (grove__member_next(&it, &w)) {
    if (w.name_len == p->name_len && memcmp(w.name, p->name, w.name_len) == 0) {
      if (pm) { /* its own entry: the incarnation it started with */
        pm->incarnation = w.incarnation;
        pm->own_inc = 1;
        if (w.endpoint_len <= ENDPOINT_MAX)
          set_endpoint(pm, w.endpoint, w.endpoint_len);
      }
      continue;
    }
    if (w.name_len == strlen(n->name) && memcmp(w.name, n->name, w.name_len) == 0)
      continue;
    if (M->mesh)
      learn(n, p, &w);
  }
  if (first) {
    /* Its first MEMBERS of the session: it gets our table unless it has
     * it already (our probe, and nothing came up since), and our names. */
    if (!pm->probes || pm->told_gen != M->gen)
      send_table(n, p, pm);
    grove__global_peer_ready(n, p);
  }
  /* Dial what was learnt now: within a frame's dispatch a dial may add a
   * peer, which is fine; forgetting waits for the tick. */
  for (size_t i = 0; i < M->nv; i++)
    if (M->v[i]->want_dial && M->v[i]->state != GROVE_NODE_UP &&
        !grove__peer_by_name(n, M->v[i]->name, M->v[i]->name_len))
      dial_member(n, M->v[i]);
}

int grove__members_speaks(grove__node *n, const grove__peer *p) {
  grove__members *M = n->members;
  if (!M || p->state != GROVE__P_UP)
    return 0;
  const member *m = find(M, p->name, p->name_len);
  return m && m->speaks;
}

void grove__members_tick(grove__node *n) {
  grove__members *M = n->members;
  if (!M || !n->sock)
    return;
  uint64_t t = grove__now();
  for (size_t i = M->nv; i-- > 0;) {
    member *m = M->v[i];
    if (m->state != GROVE_NODE_UP) {
      if (m->gone || (m->forget_at && t >= m->forget_at)) {
        remove_at(n, i);
        continue;
      }
      if (m->moved) {
        m->moved = 0;
        grove__peer *p = grove__peer_by_name(n, m->name, m->name_len);
        if (p && p->state != GROVE__P_UP)
          grove__peer_forget(n, p);
        m->want_dial = 1;
      }
      if (m->want_dial && M->mesh)
        dial_member(n, m);
      continue;
    }
    /* A probe that got no answer: lost on the way (it crossed the hello),
     * or the peer is of an older release. Again, at most PROBES_MAX times. */
    if (M->mesh && !m->speaks && m->probes && m->probes < PROBES_MAX &&
        t - m->told_at > secs_ns(n->opts.heartbeat_interval) * 2) {
      grove__peer *p = grove__peer_by_name(n, m->name, m->name_len);
      if (p && p->state == GROVE__P_UP)
        send_table(n, p, m);
    }
  }
  for (size_t i = 0; i < M->nseeds; i++) {
    seed *s = &M->seeds[i];
    if (s->self || s->adopted || s->name[0])
      continue;
    if (!s->connected || t > s->redial_at)
      seed_connect(n, s);
    else
      seed_hello(n, s);
  }
}

grove__peer *grove__members_seed_hello(grove__node *n, const char *ident, size_t ilen,
                                       const grove__env *e) {
  grove__members *M = n->members;
  if (!M || ilen != GROVE__OUT_ID_LEN)
    return NULL;
  seed *s = NULL;
  for (size_t i = 0; i < M->nseeds && !s; i++)
    if (M->seeds[i].connected && !M->seeds[i].adopted &&
        memcmp(M->seeds[i].out_id, ident, ilen) == 0)
      s = &M->seeds[i];
  if (!s)
    return NULL;
  if (e->name_len == strlen(n->name) && memcmp(e->name, n->name, e->name_len) == 0) {
    s->self = 1; /* this node's own endpoint under another spelling */
    zmq_disconnect(n->sock, s->endpoint);
    s->connected = 0;
    return NULL;
  }
  grove__peer *p = grove__peer_by_name(n, e->name, e->name_len);
  if (!p) {
    if (grove__peer_by_id(n, grove__fnv1a(e->name, e->name_len)))
      return NULL; /* another name with its id: dispatch refuses the hello */
    if (!(p = grove__peer_add(n, e->name, e->name_len)))
      return NULL;
  }
  s->adopted = 1;
  snprintf(s->name, sizeof s->name, "%.*s", (int)e->name_len, e->name);
  int rc = grove__peer_adopt_dial(n, p, s->out_id, s->endpoint);
  if (rc) {
    /* We had connected to it by name already: that connection stays (an
     * endpoint spelt the same way cannot be disconnected alone). */
    if (!p->dialled || strcmp(p->dialled, s->endpoint) != 0)
      zmq_disconnect(n->sock, s->endpoint);
    s->connected = 0;
  }
  member *m = find(M, e->name, e->name_len);
  if (m || (m = add(M, e->name, e->name_len, GROVE_NODE_CONNECTING))) {
    m->seed = 1;
    m->dialled = 1;
    m->forget_at = 0;
    m->gone = 0;
    if (!m->endpoint[0])
      set_endpoint(m, s->endpoint, strlen(s->endpoint));
  }
  return rc ? NULL : p;
}

/* ---- start / stop ------------------------------------------------------------------------ */

static int parse_seed(grove__node *n, grove__members *M, const char *spec) {
  const char *at = strchr(spec, '@'), *scheme = strstr(spec, "://");
  seed s;
  memset(&s, 0, sizeof s);
  const char *ep = spec;
  if (at && (!scheme || at < scheme)) {
    size_t len = (size_t)(at - spec);
    if (len == 0 || len > GROVE__NAME_MAX)
      return GROVE_EINVAL;
    memcpy(s.name, spec, len);
    ep = at + 1;
  }
  if (!*ep || strlen(ep) > ENDPOINT_MAX || !strstr(ep, "://"))
    return GROVE_EINVAL;
  snprintf(s.endpoint, sizeof s.endpoint, "%s", ep);
  if (strcmp(s.name, n->name) == 0)
    return 0; /* this node itself: every node may be given the same list */
  if (M->nseeds >= SEEDS_MAX)
    return GROVE_EINVAL;
  M->seeds[M->nseeds++] = s;
  return 0;
}

int grove__members_init(grove__node *n, const grove_node_opts *opts) {
  grove__members *M = calloc(1, sizeof *M);
  if (!M)
    return GROVE_ENOMEM;
  M->n = n;
  M->cb.fn = work_cb;
  M->max_learnt = opts && opts->max_members ? opts->max_members : 1024;
  double forget = opts ? opts->member_forget : 0;
  M->forget_ns = secs_ns(forget > 0 && !isnan(forget) ? forget : 30);
  int rc = 0;
  if (opts && opts->advertise) {
    if (!*opts->advertise || strlen(opts->advertise) > ENDPOINT_MAX)
      rc = GROVE_EINVAL;
    else
      snprintf(M->advertise, sizeof M->advertise, "%s", opts->advertise);
  }
  if (rc == 0 && opts && opts->seeds) {
    size_t k = 0;
    while (opts->seeds[k])
      k++;
    if (k > SEEDS_MAX || !(M->seeds = calloc(k ? k : 1, sizeof *M->seeds)))
      rc = k > SEEDS_MAX ? GROVE_EINVAL : GROVE_ENOMEM;
    for (size_t i = 0; rc == 0 && i < k; i++)
      rc = parse_seed(n, M, opts->seeds[i]);
    M->mesh = k > 0;
  }
  if (opts && opts->mesh)
    M->mesh = 1;
  if (rc) {
    free(M->seeds);
    free(M);
    return rc;
  }
  n->members = M;
  return 0;
}

void grove__members_start(grove__node *n) {
  grove__members *M = n->members;
  if (!M)
    return;
  uv_timer_init(grove__hub_loop(n->hub), &M->timer);
  M->timer.data = M;
  uv_unref((uv_handle_t *)&M->timer);
  M->timer_started = 1;
  for (size_t i = 0; i < M->nseeds; i++) {
    seed *s = &M->seeds[i];
    if (strcmp(s->endpoint, n->endpoint) == 0 ||
        strcmp(s->endpoint, grove__node_advertised(n)) == 0) {
      s->self = 1;
      continue;
    }
    if (!s->name[0]) {
      seed_connect(n, s);
      continue;
    }
    member *m = find(M, s->name, strlen(s->name));
    if (!m && !(m = add(M, s->name, strlen(s->name), GROVE_NODE_CONNECTING)))
      continue;
    m->seed = 1;
    set_endpoint(m, s->endpoint, strlen(s->endpoint));
    dial_member(n, m);
  }
}

static void timer_closed(uv_handle_t *h) { free(h->data); }

void grove__members_stop(grove__node *n) {
  grove__members *M = n->members;
  if (!M)
    return;
  n->members = NULL;
  for (size_t i = 0; i < M->nv; i++)
    free(M->v[i]);
  free(M->v);
  free(M->seeds);
  free(M->watchers);
  if (M->cb_scheduled)
    grove__unschedule(&M->cb);
  if (M->timer_started) {
    uv_timer_stop(&M->timer);
    uv_close((uv_handle_t *)&M->timer, timer_closed);
  } else {
    free(M);
  }
}

/* ---- the public calls ----------------------------------------------------------------------
 *
 * The table lives on the node's hub; from another hub of the process each
 * call runs there (node_fwd.c: GROVE__FWD_FN), its results in a heap
 * ticket. */

static int nodes_here(grove__node *n, grove_node_info *out, size_t cap, size_t *count) {
  if (!n->members)
    return GROVE_ENOENT;
  grove__members *M = n->members;
  size_t k = 0;
  for (size_t i = 0; i < M->nv; i++) {
    const member *m = M->v[i];
    if (m->gone)
      continue;
    if (k < cap) {
      grove_node_info *o = &out[k];
      memset(o, 0, sizeof *o);
      snprintf(o->name, sizeof o->name, "%s", m->name);
      snprintf(o->endpoint, sizeof o->endpoint, "%s", m->endpoint);
      o->incarnation = m->incarnation;
      o->state = (grove_node_state)m->state;
      o->seed = m->seed != 0;
    }
    k++;
  }
  *count = k;
  return k > cap ? GROVE_ERANGE : 0;
}

static int monitor_nodes_here(grove__node *n, grove_ref who) {
  grove__members *M = n->members;
  if (!M)
    return GROVE_ENOENT;
  if (grove__grow((void **)&M->watchers, &M->capwatchers, M->nwatchers, sizeof *M->watchers, 4))
    return GROVE_ENOMEM;
  M->watchers[M->nwatchers++] = who;
  return 0;
}

static int demonitor_nodes_here(grove__node *n, grove_ref who) {
  grove__members *M = n->members;
  for (size_t i = 0; M && i < M->nwatchers; i++) {
    if (grove_ref_eq(M->watchers[i], who)) {
      M->watchers[i] = M->watchers[--M->nwatchers];
      return 0;
    }
  }
  return GROVE_ENOENT;
}

enum { OP_NODES, OP_MONITOR, OP_DEMONITOR };

typedef struct mcall {
  int op;
  grove_ref who;
  size_t cap, count;
  grove_node_info info[]; /* OP_NODES: cap of them */
} mcall;

static int mcall_here(grove__node *n, mcall *c) {
  switch (c->op) {
  case OP_NODES:
    return nodes_here(n, c->info, c->cap, &c->count);
  case OP_MONITOR:
    return monitor_nodes_here(n, c->who);
  default:
    return demonitor_nodes_here(n, c->who);
  }
}

static int mcall_fwd(void *arg) {
  grove__node *n = grove__node_current();
  return n ? mcall_here(n, arg) : GROVE_ENOENT;
}

/* Run c on the node's hub h (another than the caller's); *cp holds the
 * results afterwards (NULL when they did not come back). */
static int mcall_there(grove_hub *h, mcall **cp) {
  grove__fwd_out o = {.fn = mcall_fwd, .arg = *cp};
  *cp = NULL;
  int rc = grove__fwd_call(h, GROVE__FWD_FN, NULL, NULL, NULL, 0, &o);
  *cp = o.arg;
  return rc;
}

static int watch_as(int op, grove_ref who) {
  grove__node *n = grove__node_current();
  if (n)
    return op == OP_MONITOR ? monitor_nodes_here(n, who) : demonitor_nodes_here(n, who);
  grove_hub *h = grove__node_elsewhere();
  if (!h)
    return GROVE_ENOENT;
  mcall *c = calloc(1, sizeof *c);
  if (!c)
    return GROVE_ENOMEM;
  c->op = op;
  c->who = who;
  int rc = mcall_there(h, &c);
  free(c);
  return rc;
}

int grove_nodes(grove_node_info *out, size_t cap, size_t *count) {
  if (count)
    *count = 0;
  if (!count || (cap && !out))
    return GROVE_EINVAL;
  grove__node *n = grove__node_current();
  if (n)
    return nodes_here(n, out, cap, count);
  grove_hub *h = grove__node_elsewhere();
  if (!h)
    return GROVE_ENOENT;
  mcall *c = calloc(1, sizeof *c + cap * sizeof c->info[0]);
  if (!c)
    return GROVE_ENOMEM;
  c->op = OP_NODES;
  c->cap = cap;
  int rc = mcall_there(h, &c);
  if (c && (rc == 0 || rc == GROVE_ERANGE)) {
    memcpy(out, c->info, (c->count < cap ? c->count : cap) * sizeof *out);
    *count = c->count;
  }
  free(c);
  return rc;
}

int grove_monitor_nodes(void) {
  if (!grove__node_current() && !grove__node_elsewhere())
    return GROVE_ENOENT;
  grove_ref self = grove_self();
  if (grove_ref_is_null(self))
    return GROVE_EINVAL;
  return watch_as(OP_MONITOR, self);
}

int grove_demonitor_nodes(void) { return watch_as(OP_DEMONITOR, grove_self()); }

static int monitor_nodes_as(const void *unused, grove_ref who) {
  (void)unused;
  return watch_as(OP_MONITOR, who);
}

int grove_monitor_nodes_to(grove_queue *q, uint64_t *id) {
  return grove__node_watch_to(q, id, monitor_nodes_as, NULL);
}
