/* transport/introspect.c - the node seen from outside: its peers
 * (grove_peers_info), the round trip to each, and the introspection service
 * ("grove.introspect") that answers "snapshot" calls from other nodes.
 *
 * Design notes.
 *
 * Per-peer counters are plain fields of the peer, written by the node's hub
 * as it sends and receives (one increment next to the ones already there).
 *
 * Round trip: grove's HEARTBEAT is one-way and its shape is fixed by the
 * protocol (docs/protocol.md, section 12: a new element is a new version),
 * so the node measures with an envelope every peer already answers: a
 * WHEREIS for the name "grove.ping", once a second per peer that is up, and
 * only while something observes the process (a metrics endpoint or an
 * introspection service: grove__observing). Its REPLY - whatever its status
 * - is recognised by its id before the calls table is searched and gives
 * rtt_ns; a probe that has no answer after the heartbeat timeout is given
 * up (a late answer then counts as unknown_target, as a late reply does).
 * The figure includes the time the peer took to read the request, which is
 * what a caller of that peer waits too.
 *
 * Who may introspect a CURVE node. ZeroMQ authenticates every connection's
 * key but does not say, per message, which connection a message came on -
 * except through ZAP: the User-Id a ZAP handler returns is attached to
 * every frame of that connection (zmq_msg_gets "User-Id"). So a CURVE node
 * with the service on runs its ZAP handler (admitting every key unless
 * curve_allowed says otherwise) and answers each connection with its key as
 * the User-Id. A frame that arrives on our own connection to the peer comes
 * from the holder of the server key we dialled. The check is made in the
 * dispatch, on the frame that carries the request, before the message is
 * delivered: a routing id or a node name claimed in a HELLO proves nothing,
 * a key does. Connections made before the handler ran (the service started
 * later on a running CURVE node without curve_allowed) have no User-Id and
 * are refused. Allowed: the keys in introspect_keys; without a list, only
 * this node's own public key (a cluster sharing one keypair, or an operator
 * who holds the node's keys). A refused call is answered GROVE_EPERM and
 * counted (introspect_denied). A node without CURVE answers anybody who can
 * reach it, as every one of its actors does: bind it to loopback or ipc.
 *
 * Bad requests (a tag other than "snapshot", a body other than nil or a
 * map of unsigned limits, a plain send) get an error reply GROVE_EINVAL (a
 * send: dropped) and are counted (introspect_bad); nothing a peer sends
 * can make the service fail.
 */
#include "transport_internal.h"

#include <grove/observe.h>
#include <math.h>
#include <string.h>
#include <time.h>

#define PING_INTERVAL_NS 1000000000ull
#define DEFAULT_MAX_ACTORS 1000
#define DEFAULT_MAX_GREENLETS 200
#define LIMIT_MAX 100000 /* what one snapshot lists at most, whatever it is asked */

/* ---- peers -------------------------------------------------------------------------- */

const char *grove_peer_state_name(int state) {
  switch (state) {
  case 0:
    return "connecting";
  case 1:
    return "up";
  case 2:
    return "down";
  default:
    return "?";
  }
}

static int peer_state(const grove__peer *p) {
  return p->state == GROVE__P_UP ? 1 : p->state == GROVE__P_DOWN ? 2 : 0;
}

/* ---- on the node's hub, from any hub ----------------------------------------------------
 *
 * The node runs on one hub and serves every hub (node_fwd.c); these calls
 * read or change it there: a snapshot of it in that hub's context
 * (grove__hub_gather_one), never a greenlet there. */

typedef struct plist {
  size_t n;
  grove_peer_info p[];
} plist;

static size_t peers_here(grove__node *node, grove_peer_info *out, size_t cap);

static void *peers_there(size_t index, size_t cap) {
  (void)index;
  plist *l = malloc(sizeof *l + cap * sizeof l->p[0]);
  grove__node *node = grove__node_current();
  if (l)
    l->n = node ? peers_here(node, l->p, cap) : 0;
  return l;
}

static void *introspect_there(size_t index, size_t start);

/* Run the introspection service's start (1) or stop (0) on the node's hub. */
static int introspect_elsewhere(grove_hub *h, int start) {
  void *res = NULL;
  int rc = grove__hub_gather_one(h, introspect_there, (size_t)start, free, &res);
  if (rc == 0)
    rc = res ? *(int *)res : GROVE_ENOMEM;
  free(res);
  return rc;
}

