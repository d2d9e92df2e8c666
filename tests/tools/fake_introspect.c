/* fake_introspect.c - a node whose "grove.introspect" answers what a test
 * wants, to see grove-top cope with every answer a node (or an impostor)
 * could give.
 *
 *   fake_introspect NAME ENDPOINT MODE
 *
 * MODE:
 *   many     300 actors, 50 greenlets, 20 peers (more than a screen)
 *   good     replies in the contract's format (docs/protocol.md,
 *            "Introspection"): actors "alpha" (inbox 7 of 10, ~100 msgs/s by
 *            its "received") and "beta" (inbox 0, unbounded), one hub, one
 *            peer, dead letters growing by 2 a second
 *   garbage  cycles through malformed replies: a body that is not a map,
 *            fields of the wrong types, negative and huge numbers, strings
 *            with escape sequences and control bytes, arrays of non-maps,
 *            an empty body
 *   eperm    answers every request with the error GROVE_EPERM
 *   wrongtag replies with the tag "nope"
 *   silent   never replies
 *   none     registers no "grove.introspect" (a node with introspection off)
 * Prints "ready" on stdout once the node runs; runs until SIGTERM/SIGINT.
 */
#include <grove.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *mode;
static int calls;

static double real_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void pack_actor(grove_msg *m, const char *name, uint64_t inbox, uint64_t max,
                       uint64_t received) {
  grove_msg_pack_map(m, 7);
  grove_msg_pack_kv_str(m, "name", name);
  grove_msg_pack_kv_str(m, "class", "fake");
  grove_msg_pack_kv_int(m, "hub", 0);
  grove_msg_pack_kv_int(m, "inbox", (int64_t)inbox);
  grove_msg_pack_kv_int(m, "inbox_max", (int64_t)max);
  grove_msg_pack_kv_int(m, "received", (int64_t)received);
  grove_msg_pack_kv_str(m, "state", "idle");
}

static grove_msg *good_reply(void) {
  double t = real_now();
  uint64_t ticks = (uint64_t)(t * 100); /* grows by 100 a second */
  grove_msg *m = grove_msg_new("snapshot");
  grove_msg_pack_map(m, 10);
  grove_msg_pack_kv_str(m, "node", grove_node_name());
  grove_msg_pack_kv_double(m, "time", t);
  grove_msg_pack_kv_int(m, "incarnation", 42);
  grove_msg_pack_str(m, "hubs");
  grove_msg_pack_array(m, 1);
  grove_msg_pack_map(m, 7);
  grove_msg_pack_kv_int(m, "index", 0);
  grove_msg_pack_kv_int(m, "greenlets", 3);
  grove_msg_pack_kv_int(m, "runq", 1);
  grove_msg_pack_kv_double(m, "lag_ms", 0.25);
  grove_msg_pack_kv_int(m, "actors", 2);
  grove_msg_pack_kv_int(m, "messages", (int64_t)ticks);
  grove_msg_pack_kv_int(m, "dead_letters", 0);
  grove_msg_pack_kv_int(m, "actors_total", 2);
  grove_msg_pack_str(m, "actors");
  grove_msg_pack_array(m, 2);
  pack_actor(m, "alpha", 7, 10, ticks);
  pack_actor(m, "beta", 0, 0, 5);
  grove_msg_pack_kv_int(m, "greenlets_total", 1);
  grove_msg_pack_str(m, "greenlets");
  grove_msg_pack_array(m, 1);
  grove_msg_pack_map(m, 3);
  grove_msg_pack_kv_str(m, "name", "fake-main");
  grove_msg_pack_kv_int(m, "hub", 0);
  grove_msg_pack_kv_str(m, "state", "running");
  grove_msg_pack_str(m, "peers");
  grove_msg_pack_array(m, 1);
  grove_msg_pack_map(m, 8);
  grove_msg_pack_kv_str(m, "name", "elsewhere");
  grove_msg_pack_kv_str(m, "endpoint", "tcp://127.0.0.1:1");
  grove_msg_pack_kv_str(m, "state", "down");
  grove_msg_pack_kv_int(m, "incarnation", 1);
  grove_msg_pack_kv_int(m, "sent", 10);
  grove_msg_pack_kv_int(m, "received", 20);
  grove_msg_pack_kv_int(m, "dropped", 3);
  grove_msg_pack_kv_double(m, "rtt_ms", -1);
  grove_msg_pack_kv_int(m, "dead_letters", (int64_t)(t * 2));
  return m;
}

/* 300 actors, 50 greenlets, 20 peers: more than a screen holds. */
static grove_msg *many_reply(void) {
  char name[32];
  grove_msg *m = grove_msg_new("snapshot");
  grove_msg_pack_map(m, 5);
  grove_msg_pack_kv_str(m, "node", grove_node_name());
  grove_msg_pack_kv_double(m, "time", real_now());
  grove_msg_pack_str(m, "actors");
  grove_msg_pack_array(m, 300);
  for (int i = 0; i < 300; i++) {
    snprintf(name, sizeof name, "worker-%03d", i);
    pack_actor(m, name, (uint64_t)(i * 7 % 101), 0, (uint64_t)calls * (uint64_t)i);
  }
  grove_msg_pack_str(m, "greenlets");
  grove_msg_pack_array(m, 50);
  for (int i = 0; i < 50; i++) {
    snprintf(name, sizeof name, "g-%02d", i);
    grove_msg_pack_map(m, 3);
    grove_msg_pack_kv_str(m, "name", name);
    grove_msg_pack_kv_int(m, "hub", i % 2);
    grove_msg_pack_kv_str(m, "state", i % 3 ? "blocked" : "ready");
  }
  grove_msg_pack_str(m, "peers");
  grove_msg_pack_array(m, 20);
  for (int i = 0; i < 20; i++) {
    snprintf(name, sizeof name, "peer-%02d", i);
    grove_msg_pack_map(m, 3);
    grove_msg_pack_kv_str(m, "name", name);
    grove_msg_pack_kv_str(m, "state", "up");
    grove_msg_pack_kv_double(m, "rtt_ms", 0.1 * i);
  }
  return m;
}

