// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "xgw/file.h"

int xgw_file_replace(const char *tmp, const char *path)
{
	int err;

	if (!renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_EXCHANGE)) {
		/* <tmp> is the old file now */
		unlink(tmp);
		return 0;
	}
	/* no file there yet (ENOENT), or a file system that cannot exchange */
	if (!rename(tmp, path))
		return 0;
	err = -errno;
	unlink(tmp);
	return err;
}
