/* transport/peer.c - a node's peers: the table, handshakes, heartbeats,
 * connecting, node monitors, and what a peer going down or up sets off.
 *
 * Design notes: a peer is known by name (its routing id) and by id (the
 * FNV-1a hash of its name, the node field of its refs). It is up from its
 * HELLO or WELCOME until its BYE, a heartbeat timeout or, in a cluster, its
 * process's exit. Going down fails what waits on it: calls, senders,
 * monitors of its actors (reason noconnection), links, node monitors; and
 * it forgets what the peer's actors held here (their monitors, their
 * unanswered calls): the peer's side fires those.
 *
 * Sessions. Our incarnation for a peer is the node's plus a per-peer
 * session number, bumped whenever we take the peer for down ourselves. A
 * hello with another incarnation than the one recorded for a peer that is
 * up means a new session: the peer restarted, or took us for down while we
 * did not notice (we were frozen, or cut off one way). We then take it down
 * too - its monitors and links fire here once - without bumping (it knows),
 * and bring the new session up. So either side's down is seen by both,
 * nothing of an ended session is resumed, and (with the actor layer
 * ignoring DOWNs and link EXITs that find nothing) nothing fires twice.
 *
 * Connections. Our connection to a peer has a routing id of our own (a NUL
 * byte, 'g', 16 random bytes: out_id), never the peer's name: libzmq
 * aborts when ZMQ_CONNECT_ROUTING_ID names a routing id that another
 * connection holds (both nodes connecting at once), and a name-keyed pipe
 * of ours could be taken over (ZMQ_ROUTER_HANDOVER) by any stranger with
 * that name. A peer is thus reached on its own connection (its name) or on
 * ours (out_id); a session runs on one of them per direction (`route`,
 * fixed when it comes up: the pipe its hello came on, or the greater name's
 * connection when both have answered), which keeps the pair's order. A
 * connection whose pipe the other side lost (a stranger took our name
 * there and left) is not read there any more: a node that connected to a
 * peer that stays silent for twice the heartbeat timeout connects again,
 * afresh (dial).
 */
#include "transport_internal.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>
#include <zmq.h>

/* ---- peers ----------------------------------------------------------------------------- */

grove__peer *grove__peer_by_id(grove__node *n, uint32_t id) {
  if (n->last_peer && n->last_peer->id == id)
    return n->last_peer;
  for (size_t i = 0; i < n->npeers; i++)
    if (n->peers[i]->id == id)
      return n->last_peer = n->peers[i];
  return NULL;
}

grove__peer *grove__peer_by_name(grove__node *n, const char *name, size_t len) {
  for (size_t i = 0; i < n->npeers; i++) {
    grove__peer *p = n->peers[i];
    if (p->name_len == len && memcmp(p->name, name, len) == 0)
      return p;
  }
  return NULL;
}

grove__peer *grove__peer_by_ident(grove__node *n, const char *ident, size_t len) {
  if (len == GROVE__OUT_ID_LEN && ident[0] == 0) {
    for (size_t i = 0; i < n->npeers; i++) {
      grove__peer *p = n->peers[i];
      if (p->we_connected && memcmp(p->out_id, ident, len) == 0)
        return p;
    }
    return NULL;
  }
  return grove__peer_by_name(n, ident, len);
}

grove__peer *grove__peer_add(grove__node *n, const char *name, size_t len) {
  if (len == 0 || len > GROVE__NAME_MAX || memchr(name, 0, len))
    return NULL;
  if (grove__grow((void **)&n->peers, &n->cappeers, n->npeers, sizeof *n->peers, 8))
    return NULL;
  grove__peer *p = calloc(1, sizeof *p);
  if (!p)
    return NULL;
  memcpy(p->name, name, len);
  p->name[len] = 0;
  p->name_len = len;
  p->id = grove__fnv1a(name, len);
  msgpack_sbuffer_init(&p->out);
  msgpack_packer_init(&p->pk, &p->out, msgpack_sbuffer_write);
  grove__list_init(&p->waiters);
  grove__list_init(&p->linkq.waiters);
  p->sealed_tail = &p->sealed;
  p->window = GROVE__WINDOW_DEFAULT;
  p->state = GROVE__P_NEW;
  p->max_message = n->opts.max_message;
  p->batch_max = n->batch_max;
  p->rtt_ns = -1;
  n->peers[n->npeers++] = p;
  return p;
}

