/* hub/core/dump.c - grove_dump: what every greenlet of this thread is doing
 * (gevent's format_run_info). */
#include "internal.h"

static const char *state_name(const grove_greenlet *g) {
  switch (g->state) {
  case GROVE__NEW:
    return "new";
  case GROVE__READY:
    return "ready";
  case GROVE__RUNNING:
    return "running";
  case GROVE__BLOCKED:
    return "blocked";
  default:
    return "dead";
  }
}

static void dump_one(FILE *out, const grove_greenlet *g) {
  fprintf(out, "  greenlet %llu \"%s\" %s", (unsigned long long)g->id, grove_greenlet_name(g),
          state_name(g));
  if (g->state == GROVE__BLOCKED || g->state == GROVE__READY) {
    if (g->wait_what)
      fprintf(out, " on %s", g->wait_what);
    if (g->wait_obj)
      fprintf(out, " %p", g->wait_obj);
    if (g->timer.slot)
      fprintf(out, " (deadline in %.3fs)",
              (double)(int64_t)(g->timer.deadline - uv_hrtime()) / 1e9);
  }
  if (g->head.flags & GROVE__F_CANCELLED)
    fprintf(out, " [killed]");
  if (!(g->head.flags & GROVE__F_MAIN))
    fprintf(out, " %s stack", (g->head.flags & GROVE__F_DEDICATED) ? "dedicated" : "shared");
  if (g->saved_len)
    fprintf(out, ", %u bytes saved", g->saved_len);
  fputc('\n', out);
}

void grove_dump(FILE *out) {
  if (!out)
    return;
  grove_hub *hub = grove__tls_hub;
  if (!hub) {
    fprintf(out, "grove: no hub on this thread\n");
    return;
  }
  fprintf(out,
          "grove hub %p: %zu greenlet(s) alive, %zu unreleased greenlet reference(s), "
          "%zu object(s), %u timer(s), run queue %s\n",
          (void *)hub, hub->nalive, hub->nstructs, hub->nobjects, grove__timer_count(hub),
          grove__list_empty(&hub->runq) ? "empty" : "non-empty");
  dump_one(out, &hub->main);
  for (grove__list *n = hub->greenlets.next; n != &hub->greenlets; n = n->next)
    dump_one(out, grove__container_of(n, grove_greenlet, all));
}
