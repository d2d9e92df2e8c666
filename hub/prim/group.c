/* hub/prim/group.c - Group, Pool, map, imap and apply_async (gevent.pool).
 *
 * Design notes.
 *
 * A group is an intrusive list of member greenlets (through their
 * group_link) and an "empty" flag with waiters (gevent's _empty_event). A
 * member leaves when it ends: joining registers the member's embedded
 * group_waiter in its links, so leaving happens in the member's link
 * notification, in the same order relative to joiners as in gevent. A pool
 * adds a semaphore of `size`: a slot is acquired before the greenlet is even
 * scheduled and released when it leaves.
 *
 * Members that are not greenlets (actors: hub_api.h's grove__member) are
 * gevent's duck-typed members, anything with rawlink and kill: they sit on a
 * second list, count in n and take pool slots like greenlets, and leave from
 * a run-queue callback their layer schedules when they end, as a greenlet
 * leaves from its link notification. kill asks each to end (once: gevent's
 * `dying` set) and waits on `leavers` until they have left.
 *
 * map and imap mirror gevent: a helper greenlet (not a member) spawns the
 * tasks one by one into the group, blocking whenever a pool is full, so the
 * caller's "is the pool full" moments are the same as gevent's. Arguments are
 * copied to the heap first: the caller may be a greenlet on a shared stack.
 */
#include "internal.h"

#include <math.h>
#include <string.h>

struct grove_group {
  uint32_t magic;
  grove_hub *hub;
  grove__list members;
  grove__list foreign; /* grove__member: members that are not greenlets */
  grove__list leavers; /* greenlets in grove_group_kill waiting for a foreign member to leave */
  size_t n;            /* members of both kinds */
  size_t nforeign;
  int is_pool;
  size_t size;
  grove_semaphore *slots; /* pools only */
  int empty;              /* gevent's _empty_event flag */
  grove__linkable empty_ev;
};

static int grp_check(const grove_group *grp) {
  if (!grp || grp->magic != GROVE__MAGIC_GROUP)
    return GROVE_EINVAL;
  if (!grove__owned(grp->hub))
    return GROVE_EPERM;
  return 0;
}

static int empty_ready(const grove__linkable *l) {
  return grove__container_of(l, grove_group, empty_ev)->empty;
}
/* The group is freed with its "empty" linkable, possibly at the end of that
 * linkable's notify pass (grove_group_free called by a greenlet it woke). */
static void empty_destroy(grove__linkable *l) {
  free(grove__container_of(l, grove_group, empty_ev));
}

static grove_group *group_new(int is_pool, size_t size) {
  grove_hub *hub = grove__hub();
  if (!hub)
    return NULL;
  if (is_pool && size > (size_t)INT32_MAX)
    return NULL;
  grove_group *grp = calloc(1, sizeof *grp);
  if (!grp)
    return NULL;
  if (is_pool && !(grp->slots = grove_semaphore_new((int)size))) {
    free(grp);
    return NULL;
  }
  grp->magic = GROVE__MAGIC_GROUP;
  grp->hub = hub;
  grp->is_pool = is_pool;
  grp->size = size;
  grp->empty = 1;
  grove__list_init(&grp->members);
  grove__list_init(&grp->foreign);
  grove__list_init(&grp->leavers);
  grove__linkable_init(&grp->empty_ev, hub, GROVE__MAGIC_GROUP, 1, empty_ready, empty_destroy);
  return grp;
}

grove_group *grove_group_new(void) { return group_new(0, 0); }
grove_group *grove_pool_new(size_t size) { return group_new(1, size); }

/* ---- membership --------------------------------------------------------------- */

/* One member fewer: the empty event, a pool's slot (gevent's Pool._discard). */
static void one_left(grove_group *grp) {
  grp->n--;
  if (grp->n == 0) {
    grp->empty = 1;
    grove__linkable_check_notify(&grp->empty_ev);
  }
  if (grp->is_pool)
    grove_semaphore_release(grp->slots);
}

