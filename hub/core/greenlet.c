/* hub/core/greenlet.c - spawning, joining, killing and linking greenlets.
 *
 * Design notes.
 *
 * Life of a greenlet: NEW (its start callback is in the run queue, or its
 * start deadline in the timer heap for spawn_later) -> RUNNING <-> BLOCKED /
 * READY -> DEAD. It holds one reference on itself from spawn until the hub
 * has left its stack after it ended ("reaping"), so the caller may release
 * its own reference at any time.
 *
 * When a greenlet ends, the waiters in its `links` list (joiners, grove_link
 * callbacks, its group) are notified from one callback in the run queue, in
 * the order they were added, exactly like gevent's Greenlet._notify_links.
 * A joiner is resumed directly by that callback; a grove_link callback runs in
 * a greenlet of its own (gevent's SpawnedLink).
 *
 * Kill follows gevent too: killing a greenlet that has not started cancels its
 * start (it never runs, its links fire); killing a started one schedules a
 * callback that, when it runs, marks the victim cancelled and wakes it from
 * whatever it is blocked in with GROVE_ECANCELED. Every later blocking call of
 * the victim returns GROVE_ECANCELED at once, so C code unwinds by returning.
 *
 * grove_shutdown kills every greenlet of the hub except the caller and the
 * runtime's daemons (gevent.signal_handler(SIGQUIT, gevent.kill)). The main
 * greenlet, when the caller is another greenlet, is interrupted rather than
 * killed: its current blocking call returns GROVE_ECANCELED once (as gevent
 * raises GreenletExit in it), but it is not left cancelled for good, because
 * main is the thread itself and never ends: it must still be able to join
 * the greenlets that are being killed, release them, and close the hub.
 * The interruption is queued before the kills, so a main blocked in a join
 * on one of the victims sees GROVE_ECANCELED rather than the victim's end.
 */
#include "internal.h"

#include <math.h>
#include <string.h>

#define GREENLET_CACHE_MAX 4096

static int greenlet_cancelled(const grove_greenlet *g);

grove_greenlet *grove__greenlet_timer_fired(grove__timer *t) {
  grove_greenlet *g = grove__container_of(t, grove_greenlet, timer);
  if (g->state == GROVE__NEW)
    return g; /* spawn_later: its time has come */
  return grove__wake_prepare(g, GROVE_ETIMEDOUT);
}

static grove_greenlet *greenlet_alloc(grove_hub *hub) {
  grove_greenlet *g = hub->free_greenlets;
  if (g) {
    hub->free_greenlets = g->arg;
    hub->nfree_greenlets--;
    memset(g, 0, sizeof *g);
  } else {
    g = calloc(1, sizeof *g);
    if (!g)
      return NULL;
  }
  hub->nstructs++;
  return g;
}

void grove__greenlet_free(grove_hub *hub, grove_greenlet *g) {
  if (g->name)
    free(g->name);
  if (g->saved)
    free(g->saved);
#if !GROVE_CTX_ASM
  free(g->uc);
#endif
  hub->nstructs--;
  if (hub->nfree_greenlets < GREENLET_CACHE_MAX && !hub->closing) {
    g->arg = hub->free_greenlets;
    hub->free_greenlets = g;
    hub->nfree_greenlets++;
  } else {
    free(g);
  }
}

static void greenlet_unref(grove_greenlet *g) {
  if (--g->refs == 0)
    grove__greenlet_free(g->hub, g);
}

