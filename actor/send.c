/* actor/send.c - send, call and reply.
 *
 * Design notes.
 *
 * A local send appends the message to the receiver's inbox (the pointer
 * moves: the sender gave it up) and schedules the receiver if it was idle.
 * A bounded inbox (inbox_max) makes senders wait in the receiver's
 * "senders" list; each message receive takes off the inbox lets the first
 * of them go on.
 *
 * Calls: the request carries the caller greenlet (referenced) and a token;
 * the caller blocks in the callee's "callers" list, so the callee's end wakes
 * it promptly - the call monitors the callee without a monitor - with
 * GROVE_EEXITED and the callee's exit reason in the wake-up's slot (Erlang's
 * {'EXIT', Reason} from gen_server:call). A callee that was not alive when
 * the call began is GROVE_ENOENT. A reply is delivered only if the caller is
 * still waiting with the same token; a late reply is a dead letter, never
 * the answer to a later call. grove_call_async's requests carry a future's
 * record instead of a greenlet (future.c); grove_reply hands them there.
 *
 * Error replies are one shape everywhere (locally, across hubs, on the
 * wire): tag "grove.error", body [code], and for GROVE_EEXITED [code,
 * reason] - a callee that ends before it replies answers the callers that
 * cannot wait among its callers (other hubs, other nodes) with one.
 *
 * A call always waits, so it starts with the hub's gate (grove__begin_wait):
 * the same codes in the same order as any other blocking call. A send waits
 * only while an inbox (or the link to a node) is full, and its wait passes
 * the same gate then; a send that finds room works anywhere, the hub's own
 * context included.
 */
#include "actor_internal.h"

#include <math.h>

int grove__actor_enqueue(grove__actor_sys *sys, grove_actor *a, grove_ref to, grove_msg *m,
                         uint64_t deadline) {
  while (GROVE__UNLIKELY(a->_max != 0 && a->_len >= a->_max) && deadline != 0) {
    /* Backpressure: wait for room. */
    grove_hub *hub = sys->hub;
    struct grove__actor_ext *e = grove__actor_ext(a);
    int rc;
    if (!e)
      rc = GROVE_ENOMEM;
    else if (grove__in_hub(hub))
      rc = GROVE_EFULL; /* the hub cannot wait */
    else if (deadline != UINT64_MAX && deadline <= grove__now())
      rc = GROVE_ETIMEDOUT;
    else
      rc = grove__wait_until(hub, &e->senders, deadline, "actor inbox full", a);
    if (rc == 0 && !(a = grove__actor_lookup(sys, to)))
      rc = GROVE_ENOENT;
    if (rc) {
      if ((m->flags & GROVE__MSG_CALL) && !m->acall)
        grove__set_token(grove__current(hub), 0);
      grove__dead_letter(sys, to, m, rc);
      return rc;
    }
  }
  m->next = NULL;
  if (a->_tail)
    a->_tail->next = m;
  else
    a->_head = m;
  a->_tail = m;
  a->_len++;
  grove__actor_schedule(sys, a);
  return 0;
}

int grove_send_timeout(grove_ref to, grove_msg *msg, double timeout) {
  if (!msg)
    return GROVE_EINVAL;
  grove__actor_sys *sys = grove__actor_sys_get();
  if (!sys) {
    grove__msg_release(NULL, msg);
    return GROVE_ENOMEM;
  }
  if (GROVE__UNLIKELY(isnan(timeout))) {
    grove__dead_letter(sys, to, msg, GROVE_EINVAL);
    return GROVE_EINVAL;
  }
  msg->sender = grove__self_ref(sys);
  /* A message received from another node and sent on is this node's now:
   * its flow-control credit went back when the first receive took it. */
  msg->origin = 0;
  /* A send blocks only while the receiver's inbox (or, remotely, the link
   * to its node) is full: the wait itself passes the hub's gate then, and a
   * send that finds room works from the hub's own context too. */
  uint64_t deadline = grove__deadline(sys->hub, timeout);
  if (GROVE__UNLIKELY(to.node != 0)) {
    if (!grove__remote_of(sys)) {
      grove__dead_letter(sys, to, msg, GROVE_EHOSTUNREACH);
      return GROVE_EHOSTUNREACH;
    }
    return grove__remote_of(sys)->send(to, msg, deadline);
  }
  grove_actor *a = grove__actor_lookup(sys, to);
  if (!a) {
    if (GROVE__UNLIKELY(grove__ref_other_hub(sys, to)))
      return grove__x_send(sys, to, msg, deadline); /* actor/hubs.c */
    grove__dead_letter(sys, to, msg, GROVE_ENOENT);
    return GROVE_ENOENT;
  }
  return grove__actor_enqueue(sys, a, to, msg, deadline);
}

int grove_send(grove_ref to, grove_msg *msg) { return grove_send_timeout(to, msg, GROVE_FOREVER); }

