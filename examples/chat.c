/* chat.c - a TCP chat room where every connection is an actor.
 *
 *   chat [PORT]       serve on 127.0.0.1:PORT (default 5001) until SIGINT or
 *                     SIGTERM; connect with `nc 127.0.0.1 5001`, type your
 *                     name, then lines
 *   chat --demo       serve on a free port; three clients join, each says a
 *                     line, everyone sees everyone's lines, they leave; print
 *                     the transcript each client saw, check it, and exit
 *
 * The gevent tutorial's chat server keeps a Room with a set of users, each
 * with a Queue the room puts messages in. Here the room and the users are
 * actors (include/grove/actor.h), and messages are msgpack bodies:
 *
 *   room      "join"  [session ref, name]   a user arrived
 *             "say"   [name, text]          a user said something
 *             "leave" [session ref, name]   a user left
 *             "stop"  []                    end the room
 *   session   "line"  [text]                write this line to your client
 *             "bye"   []                    end
 *
 * A StreamServer runs one handler greenlet per connection. The handler
 * spawns the connection's session actor (which writes to the socket), then
 * reads the client's lines and feeds them to the room; the room broadcasts
 * each one with grove_send to every session. When the client goes, the
 * handler tells the room and the session, waits for the session to end (it
 * may be writing), and returns; the server closes the connection.
 *
 * The listener is bound to 127.0.0.1: binding "" or "0.0.0.0" would put the
 * room on the network, with no authentication.
 */
#include <grove.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_USERS 64
#define NAME_MAX_LEN 32
#define IDLE_TIMEOUT 600.0

static int verbose = 1; /* the room narrates on stdout */

/* ---- the room ---------------------------------------------------------------------- */

struct room {
  grove_actor base;
  grove_ref users[MAX_USERS];
  int nusers;
};

static void broadcast(struct room *r, const char *text) {
  for (int i = 0; i < r->nusers; i++) {
    grove_msg *m = grove_msg_new("line");
    if (m && grove_msg_pack_str(m, text) == 0)
      grove_send(r->users[i], m); /* takes m; a user that just left is a dead letter */
    else
      grove_msg_free(m);
  }
}

static int room_receive(grove_actor *self, grove_msg *msg) {
  struct room *r = (struct room *)self;
  char line[1200];
  const char *name, *text;
  size_t nlen, tlen;
  grove_ref who;
  if (grove_msg_is(msg, "stop"))
    return GROVE_STOP;
  if (grove_msg_is(msg, "join") && grove_msg_ref(msg, 0, &who) == 0 &&
      grove_msg_str(msg, 1, &name, &nlen) == 0) {
    if (r->nusers == MAX_USERS)
      return 0; /* full: the session gets nothing (a real server would say so) */
    r->users[r->nusers++] = who;
    snprintf(line, sizeof line, "* %.*s joined (%d here)\n", (int)nlen, name, r->nusers);
  } else if (grove_msg_is(msg, "leave") && grove_msg_ref(msg, 0, &who) == 0 &&
             grove_msg_str(msg, 1, &name, &nlen) == 0) {
    for (int i = 0; i < r->nusers; i++)
      if (grove_ref_eq(r->users[i], who))
        r->users[i] = r->users[--r->nusers];
    snprintf(line, sizeof line, "* %.*s left (%d here)\n", (int)nlen, name, r->nusers);
  } else if (grove_msg_is(msg, "say") && grove_msg_str(msg, 0, &name, &nlen) == 0 &&
             grove_msg_str(msg, 1, &text, &tlen) == 0) {
    snprintf(line, sizeof line, "%.*s: %.*s\n", (int)nlen, name, (int)tlen, text);
  } else {
    return 0; /* not of this protocol: ignore it */
  }
  if (verbose)
    printf("room   %s", line);
  broadcast(r, line);
  return 0;
}

static const grove_actor_class room_class = {
    .name = "room", .size = sizeof(struct room), .receive = room_receive};

/* ---- a session: the actor of one connection ----------------------------------------- */

struct session {
  grove_actor base;
  grove_socket *conn; /* borrowed: the server closes it after the handler */
};

