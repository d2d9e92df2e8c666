/* transport/node.c - a node: the actor system of this thread, reachable over
 * ZeroMQ.
 *
 * One ROUTER socket per node. Its routing id is the node's name, so a peer
 * that accepted our connection addresses us by name; before connecting to a
 * peer we set ZMQ_CONNECT_ROUTING_ID to the peer's name, so we address it
 * by name too. ZMQ_ROUTER_MANDATORY turns "no such peer" into an error
 * (EHOSTUNREACH) instead of ZeroMQ's silent drop, and a full pipe into
 * EAGAIN: nothing is ever dropped without being counted.
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
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>
#include <zmq.h>

static _Thread_local grove__node *tls_node;

grove__node *grove__node_current(void) { return tls_node; }

static const grove__remote_ops remote_ops;

/* ---- small helpers ------------------------------------------------------------------- */

static uint64_t now_ns(void) { return uv_hrtime(); }

static void node_log(grove__node *n, grove__peer *p, const char *fmt, ...) {
  /* Once per peer (or for the node) per interval: a flood of bad frames
   * must not become a flood of log lines. */
  uint64_t *last = p ? &p->log_at : &n->log_at;
  uint64_t t = now_ns();
  if (*last && t - *last < GROVE__LOG_INTERVAL_NS) {
    n->log_suppressed++;
    return;
  }
  *last = t;
  /* One write per line: nodes in several processes share a terminal. */
  char line[512];
  int k = snprintf(line, sizeof line, "grove: node %s: ", n->name);
  va_list ap;
  va_start(ap, fmt);
  if (k > 0 && (size_t)k < sizeof line)
    k += vsnprintf(line + k, sizeof line - (size_t)k, fmt, ap);
  va_end(ap);
  if (k > 0 && (size_t)k < sizeof line && n->log_suppressed)
    k += snprintf(line + k, sizeof line - (size_t)k, " (%llu similar messages suppressed)",
                  (unsigned long long)n->log_suppressed);
  if (k < 0 || (size_t)k >= sizeof line - 1)
    k = (int)sizeof line - 2;
  line[k++] = '\n';
  fwrite(line, 1, (size_t)k, stderr);
  n->log_suppressed = 0;
}

uint32_t grove_node_id(const char *name) { return name ? grove__fnv1a(name, strlen(name)) : 0; }

/* A ref as it goes on the wire: ours carry our id. */
static grove_ref wire_ref(grove__node *n, grove_ref r) {
  if (r.node == 0 && r.id != 0)
    r.node = n->id;
  return r;
}

/* A ref as it comes off the wire: ours are local (node 0). */
static grove_ref local_ref(grove__node *n, grove_ref r) {
  if (r.node == n->id)
    r.node = 0;
  return r;
}

/* ---- peers ----------------------------------------------------------------------------- */

grove__peer *grove__peer_by_id(grove__node *n, uint32_t id) {
  if (n->last_peer && n->last_peer->id == id)
    return n->last_peer;
  for (size_t i = 0; i < n->npeers; i++)
    if (n->peers[i]->id == id)
      return n->last_peer = n->peers[i];
  return NULL;
}

static grove__peer *peer_by_name(grove__node *n, const char *name, size_t len) {
  for (size_t i = 0; i < n->npeers; i++) {
    grove__peer *p = n->peers[i];
    if (p->name_len == len && memcmp(p->name, name, len) == 0)
      return p;
  }
  return NULL;
}

static void out_reset(grove__peer *p) {
  p->out.size = 0;
  p->out_envs = 0;
}

static grove__peer *peer_add(grove__node *n, const char *name, size_t len) {
  if (len == 0 || len > GROVE__NAME_MAX)
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
  grove__list_init(&p->senders);
  p->state = GROVE__P_NEW;
  p->max_message = n->opts.max_message;
  p->batch_max = n->batch_max;
  n->peers[n->npeers++] = p;
  return p;
}

static void peer_free(grove__peer *p) {
  msgpack_sbuffer_destroy(&p->out);
  free(p->endpoint);
  free(p->watchers);
  free(p->links);
  free(p->monitors);
  free(p);
}

/* ---- sending ----------------------------------------------------------------------------- */

static void check_events(grove__node *n);
static void drain(grove__node *n);
static void schedule_flush(grove__node *n);

/* Hand a peer's buffered envelopes to ZeroMQ as one frame. Returns 0, or
 * GROVE_EAGAIN when ZeroMQ pushed back (the buffer stays). */
