/* hub/prim/event.c - Event and AsyncResult, on the linkable core they share with
 * the semaphores.
 *
 * Design notes (gevent's _abstract_linkable.py, step by step):
 *   - waiters register in `links` in the order they wait;
 *   - when the object becomes ready (set, set_error, release) and someone
 *     waits, ONE notify callback is scheduled (never more while it is
 *     pending); setters do not switch;
 *   - the notify pass takes the waiters registered before it started and
 *     resumes them one by one, each running until it blocks again; for
 *     semaphores (notify_all = 0) it stops as soon as the object is no longer
 *     ready, because each woken acquirer takes a count;
 *   - a greenlet that calls wait() on an object that is ready while a pass is
 *     pending does not return at once: it queues in `arrived` and is woken by
 *     that pass after the earlier waiters (gevent 20.5.1, issue 1520), so a
 *     late-comer cannot overtake the greenlets that had to block;
 *   - the pass has two phases, as gevent's _notify_links: the waiters that
 *     were registered when it started, then those that had arrived by the
 *     time the first phase ended; a greenlet that arrives during the second
 *     phase (woken, it waits again at once) waits for the next pass, which
 *     is scheduled at the back of the run queue;
 *   - waiters the pass did not reach keep their place for the next pass.
 *
 * AsyncResult keeps a value and an error apart, as gevent's _value and
 * _exc_info: set_error does not clear a value (a value, once set, wins:
 * get returns it and successful() stays true), set does not clear an error
 * (which grove_async_result_error still reports). get on a ready result
 * returns at once; only wait queues behind a pending pass.
 *
 * An owned AsyncResult (grove__async_result_new_owned, hub_api.h) is one a
 * layer above settles for the user - a call's future (actor/future.c). It
 * differs in two ways only: freeing it tells the owner first (which forgets
 * it and frees the value it handed over), and it may carry a deadline - a
 * timer of the timeout priority, as every `timeout=` of gevent - that fails
 * it with GROVE_ETIMEDOUT unless it was set before. Setting it, or freeing
 * it, disarms the timer.
 */
#include "internal.h"

#include <math.h>

static grove_greenlet *notify_cb(grove__cb *cb);

void grove__linkable_init(grove__linkable *l, grove_hub *hub, uint32_t magic, int notify_all,
                          int (*ready)(const grove__linkable *),
                          void (*destroy)(grove__linkable *)) {
  l->hub = hub;
  l->magic = magic;
  l->notify_all = (uint8_t)notify_all;
  l->notify_pending = l->notifying = l->free_pending = l->phase = 0;
  grove__list_init(&l->links);
  grove__list_init(&l->arrived);
  grove__list_init(&l->batch);
  grove__list_init(&l->notify.link);
  l->notify.fn = notify_cb;
  l->ready = ready;
  l->destroy = destroy;
  l->uncounted = 0;
  l->kind = magic == GROVE__MAGIC_EVENT                                ? GROVE__OBJ_EVENT
            : magic == GROVE__MAGIC_RESULT                             ? GROVE__OBJ_RESULT
            : magic == GROVE__MAGIC_SEM || magic == GROVE__MAGIC_RLOCK ? GROVE__OBJ_SEM
            : magic == GROVE__MAGIC_QUEUE                              ? GROVE__OBJ_QUEUE
            : magic == GROVE__MAGIC_GROUP                              ? GROVE__OBJ_GROUP
                                                                       : GROVE__OBJ_OTHER;
  grove__obj_add(hub, l->kind);
}

void grove__linkable_check_notify(grove__linkable *l) {
  if (!l->notify_pending && !grove__list_empty(&l->links) && l->ready(l)) {
    l->notify_pending = 1;
    grove__schedule(l->hub, &l->notify);
  }
}

static int keep_going(grove__linkable *l) { return l->notify_all || l->ready(l); }

