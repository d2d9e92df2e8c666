/* observed.c - a node worth looking at with grove-top: a few actors whose
 * inboxes grow, fill up or stay empty, on two hubs.
 *
 *   observed [--introspect ENDPOINT] [--name NAME] [--seconds S]
 *
 * What runs (hub 0 unless said):
 *   - a pipeline: the greenlet "producer" sends 200 items a second to the
 *     actor "parse", which passes each on to "slow-sink"; the sink takes
 *     20 ms an item (50 a second), so its unbounded inbox grows by about
 *     150 a second - until 2000, where the producer waits for it to drain
 *     to 1000 (so the demo's memory stays bounded);
 *   - "stuck", an actor with a bounded inbox (inbox_max 50) whose first
 *     receive never returns (it waits for an event nobody sets), and the
 *     greenlet "feeder" that keeps sending to it: the inbox is full (50 of
 *     50), the actor "waiting", the feeder blocked in grove_send;
 *   - "counter" on hub 1, sent 1000 "tick"s a second by the greenlet
 *     "ticker" (a send across hubs);
 *   - "idle-1" and "idle-2", which are never sent anything.
 *
 * --introspect ENDPOINT starts the node NAME (default "observed") at
 * ENDPOINT with its introspection service on (grove_node_opts.introspect),
 * prints the grove-top command that shows it, and runs until SIGINT or
 * SIGTERM (or --seconds). Without it there is no node: the program runs for
 * --seconds (default 2) and prints its actors itself with
 * grove_actors_list, the in-process form of the same snapshot
 * (docs/observability.md).
 *
 * Exits 0 after a clean shutdown (every actor stopped, the hubs closed).
 */
#include <grove.h>

#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PRODUCE_PER_S 200
#define SINK_SECONDS 0.020
#define SINK_HIGH 2000 /* the producer waits above this... */
#define SINK_LOW 1000  /* ...until the sink is down to this */
#define STUCK_MAX 50
#define TICKS_PER_S 1000

static grove_ref parse_ref, sink_ref, stuck_ref, counter_ref, idle_refs[2];
static grove_event *stop_ev;   /* set: shut down */
static grove_event *stuck_ev;  /* never set until shutdown: "stuck" waits on it */
static atomic_size_t sink_len; /* the sink's inbox, as the sink last saw it */

/* ---- the actors ---------------------------------------------------------------------- */

static grove_msg *item(int64_t k) {
  grove_msg *m = grove_msg_new("item");
  if (m)
    grove_msg_pack_int(m, k);
  return m;
}

/* Passes each item on as a new message (a forwarded one stays marked as
 * taken, and the last receiver would leak it: examples/pipeline.c). */
static int parse_receive(grove_actor *self, grove_msg *msg) {
  (void)self;
  int64_t k = 0;
  if (grove_msg_is(msg, "item") && grove_msg_int(msg, 0, &k) == 0)
    return grove_send(sink_ref, item(k)) == GROVE_ECANCELED ? GROVE_ECANCELED : 0;
  return 0;
}

static int sink_receive(grove_actor *self, grove_msg *msg) {
  grove_actor_stats stats;
  if (grove_actor_stats_get(grove_actor_ref(self), &stats) == 0)
    atomic_store(&sink_len, stats.inbox_len);
  (void)msg;
  return grove_sleep(SINK_SECONDS) == GROVE_ECANCELED ? GROVE_ECANCELED : 0;
}

static int stuck_receive(grove_actor *self, grove_msg *msg) {
  (void)self;
  (void)msg;
  int rc = grove_event_wait(stuck_ev, GROVE_FOREVER);
  return rc == 0 ? 0 : rc;
}

static int plain_receive(grove_actor *self, grove_msg *msg) {
  (void)self;
  (void)msg;
  return 0;
}

static const grove_actor_class parse_class = {
    .name = "parse", .size = sizeof(grove_actor), .receive = parse_receive};
static const grove_actor_class sink_class = {
    .name = "sink", .size = sizeof(grove_actor), .receive = sink_receive};
static const grove_actor_class stuck_class = {
    .name = "stuck", .size = sizeof(grove_actor), .receive = stuck_receive};
static const grove_actor_class counter_class = {
    .name = "counter", .size = sizeof(grove_actor), .receive = plain_receive};
static const grove_actor_class idle_class = {
    .name = "idle", .size = sizeof(grove_actor), .receive = plain_receive};

/* ---- the greenlets that feed them ------------------------------------------------------ */

/* Ten items every 50 ms; pauses while the sink is past SINK_HIGH. */
static void *producer(void *arg) {
  (void)arg;
  int64_t k = 0;
  bool paused = false;
  while (grove_event_wait(stop_ev, 0.050) == GROVE_ETIMEDOUT) {
    size_t len = atomic_load(&sink_len);
    paused = paused ? len > SINK_LOW : len >= SINK_HIGH;
    for (int i = 0; i < PRODUCE_PER_S / 20 && !paused; i++)
      if (grove_send(parse_ref, item(++k)) != 0)
        return NULL;
  }
  return NULL;
}

/* Sends to "stuck" until its inbox is full, then waits in grove_send. */
static void *feeder(void *arg) {
  (void)arg;
  int64_t k = 0;
  while (!grove_event_is_set(stop_ev))
    if (grove_send(stuck_ref, item(++k)) != 0)
      break;
  return NULL;
}

/* Fifty ticks every 50 ms to "counter" on hub 1. */
static void *ticker(void *arg) {
  (void)arg;
  while (grove_event_wait(stop_ev, 0.050) == GROVE_ETIMEDOUT)
    for (int i = 0; i < TICKS_PER_S / 20; i++)
      if (grove_send(counter_ref, grove_msg_new("tick")) != 0)
        return NULL;
  return NULL;
}

