/* transport/node.c - a node: the actor system of this hub, reachable over
 * ZeroMQ. This file starts and stops it (and stops it at process exit, after
 * a bounded linger, when the program did not); peer.c keeps its peers
 * (handshakes, heartbeats, up and down), out.c sends, dispatch.c receives.
 *
 * One ROUTER socket per node. Its routing id is the node's name, so a peer
 * that accepted our connection addresses us by name; our own connections
 * get routing ids of our own (peer.c: dial), so that no peer can take them
 * over and two nodes may connect to each other. ZMQ_ROUTER_MANDATORY turns "no such peer" into an
 * error (EHOSTUNREACH) instead of ZeroMQ's silent drop, and a full pipe into EAGAIN: nothing is
 * ever dropped without being counted.
 *
 * Driving ZeroMQ from libuv: ZMQ_FD is edge-triggered and only says "look
 * at ZMQ_EVENTS". The poll callback does no work itself: it schedules the
 * drain (a run-queue callback), which receives until EAGAIN (or a budget,
 * then reschedules itself), and every send re-checks ZMQ_EVENTS afterwards,
 * because a send can consume the edge a pending message would have raised.
 *
 * Batching: a send encodes its envelope onto the peer's output buffer and
 * schedules one flush callback; the flush hands each peer's buffer to
 * ZeroMQ as one frame. A greenlet that sends in a loop fills a batch; a
 * ping-pong pays one frame per message. When ZeroMQ pushes back (the peer's
 * high-water mark), the buffer stays and senders wait for room.
 *
 * Work that can wake greenlets (replies, node-down) runs from run-queue
 * callbacks, never from libuv callbacks, so wakes are queued, not resumed
 * in the middle of a pass over a peer's state.
 */
#include "transport_internal.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>
#include <zmq.h>

grove__node *grove__node_current(void) {
  return grove__layer_get(grove__hub_peek(), GROVE__LAYER_NODE);
}

/* ---- small helpers ------------------------------------------------------------------- */

static void node_logv(grove__node *n, grove__peer *p, int level, int kind, uint64_t count,
                      const char *fmt, va_list ap) {
  if (!grove_log_enabled((grove_log_level)level))
    return;
  /* Once per peer (or for the node) per interval: a flood of bad frames
   * must not become a flood of log lines. */
  uint64_t *last = p ? &p->log_at : &n->log_at;
  uint64_t t = grove__now();
  if (*last && t - *last < GROVE__LOG_INTERVAL_NS) {
    n->log_suppressed++;
    return;
  }
  *last = t;
  char line[512];
  int k = vsnprintf(line, sizeof line, fmt, ap);
  if (k > 0 && (size_t)k < sizeof line && n->log_suppressed)
    k += snprintf(line + k, sizeof line - (size_t)k, " (%llu similar messages suppressed)",
                  (unsigned long long)n->log_suppressed);
  if (k < 0)
    line[0] = 0;
  n->log_suppressed = 0;
  grove_log_event ev = {.level = (grove_log_level)level, .kind = (grove_log_kind)kind};
  ev.node = n->name;
  ev.peer = p ? p->name : NULL;
  ev.count = count;
  grove__log(&ev, "node %s: %s", n->name, line);
}

void grove__node_log(grove__node *n, grove__peer *p, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  node_logv(n, p, GROVE_LOG_WARN, GROVE_LOG_TEXT, 0, fmt, ap);
  va_end(ap);
}

void grove__node_log_ev(grove__node *n, grove__peer *p, int level, int kind, uint64_t count,
                        const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  node_logv(n, p, level, kind, count, fmt, ap);
  va_end(ap);
}

uint32_t grove_node_id(const char *name) { return name ? grove__fnv1a(name, strlen(name)) : 0; }

static void node_at_exit(void);
static pthread_once_t at_exit_once = PTHREAD_ONCE_INIT;
static void register_at_exit(void) { atexit(node_at_exit); }

/* ---- start / stop ------------------------------------------------------------------------------
 */

