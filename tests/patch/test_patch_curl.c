/* tests/patch/test_patch_curl.c - libcurl's blocking easy API, 100
 * transfers in 100 greenlets at once.
 *
 * A grove StreamServer in the same process answers every HTTP request
 * after 0.2 s (a tiny responder written for this test: it reads the
 * request head, sleeps, answers with a body naming the path, closes).
 * Each of 100 greenlets runs curl_easy_perform on its own easy handle - a
 * call that blocks in poll, connect, send and recv. With the patch those
 * wait through the hub, so the 100 transfers overlap: the whole run takes
 * about one request's 0.2 s, where one after another would take 20 s.
 * Each greenlet checks the body it got.
 *
 * Skipped (77) when the test was built without libcurl
 * (libcurl4-openssl-dev). */
#include "test.h"

#include <grove/patch.h>

TEST_WATCHDOG(100)

#ifndef GROVE_HAVE_CURL
int main(void) {
  printf("SKIP patch_curl: built without libcurl (install libcurl4-openssl-dev)\n");
  return 77;
}
#else
#include <curl/curl.h>

#define N 100
#define DELAY 0.2

/* ---- the responder ----------------------------------------------------------------------- */

static void respond(grove_socket *conn, void *arg) {
  (void)arg;
  char line[1024], path[256] = "";
  /* The request line and headers, up to the empty line. */
  for (int i = 0; i < 100; i++) {
    ssize_t n = grove_socket_read_line(conn, line, sizeof line, 10);
    if (n <= 0)
      return;
    if (i == 0 && sscanf(line, "GET %255s", path) != 1)
      return;
    if (strcmp(line, "\r\n") == 0 || strcmp(line, "\n") == 0)
      break;
  }
  grove_sleep(DELAY);
  char body[300], head[200];
  int blen = snprintf(body, sizeof body, "hello %s", path);
  int hlen = snprintf(head, sizeof head,
                      "HTTP/1.1 200 OK\r\nContent-Length: %d\r\nContent-Type: text/plain\r\n"
                      "Connection: close\r\n\r\n",
                      blen);
  grove_socket_write_all(conn, head, (size_t)hlen, NULL, 10);
  grove_socket_write_all(conn, body, (size_t)blen, NULL, 10);
}

/* ---- the clients -------------------------------------------------------------------------- */

typedef struct {
  int port, i;
  char body[64];
  size_t len;
  long status;
  CURLcode rc;
  double took;
} fetch_arg;

static size_t on_data(char *data, size_t size, size_t n, void *userp) {
  fetch_arg *a = userp;
  size_t len = size * n;
  size_t room = sizeof a->body - 1 - a->len;
  size_t take = len < room ? len : room;
  memcpy(a->body + a->len, data, take);
  a->len += take;
  a->body[a->len] = 0;
  return len;
}

static void *fetch(void *arg) {
  fetch_arg *a = arg;
  char url[64];
  snprintf(url, sizeof url, "http://127.0.0.1:%d/item/%d", a->port, a->i);
  CURL *c = curl_easy_init();
  if (!c) {
    a->rc = CURLE_FAILED_INIT;
    return NULL;
  }
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, a);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
  double t0 = test_now();
  a->rc = curl_easy_perform(c);
  a->took = test_now() - t0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &a->status);
  curl_easy_cleanup(c);
  return NULL;
}

static void test_curl_100_at_once(void) {
  grove_socket *l;
  CHECK_EQ(grove_tcp_listen("127.0.0.1", 0, 0, &l), 0);
  int port = grove_socket_port(l);
  grove_server *srv;
  CHECK_EQ(grove_stream_server_new(l, respond, NULL, NULL, &srv), 0);
  CHECK_EQ(grove_server_start(srv), 0);

  static fetch_arg args[N];
  grove_greenlet *g[N];
  grove_patch_stats s0, s1;
  grove_patch_get_stats(&s0);
  double t0 = test_now();
  for (int i = 0; i < N; i++) {
    args[i] = (fetch_arg){.port = port, .i = i};
    g[i] = grove_spawn(fetch, &args[i]);
  }
  CHECK_EQ(grove_joinall(g, N, 60), 0);
  double took = test_now() - t0;
  grove_patch_get_stats(&s1);
  int ok = 0;
  double slowest = 0;
  for (int i = 0; i < N; i++) {
    char want[64];
    snprintf(want, sizeof want, "hello /item/%d", i);
    if (args[i].rc == CURLE_OK && args[i].status == 200 && strcmp(args[i].body, want) == 0)
      ok++;
    else
      fprintf(stderr, "fetch %d: %s, status %ld, body \"%s\"\n", i, curl_easy_strerror(args[i].rc),
              args[i].status, args[i].body);
    if (args[i].took > slowest)
      slowest = args[i].took;
    grove_greenlet_release(g[i]);
  }
  CHECK_EQ(ok, N);
  CHECK_EQ(grove_server_accepted(srv), N);
  printf("  %d transfers of %.1f s each: %.3f s in all (slowest %.3f s; one after another: %.0f "
         "s); %llu patched calls, %llu waits\n",
         N, DELAY, took, slowest, N * DELAY, (unsigned long long)(s1.calls - s0.calls),
         (unsigned long long)(s1.waits - s0.waits));
  /* Near one request's time, not a hundred: a generous bound (10 times one
   * request) that a serial run (20 s) cannot meet. */
  CHECK(took >= DELAY && took < 10 * DELAY);
  CHECK(s1.waits > s0.waits);

  CHECK_EQ(grove_server_stop(srv, 5), 0);
  grove_server_free(srv);
}

int main(int argc, char **argv) {
  if (!grove_patch_active()) {
    printf("FAIL: the patch is not in effect\n");
    return 1;
  }
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0) {
    printf("SKIP patch_curl: curl_global_init failed\n");
    return 77;
  }
  static const test_case cases[] = {TEST(test_curl_100_at_once)};
  int rc = test__run(cases, 1, argc, argv);
  curl_global_cleanup();
  return rc;
}
#endif
