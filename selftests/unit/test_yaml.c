// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The layer beneath the manifest decoder: the arena, the YAML loader
 * (lib/yaml_tree.h, private to lib/ and tested here through its header) and
 * what hostile YAML gets: syntax errors, bad encodings, document shapes, deep
 * nesting, alias bombs and duplicate keys.
 */
#include "manifest-fixture.h"

/* --- the arena ---------------------------------------------------------- */

TEST(arena)
{
	struct xgw_arena a = {};
	unsigned char *p, *big;
	char *s;

	for (size_t size = 0; size < 3000; size += 7) {
		p = xgw_arena_alloc(&a, size);
		if (!ASSERT_OK_PTR(p, "alloc") ||
		    !ASSERT_EQ((uintptr_t)p % 16, 0, "16-byte aligned"))
			goto out;
		for (size_t i = 0; i < size; i++)
			if (p[i]) {
				ASSERT_EQ(p[i], 0, "zeroed");
				goto out;
			}
		memset(p, 0xa5, size);
	}
	big = xgw_arena_alloc(&a, 1 << 20);
	if (!ASSERT_OK_PTR(big, "big alloc") || !ASSERT_EQ((uintptr_t)big % 16, 0, "big aligned") ||
	    !ASSERT_EQ(big[0] | big[(1 << 20) - 1], 0, "big zeroed"))
		goto out;
	memset(big, 0x5a, 1 << 20);
	/* small allocations still come from the shared block after a big one */
	p = xgw_arena_alloc(&a, 8);
	ASSERT_OK_PTR(p, "alloc after big");
	s = xgw_arena_strdup(&a, "gateway");
	ASSERT_STREQ(s, "gateway", "strdup");
	s = xgw_arena_strndup(&a, "gateway", 4);
	ASSERT_STREQ(s, "gate", "strndup");
	s = xgw_arena_strndup(&a, "gw", 100);
	ASSERT_STREQ(s, "gw", "strndup past the end");
	s = xgw_arena_printf(&a, "%s/%s:%d", "default", "eg", 80);
	ASSERT_STREQ(s, "default/eg:80", "printf");
out:
	xgw_arena_free(&a);
	ASSERT_TRUE(a.head == NULL, "freed");
	/* reusable after free, and free(NULL-arena) is harmless */
	ASSERT_OK_PTR(xgw_arena_alloc(&a, 1), "alloc after free");
	xgw_arena_free(&a);
	xgw_arena_free(NULL);
}

/* --- the YAML loader ---------------------------------------------------- */

