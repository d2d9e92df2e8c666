/* unix.c - Unix domain sockets: a path in the file system, and a name in
 * Linux's abstract namespace (no file, gone with the socket). */
#include <grove.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void greet(grove_socket *conn, void *arg) {
  grove_socket_write_all(conn, arg, strlen(arg), NULL, 5.0);
}

/* Serve one greeting on `path`, read it back as a client. */
static int roundtrip(const char *path, const char *greeting) {
  grove_socket *listener, *c;
  grove_server *srv;
  int rc = grove_unix_listen(path, 0, &listener);
  if (rc != 0) {
    printf("listen %s: %s\n", path, grove_strerror(rc));
    return rc;
  }
  if (grove_stream_server_new(listener, greet, (void *)greeting, NULL, &srv) != 0 ||
      grove_server_start(srv) != 0 || grove_unix_connect(path, &c, 5.0) != 0)
    return 1;
  char buf[64] = {0};
  grove_socket_read_exactly(c, buf, strlen(greeting), NULL, 5.0);
  printf("client: %s", buf);
  grove_socket_close(c);
  grove_server_stop(srv, 1.0);
  grove_server_free(srv); /* closes the listener; a path stays in the file system */
  return 0;
}

int main(void) {
  char path[64], name[64];
  snprintf(path, sizeof path, "/tmp/grove-doc-%d.sock", (int)getpid());
  snprintf(name, sizeof name, "@grove-doc-%d", (int)getpid()); /* '@': abstract */
  unlink(path); /* a stale socket file from an earlier run would give GROVE_EADDRINUSE */
  int rc = roundtrip(path, "hello over a path\n");
  unlink(path);
  rc = rc || roundtrip(name, "hello over an abstract name\n");
  return rc == 0 && grove_hub_close() == 0 ? 0 : 1;
}
