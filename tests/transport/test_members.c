/* tests/transport/test_members.c - membership and cluster-wide names on
 * loopback (ipc): nodes join through a seed and mesh by themselves, a node
 * that joins late is seen by all, one that stops or dies is removed
 * everywhere, membership events, global names resolved from every member
 * (a late joiner included) and dropped when their actor ends or their node
 * leaves, a conflict resolved by the rule with the loser told, and hostile
 * MEMBERS/GLOBAL envelopes (malformed, a flood of invented members) that are
 * counted and bounded, never a crash.
 *
 * The parent is node "p", the seed; each member is this program again
 * (tr_util.h) with role "member" and these arguments: seeds=A,B,...
 * (grove_node_opts.seeds), mesh=1, forget=SECONDS, hbi, hbt. Its ctl
 * answers:
 *   "nodes"            [k, name, state, ...] of grove_nodes
 *   "greg" [name]      a "svc" actor registered globally: [rc]
 *   "gwhere" [name]    [rc, ref] of grove_global_whereis
 *   "gcall" [name]     grove_call_name_global: [rc, node name of the answer]
 *   "gend" [name]      ends the local actor the name resolves to: [rc]
 *   "gunreg" [name]    grove_global_unregister: [rc]
 *   "lost"             [GROVE_TAG_GLOBAL_LOST messages its svc actors got]
 *   "connect" [name, endpoint]   grove_node_connect_ex, no wait: [rc]
 * The svc actor answers a call with [its node's name]. */
#include "tr_util.h"

#define HB "hbi=0.1", "hbt=1.0"

/* ---- the member (child) -------------------------------------------------------------------- */

static int64_t lost_count;

static int svc_receive(grove_actor *self, grove_msg *msg) {
  (void)self;
  if (grove_msg_is(msg, GROVE_TAG_GLOBAL_LOST)) {
    lost_count++;
    return 0;
  }
  if (grove_msg_is_call(msg)) {
    grove_msg *r = grove_msg_new("svc-reply");
    grove_msg_pack_str(r, grove_node_name());
    grove_reply(msg, r);
  }
  return 0;
}
static const grove_actor_class svc_class = {"svc", sizeof(grove_actor), NULL, svc_receive, NULL};

static void str_arg(grove_msg *m, size_t i, char *out, size_t cap) {
  const char *s = "";
  size_t n = 0;
  out[0] = 0;
  if (grove_msg_str(m, i, &s, &n) == 0 && n < cap) {
    memcpy(out, s, n);
    out[n] = 0;
  }
}

static int member_ctl(grove_actor *self, grove_msg *msg) {
  (void)self;
  char name[300], ep[300];
  if (grove_msg_is(msg, "nodes")) {
    grove_node_info info[64];
    size_t k = 0;
    grove_nodes(info, 64, &k);
    grove_msg *r = grove_msg_new("nodes");
    grove_msg_pack_int(r, (int64_t)k);
    for (size_t i = 0; i < k && i < 64; i++) {
      grove_msg_pack_str(r, info[i].name);
      grove_msg_pack_int(r, info[i].state);
    }
    grove_reply(msg, r);
    return 0;
  }
  if (grove_msg_is(msg, "greg")) {
    str_arg(msg, 0, name, sizeof name);
    grove_ref a = GROVE_REF_NULL;
    int rc = grove_actor_spawn_ex(&svc_class, NULL, NULL, &a);
    if (rc == 0) {
      tr_track(a);
      rc = grove_global_register(name, a);
    }
    grove_reply(msg, TR_MSG("rc", rc));
    return 0;
  }
  if (grove_msg_is(msg, "gwhere")) {
    str_arg(msg, 0, name, sizeof name);
    grove_ref r = GROVE_REF_NULL;
    int rc = grove_global_whereis(name, &r);
    grove_msg *m = TR_MSG("where", rc);
    grove_msg_pack_ref(m, r);
    grove_reply(msg, m);
    return 0;
  }
  if (grove_msg_is(msg, "gcall")) {
    str_arg(msg, 0, name, sizeof name);
    grove_msg *rep = NULL;
    int rc = grove_call_name_global(name, grove_msg_new("hi"), &rep, 3.0);
    grove_msg *m = TR_MSG("called", rc);
    const char *s = "";
    size_t n = 0;
    if (rc == 0 && grove_msg_str(rep, 0, &s, &n) == 0)
      grove_msg_pack_str(m, (snprintf(ep, sizeof ep, "%.*s", (int)n, s), ep));
    else
      grove_msg_pack_str(m, "-");
    grove_msg_free(rep);
    grove_reply(msg, m);
    return 0;
  }
  if (grove_msg_is(msg, "gend")) {
    str_arg(msg, 0, name, sizeof name);
    grove_ref r;
    int rc = grove_global_whereis(name, &r);
    if (rc == 0 && r.node != 0)
      rc = GROVE_EINVAL;
    if (rc == 0) {
      grove_actor_exit(r, GROVE_EXIT_SHUTDOWN);
      rc = grove_actor_wait(r, NULL, 2.0);
    }
    grove_reply(msg, TR_MSG("rc", rc));
    return 0;
  }
  if (grove_msg_is(msg, "gunreg")) {
    str_arg(msg, 0, name, sizeof name);
    grove_reply(msg, TR_MSG("rc", grove_global_unregister(name)));
    return 0;
  }
  if (grove_msg_is(msg, "lost")) {
    grove_reply(msg, TR_MSG("lost", lost_count));
    return 0;
  }
  if (grove_msg_is(msg, "connect")) {
    str_arg(msg, 0, name, sizeof name);
    str_arg(msg, 1, ep, sizeof ep);
    grove_reply(msg, TR_MSG("rc", grove_node_connect_ex(name, ep, NULL, 0)));
    return 0;
  }
  return -1000;
}

