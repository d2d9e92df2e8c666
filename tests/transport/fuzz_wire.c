/* tests/transport/fuzz_wire.c - the wire decoder under a fuzzer.
 *
 * LLVMFuzzerTestOneInput takes the input as one frame from a peer and runs
 * both decoders of transport/wire.c over it, envelope by envelope: the
 * node's (grove__env_next, straight from the bytes, what handle_frame uses)
 * and the reference (grove__frame_next: msgpack-c's unpacker, one
 * msgpack_unpacked reused for the frame; then grove__env_decode). On top of
 * "no crash, no leak, no undefined behaviour, no endless loop":
 *  - the two must agree on every envelope: decoded with the same fields,
 *    malformed, another version, or the rest of the frame dropped, and on
 *    where the next envelope starts (so a peer cannot tell them apart, and
 *    the counters of grove_node_stats mean the same for both);
 *  - every envelope that decodes is encoded again with wire.c's encoders
 *    and must decode to the same fields (a round trip): the decoders accept
 *    what the encoders write.
 * Only transport/wire.c is compiled in (msgpack-c and grove's headers): no
 * node, no socket, no hub.
 *
 * Two builds of this file (tests/CMakeLists.txt):
 *  - transport_fuzz_wire_replay, always: a main() that feeds every file of
 *    the directories (or files) given to LLVMFuzzerTestOneInput (-v: say
 *    what each one decoded to); ctest runs
 *    it on the seed corpus tests/transport/corpus/ (regenerate the seeds with
 *    tests/transport/make_corpus.py; add every crash the fuzzer finds);
 *  - fuzz_wire, the libFuzzer binary, with clang and -DGROVE_FUZZ=ON:
 *      cmake -S . -B /tmp/build-fuzz -DCMAKE_C_COMPILER=clang -DGROVE_FUZZ=ON
 *      cmake --build /tmp/build-fuzz --target fuzz_wire
 *      mkdir -p /tmp/fuzz-wire-corpus
 *      /tmp/build-fuzz/tests/fuzz_wire -max_total_time=180 -max_len=4096 \
 *          /tmp/fuzz-wire-corpus tests/transport/corpus
 *    (the first directory collects new inputs; a crash is written to
 *    ./crash-<sha1>: copy it into tests/transport/corpus/).
 */
#include "wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int same_bytes(const char *a, size_t an, const char *b, size_t bn) {
  return an == bn && (an == 0 || memcmp(a, b, an) == 0);
}

/* The grants of two CREDITs (one from each decoder, or a round trip). */
static int same_grants(const grove__env *a, const grove__env *b) {
  if (a->ngrants != b->ngrants)
    return 0;
  grove__grant_iter ia, ib;
  grove__grant_iter_init(&ia, a);
  grove__grant_iter_init(&ib, b);
  grove__grant ga, gb;
  uint32_t n = 0;
  for (;;) {
    int ra = grove__grant_next(&ia, &ga), rb = grove__grant_next(&ib, &gb);
    if (ra != rb)
      return 0;
    if (!ra)
      return n == a->ngrants;
    if (!grove_ref_eq(ga.target, gb.target) || ga.credit != gb.credit)
      return 0;
    n++;
  }
}

/* The entries of two MEMBERS. */
static int same_members(const grove__env *a, const grove__env *b) {
  if (a->nmembers != b->nmembers)
    return 0;
  grove__member_iter ia, ib;
  grove__member_iter_init(&ia, a);
  grove__member_iter_init(&ib, b);
  grove__wmember ma, mb;
  uint32_t n = 0;
  for (;;) {
    int ra = grove__member_next(&ia, &ma), rb = grove__member_next(&ib, &mb);
    if (ra != rb)
      return 0;
    if (!ra)
      return n == a->nmembers;
    if (!same_bytes(ma.name, ma.name_len, mb.name, mb.name_len) ||
        !same_bytes(ma.endpoint, ma.endpoint_len, mb.endpoint, mb.endpoint_len) ||
        ma.incarnation != mb.incarnation)
      return 0;
    n++;
  }
}

static int same_env(const grove__env *a, const grove__env *b) {
  return a->kind == b->kind && a->window == b->window && a->bytes == b->bytes &&
         same_grants(a, b) && same_members(a, b) && grove_ref_eq(a->to, b->to) &&
         grove_ref_eq(a->from, b->from) &&
         same_bytes(a->to_name, a->to_name_len, b->to_name, b->to_name_len) &&
         same_bytes(a->tag, a->tag_len, b->tag, b->tag_len) &&
         same_bytes(a->body, a->body_len, b->body, b->body_len) && a->id == b->id &&
         a->code == b->code && a->kill == b->kill &&
         same_bytes(a->name, a->name_len, b->name, b->name_len) &&
         same_bytes(a->endpoint, a->endpoint_len, b->endpoint, b->endpoint_len) &&
         a->max_message == b->max_message;
}

