/* bench/bench_web.c - grove-bench's web benchmarks (net/: the HTTP server
 * and WebSockets). The server runs in another process: grove-bench itself,
 * re-executed as `--child web PORT`, pinned to CPU 0 when there are two or
 * more (the targets are per core); clients run on the other CPU.
 *
 *   http_hello            req/s: keep-alive GET / ("Hello, World!", 13 bytes)
 *                         from `wrk -t1 -c100` for 3 s (1 s with --quick);
 *                         skipped when wrk is not installed
 *   http_hello_hubs       the same from a server of one hub per CPU
 *                         (grove_http_serve_hubs), nothing pinned, wrk with
 *                         a thread per CPU
 *   http_hello_hubs1      the same setup with one hub: the ratio of the two
 *                         is what the extra hubs give
 *   http_long_poll_conns  bytes of server RSS per idle long-poll client: 10k
 *                         connections each waiting in GET /poll (the
 *                         handler started its response and waits on a
 *                         Queue nobody fills)
 *   ws_echo               msgs/s: 64-byte WebSocket messages echoed by
 *                         /ws/echo, 50 grove clients each with one in flight
 *
 * bench/peers/web/run.sh measures gevent's pywsgi, nginx and Python
 * websockets with the same clients (it runs `grove-bench --child web PORT`
 * for grove's side, and GROVE_BENCH_WS_URL points ws_echo elsewhere).
 */
#define _GNU_SOURCE
#include "bench.h"

#include <grove.h>

#include <errno.h>
#include <stdbool.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;
extern int bench_net_quick;

static void fail(const char *name, const char *why, int rc) {
  fprintf(stderr, "grove-bench: %s: %s%s%s\n", name, why, rc ? ": " : "",
          rc ? grove_strerror(rc) : "");
  exit(1);
}

static void raise_nofile(void) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

static void pin(int cpu) {
  if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
    return;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  (void)sched_setaffinity(0, sizeof set, &set);
}

/* ---- the server (the child) ------------------------------------------------------------ */

static _Thread_local grove_queue *never; /* /poll waits on it (one per hub) */

static void web_handler(grove_http_request *req, void *arg) {
  (void)arg;
  const char *path = grove_http_path(req);
  if (strcmp(path, "/poll") == 0) {
    if (grove_http_start(req, 200, "application/json", 10) != 0)
      return;
    void *datum;
    while (grove_queue_get(never, &datum, 5) == GROVE_ETIMEDOUT) {
    }
    return;
  }
  if (strcmp(path, "/ws/echo") == 0) {
    grove_ws *ws;
    if (grove_ws_upgrade(req, NULL, &ws, 10) != 0)
      return;
    const void *d;
    size_t n;
    int type;
    while ((type = grove_ws_recv(ws, &d, &n, GROVE_FOREVER)) > 0)
      if (grove_ws_send(ws, type, d, n, 10) != 0)
        return;
    return;
  }
  grove_http_respond(req, 200, "text/plain", "Hello, World!", 13, 10);
}

static void *hub_setup(void *arg) {
  (void)arg;
  never = grove_queue_new(0);
  return NULL;
}

static void *hub_teardown(void *arg) {
  (void)arg;
  grove_queue_free(never);
  never = NULL;
  return NULL;
}

/* GROVE_BENCH_WEB_HUBS=N (http_hello_hubs): N hubs accepting on the socket,
 * not pinned; otherwise one hub pinned to CPU 0. */
int bench_web_server_main(int port, int announce) {
  raise_nofile();
  const char *env = getenv("GROVE_BENCH_WEB_HUBS");
  int hubs = env ? atoi(env) : 0;
  if (hubs <= 0)
    pin(0);
  else if (grove_hubs_start((size_t)hubs) != 0) {
    fprintf(stderr, "grove-bench web server: grove_hubs_start(%d) failed\n", hubs);
    return 1;
  }
  for (size_t i = 0; i < grove_hub_count(); i++)
    grove_hub_call_on(i, hub_setup, NULL, NULL, 10);
  grove_socket *ls;
  int rc = grove_tcp_listen("127.0.0.1", port, 4096, &ls);
  if (rc) {
    fprintf(stderr, "grove-bench web server: listen: %s\n", grove_strerror(rc));
    return 1;
  }
  grove_http_config cfg = {.keepalive_timeout = 600, .request_timeout = 600};
  grove_http_hubs *srv;
  if ((rc = grove_http_serve_hubs(ls, web_handler, NULL, &cfg, &srv)) != 0) {
    fprintf(stderr, "grove-bench web server: serve: %s\n", grove_strerror(rc));
    return 1;
  }
  if (announce) {
    printf("%d\n", grove_http_hubs_port(srv));
    fflush(stdout);
  }
  grove_signal_wait(SIGTERM, GROVE_FOREVER);
  grove_http_hubs_free(srv);
  for (size_t i = 0; i < grove_hub_count(); i++)
    grove_hub_call_on(i, hub_teardown, NULL, NULL, 10);
  if (hubs > 0)
    grove_hubs_stop(5);
  return 0;
}

