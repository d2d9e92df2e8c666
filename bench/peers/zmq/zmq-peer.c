/* zmq-peer: raw libzmq between two processes, the yardstick for grove's
 * remote sends (remote_rtt ≤ 1.15x and remote_throughput ≥ 70% of these).
 *
 *   zmq-peer [--quick] rtt ipc|tcp            -> remote_rtt_ipc|tcp VALUE us
 *   zmq-peer [--quick] throughput ipc|tcp|curve
 *                                             -> remote_throughput_* VALUE msgs/s
 *
 * The process forks before either side touches libzmq: the child binds (to a
 * fresh ipc path, or to tcp://127.0.0.1:* so the kernel picks a free port)
 * and passes the endpoint back through a pipe; the parent connects.
 *
 * rtt: the parent (REQ) sends a 32-byte message, the child (REP) echoes it;
 * the figure is the median of the timed round trips, in microseconds.
 * throughput: the parent PUSHes 32-byte messages to the child's PULL, which
 * times from the first to the last and writes the rate back through a pipe.
 * curve is tcp with CURVE keys (zmq_curve_keypair) on both sides. */
#include <zmq.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MSG_SIZE 32

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what) {
  fprintf(stderr, "zmq-peer: %s: %s\n", what, zmq_strerror(zmq_errno()));
  exit(1);
}