static void leave(grove_group *grp, grove_greenlet *g) {
  grove__list_remove(&g->group_link);
  g->group = NULL;
  one_left(grp);
  grove_greenlet_release(g);
}

/* ---- members that are not greenlets (grove__member, hub_api.h) ---------------- */

int grove__group_check(const grove_group *grp) { return grp_check(grp); }

int grove__group_reserve(grove_group *grp, double timeout) {
  int rc = grp_check(grp);
  if (rc)
    return rc;
  if (isnan(timeout))
    return GROVE_EINVAL;
  return grp->is_pool ? grove_semaphore_acquire(grp->slots, timeout) : 0;
}

void grove__group_unreserve(grove_group *grp) {
  if (grp_check(grp) == 0 && grp->is_pool)
    grove_semaphore_release(grp->slots);
}

static void member_leave(grove__member *m) {
  grove_group *grp = m->group;
  grove__list_remove(&m->link);
  m->group = NULL;
  grp->nforeign--;
  one_left(grp);
  grove__wake_all(&grp->leavers, 0);
  if (m->left)
    m->left(m);
}

static grove_greenlet *member_leave_cb(grove__cb *cb) {
  grove__member *m = grove__container_of(cb, grove__member, cb);
  if (m->group)
    member_leave(m);
  return NULL;
}

void grove__group_add_member(grove_group *grp, grove__member *m) {
  m->group = grp;
  m->dying = 0;
  grove__list_init(&m->cb.link);
  m->cb.fn = member_leave_cb;
  grove__list_push(&grp->foreign, &m->link);
  grp->nforeign++;
  grp->n++;
  grp->empty = 0;
}

void grove__member_ended(grove__member *m) {
  if (m->group && !grove__list_linked(&m->cb.link))
    grove__schedule(m->group->hub, &m->cb);
}

void grove__member_discard(grove__member *m) {
  if (!m->group)
    return;
  if (grove__list_linked(&m->cb.link))
    grove__unschedule(&m->cb);
  member_leave(m);
}

static grove_greenlet *member_ended(grove__waiter *w, void *source) {
  (void)source;
  grove_greenlet *g = grove__container_of(w, grove_greenlet, group_waiter);
  if (g->group)
    leave(g->group, g);
  return NULL;
}

/* Track g; the pool slot (if any) is already taken. */
static void join_group(grove_group *grp, grove_greenlet *g) {
  g->refs++;
  g->group = grp;
  grove__list_push(&grp->members, &g->group_link);
  grp->n++;
  grp->empty = 0;
  g->group_waiter.fn = member_ended;
  grove__list_init(&g->group_waiter.link);
  grove__rawlink(g, &g->group_waiter);
}

int grove_group_add(grove_group *grp, grove_greenlet *g, double timeout) {
  int rc = grp_check(grp);
  if (rc)
    return rc;
  if (!g || isnan(timeout))
    return GROVE_EINVAL;
  if (g->hub != grp->hub)
    return GROVE_EPERM;
  if (g->head.flags & (GROVE__F_MAIN | GROVE__F_HUB))
    return GROVE_EINVAL;
  if (g->group)
    return GROVE_EEXIST;
  if (grp->is_pool && (rc = grove_semaphore_acquire(grp->slots, timeout)) != 0)
    return rc;
  if (g->group) { /* added elsewhere while we waited for a slot */
    if (grp->is_pool)
      grove_semaphore_release(grp->slots);
    return GROVE_EEXIST;
  }
  join_group(grp, g);
  return 0;
}

int grove_group_discard(grove_group *grp, grove_greenlet *g) {
  int rc = grp_check(grp);
  if (rc)
    return rc;
  if (!g)
    return GROVE_EINVAL;
  if (g->group != grp)
    return GROVE_ENOENT;
  grove__unlink(g, &g->group_waiter);
  leave(grp, g);
  return 0;
}

bool grove_group_contains(const grove_group *grp, const grove_greenlet *g) {
  return grp_check(grp) == 0 && g && g->group == grp;
}

size_t grove_group_size(const grove_group *grp) { return grp_check(grp) == 0 ? grp->n : 0; }

