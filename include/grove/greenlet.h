/* grove/greenlet.h - greenlets and the hub that schedules them.
 *
 * A greenlet is a function running on its own (small, possibly shared) stack.
 * Greenlets of one thread never run in parallel: exactly one runs at a time
 * and it runs until it blocks (sleep, wait on an event, queue, lock, join...),
 * at which point control passes to the thread's hub. The hub runs a libuv loop
 * and resumes ready greenlets in FIFO order, exactly as gevent does.
 *
 * The thread that first calls grove is itself a greenlet (the "main"
 * greenlet): a blocking call made from main() runs the hub implicitly, there
 * is no run() to call. Each thread that uses grove gets its own hub.
 *
 * Timeouts are in seconds (double), as gevent's `timeout=` arguments:
 * GROVE_FOREVER (any negative value) waits forever, a positive timeout at
 * most that long. A timeout of 0 is gevent's timeout=0, a timer of zero
 * seconds: a call that cannot complete at once switches to the hub once -
 * every greenlet already runnable runs first, and may still let the call
 * complete - and then fails with GROVE_ETIMEDOUT. A call that can complete
 * at once (a finished greenlet, a set event, a queue holding an item) never
 * switches, whatever its timeout. To poll without switching, use the
 * non-blocking forms, gevent's block=False: grove_get_nowait,
 * grove_kill_nowait, grove_killall_nowait, grove_async_result_get_nowait,
 * grove_*_try_acquire, grove_queue_*_nowait. From the hub's own context (a
 * grove_hub_post callback), which cannot switch, a timeout of 0 is such a
 * poll and any other timeout gives GROVE_EPERM.
 *
 * Ownership: grove_spawn() and friends return a reference the caller owns and
 * must drop with grove_greenlet_release() once it no longer needs the
 * pointer. A running greenlet keeps itself alive until it finishes, so
 * releasing right after spawning is how one "detaches" a greenlet.
 *
 * Stacks: by default a greenlet runs on one of a few shared stacks, and the
 * part of the stack it uses is copied out when another greenlet needs that
 * stack (Python greenlet's method). An idle greenlet therefore costs only the
 * bytes its frames use, not a whole stack. The price: a pointer into one
 * greenlet's stack (the address of a local variable) is only valid while that
 * greenlet runs. Pass heap memory, or memory of the main greenlet (which runs
 * on the thread's own stack), or spawn the owner with GROVE_STACK_DEDICATED,
 * when another greenlet must read or write it.
 */
#ifndef GROVE_GREENLET_H
#define GROVE_GREENLET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#pragma GCC visibility push(default)

#define GROVE_FOREVER (-1.0)

typedef struct grove_greenlet grove_greenlet;
typedef struct grove_hub grove_hub;

/* A greenlet's function: its return value becomes the greenlet's value. */
typedef void *(*grove_fn)(void *arg);

/* Called when a greenlet has finished (see grove_link). */
typedef void (*grove_link_fn)(grove_greenlet *g, void *arg);

/* A plain callback, run by the hub (see grove_hub_post). */
typedef void (*grove_callback)(void *arg);

typedef enum grove_stack_kind {
  GROVE_STACK_SHARED = 0,   /* default: shared stack, used part copied out */
  GROVE_STACK_DEDICATED = 1 /* own mmap'd stack with a guard region */
} grove_stack_kind;

typedef struct grove_spawn_opts {
  const char *name;       /* copied; shown by grove_dump(); may be NULL */
  grove_stack_kind stack; /* GROVE_STACK_SHARED or GROVE_STACK_DEDICATED */
  size_t stack_size;      /* dedicated stacks: usable bytes; 0 = 256 KiB */
} grove_spawn_opts;

/* ---- spawning ----------------------------------------------------------- */

/* Create a greenlet that will run fn(arg) and schedule it to start at the end
 * of the run queue (it starts once the caller blocks or yields). Never
 * blocks. Returns a new reference, or NULL if fn is NULL or memory ran out. */
grove_greenlet *grove_spawn(grove_fn fn, void *arg);

/* grove_spawn with options (name, stack kind and size); opts may be NULL. */
grove_greenlet *grove_spawn_ex(grove_fn fn, void *arg, const grove_spawn_opts *opts);

