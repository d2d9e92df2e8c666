/* tests/actor/test_msg.c - messages: tags, packing and reading the msgpack
 * body, msgpack-c's packer, bodies that are not valid msgpack, blobs and
 * grove_msg_take. */
#include "actor_util.h"

static void test_tags(void) {
  char tag[GROVE_MSG_TAG_MAX + 2];
  CHECK(grove_msg_new(NULL) == NULL);
  CHECK(grove_msg_new("") == NULL);
  memset(tag, 'x', sizeof tag);
  tag[GROVE_MSG_TAG_MAX + 1] = 0; /* 64 bytes: one too many */
  CHECK(grove_msg_new(tag) == NULL);
  tag[GROVE_MSG_TAG_MAX] = 0; /* exactly the maximum */
  grove_msg *m = grove_msg_new(tag);
  CHECK(m != NULL);
  CHECK_STR(grove_msg_tag(m), tag);
  CHECK(grove_msg_is(m, tag));
  CHECK(!grove_msg_is(m, "x"));
  CHECK(!grove_msg_is(m, NULL));
  grove_msg_free(m);
  m = grove_msg_new("a");
  CHECK_STR(grove_msg_tag(m), "a");
  CHECK(grove_msg_is(m, "a"));
  CHECK(!grove_msg_is(m, "ab"));
  CHECK(grove_ref_is_null(grove_msg_sender(m)));
  CHECK(!grove_msg_is_call(m));
  CHECK_EQ(grove_msg_count(m), 0);
  size_t len = 99;
  grove_msg_body(m, &len);
  CHECK_EQ(len, 0);
  grove_msg_free(m);
  grove_msg_free(NULL);
}

static void test_pack_and_read_scalars(void) {
  grove_msg *m = grove_msg_new("scalars");
  static const unsigned char bin[5] = {0, 1, 2, 0xff, 0};
  grove_ref r = {7, 0x01020304u, 0x1122334455667788ull};
  CHECK_EQ(grove_msg_pack_int(m, 42), 0);
  CHECK_EQ(grove_msg_pack_int(m, -5), 0);
  CHECK_EQ(grove_msg_pack_int(m, INT64_MAX), 0);
  CHECK_EQ(grove_msg_pack_int(m, INT64_MIN), 0);
  CHECK_EQ(grove_msg_pack_double(m, 2.5), 0);
  CHECK_EQ(grove_msg_pack_str(m, "hello"), 0);
  CHECK_EQ(grove_msg_pack_str(m, ""), 0);
  CHECK_EQ(grove_msg_pack_bin(m, bin, sizeof bin), 0);
  CHECK_EQ(grove_msg_pack_bin(m, NULL, 0), 0);
  CHECK_EQ(grove_msg_pack_ref(m, r), 0);
  CHECK_EQ(grove_msg_pack_nil(m), 0);
  CHECK_EQ(grove_msg_count(m), 11);

  int64_t i = 0;
  CHECK_EQ(grove_msg_int(m, 0, &i), 0);
  CHECK_EQ(i, 42);
  CHECK_EQ(grove_msg_int(m, 1, &i), 0);
  CHECK_EQ(i, -5);
  CHECK_EQ(grove_msg_int(m, 2, &i), 0);
  CHECK(i == INT64_MAX);
  CHECK_EQ(grove_msg_int(m, 3, &i), 0);
  CHECK(i == INT64_MIN);
  double d = 0;
  CHECK_EQ(grove_msg_double(m, 4, &d), 0);
  CHECK(d == 2.5);
  const char *s = NULL;
  size_t len = 0;
  CHECK_EQ(grove_msg_str(m, 5, &s, &len), 0);
  CHECK_EQ(len, 5);
  CHECK(s && memcmp(s, "hello", 5) == 0);
  CHECK_EQ(grove_msg_str(m, 6, &s, &len), 0);
  CHECK_EQ(len, 0);
  const void *data = NULL;
  CHECK_EQ(grove_msg_bin(m, 7, &data, &len), 0);
  CHECK_EQ(len, 5);
  CHECK(data && memcmp(data, bin, 5) == 0);
  CHECK_EQ(grove_msg_bin(m, 8, &data, &len), 0);
  CHECK_EQ(len, 0);
  grove_ref back = GROVE_REF_NULL;
  CHECK_EQ(grove_msg_ref(m, 9, &back), 0);
  CHECK(grove_ref_eq(back, r));
  msgpack_object o;
  CHECK_EQ(grove_msg_get(m, 10, &o), 0);
  CHECK_EQ(o.type, MSGPACK_OBJECT_NIL);
  CHECK_EQ(grove_msg_get(m, 5, &o), 0);
  CHECK_EQ(o.type, MSGPACK_OBJECT_STR);

  /* Output pointers may be NULL: the type is still checked. */
  CHECK_EQ(grove_msg_int(m, 0, NULL), 0);
  CHECK_EQ(grove_msg_str(m, 5, NULL, NULL), 0);
  CHECK_EQ(grove_msg_ref(m, 9, NULL), 0);

  /* Reading twice gives the same values (unpacked once). */
  CHECK_EQ(grove_msg_count(m), 11);
  CHECK_EQ(grove_msg_int(m, 0, &i), 0);
  CHECK_EQ(i, 42);
  grove_msg_free(m);
}

