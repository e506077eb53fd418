/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * YAML to a small generic tree (private to lib/): the decoder walks it and
 * copies what it keeps into the store. A stream yields one document at a time
 * and builds its tree in an arena the caller supplies (and frees when done
 * with the document).
 *
 * The loader is not recursive and bounds what a document may cost: more than
 * XGW_YAML_MAX_NODES nodes once aliases are expanded (the "billion laughs")
 * rejects the document, nesting deeper than XGW_YAML_MAX_DEPTH ends the
 * stream. Aliases are resolved by sharing the anchored node, so the tree is a
 * DAG; an alias to a node that encloses it is rejected, so it is never
 * cyclic. Merge keys ("<<: *base") are applied; mapping keys are scalars and
 * unique. The input must be UTF-8 (or UTF-16 with a BOM).
 */
#ifndef XGW_YAML_TREE_H
#define XGW_YAML_TREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xgw/model.h"

#define XGW_YAML_MAX_DEPTH 64
#define XGW_YAML_MAX_NODES (1u << 20)

enum xgw_ynode_type {
	XGW_YNODE_SCALAR = 1,
	XGW_YNODE_SEQ,
	XGW_YNODE_MAP,
};

/*
 * What a scalar resolves to under the YAML 1.2 core schema: plain "", "~",
 * "null" are null; plain true/false are booleans; plain [-+]?[0-9]+ without
 * leading zeros is an integer (leading zeros are octal in YAML 1.1, so they
 * stay strings rather than silently disagree with kubectl); a quoted scalar
 * or one tagged !!str is a string. An explicit !!int / !!bool / !!null tag
 * applies when the text fits it.
 */
enum xgw_yscalar {
	XGW_YSCALAR_STR = 0,
	XGW_YSCALAR_NULL,
	XGW_YSCALAR_BOOL,
	XGW_YSCALAR_INT,
};

struct xgw_ypair;

struct xgw_ynode {
	enum xgw_ynode_type type;
	int line; /* 1-based */
	union {
		struct {
			char *s; /* NUL-terminated; may hold NULs: see len */
			size_t len;
			char *tag; /* explicit tag, resolved ("tag:yaml.org,2002:str"), or NULL */
			enum xgw_yscalar kind;
			bool quoted; /* any style but plain */
		} scalar;
		struct {
			struct xgw_ynode **items;
			size_t n;
		} seq;
		struct {
			struct xgw_ypair *pairs; /* in document order, merged keys last */
			size_t n;
		} map;
	};
	/* loader bookkeeping */
	size_t weight; /* nodes under this one, aliases expanded */
	bool open;     /* collection still being built */
};

struct xgw_ypair {
	struct xgw_ynode *key; /* always a scalar */
	struct xgw_ynode *value;
};

/* One parsed document, filled by xgw_yaml_stream__next(). */
struct xgw_yaml_doc {
	struct xgw_ynode *root; /* a null scalar for an empty document */
	int index;		/* 1-based document index in the stream */
	int line;		/* 1-based line of the document start */
	int err_line;		/* where the error is, when next() fails */
	char err[256];
	/*
	 * Bytes [start, end) of the input from the document's first token to
	 * its last (directives and "---" included, comments around it not):
	 * two documents with the same bytes there parse to the same tree.
	 * end == 0 when not known: input with a byte order mark, whose
	 * offsets libyaml does not count in bytes of the input.
	 */
	size_t start, end;
};

struct xgw_yaml_stream;

/*
 * Opens a stream over <buf>[0, <len>), which must outlive it. Returns NULL
 * and sets errno (ENOMEM) on failure.
 */
struct xgw_yaml_stream *xgw_yaml_stream__open(const char *buf, size_t len);
void xgw_yaml_stream__free(struct xgw_yaml_stream *ys);

/*
 * Parses the next document into <a>. Returns
 *   1        a document is in <doc>;
 *   0        the stream has ended;
 *   -EBADMSG a syntax error, invalid UTF-8, or nesting deeper than
 *            XGW_YAML_MAX_DEPTH (doc->err, doc->err_line): the stream has
 *            ended, as libyaml cannot resynchronise (or not cheaply);
 *   -EINVAL  the document was well-formed YAML but rejected (too big, bad
 *            alias, duplicate or non-scalar key): doc->err says why, and the
 *            next call goes on with the following document;
 *   -ENOMEM.
 * Nodes of a document stay valid until <a> is freed.
 */
int xgw_yaml_stream__next(struct xgw_yaml_stream *ys, struct xgw_arena *a,
			  struct xgw_yaml_doc *doc);

/* The value under <key> of mapping <map>; NULL if absent or <map> is not a mapping. */
const struct xgw_ynode *xgw_yaml_get(const struct xgw_ynode *map, const char *key);

/* True for an absent node (NULL) and for a null scalar. */
bool xgw_yaml_is_null(const struct xgw_ynode *n);

/* The text of a non-null scalar, or NULL (absent, null, or not a scalar). */
const char *xgw_yaml_str(const struct xgw_ynode *n);

/*
 * The value of an integer scalar. Returns 0, -EINVAL when <n> is not an
 * integer (a quoted "80" is a string, not an integer), -ERANGE when it does
 * not fit an int64_t.
 */
int xgw_yaml_int(const struct xgw_ynode *n, int64_t *out);

/* The value of a boolean scalar. Returns 0 or -EINVAL. */
int xgw_yaml_bool(const struct xgw_ynode *n, bool *out);

/* "a mapping", "a list", "null", "a string"... for error messages. */
const char *xgw_yaml_type_name(const struct xgw_ynode *n);

#endif /* XGW_YAML_TREE_H */
