/* transport/transport_internal.h - the node's structures, shared by the
 * transport's files. Not installed.
 *
 *   node.c      starting and stopping a node, logging, stats
 *   peer.c      the peer table, handshakes, heartbeats, connecting, node
 *               monitors, a peer going up or down
 *   out.c       batching and flushing envelopes; the actor layer's remote
 *               operations
 *   dispatch.c  receiving frames and dispatching their envelopes
 *   calls.c     remote calls and whereis waiting for answers; remote
 *               monitor and link records
 *   wire.c      the envelope codec (pure: no node, no socket)
 *   zap.c       CURVE client authorisation
 *   cluster.c   worker processes under a supervisor
 *
 * The transport sees the layers under it only through hub/api/hub_api.h
 * and actor/api/actor_api.h. */
#ifndef GROVE_TRANSPORT_INTERNAL_H
#define GROVE_TRANSPORT_INTERNAL_H

#include "actor_api.h"
#include "wire.h"

#include <grove/transport.h>

#include <errno.h>
#include <zmq.h>

#define GROVE__BATCH_MAX (32 * 1024)     /* a frame is sent once its batch is this big */
#define GROVE__OUT_MAX (4 * 1024 * 1024) /* senders wait while a blocked buffer is bigger */
#define GROVE__LOG_INTERVAL_NS (10ull * 1000000000ull)

enum { GROVE__P_NEW = 0, GROVE__P_CONNECTING, GROVE__P_UP, GROVE__P_DOWN };

/* A monitor held by a local actor on a remote one. */
typedef struct grove__rmon {
  uint64_t id;
  grove_ref watcher, target;
} grove__rmon;

/* A link between a local actor and a remote one. */
typedef struct grove__rlink {
  grove_ref local, remote;
} grove__rlink;

typedef struct grove__peer {
  char name[GROVE__NAME_MAX + 1];
  size_t name_len;
  uint32_t id;
  int state;
  uint8_t we_connected;
  char *endpoint;
  uint64_t incarnation;
  size_t max_message, batch_max; /* what it accepts, as it said in its hello */
  uint64_t last_recv, last_sent, log_at;
  msgpack_sbuffer out; /* envelopes waiting for the next frame */
  msgpack_packer pk;
  size_t out_envs;
  grove__list waiters; /* greenlets waiting for it to be up */
  grove__list senders; /* greenlets waiting for room in `out` */
  grove_ref *watchers; /* grove_monitor_node */
  size_t nwatchers, capwatchers;
  grove__rmon *monitors;
  size_t nmonitors, capmonitors;
  grove__rlink *links;
  size_t nlinks, caplinks;
} grove__peer;

typedef struct grove__call grove__call;

typedef struct grove__node {
  grove_hub *hub;
  char name[GROVE__NAME_MAX + 1];
  uint32_t id;
  uint64_t incarnation;
  char endpoint[256];
  grove_node_opts opts;
  void *zctx, *sock, *zap;
  char **zap_allowed; /* decoded 32-byte keys */
  size_t nzap_allowed;
  uint64_t zap_log_at;
  uint8_t curve;
  char curve_public[41], curve_secret[41], curve_server_key[41];
  uv_poll_t poll;
  uv_poll_t *zap_poll;
  uv_timer_t hb_timer, retry_timer;
  int closing;
  grove__peer **peers;
  size_t npeers, cappeers;
  grove__peer *last_peer; /* the last one looked up by id: sends come in runs */
  grove__cb flush_cb, drain_cb, tick_cb;
  uint8_t flush_scheduled, drain_scheduled, tick_scheduled;
  size_t batch_max; /* a frame is sent once its batch is this big */
  grove_node_stats stats;
  uint64_t log_at, log_suppressed;
  grove_event *changed; /* set when a peer goes up or down */
  /* calls and whereis requests waiting for a reply, by id */
  grove__call **calls;
  size_t ncalls, capcalls;
  uint64_t next_call;
} grove__node;

/* This hub's node (NULL: none started): its GROVE__LAYER_NODE slot. */
grove__node *grove__node_current(void);

