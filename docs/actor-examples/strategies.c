/* strategies.c - which children a supervisor restarts when b fails. */
#include <grove.h>
#include <stdio.h>

struct worker {
  grove_actor base;
  const char *name;
};

static int worker_init(grove_actor *self, void *arg) {
  ((struct worker *)self)->name = arg;
  printf(" +%s", (const char *)arg);
  return 0;
}

static int worker_receive(grove_actor *self, grove_msg *msg) {
  return grove_msg_is(msg, "crash") ? GROVE_EFAILED : 0;
}

static void worker_terminate(grove_actor *self, int reason) {
  printf(" -%s", ((struct worker *)self)->name);
}

static const grove_actor_class worker_class = {.name = "worker",
                                               .size = sizeof(struct worker),
                                               .init = worker_init,
                                               .receive = worker_receive,
                                               .terminate = worker_terminate};

static const grove_child_spec children[] = {
    {.id = "a", .cls = &worker_class, .arg = "a", .shutdown = 1.0},
    {.id = "b", .cls = &worker_class, .arg = "b", .shutdown = 1.0},
    {.id = "c", .cls = &worker_class, .arg = "c", .shutdown = 1.0},
};

static int run(const char *name, grove_sup_strategy strategy) {
  grove_supervisor_opts opts = {.strategy = strategy};
  grove_ref sup, b;
  printf("%-13s start:", name);
  if (grove_supervisor_start(&opts, children, 3, &sup) != 0)
    return 1;
  grove_supervisor_which_child(sup, "b", &b);
  printf("  b fails:");
  grove_send(b, grove_msg_new("crash"));
  grove_actor_wait(b, NULL, 1.0);
  grove_supervisor_counts n; /* a call: served after the restart */
  grove_supervisor_count(sup, &n);
  printf("  stop:");
  int rc = grove_supervisor_stop(sup, 1.0); /* children in reverse order */
  printf("\n");
  return rc;
}

int main(void) {
  int rc = run("one_for_one", GROVE_ONE_FOR_ONE);
  rc |= run("one_for_all", GROVE_ONE_FOR_ALL);
  rc |= run("rest_for_one", GROVE_REST_FOR_ONE);
  return rc == 0 && grove_hub_close() == 0 ? 0 : 1;
}
