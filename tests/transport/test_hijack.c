/* tests/transport/test_hijack.c - a stranger takes a peer's name: a bare
 * ZeroMQ DEALER whose routing id is "srv" (the name of a real node, a child
 * process: faults_child.h) connects to this node ("par") and says HELLO
 * with another incarnation. It is welcomed, as documented (the name's old
 * session ends: a restarted node looks the same), and then it leaves. The
 * real srv's connection must work again afterwards, whichever node
 * connected to the other: a call to srv's echo answers. */
#include "faults_child.h"

#define PAR "par"
#define SRV "srv"

static void hijack(int srv_dials) {
  const char *par_ep = tr_ipc(srv_dials ? "par2" : "par1");
  grove_node_opts o = {.heartbeat_interval = 0.1, .heartbeat_timeout = 1.0};
  CHECK_EQ(grove_node_start(PAR, par_ep, &o), 0);
  char bound[256], dial[300];
  snprintf(dial, sizeof dial, "dial=%s@%s", PAR, par_ep);
  pid_t pid = tr_spawn(bound, sizeof bound, "srv", SRV, tr_ipc(srv_dials ? "srv2" : "srv1"), NULL,
                       "hbi=0.1", "hbt=1.0", srv_dials ? dial : "x=0", NULL);
  CHECK(pid > 0);
  if (pid <= 0)
    return;
  if (srv_dials)
    CHECK_EQ(grove_node_wait_up(SRV, 5.0), 0);
  else
    CHECK_EQ(grove_node_connect(SRV, bound), 0);
  grove_ref echo = tr_whereis(SRV, "echo");
  CHECK_EQ(tr_call_int(echo, TR_MSG("x", 1), 5.0), 1);

  /* the stranger */
  tr_raw evil;
  CHECK_EQ(tr_raw_open(&evil, SRV, par_ep), 0);
  grove_node_stats st0, st;
  CHECK_EQ(grove_node_stats_get(&st0), 0);
  CHECK_EQ(tr_raw_hello(&evil, 3.0), 0); /* welcomed: incarnation 42 */
  CHECK_EQ(grove_node_stats_get(&st), 0);
  CHECK_EQ(st.nodes_down, st0.nodes_down + 1);
  CHECK(grove_node_is_up(SRV));
  /* it leaves: a goodbye, and its connection closes */
  msgpack_sbuffer sb;
  msgpack_sbuffer_init(&sb);
  msgpack_packer pk;
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  msgpack_pack_array(&pk, 2);
  msgpack_pack_uint8(&pk, 1);
  msgpack_pack_uint8(&pk, 13);
  CHECK_EQ(tr_raw_send_sb(&evil, &sb), 0);
  msgpack_sbuffer_destroy(&sb);
  grove_sleep(0.1);
  tr_raw_close(&evil);

  /* the real srv comes back (its hello, or ours, on a connection that works) */
  double t0 = test_now();
  int rc = grove_node_wait_up(SRV, 10.0);
  CHECK_EQ(rc, 0);
  grove_ref echo2 = GROVE_REF_NULL;
  CHECK_EQ(grove_whereis_remote_wait(SRV, "echo", &echo2, 10.0), 0);
  CHECK(grove_ref_eq(echo2, echo)); /* the same node, not a stranger */
  CHECK_EQ(tr_call_int(echo, TR_MSG("x", 2), 5.0), 2);
  printf("%s: srv answers again %.2f s after the stranger left\n",
         srv_dials ? "srv connected" : "par connected", test_now() - t0);
  CHECK_EQ(grove_send(tr_whereis(SRV, "ctl"), grove_msg_new("quit")), 0);
  CHECK_EQ(grove_node_stop(), 0); /* the quit goes first */
  CHECK_EQ(tr_reap(pid, 5.0), 0);
}

static void test_hijack_par_connected(void) { hijack(0); }
static void test_hijack_srv_connected(void) { hijack(1); }

TR_MAIN(fc_child_main, TEST(test_hijack_par_connected), TEST(test_hijack_srv_connected))
