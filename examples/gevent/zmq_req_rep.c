/* zmq_req_rep.c - port of zmq_req_rep.py (seed 001, "Gevent ZeroMQ").
 *
 * A REQ socket ("server", it binds) and a REP socket ("client") in two
 * greenlets. grove_zmq_send and grove_zmq_recv block only the calling
 * greenlet, so each send or recv that must wait switches to the other, as
 * zmq.green's do.
 */
#include <grove.h>
#include <stdio.h>
#include <stdlib.h>

/* Global Context */
static void *context;

static void *server(void *arg) {
  void *server_socket = zmq_socket(context, ZMQ_REQ);
  if (!server_socket || zmq_bind(server_socket, "inproc://tutorial") != 0)
    grove_exit(GROVE_EINVAL);

  char buf[16];
  int rc = 0;
  for (int request = 1; request < 10 && rc >= 0; request++) {
    rc = grove_zmq_send(server_socket, "Hello", 5, 0, GROVE_FOREVER);
    printf("Switched to Server for %d\n", request);
    /* Implicit context switch occurs here */
    if (rc >= 0)
      rc = grove_zmq_recv(server_socket, buf, sizeof buf, 0, GROVE_FOREVER);
  }
  grove_zmq_close(server_socket);
  if (rc < 0)
    grove_exit(rc);
  return NULL;
}

static void *client(void *arg) {
  void *client_socket = zmq_socket(context, ZMQ_REP);
  if (!client_socket || zmq_connect(client_socket, "inproc://tutorial") != 0)
    grove_exit(GROVE_EINVAL);

  char buf[16];
  int rc = 0;
  for (int request = 1; request < 10 && rc >= 0; request++) {
    rc = grove_zmq_recv(client_socket, buf, sizeof buf, 0, GROVE_FOREVER);
    printf("Switched to Client for %d\n", request);
    /* Implicit context switch occurs here */
    if (rc >= 0)
      rc = grove_zmq_send(client_socket, "World", 5, 0, GROVE_FOREVER);
  }
  grove_zmq_close(client_socket);
  if (rc < 0)
    grove_exit(rc);
  return NULL;
}

int main(void) {
  context = zmq_ctx_new();
  grove_greenlet *gs[] = {grove_spawn(server, NULL), grove_spawn(client, NULL)};
  int rc = grove_joinall(gs, 2, GROVE_FOREVER);
  int ok = rc == 0 && grove_successful(gs[0]) && grove_successful(gs[1]);

  grove_greenlet_release(gs[0]);
  grove_greenlet_release(gs[1]);
  zmq_ctx_term(context);
  return ok && grove_hub_close() == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
