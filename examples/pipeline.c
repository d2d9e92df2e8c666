/* pipeline.c - source -> parse -> transform -> sink, with bounded inboxes.
 *
 *   pipeline [ITEMS]      (default 1000000)
 *
 * Four actors in a row. The source produces the numbers 1..ITEMS as decimal
 * strings ("line" [str]); parse turns each into an integer ("num" [int]);
 * transform squares it ("square" [int]); the sink adds the squares up and
 * checks the total against the closed form ITEMS(ITEMS+1)(2 ITEMS+1)/6.
 * After the last item the source sends "eof"; each stage passes an "eof" on
 * and stops.
 *
 * Backpressure: every stage's inbox holds at most INBOX_MAX messages
 * (grove_actor_opts.inbox_max). grove_send to a full inbox waits until the
 * receiver has taken a message out, so a fast producer is slowed to the pace
 * of the slowest consumer instead of filling memory. To show it, the sink is
 * deliberately slow (SLOW_SECONDS per item) for its first SLOW_ITEMS items:
 * meanwhile the source can never get further ahead of the sink than the
 * messages the pipeline can hold - INBOX_MAX in each of the three inboxes
 * plus the one message each stage has in hand - and the program checks that
 * it did not.
 */
#include <grove.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define INBOX_MAX 64
#define STAGES 3 /* inboxes between the source and the end of the sink */
#define MAX_LEAD (STAGES * INBOX_MAX + STAGES)
#define SLOW_ITEMS 200
#define SLOW_SECONDS 0.001

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* What the stages report to main (static: main reads it after they end). */
static struct {
  int64_t items;                 /* how many the source produces */
  int64_t produced;              /* sends to parse that have returned */
  int64_t consumed;              /* items the sink has finished with */
  int64_t max_lead;              /* the most produced - consumed ever was */
  int64_t slow_lead;             /* the same while the sink was slow */
  int64_t produced_at_slow_end;  /* produced when the slow prefix was done */
  int64_t full_waits;            /* sends that found parse's inbox full */
  int64_t bad_items;             /* parse errors or unexpected messages */
  int64_t sum;                   /* the sink's total */
  int64_t expected;              /* the closed form */
  int ok;                        /* the sink found the right total */
  int ended;                     /* stages that ended normally */
  double t_start, t_fast, t_end; /* start, end of the slow prefix, eof at the sink */
} st;

/* Every stage has the same shape: the ref of the next stage and a counter. */
struct stage {
  grove_actor base;
  grove_ref next; /* null for the sink */
  int64_t seen;
};

static int stage_init(grove_actor *self, void *next) {
  ((struct stage *)self)->next = next ? *(grove_ref *)next : GROVE_REF_NULL;
  return 0;
}

static void stage_end(grove_actor *self, int reason) {
  (void)self;
  if (reason == GROVE_EXIT_NORMAL)
    st.ended++;
  else
    fprintf(stderr, "pipeline: a stage ended with %s\n", grove_exit_reason_name(reason));
}

/* Pass eof on and stop. (A fresh message rather than the received one
 * forwarded with grove_msg_take: grove keeps a forwarded message marked as
 * taken, so the last receiver would leak it.) */
static int forward_eof(struct stage *s) {
  grove_send(s->next, grove_msg_new("eof"));
  return GROVE_STOP;
}

static int send_int(grove_ref to, const char *tag, int64_t v) {
  grove_msg *m = grove_msg_new(tag);
  if (!m || grove_msg_pack_int(m, v) != 0) {
    grove_msg_free(m);
    return GROVE_ENOMEM;
  }
  return grove_send(to, m);
}

/* ---- source: "go" -> ITEMS lines, then eof ------------------------------------- */

static int source_receive(grove_actor *self, grove_msg *msg) {
  struct stage *s = (struct stage *)self;
  if (!grove_msg_is(msg, "go"))
    return GROVE_EINVAL;
  grove_actor_stats stats;
  for (int64_t i = 1; i <= st.items; i++) {
    char line[24];
    snprintf(line, sizeof line, "%lld", (long long)i);
    grove_msg *m = grove_msg_new("line");
    if (!m || grove_msg_pack_str(m, line) != 0) {
      grove_msg_free(m);
      return GROVE_ENOMEM;
    }
    if (grove_actor_stats_get(s->next, &stats) == 0 && stats.inbox_len >= INBOX_MAX)
      st.full_waits++;               /* this send waits for room */
    int rc = grove_send(s->next, m); /* blocks while parse's inbox is full */
    if (rc != 0)
      return rc;
    int64_t lead = ++st.produced - st.consumed;
    if (lead > st.max_lead)
      st.max_lead = lead;
    if (st.consumed < SLOW_ITEMS && lead > st.slow_lead)
      st.slow_lead = lead;
  }
  grove_send(s->next, grove_msg_new("eof"));
  return GROVE_STOP;
}

/* ---- parse: "line" [str] -> "num" [int] ---------------------------------------- */

static int parse_decimal(const char *p, size_t n, int64_t *out) {
  int64_t v = 0;
  if (n == 0 || n > 18)
    return GROVE_EINVAL;
  for (size_t i = 0; i < n; i++) {
    if (p[i] < '0' || p[i] > '9')
      return GROVE_EINVAL;
    v = v * 10 + (p[i] - '0');
  }
  *out = v;
  return 0;
}

static int parse_receive(grove_actor *self, grove_msg *msg) {
  struct stage *s = (struct stage *)self;
  if (grove_msg_is(msg, "eof"))
    return forward_eof(s);
  const char *text;
  size_t len;
  int64_t v;
  if (grove_msg_str(msg, 0, &text, &len) != 0 || parse_decimal(text, len, &v) != 0) {
    st.bad_items++;
    return 0;
  }
  return send_int(s->next, "num", v);
}

