/* grove/queue.h - the Queue family (gevent.queue).
 *
 * One handle type, several disciplines:
 *   grove_queue_new(maxsize)            FIFO; maxsize 0 = unbounded
 *   grove_lifo_queue_new(maxsize)       LIFO (a stack)
 *   grove_priority_queue_new(max, cmp)  smallest item first (cmp as qsort's)
 *   grove_joinable_queue_new(maxsize)   FIFO with task_done/join
 *   grove_channel_new()                 rendezvous: put waits for a getter
 *
 * Items are opaque pointers; a queue never owns or frees them. Blocked
 * getters are served in the order they blocked, and so are blocked putters.
 * A queue belongs to the hub of the thread that created it.
 *
 * Every blocking call returns 0, GROVE_ETIMEDOUT (a get that timed out is the
 * "Empty" of gevent, a put that timed out its "Full"; a timeout of 0 yields
 * to the hub once before it fails, as gevent's timeout=0: a putter or getter
 * that runs meanwhile may still complete it),
 * GROVE_ECANCELED if the caller was killed, GROVE_ELOOPEXIT if nothing can
 * ever complete it, GROVE_EINVAL for NULL arguments, GROVE_EPERM from another
 * thread. From the hub's own context (a grove_hub_post callback), where
 * nothing may wait, get and put behave as their _nowait forms (a channel:
 * GROVE_EPERM when no partner waits). Peeking at a channel is GROVE_EINVAL.
 */
#ifndef GROVE_QUEUE_H
#define GROVE_QUEUE_H

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#pragma GCC visibility push(default)

typedef struct grove_queue grove_queue;

/* Ordering for priority queues: <0 if a comes first, 0 if equal, >0 after. */
typedef int (*grove_compare_fn)(const void *a, const void *b);

grove_queue *grove_queue_new(size_t maxsize);
grove_queue *grove_lifo_queue_new(size_t maxsize);
/* cmp NULL compares the pointers as signed integers (intptr_t). Ties are
 * broken exactly as Python's heapq breaks them. */
grove_queue *grove_priority_queue_new(size_t maxsize, grove_compare_fn cmp);
grove_queue *grove_joinable_queue_new(size_t maxsize);
grove_queue *grove_channel_new(void);

/* Put item, blocking while the queue is full (a channel: until a getter takes
 * it). */
int grove_queue_put(grove_queue *q, void *item, double timeout);

/* Take the next item, blocking while the queue is empty. */
int grove_queue_get(grove_queue *q, void **item, double timeout);

/* Return the next item without taking it, blocking while empty. */
int grove_queue_peek(grove_queue *q, void **item, double timeout);

/* Non-blocking forms (gevent's put_nowait, get_nowait, peek_nowait and
 * block=False): GROVE_EFULL / GROVE_EEMPTY instead of waiting, and they
 * never switch - except on a channel, which holds nothing: as in gevent, a
 * channel's put_nowait and get_nowait are put and get with a timeout of 0.
 * A put_nowait with a getter waiting hands it the item and yields (the
 * getter runs first, then the putter resumes: 0); with none it yields once
 * and fails with GROVE_EFULL (get_nowait: GROVE_EEMPTY). */
int grove_queue_put_nowait(grove_queue *q, void *item);
int grove_queue_get_nowait(grove_queue *q, void **item);
int grove_queue_peek_nowait(grove_queue *q, void **item);

size_t grove_queue_qsize(const grove_queue *q); /* items held (a channel: 0) */
bool grove_queue_empty(const grove_queue *q);
bool grove_queue_full(const grove_queue *q);      /* a channel is always full */
size_t grove_queue_maxsize(const grove_queue *q); /* 0 = unbounded */

/* Joinable queues: every put counts a task; task_done marks one finished
 * (GROVE_EOVERFLOW if called more often than put, GROVE_EINVAL on other
 * queues); join blocks until every counted task is done. */
int grove_queue_task_done(grove_queue *q);
int grove_queue_join(grove_queue *q, double timeout);
size_t grove_queue_unfinished_tasks(const grove_queue *q);

/* Free the queue (items still in it are not freed). GROVE_EBUSY (nothing
 * freed) while greenlets are blocked on it. */
int grove_queue_free(grove_queue *q);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif
#endif
