/* 001 "Chat Server": rooms, users with a Queue, long polling for new
 * messages, routed by hand instead of Flask (see web_chat.py). */
#include <grove.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* A small HTTP/1.1 client (GET or POST with Connection: close): prints the
 * status line, Content-Type and the body chunk by chunk if show; the body
 * goes to out. */
static void fetch(int port, const char *path, const char *method, const char *body, int show,
                  char *out, size_t cap) {
  out[0] = 0;
  grove_socket *c;
  if (grove_tcp_connect("127.0.0.1", port, &c, 5) != 0)
    return;
  char head[512];
  int n = snprintf(head, sizeof head, "%s %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n",
                   method, path);
  if (strcmp(method, "POST") == 0)
    n += snprintf(head + n, sizeof head - (size_t)n,
                  "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: %zu\r\n",
                  strlen(body));
  n += snprintf(head + n, sizeof head - (size_t)n, "\r\n%s", body);
  grove_socket_write_all(c, head, (size_t)n, NULL, 5);
  size_t got = 0, size = 16384;
  char *data = malloc(size);
  ssize_t k;
  while ((k = grove_socket_read(c, data + got, size - 1 - got, 5)) > 0)
    got += (size_t)k;
  data[got] = 0;
  grove_socket_close(c);
  char *rest = strstr(data, "\r\n\r\n");
  if (!rest) {
    free(data);
    return;
  }
  *rest = 0;
  rest += 4;
  char ctype[64] = "None";
  int chunked = 0;
  for (char *line = strstr(data, "\r\n"); line; line = strstr(line, "\r\n")) {
    line += 2;
    if (strncasecmp(line, "Content-Type: ", 14) == 0)
      snprintf(ctype, sizeof ctype, "%.*s", (int)strcspn(line + 14, "\r"), line + 14);
    if (strncasecmp(line, "Transfer-Encoding: chunked", 26) == 0)
      chunked = 1;
  }
  if (show) {
    printf("%.*s\n", (int)strcspn(data, "\r"), data);
    printf("Content-Type: %s\n", ctype);
  }
  size_t len = 0;
  while (*rest) {
    size_t csize = chunked ? strtoul(rest, &rest, 16) : strlen(rest);
    if (chunked)
      rest += 2;
    if (csize == 0)
      break;
    if (show)
      printf("chunk: %.*s\n", (int)csize, rest);
    if (len + csize < cap) {
      memcpy(out + len, rest, csize);
      out[len += csize] = 0;
    }
    rest += csize + (chunked ? 2 : 0);
    if (!chunked)
      break;
  }
  free(data);
}

enum { MAX_USERS = 8, MAX_MESSAGES = 64 };

typedef struct {
  char uid[64];
  grove_queue *queue;
} user_t;

typedef struct {
  const char *name;
  user_t *users[MAX_USERS];
  int nusers;
  char *messages[MAX_MESSAGES];
  int nmessages;
} room_t;

static room_t rooms[] = {{.name = "topic1"}, {.name = "topic2"}};
static user_t users[MAX_USERS];
static int nusers;

static room_t *find_room(const char *name, size_t len) {
  for (size_t i = 0; i < sizeof rooms / sizeof rooms[0]; i++)
    if (strlen(rooms[i].name) == len && strncmp(rooms[i].name, name, len) == 0)
      return &rooms[i];
  return NULL;
}

static user_t *find_user(const char *uid, int create) {
  for (int i = 0; i < nusers; i++)
    if (strcmp(users[i].uid, uid) == 0)
      return &users[i];
  if (!create || nusers == MAX_USERS)
    return NULL;
  user_t *u = &users[nusers++];
  snprintf(u->uid, sizeof u->uid, "%s", uid);
  u->queue = grove_queue_new(0);
  return u;
}

static void room_add(room_t *room, const char *message) {
  for (int i = 0; i < room->nusers; i++) {
    printf("%s\n", room->users[i]->uid);
    grove_queue_put_nowait(room->users[i]->queue, strdup(message));
  }
  if (room->nmessages < MAX_MESSAGES)
    room->messages[room->nmessages++] = strdup(message);
}

/* request.form["message"]: the urlencoded field, decoded. */
static void form_field(const char *body, const char *name, char *out, size_t cap) {
  size_t nl = strlen(name), o = 0;
  const char *p = strstr(body, name);
  out[0] = 0;
  if (!p || p[nl] != '=')
    return;
  for (p += nl + 1; *p && *p != '&' && o + 1 < cap; p++) {
    if (*p == '+') {
      out[o++] = ' ';
    } else if (*p == '%' && p[1] && p[2]) {
      char hex[3] = {p[1], p[2], 0};
      out[o++] = (char)strtol(hex, NULL, 16);
      p += 2;
    } else {
      out[o++] = *p;
    }
  }
  out[o] = 0;
}

