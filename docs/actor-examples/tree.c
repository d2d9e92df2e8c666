/* tree.c - supervisors nest: a child spec whose class is
 * grove_supervisor_class; a simple_one_for_one pool started on demand. */
#include <grove.h>
#include <stdio.h>

struct worker {
  grove_actor base;
  const char *name;
};

static int worker_init(grove_actor *self, void *arg) {
  ((struct worker *)self)->name = arg;
  printf("  %s: started\n", (const char *)arg);
  return 0;
}

static int worker_receive(grove_actor *self, grove_msg *msg) {
  if (grove_msg_is(msg, "crash"))
    return GROVE_EFAILED;
  if (grove_msg_is(msg, "done"))
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

/* The pool's arguments are read at each of its starts, restarts included:
 * they must stay valid as long as the tree runs (statics here). */
static const grove_child_spec job_template[] = {
    {.cls = &worker_class, .restart = GROVE_TRANSIENT, .shutdown = 1.0}};
static const grove_supervisor_args pool_args = {
    .opts = {.strategy = GROVE_SIMPLE_ONE_FOR_ONE}, .children = job_template, .nchildren = 1};

static const grove_child_spec top_children[] = {
    {.id = "db", .cls = &worker_class, .arg = "db", .shutdown = 1.0},
    {.id = "pool",
     .cls = &grove_supervisor_class,
     .arg = (void *)&pool_args,
     .shutdown = GROVE_FOREVER}, /* a supervisor gets the time it needs to stop its children */
};

static void show_pool(grove_ref pool) {
  grove_supervisor_counts n;
  if (grove_supervisor_count(pool, &n) == 0)
    printf("pool: %zu jobs, %llu restarts\n", n.active, (unsigned long long)n.restarts);
}

int main(void) {
  grove_supervisor_opts opts = {.strategy = GROVE_ONE_FOR_ONE, .name = "top"};
  grove_ref top, pool, job1, job2;
  if (grove_supervisor_start(&opts, top_children, 2, &top) != 0)
    return 1;
  grove_supervisor_which_child(top, "pool", &pool);

  /* Start jobs from the template, each with its own arg. */
  grove_child_spec job = {.arg = "job1"};
  grove_supervisor_start_child(pool, &job, &job1);
  job.arg = "job2";
  grove_supervisor_start_child(pool, &job, &job2);

  grove_send(job1, grove_msg_new("crash")); /* transient, abnormal: restarted */
  grove_actor_wait(job1, NULL, 1.0);
  show_pool(pool);                         /* a call: served after the pool has seen job1 end */
  grove_send(job2, grove_msg_new("done")); /* transient, normal: forgotten */
  grove_actor_wait(job2, NULL, 1.0);
  show_pool(pool);

  /* The pool fails as a whole: top restarts it, empty. */
  printf("the pool fails\n");
  grove_actor_exit(pool, GROVE_EFAILED);
  grove_actor_wait(pool, NULL, 1.0);
  grove_supervisor_which_child(top, "pool", &pool);
  show_pool(pool);

  printf("stopping the tree\n");
  int rc = grove_supervisor_stop(top, 5.0);
  return rc == 0 && grove_hub_close() == 0 ? 0 : 1;
}
