// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * xgw_file_replace() (lib/file.c): a new file in place of the old one, which
 * readers that had it open keep and nobody else sees again; a first file;
 * nothing left behind. xgw_file_remove_stale(): the temporary files of
 * writers that no longer run go, every other file stays.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
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

/* Remove the files of <dir>. */
static void empty(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char p[512];

	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
		unlink(p);
	}
	if (d)
		closedir(d);
}

static bool exists(const char *dir, const char *name)
{
	char p[512];

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return !access(p, F_OK);
}

TEST(remove_stale)
{
	char dir[] = "/tmp/xgw-file-test-XXXXXX", path[64], p[256], dead[16], mine[16], own[256];
	const char *keep[] = { "status.json",	     "status.json.tmp.",    "status.json.tmp.12x",
			       "status.json.tmp.-5", "other.json.tmp.DEAD", "status.json.tmpDEAD" };
	pid_t child;

	if (!ASSERT_OK_PTR(mkdtemp(dir), "temporary folder"))
		return;
	snprintf(path, sizeof(path), "%s/status.json", dir);
	/* a process id that no process has: a child that has exited and been reaped */
	child = fork();
	if (child == 0)
		_exit(0);
	if (!ASSERT_GT(child, 0, "fork") || !ASSERT_EQ(waitpid(child, NULL, 0), child, "reap"))
		return;
	snprintf(dead, sizeof(dead), "%d", (int)child);
	snprintf(mine, sizeof(mine), "%d", (int)getpid());
	for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++) {
		char name[64];
		const char *d = strstr(keep[i], "DEAD");

		snprintf(name, sizeof(name), "%.*s%s",
			 d ? (int)(d - keep[i]) : (int)strlen(keep[i]), keep[i], d ? dead : "");
		snprintf(p, sizeof(p), "%s/%s", dir, name);
		ASSERT_TRUE(put(p, "x"), name);
	}
	snprintf(p, sizeof(p), "%s.tmp.%s", path, dead);
	ASSERT_TRUE(put(p, "stale"), "a dead writer's file");
	snprintf(p, sizeof(p), "%s.tmp.%s", path, mine);
	ASSERT_TRUE(put(p, "live"), "a live writer's file");
	ASSERT_OK(xgw_file_tmp_name(path, own, sizeof(own)), "tmp name");
	ASSERT_STREQ(own, p, "this process writes through <path>.tmp.<pid>");
	ASSERT_EQ(xgw_file_tmp_name(path, own, 8), -ENAMETOOLONG, "a name that does not fit");

	ASSERT_EQ(xgw_file_remove_stale(path), 1, "one removed");
	snprintf(p, sizeof(p), "status.json.tmp.%s", dead);
	ASSERT_FALSE(exists(dir, p), "the dead writer's file is gone");
	snprintf(p, sizeof(p), "status.json.tmp.%s", mine);
	ASSERT_TRUE(exists(dir, p), "the live writer's file stays");
	ASSERT_EQ(entries(dir), (int)(sizeof(keep) / sizeof(keep[0])) + 1, "the others stay");
	ASSERT_EQ(xgw_file_remove_stale(path), 0, "nothing more");
	snprintf(p, sizeof(p), "%s/none/status.json", dir);
	ASSERT_EQ(xgw_file_remove_stale(p), -ENOENT, "no folder");

	empty(dir);
	rmdir(dir);
}

TEST_MAIN()