/* later: spawn_later(delay), a start timer even for 0 s. */
static grove_greenlet *spawn(grove_fn fn, void *arg, const grove_spawn_opts *opts, int later,
                             double delay, int schedule) {
  if (!fn)
    return NULL;
  grove_hub *hub = grove__hub();
  if (!hub)
    return NULL;
  grove_greenlet *g = greenlet_alloc(hub);
  if (!g)
    return NULL;
  g->hub = hub;
  g->fn = fn;
  g->arg = arg;
  g->refs = 2; /* the caller's and its own while it runs */
  g->state = GROVE__NEW;
  g->id = hub->next_id++;
  g->waiter.fn = NULL; /* a greenlet waiter: notifying resumes it */
  g->timer.fn = grove__greenlet_timer_fired;
  grove__list_init(&g->cb.link);
  grove__list_init(&g->waiter.link);
  grove__list_init(&g->links);
  grove__list_init(&g->group_link);
  if (opts) {
    if (opts->name && !(g->name = strdup(opts->name))) {
      grove__greenlet_free(hub, g);
      return NULL;
    }
    if (opts->stack == GROVE_STACK_DEDICATED) {
      g->head.flags |= GROVE__F_DEDICATED;
      g->stack_size = opts->stack_size ? opts->stack_size : GROVE__DEDICATED_DEFAULT;
    }
  }
  /* spawn_later: its start deadline is armed first, so that a heap that
   * cannot grow fails the spawn before anything else changed. gevent's
   * start_later is loop.timer(seconds).start(): a watcher, counted from the
   * loop's cached time (the last poll, or the last Timeout or sleep that
   * refreshed it), and a 0-second timer fires only when the hub polls,
   * after every greenlet already runnable, sleep(0) chains included. */
  if (later) {
    uint64_t d = delay > 0 ? (uint64_t)(delay * 1e9) : 0;
    uint64_t deadline = d >= UINT64_MAX - hub->loop_now - 1 ? UINT64_MAX - 1 : hub->loop_now + d;
    if (grove__timer_arm(hub, &g->timer, deadline, GROVE__TIMER_WATCHER) != 0) {
      grove__greenlet_free(hub, g);
      return NULL;
    }
  }
  grove__list_push(&hub->greenlets, &g->all);
  hub->nalive++;
  g->cb.fn = grove__greenlet_cb;
  if (later)
    ; /* started by its timer */
  else if (schedule)
    grove__schedule(hub, &g->cb);
  else
    g->refs = 1;
  return g;
}

grove_greenlet *grove__spawn_now(grove_fn fn, void *arg) { return spawn(fn, arg, NULL, 0, 0, 0); }

grove_greenlet *grove_spawn(grove_fn fn, void *arg) { return spawn(fn, arg, NULL, 0, 0, 1); }

grove_greenlet *grove_spawn_ex(grove_fn fn, void *arg, const grove_spawn_opts *opts) {
  return spawn(fn, arg, opts, 0, 0, 1);
}

grove_greenlet *grove_spawn_later(double seconds, grove_fn fn, void *arg) {
  if (isnan(seconds))
    return NULL;
  return spawn(fn, arg, NULL, 1, seconds, 1);
}

/* ---- ending ----------------------------------------------------------------- */

/* gevent's Greenlet._notify_links: every link, in order, including those
 * added while the pass runs. Resumable: see grove__cb. */
static grove_greenlet *notify_links_cb(grove__cb *cb) {
  grove_greenlet *g = grove__container_of(cb, grove_greenlet, cb);
  grove__list *n;
  while ((n = grove__list_pop(&g->links)) != NULL) {
    grove_greenlet *t = grove__waiter_fire(grove__container_of(n, grove__waiter, link), g);
    if (t) {
      grove__schedule_next(g->hub, &g->cb);
      return t;
    }
  }
  g->head.flags &= (uint16_t)~GROVE__F_NOTIFYING;
  greenlet_unref(g);
  return NULL;
}

static void schedule_notify(grove_greenlet *g) {
  if (!(g->head.flags & GROVE__F_NOTIFYING) && !grove__list_empty(&g->links)) {
    g->head.flags |= GROVE__F_NOTIFYING;
    g->refs++;
    g->cb.fn = notify_links_cb;
    grove__schedule(g->hub, &g->cb);
  }
}

static void mark_dead(grove_greenlet *g, int error) {
  grove_hub *hub = g->hub;
  if (error) {
    g->error = error;
    g->head.flags |= GROVE__F_FAILED;
    g->value = NULL;
  }
  g->state = GROVE__DEAD;
  grove__list_remove(&g->all);
  if (g->head.flags & GROVE__F_DAEMON)
    hub->ndaemons--;
  else
    hub->nalive--;
  schedule_notify(g);
}

void grove__greenlet_daemonize(grove_greenlet *g) {
  if (g->head.flags & GROVE__F_DAEMON || g->state == GROVE__DEAD)
    return;
  g->head.flags |= GROVE__F_DAEMON;
  g->hub->nalive--;
  g->hub->ndaemons++;
}

static void drop_timeouts(grove_greenlet *g);

void grove__finish(grove_greenlet *g, int error) {
  grove_hub *hub = g->hub;
  grove__locals_destroy(g);
  drop_timeouts(g);
  mark_dead(g, error);
  hub->zombie = g;
  grove__block_dead(hub, g);
}