static void node_close_cb(uv_handle_t *h) {
  grove__node *n = h->data;
  if (--n->closing == 0)
    free(n);
}

static void node_destroy(grove__node *n) {
  for (size_t i = 0; i < n->npeers; i++)
    grove__peer_free(n->peers[i]);
  free(n->peers);
  grove__calls_free(n);
  grove__rcalls_free(n);
  grove__zap_stop(n);
  if (n->zap)
    zmq_close(n->zap);
  if (n->sock)
    zmq_close(n->sock);
  n->sock = NULL;
  n->zap = NULL;
  if (n->zctx)
    zmq_ctx_term(n->zctx);
  if (n->changed)
    grove_event_free(n->changed);
  n->closing = 3;
  uv_close((uv_handle_t *)&n->poll, node_close_cb);
  uv_close((uv_handle_t *)&n->hb_timer, node_close_cb);
  uv_close((uv_handle_t *)&n->retry_timer, node_close_cb);
}

int grove_node_start(const char *name, const char *endpoint, const grove_node_opts *opts) {
  if (!name || !*name || strlen(name) > GROVE__NAME_MAX || !endpoint || !*endpoint)
    return GROVE_EINVAL;
  if (grove__node_current() || grove__node_exists())
    return GROVE_EEXIST; /* one node per process, whichever hub started it */
  grove_hub *hub = grove__hub();
  if (!hub)
    return GROVE_ENOMEM;
  /* Keys from a file, then the rule (transport/security.c): no network
   * without CURVE unless allowed - both before anything is opened. */
  grove_node_opts o = opts ? *opts : (grove_node_opts){0};
  char kpub[41], ksec[41];
  int rc;
  if (o.curve_keyfile && !o.curve_public && !o.curve_secret) {
    if ((rc = grove_curve_keyfile_load(o.curve_keyfile, kpub, ksec)) != 0)
      return rc;
    o.curve_public = kpub;
    o.curve_secret = ksec;
    if (!o.curve_server_key)
      o.curve_server_key = kpub;
  }
  opts = &o;
  const int curve = o.curve_public && o.curve_secret;
  grove__node *n = calloc(1, sizeof *n);
  if (!n)
    return GROVE_ENOMEM;
  n->hub = hub;
  snprintf(n->name, sizeof n->name, "%s", name);
  n->id = grove_node_id(name);
  n->opts = o;
  /* Those point into the caller's memory or our stack: the node keeps
   * its own copies (n->curve_*), and nothing reads them later. */
  n->opts.curve_public = n->opts.curve_secret = n->opts.curve_server_key = NULL;
  n->opts.curve_keyfile = NULL;
  if (n->opts.heartbeat_interval <= 0 || isnan(n->opts.heartbeat_interval))
    n->opts.heartbeat_interval = 0.5;
  if (n->opts.heartbeat_timeout <= 0 || isnan(n->opts.heartbeat_timeout))
    n->opts.heartbeat_timeout = 2.5;
  if (n->opts.connect_timeout <= 0 || isnan(n->opts.connect_timeout))
    n->opts.connect_timeout = 5;
  if (n->opts.max_message == 0)
    n->opts.max_message = 16u << 20;
  if (n->opts.window == 0)
    n->opts.window = GROVE__WINDOW_DEFAULT;
  /* The high-water marks count frames: high enough that the window, in
   * bytes, binds first (a data frame is rarely below 64 bytes). */
  int hwm = n->opts.window / 64 > 1000
                ? (n->opts.window / 64 > INT32_MAX / 2 ? INT32_MAX / 2 : (int)(n->opts.window / 64))
                : 1000;
  if (n->opts.sndhwm <= 0)
    n->opts.sndhwm = hwm;
  if (n->opts.rcvhwm <= 0)
    n->opts.rcvhwm = hwm;
  /* A batch never makes a frame the peer would refuse (same max_message
   * on both sides is assumed: docs/transport.md). */
  n->batch_max =
      n->opts.max_message / 2 < GROVE__BATCH_MAX ? n->opts.max_message / 2 : GROVE__BATCH_MAX;
  rc = grove__members_init(n, opts); /* seeds, advertise: checked before anything opens */
  if (rc) {
    free(n);
    return rc;
  }
  /* Then the rule (well-formed endpoints only: a bad one is EINVAL), for a
   * cluster's node: one that joins through seeds, meshes, or was launched
   * (security.c). A plain node is warned once it is named (below). */
  n->clustered = (o.seeds && o.seeds[0]) || o.mesh || grove__cluster_joining;
  rc = 0;
  if (n->clustered)
    rc = grove__open_check("bind", endpoint, curve, o.allow_open);
  if (!rc && n->clustered)
    rc = grove__open_check("advertise", o.advertise, curve, o.allow_open);
  for (const char *const *sd = o.seeds; !rc && sd && *sd; sd++) {
    const char *at = strchr(*sd, '@'), *scheme = strstr(*sd, "://");
    rc = grove__open_check("join through", at && (!scheme || at < scheme) ? at + 1 : *sd, curve,
                           o.allow_open);
  }
  if (rc) {
    grove__members_stop(n);
    free(n);
    return rc;
  }
  if (getrandom(&n->incarnation, sizeof n->incarnation, 0) != sizeof n->incarnation)
    n->incarnation = grove__now() ^ (uint64_t)getpid() << 32;
  n->flush_cb.fn = grove__node_flush_cb;
  n->drain_cb.fn = grove__node_drain_cb;
  n->tick_cb.fn = grove__node_tick_cb;
  /* Refs to other nodes go through us from now on (undone on failure). */
  rc = grove__remote_install(&grove__node_remote_ops, n->id);
  if (rc) {
    grove__members_stop(n);
    free(n);
    return rc;
  }
  n->zctx = zmq_ctx_new();
  n->changed = grove_event_new();
  if (!n->zctx || !n->changed) {
    rc = GROVE_ENOMEM;
    goto fail;
  }
  zmq_ctx_set(n->zctx, ZMQ_BLOCKY, 0);
  /* The ZAP handler: for curve_allowed, and for the introspection service,
   * which must know each connection's key (zap.c). */
  if (curve && (opts->curve_allowed || opts->introspect) &&
      (rc = grove__zap_start(n, opts->curve_allowed)) != 0)
    goto fail;
  n->sock = zmq_socket(n->zctx, ZMQ_ROUTER);
  if (!n->sock) {
    rc = grove__zmq_err();
    goto fail;
  }
  if ((rc = grove__zmq_set(n->sock, ZMQ_ROUTING_ID, name, strlen(name))) ||
      (rc = grove__zmq_set_int(n->sock, ZMQ_ROUTER_MANDATORY, 1)) ||
      (rc = grove__zmq_set_int(n->sock, ZMQ_ROUTER_HANDOVER, 1)) ||
      (rc = grove__zmq_set_int(n->sock, ZMQ_SNDHWM, n->opts.sndhwm)) ||
      (rc = grove__zmq_set_int(n->sock, ZMQ_RCVHWM, n->opts.rcvhwm)) ||
      (rc = grove__zmq_set_int(n->sock, ZMQ_LINGER, 200)) ||
      (rc = grove__zmq_set_int(n->sock, ZMQ_RECONNECT_IVL, 50)) ||
      (rc = grove__zmq_set_int(n->sock, ZMQ_RECONNECT_IVL_MAX, 500)))
    goto fail;
  {
    int64_t maxmsg = (int64_t)n->opts.max_message + 1024;
    if ((rc = grove__zmq_set(n->sock, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg)))
      goto fail;
  }
  if (curve) {
    if (strlen(opts->curve_public) != 40 || strlen(opts->curve_secret) != 40) {
      rc = GROVE_EINVAL;
      goto fail;
    }
    if ((rc = grove__zmq_set_int(n->sock, ZMQ_CURVE_SERVER, 1)) ||
        (rc = grove__zmq_set(n->sock, ZMQ_CURVE_SECRETKEY, opts->curve_secret, 40)) ||
        (rc = grove__zmq_set(n->sock, ZMQ_ZAP_DOMAIN, "grove", 5)))
      goto fail;
    snprintf(n->curve_public, sizeof n->curve_public, "%s", opts->curve_public);
    snprintf(n->curve_secret, sizeof n->curve_secret, "%s", opts->curve_secret);
    explicit_bzero(ksec, sizeof ksec); /* a key file's: the node has its copy */
    if (opts->curve_server_key)
      snprintf(n->curve_server_key, sizeof n->curve_server_key, "%s", opts->curve_server_key);
    n->curve = 1;
  }
  if (zmq_bind(n->sock, endpoint) != 0) {
    rc = grove__zmq_err();
    goto fail;
  }
  size_t eplen = sizeof n->endpoint;
  if (zmq_getsockopt(n->sock, ZMQ_LAST_ENDPOINT, n->endpoint, &eplen) != 0)
    snprintf(n->endpoint, sizeof n->endpoint, "%s", endpoint);
  int fd;
  size_t fdlen = sizeof fd;
  if (zmq_getsockopt(n->sock, ZMQ_FD, &fd, &fdlen) != 0) {
    rc = grove__zmq_err();
    goto fail;
  }
  if ((rc = uv_poll_init(grove__hub_loop(hub), &n->poll, fd)) != 0)
    goto fail;
  n->poll.data = n;
  uv_poll_start(&n->poll, UV_READABLE, grove__node_poll_cb);
  uv_timer_init(grove__hub_loop(hub), &n->hb_timer);
  n->hb_timer.data = n;
  uint64_t ms = (uint64_t)(n->opts.heartbeat_interval * 1000 / 2);
  uv_timer_start(&n->hb_timer, grove__node_hb_timer_cb, ms ? ms : 1, ms ? ms : 1);
  uv_unref((uv_handle_t *)&n->hb_timer);
  uv_timer_init(grove__hub_loop(hub), &n->retry_timer);
  n->retry_timer.data = n;
  uv_unref((uv_handle_t *)&n->retry_timer);
  /* No close hook: a running node holds hub objects (its event), so
   * grove_hub_close refuses (GROVE_EBUSY) until grove_node_stop. */
  grove__layer_set(hub, GROVE__LAYER_NODE, n, NULL);
  if (!n->clustered)
    grove__open_warn(n, "bound to", endpoint); /* open on a network: said once */
  grove__node_publish(n);
  /* What opts asked to observe it by: the introspection service, the
   * metrics endpoint (introspect.c). A failure stops the node again. */
  if ((rc = grove__observe_node_start(n)) != 0) {
    grove_node_stop();
    return rc;
  }
  grove__node_check_events(n);
  grove__members_start(n);
  pthread_once(&at_exit_once, register_at_exit);
  return 0;
fail:
  grove__remote_install(NULL, 0);
  grove__zap_stop(n);
  if (n->zap)
    zmq_close(n->zap);
  if (n->sock)
    zmq_close(n->sock);
  if (n->zctx)
    zmq_ctx_term(n->zctx);
  if (n->changed)
    grove_event_free(n->changed);
  grove__members_stop(n);
  free(n);
  return rc;
}

