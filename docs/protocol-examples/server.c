/* server.c - the grove node that docs/protocol.md's Python client talks to.
 *
 *   server PYTHON CLIENT.py
 *
 * Starts node "server" on tcp://127.0.0.1:0 with one actor registered as
 * "calc", runs `PYTHON CLIENT.py ENDPOINT`, waits for it (the hub keeps
 * serving meanwhile), checks that the node dropped nothing it should not
 * have, and exits with the client's status. Exits 77 (the test is skipped)
 * when PYTHON cannot import zmq and msgpack.
 *
 * calc answers a call "add" [a, b] with "sum" [a + b], a call "fail" with the
 * error -5001 (grove_reply_error), and a send "ping" [k] with a send "pong"
 * [k + 1] to the ref the ping came from.
 */
#include <grove.h>

#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static int calc_receive(grove_actor *self, grove_msg *msg) {
  (void)self;
  int64_t a, b;
  if (grove_msg_is(msg, "add") && grove_msg_int(msg, 0, &a) == 0 &&
      grove_msg_int(msg, 1, &b) == 0) {
    grove_msg *r = grove_msg_new("sum");
    grove_msg_pack_int(r, a + b);
    return grove_reply(msg, r);
  }
  if (grove_msg_is(msg, "ping") && grove_msg_int(msg, 0, &a) == 0) {
    grove_msg *r = grove_msg_new("pong");
    grove_msg_pack_int(r, a + 1);
    return grove_send(grove_msg_sender(msg), r);
  }
  if (grove_msg_is_call(msg))
    return grove_reply_error(msg, -5001);
  return 0;
}

static const grove_actor_class calc_class = {
    .name = "calc", .size = sizeof(grove_actor), .receive = calc_receive};

/* Run argv and wait for it without blocking the hub. Returns its exit status. */
static int run(char *const argv[], double timeout) {
  pid_t pid;
  if (posix_spawn(&pid, argv[0], NULL, NULL, argv, environ) != 0)
    return 127;
  int status;
  for (double waited = 0; waitpid(pid, &status, WNOHANG) == 0; waited += 0.01) {
    if (waited > timeout) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      return 124;
    }
    grove_sleep(0.01); /* the node serves the client meanwhile */
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s PYTHON CLIENT.py\n", argv[0]);
    return 2;
  }
  char *check[] = {argv[1], "-c", "import zmq, msgpack", NULL};
  if (run(check, 20) != 0) {
    printf("skipped: %s cannot import zmq and msgpack (python3-zmq, python3-msgpack)\n", argv[1]);
    return 77;
  }
  grove_ref calc;
  grove_actor_opts opts = {.name = "calc"};
  grove_actor_spawn_ex(&calc_class, NULL, &opts, &calc);
  int rc = grove_node_start("server", "tcp://127.0.0.1:0", NULL);
  if (rc != 0) {
    fprintf(stderr, "server: %s\n", grove_strerror(rc));
    return 1;
  }
  char endpoint[256];
  snprintf(endpoint, sizeof endpoint, "%s", grove_node_endpoint());
  fflush(stdout);
  char *client[] = {argv[1], argv[2], endpoint, NULL};
  int status = run(client, 20);
  grove_node_stats st;
  grove_node_stats_get(&st);
  printf("server: the client exited with %d; envelopes received %llu, dropped: malformed %llu, "
         "version %llu, oversize %llu, unknown peer %llu, flow %llu; unknown targets %llu; "
         "credit returned by the client %llu times\n",
         status, (unsigned long long)st.received, (unsigned long long)st.dropped_malformed,
         (unsigned long long)st.dropped_version, (unsigned long long)st.dropped_oversize,
         (unsigned long long)st.dropped_unknown_peer, (unsigned long long)st.dropped_flow,
         (unsigned long long)st.unknown_target, (unsigned long long)st.credits_received);
  grove_actor_exit(calc, GROVE_EXIT_SHUTDOWN);
  grove_actor_wait(calc, NULL, 1);
  grove_node_stop();
  /* The client calls one name that does not exist, sends nothing malformed,
   * and returns credit for the answers it got. */
  int ok = status == 0 && st.dropped_malformed == 0 && st.dropped_version == 0 &&
           st.dropped_oversize == 0 && st.dropped_flow == 0 && st.unknown_target == 1 &&
           st.credits_received > 0;
  return grove_hub_close() == 0 && ok ? 0 : (status ? status : 1);
}
