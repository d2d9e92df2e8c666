/* tests/net/test_prefork.c - pre-forked serving: workers started, serving
 * on the shared socket, an orderly stop, and the restart intensity running
 * out for workers that keep crashing. This program is its own worker: a
 * process started by grove_prefork_listen finds GROVE_PREFORK_WORKER in its
 * environment and does what TEST_PREFORK_MODE (set by the case) says. */
#include "net_util.h"

#include <signal.h>
#include <sys/wait.h>

TEST_WATCHDOG(60)

static void hello(grove_http_request *req, void *arg) {
  (void)arg;
  char body[32];
  int n = snprintf(body, sizeof body, "worker %d", grove_prefork_worker());
  grove_http_respond(req, 200, "text/plain", body, (size_t)n, 5);
}

static int worker_main(void) {
  grove_socket *ls;
  grove_prefork *master;
  if (grove_prefork_listen(NULL, 0, NULL, &ls, &master) != 0 || master)
    return 2;
  const char *mode = getenv("TEST_PREFORK_MODE");
  if (!mode || strcmp(mode, "crash") == 0) {
    grove_socket_close(ls);
    grove_hub_close();
    return 3; /* exits at once, unasked */
  }
  grove_http_server *srv;
  grove_http_server_new(ls, hello, NULL, NULL, &srv);
  grove_http_server_start(srv);
  grove_signal_wait(SIGTERM, GROVE_FOREVER);
  grove_http_server_free(srv);
  return grove_hub_close() == 0 ? 0 : 1;
}

static void test_serve_and_stop(void) {
  setenv("TEST_PREFORK_MODE", "serve", 1);
  grove_prefork_opts opts = {.processes = 2, .stop_timeout = 5};
  grove_socket *ls = NULL;
  grove_prefork *pf = NULL;
  CHECK_EQ(grove_prefork_listen("127.0.0.1", 0, &opts, &ls, &pf), 0);
  CHECK(ls == NULL && pf != NULL);
  CHECK_EQ(grove_prefork_worker(), -1);
  int port = grove_prefork_port(pf);
  int pids[2] = {grove_prefork_pid(pf, 0), grove_prefork_pid(pf, 1)};
  CHECK(pids[0] > 0 && pids[1] > 0 && pids[0] != pids[1]);
  CHECK_EQ(grove_prefork_pid(pf, 2), GROVE_EINVAL);
  int answered = 0;
  for (int i = 0; i < 20; i++) {
    http_client c;
    http_resp r;
    if (client_connect(&c, port) == 0 && client_send(&c, "GET / HTTP/1.1\r\n\r\n") == 0 &&
        client_read(&c, &r, 5) == 0 && strncmp(r.body, "worker ", 7) == 0)
      answered++;
    client_close(&c);
  }
  CHECK_EQ(answered, 20);
  CHECK_EQ(grove_prefork_run(pf, 0.05), GROVE_ETIMEDOUT); /* still supervising */
  grove_prefork_stop(pf);
  CHECK_EQ(grove_prefork_run(pf, 10), 0);
  CHECK_EQ(grove_prefork_restarts(pf), 0);
  for (int i = 0; i < 2; i++)
    CHECK(kill(pids[i], 0) != 0); /* reaped: gone */
  grove_prefork_free(pf);
}

static void test_restart_intensity(void) {
  setenv("TEST_PREFORK_MODE", "crash", 1);
  grove_prefork_opts opts = {.processes = 1, .max_restarts = 3, .restart_period = 30};
  grove_socket *ls = NULL;
  grove_prefork *pf = NULL;
  CHECK_EQ(grove_prefork_listen("127.0.0.1", 0, &opts, &ls, &pf), 0);
  double t0 = test_now();
  CHECK_EQ(grove_prefork_run(pf, 20), GROVE_EFAILED);
  CHECK(test_now() - t0 < 15);
  CHECK_EQ(grove_prefork_restarts(pf), 3);
  grove_prefork_free(pf);
}

int main(int argc, char **argv) {
  if (getenv("GROVE_PREFORK_WORKER"))
    return worker_main();
  static const test_case cases[] = {TEST(test_serve_and_stop), TEST(test_restart_intensity)};
  return test__run(cases, sizeof cases / sizeof cases[0], argc, argv);
}
