// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

int xgw_file_tmp_name(const char *path, char *out, size_t size)
{
	int n = snprintf(out, size, "%s.tmp.%d", path, (int)getpid());

	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

int xgw_file_remove_stale(const char *path)
{
	char dir[PATH_MAX], prefix[NAME_MAX + 8], *slash;
	const char *base;
	struct dirent *e;
	size_t plen;
	int removed = 0;
	DIR *d;

	if (strlen(path) >= sizeof(dir))
		return -ENAMETOOLONG;
	strcpy(dir, path);
	slash = strrchr(dir, '/');
	if (slash) {
		*slash = 0;
		base = path + (slash - dir) + 1;
	} else {
		strcpy(dir, ".");
		base = path;
	}
	if (snprintf(prefix, sizeof(prefix), "%s.tmp.", base) >= (int)sizeof(prefix))
		return -ENAMETOOLONG;
	plen = strlen(prefix);
	d = opendir(slash && !dir[0] ? "/" : dir);
	if (!d)
		return -errno;
	while ((e = readdir(d))) {
		char *end;
		long pid;

		if (strncmp(e->d_name, prefix, plen) || !e->d_name[plen])
			continue;
		errno = 0;
		pid = strtol(e->d_name + plen, &end, 10);
		if (*end || errno || pid <= 0 || pid > INT_MAX)
			continue; /* not one of ours */
		/* a live writer's, or one whose owner this process cannot probe */
		if (!kill((pid_t)pid, 0) || errno != ESRCH)
			continue;
		if (!unlinkat(dirfd(d), e->d_name, 0))
			removed++;
	}
	closedir(d);
	return removed;
}
