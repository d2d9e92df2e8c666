/* transport/dispatch.c - receiving: frames from the node's socket, and each
 * envelope handed to the actor layer or the node's own tables.
 *
 * Design notes: ZMQ_FD is edge-triggered and only says "look at ZMQ_EVENTS".
 * The poll callback does no work itself: it schedules the drain (a run-queue
 * callback), which receives until EAGAIN or the end of the hub's turn (each
 * frame and each envelope counts), then reschedules itself behind the other
 * work and asks the hub to poll, so that timers (heartbeats) and other
 * sockets are served while a flood comes in. Every
 * send re-checks ZMQ_EVENTS afterwards (grove__node_check_events), because a
 * send can consume the edge a pending message would have raised.
 *
 * Frames are validated envelope by envelope without allocating
 * (grove__env_next); a bad envelope is counted and logged, and the rest of
 * the frame is still read.
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
  m->sender = grove__node_local_ref(n, e->from);
  return m;
}

static void reply_status(grove__node *n, grove__peer *p, uint64_t id, int status) {
  grove__reply_error(n, p, id, status, 0, GROVE_REF_NULL);
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
  *to = grove__node_local_ref(n, e->to);
  return 0;
}

/* One envelope of `size` bytes from p, which is up. */
static void handle_env(grove__node *n, grove__peer *p, const grove__env *e, size_t size) {
  n->stats.received++;
  switch (e->kind) {
  case GROVE__W_SEND:
  case GROVE__W_CALL: {
    p->unreturned += size; /* processed, whatever becomes of it */
    p->msgs_received++;
    grove_ref to;
    int rc = resolve_to(n, e, &to);
    if (rc) {
      n->stats.unknown_target++;
      p->msgs_dropped++;
      if (e->kind == GROVE__W_CALL)
        reply_status(n, p, e->id, GROVE_ENOENT);
      return;
    }
    if (GROVE__UNLIKELY(!grove__introspect_admit(n, p, to))) {
      n->stats.introspect_denied++; /* a CURVE key not allowed to look inside */
      p->msgs_dropped++;
      if (e->kind == GROVE__W_CALL)
        reply_status(n, p, e->id, GROVE_EPERM);
      return;
    }
    uint32_t bound = grove__actor_bound(to);
    if (GROVE__UNLIKELY(bound != 0) && grove__flow_arrive(n, p, to, bound, size) != 0) {
      p->msgs_dropped++;
      return; /* beyond its credit (counted: dropped_flow); a CALL gets no answer */
    }
    grove_msg *m = msg_from(n, e);
    if (!m) {
      if (e->kind == GROVE__W_CALL)
        reply_status(n, p, e->id, GROVE_ENOMEM);
      return;
    }
    m->origin = p->id; /* its receive returns the credit (flow.c) */
    if (e->kind == GROVE__W_CALL) {
      m->flags |= GROVE__MSG_CALL;
      m->remote = p->id;
      m->token = e->id;
    }
    if (grove__actor_deliver(to, m) != 0) {
      n->stats.unknown_target++;
      p->msgs_dropped++;
      if (e->kind == GROVE__W_CALL)
        reply_status(n, p, e->id, GROVE_ENOENT);
    } else if (e->kind == GROVE__W_CALL) {
      grove__rcall_add(n, p->id, e->id, to); /* its callee's end answers it (calls.c) */
    }
    return;
  }
  case GROVE__W_REPLY:
    p->unreturned += size;
    if (GROVE__UNLIKELY(p->ping_id != 0) && grove__ping_reply(n, p, e))
      return; /* the answer to a round-trip probe (introspect.c) */
    p->msgs_received++;
    grove__call_complete(n, p, e);
    return;
  case GROVE__W_CREDIT:
    grove__flow_credit_in(n, p, e);
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
    if (rc == 0) {
      grove__pack_ref(&pk, grove__node_wire_ref(n, r));
      /* A bounded actor is announced before its ref is handed out: the
       * asker knows its credit before it can send to it. */
      grove__flow_announce_sender(n, p, r);
    }
    msgpack_packer *rp = grove__node_begin_env(n, p, GROVE__ENV_OVERHEAD + 32);
    size_t mark = grove__data_mark(p);
    grove__w_reply(rp, e->id, rc, GROVE_REF_NULL, "grove.ref", body.data, body.size);
    grove__data_count(p, mark);
    msgpack_sbuffer_destroy(&body);
    return;
  }
  case GROVE__W_MONITOR: {
    grove_ref watcher = e->from, target = grove__node_local_ref(n, e->to);
    int rc =
        e->to.node == n->id ? grove__actor_monitor_remote(watcher, target, e->id) : GROVE_ENOENT;
    if (rc)
      grove__w_down(grove__node_begin_env(n, p, 64), watcher, e->id, e->to, rc);
    return;
  }
  case GROVE__W_DEMONITOR:
    if (e->to.node == n->id)
      grove__actor_demonitor_remote(grove__node_local_ref(n, e->to), e->id, p->id);
    return;
  case GROVE__W_DOWN:
    if (e->to.node == n->id) {
      grove__rmon_remove(p, e->id);
      grove__actor_down(e->id, grove__node_local_ref(n, e->to), e->from, (int)e->code);
    }
    return;
  case GROVE__W_LINK:
    if (e->to.node != n->id ||
        grove__actor_link_remote(grove__node_local_ref(n, e->to), e->from) != 0) {
      grove__w_exit(grove__node_begin_env(n, p, 64), e->to, e->from, GROVE_ENOENT, 0);
      return;
    }
    grove__rlink_add(p, grove__node_local_ref(n, e->to), e->from);
    return;
  case GROVE__W_UNLINK:
    if (e->to.node == n->id) {
      grove__actor_unlink_remote(grove__node_local_ref(n, e->to), e->from);
      grove__rlink_remove(p, grove__node_local_ref(n, e->to), e->from);
    }
    return;
  case GROVE__W_EXIT:
    /* A link's signal (applied only while the link is there: a stale one
     * is ignored), or, with kill, grove_actor_exit's untrappable kill. */
    if (e->to.node == n->id) {
      grove__rlink_remove(p, grove__node_local_ref(n, e->to), e->from);
      grove__actor_exit_remote(grove__node_local_ref(n, e->to), e->from, (int)e->code,
                               e->kill ? GROVE__EXIT_KILL : GROVE__EXIT_LINK);
    }
    return;
  case GROVE__W_EXIT2:
    /* grove_actor_exit's signal: applied as a local one, links untouched. */
    if (e->to.node == n->id)
      grove__actor_exit_remote(grove__node_local_ref(n, e->to), e->from, (int)e->code,
                               GROVE__EXIT_SIGNAL);
    return;
  case GROVE__W_BYE:
    grove__peer_down(n, p, "it stopped");
    return;
  case GROVE__W_MEMBERS:
    grove__members_in(n, p, e);
    return;
  case GROVE__W_GLOBAL:
    grove__global_in(n, p, e);
    return;
  default:
    return;
  }
}

