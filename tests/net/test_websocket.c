/* tests/net/test_websocket.c - WebSockets: grove's client against grove's
 * server (text, binary, fragments, ping, close codes), the upgrade's
 * refusals, masking rules and limits seen from a raw socket, timeouts and
 * cancellation. Interop with python3-websockets and a browser is in
 * demo_server_check.py and browser_check.sh. */
#include "net_util.h"

TEST_WATCHDOG(60)

static grove_ws_config server_ws_cfg;
static int server_close_code;
static int server_last_rc;

/* Echo until the peer closes; remember how it ended. */
static void echo_ws(grove_http_request *req, void *arg) {
  (void)arg;
  grove_ws *ws;
  if (grove_ws_upgrade(req, &server_ws_cfg, &ws, 5) != 0)
    return;
  for (;;) {
    const void *d;
    size_t n;
    int type = grove_ws_recv(ws, &d, &n, 5);
    if (type < 0) {
      server_last_rc = type;
      server_close_code = grove_ws_close_code(ws);
      return;
    }
    if (grove_ws_send(ws, type, d, n, 5) != 0)
      return;
  }
}

static grove_http_server *start(void) {
  server_close_code = 0;
  server_last_rc = 0;
  return serve_on_free_port(echo_ws, NULL, NULL);
}

static grove_ws *connect_ws(grove_http_server *srv) {
  char url[64];
  snprintf(url, sizeof url, "ws://127.0.0.1:%d/echo", grove_http_server_port(srv));
  grove_ws *ws = NULL;
  CHECK_EQ(grove_ws_connect(url, NULL, &ws, 5), 0);
  return ws;
}

static void test_echo_messages(void) {
  grove_http_server *srv = start();
  grove_ws *ws = connect_ws(srv);
  const void *d;
  size_t n;
  CHECK_EQ(grove_ws_send(ws, GROVE_WS_TEXT, "hello", 5, 5), 0);
  CHECK_EQ(grove_ws_recv(ws, &d, &n, 5), GROVE_WS_TEXT);
  CHECK(n == 5 && strcmp(d, "hello") == 0); /* NUL-terminated */
  /* Sizes around the 7-, 16- and 64-bit length encodings. */
  size_t sizes[] = {0, 125, 126, 65535, 65536, 200000};
  char *big = malloc(200000);
  for (size_t i = 0; i < 200000; i++)
    big[i] = (char)(i * 7);
  for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
    CHECK_EQ(grove_ws_send(ws, GROVE_WS_BINARY, big, sizes[k], 5), 0);
    CHECK_EQ(grove_ws_recv(ws, &d, &n, 5), GROVE_WS_BINARY);
    CHECK_EQ(n, sizes[k]);
    CHECK(memcmp(d, big, sizes[k]) == 0);
  }
  free(big);
  /* A fragmented message, and a ping in the middle of it. */
  CHECK_EQ(grove_ws_send_frame(ws, GROVE_WS_TEXT, false, "frag", 4, 5), 0);
  CHECK_EQ(grove_ws_ping(ws, "p", 1, 5), 0);
  CHECK_EQ(grove_ws_send_frame(ws, GROVE_WS_CONTINUATION, false, "men", 3, 5), 0);
  CHECK_EQ(grove_ws_send(ws, GROVE_WS_TEXT, "x", 1, 5), GROVE_EINVAL); /* a message is open */
  CHECK_EQ(grove_ws_send_frame(ws, GROVE_WS_CONTINUATION, true, "ted", 3, 5), 0);
  CHECK_EQ(grove_ws_recv(ws, &d, &n, 5), GROVE_WS_TEXT); /* the pong was skipped */
  CHECK(n == 10 && memcmp(d, "fragmented", 10) == 0);
  CHECK_EQ(grove_ws_send_frame(ws, GROVE_WS_CONTINUATION, true, "x", 1, 5), GROVE_EINVAL);
  CHECK_EQ(grove_ws_send(ws, GROVE_WS_TEXT, "\xff", 1, 5), GROVE_EINVAL); /* not UTF-8 */
  /* The close handshake, with a code the server sees. */
  CHECK_EQ(grove_ws_close(ws, 4001, "bye", 5), 0);
  CHECK_EQ(grove_ws_close_code(ws), 4001); /* echoed */
  CHECK_EQ(grove_ws_send(ws, GROVE_WS_TEXT, "late", 4, 5), GROVE_ECLOSED);
  grove_ws_free(ws);
  grove_sleep(0.05);
  CHECK_EQ(server_last_rc, GROVE_EOF);
  CHECK_EQ(server_close_code, 4001);
  grove_http_stats st;
  grove_http_server_stats(srv, &st);
  CHECK_EQ(st.upgrades, 1);
  grove_http_server_free(srv);
}

