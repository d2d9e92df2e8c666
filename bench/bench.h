/* bench/bench.h - what grove-bench's files share: the clock, the report
 * line (`NAME VALUE UNIT`) and a process's resident memory. */
#ifndef GROVE_BENCH_H
#define GROVE_BENCH_H

#include <stdio.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

static inline double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static inline void report(const char *name, double value, const char *unit) {
  printf("%s %.*f %s\n", name, value >= 100 ? 0 : 2, value, unit);
  fflush(stdout);
}

/* Resident bytes of a process (0: this one), from /proc/PID/statm. */
static inline long proc_rss(pid_t pid) {
  char path[64];
  if (pid)
    snprintf(path, sizeof path, "/proc/%d/statm", (int)pid);
  else
    snprintf(path, sizeof path, "/proc/self/statm");
  FILE *f = fopen(path, "r");
  long pages = 0, res = 0;
  if (f) {
    if (fscanf(f, "%ld %ld", &pages, &res) != 2)
      res = 0;
    fclose(f);
  }
  return res * sysconf(_SC_PAGESIZE);
}

#endif
