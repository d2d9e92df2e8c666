/* actor/supervisor.c - OTP supervisors as grove actors.
 *
 * Design notes: a supervisor is an actor that traps exits and is linked to
 * each child, so a child's end arrives as a GROVE_TAG_EXIT message in the
 * supervisor's inbox, in order with the requests it serves. Children are
 * kept in start order with their spec and current ref; a child counts as
 * "the one that ended" only if the exit comes from its current ref, so the
 * exits of children the supervisor itself stopped (during a one_for_all
 * restart, say) are recognised as stale and ignored. Stopping a child sends
 * it "shutdown" and waits for it (grove_actor_wait, from inside receive) up to
 * its shutdown time, then kills it. Restart times are kept in a ring of
 * intensity + 1 entries: when the oldest of them is within `period`, the
 * intensity is exceeded.
 *
 * A child on another hub (spec.hub) is spawned there with
 * grove_actor_spawn_on and otherwise handled the same way: links, exit
 * signals and grove_actor_wait work across hubs, and waiting for its init
 * runs on its hub (grove__x_wait) while the supervisor waits.
 *
 * The public calls are requests to the supervisor (grove_call), so they are
 * serialised with the restarts it performs. A child spec travels in such a
 * request as a heap copy (a zero-copy blob), never as a pointer into the
 * caller's stack, which may be a shared stack.
 */
#include "actor_internal.h"

#include <grove/supervisor.h>
#include <math.h>
#include <string.h>

typedef struct sup_child {
  grove_child_spec spec; /* id and opts.name are owned copies */
  grove_ref ref;
  int alive;
  int pending;     /* a restart is due (one failed: it is tried again) */
  int last_reason; /* why the previous incarnation ended (for the restart's report) */
} sup_child;

typedef struct sup {
  grove_actor base;
  grove_supervisor_opts opts;
  sup_child *children;
  size_t n, cap;
  grove_child_spec tmpl; /* simple_one_for_one */
  uint64_t *ring;        /* restart times, ns */
  size_t ring_len, ring_pos;
  uint64_t restarts;
  grove_ref *retired; /* children we stopped whose exit has not arrived yet */
  size_t nretired, capretired;
  int last_reason; /* of the last child that ended (for the give-up report) */
} sup;

/* ---- reports (grove/log.h) ---------------------------------------------------------- */

static const char *sup_name(sup *s) { return s->base._ext ? s->base._ext->name : NULL; }

static void report_restart(sup *s, sup_child *c) {
  if ((s->base._flags & A_QUIET) || !grove_log_enabled(GROVE_LOG_INFO))
    return;
  grove_log_event ev = {.level = GROVE_LOG_INFO, .kind = GROVE_LOG_CHILD_RESTARTED};
  ev.supervisor = grove_actor_ref(&s->base);
  ev.actor = c->ref;
  ev.actor_name = c->spec.opts.name;
  ev.actor_class = c->spec.cls && c->spec.cls->name ? c->spec.cls->name : "?";
  ev.child_id = c->spec.id;
  ev.reason = c->last_reason;
  grove__log(&ev, "supervisor %s: restarted child %s (%s) after it ended: %s",
             sup_name(s) ? sup_name(s) : "(unnamed)", c->spec.id ? c->spec.id : "(no id)",
             ev.actor_class, grove_exit_reason_name(c->last_reason));
}

static void report_give_up(sup *s) {
  if ((s->base._flags & A_QUIET) || !grove_log_enabled(GROVE_LOG_ERROR))
    return;
  grove_log_event ev = {.level = GROVE_LOG_ERROR, .kind = GROVE_LOG_SUPERVISOR_GAVE_UP};
  ev.supervisor = ev.actor = grove_actor_ref(&s->base);
  ev.actor_name = sup_name(s);
  ev.actor_class = s->base._cls && s->base._cls->name ? s->base._cls->name : "supervisor";
  ev.reason = s->last_reason;
  ev.count = (uint64_t)s->opts.intensity;
  grove__log(&ev,
             "supervisor %s: intensity exceeded (more than %d restarts in %.1f s), giving up: "
             "every child stopped, the supervisor shuts down (last child's reason: %s)",
             sup_name(s) ? sup_name(s) : "(unnamed)", s->opts.intensity, s->opts.period,
             grove_exit_reason_name(s->last_reason));
}

