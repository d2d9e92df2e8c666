/* tests/transport/test_flow_load.c - a busy node stays on time and stays up,
 * and a remote flood into a bounded inbox keeps the receiver's memory flat.
 *
 * Three nodes: this process ("lpar") floods node "lb" (a child) with 100 B
 * and with 256 KiB messages, then makes one of lb's actors work through a
 * backlog of two million messages; lb runs a 10 ms periodic timer meanwhile
 * and is connected to a third node, "lc" (another child). lb and lc use a
 * 1 s heartbeat timeout: neither may declare the other down, nor this node
 * declare lb down, and lb's timer must stay close to its period. The bounds
 * asserted are generous (a shared 2-core machine, sanitizers): the targets
 * (50 ms late for 100 B frames and a backlog, 100 ms for 256 KiB frames) are
 * measured by grove-bench (fairness_timer_lateness,
 * remote_flood_timer_lateness, remote_flood_rss).
 */
#define TR_TIME_LIMIT 110
#define TR_CHILD_TIME_LIMIT 100
#include "flow_child.h"

#define PAR "lpar"

static int child_main(const tr_child *c) { return flow_child_main(c); }

static grove_msg *ctl(const char *node, const char *tag, int64_t a, int64_t b) {
  grove_ref r = GROVE_REF_NULL;
  CHECK_EQ(grove_whereis_remote(node, "ctl", &r, 5.0), 0);
  grove_msg *m = TR_MSG(tag, a, b), *rep = NULL;
  int rc = grove_call(r, m, &rep, 60.0);
  if (rc)
    fprintf(stderr, "ctl %s %s: %s\n", node, tag, grove_err_name(rc));
  CHECK_EQ(rc, 0);
  return rep;
}

static int64_t ctl_int(const char *node, const char *tag, size_t i) {
  grove_msg *r = ctl(node, tag, 0, 0);
  int64_t v = tr_int(r, i);
  grove_msg_free(r);
  return v;
}

static grove_msg *item(size_t size) {
  static char buf[256 * 1024];
  grove_msg *m = grove_msg_new("item");
  grove_msg_pack_bin(m, buf, size);
  return m;
}

typedef struct flood {
  grove_ref to;
  size_t size;
  volatile int stop;
  long sent;
  int rc;
} flood;

static void *flood_fn(void *arg) {
  flood *f = arg;
  while (!f->stop) {
    if ((f->rc = grove_send_timeout(f->to, item(f->size), 10.0)) != 0)
      break;
    if (++f->sent % 256 == 0)
      grove_sleep(0);
  }
  return NULL;
}

static pid_t spawn_node(const char *name, char *bound, size_t cap) {
  pid_t pid = tr_spawn(bound, cap, "flow", name, tr_ipc(name), PAR, "hbi=0.2", "hbt=1", NULL);
  CHECK(pid > 0);
  return pid;
}

/* lb's worst timer lateness since its ticker (re)started, in ms. */
static double lateness(void) {
  grove_msg *r = ctl("lb", "tickrep", 0, 0);
  double ms = (double)tr_int(r, 0) / 1e3;
  int64_t ticks = tr_int(r, 1);
  grove_msg_free(r);
  CHECK(ticks > 10);
  return ms;
}

static void flood_for(const char *what, size_t size, double secs, double bound_ms) {
  grove_msg_free(ctl("lb", "tick", 1, 0));
  grove_ref sink = GROVE_REF_NULL;
  CHECK_EQ(grove_whereis_remote("lb", "sink", &sink, 5.0), 0);
  flood f = {.to = sink, .size = size};
  grove_greenlet *g = grove_spawn(flood_fn, &f);
  grove_sleep(secs);
  f.stop = 1;
  CHECK_EQ(grove_join(g, 20.0), 0);
  grove_greenlet_release(g);
  CHECK_EQ(f.rc, 0);
  double late = lateness();
  printf("     lb received %ld %s messages in %.1f s; its 10 ms timer was %.1f ms late at worst\n",
         f.sent, what, secs, late);
  CHECK(late < bound_ms);
}

