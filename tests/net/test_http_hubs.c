/* tests/net/test_http_hubs.c - one accepting hub per core
 * (grove_http_serve_hubs): every hub serves from the one listening socket,
 * a hub busy with a handler leaves new connections to the others, the
 * counters add up per hub, a stop with requests in flight lets them finish,
 * max_connections bounds each hub, and the misuse cases fail cleanly. The
 * clients are plain blocking sockets on threads (grove_threadpool_apply),
 * outside every hub, as a real client would be. */
#include "net_util.h"

#include <grove/hubs.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

TEST_WATCHDOG(60)

#define NHUBS 2
#define NCLIENTS 4

static _Atomic int served_on[NHUBS];
static _Atomic int handler_busy_us; /* how long a handler holds its hub's thread */

/* Answers "hub K" from the hub that runs it. Holding the thread (not
 * yielding) keeps that hub from accepting meanwhile: the other hub must. */
static void which_hub(grove_http_request *req, void *arg) {
  (void)arg;
  int k = (int)grove_hub_index();
  if (k >= 0 && k < NHUBS)
    served_on[k]++;
  int us = handler_busy_us;
  if (us)
    usleep((useconds_t)us);
  if (strcmp(grove_http_path(req), "/slow") == 0)
    grove_sleep(0.3); /* cooperative: its hub goes on serving */
  char body[32];
  int n = snprintf(body, sizeof body, "hub %d", k);
  grove_http_respond(req, 200, "text/plain", body, (size_t)n, 5);
}

/* ---- a blocking client, off the hubs ---------------------------------------------- */

typedef struct client_job {
  int port;
  const char *path;
  int requests; /* to make, each on its own connection */
  int ok;       /* answered 200 with a "hub K" body */
  int seen[NHUBS];
} client_job;

/* One request on a new connection; the hub that answered, or -1. */
static int blocking_get(int port, const char *path) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -1;
  struct timeval tv = {.tv_sec = 10};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int hub = -1;
  char req[128], resp[1024];
  int n =
      snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", path);
  if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0 && write(fd, req, (size_t)n) == n) {
    size_t got = 0;
    ssize_t r;
    while (got < sizeof resp - 1 && (r = read(fd, resp + got, sizeof resp - 1 - got)) > 0)
      got += (size_t)r;
    resp[got] = 0;
    const char *body = strstr(resp, "\r\n\r\nhub ");
    if (strncmp(resp, "HTTP/1.1 200", 12) == 0 && body)
      hub = atoi(body + 8);
  }
  close(fd);
  return hub;
}

static int client_thread(void *arg, void **result) {
  (void)result;
  client_job *j = arg;
  for (int i = 0; i < j->requests; i++) {
    int hub = blocking_get(j->port, j->path);
    if (hub >= 0 && hub < NHUBS) {
      j->ok++;
      j->seen[hub]++;
    }
  }
  return 0;
}

static void *client_greenlet(void *arg) {
  void *unused;
  (void)grove_threadpool_apply(client_thread, arg, &unused, 30);
  return NULL;
}

/* Run NCLIENTS blocking clients at once, `requests` each, and wait. */
static void run_clients(client_job *jobs, int port, const char *path, int requests) {
  grove_greenlet *g[NCLIENTS];
  for (int i = 0; i < NCLIENTS; i++) {
    jobs[i] = (client_job){.port = port, .path = path, .requests = requests};
    g[i] = grove_spawn(client_greenlet, &jobs[i]);
  }
  CHECK_EQ(grove_joinall(g, NCLIENTS, 40), 0);
  for (int i = 0; i < NCLIENTS; i++)
    grove_greenlet_release(g[i]);
}

static grove_http_hubs *serve(const grove_http_config *cfg) {
  grove_socket *ls;
  CHECK_EQ(grove_tcp_listen("127.0.0.1", 0, 0, &ls), 0);
  grove_http_hubs *h = NULL;
  CHECK_EQ(grove_http_serve_hubs(ls, which_hub, NULL, cfg, &h), 0);
  CHECK(h != NULL);
  return h;
}

/* ---- the cases ------------------------------------------------------------------ */

static void test_every_hub_serves(void) {
  CHECK_EQ(grove_hubs_start(NHUBS), 0);
  for (int i = 0; i < NHUBS; i++)
    served_on[i] = 0;
  handler_busy_us = 2000;
  grove_http_hubs *h = serve(NULL);
  CHECK_EQ(grove_http_hubs_count(h), NHUBS);
  int port = grove_http_hubs_port(h);
  CHECK(port > 0);
  client_job jobs[NCLIENTS];
  run_clients(jobs, port, "/", 50);
  int ok = 0, seen[NHUBS] = {0};
  for (int i = 0; i < NCLIENTS; i++) {
    ok += jobs[i].ok;
    for (int k = 0; k < NHUBS; k++)
      seen[k] += jobs[i].seen[k];
  }
  CHECK_EQ(ok, NCLIENTS * 50);
  /* a hub holding its thread for 2 ms per request cannot take the next
   * connection: with 4 clients at once both hubs must have served */
  for (int k = 0; k < NHUBS; k++)
    CHECK(seen[k] > 0);
  grove_http_stats sum, per[NHUBS];
  CHECK_EQ(grove_http_hubs_stats(h, &sum, per), 0);
  CHECK_EQ(sum.requests, (uint64_t)(NCLIENTS * 50));
  CHECK_EQ(sum.connections, (uint64_t)(NCLIENTS * 50));
  for (int k = 0; k < NHUBS; k++) {
    CHECK_EQ(per[k].requests, (uint64_t)seen[k]);
    CHECK_EQ((int)per[k].requests, served_on[k]);
  }
  CHECK_EQ(grove_http_hubs_stop(h, 5), 0);
  CHECK_EQ(grove_http_hubs_stop(h, 5), 0); /* idempotent */
  /* stopped: nobody accepts any more */
  CHECK_EQ(blocking_get(port, "/"), -1);
  grove_http_hubs_free(h);
  handler_busy_us = 0;
  CHECK_EQ(grove_hubs_stop(5), 0);
}

