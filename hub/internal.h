/* hub/internal.h - the structures shared by the hub's own files (core/, prim/,
 * io/). Not installed, and not visible to the layers above the hub: they see
 * hub/api/hub_api.h, which this file includes.
 *
 * The model is gevent's, object for object:
 *   - a hub per thread, itself a greenlet with a dedicated stack, that runs a
 *     FIFO queue of callbacks (gevent's loop.run_callback) and a libuv loop;
 *   - every wake-up of a blocked greenlet happens *from the hub*: a primitive
 *     that becomes ready schedules one notify callback, and that callback
 *     switches into each waiter in turn (gevent's _notify_links / _unlock);
 *     the waiter runs until it blocks again, which switches back to the hub,
 *     and the callback carries on with the next waiter;
 *   - timers fire from the hub the same way.
 * Keeping this structure (rather than, say, pushing woken greenlets onto the
 * run queue) is what makes the observable order of events the same as
 * gevent's, including the corner cases where a greenlet "steals" an item or a
 * semaphore count before a woken waiter has run.
 *
 * Waiters never allocate: a blocked greenlet is linked into the primitive's
 * wait list through the grove__waiter embedded in its own struct, and its
 * deadline sits in the hub's timer heap through the embedded grove__timer.
 */
#ifndef GROVE_HUB_INTERNAL_H
#define GROVE_HUB_INTERNAL_H

#include "hub_api.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <uv.h>

#ifndef GROVE_CTX_ASM
#define GROVE_CTX_ASM 0
#endif
#if !GROVE_CTX_ASM
#include <ucontext.h>
#endif

#if defined(__SANITIZE_ADDRESS__)
#define GROVE_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define GROVE_ASAN 1
#endif
#endif
#ifndef GROVE_ASAN
#define GROVE_ASAN 0
#endif

/* ---- callbacks, waiters, timers ------------------------------------------ */

/* An entry in the hub's run queue. fn(cb) does its work and returns the
 * greenlet to switch to next, or NULL when it has nothing to resume.
 *
 * Scheduling is done by whoever gives up the CPU: a greenlet that blocks pops
 * and runs callbacks itself until one names a greenlet to run, and switches
 * straight to it; the hub greenlet only steps in to poll libuv, when the
 * queue is empty, or when a stack must be copied onto the very stack the
 * blocking greenlet is running on. A callback that resumes a greenlet in the
 * middle of a pass over several waiters (an event's notify pass, a queue's
 * unlock loop, a batch of expired timers) first pushes itself back to the
 * *front* of the run queue as its own continuation, so the pass carries on
 * as soon as that greenlet blocks: exactly the order gevent gets by
 * switching from the hub and returning to the pass. */
/* (grove__cb itself is defined in hub_api.h.) */

/* An entry in a primitive's list of waiters. A blocked greenlet's waiter has
 * fn == NULL: notifying it means resuming the greenlet. Other waiters (group
 * membership, links, imap results) have fn, called from the pass; it must
 * not block or switch, but may return a new greenlet to run right away (a
 * link callback runs in its own greenlet at once, as gevent's SpawnedLink). */
/* (grove__waiter itself is defined in hub_api.h.) */

/* A deadline in the hub's timer heap (ordered by deadline, then by the order
 * they were armed, as libuv orders its timers). */
typedef struct grove__timer {
  uint64_t deadline; /* hub clock, ns */
  uint64_t seq;
  uint32_t slot;                                        /* 1-based heap position, 0 = not armed */
  uint8_t prio;                                         /* GROVE__TIMER_WATCHER or _TIMEOUT */
  struct grove_greenlet *(*fn)(struct grove__timer *t); /* greenlet to resume, or NULL */
} grove__timer;

/* The two priorities of gevent's timers (core/timer.c): what a greenlet
 * waits on (sleep, spawn_later), and the timeouts (gevent.Timeout, libev
 * priority -1), which fire after the watchers that expired with them. */
enum { GROVE__TIMER_WATCHER = 0, GROVE__TIMER_TIMEOUT = 1 };

typedef struct grove__heap {
  struct grove__timer **a;
  uint32_t n, cap;
} grove__heap;

/* ---- contexts and stacks --------------------------------------------------- */

typedef struct grove__stack {
  char *map;                 /* mmap base: guard page(s) first */
  size_t maplen;             /* whole mapping */
  char *lo, *hi;             /* usable range, the stack grows down from hi */
  struct grove__stack *next; /* cache list */
} grove__stack;

