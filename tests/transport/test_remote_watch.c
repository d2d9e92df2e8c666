/* tests/transport/test_remote_watch.c - plain greenlets watching actors on
 * another node and the node itself (grove_monitor_to,
 * grove_monitor_node_to), and the node's events in the logger (node up,
 * node down with its peer).
 *
 * The parent is node "par", the child (tr_util.h) node "srv", whose ctl
 * answers "spawn": a "mortal" actor that stops on "stop". */
#include "tr_util.h"

#include <stdatomic.h>

#define PAR "par"
#define SRV "srv"

/* ---- the child ---------------------------------------------------------------------------- */

static int mortal_receive(grove_actor *self, grove_msg *msg) {
  return grove_msg_is(msg, "stop") ? GROVE_STOP : 0;
}
static const grove_actor_class mortal_class = {"mortal", sizeof(grove_actor), NULL, mortal_receive,
                                               NULL};

static int srv_ctl(grove_actor *self, grove_msg *msg) {
  if (grove_msg_is(msg, "spawn")) {
    grove_ref r = grove_actor_spawn(&mortal_class, NULL);
    tr_track(r);
    grove_msg *rep = grove_msg_new("spawned");
    grove_msg_pack_ref(rep, r);
    grove_reply(msg, rep);
    return 0;
  }
  return -1000;
}

static int child_main(const tr_child *c) {
  if (tr_child_node_start(c) != 0)
    return 2;
  tr_ctl_hook = srv_ctl;
  tr_child_serve(c);
  return tr_child_finish();
}

/* ---- the parent ------------------------------------------------------------------------- */

/* The node events the logger saw (any thread may call a hook). */
static atomic_int node_up, node_down, node_down_peer_ok;
static void node_events(const grove_log_event *ev, void *user) {
  if (ev->kind == GROVE_LOG_NODE_UP && ev->peer && strcmp(ev->peer, SRV) == 0)
    atomic_fetch_add(&node_up, 1);
  if (ev->kind == GROVE_LOG_NODE_DOWN) {
    atomic_fetch_add(&node_down, 1);
    if (ev->peer && strcmp(ev->peer, SRV) == 0 && ev->node && strcmp(ev->node, PAR) == 0)
      atomic_fetch_add(&node_down_peer_ok, 1);
  }
}

static grove_ref spawn_remote(void) {
  grove_ref ctl = GROVE_REF_NULL, r = GROVE_REF_NULL;
  CHECK_EQ(grove_whereis_remote(SRV, "ctl", &ctl, 5.0), 0);
  grove_msg *rep = NULL;
  CHECK_EQ(grove_call(ctl, grove_msg_new("spawn"), &rep, 5.0), 0);
  if (rep)
    r = tr_ref(rep, 0);
  grove_msg_free(rep);
  CHECK_EQ(r.node, grove_node_id(SRV));
  return r;
}

static pid_t setup(const char *ep, const grove_node_opts *o, const char *hb_args) {
  char bound[256];
  pid_t pid = tr_spawn(bound, sizeof bound, "srv", SRV, ep, PAR, hb_args, NULL);
  CHECK(pid > 0);
  if (pid <= 0)
    return pid;
  CHECK_EQ(grove_node_start(PAR, tr_ipc("par"), o), 0);
  CHECK_EQ(grove_node_connect(SRV, bound), 0);
  CHECK(grove_node_is_up(SRV));
  return pid;
}

static grove_msg *get(grove_queue *q, double timeout) {
  void *item = NULL;
  return grove_queue_get(q, &item, timeout) == 0 ? item : NULL;
}

static void check_down(grove_msg *m, uint64_t id, grove_ref target, int reason) {
  CHECK(m != NULL);
  if (!m)
    return;
  CHECK_STR(grove_msg_tag(m), GROVE_TAG_DOWN);
  CHECK_EQ(tr_int(m, 0), (int64_t)id);
  CHECK(grove_ref_eq(tr_ref(m, 1), target));
  CHECK_EQ(tr_int(m, 2), reason);
  grove_msg_free(m);
}

static void check_node_msg(grove_msg *m, const char *tag) {
  CHECK(m != NULL);
  if (!m)
    return;
  CHECK_STR(grove_msg_tag(m), tag);
  const char *s = NULL;
  size_t n = 0;
  CHECK(grove_msg_str(m, 0, &s, &n) == 0 && n == strlen(SRV) && memcmp(s, SRV, n) == 0);
  grove_msg_free(m);
}

