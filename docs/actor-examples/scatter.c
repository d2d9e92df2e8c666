/* Replies as futures: a scatter-gather over a thousand actors is a loop of
 * grove_call_async and one grove_wait. */
#include <grove.h>
#include <stdio.h>

#define N 1000

/* A worker squares the number it is asked about; worker 500 crashes. */
static int worker_receive(grove_actor *self, grove_msg *msg) {
  (void)self;
  int64_t x = 0;
  grove_msg_int(msg, 0, &x);
  if (x == 500)
    return GROVE_EPIPE; /* ends without replying */
  grove_msg *r = grove_msg_new("square");
  grove_msg_pack_int(r, x * x);
  return grove_reply(msg, r);
}

static const grove_actor_class worker_class = {
    .name = "worker", .size = sizeof(grove_actor), .receive = worker_receive};

int main(void) {
  static grove_ref workers[N];
  static grove_async_result *results[N];
  static grove_waitable waits[N];
  for (int i = 0; i < N; i++)
    workers[i] = grove_actor_spawn(&worker_class, NULL);

  /* Scatter: every call returns at once with its future. */
  for (int i = 0; i < N; i++) {
    grove_msg *q = grove_msg_new("square?");
    grove_msg_pack_int(q, i);
    grove_call_async(workers[i], q, &results[i], 5.0); /* takes q */
    waits[i] = GROVE_WAITABLE_ASYNC_RESULT(results[i]);
  }

  /* Gather: one wait for all of them (or until 5 s have passed). */
  size_t ready = 0;
  int rc = grove_wait(waits, N, 0, 5.0, NULL, &ready);
  printf("wait: %s, %zu of %d ready\n", grove_err_name(rc), ready, N);

  long long sum = 0;
  int failed = 0;
  for (int i = 0; i < N; i++) {
    grove_msg *reply;
    int why;
    int err = grove_call_result(results[i], &reply, &why, 0); /* takes the reply */
    if (err == 0) {
      int64_t sq = 0;
      grove_msg_int(reply, 0, &sq);
      sum += sq;
      grove_msg_free(reply); /* ours now */
    } else {
      failed++;
      printf("worker %d: %s, reason %s\n", i, grove_err_name(err), grove_exit_reason_name(why));
    }
    grove_async_result_free(results[i]);
  }
  printf("sum of squares: %lld (%d failed)\n", sum, failed);

  for (int i = 0; i < N; i++)
    if (grove_actor_alive(workers[i]))
      grove_actor_exit(workers[i], GROVE_EXIT_SHUTDOWN);
  for (int i = 0; i < N; i++)
    grove_actor_wait(workers[i], NULL, 5.0);
  return rc == 0 && failed == 1 && grove_hub_close() == 0 ? 0 : 1;
}
