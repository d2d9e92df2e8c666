/* hub/prim/queue.c - Queue, LifoQueue, PriorityQueue, JoinableQueue and Channel.
 *
 * Design notes: the algorithm is gevent.queue's, step for step, because the
 * order in which greenlets observe items is the visible contract:
 *   - put() on a queue with room stores the item at once; if getters wait it
 *     schedules ONE "unlock" callback (never two while one is pending);
 *   - a getter that blocks does not receive an item: it is resumed by the
 *     unlock callback while the queue is non-empty and then takes the item
 *     itself, so an item can be taken by a greenlet that comes along before
 *     the woken getter runs (exactly as in gevent);
 *   - a putter that blocks on a full queue parks its item in its own greenlet
 *     struct; the unlock callback moves it into the queue and resumes it;
 *   - unlock alternates "admit one putter while there is room" and "resume one
 *     getter while there are items" until neither applies;
 *   - a channel has no buffer: unlock pairs the oldest getter with the oldest
 *     putter, resumes the getter (with the item) and then the putter.
 * Items live in a ring buffer (FIFO, LIFO) or in a binary heap laid out and
 * sifted exactly like CPython's heapq (priority), so that equal priorities
 * come out in the same order as under gevent.
 */
#include "internal.h"

#include <math.h>
#include <string.h>

enum { Q_FIFO, Q_LIFO, Q_PRIO, Q_CHANNEL };

struct grove_queue {
  uint32_t magic;
  uint8_t kind;
  uint8_t joinable;
  uint8_t unlock_pending, unlocking, free_pending, done_destroyed;
  grove_hub *hub;
  size_t maxsize; /* 0 = unbounded */
  void **buf;
  size_t cap, head, count;
  grove_compare_fn cmp;
  grove__list getters, putters;
  grove__cb unlock;
  uint8_t unlock_phase;        /* 1: the putter half of an iteration is done */
  uint8_t unlock_repeat;       /* this iteration did something: loop again */
  grove_greenlet *chan_putter; /* channel: putter to resume after its getter */
  /* joinable */
  size_t unfinished;
  int all_done;
  grove__linkable done;     /* ready while all_done */
  grove__linkable readable; /* wait/iwait: ready while a get would not wait */
  uint8_t readable_destroyed;
};

static grove_greenlet *unlock_cb(grove__cb *cb);

static int q_check(const grove_queue *q) {
  if (!q || q->magic != GROVE__MAGIC_QUEUE)
    return GROVE_EINVAL;
  if (!grove__owned(q->hub))
    return GROVE_EPERM;
  return 0;
}

static int done_ready(const grove__linkable *l) {
  const grove_queue *q = grove__container_of(l, grove_queue, done);
  return q->all_done;
}

/* A freed queue goes away once none of its passes (unlock, join notify,
 * readable notify) is in progress: grove_queue_free may be called by a
 * greenlet that one of them just resumed. */
static void q_destroy(grove_queue *q) {
  free(q->buf);
  free(q);
}
static void q_maybe_destroy(grove_queue *q) {
  if (q->free_pending && q->done_destroyed && q->readable_destroyed && !q->unlocking)
    q_destroy(q);
}
static void done_destroy(grove__linkable *l) {
  grove_queue *q = grove__container_of(l, grove_queue, done);
  q->done_destroyed = 1;
  q_maybe_destroy(q);
}
static int readable_ready(const grove__linkable *l) {
  const grove_queue *q = grove__container_of(l, grove_queue, readable);
  return q->count > 0 || (q->kind == Q_CHANNEL && !grove__list_empty(&q->putters));
}
static void readable_destroy(grove__linkable *l) {
  grove_queue *q = grove__container_of(l, grove_queue, readable);
  q->readable_destroyed = 1;
  q_maybe_destroy(q);
}

grove__linkable *grove__queue_readable(grove_queue *q) {
  return q_check(q) == 0 ? &q->readable : NULL;
}

/* Tell wait/iwait the queue may be read (only if someone waits that way). */
static inline void readable_check(grove_queue *q) {
  if (GROVE__UNLIKELY(!grove__list_empty(&q->readable.links)))
    grove__linkable_check_notify(&q->readable);
}

