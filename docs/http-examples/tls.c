/* HTTPS: the Hello World server behind TLS, and a client that verifies it.
 * The certificate is a throw-away one made for the run with openssl req
 * (for localhost and 127.0.0.1); the client trusts exactly it. */
#include <grove.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void application(grove_http_request *req, void *arg) {
  (void)arg;
  grove_http_respond(req, 200, "text/plain", "Hello, World!", 13, 10);
}

int main(void) {
  char dir[] = "/tmp/grove-tls-XXXXXX", cmd[512], cert[64], key[64];
  if (!mkdtemp(dir))
    return 1;
  snprintf(cert, sizeof cert, "%s/cert.pem", dir);
  snprintf(key, sizeof key, "%s/key.pem", dir);
  snprintf(cmd, sizeof cmd,
           "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost "
           "-addext subjectAltName=DNS:localhost,IP:127.0.0.1 -keyout %s -out %s 2>/dev/null",
           key, cert);
  if (system(cmd) != 0)
    return 1;

  grove_tls_ctx *server_ctx, *client_ctx;
  grove_tls_server_ctx_new(cert, key, &server_ctx);
  grove_socket *ls;
  grove_tcp_listen("127.0.0.1", 0, 0, &ls);
  grove_http_config cfg = {.tls = server_ctx}; /* HTTPS (and WSS) */
  grove_http_server *srv;
  grove_http_server_new(ls, application, NULL, &cfg, &srv);
  grove_http_server_start(srv);
  int port = grove_http_server_port(srv);

  grove_tls_client_ctx_new(cert, &client_ctx); /* verification is on */
  grove_tls *t;
  int rc = grove_tls_connect(client_ctx, "localhost", port, &t, 5);
  printf("connect to localhost: %s, %s\n", grove_strerror(rc), grove_tls_version(t));
  const char req[] = "GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
  grove_tls_write_all(t, req, strlen(req), 5);
  char resp[1024];
  size_t got = 0;
  ssize_t n;
  while ((n = grove_tls_read(t, resp + got, sizeof resp - 1 - got, 5)) > 0)
    got += (size_t)n;
  resp[got] = 0;
  printf("%.15s ... %s\n", resp, strstr(resp, "\r\n\r\n") + 4);
  grove_tls_free(t);

  /* The same certificate does not name grove.example: refused. */
  grove_socket *s;
  grove_tcp_connect("127.0.0.1", port, &s, 5);
  grove_tls_wrap(client_ctx, s, "grove.example", &t);
  rc = grove_tls_handshake(t, 5);
  printf("handshake as grove.example: %s (%s)\n", grove_err_name(rc), grove_tls_error(t));
  grove_tls_free(t);
  grove_socket_close(s);

  grove_http_server_free(srv);
  grove_tls_ctx_free(client_ctx);
  grove_tls_ctx_free(server_ctx);
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  return system(cmd) == 0 && grove_hub_close() == 0 ? 0 : 1;
}
