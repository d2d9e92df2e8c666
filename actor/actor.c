/* actor/actor.c - actors: the system of one hub, refs, runners, spawning,
 * running receive, and ending.
 *
 * Design notes.
 *
 * An idle actor is just its struct: the base (grove_actor, 104 bytes) holds an
 * intrusive list of messages as its inbox and a run-queue entry. It has no
 * greenlet and no stack while it waits for mail.
 *
 * Activation: a message to an idle actor schedules the actor's own run-queue
 * entry - at the place gevent's Queue would schedule its unlock callback for
 * an actor greenlet blocked on its inbox, so the order in which actors and
 * greenlets run is the order gevent's tutorial Actor gives. When the entry
 * runs, the actor is handed to a "runner": a daemon greenlet from a per-hub
 * pool. The runner calls init (once) and receive for each message in the
 * inbox, then parks itself in the pool and the actor is idle again. receive
 * may block: the runner then stays with that actor and other actors get other
 * runners. A runner that parks and is at the top of the pool is the one the
 * next activation gets, so actors that only talk to each other run one after
 * the other in the same greenlet, without a single context switch.
 *
 * Fairness: every message handled is a unit of the hub's turn
 * (grove__turn_over). When the turn is over, an actor with mail left is
 * scheduled again at the back of the run queue and its runner parks: timers,
 * I/O and other actors run before it goes on. An actor that gets through its
 * inbox within the turn runs exactly as before, so gevent's order is kept
 * for every program that does not hold the hub for a whole turn.
 *
 * Refs are (node, generation, slot): the slot table maps a slot to its actor
 * while it lives; when it ends the generation is bumped, so every old ref is
 * stale and lookups fail with GROVE_ENOENT instead of reaching a new actor.
 *
 * State: everything lives in the hub's GROVE__LAYER_ACTOR slot (one system
 * per hub), freed by the hub's close hook once no actor is left.
 */
#include "actor_internal.h"

#include <stdatomic.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#define RUNNER_IDLE_MAX 256

_Static_assert(sizeof(((grove_actor *)0)->_cb) >= sizeof(grove__cb),
               "grove_actor::_cb must hold a run-queue entry");

static grove_greenlet *activate_cb(grove__cb *cb);

static inline grove__cb *actor_cb(grove_actor *a) { return (grove__cb *)(void *)a->_cb; }
static inline void set_state(grove_actor *a, int st) {
  a->_flags = (a->_flags & ~(uint32_t)A_STATE) | (uint32_t)st;
}
static inline grove_actor *actor_of_cb(grove__cb *cb) {
  return (grove_actor *)(void *)((char *)cb - offsetof(grove_actor, _cb));
}

/* ---- the system ------------------------------------------------------------- */

static void sys_close(void *arg);

/* A slot array replaced while its hub was grouped (slots_grow, below). */
typedef struct retired_slots {
  struct retired_slots *next;
} retired_slots;

static void runner_exit(grove_greenlet *g, int code);

grove__actor_sys *grove__actor_sys_create(grove_hub *hub) {
  if (!hub)
    return NULL;
  grove__actor_sys *sys = calloc(1, sizeof *sys);
  if (!sys)
    return NULL;
  sys->hub = hub;
  sys->index = grove__hub_index(hub);
  sys->id_base = (uint64_t)sys->index << GROVE__REF_HUB_SHIFT;
  grove__list_init(&sys->name_waiters);
  grove__layer_set(hub, GROVE__LAYER_ACTOR, sys, sys_close);
  grove__layer_set_stop(hub, GROVE__LAYER_ACTOR, grove__x_stop);
  grove__set_exit_hook(hub, runner_exit);
  return sys;
}

/* At grove_hub_close, which refuses first while actors live: stop the
 * parked runners and free everything. */
static void sys_close(void *arg) {
  grove__actor_sys *sys = arg;
  for (size_t i = 0; i < sys->nidle; i++) {
    grove_greenlet *r = sys->idle[i];
    grove__set_ext(r, NULL);
    grove__cancel(r); /* it exits without touching sys */
  }
  free(sys->idle);
  grove__msg_cache_drain(sys);
  grove__reg_free(sys);
  grove__tables_free(sys);
  grove__set_exit_hook(sys->hub, NULL);
  grove__layer_set(sys->hub, GROVE__LAYER_ACTOR, NULL, NULL);
  while (sys->retired) {
    retired_slots *r = sys->retired;
    sys->retired = r->next;
    free(r);
  }
  free(sys->slots);
  free(sys);
}