static void test_wrong_type_and_past_end(void) {
  grove_msg *m = grove_msg_new("types");
  grove_msg_pack_int(m, 1);
  grove_msg_pack_str(m, "s");
  grove_msg_pack_nil(m);
  grove_msg_pack_bin(m, "b", 1);
  grove_msg_pack_ref(m, (grove_ref){0, 1, 1});
  grove_msg_pack_double(m, 1.5);
  int64_t i = 77;
  double d;
  const char *s;
  const void *b;
  size_t len;
  grove_ref r;
  CHECK_EQ(grove_msg_int(m, 1, &i), GROVE_EINVAL);
  CHECK_EQ(grove_msg_int(m, 2, &i), GROVE_EINVAL);
  CHECK_EQ(grove_msg_int(m, 4, &i), GROVE_EINVAL);
  CHECK_EQ(grove_msg_int(m, 5, &i), GROVE_EINVAL);
  CHECK_EQ(i, 77); /* untouched */
  CHECK_EQ(grove_msg_double(m, 1, &d), GROVE_EINVAL);
  CHECK_EQ(grove_msg_double(m, 2, &d), GROVE_EINVAL);
  CHECK_EQ(grove_msg_str(m, 0, &s, &len), GROVE_EINVAL);
  CHECK_EQ(grove_msg_str(m, 3, &s, &len), GROVE_EINVAL); /* bin is not str */
  CHECK_EQ(grove_msg_bin(m, 1, &b, &len), GROVE_EINVAL); /* str is not bin */
  CHECK_EQ(grove_msg_bin(m, 2, &b, &len), GROVE_EINVAL);
  CHECK_EQ(grove_msg_ref(m, 0, &r), GROVE_EINVAL);
  CHECK_EQ(grove_msg_ref(m, 3, &r), GROVE_EINVAL);
  msgpack_object o;
  CHECK_EQ(grove_msg_count(m), 6);
  CHECK_EQ(grove_msg_get(m, 6, &o), GROVE_ENOENT);
  CHECK_EQ(grove_msg_get(m, (size_t)-1, &o), GROVE_ENOENT);
  CHECK_EQ(grove_msg_int(m, 6, &i), GROVE_ENOENT);
  CHECK_EQ(grove_msg_str(m, 100, &s, &len), GROVE_ENOENT);
  CHECK_EQ(grove_msg_ref(m, 6, &r), GROVE_ENOENT);
  CHECK_EQ(grove_msg_get(m, 0, NULL), GROVE_EINVAL);
  grove_msg_free(m);

  /* An empty body: nothing to read. */
  m = grove_msg_new("empty");
  CHECK_EQ(grove_msg_count(m), 0);
  CHECK_EQ(grove_msg_get(m, 0, &o), GROVE_ENOENT);
  CHECK_EQ(grove_msg_int(m, 0, &i), GROVE_ENOENT);
  grove_msg_free(m);
}

static void test_bad_pack_args(void) {
  CHECK_EQ(grove_msg_pack_int(NULL, 1), GROVE_EINVAL);
  CHECK_EQ(grove_msg_pack_double(NULL, 1), GROVE_EINVAL);
  CHECK_EQ(grove_msg_pack_nil(NULL), GROVE_EINVAL);
  CHECK_EQ(grove_msg_pack_str(NULL, "x"), GROVE_EINVAL);
  CHECK_EQ(grove_msg_pack_bin(NULL, "x", 1), GROVE_EINVAL);
  CHECK_EQ(grove_msg_pack_ref(NULL, GROVE_REF_NULL), GROVE_EINVAL);
  CHECK(grove_msg_packer(NULL) == NULL);
  grove_msg *m = grove_msg_new("bad");
  CHECK_EQ(grove_msg_pack_str(m, NULL), GROVE_EINVAL);
  CHECK_EQ(grove_msg_pack_bin(m, NULL, 3), GROVE_EINVAL);
  CHECK_EQ(grove_msg_count(m), 0); /* nothing was written */
  size_t len = 9;
  grove_msg_body(m, &len);
  CHECK_EQ(len, 0);
  grove_msg_free(m);
}

/* The body is the plain msgpack stream the sender packed (no wrapping). */
static void test_body_bytes(void) {
  grove_msg *m = grove_msg_new("bytes");
  grove_msg_pack_int(m, 1);
  grove_msg_pack_int(m, -1);
  grove_msg_pack_nil(m);
  grove_msg_pack_str(m, "ab");
  grove_msg_pack_ref(m, (grove_ref){0x01020304u, 0x05060708u, 0x090a0b0c0d0e0f10ull});
  size_t len = 0;
  const unsigned char *p = grove_msg_body(m, &len);
  static const unsigned char want[] = {
      0x01, 0xff, 0xc0, 0xa2, 'a',  'b',  0xd8, 0x01, /* fixext16, type 1 */
      0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
      0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10};
  CHECK_EQ(len, sizeof want);
  CHECK(p && len == sizeof want && memcmp(p, want, sizeof want) == 0);
  grove_msg_free(m);
}