static void test_busy_node_stays_up(void) {
  char bc[256], bb[256];
  pid_t pc = spawn_node("lc", bc, sizeof bc), pb = spawn_node("lb", bb, sizeof bb);
  grove_node_opts o = {.heartbeat_interval = 0.2, .heartbeat_timeout = 1};
  CHECK_EQ(grove_node_start(PAR, tr_ipc(PAR), &o), 0);
  CHECK_EQ(grove_node_connect("lc", bc), 0);
  CHECK_EQ(grove_node_connect("lb", bb), 0);
  /* lb connects to lc */
  grove_ref lbctl = GROVE_REF_NULL;
  CHECK_EQ(grove_whereis_remote("lb", "ctl", &lbctl, 5.0), 0);
  grove_msg *m = grove_msg_new("connect"), *r = NULL;
  grove_msg_pack_str(m, "lc");
  grove_msg_pack_str(m, bc);
  CHECK_EQ(grove_call(lbctl, m, &r, 10.0), 0);
  CHECK_EQ(tr_int(r, 0), 0);
  grove_msg_free(r);

  flood_for("100 B", 100, 2.0, 500);
  flood_for("256 KiB", 256 * 1024, 2.0, 500);

  /* a backlog of two million messages on one of lb's actors (built by a
   * greenlet of lb's that yields every 1000 sends) */
  grove_msg_free(ctl("lb", "tick", 1, 0));
  grove_msg_free(ctl("lb", "backlog", 2000000, 0));
  printf("     while lb built the backlog its timer was %.1f ms late at worst\n", lateness());
  grove_msg_free(ctl("lb", "tick", 1, 0));
  double t0 = test_now();
  grove_msg_free(ctl("lb", "backlog-go", 0, 0));
  r = ctl("lb", "backlog-wait", 0, 0);
  CHECK_EQ(tr_int(r, 0), 0);
  CHECK_EQ(tr_int(r, 1), 2000000);
  grove_msg_free(r);
  double late = lateness();
  printf("     lb's actor worked through the 2M backlog in %.2f s; the timer was %.1f ms late "
         "at worst\n",
         test_now() - t0, late);
  CHECK(late < 500);

  /* nobody was taken for down */
  int64_t down_b = ctl_int("lb", "fstats", 5), down_c = ctl_int("lc", "fstats", 5);
  grove_node_stats s;
  CHECK_EQ(grove_node_stats_get(&s), 0);
  printf("     nodes declared down: by lb %lld, by lc %lld, by this node %llu\n", (long long)down_b,
         (long long)down_c, (unsigned long long)s.nodes_down);
  CHECK_EQ(down_b, 0);
  CHECK_EQ(down_c, 0);
  CHECK_EQ(s.nodes_down, 0);
  CHECK_EQ(grove_node_stop(), 0);
  CHECK_EQ(tr_reap(pb, 20.0), 0);
  /* lc saw lb go (it stopped): lc is still serving and stops with us gone */
  CHECK_EQ(tr_reap(pc, 20.0), 0);
}

/* 200,000 sends of 100 B into a 64-message inbox: the receiver's memory
 * stays flat (it was 250 MB for 1M before flow control). */
static void test_flood_into_bounded_inbox(void) {
  char bb[256];
  pid_t pb = tr_spawn(bb, sizeof bb, "flow", "lb", tr_ipc("lb"), PAR, "inbox=64", "delay=0", NULL);
  CHECK(pb > 0);
  CHECK_EQ(grove_node_start(PAR, tr_ipc(PAR), NULL), 0);
  CHECK_EQ(grove_node_connect("lb", bb), 0);
  grove_ref slow = GROVE_REF_NULL;
  CHECK_EQ(grove_whereis_remote("lb", "slow", &slow, 5.0), 0);
  grove_msg *r = ctl("lb", "rss", 0, 0);
  int64_t rss0 = tr_int(r, 0);
  grove_msg_free(r);
  const int N = 200000;
  double t0 = test_now();
  for (int i = 0; i < N; i++)
    CHECK_EQ(grove_send(slow, item(100)), 0);
  double end = test_now() + 60;
  while (ctl_int("lb", "report", 0) < N && test_now() < end)
    grove_sleep(0.02);
  double took = test_now() - t0;
  r = ctl("lb", "report", 0, 0);
  int64_t got = tr_int(r, 0), longest = tr_int(r, 1);
  grove_msg_free(r);
  r = ctl("lb", "rss", 0, 0);
  int64_t rss1 = tr_int(r, 0), hwm = tr_int(r, 1);
  grove_msg_free(r);
  printf("     %d x 100 B into a 64-message inbox in %.2f s: inbox at most %lld; receiver RSS "
         "%.1f MiB before, %.1f MiB peak, %.1f MiB after\n",
         N, took, (long long)longest, rss0 / 1024.0, hwm / 1024.0, rss1 / 1024.0);
  CHECK_EQ(got, N);
  CHECK(longest <= 64);
  CHECK(hwm - rss0 < RSS_SLACK_KB + 64 * 1024);
  CHECK_EQ(grove_node_stop(), 0);
  CHECK_EQ(tr_reap(pb, 20.0), 0);
}

TR_MAIN(child_main, TEST(test_busy_node_stays_up), TEST(test_flood_into_bounded_inbox))
