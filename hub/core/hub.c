/* hub/core/hub.c - the hub: one per thread, a libuv loop plus a FIFO of callbacks.
 *
 * Design notes.
 *
 * The hub is a greenlet with its own dedicated stack. A greenlet that blocks
 * switches to the hub; the hub decides who runs next. One iteration of the
 * hub (hub_iterate) is:
 *
 *   1. run the callbacks in the run queue, in FIFO order, including the ones
 *      added while running them (gevent's loop.run_callback queue). A
 *      callback typically switches into a greenlet ("start it", "resume it
 *      after sleep(0)", "wake the waiters of this event"); that greenlet runs
 *      until it blocks, which switches back here, and the next callback runs.
 *      The turn ends once its slice (5 ms, gevent's switch interval) has
 *      passed: gevent checks the clock every 100 callbacks, whatever they
 *      cost; grove measures by time (the turn meter, hub_api.h), and every
 *      source of work counts its own units against the same turn - an actor
 *      working through its inbox, a node draining its socket - so that
 *      neither a greenlet spinning on sleep(0), nor a backlog, nor a flood
 *      starves timers and I/O;
 *   2. poll libuv: without blocking if callbacks are pending, otherwise
 *      blocking until the earliest deadline or until I/O arrives;
 *   3. fire the expired deadlines, in (deadline, arming order).
 *
 * If nothing is queued, no deadline is pending, libuv has nothing that could
 * call back, and no thread holds the hub (grove_hub_hold), then nothing can
 * ever wake the blocked main greenlet: the hub wakes it with
 * GROVE_ELOOPEXIT, as gevent raises LoopExit in the main greenlet.
 *
 * The main greenlet is the thread's own stack: no hub exists until the first
 * grove call, and no run() is needed, because the first blocking call from
 * main switches to the hub, which is started then.
 *
 * Threads: all state here belongs to one thread. grove_hub_post is the one
 * entry point for other threads: it appends to a mutex-protected list and
 * signals a uv_async_t; the hub runs the posted callbacks from the async
 * callback.
 */
#include "internal.h"

#include <math.h>
#include <string.h>

_Thread_local grove_hub *grove__tls_hub __attribute__((tls_model("initial-exec")));

static pthread_mutex_t default_lock = PTHREAD_MUTEX_INITIALIZER;
static grove_hub *default_hub;

#define SWITCH_INTERVAL_NS 5000000ull /* gevent's sys.getswitchinterval() */
#define METER_MIN 1
#define METER_MAX 128 /* a cheap unit (a 20 ns message) reads the clock every 128 */

static void hub_entry(void);
static void turn_start(grove_hub *hub, uint64_t now);
static void async_cb(uv_async_t *a);
/* The hub's deadline came: whatever libuv had planned, stop polling (a
 * timer that fires before the poll must not be followed by an infinite
 * epoll_wait). */
static void uvtimer_cb(uv_timer_t *t) { uv_stop(t->loop); }
/* Whether the hub is idle in libuv's poll, for the watchdog: anything else
 * the hub's thread does (a libuv callback, a posted callback, a greenlet)
 * holds the hub. */
static void idle_on_cb(uv_prepare_t *h) {
  grove_hub *hub = h->data;
  atomic_store_explicit(&hub->idle, 1, memory_order_release);
}
static void idle_off_cb(uv_check_t *h) {
  grove_hub *hub = h->data;
  atomic_store_explicit(&hub->idle, 0, memory_order_release);
}
static grove_greenlet *timer_pass(grove__cb *cb);

void grove__misuse(const char *fn, int code) {
  grove_logf(GROVE_LOG_WARN, "%s: %s (%s); call ignored", fn, grove_strerror(code),
             grove_err_name(code));
}

static void init_special(grove_hub *hub, grove_greenlet *g, uint8_t flags, const char *name) {
  memset(g, 0, sizeof *g);
  g->hub = hub;
  g->head.flags = flags;
  g->state = GROVE__RUNNING;
  g->refs = 1;
  g->name = strdup(name);
  grove__list_init(&g->cb.link);
  grove__list_init(&g->waiter.link);
  grove__list_init(&g->all);
  grove__list_init(&g->links);
  grove__list_init(&g->group_link);
  g->timer.fn = grove__greenlet_timer_fired;
}