static int session_init(grove_actor *self, void *arg) {
  ((struct session *)self)->conn = arg;
  return 0;
}

static int session_receive(grove_actor *self, grove_msg *msg) {
  struct session *s = (struct session *)self;
  const char *text;
  size_t len;
  if (grove_msg_is(msg, "bye"))
    return GROVE_STOP;
  if (grove_msg_is(msg, "line") && grove_msg_str(msg, 0, &text, &len) == 0)
    grove_socket_write_all(s->conn, text, len, NULL,
                           10.0); /* a slow client slows only this actor */
  return 0;
}

static const grove_actor_class session_class = {.name = "session",
                                                .size = sizeof(struct session),
                                                .init = session_init,
                                                .receive = session_receive};

/* ---- the connection handler: the reader greenlet ------------------------------------- */

static grove_ref room;

/* "join" / "leave" [session ref, name] to the room. */
static int tell_room(const char *tag, grove_ref who, const char *name) {
  grove_msg *m = grove_msg_new(tag);
  if (!m || grove_msg_pack_ref(m, who) != 0 || grove_msg_pack_str(m, name) != 0) {
    grove_msg_free(m);
    return GROVE_ENOMEM;
  }
  return grove_send(room, m); /* takes m */
}

static void handle(grove_socket *conn, void *arg) {
  (void)arg;
  char name[NAME_MAX_LEN + 2], line[1024];
  static const char ask[] = "Your name?\n";
  if (grove_socket_write_all(conn, ask, sizeof ask - 1, NULL, 10.0) != 0)
    return;
  ssize_t n = grove_socket_read_line(conn, name, sizeof name, 60.0);
  if (n <= 0)
    return;
  while (n > 0 && (name[n - 1] == '\n' || name[n - 1] == '\r'))
    name[--n] = 0;
  if (n == 0)
    return;

  grove_ref me = grove_actor_spawn(&session_class, conn);
  if (grove_ref_is_null(me))
    return;
  tell_room("join", me, name);
  for (;;) {
    ssize_t len = grove_socket_read_line(conn, line, sizeof line, IDLE_TIMEOUT);
    if (len <= 0)
      break; /* gone, silent too long, or the server is stopping */
    while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
      line[--len] = 0;
    grove_msg *m = grove_msg_new("say"); /* [name, text] */
    if (m && grove_msg_pack_str(m, name) == 0 && grove_msg_pack_str(m, line) == 0)
      grove_send(room, m);
    else
      grove_msg_free(m);
  }
  tell_room("leave", me, name);
  /* The session may be writing to conn: let it finish before the server
   * closes conn (a killed handler cannot wait; the session's write then
   * fails with GROVE_ECLOSED, which is harmless). */
  grove_send(me, grove_msg_new("bye"));
  grove_actor_wait(me, NULL, 5.0);
}

/* ---- serving until a signal --------------------------------------------------------------- */

static grove_server *server;

static void *on_signal(void *arg) {
  (void)arg;
  printf("closing the room\n");
  grove_server_stop(server, 1.0);
  return NULL;
}

static int start(int port) {
  room = grove_actor_spawn(&room_class, NULL);
  grove_socket *ls;
  int rc = grove_tcp_listen("127.0.0.1", port, 0, &ls);
  if (rc == 0 && (rc = grove_stream_server_new(ls, handle, NULL, NULL, &server)) != 0)
    grove_socket_close(ls);
  if (rc == 0)
    rc = grove_server_start(server);
  if (rc != 0)
    fprintf(stderr, "chat: 127.0.0.1:%d: %s\n", port, grove_strerror(rc));
  return rc;
}

static int finish(void) {
  grove_server_free(server);
  grove_send(room, grove_msg_new("stop"));
  return grove_actor_wait(room, NULL, 5.0);
}

