/* tests/net/test_tls.c - TLS sessions: HTTPS and WSS between grove's client
 * and server, certificate verification (chain, DNS name, IP address) and
 * its refusals, contexts' errors, handshake timeouts and cancellation.
 * Certificates are made for the run by make_certs.sh (openssl req); the
 * test is skipped when openssl is missing. The client is also checked
 * against `openssl s_server`; openssl s_client and Python's ssl
 * against the HTTPS server are in demo_server_check.py --tls. */
#include "net_util.h"

#include <signal.h>
#include <sys/stat.h>

TEST_WATCHDOG(90)

static char dir[256];
static char ca[300], cert[300], key[300], other[300], other_key[300];

static void hello(grove_http_request *req, void *arg) {
  (void)arg;
  const char *path = grove_http_path(req);
  if (strcmp(path, "/ws") == 0) {
    grove_ws *ws;
    if (grove_ws_upgrade(req, NULL, &ws, 5) != 0)
      return;
    const void *d;
    size_t n;
    int type;
    while ((type = grove_ws_recv(ws, &d, &n, 5)) > 0)
      if (grove_ws_send(ws, type, d, n, 5) != 0)
        break;
    return;
  }
  grove_http_respond(req, 200, "text/plain", "hello over TLS", 14, 5);
}

static grove_http_server *https_server(grove_tls_ctx **sctx) {
  CHECK_EQ(grove_tls_server_ctx_new(cert, key, sctx), 0);
  grove_http_config cfg = {.tls = *sctx, .request_timeout = 2};
  return serve_on_free_port(hello, NULL, &cfg);
}

static int get_over(grove_tls *t, char *out, size_t cap) {
  const char req[] = "GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
  int rc = grove_tls_write_all(t, req, sizeof req - 1, 5);
  if (rc)
    return rc;
  size_t got = 0;
  for (;;) {
    ssize_t n = grove_tls_read(t, out + got, cap - 1 - got, 5);
    if (n < 0)
      return (int)n;
    if (n == 0)
      break;
    got += (size_t)n;
  }
  out[got] = 0;
  return 0;
}

static void test_https(void) {
  grove_tls_ctx *sctx, *cctx;
  grove_http_server *srv = https_server(&sctx);
  int port = grove_http_server_port(srv);
  CHECK_EQ(grove_tls_client_ctx_new(ca, &cctx), 0);
  const char *hosts[] = {"localhost", "127.0.0.1"}; /* the DNS name and the IP in the SAN */
  for (int i = 0; i < 2; i++) {
    grove_tls *t = NULL;
    CHECK_EQ(grove_tls_connect(cctx, hosts[i], port, &t, 5), 0);
    if (!t)
      continue;
    CHECK_STR(grove_tls_version(t), "TLSv1.3");
    char resp[2048];
    CHECK_EQ(get_over(t, resp, sizeof resp), 0);
    CHECK(strncmp(resp, "HTTP/1.1 200 OK\r\n", 17) == 0);
    CHECK(strstr(resp, "\r\n\r\nhello over TLS") != NULL);
    CHECK_STR(grove_tls_error(t), "");
    grove_tls_free(t);
  }
  /* WSS with the same server. */
  grove_ws_config wc = {.tls = cctx};
  char url[64];
  snprintf(url, sizeof url, "wss://localhost:%d/ws", port);
  grove_ws *ws = NULL;
  CHECK_EQ(grove_ws_connect(url, &wc, &ws, 5), 0);
  const void *d;
  size_t n;
  char big[40000];
  memset(big, 'w', sizeof big);
  CHECK_EQ(grove_ws_send(ws, GROVE_WS_BINARY, big, sizeof big, 5), 0);
  CHECK_EQ(grove_ws_recv(ws, &d, &n, 5), GROVE_WS_BINARY);
  CHECK(n == sizeof big && memcmp(d, big, n) == 0);
  CHECK_EQ(grove_ws_close(ws, 1000, NULL, 5), 0);
  grove_ws_free(ws);
  grove_tls_ctx_free(cctx); /* before the sessions made from it: allowed */
  grove_http_server_free(srv);
  grove_tls_ctx_free(sctx);
}