grove_hub *grove__hub_get(void) {
  if (grove__tls_hub)
    return grove__tls_hub;
  grove_hub *hub = calloc(1, sizeof *hub);
  if (!hub)
    return NULL;
  if (uv_loop_init(&hub->loop) != 0) {
    free(hub);
    return NULL;
  }
  grove__list_init(&hub->runq);
  grove__list_init(&hub->greenlets);
  init_special(hub, &hub->main, GROVE__F_MAIN, "main");
  init_special(hub, &hub->hub_g, GROVE__F_HUB, "hub");
  hub->hub_g.state = GROVE__NEW;
  hub->main.id = 0;
  hub->hub_g.id = UINT64_MAX;
  hub->next_id = 1;
  hub->head.current = &hub->main;
  hub->now = hub->loop_now = uv_hrtime();
  hub->slice_ns = SWITCH_INTERVAL_NS;
  hub->meter_k = 16;
  turn_start(hub, hub->now);
  grove__list_init(&hub->timer_pass.link);
  hub->timer_pass.fn = timer_pass;
  uv_timer_init(&hub->loop, &hub->uvtimer);
  uv_prepare_init(&hub->loop, &hub->idle_on);
  uv_check_init(&hub->loop, &hub->idle_off);
  hub->idle_on.data = hub->idle_off.data = hub;
  uv_prepare_start(&hub->idle_on, idle_on_cb);
  uv_check_start(&hub->idle_off, idle_off_cb);
  uv_unref((uv_handle_t *)&hub->idle_on); /* they never keep the loop alive */
  uv_unref((uv_handle_t *)&hub->idle_off);
  uv_async_init(&hub->loop, &hub->async, async_cb);
  uv_unref((uv_handle_t *)&hub->async);
  hub->async.data = hub;
  pthread_mutex_init(&hub->post_lock, NULL);
  hub->post_tail = &hub->post_head;
  hub->thread = pthread_self();
  grove__tls_hub = hub;
  pthread_mutex_lock(&default_lock);
  if (!default_hub)
    default_hub = hub;
  pthread_mutex_unlock(&default_lock);
  grove__list_init(&hub->proc_orphans);
  grove__xq_init(&hub->xq);
  grove__overflow_handler_install(hub);
  return hub;
}

grove_hub *grove_hub_current(void) { return grove__hub(); }

grove_hub *grove_hub_default(void) {
  pthread_mutex_lock(&default_lock);
  grove_hub *h = default_hub;
  pthread_mutex_unlock(&default_lock);
  return h;
}

/* ---- run queue ------------------------------------------------------------ */

void grove__schedule(grove_hub *hub, grove__cb *cb) { grove__list_push(&hub->runq, &cb->link); }

void grove__schedule_next(grove_hub *hub, grove__cb *cb) {
  grove__list *head = &hub->runq;
  cb->link.next = head->next;
  cb->link.prev = head;
  head->next->prev = &cb->link;
  head->next = &cb->link;
}

void grove__unschedule(grove__cb *cb) {
  if (grove__list_linked(&cb->link))
    grove__list_remove(&cb->link);
}

/* Run callbacks from the front of the run queue until one names a greenlet
 * to run. Returns NULL when the queue is empty, or when the current batch
 * has run for gevent's switch interval (5 ms, checked every 100 callbacks)
 * and the hub must poll for I/O and timers before going on. */
static inline grove_greenlet *next_runnable(grove_hub *hub) {
  grove__list *n;
  grove_greenlet *t = NULL;
  hub->head.stepping++;
  while ((n = grove__list_pop(&hub->runq)) != NULL) {
    if (GROVE__UNLIKELY(grove__turn_over(hub))) {
      grove__schedule_next(hub, grove__container_of(n, grove__cb, link));
      break;
    }
    grove__cb *cb = grove__container_of(n, grove__cb, link);
    if ((t = cb->fn(cb)) != NULL)
      break;
  }
  hub->head.stepping--;
  return t;
}

grove__cb *grove__runq_take(grove_hub *hub, grove_greenlet *(*fn)(grove__cb *)) {
  grove__list *n = hub->runq.next;
  if (n == &hub->runq)
    return NULL;
  grove__cb *cb = grove__container_of(n, grove__cb, link);
  if (cb->fn != fn)
    return NULL;
  if (GROVE__UNLIKELY(grove__turn_over(hub)))
    return NULL;
  grove__list_remove(n);
  return cb;
}

/* The turn meter's slow path (hub_api.h): read the clock; end the turn, or
 * set how many units until the next look, from what the last ones cost. */
bool grove__turn_check(grove_hub *hub) {
  uint64_t now = uv_hrtime();
  if (now >= hub->batch_end) {
    if (!hub->need_poll)
      hub->turns_cut++;
    hub->need_poll = 1;
    hub->head.meter = 1; /* every unit asks again until the hub has polled */
    return true;
  }
  uint64_t spent = now - hub->meter_at, aim = hub->slice_ns / 16;
  int32_t k = hub->meter_k;
  if (spent > aim) {
    uint64_t fit = (uint64_t)k * aim / spent; /* units that fit in the aim at this rate */
    k = fit < METER_MIN ? METER_MIN : (int32_t)fit;
  } else if (spent < aim / 2 && k < METER_MAX) {
    k = k * 2 > METER_MAX ? METER_MAX : k * 2;
  }
  hub->meter_k = k;
  hub->meter_at = now;
  hub->head.meter = k;
  return false;
}

