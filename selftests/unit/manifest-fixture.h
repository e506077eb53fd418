/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* What the manifest decoder's tests share (test_manifest.c, test_yaml.c). */
#ifndef XGW_SELFTESTS_MANIFEST_FIXTURE_H
#define XGW_SELFTESTS_MANIFEST_FIXTURE_H

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "xgw/model.h"
#include "../../lib/yaml_tree.h" /* private to lib/, tested through its header */
#include "test.h"

/* --- helpers ------------------------------------------------------------ */

/*
 * The fixtures folder. Meson compiles this file by a path relative to the
 * build root, and the test binary sits in <build>/selftests, so __FILE__ is
 * found from the binary (or from the working directory, or $XGW_SRC).
 */
static inline const char *fixtures_dir(void)
{
	static char dir[PATH_MAX];
	char exe[PATH_MAX], file[PATH_MAX], cand[3][PATH_MAX * 2];
	const char *env = getenv("XGW_SRC"), *src;
	ssize_t n;

	if (dir[0])
		return dir;
	snprintf(file, sizeof(file), "%s", __FILE__);
	src = dirname(file); /* .../selftests/unit */
	cand[0][0] = cand[1][0] = cand[2][0] = '\0';
	if (env)
		snprintf(cand[0], sizeof(cand[0]), "%s/selftests/fixtures/manifests", env);
	snprintf(cand[1], sizeof(cand[1]), "%s/../fixtures/manifests", src);
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (src[0] != '/' && n > 0) {
		exe[n] = '\0';
		snprintf(cand[2], sizeof(cand[2]), "%s/../%s/../fixtures/manifests", dirname(exe),
			 src);
	}
	for (int i = 0; i < 3; i++) {
		if (cand[i][0] && !access(cand[i], R_OK) && realpath(cand[i], dir))
			return dir;
	}
	dir[0] = '\0';
	return NULL;
}

static inline int load_fixture(struct xgw_store *st, const char *name)
{
	const char *dir = fixtures_dir();
	char path[PATH_MAX * 2];
	char *buf = NULL;
	long len;
	FILE *f;
	int err;

	if (!dir)
		return -ENOENT;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	if (fseek(f, 0, SEEK_END) || (len = ftell(f)) < 0 || fseek(f, 0, SEEK_SET))
		goto fail;
	buf = malloc(len ? len : 1);
	if (!buf || fread(buf, 1, len, f) != (size_t)len)
		goto fail;
	fclose(f);
	err = xgw_store_load_yaml(st, name, buf, len);
	free(buf);
	return err;
fail:
	err = -errno ?: -EIO;
	free(buf);
	fclose(f);
	return err;
}

static inline struct xgw_store *load_str(const char *file, const char *yaml)
{
	struct xgw_store *st = xgw_store__new();

	if (!ASSERT_OK_PTR(st, "store new"))
		return NULL;
	if (!ASSERT_OK(xgw_store_load_yaml(st, file, yaml, strlen(yaml)), "load yaml")) {
		xgw_store__free(st);
		return NULL;
	}
	return st;
}

static inline void dump_errors(const struct xgw_store *st)
{
	for (size_t i = 0; i < st->n_errors; i++) {
		const struct xgw_decode_error *e = &st->errors[i];

		printf("#   error: %s doc %d line %d %s %s/%s: %s\n", e->origin.file, e->origin.doc,
		       e->origin.line, e->kind ?: "-", e->ns ?: "-", e->name ?: "-", e->message);
	}
}

/* Exactly one decode error, with <msg>; returns it or NULL. */
static inline const struct xgw_decode_error *one_error(const struct xgw_store *st, const char *msg)
{
	if (!ASSERT_EQ(st->n_errors, 1, "one error")) {
		dump_errors(st);
		return NULL;
	}
	if (!ASSERT_STREQ(st->errors[0].message, msg, "error message"))
		return NULL;
	return &st->errors[0];
}

static inline bool no_objects(const struct xgw_store *st)
{
	return !st->n_classes && !st->n_gateways && !st->n_listenersets && !st->n_httproutes &&
	       !st->n_services && !st->n_slices && !st->n_namespaces && !st->n_nodes;
}

#define SVC(name)                                                                                  \
	"apiVersion: v1\nkind: Service\nmetadata:\n  name: " name "\nspec:\n  ports:\n"            \
	"  - port: 80\n"

#endif /* XGW_SELFTESTS_MANIFEST_FIXTURE_H */