static void retire(sup *s, grove_ref r) {
  if (grove__grow((void **)&s->retired, &s->capretired, s->nretired, sizeof *s->retired, 8))
    return; /* its exit will then look like a stranger's: still handled */
  s->retired[s->nretired++] = r;
}

static int was_retired(sup *s, grove_ref r) {
  for (size_t i = 0; i < s->nretired; i++) {
    if (grove_ref_eq(s->retired[i], r)) {
      s->retired[i] = s->retired[--s->nretired];
      return 1;
    }
  }
  return 0;
}

static int valid_strategy(grove_sup_strategy st) {
  return st == GROVE_ONE_FOR_ONE || st == GROVE_ONE_FOR_ALL || st == GROVE_REST_FOR_ONE ||
         st == GROVE_SIMPLE_ONE_FOR_ONE;
}

static void free_spec(grove_child_spec *s) {
  free((char *)s->id);
  free((char *)s->opts.name);
  s->id = NULL;
  s->opts.name = NULL;
}

static int copy_spec(grove_child_spec *dst, const grove_child_spec *src) {
  *dst = *src;
  dst->id = NULL;
  dst->opts.name = NULL;
  dst->opts.link = GROVE_REF_NULL;
  if (src->id && !(dst->id = strdup(src->id)))
    return GROVE_ENOMEM;
  if (src->opts.name && !(dst->opts.name = strdup(src->opts.name))) {
    free_spec(dst);
    return GROVE_ENOMEM;
  }
  return 0;
}

static void retire(sup *s, grove_ref r);

/* Start a child and wait until its init has returned, as OTP's start_link:
 * children start one after the other (a nested supervisor's own children
 * first), and an init that fails is reported here. */
static int start_child(sup *s, sup_child *c) {
  grove_actor_opts o = c->spec.opts;
  o.link = grove_actor_ref(&s->base);
  int rc = c->spec.hub > 0 ? grove_actor_spawn_on((size_t)(c->spec.hub - 1), c->spec.cls,
                                                  c->spec.arg, &o, &c->ref)
                           : grove_actor_spawn_ex(c->spec.cls, c->spec.arg, &o, &c->ref);
  if (rc == 0 && (rc = grove__actor_await_init(c->ref)) != 0)
    retire(s, c->ref); /* it ended: its exit is on the way */
  c->alive = rc == 0;
  return rc;
}

static void stop_child(sup *s, sup_child *c) {
  if (!c->alive)
    return;
  c->alive = 0;
  c->last_reason = GROVE_EXIT_SHUTDOWN; /* stopped by us (one_for_all, rest_for_one) */
  retire(s, c->ref);
  int reason;
  if (c->spec.shutdown == 0) {
    grove_actor_exit(c->ref, GROVE_EXIT_KILLED);
  } else {
    grove_actor_exit(c->ref, GROVE_EXIT_SHUTDOWN);
    double t = c->spec.shutdown < 0 ? GROVE_FOREVER : c->spec.shutdown;
    if (grove_actor_wait(c->ref, &reason, t) != GROVE_ETIMEDOUT)
      return;
    grove_actor_exit(c->ref, GROVE_EXIT_KILLED);
  }
  /* A killed child ends as soon as its receive returns. */
  grove_actor_wait(c->ref, &reason, 5.0);
}

static void stop_from(sup *s, size_t from) {
  for (size_t i = s->n; i > from; i--)
    stop_child(s, &s->children[i - 1]);
}

static int add_child(sup *s, const grove_child_spec *spec, sup_child **out) {
  if (!spec->cls || spec->hub < 0)
    return GROVE_EINVAL;
  if (spec->id)
    for (size_t i = 0; i < s->n; i++)
      if (s->children[i].spec.id && strcmp(s->children[i].spec.id, spec->id) == 0)
        return GROVE_EEXIST;
  if (grove__grow((void **)&s->children, &s->cap, s->n, sizeof *s->children, 8))
    return GROVE_ENOMEM;
  sup_child *c = &s->children[s->n];
  memset(c, 0, sizeof *c);
  int rc = copy_spec(&c->spec, spec);
  if (rc)
    return rc;
  s->n++;
  *out = c;
  return 0;
}

static void remove_child(sup *s, size_t i) {
  free_spec(&s->children[i].spec);
  memmove(&s->children[i], &s->children[i + 1], (s->n - i - 1) * sizeof *s->children);
  s->n--;
}

