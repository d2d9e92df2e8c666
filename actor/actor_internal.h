/* actor/actor_internal.h - structures shared by the actor layer's files.
 * Not installed, and not visible to the transport (it sees
 * actor/api/actor_api.h, which this file includes).
 *
 * The actor layer is a client of the hub: it uses the hub's layer API
 * (run-queue callbacks, waits, wakes, daemon greenlets, a per-hub state
 * slot) and the hub knows nothing of it. Its files:
 *   actor.c     the system of one hub, refs and slots, runners, spawning,
 *               running receive, ending
 *   send.c      send, call, reply
 *   future.c    grove_call_async: replies as futures
 *   exits.c     exit signals, links, monitors, and the transport's entry
 *               points for them
 *   registry.c  names
 *   msg.c       messages and their msgpack bodies
 *   supervisor.c OTP supervisors (an actor class of its own)
 *   group.c     actors as members of a grove_group (Group, Pool)
 */
#ifndef GROVE_ACTOR_INTERNAL_H
#define GROVE_ACTOR_INTERNAL_H

#include "actor_api.h"

#include <stdatomic.h>

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

/* An intrusive hash table of records chained through `hnext` (exits.c). */
typedef struct grove__table {
  void **buckets;
  size_t nbuckets, count;
} grove__table;

/* The actor system of one hub: its state slot GROVE__LAYER_ACTOR. */
typedef struct grove__actor_sys {
  grove_hub *hub;
  grove__actor_slot *slots; /* stored with release, read by other hubs (actor.c) */
  /* the arrays it replaced that a reader on another hub may still hold */
  struct retired_slots *retired;
  uint32_t nslots, free_head;
  size_t capslots;
  size_t nactors;
  grove_greenlet **idle; /* parked runners */
  size_t nidle, capidle;
  grove_msg *free_msgs; /* message cache */
  size_t nfree_msgs;
  grove__reg_entry *reg[GROVE__REG_BUCKETS]; /* names of a hub that is not grouped */
  size_t index;                              /* the hub's index (grove_hubs_start) */
  uint64_t id_base;                          /* index << GROVE__REF_HUB_SHIFT */
  uint64_t dead_letters;
  /* observe.c: messages handled by actors that have ended (the live ones
   * count their own), and children restarted by supervisors of this hub */
  uint64_t ended_messages;
  uint64_t restarts;
  grove_dead_letter_fn dl_hook;
  void *dl_arg;
  uint64_t next_token;
  uint64_t next_monitor;
  uint32_t gen_seed;     /* first generation of new slots (random per process) */
  msgpack_zone *scratch; /* for the typed readers of message bodies */
  /* the transport (grove__remote_install) */
  const grove__remote_ops *remote;
  uint32_t node_id;             /* this hub's node as it appears in refs on the wire (0: none) */
  grove__table monitors, links; /* exits.c */
  struct grove__watch *watches; /* watch.c: the greenlets' monitors */
  grove__list name_waiters;     /* greenlets in grove_whereis_wait (registry.c) */
} grove__actor_sys;

grove__actor_sys *grove__actor_sys_create(grove_hub *hub);

/* This hub's actor system, created on demand (NULL: no memory). */
static inline grove__actor_sys *grove__actor_sys_get(void) {
  grove_hub *hub = grove__hub();
  grove__actor_sys *sys = grove__layer_get(hub, GROVE__LAYER_ACTOR);
  return GROVE__LIKELY(sys != NULL) ? sys : grove__actor_sys_create(hub);
}

/* This hub's actor system if it has one. */
static inline grove__actor_sys *grove__actor_sys_peek(void) {
  return grove__layer_get(grove__hub_peek(), GROVE__LAYER_ACTOR);
}

/* ---- actors ------------------------------------------------------------------ */