static void *on_signal(void *arg) {
  (void)arg;
  grove_event_set(stop_ev);
  return NULL;
}

static grove_greenlet *spawn_named(grove_fn fn, const char *name) {
  grove_spawn_opts o = {.name = name};
  return grove_spawn_ex(fn, NULL, &o);
}

static int spawn_actor(size_t hub, const grove_actor_class *cls, const char *name, size_t max,
                       grove_ref *out) {
  grove_actor_opts o = {.name = name, .inbox_max = max};
  int rc = grove_actor_spawn_on(hub, cls, NULL, &o, out);
  if (rc != 0)
    fprintf(stderr, "observed: cannot start %s: %s\n", name, grove_strerror(rc));
  return rc;
}

/* Without a node: the same view, from inside (grove_actors_list). */
static int print_actors(void) {
  grove_actor_info info[32];
  size_t n = 0, total = 0;
  int rc = grove_actors_list(info, 32, &n, &total);
  if (rc != 0) {
    fprintf(stderr, "observed: grove_actors_list: %s\n", grove_strerror(rc));
    return rc;
  }
  printf("%zu actors (%zu listed), longest inboxes first:\n", total, n);
  printf("  %-12s %-8s %3s %6s %6s %9s  %s\n", "NAME", "CLASS", "HUB", "INBOX", "MAX", "RECEIVED",
         "STATE");
  for (size_t i = 0; i < n; i++) {
    char max[16] = "-";
    if (info[i].inbox_max)
      snprintf(max, sizeof max, "%u", info[i].inbox_max);
    printf("  %-12s %-8s %3zu %6u %6s %9llu  %s\n", info[i].name, info[i].cls, info[i].hub,
           info[i].inbox, max, (unsigned long long)info[i].received,
           grove_actor_state_name(info[i].state));
  }
  return 0;
}

int main(int argc, char **argv) {
  const char *endpoint = NULL, *name = "observed";
  double seconds = -1;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--introspect") == 0 && i + 1 < argc) {
      endpoint = argv[++i];
    } else if (strcmp(argv[i], "--name") == 0 && i + 1 < argc) {
      name = argv[++i];
    } else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
      char *end;
      seconds = strtod(argv[++i], &end);
      if (*end || !(seconds >= 0)) {
        fprintf(stderr, "observed: --seconds: a number of seconds\n");
        return 2;
      }
    } else {
      fprintf(stderr, "usage: observed [--introspect ENDPOINT] [--name NAME] [--seconds S]\n");
      return 2;
    }
  }
  if (seconds < 0 && !endpoint)
    seconds = 2;

  setvbuf(stdout, NULL, _IOLBF, 0); /* a script reads the first line at once */
  int rc = grove_hubs_start(2);
  if (rc != 0) {
    fprintf(stderr, "observed: grove_hubs_start: %s\n", grove_strerror(rc));
    return 1;
  }
  if (endpoint) {
    grove_node_opts opts = {.introspect = true};
    rc = grove_node_start(name, endpoint, &opts);
    if (rc != 0) {
      fprintf(stderr, "observed: grove_node_start %s %s: %s\n", name, endpoint, grove_strerror(rc));
      grove_hubs_stop(1.0);
      return 1;
    }
  }
  stop_ev = grove_event_new();
  stuck_ev = grove_event_new();
  if (spawn_actor(0, &sink_class, "slow-sink", 0, &sink_ref) ||
      spawn_actor(0, &parse_class, "parse", 0, &parse_ref) ||
      spawn_actor(0, &stuck_class, "stuck", STUCK_MAX, &stuck_ref) ||
      spawn_actor(1, &counter_class, "counter", 0, &counter_ref) ||
      spawn_actor(0, &idle_class, "idle-1", 0, &idle_refs[0]) ||
      spawn_actor(0, &idle_class, "idle-2", 0, &idle_refs[1]))
    return 1;
  grove_greenlet *gs[3] = {spawn_named(producer, "producer"), spawn_named(feeder, "feeder"),
                           spawn_named(ticker, "ticker")};
  grove_signal_handler *h1 = grove_signal_handle(SIGINT, on_signal, NULL);
  grove_signal_handler *h2 = grove_signal_handle(SIGTERM, on_signal, NULL);

  if (endpoint)
    printf("observed: node %s at %s, introspection on; look at it with:\n"
           "  grove-top %s %s\n",
           name, grove_node_endpoint(), name, grove_node_endpoint());
  grove_event_wait(stop_ev, seconds);
  int status = endpoint ? 0 : print_actors();

  /* Shut down: the feeders first (the feeder is blocked on the full inbox
   * of "stuck": the kill wakes it), then the actors, then the hubs. */
  grove_event_set(stop_ev);
  grove_killall(gs, 3, 2.0);
  for (int i = 0; i < 3; i++)
    grove_greenlet_release(gs[i]);
  grove_ref local[] = {parse_ref, sink_ref, stuck_ref, idle_refs[0], idle_refs[1]};
  for (size_t i = 0; i < sizeof local / sizeof local[0]; i++) {
    grove_actor_exit(local[i], GROVE_EXIT_SHUTDOWN);
    grove_actor_wait(local[i], NULL, 2.0);
  }
  grove_signal_handler_cancel(h1);
  grove_signal_handler_cancel(h2);
  /* The node (and its introspection service) first, then the hubs. */
  if (endpoint)
    grove_node_stop();
  if (grove_hubs_stop(2.0) != 0)
    status = 1;
  grove_event_free(stop_ev);
  grove_event_free(stuck_ev);
  if (grove_hub_close() != 0) {
    fprintf(stderr, "observed: the hub did not close cleanly\n");
    status = 1;
  }
  return status;
}
