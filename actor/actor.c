/* actor/actor.c - actors: spawning, inboxes, send/call/reply, exits, the
 * registry, monitors, links and dead letters.
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
 * Refs are (node, generation, slot): the slot table maps a slot to its actor
 * while it lives; when it ends the generation is bumped, so every old ref is
 * stale and lookups fail with GROVE_ENOENT instead of reaching a new actor.
 *
 * Calls: the request carries the caller greenlet (referenced) and a token;
 * the caller blocks in the callee's "callers" list, so the callee's end wakes
 * it promptly (GROVE_ENOENT) - the call monitors the callee without a
 * monitor. A reply is delivered only if the caller is still waiting with the
 * same token; a late reply is a dead letter, never the answer to a later
 * call.
 *
 * Exit signals: GROVE_EXIT_KILLED, and any non-normal reason sent to an actor
 * that does not trap exits, end the actor: if it is inside receive, its runner
 * is cancelled (its blocking calls return GROVE_ECANCELED) and the actor ends
 * when receive returns. An actor that traps exits gets GROVE_TAG_EXIT
 * messages instead (except for "killed").
 */
#include "actor_internal.h"

#include <math.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#define RUNNER_IDLE_MAX 256

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
  A_TOOK = 1 << 7,   /* receive took the message it is processing */
  A_STARTED = 1 << 8 /* init returned successfully */
};

struct grove__actor_ext {
  char *name;
  grove__list callers;  /* greenlets in grove_call, waiting for a reply */
  grove__list senders;  /* greenlets waiting for room in a bounded inbox */
  grove__list waiters;  /* greenlets in grove_actor_wait */
  grove__list starters; /* greenlets waiting for init to return */
  struct monitor {
    struct monitor *next;
    uint64_t id;
    grove_ref watcher;
  } * monitors;
  grove_ref *links;
  size_t nlinks, caplinks;
  int exit_reason;
};

_Static_assert(sizeof(((grove_actor *)0)->_cb) >= sizeof(grove__cb),
               "grove_actor::_cb must hold a run-queue entry");

static _Thread_local grove__actor_sys *tls_sys __attribute__((tls_model("initial-exec")));
_Thread_local uint32_t grove__node_id;
static _Thread_local const grove__remote_ops *remote_ops;

void grove__remote_install(const grove__remote_ops *ops) { remote_ops = ops; }

void grove__msg_taken(grove_msg *m) {
  grove__actor_sys *sys = tls_sys;
  grove_actor *a = sys ? sys->hub->current->ext : NULL;
  if (a && a->_cur == m)
    a->_flags |= A_TOOK;
}

static grove_greenlet *activate_cb(grove__cb *cb);
static void signal_exit(grove__actor_sys *sys, grove_ref target, grove_ref from, int reason,
                        int kill);

static inline grove__cb *actor_cb(grove_actor *a) { return (grove__cb *)(void *)a->_cb; }
static inline int state_of(const grove_actor *a) { return (int)(a->_flags & A_STATE); }
static inline void set_state(grove_actor *a, int st) {
  a->_flags = (a->_flags & ~(uint32_t)A_STATE) | (uint32_t)st;
}

/* ---- the system ------------------------------------------------------------- */

static void sys_close(void *arg);

grove__actor_sys *grove__actor_sys_get(void) {
  grove__actor_sys *sys = tls_sys;
  if (GROVE__LIKELY(sys != NULL))
    return sys;
  grove_hub *hub = grove__hub();
  if (!hub)
    return NULL;
  sys = calloc(1, sizeof *sys);
  if (!sys)
    return NULL;
  sys->hub = hub;
  if (grove__hub_atclose(hub, sys_close, sys) != 0) {
    free(sys);
    return NULL;
  }
  tls_sys = sys;
  return sys;
}

/* At grove_hub_close: with no actor left, stop the parked runners and free
 * everything; otherwise leave it all (the close fails with GROVE_EBUSY). */
static void sys_close(void *arg) {
  grove__actor_sys *sys = arg;
  if (sys->nactors > 0)
    return; /* not reached: grove_hub_close refuses first while actors live */
  for (size_t i = 0; i < sys->nidle; i++) {
    grove_greenlet *r = sys->idle[i];
    r->ext = NULL;
    r->flags |= GROVE__F_CANCELLED;
    grove__wake(r, GROVE_ECANCELED); /* it exits without touching sys */
  }
  free(sys->idle);
  grove__msg_cache_drain(sys);
  for (int i = 0; i < GROVE__REG_BUCKETS; i++) {
    while (sys->reg[i]) {
      grove__reg_entry *e = sys->reg[i];
      sys->reg[i] = e->next;
      free(e);
    }
  }
  free(sys->slots);
  /* The hub keeps the hook registered only until it is freed. */
  tls_sys = NULL;
  free(sys);
}

/* ---- refs ------------------------------------------------------------------- */

static grove_actor *lookup(grove__actor_sys *sys, grove_ref r) {
  if (r.node != 0 || r.id == 0 || r.id > sys->nslots)
    return NULL;
  grove__actor_slot *s = &sys->slots[r.id - 1];
  if (s->gen != r.gen || !s->actor)
    return NULL;
  return state_of(s->actor) == A_DEAD ? NULL : s->actor;
}