/* A shared stack: greenlets take turns on it, and the used part of the one
 * that was on it (`occupant`) is copied out when another needs it. */
typedef struct grove__shared {
  grove__stack stack;
  grove_greenlet *occupant;
} grove__shared;

#define GROVE__NSHARED 4
#define GROVE__GUARD_SIZE (64 * 1024) /* PROT_NONE below every stack (stack.c) */
#define GROVE__SHARED_SIZE (256 * 1024)
#define GROVE__DEDICATED_DEFAULT (256 * 1024)
#define GROVE__HUB_STACK (512 * 1024)

enum {
  GROVE__NEW = 0, /* spawned, waiting to start (in run queue or timer) */
  GROVE__READY,   /* in the run queue to be resumed (sleep(0)) */
  GROVE__RUNNING, /* the current greenlet */
  GROVE__BLOCKED, /* switched out, waiting on a waiter list and/or timer */
  GROVE__DEAD
};

enum {
  GROVE__F_MAIN = 1 << 0,
  /* GROVE__F_HUB = 1 << 1, in hub_api.h */
  GROVE__F_DEDICATED = 1 << 2,
  /* GROVE__F_CANCELLED = 1 << 3, in hub_api.h */
  GROVE__F_FAILED = 1 << 4,
  GROVE__F_NOTIFYING = 1 << 5, /* links notify callback scheduled */
  GROVE__F_KILLREQ = 1 << 7,   /* grove_kill was called */
  GROVE__F_DAEMON = 1 << 8,    /* runtime worker: not counted as alive, cancelled at close */
  GROVE__F_RAW = 1 << 9        /* runs a link callback: gevent's raw greenlet, which has no links */
};

typedef struct grove__local_entry grove__local_entry;

struct grove_greenlet {
  grove__greenlet_head head; /* first: what the layers' inline accessors read (hub_api.h) */
  void *sp;                  /* saved stack pointer while switched out */
  grove_hub *hub;
  grove__cb cb;         /* run queue: start / resume / notify links */
  grove__waiter waiter; /* wait lists while blocked */
  grove__timer timer;   /* deadline while blocked, or start time */
  grove__list all;      /* hub->greenlets while alive */
  grove__list links;    /* grove__waiter: joiners, links, group */
  grove_fn fn;
  void *arg;
  void *value;
  void *slot; /* an item handed over by a queue */
  int error;
  int wake; /* result of the current wait */
  uint32_t refs;
  uint16_t nfired;      /* open scoped timeouts that have fired (core/timeout.c) */
  uint8_t local_linked; /* local_link was added (core/local.c) */
  uint8_t state;
  uint8_t shared;      /* shared stack index */
  grove__stack *stack; /* dedicated stack */
  size_t stack_size;
  char *saved; /* copied-out part of a shared stack */
  uint32_t saved_len, saved_cap;
  struct grove_group *group;
  grove__waiter group_waiter;
  grove__list group_link;
  uint64_t id;
  char *name;
  grove__local_entry *locals;
  grove__waiter local_link; /* gevent.local's rawlink, added at the first local touched */
  const char *wait_what;
  const void *wait_obj;
  uint64_t token; /* for the layers above: identifies the current wait */
#if !GROVE_CTX_ASM
  ucontext_t *uc;
#endif
#if GROVE_ASAN
  void *asan_fake;
#endif
};

/* The inbound queue of a hub (core/hubs.c): an intrusive multi-producer,
 * single-consumer queue of grove__xnode (Vyukov's, as Pony's actor queues):
 * a push is one atomic exchange, the pop is the hub's own. */
typedef struct grove__xq {
  _Alignas(64) grove__xnode *_Atomic head; /* producers: the last pushed */
  _Alignas(64) grove__xnode *tail;         /* the hub: the next to pop */
  grove__xnode stub;
} grove__xq;

/* A callback posted from another thread. */
typedef struct grove__post {
  struct grove__post *next;
  grove_callback fn;
  void *arg;
} grove__post;

struct grove_hub {
  grove__hub_head head;  /* first: the running greenlet, the layers' states (hub_api.h) */
  grove_greenlet main;   /* the thread's own stack */
  grove_greenlet hub_g;  /* the hub: runs callbacks and the loop */
  grove__list runq;      /* grove__cb, FIFO */
  grove__list greenlets; /* alive, not counting main */
  size_t nalive;
  uint64_t next_id;
  uint64_t now;      /* the clock at the last poll, ns (uv_hrtime): what is due */
  uint64_t loop_now; /* libev's cached ev_now: the last poll, or a later update_now */

