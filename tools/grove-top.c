/* grove-top.c - a live view of a running grove node: Erlang's etop/observer
 * for grove, in a terminal.
 *
 *   grove-top [options] NODE ENDPOINT
 *
 * grove-top is itself a grove node ("grove-top-<pid>", bound to
 * tcp://127.0.0.1:0): it connects to NODE at ENDPOINT as any peer would, and
 * once every interval calls the actor that node registers as
 * "grove.introspect" (grove_call_name_remote, request "snapshot"; the reply's
 * format is in docs/protocol.md, "Introspection"). It draws the reply with
 * ncurses: a header (the node, its hubs, dead letters), then three panes -
 * actors, greenlets, peers - and a help line. Rates (msgs/s, sent/s, ...)
 * are the differences between two snapshots divided by the time between
 * them (the node's own clock, the snapshot's "time").
 *
 * Design notes.
 * - Two greenlets. The poller makes one call per interval and replaces the
 *   snapshot; the main greenlet draws and reads keys. It waits for the
 *   terminal with grove_wait_readable, and the poller wakes it when a new
 *   snapshot is in (grove_fd_cancel_wait on stdin: the wait returns
 *   GROVE_ECLOSED and is simply made again). So a key is handled at once
 *   even while a call waits for an unreachable node.
 * - Nothing the node sends can crash grove-top: every field is looked up by
 *   key and checked for its type; a missing or mistyped field shows as
 *   empty or "-", text is cut to its column and stripped of control bytes
 *   (a name holding an escape sequence must not drive the terminal).
 * - grove-top never exits by itself in the live view: an unreachable node, a
 *   node without introspection, a refused call are said on the status line,
 *   and the poller keeps trying. The last snapshot stays on screen with its
 *   age.
 * - grove's log lines (a peer down...) would scribble over the screen: in
 *   the live view a log hook keeps the last one for the status line.
 * - A rate needs the same actor in two snapshots. Actors are matched by
 *   "id" when the node sends one, else by (name, class, hub); an actor whose
 *   key is not unique in either snapshot gets no rate ("-") rather than a
 *   wrong one. A node that restarted (another incarnation) restarts the
 *   rates.
 */
#include <grove.h>

#include <curses.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SERVICE "grove.introspect"
#define MAX_ACTORS 1000
#define MAX_GREENLETS 200
#define NAME_CAP 64
#define TEXT_CAP 256

/* ---- options -------------------------------------------------------------------- */

static struct {
  const char *node;
  const char *endpoint;
  double interval; /* seconds between snapshots */
  double timeout;  /* for one snapshot (a call, and the connection before the first) */
  bool once;
  bool open; /* --open: connect to a non-loopback node without CURVE */
  int width; /* --once: the frame's width */
  char server_key[41], public_key[41], secret_key[41];
} opt = {.interval = 1.0, .timeout = 5.0, .width = 100};

/* ---- the snapshot ------------------------------------------------------------------ */

typedef struct hub_row {
  uint64_t index, greenlets, runq, actors, messages, dead_letters, restarts;
  double lag_ms;
  double rate; /* messages/s; < 0: unknown */
} hub_row;

typedef struct actor_row {
  char name[NAME_CAP], cls[NAME_CAP], state[16];
  bool has_id;
  uint64_t id, hub, inbox, inbox_max, received;
  double rate; /* messages/s; < 0: unknown */
} actor_row;

typedef struct greenlet_row {
  char name[NAME_CAP], state[16], waiting[32];
  uint64_t hub;
} greenlet_row;

typedef struct peer_row {
  char name[NAME_CAP], endpoint[TEXT_CAP], state[16];
  uint64_t incarnation, sent, received, dropped;
  double rtt_ms;               /* < 0: unknown */
  double sent_rate, recv_rate; /* < 0: unknown */
} peer_row;

typedef struct snapshot {
  char node[NAME_CAP];
  double time; /* the node's clock (0: it sent none) */
  double got;  /* our monotonic clock when the reply came */
  uint64_t incarnation, dead_letters, actors_total, greenlets_total;
  double dl_rate; /* dead letters/s; < 0: unknown */
  hub_row *hubs;
  actor_row *actors;
  greenlet_row *greenlets;
  peer_row *peers;
  size_t nhubs, nactors, ngreenlets, npeers;
} snapshot;

static void snapshot_free(snapshot *s) {
  if (!s)
    return;
  free(s->hubs);
  free(s->actors);
  free(s->greenlets);
  free(s->peers);
  free(s);
}

static double mono_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Text from the node, made safe to print: cut to cap - 1 bytes, and every
 * byte that is not printable ASCII (control bytes, escape sequences, bytes
 * of UTF-8 sequences whose width the columns cannot know) shown as '?'. */
static void copy_text(char *dst, size_t cap, const char *src, size_t len) {
  if (len > cap - 1)
    len = cap - 1;
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)src[i];
    dst[i] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
  }
  dst[len] = '\0';
}

static void key_text(const msgpack_object *map, const char *key, char *dst, size_t cap) {
  msgpack_object v;
  const char *s;
  size_t len;
  dst[0] = '\0';
  if (grove_obj_key(map, key, &v) == 0 && grove_obj_str(&v, &s, &len) == 0)
    copy_text(dst, cap, s, len);
}

static bool key_u64(const msgpack_object *map, const char *key, uint64_t *out) {
  msgpack_object v;
  uint64_t u;
  double d;
  if (grove_obj_key(map, key, &v) != 0)
    return false;
  if (grove_obj_uint(&v, &u) == 0) {
    *out = u;
    return true;
  }
  if (grove_obj_double(&v, &d) == 0 && d >= 0 && d < 1.8e19) {
    *out = (uint64_t)d;
    return true;
  }
  return false;
}

static uint64_t key_u64_or(const msgpack_object *map, const char *key, uint64_t def) {
  uint64_t u;
  return key_u64(map, key, &u) ? u : def;
}

static double key_f64_or(const msgpack_object *map, const char *key, double def) {
  msgpack_object v;
  double d;
  if (grove_obj_key(map, key, &v) == 0 && grove_obj_double(&v, &d) == 0 && isfinite(d))
    return d;
  return def;
}

