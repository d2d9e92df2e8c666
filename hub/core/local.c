/* hub/core/local.c - greenlet-local storage.
 *
 * Design notes: a greenlet keeps a short list of (key, value) entries,
 * allocated when it first sets a value; lookups walk that list (programs use
 * a handful of keys). When a greenlet ends its entries are destroyed, calling
 * each key's destructor on its non-NULL value. Freeing a key walks the live
 * greenlets of its hub and destroys their entries for it.
 *
 * gevent.local registers a cleanup with greenlet.rawlink() the first time
 * a greenlet touches a local (any access, a failed lookup included), and
 * that is observable: a greenlet with a link schedules its notification
 * when it dies, so a link added after its death, while that notification
 * is pending, runs in it - earlier than for a greenlet that has none. So a
 * first touch adds the greenlet's own no-op link (local_link), as gevent's
 * does; not for main or a link callback's greenlet, which gevent runs in
 * raw greenlets that have no links.
 */
#include "internal.h"

struct grove__local_entry {
  grove__local_entry *next;
  grove_local *key;
  void *value;
};

struct grove_local {
  uint32_t magic;
  grove_hub *hub;
  void (*destructor)(void *value);
};

static int local_check(const grove_local *k) {
  if (!k || k->magic != GROVE__MAGIC_LOCAL)
    return GROVE_EINVAL;
  if (!grove__owned(k->hub))
    return GROVE_EPERM;
  return 0;
}

grove_local *grove_local_new(void (*destructor)(void *value)) {
  grove_hub *hub = grove__hub();
  if (!hub)
    return NULL;
  grove_local *k = malloc(sizeof *k);
  if (!k)
    return NULL;
  k->magic = GROVE__MAGIC_LOCAL;
  k->hub = hub;
  k->destructor = destructor;
  grove__obj_add(hub, GROVE__OBJ_LOCAL);
  return k;
}

static grove_greenlet *local_link_fired(grove__waiter *w, void *source) {
  (void)w;
  (void)source;
  return NULL;
}

/* The first local a greenlet touches links it (see above). */
static inline void touch(grove_greenlet *g) {
  if (GROVE__UNLIKELY(!grove__list_linked(&g->local_link.link)) &&
      !(g->head.flags & (GROVE__F_MAIN | GROVE__F_HUB | GROVE__F_RAW)) && g->state != GROVE__DEAD &&
      !g->local_linked) {
    g->local_linked = 1;
    g->local_link.fn = local_link_fired;
    grove__list_init(&g->local_link.link);
    grove__rawlink(g, &g->local_link);
  }
}

static grove__local_entry **find(grove_greenlet *g, grove_local *k) {
  grove__local_entry **pp = &g->locals;
  while (*pp && (*pp)->key != k)
    pp = &(*pp)->next;
  return pp;
}

int grove_local_set(grove_local *k, void *value) {
  int rc = local_check(k);
  if (rc)
    return rc;
  grove_greenlet *g = k->hub->head.current;
  touch(g);
  grove__local_entry **pp = find(g, k);
  if (*pp) {
    (*pp)->value = value;
    return 0;
  }
  grove__local_entry *e = malloc(sizeof *e);
  if (!e)
    return GROVE_ENOMEM;
  e->key = k;
  e->value = value;
  e->next = g->locals;
  g->locals = e;
  return 0;
}

int grove_local_lookup(grove_local *k, void **value) {
  if (value)
    *value = NULL;
  int rc = local_check(k);
  if (rc)
    return rc;
  touch(k->hub->head.current);
  grove__local_entry *e = *find(k->hub->head.current, k);
  if (!e)
    return GROVE_ENOENT;
  if (value)
    *value = e->value;
  return 0;
}

void *grove_local_get(grove_local *k) {
  void *v = NULL;
  grove_local_lookup(k, &v);
  return v;
}

static void destroy_entry(grove__local_entry *e) {
  if (e->key->destructor && e->value)
    e->key->destructor(e->value);
  free(e);
}

int grove_local_delete(grove_local *k) {
  int rc = local_check(k);
  if (rc)
    return rc;
  touch(k->hub->head.current);
  grove__local_entry **pp = find(k->hub->head.current, k);
  grove__local_entry *e = *pp;
  if (!e)
    return GROVE_ENOENT;
  *pp = e->next;
  destroy_entry(e);
  return 0;
}

static void drop_key(grove_greenlet *g, grove_local *k) {
  grove__local_entry **pp = find(g, k);
  grove__local_entry *e = *pp;
  if (e) {
    *pp = e->next;
    destroy_entry(e);
  }
}

int grove_local_free(grove_local *k) {
  int rc = local_check(k);
  if (rc)
    return rc;
  grove_hub *hub = k->hub;
  drop_key(&hub->main, k);
  for (grove__list *n = hub->greenlets.next; n != &hub->greenlets; n = n->next)
    drop_key(grove__container_of(n, grove_greenlet, all), k);
  k->magic = 0;
  grove__obj_remove(hub, GROVE__OBJ_LOCAL);
  free(k);
  return 0;
}

void grove__locals_destroy(grove_greenlet *g) {
  while (g->locals) {
    grove__local_entry *e = g->locals;
    g->locals = e->next;
    destroy_entry(e);
  }
}
