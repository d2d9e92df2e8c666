/* grove/timeout.h - scoped deadlines (gevent's `with Timeout(seconds):`).
 *
 * grove_timeout_start(s) starts a timer of s seconds for the calling
 * greenlet, as gevent's Timeout(s).start(). When it fires (from the hub, in
 * its turn among the timers that expired with it) the scope has expired: the
 * call the greenlet is blocked in - a grove_sleep(0) included - fails with
 * GROVE_ETIMEDOUT, and so does every blocking call it makes after that,
 * until grove_timeout_cancel(). gevent raises its Timeout once; grove keeps
 * an expired scope failing calls, because C code unwinds by returning and a
 * scope must still bound the greenlet when some function on the way ignores
 * one error (docs/guide.md, "Where grove differs from gevent"). The timer
 * fires only when the hub polls: a scope of 0 seconds, or one whose deadline
 * passed while the greenlet computed, has not expired before then, so calls
 * that complete without waiting succeed, as in gevent. Scopes nest, each with
 * its own timer. A blocking call's own timeout still applies; whichever
 * fires first wins.
 */
#ifndef GROVE_TIMEOUT_H
#define GROVE_TIMEOUT_H

#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

#pragma GCC visibility push(default)

typedef struct grove_timeout grove_timeout;

/* Start a scoped deadline for the calling greenlet. seconds < 0 makes a
 * scope that never expires. Returns NULL if out of memory. */
grove_timeout *grove_timeout_start(double seconds);

/* End the scope and free t. Scopes should be cancelled innermost first;
 * cancelling an outer one also works. Returns 0, GROVE_EINVAL (NULL), or
 * GROVE_EPERM if t belongs to another greenlet. */
int grove_timeout_cancel(grove_timeout *t);

/* Whether t has expired: its timer has fired (the calls in the scope fail). */
bool grove_timeout_expired(const grove_timeout *t);

/* gevent's Timeout.pending: true from grove_timeout_start until t expires;
 * false for a scope that never expires (seconds < 0). */
bool grove_timeout_pending(const grove_timeout *t);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif
#endif
