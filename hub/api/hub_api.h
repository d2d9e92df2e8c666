/* hub/api/hub_api.h - the hub as the layers above it see it. Not installed.
 *
 * actor/, transport/ and net/ are clients of the hub: they queue run-queue
 * callbacks, block greenlets on wait lists, wake them, keep state per hub and
 * drive libuv handles of their own. This header is all they may use of the
 * hub; the build gives them no other hub header (see CMakeLists.txt and
 * docs/architecture.md), so a shortcut into the scheduler's fields does not
 * compile. The hub's own files see hub/internal.h, which includes this one.
 *
 * The objects behind the opaque pointers (grove_hub, grove_greenlet) are
 * read and changed only through the calls below; the structs that are
 * defined here (lists, run-queue callbacks, waiters) are the ones a layer
 * embeds in its own objects, because waiting and scheduling never allocate.
 */
#ifndef GROVE_HUB_API_H
#define GROVE_HUB_API_H

#include <grove.h>

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <uv.h>

#define grove__container_of(ptr, type, field) ((type *)((char *)(ptr)-offsetof(type, field)))
#define GROVE__LIKELY(x) __builtin_expect(!!(x), 1)
#define GROVE__UNLIKELY(x) __builtin_expect(!!(x), 0)

/* ---- intrusive circular doubly-linked lists ------------------------------ */

typedef struct grove__list {
  struct grove__list *prev, *next;
} grove__list;

static inline void grove__list_init(grove__list *l) { l->prev = l->next = l; }
static inline int grove__list_empty(const grove__list *l) { return l->next == l; }
static inline int grove__list_linked(const grove__list *n) {
  return n->next != NULL && n->next != n;
}
static inline void grove__list_push(grove__list *head, grove__list *n) {
  n->prev = head->prev;
  n->next = head;
  head->prev->next = n;
  head->prev = n;
}
static inline void grove__list_remove(grove__list *n) {
  n->prev->next = n->next;
  n->next->prev = n->prev;
  n->prev = n->next = n;
}
/* Move every node of src to the end (or the front) of dst; src ends empty. */
static inline void grove__list_splice_tail(grove__list *dst, grove__list *src) {
  if (src->next == src)
    return;
  src->next->prev = dst->prev;
  dst->prev->next = src->next;
  src->prev->next = dst;
  dst->prev = src->prev;
  src->prev = src->next = src;
}
static inline void grove__list_splice_front(grove__list *dst, grove__list *src) {
  if (src->next == src)
    return;
  src->prev->next = dst->next;
  dst->next->prev = src->prev;
  dst->next = src->next;
  src->next->prev = dst;
  src->prev = src->next = src;
}
static inline grove__list *grove__list_pop(grove__list *head) {
  grove__list *n = head->next;
  if (n == head)
    return NULL;
  grove__list_remove(n);
  return n;
}

/* Make room for one more element in a doubling array: *cap grows from
 * `first`. Returns 0 or GROVE_ENOMEM (the array is left as it was). */
static inline int grove__grow(void **array, size_t *cap, size_t count, size_t elem, size_t first) {
  if (count < *cap)
    return 0;
  size_t n = *cap ? *cap * 2 : first;
  void *p = realloc(*array, n * elem);
  if (!p)
    return GROVE_ENOMEM;
  *array = p;
  *cap = n;
  return 0;
}

/* ---- the hub of this thread ---------------------------------------------- */

/* The hub of this thread: the library's one thread-local (hub/core/hub.c).
 * initial-exec: a plain %fs-relative load even in the shared library (the
 * default model for -fPIC code calls __tls_get_addr on every access). */
extern _Thread_local grove_hub *grove__tls_hub __attribute__((tls_model("initial-exec")));

grove_hub *grove__hub_get(void); /* the slow path of grove__hub: creates it */

