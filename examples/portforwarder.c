/* portforwarder.c - gevent's examples/portforwarder.py, in C.
 *
 *   portforwarder LISTEN_PORT DEST_HOST DEST_PORT
 *                        forward every connection to 127.0.0.1:LISTEN_PORT to
 *                        DEST_HOST:DEST_PORT until SIGINT/SIGTERM
 *   portforwarder --demo start an echo backend, a forwarder in front of it,
 *                        and clients that talk to the backend through it;
 *                        print what happens, check it, and exit
 *
 * gevent's version is a StreamServer whose handle() connects to the
 * destination and spawns two greenlets, each copying one direction:
 *
 *   def handle(self, source, address):
 *       dest = create_connection(self.dest)
 *       gevent.joinall([gevent.spawn(forward, source, dest),
 *                       gevent.spawn(forward, dest, source)])
 *
 *   def forward(source, dest):
 *       while True:
 *           data = source.recv(1024)
 *           if not data: break
 *           dest.sendall(data)
 *
 * This one also propagates half-closes: when one side stops sending
 * (shutdown(SHUT_WR), or close), the pump sees end of stream and shuts down
 * the write side of the other socket, so the other end sees end of stream
 * too while the opposite direction keeps flowing (a client can send a
 * request, half-close, and still read the whole answer). An error in one
 * direction (reset, timeout) ends both.
 *
 * The listener is bound to 127.0.0.1: a forwarder bound to "" or "0.0.0.0"
 * would let the whole network reach DEST through this machine.
 */
#include <grove.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CONNECT_TIMEOUT 10.0
#define IDLE_TIMEOUT 300.0 /* a direction with no data for this long ends the connection */

typedef struct {
  const char *host;
  int port;
  const char *label; /* how the log names the destination */
  int verbose;
  long connections;
} forwarder;

/* The greenlet copying dest -> source. Its state is on the heap: if the
 * handler is killed (server stop), it cannot wait for the pump (a killed
 * greenlet's blocking calls all fail), so it abandons the pump, which then
 * closes dest and frees itself. */
typedef struct {
  grove_socket *source, *dest;
  size_t bytes;
  int error;     /* 0: ended by end of stream */
  int abandoned; /* the handler is gone: source may be closed already */
} pump;

static void *pump_main(void *arg) {
  pump *p = arg;
  char buf[16384];
  for (;;) {
    ssize_t n = grove_socket_read(p->dest, buf, sizeof buf, IDLE_TIMEOUT);
    int rc = n > 0 ? grove_socket_write_all(p->source, buf, (size_t)n, NULL, IDLE_TIMEOUT) : 0;
    if (n > 0 && rc == 0) {
      p->bytes += (size_t)n;
      continue;
    }
    if (p->abandoned) {
      grove_socket_close(p->dest);
      free(p);
    } else if (n == 0) {
      grove_socket_shutdown(p->source, SHUT_WR); /* pass the half-close on */
    } else {
      p->error = n < 0 ? (int)n : rc;
      grove_socket_shutdown(p->source, SHUT_RDWR); /* the handler's read ends too */
    }
    return NULL;
  }
}

/* One connection: runs in the server's greenlet for it, and copies
 * source -> dest itself while the pump copies dest -> source. */