/* msgpack-c's packer writes into the body: arrays, maps, anything. */
static void test_packer_arrays_and_maps(void) {
  grove_msg *m = grove_msg_new("structured");
  msgpack_packer *pk = grove_msg_packer(m);
  CHECK(pk != NULL);
  msgpack_pack_array(pk, 3);
  msgpack_pack_int(pk, 1);
  msgpack_pack_str_with_body(pk, "two", 3);
  msgpack_pack_array(pk, 0);
  msgpack_pack_map(pk, 2);
  msgpack_pack_str_with_body(pk, "k", 1);
  msgpack_pack_double(pk, 0.25);
  msgpack_pack_int(pk, 9);
  msgpack_pack_true(pk);
  CHECK_EQ(grove_msg_pack_int(m, 5), 0); /* mixing with the helpers */
  CHECK_EQ(grove_msg_count(m), 3);
  msgpack_object o;
  CHECK_EQ(grove_msg_get(m, 0, &o), 0);
  CHECK_EQ(o.type, MSGPACK_OBJECT_ARRAY);
  CHECK_EQ(o.via.array.size, 3);
  if (o.type == MSGPACK_OBJECT_ARRAY && o.via.array.size == 3) {
    CHECK_EQ(o.via.array.ptr[0].type, MSGPACK_OBJECT_POSITIVE_INTEGER);
    CHECK_EQ(o.via.array.ptr[0].via.u64, 1);
    CHECK_EQ(o.via.array.ptr[1].type, MSGPACK_OBJECT_STR);
    CHECK(o.via.array.ptr[1].via.str.size == 3 &&
          memcmp(o.via.array.ptr[1].via.str.ptr, "two", 3) == 0);
    CHECK_EQ(o.via.array.ptr[2].type, MSGPACK_OBJECT_ARRAY);
    CHECK_EQ(o.via.array.ptr[2].via.array.size, 0);
  }
  CHECK_EQ(grove_msg_get(m, 1, &o), 0);
  CHECK_EQ(o.type, MSGPACK_OBJECT_MAP);
  CHECK_EQ(o.via.map.size, 2);
  if (o.type == MSGPACK_OBJECT_MAP && o.via.map.size == 2) {
    CHECK_EQ(o.via.map.ptr[0].key.type, MSGPACK_OBJECT_STR);
    CHECK_EQ(o.via.map.ptr[0].val.type, MSGPACK_OBJECT_FLOAT64);
    CHECK(o.via.map.ptr[0].val.via.f64 == 0.25);
    CHECK_EQ(o.via.map.ptr[1].key.via.u64, 9);
    CHECK_EQ(o.via.map.ptr[1].val.type, MSGPACK_OBJECT_BOOLEAN);
    CHECK(o.via.map.ptr[1].val.via.boolean);
  }
  /* An array is not an int, a map is not a str. */
  int64_t i;
  CHECK_EQ(grove_msg_int(m, 0, &i), GROVE_EINVAL);
  CHECK_EQ(grove_msg_str(m, 1, NULL, NULL), GROVE_EINVAL);
  CHECK_EQ(grove_msg_int(m, 2, &i), 0);
  CHECK_EQ(i, 5);

  /* Packing after reading: the new object is seen. */
  CHECK_EQ(grove_msg_pack_str(m, "more"), 0);
  CHECK_EQ(grove_msg_count(m), 4);
  CHECK_EQ(grove_msg_str(m, 3, NULL, NULL), 0);
  grove_msg_free(m);
}

/* Many objects in one body (the reader's object table grows). */
static void test_many_objects(void) {
  grove_msg *m = grove_msg_new("many");
  for (int k = 0; k < 1000; k++)
    CHECK_EQ(grove_msg_pack_int(m, k * 3), 0);
  CHECK_EQ(grove_msg_count(m), 1000);
  int bad = 0;
  for (int k = 0; k < 1000; k++)
    bad += msg_int_at(m, (size_t)k) != k * 3;
  CHECK_EQ(bad, 0);
  grove_msg_free(m);
}

/* A body that is not valid msgpack (written raw through the packer, as a
 * buggy or hostile peer could send it): count is 0 and every reader returns
 * an error instead of crashing. */
static void check_bad_body(grove_msg *m, const char *what) {
  msgpack_object o;
  int64_t i;
  const char *s;
  size_t len;
  grove_ref r;
  if (grove_msg_count(m) != 0)
    fprintf(stderr, "bad body '%s': count %zu\n", what, grove_msg_count(m));
  CHECK_EQ(grove_msg_count(m), 0);
  CHECK_EQ(grove_msg_get(m, 0, &o), GROVE_EINVAL);
  CHECK_EQ(grove_msg_get(m, 1, &o), GROVE_EINVAL);
  CHECK_EQ(grove_msg_int(m, 0, &i), GROVE_EINVAL);
  CHECK_EQ(grove_msg_str(m, 0, &s, &len), GROVE_EINVAL);
  CHECK_EQ(grove_msg_ref(m, 0, &r), GROVE_EINVAL);
  CHECK_EQ(grove_msg_count(m), 0); /* again: same answer */
}