/* A NUL-terminated copy of a decoded string (names and tags are short). */
static const char *cstr(char *buf, size_t cap, const char *s, size_t n) {
  if (!s)
    return NULL;
  if (n >= cap)
    abort(); /* the decoder bounds names (63) and endpoints (1024) */
  memcpy(buf, s, n);
  buf[n] = 0;
  return buf;
}

/* Encode e again with wire.c's encoders. */
static void encode(msgpack_packer *pk, const grove__env *e) {
  char name[1100], tag[80], to_name[80];
  switch (e->kind) {
  case GROVE__W_HELLO:
  case GROVE__W_WELCOME: {
    char ep[1100];
    grove__w_hello(pk, e->kind, cstr(name, sizeof name, e->name, e->name_len), e->id,
                   cstr(ep, sizeof ep, e->endpoint, e->endpoint_len), e->max_message, e->window);
    break;
  }
  case GROVE__W_CREDIT: {
    grove__grant *g = malloc(sizeof *g * (e->ngrants ? e->ngrants : 1));
    grove__grant_iter it;
    grove__grant_iter_init(&it, e);
    size_t n = 0;
    while (n < e->ngrants && grove__grant_next(&it, &g[n]))
      n++;
    if (n != e->ngrants)
      abort(); /* the decoder counted grants it cannot give back */
    grove__w_credit(pk, e->bytes, g, n);
    free(g);
    break;
  }
  case GROVE__W_SEND:
  case GROVE__W_CALL:
    grove__w_send(pk, e->to, cstr(to_name, sizeof to_name, e->to_name, e->to_name_len), e->from,
                  cstr(tag, sizeof tag, e->tag, e->tag_len), e->body, e->body_len,
                  e->kind == GROVE__W_CALL, e->id);
    break;
  case GROVE__W_REPLY:
    grove__w_reply(pk, e->id, e->code, e->from, cstr(tag, sizeof tag, e->tag, e->tag_len), e->body,
                   e->body_len);
    break;
  case GROVE__W_HEARTBEAT:
  case GROVE__W_BYE:
    grove__w_simple(pk, e->kind);
    break;
  case GROVE__W_WHEREIS:
    grove__w_whereis(pk, e->id, cstr(name, sizeof name, e->name, e->name_len));
    break;
  case GROVE__W_MONITOR:
    grove__w_monitor(pk, GROVE__W_MONITOR, e->from, e->to, e->id);
    break;
  case GROVE__W_DEMONITOR:
    grove__w_monitor(pk, GROVE__W_DEMONITOR, GROVE_REF_NULL, e->to, e->id);
    break;
  case GROVE__W_DOWN:
    grove__w_down(pk, e->to, e->id, e->from, e->code);
    break;
  case GROVE__W_LINK:
  case GROVE__W_UNLINK:
    grove__w_link(pk, e->kind, e->from, e->to);
    break;
  case GROVE__W_EXIT:
    grove__w_exit(pk, e->from, e->to, e->code, e->kill);
    break;
  case GROVE__W_EXIT2:
    grove__w_exit2(pk, e->from, e->to, e->code);
    break;
  case GROVE__W_MEMBERS: {
    grove__w_members(pk, e->nmembers);
    grove__member_iter it;
    grove__member_iter_init(&it, e);
    grove__wmember m;
    uint32_t n = 0;
    char ep[1100];
    while (grove__member_next(&it, &m)) {
      grove__w_member(pk, cstr(name, sizeof name, m.name, m.name_len),
                      cstr(ep, sizeof ep, m.endpoint, m.endpoint_len), m.incarnation);
      n++;
    }
    if (n != e->nmembers)
      abort(); /* the decoder counted entries it cannot give back */
    break;
  }
  case GROVE__W_GLOBAL:
    grove__w_global(pk, (int)e->code, cstr(name, sizeof name, e->name, e->name_len), e->to, e->id);
    break;
  default:
    abort(); /* the decoder returned a kind it does not know */
  }
}

static void round_trip(const grove__env *e) {
  msgpack_sbuffer sb;
  msgpack_sbuffer_init(&sb);
  msgpack_packer pk;
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  encode(&pk, e);
  msgpack_unpacked u;
  msgpack_unpacked_init(&u);
  size_t off = 0;
  grove__env again;
  if (grove__frame_next(sb.data, sb.size, &off, &u) != 1 || off != sb.size ||
      grove__env_decode(&u.data, &again) != 0 || !same_env(e, &again)) {
    fprintf(stderr, "fuzz_wire: kind %d does not survive a round trip\n", e->kind);
    abort();
  }
  off = 0;
  if (grove__env_next(sb.data, sb.size, &off, &again) != GROVE__ENV_OK || off != sb.size ||
      !same_env(e, &again)) {
    fprintf(stderr, "fuzz_wire: kind %d does not survive a round trip\n", e->kind);
    abort();
  }
  msgpack_unpacked_destroy(&u);
  msgpack_sbuffer_destroy(&sb);
}

static unsigned long decoded, refused; /* for the replay driver's -v */

/* What a decoder made of the next envelope: END (no more), REST (the rest
 * of the frame is not msgpack: dropped), OK (e set), MALFORMED, VERSION. */