static void handle(grove_socket *source, void *arg) {
  forwarder *fw = arg;
  long id = ++fw->connections;
  grove_socket *dest;
  int rc = grove_tcp_connect(fw->host, fw->port, &dest, CONNECT_TIMEOUT);
  if (rc != 0) {
    printf("forwarder: connection %ld: cannot reach %s: %s\n", id, fw->label, grove_strerror(rc));
    return; /* the server closes source */
  }
  if (fw->verbose)
    printf("forwarder: connection %ld accepted, forwarding to %s\n", id, fw->label);
  pump *p = calloc(1, sizeof *p);
  grove_greenlet *g = p ? grove_spawn(pump_main, p) : NULL;
  if (!g) {
    free(p);
    grove_socket_close(dest);
    return;
  }
  p->source = source;
  p->dest = dest;
  char buf[16384];
  size_t up = 0;
  int error = 0;
  for (;;) {
    ssize_t n = grove_socket_read(source, buf, sizeof buf, IDLE_TIMEOUT);
    if (n == 0) {
      grove_socket_shutdown(dest, SHUT_WR); /* pass the half-close on */
      break;
    }
    rc = n > 0 ? grove_socket_write_all(dest, buf, (size_t)n, NULL, IDLE_TIMEOUT) : (int)n;
    if (rc != 0) {
      error = rc;
      break;
    }
    up += (size_t)n;
  }
  if (error == GROVE_ECANCELED) {
    /* Killed (the server is stopping): we cannot wait; the pump cleans up. */
    p->abandoned = 1;
    grove_kill_nowait(g);
    grove_greenlet_release(g);
    return;
  }
  if (error)
    grove_kill(g, GROVE_FOREVER); /* this direction failed: end the other */
  else
    grove_join(g, GROVE_FOREVER); /* the other direction runs to its end */
  grove_greenlet_release(g);
  if (!error)
    error = p->error;
  if (fw->verbose)
    printf("forwarder: connection %ld closed: %zu bytes ->, %zu bytes <-%s%s\n", id, up, p->bytes,
           error ? ", " : "", error ? grove_strerror(error) : "");
  grove_socket_close(dest);
  free(p);
}

/* ---- forwarding until a signal ------------------------------------------------------- */

static grove_server *server;

static void *on_signal(void *arg) {
  (void)arg;
  printf("closing the listener; connections get 5 s to finish\n");
  grove_server_stop(server, 5.0);
  return NULL;
}

static int run(int listen_port, const char *host, int port) {
  static forwarder fw;
  static char label[300];
  snprintf(label, sizeof label, "%s:%d", host, port);
  fw.host = host;
  fw.port = port;
  fw.label = label;
  fw.verbose = 1;
  grove_socket *ls;
  int rc = grove_tcp_listen("127.0.0.1", listen_port, 0, &ls);
  if (rc == 0 && (rc = grove_stream_server_new(ls, handle, &fw, NULL, &server)) != 0)
    grove_socket_close(ls);
  if (rc != 0) {
    fprintf(stderr, "portforwarder: 127.0.0.1:%d: %s\n", listen_port, grove_strerror(rc));
    return 1;
  }
  grove_signal_handler *h1 = grove_signal_handle(SIGINT, on_signal, NULL);
  grove_signal_handler *h2 = grove_signal_handle(SIGTERM, on_signal, NULL);
  printf("forwarding 127.0.0.1:%d -> %s:%d\n", grove_server_port(server), host, port);
  fflush(stdout);
  rc = grove_server_serve_forever(server, GROVE_FOREVER);
  grove_signal_handler_cancel(h1);
  grove_signal_handler_cancel(h2);
  grove_server_free(server);
  return rc == 0 ? 0 : 1;
}

/* ---- the demo ------------------------------------------------------------------------------- */

/* The backend: echoes everything; at end of stream it answers with a
 * summary line (possible only because the half-close came through the
 * forwarder) and closes. */
static void backend(grove_socket *conn, void *arg) {
  (void)arg;
  char buf[16384];
  size_t total = 0;
  ssize_t n;
  while ((n = grove_socket_read(conn, buf, sizeof buf, 10.0)) > 0) {
    if (grove_socket_write_all(conn, buf, (size_t)n, NULL, 10.0) != 0)
      return;
    total += (size_t)n;
  }
  if (n == 0) {
    char line[64];
    int len = snprintf(line, sizeof line, "backend: %zu bytes echoed, bye\n", total);
    grove_socket_write_all(conn, line, (size_t)len, NULL, 10.0);
  }
}

typedef struct {
  grove_socket *s;
  const char *data;
  size_t len;
} sender;

