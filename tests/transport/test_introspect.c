/* tests/transport/test_introspect.c - the introspection service
 * (grove/observe.h) seen from another node, as grove-top sees it.
 *
 * The child is node "srv" started with grove_node_opts.introspect, an actor
 * "blk" whose receive holds every "hold" message until the parent says
 * "release" (so its inbox has a known length), and ctl. The parent is a
 * second node on loopback: it calls "grove.introspect" with "snapshot" and
 * checks what the reply says (node, hubs, actors with the longest inbox
 * first, greenlets, peers), the limits of a request, the answers to bad
 * requests (counted on the server), and its own view of the server
 * (grove_peers_info: messages, and the round trip once something observes).
 * On a CURVE node only the allowed keys get a snapshot: another key, even
 * one allowed to connect, gets GROVE_EPERM (counted) while its other calls
 * go through; without a list, only the node's own keypair is allowed.
 */
#include "tr_util.h"

#include <stdatomic.h>

#define SRV "srv"

/* ---- child ---------------------------------------------------------------------------------- */

static _Atomic int released;

static int blk_receive(grove_actor *self, grove_msg *m) {
  (void)self;
  if (grove_msg_is(m, "hold")) {
    double end = test_now() + 20;
    while (!released && test_now() < end)
      grove_sleep(0.002);
  }
  return 0;
}
static const grove_actor_class blk_class = {
    .name = "blocker", .size = sizeof(grove_actor), .receive = blk_receive};

static int srv_ctl(grove_actor *self, grove_msg *m) {
  (void)self;
  if (grove_msg_is(m, "release")) {
    released = 1;
    grove_reply(m, TR_MSG("ok", 0));
    return 0;
  }
  if (grove_msg_is(m, "istats")) {
    grove_node_stats st;
    memset(&st, 0, sizeof st);
    grove_node_stats_get(&st);
    grove_reply(m, TR_MSG("istats", (int64_t)st.introspect_denied, (int64_t)st.introspect_bad));
    return 0;
  }
  return -1000;
}

static int child_main(const tr_child *c) {
  grove_node_opts o;
  const char *allow[2];
  tr_child_opts(c, &o, allow);
  const char *ikeys[2] = {tr_arg(c, "ikey"), NULL};
  o.introspect = true;
  o.introspect_keys = ikeys[0] ? ikeys : NULL;
  int rc = grove_node_start(c->name, c->endpoint, &o);
  if (rc) {
    fprintf(stderr, "child: grove_node_start: %s\n", grove_err_name(rc));
    return 2;
  }
  grove_actor_opts ao = {.name = "blk"};
  grove_ref r;
  CHECK_EQ(grove_actor_spawn_ex(&blk_class, NULL, &ao, &r), 0);
  tr_track(r);
  tr_ctl_hook = srv_ctl;
  tr_child_serve(c);
  return tr_child_finish();
}

/* ---- parent: reading a snapshot ------------------------------------------------------------ */

static int snapshot(const char *body_kind, grove_msg **reply) {
  grove_ref svc;
  int rc = grove_whereis_remote(SRV, "grove.introspect", &svc, 3.0);
  if (rc)
    return rc;
  grove_msg *m = grove_msg_new(strcmp(body_kind, "badtag") == 0 ? "nope" : "snapshot");
  if (strcmp(body_kind, "limit1") == 0) {
    grove_msg_pack_map(m, 2);
    grove_msg_pack_kv_int(m, "max_actors", 1);
    grove_msg_pack_kv_int(m, "max_greenlets", 0);
  } else if (strcmp(body_kind, "nil") == 0) {
    grove_msg_pack_nil(m);
  } else if (strcmp(body_kind, "badbody") == 0) {
    grove_msg_pack_str(m, "max_actors");
  } else if (strcmp(body_kind, "badlimit") == 0) {
    grove_msg_pack_map(m, 1);
    grove_msg_pack_kv_int(m, "max_actors", -3);
  }
  return grove_call(svc, m, reply, 3.0);
}

static uint64_t key_uint(const msgpack_object *map, const char *k) {
  msgpack_object v;
  uint64_t u = 999999;
  if (grove_obj_key(map, k, &v) != 0 || grove_obj_uint(&v, &u) != 0)
    return 999999;
  return u;
}

static const char *key_str(const msgpack_object *map, const char *k, char *buf, size_t cap) {
  msgpack_object v;
  buf[0] = 0;
  if (grove_obj_key(map, k, &v) == 0)
    grove_obj_str_copy(&v, buf, cap);
  return buf;
}

static size_t key_array(const msgpack_object *map, const char *k, msgpack_object *out) {
  if (grove_obj_key(map, k, out) != 0 || out->type != MSGPACK_OBJECT_ARRAY)
    return 999999;
  return grove_obj_len(out);
}