/* Like grove_spawn, but the greenlet starts `seconds` from now: gevent's
 * spawn_later, a timer counted from the hub's cached time (the last poll,
 * or the last sleep or timed wait that read the clock). Even
 * grove_spawn_later(0, ...) waits for its timer, which fires when the hub
 * next polls: after every greenlet already runnable, and the ones they make
 * runnable (sleep(0) chains, spawns, link callbacks), have run. A negative
 * delay counts as 0. NULL for NaN, NULL fn, or out of memory. */
grove_greenlet *grove_spawn_later(double seconds, grove_fn fn, void *arg);

/* ---- waiting for greenlets ---------------------------------------------- */

/* Block until g has finished. Returns 0 when it has (whether it succeeded or
 * failed), GROVE_ETIMEDOUT, GROVE_ECANCELED if the caller was killed,
 * GROVE_EDEADLK if g is the caller, GROVE_ELOOPEXIT if nothing can ever
 * finish g, GROVE_EINVAL for NULL, GROVE_EPERM from another thread. A
 * finished g returns 0 at once; timeout 0 otherwise yields once (g may
 * finish meanwhile). gevent has no non-blocking join: grove_ready(g). */
int grove_join(grove_greenlet *g, double timeout);

/* Block until every greenlet in gs[0..n) has finished (NULL entries are
 * skipped). Same return codes as grove_join; the timeout covers the whole
 * call. */
int grove_joinall(grove_greenlet **gs, size_t n, double timeout);

/* Wait for g and fetch its result: 0 and *value = the function's return
 * value if g succeeded; g's error code if it failed (grove_exit); or the
 * codes of grove_join if the wait itself failed. value may be NULL. */
int grove_get(grove_greenlet *g, void **value, double timeout);

/* gevent's get(block=False): g's result as grove_get gives it if g has
 * finished, GROVE_ETIMEDOUT (gevent's Timeout) if not. Never switches. */
int grove_get_nowait(grove_greenlet *g, void **value);

/* ---- cancellation -------------------------------------------------------- */

/* Kill g: its current blocking call and every later one return
 * GROVE_ECANCELED until its function returns. A greenlet that has not started
 * yet never runs (its links still fire). Then wait up to `timeout` for g to
 * finish: returns 0 once it has, GROVE_ETIMEDOUT if it is still running
 * (the kill stays in effect; timeout 0 requests the kill without waiting).
 * Killing the calling greenlet marks it killed and returns GROVE_ECANCELED.
 * From the hub's own context (a grove_hub_post callback) the kill is
 * requested and, since the hub cannot wait, a timeout other than 0 gives
 * GROVE_EPERM.
 * Like gevent, a killed greenlet whose function then returns normally counts
 * as successful; grove_cancelled() tells that it was killed. */
int grove_kill(grove_greenlet *g, double timeout);

/* gevent's kill(block=False): request the kill and return 0 at once
 * (GROVE_EINVAL, GROVE_EPERM). The kill happens as grove_kill's does. */
int grove_kill_nowait(grove_greenlet *g);

/* Kill every greenlet in gs[0..n) (NULL entries skipped), then wait for all of
 * them up to `timeout`. Return codes as grove_kill. */
int grove_killall(grove_greenlet **gs, size_t n, double timeout);

/* gevent's killall(block=False): request the kills, return 0 at once. */
int grove_killall_nowait(grove_greenlet **gs, size_t n);

/* End the calling greenlet now, unsuccessfully, with error `code` (0 is
 * recorded as GROVE_EFAILED). Its frames are abandoned: release what they
 * own first. Called from the main greenlet it does nothing but return. */
void grove_exit(int code);

/* ---- state --------------------------------------------------------------- */

/* gevent's `started` (bool(greenlet)): true from spawn until it finishes,
 * whether or not it has run yet; false once finished or killed unstarted. */
bool grove_started(const grove_greenlet *g);
bool grove_ready(const grove_greenlet *g);      /* it has finished */
bool grove_successful(const grove_greenlet *g); /* finished without grove_exit */
bool grove_cancelled(const grove_greenlet *g);  /* grove_kill was called on it */
void *grove_value(const grove_greenlet *g);     /* return value, NULL until successful */
int grove_error(const grove_greenlet *g);       /* 0, or the grove_exit code once failed */

