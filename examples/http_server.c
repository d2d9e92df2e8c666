/* examples/http_server.c - the gevent tutorial's web programs in one
 * server, on grove's HTTP server (fixed, so that programs outside the
 * project can drive it).
 *
 *   http_server --port N [--processes N | --hubs N] [--host H] [--cert PEM --key PEM]
 *
 *   /            the Hello World page (the tutorial's first WSGI server)
 *   /stream      the streaming handler: "<p>Hello" and "World</p>", two chunks
 *   /poll        long polling: a producer puts "Hello World" into a Queue
 *                every second; the handler streams each datum it gets as a
 *                JSON line, waiting with a timeout of 5 s
 *   /ws          the WebSocket feed: {"x": n, "y": 1..5} every 0.5 s
 *   /ws/echo     a WebSocket that echoes every message, text or binary
 *   /index.html  the tutorial's page, its WebSocket pointed at /ws
 *
 * It prints "listening on N" (N: the port; --port 0 picks one) once it
 * accepts, and stops cleanly on SIGTERM or SIGINT. --processes N serves from
 * N pre-forked worker processes sharing the socket (the tutorial's
 * multi-process server); --hubs N from N hubs in this process, one per core,
 * accepting on the one socket (0: one per CPU); --cert and --key serve HTTPS
 * and WSS instead.
 *
 *   http_server --demo
 *
 * serves on a free port and visits every path itself with grove clients,
 * printing what it gets (make demo; the ctest test examples/http_server).
 */
#include <grove.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char hello_page[] = "<p>Hello World</p>";

/* The tutorial's page: jQuery from /jquery.min.js (Debian's libjs-jquery
 * when installed, else a few lines that do what the page needs). */
static const char index_page[] =
    "<html>\n"
    "<head>\n"
    "<title>Minimal websocket application</title>\n"
    "<script type=\"text/javascript\" src=\"jquery.min.js\"></script>\n"
    "<script type=\"text/javascript\">\n"
    "$(function() {\n"
    "    // Open up a connection to our server\n"
    "    var ws = new WebSocket((location.protocol == \"https:\" ? \"wss://\" : \"ws://\") +\n"
    "                           location.host + \"/ws\");\n"
    "    // What do we do when we get a message?\n"
    "    ws.onmessage = function(evt) {\n"
    "        $(\"#placeholder\").append('<p>' + evt.data + '</p>')\n"
    "    }\n"
    "    // Just update our conn_status field with the connection status\n"
    "    ws.onopen = function(evt) {\n"
    "        $('#conn_status').html('<b>Connected</b>');\n"
    "    }\n"
    "    ws.onerror = function(evt) {\n"
    "        $('#conn_status').html('<b>Error</b>');\n"
    "    }\n"
    "    ws.onclose = function(evt) {\n"
    "        $('#conn_status').html('<b>Closed</b>');\n"
    "    }\n"
    "});\n"
    "</script>\n"
    "</head>\n"
    "<body>\n"
    "    <h1>WebSocket Example</h1>\n"
    "    <div id=\"conn_status\">Not Connected</div>\n"
    "    <div id=\"placeholder\" style=\"width:600px;height:300px;\"></div>\n"
    "</body>\n"
    "</html>\n";

static const char jquery_shim[] =
    "function $(a){if(typeof a=='function'){document.addEventListener('DOMContentLoaded',a);"
    "return;}var e=document.querySelector(a);return{append:function(h){e.insertAdjacentHTML("
    "'beforeend',h);},html:function(h){e.innerHTML=h;}};}\n";

static _Atomic bool stopping; /* SIGTERM: the feeds end their loops */
static char *jquery;
static size_t jquery_len;
/* Each hub has its own (with --hubs the handlers run on every hub, and a
 * queue belongs to the hub that made it): the long-poll queue and the
 * producer filling it. */
static _Thread_local grove_queue *data_source;
static _Thread_local grove_greenlet *data_producer;

static void load_jquery(void) {
  FILE *f = fopen("/usr/share/javascript/jquery/jquery.min.js", "rb");
  if (f) {
    if (fseek(f, 0, SEEK_END) == 0) {
      long n = ftell(f);
      rewind(f);
      if (n > 0 && (jquery = malloc((size_t)n)) && fread(jquery, 1, (size_t)n, f) == (size_t)n)
        jquery_len = (size_t)n;
    }
    fclose(f);
  }
  if (!jquery_len) {
    free(jquery);
    jquery = NULL;
  }
}

/* ---- the handlers ------------------------------------------------------------------------- */

static void *producer(void *arg) {
  (void)arg;
  for (;;) {
    grove_queue_put_nowait(data_source, "Hello World");
    if (grove_sleep(1) != 0)
      return NULL;
  }
}

