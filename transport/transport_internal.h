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
 *   flow.c      flow control: the link window, per-target credit for
 *               bounded inboxes, CREDIT envelopes (docs/protocol.md)
 *   members.c   membership: seeds, MEMBERS gossip, the full mesh, grove_nodes,
 *               membership events
 *   global.c    cluster-wide names (GLOBAL envelopes)
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

#define GROVE__BATCH_MAX (32 * 1024)              /* a frame is sent once its batch is this big */
#define GROVE__WINDOW_DEFAULT (16u * 1024 * 1024) /* the link window a peer grants (bytes) */
#define GROVE__CREDIT_STEP (1u * 1024 * 1024)     /* credit goes back mid-pass once this is owed */
#define GROVE__DRAIN_FRAMES                                                                        \
  16 /* frames per drain pass at most: then the actors take what it delivered */
#define GROVE__DRAIN_BYTES                                                                         \
  (160u * 1024)                  /* and bytes per pass: the messages are still in the cache */
#define GROVE__TARGETS_MAX 65536 /* bounded remote actors remembered per peer */
#define GROVE__LOG_INTERVAL_NS (10ull * 1000000000ull)
#define GROVE__OUT_ID_LEN 18 /* a NUL byte, 'g', 16 random bytes: no node name has a NUL */

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

/* Greenlets waiting for credit, first come first served and without
 * barging: the head waits alone and is woken when credit comes; the others
 * wait in `waiters` behind it, and a newcomer queues whenever anybody
 * waits, even if there is credit. (flow.c) */
typedef struct grove__flowq {
  struct grove_greenlet *head;
  grove__list waiters;
} grove__flowq;

/* A table of entries keyed by a ref (each entry's first field), open
 * addressing. (flow.c) */
typedef struct grove__reftab {
  void **slots;
  size_t cap, n;
} grove__reftab;

/* Sender side: a bounded actor of the peer, as its grants told us. */
typedef struct grove__rtarget {
  grove_ref ref;   /* as on the wire: node = the peer's id */
  uint64_t credit; /* messages we may still send it */
  grove__flowq q;
} grove__rtarget;

/* Receiver side: one of our bounded actors the peer sends to. */
typedef struct grove__pair {
  grove_ref target;    /* local: node 0 */
  uint32_t bound;      /* its inbox_max */
  uint32_t held;       /* messages from the peer in its inbox */
  uint32_t credit;     /* messages the peer may still send it */
  uint8_t dirty;       /* on the peer's dirty list: a grant may be due */
  uint8_t announce;    /* tell the peer (a grant even of 0): it may not know */
  uint64_t uncredited; /* bytes that came without credit (enforcement) */
  struct grove__pair *next_dirty;
} grove__pair;

/* A run of data envelopes of one size in flight to a peer (the ledger). */
typedef struct grove__span {
  uint32_t size, count;
} grove__span;

/* A frame sealed while ZeroMQ pushed back: sent before the buffer. */
typedef struct grove__frame {
  struct grove__frame *next;
  size_t size, envs, msgs;
  char *data;
} grove__frame;