void grove__peer_free(grove__peer *p) {
  grove__peer_drop_output(p);
  grove__flow_free(p);
  msgpack_sbuffer_destroy(&p->out);
  free(p->endpoint);
  free(p->dialled);
  free(p->watchers);
  free(p->links);
  free(p->monitors);
  free(p);
}

/* ---- node down / up -------------------------------------------------------------------------- */

/* Tell the actors that monitor this node; an actor that has ended since
 * is forgotten (no dead letter). */
static void notify_watchers(grove__peer *p, const char *tag) {
  for (size_t i = 0; i < p->nwatchers;) {
    if (grove__actor_gone(p->watchers[i])) {
      p->watchers[i] = p->watchers[--p->nwatchers];
      continue;
    }
    grove_msg *m = grove_msg_new(tag);
    if (m) {
      grove_msg_pack_str(m, p->name);
      grove__actor_deliver(p->watchers[i], m);
    }
    i++;
  }
}

/* p goes down. `told`: it told us so (a hello of a new session): it knows,
 * and our session with it stays; otherwise (a timeout, its goodbye, its
 * process's end, our stop) our next hello carries a new incarnation, so
 * that a peer that did not see this (it was frozen, or cut off one way)
 * learns it and takes us down in turn (peer_up): both sides fire their
 * monitors and links once, and neither resumes a session the other ended. */
static void peer_down_ex(grove__node *n, grove__peer *p, const char *why, int told) {
  if (p->state != GROVE__P_UP)
    return;
  p->state = GROVE__P_DOWN;
  grove__remote_peer_up(p->id, false); /* the other hubs' proxies */
  n->stats.nodes_down++;
  if (!told)
    p->session++;
  p->route_len = 0;
  p->seen_own = p->seen_out = 0;
  p->redial_at = grove__now() + 2 * (uint64_t)(n->opts.heartbeat_timeout * 1e9);
  /* Buffered envelopes cannot be delivered any more. */
  size_t lost = p->out_msgs; /* messages: control envelopes are not counted */
  for (grove__frame *f = p->sealed; f; f = f->next)
    lost += f->msgs;
  n->stats.dropped_unroutable += lost;
  /* What ZeroMQ took and the peer did not confirm (its CREDITs) may have
   * arrived, or may yet (then the peer delivers it, or drops and counts it
   * if it took us for down), or be lost with the connection (a redial, a
   * connection reset, the process's end): the sender cannot tell, so it
   * counts it, apart. Nothing accepted goes uncounted. */
  uint64_t unconfirmed = grove__ledger_unconfirmed(p);
  n->stats.unconfirmed += unconfirmed;
  p->msgs_dropped += lost + unconfirmed;
  p->ping_id = 0; /* its answer would come in another session */
  /* An orderly stop (ours, or its goodbye) is not news; a loss is. One
   * line, in the peer's own log slot: another peer's news does not hide it. */
  int orderly = strcmp(why, "this node stopped") == 0 || strcmp(why, "it stopped") == 0;
  if (!orderly || lost) {
    char dropped[128] = "";
    if (lost || unconfirmed)
      snprintf(dropped, sizeof dropped,
               ", %zu message(s) to it dropped, %llu sent and not confirmed (may be lost)", lost,
               (unsigned long long)unconfirmed);
    grove__node_log_ev(n, p, GROVE_LOG_WARN, GROVE_LOG_NODE_DOWN, lost, "node %s is down (%s)%s",
                       p->name, why, dropped);
  } else {
    grove__node_log_ev(n, p, GROVE_LOG_DEBUG, GROVE_LOG_NODE_DOWN, 0, "node %s is down (%s)",
                       p->name, why);
  }
  grove__peer_drop_output(p);
  /* Senders waiting for credit fail; the flow state starts afresh. */
  grove__flow_reset(n, p, GROVE_EHOSTUNREACH);
  /* Calls waiting for it fail. */
  grove__calls_fail_node(n, p->id);
  /* Monitors of its actors fire, links propagate. */
  size_t nm = p->nmonitors;
  grove__rmon *mons = p->monitors;
  p->monitors = NULL;
  p->nmonitors = p->capmonitors = 0;
  for (size_t i = 0; i < nm; i++)
    grove__actor_down(mons[i].id, mons[i].watcher, mons[i].target, GROVE_EXIT_NOCONNECTION);
  free(mons);
  size_t nl = p->nlinks;
  grove__rlink *links = p->links;
  p->links = NULL;
  p->nlinks = p->caplinks = 0;
  for (size_t i = 0; i < nl; i++)
    grove__actor_exit_remote(links[i].local, links[i].remote, GROVE_EXIT_NOCONNECTION, 0);
  free(links);
  /* What its actors held on ours goes too: its node fires those itself. */
  grove__actor_forget_node(p->id);
  grove__rcalls_forget_peer(n, p->id);
  notify_watchers(p, GROVE_TAG_NODEDOWN);
  grove__members_peer_down(n, p, why);
  grove_event_set(n->changed);
  grove__cluster_peer_down(n, p->name, why);
}