static grove_ref ctl_ref(void) {
  grove_ref ctl = GROVE_REF_NULL;
  CHECK_EQ(grove_whereis_remote(SRV, "ctl", &ctl, 3.0), 0);
  return ctl;
}

static void istats(int64_t *denied, int64_t *bad) {
  grove_msg *r = NULL;
  CHECK_EQ(grove_call(ctl_ref(), grove_msg_new("istats"), &r, 3.0), 0);
  *denied = tr_int(r, 0);
  *bad = tr_int(r, 1);
  grove_msg_free(r);
}

static void quit_child(pid_t pid) {
  grove_send(ctl_ref(), grove_msg_new("quit"));
  CHECK_EQ(tr_reap_in_hub(pid, 10), 0); /* its node stopped the service, its hub closed */
}

static void test_snapshot(void) {
  char bound[256];
  pid_t pid = tr_spawn(bound, sizeof bound, "srv", SRV, "tcp://127.0.0.1:0", "-", NULL);
  CHECK(pid > 0);
  if (pid <= 0)
    return;
  CHECK_EQ(grove_node_start("top", "tcp://127.0.0.1:0", NULL), 0);
  CHECK_EQ(grove_node_connect(SRV, bound), 0);
  grove_ref blk;
  CHECK_EQ(grove_whereis_remote(SRV, "blk", &blk, 3.0), 0);
  for (int i = 0; i < 4; i++)
    CHECK_EQ(grove_send(blk, grove_msg_new("hold")), 0); /* one held, 3 waiting */

  /* the whole picture; wait (bounded) until the 4 sends have arrived */
  grove_msg *r = NULL;
  msgpack_object map, actors, a0, v;
  char s[128];
  double end = test_now() + 10;
  for (;;) {
    CHECK_EQ(snapshot("none", &r), 0);
    CHECK(r != NULL && grove_msg_is(r, "snapshot"));
    CHECK_EQ(grove_msg_get(r, 0, &map), 0);
    CHECK_EQ(map.type, MSGPACK_OBJECT_MAP);
    if (key_array(&map, "actors", &actors) >= 1 && grove_obj_at(&actors, 0, &a0) == 0 &&
        key_uint(&a0, "inbox") == 3)
      break;
    grove_msg_free(r);
    r = NULL;
    if (test_now() > end || grove_sleep(0.01) != 0)
      break;
  }
  CHECK(r != NULL);
  if (!r)
    return;
  CHECK_EQ(grove_obj_len(&map), 10);
  CHECK_STR(key_str(&map, "node", s, sizeof s), SRV);
  CHECK(grove_obj_key(&map, "time", &v) == 0 && v.type == MSGPACK_OBJECT_FLOAT64);
  CHECK(fabs(v.via.f64 - (double)time(NULL)) < 60);
  CHECK(key_uint(&map, "incarnation") != 999999);
  msgpack_object hubs, h0;
  CHECK_EQ(key_array(&map, "hubs", &hubs), 1);
  CHECK_EQ(grove_obj_at(&hubs, 0, &h0), 0);
  CHECK_EQ(key_uint(&h0, "index"), 0);
  CHECK_EQ(key_uint(&h0, "actors"), 3); /* ctl, blk, grove.introspect */
  CHECK(grove_obj_key(&h0, "lag_ms", &v) == 0 && v.type == MSGPACK_OBJECT_FLOAT64);
  CHECK_EQ(key_uint(&map, "actors_total"), 3);
  CHECK_EQ(key_array(&map, "actors", &actors), 3);
  CHECK_STR(key_str(&a0, "name", s, sizeof s), "blk");
  CHECK_STR(key_str(&a0, "class", s, sizeof s), "blocker");
  CHECK_STR(key_str(&a0, "state", s, sizeof s), "waiting");
  CHECK_EQ(key_uint(&a0, "inbox_max"), 0);
  CHECK_EQ(key_uint(&a0, "hub"), 0);
  CHECK_EQ(key_uint(&a0, "received"), 0);
  msgpack_object gl, peers, p0;
  CHECK(key_array(&map, "greenlets", &gl) != 999999);
  CHECK_EQ(key_uint(&map, "greenlets_total"), grove_obj_len(&gl));
  CHECK_EQ(key_array(&map, "peers", &peers), 1);
  CHECK_EQ(grove_obj_at(&peers, 0, &p0), 0);
  CHECK_STR(key_str(&p0, "name", s, sizeof s), "top");
  CHECK_STR(key_str(&p0, "state", s, sizeof s), "up");
  CHECK(key_uint(&p0, "received") >= 4); /* the holds, the snapshot calls */
  CHECK(key_uint(&map, "dead_letters") != 999999);
  grove_msg_free(r);

  /* limits: one actor (the longest inbox), no greenlets; nil is the default */
  CHECK_EQ(snapshot("limit1", &r), 0);
  CHECK_EQ(grove_msg_get(r, 0, &map), 0);
  CHECK_EQ(key_array(&map, "actors", &actors), 1);
  CHECK_EQ(key_uint(&map, "actors_total"), 3);
  CHECK_EQ(key_array(&map, "greenlets", &gl), 0);
  grove_msg_free(r);
  CHECK_EQ(snapshot("nil", &r), 0);
  CHECK_EQ(grove_msg_get(r, 0, &map), 0);
  CHECK_EQ(key_array(&map, "actors", &actors), 3);
  grove_msg_free(r);

  /* bad requests: an error reply each, counted; a plain send: counted */
  int64_t denied, bad;
  istats(&denied, &bad);
  CHECK_EQ(denied, 0);
  CHECK_EQ(bad, 0);
  r = NULL;
  CHECK_EQ(snapshot("badtag", &r), GROVE_EINVAL);
  CHECK(r == NULL);
  CHECK_EQ(snapshot("badbody", &r), GROVE_EINVAL);
  CHECK_EQ(snapshot("badlimit", &r), GROVE_EINVAL);
  grove_ref svc;
  CHECK_EQ(grove_whereis_remote(SRV, "grove.introspect", &svc, 3.0), 0);
  CHECK_EQ(grove_send(svc, grove_msg_new("snapshot")), 0);
  end = test_now() + 5;
  do {
    istats(&denied, &bad);
  } while (bad < 4 && test_now() < end && grove_sleep(0.01) == 0);
  CHECK_EQ(bad, 4);
  CHECK_EQ(denied, 0);
  CHECK_EQ(snapshot("none", &r), 0); /* it still answers */
  grove_msg_free(r);

  /* this side's view of the server: messages both ways; a round trip once
   * something observes this process (here: its own service) */
  grove_peer_info pi[4];
  size_t n = 0;
  CHECK_EQ(grove_peers_info(pi, 4, &n), 0);
  CHECK_EQ(n, 1);
  CHECK_STR(pi[0].name, SRV);
  CHECK_STR(grove_peer_state_name(pi[0].state), "up");
  CHECK(pi[0].sent >= 10);
  CHECK(pi[0].received >= 8);
  CHECK_EQ(pi[0].dropped, 0);
  CHECK(pi[0].rtt_ms < 0); /* nothing observed: not measured */
  CHECK_EQ(grove_introspect_start(), 0);
  CHECK_EQ(grove_introspect_start(), GROVE_EEXIST);
  end = test_now() + 5;
  do {
    CHECK_EQ(grove_peers_info(pi, 4, &n), 0);
  } while (pi[0].rtt_ms < 0 && test_now() < end && grove_sleep(0.05) == 0);
  printf("     round trip to srv: %.3f ms\n", pi[0].rtt_ms);
  CHECK(pi[0].rtt_ms >= 0 && pi[0].rtt_ms < 1000);
  CHECK_EQ(grove_introspect_stop(), 0);

  grove_msg *ok = NULL;
  CHECK_EQ(grove_call(ctl_ref(), grove_msg_new("release"), &ok, 3.0), 0);
  grove_msg_free(ok);
  quit_child(pid);
  CHECK_EQ(grove_node_stop(), 0);
}

