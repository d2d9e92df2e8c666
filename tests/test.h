/* tests/test.h - the tiny harness every grove test program uses.
 *
 * A test program is a table of cases; each case is a function run in the main
 * greenlet. After every case the harness checks that the hub has no greenlet
 * left alive and closes it (grove_hub_close() == 0), so a case that leaks a
 * greenlet or leaves one blocked fails. Usage:
 *
 *   static void test_something(void) { CHECK_EQ(grove_sleep(0), 0); }
 *   TEST_MAIN(TEST(test_something), ...)
 *
 * Run a single case with `prog NAME`. With GROVE_TEST_SWITCH_INTERVAL set
 * (seconds, 0.0001 to 1), every case starts with that turn on its hub
 * (grove_hub_set_switch_interval), so a program can be run with the hub
 * polling more or less often between callbacks (the cases that check the
 * default interval, or that no hub exists yet, then fail).
 */
#ifndef GROVE_TEST_H
#define GROVE_TEST_H

#include <grove.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct {
  const char *name;
  void (*fn)(void);
} test_case;

#define TEST(f)                                                                                    \
  { #f, f }

static int test__failed;

#define CHECK(cond)                                                                                \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);                     \
      test__failed = 1;                                                                            \
    }                                                                                              \
  } while (0)

#define CHECK_EQ(a, b)                                                                             \
  do {                                                                                             \
    long long test__a = (long long)(a), test__b = (long long)(b);                                  \
    if (test__a != test__b) {                                                                      \
      fprintf(stderr, "%s:%d: CHECK_EQ failed: %s == %s (%lld vs %lld)\n", __FILE__, __LINE__, #a, \
              #b, test__a, test__b);                                                               \
      test__failed = 1;                                                                            \
    }                                                                                              \
  } while (0)

#define CHECK_STR(a, b)                                                                            \
  do {                                                                                             \
    const char *test__a = (a), *test__b = (b);                                                     \
    if (strcmp(test__a, test__b) != 0) {                                                           \
      fprintf(stderr, "%s:%d: CHECK_STR failed: \"%s\" vs \"%s\"\n", __FILE__, __LINE__, test__a,  \
              test__b);                                                                            \
      test__failed = 1;                                                                            \
    }                                                                                              \
  } while (0)

/* Monotonic seconds, for generous timing bounds. */
static inline double test_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A log that greenlets append to, to check the order things happened in. */
static char test_log_buf[8192];
static inline void test_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
#include <stdarg.h>
static inline void test_log(const char *fmt, ...) {
  size_t n = strlen(test_log_buf);
  va_list ap;
  va_start(ap, fmt);
  if (n && n < sizeof test_log_buf - 1)
    test_log_buf[n++] = ' ';
  vsnprintf(test_log_buf + n, sizeof test_log_buf - n, fmt, ap);
  va_end(ap);
}
static inline void test_log_reset(void) { test_log_buf[0] = 0; }
#define CHECK_LOG(expected) CHECK_STR(test_log_buf, expected)

static inline int test__run(const test_case *cases, size_t n, int argc, char **argv) {
  int failures = 0, ran = 0;
  for (size_t i = 0; i < n; i++) {
    if (argc > 1 && strcmp(argv[1], cases[i].name) != 0)
      continue;
    ran++;
    test__failed = 0;
    test_log_reset();
    const char *turn = getenv("GROVE_TEST_SWITCH_INTERVAL");
    if (turn && *turn && grove_hub_set_switch_interval(atof(turn)) != 0) {
      fprintf(stderr, "GROVE_TEST_SWITCH_INTERVAL=%s: not a switch interval\n", turn);
      return 2;
    }
    cases[i].fn();
    size_t alive = grove_hub_greenlet_count();
    if (alive != 0) {
      fprintf(stderr, "%s: %zu greenlet(s) still alive after the case:\n", cases[i].name, alive);
      grove_dump(stderr);
      test__failed = 1;
    } else {
      int rc = grove_hub_close();
      if (rc != 0) {
        fprintf(stderr, "%s: grove_hub_close() = %s\n", cases[i].name, grove_err_name(rc));
        test__failed = 1;
      }
    }
    printf("%s %s\n", test__failed ? "FAIL" : "ok  ", cases[i].name);
    fflush(stdout);
    failures += test__failed;
  }
  if (ran == 0) {
    fprintf(stderr, "no test case named %s\n", argc > 1 ? argv[1] : "(none)");
    return 2;
  }
  return failures ? 1 : 0;
}

/* Integers carried through a greenlet's void * argument. */
#define IARG(n) ((void *)(intptr_t)(n))
#define IVAL(p) ((int)(intptr_t)(p))

/* A hang (a library bug) fails the program after `seconds`, before ctest's
 * timeout, naming itself; the last "ok" line printed tells which case hung.
 * Use once per test file, at file scope. */
#define TEST_WATCHDOG(seconds)                                                                     \
  static void test__watchdog_fire(int sig) {                                                       \
    (void)sig;                                                                                     \
    static const char msg[] = "watchdog: still running after " #seconds                            \
                              " s: the case after the last one reported hangs\n";                  \
    if (write(2, msg, sizeof msg - 1) < 0)                                                         \
      _exit(3);                                                                                    \
    _exit(3);                                                                                      \
  }                                                                                                \
  __attribute__((constructor)) static void test__watchdog_arm(void) {                              \
    signal(SIGALRM, test__watchdog_fire);                                                          \
    alarm(seconds);                                                                                \
  }

#define TEST_MAIN(...)                                                                             \
  int main(int argc, char **argv) {                                                                \
    static const test_case cases[] = {__VA_ARGS__};                                                \
    return test__run(cases, sizeof cases / sizeof cases[0], argc, argv);                           \
  }

#endif