static void test_verification_refusals(void) {
  grove_tls_ctx *sctx, *wrong_ca, *system_ca, *right;
  grove_http_server *srv = https_server(&sctx);
  int port = grove_http_server_port(srv);
  CHECK_EQ(grove_tls_client_ctx_new(other, &wrong_ca), 0);
  CHECK_EQ(grove_tls_client_ctx_new(NULL, &system_ca), 0);
  CHECK_EQ(grove_tls_client_ctx_new(ca, &right), 0);
  grove_tls *t = NULL;
  /* Signed by a CA this client does not trust. */
  grove_socket *s;
  CHECK_EQ(grove_tcp_connect("127.0.0.1", port, &s, 5), 0);
  CHECK_EQ(grove_tls_wrap(wrong_ca, s, "localhost", &t), 0);
  CHECK_EQ(grove_tls_handshake(t, 5), GROVE_EPROTO);
  CHECK(strstr(grove_tls_error(t), "certificate verify failed") != NULL);
  CHECK_EQ(grove_tls_write_all(t, "x", 1, 1), GROVE_EPROTO); /* unusable after */
  grove_tls_free(t);
  grove_socket_close(s);
  CHECK_EQ(grove_tls_connect(system_ca, "localhost", port, &t, 5), GROVE_EPROTO);
  CHECK(t == NULL);
  /* The right CA, the wrong name. */
  CHECK_EQ(grove_tcp_connect("127.0.0.1", port, &s, 5), 0);
  CHECK_EQ(grove_tls_wrap(right, s, "grove.example", &t), 0);
  CHECK_EQ(grove_tls_handshake(t, 5), GROVE_EPROTO);
  CHECK(strstr(grove_tls_error(t), "hostname mismatch") != NULL);
  grove_tls_free(t);
  grove_socket_close(s);
  /* Verification on needs a name; off, anything goes (tests only). */
  CHECK_EQ(grove_tcp_connect("127.0.0.1", port, &s, 5), 0);
  CHECK_EQ(grove_tls_wrap(right, s, NULL, &t), GROVE_EINVAL);
  CHECK_EQ(grove_tls_ctx_set_verify(wrong_ca, false), 0);
  CHECK_EQ(grove_tls_wrap(wrong_ca, s, NULL, &t), 0);
  CHECK_EQ(grove_tls_handshake(t, 5), 0);
  grove_tls_free(t);
  grove_socket_close(s);
  CHECK_EQ(grove_tls_ctx_set_verify(sctx, false), GROVE_EINVAL); /* a server's */
  grove_sleep(0.05);
  grove_http_stats st;
  grove_http_server_stats(srv, &st);
  CHECK_EQ(st.tls_failures, 3); /* the server counts the aborted handshakes */
  /* A plain-text client on the TLS port: refused, counted, no crash. */
  http_client c;
  CHECK_EQ(client_connect(&c, port), 0);
  CHECK_EQ(client_send(&c, "GET / HTTP/1.1\r\n\r\n"), 0);
  CHECK(client_closed(&c, 5));
  client_close(&c);
  grove_tls_ctx_free(wrong_ca);
  grove_tls_ctx_free(system_ca);
  grove_tls_ctx_free(right);
  grove_http_server_free(srv);
  grove_tls_ctx_free(sctx);
}

/* grove's client against another server: openssl s_server -www. */
static void test_client_vs_s_server(void) {
  grove_socket *probe;
  CHECK_EQ(grove_tcp_listen("127.0.0.1", 0, 0, &probe), 0);
  int port = grove_socket_port(probe);
  grove_socket_close(probe);
  char accept[16];
  snprintf(accept, sizeof accept, "%d", port);
  const char *argv[] = {"openssl", "s_server", "-accept", accept,   "-cert", cert,
                        "-key",    key,        "-www",    "-quiet", NULL};
  grove_subprocess_opts o = {.argv = argv,
                             .stdin_mode = GROVE_STDIO_PIPE,
                             .stdout_mode = GROVE_STDIO_DEVNULL,
                             .stderr_mode = GROVE_STDIO_DEVNULL};
  grove_subprocess *p;
  CHECK_EQ(grove_subprocess_spawn(&o, &p), 0);
  grove_tls_ctx *cctx;
  CHECK_EQ(grove_tls_client_ctx_new(ca, &cctx), 0);
  grove_tls *t = NULL;
  int rc = GROVE_ECONNREFUSED;
  for (int i = 0; i < 100 && rc == GROVE_ECONNREFUSED; i++) {
    rc = grove_tls_connect(cctx, "localhost", port, &t, 5);
    if (rc == GROVE_ECONNREFUSED)
      grove_sleep(0.05); /* s_server is starting */
  }
  CHECK_EQ(rc, 0);
  if (t) {
    const char req[] = "GET / HTTP/1.0\r\n\r\n";
    CHECK_EQ(grove_tls_write_all(t, req, sizeof req - 1, 5), 0);
    char resp[256] = {0};
    CHECK(grove_tls_read(t, resp, sizeof resp - 1, 5) > 0);
    CHECK(strncmp(resp, "HTTP/1.0 200 ok", 15) == 0);
    grove_tls_free(t);
  }
  grove_tls_ctx_free(cctx);
  grove_subprocess_kill(p, SIGTERM);
  grove_subprocess_wait(p, NULL, 5);
  grove_subprocess_free(p);
}

