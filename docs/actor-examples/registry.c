/* registry.c - refs are values that go stale; names find actors. */
#include <grove.h>
#include <stdio.h>

struct echo {
  grove_actor base;
};

static int echo_receive(grove_actor *self, grove_msg *msg) {
  if (grove_msg_is(msg, "stop"))
    return GROVE_STOP;
  if (grove_msg_is(msg, "tell")) {
    /* A ref travels in a body like any value. */
    grove_ref to;
    if (grove_msg_ref(msg, 0, &to) == 0)
      grove_send(to, grove_msg_new("hello"));
  } else {
    printf("echo %llu got %s\n", (unsigned long long)grove_actor_ref(self).id, grove_msg_tag(msg));
  }
  return 0;
}

static const grove_actor_class echo_class = {
    .name = "echo", .size = sizeof(struct echo), .receive = echo_receive};

/* Send by name: look the name up each time, as the actor behind it may change. */
static int send_named(const char *name, grove_msg *m) {
  grove_ref to;
  int rc = grove_whereis(name, &to);
  if (rc != 0) {
    grove_msg_free(m); /* not sent: still ours */
    return rc;
  }
  return grove_send(to, m);
}

int main(void) {
  grove_ref a;
  grove_actor_opts opts = {.name = "echo"};
  if (grove_actor_spawn_ex(&echo_class, NULL, &opts, &a) != 0)
    return 1;
  printf("a: id %llu\n", (unsigned long long)a.id); /* its gen: random per process */
  send_named("echo", grove_msg_new("ping"));

  grove_ref b;
  int taken = grove_actor_spawn_ex(&echo_class, NULL, &opts, &b);
  printf("second \"echo\": %s\n", grove_err_name(taken));

  grove_send(a, grove_msg_new("stop"));
  grove_actor_wait(a, NULL, 1.0);
  int gone = send_named("echo", grove_msg_new("ping")); /* the name went with its actor */
  printf("after a ended: whereis %s\n", grove_err_name(gone));

  /* A new actor may reuse a's slot, but not its generation: a stays stale. */
  b = grove_actor_spawn(&echo_class, NULL);
  printf("b: id %llu gen a+%u, same as a: %d\n", (unsigned long long)b.id, b.gen - a.gen,
         grove_ref_eq(a, b));
  int stale = grove_send(a, grove_msg_new("ping"));
  printf("send to a: %s, alive(a) %d, alive(b) %d\n", grove_err_name(stale), grove_actor_alive(a),
         grove_actor_alive(b));
  int reg = grove_register("echo", b);
  printf("register b as \"echo\": %s\n", grove_err_name(reg));

  grove_ref c = grove_actor_spawn(&echo_class, NULL);
  grove_msg *m = grove_msg_new("tell"); /* b, tell c hello */
  grove_msg_pack_ref(m, c);
  send_named("echo", m);
  send_named("echo", grove_msg_new("stop"));
  int rc = grove_actor_wait(b, NULL, 1.0); /* b has told c by now */
  grove_send(c, grove_msg_new("stop"));
  rc |= grove_actor_wait(c, NULL, 1.0);
  int ok = taken == GROVE_EEXIST && gone == GROVE_ENOENT && stale == GROVE_ENOENT && reg == 0;
  return ok && rc == 0 && grove_hub_close() == 0 ? 0 : 1;
}