/* ---- the client side ----------------------------------------------------------------------- */

static pid_t start_server(const char *name, int *port, bool pinned) {
  char self[4096];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0)
    fail(name, "readlink", 0);
  self[n] = 0;
  int pfd[2];
  if (pipe(pfd) != 0)
    fail(name, "pipe", 0);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, pfd[1], 1);
  posix_spawn_file_actions_addclose(&fa, pfd[0]);
  char *argv[] = {self, "--child", "web", "0", NULL};
  pid_t pid;
  if (posix_spawn(&pid, self, &fa, NULL, argv, environ) != 0)
    fail(name, "spawn", 0);
  posix_spawn_file_actions_destroy(&fa);
  close(pfd[1]);
  /* The server on CPU 0, the client (wrk, or this process) on CPU 1, as
   * bench/peers/web/peer.sh runs the peers' servers. */
  if (pinned && sysconf(_SC_NPROCESSORS_ONLN) >= 2) {
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(0, &one);
    sched_setaffinity(pid, sizeof one, &one);
  }
  char line[64];
  FILE *f = fdopen(pfd[0], "r");
  if (!f || !fgets(line, sizeof line, f))
    fail(name, "the server did not start", 0);
  fclose(f);
  *port = atoi(line);
  return pid;
}

static void stop_server(pid_t pid) {
  kill(pid, SIGTERM);
  waitpid(pid, NULL, 0);
}

/* wrk against a server of `hubs` hubs (0: one hub pinned to CPU 0, wrk on
 * CPU 1; else unpinned, wrk with a thread per CPU). */
static void http_hello(const char *name, int hubs) {
  if (system("command -v wrk >/dev/null 2>&1") != 0) {
    fprintf(stderr, "grove-bench: %s: skipped: wrk is not installed (apt-get install wrk)\n", name);
    exit(77);
  }
  int port;
  char nhubs[16];
  snprintf(nhubs, sizeof nhubs, "%d", hubs);
  if (hubs > 0)
    setenv("GROVE_BENCH_WEB_HUBS", nhubs, 1);
  pid_t pid = start_server(name, &port, hubs == 0);
  unsetenv("GROVE_BENCH_WEB_HUBS");
  long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
  int threads = hubs > 0 && ncpu > 1 ? (int)ncpu : 1;
  const char *pin_wrk = hubs == 0 && ncpu >= 2 && system("command -v taskset >/dev/null 2>&1") == 0
                            ? "taskset -c 1 "
                            : "";
  char cmd[256];
  snprintf(cmd, sizeof cmd, "%swrk -t%d -c100 -d1s http://127.0.0.1:%d/ >/dev/null 2>&1", pin_wrk,
           threads, port);
  if (system(cmd) != 0) /* warm-up */
    fail(name, "wrk failed", 0);
  snprintf(cmd, sizeof cmd, "%swrk -t%d -c100 -d%ds http://127.0.0.1:%d/ 2>&1", pin_wrk, threads,
           bench_net_quick ? 1 : 3, port);
  FILE *p = popen(cmd, "r");
  double rps = 0;
  long errors = 0;
  char line[512];
  while (p && fgets(line, sizeof line, p)) {
    sscanf(line, " Requests/sec: %lf", &rps);
    if (strstr(line, "Non-2xx") || strstr(line, "Socket errors"))
      errors++;
  }
  if (p)
    pclose(p);
  stop_server(pid);
  if (rps <= 0 || errors)
    fail(name, "wrk reported no rate, or errors", 0);
  report(name, rps, "req/s");
}

void bench_http_hello(void) { http_hello("http_hello", 0); }

void bench_http_hello_hubs(void) {
  long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
  http_hello("http_hello_hubs", ncpu > 1 ? (int)ncpu : 1);
}

void bench_http_hello_hubs1(void) { http_hello("http_hello_hubs1", 1); }

