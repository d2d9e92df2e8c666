/* curve.c - CURVE: node "b" encrypts every link and lets in only the key it
 * lists. A node without CURVE, then one with a key b does not list, cannot
 * connect; node "a", whose key is listed, can. (Node b runs in a second
 * thread; this thread starts its nodes one after the other.) */
#include <grove.h>
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

static char ep_b[64];
static char b_public[41], b_secret[41], a_public[41], a_secret[41];

static int echo_receive(grove_actor *self, grove_msg *msg) {
  (void)self;
  if (grove_msg_is(msg, "stop")) {
    grove_reply(msg, grove_msg_new("bye"));
    return GROVE_STOP;
  }
  return grove_reply(msg, grove_msg_new("echo"));
}

static const grove_actor_class echo_class = {
    .name = "echo", .size = sizeof(grove_actor), .receive = echo_receive};

static void *node_b(void *arg) {
  (void)arg;
  const char *allowed[] = {a_public, NULL}; /* the clients b accepts */
  grove_node_opts opts = {
      .curve_public = b_public, .curve_secret = b_secret, .curve_allowed = allowed};
  grove_actor_opts o = {.name = "echo"};
  grove_ref echo;
  grove_actor_spawn_ex(&echo_class, NULL, &o, &echo);
  if (grove_node_start("b", ep_b, &opts) != 0)
    return NULL;
  grove_actor_wait(echo, NULL, 10);
  grove_node_stop();
  grove_hub_close();
  return NULL;
}

/* Start this thread's node as `name` (with a keypair or none), try to reach b. */
static int try_node(const char *name, const char *public, const char *secret) {
  char ep[64];
  snprintf(ep, sizeof ep, "ipc:///tmp/grove-doc-curve-%d-%s", (int)getpid(), name);
  grove_node_opts opts = {.curve_public = public, .curve_secret = secret};
  int rc = grove_node_start(name, ep, &opts);
  if (rc == 0)
    rc = grove_node_connect_ex("b", ep_b, b_public, 0.3); /* b's public key: who b must be */
  if (rc == 0) {
    grove_ref echo;
    grove_msg *reply;
    rc = grove_whereis_remote("b", "echo", &echo, 1.0);
    if (rc == 0)
      rc = grove_call(echo, grove_msg_new("hi"), &reply, 1.0);
    if (rc == 0) {
      printf("%s: b answered \"%s\" over an encrypted link\n", name, grove_msg_tag(reply));
      grove_msg_free(reply);
      grove_call(echo, grove_msg_new("stop"), &reply, 1.0);
      grove_msg_free(reply);
    }
  } else {
    printf("%s: cannot reach b: %s\n", name, grove_err_name(rc));
  }
  grove_node_stop();
  unlink(ep + 6);
  return rc;
}

int main(void) {
  grove_curve_keypair(b_public, b_secret); /* 40 characters of Z85 each */
  grove_curve_keypair(a_public, a_secret);
  char c_public[41], c_secret[41];
  grove_curve_keypair(c_public, c_secret);
  snprintf(ep_b, sizeof ep_b, "ipc:///tmp/grove-doc-curve-%d-b", (int)getpid());
  pthread_t t;
  pthread_create(&t, NULL, node_b, NULL);

  int plain = try_node("plain", NULL, NULL);        /* no CURVE at all */
  int stranger = try_node("c", c_public, c_secret); /* CURVE, but not a listed key */
  int friend = try_node("a", a_public, a_secret);   /* the listed key */
  pthread_join(t, NULL);
  unlink(ep_b + 6);
  return plain == GROVE_ETIMEDOUT && stranger == GROVE_ETIMEDOUT && friend == 0 &&
                 grove_hub_close() == 0
             ? 0
             : 1;
}
