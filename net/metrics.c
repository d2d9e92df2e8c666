/* net/metrics.c - Prometheus metrics: GET /metrics on grove's own HTTP
 * server, in the text exposition format (version 0.0.4).
 *
 * Design notes.
 *
 * A scrape is the only time anything is computed: the handler gathers
 * grove_hubs_info, grove_actors_list and grove_peers_info (one round trip
 * to each other hub, on the scraper's connection greenlet) and writes the
 * text. Nobody scraping costs nothing but the hubs' loop-lag probes (a
 * timer every 200 ms per hub) and the node's round-trip probes (a WHEREIS a
 * second per peer), which run while a metrics server exists: it holds the
 * hub's observer count (grove__observe_hold, hub/core/observe.c - the one
 * internal call net/ makes, declared below).
 *
 * Names follow Prometheus' conventions: grove_ prefix, base units in the
 * name (_seconds), counters end in _total, every family has HELP and TYPE.
 * Label values are escaped (backslash, quote, newline). The longest
 * inboxes are a gauge with the actor's name, class, hub and id as labels,
 * for the TOP_ACTORS actors with the longest inboxes only: a label per
 * actor of a million would ruin any Prometheus server.
 *
 * Everything here uses the public API only (grove/observe.h,
 * grove/transport.h, grove/http.h), as the rest of net/ does.
 */
#include <grove.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOP_ACTORS 10

/* The hub's observer count (hub/core/observe.c): metrics servers hold it so
 * that every hub measures its loop lag. Declared here, not in a header: it
 * is the one internal call net/ makes. */
void grove__observe_hold(int delta);

struct grove_metrics {
  grove_http_server *srv;
  uint64_t scrapes;
  uint64_t errors; /* answered 404 / 405 */
};

/* ---- a growing text buffer ---------------------------------------------------------------- */

typedef struct buf {
  char *p;
  size_t len, cap;
  int oom;
} buf;

static void put(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(buf *b, const char *fmt, ...) {
  if (b->oom)
    return;
  for (;;) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
      b->oom = 1;
      return;
    }
    if (b->p && b->len + (size_t)n < b->cap) {
      b->len += (size_t)n;
      return;
    }
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + (size_t)n + 1)
      cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) {
      b->oom = 1;
      return;
    }
    b->p = p;
    b->cap = cap;
  }
}

/* A label value, escaped as the text format wants. */
static void put_label(buf *b, const char *s) {
  char tmp[2 * 256 + 1];
  size_t w = 0;
  for (; *s && w + 2 < sizeof tmp; s++) {
    if (*s == '\\' || *s == '"') {
      tmp[w++] = '\\';
      tmp[w++] = *s;
    } else if (*s == '\n') {
      tmp[w++] = '\\';
      tmp[w++] = 'n';
    } else {
      tmp[w++] = *s;
    }
  }
  tmp[w] = 0;
  put(b, "%s", tmp);
}