static void ajax_endpoint(grove_http_request *req) {
  if (grove_http_start(req, 200, "application/json", 10) != 0)
    return;
  for (;;) {
    void *datum;
    int rc = grove_queue_get(data_source, &datum, 5);
    if (rc == GROVE_ETIMEDOUT)
      continue; /* Empty */
    if (rc)
      return; /* the server is stopping */
    char line[64];
    int n = snprintf(line, sizeof line, "\"%s\"\n", (const char *)datum);
    if (grove_http_write(req, line, (size_t)n, 10) != 0)
      return; /* the client is gone */
  }
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The tutorial's WebSocketApp. It waits between messages in grove_ws_recv
 * rather than a plain sleep, so that a client's close frame is answered at
 * once (the tutorial's handler never reads; gevent-websocket's would keep
 * sending into a closing connection). */
static void ws_feed(grove_http_request *req) {
  grove_ws *ws;
  if (grove_ws_upgrade(req, NULL, &ws, 10) != 0)
    return;
  double next = now_s();
  for (int x = 0; !stopping; x++) {
    char data[64];
    int n = snprintf(data, sizeof data, "{\"x\": %d, \"y\": %d}", x, 1 + rand() % 5);
    if (grove_ws_send(ws, GROVE_WS_TEXT, data, (size_t)n, 10) != 0)
      return;
    next += 0.5;
    for (double left; (left = next - now_s()) > 0;) {
      const void *msg;
      size_t len;
      int rc = grove_ws_recv(ws, &msg, &len, left); /* what the client says is ignored */
      if (rc < 0 && rc != GROVE_ETIMEDOUT)
        return; /* closed (the close was answered), or broken */
    }
  }
}

static void ws_echo(grove_http_request *req) {
  grove_ws *ws;
  if (grove_ws_upgrade(req, NULL, &ws, 10) != 0)
    return;
  for (;;) {
    const void *data;
    size_t len;
    int type = grove_ws_recv(ws, &data, &len, GROVE_FOREVER);
    if (type < 0)
      return; /* closed (answered), or broken */
    if (grove_ws_send(ws, type, data, len, 10) != 0)
      return;
  }
}

static void handle(grove_http_request *req, void *arg) {
  (void)arg;
  const char *path = grove_http_path(req);
  if (strcmp(path, "/") == 0) {
    grove_http_respond(req, 200, "text/html", hello_page, sizeof hello_page - 1, 10);
  } else if (strcmp(path, "/stream") == 0) {
    if (grove_http_start(req, 200, "text/html", 10) == 0 &&
        grove_http_write(req, "<p>Hello", 8, 10) == 0)
      grove_http_write(req, "World</p>", 9, 10);
  } else if (strcmp(path, "/poll") == 0) {
    ajax_endpoint(req);
  } else if (strcmp(path, "/ws") == 0) {
    ws_feed(req);
  } else if (strcmp(path, "/ws/echo") == 0) {
    ws_echo(req);
  } else if (strcmp(path, "/index.html") == 0) {
    grove_http_respond(req, 200, "text/html", index_page, sizeof index_page - 1, 10);
  } else if (strcmp(path, "/jquery.min.js") == 0) {
    if (jquery)
      grove_http_respond(req, 200, "application/javascript", jquery, jquery_len, 10);
    else
      grove_http_respond(req, 200, "application/javascript", jquery_shim, sizeof jquery_shim - 1,
                         10);
  } else {
    static const char nf[] = "Not Found\n";
    grove_http_respond(req, 404, "text/plain", nf, sizeof nf - 1, 10);
  }
}

/* ---- --demo: visit every path ---------------------------------------------------------- */

/* GET path with Connection: close; print the body as it comes (raw, so the
 * chunks show), stopping after `lines` newlines if lines > 0. */
static int visit(int port, const char *path, int lines) {
  grove_socket *s;
  int rc = grove_tcp_connect("127.0.0.1", port, &s, 5);
  if (rc)
    return rc;
  char req[256];
  int n = snprintf(req, sizeof req,
                   "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", path);
  rc = grove_socket_write_all(s, req, (size_t)n, NULL, 5);
  char buf[4096];
  size_t got = 0;
  while (rc == 0 && got < sizeof buf - 1) {
    ssize_t k = grove_socket_read(s, buf + got, sizeof buf - 1 - got, 5);
    if (k <= 0) {
      rc = k < 0 ? (int)k : 0;
      break;
    }
    got += (size_t)k;
    buf[got] = 0;
    char *body = strstr(buf, "\r\n\r\n");
    if (lines > 0 && body) {
      int seen = 0;
      for (char *p = body + 4; *p; p++)
        seen += *p == '\n';
      if (seen >= lines)
        break;
    }
  }
  buf[got] = 0;
  char *body = strstr(buf, "\r\n\r\n");
  char *eol = strstr(buf, "\r\n");
  if (!body || !eol) {
    grove_socket_close(s);
    return rc ? rc : GROVE_EPROTO;
  }
  printf("GET %s -> %.*s\n", path, (int)(eol - buf), buf);
  printf("%s%s", body + 4, body[4] && buf[got - 1] != '\n' ? "\n" : "");
  grove_socket_close(s);
  return rc;
}

static int demo(void) {
  grove_socket *ls;
  int rc = grove_tcp_listen("127.0.0.1", 0, 0, &ls);
  if (rc)
    return rc;
  data_source = grove_queue_new(0);
  grove_greenlet *prod = grove_spawn(producer, NULL);
  grove_http_server *srv;
  if ((rc = grove_http_server_new(ls, handle, NULL, NULL, &srv)) != 0 ||
      (rc = grove_http_server_start(srv)) != 0)
    return rc;
  int port = grove_http_server_port(srv);
  printf("listening on %d\n", port);
  if (!rc)
    rc = visit(port, "/", 0);
  if (!rc)
    rc = visit(port, "/stream", 0);
  if (!rc)
    rc = visit(port, "/poll", 2);
  char url[64];
  grove_ws *ws = NULL;
  snprintf(url, sizeof url, "ws://127.0.0.1:%d/ws", port);
  if (!rc)
    rc = grove_ws_connect(url, NULL, &ws, 5);
  if (!rc)
    printf("WebSocket %s:\n", "/ws");
  for (int i = 0; !rc && i < 3; i++) {
    const void *data;
    size_t len;
    int type = grove_ws_recv(ws, &data, &len, 5);
    if (type < 0)
      rc = type;
    else if (strncmp(data, "{\"x\": ", 6) != 0)
      rc = GROVE_EPROTO;
    else
      printf("  %.*s\n", (int)len, (const char *)data);
  }
  if (ws)
    grove_ws_close(ws, GROVE_WS_NORMAL, NULL, 2);
  grove_ws_free(ws);
  ws = NULL;
  snprintf(url, sizeof url, "ws://127.0.0.1:%d/ws/echo", port);
  if (!rc)
    rc = grove_ws_connect(url, NULL, &ws, 5);
  if (!rc)
    printf("WebSocket %s:\n", "/ws/echo");
  const char bin[] = {0, 1, 2, (char)0xff};
  for (int i = 0; !rc && i < 2; i++) {
    int type = i ? GROVE_WS_BINARY : GROVE_WS_TEXT;
    const char *msg = i ? bin : "hello, echo";
    size_t mlen = i ? sizeof bin : strlen(msg);
    const void *data;
    size_t len;
    if ((rc = grove_ws_send(ws, type, msg, mlen, 5)) != 0)
      break;
    int got = grove_ws_recv(ws, &data, &len, 5);
    if (got != type || len != mlen || memcmp(data, msg, len) != 0)
      rc = got < 0 ? got : GROVE_EPROTO;
    else
      printf("  %s message of %zu bytes echoed\n", i ? "binary" : "text", len);
  }
  if (ws && !rc)
    rc = grove_ws_close(ws, GROVE_WS_NORMAL, "bye", 2);
  grove_ws_free(ws);
  grove_http_server_stop(srv, 1);
  grove_http_stats st;
  grove_http_server_stats(srv, &st);
  printf("served %llu requests on %llu connections, %llu WebSockets\n",
         (unsigned long long)st.requests, (unsigned long long)st.connections,
         (unsigned long long)st.upgrades);
  grove_http_server_free(srv);
  grove_kill(prod, GROVE_FOREVER);
  grove_greenlet_release(prod);
  grove_queue_free(data_source);
  return rc;
}

/* ---- main ------------------------------------------------------------------------------------ */

static grove_event *stop_event;

static void *on_signal(void *arg) {
  (void)arg;
  stopping = true;
  grove_event_set(stop_event);
  return NULL;
}

static int usage(void) {
  fprintf(stderr,
          "usage: http_server --port N [--processes N | --hubs N] [--host H] [--cert PEM --key "
          "PEM]\n");
  return 2;
}

/* What each serving hub needs of its own: the long-poll queue and its
 * producer (run on every hub with grove_hub_call_on). */
static void *hub_setup(void *arg) {
  (void)arg;
  data_source = grove_queue_new(0);
  data_producer = grove_spawn(producer, NULL);
  return NULL;
}

static void *hub_teardown(void *arg) {
  (void)arg;
  grove_kill(data_producer, GROVE_FOREVER);
  grove_greenlet_release(data_producer);
  grove_queue_free(data_source);
  data_producer = NULL;
  data_source = NULL;
  return NULL;
}

/* Serve on ls until SIGTERM or SIGINT: one server on this hub, or with
 * hubs > 0 (or hubs == 0 and multi: one per CPU) a server on every hub. */
static int serve(grove_socket *ls, grove_tls_ctx *tls, bool announce, bool multi, size_t hubs) {
  int rc = multi ? grove_hubs_start(hubs) : 0;
  if (rc) {
    fprintf(stderr, "http_server: --hubs %zu: %s\n", hubs, grove_strerror(rc));
    grove_socket_close(ls);
    return 1;
  }
  stop_event = grove_event_new();
  for (size_t i = 0; i < grove_hub_count(); i++)
    grove_hub_call_on(i, hub_setup, NULL, NULL, 10);
  grove_signal_handler *h1 = grove_signal_handle(SIGTERM, on_signal, NULL);
  grove_signal_handler *h2 = grove_signal_handle(SIGINT, on_signal, NULL);
  grove_http_config cfg = {.tls = tls};
  grove_http_hubs *srv;
  rc = grove_http_serve_hubs(ls, handle, NULL, &cfg, &srv);
  if (rc) {
    fprintf(stderr, "http_server: %s\n", grove_strerror(rc));
  } else {
    if (announce) {
      printf("listening on %d\n", grove_http_hubs_port(srv));
      fflush(stdout);
    }
    grove_event_wait(stop_event, GROVE_FOREVER);
    grove_http_hubs_stop(srv, 1);
    grove_http_hubs_free(srv);
  }
  for (size_t i = 0; i < grove_hub_count(); i++)
    grove_hub_call_on(i, hub_teardown, NULL, NULL, 10);
  grove_signal_handler_cancel(h1);
  grove_signal_handler_cancel(h2);
  grove_event_free(stop_event);
  if (multi && grove_hubs_stop(5) != 0)
    rc = GROVE_EBUSY;
  return rc ? 1 : 0;
}

int main(int argc, char **argv) {
  if (argc == 2 && strcmp(argv[1], "--demo") == 0) {
    load_jquery();
    int rc = demo();
    free(jquery);
    if (rc)
      fprintf(stderr, "http_server --demo: %s\n", grove_strerror(rc));
    return rc == 0 && grove_hub_close() == 0 ? 0 : 1;
  }
  int port = -1, processes = 0, hubs = -1;
  const char *host = "127.0.0.1", *cert = NULL, *key = NULL;
  for (int i = 1; i < argc; i++) {
    if (i + 1 < argc && strcmp(argv[i], "--port") == 0)
      port = atoi(argv[++i]);
    else if (i + 1 < argc && strcmp(argv[i], "--processes") == 0)
      processes = atoi(argv[++i]);
    else if (i + 1 < argc && strcmp(argv[i], "--hubs") == 0)
      hubs = atoi(argv[++i]);
    else if (i + 1 < argc && strcmp(argv[i], "--host") == 0)
      host = argv[++i];
    else if (i + 1 < argc && strcmp(argv[i], "--cert") == 0)
      cert = argv[++i];
    else if (i + 1 < argc && strcmp(argv[i], "--key") == 0)
      key = argv[++i];
    else
      return usage();
  }
  if (port < 0 || port > 65535 || processes < 0 || hubs < -1 || hubs > 1024 ||
      (processes > 0 && hubs >= 0) || !cert != !key)
    return usage();
  srand((unsigned)getpid());
  load_jquery();
  grove_tls_ctx *tls = NULL;
  if (cert) {
    int rc = grove_tls_server_ctx_new(cert, key, &tls);
    if (rc) {
      fprintf(stderr, "http_server: %s / %s: %s\n", cert, key, grove_strerror(rc));
      return 1;
    }
  }
  int status;
  if (processes > 0) {
    grove_prefork_opts opts = {.processes = processes, .stop_timeout = 5};
    grove_socket *ls;
    grove_prefork *master;
    int rc = grove_prefork_listen(host, port, &opts, &ls, &master);
    if (rc) {
      fprintf(stderr, "http_server: %s:%d: %s\n", host, port, grove_strerror(rc));
      status = 1;
    } else if (master) {
      printf("listening on %d\n", grove_prefork_port(master));
      fflush(stdout);
      rc = grove_prefork_run(master, GROVE_FOREVER);
      grove_prefork_free(master);
      status = rc ? 1 : 0;
    } else {
      status = serve(ls, tls, false, false, 0);
    }
  } else {
    grove_socket *ls;
    int rc = grove_tcp_listen(host, port, 0, &ls);
    if (rc) {
      fprintf(stderr, "http_server: %s:%d: %s\n", host, port, grove_strerror(rc));
      status = 1;
    } else {
      status = serve(ls, tls, true, hubs >= 0, hubs >= 0 ? (size_t)hubs : 0);
    }
  }
  grove_tls_ctx_free(tls);
  free(jquery);
  if (grove_hub_close() != 0)
    status = 1;
  return status;
}