static grove_msg *garbage_reply(int k) {
  grove_msg *m = grove_msg_new("snapshot");
  char big[5000];
  switch (k % 6) {
  case 0: /* not a map */
    grove_msg_pack_array(m, 2);
    grove_msg_pack_int(m, 1);
    grove_msg_pack_str(m, "x");
    break;
  case 1: /* every field of the wrong type */
    grove_msg_pack_map(m, 8);
    grove_msg_pack_kv_int(m, "node", 5);
    grove_msg_pack_kv_str(m, "time", "yesterday");
    grove_msg_pack_kv_int(m, "incarnation", -3);
    grove_msg_pack_kv_str(m, "hubs", "many");
    grove_msg_pack_kv_bool(m, "actors", true);
    grove_msg_pack_kv_double(m, "greenlets", 1.5);
    grove_msg_pack_kv_int(m, "peers", 7);
    grove_msg_pack_kv_str(m, "dead_letters", "lots");
    break;
  case 2: /* hostile strings and numbers inside well-formed rows */
    memset(big, 'A', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    memcpy(big, "\x1b[2J\x1b]0;pwned\x07\n\r\t", 17);
    grove_msg_pack_map(m, 3);
    grove_msg_pack_kv_str(m, "node", big);
    grove_msg_pack_str(m, "actors");
    grove_msg_pack_array(m, 3);
    grove_msg_pack_map(m, 6);
    grove_msg_pack_kv_str(m, "name", big);
    grove_msg_pack_kv_str(m, "class", "\x1b[31mred");
    grove_msg_pack_kv_int(m, "inbox", -1);
    grove_msg_pack_kv_double(m, "inbox_max", 1e300);
    grove_msg_pack_kv_double(m, "received", -1e300);
    grove_msg_pack_kv_str(m, "state", big);
    grove_msg_pack_int(m, 3); /* not a map */
    grove_msg_pack_nil(m);
    grove_msg_pack_str(m, "peers");
    grove_msg_pack_array(m, 1);
    grove_msg_pack_map(m, 2);
    grove_msg_pack_kv_str(m, "endpoint", big);
    grove_msg_pack_kv_str(m, "rtt_ms", "fast");
    break;
  case 3: /* an empty body */
    break;
  case 4: /* an empty map */
    grove_msg_pack_map(m, 0);
    break;
  default: /* keys that are not strings, and a NaN time */
    grove_msg_pack_map(m, 3);
    grove_msg_pack_int(m, 1);
    grove_msg_pack_int(m, 2);
    grove_msg_pack_nil(m);
    grove_msg_pack_nil(m);
    grove_msg_pack_kv_double(m, "time", 0.0 / 0.0);
    break;
  }
  return m;
}

static int fake_receive(grove_actor *self, grove_msg *msg) {
  (void)self;
  if (!grove_msg_is_call(msg))
    return 0;
  calls++;
  if (strcmp(mode, "silent") == 0)
    return 0;
  if (strcmp(mode, "eperm") == 0)
    return grove_reply_error(msg, GROVE_EPERM), 0;
  if (strcmp(mode, "wrongtag") == 0)
    return grove_reply(msg, grove_msg_new("nope")), 0;
  if (strcmp(mode, "garbage") == 0)
    return grove_reply(msg, garbage_reply(calls)), 0;
  grove_reply(msg, strcmp(mode, "many") == 0 ? many_reply() : good_reply());
  return 0;
}

static grove_event *stop;
static void *on_signal(void *arg) {
  (void)arg;
  grove_event_set(stop);
  return NULL;
}

static const grove_actor_class fake_class = {
    .name = "fake_introspect", .size = sizeof(grove_actor), .receive = fake_receive};

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr,
            "usage: fake_introspect NAME ENDPOINT good|many|garbage|eperm|wrongtag|silent|none\n");
    return 2;
  }
  mode = argv[3];
  int rc = grove_node_start(argv[1], argv[2], NULL);
  if (rc != 0) {
    fprintf(stderr, "fake_introspect: grove_node_start: %s\n", grove_strerror(rc));
    return 1;
  }
  grove_actor_opts o = {.name = strcmp(mode, "none") == 0 ? "not-introspect" : "grove.introspect"};
  grove_ref ref;
  if ((rc = grove_actor_spawn_ex(&fake_class, NULL, &o, &ref)) != 0) {
    fprintf(stderr, "fake_introspect: spawn: %s\n", grove_strerror(rc));
    return 1;
  }
  printf("ready\n");
  fflush(stdout);
  stop = grove_event_new();
  grove_signal_handler *h1 = grove_signal_handle(SIGTERM, on_signal, NULL);
  grove_signal_handler *h2 = grove_signal_handle(SIGINT, on_signal, NULL);
  grove_event_wait(stop, GROVE_FOREVER);
  grove_signal_handler_cancel(h1);
  grove_signal_handler_cancel(h2);
  grove_event_free(stop);
  grove_actor_exit(ref, GROVE_EXIT_SHUTDOWN);
  grove_actor_wait(ref, NULL, 1.0);
  grove_node_stop();
  return 0;
}
