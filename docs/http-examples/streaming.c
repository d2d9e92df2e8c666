/* The tutorial's streaming server: the handler yields "<p>Hello" and then
 * "World</p>"; each piece goes out at once, as one chunk. The client prints
 * the body as it arrives on the wire. */
#include <grove.h>
#include <stdio.h>
#include <string.h>

static void application(grove_http_request *req, void *arg) {
  (void)arg;
  grove_http_start(req, 200, "text/html", 10);
  grove_http_write(req, "<p>Hello", 8, 10);
  grove_sleep(0.05); /* whatever the handler does between its pieces */
  grove_http_write(req, "World</p>", 9, 10);
  /* returning finishes the response (the last, empty chunk) */
}

int main(void) {
  grove_socket *ls;
  grove_tcp_listen("127.0.0.1", 0, 0, &ls);
  grove_http_server *srv;
  grove_http_server_new(ls, application, NULL, NULL, &srv);
  grove_http_server_start(srv);

  grove_socket *c;
  grove_tcp_connect("127.0.0.1", grove_http_server_port(srv), &c, 5);
  const char req[] = "GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
  grove_socket_write_all(c, req, strlen(req), NULL, 5);
  char line[256];
  int in_body = 0;
  while (grove_socket_read_line(c, line, sizeof line, 5) > 0) {
    size_t n = strcspn(line, "\r\n");
    line[n] = 0;
    if (in_body && n)
      printf("  %s\n", line); /* chunk sizes (hex) and chunks */
    else if (!n)
      in_body = 1;
    else if (strncmp(line, "HTTP/", 5) == 0 || strncmp(line, "Transfer-Encoding", 17) == 0)
      printf("%s\n", line);
  }
  grove_socket_close(c);
  grove_http_server_free(srv);
  return grove_hub_close() == 0 ? 0 : 1;
}