/* Record a restart; 1 if that exceeds the intensity. */
static int too_many_restarts(sup *s) {
  uint64_t now = uv_hrtime();
  s->restarts++;
  s->ring[s->ring_pos] = now;
  s->ring_pos = (s->ring_pos + 1) % s->ring_len;
  if (s->restarts < s->ring_len)
    return 0;
  uint64_t oldest = s->ring[s->ring_pos]; /* intensity + 1 restarts ago */
  return now - oldest <= (uint64_t)(s->opts.period * 1e9);
}

static void sup_cleanup(sup *s);

static int sup_init(grove_actor *self, void *arg) {
  sup *s = (sup *)self;
  const grove_supervisor_args *a = arg;
  int rc = 0;
  if (!a) {
    rc = GROVE_EINVAL;
    goto out;
  }
  if (!valid_strategy(a->opts.strategy)) {
    rc = GROVE_EINVAL;
    goto out;
  }
  /* A supervisor started as a child (its spec's class is this one) gets
   * its name from the child spec's opts.name, registered at the spawn; its
   * own args' opts.name registers here when the spec gave none. The spec's
   * wins when both are set (an actor has one name). grove_supervisor_start
   * registers opts.name at the spawn: nothing more to do then. */
  if (a->opts.name && a->opts.name[0] && !(self->_ext && self->_ext->name)) {
    if ((rc = grove_register(a->opts.name, grove_actor_ref(self))) != 0)
      goto out; /* GROVE_EEXIST: the name is another actor's */
  }
  s->opts = a->opts;
  s->opts.name = NULL;
  if (s->opts.intensity <= 0)
    s->opts.intensity = 3;
  if (s->opts.period <= 0)
    s->opts.period = 5.0;
  s->ring_len = (size_t)s->opts.intensity + 1;
  if (!(s->ring = calloc(s->ring_len, sizeof *s->ring))) {
    rc = GROVE_ENOMEM;
    goto out;
  }
  grove_actor_trap_exits(true);
  if (s->opts.strategy == GROVE_SIMPLE_ONE_FOR_ONE) {
    if (a->nchildren != 1 || !a->children[0].cls)
      rc = GROVE_EINVAL;
    else
      rc = copy_spec(&s->tmpl, &a->children[0]);
    goto out;
  }
  for (size_t i = 0; i < a->nchildren && rc == 0; i++) {
    sup_child *c;
    if ((rc = add_child(s, &a->children[i], &c)) == 0 && (rc = start_child(s, c)) != 0)
      s->n--, free_spec(&c->spec);
  }
out:
  if (rc)
    sup_cleanup(s); /* terminate is not called after a failed init */
  return rc;
}

static void sup_terminate(grove_actor *self, int reason) {
  (void)reason;
  sup_cleanup((sup *)self);
}

static void sup_cleanup(sup *s) {
  stop_from(s, 0);
  for (size_t i = 0; i < s->n; i++)
    free_spec(&s->children[i].spec);
  free(s->children);
  free_spec(&s->tmpl);
  free(s->ring);
  free(s->retired);
}

#define TAG_RETRY "grove.sup.retry"

static void give_up(sup *s) {
  report_give_up(s);
  stop_from(s, 0);
  grove_actor_exit(grove_actor_ref(&s->base), GROVE_EXIT_SHUTDOWN);
}

/* Start every child whose restart is due, in start order. A start that
 * fails (its init failed, or it was killed before init returned) is a
 * restart that did not take: as OTP's try_again, the supervisor tries again
 * from its inbox (so it stays responsive), and every try counts against the
 * intensity, so a child that cannot start ends the supervisor only past
 * the intensity. */
static void restart_pending(sup *s) {
  for (size_t k = 0; k < s->n; k++) {
    sup_child *ck = &s->children[k];
    if (!ck->pending || ck->alive)
      continue;
    if (start_child(s, ck) == 0) {
      ck->pending = 0;
      grove__actor_sys *sys = grove__actor_sys_peek();
      if (sys)
        sys->restarts++; /* grove_hub_info.restarts: the supervisor's hub */
      report_restart(s, ck);
      continue;
    }
    grove_msg *m = grove_msg_new(TAG_RETRY);
    if (!m || grove_send(grove_actor_ref(&s->base), m) != 0)
      give_up(s); /* cannot even ask: as if past the intensity */
    return;
  }
}

