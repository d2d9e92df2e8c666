/* supervisor.c - a one_for_one supervisor restarts children that fail, as
 * their restart type says, until the restart intensity is exceeded. */
#include <grove.h>
#include <stdio.h>

struct worker {
  grove_actor base;
  const char *name;
};

static int worker_init(grove_actor *self, void *arg) {
  ((struct worker *)self)->name = arg; /* the child spec's arg, at every start */
  printf("  %s: started\n", (const char *)arg);
  return 0;
}

static int worker_receive(grove_actor *self, grove_msg *msg) {
  if (grove_msg_is(msg, "crash"))
    return GROVE_EFAILED;
  if (grove_msg_is(msg, "stop"))
    return GROVE_STOP;
  return 0;
}

static void worker_terminate(grove_actor *self, int reason) {
  printf("  %s: ended (%s)\n", ((struct worker *)self)->name, grove_exit_reason_name(reason));
}

static const grove_actor_class worker_class = {.name = "worker",
                                               .size = sizeof(struct worker),
                                               .init = worker_init,
                                               .receive = worker_receive,
                                               .terminate = worker_terminate};

/* Send a message to the child with this id and wait until it has ended. */
static void end_child(grove_ref sup, const char *id, const char *tag) {
  grove_ref child;
  if (grove_supervisor_which_child(sup, id, &child) != 0)
    return;
  printf("%s %s\n", tag, id);
  grove_send(child, grove_msg_new(tag));
  grove_actor_wait(child, NULL, 1.0);
}

static void show_counts(grove_ref sup) {
  grove_supervisor_counts n;
  if (grove_supervisor_count(sup, &n) == 0)
    printf("children %zu, running %zu, restarts %llu\n", n.specs, n.active,
           (unsigned long long)n.restarts);
}

int main(void) {
  static const grove_child_spec children[] = {
      {.id = "a", .cls = &worker_class, .arg = "a", .restart = GROVE_PERMANENT, .shutdown = 1.0},
      {.id = "b", .cls = &worker_class, .arg = "b", .restart = GROVE_TRANSIENT, .shutdown = 1.0},
  };
  grove_supervisor_opts opts = {.strategy = GROVE_ONE_FOR_ONE, .intensity = 2, .period = 5.0};
  grove_ref sup;
  int rc = grove_supervisor_start(&opts, children, 2, &sup); /* a, then b */
  if (rc != 0)
    return 1;

  end_child(sup, "a", "crash"); /* permanent: restarted */
  end_child(sup, "b", "crash"); /* transient, abnormal end: restarted */
  end_child(sup, "b", "stop");  /* transient, normal end: not restarted */
  show_counts(sup);
  end_child(sup, "a", "crash"); /* a third restart within 5 s: too many */

  int reason;
  rc = grove_actor_wait(sup, &reason, 1.0);
  printf("supervisor ended: %s\n", grove_exit_reason_name(reason));
  return rc == 0 && grove_hub_close() == 0 ? 0 : 1;
}
