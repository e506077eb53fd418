// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/* The status replay's manifests as JSON trees (see status-docs.h). */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <yaml.h>

#include "status-docs.h"
#include "xgw/model.h"

#define YAML_MAX_DEPTH 64

/* --- YAML to JSON ------------------------------------------------------- */

static bool is_int(const char *s)
{
	const char *p = s + (*s == '-' || *s == '+');

	if (!*p || (p[0] == '0' && p[1]))
		return false;
	for (; *p; p++)
		if (*p < '0' || *p > '9')
			return false;
	return true;
}

/* A scalar under the YAML 1.2 core schema, as lib/yaml_load.c resolves it. */
static json_t *scalar_json(const yaml_event_t *ev)
{
	const char *s = (const char *)ev->data.scalar.value;
	size_t len = ev->data.scalar.length;

	if (ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && !ev->data.scalar.tag) {
		if (!len || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") ||
		    !strcmp(s, "NULL"))
			return json_null();
		if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE"))
			return json_true();
		if (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "FALSE"))
			return json_false();
		if (is_int(s) && len < 19)
			return json_integer(strtoll(s, NULL, 10));
	}
	return json_stringn(s, len);
}

static bool next_event(yaml_parser_t *p, yaml_event_t *ev)
{
	if (yaml_parser_parse(p, ev))
		return true;
	fprintf(stderr, "# yaml: %s at line %zu\n", p->problem ? p->problem : "error",
		p->problem_mark.line + 1);
	return false;
}

/* The node that starts with <ev> (consumed), or NULL on a parse error. */
static json_t *node_json(yaml_parser_t *p, yaml_event_t *ev, int depth)
{
	json_t *out = NULL;
	yaml_event_t e;

	if (depth > YAML_MAX_DEPTH)
		goto err;
	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		out = scalar_json(ev);
		yaml_event_delete(ev);
		return out;
	case YAML_ALIAS_EVENT: /* the conformance manifests use none */
		yaml_event_delete(ev);
		return json_null();
	case YAML_SEQUENCE_START_EVENT:
		yaml_event_delete(ev);
		out = json_array();
		for (;;) {
			json_t *item;

			if (!next_event(p, &e))
				goto err;
			if (e.type == YAML_SEQUENCE_END_EVENT) {
				yaml_event_delete(&e);
				return out;
			}
			item = node_json(p, &e, depth + 1);
			if (!item)
				goto err;
			json_array_append_new(out, item);
		}
	case YAML_MAPPING_START_EVENT:
		yaml_event_delete(ev);
		out = json_object();
		for (;;) {
			json_t *val;
			char *key;

			if (!next_event(p, &e))
				goto err;
			if (e.type == YAML_MAPPING_END_EVENT) {
				yaml_event_delete(&e);
				return out;
			}
			if (e.type != YAML_SCALAR_EVENT) {
				yaml_event_delete(&e);
				goto err;
			}
			key = strdup((const char *)e.data.scalar.value);
			yaml_event_delete(&e);
			if (!key || !next_event(p, &e)) {
				free(key);
				goto err;
			}
			val = node_json(p, &e, depth + 1);
			if (val)
				json_object_set_new(out, key, val);
			free(key);
			if (!val)
				goto err;
		}
	default:
		yaml_event_delete(ev);
		goto err;
	}
err:
	json_decref(out);
	return NULL;
}

/* Every non-empty document of the YAML file <path>, appended to <docs>. */
int load_yaml_file(const char *path, json_t *docs)
{
	yaml_parser_t p;
	yaml_event_t ev;
	int err = -EBADMSG;
	FILE *f = fopen(path, "r");

	if (!f)
		return -errno;
	yaml_parser_initialize(&p);
	yaml_parser_set_input_file(&p, f);
	for (;;) {
		json_t *doc;

		if (!next_event(&p, &ev))
			break;
		if (ev.type == YAML_STREAM_END_EVENT) {
			yaml_event_delete(&ev);
			err = 0;
			break;
		}
		if (ev.type != YAML_DOCUMENT_START_EVENT) {
			yaml_event_delete(&ev); /* stream start, document end */
			continue;
		}
		yaml_event_delete(&ev);
		if (!next_event(&p, &ev))
			break;
		doc = node_json(&p, &ev, 0);
		if (!doc)
			break;
		if (json_is_object(doc))
			json_array_append_new(docs, doc);
		else
			json_decref(doc);
	}
	yaml_parser_delete(&p);
	fclose(f);
	return err;
}

/* --- manifests ---------------------------------------------------------- */