static void test_remote_actor(void) {
  atomic_store(&node_up, 0);
  grove_log_set_level(GROVE_LOG_DEBUG); /* node up is a debug event */
  grove_log_hook(node_events, NULL);
  pid_t pid = setup(tr_ipc("srv"), NULL, NULL);
  if (pid <= 0)
    return;
  grove_log_hook(NULL, NULL);
  grove_log_set_level(GROVE_LOG_INFO);
  CHECK_EQ(atomic_load(&node_up), 1);

  grove_queue *q = grove_queue_new(0);
  grove_ref x = spawn_remote(), y = spawn_remote();
  uint64_t ix = 0, iy = 0;
  CHECK_EQ(grove_monitor_to(x, q, &ix), 0);
  CHECK_EQ(grove_monitor_to(y, q, &iy), 0);
  CHECK(ix != 0 && iy != 0 && ix != iy);
  /* y's watch is cancelled: its end says nothing */
  CHECK_EQ(grove_demonitor(iy), 0);
  CHECK_EQ(grove_send(y, grove_msg_new("stop")), 0);
  CHECK_EQ(grove_send(x, grove_msg_new("stop")), 0);
  check_down(get(q, 5.0), ix, x, GROVE_EXIT_NORMAL);
  CHECK(get(q, 0.1) == NULL);
  /* a remote ref that is gone: the node answers with a down at once */
  uint64_t iz = 0;
  CHECK_EQ(grove_monitor_to(x, q, &iz), 0);
  check_down(get(q, 5.0), iz, x, GROVE_ENOENT);

  CHECK_EQ(grove_node_stop(), 0);
  CHECK_EQ(tr_reap(pid, 5.0), 0);
  CHECK_EQ(grove_queue_free(q), 0);
}

static void test_node_down(void) {
  atomic_store(&node_down, 0);
  atomic_store(&node_down_peer_ok, 0);
  grove_node_opts o = {.heartbeat_interval = 0.25, .heartbeat_timeout = 1.0};
  const char *ep = tr_ipc("srv-hb");
  pid_t pid = setup(ep, &o, "hbi=0.25");
  if (pid <= 0)
    return;
  grove_queue *nq = grove_queue_new(0), *aq = grove_queue_new(0);
  uint64_t nid = 0, aid = 0;
  CHECK_EQ(grove_monitor_node_to(NULL, nq, &nid), GROVE_EINVAL);
  CHECK_EQ(grove_monitor_node_to(SRV, NULL, &nid), GROVE_EINVAL);
  CHECK_EQ(grove_monitor_node_to(SRV, nq, &nid), 0);
  CHECK(nid != 0);
  grove_ref x = spawn_remote();
  CHECK_EQ(grove_monitor_to(x, aq, &aid), 0);
  grove_log_hook(node_events, NULL);
  double t0 = test_now();
  tr_kill9(pid);
  grove_log_set_level(GROVE_LOG_WARN);
  check_node_msg(get(nq, 5.0), GROVE_TAG_NODEDOWN);
  check_down(get(aq, 5.0), aid, x, GROVE_EXIT_NOCONNECTION);
  double detect = test_now() - t0;
  printf("     node down seen by a greenlet after %.3f s (heartbeat_timeout 1.0)\n", detect);
  CHECK(detect < 4.0);
  grove_log_hook(NULL, NULL);
  grove_log_set_level(GROVE_LOG_INFO);
  CHECK_EQ(atomic_load(&node_down), 1);
  CHECK_EQ(atomic_load(&node_down_peer_ok), 1);

  /* it comes back, same name and endpoint: the node watch (which lasts)
   * says so */
  char bound[256];
  pid = tr_spawn(bound, sizeof bound, "srv", SRV, ep, PAR, "hbi=0.25", NULL);
  CHECK(pid > 0);
  if (pid > 0) {
    CHECK_EQ(grove_node_wait_up(SRV, 5.0), 0);
    check_node_msg(get(nq, 5.0), GROVE_TAG_NODEUP);
  }
  CHECK_EQ(grove_demonitor(nid), 0);
  CHECK_EQ(grove_demonitor(nid), GROVE_ENOENT);
  CHECK_EQ(grove_node_stop(), 0);
  if (pid > 0)
    CHECK_EQ(tr_reap(pid, 5.0), 0);
  CHECK(get(nq, 0.05) == NULL); /* nothing after demonitor */
  CHECK_EQ(grove_queue_free(nq), 0);
  CHECK_EQ(grove_queue_free(aq), 0);
  tr_unlink_ipc(ep);
}

static void test_no_node(void) {
  grove_queue *q = grove_queue_new(0);
  uint64_t id = 7;
  CHECK_EQ(grove_monitor_node_to(SRV, q, &id), GROVE_ENOENT);
  CHECK_EQ(id, 0);
  CHECK_EQ(grove_queue_free(q), 0);
}

TR_MAIN(child_main, TEST(test_remote_actor), TEST(test_node_down), TEST(test_no_node))
