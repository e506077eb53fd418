// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * Flow tokens (agent/flow_token.c) and the agent's BPF maps around them:
 * tokens are unique, never 0, kept while a listener lives; xgw_bpf_sync_listeners
 * keeps a listener's token across syncs and agent restarts; and pins of an
 * older agent (xgw_listeners without tokens, xgw_flows keyed by the 5-tuple)
 * are carried over by xgw_bpf__open (agent/bpf_upgrade.c). The BPF cases
 * run in a private network namespace (XDP in generic mode on its loopback)
 * with maps pinned under a private directory; they need root.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "bpf_maps.h"
#include "flow_token.h"
#include "reconcile.h"
#include "test.h"

static struct xgw_listener_key lkey(int family, const char *ip, uint16_t port, uint8_t proto)
{
	struct xgw_listener_key k = { .port = htons(port), .proto = proto };

	k.ip.family = (uint8_t)family;
	inet_pton(family == 4 ? AF_INET : AF_INET6, ip, k.ip.addr);
	return k;
}

TEST(tokens_unique_and_kept)
{
	enum {
		N = 5000
	};
	struct xgw_listener_key *keys = calloc(N, sizeof(*keys));
	uint32_t *tok = calloc(N, sizeof(*tok)), *again = calloc(N, sizeof(*again));
	size_t dup = 0;

	if (!ASSERT_OK_PTR(keys, "keys") || !ASSERT_OK_PTR(tok, "tok") ||
	    !ASSERT_OK_PTR(again, "again"))
		goto out;
	for (int i = 0; i < N; i++) {
		char ip[32];

		snprintf(ip, sizeof(ip), "10.%d.%d.1", i / 250, i % 250);
		keys[i] = lkey(4, ip, (uint16_t)(80 + i % 3), i % 2 ? 6 : 17);
	}
	ASSERT_OK(xgw_flow_tokens_assign(keys, tok, N), "assign");
	for (int i = 0; i < N; i++) {
		if (!tok[i])
			dup++;
		for (int j = 0; j < i; j++)
			dup += tok[i] == tok[j];
	}
	ASSERT_EQ(dup, 0, "unique and never 0");
	ASSERT_EQ(tok[7], xgw_flow_token_hash(&keys[7]), "a new listener takes its key's hash");
	/* Another order, every token given: each listener keeps its own. */
	for (int i = 0; i < N; i++)
		again[i] = tok[N - 1 - i];
	{
		struct xgw_listener_key *rev = calloc(N, sizeof(*rev));

		if (ASSERT_OK_PTR(rev, "rev")) {
			for (int i = 0; i < N; i++)
				rev[i] = keys[N - 1 - i];
			ASSERT_OK(xgw_flow_tokens_assign(rev, again, N), "assign again");
			for (int i = 0; i < N; i++)
				dup += again[i] != tok[N - 1 - i];
			ASSERT_EQ(dup, 0, "tokens kept");
		}
		free(rev);
	}
out:
	free(keys);
	free(tok);
	free(again);
}

TEST(tokens_taken_hash_and_repeats)
{
	struct xgw_listener_key k[3] = { lkey(4, "10.0.0.1", 80, 6), lkey(4, "10.0.0.2", 80, 6),
					 lkey(6, "fd00::1", 443, 6) };
	uint32_t h1 = xgw_flow_token_hash(&k[1]);
	/* Listener 0 already holds listener 1's hash, listener 2 a repeat of it. */
	uint32_t tok[3] = { h1, 0, h1 };

	ASSERT_OK(xgw_flow_tokens_assign(k, tok, 3), "assign");
	ASSERT_EQ(tok[0], h1, "the holder keeps it");
	ASSERT_EQ(tok[1], h1 + 1 ? h1 + 1 : 1, "a taken hash: the next value");
	ASSERT_TRUE(tok[2] && tok[2] != tok[0] && tok[2] != tok[1], "a repeat gets another");
	ASSERT_EQ(tok[2], xgw_flow_token_hash(&k[2]), "... its own hash");
}

/* --- the agent's maps -------------------------------------------------- */

#define CLIENT4 "10.2.0.2"
#define CLIENT6 "fd00:2::2"

struct v1_flow_key { /* xgw_flows' key before flow tokens */
	__u8 src[16], dst[16];
	__be16 sport, dport;
	__u8 proto, family, pad[2];
};

static char pin_dir[64];