static grove_queue *q_new(int kind, size_t maxsize, grove_compare_fn cmp, int joinable) {
  grove_hub *hub = grove__hub();
  if (!hub)
    return NULL;
  grove_queue *q = calloc(1, sizeof *q);
  if (!q)
    return NULL;
  q->magic = GROVE__MAGIC_QUEUE;
  q->kind = (uint8_t)kind;
  q->joinable = (uint8_t)joinable;
  q->hub = hub;
  q->maxsize = maxsize;
  q->cmp = cmp;
  grove__list_init(&q->getters);
  grove__list_init(&q->putters);
  grove__list_init(&q->unlock.link);
  q->unlock.fn = unlock_cb;
  q->all_done = 1;
  /* The join linkable's init counts the queue in hub->nobjects. */
  grove__linkable_init(&q->done, hub, GROVE__MAGIC_QUEUE, 1, done_ready, done_destroy);
  grove__linkable_init(&q->readable, hub, GROVE__MAGIC_QUEUE, 1, readable_ready, readable_destroy);
  q->readable.uncounted = 1;
  grove__obj_remove(hub, GROVE__OBJ_QUEUE);
  return q;
}

grove_queue *grove_queue_new(size_t maxsize) { return q_new(Q_FIFO, maxsize, NULL, 0); }
grove_queue *grove_lifo_queue_new(size_t maxsize) { return q_new(Q_LIFO, maxsize, NULL, 0); }
grove_queue *grove_priority_queue_new(size_t maxsize, grove_compare_fn cmp) {
  return q_new(Q_PRIO, maxsize, cmp, 0);
}
grove_queue *grove_joinable_queue_new(size_t maxsize) { return q_new(Q_FIFO, maxsize, NULL, 1); }
grove_queue *grove_channel_new(void) { return q_new(Q_CHANNEL, 0, NULL, 0); }

/* ---- storage ----------------------------------------------------------------- */

static int less(const grove_queue *q, void *a, void *b) {
  if (q->cmp)
    return q->cmp(a, b) < 0;
  return (intptr_t)a < (intptr_t)b;
}

static int grow(grove_queue *q) {
  size_t cap = q->cap ? q->cap * 2 : 16;
  void **buf = malloc(cap * sizeof *buf);
  if (!buf)
    return GROVE_ENOMEM;
  for (size_t i = 0; i < q->count; i++)
    buf[i] = q->buf[(q->head + i) & (q->cap - 1)];
  free(q->buf);
  q->buf = buf;
  q->cap = cap;
  q->head = 0;
  return 0;
}

/* heapq._siftdown(heap, 0, pos) */
static void heap_siftdown(grove_queue *q, size_t pos) {
  void *item = q->buf[pos];
  while (pos > 0) {
    size_t parent = (pos - 1) >> 1;
    if (!less(q, item, q->buf[parent]))
      break;
    q->buf[pos] = q->buf[parent];
    pos = parent;
  }
  q->buf[pos] = item;
}

/* heapq._siftup(heap, pos) */
static void heap_siftup(grove_queue *q, size_t pos) {
  size_t end = q->count, start = pos;
  void *item = q->buf[pos];
  size_t child = 2 * pos + 1;
  while (child < end) {
    size_t right = child + 1;
    if (right < end && !less(q, q->buf[child], q->buf[right]))
      child = right;
    q->buf[pos] = q->buf[child];
    pos = child;
    child = 2 * pos + 1;
  }
  q->buf[pos] = item;
  (void)start; /* always 0 here: heappop sifts from the root */
  heap_siftdown(q, pos);
}

__attribute__((noinline)) static int store_slow(grove_queue *q, void *item) {
  if (q->count == q->cap && grow(q) != 0)
    return GROVE_ENOMEM;
  if (q->kind == Q_PRIO) {
    q->buf[q->count++] = item; /* heap: head stays 0 */
    heap_siftdown(q, q->count - 1);
  } else {
    q->buf[(q->head + q->count) & (q->cap - 1)] = item;
    q->count++;
  }
  if (q->joinable) {
    q->unfinished++;
    q->all_done = 0;
  }
  return 0;
}

/* The common case inline (a plain FIFO or LIFO with room in its buffer), the
 * rest out of line so that it costs the fast path nothing. */
static inline int store(grove_queue *q, void *item) {
  if (GROVE__LIKELY(q->count < q->cap && q->kind != Q_PRIO && !q->joinable)) {
    q->buf[(q->head + q->count) & (q->cap - 1)] = item;
    q->count++;
    return 0;
  }
  return store_slow(q, item);
}

static void *front(const grove_queue *q) {
  if (q->kind == Q_LIFO)
    return q->buf[(q->head + q->count - 1) & (q->cap - 1)];
  return q->buf[q->head]; /* FIFO head; heap root (head is 0) */
}