/* Call fn(g, arg) in a new greenlet once g has finished (gevent's link).
 * When g ends, one notification runs its links and wakes its joiners in the
 * order they were registered; a link's greenlet starts at once, so the links
 * registered before a join run before the joiner resumes. A link added after
 * g finished fires on the next turn of the hub. Returns 0, GROVE_EINVAL or
 * GROVE_ENOMEM. */
int grove_link(grove_greenlet *g, grove_link_fn fn, void *arg);

/* gevent's link_value and link_exception: grove_link, but fn is called only
 * if g succeeded (a killed greenlet counts as successful), or only if it
 * failed (grove_exit). The link takes its turn among g's links either way;
 * when it does not apply it does nothing (no greenlet is started). */
int grove_link_value(grove_greenlet *g, grove_link_fn fn, void *arg);
int grove_link_exception(grove_greenlet *g, grove_link_fn fn, void *arg);

/* ---- the current greenlet and yielding ---------------------------------- */

/* The running greenlet (the main greenlet when called outside any spawned
 * greenlet). Borrowed: do not release it. */
grove_greenlet *grove_current(void);

/* May the calling code block cooperatively here? True when the calling
 * thread has a hub (none is created) and the code runs on one of its
 * greenlets - the main greenlet or a spawned one - rather than in the hub
 * itself (its loop, a grove_hub_post callback, a run-queue callback) or
 * while grove_hub_close tears the hub down. False on any thread without a
 * hub. It does not say whether the greenlet was killed or its scoped
 * deadline passed (the blocking call returns GROVE_ECANCELED or
 * GROVE_ETIMEDOUT then). For code that must choose between waiting through
 * the hub and blocking the thread, such as the grove-patch library
 * (docs/patch.md). Never blocks; a thread-local read, safe from any
 * thread. */
bool grove_may_block(void);

/* Block the calling greenlet for `seconds`. grove_sleep(0) yields: the caller
 * goes to the back of the run queue and every greenlet ready before it runs
 * first; as in gevent, a negative value also just yields. Returns 0,
 * GROVE_ECANCELED if killed, GROVE_ETIMEDOUT if a scoped timeout
 * (grove_timeout_start) expired first, GROVE_EINVAL for NaN, GROVE_EPERM
 * from the hub's own context (a grove_hub_post callback). */
int grove_sleep(double seconds);

/* ---- references and names ------------------------------------------------ */

grove_greenlet *grove_greenlet_ref(grove_greenlet *g); /* +1 reference, returns g */
void grove_greenlet_release(grove_greenlet *g);        /* -1 reference; NULL is ignored */

int grove_greenlet_set_name(grove_greenlet *g, const char *name); /* copies name */
const char *grove_greenlet_name(const grove_greenlet *g);         /* never NULL */
uint64_t grove_greenlet_id(const grove_greenlet *g);              /* unique per hub, main is 0 */

/* ---- the hub -------------------------------------------------------------- */

/* The calling thread's hub, created on first use (NULL if out of memory). */
grove_hub *grove_hub_current(void);

/* The first hub created in the process (usually the main thread's). */
grove_hub *grove_hub_default(void);

/* Run fn(arg) on the default hub's thread, soon. The one grove call that is
 * safe from any thread (gevent's run_callback_threadsafe). fn runs in the hub
 * itself and must not block; spawn a greenlet from it if it needs to.
 * Returns 0, GROVE_ENOENT if there is no hub yet, GROVE_ENOMEM. */
int grove_hub_post(grove_callback fn, void *arg);

/* grove_hub_post to a given hub; the hub must outlive the call. */
int grove_hub_post_to(grove_hub *hub, grove_callback fn, void *arg);

/* While a hold is taken, the calling thread's hub treats a greenlet blocked
 * forever as possibly woken from another thread (by grove_hub_post) instead
 * of reporting GROVE_ELOOPEXIT. Returns 0 or GROVE_EINVAL (unbalanced). */
