/* actor/future.c - replies as futures: grove_call_async and grove_call_result.
 *
 * Design notes.
 *
 * A future is an ordinary grove_async_result (hub/prim/event.c) that this
 * file owns (grove__async_result_new_owned): the user gets it, waits on it,
 * waits on many with grove_wait/grove_iwait, and frees it with the public
 * calls; the call's record (grove__acall, below) settles it once, with the
 * reply or the call's error. The record lives on the heap, on the caller's
 * hub, and is counted: one reference for the result (until the user frees
 * it), one for the request while it exists (the request carries the record
 * in m->acall), one for the transport's pending call (remote calls). When
 * the last one goes, the record is freed. So:
 *   - freeing the result first is safe: the record forgets it (r = NULL);
 *     a reply that comes later finds no result and is a dead letter
 *     (reason GROVE_ECANCELED), counted, never written anywhere; a remote
 *     call is cancelled at once (the transport forgets it: a late REPLY is
 *     counted as unknown_target);
 *   - the reply is held by the record (and is the result's value) until
 *     grove_call_result takes it, or the result is freed with it.
 *
 * Settling mirrors what grove_call's wait sees, path by path:
 *   - local callee, this hub: the request is a CALL whose caller is the
 *     record; grove_reply settles it directly (no greenlet is woken: the
 *     result's own notification wakes whoever waits on it). The record waits
 *     in the callee's `acallers` list, as a blocking caller waits in its
 *     `callers`: the callee's end settles it with GROVE_EEXITED and its
 *     reason, whatever became of the request (queued, being handled, kept).
 *   - another hub: the request crosses as grove_call's does; the reply (or
 *     the callee's end, answering it with an exit reply) comes home in a
 *     message that carries the record, and is settled on the caller's hub.
 *     A request freed on the callee's hub goes home to drop its reference.
 *   - another node: the transport keeps the record with its pending call
 *     (transport/calls.c) and settles it with the REPLY or a node-down.
 *   - a timeout given to grove_call_async is the result's deadline: it
 *     fails with GROVE_ETIMEDOUT, and a reply after that is a dead letter
 *     (reason GROVE_ETIMEDOUT), as grove_call's late replies are.
 *
 * The blocking grove_call keeps its own path (send.c): the caller greenlet
 * itself is the reply's destination, so a call allocates nothing and wakes
 * exactly one greenlet. Building it on a future would add an allocation and
 * a notification pass per call (the call_roundtrip benchmark) for no
 * behaviour a user could see; the two share everything else - the request,
 * grove_reply, the callee's end, the error replies (send.c).
 */
#include "actor_internal.h"

#include <math.h>

struct grove__acall {
  grove__list link;      /* in the local callee's acallers while it may settle it */
  grove_async_result *r; /* NULL once the user freed it */
  grove_msg *reply;      /* the reply r holds (its value) until taken */
  grove_hub *hub;        /* the caller's hub: the record and r are its */
  void *remote;          /* the transport's pending call (remote calls) */
  grove_ref to;
  uint32_t refs;
  int reason; /* GROVE_EEXITED: the callee's exit reason */
};

static void result_freed(void *owner, void *value);
static const grove__result_owner future_ops = {result_freed};

void grove__acall_unref(grove__acall *c) {
  if (--c->refs)
    return;
  if (grove__list_linked(&c->link))
    grove__list_remove(&c->link);
  free(c);
}

void grove__acall_set_remote(grove__acall *c, void *rec) { c->remote = rec; }

/* The user freed the result: the record forgets it; an untaken reply goes
 * with it; a remote call still pending is cancelled. */
static void result_freed(void *owner, void *value) {
  grove__acall *c = owner;
  (void)value; /* the reply, if any, is c->reply (value may be NULL once taken) */
  c->r = NULL;
  if (c->reply) {
    grove__msg_release(grove__actor_sys_peek(), c->reply);
    c->reply = NULL;
  }
  if (grove__list_linked(&c->link))
    grove__list_remove(&c->link); /* the callee's end has nothing to settle */
  if (c->remote) {
    grove__actor_sys *sys = grove__actor_sys_peek();
    void *rec = c->remote;
    c->remote = NULL;
    if (sys && grove__remote_of(sys))
      grove__remote_of(sys)->call_cancel(rec); /* drops the transport's reference */
  }
  grove__acall_unref(c);
}

void grove__acall_settle(grove__acall *c, grove_msg *reply, int status, int reason) {
  if (grove__list_linked(&c->link))
    grove__list_remove(&c->link);
  if (!c->r || grove_async_result_ready(c->r)) {
    /* Freed, or already settled (its deadline passed): too late. */
    if (reply)
      grove__dead_letter(grove__actor_sys_peek(), c->to, reply,
                         c->r ? GROVE_ETIMEDOUT : GROVE_ECANCELED);
    return;
  }
  if (reply && (reply->flags & GROVE__MSG_ERROR)) {
    status = reply->error;
    reason = status == GROVE_EEXITED ? grove__error_reply_reason(reply) : 0;
    grove__msg_release(grove__actor_sys_peek(), reply);
    reply = NULL;
  }
  if (reply) {
    c->reply = reply;
    grove_async_result_set(c->r, reply);
    return;
  }
  c->reason = reason;
  grove_async_result_set_error(c->r, status ? status : GROVE_EFAILED);
}

