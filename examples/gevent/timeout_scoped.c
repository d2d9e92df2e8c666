/* timeout_scoped.c - port of timeout_scoped.py (seed 001, "超时", second
 * example: `with Timeout(time_to_wait, TooLong):`).
 *
 * The scope's deadline makes the longer sleep inside it fail with
 * GROVE_ETIMEDOUT, grove's counterpart of the seed's TooLong.
 */
#include <grove.h>
#include <stdio.h>
#include <stdlib.h>

int main(void) {
  double time_to_wait = 0.01; /* seconds */

  printf("Sleeping under a %g s timeout\n", time_to_wait);
  grove_timeout *t = grove_timeout_start(time_to_wait);
  int rc = grove_sleep(0.05);
  grove_timeout_cancel(t);
  if (rc == GROVE_ETIMEDOUT)
    puts("TooLong raised");

  return grove_hub_close() == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
