/* tests/transport/test_curve.c - CURVE: encrypted links and the allow-list.
 *
 * The child is node "srv" with a CURVE keypair (and, in the first case, an
 * allow-list of one client key) and an actor "calc" (call "add" [a, b] ->
 * [a + b]). This process plays several clients in turn (one node at a time
 * per thread): with the allowed keypair it connects and calls; with another
 * keypair, with the wrong server key or without CURVE it does not get
 * through (the connect times out) and nothing of it reaches the server.
 */
#include "tr_util.h"

#define SRV "srv"

/* ---- child ---------------------------------------------------------------------------------- */

static int calc_receive(grove_actor *self, grove_msg *msg) {
  if (grove_msg_is_call(msg))
    grove_reply(msg, TR_MSG("sum", tr_int(msg, 0) + tr_int(msg, 1)));
  return 0;
}
static const grove_actor_class calc_class = {"calc", sizeof(grove_actor), NULL, calc_receive, NULL};

static int child_main(const tr_child *c) {
  if (tr_child_node_start(c) != 0)
    return 2;
  grove_actor_opts ao = {.name = "calc"};
  grove_ref r;
  CHECK_EQ(grove_actor_spawn_ex(&calc_class, NULL, &ao, &r), 0);
  tr_track(r);
  tr_child_serve(c);
  return tr_child_finish();
}

/* ---- parent -------------------------------------------------------------------------------- */

typedef struct keypair {
  char pub[41], sec[41];
} keypair;

static keypair new_keys(void) {
  keypair k;
  CHECK_EQ(grove_curve_keypair(k.pub, k.sec), 0);
  CHECK_EQ(strlen(k.pub), 40);
  CHECK_EQ(strlen(k.sec), 40);
  return k;
}

/* Start a client node and try to connect; returns connect's code. The
 * node is left running. */
static int client(const char *name, const keypair *k, const char *server_key, const char *ep,
                  double timeout) {
  grove_node_opts o = {0};
  if (k) {
    o.curve_public = k->pub;
    o.curve_secret = k->sec;
  }
  CHECK_EQ(grove_node_start(name, tr_ipc(name), &o), 0);
  return grove_node_connect_ex(SRV, ep, server_key, timeout);
}

static int64_t add_remote(int64_t a, int64_t b) {
  grove_ref calc;
  int rc = grove_whereis_remote(SRV, "calc", &calc, 3.0);
  if (rc)
    return rc;
  return tr_call_int(calc, TR_MSG("add", a, b), 3.0);
}

static int count_lines(const char *path, const char *needle) {
  FILE *f = fopen(path, "r");
  int n = 0;
  char buf[512];
  while (f && fgets(buf, sizeof buf, f))
    n += strstr(buf, needle) != NULL;
  if (f)
    fclose(f);
  return n;
}

