/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Standalone source: a folder of YAML manifests. Each file is decoded on its
 * own; a file with errors is reported and its last good version (the last
 * content that decoded without error) keeps serving, so that a typo never
 * takes routes down. A file seen broken from the start contributes what
 * decoded. A TLSRoute, TCPRoute or UDPRoute without creationTimestamp gets
 * its file's modification time when the agent first read the file.
 */
#ifndef XGW_AGENT_SOURCE_FILES_H
#define XGW_AGENT_SOURCE_FILES_H

#include <stdint.h>

#include "xgw/model.h"

struct xgw_files;

struct xgw_files *xgw_files__new(const char *dir);
void xgw_files__free(struct xgw_files *f);

/*
 * Read the folder into a new store (*<out>, freed by the caller). Decode
 * errors are logged, one line each naming file, document, line and object.
 * An object defined twice is taken once, the last (xgw_store_dedupe()), and
 * logged when it first is.
 * *<shape> (if not NULL) tells what changed: two stores loaded with the same
 * shape hold the same objects in the same order but for their EndpointSlices
 * (a file's objects compare by the text of their documents; any other change
 * gives a new shape, never an earlier one). Returns 0, or -errno when the
 * folder itself cannot be read (the caller then keeps its last store).
 */
int xgw_files_load(struct xgw_files *f, struct xgw_store **out, uint64_t *shape);

/*
 * A watcher (the agent's inotify) tells every change from now on: a load
 * then reads only the files named since the last one (xgw_files_touched()),
 * or the whole folder after xgw_files_touched_all() (events lost, the folder
 * itself changed, SIGHUP) and the first time. Without it every load reads
 * the whole folder. A file changed behind a symbolic link is not seen by a
 * watcher of the folder: touched_all() then.
 */
void xgw_files_watched(struct xgw_files *f);
void xgw_files_touched(struct xgw_files *f, const char *name);
void xgw_files_touched_all(struct xgw_files *f);

/* Is <name> (a file of the folder) one that xgw_files_load() reads: *.yaml, *.yml, not hidden? */
bool xgw_files_is_manifest(const char *name);

#endif /* XGW_AGENT_SOURCE_FILES_H */
