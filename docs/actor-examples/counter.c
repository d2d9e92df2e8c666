/* counter.c - an actor class: a struct that starts with a grove_actor, and a
 * class table with init, receive and terminate. */
#include <grove.h>
#include <stdio.h>

struct counter {
  grove_actor base; /* first member: grove's part of the actor */
  const char *name;
  int64_t total;
};

static int counter_init(grove_actor *self, void *arg) {
  struct counter *c = (struct counter *)self; /* the struct grove allocated, zeroed */
  c->name = arg;
  printf("%s: init\n", c->name);
  return 0; /* nonzero: the actor ends at once with that reason */
}

static int counter_receive(grove_actor *self, grove_msg *msg) {
  struct counter *c = (struct counter *)self;
  if (grove_msg_is(msg, "add")) {
    int64_t n;
    if (grove_msg_int(msg, 0, &n) != 0)
      return GROVE_EINVAL; /* a malformed message ends the actor with this reason */
    c->total += n;
    printf("%s: add %lld\n", c->name, (long long)n);
  } else if (grove_msg_is(msg, "get")) {
    grove_msg *reply = grove_msg_new("total");
    grove_msg_pack_int(reply, c->total);
    grove_reply(msg, reply); /* takes reply */
  } else if (grove_msg_is(msg, "stop")) {
    return GROVE_STOP; /* ends the actor normally */
  }
  return 0; /* msg is freed when receive returns */
}

static void counter_terminate(grove_actor *self, int reason) {
  struct counter *c = (struct counter *)self;
  printf("%s: terminate (%s)\n", c->name, grove_exit_reason_name(reason));
}

static const grove_actor_class counter_class = {
    .name = "counter",
    .size = sizeof(struct counter),
    .init = counter_init,
    .receive = counter_receive,
    .terminate = counter_terminate,
};

static int add(grove_ref to, int64_t n) {
  grove_msg *m = grove_msg_new("add");
  if (!m)
    return GROVE_ENOMEM;
  grove_msg_pack_int(m, n);
  return grove_send(to, m); /* takes m, even when it fails */
}

int main(void) {
  grove_ref c = grove_actor_spawn(&counter_class, "c1");
  if (grove_ref_is_null(c))
    return 1;
  add(c, 1);
  add(c, 2);
  printf("main: sent two messages; nothing has run yet\n");

  /* main blocks in the call: c runs init, then its three messages in order. */
  grove_msg *reply;
  int64_t total = -1;
  int rc = grove_call(c, grove_msg_new("get"), &reply, 1.0);
  if (rc == 0) {
    grove_msg_int(reply, 0, &total);
    grove_msg_free(reply); /* a reply belongs to the caller */
  }
  printf("main: total %lld (%s)\n", (long long)total, grove_err_name(rc));

  grove_send(c, grove_msg_new("stop"));
  int reason = -1;
  int rc2 = grove_actor_wait(c, &reason, 1.0);
  printf("main: c ended: %s\n", grove_exit_reason_name(reason));
  int rc3 = add(c, 3); /* c is gone: an error code, never a crash */
  printf("main: add after the end: %s\n", grove_err_name(rc3));
  return rc == 0 && rc2 == 0 && rc3 == GROVE_ENOENT && grove_hub_close() == 0 ? 0 : 1;
}