/* Requests in flight on both hubs when the stop comes are answered. */
typedef struct slow_arg {
  int port, hub;
} slow_arg;

static int slow_thread(void *arg, void **result) {
  (void)result;
  slow_arg *a = arg;
  a->hub = blocking_get(a->port, "/slow");
  return 0;
}

static void *slow_greenlet(void *arg) {
  void *unused;
  (void)grove_threadpool_apply(slow_thread, arg, &unused, 20);
  return NULL;
}

static void test_stop_lets_requests_finish(void) {
  CHECK_EQ(grove_hubs_start(NHUBS), 0);
  for (int i = 0; i < NHUBS; i++)
    served_on[i] = 0;
  grove_http_hubs *h = serve(NULL);
  int port = grove_http_hubs_port(h);
  slow_arg a[NCLIENTS];
  grove_greenlet *g[NCLIENTS];
  for (int i = 0; i < NCLIENTS; i++) {
    a[i] = (slow_arg){.port = port, .hub = -2};
    g[i] = grove_spawn(slow_greenlet, &a[i]);
  }
  /* wait until every request is in a handler (bounded) */
  for (int i = 0; i < 500; i++) {
    int in = 0;
    for (int k = 0; k < NHUBS; k++)
      in += served_on[k];
    if (in == NCLIENTS)
      break;
    grove_sleep(0.01);
  }
  int in = 0;
  for (int k = 0; k < NHUBS; k++)
    in += served_on[k];
  CHECK_EQ(in, NCLIENTS);
  double t0 = test_now();
  CHECK_EQ(grove_http_hubs_stop(h, 5), 0); /* waits for the handlers, kills none */
  CHECK(test_now() - t0 < 4);
  CHECK_EQ(grove_joinall(g, NCLIENTS, 20), 0);
  for (int i = 0; i < NCLIENTS; i++) {
    CHECK(a[i].hub >= 0 && a[i].hub < NHUBS);
    grove_greenlet_release(g[i]);
  }
  grove_http_hubs_free(h);
  CHECK_EQ(grove_hubs_stop(5), 0);
}

/* max_connections is a bound per hub: with one hub and a bound of 1, two
 * slow requests at once are served one after the other. */
static void test_max_connections(void) {
  grove_http_config cfg = {.max_connections = 1};
  for (int i = 0; i < NHUBS; i++)
    served_on[i] = 0;
  grove_http_hubs *h = serve(&cfg); /* no grove_hubs_start: one hub */
  CHECK_EQ(grove_http_hubs_count(h), 1);
  int port = grove_http_hubs_port(h);
  slow_arg a[2] = {{port, -2}, {port, -2}};
  grove_greenlet *g[2];
  double t0 = test_now();
  for (int i = 0; i < 2; i++)
    g[i] = grove_spawn(slow_greenlet, &a[i]);
  CHECK_EQ(grove_joinall(g, 2, 20), 0);
  double took = test_now() - t0;
  CHECK(took >= 0.55); /* 2 x 0.3 s in turn, not 0.3 s side by side */
  CHECK_EQ(a[0].hub, 0);
  CHECK_EQ(a[1].hub, 0);
  for (int i = 0; i < 2; i++)
    grove_greenlet_release(g[i]);
  grove_http_hubs_free(h);
}

static void test_bad_arguments(void) {
  grove_http_hubs *h = (grove_http_hubs *)1;
  CHECK_EQ(grove_http_serve_hubs(NULL, which_hub, NULL, NULL, &h), GROVE_EINVAL);
  CHECK(h == NULL);
  grove_socket *ls;
  CHECK_EQ(grove_tcp_listen("127.0.0.1", 0, 0, &ls), 0);
  CHECK_EQ(grove_http_serve_hubs(ls, NULL, NULL, NULL, &h), GROVE_EINVAL); /* closes ls */
  /* a pool belongs to one hub: not with several */
  CHECK_EQ(grove_hubs_start(NHUBS), 0);
  grove_group *pool = grove_pool_new(4);
  grove_http_config cfg = {.pool = pool};
  CHECK_EQ(grove_tcp_listen("127.0.0.1", 0, 0, &ls), 0);
  CHECK_EQ(grove_http_serve_hubs(ls, which_hub, NULL, &cfg, &h), GROVE_EINVAL);
  /* both a pool and max_connections: one bound or the other */
  cfg.max_connections = 2;
  grove_http_server *srv = NULL;
  CHECK_EQ(grove_tcp_listen("127.0.0.1", 0, 0, &ls), 0);
  CHECK_EQ(grove_http_server_new(ls, which_hub, NULL, &cfg, &srv), GROVE_EINVAL);
  CHECK(srv == NULL);
  CHECK_EQ(grove_group_free(pool), 0);
  CHECK_EQ(grove_http_hubs_stop(NULL, 1), GROVE_EINVAL);
  grove_http_stats st;
  CHECK_EQ(grove_http_hubs_stats(NULL, &st, NULL), GROVE_EINVAL);
  CHECK_EQ(grove_http_hubs_port(NULL), GROVE_EINVAL);
  grove_http_hubs_free(NULL);
  CHECK_EQ(grove_hubs_stop(5), 0);
}

TEST_MAIN(TEST(test_every_hub_serves), TEST(test_stop_lets_requests_finish),
          TEST(test_max_connections), TEST(test_bad_arguments))