/* The array under key, and how many elements: 0 when missing or not an array. */
static size_t key_array(const msgpack_object *map, const char *key, msgpack_object *arr) {
  if (grove_obj_key(map, key, arr) != 0 || arr->type != MSGPACK_OBJECT_ARRAY)
    return 0;
  return arr->via.array.size;
}

/* Read a reply body into a new snapshot. Returns NULL (and why in err) when the
 * body is not a map; anything inside that is missing or of another type is
 * left empty. */
static snapshot *snapshot_parse(grove_msg *reply, char *err, size_t errlen) {
  msgpack_object body, arr, el;
  if (grove_msg_get(reply, 0, &body) != 0 || body.type != MSGPACK_OBJECT_MAP) {
    snprintf(err, errlen, "malformed reply: its body is not a map");
    return NULL;
  }
  snapshot *s = calloc(1, sizeof *s);
  if (!s) {
    snprintf(err, errlen, "out of memory");
    return NULL;
  }
  key_text(&body, "node", s->node, sizeof s->node);
  s->time = key_f64_or(&body, "time", 0);
  s->incarnation = key_u64_or(&body, "incarnation", 0);
  s->dead_letters = key_u64_or(&body, "dead_letters", 0);
  s->dl_rate = -1;

  size_t n = key_array(&body, "hubs", &arr);
  s->hubs = calloc(n ? n : 1, sizeof *s->hubs);
  for (size_t i = 0; s->hubs && i < n; i++) {
    if (grove_obj_at(&arr, i, &el) != 0 || el.type != MSGPACK_OBJECT_MAP)
      continue;
    hub_row *h = &s->hubs[s->nhubs++];
    h->index = key_u64_or(&el, "index", i);
    h->greenlets = key_u64_or(&el, "greenlets", 0);
    h->runq = key_u64_or(&el, "runq", 0);
    h->lag_ms = key_f64_or(&el, "lag_ms", 0);
    h->actors = key_u64_or(&el, "actors", 0);
    h->messages = key_u64_or(&el, "messages", 0);
    h->dead_letters = key_u64_or(&el, "dead_letters", 0);
    h->restarts = key_u64_or(&el, "restarts", 0);
    h->rate = -1;
  }

  n = key_array(&body, "actors", &arr);
  s->actors = calloc(n ? n : 1, sizeof *s->actors);
  for (size_t i = 0; s->actors && i < n; i++) {
    if (grove_obj_at(&arr, i, &el) != 0 || el.type != MSGPACK_OBJECT_MAP)
      continue;
    actor_row *a = &s->actors[s->nactors++];
    key_text(&el, "name", a->name, sizeof a->name);
    key_text(&el, "class", a->cls, sizeof a->cls);
    key_text(&el, "state", a->state, sizeof a->state);
    a->has_id = key_u64(&el, "id", &a->id);
    a->hub = key_u64_or(&el, "hub", 0);
    a->inbox = key_u64_or(&el, "inbox", 0);
    a->inbox_max = key_u64_or(&el, "inbox_max", 0);
    a->received = key_u64_or(&el, "received", 0);
    a->rate = -1;
  }
  s->actors_total = key_u64_or(&body, "actors_total", s->nactors);

  n = key_array(&body, "greenlets", &arr);
  s->greenlets = calloc(n ? n : 1, sizeof *s->greenlets);
  for (size_t i = 0; s->greenlets && i < n; i++) {
    if (grove_obj_at(&arr, i, &el) != 0 || el.type != MSGPACK_OBJECT_MAP)
      continue;
    greenlet_row *g = &s->greenlets[s->ngreenlets++];
    key_text(&el, "name", g->name, sizeof g->name);
    key_text(&el, "state", g->state, sizeof g->state);
    key_text(&el, "waiting", g->waiting, sizeof g->waiting);
    g->hub = key_u64_or(&el, "hub", 0);
  }
  s->greenlets_total = key_u64_or(&body, "greenlets_total", s->ngreenlets);

  n = key_array(&body, "peers", &arr);
  s->peers = calloc(n ? n : 1, sizeof *s->peers);
  for (size_t i = 0; s->peers && i < n; i++) {
    if (grove_obj_at(&arr, i, &el) != 0 || el.type != MSGPACK_OBJECT_MAP)
      continue;
    peer_row *p = &s->peers[s->npeers++];
    key_text(&el, "name", p->name, sizeof p->name);
    key_text(&el, "endpoint", p->endpoint, sizeof p->endpoint);
    key_text(&el, "state", p->state, sizeof p->state);
    p->incarnation = key_u64_or(&el, "incarnation", 0);
    p->sent = key_u64_or(&el, "sent", 0);
    p->received = key_u64_or(&el, "received", 0);
    p->dropped = key_u64_or(&el, "dropped", 0);
    p->rtt_ms = key_f64_or(&el, "rtt_ms", -1);
    p->sent_rate = p->recv_rate = -1;
  }
  if (!s->hubs || !s->actors || !s->greenlets || !s->peers) {
    snapshot_free(s);
    snprintf(err, errlen, "out of memory");
    return NULL;
  }
  return s;
}

/* ---- rates: the differences to the previous snapshot ---------------------------------- */

static int actor_key_cmp(const actor_row *a, const actor_row *b) {
  if (a->has_id && b->has_id)
    return a->id < b->id ? -1 : a->id > b->id;
  if (a->has_id != b->has_id)
    return a->has_id ? 1 : -1;
  int c = strcmp(a->name, b->name);
  if (c == 0)
    c = strcmp(a->cls, b->cls);
  if (c == 0)
    c = a->hub < b->hub ? -1 : a->hub > b->hub;
  return c;
}

static const actor_row *key_base; /* for the qsort comparator below */
static int actor_index_cmp(const void *x, const void *y) {
  return actor_key_cmp(&key_base[*(const size_t *)x], &key_base[*(const size_t *)y]);
}

/* Sorted indices of s's actors by key, and dup[i] set when actor i's key
 * is not unique. Returns NULL when out of memory. */
static size_t *actor_index(const snapshot *s, bool **dup) {
  size_t *idx = malloc((s->nactors ? s->nactors : 1) * sizeof *idx);
  *dup = calloc(s->nactors ? s->nactors : 1, sizeof **dup);
  if (!idx || !*dup) {
    free(idx);
    free(*dup);
    *dup = NULL;
    return NULL;
  }
  for (size_t i = 0; i < s->nactors; i++)
    idx[i] = i;
  key_base = s->actors;
  qsort(idx, s->nactors, sizeof *idx, actor_index_cmp);
  for (size_t i = 1; i < s->nactors; i++)
    if (actor_key_cmp(&s->actors[idx[i - 1]], &s->actors[idx[i]]) == 0)
      (*dup)[idx[i - 1]] = (*dup)[idx[i]] = true;
  return idx;
}