void grove__finish_unstarted(grove_greenlet *g, int error) {
  grove__unschedule(&g->cb);
  if (g->timer.slot)
    grove__timer_cancel(g->hub, &g->timer);
  mark_dead(g, error);
  greenlet_unref(g); /* it never ran: nothing to reap */
}

void grove__greenlet_reap(grove_hub *hub, grove_greenlet *g) {
  if (g->stack) {
    grove__stack_free(hub, g->stack, g->stack_size);
    g->stack = NULL;
  } else if (hub->shared[g->shared].occupant == g) {
    hub->shared[g->shared].occupant = NULL;
  }
  if (g->saved) {
    free(g->saved);
    g->saved = NULL;
    g->saved_len = g->saved_cap = 0;
  }
  greenlet_unref(g);
}

void grove__greenlet_entry(void) {
  grove_hub *hub = grove__tls_hub;
  grove__ctx_started(hub);
  grove__reap_zombie(hub); /* we may have been switched to by a greenlet that ended */
  grove_greenlet *g = hub->head.current;
  g->value = g->fn(g->arg);
  grove__finish(g, 0);
}

void grove_exit(int code) {
  grove_hub *hub = grove__hub();
  if (!hub)
    return;
  grove_greenlet *g = hub->head.current;
  if (g->head.flags & (GROVE__F_MAIN | GROVE__F_HUB))
    return;
  code = code ? code : GROVE_EFAILED;
  if (g->head.ext && hub->exit_hook)
    hub->exit_hook(g, code); /* an actor runner: the actor ends with it */
  grove__finish(g, code);
}

/* ---- checks ------------------------------------------------------------------- */

static int check(const grove_greenlet *g, grove_hub **hubp) {
  if (!g)
    return GROVE_EINVAL;
  grove_hub *hub = grove__tls_hub;
  if (!hub || g->hub != hub)
    return GROVE_EPERM;
  if (g->head.flags & GROVE__F_HUB)
    return GROVE_EINVAL;
  *hubp = hub;
  return 0;
}

/* ---- joining -------------------------------------------------------------------- */

void grove__rawlink(grove_greenlet *g, grove__waiter *w) {
  grove__list_push(&g->links, &w->link);
  if (g->state == GROVE__DEAD)
    schedule_notify(g);
}

void grove__unlink(grove_greenlet *g, grove__waiter *w) {
  (void)g;
  if (grove__list_linked(&w->link))
    grove__list_remove(&w->link);
}

/* gevent's Greenlet.join: at once if g has finished; otherwise rawlink the
 * caller and switch to the hub under a Timeout (timeout 0 yields once). */
int grove_join(grove_greenlet *g, double timeout) {
  grove_hub *hub;
  int rc = check(g, &hub);
  if (rc)
    return rc;
  if (isnan(timeout))
    return GROVE_EINVAL;
  if (g->state == GROVE__DEAD)
    return 0;
  if (g == hub->head.current)
    return GROVE_EDEADLK;
  if (grove__poll_only(hub, timeout))
    return GROVE_ETIMEDOUT;
  if (g->head.flags & GROVE__F_MAIN && grove__cannot_block(hub, hub->head.current))
    return GROVE_EPERM;
  return grove__wait_until(hub, &g->links, grove__timeout_deadline(hub, timeout), "join", g);
}

static int check_all(grove_greenlet **gs, size_t n) {
  for (size_t i = 0; i < n; i++) {
    grove_hub *h;
    if (gs[i]) {
      int rc = check(gs[i], &h);
      if (rc)
        return rc;
    }
  }
  return 0;
}

/* Join every greenlet of gs in turn under one deadline: kill's
 * Greenlet.join of its victim. (joinall is gevent.wait: prim/wait.c.) */
static int joinall_until(grove_hub *hub, grove_greenlet **gs, size_t n, uint64_t deadline) {
  for (size_t i = 0; i < n; i++) {
    if (!gs[i] || gs[i]->state == GROVE__DEAD)
      continue;
    if (gs[i] == hub->head.current)
      return GROVE_EDEADLK;
    int rc = grove__wait_until(hub, &gs[i]->links, deadline, "joinall", gs[i]);
    if (rc)
      return rc;
  }
  return 0;
}

static int result_of(grove_greenlet *g, void **value) {
  if (g->head.flags & GROVE__F_FAILED)
    return g->error;
  if (value)
    *value = g->value;
  return 0;
}

