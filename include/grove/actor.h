/* grove/actor.h - actors: classes written in C, msgpack messages, send,
 * call/reply, the registry, monitors and links.
 *
 * An actor is a struct of yours whose first member is a grove_actor, and a
 * class table that says how big it is and how it receives:
 *
 *   struct counter { grove_actor base; long n; };
 *   static int counter_receive(grove_actor *self, grove_msg *msg) {
 *     struct counter *c = (struct counter *)self;
 *     if (grove_msg_is(msg, "add")) { int64_t k; grove_msg_int(msg, 0, &k); c->n += k; }
 *     return 0;                                 // GROVE_STOP ends the actor
 *   }
 *   static const grove_actor_class counter_class = {
 *     .name = "counter", .size = sizeof(struct counter), .receive = counter_receive};
 *   grove_ref c = grove_actor_spawn(&counter_class, NULL);
 *
 * Each actor processes its messages one at a time, in the order they
 * arrived, in a greenlet: receive may block (sleep, call another actor, wait
 * on a queue) like any greenlet. An actor with nothing to do holds no greenlet
 * and no stack; a message to it is run on a shared stack.
 *
 * Refs name actors by value (node, id, generation): a ref to an actor that
 * has ended never reaches another actor that reuses its slot. Sending to such
 * a ref is an error code and a counted "dead letter", never a crash.
 *
 * Messages are a tag (a short string) and a body: a sequence of msgpack
 * objects packed once by the sender (grove_msg_pack_* or msgpack-c's packer)
 * and read by the receiver as msgpack_object. A send hands the message over
 * (no copy); the same bytes would go to another process unchanged.
 *
 * Actors belong to the hub (thread) that spawned them. With several hubs
 * (grove/hubs.h) every call below works on refs of any hub of the process,
 * with the differences said at each call and in docs/actors.md, "Hubs".
 */
#ifndef GROVE_ACTOR_H
#define GROVE_ACTOR_H

#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "event.h"
#include "greenlet.h"
#include "group.h"
#include "queue.h"