int grove__remote_install(const grove__remote_ops *ops, uint32_t node_id) {
  grove__actor_sys *sys = ops ? grove__actor_sys_get() : grove__actor_sys_peek();
  if (!sys)
    return ops ? GROVE_ENOMEM : 0;
  if (!ops)
    grove__node_hubs_set(sys, NULL, 0); /* the other hubs first: they stop using it */
  sys->remote = ops;
  sys->node_id = ops ? node_id : 0;
  if (ops)
    grove__node_hubs_set(sys, ops, node_id);
  return 0;
}

void grove__msg_taken(grove_msg *m) {
  grove__actor_sys *sys = grove__actor_sys_peek();
  grove_actor *a = sys ? grove__actor_current(sys) : NULL;
  if (a && a->_cur == m)
    a->_flags |= A_TOOK;
}

/* ---- refs ------------------------------------------------------------------- */

grove_actor *grove__actor_lookup(grove__actor_sys *sys, grove_ref r) {
  /* The slot is the id's low half; the whole id (hub, bounded bit) must be
   * the actor's: a ref of another hub never names an actor here. */
  uint64_t i = (uint64_t)grove__ref_slot(r) - 1;
  if (r.node != 0 || i >= sys->nslots)
    return NULL;
  grove__actor_slot *s = &sys->slots[i];
  if (s->gen != r.gen || !s->actor || s->actor->_id != r.id)
    return NULL;
  return grove__actor_state(s->actor) == A_DEAD ? NULL : s->actor;
}

uint32_t grove__actor_bound(grove_ref to) {
  grove__actor_sys *sys = grove__actor_sys_peek();
  if (sys && grove__ref_other_hub(sys, to))
    return grove__ref_bound(to); /* its hub's: the ref says */
  grove_actor *a = sys ? grove__actor_lookup(sys, to) : NULL;
  return a ? a->_max : 0;
}

grove__actor_slot *grove__actor_ended(grove__actor_sys *sys, grove_ref ref) {
  uint64_t i = (uint64_t)grove__ref_slot(ref) - 1;
  if (!grove__ref_here(sys, ref) || i >= sys->nslots)
    return NULL;
  grove__actor_slot *s = &sys->slots[i];
  return s->ended_gen == ref.gen ? s : NULL;
}

/* Slots read from other hubs. grove_actor_alive (and a send) for an actor
 * of another hub reads that hub's slot table without asking it: the ref's
 * slot names a live actor while its generation is the ref's and it holds an
 * actor. The owner writes those two fields with atomic stores, and, while
 * grouped, grows the table by copy rather than realloc (alone, in place as
 * before): the new array is published (release) before nslots counts past
 * the old one. A reader that loaded the old array
 * sees the table as it was when it grew, which is within its call; so an
 * array replaced while the hub is grouped is kept until the hub closes (the
 * arrays kept add up to less than the one in use). A hub closes only once
 * it is out of the group's table, when no other hub reads it
 * (hub/core/hubs.c, stopping). */
static bool sys_grouped(const grove__actor_sys *sys) {
  return grove_hub_count() > 1 && grove__hub_at(sys->index) == sys->hub;
}

static int slots_grow(grove__actor_sys *sys) {
  if (sys->nslots < sys->capslots)
    return 0;
  size_t n = sys->capslots ? sys->capslots * 2 : 256;
  grove__actor_slot *old = sys->slots, *p;
  bool grouped = old && sys_grouped(sys);
  if (!grouped) { /* nobody else reads it: in place when it can */
    if (!(p = realloc(old, n * sizeof *p)))
      return GROVE_ENOMEM;
  } else {
    if (!(p = malloc(n * sizeof *p)))
      return GROVE_ENOMEM;
    memcpy(p, old, sys->nslots * sizeof *p);
    retired_slots *r = (retired_slots *)(void *)old; /* 256 slots at least: room for the link */
    r->next = sys->retired;
    sys->retired = r;
  }
  __atomic_store_n(&sys->slots, p, __ATOMIC_RELEASE); /* for grove__alive_elsewhere */
  sys->capslots = n;
  return 0;
}

/* The actor system of the hub with this index, from another hub's thread. */
static grove__actor_sys *sys_elsewhere(size_t hub) {
  grove_hub *h = grove__hub_at(hub);
  return h ? __atomic_load_n((grove__actor_sys **)grove__layer_slot(h, GROVE__LAYER_ACTOR),
                             __ATOMIC_ACQUIRE)
           : NULL;
}

