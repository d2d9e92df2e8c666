/* remote_pingpong.c - ping-pong between two processes over grove's transport.
 *
 *   remote_pingpong [--quick] [--tcp] [ROUND_TRIPS]     (default 10000; --quick: 1000)
 *
 * The program runs two nodes. Node "pong-node" is this same program,
 * re-executed with `--node-b ENDPOINT FD` (a fork would share the parent's hub and
 * libuv loop): it binds ipc:///tmp/grove-rpp-PID-b (--tcp: tcp://127.0.0.1:0,
 * port picked by the system), writes the endpoint it bound to file
 * descriptor FD, and runs a "pong" actor registered under the name "pong".
 * Node "ping-node" (the first process) connects to it, and a "ping" actor
 * finds the pong actor with grove_whereis_remote and then:
 *
 *   1. sends ROUND_TRIPS "ping" [k] messages with grove_send, one at a time;
 *      the pong actor answers each with "pong" [k], sent with grove_send to
 *      the message's sender ref (a ref to an actor on the other node);
 *   2. makes ROUND_TRIPS grove_call round trips ("echo" [k] -> "echo" [k]);
 *   3. sends 20 * ROUND_TRIPS "data" messages back to back (one-way throughput),
 *      then calls "count", which the pong actor answers with how many
 *      "data" messages it received: ZeroMQ keeps the order, so all of them.
 *
 * It prints the round-trip latencies (median and mean, in microseconds) and
 * the one-way throughput, checks every counter, stops both nodes, reaps the
 * second process and exits 0 only if everything arrived, in order.
 *
 * The pong actor also monitors the ping node (grove_monitor_node): if the
 * first process dies, the second one notices (heartbeat timeout) and ends
 * instead of waiting forever.
 */
#include <grove.h>

#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define NODE_A "ping-node"
#define NODE_B "pong-node"
#define BURST 20    /* phase 3 sends BURST * ROUND_TRIPS messages */
#define TIMEOUT 5.0 /* seconds, for any one step; generous: a round trip takes ~50 us */

/* libzmq (4.3) leaves the socket file of an ipc:// endpoint behind when the
 * node stops: remove it (call with a copy made before grove_node_stop). */