void grove__peer_down(grove__node *n, grove__peer *p, const char *why) {
  peer_down_ex(n, p, why, 0);
}

void grove__peer_up(grove__node *n, grove__peer *p, const grove__env *e, const char *ident,
                    size_t ilen) {
  int on_ours = ilen == GROVE__OUT_ID_LEN && ident[0] == 0;
  if (on_ours)
    p->seen_out = 1;
  else
    p->seen_own = 1;
  if (p->state == GROVE__P_UP && p->incarnation != e->id) {
    /* A new session: it restarted before we noticed it was gone, or it
     * took us for down (its hello says so by its new incarnation). */
    peer_down_ex(n, p, "a new incarnation: it restarted or took this node for down", 1);
    if (on_ours)
      p->seen_out = 1;
    else
      p->seen_own = 1;
  } else if (p->state == GROVE__P_UP && e->kind == GROVE__W_HELLO) {
    /* A HELLO from a peer that is up: it has lost its state for us (it
     * took us for down, or its handshake is still going on): the flow
     * state starts afresh on both sides. */
    grove__flow_reset(n, p, 0);
  }
  if (e->endpoint && (!p->endpoint || strncmp(p->endpoint, e->endpoint, e->endpoint_len) ||
                      strlen(p->endpoint) != e->endpoint_len)) {
    char *ep = strndup(e->endpoint, e->endpoint_len);
    if (ep) {
      free(p->endpoint);
      p->endpoint = ep;
    }
  }
  p->incarnation = e->id;
  /* Frames to it stay within what it accepts, in flight within the window
   * it grants. */
  p->window = e->window ? e->window : GROVE__WINDOW_DEFAULT;
  p->max_message = e->max_message ? e->max_message : n->opts.max_message;
  p->batch_max = p->max_message / 2 < n->batch_max ? p->max_message / 2 : n->batch_max;
  p->last_recv = grove__now();
  if (p->state == GROVE__P_UP)
    return;
  /* The session's pipe, fixed until it ends (one pipe per direction keeps
   * the pair's order). When both nodes connected to each other and both
   * connections have answered, the one the greater name opened (Erlang's
   * tie-break); otherwise the one this hello came on. */
  int ours = on_ours;
  if (p->we_connected && p->seen_out && p->seen_own)
    ours = strcmp(n->name, p->name) > 0;
  if (ours) {
    memcpy(p->route, p->out_id, GROVE__OUT_ID_LEN);
    p->route_len = GROVE__OUT_ID_LEN;
  } else {
    memcpy(p->route, p->name, p->name_len);
    p->route_len = p->name_len;
  }
  p->state = GROVE__P_UP;
  grove__remote_peer_up(p->id, true);
  n->stats.nodes_up++;
  grove__node_log_ev(n, p, GROVE_LOG_DEBUG, GROVE_LOG_NODE_UP, 0, "node %s is up", p->name);
  grove__wake_all(&p->waiters, 0);
  notify_watchers(p, GROVE_TAG_NODEUP);
  grove__members_peer_up(n, p);
  grove_event_set(n->changed);
  if (p->out.size || p->sealed)
    grove__node_schedule_flush(n);
}

