/* test_overflow.c - a greenlet that overflows its stack is named in the crash
 * report instead of dying with a bare SIGSEGV.
 *
 * Each case forks: the child overflows a stack, the parent checks that the
 * child died from the signal and that its stderr names the greenlet. Under
 * AddressSanitizer the sanitizer reports overflows itself (grove does not
 * install its handler), so only the death is checked there. */
#include "test.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#ifndef UNDER_ASAN
#define UNDER_ASAN 0
#endif

static int depth_reached;

/* Bounded only in name: 2^30 frames of 512 bytes overflow any stack. */
__attribute__((noinline)) static int recurse(int n) {
  volatile char frame[512];
  frame[0] = (char)n;
  depth_reached = n;
  if (n > (1 << 30))
    return 0;
  return recurse(n + 1) + frame[0];
}

int overflow_plain(int n, size_t frame);  /* overflow_frames.c, no stack-clash protection */
int overflow_probed(int n, size_t frame); /* overflow_frames.c, with it */

/* What the child's greenlet runs: 512-byte frames by default. */
static size_t frame_size;
static int probed;

static void *overflow(void *arg) {
  (void)arg;
  if (frame_size)
    return (void *)(intptr_t)(probed ? overflow_probed(0, frame_size)
                                     : overflow_plain(0, frame_size));
  return (void *)(intptr_t)recurse(0);
}

/* Run `fn` in a child: spawn it with opts and join it. Returns the child's
 * wait status; its stderr goes to err (NUL-terminated). */
static int run_child(const grove_spawn_opts *opts, char *err, size_t errlen) {
  int pipefd[2];
  CHECK_EQ(pipe(pipefd), 0);
  fflush(NULL);
  pid_t pid = fork();
  if (pid == 0) {
    dup2(pipefd[1], 2);
    close(pipefd[0]);
    grove_greenlet *g = grove_spawn_ex(overflow, NULL, opts);
    grove_join(g, GROVE_FOREVER);
    _exit(0); /* not reached: the overflow kills the child */
  }
  close(pipefd[1]);
  size_t n = 0;
  ssize_t r;
  while (n + 1 < errlen && (r = read(pipefd[0], err + n, errlen - 1 - n)) > 0)
    n += (size_t)r;
  err[n] = 0;
  close(pipefd[0]);
  int status = 0;
  CHECK_EQ(waitpid(pid, &status, 0), pid);
  return status;
}

static void test_dedicated_overflow_is_named(void) {
  char err[8192];
  grove_spawn_opts opts = {
      .name = "deep-thought", .stack = GROVE_STACK_DEDICATED, .stack_size = 64 * 1024};
  int status = run_child(&opts, err, sizeof err);
  CHECK(WIFSIGNALED(status) || (WIFEXITED(status) && WEXITSTATUS(status) != 0));
  if (!UNDER_ASAN) {
    CHECK(WIFSIGNALED(status) && (WTERMSIG(status) == SIGSEGV || WTERMSIG(status) == SIGBUS));
    CHECK(strstr(err, "stack overflow in greenlet") != NULL);
    CHECK(strstr(err, "\"deep-thought\"") != NULL);
    CHECK(strstr(err, "dedicated stack of 65536 bytes") != NULL);
  }
}

static void test_shared_overflow_is_named(void) {
  char err[8192];
  grove_spawn_opts opts = {.name = "recursive-descent"};
  int status = run_child(&opts, err, sizeof err);
  CHECK(WIFSIGNALED(status) || (WIFEXITED(status) && WEXITSTATUS(status) != 0));
  if (!UNDER_ASAN) {
    CHECK(strstr(err, "stack overflow in greenlet") != NULL);
    CHECK(strstr(err, "\"recursive-descent\"") != NULL);
    CHECK(strstr(err, "shared stack") != NULL);
  }
}

/* Frames bigger than a page used to skip the single guard page: 12 KiB
 * frames on a shared stack overwrote the stack below it and the program
 * went on; 4000-byte frames died without the report. The guard is 64 KiB
 * now, and frames up to that size are caught even in code built without
 * stack-clash protection; with it, frames of any size are. Each case must
 * die of the signal, with the report naming the greenlet. */
static const struct {
  size_t frame;
  int probed;
  int dedicated;
} frame_cases[] = {
    {4000, 0, 0},        {4000, 0, 1},        {12 * 1024, 0, 0},  {12 * 1024, 0, 1},
    {60 * 1024, 0, 0},   {60 * 1024, 0, 1},   {200 * 1024, 1, 0}, {200 * 1024, 1, 1},
    {1024 * 1024, 1, 0}, {1024 * 1024, 1, 1},
};

static void test_large_frames_always_reported(void) {
  for (size_t i = 0; i < sizeof frame_cases / sizeof frame_cases[0]; i++) {
#ifndef HAVE_STACK_CLASH
    if (frame_cases[i].probed) {
      printf("     skipped: %zu-byte frames need -fstack-clash-protection\n", frame_cases[i].frame);
      continue;
    }
#endif
    frame_size = frame_cases[i].frame;
    probed = frame_cases[i].probed;
    grove_spawn_opts opts = {.name = "big-frames"};
    if (frame_cases[i].dedicated) {
      opts.stack = GROVE_STACK_DEDICATED;
      opts.stack_size = 256 * 1024;
    }
    char err[8192];
    int status = run_child(&opts, err, sizeof err);
    CHECK(WIFSIGNALED(status) || (WIFEXITED(status) && WEXITSTATUS(status) != 0));
    if (!UNDER_ASAN) {
      int named = WIFSIGNALED(status) && strstr(err, "stack overflow in greenlet") &&
                  strstr(err, "\"big-frames\"");
      if (!named)
        printf("     %zu-byte frames (%s, %s stack): status %d, stderr: %s\n", frame_cases[i].frame,
               probed ? "probed" : "plain", frame_cases[i].dedicated ? "dedicated" : "shared",
               status, err);
      CHECK(named);
    }
  }
  frame_size = 0;
}

TEST_MAIN(TEST(test_dedicated_overflow_is_named), TEST(test_shared_overflow_is_named),
          TEST(test_large_frames_always_reported))