/* The calling thread's hub, created on demand (NULL: out of memory). */
static inline grove_hub *grove__hub(void) {
  grove_hub *h = grove__tls_hub;
  return GROVE__LIKELY(h != NULL) ? h : grove__hub_get();
}
/* The calling thread's hub if it has one; never creates one. */
static inline grove_hub *grove__hub_peek(void) { return grove__tls_hub; }
/* The libuv loop the hub runs: for the layers' own handles (poll watchers,
 * timers, processes). Their callbacks run inside the hub's poll, where
 * nothing may block or switch: they schedule run-queue callbacks. */
uv_loop_t *grove__hub_loop(grove_hub *hub);
/* Ask the hub to poll libuv (timers, I/O) before it runs the next callback:
 * a source of work that used up its budget calls this and reschedules
 * itself at the back of the run queue. */
void grove__hub_poll_soon(grove_hub *hub);
/* Count an object that keeps grove_hub_close from succeeding while it
 * lives (an actor, a node's handles), and uncount it. */
void grove__hub_object_add(grove_hub *hub);
void grove__hub_object_remove(grove_hub *hub);
/* The same, counted under a kind (what grove_hub_counts_get and the
 * GROVE_EBUSY report of grove_hub_close name); the two above count as
 * GROVE__OBJ_OTHER. */
enum {
  GROVE__OBJ_OTHER = 0,
  GROVE__OBJ_EVENT,
  GROVE__OBJ_RESULT,
  GROVE__OBJ_SEM, /* semaphores, locks, rlocks */
  GROVE__OBJ_QUEUE,
  GROVE__OBJ_GROUP,
  GROVE__OBJ_LOCAL,
  GROVE__OBJ_SOCKET,
  GROVE__OBJ_PROC,
  GROVE__OBJ_SIGNAL,
  GROVE__OBJ_ACTOR,
  GROVE__OBJ_NKINDS
};
void grove__hub_object_add_kind(grove_hub *hub, int kind);
void grove__hub_object_remove_kind(grove_hub *hub, int kind);

/* ---- logging (include/grove/log.h) ---------------------------------------------- */

/* Format `fmt` into ev->text and emit ev (grove_log_emit), if its level is
 * enabled; the caller fills the other fields. At most ~1 KiB of text. */