const char *jstr(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* metadata.<key> of a document */
const char *meta_str(const json_t *doc, const char *key)
{
	return jstr(json_object_get(doc, "metadata"), key);
}

json_int_t doc_generation(const json_t *doc)
{
	json_t *g = json_object_get(json_object_get(doc, "metadata"), "generation");

	return json_is_integer(g) ? json_integer_value(g) : 1;
}

static bool doc_is(const json_t *doc, const json_t *ref)
{
	const char *ns = jstr(ref, "namespace"), *dns = meta_str(doc, "namespace");

	return !strcmp(jstr(doc, "kind") ? jstr(doc, "kind") : "", jstr(ref, "kind")) &&
	       !strcmp(meta_str(doc, "name") ? meta_str(doc, "name") : "", jstr(ref, "name")) &&
	       (!ns || !strcmp(dns ? dns : "default", ns));
}

json_t *find_doc(json_t *docs, const json_t *ref, size_t *at)
{
	size_t i;
	json_t *d;

	json_array_foreach(docs, i, d)
	{
		if (doc_is(d, ref)) {
			if (at)
				*at = i;
			return d;
		}
	}
	return NULL;
}

/* Apply status.json "manifest_conventions" to one document. */
void conventions(json_t *doc)
{
	const char *kind = jstr(doc, "kind");
	json_t *spec = json_object_get(doc, "spec"), *meta = json_object_get(doc, "metadata");

	if (!kind || !json_is_object(meta))
		return;
	if (!strcmp(kind, "Gateway") && json_is_object(spec)) {
		json_t *addrs = json_object_get(spec, "addresses"), *a;
		size_t i;

		json_object_set_new(spec, "gatewayClassName", json_string(CLASS_NAME));
		json_array_foreach(addrs, i, a)
		{
			const char *v = jstr(a, "value");

			if (v && !strcmp(v, "PLACEHOLDER_USABLE_ADDRS"))
				json_object_set_new(a, "value", json_string(USABLE_ADDR));
			else if (v && !strcmp(v, "PLACEHOLDER_UNUSABLE_ADDRS"))
				json_object_set_new(a, "value", json_string(UNUSABLE_ADDR));
			else
				continue;
			json_object_set_new(a, "type", json_string("IPAddress"));
		}
	} else if (!strcmp(kind, "GatewayClass") && json_is_object(spec)) {
		json_object_set_new(spec, "controllerName", json_string(XGW_CONTROLLER_NAME));
	} else if (!strcmp(kind, "Namespace") && jstr(meta, "name")) {
		json_t *labels = json_object_get(meta, "labels");

		if (!json_is_object(labels)) {
			labels = json_object();
			json_object_set_new(meta, "labels", labels);
		}
		json_object_set_new(labels, "kubernetes.io/metadata.name",
				    json_string(jstr(meta, "name")));
	}
}

/* The value at a path such as "spec.rules[0].backendRefs[0].name" of <root>
 * set to <val> (a new reference, stolen). Returns 0 or -ENOENT. */
static int path_set(json_t *root, const char *path, json_t *val)
{
	char buf[256], *tok, *save = NULL;
	json_t *cur = root;

	if (!strncmp(path, "data.",
		     5)) { /* ConfigMap keys hold dots (ca.crt): the rest is one key */
		json_t *data = json_object_get(root, "data");

		if (!data) {
			data = json_object();
			json_object_set_new(root, "data", data);
		}
		return json_object_set_new(data, path + 5, val) ? -ENOMEM : 0;
	}
	snprintf(buf, sizeof(buf), "%s", path);
	for (tok = strtok_r(buf, ".", &save); tok; tok = strtok_r(NULL, ".", &save)) {
		char *br = strchr(tok, '[');
		bool last = !save || !*save;
		json_t *next;

		if (br)
			*br = '\0';
		next = json_object_get(cur, tok);
		if (!br && last)
			return json_object_set_new(cur, tok, val) ? -ENOMEM : 0;
		if (!next) {
			next = br ? json_array() : json_object();
			json_object_set_new(cur, tok, next);
		}
		cur = next;
		for (; br; br = strchr(br + 1, '[')) {
			size_t idx = strtoul(br + 1, NULL, 10);

			if (last && !strchr(br + 1, '['))
				return json_array_set_new(cur, idx, val) ? -ENOENT : 0;
			cur = json_array_get(cur, idx);
			if (!cur)
				goto noent;
		}
	}
noent:
	json_decref(val);
	return -ENOENT;
}

/* The value at <path> of <root> (borrowed), NULL when there is none; paths as path_set(). */
static json_t *path_get(json_t *root, const char *path)
{
	char buf[256], *tok, *save = NULL;
	json_t *cur = root;

	if (!strncmp(path, "data.", 5))
		return json_object_get(json_object_get(root, "data"), path + 5);
	snprintf(buf, sizeof(buf), "%s", path);
	for (tok = strtok_r(buf, ".", &save); tok && cur; tok = strtok_r(NULL, ".", &save)) {
		char *br = strchr(tok, '[');

		if (br)
			*br = '\0';
		cur = json_object_get(cur, tok);
		for (; br && cur; br = strchr(br + 1, '['))
			cur = json_array_get(cur, strtoul(br + 1, NULL, 10));
	}
	return cur;
}

/*
 * A value of a step's action, placeholders resolved: "<copy of NAME KEY>" is
 * KEY of the ConfigMap NAME (a generated object), "<original...>" what the
 * patched field held before the test's first patch of it (<orig>, NULL when
 * it held nothing). A new reference.
 */
static json_t *action_value(json_t *docs, const json_t *v, json_t *orig)
{
	const char *str = json_string_value(v);
	char name[128], key[64];
	size_t i;
	json_t *d;

	if (str && !strncmp(str, "<original", 9))
		return orig ? json_deep_copy(orig) : json_null();
	if (!str || sscanf(str, "<copy of %127s %63[^>]>", name, key) != 2)
		return json_deep_copy(v);
	json_array_foreach(docs, i, d) if (!strcmp(jstr(d, "kind") ?: "", "ConfigMap") &&
					   !strcmp(meta_str(d, "name") ?: "", name))
	{
		json_t *val = json_object_get(json_object_get(d, "data"), key);

		if (val)
			return json_deep_copy(val);
	}
	return NULL;
}

/* What each patched field held before its first patch in this test: "kind/ns/name path" -> value. */
json_t *originals;

static void bump_generation(json_t *doc)
{
	json_t *meta = json_object_get(doc, "metadata");

	if (json_is_object(meta))
		json_object_set_new(meta, "generation", json_integer(doc_generation(doc) + 1));
}

/* Apply a step's "action" to <docs>. Returns 0, or -ENOENT with <why> set. */
int apply_action(json_t *docs, const json_t *act, char *why, size_t len)
{
	const char *op = jstr(act, "op");
	const json_t *ref = json_object_get(act, "object");
	size_t at = 0;
	json_t *doc = find_doc(docs, ref, &at), *v;
	const char *key;

	if (!strcmp(op, "create")) {
		json_t *nd = json_pack("{s:s, s:s, s:{s:s, s:s}}", "apiVersion", "v1", "kind",
				       jstr(ref, "kind"), "metadata", "name", jstr(ref, "name"),
				       "namespace", jstr(ref, "namespace"));
		json_t *data = json_object_get(act, "data"), *out = json_object(), *dv;
		const char *dk;

		json_object_foreach(data, dk, dv)
		{
			json_t *r = action_value(docs, dv, NULL);

			if (!r) {
				snprintf(why, len, "create: %s: no such generated object", dk);
				json_decref(out);
				json_decref(nd);
				return -ENOENT;
			}
			json_object_set_new(out, dk, r);
		}
		if (data)
			json_object_set(nd, "data", out);
		json_decref(out);
		json_array_append_new(docs, nd);
		return 0;
	}
	if (!doc) {
		snprintf(why, len, "action %s: no object %s %s", op, jstr(ref, "kind"),
			 jstr(ref, "name"));
		return -ENOENT;
	}
	if (!strcmp(op, "delete"))
		return json_array_remove(docs, at) ? -ENOENT : 0;
	if (strcmp(op, "patch")) {
		snprintf(why, len, "action %s is not known", op);
		return -ENOENT;
	}
	json_object_foreach(json_object_get(act, "set"), key, v)
	{
		char okey[512];
		json_t *val;

		snprintf(okey, sizeof(okey), "%s/%s/%s %s", jstr(ref, "kind"),
			 jstr(ref, "namespace") ?: "", jstr(ref, "name"), key);
		if (!json_object_get(originals, okey)) {
			json_t *cur = path_get(doc, key);

			json_object_set_new(originals, okey,
					    cur ? json_deep_copy(cur) : json_null());
		}
		val = action_value(docs, v, json_object_get(originals, okey));
		if (!val || path_set(doc, key, val)) {
			snprintf(why, len, "patch: cannot set %s", key);
			return -ENOENT;
		}
	}
	json_object_foreach(json_object_get(act, "append"), key, v)
	{
		json_t *arr = json_object_get(json_object_get(doc, "spec"), key + strlen("spec."));

		if (strncmp(key, "spec.", 5) || !json_is_array(arr)) {
			snprintf(why, len, "patch: cannot append to %s", key);
			return -ENOENT;
		}
		json_array_append(arr, v);
	}
	if ((key = jstr(act, "remove_listener"))) {
		json_t *ls = json_object_get(json_object_get(doc, "spec"), "listeners");

		for (size_t i = 0; i < json_array_size(ls); i++)
			if (!strcmp(jstr(json_array_get(ls, i), "name") ?: "", key))
				json_array_remove(ls, i--);
	}
	if ((key = jstr(act, "remove_address"))) {
		json_t *as = json_object_get(json_object_get(doc, "spec"), "addresses");
		bool fake = strstr(key, "fake-invalid-type");

		for (size_t i = 0; i < json_array_size(as); i++) {
			json_t *a = json_array_get(as, i);

			if (fake ? !strcmp(jstr(a, "type") ?: "", "test/fake-invalid-type")
				 : !strcmp(jstr(a, "value") ?: "", UNUSABLE_ADDR))
				json_array_remove(as, i--);
		}
	}
	bump_generation(doc);
	return 0;
}
