/* One accepting hub per core: two hubs in one process serve from one
 * socket. The handler holds its hub's thread for 20 ms, as CPU-bound work
 * would; while one hub is busy the other accepts. A counter shared by the
 * hubs is an atomic (the handler runs on both threads); four client
 * greenlets on hub 0 fetch twice each. */
#include <grove.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static atomic_int answered;

static void application(grove_http_request *req, void *arg) {
  (void)arg;
  usleep(20000); /* work that does not yield: this hub accepts nothing meanwhile */
  atomic_fetch_add(&answered, 1);
  char body[32];
  int n = snprintf(body, sizeof body, "hub %zu", grove_hub_index());
  grove_http_respond(req, 200, "text/plain", body, (size_t)n, 10);
}

static void *client(void *arg) {
  int port = *(int *)arg;
  for (int i = 0; i < 2; i++) {
    grove_socket *c;
    if (grove_tcp_connect("127.0.0.1", port, &c, 5) != 0)
      return NULL;
    const char req[] = "GET / HTTP/1.1\r\nConnection: close\r\n\r\n";
    grove_socket_write_all(c, req, strlen(req), NULL, 5);
    char resp[512];
    size_t got = 0;
    grove_socket_read_exactly(c, resp, sizeof resp - 1, &got, 5); /* to the end */
    grove_socket_close(c);
  }
  return NULL;
}

int main(void) {
  grove_hubs_start(2); /* this thread's hub is hub 0, one more thread runs hub 1 */
  grove_socket *ls;
  grove_tcp_listen("127.0.0.1", 0, 0, &ls);
  grove_http_hubs *srv;
  if (grove_http_serve_hubs(ls, application, NULL, NULL, &srv) != 0)
    return 1;
  printf("hubs serving: %zu\n", grove_http_hubs_count(srv));
  int port = grove_http_hubs_port(srv);
  grove_greenlet *g[4];
  for (int i = 0; i < 4; i++)
    g[i] = grove_spawn(client, &port);
  grove_joinall(g, 4, 30);
  for (int i = 0; i < 4; i++)
    grove_greenlet_release(g[i]);
  grove_http_stats sum, per_hub[2];
  grove_http_hubs_stats(srv, &sum, per_hub);
  /* how they split differs from run to run (4 + 4, 3 + 5...): print the sum */
  printf("answered: %d, counted by the hubs: %llu (in all: %llu)\n", atomic_load(&answered),
         (unsigned long long)(per_hub[0].requests + per_hub[1].requests),
         (unsigned long long)sum.requests);
  grove_http_hubs_stop(srv, 5);
  grove_http_hubs_free(srv);
  printf("stopped: %s\n", grove_err_name(grove_hubs_stop(5)));
  return grove_hub_close() == 0 ? 0 : 1;
}
