/* 001 "Websockets": the WebSocketApp sending {"x": n, "y": 1..5} (a fixed
 * table here) every 0.05 s, five times; a client prints what it receives
 * (see web_websocket.py). */
#include <grove.h>
#include <stdio.h>
#include <string.h>

static const int RANDOM[] = {3, 1, 4, 1, 5};

static void websocket_app(grove_http_request *req, void *arg) {
  (void)arg;
  grove_ws *ws;
  if (grove_ws_upgrade(req, NULL, &ws, 10) != 0)
    return;
  for (int x = 0; x < 5; x++) {
    char data[64];
    int n = snprintf(data, sizeof data, "{\"x\": %d, \"y\": %d}", x, RANDOM[x]);
    grove_ws_send(ws, GROVE_WS_TEXT, data, (size_t)n, 10);
    grove_sleep(0.05);
  }
}

int main(void) {
  grove_socket *ls;
  grove_tcp_listen("127.0.0.1", 0, 0, &ls);
  grove_http_server *server;
  grove_http_server_new(ls, websocket_app, NULL, NULL, &server);
  grove_http_server_start(server);
  char url[64];
  snprintf(url, sizeof url, "ws://127.0.0.1:%d/", grove_http_server_port(server));
  grove_ws *ws;
  if (grove_ws_connect(url, NULL, &ws, 5) == 0)
    printf("HTTP/1.1 101 Switching Protocols\n"); /* grove_ws_connect checked it */
  for (int i = 0; i < 5; i++) {
    const void *msg;
    size_t len;
    if (grove_ws_recv(ws, &msg, &len, 5) != GROVE_WS_TEXT)
      break;
    printf("message: %s\n", (const char *)msg);
  }
  grove_ws_free(ws);
  grove_http_server_stop(server, 1);
  grove_http_server_free(server);
  return grove_hub_close() == 0 ? 0 : 1;
}
