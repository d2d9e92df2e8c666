/* grove/wait.h - waiting on several objects at once (gevent.wait, gevent.iwait).
 *
 * A waitable names a greenlet, an Event, an AsyncResult or a queue. An
 * object is ready, for these calls, when: a greenlet has finished; an
 * Event is set; an AsyncResult holds a value or an error; a queue has held
 * an item (a channel: a putter has waited) since the wait began - a
 * greenlet that runs first may have taken it again, as an Event may have
 * been cleared (gevent 22.10's queues cannot be waited on this way: that is
 * grove's extension). Objects are reported in the order their
 * notifications ran, as gevent's: an object that is already ready still
 * goes through the hub (its notification is scheduled behind what is
 * already queued), so these calls always switch.
 *
 * The timeout is gevent's: a timer counted from the hub's cached time (the
 * last poll, or the last sleep or timed wait that read the clock), of the
 * timeout priority; 0 yields once. When it fires the wait ends quietly
 * with what was ready by then (GROVE_ETIMEDOUT tells it from a wait that
 * reached its count). From the hub's own context, timeout 0 reports what
 * is ready right now without switching; any other gives GROVE_EPERM.
 */
#ifndef GROVE_WAIT_H
#define GROVE_WAIT_H

#include <stddef.h>

#include "greenlet.h"

#ifdef __cplusplus
extern "C" {
#endif

#pragma GCC visibility push(default)

typedef enum grove_wait_kind {
  GROVE_WAIT_GREENLET = 1, /* obj: a grove_greenlet * */
  GROVE_WAIT_EVENT,        /* obj: a grove_event * */
  GROVE_WAIT_ASYNC_RESULT, /* obj: a grove_async_result * */
  GROVE_WAIT_QUEUE         /* obj: a grove_queue * (any kind, a channel included) */
} grove_wait_kind;

typedef struct grove_waitable {
  grove_wait_kind kind;
  void *obj;
} grove_waitable;

#define GROVE_WAITABLE_GREENLET(g) ((grove_waitable){GROVE_WAIT_GREENLET, (g)})
#define GROVE_WAITABLE_EVENT(e) ((grove_waitable){GROVE_WAIT_EVENT, (e)})
#define GROVE_WAITABLE_ASYNC_RESULT(r) ((grove_waitable){GROVE_WAIT_ASYNC_RESULT, (r)})
#define GROVE_WAITABLE_QUEUE(q) ((grove_waitable){GROVE_WAIT_QUEUE, (q)})

/* gevent.wait(objects, timeout, count): block until `count` of objs[0..n)
 * are ready (0: all of them), or the timeout fires. The indices into objs
 * of those found ready, in the order they were, go to ready[] (room for n;
 * may be NULL) and their number to *nready (may be NULL). Returns 0 when
 * `count` were ready, GROVE_ETIMEDOUT when the timeout ended the wait
 * first (what was ready is still reported), GROVE_ECANCELED,
 * GROVE_ELOOPEXIT, GROVE_ENOMEM, GROVE_EINVAL (a NULL or unknown object),
 * GROVE_EPERM (another hub's object, or the hub's own context). */
int grove_wait(const grove_waitable *objs, size_t n, size_t count, double timeout, size_t *ready,
               size_t *nready);

/* gevent.iwait(objects, timeout, count): an iterator over the objects as
 * they become ready. The objects are copied; nothing is linked until the
 * first grove_iwait_next, which also starts the timeout. NULL if out of
 * memory or an object is invalid. */
typedef struct grove_iwait grove_iwait;
grove_iwait *grove_iwait_new(const grove_waitable *objs, size_t n, size_t count, double timeout);

/* The next ready object: 0 and *index (into objs; index may be NULL),
 * blocking while none is; GROVE_EOF once `count` objects have been
 * returned; GROVE_ETIMEDOUT when the timeout ended the iteration; or a wait
 * error (GROVE_ECANCELED, GROVE_ELOOPEXIT...), which also ends it: later
 * calls return GROVE_EOF. GROVE_EBUSY while another greenlet is blocked in
 * it. */
int grove_iwait_next(grove_iwait *it, size_t *index);

/* Unlink from the objects and free the iterator (iterating to the end
 * unlinks already). Returns 0, GROVE_EBUSY (a greenlet is blocked in
 * grove_iwait_next), GROVE_EINVAL, GROVE_EPERM. */
int grove_iwait_free(grove_iwait *it);

/* grove_joinall_ex flags */
#define GROVE_RAISE_ERROR 1

/* gevent.joinall(greenlets, timeout, raise_error, count): wait over the
 * greenlets of gs[0..n) (NULL entries skipped) until `count` of them have
 * finished (0: all). The indices of those that finished, in the order they
 * did, go to done[] (room for n; may be NULL), their number to *ndone.
 * Returns 0, GROVE_ETIMEDOUT (the timeout ended it first), or the codes of
 * grove_wait; with GROVE_RAISE_ERROR, the error of the first greenlet
 * found to have failed (grove_exit), as soon as it is found (it is not in
 * done[]). grove_joinall(gs, n, timeout) is grove_joinall_ex(gs, n,
 * timeout, 0, 0, NULL, NULL). */
int grove_joinall_ex(grove_greenlet **gs, size_t n, double timeout, size_t count, int flags,
                     size_t *done, size_t *ndone);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif
#endif
