/* subprocess_run.c - subprocess_run.py translated line for line:
 * grove_subprocess_check_output and grove_subprocess_run (stdout, exit
 * status, timeout in one call) while a ticker greenlet keeps running. */
#include <grove.h>
#include <stdio.h>
#include <stdlib.h>

static void *ticker(void *arg) {
  for (int i = 1; i < 3; i++) {
    if (grove_sleep(0.1) != 0)
      return NULL;
    printf("tick %d\n", i);
  }
  return arg;
}

/* Python's repr of a short str: newlines as \n, in single quotes. */
static const char *r(const char *s) {
  static char buf[4][128];
  static int k;
  char *b = buf[k++ % 4], *p = b;
  *p++ = '\'';
  for (; s && *s && p < b + sizeof buf[0] - 4; s++) {
    if (*s == '\n') {
      *p++ = '\\';
      *p++ = 'n';
    } else {
      *p++ = *s;
    }
  }
  *p++ = '\'';
  *p = 0;
  return b;
}

#define ARGV(...) ((const char *const[]){__VA_ARGS__, NULL})

int main(void) {
  grove_greenlet *t = grove_spawn(ticker, NULL);
  char *out;
  int status, bad = 0;
  grove_subprocess_opts o = {.argv = ARGV("sh", "-c", "sleep 0.35; echo slow child")};
  bad |= grove_subprocess_check_output(&o, NULL, 0, &out, NULL, NULL, GROVE_FOREVER);
  printf("check_output: %s\n", r(out));
  free(out);

  o.argv = ARGV("sh", "-c", "echo partial; exit 3");
  if (grove_subprocess_check_output(&o, NULL, 0, &out, NULL, &status, GROVE_FOREVER) ==
      GROVE_ESTATUS)
    printf("check_output: status %d, output %s\n", status, r(out));
  free(out);

  grove_subprocess_result res;
  o = (grove_subprocess_opts){.argv = ARGV("sh", "-c", "echo out; echo err >&2; exit 5"),
                              .stdout_mode = GROVE_STDIO_PIPE,
                              .stderr_mode = GROVE_STDIO_PIPE};
  bad |= grove_subprocess_run(&o, NULL, 0, GROVE_FOREVER, 0, &res);
  printf("run: returncode %d, stdout %s, stderr %s\n", res.returncode, r(res.out), r(res.err));
  grove_subprocess_result_free(&res);

  o = (grove_subprocess_opts){.argv = ARGV("cat"), .stdout_mode = GROVE_STDIO_PIPE};
  bad |= grove_subprocess_run(&o, "fed through stdin", 17, GROVE_FOREVER, 0, &res);
  printf("run with input: %s\n", r(res.out));
  grove_subprocess_result_free(&res);

  o = (grove_subprocess_opts){.argv = ARGV("sh", "-c", "echo started; exec sleep 5"),
                              .stdout_mode = GROVE_STDIO_PIPE};
  if (grove_subprocess_run(&o, NULL, 0, 0.3, 0, &res) == GROVE_ETIMEDOUT)
    printf("run: timed out, output %s\n", r(res.out));
  grove_subprocess_result_free(&res);

  bad |= grove_join(t, GROVE_FOREVER);
  printf("ticker done\n");
  grove_greenlet_release(t);
  return bad == 0 && grove_hub_close() == 0 ? 0 : 1;
}
