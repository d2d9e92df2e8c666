/* 001 "Long Polling 长轮询": a producer fills a Queue, the endpoint streams
 * what it gets; a client reads three lines (see web_long_polling.py). */
#include <grove.h>
#include <stdio.h>
#include <string.h>

static grove_queue *data_source;

static void *producer(void *arg) {
  (void)arg;
  for (;;) {
    grove_queue_put_nowait(data_source, "Hello World");
    if (grove_sleep(0.05) != 0)
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
      continue; /* Empty */
    if (rc)
      return; /* killed by the server's stop */
    char line[64];
    int n = snprintf(line, sizeof line, "\"%s\"\n", (const char *)datum);
    if (grove_http_write(req, line, (size_t)n, 10) != 0)
      return;
  }
}

int main(void) {
  data_source = grove_queue_new(0);
  grove_greenlet *p = grove_spawn(producer, NULL);
  grove_socket *ls;
  grove_tcp_listen("127.0.0.1", 0, 0, &ls);
  grove_http_server *server;
  grove_http_server_new(ls, ajax_endpoint, NULL, NULL, &server);
  grove_http_server_start(server);
  grove_socket *c;
  grove_tcp_connect("127.0.0.1", grove_http_server_port(server), &c, 5);
  const char req[] = "GET /poll HTTP/1.1\r\nHost: localhost\r\n\r\n";
  grove_socket_write_all(c, req, strlen(req), NULL, 5);
  char line[256];
  while (grove_socket_read_line(c, line, sizeof line, 5) > 0 && strcmp(line, "\r\n") != 0) {
  } /* the head */
  for (int i = 0; i < 3; i++) {
    grove_socket_read_line(c, line, sizeof line, 5); /* the chunk's size */
    grove_socket_read_line(c, line, sizeof line, 5);
    line[strcspn(line, "\r\n")] = 0;
    printf("line %d: %s\n", i, line);
    char crlf[8];
    grove_socket_read_line(c, crlf, sizeof crlf, 5); /* the chunk's CRLF */
  }
  grove_socket_close(c);
  grove_http_server_stop(server, 1);
  grove_http_server_free(server);
  grove_kill(p, GROVE_FOREVER);
  grove_greenlet_release(p);
  grove_queue_free(data_source);
  return grove_hub_close() == 0 ? 0 : 1;
}
