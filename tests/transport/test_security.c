/* tests/transport/test_security.c - no network without CURVE, and key files.
 *
 * The rule: a node that would bind, advertise, join through or connect to
 * an address that is not loopback without CURVE is refused with
 * GROVE_EINSECURE, before anything is opened; allow_open (or keys) lets it
 * through. The non-loopback addresses here are TEST-NET-1 (192.0.2.0/24,
 * RFC 5737), never assigned to this machine: a start that passes the rule
 * fails at the bind (EADDRNOTAVAIL), so nothing of this test ever reaches a
 * network. Loopback and ipc:// stay open by default.
 *
 * Key files: one written by grove_curve_keyfile_save and one in czmq's own
 * layout load; a missing, empty, short, non-Z85, mismatched, public-only,
 * oversized file and a directory each give their code, never a crash; two
 * nodes with keys from the same file talk over CURVE (a child process and
 * this one), and a node given a bad file does not start.
 *
 * Across machines (namespaces): tests/transport/cluster_netns.c.
 */
#include "tr_util.h"

#include <sys/stat.h>

static char dir[128];

static const char *path_in_dir(const char *name) {
  static char p[8][256];
  static int k;
  char *out = p[k++ % 8];
  snprintf(out, 256, "%s/%s", dir, name);
  return out;
}

static void write_file(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  CHECK(f != NULL);
  if (!f)
    return;
  fputs(text, f);
  fclose(f);
  chmod(path, 0600);
}

static void make_dir(void) {
  snprintf(dir, sizeof dir, "/tmp/grove-sec-%d", (int)getpid());
  mkdir(dir, 0700);
}

static void remove_dir(void) {
  char cmd[200];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  (void)!system(cmd);
}

/* ---- child: a CURVE node whose keys come from a file -------------------------------------- */

static int calc_receive(grove_actor *self, grove_msg *msg) {
  (void)self;
  if (grove_msg_is_call(msg))
    grove_reply(msg, TR_MSG("sum", tr_int(msg, 0) + tr_int(msg, 1)));
  return 0;
}
static const grove_actor_class calc_class = {"calc", sizeof(grove_actor), NULL, calc_receive, NULL};

static int child_main(const tr_child *c) {
  if (tr_child_node_start(c) != 0)
    return 2;
  tr_spawn_named(&calc_class, "calc");
  tr_child_serve(c);
  return tr_child_finish();
}

/* ---- the rule ------------------------------------------------------------------------------ */

static void test_strerror(void) {
  CHECK(strstr(grove_strerror(GROVE_EINSECURE), "CURVE") != NULL);
  CHECK_STR(grove_err_name(GROVE_EINSECURE), "GROVE_EINSECURE");
}

/* A cluster's node (mesh, seeds, a launched worker) is refused without
 * keys, whatever the non-loopback form; nothing bound. */
static void test_bind_refused(void) {
  const char *eps[] = {
      "tcp://192.0.2.1:7700",     "tcp://0.0.0.0:0",     "tcp://*:0",
      "tcp://[2001:db8::1]:7700", "tcp://example.com:1", "tcp://lo:0",
      "tcp://128.0.0.1:7700",     "ws://127.0.0.1:7700", "pgm://eth0;239.1.1.1:5555"};
  grove_node_opts mesh = {.mesh = true};
  for (size_t i = 0; i < sizeof eps / sizeof eps[0]; i++) {
    int rc = grove_node_start("a", eps[i], &mesh);
    if (rc != GROVE_EINSECURE)
      fprintf(stderr, "%s: %s\n", eps[i], grove_err_name(rc));
    CHECK_EQ(rc, GROVE_EINSECURE);
    CHECK(grove_node_name() == NULL);
  }
}

/* A plain node (no seeds, no mesh) keeps working open on a network, as
 * every program before clusters did; it is warned, not refused. */
static void test_plain_node_warned(void) {
  grove_node_opts empty = {0};
  int rc = grove_node_start("a", "tcp://192.0.2.1:7700", &empty);
  CHECK(rc != GROVE_EINSECURE && rc != 0); /* the address is not ours */
  CHECK(grove_node_name() == NULL);
  CHECK_EQ(grove_node_start("a", "tcp://0.0.0.0:0", NULL), 0);
  CHECK_EQ(grove_node_connect_ex("far", "tcp://192.0.2.1:7700", NULL, 0), 0); /* dialled */
  CHECK_EQ(grove_node_stop(), 0);
}

