/* actor/group.c - actors as members of a grove_group (gevent's Group and
 * Pool holding actors).
 *
 * Design notes.
 *
 * The group lives in the hub layer, which knows nothing of actors; it takes
 * members that are not greenlets through hub_api.h's grove__member (gevent's
 * Group is duck-typed the same way: anything with rawlink and kill). An
 * actor's membership is a small heap record, pointed to by the actor's
 * extension while it is a member: it must outlive the actor, because the
 * actor leaves its group on the turn after it ended (the record's run-queue
 * entry), as a greenlet leaves from its link notification. The record's
 * `left` frees it. A group's kill sends the actor an untrappable exit
 * (GROVE_EXIT_KILLED, as grove_kill cannot be ignored by a greenlet that
 * does not catch it): the actor ends after the message it is processing,
 * its blocking calls cancelled, and its terminate runs.
 *
 * A Pool's slot is taken before the actor is created (Pool.spawn acquires
 * its semaphore first), so a spawn into a full pool waits and creates
 * nothing until a member has left.
 */
#include "actor_internal.h"

#include <math.h>

typedef struct actor_member {
  grove__member m;
  grove_ref ref;
} actor_member;

static void member_kill(grove__member *m) {
  grove_actor_exit(((actor_member *)m)->ref, GROVE_EXIT_KILLED);
}

static void member_left(grove__member *m) { free(m); }

void grove__actor_group_ended(struct grove__actor_ext *e) {
  grove__member *m = e->member;
  e->member = NULL;
  grove__member_ended(m);
}

/* a is alive, on this hub, in no group; the slot is reserved. */
static int join(grove_group *grp, grove_actor *a) {
  struct grove__actor_ext *e = grove__actor_ext(a);
  actor_member *am = e ? calloc(1, sizeof *am) : NULL;
  if (!am)
    return GROVE_ENOMEM;
  am->ref = grove_actor_ref(a);
  am->m.kill = member_kill;
  am->m.left = member_left;
  e->member = &am->m;
  grove__group_add_member(grp, &am->m);
  return 0;
}

/* The live actor of this hub that ref names: GROVE_ENOENT, or GROVE_EPERM
 * for an actor of another hub or node (a group belongs to one hub). */
static int local_actor(grove__actor_sys *sys, grove_ref ref, grove_actor **out) {
  *out = grove__actor_lookup(sys, ref);
  if (*out)
    return 0;
  if (grove_ref_is_null(ref))
    return GROVE_EINVAL;
  return grove__ref_here(sys, ref) ? GROVE_ENOENT : GROVE_EPERM;
}

int grove_group_spawn_actor(grove_group *grp, const grove_actor_class *cls, void *arg,
                            const grove_actor_opts *opts, grove_ref *out) {
  if (out)
    *out = GROVE_REF_NULL;
  int rc = grove__group_check(grp);
  if (rc)
    return rc;
  if (!cls || !cls->receive || cls->size < sizeof(grove_actor))
    return GROVE_EINVAL;
  grove__actor_sys *sys = grove__actor_sys_get();
  if (!sys)
    return GROVE_ENOMEM;
  if ((rc = grove__group_reserve(grp, GROVE_FOREVER)) != 0)
    return rc;
  grove_ref ref;
  if ((rc = grove_actor_spawn_ex(cls, arg, opts, &ref)) != 0) {
    grove__group_unreserve(grp);
    return rc;
  }
  /* Spawning never blocks and the actor has not run yet: it is alive. */
  if ((rc = join(grp, grove__actor_lookup(sys, ref))) != 0) {
    grove__group_unreserve(grp);
    grove_actor_exit(ref, GROVE_EXIT_KILLED);
    return rc;
  }
  if (out)
    *out = ref;
  return 0;
}

int grove_group_add_actor(grove_group *grp, grove_ref ref, double timeout) {
  int rc = grove__group_check(grp);
  if (rc)
    return rc;
  if (isnan(timeout))
    return GROVE_EINVAL;
  grove__actor_sys *sys = grove__actor_sys_get();
  if (!sys)
    return GROVE_ENOMEM;
  grove_actor *a;
  if ((rc = local_actor(sys, ref, &a)) != 0)
    return rc;
  if (a->_ext && a->_ext->member)
    return GROVE_EEXIST;
  if ((rc = grove__group_reserve(grp, timeout)) != 0)
    return rc;
  /* It may have ended, or joined a group, while we waited for room. */
  rc = local_actor(sys, ref, &a);
  if (rc == 0 && a->_ext && a->_ext->member)
    rc = GROVE_EEXIST;
  if (rc == 0)
    rc = join(grp, a);
  if (rc)
    grove__group_unreserve(grp);
  return rc;
}

int grove_group_discard_actor(grove_group *grp, grove_ref ref) {
  int rc = grove__group_check(grp);
  if (rc)
    return rc;
  grove__actor_sys *sys = grove__actor_sys_get();
  if (!sys)
    return GROVE_ENOMEM;
  grove_actor *a;
  if ((rc = local_actor(sys, ref, &a)) != 0)
    return rc;
  grove__member *m = a->_ext ? a->_ext->member : NULL;
  if (!m || m->group != grp)
    return GROVE_ENOENT;
  a->_ext->member = NULL;
  grove__member_discard(m); /* frees m */
  return 0;
}

bool grove_group_contains_actor(const grove_group *grp, grove_ref ref) {
  if (grove__group_check(grp) != 0)
    return false;
  grove__actor_sys *sys = grove__actor_sys_peek();
  grove_actor *a = sys ? grove__actor_lookup(sys, ref) : NULL;
  return a && a->_ext && a->_ext->member && a->_ext->member->group == grp;
}