  /* timer heaps, one per priority (core/timer.c) */
  grove__heap timers[2];
  uint64_t timer_seq;
  uint64_t reify_seq; /* timers armed before the last poll have seq below this */

  uv_loop_t loop;
  uv_timer_t uvtimer;
  uv_async_t async;
  int holds;

  grove__shared shared[GROVE__NSHARED];
  uint32_t next_shared;
  grove__stack *stack_cache; /* dedicated stacks of the default size */
  size_t nstack_cache;
  grove_greenlet *free_greenlets; /* struct cache, linked through ->arg */
  size_t nfree_greenlets;
  grove_greenlet *zombie;  /* finished greenlet whose stack was just left */
  grove_greenlet *handoff; /* picked by a blocking greenlet, to be run by the hub */
  grove__cb timer_pass;    /* fires expired deadlines, at the front of the run queue */
  uint64_t batch_end;      /* when the current turn ends (the hub polls then) */
  uint64_t slice_ns;       /* the turn's length (grove_hub_set_switch_interval) */
  uint64_t meter_at;       /* the clock at the last check of the turn meter */
  int32_t meter_k;         /* units between two clock checks (adapts to their cost) */
  uint64_t turns_cut;      /* turns ended by their slice (work was still waiting) */
  uint32_t raw_depth;      /* > 0 while the hub resumes main at LoopExit */
  uint8_t need_poll;

  pthread_mutex_t post_lock;
  grove__post *post_head, **post_tail;
  pthread_t thread;
  uint8_t closing;
  size_t nstructs;                 /* greenlet structs not yet freed (unreleased references) */
  size_t nobjects;                 /* primitives created on this hub and not yet freed */
  size_t nkind[GROVE__OBJ_NKINDS]; /* the same by kind (grove_hub_counts_get) */
  void (*exit_hook)(grove_greenlet *g, int code); /* grove__set_exit_hook */
  /* the layers above the hub: their close hooks (their states lead the struct) */
  void (*layer_close[GROVE__NLAYERS])(void *state);
  size_t ndaemons; /* daemon greenlets alive */

  /* cooperative I/O (io/io.c): the fd watchers, indexed by fd */
  struct grove__io **io;
  size_t io_cap;
  /* subprocesses freed while running (io/proc.c), closed once reaped */
  grove__list proc_orphans;
  /* blocking detection (io/watchdog.c): bumped on every switch by the
   * hub's thread, read by the watchdog thread */
  _Atomic uint64_t switches;
  _Atomic uint32_t idle;  /* 1 while libuv waits for I/O (prepare to check, or a posted callback) */
  _Atomic(void *) hub_cb; /* the grove_hub_post callback the hub is running, or NULL */
  uv_prepare_t idle_on;   /* sets idle right before libuv polls */
  uv_check_t idle_off;    /* clears it right after */
  struct grove__watchdog *watchdog;
  /* stack overflow reports (core/stack.c): this thread's alternate signal
   * stack, and its own stack's bounds (for ASan's fiber switches) */
  void *altstack;
  const void *main_lo;
  size_t main_size;
  /* several hubs in a process (core/hubs.c) */
  size_t index;     /* its place among the process's hubs (0 unless grouped) */
  uint8_t grouped;  /* one of the hubs of grove_hubs_start */
  uint8_t stop_req; /* a worker hub: grove_hubs_stop asked it to stop */
  uint64_t spin_ns; /* how long it spins for inbound work before it sleeps */
  void (*layer_stop[GROVE__NLAYERS])(void *state, double timeout);
  /* observing (core/observe.c): the loop-lag probe, armed only while a
   * metrics endpoint or an introspection service runs */
  uv_timer_t probe;
  uint64_t probe_due; /* when it should fire, ns */
  uint64_t probe_lag; /* how late it fired last, ns */
  uint8_t probe_init, probe_on;
  _Alignas(64) _Atomic uint32_t xsleep; /* 0 awake, 1 about to sleep in libuv, 2 signalled */
  grove__xq xq;
};

/* ---- hub internals (core/hub.c) ------------------------------------------ */

/* The hub an object was created on must be the calling thread's. */
static inline int grove__owned(const grove_hub *owner) { return owner == grove__tls_hub; }

