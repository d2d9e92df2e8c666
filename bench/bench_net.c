/* bench/bench_net.c - grove-bench's network benchmarks: the transport
 * between two processes, and TCP.
 *
 * The second process is grove-bench itself, re-executed with
 * `--child ROLE ARG` (a fork would share the parent's libuv loop).
 *
 *   remote_rtt_ipc / _tcp     µs, median round trip of a grove_call with a
 *                             32-byte body to an actor in the other process
 *   remote_throughput_ipc / _tcp / _curve
 *                             one-way msgs/s of grove_send with a 32-byte
 *                             body to a counting actor in the other process
 *   remote_flood_rss          MiB, the receiver's peak RSS after 1M one-way
 *                             sends of 100 B into a 64-message inbox (flow
 *                             control holds the sender back)
 *   remote_flood_timer_lateness / _256k
 *                             ms, the worst lateness of a 10 ms periodic timer
 *                             on a node receiving a 2 s flood of 100 B / of
 *                             256 KiB messages (to an unbounded actor)
 *   tcp_echo                  round trips/s: 100 connections, 64-byte
 *                             messages, to grove's StreamServer echo
 *                             (grove-echo-server) in another process
 *   tcp_connections           bytes of server RSS per idle connection, 10k
 *                             connections
 *
 * For experiments: GROVE_BENCH_WINDOW=BYTES sets both nodes' link window,
 * GROVE_BENCH_STATS=1 prints the sending node's counters (frames, window
 * waits, credits) to stderr when a pair stops.
 */
#include "bench.h"

#include <grove.h>

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;
int bench_net_quick;

static void fail(const char *name, const char *why, int rc) {
  fprintf(stderr, "grove-bench: %s: %s%s%s\n", name, why, rc ? ": " : "",
          rc ? grove_strerror(rc) : "");
  exit(1);
}

static pid_t spawn_self(const char *role, const char *arg, const char *arg2) {
  char self[4096];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0)
    return -1;
  self[n] = 0;
  char *argv[] = {self, "--child", (char *)role, (char *)arg, (char *)arg2, NULL};
  pid_t pid;
  if (posix_spawn(&pid, self, NULL, NULL, argv, environ) != 0)
    return -1;
  return pid;
}

static void reap(pid_t pid) {
  kill(pid, SIGTERM);
  waitpid(pid, NULL, 0);
}

/* ---- the other process's actors ------------------------------------------------------- */

typedef struct {
  grove_actor base;
  int64_t count, expect;
  grove_msg *waiting; /* a "done?" request held until count == expect */
} sink_t;

static int sink_receive(grove_actor *self, grove_msg *m) {
  sink_t *s = (sink_t *)self;
  if (grove_msg_is(m, "ping")) {
    grove_msg *r = grove_msg_new("pong");
    const void *b;
    size_t len;
    grove_msg_bin(m, 0, &b, &len);
    grove_msg_pack_bin(r, b, len);
    return grove_reply(m, r);
  }
  if (grove_msg_is(m, "data")) {
    if (++s->count == s->expect && s->waiting) {
      grove_msg *r = grove_msg_new("done");
      grove_msg_pack_int(r, s->count);
      grove_reply(s->waiting, r);
      grove_msg_free(s->waiting);
      s->waiting = NULL;
    }
    return 0;
  }
  if (grove_msg_is(m, "expect")) {
    grove_msg_int(m, 0, &s->expect);
    if (s->count >= s->expect) {
      grove_msg *r = grove_msg_new("done");
      grove_msg_pack_int(r, s->count);
      return grove_reply(m, r);
    }
    s->waiting = grove_msg_take(m);
    return 0;
  }
  if (grove_msg_is(m, "reset")) {
    s->count = 0;
    s->expect = -1;
    return grove_reply(m, grove_msg_new("ok"));
  }
  return 0;
}

static const grove_actor_class sink_class = {"sink", sizeof(sink_t), NULL, sink_receive, NULL};