static int slot_alloc(grove__actor_sys *sys, grove_actor *a) {
  uint32_t i;
  if (sys->free_head) {
    i = sys->free_head - 1;
    sys->free_head = sys->slots[i].next_free;
  } else {
    if (sys->nslots == UINT32_MAX ||
        grove__grow((void **)&sys->slots, &sys->capslots, sys->nslots, sizeof *sys->slots, 256))
      return GROVE_ENOMEM;
    i = sys->nslots++;
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
  }
  sys->slots[i].actor = a;
  sys->slots[i].next_free = 0;
  a->_id = (uint64_t)i + 1;
  a->_gen = sys->slots[i].gen;
  return 0;
}

static void slot_free(grove__actor_sys *sys, grove_actor *a) {
  grove__actor_slot *s = &sys->slots[a->_id - 1];
  s->actor = NULL;
  if (++s->gen == 0)
    s->gen = 1;
  s->next_free = sys->free_head;
  sys->free_head = (uint32_t)a->_id;
}

grove_ref grove_actor_ref(const grove_actor *a) {
  if (!a)
    return GROVE_REF_NULL;
  return (grove_ref){0, a->_gen, a->_id};
}

static grove_actor *current_actor(grove__actor_sys *sys) {
  grove_greenlet *g = sys->hub->current;
  return g ? (grove_actor *)g->ext : NULL;
}

grove_ref grove_self(void) {
  grove_hub *hub = grove__tls_hub;
  if (!hub || !tls_sys)
    return GROVE_REF_NULL;
  grove_actor *a = hub->current->ext;
  return a ? grove_actor_ref(a) : GROVE_REF_NULL;
}

bool grove_actor_alive(grove_ref ref) {
  grove__actor_sys *sys = tls_sys;
  return sys && lookup(sys, ref) != NULL;
}

static struct grove__actor_ext *ext_of(grove_actor *a) {
  if (!a->_ext) {
    struct grove__actor_ext *e = calloc(1, sizeof *e);
    if (!e)
      return NULL;
    grove__list_init(&e->callers);
    grove__list_init(&e->senders);
    grove__list_init(&e->waiters);
    grove__list_init(&e->starters);
    a->_ext = e;
  }
  return a->_ext;
}

/* ---- dead letters ------------------------------------------------------------- */

void grove__dead_letter(grove__actor_sys *sys, grove_ref to, grove_msg *m, int reason) {
  sys->dead_letters++;
  if (sys->dl_hook)
    sys->dl_hook(to, m, reason, sys->dl_arg);
  grove__msg_release(sys, m);
}

void grove_dead_letter_hook(grove_dead_letter_fn fn, void *arg) {
  grove__actor_sys *sys = grove__actor_sys_get();
  if (sys) {
    sys->dl_hook = fn;
    sys->dl_arg = arg;
  }
}

uint64_t grove_dead_letter_count(void) {
  grove__actor_sys *sys = tls_sys;
  return sys ? sys->dead_letters : 0;
}

/* ---- runners ------------------------------------------------------------------------ */

static void actor_run(grove__actor_sys *sys, grove_actor *a);

static void *runner_main(void *unused) {
  (void)unused;
  grove__actor_sys *sys = tls_sys;
  grove_greenlet *me = sys->hub->current;
  for (;;) {
    grove_actor *a = me->ext;
    if (a)
      actor_run(sys, a);
    me->ext = NULL;
    /* If the next thing the hub would run is another actor's activation,
     * that activation would hand the actor to us (we would be the most
     * recently parked runner): take it without parking. */
    grove__cb *next;
    while (!(me->flags & GROVE__F_CANCELLED) &&
           (next = grove__runq_take(sys->hub, activate_cb)) != NULL) {
      grove_actor *b = (grove_actor *)((char *)next - offsetof(grove_actor, _cb));
      if (state_of(b) != A_SCHEDULED)
        continue;
      set_state(b, A_RUNNING);
      b->_runner = me;
      me->ext = b;
      actor_run(sys, b);
      me->ext = NULL;
    }
    if ((me->flags & GROVE__F_CANCELLED) || sys->nidle >= RUNNER_IDLE_MAX)
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
    r->ext = a;
    return grove__wake_prepare(r, 0);
  }
  r = grove__spawn_now(runner_main, NULL);
  if (!r)
    return NULL;
  grove__greenlet_daemonize(r);
  r->ext = a;
  return r;
}

