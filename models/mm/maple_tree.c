/*
 * The maple tree in RCU mode (maple_tree.h).  Sources: lib/maple_tree.c and
 * include/linux/maple_tree.h (Linux 6.4-6.15): mtree_range_walk and ma_dead_node for the
 * reader, mas_wr_store_type / mas_wr_slot_store / mas_wr_node_store / mas_split /
 * mas_rebalance / mas_wr_spanning_store for the writer kinds, mte_set_node_dead and
 * ma_free_rcu for retiring nodes, mas_empty_area_rev for the gap search, mas_preallocate
 * for the node count.  Spec: ../shared/reference/kernel-algorithms.md §F.  Written for
 * mmsim from that description; the algorithm for non-in-place stores is one of our own
 * (a bottom-up rebuild of the run of nodes a store touches), described below.
 *
 * Costs: a reader loads, per level, the pivot lines it scans, the slot line it takes and
 * the parent word (the dead check; line 0).  A writer additionally pays the preset's
 * maple_node_alloc_ns per preallocated node (and per unused node returned, and per node
 * the default callback frees), one load per
 * line copied out of an old node, one store per line written into a new one, one store
 * per adopted child's parent word, per dead mark and for the publishing pointer.
 *
 * Invariants (checked by mt_validate): every leaf at depth height-1; pivots strictly
 * increasing inside the node's range, pivot[end] == max when the node is not full, later
 * pivots 0; non-root leaves hold >= 6 entries and non-root internal nodes >= 3 (the
 * kernel's mt_min_slots), an internal root >= 2; a child's parent word names its parent
 * and offset; gap[i] is the largest NULL range below child i; no two adjacent ranges of
 * the whole tree are both NULL (so every gap is exactly one range and the gap search
 * needs no merging across nodes).
 *
 * Non-in-place stores.  A store [first, last] touches a run of leaves, from the leaf
 * holding first to the leaf holding last.  Their content with the store applied (ranges
 * of the left leaf before first, the new range, ranges of the right leaf after last;
 * leaves between are dropped whole) is laid out in a staging array ("big node", as the
 * kernel's maple_big_node) and cut into as few new leaves as fit; if there are too few
 * entries, a neighbour leaf joins the run; if one node overflows, a sibling with room
 * joins it first (mas_push_data), so nodes fill up instead of splitting in halves.  One level up,
 * the run is the parents of that run; their new content is their children before the run, the new
 * nodes, and their children after the run.  The loop climbs until the run is one node replaced by
 * one node of the same range (published by one store into its unchanged parent) or reaches the root
 * (published by one store into ma_root, possibly with a new root above, or a lone child promoted).
 * Only then are the old nodes of every rebuilt level, including the dropped subtrees, marked dead
 * and handed to the free callback.  Old nodes are never modified except for their parent word, so a
 * reader inside them sees the old tree.
 *
 * Testing hook: a test may define MT_HW_LOAD / MT_HW_STORE before including this file
 * to observe the addresses charged (tests/test_maple.c).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>
#include "maple_tree.h"
#include "slab.h"
#include "hw/hw.h"
#include "die.h"

#ifndef MT_HW_LOAD
#define MT_HW_LOAD(t, addr, size) hw_load(t, addr, size)
#endif
#ifndef MT_HW_STORE
#define MT_HW_STORE(t, addr, size) hw_store(t, addr, size)
#endif

#define MT_MAX ULONG_MAX
#define MT_ROOT_PARENT 1UL
#define MT_LINE(p) ((uintptr_t)(p) & ~(uintptr_t)(CACHE_LINE - 1))

static const unsigned char mt_slots[] = {
    [maple_leaf_64] = MAPLE_RANGE64_SLOTS, [maple_arange_64] = MAPLE_ARANGE64_SLOTS};
static const unsigned char mt_pivots[] = {
    [maple_leaf_64] = MAPLE_RANGE64_SLOTS - 1, [maple_arange_64] = MAPLE_ARANGE64_SLOTS - 1};
/* The kernel's mt_min_slots: half the slots minus two. */
static const unsigned char mt_min_slots[] = {[maple_leaf_64] = MAPLE_RANGE64_SLOTS / 2 - 2,
					     [maple_arange_64] = MAPLE_ARANGE64_SLOTS / 2 - 2};

/* ---- encoded node pointers: node address | type << 3 ---------------------------- */

static inline void *mt_mk_node(const struct maple_node *node, enum maple_type type)
{
	return (void *)((uintptr_t)node | ((uintptr_t)type << 3));
}

static inline struct maple_node *mte_to_node(const void *enode)
{
	return (struct maple_node *)((uintptr_t)enode & ~(uintptr_t)(MAPLE_NODE_SIZE - 1));
}

static inline enum maple_type mte_type(const void *enode)
{
	return (enum maple_type)(((uintptr_t)enode >> 3) & 0x3);
}

static inline unsigned long *ma_pivots(struct maple_node *n, enum maple_type type)
{
	return type == maple_leaf_64 ? n->mr64.pivot : n->ma64.pivot;
}

static inline void **ma_slots(struct maple_node *n, enum maple_type type)
{
	return type == maple_leaf_64 ? n->mr64.slot : n->ma64.slot;
}

static inline bool ma_dead_node(const struct maple_node *n)
{
	return n->parent == (uintptr_t)n;
}

static inline uintptr_t mt_parent_word(const struct maple_node *parent, unsigned offset)
{
	return (uintptr_t)parent | ((uintptr_t)offset << 2);
}

/* Offset of the last used slot.  A full leaf has no metadata (slot 15 is in use). */
static unsigned char ma_data_end(struct maple_node *n, enum maple_type type, unsigned long max)
{
	if (type == maple_arange_64)
		return n->ma64.meta.end;
	unsigned long *piv = n->mr64.pivot;
	if (piv[MAPLE_RANGE64_SLOTS - 2]) /* only pivot[0] may legitimately be 0 */
		return piv[MAPLE_RANGE64_SLOTS - 2] == max ? MAPLE_RANGE64_SLOTS - 2
							   : MAPLE_RANGE64_SLOTS - 1;
	return n->mr64.meta.end;
}

/* Range of slot i of a node covering [min, max]. */
static inline unsigned long mt_slot_min(const unsigned long *piv, unsigned i, unsigned long min)
{
	return i ? piv[i - 1] + 1 : min;
}

static inline unsigned long mt_slot_max(const unsigned long *piv, unsigned i, unsigned npiv,
					unsigned long max)
{
	return i < npiv ? piv[i] : max;
}

static inline unsigned long mt_range_size(unsigned long first, unsigned long last)
{
	return (first == 0 && last == MT_MAX) ? MT_MAX : last - first + 1;
}

/* ---- cost charging ----------------------------------------------------------------- */