/* The probe: the child's resident memory and a 10 ms periodic timer. */
typedef struct {
  volatile int stop;
  double worst;
  long ticks;
} ticker_t;
static ticker_t probe_ticker;
static grove_greenlet *probe_tick_g;

static void *probe_tick(void *arg) {
  ticker_t *t = arg;
  while (!t->stop) {
    double t0 = now_s();
    if (grove_sleep(0.01) != 0)
      break;
    double late = now_s() - t0 - 0.01;
    if (late > t->worst)
      t->worst = late;
    t->ticks++;
  }
  return NULL;
}

static long status_kb(const char *key) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  long v = -1;
  size_t k = strlen(key);
  while (f && fgets(line, sizeof line, f))
    if (strncmp(line, key, k) == 0 && line[k] == ':')
      v = atol(line + k + 1);
  if (f)
    fclose(f);
  return v;
}

static int probe_receive(grove_actor *self, grove_msg *m) {
  (void)self;
  grove_msg *r = grove_msg_new("probe");
  if (grove_msg_is(m, "rss")) {
    grove_msg_pack_int(r, status_kb("VmHWM"));
    grove_msg_pack_int(r, status_kb("VmRSS"));
  } else if (grove_msg_is(m, "tick")) {
    if (probe_tick_g) {
      probe_ticker.stop = 1;
      grove_join(probe_tick_g, 5);
      grove_greenlet_release(probe_tick_g);
      probe_tick_g = NULL;
    }
    memset(&probe_ticker, 0, sizeof probe_ticker);
    probe_tick_g = grove_spawn(probe_tick, &probe_ticker);
  } else if (grove_msg_is(m, "tickrep")) {
    grove_msg_pack_int(r, (int64_t)(probe_ticker.worst * 1e6));
    grove_msg_pack_int(r, probe_ticker.ticks);
  }
  return grove_reply(m, r);
}

static const grove_actor_class probe_class = {"probe", sizeof(grove_actor), NULL, probe_receive,
                                              NULL};

static char curve_pub[41], curve_sec[41];

static grove_node_opts node_opts(int curve) {
  grove_node_opts o = {.sndhwm = 10000, .rcvhwm = 10000};
  const char *w = getenv("GROVE_BENCH_WINDOW"); /* experiments: the link window */
  if (w)
    o.window = (size_t)strtoull(w, NULL, 0);
  if (curve) {
    o.curve_public = curve_pub;
    o.curve_secret = curve_sec;
    o.curve_server_key = curve_pub;
  }
  return o;
}

/* The child: a node with the sink registered; prints its endpoint, runs
 * until SIGTERM. */
static int child_node(const char *endpoint, const char *keys) {
  int curve = keys && strlen(keys) == 81;
  if (curve) {
    memcpy(curve_pub, keys, 40);
    memcpy(curve_sec, keys + 41, 40);
  }
  grove_node_opts o = node_opts(curve);
  int rc = grove_node_start("bench-child", endpoint, &o);
  if (rc) {
    fprintf(stderr, "child: node start: %s\n", grove_strerror(rc));
    return 1;
  }
  grove_ref r = grove_actor_spawn(&sink_class, NULL);
  grove_register("sink", r);
  grove_actor_opts bo = {.name = "bsink", .inbox_max = 64};
  grove_actor_spawn_ex(&sink_class, NULL, &bo, NULL);
  grove_actor_opts po = {.name = "probe"};
  grove_actor_spawn_ex(&probe_class, NULL, &po, NULL);
  printf("%s\n", grove_node_endpoint());
  fflush(stdout);
  grove_signal_wait(SIGTERM, 600);
  grove_node_stop();
  return 0;
}

/* Start the child node and connect to it. Returns the child's pid and the
 * sink's ref. */
