/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Files the agent rewrites again and again (status.json, workers.json).
 */
#ifndef XGW_FILE_H
#define XGW_FILE_H

#include <stddef.h>

/*
 * Put the file written at <tmp> in place of <path>: a reader opens the old
 * file or the new one, never a part of either. When <path> exists, the two
 * are exchanged (renameat2(RENAME_EXCHANGE)) and the old one, now at <tmp>,
 * is removed, rather than renamed over: ext4 writes a file renamed over
 * another to disk at once (auto_da_alloc), 5 MB per change for the status of
 * 10,000 routes, and that writeback stalled the changes that followed. These
 * files are written again at every start, so a crash may leave the old file
 * in place (and <tmp>: xgw_file_remove_stale()). On failure <tmp> is
 * removed. Returns 0 or -errno.
 */
int xgw_file_replace(const char *tmp, const char *path);

/* The temporary file this process writes <path> through: "<path>.tmp.<pid>". */
int xgw_file_tmp_name(const char *path, char *out, size_t size);

/*
 * Remove the temporary files of <path> that a writer which no longer runs
 * left behind (it was killed between writing one and putting it in place):
 * "<path>.tmp.<pid>" where no process <pid> exists. Those of live processes
 * stay. Returns how many were removed, or -errno.
 */
int xgw_file_remove_stale(const char *path);

#endif /* XGW_FILE_H */
