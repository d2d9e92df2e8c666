/* actor/exits.c - exit signals, links and monitors (Erlang's), waiting for an
 * actor to end, and the transport's entry points for all of them.
 *
 * Design notes.
 *
 * Exit signals: GROVE_EXIT_KILLED, and any non-normal reason sent to an actor
 * that does not trap exits, end the actor (Erlang's exit/2): if it is inside
 * receive, its runner is cancelled (its blocking calls return
 * GROVE_ECANCELED at once) and the actor ends when receive returns. An actor
 * that traps exits gets GROVE_TAG_EXIT messages instead (except for
 * "killed").
 *
 * Monitors are one-way: the target keeps a list of (id, watcher); its end
 * sends each watcher a GROVE_TAG_DOWN message. A monitor id carries the
 * target's slot in its low 32 bits (0 for a remote target), so demonitor
 * finds the list at once. Links are two-way: each end keeps the other's ref.
 * A watcher or linked actor on another node is reached through the remote
 * operations the transport installed (grove__remote_install).
 */
#include "actor_internal.h"

#include <math.h>

/* ---- downs and exit signals -------------------------------------------------------- */

void grove__send_down(grove__actor_sys *sys, uint64_t id, grove_ref watcher, grove_ref target,
                      int reason) {
  if (watcher.node != 0) {
    if (sys->remote)
      sys->remote->down(watcher, id, target, reason);
    return;
  }
  grove_actor *w = grove__actor_lookup(sys, watcher);
  if (!w)
    return; /* the watcher is gone too: nobody to tell */
  grove_msg *m = grove_msg_new(GROVE_TAG_DOWN);
  if (!m)
    return;
  grove_msg_pack_int(m, (int64_t)id);
  grove_msg_pack_ref(m, target);
  grove_msg_pack_int(m, reason);
  m->sender = target;
  grove__actor_enqueue(sys, w, watcher, m, 0); /* not grove_send: it would set the sender */
}

static void cancel_receive(grove__actor_sys *sys, grove_actor *a) {
  grove_greenlet *r = a->_runner;
  if (grove__actor_state(a) == A_RUNNING && r && r != grove__current(sys->hub) &&
      (a->_flags & A_IN_RECEIVE))
    grove_kill(r, 0); /* its blocking calls now return GROVE_ECANCELED */
}

/* An exit signal from `from`. kill: the untrappable kill of grove_actor_exit
 * (..., GROVE_EXIT_KILLED); a linked actor that *ended* with reason "killed"
 * sends an ordinary, trappable signal with that reason, as in Erlang. */
void grove__signal_exit(grove__actor_sys *sys, grove_ref target, grove_ref from, int reason,
                        int kill) {
  if (target.node != 0) {
    if (sys->remote)
      sys->remote->exit(target, from, reason, kill);
    return;
  }
  grove_actor *t = grove__actor_lookup(sys, target);
  if (!t)
    return;
  if (!kill && (t->_flags & A_TRAP)) {
    grove_msg *m = grove_msg_new(GROVE_TAG_EXIT);
    if (!m)
      return;
    grove_msg_pack_ref(m, from);
    grove_msg_pack_int(m, reason);
    m->sender = from;
    grove__actor_enqueue(sys, t, target, m, 0);
    return;
  }
  if (reason == GROVE_EXIT_NORMAL && !kill)
    return; /* a normal exit does not end a linked actor */
  if (kill) {
    t->_flags |= A_KILLED;
  } else {
    struct grove__actor_ext *e = grove__actor_ext(t);
    if (!e) {
      t->_flags |= A_KILLED; /* cannot record the reason: still end it */
    } else if (!(t->_flags & A_EXITING)) {
      e->exit_reason = reason;
      t->_flags |= A_EXITING;
    }
  }
  if (grove__actor_state(t) == A_IDLE)
    grove__actor_schedule(sys, t);
  else
    cancel_receive(sys, t); /* a receive blocked in a call, a sleep, a wait ends now */
}

static grove_ref self_ref(grove__actor_sys *sys) {
  grove_actor *self = grove__actor_current(sys);
  return self ? grove_actor_ref(self) : GROVE_REF_NULL;
}

int grove_actor_exit(grove_ref ref, int reason) {
  grove__actor_sys *sys = grove__actor_sys_get();
  if (!sys)
    return GROVE_ENOMEM;
  if (ref.node != 0) {
    if (!sys->remote)
      return GROVE_EHOSTUNREACH;
    sys->remote->exit(ref, self_ref(sys), reason, reason == GROVE_EXIT_KILLED);
    return 0;
  }
  grove_actor *t = grove__actor_lookup(sys, ref);
  if (!t)
    return GROVE_ENOENT;
  grove_actor *self = grove__actor_current(sys);
  if (t == self) {
    /* Ending oneself: after the current message, whatever the reason. */
    if (reason == GROVE_EXIT_KILLED) {
      t->_flags |= A_KILLED;
    } else {
      struct grove__actor_ext *e = grove__actor_ext(t);
      if (!e)
        return GROVE_ENOMEM;
      e->exit_reason = reason;
      t->_flags |= A_EXITING;
    }
    return 0;
  }
  grove__signal_exit(sys, ref, self_ref(sys), reason, reason == GROVE_EXIT_KILLED);
  return 0;
}