static inline void mt_load(struct sim_task *t, const void *addr)
{
	if (t)
		MT_HW_LOAD(t, (const void *)MT_LINE(addr), CACHE_LINE);
}

static inline void mt_store(struct sim_task *t, const void *addr)
{
	if (t)
		MT_HW_STORE(t, (const void *)MT_LINE(addr), CACHE_LINE);
}

/* One charge per line of [addr, addr + size). */
static void mt_load_span(struct sim_task *t, const void *addr, size_t size)
{
	if (!t || !size)
		return;
	for (uintptr_t l = MT_LINE(addr); l < (uintptr_t)addr + size; l += CACHE_LINE)
		MT_HW_LOAD(t, (const void *)l, CACHE_LINE);
}

static void mt_store_span(struct sim_task *t, const void *addr, size_t size)
{
	if (!t || !size)
		return;
	for (uintptr_t l = MT_LINE(addr); l < (uintptr_t)addr + size; l += CACHE_LINE)
		MT_HW_STORE(t, (const void *)l, CACHE_LINE);
}

/* ---- tree setup ---------------------------------------------------------------------- */

/* The default retirement: a slab free, now (see mt_init for when that is safe). */
/* maple_node_cache: LIFO reuse decided by the simulation, not by the host's malloc, so
 * which cache lines a new node occupies never depends on the host heap. */
static struct kmem_cache maple_node_cache = { sizeof(struct maple_node), MAPLE_NODE_SIZE, NULL };

static void mt_free_now(void *arg, struct sim_task *t, struct maple_node *node)
{
	if (t)
		cpu_work(t, t->machine->path.maple_node_alloc);
	kmem_cache_free(&maple_node_cache, node);
}

void mt_init(struct maple_tree *mt, unsigned flags)
{
	*mt = (struct maple_tree){0};
	mt->ma_flags = flags | MT_FLAGS_ALLOC_RANGE;
	spin_lock_init(&mt->ma_lock, "&mt->ma_lock");
	mt->lockp = &mt->ma_lock;
	mt->free_node = mt_free_now;
}

void mt_set_lock(struct maple_tree *mt, struct spinlock *lock)
{
	sim_bug_on(mt->ma_root);
	mt->ma_flags &= ~MT_FLAGS_LOCK_EXTERN;
	mt->ext_held = NULL;
	mt->ext_lock = NULL;
	mt->lockp = lock;
}

void mt_set_external_lock(struct maple_tree *mt, mt_lock_held_fn held, const void *lock)
{
	mt->ma_flags |= MT_FLAGS_LOCK_EXTERN;
	mt->ext_held = held;
	mt->ext_lock = lock;
}

void mt_set_free(struct maple_tree *mt, mt_free_fn fn, void *arg)
{
	mt->free_node = fn;
	mt->free_arg = arg;
}

static void mt_destroy_walk(void *enode)
{
	struct maple_node *n = mte_to_node(enode);
	if (mte_type(enode) == maple_arange_64)
		for (unsigned i = 0; i <= n->ma64.meta.end; i++)
			mt_destroy_walk(n->ma64.slot[i]);
	kmem_cache_free(&maple_node_cache, n);
}

void mtree_destroy(struct maple_tree *mt)
{
	if (mt->ma_root)
		mt_destroy_walk(mt->ma_root);
	mt->ma_root = NULL;
	mt->height = 0;
}

void mtree_lock(struct sim_task *t, struct maple_tree *mt)
{
	sim_bug_on(mt->ma_flags & MT_FLAGS_LOCK_EXTERN);
	spin_lock(t, mt->lockp);
}

void mtree_unlock(struct sim_task *t, struct maple_tree *mt)
{
	spin_unlock(t, mt->lockp);
}

static void mt_assert_write_locked(const struct ma_state *mas)
{
	const struct maple_tree *mt = mas->tree;
	sim_bug_on(!mas->t);
	if (mt->ma_flags & MT_FLAGS_LOCK_EXTERN)
		sim_bug_on(mt->ext_held && !mt->ext_held(mt->ext_lock, mas->t));
	else
		sim_bug_on(!spin_is_held_by(mt->lockp, mas->t));
}

/* ---- readers ------------------------------------------------------------------------- */

void mas_reset(struct ma_state *mas)
{
	mas->status = ma_start;
}

/*
 * mtree_range_walk, one level per call.  Within a node: scan pivots until one is >= the
 * index, load that slot, then (after a read barrier in the kernel) load the node's parent
 * word: if the node is dead, what was read may belong to a replaced tree; start over.
 */
bool mas_walk_step(struct ma_state *mas)
{
	struct maple_tree *mt = mas->tree;
	struct sim_task *t = mas->t;

	if (mas->status == ma_done)
		return true;
	if (t && mt_in_rcu(mt))
		sim_sync(t);
	if (mas->status == ma_start) {
		mt_load(t, &mt->ma_root);
		void *root = mt->ma_root;
		if (!root) {
			mas->node = NULL;
			mas->entry = NULL;
			mas->index = 0;
			mas->last = MT_MAX;
			mas->status = ma_done;
			return true;
		}
		mas->node = root;
		mas->min = 0;
		mas->max = MT_MAX;
		mas->depth = 0;
		mas->status = ma_active;
		return false;
	}

	struct maple_node *n = mte_to_node(mas->node);
	enum maple_type type = mte_type(mas->node);
	unsigned long *piv = ma_pivots(n, type);
	unsigned npiv = mt_pivots[type], i;
	uintptr_t line = 0;

	for (i = 0; i < npiv; i++) {
		if (MT_LINE(&piv[i]) != line) {
			line = MT_LINE(&piv[i]);
			mt_load(t, &piv[i]);
		}
		if (piv[i] >= mas->index)
			break;
	}
	void **slots = ma_slots(n, type);
	mt_load(t, &slots[i]);
	void *next = slots[i];
	unsigned long min = mt_slot_min(piv, i, mas->min);
	unsigned long max = mt_slot_max(piv, i, npiv, mas->max);

	mt_load(t, &n->parent);
	if (ma_dead_node(n)) {
		mas->restarts++;
		mas->status = ma_start;
		return false;
	}
	mas->offset = (unsigned char)i;
	if (type == maple_leaf_64) {
		mas->entry = next;
		mas->index = min;
		mas->last = max;
		mas->status = ma_done;
		return true;
	}
	mas->node = next;
	mas->min = min;
	mas->max = max;
	mas->depth++;
	return false;
}

void *mas_walk(struct ma_state *mas)
{
	mas->status = ma_start;
	while (!mas_walk_step(mas))
		;
	return mas->entry;
}

/*
 * The next range in the same leaf if there is one (the kernel's mas_next_slot), else a
 * fresh walk.  Ranges next to a NULL range are never NULL, so one step suffices.
 */
