/* The tutorial's WebSocket feed ({"x": n, "y": ...} every 0.5 s; here a
 * fixed y and 0.05 s) and an echo, on one server; a grove client reads the
 * feed, then talks to the echo and closes with a code of its own. */
#include <grove.h>
#include <stdio.h>
#include <string.h>

static void app(grove_http_request *req, void *arg) {
  (void)arg;
  grove_ws *ws;
  if (grove_ws_upgrade(req, NULL, &ws, 10) != 0)
    return; /* not a WebSocket request: answered 400 */
  if (strcmp(grove_http_path(req), "/feed") == 0) {
    for (int x = 0; x < 3; x++) {
      char data[64];
      int n = snprintf(data, sizeof data, "{\"x\": %d, \"y\": %d}", x, x % 5 + 1);
      grove_ws_send(ws, GROVE_WS_TEXT, data, (size_t)n, 10);
      grove_sleep(0.05);
    }
    return; /* the server closes it: 1000 */
  }
  const void *msg;
  size_t len;
  int type;
  while ((type = grove_ws_recv(ws, &msg, &len, 60)) > 0) /* GROVE_EOF: closed */
    grove_ws_send(ws, type, msg, len, 10);
  printf("server: the client closed with %d\n", grove_ws_close_code(ws));
}

int main(void) {
  grove_socket *ls;
  grove_tcp_listen("127.0.0.1", 0, 0, &ls);
  grove_http_server *srv;
  grove_http_server_new(ls, app, NULL, NULL, &srv);
  grove_http_server_start(srv);
  char url[64];
  const void *msg;
  size_t len;

  grove_ws *ws;
  snprintf(url, sizeof url, "ws://127.0.0.1:%d/feed", grove_http_server_port(srv));
  grove_ws_connect(url, NULL, &ws, 5);
  while (grove_ws_recv(ws, &msg, &len, 5) == GROVE_WS_TEXT)
    printf("feed: %s\n", (const char *)msg);
  printf("feed closed: %d\n", grove_ws_close_code(ws));
  grove_ws_free(ws);

  snprintf(url, sizeof url, "ws://127.0.0.1:%d/echo", grove_http_server_port(srv));
  grove_ws_connect(url, NULL, &ws, 5);
  grove_ws_send(ws, GROVE_WS_TEXT, "hello", 5, 5);
  grove_ws_recv(ws, &msg, &len, 5);
  printf("echo: %s\n", (const char *)msg);
  grove_ws_send_frame(ws, GROVE_WS_BINARY, false, "\x01\x02", 2, 5); /* in two fragments */
  grove_ws_send_frame(ws, GROVE_WS_CONTINUATION, true, "\x03", 1, 5);
  int type = grove_ws_recv(ws, &msg, &len, 5);
  printf("echo: %s message of %zu bytes\n", type == GROVE_WS_BINARY ? "binary" : "text", len);
  grove_ws_close(ws, 4000, "done", 5);
  grove_ws_free(ws);

  grove_http_server_stop(srv, 5);
  grove_http_server_free(srv);
  return grove_hub_close() == 0 ? 0 : 1;
}
