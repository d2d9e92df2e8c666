/* watch.c - a plain greenlet (main) watches an actor through a queue, and a
 * log hook sees the actor's crash report with its fields. */
#include <grove.h>
#include <stdio.h>

static int worker_receive(grove_actor *self, grove_msg *msg) {
  return grove_msg_is(msg, "crash") ? GROVE_EFAILED : 0;
}
static const grove_actor_class worker_class = {
    .name = "worker", .size = sizeof(grove_actor), .receive = worker_receive};

static void on_event(const grove_log_event *ev, void *user) {
  if (ev->kind == GROVE_LOG_ACTOR_CRASHED)
    printf("crash report: class %s, name %s, reason %s, handling '%s'\n", ev->actor_class,
           ev->actor_name, grove_exit_reason_name(ev->reason), ev->msg_tag);
}

int main(void) {
  grove_log_hook(on_event, NULL);
  grove_actor_opts o = {.name = "w1"};
  grove_ref w;
  grove_actor_spawn_ex(&worker_class, NULL, &o, &w);

  grove_queue *downs = grove_queue_new(0); /* unbounded: a watch never blocks */
  uint64_t id;
  int rc = grove_monitor_to(w, downs, &id); /* main is not an actor */
  grove_send(w, grove_msg_new("crash"));

  void *item;
  int rc2 = grove_queue_get(downs, &item, 5.0);
  grove_msg *down = item;
  int64_t reason = 0;
  grove_msg_int(down, 2, &reason);
  printf("%s: %s\n", grove_msg_tag(down), grove_exit_reason_name((int)reason));
  grove_msg_free(down);
  grove_queue_free(downs);
  grove_log_hook(NULL, NULL);
  return rc == 0 && rc2 == 0 && grove_hub_close() == 0 ? 0 : 1;
}
