/* stream_server.c - gevent's StreamServer: a handler greenlet per
 * connection, a Pool that bounds them, and a graceful stop. */
#include <grove.h>
#include <stdio.h>
#include <string.h>

/* Runs in its own greenlet for each connection; the server closes conn
 * when it returns. */
static void echo(grove_socket *conn, void *arg) {
  char line[256];
  ssize_t n;
  while ((n = grove_socket_read_line(conn, line, sizeof line, 10.0)) > 0)
    grove_socket_write_all(conn, line, (size_t)n, NULL, 10.0);
  /* n: 0 at end of stream, or an error: GROVE_ECANCELED when stop kills us */
  printf("handler: done (%s)\n", n == 0 ? "end of stream" : grove_err_name((int)n));
}

static grove_socket *client(int port, const char *line) {
  grove_socket *c;
  if (grove_tcp_connect("127.0.0.1", port, &c, 5.0) != 0)
    return NULL;
  grove_socket_write_all(c, line, strlen(line), NULL, 5.0);
  return c;
}

int main(void) {
  grove_socket *listener;
  grove_server *srv;
  grove_group *pool = grove_pool_new(2); /* at most two handlers at once */
  if (grove_tcp_listen("127.0.0.1", 0, 0, &listener) != 0 ||
      grove_stream_server_new(listener, echo, NULL, pool, &srv) != 0 || /* takes listener */
      grove_server_start(srv) != 0)                                     /* returns at once */
    return 1;
  int port = grove_server_port(srv);

  grove_socket *a = client(port, "one\n"), *b = client(port, "two\n"), *c = client(port, "three\n");
  char buf[64];
  grove_socket_read_line(a, buf, sizeof buf, 5.0);
  grove_socket_read_line(b, buf, sizeof buf, 5.0);
  /* The pool is full: the third connection waits in the listen backlog. */
  ssize_t n = grove_socket_read_line(c, buf, sizeof buf, 0.1);
  printf("third client: %s, %zu handlers running\n", grove_err_name((int)n),
         grove_server_connections(srv));
  grove_socket_close(a); /* a's handler ends: the server accepts the third */
  n = grove_socket_read_line(c, buf, sizeof buf, 5.0);
  printf("third client: got %s", buf);

  /* Graceful stop: stop accepting, give the handlers 0.1 s, then kill the
   * rest. b's handler ends in time (b hangs up); c's is killed. */
  grove_socket_close(b);
  int rc = grove_server_stop(srv, 0.1);
  printf("stop: %s, accepted %llu connections\n", grove_err_name(rc),
         (unsigned long long)grove_server_accepted(srv));
  grove_server_free(srv);
  grove_socket_close(c);
  grove_group_free(pool); /* the pool is yours; it outlives the server */
  return grove_hub_close() == 0 ? 0 : 1;
}