void grove__node_peer_lost(const char *name) {
  grove__node *n = grove__node_current();
  grove__peer *p = n && name ? grove__peer_by_name(n, name, strlen(name)) : NULL;
  if (!p)
    return;
  /* What it sent before it died is in our socket: deliver that first. */
  grove__node_drain(n);
  grove__peer_down(n, p, "process exited");
}

static int dial(grove__node *n, grove__peer *p, int again);

/* ---- heartbeats --------------------------------------------------------------------------------
 */

grove_greenlet *grove__node_tick_cb(grove__cb *cb) {
  grove__node *n = grove__container_of(cb, grove__node, tick_cb);
  n->tick_scheduled = 0;
  /* What arrived while this process was busy counts: read it before
   * judging anybody silent (a drain within the hub's turn). If frames are
   * still waiting after it, this node is behind, not its peers: nobody is
   * judged this tick, unless it has been silent for twice the timeout. */
  int behind = 0;
  if (n->sock) {
    grove__node_drain(n);
    int ev = 0;
    size_t sz = sizeof ev;
    behind = n->sock && zmq_getsockopt(n->sock, ZMQ_EVENTS, &ev, &sz) == 0 && (ev & ZMQ_POLLIN);
  }
  uint64_t t = grove__now();
  uint64_t interval = (uint64_t)(n->opts.heartbeat_interval * 1e9);
  uint64_t timeout = (uint64_t)(n->opts.heartbeat_timeout * 1e9);
  for (size_t i = 0; i < n->npeers; i++) {
    grove__peer *p = n->peers[i];
    if (p->state == GROVE__P_UP) {
      if (t - p->last_recv > (behind ? 2 * timeout : timeout)) {
        grove__peer_down(n, p, "heartbeat timeout");
        continue;
      }
      if (GROVE__UNLIKELY(grove__observing()))
        grove__ping_tick(n, p, t);
      if (t - p->last_sent >= interval / 2 && p->out.size == 0 && !p->sealed) {
        grove__w_simple(grove__node_begin_env(n, p, 8), GROVE__W_HEARTBEAT);
        p->out_envs--; /* not a message (see peer_down) */
      }
    } else if (p->we_connected) {
      /* Connecting, or down: ask again (ZeroMQ reconnects underneath). A
       * peer that has not answered for twice the timeout may have lost our
       * connection's pipe on its side (another connection took our name
       * there, ZMQ_ROUTER_HANDOVER, and left): connect again, afresh. */
      if (t > p->redial_at)
        dial(n, p, 1);
      grove__peer_send_hello(n, p, GROVE__W_HELLO, NULL, 0);
    }
  }
  grove__members_tick(n);
  return NULL;
}

void grove__node_hb_timer_cb(uv_timer_t *t) {
  grove__node *n = t->data;
  if (!n->tick_scheduled) {
    n->tick_scheduled = 1;
    grove__schedule(n->hub, &n->tick_cb);
  }
}