/* A new turn begins (after a poll). */
static void turn_start(grove_hub *hub, uint64_t now) {
  hub->batch_end = now + hub->slice_ns;
  hub->meter_at = now;
  hub->head.meter = hub->meter_k;
}

/* ---- switching ------------------------------------------------------------ */

void grove__reap_zombie(grove_hub *hub) {
  grove_greenlet *z = hub->zombie;
  if (z) {
    hub->zombie = NULL;
    grove__greenlet_reap(hub, z);
  }
}

static void jump_to_hub(grove_hub *hub, grove_greenlet *g) {
  grove_greenlet *h = &hub->hub_g;
  if (GROVE__UNLIKELY(h->state == GROVE__NEW)) {
    if (grove__stack_alloc(hub, &h->stack, GROVE__HUB_STACK) != 0) {
      grove_logf(GROVE_LOG_ERROR, "cannot allocate the hub's stack");
      abort();
    }
    h->stack_size = GROVE__HUB_STACK;
    h->sp = grove__ctx_init(h, h->stack->hi, hub_entry);
    h->state = GROVE__RUNNING;
  }
  grove__ctx_jump(hub, g, h);
}

/* Whether the shared stack k holds the frames of `cur`, which is running on
 * it: nothing may be copied onto that stack from cur's own context. */
static int running_on(grove_hub *hub, const grove_greenlet *cur, uint32_t k) {
  return hub->shared[k].occupant == cur &&
         !(cur->head.flags & (GROVE__F_DEDICATED | GROVE__F_MAIN | GROVE__F_HUB));
}

/* Give a new greenlet a stack and its first frame. Returns 0, GROVE_ENOMEM. */
__attribute__((noinline)) static int prepare_start(grove_hub *hub, grove_greenlet *g,
                                                   grove_greenlet *cur) {
  char *hi;
  if (g->head.flags & GROVE__F_DEDICATED) {
    int rc = grove__stack_alloc(hub, &g->stack, g->stack_size);
    if (rc)
      return rc;
    hi = g->stack->hi;
  } else {
    /* Prefer a shared stack nobody occupies; otherwise take turns, never
     * choosing the stack the current greenlet is running on. */
    uint32_t pick = GROVE__NSHARED;
    for (uint32_t i = 0; i < GROVE__NSHARED; i++) {
      uint32_t k = (hub->next_shared + i) % GROVE__NSHARED;
      if (hub->shared[k].occupant == NULL) {
        pick = k;
        break;
      }
    }
    for (uint32_t i = 0; pick == GROVE__NSHARED && i < GROVE__NSHARED; i++) {
      uint32_t k = (hub->next_shared + i) % GROVE__NSHARED;
      if (!running_on(hub, cur, k))
        pick = k;
    }
    hub->next_shared = pick + 1;
    grove__shared *sh = &hub->shared[pick];
    if (!sh->stack.map && grove__shared_init(sh) != 0)
      return GROVE_ENOMEM;
    g->shared = (uint8_t)pick;
    grove__stack_swap_in(hub, g); /* copies the occupant out, if any */
    hi = sh->stack.hi;
  }
  g->sp = grove__ctx_init(g, hi, grove__greenlet_entry);
  if (!g->sp)
    return GROVE_ENOMEM;
  return 0;
}

/* Whether `cur` may switch to t itself (without the hub's help). */
static inline int direct_ok(grove_hub *hub, const grove_greenlet *cur, const grove_greenlet *t) {
  if (t->head.flags & (GROVE__F_DEDICATED | GROVE__F_MAIN) || t->state == GROVE__NEW)
    return 1;
  grove_greenlet *occ = hub->shared[t->shared].occupant;
  return occ == t || occ != cur || (cur->head.flags & (GROVE__F_DEDICATED | GROVE__F_MAIN));
}

/* Switch from `from` to t (which is runnable). Returns 0 once `from` runs
 * again; GROVE_ENOMEM (no switch) if t could not be started: t then ended,
 * failed, without running. */
static inline int switch_to(grove_hub *hub, grove_greenlet *from, grove_greenlet *t) {
  if (GROVE__UNLIKELY(t->state == GROVE__NEW)) {
    int rc = prepare_start(hub, t, from);
    if (rc) {
      grove__finish_unstarted(t, rc);
      return rc;
    }
  } else if (GROVE__UNLIKELY(!(t->head.flags & (GROVE__F_DEDICATED | GROVE__F_MAIN)) &&
                             hub->shared[t->shared].occupant != t)) {
    grove__stack_swap_in(hub, t);
  }
  t->state = GROVE__RUNNING;
  grove__ctx_jump(hub, from, t);
  grove__reap_zombie(hub);
  return 0;
}