void *mas_find(struct ma_state *mas, unsigned long max)
{
	void *entry = mas_walk(mas);

	/* Without concurrent writers one step suffices (ranges next to a NULL range are
	 * never NULL); a lockless reader may see the tree change between walks. */
	while (!entry && mas->last != MT_MAX && mas->last < max) {
		mas->index = mas->last + 1;
		entry = mas_walk(mas);
	}
	if (entry && mas->index > max)
		return NULL;
	return entry;
}

/*
 * The next non-NULL entry after the one found last (its range starting at or before
 * max), as mas_next / mas_next_slot: the next slot of the same leaf while the leaf is
 * live and has one, else a walk from the root.
 */
void *mas_next(struct ma_state *mas, unsigned long max)
{
	struct sim_task *t = mas->tree && mt_in_rcu(mas->tree) ? mas->t : NULL;

	sim_bug_on(mas->status != ma_done);
	while (mas->last != MT_MAX && mas->last < max) {
		void *entry;
		if (mas->node && mte_type(mas->node) == maple_leaf_64 && mas->last < mas->max) {
			struct maple_node *n = mte_to_node(mas->node);
			unsigned o = mas->offset + 1u, npiv = mt_pivots[maple_leaf_64];
			if (t)
				sim_sync(t);
			if (o < npiv)
				mt_load(mas->t, &n->mr64.pivot[o]);
			mt_load(mas->t, &n->mr64.slot[o]);
			entry = n->mr64.slot[o];
			unsigned long last = mt_slot_max(n->mr64.pivot, o, npiv, mas->max);
			mt_load(mas->t, &n->parent);
			if (ma_dead_node(n)) {
				mas->restarts++;
				mas->index = mas->last + 1;
				entry = mas_walk(mas);
			} else {
				mas->offset = (unsigned char)o;
				mas->index = mas->last + 1;
				mas->last = last;
				mas->entry = entry;
			}
		} else {
			mas->index = mas->last + 1;
			entry = mas_walk(mas);
		}
		if (entry)
			return mas->index <= max ? entry : NULL;
	}
	return NULL;
}

void *mas_find_rev(struct ma_state *mas, unsigned long min)
{
	void *entry = mas_walk(mas);

	while (!entry && mas->index != 0 && mas->index - 1 >= min) {
		mas->index = mas->index - 1;
		entry = mas_walk(mas);
	}
	if (entry && mas->last < min)
		return NULL;
	return entry;
}

/* ---- gap search ---------------------------------------------------------------------- */

struct mt_gap_search {
	struct sim_task *t;
	unsigned long min, max, size;
	unsigned long found_last;
};

static bool mt_gap_rev(struct mt_gap_search *g, void *enode, unsigned long nmin, unsigned long nmax)
{
	struct maple_node *n = mte_to_node(enode);
	enum maple_type type = mte_type(enode);
	unsigned long *piv = ma_pivots(n, type);
	void **slots = ma_slots(n, type);
	unsigned npiv = mt_pivots[type];
	unsigned end;

	if (type == maple_arange_64) {
		mt_load(g->t, &n->ma64.meta);
		end = n->ma64.meta.end;
	} else {
		mt_load(g->t, &piv[npiv - 1]);
		end = ma_data_end(n, type, nmax);
		if (end < npiv)
			mt_load(g->t, &n->mr64.meta);
	}
	for (int i = (int)end; i >= 0; i--) {
		if (i > 0)
			mt_load(g->t, &piv[i - 1]);
		unsigned long rmin = mt_slot_min(piv, (unsigned)i, nmin);
		unsigned long rmax = mt_slot_max(piv, (unsigned)i, npiv, nmax);
		if (rmin > g->max)
			continue;
		if (rmax < g->min)
			break;
		if (type == maple_arange_64) {
			mt_load(g->t, &n->ma64.gap[i]);
			if (n->ma64.gap[i] < g->size)
				continue;
			mt_load(g->t, &slots[i]);
			if (mt_gap_rev(g, slots[i], rmin, rmax))
				return true;
			continue;
		}
		mt_load(g->t, &slots[i]);
		if (slots[i])
			continue;
		unsigned long lo = rmin > g->min ? rmin : g->min;
		unsigned long hi = rmax < g->max ? rmax : g->max;
		if (hi - lo >= g->size - 1) {
			g->found_last = hi;
			return true;
		}
	}
	return false;
}

int mas_empty_area_rev(struct ma_state *mas, unsigned long min, unsigned long max,
		       unsigned long size)
{
	struct maple_tree *mt = mas->tree;
	struct mt_gap_search g = {.t = mas->t, .min = min, .max = max, .size = size};

	sim_bug_on(!size || min > max);
	if (max - min < size - 1)
		return -EBUSY;
	mt_load(mas->t, &mt->ma_root);
	if (!mt->ma_root)
		g.found_last = max;
	else if (!mt_gap_rev(&g, mt->ma_root, 0, MT_MAX))
		return -EBUSY;
	mas->last = g.found_last;
	mas->index = g.found_last - size + 1;
	return 0;
}

/* ---- writer helpers ------------------------------------------------------------------ */

struct mt_path {
	struct maple_node *node[MAPLE_HEIGHT_MAX];
	unsigned char off[MAPLE_HEIGHT_MAX];
	unsigned long min[MAPLE_HEIGHT_MAX], max[MAPLE_HEIGHT_MAX];
};

static inline enum maple_type mt_level_type(const struct maple_tree *mt, unsigned depth)
{
	return depth + 1 == mt->height ? maple_leaf_64 : maple_arange_64;
}

/* Writer's walk to index, recording every level (charged like a reader, no dead check:
 * writers never meet dead nodes). */
static void mt_path_walk(struct sim_task *t, const struct maple_tree *mt, unsigned long index,
			 struct mt_path *p)
{
	void *enode = mt->ma_root;
	unsigned long min = 0, max = MT_MAX;

	for (unsigned d = 0; d < mt->height; d++) {
		struct maple_node *n = mte_to_node(enode);
		enum maple_type type = mte_type(enode);
		unsigned long *piv = ma_pivots(n, type);
		unsigned npiv = mt_pivots[type], i;
		uintptr_t line = 0;

		for (i = 0; i < npiv; i++) {
			if (MT_LINE(&piv[i]) != line) {
				line = MT_LINE(&piv[i]);
				mt_load(t, &piv[i]);
			}
			if (piv[i] >= index)
				break;
		}
		mt_load(t, &ma_slots(n, type)[i]);
		p->node[d] = n;
		p->off[d] = (unsigned char)i;
		p->min[d] = min;
		p->max[d] = max;
		min = mt_slot_min(piv, i, min);
		max = mt_slot_max(piv, i, npiv, max);
		enode = ma_slots(n, type)[i];
	}
}

