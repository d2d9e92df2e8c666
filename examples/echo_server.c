/* echo_server.c - gevent's StreamServer example, in C.
 *
 *   echo_server [PORT]      serve on 127.0.0.1:PORT (default 5000) until
 *                           SIGINT/SIGTERM; try `nc 127.0.0.1 5000`
 *   echo_server --demo      serve on a free port, run three clients against
 *                           it, print the exchange, check it, and exit
 *
 * The gevent program (the tutorial's "simple server", merged with gevent's
 * examples/echoserver.py):
 *
 *   from gevent.server import StreamServer
 *   def handle(socket, address):
 *       socket.sendall(b"Hello from a telnet!\n")
 *       for line in socket.makefile("rb"):
 *           if line.strip().lower() == b"quit":
 *               break
 *           socket.sendall(line)
 *   StreamServer(("127.0.0.1", 5000), handle).serve_forever()
 *
 * Each connection gets its own greenlet running handle(); a greenlet blocked
 * in grove_socket_read_line costs the others nothing. The server closes the
 * connection when handle returns. The listener is bound to 127.0.0.1, so only
 * this machine can connect: binding "" or "0.0.0.0" would expose the echo to
 * the network.
 */
#include <grove.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IDLE_TIMEOUT 60.0 /* seconds a client may stay silent */

static long lines_echoed;

static void handle(grove_socket *conn, void *arg) {
  int verbose = *(int *)arg;
  char host[64] = "?", line[1024];
  int port = 0;
  grove_socket_peername(conn, host, sizeof host, &port);
  if (verbose)
    printf("server: new connection from %s:%d\n", host, port);
  static const char hello[] = "Hello from a telnet!\n";
  if (grove_socket_write_all(conn, hello, sizeof hello - 1, NULL, IDLE_TIMEOUT) != 0)
    return;
  for (;;) {
    ssize_t n = grove_socket_read_line(conn, line, sizeof line, IDLE_TIMEOUT);
    if (n <= 0) { /* 0: the client closed; < 0: timeout, reset, killed by stop */
      if (verbose)
        printf("server: %s:%d %s\n", host, port, n == 0 ? "disconnected" : grove_strerror((int)n));
      return;
    }
    if (strncmp(line, "quit", 4) == 0 && (line[4] == '\n' || line[4] == '\r' || !line[4])) {
      if (verbose)
        printf("server: %s:%d quit\n", host, port);
      return; /* the server closes the connection */
    }
    if (grove_socket_write_all(conn, line, (size_t)n, NULL, IDLE_TIMEOUT) != 0)
      return;
    lines_echoed++;
  }
}

/* ---- serving until a signal ------------------------------------------------ */

static grove_server *server;

static void *on_signal(void *arg) {
  (void)arg;
  printf("stopping (handlers get 2 s to finish)\n");
  grove_server_stop(server, 2.0);
  return NULL;
}

static int serve(int port) {
  grove_socket *ls;
  int rc = grove_tcp_listen("127.0.0.1", port, 0, &ls);
  if (rc != 0) {
    fprintf(stderr, "echo_server: listen on 127.0.0.1:%d: %s\n", port, grove_strerror(rc));
    return 1;
  }
  static int verbose = 1;
  if ((rc = grove_stream_server_new(ls, handle, &verbose, NULL, &server)) != 0) {
    grove_socket_close(ls);
    return 1;
  }
  grove_signal_handler *hint = grove_signal_handle(SIGINT, on_signal, NULL);
  grove_signal_handler *hterm = grove_signal_handle(SIGTERM, on_signal, NULL);
  printf("echo server on 127.0.0.1:%d; try: nc 127.0.0.1 %d (Ctrl-C stops it)\n",
         grove_server_port(server), grove_server_port(server));
  fflush(stdout);
  rc = grove_server_serve_forever(server, GROVE_FOREVER);
  grove_signal_handler_cancel(hint);
  grove_signal_handler_cancel(hterm);
  printf("served %llu connections, echoed %ld lines\n",
         (unsigned long long)grove_server_accepted(server), lines_echoed);
  grove_server_free(server);
  return rc == 0 ? 0 : 1;
}

