// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The folder source when a watcher names what changed (agent/source_files.c,
 * xgw_files_watched()): a load reads only the files named since the last, and
 * must give what a load of the whole folder gives. Random writes, removals,
 * renames, broken files and files that are not manifests, against a second
 * source that reads the whole folder every time.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "test.h"

#include "folder-fixture.h"
#include "source_files.h"

enum {
	NAMES = 24,
	STEPS = 3000
};

static void file_name(char *buf, size_t len, int k)
{
	/* a few that are not manifests, which both must leave alone */
	if (k % 11 == 10)
		snprintf(buf, len, "%s%02d.txt", k % 2 ? "" : ".", k);
	else
		snprintf(buf, len, "f%02d.%s", k, k % 3 ? "yaml" : "yml");
}

/* One to three objects, or a broken document now and then. */
static void content(struct buf *b, int k, uint32_t v)
{
	b->n = 0;
	if (v % 9 == 4) {
		bprintf(b, "apiVersion: v1\nkind: Service\nmetadata: {name: [broken\n");
		return;
	}
	for (uint32_t i = 0; i <= v % 3; i++)
		bprintf(b,
			"%sapiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\n"
			"metadata: {name: r%d-%u, namespace: default}\nspec:\n"
			"  hostnames: [h%u.example.com]\n"
			"  rules: [{backendRefs: [{name: s%u, port: 80}]}]\n",
			i ? "---\n" : "", k, (v + i) % 5, v, v % 7);
	if (v % 4 == 1)
		bprintf(b,
			"---\napiVersion: v1\nkind: Service\nmetadata: {name: s%d, namespace: "
			"default}\nspec: {ports: [{port: 80}]}\n",
			k);
}

/* The objects of <st> in order, as text. */
static void render(struct buf *b, const struct xgw_store *st)
{
	b->n = 0;
	for (size_t i = 0; i < st->n_httproutes; i++)
		bprintf(b, "route %s/%s %s\n", st->httproutes[i].meta.ns,
			st->httproutes[i].meta.name,
			st->httproutes[i].n_hostnames ? st->httproutes[i].hostnames[0] : "-");
	for (size_t i = 0; i < st->n_services; i++)
		bprintf(b, "service %s/%s\n", st->services[i].meta.ns, st->services[i].meta.name);
	if (!b->n)
		bprintf(b, "(empty)\n");
}

static bool same_loads(struct xgw_files *w, struct xgw_files *all, int step)
{
	struct xgw_store *sw = NULL, *sa = NULL;
	struct buf tw = { 0 }, ta = { 0 };
	bool ok = ASSERT_OK(xgw_files_load(w, &sw, NULL), "watched load") &&
		  ASSERT_OK(xgw_files_load(all, &sa, NULL), "whole load");

	if (ok) {
		render(&tw, sw);
		render(&ta, sa);
		ok = ASSERT_STREQ(tw.p, ta.p, "what the watched source read");
		if (!ok)
			printf("#   step %d\n", step);
	}
	xgw_store__free(sw);
	xgw_store__free(sa);
	free(tw.p);
	free(ta.p);
	return ok;
}

TEST(watched_loads_as_whole_ones)
{
	char dir[] = "/tmp/xgw-files-test-XXXXXX", name[32], name2[32];
	struct xgw_files *w, *all;
	struct buf b = { 0 };
	int touched_all = 0, renames = 0, removals = 0;

	if (!ASSERT_OK_PTR(mkdtemp(dir), "temporary folder"))
		return;
	rng_state = 0x243f6a8885a308d3ULL;
	for (int k = 0; k < NAMES; k += 2) {
		file_name(name, sizeof(name), k);
		content(&b, k, rnd(1000));
		put(dir, name, b.p);
	}
	w = xgw_files__new(dir);
	all = xgw_files__new(dir);
	if (!ASSERT_OK_PTR(w, "files") || !ASSERT_OK_PTR(all, "files"))
		goto out;
	xgw_files_watched(w);
	if (!same_loads(w, all, 0))
		goto out;
	for (int s = 1; s <= STEPS; s++) {
		/* one to three changes between two loads, each named as inotify would */
		for (uint32_t c = 0, nc = 1 + rnd(3); c < nc; c++) {
			uint32_t op = rnd(100);
			int k = (int)rnd(NAMES), k2 = (int)rnd(NAMES);
			char path[512], path2[512];

			file_name(name, sizeof(name), k);
			file_name(name2, sizeof(name2), k2);
			snprintf(path, sizeof(path), "%s/%s", dir, name);
			snprintf(path2, sizeof(path2), "%s/%s", dir, name2);
			if (op < 55) {
				content(&b, k, rnd(1000));
				put(dir, name, b.p);
				xgw_files_touched(w, name);
			} else if (op < 70) {
				removals += !unlink(path);
				xgw_files_touched(w, name);
			} else if (op < 82) {
				renames += !rename(path, path2);
				xgw_files_touched(w, name);
				xgw_files_touched(w, name2);
			} else if (op < 92) {
				/* the same bytes again: a new mtime, nothing else */
				FILE *f = fopen(path, "a");

				if (f)
					fclose(f);
				xgw_files_touched(w, name);
			} else {
				/* events lost: the whole folder next time */
				content(&b, k, rnd(1000));
				put(dir, name, b.p);
				xgw_files_touched_all(w);
				touched_all++;
			}
		}
		if (!same_loads(w, all, s))
			goto out;
	}
	printf("# %d steps, %d renames, %d removals, %d times the whole folder\n", STEPS, renames,
	       removals, touched_all);
	ASSERT_GT(renames, 10, "renames");
	ASSERT_GT(touched_all, 5, "whole reads");

	/* a change nobody named is not read, until the whole folder is */
	content(&b, 0, 3);
	put(dir, "f00.yml", b.p);
	{
		struct xgw_store *st = NULL;
		struct buf t = { 0 };

		if (ASSERT_OK(xgw_files_load(w, &st, NULL), "load")) {
			render(&t, st);
			ASSERT_TRUE(!strstr(t.p, "h3.example.com"), "not named: not read");
		}
		xgw_store__free(st);
		xgw_files_touched_all(w);
		ASSERT_TRUE(same_loads(w, all, STEPS + 1), "read once the whole folder is");
		free(t.p);
	}
out:
	xgw_files__free(w);
	xgw_files__free(all);
	for (int k = 0; k < NAMES; k++) {
		file_name(name, sizeof(name), k);
		rm(dir, name);
	}
	rm(dir, ".tmp");
	rmdir(dir);
	free(b.p);
}

TEST_MAIN()
