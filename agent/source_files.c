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
 * leave it, and logged once, when it starts. The source keeps how many times
 * each name is defined across the files that serve, updated file by file, so
 * that a load looks for duplicates among all objects only when there are
 * some: a change of one file at 10,000 objects costs its own objects, not a
 * pass over all of them.
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

/* A name (kind, namespace, name) and how many objects of the serving files have it. */
struct name {
	char *key; /* NULL: an empty slot */
	uint64_t hash;
	uint32_t count;
};

struct names {
	struct name *v;
	size_t mask;   /* slots - 1 (0: no table yet) */
	size_t used;   /* slots with a key */
	size_t unused; /* ... whose count is 0 */
	size_t dups;   /* names of count > 1 */
	bool broken;   /* out of memory once: the counts are not to be trusted */
};

struct xgw_files {
	char *dir;
	struct entry *e;
	size_t n, cap;
	size_t n_sorted; /* e[0 .. n_sorted) are in name order (the last scan's) */
	uint64_t shape;	 /* changes when anything but EndpointSlices does */
	/* xgw_files_watched(): the files named since the last scan, or all */
	bool watched, scanned, all;
	char **touched;
	size_t n_touched, cap_touched;
	/* the last load's objects defined more than once: logged when new */
	struct xgw_warnings dups;
	struct names names;
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

#define MAX_TOUCHED 4096 /* more names between two loads: the folder is read whole */

static void touched_clear(struct xgw_files *f);

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

/* --- names defined, and how many times ------------------------------------- */

static void names_free(struct names *ix)
{
	for (size_t i = 0; ix->mask && i <= ix->mask; i++)
		free(ix->v[i].key);
	free(ix->v);
	memset(ix, 0, sizeof(*ix));
}

/* The slot of <key> (<hash>), or the empty slot where it would go. */
static struct name *names_find(struct names *ix, const char *key, uint64_t hash)
{
	size_t h = (size_t)hash & ix->mask;

