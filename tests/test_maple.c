/*
 * The maple tree on a stub clock (no SimGrid), against a reference: a sorted array of
 * ranges covering [0, ULONG_MAX] with the tree's semantics (a NULL store merges with
 * neighbouring NULL ranges).
 *
 *  random    seeded random stores (insert, erase, exact overwrite, boundary move,
 *            spanning stores) with a full structural validation and a comparison of
 *            every range, lookups, find-next/prev and gap searches after each store;
 *  rcu       readers stepped level by level with a write of every kind between two of
 *            their steps: each returns the old or the new entry, and one standing on a
 *            replaced node sees it dead and restarts; every replaced node reaches the
 *            free callback exactly once, dead;
 *  cost      which node lines a walk and a gap search touch, per level;
 *  lock      a tree serialised by its own spinlock.
 *
 * The tree's source is included so its charges can be observed (MT_HW_LOAD).
 */
#include <string.h>
#include <glib.h>
#include "tap.h"
#include "clock.h"
#include "rng.h"
#include "hw/machine.h"
#include "hw/hw.h"

static bool recording;
static GArray *loads; /* uintptr_t addresses charged as loads while recording */

static void test_hw_load(struct sim_task *t, const void *addr, unsigned size)
{
	if (recording) {
		uintptr_t a = (uintptr_t)addr;
		g_array_append_val(loads, a);
	}
	hw_load(t, addr, size);
}
#define MT_HW_LOAD(t, addr, size) test_hw_load(t, addr, size)
#include "mm/maple_tree.c"

static struct sim_task task;

/* ---- reference ------------------------------------------------------------------------ */

struct ref_range {
	unsigned long first, last;
	void *entry;
};

static GArray *ref_new(void)
{
	GArray *a = g_array_new(FALSE, FALSE, sizeof(struct ref_range));
	struct ref_range all = {0, ULONG_MAX, NULL};
	g_array_append_val(a, all);
	return a;
}

#define REF(a, i) g_array_index(a, struct ref_range, i)

static void ref_store(GArray *a, unsigned long first, unsigned long last, void *entry)
{
	GArray *b = g_array_new(FALSE, FALSE, sizeof(struct ref_range));
	bool placed = false;
	for (unsigned i = 0; i < a->len; i++) {
		struct ref_range r = REF(a, i);
		if (r.last < first || r.first > last) {
			if (r.first > last && !placed) {
				struct ref_range n = {first, last, entry};
				g_array_append_val(b, n);
				placed = true;
			}
			g_array_append_val(b, r);
			continue;
		}
		if (r.first < first) {
			struct ref_range l = {r.first, first - 1, r.entry};
			g_array_append_val(b, l);
		}
		if (!placed) {
			struct ref_range n = {first, last, entry};
			g_array_append_val(b, n);
			placed = true;
		}
		if (r.last > last) {
			struct ref_range h = {last + 1, r.last, r.entry};
			g_array_append_val(b, h);
		}
	}
	g_array_set_size(a, 0);
	for (unsigned i = 0; i < b->len; i++) {
		struct ref_range r = REF(b, i);
		if (a->len && !r.entry && !REF(a, a->len - 1).entry)
			REF(a, a->len - 1).last = r.last;
		else
			g_array_append_val(a, r);
	}
	g_array_free(b, TRUE);
}