enum {
  A_IDLE = 0,
  A_SCHEDULED = 1,
  A_RUNNING = 2,
  A_DEAD = 3,
  A_STATE = 3,
  A_INIT_DONE = 1 << 2,
  A_TRAP = 1 << 3,
  A_KILLED = 1 << 4,
  A_EXITING = 1 << 5,
  A_IN_RECEIVE = 1 << 6,
  A_TOOK = 1 << 7,        /* receive took the message it is processing */
  A_STARTED = 1 << 8,     /* init returned successfully */
  A_TERMINATING = 1 << 9, /* its terminate is running (or ran) */
  A_QUIET = 1 << 10,      /* no crash report, no supervisor reports (grove__actor_set_quiet) */
  A_REMOTE = 1 << 11      /* a request of another node was routed to it from the node's hub */
};

/* What an actor needs only once it is watched, linked, named, waited for
 * or called: allocated on first use (ext_of). */
struct grove__actor_ext {
  char *name;
  grove__list callers;          /* greenlets in grove_call, waiting for a reply */
  grove__list senders;          /* greenlets waiting for room in a bounded inbox */
  grove__list waiters;          /* greenlets in grove_actor_wait */
  grove__list starters;         /* greenlets waiting for init to return */
  grove__list monitors;         /* grove__mon.at_target: who watches it */
  grove__list watching;         /* grove__mon.at_watcher: what it watches */
  grove__list links;            /* grove__lnk_end.link: its links */
  grove__list xsenders;         /* senders on other hubs waiting for room (hubs.c) */
  grove__list acallers;         /* grove_call_async records waiting for a reply (future.c) */
  struct grove__member *member; /* its membership of a grove_group (group.c), or NULL */
  int exit_reason;
};

/* A monitor: `watcher` is told when `target` ends. Kept in the system's
 * table by (id, watcher's node, target's slot) and in the lists of the ends
 * that are local, so that adding, removing, and the end of either end are
 * O(1) per monitor (exits.c). */
typedef struct grove__mon {
  grove__list at_target, at_watcher;
  struct grove__mon *hnext;
  uint64_t id;
  grove_ref watcher, target;
} grove__mon;

/* A link between a and b (a is always local; b local or remote): in the
 * system's table by the pair, and in each local end's list. */
typedef struct grove__lnk_end {
  grove__list link;
  struct grove__lnk *rec;
} grove__lnk_end;

typedef struct grove__lnk {
  grove__lnk_end end[2]; /* end[i] is in the list of ref[i] when it is local */
  struct grove__lnk *hnext;
  grove_ref ref[2];
} grove__lnk;

static inline int grove__actor_state(const grove_actor *a) { return (int)(a->_flags & A_STATE); }

/* The live actor a ref names on this hub, or NULL. */
grove_actor *grove__actor_lookup(grove__actor_sys *sys, grove_ref r);
/* The actor the running greenlet runs (inside its init, receive or
 * terminate), or NULL. */
static inline grove_actor *grove__actor_current(grove__actor_sys *sys) {
  return (grove_actor *)grove__current_ext(sys->hub);
}
/* The running actor's ref (a message's sender, an exit's origin), or null. */
static inline grove_ref grove__self_ref(grove__actor_sys *sys) {
  grove_actor *self = grove__actor_current(sys);
  return self ? grove_actor_ref(self) : GROVE_REF_NULL;
}
/* The actor's extension, allocated on first use (NULL: no memory). */
struct grove__actor_ext *grove__actor_ext(grove_actor *a);
/* Schedule an idle actor's activation. */
void grove__actor_schedule(grove__actor_sys *sys, grove_actor *a);
/* The slot record of an ended actor (NULL unless `ref` names the last actor
 * that ended in its slot). */
grove__actor_slot *grove__actor_ended(grove__actor_sys *sys, grove_ref ref);

/* send.c: append m to a's inbox, waiting while a bounded inbox is full
 * unless deadline is 0 (grove's own notifications - exits, downs - are
 * never held back by a bound). Takes m. */
int grove__actor_enqueue(grove__actor_sys *sys, grove_actor *a, grove_ref to, grove_msg *m,
                         uint64_t deadline);

/* exits.c: the signals and notifications of an ending actor. */
void grove__send_down(grove__actor_sys *sys, uint64_t id, grove_ref watcher, grove_ref target,
                      int reason);
void grove__signal_exit(grove__actor_sys *sys, grove_ref target, grove_ref from, int reason,
                        int kill);
