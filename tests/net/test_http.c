/* tests/net/test_http.c - the HTTP/1.1 server: requests and their parts,
 * keep-alive, pipelining, chunked bodies, streamed responses, limits and
 * their status codes (400, 408, 413, 431), a pool, graceful stop, long
 * polling with hundreds of clients, and random input. Loopback only. */
#include "net_util.h"

#include <sys/socket.h>

TEST_WATCHDOG(100)

/* ---- handlers ------------------------------------------------------------------------- */

/* Answers with what it saw: "METHOD TARGET|path|query|version|X-Test|body". */
static void echo_handler(grove_http_request *req, void *arg) {
  (void)arg;
  size_t blen;
  const char *body = grove_http_body(req, &blen);
  const char *x = grove_http_header(req, "x-test");
  char out[4096];
  int n = snprintf(out, sizeof out, "%s %s|%s|%s|%d|%s|%zu:%s", grove_http_method(req),
                   grove_http_target(req), grove_http_path(req), grove_http_query(req),
                   grove_http_version(req), x ? x : "-", blen, body);
  grove_http_add_header(req, "X-Served", "yes");
  grove_http_respond(req, 200, "text/plain", out, (size_t)n, 5);
}

/* The tutorial's streaming handler: two pieces. */
static void stream_handler(grove_http_request *req, void *arg) {
  (void)arg;
  CHECK_EQ(grove_http_start(req, 200, "text/html", 5), 0);
  CHECK_EQ(grove_http_write(req, "<p>Hello", 8, 5), 0);
  grove_sleep(0.01);
  CHECK_EQ(grove_http_write(req, "World</p>", 9, 5), 0);
  CHECK_EQ(grove_http_finish(req, 5), 0);
  CHECK_EQ(grove_http_write(req, "x", 1, 5), GROVE_EINVAL);
}

static void silent_handler(grove_http_request *req, void *arg) {
  (void)req;
  (void)arg; /* answers nothing: the server says 500 */
}

static void slow_handler(grove_http_request *req, void *arg) {
  int *running = arg;
  (*running)++;
  grove_sleep(0.2);
  grove_http_respond(req, 200, "text/plain", "slow", 4, 5);
  (*running)--;
}

/* ---- cases ------------------------------------------------------------------------------ */

static void test_get_keepalive(void) {
  grove_http_server *srv = serve_on_free_port(echo_handler, NULL, NULL);
  http_client c;
  http_resp r;
  CHECK_EQ(client_connect(&c, grove_http_server_port(srv)), 0);
  for (int i = 0; i < 3; i++) {
    CHECK_EQ(client_send(&c, "GET /hello?a=1&b=2 HTTP/1.1\r\nHost: x\r\nX-Test:  value  \r\n\r\n"),
             0);
    CHECK_EQ(client_read(&c, &r, 5), 0);
    CHECK_EQ(r.status, 200);
    CHECK_STR(r.body, "GET /hello?a=1&b=2|/hello|a=1&b=2|11|value|0:");
    CHECK(strstr(r.headers, "X-Served: yes\n") != NULL);
    CHECK(strstr(r.headers, "Content-Type: text/plain\n") != NULL);
    CHECK(r.keep_alive);
  }
  CHECK_EQ(grove_http_server_connections(srv), 1);
  /* HEAD: the length, no body. */
  CHECK_EQ(client_send(&c, "HEAD /h HTTP/1.1\r\nHost: x\r\n\r\n"), 0);
  char raw[512];
  ssize_t n = grove_socket_read(c.s, raw, sizeof raw - 1, 5);
  CHECK(n > 0);
  raw[n > 0 ? n : 0] = 0;
  CHECK(strstr(raw, "Content-Length: 19\r\n") != NULL);
  CHECK(strstr(raw, "\r\n\r\n")[4] == 0);
  client_close(&c);
  grove_http_stats st;
  grove_http_server_stats(srv, &st);
  CHECK_EQ(st.requests, 4);
  CHECK_EQ(st.connections, 1);
  grove_http_server_free(srv);
}

