/* udp.c - gevent's udp_server.py and udp_client.py: a DatagramServer that
 * answers each datagram, and a client with a receive timeout. */
#include <grove.h>
#include <stdio.h>
#include <string.h>

/* Runs in the server's greenlet for each datagram. */
static void answer(grove_socket *sock, const void *data, size_t len, const struct sockaddr *from,
                   socklen_t fromlen, void *arg) {
  char reply[128];
  int n = snprintf(reply, sizeof reply, "Received %zu bytes", len);
  grove_socket_sendto(sock, reply, (size_t)n, from, fromlen, 1.0);
}

int main(void) {
  grove_socket *sock, *client;
  grove_server *srv;
  if (grove_udp_bind("127.0.0.1", 0, &sock) != 0 ||
      grove_datagram_server_new(sock, answer, NULL, &srv) != 0 || /* takes sock */
      grove_server_start(srv) != 0)
    return 1;
  int port = grove_server_port(srv);

  if (grove_udp_bind("127.0.0.1", 0, &client) != 0) /* a client binds too (port 0: any) */
    return 1;
  const char *msg = "Hello from a UDP client";
  grove_udp_sendto(client, msg, strlen(msg), "127.0.0.1", port, 1.0);
  char buf[128];
  struct sockaddr_storage from;
  socklen_t fromlen;
  ssize_t n = grove_socket_recvfrom(client, buf, sizeof buf, &from, &fromlen, 1.0);
  char host[64];
  int from_port;
  grove_sockaddr_format((struct sockaddr *)&from, host, sizeof host, &from_port);
  printf("%.*s (from %s, the server's port: %s)\n", (int)n, buf, host,
         from_port == port ? "yes" : "no");

  /* A datagram larger than the buffer: recvfrom says how long it was. */
  char small[8];
  grove_udp_sendto(client, "0123456789abcdef", 16, "127.0.0.1", grove_socket_port(client), 1.0);
  n = grove_socket_recvfrom(client, small, sizeof small, NULL, NULL, 1.0);
  printf("a %zd-byte datagram, truncated to %zu: %.8s\n", n, sizeof small, small);

  /* Nothing more comes: the timeout ends the wait. */
  n = grove_socket_recvfrom(client, buf, sizeof buf, NULL, NULL, 0.05);
  printf("then: %s\n", grove_err_name((int)n));

  grove_socket_close(client);
  grove_server_stop(srv, 1.0);
  grove_server_free(srv);
  return grove_hub_close() == 0 ? 0 : 1;
}