/* The running greenlet g has recorded why it stops (blocked, ready or dead):
 * find who runs next and switch there. Returns when g is resumed. */
static inline void block(grove_hub *hub, grove_greenlet *g) {
  if (GROVE__LIKELY(hub->raw_depth == 0)) {
    for (;;) {
      grove_greenlet *t = next_runnable(hub);
      if (!t)
        break;
      if (t == g) {
        g->state = GROVE__RUNNING; /* our own turn came first: no switch */
        return;
      }
      if (!direct_ok(hub, g, t)) {
        hub->handoff = t;
        break;
      }
      if (switch_to(hub, g, t) == 0)
        return;
    }
  }
  jump_to_hub(hub, g);
  grove__reap_zombie(hub);
}

void grove__block_dead(grove_hub *hub, grove_greenlet *g) {
  block(hub, g);
  abort(); /* a dead greenlet is never resumed */
}

/* ---- blocking and waking --------------------------------------------------- */

uint64_t grove__deadline(grove_hub *hub, double seconds) {
  (void)hub;
  if (seconds < 0 || isnan(seconds))
    return UINT64_MAX;
  double ns = seconds * 1e9;
  uint64_t now = uv_hrtime();
  if (ns >= (double)(UINT64_MAX - now - 1))
    return UINT64_MAX - 1;
  return now + (uint64_t)ns;
}

double grove__seconds_left(uint64_t deadline) {
  if (deadline == UINT64_MAX)
    return GROVE_FOREVER;
  uint64_t now = uv_hrtime();
  return deadline > now ? (double)(deadline - now) / 1e9 : 0;
}

int grove__begin_wait_slow(grove_hub *hub, double timeout, uint64_t *deadline) {
  *deadline = UINT64_MAX;
  if (GROVE__UNLIKELY(isnan(timeout)))
    return GROVE_EINVAL;
  if (GROVE__UNLIKELY(hub != grove__tls_hub || !hub))
    return hub ? GROVE_EPERM : GROVE_ENOMEM;
  grove_greenlet *g = hub->head.current;
  if (GROVE__LIKELY(timeout < 0))
    return grove__gate(hub, g, deadline);
  if (timeout == 0) {
    /* A poll never blocks: the hub's own context may poll too. */
    if (g->head.flags & GROVE__F_CANCELLED)
      return GROVE_ECANCELED;
    *deadline = uv_hrtime();
    if (GROVE__UNLIKELY(g->head.timeouts != NULL) && g->nfired)
      return GROVE_ETIMEDOUT;
    return 0;
  }
  *deadline = grove__deadline(hub, timeout);
  return grove__gate(hub, g, deadline);
}

static inline int wait_until(grove_hub *hub, grove__list *list, uint64_t deadline, int prio,
                             const char *what, const void *obj) {
  grove_greenlet *g = hub->head.current;
  int rc = grove__gate(hub, g, &deadline);
  if (GROVE__UNLIKELY(rc != 0))
    return rc;
  if (GROVE__UNLIKELY(deadline != UINT64_MAX) &&
      GROVE__UNLIKELY(grove__timer_arm(hub, &g->timer, deadline, prio) != 0))
    return GROVE_ENOMEM;
  if (GROVE__LIKELY(list != NULL))
    grove__list_push(list, &g->waiter.link);
  g->state = GROVE__BLOCKED;
  g->wake = 0;
  g->wait_what = what;
  g->wait_obj = obj;
  block(hub, g);
  g->wait_what = NULL;
  g->wait_obj = NULL;
  return g->wake;
}

int grove__wait_until(grove_hub *hub, grove__list *list, uint64_t deadline, const char *what,
                      const void *obj) {
  return wait_until(hub, list, deadline, GROVE__TIMER_TIMEOUT, what, obj);
}

int grove__wait(grove_hub *hub, grove__list *list, double timeout, const char *what,
                const void *obj) {
  if (timeout == 0) {
    /* A poll never blocks, so it is fine from the hub's own context too. */
    grove_greenlet *g = hub->head.current;
    return (g->head.flags & GROVE__F_CANCELLED) ? GROVE_ECANCELED : GROVE_ETIMEDOUT;
  }
  return grove__wait_until(hub, list, timeout < 0 ? UINT64_MAX : grove__deadline(hub, timeout),
                           what, obj);
}

/* What a greenlet in sleep(0) waits on (wait_what). A wake finds a READY
 * greenlet in the run queue, to run later: in sleep(0), or woken through the
 * run queue (grove__wake). It runs now instead, with the new code - as in
 * gevent, where a throw that comes first wins - unless it was woken with
 * success (0): that may have handed it an item, which must not be lost. */