static void reply(grove_http_request *req, const char *text) {
  grove_http_respond(req, 200, "text/html; charset=utf-8", text, strlen(text), 10);
}

static void app(grove_http_request *req, void *arg) {
  (void)arg;
  char parts[3][64] = {{0}};
  int n = 0;
  for (const char *p = grove_http_path(req) + 1; *p && n < 3; n++) {
    size_t len = strcspn(p, "/");
    snprintf(parts[n], sizeof parts[n], "%.*s", (int)len, p);
    p += len + (p[len] == '/');
  }
  char out[512];
  int post = strcmp(grove_http_method(req), "POST") == 0;
  if (n == 0) {
    reply(req, "choose a name");
  } else if (n == 3 && post && strcmp(parts[0], "put") == 0) { /* /put/<room>/<uid> */
    room_t *room = find_room(parts[1], strlen(parts[1]));
    char message[256], line[400];
    form_field(grove_http_body(req, NULL), "message", message, sizeof message);
    snprintf(line, sizeof line, "%s:%s", parts[2], message);
    if (room)
      room_add(room, line);
    reply(req, "");
  } else if (n == 2 && post && strcmp(parts[0], "poll") == 0) { /* /poll/<uid> */
    user_t *u = find_user(parts[1], 0);
    void *msg = NULL;
    if (u && grove_queue_get(u->queue, &msg, 0.1) == 0) {
      snprintf(out, sizeof out, "\"%s\"", (char *)msg); /* json.dumps */
      free(msg);
    } else {
      snprintf(out, sizeof out, "[]"); /* queue.Empty */
    }
    reply(req, out);
  } else if (n == 2) { /* /<room>/<uid>: join */
    user_t *u = find_user(parts[1], 1);
    room_t *room = find_room(parts[0], strlen(parts[0]));
    if (!room) {
      grove_http_respond(req, 404, "text/plain", "no such room", 12, 10);
      return;
    }
    int known = 0;
    for (int i = 0; i < room->nusers; i++)
      known |= room->users[i] == u;
    if (!known && room->nusers < MAX_USERS)
      room->users[room->nusers++] = u;
    printf("subscribe %s %s\n", parts[0], parts[1]);
    snprintf(out, sizeof out, "%s in %s: %d messages", parts[1], parts[0],
             room->nmessages < 25 ? room->nmessages : 25);
    reply(req, out);
  } else { /* /<uid> */
    snprintf(out, sizeof out, "%s: rooms topic1 topic2", parts[0]);
    reply(req, out);
  }
}

static int port;
static char alice_got[256];

static void *alice_polls(void *arg) {
  (void)arg;
  fetch(port, "/poll/alice", "POST", "", 0, alice_got, sizeof alice_got);
  return NULL;
}

int main(void) {
  grove_socket *ls;
  grove_tcp_listen("127.0.0.1", 0, 0, &ls);
  grove_http_server *http;
  grove_http_server_new(ls, app, NULL, NULL, &http);
  grove_http_server_start(http);
  port = grove_http_server_port(http);
  char body[256];
  const char *joins[] = {"/alice", "/topic1/alice", "/topic1/bob"};
  for (int i = 0; i < 3; i++) {
    fetch(port, joins[i], "GET", "", 0, body, sizeof body);
    printf("%s\n", body);
  }
  grove_greenlet *alice = grove_spawn(alice_polls, NULL);
  grove_sleep(0.02); /* alice is waiting */
  fetch(port, "/put/topic1/bob", "POST", "message=hello+alice", 0, body, sizeof body);
  grove_join(alice, GROVE_FOREVER);
  grove_greenlet_release(alice);
  printf("alice got %s\n", alice_got);
  for (int i = 0; i < 2; i++) {
    fetch(port, "/poll/bob", "POST", "", 0, body, sizeof body);
    printf("bob got %s\n", body);
  }
  fetch(port, "/topic1/carol", "GET", "", 0, body, sizeof body);
  printf("%s\n", body);
  grove_http_server_free(http);
  for (int i = 0; i < nusers; i++) {
    void *m;
    while (grove_queue_get_nowait(users[i].queue, &m) == 0)
      free(m);
    grove_queue_free(users[i].queue);
  }
  for (size_t r = 0; r < sizeof rooms / sizeof rooms[0]; r++)
    for (int i = 0; i < rooms[r].nmessages; i++)
      free(rooms[r].messages[i]);
  return grove_hub_close() == 0 ? 0 : 1;
}