static grove_greenlet *activate_cb(grove__cb *cb) {
  grove_actor *a = (grove_actor *)((char *)cb - offsetof(grove_actor, _cb));
  if (state_of(a) != A_SCHEDULED)
    return NULL;
  grove__actor_sys *sys = tls_sys;
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

static void schedule_actor(grove__actor_sys *sys, grove_actor *a) {
  if (state_of(a) == A_IDLE) {
    set_state(a, A_SCHEDULED);
    grove__schedule(sys->hub, actor_cb(a));
  }
}

/* ---- ending ------------------------------------------------------------------------- */

static void wake_all(grove__list *l, int code, void *slot) {
  grove__list *n;
  while ((n = grove__list_pop(l)) != NULL) {
    grove_greenlet *g =
        grove__container_of(grove__container_of(n, grove__waiter, link), grove_greenlet, waiter);
    g->slot = slot;
    grove__wake(g, code);
  }
}

static void reg_remove(grove__actor_sys *sys, const char *name);
static int deliver(grove__actor_sys *sys, grove_actor *a, grove_ref to, grove_msg *m,
                   uint64_t deadline);

static void send_down(grove__actor_sys *sys, uint64_t id, grove_ref watcher, grove_ref target,
                      int reason) {
  if (watcher.node != 0) {
    if (remote_ops)
      remote_ops->down(watcher, id, target, reason);
    return;
  }
  grove_actor *w = lookup(sys, watcher);
  if (!w)
    return; /* the watcher is gone too: nobody to tell */
  grove_msg *m = grove_msg_new(GROVE_TAG_DOWN);
  if (!m)
    return;
  grove_msg_pack_int(m, (int64_t)id);
  grove_msg_pack_ref(m, target);
  grove_msg_pack_int(m, reason);
  m->sender = target;
  deliver(sys, w, watcher, m, 0); /* not grove_send: it would set the sender */
}

static void actor_end(grove__actor_sys *sys, grove_actor *a, int reason) {
  grove_ref ref = grove_actor_ref(a);
  grove_greenlet *me = sys->hub->current;
  if (a->_cls->terminate && (a->_flags & A_STARTED))
    a->_cls->terminate(a, reason); /* not after a failed init, as in Erlang */
  set_state(a, A_DEAD);
  sys->slots[a->_id - 1].ended_gen = a->_gen;
  sys->slots[a->_id - 1].ended_reason = reason;
  sys->slots[a->_id - 1].ended_started = (a->_flags & A_STARTED) != 0;
  slot_free(sys, a);
  sys->nactors--;
  struct grove__actor_ext *e = a->_ext;
  if (e && e->name) {
    reg_remove(sys, e->name);
    free(e->name);
  }
  grove_msg *m;
  while ((m = a->_head) != NULL) {
    a->_head = m->next;
    if ((m->flags & GROVE__MSG_CALL) && m->remote && !(m->flags & GROVE__MSG_REPLIED)) {
      /* A remote caller is told now, as a local one is (its wait among the
       * callers ends with GROVE_ENOENT). */
      grove_reply_error(m, GROVE_ENOENT);
      grove__msg_release(sys, m);
      continue;
    }
    grove__dead_letter(sys, ref, m, GROVE_ENOENT);
  }
  a->_tail = NULL;
  a->_len = 0;
  if (e) {
    wake_all(&e->callers, GROVE_ENOENT, NULL);
    wake_all(&e->senders, GROVE_ENOENT, NULL);
    wake_all(&e->waiters, 0, (void *)(intptr_t)reason);
    wake_all(&e->starters, 0, NULL); /* they read the slot's record */
    struct monitor *mon = e->monitors;
    while (mon) {
      struct monitor *next = mon->next;
      send_down(sys, mon->id, mon->watcher, ref, reason);
      free(mon);
      mon = next;
    }
    for (size_t i = 0; i < e->nlinks; i++)
      signal_exit(sys, e->links[i], ref, reason, 0);
    free(e->links);
    free(e);
  }
  if (me->ext == a)
    me->ext = NULL;
  sys->hub->nobjects--;
  free(a);
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
      int rc = a->_cls->init(a, arg);
      if (rc != 0) {
        actor_end(sys, a, rc < 0 ? rc : GROVE_EFAILED);
        return;
      }
    }
    a->_flags |= A_STARTED;
    if (a->_ext && !grove__list_empty(&a->_ext->starters))
      wake_all(&a->_ext->starters, 0, NULL);
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
    if (GROVE__UNLIKELY(a->_max != 0) && a->_ext && !grove__list_empty(&a->_ext->senders)) {
      grove__list *n = a->_ext->senders.next;
      grove__wake(
          grove__container_of(grove__container_of(n, grove__waiter, link), grove_greenlet, waiter),
          0);
    }
    a->_flags |= A_IN_RECEIVE;
    a->_cur = m;
    int rc = a->_cls->receive(a, m);
    a->_cur = NULL;
    if (GROVE__UNLIKELY(a->_flags & A_KILLED))
      rc = 0; /* killed while in receive: "killed" wins over what it returned */
    a->_processed++;
    /* Whether receive took m is on the actor, not on m: a taken message may
     * already have been forwarded, received and freed by now. */
    if (!(a->_flags & A_TOOK))
      grove__msg_release(sys, m);
    a->_flags &= ~(uint32_t)(A_IN_RECEIVE | A_TOOK);
    if (GROVE__LIKELY(rc == 0))
      continue;
    if (rc == GROVE_STOP) {
      actor_end(sys, a, GROVE_EXIT_NORMAL);
    } else if (rc < 0) {
      actor_end(sys, a, rc);
    } else {
      fprintf(stderr,
              "grove: actor %s: receive returned %d (not 0, GROVE_STOP or an error); "
              "ending it with GROVE_EINVAL\n",
              a->_cls->name ? a->_cls->name : "?", rc);
      actor_end(sys, a, GROVE_EINVAL);
    }
    return;
  }
  a->_runner = NULL;
  set_state(a, A_IDLE);
}