static void test_refused_upgrades(void) {
  grove_http_server *srv = start();
  int port = grove_http_server_port(srv);
  struct {
    const char *raw;
    int status;
  } cases[] = {
      {"GET / HTTP/1.1\r\nHost: x\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
       "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: short\r\n\r\n",
       400},
      {"POST / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nContent-Length: 0\r\n"
       "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
       400},
      {"GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
       "Sec-WebSocket-Version: 8\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
       426},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    http_client c;
    http_resp r;
    CHECK_EQ(client_connect(&c, port), 0);
    CHECK_EQ(client_send(&c, cases[i].raw), 0);
    CHECK_EQ(client_read(&c, &r, 5), 0);
    CHECK_EQ(r.status, cases[i].status);
    if (r.status == 426)
      CHECK(strstr(r.headers, "Sec-WebSocket-Version: 13\n") != NULL);
    client_close(&c);
  }
  /* The RFC's own example key gives the RFC's accept value. */
  http_client c;
  CHECK_EQ(client_connect(&c, port), 0);
  CHECK_EQ(client_send(&c, "GET /chat HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                           "Connection: keep-alive, Upgrade\r\nSec-WebSocket-Version: 13\r\n"
                           "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"),
           0);
  char raw[512] = {0};
  CHECK(grove_socket_read(c.s, raw, sizeof raw - 1, 5) > 0);
  CHECK(strncmp(raw, "HTTP/1.1 101 Switching Protocols\r\n", 34) == 0);
  CHECK(strstr(raw, "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n") != NULL);
  client_close(&c);
  grove_http_server_free(srv);
}

/* A raw client speaking frames itself, to break the rules on purpose. */
static int raw_upgrade(int port, http_client *c) {
  int rc = client_connect(c, port);
  if (rc)
    return rc;
  rc = client_send(
      c, "GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n");
  char head[256];
  size_t got = 0;
  while (!rc && got < sizeof head - 1) { /* read the 101's head, byte by byte */
    ssize_t n = grove_socket_read(c->s, head + got, 1, 5);
    if (n <= 0)
      return GROVE_EPROTO;
    got++;
    head[got] = 0;
    if (got >= 4 && strcmp(head + got - 4, "\r\n\r\n") == 0)
      break;
  }
  return rc;
}

/* Read the server's close frame: its code, or -1. */
static int read_close(http_client *c) {
  unsigned char f[256];
  size_t got = 0;
  double t0 = test_now();
  while (test_now() - t0 < 5) {
    ssize_t n = grove_socket_read(c->s, f + got, sizeof f - got, 5);
    if (n <= 0)
      break;
    got += (size_t)n;
    if (got >= 2 && got >= 2u + (f[1] & 0x7F))
      break;
  }
  if (got < 4 || f[0] != 0x88 || (f[1] & 0x80))
    return -1; /* a close frame, unmasked */
  return f[2] << 8 | f[3];
}

static void test_rules_and_limits(void) {
  server_ws_cfg = (grove_ws_config){.max_frame_size = 100, .max_message_size = 150};
  grove_http_server *srv = start();
  int port = grove_http_server_port(srv);
  struct {
    const char *name;
    unsigned char frame[16];
    size_t len;
    int code;
  } cases[] = {
      {"unmasked", {0x81, 0x02, 'h', 'i'}, 4, 1002},
      {"reserved bit", {0xC1, 0x80, 0, 0, 0, 0}, 6, 1002},
      {"unknown opcode", {0x83, 0x80, 0, 0, 0, 0}, 6, 1002},
      {"fragmented ping", {0x09, 0x80, 0, 0, 0, 0}, 6, 1002},
      {"continuation first", {0x80, 0x80, 0, 0, 0, 0}, 6, 1002},
      {"frame too big", {0x82, 0xFE, 0x00, 0xC8, 0, 0, 0, 0}, 8, 1009},
      {"bad UTF-8", {0x81, 0x82, 0, 0, 0, 0, 0xC0, 0x80}, 8, 1007},
      {"bad close code", {0x88, 0x82, 0, 0, 0, 0, 0x03, 0xED}, 8, 1002},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    http_client c;
    CHECK_EQ(raw_upgrade(port, &c), 0);
    CHECK_EQ(grove_socket_write_all(c.s, cases[i].frame, cases[i].len, NULL, 5), 0);
    int code = read_close(&c);
    if (code != cases[i].code)
      fprintf(stderr, "case %s: close code %d\n", cases[i].name, code);
    CHECK_EQ(code, cases[i].code);
    client_close(&c);
  }
  /* A message over its limit in two frames within theirs. */
  grove_ws *ws = connect_ws(srv);
  char buf[100] = {0};
  CHECK_EQ(grove_ws_send_frame(ws, GROVE_WS_BINARY, false, buf, 100, 5), 0);
  CHECK_EQ(grove_ws_send_frame(ws, GROVE_WS_CONTINUATION, true, buf, 100, 5), 0);
  const void *d;
  size_t n;
  CHECK_EQ(grove_ws_recv(ws, &d, &n, 5), GROVE_EOF);
  CHECK_EQ(grove_ws_close_code(ws), 1009);
  grove_ws_free(ws);
  /* The client refuses a masked frame from a server. */
  grove_http_server_free(srv);
  server_ws_cfg = (grove_ws_config){0};
}