static const char SLEEP0[] = "sleep(0)";

grove_greenlet *grove__wake_prepare(grove_greenlet *g, int code) {
  if (g->state == GROVE__READY) {
    if (g->wait_what != SLEEP0 && g->wake == 0)
      return NULL;
    grove__unschedule(&g->cb);
  } else if (g->state != GROVE__BLOCKED) {
    return NULL;
  }
  if (grove__list_linked(&g->waiter.link))
    grove__list_remove(&g->waiter.link);
  if (g->timer.slot)
    grove__timer_cancel(g->hub, &g->timer);
  g->wake = code;
  g->state = GROVE__BLOCKED;
  return g;
}

/* Resume t from the hub's own context, outside the loop (LoopExit), and
 * come back when it blocks. */
static void resume_raw(grove_hub *hub, grove_greenlet *t) {
  hub->raw_depth++;
  switch_to(hub, &hub->hub_g, t);
  hub->raw_depth--;
}

void grove__wake(grove_greenlet *g, int code) {
  if (!grove__wake_prepare(g, code))
    return;
  /* Always through the run queue: from a libuv callback, resuming g there
   * would let it re-enter uv_run (main going on to grove_hub_close), and
   * gevent itself defers such wake-ups with loop.run_callback. */
  g->state = GROVE__READY;
  g->cb.fn = grove__greenlet_cb;
  grove__schedule(g->hub, &g->cb);
}

void grove__wake_all(grove__list *l, int code) { grove__wake_all_slot(l, code, NULL); }

void grove__wake_all_slot(grove__list *l, int code, void *slot) {
  grove__list *n;
  while ((n = grove__list_pop(l)) != NULL) {
    grove__list_init(n);
    grove_greenlet *g = grove__container_of(n, grove_greenlet, waiter.link);
    if (slot)
      g->slot = slot;
    grove__wake(g, code);
  }
}

/* The run-queue callback of a greenlet: start it, or resume it. */
grove_greenlet *grove__greenlet_cb(grove__cb *cb) {
  grove_greenlet *g = grove__container_of(cb, grove_greenlet, cb);
  return (g->state == GROVE__NEW || g->state == GROVE__READY) ? g : NULL;
}

int grove_sleep(double seconds) {
  if (isnan(seconds))
    return GROVE_EINVAL;
  grove_hub *hub = grove__hub();
  if (!hub)
    return GROVE_ENOMEM;
  grove_greenlet *g = hub->head.current;
  if (seconds <= 0) {
    /* gevent: run_callback(waiter.switch); waiter.get(). */
    uint64_t deadline = UINT64_MAX;
    int rc = grove__gate(hub, g, &deadline);
    if (rc)
      return rc;
    g->cb.fn = grove__greenlet_cb;
    g->state = GROVE__READY;
    g->wake = 0;
    g->wait_what = SLEEP0;
    grove__schedule(hub, &g->cb);
    block(hub, g);
    g->wait_what = NULL;
    return g->wake;
  }
  /* gevent: loop.update_now(); hub.wait(loop.timer(seconds)): a watcher
   * of the default priority, from the current time. */
  uint64_t deadline = grove__timeout_deadline(hub, seconds);
  int rc = wait_until(hub, NULL, deadline, GROVE__TIMER_WATCHER, "sleep", NULL);
  if (rc == GROVE_ETIMEDOUT && !g->nfired)
    rc = 0; /* our own timer, not a scope's: the sleep is over */
  return rc;
}

/* ---- the loop --------------------------------------------------------------- */

/* The expired deadlines, one per step, before any other callback (libev
 * runs the timers pending after its poll before the callbacks they queue):
 * those that had expired at the last poll and were armed before it, the
 * watchers (sleep, spawn_later) first, then the timeouts (timer.c). */
static grove_greenlet *timer_pass(grove__cb *cb) {
  grove_hub *hub = grove__container_of(cb, grove_hub, timer_pass);
  grove__timer *t;
  while ((t = grove__timer_due(hub)) != NULL) {
    grove__timer_cancel(hub, t);
    grove_greenlet *g = t->fn(t);
    if (g) {
      grove__schedule_next(hub, &hub->timer_pass);
      return g;
    }
  }
  return NULL;
}

static void loop_exit(grove_hub *hub) {
  grove_greenlet *m = &hub->main;
  if (grove__wake_prepare(m, GROVE_ELOOPEXIT)) {
    resume_raw(hub, m);
    return;
  }
  /* Unreachable: the hub only runs while main is switched out. */
  grove_logf(GROVE_LOG_ERROR, "hub loop exited while the main greenlet was not blocked");
  abort();
}