static void remove_ipc_file(const char *endpoint) {
  if (strncmp(endpoint, "ipc://", 6) == 0 && endpoint[6] == '/')
    unlink(endpoint + 6);
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- node B: the pong actor -------------------------------------------------------- */

struct pong {
  grove_actor base;
  int64_t pings, echoes, data; /* counters: what arrived, in order */
  int out_of_order;
};

static int pong_init(grove_actor *self, void *arg) {
  (void)self;
  (void)arg;
  /* GROVE_TAG_NODEUP arrives when the ping node connects, GROVE_TAG_NODEDOWN
   * if it stops or dies. */
  return grove_monitor_node(NODE_A);
}

static grove_msg *msg_int(const char *tag, int64_t v) {
  grove_msg *m = grove_msg_new(tag);
  if (m && grove_msg_pack_int(m, v) != 0) {
    grove_msg_free(m);
    m = NULL;
  }
  return m;
}

static int pong_receive(grove_actor *self, grove_msg *msg) {
  struct pong *p = (struct pong *)self;
  int64_t k = 0;
  if (grove_msg_is(msg, "ping") && grove_msg_int(msg, 0, &k) == 0) {
    if (k != ++p->pings)
      p->out_of_order++;
    /* The sender is the ping actor on the other node: its ref says so. */
    return grove_send(grove_msg_sender(msg), msg_int("pong", k));
  }
  if (grove_msg_is(msg, "echo") && grove_msg_int(msg, 0, &k) == 0) {
    if (k != ++p->echoes)
      p->out_of_order++;
    return grove_reply(msg, msg_int("echo", k));
  }
  if (grove_msg_is(msg, "data") && grove_msg_int(msg, 0, &k) == 0) {
    if (k != ++p->data)
      p->out_of_order++;
    return 0;
  }
  if (grove_msg_is(msg, "count"))
    return grove_reply(msg, msg_int("count", p->out_of_order ? -1 : p->data));
  if (grove_msg_is(msg, "stop")) {
    grove_reply(msg, grove_msg_new("stopped"));
    return GROVE_STOP;
  }
  if (grove_msg_is(msg, GROVE_TAG_NODEUP))
    return 0;
  if (grove_msg_is(msg, GROVE_TAG_NODEDOWN)) {
    fprintf(stderr, "remote_pingpong: node b: the ping node went away\n");
    return GROVE_EHOSTUNREACH;
  }
  return GROVE_EINVAL;
}

static const grove_actor_class pong_class = {
    .name = "pong", .size = sizeof(struct pong), .init = pong_init, .receive = pong_receive};

static int node_b(const char *endpoint, int fd) {
  int rc = grove_node_start(NODE_B, endpoint, NULL);
  if (rc != 0) {
    fprintf(stderr, "remote_pingpong: node b: cannot start on %s: %s\n", endpoint,
            grove_strerror(rc));
    return EXIT_FAILURE;
  }
  grove_ref pong;
  grove_actor_opts opts = {.name = "pong"}; /* registered: node A finds it by name */
  rc = grove_actor_spawn_ex(&pong_class, NULL, &opts, &pong);
  /* Tell the first process where we are (the port, with tcp://...:0). */
  dprintf(fd, "%s\n", rc == 0 ? grove_node_endpoint() : "error");
  close(fd);
  int reason = 0;
  if (rc == 0)
    rc = grove_actor_wait(pong, &reason, 120); /* until "stop" (or the ping node dies) */
  char bound[256];
  snprintf(bound, sizeof bound, "%s", grove_node_endpoint());
  grove_node_stop();
  remove_ipc_file(bound);
  if (grove_hub_close() != 0) {
    fprintf(stderr, "remote_pingpong: node b: the hub did not close cleanly\n");
    return EXIT_FAILURE;
  }
  return rc == 0 && reason == GROVE_EXIT_NORMAL ? EXIT_SUCCESS : EXIT_FAILURE;
}

/* ---- node A: the ping actor ------------------------------------------------------ */

static struct {
  int64_t n;                     /* round trips to play */
  double *rtt_send, *rtt_call;   /* seconds, one per round trip */
  int64_t pongs, calls, counted; /* what came back */
  int out_of_order, rc;
  double oneway_s; /* from the first "data" to the "count" reply */
} run;

struct ping {
  grove_actor base;
  grove_ref pong;
  int64_t k; /* the counter of the "ping" in flight */
  double t0; /* when it was sent */
};

static int ping_fail(const char *what, int rc) {
  fprintf(stderr, "remote_pingpong: %s: %s\n", what, grove_strerror(rc));
  run.rc = rc;
  return rc; /* ends the ping actor with this reason */
}

static int send_ping(struct ping *p) {
  p->k++;
  p->t0 = now_s();
  int rc = grove_send(p->pong, msg_int("ping", p->k));
  return rc ? ping_fail("send ping", rc) : 0;
}

/* Phases 2 and 3, after the last pong: calls, then one-way sends. */
static int calls_and_throughput(struct ping *p) {
  for (int64_t k = 1; k <= run.n; k++) {
    grove_msg *reply;
    double t0 = now_s();
    int rc = grove_call(p->pong, msg_int("echo", k), &reply, TIMEOUT);
    run.rtt_call[k - 1] = now_s() - t0;
    if (rc)
      return ping_fail("call echo", rc);
    int64_t v;
    if (grove_msg_int(reply, 0, &v) != 0 || v != k)
      run.out_of_order++;
    grove_msg_free(reply);
    run.calls++;
  }
  double t0 = now_s();
  for (int64_t k = 1; k <= BURST * run.n; k++) {
    int rc = grove_send(p->pong, msg_int("data", k));
    if (rc)
      return ping_fail("send data", rc);
  }
  grove_msg *reply;
  int rc = grove_call(p->pong, grove_msg_new("count"), &reply, TIMEOUT);
  run.oneway_s = now_s() - t0;
  if (rc)
    return ping_fail("call count", rc);
  grove_msg_int(reply, 0, &run.counted);
  grove_msg_free(reply);
  rc = grove_call(p->pong, grove_msg_new("stop"), &reply, TIMEOUT);
  if (rc)
    return ping_fail("call stop", rc);
  grove_msg_free(reply);
  return GROVE_STOP;
}

static int ping_receive(grove_actor *self, grove_msg *msg) {
  struct ping *p = (struct ping *)self;
  if (grove_msg_is(msg, "start")) {
    /* Find the pong actor by its registered name on the other node. */
    int rc = grove_whereis_remote(NODE_B, "pong", &p->pong, TIMEOUT);
    if (rc)
      return ping_fail("whereis_remote pong", rc);
    printf("found \"pong\" on %s: ref {node %08x (%s), id %llu, gen %u}\n", NODE_B,
           (unsigned)p->pong.node, grove_node_name_of(p->pong.node), (unsigned long long)p->pong.id,
           (unsigned)p->pong.gen);
    return send_ping(p);
  }
  int64_t k;
  if (grove_msg_is(msg, "pong") && grove_msg_int(msg, 0, &k) == 0) {
    run.rtt_send[k - 1 < run.n && k >= 1 ? k - 1 : 0] = now_s() - p->t0;
    if (k != p->k)
      run.out_of_order++;
    run.pongs++;
    return p->k < run.n ? send_ping(p) : calls_and_throughput(p);
  }
  return ping_fail("unexpected message", GROVE_EINVAL);
}

static const grove_actor_class ping_class = {
    .name = "ping", .size = sizeof(struct ping), .receive = ping_receive};

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static void print_latency(const char *what, double *t, int64_t n) {
  double sum = 0;
  for (int64_t i = 0; i < n; i++)
    sum += t[i];
  qsort(t, (size_t)n, sizeof *t, cmp_double);
  printf("%-34s median %6.1f us, mean %6.1f us, min %6.1f us\n", what, t[n / 2] * 1e6,
         sum / (double)n * 1e6, t[0] * 1e6);
}

/* Start node B: this program again, with --node-b. Returns its pid, and the
 * endpoint it bound in ep. */
static pid_t start_node_b(const char *endpoint, char *ep, size_t eplen) {
  char self[4096];
  ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
  int pfd[2];
  if (len <= 0 || pipe(pfd) != 0)
    return -1;
  self[len] = 0;
  char fdarg[16];
  snprintf(fdarg, sizeof fdarg, "%d", pfd[1]);
  char *argv[] = {self, "--node-b", (char *)endpoint, fdarg, NULL};
  pid_t pid;
  if (posix_spawn(&pid, self, NULL, NULL, argv, environ) != 0)
    pid = -1;
  close(pfd[1]);
  FILE *f = fdopen(pfd[0], "r");
  if (!f || !fgets(ep, (int)eplen, f) || strncmp(ep, "error", 5) == 0)
    ep[0] = 0;
  if (f)
    fclose(f);
  ep[strcspn(ep, "\n")] = 0;
  return pid;
}

int main(int argc, char **argv) {
  if (argc == 4 && strcmp(argv[1], "--node-b") == 0)
    return node_b(argv[2], atoi(argv[3]));

  setvbuf(stdout, NULL, _IOLBF, 0); /* lines in order with the nodes' stderr lines */
  int64_t n = 10000;
  int tcp = 0;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--quick") == 0)
      n = 1000;
    else if (strcmp(argv[i], "--tcp") == 0)
      tcp = 1;
    else if ((n = strtoll(argv[i], NULL, 10)) < 1) {
      fprintf(stderr, "usage: %s [--quick] [--tcp] [ROUND_TRIPS >= 1]\n", argv[0]);
      return EXIT_FAILURE;
    }
  }
  run.n = n;
  run.rtt_send = calloc((size_t)n, sizeof *run.rtt_send);
  run.rtt_call = calloc((size_t)n, sizeof *run.rtt_call);
  if (!run.rtt_send || !run.rtt_call)
    return EXIT_FAILURE;

  char ep_a[128], ep_b[128], bound_b[256];
  if (tcp) {
    snprintf(ep_a, sizeof ep_a, "tcp://127.0.0.1:0");
    snprintf(ep_b, sizeof ep_b, "tcp://127.0.0.1:0");
  } else {
    snprintf(ep_a, sizeof ep_a, "ipc:///tmp/grove-rpp-%d-a", (int)getpid());
    snprintf(ep_b, sizeof ep_b, "ipc:///tmp/grove-rpp-%d-b", (int)getpid());
  }
  double t_start = now_s();
  pid_t child = start_node_b(ep_b, bound_b, sizeof bound_b);
  if (child < 0 || !bound_b[0]) {
    fprintf(stderr, "remote_pingpong: the second process did not start\n");
    if (child > 0)
      waitpid(child, NULL, 0);
    return EXIT_FAILURE;
  }

  int rc = grove_node_start(NODE_A, ep_a, NULL);
  if (rc == 0)
    rc = grove_node_connect(NODE_B, bound_b); /* waits for the handshake */
  if (rc != 0) {
    fprintf(stderr, "remote_pingpong: cannot reach %s at %s: %s\n", NODE_B, bound_b,
            grove_strerror(rc));
    kill(child, SIGTERM);
    waitpid(child, NULL, 0);
    return EXIT_FAILURE;
  }
  printf("node %s (pid %d, %s) connected to node %s (pid %d, %s) in %.1f ms\n", NODE_A,
         (int)getpid(), grove_node_endpoint(), NODE_B, (int)child, bound_b,
         (now_s() - t_start) * 1e3);

  grove_ref ping = grove_actor_spawn(&ping_class, NULL);
  int reason = 0;
  rc = grove_send(ping, grove_msg_new("start"));
  if (rc == 0)
    rc = grove_actor_wait(ping, &reason, 120);

  grove_node_stats st = {0};
  grove_node_stats_get(&st);
  snprintf(ep_a, sizeof ep_a, "%s", grove_node_endpoint());
  grove_node_stop();
  remove_ipc_file(ep_a);
  int status = 0;
  waitpid(child, &status, 0);
  int hub_rc = grove_hub_close();

  int ok = rc == 0 && reason == GROVE_EXIT_NORMAL && run.rc == 0 && run.pongs == n &&
           run.calls == n && run.counted == BURST * n && run.out_of_order == 0 &&
           WIFEXITED(status) && WEXITSTATUS(status) == 0 && hub_rc == 0;
  if (run.pongs == n && run.calls == n) {
    printf("%lld round trips of each kind, tag + msgpack int body:\n", (long long)n);
    print_latency("  grove_send ping -> grove_send pong", run.rtt_send, n);
    print_latency("  grove_call echo (round trip)", run.rtt_call, n);
    printf("  one-way grove_send throughput      %.0f msgs/s (%lld in %.1f ms, %lld counted)\n",
           (double)(BURST * n) / run.oneway_s, (long long)(BURST * n), run.oneway_s * 1e3,
           (long long)run.counted);
    printf("node %s: %llu envelopes sent, %llu received in %llu frames, %llu dropped\n", NODE_A,
           (unsigned long long)st.sent, (unsigned long long)st.received,
           (unsigned long long)st.frames_received,
           (unsigned long long)(st.dropped_malformed + st.dropped_version + st.dropped_oversize +
                                st.dropped_unknown_peer + st.dropped_unroutable));
  }
  printf("both nodes stopped; the second process exited with %d; %s\n",
         WIFEXITED(status) ? WEXITSTATUS(status) : -1, ok ? "all counts check" : "FAILED");
  if (!ok)
    fprintf(stderr,
            "remote_pingpong: failed (rc %s, reason %s, pongs %lld, calls %lld, counted %lld, "
            "out of order %d, hub close %d)\n",
            grove_err_name(rc), grove_exit_reason_name(reason), (long long)run.pongs,
            (long long)run.calls, (long long)run.counted, run.out_of_order, hub_rc);
  free(run.rtt_send);
  free(run.rtt_call);
  return ok ? EXIT_SUCCESS : EXIT_FAILURE;
}