static double rate(uint64_t now, uint64_t before, double dt) {
  return now >= before ? (double)(now - before) / dt : -1;
}

static void compute_rates(snapshot *cur, const snapshot *prev) {
  if (!prev || prev->incarnation != cur->incarnation || strcmp(prev->node, cur->node) != 0)
    return;
  double dt = (cur->time > 0 && prev->time > 0) ? cur->time - prev->time : cur->got - prev->got;
  if (!(dt > 0.001))
    return;
  cur->dl_rate = rate(cur->dead_letters, prev->dead_letters, dt);
  for (size_t i = 0; i < cur->nhubs; i++)
    for (size_t j = 0; j < prev->nhubs; j++)
      if (prev->hubs[j].index == cur->hubs[i].index)
        cur->hubs[i].rate = rate(cur->hubs[i].messages, prev->hubs[j].messages, dt);
  for (size_t i = 0; i < cur->npeers; i++)
    for (size_t j = 0; j < prev->npeers; j++)
      if (strcmp(prev->peers[j].name, cur->peers[i].name) == 0 &&
          prev->peers[j].incarnation == cur->peers[i].incarnation) {
        cur->peers[i].sent_rate = rate(cur->peers[i].sent, prev->peers[j].sent, dt);
        cur->peers[i].recv_rate = rate(cur->peers[i].received, prev->peers[j].received, dt);
      }
  bool *cdup, *pdup;
  size_t *cidx = actor_index(cur, &cdup);
  size_t *pidx = actor_index(prev, &pdup);
  if (cidx && pidx) {
    /* Both sorted by key: walk them together. */
    size_t i = 0, j = 0;
    while (i < cur->nactors && j < prev->nactors) {
      actor_row *a = &cur->actors[cidx[i]];
      const actor_row *b = &prev->actors[pidx[j]];
      int c = actor_key_cmp(a, b);
      if (c < 0) {
        i++;
      } else if (c > 0) {
        j++;
      } else {
        if (!cdup[cidx[i]] && !pdup[pidx[j]])
          a->rate = rate(a->received, b->received, dt);
        i++;
        j++;
      }
    }
  }
  free(cidx);
  free(cdup);
  free(pidx);
  free(pdup);
}

/* ---- what the poller found ------------------------------------------------------------ */

static struct {
  snapshot *snap;     /* the latest good snapshot, or NULL */
  int rc;             /* the last call's result: 0 or a GROVE_E* code */
  char err[TEXT_CAP]; /* what went wrong, when rc != 0 */
  double last_try;    /* when the last call ended (monotonic) */
  double call_since;  /* when the call in progress began (0: none) */
  uint64_t answers, failures;
} st;

static bool quitting;
static grove_greenlet *ui_waiter; /* non-NULL while the UI waits for the terminal */

static grove_msg *snapshot_request(void) {
  grove_msg *m = grove_msg_new("snapshot");
  if (!m)
    return NULL;
  if (grove_msg_pack_map(m, 2) != 0 || grove_msg_pack_kv_int(m, "max_actors", MAX_ACTORS) != 0 ||
      grove_msg_pack_kv_int(m, "max_greenlets", MAX_GREENLETS) != 0) {
    grove_msg_free(m);
    return NULL;
  }
  return m;
}

static void explain(int rc, char *buf, size_t cap) {
  switch (rc) {
  case GROVE_EHOSTUNREACH:
    snprintf(buf, cap, "node %s is not reachable at %s (not up)", opt.node, opt.endpoint);
    break;
  case GROVE_ENOENT:
    snprintf(buf, cap, "node %s runs no %s: its introspection is off", opt.node, SERVICE);
    break;
  case GROVE_EPERM:
    snprintf(buf, cap,
             "node %s refused the snapshot (GROVE_EPERM): this program's CURVE key is "
             "not among its introspect_keys",
             opt.node);
    break;
  case GROVE_ETIMEDOUT:
    snprintf(buf, cap, "node %s did not answer within %g s", opt.node, opt.timeout);
    break;
  default:
    snprintf(buf, cap, "snapshot from node %s failed: %s (%s)", opt.node, grove_strerror(rc),
             grove_err_name(rc));
  }
}

/* One snapshot: a call, its reply parsed and its rates computed against the
 * previous one, which it replaces. Returns 0 or the call's error. */
static int poll_once(void) {
  grove_msg *req = snapshot_request();
  grove_msg *reply = NULL;
  st.call_since = mono_now();
  int rc = req ? grove_call_name_remote(opt.node, SERVICE, req, &reply, opt.timeout) : GROVE_ENOMEM;
  st.last_try = mono_now();
  st.call_since = 0;
  if (rc == 0 && !grove_msg_is(reply, "snapshot")) {
    snprintf(st.err, sizeof st.err, "node %s answered with tag \"%.32s\", not \"snapshot\"",
             opt.node, grove_msg_tag(reply));
    rc = GROVE_EPROTO;
  } else if (rc == 0) {
    snapshot *s = snapshot_parse(reply, st.err, sizeof st.err);
    if (!s) {
      rc = GROVE_EPROTO;
    } else {
      s->got = st.last_try;
      compute_rates(s, st.snap);
      snapshot_free(st.snap);
      st.snap = s;
    }
  } else if (rc != GROVE_ECANCELED) {
    explain(rc, st.err, sizeof st.err);
  }
  grove_msg_free(reply);
  st.rc = rc;
  if (rc == 0)
    st.answers++;
  else
    st.failures++;
  return rc;
}

static void wake_ui(void) {
  if (ui_waiter)
    grove_fd_cancel_wait(STDIN_FILENO);
}

static void *poller(void *arg) {
  (void)arg;
  while (!quitting) {
    double t0 = mono_now();
    if (poll_once() == GROVE_ECANCELED)
      break;
    wake_ui();
    double wait = t0 + opt.interval - mono_now();
    if (wait < 0.05)
      wait = 0.05; /* a call that failed at once is not retried in a tight loop */
    if (grove_sleep(wait) == GROVE_ECANCELED)
      break;
  }
  return NULL;
}

