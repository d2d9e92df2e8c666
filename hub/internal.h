/* hub/internal.h - the structures shared by the hub's files. Not installed.
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

#include <grove.h>

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
typedef struct grove__cb {
  grove__list link;
  struct grove_greenlet *(*fn)(struct grove__cb *cb);
} grove__cb;

/* An entry in a primitive's list of waiters. A blocked greenlet's waiter has
 * fn == NULL: notifying it means resuming the greenlet. Other waiters (group
 * membership, links, imap results) have fn, called from the pass; it must
 * not block or switch, but may return a new greenlet to run right away (a
 * link callback runs in its own greenlet at once, as gevent's SpawnedLink). */
typedef struct grove__waiter {
  grove__list link;
  struct grove_greenlet *(*fn)(struct grove__waiter *w, void *source);
} grove__waiter;

/* A deadline in the hub's timer heap (ordered by deadline, then by the order
 * they were armed, as libuv orders its timers). */
typedef struct grove__timer {
  uint64_t deadline; /* hub clock, ns */
  uint64_t seq;
  uint32_t slot;                                        /* 1-based heap position, 0 = not armed */
  struct grove_greenlet *(*fn)(struct grove__timer *t); /* greenlet to resume, or NULL */
} grove__timer;

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
  GROVE__F_HUB = 1 << 1,
  GROVE__F_DEDICATED = 1 << 2,
  GROVE__F_CANCELLED = 1 << 3,
  GROVE__F_FAILED = 1 << 4,
  GROVE__F_NOTIFYING = 1 << 5, /* links notify callback scheduled */
  GROVE__F_KILLREQ = 1 << 7,   /* grove_kill was called */
  GROVE__F_DAEMON = 1 << 8     /* runtime worker: not counted as alive, cancelled at close */
};

typedef struct grove__local_entry grove__local_entry;

struct grove_greenlet {
  void *sp; /* saved stack pointer while switched out */
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
  uint8_t state;
  uint8_t shared; /* shared stack index */
  uint16_t flags;
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
  struct grove_timeout *timeouts; /* innermost scoped timeout */
  const char *wait_what;
  const void *wait_obj;
  void *ext;      /* for the layers above the hub (the actor a runner runs) */
  uint64_t token; /* for the layers above: identifies the current wait */
#if !GROVE_CTX_ASM
  ucontext_t *uc;
#endif
#if GROVE_ASAN
  void *asan_fake;
#endif
};

/* A callback posted from another thread. */
typedef struct grove__post {
  struct grove__post *next;
  grove_callback fn;
  void *arg;
} grove__post;

struct grove_hub {
  grove_greenlet *current;
  grove_greenlet main;   /* the thread's own stack */
  grove_greenlet hub_g;  /* the hub: runs callbacks and the loop */
  grove__list runq;      /* grove__cb, FIFO */
  grove__list greenlets; /* alive, not counting main */
  size_t nalive;
  uint64_t next_id;
  uint64_t now; /* cached clock, ns (uv_hrtime) */

  /* timer heap */
  grove__timer **heap;
  uint32_t nheap, capheap;
  uint64_t timer_seq;

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
  uint64_t batch_end;      /* when the current callback batch must yield to polling */
  uint32_t steps;          /* callbacks run (for the batch clock check) */
  uint32_t stepping;       /* > 0 while callbacks run (nothing may block then) */
  uint32_t raw_depth;      /* > 0 while the hub resumes main at LoopExit */
  uint8_t need_poll;

  pthread_mutex_t post_lock;
  grove__post *post_head, **post_tail;
  pthread_t thread;
  uint8_t closing;
  size_t nstructs; /* greenlet structs not yet freed (unreleased references) */
  size_t nobjects; /* primitives created on this hub and not yet freed */
  struct {
    void (*fn)(void *arg);
    void *arg;
  } atclose[8]; /* called first by grove_hub_close (layers above the hub) */
  int natclose;
  size_t ndaemons; /* daemon greenlets alive */

  /* cooperative I/O (io.c): the fd watchers, indexed by fd */
  struct grove__io **io;
  size_t io_cap;
  /* blocking detection (monitor.c): bumped on every switch by the hub's
   * thread, read by the monitor thread */
  _Atomic uint64_t switches;
  struct grove__monitor *monitor;
};

/* ---- hub internals (hub.c) ----------------------------------------------- */

/* initial-exec: a plain %fs-relative load even in the shared library (the
 * default model for -fPIC code calls __tls_get_addr on every access, and
 * every grove call checks the calling thread's hub). */
extern _Thread_local grove_hub *grove__tls_hub __attribute__((tls_model("initial-exec")));

grove_hub *grove__hub_get(void); /* calling thread's hub, created on demand */

static inline grove_hub *grove__hub(void) {
  grove_hub *h = grove__tls_hub;
  return GROVE__LIKELY(h != NULL) ? h : grove__hub_get();
}

/* Register fn(arg) to run first in grove_hub_close (at most 8 per hub):
 * layers above the hub stop their daemon greenlets and free their state. */
int grove__hub_atclose(grove_hub *hub, void (*fn)(void *arg), void *arg);

/* Make g a daemon: a runtime worker that is not counted as alive (so it
 * neither keeps grove_hub_close from succeeding nor shows in the count);
 * grove_hub_close cancels the daemons still blocked. */
void grove__greenlet_daemonize(grove_greenlet *g);

/* The hub an object was created on must be the calling thread's. */
static inline int grove__owned(grove_hub *owner) { return owner == grove__tls_hub; }