/* ---- connecting ---------------------------------------------------------------------------------
 */

/* Connect to p->dialled (again, after zmq_disconnect, when `again`). The
 * connection's routing id on our socket is ours, random, and starts with a
 * NUL byte: no node name can be it, and no peer can claim it in its own
 * handshake (it cannot guess it). With the peer's name instead
 * (ZMQ_CONNECT_ROUTING_ID = its name) libzmq aborts (router.cpp's
 * `!has_out_pipe (routing_id)`) when the peer's own connection to us
 * already holds that name - both nodes connecting at once, or a peer that
 * connected to us first. */
int grove__zdial(grove__node *n, const char *endpoint, const char *curve_key,
                 char id[GROVE__OUT_ID_LEN]) {
  id[0] = 0;
  id[1] = 'g';
  if (getrandom(id + 2, GROVE__OUT_ID_LEN - 2, 0) != (ssize_t)(GROVE__OUT_ID_LEN - 2)) {
    static uint64_t dials;
    uint64_t a = grove__now() ^ n->incarnation, b = (uint64_t)(uintptr_t)endpoint ^ ++dials;
    memcpy(id + 2, &a, 8);
    memcpy(id + 10, &b, 8);
  }
  int rc = grove__zmq_set(n->sock, ZMQ_CONNECT_ROUTING_ID, id, GROVE__OUT_ID_LEN);
  if (rc == 0 && n->curve &&
      (rc = grove__zmq_set(n->sock, ZMQ_CURVE_SERVERKEY, curve_key, 40)) == 0 &&
      (rc = grove__zmq_set(n->sock, ZMQ_CURVE_PUBLICKEY, n->curve_public, 40)) == 0)
    rc = grove__zmq_set(n->sock, ZMQ_CURVE_SECRETKEY, n->curve_secret, 40);
  if (rc == 0 && zmq_connect(n->sock, endpoint) != 0)
    rc = grove__zmq_err();
  if (n->curve) /* back to the server role for later binds/accepts */
    grove__zmq_set_int(n->sock, ZMQ_CURVE_SERVER, 1);
  return rc;
}

static int dial(grove__node *n, grove__peer *p, int again) {
  if (again) {
    zmq_disconnect(n->sock, p->dialled); /* what it still held for the old one is lost */
    p->we_connected = 0;
    grove__node_log(n, p, "connecting to %s again (%s): no answer", p->name, p->dialled);
  }
  char id[GROVE__OUT_ID_LEN];
  int rc = grove__zdial(n, p->dialled, p->curve_key, id);
  if (rc)
    return rc;
  memcpy(p->out_id, id, sizeof id);
  p->we_connected = 1;
  p->seen_out = 0;
  p->redial_at = grove__now() + 2 * (uint64_t)(n->opts.heartbeat_timeout * 1e9);
  return 0;
}

int grove__peer_dial(grove__node *n, const char *name, size_t len, const char *endpoint,
                     const char *server_key, grove__peer **out) {
  grove__peer *p = grove__peer_by_name(n, name, len);
  *out = p;
  if (p && p->state == GROVE__P_UP)
    return 0;
  if (!p) {
    if (grove__peer_by_id(n, grove__fnv1a(name, len)))
      return GROVE_EEXIST; /* another name with the same id */
    if (!(p = grove__peer_add(n, name, len)))
      return GROVE_ENOMEM;
    *out = p;
  }
  if (!p->we_connected) {
    const char *key = server_key ? server_key : n->curve_server_key[0] ? n->curve_server_key : NULL;
    if (n->curve && (!key || strlen(key) != 40))
      return GROVE_EINVAL;
    char *ep = strdup(endpoint);
    if (!ep)
      return GROVE_ENOMEM;
    free(p->dialled);
    p->dialled = ep;
    snprintf(p->curve_key, sizeof p->curve_key, "%s", n->curve ? key : "");
    int rc = dial(n, p, 0);
    if (rc)
      return rc;
    free(p->endpoint);
    p->endpoint = strdup(endpoint);
    if (p->state == GROVE__P_NEW)
      p->state = GROVE__P_CONNECTING;
  }
  /* Say hello until it answers: the connection is not usable before
   * ZeroMQ's own handshake is done, and a hello sent too early is refused
   * (EHOSTUNREACH). */
  grove__peer_send_hello(n, p, GROVE__W_HELLO, NULL, 0);
  return 0;
}

