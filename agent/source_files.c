// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "source_files.h"
#include "xgw/log.h"

struct good {
	char *name;
	char *content;
	size_t len;
};

struct xgw_files {
	char *dir;
	struct good *good;
	size_t n_good;
};

struct xgw_files *xgw_files__new(const char *dir)
{
	struct xgw_files *f = calloc(1, sizeof(*f));

	if (!f || !(f->dir = strdup(dir))) {
		free(f);
		return NULL;
	}
	return f;
}

void xgw_files__free(struct xgw_files *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < f->n_good; i++) {
		free(f->good[i].name);
		free(f->good[i].content);
	}
	free(f->good);
	free(f->dir);
	free(f);
}

static bool is_manifest(const char *name)
{
	size_t n = strlen(name);

	if (name[0] == '.')
		return false;
	return (n > 5 && !strcmp(name + n - 5, ".yaml")) ||
	       (n > 4 && !strcmp(name + n - 4, ".yml"));
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int read_file(const char *path, char **out, size_t *len)
{
	FILE *fp = fopen(path, "rbe");
	char *buf = NULL;
	size_t cap = 0, n = 0;
	int err = 0;

	if (!fp)
		return -errno;
	for (;;) {
		if (n == cap) {
			char *p = realloc(buf, cap = cap ? cap * 2 : 16384);

			if (!p) {
				err = -ENOMEM;
				break;
			}
			buf = p;
		}
		size_t r = fread(buf + n, 1, cap - n, fp);

		n += r;
		if (r == 0) {
			if (ferror(fp))
				err = -EIO;
			break;
		}
	}
	fclose(fp);
	if (err) {
		free(buf);
		return err;
	}
	*out = buf;
	*len = n;
	return 0;
}

static struct good *find_good(struct xgw_files *f, const char *name)
{
	for (size_t i = 0; i < f->n_good; i++)
		if (!strcmp(f->good[i].name, name))
			return &f->good[i];
	return NULL;
}

static int keep_good(struct xgw_files *f, const char *name, char *content, size_t len)
{
	struct good *g = find_good(f, name);

	if (!g) {
		struct good *p = realloc(f->good, (f->n_good + 1) * sizeof(*p));

		if (!p)
			return -ENOMEM;
		f->good = p;
		g = &f->good[f->n_good];
		if (!(g->name = strdup(name)))
			return -ENOMEM;
		g->content = NULL;
		f->n_good++;
	}
	free(g->content);
	g->content = content;
	g->len = len;
	return 0;
}

static void log_errors(const struct xgw_store *st)
{
	for (size_t i = 0; i < st->n_errors; i++) {
		const struct xgw_decode_error *e = &st->errors[i];
		char obj[512] = "";

		if (e->kind || e->name)
			snprintf(obj, sizeof(obj), " %s %s%s%s", e->kind ? e->kind : "object",
				 e->ns ? e->ns : "", e->ns ? "/" : "",
				 e->name ? e->name : "(unnamed)");
		log_err("%s: document %d (line %d)%s: %s", e->origin.file, e->origin.doc,
			e->origin.line, obj, e->message);
	}
}

/* Forget last good versions of files that are gone. */
static void drop_missing(struct xgw_files *f, char **names, size_t n)
{
	for (size_t i = 0; i < f->n_good;) {
		bool present = false;

		for (size_t k = 0; k < n && !present; k++)
			present = !strcmp(names[k], f->good[i].name);
		if (present) {
			i++;
			continue;
		}
		free(f->good[i].name);
		free(f->good[i].content);
		f->good[i] = f->good[--f->n_good];
	}
}

int xgw_files_load(struct xgw_files *f, struct xgw_store **out)
{
	struct xgw_store *st = NULL;
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	DIR *d;
	int err = 0;

	d = opendir(f->dir);
	if (!d) {
		err = -errno;
		log_err("config dir %s: %s; keeping the last good configuration", f->dir,
			strerror(-err));
		return err;
	}
	while ((de = readdir(d))) {
		if (!is_manifest(de->d_name))
			continue;
		if (n == cap) {
			char **p = realloc(names, (cap = cap ? cap * 2 : 32) * sizeof(*p));

			if (!p) {
				err = -ENOMEM;
				goto out;
			}
			names = p;
		}
		if (!(names[n] = strdup(de->d_name))) {
			err = -ENOMEM;
			goto out;
		}
		n++;
	}
	qsort(names, n, sizeof(*names), name_cmp);
	st = xgw_store__new();
	if (!st) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		char path[4096];
		char *buf = NULL;
		size_t len = 0;
		struct xgw_store *probe;
		struct good *g;

		snprintf(path, sizeof(path), "%s/%s", f->dir, names[i]);
		err = read_file(path, &buf, &len);
		if (err) {
			log_err("%s: %s", path, strerror(-err));
			g = find_good(f, names[i]);
			if (g && xgw_store_load_yaml(st, path, g->content, g->len) == -ENOMEM)
				goto out;
			err = 0;
			continue;
		}
		probe = xgw_store__new();
		if (!probe || xgw_store_load_yaml(probe, path, buf, len) == -ENOMEM) {
			xgw_store__free(probe);
			free(buf);
			err = -ENOMEM;
			goto out;
		}
		if (!probe->n_errors) {
			xgw_store__free(probe);
			if (xgw_store_load_yaml(st, path, buf, len) == -ENOMEM ||
			    keep_good(f, names[i], buf, len)) {
				free(buf);
				err = -ENOMEM;
				goto out;
			}
			continue;
		}
		log_errors(probe);
		xgw_store__free(probe);
		g = find_good(f, names[i]);
		if (g) {
			log_warn("%s: has errors; its last good version keeps serving", path);
			err = xgw_store_load_yaml(st, path, g->content, g->len);
		} else {
			log_warn("%s: has errors; the objects that decoded are used", path);
			err = xgw_store_load_yaml(st, path, buf, len);
			/* already logged from the probe */
			st->n_errors = 0;
		}
		free(buf);
		if (err == -ENOMEM)
			goto out;
		err = 0;
	}
	drop_missing(f, names, n);
out:
	closedir(d);
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	if (err) {
		xgw_store__free(st);
		return err;
	}
	*out = st;
	return 0;
}
