/* errors.c - return codes and their names. */
#include <grove.h>
#include <errno.h>
#include <stdio.h>

static void show(int rc) { printf("%-16s %s\n", grove_err_name(rc), grove_strerror(rc)); }

int main(void) {
  grove_queue *q = grove_queue_new(1);
  void *item;
  int ok = grove_queue_put(q, "a", GROVE_FOREVER) == 0;

  int rc = grove_queue_put_nowait(q, "b"); /* full */
  show(rc);
  ok &= rc == GROVE_EFULL;
  rc = grove_queue_put(q, "b", 0.001); /* still full after 1 ms */
  show(rc);
  ok &= rc == GROVE_ETIMEDOUT;
  rc = grove_queue_get(q, NULL, 0); /* NULL out-pointer */
  show(rc);
  ok &= rc == GROVE_EINVAL;
  show(-EROFS); /* an OS error code passes through grove unchanged */
  show(0);

  grove_queue_get(q, &item, 0);
  grove_queue_free(q);
  return ok && grove_hub_close() == 0 ? 0 : 1;
}