TEST(yaml_scalars)
{
	static const char yaml[] = "plain: 80\n"
				   "quoted: \"80\"\n"
				   "tagged: !!int \"81\"\n"
				   "str: !!str 82\n"
				   "neg: -5\n"
				   "plus: +7\n"
				   "octalish: 0755\n"
				   "big: 9223372036854775808\n"
				   "float: 1.5\n"
				   "t: true\n"
				   "f: False\n"
				   "yes: yes\n"
				   "n1: ~\n"
				   "n2: null\n"
				   "n3:\n"
				   "e: ''\n"
				   "seq: [a, b]\n";
	struct xgw_yaml_stream *ys = xgw_yaml_stream__open(yaml, sizeof(yaml) - 1);
	struct xgw_arena a = {};
	struct xgw_yaml_doc doc;
	const struct xgw_ynode *r;
	int64_t v = 0;
	bool b = false;

	if (!ASSERT_OK_PTR(ys, "open"))
		return;
	if (!ASSERT_EQ(xgw_yaml_stream__next(ys, &a, &doc), 1, "one document"))
		goto out;
	r = doc.root;
	ASSERT_EQ(doc.index, 1, "doc index");
	ASSERT_EQ(doc.line, 1, "doc line");
	ASSERT_OK(xgw_yaml_int(xgw_yaml_get(r, "plain"), &v), "plain int");
	ASSERT_EQ(v, 80, "plain value");
	ASSERT_EQ(xgw_yaml_get(r, "plain")->line, 1, "line of a value");
	ASSERT_EQ(xgw_yaml_int(xgw_yaml_get(r, "quoted"), &v), -EINVAL, "quoted is a string");
	ASSERT_STREQ(xgw_yaml_str(xgw_yaml_get(r, "quoted")), "80", "quoted text");
	ASSERT_TRUE(xgw_yaml_get(r, "quoted")->scalar.quoted, "quoted flag");
	ASSERT_FALSE(xgw_yaml_get(r, "plain")->scalar.quoted, "plain flag");
	ASSERT_OK(xgw_yaml_int(xgw_yaml_get(r, "tagged"), &v), "!!int");
	ASSERT_EQ(v, 81, "!!int value");
	ASSERT_EQ(xgw_yaml_int(xgw_yaml_get(r, "str"), &v), -EINVAL, "!!str");
	ASSERT_OK(xgw_yaml_int(xgw_yaml_get(r, "neg"), &v), "negative");
	ASSERT_EQ(v, -5, "negative value");
	ASSERT_OK(xgw_yaml_int(xgw_yaml_get(r, "plus"), &v), "plus sign");
	ASSERT_EQ(v, 7, "plus value");
	ASSERT_EQ(xgw_yaml_int(xgw_yaml_get(r, "octalish"), &v), -EINVAL, "leading zero");
	ASSERT_EQ(xgw_yaml_int(xgw_yaml_get(r, "big"), &v), -ERANGE, "out of range");
	ASSERT_EQ(xgw_yaml_int(xgw_yaml_get(r, "float"), &v), -EINVAL, "float");
	ASSERT_EQ(xgw_yaml_int(xgw_yaml_get(r, "seq"), &v), -EINVAL, "list");
	ASSERT_EQ(xgw_yaml_int(xgw_yaml_get(r, "missing"), &v), -EINVAL, "absent");
	ASSERT_OK(xgw_yaml_bool(xgw_yaml_get(r, "t"), &b), "true");
	ASSERT_TRUE(b, "true value");
	ASSERT_OK(xgw_yaml_bool(xgw_yaml_get(r, "f"), &b), "False");
	ASSERT_FALSE(b, "False value");
	ASSERT_EQ(xgw_yaml_bool(xgw_yaml_get(r, "yes"), &b), -EINVAL, "yes is YAML 1.1 only");
	ASSERT_TRUE(xgw_yaml_is_null(xgw_yaml_get(r, "n1")), "~");
	ASSERT_TRUE(xgw_yaml_is_null(xgw_yaml_get(r, "n2")), "null");
	ASSERT_TRUE(xgw_yaml_is_null(xgw_yaml_get(r, "n3")), "empty");
	ASSERT_TRUE(xgw_yaml_is_null(xgw_yaml_get(r, "missing")), "absent");
	ASSERT_FALSE(xgw_yaml_is_null(xgw_yaml_get(r, "e")), "'' is a string");
	ASSERT_STREQ(xgw_yaml_str(xgw_yaml_get(r, "e")), "", "'' text");
	ASSERT_TRUE(xgw_yaml_str(xgw_yaml_get(r, "n2")) == NULL, "null has no text");
	ASSERT_TRUE(xgw_yaml_str(xgw_yaml_get(r, "seq")) == NULL, "list has no text");
	ASSERT_EQ(xgw_yaml_get(r, "seq")->seq.n, 2, "list length");
	ASSERT_EQ(xgw_yaml_stream__next(ys, &a, &doc), 0, "end");
	ASSERT_EQ(xgw_yaml_stream__next(ys, &a, &doc), 0, "still the end");
out:
	xgw_arena_free(&a);
	xgw_yaml_stream__free(ys);
}