static unsigned long mt_leaf_max_gap(struct maple_node *n, unsigned long min, unsigned long max)
{
	unsigned end = ma_data_end(n, maple_leaf_64, max), npiv = mt_pivots[maple_leaf_64];
	unsigned long gap = 0;

	for (unsigned i = 0; i <= end; i++) {
		if (n->mr64.slot[i])
			continue;
		unsigned long s = mt_range_size(mt_slot_min(n->mr64.pivot, i, min),
						mt_slot_max(n->mr64.pivot, i, npiv, max));
		if (s > gap)
			gap = s;
	}
	return gap;
}

static unsigned char mt_arange_max_gap_offset(const struct maple_node *n)
{
	unsigned char best = 0;
	for (unsigned char i = 1; i <= n->ma64.meta.end; i++)
		if (n->ma64.gap[i] > n->ma64.gap[best])
			best = i;
	return best;
}

/*
 * A leaf changed in place: refresh the gap recorded for it in each ancestor, in place
 * (gaps are read only under the writers' lock), stopping where nothing changes.
 */
static void mt_update_gaps(struct sim_task *t, struct maple_tree *mt, const struct mt_path *p,
			   unsigned depth, unsigned long gap)
{
	while (depth-- > 0) {
		struct maple_node *parent = p->node[depth];
		unsigned off = p->off[depth];
		mt_load(t, &parent->ma64.gap[off]);
		if (parent->ma64.gap[off] == gap)
			return;
		mt_store(t, &parent->ma64.gap[off]);
		parent->ma64.gap[off] = gap;
		unsigned char best = mt_arange_max_gap_offset(parent);
		mt_load_span(t, parent->ma64.gap, sizeof(parent->ma64.gap));
		if (best != parent->ma64.meta.gap) {
			mt_store(t, &parent->ma64.meta);
			parent->ma64.meta.gap = best;
		}
		gap = parent->ma64.gap[best];
	}
}

static struct maple_node *mas_pop_node(struct ma_state *mas)
{
	sim_bug_on(!mas->nr_alloc); /* mas_preallocate asked for too few nodes */
	struct maple_node *n = mas->alloc[--mas->nr_alloc];
	memset(n, 0, sizeof(*n));
	return n;
}

/* Staging array of ranges: entry i covers (last[i-1], last[i]], the first from `min`. */
#define MT_BIG_SLOTS (3 * MAPLE_RANGE64_SLOTS + 4)
struct mt_big {
	unsigned n;
	unsigned long last[MT_BIG_SLOTS];
	void *slot[MT_BIG_SLOTS];
	unsigned long gap[MT_BIG_SLOTS];
};

static void big_add(struct mt_big *b, unsigned long last, void *slot, unsigned long gap)
{
	sim_bug_on(b->n >= MT_BIG_SLOTS);
	b->last[b->n] = last;
	b->slot[b->n] = slot;
	b->gap[b->n] = gap;
	b->n++;
}

/* Append slots [from, to] of node n (range [min, max]), charging the lines read. */
static void big_copy(struct sim_task *t, struct mt_big *b, struct maple_node *n,
		     enum maple_type type, unsigned long min, unsigned long max, int from, int to)
{
	unsigned long *piv = ma_pivots(n, type);
	void **slots = ma_slots(n, type);
	unsigned npiv = mt_pivots[type];

	if (from > to)
		return;
	mt_load_span(t, &piv[from],
		     (size_t)((to < (int)npiv ? to : (int)npiv - 1) - from + 1) * sizeof(*piv));
	mt_load_span(t, &slots[from], (size_t)(to - from + 1) * sizeof(void *));
	if (type == maple_arange_64)
		mt_load_span(t, &n->ma64.gap[from], (size_t)(to - from + 1) * sizeof(long));
	for (int i = from; i <= to; i++)
		big_add(b, mt_slot_max(piv, (unsigned)i, npiv, max), slots[i],
			type == maple_arange_64 ? n->ma64.gap[i] : 0);
}

/* Prepend all of node n (used when a left neighbour joins the run). */
static void big_prepend_node(struct sim_task *t, struct mt_big *b, struct maple_node *n,
			     enum maple_type type, unsigned long min, unsigned long max)
{
	struct mt_big tmp = {0};
	big_copy(t, &tmp, n, type, min, max, 0, ma_data_end(n, type, max));
	sim_bug_on(tmp.n + b->n > MT_BIG_SLOTS);
	memcpy(&tmp.last[tmp.n], b->last, b->n * sizeof(b->last[0]));
	memcpy(&tmp.slot[tmp.n], b->slot, b->n * sizeof(b->slot[0]));
	memcpy(&tmp.gap[tmp.n], b->gap, b->n * sizeof(b->gap[0]));
	tmp.n += b->n;
	*b = tmp;
}

/*
 * Fill a new node with big entries [a, b] covering [min, max].  Internal nodes adopt
 * their children (a store to each child's parent word).  Returns the node's max gap.
 */
static unsigned long mt_fill_node(struct sim_task *t, struct maple_node *n, enum maple_type type,
				  const struct mt_big *big, unsigned a, unsigned b,
				  unsigned long min, unsigned long max)
{
	unsigned long *piv = ma_pivots(n, type);
	void **slots = ma_slots(n, type);
	unsigned npiv = mt_pivots[type], end = b - a;
	unsigned long gap = 0;

	sim_bug_on(end >= mt_slots[type]);
	for (unsigned j = 0; j <= end; j++) {
		slots[j] = big->slot[a + j];
		if (j < npiv)
			piv[j] = big->last[a + j];
	}
	if (type == maple_arange_64) {
		for (unsigned j = 0; j <= end; j++) {
			n->ma64.gap[j] = big->gap[a + j];
			struct maple_node *child = mte_to_node(slots[j]);
			mt_store(t, &child->parent);
			child->parent = mt_parent_word(n, j);
		}
		n->ma64.meta.end = (unsigned char)end;
		n->ma64.meta.gap = mt_arange_max_gap_offset(n);
		gap = n->ma64.gap[n->ma64.meta.gap];
		mt_store_span(t, n, sizeof(*n));
	} else {
		if (end < npiv)
			n->mr64.meta.end = (unsigned char)end;
		gap = mt_leaf_max_gap(n, min, max);
		mt_store_span(t, n,
			      offsetof(struct maple_range_64, slot) + (end + 1) * sizeof(void *));
		if (end < npiv)
			mt_store(t, &n->mr64.meta);
	}
	return gap;
}

/* How many nodes hold n entries (as few as fit; entries spread evenly). */
static unsigned mt_split_count(unsigned n, enum maple_type type)
{
	return (n + mt_slots[type] - 1) / mt_slots[type];
}