bool grove__alive_elsewhere(grove_ref r) {
  grove__actor_sys *o = sys_elsewhere(grove__ref_hub(r));
  if (!o)
    return false;
  uint64_t i = (uint64_t)grove__ref_slot(r) - 1;
  uint32_t n = __atomic_load_n(&o->nslots, __ATOMIC_ACQUIRE);
  if (i >= n)
    return false;
  grove__actor_slot *s = &__atomic_load_n(&o->slots, __ATOMIC_ACQUIRE)[i];
  /* The generation again after the actor: a slot freed and taken again
   * meanwhile (a new actor, the next generation) is not read as alive. */
  return __atomic_load_n(&s->gen, __ATOMIC_ACQUIRE) == r.gen &&
         __atomic_load_n(&s->actor, __ATOMIC_ACQUIRE) != NULL &&
         __atomic_load_n(&s->gen, __ATOMIC_ACQUIRE) == r.gen;
}

/* The dead letters of every hub of the group (grove_dead_letter_count). */
static uint64_t dead_letters_all(grove__actor_sys *me) {
  uint64_t total = me ? me->dead_letters : 0;
  if (!me || !sys_grouped(me))
    return total; /* one hub, or a hub that is not grouped */
  size_t count = grove_hub_count();
  for (size_t i = 0; i < count; i++) {
    grove__actor_sys *o = i == me->index ? NULL : sys_elsewhere(i);
    if (o)
      total += __atomic_load_n(&o->dead_letters, __ATOMIC_RELAXED);
  }
  return total;
}

static int slot_alloc(grove__actor_sys *sys, grove_actor *a) {
  uint32_t i;
  if (sys->free_head) {
    i = sys->free_head - 1;
    sys->free_head = sys->slots[i].next_free;
  } else {
    if (sys->nslots == UINT32_MAX || slots_grow(sys))
      return GROVE_ENOMEM;
    i = sys->nslots;
    /* A new slot's first generation is random per process: after a node
     * restarts, refs to the old process's actors never name the new
     * process's (the same slot, the same generation: 1 in 2^31). */
    if (!sys->gen_seed) {
      uint32_t r = 0;
      if (getrandom(&r, sizeof r, 0) != sizeof r)
        r = (uint32_t)(uv_hrtime() ^ (uint64_t)getpid() * 2654435761u);
      sys->gen_seed = (r & 0x7fffffffu) | 1;
    }
    sys->slots[i].gen = sys->gen_seed;
    sys->slots[i].ended_gen = 0;
    sys->slots[i].actor = NULL;
    /* Counted once written, after the array (release): see slots_grow. */
    __atomic_store_n(&sys->nslots, i + 1, __ATOMIC_RELEASE);
  }
  __atomic_store_n(&sys->slots[i].actor, a, __ATOMIC_RELEASE); /* grove__alive_elsewhere */
  sys->slots[i].next_free = 0;
  a->_id = sys->id_base + i + 1;
  a->_gen = sys->slots[i].gen;
  return 0;
}

static void slot_free(grove__actor_sys *sys, grove_actor *a) {
  grove__actor_slot *s = &sys->slots[(uint32_t)a->_id - 1];
  /* Atomic stores: grove__alive_elsewhere reads them from other hubs. */
  __atomic_store_n(&s->actor, NULL, __ATOMIC_RELAXED);
  __atomic_store_n(&s->gen, s->gen + 1 ? s->gen + 1 : 1, __ATOMIC_RELEASE);
  s->next_free = sys->free_head;
  sys->free_head = (uint32_t)a->_id; /* the slot (the low half) */
}

grove_ref grove_actor_ref(const grove_actor *a) {
  if (!a)
    return GROVE_REF_NULL;
  return (grove_ref){0, a->_gen, a->_id};
}

grove_ref grove_self(void) {
  grove__actor_sys *sys = grove__actor_sys_peek();
  grove_actor *a = sys ? grove__actor_current(sys) : NULL;
  return a ? grove_actor_ref(a) : GROVE_REF_NULL;
}

bool grove__actor_gone(grove_ref ref) { return !grove_actor_alive(ref); }

bool grove_actor_alive(grove_ref ref) {
  grove__actor_sys *sys = grove__actor_sys_peek();
  if (sys && grove__ref_other_hub(sys, ref))
    return grove__alive_elsewhere(ref);
  if (!sys && ref.node == 0 && grove__tls_hub &&
      grove__hub_at(grove__hub_index(grove__tls_hub)) == grove__tls_hub)
    return grove__alive_elsewhere(ref); /* a hub of the group without actors of its own */
  return sys && grove__actor_lookup(sys, ref) != NULL;
}

