/* tests/net/metrics_server.c - a process with something worth scraping, for
 * tests/net/metrics_check.py: two hubs; node "m1" on hub 0 serving its
 * Prometheus endpoint on 127.0.0.1 (a port picked: printed as "PORT n");
 * node "m2" in a second process (this program again, "--peer ENDPOINT"),
 * connected to m1 and calling its "echo" ten times (a peer with traffic
 * and a round trip); actor "held" on hub 1 holding its first message while
 * 5 more wait; a supervisor on hub 0 whose child crashed twice (2
 * restarts); a dead letter. It prints "READY" once all that is in place and
 * runs until its standard input ends; then it releases everything, stops
 * the peer (SIGTERM), stops and exits 0 (1 if a step failed).
 */
#include <grove.h>

#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static _Atomic int released;
static int failed;

#define MUST(x)                                                                                    \
  do {                                                                                             \
    int rc_ = (x);                                                                                 \
    if (rc_ != 0) {                                                                                \
      fprintf(stderr, "metrics_server: %s: %s\n", #x, grove_err_name(rc_));                        \
      failed = 1;                                                                                  \
    }                                                                                              \
  } while (0)

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int held_receive(grove_actor *self, grove_msg *m) {
  (void)self;
  if (grove_msg_is(m, "hold")) {
    double end = now() + 60;
    while (!released && now() < end)
      grove_sleep(0.005);
  }
  return 0;
}
static const grove_actor_class held_class = {
    .name = "holder", .size = sizeof(grove_actor), .receive = held_receive};

static int crasher_receive(grove_actor *self, grove_msg *m) {
  (void)self;
  return grove_msg_is(m, "crash") ? GROVE_EFAILED : 0;
}
static const grove_actor_class crasher_class = {
    .name = "crasher", .size = sizeof(grove_actor), .receive = crasher_receive};

/* The second process: node m2, connected to m1; ten calls to m1's echo;
 * then it waits for SIGTERM. */
static int peer_main(const char *m1_endpoint) {
  MUST(grove_node_start("m2", "tcp://127.0.0.1:0", NULL));
  MUST(grove_node_connect("m1", m1_endpoint));
  grove_ref echo;
  MUST(grove_whereis_remote("m1", "echo", &echo, 5));
  for (int i = 0; i < 10; i++) {
    grove_msg *r = NULL;
    MUST(grove_call(echo, grove_msg_new("ping"), &r, 5));
    grove_msg_free(r);
  }
  printf("CALLED\n");
  grove_signal_wait(SIGTERM, 100);
  grove_node_stop();
  return failed;
}

static int echo_receive(grove_actor *self, grove_msg *m) {
  (void)self;
  if (grove_msg_is_call(m))
    grove_reply(m, grove_msg_new("pong"));
  return 0;
}
static const grove_actor_class echo_class = {
    .name = "echo", .size = sizeof(grove_actor), .receive = echo_receive};

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (argc == 3 && strcmp(argv[1], "--peer") == 0)
    return peer_main(argv[2]);
  grove_log_set_level(GROVE_LOG_OFF); /* the crashes below are on purpose */
  MUST(grove_hubs_start(2));
  MUST(grove_node_start("m1", "tcp://127.0.0.1:0", NULL));
  char m1_endpoint[256];
  snprintf(m1_endpoint, sizeof m1_endpoint, "%s", grove_node_endpoint());
  grove_metrics *metrics = NULL;
  MUST(grove_metrics_start("127.0.0.1", 0, &metrics));
  if (!metrics)
    return 1;
  printf("PORT %d\n", grove_metrics_port(metrics));

  grove_actor_opts eo = {.name = "echo"};
  grove_ref echo, held;
  MUST(grove_actor_spawn_ex(&echo_class, NULL, &eo, &echo));
  /* the peer: this program again; it says CALLED once its calls are done */
  static char self[4096];
  ssize_t sl = readlink("/proc/self/exe", self, sizeof self - 1);
  self[sl > 0 ? sl : 0] = 0;
  grove_subprocess *peer = NULL;
  const char *pargv[] = {self, "--peer", m1_endpoint, NULL};
  grove_subprocess_opts po = {.argv = pargv, .stdout_mode = GROVE_STDIO_PIPE, .die_with_parent = 1};
  MUST(grove_subprocess_spawn(&po, &peer));
  char line[64] = "";
  size_t got = 0;
  double until = now() + 20;
  while (peer && got < sizeof line - 1 && !memchr(line, '\n', got) && now() < until) {
    ssize_t r =
        grove_socket_read(grove_subprocess_stdout(peer), line + got, sizeof line - 1 - got, 20);
    if (r <= 0)
      break;
    got += (size_t)r;
    line[got] = 0;
  }
  if (strncmp(line, "CALLED", 6) != 0) {
    fprintf(stderr, "metrics_server: the peer did not make its calls (%s)\n", line);
    failed = 1;
  }

  grove_actor_opts ho = {.name = "held", .inbox_max = 100};
  MUST(grove_actor_spawn_on(1, &held_class, NULL, &ho, &held));
  for (int i = 0; i < 6; i++)
    MUST(grove_send(held, grove_msg_new("hold")));

  grove_child_spec spec = {.id = "c", .cls = &crasher_class};
  grove_supervisor_opts so = {.intensity = 10, .period = 10};
  grove_ref sup, child;
  MUST(grove_supervisor_start(&so, &spec, 1, &sup));
  for (int i = 0; i < 2; i++) {
    MUST(grove_supervisor_which_child(sup, "c", &child));
    MUST(grove_send(child, grove_msg_new("crash")));
    grove_actor_wait(child, NULL, 5);
    grove_ref cur = child;
    double end = now() + 5;
    while (grove_ref_eq(cur, child) && now() < end) {
      grove_sleep(0.005);
      grove_supervisor_which_child(sup, "c", &cur);
    }
  }
  /* a dead letter: to the first child, which has ended */
  grove_send(child, grove_msg_new("late"));

  /* wait until hub 1 has queued the 5 */
  grove_actor_info top[2];
  size_t n = 0;
  double end = now() + 10;
  while (now() < end) {
    MUST(grove_actors_list(top, 1, &n, NULL));
    if (n == 1 && top[0].inbox == 5)
      break;
    grove_sleep(0.005);
  }
  printf("READY\n");

  grove_socket *in;
  MUST(grove_socket_wrap(0, &in));
  char buf[256];
  while (in && grove_socket_read(in, buf, sizeof buf, 120) > 0) {
  }
  if (in)
    grove_socket_close(in);

  released = 1;
  if (peer) {
    grove_subprocess_kill(peer, SIGTERM);
    int status = -1;
    MUST(grove_subprocess_wait(peer, &status, 10));
    if (status != 0) {
      fprintf(stderr, "metrics_server: the peer exited with %d\n", status);
      failed = 1;
    }
    grove_subprocess_free(peer);
  }
  grove_actor_exit(sup, GROVE_EXIT_SHUTDOWN);
  grove_actor_wait(sup, NULL, 5);
  grove_actor_exit(echo, GROVE_EXIT_KILLED);
  grove_actor_wait(echo, NULL, 5);
  MUST(grove_metrics_stop(metrics));
  MUST(grove_node_stop());
  MUST(grove_hubs_stop(5));
  MUST(grove_hub_close());
  return failed;
}