/* Node j of k over big entries: [*a, *b]. */
static void mt_split_bounds(unsigned n, unsigned k, unsigned j, unsigned *a, unsigned *b)
{
	unsigned base = n / k, extra = n % k;
	*a = j * base + (j < extra ? j : extra);
	*b = *a + base + (j < extra ? 1 : 0) - 1;
}

static void mt_mark_dead(struct ma_state *mas, struct maple_node *n)
{
	mt_store(mas->t, &n->parent);
	n->parent = (uintptr_t)n;
}

/* Old nodes of the rebuilt levels: at depth d >= top, every node inside span[d]. */
static void mt_collect_dead(void *enode, unsigned depth, unsigned top, unsigned long min,
			    unsigned long max, const unsigned long *smin, const unsigned long *smax,
			    unsigned height, GPtrArray *dead)
{
	struct maple_node *n = mte_to_node(enode);
	if (depth >= top && min >= smin[depth] && max <= smax[depth])
		g_ptr_array_add(dead, n);
	if (depth + 1 == height)
		return;
	unsigned d = depth + 1 > top ? depth + 1 : top;
	unsigned npiv = mt_pivots[maple_arange_64];
	for (unsigned i = 0; i <= n->ma64.meta.end; i++) {
		unsigned long cmin = mt_slot_min(n->ma64.pivot, i, min);
		unsigned long cmax = mt_slot_max(n->ma64.pivot, i, npiv, max);
		if (cmax < smin[d] || cmin > smax[d])
			continue;
		mt_collect_dead(n->ma64.slot[i], depth + 1, top, cmin, cmax, smin, smax, height,
				dead);
	}
}

/* ---- store planning ------------------------------------------------------------------ */

enum mt_plan { MT_PLAN_NOOP, MT_PLAN_EXACT, MT_PLAN_SLOT, MT_PLAN_REBUILD };

/*
 * Widen a NULL store over the NULL ranges next to it (no two adjacent NULL ranges), then
 * pick the store kind.  In-place kinds: overwrite of one exactly matching range, and the
 * two-range boundary move of mas_wr_slot_store (ordered so a reader sees, per index,
 * either the old or the new entry).  Everything else rebuilds.
 */
static enum mt_plan mt_plan_store(struct ma_state *mas, unsigned long *pfirst, unsigned long *plast,
				  void *entry)
{
	struct maple_tree *mt = mas->tree;
	struct sim_task *t = mas->t;
	unsigned long first = *pfirst, last = *plast;
	struct mt_path p;

	sim_bug_on(first > last);
	if (!mt->ma_root)
		return entry ? MT_PLAN_REBUILD : MT_PLAN_NOOP;
	if (!entry) {
		struct ma_state m = {.tree = mt, .t = t};
		if (first > 0) {
			m.index = first - 1;
			if (!mas_walk(&m))
				first = m.index;
		}
		if (last < MT_MAX) {
			m.index = last + 1;
			if (!mas_walk(&m))
				last = m.last;
		}
		*pfirst = first;
		*plast = last;
	}
	unsigned d = mt->height - 1;
	mt_path_walk(t, mt, first, &p);
	struct maple_node *leaf = p.node[d];
	unsigned long *piv = leaf->mr64.pivot;
	unsigned npiv = mt_pivots[maple_leaf_64], o = p.off[d];
	unsigned end = ma_data_end(leaf, maple_leaf_64, p.max[d]);
	unsigned long rmin = mt_slot_min(piv, o, p.min[d]);
	unsigned long rmax = mt_slot_max(piv, o, npiv, p.max[d]);

	if (rmin == first && rmax == last)
		return leaf->mr64.slot[o] == entry ? MT_PLAN_NOOP : MT_PLAN_EXACT;
	if (o + 1 <= end && last > rmax) {
		unsigned long nmax = mt_slot_max(piv, o + 1, npiv, p.max[d]);
		if ((first == rmin && last < nmax) || (first > rmin && last == nmax))
			return MT_PLAN_SLOT;
	}
	return MT_PLAN_REBUILD;
}

void mas_preallocate(struct ma_state *mas, void *entry)
{
	struct maple_tree *mt = mas->tree;
	unsigned long first = mas->index, last = mas->last;

	mt_assert_write_locked(mas);
	enum mt_plan plan = mt_plan_store(mas, &first, &last, entry);
	unsigned need = plan == MT_PLAN_REBUILD ? 3u * mt->height + 1 : 0;

	sim_bug_on(need > MAPLE_ALLOC_MAX);
	while (mas->nr_alloc < need) {
		struct maple_node *n = kmem_cache_alloc(&maple_node_cache);
		cpu_work(mas->t, mas->t->machine->path.maple_node_alloc);
		mas->alloc[mas->nr_alloc++] = n;
		mt->nodes_allocated++;
	}
	mas->planned = true;
	mas->plan_seq = mt->wr_seq;
	mas->plan_first = first;
	mas->plan_last = last;
	mas->plan_entry = entry;
	mas->plan_kind = plan;
}

void mas_destroy(struct ma_state *mas)
{
	while (mas->nr_alloc) {
		if (mas->t)
			cpu_work(mas->t, mas->t->machine->path.maple_node_alloc);
		kmem_cache_free(&maple_node_cache, mas->alloc[--mas->nr_alloc]);
		mas->tree->nodes_unused++;
	}
	mas->planned = false;
}

/* ---- the stores ---------------------------------------------------------------------- */

static void mt_publish_sync(struct ma_state *mas)
{
	/* The publishing store is read by lockless readers: apply it in simulated-time
	 * order. */
	if (mt_in_rcu(mas->tree))
		sim_sync(mas->t);
}

static void mt_store_exact(struct ma_state *mas, unsigned long first, void *entry)
{
	struct maple_tree *mt = mas->tree;
	struct mt_path p;
	unsigned d = mt->height - 1;

	mt_path_walk(NULL, mt, first, &p);
	struct maple_node *leaf = p.node[d];
	mt_publish_sync(mas);
	mt_store(mas->t, &leaf->mr64.slot[p.off[d]]);
	leaf->mr64.slot[p.off[d]] = entry; /* rcu_assign_pointer */
	mt_update_gaps(mas->t, mt, &p, d, mt_leaf_max_gap(leaf, p.min[d], p.max[d]));
	mt->last_store = 1u << MT_WR_EXACT;
}

/*
 * mas_wr_slot_store: [first, last] covers the end of range o and the start of range o+1
 * (or all of o and the start of o+1, ...).  The slot is written before the pivot: a
 * reader that sees the new pivot sees the new slot; one that sees the old pivot lands
 * in a range whose every index is correct for either the old or the new tree.
 */