__attribute__((noinline)) static void *heap_take(grove_queue *q) {
  void *last = q->buf[--q->count];
  if (q->count == 0)
    return last;
  void *item = q->buf[0];
  q->buf[0] = last;
  heap_siftup(q, 0);
  return item;
}

static inline void *take(grove_queue *q) {
  void *item;
  if (GROVE__LIKELY(q->kind == Q_FIFO)) {
    item = q->buf[q->head];
    q->head = (q->head + 1) & (q->cap - 1);
  } else if (q->kind == Q_LIFO) {
    item = q->buf[(q->head + q->count - 1) & (q->cap - 1)];
  } else {
    return heap_take(q);
  }
  q->count--;
  return item;
}

static int has_room(const grove_queue *q) { return q->maxsize == 0 || q->count < q->maxsize; }

/* ---- unlock ---------------------------------------------------------------------- */

static void schedule_unlock(grove_queue *q) {
  if (!q->unlock_pending) {
    q->unlock_pending = 1;
    grove__schedule(q->hub, &q->unlock);
  }
}

static grove_greenlet *pop_waiter(grove__list *l) {
  grove__list *n = grove__list_pop(l);
  return n ? grove__container_of(grove__container_of(n, grove__waiter, link), grove_greenlet,
                                 waiter)
           : NULL;
}

/* gevent's Queue._unlock / Channel._unlock, resumable (see grove__cb): each
 * call resumes at most one greenlet, after putting itself back at the front
 * of the run queue; the loop re-reads the queue's state on every call, so
 * nothing is lost by stopping between iterations. */
static grove_greenlet *unlock_cb(grove__cb *cb) {
  grove_queue *q = grove__container_of(cb, grove_queue, unlock);
  grove_greenlet *t = NULL;
  q->unlocking = 1;
  if (q->kind == Q_CHANNEL) {
    if (q->chan_putter) {
      t = grove__wake_prepare(q->chan_putter, 0); /* the getter ran: now its putter */
      q->chan_putter = NULL;
    } else if (!grove__list_empty(&q->putters) && !grove__list_empty(&q->getters)) {
      grove_greenlet *getter = pop_waiter(&q->getters);
      grove_greenlet *putter = pop_waiter(&q->putters);
      getter->slot = putter->slot;
      q->chan_putter = putter;
      t = grove__wake_prepare(getter, 0);
    }
  } else {
    /* gevent's loop: `repeat = False; admit a putter if there is room;
     * resume a getter if there are items; stop unless one of them acted`.
     * unlock_phase records where the previous step stopped. */
    for (;;) {
      switch (q->unlock_phase) {
      case 0:
        q->unlock_repeat = 0;
        if (!grove__list_empty(&q->putters) && has_room(q)) {
          grove_greenlet *putter = pop_waiter(&q->putters);
          q->unlock_repeat = 1;
          q->unlock_phase = 1;
          int src = store(q, putter->slot);
          readable_check(q);
          if ((t = grove__wake_prepare(putter, src)) != NULL)
            goto resume;
        }
        /* fallthrough */
      case 1:
        if (!grove__list_empty(&q->getters) && q->count) {
          q->unlock_repeat = 1;
          q->unlock_phase = 2;
          if ((t = grove__wake_prepare(pop_waiter(&q->getters), 0)) != NULL)
            goto resume;
        }
        /* fallthrough */
      default:
        q->unlock_phase = 0;
        if (!q->unlock_repeat)
          goto done;
      }
    }
  }
resume:
  if (t) {
    grove__schedule_next(q->hub, &q->unlock);
    return t;
  }
done:
  q->unlocking = 0;
  q->unlock_pending = 0;
  q->unlock_phase = 0;
  q->unlock_repeat = 0;
  q_maybe_destroy(q);
  return NULL;
}

/* ---- put / get ------------------------------------------------------------------------ */

/* The hub's own context (gevent: `self.hub is getcurrent()`): its loop, a
 * run-queue callback or a grove_hub_post callback, which cannot wait. */
static int in_hub(const grove_queue *q) {
  return grove__cannot_block(q->hub, q->hub->head.current);
}

/* gevent's Channel.put: from the hub, only a waiting getter will do;
 * otherwise the putter queues and switches to the hub, under a Timeout of
 * `deadline` - put_nowait is put with a timeout of 0, so it yields: the
 * getter it hands its item to runs first. */