TEST(yaml_aliases_and_merge)
{
	static const char yaml[] = "base: &base {port: 80, protocol: HTTP}\n"
				   "l1:\n"
				   "  <<: *base\n"
				   "  name: one\n"
				   "l2:\n"
				   "  <<: [{port: 8080}, *base]\n"
				   "  name: two\n"
				   "  protocol: HTTPS\n"
				   "copy: *base\n";
	struct xgw_yaml_stream *ys = xgw_yaml_stream__open(yaml, sizeof(yaml) - 1);
	struct xgw_arena a = {};
	struct xgw_yaml_doc doc;
	const struct xgw_ynode *r, *l;
	int64_t v = 0;

	if (!ASSERT_OK_PTR(ys, "open"))
		return;
	if (!ASSERT_EQ(xgw_yaml_stream__next(ys, &a, &doc), 1, "document")) {
		printf("#   %s (line %d)\n", doc.err, doc.err_line);
		goto out;
	}
	r = doc.root;
	ASSERT_TRUE(xgw_yaml_get(r, "copy") == xgw_yaml_get(r, "base"), "alias shares the node");
	l = xgw_yaml_get(r, "l1");
	ASSERT_EQ(l->map.n, 3, "l1 keys");
	ASSERT_STREQ(xgw_yaml_str(xgw_yaml_get(l, "name")), "one", "l1 own key");
	ASSERT_OK(xgw_yaml_int(xgw_yaml_get(l, "port"), &v), "l1 merged port");
	ASSERT_EQ(v, 80, "l1 port");
	l = xgw_yaml_get(r, "l2");
	ASSERT_EQ(l->map.n, 3, "l2 keys");
	ASSERT_STREQ(xgw_yaml_str(xgw_yaml_get(l, "protocol")), "HTTPS", "own key wins");
	ASSERT_OK(xgw_yaml_int(xgw_yaml_get(l, "port"), &v), "l2 merged port");
	ASSERT_EQ(v, 8080, "first merged mapping wins");
out:
	xgw_arena_free(&a);
	xgw_yaml_stream__free(ys);
}

/* --- hostile YAML ------------------------------------------------------- */

TEST(syntax_error)
{
	static const char yaml[] = SVC("one") "---\n" SVC("two") "---\n"
								 "apiVersion: v1\n"
								 "kind: Service\n"
								 "metadata: {name: [broken\n"
								 "spec: {}\n"
								 "---\n" SVC("four");
	struct xgw_store *st = load_str("broken.yaml", yaml);
	const struct xgw_decode_error *e;

	if (!st)
		return;
	ASSERT_EQ(st->n_services, 2, "earlier documents kept, later ones lost");
	if (ASSERT_EQ(st->n_errors, 1, "one error")) {
		e = &st->errors[0];
		ASSERT_STREQ(e->origin.file, "broken.yaml", "file");
		ASSERT_EQ(e->origin.doc, 3, "document");
		/* where libyaml noticed: the line after the unclosed "[" */
		ASSERT_EQ(e->origin.line, 20, "line of the problem");
		ASSERT_STREQ(e->message,
			     "YAML syntax error: did not find expected ',' or ']' while parsing a "
			     "flow sequence that starts on line 19",
			     "message");
		ASSERT_TRUE(e->kind == NULL && e->name == NULL, "no object");
	} else {
		dump_errors(st);
	}
	xgw_store__free(st);
}

TEST(bad_encoding)
{
	static const char yaml[] = SVC("one") "---\nkind: caf\xe9\n";
	struct xgw_store *st = load_str("latin1.yaml", yaml);

	if (!st)
		return;
	/* libyaml decodes ahead of the parser, so a bad byte drops the whole file */
	ASSERT_TRUE(no_objects(st), "file rejected");
	if (one_error(st, "invalid UTF-8 or a control character (byte 0xe9 at offset 92): the "
			  "file is not loaded")) {
		ASSERT_EQ(st->errors[0].origin.line, 9, "line of the bad byte");
		ASSERT_EQ(st->errors[0].origin.doc, 0, "not one document");
	}
	xgw_store__free(st);
	st = load_str("bom.yaml", "\xef\xbb\xbf" SVC("bom") "    appProtocol: caf\xc3\xa9\n");
	if (st) {
		ASSERT_EQ(st->n_errors, 0, "UTF-8 with a BOM");
		if (ASSERT_EQ(st->n_services, 1, "service"))
			ASSERT_STREQ(st->services[0].ports[0].app_protocol, "caf\xc3\xa9",
				     "UTF-8 text");
		xgw_store__free(st);
	}
	st = load_str("ctl.yaml", SVC("one") "  name: a\x01"
					     "b\n");
	if (st) {
		one_error(st, "invalid UTF-8 or a control character (byte 0x01 at offset 88): the "
			      "file is not loaded");
		xgw_store__free(st);
	}
}