static void test_invalid_bodies(void) {
  /* A str header announcing 10 bytes, and no bytes. */
  grove_msg *m = grove_msg_new("bad");
  msgpack_pack_str(grove_msg_packer(m), 10);
  check_bad_body(m, "str without body");
  grove_msg_free(m);

  /* A valid int, then a truncated bin. */
  m = grove_msg_new("bad");
  grove_msg_pack_int(m, 1);
  msgpack_pack_bin(grove_msg_packer(m), 1000);
  msgpack_pack_bin_body(grove_msg_packer(m), "abc", 3);
  check_bad_body(m, "truncated bin");
  grove_msg_free(m);

  /* An array announcing 5 elements holding 2. */
  m = grove_msg_new("bad");
  msgpack_pack_array(grove_msg_packer(m), 5);
  msgpack_pack_int(grove_msg_packer(m), 1);
  msgpack_pack_int(grove_msg_packer(m), 2);
  check_bad_body(m, "short array");
  grove_msg_free(m);

  /* A map missing a value. */
  m = grove_msg_new("bad");
  msgpack_pack_map(grove_msg_packer(m), 1);
  msgpack_pack_int(grove_msg_packer(m), 1);
  check_bad_body(m, "map without value");
  grove_msg_free(m);

  /* 0xc1: a byte msgpack never uses. */
  m = grove_msg_new("bad");
  msgpack_pack_str_body(grove_msg_packer(m), "\xc1", 1);
  check_bad_body(m, "0xc1");
  grove_msg_free(m);

  /* An ext header announcing a 16-byte ref and 3 bytes of it. */
  m = grove_msg_new("bad");
  msgpack_pack_ext(grove_msg_packer(m), 16, GROVE_MSGPACK_EXT_REF);
  msgpack_pack_ext_body(grove_msg_packer(m), "abc", 3);
  check_bad_body(m, "truncated ref");
  grove_msg_free(m);

  /* A str32 header announcing 4 GiB. */
  m = grove_msg_new("bad");
  msgpack_pack_str_body(grove_msg_packer(m), "\xdb\xff\xff\xff\xff", 5);
  check_bad_body(m, "str32 4GiB");
  grove_msg_free(m);

  /* A lone array16 header announcing 65535 elements. */
  m = grove_msg_new("bad");
  msgpack_pack_str_body(grove_msg_packer(m), "\xdc\xff\xff", 3);
  check_bad_body(m, "array16 header");
  grove_msg_free(m);
}

/* A bad body read, then completed by more writes, is read again (the
 * message does not remember stale results). */
static void test_bad_body_then_fixed(void) {
  grove_msg *m = grove_msg_new("fix");
  msgpack_pack_str(grove_msg_packer(m), 3);
  CHECK_EQ(grove_msg_count(m), 0);
  msgpack_pack_str_body(grove_msg_packer(m), "abc", 3);
  CHECK_EQ(grove_msg_count(m), 1);
  const char *s = NULL;
  size_t len = 0;
  CHECK_EQ(grove_msg_str(m, 0, &s, &len), 0);
  CHECK(len == 3 && s && memcmp(s, "abc", 3) == 0);
  grove_msg_free(m);
}

/* An ext that is not a ref (other type, other size) is not read as one. */
static void test_ref_ext_checked(void) {
  grove_msg *m = grove_msg_new("ext");
  char b16[16] = {0};
  msgpack_pack_ext_with_body(grove_msg_packer(m), b16, 16, 2); /* type 2 */
  msgpack_pack_ext_with_body(grove_msg_packer(m), b16, 8, GROVE_MSGPACK_EXT_REF);
  msgpack_pack_ext_with_body(grove_msg_packer(m), b16, 16, GROVE_MSGPACK_EXT_REF);
  grove_ref r = {9, 9, 9};
  CHECK_EQ(grove_msg_count(m), 3);
  CHECK_EQ(grove_msg_ref(m, 0, &r), GROVE_EINVAL);
  CHECK_EQ(grove_msg_ref(m, 1, &r), GROVE_EINVAL);
  CHECK_EQ(grove_msg_ref(m, 2, &r), 0);
  CHECK(grove_ref_is_null(r));
  grove_msg_free(m);
}

/* Deep nesting in a hostile body: an error or a value, never a crash. */
static void test_deep_nesting(void) {
  grove_msg *m = grove_msg_new("deep");
  for (int k = 0; k < 10000; k++)
    msgpack_pack_array(grove_msg_packer(m), 1);
  msgpack_pack_nil(grove_msg_packer(m));
  size_t n = grove_msg_count(m);
  CHECK(n <= 1);
  msgpack_object o;
  int rc = grove_msg_get(m, 0, &o);
  CHECK(rc == 0 || rc == GROVE_EINVAL);
  grove_msg_free(m);
}

