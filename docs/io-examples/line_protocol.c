/* line_protocol.c - a line-based protocol: commands are lines, and a "PUT"
 * line announces a payload of exactly N bytes that follows it. */
#include <grove.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void serve(grove_socket *conn, void *arg) {
  char line[32]; /* short on purpose: longer lines arrive in pieces */
  int too_long = 0;
  ssize_t n;
  while ((n = grove_socket_read_line(conn, line, sizeof line, 5.0)) > 0) {
    if (line[n - 1] != '\n') { /* a piece of a line longer than 31 bytes */
      too_long = 1;
      continue;
    }
    if (too_long) { /* the last piece */
      too_long = 0;
      printf("server: line too long, refused\n");
      grove_socket_write_all(conn, "ERR too long\n", 13, NULL, 5.0);
      continue;
    }
    line[n - 1] = 0;
    if (strncmp(line, "PUT ", 4) == 0) {
      /* The bytes after the line were kept by read_line: read_exactly gets them. */
      size_t len = strtoul(line + 4, NULL, 10);
      char data[64] = {0};
      if (len >= sizeof data || grove_socket_read_exactly(conn, data, len, NULL, 5.0) != 0)
        break;
      printf("server: PUT %zu bytes: %s\n", len, data);
      grove_socket_write_all(conn, "OK\n", 3, NULL, 5.0);
    } else {
      printf("server: command \"%s\"\n", line);
      grove_socket_write_all(conn, "?\n", 2, NULL, 5.0);
    }
  }
  printf("server: client gone (%s)\n", n == 0 ? "end of stream" : grove_err_name((int)n));
}

int main(void) {
  grove_socket *listener, *c;
  grove_server *srv;
  if (grove_tcp_listen("127.0.0.1", 0, 0, &listener) != 0 ||
      grove_stream_server_new(listener, serve, NULL, NULL, &srv) != 0 ||
      grove_server_start(srv) != 0 ||
      grove_tcp_connect("127.0.0.1", grove_server_port(srv), &c, 5.0) != 0)
    return 1;
  /* One write carrying a command, a header line and its binary-safe payload. */
  const char *msg = "HELLO\nPUT 11\nhello world";
  grove_socket_write_all(c, msg, strlen(msg), NULL, 5.0);
  const char *more = "this line is longer than the server's 32-byte buffer\n";
  grove_socket_write_all(c, more, strlen(more), NULL, 5.0);
  grove_socket_shutdown(c, SHUT_WR);
  char reply[16];
  while (grove_socket_read_line(c, reply, sizeof reply, 5.0) > 0)
    printf("client: %s", reply);
  grove_socket_close(c);
  grove_server_stop(srv, 1.0);
  grove_server_free(srv);
  return grove_hub_close() == 0 ? 0 : 1;
}