static int flush_peer(grove__node *n, grove__peer *p) {
  if (p->out.size == 0)
    return 0;
  if (p->state != GROVE__P_UP)
    return GROVE_EAGAIN; /* until the handshake is done */
  /* zmq_send copies the batch (small), and the buffer is reused: a
   * released buffer would mean a fresh allocation for every frame. */
  int rc = 0;
  if (zmq_send(n->sock, p->name, p->name_len, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
      zmq_send(n->sock, p->out.data, p->out.size, ZMQ_DONTWAIT) < 0)
    rc = -errno;
  else
    p->out.size = 0;
  if (rc == 0) {
    n->stats.frames_sent++;
    p->out_envs = 0;
    p->last_sent = now_ns();
    if (!grove__list_empty(&p->senders))
      grove__wake_all(&p->senders, 0);
  } else {
    if (rc != -EAGAIN && rc != -EHOSTUNREACH)
      node_log(n, p, "send to %s failed: %s", p->name, zmq_strerror(-rc));
    rc = GROVE_EAGAIN;
  }
  check_events(n);
  return rc;
}

static grove_greenlet *flush_cb(grove__cb *cb) {
  grove__node *n = grove__container_of(cb, grove__node, flush_cb);
  n->flush_scheduled = 0;
  int blocked = 0;
  for (size_t i = 0; i < n->npeers; i++) {
    grove__peer *p = n->peers[i];
    if (p->out.size && flush_peer(n, p) != 0 && p->state == GROVE__P_UP)
      blocked = 1;
  }
  if (blocked && !uv_is_active((uv_handle_t *)&n->retry_timer))
    uv_timer_start(&n->retry_timer, grove__retry_timer_cb, 1, 0);
  return NULL;
}

static void schedule_flush(grove__node *n) {
  if (!n->flush_scheduled) {
    n->flush_scheduled = 1;
    grove__schedule(n->hub, &n->flush_cb);
  }
}

void grove__retry_timer_cb(uv_timer_t *t) {
  grove__node *n = t->data;
  schedule_flush(n);
}

/* Room in a peer's buffer for one more envelope: wait while ZeroMQ pushes
 * back and the buffer is over its bound. */
static int wait_room(grove__node *n, grove__peer *p, uint64_t deadline) {
  while (p->out.size >= GROVE__OUT_MAX && p->state != GROVE__P_DOWN) {
    grove_hub *hub = n->hub;
    if (hub->current == &hub->hub_g || hub->stepping)
      return GROVE_EAGAIN;
    if (flush_peer(n, p) == 0)
      return 0;
    if (!uv_is_active((uv_handle_t *)&n->retry_timer))
      uv_timer_start(&n->retry_timer, grove__retry_timer_cb, 1, 0);
    int rc = grove__wait_until(hub, &p->senders, deadline, "node send (high-water mark)", p);
    if (rc)
      return rc;
  }
  return p->state == GROVE__P_DOWN ? GROVE_EHOSTUNREACH : 0;
}

/* The packer of a peer's buffer, after making room. */
static msgpack_packer *begin_env(grove__node *n, grove__peer *p) {
  (void)n;
  p->out_envs++;
  n->stats.sent++;
  if (p->out.size >= p->batch_max)
    flush_peer(n, p);
  schedule_flush(n);
  return &p->pk;
}

/* Control envelopes (monitors, links, hellos) go out whatever the bound. */
static grove__peer *peer_for_ref(grove__node *n, grove_ref r) {
  grove__peer *p = grove__peer_by_id(n, r.node);
  return p && p->state != GROVE__P_DOWN && p->state != GROVE__P_NEW ? p : NULL;
}

static void send_hello(grove__node *n, grove__peer *p, int kind) {
  /* A hello goes alone and at once, ahead of buffered traffic (which waits
   * for the handshake). */
  msgpack_sbuffer hello;
  msgpack_sbuffer_init(&hello);
  msgpack_packer pk;
  msgpack_packer_init(&pk, &hello, msgpack_sbuffer_write);
  grove__w_hello(&pk, kind, n->name, n->incarnation, n->endpoint, n->opts.max_message);
  if (zmq_send(n->sock, p->name, p->name_len, ZMQ_SNDMORE | ZMQ_DONTWAIT) >= 0 &&
      zmq_send(n->sock, hello.data, hello.size, ZMQ_DONTWAIT) >= 0) {
    n->stats.frames_sent++;
    n->stats.sent++;
    p->last_sent = now_ns();
  }
  msgpack_sbuffer_destroy(&hello);
  check_events(n);
}

/* ---- node down / up -------------------------------------------------------------------------- */

/* Tell the actors that monitor this node; an actor that has ended since
 * is forgotten (no dead letter). */
static void notify_watchers(grove__peer *p, const char *tag) {
  for (size_t i = 0; i < p->nwatchers;) {
    if (!grove_actor_alive(p->watchers[i])) {
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

static void peer_down(grove__node *n, grove__peer *p, const char *why) {
  if (p->state != GROVE__P_UP)
    return;
  p->state = GROVE__P_DOWN;
  n->stats.nodes_down++;
  /* An orderly stop (ours, or its goodbye) is not news; a loss is. */
  if (strcmp(why, "this node stopped") != 0 && strcmp(why, "it stopped") != 0)
    node_log(n, NULL, "node %s is down (%s)", p->name, why);
  /* Buffered envelopes cannot be delivered any more. */
  if (p->out_envs) {
    n->stats.dropped_unroutable += p->out_envs;
    node_log(n, p, "%zu message(s) to %s dropped: node down", p->out_envs, p->name);
  }
  out_reset(p);
  grove__wake_all(&p->senders, GROVE_EHOSTUNREACH);
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
  notify_watchers(p, GROVE_TAG_NODEDOWN);
  grove_event_set(n->changed);
}

static void peer_up(grove__node *n, grove__peer *p, const grove__env *e) {
  if (p->state == GROVE__P_UP && p->incarnation != e->id) {
    /* It restarted before we noticed it was gone. */
    peer_down(n, p, "restarted");
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
  /* Frames to it stay within what it accepts. */
  p->max_message = e->max_message ? e->max_message : n->opts.max_message;
  p->batch_max = p->max_message / 2 < n->batch_max ? p->max_message / 2 : n->batch_max;
  p->last_recv = now_ns();
  if (p->state == GROVE__P_UP)
    return;
  p->state = GROVE__P_UP;
  n->stats.nodes_up++;
  grove__wake_all(&p->waiters, 0);
  notify_watchers(p, GROVE_TAG_NODEUP);
  grove_event_set(n->changed);
  if (p->out.size)
    schedule_flush(n);
}

void grove__node_peer_lost(const char *name) {
  grove__node *n = tls_node;
  grove__peer *p = n && name ? peer_by_name(n, name, strlen(name)) : NULL;
  if (!p)
    return;
  /* What it sent before it died is in our socket: deliver that first. */
  drain(n);
  peer_down(n, p, "process exited");
}

/* ---- receiving ------------------------------------------------------------------------------ */

static grove_msg *msg_from(grove__node *n, const grove__env *e) {
  char tag[GROVE__NAME_MAX + 1];
  memcpy(tag, e->tag, e->tag_len);
  tag[e->tag_len] = 0;
  grove_msg *m = grove_msg_new(tag);
  if (!m)
    return NULL;
  if (grove__msg_set_body(m, e->body, e->body_len) != 0) {
    grove_msg_free(m);
    return NULL;
  }
  m->sender = local_ref(n, e->from);
  return m;
}

static void reply_status(grove__node *n, grove__peer *p, uint64_t id, int status) {
  grove__w_reply(begin_env(n, p), id, status, GROVE_REF_NULL, "grove.error", NULL, 0);
}

static int resolve_to(grove__node *n, const grove__env *e, grove_ref *to) {
  if (e->to_name) {
    char name[GROVE__NAME_MAX + 1];
    memcpy(name, e->to_name, e->to_name_len);
    name[e->to_name_len] = 0;
    return grove_whereis(name, to);
  }
  if (e->to.node != n->id)
    return GROVE_ENOENT; /* not for this node */
  *to = local_ref(n, e->to);
  return 0;
}

static void handle_env(grove__node *n, grove__peer *p, const grove__env *e) {
  n->stats.received++;
  switch (e->kind) {
  case GROVE__W_SEND:
  case GROVE__W_CALL: {
    grove_ref to;
    int rc = resolve_to(n, e, &to);
    if (rc) {
      n->stats.unknown_target++;
      if (e->kind == GROVE__W_CALL)
        reply_status(n, p, e->id, GROVE_ENOENT);
      return;
    }
    grove_msg *m = msg_from(n, e);
    if (!m) {
      if (e->kind == GROVE__W_CALL)
        reply_status(n, p, e->id, GROVE_ENOMEM);
      return;
    }
    if (e->kind == GROVE__W_CALL) {
      m->flags |= GROVE__MSG_CALL;
      m->remote = p->id;
      m->token = e->id;
    }
    if (grove__actor_deliver(to, m) != 0) {
      n->stats.unknown_target++;
      if (e->kind == GROVE__W_CALL)
        reply_status(n, p, e->id, GROVE_ENOENT);
    }
    return;
  }
  case GROVE__W_REPLY:
    grove__call_complete(n, p, e);
    return;
  case GROVE__W_HEARTBEAT:
    return;
  case GROVE__W_WHEREIS: {
    char name[GROVE__NAME_MAX + 1];
    memcpy(name, e->name, e->name_len);
    name[e->name_len] = 0;
    grove_ref r;
    int rc = grove_whereis(name, &r);
    msgpack_sbuffer body;
    msgpack_sbuffer_init(&body);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &body, msgpack_sbuffer_write);
    if (rc == 0)
      grove__pack_ref(&pk, wire_ref(n, r));
    grove__w_reply(begin_env(n, p), e->id, rc, GROVE_REF_NULL, "grove.ref", body.data, body.size);
    msgpack_sbuffer_destroy(&body);
    return;
  }
  case GROVE__W_MONITOR: {
    grove_ref watcher = e->from, target = local_ref(n, e->to);
    int rc =
        e->to.node == n->id ? grove__actor_monitor_remote(watcher, target, e->id) : GROVE_ENOENT;
    if (rc)
      grove__w_down(begin_env(n, p), watcher, e->id, e->to, rc);
    return;
  }
  case GROVE__W_DEMONITOR:
    if (e->to.node == n->id)
      grove__actor_demonitor_remote(local_ref(n, e->to), e->id);
    return;
  case GROVE__W_DOWN:
    if (e->to.node == n->id) {
      grove__rmon_remove(p, e->id);
      grove__actor_down(e->id, local_ref(n, e->to), e->from, (int)e->code);
    }
    return;
  case GROVE__W_LINK:
    if (e->to.node != n->id || grove__actor_link_remote(local_ref(n, e->to), e->from) != 0) {
      grove__w_exit(begin_env(n, p), e->to, e->from, GROVE_ENOENT, 0);
      return;
    }
    grove__rlink_add(p, local_ref(n, e->to), e->from);
    return;
  case GROVE__W_UNLINK:
    if (e->to.node == n->id) {
      grove__actor_unlink_remote(local_ref(n, e->to), e->from);
      grove__rlink_remove(p, local_ref(n, e->to), e->from);
    }
    return;
  case GROVE__W_EXIT:
    if (e->to.node == n->id) {
      grove__rlink_remove(p, local_ref(n, e->to), e->from);
      grove__actor_exit_remote(local_ref(n, e->to), e->from, (int)e->code, e->kill);
    }
    return;
  case GROVE__W_BYE:
    peer_down(n, p, "it stopped");
    return;
  default:
    return;
  }
}

/* One frame from the peer whose routing id is `ident`. */
static void handle_frame(grove__node *n, const char *ident, size_t ilen, const char *buf,
                         size_t len) {
  n->stats.frames_received++;
  grove__peer *p = peer_by_name(n, ident, ilen);
  if (len > n->opts.max_message) {
    n->stats.dropped_oversize++;
    node_log(n, p, "dropped a %zu-byte frame from %.*s: larger than max_message (%zu)", len,
             (int)ilen, ident, n->opts.max_message);
    return;
  }
  size_t off = 0;
  int r;
  int seen = 0, invited = 0;
  grove__env e;
  while ((r = grove__env_next(buf, len, &off, &e)) != 0 && r != GROVE_EPROTO) {
    if (r == GROVE_ENOSYS - 1000) {
      n->stats.dropped_version++;
      node_log(n, p, "dropped an envelope from %.*s: unknown protocol version", (int)ilen, ident);
      continue;
    }
    if (r != 1) {
      n->stats.dropped_malformed++;
      node_log(n, p, "dropped a malformed envelope from %.*s", (int)ilen, ident);
      continue;
    }
    if (e.kind == GROVE__W_HELLO || e.kind == GROVE__W_WELCOME) {
      if (e.name_len != ilen || memcmp(e.name, ident, ilen) != 0) {
        n->stats.dropped_malformed++;
        node_log(n, p, "hello from %.*s names another node: dropped", (int)ilen, ident);
        continue;
      }
      if (!p && !(p = peer_add(n, ident, ilen)))
        continue;
      if (grove__peer_by_id(n, p->id) != p || p->id == n->id) {
        n->stats.dropped_malformed++;
        node_log(n, p, "node name %s collides with another node's id: refused", p->name);
        continue;
      }
      peer_up(n, p, &e);
      if (e.kind == GROVE__W_HELLO)
        send_hello(n, p, GROVE__W_WELCOME);
      continue;
    }
    if (!p || p->state != GROVE__P_UP) {
      n->stats.dropped_unknown_peer++;
      node_log(n, p, "dropped an envelope from %.*s: no handshake yet", (int)ilen, ident);
      /* A peer that thinks we know it (we restarted, or declared it down):
       * invite it to shake hands again, once per frame. */
      if (!p && ilen <= GROVE__NAME_MAX && n->npeers < 4096 && (p = peer_add(n, ident, ilen)))
        p->state = GROVE__P_DOWN;
      if (p && p->state == GROVE__P_DOWN && !invited++)
        send_hello(n, p, GROVE__W_HELLO);
      continue;
    }
    if (!seen++)
      p->last_recv = now_ns();
    handle_env(n, p, &e);
  }
  if (r < 0) {
    n->stats.dropped_malformed++;
    node_log(n, p, "dropped the rest of a frame from %.*s: not msgpack", (int)ilen, ident);
  }
}

/* Receive until EAGAIN, within a budget of frames (a frame may hold a
 * thousand messages): past it, come back after the hub has polled, so that
 * timers (heartbeats) and other sockets are served while a flood comes in. */
static void drain(grove__node *n) {
  for (int budget = 0; budget < 16; budget++) {
    zmq_msg_t ident, body;
    zmq_msg_init(&ident);
    if (zmq_msg_recv(&ident, n->sock, ZMQ_DONTWAIT) < 0) {
      zmq_msg_close(&ident);
      if (errno != EAGAIN && errno != EINTR)
        node_log(n, NULL, "receive failed: %s", zmq_strerror(errno));
      return;
    }
    int more = zmq_msg_more(&ident);
    zmq_msg_init(&body);
    int got = 0, extra = 0;
    while (more) {
      zmq_msg_t *into = got ? NULL : &body;
      zmq_msg_t spare;
      if (!into) {
        zmq_msg_init(&spare);
        into = &spare;
      }
      if (zmq_msg_recv(into, n->sock, 0) < 0)
        break;
      more = zmq_msg_more(into);
      if (into == &spare) {
        extra = 1;
        zmq_msg_close(&spare);
      }
      got = 1;
    }
    if (!got || extra) {
      n->stats.frames_received++;
      n->stats.dropped_malformed++;
      node_log(n, NULL, "dropped a message with %s frames", got ? "too many" : "no");
    } else {
      handle_frame(n, zmq_msg_data(&ident), zmq_msg_size(&ident), zmq_msg_data(&body),
                   zmq_msg_size(&body));
    }
    zmq_msg_close(&body);
    zmq_msg_close(&ident);
    if (!n->sock)
      return; /* stopped by a handler */
  }
  grove__node_schedule_drain(n); /* more may be waiting: after the others */
  n->hub->need_poll = 1;
}

static grove_greenlet *drain_cb(grove__cb *cb) {
  grove__node *n = grove__container_of(cb, grove__node, drain_cb);
  n->drain_scheduled = 0;
  if (n->sock)
    drain(n);
  if (n->zap)
    grove__zap_serve(n);
  return NULL;
}

void grove__node_schedule_drain(grove__node *n) {
  if (!n->drain_scheduled) {
    n->drain_scheduled = 1;
    grove__schedule(n->hub, &n->drain_cb);
  }
}

/* After any send or receive: a pending message may have consumed the edge. */
static void check_events(grove__node *n) {
  int ev = 0;
  size_t sz = sizeof ev;
  if (n->sock && zmq_getsockopt(n->sock, ZMQ_EVENTS, &ev, &sz) == 0 && (ev & ZMQ_POLLIN))
    grove__node_schedule_drain(n);
}

static void poll_cb(uv_poll_t *h, int status, int events) {
  (void)status;
  (void)events;
  grove__node *n = h->data;
  grove__node_schedule_drain(n);
  /* The hub runs the queue right after the loop iteration. */
}

/* ---- heartbeats --------------------------------------------------------------------------------
 */

static grove_greenlet *tick_cb(grove__cb *cb) {
  grove__node *n = grove__container_of(cb, grove__node, tick_cb);
  n->tick_scheduled = 0;
  /* What arrived while this process was busy counts: read it before
   * judging anybody silent. */
  if (n->sock)
    drain(n);
  uint64_t t = now_ns();
  uint64_t interval = (uint64_t)(n->opts.heartbeat_interval * 1e9);
  uint64_t timeout = (uint64_t)(n->opts.heartbeat_timeout * 1e9);
  for (size_t i = 0; i < n->npeers; i++) {
    grove__peer *p = n->peers[i];
    if (p->state == GROVE__P_UP) {
      if (t - p->last_recv > timeout) {
        peer_down(n, p, "heartbeat timeout");
        continue;
      }
      if (t - p->last_sent >= interval / 2 && p->out.size == 0) {
        grove__w_simple(begin_env(n, p), GROVE__W_HEARTBEAT);
      }
    } else if (p->we_connected) {
      /* Connecting, or down: ask again (ZeroMQ reconnects underneath). */
      send_hello(n, p, GROVE__W_HELLO);
    }
  }
  return NULL;
}

static void hb_timer_cb(uv_timer_t *t) {
  grove__node *n = t->data;
  if (!n->tick_scheduled) {
    n->tick_scheduled = 1;
    grove__schedule(n->hub, &n->tick_cb);
  }
}

/* ---- start / stop ------------------------------------------------------------------------------
 */

static int zerr(void) { return errno ? -errno : GROVE_EINVAL; }

static void node_close_cb(uv_handle_t *h) {
  grove__node *n = h->data;
  if (--n->closing == 0)
    free(n);
}

static void node_destroy(grove__node *n) {
  for (size_t i = 0; i < n->npeers; i++)
    peer_free(n->peers[i]);
  free(n->peers);
  grove__calls_free(n);
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

static void node_atclose(void *arg) {
  (void)arg;
  if (tls_node)
    grove_node_stop();
}

static int set_opt(void *s, int opt, const void *v, size_t len) {
  return zmq_setsockopt(s, opt, v, len) == 0 ? 0 : zerr();
}

static int set_int(void *s, int opt, int v) { return set_opt(s, opt, &v, sizeof v); }

int grove_node_start(const char *name, const char *endpoint, const grove_node_opts *opts) {
  if (!name || !*name || strlen(name) > GROVE__NAME_MAX || !endpoint || !*endpoint)
    return GROVE_EINVAL;
  if (tls_node)
    return GROVE_EEXIST;
  grove_hub *hub = grove__hub();
  if (!hub || !grove__actor_sys_get())
    return GROVE_ENOMEM;
  grove__node *n = calloc(1, sizeof *n);
  if (!n)
    return GROVE_ENOMEM;
  n->hub = hub;
  snprintf(n->name, sizeof n->name, "%s", name);
  n->id = grove_node_id(name);
  if (opts)
    n->opts = *opts;
  if (n->opts.heartbeat_interval <= 0 || isnan(n->opts.heartbeat_interval))
    n->opts.heartbeat_interval = 0.5;
  if (n->opts.heartbeat_timeout <= 0 || isnan(n->opts.heartbeat_timeout))
    n->opts.heartbeat_timeout = 2.5;
  if (n->opts.connect_timeout <= 0 || isnan(n->opts.connect_timeout))
    n->opts.connect_timeout = 5;
  if (n->opts.max_message == 0)
    n->opts.max_message = 16u << 20;
  if (n->opts.sndhwm <= 0)
    n->opts.sndhwm = 1000;
  if (n->opts.rcvhwm <= 0)
    n->opts.rcvhwm = 1000;
  /* A batch never makes a frame the peer would refuse (same max_message
   * on both sides is assumed: docs/transport.md). */
  n->batch_max =
      n->opts.max_message / 2 < GROVE__BATCH_MAX ? n->opts.max_message / 2 : GROVE__BATCH_MAX;
  if (getrandom(&n->incarnation, sizeof n->incarnation, 0) != sizeof n->incarnation)
    n->incarnation = now_ns() ^ (uint64_t)getpid() << 32;
  n->flush_cb.fn = flush_cb;
  n->drain_cb.fn = drain_cb;
  n->tick_cb.fn = tick_cb;
  int rc = 0;
  n->zctx = zmq_ctx_new();
  n->changed = grove_event_new();
  if (!n->zctx || !n->changed) {
    rc = GROVE_ENOMEM;
    goto fail;
  }
  zmq_ctx_set(n->zctx, ZMQ_BLOCKY, 0);
  const int curve = opts && opts->curve_public && opts->curve_secret;
  if (curve && opts->curve_allowed && (rc = grove__zap_start(n, opts->curve_allowed)) != 0)
    goto fail;
  n->sock = zmq_socket(n->zctx, ZMQ_ROUTER);
  if (!n->sock) {
    rc = zerr();
    goto fail;
  }
  if ((rc = set_opt(n->sock, ZMQ_ROUTING_ID, name, strlen(name))) ||
      (rc = set_int(n->sock, ZMQ_ROUTER_MANDATORY, 1)) ||
      (rc = set_int(n->sock, ZMQ_ROUTER_HANDOVER, 1)) ||
      (rc = set_int(n->sock, ZMQ_SNDHWM, n->opts.sndhwm)) ||
      (rc = set_int(n->sock, ZMQ_RCVHWM, n->opts.rcvhwm)) ||
      (rc = set_int(n->sock, ZMQ_LINGER, 200)) || (rc = set_int(n->sock, ZMQ_RECONNECT_IVL, 50)) ||
      (rc = set_int(n->sock, ZMQ_RECONNECT_IVL_MAX, 500)))
    goto fail;
  {
    int64_t maxmsg = (int64_t)n->opts.max_message + 1024;
    if ((rc = set_opt(n->sock, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg)))
      goto fail;
  }
  if (curve) {
    if (strlen(opts->curve_public) != 40 || strlen(opts->curve_secret) != 40) {
      rc = GROVE_EINVAL;
      goto fail;
    }
    if ((rc = set_int(n->sock, ZMQ_CURVE_SERVER, 1)) ||
        (rc = set_opt(n->sock, ZMQ_CURVE_SECRETKEY, opts->curve_secret, 40)) ||
        (rc = set_opt(n->sock, ZMQ_ZAP_DOMAIN, "grove", 5)))
      goto fail;
    snprintf(n->curve_public, sizeof n->curve_public, "%s", opts->curve_public);
    snprintf(n->curve_secret, sizeof n->curve_secret, "%s", opts->curve_secret);
    if (opts->curve_server_key)
      snprintf(n->curve_server_key, sizeof n->curve_server_key, "%s", opts->curve_server_key);
    n->curve = 1;
  }
  if (zmq_bind(n->sock, endpoint) != 0) {
    rc = zerr();
    goto fail;
  }
  size_t eplen = sizeof n->endpoint;
  if (zmq_getsockopt(n->sock, ZMQ_LAST_ENDPOINT, n->endpoint, &eplen) != 0)
    snprintf(n->endpoint, sizeof n->endpoint, "%s", endpoint);
  int fd;
  size_t fdlen = sizeof fd;
  if (zmq_getsockopt(n->sock, ZMQ_FD, &fd, &fdlen) != 0) {
    rc = zerr();
    goto fail;
  }
  if ((rc = uv_poll_init(&hub->loop, &n->poll, fd)) != 0)
    goto fail;
  n->poll.data = n;
  uv_poll_start(&n->poll, UV_READABLE, poll_cb);
  uv_timer_init(&hub->loop, &n->hb_timer);
  n->hb_timer.data = n;
  uint64_t ms = (uint64_t)(n->opts.heartbeat_interval * 1000 / 2);
  uv_timer_start(&n->hb_timer, hb_timer_cb, ms ? ms : 1, ms ? ms : 1);
  uv_unref((uv_handle_t *)&n->hb_timer);
  uv_timer_init(&hub->loop, &n->retry_timer);
  n->retry_timer.data = n;
  uv_unref((uv_handle_t *)&n->retry_timer);
  tls_node = n;
  grove__node_id = n->id;
  grove__remote_install(&remote_ops);
  if (!n->atclose_registered) {
    grove__hub_atclose(hub, node_atclose, NULL);
    n->atclose_registered = 1;
  }
  check_events(n);
  return 0;
fail:
  grove__zap_stop(n);
  if (n->zap)
    zmq_close(n->zap);
  if (n->sock)
    zmq_close(n->sock);
  if (n->zctx)
    zmq_ctx_term(n->zctx);
  if (n->changed)
    grove_event_free(n->changed);
  free(n);
  if (rc == -EADDRINUSE)
    rc = GROVE_EADDRINUSE;
  return rc;
}

int grove_node_stop(void) {
  grove__node *n = tls_node;
  if (!n)
    return GROVE_ENOENT;
  /* Tell every peer that is up, directly. */
  for (size_t i = 0; i < n->npeers; i++) {
    grove__peer *p = n->peers[i];
    if (p->state == GROVE__P_UP) {
      flush_peer(n, p);
      msgpack_sbuffer b;
      msgpack_sbuffer_init(&b);
      msgpack_packer pk;
      msgpack_packer_init(&pk, &b, msgpack_sbuffer_write);
      grove__w_simple(&pk, GROVE__W_BYE);
      zmq_send(n->sock, p->name, p->name_len, ZMQ_SNDMORE | ZMQ_DONTWAIT);
      zmq_send(n->sock, b.data, b.size, ZMQ_DONTWAIT);
      msgpack_sbuffer_destroy(&b);
    }
  }
  for (size_t i = 0; i < n->npeers; i++) {
    grove__peer *p = n->peers[i];
    peer_down(n, p, "this node stopped");
    grove__wake_all(&p->waiters, GROVE_EHOSTUNREACH);
  }
  grove__calls_fail_node(n, 0);
  grove__remote_install(NULL);
  grove__node_id = 0;
  tls_node = NULL;
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

const char *grove_node_name(void) { return tls_node ? tls_node->name : NULL; }
const char *grove_node_endpoint(void) { return tls_node ? tls_node->endpoint : NULL; }

const char *grove_node_name_of(uint32_t node) {
  grove__node *n = tls_node;
  if (!n)
    return NULL;
  if (node == 0 || node == n->id)
    return n->name;
  grove__peer *p = grove__peer_by_id(n, node);
  return p ? p->name : NULL;
}

/* ---- connecting ---------------------------------------------------------------------------------
 */

static int wait_peer_up(grove__node *n, grove__peer *p, double timeout) {
  uint64_t deadline = grove__deadline(n->hub, timeout);
  while (p->state != GROVE__P_UP) {
    int rc = grove__wait_until(n->hub, &p->waiters, deadline, "node connect", p);
    if (rc)
      return rc;
    if (tls_node != n)
      return GROVE_EHOSTUNREACH;
  }
  return 0;
}

int grove_node_connect_ex(const char *peer_name, const char *endpoint, const char *server_key,
                          double timeout) {
  grove__node *n = tls_node;
  if (!n)
    return GROVE_ENOENT;
  if (!peer_name || !*peer_name || strlen(peer_name) > GROVE__NAME_MAX || !endpoint ||
      isnan(timeout) || !strcmp(peer_name, n->name))
    return GROVE_EINVAL;
  grove__peer *p = peer_by_name(n, peer_name, strlen(peer_name));
  if (p && p->state == GROVE__P_UP)
    return 0;
  if (!p) {
    if (grove__peer_by_id(n, grove_node_id(peer_name)))
      return GROVE_EEXIST; /* another name with the same id */
    if (!(p = peer_add(n, peer_name, strlen(peer_name))))
      return GROVE_ENOMEM;
  }
  if (!p->we_connected) {
    int rc = set_opt(n->sock, ZMQ_CONNECT_ROUTING_ID, peer_name, strlen(peer_name));
    const char *key = server_key ? server_key : n->curve_server_key[0] ? n->curve_server_key : NULL;
    if (rc == 0 && n->curve) {
      if (!key || strlen(key) != 40)
        return GROVE_EINVAL;
      if ((rc = set_opt(n->sock, ZMQ_CURVE_SERVERKEY, key, 40)) ||
          (rc = set_opt(n->sock, ZMQ_CURVE_PUBLICKEY, n->curve_public, 40)) ||
          (rc = set_opt(n->sock, ZMQ_CURVE_SECRETKEY, n->curve_secret, 40)))
        return rc;
    }
    if (rc == 0 && zmq_connect(n->sock, endpoint) != 0)
      rc = zerr();
    if (n->curve) /* back to the server role for later binds/accepts */
      set_int(n->sock, ZMQ_CURVE_SERVER, 1);
    if (rc)
      return rc;
    p->we_connected = 1;
    free(p->endpoint);
    p->endpoint = strdup(endpoint);
    if (p->state == GROVE__P_NEW)
      p->state = GROVE__P_CONNECTING;
  }
  /* Say hello until it answers: the connection is not usable before
   * ZeroMQ's own handshake is done, and a hello sent too early is refused
   * (EHOSTUNREACH). */
  send_hello(n, p, GROVE__W_HELLO);
  if (timeout == 0)
    return 0;
  uint64_t deadline = grove__deadline(n->hub, timeout);
  double step = 0.002;
  while (p->state != GROVE__P_UP) {
    double left = grove__seconds_left(deadline);
    if (left == 0)
      return GROVE_ETIMEDOUT;
    int rc = wait_peer_up(n, p, left >= 0 && left < step ? left : step);
    if (rc == 0)
      break;
    if (rc != GROVE_ETIMEDOUT)
      return rc;
    if (tls_node != n)
      return GROVE_EHOSTUNREACH;
    send_hello(n, p, GROVE__W_HELLO);
    step = step < 0.1 ? step * 2 : 0.1;
  }
  return 0;
}

int grove_node_connect(const char *peer_name, const char *endpoint) {
  grove__node *n = tls_node;
  if (!n)
    return GROVE_ENOENT;
  return grove_node_connect_ex(peer_name, endpoint, NULL, n->opts.connect_timeout);
}

bool grove_node_is_up(const char *node) {
  grove__node *n = tls_node;
  grove__peer *p = n && node ? peer_by_name(n, node, strlen(node)) : NULL;
  return p && p->state == GROVE__P_UP;
}

int grove_node_wait_up(const char *node, double timeout) {
  grove__node *n = tls_node;
  if (!n)
    return GROVE_ENOENT;
  if (!node || isnan(timeout))
    return GROVE_EINVAL;
  uint64_t deadline = grove__deadline(n->hub, timeout);
  for (;;) {
    grove__peer *p = peer_by_name(n, node, strlen(node));
    if (p && p->state == GROVE__P_UP)
      return 0;
    if (p)
      return wait_peer_up(n, p, grove__seconds_left(deadline));
    /* Not known yet: wait for any change (a hello from it). */
    grove_event_clear(n->changed);
    int rc = grove_event_wait(n->changed, grove__seconds_left(deadline));
    if (rc)
      return rc;
    if (tls_node != n)
      return GROVE_EHOSTUNREACH;
  }
}

int grove_node_stats_get(grove_node_stats *out) {
  if (!out)
    return GROVE_EINVAL;
  if (!tls_node)
    return GROVE_ENOENT;
  *out = tls_node->stats;
  return 0;
}

int grove_curve_keypair(char public_z85[41], char secret_z85[41]) {
  if (!public_z85 || !secret_z85)
    return GROVE_EINVAL;
  return zmq_curve_keypair(public_z85, secret_z85) == 0 ? 0 : zerr();
}

int grove_monitor_node(const char *node) {
  grove__node *n = tls_node;
  if (!n)
    return GROVE_ENOENT;
  grove_ref self = grove_self();
  if (!node || grove_ref_is_null(self))
    return GROVE_EINVAL;
  grove__peer *p = peer_by_name(n, node, strlen(node));
  if (!p && !(p = peer_add(n, node, strlen(node))))
    return GROVE_ENOMEM;
  if (grove__grow((void **)&p->watchers, &p->capwatchers, p->nwatchers, sizeof *p->watchers, 4))
    return GROVE_ENOMEM;
  p->watchers[p->nwatchers++] = self;
  return 0;
}

int grove_demonitor_node(const char *node) {
  grove__node *n = tls_node;
  grove__peer *p = n && node ? peer_by_name(n, node, strlen(node)) : NULL;
  grove_ref self = grove_self();
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

/* ---- the actor layer's remote operations
 * --------------------------------------------------------- */

static int r_send(grove_ref to, grove_msg *m, uint64_t deadline) {
  grove__node *n = tls_node;
  grove__peer *p = n ? grove__peer_by_id(n, to.node) : NULL;
  int rc = 0;
  if (!p || p->state == GROVE__P_NEW || p->state == GROVE__P_DOWN)
    rc = GROVE_EHOSTUNREACH;
  else if (m->blob)
    rc = GROVE_EINVAL; /* a blob is a local pointer: it cannot cross */
  else if (m->body.size + 256 > p->max_message)
    rc = GROVE_EMSGSIZE;
  else
    rc = wait_room(n, p, deadline);
  if (rc) {
    grove__dead_letter(grove__actor_sys_get(), to, m, rc);
    return rc;
  }
  grove__w_send(begin_env(n, p), to, NULL, wire_ref(n, m->sender), m->tag, m->body.data,
                m->body.size, 0, 0);
  grove_msg_free(m);
  return 0;
}

static int r_reply(grove_msg *request, grove_msg *reply) {
  grove__node *n = tls_node;
  grove__peer *p = n ? grove__peer_by_id(n, request->remote) : NULL;
  if (!p || p->state != GROVE__P_UP || reply->blob) {
    grove__dead_letter(grove__actor_sys_get(), request->sender, reply,
                       reply->blob ? GROVE_EINVAL : GROVE_EHOSTUNREACH);
    return reply->blob ? GROVE_EINVAL : 0;
  }
  int status = (reply->flags & GROVE__MSG_ERROR) ? reply->error : 0;
  grove__w_reply(begin_env(n, p), request->token, status, wire_ref(n, reply->sender), reply->tag,
                 reply->body.data, reply->body.size);
  grove_msg_free(reply);
  return 0;
}

static int r_monitor(grove_ref watcher, grove_ref target, uint64_t id) {
  grove__node *n = tls_node;
  grove__peer *p = n ? peer_for_ref(n, target) : NULL;
  if (!p || p->state != GROVE__P_UP)
    return GROVE_EHOSTUNREACH;
  int rc = grove__rmon_add(p, id, watcher, target);
  if (rc)
    return rc;
  grove__w_monitor(begin_env(n, p), GROVE__W_MONITOR, wire_ref(n, watcher), target, id);
  return 0;
}

static int r_demonitor(uint64_t id) {
  grove__node *n = tls_node;
  if (!n)
    return GROVE_ENOENT;
  for (size_t i = 0; i < n->npeers; i++) {
    grove__peer *p = n->peers[i];
    grove_ref target;
    if (grove__rmon_take(p, id, &target) == 0) {
      if (p->state == GROVE__P_UP)
        grove__w_monitor(begin_env(n, p), GROVE__W_DEMONITOR, GROVE_REF_NULL, target, id);
      return 0;
    }
  }
  return GROVE_ENOENT;
}

static void r_down(grove_ref watcher, uint64_t id, grove_ref target, int reason) {
  grove__node *n = tls_node;
  grove__peer *p = n ? peer_for_ref(n, watcher) : NULL;
  if (p && p->state == GROVE__P_UP)
    grove__w_down(begin_env(n, p), watcher, id, wire_ref(n, target), reason);
}

static int r_link(grove_ref local, grove_ref remote) {
  grove__node *n = tls_node;
  grove__peer *p = n ? peer_for_ref(n, remote) : NULL;
  if (!p || p->state != GROVE__P_UP)
    return GROVE_EHOSTUNREACH;
  int rc = grove__rlink_add(p, local, remote);
  if (rc == 0)
    grove__w_link(begin_env(n, p), GROVE__W_LINK, wire_ref(n, local), remote);
  return rc;
}

static void r_unlink(grove_ref local, grove_ref remote) {
  grove__node *n = tls_node;
  grove__peer *p = n ? peer_for_ref(n, remote) : NULL;
  if (!p)
    return;
  grove__rlink_remove(p, local, remote);
  if (p->state == GROVE__P_UP)
    grove__w_link(begin_env(n, p), GROVE__W_UNLINK, wire_ref(n, local), remote);
}

static void r_exit(grove_ref to, grove_ref from, int reason, int kill) {
  grove__node *n = tls_node;
  grove__peer *p = n ? peer_for_ref(n, to) : NULL;
  if (!p || p->state != GROVE__P_UP)
    return;
  grove__rlink_remove(p, from, to);
  grove__w_exit(begin_env(n, p), wire_ref(n, from), to, reason, kill);
}

static const grove__remote_ops remote_ops = {
    .send = r_send,
    .call = grove__r_call,
    .reply = r_reply,
    .monitor = r_monitor,
    .demonitor = r_demonitor,
    .down = r_down,
    .link = r_link,
    .unlink = r_unlink,
    .exit = r_exit,
};

/* For calls.c: queue a call / whereis envelope. */
msgpack_packer *grove__node_begin_env(grove__node *n, grove__peer *p) { return begin_env(n, p); }
grove_ref grove__node_wire_ref(grove__node *n, grove_ref r) { return wire_ref(n, r); }
grove_ref grove__node_local_ref(grove__node *n, grove_ref r) { return local_ref(n, r); }
int grove__node_wait_room(grove__node *n, grove__peer *p, uint64_t deadline) {
  return wait_room(n, p, deadline);
}
grove__peer *grove__node_peer_by_name(grove__node *n, const char *name) {
  return peer_by_name(n, name, strlen(name));
}