/* One notify pass, resumable (see grove__cb): each call resumes at most one
 * greenlet, after putting the pass back at the front of the run queue. */
static grove_greenlet *notify_cb(grove__cb *cb) {
  grove__linkable *l = grove__container_of(cb, grove__linkable, notify);
  grove__list *n;
  if (!l->notifying) {
    l->notifying = 1;
    l->phase = 1;
    grove__list_splice_tail(&l->batch, &l->links);
  }
  for (;;) {
    if (!keep_going(l))
      break;
    if ((n = grove__list_pop(&l->batch)) == NULL) {
      if (l->phase == 2)
        break;
      /* phase 2: the greenlets that arrived so far */
      l->phase = 2;
      grove__list_splice_tail(&l->batch, &l->arrived);
      continue;
    }
    grove_greenlet *t = grove__waiter_fire(grove__container_of(n, grove__waiter, link), l);
    if (t) {
      grove__schedule_next(l->hub, &l->notify);
      return t;
    }
  }
  /* Those not reached keep their turn: the links first (those of the pass
   * before those registered during it), then the arrived ones. */
  if (l->phase == 2)
    grove__list_splice_front(&l->arrived, &l->batch);
  else
    grove__list_splice_front(&l->links, &l->batch);
  grove__list_splice_tail(&l->links, &l->arrived);
  l->phase = 0;
  l->notifying = 0;
  l->notify_pending = 0;
  if (l->free_pending) {
    l->destroy(l);
    return NULL;
  }
  grove__linkable_check_notify(l);
  return NULL;
}

int grove__linkable_wait(grove__linkable *l, double timeout, const char *what) {
  grove_hub *hub = l->hub;
  if (l->ready(l)) {
    if (l->notify_pending) {
      /* Ready, but earlier waiters have not been woken yet: queue behind
       * them (no timeout, as in gevent: the pass is already scheduled). */
      int rc = grove__wait(hub, &l->arrived, GROVE_FOREVER, what, l);
      if (rc == GROVE_EPERM)
        return 0; /* the hub itself: nothing to wait for */
      return rc;
    }
    return 0;
  }
  if (grove__poll_only(hub, timeout))
    return GROVE_ETIMEDOUT;
  return grove__wait_until(hub, &l->links, grove__timeout_deadline(hub, timeout), what, l);
}

/* gevent's rawlink: a callback waiter, notified by the next pass (one is
 * scheduled if the object is ready). */
void grove__linkable_link(grove__linkable *l, grove__waiter *w) {
  grove__list_push(&l->links, &w->link);
  grove__linkable_check_notify(l);
}

/* gevent's unlink: and a pending pass left with nobody to notify is
 * cancelled (AbstractLinkable.unlink stops its notifier), so that a later
 * wait on the ready object does not queue behind it. */
void grove__linkable_unlink(grove__linkable *l, grove__waiter *w) {
  if (grove__list_linked(&w->link))
    grove__list_remove(&w->link);
  if (l->notify_pending && !l->notifying && !grove__linkable_has_waiters(l)) {
    grove__unschedule(&l->notify);
    l->notify_pending = 0;
  }
}

int grove__linkable_has_waiters(const grove__linkable *l) {
  return !grove__list_empty(&l->links) || !grove__list_empty(&l->arrived) ||
         !grove__list_empty(&l->batch);
}

int grove__linkable_release(grove__linkable *l) {
  if (grove__linkable_has_waiters(l))
    return GROVE_EBUSY;
  l->magic = 0;
  if (!l->uncounted)
    grove__obj_remove(l->hub, l->kind);
  if (l->notifying) {
    l->free_pending = 1; /* freed when its own pass ends */
    return 0;
  }
  if (l->notify_pending)
    grove__unschedule(&l->notify);
  l->destroy(l);
  return 0;
}

static void destroy_free(grove__linkable *l) { free(l); }

/* ---- Event -------------------------------------------------------------------- */