void bench_http_long_poll_conns(void) {
  raise_nofile();
  struct rlimit rl;
  getrlimit(RLIMIT_NOFILE, &rl);
  int n = bench_net_quick ? 2000 : 10000;
  if ((rlim_t)n + 100 > rl.rlim_cur)
    n = (int)rl.rlim_cur - 100;
  int port;
  pid_t pid = start_server("http_long_poll_conns", &port, true);
  usleep(100000);
  long before = proc_rss(pid);
  int *fds = malloc(sizeof *fds * (size_t)n);
  struct sockaddr_in a = {.sin_family = AF_INET,
                          .sin_port = htons((uint16_t)port),
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  static const char req[] = "GET /poll HTTP/1.1\r\nHost: bench\r\n\r\n";
  for (int i = 0; i < n; i++) {
    fds[i] = socket(AF_INET, SOCK_STREAM, 0);
    if (fds[i] < 0 || connect(fds[i], (struct sockaddr *)&a, sizeof a) != 0 ||
        write(fds[i], req, sizeof req - 1) != (ssize_t)(sizeof req - 1)) {
      stop_server(pid);
      fail("http_long_poll_conns", "connect", -errno);
    }
  }
  /* Each response's head has come back: every handler runs and waits. */
  for (int i = 0; i < n; i++) {
    char head[512];
    size_t got = 0;
    while (got < 4 || memcmp(head + got - 4, "\r\n\r\n", 4) != 0) {
      ssize_t k = read(fds[i], head + got, 1);
      if (k != 1 || ++got == sizeof head) {
        stop_server(pid);
        fail("http_long_poll_conns", "read", k < 0 ? -errno : GROVE_EPROTO);
      }
    }
  }
  usleep(100000);
  long after = proc_rss(pid);
  for (int i = 0; i < n; i++)
    close(fds[i]);
  free(fds);
  stop_server(pid);
  report("http_long_poll_conns", (double)(after - before) / n, "B/conn");
}

typedef struct {
  const char *url;
  double until;
  long count;
  int err;
} ws_client;

static void *ws_conn(void *arg) {
  ws_client *wc = arg;
  grove_ws *ws;
  int rc = grove_ws_connect(wc->url, NULL, &ws, 5);
  if (rc) {
    wc->err = rc;
    return NULL;
  }
  char msg[64];
  memset(msg, 'w', sizeof msg);
  long k = 0;
  while (now_s() < wc->until || k == 0) {
    const void *d;
    size_t len;
    if ((rc = grove_ws_send(ws, GROVE_WS_BINARY, msg, sizeof msg, 5)) != 0 ||
        (rc = grove_ws_recv(ws, &d, &len, 5)) != GROVE_WS_BINARY) {
      wc->err = rc < 0 ? rc : GROVE_EPROTO;
      break;
    }
    if (len != sizeof msg) {
      wc->err = GROVE_EPROTO;
      break;
    }
    k++;
  }
  wc->count += k;
  grove_ws_close(ws, GROVE_WS_NORMAL, NULL, 1);
  grove_ws_free(ws);
  return NULL;
}

void bench_ws_echo(void) {
  pid_t pid = 0;
  char url[256];
  const char *ext = getenv("GROVE_BENCH_WS_URL");
  if (ext) {
    snprintf(url, sizeof url, "%s", ext);
  } else {
    int port;
    pid = start_server("ws_echo", &port, true);
    snprintf(url, sizeof url, "ws://127.0.0.1:%d/ws/echo", port);
  }
  cpu_set_t saved;
  int have_saved = sched_getaffinity(0, sizeof saved, &saved) == 0;
  pin(1);
  enum { CONNS = 50 };
  ws_client wc = {.url = url, .until = now_s() + 0.3};
  grove_greenlet *g[CONNS];
  for (int round = 0; round < 2; round++) { /* a warm-up, then the measure */
    wc.count = 0;
    double t0 = now_s();
    wc.until = t0 + (round == 0 ? 0.3 : bench_net_quick ? 1.0 : 3.0);
    for (int i = 0; i < CONNS; i++)
      g[i] = grove_spawn(ws_conn, &wc);
    grove_joinall(g, CONNS, GROVE_FOREVER);
    double t1 = now_s();
    for (int i = 0; i < CONNS; i++)
      grove_greenlet_release(g[i]);
    if (wc.err) {
      if (pid)
        stop_server(pid);
      fail("ws_echo", "a connection failed", wc.err);
    }
    if (round == 1)
      report("ws_echo", wc.count / (t1 - t0), "msgs/s");
  }
  if (pid)
    stop_server(pid);
  if (have_saved)
    (void)sched_setaffinity(0, sizeof saved, &saved);
}