static pid_t start_pair(const char *name, const char *endpoint, int curve, grove_ref *sink) {
  int pfd[2];
  if (pipe(pfd) != 0)
    fail(name, "pipe", 0);
  char keys[82] = "";
  if (curve) {
    grove_curve_keypair(curve_pub, curve_sec);
    snprintf(keys, sizeof keys, "%s:%s", curve_pub, curve_sec);
  }
  int saved = dup(1);
  dup2(pfd[1], 1);
  pid_t pid = spawn_self("node", endpoint, keys);
  dup2(saved, 1);
  close(saved);
  close(pfd[1]);
  if (pid < 0)
    fail(name, "cannot start the second process", 0);
  char ep[512];
  FILE *f = fdopen(pfd[0], "r");
  if (!f || !fgets(ep, sizeof ep, f)) {
    reap(pid);
    fail(name, "the second process did not start", 0);
  }
  fclose(f);
  ep[strcspn(ep, "\n")] = 0;
  grove_node_opts o = node_opts(curve);
  char self_ep[128];
  if (strncmp(endpoint, "ipc://", 6) == 0)
    snprintf(self_ep, sizeof self_ep, "ipc:///tmp/grove-bench-%d-parent", (int)getpid());
  else
    snprintf(self_ep, sizeof self_ep, "tcp://127.0.0.1:0");
  int rc = grove_node_start("bench-parent", self_ep, &o);
  if (rc == 0)
    rc = grove_node_connect("bench-child", ep);
  if (rc == 0)
    rc = grove_whereis_remote("bench-child", "sink", sink, 5);
  if (rc) {
    reap(pid);
    fail(name, "cannot reach the second process", rc);
  }
  return pid;
}

