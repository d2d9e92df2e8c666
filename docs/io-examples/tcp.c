/* tcp.c - a TCP server and client by hand: listen, accept, connect, and a
 * request/answer exchange with a half-close. */
#include <grove.h>
#include <stdio.h>
#include <string.h>

static void *server(void *arg) {
  grove_socket *listener = arg, *conn;
  if (grove_socket_accept(listener, &conn, 5.0) != 0)
    return NULL;
  char peer[64];
  int port;
  grove_socket_peername(conn, peer, sizeof peer, &port);
  printf("server: connection from %s\n", peer);
  /* Read the whole request: the client half-closes when it is done. */
  char req[256];
  size_t got = 0;
  int rc = grove_socket_read_exactly(conn, req, sizeof req, &got, 5.0);
  printf("server: %s after %zu bytes: %.*s\n", grove_err_name(rc), got, (int)got, req);
  char answer[300];
  int len = snprintf(answer, sizeof answer, "you said %zu bytes", got);
  grove_socket_write_all(conn, answer, (size_t)len, NULL, 5.0);
  grove_socket_close(conn); /* the client reads to the end of stream */
  return NULL;
}

int main(void) {
  grove_socket *listener, *c;
  int rc = grove_tcp_listen("127.0.0.1", 0, 0, &listener); /* port 0: any free port */
  if (rc != 0) {
    fprintf(stderr, "listen: %s\n", grove_strerror(rc));
    return 1;
  }
  int port = grove_socket_port(listener);
  grove_greenlet *g = grove_spawn(server, listener);

  if ((rc = grove_tcp_connect("127.0.0.1", port, &c, 5.0)) != 0) {
    fprintf(stderr, "connect: %s\n", grove_strerror(rc));
    return 1;
  }
  const char *request = "GET /index.html";
  grove_socket_write_all(c, request, strlen(request), NULL, 5.0);
  grove_socket_shutdown(c, SHUT_WR); /* "that is all": the server sees end of stream */
  char buf[64];
  ssize_t n;
  while ((n = grove_socket_read(c, buf, sizeof buf, 5.0)) > 0) /* 0: end of stream */
    printf("client: got %.*s\n", (int)n, buf);
  grove_socket_close(c);

  grove_join(g, GROVE_FOREVER);
  grove_greenlet_release(g);
  grove_socket_close(listener);
  return n == 0 && grove_hub_close() == 0 ? 0 : 1;
}
