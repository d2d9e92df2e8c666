/* links.c - linked actors share their fate; an actor that traps exits gets
 * GROVE_TAG_EXIT messages instead: [ref, reason]. */
#include <grove.h>
#include <stdio.h>

struct node {
  grove_actor base;
  const char *name;
};

static int node_init(grove_actor *self, void *arg) {
  ((struct node *)self)->name = arg;
  return 0;
}

static int node_receive(grove_actor *self, grove_msg *msg) {
  struct node *n = (struct node *)self;
  if (grove_msg_is(msg, "crash"))
    return GROVE_EFAILED;
  if (grove_msg_is(msg, "stop"))
    return GROVE_STOP;
  if (grove_msg_is(msg, GROVE_TAG_EXIT)) {
    grove_ref from;
    int64_t reason;
    grove_msg_ref(msg, 0, &from);
    grove_msg_int(msg, 1, &reason);
    printf("%s: exit message from %s: %s\n", n->name,
           grove_ref_is_null(from) ? "outside any actor" : "a link",
           grove_exit_reason_name((int)reason));
  }
  return 0;
}

static void node_terminate(grove_actor *self, int reason) {
  printf("%s: ended (%s)\n", ((struct node *)self)->name, grove_exit_reason_name(reason));
}

static const grove_actor_class node_class = {.name = "node",
                                             .size = sizeof(struct node),
                                             .init = node_init,
                                             .receive = node_receive,
                                             .terminate = node_terminate};

int main(void) {
  /* a and b are linked: a's failure ends b with the same reason. */
  grove_ref a = grove_actor_spawn(&node_class, "a"), b;
  grove_actor_opts linked = {.link = a};
  grove_actor_spawn_ex(&node_class, "b", &linked, &b);
  grove_send(a, grove_msg_new("crash"));
  grove_actor_wait(b, NULL, 1.0);

  /* boss traps exits: its links' ends arrive as messages, even normal ones. */
  grove_ref boss, c, d;
  grove_actor_opts trapping = {.trap_exits = true};
  grove_actor_spawn_ex(&node_class, "boss", &trapping, &boss);
  c = grove_actor_spawn(&node_class, "c");
  d = grove_actor_spawn(&node_class, "d");
  grove_link_actors(boss, c);
  grove_link_actors(boss, d);
  grove_send(c, grove_msg_new("crash"));
  grove_send(d, grove_msg_new("stop"));
  grove_actor_wait(d, NULL, 1.0);
  grove_actor_exit(boss, GROVE_EXIT_SHUTDOWN); /* trapped as well */
  grove_sleep(0);
  printf("boss alive: %d\n", grove_actor_alive(boss));
  grove_actor_exit(boss, GROVE_EXIT_KILLED); /* cannot be trapped */
  int reason;
  int rc = grove_actor_wait(boss, &reason, 1.0);
  return rc == 0 && reason == GROVE_EXIT_KILLED && grove_hub_close() == 0 ? 0 : 1;
}