int grove_actor_trap_exits(bool on) {
  grove__actor_sys *sys = grove__actor_sys_get();
  grove_actor *self = sys ? grove__actor_current(sys) : NULL;
  if (!self)
    return GROVE_EINVAL;
  if (on)
    self->_flags |= A_TRAP;
  else
    self->_flags &= ~(uint32_t)A_TRAP;
  return 0;
}

/* ---- waiting for an end -------------------------------------------------------------- */

int grove_actor_wait(grove_ref ref, int *reason, double timeout) {
  grove__actor_sys *sys = grove__actor_sys_get();
  if (!sys)
    return GROVE_ENOMEM;
  uint64_t deadline;
  int rc = grove__begin_wait(sys->hub, timeout, &deadline);
  if (rc)
    return rc;
  grove_actor *a = grove__actor_lookup(sys, ref);
  if (!a) {
    /* Ended already: its slot remembers the last actor that ended there. */
    grove__actor_slot *sl = grove__actor_ended(sys, ref);
    if (!sl)
      return GROVE_ENOENT;
    if (reason)
      *reason = sl->ended_reason;
    return 0;
  }
  if (grove__actor_current(sys) == a)
    return GROVE_EDEADLK;
  struct grove__actor_ext *e = grove__actor_ext(a);
  if (!e)
    return GROVE_ENOMEM;
  grove_greenlet *cur = grove__current(sys->hub);
  rc = timeout == 0 ? GROVE_ETIMEDOUT
                    : grove__wait_until(sys->hub, &e->waiters, deadline, "actor wait", a);
  int ended = (int)(intptr_t)grove__take_slot(cur);
  if (rc == 0 && reason)
    *reason = ended;
  return rc;
}

int grove__actor_await_init(grove_ref ref) {
  grove__actor_sys *sys = grove__actor_sys_get();
  if (!sys)
    return GROVE_ENOMEM;
  for (;;) {
    grove_actor *a = grove__actor_lookup(sys, ref);
    if (!a) {
      grove__actor_slot *sl = grove__actor_ended(sys, ref);
      if (!sl)
        return GROVE_ENOENT;
      if (sl->ended_started)
        return 0;
      return sl->ended_reason < 0 ? sl->ended_reason : GROVE_EFAILED;
    }
    if (a->_flags & A_STARTED)
      return 0;
    struct grove__actor_ext *e = grove__actor_ext(a);
    if (!e)
      return GROVE_ENOMEM;
    grove_greenlet *cur = grove__current(sys->hub);
    int rc = grove__wait(sys->hub, &e->starters, GROVE_FOREVER, "actor init", a);
    intptr_t outcome = (intptr_t)grove__take_slot(cur);
    if (rc)
      return rc;
    if (outcome == 1)
      return 0; /* it started (and has ended since) */
    if (outcome < 0)
      return (int)outcome; /* its init failed */
    /* Its init returned: A_STARTED is set now. */
  }
}

/* ---- monitors ------------------------------------------------------------------------ */