int grove__peer_adopt_dial(grove__node *n, grove__peer *p, const char out_id[GROVE__OUT_ID_LEN],
                           const char *endpoint) {
  if (p->we_connected)
    return GROVE_EEXIST;
  char *ep = strdup(endpoint);
  if (!ep)
    return GROVE_ENOMEM;
  free(p->dialled);
  p->dialled = ep;
  memcpy(p->out_id, out_id, GROVE__OUT_ID_LEN);
  snprintf(p->curve_key, sizeof p->curve_key, "%s", n->curve ? n->curve_server_key : "");
  p->we_connected = 1;
  p->seen_out = 0;
  p->redial_at = grove__now() + 2 * (uint64_t)(n->opts.heartbeat_timeout * 1e9);
  if (!p->endpoint)
    p->endpoint = strdup(endpoint);
  if (p->state == GROVE__P_NEW)
    p->state = GROVE__P_CONNECTING;
  return 0;
}

int grove__peer_forget(grove__node *n, grove__peer *p) {
  if (p->state == GROVE__P_UP)
    return GROVE_EBUSY;
  if (p->we_connected) {
    zmq_disconnect(n->sock, p->dialled);
    p->we_connected = 0;
  }
  /* Kept while anybody still holds it: greenlets that waited for it to
   * come up, waiting for its credit, node monitors, monitors and links of
   * its actors, or what was sent to it before its handshake. */
  if (p->pinned || !grove__list_empty(&p->waiters) || !grove__flowq_idle(&p->linkq) ||
      p->targets.n || p->nwatchers || p->nmonitors || p->nlinks || p->out.size || p->sealed)
    return GROVE_EBUSY;
  for (size_t i = 0; i < n->npeers; i++) {
    if (n->peers[i] == p) {
      memmove(&n->peers[i], &n->peers[i + 1], (n->npeers - i - 1) * sizeof *n->peers);
      n->npeers--;
      break;
    }
  }
  if (n->last_peer == p)
    n->last_peer = NULL;
  grove__peer_free(p);
  return 0;
}

static int wait_peer_up(grove__node *n, grove__peer *p, double timeout) {
  /* A woken waiter runs later and still holds p: membership must not free
   * it meanwhile (grove__peer_forget). */
  p->pinned = 1;
  uint64_t deadline = grove__deadline(n->hub, timeout);
  while (p->state != GROVE__P_UP) {
    int rc = grove__wait_until(n->hub, &p->waiters, deadline, "node connect", p);
    if (rc)
      return rc;
    if (grove__node_current() != n)
      return GROVE_EHOSTUNREACH;
  }
  return 0;
}

