/* hub/prim/wait.c - waiting on several objects at once: gevent.wait,
 * gevent.iwait, and gevent.joinall, which is wait over greenlets.
 *
 * Design notes: gevent's _WaitIterator and MultipleWaiter, step by step.
 *   - Nothing happens until the first next(): it then rawlinks every object
 *     in order - a callback waiter in the object's own notification list
 *     (a greenlet's links, an Event's or AsyncResult's waiters) - and arms
 *     the timeout, a timer of the timeout priority counted from the hub's
 *     cached time. An object that is ready already schedules its
 *     notification (a finished greenlet too: joinall always goes through
 *     the hub, behind what is already queued and behind the finished
 *     greenlet's own earlier links).
 *   - Each notification appends the object's index to a FIFO of values, and
 *     switches into the iterating greenlet at once if it is blocked in
 *     next(); otherwise the value waits for the next next().
 *   - next() takes the oldest value, blocking while there is none. The
 *     timer appends a marker: the iteration ends (GROVE_ETIMEDOUT). After
 *     `count` values, or at the marker, or when the wait itself fails, the
 *     links are removed and the timer disarmed (gevent's _cleanup).
 *   - joinall(raise_error) that stops at a failed greenlet leaves its links
 *     where they are, as gevent's iterator does (it is dropped, not cleaned
 *     up): they fire, doing nothing, when those greenlets end - which is
 *     observable, because a greenlet with links schedules its notification
 *     when it dies. The iterator is freed when the last of them has fired.
 * A queue is ready for wait/iwait once it has held an item (a channel: once
 * a putter waited) since the wait began; gevent 22.10's queues have no
 * rawlink, so this is grove's extension, with an Event's order.
 * The link records are allocated with the iterator: a greenlet's stack may
 * be a shared one, whose contents move while it is switched out.
 */
#include "internal.h"

#include <math.h>
#include <string.h>

#define MARKER SIZE_MAX /* the timer's value */

typedef struct wait_link {
  grove__waiter w;
  struct grove_iwait *it;
  size_t index;
  grove__linkable *l; /* the object's linkable, or NULL for a greenlet */
} wait_link;

struct grove_iwait {
  uint32_t magic;
  grove_hub *hub;
  size_t n;
  size_t count; /* next() calls left before the end */
  grove_waitable *objs;
  wait_link *links;
  size_t *vals; /* FIFO of notified indices (at most n + 1 ever) */
  size_t vhead, vtail;
  grove__timer timer;
  uint64_t deadline; /* absolute, or UINT64_MAX; 0: from timeout at begin */
  double timeout;
  size_t nlinked;
  grove_greenlet *waiter; /* blocked in next(), or NULL */
  uint8_t begun, ended, abandoned;
};

static int obj_check(grove_hub *hub, const grove_waitable *o, grove__linkable **l) {
  *l = NULL;
  switch (o->kind) {
  case GROVE_WAIT_GREENLET: {
    const grove_greenlet *g = o->obj;
    if (!g)
      return GROVE_EINVAL;
    if (g->hub != hub)
      return GROVE_EPERM;
    return (g->head.flags & GROVE__F_HUB) ? GROVE_EINVAL : 0;
  }
  case GROVE_WAIT_EVENT:
    *l = grove__event_linkable(o->obj);
    break;
  case GROVE_WAIT_ASYNC_RESULT:
    *l = grove__async_result_linkable(o->obj);
    break;
  case GROVE_WAIT_QUEUE:
    *l = grove__queue_readable(o->obj);
    break;
  default:
    return GROVE_EINVAL;
  }
  if (!*l)
    return o->obj ? GROVE_EPERM : GROVE_EINVAL;
  return 0;
}

static int obj_ready(const grove_waitable *o, const grove__linkable *l) {
  if (o->kind == GROVE_WAIT_GREENLET)
    return ((const grove_greenlet *)o->obj)->state == GROVE__DEAD;
  return l->ready(l);
}

static void iwait_destroy(grove_iwait *it) {
  it->magic = 0;
  free(it->objs);
  free(it->links);
  free(it->vals);
  free(it);
}

/* The iterating greenlet, if it is blocked in next() on this iterator. */
static grove_greenlet *iterator_to_resume(grove_iwait *it) {
  grove_greenlet *w = it->waiter;
  if (w && w->state == GROVE__BLOCKED && w->wait_obj == it)
    return grove__wake_prepare(w, 0);
  return NULL;
}

/* MultipleWaiter.switch, from the object's notification pass. */
static grove_greenlet *link_fired(grove__waiter *w, void *source) {
  (void)source;
  wait_link *lk = grove__container_of(w, wait_link, w);
  grove_iwait *it = lk->it;
  it->nlinked--;
  if (it->abandoned) {
    if (it->nlinked == 0)
      iwait_destroy(it);
    return NULL;
  }
  it->vals[it->vtail++] = lk->index;
  return iterator_to_resume(it);
}

static grove_greenlet *timer_fired(grove__timer *t) {
  grove_iwait *it = grove__container_of(t, grove_iwait, timer);
  it->vals[it->vtail++] = MARKER;
  return iterator_to_resume(it);
}