static int child_main(const tr_child *c) {
  grove_node_opts o;
  const char *allow[2];
  tr_child_opts(c, &o, allow);
  char seedbuf[2048] = "";
  const char *seeds[16] = {NULL};
  const char *sv = tr_arg(c, "seeds");
  if (sv) {
    snprintf(seedbuf, sizeof seedbuf, "%s", sv);
    int k = 0;
    for (char *save = NULL, *t = strtok_r(seedbuf, ",", &save); t && k < 15;
         t = strtok_r(NULL, ",", &save))
      seeds[k++] = t;
    o.seeds = seeds;
  }
  o.mesh = tr_arg(c, "mesh") != NULL;
  o.member_forget = tr_arg_double(c, "forget", 0);
  int rc = grove_node_start(c->name, c->endpoint, &o);
  if (rc) {
    fprintf(stderr, "member %s: grove_node_start: %s\n", c->name, grove_err_name(rc));
    return 2;
  }
  tr_ctl_hook = member_ctl;
  tr_child_serve(c);
  return tr_child_finish();
}

/* ---- the parent's helpers ------------------------------------------------------------------- */

typedef struct kid {
  const char *name;
  char endpoint[256];
  pid_t pid;
} kid;

static char seed_named[300], seed_bare[300];

static void seeds_of_parent(void) {
  snprintf(seed_named, sizeof seed_named, "seeds=p@%s", grove_node_endpoint());
  snprintf(seed_bare, sizeof seed_bare, "seeds=%s", grove_node_endpoint());
}

static void spawn_kid(kid *k, const char *name, const char *a1, const char *a2, const char *a3) {
  k->name = name;
  k->pid = tr_spawn(k->endpoint, sizeof k->endpoint, "member", name, tr_ipc(name), "-", HB, a1, a2,
                    a3, NULL);
  CHECK(k->pid > 0);
}

static grove_ref ctl_of(const char *node) {
  grove_ref r = GROVE_REF_NULL;
  int rc = grove_whereis_remote_wait(node, "ctl", &r, 5.0);
  if (rc)
    fprintf(stderr, "ctl of %s: %s\n", node, grove_err_name(rc));
  return r;
}

/* A call to a member's ctl with one string argument (or none). */
static grove_msg *ask(const char *node, const char *what, const char *arg) {
  grove_msg *m = grove_msg_new(what);
  if (arg)
    grove_msg_pack_str(m, arg);
  grove_msg *r = NULL;
  int rc = grove_call(ctl_of(node), m, &r, 5.0);
  if (rc)
    fprintf(stderr, "ask %s %s: %s\n", node, what, grove_err_name(rc));
  return r;
}

/* "name:state,name:state" of what `node` lists (sorted by name), or of this node with NULL. */
static void view(const char *node, char *out, size_t cap) {
  char items[64][80];
  int k = 0;
  if (!node) {
    grove_node_info info[64];
    size_t n = 0;
    grove_nodes(info, 64, &n);
    for (size_t i = 0; i < n && i < 64; i++)
      snprintf(items[k++], sizeof items[0], "%.63s:%d", info[i].name, (int)info[i].state);
  } else {
    grove_msg *r = ask(node, "nodes", NULL);
    int64_t n = tr_int(r, 0);
    for (int64_t i = 0; r && i < n && i < 64; i++) {
      const char *s = "";
      size_t len = 0;
      grove_msg_str(r, (size_t)(1 + 2 * i), &s, &len);
      snprintf(items[k++], sizeof items[0], "%.*s:%d", (int)len, s,
               (int)tr_int(r, (size_t)(2 + 2 * i)));
    }
    grove_msg_free(r);
  }
  for (int i = 0; i < k; i++)
    for (int j = i + 1; j < k; j++)
      if (strcmp(items[j], items[i]) < 0) {
        char t[80];
        memcpy(t, items[i], sizeof t);
        memcpy(items[i], items[j], sizeof t);
        memcpy(items[j], t, sizeof t);
      }
  out[0] = 0;
  for (int i = 0; i < k; i++)
    snprintf(out + strlen(out), cap - strlen(out), "%s%s", i ? "," : "", items[i]);
}

/* Wait until `node` (NULL: this one) lists exactly `want`; returns the seconds it took, -1 if not
 * within timeout (and says what it saw). */
static double wait_view(const char *node, const char *want, double timeout) {
  double t0 = test_now();
  char got[1024] = "";
  while (test_now() - t0 < timeout) {
    view(node, got, sizeof got);
    if (strcmp(got, want) == 0)
      return test_now() - t0;
    grove_sleep(0.02);
  }
  fprintf(stderr, "view of %s: want \"%s\", got \"%s\"\n", node ? node : "p", want, got);
  return -1;
}