struct grove__actor_ext *grove__actor_ext(grove_actor *a) {
  if (!a->_ext) {
    struct grove__actor_ext *e = calloc(1, sizeof *e);
    if (!e)
      return NULL;
    grove__list_init(&e->callers);
    grove__list_init(&e->senders);
    grove__list_init(&e->waiters);
    grove__list_init(&e->starters);
    grove__list_init(&e->monitors);
    grove__list_init(&e->watching);
    grove__list_init(&e->links);
    grove__list_init(&e->xsenders);
    grove__list_init(&e->acallers);
    a->_ext = e;
  }
  return a->_ext;
}

/* ---- dead letters ------------------------------------------------------------- */

void grove__dead_letter(grove__actor_sys *sys, grove_ref to, grove_msg *m, int reason) {
  if (!sys) {
    grove__msg_release(NULL, m);
    return;
  }
  __atomic_store_n(&sys->dead_letters, sys->dead_letters + 1,
                   __ATOMIC_RELAXED); /* read by others */
  if (sys->dl_hook)
    sys->dl_hook(to, m, reason, sys->dl_arg);
  grove__msg_release(sys, m);
}

void grove__dead_letter_here(grove_ref to, grove_msg *m, int reason) {
  grove__dead_letter(grove__actor_sys_get(), to, m, reason);
}

void grove_dead_letter_hook(grove_dead_letter_fn fn, void *arg) {
  grove__actor_sys *sys = grove__actor_sys_get();
  if (sys) {
    sys->dl_hook = fn;
    sys->dl_arg = arg;
  }
}

uint64_t grove_dead_letter_count(void) { return dead_letters_all(grove__actor_sys_peek()); }

/* ---- runners ------------------------------------------------------------------------ */

static void actor_run(grove__actor_sys *sys, grove_actor *a);

static void *runner_main(void *unused) {
  (void)unused;
  grove__actor_sys *sys = grove__actor_sys_peek();
  grove_greenlet *me = grove__current(sys->hub);
  for (;;) {
    grove_actor *a = grove__ext(me);
    if (a)
      actor_run(sys, a);
    grove__set_ext(me, NULL);
    /* If the next thing the hub would run is another actor's activation,
     * that activation would hand the actor to us (we would be the most
     * recently parked runner): take it without parking. */
    grove__cb *next;
    while (!grove__cancelled(me) && (next = grove__runq_take(sys->hub, activate_cb)) != NULL) {
      grove_actor *b = actor_of_cb(next);
      if (grove__actor_state(b) != A_SCHEDULED)
        continue;
      set_state(b, A_RUNNING);
      b->_runner = me;
      grove__set_ext(me, b);
      actor_run(sys, b);
      grove__set_ext(me, NULL);
    }
    if (grove__cancelled(me) || sys->nidle >= RUNNER_IDLE_MAX)
      return NULL; /* a cancelled greenlet cannot be reused */
    if (grove__grow((void **)&sys->idle, &sys->capidle, sys->nidle, sizeof *sys->idle, 16))
      return NULL;
    sys->idle[sys->nidle++] = me;
    int rc = grove__wait_until(sys->hub, NULL, UINT64_MAX, "actor runner: idle", NULL);
    if (rc != 0)
      return NULL; /* cancelled at hub close: sys_close already forgot us */
  }
}

/* A runner for a: the most recently parked one, or a new one. */
static grove_greenlet *runner_for(grove__actor_sys *sys, grove_actor *a) {
  grove_greenlet *r;
  if (sys->nidle) {
    r = sys->idle[--sys->nidle];
    grove__set_ext(r, a);
    return grove__wake_prepare(r, 0);
  }
  r = grove__spawn_now(runner_main, NULL);
  if (!r)
    return NULL;
  grove__greenlet_daemonize(r);
  grove__set_ext(r, a);
  return r;
}

static grove_greenlet *activate_cb(grove__cb *cb) {
  grove_actor *a = actor_of_cb(cb);
  if (grove__actor_state(a) != A_SCHEDULED)
    return NULL;
  grove__actor_sys *sys = grove__actor_sys_peek();
  grove_greenlet *r = runner_for(sys, a);
  if (!r) {
    /* Out of memory for a greenlet: try again on the next turn. */
    grove__schedule(sys->hub, cb);
    return NULL;
  }
  set_state(a, A_RUNNING);
  a->_runner = r;
  return r;
}

void grove__actor_schedule(grove__actor_sys *sys, grove_actor *a) {
  if (grove__actor_state(a) == A_IDLE) {
    set_state(a, A_SCHEDULED);
    grove__schedule(sys->hub, actor_cb(a));
  }
}