static int channel_put(grove_queue *q, void *item, uint64_t deadline) {
  grove_hub *hub = q->hub;
  if (in_hub(q)) {
    grove_greenlet *getter = pop_waiter(&q->getters);
    if (!getter)
      return GROVE_EPERM;
    getter->slot = item;
    grove__wake(getter, 0);
    return 0;
  }
  hub->head.current->slot = item;
  if (!grove__list_empty(&q->getters))
    schedule_unlock(q);
  if (GROVE__UNLIKELY(!grove__list_empty(&q->readable.links)) && !q->readable.notify_pending) {
    /* The putter is about to wait: a channel is readable from then on. */
    q->readable.notify_pending = 1;
    grove__schedule(hub, &q->readable.notify);
  }
  return grove__wait_until(hub, &q->putters, deadline, "channel put", q);
}

static int channel_get(grove_queue *q, void **item, uint64_t deadline) {
  grove_hub *hub = q->hub;
  if (in_hub(q)) {
    grove_greenlet *putter = pop_waiter(&q->putters);
    if (!putter)
      return GROVE_EPERM;
    *item = putter->slot;
    grove__wake(putter, 0);
    return 0;
  }
  if (!grove__list_empty(&q->putters))
    schedule_unlock(q);
  int rc = grove__wait_until(hub, &q->getters, deadline, "channel get", q);
  if (rc == 0)
    *item = hub->head.current->slot;
  return rc;
}

/* The timeout of a put or get: `nowait` is the non-blocking form (a
 * channel's is a timeout of 0, as gevent's). */
static uint64_t q_deadline(grove_queue *q, double timeout, int nowait) {
  return grove__timeout_deadline(q->hub, nowait ? 0 : timeout);
}

/* A channel's _nowait form failed with `rc`: its own zero timeout is
 * Full/Empty (`code`), but a scope that fired meanwhile (gevent: the scope's
 * Timeout, armed before the call's, fires first in the same poll) or before
 * stays GROVE_ETIMEDOUT. */
static int chan_nowait_rc(grove_queue *q, int rc, int code) {
  grove_greenlet *g = q->hub->head.current;
  if (rc != GROVE_ETIMEDOUT || (g && g->head.timeouts != NULL && g->nfired))
    return rc;
  return code;
}

static int q_put(grove_queue *q, void *item, double timeout, int nowait) {
  int rc = q_check(q);
  if (rc)
    return rc;
  if (isnan(timeout))
    return GROVE_EINVAL;
  if (q->kind == Q_CHANNEL) {
    if (!nowait && grove__poll_only(q->hub, timeout))
      nowait = 1; /* the hub polls: only a waiting getter will do */
    rc = channel_put(q, item, q_deadline(q, timeout, nowait));
    return nowait ? chan_nowait_rc(q, rc, GROVE_EFULL) : rc;
  }
  if (has_room(q)) {
    rc = store(q, item);
    if (rc == 0 && !grove__list_empty(&q->getters))
      schedule_unlock(q);
    readable_check(q);
    return rc;
  }
  if (in_hub(q)) {
    /* The hub cannot wait, but it may let getters drain the queue first. */
    while (!grove__list_empty(&q->getters) && q->count && !has_room(q))
      grove__wake(pop_waiter(&q->getters), 0);
    if (!has_room(q))
      return GROVE_EFULL;
    rc = store(q, item);
    readable_check(q);
    return rc;
  }
  if (nowait)
    return GROVE_EFULL;
  /* gevent: the putter queues with its item, then switches to the hub under
   * a Timeout (0 included: a getter that runs meanwhile makes room). */
  uint64_t deadline = q_deadline(q, timeout, 0);
  q->hub->head.current->slot = item;
  if (!grove__list_empty(&q->getters))
    schedule_unlock(q);
  return grove__wait_until(q->hub, &q->putters, deadline, "queue put", q);
}

static int q_get_until(grove_queue *q, void **item, uint64_t deadline, int peek) {
  if (q->count) {
    if (!peek && !grove__list_empty(&q->putters))
      schedule_unlock(q);
    *item = peek ? front(q) : take(q);
    return 0;
  }
  if (in_hub(q)) {
    grove_greenlet *putter;
    while ((putter = pop_waiter(&q->putters)) != NULL) {
      grove__wake(putter, store(q, putter->slot));
      readable_check(q);
      if (q->count) {
        *item = peek ? front(q) : take(q);
        return 0;
      }
    }
    return GROVE_EEMPTY;
  }
  for (;;) {
    if (!grove__list_empty(&q->putters))
      schedule_unlock(q);
    int rc = grove__wait_until(q->hub, &q->getters, deadline, peek ? "queue peek" : "queue get", q);
    if (rc)
      return rc;
    if (q->count) {
      *item = peek ? front(q) : take(q);
      return 0;
    }
  }
}

