// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The folder source. Each file is decoded into a store of its own, once per
 * change: a file whose (device, inode, size, mtime) did not change since the
 * last load is not read again. The store handed to the reconciler is made of
 * shallow copies of the per-file stores, which are reference-counted so that
 * they live as long as any merged store that points into them.
 *
 * A file with errors is reported once per change; its last good version
 * (the last content that decoded without error) keeps serving. A file broken
 * from the start contributes what decoded.
 *
 * TCPRoutes, UDPRoutes and TLSRoutes compete for a listener by age, as the API
 * server's metadata.creationTimestamp tells. A manifest seldom carries one:
 * those without it get the modification time their file had when the agent
 * first read it (kept across later edits of the file, as an object's age is).
 *
 * The load's shape tells the agent whether anything but EndpointSlices
 * changed: each file's store keeps the text of its documents that are not
 * EndpointSlices (lib/decode.c), and the shape moves on when a file's text
 * differs from what served before, or when a file with such documents comes
 * or goes. Equal shapes: the same objects, in the same order, but for the
 * EndpointSlices, which is what the endpoint fast path needs to know.
 *
 * An object defined twice (same kind, namespace and name, in two files or two
 * documents) is taken once, the last, as `kubectl apply` of the folder would
 * leave it, and logged once, when it starts.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "source_files.h"
#include "warnings.h"
#include "xgw/log.h"

/* A decoded file, shared by the cache entry and the merged stores using it. */
struct fstore {
	struct xgw_store *st;
	int refs;
};

struct entry {
	char *name;
	/* what was last seen on disk (decoded or not) */
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
	/* what serves: the last good version, or a partial one if never good */
	struct fstore *cur;
	bool cur_good;
	bool seen;     /* present in the current listing */
	char born[24]; /* "YYYY-MM-DDTHH:MM:SSZ": mtime at first read */
};

struct xgw_files {
	char *dir;
	struct entry *e;
	size_t n, cap;
	uint64_t shape; /* changes when anything but EndpointSlices does */
	/* the last load's objects defined more than once: logged when new */
	struct xgw_warnings dups;
	/* the shape whose objects but EndpointSlices were found defined once each */
	uint64_t unique_shape;
	bool unique_valid;
};

/* The references a merged store holds. */
struct merged_refs {
	struct fstore **v;
	size_t n;
};

static void fstore_put(struct fstore *fs)
{
	if (fs && --fs->refs == 0) {
		xgw_store__free(fs->st);
		free(fs);
	}
}

static void release_merged(void *arg)
{
	struct merged_refs *m = arg;

	for (size_t i = 0; i < m->n; i++)
		fstore_put(m->v[i]);
	free(m->v);
	free(m);
}

struct xgw_files *xgw_files__new(const char *dir)
{
	struct xgw_files *f = calloc(1, sizeof(*f));

	if (!f || !(f->dir = strdup(dir))) {
		free(f);
		return NULL;
	}
	return f;
}

static void entry_drop(struct entry *e)
{
	fstore_put(e->cur);
	free(e->name);
}

static void dup_found(void *arg, const char *msg)
{
	xgw_warn(arg, "%s", msg);
}

void xgw_files__free(struct xgw_files *f)
{
	if (!f)
		return;
	xgw_warnings_free(&f->dups);
	for (size_t i = 0; i < f->n; i++)
		entry_drop(&f->e[i]);
	free(f->e);
	free(f->dir);
	free(f);
}

bool xgw_files_is_manifest(const char *name)
{
	size_t n = strlen(name);

	if (name[0] == '.')
		return false;
	return (n > 5 && !strcmp(name + n - 5, ".yaml")) ||
	       (n > 4 && !strcmp(name + n - 4, ".yml"));
}

static int entry_cmp(const void *a, const void *b)
{
	return strcmp(((const struct entry *)a)->name, ((const struct entry *)b)->name);
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

static struct entry *find(struct xgw_files *f, const char *name)
{
	for (size_t i = 0; i < f->n; i++)
		if (!strcmp(f->e[i].name, name))
			return &f->e[i];
	return NULL;
}

static struct entry *add_entry(struct xgw_files *f, const char *name)
{
	struct entry *e;

	if (f->n == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 32;
		struct entry *p = realloc(f->e, cap * sizeof(*p));

		if (!p)
			return NULL;
		f->e = p;
		f->cap = cap;
	}
	e = &f->e[f->n];
	memset(e, 0, sizeof(*e));
	if (!(e->name = strdup(name)))
		return NULL;
	f->n++;
	return e;
}

/* Does going from <from> to <to> (either NULL: no file) change anything but EndpointSlices? */
static bool shape_changes(const struct fstore *from, const struct fstore *to)
{
	size_t a = from ? from->st->nonslice_len : 0, b = to ? to->st->nonslice_len : 0;

	return a != b || (a && memcmp(from->st->nonslice, to->st->nonslice, a));
}

/* <fs> serves for <e> from now on. */
static void entry_set(struct xgw_files *f, struct entry *e, struct fstore *fs, bool good)
{
	if (shape_changes(e->cur, fs))
		f->shape++;
	fstore_put(e->cur);
	e->cur = fs;
	e->cur_good = good;
}

/* The L4 routes and BackendTLSPolicies of <st> without a creationTimestamp get <born>. */
static int stamp_l4routes(struct xgw_store *st, const char *born)
{
	for (size_t i = 0; i < st->n_l4routes; i++) {
		struct xgw_meta *m = &st->l4routes[i].meta;

		if (!m->creation_timestamp &&
		    !(m->creation_timestamp = xgw_arena_strdup(&st->arena, born)))
			return -ENOMEM;
	}
	/* BackendTLSPolicies too: the older wins a conflict */
	for (size_t i = 0; i < st->n_btls_policies; i++) {
		struct xgw_meta *m = &st->btls_policies[i].meta;

		if (!m->creation_timestamp &&
		    !(m->creation_timestamp = xgw_arena_strdup(&st->arena, born)))
			return -ENOMEM;
	}
	return 0;
}

/* Decode <e>'s file again after it changed on disk. Returns 0 or -ENOMEM. */
static int refresh(struct xgw_files *f, struct entry *e, const struct stat *sb)
{
	char path[4096];
	struct fstore *fs;
	char *buf = NULL;
	size_t len = 0;
	int err;

	e->dev = sb->st_dev;
	e->ino = sb->st_ino;
	e->size = sb->st_size;
	e->mtime = sb->st_mtim;
	if (!e->born[0]) {
		struct tm tm;

		gmtime_r(&sb->st_mtim.tv_sec, &tm);
		strftime(e->born, sizeof(e->born), "%Y-%m-%dT%H:%M:%SZ", &tm);
	}
	snprintf(path, sizeof(path), "%s/%s", f->dir, e->name);
	err = read_file(path, &buf, &len);
	if (err) {
		log_err("%s: %s%s", path, strerror(-err),
			e->cur ? "; its last good version keeps serving" : "");
		return err == -ENOMEM ? err : 0;
	}
	fs = calloc(1, sizeof(*fs));
	if (!fs || !(fs->st = xgw_store__new())) {
		free(fs);
		free(buf);
		return -ENOMEM;
	}
	fs->refs = 1;
	err = xgw_store_load_yaml(fs->st, path, buf, len);
	free(buf);
	if (!err)
		err = stamp_l4routes(fs->st, e->born);
	if (err) {
		fstore_put(fs);
		return err;
	}
	if (!fs->st->n_errors) {
		entry_set(f, e, fs, true);
		return 0;
	}
	log_errors(fs->st);
	if (e->cur && e->cur_good) {
		log_warn("%s: has errors; its last good version keeps serving", path);
		fstore_put(fs);
		return 0;
	}
	log_warn("%s: has errors; the objects that decoded are used", path);
	entry_set(f, e, fs, false);
	return 0;
}

/* Scan the folder: refresh changed files, forget deleted ones. */
static int scan(struct xgw_files *f)
{
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
	for (size_t i = 0; i < f->n; i++)
		f->e[i].seen = false;
	while (!err && (de = readdir(d))) {
		char path[4096];
		struct entry *e;
		struct stat sb;

		if (!xgw_files_is_manifest(de->d_name))
			continue;
		snprintf(path, sizeof(path), "%s/%s", f->dir, de->d_name);
		if (stat(path, &sb) || !S_ISREG(sb.st_mode))
			continue; /* gone meanwhile, or a directory named *.yaml */
		e = find(f, de->d_name);
		if (!e && !(e = add_entry(f, de->d_name))) {
			err = -ENOMEM;
			break;
		}
		e->seen = true;
		if (e->cur && e->dev == sb.st_dev && e->ino == sb.st_ino && e->size == sb.st_size &&
		    e->mtime.tv_sec == sb.st_mtim.tv_sec && e->mtime.tv_nsec == sb.st_mtim.tv_nsec)
			continue;
		err = refresh(f, e, &sb);
	}
	closedir(d);
	for (size_t i = 0; i < f->n;) {
		if (f->e[i].seen) {
			i++;
			continue;
		}
		if (shape_changes(f->e[i].cur, NULL))
			f->shape++;
		entry_drop(&f->e[i]);
		f->e[i] = f->e[--f->n];
	}
	/* objects appear in file-name order, so the result does not depend on readdir */
	qsort(f->e, f->n, sizeof(*f->e), entry_cmp);
	return err;
}

int xgw_files_load(struct xgw_files *f, struct xgw_store **out, uint64_t *shape)
{
	struct xgw_store *st, **srcs;
	struct merged_refs *refs;
	int err;

	err = scan(f);
	if (err)
		return err;
	st = xgw_store__new();
	refs = calloc(1, sizeof(*refs));
	srcs = calloc(f->n + 1, sizeof(*srcs));
	if (!st || !refs || !srcs || !(refs->v = calloc(f->n + 1, sizeof(*refs->v)))) {
		xgw_store__free(st);
		free(refs);
		free(srcs);
		return -ENOMEM;
	}
	st->release = release_merged;
	st->release_arg = refs;
	for (size_t i = 0; i < f->n; i++) {
		struct fstore *fs = f->e[i].cur;

		if (!fs)
			continue;
		fs->refs++;
		srcs[refs->n] = fs->st;
		refs->v[refs->n++] = fs;
	}
	err = xgw_store_append_all(st, srcs, refs->n);
	free(srcs);
	if (!err) {
		/* a shape without duplicates but slices keeps none: only slices to look at */
		bool slices_only = f->unique_valid && f->unique_shape == f->shape;
		struct xgw_warnings now = { 0 };
		int dropped = xgw_store_dedupe(st, slices_only, dup_found, &now);

		if (dropped < 0) {
			xgw_warnings_free(&now);
			err = -ENOMEM;
		} else {
			f->unique_valid = !dropped;
			f->unique_shape = f->shape;
			xgw_warnings_commit(&f->dups, &now);
		}
	}
	if (err) {
		xgw_store__free(st);
		return err;
	}
	*out = st;
	if (shape)
		*shape = f->shape;
	return 0;
}