static void family(buf *b, const char *name, const char *type, const char *help) {
  put(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void sample_u(buf *b, const char *name, uint64_t v) {
  put(b, "%s %llu\n", name, (unsigned long long)v);
}

/* ---- rendering ----------------------------------------------------------------------------- */

static int render(const grove_metrics *m, char **text, size_t *len) {
  *text = NULL;
  *len = 0;
  size_t nh = grove_hub_count(), nhubs = 0;
  grove_hub_info *hubs = calloc(nh ? nh : 1, sizeof *hubs);
  grove_actor_info top[TOP_ACTORS];
  size_t ntop = 0, atotal = 0;
  size_t npc = grove_node_name() ? 64 : 0, np = 0;
  grove_peer_info *peers = NULL;
  if (!hubs)
    return GROVE_ENOMEM;
  int rc = grove_hubs_info(hubs, nh, &nhubs);
  if (!rc)
    rc = grove_actors_list(top, TOP_ACTORS, &ntop, &atotal);
  while (!rc && npc) {
    free(peers);
    peers = calloc(npc, sizeof *peers);
    if (!peers) {
      rc = GROVE_ENOMEM;
      break;
    }
    rc = grove_peers_info(peers, npc, &np);
    if (rc || np < npc)
      break;
    npc *= 2; /* there may be more */
  }
  if (rc) {
    free(hubs);
    free(peers);
    return rc;
  }

  buf b = {0};
  const char *node = grove_node_name();
  family(&b, "grove_info", "gauge", "Always 1: the grove version and the node's name.");
  put(&b, "grove_info{version=\"%s\",node=\"", GROVE_VERSION_STRING);
  put_label(&b, node ? node : "");
  put(&b, "\"} 1\n");

  family(&b, "grove_hubs", "gauge", "Hubs (scheduler threads) in the process.");
  sample_u(&b, "grove_hubs", nhubs);

#define PER_HUB(name, type, help, expr)                                                            \
  family(&b, name, type, help);                                                                    \
  for (size_t i = 0; i < nhubs; i++) {                                                             \
    const grove_hub_info *h = &hubs[i];                                                            \
    (void)h;                                                                                       \
    put(&b, "%s{hub=\"%zu\"} ", name, hubs[i].index);                                              \
    expr;                                                                                          \
  }
  PER_HUB("grove_hub_greenlets", "gauge", "Live greenlets of the hub (the library's own excepted).",
          put(&b, "%zu\n", h->greenlets))
  PER_HUB("grove_hub_run_queue_length", "gauge",
          "Entries in the hub's run queue (greenlets and callbacks ready to run).",
          put(&b, "%zu\n", h->runq))
  PER_HUB("grove_hub_loop_lag_seconds", "gauge",
          "How late the hub's 200 ms probe timer fired last: time the hub was busy past it.",
          put(&b, "%.6f\n", h->loop_lag_ms / 1e3))
  PER_HUB("grove_hub_actors", "gauge", "Live actors on the hub.", put(&b, "%zu\n", h->actors))
  PER_HUB("grove_hub_messages_total", "counter", "Messages handled by the hub's actors.",
          put(&b, "%llu\n", (unsigned long long)h->messages))
  PER_HUB("grove_hub_dead_letters_total", "counter",
          "Messages to actors of the hub that could not be delivered (dead letters).",
          put(&b, "%llu\n", (unsigned long long)h->dead_letters))
  PER_HUB("grove_supervisor_restarts_total", "counter",
          "Children restarted by the supervisors running on the hub.",
          put(&b, "%llu\n", (unsigned long long)h->restarts))
#undef PER_HUB

  uint64_t dead = 0, msgs = 0;
  for (size_t i = 0; i < nhubs; i++) {
    dead += hubs[i].dead_letters;
    msgs += hubs[i].messages;
  }
  family(&b, "grove_actors", "gauge", "Live actors in the process.");
  sample_u(&b, "grove_actors", atotal);
  family(&b, "grove_messages_total", "counter", "Messages handled by the process's actors.");
  sample_u(&b, "grove_messages_total", msgs);
  family(&b, "grove_dead_letters_total", "counter",
         "Messages that could not be delivered, in the whole process.");
  sample_u(&b, "grove_dead_letters_total", dead);
  family(&b, "grove_actor_inbox_messages", "gauge",
         "Messages waiting in the inbox, for the actors with the longest inboxes (at most 10).");
  for (size_t i = 0; i < ntop; i++) {
    put(&b, "grove_actor_inbox_messages{actor=\"");
    put_label(&b, top[i].name);
    put(&b, "\",class=\"");
    put_label(&b, top[i].cls);
    /* id: the actor's slot on its hub (the ref id's low half), unique
     * with the hub among the live actors */
    put(&b, "\",hub=\"%zu\",id=\"%u\"} %u\n", top[i].hub, (unsigned)(top[i].ref.id & 0xffffffffu),
        top[i].inbox);
  }

  grove_node_stats ns;
  if (node && grove_node_stats_get(&ns) == 0) {
    family(&b, "grove_peer_up", "gauge", "1 while the peer node is up, else 0.");
    for (size_t i = 0; i < np; i++) {
      put(&b, "grove_peer_up{peer=\"");
      put_label(&b, peers[i].name);
      put(&b, "\"} %d\n", peers[i].state == 1);
    }
#define PER_PEER(fam, type, help, field)                                                           \
  family(&b, fam, type, help);                                                                     \
  for (size_t i = 0; i < np; i++) {                                                                \
    put(&b, "%s{peer=\"", fam);                                                                    \
    put_label(&b, peers[i].name);                                                                  \
    put(&b, "\"} %llu\n", (unsigned long long)peers[i].field);                                     \
  }
    PER_PEER("grove_peer_sent_messages_total", "counter",
             "Messages (sends, calls, replies) sent to the peer.", sent)
    PER_PEER("grove_peer_received_messages_total", "counter",
             "Messages (sends, calls, replies) received from the peer.", received)
    PER_PEER("grove_peer_dropped_messages_total", "counter",
             "Messages to or from the peer that were not delivered (unknown target, beyond "
             "credit, or lost or unconfirmed when it went down).",
             dropped)
#undef PER_PEER
    family(&b, "grove_peer_rtt_seconds", "gauge",
           "Round trip to the peer, last measured (once a second while metrics are on).");
    for (size_t i = 0; i < np; i++) {
      if (peers[i].rtt_ms < 0)
        continue;
      put(&b, "grove_peer_rtt_seconds{peer=\"");
      put_label(&b, peers[i].name);
      put(&b, "\"} %.6f\n", peers[i].rtt_ms / 1e3);
    }
    family(&b, "grove_node_envelopes_sent_total", "counter", "Wire envelopes sent by the node.");
    sample_u(&b, "grove_node_envelopes_sent_total", ns.sent);
    family(&b, "grove_node_envelopes_received_total", "counter",
           "Wire envelopes received by the node.");
    sample_u(&b, "grove_node_envelopes_received_total", ns.received);
    family(&b, "grove_node_dropped_total", "counter",
           "Frames or envelopes the node dropped, by reason (all counted, none silent).");
    const struct {
      const char *why;
      uint64_t v;
    } drops[] = {
        {"malformed", ns.dropped_malformed},         {"version", ns.dropped_version},
        {"oversize", ns.dropped_oversize},           {"unknown_peer", ns.dropped_unknown_peer},
        {"unroutable", ns.dropped_unroutable},       {"flow", ns.dropped_flow},
        {"unknown_target", ns.unknown_target},       {"unconfirmed", ns.unconfirmed},
        {"introspect_denied", ns.introspect_denied}, {"introspect_bad", ns.introspect_bad}};
    for (size_t i = 0; i < sizeof drops / sizeof drops[0]; i++)
      put(&b, "grove_node_dropped_total{reason=\"%s\"} %llu\n", drops[i].why,
          (unsigned long long)drops[i].v);
    family(&b, "grove_node_transitions_total", "counter", "Peers seen going up or down.");
    put(&b, "grove_node_transitions_total{to=\"up\"} %llu\n", (unsigned long long)ns.nodes_up);
    put(&b, "grove_node_transitions_total{to=\"down\"} %llu\n", (unsigned long long)ns.nodes_down);
    family(&b, "grove_node_flow_waits_total", "counter",
           "Sends and calls that waited for flow control, by what they waited for.");
    put(&b, "grove_node_flow_waits_total{for=\"window\"} %llu\n",
        (unsigned long long)ns.window_waits);
    put(&b, "grove_node_flow_waits_total{for=\"inbox\"} %llu\n",
        (unsigned long long)ns.target_waits);
  }

  if (m) {
    grove_http_stats hs;
    grove_http_server_stats(m->srv, &hs);
    family(&b, "grove_metrics_scrapes_total", "counter", "Scrapes of this metrics endpoint.");
    sample_u(&b, "grove_metrics_scrapes_total", m->scrapes);
    family(&b, "grove_metrics_bad_requests_total", "counter",
           "Requests to this endpoint answered with an HTTP error (4xx).");
    sample_u(&b, "grove_metrics_bad_requests_total", grove_metrics_errors(m));
  }
  free(hubs);
  free(peers);
  if (b.oom) {
    free(b.p);
    return GROVE_ENOMEM;
  }
  *text = b.p;
  *len = b.len;
  return 0;
}

int grove_metrics_render(char **text, size_t *len) {
  if (!text || !len)
    return GROVE_EINVAL;
  return render(NULL, text, len);
}

/* ---- the endpoint ---------------------------------------------------------------------------- */

static void handler(grove_http_request *req, void *arg) {
  grove_metrics *m = arg;
  const char *method = grove_http_method(req);
  if (strcmp(grove_http_path(req), "/metrics") != 0) {
    m->errors++;
    const char *msg = "not found: metrics are at /metrics\n";
    grove_http_respond(req, 404, "text/plain; charset=utf-8", msg, strlen(msg), 10);
    return;
  }
  if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
    m->errors++;
    grove_http_add_header(req, "Allow", "GET, HEAD");
    const char *msg = "method not allowed\n";
    grove_http_respond(req, 405, "text/plain; charset=utf-8", msg, strlen(msg), 10);
    return;
  }
  m->scrapes++;
  char *text;
  size_t len;
  int rc = render(m, &text, &len);
  if (rc) {
    char msg[128];
    int n = snprintf(msg, sizeof msg, "could not gather the metrics: %s\n", grove_strerror(rc));
    grove_http_respond(req, 503, "text/plain; charset=utf-8", msg, (size_t)n, 10);
    return;
  }
  grove_http_respond(req, 200, "text/plain; version=0.0.4; charset=utf-8", text, len, 30);
  free(text);
}

int grove_metrics_start(const char *host, int port, grove_metrics **out) {
  if (out)
    *out = NULL;
  if (!out || port < 0 || port > 65535)
    return GROVE_EINVAL;
  grove_metrics *m = calloc(1, sizeof *m);
  if (!m)
    return GROVE_ENOMEM;
  grove_socket *ls;
  int rc = grove_tcp_listen(host, port, 0, &ls);
  if (rc) {
    free(m);
    return rc;
  }
  /* A scrape is a small request: tight limits, and few connections. */
  grove_http_config cfg = {.max_body_size = 4096,
                           .request_timeout = 10,
                           .keepalive_timeout = 120,
                           .max_connections = 16};
  rc = grove_http_server_new(ls, handler, m, &cfg, &m->srv);
  if (!rc)
    rc = grove_http_server_start(m->srv);
  if (rc) {
    grove_http_server_free(m->srv);
    free(m);
    return rc;
  }
  grove__observe_hold(1);
  *out = m;
  return 0;
}

int grove_metrics_port(const grove_metrics *m) { return m ? grove_http_server_port(m->srv) : 0; }

uint64_t grove_metrics_errors(const grove_metrics *m) {
  if (!m)
    return 0;
  grove_http_stats hs;
  grove_http_server_stats(m->srv, &hs);
  return m->errors + hs.bad_requests + hs.timeouts + hs.too_large + hs.headers_too_large;
}

int grove_metrics_stop(grove_metrics *m) {
  if (!m)
    return 0;
  int rc = grove_http_server_stop(m->srv, 1.0);
  grove_http_server_free(m->srv);
  grove__observe_hold(-1);
  free(m);
  return rc;
}
