/* The tutorial's long polling: a producer fills a Queue; the endpoint
 * streams each datum it gets as a JSON line, waiting with a timeout and
 * waiting again when nothing came (gevent's Empty). 200 clients poll at
 * once; each reads one line and hangs up. */
#include <grove.h>
#include <stdio.h>
#include <string.h>

static grove_queue *data_source;

static void *producer(void *arg) {
  (void)arg;
  for (;;) {
    grove_queue_put_nowait(data_source, "Hello World");
    if (grove_sleep(0.001) != 0) /* the tutorial: 1 s */
      return NULL;
  }
}

static void ajax_endpoint(grove_http_request *req, void *arg) {
  (void)arg;
  grove_http_start(req, 200, "application/json", 10);
  for (;;) {
    void *datum;
    int rc = grove_queue_get(data_source, &datum, 5);
    if (rc == GROVE_ETIMEDOUT)
      continue; /* Empty: wait again */
    if (rc)
      return; /* killed: the server is stopping */
    char line[64];
    int n = snprintf(line, sizeof line, "\"%s\"\n", (const char *)datum);
    if (grove_http_write(req, line, (size_t)n, 10) != 0)
      return; /* the client hung up */
  }
}

static int port, got;

static void *client(void *arg) {
  (void)arg;
  grove_socket *c;
  if (grove_tcp_connect("127.0.0.1", port, &c, 5) != 0)
    return NULL;
  const char req[] = "GET /poll HTTP/1.1\r\nHost: localhost\r\n\r\n";
  grove_socket_write_all(c, req, strlen(req), NULL, 5);
  char line[256];
  while (grove_socket_read_line(c, line, sizeof line, 10) > 0)
    if (strcmp(line, "\"Hello World\"\n") == 0) {
      got++;
      break;
    }
  grove_socket_close(c);
  return NULL;
}

int main(void) {
  data_source = grove_queue_new(0);
  grove_socket *ls;
  grove_tcp_listen("127.0.0.1", 0, 0, &ls);
  grove_http_server *srv;
  grove_http_server_new(ls, ajax_endpoint, NULL, NULL, &srv);
  grove_http_server_start(srv);
  port = grove_http_server_port(srv);

  grove_greenlet *clients[200];
  for (int i = 0; i < 200; i++)
    clients[i] = grove_spawn(client, NULL);
  grove_greenlet *p = grove_spawn(producer, NULL);
  grove_joinall(clients, 200, 30);
  printf("%d clients got \"Hello World\"\n", got);

  grove_http_server_stop(srv, 1); /* handlers still polling are killed */
  grove_http_server_free(srv);
  grove_kill(p, GROVE_FOREVER);
  grove_greenlet_release(p);
  for (int i = 0; i < 200; i++)
    grove_greenlet_release(clients[i]);
  grove_queue_free(data_source);
  return grove_hub_close() == 0 ? 0 : 1;
}