static void quit_kid(kid *k) {
  if (k->pid <= 0)
    return;
  grove_send(ctl_of(k->name), grove_msg_new("quit"));
  CHECK_EQ(tr_reap_in_hub(k->pid, 5.0), 0);
  k->pid = 0;
}

static void start_parent(bool mesh, double forget, size_t max_members) {
  grove_node_opts o = {.heartbeat_interval = 0.1,
                       .heartbeat_timeout = 1.0,
                       .mesh = mesh,
                       .member_forget = forget,
                       .max_members = max_members};
  CHECK_EQ(grove_node_start("p", tr_ipc("p"), &o), 0);
  seeds_of_parent();
}

static int count_msgs(grove_queue *q, const char *tag, const char *node, double secs) {
  int k = 0;
  double deadline = test_now() + secs;
  for (;;) {
    double left = deadline - test_now();
    grove_msg *m = tr_mbox_get(q, left > 0 ? left : 0);
    if (!m)
      return k;
    const char *s = "";
    size_t n = 0;
    if (grove_msg_is(m, tag) && grove_msg_str(m, 0, &s, &n) == 0 && n == strlen(node) &&
        memcmp(s, node, n) == 0)
      k++;
    grove_msg_free(m);
  }
}

/* ---- cases ---------------------------------------------------------------------------------- */

/* Three members join through the seed (by name and by endpoint only): a
 * full mesh; a fourth joins late and is seen by all; one stops and is
 * removed everywhere at once; one is SIGKILLed: down everywhere within the
 * heartbeat timeout, then removed (member_forget). Membership events all
 * along. */
static void test_join_leave(void) {
  start_parent(false, 0, 0);
  grove_queue *ev = grove_queue_new(0);
  uint64_t wid = 0;
  CHECK_EQ(grove_monitor_nodes_to(ev, &wid), 0);
  kid k[4];
  memset(k, 0, sizeof k);
  double t0 = test_now();
  spawn_kid(&k[0], "m1", seed_named, "forget=1.5", NULL);
  spawn_kid(&k[1], "m2", seed_bare, "forget=1.5", NULL);
  spawn_kid(&k[2], "m3", seed_named, "forget=1.5", NULL);
  double t = wait_view("m3", "m1:0,m2:0,p:0", 10);
  CHECK(t >= 0);
  CHECK(wait_view("m1", "m2:0,m3:0,p:0", 10) >= 0);
  CHECK(wait_view("m2", "m1:0,m3:0,p:0", 10) >= 0);
  CHECK(wait_view(NULL, "m1:0,m2:0,m3:0", 10) >= 0);
  fprintf(stderr, "3 members meshed through the seed in %.3f s\n", test_now() - t0);
  /* a late joiner */
  spawn_kid(&k[3], "m4", seed_named, "forget=1.5", NULL);
  CHECK(wait_view("m1", "m2:0,m3:0,m4:0,p:0", 10) >= 0);
  CHECK(wait_view("m2", "m1:0,m3:0,m4:0,p:0", 10) >= 0);
  CHECK(wait_view("m4", "m1:0,m2:0,m3:0,p:0", 10) >= 0);
  /* one leaves (grove_node_stop): gone everywhere, not only down */
  quit_kid(&k[1]);
  CHECK(wait_view("m1", "m3:0,m4:0,p:0", 3) >= 0);
  CHECK(wait_view("m4", "m1:0,m3:0,p:0", 3) >= 0);
  CHECK(wait_view(NULL, "m1:0,m3:0,m4:0", 3) >= 0);
  /* one dies: down everywhere, then forgotten */
  tr_kill9(k[2].pid);
  k[2].pid = 0;
  CHECK(wait_view("m1", "m3:2,m4:0,p:0", 3) >= 0 || wait_view("m1", "m4:0,p:0", 3) >= 0);
  CHECK(wait_view("m1", "m4:0,p:0", 5) >= 0);
  CHECK(wait_view("m4", "m1:0,p:0", 5) >= 0);
  /* the parent has no forget of its own set: the default (30 s) keeps it down */
  CHECK(wait_view(NULL, "m1:0,m3:2,m4:0", 3) >= 0);
  /* the events: up for each, down for the two that went */
  const char *names[] = {"m1", "m2", "m3", "m4"};
  grove_msg *m;
  int up[4] = {0}, down[4] = {0};
  while ((m = tr_mbox_get(ev, 0.1)) != NULL) {
    const char *s = "";
    size_t n = 0;
    grove_msg_str(m, 0, &s, &n);
    for (int i = 0; i < 4; i++)
      if (n == 2 && memcmp(s, names[i], 2) == 0)
        (grove_msg_is(m, GROVE_TAG_NODEUP) ? up : down)[i]++;
    grove_msg_free(m);
  }
  for (int i = 0; i < 4; i++)
    CHECK_EQ(up[i], 1);
  CHECK_EQ(down[0], 0);
  CHECK_EQ(down[1], 1);
  CHECK_EQ(down[2], 1);
  CHECK_EQ(down[3], 0);
  CHECK_EQ(grove_demonitor(wid), 0);
  quit_kid(&k[0]);
  quit_kid(&k[3]);
  CHECK_EQ(grove_node_stop(), 0);
  grove_queue_free(ev);
}

