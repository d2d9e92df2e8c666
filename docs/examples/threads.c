/* threads.c - another thread hands a result to the hub with grove_hub_post. */
#include <grove.h>
#include <pthread.h>
#include <stdio.h>

static grove_async_result *result;

/* Runs inside the hub, on main's thread: it must not block. */
static void deliver(void *arg) { grove_async_result_set(result, arg); }

static void *thread_main(void *arg) {
  static long answer;
  for (long i = 1; i <= 1000; i++) /* stand-in for blocking or CPU-bound work */
    answer += i;
  grove_hub_post(deliver, &answer); /* the one grove call that is thread-safe */
  return NULL;
}

int main(void) {
  result = grove_async_result_new(); /* creates main's hub: the default hub */
  /* Without a hold, a forever wait with nothing pending is GROVE_ELOOPEXIT:
   * the hub cannot know that another thread will post. */
  grove_hub_hold();
  pthread_t t;
  if (pthread_create(&t, NULL, thread_main, NULL) != 0)
    return 1;
  void *value;
  int rc = grove_async_result_get(result, &value, GROVE_FOREVER);
  grove_hub_unhold();
  pthread_join(t, NULL);
  printf("from the thread: %ld (%s)\n", *(long *)value, grove_err_name(rc));

  grove_async_result_free(result);
  return rc == 0 && grove_hub_close() == 0 ? 0 : 1;
}
