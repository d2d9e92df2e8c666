/* call.c - requests and replies: grove_call is a future the callee
 * completes with grove_reply; timeouts, late replies, error replies,
 * deferred replies, and a callee that dies. */
#include <grove.h>
#include <stdio.h>

#define E_NOT_FOUND (-5001) /* an application error code */

struct server {
  grove_actor base;
  grove_msg *waiting; /* a request answered later (taken) */
};

static int server_receive(grove_actor *self, grove_msg *msg) {
  struct server *s = (struct server *)self;
  if (grove_msg_is(msg, "add")) {
    int64_t a = 0, b = 0;
    grove_msg_int(msg, 0, &a);
    grove_msg_int(msg, 1, &b);
    grove_msg *r = grove_msg_new("sum");
    grove_msg_pack_int(r, a + b);
    grove_reply(msg, r);
  } else if (grove_msg_is(msg, "slow")) {
    grove_sleep(0.2); /* receive may block; later messages wait */
    int rc = grove_reply(msg, grove_msg_new("late"));
    printf("server: late reply sent (%s)\n", grove_err_name(rc));
  } else if (grove_msg_is(msg, "lookup")) {
    grove_reply_error(msg, E_NOT_FOUND); /* the caller's grove_call returns it */
  } else if (grove_msg_is(msg, "wait_job")) {
    s->waiting = grove_msg_take(msg); /* answer when the job is done */
  } else if (grove_msg_is(msg, "job_done") && s->waiting) {
    grove_reply(s->waiting, grove_msg_new("done"));
    grove_msg_free(s->waiting); /* a taken request is ours to free */
    s->waiting = NULL;
  } else if (grove_msg_is(msg, "crash")) {
    return GROVE_EFAILED; /* ends without replying */
  }
  return 0;
}

static const grove_actor_class server_class = {
    .name = "server", .size = sizeof(struct server), .receive = server_receive};

static grove_ref server;

static void *job(void *arg) {
  grove_sleep(0.01);
  grove_send(server, grove_msg_new("job_done"));
  return NULL;
}

int main(void) {
  server = grove_actor_spawn(&server_class, NULL);
  grove_msg *req, *reply;

  req = grove_msg_new("add");
  grove_msg_pack_int(req, 2);
  grove_msg_pack_int(req, 3);
  int rc = grove_call(server, req, &reply, 1.0); /* takes req */
  int64_t sum = 0;
  if (rc == 0) {
    grove_msg_int(reply, 0, &sum);
    grove_msg_free(reply);
  }
  printf("add: %s %lld\n", grove_err_name(rc), (long long)sum);

  int rc1 = grove_call(server, grove_msg_new("slow"), &reply, 0.01);
  printf("slow: %s\n", grove_err_name(rc1));
  req = grove_msg_new("add"); /* waits behind "slow" in the inbox */
  grove_msg_pack_int(req, 1);
  grove_msg_pack_int(req, 1);
  rc = grove_call(server, req, &reply, 1.0);
  if (rc == 0) {
    printf("next call: %s (the late reply went to the dead letters: %llu)\n", grove_msg_tag(reply),
           (unsigned long long)grove_dead_letter_count());
    grove_msg_free(reply);
  }

  int rc2 = grove_call(server, grove_msg_new("lookup"), &reply, 1.0);
  printf("lookup: %d (%s)\n", rc2, rc2 == E_NOT_FOUND ? "E_NOT_FOUND" : grove_err_name(rc2));

  grove_greenlet *g = grove_spawn(job, NULL);
  int rc3 = grove_call(server, grove_msg_new("wait_job"), &reply, 1.0);
  printf("wait_job: %s %s\n", grove_err_name(rc3), rc3 == 0 ? grove_msg_tag(reply) : "-");
  if (rc3 == 0)
    grove_msg_free(reply);
  grove_join(g, GROVE_FOREVER);
  grove_greenlet_release(g);

  /* The callee ends before replying: the call fails at once, not after 5 s,
   * with the reason it ended with (Erlang's {'EXIT', Reason}). */
  int why = 0;
  int rc4 = grove_call_ex(server, grove_msg_new("crash"), &reply, 5.0, &why);
  printf("crash: %s, reason %s\n", grove_err_name(rc4), grove_exit_reason_name(why));
  /* Now nobody is there: no such actor. */
  int rc5 = grove_call(server, grove_msg_new("add"), &reply, 5.0);
  printf("after: %s\n", grove_err_name(rc5));
  return rc1 == GROVE_ETIMEDOUT && rc2 == E_NOT_FOUND && rc3 == 0 && rc4 == GROVE_EEXITED &&
                 rc5 == GROVE_ENOENT && grove_hub_close() == 0
             ? 0
             : 1;
}