/* An actor's membership subscription, and grove_nodes' edge cases. */
static void test_monitor_nodes_actor(void) {
  grove_node_info one;
  size_t n = 7;
  CHECK_EQ(grove_nodes(&one, 1, &n), GROVE_ENOENT);
  CHECK_EQ(n, 0);
  CHECK_EQ(grove_monitor_nodes_to(NULL, NULL), GROVE_ENOENT);
  start_parent(false, 0, 0);
  CHECK_EQ(grove_nodes(NULL, 0, NULL), GROVE_EINVAL);
  CHECK_EQ(grove_nodes(NULL, 1, &n), GROVE_EINVAL);
  CHECK_EQ(grove_nodes(NULL, 0, &n), 0);
  CHECK_EQ(n, 0);
  CHECK_EQ(grove_monitor_nodes_to(NULL, NULL), GROVE_EINVAL);
  kid a, b;
  memset(&a, 0, sizeof a);
  memset(&b, 0, sizeof b);
  CHECK_EQ(grove_demonitor_nodes(), GROVE_ENOENT); /* main is no actor: nothing to remove */
  /* main greenlet subscribes as itself: grove_self() is the null ref there */
  CHECK_EQ(grove_monitor_nodes(), GROVE_EINVAL);
  spawn_kid(&a, "m1", seed_named, NULL, NULL);
  spawn_kid(&b, "m2", seed_named, NULL, NULL);
  CHECK(wait_view(NULL, "m1:0,m2:0", 10) >= 0);
  CHECK_EQ(grove_nodes(&one, 1, &n), GROVE_ERANGE);
  CHECK_EQ(n, 2);
  CHECK(one.incarnation != 0);
  CHECK(strcmp(one.name, "m1") == 0 || strcmp(one.name, "m2") == 0);
  CHECK(strncmp(one.endpoint, "ipc://", 6) == 0);
  CHECK(!one.seed);
  quit_kid(&a);
  quit_kid(&b);
  CHECK_EQ(grove_node_stop(), 0);
}

/* A subscription held by an actor: it gets the events as messages. */
typedef struct watcher {
  grove_actor base;
  grove_queue *q;
} watcher;
static int watcher_init(grove_actor *self, void *arg) {
  ((watcher *)self)->q = arg;
  return grove_monitor_nodes();
}
static int watcher_receive(grove_actor *self, grove_msg *msg) {
  if (grove_msg_is(msg, "unsub")) {
    grove_reply(msg, TR_MSG("rc", grove_demonitor_nodes()));
    return 0;
  }
  grove_queue_put_nowait(((watcher *)self)->q, grove_msg_take(msg));
  return 0;
}
static const grove_actor_class watcher_class = {"watcher", sizeof(watcher), watcher_init,
                                                watcher_receive, NULL};

static void test_monitor_nodes_events(void) {
  start_parent(false, 0, 0);
  grove_queue *q = grove_queue_new(0);
  grove_ref w = GROVE_REF_NULL;
  CHECK_EQ(grove_actor_spawn_ex(&watcher_class, q, NULL, &w), 0);
  kid a;
  memset(&a, 0, sizeof a);
  spawn_kid(&a, "m1", seed_named, NULL, NULL);
  CHECK(wait_view(NULL, "m1:0", 10) >= 0);
  CHECK_EQ(count_msgs(q, GROVE_TAG_NODEUP, "m1", 0.2), 1);
  quit_kid(&a);
  CHECK_EQ(count_msgs(q, GROVE_TAG_NODEDOWN, "m1", 1.0), 1);
  CHECK_EQ(tr_call_int(w, grove_msg_new("unsub"), 2.0), 0);
  CHECK_EQ(tr_call_int(w, grove_msg_new("unsub"), 2.0), GROVE_ENOENT);
  spawn_kid(&a, "m1", seed_named, NULL, NULL);
  CHECK(wait_view(NULL, "m1:0", 10) >= 0);
  CHECK_EQ(count_msgs(q, GROVE_TAG_NODEUP, "m1", 0.3), 0); /* unsubscribed */
  quit_kid(&a);
  tr_end_actor(w);
  grove_msg *m;
  while ((m = tr_mbox_get(q, 0)) != NULL)
    grove_msg_free(m);
  grove_queue_free(q);
  CHECK_EQ(grove_node_stop(), 0);
}

static int64_t where_rc(const char *node, const char *name, grove_ref *ref) {
  grove_msg *r = ask(node, "gwhere", name);
  int64_t rc = tr_int(r, 0);
  if (ref)
    *ref = tr_ref(r, 1);
  grove_msg_free(r);
  return rc;
}

/* Wait until `node` resolves `name` with rc `want`. */
static int wait_where(const char *node, const char *name, int64_t want, double timeout) {
  double t0 = test_now();
  int64_t rc = -1;
  while (test_now() - t0 < timeout) {
    if (node)
      rc = where_rc(node, name, NULL);
    else {
      grove_ref r;
      rc = grove_global_whereis(name, &r);
    }
    if (rc == want)
      return 1;
    grove_sleep(0.02);
  }
  fprintf(stderr, "whereis %s on %s: want %lld, got %lld\n", name, node ? node : "p",
          (long long)want, (long long)rc);
  return 0;
}