typedef struct grove__peer {
  char name[GROVE__NAME_MAX + 1];
  size_t name_len;
  uint32_t id;
  int state;
  uint8_t we_connected;
  char *endpoint;
  uint64_t incarnation; /* its incarnation for us, as its last hello said */
  /* Sessions: our incarnation for this peer is the node's + `session`, one
   * more each time we take it for down, so that its next hello from us
   * tells it so (docs/protocol.md, section 5). */
  uint64_t session;
  /* Routing ids (docs/protocol.md, section 1): `out_id` names our own
   * connection to it (we_connected; unguessable, never a node name), `route`
   * the pipe its session runs on - its name (its connection to us) or
   * out_id - fixed when it comes up: one pipe per session and direction
   * keeps the pair's order. */
  char out_id[GROVE__OUT_ID_LEN];
  char route[GROVE__NAME_MAX + 1];
  size_t route_len;
  uint8_t seen_own, seen_out;    /* since it was last up: a hello came on its connection / ours */
  uint8_t pinned;                /* a greenlet waited for it: never freed (grove__peer_forget) */
  uint64_t redial_at;            /* not up by then: connect again (a redial heals a lost pipe) */
  char *dialled;                 /* the endpoint we connected to (zmq_disconnect needs it) */
  char curve_key[41];            /* the server key we connected with ("": none) */
  size_t max_message, batch_max; /* what it accepts, as it said in its hello */
  uint64_t last_recv, last_sent, log_at;
  msgpack_sbuffer out; /* envelopes waiting for the next frame */
  msgpack_packer pk;
  size_t out_envs;
  size_t out_msgs; /* of them data (SEND, CALL, REPLY): what is lost if it is dropped */
  grove__frame *sealed, **sealed_tail; /* frames ZeroMQ refused, oldest first */
  grove__list waiters;                 /* greenlets waiting for it to be up */
  /* flow control (flow.c): what we send it */
  uint64_t window;                  /* the window it grants us (its hello) */
  uint64_t sent_bytes, acked_bytes; /* data bytes sent / returned by its CREDITs */
  uint64_t flow_epoch;              /* bumped when the flow state starts afresh */
  /* The ledger: the data envelopes counted in sent_bytes and not yet
   * returned, oldest first, run-length encoded by size (a stream of equal
   * messages is one span), so that a peer going down tells how many
   * messages it had not confirmed, not only how many bytes. A ring. */
  grove__span *spans;
  size_t span_head, span_len, span_cap;
  uint32_t span_acked;   /* bytes of the oldest envelope returned already (a foreign peer) */
  uint64_t ledger_msgs;  /* envelopes in it */
  grove__flowq linkq;    /* waiting for the link window */
  grove__reftab targets; /* grove__rtarget: its bounded actors */
  /* ... and what it sends us */
  uint64_t unreturned; /* data bytes processed, not returned in a CREDIT yet */
  grove__reftab pairs; /* grove__pair: our bounded actors it sends to */
  grove__pair *dirty;  /* pairs that may owe it a grant */
  grove_ref *watchers; /* grove_monitor_node */
  size_t nwatchers, capwatchers;
  grove__rmon *monitors;
  size_t nmonitors, capmonitors;
  grove__rlink *links;
  size_t nlinks, caplinks;
  /* observing (introspect.c): messages (SEND, CALL, REPLY) to it, from it,
   * and the ones to or from it that were not delivered; the round trip,
   * measured while something observes (a WHEREIS it answers) */
  uint64_t msgs_sent, msgs_received, msgs_dropped;
  uint64_t ping_id, ping_at; /* the WHEREIS in flight (0: none), when it went */
  int64_t rtt_ns;            /* the last round trip; < 0: not measured */
} grove__peer;

typedef struct grove__call grove__call;
typedef struct grove__members grove__members;
typedef struct grove__global grove__global;

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
  size_t batch_max;   /* a frame is sent once its batch is this big */
  size_t npairs;      /* pairs over all peers: an actor's end costs nothing when 0 */
  uint8_t credit_due; /* a peer may be owed a CREDIT (bytes or grants) */
  grove_node_stats stats;
  uint64_t log_at, log_suppressed;
  grove_event *changed; /* set when a peer goes up or down */
  /* calls and whereis requests waiting for a reply, by id */
  grove__call **calls;
  size_t ncalls, capcalls;
  uint64_t next_call;
  /* calls from other nodes waiting for a local actor's answer (calls.c) */
  struct grove__rcall **rc_byid, **rc_bycallee;
  size_t nrcalls, caprcalls;
  grove__members *members; /* members.c */
  grove__global *global;   /* global.c */
  /* observing (introspect.c) */
  grove_ref introspect;          /* the introspection actor (null: not running) */
  char **introspect_keys;        /* Z85 keys allowed to call it on a CURVE node */
  size_t nintrospect_keys;       /* 0 with curve: only our own key */
  uint8_t zap_all;               /* the ZAP handler admits every key (no curve_allowed) */
  uint8_t clustered;             /* seeds, mesh or a launched worker: the open rule applies */
  uint8_t warned_open;           /* a plain node's warning of an open network, said once */
  const zmq_msg_t *frame;        /* the frame being handled (its CURVE User-Id) */
  int frame_ours;                /* ...arrived on our own connection to the peer */
  struct grove_metrics *metrics; /* opts.metrics_endpoint's server */
} grove__node;

