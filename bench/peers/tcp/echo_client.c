/* grove-echo-client: the load generator for tcp_echo and tcp_connections.
 *
 *   grove-echo-client HOST PORT CONNS MSGSIZE SECONDS
 *       Opens CONNS connections; each sends MSGSIZE bytes, waits for the
 *       whole echo, checks it, and sends again. After SECONDS (timed from
 *       the moment every connection is up) prints `tcp_echo VALUE req/s`:
 *       the completed round trips of all connections per second.
 *   grove-echo-client --memory PID HOST PORT CONNS
 *       Opens CONNS connections and does one 64-byte round trip on each, so
 *       the server holds whatever it keeps per connection; prints
 *       `tcp_connections VALUE B/conn`: the growth of the server's resident
 *       memory (process PID, from /proc/PID/statm) divided by CONNS.
 *
 * Single-threaded libuv; exits 1 on a wrong echo, a refused or dropped
 * connection. */
#include <uv.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
  uv_tcp_t tcp;
  uv_connect_t connect;
  uv_write_t write;
  size_t got;      /* bytes of the current echo received */
  uint32_t serial; /* stamped into each message, so a stale echo shows */
  int writing;     /* the write request is still ours until on_write */
  int resend;      /* the echo came back before on_write: send from there */
  char *out, *in;
} conn;

static uv_loop_t *loop;
static conn *conns;
static long nconns, connected, msg_size, one_shot, finished;
static uint64_t completed;
static int stopping;

static void fail(const char *what, int rc) {
  fprintf(stderr, "grove-echo-client: %s: %s\n", what, rc ? uv_strerror(rc) : "wrong echo");
  exit(1);
}

static void send_one(conn *c);

static void on_write(uv_write_t *req, int status) {
  conn *c = req->data;
  if (status < 0 && !stopping)
    fail("write", status);
  c->writing = 0;
  if (c->resend && !stopping) {
    c->resend = 0;
    send_one(c);
  }
}

static void send_one(conn *c) {
  if (c->writing) { /* libuv calls on_write a loop turn after the write */
    c->resend = 1;
    return;
  }
  c->writing = 1;
  c->serial++;
  memcpy(c->out, &c->serial, sizeof c->serial);
  uv_buf_t buf = uv_buf_init(c->out, (unsigned)msg_size);
  int rc = uv_write(&c->write, (uv_stream_t *)&c->tcp, &buf, 1, on_write);
  if (rc < 0)
    fail("write", rc);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  (void)suggested;
  conn *c = h->data;
  buf->base = c->in + c->got;
  buf->len = msg_size - c->got;
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  (void)buf;
  conn *c = s->data;
  if (n < 0) {
    if (!stopping)
      fail("read", (int)n);
    return;
  }
  c->got += (size_t)n;
  if (c->got < (size_t)msg_size)
    return;
  if (memcmp(c->in, c->out, msg_size) != 0)
    fail("echo", 0);
  c->got = 0;
  completed++;
  if (one_shot) {
    uv_read_stop(s);
    finished++;
    if (finished == nconns)
      uv_stop(loop);
    return;
  }
  if (!stopping)
    send_one(c);
}

static void on_connect(uv_connect_t *req, int status) {
  conn *c = req->data;
  if (status < 0)
    fail("connect", status);
  uv_tcp_nodelay(&c->tcp, 1);
  uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
  if (++connected == nconns)
    uv_stop(loop); /* every connection is up: the timed part starts */
}

static void on_timer(uv_timer_t *t) {
  (void)t;
  stopping = 1;
  uv_stop(loop);
}

static void open_all(const char *host, int port) {
  struct sockaddr_in addr;
  if (uv_ip4_addr(host, port, &addr) != 0)
    fail("address", UV_EINVAL);
  conns = calloc((size_t)nconns, sizeof *conns);
  for (long i = 0; i < nconns; i++) {
    conn *c = &conns[i];
    c->out = malloc(msg_size);
    c->in = malloc(msg_size);
    memset(c->out, 'a' + (int)(i % 26), msg_size);
    uv_tcp_init(loop, &c->tcp);
    c->tcp.data = c;
    c->connect.data = c;
    c->write.data = c;
    int rc = uv_tcp_connect(&c->connect, &c->tcp, (const struct sockaddr *)&addr, on_connect);
    if (rc < 0)
      fail("connect", rc);
  }
  uv_run(loop, UV_RUN_DEFAULT); /* until every connection is up */
}

static long rss_of(long pid) {
  char path[64];
  long pages = 0, res = 0;
  snprintf(path, sizeof path, "/proc/%ld/statm", pid);
  FILE *f = fopen(path, "r");
  if (!f || fscanf(f, "%ld %ld", &pages, &res) != 2) {
    fprintf(stderr, "grove-echo-client: cannot read %s\n", path);
    exit(1);
  }
  fclose(f);
  return res * sysconf(_SC_PAGESIZE);
}

int main(int argc, char **argv) {
  loop = uv_default_loop();
  if (argc == 6 && strcmp(argv[1], "--memory") == 0) {
    long pid = atol(argv[2]);
    nconns = atol(argv[5]);
    msg_size = 64;
    one_shot = 1;
    long rss0 = rss_of(pid);
    open_all(argv[3], atoi(argv[4]));
    for (long i = 0; i < nconns; i++)
      send_one(&conns[i]);
    uv_run(loop, UV_RUN_DEFAULT); /* until every connection has had its echo */
    usleep(100000);               /* let the server settle */
    long rss1 = rss_of(pid);
    printf("tcp_connections %.0f B/conn\n", (double)(rss1 - rss0) / (double)nconns);
    return 0; /* exiting closes every connection */
  }
  if (argc != 6) {
    fprintf(stderr, "usage: grove-echo-client HOST PORT CONNS MSGSIZE SECONDS\n"
                    "       grove-echo-client --memory SERVER_PID HOST PORT CONNS\n");
    return 2;
  }
  nconns = atol(argv[3]);
  msg_size = atol(argv[4]);
  double seconds = atof(argv[5]);
  if (nconns <= 0 || msg_size < (long)sizeof(uint32_t) || seconds <= 0) {
    fprintf(stderr, "grove-echo-client: CONNS > 0, MSGSIZE >= 4 and SECONDS > 0\n");
    return 2;
  }
  open_all(argv[1], atoi(argv[2]));
  uv_timer_t timer;
  uv_timer_init(loop, &timer);
  uv_update_time(loop);
  uint64_t t0 = uv_hrtime();
  uv_timer_start(&timer, on_timer, (uint64_t)(seconds * 1000), 0);
  for (long i = 0; i < nconns; i++)
    send_one(&conns[i]);
  uv_run(loop, UV_RUN_DEFAULT);
  double dt = (double)(uv_hrtime() - t0) / 1e9;
  if (completed == 0)
    fail("no round trip completed", 0);
  printf("tcp_echo %.0f req/s\n", (double)completed / dt);
  return 0;
}