/* A child ended: apply its restart type and the strategy. */
static int child_exited(sup *s, size_t i, int reason) {
  sup_child *c = &s->children[i];
  c->alive = 0;
  c->last_reason = s->last_reason = reason;
  int restart = c->spec.restart == GROVE_PERMANENT ||
                (c->spec.restart == GROVE_TRANSIENT && reason != GROVE_EXIT_NORMAL &&
                 reason != GROVE_EXIT_SHUTDOWN);
  if (!restart) {
    if (c->spec.restart == GROVE_TEMPORARY || s->opts.strategy == GROVE_SIMPLE_ONE_FOR_ONE)
      remove_child(s, i);
    return 0;
  }
  if (too_many_restarts(s)) {
    give_up(s);
    return 0;
  }
  if (s->opts.strategy == GROVE_ONE_FOR_ONE || s->opts.strategy == GROVE_SIMPLE_ONE_FOR_ONE) {
    c->pending = 1;
    restart_pending(s);
    return 0;
  }
  size_t first = i;
  if (s->opts.strategy == GROVE_ONE_FOR_ALL)
    first = 0;
  if (s->opts.strategy == GROVE_ONE_FOR_ALL || s->opts.strategy == GROVE_REST_FOR_ONE)
    stop_from(s, first);
  for (size_t k = first; k < s->n;) {
    sup_child *ck = &s->children[k];
    if (!ck->alive && k != i && ck->spec.restart == GROVE_TEMPORARY) {
      remove_child(s, k); /* stopped by us, never restarted */
      if (k < i)
        i--;
      continue;
    }
    if (!ck->alive)
      ck->pending = 1;
    k++;
  }
  restart_pending(s);
  return 0;
}

static int find_child(sup *s, grove_ref ref) {
  for (size_t i = 0; i < s->n; i++)
    if (s->children[i].alive && grove_ref_eq(s->children[i].ref, ref))
      return (int)i;
  return -1;
}

static void reply_ref(grove_msg *req, grove_ref r) {
  grove_msg *m = grove_msg_new("grove.sup.ref");
  if (m)
    grove_msg_pack_ref(m, r);
  if (m)
    grove_reply(req, m);
  else
    grove_reply_error(req, GROVE_ENOMEM);
}