int grove_hub_hold(void);
int grove_hub_unhold(void);

/* Number of greenlets of the calling thread's hub that have not finished,
 * not counting the main greenlet. */
size_t grove_hub_greenlet_count(void);

/* The hub's turn (gevent's switch interval): the hub runs greenlets,
 * callbacks and actors for at most this long before it polls timers and
 * I/O, even when work is still waiting. An actor working through a backlog,
 * a node reading a flood, or a long run queue stops when the turn is over
 * and goes on after the poll, behind the work queued meanwhile, so nothing
 * holds the hub longer than one turn plus one unit of its work (a message,
 * a callback, up to the next switch of a greenlet that computes). 5 ms by
 * default; a shorter turn makes timers and I/O more punctual and costs a
 * little throughput. Applies to the calling thread's hub. Returns 0 or
 * GROVE_EINVAL (not between 100 us and 1 s, or NaN). */
int grove_hub_set_switch_interval(double seconds);
double grove_hub_switch_interval(void);
/* Turns this hub ended because their time was up while work was waiting:
 * how often fairness has had to step in. */
uint64_t grove_hub_turns_cut(void);

/* Release the calling thread's hub: its loop, stacks and caches. Returns 0;
 * GROVE_EBUSY (nothing is freed) if a greenlet has not finished, a greenlet
 * reference has not been released, or an object (event, queue, lock, group,
 * local key...) created on this hub has not been freed; GROVE_EPERM when
 * called from a spawned greenlet. Callbacks still queued (link
 * notifications, posts) run first. After it, a new hub is created on the
 * next grove call. Intended for the end of a thread or of a test, to prove
 * that nothing leaked. */
int grove_hub_close(void);

/* What keeps grove_hub_close from succeeding: the live objects of the
 * calling thread's hub, by kind. When grove_hub_close returns GROVE_EBUSY
 * it also logs them (grove/log.h: a GROVE_LOG_HUB_LEFTOVERS event at
 * GROVE_LOG_WARN, with the text of grove_hub_leftovers). */
typedef struct grove_hub_counts {
  size_t greenlets;     /* not finished (the library's own daemon greenlets excepted) */
  size_t greenlet_refs; /* finished greenlets whose reference was not released */
  size_t events;
  size_t async_results;
  size_t semaphores; /* semaphores, locks and rlocks */
  size_t queues;     /* of every kind, channels included */
  size_t groups;     /* groups and pools */
  size_t locals;     /* grove_local keys */
  size_t sockets;
  size_t subprocesses;
  size_t signals; /* signal handlers */
  size_t actors;
  size_t other;   /* the library's own (a node, a user ZeroMQ socket, an iterator...) */
  size_t objects; /* every object above, greenlets excepted: the sum */
  size_t timers;  /* armed timers (sleeps, timeouts, spawn_later): informational */
} grove_hub_counts;

/* Fill *out with the calling thread's hub's counts (all 0 without a hub).
 * Returns 0 or GROVE_EINVAL for a NULL out. Never blocks. */
int grove_hub_counts_get(grove_hub_counts *out);

/* The same as one line of text in buf (NUL-terminated, cut to len - 1
 * bytes), naming only what is there: "2 greenlets, 1 queue, 1 actor", or
 * "nothing" on a hub that can close. Returns the length the whole line
 * needs (as snprintf: a return >= len means it was cut). buf may be NULL
 * when len is 0. Never blocks. */
size_t grove_hub_leftovers(char *buf, size_t len);

/* Print every greenlet of the calling thread's hub, one per line: id, name,
 * state, and what it waits on (gevent's format_run_info). */
void grove_dump(FILE *out);

/* Kill every greenlet of the calling thread's hub except the caller
 * (cancellation: each sees GROVE_ECANCELED), waiting up to timeout for them
 * to end; the orderly shutdown of gevent.signal_handler(SIGQUIT, gevent.kill).
 * The main greenlet, when it is not the caller, is interrupted once (its
 * current wait returns GROVE_ECANCELED) rather than cancelled for good, so
 * that it can still join and close the hub. Returns 0 or GROVE_ETIMEDOUT. */
int grove_shutdown(double timeout);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif
#endif
