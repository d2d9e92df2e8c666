/* crawler.c - crawler.py translated line for line: Pool(2) imap_unordered
 * over six "pages", each fetch bounded by a scoped timeout of its own;
 * results are printed as they finish. */
#include <grove.h>
#include <stdio.h>

#define U 0.1
static const char *pages[] = {"a", "b", "c", "d", "e", "f"};
static const int delay[] = {3, 1, 8, 2, 9, 1}; /* in units of U */
#define LIMIT (5 * U)
static char results[6][32];

static void *fetch(void *arg) {
  int i = (int)((const char **)arg - pages);
  printf("fetch %s\n", pages[i]);
  grove_timeout *t = grove_timeout_start(LIMIT);
  int rc = grove_sleep(delay[i] * U);
  if (rc == 0)
    snprintf(results[i], sizeof results[i], "%s ok", pages[i]);
  else if (rc == GROVE_ETIMEDOUT && grove_timeout_expired(t))
    snprintf(results[i], sizeof results[i], "%s timed out", pages[i]);
  else
    snprintf(results[i], sizeof results[i], "%s %s", pages[i], grove_err_name(rc));
  grove_timeout_cancel(t);
  return results[i];
}

int main(void) {
  grove_group *pool = grove_pool_new(2);
  void *args[6];
  for (int i = 0; i < 6; i++)
    args[i] = (void *)&pages[i];
  grove_imap *it = grove_group_imap_unordered(pool, fetch, args, 6);
  int n = 0, rc;
  void *result;
  while ((rc = grove_imap_next(it, &result, NULL, GROVE_FOREVER)) == 0) {
    n++;
    printf("%d: %s (free %zu)\n", n, (const char *)result, grove_pool_free_count(pool));
  }
  int rc2 = grove_imap_free(it);
  int rc3 = grove_group_join(pool, GROVE_FOREVER);
  printf("crawled %d pages, free %zu\n", n, grove_pool_free_count(pool));
  int rc4 = grove_group_free(pool);
  return rc == GROVE_EOF && rc2 == 0 && rc3 == 0 && rc4 == 0 && grove_hub_close() == 0 ? 0 : 1;
}