static void *send_all_then_shut(void *arg) {
  sender *sd = arg;
  if (grove_socket_write_all(sd->s, sd->data, sd->len, NULL, 10.0) == 0)
    grove_socket_shutdown(sd->s, SHUT_WR);
  return NULL;
}

/* A client through the forwarder: sends `len` bytes while reading the echo,
 * half-closes, and reads the backend's summary. Returns 1 if all came back. */
static int client(int port, const char *data, size_t len, int show) {
  grove_socket *s;
  if (grove_tcp_connect("127.0.0.1", port, &s, 5.0) != 0)
    return 0;
  sender sd = {s, data, len};
  grove_greenlet *w = grove_spawn(send_all_then_shut, &sd);
  char *back = malloc(len + 256);
  size_t got = 0;
  int rc = grove_socket_read_exactly(s, back, len + 256, &got, 10.0);
  int ok = rc == GROVE_EOF && got >= len && memcmp(back, data, len) == 0;
  grove_join(w, 5.0);
  grove_greenlet_release(w);
  grove_socket_close(s);
  if (show)
    printf("client: sent %zu bytes, got them back, then: %.*s", len, (int)(got - len), back + len);
  char expect[64];
  snprintf(expect, sizeof expect, "backend: %zu bytes echoed, bye\n", len);
  ok = ok && got - len == strlen(expect) && memcmp(back + len, expect, got - len) == 0;
  free(back);
  return ok;
}

static int demo(void) {
  grove_socket *bls, *fls;
  grove_server *bsrv;
  static forwarder fw;
  if (grove_tcp_listen("127.0.0.1", 0, 0, &bls) != 0 ||
      grove_stream_server_new(bls, backend, NULL, NULL, &bsrv) != 0 ||
      grove_server_start(bsrv) != 0)
    return 1;
  fw.host = "127.0.0.1";
  fw.port = grove_server_port(bsrv);
  fw.label = "the backend";
  fw.verbose = 1;
  if (grove_tcp_listen("127.0.0.1", 0, 0, &fls) != 0 ||
      grove_stream_server_new(fls, handle, &fw, NULL, &server) != 0 ||
      grove_server_start(server) != 0)
    return 1;
  int port = grove_server_port(server);
  printf("echo backend and forwarder on 127.0.0.1 (free ports)\n");

  static const char hello[] = "Hello through the forwarder!\n";
  int ok = client(port, hello, sizeof hello - 1, 1);
  /* A bigger stream, in both directions at once. */
  size_t big = 1u << 20;
  char *data = malloc(big);
  for (size_t i = 0; i < big; i++)
    data[i] = (char)('a' + i % 26);
  ok = client(port, data, big, 1) && ok;
  free(data);

  /* A destination that is down: the forwarder says so and hangs up. */
  grove_server_stop(bsrv, 1.0);
  grove_socket *s;
  char buf[16];
  if (grove_tcp_connect("127.0.0.1", port, &s, 5.0) == 0) {
    ok = grove_socket_read(s, buf, sizeof buf, 5.0) == 0 && ok;
    printf("client: the forwarder hung up (end of stream)\n");
    grove_socket_close(s);
  } else {
    ok = 0;
  }
  ok = grove_server_stop(server, 1.0) == 0 && ok;
  grove_server_free(server);
  grove_server_free(bsrv);
  ok = fw.connections == 3 && grove_hub_close() == 0 && ok;
  printf("%s\n", ok ? "demo: ok" : "demo: FAILED");
  return ok ? 0 : 1;
}

int main(int argc, char **argv) {
  if (argc == 2 && strcmp(argv[1], "--demo") == 0)
    return demo();
  if (argc != 4 || atoi(argv[1]) <= 0 || atoi(argv[3]) <= 0) {
    fprintf(stderr, "usage: portforwarder LISTEN_PORT DEST_HOST DEST_PORT\n"
                    "       portforwarder --demo\n");
    return 2;
  }
  return run(atoi(argv[1]), argv[2], atoi(argv[3]));
}