static unsigned ref_find(GArray *a, unsigned long index)
{
	unsigned lo = 0, hi = a->len - 1;
	while (lo < hi) {
		unsigned mid = (lo + hi) / 2;
		if (REF(a, mid).last < index)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The first entry whose range ends at or after index. */
static void *ref_next(GArray *a, unsigned long index)
{
	for (unsigned i = ref_find(a, index); i < a->len; i++)
		if (REF(a, i).entry)
			return REF(a, i).entry;
	return NULL;
}

static int ref_gap_rev(GArray *a, unsigned long min, unsigned long max, unsigned long size,
		       unsigned long *found_last)
{
	if (max - min < size - 1)
		return -EBUSY;
	for (int i = (int)a->len - 1; i >= 0; i--) {
		struct ref_range r = REF(a, (unsigned)i);
		if (r.entry || r.first > max || r.last < min)
			continue;
		unsigned long lo = r.first > min ? r.first : min, hi = r.last < max ? r.last : max;
		if (hi - lo >= size - 1) {
			*found_last = hi;
			return 0;
		}
	}
	return -EBUSY;
}

/* ---- retired nodes: kept (as after an RCU grace period not yet elapsed) ------------- */

struct retired {
	GHashTable *seen; /* node -> 1: each node must be handed over once */
	GPtrArray *pending;
	uint64_t handed, twice, alive;
};

static void retire_cb(void *arg, struct sim_task *t, struct maple_node *node)
{
	struct retired *r = arg;
	r->handed++;
	if (!g_hash_table_add(r->seen, node))
		r->twice++;
	if (!ma_dead_node(node))
		r->alive++;
	g_ptr_array_add(r->pending, node);
}

/* The grace period ends: free what was retired. */
static void retire_flush(struct retired *r)
{
	for (unsigned i = 0; i < r->pending->len; i++) {
		struct maple_node *n = g_ptr_array_index(r->pending, i);
		g_hash_table_remove(r->seen, n);
		free(n);
	}
	g_ptr_array_set_size(r->pending, 0);
}

static void retired_init(struct retired *r)
{
	*r = (struct retired){.seen = g_hash_table_new(NULL, NULL), .pending = g_ptr_array_new()};
}

static void retired_fini(struct retired *r)
{
	retire_flush(r);
	g_hash_table_destroy(r->seen);
	g_ptr_array_free(r->pending, TRUE);
}

/* ---- random stores ------------------------------------------------------------------ */

static uintptr_t next_id;

static void *new_entry(void)
{
	return (void *)(uintptr_t)(++next_id * 64);
}

static unsigned long rnd(struct sim_rng *r, unsigned long n)
{
	return n ? rng_next(r) % n : 0;
}

/* A store drawn from the current contents, mixing every kind of write. */
static void pick_store(struct sim_rng *rng, GArray *ref, unsigned long universe,
		       unsigned long *first, unsigned long *last, void **entry)
{
	unsigned kind = (unsigned)rnd(rng, 100);
	unsigned i = (unsigned)rnd(rng, ref->len);
	struct ref_range r = REF(ref, i);

	*entry = rnd(rng, 3) ? new_entry() : NULL;
	if (kind < 40) { /* a small range anywhere (insert / punch a hole) */
		*first = rnd(rng, universe);
		*last = *first + rnd(rng, universe / 200 + 1);
	} else if (kind < 55) { /* exactly an existing range */
		*first = r.first;
		*last = r.last;
	} else if (kind < 70 && i + 1 < ref->len) { /* move the boundary of two ranges */
		struct ref_range n = REF(ref, i + 1);
		if (rnd(rng, 2)) {
			*first = r.first;
			*last = n.first + rnd(rng, n.last - n.first);
		} else {
			*first = r.first + 1 + rnd(rng, r.last - r.first);
			if (*first > r.last)
				*first = r.last;
			*last = n.last;
		}
	} else if (kind < 80) { /* long: spans many leaves */
		*first = rnd(rng, universe);
		*last = *first + rnd(rng, universe / 8 + 1);
	} else if (kind < 83) { /* the very ends of the index space */
		*first = rnd(rng, 2) ? 0 : ULONG_MAX - rnd(rng, 1000);
		*last = *first == 0 ? rnd(rng, 1000) : ULONG_MAX;
	} else { /* inside one range */
		*first =
		    r.first + rnd(rng, r.last - r.first + 1 > 1000 ? 1000 : r.last - r.first + 1);
		*last = *first + rnd(rng, 50);
		if (*last > r.last)
			*last = r.last;
	}
	if (*last < *first)
		*last = ULONG_MAX;
}

/* Compare everything the tree answers with the reference; NULL if equal. */
static char *compare(struct maple_tree *mt, GArray *ref, struct sim_rng *rng,
		     unsigned long universe)
{
	MA_STATE(mas, mt, NULL, 0, 0);
	unsigned i = 0;
	unsigned long index = 0;

	for (;;) {
		mas.index = index;
		void *e = mas_walk(&mas);
		if (i >= ref->len)
			return g_strdup_printf("tree has more ranges than the reference");
		struct ref_range r = REF(ref, i);
		if (mas.index != r.first || mas.last != r.last || e != r.entry)
			return g_strdup_printf(
			    "range %u: tree [%lx, %lx] %p, reference [%lx, %lx] %p", i, mas.index,
			    mas.last, e, r.first, r.last, r.entry);
		i++;
		if (mas.last == ULONG_MAX)
			break;
		index = mas.last + 1;
	}
	if (i != ref->len)
		return g_strdup_printf("tree has %u ranges, reference %u", i, ref->len);
	/* The entries in order: find, then next (slot by slot within a leaf). */
	unsigned e_i = 0;
	mas.index = 0;
	for (void *e = mas_find(&mas, ULONG_MAX); e; e = mas_next(&mas, ULONG_MAX), e_i++) {
		while (e_i < ref->len && !REF(ref, e_i).entry)
			e_i++;
		if (e_i >= ref->len || e != REF(ref, e_i).entry ||
		    mas.index != REF(ref, e_i).first || mas.last != REF(ref, e_i).last)
			return g_strdup_printf("iteration: %p [%lx, %lx] where the reference has "
					       "entry %u",
					       e, mas.index, mas.last, e_i);
	}
	while (e_i < ref->len && !REF(ref, e_i).entry)
		e_i++;
	if (e_i != ref->len)
		return g_strdup_printf("iteration stopped before reference entry %u", e_i);
	/* Bounded iteration stops at max. */
	{
		unsigned long lo = rnd(rng, universe), hi = lo + rnd(rng, universe / 10 + 1);
		unsigned want = 0, got = 0;
		for (unsigned k = ref_find(ref, lo); k < ref->len && REF(ref, k).first <= hi; k++)
			want += REF(ref, k).entry != NULL;
		mas.index = lo;
		for (void *e = mas_find(&mas, hi); e; e = mas_next(&mas, hi))
			got++;
		if (got != want)
			return g_strdup_printf("iteration over [%lx, %lx]: %u entries, want %u", lo,
					       hi, got, want);
	}
	for (unsigned k = 0; k < 8; k++) {
		unsigned long x = rnd(rng, universe + universe / 4);
		unsigned j = ref_find(ref, x);
		/* find next */
		mas = (struct ma_state){.tree = mt, .index = x};
		void *e = mas_find(&mas, ULONG_MAX);
		unsigned jj = REF(ref, j).entry ? j : j + 1;
		void *want = jj < ref->len ? REF(ref, jj).entry : NULL;
		if (e != want || (e && (mas.index != REF(ref, jj).first)))
			return g_strdup_printf("find(%lx) = %p at %lx, want %p", x, e, mas.index,
					       want);
		/* find previous */
		mas.index = x;
		e = mas_find_rev(&mas, 0);
		want = REF(ref, j).entry ? REF(ref, j).entry : (j ? REF(ref, j - 1).entry : NULL);
		if (e != want)
			return g_strdup_printf("find_rev(%lx) = %p, want %p", x, e, want);
		/* gap search */
		unsigned long min = rnd(rng, universe), max = min + rnd(rng, universe);
		unsigned long size = 1 + rnd(rng, rnd(rng, 2) ? 64 : universe / 16);
		unsigned long wl = 0;
		int wr = ref_gap_rev(ref, min, max, size, &wl);
		int got = mas_empty_area_rev(&mas, min, max, size);
		if (got != wr || (!got && (mas.last != wl || mas.index != wl - size + 1)))
			return g_strdup_printf(
			    "empty_area_rev(%lx, %lx, %lu) = %d [%lx, %lx], want %d "
			    "ending %lx",
			    min, max, size, got, mas.index, mas.last, wr, wl);
	}
	return NULL;
}

static void test_random(void)
{
	const unsigned seeds = 24;
	uint64_t total = 0, kinds[MT_WR_NR] = {0};
	unsigned max_height = 0;
	char *err = NULL;
	bool accounting = true, callbacks = true;

	for (unsigned s = 0; s < seeds && !err; s++) {
		struct maple_tree mt;
		struct retired ret;
		struct sim_rng rng;
		/* Small universes make dense trees; big ones make many gaps. */
		unsigned long universe = s % 3 == 0 ? 4000 : s % 3 == 1 ? 200000 : 1UL << 40;
		GArray *ref = ref_new();
		/* Every fourth seed grows a tree of a few thousand ranges (height 4). */
		unsigned ops = s % 4 == 3 ? 7500 : 1500;

		rng_seed(&rng, 0x6d61706c65ULL, s);
		mt_init(&mt, MT_FLAGS_USE_RCU);
		mt_set_external_lock(&mt, NULL, NULL);
		retired_init(&ret);
		mt_set_free(&mt, retire_cb, &ret);
		for (unsigned op = 0; op < ops && !err; op++) {
			unsigned long first, last;
			void *entry;
			/* Grow first, then a mix; a tail of erases shrinks the tree again. */
			if (op < ops / 3) {
				first = rnd(&rng, universe);
				last = first + rnd(&rng, universe / 500 + 1);
				entry = new_entry();
			} else if (op > ops - ops / 5) {
				first = rnd(&rng, universe);
				last = first + rnd(&rng, universe / 20 + 1);
				entry = NULL;
			} else {
				pick_store(&rng, ref, universe, &first, &last, &entry);
			}
			MA_STATE(mas, &mt, &task, first, last);
			mas_preallocate(&mas, entry);
			mas_store_prealloc(&mas, entry);
			mas_destroy(&mas);
			ref_store(ref, first, last, entry);
			total++;
			for (unsigned k = 0; k < MT_WR_NR; k++)
				kinds[k] += !!(mt.last_store & (1u << k));
			if (mt.height > max_height)
				max_height = mt.height;
			err = mt_validate(&mt);
			if (!err)
				err = compare(&mt, ref, &rng, universe);
			if (err) {
				char *e = g_strdup_printf("seed %u op %u store [%lx, %lx] %p: %s",
							  s, op, first, last, entry, err);
				g_free(err);
				err = e;
				fprintf(stderr, "# %s\n", err);
				break;
			}
			if (mt.nodes_allocated - mt.nodes_unused - mt.nodes_dead !=
			    mt_nr_nodes(&mt))
				accounting = false;
			if (ret.twice || ret.alive)
				callbacks = false;
			retire_flush(&ret);
		}
		mtree_destroy(&mt);
		retired_fini(&ret);
		g_array_free(ref, TRUE);
	}
	tap_ok(!err,
	       "random: %llu stores over %u seeds, tree == reference after each "
	       "(validation, ranges, iteration, find, find_rev, gap search)%s%s",
	       (unsigned long long)total, seeds, err ? ": " : "", err ? err : "");
	g_free(err);
	tap_ok(accounting,
	       "random: nodes allocated == reachable + unused + retired after each store");
	tap_ok(callbacks, "random: every retired node reached the free callback once, marked dead");
	tap_ok(max_height >= 4, "random: trees reached height %u", max_height);
	static const char *names[] = {"exact",	   "slot",     "node", "split",
				      "rebalance", "spanning", "grow", "shrink"};
	for (unsigned k = 0; k < MT_WR_NR; k++)
		tap_ok(kinds[k] > 0, "random: %llu %s stores", (unsigned long long)kinds[k],
		       names[k]);
}

/* ---- RCU readers interleaved with writes -------------------------------------------- */

#define RCU_READERS 24

/* The i-th range of a build: VMA-like, ranges separated by gaps. */
static void build_range(struct sim_rng *rng, unsigned long universe, unsigned long *first,
			unsigned long *last)
{
	*first = rnd(rng, universe) * 4;
	*last = *first + 1 + rnd(rng, 3);
}

static void build(struct maple_tree *mt, struct retired *ret, GArray *ref, uint64_t seed,
		  unsigned n, unsigned long universe)
{
	struct sim_rng rng;
	rng_seed(&rng, seed, 1);
	mt_init(mt, MT_FLAGS_USE_RCU);
	mt_set_external_lock(mt, NULL, NULL);
	mt_set_free(mt, retire_cb, ret);
	next_id = seed * 100000;
	for (unsigned i = 0; i < n; i++) {
		unsigned long first, last;
		build_range(&rng, universe, &first, &last);
		void *e = new_entry();
		mtree_store_range(&task, mt, first, last, e);
		ref_store(ref, first, last, e);
	}
}

/* The last insert of a build of up to n that makes the tree taller: build i - 1, then
 * store range i. */
static unsigned grow_point(uint64_t seed, unsigned n, unsigned long universe, unsigned long *first,
			   unsigned long *last)
{
	struct maple_tree mt;
	struct retired ret;
	struct sim_rng rng;
	unsigned at = 1;

	retired_init(&ret);
	mt_init(&mt, 0);
	mt_set_external_lock(&mt, NULL, NULL);
	mt_set_free(&mt, retire_cb, &ret);
	rng_seed(&rng, seed, 1);
	for (unsigned i = 1; i <= n; i++) {
		unsigned long f, l;
		unsigned h = mt.height;
		build_range(&rng, universe, &f, &l);
		mtree_store_range(&task, &mt, f, l, new_entry());
		if (mt.height > h) {
			at = i;
			*first = f;
			*last = l;
		}
		retire_flush(&ret);
	}
	mtree_destroy(&mt);
	retired_fini(&ret);
	return at;
}

static void test_rcu(void)
{
	uint64_t trials = 0, readers = 0, bad = 0, restarts = 0, dead_unnoticed = 0;
	uint64_t kind_trials[MT_WR_NR] = {0}, kind_restarts[MT_WR_NR] = {0};
	bool callbacks = true;
	char *first_bad = NULL;

	for (uint64_t seed = 1; seed <= 150; seed++) {
		/* Sizes giving heights 1 to 4. */
		static const unsigned sizes[] = {5, 12, 40, 150, 600, 2500};
		unsigned n = sizes[seed % 6];
		unsigned long universe = n * 3;
		struct sim_rng wr;
		rng_seed(&wr, seed, 2);
		unsigned long first = 0, last = 0, first_r, last_r;
		void *entry;
		unsigned height;

		/* Draw the write once, on a first copy of the tree: a random store, the
		 * insert that makes the tree taller, or a store that makes it shorter. */
		unsigned mode = seed % 5;
		if (mode == 3)
			n = grow_point(seed, n, universe, &first, &last) - 1;
		{
			struct maple_tree mt;
			struct retired ret;
			GArray *ref = ref_new();
			retired_init(&ret);
			build(&mt, &ret, ref, seed, n, universe);
			height = mt.height;
			pick_store(&wr, ref, universe * 4, &first_r, &last_r, &entry);
			if (mode == 3) {
				entry = (void *)(uintptr_t)0x7777000;
			} else if (mode == 4) {
				first = (seed & 8) ? 0 : rnd(&wr, universe / 8);
				last = first + universe * 3 + rnd(&wr, universe);
				entry = (seed & 16) ? (void *)(uintptr_t)0x7777000 : NULL;
			} else {
				first = first_r;
				last = last_r;
			}
			mtree_destroy(&mt);
			retired_fini(&ret);
			g_array_free(ref, TRUE);
		}
		/* Pause the readers before each of their steps in turn. */
		for (unsigned pause = 0; pause <= height; pause++) {
			struct maple_tree mt;
			struct retired ret;
			GArray *before = ref_new();
			struct sim_rng rr;
			retired_init(&ret);
			build(&mt, &ret, before, seed, n, universe);
			GArray *after = g_array_copy(before);
			ref_store(after, first, last, entry);

			struct ma_state rd[RCU_READERS];
			void *paused_on[RCU_READERS];
			rng_seed(&rr, seed, 3 + pause);
			for (unsigned r = 0; r < RCU_READERS; r++) {
				/* Readers in and around the written range, and anywhere. */
				unsigned long x;
				if (r % 3 == 0)
					x = first + rnd(&rr, last - first + 1);
				else if (r % 3 == 1)
					x = (r & 2) ? first - 1 - rnd(&rr, 8)
						    : last + 1 + rnd(&rr, 8);
				else
					x = rnd(&rr, universe * 4);
				rd[r] = (struct ma_state){
				    .tree = &mt, .t = &task, .index = x, .status = ma_start};
				for (unsigned s = 0; s < pause; s++)
					mas_walk_step(&rd[r]);
				paused_on[r] = rd[r].status == ma_active ? rd[r].node : NULL;
			}
			/* Iterators: a walk done before the write, mas_next after it. */
			struct ma_state it[RCU_READERS / 4];
			for (unsigned r = 0; r < RCU_READERS / 4; r++) {
				it[r] = rd[r];
				it[r].restarts = 0;
				mas_walk(&it[r]);
			}
			mtree_store_range(&task, &mt, first, last, entry);
			unsigned kinds = mt.last_store;
			for (unsigned r = 0; r < RCU_READERS / 4; r++) {
				unsigned long from = it[r].last;
				if (from == ULONG_MAX)
					continue;
				void *got = mas_next(&it[r], ULONG_MAX);
				void *old = ref_next(before, from + 1),
				     *new = ref_next(after, from + 1);
				readers++;
				if (got != old && got != new) {
					bad++;
					if (!first_bad)
						first_bad = g_strdup_printf(
						    "seed %llu: mas_next after %lx got %p (old %p, "
						    "new "
						    "%p)",
						    (unsigned long long)seed, from, got, old, new);
				}
			}
			char *err = mt_validate(&mt);
			if (err) {
				if (!first_bad)
					first_bad =
					    g_strdup_printf("seed %llu: tree invalid after the "
							    "write: %s",
							    (unsigned long long)seed, err);
				bad++;
				g_free(err);
			}
			for (unsigned r = 0; r < RCU_READERS; r++) {
				unsigned long x = rd[r].index;
				bool dead = paused_on[r] && ma_dead_node(mte_to_node(paused_on[r]));
				unsigned before_restarts = rd[r].restarts;
				while (!mas_walk_step(&rd[r]))
					;
				void *old = REF(before, ref_find(before, x)).entry;
				void *new = REF(after, ref_find(after, x)).entry;
				void *got = rd[r].entry;
				bool restarted = rd[r].restarts > before_restarts;
				readers++;
				restarts += restarted;
				if ((got != old && got != new) ||
				    (dead && (!restarted || got != new))) {
					bad++;
					if (!first_bad)
						first_bad = g_strdup_printf(
						    "seed %llu pause %u: reader at %lx got %p (old "
						    "%p, "
						    "new %p, paused on a %s node, %s)",
						    (unsigned long long)seed, pause, x, got, old,
						    new, dead ? "dead" : "live",
						    restarted ? "restarted" : "no restart");
				}
				if (dead && !restarted)
					dead_unnoticed++;
				for (unsigned k = 0; k < MT_WR_NR; k++)
					if (kinds & (1u << k))
						kind_restarts[k] += restarted;
			}
			for (unsigned k = 0; k < MT_WR_NR; k++)
				kind_trials[k] += !!(kinds & (1u << k));
			trials++;
			if (ret.twice || ret.alive)
				callbacks = false;
			mtree_destroy(&mt);
			retired_fini(&ret);
			g_array_free(before, TRUE);
			g_array_free(after, TRUE);
		}
	}
	tap_ok(!bad,
	       "rcu: %llu readers over %llu interleavings return the old or the new entry, "
	       "and a reader paused on a replaced node restarts and returns the new one%s%s",
	       (unsigned long long)readers, (unsigned long long)trials, first_bad ? ": " : "",
	       first_bad ? first_bad : "");
	g_free(first_bad);
	tap_ok(!dead_unnoticed && restarts > 0, "rcu: %llu readers found a dead node and restarted",
	       (unsigned long long)restarts);
	tap_ok(callbacks, "rcu: each replaced node reached the free callback exactly once, dead");
	static const char *names[] = {"exact",	   "slot",     "node", "split",
				      "rebalance", "spanning", "grow", "shrink"};
	for (unsigned k = 0; k < MT_WR_NR; k++) {
		bool in_place = k == MT_WR_EXACT || k == MT_WR_SLOT;
		tap_ok(kind_trials[k] > 0 && (in_place || kind_restarts[k] > 0),
		       "rcu: %s stores interleaved %llu times, %llu reader restarts", names[k],
		       (unsigned long long)kind_trials[k], (unsigned long long)kind_restarts[k]);
	}
}

/* ---- cost: lines touched per level ---------------------------------------------------- */

static void build_vmas(struct maple_tree *mt, unsigned n)
{
	mt_init(mt, 0);
	mt_set_external_lock(mt, NULL, NULL);
	for (unsigned i = 0; i < n; i++) {
		unsigned long a = 0x10000 + (unsigned long)i * 0x2000;
		mtree_store_range(&task, mt, a, a + 0xfff, new_entry());
	}
}

static void test_cost(void)
{
	loads = g_array_new(FALSE, FALSE, sizeof(uintptr_t));
	for (unsigned h = 1; h <= 3; h++) {
		struct maple_tree mt;
		/* VMA-like layouts: 1-page VMAs separated by 1-page gaps; the count is the
		 * middle of the counts that give height h. */
		unsigned lo = 0, hi = 0;
		build_vmas(&mt, 0);
		for (unsigned n = 1; mt.height <= h; n++) {
			unsigned long a = 0x10000 + (unsigned long)(n - 1) * 0x2000;
			mtree_store_range(&task, &mt, a, a + 0xfff, new_entry());
			if (mt.height == h && !lo)
				lo = n;
			if (mt.height == h)
				hi = n;
		}
		mtree_destroy(&mt);
		unsigned count = (lo + hi) / 2;
		build_vmas(&mt, count);
		tap_ok(mt.height == h, "cost: %u VMAs (of %u-%u) make a tree of height %u", count,
		       lo, hi, mt.height);
		unsigned counts[4];
		counts[h] = count;
		unsigned c = h;

		unsigned walks = 0, lines_total = 0, bad_levels = 0, root_loads_bad = 0;
		unsigned slot0_walks = 0, slot0_bad = 0, gap_line = 0;
		for (unsigned i = 0; i < counts[c]; i += 1 + counts[c] / 50) {
			unsigned long x = 0x10000 + (unsigned long)i * 0x2000 + 0x800;
			MA_STATE(mas, &mt, &task, x, x);
			g_array_set_size(loads, 0);
			recording = true;
			mas_walk(&mas);
			recording = false;
			walks++;
			/* Distinct lines per node, in the order visited. */
			GHashTable *lines = g_hash_table_new(NULL, NULL);
			uintptr_t nodes[MAPLE_HEIGHT_MAX];
			unsigned nr_nodes = 0, root = 0;
			bool all_slot0 = true;
			for (unsigned k = 0; k < loads->len; k++) {
				uintptr_t a = g_array_index(loads, uintptr_t, k);
				if (a == MT_LINE(&mt.ma_root)) {
					root++;
					continue;
				}
				uintptr_t node = a & ~(uintptr_t)(MAPLE_NODE_SIZE - 1);
				if (!nr_nodes || nodes[nr_nodes - 1] != node)
					nodes[nr_nodes++] = node;
				g_hash_table_add(lines, (void *)a);
				/* Line 3 of an internal node holds only gaps and metadata. */
				if (nr_nodes < h && a - node == 192)
					gap_line++;
			}
			root_loads_bad += root != 1 || nr_nodes != h;
			for (unsigned l = 0; l < nr_nodes; l++) {
				unsigned n = 0;
				for (unsigned k = 0; k < 4; k++)
					n += g_hash_table_contains(lines,
								   (void *)(nodes[l] + 64 * k));
				lines_total += n;
				bad_levels += n < 2 || n > 3;
				if (n != 2)
					all_slot0 = false;
			}
			/* A walk taking slot 0 at every level reads line 0 and one slot line. */
			(void)all_slot0;
			if (i == 0) {
				slot0_walks++;
				slot0_bad += !all_slot0;
			}
			g_hash_table_destroy(lines);
		}
		tap_ok(!bad_levels && !root_loads_bad && !gap_line,
		       "cost: height %u: %u walks load the root pointer once, one node per level, "
		       "2-3 lines per node, never an internal node's gap line; %.2f lines per walk",
		       h, walks, (double)lines_total / walks);
		tap_ok(slot0_walks == 1 && !slot0_bad,
		       "cost: height %u: the walk to the lowest VMA touches 2 lines per level", h);

		/* A gap search reads the gap values of internal nodes. */
		MA_STATE(mas, &mt, &task, 0, 0);
		g_array_set_size(loads, 0);
		recording = true;
		int r = mas_empty_area_rev(&mas, 0x10000, 0x10000UL + counts[c] * 0x2000UL, 0x2000);
		recording = false;
		/* Gap values of the root (internal when h > 1) live in its lines 2 and 3. */
		uintptr_t rootn = (uintptr_t)mte_to_node(mt.ma_root);
		unsigned gap_lines = 0;
		for (unsigned k = 0; k < loads->len; k++) {
			uintptr_t a = g_array_index(loads, uintptr_t, k);
			gap_lines += a == rootn + 128 || a == rootn + 192;
		}
		tap_ok(r == -EBUSY, "cost: height %u: no 2-page gap among 1-page gaps", h);
		tap_ok(h == 1 || gap_lines > 0,
		       "cost: height %u: the gap search loaded %u lines, %u "
		       "of them the root's gap lines",
		       h, loads->len, gap_lines);
		mtree_destroy(&mt);
	}
	g_array_free(loads, TRUE);
}

/* ---- the tree's own lock ------------------------------------------------------------- */

static void test_lock(void)
{
	struct maple_tree mt;
	mt_init(&mt, MT_FLAGS_USE_RCU);
	for (unsigned i = 0; i < 100; i++)
		mtree_store_range(&task, &mt, i * 10, i * 10 + 4, new_entry());
	char *err = mt_validate(&mt);
	tap_ok(!err && !mt.ma_lock.owner && mt.height >= 2,
	       "lock: 100 stores under the tree's own spinlock, released, valid, height %u%s%s",
	       mt.height, err ? ": " : "", err ? err : "");
	g_free(err);
	mtree_destroy(&mt);

	/* mt_set_lock: the writers' lock placed elsewhere (mm: on a line of its own); the
	 * stores take that one, not the embedded ma_lock. */
	struct spinlock *own = g_aligned_alloc0(1, sizeof(*own), 64);
	spin_lock_init(own, "test own tree lock");
	mt_init(&mt, MT_FLAGS_USE_RCU);
	mt_set_lock(&mt, own);
	uint64_t before = own->dep.class->side[LS_WRITE].acquisitions +
			  own->dep.class->side[LS_READ].acquisitions;
	for (unsigned i = 0; i < 50; i++)
		mtree_store_range(&task, &mt, i * 10, i * 10 + 4, new_entry());
	uint64_t taken = own->dep.class->side[LS_WRITE].acquisitions +
			 own->dep.class->side[LS_READ].acquisitions - before;
	err = mt_validate(&mt);
	tap_ok(!err && taken == 50 && !(mt.ma_flags & MT_FLAGS_LOCK_EXTERN) && !own->owner,
	       "lock: mt_set_lock: 50 stores took the given lock %llu times, released, valid",
	       (unsigned long long)taken);
	g_free(err);
	mtree_destroy(&mt);
	g_aligned_free(own);
}

/* ---- the validator catches what it claims to ------------------------------------- */

static void test_validate(void)
{
	struct maple_tree mt;
	build_vmas(&mt, 300);
	struct maple_node *root = mte_to_node(mt.ma_root);
	struct maple_node *child = mte_to_node(root->ma64.slot[1]);
	struct maple_node *leaf = child;
	void *e = root->ma64.slot[1];
	while (mte_type(e) == maple_arange_64) {
		e = mte_to_node(e)->ma64.slot[0];
		leaf = mte_to_node(e);
	}
	struct {
		const char *what;
		unsigned long *word;
		unsigned long bad;
		const char *says;
	} cases[] = {
	    {"a pivot out of order", &leaf->mr64.pivot[2], leaf->mr64.pivot[0], "pivot"},
	    {"a wrong gap value", &root->ma64.gap[1], root->ma64.gap[1] + 1, "gap"},
	    {"a stale parent word", (unsigned long *)&child->parent, (unsigned long)child,
	     "dead node reachable"},
	    {"two adjacent NULL ranges", (unsigned long *)&leaf->mr64.slot[1], 0, "NULL"},
	};
	char *err = mt_validate(&mt);
	tap_ok(!err, "validate: a tree of %u levels is valid", mt.height);
	g_free(err);
	for (unsigned i = 0; i < G_N_ELEMENTS(cases); i++) {
		unsigned long saved = *cases[i].word;
		*cases[i].word = cases[i].bad;
		err = mt_validate(&mt);
		tap_ok(err && strstr(err, cases[i].says), "validate: catches %s: %s", cases[i].what,
		       err ? err : "(nothing reported)");
		g_free(err);
		*cases[i].word = saved;
	}
	mtree_destroy(&mt);
}

int main(int argc, char **argv)
{
	char *err = NULL;
	struct machine *m = machine_load("generic-2s", &err);
	if (!m) {
		printf("Bail out! %s\n", err);
		return 1;
	}
	task.name = "test";
	task.machine = m;
	task.deadline = SIM_TIME_MAX;
	task.hw = hw_create(m, m->nr_cpus);
	const char *only = argc > 1 ? argv[1] : NULL;
	if (!only || !strcmp(only, "random"))
		test_random();
	if (!only || !strcmp(only, "rcu"))
		test_rcu();
	if (!only || !strcmp(only, "cost"))
		test_cost();
	if (!only || !strcmp(only, "lock")) {
		test_lock();
		test_validate();
	}
	hw_destroy(task.hw);
	machine_free(m);
	return tap_done();
}