/* ---- blobs ---------------------------------------------------------------- */

static int blob_frees;
static void *blob_freed_ptr;
static void count_free(void *p) {
  blob_frees++;
  blob_freed_ptr = p;
  test_log("free");
  free(p);
}

static void test_blob_free_once(void) {
  blob_frees = 0;
  grove_msg *m = grove_msg_new("blob");
  void *data = malloc(100);
  CHECK_EQ(grove_msg_set_blob(m, data, 100, count_free), 0);
  size_t len = 0;
  CHECK(grove_msg_blob(m, &len) == data);
  CHECK_EQ(len, 100);
  CHECK_EQ(blob_frees, 0);
  grove_msg_free(m);
  CHECK_EQ(blob_frees, 1);
  CHECK(blob_freed_ptr == data);

  /* Replacing a blob frees the old one, once. */
  blob_frees = 0;
  m = grove_msg_new("blob");
  void *d1 = malloc(1), *d2 = malloc(2);
  CHECK_EQ(grove_msg_set_blob(m, d1, 1, count_free), 0);
  CHECK_EQ(grove_msg_set_blob(m, d2, 2, count_free), 0);
  CHECK_EQ(blob_frees, 1);
  CHECK(blob_freed_ptr == d1);
  grove_msg_free(m);
  CHECK_EQ(blob_frees, 2);
  CHECK(blob_freed_ptr == d2);

  /* Bad arguments; a blob without free_fn stays the caller's. */
  static char stat_data[4];
  m = grove_msg_new("blob");
  CHECK_EQ(grove_msg_set_blob(m, NULL, 5, count_free), GROVE_EINVAL);
  CHECK_EQ(grove_msg_set_blob(NULL, stat_data, 4, NULL), GROVE_EINVAL);
  CHECK_EQ(grove_msg_set_blob(m, stat_data, 4, NULL), 0);
  CHECK(grove_msg_blob(m, &len) == stat_data);
  grove_msg_free(m);
  CHECK_EQ(blob_frees, 2);

  /* A recycled message starts clean: no blob, no body, not a call. */
  m = grove_msg_new("fresh");
  CHECK(grove_msg_blob(m, &len) == NULL);
  CHECK_EQ(len, 0);
  CHECK_EQ(grove_msg_count(m), 0);
  CHECK(!grove_msg_is_call(m));
  grove_msg_free(m);
  CHECK_EQ(blob_frees, 2);
}

/* A blob travels by pointer to the receiver and is freed once, after
 * receive, when grove frees the message. */
static void *blob_seen;
static int blob_receive(grove_actor *self, grove_msg *msg) {
  if (grove_msg_is(msg, "stop"))
    return GROVE_STOP;
  size_t len = 0;
  blob_seen = grove_msg_blob(msg, &len);
  test_log("recv:%zu frees=%d", len, blob_frees);
  return 0;
}
static const grove_actor_class blob_class = {
    .name = "blob", .size = sizeof(grove_actor), .receive = blob_receive};

static void test_blob_send(void) {
  blob_frees = 0;
  grove_ref a = grove_actor_spawn(&blob_class, NULL);
  grove_msg *m = grove_msg_new("blob");
  void *data = malloc(64);
  grove_msg_set_blob(m, data, 64, count_free);
  CHECK_EQ(grove_send(a, m), 0);
  settle();
  CHECK(blob_seen == data);
  CHECK_EQ(blob_frees, 1);
  CHECK_LOG("recv:64 frees=0 free");
  CHECK_EQ(send_tag(a, "stop"), 0);
  CHECK_EQ(grove_actor_wait(a, NULL, 5.0), 0);

  /* To a dead actor: freed once, as a dead letter. */
  m = grove_msg_new("blob");
  grove_msg_set_blob(m, malloc(8), 8, count_free);
  CHECK_EQ(grove_send(a, m), GROVE_ENOENT);
  CHECK_EQ(blob_frees, 2);
}

/* ---- grove_msg_take ------------------------------------------------------- */

/* A keeper takes messages and keeps them in its state; a forwarder takes and
 * resends them; grove frees neither after receive. */
typedef struct keeper {
  grove_actor base;
  grove_msg *kept;
  grove_ref next;
} keeper;

static grove_msg *forwarded_ptr, *arrived_ptr;

static int keeper_init(grove_actor *self, void *arg) {
  keeper *k = (keeper *)self;
  if (arg)
    k->next = *(grove_ref *)arg;
  return 0;
}

