/* hub/core/layer.c - the hub's API for the layers above it (hub/api/hub_api.h).
 *
 * Design notes: these are the accessors that let actor/, transport/ and net/
 * use the scheduler without seeing its structures. Each is one or two loads
 * or stores; link-time optimisation inlines them into the layers in the
 * shared library and the benchmark build, so keeping the scheduler's
 * fields private costs nothing there.
 */
#include "internal.h"

uv_loop_t *grove__hub_loop(grove_hub *hub) { return &hub->loop; }
void grove__hub_poll_soon(grove_hub *hub) { hub->need_poll = 1; }
void grove__hub_object_add(grove_hub *hub) { grove__obj_add(hub, GROVE__OBJ_OTHER); }
void grove__set_exit_hook(grove_hub *hub, void (*hook)(grove_greenlet *g, int code)) {
  hub->exit_hook = hook;
}
void grove__hub_object_remove(grove_hub *hub) { grove__obj_remove(hub, GROVE__OBJ_OTHER); }
void grove__hub_object_add_kind(grove_hub *hub, int kind) {
  grove__obj_add(hub, kind >= 0 && kind < GROVE__OBJ_NKINDS ? kind : GROVE__OBJ_OTHER);
}
void grove__hub_object_remove_kind(grove_hub *hub, int kind) {
  grove__obj_remove(hub, kind >= 0 && kind < GROVE__OBJ_NKINDS ? kind : GROVE__OBJ_OTHER);
}

void grove__layer_set(grove_hub *hub, int layer, void *state, void (*close)(void *state)) {
  if (!hub || layer < 0 || layer >= GROVE__NLAYERS)
    return;
  __atomic_store_n(&hub->head.layer_state[layer], state, __ATOMIC_RELEASE); /* grove__layer_slot */
  hub->layer_close[layer] = state ? close : NULL;
}

void grove__cancel(grove_greenlet *g) {
  if (g->state == GROVE__DEAD)
    return;
  g->head.flags |= GROVE__F_CANCELLED;
  grove__wake(g, GROVE_ECANCELED);
}

uint64_t grove__token(const grove_greenlet *g) { return g->token; }
void grove__set_token(grove_greenlet *g, uint64_t token) { g->token = token; }
void grove__set_slot(grove_greenlet *g, void *item) { g->slot = item; }

void *grove__take_slot(grove_greenlet *g) {
  void *item = g->slot;
  g->slot = NULL;
  return item;
}

grove_greenlet *grove__wait_list_first(grove__list *l) {
  return grove__list_empty(l) ? NULL : grove__container_of(l->next, grove_greenlet, waiter.link);
}

bool grove__waiting(const grove_greenlet *g) {
  return g->state == GROVE__BLOCKED && grove__list_linked(&g->waiter.link);
}

bool grove__blocked(const grove_greenlet *g) { return g->state == GROVE__BLOCKED; }