static void mt_store_slot(struct ma_state *mas, unsigned long first, unsigned long last,
			  void *entry)
{
	struct maple_tree *mt = mas->tree;
	struct mt_path p;
	unsigned d = mt->height - 1;

	mt_path_walk(NULL, mt, first, &p);
	struct maple_node *leaf = p.node[d];
	unsigned o = p.off[d];
	unsigned long rmin = mt_slot_min(leaf->mr64.pivot, o, p.min[d]);

	mt_publish_sync(mas);
	if (first == rmin) {
		mt_store(mas->t, &leaf->mr64.slot[o]);
		leaf->mr64.slot[o] = entry;
		mt_store(mas->t, &leaf->mr64.pivot[o]);
		leaf->mr64.pivot[o] = last;
	} else {
		mt_store(mas->t, &leaf->mr64.slot[o + 1]);
		leaf->mr64.slot[o + 1] = entry;
		mt_store(mas->t, &leaf->mr64.pivot[o]);
		leaf->mr64.pivot[o] = first - 1;
	}
	mt_update_gaps(mas->t, mt, &p, d, mt_leaf_max_gap(leaf, p.min[d], p.max[d]));
	mt->last_store = 1u << MT_WR_SLOT;
}

static void mt_store_rebuild(struct ma_state *mas, unsigned long first, unsigned long last,
			     void *entry)
{
	struct maple_tree *mt = mas->tree;
	struct sim_task *t = mas->t;
	unsigned h = mt->height;
	unsigned long smin[MAPLE_HEIGHT_MAX], smax[MAPLE_HEIGHT_MAX];
	struct mt_path L, R;
	struct mt_big big = {0};
	unsigned kinds = 0;

	if (!h) {
		/* Empty tree: one leaf. */
		if (first > 0)
			big_add(&big, first - 1, NULL, 0);
		big_add(&big, last, entry, 0);
		if (last < MT_MAX)
			big_add(&big, MT_MAX, NULL, 0);
		struct maple_node *n = mas_pop_node(mas);
		mt_fill_node(t, n, maple_leaf_64, &big, 0, big.n - 1, 0, MT_MAX);
		n->parent = (uintptr_t)mt | MT_ROOT_PARENT;
		mt_publish_sync(mas);
		mt_store(t, &mt->ma_root);
		mt->ma_root = mt_mk_node(n, maple_leaf_64);
		mt->height = 1;
		mt->last_store = 1u << MT_WR_GROW;
		return;
	}

	int d = (int)h - 1;
	mt_path_walk(NULL, mt, first, &L); /* the plan's walk already paid for these */
	mt_path_walk(NULL, mt, last, &R);
	if (L.node[d] != R.node[d])
		kinds |= 1u << MT_WR_SPANNING;

	/* Leaf level: left part, the new range, right part. */
	{
		struct maple_node *ln = L.node[d], *rn = R.node[d];
		unsigned npiv = mt_pivots[maple_leaf_64];
		unsigned lo = L.off[d], ro = R.off[d];
		big_copy(t, &big, ln, maple_leaf_64, L.min[d], L.max[d], 0, (int)lo - 1);
		unsigned long rmin = mt_slot_min(ln->mr64.pivot, lo, L.min[d]);
		if (rmin < first)
			big_add(&big, first - 1, ln->mr64.slot[lo], 0);
		big_add(&big, last, entry, 0);
		unsigned long rmax = mt_slot_max(rn->mr64.pivot, ro, npiv, R.max[d]);
		mt_load(t, &rn->mr64.slot[ro]);
		if (last < rmax)
			big_add(&big, rmax, rn->mr64.slot[ro], 0);
		big_copy(t, &big, rn, maple_leaf_64, R.min[d], R.max[d], (int)ro + 1,
			 ma_data_end(rn, maple_leaf_64, R.max[d]));
		smin[d] = L.min[d];
		smax[d] = R.max[d];
	}

	void *old_root = mt->ma_root;
	void *new_root = NULL;		      /* the node to publish (root or parent slot) */
	struct maple_node *pub_parent = NULL; /* publish into this parent's slot pub_off */
	unsigned pub_off = 0;
	unsigned long pub_gap = 0;
	unsigned top, new_height = h;
	for (;;) {
		enum maple_type type = mt_level_type(mt, (unsigned)d);
		bool whole = smin[d] == 0 && smax[d] == MT_MAX;

		if (!whole && big.n < mt_min_slots[type]) {
			/* Too few entries: a neighbour at this level joins the run. */
			kinds |= 1u << MT_WR_REBALANCE;
			if (smax[d] < MT_MAX) {
				mt_path_walk(t, mt, smax[d] + 1, &R);
				big_copy(t, &big, R.node[d], type, R.min[d], R.max[d], 0,
					 ma_data_end(R.node[d], type, R.max[d]));
				smax[d] = R.max[d];
			} else {
				mt_path_walk(t, mt, smin[d] - 1, &L);
				big_prepend_node(t, &big, L.node[d], type, L.min[d], L.max[d]);
				smin[d] = L.min[d];
			}
		}

		if (d > 0 && L.node[d] == R.node[d] && big.n > mt_slots[type]) {
			/* Overflow: first try to share with a sibling that has room (the
			 * kernel's mas_push_data), so nodes fill up instead of splitting in
			 * halves; the parent then keeps its number of children. */
			struct maple_node *parent = L.node[d - 1];
			unsigned po = L.off[d - 1], pend = parent->ma64.meta.end;
			unsigned long *ppiv = parent->ma64.pivot;
			unsigned npiv = mt_pivots[maple_arange_64];
			for (int side = 0; side < 2; side++) {
				if ((side == 0 && po == 0) || (side == 1 && po == pend))
					continue;
				unsigned so = side == 0 ? po - 1 : po + 1;
				struct maple_node *sib = mte_to_node(parent->ma64.slot[so]);
				unsigned long sib_min = mt_slot_min(ppiv, so, L.min[d - 1]);
				unsigned long sib_max = mt_slot_max(ppiv, so, npiv, L.max[d - 1]);
				mt_load(t, &parent->ma64.slot[so]);
				mt_load(t, ma_pivots(sib, type) + mt_pivots[type] - 1);
				unsigned sn = ma_data_end(sib, type, sib_max) + 1u;
				if (sn + big.n > 2u * mt_slots[type])
					continue;
				if (side == 0) {
					mt_path_walk(t, mt, sib_min, &L);
					big_prepend_node(t, &big, sib, type, sib_min, sib_max);
					smin[d] = sib_min;
				} else {
					mt_path_walk(t, mt, sib_min, &R);
					big_copy(t, &big, sib, type, sib_min, sib_max, 0,
						 (int)sn - 1);
					smax[d] = sib_max;
				}
				break;
			}
		}

		if (whole && type == maple_leaf_64 && big.n == 1 && !big.slot[0]) {
			/* Everything is NULL again. */
			new_root = NULL;
			new_height = 0;
			break;
		}
		if (whole && type == maple_arange_64 && big.n == 1) {
			/* A lone child becomes the root. */
			struct maple_node *child = mte_to_node(big.slot[0]);
			mt_store(t, &child->parent);
			child->parent = (uintptr_t)mt | MT_ROOT_PARENT;
			new_root = big.slot[0];
			new_height = h - (unsigned)d - 1;
			break;
		}

		unsigned k = mt_split_count(big.n, type);
		struct maple_node *nn[4];
		unsigned long nmax[4], ngap[4];
		sim_bug_on(k > 4);
		if (k > 1 && d == (int)h - 1 && !(kinds & (1u << MT_WR_SPANNING)))
			kinds |= 1u << MT_WR_SPLIT;
		unsigned long cur = smin[d];
		for (unsigned j = 0; j < k; j++) {
			unsigned a, b;
			mt_split_bounds(big.n, k, j, &a, &b);
			nn[j] = mas_pop_node(mas);
			nmax[j] = big.last[b];
			ngap[j] = mt_fill_node(t, nn[j], type, &big, a, b, cur, nmax[j]);
			cur = nmax[j] + 1;
		}

		if (whole && k == 1) {
			/* The only node left at this level: the root. */
			nn[0]->parent = (uintptr_t)mt | MT_ROOT_PARENT;
			new_root = mt_mk_node(nn[0], type);
			new_height = h - (unsigned)d;
			break;
		}
		if (d == 0) {
			/* The root split: a new root above. */
			struct mt_big up = {0};
			for (unsigned j = 0; j < k; j++)
				big_add(&up, nmax[j], mt_mk_node(nn[j], type), ngap[j]);
			struct maple_node *r = mas_pop_node(mas);
			sim_bug_on(h + 1 > MAPLE_HEIGHT_MAX);
			mt_fill_node(t, r, maple_arange_64, &up, 0, up.n - 1, 0, MT_MAX);
			r->parent = (uintptr_t)mt | MT_ROOT_PARENT;
			new_root = mt_mk_node(r, maple_arange_64);
			new_height = h + 1;
			break;
		}

		if (L.node[d] == R.node[d] && k == 1) {
			/* Same range as the node it replaces: one store into the parent. */
			struct maple_node *parent = L.node[d - 1];
			unsigned off = L.off[d - 1];
			nn[0]->parent = mt_parent_word(parent, off);
			pub_parent = parent;
			pub_off = off;
			new_root = mt_mk_node(nn[0], type);
			pub_gap = ngap[0];
			break;
		}

		/* The parents of the run form the next run up. */
		struct mt_big up = {0};
		struct maple_node *lp = L.node[d - 1], *rp = R.node[d - 1];
		big_copy(t, &up, lp, maple_arange_64, L.min[d - 1], L.max[d - 1], 0,
			 (int)L.off[d - 1] - 1);
		for (unsigned j = 0; j < k; j++)
			big_add(&up, nmax[j], mt_mk_node(nn[j], type), ngap[j]);
		big_copy(t, &up, rp, maple_arange_64, R.min[d - 1], R.max[d - 1],
			 (int)R.off[d - 1] + 1, rp->ma64.meta.end);
		big = up;
		d--;
		smin[d] = L.min[d];
		smax[d] = R.max[d];
	}
	top = (unsigned)d;
	if (!pub_parent) {
		/* The root is replaced: every level above d is rebuilt away. */
		for (int j = 0; j < d; j++) {
			smin[j] = 0;
			smax[j] = MT_MAX;
		}
		top = 0;
	}
	/* The replaced nodes, found in the old tree before anything points elsewhere. */
	GPtrArray *dead = g_ptr_array_new();
	mt_collect_dead(old_root, 0, top, 0, MT_MAX, smin, smax, h, dead);

	/* Publish: one pointer store. */
	mt_publish_sync(mas);
	if (pub_parent) {
		mt_store(t, &pub_parent->ma64.slot[pub_off]);
		pub_parent->ma64.slot[pub_off] = new_root; /* rcu_assign_pointer */
		mt_update_gaps(t, mt, &L, (unsigned)d, pub_gap);
	} else {
		mt_store(t, &mt->ma_root);
		mt->ma_root = new_root; /* rcu_assign_pointer */
		mt->height = (unsigned char)new_height;
		if (new_height != h)
			kinds |= 1u << (new_height > h ? MT_WR_GROW : MT_WR_SHRINK);
	}

	/* Retire them: dead mark (a reader inside restarts), then the free callback. */
	for (unsigned i = 0; i < dead->len; i++)
		mt_mark_dead(mas, g_ptr_array_index(dead, i));
	for (unsigned i = 0; i < dead->len; i++) {
		mt->nodes_dead++;
		mt->free_node(mt->free_arg, t, g_ptr_array_index(dead, i));
	}
	g_ptr_array_free(dead, TRUE);
	if (!(kinds & ((1u << MT_WR_SPANNING) | (1u << MT_WR_SPLIT) | (1u << MT_WR_REBALANCE))))
		kinds |= 1u << MT_WR_NODE;
	mt->last_store = kinds;
}

