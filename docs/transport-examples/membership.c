/* membership.c - a cluster that forms by itself: three workers given only
 * the seed's endpoint mesh with each other (grove_nodes), one registers a
 * cluster-wide name that every member calls (grove_call_name_global), and
 * one leaves. Each worker runs in a thread of its own (one node per
 * thread) to keep the example in one file; in real use each is a process
 * on its own machine, started with the same seed list. */
#include <grove.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define WORKERS 3

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static char seed_endpoint[256];
static char seen[WORKERS][128];   /* what each worker saw, for main to print */
static char answer[WORKERS][128]; /* its call to the global name */
static int done;                  /* workers that have stopped */

static int greeter_receive(grove_actor *self, grove_msg *msg) {
  (void)self;
  if (grove_msg_is_call(msg)) {
    char text[64];
    snprintf(text, sizeof text, "hello from %s", grove_node_name());
    grove_msg *r = grove_msg_new("greeting");
    grove_msg_pack_str(r, text);
    grove_reply(msg, r);
  }
  return 0;
}

static const grove_actor_class greeter_class = {
    .name = "greeter", .size = sizeof(grove_actor), .receive = greeter_receive};

static int by_name(const void *a, const void *b) {
  return strcmp(((const grove_node_info *)a)->name, ((const grove_node_info *)b)->name);
}

/* The members that are up, sorted: "seed w2 w3". */
static size_t members_up(char *out, size_t cap) {
  grove_node_info info[16];
  size_t n = 0, up = 0;
  grove_nodes(info, 16, &n);
  qsort(info, n < 16 ? n : 16, sizeof info[0], by_name);
  out[0] = 0;
  for (size_t i = 0; i < n && i < 16; i++) {
    if (info[i].state != GROVE_NODE_UP)
      continue;
    snprintf(out + strlen(out), cap - strlen(out), "%s%s", up ? " " : "", info[i].name);
    up++;
  }
  return up;
}

static int all_answered(void) {
  pthread_mutex_lock(&lock);
  int all = 1;
  for (int i = 0; i < WORKERS; i++)
    all &= answer[i][0] != 0;
  pthread_mutex_unlock(&lock);
  return all;
}

static void *worker(void *arg) {
  int i = (int)(long)arg;
  char name[16], seed[300];
  snprintf(name, sizeof name, "w%d", i + 1);
  pthread_mutex_lock(&lock);
  /* a seed by name and endpoint, or by its endpoint alone */
  snprintf(seed, sizeof seed, i == 2 ? "%s" : "seed@%s", seed_endpoint);
  pthread_mutex_unlock(&lock);
  const char *seeds[] = {seed, NULL};
  grove_node_opts opts = {.seeds = seeds};
  grove_node_start(name, "tcp://127.0.0.1:0", &opts);
  char view[128];
  while (members_up(view, sizeof view) < WORKERS) /* the seed and the two others */
    grove_sleep(0.01);
  grove_ref greeter = GROVE_REF_NULL;
  if (i == 1) { /* w2 offers the greeter to the whole cluster */
    grove_actor_spawn_ex(&greeter_class, NULL, NULL, &greeter);
    grove_global_register("greeter", greeter);
  }
  grove_msg *reply = NULL;
  int rc = grove_call_name_global("greeter", grove_msg_new("hello"), &reply, 5.0);
  const char *text = "";
  size_t len = 0;
  if (rc == 0)
    grove_msg_str(reply, 0, &text, &len);
  pthread_mutex_lock(&lock);
  snprintf(seen[i], sizeof seen[i], "%s", view);
  snprintf(answer[i], sizeof answer[i], "%s", rc ? grove_strerror(rc) : "");
  if (rc == 0)
    snprintf(answer[i], sizeof answer[i], "%.*s", (int)len, text);
  pthread_mutex_unlock(&lock);
  grove_msg_free(reply);
  /* once everybody has called, w1 leaves; the others stay until the seed stops */
  while (!all_answered() || (i != 0 && grove_node_is_up("seed")))
    grove_sleep(0.01);
  if (i == 1) {
    grove_actor_exit(greeter, GROVE_EXIT_SHUTDOWN);
    grove_actor_wait(greeter, NULL, 5);
  }
  grove_node_stop();
  grove_hub_close();
  pthread_mutex_lock(&lock);
  done++;
  pthread_mutex_unlock(&lock);
  return NULL;
}

int main(void) {
  grove_node_start("seed", "tcp://127.0.0.1:0", NULL);
  snprintf(seed_endpoint, sizeof seed_endpoint, "%s", grove_node_endpoint());
  grove_queue *events = grove_queue_new(0);
  uint64_t watch;
  grove_monitor_nodes_to(events, &watch); /* GROVE_TAG_NODEUP / NODEDOWN [name] */
  pthread_t t[WORKERS];
  for (long i = 0; i < WORKERS; i++)
    pthread_create(&t[i], NULL, worker, (void *)i);
  printf("seed: %d workers join through it\n", WORKERS);
  /* Main's hub serves the seed node meanwhile: wait by sleeping in it. */
  while (!all_answered())
    grove_sleep(0.01);
  for (int i = 0; i < WORKERS; i++)
    printf("w%d sees: %s; calls greeter: \"%s\"\n", i + 1, seen[i], answer[i]);
  grove_ref ref;
  grove_global_whereis_wait("greeter", &ref, 5);
  printf("greeter lives on %s\n", grove_node_name_of(ref.node));
  /* w1 stopped after its call: a membership event, and it is gone */
  for (;;) {
    void *item;
    if (grove_queue_get(events, &item, 10) != 0)
      break;
    int down = grove_msg_is(item, GROVE_TAG_NODEDOWN);
    const char *who;
    size_t len;
    grove_msg_str(item, 0, &who, &len);
    int w1 = len == 2 && memcmp(who, "w1", 2) == 0;
    grove_msg_free(item);
    if (down && w1)
      break;
  }
  char view[128];
  members_up(view, sizeof view);
  printf("w1 left: members now %s\n", view);
  grove_demonitor(watch);
  grove_node_stop(); /* w2 and w3 see it go and stop too */
  for (int stopped = 0; stopped < WORKERS; grove_sleep(0.01)) {
    pthread_mutex_lock(&lock);
    stopped = done;
    pthread_mutex_unlock(&lock);
  }
  for (int i = 0; i < WORKERS; i++)
    pthread_join(t[i], NULL);
  void *item;
  while (grove_queue_get_nowait(events, &item) == 0)
    grove_msg_free(item);
  grove_queue_free(events);
  return grove_hub_close() == 0 ? 0 : 1;
}