/* ---- ending ------------------------------------------------------------------------- */

/* The request an ending actor was serving, unanswered: a caller on another
 * hub does not wait among its callers, so it is answered now, as a local
 * caller's wait ends when the callee ends (GROVE_EEXITED, with the reason). */
static void end_pending_call(grove_msg *m, int reason) {
  if ((m->flags & GROVE__MSG_CALL) && !(m->flags & GROVE__MSG_REPLIED) &&
      grove__caller_elsewhere(m, grove__hub_peek()))
    grove__reply_exited(m, reason);
}

/* The reason an actor that stops after this receive ends with (actor_run's
 * rules below, for its pending call). */
static int end_reason(const grove_actor *a, int rc) {
  if (a->_flags & A_KILLED)
    return GROVE_EXIT_KILLED;
  if ((a->_flags & A_EXITING) && a->_ext)
    return a->_ext->exit_reason;
  if (rc == GROVE_STOP)
    return GROVE_EXIT_NORMAL;
  return rc < 0 ? rc : GROVE_EINVAL;
}

static void actor_end(grove__actor_sys *sys, grove_actor *a, int reason) {
  grove_ref ref = grove_actor_ref(a);
  grove_greenlet *me = grove__current(sys->hub);
  if (a->_cls->terminate && (a->_flags & A_STARTED) && !(a->_flags & A_TERMINATING)) {
    a->_flags |= A_TERMINATING;    /* once, even if it calls grove_exit */
    a->_cls->terminate(a, reason); /* not after a failed init, as in Erlang */
  }
  set_state(a, A_DEAD);
  if (a->_flags & A_INIT_DONE) /* before, _processed holds init's argument */
    sys->ended_messages += a->_processed;
  grove__actor_slot *sl = &sys->slots[(uint32_t)a->_id - 1];
  sl->ended_gen = a->_gen;
  sl->ended_reason = reason;
  sl->ended_started = (a->_flags & A_STARTED) != 0;
  slot_free(sys, a);
  sys->nactors--;
  struct grove__actor_ext *e = a->_ext;
  if (e && e->name) {
    grove__reg_remove(sys, e->name, ref);
    free(e->name);
  }
  grove_msg *m;
  while ((m = a->_head) != NULL) {
    a->_head = m->next;
    if ((m->flags & GROVE__MSG_CALL) && !(m->flags & GROVE__MSG_REPLIED) &&
        (m->remote || grove__caller_elsewhere(m, sys->hub))) {
      /* A remote caller, or one on another hub, is told now, as a local one
       * is (its wait among the callers ends with GROVE_EEXITED). */
      grove__reply_exited(m, reason);
      grove__msg_release(sys, m);
      continue;
    }
    grove__dead_letter(sys, ref, m, GROVE_ENOENT);
  }
  a->_tail = NULL;
  a->_len = 0;
  if (e) {
    /* Its group first, as a greenlet's group link runs before the links of
     * those who joined it later: a grove_actor_wait that returns sees the
     * group without it. */
    if (e->member)
      grove__actor_group_ended(e);
    /* Callers learn that it ended before replying, and why (the slot). */
    grove__wake_all_slot(&e->callers, GROVE_EEXITED, (void *)(intptr_t)reason);
    grove__acalls_exited(e, reason);
    grove__wake_all(&e->senders, GROVE_ENOENT);
    grove__x_senders_fail(sys, a);
    grove__wake_all_slot(&e->waiters, 0, (void *)(intptr_t)reason);
    /* Those waiting for its init learn how it went: 1 if it had started,
     * else why it failed (a negative code). */
    int started = (a->_flags & A_STARTED) != 0;
    grove__wake_all_slot(&e->starters, 0,
                         (void *)(intptr_t)(started      ? 1
                                            : reason < 0 ? reason
                                                         : GROVE_EFAILED));
    grove__actor_unwatch(sys, a, ref, reason);
    free(e);
  }
  if (grove__ext(me) == a)
    grove__set_ext(me, NULL);
  const grove__remote_ops *ops = grove__remote_of(sys);
  /* Off the node's hub, only an actor the transport may remember: one
   * that took requests of other nodes, or a bounded one (flow control). */
  if (ops && (sys->remote || (a->_flags & A_REMOTE) || (ref.id & GROVE__REF_BOUNDED)))
    ops->ended(ref, reason);
  grove__hub_object_remove_kind(sys->hub, GROVE__OBJ_ACTOR);
  free(a);
}

/* ---- crash reports ------------------------------------------------------------------ */