static void check(int rc, const char *what) {
  if (rc < 0)
    die(what);
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static char pub_key[41], sec_key[41], cli_pub[41], cli_sec[41];

/* The child's side: bind, tell the parent where, then serve. */
static void bind_and_announce(void *sock, const char *transport, int fd) {
  char endpoint[256];
  if (strcmp(transport, "ipc") == 0)
    snprintf(endpoint, sizeof endpoint, "ipc:///tmp/zmq-peer-%d.ipc", (int)getpid());
  else
    snprintf(endpoint, sizeof endpoint, "tcp://127.0.0.1:*");
  check(zmq_bind(sock, endpoint), "bind");
  size_t len = sizeof endpoint;
  check(zmq_getsockopt(sock, ZMQ_LAST_ENDPOINT, endpoint, &len), "ZMQ_LAST_ENDPOINT");
  if (write(fd, endpoint, strlen(endpoint) + 1) < 0)
    exit(1);
}

static void unlink_ipc(const char *endpoint) {
  if (strncmp(endpoint, "ipc://", 6) == 0)
    unlink(endpoint + 6);
}

static void child_rtt(const char *transport, int fd) {
  void *ctx = zmq_ctx_new();
  void *rep = zmq_socket(ctx, ZMQ_REP);
  bind_and_announce(rep, transport, fd);
  char buf[MSG_SIZE];
  for (;;) {
    int n = zmq_recv(rep, buf, sizeof buf, 0);
    check(n, "child recv");
    check(zmq_send(rep, buf, (size_t)n, 0), "child send");
    if (n == 0) /* the parent's goodbye */
      break;
  }
  zmq_close(rep);
  zmq_ctx_term(ctx);
}

static double child_throughput(const char *transport, int fd, long n) {
  void *ctx = zmq_ctx_new();
  void *pull = zmq_socket(ctx, ZMQ_PULL);
  if (strcmp(transport, "curve") == 0) {
    int one = 1;
    check(zmq_setsockopt(pull, ZMQ_CURVE_SERVER, &one, sizeof one), "CURVE_SERVER");
    check(zmq_setsockopt(pull, ZMQ_CURVE_SECRETKEY, sec_key, 40), "CURVE_SECRETKEY");
  }
  bind_and_announce(pull, strcmp(transport, "curve") == 0 ? "tcp" : transport, fd);
  char buf[MSG_SIZE];
  double t0 = 0;
  for (long i = 0; i < n; i++) {
    int got = zmq_recv(pull, buf, sizeof buf, 0);
    if (got != MSG_SIZE || buf[0] != (char)i) {
      fprintf(stderr, "zmq-peer: message %ld: wrong size or content\n", i);
      exit(1);
    }
    if (i == 0)
      t0 = now_s();
  }
  double rate = (double)(n - 1) / (now_s() - t0);
  zmq_close(pull);
  zmq_ctx_term(ctx);
  return rate;
}

int main(int argc, char **argv) {
  int quick = 0, a = 1;
  if (a < argc && strcmp(argv[a], "--quick") == 0)
    quick = 1, a++;
  if (argc - a != 2) {
    fprintf(stderr, "usage: zmq-peer [--quick] rtt ipc|tcp | throughput ipc|tcp|curve\n");
    return 2;
  }
  const char *mode = argv[a], *transport = argv[a + 1];
  int rtt = strcmp(mode, "rtt") == 0;
  if ((!rtt && strcmp(mode, "throughput") != 0) ||
      (strcmp(transport, "ipc") != 0 && strcmp(transport, "tcp") != 0 &&
       (rtt || strcmp(transport, "curve") != 0))) {
    fprintf(stderr, "zmq-peer: unknown benchmark %s %s\n", mode, transport);
    return 2;
  }
  long n = rtt ? (quick ? 5000 : 50000) : (quick ? 200000 : 2000000);
  if (strcmp(transport, "curve") == 0) {
    check(zmq_curve_keypair(pub_key, sec_key), "zmq_curve_keypair (libzmq without CURVE?)");
    check(zmq_curve_keypair(cli_pub, cli_sec), "zmq_curve_keypair");
  }

  int to_parent[2], result[2];
  if (pipe(to_parent) < 0 || pipe(result) < 0)
    return 1;
  pid_t pid = fork();
  if (pid < 0)
    return 1;
  if (pid == 0) {
    if (rtt)
      child_rtt(transport, to_parent[1]);
    else {
      double rate = child_throughput(transport, to_parent[1], n);
      if (write(result[1], &rate, sizeof rate) != sizeof rate)
        _exit(1);
    }
    _exit(0);
  }

  char endpoint[256];
  ssize_t got = read(to_parent[0], endpoint, sizeof endpoint);
  if (got <= 0) {
    fprintf(stderr, "zmq-peer: the child did not bind\n");
    return 1;
  }
  void *ctx = zmq_ctx_new();
  void *sock = zmq_socket(ctx, rtt ? ZMQ_REQ : ZMQ_PUSH);
  if (strcmp(transport, "curve") == 0) {
    check(zmq_setsockopt(sock, ZMQ_CURVE_SERVERKEY, pub_key, 40), "CURVE_SERVERKEY");
    check(zmq_setsockopt(sock, ZMQ_CURVE_PUBLICKEY, cli_pub, 40), "CURVE_PUBLICKEY");
    check(zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, cli_sec, 40), "CURVE_SECRETKEY");
  }
  check(zmq_connect(sock, endpoint), "connect");

  char msg[MSG_SIZE], echo[MSG_SIZE];
  memset(msg, 'x', sizeof msg);
  int status = 0;
  char name[64];
  if (rtt) {
    long warm = n / 10;
    double *samples = malloc((size_t)n * sizeof *samples);
    for (long i = 0; i < warm + n; i++) {
      msg[0] = (char)i;
      double t0 = now_s();
      check(zmq_send(sock, msg, sizeof msg, 0), "send");
      int r = zmq_recv(sock, echo, sizeof echo, 0);
      double dt = now_s() - t0;
      if (r != MSG_SIZE || memcmp(msg, echo, sizeof msg) != 0) {
        fprintf(stderr, "zmq-peer: rtt: the echo differs\n");
        return 1;
      }
      if (i >= warm)
        samples[i - warm] = dt;
    }
    check(zmq_send(sock, "", 0, 0), "send goodbye");
    check(zmq_recv(sock, echo, sizeof echo, 0), "recv goodbye");
    qsort(samples, (size_t)n, sizeof *samples, cmp_double);
    snprintf(name, sizeof name, "remote_rtt_%s", transport);
    printf("%s %.2f us\n", name, samples[n / 2] * 1e6);
    free(samples);
  } else {
    for (long i = 0; i < n; i++) {
      msg[0] = (char)i;
      check(zmq_send(sock, msg, sizeof msg, 0), "send");
    }
    double rate = 0;
    if (read(result[0], &rate, sizeof rate) != sizeof rate)
      status = 1;
    snprintf(name, sizeof name, "remote_throughput_%s", transport);
    printf("%s %.0f msgs/s\n", name, rate);
  }
  int linger = 0;
  zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof linger);
  zmq_close(sock);
  zmq_ctx_term(ctx);
  int wst;
  if (waitpid(pid, &wst, 0) < 0 || !WIFEXITED(wst) || WEXITSTATUS(wst) != 0)
    status = 1;
  unlink_ipc(endpoint); /* the child has gone: its ipc path too */
  return status;
}