#ifdef __cplusplus
extern "C" {
#endif

#pragma GCC visibility push(default)

/* ---- refs ------------------------------------------------------------------- */

typedef struct grove_ref {
  uint32_t node; /* 0: this process */
  uint32_t gen;  /* generation of the slot */
  uint64_t id;   /* slot; 0 is the null ref */
} grove_ref;

#define GROVE_REF_NULL ((grove_ref){0, 0, 0})

static inline bool grove_ref_is_null(grove_ref r) { return r.id == 0; }
static inline bool grove_ref_eq(grove_ref a, grove_ref b) {
  return a.node == b.node && a.gen == b.gen && a.id == b.id;
}

/* ---- exit reasons ------------------------------------------------------------ */

/* Why an actor ended. Non-negative reasons are these; a negative reason is a
 * GROVE_E* error code (receive or init returned it, or a linked actor failed
 * with it). Only GROVE_EXIT_NORMAL is not an error: links propagate every
 * other reason. */
#define GROVE_EXIT_NORMAL 0       /* receive returned GROVE_STOP */
#define GROVE_EXIT_SHUTDOWN 1     /* stopped by its supervisor or grove_actor_exit */
#define GROVE_EXIT_KILLED 2       /* grove_actor_exit(..., GROVE_EXIT_KILLED): cannot be trapped */
#define GROVE_EXIT_NOCONNECTION 3 /* its node became unreachable (transport) */

/* "normal", "shutdown", "killed", "noconnection", or grove_err_name(reason). */
const char *grove_exit_reason_name(int reason);

/* receive returns 0 to go on, GROVE_STOP to end the actor normally, or a
 * negative error code to end it with that reason. Any other value ends it
 * with GROVE_EINVAL (and says so on stderr). */
#define GROVE_STOP 1

/* ---- messages ------------------------------------------------------------------ */

typedef struct grove_msg grove_msg;

/* Tags of the messages grove itself sends to actors. Body of a down message:
 * [monitor id (int), the ref that ended (ref), reason (int)]; of an exit
 * message (trap_exits): [the ref that ended (ref), reason (int)]. */
#define GROVE_TAG_DOWN "grove.down"
#define GROVE_TAG_EXIT "grove.exit"
#define GROVE_MSG_TAG_MAX 63 /* bytes */

/* A new message with an empty body. NULL if tag is NULL, empty, longer than
 * GROVE_MSG_TAG_MAX, or memory ran out. The caller owns it until it is sent
 * (or freed). */
grove_msg *grove_msg_new(const char *tag);

/* Free a message the caller owns (NULL is ignored). */
void grove_msg_free(grove_msg *m);

const char *grove_msg_tag(const grove_msg *m);
bool grove_msg_is(const grove_msg *m, const char *tag);

/* The actor that sent it (the null ref if it was not sent from an actor). */
grove_ref grove_msg_sender(const grove_msg *m);

/* Whether it is a request sent with grove_call (and so expects a reply). */
bool grove_msg_is_call(const grove_msg *m);

/* Appending to the body. Return 0 or GROVE_ENOMEM / GROVE_EINVAL. A ref is a
 * msgpack ext value of type GROVE_MSGPACK_EXT_REF (16 bytes: node and gen as
 * big-endian uint32, id as big-endian uint64). */
#define GROVE_MSGPACK_EXT_REF 1
int grove_msg_pack_int(grove_msg *m, int64_t v);
int grove_msg_pack_double(grove_msg *m, double v);
int grove_msg_pack_str(grove_msg *m, const char *s);
int grove_msg_pack_bin(grove_msg *m, const void *data, size_t len);
int grove_msg_pack_ref(grove_msg *m, grove_ref r);
int grove_msg_pack_nil(grove_msg *m);

int grove_msg_pack_bool(grove_msg *m, bool v);
int grove_msg_pack_uint(grove_msg *m, uint64_t v);

/* Nested bodies. grove_msg_pack_array(m, n) starts an array of n elements,
 * grove_msg_pack_map(m, n) a map of n pairs: the next n values packed (2n
 * for a map: key, value, key, value...) are its elements, containers
 * included. grove_msg_pack_kv_* pack one pair of a map keyed by strings - the
 * key, then the value - and pack nothing if either fails. grove does not
 * count for you: a container given fewer elements than announced swallows
 * the objects packed after it, and the receiver's readers see a different
 * body (or GROVE_EINVAL when the body ends first). Return 0, GROVE_EINVAL
 * (NULL message, key or string) or GROVE_ENOMEM.
 *
 *   grove_msg_pack_map(m, 3);
 *   grove_msg_pack_kv_str(m, "user", "ada");
 *   grove_msg_pack_kv_int(m, "age", 36);
 *   grove_msg_pack_str(m, "langs");           // a key whose value is nested
 *   grove_msg_pack_array(m, 2);
 *   grove_msg_pack_str(m, "c");
 *   grove_msg_pack_str(m, "erlang");
 */
int grove_msg_pack_array(grove_msg *m, uint32_t n);
int grove_msg_pack_map(grove_msg *m, uint32_t n);
int grove_msg_pack_kv_int(grove_msg *m, const char *key, int64_t v);
int grove_msg_pack_kv_double(grove_msg *m, const char *key, double v);
int grove_msg_pack_kv_bool(grove_msg *m, const char *key, bool v);
int grove_msg_pack_kv_str(grove_msg *m, const char *key, const char *v);
int grove_msg_pack_kv_bin(grove_msg *m, const char *key, const void *data, size_t len);
int grove_msg_pack_kv_ref(grove_msg *m, const char *key, grove_ref r);

/* For anything else: msgpack-c's packer writing into the body (owned by m). */
msgpack_packer *grove_msg_packer(grove_msg *m);

/* Reading the body. The objects (and the strings, bins and ext data they
 * point to) stay valid until the message is freed or packed into again.
 * count: how many objects the body holds (0 if it is not valid msgpack).
 * get: the object at `index` (GROVE_ENOENT past the end, GROVE_EINVAL if the
 * body is not valid msgpack). The typed readers also return GROVE_EINVAL
 * when the object has another type; grove_msg_double accepts integers too,
 * and grove_msg_int returns GROVE_EOVERFLOW for an unsigned value above
 * INT64_MAX. */
size_t grove_msg_count(grove_msg *m);
int grove_msg_get(grove_msg *m, size_t index, msgpack_object *out);
int grove_msg_int(grove_msg *m, size_t index, int64_t *out);
int grove_msg_double(grove_msg *m, size_t index, double *out);
int grove_msg_str(grove_msg *m, size_t index, const char **s, size_t *len);
int grove_msg_bin(grove_msg *m, size_t index, const void **data, size_t *len);
int grove_msg_ref(grove_msg *m, size_t index, grove_ref *out);
/* grove_msg_uint: any non-negative integer (GROVE_EOVERFLOW for a negative
 * one); grove_msg_bool: true/false only. */
int grove_msg_uint(grove_msg *m, size_t index, uint64_t *out);
int grove_msg_bool(grove_msg *m, size_t index, bool *out);
/* The string at index as a C string. str_copy writes it NUL-terminated into
 * buf (cap bytes, the NUL included): GROVE_ERANGE, with buf set to "", when
 * it does not fit. str_dup hands the caller a malloc'd copy (free it);
 * GROVE_ENOMEM. Both: GROVE_EINVAL when the string holds a NUL byte (a C
 * string cannot). */
int grove_msg_str_copy(grove_msg *m, size_t index, char *buf, size_t cap);
int grove_msg_str_dup(grove_msg *m, size_t index, char **out);

/* Costs. The typed readers decode from the bytes without allocating; the
 * message remembers where the last one stopped, so reading a body's objects
 * in order costs O(1) each (going back starts from the first object again).
 * grove_msg_get and the key readers unpack the body once into a zone the
 * message owns (then any index is O(1)). */

/* Maps by key: the object at index must be a map (GROVE_EINVAL otherwise);
 * the value of its first pair whose key is the string `key` (GROVE_ENOENT if
 * none). The message remembers where the last key was found and looks
 * there first, so reading a map's keys in the order they were packed costs
 * O(1) each; any other order costs at most the map's size. The typed forms
 * check the value as the index readers do. */
int grove_msg_key(grove_msg *m, size_t index, const char *key, msgpack_object *out);
int grove_msg_key_int(grove_msg *m, size_t index, const char *key, int64_t *out);
int grove_msg_key_double(grove_msg *m, size_t index, const char *key, double *out);
int grove_msg_key_bool(grove_msg *m, size_t index, const char *key, bool *out);
int grove_msg_key_str(grove_msg *m, size_t index, const char *key, const char **s, size_t *len);
int grove_msg_key_str_copy(grove_msg *m, size_t index, const char *key, char *buf, size_t cap);
int grove_msg_key_bin(grove_msg *m, size_t index, const char *key, const void **data, size_t *len);
int grove_msg_key_ref(grove_msg *m, size_t index, const char *key, grove_ref *out);

/* Typed views of any object - from grove_msg_get, grove_msg_key, or inside
 * one: the same checks and codes as the readers above (GROVE_EINVAL for a
 * NULL object or another type). grove_obj_len: an array's elements or a
 * map's pairs (0 for anything else). grove_obj_at: element i of an array
 * (GROVE_ENOENT past its end). grove_obj_key: the value of a map's first
 * pair keyed `key` (GROVE_ENOENT if none; a scan of the map). What they
 * return points into the message, valid as long as the object is. */
int grove_obj_int(const msgpack_object *o, int64_t *out);
int grove_obj_uint(const msgpack_object *o, uint64_t *out);
int grove_obj_double(const msgpack_object *o, double *out);
int grove_obj_bool(const msgpack_object *o, bool *out);
int grove_obj_str(const msgpack_object *o, const char **s, size_t *len);
int grove_obj_str_copy(const msgpack_object *o, char *buf, size_t cap);
int grove_obj_str_dup(const msgpack_object *o, char **out);
int grove_obj_bin(const msgpack_object *o, const void **data, size_t *len);
int grove_obj_ref(const msgpack_object *o, grove_ref *out);
size_t grove_obj_len(const msgpack_object *o);
int grove_obj_at(const msgpack_object *arr, size_t i, msgpack_object *out);
int grove_obj_key(const msgpack_object *map, const char *key, msgpack_object *out);

/* The packed body: bytes and length (what would travel on the wire). */
const void *grove_msg_body(const grove_msg *m, size_t *len);

/* A zero-copy payload for local sends: the message carries `data` (freed with
 * free_fn, which may be NULL, when the message is freed). Sending such a
 * message to another node fails with GROVE_EINVAL. */
int grove_msg_set_blob(grove_msg *m, void *data, size_t len, void (*free_fn)(void *));
void *grove_msg_blob(const grove_msg *m, size_t *len);

/* Inside receive the message belongs to grove and is freed when receive
 * returns. grove_msg_take hands it to the caller instead (to keep it, or to
 * forward it with grove_send). Returns m. */
grove_msg *grove_msg_take(grove_msg *m);

/* ---- classes and spawning -------------------------------------------------------- */

typedef struct grove_actor grove_actor;

typedef struct grove_actor_class {
  const char *name;                                  /* for grove_dump and logs */
  size_t size;                                       /* sizeof the user's struct */
  int (*init)(grove_actor *self, void *arg);         /* optional; nonzero: fails
                                                        (terminate is then not called;
                                                        it is if init returned 0 but a
                                                        kill came meanwhile: the start
                                                        still fails, "killed") */
  int (*receive)(grove_actor *self, grove_msg *msg); /* GROVE_STOP ends the actor */
  void (*terminate)(grove_actor *self, int reason);  /* optional */
} grove_actor_class;

/* The base every actor struct starts with. Its fields belong to grove. */
struct grove_actor {
  const grove_actor_class *_cls;
  struct grove__actor_ext *_ext;
  struct grove_msg *_head, *_tail;
  struct grove_greenlet *_runner;
  uint64_t _id;
  uint64_t _processed;
  uint32_t _gen, _len, _max, _flags;
  void *_cb[3];
  struct grove_msg *_cur;
};

typedef struct grove_actor_opts {
  const char *name; /* register under this name (released when it ends) */
  size_t inbox_max; /* 0: unbounded; else senders wait while it is full */
  bool trap_exits;  /* exit signals from links arrive as GROVE_TAG_EXIT */
  grove_ref link;   /* link with this actor right away (null: none) */
} grove_actor_opts;

/* Start an actor: allocate cls->size bytes (zeroed), and schedule it; init
 * then runs in the actor's greenlet before its first message. Never blocks.
 * Returns its ref, or the null ref (invalid class: NULL, size smaller than
 * grove_actor, no receive; out of memory). */
grove_ref grove_actor_spawn(const grove_actor_class *cls, void *arg);

/* The same with options; returns 0 and *out, GROVE_EINVAL, GROVE_ENOMEM,
 * GROVE_EEXIST (the name is taken), GROVE_ENOENT (the actor to link with is
 * gone; the new actor is not started). */
int grove_actor_spawn_ex(const grove_actor_class *cls, void *arg, const grove_actor_opts *opts,
                         grove_ref *out);

/* Start an actor on hub `hub` of grove_hubs_start (grove/hubs.h): it runs,
 * and stays, on that hub's thread; its ref names the hub, and every actor
 * call works on it from any hub. Same arguments and codes as
 * grove_actor_spawn_ex, plus GROVE_EINVAL for an index that is not below
 * grove_hub_count(). On the calling thread's own hub it is
 * grove_actor_spawn_ex (never blocks); on another hub it blocks the calling
 * greenlet (only) until that hub has created the actor - a round trip of a
 * few microseconds - so it fails with the gate's codes (GROVE_EPERM from the
 * hub's own context, GROVE_ECANCELED for a killed caller), and opts->name
 * and opts->link may name or link across hubs. arg is passed to init as is:
 * it must stay valid until init has run on the other hub. */
int grove_actor_spawn_on(size_t hub, const grove_actor_class *cls, void *arg,
                         const grove_actor_opts *opts, grove_ref *out);

/* The ref of an actor (from inside its class callbacks). */
grove_ref grove_actor_ref(const grove_actor *a);

/* The ref of the actor whose callback is running in this greenlet, or the
 * null ref. */
grove_ref grove_self(void);

/* Whether the ref names a live actor of this process: of this hub, or of
 * another hub of the group (grove/hubs.h), read there without waiting. A
 * ref of another node is false (grove_monitor tells about those). */
bool grove_actor_alive(grove_ref ref);

/* Send an exit signal (Erlang's exit/2). GROVE_EXIT_KILLED ends the actor
 * unconditionally; any other reason but normal ends an actor that does not
 * trap exits, and arrives as a GROVE_TAG_EXIT message at one that does. An
 * actor that ends this way ends after the message it is processing: if it is
 * blocked inside receive (a sleep, a call, a wait), that receive is cancelled
 * (its blocking calls return GROVE_ECANCELED) and the actor ends when receive
 * returns; the messages left in its inbox become dead letters. Exiting with
 * GROVE_EXIT_NORMAL does nothing to an actor that is not the caller (as in
 * Erlang). Returns 0, GROVE_ENOENT (no such actor here), or for a ref on
 * another node GROVE_EHOSTUNREACH (no node, or the node is down: the
 * signal cannot be delivered). */
int grove_actor_exit(grove_ref ref, int reason);

/* Block until the actor has ended; *reason (may be NULL) gets its exit
 * reason. An actor that has already ended returns at once with its reason,
 * as long as grove still knows it: the reason is kept until another actor
 * that reuses the same slot ends too. GROVE_ENOENT if the ref never named an
 * actor or that record is gone (or its hub is stopped); GROVE_EDEADLK for
 * the calling actor itself; plus the usual wait codes. An actor of another
 * hub (grove/hubs.h) is waited for on its hub while the caller's greenlet
 * waits. */
int grove_actor_wait(grove_ref ref, int *reason, double timeout);

/* Turn exit trapping on or off for the calling actor. */
int grove_actor_trap_exits(bool on);

typedef struct grove_actor_stats {
  size_t inbox_len;   /* messages waiting */
  uint64_t processed; /* messages received so far */
  bool running;       /* a receive is in progress (possibly blocked) */
} grove_actor_stats;

/* The actor's figures now. 0, GROVE_EINVAL (out NULL), or GROVE_ENOENT (no
 * such actor in this process). An actor of another hub is read on its hub
 * while the calling greenlet waits (a round trip: about a cross-hub call);
 * outside a greenlet (a hub callback) that is GROVE_EPERM. */
int grove_actor_stats_get(grove_ref ref, grove_actor_stats *out);

/* ---- send, call, reply ----------------------------------------------------------- */

/* Deliver msg to the actor. Takes ownership of msg, even when it fails.
 * Waits while a bounded inbox is full (forever; see grove_send_timeout).
 * Returns 0; GROVE_ENOENT if the ref names no live actor (the message is a
 * dead letter); GROVE_EINVAL for a NULL msg; the wait codes of a full inbox. */
int grove_send(grove_ref to, grove_msg *msg);
int grove_send_timeout(grove_ref to, grove_msg *msg, double timeout);

/* Send msg as a request and wait for the reply. Takes ownership of msg.
 * Returns 0 and *reply (the caller owns it); the error the callee replied
 * with (grove_reply_error); GROVE_ENOENT if the callee is not alive when the
 * call is made (no such actor, or it has ended); GROVE_EEXITED if it ends
 * before it replies - while the request waited in its inbox, while it was
 * handling it, or after keeping it (the call monitors the callee, so this is
 * prompt; grove_call_ex gives the callee's exit reason); GROVE_ETIMEDOUT (a
 * reply that arrives later is dropped as a dead letter, never delivered to
 * a later call); GROVE_ECANCELED; GROVE_EDEADLK for a call to oneself; for
 * a ref on another node GROVE_EHOSTUNREACH (no node, or it went down). */
int grove_call(grove_ref to, grove_msg *msg, grove_msg **reply, double timeout);

/* grove_call, and when it returns GROVE_EEXITED, *exit_reason (may be NULL)
 * is the callee's exit reason - GROVE_EXIT_NORMAL (receive returned
 * GROVE_STOP without replying), GROVE_EXIT_SHUTDOWN, GROVE_EXIT_KILLED,
 * GROVE_EXIT_NOCONNECTION, or the negative code it failed with - as Erlang's
 * gen_server:call exits with {'EXIT', Reason}. The same across hubs and
 * nodes (a remote callee's reason travels in the error REPLY:
 * docs/protocol.md, section 7). *exit_reason is 0 on every other return.
 * Why an out-parameter rather than a message in *reply: a call that fails
 * leaves *reply NULL, as it always has, so no existing caller leaks. */
int grove_call_ex(grove_ref to, grove_msg *msg, grove_msg **reply, double timeout,
                  int *exit_reason);

/* Replies as futures: send msg as a request and return at once with
 * *result, a grove_async_result (grove/event.h) that the reply sets. Takes
 * ownership of msg; the caller owns *result and frees it with
 * grove_async_result_free. The arguments are grove_call's, in its order,
 * with the reply slot replaced by the result; timeout is the call's own: the
 * result fails with GROVE_ETIMEDOUT once it passes unanswered (negative: no
 * limit but the waits' own timeouts), and a reply after that is a counted
 * dead letter, as for grove_call.
 *
 * The result, once ready, holds what grove_call would return: its value is
 * the reply (a grove_msg *), or its error is the call's - GROVE_ENOENT,
 * GROVE_EEXITED (grove_call_result gives the reason), GROVE_ETIMEDOUT,
 * GROVE_EHOSTUNREACH, GROVE_EMSGSIZE, the callee's grove_reply_error code,
 * GROVE_ENOMEM. Use it as any AsyncResult: grove_async_result_get/wait/
 * ready, and grove_wait / grove_iwait over many (grove/wait.h): a
 * scatter-gather is a loop of grove_call_async and one grove_wait.
 *
 * Ownership of the reply: the result owns it until someone takes it with
 * grove_call_result (the taker owns it then and frees it); grove_async_
 * result_get only borrows it (valid until it is taken or the result freed);
 * freeing the result frees an untaken reply. Freeing the result before the
 * reply has come is safe: the call is abandoned, and the reply, if one
 * comes, is dropped and counted (a dead letter with reason GROVE_ECANCELED;
 * for a remote callee the node counts it in unknown_target).
 *
 * Returns 0 whenever it could make the result - every failure of the call
 * itself, a dead callee included, is the result's error, so that one wait
 * sees them all - or, with *result NULL: GROVE_EINVAL (NULL msg or result,
 * NaN timeout), GROVE_ENOMEM. It never waits for the reply; like grove_send
 * it waits while the callee's bounded inbox (or, remotely, the link to its
 * node) is full, up to the timeout. Unlike grove_call, an actor may call
 * itself: the request is handled once its receive returns. Works from
 * greenlets, actors and the hub's own context, on refs of any hub and
 * node; the result belongs to the calling hub. */
int grove_call_async(grove_ref to, grove_msg *msg, grove_async_result **result, double timeout);

/* Wait (timeout: as grove_async_result_get) for a result of
 * grove_call_async and take its reply: 0 and *reply (the caller owns it
 * now; the result's value becomes NULL); the call's error (for
 * GROVE_EEXITED, *exit_reason - may be NULL - gets the callee's reason, as
 * grove_call_ex); or the wait's codes (GROVE_ETIMEDOUT, GROVE_ECANCELED...).
 * GROVE_EINVAL if result is not one of grove_call_async's, reply is NULL,
 * or the reply was taken already; GROVE_EPERM for another hub's result.
 * The result stays the caller's to free. */
int grove_call_result(grove_async_result *result, grove_msg **reply, int *exit_reason,
                      double timeout);

/* Answer a request (a message for which grove_msg_is_call is true). Takes
 * ownership of reply. Returns 0 (also when the caller has given up: the
 * reply is then a dead letter); GROVE_EINVAL if request is not a call;
 * GROVE_EEXIST if it was already answered; GROVE_EMSGSIZE for a caller on
 * another node whose node does not accept a message that large (the reply
 * is a dead letter, and the caller gets GROVE_EMSGSIZE at once). */
int grove_reply(grove_msg *request, grove_msg *reply);
int grove_reply_error(grove_msg *request, int error);

/* ---- registry -------------------------------------------------------------------- */

/* Name an actor. GROVE_EEXIST if the name is taken, GROVE_ENOENT if the ref
 * is not a live actor, GROVE_EINVAL for an empty name. Names are released
 * when their actor ends. */
int grove_register(const char *name, grove_ref ref);
int grove_unregister(const char *name);
int grove_whereis(const char *name, grove_ref *out); /* 0 or GROVE_ENOENT */

/* Wait until `name` is registered (on this hub, or on any hub of
 * grove_hubs_start) and give its ref: 0 and *out; GROVE_ETIMEDOUT if nobody
 * registered it within the timeout (0: a poll, as grove_whereis but with
 * that code); GROVE_EINVAL (NULL or empty name, NaN timeout); the gate's
 * codes (GROVE_ECANCELED, GROVE_EPERM from the hub's own context unless the
 * timeout is 0). Blocks only while the name is missing. A registration on
 * this hub wakes the waiter at once; one on another hub of
 * grove_hubs_start is seen within 5 ms. */
int grove_whereis_wait(const char *name, grove_ref *out, double timeout);

/* grove_call to the actor registered as `name`, resolved at this call (Erlang's
 * gen_server:call(Name, Request, Timeout)): a supervisor that restarted the
 * actor under the same name is invisible to the caller. If the name is not
 * registered (a restart in progress: the old actor has ended and released
 * it, the new one has not registered yet), the call waits for it
 * (grove_whereis_wait) and then sends; `timeout` bounds both waits
 * together. Takes ownership of msg, even when it fails (a failure before
 * the send makes it a dead letter). Returns grove_call's codes, and
 * GROVE_ENOENT when nobody had the name within the timeout (with timeout 0:
 * the name is not registered now). The request is sent at most once: a
 * callee that ends before replying fails the call (it is not re-sent to
 * its successor, which could do the work twice); call again to reach the
 * successor. */
int grove_call_name(const char *name, grove_msg *msg, grove_msg **reply, double timeout);

/* ---- monitors and links ----------------------------------------------------------- */

/* Watch `target` from the calling actor: when it ends, the caller receives a
 * GROVE_TAG_DOWN message [id, target, reason]. A target that is already gone
 * gives an immediate down message with reason GROVE_ENOENT. *id (may be NULL)
 * identifies the monitor. GROVE_EINVAL when not called from an actor. */
int grove_monitor(grove_ref target, uint64_t *id);
int grove_demonitor(uint64_t id); /* 0 or GROVE_ENOENT */

/* Watch `target` from any greenlet - an actor or not (erlang:monitor from
 * something that is not a process): when the target ends, the same
 * GROVE_TAG_DOWN message an actor would receive, [id, target, reason], is
 * put into q, which then owns it (the getter frees it with grove_msg_free).
 * The target may be on this hub, another hub of grove_hubs_start, or
 * another node (then a lost connection gives reason
 * GROVE_EXIT_NOCONNECTION, as for an actor's monitor); one already gone
 * gives a down message at once, reason GROVE_ENOENT. A watch is one-shot:
 * it ends with its down message. *id (may be NULL) is what grove_demonitor
 * takes to cancel it before; after grove_demonitor returns, nothing more is
 * put into q, so q may be freed then (not before: the caller keeps q alive
 * and on this hub while the watch lasts, and frees the messages it holds).
 * A full bounded q drops the message (counted, logged as GROVE_LOG_DROP):
 * use an unbounded queue. Never blocks. Returns 0, GROVE_EINVAL (NULL q),
 * GROVE_ENOMEM. Each watch is a small actor on the calling hub until it
 * ends: grove_hub_close counts an unfinished one among the actors. */
int grove_monitor_to(grove_ref target, grove_queue *q, uint64_t *id);

/* Link two actors: when one ends with a reason other than normal, the other
 * gets an exit signal with that reason (see grove_actor_exit). Returns 0,
 * GROVE_ENOENT (one is gone: the other gets the signal right away, reason
 * GROVE_ENOENT, as in Erlang), GROVE_EINVAL. */
int grove_link_actors(grove_ref a, grove_ref b);
int grove_unlink_actors(grove_ref a, grove_ref b);

/* ---- actors in a Group or Pool (grove/group.h) ------------------------------------- */

/* An actor can be a member of a grove_group, as a greenlet can (one group at
 * a time, the group and the actor on the same hub): grove_group_join waits
 * until its actors and greenlets have all ended, grove_group_kill stops
 * them, grove_group_size counts both, and a Pool's size bounds how many
 * members of either kind are alive at once. An actor leaves its group by
 * itself when it ends, on the hub's next turn (as a greenlet leaves from its
 * link notification: grove_actor_wait returning sees the group without it).
 * grove_group_kill sends each actor member an exit with GROVE_EXIT_KILLED
 * (it cannot be trapped): the actor ends after the message it is
 * processing, whose blocking calls are cancelled, its terminate runs, and
 * kill waits (within its timeout) until every member has left. Supervisors
 * are unchanged: an actor may be a supervisor's child and a group's member. */

/* Spawn an actor (as grove_actor_spawn_ex, same arguments and codes) as a
 * member of grp. Into a full Pool it blocks first, creating nothing, until a
 * member has left (gevent's Pool.spawn); that wait returns the gate's codes
 * (GROVE_ECANCELED, GROVE_ETIMEDOUT from a scoped timeout, GROVE_EPERM from
 * the hub's own context). GROVE_EINVAL, GROVE_EPERM for a group of another
 * hub. *out (may be NULL) gets the ref. */
int grove_group_spawn_actor(grove_group *grp, const grove_actor_class *cls, void *arg,
                            const grove_actor_opts *opts, grove_ref *out);

/* Make a live actor of this hub a member; blocks while a Pool is full (up
 * to timeout: GROVE_ETIMEDOUT). Returns 0; GROVE_EEXIST if it is in a group
 * already; GROVE_ENOENT if it is not alive (also when it ended while the
 * call waited for room); GROVE_EPERM for an actor of another hub or node;
 * GROVE_EINVAL (null ref, NaN timeout); the wait's codes. */
int grove_group_add_actor(grove_group *grp, grove_ref ref, double timeout);

/* Stop tracking the actor (it keeps running). 0, GROVE_ENOENT if it is not
 * a live member of grp. */
int grove_group_discard_actor(grove_group *grp, grove_ref ref);

/* Whether the actor is alive and a member of grp. */
bool grove_group_contains_actor(const grove_group *grp, grove_ref ref);

/* ---- dead letters ------------------------------------------------------------------ */

/* A message that cannot be delivered (dead or unknown ref, a reply nobody
 * waits for, the inbox of an actor that ended) is counted and passed to the
 * hook, if one is set, before it is freed: the hook borrows msg. reason is a
 * GROVE_E* code. With several hubs (grove/hubs.h) a dead letter is found on
 * the hub of the actor it was addressed to (a message to an actor of hub 1
 * that has ended, from hub 0, is hub 1's): the hook is set per hub, runs on
 * that hub's thread, and is set on each hub that wants it (from a function
 * run there, grove_hub_run_on); grove_dead_letter_count is the total of
 * every hub of the group. */
typedef void (*grove_dead_letter_fn)(grove_ref to, const grove_msg *msg, int reason, void *arg);
void grove_dead_letter_hook(grove_dead_letter_fn fn, void *arg);
uint64_t grove_dead_letter_count(void);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif
#endif