int grove_peers_info(grove_peer_info *out, size_t cap, size_t *n) {
  if (n)
    *n = 0;
  if (!out && cap)
    return GROVE_EINVAL;
  grove_hub *h = grove__node_elsewhere();
  if (GROVE__UNLIKELY(h != NULL)) {
    void *res = NULL;
    int rc = grove__hub_gather_one(h, peers_there, cap, free, &res);
    plist *l = res;
    if (rc == 0 && !l)
      rc = GROVE_ENOMEM;
    if (rc == 0) {
      memcpy(out, l->p, l->n * sizeof *out);
      if (n)
        *n = l->n;
    }
    free(l);
    return rc;
  }
  grove__node *node = grove__node_current();
  if (!node)
    return 0;
  size_t w = peers_here(node, out, cap);
  if (n)
    *n = w;
  return 0;
}

static size_t peers_here(grove__node *node, grove_peer_info *out, size_t cap) {
  size_t w = 0;
  for (size_t i = 0; i < node->npeers && w < cap; i++) {
    const grove__peer *p = node->peers[i];
    grove_peer_info *o = &out[w++];
    memset(o, 0, sizeof *o);
    snprintf(o->name, sizeof o->name, "%s", p->name);
    const char *ep = p->endpoint ? p->endpoint : p->dialled;
    snprintf(o->endpoint, sizeof o->endpoint, "%s", ep ? ep : "");
    o->state = peer_state(p);
    o->incarnation = p->incarnation;
    o->sent = p->msgs_sent;
    o->received = p->msgs_received;
    o->dropped = p->msgs_dropped;
    o->rtt_ms = p->rtt_ns < 0 ? -1.0 : (double)p->rtt_ns / 1e6;
  }
  return w;
}

/* ---- round trips ----------------------------------------------------------------------- */

void grove__ping_tick(grove__node *n, grove__peer *p, uint64_t now) {
  if (p->ping_id) {
    if (now - p->ping_at < (uint64_t)(n->opts.heartbeat_timeout * 1e9))
      return;
    p->ping_id = 0; /* no answer: give it up */
  }
  if (p->ping_at && now - p->ping_at < PING_INTERVAL_NS)
    return;
  p->ping_id = ++n->next_call;
  p->ping_at = now;
  grove__w_whereis(grove__node_begin_env(n, p, 32), p->ping_id, "grove.ping");
  p->out_envs--; /* control: nothing is lost if it is dropped with the peer */
}

int grove__ping_reply(grove__node *n, grove__peer *p, const grove__env *e) {
  (void)n;
  if (e->id != p->ping_id)
    return 0;
  p->rtt_ns = (int64_t)(grove__now() - p->ping_at);
  p->ping_id = 0;
  return 1;
}

/* ---- who may ask ----------------------------------------------------------------------- */

bool grove__introspect_allowed(grove__node *n, grove__peer *p) {
  char key[41] = "";
  if (n->frame_ours) {
    /* our connection: the peer proved it holds the key we dialled */
    snprintf(key, sizeof key, "%s", p->curve_key[0] ? p->curve_key : n->curve_server_key);
  } else if (n->frame) {
    const char *u = zmq_msg_gets((zmq_msg_t *)n->frame, "User-Id");
    if (u)
      snprintf(key, sizeof key, "%s", u);
  }
  if (strlen(key) != 40)
    return false;
  if (n->nintrospect_keys == 0)
    return strcmp(key, n->curve_public) == 0;
  for (size_t i = 0; i < n->nintrospect_keys; i++)
    if (strcmp(key, n->introspect_keys[i]) == 0)
      return true;
  return false;
}

static void keys_free(grove__node *n) {
  for (size_t i = 0; i < n->nintrospect_keys; i++)
    free(n->introspect_keys[i]);
  free(n->introspect_keys);
  n->introspect_keys = NULL;
  n->nintrospect_keys = 0;
}

static int keys_copy(grove__node *n, const char *const *keys) {
  size_t count = 0;
  while (keys && keys[count])
    count++;
  if (!count)
    return 0;
  n->introspect_keys = calloc(count, sizeof *n->introspect_keys);
  if (!n->introspect_keys)
    return GROVE_ENOMEM;
  for (size_t i = 0; i < count; i++) {
    uint8_t raw[32];
    if (strlen(keys[i]) != 40 || !zmq_z85_decode(raw, keys[i])) {
      keys_free(n);
      return GROVE_EINVAL;
    }
    /* As ZeroMQ writes it back (Z85 has one text per key). */
    char *k = malloc(41);
    if (!k) {
      keys_free(n);
      return GROVE_ENOMEM;
    }
    zmq_z85_encode(k, raw, 32);
    n->introspect_keys[n->nintrospect_keys++] = k;
  }
  return 0;
}