static int sup_receive(grove_actor *self, grove_msg *msg) {
  sup *s = (sup *)self;
  if (grove_msg_is(msg, GROVE_TAG_EXIT)) {
    grove_ref from;
    int64_t reason = 0;
    if (grove_msg_ref(msg, 0, &from) != 0 || grove_msg_int(msg, 1, &reason) != 0)
      return 0;
    int i = find_child(s, from);
    if (i >= 0)
      return child_exited(s, (size_t)i, (int)reason);
    /* Not a running child: one we stopped ourselves, or a linked parent.
     * A parent that ended abnormally takes us down, as in OTP. */
    if (!was_retired(s, from) && reason != GROVE_EXIT_NORMAL) {
      stop_from(s, 0);
      grove_actor_exit(grove_actor_ref(self), (int)reason);
    }
    return 0;
  }
  if (grove_msg_is(msg, TAG_RETRY) && grove_ref_eq(grove_msg_sender(msg), grove_actor_ref(self))) {
    /* A restart failed: try again, counting it against the intensity. */
    if (too_many_restarts(s))
      give_up(s);
    else
      restart_pending(s);
    return 0;
  }
  if (!grove_msg_is_call(msg))
    return 0; /* not for us */
  if (grove_msg_is(msg, "grove.sup.sync")) {
    grove_reply(msg, grove_msg_new("grove.sup.ok"));
  } else if (grove_msg_is(msg, "grove.sup.start_child")) {
    size_t len;
    const grove_child_spec *spec = grove_msg_blob(msg, &len);
    grove_child_spec tmp;
    if (s->opts.strategy == GROVE_SIMPLE_ONE_FOR_ONE) {
      tmp = s->tmpl;
      tmp.id = NULL;
      if (spec) {
        tmp.arg = spec->arg;
        if (spec->cls)
          tmp.cls = spec->cls;
        if (spec->hub)
          tmp.hub = spec->hub; /* spread dynamic children over the hubs */
      }
      spec = &tmp;
    }
    sup_child *c = NULL;
    int rc = spec ? add_child(s, spec, &c) : GROVE_EINVAL;
    if (rc == 0 && (rc = start_child(s, c)) != 0)
      remove_child(s, (size_t)(c - s->children));
    if (rc)
      grove_reply_error(msg, rc);
    else
      reply_ref(msg, c->ref);
  } else if (grove_msg_is(msg, "grove.sup.terminate_child")) {
    grove_ref r;
    int i = grove_msg_ref(msg, 0, &r) == 0 ? find_child(s, r) : -1;
    if (i < 0) {
      grove_reply_error(msg, GROVE_ENOENT);
    } else {
      stop_child(s, &s->children[i]);
      remove_child(s, (size_t)i);
      grove_reply(msg, grove_msg_new("grove.sup.ok"));
    }
  } else if (grove_msg_is(msg, "grove.sup.which")) {
    const char *id;
    size_t len;
    int found = -1;
    if (grove_msg_str(msg, 0, &id, &len) == 0)
      for (size_t i = 0; i < s->n; i++)
        if (s->children[i].spec.id && strlen(s->children[i].spec.id) == len &&
            memcmp(s->children[i].spec.id, id, len) == 0 && s->children[i].alive)
          found = (int)i;
    if (found < 0)
      grove_reply_error(msg, GROVE_ENOENT);
    else
      reply_ref(msg, s->children[found].ref);
  } else if (grove_msg_is(msg, "grove.sup.count")) {
    grove_msg *m = grove_msg_new("grove.sup.counts");
    size_t active = 0;
    for (size_t i = 0; i < s->n; i++)
      active += s->children[i].alive;
    if (m) {
      grove_msg_pack_int(m, (int64_t)s->n);
      grove_msg_pack_int(m, (int64_t)active);
      grove_msg_pack_int(m, (int64_t)s->restarts);
      grove_reply(msg, m);
    }
  } else if (grove_msg_is(msg, "grove.sup.stop")) {
    stop_from(s, 0);
    grove_reply(msg, grove_msg_new("grove.sup.ok"));
    return GROVE_STOP;
  } else {
    grove_reply_error(msg, GROVE_EINVAL);
  }
  return 0;
}

const grove_actor_class grove_supervisor_class = {
    .name = "grove.supervisor",
    .size = sizeof(sup),
    .init = sup_init,
    .receive = sup_receive,
    .terminate = sup_terminate,
};

/* ---- the public calls ------------------------------------------------------------ */

static int request_timeout(grove_ref sup, grove_msg *m, grove_msg **reply, double timeout) {
  if (!m)
    return GROVE_ENOMEM;
  grove_msg *r = NULL;
  int rc = grove_call(sup, m, &r, timeout);
  if (reply)
    *reply = r;
  else
    grove_msg_free(r);
  return rc;
}

static int request(grove_ref sup, grove_msg *m, grove_msg **reply) {
  return request_timeout(sup, m, reply, GROVE_FOREVER);
}

/* A request whose reply carries a ref. */
static int request_ref(grove_ref sup, grove_msg *m, grove_ref *out) {
  grove_msg *r;
  int rc = request(sup, m, &r);
  if (rc == 0) {
    if (out)
      grove_msg_ref(r, 0, out);
    grove_msg_free(r);
  }
  return rc;
}

typedef struct boot_leftover {
  grove_ref sup;
  grove_supervisor_args *args;
} boot_leftover;

static void *free_after_end(void *arg) {
  boot_leftover *b = arg;
  int reason;
  grove_actor_wait(b->sup, &reason, GROVE_FOREVER);
  free(b->args);
  free(b);
  return NULL;
}

static void boot_args_free_later(grove_ref sup, grove_supervisor_args *a) {
  boot_leftover *b = malloc(sizeof *b);
  grove_greenlet *g = b ? grove_spawn(free_after_end, b) : NULL;
  if (!g) {
    free(b);
    return; /* no memory: the args stay (a leak, rather than a use after free) */
  }
  b->sup = sup;
  b->args = a;
  grove_greenlet_release(g);
}