/* ---- the frame: lines of text, drawn by curses or printed ------------------------------ */

enum { PANE_ACTORS, PANE_GREENLETS, PANE_PEERS, PANES };
static const char *const pane_names[PANES] = {"actors", "greenlets", "peers"};

typedef struct column {
  const char *title;
  int width; /* 0: takes what is left */
  bool right;
  bool descending_first; /* numbers: the largest first when this column is picked */
} column;

static const column actor_cols[] = {
    {"NAME", 0, false, false},    {"CLASS", 16, false, false}, {"HUB", 4, true, false},
    {"INBOX", 8, true, true},     {"MAX", 7, true, true},      {"MSGS/S", 9, true, true},
    {"RECEIVED", 11, true, true}, {"STATE", 9, false, false},
};
static const column greenlet_cols[] = {
    {"NAME", 0, false, false},
    {"HUB", 4, true, false},
    {"STATE", 9, false, false},
    {"WAITING ON", 24, false, false},
};
static const column peer_cols[] = {
    {"NAME", 18, false, false}, {"ENDPOINT", 0, false, false}, {"STATE", 11, false, false},
    {"SENT/S", 9, true, true},  {"RECV/S", 9, true, true},     {"DROPPED", 8, true, true},
    {"RTT MS", 8, true, true},
};
static const struct {
  const column *cols;
  int n;
} panes[PANES] = {
    {actor_cols, (int)(sizeof actor_cols / sizeof actor_cols[0])},
    {greenlet_cols, (int)(sizeof greenlet_cols / sizeof greenlet_cols[0])},
    {peer_cols, (int)(sizeof peer_cols / sizeof peer_cols[0])},
};

static struct {
  int sort[PANES];
  bool desc[PANES];
  int scroll[PANES];
  int focus;
  bool help;
  char log[TEXT_CAP]; /* grove's last log line (live view) */
  double log_at;
  pthread_mutex_t log_lock;
} ui = {.sort = {3, 0, 0}, .desc = {true, false, false}, .log_lock = PTHREAD_MUTEX_INITIALIZER};

static void fmt_rate(char *buf, size_t cap, double r) {
  if (r < 0)
    snprintf(buf, cap, "-");
  else if (r >= 1e7)
    snprintf(buf, cap, "%.1fM", r / 1e6);
  else
    snprintf(buf, cap, "%.1f", r);
}

static void cell(int pane, const void *row, int col, char *buf, size_t cap) {
  if (pane == PANE_ACTORS) {
    const actor_row *a = row;
    switch (col) {
    case 0:
      snprintf(buf, cap, "%s", a->name[0] ? a->name : "(unnamed)");
      break;
    case 1:
      snprintf(buf, cap, "%s", a->cls);
      break;
    case 2:
      snprintf(buf, cap, "%llu", (unsigned long long)a->hub);
      break;
    case 3:
      snprintf(buf, cap, "%llu", (unsigned long long)a->inbox);
      break;
    case 4:
      if (a->inbox_max)
        snprintf(buf, cap, "%llu", (unsigned long long)a->inbox_max);
      else
        snprintf(buf, cap, "-");
      break;
    case 5:
      fmt_rate(buf, cap, a->rate);
      break;
    case 6:
      snprintf(buf, cap, "%llu", (unsigned long long)a->received);
      break;
    default:
      snprintf(buf, cap, "%s", a->state);
      break;
    }
  } else if (pane == PANE_GREENLETS) {
    const greenlet_row *g = row;
    switch (col) {
    case 0:
      snprintf(buf, cap, "%s", g->name[0] ? g->name : "(unnamed)");
      break;
    case 1:
      snprintf(buf, cap, "%llu", (unsigned long long)g->hub);
      break;
    case 2:
      snprintf(buf, cap, "%s", g->state);
      break;
    default:
      snprintf(buf, cap, "%s", g->waiting);
      break;
    }
  } else {
    const peer_row *p = row;
    switch (col) {
    case 0:
      snprintf(buf, cap, "%s", p->name);
      break;
    case 1:
      snprintf(buf, cap, "%s", p->endpoint);
      break;
    case 2:
      snprintf(buf, cap, "%s", p->state);
      break;
    case 3:
      fmt_rate(buf, cap, p->sent_rate);
      break;
    case 4:
      fmt_rate(buf, cap, p->recv_rate);
      break;
    case 5:
      snprintf(buf, cap, "%llu", (unsigned long long)p->dropped);
      break;
    default:
      if (p->rtt_ms < 0)
        snprintf(buf, cap, "-");
      else
        snprintf(buf, cap, "%.2f", p->rtt_ms);
    }
  }
}

static int cmp_u64(uint64_t a, uint64_t b) { return a < b ? -1 : a > b; }
static int cmp_f64(double a, double b) { return a < b ? -1 : a > b; }

static int sort_pane, sort_col;
static bool sort_desc;
static int row_cmp(const void *x, const void *y) {
  int c = 0;
  const char *na = "", *nb = "";
  if (sort_pane == PANE_ACTORS) {
    const actor_row *a = *(const actor_row *const *)x, *b = *(const actor_row *const *)y;
    na = a->name;
    nb = b->name;
    switch (sort_col) {
    case 0:
      c = strcmp(a->name, b->name);
      break;
    case 1:
      c = strcmp(a->cls, b->cls);
      break;
    case 2:
      c = cmp_u64(a->hub, b->hub);
      break;
    case 3:
      c = cmp_u64(a->inbox, b->inbox);
      break;
    case 4:
      c = cmp_u64(a->inbox_max, b->inbox_max);
      break;
    case 5:
      c = cmp_f64(a->rate, b->rate);
      break;
    case 6:
      c = cmp_u64(a->received, b->received);
      break;
    default:
      c = strcmp(a->state, b->state);
      break;
    }
  } else if (sort_pane == PANE_GREENLETS) {
    const greenlet_row *a = *(const greenlet_row *const *)x, *b = *(const greenlet_row *const *)y;
    na = a->name;
    nb = b->name;
    switch (sort_col) {
    case 0:
      c = strcmp(a->name, b->name);
      break;
    case 1:
      c = cmp_u64(a->hub, b->hub);
      break;
    case 2:
      c = strcmp(a->state, b->state);
      break;
    default:
      c = strcmp(a->waiting, b->waiting);
      break;
    }
  } else {
    const peer_row *a = *(const peer_row *const *)x, *b = *(const peer_row *const *)y;
    na = a->name;
    nb = b->name;
    switch (sort_col) {
    case 0:
      c = strcmp(a->name, b->name);
      break;
    case 1:
      c = strcmp(a->endpoint, b->endpoint);
      break;
    case 2:
      c = strcmp(a->state, b->state);
      break;
    case 3:
      c = cmp_f64(a->sent_rate, b->sent_rate);
      break;
    case 4:
      c = cmp_f64(a->recv_rate, b->recv_rate);
      break;
    case 5:
      c = cmp_u64(a->dropped, b->dropped);
      break;
    default:
      c = cmp_f64(a->rtt_ms, b->rtt_ms);
      break;
    }
  }
  if (sort_desc)
    c = -c;
  if (c == 0) /* ties: by name, then as the node listed them */
    c = strcmp(na, nb);
  if (c == 0)
    c = x < y ? -1 : x > y;
  return c;
}

