/* dead_letters.c - messages that cannot be delivered are counted and shown
 * to a hook before they are freed. */
#include <grove.h>
#include <stdio.h>

struct sleeper {
  grove_actor base;
};

static int sleeper_receive(grove_actor *self, grove_msg *msg) {
  if (grove_msg_is(msg, "nap")) {
    grove_sleep(0.2);
    grove_reply(msg, grove_msg_new("awake")); /* too late: the caller gave up */
  } else if (grove_msg_is(msg, "stop")) {
    return GROVE_STOP;
  }
  return 0;
}

static const grove_actor_class sleeper_class = {
    .name = "sleeper", .size = sizeof(struct sleeper), .receive = sleeper_receive};

/* The hook borrows msg: it may look at it, not keep or free it. */
static void on_dead_letter(grove_ref to, const grove_msg *msg, int reason, void *arg) {
  printf("dead letter #%llu: \"%s\" to %s (%s)\n", (unsigned long long)grove_dead_letter_count(),
         grove_msg_tag(msg), grove_ref_is_null(to) ? "main" : "an actor", grove_err_name(reason));
}

int main(void) {
  grove_dead_letter_hook(on_dead_letter, NULL);
  grove_ref s;
  grove_actor_opts opts = {.inbox_max = 1};
  grove_actor_spawn_ex(&sleeper_class, NULL, &opts, &s);

  grove_msg *reply;
  int rc = grove_call(s, grove_msg_new("nap"), &reply, 0.01);
  printf("call: %s\n", grove_err_name(rc));
  grove_send(s, grove_msg_new("first")); /* fills the inbox: s is still napping */
  rc = grove_send_timeout(s, grove_msg_new("second"), 0.01); /* inbox still full */
  printf("send with timeout: %s\n", grove_err_name(rc));
  grove_send(s, grove_msg_new("stop"));       /* waits for room */
  grove_send(s, grove_msg_new("after stop")); /* queued, never received */
  grove_actor_wait(s, NULL, 1.0);
  rc = grove_send(s, grove_msg_new("to the dead")); /* a stale ref */
  printf("send to an ended actor: %s\n", grove_err_name(rc));

  printf("%llu dead letters\n", (unsigned long long)grove_dead_letter_count());
  return grove_dead_letter_count() == 4 && grove_hub_close() == 0 ? 0 : 1;
}