	for (; ix->v[h].key; h = (h + 1) & ix->mask)
		if (ix->v[h].hash == hash && !strcmp(ix->v[h].key, key))
			break;
	return &ix->v[h];
}

/* A table of twice <live>'s slots or more, holding the names of count > 0. */
static int names_rehash(struct names *ix, size_t live)
{
	struct names nx = { .dups = ix->dups, .broken = ix->broken };
	size_t size = 64;

	while (size < 4 * live + 4)
		size *= 2;
	nx.v = calloc(size, sizeof(*nx.v));
	if (!nx.v)
		return -ENOMEM;
	nx.mask = size - 1;
	for (size_t i = 0; ix->mask && i <= ix->mask; i++) {
		struct name *o = &ix->v[i];

		if (!o->key)
			continue;
		if (!o->count) {
			free(o->key);
			continue;
		}
		*names_find(&nx, o->key, o->hash) = *o;
		nx.used++;
	}
	free(ix->v);
	*ix = nx;
	return 0;
}

struct names_op {
	struct names *ix;
	int delta; /* +1: a file's objects come, -1: they go */
};

static int names_one(void *arg, const char *kind, const struct xgw_meta *m)
{
	struct names_op *op = arg;
	struct names *ix = op->ix;
	const char *ns = m->ns ? m->ns : "", *nm = m->name ? m->name : "";
	size_t lk = strlen(kind), ln = strlen(ns), lm = strlen(nm);
	char stack[256],
		*key = lk + ln + lm + 3 <= sizeof(stack) ? stack : malloc(lk + ln + lm + 3);
	uint64_t hash = 0xcbf29ce484222325ULL;
	struct name *n;

	if (!key)
		return -ENOMEM;
	/* kind, namespace and name, as xgw_store_dedupe() compares them */
	memcpy(key, kind, lk);
	key[lk] = '\n';
	memcpy(key + lk + 1, ns, ln);
	key[lk + 1 + ln] = '\n';
	memcpy(key + lk + ln + 2, nm, lm + 1);
	for (const char *p = key; *p; p++)
		hash = (hash ^ (unsigned char)*p) * 0x100000001b3ULL;
	if (4 * (ix->used + 1) > 3 * (ix->mask + 1) && names_rehash(ix, ix->used - ix->unused + 1))
		goto oom;
	n = names_find(ix, key, hash);
	if (!n->key) {
		if (op->delta < 0)
			goto out; /* cannot be: a name that went was there */
		n->key = strdup(key);
		if (!n->key)
			goto oom;
		n->hash = hash;
		ix->used++;
		ix->unused++;
	}
	if (op->delta > 0) {
		ix->unused -= n->count == 0;
		ix->dups += n->count == 1;
		n->count++;
	} else if (n->count) {
		n->count--;
		ix->dups -= n->count == 1;
		ix->unused += n->count == 0;
	}
out:
	if (key != stack)
		free(key);
	return 0;
oom:
	if (key != stack)
		free(key);
	return -ENOMEM;
}

/* The objects of <fs> (NULL: none) come (+1) to the serving files, or go (-1). */
static void names_apply(struct names *ix, const struct fstore *fs, int delta)
{
	struct names_op op = { ix, delta };

	if (!fs || ix->broken)
		return;
	if (xgw_store_each(fs->st, names_one, &op)) {
		/* the counts are wrong from now on: every load looks at all objects */
		ix->broken = true;
		return;
	}
	/* names that nothing defines any more: dropped once they are most */
	if (ix->unused > 4096 && 2 * ix->unused > ix->used &&
	    names_rehash(ix, ix->used - ix->unused))
		ix->broken = true;
}

void xgw_files__free(struct xgw_files *f)
{
	if (!f)
		return;
	xgw_warnings_free(&f->dups);
	names_free(&f->names);
	for (size_t i = 0; i < f->n; i++)
		entry_drop(&f->e[i]);
	free(f->e);
	touched_clear(f);
	free(f->touched);
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

/*
 * The entry of file <name>: by bisection among those the last scan sorted,
 * else among the few it found since (a folder of 10,000 files was searched
 * whole for each of them at every change).
 */
static struct entry *find(struct xgw_files *f, const char *name)
{
	size_t lo = 0, hi = f->n_sorted;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int d = strcmp(f->e[mid].name, name);

		if (!d)
			return &f->e[mid];
		if (d < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = f->n_sorted; i < f->n; i++)
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
	names_apply(&f->names, e->cur, -1);
	names_apply(&f->names, fs, +1);
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

/* The file of <e> is gone: its objects leave the names and the shape. */
static void entry_gone(struct xgw_files *f, struct entry *e)
{
	if (shape_changes(e->cur, NULL))
		f->shape++;
	names_apply(&f->names, e->cur, -1);
	entry_drop(e);
}

/* Forget the file of e[<i>], keeping the others in their order. */
static void entry_forget(struct xgw_files *f, size_t i)
{
	entry_gone(f, &f->e[i]);
	memmove(&f->e[i], &f->e[i + 1], (f->n - i - 1) * sizeof(*f->e));
	f->n--;
	if (i < f->n_sorted)
		f->n_sorted--;
}

/*
 * File <name> of the folder (<dfd>) as it is now: read again when it
 * changed, added when new. Sets *<there> when it is a regular file.
 * Returns 0 or -ENOMEM.
 */
static int visit(struct xgw_files *f, int dfd, const char *name, bool *there)
{
	struct entry *e;
	struct stat sb;

	*there = false;
	if (!xgw_files_is_manifest(name) || fstatat(dfd, name, &sb, 0) || !S_ISREG(sb.st_mode))
		return 0; /* gone meanwhile, or a directory named *.yaml */
	*there = true;
	e = find(f, name);
	if (!e && !(e = add_entry(f, name)))
		return -ENOMEM;
	e->seen = true;
	if (e->cur && e->dev == sb.st_dev && e->ino == sb.st_ino && e->size == sb.st_size &&
	    e->mtime.tv_sec == sb.st_mtim.tv_sec && e->mtime.tv_nsec == sb.st_mtim.tv_nsec)
		return 0;
	return refresh(f, e, &sb);
}

/*
 * Objects appear in file-name order, so that the result does not depend on
 * readdir: the files found since the last sort are sorted and merged in
 * (few, between two changes), or all sorted when they are many.
 */
static void order(struct xgw_files *f)
{
	size_t tail = f->n - f->n_sorted;
	struct entry *v;

	if (!tail)
		return;
	if (tail > 64 || !(v = malloc(f->n * sizeof(*v)))) {
		qsort(f->e, f->n, sizeof(*f->e), entry_cmp);
		f->n_sorted = f->n;
		return;
	}
	qsort(f->e + f->n_sorted, tail, sizeof(*f->e), entry_cmp);
	for (size_t a = 0, b = f->n_sorted, k = 0; k < f->n; k++)
		v[k] = b == f->n || (a < f->n_sorted && entry_cmp(&f->e[a], &f->e[b]) <= 0)
			       ? f->e[a++]
			       : f->e[b++];
	memcpy(f->e, v, f->n * sizeof(*v));
	free(v);
	f->n_sorted = f->n;
}

/* Read the whole folder: refresh changed files, forget deleted ones. */
static int scan_all(struct xgw_files *f, DIR *d)
{
	struct dirent *de;
	size_t w = 0, kept_sorted = 0;
	int err = 0;

	for (size_t i = 0; i < f->n; i++)
		f->e[i].seen = false;
	while (!err && (de = readdir(d))) {
		bool there;

		err = visit(f, dirfd(d), de->d_name, &there);
	}
	/* forget the files not seen, the others keeping their order */
	for (size_t i = 0; i < f->n; i++) {
		if (f->e[i].seen) {
			kept_sorted += i < f->n_sorted;
			f->e[w++] = f->e[i];
			continue;
		}
		entry_gone(f, &f->e[i]);
	}
	f->n = w;
	f->n_sorted = kept_sorted; /* the sorted ones that stay stay sorted, first */
	return err;
}

/* Only the files the watcher named: a change costs what it touched, not the folder's size. */
static int scan_touched(struct xgw_files *f, int dfd)
{
	int err = 0;

	for (size_t k = 0; k < f->n_touched && !err; k++) {
		bool there;

		err = visit(f, dfd, f->touched[k], &there);
		if (!err && !there) {
			struct entry *e = find(f, f->touched[k]);

			if (e)
				entry_forget(f, (size_t)(e - f->e));
		}
	}
	return err;
}

static void touched_clear(struct xgw_files *f)
{
	for (size_t k = 0; k < f->n_touched; k++)
		free(f->touched[k]);
	f->n_touched = 0;
	f->all = false;
}

void xgw_files_watched(struct xgw_files *f)
{
	f->watched = true;
}

void xgw_files_touched(struct xgw_files *f, const char *name)
{
	char **v;

	if (f->all)
		return;
	if (f->n_touched == MAX_TOUCHED) { /* a burst: read the folder */
		xgw_files_touched_all(f);
		return;
	}
	if (f->n_touched == f->cap_touched) {
		size_t cap = f->cap_touched ? 2 * f->cap_touched : 16;

		if (!(v = realloc(f->touched, cap * sizeof(*v)))) {
			xgw_files_touched_all(f);
			return;
		}
		f->touched = v;
		f->cap_touched = cap;
	}
	if (!(f->touched[f->n_touched] = strdup(name))) {
		xgw_files_touched_all(f);
		return;
	}
	f->n_touched++;
}

void xgw_files_touched_all(struct xgw_files *f)
{
	touched_clear(f);
	f->all = true;
}

/* Read what changed in the folder since the last scan. */
static int scan(struct xgw_files *f)
{
	DIR *d;
	int err;

	d = opendir(f->dir);
	if (!d) {
		err = -errno;
		log_err("config dir %s: %s; keeping the last good configuration", f->dir,
			strerror(-err));
		return err;
	}
	if (f->watched && f->scanned && !f->all)
		err = scan_touched(f, dirfd(d));
	else
		err = scan_all(f, d);
	closedir(d);
	order(f);
	if (!err) { /* else the same again next time */
		touched_clear(f);
		f->scanned = true;
	}
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
		struct xgw_warnings now = { 0 };
		/* no name defined twice: nothing to look for among all the objects */
		int dropped = f->names.dups || f->names.broken
				      ? xgw_store_dedupe(st, false, dup_found, &now)
				      : 0;

		if (dropped < 0) {
			xgw_warnings_free(&now);
			err = -ENOMEM;
		} else {
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