/* An actor failed on its own (init or receive returned an error, receive
 * returned nonsense, grove_exit with an error code): Erlang's crash report,
 * through the logger, before it ends. Ends that are not failures (normal,
 * shutdown) and ends caused by an exit signal from outside (a kill, a
 * linked actor's failure: that actor's own report says why) are not
 * reported, as proc_lib does. `tag` is the tag of the message it was
 * handling (NULL in init). */
int grove__actor_set_quiet(grove_ref ref) {
  grove__actor_sys *sys = grove__actor_sys_peek();
  grove_actor *a = sys ? grove__actor_lookup(sys, ref) : NULL;
  if (!a)
    return GROVE_ENOENT;
  a->_flags |= A_QUIET;
  return 0;
}

static void crash_report(grove_actor *a, int reason, const char *tag, const char *why) {
  if (reason >= 0 || (a->_flags & A_QUIET) || !grove_log_enabled(GROVE_LOG_ERROR))
    return;
  grove_log_event ev = {.level = GROVE_LOG_ERROR, .kind = GROVE_LOG_ACTOR_CRASHED};
  ev.actor = grove_actor_ref(a);
  ev.actor_name = a->_ext ? a->_ext->name : NULL;
  ev.actor_class = a->_cls->name ? a->_cls->name : "?";
  ev.reason = reason;
  ev.msg_tag = tag;
  char name[96] = "";
  if (ev.actor_name)
    snprintf(name, sizeof name, " '%s'", ev.actor_name);
  grove__log(&ev, "actor %s%s <%u.%u.%llu> crashed: %s%s%s%s%s", ev.actor_class, name,
             ev.actor.node, ev.actor.gen, (unsigned long long)ev.actor.id,
             grove_exit_reason_name(reason), tag ? " while handling '" : " in init", tag ? tag : "",
             tag ? "'" : "", why ? why : "");
}

/* grove_exit called inside an actor's init, receive or terminate: the
 * runner's stack is about to be abandoned (C cannot unwind it), so the actor
 * ends here, with grove_exit's code as its reason, as if receive had
 * returned it - terminate, links, monitors, its inbox - and the runner dies
 * with it (it never parks again). */
static void runner_exit(grove_greenlet *g, int code) {
  grove__actor_sys *sys = grove__actor_sys_peek();
  grove_actor *a = grove__ext(g);
  grove__set_ext(g, NULL);
  if (!sys || !a || grove__actor_state(a) == A_DEAD)
    return;
  grove_msg *m = a->_cur;
  a->_cur = NULL;
  if (code < 0 && !(a->_flags & (A_KILLED | A_EXITING)))
    crash_report(a, code,
                 !(a->_flags & A_STARTED)     ? NULL
                 : m && !(a->_flags & A_TOOK) ? grove_msg_tag(m)
                                              : "?",
                 " (grove_exit)");
  if (m && !(a->_flags & A_TOOK)) {
    end_pending_call(m, code);
    grove__msg_release(sys, m);
  }
  a->_flags &= ~(uint32_t)(A_IN_RECEIVE | A_TOOK);
  a->_flags |= A_INIT_DONE;
  grove__set_ext(g, a); /* actor_end clears it */
  actor_end(sys, a, code);
}

/* ---- running ------------------------------------------------------------------------ */