/* _begin: rawlink every object, in order, then arm the timer. */
static int begin(grove_iwait *it) {
  it->begun = 1;
  grove_hub *hub = it->hub;
  uint64_t deadline = it->deadline;
  if (deadline == 0) {
    if (it->timeout < 0) {
      deadline = UINT64_MAX;
    } else {
      double ns = it->timeout * 1e9; /* from libev's cached time, as gevent's */
      deadline = ns >= (double)(UINT64_MAX - hub->loop_now - 1) ? UINT64_MAX - 1
                                                                : hub->loop_now + (uint64_t)ns;
    }
  }
  if (deadline != UINT64_MAX &&
      grove__timer_arm(hub, &it->timer, deadline, GROVE__TIMER_TIMEOUT) != 0)
    return GROVE_ENOMEM;
  for (size_t i = 0; i < it->n; i++) {
    wait_link *lk = &it->links[i];
    it->nlinked++;
    if (lk->l)
      grove__linkable_link(lk->l, &lk->w);
    else
      grove__rawlink(it->objs[i].obj, &lk->w);
  }
  return 0;
}

/* _cleanup: unlink from every object that has not fired, disarm the timer. */
static void cleanup(grove_iwait *it) {
  it->ended = 1;
  if (it->timer.slot)
    grove__timer_cancel(it->hub, &it->timer);
  for (size_t i = 0; i < it->n; i++) {
    wait_link *lk = &it->links[i];
    if (!grove__list_linked(&lk->w.link))
      continue;
    if (lk->l)
      grove__linkable_unlink(lk->l, &lk->w);
    else
      grove__unlink(it->objs[i].obj, &lk->w);
    it->nlinked--;
  }
}

/* The iterator, with an absolute deadline (0: `timeout` from the cached
 * time when it begins). NULL objects are left out (joinall skips NULL
 * greenlets). */
static int iwait_make(const grove_waitable *objs, size_t n, size_t count, double timeout,
                      uint64_t deadline, grove_iwait **out) {
  *out = NULL;
  if ((!objs && n) || isnan(timeout))
    return GROVE_EINVAL;
  grove_hub *hub = grove__hub();
  if (!hub)
    return GROVE_ENOMEM;
  grove_iwait *it = calloc(1, sizeof *it);
  if (!it)
    return GROVE_ENOMEM;
  it->objs = malloc((n ? n : 1) * sizeof *it->objs);
  it->links = calloc(n ? n : 1, sizeof *it->links);
  it->vals = malloc((n + 1) * sizeof *it->vals);
  if (!it->objs || !it->links || !it->vals) {
    iwait_destroy(it);
    return GROVE_ENOMEM;
  }
  it->magic = GROVE__MAGIC_IWAIT;
  it->hub = hub;
  for (size_t i = 0; i < n; i++) {
    grove__linkable *l;
    if (objs[i].kind == GROVE_WAIT_GREENLET && !objs[i].obj)
      continue;
    int rc = obj_check(hub, &objs[i], &l);
    if (rc) {
      iwait_destroy(it);
      return rc;
    }
    wait_link *lk = &it->links[it->n];
    lk->w.fn = link_fired;
    grove__list_init(&lk->w.link);
    lk->it = it;
    lk->index = i;
    lk->l = l;
    it->objs[it->n++] = objs[i];
  }
  it->count = count == 0 || count > it->n ? it->n : count;
  it->timeout = timeout;
  it->deadline = deadline;
  it->timer.fn = timer_fired;
  *out = it;
  return 0;
}

grove_iwait *grove_iwait_new(const grove_waitable *objs, size_t n, size_t count, double timeout) {
  grove_iwait *it;
  return iwait_make(objs, n, count, timeout, 0, &it) == 0 ? it : NULL;
}

int grove_iwait_next(grove_iwait *it, size_t *index) {
  if (!it || it->magic != GROVE__MAGIC_IWAIT || it->abandoned)
    return GROVE_EINVAL;
  grove_hub *hub = it->hub;
  if (!grove__owned(hub))
    return GROVE_EPERM;
  if (it->waiter)
    return GROVE_EBUSY; /* another greenlet is iterating it */
  if (it->ended)
    return GROVE_EOF;
  if (!it->begun) {
    int rc = begin(it);
    if (rc) {
      cleanup(it);
      return rc;
    }
  }
  if (it->count == 0) {
    cleanup(it);
    return GROVE_EOF;
  }
  it->count--;
  if (it->vhead == it->vtail) {
    it->waiter = hub->head.current;
    int rc = grove__wait_until(hub, NULL, UINT64_MAX, "iwait", it);
    it->waiter = NULL;
    if (rc) {
      cleanup(it);
      return rc;
    }
  }
  size_t v = it->vals[it->vhead++];
  if (v == MARKER) {
    cleanup(it);
    return GROVE_ETIMEDOUT;
  }
  if (index)
    *index = v;
  return 0;
}