/* Record that `watcher` (here or on another node) monitors t. */
static int add_monitor(grove_actor *t, uint64_t id, grove_ref watcher) {
  struct grove__actor_ext *e = grove__actor_ext(t);
  struct grove__monitor_rec *m = malloc(sizeof *m);
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

/* Forget monitor `id` of t (only if its watcher is remote, when asked). */
static int drop_monitor(grove_actor *t, uint64_t id, int remote_only) {
  if (!t || !t->_ext)
    return GROVE_ENOENT;
  for (struct grove__monitor_rec **pp = &t->_ext->monitors; *pp; pp = &(*pp)->next) {
    if ((*pp)->id == id && (!remote_only || (*pp)->watcher.node != 0)) {
      struct grove__monitor_rec *m = *pp;
      *pp = m->next;
      free(m);
      return 0;
    }
  }
  return GROVE_ENOENT;
}

int grove_monitor(grove_ref target, uint64_t *id) {
  if (id)
    *id = 0;
  grove__actor_sys *sys = grove__actor_sys_get();
  if (!sys)
    return GROVE_ENOMEM;
  grove_actor *self = grove__actor_current(sys);
  if (!self)
    return GROVE_EINVAL;
  /* The id carries the target's slot, so demonitor finds it directly
   * (slot 0: a remote target). */
  uint64_t mid = (++sys->next_monitor << 32) | (target.node ? 0 : (target.id & 0xffffffffu));
  if (id)
    *id = mid;
  if (target.node != 0) {
    int rc =
        sys->remote ? sys->remote->monitor(grove_actor_ref(self), target, mid) : GROVE_EHOSTUNREACH;
    if (rc)
      grove__send_down(sys, mid, grove_actor_ref(self), target, GROVE_EXIT_NOCONNECTION);
    return 0;
  }
  grove_actor *t = grove__actor_lookup(sys, target);
  if (!t) {
    grove__send_down(sys, mid, grove_actor_ref(self), target, GROVE_ENOENT);
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
    return sys->remote ? sys->remote->demonitor(id) : GROVE_ENOENT;
  if (slot == 0 || slot > sys->nslots)
    return GROVE_ENOENT;
  return drop_monitor(sys->slots[slot - 1].actor, id, 0);
}

/* ---- links ---------------------------------------------------------------------------- */

static int add_link(grove_actor *a, grove_ref other) {
  struct grove__actor_ext *e = grove__actor_ext(a);
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
    grove_actor *l = grove__actor_lookup(sys, local);
    if (!l)
      return GROVE_ENOENT;
    if (!sys->remote) {
      grove__signal_exit(sys, local, remote, GROVE_EXIT_NOCONNECTION, 0);
      return GROVE_EHOSTUNREACH;
    }
    int rc = add_link(l, remote);
    if (rc == 0 && (rc = sys->remote->link(local, remote)) != 0)
      drop_link(l, remote);
    return rc;
  }
  grove_actor *x = grove__actor_lookup(sys, a), *y = grove__actor_lookup(sys, b);
  if (!x || !y) {
    /* Linking to something already gone: the live one gets the signal. */
    if (x)
      grove__signal_exit(sys, a, b, GROVE_ENOENT, 0);
    if (y)
      grove__signal_exit(sys, b, a, GROVE_ENOENT, 0);
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
  grove_actor *x = grove__actor_lookup(sys, a), *y = grove__actor_lookup(sys, b);
  if (x)
    drop_link(x, b);
  if (y)
    drop_link(y, a);
  if (sys->remote && (a.node != 0) != (b.node != 0))
    sys->remote->unlink(a.node ? b : a, a.node ? a : b);
  return (x || y) ? 0 : GROVE_ENOENT;
}

/* ---- for the transport ------------------------------------------------------------------ */

int grove__actor_deliver(grove_ref to, grove_msg *m) {
  grove__actor_sys *sys = grove__actor_sys_get();
  if (!sys) {
    grove__msg_release(NULL, m);
    return GROVE_ENOMEM;
  }
  grove_actor *a = grove__actor_lookup(sys, to);
  if (!a) {
    grove__dead_letter(sys, to, m, GROVE_ENOENT);
    return GROVE_ENOENT;
  }
  return grove__actor_enqueue(sys, a, to, m, 0);
}

int grove__actor_monitor_remote(grove_ref watcher, grove_ref target, uint64_t id) {
  grove__actor_sys *sys = grove__actor_sys_get();
  grove_actor *t = sys ? grove__actor_lookup(sys, target) : NULL;
  if (!t)
    return GROVE_ENOENT;
  return add_monitor(t, id, watcher);
}

void grove__actor_demonitor_remote(grove_ref target, uint64_t id) {
  grove__actor_sys *sys = grove__actor_sys_get();
  if (sys)
    drop_monitor(grove__actor_lookup(sys, target), id, 1);
}

int grove__actor_link_remote(grove_ref local, grove_ref remote) {
  grove__actor_sys *sys = grove__actor_sys_get();
  grove_actor *l = sys ? grove__actor_lookup(sys, local) : NULL;
  return l ? add_link(l, remote) : GROVE_ENOENT;
}

void grove__actor_unlink_remote(grove_ref local, grove_ref remote) {
  grove__actor_sys *sys = grove__actor_sys_get();
  grove_actor *l = sys ? grove__actor_lookup(sys, local) : NULL;
  if (l)
    drop_link(l, remote);
}

void grove__actor_exit_remote(grove_ref to, grove_ref from, int reason, int kill) {
  grove__actor_sys *sys = grove__actor_sys_get();
  grove_actor *t = sys ? grove__actor_lookup(sys, to) : NULL;
  if (!t)
    return;
  if (!kill)
    drop_link(t, from); /* an exit that comes through a link ends the link */
  grove__signal_exit(sys, to, from, reason, kill);
}

void grove__actor_down(uint64_t id, grove_ref watcher, grove_ref target, int reason) {
  grove__actor_sys *sys = grove__actor_sys_get();
  if (sys)
    grove__send_down(sys, id, watcher, target, reason);
}