static inline int grove__cannot_block(grove_hub *hub, grove_greenlet *g) {
  return (g->head.flags & GROVE__F_HUB) || hub->head.stepping;
}

/* The one "may I block here?" check (hub_api.h says what each code means
 * and why they come in this order): everything that waits goes through it,
 * either from grove__begin_wait at the start of a blocking call or from
 * grove__wait_until when the greenlet is about to switch out. A scoped
 * timeout counts once it has fired (its timer, core/timeout.c): from then
 * on every blocking call of its greenlet fails until it is cancelled. */
__attribute__((always_inline)) static inline int grove__gate(grove_hub *hub, grove_greenlet *g,
                                                             uint64_t *deadline) {
  (void)deadline;
  if (GROVE__UNLIKELY(grove__cannot_block(hub, g)))
    return GROVE_EPERM;
  if (GROVE__UNLIKELY(g->head.flags & GROVE__F_CANCELLED))
    return GROVE_ECANCELED;
  if (GROVE__UNLIKELY(g->head.timeouts != NULL) && g->nfired)
    return GROVE_ETIMEDOUT;
  return 0;
}

/* ---- the waits of the hub's primitives (gevent's timeouts) -------------- */

/* A blocking call of a primitive (join, Event.wait, Queue.get, acquire...)
 * with a timeout is gevent's `Timeout._start_new_or_dummy(timeout)` around a
 * switch to the hub: a negative timeout waits forever; any other arms a
 * timer of that many seconds, from the current time (gevent's Timeout.start
 * refreshes the loop's time). A timer of 0 s expires at once but fires only
 * when the hub next polls, so a wait with timeout 0 yields once: every
 * greenlet already runnable runs first and may still make the object ready.
 * Returns the deadline for grove__wait_until (UINT64_MAX: none). */
static inline uint64_t grove__timeout_deadline(grove_hub *hub, double timeout) {
  if (timeout < 0)
    return UINT64_MAX;
  uint64_t now = uv_hrtime();
  hub->loop_now = now; /* Timeout.start(update=True): libev's ev_now_update */
  double ns = timeout * 1e9;
  if (ns >= (double)(UINT64_MAX - now - 1))
    return UINT64_MAX - 1;
  return now + (uint64_t)ns;
}

/* Whether a primitive's blocking call with this timeout must be a poll
 * instead: from the hub's own context (a grove_hub_post callback), which
 * cannot wait, timeout 0 fails at once with GROVE_ETIMEDOUT (and any other
 * timeout gives GROVE_EPERM, through the gate). */
static inline bool grove__poll_only(grove_hub *hub, double timeout) {
  return timeout == 0 && grove__cannot_block(hub, hub->head.current);
}

/* Notify one waiter of a pass: runs a callback waiter and returns NULL, or
 * prepares a blocked greenlet and returns it. */
static inline grove_greenlet *grove__waiter_fire(grove__waiter *w, void *source) {
  if (w->fn)
    return w->fn(w, source);
  return grove__wake_prepare(grove__container_of(w, grove_greenlet, waiter), 0);
}

/* Release the greenlet that just ended and switched here (if any): the
 * first thing every context does after a switch. */
void grove__reap_zombie(grove_hub *hub);

/* hubs.c: the inbound queue and the sleep protocol of grouped hubs. */
void grove__xq_init(grove__xq *q);
/* Whether anything was pushed that the hub has not popped (a push still in
 * progress counts). */
static inline bool grove__xq_pending(grove__xq *q) {
  grove__xnode *h = atomic_load_explicit(&q->head, memory_order_seq_cst);
  return !(q->tail == &q->stub && h == &q->stub);
}
/* Run what other hubs pushed, within the turn. Returns how many ran. */
size_t grove__hub_drain(grove_hub *hub);
/* The hub has nothing to run and would block in libuv for up to wait_ns
 * (UINT64_MAX: until I/O): spin for inbound work first, then announce the
 * sleep. Returns true if the hub may block, false if work arrived. */
bool grove__hub_may_sleep(grove_hub *hub, uint64_t wait_ns);
/* The hub is back from a poll that could block. */
void grove__hub_awake(grove_hub *hub);

/* timer.c */
/* Arm t for `deadline` with priority GROVE__TIMER_WATCHER or _TIMEOUT.
 * Returns 0 or GROVE_ENOMEM (the heap cannot grow: nothing armed). */