TEST(document_shapes)
{
	struct xgw_store *st = load_str("shapes.yaml", "---\n"
						       "---\n"
						       "# only a comment\n"
						       "---\n"
						       "~\n"
						       "---\n"
						       "- apiVersion: v1\n"
						       "- kind: Service\n"
						       "---\n"
						       "just a string\n"
						       "---\n" SVC("s") "...\n");

	if (!st)
		return;
	ASSERT_EQ(st->n_services, 1, "the one object");
	ASSERT_EQ(st->services[0].meta.origin.doc, 6, "its document index");
	if (ASSERT_EQ(st->n_errors, 2, "two errors")) {
		ASSERT_STREQ(st->errors[0].message,
			     "expected a mapping (a Kubernetes object), got a list", "a list");
		ASSERT_EQ(st->errors[0].origin.doc, 4, "list doc");
		ASSERT_EQ(st->errors[0].origin.line, 7, "list line");
		ASSERT_STREQ(st->errors[1].message,
			     "expected a mapping (a Kubernetes object), got \"just a string\"",
			     "a string");
	} else {
		dump_errors(st);
	}
	xgw_store__free(st);
	st = load_str("empty.yaml", "");
	if (st) {
		ASSERT_TRUE(no_objects(st) && !st->n_errors, "empty file");
		xgw_store__free(st);
	}
}

TEST(deep_nesting)
{
	size_t depth = 100000, len = 2 * depth + 256;
	char *yaml = malloc(len), *p = yaml;
	struct xgw_store *st;

	if (!ASSERT_OK_PTR(yaml, "malloc"))
		return;
	p += sprintf(p, SVC("before") "---\napiVersion: v1\nkind: Service\nmetadata: {name: deep}\n"
				      "spec: ");
	memset(p, '[', depth);
	p += depth;
	memset(p, ']', depth);
	p += depth;
	sprintf(p, "\n---\n" SVC("after"));
	st = load_str("deep.yaml", yaml);
	free(yaml);
	if (!st)
		return;
	if (ASSERT_EQ(st->n_errors, 1, "one error")) {
		ASSERT_STREQ(st->errors[0].message,
			     "nesting deeper than 64 levels: the rest of the file is not read",
			     "message");
		ASSERT_EQ(st->errors[0].origin.line, 12, "line");
		ASSERT_EQ(st->errors[0].origin.doc, 2, "doc");
	}
	/* libyaml would take quadratic time to skip to the next document */
	if (ASSERT_EQ(st->n_services, 1, "earlier documents kept"))
		ASSERT_STREQ(st->services[0].meta.name, "before", "before");
	xgw_store__free(st);

	/* block nesting counts the same */
	yaml = malloc(len * 4);
	if (!ASSERT_OK_PTR(yaml, "malloc"))
		return;
	p = yaml + sprintf(yaml, "apiVersion: v1\nkind: Service\nmetadata: {name: deep}\n");
	for (int i = 0; i < 200; i++)
		p += sprintf(p, "%*sk:\n", i, "");
	st = load_str("block.yaml", yaml);
	free(yaml);
	if (!st)
		return;
	one_error(st, "nesting deeper than 64 levels: the rest of the file is not read");
	xgw_store__free(st);

	/* 63 levels under the root mapping is fine */
	yaml = malloc(len);
	if (!ASSERT_OK_PTR(yaml, "malloc"))
		return;
	p = yaml + sprintf(yaml, SVC("ok") "x: ");
	memset(p, '[', 62);
	memset(p + 62, ']', 62);
	p[124] = '\n';
	p[125] = '\0';
	st = load_str("ok.yaml", yaml);
	free(yaml);
	if (!st)
		return;
	ASSERT_EQ(st->n_errors, 0, "64 levels allowed");
	ASSERT_EQ(st->n_services, 1, "decoded");
	xgw_store__free(st);
}