/* One frame from the peer whose routing id is `ident`. Returns whether the
 * hub's turn is over. */
static int handle_frame(grove__node *n, const char *ident, size_t ilen, const char *buf,
                        size_t len) {
  n->stats.frames_received++;
  /* Its name, or our own connection's routing id (peer.c: dial). */
  grove__peer *p = grove__peer_by_ident(n, ident, ilen);
  int named = !(ilen == GROVE__OUT_ID_LEN && ident[0] == 0);
  const char *who = p ? p->name : named ? ident : "an unknown connection";
  int wlen = p ? (int)p->name_len : named ? (int)ilen : (int)strlen(who);
  if (len > n->opts.max_message) {
    n->stats.dropped_oversize++;
    grove__node_log_ev(n, p, GROVE_LOG_WARN, GROVE_LOG_DROP, 1,
                       "dropped a %zu-byte frame from %.*s: larger than max_message (%zu)", len,
                       wlen, who, n->opts.max_message);
    return 0;
  }
  size_t off = 0, at = 0;
  grove__env_outcome r;
  int seen = 0, invited = 0, over = 0;
  grove__env e;
  grove_hub *hub = n->hub;
  for (; (r = grove__env_next(buf, len, &off, &e)) != GROVE__ENV_END && r != GROVE__ENV_GARBAGE;
       at = off) {
    over |= grove__turn_over(hub); /* one unit of the hub's turn per envelope */
    if (r == GROVE__ENV_VERSION) {
      n->stats.dropped_version++;
      grove__node_log_ev(n, p, GROVE_LOG_WARN, GROVE_LOG_DROP, 1,
                         "dropped an envelope from %.*s: unknown protocol version", wlen, who);
      continue;
    }
    if (r != GROVE__ENV_OK) {
      n->stats.dropped_malformed++;
      grove__node_log_ev(n, p, GROVE_LOG_WARN, GROVE_LOG_DROP, 1,
                         "dropped a malformed envelope from %.*s", wlen, who);
      continue;
    }
    if (e.kind == GROVE__W_HELLO || e.kind == GROVE__W_WELCOME) {
      /* On our connection to a seed known by its endpoint only, the
       * hello tells whom we reached (members.c). */
      if (!p && !named && !(p = grove__members_seed_hello(n, ident, ilen, &e)))
        continue;
      /* It must name the connection's node: its routing id, or the peer
       * our own connection goes to. */
      const char *want = named ? ident : p ? p->name : NULL;
      size_t wantlen = named ? ilen : p ? p->name_len : 0;
      if (!want || e.name_len != wantlen || memcmp(e.name, want, wantlen) != 0) {
        n->stats.dropped_malformed++;
        grove__node_log_ev(n, p, GROVE_LOG_WARN, GROVE_LOG_DROP, 1,
                           "hello from %.*s names another node: dropped", wlen, who);
        continue;
      }
      if (!p && !(p = grove__peer_add(n, ident, ilen)))
        continue;
      if (grove__peer_by_id(n, p->id) != p || p->id == n->id) {
        n->stats.dropped_malformed++;
        grove__node_log(n, p, "node name %s collides with another node's id: refused", p->name);
        continue;
      }
      grove__peer_up(n, p, &e, ident, ilen);
      if (e.kind == GROVE__W_HELLO) /* answered on the pipe it came on */
        grove__peer_send_hello(n, p, GROVE__W_WELCOME, ident, ilen);
      continue;
    }
    if (p && p->state == GROVE__P_DOWN && e.kind == GROVE__W_BYE) {
      /* The goodbye of a peer already taken for down (its heartbeats were
       * late under load, or the partition's end was not seen yet): it left,
       * so membership forgets it now rather than after member_forget. */
      grove__members_peer_left(n, p);
      continue;
    }
    if (!p || p->state != GROVE__P_UP) {
      n->stats.dropped_unknown_peer++;
      grove__node_log_ev(n, p, GROVE_LOG_WARN, GROVE_LOG_DROP, 1,
                         "dropped an envelope from %.*s: no handshake yet", wlen, who);
      /* A peer that thinks we know it (we restarted, or declared it down):
       * invite it to shake hands again, once per frame, on the pipe it
       * came on. */
      if (!p && named && ilen <= GROVE__NAME_MAX && n->npeers < 4096 &&
          (p = grove__peer_add(n, ident, ilen)))
        p->state = GROVE__P_DOWN;
      if (p && p->state == GROVE__P_DOWN && !invited++)
        grove__peer_send_hello(n, p, GROVE__W_HELLO, ident, ilen);
      continue;
    }
    if (!seen++)
      p->last_recv = grove__now();
    handle_env(n, p, &e, off - at);
  }
  if (r == GROVE__ENV_GARBAGE) {
    n->stats.dropped_malformed++;
    grove__node_log_ev(n, p, GROVE_LOG_WARN, GROVE_LOG_DROP, 1,
                       "dropped the rest of a frame from %.*s: not msgpack", wlen, who);
  }
  if (p && p->unreturned) {
    /* Return credit in large steps while a flood comes in, and the rest at
     * the end of the drain pass. */
    if (p->unreturned >=
        (n->opts.window / 4 < GROVE__CREDIT_STEP ? n->opts.window / 4 : GROVE__CREDIT_STEP))
      grove__flow_credit_out(n, p, 1);
    else
      n->credit_due = 1;
  }
  return over;
}