static void poll_once(grove_hub *hub) {
  if (!grove__list_empty(&hub->runq)) {
    uv_run(&hub->loop, UV_RUN_NOWAIT);
  } else {
    grove__timer *t = grove__timer_peek(hub);
    if (t && t->deadline <= uv_hrtime()) {
      /* Already due (a greenlet computed past it): poll without waiting. */
      uv_run(&hub->loop, UV_RUN_NOWAIT);
      goto polled;
    }
    if (GROVE__UNLIKELY(hub->grouped)) {
      /* Several hubs: spin a little for what the others send before the
       * poll blocks, and say the hub sleeps so that they wake it. */
      uint64_t now = uv_hrtime();
      uint64_t wait = t ? (t->deadline > now ? t->deadline - now : 0) : UINT64_MAX;
      if (!grove__hub_may_sleep(hub, wait)) {
        if (uv_hrtime() < hub->batch_end)
          return; /* within the turn: run it without a poll (a syscall) */
        uv_run(&hub->loop, UV_RUN_NOWAIT);
        goto polled;
      }
    }
    if (t) {
      uint64_t now = uv_hrtime();
      uint64_t ms = t->deadline > now ? (t->deadline - now + 999999) / 1000000 : 0;
      /* libuv arms timers from its cached loop time, which is stale after a
       * greenlet computed for a while: refresh it, or the timer fires at
       * once and the poll that follows has no timeout. */
      uv_update_time(&hub->loop);
      uv_timer_start(&hub->uvtimer, uvtimer_cb, ms, 0);
    } else {
      uv_timer_stop(&hub->uvtimer);
      if (!uv_loop_alive(&hub->loop) && hub->holds == 0) {
        atomic_store_explicit(&hub->xsleep, 0, memory_order_relaxed);
        hub->now = uv_hrtime();
        loop_exit(hub);
        return;
      }
    }
    uv_run(&hub->loop, UV_RUN_ONCE);
    if (GROVE__UNLIKELY(hub->grouped))
      grove__hub_awake(hub);
  }
polled:
  hub->now = hub->loop_now = uv_hrtime();
  hub->reify_seq = hub->timer_seq;
  turn_start(hub, hub->now);
  if (grove__timer_due(hub) && !grove__list_linked(&hub->timer_pass.link))
    grove__schedule_next(hub, &hub->timer_pass);
}

static void hub_entry(void) {
  grove_hub *hub = grove__tls_hub;
  grove__ctx_started(hub);
  grove__reap_zombie(hub);
  turn_start(hub, uv_hrtime());
  for (;;) {
    grove_greenlet *t = hub->handoff;
    hub->handoff = NULL;
    if (!t && !hub->need_poll)
      t = next_runnable(hub);
    if (t) {
      switch_to(hub, &hub->hub_g, t);
      continue;
    }
    /* What other hubs sent, or the hub itself (a grove_hub_call_on to its
     * own hub answers through its queue, with or without grove_hubs_start):
     * before a poll, which may block. */
    if (!hub->need_poll && grove__xq_pending(&hub->xq) && grove__hub_drain(hub) > 0)
      continue;
    hub->need_poll = 0;
    poll_once(hub);
  }
}

/* ---- threads ---------------------------------------------------------------- */

static void async_cb(uv_async_t *a) {
  grove_hub *hub = a->data;
  /* libuv runs I/O callbacks inside its poll phase, before the check
   * handle: the hub is busy from here on (the callbacks are the user's). */
  atomic_store_explicit(&hub->idle, 0, memory_order_release);
  pthread_mutex_lock(&hub->post_lock);
  grove__post *p = hub->post_head;
  hub->post_head = NULL;
  hub->post_tail = &hub->post_head;
  pthread_mutex_unlock(&hub->post_lock);
  while (p) {
    grove__post *next = p->next;
    atomic_store_explicit(&hub->hub_cb, (void *)p->fn, memory_order_release);
    p->fn(p->arg);
    atomic_store_explicit(&hub->hub_cb, NULL, memory_order_release);
    free(p);
    p = next;
  }
}

int grove_hub_post_to(grove_hub *hub, grove_callback fn, void *arg) {
  if (!hub || !fn)
    return GROVE_EINVAL;
  grove__post *p = malloc(sizeof *p);
  if (!p)
    return GROVE_ENOMEM;
  p->next = NULL;
  p->fn = fn;
  p->arg = arg;
  pthread_mutex_lock(&hub->post_lock);
  *hub->post_tail = p;
  hub->post_tail = &p->next;
  pthread_mutex_unlock(&hub->post_lock);
  uv_async_send(&hub->async);
  return 0;
}

int grove_hub_post(grove_callback fn, void *arg) {
  if (!fn)
    return GROVE_EINVAL;
  pthread_mutex_lock(&default_lock);
  int rc = default_hub ? grove_hub_post_to(default_hub, fn, arg) : GROVE_ENOENT;
  pthread_mutex_unlock(&default_lock);
  return rc;
}