static void actor_run(grove__actor_sys *sys, grove_actor *a) {
  if (GROVE__UNLIKELY((a->_flags & A_KILLED) && !(a->_flags & A_INIT_DONE))) {
    a->_flags |= A_INIT_DONE; /* killed before it ever ran: no init */
    a->_processed = 0;
  }
  if (!(a->_flags & A_INIT_DONE)) {
    a->_flags |= A_INIT_DONE;
    void *arg = (void *)(uintptr_t)a->_processed; /* parked here by spawn */
    a->_processed = 0;
    if (a->_cls->init) {
      a->_flags |= A_IN_RECEIVE; /* a kill now cancels its init's waits too */
      int rc = a->_cls->init(a, arg);
      a->_flags &= ~(uint32_t)A_IN_RECEIVE;
      if (GROVE__UNLIKELY(a->_flags & A_KILLED) && rc == 0) {
        /* Killed before its init returned: it never started (its starters
         * hear a failed start, terminate is not called after a failed
         * init), but this init succeeded and built the actor's state:
         * terminate releases it (a supervisor's children array...). */
        if (a->_cls->terminate) {
          a->_flags |= A_TERMINATING;
          a->_cls->terminate(a, GROVE_EXIT_KILLED);
        }
        rc = GROVE_EXIT_KILLED;
      }
      if (rc != 0) {
        rc = rc < 0 || rc == GROVE_EXIT_KILLED ? rc : GROVE_EFAILED;
        if (!(a->_flags & A_KILLED))
          crash_report(a, rc, NULL, NULL);
        actor_end(sys, a, rc);
        return;
      }
    }
    a->_flags |= A_STARTED;
    if (a->_ext && !grove__list_empty(&a->_ext->starters))
      grove__wake_all(&a->_ext->starters, 0);
  }
  for (;;) {
    if (GROVE__UNLIKELY(a->_flags & (A_KILLED | A_EXITING))) {
      actor_end(sys, a, (a->_flags & A_KILLED) ? GROVE_EXIT_KILLED : a->_ext->exit_reason);
      return;
    }
    grove_msg *m = a->_head;
    if (!m)
      break;
    a->_head = m->next;
    if (!a->_head)
      a->_tail = NULL;
    a->_len--;
    m->next = NULL;
    if (GROVE__UNLIKELY(a->_max != 0)) {
      /* Room for one more: the first local sender waiting goes on, and a
       * remote sender's node gets its credit back (flow control). */
      if (a->_ext && !grove__list_empty(&a->_ext->senders))
        grove__wake(grove__wait_list_first(&a->_ext->senders), 0);
      const grove__remote_ops *ops;
      if (m->origin && (ops = grove__remote_of(sys)) != NULL)
        ops->consumed(m->origin, grove_actor_ref(a));
      if (a->_ext && !grove__list_empty(&a->_ext->xsenders))
        grove__x_room(sys, a);
    }
    a->_flags |= A_IN_RECEIVE;
    a->_cur = m;
    int rc = a->_cls->receive(a, m);
    a->_cur = NULL;
    if (GROVE__UNLIKELY(a->_flags & A_KILLED))
      rc = 0; /* killed while in receive: "killed" wins over what it returned */
    char tag[GROVE_MSG_TAG_MAX + 1];
    if (GROVE__UNLIKELY(rc != 0 && rc != GROVE_STOP)) {
      /* m may be gone below (released, or taken and freed): keep its tag
       * for the crash report. */
      const char *t = (a->_flags & A_TOOK) ? NULL : grove_msg_tag(m);
      snprintf(tag, sizeof tag, "%s", t ? t : "?");
    }
    a->_processed++;
    /* Whether receive took m is on the actor, not on m: a taken message may
     * already have been forwarded, received and freed by now. */
    if (!(a->_flags & A_TOOK)) {
      if (GROVE__UNLIKELY(rc != 0 || (a->_flags & (A_KILLED | A_EXITING))))
        end_pending_call(m, end_reason(a, rc));
      grove__msg_release(sys, m);
    }
    a->_flags &= ~(uint32_t)(A_IN_RECEIVE | A_TOOK);
    if (GROVE__LIKELY(rc == 0)) {
      /* Fairness: when the hub's turn is over, an actor that still has mail
       * goes to the back of the run queue (Erlang's reductions), so that
       * timers, I/O and the other actors get the hub. */
      if (GROVE__UNLIKELY(grove__turn_over(sys->hub)) && a->_head &&
          !(a->_flags & (A_KILLED | A_EXITING))) {
        a->_runner = NULL;
        set_state(a, A_SCHEDULED);
        grove__schedule(sys->hub, actor_cb(a));
        return;
      }
      continue;
    }
    if (rc == GROVE_STOP) {
      actor_end(sys, a, GROVE_EXIT_NORMAL);
    } else if (rc < 0) {
      if (!(a->_flags & A_EXITING))
        crash_report(a, rc, tag, NULL);
      actor_end(sys, a, rc);
    } else {
      char why[96];
      snprintf(why, sizeof why, " (receive returned %d: not 0, GROVE_STOP or an error)", rc);
      crash_report(a, GROVE_EINVAL, tag, why);
      actor_end(sys, a, GROVE_EINVAL);
    }
    return;
  }
  a->_runner = NULL;
  set_state(a, A_IDLE);
}

/* ---- spawning ------------------------------------------------------------------------ */