/* ---- exit without grove_node_stop ---------------------------------------------------------
 *
 * A process that returns from main (or calls exit) with its node running
 * would lose what the node still holds: envelopes in its buffers, frames
 * in ZeroMQ's queues (the process ends before ZeroMQ's threads write them)
 * - silently. An atexit handler, registered when the first node starts,
 * gives the calling thread's node a bounded linger instead: it hands its
 * buffers to ZeroMQ and reads its socket (the peers' CREDITs say what they
 * have processed) until every peer that is up has confirmed all the data
 * it was sent, or the heartbeat timeout has passed; then it stops the node
 * as grove_node_stop does (goodbyes, ZeroMQ's own linger). What is left
 * unsent is counted (dropped_unroutable) and, with what was sent but not
 * confirmed, reported on stderr. A node of another thread is not touched
 * (its thread may still be running). */

/* Envelopes buffered for p (not handed to ZeroMQ). */
static size_t buffered(const grove__peer *p) {
  size_t k = p->out_msgs;
  for (const grove__frame *f = p->sealed; f; f = f->next)
    k += f->msgs;
  return k;
}

static void node_at_exit(void) {
  grove__node *n = grove__node_current();
  if (!n || !n->sock)
    return;
  uint64_t deadline = grove__now() + (uint64_t)(n->opts.heartbeat_timeout * 1e9);
  uint64_t hello_at = 0;
  for (;;) {
    int pending = 0;
    uint64_t t = grove__now();
    for (size_t i = 0; i < n->npeers; i++) {
      grove__peer *p = n->peers[i];
      if (p->state == GROVE__P_CONNECTING && buffered(p)) {
        /* Messages wait for a handshake that has not finished (a peer
         * connected to just before the exit, or not listening yet): the
         * hub's loop, which would repeat the hello, runs no more, so the
         * linger does, every 20 ms. */
        if (t >= hello_at)
          grove__peer_send_hello(n, p, GROVE__W_HELLO, NULL, 0);
        pending = 1;
        continue;
      }
      if (p->state != GROVE__P_UP)
        continue;
      if (p->out.size || p->sealed)
        grove__peer_flush(n, p);
      pending |= p->out.size || p->sealed || p->sent_bytes != p->acked_bytes;
    }
    if (t >= hello_at)
      hello_at = t + 20000000;
    if (!pending || t >= deadline || !n->sock)
      break;
    /* Read what comes (credit), or wait for room: at most 10 ms at a time. */
    zmq_pollitem_t it = {n->sock, 0, ZMQ_POLLIN | ZMQ_POLLOUT, 0};
    long ms = (long)((deadline - t) / 1000000);
    zmq_poll(&it, 1, ms < 10 ? (ms < 1 ? 1 : ms) : 10);
    if (it.revents & ZMQ_POLLIN)
      grove__node_drain(n);
    else if (!(it.revents & ZMQ_POLLOUT))
      continue;
    else
      zmq_poll(&it, 0, 1); /* room, but maybe not for our peer: do not spin */
  }
  size_t lost = 0;
  uint64_t unconfirmed = 0;
  for (size_t i = 0; n->sock && i < n->npeers; i++) {
    grove__peer *p = n->peers[i];
    lost += buffered(p);
    if (p->state == GROVE__P_UP)
      unconfirmed += grove__ledger_unconfirmed(p);
  }
  if (lost || unconfirmed) {
    grove_log_event ev = {.level = GROVE_LOG_WARN, .kind = GROVE_LOG_DROP, .node = n->name};
    ev.count = lost;
    grove__log(&ev,
               "node %s: the process exits without grove_node_stop: %zu message(s) "
               "not delivered (dropped), %llu message(s) sent but not confirmed "
               "by their nodes (they may be lost)",
               n->name, lost, (unsigned long long)unconfirmed);
  }
  grove_node_stop(); /* counts the dropped ones; goodbyes; ZeroMQ's linger */
}

