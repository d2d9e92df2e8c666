/* legacy_client.c - blocking socket code, unchanged, in greenlets.
 *
 * fetch_greeting() is written as any blocking C client is: getaddrinfo,
 * socket, connect, send, recv, close. Three greenlets call it at once
 * against a grove StreamServer in the same program that answers after
 * 0.2 s. With grove-patch, the calls wait through the hub: the three
 * fetches overlap (about 0.2 s in all), and the server - itself
 * greenlets - keeps serving meanwhile. */
#include <grove.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* ---- a library that knows nothing of grove ---------------------------------- */

static int fetch_greeting(const char *host, const char *port, const char *name, char *out,
                          size_t cap) {
  struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM}, *res;
  if (getaddrinfo(host, port, &hints, &res) != 0)
    return -1;
  int fd = socket(res->ai_family, res->ai_socktype, 0);
  int rc = connect(fd, res->ai_addr, res->ai_addrlen);
  freeaddrinfo(res);
  if (rc != 0 || send(fd, name, strlen(name), 0) < 0) {
    close(fd);
    return -1;
  }
  ssize_t n = recv(fd, out, cap - 1, MSG_WAITALL); /* until the server closes */
  close(fd);
  if (n < 0)
    return -1;
  out[n] = 0;
  return 0;
}

/* ---- the program ------------------------------------------------------------------ */

static void greet(grove_socket *conn, void *arg) {
  char name[32];
  ssize_t n = grove_socket_read(conn, name, sizeof name - 1, 5);
  if (n <= 0)
    return;
  name[n] = 0;
  grove_sleep(0.2);
  char reply[64];
  int len = snprintf(reply, sizeof reply, "hello, %s", name);
  grove_socket_write_all(conn, reply, (size_t)len, NULL, 5);
}

static char port[8];

typedef struct {
  const char *name;
  char answer[64];
} job;

static void *client(void *arg) {
  job *j = arg;
  if (fetch_greeting("localhost", port, j->name, j->answer, sizeof j->answer) != 0)
    snprintf(j->answer, sizeof j->answer, "(failed)");
  return NULL;
}

int main(void) {
  grove_socket *l;
  grove_server *srv;
  if (grove_tcp_listen("127.0.0.1", 0, 0, &l) != 0)
    return 1;
  snprintf(port, sizeof port, "%d", grove_socket_port(l));
  grove_stream_server_new(l, greet, NULL, NULL, &srv);
  grove_server_start(srv);

  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  job jobs[] = {{"ada", ""}, {"grace", ""}, {"linus", ""}};
  grove_greenlet *g[3];
  for (int i = 0; i < 3; i++)
    g[i] = grove_spawn(client, &jobs[i]);
  grove_joinall(g, 3, 10);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  double took = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
  for (int i = 0; i < 3; i++) {
    printf("%s\n", jobs[i].answer);
    grove_greenlet_release(g[i]);
  }
  printf("three fetches of 0.2 s each: %s\n", took < 0.5 ? "together" : "one after another");
  grove_server_free(srv);
  return grove_hub_close() == 0 ? 0 : 1;
}