/* node.c */
/* Log a line about the node or a peer, at most once per peer per interval
 * (a flood of bad frames must not become a flood of log lines). */
void grove__node_log(grove__node *n, grove__peer *p, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A ref as it goes on the wire (ours carry our id) and as it comes off it
 * (ours are local: node 0). */
static inline grove_ref grove__node_wire_ref(grove__node *n, grove_ref r) {
  if (r.node == 0 && r.id != 0)
    r.node = n->id;
  return r;
}
static inline grove_ref grove__node_local_ref(grove__node *n, grove_ref r) {
  if (r.node == n->id)
    r.node = 0;
  return r;
}

/* ZeroMQ's errors are errno values: as negative codes. */
static inline int grove__zmq_err(void) { return errno ? -errno : GROVE_EINVAL; }
static inline int grove__zmq_set(void *s, int opt, const void *v, size_t len) {
  return zmq_setsockopt(s, opt, v, len) == 0 ? 0 : grove__zmq_err();
}
static inline int grove__zmq_set_int(void *s, int opt, int v) {
  return grove__zmq_set(s, opt, &v, sizeof v);
}

/* peer.c */
grove__peer *grove__peer_by_id(grove__node *n, uint32_t id);
grove__peer *grove__peer_by_name(grove__node *n, const char *name, size_t len);
grove__peer *grove__peer_add(grove__node *n, const char *name, size_t len);
void grove__peer_free(grove__peer *p);
/* A peer that control envelopes can go to (connecting or up), or NULL. */
grove__peer *grove__peer_for_ref(grove__node *n, grove_ref r);
void grove__peer_send_hello(grove__node *n, grove__peer *p, int kind);
void grove__peer_up(grove__node *n, grove__peer *p, const grove__env *e);
void grove__peer_down(grove__node *n, grove__peer *p, const char *why);
void grove__node_peer_lost(const char *name); /* cluster: a worker process exited */
grove_greenlet *grove__node_tick_cb(grove__cb *cb);
void grove__node_hb_timer_cb(uv_timer_t *t);

/* out.c */
extern const grove__remote_ops grove__node_remote_ops;
/* The packer of a peer's buffer for one more envelope. */
msgpack_packer *grove__node_begin_env(grove__node *n, grove__peer *p);
/* Wait for room in a peer's buffer (its bound, GROVE__OUT_MAX). */
int grove__node_wait_room(grove__node *n, grove__peer *p, uint64_t deadline);
int grove__peer_flush(grove__node *n, grove__peer *p);
void grove__node_schedule_flush(grove__node *n);
grove_greenlet *grove__node_flush_cb(grove__cb *cb);
void grove__retry_timer_cb(uv_timer_t *t);

/* dispatch.c */
void grove__node_drain(grove__node *n);
void grove__node_schedule_drain(grove__node *n);
void grove__node_check_events(grove__node *n);
grove_greenlet *grove__node_drain_cb(grove__cb *cb);
void grove__node_poll_cb(uv_poll_t *h, int status, int events);

/* calls.c */
int grove__r_call(grove_ref to, grove_msg *m, grove_msg **reply, uint64_t deadline);
void grove__call_complete(grove__node *n, grove__peer *p, const grove__env *e);
void grove__calls_fail_node(grove__node *n, uint32_t node); /* 0: all */
void grove__calls_free(grove__node *n);
int grove__rmon_add(grove__peer *p, uint64_t id, grove_ref watcher, grove_ref target);
int grove__rmon_take(grove__peer *p, uint64_t id, grove_ref *target);
void grove__rmon_remove(grove__peer *p, uint64_t id);
int grove__rlink_add(grove__peer *p, grove_ref local, grove_ref remote);
void grove__rlink_remove(grove__peer *p, grove_ref local, grove_ref remote);

/* zap.c: CURVE client authorisation (ZeroMQ's ZAP protocol) */
int grove__zap_start(grove__node *n, const char *const *allowed);
void grove__zap_serve(grove__node *n);
void grove__zap_stop(grove__node *n);

#endif