/* The rows of a pane in display order (pointers into the snapshot). */
static const void **sorted_rows(const snapshot *s, int pane, size_t *n) {
  size_t size;
  const char *base;
  if (pane == PANE_ACTORS) {
    *n = s->nactors;
    size = sizeof(actor_row);
    base = (const char *)s->actors;
  } else if (pane == PANE_GREENLETS) {
    *n = s->ngreenlets;
    size = sizeof(greenlet_row);
    base = (const char *)s->greenlets;
  } else {
    *n = s->npeers;
    size = sizeof(peer_row);
    base = (const char *)s->peers;
  }
  const void **rows = malloc((*n ? *n : 1) * sizeof *rows);
  if (!rows) {
    *n = 0;
    return NULL;
  }
  for (size_t i = 0; i < *n; i++)
    rows[i] = base + i * size;
  sort_pane = pane;
  sort_col = ui.sort[pane];
  sort_desc = ui.desc[pane];
  qsort(rows, *n, sizeof *rows, row_cmp);
  return rows;
}

/* Where lines go: the terminal (curses) or stdout (--once). */
static bool text_mode;
static int out_row;   /* curses: the next row to draw */
static int out_width; /* columns */

enum { L_PLAIN, L_BOLD, L_TITLE, L_FOCUS, L_HEAD, L_ALERT };

