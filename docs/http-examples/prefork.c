/* The tutorial's multi-process server: two worker processes accept on one
 * socket and answer with their worker number; the master supervises them.
 * Here a greenlet of the master is also the client: it fetches a page,
 * kills a worker (the master starts it again), fetches again, and stops
 * everything. */
#include <grove.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

static void application(grove_http_request *req, void *arg) {
  (void)arg;
  char body[32];
  int n = snprintf(body, sizeof body, "worker %d", grove_prefork_worker());
  grove_http_respond(req, 200, "text/plain", body, (size_t)n, 10);
}

static int worker(grove_socket *ls) {
  grove_http_server *srv;
  grove_http_server_new(ls, application, NULL, NULL, &srv);
  grove_http_server_start(srv);
  grove_signal_wait(SIGTERM, GROVE_FOREVER); /* the master's stop */
  grove_http_server_free(srv);
  return grove_hub_close() == 0 ? 0 : 1;
}

static int get(int port) {
  grove_socket *c;
  if (grove_tcp_connect("127.0.0.1", port, &c, 5) != 0)
    return -1;
  const char req[] = "GET / HTTP/1.1\r\nConnection: close\r\n\r\n";
  grove_socket_write_all(c, req, strlen(req), NULL, 5);
  char resp[512];
  size_t got = 0;
  grove_socket_read_exactly(c, resp, sizeof resp - 1, &got, 5); /* to the end */
  resp[got] = 0;
  grove_socket_close(c);
  return strstr(resp, "\r\n\r\nworker ") ? 0 : -1;
}

static void *client(void *arg) {
  grove_prefork *pf = arg;
  int port = grove_prefork_port(pf);
  printf("a worker answered: %s\n", get(port) == 0 ? "yes" : "no");
  kill(grove_prefork_pid(pf, 0), SIGKILL);
  while (grove_prefork_restarts(pf) == 0 || grove_prefork_pid(pf, 0) < 0)
    grove_sleep(0.01);
  printf("restarts: %llu\n", (unsigned long long)grove_prefork_restarts(pf));
  printf("a worker answered: %s\n", get(port) == 0 ? "yes" : "no");
  grove_prefork_stop(pf);
  return NULL;
}

int main(void) {
  grove_prefork_opts opts = {.processes = 2};
  grove_socket *ls;
  grove_prefork *master;
  if (grove_prefork_listen("127.0.0.1", 0, &opts, &ls, &master) != 0)
    return 1;
  if (!master)
    return worker(ls); /* this process is a worker: main() ran again */
  grove_greenlet *g = grove_spawn(client, master);
  int rc = grove_prefork_run(master, 30); /* until the client stops it */
  printf("master: %s\n", grove_err_name(rc));
  grove_join(g, 5);
  grove_greenlet_release(g);
  grove_prefork_free(master);
  return grove_hub_close() == 0 ? 0 : 1;
}