/* Loopback and ipc stay open by default. */
static void test_loopback_open(void) {
  const char *eps[] = {"tcp://127.0.0.1:0", "tcp://127.1.2.3:0", tr_ipc("open")};
  for (size_t i = 0; i < sizeof eps / sizeof eps[0]; i++) {
    int rc = grove_node_start("a", eps[i], NULL);
    if (rc)
      fprintf(stderr, "%s: %s\n", eps[i], grove_err_name(rc));
    CHECK_EQ(rc, 0);
    CHECK_EQ(grove_node_stop(), 0);
  }
  /* ::1 where this machine has IPv6 loopback: not EINSECURE in any case. */
  int rc = grove_node_start("a", "tcp://[::1]:0", NULL);
  CHECK(rc != GROVE_EINSECURE);
  if (rc == 0)
    CHECK_EQ(grove_node_stop(), 0);
}

/* allow_open, or keys, pass the rule: the start then fails at the bind,
 * the address not being ours. */
static void test_override(void) {
  grove_node_opts o = {.allow_open = true};
  int rc = grove_node_start("a", "tcp://192.0.2.1:7700", &o);
  CHECK(rc != GROVE_EINSECURE && rc != 0);
  char pub[41], sec[41];
  CHECK_EQ(grove_curve_keypair(pub, sec), 0);
  grove_node_opts k = {.curve_public = pub, .curve_secret = sec};
  rc = grove_node_start("a", "tcp://192.0.2.1:7700", &k);
  CHECK(rc != GROVE_EINSECURE && rc != 0);
  CHECK(grove_node_name() == NULL);
}

/* Seeds, advertise and connect are held to the rule too. */
static void test_seeds_advertise_connect(void) {
  const char *seeds[] = {"n1@tcp://192.0.2.1:7700", NULL};
  grove_node_opts o = {.seeds = seeds};
  CHECK_EQ(grove_node_start("a", tr_ipc("a"), &o), GROVE_EINSECURE);
  const char *seeds2[] = {"tcp://127.0.0.1:1", "tcp://192.0.2.1:7700", NULL};
  o.seeds = seeds2;
  CHECK_EQ(grove_node_start("a", tr_ipc("a"), &o), GROVE_EINSECURE);
  grove_node_opts adv = {.advertise = "tcp://192.0.2.1:7700", .mesh = true};
  CHECK_EQ(grove_node_start("a", "tcp://127.0.0.1:0", &adv), GROVE_EINSECURE);
  CHECK(grove_node_name() == NULL);
  /* A loopback cluster node connecting out to a network: refused, nothing
   * dialled. */
  grove_node_opts mesh = {.mesh = true};
  CHECK_EQ(grove_node_start("a", tr_ipc("a"), &mesh), 0);
  CHECK_EQ(grove_node_connect_ex("far", "tcp://192.0.2.1:7700", NULL, 0), GROVE_EINSECURE);
  CHECK(!grove_node_is_up("far"));
  size_t count = 99;
  CHECK_EQ(grove_nodes(NULL, 0, &count), 0);
  CHECK_EQ(count, 0);
  CHECK_EQ(grove_node_connect_ex("near", "tcp://127.0.0.1:1", NULL, 0), 0);
  CHECK_EQ(grove_node_connect_ex("host", "tcp://localhost:1", NULL, 0), 0);
  CHECK_EQ(grove_node_connect_ex("six", "tcp://[::1]:1", NULL, 0), 0);
  CHECK_EQ(grove_node_stop(), 0);
}

/* A cluster whose workers would bind a network without CURVE: refused
 * before any process is started, unless allow_open. */
static void test_cluster_refused(void) {
  CHECK_EQ(grove_node_start("coord", tr_ipc("coord"), NULL), 0);
  const char *argv[] = {"/bin/true", NULL};
  grove_cluster_host hosts[] = {{.address = "192.0.2.1"}, {.address = "192.0.2.2"}};
  grove_cluster_opts co = {.argv = argv, .workers = 2, .hosts = hosts, .nhosts = 2, .quiet = true};
  grove_cluster *c = (grove_cluster *)1;
  CHECK_EQ(grove_cluster_start(&co, &c), GROVE_EINSECURE);
  CHECK(c == NULL);
  co.hosts = NULL;
  co.nhosts = 0;
  co.endpoint_base = "tcp://192.0.2.1";
  CHECK_EQ(grove_cluster_start(&co, &c), GROVE_EINSECURE);
  /* Bad host lists. */
  co.endpoint_base = NULL;
  co.hosts = hosts;
  co.nhosts = -1;
  CHECK_EQ(grove_cluster_start(&co, &c), GROVE_EINVAL);
  grove_cluster_host nohost[] = {{.address = NULL}};
  co.hosts = nohost;
  co.nhosts = 1;
  CHECK_EQ(grove_cluster_start(&co, &c), GROVE_EINVAL);
  const char *const empty_cmd[] = {NULL};
  grove_cluster_host emptycmd[] = {{.address = "127.0.0.1", .command = empty_cmd}};
  co.hosts = emptycmd;
  CHECK_EQ(grove_cluster_start(&co, &c), GROVE_EINVAL);
  co.hosts = hosts;
  co.nhosts = 2;
  co.failover = (grove_cluster_failover)7;
  CHECK_EQ(grove_cluster_start(&co, &c), GROVE_EINVAL);
  CHECK_EQ(grove_node_stop(), 0);
}