/* ---- spawning ------------------------------------------------------------------------ */

static int reg_add(grove__actor_sys *sys, const char *name, grove_ref ref);

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
  if (opts && !grove_ref_is_null(opts->link) && !(link = lookup(sys, opts->link)))
    return GROVE_ENOENT;
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
  a->_processed = (uint64_t)(uintptr_t)arg; /* for init, see actor_run */
  grove__cb *cb = actor_cb(a);
  grove__list_init(&cb->link);
  cb->fn = activate_cb;
  sys->nactors++;
  sys->hub->nobjects++;
  grove_ref ref = grove_actor_ref(a);
  if (opts) {
    a->_max = opts->inbox_max > UINT32_MAX ? UINT32_MAX : (uint32_t)opts->inbox_max;
    if (opts->trap_exits)
      a->_flags |= A_TRAP;
    if (opts->name && reg_add(sys, opts->name, ref) != 0) {
      slot_free(sys, a);
      sys->nactors--;
      sys->hub->nobjects--;
      free(a);
      return GROVE_ENOMEM;
    }
    if (link)
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

/* ---- sending ------------------------------------------------------------------------- */

/* Append m to a's inbox (waiting while a bounded inbox is full, unless
 * deadline is 0: grove's own notifications - exits, downs - are never held
 * back or dropped by a bound). */
static int deliver(grove__actor_sys *sys, grove_actor *a, grove_ref to, grove_msg *m,
                   uint64_t deadline) {
  while (GROVE__UNLIKELY(a->_max != 0 && a->_len >= a->_max) && deadline != 0) {
    /* Backpressure: wait for room. */
    grove_hub *hub = sys->hub;
    struct grove__actor_ext *e = ext_of(a);
    int rc;
    if (!e)
      rc = GROVE_ENOMEM;
    else if (hub->current == &hub->hub_g || hub->stepping)
      rc = GROVE_EFULL; /* the hub cannot wait */
    else if (deadline != UINT64_MAX && deadline <= uv_hrtime())
      rc = GROVE_ETIMEDOUT;
    else
      rc = grove__wait_until(hub, &e->senders, deadline, "actor inbox full", a);
    if (rc == 0 && !(a = lookup(sys, to)))
      rc = GROVE_ENOENT;
    if (rc) {
      if (m->flags & GROVE__MSG_CALL)
        hub->current->token = 0;
      grove__dead_letter(sys, to, m, rc);
      return rc;
    }
  }
  m->next = NULL;
  if (a->_tail)
    a->_tail->next = m;
  else
    a->_head = m;
  a->_tail = m;
  a->_len++;
  schedule_actor(sys, a);
  return 0;
}

int grove_send_timeout(grove_ref to, grove_msg *msg, double timeout) {
  if (!msg)
    return GROVE_EINVAL;
  grove__actor_sys *sys = grove__actor_sys_get();
  if (!sys) {
    grove__msg_release(NULL, msg);
    return GROVE_ENOMEM;
  }
  if (isnan(timeout)) {
    grove__dead_letter(sys, to, msg, GROVE_EINVAL);
    return GROVE_EINVAL;
  }
  grove_actor *self = current_actor(sys);
  msg->sender = self ? grove_actor_ref(self) : GROVE_REF_NULL;
  if (GROVE__UNLIKELY(to.node != 0)) {
    if (!remote_ops) {
      grove__dead_letter(sys, to, msg, GROVE_EHOSTUNREACH);
      return GROVE_EHOSTUNREACH;
    }
    return remote_ops->send(to, msg, grove__deadline(sys->hub, timeout));
  }
  grove_actor *a = lookup(sys, to);
  if (!a) {
    grove__dead_letter(sys, to, msg, GROVE_ENOENT);
    return GROVE_ENOENT;
  }
  return deliver(sys, a, to, msg, grove__deadline(sys->hub, timeout));
}

int grove_send(grove_ref to, grove_msg *msg) { return grove_send_timeout(to, msg, GROVE_FOREVER); }

/* ---- call and reply ---------------------------------------------------------------------- */

int grove_call(grove_ref to, grove_msg *msg, grove_msg **reply, double timeout) {
  if (reply)
    *reply = NULL;
  if (!msg)
    return GROVE_EINVAL;
  grove__actor_sys *sys = grove__actor_sys_get();
  if (!sys) {
    grove__msg_release(NULL, msg);
    return GROVE_ENOMEM;
  }
  grove_hub *hub = sys->hub;
  grove_greenlet *cur = hub->current;
  int rc = 0;
  grove_actor *a = lookup(sys, to);
  if (!reply || isnan(timeout))
    rc = GROVE_EINVAL;
  else if (to.node != 0 && (cur == &hub->hub_g || hub->stepping))
    rc = GROVE_EPERM;
  else if (to.node != 0 && (cur->flags & GROVE__F_CANCELLED))
    rc = GROVE_ECANCELED;
  else if (to.node != 0) {
    if (!remote_ops)
      rc = GROVE_EHOSTUNREACH;
    else {
      grove_actor *self = cur->ext;
      msg->sender = self ? grove_actor_ref(self) : GROVE_REF_NULL;
      return remote_ops->call(to, msg, reply, grove__deadline(hub, timeout));
    }
  } else if (!a)
    rc = GROVE_ENOENT;
  else if (cur->ext == a)
    rc = GROVE_EDEADLK;
  else if (cur == &hub->hub_g || hub->stepping)
    rc = GROVE_EPERM;
  else if (cur->flags & GROVE__F_CANCELLED)
    rc = GROVE_ECANCELED;
  else if (!ext_of(a))
    rc = GROVE_ENOMEM;
  if (rc) {
    grove__dead_letter(sys, to, msg, rc);
    return rc;
  }
  grove_actor *self = cur->ext;
  msg->sender = self ? grove_actor_ref(self) : GROVE_REF_NULL;
  msg->flags |= GROVE__MSG_CALL;
  msg->caller = grove_greenlet_ref(cur);
  msg->token = ++sys->next_token;
  cur->token = msg->token;
  cur->slot = NULL;
  uint64_t deadline = grove__deadline(hub, timeout);
  if ((rc = deliver(sys, a, to, msg, deadline)) != 0)
    return rc;
  /* Wait among the callee's callers: its end wakes us (GROVE_ENOENT). */
  rc = grove__wait_until(hub, &a->_ext->callers, deadline, "call", a);
  cur->token = 0;
  if (rc)
    return rc;
  grove_msg *r = cur->slot;
  cur->slot = NULL;
  if (r->flags & GROVE__MSG_ERROR) {
    rc = r->error;
    grove__msg_release(sys, r);
    return rc;
  }
  *reply = r;
  return 0;
}

int grove_reply(grove_msg *request, grove_msg *reply) {
  grove__actor_sys *sys = grove__actor_sys_get();
  if (!sys) {
    grove__msg_release(NULL, reply);
    return GROVE_ENOMEM;
  }
  if (!reply)
    return GROVE_EINVAL;
  if (!request || !(request->flags & GROVE__MSG_CALL)) {
    grove__dead_letter(sys, request ? request->sender : GROVE_REF_NULL, reply, GROVE_EINVAL);
    return GROVE_EINVAL;
  }
  if (request->flags & GROVE__MSG_REPLIED) {
    grove__dead_letter(sys, request->sender, reply, GROVE_EEXIST);
    return GROVE_EEXIST;
  }
  request->flags |= GROVE__MSG_REPLIED;
  grove_actor *self = current_actor(sys);
  reply->sender = self ? grove_actor_ref(self) : GROVE_REF_NULL;
  if (request->remote) {
    if (!remote_ops) {
      grove__dead_letter(sys, request->sender, reply, GROVE_EHOSTUNREACH);
      return 0;
    }
    return remote_ops->reply(request, reply);
  }
  grove_greenlet *g = request->caller;
  if (g->state == GROVE__BLOCKED && g->token == request->token &&
      grove__list_linked(&g->waiter.link)) {
    g->slot = reply;
    grove__wake(g, 0);
  } else {
    grove__dead_letter(sys, request->sender, reply, GROVE_ETIMEDOUT); /* too late */
  }
  return 0;
}

int grove_reply_error(grove_msg *request, int error) {
  grove_msg *r = grove_msg_new("grove.error");
  if (!r)
    return GROVE_ENOMEM;
  r->flags |= GROVE__MSG_ERROR;
  r->error = error ? error : GROVE_EFAILED;
  grove_msg_pack_int(r, r->error);
  return grove_reply(request, r);
}

/* ---- exits --------------------------------------------------------------------------- */

static void cancel_receive(grove_actor *a) {
  grove_greenlet *r = a->_runner;
  grove_greenlet *cur = grove__tls_hub->current;
  if (state_of(a) == A_RUNNING && r && r != cur && (a->_flags & A_IN_RECEIVE))
    grove_kill(r, 0); /* its blocking calls now return GROVE_ECANCELED */
}

/* An exit signal from `from`. kill: the untrappable kill of grove_actor_exit
 * (..., GROVE_EXIT_KILLED); a linked actor that *ended* with reason "killed"
 * sends an ordinary, trappable signal with that reason, as in Erlang. */
static void signal_exit(grove__actor_sys *sys, grove_ref target, grove_ref from, int reason,
                        int kill) {
  if (target.node != 0) {
    if (remote_ops)
      remote_ops->exit(target, from, reason, kill);
    return;
  }
  grove_actor *t = lookup(sys, target);
  if (!t)
    return;
  if (!kill && (t->_flags & A_TRAP)) {
    grove_msg *m = grove_msg_new(GROVE_TAG_EXIT);
    if (!m)
      return;
    grove_msg_pack_ref(m, from);
    grove_msg_pack_int(m, reason);
    m->sender = from;
    deliver(sys, t, target, m, 0);
    return;
  }
  if (reason == GROVE_EXIT_NORMAL && !kill)
    return; /* a normal exit does not end a linked actor */
  if (kill) {
    t->_flags |= A_KILLED;
  } else {
    struct grove__actor_ext *e = ext_of(t);
    if (!e) {
      t->_flags |= A_KILLED; /* cannot record the reason: still end it */
    } else if (!(t->_flags & A_EXITING)) {
      e->exit_reason = reason;
      t->_flags |= A_EXITING;
    }
  }
  if (state_of(t) == A_IDLE)
    schedule_actor(sys, t);
  else if (kill)
    cancel_receive(t); /* other reasons take effect when receive returns */
}

int grove_actor_exit(grove_ref ref, int reason) {
  grove__actor_sys *sys = grove__actor_sys_get();
  if (!sys)
    return GROVE_ENOMEM;
  if (ref.node != 0) {
    if (!remote_ops)
      return GROVE_EHOSTUNREACH;
    grove_actor *self = current_actor(sys);
    remote_ops->exit(ref, self ? grove_actor_ref(self) : GROVE_REF_NULL, reason,
                     reason == GROVE_EXIT_KILLED);
    return 0;
  }
  grove_actor *t = lookup(sys, ref);
  if (!t)
    return GROVE_ENOENT;
  grove_actor *self = current_actor(sys);
  if (t == self) {
    /* Ending oneself: after the current message, whatever the reason. */
    if (reason == GROVE_EXIT_KILLED) {
      t->_flags |= A_KILLED;
    } else {
      struct grove__actor_ext *e = ext_of(t);
      if (!e)
        return GROVE_ENOMEM;
      e->exit_reason = reason;
      t->_flags |= A_EXITING;
    }
    return 0;
  }
  signal_exit(sys, ref, self ? grove_actor_ref(self) : GROVE_REF_NULL, reason,
              reason == GROVE_EXIT_KILLED);
  return 0;
}

int grove_actor_trap_exits(bool on) {
  grove__actor_sys *sys = grove__actor_sys_get();
  grove_actor *self = sys ? current_actor(sys) : NULL;
  if (!self)
    return GROVE_EINVAL;
  if (on)
    self->_flags |= A_TRAP;
  else
    self->_flags &= ~(uint32_t)A_TRAP;
  return 0;
}

int grove_actor_wait(grove_ref ref, int *reason, double timeout) {
  grove__actor_sys *sys = grove__actor_sys_get();
  if (!sys)
    return GROVE_ENOMEM;
  if (isnan(timeout))
    return GROVE_EINVAL;
  grove_actor *a = lookup(sys, ref);
  if (!a) {
    /* Ended already: its slot remembers the last actor that ended there. */
    if (ref.node == 0 && ref.id && ref.id <= sys->nslots &&
        sys->slots[ref.id - 1].ended_gen == ref.gen) {
      if (reason)
        *reason = sys->slots[ref.id - 1].ended_reason;
      return 0;
    }
    return GROVE_ENOENT;
  }
  struct grove__actor_ext *e = ext_of(a);
  if (!e)
    return GROVE_ENOMEM;
  if (current_actor(sys) == a)
    return GROVE_EDEADLK;
  grove_greenlet *cur = sys->hub->current;
  int rc = grove__wait(sys->hub, &e->waiters, timeout, "actor wait", a);
  if (rc == 0 && reason)
    *reason = (int)(intptr_t)cur->slot;
  cur->slot = NULL;
  return rc;
}

int grove__actor_await_init(grove_ref ref) {
  grove__actor_sys *sys = grove__actor_sys_get();
  if (!sys)
    return GROVE_ENOMEM;
  for (;;) {
    grove_actor *a = lookup(sys, ref);
    if (!a) {
      if (ref.node == 0 && ref.id && ref.id <= sys->nslots &&
          sys->slots[ref.id - 1].ended_gen == ref.gen) {
        grove__actor_slot *sl = &sys->slots[ref.id - 1];
        if (sl->ended_started)
          return 0;
        return sl->ended_reason < 0 ? sl->ended_reason : GROVE_EFAILED;
      }
      return GROVE_ENOENT;
    }
    if (a->_flags & A_STARTED)
      return 0;
    struct grove__actor_ext *e = ext_of(a);
    if (!e)
      return GROVE_ENOMEM;
    int rc = grove__wait(sys->hub, &e->starters, GROVE_FOREVER, "actor init", a);
    if (rc)
      return rc;
  }
}

int grove_actor_stats_get(grove_ref ref, grove_actor_stats *out) {
  grove__actor_sys *sys = grove__actor_sys_get();
  grove_actor *a = sys ? lookup(sys, ref) : NULL;
  if (!out)
    return GROVE_EINVAL;
  if (!a)
    return GROVE_ENOENT;
  out->inbox_len = a->_len;
  out->processed = (a->_flags & A_INIT_DONE) ? a->_processed : 0;
  out->running = (a->_flags & A_IN_RECEIVE) != 0;
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

/* ---- registry ------------------------------------------------------------------------------ */

static unsigned reg_hash(const char *s) {
  unsigned h = 2166136261u;
  while (*s)
    h = (h ^ (unsigned char)*s++) * 16777619u;
  return h % GROVE__REG_BUCKETS;
}

static grove__reg_entry **reg_find(grove__actor_sys *sys, const char *name) {
  grove__reg_entry **pp = &sys->reg[reg_hash(name)];
  while (*pp && strcmp((*pp)->name, name) != 0)
    pp = &(*pp)->next;
  return pp;
}

static int reg_add(grove__actor_sys *sys, const char *name, grove_ref ref) {
  grove_actor *a = lookup(sys, ref);
  struct grove__actor_ext *e = a ? ext_of(a) : NULL;
  size_t n = strlen(name);
  grove__reg_entry *entry = malloc(sizeof *entry + n + 1);
  char *copy = malloc(n + 1);
  if (!e || !entry || !copy) {
    free(entry);
    free(copy);
    return GROVE_ENOMEM;
  }
  memcpy(entry->name, name, n + 1);
  memcpy(copy, name, n + 1);
  entry->ref = ref;
  grove__reg_entry **pp = reg_find(sys, name);
  entry->next = *pp;
  *pp = entry;
  e->name = copy;
  return 0;
}

static void reg_remove(grove__actor_sys *sys, const char *name) {
  grove__reg_entry **pp = reg_find(sys, name);
  grove__reg_entry *e = *pp;
  if (e) {
    *pp = e->next;
    free(e);
  }
}

int grove_register(const char *name, grove_ref ref) {
  if (!name || !name[0])
    return GROVE_EINVAL;
  grove__actor_sys *sys = grove__actor_sys_get();
  if (!sys)
    return GROVE_ENOMEM;
  grove_actor *a = lookup(sys, ref);
  if (!a)
    return GROVE_ENOENT;
  if (*reg_find(sys, name) || (a->_ext && a->_ext->name))
    return GROVE_EEXIST; /* the name is taken, or the actor has one */
  return reg_add(sys, name, ref);
}

int grove_unregister(const char *name) {
  if (!name)
    return GROVE_EINVAL;
  grove__actor_sys *sys = grove__actor_sys_get();
  if (!sys)
    return GROVE_ENOMEM;
  grove__reg_entry *e = *reg_find(sys, name);
  if (!e)
    return GROVE_ENOENT;
  grove_actor *a = lookup(sys, e->ref);
  if (a && a->_ext) {
    free(a->_ext->name);
    a->_ext->name = NULL;
  }
  reg_remove(sys, name);
  return 0;
}

int grove_whereis(const char *name, grove_ref *out) {
  if (out)
    *out = GROVE_REF_NULL;
  if (!name)
    return GROVE_EINVAL;
  grove__actor_sys *sys = grove__actor_sys_get();
  if (!sys)
    return GROVE_ENOMEM;
  grove__reg_entry *e = *reg_find(sys, name);
  if (!e || !lookup(sys, e->ref))
    return GROVE_ENOENT;
  if (out)
    *out = e->ref;
  return 0;
}

/* ---- monitors and links --------------------------------------------------------------------- */

/* Record that `watcher` (here or on another node) monitors t. */
static int add_monitor(grove_actor *t, uint64_t id, grove_ref watcher) {
  struct grove__actor_ext *e = ext_of(t);
  struct monitor *m = malloc(sizeof *m);
  if (!e || !m) {
    free(m);
    return GROVE_ENOMEM;
  }
  m->id = id;
  m->watcher = watcher;
  m->next = e->monitors;
  e->monitors = m;
  return 0;
}

int grove_monitor(grove_ref target, uint64_t *id) {
  if (id)
    *id = 0;
  grove__actor_sys *sys = grove__actor_sys_get();
  if (!sys)
    return GROVE_ENOMEM;
  grove_actor *self = current_actor(sys);
  if (!self)
    return GROVE_EINVAL;
  /* The id carries the target's slot, so demonitor finds it directly
   * (slot 0: a remote target). */
  uint64_t mid = (++sys->next_monitor << 32) | (target.node ? 0 : (target.id & 0xffffffffu));
  if (id)
    *id = mid;
  if (target.node != 0) {
    int rc = remote_ops ? remote_ops->monitor(grove_actor_ref(self), target, mid) : GROVE_EHOSTUNREACH;
    if (rc)
      send_down(sys, mid, grove_actor_ref(self), target, GROVE_EXIT_NOCONNECTION);
    return 0;
  }
  grove_actor *t = lookup(sys, target);
  if (!t) {
    send_down(sys, mid, grove_actor_ref(self), target, GROVE_ENOENT);
    return 0;
  }
  return add_monitor(t, mid, grove_actor_ref(self));
}

int grove_demonitor(uint64_t id) {
  grove__actor_sys *sys = grove__actor_sys_get();
  if (!sys)
    return GROVE_ENOMEM;
  uint64_t slot = id & 0xffffffffu;
  if (slot == 0 && id != 0)
    return remote_ops ? remote_ops->demonitor(id) : GROVE_ENOENT;
  if (slot == 0 || slot > sys->nslots)
    return GROVE_ENOENT;
  grove_actor *t = sys->slots[slot - 1].actor;
  if (!t || !t->_ext)
    return GROVE_ENOENT;
  for (struct monitor **pp = &t->_ext->monitors; *pp; pp = &(*pp)->next) {
    if ((*pp)->id == id) {
      struct monitor *m = *pp;
      *pp = m->next;
      free(m);
      return 0;
    }
  }
  return GROVE_ENOENT;
}

static int add_link(grove_actor *a, grove_ref other) {
  struct grove__actor_ext *e = ext_of(a);
  if (!e)
    return GROVE_ENOMEM;
  for (size_t i = 0; i < e->nlinks; i++)
    if (grove_ref_eq(e->links[i], other))
      return 0;
  if (grove__grow((void **)&e->links, &e->caplinks, e->nlinks, sizeof *e->links, 4))
    return GROVE_ENOMEM;
  e->links[e->nlinks++] = other;
  return 0;
}

static void drop_link(grove_actor *a, grove_ref other) {
  struct grove__actor_ext *e = a->_ext;
  if (!e)
    return;
  for (size_t i = 0; i < e->nlinks; i++) {
    if (grove_ref_eq(e->links[i], other)) {
      e->links[i] = e->links[--e->nlinks];
      return;
    }
  }
}

int grove_link_actors(grove_ref a, grove_ref b) {
  grove__actor_sys *sys = grove__actor_sys_get();
  if (!sys)
    return GROVE_ENOMEM;
  if (grove_ref_eq(a, b))
    return GROVE_EINVAL;
  if (a.node != 0 && b.node != 0)
    return GROVE_EINVAL; /* one of them must be here */
  if (a.node != 0 || b.node != 0) {
    grove_ref local = a.node ? b : a, remote = a.node ? a : b;
    grove_actor *l = lookup(sys, local);
    if (!l)
      return GROVE_ENOENT;
    if (!remote_ops) {
      signal_exit(sys, local, remote, GROVE_EXIT_NOCONNECTION, 0);
      return GROVE_EHOSTUNREACH;
    }
    int rc = add_link(l, remote);
    if (rc == 0 && (rc = remote_ops->link(local, remote)) != 0)
      drop_link(l, remote);
    return rc;
  }
  grove_actor *x = lookup(sys, a), *y = lookup(sys, b);
  if (!x || !y) {
    /* Linking to something already gone: the live one gets the signal. */
    if (x)
      signal_exit(sys, a, b, GROVE_ENOENT, 0);
    if (y)
      signal_exit(sys, b, a, GROVE_ENOENT, 0);
    return GROVE_ENOENT;
  }
  int rc = add_link(x, b);
  if (rc == 0 && (rc = add_link(y, a)) != 0)
    drop_link(x, b);
  return rc;
}

int grove_unlink_actors(grove_ref a, grove_ref b) {
  grove__actor_sys *sys = grove__actor_sys_get();
  if (!sys)
    return GROVE_ENOMEM;
  grove_actor *x = lookup(sys, a), *y = lookup(sys, b);
  if (x)
    drop_link(x, b);
  if (y)
    drop_link(y, a);
  if (remote_ops && (a.node != 0) != (b.node != 0))
    remote_ops->unlink(a.node ? b : a, a.node ? a : b);
  return (x || y) ? 0 : GROVE_ENOENT;
}

/* ---- for the transport ------------------------------------------------------------------------ */

int grove__actor_deliver(grove_ref to, grove_msg *m) {
  grove__actor_sys *sys = grove__actor_sys_get();
  if (!sys) {
    grove__msg_release(NULL, m);
    return GROVE_ENOMEM;
  }
  grove_actor *a = lookup(sys, to);
  if (!a) {
    grove__dead_letter(sys, to, m, GROVE_ENOENT);
    return GROVE_ENOENT;
  }
  return deliver(sys, a, to, m, 0);
}

int grove__actor_monitor_remote(grove_ref watcher, grove_ref target, uint64_t id) {
  grove__actor_sys *sys = grove__actor_sys_get();
  grove_actor *t = sys ? lookup(sys, target) : NULL;
  if (!t)
    return GROVE_ENOENT;
  return add_monitor(t, id, watcher);
}

void grove__actor_demonitor_remote(grove_ref target, uint64_t id) {
  grove__actor_sys *sys = grove__actor_sys_get();
  grove_actor *t = sys ? lookup(sys, target) : NULL;
  if (!t || !t->_ext)
    return;
  for (struct monitor **pp = &t->_ext->monitors; *pp; pp = &(*pp)->next) {
    if ((*pp)->id == id && (*pp)->watcher.node != 0) {
      struct monitor *m = *pp;
      *pp = m->next;
      free(m);
      return;
    }
  }
}

int grove__actor_link_remote(grove_ref local, grove_ref remote) {
  grove__actor_sys *sys = grove__actor_sys_get();
  grove_actor *l = sys ? lookup(sys, local) : NULL;
  return l ? add_link(l, remote) : GROVE_ENOENT;
}

void grove__actor_unlink_remote(grove_ref local, grove_ref remote) {
  grove__actor_sys *sys = grove__actor_sys_get();
  grove_actor *l = sys ? lookup(sys, local) : NULL;
  if (l)
    drop_link(l, remote);
}

void grove__actor_exit_remote(grove_ref to, grove_ref from, int reason, int kill) {
  grove__actor_sys *sys = grove__actor_sys_get();
  grove_actor *t = sys ? lookup(sys, to) : NULL;
  if (!t)
    return;
  if (!kill)
    drop_link(t, from); /* an exit that comes through a link ends the link */
  signal_exit(sys, to, from, reason, kill);
}

void grove__actor_down(uint64_t id, grove_ref watcher, grove_ref target, int reason) {
  grove__actor_sys *sys = grove__actor_sys_get();
  if (sys)
    send_down(sys, id, watcher, target, reason);
}