static int keeper_receive(grove_actor *self, grove_msg *msg) {
  keeper *k = (keeper *)self;
  if (grove_msg_is(msg, "stop"))
    return GROVE_STOP;
  if (grove_msg_is(msg, "keep")) {
    grove_msg_free(k->kept);
    CHECK(grove_msg_take(msg) == msg);
    k->kept = msg;
    return 0;
  }
  if (grove_msg_is(msg, "show")) {
    test_log("kept:%s:%lld", k->kept ? grove_msg_tag(k->kept) : "-",
             k->kept ? (long long)msg_int_at(k->kept, 0) : -1LL);
    return 0;
  }
  if (grove_msg_is(msg, "fwd")) {
    if (!grove_ref_is_null(k->next)) {
      forwarded_ptr = msg;
      CHECK_EQ(grove_send(k->next, grove_msg_take(msg)), 0);
    } else {
      arrived_ptr = msg;
      test_log("arrived:%lld from-fwd=%d", (long long)msg_int_at(msg, 0),
               !grove_ref_is_null(grove_msg_sender(msg)));
    }
    return 0;
  }
  if (grove_msg_is(msg, "take-free")) {
    grove_msg_free(grove_msg_take(msg));
    return 0;
  }
  return 0;
}

static void keeper_terminate(grove_actor *self, int reason) {
  keeper *k = (keeper *)self;
  grove_msg_free(k->kept);
}

static const grove_actor_class keeper_class = {.name = "keeper",
                                               .size = sizeof(keeper),
                                               .init = keeper_init,
                                               .receive = keeper_receive,
                                               .terminate = keeper_terminate};

static grove_ref keeper_next; /* main's static: safe to hand over */

static void test_msg_take(void) {
  grove_ref last = grove_actor_spawn(&keeper_class, NULL);
  keeper_next = last;
  grove_ref first = grove_actor_spawn(&keeper_class, &keeper_next);
  CHECK_EQ(grove_send(first, msg_int("keep", 11)), 0);
  CHECK_EQ(grove_send(first, msg_int("other", 0)), 0);
  CHECK_EQ(send_tag(first, "show"), 0);
  CHECK_EQ(grove_send(first, msg_int("keep", 12)), 0); /* frees the first kept */
  CHECK_EQ(send_tag(first, "show"), 0);
  CHECK_EQ(grove_send(first, msg_int("fwd", 99)), 0);
  CHECK_EQ(send_tag(first, "take-free"), 0);
  settle();
  CHECK_LOG("kept:keep:11 kept:keep:12 arrived:99 from-fwd=1");
  CHECK(forwarded_ptr != NULL && forwarded_ptr == arrived_ptr); /* no copy */
  CHECK_EQ(send_tag(first, "stop"), 0);
  CHECK_EQ(send_tag(last, "stop"), 0);
  CHECK_EQ(grove_actor_wait(first, NULL, 5.0), 0);
  await_end(last);
}

/* Reading a body's objects in order costs O(1) each: 100,000 ints read by
 * index, forwards, in well under a second (quadratic: minutes). Going back
 * starts again from the front and still reads right. */
static void test_read_in_order_is_linear(void) {
  enum { N = 100000 };
  grove_msg *m = grove_msg_new("ints");
  for (int k = 0; k < N; k++)
    CHECK_EQ(grove_msg_pack_int(m, (int64_t)k * 7 - 3), 0);
  double t0 = test_now();
  int bad = 0;
  for (int k = 0; k < N; k++) {
    int64_t v = 0;
    bad += grove_msg_int(m, (size_t)k, &v) != 0 || v != (int64_t)k * 7 - 3;
  }
  double took = test_now() - t0;
  CHECK_EQ(bad, 0);
  printf("     %d ints read in order in %.1f ms\n", N, took * 1e3);
  CHECK(took < 1.0);
  /* Every 5th of them, then backwards: the cursor never gives a wrong one. */
  for (int k = 0; k < N && !bad; k += 5) {
    int64_t v = 0;
    bad += grove_msg_int(m, (size_t)k, &v) != 0 || v != (int64_t)k * 7 - 3;
  }
  for (int k = 100; k >= 0; k--) {
    int64_t v = 0;
    bad += grove_msg_int(m, (size_t)k, &v) != 0 || v != (int64_t)k * 7 - 3;
  }
  int64_t v;
  CHECK_EQ(grove_msg_int(m, N, &v), GROVE_ENOENT);
  CHECK_EQ(bad, 0);
  /* Appending keeps the cursor right. */
  CHECK_EQ(grove_msg_pack_str(m, "end"), 0);
  const char *s;
  size_t len;
  CHECK_EQ(grove_msg_str(m, N, &s, &len), 0);
  CHECK(len == 3 && memcmp(s, "end", 3) == 0);
  grove_msg_free(m);
}