int grove_get(grove_greenlet *g, void **value, double timeout) {
  int rc = grove_join(g, timeout);
  if (value)
    *value = NULL;
  return rc ? rc : result_of(g, value);
}

/* Greenlet.get(block=False): never switches. */
int grove_get_nowait(grove_greenlet *g, void **value) {
  if (value)
    *value = NULL;
  grove_hub *hub;
  int rc = check(g, &hub);
  if (rc)
    return rc;
  return g->state == GROVE__DEAD ? result_of(g, value) : GROVE_ETIMEDOUT;
}

/* ---- killing --------------------------------------------------------------------- */

/* gevent's kill and killall, step by step.
 *
 * A greenlet that has not started dies at once (_maybe_kill_before_start:
 * it never runs, its links fire), and a finished one is left alone; neither
 * makes the caller switch. The started ones are killed by one run-queue
 * callback (gevent's _kill, or _killall3 for several): it throws
 * GreenletExit - here: marks the victim cancelled and wakes it with
 * GROVE_ECANCELED - into each victim in turn, each running until it
 * switches out, and then, for a blocking kill, switches straight back to the
 * killer (waiter.switch()): the killer resumes right after its victims died,
 * before their links and joiners, which were only scheduled. Only then does
 * a blocking kill join what is still alive, under its timeout. A greenlet
 * that kills itself is killed the same way, through the hub: the greenlets
 * already queued run before its GROVE_ECANCELED. */
typedef struct kill_req {
  grove__cb cb;
  grove_hub *hub;
  grove_greenlet *waiter; /* the killer blocked until the throws are done, or NULL */
  size_t n, next;
  grove_greenlet *gs[]; /* the victims, each with a reference */
} kill_req;

static grove_greenlet *kill_cb(grove__cb *cb) {
  kill_req *k = grove__container_of(cb, kill_req, cb);
  while (k->next < k->n) {
    grove_greenlet *g = k->gs[k->next++], *t = NULL;
    if (g->state != GROVE__DEAD) {
      g->head.flags |= GROVE__F_CANCELLED;
      t = grove__wake_prepare(g, GROVE_ECANCELED);
    }
    /* g holds its own reference while alive: ours can go now. */
    greenlet_unref(g);
    if (t) {
      grove__schedule_next(k->hub, &k->cb); /* the next throw, once t switches out */
      return t;
    }
  }
  grove_greenlet *w = k->waiter, *t = NULL;
  if (w) {
    /* Only if it still waits for this kill (its wait may have ended: it was
     * killed, its scope expired, or it was one of the victims). */
    if (w->state == GROVE__BLOCKED && w->wait_obj == k)
      t = grove__wake_prepare(w, 0);
    greenlet_unref(w);
  }
  free(k);
  return t;
}

/* Kill the unstarted victims now and request the kill of the started ones
 * (one callback for them all); *out gets the request (NULL if there is no
 * started victim). waiter: the killer that will wait for it, or NULL. */
static int kill_start(grove_hub *hub, grove_greenlet **gs, size_t n, grove_greenlet *waiter,
                      kill_req **out) {
  size_t started = 0;
  *out = NULL;
  for (size_t i = 0; i < n; i++) {
    grove_greenlet *g = gs[i];
    if (!g || g->state == GROVE__DEAD)
      continue;
    g->head.flags |= GROVE__F_KILLREQ;
    if (g->state == GROVE__NEW) {
      g->head.flags |= GROVE__F_CANCELLED;
      grove__finish_unstarted(g, 0);
    } else {
      started++;
    }
  }
  if (started == 0)
    return 0;
  kill_req *k = malloc(sizeof *k + started * sizeof k->gs[0]);
  if (!k) {
    /* No memory for the callback: cancel them right now instead. */
    for (size_t i = 0; i < n; i++)
      if (gs[i] && gs[i]->state != GROVE__DEAD) {
        gs[i]->head.flags |= GROVE__F_CANCELLED;
        grove__wake(gs[i], GROVE_ECANCELED);
      }
    return GROVE_ENOMEM;
  }
  k->hub = hub;
  k->n = k->next = 0;
  for (size_t i = 0; i < n; i++) {
    grove_greenlet *g = gs[i];
    if (g && g->state != GROVE__DEAD) {
      /* a greenlet listed twice is thrown into once, at its first place */
      size_t j = 0;
      while (j < k->n && k->gs[j] != g)
        j++;
      if (j == k->n) {
        g->refs++;
        k->gs[k->n++] = g;
      }
    }
  }
  k->waiter = waiter;
  if (waiter)
    waiter->refs++;
  k->cb.fn = kill_cb;
  grove__list_init(&k->cb.link);
  grove__schedule(hub, &k->cb);
  *out = k;
  return 0;
}