int grove_node_stop(void) {
  grove_hub *h = grove__node_elsewhere();
  if (GROVE__UNLIKELY(h != NULL))
    return grove__fwd_call(h, GROVE__FWD_STOP, NULL, NULL, NULL, 0, NULL);
  grove__node *n = grove__node_current();
  if (!n)
    return GROVE_ENOENT;
  grove__observe_node_stop(n); /* the introspection service, the metrics endpoint */
  /* What waits for a peer that never came up is lost too: counted. */
  for (size_t i = 0; i < n->npeers; i++) {
    grove__peer *p = n->peers[i];
    size_t k = p->state == GROVE__P_UP ? 0 : buffered(p);
    if (k) {
      n->stats.dropped_unroutable += k;
      grove__node_log_ev(n, p, GROVE_LOG_WARN, GROVE_LOG_DROP, k,
                         "%zu message(s) to %s dropped: it never came up", k, p->name);
      grove__peer_drop_output(p);
    }
  }
  /* Tell every peer that is up, directly. */
  for (size_t i = 0; i < n->npeers; i++) {
    grove__peer *p = n->peers[i];
    if (p->state == GROVE__P_UP) {
      grove__peer_flush(n, p);
      msgpack_sbuffer b;
      msgpack_sbuffer_init(&b);
      msgpack_packer pk;
      msgpack_packer_init(&pk, &b, msgpack_sbuffer_write);
      grove__w_simple(&pk, GROVE__W_BYE);
      grove__peer_zsend(n, p, NULL, 0, b.data, b.size);
      msgpack_sbuffer_destroy(&b);
    }
  }
  for (size_t i = 0; i < n->npeers; i++) {
    grove__peer *p = n->peers[i];
    grove__peer_down(n, p, "this node stopped");
    grove__flow_reset(n, p, GROVE_EHOSTUNREACH); /* a peer that was not up yet too */
    grove__wake_all(&p->waiters, GROVE_EHOSTUNREACH);
  }
  grove__calls_fail_node(n, 0);
  grove__members_stop(n);
  grove__global_free(n);
  grove__node_publish(NULL);
  grove__remote_install(NULL, 0);
  grove__layer_set(n->hub, GROVE__LAYER_NODE, NULL, NULL);
  if (n->flush_scheduled)
    grove__unschedule(&n->flush_cb);
  if (n->drain_scheduled)
    grove__unschedule(&n->drain_cb);
  if (n->tick_scheduled)
    grove__unschedule(&n->tick_cb);
  uv_timer_stop(&n->hb_timer);
  uv_timer_stop(&n->retry_timer);
  uv_poll_stop(&n->poll);
  char ipc[sizeof n->endpoint];
  snprintf(ipc, sizeof ipc, "%s", strncmp(n->endpoint, "ipc://", 6) == 0 ? n->endpoint + 6 : "");
  node_destroy(n);
  if (ipc[0] && ipc[0] != '@')
    unlink(ipc); /* libzmq leaves the socket file */
  return 0;
}

