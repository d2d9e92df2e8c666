/* monitors.c - a monitor turns the end of another actor into a
 * GROVE_TAG_DOWN message: [monitor id, ref, reason]. */
#include <grove.h>
#include <stdio.h>

struct worker {
  grove_actor base;
};

static int worker_receive(grove_actor *self, grove_msg *msg) {
  if (grove_msg_is(msg, "crash"))
    return GROVE_EFAILED;
  if (grove_msg_is(msg, "stop"))
    return GROVE_STOP;
  return 0;
}

static const grove_actor_class worker_class = {
    .name = "worker", .size = sizeof(struct worker), .receive = worker_receive};

#define NWATCHED 4
static grove_ref watched[NWATCHED]; /* statics: every greenlet may read them */
static const char *names[NWATCHED] = {"w1", "w2", "w3", "gone"};

struct watcher {
  grove_actor base;
  uint64_t ids[NWATCHED];
  int downs;
};

static int watcher_init(grove_actor *self, void *arg) {
  struct watcher *w = (struct watcher *)self;
  for (int i = 0; i < NWATCHED; i++)
    grove_monitor(watched[i], &w->ids[i]); /* only from an actor */
  grove_demonitor(w->ids[2]);              /* w3's end will not be reported */
  return 0;
}

static int watcher_receive(grove_actor *self, grove_msg *msg) {
  struct watcher *w = (struct watcher *)self;
  if (grove_msg_is(msg, GROVE_TAG_DOWN)) {
    int64_t id, reason;
    grove_ref who;
    grove_msg_int(msg, 0, &id);
    grove_msg_ref(msg, 1, &who);
    grove_msg_int(msg, 2, &reason);
    for (int i = 0; i < NWATCHED; i++)
      if ((uint64_t)id == w->ids[i] && grove_ref_eq(who, watched[i]))
        printf("down: %s (%s)\n", names[i], grove_exit_reason_name((int)reason));
    if (++w->downs == 3)
      return GROVE_STOP;
  } else if (grove_msg_is_call(msg)) {
    grove_reply(msg, grove_msg_new("ready"));
  }
  return 0;
}

static const grove_actor_class watcher_class = {.name = "watcher",
                                                .size = sizeof(struct watcher),
                                                .init = watcher_init,
                                                .receive = watcher_receive};

int main(void) {
  for (int i = 0; i < NWATCHED; i++)
    watched[i] = grove_actor_spawn(&worker_class, NULL);
  grove_send(watched[3], grove_msg_new("stop"));
  grove_actor_wait(watched[3], NULL, 1.0); /* "gone" is gone before it is watched */

  grove_ref watcher = grove_actor_spawn(&watcher_class, NULL);
  grove_msg *reply;
  if (grove_call(watcher, grove_msg_new("ready?"), &reply, 1.0) != 0) /* init has run */
    return 1;
  grove_msg_free(reply);

  grove_send(watched[0], grove_msg_new("crash"));
  grove_send(watched[1], grove_msg_new("stop"));
  grove_actor_exit(watched[2], GROVE_EXIT_SHUTDOWN);
  int reason;
  int rc = grove_actor_wait(watcher, &reason, 1.0);
  printf("watcher ended: %s\n", grove_exit_reason_name(reason));
  return rc == 0 && grove_hub_close() == 0 ? 0 : 1;
}