static void gcall_check(const char *node, const char *name, const char *want) {
  grove_msg *r = ask(node, "gcall", name);
  CHECK_EQ(tr_int(r, 0), 0);
  const char *s = "";
  size_t n = 0;
  grove_msg_str(r, 1, &s, &n);
  CHECK(n == strlen(want) && memcmp(s, want, n) == 0);
  grove_msg_free(r);
}

/* A global name resolved from every member (a late joiner too), called by
 * name from each, dropped everywhere when its actor ends and when its node
 * leaves; a second registration of a taken name is refused. */
static void test_global_names(void) {
  start_parent(false, 0, 0);
  CHECK_EQ(grove_global_register("", GROVE_REF_NULL), GROVE_EINVAL);
  kid k[3];
  memset(k, 0, sizeof k);
  spawn_kid(&k[0], "m1", seed_named, NULL, NULL);
  spawn_kid(&k[1], "m2", seed_named, NULL, NULL);
  CHECK(wait_view("m2", "m1:0,p:0", 10) >= 0);
  grove_msg *r = ask("m1", "greg", "svc");
  CHECK_EQ(tr_int(r, 0), 0);
  grove_msg_free(r);
  /* the parent's own actor, too */
  grove_ref mine = GROVE_REF_NULL;
  CHECK_EQ(grove_actor_spawn_ex(&svc_class, NULL, NULL, &mine), 0);
  CHECK_EQ(grove_global_register("psvc", mine), 0);
  CHECK_EQ(grove_global_register("psvc", mine), GROVE_EEXIST);
  grove_ref ref = GROVE_REF_NULL;
  CHECK_EQ(grove_global_whereis_wait("svc", &ref, 5.0), 0);
  CHECK_EQ(ref.node, grove_node_id("m1"));
  CHECK(wait_where("m2", "svc", 0, 5));
  CHECK(wait_where("m2", "psvc", 0, 5));
  CHECK(wait_where("m1", "psvc", 0, 5));
  grove_msg *rep = NULL;
  CHECK_EQ(grove_call_name_global("svc", grove_msg_new("hi"), &rep, 5.0), 0);
  const char *s = "";
  size_t n = 0;
  CHECK(rep && grove_msg_str(rep, 0, &s, &n) == 0 && n == 2 && memcmp(s, "m1", 2) == 0);
  grove_msg_free(rep);
  gcall_check("m2", "svc", "m1");
  gcall_check("m1", "psvc", "p");
  /* taken: refused on another member */
  r = ask("m2", "greg", "svc");
  CHECK_EQ(tr_int(r, 0), GROVE_EEXIST);
  grove_msg_free(r);
  /* a late joiner learns the table */
  spawn_kid(&k[2], "m3", seed_named, NULL, NULL);
  CHECK(wait_where("m3", "svc", 0, 5));
  CHECK(wait_where("m3", "psvc", 0, 5));
  gcall_check("m3", "svc", "m1");
  char names[8][64];
  CHECK_EQ(grove_global_names(names, 8), 2);
  /* the actor ends: gone everywhere */
  r = ask("m1", "gend", "svc");
  CHECK_EQ(tr_int(r, 0), 0);
  grove_msg_free(r);
  CHECK(wait_where(NULL, "svc", GROVE_ENOENT, 3));
  CHECK(wait_where("m2", "svc", GROVE_ENOENT, 3));
  CHECK(wait_where("m3", "svc", GROVE_ENOENT, 3));
  CHECK_EQ(grove_call_name_global("svc", grove_msg_new("hi"), &rep, 0.1), GROVE_ENOENT);
  CHECK_EQ(grove_send_name_global("svc", grove_msg_new("hi")), GROVE_ENOENT);
  /* registered again elsewhere, then its node leaves: gone everywhere */
  r = ask("m2", "greg", "svc");
  CHECK_EQ(tr_int(r, 0), 0);
  grove_msg_free(r);
  CHECK(wait_where("m3", "svc", 0, 5));
  CHECK(wait_where(NULL, "svc", 0, 5));
  CHECK_EQ(grove_send_name_global("svc", grove_msg_new("hi")), 0);
  quit_kid(&k[1]);
  CHECK(wait_where(NULL, "svc", GROVE_ENOENT, 3));
  CHECK(wait_where("m3", "svc", GROVE_ENOENT, 3));
  CHECK(wait_where("m1", "svc", GROVE_ENOENT, 3));
  /* unregistered from another member than its owner */
  CHECK(wait_where("m3", "psvc", 0, 1));
  r = ask("m3", "gunreg", "psvc");
  CHECK_EQ(tr_int(r, 0), 0);
  grove_msg_free(r);
  CHECK(wait_where(NULL, "psvc", GROVE_ENOENT, 3));
  CHECK(wait_where("m1", "psvc", GROVE_ENOENT, 3));
  CHECK_EQ(grove_global_unregister("psvc"), GROVE_ENOENT);
  /* and by its owner */
  CHECK_EQ(grove_global_register("psvc", mine), 0);
  CHECK(wait_where("m3", "psvc", 0, 3));
  CHECK_EQ(grove_global_unregister("psvc"), 0);
  CHECK(wait_where("m3", "psvc", GROVE_ENOENT, 3));
  quit_kid(&k[0]);
  quit_kid(&k[2]);
  tr_end_actor(mine);
  CHECK_EQ(grove_node_stop(), 0);
  CHECK_EQ(grove_global_whereis("svc", &ref), GROVE_ENOENT);
}

