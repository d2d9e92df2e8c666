/* actor/actor_internal.h - structures shared by the actor layer. Not installed.
 *
 * The actor layer is a client of the hub: it uses the hub's internal API
 * (run-queue callbacks, waits, wakes, daemon greenlets) and the hub knows
 * nothing of it.
 */
#ifndef GROVE_ACTOR_INTERNAL_H
#define GROVE_ACTOR_INTERNAL_H

#include "internal.h"

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
  /* Below: not cleared when a message is reused from the cache. */
  char tag_inline[GROVE__MSG_TAG_INLINE];
  char body_inline[GROVE__MSG_BODY_INLINE];
};

/* The actor system of one hub (thread). */
typedef struct grove__actor_slot {
  grove_actor *actor;
  uint32_t gen;
  uint32_t next_free; /* free list, 1-based, 0 = end */
  uint32_t ended_gen; /* the last actor of this slot that ended, and why */
  int ended_reason;
  int ended_started; /* ...and whether its init had returned successfully */
} grove__actor_slot;

typedef struct grove__reg_entry {
  struct grove__reg_entry *next;
  grove_ref ref;
  char name[];
} grove__reg_entry;

#define GROVE__REG_BUCKETS 256

typedef struct grove__actor_sys {
  grove_hub *hub;
  grove__actor_slot *slots;
  uint32_t nslots, free_head;
  size_t capslots;
  size_t nactors;
  grove_greenlet **idle; /* parked runners */
  size_t nidle, capidle;
  grove_msg *free_msgs; /* message cache */
  size_t nfree_msgs;
  grove__reg_entry *reg[GROVE__REG_BUCKETS];
  uint64_t dead_letters;
  grove_dead_letter_fn dl_hook;
  void *dl_arg;
  uint64_t next_token;
  uint64_t next_monitor;
  uint32_t gen_seed; /* first generation of new slots (random per process) */
  msgpack_zone *scratch; /* for the typed readers of message bodies */
} grove__actor_sys;

grove__actor_sys *grove__actor_sys_get(void); /* this thread's, created on demand */

/* ---- the transport's hooks ----------------------------------------------------------
 *
 * The actor layer knows nothing of ZeroMQ: a ref whose node is not 0 goes to
 * these functions, which transport/ installs when a node starts. Each takes
 * ownership of the messages it is given. */
typedef struct grove__remote_ops {
  int (*send)(grove_ref to, grove_msg *m, uint64_t deadline);
  int (*call)(grove_ref to, grove_msg *m, grove_msg **reply, uint64_t deadline);
  int (*reply)(grove_msg *request, grove_msg *reply); /* request->remote != 0 */
  int (*monitor)(grove_ref watcher, grove_ref target, uint64_t id);
  int (*demonitor)(uint64_t id);
  /* A local actor's monitor of a remote watcher fired / links. */
  void (*down)(grove_ref watcher, uint64_t id, grove_ref target, int reason);
  int (*link)(grove_ref local, grove_ref remote);
  void (*unlink)(grove_ref local, grove_ref remote);
  void (*exit)(grove_ref to, grove_ref from, int reason, int kill);
} grove__remote_ops;

/* This thread's node id as it appears in refs on the wire (0: no node). A
 * ref packed into a body with node 0 is written with this id, and read back
 * as 0 on this node. */
extern _Thread_local uint32_t grove__node_id;
void grove__remote_install(const grove__remote_ops *ops); /* NULL: uninstall */

/* For the transport: hand a message that arrived to a local actor (no
 * inbox bound: the sender was already paid for by the wire), as a send or a
 * request (m->remote set). Dead letter + error if `to` is unknown. */
int grove__actor_deliver(grove_ref to, grove_msg *m);
/* A remote actor monitors / stops monitoring / links / unlinks / sends an
 * exit signal to a local one. */
int grove__actor_monitor_remote(grove_ref watcher, grove_ref target, uint64_t id);
void grove__actor_demonitor_remote(grove_ref target, uint64_t id);
int grove__actor_link_remote(grove_ref local, grove_ref remote);
void grove__actor_unlink_remote(grove_ref local, grove_ref remote);
/* Replace a message's body with these msgpack bytes (copied). */
int grove__msg_set_body(grove_msg *m, const void *data, size_t len);
void grove__actor_exit_remote(grove_ref to, grove_ref from, int reason, int kill);
/* Deliver a down message for a remote target to a local watcher. */
void grove__actor_down(uint64_t id, grove_ref watcher, grove_ref target, int reason);

grove_msg *grove__msg_alloc(grove__actor_sys *sys);
void grove__msg_release(grove__actor_sys *sys, grove_msg *m);
void grove__msg_cache_drain(grove__actor_sys *sys);
void grove__msg_taken(grove_msg *m); /* grove_msg_take: tell the running actor */

/* Block until the actor's init has returned: 0 if it succeeded (even if the
 * actor has ended since), else the reason it ended with (its init's error),
 * or GROVE_ENOENT when the ref is unknown. */
int grove__actor_await_init(grove_ref ref);
void grove__dead_letter(grove__actor_sys *sys, grove_ref to, grove_msg *m, int reason);

#endif