/* Our incarnation as this peer knows it (its session with us). */
static inline uint64_t grove__peer_our_incarnation(const grove__node *n, const grove__peer *p) {
  return n->incarnation + p->session;
}

/* This hub's node (NULL: none started): its GROVE__LAYER_NODE slot. */
grove__node *grove__node_current(void);

/* ---- the node's calls from other hubs (node_fwd.c) ---------------------- */
/* The process's node: published by grove_node_start, withdrawn by stop. */
void grove__node_publish(grove__node *n);
bool grove__node_exists(void);
/* The node's hub when the node runs on another hub than the caller's (a
 * node call must then run there), else NULL. */
grove_hub *grove__node_elsewhere(void);
const char *grove__node_name_elsewhere(int endpoint);
enum {
  GROVE__FWD_STOP,
  GROVE__FWD_NAME_OF,
  GROVE__FWD_STATS,
  GROVE__FWD_CONNECT,
  GROVE__FWD_IS_UP,
  GROVE__FWD_PEERS,
  GROVE__FWD_WAIT_UP,
  GROVE__FWD_MONITOR_NODE,
  GROVE__FWD_DEMONITOR_NODE,
  GROVE__FWD_WHEREIS,
  GROVE__FWD_WHEREIS_WAIT,
  GROVE__FWD_WHEREIS_UNTIL,
  GROVE__FWD_FN /* out->fn(out->arg) there: arg is heap, the ticket's until it comes back */
};
/* In and out values of a forwarded call besides its strings and double. */
typedef struct grove__fwd_out {
  grove_ref ref; /* in: a watcher; out: a whereis answer */
  uint32_t u;
  uint64_t deadline;
  char (*names)[64];
  size_t cap, n;
  grove_node_stats stats;
  const char *cstr;
  int last;
  /* GROVE__FWD_FN: fn runs on the node's hub and returns the call's code.
   * arg (malloc'd) is taken by the call, and handed back in arg when it
   * returns the code (the caller frees it then); when the caller could
   * not wait or gave up, arg is NULL: the node's hub frees it. */
  int (*fn)(void *arg);
  void *arg;
} grove__fwd_out;
/* Run node call `kind` on hub h (the node's) and wait: its result, or
 * GROVE_ENOMEM / GROVE_EPERM (the caller cannot wait) / the wait's error. */
int grove__fwd_call(grove_hub *h, int kind, const char *s1, const char *s2, const char *s3,
                    double d, grove__fwd_out *out);
/* peer.c / calls.c, on the node's hub */
int grove__monitor_node_as(const char *node, grove_ref self);
int grove__demonitor_node_as(const char *node, grove_ref self);
int grove__whereis_until(const char *node, const char *name, grove_ref *out, uint64_t deadline,
                         int *last);

/* node.c */
/* Log a line about the node or a peer, at most once per peer per interval
 * (a flood of bad frames must not become a flood of log lines). */
