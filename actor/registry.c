/* actor/registry.c - names for actors (Erlang's register / whereis).
 *
 * Design notes: a hash table of names to refs. An actor has at most one
 * name and keeps a copy of it, so that its end removes the entry without a
 * search over the table. whereis checks that a named actor of this hub still
 * lives: a ref that went stale is never returned.
 *
 * Hubs: a hub on its own keeps its table in its actor system, unlocked, as
 * it always did. The hubs of grove_hubs_start share one process-wide table
 * (one namespace) behind a mutex. A lock rather than RCU: names are
 * registered and looked up rarely next to messages (grove_call_name pays one
 * uncontended lock, some 20 ns, per call), a lookup copies a 16-byte ref out
 * under the lock, and an entry is freed by its actor's end - with RCU that
 * free would wait for a grace period across every hub, which needs liburcu
 * or an epoch scheme of our own, for no measurable gain. An entry for an
 * actor of another hub is removed by that hub when the actor ends, under the
 * same lock, matching the ref, so a name taken over meanwhile is not lost.
 *
 * Waiting for a name (grove_whereis_wait, grove_call_name): the waiters of a
 * hub sit on one list, and every registration on that hub wakes them all to
 * look again (registrations are rare; waiters rarer). A name registered on
 * another hub of grove_hubs_start wakes nobody here: a waiter on a grouped
 * hub also looks again every NAME_POLL seconds.
 */
#include "actor_internal.h"

#include <pthread.h>
#include <string.h>

#include <math.h>

#define NAME_POLL 0.005 /* seconds: a grouped hub's waiters look again this often */

static pthread_mutex_t greg_lock = PTHREAD_MUTEX_INITIALIZER;
static grove__reg_entry *greg[GROVE__REG_BUCKETS];
static _Atomic size_t greg_n; /* entries in the shared table */

/* Whether this hub is one of grove_hubs_start's (it uses the shared table). */
static bool grouped(const grove__actor_sys *sys) { return grove__hub_at(sys->index) == sys->hub; }

static unsigned reg_hash(const char *s) {
  unsigned h = 2166136261u;
  while (*s)
    h = (h ^ (unsigned char)*s++) * 16777619u;
  return h % GROVE__REG_BUCKETS;
}

static grove__reg_entry **table_find(grove__reg_entry **table, const char *name) {
  grove__reg_entry **pp = &table[reg_hash(name)];
  while (*pp && strcmp((*pp)->name, name) != 0)
    pp = &(*pp)->next;
  return pp;
}

int grove__reg_add(grove__actor_sys *sys, const char *name, grove_ref ref) {
  grove_actor *a = grove__actor_lookup(sys, ref);
  struct grove__actor_ext *e = a ? grove__actor_ext(a) : NULL;
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
  if (grouped(sys)) {
    pthread_mutex_lock(&greg_lock);
    grove__reg_entry **pp = table_find(greg, name);
    if (*pp) { /* taken meanwhile by an actor of another hub */
      pthread_mutex_unlock(&greg_lock);
      free(entry);
      free(copy);
      return GROVE_EEXIST;
    }
    entry->next = *pp;
    *pp = entry;
    greg_n++;
    pthread_mutex_unlock(&greg_lock);
  } else {
    grove__reg_entry **pp = table_find(sys->reg, name);
    entry->next = *pp;
    *pp = entry;
  }
  e->name = copy;
  grove__reg_notify(sys);
  return 0;
}

void grove__reg_notify(grove__actor_sys *sys) {
  if (!grove__list_empty(&sys->name_waiters))
    grove__wake_all(&sys->name_waiters, 0);
}

static bool reg_remove(grove__actor_sys *sys, const char *name, grove_ref ref) {
  grove__reg_entry **pp = table_find(sys->reg, name);
  grove__reg_entry *e = *pp;
  if (e && (grove_ref_is_null(ref) || grove_ref_eq(e->ref, ref))) {
    *pp = e->next;
    free(e);
    return true;
  }
  if (atomic_load(&greg_n) == 0)
    return false;
  pthread_mutex_lock(&greg_lock);
  pp = table_find(greg, name);
  e = *pp;
  bool found = e && (grove_ref_is_null(ref) || grove_ref_eq(e->ref, ref));
  if (found) {
    *pp = e->next;
    greg_n--;
  }
  pthread_mutex_unlock(&greg_lock);
  if (found)
    free(e);
  return found;
}

void grove__reg_remove(grove__actor_sys *sys, const char *name, grove_ref ref) {
  reg_remove(sys, name, ref);
}