/* kill and killall: nowait is block=False; the timeout covers the join of
 * what is still alive (kill), or the whole call (killall, whose Timeout
 * also bounds the wait for the throws). */
static int kill_many(grove_greenlet **gs, size_t n, double timeout, int nowait, int all) {
  if (!gs && n)
    return GROVE_EINVAL;
  if (isnan(timeout))
    return GROVE_EINVAL;
  grove_hub *hub = grove__hub();
  if (!hub)
    return GROVE_ENOMEM;
  int rc = check_all(gs, n);
  if (rc)
    return rc;
  grove_greenlet *self = hub->head.current;
  int from_hub = grove__cannot_block(hub, self);
  kill_req *k;
  rc = kill_start(hub, gs, n, nowait || from_hub ? NULL : self, &k);
  if (!k && rc == GROVE_ENOMEM && !nowait && !from_hub) /* cancelled without the callback */
    return joinall_until(hub, gs, n, grove__timeout_deadline(hub, timeout));
  if (!k || nowait)
    return 0; /* nothing started to wait for, or block=False */
  if (from_hub)
    return GROVE_EPERM; /* requested; the hub cannot wait */
  uint64_t deadline = all ? grove__timeout_deadline(hub, timeout) : UINT64_MAX;
  rc = grove__wait_until(hub, NULL, deadline, all ? "killall" : "kill", k);
  if (rc)
    return rc;
  if (all) {
    /* `if alive: joinall(alive)`, under the killall's Timeout */
    size_t nalive = 0;
    for (size_t i = 0; i < n; i++)
      if (gs[i] && gs[i]->state != GROVE__DEAD)
        nalive++;
    if (nalive == 0)
      return 0;
    grove_greenlet *one[1], **alive = nalive == 1 ? one : malloc(nalive * sizeof *alive);
    if (!alive)
      return GROVE_ENOMEM;
    nalive = 0;
    for (size_t i = 0; i < n; i++)
      if (gs[i] && gs[i]->state != GROVE__DEAD)
        alive[nalive++] = gs[i];
    rc = grove__joinall_until(alive, nalive, deadline);
    if (alive != one)
      free(alive);
    return rc;
  }
  return joinall_until(hub, gs, n, grove__timeout_deadline(hub, timeout));
}

int grove_kill(grove_greenlet *g, double timeout) {
  if (!g)
    return GROVE_EINVAL;
  return kill_many(&g, 1, timeout, 0, 0);
}

int grove_kill_nowait(grove_greenlet *g) {
  if (!g)
    return GROVE_EINVAL;
  return kill_many(&g, 1, 0, 1, 0);
}

int grove_killall(grove_greenlet **gs, size_t n, double timeout) {
  return kill_many(gs, n, timeout, 0, 1);
}

int grove_killall_nowait(grove_greenlet **gs, size_t n) { return kill_many(gs, n, 0, 1, 1); }

/* ---- state -------------------------------------------------------------------------- */

static int greenlet_cancelled(const grove_greenlet *g) {
  return (g->head.flags & (GROVE__F_CANCELLED | GROVE__F_KILLREQ)) != 0;
}

/* gevent's (deprecated) `started` is bool(greenlet): scheduled or running,
 * and not yet finished. */
bool grove_started(const grove_greenlet *g) {
  return g && g->state != GROVE__DEAD && !(g->head.flags & GROVE__F_HUB);
}
bool grove_ready(const grove_greenlet *g) { return g && g->state == GROVE__DEAD; }
bool grove_successful(const grove_greenlet *g) {
  return g && g->state == GROVE__DEAD && !(g->head.flags & GROVE__F_FAILED);
}
bool grove_cancelled(const grove_greenlet *g) { return g && greenlet_cancelled(g); }
void *grove_value(const grove_greenlet *g) {
  return (g && g->state == GROVE__DEAD && !(g->head.flags & GROVE__F_FAILED)) ? g->value : NULL;
}
int grove_error(const grove_greenlet *g) {
  if (!g)
    return GROVE_EINVAL;
  return (g->state == GROVE__DEAD && (g->head.flags & GROVE__F_FAILED)) ? g->error : 0;
}