int grove_node_connect_ex(const char *peer_name, const char *endpoint, const char *server_key,
                          double timeout) {
  grove_hub *h = grove__node_elsewhere();
  if (GROVE__UNLIKELY(h != NULL))
    return !peer_name || !endpoint || timeout < 0
               ? GROVE_EINVAL
               : grove__fwd_call(h, GROVE__FWD_CONNECT, peer_name, endpoint, server_key, timeout,
                                 NULL);
  grove__node *n = grove__node_current();
  if (!n)
    return GROVE_ENOENT;
  if (!peer_name || !*peer_name || strlen(peer_name) > GROVE__NAME_MAX || !endpoint ||
      !strcmp(peer_name, n->name))
    return GROVE_EINVAL;
  int rc = 0;
  if (n->clustered)
    rc = grove__open_check("connect to", endpoint, n->curve, n->opts.allow_open);
  else
    grove__open_warn(n, "connecting to", endpoint);
  if (rc)
    return rc;
  uint64_t deadline;
  rc = grove__begin_wait(n->hub, timeout, &deadline);
  if (rc)
    return rc;
  grove__peer *p;
  rc = grove__peer_dial(n, peer_name, strlen(peer_name), endpoint, server_key, &p);
  if (rc || p->state == GROVE__P_UP)
    return rc;
  p->pinned = 1; /* the user's: membership never frees it */
  if (timeout == 0)
    return 0;
  double step = 0.002;
  while (p->state != GROVE__P_UP) {
    double left = grove__seconds_left(deadline);
    if (left == 0)
      return GROVE_ETIMEDOUT;
    rc = wait_peer_up(n, p, left >= 0 && left < step ? left : step);
    if (rc == 0)
      break;
    if (rc != GROVE_ETIMEDOUT)
      return rc;
    if (grove__node_current() != n)
      return GROVE_EHOSTUNREACH;
    grove__peer_send_hello(n, p, GROVE__W_HELLO, NULL, 0);
    step = step < 0.1 ? step * 2 : 0.1;
  }
  return 0;
}

int grove_node_connect(const char *peer_name, const char *endpoint) {
  grove_hub *h = grove__node_elsewhere();
  if (GROVE__UNLIKELY(h != NULL))
    return !peer_name || !endpoint
               ? GROVE_EINVAL
               : grove__fwd_call(h, GROVE__FWD_CONNECT, peer_name, endpoint, NULL, -1, NULL);
  grove__node *n = grove__node_current();
  if (!n)
    return GROVE_ENOENT;
  return grove_node_connect_ex(peer_name, endpoint, NULL, n->opts.connect_timeout);
}

bool grove_node_is_up(const char *node) {
  grove_hub *h = grove__node_elsewhere();
  if (GROVE__UNLIKELY(h != NULL))
    return node && grove__fwd_call(h, GROVE__FWD_IS_UP, node, NULL, NULL, 0, NULL) == 1;
  grove__node *n = grove__node_current();
  grove__peer *p = n && node ? grove__peer_by_name(n, node, strlen(node)) : NULL;
  return p && p->state == GROVE__P_UP;
}

size_t grove_node_peers(char (*names)[64], size_t cap) {
  grove_hub *h = grove__node_elsewhere();
  if (GROVE__UNLIKELY(h != NULL)) {
    grove__fwd_out o = {.names = names, .cap = names ? cap : 0};
    return grove__fwd_call(h, GROVE__FWD_PEERS, NULL, NULL, NULL, 0, &o) == 0 ? o.n : 0;
  }
  grove__node *n = grove__node_current();
  size_t up = 0;
  for (size_t i = 0; n && i < n->npeers; i++) {
    const grove__peer *p = n->peers[i];
    if (!p || p->state != GROVE__P_UP)
      continue;
    if (names && up < cap)
      snprintf(names[up], sizeof names[up], "%s", p->name);
    up++;
  }
  return up;
}

int grove_node_wait_up(const char *node, double timeout) {
  grove_hub *h = grove__node_elsewhere();
  if (GROVE__UNLIKELY(h != NULL))
    return !node || isnan(timeout)
               ? GROVE_EINVAL
               : grove__fwd_call(h, GROVE__FWD_WAIT_UP, node, NULL, NULL, timeout, NULL);
  grove__node *n = grove__node_current();
  if (!n)
    return GROVE_ENOENT;
  if (!node)
    return GROVE_EINVAL;
  uint64_t deadline;
  int rc = grove__begin_wait(n->hub, timeout, &deadline);
  if (rc)
    return rc;
  for (;;) {
    grove__peer *p = grove__peer_by_name(n, node, strlen(node));
    if (p && p->state == GROVE__P_UP)
      return 0;
    if (p)
      return wait_peer_up(n, p, grove__seconds_left(deadline));
    /* Not known yet: wait for any change (a hello from it). */
    grove_event_clear(n->changed);
    rc = grove_event_wait(n->changed, grove__seconds_left(deadline));
    if (rc)
      return rc;
    if (grove__node_current() != n)
      return GROVE_EHOSTUNREACH;
  }
}

