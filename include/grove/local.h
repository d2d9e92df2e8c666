/* grove/local.h - greenlet-local storage (gevent.local).
 *
 * A grove_local is a key; each greenlet sees its own value for it (NULL until
 * it sets one). When a greenlet finishes, the destructor given at creation is
 * called for its non-NULL value.
 */
#ifndef GROVE_LOCAL_H
#define GROVE_LOCAL_H

#ifdef __cplusplus
extern "C" {
#endif

#pragma GCC visibility push(default)

typedef struct grove_local grove_local;

/* New key; destructor may be NULL. NULL if out of memory. */
grove_local *grove_local_new(void (*destructor)(void *value));

/* Set the calling greenlet's value (replacing the old one without calling the
 * destructor). Returns 0, GROVE_EINVAL, GROVE_ENOMEM, GROVE_EPERM. */
int grove_local_set(grove_local *key, void *value);

/* The calling greenlet's value, or NULL if it has none. */
void *grove_local_get(grove_local *key);

/* Like grove_local_get, but tells "never set" (GROVE_ENOENT, gevent's
 * AttributeError) apart from a stored NULL. */
int grove_local_lookup(grove_local *key, void **value);

/* Remove the calling greenlet's value (destructor called). GROVE_ENOENT if
 * it has none. */
int grove_local_delete(grove_local *key);

/* Free the key. Values still set in live greenlets are passed to the
 * destructor. Returns 0 or GROVE_EINVAL. */
int grove_local_free(grove_local *key);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif
#endif
