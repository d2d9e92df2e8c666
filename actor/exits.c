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
    if (grove__remote_of(sys))
      grove__remote_of(sys)->down(watcher, id, target, reason);
    return;
  }
  if (GROVE__UNLIKELY(grove__ref_other_hub(sys, watcher))) {
    grove__x_down(sys, id, watcher, target, reason);
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
    grove_kill_nowait(r); /* its blocking calls now return GROVE_ECANCELED */
}

/* An exit signal from `from`. kill: the untrappable kill of grove_actor_exit
 * (..., GROVE_EXIT_KILLED); a linked actor that *ended* with reason "killed"
 * sends an ordinary, trappable signal with that reason, as in Erlang. */
void grove__signal_exit(grove__actor_sys *sys, grove_ref target, grove_ref from, int reason,
                        int kill) {
  if (target.node != 0) {
    if (grove__remote_of(sys))
      grove__remote_of(sys)->exit(target, from, reason, kill ? GROVE__EXIT_KILL : GROVE__EXIT_LINK);
    return;
  }
  if (GROVE__UNLIKELY(grove__ref_other_hub(sys, target))) {
    grove__x_exit(sys, target, from, reason, kill ? GROVE__EXIT_KILL : GROVE__EXIT_LINK);
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

int grove_actor_exit(grove_ref ref, int reason) {
  grove__actor_sys *sys = grove__actor_sys_get();
  if (!sys)
    return GROVE_ENOMEM;
  if (ref.node != 0) {
    if (!grove__remote_of(sys))
      return GROVE_EHOSTUNREACH;
    return grove__remote_of(sys)->exit(ref, grove__self_ref(sys), reason,
                                       reason == GROVE_EXIT_KILLED ? GROVE__EXIT_KILL
                                                                   : GROVE__EXIT_SIGNAL);
  }
  grove_actor *t = grove__actor_lookup(sys, ref);
  if (!t && grove__ref_other_hub(sys, ref)) {
    if (!grove__hub_at(grove__ref_hub(ref)))
      return GROVE_ENOENT;
    grove__x_exit(sys, ref, grove__self_ref(sys), reason,
                  reason == GROVE_EXIT_KILLED ? GROVE__EXIT_KILL : GROVE__EXIT_SIGNAL);
    return 0;
  }
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
  grove__signal_exit(sys, ref, grove__self_ref(sys), reason, reason == GROVE_EXIT_KILLED);
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
  if (grove__ref_other_hub(sys, ref) && grove_hub_count() > 1)
    return isnan(timeout) ? GROVE_EINVAL : grove__x_wait(ref, reason, timeout, false);
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
  if (grove__ref_other_hub(sys, ref) && grove_hub_count() > 1)
    return grove__x_wait(ref, NULL, GROVE_FOREVER, true);
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

/* ---- the tables --------------------------------------------------------------------- */

static uint64_t mix(uint64_t h) {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  return h;
}

static uint64_t ref_hash(grove_ref r) { return mix(((uint64_t)r.node << 32 | r.gen) ^ mix(r.id)); }

/* Grow a table to twice its buckets when it is full: records are rehashed
 * through their hnext field, found at `next_off` in each record. */
static int table_grow(grove__table *t, size_t next_off, uint64_t (*hash)(const void *rec)) {
  if (t->count < t->nbuckets)
    return 0;
  size_t n = t->nbuckets ? t->nbuckets * 2 : 64;
  void **b = calloc(n, sizeof *b);
  if (!b)
    return t->nbuckets ? 0 : GROVE_ENOMEM; /* a full table still works, only slower */
  for (size_t i = 0; i < t->nbuckets; i++) {
    void *rec = t->buckets[i];
    while (rec) {
      void **nextp = (void **)((char *)rec + next_off);
      void *next = *nextp;
      size_t k = hash(rec) & (n - 1);
      *nextp = b[k];
      b[k] = rec;
      rec = next;
    }
  }
  free(t->buckets);
  t->buckets = b;
  t->nbuckets = n;
  return 0;
}

void grove__tables_free(grove__actor_sys *sys) {
  /* Only empty tables are left when the system closes: every actor has
   * ended, and with it its records. */
  free(sys->monitors.buckets);
  free(sys->links.buckets);
  sys->monitors = (grove__table){0};
  sys->links = (grove__table){0};
}

/* Monitors, by (id, watcher's node, target's slot): a local monitor's id
 * carries its target's slot, so (id, 0, slot) is unique here; monitors held
 * by actors of other nodes are told apart by their node. */
static uint64_t mon_key_hash(uint64_t id, uint32_t wnode, uint64_t tslot) {
  return mix(id ^ mix((uint64_t)wnode << 32 | (tslot & 0xffffffffu)));
}

static uint64_t mon_hash(const void *rec) {
  const grove__mon *m = rec;
  return mon_key_hash(m->id, m->watcher.node, m->target.node ? 0 : grove__ref_slot(m->target));
}

static grove__mon **mon_find(grove__actor_sys *sys, uint64_t id, uint32_t wnode, uint64_t tslot) {
  grove__table *t = &sys->monitors;
  if (!t->nbuckets)
    return NULL;
  grove__mon **pp = (grove__mon **)&t->buckets[mon_key_hash(id, wnode, tslot) & (t->nbuckets - 1)];
  for (; *pp; pp = &(*pp)->hnext) {
    grove__mon *m = *pp;
    if (m->id == id && m->watcher.node == wnode &&
        (m->target.node ? 0 : grove__ref_slot(m->target)) == tslot)
      return pp;
  }
  return NULL;
}

/* Record that `watcher` monitors `target` (either may be on another node,
 * not both): in the table, and in the lists of the local ends. */
static int mon_add(grove__actor_sys *sys, uint64_t id, grove_ref watcher, grove_ref target) {
  grove_actor *t = target.node ? NULL : grove__actor_lookup(sys, target);
  grove_actor *w = watcher.node ? NULL : grove__actor_lookup(sys, watcher);
  struct grove__actor_ext *te = t ? grove__actor_ext(t) : NULL,
                          *we = w ? grove__actor_ext(w) : NULL;
  grove__mon *m = malloc(sizeof *m);
  if ((t && !te) || (w && !we) || !m ||
      table_grow(&sys->monitors, offsetof(grove__mon, hnext), mon_hash) != 0) {
    free(m);
    return GROVE_ENOMEM;
  }
  m->id = id;
  m->watcher = watcher;
  m->target = target;
  grove__list_init(&m->at_target);
  grove__list_init(&m->at_watcher);
  if (te)
    grove__list_push(&te->monitors, &m->at_target);
  if (we)
    grove__list_push(&we->watching, &m->at_watcher);
  void **b = &sys->monitors.buckets[mon_hash(m) & (sys->monitors.nbuckets - 1)];
  m->hnext = *b;
  *b = m;
  sys->monitors.count++;
  return 0;
}

/* Take a monitor out of the table and of both lists; the caller frees it. */
static grove__mon *mon_unhook(grove__actor_sys *sys, grove__mon **pp) {
  grove__mon *m = *pp;
  *pp = m->hnext;
  sys->monitors.count--;
  if (grove__list_linked(&m->at_target))
    grove__list_remove(&m->at_target);
  if (grove__list_linked(&m->at_watcher))
    grove__list_remove(&m->at_watcher);
  return m;
}

static int mon_drop(grove__actor_sys *sys, uint64_t id, uint32_t wnode, uint64_t tslot) {
  grove__mon **pp = mon_find(sys, id, wnode, tslot);
  if (!pp)
    return GROVE_ENOENT;
  free(mon_unhook(sys, pp));
  return 0;
}

/* Links, by the unordered pair of their ends. */
static int ref_less(grove_ref a, grove_ref b) {
  if (a.node != b.node)
    return a.node < b.node;
  if (a.id != b.id)
    return a.id < b.id;
  return a.gen < b.gen;
}

static uint64_t pair_hash(grove_ref a, grove_ref b) {
  if (ref_less(b, a)) {
    grove_ref t = a;
    a = b;
    b = t;
  }
  return mix(ref_hash(a) * 31 + ref_hash(b));
}

static uint64_t lnk_hash(const void *rec) {
  const grove__lnk *l = rec;
  return pair_hash(l->ref[0], l->ref[1]);
}

static grove__lnk **lnk_find(grove__actor_sys *sys, grove_ref a, grove_ref b) {
  grove__table *t = &sys->links;
  if (!t->nbuckets)
    return NULL;
  grove__lnk **pp = (grove__lnk **)&t->buckets[pair_hash(a, b) & (t->nbuckets - 1)];
  for (; *pp; pp = &(*pp)->hnext) {
    grove__lnk *l = *pp;
    if ((grove_ref_eq(l->ref[0], a) && grove_ref_eq(l->ref[1], b)) ||
        (grove_ref_eq(l->ref[0], b) && grove_ref_eq(l->ref[1], a)))
      return pp;
  }
  return NULL;
}

/* Link a (local) and b (local or remote); already linked is fine. */
static int lnk_add(grove__actor_sys *sys, grove_ref a, grove_ref b) {
  if (lnk_find(sys, a, b))
    return 0;
  grove_ref ends[2] = {a, b};
  struct grove__actor_ext *ext[2] = {NULL, NULL};
  for (int i = 0; i < 2; i++) {
    grove_actor *x = ends[i].node ? NULL : grove__actor_lookup(sys, ends[i]);
    if (x && !(ext[i] = grove__actor_ext(x)))
      return GROVE_ENOMEM;
  }
  grove__lnk *l = malloc(sizeof *l);
  if (!l || table_grow(&sys->links, offsetof(grove__lnk, hnext), lnk_hash) != 0) {
    free(l);
    return GROVE_ENOMEM;
  }
  for (int i = 0; i < 2; i++) {
    l->ref[i] = ends[i];
    l->end[i].rec = l;
    grove__list_init(&l->end[i].link);
    if (ext[i])
      grove__list_push(&ext[i]->links, &l->end[i].link);
  }
  void **bk = &sys->links.buckets[lnk_hash(l) & (sys->links.nbuckets - 1)];
  l->hnext = *bk;
  *bk = l;
  sys->links.count++;
  return 0;
}

static grove__lnk *lnk_unhook(grove__actor_sys *sys, grove__lnk **pp) {
  grove__lnk *l = *pp;
  *pp = l->hnext;
  sys->links.count--;
  for (int i = 0; i < 2; i++)
    if (grove__list_linked(&l->end[i].link))
      grove__list_remove(&l->end[i].link);
  return l;
}

static int lnk_drop(grove__actor_sys *sys, grove_ref a, grove_ref b) {
  grove__lnk **pp = lnk_find(sys, a, b);
  if (!pp)
    return GROVE_ENOENT;
  free(lnk_unhook(sys, pp));
  return 0;
}

/* ---- an actor's end ------------------------------------------------------------------ */

void grove__actor_unwatch(grove__actor_sys *sys, grove_actor *a, grove_ref ref, int reason) {
  struct grove__actor_ext *e = a->_ext;
  grove__list *n;
  /* Its watchers are told, and forget it. */
  while ((n = grove__list_pop(&e->monitors)) != NULL) {
    grove__mon *m = grove__container_of(n, grove__mon, at_target);
    grove__list_init(n);
    grove__mon **pp = mon_find(sys, m->id, m->watcher.node, grove__ref_slot(ref));
    if (pp)
      mon_unhook(sys, pp);
    grove__send_down(sys, m->id, m->watcher, ref, reason);
    free(m);
  }
  /* What it watched forgets it (a remote target's node is told). */
  while ((n = grove__list_pop(&e->watching)) != NULL) {
    grove__mon *m = grove__container_of(n, grove__mon, at_watcher);
    grove__list_init(n);
    grove__mon **pp = mon_find(sys, m->id, 0, m->target.node ? 0 : grove__ref_slot(m->target));
    if (pp)
      mon_unhook(sys, pp);
    if (m->target.node && grove__remote_of(sys))
      grove__remote_of(sys)->demonitor(m->id);
    else if (grove__ref_other_hub(sys, m->target))
      grove__x_demonitor(sys, m->target, m->id);
    free(m);
  }
  /* Its links break, and the other ends get exit signals. */
  while ((n = grove__list_pop(&e->links)) != NULL) {
    grove__lnk_end *end = grove__container_of(n, grove__lnk_end, link);
    grove__lnk *l = end->rec;
    grove__list_init(n);
    grove_ref other = l->ref[end == &l->end[0] ? 1 : 0];
    grove__lnk **pp = lnk_find(sys, ref, other);
    if (pp)
      lnk_unhook(sys, pp);
    free(l);
    grove__signal_exit(sys, other, ref, reason, 0);
  }
}

/* ---- monitors ------------------------------------------------------------------------ */

int grove_monitor(grove_ref target, uint64_t *id) {
  if (id)
    *id = 0;
  grove__actor_sys *sys = grove__actor_sys_get();
  if (!sys)
    return GROVE_ENOMEM;
  grove_actor *self = grove__actor_current(sys);
  if (!self)
    return GROVE_EINVAL;
  return grove__monitor_as(sys, grove_actor_ref(self), target, id);
}

int grove__monitor_as(grove__actor_sys *sys, grove_ref me, grove_ref target, uint64_t *id) {
  /* The id carries the target's slot (0: a remote target), so a table
   * lookup needs nothing but the id. */
  uint64_t mid = (grove__x_monitor_seq(sys) << 32) | (target.node ? 0 : grove__ref_slot(target));
  if (id)
    *id = mid;
  if (target.node != 0) {
    int rc = grove__remote_of(sys) ? grove__remote_of(sys)->monitor(me, target, mid)
                                   : GROVE_EHOSTUNREACH;
    if (rc == 0 && (rc = mon_add(sys, mid, me, target)) != 0)
      grove__remote_of(sys)->demonitor(mid);
    if (rc)
      grove__send_down(sys, mid, me, target, rc == GROVE_ENOMEM ? rc : GROVE_EXIT_NOCONNECTION);
    return 0;
  }
  if (!grove__actor_lookup(sys, target)) {
    if (grove__ref_other_hub(sys, target) && grove__hub_at(grove__ref_hub(target))) {
      /* Recorded here, and at the target's hub (which answers with a down
       * message at once if the target is gone). */
      int rc = mon_add(sys, mid, me, target);
      if (rc == 0)
        rc = grove__x_monitor(sys, me, target, mid);
      if (rc)
        mon_drop(sys, mid, 0, grove__ref_slot(target));
      return rc;
    }
    grove__send_down(sys, mid, me, target, GROVE_ENOENT);
    return 0;
  }
  return mon_add(sys, mid, me, target);
}

int grove_demonitor(uint64_t id) {
  grove__actor_sys *sys = grove__actor_sys_get();
  if (!sys)
    return GROVE_ENOMEM;
  if (id == 0)
    return GROVE_ENOENT;
  /* A greenlet's watch: its record goes, its proxy is ended, and its
   * monitor is dropped here and now (below), as an actor's would be. */
  int watch = sys->watches && grove__watch_demonitor(sys, id);
  uint64_t slot = id & 0xffffffffu;
  grove__mon **pp = slot ? mon_find(sys, id, 0, slot) : NULL;
  if (pp && grove__ref_other_hub(sys, (*pp)->target))
    grove__x_demonitor(sys, (*pp)->target, id);
  int rc = mon_drop(sys, id, 0, slot);
  if (slot == 0 && grove__remote_of(sys)) {
    int r = grove__remote_of(sys)->demonitor(id);
    return rc == 0 || watch ? 0 : r;
  }
  return watch ? 0 : rc;
}

/* ---- links ---------------------------------------------------------------------------- */

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
    if (!grove__actor_lookup(sys, local))
      return GROVE_ENOENT;
    if (!grove__remote_of(sys)) {
      grove__signal_exit(sys, local, remote, GROVE_EXIT_NOCONNECTION, 0);
      return GROVE_EHOSTUNREACH;
    }
    int rc = lnk_add(sys, local, remote);
    if (rc == 0 && (rc = grove__remote_of(sys)->link(local, remote)) != 0)
      lnk_drop(sys, local, remote);
    return rc;
  }
  grove_actor *x = grove__actor_lookup(sys, a), *y = grove__actor_lookup(sys, b);
  if ((x && !y && grove__ref_other_hub(sys, b)) || (y && !x && grove__ref_other_hub(sys, a))) {
    /* One end here, the other on another hub: each hub records its end;
     * the other hub answers with an exit signal if its end is gone. */
    grove_ref local = x ? a : b, other = x ? b : a;
    if (!grove__hub_at(grove__ref_hub(other))) {
      grove__signal_exit(sys, local, other, GROVE_ENOENT, 0);
      return GROVE_ENOENT;
    }
    int rc = lnk_add(sys, local, other);
    if (rc == 0)
      grove__x_link(sys, local, other);
    return rc;
  }
  if (!x || !y) {
    /* Linking to something already gone: the live one gets the signal. */
    if (x)
      grove__signal_exit(sys, a, b, GROVE_ENOENT, 0);
    if (y)
      grove__signal_exit(sys, b, a, GROVE_ENOENT, 0);
    return GROVE_ENOENT;
  }
  return lnk_add(sys, a, b);
}

int grove_unlink_actors(grove_ref a, grove_ref b) {
  grove__actor_sys *sys = grove__actor_sys_get();
  if (!sys)
    return GROVE_ENOMEM;
  grove_actor *x = grove__actor_lookup(sys, a), *y = grove__actor_lookup(sys, b);
  int rc = lnk_drop(sys, a, b);
  if (grove__remote_of(sys) && (a.node != 0) != (b.node != 0))
    grove__remote_of(sys)->unlink(a.node ? b : a, a.node ? a : b);
  if (rc == 0 && (x || y) && (grove__ref_other_hub(sys, a) || grove__ref_other_hub(sys, b)))
    grove__x_unlink(sys, x ? a : b, x ? b : a);
  return (x || y || rc == 0) ? 0 : GROVE_ENOENT;
}

/* ---- for the transport ------------------------------------------------------------------ */

int grove__actor_deliver(grove_ref to, grove_msg *m) {
  grove__actor_sys *sys = grove__actor_sys_get();
  if (!sys) {
    grove__msg_release(NULL, m);
    return GROVE_ENOMEM;
  }
  grove_actor *a = grove__actor_lookup(sys, to);
  if (GROVE__UNLIKELY(!a && grove__ref_other_hub(sys, to))) {
    /* An actor of another hub (the node serves them all): it moves there
     * by pointer; there a request to an actor that is gone is answered. */
    grove_hub *th = grove__hub_at(grove__ref_hub(to));
    if (th && th != sys->hub) {
      grove__x_call_async(th, to, m);
      return 0;
    }
  }
  if (!a) {
    grove__dead_letter(sys, to, m, GROVE_ENOENT);
    return GROVE_ENOENT;
  }
  return grove__actor_enqueue(sys, a, to, m, 0);
}

int grove__actor_monitor_remote(grove_ref watcher, grove_ref target, uint64_t id) {
  grove__actor_sys *sys = grove__actor_sys_get();
  if (sys && grove__route_remote(sys, GROVE__RT_MONITOR, target, watcher, target, id, 0, 0, 0))
    return 0; /* its hub answers with a down if it is gone */
  if (!sys || !grove__actor_lookup(sys, target))
    return GROVE_ENOENT;
  return mon_add(sys, id, watcher, target);
}

void grove__actor_demonitor_remote(grove_ref target, uint64_t id, uint32_t watcher_node) {
  grove__actor_sys *sys = grove__actor_sys_get();
  if (sys && target.node == 0 &&
      !grove__route_remote(sys, GROVE__RT_DEMONITOR, target, GROVE_REF_NULL, target, id, 0, 0,
                           watcher_node))
    mon_drop(sys, id, watcher_node, grove__ref_slot(target));
}

int grove__actor_link_remote(grove_ref local, grove_ref remote) {
  grove__actor_sys *sys = grove__actor_sys_get();
  if (sys && grove__route_remote(sys, GROVE__RT_LINK, local, local, remote, 0, 0, 0, 0))
    return 0; /* its hub sends the exit signal if it is gone */
  if (!sys || !grove__actor_lookup(sys, local))
    return GROVE_ENOENT;
  return lnk_add(sys, local, remote);
}

void grove__actor_unlink_remote(grove_ref local, grove_ref remote) {
  grove__actor_sys *sys = grove__actor_sys_get();
  if (sys && !grove__route_remote(sys, GROVE__RT_UNLINK, local, local, remote, 0, 0, 0, 0))
    lnk_drop(sys, local, remote);
}

void grove__actor_exit_remote(grove_ref to, grove_ref from, int reason, int how) {
  grove__actor_sys *sys = grove__actor_sys_get();
  if (sys && grove__route_remote(sys, GROVE__RT_EXIT, to, to, from, 0, reason, how, 0))
    return;
  grove_actor *t = sys ? grove__actor_lookup(sys, to) : NULL;
  if (!t)
    return;
  /* A link's signal ends the link, and only a link that is there: one
   * unlinked meanwhile, or already broken by a node-down, is stale. */
  if (how == GROVE__EXIT_LINK && lnk_drop(sys, to, from) != 0)
    return;
  grove__signal_exit(sys, to, from, reason, how == GROVE__EXIT_KILL);
}

void grove__actor_forget_node(uint32_t node) {
  grove__actor_sys *sys = grove__actor_sys_get();
  if (!sys || node == 0)
    return;
  if (sys->remote)
    grove__route_forget(sys, node); /* the node's hub: the other hubs too */
  if (sys->monitors.count == 0)
    return;
  grove__table *t = &sys->monitors;
  for (size_t i = 0; i < t->nbuckets; i++) {
    grove__mon **pp = (grove__mon **)&t->buckets[i];
    while (*pp) {
      if ((*pp)->watcher.node == node)
        free(mon_unhook(sys, pp)); /* *pp is the next one now */
      else
        pp = &(*pp)->hnext;
    }
  }
}

void grove__actor_down(uint64_t id, grove_ref watcher, grove_ref target, int reason) {
  grove__actor_sys *sys = grove__actor_sys_get();
  if (!sys || grove__route_remote(sys, GROVE__RT_DOWN, watcher, watcher, target, id, reason, 0, 0))
    return;
  /* A remote target ended (or its node went down): the watcher's record
   * goes; a DOWN for a monitor already gone (demonitored, or fired) is not
   * delivered twice. */
  if (mon_drop(sys, id, 0, 0) != 0 && target.node != 0)
    return;
  grove__send_down(sys, id, watcher, target, reason);
}

int grove__mon_drop(grove__actor_sys *sys, uint64_t id, grove_ref target) {
  return mon_drop(sys, id, 0, target.node ? 0 : grove__ref_slot(target));
}