static int q_get(grove_queue *q, void **item, double timeout, int nowait, int peek) {
  if (item)
    *item = NULL;
  int rc = q_check(q);
  if (rc)
    return rc;
  if (!item || isnan(timeout))
    return GROVE_EINVAL;
  if (q->kind == Q_CHANNEL) {
    if (peek)
      return GROVE_EINVAL;
    if (!nowait && grove__poll_only(q->hub, timeout))
      nowait = 1;
    rc = channel_get(q, item, q_deadline(q, timeout, nowait));
    return nowait ? chan_nowait_rc(q, rc, GROVE_EEMPTY) : rc;
  }
  if (nowait && !q->count && !in_hub(q))
    return GROVE_EEMPTY;
  /* From the hub, get and peek are their _nowait forms (q_get_until). */
  uint64_t deadline = nowait || q->count || in_hub(q) ? UINT64_MAX : q_deadline(q, timeout, 0);
  return q_get_until(q, item, deadline, peek);
}

int grove__queue_get_until(grove_queue *q, void **item, uint64_t deadline) {
  *item = NULL;
  int rc = q_check(q);
  return rc ? rc : q_get_until(q, item, deadline, 0);
}

int grove_queue_put(grove_queue *q, void *item, double timeout) {
  return q_put(q, item, timeout, 0);
}
int grove_queue_put_nowait(grove_queue *q, void *item) { return q_put(q, item, 0, 1); }
int grove_queue_get(grove_queue *q, void **item, double timeout) {
  return q_get(q, item, timeout, 0, 0);
}
int grove_queue_get_nowait(grove_queue *q, void **item) { return q_get(q, item, 0, 1, 0); }
int grove_queue_peek(grove_queue *q, void **item, double timeout) {
  return q_get(q, item, timeout, 0, 1);
}
int grove_queue_peek_nowait(grove_queue *q, void **item) { return q_get(q, item, 0, 1, 1); }

size_t grove_queue_qsize(const grove_queue *q) { return q_check(q) == 0 ? q->count : 0; }
bool grove_queue_empty(const grove_queue *q) {
  return q_check(q) != 0 || q->kind == Q_CHANNEL || q->count == 0;
}
bool grove_queue_full(const grove_queue *q) {
  if (q_check(q) != 0)
    return false;
  return q->kind == Q_CHANNEL || (q->maxsize > 0 && q->count >= q->maxsize);
}
size_t grove_queue_maxsize(const grove_queue *q) { return q_check(q) == 0 ? q->maxsize : 0; }

/* ---- joinable ------------------------------------------------------------------------------- */

int grove_queue_task_done(grove_queue *q) {
  int rc = q_check(q);
  if (rc)
    return rc;
  if (!q->joinable)
    return GROVE_EINVAL;
  if (q->unfinished == 0)
    return GROVE_EOVERFLOW;
  if (--q->unfinished == 0) {
    q->all_done = 1;
    grove__linkable_check_notify(&q->done);
  }
  return 0;
}

int grove_queue_join(grove_queue *q, double timeout) {
  int rc = q_check(q);
  if (rc)
    return rc;
  if (!q->joinable || isnan(timeout))
    return GROVE_EINVAL;
  return grove__linkable_wait(&q->done, timeout, "queue join");
}

size_t grove_queue_unfinished_tasks(const grove_queue *q) {
  return q_check(q) == 0 ? q->unfinished : 0;
}

int grove_queue_free(grove_queue *q) {
  int rc = q_check(q);
  if (rc)
    return rc;
  if (!grove__list_empty(&q->getters) || !grove__list_empty(&q->putters) ||
      grove__linkable_has_waiters(&q->done) || grove__linkable_has_waiters(&q->readable))
    return GROVE_EBUSY;
  q->magic = 0;
  q->free_pending = 1;
  if (q->unlock_pending && !q->unlocking) {
    grove__unschedule(&q->unlock);
    q->unlock_pending = 0;
  }
  /* Counts the queue out of hub->nobjects; destroys it now or when the
   * passes in progress end. */
  grove__linkable_release(&q->readable);
  return grove__linkable_release(&q->done);
}