static void put_line(int kind, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put_line(int kind, const char *fmt, ...) {
  char line[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  if (text_mode) {
    size_t len = strlen(line);
    if ((int)len > out_width)
      len = (size_t)out_width;
    while (len > 0 && line[len - 1] == ' ')
      len--;
    printf("%.*s\n", (int)len, line);
    return;
  }
  if (out_row >= LINES - 1) /* the last line is the help line's */
    return;
  int attr = A_NORMAL;
  if (kind == L_BOLD || kind == L_TITLE)
    attr = A_BOLD;
  else if (kind == L_FOCUS || kind == L_ALERT)
    attr = A_REVERSE | A_BOLD;
  else if (kind == L_HEAD)
    attr = A_UNDERLINE;
  attron(attr);
  mvaddnstr(out_row, 0, line, COLS);
  if (kind == L_FOCUS || kind == L_ALERT) /* the bar spans the screen */
    for (int x = (int)strlen(line); x < COLS; x++)
      mvaddch(out_row, x, ' ');
  attroff(attr);
  out_row++;
}

/* One table line: cells laid out in the pane's columns. head: the titles,
 * with the sort column marked v (descending) or ^ (ascending). */
static void table_line(int pane, const void *row, int kind) {
  const column *cols = panes[pane].cols;
  int n = panes[pane].n, fixed = 0;
  for (int c = 0; c < n; c++)
    fixed += cols[c].width + 1;
  int flex = out_width - fixed;
  if (flex < 12)
    flex = 12;
  char line[1024], text[TEXT_CAP + 8];
  size_t pos = 0;
  for (int c = 0; c < n; c++) {
    int w = cols[c].width ? cols[c].width : flex;
    if (!row)
      snprintf(text, sizeof text, "%s%s", cols[c].title,
               ui.sort[pane] == c ? (ui.desc[pane] ? "v" : "^") : "");
    else
      cell(pane, row, c, text, sizeof text);
    int len = (int)strlen(text);
    if (len > w)
      len = w;
    int pad = w - len;
    if (pos + (size_t)w + 2 >= sizeof line)
      break;
    if (cols[c].right)
      pos += (size_t)sprintf(line + pos, "%*s%.*s", pad, "", len, text);
    else
      pos += (size_t)sprintf(line + pos, "%.*s%*s", len, text, pad, "");
    if (c + 1 < n)
      line[pos++] = ' ';
  }
  line[pos] = '\0';
  put_line(kind, "%s", line);
}

static const char *pane_counts(const snapshot *s, int pane, char *buf, size_t cap) {
  if (pane == PANE_ACTORS)
    snprintf(buf, cap, "%zu of %llu", s->nactors, (unsigned long long)s->actors_total);
  else if (pane == PANE_GREENLETS)
    snprintf(buf, cap, "%zu of %llu", s->ngreenlets, (unsigned long long)s->greenlets_total);
  else
    snprintf(buf, cap, "%zu", s->npeers);
  return buf;
}

/* A pane: its title (what is shown, the sort), its column titles and up to
 * `height - 2` rows from its scroll position (height < 0: every row). */
static void draw_pane(const snapshot *s, int pane, int height) {
  char counts[64];
  const column *sc = &panes[pane].cols[ui.sort[pane]];
  bool focus = !text_mode && ui.focus == pane;
  put_line(focus ? L_FOCUS : L_TITLE, "%s%s %s - sorted by %s, %s", focus ? "> " : "",
           pane == PANE_ACTORS      ? "ACTORS"
           : pane == PANE_GREENLETS ? "GREENLETS"
                                    : "PEERS",
           pane_counts(s, pane, counts, sizeof counts), sc->title,
           ui.desc[pane] ? "descending" : "ascending");
  if (height >= 0 && height < 2)
    return;
  table_line(pane, NULL, L_HEAD);
  size_t n;
  const void **rows = sorted_rows(s, pane, &n);
  if (!rows)
    return;
  size_t first = 0, shown = n;
  if (height >= 0) {
    size_t room = (size_t)(height - 2);
    if (ui.scroll[pane] < 0)
      ui.scroll[pane] = 0;
    if (n > room && (size_t)ui.scroll[pane] > n - room)
      ui.scroll[pane] = (int)(n - room);
    if (n <= room)
      ui.scroll[pane] = 0;
    first = (size_t)ui.scroll[pane];
    shown = n - first < room ? n - first : room;
    /* A full pane says what is cut: the last visible row becomes "...". */
    if (shown == room && first + shown < n && room > 0)
      shown--;
  }
  for (size_t i = first; i < first + shown; i++)
    table_line(pane, rows[i], L_PLAIN);
  if (height >= 0 && first + shown < n)
    put_line(L_PLAIN, "  ... %zu more (scroll with the arrow keys)", n - first - shown);
  if (n == 0)
    put_line(L_PLAIN, "  (none)");
  free(rows);
}

static void draw_header(const snapshot *s) {
  char ago[64] = "", dl[32];
  double now = mono_now();
  if (s && !text_mode) {
    snprintf(ago, sizeof ago, "  snapshot %.1f s ago", now - s->got);
  } else if (s && s->time > 0 && s->time < 1e11) {
    /* --once: when the node took it, by its clock */
    time_t t = (time_t)s->time;
    struct tm tm;
    if (localtime_r(&t, &tm))
      strftime(ago, sizeof ago, "  at %Y-%m-%d %H:%M:%S", &tm);
  }
  put_line(L_BOLD, "grove-top - node %s at %s%s", s && s->node[0] ? s->node : opt.node,
           opt.endpoint, ago);
  if (!s)
    return;
  fmt_rate(dl, sizeof dl, s->dl_rate);
  put_line(L_PLAIN,
           "incarnation %llu   dead letters %llu (%s/s)   actors %llu   greenlets %llu   "
           "peers %zu",
           (unsigned long long)s->incarnation, (unsigned long long)s->dead_letters, dl,
           (unsigned long long)s->actors_total, (unsigned long long)s->greenlets_total, s->npeers);
  for (size_t i = 0; i < s->nhubs; i++) {
    const hub_row *h = &s->hubs[i];
    char r[32];
    fmt_rate(r, sizeof r, h->rate);
    put_line(L_PLAIN,
             "hub %llu: greenlets %llu  runq %llu  lag %.2f ms  actors %llu  msgs/s %s  "
             "dead letters %llu  restarts %llu",
             (unsigned long long)h->index, (unsigned long long)h->greenlets,
             (unsigned long long)h->runq, h->lag_ms, (unsigned long long)h->actors, r,
             (unsigned long long)h->dead_letters, (unsigned long long)h->restarts);
  }
}

static void draw_status(const snapshot *s) {
  double now = mono_now();
  char since[64] = "";
  if (s)
    snprintf(since, sizeof since, "; showing the snapshot of %.0f s ago", now - s->got);
  bool tried = s || st.failures > 0;
  if (tried && !grove_node_is_up(opt.node)) {
    put_line(L_ALERT, "node %s at %s is down - retrying%s", opt.node, opt.endpoint, since);
  } else if (st.rc != 0 && st.rc != GROVE_ECANCELED && st.failures > 0) {
    put_line(L_ALERT, "%s - retrying%s", st.err, since);
  } else if (st.call_since > 0 && now - st.call_since > 2 * opt.interval + 1) {
    put_line(L_ALERT, "waiting %.0f s for node %s to answer%s", now - st.call_since, opt.node,
             since);
  } else if (!s) {
    put_line(L_ALERT, "connecting to node %s at %s ...", opt.node, opt.endpoint);
  } else if (!text_mode) {
    char log[TEXT_CAP + 32] = "";
    pthread_mutex_lock(&ui.log_lock);
    if (ui.log[0] && mono_now() - ui.log_at < 30)
      snprintf(log, sizeof log, "   last event: %s", ui.log);
    pthread_mutex_unlock(&ui.log_lock);
    put_line(L_PLAIN, "live, every %g s; focus: %s%s", opt.interval, pane_names[ui.focus], log);
  }
}

/* ---- the live view ---------------------------------------------------------------- */

static const char *const help_text[] = {
    "grove-top keys                        (h, ? or Esc closes)",
    "",
    "  s        sort the focused pane by the next column",
    "  r        reverse the sort order",
    "  a g p    focus the actors / greenlets / peers pane",
    "  j k      scroll the focused pane (also the arrow keys,",
    "           PgUp/PgDn, Home)",
    "  h ?      show or hide this help",
    "  q        quit",
    "",
    "ACTORS: INBOX messages waiting, MAX its bound (- unbounded),",
    "MSGS/S handled per second since the previous snapshot,",
    "RECEIVED handled since it started, STATE idle / running /",
    "waiting (blocked inside receive or init) / starting / exiting.",
    "PEERS: SENT/S and RECV/S messages per second, DROPPED counted",
    "drops, RTT MS the last heartbeat round trip.",
    "A rate is - until two snapshots are in.",
};
#define HELP_LINE "q quit  s sort  r reverse  a/g/p pane  j/k scroll  h/? help"

static void draw_help(void) {
  int n = (int)(sizeof help_text / sizeof help_text[0]), w = 0;
  for (int i = 0; i < n; i++)
    if ((int)strlen(help_text[i]) > w)
      w = (int)strlen(help_text[i]);
  w += 4;
  int top = (LINES - n - 2) / 2, left = (COLS - w) / 2;
  if (top < 0)
    top = 0;
  if (left < 0)
    left = 0;
  attron(A_REVERSE);
  for (int y = 0; y < n + 2 && top + y < LINES - 1; y++) {
    move(top + y, left);
    for (int x = 0; x < w && left + x < COLS; x++)
      addch(' ');
    if (y > 0 && y <= n)
      mvaddnstr(top + y, left + 2, help_text[y - 1], COLS - left - 2);
  }
  attroff(A_REVERSE);
}

static void draw_screen(void) {
  erase();
  out_row = 0;
  out_width = COLS;
  const snapshot *s = st.snap;
  draw_header(s);
  draw_status(s);
  if (s) {
    /* The panes share what is left: each other pane gets its rows up to a
     * quarter of it (at least its title and head), the focused one the rest. */
    int avail = LINES - 1 - out_row - (PANES - 1); /* a blank line between panes */
    int h[PANES], used = 0;
    for (int p = 0; p < PANES; p++) {
      if (p == ui.focus)
        continue;
      size_t n = p == PANE_ACTORS ? s->nactors : p == PANE_GREENLETS ? s->ngreenlets : s->npeers;
      int want = 2 + (n ? (int)n : 1), cap = avail / 4 < 3 ? 3 : avail / 4;
      h[p] = want < cap ? want : cap;
      used += h[p];
    }
    h[ui.focus] = avail - used;
    for (int p = 0; p < PANES; p++) {
      if (h[p] < 1)
        h[p] = 1;
      draw_pane(s, p, h[p]);
      if (p + 1 < PANES)
        put_line(L_PLAIN, "%s", "");
    }
  }
  attron(A_REVERSE);
  mvaddnstr(LINES - 1, 0, HELP_LINE, COLS);
  for (int x = (int)strlen(HELP_LINE); x < COLS; x++)
    mvaddch(LINES - 1, x, ' ');
  attroff(A_REVERSE);
  if (ui.help)
    draw_help();
  refresh();
}

static void handle_key(int ch) {
  int page = LINES / 2 > 1 ? LINES / 2 : 1;
  switch (ch) {
  case 'q':
  case 'Q':
    quitting = true;
    break;
  case 'h':
  case '?':
    ui.help = !ui.help;
    break;
  case 27:
    ui.help = false;
    break; /* Esc */
  case 'a':
    ui.focus = PANE_ACTORS;
    break;
  case 'g':
    ui.focus = PANE_GREENLETS;
    break;
  case 'p':
    ui.focus = PANE_PEERS;
    break;
  case 's':
    ui.sort[ui.focus] = (ui.sort[ui.focus] + 1) % panes[ui.focus].n;
    ui.desc[ui.focus] = panes[ui.focus].cols[ui.sort[ui.focus]].descending_first;
    break;
  case 'r':
    ui.desc[ui.focus] = !ui.desc[ui.focus];
    break;
  case 'j':
  case KEY_DOWN:
    ui.scroll[ui.focus]++;
    break;
  case 'k':
  case KEY_UP:
    ui.scroll[ui.focus]--;
    break;
  case KEY_NPAGE:
    ui.scroll[ui.focus] += page;
    break;
  case KEY_PPAGE:
    ui.scroll[ui.focus] -= page;
    break;
  case KEY_HOME:
    ui.scroll[ui.focus] = 0;
    break;
  default:
    break; /* KEY_RESIZE: curses has resized; the redraw follows */
  }
}

static void log_hook(const grove_log_event *ev, void *user) {
  (void)user;
  pthread_mutex_lock(&ui.log_lock);
  copy_text(ui.log, sizeof ui.log, ev->text, strlen(ev->text));
  ui.log_at = mono_now();
  pthread_mutex_unlock(&ui.log_lock);
}

static void *on_signal(void *arg) {
  (void)arg;
  quitting = true;
  wake_ui();
  return NULL;
}

static int live_view(void) {
  if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
    fprintf(stderr, "grove-top: the live view needs a terminal (for a script: --once)\n");
    return 2;
  }
  int stdin_flags = fcntl(STDIN_FILENO, F_GETFL);
  /* newterm, not initscr: initscr exits the program on a terminal it does
   * not know. */
  SCREEN *screen = newterm(NULL, stdout, stdin);
  if (!screen) {
    fprintf(stderr, "grove-top: cannot start curses on this terminal (TERM=%s)\n",
            getenv("TERM") ? getenv("TERM") : "");
    return 2;
  }
  grove_log_hook(log_hook, NULL);
  cbreak();
  noecho();
  nodelay(stdscr, TRUE);
  keypad(stdscr, TRUE);
  curs_set(0);
  set_escdelay(25);
  grove_signal_handler *sig_int = grove_signal_handle(SIGINT, on_signal, NULL);
  grove_signal_handler *sig_term = grove_signal_handle(SIGTERM, on_signal, NULL);

  grove_greenlet *poll_g = grove_spawn(poller, NULL);
  int idle_wakeups = 0;
  while (!quitting) {
    int ch, keys = 0;
    while ((ch = getch()) != ERR) {
      handle_key(ch);
      keys++;
    }
    if (quitting)
      break;
    draw_screen();
    ui_waiter = grove_current();
    /* Woken by a key, by a new snapshot (GROVE_ECLOSED), or after a second
     * to keep the "ago" figures true. */
    int rc = grove_wait_readable(STDIN_FILENO, 1.0);
    ui_waiter = NULL;
    if (rc == GROVE_ECANCELED)
      break;
    /* A terminal that hung up reads as always readable with no key: do not
     * spin on it. */
    idle_wakeups = (rc == 0 && keys == 0) ? idle_wakeups + 1 : 0;
    if (idle_wakeups > 50)
      grove_sleep(0.2);
  }
  quitting = true;
  if (poll_g) {
    grove_kill(poll_g, 2.0);
    grove_greenlet_release(poll_g);
  }
  if (sig_int)
    grove_signal_handler_cancel(sig_int);
  if (sig_term)
    grove_signal_handler_cancel(sig_term);
  endwin();
  delscreen(screen);
  grove_log_hook(NULL, NULL);
  if (stdin_flags >= 0)
    fcntl(STDIN_FILENO, F_SETFL, stdin_flags); /* libuv made it non-blocking */
  return 0;
}

/* ---- --once ----------------------------------------------------------------------- */

static int print_once(void) {
  /* Rates need two snapshots: the second comes an interval after the first
   * (--interval 0: one snapshot, rates "-"). */
  for (int i = 0; i < (opt.interval > 0 ? 2 : 1); i++) {
    if (i > 0)
      grove_sleep(opt.interval);
    if (poll_once() != 0) {
      fprintf(stderr, "grove-top: %s\n", st.err);
      return 1;
    }
  }
  text_mode = true;
  out_width = opt.width;
  draw_header(st.snap);
  for (int p = 0; p < PANES; p++) {
    put_line(L_PLAIN, "%s", "");
    draw_pane(st.snap, p, -1);
  }
  fflush(stdout);
  return 0;
}

/* ---- the command line -------------------------------------------------------------- */

static void usage(FILE *f) {
  fprintf(f, "usage: grove-top [options] NODE ENDPOINT\n"
             "\n"
             "A live view of the grove node NODE listening at ENDPOINT (its introspection\n"
             "must be on: grove_node_opts.introspect). Keys: s sort, r reverse, a/g/p pane,\n"
             "j/k scroll, h or ? help, q quit.\n"
             "\n"
             "  --once                 print one frame as plain text and exit (1: no answer)\n"
             "  --interval S           seconds between snapshots (default 1); with --once,\n"
             "                         the wait between the two snapshots rates need (0: one)\n"
             "  --timeout S            wait this long for an answer (default 5)\n"
             "  --width N              --once: the frame's width (default 100)\n"
             "  --curve-server-key K   a CURVE node: its public key (Z85, or @FILE)\n"
             "  --curve-public K       and this program's keypair (Z85, or @FILE): a key in\n"
             "  --curve-secret K       the node's introspect_keys, or the node's own pair\n"
             "  --open                 a node on a non-loopback address without CURVE:\n"
             "                         connect anyway (refused otherwise: GROVE_EINSECURE)\n"
             "  -h, --help             this text\n");
}

/* A Z85 key: the text itself, or @FILE holding it (a secret on the command
 * line is visible in ps). */
static bool read_key(const char *arg, const char *what, char out[41]) {
  char buf[128] = "";
  const char *text = arg;
  if (arg[0] == '@') {
    FILE *f = fopen(arg + 1, "r");
    if (!f) {
      fprintf(stderr, "grove-top: %s: cannot read %s: %s\n", what, arg + 1, strerror(errno));
      return false;
    }
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
      buf[--n] = '\0';
    text = buf;
  }
  if (strlen(text) != 40) {
    fprintf(stderr, "grove-top: %s: a CURVE key is 40 characters of Z85\n", what);
    return false;
  }
  memcpy(out, text, 41);
  return true;
}

static bool parse_seconds(const char *s, double *out, double min) {
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  if (errno || end == s || *end || !isfinite(v) || v < min || v > 86400)
    return false;
  *out = v;
  return true;
}

static int parse_args(int argc, char **argv) {
  int pos = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    bool has_val = i + 1 < argc;
    if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      usage(stdout);
      exit(0);
    } else if (strcmp(a, "--once") == 0) {
      opt.once = true;
    } else if (strcmp(a, "--open") == 0) {
      opt.open = true;
    } else if (strcmp(a, "--interval") == 0 && has_val) {
      if (!parse_seconds(argv[++i], &opt.interval, 0)) {
        fprintf(stderr, "grove-top: --interval: seconds, 0 to 86400\n");
        return -1;
      }
    } else if (strcmp(a, "--timeout") == 0 && has_val) {
      if (!parse_seconds(argv[++i], &opt.timeout, 0.01)) {
        fprintf(stderr, "grove-top: --timeout: seconds, 0.01 to 86400\n");
        return -1;
      }
    } else if (strcmp(a, "--width") == 0 && has_val) {
      char *end;
      long w = strtol(argv[++i], &end, 10);
      if (*end || w < 40 || w > 1000) {
        fprintf(stderr, "grove-top: --width: 40 to 1000 columns\n");
        return -1;
      }
      opt.width = (int)w;
    } else if (strcmp(a, "--curve-server-key") == 0 && has_val) {
      if (!read_key(argv[++i], a, opt.server_key))
        return -1;
    } else if (strcmp(a, "--curve-public") == 0 && has_val) {
      if (!read_key(argv[++i], a, opt.public_key))
        return -1;
    } else if (strcmp(a, "--curve-secret") == 0 && has_val) {
      if (!read_key(argv[++i], a, opt.secret_key))
        return -1;
    } else if (a[0] == '-' && a[1]) {
      fprintf(stderr, "grove-top: unknown option or missing value: %s\n", a);
      return -1;
    } else if (pos == 0) {
      opt.node = a;
      pos++;
    } else if (pos == 1) {
      opt.endpoint = a;
      pos++;
    } else {
      fprintf(stderr, "grove-top: too many arguments: %s\n", a);
      return -1;
    }
  }
  if (pos != 2) {
    usage(stderr);
    return -1;
  }
  size_t nl = strlen(opt.node);
  if (nl == 0 || nl >= NAME_CAP) {
    fprintf(stderr, "grove-top: NODE: a node name is 1 to 63 bytes\n");
    return -1;
  }
  /* A CURVE node answers introspection only to keys it lists
   * (introspect_keys; none listed: its own keypair), so a keypair made up
   * here would only ever be refused: all three keys, or none. */
  bool have_pub = opt.public_key[0], have_sec = opt.secret_key[0], have_srv = opt.server_key[0];
  if (have_pub != have_sec || have_pub != have_srv) {
    fprintf(stderr, "grove-top: CURVE needs all three: --curve-server-key (the node's public "
                    "key) and this program's --curve-public and --curve-secret (a key the node "
                    "allows in introspect_keys, or the node's own pair)\n");
    return -1;
  }
  return 0;
}

