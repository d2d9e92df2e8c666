/* tests/chaos/chaos_node.c - one grove node of the network chaos test
 * (chaos_net.py runs one per network namespace, under `ip netns exec`).
 *
 *   chaos_node NAME BIND_ENDPOINT PEER=ENDPOINT ...
 *
 * It connects to the peers whose name sorts after its own (one side of each
 * pair connects), and runs:
 *  - "sink" (registered): counts the stream messages ["seq", from, n] of each
 *    peer: unique, duplicates, out of order (n below the highest seen), and
 *    the gaps in arrival (a peer's stream resuming after 0.5 s of silence);
 *    answers "probe" calls.
 *  - a streamer per peer: CHAOS_RATE messages a second (default 1000) to the
 *    peer's sink, numbered 0, 1, 2... per pair; a number is used once
 *    grove_send accepted it (a refused send, GROVE_EHOSTUNREACH, is counted
 *    as refused and the number is used again).
 *  - a prober per peer: a call every 100 ms to the peer's sink (timeout 1 s);
 *    a call that takes longer than 1.5 s is hung.
 *  - "watcher": watches every peer node (grove_monitor_node) and, each time
 *    a peer is up, monitors and links to the peer's "target" (and tells the
 *    target it is linked); counts the monitors and links that fire, and
 *    those that fire twice (a DOWN for a monitor that already fired, an EXIT
 *    for a link that already fired).
 *  - "target" (registered, traps exits): counts the EXITs of the links that
 *    the peers' watchers made to it, and those for a link already broken.
 * Every event is a line on stdout, "EV <CLOCK_MONOTONIC seconds> <kind>
 * <peer> ...", so that the driver can line them up with the faults it
 * injects. Commands on stdin, one per line: "stop" (the streams stop),
 * "report" (one line "REPORT key=value ..." per peer and one for the node),
 * "quit" (stop the node, close the hub, exit 0 if it closed cleanly).
 * Environment: CHAOS_RATE, CHAOS_HB_INTERVAL, CHAOS_HB_TIMEOUT.
 */
#include "chaos.h"

#include <errno.h>

#define MAXPEERS 4
#define PROBE_TIMEOUT 1.0
#define FIRED_MAX 8192

struct peer {
  char name[64];
  char endpoint[128];
  bool up;
  grove_ref sink, target; /* null until looked up */
  /* streamer */
  uint64_t next_seq, refused;
  /* sink side: what arrived from this peer */
  uint64_t uniq, dups, ooo;
  int64_t max_seq;
  uint8_t *seen; /* a bit per sequence number */
  size_t seen_bytes;
  double last_arrival;
  uint64_t gaps;
  double max_gap;
  /* probes */
  uint64_t probes, probe_ok, probe_unreach, probe_timeout, probe_other, probe_hung;
  /* watcher */
  uint64_t downs, ups, mon_set, mon_fired, mon_double, link_set, link_fired, link_double;
  uint64_t mon_id;
  bool mon_active, link_active; /* link_active: the link to `target` */
  struct {
    grove_ref ref;
    bool active;
  } links[8]; /* the links made to this peer's targets (one per incarnation) */
  int nlinks;
  uint64_t link_unknown, link_fired_nc;
  uint64_t flood_recv, flood_ooo; /* "fseq" messages (the exit-linger check) */
  int64_t flood_max;
  /* target: links from this peer's watcher */
  bool tlink_active;
  uint64_t tlinked, texits, texit_double;
};

static const char *me;
static struct peer peers[MAXPEERS];
static int npeers;
static double rate = 1000;
static volatile bool streaming = true, quitting;
static grove_ref sink_ref, target_ref, watcher_ref;
static uint64_t fired_ids[FIRED_MAX];
static volatile sig_atomic_t conts; /* SIGCONTs: this process was frozen */
static uint64_t probes_excused;
static void on_cont(int sig) {
  (void)sig;
  conts++;
}
static int nfired;

