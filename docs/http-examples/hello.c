/* The tutorial's first WSGI server (application_1): every request gets
 * "Hello, World!" as text/plain. A client in the same program fetches it
 * twice over one keep-alive connection. */
#include <grove.h>
#include <stdio.h>
#include <string.h>

static void application(grove_http_request *req, void *arg) {
  (void)arg;
  grove_http_respond(req, 200, "text/plain", "Hello, World!", 13, 10);
}

int main(void) {
  grove_socket *ls;
  grove_tcp_listen("127.0.0.1", 0, 0, &ls); /* port 0: any free one */
  grove_http_server *srv;
  grove_http_server_new(ls, application, NULL, NULL, &srv);
  grove_http_server_start(srv);

  grove_socket *c;
  grove_tcp_connect("127.0.0.1", grove_http_server_port(srv), &c, 5);
  const char req[] = "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n";
  for (int i = 0; i < 2; i++) {
    grove_socket_write_all(c, req, strlen(req), NULL, 5);
    char line[256];
    while (grove_socket_read_line(c, line, sizeof line, 5) > 2) { /* the head */
      line[strcspn(line, "\r\n")] = 0;
      printf("%s\n", line);
    }
    char body[14] = {0};
    grove_socket_read_exactly(c, body, 13, NULL, 5);
    printf("body: %s\n", body);
  }
  grove_socket_close(c);

  grove_http_stats st;
  grove_http_server_stats(srv, &st);
  printf("%llu requests on %llu connection\n", (unsigned long long)st.requests,
         (unsigned long long)st.connections);
  grove_http_server_free(srv);
  return grove_hub_close() == 0 ? 0 : 1;
}