/* ---- parent: CURVE --------------------------------------------------------------------------- */

typedef struct keypair {
  char pub[41], sec[41];
} keypair;

static keypair new_keys(void) {
  keypair k;
  CHECK_EQ(grove_curve_keypair(k.pub, k.sec), 0);
  return k;
}

/* A client node with keypair k talking to srv (server key spub): the code
 * of a snapshot call, after checking that its other calls go through. */
static int curve_client(const char *name, const keypair *k, const char *spub, const char *ep) {
  grove_node_opts o = {.curve_public = k->pub, .curve_secret = k->sec};
  CHECK_EQ(grove_node_start(name, "tcp://127.0.0.1:0", &o), 0);
  CHECK_EQ(grove_node_connect_ex(SRV, ep, spub, 3.0), 0);
  grove_msg *r = NULL;
  int rc = snapshot("none", &r);
  grove_msg_free(r);
  int64_t denied, bad;
  istats(&denied, &bad); /* ctl answers every key */
  CHECK_EQ(bad, 0);
  return rc;
}

static void test_curve_keys(void) {
  keypair s = new_keys(), a = new_keys(), b = new_keys();
  char arg_pub[64], arg_sec[64], arg_ikey[64], bound[256];
  snprintf(arg_pub, sizeof arg_pub, "pub=%s", s.pub);
  snprintf(arg_sec, sizeof arg_sec, "sec=%s", s.sec);
  snprintf(arg_ikey, sizeof arg_ikey, "ikey=%s", a.pub);
  pid_t pid = tr_spawn(bound, sizeof bound, "srv", SRV, "tcp://127.0.0.1:0", "-", arg_pub, arg_sec,
                       arg_ikey, NULL);
  CHECK(pid > 0);
  if (pid <= 0)
    return;
  /* an allowed key */
  CHECK_EQ(curve_client("good", &a, s.pub, bound), 0);
  CHECK_EQ(grove_node_stop(), 0);
  /* a key that may connect (no curve_allowed) but not look inside */
  CHECK_EQ(curve_client("nosy", &b, s.pub, bound), GROVE_EPERM);
  int64_t denied, bad;
  istats(&denied, &bad);
  CHECK_EQ(denied, 1);
  /* the server's own keypair is not on the list either */
  CHECK_EQ(grove_node_stop(), 0);
  CHECK_EQ(curve_client("twin", &s, s.pub, bound), GROVE_EPERM);
  quit_child(pid);
  CHECK_EQ(grove_node_stop(), 0);

  /* no list: only the holders of the node's own keypair */
  pid = tr_spawn(bound, sizeof bound, "srv", SRV, "tcp://127.0.0.1:0", "-", arg_pub, arg_sec, NULL);
  CHECK(pid > 0);
  if (pid <= 0)
    return;
  CHECK_EQ(curve_client("twin2", &s, s.pub, bound), 0);
  CHECK_EQ(grove_node_stop(), 0);
  CHECK_EQ(curve_client("other", &a, s.pub, bound), GROVE_EPERM);
  istats(&denied, &bad);
  CHECK_EQ(denied, 1);
  quit_child(pid);
  CHECK_EQ(grove_node_stop(), 0);
}