static void *killer(void *arg) {
  grove_sleep(0.05);
  grove_kill(arg, 5);
  return NULL;
}

static void *recv_forever(void *arg) {
  const void *d;
  size_t n;
  return (void *)(intptr_t)grove_ws_recv(arg, &d, &n, GROVE_FOREVER);
}

static void test_timeouts_and_cancel(void) {
  grove_http_server *srv = start();
  grove_ws *ws = connect_ws(srv);
  const void *d;
  size_t n;
  double t0 = test_now();
  CHECK_EQ(grove_ws_recv(ws, &d, &n, 0.1), GROVE_ETIMEDOUT);
  CHECK(test_now() - t0 >= 0.09 && test_now() - t0 < 2);
  CHECK_EQ(grove_ws_recv(ws, &d, &n, 0), GROVE_ETIMEDOUT);
  grove_greenlet *g = grove_spawn(recv_forever, ws);
  grove_greenlet *k = grove_spawn(killer, g);
  void *v;
  CHECK_EQ(grove_join(g, 5), 0);
  v = grove_value(g);
  CHECK_EQ((intptr_t)v, GROVE_ECANCELED);
  grove_join(k, 5);
  grove_greenlet_release(g);
  grove_greenlet_release(k);
  /* Still usable after both. */
  CHECK_EQ(grove_ws_send(ws, GROVE_WS_TEXT, "ok", 2, 5), 0);
  CHECK_EQ(grove_ws_recv(ws, &d, &n, 5), GROVE_WS_TEXT);
  grove_ws_free(ws); /* no close frame: the server sees an abnormal end */
  grove_sleep(0.05);
  CHECK_EQ(server_close_code, GROVE_WS_ABNORMAL);
  /* The server stopping closes a WebSocket with 1001. */
  ws = connect_ws(srv);
  CHECK_EQ(grove_ws_send(ws, GROVE_WS_TEXT, "x", 1, 5), 0);
  CHECK_EQ(grove_ws_recv(ws, &d, &n, 5), GROVE_WS_TEXT);
  grove_http_server_stop(srv, 0.1); /* the handler waits in recv: killed */
  CHECK_EQ(grove_ws_recv(ws, &d, &n, 5), GROVE_EOF);
  CHECK_EQ(grove_ws_close_code(ws), 1001);
  grove_ws_free(ws);
  grove_http_server_free(srv);
}

static void test_connect_errors(void) {
  grove_ws *ws = NULL;
  CHECK_EQ(grove_ws_connect("http://x/", NULL, &ws, 1), GROVE_EINVAL);
  CHECK_EQ(grove_ws_connect("ws://:80/", NULL, &ws, 1), GROVE_EINVAL);
  CHECK_EQ(grove_ws_connect("ws://127.0.0.1:99999/", NULL, &ws, 1), GROVE_EINVAL);
  /* A server that is not a WebSocket one. */
  grove_http_server *srv = serve_on_free_port((grove_http_handler)(void *)echo_ws, NULL, NULL);
  char url[64];
  snprintf(url, sizeof url, "ws://127.0.0.1:%d", grove_http_server_port(srv));
  CHECK_EQ(grove_ws_connect(url, NULL, &ws, 5), 0); /* path defaults to / */
  grove_ws_free(ws);
  grove_http_server_free(srv);
  grove_socket *ls;
  CHECK_EQ(grove_tcp_listen("127.0.0.1", 0, 0, &ls), 0);
  snprintf(url, sizeof url, "ws://127.0.0.1:%d/", grove_socket_port(ls));
  CHECK_EQ(grove_ws_connect(url, NULL, &ws, 0.2), GROVE_ETIMEDOUT); /* never answers */
  grove_socket_close(ls);
  CHECK(ws == NULL);
}

TEST_MAIN(TEST(test_echo_messages), TEST(test_refused_upgrades), TEST(test_rules_and_limits),
          TEST(test_timeouts_and_cancel), TEST(test_connect_errors))
