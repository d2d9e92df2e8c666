/* io_timeouts.c - timeouts and cancellation on sockets: a per-call timeout,
 * a scoped deadline over several calls, a kill, and a close. */
#include <grove.h>
#include <stdio.h>

static grove_socket *conn; /* the client's socket (its peer never writes) */

static void *reader(void *arg) {
  char buf[16];
  ssize_t n = grove_socket_read(conn, buf, sizeof buf, GROVE_FOREVER);
  printf("%s: read returned %s\n", (char *)arg, grove_err_name((int)n));
  return NULL;
}

int main(void) {
  grove_socket *listener, *peer;
  if (grove_tcp_listen("127.0.0.1", 0, 0, &listener) != 0 ||
      grove_tcp_connect("127.0.0.1", grove_socket_port(listener), &conn, 5.0) != 0 ||
      grove_socket_accept(listener, &peer, 5.0) != 0)
    return 1;
  char buf[16];

  /* 1. Each call's own timeout. */
  ssize_t n = grove_socket_read(conn, buf, sizeof buf, 0.05);
  printf("read with a 50 ms timeout: %s\n", grove_err_name((int)n));

  /* 2. A deadline for a whole exchange (gevent's `with Timeout(0.05):`). */
  grove_timeout *t = grove_timeout_start(0.05);
  int rc = grove_socket_write_all(conn, "ping\n", 5, NULL, GROVE_FOREVER);
  if (rc == 0)
    n = grove_socket_read_line(conn, buf, sizeof buf, GROVE_FOREVER);
  printf("write: %s, then read_line: %s\n", grove_err_name(rc), grove_err_name((int)n));
  grove_timeout_cancel(t);

  /* 3. Killing a greenlet cancels its blocking read. */
  grove_greenlet *g = grove_spawn(reader, "killed reader");
  grove_sleep(0.01);
  grove_kill(g, GROVE_FOREVER);
  grove_greenlet_release(g);

  /* 4. Closing a socket wakes the greenlets blocked on it. */
  g = grove_spawn(reader, "reader of a closed socket");
  grove_sleep(0.01);
  grove_socket_close(conn); /* the reader must not touch conn after this */
  grove_join(g, GROVE_FOREVER);
  grove_greenlet_release(g);

  grove_socket_close(peer);
  grove_socket_close(listener);
  return grove_hub_close() == 0 ? 0 : 1;
}
