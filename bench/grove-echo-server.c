/* bench/grove-echo-server.c - grove's StreamServer echo server, for the
 * tcp_echo comparison (scripts/bench.sh drives it with the same client as
 * the gevent and libuv servers).
 *
 *   grove-echo-server PORT      (runs until SIGTERM)
 */
#include <stdio.h>
#include <stdlib.h>

int bench_echo_server_main(int port, int announce);

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: grove-echo-server PORT\n");
    return 2;
  }
  return bench_echo_server_main(atoi(argv[1]), 0);
}