void grove__node_log(grove__node *n, grove__peer *p, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The same as an event of the given level and kind (grove/log.h), with
 * count in its count field; grove__node_log is GROVE_LOG_WARN, GROVE_LOG_TEXT.
 * A level the threshold drops costs nothing and uses no rate-limit slot. */
void grove__node_log_ev(grove__node *n, grove__peer *p, int level, int kind, uint64_t count,
                        const char *fmt, ...) __attribute__((format(printf, 6, 7)));

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
/* The peer a ZeroMQ routing id names: its name, or our connection's id. */
grove__peer *grove__peer_by_ident(grove__node *n, const char *ident, size_t len);
/* Send one frame to the peer on `ident` (NULL: its route, or our own
 * connection before it is up). Returns 0 or a negative errno. */
int grove__peer_zsend(grove__node *n, grove__peer *p, const char *ident, size_t ilen,
                      const void *data, size_t size);
grove__peer *grove__peer_add(grove__node *n, const char *name, size_t len);
void grove__peer_free(grove__peer *p);
/* A peer that control envelopes can go to (connecting or up), or NULL. */
grove__peer *grove__peer_for_ref(grove__node *n, grove_ref r);
/* A HELLO or WELCOME, alone and at once, on `ident` (NULL: as
 * grove__peer_zsend). */
void grove__peer_send_hello(grove__node *n, grove__peer *p, int kind, const char *ident,
                            size_t ilen);
/* A HELLO/WELCOME from p arrived on the pipe `ident`. */
void grove__peer_up(grove__node *n, grove__peer *p, const grove__env *e, const char *ident,
                    size_t ilen);
void grove__peer_down(grove__node *n, grove__peer *p, const char *why);
void grove__node_peer_lost(const char *name); /* cluster: a worker process exited */
/* cluster: a peer went down; a worker whose coordinator it was exits */
void grove__cluster_peer_down(grove__node *n, const char *peer, const char *why);
grove_greenlet *grove__node_tick_cb(grove__cb *cb);
void grove__node_hb_timer_cb(uv_timer_t *t);

/* Connect to the peer `name` at `endpoint` without waiting (the non-blocking
 * part of grove_node_connect_ex): the peer is created if need be, dialled
 * unless we are connected to it already, and sent a hello. *out: the peer
 * (NULL on GROVE_EEXIST, GROVE_ENOMEM). Returns 0, GROVE_EEXIST (another
 * name has its id), GROVE_EINVAL (no CURVE key), GROVE_ENOMEM, or ZeroMQ's. */
int grove__peer_dial(grove__node *n, const char *name, size_t len, const char *endpoint,
                     const char *server_key, grove__peer **out);
/* Stop connecting to p (it is not up) and, unless somebody still holds it
 * (waiters, monitors, buffered messages), remove it from the table and free
 * it. Returns 0 (freed) or GROVE_EBUSY (kept, not dialled any more). Never
 * from inside a pass that holds p (a frame's dispatch, the tick's loop). */
int grove__peer_forget(grove__node *n, grove__peer *p);
/* Make our connection out_id (to endpoint, not yet any peer's: a seed
 * known by its endpoint only) p's. GROVE_EEXIST if p has one already. */
int grove__peer_adopt_dial(grove__node *n, grove__peer *p, const char out_id[GROVE__OUT_ID_LEN],
                           const char *endpoint);
/* zmq_connect to `endpoint` under a fresh routing id of ours (out: the
 * id), with the CURVE client keys when the node has them. */
int grove__zdial(grove__node *n, const char *endpoint, const char *curve_key,
                 char id[GROVE__OUT_ID_LEN]);

/* members.c: membership (docs/transport.md, "Clusters beyond one machine") */
/* Before anything else: copy and check the options (GROVE_EINVAL for a
 * bad seed or advertise), allocate. */
/* transport/security.c: whether an endpoint is loopback (tcp to 127/8,
 * ::1, localhost; ipc, inproc), and the rule - what ("bind", "connect
 * to", ...) may touch a network only with CURVE or allow_open: 0, or
 * GROVE_EINSECURE with an error line. */
int grove__endpoint_is_loopback(const char *endpoint);
int grove__open_check(const char *what, const char *endpoint, int curve, int allow_open);
/* A plain node (not in a cluster) on a network without CURVE: one warning
 * line, not a refusal (security.c). */
void grove__open_warn(grove__node *n, const char *what, const char *endpoint);
/* Set by grove_cluster_join around its grove_node_start: the node is a
 * launched worker (cluster.c). */
extern _Thread_local int grove__cluster_joining;
int grove__members_init(grove__node *n, const grove_node_opts *opts);
/* Once the node runs: dial the seeds. */
void grove__members_start(grove__node *n);
/* grove_node_stop, after the peers went down: free everything. */
void grove__members_stop(grove__node *n);
/* A peer came up / went down (peer.c, at the end of the transition). */
void grove__members_peer_up(grove__node *n, grove__peer *p);
void grove__members_peer_down(grove__node *n, grove__peer *p, const char *why);
/* The _to form of a node watch (grove_monitor_node_to, grove_monitor_nodes_to):
 * a queue proxy (grove__watch_new) registered by as(arg, proxy), cancelled if
 * that fails; *id gets the watch's id. */
int grove__node_watch_to(grove_queue *q, uint64_t *id, int (*as)(const void *arg, grove_ref who),
                         const void *arg);
/* A goodbye from a peer already down: membership forgets it (members.c). */
void grove__members_peer_left(grove__node *n, grove__peer *p);
/* A MEMBERS envelope from p (up). */
void grove__members_in(grove__node *n, grove__peer *p, const grove__env *e);
/* Every heartbeat tick: seeds, retries, forgetting. */
void grove__members_tick(grove__node *n);
/* A HELLO/WELCOME on our connection to a seed given by endpoint only
 * (whose name we learn from it): the peer it becomes, or NULL (drop it). */
grove__peer *grove__members_seed_hello(grove__node *n, const char *ident, size_t ilen,
                                       const grove__env *e);
/* Whether p has shown it speaks MEMBERS/GLOBAL in this session. */
int grove__members_speaks(grove__node *n, const grove__peer *p);
/* The endpoint told to peers: opts.advertise, or the one bound. */
const char *grove__node_advertised(const grove__node *n);

/* global.c: cluster-wide names */
void grove__global_in(grove__node *n, grove__peer *p, const grove__env *e);
/* p has shown it speaks GLOBAL: it gets our registrations. */
void grove__global_peer_ready(grove__node *n, grove__peer *p);
/* p went down: the names it owned go. */
void grove__global_peer_down(grove__node *n, grove__peer *p);
/* A local actor ended: the names it held go, everywhere. */
void grove__global_ended(grove__node *n, grove_ref ref);
void grove__global_free(grove__node *n);

/* out.c */
extern const grove__remote_ops grove__node_remote_ops;
/* The packer of a peer's buffer for one more envelope of about `size`
 * bytes (a larger one starts a frame of its own). */
msgpack_packer *grove__node_begin_env(grove__node *n, grove__peer *p, size_t size);
/* Data envelopes (SEND, CALL, REPLY) count against the link window: note
 * the buffer's size before encoding one, count it after. */
static inline size_t grove__data_mark(const grove__peer *p) { return p->out.size; }
void grove__ledger_add_slow(grove__peer *p, uint32_t size);
static inline void grove__data_count(grove__peer *p, size_t mark) {
  size_t size = p->out.size - mark;
  if (size == 0)
    return;
  p->sent_bytes += size;
  p->out_msgs++; /* an envelope was written */
  p->msgs_sent++;
  p->ledger_msgs++;
  if (GROVE__LIKELY(p->span_len != 0)) {
    grove__span *t = &p->spans[(p->span_head + p->span_len - 1) & (p->span_cap - 1)];
    if (GROVE__LIKELY(t->size == size && t->count != UINT32_MAX)) {
      t->count++;
      return;
    }
  }
  grove__ledger_add_slow(p, size > UINT32_MAX ? UINT32_MAX : (uint32_t)size);
}
/* Messages sent to p and not confirmed that were handed to ZeroMQ (not
 * buffered here). */
uint64_t grove__ledger_unconfirmed(const grove__peer *p);
/* The most a SEND/CALL envelope adds to a body and tag. */
#define GROVE__ENV_OVERHEAD 64
int grove__peer_flush(grove__node *n, grove__peer *p);
void grove__peer_drop_output(grove__peer *p); /* what is buffered for it (node down) */
void grove__node_schedule_flush(grove__node *n);
grove_greenlet *grove__node_flush_cb(grove__cb *cb);
void grove__retry_timer_cb(uv_timer_t *t);

/* dispatch.c */
void grove__node_drain(grove__node *n);
void grove__node_schedule_drain(grove__node *n);
void grove__node_check_events(grove__node *n);
grove_greenlet *grove__node_drain_cb(grove__cb *cb);
void grove__node_poll_cb(uv_poll_t *h, int status, int events);

/* flow.c */
/* Wait, first come first served, until the running greenlet may send
 * `size` bytes to `to` on peer *pp: one credit of `to`'s if the peer said it
 * is bounded, and room in the link window. On 0 the credit is taken and
 * *np, *pp are the node and peer again (waiting may have changed them);
 * encode at once. Errors: GROVE_ETIMEDOUT, GROVE_ECANCELED, GROVE_ENOENT
 * (`to` is gone), GROVE_EHOSTUNREACH (the peer went down), GROVE_EFULL /
 * GROVE_EAGAIN (the hub's own context cannot wait for a remote inbox /
 * the link window). */
int grove__flow_admit_slow(grove__node **np, grove__peer **pp, grove_ref to, size_t size,
                           uint64_t deadline);
void *grove__reftab_get(const grove__reftab *t, grove_ref r);
static inline int grove__flowq_idle(const grove__flowq *q) {
  return q->head == NULL && grove__list_empty(&q->waiters);
}
/* The fast path: no bounded target of p's known, nobody waiting, room in
 * the window for `size` more bytes. */
static inline bool grove__flow_fast(const grove__peer *p, size_t size) {
  uint64_t inflight = p->sent_bytes - p->acked_bytes;
  return p->targets.n == 0 && grove__flowq_idle(&p->linkq) &&
         (inflight == 0 || inflight + size <= p->window);
}
static inline int grove__flow_admit(grove__node **np, grove__peer **pp, grove_ref to, size_t size,
                                    uint64_t deadline) {
  if (GROVE__LIKELY(grove__flow_fast(*pp, size)))
    return 0;
  return grove__flow_admit_slow(np, pp, to, size, deadline);
}
/* A SEND/CALL of `bytes` from p to our actor `to`, bounded by `bound`:
 * count it. Returns 0 (deliver it) or GROVE_EAGAIN: it came beyond every
 * credit from a peer that ignores flow control (drop it: counted). */
int grove__flow_arrive(grove__node *n, grove__peer *p, grove_ref to, uint32_t bound, size_t bytes);
/* Make sure the peer knows that our actor `target` is bounded before what
 * comes next (a WHEREIS answer naming it, a message from it): a grant goes
 * ahead of it, in order. */
void grove__flow_announce(grove__node *n, grove__peer *p, grove_ref target, uint32_t bound);
/* Before a message from one of our actors goes to p: if it is bounded, p
 * learns so first (it may answer it). */
static inline void grove__flow_announce_sender(grove__node *n, grove__peer *p, grove_ref sender) {
  if (sender.node == 0 && sender.id != 0) {
    uint32_t bound = grove__actor_bound(sender);
    if (GROVE__UNLIKELY(bound != 0))
      grove__flow_announce(n, p, sender, bound);
  }
}
/* A CREDIT from p: its returned bytes and grants. */
void grove__flow_credit_in(grove__node *n, grove__peer *p, const grove__env *e);
/* Return what is owed to p: processed bytes and due grants (a CREDIT,
 * nothing if nothing is owed). With `now`, a CREDIT that returns a frame's
 * worth (GROVE__BATCH_MAX) or more is handed to ZeroMQ at once, with what
 * is buffered before it; otherwise it rides with the next frame. */
void grove__flow_credit_out(grove__node *n, grove__peer *p, int now);
/* The same for every peer that may be owed something. */
void grove__flow_credit_all(grove__node *n, int now);
/* Start the flow state for p afresh: its waiters are woken with `code`
 * (0: they look again; GROVE_EHOSTUNREACH: the peer is down). */
void grove__flow_reset(grove__node *n, grove__peer *p, int code);
void grove__flow_free(grove__peer *p);
/* The actor layer's hooks. */
void grove__flow_consumed(uint32_t origin, grove_ref target);
void grove__flow_ended(grove_ref target);

/* calls.c */
int grove__r_call(grove_ref to, grove_msg *m, grove_msg **reply, uint64_t deadline, int *reason);
int grove__r_call_async(grove_ref to, grove_msg *m, grove__acall *a, uint64_t deadline);
void grove__r_call_cancel(void *rec);
void grove__call_complete(grove__node *n, grove__peer *p, const grove__env *e);
void grove__calls_fail_node(grove__node *n, uint32_t node); /* 0: all */
void grove__calls_free(grove__node *n);
int grove__rmon_add(grove__peer *p, uint64_t id, grove_ref watcher, grove_ref target);
int grove__rmon_take(grove__peer *p, uint64_t id, grove_ref *target);
void grove__rmon_remove(grove__peer *p, uint64_t id);
/* An error REPLY (docs/protocol.md, section 7: tag grove.error, body
 * [status], or [status, reason] for GROVE_EEXITED; `from` the actor that
 * answered, or nil when the node did). */
void grove__reply_error(grove__node *n, grove__peer *p, uint64_t id, int status, int reason,
                        grove_ref from);
/* Calls from other nodes that a local actor took and has not answered: its
 * end answers them (GROVE_EEXITED with its reason, as a local caller
 * gets), a reply takes one out, a peer's down forgets its own. */
void grove__rcall_add(grove__node *n, uint32_t peer, uint64_t id, grove_ref callee);
void grove__rcall_done(grove__node *n, uint32_t peer, uint64_t id);
void grove__rcalls_ended(grove__node *n, grove_ref callee, int reason);
void grove__rcalls_forget_peer(grove__node *n, uint32_t peer);
void grove__rcalls_free(grove__node *n);
int grove__rlink_add(grove__peer *p, grove_ref local, grove_ref remote);
void grove__rlink_remove(grove__peer *p, grove_ref local, grove_ref remote);

/* introspect.c */
/* A SEND or CALL for `to` from p: whether it may reach it. Everything may,
 * except the introspection actor on a CURVE node, which only the allowed
 * keys reach (others are counted, a CALL answered GROVE_EPERM). */
bool grove__introspect_allowed(grove__node *n, grove__peer *p);
/* Start what opts asked for (introspect, metrics_endpoint); stop it. */
int grove__observe_node_start(grove__node *n);
void grove__observe_node_stop(grove__node *n);
/* The heartbeat tick, for an up peer: send a ping if one is due. A REPLY
 * that answers a ping: 1 (it is taken), else 0. */
void grove__ping_tick(grove__node *n, grove__peer *p, uint64_t now);
int grove__ping_reply(grove__node *n, grove__peer *p, const grove__env *e);
static inline bool grove__introspect_admit(grove__node *n, grove__peer *p, grove_ref to) {
  if (GROVE__LIKELY(grove_ref_is_null(n->introspect)) || !n->curve || to.id != n->introspect.id ||
      to.gen != n->introspect.gen || to.node != 0)
    return true;
  return grove__introspect_allowed(n, p);
}

/* zap.c: CURVE client authorisation (ZeroMQ's ZAP protocol). allowed NULL:
 * every key is admitted (the handler runs so that each connection's key is
 * known: its User-Id, the key in Z85). */
int grove__zap_start(grove__node *n, const char *const *allowed);
void grove__zap_serve(grove__node *n);
void grove__zap_stop(grove__node *n);

#endif
