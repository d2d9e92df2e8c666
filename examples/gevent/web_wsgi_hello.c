/* 001 "WSGI 服务器": application_1 ("Hello, World!" as text/plain) on
 * grove's HTTP server; a client fetches it (see web_wsgi_hello.py). */
#include <grove.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* A small HTTP/1.1 client (GET or POST with Connection: close): prints the
 * status line, Content-Type and the body chunk by chunk if show; the body
 * goes to out. */
static void fetch(int port, const char *path, const char *method, const char *body, int show,
                  char *out, size_t cap) {
  out[0] = 0;
  grove_socket *c;
  if (grove_tcp_connect("127.0.0.1", port, &c, 5) != 0)
    return;
  char head[512];
  int n = snprintf(head, sizeof head, "%s %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n",
                   method, path);
  if (strcmp(method, "POST") == 0)
    n += snprintf(head + n, sizeof head - (size_t)n,
                  "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: %zu\r\n",
                  strlen(body));
  n += snprintf(head + n, sizeof head - (size_t)n, "\r\n%s", body);
  grove_socket_write_all(c, head, (size_t)n, NULL, 5);
  size_t got = 0, size = 16384;
  char *data = malloc(size);
  ssize_t k;
  while ((k = grove_socket_read(c, data + got, size - 1 - got, 5)) > 0)
    got += (size_t)k;
  data[got] = 0;
  grove_socket_close(c);
  char *rest = strstr(data, "\r\n\r\n");
  if (!rest) {
    free(data);
    return;
  }
  *rest = 0;
  rest += 4;
  char ctype[64] = "None";
  int chunked = 0;
  for (char *line = strstr(data, "\r\n"); line; line = strstr(line, "\r\n")) {
    line += 2;
    if (strncasecmp(line, "Content-Type: ", 14) == 0)
      snprintf(ctype, sizeof ctype, "%.*s", (int)strcspn(line + 14, "\r"), line + 14);
    if (strncasecmp(line, "Transfer-Encoding: chunked", 26) == 0)
      chunked = 1;
  }
  if (show) {
    printf("%.*s\n", (int)strcspn(data, "\r"), data);
    printf("Content-Type: %s\n", ctype);
  }
  size_t len = 0;
  while (*rest) {
    size_t csize = chunked ? strtoul(rest, &rest, 16) : strlen(rest);
    if (chunked)
      rest += 2;
    if (csize == 0)
      break;
    if (show)
      printf("chunk: %.*s\n", (int)csize, rest);
    if (len + csize < cap) {
      memcpy(out + len, rest, csize);
      out[len += csize] = 0;
    }
    rest += csize + (chunked ? 2 : 0);
    if (!chunked)
      break;
  }
  free(data);
}

static void application_1(grove_http_request *req, void *arg) {
  (void)arg;
  grove_http_respond(req, 200, "text/plain", "Hello, World!", 13, 10);
}

int main(void) {
  grove_socket *ls;
  grove_tcp_listen("127.0.0.1", 0, 0, &ls);
  grove_http_server *http_server;
  grove_http_server_new(ls, application_1, NULL, NULL, &http_server);
  grove_http_server_start(http_server);
  char body[256];
  fetch(grove_http_server_port(http_server), "/", "GET", "", 1, body, sizeof body);
  grove_http_server_free(http_server);
  return grove_hub_close() == 0 ? 0 : 1;
}
