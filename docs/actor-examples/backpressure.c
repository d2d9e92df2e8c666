/* backpressure.c - a bounded inbox makes a fast sender wait for a slow
 * receiver. */
#include <grove.h>
#include <stdio.h>

struct consumer {
  grove_actor base;
};

static int consumer_receive(grove_actor *self, grove_msg *msg) {
  if (grove_msg_is(msg, "stop"))
    return GROVE_STOP;
  int64_t i = -1;
  grove_msg_int(msg, 0, &i);
  printf("  consumer: item %lld\n", (long long)i);
  return 0;
}

static const grove_actor_class consumer_class = {
    .name = "consumer", .size = sizeof(struct consumer), .receive = consumer_receive};

static grove_msg *item(int i) {
  grove_msg *m = grove_msg_new("item");
  grove_msg_pack_int(m, i);
  return m;
}

int main(void) {
  grove_ref c;
  grove_actor_opts opts = {.inbox_max = 2};
  if (grove_actor_spawn_ex(&consumer_class, NULL, &opts, &c) != 0)
    return 1;

  int rc = 0;
  for (int i = 0; i < 5 && rc == 0; i++) {
    rc = grove_send(c, item(i)); /* waits while the inbox holds 2 messages */
    grove_actor_stats st;
    grove_actor_stats_get(c, &st);
    printf("main: sent item %d, inbox %zu\n", i, st.inbox_len);
  }

  /* Timeout 0 never waits: a full inbox is GROVE_ETIMEDOUT, and the message
   * is dropped as a dead letter. */
  int rc2;
  for (int i = 5; (rc2 = grove_send_timeout(c, item(i), 0)) == 0; i++)
    printf("main: sent item %d without waiting\n", i);
  printf("main: then %s\n", grove_err_name(rc2));

  grove_send(c, grove_msg_new("stop"));
  int rc3 = grove_actor_wait(c, NULL, 1.0);
  return rc == 0 && rc2 == GROVE_ETIMEDOUT && rc3 == 0 && grove_hub_close() == 0 ? 0 : 1;
}