struct grove_event {
  grove__linkable l; /* first: the destroy callback frees it */
  int flag;
};

static int event_ready(const grove__linkable *l) { return ((const grove_event *)l)->flag; }

static int event_check(const grove_event *e) {
  if (!e || e->l.magic != GROVE__MAGIC_EVENT)
    return GROVE_EINVAL;
  if (!grove__owned(e->l.hub))
    return GROVE_EPERM;
  return 0;
}

grove_event *grove_event_new(void) {
  grove_hub *hub = grove__hub();
  if (!hub)
    return NULL;
  grove_event *e = malloc(sizeof *e);
  if (!e)
    return NULL;
  grove__linkable_init(&e->l, hub, GROVE__MAGIC_EVENT, 1, event_ready, destroy_free);
  e->flag = 0;
  return e;
}

void grove_event_set(grove_event *e) {
  int rc = event_check(e);
  if (rc) {
    grove__misuse("grove_event_set", rc);
    return;
  }
  e->flag = 1;
  grove__linkable_check_notify(&e->l);
}

void grove_event_clear(grove_event *e) {
  int rc = event_check(e);
  if (rc) {
    grove__misuse("grove_event_clear", rc);
    return;
  }
  e->flag = 0;
}

bool grove_event_is_set(const grove_event *e) { return event_check(e) == 0 && e->flag; }

int grove_event_wait(grove_event *e, double timeout) {
  int rc = event_check(e);
  if (rc)
    return rc;
  if (isnan(timeout))
    return GROVE_EINVAL;
  return grove__linkable_wait(&e->l, timeout, "event");
}

grove__linkable *grove__event_linkable(grove_event *e) {
  return event_check(e) == 0 ? &e->l : NULL;
}

int grove_event_free(grove_event *e) {
  int rc = event_check(e);
  return rc ? rc : grove__linkable_release(&e->l);
}

/* ---- AsyncResult ----------------------------------------------------------------- */

struct grove_async_result {
  grove__linkable l;
  void *value;
  int has_value; /* gevent's _value is not _NONE */
  int error;     /* gevent's _exc_info: 0 = none */
  /* owned results only (see the design notes) */
  const grove__result_owner *owner_ops;
  void *owner;
  grove__timer timer; /* the deadline, armed while slot != 0 */
};

static void result_disarm(grove_async_result *r) {
  if (GROVE__UNLIKELY(r->timer.slot != 0))
    grove__timer_cancel(r->l.hub, &r->timer);
}

static int result_ready(const grove__linkable *l) {
  const grove_async_result *r = (const grove_async_result *)l;
  return r->has_value || r->error != 0;
}

static int result_check(const grove_async_result *r) {
  if (!r || r->l.magic != GROVE__MAGIC_RESULT)
    return GROVE_EINVAL;
  if (!grove__owned(r->l.hub))
    return GROVE_EPERM;
  return 0;
}

grove_async_result *grove_async_result_new(void) {
  grove_hub *hub = grove__hub();
  if (!hub)
    return NULL;
  grove_async_result *r = malloc(sizeof *r);
  if (!r)
    return NULL;
  grove__linkable_init(&r->l, hub, GROVE__MAGIC_RESULT, 1, result_ready, destroy_free);
  r->value = NULL;
  r->has_value = 0;
  r->error = 0;
  r->owner_ops = NULL;
  r->owner = NULL;
  r->timer.slot = 0;
  r->timer.fn = NULL;
  return r;
}

grove_async_result *grove__async_result_new_owned(const grove__result_owner *ops, void *owner) {
  grove_async_result *r = grove_async_result_new();
  if (r) {
    r->owner_ops = ops;
    r->owner = owner;
  }
  return r;
}

void *grove__async_result_owner(const grove_async_result *r, const grove__result_owner *ops) {
  return result_check(r) == 0 && r->owner_ops == ops ? r->owner : NULL;
}