/* Pop the head of the run queue if it is a callback with this fn, within
 * the batch budget (as if the hub's loop had run it next). NULL otherwise. */
grove__cb *grove__runq_take(grove_hub *hub, grove_greenlet *(*fn)(grove__cb *));
void grove__schedule(grove_hub *hub, grove__cb *cb);      /* at the back */
void grove__schedule_next(grove_hub *hub, grove__cb *cb); /* at the front: a continuation */
void grove__unschedule(grove__cb *cb);

/* Block the running greenlet until woken. If list is given the greenlet is
 * appended to it. Returns the wake code: 0 when woken by the object,
 * GROVE_ETIMEDOUT, GROVE_ECANCELED, GROVE_ELOOPEXIT; GROVE_EPERM when called
 * from the hub itself. A timeout of 0 returns GROVE_ETIMEDOUT at once. */
int grove__wait(grove_hub *hub, grove__list *list, double timeout, const char *what,
                const void *obj);
/* The same with an absolute deadline on the hub clock (UINT64_MAX: none). */
int grove__wait_until(grove_hub *hub, grove__list *list, uint64_t deadline, const char *what,
                      const void *obj);

/* Take a blocked (or sleep(0)-ready) greenlet off whatever it waits on and
 * record `code` as the result of its wait. Returns g, to be returned by a
 * callback as the greenlet to run, or NULL if g was not waiting. */
grove_greenlet *grove__wake_prepare(grove_greenlet *g, int code);

/* Wake g with `code` from anywhere (a greenlet, a run-queue callback, a
 * libuv callback): g is queued at the back of the run queue. */
void grove__wake(grove_greenlet *g, int code);
/* Wake every blocked greenlet of a wait list, in order, with `code`. */
void grove__wake_all(grove__list *l, int code);

/* Notify one waiter of a pass: runs a callback waiter and returns NULL, or
 * prepares a blocked greenlet and returns it. */
static inline grove_greenlet *grove__waiter_fire(grove__waiter *w, void *source) {
  if (w->fn)
    return w->fn(w, source);
  return grove__wake_prepare(grove__container_of(w, grove_greenlet, waiter), 0);
}

/* Current time of the hub clock in ns, and a deadline from a timeout. */
uint64_t grove__deadline(grove_hub *hub, double seconds); /* UINT64_MAX = never */

/* The seconds left until a deadline, as a timeout argument: GROVE_FOREVER
 * for UINT64_MAX, 0 once it has passed. */
static inline double grove__seconds_left(uint64_t deadline) {
  if (deadline == UINT64_MAX)
    return GROVE_FOREVER;
  uint64_t now = uv_hrtime();
  return deadline > now ? (double)(deadline - now) / 1e9 : 0;
}

/* Release the greenlet that just ended and switched here (if any): the
 * first thing every context does after a switch. */
void grove__reap_zombie(grove_hub *hub);

/* timer.c */
void grove__timer_arm(grove_hub *hub, grove__timer *t, uint64_t deadline);
void grove__timer_cancel(grove_hub *hub, grove__timer *t);
grove__timer *grove__timer_peek(grove_hub *hub);
void grove__timer_pop(grove_hub *hub);
void grove__timer_free_heap(grove_hub *hub);

/* stack.c */
int grove__stack_alloc(grove_hub *hub, grove__stack **out, size_t size);
void grove__stack_free(grove_hub *hub, grove__stack *s, size_t size);
void grove__stack_cache_drain(grove_hub *hub);
int grove__shared_init(grove__shared *sh);
void grove__shared_release(grove__shared *sh);
void grove__stack_swap_in(grove_hub *hub, grove_greenlet *g);
void grove__overflow_handler_install(void);
void grove__overflow_altstack_release(void);
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
/* A new greenlet that is not scheduled: the caller returns it from a
 * callback to start it at once. Its only reference is its own. */
grove_greenlet *grove__spawn_now(grove_fn fn, void *arg);
void grove__block_dead(grove_hub *hub, grove_greenlet *g) __attribute__((noreturn));
grove_greenlet *grove__greenlet_cb(grove__cb *cb);
grove_greenlet *grove__greenlet_timer_fired(grove__timer *t);

/* local.c */
void grove__locals_destroy(grove_greenlet *g);

/* timeout.c */
uint64_t grove__scoped_deadline(grove_greenlet *g);

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
  uint8_t free_pending;
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

/* ---- fd watchers (io.c) ------------------------------------------------------ */

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
  grove__list readers, writers;
  void (*on_closed)(struct grove__io *io); /* after uv_close: frees the owner */
} grove__io;

/* Block until io's fd is ready for UV_READABLE or UV_WRITABLE. Returns 0,
 * GROVE_ETIMEDOUT, GROVE_ECANCELED, GROVE_ECLOSED (io was closed: do not
 * touch it), or a libuv error. */
int grove__io_wait(grove__io *io, int event, uint64_t deadline, const char *what);
/* Set up a watcher (registered lazily at its first wait): owned by a
 * socket, or for a bare fd. */
void grove__io_init(grove__io *io, grove_hub *hub, int fd, int owned,
                    void (*on_closed)(grove__io *io));
/* Wake its waiters with GROVE_ECLOSED, unregister, and call on_closed once
 * libuv lets go of the handle (at once if it never registered). */
void grove__io_close(grove__io *io);

/* Report a misuse that cannot be returned as an error (a void call). */
void grove__misuse(const char *fn, int code);

#endif