int grove_iwait_free(grove_iwait *it) {
  if (!it || it->magic != GROVE__MAGIC_IWAIT || it->abandoned)
    return GROVE_EINVAL;
  if (!grove__owned(it->hub))
    return GROVE_EPERM;
  if (it->waiter)
    return GROVE_EBUSY;
  if (!it->ended)
    cleanup(it);
  iwait_destroy(it);
  return 0;
}

/* From the hub's own context (it cannot switch), timeout 0: which are
 * ready now, in order. */
static int poll_now(grove_iwait *it, size_t *ready, size_t *nready) {
  size_t k = 0;
  for (size_t i = 0; i < it->n && k < it->count; i++)
    if (obj_ready(&it->objs[i], it->links[i].l)) {
      if (ready)
        ready[k] = it->links[i].index;
      k++;
    }
  if (nready)
    *nready = k;
  return k == it->count ? 0 : GROVE_ETIMEDOUT;
}

/* list(iwait(...)): take values until the count, the timer or an error. */
static int drain(grove_iwait *it, size_t *ready, size_t *nready) {
  size_t k = 0, index;
  int rc;
  while ((rc = grove_iwait_next(it, &index)) == 0) {
    if (ready)
      ready[k] = index;
    k++;
  }
  if (nready)
    *nready = k;
  return rc == GROVE_EOF ? 0 : rc;
}

int grove_wait(const grove_waitable *objs, size_t n, size_t count, double timeout, size_t *ready,
               size_t *nready) {
  if (nready)
    *nready = 0;
  grove_iwait *it;
  int rc = iwait_make(objs, n, count, timeout, 0, &it);
  if (rc)
    return rc;
  if (grove__poll_only(it->hub, timeout))
    rc = poll_now(it, ready, nready);
  else
    rc = drain(it, ready, nready);
  grove_iwait_free(it);
  return rc;
}

/* ---- joinall ------------------------------------------------------------------- */

int grove__joinall_until(grove_greenlet **gs, size_t n, uint64_t deadline) {
  grove_waitable stack[8] = {{0, NULL}}, *objs = n <= 8 ? stack : malloc(n * sizeof *objs);
  if (!objs)
    return GROVE_ENOMEM;
  for (size_t i = 0; i < n; i++)
    objs[i] = (grove_waitable){GROVE_WAIT_GREENLET, gs[i]};
  grove_iwait *it;
  int rc = iwait_make(objs, n, 0, GROVE_FOREVER, deadline, &it);
  if (objs != stack)
    free(objs);
  if (rc)
    return rc;
  rc = drain(it, NULL, NULL);
  grove_iwait_free(it);
  return rc;
}

int grove_joinall_ex(grove_greenlet **gs, size_t n, double timeout, size_t count, int flags,
                     size_t *done, size_t *ndone) {
  if (ndone)
    *ndone = 0;
  if ((!gs && n) || (flags & ~GROVE_RAISE_ERROR))
    return GROVE_EINVAL;
  /* Joining them all, the caller among them, would never end (gevent
   * blocks forever): grove's documented GROVE_EDEADLK. */
  grove_hub *hub = grove__hub_peek();
  for (size_t i = 0; hub && count == 0 && i < n; i++)
    if (gs[i] && gs[i] == hub->head.current && gs[i]->hub == hub)
      return GROVE_EDEADLK;
  grove_waitable stack[8] = {{0, NULL}}, *objs = n <= 8 ? stack : malloc(n * sizeof *objs);
  if (!objs)
    return GROVE_ENOMEM;
  for (size_t i = 0; i < n; i++)
    objs[i] = (grove_waitable){GROVE_WAIT_GREENLET, gs ? gs[i] : NULL};
  grove_iwait *it;
  int rc = iwait_make(objs, n, count, timeout, 0, &it);
  if (objs != stack)
    free(objs);
  if (rc)
    return rc;
  if (grove__poll_only(it->hub, timeout)) {
    rc = poll_now(it, done, ndone);
    grove_iwait_free(it);
    return rc;
  }
  if (!(flags & GROVE_RAISE_ERROR)) {
    rc = drain(it, done, ndone);
    grove_iwait_free(it);
    return rc;
  }
  /* raise_error: stop at the first greenlet found failed, in the order they
   * finished, and leave the iterator's links behind (see above). */
  size_t k = 0, index;
  while ((rc = grove_iwait_next(it, &index)) == 0) {
    grove_greenlet *g = gs[index];
    if (g->head.flags & GROVE__F_FAILED) {
      rc = g->error;
      if (ndone)
        *ndone = k;
      if (it->nlinked == 0) {
        grove_iwait_free(it);
      } else {
        if (it->timer.slot)
          grove__timer_cancel(it->hub, &it->timer);
        it->abandoned = 1;
      }
      return rc;
    }
    if (done)
      done[k] = index;
    k++;
  }
  if (ndone)
    *ndone = k;
  grove_iwait_free(it);
  return rc == GROVE_EOF ? 0 : rc;
}

int grove_joinall(grove_greenlet **gs, size_t n, double timeout) {
  return grove_joinall_ex(gs, n, timeout, 0, 0, NULL, NULL);
}