static int monitor_node_as(const char *node, grove_ref self);

int grove__monitor_node_as(const char *node, grove_ref self) {
  grove_hub *h = grove__node_elsewhere();
  if (GROVE__UNLIKELY(h != NULL)) {
    if (!node || grove_ref_is_null(self))
      return GROVE_EINVAL;
    grove__fwd_out o = {.ref = self};
    return grove__fwd_call(h, GROVE__FWD_MONITOR_NODE, node, NULL, NULL, 0, &o);
  }
  return monitor_node_as(node, self);
}

int grove_monitor_node(const char *node) { return grove__monitor_node_as(node, grove_self()); }

int grove__node_watch_to(grove_queue *q, uint64_t *id, int (*as)(const void *arg, grove_ref who),
                         const void *arg) {
  if (id)
    *id = 0;
  if (!grove__node_current() && !grove__node_elsewhere())
    return GROVE_ENOENT;
  if (!q)
    return GROVE_EINVAL;
  grove_ref proxy;
  uint64_t wid;
  int rc = grove__watch_new(q, 1, &proxy, &wid);
  if (rc)
    return rc;
  if ((rc = as(arg, proxy)) != 0) {
    grove__watch_cancel(wid);
    return rc;
  }
  if (id)
    *id = wid;
  return 0;
}

static int monitor_node_to_as(const void *node, grove_ref who) {
  return grove__monitor_node_as(node, who);
}

int grove_monitor_node_to(const char *node, grove_queue *q, uint64_t *id) {
  if (!node) {
    if (id)
      *id = 0;
    return grove__node_current() || grove__node_elsewhere() ? GROVE_EINVAL : GROVE_ENOENT;
  }
  return grove__node_watch_to(q, id, monitor_node_to_as, node);
}

static int monitor_node_as(const char *node, grove_ref self) {
  grove__node *n = grove__node_current();
  if (!n)
    return GROVE_ENOENT;
  if (!node || grove_ref_is_null(self))
    return GROVE_EINVAL;
  grove__peer *p = grove__peer_by_name(n, node, strlen(node));
  if (!p && !(p = grove__peer_add(n, node, strlen(node))))
    return GROVE_ENOMEM;
  if (grove__grow((void **)&p->watchers, &p->capwatchers, p->nwatchers, sizeof *p->watchers, 4))
    return GROVE_ENOMEM;
  p->watchers[p->nwatchers++] = self;
  return 0;
}

int grove_demonitor_node(const char *node) { return grove__demonitor_node_as(node, grove_self()); }

int grove__demonitor_node_as(const char *node, grove_ref self) {
  grove_hub *h = grove__node_elsewhere();
  if (GROVE__UNLIKELY(h != NULL)) {
    if (!node)
      return GROVE_ENOENT;
    grove__fwd_out o = {.ref = self};
    return grove__fwd_call(h, GROVE__FWD_DEMONITOR_NODE, node, NULL, NULL, 0, &o);
  }
  grove__node *n = grove__node_current();
  grove__peer *p = n && node ? grove__peer_by_name(n, node, strlen(node)) : NULL;
  if (!p)
    return GROVE_ENOENT;
  for (size_t i = 0; i < p->nwatchers; i++) {
    if (grove_ref_eq(p->watchers[i], self)) {
      p->watchers[i] = p->watchers[--p->nwatchers];
      return 0;
    }
  }
  return GROVE_ENOENT;
}
