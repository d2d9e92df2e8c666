/* grove/lock.h - Semaphore, BoundedSemaphore, Lock and RLock (gevent.lock).
 *
 * Acquirers that have to wait are served in the order they started waiting.
 * As in gevent, a greenlet that finds the counter above zero takes it at once,
 * even if woken waiters have not run yet. All calls return 0 or a negative
 * GROVE_E* code; acquire returns GROVE_ETIMEDOUT (timeout 0 yields to the hub
 * once first, as gevent's acquire(timeout=0)), GROVE_ECANCELED,
 * GROVE_ELOOPEXIT, GROVE_EINVAL, GROVE_EPERM. The try_acquire forms are
 * gevent's acquire(blocking=False): 0, or GROVE_ETIMEDOUT ("would block")
 * without switching.
 */
#ifndef GROVE_LOCK_H
#define GROVE_LOCK_H

#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

#pragma GCC visibility push(default)

typedef struct grove_semaphore grove_semaphore;
typedef struct grove_semaphore grove_lock; /* a bounded semaphore of 1 */
typedef struct grove_rlock grove_rlock;

/* value >= 0 (NULL otherwise). A plain semaphore may be released above its
 * initial value; a bounded one refuses that with GROVE_EOVERFLOW. */
grove_semaphore *grove_semaphore_new(int value);
grove_semaphore *grove_bounded_semaphore_new(int value);

int grove_semaphore_acquire(grove_semaphore *s, double timeout);
int grove_semaphore_try_acquire(grove_semaphore *s);
int grove_semaphore_release(grove_semaphore *s);
int grove_semaphore_counter(const grove_semaphore *s); /* negative = error code */
bool grove_semaphore_locked(const grove_semaphore *s); /* counter <= 0 */
/* Block until the counter is above zero without taking it. */
int grove_semaphore_wait(grove_semaphore *s, double timeout);
int grove_semaphore_free(grove_semaphore *s); /* GROVE_EBUSY while waited on */

/* A lock: any greenlet may release it; releasing an unlocked lock is
 * GROVE_EOVERFLOW. */
grove_lock *grove_lock_new(void);
int grove_lock_acquire(grove_lock *l, double timeout);
int grove_lock_try_acquire(grove_lock *l);
int grove_lock_release(grove_lock *l);
bool grove_lock_locked(const grove_lock *l);
int grove_lock_free(grove_lock *l);

/* A reentrant lock: its owner may acquire it again; it is released when the
 * owner has released it as many times. Release by another greenlet is
 * GROVE_EPERM. */
grove_rlock *grove_rlock_new(void);
int grove_rlock_acquire(grove_rlock *l, double timeout);
int grove_rlock_try_acquire(grove_rlock *l);
int grove_rlock_release(grove_rlock *l);
bool grove_rlock_locked(const grove_rlock *l);
int grove_rlock_free(grove_rlock *l);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif
#endif