int grove__timer_arm(grove_hub *hub, grove__timer *t, uint64_t deadline, int prio);
void grove__timer_cancel(grove_hub *hub, grove__timer *t);
grove__timer *grove__timer_peek(grove_hub *hub); /* the earliest, either priority */
grove__timer *grove__timer_due(grove_hub *hub);  /* the next to fire in this iteration */
uint32_t grove__timer_count(const grove_hub *hub);
void grove__timer_free_heap(grove_hub *hub);

/* stack.c */
int grove__stack_alloc(grove_hub *hub, grove__stack **out, size_t size);
void grove__stack_free(grove_hub *hub, grove__stack *s, size_t size);
void grove__stack_cache_drain(grove_hub *hub);
int grove__shared_init(grove__shared *sh);
void grove__shared_release(grove__shared *sh);
void grove__stack_swap_in(grove_hub *hub, grove_greenlet *g);
void grove__overflow_handler_install(grove_hub *hub);
void grove__overflow_altstack_release(grove_hub *hub);
void grove__ctx_started(grove_hub *hub);

/* context switch (ctx_*.S or the ucontext fallback in stack.c) */
#if GROVE_CTX_ASM
void grove__ctx_switch(void **save_sp, void *load_sp);
#endif
void *grove__ctx_init(grove_greenlet *g, char *stack_hi, void (*entry)(void));
void grove__ctx_jump(grove_hub *hub, grove_greenlet *from, grove_greenlet *to);

/* greenlet.c */
void grove__greenlet_entry(void);
void grove__greenlet_reap(grove_hub *hub, grove_greenlet *g);
void grove__greenlet_free(grove_hub *hub, grove_greenlet *g);
void grove__rawlink(grove_greenlet *g, grove__waiter *w);
void grove__unlink(grove_greenlet *g, grove__waiter *w);
void grove__finish(grove_greenlet *g, int error) __attribute__((noreturn));
void grove__finish_unstarted(grove_greenlet *g, int error);
void grove__block_dead(grove_hub *hub, grove_greenlet *g) __attribute__((noreturn));
grove_greenlet *grove__greenlet_cb(grove__cb *cb);
grove_greenlet *grove__greenlet_timer_fired(grove__timer *t);

/* local.c */
void grove__locals_destroy(grove_greenlet *g);

/* timeout.c: free the greenlet's open scopes (it ended, or the hub closes) */
void grove__timeouts_free(grove_greenlet *g);

/* grove_hub_close; report: log what is left when it refuses (hubs.c tries
 * again in a loop and reports once). */
int grove__hub_close(int report);

/* Count a hub object (hub->nobjects) under its kind, and uncount it. */
static inline void grove__obj_add(grove_hub *hub, int kind) {
  hub->nobjects++;
  hub->nkind[kind]++;
}
static inline void grove__obj_remove(grove_hub *hub, int kind) {
  hub->nobjects--;
  hub->nkind[kind]--;
}

/* ---- linkable: the shared core of Event, AsyncResult, Semaphore ---------- */

/* gevent's AbstractLinkable: waiters registered in `links`; when the object
 * becomes ready one notify callback is scheduled; it wakes the waiters that
 * were there when it started (all of them, or only while the object stays
 * ready for semaphores), plus those that arrived while a notification was
 * pending (`arrived`). */
typedef struct grove__linkable {
  grove_hub *hub;
  uint32_t magic;
  uint8_t notify_all;
  uint8_t notify_pending;
  uint8_t notifying;
  uint8_t phase; /* of the running pass: 1 the links it started with, 2 the arrived */
  uint8_t free_pending;
  uint8_t uncounted; /* part of another object, which counts in hub->nobjects */
  uint8_t kind;      /* GROVE__OBJ_* it is counted as */
  grove__list links;
  grove__list arrived;
  grove__list batch; /* the links being notified by the running pass */
  grove__cb notify;
  int (*ready)(const struct grove__linkable *l);
  void (*destroy)(struct grove__linkable *l);
} grove__linkable;

void grove__linkable_init(grove__linkable *l, grove_hub *hub, uint32_t magic, int notify_all,
                          int (*ready)(const grove__linkable *),
                          void (*destroy)(grove__linkable *));
void grove__linkable_check_notify(grove__linkable *l);
/* Wait until notified. Returns like grove__wait. */
int grove__linkable_wait(grove__linkable *l, double timeout, const char *what);
/* 0 if it can be freed now; GROVE_EBUSY if greenlets wait; frees later
 * (returns 0) when called from inside its own notify pass. */