static void ev(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void ev(const char *fmt, ...) {
  char buf[300];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  printf("EV %.6f %s\n", chaos_now(), buf);
  fflush(stdout);
}

static struct peer *peer_by_name(const char *s, size_t n) {
  for (int i = 0; i < npeers; i++)
    if (strlen(peers[i].name) == n && memcmp(peers[i].name, s, n) == 0)
      return &peers[i];
  return NULL;
}

static struct peer *peer_by_node(uint32_t node) {
  const char *name = grove_node_name_of(node);
  return name ? peer_by_name(name, strlen(name)) : NULL;
}

/* ---- sink ------------------------------------------------------------------------------ */

static void seen_mark(struct peer *p, int64_t n) {
  size_t byte = (size_t)n / 8;
  if (byte >= p->seen_bytes) {
    size_t nb = p->seen_bytes ? p->seen_bytes : 1 << 16;
    while (nb <= byte)
      nb *= 2;
    uint8_t *s = realloc(p->seen, nb);
    if (!s)
      return;
    memset(s + p->seen_bytes, 0, nb - p->seen_bytes);
    p->seen = s;
    p->seen_bytes = nb;
  }
  if (p->seen[byte] & (1u << (n % 8))) {
    p->dups++;
    return;
  }
  p->seen[byte] |= (uint8_t)(1u << (n % 8));
  p->uniq++;
  if (n < p->max_seq)
    p->ooo++;
  else
    p->max_seq = n;
}

static int sink_receive(grove_actor *self, grove_msg *msg) {
  if (grove_msg_is(msg, "seq")) {
    const char *from;
    size_t len;
    int64_t n;
    struct peer *p;
    if (grove_msg_str(msg, 0, &from, &len) == 0 && grove_msg_int(msg, 1, &n) == 0 && n >= 0 &&
        (p = peer_by_name(from, len)) != NULL) {
      double now = chaos_now();
      if (p->last_arrival > 0 && now - p->last_arrival > 0.5) {
        p->gaps++;
        if (now - p->last_arrival > p->max_gap)
          p->max_gap = now - p->last_arrival;
        ev("gap_end %s %.3f", p->name, now - p->last_arrival);
      }
      p->last_arrival = now;
      seen_mark(p, n);
    }
  } else if (grove_msg_is(msg, "fseq")) {
    const char *from;
    size_t len;
    int64_t n;
    struct peer *p;
    if (grove_msg_str(msg, 0, &from, &len) == 0 && grove_msg_int(msg, 1, &n) == 0 &&
        (p = peer_by_name(from, len)) != NULL) {
      p->flood_recv++;
      if (n <= p->flood_max)
        p->flood_ooo++;
      else
        p->flood_max = n;
    }
  } else if (grove_msg_is(msg, "probe") && grove_msg_is_call(msg)) {
    grove_reply(msg, grove_msg_new("probed"));
  }
  return 0;
}

/* ---- target ---------------------------------------------------------------------------- */

static int target_receive(grove_actor *self, grove_msg *msg) {
  if (grove_msg_is(msg, "linked")) {
    grove_ref from;
    struct peer *p;
    if (grove_msg_ref(msg, 0, &from) == 0 && (p = peer_by_node(from.node)) != NULL) {
      p->tlink_active = true;
      p->tlinked++;
    }
  } else if (grove_msg_is(msg, GROVE_TAG_EXIT)) {
    grove_ref from;
    int64_t reason = 0;
    struct peer *p;
    if (grove_msg_ref(msg, 0, &from) == 0 && (p = peer_by_node(from.node)) != NULL) {
      grove_msg_int(msg, 1, &reason);
      if (!p->tlink_active) {
        p->texit_double++;
        ev("target_exit_again %s %s", p->name, grove_exit_reason_name((int)reason));
      } else {
        p->texits++;
        p->tlink_active = false;
        ev("target_exit %s %s", p->name, grove_exit_reason_name((int)reason));
      }
    }
  }
  return 0;
}

/* ---- watcher --------------------------------------------------------------------------- */

static void watch_peer(struct peer *p) {
  grove_ref t;
  int rc = grove_whereis_remote(p->name, "target", &t, 2.0);
  if (rc) {
    ev("watch_failed %s %s", p->name, grove_err_name(rc));
    return;
  }
  uint64_t id;
  if (grove_monitor(t, &id) == 0) {
    p->mon_id = id;
    p->mon_active = true;
    p->mon_set++;
  }
  if (grove_link_actors(grove_self(), t) == 0) {
    p->link_active = true;
    p->link_set++;
    int k = 0;
    while (k < p->nlinks && !grove_ref_eq(p->links[k].ref, t))
      k++;
    if (k == p->nlinks) {
      if (p->nlinks == 8) { /* forget the oldest */
        memmove(p->links, p->links + 1, 7 * sizeof p->links[0]);
        k = 7;
      } else {
        p->nlinks++;
      }
      p->links[k].ref = t;
    }
    p->links[k].active = true;
    grove_msg *m = grove_msg_new("linked");
    grove_msg_pack_ref(m, grove_self());
    grove_send(t, m); /* after the link on the same ordered stream */
  }
  p->target = t;
}

static bool fired_before(uint64_t id) {
  for (int i = 0; i < nfired; i++)
    if (fired_ids[i] == id)
      return true;
  if (nfired < FIRED_MAX)
    fired_ids[nfired++] = id;
  return false;
}

static int watcher_init(grove_actor *self, void *arg) {
  for (int i = 0; i < npeers; i++) {
    int rc = grove_monitor_node(peers[i].name);
    if (rc)
      return rc;
  }
  return 0;
}

static int watcher_receive(grove_actor *self, grove_msg *msg) {
  const char *s;
  size_t n;
  struct peer *p;
  if (grove_msg_is(msg, GROVE_TAG_NODEUP) && grove_msg_str(msg, 0, &s, &n) == 0 &&
      (p = peer_by_name(s, n)) != NULL) {
    p->up = true;
    p->ups++;
    ev("nodeup %s", p->name);
    watch_peer(p);
  } else if (grove_msg_is(msg, GROVE_TAG_NODEDOWN) && grove_msg_str(msg, 0, &s, &n) == 0 &&
             (p = peer_by_name(s, n)) != NULL) {
    p->up = false;
    p->downs++;
    ev("nodedown %s", p->name);
  } else if (grove_msg_is(msg, GROVE_TAG_DOWN)) {
    int64_t id = 0, reason = 0;
    grove_ref who;
    grove_msg_int(msg, 0, &id);
    grove_msg_int(msg, 2, &reason);
    if (grove_msg_ref(msg, 1, &who) == 0 && (p = peer_by_node(who.node)) != NULL) {
      if (fired_before((uint64_t)id)) {
        p->mon_double++;
        ev("monitor_fired_again %s %" PRId64 " %s", p->name, id,
           grove_exit_reason_name((int)reason));
      } else {
        p->mon_fired++;
        if ((uint64_t)id == p->mon_id)
          p->mon_active = false;
        ev("monitor_fired %s %" PRId64 " %s", p->name, id, grove_exit_reason_name((int)reason));
        if (reason != GROVE_EXIT_NOCONNECTION && p->up && (uint64_t)id == p->mon_id) {
          /* the peer replaced its target ("rotate"): watch the new one */
          for (int k = 0; k < 100; k++) {
            grove_ref t;
            if (grove_whereis_remote(p->name, "target", &t, 1.0) == 0 && !grove_ref_eq(t, who)) {
              watch_peer(p);
              break;
            }
            if (grove_sleep(0.01) != 0)
              break;
          }
        }
      }
    }
  } else if (grove_msg_is(msg, GROVE_TAG_EXIT)) {
    grove_ref who;
    int64_t reason = 0;
    grove_msg_int(msg, 1, &reason);
    if (grove_msg_ref(msg, 0, &who) == 0 && (p = peer_by_node(who.node)) != NULL) {
      int k = 0;
      while (k < p->nlinks && !grove_ref_eq(p->links[k].ref, who))
        k++;
      if (k == p->nlinks) {
        p->link_unknown++;
        ev("link_fired_unknown %s %s", p->name, grove_exit_reason_name((int)reason));
      } else if (!p->links[k].active) {
        p->link_double++;
        ev("link_fired_again %s %s", p->name, grove_exit_reason_name((int)reason));
      } else {
        p->links[k].active = false;
        if (grove_ref_eq(who, p->target))
          p->link_active = false;
        p->link_fired++;
        if (reason == GROVE_EXIT_NOCONNECTION)
          p->link_fired_nc++;
        ev("link_fired %s %s", p->name, grove_exit_reason_name((int)reason));
      }
    }
  }
  return 0;
}

static const grove_actor_class sink_class = {"sink", sizeof(grove_actor), NULL, sink_receive, NULL};
static const grove_actor_class target_class = {"target", sizeof(grove_actor), NULL, target_receive,
                                               NULL};
static const grove_actor_class watcher_class = {"watcher", sizeof(grove_actor), watcher_init,
                                                watcher_receive, NULL};

/* ---- streamers, probers, control -------------------------------------------------------- */

static void *streamer(void *arg) {
  struct peer *p = arg;
  const double tick = 0.01;
  double credit = 0;
  while (!quitting) {
    if (grove_sleep(tick) != 0)
      break;
    if (!streaming)
      continue;
    if (grove_ref_is_null(p->sink)) {
      if (grove_node_is_up(p->name)) {
        grove_ref r;
        if (grove_whereis_remote(p->name, "sink", &r, 1.0) == 0)
          p->sink = r;
      }
      continue;
    }
    credit += rate * tick;
    while (credit >= 1 && streaming) {
      credit -= 1;
      grove_msg *m = grove_msg_new("seq");
      grove_msg_pack_str(m, me);
      grove_msg_pack_int(m, (int64_t)p->next_seq);
      int rc = grove_send(p->sink, m);
      if (rc == 0)
        p->next_seq++;
      else
        p->refused++;
    }
    if (credit > rate) /* do not save up a burst while blocked */
      credit = rate * tick;
  }
  return NULL;
}

static void *prober(void *arg) {
  struct peer *p = arg;
  while (!quitting) {
    if (grove_sleep(0.1) != 0)
      break;
    if (grove_ref_is_null(p->sink) || !streaming)
      continue;
    grove_msg *r = NULL;
    sig_atomic_t c0 = conts;
    double t0 = chaos_now();
    int rc = grove_call(p->sink, grove_msg_new("probe"), &r, PROBE_TIMEOUT);
    double dt = chaos_now() - t0;
    grove_msg_free(r);
    p->probes++;
    if (dt > PROBE_TIMEOUT + 0.5 && conts != c0) {
      probes_excused++; /* this node was frozen (SIGSTOP) during the call */
    } else if (dt > PROBE_TIMEOUT + 0.5) {
      p->probe_hung++;
      ev("probe_hung %s %.3f %s", p->name, dt, grove_err_name(rc));
    }
    if (rc == 0)
      p->probe_ok++;
    else if (rc == GROVE_EHOSTUNREACH)
      p->probe_unreach++;
    else if (rc == GROVE_ETIMEDOUT)
      p->probe_timeout++;
    else if (rc == GROVE_ECANCELED)
      break;
    else
      p->probe_other++;
  }
  return NULL;
}

static void report(void) {
  for (int i = 0; i < npeers; i++) {
    struct peer *p = &peers[i];
    printf("REPORT peer=%s", p->name);
#define KV(k) printf(" " #k "=%" PRIu64, (uint64_t)p->k)
    KV(refused);
    KV(uniq);
    KV(dups);
    KV(ooo);
    KV(gaps);
    KV(probes);
    KV(probe_ok);
    KV(probe_unreach);
    KV(probe_timeout);
    KV(probe_other);
    KV(probe_hung);
    KV(downs);
    KV(ups);
    KV(mon_set);
    KV(mon_fired);
    KV(mon_double);
    KV(link_set);
    KV(link_fired);
    KV(link_fired_nc);
    KV(link_double);
    KV(link_unknown);
    KV(tlinked);
    KV(texits);
    KV(texit_double);
    KV(flood_recv);
    KV(flood_ooo);
#undef KV
    printf(" sent=%" PRIu64 " recv_max=%" PRId64 " max_gap=%.3f up_now=%d\n", p->next_seq,
           p->max_seq, p->max_gap, (int)grove_node_is_up(p->name));
  }
  grove_node_stats st;
  memset(&st, 0, sizeof st);
  grove_node_stats_get(&st);
  printf("REPORT node=%s sent=%" PRIu64 " received=%" PRIu64 " frames_sent=%" PRIu64
         " frames_received=%" PRIu64 " dropped_malformed=%" PRIu64 " dropped_version=%" PRIu64
         " dropped_oversize=%" PRIu64 " dropped_unknown_peer=%" PRIu64
         " dropped_unroutable=%" PRIu64 " unknown_target=%" PRIu64 " nodes_down=%" PRIu64
         " nodes_up=%" PRIu64 " dropped_flow=%" PRIu64 " window_waits=%" PRIu64
         " unconfirmed=%" PRIu64 " dead_letters=%" PRIu64 " probes_excused=%" PRIu64 "\n",
         me, st.sent, st.received, st.frames_sent, st.frames_received, st.dropped_malformed,
         st.dropped_version, st.dropped_oversize, st.dropped_unknown_peer, st.dropped_unroutable,
         st.unknown_target, st.nodes_down, st.nodes_up, st.dropped_flow, st.window_waits,
         st.unconfirmed, grove_dead_letter_count(), probes_excused);
  printf("REPORT end\n");
  fflush(stdout);
}

/* End the target (killed: its monitors and links fire at the peers) and
 * start a new one under the same name. A peer that still holds a monitor
 * or link from before a partition it was declared down in fires it now:
 * the peer's watcher sees it fire twice. */
/* ---- a callee that ends without replying (issue 12, item 10) --------------------------- */

static int mortal_receive(grove_actor *self, grove_msg *msg) {
  if (grove_msg_is(msg, "die"))
    return -5003; /* ends, the request unanswered */
  return 0;
}
static const grove_actor_class mortal_class = {"mortal", sizeof(grove_actor), NULL, mortal_receive,
                                               NULL};
static grove_ref mortal_sup;

/* "diecalls N": N calls to each peer's "mortal" (restarted by its supervisor
 * each time); a call whose callee ended should fail at once, as a local one
 * does, not after its timeout. One line per peer, then "DIECALLS end". */
static void *diecalls(void *arg) {
  int n = (int)(intptr_t)arg;
  for (int i = 0; i < npeers; i++) {
    struct peer *p = &peers[i];
    int prompt = 0, waited = 0, lookup_failed = 0, answered = 0;
    double max_dt = 0;
    int last_code = 0;
    for (int k = 0; k < n; k++) {
      grove_ref r;
      int rc = grove_whereis_remote_wait(p->name, "mortal", &r, 2.0);
      if (rc) {
        lookup_failed++;
        continue;
      }
      grove_msg *reply = NULL;
      double t0 = chaos_now();
      rc = grove_call(r, grove_msg_new("die"), &reply, 1.0);
      double dt = chaos_now() - t0;
      grove_msg_free(reply);
      if (dt > max_dt)
        max_dt = dt;
      if (rc == 0)
        answered++;
      else if (dt < 0.5)
        prompt++;
      else
        waited++;
      last_code = rc;
      grove_sleep(0.02); /* its supervisor restarts it */
    }
    printf("DIECALLS peer=%s n=%d prompt=%d waited=%d answered=%d lookup_failed=%d max=%.3f "
           "last=%s\n",
           p->name, n, prompt, waited, answered, lookup_failed, max_dt, grove_err_name(last_code));
  }
  printf("DIECALLS end\n");
  fflush(stdout);
  return NULL;
}

/* "floodexit PEER N": N messages to PEER's sink, then return from main
 * without grove_node_stop (issue 12, item 9): a running node must flush what
 * it queued at exit, or count and report what it could not deliver. */
static int flood_exit(const char *arg) {
  char name[64];
  long n = 0;
  if (sscanf(arg, "%63s %ld", name, &n) != 2)
    return -1;
  struct peer *p = peer_by_name(name, strlen(name));
  if (!p || grove_ref_is_null(p->sink))
    return -1;
  long sent = 0, refused = 0;
  for (long i = 0; i < n; i++) {
    grove_msg *m = grove_msg_new("fseq");
    grove_msg_pack_str(m, me);
    grove_msg_pack_int(m, i);
    if (grove_send(p->sink, m) == 0)
      sent++;
    else
      refused++;
  }
  printf("FLOODSENT sent=%ld refused=%ld\n", sent, refused);
  fflush(stdout);
  return 0;
}

static void rotate_target(void) {
  grove_actor_exit(target_ref, GROVE_EXIT_KILLED);
  grove_actor_wait(target_ref, NULL, 2);
  for (int i = 0; i < npeers; i++)
    peers[i].tlink_active = false;
  grove_actor_opts to = {.name = "target", .trap_exits = true};
  if (grove_actor_spawn_ex(&target_class, NULL, &to, &target_ref) == 0)
    ev("rotated %s", me);
}

static bool all_ready(void) {
  for (int i = 0; i < npeers; i++)
    if (!peers[i].up || grove_ref_is_null(peers[i].sink) || !peers[i].link_active)
      return false;
  return true;
}

static void *readiness(void *arg) {
  (void)arg;
  double deadline = chaos_now() + 20;
  while (!quitting && chaos_now() < deadline) {
    if (all_ready()) {
      printf("READY %s\n", me);
      fflush(stdout);
      return NULL;
    }
    if (grove_sleep(0.02) != 0)
      return NULL;
  }
  printf("NOTREADY %s\n", me);
  fflush(stdout);
  return NULL;
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: chaos_node NAME BIND_ENDPOINT PEER=ENDPOINT...\n");
    return 2;
  }
  setvbuf(stdout, NULL, _IOLBF, 0);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_cont;
  sa.sa_flags = SA_RESTART;
  sigaction(SIGCONT, &sa, NULL);
  chaos_seed();
  me = argv[1];
  for (int i = 3; i < argc && npeers < MAXPEERS; i++) {
    const char *eq = strchr(argv[i], '=');
    if (!eq)
      return 2;
    struct peer *p = &peers[npeers++];
    snprintf(p->name, sizeof p->name, "%.*s", (int)(eq - argv[i]), argv[i]);
    snprintf(p->endpoint, sizeof p->endpoint, "%s", eq + 1);
    p->max_seq = -1;
    p->flood_max = -1;
  }
  if (getenv("CHAOS_RATE"))
    rate = atof(getenv("CHAOS_RATE"));
  grove_node_opts o = {
      .heartbeat_interval = getenv("CHAOS_HB_INTERVAL") ? atof(getenv("CHAOS_HB_INTERVAL")) : 0.25,
      .heartbeat_timeout = getenv("CHAOS_HB_TIMEOUT") ? atof(getenv("CHAOS_HB_TIMEOUT")) : 2.0,
      .allow_open = true}; /* namespaces the suite made: no CURVE on purpose */
  int rc = grove_node_start(me, argv[2], &o);
  if (rc) {
    fprintf(stderr, "chaos_node %s: grove_node_start(%s): %s\n", me, argv[2], grove_err_name(rc));
    return 2;
  }
  grove_child_spec ms = {.id = "mortal", .cls = &mortal_class, .shutdown = 1};
  ms.opts.name = "mortal";
  grove_supervisor_opts mso = {GROVE_ONE_FOR_ONE, 1000000, 1.0, NULL};
  if (grove_supervisor_start(&mso, &ms, 1, &mortal_sup))
    return 2;
  grove_actor_opts so = {.name = "sink"}, to = {.name = "target", .trap_exits = true},
                   wo = {.trap_exits = true};
  if (grove_actor_spawn_ex(&sink_class, NULL, &so, &sink_ref) ||
      grove_actor_spawn_ex(&target_class, NULL, &to, &target_ref) ||
      grove_actor_spawn_ex(&watcher_class, NULL, &wo, &watcher_ref))
    return 2;
  for (int i = 0; i < npeers; i++)
    if (strcmp(peers[i].name, me) > 0)
      grove_node_connect_ex(peers[i].name, peers[i].endpoint, NULL, 0);
  /* static: "floodexit" returns from main with these still running (the
   * node too, on purpose), and they must stay reachable for LeakSanitizer */
  static grove_greenlet *g[2 * MAXPEERS + 1];
  int ng = 0;
  for (int i = 0; i < npeers; i++) {
    g[ng++] = grove_spawn(streamer, &peers[i]);
    g[ng++] = grove_spawn(prober, &peers[i]);
  }
  g[ng++] = grove_spawn(readiness, NULL);

  char line[256];
  size_t have = 0;
  while (!quitting) {
    rc = grove_wait_readable(0, 1.0);
    if (rc == GROVE_ETIMEDOUT)
      continue;
    if (rc)
      break;
    ssize_t k = read(0, line + have, sizeof line - 1 - have);
    if (k == 0)
      break; /* the driver is gone */
    if (k < 0) {
      if (errno == EAGAIN || errno == EINTR)
        continue;
      break;
    }
    have += (size_t)k;
    line[have] = 0;
    char *nl;
    while ((nl = strchr(line, '\n')) != NULL) {
      *nl = 0;
      if (strcmp(line, "stop") == 0)
        streaming = false;
      else if (strcmp(line, "report") == 0)
        report();
      else if (strcmp(line, "quit") == 0)
        quitting = true;
      else if (strcmp(line, "rotate") == 0)
        rotate_target();
      else if (strncmp(line, "diecalls ", 9) == 0)
        grove_greenlet_release(grove_spawn(diecalls, (void *)(intptr_t)atoi(line + 9)));
      else if (strncmp(line, "floodexit ", 10) == 0 && flood_exit(line + 10) == 0)
        return 0; /* from main, the node still running: what it queued must not vanish */
      size_t used = (size_t)(nl + 1 - line);
      memmove(line, nl + 1, have - used + 1);
      have -= used;
    }
    if (have >= sizeof line - 1)
      have = 0;
  }
  quitting = true;
  streaming = false;
  for (int i = 0; i < ng; i++) {
    if (grove_join(g[i], 3.0) != 0)
      grove_kill(g[i], 1.0);
    grove_greenlet_release(g[i]);
  }
  grove_actor_exit(sink_ref, GROVE_EXIT_KILLED);
  grove_actor_exit(target_ref, GROVE_EXIT_KILLED);
  grove_actor_exit(watcher_ref, GROVE_EXIT_KILLED);
  grove_actor_wait(sink_ref, NULL, 2);
  grove_actor_wait(target_ref, NULL, 2);
  grove_actor_wait(watcher_ref, NULL, 2);
  grove_supervisor_stop(mortal_sup, 2);
  grove_node_stop();
  for (int i = 0; i < npeers; i++)
    free(peers[i].seen);
  rc = grove_hub_close();
  if (rc)
    fprintf(stderr, "chaos_node %s: grove_hub_close: %s\n", me, grove_err_name(rc));
  return rc ? 1 : 0;
}