/* Pool.spawn: the slot first (blocking while the pool is full), then the
 * greenlet. Returns 0 or why not: the wait's code, GROVE_ENOMEM. */
int grove_group_spawn_ex(grove_group *grp, grove_fn fn, void *arg, const grove_spawn_opts *opts,
                         grove_greenlet **out) {
  if (!out)
    return GROVE_EINVAL;
  *out = NULL;
  int rc = grp_check(grp);
  if (rc)
    return rc;
  if (!fn)
    return GROVE_EINVAL;
  if (grp->is_pool && (rc = grove_semaphore_acquire(grp->slots, GROVE_FOREVER)) != 0)
    return rc;
  grove_greenlet *g = grove_spawn_ex(fn, arg, opts);
  if (!g) {
    if (grp->is_pool)
      grove_semaphore_release(grp->slots);
    return GROVE_ENOMEM;
  }
  join_group(grp, g);
  *out = g;
  return 0;
}

grove_greenlet *grove_group_spawn(grove_group *grp, grove_fn fn, void *arg) {
  grove_greenlet *g;
  return grove_group_spawn_ex(grp, fn, arg, NULL, &g) == 0 ? g : NULL;
}

int grove_group_join(grove_group *grp, double timeout) {
  int rc = grp_check(grp);
  if (rc)
    return rc;
  if (isnan(timeout))
    return GROVE_EINVAL;
  return grove__linkable_wait(&grp->empty_ev, timeout, "group join");
}

int grove_group_kill(grove_group *grp, double timeout) {
  int rc = grp_check(grp);
  if (rc)
    return rc;
  if (isnan(timeout))
    return GROVE_EINVAL;
  uint64_t deadline = grove__deadline(grp->hub, timeout);
  while (grp->n > 0) {
    /* Members that are not greenlets: asked to end once each (kill never
     * blocks; what it ends leaves on a later turn), then waited for. */
    for (grove__list *l = grp->foreign.next, *next; l != &grp->foreign; l = next) {
      next = l->next;
      grove__member *m = grove__container_of(l, grove__member, link);
      if (!m->dying) {
        m->dying = 1;
        m->kill(m);
      }
    }
    if (grp->n == grp->nforeign) {
      rc = grove__wait_until(grp->hub, &grp->leavers, deadline, "group kill", grp);
      if (rc)
        return rc;
      continue;
    }
    size_t n = grp->n - grp->nforeign, i = 0;
    grove_greenlet **gs = malloc(n * sizeof *gs);
    if (!gs)
      return GROVE_ENOMEM;
    for (grove__list *l = grp->members.next; l != &grp->members; l = l->next)
      gs[i++] = grove_greenlet_ref(grove__container_of(l, grove_greenlet, group_link));
    rc = grove_killall(gs, n, grove__seconds_left(deadline));
    for (i = 0; i < n; i++)
      grove_greenlet_release(gs[i]);
    free(gs);
    if (rc)
      return rc;
    /* Members have ended; let their links (which remove them) run. */
    if (grp->n > 0 && (rc = grove_sleep(0)) != 0)
      return rc;
  }
  return 0;
}

size_t grove_pool_free_count(const grove_group *grp) {
  if (grp_check(grp) != 0)
    return 0;
  if (!grp->is_pool)
    return 1;
  return grp->size > grp->n ? grp->size - grp->n : 0;
}

bool grove_pool_full(const grove_group *grp) {
  return grp_check(grp) == 0 && grp->is_pool && grove_pool_free_count(grp) == 0;
}

int grove_pool_wait_available(grove_group *grp, double timeout) {
  int rc = grp_check(grp);
  if (rc)
    return rc;
  if (!grp->is_pool)
    return 0;
  return grove_semaphore_wait(grp->slots, timeout);
}