void grove__acalls_exited(struct grove__actor_ext *e, int reason) {
  grove__list *n;
  while ((n = grove__list_pop(&e->acallers)) != NULL)
    grove__acall_settle(grove__container_of(n, grove__acall, link), NULL, GROVE_EEXITED, reason);
}

/* ---- replies ------------------------------------------------------------------------- */

/* At the caller's hub: a reply that crossed from the callee's. */
static void reply_arrive(grove__xnode *n) {
  grove_msg *m = grove__container_of(n, grove_msg, xnode);
  grove__acall *c = m->acall;
  m->acall = NULL;
  grove__acall_settle(c, m, 0, 0);
  grove__acall_unref(c); /* the request's reference, moved into the reply */
}

void grove__acall_reply(grove__actor_sys *sys, grove_msg *request, grove_msg *reply) {
  grove__acall *c = request->acall;
  if (GROVE__LIKELY(c->hub == sys->hub)) {
    grove__acall_settle(c, reply, 0, 0);
    return;
  }
  request->acall = NULL; /* its reference travels home in the reply */
  reply->acall = c;
  reply->xto = request->sender;
  reply->xnode.fn = reply_arrive;
  grove__hub_push(c->hub, &reply->xnode);
}

grove_hub *grove__acall_hub(const grove__acall *c) { return c->hub; }

/* ---- the calls --------------------------------------------------------------------------- */

/* Send m as c's request. Takes m (a dead letter when it fails). */
static int start(grove__actor_sys *sys, grove__acall *c, grove_ref to, grove_msg *m,
                 uint64_t deadline) {
  if (GROVE__UNLIKELY(to.node != 0)) {
    if (!grove__remote_of(sys)) {
      grove__dead_letter(sys, to, m, GROVE_EHOSTUNREACH);
      return GROVE_EHOSTUNREACH;
    }
    c->refs++; /* the transport's, if it takes the call */
    int rc = grove__remote_of(sys)->call_async(to, m, c, deadline);
    if (rc)
      c->refs--;
    return rc;
  }
  grove_actor *a = grove__actor_lookup(sys, to);
  if (!a) {
    grove_hub *th = grove__ref_other_hub(sys, to) ? grove__hub_at(grove__ref_hub(to)) : NULL;
    if (!th || th == sys->hub) {
      grove__dead_letter(sys, to, m, GROVE_ENOENT);
      return GROVE_ENOENT;
    }
    m->flags |= GROVE__MSG_CALL;
    m->acall = c;
    c->refs++;
    grove__x_call_async(th, to, m); /* actor/hubs.c */
    return 0;
  }
  struct grove__actor_ext *e = grove__actor_ext(a);
  if (!e) {
    grove__dead_letter(sys, to, m, GROVE_ENOMEM);
    return GROVE_ENOMEM;
  }
  m->flags |= GROVE__MSG_CALL;
  m->acall = c;
  c->refs++;
  grove__list_push(&e->acallers, &c->link);
  return grove__actor_enqueue(sys, a, to, m, deadline);
}

int grove_call_async(grove_ref to, grove_msg *msg, grove_async_result **result, double timeout) {
  if (result)
    *result = NULL;
  if (!msg)
    return GROVE_EINVAL;
  grove__actor_sys *sys = grove__actor_sys_get();
  if (!sys) {
    grove__msg_release(NULL, msg);
    return GROVE_ENOMEM;
  }
  if (!result || isnan(timeout)) {
    grove__dead_letter(sys, to, msg, GROVE_EINVAL);
    return GROVE_EINVAL;
  }
  grove__acall *c = calloc(1, sizeof *c);
  grove_async_result *r = c ? grove__async_result_new_owned(&future_ops, c) : NULL;
  uint64_t deadline = grove__deadline(sys->hub, timeout);
  if (r && grove__async_result_deadline(r, deadline) != 0) {
    grove_async_result_free(r); /* frees c too */
    c = NULL;
    r = NULL;
  }
  if (!r) {
    free(c);
    grove__dead_letter(sys, to, msg, GROVE_ENOMEM);
    return GROVE_ENOMEM;
  }
  grove__list_init(&c->link);
  c->r = r;
  c->hub = sys->hub;
  c->to = to;
  c->refs = 1; /* the result's */
  msg->sender = grove__self_ref(sys);
  msg->origin = 0; /* as in grove_send_timeout */
  int rc = start(sys, c, to, msg, deadline);
  if (rc)
    grove__acall_settle(c, NULL, rc, 0);
  *result = r;
  return 0;
}

int grove_call_result(grove_async_result *result, grove_msg **reply, int *exit_reason,
                      double timeout) {
  if (reply)
    *reply = NULL;
  if (exit_reason)
    *exit_reason = 0;
  grove__acall *c = grove__async_result_owner(result, &future_ops);
  if (!c) /* not a future of this hub: another hub's (EPERM), or not one at all */
    return result && grove_async_result_error(result) == GROVE_EPERM ? GROVE_EPERM : GROVE_EINVAL;
  if (!reply)
    return GROVE_EINVAL;
  void *v;
  int rc = grove_async_result_get(result, &v, timeout);
  if (rc == GROVE_EEXITED && exit_reason)
    *exit_reason = c->reason;
  if (rc)
    return rc;
  if (!c->reply)
    return GROVE_EINVAL; /* taken already */
  *reply = c->reply;
  c->reply = NULL;
  grove_async_result_set(result, NULL); /* get now gives NULL: the reply is the taker's */
  return 0;
}