static void stop_pair(pid_t pid) {
  if (getenv("GROVE_BENCH_STATS")) { /* experiments: what the node saw */
    grove_node_stats st;
    if (grove_node_stats_get(&st) == 0)
      fprintf(stderr,
              "sent %llu frames %llu window_waits %llu credits_received %llu received %llu\n",
              (unsigned long long)st.sent, (unsigned long long)st.frames_sent,
              (unsigned long long)st.window_waits, (unsigned long long)st.credits_received,
              (unsigned long long)st.received);
  }
  grove_node_stop();
  reap(pid);
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static void remote_rtt(const char *name, const char *endpoint) {
  grove_ref sink;
  pid_t pid = start_pair(name, endpoint, 0, &sink);
  int n = bench_net_quick ? 5000 : 20000, warm = 1000;
  double *t = malloc(sizeof *t * (size_t)n);
  char body[32];
  memset(body, 'x', sizeof body);
  for (int i = -warm; i < n; i++) {
    grove_msg *m = grove_msg_new("ping"), *r;
    grove_msg_pack_bin(m, body, 32 - 2); /* bin8 header + 30 bytes: a 32-byte body */
    double t0 = now_s();
    int rc = grove_call(sink, m, &r, 5);
    double t1 = now_s();
    if (rc) {
      reap(pid);
      fail(name, "call", rc);
    }
    grove_msg_free(r);
    if (i >= 0)
      t[i] = t1 - t0;
  }
  qsort(t, (size_t)n, sizeof *t, cmp_double);
  report(name, t[n / 2] * 1e6, "us");
  free(t);
  stop_pair(pid);
}

static void remote_throughput(const char *name, const char *endpoint, int curve) {
  grove_ref sink;
  pid_t pid = start_pair(name, endpoint, curve, &sink);
  long n = bench_net_quick ? 300000 : (curve ? 1000000 : 3000000);
  char body[32];
  memset(body, 'y', sizeof body);
  double best = 0;
  for (int rep = 0; rep < (bench_net_quick ? 1 : 3); rep++) {
    grove_msg *r;
    int rc = grove_call(sink, grove_msg_new("reset"), &r, 5);
    if (rc)
      fail(name, "reset", rc);
    grove_msg_free(r);
    double t0 = now_s();
    for (long i = 0; i < n; i++) {
      grove_msg *m = grove_msg_new("data");
      grove_msg_pack_bin(m, body, 30);
      if ((rc = grove_send(sink, m)) != 0) {
        reap(pid);
        fail(name, "send", rc);
      }
    }
    grove_msg *q = grove_msg_new("expect");
    grove_msg_pack_int(q, n);
    rc = grove_call(sink, q, &r, 120);
    double t1 = now_s();
    int64_t got = -1;
    if (rc == 0)
      grove_msg_int(r, 0, &got);
    grove_msg_free(r);
    if (rc || got != n) {
      reap(pid);
      fail(name, "the receiver did not count every message", rc);
    }
    if (n / (t1 - t0) > best)
      best = n / (t1 - t0);
  }
  report(name, best, "msgs/s");
  stop_pair(pid);
}

void bench_remote_rtt_ipc(void) {
  char ep[128];
  snprintf(ep, sizeof ep, "ipc:///tmp/grove-bench-%d-child", (int)getpid());
  remote_rtt("remote_rtt_ipc", ep);
}
void bench_remote_rtt_tcp(void) { remote_rtt("remote_rtt_tcp", "tcp://127.0.0.1:0"); }
void bench_remote_throughput_ipc(void) {
  char ep[128];
  snprintf(ep, sizeof ep, "ipc:///tmp/grove-bench-%d-child", (int)getpid());
  remote_throughput("remote_throughput_ipc", ep, 0);
}
void bench_remote_throughput_tcp(void) {
  remote_throughput("remote_throughput_tcp", "tcp://127.0.0.1:0", 0);
}
void bench_remote_throughput_curve(void) {
  remote_throughput("remote_throughput_curve", "tcp://127.0.0.1:0", 1);
}

/* ---- flow control and fairness under a flood ------------------------------------------------ */

static grove_ref remote_ref(const char *bench, pid_t pid, const char *name) {
  grove_ref r;
  int rc = grove_whereis_remote("bench-child", name, &r, 5);
  if (rc) {
    reap(pid);
    fail(bench, "whereis", rc);
  }
  return r;
}

static grove_msg *probe_call(const char *bench, pid_t pid, grove_ref probe, const char *tag) {
  grove_msg *r = NULL;
  int rc = grove_call(probe, grove_msg_new(tag), &r, 30);
  if (rc) {
    reap(pid);
    fail(bench, tag, rc);
  }
  return r;
}

/* 1M sends of 100 B into the child's 64-message inbox: its peak RSS. */
void bench_remote_flood_rss(void) {
  char ep[128];
  snprintf(ep, sizeof ep, "ipc:///tmp/grove-bench-%d-child", (int)getpid());
  grove_ref sink;
  pid_t pid = start_pair("remote_flood_rss", ep, 0, &sink);
  grove_ref bsink = remote_ref("remote_flood_rss", pid, "bsink");
  grove_ref probe = remote_ref("remote_flood_rss", pid, "probe");
  long n = bench_net_quick ? 200000 : 1000000;
  char body[100];
  memset(body, 'f', sizeof body);
  for (long i = 0; i < n; i++) {
    grove_msg *m = grove_msg_new("data");
    grove_msg_pack_bin(m, body, sizeof body - 2); /* a 100-byte body */
    int rc = grove_send(bsink, m);
    if (rc) {
      reap(pid);
      fail("remote_flood_rss", "send", rc);
    }
  }
  grove_msg *q = grove_msg_new("expect"), *r = NULL;
  grove_msg_pack_int(q, n);
  int rc = grove_call(bsink, q, &r, 300);
  int64_t got = -1;
  if (rc == 0)
    grove_msg_int(r, 0, &got);
  grove_msg_free(r);
  if (rc || got != n) {
    reap(pid);
    fail("remote_flood_rss", "the receiver did not count every message", rc);
  }
  r = probe_call("remote_flood_rss", pid, probe, "rss");
  int64_t hwm = 0;
  grove_msg_int(r, 0, &hwm);
  grove_msg_free(r);
  report("remote_flood_rss", (double)hwm / 1024, "MiB");
  stop_pair(pid);
}

/* A 2 s flood of `size`-byte messages to the child's sink: the worst
 * lateness of the child's 10 ms timer meanwhile. */
static void flood_lateness(const char *name, size_t size) {
  char ep[128];
  snprintf(ep, sizeof ep, "ipc:///tmp/grove-bench-%d-child", (int)getpid());
  grove_ref sink;
  pid_t pid = start_pair(name, ep, 0, &sink);
  grove_ref probe = remote_ref(name, pid, "probe");
  char *body = calloc(1, size);
  grove_msg_free(probe_call(name, pid, probe, "tick"));
  double end = now_s() + (bench_net_quick ? 1.0 : 2.0);
  long sent = 0;
  while (now_s() < end) {
    grove_msg *m = grove_msg_new("data");
    grove_msg_pack_bin(m, body, size - (size > 255 ? 5 : 2));
    int rc = grove_send(sink, m);
    if (rc) {
      reap(pid);
      fail(name, "send", rc);
    }
    if (++sent % 256 == 0)
      grove_sleep(0); /* a loop of sends that never waited would hold this hub */
  }
  free(body);
  grove_msg *r = probe_call(name, pid, probe, "tickrep");
  int64_t worst_us = -1, ticks = 0;
  grove_msg_int(r, 0, &worst_us);
  grove_msg_int(r, 1, &ticks);
  grove_msg_free(r);
  if (ticks < 10) {
    reap(pid);
    fail(name, "the timer hardly ran", 0);
  }
  report(name, (double)worst_us / 1e3, "ms");
  stop_pair(pid);
}

void bench_remote_flood_timer_lateness(void) { flood_lateness("remote_flood_timer_lateness", 100); }
void bench_remote_flood_timer_lateness_256k(void) {
  flood_lateness("remote_flood_timer_lateness_256k", 256 * 1024);
}

/* ---- TCP ------------------------------------------------------------------------------------- */

/* The echo server (grove-echo-server is the same code): a StreamServer
 * whose handler echoes what it reads. */
static void echo_handler(grove_socket *c, void *arg) {
  (void)arg;
  char buf[1024];
  ssize_t n;
  while ((n = grove_socket_read(c, buf, sizeof buf, GROVE_FOREVER)) > 0)
    if (grove_socket_write_all(c, buf, (size_t)n, NULL, GROVE_FOREVER) != 0)
      break;
}

int bench_echo_server_main(int port, int announce) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  grove_socket *ls;
  int rc = grove_tcp_listen("127.0.0.1", port, 4096, &ls);
  if (rc) {
    fprintf(stderr, "grove-echo-server: listen: %s\n", grove_strerror(rc));
    return 1;
  }
  grove_server *srv;
  grove_stream_server_new(ls, echo_handler, NULL, NULL, &srv);
  if (announce) {
    printf("%d\n", grove_server_port(srv));
    fflush(stdout);
  }
  grove_server_start(srv);
  grove_signal_wait(SIGTERM, GROVE_FOREVER);
  grove_server_stop(srv, 1);
  grove_server_free(srv);
  return 0;
}