/* ---- the snapshot --------------------------------------------------------------------------- */

static void pk_str(msgpack_packer *pk, const char *s) {
  size_t len = strlen(s);
  msgpack_pack_str(pk, len);
  msgpack_pack_str_body(pk, s, len);
}

static void pk_kstr(msgpack_packer *pk, const char *k, const char *v) {
  pk_str(pk, k);
  pk_str(pk, v);
}

static void pk_kuint(msgpack_packer *pk, const char *k, uint64_t v) {
  pk_str(pk, k);
  msgpack_pack_uint64(pk, v);
}

static void pk_kdouble(msgpack_packer *pk, const char *k, double v) {
  pk_str(pk, k);
  msgpack_pack_double(pk, v);
}

/* The reply's body (docs/protocol.md, "Introspection"). 0 or an error of
 * the gathering (the greenlet was killed: GROVE_ECANCELED; no memory). */
static int snapshot_pack(grove__node *n, msgpack_packer *pk, size_t max_actors,
                         size_t max_greenlets) {
  size_t nh = grove_hub_count(), nhubs = 0;
  grove_hub_info *hubs = calloc(nh ? nh : 1, sizeof *hubs);
  grove_actor_info *actors = max_actors ? calloc(max_actors, sizeof *actors) : NULL;
  grove_greenlet_info *gls = max_greenlets ? calloc(max_greenlets, sizeof *gls) : NULL;
  size_t na = 0, atotal = 0, ng = 0, gtotal = 0, np = n->npeers;
  grove_peer_info *peers = calloc(np ? np : 1, sizeof *peers);
  int rc = 0;
  if (!hubs || !peers || (max_actors && !actors) || (max_greenlets && !gls))
    rc = GROVE_ENOMEM;
  if (!rc)
    rc = grove_hubs_info(hubs, nh, &nhubs);
  if (!rc)
    rc = grove_actors_list(actors, max_actors, &na, &atotal);
  if (!rc)
    rc = grove_greenlets_list(gls, max_greenlets, &ng, &gtotal);
  /* The gathering may have waited: the node may have stopped meanwhile. */
  if (!rc && grove__node_current() != n)
    rc = GROVE_ENOENT;
  if (!rc)
    rc = grove_peers_info(peers, n->npeers < np ? n->npeers : np, &np);
  if (rc) {
    free(hubs);
    free(actors);
    free(gls);
    free(peers);
    return rc;
  }
  uint64_t dead = 0;
  for (size_t i = 0; i < nhubs; i++)
    dead += hubs[i].dead_letters;
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);

  msgpack_pack_map(pk, 10);
  pk_kstr(pk, "node", n->name);
  pk_kdouble(pk, "time", (double)ts.tv_sec + (double)ts.tv_nsec / 1e9);
  pk_kuint(pk, "incarnation", n->incarnation);
  pk_str(pk, "hubs");
  msgpack_pack_array(pk, nhubs);
  for (size_t i = 0; i < nhubs; i++) {
    const grove_hub_info *h = &hubs[i];
    msgpack_pack_map(pk, 8);
    pk_kuint(pk, "index", h->index);
    pk_kuint(pk, "greenlets", h->greenlets);
    pk_kuint(pk, "runq", h->runq);
    pk_kdouble(pk, "lag_ms", h->loop_lag_ms);
    pk_kuint(pk, "actors", h->actors);
    pk_kuint(pk, "messages", h->messages);
    pk_kuint(pk, "dead_letters", h->dead_letters);
    pk_kuint(pk, "restarts", h->restarts);
  }
  pk_kuint(pk, "actors_total", atotal);
  pk_str(pk, "actors");
  msgpack_pack_array(pk, na);
  for (size_t i = 0; i < na; i++) {
    const grove_actor_info *a = &actors[i];
    msgpack_pack_map(pk, 8);
    pk_kstr(pk, "name", a->name);
    pk_kstr(pk, "class", a->cls);
    pk_kuint(pk, "hub", a->hub);
    pk_kuint(pk, "inbox", a->inbox);
    pk_kuint(pk, "inbox_max", a->inbox_max);
    pk_kuint(pk, "received", a->received);
    pk_kstr(pk, "state", grove_actor_state_name(a->state));
    pk_kuint(pk, "id", a->ref.id);
  }
  pk_kuint(pk, "greenlets_total", gtotal);
  pk_str(pk, "greenlets");
  msgpack_pack_array(pk, ng);
  for (size_t i = 0; i < ng; i++) {
    const grove_greenlet_info *g = &gls[i];
    msgpack_pack_map(pk, 4);
    pk_kstr(pk, "name", g->name);
    pk_kuint(pk, "hub", g->hub);
    pk_kstr(pk, "state", grove_greenlet_state_name(g->state));
    pk_kstr(pk, "waiting", g->waiting);
  }
  pk_str(pk, "peers");
  msgpack_pack_array(pk, np);
  for (size_t i = 0; i < np; i++) {
    const grove_peer_info *p = &peers[i];
    msgpack_pack_map(pk, 8);
    pk_kstr(pk, "name", p->name);
    pk_kstr(pk, "endpoint", p->endpoint);
    pk_kstr(pk, "state", grove_peer_state_name(p->state));
    pk_kuint(pk, "incarnation", p->incarnation);
    pk_kuint(pk, "sent", p->sent);
    pk_kuint(pk, "received", p->received);
    pk_kuint(pk, "dropped", p->dropped);
    pk_kdouble(pk, "rtt_ms", p->rtt_ms);
  }
  pk_kuint(pk, "dead_letters", dead);
  free(hubs);
  free(actors);
  free(gls);
  free(peers);
  return 0;
}