/* The deadline passed first: the wait that nobody is blocked in times out. */
static grove_greenlet *result_expired(grove__timer *t) {
  grove_async_result *r = grove__container_of(t, grove_async_result, timer);
  if (!result_ready(&r->l)) {
    r->error = GROVE_ETIMEDOUT;
    grove__linkable_check_notify(&r->l);
  }
  return NULL;
}

int grove__async_result_deadline(grove_async_result *r, uint64_t deadline) {
  int rc = result_check(r);
  if (rc)
    return rc;
  if (deadline == UINT64_MAX || result_ready(&r->l)) {
    result_disarm(r);
    return 0;
  }
  r->timer.fn = result_expired;
  return grove__timer_arm(r->l.hub, &r->timer, deadline, GROVE__TIMER_TIMEOUT);
}

void grove_async_result_set(grove_async_result *r, void *value) {
  int rc = result_check(r);
  if (rc) {
    grove__misuse("grove_async_result_set", rc);
    return;
  }
  r->value = value;
  r->has_value = 1;
  result_disarm(r);
  grove__linkable_check_notify(&r->l);
}

void grove_async_result_set_error(grove_async_result *r, int error) {
  int rc = result_check(r);
  if (rc) {
    grove__misuse("grove_async_result_set_error", rc);
    return;
  }
  r->error = error ? error : GROVE_EFAILED;
  result_disarm(r);
  grove__linkable_check_notify(&r->l);
}

int grove_async_result_wait(grove_async_result *r, double timeout) {
  int rc = result_check(r);
  if (rc)
    return rc;
  if (isnan(timeout))
    return GROVE_EINVAL;
  return grove__linkable_wait(&r->l, timeout, "async_result");
}

/* gevent's get(block=False): the value, else the error. */
static int result_take(const grove_async_result *r, void **value) {
  if (r->has_value) {
    if (value)
      *value = r->value;
    return 0;
  }
  return r->error ? r->error : GROVE_ETIMEDOUT;
}

int grove_async_result_get(grove_async_result *r, void **value, double timeout) {
  if (value)
    *value = NULL;
  int rc = result_check(r);
  if (rc)
    return rc;
  if (isnan(timeout))
    return GROVE_EINVAL;
  /* A ready result returns (or fails) at once, even while its wake-ups are
   * pending; otherwise wait to be notified, as any waiter. */
  if (!result_ready(&r->l)) {
    if (grove__poll_only(r->l.hub, timeout))
      return GROVE_ETIMEDOUT;
    rc = grove__wait_until(r->l.hub, &r->l.links, grove__timeout_deadline(r->l.hub, timeout),
                           "async_result", &r->l);
    if (rc)
      return rc;
  }
  return result_take(r, value);
}

int grove_async_result_get_nowait(grove_async_result *r, void **value) {
  if (value)
    *value = NULL;
  int rc = result_check(r);
  return rc ? rc : result_take(r, value);
}

int grove_async_result_error(const grove_async_result *r) {
  int rc = result_check(r);
  return rc ? rc : r->error;
}

bool grove_async_result_ready(const grove_async_result *r) {
  return result_check(r) == 0 && result_ready(&r->l);
}

bool grove_async_result_successful(const grove_async_result *r) {
  return result_check(r) == 0 && r->has_value;
}

grove__linkable *grove__async_result_linkable(grove_async_result *r) {
  return result_check(r) == 0 ? &r->l : NULL;
}

int grove_async_result_free(grove_async_result *r) {
  int rc = result_check(r);
  if (rc)
    return rc;
  if (grove__linkable_has_waiters(&r->l))
    return GROVE_EBUSY;
  result_disarm(r);
  if (r->owner_ops) {
    /* The owner forgets r (and frees what it handed over) first. */
    const grove__result_owner *ops = r->owner_ops;
    r->owner_ops = NULL;
    ops->freed(r->owner, r->has_value ? r->value : NULL);
  }
  return grove__linkable_release(&r->l);
}