static pid_t start_echo_server(const char *name, int *port) {
  int pfd[2];
  if (pipe(pfd) != 0)
    fail(name, "pipe", 0);
  int saved = dup(1);
  dup2(pfd[1], 1);
  pid_t pid = spawn_self("echo", "0", NULL);
  dup2(saved, 1);
  close(saved);
  close(pfd[1]);
  char line[64];
  FILE *f = fdopen(pfd[0], "r");
  if (pid < 0 || !f || !fgets(line, sizeof line, f))
    fail(name, "the echo server did not start", 0);
  fclose(f);
  *port = atoi(line);
  return pid;
}

typedef struct {
  int port;
  double until;
  long count;
  int err;
} echo_client;

static void *echo_conn(void *arg) {
  echo_client *ec = arg;
  grove_socket *s;
  int rc = grove_tcp_connect("127.0.0.1", ec->port, &s, 5);
  if (rc) {
    ec->err = rc;
    return NULL;
  }
  char msg[64], back[64];
  memset(msg, 'e', sizeof msg);
  long k = 0;
  while (now_s() < ec->until || k == 0) {
    if ((rc = grove_socket_write_all(s, msg, sizeof msg, NULL, 5)) != 0 ||
        (rc = grove_socket_read_exactly(s, back, sizeof back, NULL, 5)) != 0) {
      ec->err = rc;
      break;
    }
    if (memcmp(msg, back, sizeof msg) != 0) {
      ec->err = GROVE_EPROTO;
      break;
    }
    k++;
  }
  ec->count += k;
  grove_socket_close(s);
  return NULL;
}