static int pin_old_maps(void)
{
	struct xgw_listener_key k80 = lkey(4, "10.1.0.1", 80, 6), k443 = lkey(6, "fd00::1", 443, 6);
	__u32 v80[4] = { 3, XGW_LISTENER_F_RING, 1, 0 }, v443[4] = { 5, XGW_LISTENER_F_RING, 1, 0 };
	struct v1_flow_key
		f4 = { .sport = htons(40000), .dport = htons(80), .proto = 6, .family = 4 },
		f6 = { .sport = htons(40001), .dport = htons(443), .proto = 6, .family = 6 },
		orphan = { .sport = htons(40002), .dport = htons(81), .proto = 6, .family = 4 };
	struct xgw_flow_val n2 = { .node = 2, .entropy = 77 }, n1 = { .node = 1 };
	LIBBPF_OPTS(bpf_map_create_opts, lru, .map_flags = BPF_F_NO_COMMON_LRU);
	char path[128];
	int fl, ff;

	inet_pton(AF_INET, CLIENT4, f4.src);
	inet_pton(AF_INET, "10.1.0.1", f4.dst);
	inet_pton(AF_INET6, CLIENT6, f6.src);
	inet_pton(AF_INET6, "fd00::1", f6.dst);
	inet_pton(AF_INET, CLIENT4, orphan.src);
	inet_pton(AF_INET, "10.1.0.1", orphan.dst);
	fl = bpf_map_create(BPF_MAP_TYPE_HASH, XGW_MAP_LISTENERS, sizeof(k80), sizeof(v80), 64,
			    NULL);
	ff = bpf_map_create(BPF_MAP_TYPE_LRU_HASH, XGW_MAP_FLOWS, sizeof(f4), sizeof(n2), 1024,
			    &lru);
	if (fl < 0 || ff < 0 || bpf_map_update_elem(fl, &k80, v80, BPF_ANY) ||
	    bpf_map_update_elem(fl, &k443, v443, BPF_ANY) ||
	    bpf_map_update_elem(ff, &f4, &n2, BPF_ANY) ||
	    bpf_map_update_elem(ff, &f6, &n1, BPF_ANY) ||
	    bpf_map_update_elem(ff, &orphan, &n1, BPF_ANY))
		return -1;
	snprintf(path, sizeof(path), "%s/%s", pin_dir, XGW_MAP_LISTENERS);
	if (bpf_obj_pin(fl, path))
		return -1;
	snprintf(path, sizeof(path), "%s/%s", pin_dir, XGW_MAP_FLOWS);
	if (bpf_obj_pin(ff, path))
		return -1;
	close(fl);
	close(ff);
	return 0;
}

static int pinned(const char *name)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/%s", pin_dir, name);
	return bpf_obj_get(path);
}

/* The node of the flow CLIENT:<sport> of the listener <lk> in the pinned xgw_flows, or -1. */
static int flow_node(const char *client, int family, uint16_t sport,
		     const struct xgw_listener_key *lk, __u32 *entropy)
{
	int fl = pinned(XGW_MAP_LISTENERS), ff = pinned(XGW_MAP_FLOWS), node = -1;
	struct xgw_flow_key k = { .sport = htons(sport) };
	struct xgw_listener_val lv;
	struct xgw_flow_val v;

	inet_pton(family == 4 ? AF_INET : AF_INET6, client, k.src);
	if (fl >= 0 && ff >= 0 && !bpf_map_lookup_elem(fl, lk, &lv)) {
		k.listener = lv.flow_token;
		if (!bpf_map_lookup_elem(ff, &k, &v)) {
			node = (int)v.node;
			*entropy = v.entropy;
		}
	}
	if (fl >= 0)
		close(fl);
	if (ff >= 0)
		close(ff);
	return node;
}

static unsigned count_flows(void)
{
	int ff = pinned(XGW_MAP_FLOWS);
	struct xgw_flow_key k, *prev = NULL;
	unsigned n = 0;

	while (ff >= 0 && n < 1000 && !bpf_map_get_next_key(ff, prev, &k)) {
		prev = &k;
		n++;
	}
	if (ff >= 0)
		close(ff);
	return n;
}

static __u32 token_of(const struct xgw_listener_key *k)
{
	int fl = pinned(XGW_MAP_LISTENERS);
	struct xgw_listener_val lv = { 0 };

	if (fl >= 0)
		bpf_map_lookup_elem(fl, k, &lv);
	if (fl >= 0)
		close(fl);
	return lv.flow_token;
}

/* Gives <k> token <t> in the pinned xgw_listeners, and its flow CLIENT4:40000 (node 2). */
static int set_token(const struct xgw_listener_key *k, __u32 t)
{
	int fl = pinned(XGW_MAP_LISTENERS), ff = pinned(XGW_MAP_FLOWS), err = -1;
	struct xgw_flow_key fk = { .sport = htons(40000), .listener = t };
	struct xgw_flow_val v = { .node = 2, .entropy = 77 };
	struct xgw_listener_val lv;

	inet_pton(AF_INET, CLIENT4, fk.src);
	if (fl >= 0 && ff >= 0 && !bpf_map_lookup_elem(fl, k, &lv)) {
		lv.flow_token = t;
		err = bpf_map_update_elem(fl, k, &lv, BPF_EXIST) ||
		      bpf_map_update_elem(ff, &fk, &v, BPF_ANY);
	}
	if (fl >= 0)
		close(fl);
	if (ff >= 0)
		close(ff);
	return err;
}

