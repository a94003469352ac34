/* handles.h - one table of app-visible handles per app. A handle is a positive i32 that encodes its
 * slot and a per-slot generation, so lookups are O(1) and a value is never handed out twice while
 * the app runs: a stale handle is an error, never someone else's object. */
#ifndef PORTAL_HANDLES_H
#define PORTAL_HANDLES_H

#include <stdbool.h>
#include <stdint.h>

typedef enum {
    PORTAL_HANDLE_FREE = 0,
    PORTAL_HANDLE_SOCKET,
    PORTAL_HANDLE_TLS_CONFIG,
    PORTAL_HANDLE_TLS_SESSION,
    PORTAL_HANDLE_FS_FILE, /* portal_fs (desktop): its own table, see host/fs/fs_api.c */
    PORTAL_HANDLE_FS_DIR,
    PORTAL_HANDLE_KINDS /* how many kinds there are */
} portal_handle_kind;

typedef struct portal_handle_slot {
    uint32_t generation; /* bumped on every allocation of this slot */
    uint8_t kind;        /* portal_handle_kind */
    bool retired;        /* generation exhausted: the slot is never used again */
    void *object;
} portal_handle_slot;

typedef struct portal_handles {
    portal_handle_slot *slots;
    uint32_t capacity;
    uint32_t cursor; /* next slot to try: round-robin spreads generations evenly */
    uint32_t used;
    uint32_t count[PORTAL_HANDLE_KINDS]; /* live handles per kind: what a module's limit counts */
} portal_handles;

bool portal_handles_init(portal_handles *table, uint32_t capacity);
void portal_handles_free(portal_handles *table);
/* Returns a new handle (> 0) for `object`, or 0 when the table is full. */
int32_t portal_handles_add(portal_handles *table, portal_handle_kind kind, void *object);
/* Returns the object when `handle` is live and of `kind`, else NULL. */
void *portal_handles_get(const portal_handles *table, int32_t handle, portal_handle_kind kind);
/* Kind of a live handle, PORTAL_HANDLE_FREE when it is not live. */
portal_handle_kind portal_handles_kind(const portal_handles *table, int32_t handle);
/* Live handles of `kind`. */
uint32_t portal_handles_count(const portal_handles *table, portal_handle_kind kind);
/* Forgets a live handle; false when it was not live. */
bool portal_handles_remove(portal_handles *table, int32_t handle);
/* Visits live handles of `kind` (any kind when FREE); the callback may remove the handle. */
void portal_handles_each(portal_handles *table, portal_handle_kind kind,
                         void (*fn)(int32_t handle, void *object, void *ctx), void *ctx);

#endif
