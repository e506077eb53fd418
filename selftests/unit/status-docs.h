/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The manifests of the status replay (test_status_cases.c) as JSON trees:
 * loaded from YAML, given the suite's conventions, edited by status.json's
 * step actions (status-docs.c).
 */
#ifndef XGW_TEST_STATUS_DOCS_H
#define XGW_TEST_STATUS_DOCS_H

#include <stddef.h>

#include <jansson.h>

#define CLASS_NAME "xgw-conformance"
#define POOL "10.78.0.0/16"
#define USABLE_ADDR "10.78.1.10"    /* in POOL */
#define UNUSABLE_ADDR "10.79.255.1" /* an IPv4 address outside every pool */

/* Append the documents of the YAML file <path> to <docs>: 0, or -1 (said on stdout). */
int load_yaml_file(const char *path, json_t *docs);
/* The string member <key> of <o>, or NULL. */
const char *jstr(const json_t *o, const char *key);
/* metadata.<key> of <doc>, or NULL. */
const char *meta_str(const json_t *doc, const char *key);
json_int_t doc_generation(const json_t *doc);
/* The document of <docs> that <ref> ({kind, name, namespace}) names, its index in *<at>. */
json_t *find_doc(json_t *docs, const json_t *ref, size_t *at);
/* The suite's manifest conventions (cases.json "manifest_conventions") applied to <doc>. */
void conventions(json_t *doc);
/* Apply a step's "action" to <docs>. Returns 0, or -ENOENT with <why> set. */
int apply_action(json_t *docs, const json_t *act, char *why, size_t len);
/* What each patched field held before its first patch in this test (reset per test). */
extern json_t *originals;

#endif