struct grove_log_event;
void grove__log(struct grove_log_event *ev, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* ---- per-hub layer state ------------------------------------------------- */

/* Each layer above the hub keeps its state in one slot of the hub (libdill's
 * dill_ctx), never in thread-locals, so that hubs stay apart. A layer's slot
 * number is above the numbers of the layers it uses: grove_hub_close calls
 * the close hooks from the highest slot down, so the transport is stopped
 * while the actor system it uses still exists. */
enum {
  GROVE__LAYER_ACTOR = 0, /* actor/: slots, runners, registry, the message cache */
  GROVE__LAYER_NODE,      /* transport/: the node */
  GROVE__LAYER_CLUSTER,   /* transport/: the cluster worker's identity */
  GROVE__LAYER_ZSOCK,     /* transport/zsock.c: user sockets with waiters */
  GROVE__LAYER_NET,       /* net/ */
  GROVE__NLAYERS
};

/* The leading fields of every hub and every greenlet: what the inline
 * accessors below read, so that a layer reaches its state, or the running
 * actor, in two or three loads. Layers never name these fields. */
typedef struct grove__hub_head {
  struct grove_greenlet *current; /* the running greenlet */
  uint32_t stepping;              /* > 0 while callbacks run (nothing may block then) */
  int32_t meter;                  /* units of work before the next clock check (the turn) */
  void *layer_state[GROVE__NLAYERS];
} grove__hub_head;

typedef struct grove__greenlet_head {
  void *ext;                      /* the extension slot (grove__ext) */
  struct grove_timeout *timeouts; /* innermost scoped timeout */
  uint16_t flags;                 /* GROVE__F_* (hub/internal.h has the rest) */
} grove__greenlet_head;

/* The two greenlet flags the inline gate reads. */
#define GROVE__F_HUB (1 << 1)       /* the hub's own greenlet */
#define GROVE__F_CANCELLED (1 << 3) /* killed: its waits return GROVE_ECANCELED */

/* A layer's state on this hub, or NULL (no hub, or not set). */
static inline void *grove__layer_get(grove_hub *hub, int layer) {
  return hub ? ((grove__hub_head *)(void *)hub)->layer_state[layer] : NULL;
}
/* Where a layer's state is kept, for a reader on another hub's thread (an
 * atomic load: grove__layer_set stores it with release). */
static inline void **grove__layer_slot(grove_hub *hub, int layer) {
  return &((grove__hub_head *)(void *)hub)->layer_state[layer];
}
/* Set a layer's state and the hook that frees it at grove_hub_close (NULL:
 * nothing to free). Setting NULL forgets the state without calling the
 * hook (the layer freed it itself). */
void grove__layer_set(grove_hub *hub, int layer, void *state, void (*close)(void *state));

/* ---- run-queue callbacks --------------------------------------------------- */

/* An entry in the hub's run queue. fn(cb) does its work and returns the
 * greenlet to switch to next, or NULL when it has nothing to resume. A
 * callback runs in the hub's context: it must not block. */
typedef struct grove__cb {
  grove__list link;
  struct grove_greenlet *(*fn)(struct grove__cb *cb);
} grove__cb;

void grove__schedule(grove_hub *hub, grove__cb *cb);      /* at the back */
void grove__schedule_next(grove_hub *hub, grove__cb *cb); /* at the front: a continuation */
void grove__unschedule(grove__cb *cb);
/* Pop the head of the run queue if it is a callback with this fn, within
 * the hub's turn budget (as if the hub's loop had run it next); NULL
 * otherwise. The hand-over of a run of callbacks of one kind to a greenlet
 * that can serve them without switching (an actor runner takes the next
 * activation). */
grove__cb *grove__runq_take(grove_hub *hub, struct grove_greenlet *(*fn)(grove__cb *));

/* ---- the turn: fair shares of the hub ----------------------------------------- */

/* The hub runs in turns: between two polls of libuv (timers, I/O), it runs
 * run-queue callbacks, and every source of work - the run queue itself, an
 * actor working through its inbox, a node draining its socket - counts the
 * units it does (a callback, a message, an envelope). The turn ends when
 * its time slice (grove_hub_set_switch_interval, 5 ms by default, gevent's)
 * has passed; every source then stops, puts what is left of its work at the
 * back of the run queue, and the hub polls (due timers first) before it goes
 * on. Time is read every few units, as many as fit in about a sixteenth of
 * the slice at the rate they have been costing, so a unit costs a decrement.
 *
 * grove__turn_over counts one unit and says whether the turn is over: the
 * caller stops after this unit. Once it is over it says so for every unit
 * until the hub has polled. */
bool grove__turn_check(grove_hub *hub);
static inline bool grove__turn_over(grove_hub *hub) {
  grove__hub_head *h = (grove__hub_head *)(void *)hub;
  if (GROVE__LIKELY(--h->meter > 0))
    return false;
  return grove__turn_check(hub);
}

/* ---- several hubs in one process (hub/core/hubs.c) ------------------------- */

/* An item pushed to another hub's inbound queue: fn(n) runs on that hub, in
 * its own context (like a run-queue callback: it must not block), in the
 * order pushed by each thread. The pusher gives n up. */
typedef struct grove__xnode {
  struct grove__xnode *_Atomic next;
  void (*fn)(struct grove__xnode *n);
} grove__xnode;

/* The running hub of index i of grove_hubs_start, or NULL (no such hub,
 * or the hubs were stopped). Safe from any thread. */
grove_hub *grove__hub_at(size_t i);
/* A hub's index (0 for a hub not started by grove_hubs_start). */
size_t grove__hub_index(const grove_hub *hub);
/* Push n to hub's inbound queue, from any thread, and wake the hub if it
 * sleeps (a hub that is awake, or already signalled, is not signalled). */
void grove__hub_push(grove_hub *hub, grove__xnode *n);
/* The hub a greenlet belongs to. */
grove_hub *grove__greenlet_hub(const struct grove_greenlet *g);

/* A layer's stop hook: on a hub of grove_hubs_start being stopped, before it
 * closes, from its main greenlet (it may block): the layer ends what it runs
 * there (the actor layer stops the hub's actors, as a supervisor does, with
 * `timeout` for each to stop before it is killed). Hooks run from the top
 * layer down. */
void grove__layer_set_stop(grove_hub *hub, int layer, void (*stop)(void *state, double timeout));

/* A cross-hub wait: a greenlet on its home hub asks another hub for
 * something (a spawn, a delivery into a bounded inbox, a function run) and
 * waits for the answer. The ticket lives in the heap (never on a greenlet's
 * stack, which may be a shared stack copied away) and is owned, at every
 * moment, by exactly one side:
 *   - the asker fills it in (grove__xwait_prepare) and pushes it, or
 *     something that points to it, to the other hub;
 *   - the other hub does the work and, unless the asker gave up, answers
 *     with grove__xwait_done (its node's fn is overwritten: the answer
 *     travels home in the same ticket);
 *   - the asker waits in grove__xwait_block. It returns the answer's code,
 *     or its own wait's error (GROVE_ETIMEDOUT, GROVE_ECANCELED...) if it
 *     gave up before the other side answered. In that case the ticket
 *     belongs to the other side, which sees grove__xwait_done return false
 *     and must undo what it did (free the ticket with `drop`). */
typedef struct grove__xwait {
  grove__xnode node;
  _Atomic uint32_t state;
  grove_hub *home;
  struct grove_greenlet *g; /* referenced while the asker waits */
  uint64_t token;
  int code;
  uint8_t answered; /* home side: the answer has arrived */
  void (*drop)(struct grove__xwait *w);
} grove__xwait;

void grove__xwait_prepare(grove__xwait *w, void (*drop)(grove__xwait *w));
int grove__xwait_block(grove__xwait *w, uint64_t deadline, const char *what);
/* The other side: answer. Returns false if the asker gave up (the ticket
 * is then the caller's: nothing is sent home). */
bool grove__xwait_done(grove__xwait *w, int code);
/* The other side: whether the asker still waits (it may give up later). */
static inline bool grove__xwait_abandoned(grove__xwait *w) {
  return atomic_load_explicit(&w->state, memory_order_acquire) == 2;
}

/* ---- blocking: the gate, waits and wakes ------------------------------------ */

/* An entry in a wait list. A blocked greenlet's own waiter has fn == NULL;
 * other waiters have fn, called from a notification pass (see
 * hub/internal.h). Layers only wait with greenlets. */
typedef struct grove__waiter {
  grove__list link;
  struct grove_greenlet *(*fn)(struct grove__waiter *w, void *source);
} grove__waiter;

/* May the running greenlet block here? Every blocking call of every layer
 * starts with this check (libdill's dill_canblock), and it checks in this
 * order:
 *   GROVE_EINVAL     timeout is NaN
 *   GROVE_ENOMEM     hub is NULL (it could not be created)
 *   GROVE_EPERM      hub is not the calling thread's; or the caller is the
 *                    hub itself (a libuv or run-queue callback, a
 *                    grove_hub_post callback) and timeout is not 0 (a poll
 *                    never blocks, so the hub may poll)
 *   GROVE_ECANCELED  the greenlet was killed
 *   GROVE_ETIMEDOUT  its scoped deadline (grove_timeout_start) has passed
 * On 0, *deadline is when the wait must end, on the hub clock (ns; UINT64_MAX:
 * never): the sooner of now + timeout and the scoped deadline. A timeout of 0
 * gives a deadline that has passed: a poll. */
int grove__begin_wait_slow(grove_hub *hub, double timeout, uint64_t *deadline);
static inline int grove__begin_wait(grove_hub *hub, double timeout, uint64_t *deadline) {
  /* Inline for the common case (wait forever, not killed, no scoped
   * deadline, not the hub); the rest and every error is the slow path. */
  if (GROVE__LIKELY(timeout < 0 && hub != NULL && hub == grove__tls_hub)) {
    const grove__hub_head *h = (const grove__hub_head *)(const void *)hub;
    const grove__greenlet_head *g = (const grove__greenlet_head *)(const void *)h->current;
    if (GROVE__LIKELY(!h->stepping && !(g->flags & (GROVE__F_HUB | GROVE__F_CANCELLED)) &&
                      !g->timeouts)) {
      *deadline = UINT64_MAX;
      return 0;
    }
  }
  return grove__begin_wait_slow(hub, timeout, deadline);
}

/* Block the running greenlet until woken, linked into `list` (may be NULL)
 * and with `deadline` armed (UINT64_MAX: none). Starts with the gate's
 * checks (EPERM, ECANCELED, the scoped deadline, which it also applies).
 * Returns the wake code: 0 when woken by the object, GROVE_ETIMEDOUT,
 * GROVE_ECANCELED, GROVE_ELOOPEXIT. `what` and `obj` say what it waits for
 * (grove_dump, the watchdog). */
int grove__wait_until(grove_hub *hub, grove__list *list, uint64_t deadline, const char *what,
                      const void *obj);
/* The same with a timeout; a timeout of 0 returns at once (GROVE_ETIMEDOUT,
 * or GROVE_ECANCELED for a killed greenlet) without blocking. */
int grove__wait(grove_hub *hub, grove__list *list, double timeout, const char *what,
                const void *obj);

/* Take a blocked (or sleep(0)-ready) greenlet off whatever it waits on and
 * record `code` as the result of its wait. Returns g, to be returned by a
 * run-queue callback as the greenlet to run now, or NULL if g was not
 * waiting. */
struct grove_greenlet *grove__wake_prepare(struct grove_greenlet *g, int code);
/* Wake g with `code` from anywhere (a greenlet, a run-queue callback, a
 * libuv callback): g is queued at the back of the run queue. */
void grove__wake(struct grove_greenlet *g, int code);
/* Wake every greenlet of a wait list, in order, with `code`; with
 * grove__wake_all_slot each is also handed `slot` (grove__take_slot). */
void grove__wake_all(grove__list *l, int code);
void grove__wake_all_slot(grove__list *l, int code, void *slot);
/* The first greenlet of a wait list (NULL if empty), left on the list. */
struct grove_greenlet *grove__wait_list_first(grove__list *l);
/* Whether g is blocked on a wait list right now. */
bool grove__waiting(const struct grove_greenlet *g);
/* Whether g is blocked, on a wait list or not (a wait with no list: a
 * cross-hub call). */
bool grove__blocked(const struct grove_greenlet *g);

/* A deadline on the hub clock (ns) from a timeout in seconds: UINT64_MAX for
 * a negative timeout (or NaN: callers check it first). */
uint64_t grove__deadline(grove_hub *hub, double seconds);
/* The seconds left until a deadline, as a timeout argument: GROVE_FOREVER
 * for UINT64_MAX, 0 once it has passed. */
double grove__seconds_left(uint64_t deadline);
/* The hub clock, ns. */
static inline uint64_t grove__now(void) { return uv_hrtime(); }

/* ---- AsyncResults a layer settles for the user ------------------------------------
 *
 * A call's future (actor/future.c) is an ordinary grove_async_result - the
 * user gets, waits, waits on many and frees it with the public calls - that
 * the layer which made it settles. Two things tie it to its owner: freeing
 * it calls ops->freed(owner, value) first (value: the value it holds, NULL
 * if none), so the owner forgets it and frees what it handed over; and it
 * may carry a deadline that fails it with GROVE_ETIMEDOUT (a timer of the
 * timeout priority; setting it first disarms the timer). */
typedef struct grove__result_owner {
  void (*freed)(void *owner, void *value);
} grove__result_owner;

/* A new unset result owned by (ops, owner); NULL: out of memory. */
grove_async_result *grove__async_result_new_owned(const grove__result_owner *ops, void *owner);
/* The owner of r if r is one of ops's results (a valid result of this
 * hub), else NULL. */
void *grove__async_result_owner(const grove_async_result *r, const grove__result_owner *ops);
/* Fail r with GROVE_ETIMEDOUT at `deadline` (hub clock; UINT64_MAX: no
 * deadline) unless it is set before. 0, GROVE_ENOMEM, GROVE_EINVAL. */
int grove__async_result_deadline(grove_async_result *r, uint64_t deadline);

/* ---- greenlets, as the layers above see them --------------------------------- */

/* The running greenlet of a hub (NULL for a NULL hub). */
static inline struct grove_greenlet *grove__current(grove_hub *hub) {
  return hub ? ((grove__hub_head *)(void *)hub)->current : NULL;
}
/* Whether the hub itself is running: a run-queue or libuv callback, or a
 * grove_hub_post callback. Nothing may block there. */
static inline bool grove__in_hub(grove_hub *hub) {
  const grove__hub_head *h = (const grove__hub_head *)(const void *)hub;
  return h->stepping ||
         (((const grove__greenlet_head *)(const void *)h->current)->flags & GROVE__F_HUB);
}
/* Whether g has been killed (its blocking calls return GROVE_ECANCELED). */
static inline bool grove__cancelled(const struct grove_greenlet *g) {
  return (((const grove__greenlet_head *)(const void *)g)->flags & GROVE__F_CANCELLED) != 0;
}
/* Kill g without waiting, from the hub's context too: it is cancelled and
 * woken from its wait with GROVE_ECANCELED. */
void grove__cancel(struct grove_greenlet *g);

/* The extension slot of a greenlet, for the layer that runs it (an actor
 * runner's actor). */
static inline void *grove__ext(const struct grove_greenlet *g) {
  return ((const grove__greenlet_head *)(const void *)g)->ext;
}
static inline void grove__set_ext(struct grove_greenlet *g, void *ext) {
  ((grove__greenlet_head *)(void *)g)->ext = ext;
}
/* The running greenlet's extension, NULL when no hub or none. */
static inline void *grove__current_ext(grove_hub *hub) {
  return hub ? grove__ext(grove__current(hub)) : NULL;
}
/* A token naming the greenlet's current wait, set by the layer that makes
 * it wait (a call): a late answer to an earlier wait is recognised. */
uint64_t grove__token(const struct grove_greenlet *g);
void grove__set_token(struct grove_greenlet *g, uint64_t token);
/* An item handed to a greenlet with its wake-up: set it before waking,
 * take it (and clear it) when the wait returns. */
void grove__set_slot(struct grove_greenlet *g, void *item);
void *grove__take_slot(struct grove_greenlet *g);

/* A new greenlet that is not scheduled: a run-queue callback returns it to
 * start it at once. Its only reference is its own. NULL: out of memory. */
struct grove_greenlet *grove__spawn_now(grove_fn fn, void *arg);
/* Make g a daemon: a runtime worker that is not counted as alive (it
 * neither keeps grove_hub_close from succeeding nor shows in the count);
 * grove_hub_close cancels the daemons still blocked. */
void grove__greenlet_daemonize(struct grove_greenlet *g);

/* The layer that runs greenlets with an extension (actor runners) is told
 * when one of them ends itself with grove_exit, before its stack is
 * abandoned: it ends what the greenlet was running (the actor, with that
 * reason). One hook per hub; NULL removes it. */
void grove__set_exit_hook(grove_hub *hub, void (*hook)(struct grove_greenlet *g, int code));

/* ---- Group/Pool members that are not greenlets (hub/prim/group.c) --------- */

/* gevent's Group holds anything that can be linked and killed; grove's holds
 * greenlets and, through this, the things a layer above runs that are not
 * greenlets (an actor). The layer owns the grove__member (it lives until
 * `left` is called), fills in kill and left, takes a pool's slot with
 * grove__group_reserve (blocks while a pool is full) and then adds the
 * member with grove__group_add_member. When the thing ends, the layer calls
 * grove__member_ended: it leaves the group from a run-queue callback at the
 * back of the queue, as a greenlet leaves from its link notification, so
 * join, size and a pool's waiting spawners see it go in gevent's order. */
typedef struct grove__member {
  grove__list link;          /* the group's list of such members */
  struct grove_group *group; /* NULL once it has left */
  grove__cb cb;              /* its leaving (grove__member_ended) */
  /* End it without blocking (grove_group_kill; called once). */
  void (*kill)(struct grove__member *m);
  /* It has left the group (ended or discarded): the layer may free it. */
  void (*left)(struct grove__member *m);
  uint8_t dying; /* kill was called */
} grove__member;

/* 0 if grp is a live group of the calling thread's hub, else GROVE_EINVAL or
 * GROVE_EPERM. */
int grove__group_check(const struct grove_group *grp);
/* A pool's slot for a member about to be added (a group: at once): the wait
 * codes of a semaphore acquire. */
int grove__group_reserve(struct grove_group *grp, double timeout);
/* Give back a slot reserved and not used. */
void grove__group_unreserve(struct grove_group *grp);
/* Add m (kill and left set; the slot reserved). */
void grove__group_add_member(struct grove_group *grp, grove__member *m);
/* m's thing has ended: m leaves on the next turn (then left is called). */
void grove__member_ended(grove__member *m);
/* Take m out of its group now, as grove_group_discard (left is called). */
void grove__member_discard(grove__member *m);

/* ---- observing (hub/core/observe.c, include/grove/observe.h) ---------------- */

/* What the hub itself knows of its load, read on its own thread. */
typedef struct grove__hub_obs {
  size_t greenlets; /* live, the user's (grove_hub_counts_get's count) */
  size_t runq;      /* run-queue entries now */
  double lag_ms;    /* how late its lag probe fired last (0: no probe) */
} grove__hub_obs;
void grove__hub_observe(grove_hub *hub, grove__hub_obs *out);

/* One more (+1) or one fewer (-1) thing that observes the process (a
 * metrics endpoint, an introspection service): while there is any, every
 * hub arms its loop-lag probe (a timer every 200 ms; the caller's hub at
 * once, the others soon after, and any hub gathered from). Any thread. */
void grove__observe_hold(int delta);
bool grove__observing(void);

/* Run fn(index, cap) on every hub of the process, in index order, in each
 * hub's own context (a callback: it must not block), and hand back what
 * each returned in results[index] (NULL when that hub is gone); the caller
 * frees them with free_result. The calling hub's part runs at once; each
 * other hub's costs a round trip that blocks the calling greenlet. If the
 * caller gives up (killed), a hub that answers later frees its own result.
 * results has room for nresults (grove_hub_count() when the caller sized
 * it; hubs beyond are skipped). Returns 0 or the gate's codes. */
typedef void *(*grove__gather_fn)(size_t index, size_t cap);
int grove__hubs_gather(grove__gather_fn fn, size_t cap, void (*free_result)(void *), void **results,
                       size_t nresults);
/* The same on the one hub h (the calling one: at once): *result gets what
 * fn returned. */
int grove__hub_gather_one(grove_hub *h, grove__gather_fn fn, size_t cap,
                          void (*free_result)(void *), void **result);

/* Run fn on hub h (another hub of the group) in its own context, with a
 * copy of arg's len bytes (at most GROVE__ASK_ARG), and hand back what it
 * returned in *result, while the calling greenlet waits (the caller frees
 * it with free_result; if the caller gives up, h frees it). Returns 0, the
 * gate's codes (GROVE_EPERM outside a greenlet), or GROVE_EINVAL. */
#define GROVE__ASK_ARG 32
int grove__hub_ask(grove_hub *h, void *(*fn)(void *arg), const void *arg, size_t len,
                   void (*free_result)(void *), void **result);

/* Report a misuse that cannot be returned as an error (a void call). */
void grove__misuse(const char *fn, int code);

#endif