enum { END, REST, OK, MALFORMED, VERSION };
static const char *const outcome_name[] = {"end", "rest-dropped", "ok", "malformed", "version"};

/* The reference: msgpack-c's unpacker (after skim) and grove__env_decode. */
static int ref_next(const uint8_t *data, size_t size, size_t *off, msgpack_unpacked *u,
                    grove__env *e) {
  int r = grove__frame_next((const char *)data, size, off, u);
  if (r == 0)
    return END;
  if (r != 1) {
    if (r != GROVE_EPROTO)
      abort(); /* documented: 1, 0 or GROVE_EPROTO */
    return REST;
  }
  int rc = grove__env_decode(&u->data, e);
  if (rc == 0)
    return OK;
  if (rc == GROVE_EPROTO)
    return MALFORMED;
  if (rc == GROVE_ENOSYS)
    return VERSION;
  abort(); /* documented: 0, GROVE_EPROTO or GROVE_ENOSYS */
}

/* The node's decoder, straight from the bytes. */
static int fast_next(const uint8_t *data, size_t size, size_t *off, grove__env *e) {
  switch (grove__env_next((const char *)data, size, off, e)) {
  case GROVE__ENV_OK:
    return OK;
  case GROVE__ENV_END:
    return END;
  case GROVE__ENV_GARBAGE:
    return REST;
  case GROVE__ENV_MALFORMED:
    return MALFORMED;
  case GROVE__ENV_VERSION:
    return VERSION;
  }
  abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  msgpack_unpacked u;
  msgpack_unpacked_init(&u);
  size_t roff = 0, foff = 0;
  for (int step = 0;; step++) {
    grove__env re, fe;
    size_t rbefore = roff, fbefore = foff;
    int ro = ref_next(data, size, &roff, &u, &re);
    int fo = fast_next(data, size, &foff, &fe);
    /* both decoders see the same envelopes, with the same fields */
    if (ro != fo || (ro != REST && roff != foff) || (ro == OK && !same_env(&re, &fe))) {
      fprintf(stderr,
              "fuzz_wire: the decoders disagree on envelope %d (at byte %zu): reference %s "
              "(next at %zu), node's %s (next at %zu)\n",
              step, rbefore, outcome_name[ro], roff, outcome_name[fo], foff);
      abort();
    }
    if (ro == END || ro == REST) {
      refused += ro == REST;
      break;
    }
    if (roff <= rbefore || roff > size || foff <= fbefore)
      abort(); /* every step moves forward, within the frame */
    if (ro == OK) {
      round_trip(&re);
      decoded++;
    } else {
      refused++;
    }
  }
  msgpack_unpacked_destroy(&u);
  return 0;
}

#ifdef GROVE_FUZZ_REPLAY
#include <dirent.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static int verbose;

/* One input, in a child process: an abort is reported with the file's name
 * and the other inputs still run. Returns 0 or -1. */
static int run_file(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    perror(path);
    return -1;
  }
  static uint8_t buf[1 << 20];
  size_t n = fread(buf, 1, sizeof buf, f);
  fclose(f);
  fflush(stdout);
  pid_t pid = fork();
  if (pid < 0) {
    perror("fork");
    return -1;
  }
  if (pid == 0) {
    /* a copy of exactly n bytes, so ASan sees a read past the end */
    uint8_t *copy = malloc(n ? n : 1);
    memcpy(copy, buf, n);
    LLVMFuzzerTestOneInput(copy, n);
    free(copy);
    if (verbose)
      printf("%-60s %5zu bytes: %lu envelope(s) decoded, %lu refused\n", path, n, decoded, refused);
    fflush(stdout);
    _exit(0);
  }
  int st = 0;
  waitpid(pid, &st, 0);
  if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
    return 0;
  fprintf(stderr, "fuzz_wire: FAILED on %s (%s %d)\n", path,
          WIFSIGNALED(st) ? "signal" : "exit status",
          WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
  return -1;
}

static int cmp(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv) {
  int files = 0, errors = 0;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "-v") == 0) {
      verbose = 1;
      continue;
    }
    struct stat st;
    if (stat(argv[i], &st) != 0) {
      perror(argv[i]);
      errors++;
      continue;
    }
    if (!S_ISDIR(st.st_mode)) {
      errors += run_file(argv[i]) != 0;
      files++;
      continue;
    }
    DIR *d = opendir(argv[i]);
    char *names[4096];
    int nn = 0;
    struct dirent *de;
    while (d && (de = readdir(d)) != NULL && nn < 4096)
      if (de->d_name[0] != '.')
        names[nn++] = strdup(de->d_name);
    if (d)
      closedir(d);
    qsort(names, (size_t)nn, sizeof *names, cmp);
    for (int k = 0; k < nn; k++) {
      char path[4096];
      snprintf(path, sizeof path, "%s/%s", argv[i], names[k]);
      errors += run_file(path) != 0;
      files++;
      free(names[k]);
    }
  }
  printf("fuzz_wire: %d input(s) replayed, %d failed\n", files, errors);
  return errors || files == 0 ? 1 : 0;
}
#endif