int grove_call_ex(grove_ref to, grove_msg *msg, grove_msg **reply, double timeout,
                  int *exit_reason) {
  if (reply)
    *reply = NULL;
  if (exit_reason)
    *exit_reason = 0;
  if (!msg)
    return GROVE_EINVAL;
  grove__actor_sys *sys = grove__actor_sys_get();
  if (!sys) {
    grove__msg_release(NULL, msg);
    return GROVE_ENOMEM;
  }
  grove_hub *hub = sys->hub;
  grove_greenlet *cur = grove__current(hub);
  grove_actor *a = NULL;
  uint64_t deadline = UINT64_MAX;
  int rc = 0;
  bool xhub = false; /* the callee is on another hub (actor/hubs.c) */
  if (!reply || isnan(timeout))
    rc = GROVE_EINVAL;
  else if (to.node == 0 && !(a = grove__actor_lookup(sys, to)) &&
           !(xhub = grove__ref_other_hub(sys, to)))
    rc = GROVE_ENOENT;
  else if (a && grove__ext(cur) == a)
    rc = GROVE_EDEADLK;
  else if ((rc = grove__begin_wait(hub, timeout, &deadline)) != 0)
    ;
  else if (timeout == 0 && grove__in_hub(hub))
    rc = GROVE_EPERM; /* a call waits for its reply, even with a timeout of 0 */
  else if (to.node != 0 && !grove__remote_of(sys))
    rc = GROVE_EHOSTUNREACH;
  else if (a && !grove__actor_ext(a))
    rc = GROVE_ENOMEM;
  if (rc) {
    grove__dead_letter(sys, to, msg, rc);
    return rc;
  }
  msg->sender = grove__self_ref(sys);
  msg->origin = 0; /* as in grove_send_timeout */
  if (to.node != 0)
    return grove__remote_of(sys)->call(to, msg, reply, deadline, exit_reason);
  if (GROVE__UNLIKELY(xhub))
    return grove__x_call(sys, to, msg, reply, deadline, exit_reason);
  msg->flags |= GROVE__MSG_CALL;
  msg->caller = grove_greenlet_ref(cur);
  msg->token = ++sys->next_token;
  grove__set_token(cur, msg->token);
  grove__set_slot(cur, NULL);
  if ((rc = grove__actor_enqueue(sys, a, to, msg, deadline)) != 0)
    return rc;
  /* Wait among the callee's callers: its end wakes us (GROVE_EEXITED, the
   * reason in the slot). */
  rc = grove__wait_until(hub, &a->_ext->callers, deadline, "call", a);
  grove__set_token(cur, 0);
  void *slot = grove__take_slot(cur);
  if (GROVE__UNLIKELY(rc)) {
    if (rc == GROVE_EEXITED && exit_reason)
      *exit_reason = (int)(intptr_t)slot;
    return rc;
  }
  grove_msg *r = slot;
  if (GROVE__UNLIKELY(r->flags & GROVE__MSG_ERROR)) {
    rc = r->error;
    if (rc == GROVE_EEXITED && exit_reason)
      *exit_reason = grove__error_reply_reason(r);
    grove__msg_release(sys, r);
    return rc;
  }
  *reply = r;
  return 0;
}

int grove_call(grove_ref to, grove_msg *msg, grove_msg **reply, double timeout) {
  return grove_call_ex(to, msg, reply, timeout, NULL);
}

int grove_reply(grove_msg *request, grove_msg *reply) {
  grove__actor_sys *sys = grove__actor_sys_get();
  if (!sys) {
    grove__msg_release(NULL, reply);
    return GROVE_ENOMEM;
  }
  if (!reply)
    return GROVE_EINVAL;
  if (!request || !(request->flags & GROVE__MSG_CALL)) {
    grove__dead_letter(sys, request ? request->sender : GROVE_REF_NULL, reply, GROVE_EINVAL);
    return GROVE_EINVAL;
  }
  if (request->flags & GROVE__MSG_REPLIED) {
    grove__dead_letter(sys, request->sender, reply, GROVE_EEXIST);
    return GROVE_EEXIST;
  }
  request->flags |= GROVE__MSG_REPLIED;
  reply->sender = grove__self_ref(sys);
  if (request->remote) {
    if (!grove__remote_of(sys)) {
      grove__dead_letter(sys, request->sender, reply, GROVE_EHOSTUNREACH);
      return 0;
    }
    return grove__remote_of(sys)->reply(request->remote, request->token, request->sender, reply);
  }
  if (GROVE__UNLIKELY(request->acall != NULL)) {
    grove__acall_reply(sys, request, reply); /* a future's (future.c) */
    return 0;
  }
  grove_greenlet *g = request->caller;
  if (GROVE__UNLIKELY(grove__greenlet_hub(g) != sys->hub)) {
    grove__x_reply(request, reply); /* the caller is on another hub */
    return 0;
  }
  if (grove__waiting(g) && grove__token(g) == request->token) {
    grove__set_slot(g, reply);
    grove__wake(g, 0);
  } else {
    grove__dead_letter(sys, request->sender, reply, GROVE_ETIMEDOUT); /* too late */
  }
  return 0;
}

int grove_reply_error(grove_msg *request, int error) {
  grove_msg *r = grove_msg_new("grove.error");
  if (!r)
    return GROVE_ENOMEM;
  r->flags |= GROVE__MSG_ERROR;
  r->error = error ? error : GROVE_EFAILED;
  grove_msg_pack_int(r, r->error);
  return grove_reply(request, r);
}

int grove__reply_exited(grove_msg *request, int reason) {
  grove_msg *r = grove_msg_new("grove.error");
  if (!r)
    return GROVE_ENOMEM;
  r->flags |= GROVE__MSG_ERROR;
  r->error = GROVE_EEXITED;
  grove_msg_pack_int(r, GROVE_EEXITED);
  grove_msg_pack_int(r, reason);
  return grove_reply(request, r);
}

int grove__error_reply_reason(grove_msg *r) {
  int64_t v;
  if (grove_msg_int(r, 1, &v) != 0 || v < INT32_MIN || v > INT32_MAX)
    return GROVE_EFAILED;
  return (int)v;
}
