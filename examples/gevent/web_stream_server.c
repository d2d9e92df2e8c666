/* 001 "简单 server": the StreamServer greeting a telnet client; the client
 * is a greenlet of the same program (see web_stream_server.py). */
#include <grove.h>
#include <stdio.h>
#include <string.h>

static void handle(grove_socket *sock, void *arg) {
  (void)arg;
  grove_socket_write_all(sock, "Hello from a telnet!\n", 21, NULL, 5);
  for (int i = 0; i < 5; i++) {
    char line[16];
    int n = snprintf(line, sizeof line, "%d\n", i);
    grove_socket_write_all(sock, line, (size_t)n, NULL, 5);
  }
  /* returning closes the socket (socket.close()) */
}

int main(void) {
  grove_socket *ls;
  grove_tcp_listen("127.0.0.1", 0, 0, &ls);
  grove_server *server;
  grove_stream_server_new(ls, handle, NULL, NULL, &server);
  grove_server_start(server);
  grove_socket *c;
  grove_tcp_connect("127.0.0.1", grove_server_port(server), &c, 5);
  char data[1024];
  size_t got = 0;
  ssize_t n;
  while ((n = grove_socket_read(c, data + got, sizeof data - 1 - got, 5)) > 0)
    got += (size_t)n;
  data[got] = 0;
  grove_socket_close(c);
  fputs(data, stdout);
  grove_server_stop(server, 1);
  grove_server_free(server);
  return grove_hub_close() == 0 ? 0 : 1;
}