int grove_group_free(grove_group *grp) {
  int rc = grp_check(grp);
  if (rc)
    return rc;
  if (grp->n > 0)
    return GROVE_EBUSY;
  if (grp->is_pool && grove__linkable_has_waiters((grove__linkable *)grp->slots))
    return GROVE_EBUSY;
  if (grove__linkable_has_waiters(&grp->empty_ev) || !grove__list_empty(&grp->leavers))
    return GROVE_EBUSY;
  if (grp->slots)
    grove_semaphore_free(grp->slots);
  grp->magic = 0;
  return grove__linkable_release(&grp->empty_ev); /* frees grp, now or after its pass */
}

/* ---- map ------------------------------------------------------------------------ */

/* ---- imap ------------------------------------------------------------------------ */

typedef struct imap_rec {
  grove__waiter w;
  grove_imap *it;
  grove_greenlet *g;
  size_t index;
  void *value;
  int error;
  int arrived; /* ordered mode: taken off the queue, waiting for its turn */
} imap_rec;

struct grove_imap {
  uint32_t magic;
  grove_hub *hub;
  grove_group *grp;
  grove_fn fn;
  void **args;
  size_t n;
  int ordered;
  grove_queue *q;
  imap_rec *recs;
  imap_rec finish; /* the end marker; index = number of tasks spawned */
  size_t outstanding;
  size_t spawned;
  size_t next_index;
  int finished;
  int eof;
  int runner_error;
  int freed;
  int readers;
  grove_greenlet *runner;
  grove_semaphore *result_sem; /* maxsize: gevent's _result_semaphore, NULL without */
  int runner_done;             /* _run has ended: next() no longer releases it */
};

static void imap_destroy(grove_imap *it) {
  grove_queue_free(it->q);
  if (it->result_sem)
    grove_semaphore_free(it->result_sem);
  grove_greenlet_release(it->runner);
  free(it->args);
  free(it->recs);
  free(it);
}

static void imap_maybe_destroy(grove_imap *it) {
  if (it->freed && it->outstanding == 0 && it->runner_done && it->readers == 0)
    imap_destroy(it);
}

/* IMapUnordered._on_result, run from the task's link notification. */
static grove_greenlet *imap_on_result(grove__waiter *w, void *source) {
  imap_rec *r = grove__container_of(w, imap_rec, w);
  grove_imap *it = r->it;
  grove_greenlet *g = source;
  it->outstanding--;
  int put_finished = 0;
  if (it->runner_done && it->outstanding == 0 && !it->finished) {
    it->finished = 1;
    put_finished = 1;
  }
  if (grove_successful(g))
    r->value = g->value;
  else
    r->error = g->error ? g->error : GROVE_EFAILED;
  r->g = NULL;
  grove_greenlet_release(g);
  grove_queue_put(it->q, r, GROVE_FOREVER);
  if (put_finished)
    grove_queue_put(it->q, &it->finish, GROVE_FOREVER);
  imap_maybe_destroy(it);
  return NULL;
}

static void *imap_run(void *p) {
  grove_imap *it = p;
  for (size_t i = 0; i < it->n; i++) {
    imap_rec *r = &it->recs[i];
    /* _ispawn: with a maxsize, wait until a result has been taken. Once the
     * iterator is freed nobody can take one: gevent's IMap would wait for
     * ever, which nobody can tell from stopping here. */
    if (it->result_sem && it->freed && grove_semaphore_counter(it->result_sem) == 0)
      break;
    if (it->result_sem &&
        (it->runner_error = grove_semaphore_acquire(it->result_sem, GROVE_FOREVER)) != 0)
      break;
    it->outstanding++;
    grove_greenlet *g;
    int rc = grove_group_spawn_ex(it->grp, it->fn, it->args[i], NULL, &g);
    if (rc) {
      it->outstanding--;
      it->runner_error = rc;
      break;
    }
    it->spawned++;
    r->g = g;
    grove__rawlink(g, &r->w);
  }
  /* _on_finish */
  it->finish.index = it->spawned;
  it->finish.error = it->runner_error;
  if (!it->finished && (it->runner_error || it->outstanding == 0)) {
    it->finished = 1;
    grove_queue_put(it->q, &it->finish, GROVE_FOREVER);
  }
  it->runner_done = 1;
  imap_maybe_destroy(it); /* freed while it ran: the last one out frees it */
  return NULL;
}

