// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * libyaml events to the tree of yaml_tree.h, one document at a time.
 *
 * Collections are built with an explicit stack of frames (no recursion, so
 * nesting cannot exhaust the C stack): the children of every open collection
 * are pushed on one scratch array and copied into the arena when the
 * collection ends.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "yaml_tree.h"

/* A small open-addressing map from strings to nodes: anchors, and the keys of
 * a mapping while it is checked for duplicates. */
struct smap_slot {
	const char *key; /* NULL: free */
	size_t len;
	struct xgw_ynode *val;
};

struct smap {
	struct smap_slot *slots;
	size_t cap; /* a power of two, or 0 */
	size_t n;
};

struct frame {
	struct xgw_ynode *node;
	size_t start; /* first child in scratch */
};

struct xgw_yaml_stream {
	yaml_parser_t parser;
	const char *buf;
	size_t len;
	bool done;
	bool checked; /* the input's encoding */
	bool in_doc;
	bool no_spans; /* input with a byte order mark: document spans not known */
	bool ascii;    /* no byte >= 0x80: a mark's character index is its byte offset */
	int doc_index;
	/* libyaml's marks count characters: the last one converted to a byte offset */
	size_t mark_chars, mark_bytes;
	/* the document being built */
	struct xgw_arena *a;
	struct xgw_yaml_doc *doc;
	struct frame stack[XGW_YAML_MAX_DEPTH];
	int depth;
	struct xgw_ynode **scratch;
	size_t n_scratch, cap_scratch;
	struct smap anchors;
	size_t weight; /* nodes so far, aliases expanded */
	struct xgw_ynode *root;
};

/* handle_event() results besides 0 (go on) and -errno */
#define EV_DOC_END 1
#define EV_STREAM_END 2

static uint64_t hash_str(const char *s, size_t len)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */

	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ULL;
	}
	return h;
}

static void smap_free(struct smap *m)
{
	free(m->slots);
	memset(m, 0, sizeof(*m));
}

static struct smap_slot *smap_find(const struct smap *m, const char *key, size_t len)
{
	size_t i;

	if (!m->cap)
		return NULL;
	for (i = hash_str(key, len) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
		struct smap_slot *s = &m->slots[i];

		if (!s->key || (s->len == len && !memcmp(s->key, key, len)))
			return s;
	}
}

static int smap_grow(struct smap *m, size_t want)
{
	struct smap old = *m;
	size_t cap = 16;

	while (cap < want * 2) {
		if (cap > SIZE_MAX / 4 / sizeof(*m->slots))
			return -ENOMEM;
		cap *= 2;
	}
	if (cap <= m->cap)
		return 0;
	m->slots = calloc(cap, sizeof(*m->slots));
	if (!m->slots) {
		*m = old;
		return -ENOMEM;
	}
	m->cap = cap;
	m->n = 0;
	for (size_t i = 0; i < old.cap; i++) {
		struct smap_slot *s = &old.slots[i];

		if (s->key) {
			*smap_find(m, s->key, s->len) = *s;
			m->n++;
		}
	}
	free(old.slots);
	return 0;
}

/* Sets <key> to <val>. Returns 1 if the key was new, 0 if it was replaced. */
static int smap_put(struct smap *m, const char *key, size_t len, struct xgw_ynode *val)
{
	struct smap_slot *s;
	int err;

	err = smap_grow(m, m->n + 1);
	if (err)
		return err;
	s = smap_find(m, key, len);
	if (s->key) {
		s->val = val;
		return 0;
	}
	*s = (struct smap_slot){ key, len, val };
	m->n++;
	return 1;
}

/* --- scalars ------------------------------------------------------------ */