/* The ref registered under name, here or in the shared table. */
static bool reg_get(grove__actor_sys *sys, const char *name, grove_ref *out) {
  grove__reg_entry *e = *table_find(sys->reg, name);
  if (e) {
    *out = e->ref;
    return true;
  }
  if (atomic_load(&greg_n) == 0)
    return false;
  pthread_mutex_lock(&greg_lock);
  e = *table_find(greg, name);
  if (e)
    *out = e->ref;
  pthread_mutex_unlock(&greg_lock);
  return e != NULL;
}

void grove__reg_free(grove__actor_sys *sys) {
  for (int i = 0; i < GROVE__REG_BUCKETS; i++) {
    while (sys->reg[i]) {
      grove__reg_entry *e = sys->reg[i];
      sys->reg[i] = e->next;
      free(e);
    }
  }
}

int grove_register(const char *name, grove_ref ref) {
  if (!name || !name[0])
    return GROVE_EINVAL;
  grove__actor_sys *sys = grove__actor_sys_get();
  if (!sys)
    return GROVE_ENOMEM;
  grove_actor *a = grove__actor_lookup(sys, ref);
  if (!a)
    return grove__ref_other_hub(sys, ref) ? GROVE_EINVAL : GROVE_ENOENT;
  grove_ref taken;
  if (reg_get(sys, name, &taken) || (a->_ext && a->_ext->name))
    return GROVE_EEXIST; /* the name is taken, or the actor has one */
  return grove__reg_add(sys, name, ref);
}

int grove_unregister(const char *name) {
  if (!name)
    return GROVE_EINVAL;
  grove__actor_sys *sys = grove__actor_sys_get();
  if (!sys)
    return GROVE_ENOMEM;
  grove_ref ref;
  if (!reg_get(sys, name, &ref))
    return GROVE_ENOENT;
  grove_actor *a = grove__actor_lookup(sys, ref);
  if (a && a->_ext) {
    free(a->_ext->name);
    a->_ext->name = NULL;
  }
  reg_remove(sys, name, ref);
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
  grove_ref ref;
  if (!reg_get(sys, name, &ref))
    return GROVE_ENOENT;
  /* An actor of this hub is checked; one of another hub is there until its
   * end removes the entry. */
  if (grove__ref_here(sys, ref) && !grove__actor_lookup(sys, ref))
    return GROVE_ENOENT;
  if (out)
    *out = ref;
  return 0;
}

int grove_whereis_wait(const char *name, grove_ref *out, double timeout) {
  if (out)
    *out = GROVE_REF_NULL;
  if (!name || !name[0] || isnan(timeout))
    return GROVE_EINVAL;
  grove__actor_sys *sys = grove__actor_sys_get();
  if (!sys)
    return GROVE_ENOMEM;
  if (grove_whereis(name, out) == 0)
    return 0;
  uint64_t deadline;
  int rc = grove__begin_wait(sys->hub, timeout, &deadline);
  if (rc)
    return rc;
  bool poll = grouped(sys);
  for (;;) {
    if (grove__now() >= deadline)
      return GROVE_ETIMEDOUT;
    uint64_t until = deadline;
    if (poll) {
      uint64_t slice = grove__deadline(sys->hub, NAME_POLL);
      if (slice < until)
        until = slice;
    }
    rc = grove__wait_until(sys->hub, &sys->name_waiters, until, "whereis_wait", name);
    if (rc && rc != GROVE_ETIMEDOUT)
      return rc;
    if (grove_whereis(name, out) == 0)
      return 0;
    if (rc == GROVE_ETIMEDOUT && until == deadline)
      return GROVE_ETIMEDOUT;
  }
}

int grove_call_name(const char *name, grove_msg *msg, grove_msg **reply, double timeout) {
  if (reply)
    *reply = NULL;
  if (!msg)
    return GROVE_EINVAL;
  grove__actor_sys *sys = grove__actor_sys_get();
  if (!sys) {
    grove_msg_free(msg);
    return GROVE_ENOMEM;
  }
  int rc = 0;
  if (!name || !name[0] || !reply || isnan(timeout))
    rc = GROVE_EINVAL;
  /* One deadline for both: the wait for the name and the call. */
  uint64_t deadline = rc ? 0 : grove__deadline(sys->hub, timeout);
  grove_ref ref;
  if (rc == 0 && (rc = grove_whereis_wait(name, &ref, timeout)) == GROVE_ETIMEDOUT)
    rc = GROVE_ENOENT; /* nobody had the name within the timeout */
  if (rc) {
    grove__dead_letter(sys, GROVE_REF_NULL, msg, rc);
    return rc;
  }
  return grove_call(ref, msg, reply, grove__seconds_left(deadline));
}