static grove_imap *imap_new(grove_group *grp, grove_fn fn, void **args, size_t n, int ordered,
                            size_t maxsize) {
  if (grp_check(grp) != 0 || !fn || (n && !args))
    return NULL;
  grove_imap *it = calloc(1, sizeof *it);
  if (!it)
    return NULL;
  it->magic = GROVE__MAGIC_IMAP;
  it->hub = grp->hub;
  it->grp = grp;
  it->fn = fn;
  it->n = n;
  it->ordered = ordered;
  it->args = malloc((n ? n : 1) * sizeof *args);
  it->recs = calloc(n ? n : 1, sizeof *it->recs);
  it->q = grove_queue_new(0);
  if (!it->args || !it->recs || !it->q)
    goto fail;
  if (maxsize && (maxsize > INT32_MAX || !(it->result_sem = grove_semaphore_new((int)maxsize))))
    goto fail;
  if (n)
    memcpy(it->args, args, n * sizeof *args);
  for (size_t i = 0; i < n; i++) {
    it->recs[i].it = it;
    it->recs[i].index = i;
    it->recs[i].w.fn = imap_on_result;
    grove__list_init(&it->recs[i].w.link);
  }
  it->finish.it = it;
  it->runner = grove_spawn(imap_run, it);
  if (!it->runner)
    goto fail;
  return it;
fail:
  if (it->q)
    grove_queue_free(it->q);
  if (it->result_sem)
    grove_semaphore_free(it->result_sem);
  free(it->args);
  free(it->recs);
  free(it);
  return NULL;
}

grove_imap *grove_group_imap(grove_group *grp, grove_fn fn, void **args, size_t n) {
  return imap_new(grp, fn, args, n, 1, 0);
}

grove_imap *grove_group_imap_unordered(grove_group *grp, grove_fn fn, void **args, size_t n) {
  return imap_new(grp, fn, args, n, 0, 0);
}

grove_imap *grove_group_imap_ex(grove_group *grp, grove_fn fn, void **args, size_t n,
                                const grove_imap_opts *opts) {
  return imap_new(grp, fn, args, n, !(opts && opts->unordered), opts ? opts->maxsize : 0);
}

static int imap_yield(grove_imap *it, imap_rec *r, void **result, size_t *index) {
  if (r == &it->finish) {
    it->eof = 1;
    return it->finish.error ? it->finish.error : GROVE_EOF;
  }
  if (index)
    *index = r->index;
  if (r->error)
    return r->error;
  if (result)
    *result = r->value;
  return 0;
}

int grove_imap_next(grove_imap *it, void **result, size_t *index, double timeout) {
  if (result)
    *result = NULL;
  if (!it || it->magic != GROVE__MAGIC_IMAP || it->freed)
    return GROVE_EINVAL;
  if (!grove__owned(it->hub))
    return GROVE_EPERM;
  if (isnan(timeout))
    return GROVE_EINVAL;
  if (it->eof)
    return GROVE_EOF;
  /* __next__: release the result semaphore (while _run runs), then read */
  if (it->result_sem && !it->runner_done)
    grove_semaphore_release(it->result_sem);
  uint64_t deadline = 0; /* set when the first get has to wait */
  int timed = 0;
  for (;;) {
    if (it->ordered && it->next_index < it->n && it->recs[it->next_index].arrived) {
      imap_rec *r = &it->recs[it->next_index++];
      return imap_yield(it, r, result, index);
    }
    if (it->ordered && it->finished && it->next_index == it->finish.index && it->finish.arrived)
      return imap_yield(it, &it->finish, result, index);
    void *item;
    if (!timed && grove_queue_qsize(it->q) == 0) {
      deadline = grove__timeout_deadline(it->hub, timeout);
      timed = 1;
    }
    it->readers++;
    int rc = grove__queue_get_until(it->q, &item, timed ? deadline : UINT64_MAX);
    it->readers--;
    if (rc == GROVE_EEMPTY)
      rc = GROVE_ETIMEDOUT;
    if (rc)
      return rc;
    imap_rec *r = item;
    if (!it->ordered)
      return imap_yield(it, r, result, index);
    r->arrived = 1;
  }
}