static bool is_int_text(const char *s, size_t len)
{
	size_t i = 0;

	if (len && (s[0] == '-' || s[0] == '+'))
		i++;
	if (i == len)
		return false;
	if (s[i] == '0' && len - i > 1)
		return false;
	for (; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

static bool text_is(const char *s, size_t len, const char *const *words)
{
	if (len > 5) /* longer than any of the words ("false") */
		return false;
	for (; *words; words++)
		if (strlen(*words) == len && !memcmp(s, *words, len))
			return true;
	return false;
}

static const char *const null_words[] = { "", "~", "null", "Null", "NULL", NULL };
static const char *const true_words[] = { "true", "True", "TRUE", NULL };
static const char *const false_words[] = { "false", "False", "FALSE", NULL };

static enum xgw_yscalar resolve(const char *s, size_t len, const char *tag, bool plain)
{
	bool is_bool = text_is(s, len, true_words) || text_is(s, len, false_words);

	if (tag) {
		if (!strcmp(tag, YAML_INT_TAG) && is_int_text(s, len))
			return XGW_YSCALAR_INT;
		if (!strcmp(tag, YAML_BOOL_TAG) && is_bool)
			return XGW_YSCALAR_BOOL;
		if (!strcmp(tag, YAML_NULL_TAG))
			return XGW_YSCALAR_NULL;
		/* !!str, the non-specific "!", and tags we do not know */
		return XGW_YSCALAR_STR;
	}
	if (!plain)
		return XGW_YSCALAR_STR;
	if (text_is(s, len, null_words))
		return XGW_YSCALAR_NULL;
	if (is_bool)
		return XGW_YSCALAR_BOOL;
	if (is_int_text(s, len))
		return XGW_YSCALAR_INT;
	return XGW_YSCALAR_STR;
}

/* --- building ----------------------------------------------------------- */

static int mark_line(const yaml_mark_t *mark)
{
	return mark->line >= INT_MAX ? INT_MAX : (int)mark->line + 1;
}

/* Rejects the document being built: <line> and the message go to the caller. */
static int reject(struct xgw_yaml_stream *ys, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int reject(struct xgw_yaml_stream *ys, int line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(ys->doc->err, sizeof(ys->doc->err), fmt, ap);
	va_end(ap);
	ys->doc->err_line = line;
	return -EINVAL;
}

static void reset_doc(struct xgw_yaml_stream *ys)
{
	ys->depth = 0;
	ys->n_scratch = 0;
	ys->weight = 0;
	ys->root = NULL;
	smap_free(&ys->anchors);
}

static int add_weight(struct xgw_yaml_stream *ys, size_t w, const yaml_mark_t *mark)
{
	if (w > XGW_YAML_MAX_NODES - ys->weight)
		return reject(ys, mark_line(mark),
			      "document too large: more than %u nodes (aliases expanded)",
			      XGW_YAML_MAX_NODES);
	ys->weight += w;
	return 0;
}

static struct xgw_ynode *new_node(struct xgw_yaml_stream *ys, enum xgw_ynode_type type,
				  const yaml_mark_t *mark)
{
	struct xgw_ynode *n = xgw_arena_alloc(ys->a, sizeof(*n));

	if (!n)
		return NULL;
	n->type = type;
	n->line = mark_line(mark);
	n->weight = 1;
	return n;
}

static int add_anchor(struct xgw_yaml_stream *ys, const yaml_char_t *anchor, struct xgw_ynode *n)
{
	char *name;
	int err;

	if (!anchor)
		return 0;
	name = xgw_arena_strdup(ys->a, (const char *)anchor);
	if (!name)
		return -ENOMEM;
	/* A later anchor of the same name shadows the earlier one (YAML 1.2). */
	err = smap_put(&ys->anchors, name, strlen(name), n);
	return err < 0 ? err : 0;
}

/* Hands a finished node to the enclosing collection, or makes it the root. */
static int add_child(struct xgw_yaml_stream *ys, struct xgw_ynode *n, const yaml_mark_t *mark)
{
	struct frame *f;

	if (!ys->depth) {
		ys->root = n;
		return 0;
	}
	f = &ys->stack[ys->depth - 1];
	if (f->node->type == XGW_YNODE_MAP && (ys->n_scratch - f->start) % 2 == 0 &&
	    n->type != XGW_YNODE_SCALAR)
		return reject(ys, mark_line(mark), "mapping keys must be scalars, got %s",
			      xgw_yaml_type_name(n));
	if (ys->n_scratch == ys->cap_scratch) {
		size_t cap = ys->cap_scratch ? ys->cap_scratch * 2 : 256;
		struct xgw_ynode **p = reallocarray(ys->scratch, cap, sizeof(*p));

		if (!p)
			return -ENOMEM;
		ys->scratch = p;
		ys->cap_scratch = cap;
	}
	ys->scratch[ys->n_scratch++] = n;
	return 0;
}

static int on_scalar(struct xgw_yaml_stream *ys, const yaml_event_t *ev)
{
	const char *tag = (const char *)ev->data.scalar.tag;
	size_t len = ev->data.scalar.length;
	struct xgw_ynode *n;
	int err;

	err = add_weight(ys, 1, &ev->start_mark);
	if (err)
		return err;
	n = new_node(ys, XGW_YNODE_SCALAR, &ev->start_mark);
	if (!n)
		return -ENOMEM;
	n->scalar.s = xgw_arena_alloc(ys->a, len + 1);
	if (!n->scalar.s)
		return -ENOMEM;
	memcpy(n->scalar.s, ev->data.scalar.value, len);
	n->scalar.len = len;
	n->scalar.quoted = ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE;
	if (tag) {
		n->scalar.tag = xgw_arena_strdup(ys->a, tag);
		if (!n->scalar.tag)
			return -ENOMEM;
	}
	n->scalar.kind = resolve(n->scalar.s, len, tag, !n->scalar.quoted);
	err = add_anchor(ys, ev->data.scalar.anchor, n);
	if (err)
		return err;
	return add_child(ys, n, &ev->start_mark);
}

static int on_alias(struct xgw_yaml_stream *ys, const yaml_event_t *ev)
{
	const char *name = (const char *)ev->data.alias.anchor;
	struct smap_slot *s = smap_find(&ys->anchors, name, strlen(name));
	int err;

	if (!s || !s->key)
		return reject(ys, mark_line(&ev->start_mark), "alias *%s: no such anchor", name);
	if (s->val->open)
		return reject(ys, mark_line(&ev->start_mark),
			      "alias *%s refers to a node that contains it (a cycle)", name);
	err = add_weight(ys, s->val->weight, &ev->start_mark);
	if (err)
		return err;
	return add_child(ys, s->val, &ev->start_mark);
}

static int on_collection_start(struct xgw_yaml_stream *ys, const yaml_event_t *ev,
			       enum xgw_ynode_type type)
{
	const yaml_char_t *anchor = type == XGW_YNODE_MAP ? ev->data.mapping_start.anchor
							  : ev->data.sequence_start.anchor;
	struct xgw_ynode *n;
	int err;

	if (ys->depth == XGW_YAML_MAX_DEPTH) {
		/*
		 * Fatal for the stream, unlike other rejections: libyaml's scanner
		 * costs O(depth) per token in flow context, so skipping the rest of
		 * a deeply nested document would be quadratic in its size.
		 */
		reject(ys, mark_line(&ev->start_mark),
		       "nesting deeper than %d levels: the rest of the file is not read",
		       XGW_YAML_MAX_DEPTH);
		return -EBADMSG;
	}
	err = add_weight(ys, 1, &ev->start_mark);
	if (err)
		return err;
	n = new_node(ys, type, &ev->start_mark);
	if (!n)
		return -ENOMEM;
	n->open = true;
	err = add_anchor(ys, anchor, n);
	if (err)
		return err;
	ys->stack[ys->depth++] = (struct frame){ n, ys->n_scratch };
	return 0;
}

static bool is_merge_key(const struct xgw_ynode *k)
{
	return !k->scalar.quoted && !k->scalar.tag && k->scalar.len == 2 &&
	       !memcmp(k->scalar.s, "<<", 2);
}

/*
 * Sets map->pairs from the <n> key/value nodes in <kv>: keys must be unique;
 * "<<" merges the pairs of a mapping (or of a list of mappings, earlier ones
 * first) whose keys the map does not have itself.
 */
static int finish_map(struct xgw_yaml_stream *ys, struct xgw_ynode *map, struct xgw_ynode **kv,
		      size_t n)
{
	struct xgw_ynode *merge = NULL;
	struct smap seen = {};
	size_t total = n / 2, np = 0;
	struct xgw_ypair *pairs;
	int err = 0;

	for (size_t i = 0; i < n; i += 2) {
		if (!is_merge_key(kv[i]))
			continue;
		if (merge)
			return reject(ys, kv[i]->line, "duplicate mapping key \"<<\"");
		merge = kv[i + 1];
		if (merge->type == XGW_YNODE_MAP) {
			total += merge->map.n;
			continue;
		}
		if (merge->type != XGW_YNODE_SEQ)
			return reject(
				ys, kv[i]->line,
				"merge key \"<<\" needs a mapping or a list of mappings, got %s",
				xgw_yaml_type_name(merge));
		for (size_t j = 0; j < merge->seq.n; j++) {
			if (merge->seq.items[j]->type != XGW_YNODE_MAP)
				return reject(ys, kv[i]->line,
					      "merge key \"<<\": item %zu is %s, not a mapping", j,
					      xgw_yaml_type_name(merge->seq.items[j]));
			total += merge->seq.items[j]->map.n;
		}
	}
	pairs = xgw_arena_alloc(ys->a, total * sizeof(*pairs));
	if (!pairs)
		return -ENOMEM;
	/* Small maps are checked pairwise; a hash keeps large ones linear. */
	if (!merge && total <= 16) {
		for (size_t i = 0; i < n; i += 2) {
			for (size_t j = 0; j < np; j++)
				if (pairs[j].key->scalar.len == kv[i]->scalar.len &&
				    !memcmp(pairs[j].key->scalar.s, kv[i]->scalar.s,
					    kv[i]->scalar.len))
					return reject(ys, kv[i]->line,
						      "duplicate mapping key \"%s\"",
						      kv[i]->scalar.s);
			pairs[np++] = (struct xgw_ypair){ kv[i], kv[i + 1] };
		}
		goto done;
	}
	err = smap_grow(&seen, total);
	if (err)
		return err;
	for (size_t i = 0; i < n; i += 2) {
		if (is_merge_key(kv[i]))
			continue;
		err = smap_put(&seen, kv[i]->scalar.s, kv[i]->scalar.len, kv[i]);
		if (err < 0)
			goto out;
		if (!err) {
			err = reject(ys, kv[i]->line, "duplicate mapping key \"%s\"",
				     kv[i]->scalar.s);
			goto out;
		}
		pairs[np++] = (struct xgw_ypair){ kv[i], kv[i + 1] };
	}
	for (size_t j = 0; merge && j < (merge->type == XGW_YNODE_MAP ? 1 : merge->seq.n); j++) {
		const struct xgw_ynode *src =
			merge->type == XGW_YNODE_MAP ? merge : merge->seq.items[j];

		for (size_t i = 0; i < src->map.n; i++) {
			const struct xgw_ypair *p = &src->map.pairs[i];

			if (smap_find(&seen, p->key->scalar.s, p->key->scalar.len)->key)
				continue;
			err = smap_put(&seen, p->key->scalar.s, p->key->scalar.len, p->key);
			if (err < 0)
				goto out;
			pairs[np++] = *p;
		}
	}
	err = 0;
done:
	map->map.pairs = pairs;
	map->map.n = np;
out:
	smap_free(&seen);
	return err;
}

static int on_collection_end(struct xgw_yaml_stream *ys, const yaml_event_t *ev)
{
	struct frame *f = &ys->stack[--ys->depth];
	struct xgw_ynode *n = f->node;
	struct xgw_ynode **kids = ys->scratch + f->start;
	size_t nk = ys->n_scratch - f->start;
	int err;

	for (size_t i = 0; i < nk; i++)
		n->weight = kids[i]->weight > SIZE_MAX - n->weight ? SIZE_MAX
								   : n->weight + kids[i]->weight;
	if (n->type == XGW_YNODE_SEQ) {
		n->seq.items = xgw_arena_alloc(ys->a, nk * sizeof(*kids));
		if (!n->seq.items)
			return -ENOMEM;
		memcpy(n->seq.items, kids, nk * sizeof(*kids));
		n->seq.n = nk;
	} else {
		err = finish_map(ys, n, kids, nk);
		if (err)
			return err;
	}
	n->open = false;
	ys->n_scratch = f->start;
	return add_child(ys, n, &ev->start_mark);
}

/*
 * The byte offset of mark <m>. libyaml counts code points (a CR LF pair as
 * two), and marks only move forward, so this walks the UTF-8 input (checked
 * by check_encoding()) once over the whole stream.
 */
/* No byte of <buf> has its high bit set (eight at a time). */
static bool is_ascii(const char *buf, size_t len)
{
	uint64_t acc = 0;
	size_t i = 0;

	for (; i + 8 <= len; i += 8) {
		uint64_t w;

		memcpy(&w, buf + i, 8);
		acc |= w;
	}
	for (; i < len; i++)
		acc |= (uint8_t)buf[i];
	return !(acc & 0x8080808080808080ull);
}

/* The byte offset of mark <m> (libyaml counts characters). */
static size_t mark_byte(struct xgw_yaml_stream *ys, const yaml_mark_t *m)
{
	const unsigned char *u = (const unsigned char *)ys->buf;

	if (ys->ascii)
		return m->index < ys->len ? m->index : ys->len;
	if (m->index < ys->mark_chars) {
		ys->mark_chars = 0;
		ys->mark_bytes = 0;
	}
	while (ys->mark_chars < m->index && ys->mark_bytes < ys->len) {
		ys->mark_bytes++;
		while (ys->mark_bytes < ys->len && (u[ys->mark_bytes] & 0xc0) == 0x80)
			ys->mark_bytes++;
		ys->mark_chars++;
	}
	return ys->mark_bytes;
}

static int handle_event(struct xgw_yaml_stream *ys, const yaml_event_t *ev)
{
	switch (ev->type) {
	case YAML_DOCUMENT_START_EVENT:
		reset_doc(ys);
		ys->in_doc = true;
		ys->doc->index = ++ys->doc_index;
		ys->doc->line = mark_line(&ev->start_mark);
		if (!ys->no_spans)
			ys->doc->start = mark_byte(ys, &ev->start_mark);
		return 0;
	case YAML_DOCUMENT_END_EVENT:
		ys->in_doc = false;
		ys->doc->root = ys->root;
		if (!ys->no_spans)
			ys->doc->end = mark_byte(ys, &ev->end_mark);
		return EV_DOC_END;
	case YAML_STREAM_END_EVENT:
		return EV_STREAM_END;
	case YAML_SCALAR_EVENT:
		return on_scalar(ys, ev);
	case YAML_ALIAS_EVENT:
		return on_alias(ys, ev);
	case YAML_SEQUENCE_START_EVENT:
		return on_collection_start(ys, ev, XGW_YNODE_SEQ);
	case YAML_MAPPING_START_EVENT:
		return on_collection_start(ys, ev, XGW_YNODE_MAP);
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		return on_collection_end(ys, ev);
	default:
		return 0;
	}
}

/*
 * Offset of the first byte of <buf> that is not valid UTF-8 or is a character
 * YAML forbids (libyaml's reader rules), or <len> when there is none.
 * libyaml decodes its input ahead of the parser in 16 KiB chunks, so its own
 * check would drop a varying number of good documents before a bad byte;
 * checking first makes that deterministic.
 */
static size_t bad_char(const unsigned char *buf, size_t len)
{
	size_t i = 0;

	while (i < len) {
		unsigned char c = buf[i];
		uint32_t v;
		size_t n;

		if (c < 0x80) {
			if (c < 0x20 && c != '\t' && c != '\n' && c != '\r')
				return i;
			if (c == 0x7f)
				return i;
			i++;
			continue;
		}
		if ((c & 0xe0) == 0xc0) {
			n = 2;
			v = c & 0x1f;
		} else if ((c & 0xf0) == 0xe0) {
			n = 3;
			v = c & 0x0f;
		} else if ((c & 0xf8) == 0xf0) {
			n = 4;
			v = c & 0x07;
		} else {
			return i;
		}
		if (n > len - i)
			return i;
		for (size_t k = 1; k < n; k++) {
			if ((buf[i + k] & 0xc0) != 0x80)
				return i;
			v = v << 6 | (buf[i + k] & 0x3f);
		}
		/* overlong forms, surrogates, beyond Unicode, C1 controls but NEL */
		if ((n == 2 && v < 0x80) || (n == 3 && v < 0x800) || (n == 4 && v < 0x10000) ||
		    (v >= 0xd800 && v <= 0xdfff) || v > 0x10ffff ||
		    (v >= 0x80 && v < 0xa0 && v != 0x85) || v == 0xfffe || v == 0xffff)
			return i;
		i += n;
	}
	return len;
}

static int line_at(const char *buf, size_t off)
{
	int line = 1;

	for (size_t i = 0; i < off; i++)
		if (buf[i] == '\n' && line < INT_MAX)
			line++;
	return line;
}

/* Records the parser's error in the document and ends the stream. */
static int syntax_error(struct xgw_yaml_stream *ys, struct xgw_yaml_doc *doc)
{
	yaml_parser_t *p = &ys->parser;
	int line = mark_line(&p->problem_mark);

	ys->done = true;
	if (p->error == YAML_MEMORY_ERROR)
		return -ENOMEM;
	if (!ys->in_doc)
		doc->index = ys->doc_index + 1;
	/* Reader errors (bad encoding) carry an offset, not a mark. */
	if (p->error == YAML_READER_ERROR)
		line = line_at(ys->buf, p->problem_offset < ys->len ? p->problem_offset : ys->len);
	doc->err_line = line;
	if (p->context)
		snprintf(doc->err, sizeof(doc->err),
			 "YAML syntax error: %s %s that starts on line %d",
			 p->problem ? p->problem : "error", p->context,
			 mark_line(&p->context_mark));
	else
		snprintf(doc->err, sizeof(doc->err), "YAML syntax error: %s",
			 p->problem ? p->problem : "error");
	return -EBADMSG;
}

/* The whole input, before the first document: -EBADMSG ends the stream. */
static int check_encoding(struct xgw_yaml_stream *ys, struct xgw_yaml_doc *doc)
{
	const unsigned char *u = (const unsigned char *)ys->buf;
	size_t bad;

	/* UTF-16 (with its BOM) is left to libyaml. */
	if (ys->len >= 2 && ((u[0] == 0xff && u[1] == 0xfe) || (u[0] == 0xfe && u[1] == 0xff)))
		return 0;
	bad = bad_char(u, ys->len);
	if (bad == ys->len)
		return 0;
	ys->done = true;
	doc->err_line = line_at(ys->buf, bad);
	snprintf(doc->err, sizeof(doc->err),
		 "invalid UTF-8 or a control character (byte 0x%02x at offset %zu): the file is "
		 "not loaded",
		 u[bad], bad);
	return -EBADMSG;
}

/* After a rejected document: skips to its end. */
static int drain(struct xgw_yaml_stream *ys, struct xgw_yaml_doc *doc)
{
	yaml_event_t ev;

	for (;;) {
		yaml_event_type_t type;

		if (!yaml_parser_parse(&ys->parser, &ev))
			return syntax_error(ys, doc);
		type = ev.type;
		yaml_event_delete(&ev);
		if (type == YAML_DOCUMENT_END_EVENT) {
			ys->in_doc = false;
			return -EINVAL;
		}
		if (type == YAML_STREAM_END_EVENT) {
			ys->done = true;
			return -EINVAL;
		}
	}
}

int xgw_yaml_stream__next(struct xgw_yaml_stream *ys, struct xgw_arena *a, struct xgw_yaml_doc *doc)
{
	yaml_event_t ev;
	int ret;

	memset(doc, 0, sizeof(*doc));
	if (ys->done)
		return 0;
	if (!ys->checked) {
		ys->checked = true;
		ret = check_encoding(ys, doc);
		if (ret)
			return ret;
	}
	ys->a = a;
	ys->doc = doc;
	do {
		if (!yaml_parser_parse(&ys->parser, &ev)) {
			ret = syntax_error(ys, doc);
			goto out;
		}
		ret = handle_event(ys, &ev);
		yaml_event_delete(&ev);
	} while (!ret);

	switch (ret) {
	case EV_DOC_END:
		ret = 1;
		break;
	case EV_STREAM_END:
		ys->done = true;
		ret = 0;
		break;
	case -EINVAL:
		ret = drain(ys, doc);
		break;
	case -EBADMSG:
		ys->done = true;
		break;
	default:
		/* -ENOMEM: the builder's state is lost */
		ys->done = true;
		break;
	}
out:
	reset_doc(ys);
	ys->a = NULL;
	ys->doc = NULL;
	return ret;
}

struct xgw_yaml_stream *xgw_yaml_stream__open(const char *buf, size_t len)
{
	struct xgw_yaml_stream *ys = calloc(1, sizeof(*ys));

	if (!ys)
		return NULL;
	if (!yaml_parser_initialize(&ys->parser)) {
		free(ys);
		errno = ENOMEM;
		return NULL;
	}
	yaml_parser_set_input_string(&ys->parser, (const unsigned char *)buf, len);
	ys->buf = buf;
	ys->len = len;
	/* a byte order mark (UTF-8 or UTF-16): libyaml's marks are not our bytes */
	ys->no_spans = (len >= 3 && !memcmp(buf, "\xef\xbb\xbf", 3)) ||
		       (len >= 2 && (!memcmp(buf, "\xff\xfe", 2) || !memcmp(buf, "\xfe\xff", 2)));
	ys->ascii = is_ascii(buf, len);
	return ys;
}

void xgw_yaml_stream__free(struct xgw_yaml_stream *ys)
{
	if (!ys)
		return;
	yaml_parser_delete(&ys->parser);
	smap_free(&ys->anchors);
	free(ys->scratch);
	free(ys);
}

/* --- accessors ---------------------------------------------------------- */

const struct xgw_ynode *xgw_yaml_get(const struct xgw_ynode *map, const char *key)
{
	size_t len = strlen(key);

	if (!map || map->type != XGW_YNODE_MAP)
		return NULL;
	for (size_t i = 0; i < map->map.n; i++) {
		const struct xgw_ynode *k = map->map.pairs[i].key;

		if (k->scalar.len == len && !memcmp(k->scalar.s, key, len))
			return map->map.pairs[i].value;
	}
	return NULL;
}

bool xgw_yaml_is_null(const struct xgw_ynode *n)
{
	return !n || (n->type == XGW_YNODE_SCALAR && n->scalar.kind == XGW_YSCALAR_NULL);
}

const char *xgw_yaml_str(const struct xgw_ynode *n)
{
	if (xgw_yaml_is_null(n) || n->type != XGW_YNODE_SCALAR)
		return NULL;
	return n->scalar.s;
}

int xgw_yaml_int(const struct xgw_ynode *n, int64_t *out)
{
	long long v;
	char *end;

	if (!n || n->type != XGW_YNODE_SCALAR || n->scalar.kind != XGW_YSCALAR_INT)
		return -EINVAL;
	errno = 0;
	v = strtoll(n->scalar.s, &end, 10);
	if (errno == ERANGE)
		return -ERANGE;
	if (end != n->scalar.s + n->scalar.len)
		return -EINVAL;
	*out = v;
	return 0;
}

int xgw_yaml_bool(const struct xgw_ynode *n, bool *out)
{
	if (!n || n->type != XGW_YNODE_SCALAR || n->scalar.kind != XGW_YSCALAR_BOOL)
		return -EINVAL;
	*out = text_is(n->scalar.s, n->scalar.len, true_words);
	return 0;
}

const char *xgw_yaml_type_name(const struct xgw_ynode *n)
{
	if (!n)
		return "nothing";
	switch (n->type) {
	case XGW_YNODE_MAP:
		return "a mapping";
	case XGW_YNODE_SEQ:
		return "a list";
	case XGW_YNODE_SCALAR:
		break;
	}
	switch (n->scalar.kind) {
	case XGW_YSCALAR_NULL:
		return "null";
	case XGW_YSCALAR_BOOL:
		return "a boolean";
	case XGW_YSCALAR_INT:
		return "an integer";
	case XGW_YSCALAR_STR:
		break;
	}
	return "a string";
}