/* ---- transform: "num" [int] -> "square" [int] ----------------------------------- */

static int transform_receive(grove_actor *self, grove_msg *msg) {
  struct stage *s = (struct stage *)self;
  if (grove_msg_is(msg, "eof"))
    return forward_eof(s);
  int64_t v;
  if (grove_msg_int(msg, 0, &v) != 0) {
    st.bad_items++;
    return 0;
  }
  return send_int(s->next, "square", v * v);
}

/* 1^2 + ... + n^2 = n(n+1)(2n+1)/6; the product fits in 64 bits for n <= 2M. */
static int64_t sum_of_squares(int64_t n) {
  uint64_t u = (uint64_t)n;
  return (int64_t)(u * (u + 1) * (2 * u + 1) / 6);
}

/* ---- sink: adds up; slow for its first SLOW_ITEMS items -------------------------- */

static int sink_receive(grove_actor *self, grove_msg *msg) {
  struct stage *s = (struct stage *)self;
  if (grove_msg_is(msg, "eof")) {
    st.t_end = now_s();
    st.expected = sum_of_squares(st.items);
    st.ok = s->seen == st.items && st.sum == st.expected;
    return GROVE_STOP;
  }
  int64_t v;
  if (grove_msg_int(msg, 0, &v) != 0) {
    st.bad_items++;
    return 0;
  }
  if (s->seen < SLOW_ITEMS)
    grove_sleep(SLOW_SECONDS); /* the deliberate slow start */
  s->seen++;
  st.sum += v;
  if (++st.consumed == SLOW_ITEMS) {
    st.t_fast = now_s();
    st.produced_at_slow_end = st.produced;
  }
  return 0;
}

static const grove_actor_class source_class = {.name = "source",
                                               .size = sizeof(struct stage),
                                               .init = stage_init,
                                               .receive = source_receive,
                                               .terminate = stage_end};
static const grove_actor_class parse_class = {.name = "parse",
                                              .size = sizeof(struct stage),
                                              .init = stage_init,
                                              .receive = parse_receive,
                                              .terminate = stage_end};
static const grove_actor_class transform_class = {.name = "transform",
                                                  .size = sizeof(struct stage),
                                                  .init = stage_init,
                                                  .receive = transform_receive,
                                                  .terminate = stage_end};
static const grove_actor_class sink_class = {.name = "sink",
                                             .size = sizeof(struct stage),
                                             .init = stage_init,
                                             .receive = sink_receive,
                                             .terminate = stage_end};

int main(int argc, char **argv) {
  st.items = argc > 1 ? strtoll(argv[1], NULL, 10) : 1000000;
  if (st.items <= SLOW_ITEMS || st.items > 2000000) {
    fprintf(stderr, "usage: %s [ITEMS: %d < ITEMS <= 2000000]\n", argv[0], SLOW_ITEMS);
    return EXIT_FAILURE;
  }
  /* Each stage's init reads the next stage's ref: static, not on a stack. */
  static grove_ref sink, transform, parse, source;
  grove_actor_opts bounded = {.inbox_max = INBOX_MAX};
  if (grove_actor_spawn_ex(&sink_class, NULL, &bounded, &sink) != 0 ||
      grove_actor_spawn_ex(&transform_class, &sink, &bounded, &transform) != 0 ||
      grove_actor_spawn_ex(&parse_class, &transform, &bounded, &parse) != 0 ||
      grove_actor_spawn_ex(&source_class, &parse, NULL, &source) != 0) {
    fprintf(stderr, "pipeline: cannot spawn the stages\n");
    return EXIT_FAILURE;
  }
  st.t_start = now_s();
  grove_send(source, grove_msg_new("go"));
  int reason = -1;
  int rc = grove_actor_wait(sink, &reason, GROVE_FOREVER);

  int64_t n = st.items;
  printf("%lld items through source -> parse -> transform -> sink, inboxes bounded at %d\n",
         (long long)n, INBOX_MAX);
  printf("slow start: the sink took %.0f ms per item for its first %d items (%.3f s);\n",
         SLOW_SECONDS * 1e3, SLOW_ITEMS, st.t_fast - st.t_start);
  printf("  meanwhile the source got at most %lld items ahead of the sink (limit %d: %d inboxes "
         "x %d + 1 in hand per stage)\n",
         (long long)st.slow_lead, MAX_LEAD, STAGES, INBOX_MAX);
  printf("  and had produced %lld items when the sink finished its %d slow ones\n",
         (long long)st.produced_at_slow_end, SLOW_ITEMS);
  printf("source's sends that waited for room: %lld; its largest lead overall: %lld\n",
         (long long)st.full_waits, (long long)st.max_lead);
  double fast = st.t_end - st.t_fast;
  int64_t fast_items = n - SLOW_ITEMS;
  printf("after the slow start: %lld items in %.3f s = %.2f M items/s, %.2f M msgs/s "
         "(3 hops per item)\n",
         (long long)fast_items, fast, (double)fast_items / fast / 1e6,
         3.0 * (double)fast_items / fast / 1e6);
  int good = rc == 0 && reason == GROVE_EXIT_NORMAL && st.ended == 4 && st.ok &&
             st.bad_items == 0 && st.slow_lead <= MAX_LEAD && st.max_lead <= MAX_LEAD;
  printf("sum of squares 1..%lld = %lld (closed form %lld): %s\n", (long long)n, (long long)st.sum,
         (long long)st.expected, good ? "ok" : "WRONG");
  if (grove_hub_close() != 0)
    good = 0;
  return good ? EXIT_SUCCESS : EXIT_FAILURE;
}