/* Receive until EAGAIN, the end of the hub's turn (one unit per frame, per
 * envelope and per 64 KiB: a frame may hold a thousand messages), 16 frames
 * or 160 KiB. Then the drain goes to the back of the run queue, so that the
 * actors consume what it delivered before it delivers more: the messages a
 * pass allocates should still be in the cache when their actors take them.
 * (Measured, 32-byte messages in ~45 KiB frames on a 2-core VM: passes of
 * 16 frames - ~8,000 messages, 1 MiB of fresh memory - ran a flood 15-25%
 * slower than passes of 2-8 frames; passes of 256 frames at half the
 * speed.) At the end of the turn the hub also polls first, so that timers
 * (heartbeats) and other sockets are served while a flood comes in. At the
 * end of every pass, what was processed is returned to its senders
 * (flow.c): with each answer in a ping-pong, every pass in a flood. */
void grove__node_drain(grove__node *n) {
  grove_hub *hub = n->hub;
  int over = 0;
  size_t bytes = 0;
  for (int frames = 0; frames < GROVE__DRAIN_FRAMES && bytes < GROVE__DRAIN_BYTES && !over;
       frames++) {
    zmq_msg_t ident, body;
    zmq_msg_init(&ident);
    if (zmq_msg_recv(&ident, n->sock, ZMQ_DONTWAIT) < 0) {
      zmq_msg_close(&ident);
      if (errno != EAGAIN && errno != EINTR)
        grove__node_log(n, NULL, "receive failed: %s", zmq_strerror(errno));
      grove__flow_credit_all(n, 1);
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
      grove__node_log_ev(n, NULL, GROVE_LOG_WARN, GROVE_LOG_DROP, 1,
                         "dropped a message with %s frames", got ? "too many" : "no");
    } else {
      /* A frame costs a unit, and one more per 64 KiB (copying it is the
       * work): the meter adapts to the frames' sizes. */
      bytes += zmq_msg_size(&body);
      for (size_t k = zmq_msg_size(&body) >> 16; k > 0; k--)
        over |= grove__turn_over(hub);
      /* The frame itself, for the introspection service's CURVE check:
       * its User-Id is the key of the connection it came on. */
      n->frame = &body;
      n->frame_ours =
          zmq_msg_size(&ident) == GROVE__OUT_ID_LEN && ((const char *)zmq_msg_data(&ident))[0] == 0;
      over |= handle_frame(n, zmq_msg_data(&ident), zmq_msg_size(&ident), zmq_msg_data(&body),
                           zmq_msg_size(&body));
      n->frame = NULL;
    }
    over |= grove__turn_over(hub);
    zmq_msg_close(&body);
    zmq_msg_close(&ident);
    if (!n->sock)
      return; /* stopped by a handler */
  }
  grove__flow_credit_all(n, 1);
  grove__node_schedule_drain(n); /* more may be waiting: after the others */
  if (over)
    grove__hub_poll_soon(hub);
}

grove_greenlet *grove__node_drain_cb(grove__cb *cb) {
  grove__node *n = grove__container_of(cb, grove__node, drain_cb);
  n->drain_scheduled = 0;
  if (n->sock)
    grove__node_drain(n);
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
void grove__node_check_events(grove__node *n) {
  int ev = 0;
  size_t sz = sizeof ev;
  if (n->sock && zmq_getsockopt(n->sock, ZMQ_EVENTS, &ev, &sz) == 0 && (ev & ZMQ_POLLIN))
    grove__node_schedule_drain(n);
}

void grove__node_poll_cb(uv_poll_t *h, int status, int events) {
  (void)status;
  (void)events;
  grove__node *n = h->data;
  grove__node_schedule_drain(n);
  /* The hub runs the queue right after the loop iteration. */
}