/* Whatever a failed case left under pin_dir (a pinned link holds its netns). */
static void remove_pins(void)
{
	DIR *d = opendir(pin_dir);
	struct dirent *e;

	while (d && (e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			unlinkat(dirfd(d), e->d_name, 0);
	if (d)
		closedir(d);
	rmdir(pin_dir);
}

TEST(upgrade_and_sync_keep_flows)
{
	const char *ifaces[] = { "lo" };
	struct xgw_bpf_opts o = { .pin_dir = pin_dir,
				  .ifaces = ifaces,
				  .n_ifaces = 1,
				  .xdp_mode = XGW_XDP_SKB,
				  .flow_table_size = 1024 };
	struct xgw_listener_key k80 = lkey(4, "10.1.0.1", 80, 6), k443 = lkey(6, "fd00::1", 443, 6),
				k8080 = lkey(4, "10.1.0.1", 8080, 6);
	struct xgw_bpf_listener ls[2] = { { .family = 4, .port = 80, .proto = 6, .id = 9 },
					  { .family = 4, .port = 8080, .proto = 6, .id = 3 } };
	struct xgw_bpf *b = NULL;
	int fl;
	__u32 e = 0, t80;
	struct xgw_listener_val lv;

	snprintf(pin_dir, sizeof(pin_dir), "/sys/fs/bpf/xgw-test-upgrade-%d", (int)getpid());
	if (!ASSERT_OK(unshare(CLONE_NEWNET), "unshare netns") ||
	    !ASSERT_OK(system("ip link set lo up"), "lo up") ||
	    !ASSERT_OK(mkdir(pin_dir, 0700), pin_dir) || !ASSERT_OK(pin_old_maps(), "old pins"))
		goto out;

	/* An older agent's pins: listeners get tokens, flows their new keys. */
	if (!ASSERT_OK(xgw_bpf__open(&o, &b), "open over old pins"))
		goto out;
	fl = pinned(XGW_MAP_LISTENERS);
	ASSERT_TRUE(fl >= 0 && !bpf_map_lookup_elem(fl, &k80, &lv), "listener carried over");
	if (fl >= 0)
		close(fl);
	ASSERT_EQ(lv.id, 3, "id kept");
	ASSERT_EQ(lv.flags, XGW_LISTENER_F_RING, "flags kept");
	ASSERT_EQ(lv.ring, 1, "ring kept");
	t80 = lv.flow_token;
	ASSERT_EQ(t80, xgw_flow_token_hash(&k80), "token: the key's hash");
	ASSERT_EQ(flow_node(CLIENT4, 4, 40000, &k80, &e), 2, "v4 flow carried over");
	ASSERT_EQ(e, 77, "with its entropy");
	ASSERT_EQ(flow_node(CLIENT6, 6, 40001, &k443, &e), 1, "v6 flow carried over");
	ASSERT_EQ(count_flows(), 2, "the flow without a listener left out");

	/*
	 * A sync: a listener keeps its token under a new id, even one that is
	 * not its hash (as when its hash was taken); a new listener gets its
	 * hash; a removed one goes.
	 */
	t80 = 0x1234;
	if (!ASSERT_OK(set_token(&k80, t80), "token not the hash"))
		goto out;
	inet_pton(AF_INET, "10.1.0.1", ls[0].addr);
	inet_pton(AF_INET, "10.1.0.1", ls[1].addr);
	ASSERT_OK(xgw_bpf_sync_listeners(b, ls, 2), "sync");
	ASSERT_EQ(token_of(&k80), t80, "token kept across the sync");
	ASSERT_EQ(token_of(&k8080), xgw_flow_token_hash(&k8080), "new listener: its hash");
	ASSERT_EQ(token_of(&k443), 0, "removed listener gone");
	ASSERT_EQ(flow_node(CLIENT4, 4, 40000, &k80, &e), 2, "flow still found");

	/* A restart over the pins (--keep-bpf): nothing to carry, everything kept. */
	xgw_bpf__close(b, false);
	b = NULL;
	if (!ASSERT_OK(xgw_bpf__open(&o, &b), "open over current pins"))
		goto out;
	ASSERT_EQ(token_of(&k80), t80, "token kept across the restart");
	ASSERT_EQ(flow_node(CLIENT4, 4, 40000, &k80, &e), 2, "flow kept across the restart");
out:
	if (b)
		xgw_bpf__close(b, true);
	remove_pins();
}

TEST_MAIN()