/* An actor ends: its monitors fire (DOWN to the watchers), the monitors it
 * holds are removed, its linked actors get exit signals; every record is
 * freed. */
void grove__actor_unwatch(grove__actor_sys *sys, grove_actor *a, grove_ref ref, int reason);
void grove__tables_free(grove__actor_sys *sys);

/* hubs.c: actors on other hubs of the process. */
/* Whether r names an actor of this hub (or this process, for a hub that
 * is not grouped). */
static inline bool grove__ref_here(const grove__actor_sys *sys, grove_ref r) {
  return r.node == 0 && grove__ref_hub(r) == sys->index;
}
/* r names an actor of another hub of this process. */
static inline bool grove__ref_other_hub(const grove__actor_sys *sys, grove_ref r) {
  return r.node == 0 && grove__ref_hub(r) != sys->index;
}
/* Whether r, a ref of another hub of the group, names a live actor there:
 * read from that hub's slot table, without asking it (actor.c). */
bool grove__alive_elsewhere(grove_ref r);
int grove__x_send(grove__actor_sys *sys, grove_ref to, grove_msg *m, uint64_t deadline);
int grove__x_call(grove__actor_sys *sys, grove_ref to, grove_msg *m, grove_msg **reply,
                  uint64_t deadline, int *reason);
/* Push m to hub th, for `to` there, as a message that needs no room in a
 * bounded inbox (grove_call_async's requests carrying m->acall; what came
 * from another node). A request to an actor that is gone is answered. */
void grove__x_deliver(grove_hub *th, grove_ref to, grove_msg *m);
void grove__x_reply(grove_msg *request, grove_msg *reply); /* the caller is on another hub */
void grove__x_msg_home(grove_msg *m); /* a request whose caller is on another hub: free it there */
void grove__x_exit(grove__actor_sys *sys, grove_ref to, grove_ref from, int reason, int how);
int grove__x_monitor(grove__actor_sys *sys, grove_ref watcher, grove_ref target, uint64_t id);
void grove__x_demonitor(grove__actor_sys *sys, grove_ref target, uint64_t id);
void grove__x_down(grove__actor_sys *sys, uint64_t id, grove_ref watcher, grove_ref target,
                   int reason);
void grove__x_link(grove__actor_sys *sys, grove_ref local, grove_ref other);
/* The records the hubs push each other (hubs.c), applied at hub th with
 * the transport's entry points: a, b, id, reason, how, peer as each kind
 * says there. */
enum {
  GROVE__X_EXIT,
  GROVE__X_MONITOR,
  GROVE__X_DEMONITOR,
  GROVE__X_DOWN,
  GROVE__X_LINK,
  GROVE__X_UNLINK,
  GROVE__X_FORGET
};
void grove__x_push_rec(grove_hub *th, int kind, grove_ref a, grove_ref b, uint64_t id, int reason,
                       int how, uint32_t peer);
void grove__x_unlink(grove__actor_sys *sys, grove_ref local, grove_ref other);
/* A message left a's inbox: room for a sender of another hub. */
void grove__x_room(grove__actor_sys *sys, grove_actor *a);
/* a ends: its waiting senders of other hubs fail with GROVE_ENOENT. */
void grove__x_senders_fail(grove__actor_sys *sys, grove_actor *a);
/* grove_actor_wait / grove__actor_await_init on an actor of another hub:
 * run there, in a greenlet of that hub, while the caller waits. */
int grove__x_wait(grove_ref ref, int *reason, double timeout, bool init);
/* The worker hub stops: its actors are stopped (grove_hubs_stop). */
void grove__x_stop(void *state, double timeout);
/* Monitor ids: unique in the process once hubs are grouped. */
uint64_t grove__x_monitor_seq(grove__actor_sys *sys);
/* grove_monitor with `me` (an actor of this hub) as the watcher. */
int grove__monitor_as(grove__actor_sys *sys, grove_ref me, grove_ref target, uint64_t *id);
/* watch.c: a greenlet's monitor (grove_monitor_to). grove_demonitor asks
 * first whether `id` is one: 1 if it was (and it is ended now), else 0. */
int grove__watch_demonitor(grove__actor_sys *sys, uint64_t id);

