// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * xgw_file_replace() (lib/file.c): a new file in place of the old one, which
 * readers that had it open keep and nobody else sees again; a first file;
 * nothing left behind.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test.h"

#include "xgw/file.h"

static bool put(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	return f && fputs(text, f) >= 0 && !fclose(f);
}

static bool has(const char *path, const char *text)
{
	char buf[64] = { 0 };
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f)
		return false;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	return n == strlen(text) && !memcmp(buf, text, n);
}

static int entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

TEST(replace)
{
	char dir[] = "/tmp/xgw-file-test-XXXXXX", tmp[64], path[64], buf[8] = { 0 };
	struct stat st;
	int fd;

	if (!ASSERT_OK_PTR(mkdtemp(dir), "temporary folder"))
		return;
	snprintf(tmp, sizeof(tmp), "%s/status.json.tmp", dir);
	snprintf(path, sizeof(path), "%s/status.json", dir);

	/* the first: nothing to exchange with */
	ASSERT_TRUE(put(tmp, "one"), "write");
	ASSERT_OK(xgw_file_replace(tmp, path), "first replace");
	ASSERT_TRUE(has(path, "one"), "first content");
	ASSERT_EQ(entries(dir), 1, "the file alone");

	/* a reader of the old file keeps it; the path has the new one; the old is gone */
	fd = open(path, O_RDONLY);
	ASSERT_GE(fd, 0, "open the old");
	ASSERT_TRUE(put(tmp, "two"), "write");
	ASSERT_OK(xgw_file_replace(tmp, path), "replace");
	ASSERT_TRUE(has(path, "two"), "new content");
	ASSERT_EQ(entries(dir), 1, "the old file is not left behind");
	if (fd >= 0) {
		ASSERT_EQ(read(fd, buf, sizeof(buf) - 1), 3, "the reader reads on");
		ASSERT_STREQ(buf, "one", "the reader's file is the old one");
		ASSERT_OK(fstat(fd, &st), "fstat");
		ASSERT_EQ(st.st_nlink, 0, "the old file has no name left");
		close(fd);
	}

	/* nothing written: an error, and the file as it was */
	ASSERT_EQ(xgw_file_replace(tmp, path), -ENOENT, "no new file");
	ASSERT_TRUE(has(path, "two"), "kept");

	unlink(path);
	rmdir(dir);
}

TEST_MAIN()