static void test_http10(void) {
  grove_http_server *srv = serve_on_free_port(echo_handler, NULL, NULL);
  http_client c;
  http_resp r;
  /* 1.0 without keep-alive: one response, then the server closes. */
  CHECK_EQ(client_connect(&c, grove_http_server_port(srv)), 0);
  CHECK_EQ(client_send(&c, "GET /a HTTP/1.0\r\n\r\n"), 0);
  CHECK_EQ(client_read(&c, &r, 5), 0);
  CHECK_STR(r.body, "GET /a|/a||10|-|0:");
  CHECK(strstr(r.headers, "Connection: close\n") != NULL);
  CHECK(client_closed(&c, 5));
  client_close(&c);
  /* 1.0 with keep-alive: said back. */
  CHECK_EQ(client_connect(&c, grove_http_server_port(srv)), 0);
  CHECK_EQ(client_send(&c, "GET /b HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"), 0);
  CHECK_EQ(client_read(&c, &r, 5), 0);
  CHECK(strstr(r.headers, "Connection: keep-alive\n") != NULL);
  CHECK_EQ(client_send(&c, "GET /c HTTP/1.0\r\n\r\n"), 0);
  CHECK_EQ(client_read(&c, &r, 5), 0);
  CHECK_STR(r.body, "GET /c|/c||10|-|0:");
  client_close(&c);
  grove_http_server_free(srv);
}

static void test_pipelining(void) {
  grove_http_server *srv = serve_on_free_port(echo_handler, NULL, NULL);
  http_client c;
  http_resp r;
  CHECK_EQ(client_connect(&c, grove_http_server_port(srv)), 0);
  /* Three requests in one write, one with a body; then one split in bytes. */
  CHECK_EQ(client_send(&c, "GET /1 HTTP/1.1\r\nHost: x\r\n\r\n"
                           "POST /2 HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
                           "GET /3 HTTP/1.1\r\nHost: x\r\n\r\n"),
           0);
  const char *want[] = {"GET /1|/1||11|-|0:", "POST /2|/2||11|-|5:hello", "GET /3|/3||11|-|0:"};
  for (int i = 0; i < 3; i++) {
    CHECK_EQ(client_read(&c, &r, 5), 0);
    CHECK_STR(r.body, want[i]);
  }
  const char *req = "GET /split HTTP/1.1\r\nHost: x\r\n\r\n";
  for (const char *p = req; *p; p++) {
    CHECK_EQ(grove_socket_write_all(c.s, p, 1, NULL, 5), 0);
    grove_sleep(0.001);
  }
  CHECK_EQ(client_read(&c, &r, 5), 0);
  CHECK_STR(r.body, "GET /split|/split||11|-|0:");
  client_close(&c);
  grove_http_server_free(srv);
}

