/* grove/group.h - Group and Pool (gevent.pool).
 *
 * A group tracks running greenlets: a greenlet leaves its group by itself
 * when it finishes. A pool is a group with a maximum size: spawning into (or
 * adding to) a full pool blocks until a member finishes. map / imap /
 * apply_async spread work over the members.
 *
 * A group holds a reference on each member while it is a member. Calls that
 * return a greenlet return a new reference the caller must release. A
 * greenlet can be a member of one group at a time.
 *
 * Actors can be members too (grove/actor.h: grove_group_spawn_actor,
 * grove_group_add_actor): join, kill, size and a pool's bound count them
 * with the greenlets; map, imap and apply run greenlets only.
 */
#ifndef GROVE_GROUP_H
#define GROVE_GROUP_H

#include <stdbool.h>
#include <stddef.h>

#include "greenlet.h"

#ifdef __cplusplus
extern "C" {
#endif

#pragma GCC visibility push(default)

typedef struct grove_group grove_group;
typedef struct grove_imap grove_imap;

grove_group *grove_group_new(void);
/* A pool of at most `size` running members (size 0: nothing can ever be
 * spawned into it; useful only with grove_pool_wait_available). */
grove_group *grove_pool_new(size_t size);

/* Spawn fn(arg) as a member; blocks while a pool is full. Returns a new
 * reference, or NULL (NULL fn, out of memory, or the caller was killed or
 * timed out while waiting for room: grove_group_spawn_ex says which). */
grove_greenlet *grove_group_spawn(grove_group *grp, grove_fn fn, void *arg);

/* grove_group_spawn with spawn options (opts may be NULL) that says why it
 * failed: 0 and *out (a new reference), or GROVE_EINVAL (NULL grp, fn or
 * out), GROVE_ENOMEM, or the code of the wait for room in a full pool
 * (GROVE_ECANCELED, GROVE_ETIMEDOUT from a scoped timeout, GROVE_ELOOPEXIT,
 * GROVE_EPERM from the hub's own context); *out is NULL then. */
int grove_group_spawn_ex(grove_group *grp, grove_fn fn, void *arg, const grove_spawn_opts *opts,
                         grove_greenlet **out);

/* Track g (which should not have started yet); blocks while a pool is full.
 * Returns 0, GROVE_EEXIST if g is already in a group, GROVE_ETIMEDOUT,
 * GROVE_ECANCELED, GROVE_EINVAL. A finished g is accepted and leaves on the
 * next turn of the hub (as in gevent, its link notification removes it). */
int grove_group_add(grove_group *grp, grove_greenlet *g, double timeout);

/* Stop tracking g (it keeps running). GROVE_ENOENT if it is not a member. */
int grove_group_discard(grove_group *grp, grove_greenlet *g);

bool grove_group_contains(const grove_group *grp, const grove_greenlet *g);
size_t grove_group_size(const grove_group *grp);

/* Block until the group has been empty at least once (no greenlet and no
 * actor member). 0, GROVE_ETIMEDOUT,
 * GROVE_ECANCELED, GROVE_ELOOPEXIT. */
int grove_group_join(grove_group *grp, double timeout);

/* Kill every member, then wait until they have all finished (as
 * grove_killall; actor members get an exit with GROVE_EXIT_KILLED and are
 * waited for until they have left). Returns 0, or the wait's code
 * (GROVE_ETIMEDOUT, GROVE_ECANCELED); members still running then stay. */
int grove_group_kill(grove_group *grp, double timeout);

/* Pools: how many more members fit (a group: always 1), whether it is full,
 * and a wait until at least one more fits. */
size_t grove_pool_free_count(const grove_group *grp);
bool grove_pool_full(const grove_group *grp);
int grove_pool_wait_available(grove_group *grp, double timeout);

/* Run fn(args[i]) for i in [0, n) as members (at most the pool size at once)
 * and store each return value in results[i]: gevent's Group.map. A helper
 * greenlet (not a member) spawns every task first, blocking while a pool
 * is full, then reads the results in index order: the first task found
 * failed in that order ends the call with its error (results[i] is written
 * for the indices before it only), while the tasks after it keep running;
 * join the group to wait for them. Returns 0 once all have finished, that
 * error, or a wait error (the caller killed: GROVE_ECANCELED; the helper
 * goes on spawning and reading, as gevent's). */
int grove_group_map(grove_group *grp, grove_fn fn, void **args, size_t n, void **results);

/* Start fn(args[i]) for every i as members (a helper greenlet spawns them, so
 * this never blocks) and return an iterator over the results. imap yields
 * them in index order, imap_unordered as they finish. NULL if out of memory. */
grove_imap *grove_group_imap(grove_group *grp, grove_fn fn, void **args, size_t n);
grove_imap *grove_group_imap_unordered(grove_group *grp, grove_fn fn, void **args, size_t n);

typedef struct grove_imap_opts {
  bool unordered; /* imap_unordered: results as they finish */
  size_t maxsize; /* gevent's maxsize: the helper spawns a task only while fewer than
                   * maxsize results wait to be read (0: no bound) */
} grove_imap_opts;

/* imap(func, iterable, maxsize=...) or imap_unordered(...): as above, with
 * options (NULL: grove_group_imap). With a maxsize the helper takes one of
 * maxsize counts before it spawns each task, and each grove_imap_next gives
 * one back before it reads (gevent's _result_semaphore, counted the same
 * way). Freeing the iterator ends a helper that waits for such a count. */
grove_imap *grove_group_imap_ex(grove_group *grp, grove_fn fn, void **args, size_t n,
                                const grove_imap_opts *opts);

/* Next result: 0 with *result (and *index, the task's position in args; both
 * may be NULL); the task's error if it failed; GROVE_EOF when every result
 * has been returned; or a wait error (GROVE_ETIMEDOUT ...). */
int grove_imap_next(grove_imap *it, void **result, size_t *index, double timeout);

/* Free the iterator. Tasks still running keep running; GROVE_EBUSY (nothing
 * freed) while a greenlet is blocked in grove_imap_next. */
int grove_imap_free(grove_imap *it);

/* Run fn(arg) in the group without blocking, even if the pool is full (then
 * it runs in a plain greenlet, as in gevent). If callback is given, it is
 * called with the result in its own greenlet when fn succeeds. Returns a new
 * reference to the greenlet running fn, or NULL. */
grove_greenlet *grove_group_apply_async(grove_group *grp, grove_fn fn, void *arg,
                                        void (*callback)(void *result, void *cb_arg), void *cb_arg);

/* Run fn(arg) in the group and wait for it: grove_get's return codes, or
 * those of grove_group_spawn_ex when a full pool's wait for room failed.
 * Called by a member of the group, fn runs inline in the caller (gevent's
 * _apply_immediately); if the caller is killed during it, apply returns
 * GROVE_ECANCELED. fn cannot fail the call: a grove_exit in fn ends the
 * caller itself (C cannot catch it; see docs/guide.md, "Where grove differs
 * from gevent"). */
int grove_group_apply(grove_group *grp, grove_fn fn, void *arg, void **value);

/* Free the group. GROVE_EBUSY (nothing freed) while it has members or
 * greenlets wait on it. */
int grove_group_free(grove_group *grp);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif
#endif