const char *grove_node_name(void) {
  grove__node *n = grove__node_current();
  return n ? n->name : grove__node_name_elsewhere(0);
}

const char *grove_node_endpoint(void) {
  grove__node *n = grove__node_current();
  return n ? n->endpoint : grove__node_name_elsewhere(1);
}

const char *grove_node_name_of(uint32_t node) {
  grove_hub *h = grove__node_elsewhere();
  if (GROVE__UNLIKELY(h != NULL)) {
    grove__fwd_out o = {.u = node};
    return grove__fwd_call(h, GROVE__FWD_NAME_OF, NULL, NULL, NULL, 0, &o) == 0 ? o.cstr : NULL;
  }
  grove__node *n = grove__node_current();
  if (!n)
    return NULL;
  if (node == 0 || node == n->id)
    return n->name;
  grove__peer *p = grove__peer_by_id(n, node);
  return p ? p->name : NULL;
}

int grove_node_stats_get(grove_node_stats *out) {
  if (!out)
    return GROVE_EINVAL;
  grove_hub *h = grove__node_elsewhere();
  if (GROVE__UNLIKELY(h != NULL)) {
    grove__fwd_out o = {0};
    int rc = grove__fwd_call(h, GROVE__FWD_STATS, NULL, NULL, NULL, 0, &o);
    if (rc == 0)
      *out = o.stats;
    return rc;
  }
  grove__node *n = grove__node_current();
  if (!n)
    return GROVE_ENOENT;
  *out = n->stats;
  return 0;
}

int grove_curve_keypair(char public_z85[41], char secret_z85[41]) {
  if (!public_z85 || !secret_z85)
    return GROVE_EINVAL;
  return zmq_curve_keypair(public_z85, secret_z85) == 0 ? 0 : grove__zmq_err();
}