/* A request's limits: nil (or no body) for the defaults, or a map whose
 * "max_actors" / "max_greenlets" are unsigned integers (other keys are
 * ignored, for requests of later versions). GROVE_EINVAL otherwise. */
static int request_limits(grove_msg *m, size_t *max_actors, size_t *max_greenlets) {
  *max_actors = DEFAULT_MAX_ACTORS;
  *max_greenlets = DEFAULT_MAX_GREENLETS;
  size_t len = 0;
  grove_msg_body(m, &len);
  if (len == 0)
    return 0;
  if (grove_msg_count(m) != 1)
    return GROVE_EINVAL;
  msgpack_object o;
  if (grove_msg_get(m, 0, &o) != 0)
    return GROVE_EINVAL;
  if (o.type == MSGPACK_OBJECT_NIL)
    return 0;
  if (o.type != MSGPACK_OBJECT_MAP)
    return GROVE_EINVAL;
  const char *keys[2] = {"max_actors", "max_greenlets"};
  size_t *vals[2] = {max_actors, max_greenlets};
  for (int k = 0; k < 2; k++) {
    msgpack_object v;
    int rc = grove_obj_key(&o, keys[k], &v);
    if (rc == GROVE_ENOENT)
      continue;
    uint64_t u;
    if (rc != 0 || grove_obj_uint(&v, &u) != 0)
      return GROVE_EINVAL;
    *vals[k] = u > LIMIT_MAX ? LIMIT_MAX : (size_t)u;
  }
  return 0;
}

static int service_receive(grove_actor *self, grove_msg *m) {
  (void)self;
  grove__node *n = grove__node_current();
  if (!grove_msg_is_call(m)) {
    if (n)
      n->stats.introspect_bad++; /* nobody to answer: dropped, counted */
    return 0;
  }
  size_t max_actors, max_greenlets;
  if (!n || !grove_msg_is(m, "snapshot") || request_limits(m, &max_actors, &max_greenlets)) {
    if (n)
      n->stats.introspect_bad++;
    grove_reply_error(m, n ? GROVE_EINVAL : GROVE_ENOENT);
    return 0;
  }
  grove_msg *r = grove_msg_new("snapshot");
  if (!r) {
    grove_reply_error(m, GROVE_ENOMEM);
    return 0;
  }
  int rc = snapshot_pack(n, grove_msg_packer(r), max_actors, max_greenlets);
  if (rc) {
    grove_msg_free(r);
    grove_reply_error(m, rc);
    return rc == GROVE_ECANCELED ? GROVE_STOP : 0; /* killed: it is being stopped */
  }
  grove_reply(m, r);
  return 0;
}