/* ---- links ------------------------------------------------------------------------------ */

enum { LINK_ALWAYS, LINK_VALUE, LINK_EXCEPTION };

typedef struct link_req {
  grove__waiter w;
  grove_link_fn fn;
  void *arg;
  grove_greenlet *g;
  int when; /* LINK_*: gevent's SpawnedLink, SuccessSpawnedLink, FailureSpawnedLink */
} link_req;

static void *link_run(void *p) {
  link_req *l = p;
  l->fn(l->g, l->arg);
  greenlet_unref(l->g);
  free(l);
  return NULL;
}

/* gevent's SpawnedLink: the callback runs in a greenlet of its own, started
 * at once, before the pass notifies the next link. */
static grove_greenlet *link_fire(grove__waiter *w, void *source) {
  (void)source;
  link_req *l = grove__container_of(w, link_req, w);
  if (l->when != LINK_ALWAYS && (l->when == LINK_VALUE) != !(l->g->head.flags & GROVE__F_FAILED)) {
    /* link_value of a failed greenlet, link_exception of a successful one:
     * the link had its turn, and does nothing. */
    greenlet_unref(l->g);
    free(l);
    return NULL;
  }
  grove_greenlet *runner = grove__spawn_now(link_run, l);
  if (runner) {
    runner->head.flags |= GROVE__F_RAW;
    return runner;
  }
  /* No memory for a greenlet: run it here rather than drop it. */
  l->fn(l->g, l->arg);
  greenlet_unref(l->g);
  free(l);
  return NULL;
}

static int add_link(grove_greenlet *g, grove_link_fn fn, void *arg, int when) {
  grove_hub *hub;
  int rc = check(g, &hub);
  if (rc)
    return rc;
  if (!fn)
    return GROVE_EINVAL;
  link_req *l = malloc(sizeof *l);
  if (!l)
    return GROVE_ENOMEM;
  l->w.fn = link_fire;
  grove__list_init(&l->w.link);
  l->fn = fn;
  l->arg = arg;
  l->g = g;
  l->when = when;
  g->refs++;
  grove__rawlink(g, &l->w);
  return 0;
}

int grove_link(grove_greenlet *g, grove_link_fn fn, void *arg) {
  return add_link(g, fn, arg, LINK_ALWAYS);
}
int grove_link_value(grove_greenlet *g, grove_link_fn fn, void *arg) {
  return add_link(g, fn, arg, LINK_VALUE);
}
int grove_link_exception(grove_greenlet *g, grove_link_fn fn, void *arg) {
  return add_link(g, fn, arg, LINK_EXCEPTION);
}

/* ---- identity ------------------------------------------------------------------------------- */

grove_greenlet *grove_current(void) {
  grove_hub *hub = grove__hub();
  return hub ? hub->head.current : NULL;
}

bool grove_may_block(void) {
  grove_hub *hub = grove__tls_hub; /* never creates one */
  if (!hub || hub->closing || hub->head.stepping)
    return false;
  return !(hub->head.current->head.flags & GROVE__F_HUB);
}

grove_greenlet *grove_greenlet_ref(grove_greenlet *g) {
  grove_hub *hub;
  if (check(g, &hub) == 0 && !(g->head.flags & GROVE__F_MAIN))
    g->refs++;
  return g;
}

void grove_greenlet_release(grove_greenlet *g) {
  if (!g)
    return;
  grove_hub *hub;
  int rc = check(g, &hub);
  if (rc) {
    grove__misuse("grove_greenlet_release", rc);
    return;
  }
  if (g->head.flags & GROVE__F_MAIN)
    return;
  if (g->refs <= 1 && g->state != GROVE__DEAD) {
    /* The caller's reference is the only one left but the greenlet has not
     * ended: that reference was already released. */
    grove__misuse("grove_greenlet_release", GROVE_EINVAL);
    return;
  }
  greenlet_unref(g);
}

int grove_greenlet_set_name(grove_greenlet *g, const char *name) {
  grove_hub *hub;
  int rc = check(g, &hub);
  if (rc)
    return rc;
  if (!name)
    return GROVE_EINVAL;
  char *copy = strdup(name);
  if (!copy)
    return GROVE_ENOMEM;
  free(g->name);
  g->name = copy;
  return 0;
}