/* Two members registered one name while they did not know each other (two
 * clusters, merged when the parent connects to both): every member ends up
 * with the registration whose node has the lower (incarnation, name), and
 * the loser's actor is told (GROVE_TAG_GLOBAL_LOST), once. */
static void test_global_conflict(void) {
  start_parent(true, 0, 0);
  kid a, b;
  memset(&a, 0, sizeof a);
  memset(&b, 0, sizeof b);
  spawn_kid(&a, "ma", "mesh=1", NULL, NULL);
  spawn_kid(&b, "mb", "mesh=1", NULL, NULL);
  /* each alone registers "x" */
  CHECK_EQ(grove_node_connect("ma", a.endpoint), 0);
  grove_msg *r = ask("ma", "greg", "x");
  CHECK_EQ(tr_int(r, 0), 0);
  grove_msg_free(r);
  CHECK(wait_where(NULL, "x", 0, 5));
  /* mb learns nothing yet: it is connected to nobody */
  CHECK_EQ(grove_node_connect("mb", b.endpoint), 0);
  r = ask("mb", "greg", "x");
  CHECK(tr_int(r, 0) == 0 || tr_int(r, 0) == GROVE_EEXIST);
  int raced = tr_int(r, 0) == GROVE_EEXIST; /* mb met ma (through p) before it asked */
  grove_msg_free(r);
  if (raced)
    fprintf(stderr, "mb had heard of ma's x before registering: no conflict this run\n");
  /* they mesh through p; the rule decides */
  CHECK(wait_view("ma", "mb:0,p:0", 10) >= 0);
  CHECK(wait_view("mb", "ma:0,p:0", 10) >= 0);
  grove_node_info info[4];
  size_t n = 0;
  CHECK_EQ(grove_nodes(info, 4, &n), 0);
  uint64_t ia = 0, ib = 0;
  for (size_t i = 0; i < n && i < 4; i++) {
    if (strcmp(info[i].name, "ma") == 0)
      ia = info[i].incarnation;
    if (strcmp(info[i].name, "mb") == 0)
      ib = info[i].incarnation;
  }
  const char *winner = raced || ia < ib || (ia == ib) ? "ma" : "mb";
  const char *loser = strcmp(winner, "ma") == 0 ? "mb" : "ma";
  uint32_t wid = grove_node_id(winner);
  /* the same ref everywhere (a ref in a body names its node) */
  double t0 = test_now();
  grove_ref rw = GROVE_REF_NULL, rl = GROVE_REF_NULL, rp = GROVE_REF_NULL;
  while (test_now() - t0 < 5) {
    where_rc(winner, "x", &rw);
    where_rc(loser, "x", &rl);
    grove_global_whereis("x", &rp);
    if (rw.node == wid && rl.node == wid && rp.node == wid)
      break;
    grove_sleep(0.02);
  }
  CHECK_EQ(rp.node, wid);
  CHECK_EQ(rw.node, wid);
  CHECK_EQ(rl.node, wid);
  CHECK(grove_ref_eq(rl, rp) && grove_ref_eq(rw, rp));
  grove_msg *lr = ask(loser, "lost", NULL);
  CHECK_EQ(tr_int(lr, 0), raced ? 0 : 1);
  grove_msg_free(lr);
  lr = ask(winner, "lost", NULL);
  CHECK_EQ(tr_int(lr, 0), 0);
  grove_msg_free(lr);
  gcall_check(loser, "x", winner);
  quit_kid(&a);
  quit_kid(&b);
  CHECK_EQ(grove_node_stop(), 0);
}

/* Hostile input: malformed MEMBERS and GLOBAL are counted and dropped; a
 * flood of invented members is bounded by max_members (counted), and the
 * invented ones are forgotten; a peer that never answers the probe (an
 * older release) gets at most three. */
