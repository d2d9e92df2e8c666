/* messages.c - a message is a tag and a msgpack body: packed once by the
 * sender, read by the receiver as msgpack_object. */
#include <grove.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct inspector {
  grove_actor base;
  grove_msg *kept; /* taken with grove_msg_take: ours to free */
};

static int inspector_receive(grove_actor *self, grove_msg *msg) {
  struct inspector *in = (struct inspector *)self;
  if (grove_msg_is(msg, "point")) {
    /* Typed readers: GROVE_EINVAL if the object has another type. */
    const char *name;
    size_t len;
    int64_t x, y;
    double w;
    if (grove_msg_str(msg, 0, &name, &len) != 0 || grove_msg_int(msg, 1, &x) != 0 ||
        grove_msg_int(msg, 2, &y) != 0 || grove_msg_double(msg, 3, &w) != 0)
      return 0; /* ignore a malformed message */
    /* Strings point into the message and are not NUL-terminated. */
    printf("point %.*s (%lld, %lld) weight %.2f\n", (int)len, name, (long long)x, (long long)y, w);
  } else if (grove_msg_is(msg, "event")) {
    /* Any msgpack: walk the objects. They live as long as the message. */
    size_t n = grove_msg_count(msg);
    printf("event with %zu objects:", n);
    for (size_t i = 0; i < n; i++) {
      msgpack_object o;
      grove_msg_get(msg, i, &o);
      printf(" ");
      msgpack_object_print(stdout, o);
    }
    printf("\n");
    /* A map by key, as a C string; and inside a nested value. */
    char user[16];
    msgpack_object tags, first;
    bool flag;
    if (grove_msg_key_str_copy(msg, 0, "user", user, sizeof user) == 0 &&
        grove_msg_key(msg, 0, "tags", &tags) == 0 && grove_obj_at(&tags, 0, &first) == 0 &&
        grove_obj_bool(&first, &flag) == 0)
      printf("  user is %s, first tag %s, %zu tags\n", user, flag ? "true" : "false",
             grove_obj_len(&tags));
  } else if (grove_msg_is(msg, "image")) {
    size_t len;
    const char *pixels = grove_msg_blob(msg, &len); /* local-only, not copied */
    printf("image: %zu bytes starting \"%.4s\", body %s\n", len, pixels,
           grove_msg_count(msg) == 0 ? "empty" : "not empty");
  } else if (grove_msg_is(msg, "keep")) {
    grove_msg_free(in->kept);
    in->kept = grove_msg_take(msg); /* grove will not free it when receive returns */
  } else if (grove_msg_is(msg, "show")) {
    int64_t v = 0;
    grove_msg_int(in->kept, 0, &v);
    printf("kept message: %s %lld\n", grove_msg_tag(in->kept), (long long)v);
  } else if (grove_msg_is(msg, "stop")) {
    return GROVE_STOP;
  }
  return 0;
}

static void inspector_terminate(grove_actor *self, int reason) {
  grove_msg_free(((struct inspector *)self)->kept);
}

static const grove_actor_class inspector_class = {
    .name = "inspector",
    .size = sizeof(struct inspector),
    .receive = inspector_receive,
    .terminate = inspector_terminate,
};

int main(void) {
  grove_ref in = grove_actor_spawn(&inspector_class, NULL);

  /* The helpers append one object each. */
  grove_msg *m = grove_msg_new("point");
  grove_msg_pack_str(m, "origin");
  grove_msg_pack_int(m, 3);
  grove_msg_pack_int(m, -4);
  grove_msg_pack_double(m, 0.5);
  grove_send(in, m); /* m now belongs to the receiver: do not touch it */

  /* Maps and arrays: the next values packed are their elements. */
  m = grove_msg_new("event");
  grove_msg_pack_map(m, 2);
  grove_msg_pack_kv_str(m, "user", "ana");
  grove_msg_pack_str(m, "tags"); /* a key whose value is an array */
  grove_msg_pack_array(m, 2);
  grove_msg_pack_bool(m, true);
  grove_msg_pack_nil(m);
  /* Anything else: msgpack-c's packer, writing into the same body. */
  msgpack_pack_int(grove_msg_packer(m), 42);
  size_t len;
  grove_msg_body(m, &len);
  printf("main: event body is %zu bytes of msgpack\n", len);
  grove_send(in, m);

  /* A blob: a pointer handed over with the message, freed with it. */
  m = grove_msg_new("image");
  char *pixels = malloc(1 << 20);
  memcpy(pixels, "PNG!", 4);
  grove_msg_set_blob(m, pixels, 1 << 20, free);
  grove_send(in, m);

  m = grove_msg_new("keep");
  grove_msg_pack_int(m, 7);
  grove_send(in, m);
  grove_send(in, grove_msg_new("show"));

  grove_send(in, grove_msg_new("stop"));
  int reason;
  int rc = grove_actor_wait(in, &reason, 1.0);
  return rc == 0 && grove_hub_close() == 0 ? 0 : 1;
}
