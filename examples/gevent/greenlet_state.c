/* greenlet_state.c - port of greenlet_state.py (seed 001, "Greenlet 状态").
 *
 * A winner returns a value; a loser fails with grove_exit() and an error
 * code of the program's own (the seed raises an Exception). The main
 * greenlet then prints started / value / ready / successful / the error.
 */
#include <grove.h>
#include <stdio.h>
#include <stdlib.h>

enum { E_YOU_FAIL = 1 }; /* the loser's error code */

static const char *describe(int code) {
  return code == E_YOU_FAIL ? "You fail at failing." : grove_strerror(code);
}

static const char *py_bool(bool b) { return b ? "True" : "False"; }

static void *win(void *arg) { return "You win!"; }

static void *fail(void *arg) {
  grove_exit(E_YOU_FAIL);
  return NULL;
}

int main(void) {
  grove_greenlet *winner = grove_spawn(win, NULL);
  grove_greenlet *loser = grove_spawn(fail, NULL);
  puts(py_bool(grove_started(winner))); /* True */
  puts(py_bool(grove_started(loser)));  /* True */
  /* A failure stays inside the greenlet: joinall still succeeds. */
  grove_greenlet *both[] = {winner, loser};
  if (grove_joinall(both, 2, GROVE_FOREVER) != 0)
    puts("This will never be reached");
  const char *value = grove_value(winner);
  puts(value ? value : "None"); /* 'You win!' */
  value = grove_value(loser);
  puts(value ? value : "None");            /* None */
  puts(py_bool(grove_ready(winner)));      /* True */
  puts(py_bool(grove_ready(loser)));       /* True */
  puts(py_bool(grove_successful(winner))); /* True */
  puts(py_bool(grove_successful(loser)));  /* False */
  /* The error is kept in the greenlet (grove_get would return it). */
  puts(describe(grove_error(loser)));

  grove_greenlet_release(winner);
  grove_greenlet_release(loser);
  return grove_hub_close() == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