static void test_hostile_members(void) {
  start_parent(true, 0.8, 8);
  tr_raw evil;
  CHECK_EQ(tr_raw_open(&evil, "evil", grove_node_endpoint()), 0);
  CHECK_EQ(tr_raw_hello(&evil, 5.0), 0);
  msgpack_sbuffer sb;
  msgpack_sbuffer_init(&sb);
  msgpack_packer pk;
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  grove_node_stats st0, st;
  grove_node_stats_get(&st0);
  /* malformed: each one envelope */
#define BAD(s)                                                                                     \
  { s, sizeof s - 1 }
  static const struct {
    const char *b;
    size_t len;
  } bad[] = {
      BAD("\x93\x01\x10\x01"),                   /* entries not an array */
      BAD("\x93\x01\x10\x91\x92\xa1x\xa1y"),     /* an entry of 2 */
      BAD("\x93\x01\x10\x91\x93\xa1x\xa1y\xff"), /* a negative incarnation */
      BAD("\x93\x01\x10\x91\x93\xa0\xa1y\x01"),  /* an empty name */
      BAD("\x92\x01\x10"),                       /* too short */
      BAD("\x96\x01\x11\x07\xa1x\xc0\x01"),      /* GLOBAL: op 7, nil ref */
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    CHECK_EQ(tr_raw_send(&evil, bad[i].b, bad[i].len), 0);
  /* 1025 entries: over the per-envelope limit */
  msgpack_pack_array(&pk, 3);
  msgpack_pack_uint8(&pk, 1);
  msgpack_pack_uint8(&pk, 16);
  msgpack_pack_array(&pk, 1025);
  for (int i = 0; i < 1025; i++) {
    msgpack_pack_array(&pk, 3);
    tr_pack_str(&pk, "f");
    tr_pack_str(&pk, "tcp://127.0.0.1:1");
    msgpack_pack_uint64(&pk, 1);
  }
  CHECK_EQ(tr_raw_send_sb(&evil, &sb), 0);
  /* a flood of 300 invented members in valid envelopes */
  for (int e = 0; e < 3; e++) {
    msgpack_pack_array(&pk, 3);
    msgpack_pack_uint8(&pk, 1);
    msgpack_pack_uint8(&pk, 16);
    msgpack_pack_array(&pk, 100);
    for (int i = 0; i < 100; i++) {
      char nm[32];
      snprintf(nm, sizeof nm, "fake-%d", e * 100 + i);
      msgpack_pack_array(&pk, 3);
      tr_pack_str(&pk, nm);
      tr_pack_str(&pk, "tcp://127.0.0.1:1");
      msgpack_pack_uint64(&pk, 7);
    }
    CHECK_EQ(tr_raw_send_sb(&evil, &sb), 0);
  }
  /* a GLOBAL naming another node's actor */
  msgpack_pack_array(&pk, 6);
  msgpack_pack_uint8(&pk, 1);
  msgpack_pack_uint8(&pk, 17);
  msgpack_pack_uint8(&pk, 0);
  tr_pack_str(&pk, "stolen");
  tr_pack_ref(&pk, grove_node_id("somebody"), 1, 5);
  msgpack_pack_uint64(&pk, 1);
  CHECK_EQ(tr_raw_send_sb(&evil, &sb), 0);
  /* and a GLOBAL of its own actor, which is fine */
  msgpack_pack_array(&pk, 6);
  msgpack_pack_uint8(&pk, 1);
  msgpack_pack_uint8(&pk, 17);
  msgpack_pack_uint8(&pk, 0);
  tr_pack_str(&pk, "evil-svc");
  tr_pack_ref(&pk, grove_node_id("evil"), 1, 5);
  msgpack_pack_uint64(&pk, 1);
  CHECK_EQ(tr_raw_send_sb(&evil, &sb), 0);
  /* count the probes it gets while heartbeating for 1.2 s */
  int probes = 0;
  double t0 = test_now();
  while (test_now() - t0 < 1.2) {
    msgpack_object *o = tr_raw_next(&evil, 0.05);
    if (o && tr_env_kind(o) == 16)
      probes++;
    msgpack_pack_array(&pk, 2);
    msgpack_pack_uint8(&pk, 1);
    msgpack_pack_uint8(&pk, 5);
    tr_raw_send_sb(&evil, &sb);
  }
  grove_node_stats_get(&st);
  CHECK_EQ(st.dropped_malformed - st0.dropped_malformed, 7);
  CHECK(st.members_refused - st0.members_refused >= 292);
  CHECK_EQ(st.global_refused - st0.global_refused, 1);
  /* the evil peer sent MEMBERS, so it speaks: after its first, no more probes */
  CHECK(probes >= 1 && probes <= 3);
  grove_ref r;
  CHECK_EQ(grove_global_whereis("evil-svc", &r), 0);
  CHECK_EQ(grove_global_whereis("stolen", &r), GROVE_ENOENT);
  /* at most 8 invented members were kept, and they are forgotten */
  size_t n = 0;
  grove_nodes(NULL, 0, &n);
  CHECK(n <= 9);
  CHECK(wait_view(NULL, "evil:0", 3) >= 0);
  tr_raw_close(&evil);
  msgpack_sbuffer_destroy(&sb);
  CHECK_EQ(grove_node_stop(), 0);
}

/* A peer that never speaks MEMBERS (an older release) is probed three
 * times at most and works as before. */
static void test_old_peer(void) {
  start_parent(true, 0, 0);
  tr_raw old;
  CHECK_EQ(tr_raw_open(&old, "old", grove_node_endpoint()), 0);
  CHECK_EQ(tr_raw_hello(&old, 5.0), 0);
  msgpack_sbuffer sb;
  msgpack_sbuffer_init(&sb);
  msgpack_packer pk;
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  int probes = 0;
  double t0 = test_now();
  while (test_now() - t0 < 1.5) {
    msgpack_object *o = tr_raw_next(&old, 0.05);
    if (o && tr_env_kind(o) == 16)
      probes++;
    msgpack_pack_array(&pk, 2);
    msgpack_pack_uint8(&pk, 1);
    msgpack_pack_uint8(&pk, 5);
    tr_raw_send_sb(&old, &sb);
  }
  CHECK(probes >= 1 && probes <= 3);
  CHECK(grove_node_is_up("old"));
  CHECK(wait_view(NULL, "old:0", 1) >= 0);
  tr_raw_close(&old);
  msgpack_sbuffer_destroy(&sb);
  CHECK_EQ(grove_node_stop(), 0);
}

/* Membership and global names from a hub other than the node's: the calls
 * run on the node's hub; an actor of this hub is registered, resolved by a
 * member, and dropped there when it ends. */
static void *other_hub(void *arg) {
  (void)arg;
  CHECK(grove_hub_index() == 1);
  CHECK(wait_view(NULL, "m1:0", 10) >= 0);
  grove_queue *q = grove_queue_new(0);
  uint64_t wid = 0;
  CHECK_EQ(grove_monitor_nodes_to(q, &wid), 0);
  kid b;
  memset(&b, 0, sizeof b);
  spawn_kid(&b, "m2", seed_named, NULL, NULL);
  CHECK(wait_view(NULL, "m1:0,m2:0", 10) >= 0);
  CHECK_EQ(count_msgs(q, GROVE_TAG_NODEUP, "m2", 0.5), 1);
  grove_node_info info[1];
  size_t n = 0;
  CHECK_EQ(grove_nodes(info, 1, &n), GROVE_ERANGE);
  CHECK_EQ(n, 2);
  grove_ref svc = GROVE_REF_NULL;
  CHECK_EQ(grove_actor_spawn_ex(&svc_class, NULL, NULL, &svc), 0);
  CHECK_EQ(grove_global_register("h1svc", svc), 0);
  CHECK_EQ(grove_global_register("h1svc", svc), GROVE_EEXIST);
  grove_ref r = GROVE_REF_NULL;
  CHECK_EQ(grove_global_whereis("h1svc", &r), 0);
  CHECK(grove_ref_eq(r, svc));
  char names[4][64];
  CHECK_EQ(grove_global_names(names, 4), 1);
  CHECK_STR(names[0], "h1svc");
  CHECK(wait_where("m1", "h1svc", 0, 5));
  gcall_check("m1", "h1svc", "p");
  gcall_check("m2", "h1svc", "p");
  grove_msg *rep = NULL;
  CHECK_EQ(grove_call_name_global("h1svc", grove_msg_new("hi"), &rep, 5.0), 0);
  grove_msg_free(rep);
  tr_end_actor(svc); /* its end reaches the node's hub, and the members */
  CHECK(wait_where("m1", "h1svc", GROVE_ENOENT, 3));
  CHECK(wait_where(NULL, "h1svc", GROVE_ENOENT, 3));
  quit_kid(&b);
  CHECK_EQ(count_msgs(q, GROVE_TAG_NODEDOWN, "m2", 2.0), 1);
  CHECK_EQ(grove_demonitor(wid), 0);
  grove_sleep(0.05);
  grove_msg *m;
  while ((m = tr_mbox_get(q, 0)) != NULL)
    grove_msg_free(m);
  grove_queue_free(q);
  return NULL;
}

static void test_other_hub(void) {
  CHECK_EQ(grove_hubs_start(2), 0);
  start_parent(false, 0, 0);
  kid a;
  memset(&a, 0, sizeof a);
  spawn_kid(&a, "m1", seed_named, NULL, NULL);
  CHECK_EQ(grove_hub_call_on(1, other_hub, NULL, NULL, 60.0), 0);
  quit_kid(&a);
  CHECK_EQ(grove_node_stop(), 0);
  CHECK_EQ(grove_hubs_stop(5.0), 0);
}

/* Options: bad seeds and advertise are refused before anything starts. */
static void test_bad_options(void) {
  const char *bad1[] = {"@tcp://127.0.0.1:1", NULL};
  const char *bad2[] = {"nothing-here", NULL};
  const char *bad3[] = {"0123456789012345678901234567890123456789012345678901234567890123456789@"
                        "tcp://127.0.0.1:1",
                        NULL};
  grove_node_opts o = {.seeds = bad1};
  CHECK_EQ(grove_node_start("p", tr_ipc("p"), &o), GROVE_EINVAL);
  o.seeds = bad2;
  CHECK_EQ(grove_node_start("p", tr_ipc("p"), &o), GROVE_EINVAL);
  o.seeds = bad3;
  CHECK_EQ(grove_node_start("p", tr_ipc("p"), &o), GROVE_EINVAL);
  o.seeds = NULL;
  o.advertise = "";
  CHECK_EQ(grove_node_start("p", tr_ipc("p"), &o), GROVE_EINVAL);
  /* its own endpoint and name among the seeds: skipped */
  const char *self[] = {"p@ipc:///nowhere", NULL};
  o.advertise = NULL;
  o.seeds = self;
  CHECK_EQ(grove_node_start("p", tr_ipc("p"), &o), 0);
  size_t n = 9;
  CHECK_EQ(grove_nodes(NULL, 0, &n), 0);
  CHECK_EQ(n, 0);
  CHECK_EQ(grove_node_stop(), 0);
}

TR_MAIN(child_main, TEST(test_join_leave), TEST(test_monitor_nodes_actor),
        TEST(test_monitor_nodes_events), TEST(test_global_names), TEST(test_global_conflict),
        TEST(test_hostile_members), TEST(test_old_peer), TEST(test_other_hub),
        TEST(test_bad_options))