/* Maps and arrays built with the builders, read by key and by index. */
static void test_builders_and_keys(void) {
  grove_ref r = {0, 3, 99};
  grove_msg *m = grove_msg_new("user");
  CHECK_EQ(grove_msg_pack_str(m, "header"), 0);
  CHECK_EQ(grove_msg_pack_map(m, 7), 0);
  CHECK_EQ(grove_msg_pack_kv_str(m, "user", "ada"), 0);
  CHECK_EQ(grove_msg_pack_kv_int(m, "age", 36), 0);
  CHECK_EQ(grove_msg_pack_kv_double(m, "score", 9.5), 0);
  CHECK_EQ(grove_msg_pack_kv_bool(m, "admin", true), 0);
  CHECK_EQ(grove_msg_pack_kv_bin(m, "key", "\x00\x01", 2), 0);
  CHECK_EQ(grove_msg_pack_kv_ref(m, "owner", r), 0);
  CHECK_EQ(grove_msg_pack_str(m, "langs"), 0);
  CHECK_EQ(grove_msg_pack_array(m, 2), 0);
  CHECK_EQ(grove_msg_pack_str(m, "c"), 0);
  CHECK_EQ(grove_msg_pack_map(m, 1), 0);
  CHECK_EQ(grove_msg_pack_kv_str(m, "name", "erlang"), 0);
  CHECK_EQ(grove_msg_pack_uint(m, UINT64_MAX), 0);
  CHECK_EQ(grove_msg_pack_bool(m, false), 0);
  CHECK_EQ(grove_msg_count(m), 4);

  char name[8];
  CHECK_EQ(grove_msg_key_str_copy(m, 1, "user", name, sizeof name), 0);
  CHECK_STR(name, "ada");
  int64_t age = 0;
  CHECK_EQ(grove_msg_key_int(m, 1, "age", &age), 0);
  CHECK_EQ(age, 36);
  double score = 0;
  CHECK_EQ(grove_msg_key_double(m, 1, "score", &score), 0);
  CHECK(score == 9.5);
  bool admin = false;
  CHECK_EQ(grove_msg_key_bool(m, 1, "admin", &admin), 0);
  CHECK(admin);
  const void *kb;
  size_t klen;
  CHECK_EQ(grove_msg_key_bin(m, 1, "key", &kb, &klen), 0);
  CHECK(klen == 2 && memcmp(kb, "\x00\x01", 2) == 0);
  grove_ref got;
  CHECK_EQ(grove_msg_key_ref(m, 1, "owner", &got), 0);
  CHECK(grove_ref_eq(got, r));
  /* Out of order, missing, wrong type, not a map. */
  CHECK_EQ(grove_msg_key_int(m, 1, "age", &age), 0);
  CHECK_EQ(grove_msg_key_int(m, 1, "nope", &age), GROVE_ENOENT);
  CHECK_EQ(grove_msg_key_int(m, 1, "user", &age), GROVE_EINVAL);
  CHECK_EQ(grove_msg_key_int(m, 0, "user", &age), GROVE_EINVAL);
  CHECK_EQ(grove_msg_key_int(m, 9, "user", &age), GROVE_ENOENT);
  CHECK_EQ(grove_msg_key_str_copy(m, 1, "user", name, 3), GROVE_ERANGE);
  CHECK_STR(name, "");

  /* Nested: langs[1].name through the object views. */
  msgpack_object langs, second, lang;
  CHECK_EQ(grove_msg_key(m, 1, "langs", &langs), 0);
  CHECK_EQ(grove_obj_len(&langs), 2);
  CHECK_EQ(grove_obj_at(&langs, 1, &second), 0);
  CHECK_EQ(grove_obj_at(&langs, 2, &second), GROVE_ENOENT);
  CHECK_EQ(grove_obj_at(&langs, 1, &second), 0);
  CHECK_EQ(grove_obj_len(&second), 1);
  CHECK_EQ(grove_obj_key(&second, "name", &lang), 0);
  char *dup = NULL;
  CHECK_EQ(grove_obj_str_dup(&lang, &dup), 0);
  CHECK_STR(dup, "erlang");
  free(dup);
  CHECK_EQ(grove_obj_key(&second, "nom", &lang), GROVE_ENOENT);
  CHECK_EQ(grove_obj_key(&langs, "name", &lang), GROVE_EINVAL); /* an array */
  CHECK_EQ(grove_obj_at(&second, 0, &lang), GROVE_EINVAL);      /* a map */

  uint64_t u = 0;
  CHECK_EQ(grove_msg_uint(m, 2, &u), 0);
  CHECK(u == UINT64_MAX);
  int64_t i;
  CHECK_EQ(grove_msg_int(m, 2, &i), GROVE_EOVERFLOW);
  bool b = true;
  CHECK_EQ(grove_msg_bool(m, 3, &b), 0);
  CHECK(!b);
  CHECK_EQ(grove_msg_bool(m, 2, &b), GROVE_EINVAL);
  grove_msg_free(m);

  /* A negative int is no uint; NULL keys and messages are refused. */
  m = grove_msg_new("neg");
  CHECK_EQ(grove_msg_pack_int(m, -1), 0);
  CHECK_EQ(grove_msg_uint(m, 0, &u), GROVE_EOVERFLOW);
  CHECK_EQ(grove_msg_pack_kv_int(m, NULL, 1), GROVE_EINVAL);
  CHECK_EQ(grove_msg_pack_kv_str(m, "k", NULL), GROVE_EINVAL);
  CHECK_EQ(grove_msg_count(m), 1); /* the failed pair left no lone key */
  CHECK_EQ(grove_msg_pack_kv_int(NULL, "k", 1), GROVE_EINVAL);
  CHECK_EQ(grove_msg_key(m, 0, NULL, &langs), GROVE_EINVAL);
  CHECK_EQ(grove_obj_int(NULL, &i), GROVE_EINVAL);
  grove_msg_free(m);

  /* Empty keys and strings (msgpack may give them no pointer at all). */
  m = grove_msg_new("empty");
  CHECK_EQ(grove_msg_pack_map(m, 2), 0);
  CHECK_EQ(grove_msg_pack_kv_int(m, "", 7), 0);
  CHECK_EQ(grove_msg_pack_kv_str(m, "s", ""), 0);
  CHECK_EQ(grove_msg_key_int(m, 0, "", &i), 0);
  CHECK_EQ(i, 7);
  char e[4] = "xyz";
  CHECK_EQ(grove_msg_key_str_copy(m, 0, "s", e, sizeof e), 0);
  CHECK_STR(e, "");
  CHECK_EQ(grove_msg_key_int(m, 0, "x", &i), GROVE_ENOENT);
  grove_msg_free(m);
}

