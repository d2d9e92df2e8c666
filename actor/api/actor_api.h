/* actor/api/actor_api.h - the actor layer as the transport sees it. Not
 * installed.
 *
 * The actor layer knows nothing of ZeroMQ: a ref whose node is not 0 goes to
 * the remote operations the transport installs when a node starts, and the
 * transport hands what arrives to the calls below. This header and
 * hub/api/hub_api.h are all transport/ may include of the layers under it.
 */
#ifndef GROVE_ACTOR_API_H
#define GROVE_ACTOR_API_H

#include "hub_api.h"
#include "msgpack_check.h"
#include "ref_codec.h"

#include <grove/actor.h>

#define GROVE__MSG_TAG_INLINE 24
#define GROVE__MSG_BODY_INLINE 48 /* small bodies need no allocation */

enum {
  GROVE__MSG_CALL = 1 << 1,     /* a request: caller/token are set */
  GROVE__MSG_REPLIED = 1 << 2,  /* a reply was sent for it */
  GROVE__MSG_UNPACKED = 1 << 3, /* objs/nobjs are valid */
  GROVE__MSG_BADBODY = 1 << 4,  /* the body is not valid msgpack */
  GROVE__MSG_ERROR = 1 << 6     /* a reply carrying an error (grove_reply_error) */
};

struct grove_msg {
  struct grove_msg *next;
  char *tag; /* tag_inline, or heap for long tags */
  grove_ref sender;
  grove_greenlet *caller; /* requests: the greenlet waiting in grove_call (ref held) */
  uint64_t token;         /* requests: which wait of the caller */
  /* grove_call_async's requests, and their replies on the way to another
   * hub: the call's future record (a reference held; actor/future.c). */
  struct grove__acall *acall;
  msgpack_sbuffer body;
  msgpack_packer pk;
  msgpack_zone *zone; /* unpacked objects live here */
  msgpack_object *objs;
  size_t nobjs;
  void *blob;
  size_t blob_len;
  void (*blob_free)(void *);
  int error; /* error replies; exit signals: the reason */
  uint32_t flags;
  uint32_t remote; /* a request from another node: that node's id (reply goes there) */
  uint32_t origin; /* a message that came from another node: that node's id (0: local) */
  /* The typed readers' cursor: object rd_index starts at byte rd_off (so
   * reading in order costs O(1) a field); key_hint: where grove_msg_key
   * looks first (the pair after the last one it found). */
  uint32_t rd_index, key_hint;
  size_t rd_off;
  /* Crossing to another hub (actor/hubs.c): the queue node, and whom it is
   * for. Set by the sender each time; not cleared on reuse. */
  grove__xnode xnode;
  grove_ref xto;
  /* Below: not cleared when a message is reused from the cache. */
  char tag_inline[GROVE__MSG_TAG_INLINE];
  char body_inline[GROVE__MSG_BODY_INLINE];
};

/* A ref's id: the slot in its low 32 bits (never 0), the index of the hub
 * it lives on in bits 32-47 (0 for a single-hub process: the id is the
 * slot, as it always was), and bit 48 set for an actor with a bounded
 * inbox (so that a sender on another hub knows, from the ref alone, that it
 * must wait for room). Opaque to peers: the wire carries the 64 bits. */
#define GROVE__REF_HUB_SHIFT 32
#define GROVE__REF_HUB_MASK 0xffffull
#define GROVE__REF_BOUNDED (1ull << 48)
/* ... and, in bits 49-63, its bound (capped): what the node's hub grants a
 * remote sender for an actor of another hub, whose struct it cannot read. */
#define GROVE__REF_BOUND_SHIFT 49
#define GROVE__REF_BOUND_MAX 0x7fffu
static inline uint32_t grove__ref_bound(grove_ref r) {
  return (r.id & GROVE__REF_BOUNDED) ? (uint32_t)(r.id >> GROVE__REF_BOUND_SHIFT) : 0;
}
static inline size_t grove__ref_hub(grove_ref r) {
  return (size_t)((r.id >> GROVE__REF_HUB_SHIFT) & GROVE__REF_HUB_MASK);
}
static inline uint32_t grove__ref_slot(grove_ref r) { return (uint32_t)r.id; }

/* How an exit signal crosses between nodes. */
enum {
  GROVE__EXIT_LINK = 0,  /* a link's: applies only while the link exists, and breaks it */
  GROVE__EXIT_KILL = 1,  /* grove_actor_exit(ref, GROVE_EXIT_KILLED): always, untrappable */
  GROVE__EXIT_SIGNAL = 2 /* grove_actor_exit with another reason: always, as locally */
};

/* ---- call futures (actor/future.c) -------------------------------------------------
 *
 * A grove_call_async to a remote ref hands the transport the call's record:
 * the transport keeps it (one reference) with its pending call, settles it
 * once with the REPLY, a node-down or its own failure, and then drops its
 * reference. call_cancel(rec) is the user freeing the future first: the
 * transport forgets the pending call (a later REPLY finds none: counted as
 * unknown_target) and drops its reference. */
typedef struct grove__acall grove__acall;
/* Settle the future: with `reply` (taken; an error reply - GROVE__MSG_ERROR -
 * settles it with its code and reason), or with status (< 0) and, for
 * GROVE_EEXITED, the callee's exit reason. A future that is already settled
 * or was freed drops the reply as a dead letter. On the record's hub. */
void grove__acall_settle(grove__acall *c, grove_msg *reply, int status, int reason);
void grove__acall_unref(grove__acall *c);
/* The transport's pending record for c (NULL: none any more). */
void grove__acall_set_remote(grove__acall *c, void *rec);

/* The exit reason an error reply carries (body [code, reason]); for a
 * GROVE_EEXITED reply without one, GROVE_EFAILED. */
