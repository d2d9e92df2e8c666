/* transport/out.c - sending: envelopes batched per peer, flushed as frames,
 * and the remote operations the actor layer calls for refs on other nodes.
 *
 * Design notes: a send encodes its envelope onto the peer's output buffer and
 * schedules one flush callback; the flush hands each peer's buffer to
 * ZeroMQ as one frame. A greenlet that sends in a loop fills a batch; a
 * ping-pong pays one frame per message. SENDs and CALLs first wait for
 * credit (flow.c): the link window bounds what is in flight to a peer in
 * bytes, and a bounded remote inbox holds its senders back. When ZeroMQ
 * pushes back (its high-water mark), the buffer is sealed into a frame of
 * its own once it is a batch, so that no frame grows past the peer's
 * max_message; sealed frames go first when ZeroMQ takes frames again, and
 * all of it is bounded by the window. Control envelopes (hellos, monitors,
 * links, exits, credit) never wait and are not counted; they stay in order
 * with the data (an exit signal never overtakes the messages its sender
 * sent before), behind at most a window of it.
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

/* ---- sending ----------------------------------------------------------------------------- */

int grove__peer_zsend(grove__node *n, grove__peer *p, const char *ident, size_t ilen,
                      const void *data, size_t size) {
  if (!ident) {
    if (p->route_len) {
      ident = p->route;
      ilen = p->route_len;
    } else if (p->we_connected) {
      ident = p->out_id; /* not up yet: our own connection */
      ilen = GROVE__OUT_ID_LEN;
    } else {
      ident = p->name;
      ilen = p->name_len;
    }
  }
  if (zmq_send(n->sock, ident, ilen, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
      zmq_send(n->sock, data, size, ZMQ_DONTWAIT) < 0)
    return -errno;
  n->stats.frames_sent++;
  p->last_sent = grove__now();
  return 0;
}

static int zsend(grove__node *n, grove__peer *p, const void *data, size_t size) {
  return grove__peer_zsend(n, p, NULL, 0, data, size);
}

/* Hand a peer's sealed frames, then its buffered envelopes, to ZeroMQ.
 * Returns 0, or GROVE_EAGAIN when ZeroMQ pushed back (what is left stays). */
int grove__peer_flush(grove__node *n, grove__peer *p) {
  if (p->out.size == 0 && !p->sealed)
    return 0;
  if (p->state != GROVE__P_UP)
    return GROVE_EAGAIN; /* until the handshake is done */
  int rc = 0;
  while (p->sealed && rc == 0) {
    grove__frame *f = p->sealed;
    if ((rc = zsend(n, p, f->data, f->size)) == 0) {
      if (!(p->sealed = f->next))
        p->sealed_tail = &p->sealed;
      free(f->data);
      free(f);
    }
  }
  /* zmq_send copies the batch (small), and the buffer is reused: a
   * released buffer would mean a fresh allocation for every frame. */
  if (rc == 0 && p->out.size && (rc = zsend(n, p, p->out.data, p->out.size)) == 0) {
    p->out.size = 0;
    p->out_envs = 0;
    p->out_msgs = 0;
  }
  if (rc != 0) {
    if (rc != -EAGAIN && rc != -EHOSTUNREACH)
      grove__node_log(n, p, "send to %s failed: %s", p->name, zmq_strerror(-rc));
    rc = GROVE_EAGAIN;
  }
  grove__node_check_events(n);
  return rc;
}

/* ZeroMQ refused the buffer: it becomes a frame of its own, sent first
 * when there is room; the buffer starts empty. */
static void seal(grove__peer *p) {
  grove__frame *f = malloc(sizeof *f);
  if (!f)
    return; /* then the buffer grows: a larger frame, but nothing lost */
  f->next = NULL;
  f->size = p->out.size;
  f->envs = p->out_envs;
  f->msgs = p->out_msgs;
  f->data = msgpack_sbuffer_release(&p->out);
  *p->sealed_tail = f;
  p->sealed_tail = &f->next;
  p->out_envs = 0;
  p->out_msgs = 0;
}

void grove__peer_drop_output(grove__peer *p) {
  while (p->sealed) {
    grove__frame *f = p->sealed;
    p->sealed = f->next;
    free(f->data);
    free(f);
  }
  p->sealed_tail = &p->sealed;
  p->out.size = 0;
  p->out_envs = 0;
  p->out_msgs = 0;
}

grove_greenlet *grove__node_flush_cb(grove__cb *cb) {
  grove__node *n = grove__container_of(cb, grove__node, flush_cb);
  n->flush_scheduled = 0;
  /* Grants owed since the last round (receives took messages) go first. */
  grove__flow_credit_all(n, 0); /* the flush is next */
  int blocked = 0;
  for (size_t i = 0; i < n->npeers; i++) {
    grove__peer *p = n->peers[i];
    if ((p->out.size || p->sealed) && grove__peer_flush(n, p) != 0 && p->state == GROVE__P_UP)
      blocked = 1;
  }
  if (blocked && !uv_is_active((uv_handle_t *)&n->retry_timer))
    uv_timer_start(&n->retry_timer, grove__retry_timer_cb, 1, 0);
  return NULL;
}

void grove__node_schedule_flush(grove__node *n) {
  if (!n->flush_scheduled) {
    n->flush_scheduled = 1;
    grove__schedule(n->hub, &n->flush_cb);
  }
}

void grove__retry_timer_cb(uv_timer_t *t) {
  grove__node *n = t->data;
  grove__node_schedule_flush(n);
}

/* The packer of a peer's buffer, for an envelope of about `size` bytes. */
msgpack_packer *grove__node_begin_env(grove__node *n, grove__peer *p, size_t size) {
  if (p->out.size && p->out.size + size > p->batch_max && grove__peer_flush(n, p) != 0)
    seal(p); /* ZeroMQ pushes back: keep frames within what the peer accepts */
  p->out_envs++;
  n->stats.sent++;
  grove__node_schedule_flush(n);
  return &p->pk;
}

/* Control envelopes (monitors, links, hellos) go out whatever the bound. */
grove__peer *grove__peer_for_ref(grove__node *n, grove_ref r) {
  grove__peer *p = grove__peer_by_id(n, r.node);
  return p && p->state != GROVE__P_DOWN && p->state != GROVE__P_NEW ? p : NULL;
}

void grove__peer_send_hello(grove__node *n, grove__peer *p, int kind, const char *ident,
                            size_t ilen) {
  /* A hello goes alone and at once, ahead of buffered traffic (which waits
   * for the handshake). The window is written only when it is not the
   * default, so that a node of an earlier release (which takes 5 or 6
   * elements) still shakes hands. Its incarnation is this pair's session
   * (grove__peer_our_incarnation). */
  msgpack_sbuffer hello;
  msgpack_sbuffer_init(&hello);
  msgpack_packer pk;
  msgpack_packer_init(&pk, &hello, msgpack_sbuffer_write);
  grove__w_hello(&pk, kind, n->name, grove__peer_our_incarnation(n, p), n->endpoint,
                 n->opts.max_message, n->opts.window == GROVE__WINDOW_DEFAULT ? 0 : n->opts.window);
  if (grove__peer_zsend(n, p, ident, ilen, hello.data, hello.size) == 0)
    n->stats.sent++;
  msgpack_sbuffer_destroy(&hello);
  grove__node_check_events(n);
}

/* ---- the actor layer's remote operations ---------------------------------------------- */

static int r_send(grove_ref to, grove_msg *m, uint64_t deadline) {
  grove__node *n = grove__node_current();
  grove__peer *p = n ? grove__peer_by_id(n, to.node) : NULL;
  size_t size = m->body.size + strlen(m->tag) + GROVE__ENV_OVERHEAD;
  int rc = 0;
  if (!p || p->state == GROVE__P_NEW || p->state == GROVE__P_DOWN)
    rc = GROVE_EHOSTUNREACH;
  else if (m->blob)
    rc = GROVE_EINVAL; /* a blob is a local pointer: it cannot cross */
  else if (m->body.size + 256 > p->max_message)
    rc = GROVE_EMSGSIZE;
  else
    rc = grove__flow_admit(&n, &p, to, size, deadline);
  if (rc) {
    grove__dead_letter_here(to, m, rc);
    return rc;
  }
  grove__flow_announce_sender(n, p, m->sender);
  msgpack_packer *pk = grove__node_begin_env(n, p, size);
  size_t mark = grove__data_mark(p);
  grove__w_send(pk, to, NULL, grove__node_wire_ref(n, m->sender), m->tag, m->body.data,
                m->body.size, 0, 0);
  grove__data_count(p, mark);
  grove_msg_free(m);
  return 0;
}

/* A send from another hub, on the node's hub (actor/node_hubs.c): at once
 * when the fast path of flow control admits it, else GROVE_EAGAIN and the
 * message stays the caller's (it is sent from a greenlet that may wait). */
static int r_send_try(grove_ref to, grove_msg *m) {
  grove__node *n = grove__node_current();
  grove__peer *p = n ? grove__peer_by_id(n, to.node) : NULL;
  if (p && p->state != GROVE__P_NEW && p->state != GROVE__P_DOWN && !m->blob &&
      m->body.size + 256 <= p->max_message) {
    uint64_t inflight = p->sent_bytes - p->acked_bytes;
    size_t size = m->body.size + strlen(m->tag) + GROVE__ENV_OVERHEAD;
    if (p->targets.n != 0 || !grove__flowq_idle(&p->linkq) ||
        (inflight != 0 && inflight + size > p->window))
      return GROVE_EAGAIN;
  }
  return r_send(to, m, 0); /* admitted, or refused as a send would be */
}

static int r_reply(uint32_t peer, uint64_t token, grove_ref caller, grove_msg *reply) {
  grove__node *n = grove__node_current();
  if (n)
    grove__rcall_done(n, peer, token); /* answered */
  grove__peer *p = n ? grove__peer_by_id(n, peer) : NULL;
  if (!p || p->state != GROVE__P_UP || reply->blob) {
    grove__dead_letter_here(caller, reply, reply->blob ? GROVE_EINVAL : GROVE_EHOSTUNREACH);
    return reply->blob ? GROVE_EINVAL : 0;
  }
  if (reply->body.size + strlen(reply->tag) + 256 > p->max_message) {
    /* Larger than the caller's node accepts (its hello said): it would
     * drop the frame, and the caller wait for its timeout. The caller is
     * told at once instead, as a send is refused. */
    grove_ref from = grove__node_wire_ref(n, reply->sender);
    grove__dead_letter_here(caller, reply, GROVE_EMSGSIZE);
    grove__reply_error(n, p, token, GROVE_EMSGSIZE, 0, from);
    return GROVE_EMSGSIZE;
  }
  /* A reply never waits for the window (grove_reply does not block), but
   * it counts. */
  int status = (reply->flags & GROVE__MSG_ERROR) ? reply->error : 0;
  grove__flow_announce_sender(n, p, reply->sender);
  msgpack_packer *pk =
      grove__node_begin_env(n, p, reply->body.size + strlen(reply->tag) + GROVE__ENV_OVERHEAD);
  size_t mark = grove__data_mark(p);
  grove__w_reply(pk, token, status, grove__node_wire_ref(n, reply->sender), reply->tag,
                 reply->body.data, reply->body.size);
  grove__data_count(p, mark);
  grove_msg_free(reply);
  return 0;
}

static int r_monitor(grove_ref watcher, grove_ref target, uint64_t id) {
  grove__node *n = grove__node_current();
  grove__peer *p = n ? grove__peer_for_ref(n, target) : NULL;
  if (!p || p->state != GROVE__P_UP)
    return GROVE_EHOSTUNREACH;
  int rc = grove__rmon_add(p, id, watcher, target);
  if (rc)
    return rc;
  grove__w_monitor(grove__node_begin_env(n, p, 64), GROVE__W_MONITOR,
                   grove__node_wire_ref(n, watcher), target, id);
  return 0;
}

static int r_demonitor(uint64_t id) {
  grove__node *n = grove__node_current();
  if (!n)
    return GROVE_ENOENT;
  for (size_t i = 0; i < n->npeers; i++) {
    grove__peer *p = n->peers[i];
    grove_ref target;
    if (grove__rmon_take(p, id, &target) == 0) {
      if (p->state == GROVE__P_UP)
        grove__w_monitor(grove__node_begin_env(n, p, 64), GROVE__W_DEMONITOR, GROVE_REF_NULL,
                         target, id);
      return 0;
    }
  }
  return GROVE_ENOENT;
}

static void r_down(grove_ref watcher, uint64_t id, grove_ref target, int reason) {
  grove__node *n = grove__node_current();
  grove__peer *p = n ? grove__peer_for_ref(n, watcher) : NULL;
  if (p && p->state == GROVE__P_UP)
    grove__w_down(grove__node_begin_env(n, p, 64), watcher, id, grove__node_wire_ref(n, target),
                  reason);
}

static int r_link(grove_ref local, grove_ref remote) {
  grove__node *n = grove__node_current();
  grove__peer *p = n ? grove__peer_for_ref(n, remote) : NULL;
  if (!p || p->state != GROVE__P_UP)
    return GROVE_EHOSTUNREACH;
  int rc = grove__rlink_add(p, local, remote);
  if (rc == 0)
    grove__w_link(grove__node_begin_env(n, p, 64), GROVE__W_LINK, grove__node_wire_ref(n, local),
                  remote);
  return rc;
}

static void r_unlink(grove_ref local, grove_ref remote) {
  grove__node *n = grove__node_current();
  grove__peer *p = n ? grove__peer_for_ref(n, remote) : NULL;
  if (!p)
    return;
  grove__rlink_remove(p, local, remote);
  if (p->state == GROVE__P_UP)
    grove__w_link(grove__node_begin_env(n, p, 64), GROVE__W_UNLINK, grove__node_wire_ref(n, local),
                  remote);
}

static int r_exit(grove_ref to, grove_ref from, int reason, int how) {
  grove__node *n = grove__node_current();
  grove__peer *p = n ? grove__peer_by_id(n, to.node) : NULL;
  if (p && how == GROVE__EXIT_LINK)
    grove__rlink_remove(p, from, to); /* the link is gone, whether or not the signal can go */
  if (!p || p->state != GROVE__P_UP)
    return GROVE_EHOSTUNREACH;
  msgpack_packer *pk = grove__node_begin_env(n, p, 64);
  if (how == GROVE__EXIT_SIGNAL)
    grove__w_exit2(pk, grove__node_wire_ref(n, from), to, reason);
  else
    grove__w_exit(pk, grove__node_wire_ref(n, from), to, reason, how == GROVE__EXIT_KILL);
  return 0;
}

/* A local actor ended: flow control forgets it, and the calls it took from
 * other nodes without answering fail now (as a local caller's do:
 * GROVE_EEXITED with its reason). */
static void r_ended(grove_ref target, int reason) {
  grove__flow_ended(target);
  grove__node *n = grove__node_current();
  if (n && n->nrcalls)
    grove__rcalls_ended(n, target, reason);
}

const grove__remote_ops grove__node_remote_ops = {
    .send = r_send,
    .send_try = r_send_try,
    .call = grove__r_call,
    .call_async = grove__r_call_async,
    .call_cancel = grove__r_call_cancel,
    .reply = r_reply,
    .monitor = r_monitor,
    .demonitor = r_demonitor,
    .down = r_down,
    .link = r_link,
    .unlink = r_unlink,
    .exit = r_exit,
    .consumed = grove__flow_consumed,
    .ended = r_ended,
};