TEST(aliases)
{
	static const char laughs[] = "apiVersion: v1\nkind: Service\nmetadata: {name: lol}\n"
				     "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
				     "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
				     "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
				     "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
				     "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
				     "f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
				     "g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\n"
				     "h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g, *g]\n"
				     "i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h, *h]\n";
	struct xgw_store *st;

	st = load_str("alias.yaml", "apiVersion: v1\nkind: Service\n"
				    "metadata:\n  name: s\n  labels: &l {app: web}\n"
				    "spec:\n  selector: *l\n"
				    "  ports:\n  - &p {name: http, port: 80}\n"
				    "  - <<: *p\n    name: alt\n    port: 81\n");
	if (st) {
		ASSERT_EQ(st->n_errors, 0, "aliases resolve");
		if (ASSERT_EQ(st->n_services, 1, "service") &&
		    ASSERT_EQ(st->services[0].n_ports, 2, "ports")) {
			ASSERT_STREQ(st->services[0].ports[1].name, "alt", "merged, own key wins");
			ASSERT_EQ(st->services[0].ports[1].port, 81, "own port");
			ASSERT_STREQ(xgw_meta_label(&st->services[0].meta, "app"), "web", "label");
		}
		xgw_store__free(st);
	}

	st = load_str("undef.yaml", "apiVersion: v1\nkind: Service\nmetadata: {name: *nope}\n"
				    "---\n" SVC("next"));
	if (st) {
		if (one_error(st, "alias *nope: no such anchor"))
			ASSERT_EQ(st->errors[0].origin.line, 3, "line");
		ASSERT_EQ(st->n_services, 1, "next document");
		xgw_store__free(st);
	}

	st = load_str("cycle.yaml", "apiVersion: v1\nkind: Service\nmetadata: &m {name: *m}\n");
	if (st) {
		one_error(st, "alias *m refers to a node that contains it (a cycle)");
		xgw_store__free(st);
	}

	/* anchors do not carry over into the next document */
	st = load_str("scope.yaml", "a: &x 1\n---\nb: *x\n");
	if (st) {
		if (ASSERT_EQ(st->n_errors, 2, "errors")) {
			ASSERT_STREQ(st->errors[0].message, "kind: required field is missing", "1");
			ASSERT_STREQ(st->errors[1].message, "alias *x: no such anchor", "2");
		}
		xgw_store__free(st);
	}

	st = load_str("laughs.yaml", laughs);
	if (st) {
		one_error(st, "document too large: more than 1048576 nodes (aliases expanded)");
		ASSERT_TRUE(no_objects(st), "rejected");
		xgw_store__free(st);
	}
}

TEST(duplicate_keys)
{
	struct xgw_store *st;
	char *big, *p;

	st = load_str("dup.yaml", "apiVersion: v1\nkind: Service\nmetadata:\n  name: a\n"
				  "  name: b\n");
	if (st) {
		if (one_error(st, "duplicate mapping key \"name\""))
			ASSERT_EQ(st->errors[0].origin.line, 5, "line of the second key");
		xgw_store__free(st);
	}
	st = load_str("key.yaml", "apiVersion: v1\nkind: Service\nmetadata: {name: a}\n"
				  "? [complex]\n: key\n");
	if (st) {
		one_error(st, "mapping keys must be scalars, got a list");
		xgw_store__free(st);
	}
	/* the hashed check of large mappings */
	big = malloc(64 * 1024);
	if (!ASSERT_OK_PTR(big, "malloc"))
		return;
	p = big + sprintf(big, "apiVersion: v1\nkind: Service\nmetadata:\n  name: a\n  labels:\n");
	for (int i = 0; i < 2000; i++)
		p += sprintf(p, "    k%d: v\n", i);
	sprintf(p, "    k1234: again\n");
	st = load_str("bigdup.yaml", big);
	if (st) {
		one_error(st, "duplicate mapping key \"k1234\"");
		xgw_store__free(st);
	}
	p[0] = '\0';
	st = load_str("big.yaml", big);
	if (st) {
		ASSERT_EQ(st->n_errors, 0, "2000 labels");
		if (ASSERT_EQ(st->n_services, 1, "service")) {
			ASSERT_EQ(st->services[0].meta.n_labels, 2000, "labels");
			ASSERT_STREQ(xgw_meta_label(&st->services[0].meta, "k1999"), "v", "k1999");
		}
		xgw_store__free(st);
	}
	free(big);
}

TEST_MAIN()
