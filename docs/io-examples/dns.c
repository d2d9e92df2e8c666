/* dns.c - name resolution on libuv's thread pool: grove_getaddrinfo, and
 * connecting by name. */
#include <grove.h>
#include <netdb.h>
#include <stdio.h>

int main(void) {
  struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM};
  struct addrinfo *res;
  int rc = grove_getaddrinfo("localhost", "80", &hints, &res, 5.0); /* other greenlets run */
  if (rc != 0) {
    printf("localhost: %s\n", grove_strerror(rc));
    return 1;
  }
  for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
    char host[64];
    int port;
    grove_sockaddr_format(ai->ai_addr, host, sizeof host, &port);
    printf("localhost -> %s port %d\n", host, port);
  }
  grove_freeaddrinfo(res);

  /* A name that does not exist: a resolver code, described by grove_strerror
   * ("unknown node or service", or a temporary failure without a network). */
  rc = grove_getaddrinfo("nonexistent.invalid", NULL, NULL, &res, 5.0);
  printf("nonexistent.invalid: %s\n", rc != 0 && grove_strerror(rc) ? "failed" : "found?");

  /* grove_tcp_connect resolves a name itself and tries each address in turn. */
  grove_socket *listener, *c;
  if (grove_tcp_listen("127.0.0.1", 0, 0, &listener) != 0)
    return 1;
  rc = grove_tcp_connect("localhost", grove_socket_port(listener), &c, 5.0);
  printf("connect to localhost: %s\n", grove_err_name(rc));
  if (rc == 0)
    grove_socket_close(c);
  grove_socket_close(listener);
  return grove_hub_close() == 0 ? 0 : 1;
}