int grove_imap_free(grove_imap *it) {
  if (!it || it->magic != GROVE__MAGIC_IMAP || it->freed)
    return GROVE_EINVAL;
  if (!grove__owned(it->hub))
    return GROVE_EPERM;
  if (it->readers)
    return GROVE_EBUSY;
  it->freed = 1;
  it->magic = 0;
  /* A runner waiting for a result to be taken would wait for ever (as
   * gevent's dropped IMap greenlet does): end it, nobody can tell. */
  if (it->result_sem && !it->runner_done && grove__waiting(it->runner) &&
      it->runner->wait_obj == it->result_sem)
    grove_kill_nowait(it->runner);
  imap_maybe_destroy(it);
  return 0;
}

/* ---- map -------------------------------------------------------------------------- */

/* gevent 22.10's Group.map: `g = Greenlet.spawn(self.__map, func,
 * iterable); return g.get()`, where __map is `[g.get() for g in
 * [self.spawn(func, i) for i in iterable]]`: a helper greenlet (not a
 * member) spawns every task first - blocking while a pool is full - and
 * then gets their results in index order; the first one found failed ends
 * the helper with its error, which the caller's get returns, while the
 * other tasks run on. If the caller is killed or times out, the helper
 * goes on. The job is shared by the caller and the helper, freed by the
 * last one to leave it. */
typedef struct map_job {
  grove_group *grp;
  grove_fn fn;
  void **args;
  size_t n;
  void **results;
  size_t ngot; /* results read in index order */
  int refs;
} map_job;

static void map_unref(map_job *m) {
  if (--m->refs == 0) {
    free(m->args);
    free(m->results);
    free(m);
  }
}

static void *map_helper(void *p) {
  map_job *m = p;
  size_t spawned = 0;
  int rc = 0;
  grove_greenlet **gs = malloc((m->n ? m->n : 1) * sizeof *gs);
  if (!gs)
    rc = GROVE_ENOMEM;
  for (size_t i = 0; rc == 0 && i < m->n; i++)
    if ((rc = grove_group_spawn_ex(m->grp, m->fn, m->args[i], NULL, &gs[i])) == 0)
      spawned++;
  for (size_t i = 0; rc == 0 && i < m->n; i++)
    if ((rc = grove_get(gs[i], &m->results[i], GROVE_FOREVER)) == 0)
      m->ngot++;
  for (size_t i = 0; i < spawned; i++)
    grove_greenlet_release(gs[i]);
  free(gs);
  map_unref(m);
  if (rc)
    grove_exit(rc);
  return NULL;
}

int grove_group_map(grove_group *grp, grove_fn fn, void **args, size_t n, void **results) {
  int rc = grp_check(grp);
  if (rc)
    return rc;
  if (!fn || (n && (!args || !results)))
    return GROVE_EINVAL;
  map_job *m = calloc(1, sizeof *m);
  if (!m)
    return GROVE_ENOMEM;
  m->grp = grp;
  m->fn = fn;
  m->n = n;
  m->args = malloc((n ? n : 1) * sizeof *args);
  m->results = calloc(n ? n : 1, sizeof *results);
  m->refs = 2;
  if (!m->args || !m->results) {
    free(m->args);
    free(m->results);
    free(m);
    return GROVE_ENOMEM;
  }
  if (n)
    memcpy(m->args, args, n * sizeof *args);
  grove_greenlet *helper = grove_spawn(map_helper, m);
  if (!helper) {
    m->refs = 1;
    map_unref(m);
    return GROVE_ENOMEM;
  }
  rc = grove_get(helper, NULL, GROVE_FOREVER);
  if (grove_ready(helper) && m->ngot)
    memcpy(results, m->results, m->ngot * sizeof *results);
  grove_greenlet_release(helper);
  map_unref(m);
  return rc;
}

