/* grove/timeout.h - scoped deadlines (gevent's `with Timeout(seconds):`).
 *
 * grove_timeout_start(s) gives the calling greenlet a deadline s seconds from
 * now: every blocking call it makes after that fails with GROVE_ETIMEDOUT
 * once the deadline has passed (a call in progress is woken when it passes),
 * until grove_timeout_cancel(). Scopes nest; the earliest deadline wins.
 * A blocking call's own timeout still applies; whichever comes first wins.
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

/* Whether t's deadline has passed. */
bool grove_timeout_expired(const grove_timeout *t);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif
#endif