/* ---- the demo: three clients talk to the server at once --------------------------- */

typedef struct {
  const char *name;
  const char *lines[3]; /* sent one by one; each must come back */
  char transcript[1024];
  int ok;
} client;

static int demo_port;

static void say(client *c, const char *dir, const char *text) {
  size_t n = strlen(c->transcript);
  snprintf(c->transcript + n, sizeof c->transcript - n, "  %s %s", dir, text);
}

static void *run_client(void *arg) {
  client *c = arg;
  grove_socket *s;
  char line[256];
  if (grove_tcp_connect("127.0.0.1", demo_port, &s, 5.0) != 0)
    return NULL;
  int ok = grove_socket_read_line(s, line, sizeof line, 5.0) > 0 &&
           strcmp(line, "Hello from a telnet!\n") == 0;
  say(c, "<-", line);
  for (int i = 0; ok && i < 3 && c->lines[i]; i++) {
    say(c, "->", c->lines[i]);
    ok = grove_socket_write_all(s, c->lines[i], strlen(c->lines[i]), NULL, 5.0) == 0 &&
         grove_socket_read_line(s, line, sizeof line, 5.0) > 0 && strcmp(line, c->lines[i]) == 0;
    say(c, "<-", line);
    grove_sleep(0.001); /* let the other clients interleave */
  }
  say(c, "->", "quit\n");
  ok = ok && grove_socket_write_all(s, "quit\n", 5, NULL, 5.0) == 0;
  /* The server closes the connection: end of stream. */
  ok = ok && grove_socket_read(s, line, sizeof line, 5.0) == 0;
  say(c, "<-", "(end of stream)\n");
  grove_socket_close(s);
  c->ok = ok;
  return NULL;
}

static int demo(void) {
  grove_socket *ls;
  if (grove_tcp_listen("127.0.0.1", 0, 0, &ls) != 0)
    return 1;
  static int quiet = 0;
  if (grove_stream_server_new(ls, handle, &quiet, NULL, &server) != 0 ||
      grove_server_start(server) != 0)
    return 1;
  demo_port = grove_server_port(server);
  printf("echo server on 127.0.0.1 (a free port); three clients connect at once\n");
  client clients[3] = {
      {.name = "client 1", .lines = {"Hi there\n", "How are you?\n"}},
      {.name = "client 2", .lines = {"ping\n", "pong\n", "ping again\n"}},
      {.name = "client 3", .lines = {"gevent in C\n"}},
  };
  grove_greenlet *gs[3];
  for (int i = 0; i < 3; i++)
    gs[i] = grove_spawn(run_client, &clients[i]);
  int rc = grove_joinall(gs, 3, 10.0);
  int ok = rc == 0;
  for (int i = 0; i < 3; i++) {
    grove_greenlet_release(gs[i]);
    printf("%s:\n%s", clients[i].name, clients[i].transcript);
    ok = ok && clients[i].ok;
  }
  ok = ok && grove_server_stop(server, 1.0) == 0;
  printf("server: %llu connections, %ld lines echoed\n",
         (unsigned long long)grove_server_accepted(server), lines_echoed);
  ok = ok && grove_server_accepted(server) == 3 && lines_echoed == 6;
  grove_server_free(server);
  ok = ok && grove_hub_close() == 0;
  printf("%s\n", ok ? "demo: ok" : "demo: FAILED");
  return ok ? 0 : 1;
}

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "--demo") == 0)
    return demo();
  int port = argc > 1 ? atoi(argv[1]) : 5000;
  if (port <= 0 || port > 65535) {
    fprintf(stderr, "usage: echo_server [PORT] | echo_server --demo\n");
    return 2;
  }
  return serve(port);
}