int grove_supervisor_start(const grove_supervisor_opts *opts, const grove_child_spec *children,
                           size_t n, grove_ref *out) {
  if (out)
    *out = GROVE_REF_NULL;
  if (!opts || (n && !children) || opts->intensity < 0 || opts->period < 0 || isnan(opts->period))
    return GROVE_EINVAL;
  if (!valid_strategy(opts->strategy))
    return GROVE_EINVAL;
  for (size_t i = 0; i < n; i++) {
    if (!children[i].cls)
      return GROVE_EINVAL;
    for (size_t k = 0; k < i; k++)
      if (children[i].id && children[k].id && strcmp(children[i].id, children[k].id) == 0)
        return GROVE_EINVAL;
  }
  if (opts->strategy == GROVE_SIMPLE_ONE_FOR_ONE && n != 1)
    return GROVE_EINVAL;
  /* The start waits for the supervisor's init: refuse where that cannot
   * happen before spawning anything. */
  grove_hub *hub = grove__hub();
  uint64_t deadline;
  int rc = grove__begin_wait(hub, GROVE_FOREVER, &deadline);
  if (rc)
    return rc;
  /* The args live on the heap: our caller's stack may be a shared one, and
   * init reads them after we block. */
  grove_supervisor_args *a = malloc(sizeof *a);
  if (!a)
    return GROVE_ENOMEM;
  a->opts = *opts;
  a->children = children;
  a->nchildren = n;
  grove_actor_opts aopts = {.name = opts->name};
  grove_ref ref;
  rc = grove_actor_spawn_ex(&grove_supervisor_class, a, &aopts, &ref);
  if (rc) {
    free(a);
    return rc;
  }
  /* Its init starts the children: wait for it, and for why it failed. Each
   * start waits on its own supervisor, so greenlets may start supervisors
   * side by side. */
  rc = grove__actor_await_init(ref);
  if (rc == GROVE_ECANCELED) {
    /* We were killed while it starts: it must not go on, and its init may
     * still read the args, which go once it has ended. */
    grove_actor_exit(ref, GROVE_EXIT_KILLED);
    boot_args_free_later(ref, a);
  } else {
    free(a);
  }
  if (rc == 0 && out)
    *out = ref;
  return rc;
}

int grove_supervisor_start_child(grove_ref sup, const grove_child_spec *spec, grove_ref *child) {
  if (child)
    *child = GROVE_REF_NULL;
  grove_msg *m = grove_msg_new("grove.sup.start_child");
  if (!m)
    return GROVE_ENOMEM;
  if (spec) {
    grove_child_spec *copy = malloc(sizeof *copy);
    if (!copy) {
      grove_msg_free(m);
      return GROVE_ENOMEM;
    }
    *copy = *spec;
    grove_msg_set_blob(m, copy, sizeof *copy, free);
  }
  return request_ref(sup, m, child);
}

int grove_supervisor_terminate_child(grove_ref sup, grove_ref child) {
  grove_msg *m = grove_msg_new("grove.sup.terminate_child");
  if (m)
    grove_msg_pack_ref(m, child);
  return request(sup, m, NULL);
}

int grove_supervisor_which_child(grove_ref sup, const char *id, grove_ref *child) {
  if (child)
    *child = GROVE_REF_NULL;
  if (!id)
    return GROVE_EINVAL;
  grove_msg *m = grove_msg_new("grove.sup.which");
  if (m)
    grove_msg_pack_str(m, id);
  return request_ref(sup, m, child);
}

int grove_supervisor_count(grove_ref sup, grove_supervisor_counts *out) {
  if (!out)
    return GROVE_EINVAL;
  grove_msg *r;
  int rc = request(sup, grove_msg_new("grove.sup.count"), &r);
  if (rc == 0) {
    int64_t v[3] = {0, 0, 0};
    for (int i = 0; i < 3; i++)
      grove_msg_int(r, (size_t)i, &v[i]);
    out->specs = (size_t)v[0];
    out->active = (size_t)v[1];
    out->restarts = (uint64_t)v[2];
    grove_msg_free(r);
  }
  return rc;
}

int grove_supervisor_stop(grove_ref sup, double timeout) {
  uint64_t deadline = grove__deadline(grove__hub(), timeout);
  int rc = request_timeout(sup, grove_msg_new("grove.sup.stop"), NULL, timeout);
  if (rc)
    return rc;
  int reason;
  rc = grove_actor_wait(sup, &reason, grove__seconds_left(deadline));
  return rc == GROVE_ENOENT ? 0 : rc; /* it may already have ended */
}