void mas_store_prealloc(struct ma_state *mas, void *entry)
{
	struct maple_tree *mt = mas->tree;
	unsigned long first = mas->index, last = mas->last;
	enum mt_plan plan;

	mt_assert_write_locked(mas);
	if (mas->planned && mas->plan_seq == mt->wr_seq && mas->plan_entry == entry &&
	    mas->plan_first <= first && mas->plan_last >= last) {
		first = mas->plan_first;
		last = mas->plan_last;
		plan = (enum mt_plan)mas->plan_kind;
	} else {
		sim_bug_on(mas->planned); /* the tree changed since mas_preallocate */
		plan = mt_plan_store(mas, &first, &last, entry);
	}
	mas->planned = false;
	mt->last_store = 0;
	switch (plan) {
	case MT_PLAN_NOOP:
		break;
	case MT_PLAN_EXACT:
		mt_store_exact(mas, first, entry);
		break;
	case MT_PLAN_SLOT:
		mt_store_slot(mas, first, last, entry);
		break;
	case MT_PLAN_REBUILD:
		mt_store_rebuild(mas, first, last, entry);
		break;
	}
	for (unsigned k = 0; k < MT_WR_NR; k++)
		if (mt->last_store & (1u << k))
			mt->stores[k]++;
	mt->wr_seq++;
	mas->index = first;
	mas->last = last;
	mas->status = ma_start;
}