/* ---- apply ------------------------------------------------------------------------ */

typedef struct apply_ctx {
  grove__waiter w;
  grove_group *grp;
  grove_fn fn;
  void *arg;
  void (*callback)(void *result, void *cb_arg);
  void *cb_arg;
  void *result;
} apply_ctx;

static void *callback_run(void *p) {
  apply_ctx *a = p;
  a->callback(a->result, a->cb_arg);
  free(a);
  return NULL;
}

/* Greenlet.spawn(callback, result): scheduled like any spawn. */
static void spawn_callback(apply_ctx *a, void *result) {
  a->result = result;
  grove_greenlet *cb = grove_spawn(callback_run, a);
  if (cb) {
    grove_greenlet_release(cb);
  } else {
    a->callback(result, a->cb_arg);
    free(a);
  }
}

/* gevent's link(pass_value(callback)): a SpawnedLink, so the callback runs
 * at once in a greenlet of its own, and only on success. */
static grove_greenlet *apply_link(grove__waiter *w, void *source) {
  apply_ctx *a = grove__container_of(w, apply_ctx, w);
  grove_greenlet *g = source;
  if (!grove_successful(g)) {
    free(a);
    return NULL;
  }
  a->result = g->value;
  grove_greenlet *cb = grove__spawn_now(callback_run, a);
  if (cb)
    cb->head.flags |= GROVE__F_RAW; /* a SpawnedLink: a raw greenlet */
  if (!cb) {
    a->callback(a->result, a->cb_arg);
    free(a);
  }
  return cb;
}

static int in_group(grove_group *grp) {
  grove_greenlet *cur = grp->hub->head.current;
  return cur->group == grp;
}

int grove_group_apply(grove_group *grp, grove_fn fn, void *arg, void **value) {
  if (value)
    *value = NULL;
  int rc = grp_check(grp);
  if (rc)
    return rc;
  if (!fn)
    return GROVE_EINVAL;
  if (in_group(grp)) {
    /* _apply_immediately: run inline. A kill during the call makes it fail
     * as gevent's GreenletExit propagates out of apply (fn can only return:
     * its return value is dropped). */
    void *v = fn(arg);
    if (grove__cancelled(grp->hub->head.current))
      return GROVE_ECANCELED;
    if (value)
      *value = v;
    return 0;
  }
  grove_greenlet *g;
  if ((rc = grove_group_spawn_ex(grp, fn, arg, NULL, &g)) != 0)
    return rc;
  rc = grove_get(g, value, GROVE_FOREVER);
  grove_greenlet_release(g);
  return rc;
}

/* Greenlet.spawn(self.apply_cb, ...) when the pool is full. */
static void *apply_cb_run(void *p) {
  apply_ctx *a = p;
  void *v = NULL;
  int rc = grove_group_apply(a->grp, a->fn, a->arg, &v);
  if (rc) {
    free(a);
    grove_exit(rc);
  }
  if (a->callback)
    spawn_callback(a, v);
  else
    free(a);
  return v;
}

grove_greenlet *grove_group_apply_async(grove_group *grp, grove_fn fn, void *arg,
                                        void (*callback)(void *result, void *cb_arg),
                                        void *cb_arg) {
  if (grp_check(grp) != 0 || !fn)
    return NULL;
  apply_ctx *a = calloc(1, sizeof *a);
  if (!a)
    return NULL;
  a->grp = grp;
  a->fn = fn;
  a->arg = arg;
  a->callback = callback;
  a->cb_arg = cb_arg;
  if (grove_pool_full(grp)) {
    grove_greenlet *g = grove_spawn(apply_cb_run, a);
    if (!g)
      free(a);
    return g;
  }
  grove_greenlet *g = grove_group_spawn(grp, fn, arg);
  if (!g) {
    free(a);
    return NULL;
  }
  if (callback) {
    a->w.fn = apply_link;
    grove__list_init(&a->w.link);
    grove__rawlink(g, &a->w);
  } else {
    free(a);
  }
  return g;
}
