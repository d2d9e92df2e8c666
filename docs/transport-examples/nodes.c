/* nodes.c - two nodes: a registered actor found with grove_whereis_remote,
 * a call and a send across nodes, a ref inside a body. Node "b" runs in a
 * second thread (one node per thread) to keep the example in one file; in
 * real use it is another process, or another machine. */
#include <grove.h>
#include <pthread.h>
#include <stdio.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t bound = PTHREAD_COND_INITIALIZER;
static char b_endpoint[256]; /* where node b listens: tcp://127.0.0.1:<port> */

/* ---- node b: a greeter ---------------------------------------------------------- */

static grove_msg *greeting(const char *who) {
  char text[128];
  snprintf(text, sizeof text, "hello, %s, from node %s", who, grove_node_name());
  grove_msg *m = grove_msg_new("greeting");
  grove_msg_pack_str(m, text);
  return m;
}

static int greeter_receive(grove_actor *self, grove_msg *msg) {
  (void)self;
  const char *who;
  size_t len;
  char name[64];
  if (grove_msg_is(msg, "hello") && grove_msg_str(msg, 0, &who, &len) == 0) {
    snprintf(name, sizeof name, "%.*s", (int)len, who);
    return grove_reply(msg, greeting(name)); /* the reply crosses back to the caller */
  }
  grove_ref to;
  if (grove_msg_is(msg, "greet") && grove_msg_ref(msg, 0, &to) == 0 &&
      grove_msg_str(msg, 1, &who, &len) == 0) {
    snprintf(name, sizeof name, "%.*s", (int)len, who);
    return grove_send(to, greeting(name)); /* to the ref found in the body */
  }
  if (grove_msg_is(msg, "stop")) {
    grove_reply(msg, grove_msg_new("bye"));
    return GROVE_STOP;
  }
  return 0;
}

static const grove_actor_class greeter_class = {
    .name = "greeter", .size = sizeof(grove_actor), .receive = greeter_receive};

static void *node_b(void *arg) {
  (void)arg;
  grove_node_start("b", "tcp://127.0.0.1:0", NULL); /* port 0: the system picks one */
  grove_actor_opts opts = {.name = "greeter"};
  grove_ref greeter;
  grove_actor_spawn_ex(&greeter_class, NULL, &opts, &greeter);
  pthread_mutex_lock(&lock);
  snprintf(b_endpoint, sizeof b_endpoint, "%s", grove_node_endpoint());
  pthread_cond_signal(&bound);
  pthread_mutex_unlock(&lock);
  grove_actor_wait(greeter, NULL, 10); /* until "stop" */
  grove_node_stop();
  grove_hub_close();
  return NULL;
}

/* ---- node a ------------------------------------------------------------------------- */

static int inbox_receive(grove_actor *self, grove_msg *msg) {
  (void)self;
  const char *text;
  size_t len;
  grove_msg_str(msg, 0, &text, &len);
  grove_ref from = grove_msg_sender(msg);
  printf("inbox: %s \"%.*s\" from an actor on node %s\n", grove_msg_tag(msg), (int)len, text,
         grove_node_name_of(from.node));
  return GROVE_STOP;
}

static const grove_actor_class inbox_class = {
    .name = "inbox", .size = sizeof(grove_actor), .receive = inbox_receive};

int main(void) {
  pthread_t t;
  pthread_create(&t, NULL, node_b, NULL);
  pthread_mutex_lock(&lock);
  while (!b_endpoint[0])
    pthread_cond_wait(&bound, &lock);
  pthread_mutex_unlock(&lock);

  int rc = grove_node_start("a", "tcp://127.0.0.1:0", NULL);
  if (rc == 0)
    rc = grove_node_connect("b", b_endpoint); /* waits for b's handshake */
  printf("a -> b: %s; node ids: a %08x, b %08x\n", grove_err_name(rc), (unsigned)grove_node_id("a"),
         (unsigned)grove_node_id("b"));

  grove_ref greeter;
  rc = grove_whereis_remote("b", "greeter", &greeter, 1.0);
  printf("whereis_remote(b, greeter): %s, ref {node %08x, id %llu}\n", grove_err_name(rc),
         (unsigned)greeter.node, (unsigned long long)greeter.id);

  grove_msg *req = grove_msg_new("hello"), *reply;
  grove_msg_pack_str(req, "main");
  rc = grove_call(greeter, req, &reply, 1.0); /* as with a local actor */
  if (rc == 0) {
    const char *text;
    size_t len;
    grove_msg_str(reply, 0, &text, &len);
    printf("call: %s \"%.*s\"\n", grove_msg_tag(reply), (int)len, text);
    grove_msg_free(reply);
  }

  /* A local ref in a body: it crosses with this node's id in it. */
  grove_ref inbox = grove_actor_spawn(&inbox_class, NULL);
  grove_msg *greet = grove_msg_new("greet");
  grove_msg_pack_ref(greet, inbox);
  grove_msg_pack_str(greet, "ana");
  grove_send(greeter, greet);
  grove_actor_wait(inbox, NULL, 1.0); /* it ends after its one message */

  rc = grove_call(greeter, grove_msg_new("stop"), &reply, 1.0);
  grove_msg_free(reply);
  pthread_join(t, NULL);
  grove_node_stats st;
  grove_node_stats_get(&st);
  printf("node a: %s envelopes received, %llu dropped\n", st.received > 0 ? "some" : "no",
         (unsigned long long)(st.dropped_malformed + st.dropped_version + st.dropped_oversize +
                              st.dropped_unknown_peer + st.dropped_unroutable));
  grove_node_stop();
  return rc == 0 && grove_hub_close() == 0 ? 0 : 1;
}