int grove__error_reply_reason(grove_msg *r);

/* ---- the transport's hooks --------------------------------------------------------
 *
 * Each takes ownership of the messages it is given. */
typedef struct grove__remote_ops {
  int (*send)(grove_ref to, grove_msg *m, uint64_t deadline);
  /* send without waiting: GROVE_EAGAIN (m untouched) if it would have to
   * wait for credit, else what send returns. The node's hub uses it for
   * the sends of other hubs (the proxies have none). */
  int (*send_try)(grove_ref to, grove_msg *m);
  /* *reason: the callee's exit reason when it returns GROVE_EEXITED. */
  int (*call)(grove_ref to, grove_msg *m, grove_msg **reply, uint64_t deadline, int *reason);
  /* grove_call_async: 0 once the request is on its way (the transport took
   * a reference on c and settles it later), or an error (c untouched). */
  int (*call_async)(grove_ref to, grove_msg *m, grove__acall *c, uint64_t deadline);
  void (*call_cancel)(void *rec);
  /* The reply to request `token` of node `peer` (request->remote, ->token,
   * ->sender: the caller). */
  int (*reply)(uint32_t peer, uint64_t token, grove_ref caller, grove_msg *reply);
  int (*monitor)(grove_ref watcher, grove_ref target, uint64_t id);
  int (*demonitor)(uint64_t id);
  /* A local actor's monitor of a remote watcher fired / links. */
  void (*down)(grove_ref watcher, uint64_t id, grove_ref target, int reason);
  int (*link)(grove_ref local, grove_ref remote);
  void (*unlink)(grove_ref local, grove_ref remote);
  /* An exit signal (how: GROVE__EXIT_*). Returns 0, or GROVE_EHOSTUNREACH
   * when `to`'s node is not up (the signal cannot go). */
  int (*exit)(grove_ref to, grove_ref from, int reason, int how);
  /* Flow control: a message that came from node `origin` has left the inbox
   * of `target`, a bounded actor (receive took it): room for one more from
   * that node. */
  void (*consumed)(uint32_t origin, grove_ref target);
  /* A local actor has ended with `reason` (its refs are stale now). */
  void (*ended)(grove_ref target, int reason);
} grove__remote_ops;

/* Install the remote operations for this hub's actors, with this hub's node
 * id as it appears in refs on the wire: a ref packed into a body with node 0
 * is written with this id, and read back as 0 here. The other hubs of the
 * process reach the node through proxies from then on (actor/node_hubs.c).
 * NULL ops and 0: uninstall. Returns 0 or GROVE_ENOMEM. */
int grove__remote_install(const grove__remote_ops *ops, uint32_t node_id);

/* Hand a message that arrived to a local actor (no inbox bound: the sender
 * was already paid for by the wire), as a send or a request (m->remote set).
 * Dead letter + error if `to` is unknown. */
int grove__actor_deliver(grove_ref to, grove_msg *m);
/* The transport's peer `node` went up or down (on the node's hub): the
 * other hubs' proxies answer GROVE_EHOSTUNREACH for a node that is not up
 * (node_hubs.c). */
void grove__remote_peer_up(uint32_t node, bool up);
/* Whether ref names no live actor of this process (of any hub of the
 * group: grove_actor_alive). */
bool grove__actor_gone(grove_ref ref);
/* The inbox bound (inbox_max) of a live local actor: 0 for an unbounded
 * one or a ref that names no live actor. Flow control grants other nodes
 * credit for bounded inboxes only. */
uint32_t grove__actor_bound(grove_ref to);
/* A remote actor monitors / stops monitoring / links / unlinks / sends an
 * exit signal to a local one. */
int grove__actor_monitor_remote(grove_ref watcher, grove_ref target, uint64_t id);
void grove__actor_demonitor_remote(grove_ref target, uint64_t id, uint32_t watcher_node);
int grove__actor_link_remote(grove_ref local, grove_ref remote);
void grove__actor_unlink_remote(grove_ref local, grove_ref remote);
/* An exit signal from a remote actor (how: GROVE__EXIT_*). A link's signal
 * for a link that is not there (any more) is ignored: it is stale. */
void grove__actor_exit_remote(grove_ref to, grove_ref from, int reason, int how);
/* The node `node` went down here: forget the monitors its actors held on
 * ours, without telling them (that node fires its own). */
void grove__actor_forget_node(uint32_t node);
/* Deliver a down message for a remote target to a local watcher. */
void grove__actor_down(uint64_t id, grove_ref watcher, grove_ref target, int reason);
/* Replace a message's body with these msgpack bytes (copied). */
int grove__msg_set_body(grove_msg *m, const void *data, size_t len);
/* Count a message that cannot be delivered as a dead letter (the hook sees
 * it) and free it. */
void grove__dead_letter_here(grove_ref to, grove_msg *m, int reason);

/* The actor (of this hub) makes no crash report, and as a supervisor no
 * restart or give-up reports: for the library's own actors whose owner
 * logs what happened in its own words (the cluster's workers and their
 * supervisor). 0 or GROVE_ENOENT. */
int grove__actor_set_quiet(grove_ref ref);

/* watch.c: a greenlet's watch - a proxy actor on this hub whose
 * notifications (node: GROVE_TAG_NODEDOWN/NODEUP, else GROVE_TAG_DOWN with
 * its id) go into q. *proxy is the watcher ref to register; *id the id
 * grove_demonitor takes (node watches: fixed here). grove__watch_cancel(id)
 * ends it (as grove_demonitor). */
int grove__watch_new(grove_queue *q, int node, grove_ref *proxy, uint64_t *id);
void grove__watch_cancel(uint64_t id);

#endif