static void test_ctx_errors(void) {
  grove_tls_ctx *c = NULL;
  CHECK_EQ(grove_tls_client_ctx_new("/nonexistent.pem", &c), GROVE_ENOENT);
  CHECK_EQ(grove_tls_server_ctx_new("/nonexistent.pem", key, &c), GROVE_ENOENT);
  CHECK_EQ(grove_tls_server_ctx_new(cert, other_key, &c), GROVE_EPROTO); /* key mismatch */
  CHECK_EQ(grove_tls_server_ctx_new(key, cert, &c), GROVE_EPROTO);
  CHECK_EQ(grove_tls_server_ctx_new(NULL, key, &c), GROVE_EINVAL);
  CHECK(c == NULL);
  CHECK_EQ(grove_tls_wrap(NULL, NULL, NULL, NULL), GROVE_EINVAL);
  CHECK_EQ(grove_tls_read(NULL, NULL, 0, 1), GROVE_EINVAL);
  grove_tls_ctx_free(NULL);
  grove_tls_free(NULL);
}

static void *handshake_forever(void *arg) {
  return (void *)(intptr_t)grove_tls_handshake(arg, GROVE_FOREVER);
}

static void test_timeout_and_cancel(void) {
  grove_tls_ctx *cctx;
  CHECK_EQ(grove_tls_client_ctx_new(ca, &cctx), 0);
  grove_socket *ls; /* accepts (the kernel does) and never answers */
  CHECK_EQ(grove_tcp_listen("127.0.0.1", 0, 0, &ls), 0);
  grove_tls *t = NULL;
  double t0 = test_now();
  CHECK_EQ(grove_tls_connect(cctx, "127.0.0.1", grove_socket_port(ls), &t, 0.2), GROVE_ETIMEDOUT);
  CHECK(test_now() - t0 < 2);
  grove_socket *s;
  CHECK_EQ(grove_tcp_connect("127.0.0.1", grove_socket_port(ls), &s, 5), 0);
  CHECK_EQ(grove_tls_wrap(cctx, s, "localhost", &t), 0);
  grove_greenlet *g = grove_spawn(handshake_forever, t);
  grove_sleep(0.05);
  CHECK_EQ(grove_kill(g, 5), 0);
  CHECK_EQ((intptr_t)grove_value(g), GROVE_ECANCELED);
  grove_greenlet_release(g);
  grove_tls_free(t);
  grove_socket_close(s);
  grove_socket_close(ls);
  grove_tls_ctx_free(cctx);
}

int main(int argc, char **argv) {
  if (system("openssl version >/dev/null 2>&1") != 0) {
    printf("skipped: openssl is not installed (apt-get install openssl)\n");
    return 77;
  }
  snprintf(dir, sizeof dir, "/tmp/grove-tls-test-%d", (int)getpid());
  char cmd[600];
  snprintf(cmd, sizeof cmd, "%s/make_certs.sh %s", GROVE_TEST_NET_DIR, dir);
  if (system(cmd) != 0) {
    fprintf(stderr, "make_certs.sh failed\n");
    return 1;
  }
  snprintf(ca, sizeof ca, "%s/ca.pem", dir);
  snprintf(cert, sizeof cert, "%s/cert.pem", dir);
  snprintf(key, sizeof key, "%s/key.pem", dir);
  snprintf(other, sizeof other, "%s/other.pem", dir);
  snprintf(other_key, sizeof other_key, "%s/other-key.pem", dir);
  static const test_case cases[] = {TEST(test_https), TEST(test_verification_refusals),
                                    TEST(test_client_vs_s_server), TEST(test_ctx_errors),
                                    TEST(test_timeout_and_cancel)};
  int rc = test__run(cases, sizeof cases / sizeof cases[0], argc, argv);
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  if (system(cmd) != 0)
    rc = 1;
  return rc;
}
