/* tests/transport/test_connect_race.c - two nodes connect to each other at
 * once: this process ("a") and a child ("b", faults_child.h) both call
 * grove_node_connect at the same instant (an agreed CLOCK_REALTIME time),
 * then each sends 300 messages to the other's "sink" and checks they all
 * arrived, in order. 20 times; no process may die (an abort inside libzmq
 * would: `!has_out_pipe (routing_id)` in router.cpp). Also: connecting to a
 * peer that has already connected to us, and both orders of names (the
 * greater name's connection carries the pair when both exist). */
#define TR_TIME_LIMIT 110
#include "faults_child.h"

#define N 300

static int64_t sink_count(grove_ref sink, int64_t *misordered) {
  grove_msg *rep = NULL;
  int64_t n = grove_call(sink, grove_msg_new("get"), &rep, 5.0) == 0 ? tr_int(rep, 0) : -1;
  *misordered = tr_int(rep, 1);
  grove_msg_free(rep);
  return n;
}

/* One round: this node `me`, the child `other`; both connect at once. */
static int round_trip(const char *me, const char *other, int k, int delay_ms) {
  char ep[64], cep[64];
  snprintf(ep, sizeof ep, "%s-%d", me, k);
  snprintf(cep, sizeof cep, "%s-%d", other, k);
  const char *my_ep = tr_ipc(ep);
  grove_node_opts o = {.heartbeat_interval = 0.2, .heartbeat_timeout = 3.0};
  CHECK_EQ(grove_node_start(me, my_ep, &o), 0);
  grove_actor_opts so = {.name = "sink"};
  grove_ref mine = GROVE_REF_NULL;
  CHECK_EQ(grove_actor_spawn_ex(&fc_sink_class, NULL, &so, &mine), 0);
  double at = fc_realtime() + 0.3;
  char dial[300], when[64], n[32];
  snprintf(dial, sizeof dial, "dial=%s@%s", me, my_ep);
  snprintf(when, sizeof when, "at=%.6f", at);
  snprintf(n, sizeof n, "n=%d", N);
  char bound[256];
  char floodto[80];
  snprintf(floodto, sizeof floodto, "floodto=%s", me);
  pid_t pid = tr_spawn(bound, sizeof bound, "b", other, tr_ipc(cep), NULL, dial, when, floodto, n,
                       "hbi=0.2", "hbt=3", NULL);
  CHECK(pid > 0);
  int ok = pid > 0;
  if (ok) {
    while (fc_realtime() < at + delay_ms / 1000.0)
      grove_sleep(0.0005);
    int rc = grove_node_connect(other, bound);
    if (rc)
      fprintf(stderr, "round %d: connect: %s\n", k, grove_err_name(rc));
    CHECK_EQ(rc, 0);
    grove_ref sink = GROVE_REF_NULL;
    CHECK_EQ(grove_whereis_remote(other, "sink", &sink, 5.0), 0);
    CHECK_EQ(fc_flood(sink, N), N);
    int64_t mis = 0;
    CHECK_EQ(sink_count(sink, &mis), N);
    CHECK_EQ(mis, 0);
    /* and the child's flood to us */
    int64_t got = 0;
    for (int i = 0; i < 2000 && (got = sink_count(mine, &mis)) < N; i++)
      grove_sleep(0.005);
    CHECK_EQ(got, N);
    CHECK_EQ(mis, 0);
    int st = tr_reap_in_hub(pid, 10.0);
    if (st != 0)
      fprintf(stderr, "round %d: the child exited with %d\n", k, st);
    CHECK_EQ(st, 0);
    ok = rc == 0 && got == N && st == 0;
  }
  tr_end_actor(mine);
  CHECK_EQ(grove_node_stop(), 0);
  return ok;
}

static void test_twenty_simultaneous(void) {
  int good = 0;
  for (int k = 0; k < 20; k++)
    good += round_trip(k % 2 ? "a" : "z", k % 2 ? "z" : "a", k, 0);
  printf("simultaneous connect: %d of 20 rounds delivered %d messages both ways\n", good, N);
  CHECK_EQ(good, 20);
}

/* One connects a little later: the other's connection is there already (or
 * being made), and grove_node_connect must not trip over it. */
static void test_staggered(void) {
  int good = 0;
  for (int k = 0; k < 6; k++)
    good += round_trip(k % 2 ? "a" : "z", k % 2 ? "z" : "a", 100 + k, (k / 2 + 1) * 15);
  CHECK_EQ(good, 6);
}

TR_MAIN(fc_child_main, TEST(test_twenty_simultaneous), TEST(test_staggered))
