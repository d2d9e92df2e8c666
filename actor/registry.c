/* actor/registry.c - names for actors (Erlang's register / whereis).
 *
 * Design notes: a hash table of names to refs, per hub, in the actor
 * system. An actor has at most one name and keeps a copy of it, so that its
 * end removes the entry without a search over the table. whereis checks that
 * the named actor still lives: a ref that went stale is never returned.
 */
#include "actor_internal.h"

#include <string.h>

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
  grove__reg_entry **pp = reg_find(sys, name);
  entry->next = *pp;
  *pp = entry;
  e->name = copy;
  return 0;
}

void grove__reg_remove(grove__actor_sys *sys, const char *name) {
  grove__reg_entry **pp = reg_find(sys, name);
  grove__reg_entry *e = *pp;
  if (e) {
    *pp = e->next;
    free(e);
  }
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
    return GROVE_ENOENT;
  if (*reg_find(sys, name) || (a->_ext && a->_ext->name))
    return GROVE_EEXIST; /* the name is taken, or the actor has one */
  return grove__reg_add(sys, name, ref);
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
  grove_actor *a = grove__actor_lookup(sys, e->ref);
  if (a && a->_ext) {
    free(a->_ext->name);
    a->_ext->name = NULL;
  }
  grove__reg_remove(sys, name);
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
  if (!e || !grove__actor_lookup(sys, e->ref))
    return GROVE_ENOENT;
  if (out)
    *out = e->ref;
  return 0;
}
