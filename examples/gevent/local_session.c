/* local_session.c - port of local_session.py (seed 000, "局部变量").
 *
 * Two greenlets share one greenlet-local key; each stores its own session
 * (name and timestamp) under it and finds its own again after sleeping.
 * The session is allocated on first use and freed by the key's destructor
 * when its greenlet finishes. fake_time() is the port's stable time.time().
 */
#include <grove.h>
#include <stdio.h>
#include <stdlib.h>

struct session {
  const char *name;
  int timestamp;
};

struct session_args {
  grove_local *l;
  const char *user;
};

static int logins;

static int fake_time(void) { return ++logins; }

/* The calling greenlet's session, created the first time it is needed. */
static struct session *session_of(grove_local *l) {
  struct session *s = grove_local_get(l);
  if (s == NULL) {
    s = calloc(1, sizeof *s);
    if (s != NULL && grove_local_set(l, s) != 0) {
      free(s);
      s = NULL;
    }
  }
  return s;
}

static void *session_manager(void *arg) {
  struct session_args *a = arg;
  struct session *s = session_of(a->l);
  if (s == NULL)
    return NULL;
  s->name = a->user;
  s->timestamp = fake_time();
  printf("found notice: user %s login in and online.\n", a->user);
  grove_sleep(0.05);
  s = grove_local_get(a->l);
  s->name = a->user;
  s->timestamp = fake_time();
  printf("found notice: user %s session expire outs.\n", a->user);
  printf("\n"
         "    name: %s\n"
         "    status: offline\n"
         "    timestamp: %d\n"
         "    \n",
         s->name, s->timestamp);
  return NULL;
}

int main(void) {
  grove_local *l = grove_local_new(free);
  struct session_args args[] = {{l, "李满满"}, {l, "刘珍珍"}};
  grove_greenlet *gs[2];
  for (int i = 0; i < 2; i++)
    gs[i] = grove_spawn(session_manager, &args[i]);
  int rc = grove_joinall(gs, 2, GROVE_FOREVER);

  for (int i = 0; i < 2; i++)
    grove_greenlet_release(gs[i]);
  grove_local_free(l);
  return rc == 0 && grove_hub_close() == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