/* ---- parent: the node on hub 0, observed from hub 1 --------------------------------------- */

typedef struct from_hub1 {
  int peers_rc, start_rc, again_rc, stop_rc;
  size_t npeers;
  grove_peer_info peer;
} from_hub1;

static void *on_hub1_start(void *arg) {
  from_hub1 *r = arg;
  r->peers_rc = grove_peers_info(&r->peer, 1, &r->npeers);
  r->start_rc = grove_introspect_start();
  r->again_rc = grove_introspect_start();
  return NULL;
}

static void *on_hub1_stop(void *arg) {
  from_hub1 *r = arg;
  r->stop_rc = grove_introspect_stop();
  return NULL;
}

static void test_other_hub(void) {
  char bound[256];
  pid_t pid = tr_spawn(bound, sizeof bound, "srv", SRV, "tcp://127.0.0.1:0", "-", NULL);
  CHECK(pid > 0);
  if (pid <= 0)
    return;
  CHECK_EQ(grove_hubs_start(2), 0);
  CHECK_EQ(grove_node_start("top2", "tcp://127.0.0.1:0", NULL), 0);
  CHECK_EQ(grove_node_connect(SRV, bound), 0);
  from_hub1 r;
  memset(&r, 0, sizeof r);
  CHECK_EQ(grove_hub_call_on(1, on_hub1_start, &r, NULL, 10), 0);
  CHECK_EQ(r.peers_rc, 0);
  CHECK_EQ(r.npeers, 1);
  CHECK_STR(r.peer.name, SRV);
  CHECK_EQ(r.peer.state, 1);
  CHECK_EQ(r.start_rc, 0);
  CHECK_EQ(r.again_rc, GROVE_EEXIST);
  /* the service runs on the node's hub and sees both hubs */
  grove_msg *rep = NULL;
  CHECK_EQ(grove_call_name("grove.introspect", grove_msg_new("snapshot"), &rep, 5), 0);
  msgpack_object map, hubs;
  CHECK(rep && grove_msg_get(rep, 0, &map) == 0);
  CHECK_EQ(key_array(&map, "hubs", &hubs), 2);
  grove_msg_free(rep);
  CHECK_EQ(grove_hub_call_on(1, on_hub1_stop, &r, NULL, 10), 0);
  CHECK_EQ(r.stop_rc, 0);
  double end = test_now() + 5;
  grove_ref svc;
  while (grove_whereis("grove.introspect", &svc) == 0 && test_now() < end)
    grove_sleep(0.01);
  CHECK_EQ(grove_whereis("grove.introspect", &svc), GROVE_ENOENT);
  quit_child(pid);
  CHECK_EQ(grove_node_stop(), 0);
  CHECK_EQ(grove_hubs_stop(5), 0);
}

TR_MAIN(child_main, TEST(test_snapshot), TEST(test_curve_keys), TEST(test_other_hub))