static int serve(int port) {
  if (start(port) != 0)
    return 1;
  grove_signal_handler *h1 = grove_signal_handle(SIGINT, on_signal, NULL);
  grove_signal_handler *h2 = grove_signal_handle(SIGTERM, on_signal, NULL);
  printf("chat room on 127.0.0.1:%d; try: nc 127.0.0.1 %d\n", grove_server_port(server),
         grove_server_port(server));
  fflush(stdout);
  int rc = grove_server_serve_forever(server, GROVE_FOREVER);
  grove_signal_handler_cancel(h1);
  grove_signal_handler_cancel(h2);
  return finish() == 0 && rc == 0 ? 0 : 1;
}

/* ---- the demo ----------------------------------------------------------------------------------
 */

typedef struct {
  const char *name, *says;
  grove_socket *s;
  char seen[2048]; /* every line this client received */
} user;

/* Read lines until `until` arrives; record them all. */
static int read_until(user *u, const char *until) {
  char line[256];
  for (;;) {
    ssize_t n = grove_socket_read_line(u->s, line, sizeof line, 5.0);
    if (n <= 0)
      return 0;
    strncat(u->seen, line, sizeof u->seen - strlen(u->seen) - 1);
    if (strcmp(line, until) == 0)
      return 1;
  }
}

static int put(user *u, const char *text) {
  return grove_socket_write_all(u->s, text, strlen(text), NULL, 5.0) == 0;
}

static int demo(void) {
  verbose = 1;
  if (start(0) != 0)
    return 1;
  int port = grove_server_port(server), ok = 1;
  user users[3] = {{.name = "alice", .says = "hello, everyone"},
                   {.name = "bob", .says = "hi alice"},
                   {.name = "carol", .says = "hey, both"}};
  char expect[128];
  /* They join one after the other; each sees itself arrive. */
  for (int i = 0; i < 3; i++) {
    user *u = &users[i];
    ok = ok && grove_tcp_connect("127.0.0.1", port, &u->s, 5.0) == 0;
    ok = ok && read_until(u, "Your name?\n") && put(u, u->name) && put(u, "\n");
    snprintf(expect, sizeof expect, "* %s joined (%d here)\n", u->name, i + 1);
    for (int j = 0; ok && j <= i; j++)
      ok = read_until(&users[j], expect);
  }
  /* Each says a line; everyone sees it. */
  for (int i = 0; ok && i < 3; i++) {
    char text[128];
    snprintf(text, sizeof text, "%s\n", users[i].says);
    ok = put(&users[i], text);
    snprintf(expect, sizeof expect, "%s: %s\n", users[i].name, users[i].says);
    for (int j = 0; ok && j < 3; j++)
      ok = read_until(&users[j], expect);
  }
  /* They leave in turn; those still there see them go. */
  for (int i = 0; ok && i < 3; i++) {
    grove_socket_close(users[i].s);
    users[i].s = NULL;
    snprintf(expect, sizeof expect, "* %s left (%d here)\n", users[i].name, 2 - i);
    for (int j = i + 1; ok && j < 3; j++)
      ok = read_until(&users[j], expect);
  }
  for (int i = 0; i < 3; i++) {
    grove_socket_close(users[i].s);
    printf("--- what %s saw:\n%s", users[i].name, users[i].seen);
  }
  /* Every client saw all three lines. */
  for (int i = 0; i < 3; i++)
    for (int j = 0; j < 3; j++) {
      snprintf(expect, sizeof expect, "%s: %s\n", users[j].name, users[j].says);
      ok = ok && strstr(users[i].seen, expect) != NULL;
    }
  /* Let the handlers see their clients go before stopping the server. */
  for (int i = 0; i < 100 && grove_server_connections(server) > 0; i++)
    grove_sleep(0.01);
  ok = ok && grove_server_connections(server) == 0;
  ok = finish() == 0 && ok;
  ok = grove_hub_close() == 0 && ok;
  printf("%s\n", ok ? "demo: ok" : "demo: FAILED");
  return ok ? 0 : 1;
}

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "--demo") == 0)
    return demo();
  int port = argc > 1 ? atoi(argv[1]) : 5001;
  if (port <= 0 || port > 65535) {
    fprintf(stderr, "usage: chat [PORT] | chat --demo\n");
    return 2;
  }
  return serve(port);
}
