/* pool.c - a Pool of actors (at most 2 alive at once) and calls by name
 * through a supervisor's restarts. */
#include <grove.h>
#include <stdio.h>

/* A job actor: init gets its number, one "run" message does the job. */
typedef struct job {
  grove_actor base;
  int n;
} job;

static int job_init(grove_actor *self, void *arg) {
  ((job *)self)->n = (int)(intptr_t)arg;
  printf("job %d starts\n", ((job *)self)->n);
  return 0;
}

static int job_receive(grove_actor *self, grove_msg *msg) {
  (void)msg;
  grove_sleep(0.01 * ((job *)self)->n); /* the "work" */
  printf("job %d done\n", ((job *)self)->n);
  return GROVE_STOP; /* one job each: it leaves the pool when it ends */
}

static const grove_actor_class job_class = {
    .name = "job", .size = sizeof(job), .init = job_init, .receive = job_receive};

/* A counter registered as "counter" by its supervisor; "crash" kills it. */
typedef struct counter {
  grove_actor base;
  int64_t n;
} counter;

static int counter_receive(grove_actor *self, grove_msg *msg) {
  counter *c = (counter *)self;
  if (grove_msg_is(msg, "crash"))
    return GROVE_EPROTO;
  grove_msg *r = grove_msg_new("n");
  grove_msg_pack_int(r, ++c->n);
  return grove_reply(msg, r);
}

static const grove_actor_class counter_class = {
    .name = "counter", .size = sizeof(counter), .receive = counter_receive};

int main(void) {
  /* Pool(2): the third spawn waits until a job has ended. */
  grove_group *pool = grove_pool_new(2);
  for (int i = 1; i <= 3; i++) {
    grove_ref r;
    grove_group_spawn_actor(pool, &job_class, (void *)(intptr_t)(4 - i), NULL, &r);
    grove_send(r, grove_msg_new("run"));
    printf("spawned job %d: %zu alive\n", 4 - i, grove_group_size(pool));
  }
  grove_group_join(pool, GROVE_FOREVER);
  printf("pool joined: %zu alive\n", grove_group_size(pool));
  grove_group_free(pool);

  /* Calls by name see through restarts. */
  grove_child_spec spec = {.id = "counter", .cls = &counter_class, .opts = {.name = "counter"}};
  grove_supervisor_opts so = {.strategy = GROVE_ONE_FOR_ONE};
  grove_ref sup;
  grove_supervisor_start(&so, &spec, 1, &sup);
  for (int i = 0; i < 3; i++) {
    grove_msg *reply;
    int rc = grove_call_name("counter", grove_msg_new("inc"), &reply, 1.0);
    int64_t n = 0;
    if (rc == 0) {
      grove_msg_int(reply, 0, &n);
      grove_msg_free(reply);
    }
    grove_ref c;
    grove_whereis("counter", &c);
    printf("call %d: %s, n = %lld\n", i, grove_err_name(rc), (long long)n);
    grove_send(c, grove_msg_new("crash")); /* the supervisor restarts it: n starts again */
    grove_actor_wait(c, NULL, 1.0);
    /* Between its end and its restart nobody has the name: the next
     * grove_call_name waits for the new one. */
    printf("crashed: whereis %s\n", grove_err_name(grove_whereis("counter", &c)));
  }
  grove_supervisor_stop(sup, 1.0);
  return grove_hub_close() == 0 ? 0 : 1;
}