int grove_actor_spawn_ex(const grove_actor_class *cls, void *arg, const grove_actor_opts *opts,
                         grove_ref *out) {
  if (out)
    *out = GROVE_REF_NULL;
  if (!cls || !cls->receive || cls->size < sizeof(grove_actor))
    return GROVE_EINVAL;
  grove__actor_sys *sys = grove__actor_sys_get();
  if (!sys)
    return GROVE_ENOMEM;
  grove_actor *link = NULL;
  bool xlink = false; /* to link with an actor of another hub */
  if (opts && !grove_ref_is_null(opts->link) && !(link = grove__actor_lookup(sys, opts->link))) {
    if (!grove__ref_other_hub(sys, opts->link) || !grove__hub_at(grove__ref_hub(opts->link)))
      return GROVE_ENOENT;
    xlink = true;
  }
  if (opts && opts->name) {
    grove_ref taken;
    if (!opts->name[0])
      return GROVE_EINVAL;
    if (grove_whereis(opts->name, &taken) == 0)
      return GROVE_EEXIST;
  }
  grove_actor *a = calloc(1, cls->size);
  if (!a)
    return GROVE_ENOMEM;
  if (slot_alloc(sys, a) != 0) {
    free(a);
    return GROVE_ENOMEM;
  }
  a->_cls = cls;
  if (opts && opts->inbox_max) /* senders on other hubs must ask for room */
    a->_id |=
        GROVE__REF_BOUNDED |
        ((uint64_t)(opts->inbox_max < GROVE__REF_BOUND_MAX ? opts->inbox_max : GROVE__REF_BOUND_MAX)
         << GROVE__REF_BOUND_SHIFT);
  a->_processed = (uint64_t)(uintptr_t)arg; /* for init, see actor_run */
  grove__cb *cb = actor_cb(a);
  grove__list_init(&cb->link);
  cb->fn = activate_cb;
  sys->nactors++;
  grove__hub_object_add_kind(sys->hub, GROVE__OBJ_ACTOR);
  grove_ref ref = grove_actor_ref(a);
  if (opts) {
    a->_max = opts->inbox_max > UINT32_MAX ? UINT32_MAX : (uint32_t)opts->inbox_max;
    if (opts->trap_exits)
      a->_flags |= A_TRAP;
    int rc;
    if (opts->name && (rc = grove__reg_add(sys, opts->name, ref)) != 0) {
      free(a->_ext);
      slot_free(sys, a);
      sys->nactors--;
      grove__hub_object_remove_kind(sys->hub, GROVE__OBJ_ACTOR);
      free(a);
      return rc;
    }
    if (link || xlink)
      grove_link_actors(ref, opts->link);
  }
  set_state(a, A_SCHEDULED);
  grove__schedule(sys->hub, cb);
  if (out)
    *out = ref;
  return 0;
}

grove_ref grove_actor_spawn(const grove_actor_class *cls, void *arg) {
  grove_ref r;
  grove_actor_spawn_ex(cls, arg, NULL, &r);
  return r;
}

/* ---- state ----------------------------------------------------------------------------- */

static void stats_of(const grove_actor *a, grove_actor_stats *out) {
  out->inbox_len = a->_len;
  out->processed = (a->_flags & A_INIT_DONE) ? a->_processed : 0;
  out->running = (a->_flags & A_IN_RECEIVE) != 0;
}

/* On the actor's hub (grove__hub_ask): its stats, or NULL if it is gone. */
static void *stats_there(void *arg) {
  grove__actor_sys *sys = grove__actor_sys_peek();
  grove_actor *a = sys ? grove__actor_lookup(sys, *(grove_ref *)arg) : NULL;
  grove_actor_stats *st = a ? malloc(sizeof *st) : NULL;
  if (st)
    stats_of(a, st);
  return st;
}

int grove_actor_stats_get(grove_ref ref, grove_actor_stats *out) {
  if (!out)
    return GROVE_EINVAL;
  grove__actor_sys *sys = grove__actor_sys_get();
  if (sys && grove__ref_other_hub(sys, ref)) {
    grove_hub *h = grove__hub_at(grove__ref_hub(ref));
    void *st = NULL;
    int rc = h ? grove__hub_ask(h, stats_there, &ref, sizeof ref, free, &st) : GROVE_ENOENT;
    if (rc == 0 && !st)
      rc = GROVE_ENOENT; /* gone, or its hub had no memory to say */
    if (rc == 0)
      *out = *(grove_actor_stats *)st;
    free(st);
    return rc;
  }
  grove_actor *a = sys ? grove__actor_lookup(sys, ref) : NULL;
  if (!a)
    return GROVE_ENOENT;
  stats_of(a, out);
  return 0;
}

const char *grove_exit_reason_name(int reason) {
  switch (reason) {
  case GROVE_EXIT_NORMAL:
    return "normal";
  case GROVE_EXIT_SHUTDOWN:
    return "shutdown";
  case GROVE_EXIT_KILLED:
    return "killed";
  case GROVE_EXIT_NOCONNECTION:
    return "noconnection";
  default:
    return grove_err_name(reason);
  }
}