int main(int argc, char **argv) {
  if (parse_args(argc, argv) != 0)
    return 2;
  grove_node_opts nopts = {.allow_open = opt.open};
  if (opt.server_key[0]) {
    nopts.curve_public = opt.public_key;
    nopts.curve_secret = opt.secret_key;
    nopts.curve_server_key = opt.server_key;
  }
  char name[NAME_CAP];
  snprintf(name, sizeof name, "grove-top-%ld", (long)getpid());
  int rc = grove_node_start(name, "tcp://127.0.0.1:0", &nopts);
  if (rc != 0) {
    fprintf(stderr, "grove-top: cannot start a node: %s\n", grove_strerror(rc));
    return 1;
  }
  /* Connect without waiting: ZeroMQ keeps trying, and each snapshot call
   * waits (up to its timeout) for the node to be up. */
  rc = grove_node_connect_ex(opt.node, opt.endpoint, NULL, 0);
  if (rc != 0) {
    fprintf(stderr, "grove-top: cannot connect to %s at %s: %s\n", opt.node, opt.endpoint,
            grove_strerror(rc));
    grove_node_stop();
    return 2;
  }
  int status = opt.once ? print_once() : live_view();
  grove_node_stop();
  snapshot_free(st.snap);
  st.snap = NULL;
  return status;
}