/* Reading map keys in the order they were packed costs O(1) each. */
static void test_keys_in_order_are_linear(void) {
  enum { N = 20000 };
  grove_msg *m = grove_msg_new("wide");
  char key[16];
  CHECK_EQ(grove_msg_pack_map(m, N), 0);
  for (int k = 0; k < N; k++) {
    snprintf(key, sizeof key, "k%d", k);
    CHECK_EQ(grove_msg_pack_kv_int(m, key, k), 0);
  }
  double t0 = test_now();
  int bad = 0;
  for (int k = 0; k < N; k++) {
    int64_t v = -1;
    snprintf(key, sizeof key, "k%d", k);
    bad += grove_msg_key_int(m, 0, key, &v) != 0 || v != k;
  }
  double took = test_now() - t0;
  CHECK_EQ(bad, 0);
  printf("     %d keys read in order in %.1f ms\n", N, took * 1e3);
  CHECK(took < 1.0); /* a scan from the front per key: 200 M comparisons */
  grove_msg_free(m);
}

/* C strings: the copies refuse what a C string cannot hold, and what does
 * not fit. */
static void test_str_copies(void) {
  grove_msg *m = grove_msg_new("strs");
  CHECK_EQ(grove_msg_pack_str(m, "hello"), 0);
  CHECK_EQ(grove_msg_pack_bin(m, "x", 1), 0);
  msgpack_packer *pk = grove_msg_packer(m);
  msgpack_pack_str_with_body(pk, "a\0b", 3);
  CHECK_EQ(grove_msg_pack_str(m, ""), 0);
  char buf[6];
  CHECK_EQ(grove_msg_str_copy(m, 0, buf, sizeof buf), 0);
  CHECK_STR(buf, "hello");
  CHECK_EQ(grove_msg_str_copy(m, 0, buf, 5), GROVE_ERANGE); /* no room for the NUL */
  CHECK_STR(buf, "");
  CHECK_EQ(grove_msg_str_copy(m, 1, buf, sizeof buf), GROVE_EINVAL); /* a bin */
  CHECK_EQ(grove_msg_str_copy(m, 2, buf, sizeof buf), GROVE_EINVAL); /* a NUL inside */
  CHECK_EQ(grove_msg_str_copy(m, 3, buf, sizeof buf), 0);
  CHECK_STR(buf, "");
  CHECK_EQ(grove_msg_str_copy(m, 4, buf, sizeof buf), GROVE_ENOENT);
  CHECK_EQ(grove_msg_str_copy(m, 0, buf, 0), GROVE_EINVAL);
  CHECK_EQ(grove_msg_str_copy(m, 0, NULL, 4), GROVE_EINVAL);
  char *d = (char *)1;
  CHECK_EQ(grove_msg_str_dup(m, 0, &d), 0);
  CHECK_STR(d, "hello");
  free(d);
  CHECK_EQ(grove_msg_str_dup(m, 2, &d), GROVE_EINVAL);
  CHECK(d == NULL);
  CHECK_EQ(grove_msg_str_dup(m, 0, NULL), GROVE_EINVAL);
  grove_msg_free(m);
}

TEST_MAIN(TEST(test_tags), TEST(test_pack_and_read_scalars), TEST(test_wrong_type_and_past_end),
          TEST(test_bad_pack_args), TEST(test_body_bytes), TEST(test_packer_arrays_and_maps),
          TEST(test_many_objects), TEST(test_invalid_bodies), TEST(test_bad_body_then_fixed),
          TEST(test_ref_ext_checked), TEST(test_deep_nesting), TEST(test_blob_free_once),
          TEST(test_blob_send), TEST(test_msg_take), TEST(test_read_in_order_is_linear),
          TEST(test_builders_and_keys), TEST(test_keys_in_order_are_linear), TEST(test_str_copies))