int grove_hub_hold(void) {
  grove_hub *hub = grove__hub();
  if (!hub)
    return GROVE_ENOMEM;
  if (hub->holds++ == 0)
    uv_ref((uv_handle_t *)&hub->async);
  return 0;
}

int grove_hub_unhold(void) {
  grove_hub *hub = grove__tls_hub;
  if (!hub || hub->holds == 0)
    return GROVE_EINVAL;
  if (--hub->holds == 0)
    uv_unref((uv_handle_t *)&hub->async);
  return 0;
}

int grove_hub_set_switch_interval(double seconds) {
  if (!(seconds >= 1e-4 && seconds <= 1.0))
    return GROVE_EINVAL;
  grove_hub *hub = grove__hub();
  if (!hub)
    return GROVE_ENOMEM;
  hub->slice_ns = (uint64_t)(seconds * 1e9);
  if (hub->batch_end > hub->meter_at + hub->slice_ns)
    hub->batch_end = hub->meter_at + hub->slice_ns;
  return 0;
}

double grove_hub_switch_interval(void) {
  grove_hub *hub = grove__tls_hub;
  return (double)(hub ? hub->slice_ns : SWITCH_INTERVAL_NS) / 1e9;
}

uint64_t grove_hub_turns_cut(void) {
  grove_hub *hub = grove__tls_hub;
  return hub ? hub->turns_cut : 0;
}

size_t grove_hub_greenlet_count(void) {
  grove_hub *hub = grove__tls_hub;
  return hub ? hub->nalive : 0;
}

/* ---- closing ------------------------------------------------------------------ */

int grove_hub_counts_get(grove_hub_counts *out) {
  if (!out)
    return GROVE_EINVAL;
  memset(out, 0, sizeof *out);
  grove_hub *hub = grove__tls_hub;
  if (!hub)
    return 0;
  /* Every greenlet not finished has its struct; the structs beyond them
   * are finished greenlets someone still holds. The library's own daemon
   * greenlets (parked actor runners) end at the close: not counted. */
  size_t live = hub->nalive + hub->ndaemons;
  out->greenlets = hub->nalive;
  out->greenlet_refs = hub->nstructs > live ? hub->nstructs - live : 0;
  out->events = hub->nkind[GROVE__OBJ_EVENT];
  out->async_results = hub->nkind[GROVE__OBJ_RESULT];
  out->semaphores = hub->nkind[GROVE__OBJ_SEM];
  out->queues = hub->nkind[GROVE__OBJ_QUEUE];
  out->groups = hub->nkind[GROVE__OBJ_GROUP];
  out->locals = hub->nkind[GROVE__OBJ_LOCAL];
  out->sockets = hub->nkind[GROVE__OBJ_SOCKET];
  out->subprocesses = hub->nkind[GROVE__OBJ_PROC];
  out->signals = hub->nkind[GROVE__OBJ_SIGNAL];
  out->actors = hub->nkind[GROVE__OBJ_ACTOR];
  out->other = hub->nkind[GROVE__OBJ_OTHER];
  out->objects = hub->nobjects;
  out->timers = grove__timer_count(hub);
  return 0;
}

size_t grove_hub_leftovers(char *buf, size_t len) {
  grove_hub_counts c;
  grove_hub_counts_get(&c);
  const struct {
    size_t n;
    const char *one, *many;
  } parts[] = {
      {c.greenlets, "greenlet", "greenlets"},
      {c.greenlet_refs, "unreleased greenlet reference", "unreleased greenlet references"},
      {c.events, "event", "events"},
      {c.async_results, "async result", "async results"},
      {c.semaphores, "semaphore/lock", "semaphores/locks"},
      {c.queues, "queue", "queues"},
      {c.groups, "group/pool", "groups/pools"},
      {c.locals, "local key", "local keys"},
      {c.sockets, "socket", "sockets"},
      {c.subprocesses, "subprocess", "subprocesses"},
      {c.signals, "signal handler", "signal handlers"},
      {c.actors, "actor", "actors"},
      {c.other, "other object", "other objects"},
  };
  char tmp[512];
  size_t k = 0;
  for (size_t i = 0; i < sizeof parts / sizeof *parts; i++) {
    if (!parts[i].n)
      continue;
    int w = snprintf(tmp + k, k < sizeof tmp ? sizeof tmp - k : 0, "%s%zu %s", k ? ", " : "",
                     parts[i].n, parts[i].n == 1 ? parts[i].one : parts[i].many);
    if (w > 0)
      k += (size_t)w;
  }
  if (k == 0)
    k = (size_t)snprintf(tmp, sizeof tmp, "nothing");
  if (buf && len) {
    size_t n = k < len - 1 ? k : len - 1;
    memcpy(buf, tmp, n < sizeof tmp ? n : sizeof tmp - 1);
    buf[n < sizeof tmp ? n : sizeof tmp - 1] = 0;
  }
  return k;
}