void mtree_store_range(struct sim_task *t, struct maple_tree *mt, unsigned long first,
		       unsigned long last, void *entry)
{
	MA_STATE(mas, mt, t, first, last);
	bool own = !(mt->ma_flags & MT_FLAGS_LOCK_EXTERN);

	if (own)
		mtree_lock(t, mt);
	mas_preallocate(&mas, entry);
	mas_store_prealloc(&mas, entry);
	mas_destroy(&mas);
	if (own)
		mtree_unlock(t, mt);
}

/* ---- validation ---------------------------------------------------------------------- */

struct mt_check {
	const struct maple_tree *mt;
	char *err;
	int prev_null; /* -1 before the first range */
	unsigned long next_index;
	uint64_t nodes;
};

#define CHECK(c, cond, ...)                                                                        \
	do {                                                                                       \
		if (!(c)->err && !(cond))                                                          \
			(c)->err = g_strdup_printf(__VA_ARGS__);                                   \
	} while (0)

static unsigned long mt_check_node(struct mt_check *c, void *enode, unsigned depth,
				   unsigned long min, unsigned long max, uintptr_t want_parent)
{
	struct maple_node *n = mte_to_node(enode);
	enum maple_type type = mte_type(enode);
	unsigned long *piv = ma_pivots(n, type);
	void **slots = ma_slots(n, type);
	unsigned npiv = mt_pivots[type];
	bool root = depth == 0;

	c->nodes++;
	CHECK(c, ((uintptr_t)n & (MAPLE_NODE_SIZE - 1)) == 0, "node %p not 256-byte aligned",
	      (void *)n);
	CHECK(c, type == mt_level_type(c->mt, depth), "node at depth %u of height %u has type %d",
	      depth, c->mt->height, type);
	CHECK(c, n->parent == want_parent,
	      "node [%lx, %lx] at depth %u: parent word %lx, want %lx%s", min, max, depth,
	      (unsigned long)n->parent, (unsigned long)want_parent,
	      ma_dead_node(n) ? " (dead node reachable)" : "");
	if (c->err)
		return 0;
	unsigned end = ma_data_end(n, type, max);
	CHECK(c, end < mt_slots[type], "node [%lx, %lx]: end %u", min, max, end);
	if (c->err)
		return 0;
	if (root)
		CHECK(c, type == maple_leaf_64 || end >= 1, "internal root with one child");
	else
		CHECK(c, end + 1 >= mt_min_slots[type],
		      "node [%lx, %lx] at depth %u has %u entries, below the minimum %u", min, max,
		      depth, end + 1, mt_min_slots[type]);
	unsigned long prev = min;
	for (unsigned i = 0; i < npiv; i++) {
		if (i < end) {
			CHECK(c, piv[i] >= prev && piv[i] < max,
			      "node [%lx, %lx]: pivot[%u] = %lx out of order", min, max, i, piv[i]);
			CHECK(c, i == 0 || piv[i] > piv[i - 1],
			      "node [%lx, %lx]: pivot[%u] = %lx not above pivot[%u]", min, max, i,
			      piv[i], i - 1);
			prev = piv[i] + 1;
		} else if (i == end) {
			CHECK(c, piv[i] == max, "node [%lx, %lx]: pivot[end=%u] = %lx, want max",
			      min, max, i, piv[i]);
		} else {
			CHECK(c, piv[i] == 0, "node [%lx, %lx]: pivot[%u] = %lx past the end", min,
			      max, i, piv[i]);
		}
	}
	if (type == maple_leaf_64 && end < npiv) {
		CHECK(c, n->mr64.meta.end == end, "leaf [%lx, %lx]: metadata end %u, want %u", min,
		      max, n->mr64.meta.end, end);
		for (unsigned i = end + 1; i < npiv; i++)
			CHECK(c, !slots[i], "leaf [%lx, %lx]: slot %u past the end is set", min,
			      max, i);
	}
	unsigned long gap = 0;
	for (unsigned i = 0; i <= end && !c->err; i++) {
		unsigned long rmin = mt_slot_min(piv, i, min),
			      rmax = mt_slot_max(piv, i, npiv, max);
		if (type == maple_leaf_64) {
			bool null = !slots[i];
			CHECK(c, rmin == c->next_index, "range starts at %lx, want %lx", rmin,
			      c->next_index);
			CHECK(c, !(null && c->prev_null == 1),
			      "two adjacent NULL ranges (the second [%lx, %lx])", rmin, rmax);
			c->prev_null = null;
			c->next_index = rmax + 1;
			if (null && mt_range_size(rmin, rmax) > gap)
				gap = mt_range_size(rmin, rmax);
			continue;
		}
		CHECK(c, slots[i] != NULL, "internal node [%lx, %lx]: slot %u empty", min, max, i);
		if (c->err)
			break;
		unsigned long g =
		    mt_check_node(c, slots[i], depth + 1, rmin, rmax, mt_parent_word(n, i));
		CHECK(c, n->ma64.gap[i] == g, "node [%lx, %lx]: gap[%u] = %lx, child's largest %lx",
		      min, max, i, n->ma64.gap[i], g);
		if (g > gap)
			gap = g;
	}
	if (type == maple_arange_64) {
		CHECK(c, n->ma64.gap[n->ma64.meta.gap] == gap,
		      "node [%lx, %lx]: metadata gap offset %u is not the largest", min, max,
		      n->ma64.meta.gap);
		for (unsigned i = end + 1; i < MAPLE_ARANGE64_SLOTS; i++)
			CHECK(c, !slots[i] && !n->ma64.gap[i],
			      "node [%lx, %lx]: slot %u past the end is set", min, max, i);
	}
	return gap;
}

char *mt_validate(const struct maple_tree *mt)
{
	struct mt_check c = {.mt = mt, .prev_null = -1};

	if (!mt->ma_root)
		return mt->height ? g_strdup_printf("empty tree of height %u", mt->height) : NULL;
	if (mt->height < 1 || mt->height > MAPLE_HEIGHT_MAX)
		return g_strdup_printf("height %u", mt->height);
	mt_check_node(&c, mt->ma_root, 0, 0, MT_MAX, (uintptr_t)mt | MT_ROOT_PARENT);
	if (!c.err && c.next_index != 0)
		c.err = g_strdup_printf("ranges end at %lx, not ULONG_MAX", c.next_index - 1);
	return c.err;
}

static uint64_t mt_count(void *enode)
{
	struct maple_node *n = mte_to_node(enode);
	uint64_t nr = 1;
	if (mte_type(enode) == maple_arange_64)
		for (unsigned i = 0; i <= n->ma64.meta.end; i++)
			nr += mt_count(n->ma64.slot[i]);
	return nr;
}

uint64_t mt_nr_nodes(const struct maple_tree *mt)
{
	return mt->ma_root ? mt_count(mt->ma_root) : 0;
}