/* node_hubs.c: the node across hubs. While a node runs on one hub, the
 * other hubs use proxies that hand each remote operation to it. */
extern _Atomic(const grove__remote_ops *) grove__remote_proxy;
extern _Atomic uint32_t grove__remote_node_id;
/* This hub's remote operations: the transport's on the node's hub, the
 * proxies on the others while a node runs, else NULL. */
static inline const grove__remote_ops *grove__remote_of(const grove__actor_sys *sys) {
  const grove__remote_ops *r = sys->remote;
  return GROVE__LIKELY(r != NULL)
             ? r
             : atomic_load_explicit(&grove__remote_proxy, memory_order_acquire);
}
/* The node's id as refs carry it on the wire (0: no node). */
static inline uint32_t grove__node_id_of(const grove__actor_sys *sys) {
  return sys->node_id ? sys->node_id
                      : atomic_load_explicit(&grove__remote_node_id, memory_order_relaxed);
}
/* grove__remote_install on the node's hub publishes (ops) or withdraws (NULL). */
void grove__node_hubs_set(grove__actor_sys *sys, const grove__remote_ops *ops, uint32_t node_id);
/* The transport's entry points, on the node's hub, for a local ref `here`
 * of another hub: push the record (GROVE__X_*) there (true), or false if
 * `here` is of this hub. */
bool grove__route_remote(grove__actor_sys *sys, int kind, grove_ref here, grove_ref a, grove_ref b,
                         uint64_t id, int reason, int how, uint32_t peer);
/* A node went down: every other hub forgets its monitors too. */
void grove__route_forget(grove__actor_sys *sys, uint32_t node);

/* exits.c: drop this hub's record of a monitor held here on `target`. */
int grove__mon_drop(grove__actor_sys *sys, uint64_t id, grove_ref target);

/* future.c */
/* grove_reply to a request of grove_call_async (request->acall): settle
 * the future here, or send the reply to the caller's hub. Takes reply. */
void grove__acall_reply(grove__actor_sys *sys, grove_msg *request, grove_msg *reply);
/* An actor ends: the futures waiting for it fail with GROVE_EEXITED. */
void grove__acalls_exited(struct grove__actor_ext *e, int reason);
grove_hub *grove__acall_hub(const grove__acall *c);

/* send.c: answer a request whose callee ends with `reason` before it
 * replied: an error reply GROVE_EEXITED, body [GROVE_EEXITED, reason]. */
int grove__reply_exited(grove_msg *request, int reason);
/* Whether a request's caller (greenlet or future) is on another hub than
 * `hub`: its callee's end must answer it, as it does not wait here. */
static inline bool grove__caller_elsewhere(const grove_msg *m, grove_hub *hub) {
  return (m->caller && grove__greenlet_hub(m->caller) != hub) ||
         (m->acall && grove__acall_hub(m->acall) != hub);
}

/* group.c: the actor has ended: it leaves its group on the next turn. */
void grove__actor_group_ended(struct grove__actor_ext *e);

/* registry.c: wake the greenlets waiting for a name to be registered. */
void grove__reg_notify(grove__actor_sys *sys);
/* registry.c */
int grove__reg_add(grove__actor_sys *sys, const char *name, grove_ref ref);
void grove__reg_remove(grove__actor_sys *sys, const char *name, grove_ref ref); /* null: any */
void grove__reg_free(grove__actor_sys *sys);

/* msg.c */
grove_msg *grove__msg_alloc(grove__actor_sys *sys);
void grove__msg_release(grove__actor_sys *sys, grove_msg *m);
void grove__msg_cache_drain(grove__actor_sys *sys);
void grove__msg_taken(grove_msg *m); /* grove_msg_take: tell the running actor */

/* Count a dead letter on this hub's system and free it. */
void grove__dead_letter(grove__actor_sys *sys, grove_ref to, grove_msg *m, int reason);

/* Block until the actor's init has returned: 0 if it succeeded (even if the
 * actor has ended since), else the reason it ended with (its init's error),
 * or GROVE_ENOENT when the ref is unknown. */
int grove__actor_await_init(grove_ref ref);

#endif
