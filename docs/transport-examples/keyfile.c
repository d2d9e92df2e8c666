/* keyfile.c - one CURVE keypair for a whole cluster, in a key file: written
 * once (grove_curve_keyfile_save; a czmq zcert secret file loads as well)
 * and loaded by every node (opts.curve_keyfile), which also takes its public
 * key as the key of the peers it connects to. Then the rule: a cluster's
 * node (here: one that meshes) on an address that is not loopback, without
 * keys, is refused and says why.
 * (Node b runs in a second thread.) */
#include <grove.h>
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

static char keyfile[64], ep_b[64];

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
  grove_node_opts opts = {.curve_keyfile = keyfile};
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

/* The error line of the refusal, on stdout (the default logger writes it
 * on stderr). */
static void show(const grove_log_event *ev, void *user) {
  (void)user;
  printf("log: %.45s...\n", ev->text);
}

int main(void) {
  snprintf(keyfile, sizeof keyfile, "/tmp/grove-doc-keyfile-%d.key_secret", (int)getpid());
  snprintf(ep_b, sizeof ep_b, "ipc:///tmp/grove-doc-keyfile-%d-b", (int)getpid());
  char public[41], secret[41];
  grove_curve_keypair(public, secret);
  if (grove_curve_keyfile_save(keyfile, public, secret) != 0) /* mode 0600 */
    return 1;
  pthread_t t;
  pthread_create(&t, NULL, node_b, NULL);

  char ep_a[64];
  snprintf(ep_a, sizeof ep_a, "ipc:///tmp/grove-doc-keyfile-%d-a", (int)getpid());
  grove_node_opts opts = {.curve_keyfile = keyfile};
  int rc = grove_node_start("a", ep_a, &opts);
  if (rc == 0)
    rc = grove_node_connect("b", ep_b); /* b's key: the file's public key */
  grove_ref echo;
  grove_msg *reply;
  if (rc == 0)
    rc = grove_whereis_remote("b", "echo", &echo, 1.0);
  if (rc == 0 && (rc = grove_call(echo, grove_msg_new("hi"), &reply, 1.0)) == 0) {
    printf("a: b answered \"%s\" over CURVE, both keyed from one file\n", grove_msg_tag(reply));
    grove_msg_free(reply);
    grove_call(echo, grove_msg_new("stop"), &reply, 1.0);
    grove_msg_free(reply);
  }
  grove_node_stop();
  pthread_join(t, NULL);

  /* 192.0.2.1 (TEST-NET-1) is not loopback: without keys, no cluster node. */
  grove_log_hook(show, NULL);
  grove_node_opts mesh = {.mesh = true};
  int open = grove_node_start("c", "tcp://192.0.2.1:7000", &mesh);
  grove_log_hook(NULL, NULL);
  printf("c on tcp://192.0.2.1:7000 without keys: %s\n", grove_err_name(open));
  unlink(keyfile);
  unlink(ep_a + 6);
  unlink(ep_b + 6);
  return rc == 0 && open == GROVE_EINSECURE && grove_hub_close() == 0 ? 0 : 1;
}