void bench_tcp_echo(void) {
  int port;
  pid_t pid = start_echo_server("tcp_echo", &port);
  double secs = bench_net_quick ? 1.0 : 3.0;
  echo_client ec = {.port = port, .until = now_s() + 0.3};
  enum { CONNS = 100 };
  grove_greenlet *g[CONNS];
  for (int i = 0; i < CONNS; i++) /* warm-up */
    g[i] = grove_spawn(echo_conn, &ec);
  grove_joinall(g, CONNS, GROVE_FOREVER);
  for (int i = 0; i < CONNS; i++)
    grove_greenlet_release(g[i]);
  ec.count = 0;
  double t0 = now_s();
  ec.until = t0 + secs;
  for (int i = 0; i < CONNS; i++)
    g[i] = grove_spawn(echo_conn, &ec);
  grove_joinall(g, CONNS, GROVE_FOREVER);
  double t1 = now_s();
  for (int i = 0; i < CONNS; i++)
    grove_greenlet_release(g[i]);
  reap(pid);
  if (ec.err)
    fail("tcp_echo", "a connection failed", ec.err);
  report("tcp_echo", ec.count / (t1 - t0), "req/s");
}

void bench_tcp_connections(void) {
  struct rlimit rl;
  getrlimit(RLIMIT_NOFILE, &rl);
  rl.rlim_cur = rl.rlim_max;
  setrlimit(RLIMIT_NOFILE, &rl);
  int n = bench_net_quick ? 2000 : 10000;
  if ((rlim_t)n + 100 > rl.rlim_cur)
    n = (int)rl.rlim_cur - 100;
  int port;
  pid_t pid = start_echo_server("tcp_connections", &port);
  usleep(100000);
  long before = proc_rss(pid);
  int *fds = malloc(sizeof *fds * (size_t)n);
  struct sockaddr_in a = {.sin_family = AF_INET,
                          .sin_port = htons((uint16_t)port),
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  for (int i = 0; i < n; i++) {
    fds[i] = socket(AF_INET, SOCK_STREAM, 0);
    if (fds[i] < 0 || connect(fds[i], (struct sockaddr *)&a, sizeof a) != 0) {
      reap(pid);
      fail("tcp_connections", "connect", -errno);
    }
  }
  /* One round trip on each: every handler has run and is blocked in read. */
  for (int i = 0; i < n; i++) {
    char c = 'x';
    if (write(fds[i], &c, 1) != 1 || read(fds[i], &c, 1) != 1) {
      reap(pid);
      fail("tcp_connections", "echo", -errno);
    }
  }
  usleep(100000);
  long after = proc_rss(pid);
  for (int i = 0; i < n; i++)
    close(fds[i]);
  free(fds);
  reap(pid);
  report("tcp_connections", (double)(after - before) / n, "B/conn");
}

/* ---- the child's entry
 * ----------------------------------------------------------------------------- */

int bench_net_child(int argc, char **argv) {
  if (argc >= 4 && strcmp(argv[2], "node") == 0)
    return child_node(argv[3], argc >= 5 ? argv[4] : NULL);
  if (argc >= 4 && strcmp(argv[2], "echo") == 0)
    return bench_echo_server_main(atoi(argv[3]), 1);
  fprintf(stderr, "grove-bench: unknown child role\n");
  return 2;
}
