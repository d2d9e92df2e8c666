/* tests/transport/cluster_worker.c - the worker program test_cluster.c
 * launches with grove_cluster_start.
 *
 * It joins the cluster (grove_cluster_join), registers an actor "w" that
 * answers the call "who" with [index, pid, coordinator-is-known, the
 * endpoint its node bound, then the values of GROVE_TEST_ENV_A, _B and _C
 * ("(unset)" when not set)], and serves
 * until its coordinator node goes down or SIGTERM arrives (the launcher's
 * grove_cluster_stop); then it stops its node, closes its hub and exits 0.
 * It dies with the test (PR_SET_PDEATHSIG) and gives up after 30 s.
 * "--join-delay=SECONDS": wait that long before joining (a worker that is
 * slow to start, so a test can kill it before it connects).
 * "--register-delay=SECONDS": join at once, register "w" that much later (a
 * worker whose node is up before its actors are). "w" also serves
 * grove_cluster_map's jobs: "sq" [x, ms] sleeps ms and replies
 * [x*x, pid, inbox length] ("bad" replies GROVE_EPROTO). "--plain": none
 * of its own care (no parent-death signal, no coordinator monitor): only
 * what grove_cluster_join does makes it exit with its coordinator.
 */
#include "test.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

static int sigpipe_fds[2];

static void on_term(int sig) {
  (void)sig;
  (void)!write(sigpipe_fds[1], "t", 1);
}

static int w_receive(grove_actor *self, grove_msg *msg) {
  if (grove_msg_is(msg, "who")) {
    const char *coord = grove_cluster_coordinator();
    grove_msg *r = grove_msg_new("me");
    grove_msg_pack_int(r, grove_cluster_index());
    grove_msg_pack_int(r, getpid());
    grove_msg_pack_int(r,
                       coord && getenv("GROVE_CLUSTER_COORDINATOR") &&
                           strncmp(getenv("GROVE_CLUSTER_COORDINATOR"), coord, strlen(coord)) == 0);
    grove_msg_pack_str(r, grove_node_endpoint());
    for (int i = 0; i < 3; i++) {
      static const char *vars[] = {"GROVE_TEST_ENV_A", "GROVE_TEST_ENV_B", "GROVE_TEST_ENV_C"};
      const char *v = getenv(vars[i]);
      grove_msg_pack_str(r, v ? v : "(unset)");
    }
    grove_reply(msg, r);
  } else if (grove_msg_is(msg, "sq") && grove_msg_is_call(msg)) {
    int64_t x = 0, ms = 0;
    grove_msg_int(msg, 0, &x);
    grove_msg_int(msg, 1, &ms);
    grove_sleep((double)ms / 1e3);
    grove_actor_stats st = {0};
    grove_actor_stats_get(grove_self(), &st);
    grove_msg *r = grove_msg_new("sq");
    grove_msg_pack_int(r, x * x);
    grove_msg_pack_int(r, getpid());
    grove_msg_pack_int(r, (int64_t)st.inbox_len);
    grove_reply(msg, r);
  } else if (grove_msg_is(msg, "bad") && grove_msg_is_call(msg)) {
    grove_reply_error(msg, GROVE_EPROTO);
  }
  return 0;
}

static int plain;

static int ctl_init(grove_actor *self, void *arg) {
  return plain ? 0 : grove_monitor_node(grove_cluster_coordinator());
}

static int ctl_receive(grove_actor *self, grove_msg *msg) {
  if (grove_msg_is(msg, "quit"))
    return GROVE_STOP;
  if (grove_msg_is(msg, GROVE_TAG_NODEDOWN)) {
    const char *s;
    size_t n;
    const char *coord = grove_cluster_coordinator();
    if (grove_msg_str(msg, 0, &s, &n) == 0 && n == strlen(coord) && memcmp(s, coord, n) == 0)
      return GROVE_STOP;
  }
  return 0;
}

static const grove_actor_class w_class = {"w", sizeof(grove_actor), NULL, w_receive, NULL};
static const grove_actor_class ctl_class = {"ctl", sizeof(grove_actor), ctl_init, ctl_receive,
                                            NULL};

static void *sig_watch(void *arg) {
  grove_ref ctl = *(grove_ref *)arg;
  if (grove_wait_readable(sigpipe_fds[0], GROVE_FOREVER) == 0)
    grove_send(ctl, grove_msg_new("quit"));
  return NULL;
}

int main(int argc, char **argv) {
  plain = argc > 1 && strcmp(argv[1], "--plain") == 0;
  if (!plain)
    prctl(PR_SET_PDEATHSIG, SIGKILL);
  alarm(30);
  if (argc > 1 && strncmp(argv[1], "--join-delay=", 13) == 0) {
    double d = atof(argv[1] + 13);
    struct timespec ts = {(time_t)d, (long)((d - (double)(time_t)d) * 1e9)};
    nanosleep(&ts, NULL);
  }
  if (pipe2(sigpipe_fds, O_CLOEXEC | O_NONBLOCK) != 0)
    return 2;
  signal(SIGTERM, on_term);
  int rc = grove_cluster_join(NULL);
  if (rc) {
    fprintf(stderr, "cluster_worker: grove_cluster_join: %s\n", grove_err_name(rc));
    return 2;
  }
  double register_delay = 0;
  for (int i = 1; i < argc; i++)
    if (strncmp(argv[i], "--register-delay=", 17) == 0)
      register_delay = atof(argv[i] + 17);
  if (register_delay > 0)
    grove_sleep(register_delay);
  grove_actor_opts o = {.name = "w"};
  grove_ref w = GROVE_REF_NULL, ctl = GROVE_REF_NULL;
  CHECK_EQ(grove_actor_spawn_ex(&w_class, NULL, &o, &w), 0);
  CHECK_EQ(grove_actor_spawn_ex(&ctl_class, NULL, NULL, &ctl), 0);
  grove_greenlet *g = grove_spawn(sig_watch, &ctl);
  CHECK_EQ(grove_actor_wait(ctl, NULL, 25), 0);
  grove_kill(g, GROVE_FOREVER);
  grove_greenlet_release(g);
  grove_actor_exit(w, GROVE_EXIT_KILLED);
  grove_actor_wait(w, NULL, 5);
  CHECK_EQ(grove_node_stop(), 0);
  CHECK_EQ(grove_hub_close(), 0);
  return test__failed ? 1 : 0;
}
