/* curve_node.c - a CURVE node with its introspection on, for grove-top's
 * CURVE options.
 *
 *   curve_node NAME ENDPOINT DIR
 *
 * Makes three keypairs - the node's, an allowed client's, another client's -
 * and writes them to DIR as server.pub, client.pub, client.sec, other.pub,
 * other.sec (Z85, one key a file). Starts the node NAME at ENDPOINT with
 * the server pair, introspect on, introspect_keys = {client.pub}; prints
 * "ready" and runs until SIGTERM or SIGINT.
 */
#include <grove.h>

#include <signal.h>
#include <stdio.h>
#include <string.h>

static grove_event *stop;

static void *on_signal(void *arg) {
  (void)arg;
  grove_event_set(stop);
  return NULL;
}

static int write_key(const char *dir, const char *file, const char *key) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, file);
  FILE *f = fopen(path, "w");
  if (!f)
    return -1;
  fprintf(f, "%s\n", key);
  return fclose(f);
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: curve_node NAME ENDPOINT DIR\n");
    return 2;
  }
  char spub[41], ssec[41], cpub[41], csec[41], opub[41], osec[41];
  if (grove_curve_keypair(spub, ssec) || grove_curve_keypair(cpub, csec) ||
      grove_curve_keypair(opub, osec)) {
    fprintf(stderr, "curve_node: no CURVE in this libzmq\n");
    return 1;
  }
  if (write_key(argv[3], "server.pub", spub) || write_key(argv[3], "client.pub", cpub) ||
      write_key(argv[3], "client.sec", csec) || write_key(argv[3], "other.pub", opub) ||
      write_key(argv[3], "other.sec", osec)) {
    fprintf(stderr, "curve_node: cannot write the keys to %s\n", argv[3]);
    return 1;
  }
  const char *allowed[] = {cpub, NULL};
  grove_node_opts opts = {
      .curve_public = spub, .curve_secret = ssec, .introspect = true, .introspect_keys = allowed};
  int rc = grove_node_start(argv[1], argv[2], &opts);
  if (rc != 0) {
    fprintf(stderr, "curve_node: grove_node_start: %s\n", grove_strerror(rc));
    return 1;
  }
  printf("ready\n");
  fflush(stdout);
  stop = grove_event_new();
  grove_signal_handler *h1 = grove_signal_handle(SIGTERM, on_signal, NULL);
  grove_signal_handler *h2 = grove_signal_handle(SIGINT, on_signal, NULL);
  grove_event_wait(stop, GROVE_FOREVER);
  grove_signal_handler_cancel(h1);
  grove_signal_handler_cancel(h2);
  grove_event_free(stop);
  grove_node_stop();
  return grove_hub_close() == 0 ? 0 : 1;
}