static void test_allow_list(void) {
  keypair s = new_keys(), a = new_keys(), b = new_keys();
  CHECK(strcmp(a.pub, b.pub) != 0);
  char arg_pub[64], arg_sec[64], arg_allow[64], arg_err[128], errlog[100], bound[256];
  snprintf(arg_pub, sizeof arg_pub, "pub=%s", s.pub);
  snprintf(arg_sec, sizeof arg_sec, "sec=%s", s.sec);
  snprintf(arg_allow, sizeof arg_allow, "allow=%s", a.pub);
  snprintf(errlog, sizeof errlog, "/tmp/grove-test-%d-srv.log", (int)getpid());
  snprintf(arg_err, sizeof arg_err, "stderr=%s", errlog);
  unlink(errlog);
  pid_t pid = tr_spawn(bound, sizeof bound, "curve", SRV, "tcp://127.0.0.1:0", "good", arg_pub,
                       arg_sec, arg_allow, arg_err, NULL);
  CHECK(pid > 0);
  if (pid <= 0)
    return;

  /* a keypair that is not on the list: refused */
  double t = test_now();
  CHECK_EQ(client("bad", &b, s.pub, bound, 1.0), GROVE_ETIMEDOUT);
  double waited = test_now() - t;
  CHECK(waited >= 0.9 && waited < 2.5);
  CHECK(!grove_node_is_up(SRV));
  grove_ref r;
  CHECK_EQ(grove_whereis_remote(SRV, "calc", &r, 0.5), GROVE_EHOSTUNREACH);
  CHECK_EQ(grove_node_stop(), 0);
  int refusals = count_lines(errlog, "refused a CURVE client");
  printf("     one second of a refused client: %d refusal line(s) in the server's log\n", refusals);
  CHECK(refusals >= 1);

  /* the allowed keypair with the wrong server key: no handshake */
  CHECK_EQ(client("wrongkey", &a, b.pub, bound, 0.5), GROVE_ETIMEDOUT);
  CHECK_EQ(grove_node_stop(), 0);

  /* no CURVE at all: no handshake */
  CHECK_EQ(client("plain", NULL, NULL, bound, 0.5), GROVE_ETIMEDOUT);
  CHECK(!grove_node_is_up(SRV));
  CHECK_EQ(grove_node_stop(), 0);

  /* a CURVE node needs the server's key to connect */
  CHECK_EQ(client("nokey", &a, NULL, bound, 0.5), GROVE_EINVAL);
  CHECK_EQ(grove_node_stop(), 0);
  /* keys must be 40 characters of Z85 */
  grove_node_opts bad_opts = {.curve_public = "tooshort", .curve_secret = a.sec};
  CHECK_EQ(grove_node_start("x", tr_ipc("x"), &bad_opts), GROVE_EINVAL);
  CHECK(grove_node_name() == NULL);

  /* the allowed keypair: in, and calls work */
  CHECK_EQ(client("good", &a, s.pub, bound, 3.0), 0);
  CHECK(grove_node_is_up(SRV));
  CHECK_EQ(add_remote(2, 3), 5);
  /* nobody else ever reached the server */
  grove_ref ctl;
  CHECK_EQ(grove_whereis_remote(SRV, "ctl", &ctl, 3.0), 0);
  grove_msg *st = NULL;
  CHECK_EQ(grove_call(ctl, grove_msg_new("stats"), &st, 3.0), 0);
  CHECK_EQ(tr_int(st, 3), 0); /* dropped_unknown_peer */
  CHECK_EQ(tr_int(st, 4), 1); /* nodes_up: "good" only */
  CHECK_EQ(tr_int(st, 2), 0); /* dropped_malformed */
  grove_msg_free(st);
  CHECK_EQ(grove_node_stop(), 0);
  CHECK_EQ(tr_reap(pid, 5.0), 0);
  unlink(errlog);
}

/* Without an allow-list, any client that knows the server's key gets in;
 * the key may come from the options (curve_server_key). */
static void test_open_curve(void) {
  keypair s = new_keys(), x = new_keys();
  char arg_pub[64], arg_sec[64], bound[256];
  snprintf(arg_pub, sizeof arg_pub, "pub=%s", s.pub);
  snprintf(arg_sec, sizeof arg_sec, "sec=%s", s.sec);
  pid_t pid =
      tr_spawn(bound, sizeof bound, "curve", SRV, tr_ipc("srv"), "any", arg_pub, arg_sec, NULL);
  CHECK(pid > 0);
  if (pid <= 0)
    return;
  CHECK_EQ(client("plain", NULL, NULL, bound, 0.5), GROVE_ETIMEDOUT);
  CHECK_EQ(grove_node_stop(), 0);
  grove_node_opts o = {.curve_public = x.pub, .curve_secret = x.sec, .curve_server_key = s.pub};
  CHECK_EQ(grove_node_start("any", tr_ipc("any"), &o), 0);
  CHECK_EQ(grove_node_connect(SRV, bound), 0);
  CHECK_EQ(add_remote(40, 2), 42);
  /* many calls over the encrypted link */
  grove_ref calc;
  CHECK_EQ(grove_whereis_remote(SRV, "calc", &calc, 3.0), 0);
  int ok = 0;
  for (int i = 0; i < 500; i++)
    ok += tr_call_int(calc, TR_MSG("add", i, 1), 3.0) == i + 1;
  CHECK_EQ(ok, 500);
  CHECK_EQ(grove_node_stop(), 0);
  CHECK_EQ(tr_reap(pid, 5.0), 0);
}

/* A CURVE client cannot talk to a node without CURVE. */
static void test_curve_to_plain(void) {
  keypair x = new_keys(), y = new_keys();
  char bound[256];
  pid_t pid = tr_spawn(bound, sizeof bound, "curve", SRV, tr_ipc("srv"), "plain", NULL);
  CHECK(pid > 0);
  if (pid <= 0)
    return;
  CHECK_EQ(client("secure", &x, y.pub, bound, 0.5), GROVE_ETIMEDOUT);
  CHECK_EQ(grove_node_stop(), 0);
  CHECK_EQ(client("plain", NULL, NULL, bound, 3.0), 0);
  CHECK_EQ(add_remote(1, 2), 3);
  CHECK_EQ(grove_node_stop(), 0);
  CHECK_EQ(tr_reap(pid, 5.0), 0);
}

TR_MAIN(child_main, TEST(test_allow_list), TEST(test_open_curve), TEST(test_curve_to_plain))
