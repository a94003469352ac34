/* handles.c - the per-app handle table (see handles.h). */
#include "handles.h"

#include <stdlib.h>
#include <string.h>

bool portal_handles_init(portal_handles *table, uint32_t capacity)
{
    table->slots = calloc(capacity ? capacity : 1, sizeof *table->slots);
    table->capacity = capacity;
    table->cursor = 0;
    table->used = 0;
    memset(table->count, 0, sizeof table->count);
    return table->slots != NULL;
}

void portal_handles_free(portal_handles *table)
{
    free(table->slots);
    table->slots = NULL;
    table->capacity = table->used = table->cursor = 0;
    memset(table->count, 0, sizeof table->count);
}

/* handle = generation * capacity + slot + 1, kept below 2^31. */
static bool slot_of(const portal_handles *table, int32_t handle, uint32_t *slot)
{
    if (handle <= 0 || table->capacity == 0)
        return false;
    uint32_t h = (uint32_t)handle - 1;
    *slot = h % table->capacity;
    const portal_handle_slot *s = &table->slots[*slot];
    return s->kind != PORTAL_HANDLE_FREE && s->generation == h / table->capacity;
}

int32_t portal_handles_add(portal_handles *table, portal_handle_kind kind, void *object)
{
    if (kind == PORTAL_HANDLE_FREE || kind >= PORTAL_HANDLE_KINDS)
        return 0;
    for (uint32_t n = 0; n < table->capacity; n++) {
        uint32_t i = (table->cursor + n) % table->capacity;
        portal_handle_slot *s = &table->slots[i];
        if (s->kind != PORTAL_HANDLE_FREE || s->retired)
            continue;
        uint64_t next_gen = (uint64_t)s->generation + 1;
        if (next_gen * table->capacity + i + 1 > INT32_MAX) {
            s->retired = true;
            continue;
        }
        s->generation = (uint32_t)next_gen;
        s->kind = (uint8_t)kind;
        s->object = object;
        table->cursor = (i + 1) % table->capacity;
        table->used++;
        table->count[kind]++;
        return (int32_t)(next_gen * table->capacity + i + 1);
    }
    return 0;
}

void *portal_handles_get(const portal_handles *table, int32_t handle, portal_handle_kind kind)
{
    uint32_t slot;
    if (!slot_of(table, handle, &slot) || table->slots[slot].kind != kind)
        return NULL;
    return table->slots[slot].object;
}

portal_handle_kind portal_handles_kind(const portal_handles *table, int32_t handle)
{
    uint32_t slot;
    return slot_of(table, handle, &slot) ? (portal_handle_kind)table->slots[slot].kind
                                         : PORTAL_HANDLE_FREE;
}

bool portal_handles_remove(portal_handles *table, int32_t handle)
{
    uint32_t slot;
    if (!slot_of(table, handle, &slot))
        return false;
    table->count[table->slots[slot].kind]--;
    table->slots[slot].kind = PORTAL_HANDLE_FREE;
    table->slots[slot].object = NULL;
    table->used--;
    return true;
}

uint32_t portal_handles_count(const portal_handles *table, portal_handle_kind kind)
{
    return kind < PORTAL_HANDLE_KINDS ? table->count[kind] : 0;
}

void portal_handles_each(portal_handles *table, portal_handle_kind kind,
                         void (*fn)(int32_t handle, void *object, void *ctx), void *ctx)
{
    for (uint32_t i = 0; i < table->capacity; i++) {
        portal_handle_slot *s = &table->slots[i];
        if (s->kind == PORTAL_HANDLE_FREE || (kind != PORTAL_HANDLE_FREE && s->kind != kind))
            continue;
        fn((int32_t)((uint64_t)s->generation * table->capacity + i + 1), s->object, ctx);
    }
}
