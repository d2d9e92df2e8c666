/* uv-echo-server: a plain single-threaded libuv TCP echo server, the
 * "no runtime at all" row of tcp_echo (grove's server should come within
 * 1.5x of it).
 *
 *   uv-echo-server PORT
 *
 * Listens on 127.0.0.1:PORT and writes back whatever each connection sends.
 * Reads land in one static buffer (one thread, one read at a time) and go
 * straight back with uv_try_write; only what the socket does not take at
 * once is copied into a write request that owns it until its callback. So a
 * connection costs its uv_tcp_t and nothing else while idle. Runs until
 * killed. */
#include <uv.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  uv_write_t req;
  char data[]; /* the bytes the socket did not take at once */
} write_req;

static char rbuf[64 * 1024];

static void on_close(uv_handle_t *h) { free(h); }

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  (void)h;
  (void)suggested;
  *buf = uv_buf_init(rbuf, sizeof rbuf);
}

static void on_write(uv_write_t *req, int status) {
  (void)status; /* a failed write: the read side sees the error and closes */
  free(req);
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  if (n < 0) {
    if (!uv_is_closing((uv_handle_t *)s))
      uv_close((uv_handle_t *)s, on_close);
    return;
  }
  uv_buf_t out = uv_buf_init(buf->base, (unsigned)n);
  int done = uv_try_write(s, &out, 1);
  if (done == n)
    return;
  if (done < 0 && done != UV_EAGAIN) {
    uv_close((uv_handle_t *)s, on_close);
    return;
  }
  if (done < 0)
    done = 0;
  size_t left = (size_t)n - (size_t)done;
  write_req *w = malloc(sizeof *w + left);
  memcpy(w->data, buf->base + done, left);
  out = uv_buf_init(w->data, (unsigned)left);
  if (uv_write(&w->req, s, &out, 1, on_write) != 0) {
    free(w);
    uv_close((uv_handle_t *)s, on_close);
  }
}

static void on_connection(uv_stream_t *server, int status) {
  if (status < 0)
    return;
  uv_tcp_t *c = malloc(sizeof *c);
  uv_tcp_init(server->loop, c);
  if (uv_accept(server, (uv_stream_t *)c) == 0) {
    uv_tcp_nodelay(c, 1);
    uv_read_start((uv_stream_t *)c, on_alloc, on_read);
  } else {
    uv_close((uv_handle_t *)c, on_close);
  }
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: uv-echo-server PORT\n");
    return 2;
  }
  uv_loop_t *loop = uv_default_loop();
  uv_tcp_t server;
  struct sockaddr_in addr;
  uv_tcp_init(loop, &server);
  uv_ip4_addr("127.0.0.1", atoi(argv[1]), &addr);
  int rc = uv_tcp_bind(&server, (const struct sockaddr *)&addr, 0);
  if (rc == 0)
    rc = uv_listen((uv_stream_t *)&server, 1024, on_connection);
  if (rc != 0) {
    fprintf(stderr, "uv-echo-server: %s\n", uv_strerror(rc));
    return 1;
  }
  return uv_run(loop, UV_RUN_DEFAULT);
}