/* grove_hub_close refused: say what is left (and return GROVE_EBUSY). */
static int refuse_close(int report) {
  if (report && grove_log_enabled(GROVE_LOG_WARN)) {
    char what[512];
    grove_hub_leftovers(what, sizeof what);
    grove_log_event ev = {.level = GROVE_LOG_WARN, .kind = GROVE_LOG_HUB_LEFTOVERS};
    grove__log(&ev, "grove_hub_close: the hub is busy: %s left", what);
  }
  return GROVE_EBUSY;
}

static void close_walk(uv_handle_t *h, void *arg) {
  (void)arg;
  if (!uv_is_closing(h))
    uv_close(h, NULL);
}

/* Cancel the daemon greenlets that are blocked: they end at their next
 * turn. */
static void cancel_daemons(grove_hub *hub) {
  for (grove__list *n = hub->greenlets.next; n != &hub->greenlets; n = n->next) {
    grove_greenlet *g = grove__container_of(n, grove_greenlet, all);
    if ((g->head.flags & GROVE__F_DAEMON) &&
        (g->state == GROVE__BLOCKED || g->state == GROVE__READY)) {
      g->head.flags |= GROVE__F_CANCELLED;
      grove__wake(g, GROVE_ECANCELED);
    }
  }
}

int grove_hub_close(void) { return grove__hub_close(1); }

int grove__hub_close(int report) {
  grove_hub *hub = grove__tls_hub;
  if (!hub)
    return 0;
  if (hub->head.current != &hub->main)
    return GROVE_EPERM;
  /* Refuse before touching anything while greenlets or objects (events,
   * queues, actors...) are alive: a failed close must change nothing. */
  if (hub->nalive > 0 || hub->nobjects > 0)
    return refuse_close(report);
  if (hub->grouped)
    return GROVE_EBUSY; /* hub 0 of grove_hubs_start: grove_hubs_stop first */
  /* Each layer frees its state, from the top layer down (the transport
   * before the actor system it uses); a hook runs once. */
  for (int i = GROVE__NLAYERS - 1; i >= 0; i--) {
    void *state = hub->head.layer_state[i];
    void (*close)(void *) = hub->layer_close[i];
    hub->layer_close[i] = NULL; /* the hook may look its state up, once */
    if (state && close)
      close(state);
    hub->head.layer_state[i] = NULL;
  }
  grove__watchdog_close(hub);
  grove__proc_orphans_close(hub);
  cancel_daemons(hub);
  /* Let pending callbacks (link notifications, posts) run first. */
  for (int i = 0; i < 1000 && (!grove__list_empty(&hub->runq) || hub->post_head); i++) {
    if (grove_sleep(0) != 0)
      break;
  }
  if (hub->nalive > 0 || hub->ndaemons > 0 || hub->nstructs > 0 || hub->nobjects > 0 ||
      !grove__list_empty(&hub->runq))
    return refuse_close(report);
  hub->closing = 1;
  pthread_mutex_lock(&default_lock);
  if (default_hub == hub)
    default_hub = NULL;
  pthread_mutex_unlock(&default_lock);

  uv_walk(&hub->loop, close_walk, NULL);
  uv_run(&hub->loop, UV_RUN_DEFAULT);
  int rc = uv_loop_close(&hub->loop);
  if (rc != 0)
    grove_logf(GROVE_LOG_WARN, "hub loop did not close cleanly: %s", uv_strerror(rc));

  async_cb(&hub->async); /* posts that raced with the close still run */
  for (int i = 0; i < GROVE__NSHARED; i++)
    grove__shared_release(&hub->shared[i]);
  if (hub->hub_g.stack)
    grove__stack_free(hub, hub->hub_g.stack, GROVE__HUB_STACK);
  grove__stack_cache_drain(hub);
  while (hub->free_greenlets) {
    grove_greenlet *g = hub->free_greenlets;
    hub->free_greenlets = g->arg;
    free(g);
  }
  grove__timeouts_free(&hub->main); /* scopes main left open */
  grove__timer_free_heap(hub);
  free(hub->io);
  free(hub->main.name);
  free(hub->hub_g.name);
  free(hub->main.saved);
#if !GROVE_CTX_ASM
  free(hub->main.uc);
  free(hub->hub_g.uc);
#endif
  grove__locals_destroy(&hub->main);
  pthread_mutex_destroy(&hub->post_lock);
  grove__tls_hub = NULL;
  grove__overflow_altstack_release(hub);
  free(hub);
  return 0;
}