/* ---- key files ----------------------------------------------------------------------------- */

static void test_keyfile_roundtrip(void) {
  make_dir();
  char pub[41], sec[41], p2[41] = "x", s2[41] = "x";
  CHECK_EQ(grove_curve_keypair(pub, sec), 0);
  const char *path = path_in_dir("node.key_secret");
  CHECK_EQ(grove_curve_keyfile_save(path, pub, sec), 0);
  struct stat st;
  CHECK_EQ(stat(path, &st), 0);
  CHECK_EQ(st.st_mode & 0777, 0600);
  CHECK_EQ(grove_curve_keyfile_load(path, p2, s2), 0);
  CHECK_STR(p2, pub);
  CHECK_STR(s2, sec);
  /* czmq's layout, by hand: comments, metadata, tabs, the keys in quotes;
   * and one with the secret key alone, bare. */
  char text[600];
  snprintf(text, sizeof text,
           "#   ****  Generated on 2026-01-01 by CZMQ  ****\n"
           "#   ZeroMQ CURVE **Secret** Certificate\n"
           "#   DO NOT PROVIDE THIS FILE TO OTHER USERS nor change its permissions.\n\n"
           "metadata\n    name = \"node\"\ncurve\n\tpublic-key = \"%s\"\n\tsecret-key = \"%s\"\n",
           pub, sec);
  write_file(path_in_dir("czmq"), text);
  CHECK_EQ(grove_curve_keyfile_load(path_in_dir("czmq"), p2, s2), 0);
  CHECK_STR(p2, pub);
  CHECK_STR(s2, sec);
  snprintf(text, sizeof text, "secret-key=%s\r\n", sec);
  write_file(path_in_dir("bare"), text);
  CHECK_EQ(grove_curve_keyfile_load(path_in_dir("bare"), p2, s2), 0);
  CHECK_STR(p2, pub); /* derived */
  /* save refuses what is not a pair */
  char pub2[41], sec2[41];
  CHECK_EQ(grove_curve_keypair(pub2, sec2), 0);
  CHECK_EQ(grove_curve_keyfile_save(path_in_dir("x"), pub2, sec), GROVE_EINVAL);
  CHECK_EQ(grove_curve_keyfile_save(path_in_dir("x"), "short", sec), GROVE_EINVAL);
  CHECK_EQ(grove_curve_keyfile_save(NULL, pub, sec), GROVE_EINVAL);
  CHECK_EQ(grove_curve_keyfile_save("/nonexistent-dir/k", pub, sec), GROVE_ENOENT);
  remove_dir();
}