int grove__linkable_release(grove__linkable *l);
int grove__linkable_has_waiters(const grove__linkable *l);
/* rawlink / unlink of a callback waiter (wait/iwait, core of prim/wait.c) */
void grove__linkable_link(grove__linkable *l, grove__waiter *w);
void grove__linkable_unlink(grove__linkable *l, grove__waiter *w);
/* The linkable of an Event, an AsyncResult, or a queue's "readable" (it
 * has had an item, or a channel a putter), or NULL for an invalid or
 * foreign object. */
struct grove_event;
struct grove_async_result;
struct grove_queue;
grove__linkable *grove__event_linkable(struct grove_event *e);
grove__linkable *grove__async_result_linkable(struct grove_async_result *r);
grove__linkable *grove__queue_readable(struct grove_queue *q);

/* Magic numbers: a freed object's magic is cleared, so most uses after free
 * (and passing the wrong kind of object) are caught as GROVE_EINVAL. */
#define GROVE__MAGIC_EVENT 0x45564e54u
#define GROVE__MAGIC_RESULT 0x52534c54u
#define GROVE__MAGIC_SEM 0x53454d41u
#define GROVE__MAGIC_QUEUE 0x51554555u
#define GROVE__MAGIC_GROUP 0x47525550u
#define GROVE__MAGIC_RLOCK 0x524c434bu
#define GROVE__MAGIC_LOCAL 0x4c4f434cu
#define GROVE__MAGIC_IMAP 0x494d4150u
#define GROVE__MAGIC_IWAIT 0x49574149u

/* wait.c: joinall of gs under an absolute deadline whose expiry is an
 * error (killall's Timeout): 0, GROVE_ETIMEDOUT, the wait's codes. */
int grove__joinall_until(grove_greenlet **gs, size_t n, uint64_t deadline);

/* queue.c: a get with a deadline from grove__timeout_deadline (imap). */
struct grove_queue;
int grove__queue_get_until(struct grove_queue *q, void **item, uint64_t deadline);

/* ---- fd watchers (io/io.c) ------------------------------------------------------ */

/* One libuv poll watcher per fd and hub (libuv allows no more). Greenlets
 * waiting for the fd to become readable / writable are queued on it. An
 * `owned` watcher belongs to a grove_socket (embedded in it): it stays
 * registered between waits, and an event that fires with nobody waiting
 * drops that interest (one epoll_ctl) rather than each wait paying two. A
 * watcher for a bare fd (grove_wait_readable) lives only while greenlets
 * wait on it. */
typedef struct grove__io {
  uv_poll_t poll;
  grove_hub *hub;
  int fd;
  int events;     /* interest registered with libuv */
  uint32_t nwait; /* greenlets waiting (the handle is ref'd while > 0) */
  uint8_t owned, inited, closed;
  uint8_t released; /* libuv has let go of the handle (or never had it) */
  grove__list readers, writers;
  void (*on_closed)(struct grove__io *io); /* once released and nwait is 0: frees the owner */
} grove__io;

/* Block until io's fd is ready for UV_READABLE or UV_WRITABLE. Returns 0,
 * GROVE_ETIMEDOUT, GROVE_ECANCELED, GROVE_ECLOSED (io was closed: do not
 * touch it), or a libuv error. */
int grove__io_wait(grove__io *io, int event, uint64_t deadline, const char *what);
/* Set up a watcher (registered lazily at its first wait): owned by a
 * socket, or for a bare fd. */
void grove__io_init(grove__io *io, grove_hub *hub, int fd, int owned,
                    void (*on_closed)(grove__io *io));
/* Wake its waiters with GROVE_ECLOSED and give the handle back to libuv at
 * once (its fd leaves epoll now); on_closed runs once libuv has let go of
 * the handle and the last waiter has left (at once if neither holds it). */
void grove__io_close(grove__io *io);

/* Called by grove_hub_close, after the layers closed: the watchdog thread
 * stops (io/watchdog.c); subprocesses freed while running are reaped
 * (io/proc.c). */
void grove__watchdog_close(grove_hub *hub);
void grove__proc_orphans_close(grove_hub *hub);

/* core/observe.c: arm the hub's loop-lag probe if something observes the
 * process (a hub started by grove_hubs_start while metrics run). */
void grove__probe_arm(grove_hub *hub);

#endif