const char *grove_greenlet_name(const grove_greenlet *g) {
  if (!g)
    return "";
  if (!g->name) {
    char buf[32];
    snprintf(buf, sizeof buf, "Greenlet-%llu", (unsigned long long)g->id);
    ((grove_greenlet *)g)->name = strdup(buf);
    if (!g->name)
      return "Greenlet";
  }
  return g->name;
}

uint64_t grove_greenlet_id(const grove_greenlet *g) { return g ? g->id : 0; }

/* ---- shutdown: kill every greenlet (gevent.kill of them all) ---------------------- */

typedef struct interrupt_req {
  grove__cb cb;
  grove_hub *hub;
} interrupt_req;

/* Wake main from whatever it waits in with GROVE_ECANCELED, once. */
static grove_greenlet *interrupt_main_cb(grove__cb *cb) {
  interrupt_req *r = grove__container_of(cb, interrupt_req, cb);
  grove_hub *hub = r->hub;
  free(r);
  return grove__wake_prepare(&hub->main, GROVE_ECANCELED);
}

static void interrupt_main(grove_hub *hub) {
  interrupt_req *r = malloc(sizeof *r);
  if (!r) {
    grove__wake(&hub->main, GROVE_ECANCELED);
    return;
  }
  r->hub = hub;
  r->cb.fn = interrupt_main_cb;
  grove__list_init(&r->cb.link);
  grove__schedule(hub, &r->cb);
}

/* The greenlets to kill: alive, not daemons, not the caller. Each gets a
 * reference, so that they can be joined after they ended. */
static int collect(grove_hub *hub, grove_greenlet *self, grove_greenlet ***out, size_t *n) {
  size_t cap = 0, count = 0;
  grove_greenlet **gs = NULL;
  for (grove__list *l = hub->greenlets.next; l != &hub->greenlets; l = l->next) {
    grove_greenlet *g = grove__container_of(l, grove_greenlet, all);
    if (g == self || (g->head.flags & (GROVE__F_DAEMON | GROVE__F_HUB | GROVE__F_MAIN)) ||
        g->state == GROVE__DEAD)
      continue;
    if (grove__grow((void **)&gs, &cap, count, sizeof *gs, 16) != 0) {
      for (size_t i = 0; i < count; i++)
        grove_greenlet_release(gs[i]);
      free(gs);
      return GROVE_ENOMEM;
    }
    gs[count++] = grove_greenlet_ref(g);
  }
  *out = gs;
  *n = count;
  return 0;
}

int grove_shutdown(double timeout) {
  if (isnan(timeout))
    return GROVE_EINVAL;
  grove_hub *hub = grove__hub();
  if (!hub)
    return GROVE_ENOMEM;
  grove_greenlet *self = hub->head.current;
  /* The hub itself (a grove_hub_post callback) requests the kills but
   * cannot wait for them, as grove_kill. */
  int from_hub = (self->head.flags & GROVE__F_HUB) || hub->head.stepping;
  if (self != &hub->main)
    interrupt_main(hub);
  uint64_t deadline = grove__deadline(hub, timeout);
  /* Greenlets spawned while the victims unwind (link callbacks, a handler
   * that spawns) are killed by the next round. */
  for (;;) {
    grove_greenlet **gs;
    size_t n;
    int rc = collect(hub, self, &gs, &n);
    if (rc)
      return rc;
    if (n == 0) {
      free(gs);
      return 0;
    }
    double left = from_hub ? 0 : grove__seconds_left(deadline);
    if (from_hub) {
      /* The hub requests the kills but cannot wait for them. */
      grove_killall_nowait(gs, n);
      rc = 0;
      for (size_t i = 0; i < n; i++)
        if (!grove_ready(gs[i]))
          rc = GROVE_ETIMEDOUT;
    } else {
      rc = grove_killall(gs, n, left);
    }
    for (size_t i = 0; i < n; i++)
      grove_greenlet_release(gs[i]);
    free(gs);
    if (from_hub && timeout != 0 && rc == GROVE_ETIMEDOUT)
      return GROVE_EPERM;
    if (rc || left == 0)
      return rc;
  }
}

/* ---- scoped timeouts that outlive their greenlet --------------------------------------------- */

struct grove_timeout;
void grove__timeouts_free(grove_greenlet *g);
static void drop_timeouts(grove_greenlet *g) {
  if (g->head.timeouts)
    grove__timeouts_free(g);
}