static void test_keyfile_bad(void) {
  make_dir();
  char pub[41], sec[41], other_pub[41], other_sec[41], p2[41], s2[41];
  CHECK_EQ(grove_curve_keypair(pub, sec), 0);
  CHECK_EQ(grove_curve_keypair(other_pub, other_sec), 0);
  CHECK_EQ(grove_curve_keyfile_load(path_in_dir("missing"), p2, s2), GROVE_ENOENT);
  CHECK_EQ(grove_curve_keyfile_load("/nonexistent-dir/k", p2, s2), GROVE_ENOENT);
  CHECK_EQ(grove_curve_keyfile_load(NULL, p2, s2), GROVE_EINVAL);
  CHECK_EQ(grove_curve_keyfile_load("", p2, s2), GROVE_EINVAL);
  CHECK_EQ(grove_curve_keyfile_load(dir, p2, s2), GROVE_EINVAL); /* a directory */
  struct {
    const char *name;
    char text[300];
  } bad[9];
  int nb = 0;
  snprintf(bad[nb].text, 300, "%s", "");
  bad[nb++].name = "empty";
  snprintf(bad[nb].text, 300, "curve\n    secret-key = \"%.39s\"\n", sec);
  bad[nb++].name = "short";
  snprintf(bad[nb].text, 300, "secret-key = \"%s0\"\n", sec);
  bad[nb++].name = "long";
  snprintf(bad[nb].text, 300, "secret-key = \"%.36s~~~~\"\n", sec);
  bad[nb++].name = "not-z85";
  snprintf(bad[nb].text, 300, "public-key = \"%s\"\nsecret-key = \"%s\"\n", other_pub, sec);
  bad[nb++].name = "mismatch";
  snprintf(bad[nb].text, 300, "public-key = \"%s\"\n", pub);
  bad[nb++].name = "public-only";
  snprintf(bad[nb].text, 300, "secret-key = \"%s\"\nsecret-key = \"%s\"\n", sec, other_sec);
  bad[nb++].name = "two-secrets";
  snprintf(bad[nb].text, 300, "secret-key \"%s\"\n", sec);
  bad[nb++].name = "no-equals";
  snprintf(bad[nb].text, 300, "secret-key = \"%s\n", sec);
  bad[nb++].name = "unclosed";
  for (int i = 0; i < nb; i++) {
    write_file(path_in_dir(bad[i].name), bad[i].text);
    memset(p2, 'x', sizeof p2);
    int rc = grove_curve_keyfile_load(path_in_dir(bad[i].name), p2, s2);
    if (rc != GROVE_EINVAL)
      fprintf(stderr, "key file %s: %s\n", bad[i].name, grove_err_name(rc));
    CHECK_EQ(rc, GROVE_EINVAL);
    CHECK_EQ(p2[0], 0); /* nothing half-loaded */
    CHECK_EQ(s2[0], 0);
  }
  /* Binary garbage and a file beyond 64 KiB. */
  FILE *f = fopen(path_in_dir("garbage"), "w");
  for (int i = 0; f && i < 4096; i++)
    fputc((i * 7919) & 0xff, f);
  if (f)
    fclose(f);
  CHECK_EQ(grove_curve_keyfile_load(path_in_dir("garbage"), p2, s2), GROVE_EINVAL);
  f = fopen(path_in_dir("huge"), "w");
  for (int i = 0; f && i < 70000; i++)
    fputc('#', f);
  if (f) {
    fprintf(f, "\nsecret-key = \"%s\"\n", sec);
    fclose(f);
  }
  CHECK_EQ(grove_curve_keyfile_load(path_in_dir("huge"), p2, s2), GROVE_EINVAL);
  /* A node given a bad file does not start: the file's code. */
  grove_node_opts o = {.curve_keyfile = path_in_dir("mismatch")};
  CHECK_EQ(grove_node_start("a", tr_ipc("a"), &o), GROVE_EINVAL);
  o.curve_keyfile = path_in_dir("missing");
  CHECK_EQ(grove_node_start("a", "tcp://192.0.2.1:7700", &o), GROVE_ENOENT);
  CHECK(grove_node_name() == NULL);
  remove_dir();
}

/* Two nodes with keys from the same file: CURVE on, and they talk; a node
 * without keys does not get through to them. */
static void test_keyfile_nodes(void) {
  make_dir();
  char pub[41], sec[41];
  CHECK_EQ(grove_curve_keypair(pub, sec), 0);
  const char *kf = path_in_dir("cluster.key_secret");
  CHECK_EQ(grove_curve_keyfile_save(kf, pub, sec), 0);
  char arg[300], bound[256];
  snprintf(arg, sizeof arg, "keyfile=%s", kf);
  pid_t pid = tr_spawn(bound, sizeof bound, "keyfile", "srv", tr_ipc("srv"), "-", arg, NULL);
  CHECK(pid > 0);
  if (pid <= 0) {
    remove_dir();
    return;
  }
  CHECK_EQ(grove_node_start("plain", tr_ipc("plain"), NULL), 0);
  CHECK_EQ(grove_node_connect_ex("srv", bound, NULL, 0.5), GROVE_ETIMEDOUT);
  CHECK_EQ(grove_node_stop(), 0);
  grove_node_opts o = {.curve_keyfile = kf}; /* server key: the file's public key */
  CHECK_EQ(grove_node_start("cli", tr_ipc("cli"), &o), 0);
  CHECK_EQ(grove_node_connect("srv", bound), 0);
  grove_ref calc = tr_whereis("srv", "calc");
  CHECK_EQ(tr_call_int(calc, TR_MSG("add", 40, 2), 3.0), 42);
  grove_ref ctl = tr_whereis("srv", "ctl");
  grove_send(ctl, grove_msg_new("quit"));
  CHECK_EQ(tr_reap_in_hub(pid, 5.0), 0);
  CHECK_EQ(grove_node_stop(), 0);
  remove_dir();
}

TR_MAIN(child_main, TEST(test_strerror), TEST(test_bind_refused), TEST(test_plain_node_warned),
        TEST(test_loopback_open), TEST(test_override), TEST(test_seeds_advertise_connect),
        TEST(test_cluster_refused), TEST(test_keyfile_roundtrip), TEST(test_keyfile_bad),
        TEST(test_keyfile_nodes))
