/* fs.h - module portal_fs on portal-host: the app's SD card is a host directory (--sd DIR). Each
 * app gets its own state: mounted flag, up to 16 open files and 8 open directories behind handles,
 * all closed when the app ends. The imports themselves are declared by host/api/api_fs.h. */
#ifndef PORTAL_FS_H
#define PORTAL_FS_H

#include <stdbool.h>

#include "../core/app.h"

#define PORTAL_FS_MAX_FILES 16
#define PORTAL_FS_MAX_DIRS 8

/* The default card directory: $XDG_DATA_HOME/portal-host/sdcard when XDG_DATA_HOME is an absolute
 * path, else ~/.local/share/portal-host/sdcard. malloc'd; NULL when there is no home directory. */
char *portal_fs_default_dir(void);

/* Gives `app` a card backed by `dir` (NULL: the default) and registers module portal_fs with it,
 * so portal_app_teardown detaches the card. Nothing is created or opened yet: the directory is
 * created (mode 0700, with missing parents) and opened on the app's first portal_fs call. False on
 * allocation failure. */
bool portal_fs_attach(portal_app *app, const char *dir);
/* Closes every file and directory the app left open and frees the state. Safe to call twice. */
void portal_fs_detach(portal_app *app);
/* Open files + directories right now (tests, -v). */
int portal_fs_open_count(const portal_app *app);

#endif
