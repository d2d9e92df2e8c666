/* tests/actor/actor_util.h - helpers shared by the actor test programs: a
 * scriptable "probe" actor that logs what happens to it, and small wrappers
 * for building and sending messages.
 *
 * The probe's init arg is its name (a string literal: it must outlive the
 * actor). Everything it does goes to test_log as "<name>:<event>". It
 * understands:
 *   "stop"           -> returns GROVE_STOP
 *   "fail" [code]    -> returns code (an error, or any int)
 *   "sleep" [secs]   -> grove_sleep(secs) inside receive, logs "slept=<rc>"
 *   "echo" (call)    -> replies "echo" with the same ints
 *   grove.exit       -> logs "exit=<reason>"
 *   grove.down       -> logs "down=<reason>"
 *   anything else    -> logs the tag
 * terminate logs "term=<reason>".
 */
#ifndef GROVE_TEST_ACTOR_UTIL_H
#define GROVE_TEST_ACTOR_UTIL_H

#include "test.h"

#include <stdint.h>

static inline grove_msg *msg_int(const char *tag, int64_t v) {
  grove_msg *m = grove_msg_new(tag);
  grove_msg_pack_int(m, v);
  return m;
}

static inline grove_msg *msg_double(const char *tag, double v) {
  grove_msg *m = grove_msg_new(tag);
  grove_msg_pack_double(m, v);
  return m;
}

static inline int send_tag(grove_ref to, const char *tag) {
  return grove_send(to, grove_msg_new(tag));
}

static inline int64_t msg_int_at(grove_msg *m, size_t i) {
  int64_t v = -999999;
  grove_msg_int(m, i, &v);
  return v;
}

/* Wait until an actor has ended: it may already have (grove_actor_wait then
 * says GROVE_ENOENT, the reason is not kept). */
static inline void await_end(grove_ref r) {
  int rc = grove_actor_wait(r, NULL, 5.0);
  if (rc != 0 && rc != GROVE_ENOENT)
    fprintf(stderr, "await_end: %s\n", grove_err_name(rc));
  CHECK(rc == 0 || rc == GROVE_ENOENT);
  CHECK(!grove_actor_alive(r));
}

/* End an actor whatever it is doing, and wait for it. */
static inline void end_actor(grove_ref r) {
  if (grove_actor_alive(r)) {
    grove_actor_exit(r, GROVE_EXIT_KILLED);
    grove_actor_wait(r, NULL, 5.0);
  }
}

typedef struct probe {
  grove_actor base;
  const char *name;
} probe;

static inline int probe_init(grove_actor *self, void *arg) {
  probe *p = (probe *)self;
  p->name = arg ? (const char *)arg : "p";
  test_log("%s:init", p->name);
  return 0;
}

static inline int probe_receive(grove_actor *self, grove_msg *msg) {
  probe *p = (probe *)self;
  if (grove_msg_is(msg, "stop")) {
    test_log("%s:stop", p->name);
    return GROVE_STOP;
  }
  if (grove_msg_is(msg, "fail")) {
    test_log("%s:fail", p->name);
    return (int)msg_int_at(msg, 0);
  }
  if (grove_msg_is(msg, "sleep")) {
    double s = 0;
    grove_msg_double(msg, 0, &s);
    int rc = grove_sleep(s);
    test_log("%s:slept=%s", p->name, grove_err_name(rc));
    return 0;
  }
  if (grove_msg_is(msg, "echo") && grove_msg_is_call(msg)) {
    grove_msg *r = grove_msg_new("echo");
    for (size_t i = 0; i < grove_msg_count(msg); i++)
      grove_msg_pack_int(r, msg_int_at(msg, i));
    grove_reply(msg, r);
    return 0;
  }
  if (grove_msg_is(msg, GROVE_TAG_EXIT)) {
    test_log("%s:exit=%s", p->name, grove_exit_reason_name((int)msg_int_at(msg, 1)));
    return 0;
  }
  if (grove_msg_is(msg, GROVE_TAG_DOWN)) {
    test_log("%s:down=%s", p->name, grove_exit_reason_name((int)msg_int_at(msg, 2)));
    return 0;
  }
  test_log("%s:%s", p->name, grove_msg_tag(msg));
  return 0;
}

static inline void probe_terminate(grove_actor *self, int reason) {
  probe *p = (probe *)self;
  test_log("%s:term=%s", p->name, grove_exit_reason_name(reason));
}

static const grove_actor_class probe_class = {.name = "probe",
                                              .size = sizeof(probe),
                                              .init = probe_init,
                                              .receive = probe_receive,
                                              .terminate = probe_terminate};

static inline grove_ref probe_spawn(const char *name) {
  return grove_actor_spawn(&probe_class, (void *)name);
}

static inline grove_ref probe_spawn_opts(const char *name, grove_actor_opts o) {
  grove_ref r = GROVE_REF_NULL;
  CHECK_EQ(grove_actor_spawn_ex(&probe_class, (void *)name, &o, &r), 0);
  return r;
}

/* Let every ready actor and greenlet run (actors are scheduled, not run, by a
 * send). */
static inline void settle(void) { CHECK_EQ(grove_sleep(0.01), 0); }

#endif
