/* hub/prim/semaphore.c - Semaphore, BoundedSemaphore, Lock and RLock.
 *
 * Design notes: gevent's Semaphore on the shared linkable core with
 * notify_all off: release() schedules one notify pass, which resumes waiters
 * in the order they blocked for as long as the counter stays above zero (each
 * resumed acquirer takes one count before the pass looks again). An acquirer
 * that finds the counter above zero takes it without waiting, even if woken
 * waiters have not run yet: that is gevent's (and threading's) rule.
 * A Lock is a bounded semaphore of one; an RLock is a lock plus an owner and
 * a recursion count, as gevent.lock.RLock.
 */
#include "internal.h"

#include <math.h>

struct grove_semaphore {
  grove__linkable l;
  int counter;
  int initial;
  int bounded;
};

struct grove_rlock {
  grove_semaphore block; /* first: shares the linkable's destroy */
  grove_greenlet *owner;
  int count;
};

static int sem_ready(const grove__linkable *l) { return ((const grove_semaphore *)l)->counter > 0; }
static void semaphore_destroy(grove__linkable *l) { free(l); }

static int sem_check(const grove_semaphore *s) {
  if (!s || s->l.magic != GROVE__MAGIC_SEM)
    return GROVE_EINVAL;
  if (!grove__owned(s->l.hub))
    return GROVE_EPERM;
  return 0;
}

static void semaphore_init(grove_semaphore *s, grove_hub *hub, int value, int bounded,
                           uint32_t magic) {
  grove__linkable_init(&s->l, hub, magic, 0, sem_ready, semaphore_destroy);
  s->counter = value;
  s->initial = value;
  s->bounded = bounded;
}

static grove_semaphore *sem_new(int value, int bounded) {
  if (value < 0)
    return NULL;
  grove_hub *hub = grove__hub();
  if (!hub)
    return NULL;
  grove_semaphore *s = malloc(sizeof *s);
  if (!s)
    return NULL;
  semaphore_init(s, hub, value, bounded, GROVE__MAGIC_SEM);
  return s;
}

grove_semaphore *grove_semaphore_new(int value) { return sem_new(value, 0); }
grove_semaphore *grove_bounded_semaphore_new(int value) { return sem_new(value, 1); }

static int sem_acquire(grove_semaphore *s, double timeout) {
  if (isnan(timeout))
    return GROVE_EINVAL;
  if (s->counter > 0) {
    s->counter--;
    return 0;
  }
  if (grove__poll_only(s->l.hub, timeout))
    return GROVE_ETIMEDOUT;
  uint64_t deadline = grove__timeout_deadline(s->l.hub, timeout);
  while (s->counter <= 0) {
    int rc = grove__wait_until(s->l.hub, &s->l.links, deadline, "semaphore", s);
    if (rc)
      return rc;
  }
  s->counter--;
  return 0;
}

/* acquire(blocking=False): never switches. */
static int sem_try(grove_semaphore *s) {
  if (s->counter > 0) {
    s->counter--;
    return 0;
  }
  return GROVE_ETIMEDOUT;
}

static int sem_release(grove_semaphore *s) {
  if (s->bounded && s->counter >= s->initial)
    return GROVE_EOVERFLOW;
  s->counter++;
  grove__linkable_check_notify(&s->l);
  return 0;
}

int grove_semaphore_acquire(grove_semaphore *s, double timeout) {
  int rc = sem_check(s);
  return rc ? rc : sem_acquire(s, timeout);
}

int grove_semaphore_try_acquire(grove_semaphore *s) {
  int rc = sem_check(s);
  return rc ? rc : sem_try(s);
}

int grove_semaphore_release(grove_semaphore *s) {
  int rc = sem_check(s);
  return rc ? rc : sem_release(s);
}

int grove_semaphore_counter(const grove_semaphore *s) {
  int rc = sem_check(s);
  return rc ? rc : s->counter;
}

bool grove_semaphore_locked(const grove_semaphore *s) {
  return sem_check(s) == 0 && s->counter <= 0;
}

int grove_semaphore_wait(grove_semaphore *s, double timeout) {
  int rc = sem_check(s);
  if (rc)
    return rc;
  if (isnan(timeout))
    return GROVE_EINVAL;
  if (s->counter > 0)
    return 0;
  return grove__linkable_wait(&s->l, timeout, "semaphore");
}

int grove_semaphore_free(grove_semaphore *s) {
  int rc = sem_check(s);
  return rc ? rc : grove__linkable_release(&s->l);
}

/* ---- Lock --------------------------------------------------------------------- */

grove_lock *grove_lock_new(void) { return sem_new(1, 1); }
int grove_lock_acquire(grove_lock *l, double timeout) {
  return grove_semaphore_acquire(l, timeout);
}
int grove_lock_try_acquire(grove_lock *l) { return grove_semaphore_try_acquire(l); }
int grove_lock_release(grove_lock *l) { return grove_semaphore_release(l); }
bool grove_lock_locked(const grove_lock *l) { return grove_semaphore_locked(l); }
int grove_lock_free(grove_lock *l) { return grove_semaphore_free(l); }

/* ---- RLock -------------------------------------------------------------------- */

static int rlock_check(const grove_rlock *r) {
  if (!r || r->block.l.magic != GROVE__MAGIC_RLOCK)
    return GROVE_EINVAL;
  if (!grove__owned(r->block.l.hub))
    return GROVE_EPERM;
  return 0;
}

grove_rlock *grove_rlock_new(void) {
  grove_hub *hub = grove__hub();
  if (!hub)
    return NULL;
  grove_rlock *r = malloc(sizeof *r);
  if (!r)
    return NULL;
  semaphore_init(&r->block, hub, 1, 0, GROVE__MAGIC_RLOCK);
  r->owner = NULL;
  r->count = 0;
  return r;
}

static int rlock_acquire(grove_rlock *r, double timeout, int nowait) {
  int rc = rlock_check(r);
  if (rc)
    return rc;
  grove_greenlet *me = r->block.l.hub->head.current;
  if (r->owner == me) {
    r->count++;
    return 0;
  }
  rc = nowait ? sem_try(&r->block) : sem_acquire(&r->block, timeout);
  if (rc == 0) {
    r->owner = me;
    r->count = 1;
  }
  return rc;
}

int grove_rlock_acquire(grove_rlock *r, double timeout) { return rlock_acquire(r, timeout, 0); }
int grove_rlock_try_acquire(grove_rlock *r) { return rlock_acquire(r, 0, 1); }

int grove_rlock_release(grove_rlock *r) {
  int rc = rlock_check(r);
  if (rc)
    return rc;
  if (r->owner != r->block.l.hub->head.current)
    return GROVE_EPERM;
  if (--r->count == 0) {
    r->owner = NULL;
    sem_release(&r->block);
  }
  return 0;
}

bool grove_rlock_locked(const grove_rlock *r) { return rlock_check(r) == 0 && r->count > 0; }

int grove_rlock_free(grove_rlock *r) {
  int rc = rlock_check(r);
  if (rc)
    return rc;
  if (r->count > 0)
    return GROVE_EBUSY;
  return grove__linkable_release(&r->block.l);
}