static const grove_actor_class service_class = {
    .name = "grove.introspect",
    .size = sizeof(grove_actor),
    .receive = service_receive,
};

static int introspect_start(grove__node *n) {
  if (!grove_ref_is_null(n->introspect))
    return GROVE_EEXIST;
  if (n->curve && !n->zap) {
    /* Connections made from now on carry their key (zap.c). */
    int rc = grove__zap_start(n, NULL);
    if (rc) {
      grove__zap_stop(n);
      if (n->zap)
        zmq_close(n->zap);
      n->zap = NULL;
      return rc;
    }
  }
  grove_actor_opts o = {.name = "grove.introspect"};
  grove_ref ref;
  int rc = grove_actor_spawn_ex(&service_class, NULL, &o, &ref);
  if (rc)
    return rc;
  n->introspect = ref;
  grove__observe_hold(1);
  return 0;
}

int grove_introspect_start(void) {
  grove_hub *h = grove__node_elsewhere();
  if (GROVE__UNLIKELY(h != NULL))
    return introspect_elsewhere(h, 1);
  grove__node *n = grove__node_current();
  return n ? introspect_start(n) : GROVE_ENOENT;
}

static int introspect_stop(grove__node *n) {
  if (grove_ref_is_null(n->introspect))
    return GROVE_ENOENT;
  grove_ref ref = n->introspect;
  n->introspect = GROVE_REF_NULL;
  grove_actor_exit(ref, GROVE_EXIT_KILLED);
  /* Gone before this returns (a node's stop is followed by the hub's
   * close, which refuses while an actor lives), unless the caller cannot
   * wait (the hub's own context): then it ends on the hub's next turn. */
  grove_actor_wait(ref, NULL, 2.0);
  grove__observe_hold(-1);
  return 0;
}

int grove_introspect_stop(void) {
  grove_hub *h = grove__node_elsewhere();
  if (GROVE__UNLIKELY(h != NULL))
    return introspect_elsewhere(h, 0);
  grove__node *n = grove__node_current();
  return n ? introspect_stop(n) : GROVE_ENOENT;
}

/* On the node's hub, in its context: the stop does not wait there for the
 * actor's end (it ends on that hub's next turn). */
static void *introspect_there(size_t index, size_t start) {
  (void)index;
  int *rc = malloc(sizeof *rc);
  grove__node *n = grove__node_current();
  if (rc)
    *rc = !n ? GROVE_ENOENT : start ? introspect_start(n) : introspect_stop(n);
  return rc;
}

/* ---- what the node's options start ------------------------------------------------------------
 */

/* "host:port", "[v6]:port" */
static int parse_endpoint(const char *ep, char *host, size_t cap, int *port) {
  const char *colon = strrchr(ep, ':');
  if (!colon || colon == ep)
    return GROVE_EINVAL;
  const char *h = ep;
  size_t hl = (size_t)(colon - ep);
  if (h[0] == '[' && hl >= 2 && h[hl - 1] == ']') {
    h++;
    hl -= 2;
  }
  if (hl == 0 || hl >= cap)
    return GROVE_EINVAL;
  char *end;
  long p = strtol(colon + 1, &end, 10);
  if (*end || end == colon + 1 || p < 0 || p > 65535)
    return GROVE_EINVAL;
  memcpy(host, h, hl);
  host[hl] = 0;
  *port = (int)p;
  return 0;
}

int grove__observe_node_start(grove__node *n) {
  int rc = keys_copy(n, n->opts.introspect_keys);
  n->opts.introspect_keys = NULL; /* the caller's: copied */
  if (rc)
    return rc;
  if (n->opts.introspect && (rc = introspect_start(n)) != 0)
    return rc;
  if (n->opts.metrics_endpoint) {
    char host[256];
    int port;
    rc = parse_endpoint(n->opts.metrics_endpoint, host, sizeof host, &port);
    n->opts.metrics_endpoint = NULL;
    if (!rc)
      rc = grove_metrics_start(host, port, &n->metrics);
    if (rc)
      return rc;
  }
  return 0;
}

void grove__observe_node_stop(grove__node *n) {
  if (!grove_ref_is_null(n->introspect))
    introspect_stop(n);
  keys_free(n);
  if (n->metrics) {
    grove_metrics *m = n->metrics;
    n->metrics = NULL;
    grove_metrics_stop(m);
  }
}
