/* grove/event.h - Event and AsyncResult (gevent.event).
 *
 * An Event wakes every greenlet waiting on it when set; greenlets are woken
 * in the order they started waiting. An AsyncResult is an Event that carries
 * a value or an error code: a future.
 *
 * Both belong to the hub of the thread that created them; calls from another
 * thread are refused (GROVE_EPERM, or ignored with a message for the calls
 * that return nothing). Freeing one while greenlets wait on it is refused with
 * GROVE_EBUSY.
 */
#ifndef GROVE_EVENT_H
#define GROVE_EVENT_H

#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

#pragma GCC visibility push(default)

typedef struct grove_event grove_event;
typedef struct grove_async_result grove_async_result;

/* New, cleared event (NULL if out of memory). */
grove_event *grove_event_new(void);

/* Set the flag and wake every waiter (they run once the caller blocks or
 * yields). Waiting on a set event returns at once. Never blocks. */
void grove_event_set(grove_event *e);

/* Clear the flag: later waits block until the next set. */
void grove_event_clear(grove_event *e);

bool grove_event_is_set(const grove_event *e);

/* Block until the event is set. Returns 0 if it was set (before or during the
 * wait), GROVE_ETIMEDOUT, GROVE_ECANCELED, GROVE_ELOOPEXIT, GROVE_EINVAL,
 * GROVE_EPERM. */
int grove_event_wait(grove_event *e, double timeout);

/* Free the event. GROVE_EBUSY (nothing freed) while greenlets wait on it. */
int grove_event_free(grove_event *e);

/* New, unset AsyncResult (NULL if out of memory). */
grove_async_result *grove_async_result_new(void);

/* Store value (the result does not own it) and wake every waiter. As in
 * gevent, a value and an error are kept apart: setting a value again
 * replaces it, and once a value is set the result is successful and get
 * returns it, even if an error is (or was) set too. */
void grove_async_result_set(grove_async_result *r, void *value);

/* Store a failure: `error` (a negative GROVE_E* or your own nonzero code;
 * 0 is recorded as GROVE_EFAILED) and wake every waiter. A value already
 * set stays (and wins). */
void grove_async_result_set_error(grove_async_result *r, int error);

/* Block until the result is ready. Returns 0 and *value (value may be NULL)
 * if it holds a value, the stored error if it holds only that, or
 * GROVE_ETIMEDOUT, GROVE_ECANCELED, GROVE_ELOOPEXIT, GROVE_EINVAL,
 * GROVE_EPERM. A ready result returns at once, without switching, even
 * while the greenlets woken by its set have not run yet. */
int grove_async_result_get(grove_async_result *r, void **value, double timeout);

/* gevent's get_nowait / get(block=False): what grove_async_result_get
 * returns if the result is ready, GROVE_ETIMEDOUT if not. Never switches. */
int grove_async_result_get_nowait(grove_async_result *r, void **value);

/* Block until ready without fetching: 0 once ready (value or error). On a
 * ready result whose wake-ups are still pending it queues behind them
 * (gevent's wait), so it does switch. */
int grove_async_result_wait(grove_async_result *r, double timeout);

/* The error stored by grove_async_result_set_error, or 0 if none was
 * (gevent's `exception`); GROVE_EINVAL / GROVE_EPERM for a bad r. A value
 * set before or after does not clear it (and wins: see set). Never blocks. */
int grove_async_result_error(const grove_async_result *r);

bool grove_async_result_ready(const grove_async_result *r);
bool grove_async_result_successful(const grove_async_result *r);

/* Free it. GROVE_EBUSY (nothing freed) while greenlets wait on it. */
int grove_async_result_free(grove_async_result *r);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif
#endif