static void test_chunked_body(void) {
  grove_http_server *srv = serve_on_free_port(echo_handler, NULL, NULL);
  http_client c;
  http_resp r;
  CHECK_EQ(client_connect(&c, grove_http_server_port(srv)), 0);
  CHECK_EQ(client_send(&c, "POST /up HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                           "5\r\nhello\r\n1;ext=1\r\n \r\n6\r\nworld!\r\n0\r\nTrailer: t\r\n\r\n"),
           0);
  CHECK_EQ(client_read(&c, &r, 5), 0);
  CHECK_STR(r.body, "POST /up|/up||11|-|12:hello world!");
  /* Expect: 100-continue gets its interim answer before the body is sent. */
  CHECK_EQ(client_send(&c, "PUT /e HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n"
                           "Expect: 100-continue\r\n\r\n"),
           0);
  char line[64];
  CHECK(grove_socket_read(c.s, line, 25, 5) == 25);
  CHECK(memcmp(line, "HTTP/1.1 100 Continue\r\n\r\n", 25) == 0);
  CHECK_EQ(client_send(&c, "abc"), 0);
  CHECK_EQ(client_read(&c, &r, 5), 0);
  CHECK_STR(r.body, "PUT /e|/e||11|-|3:abc");
  client_close(&c);
  grove_http_server_free(srv);
}

static void test_streaming(void) {
  grove_http_server *srv = serve_on_free_port(stream_handler, NULL, NULL);
  http_client c;
  CHECK_EQ(client_connect(&c, grove_http_server_port(srv)), 0);
  CHECK_EQ(client_send(&c, "GET /stream HTTP/1.1\r\nHost: x\r\n\r\n"), 0);
  /* The exact bytes: the head, then one chunk per write, then the end. */
  char raw[1024];
  size_t got = 0;
  const char *tail = "8\r\n<p>Hello\r\n9\r\nWorld</p>\r\n0\r\n\r\n";
  double t0 = test_now();
  while (test_now() - t0 < 5 && (got < strlen(tail) || !strstr(raw, "0\r\n\r\n"))) {
    ssize_t n = grove_socket_read(c.s, raw + got, sizeof raw - 1 - got, 5);
    if (n <= 0)
      break;
    got += (size_t)n;
    raw[got] = 0;
  }
  CHECK(strncmp(raw, "HTTP/1.1 200 OK\r\n", 17) == 0);
  CHECK(strstr(raw, "Transfer-Encoding: chunked\r\n") != NULL);
  CHECK(strstr(raw, "Content-Type: text/html\r\n") != NULL);
  const char *body = strstr(raw, "\r\n\r\n");
  CHECK(body && strcmp(body + 4, tail) == 0);
  client_close(&c);
  /* HTTP/1.0: the raw pieces, then the end of the connection. */
  http_resp r;
  CHECK_EQ(client_connect(&c, grove_http_server_port(srv)), 0);
  CHECK_EQ(client_send(&c, "GET /stream HTTP/1.0\r\n\r\n"), 0);
  CHECK_EQ(client_read(&c, &r, 5), 0);
  CHECK_STR(r.body, "<p>HelloWorld</p>");
  CHECK(!r.chunked);
  client_close(&c);
  grove_http_server_free(srv);
}

static void test_unanswered_is_500(void) {
  grove_http_server *srv = serve_on_free_port(silent_handler, NULL, NULL);
  http_client c;
  http_resp r;
  CHECK_EQ(client_connect(&c, grove_http_server_port(srv)), 0);
  CHECK_EQ(client_send(&c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"), 0);
  CHECK_EQ(client_read(&c, &r, 5), 0);
  CHECK_EQ(r.status, 500);
  CHECK(client_closed(&c, 5));
  client_close(&c);
  grove_http_stats st;
  grove_http_server_stats(srv, &st);
  CHECK_EQ(st.unanswered, 1);
  grove_http_server_free(srv);
}

/* Bad input: each gets its status and the connection closed. */
typedef struct {
  const char *name;
  const char *raw; /* NULL: built by the case */
  int status;
} bad_case;

static void test_bad_requests(void) {
  grove_http_config cfg = {
      .max_request_line = 256, .max_header_size = 1024, .max_headers = 8, .max_body_size = 64};
  grove_http_server *srv = serve_on_free_port(echo_handler, NULL, &cfg);
  char long_url[600], big_headers[1400], many_headers[600];
  snprintf(long_url, sizeof long_url, "GET /%0400d HTTP/1.1\r\nHost: x\r\n\r\n", 0);
  strcpy(big_headers, "GET / HTTP/1.1\r\n");
  for (int i = 0; i < 12; i++)
    snprintf(big_headers + strlen(big_headers), sizeof big_headers - strlen(big_headers),
             "X-H%d: %090d\r\n", i, i);
  strcat(big_headers, "\r\n");
  strcpy(many_headers, "GET / HTTP/1.1\r\n");
  for (int i = 0; i < 10; i++)
    snprintf(many_headers + strlen(many_headers), sizeof many_headers - strlen(many_headers),
             "X-%d: v\r\n", i);
  strcat(many_headers, "\r\n");
  const bad_case cases[] = {
      {"garbage", "\x01\x02\x03 nonsense\r\n\r\n", 400},
      {"bad version", "GET / HTTP/9x\r\n\r\n", 400},
      {"bad header", "GET / HTTP/1.1\r\nBad Header\r\n\r\n", 400},
      {"bad chunk", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400},
      {"two lengths", "POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", 400},
      {"long url", long_url, 431},
      {"big headers", big_headers, 431},
      {"many headers", many_headers, 431},
      {"body length", "POST / HTTP/1.1\r\nContent-Length: 65\r\n\r\n", 413},
      {"chunked body",
       "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
       "40\r\n0123456789012345678901234567890123456789012345678901234567890123\r\n"
       "1\r\nx\r\n0\r\n\r\n",
       413},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    http_client c;
    http_resp r;
    CHECK_EQ(client_connect(&c, grove_http_server_port(srv)), 0);
    CHECK_EQ(client_send(&c, cases[i].raw), 0);
    int rc = client_read(&c, &r, 5);
    if (rc != 0 || r.status != cases[i].status)
      fprintf(stderr, "case %s: rc %d status %d\n", cases[i].name, rc, r.status);
    CHECK_EQ(rc, 0);
    CHECK_EQ(r.status, cases[i].status);
    CHECK(strstr(r.headers, "Connection: close\n") != NULL);
    CHECK(client_closed(&c, 5));
    client_close(&c);
  }
  grove_http_stats st;
  grove_http_server_stats(srv, &st);
  CHECK_EQ(st.bad_requests, 5);
  CHECK_EQ(st.headers_too_large, 3);
  CHECK_EQ(st.too_large, 2);
  CHECK_EQ(st.requests, 0);
  grove_http_server_free(srv);
}

/* A client that sends its whole (refused) body still reads the 413: the
 * server drains before it closes (no reset). */
static void test_413_big_body(void) {
  grove_http_config cfg = {.max_body_size = 1000};
  grove_http_server *srv = serve_on_free_port(echo_handler, NULL, &cfg);
  http_client c;
  http_resp r;
  CHECK_EQ(client_connect(&c, grove_http_server_port(srv)), 0);
  size_t n = 200000;
  char *req = malloc(n + 100);
  int h = snprintf(req, 100, "POST / HTTP/1.1\r\nContent-Length: %zu\r\n\r\n", n);
  memset(req + h, 'b', n);
  CHECK_EQ(grove_socket_write_all(c.s, req, (size_t)h + n, NULL, 5), 0);
  free(req);
  CHECK_EQ(client_read(&c, &r, 5), 0);
  CHECK_EQ(r.status, 413);
  client_close(&c);
  grove_http_server_free(srv);
}

static void test_slowloris_408(void) {
  grove_http_config cfg = {.request_timeout = 0.3, .keepalive_timeout = 5};
  grove_http_server *srv = serve_on_free_port(echo_handler, NULL, &cfg);
  http_client c;
  http_resp r;
  /* A byte every 50 ms never completes the head within 0.3 s. */
  CHECK_EQ(client_connect(&c, grove_http_server_port(srv)), 0);
  double t0 = test_now();
  const char *req = "GET /slow HTTP/1.1\r\nHost: x\r\nX-Pad: aaaaaaaaaaaaaaaaaaaa\r\n\r\n";
  for (const char *p = req; *p; p++) {
    if (grove_socket_write_all(c.s, p, 1, NULL, 5) != 0)
      break;
    grove_sleep(0.05);
    if (test_now() - t0 > 1.0)
      break;
  }
  CHECK_EQ(client_read(&c, &r, 5), 0);
  CHECK_EQ(r.status, 408);
  double took = test_now() - t0;
  CHECK(took >= 0.25 && took < 3.0);
  client_close(&c);
  /* A body that stops half-way: 408 as well. */
  CHECK_EQ(client_connect(&c, grove_http_server_port(srv)), 0);
  CHECK_EQ(client_send(&c, "POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc"), 0);
  CHECK_EQ(client_read(&c, &r, 5), 0);
  CHECK_EQ(r.status, 408);
  client_close(&c);
  grove_http_stats st;
  grove_http_server_stats(srv, &st);
  CHECK_EQ(st.timeouts, 2);
  grove_http_server_free(srv);
}

static void test_keepalive_timeout(void) {
  grove_http_config cfg = {.keepalive_timeout = 0.2, .max_requests = 2};
  grove_http_server *srv = serve_on_free_port(echo_handler, NULL, &cfg);
  http_client c;
  http_resp r;
  CHECK_EQ(client_connect(&c, grove_http_server_port(srv)), 0);
  CHECK_EQ(client_send(&c, "GET / HTTP/1.1\r\n\r\n"), 0);
  CHECK_EQ(client_read(&c, &r, 5), 0);
  double t0 = test_now();
  CHECK(client_closed(&c, 5)); /* idle: closed without a word */
  CHECK(test_now() - t0 < 2.0);
  client_close(&c);
  /* max_requests: the second response is the last. */
  CHECK_EQ(client_connect(&c, grove_http_server_port(srv)), 0);
  CHECK_EQ(client_send(&c, "GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\nGET /3 HTTP/1.1\r\n\r\n"),
           0);
  CHECK_EQ(client_read(&c, &r, 5), 0);
  CHECK(r.keep_alive);
  CHECK_EQ(client_read(&c, &r, 5), 0);
  CHECK(!r.keep_alive);
  CHECK(client_closed(&c, 5));
  client_close(&c);
  grove_http_server_free(srv);
}

typedef struct {
  int port;
  int ok;
} get_arg;

static void *get_once(void *arg) {
  get_arg *a = arg;
  http_client *c = malloc(sizeof *c);
  http_resp *r = malloc(sizeof *r);
  if (client_connect(c, a->port) == 0 && client_send(c, "GET / HTTP/1.1\r\n\r\n") == 0 &&
      client_read(c, r, 10) == 0 && r->status == 200)
    a->ok++;
  client_close(c);
  free(c);
  free(r);
  return NULL;
}

static void test_pool_bounds(void) {
  int running = 0;
  grove_group *pool = grove_pool_new(2);
  grove_http_config cfg = {.pool = pool};
  grove_http_server *srv = serve_on_free_port(slow_handler, &running, &cfg);
  get_arg a = {grove_http_server_port(srv), 0};
  grove_greenlet *g[6];
  for (int i = 0; i < 6; i++)
    g[i] = grove_spawn(get_once, &a);
  int max_running = 0;
  double t0 = test_now();
  while (a.ok < 6 && test_now() - t0 < 10) {
    if (running > max_running)
      max_running = running;
    grove_sleep(0.01);
  }
  grove_joinall(g, 6, 10);
  for (int i = 0; i < 6; i++)
    grove_greenlet_release(g[i]);
  CHECK_EQ(a.ok, 6);
  CHECK_EQ(max_running, 2);
  CHECK(test_now() - t0 >= 0.55); /* three rounds of 0.2 s */
  grove_http_server_free(srv);
  grove_group_free(pool);
}

/* max_connections: clients that connect and send nothing, or idle between
 * requests, cannot lock the server out - a newcomer closes the one idle
 * longest; a connection in the middle of a request is never closed. */
static void test_idle_eviction(void) {
  int running = 0;
  grove_http_config cfg = {.max_connections = 3, .keepalive_timeout = 60};
  grove_http_server *srv = serve_on_free_port(slow_handler, &running, &cfg);
  int port = grove_http_server_port(srv);
  /* a keep-alive client, idle after its request */
  http_client *kept = malloc(sizeof *kept), *idle = malloc(4 * sizeof *idle),
              *c = malloc(sizeof *c);
  http_resp *r = malloc(sizeof *r);
  CHECK_EQ(client_connect(kept, port), 0);
  CHECK_EQ(client_send(kept, "GET / HTTP/1.1\r\n\r\n"), 0);
  CHECK_EQ(client_read(kept, r, 5), 0);
  CHECK(r->keep_alive);
  /* four that connect and never send a byte: the oldest idle go */
  for (int i = 0; i < 4; i++) {
    CHECK_EQ(client_connect(&idle[i], port), 0);
    grove_sleep(0.02); /* accepted, one after the other */
  }
  /* a newcomer is answered at once, not after keepalive_timeout */
  double t0 = test_now();
  CHECK_EQ(client_connect(c, port), 0);
  CHECK_EQ(client_send(c, "GET / HTTP/1.1\r\n\r\n"), 0);
  CHECK_EQ(client_read(c, r, 5), 0);
  CHECK_EQ(r->status, 200);
  CHECK(test_now() - t0 < 2.0);
  CHECK(client_closed(kept, 2)); /* the longest idle went first */
  CHECK(client_closed(&idle[0], 2));
  grove_http_stats st;
  grove_http_server_stats(srv, &st);
  CHECK(st.evicted >= 3);
  client_close(c);
  client_close(kept);
  for (int i = 0; i < 4; i++)
    client_close(&idle[i]);
  /* one slow request in progress is never the one closed */
  http_client *busy = malloc(sizeof *busy);
  CHECK_EQ(client_connect(busy, port), 0);
  CHECK_EQ(client_send(busy, "GET / HTTP/1.1\r\n\r\n"), 0); /* 0.2 s in the handler */
  grove_sleep(0.05);
  for (int i = 0; i < 3; i++)
    CHECK_EQ(client_connect(&idle[i], port), 0);
  CHECK_EQ(client_read(busy, r, 5), 0);
  CHECK_EQ(r->status, 200);
  for (int i = 0; i < 3; i++)
    client_close(&idle[i]);
  client_close(busy);
  free(busy);
  free(kept);
  free(idle);
  free(c);
  free(r);
  grove_http_server_free(srv);
}

static void *stopper(void *arg) {
  grove_http_server *srv = arg;
  grove_sleep(0.05);
  return (void *)(intptr_t)grove_http_server_stop(srv, 5);
}

static void test_graceful_stop(void) {
  int running = 0;
  grove_http_server *srv = serve_on_free_port(slow_handler, &running, NULL);
  int port = grove_http_server_port(srv);
  http_client idle, busy;
  http_resp r;
  CHECK_EQ(client_connect(&idle, port), 0);
  CHECK_EQ(client_send(&idle, "GET / HTTP/1.1\r\n\r\n"), 0);
  CHECK_EQ(client_read(&idle, &r, 5), 0); /* now idle between requests */
  CHECK_EQ(client_connect(&busy, port), 0);
  CHECK_EQ(client_send(&busy, "GET / HTTP/1.1\r\n\r\n"), 0);
  grove_sleep(0.05); /* the busy one is in its handler */
  double t0 = test_now();
  grove_greenlet *g = grove_spawn(stopper, srv);
  CHECK(client_closed(&idle, 5)); /* closed at once */
  CHECK(test_now() - t0 < 0.15 + 0.1);
  CHECK_EQ(client_read(&busy, &r, 5), 0); /* finished, and marked the last */
  CHECK_EQ(r.status, 200);
  CHECK(!r.keep_alive);
  void *v = NULL;
  CHECK_EQ(grove_get(g, &v, 5), 0);
  CHECK_EQ((intptr_t)v, 0);
  grove_greenlet_release(g);
  client_close(&idle);
  client_close(&busy);
  /* Stopped: nobody listens. */
  grove_socket *s = NULL;
  CHECK(grove_tcp_connect("127.0.0.1", port, &s, 1) != 0);
  grove_http_server_free(srv);
}

/* ---- long polling: the tutorial's endpoint, with hundreds of clients ---------------------- */

static grove_queue *data_source;
static int produced;

static void *producer(void *arg) {
  int n = (int)(intptr_t)arg;
  for (int i = 0; i < n; i++) {
    grove_queue_put_nowait(data_source, "Hello World");
    produced++;
    if (grove_sleep(0.001) != 0)
      break;
  }
  return NULL;
}

/* ajax_endpoint: stream what the queue gives, waiting with a timeout; this
 * one ends after its first datum so that each client gets one. */
static void ajax_endpoint(grove_http_request *req, void *arg) {
  (void)arg;
  if (grove_http_start(req, 200, "application/json", 5) != 0)
    return;
  for (;;) {
    void *datum;
    int rc = grove_queue_get(data_source, &datum, 5);
    if (rc == GROVE_ETIMEDOUT)
      continue; /* Empty: keep waiting */
    if (rc)
      return;
    char line[64];
    int n = snprintf(line, sizeof line, "\"%s\"\n", (const char *)datum);
    grove_http_write(req, line, (size_t)n, 5);
    return;
  }
}

typedef struct {
  int port, ok, failed;
} poll_arg;

static void *poll_client(void *arg) {
  poll_arg *a = arg;
  http_client *c = malloc(sizeof *c);
  http_resp *r = malloc(sizeof *r);
  int rc = client_connect(c, a->port);
  if (!rc)
    rc = client_send(c, "GET /poll HTTP/1.1\r\nHost: x\r\n\r\n");
  if (!rc)
    rc = client_read(c, r, 20);
  if (!rc && r->status == 200 && strcmp(r->body, "\"Hello World\"\n") == 0)
    a->ok++;
  else
    a->failed++;
  client_close(c);
  free(c);
  free(r);
  return NULL;
}

static void test_long_polling(void) {
  enum { CLIENTS = 300 };
  data_source = grove_queue_new(0);
  produced = 0;
  grove_http_server *srv = serve_on_free_port(ajax_endpoint, NULL, NULL);
  poll_arg a = {grove_http_server_port(srv), 0, 0};
  grove_greenlet **g = malloc(sizeof *g * CLIENTS);
  for (int i = 0; i < CLIENTS; i++)
    g[i] = grove_spawn(poll_client, &a);
  /* Every client waits in its handler before anything is produced. */
  double t0 = test_now();
  while (grove_http_server_connections(srv) < CLIENTS && test_now() - t0 < 20)
    grove_sleep(0.01);
  CHECK_EQ(grove_http_server_connections(srv), CLIENTS);
  grove_greenlet *p = grove_spawn(producer, (void *)(intptr_t)CLIENTS);
  CHECK_EQ(grove_joinall(g, CLIENTS, 30), 0);
  for (int i = 0; i < CLIENTS; i++)
    grove_greenlet_release(g[i]);
  free(g);
  grove_join(p, 5);
  grove_greenlet_release(p);
  CHECK_EQ(a.ok, CLIENTS);
  CHECK_EQ(a.failed, 0);
  grove_http_server_free(srv);
  grove_queue_free(data_source);
}

/* ---- random input never breaks the server ------------------------------------------------- */

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static uint64_t next_rand(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return rng;
}

static void test_fuzz(void) {
  grove_http_config cfg = {.request_timeout = 0.2,
                           .keepalive_timeout = 0.2,
                           .max_header_size = 2048,
                           .max_body_size = 512};
  grove_http_server *srv = serve_on_free_port(echo_handler, NULL, &cfg);
  int port = grove_http_server_port(srv);
  const char *seeds[] = {
      "GET / HTTP/1.1\r\nHost: x\r\n\r\n",
      "POST /p HTTP/1.1\r\nContent-Length: 4\r\n\r\nbody",
      "POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
      "GET /ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
  };
  char buf[1024];
  for (int round = 0; round < 300; round++) {
    const char *seed = seeds[round % 4];
    size_t n = strlen(seed);
    memcpy(buf, seed, n);
    int mode = (int)(next_rand() % 3);
    if (mode == 0) { /* random bytes */
      n = 1 + next_rand() % 300;
      for (size_t i = 0; i < n; i++)
        buf[i] = (char)next_rand();
    } else if (mode == 1) { /* a truncated request */
      n = next_rand() % n;
    } else { /* a few bytes flipped */
      for (int k = 0; k < 3; k++)
        buf[next_rand() % n] = (char)next_rand();
    }
    grove_socket *s;
    if (grove_tcp_connect("127.0.0.1", port, &s, 5) != 0) {
      CHECK(0);
      break;
    }
    if (n)
      grove_socket_write_all(s, buf, n, NULL, 5);
    if (round % 2)
      grove_socket_shutdown(s, SHUT_WR);
    /* Read whatever comes until the server closes (or its deadline). */
    char sink[4096];
    double t0 = test_now();
    while (test_now() - t0 < 3 && grove_socket_read(s, sink, sizeof sink, 3) > 0) {
    }
    CHECK(test_now() - t0 < 3);
    grove_socket_close(s);
  }
  /* Still serving. */
  http_client c;
  http_resp r;
  CHECK_EQ(client_connect(&c, port), 0);
  CHECK_EQ(client_send(&c, "GET /after HTTP/1.1\r\n\r\n"), 0);
  CHECK_EQ(client_read(&c, &r, 5), 0);
  CHECK_EQ(r.status, 200);
  client_close(&c);
  grove_http_server_free(srv);
}

static void test_api_misuse(void) {
  grove_http_server *srv = NULL;
  CHECK_EQ(grove_http_server_new(NULL, echo_handler, NULL, NULL, &srv), GROVE_EINVAL);
  grove_socket *ls;
  CHECK_EQ(grove_tcp_listen("127.0.0.1", 0, 0, &ls), 0);
  CHECK_EQ(grove_http_server_new(ls, NULL, NULL, NULL, &srv), GROVE_EINVAL); /* ls closed */
  CHECK(srv == NULL);
  CHECK_STR(grove_http_status_text(404), "Not Found");
  CHECK_STR(grove_http_status_text(799), "Unknown");
  CHECK_EQ(grove_http_respond(NULL, 200, NULL, NULL, 0, 1), GROVE_EINVAL);
  grove_http_server_free(NULL);
}

TEST_MAIN(TEST(test_get_keepalive), TEST(test_http10), TEST(test_pipelining),
          TEST(test_chunked_body), TEST(test_streaming), TEST(test_unanswered_is_500),
          TEST(test_bad_requests), TEST(test_413_big_body), TEST(test_slowloris_408),
          TEST(test_keepalive_timeout), TEST(test_pool_bounds), TEST(test_idle_eviction),
          TEST(test_graceful_stop), TEST(test_long_polling), TEST(test_fuzz), TEST(test_api_misuse))
