/*
 * Cache coherence and capacity: the cost of one access to one 64-byte line.
 *
 * State.  A directory (an open-addressing hash keyed by line number) records, for every
 * line held in some core's private caches, the set of holder cores and whether the copy is
 * modified; it is the snoop filter of a real socket, made exact.  Capacity is the tag
 * arrays of cache.c: per-core L1D and L2, one LLC per LLC domain.  Invariant: a holder
 * core has the line in its L2 tag array (L2 evictions remove the core from the holders,
 * writing a modified line back to its LLC).  Tags of lines the directory took away from
 * a core (invalidations) stay behind as stale tags and miss.
 *
 * Costs, from the preset (MESI-like; see docs/model-hw.md for every source):
 *  - held by my core: L1D or L2 hit latency by where the tag is; a sibling thread's
 *    unobserved write costs the SMT transfer;
 *  - store to a line other cores also hold: the RFO waits for the farthest invalidation
 *    acknowledgement, so the cost is the transfer to the farthest holder;
 *  - load or store of a line modified in another core: one transfer by relation;
 *  - load of a line only clean elsewhere: LLC hit when the line is in my LLC domain,
 *    else the cheaper of the nearest transfer and DRAM;
 *  - in no private cache: my LLC if its tag array has it, else DRAM, local or remote by
 *    the line's home node;
 *  - LOCK RMW: the store cost, but never less than the uncontended atomic latency (a
 *    contended atomic costs about one transfer: the ping-pong figures are CAS round trips);
 *  - prefetchw: takes the line exclusive like a store and charges only an L1D access: the
 *    RFO overlaps with the code that follows.
 *
 * Accesses are applied in the order the simulator executes them, which within a
 * synchronisation window may differ from simulated-time order (docs/model-hw.md, "The
 * lookahead caveat"); `stamp` lets us count such time-inverted accesses.
 *
 * Invariants: a line in the directory has >= 1 holder; a modified line has exactly one;
 * a line with several holders is clean and has no pending writer.
 */
#include <stdlib.h>
#include <string.h>
#include "hw_model.h"
#include "hw.h"
#include "die.h"

/* ---- the directory ---- */

#define DIR_MIN_BITS 12

static inline uint64_t dir_hash(const struct hw_model *hw, uint64_t line)
{
	return (line * 0x9E3779B97F4A7C15ULL) >> hw->dir_shift;
}

static void dir_alloc(struct hw_model *hw, int bits)
{
	hw->dir = hw_big_alloc((1ULL << bits) * sizeof(struct dir_line));
	hw->dir_mask = (1ULL << bits) - 1;
	hw->dir_shift = 64 - bits;
	hw->dir_used = 0;
}

void dir_init(struct hw_model *hw)
{
	dir_alloc(hw, DIR_MIN_BITS);
	hw->words_per_map = (uint32_t)((hw->nr_cores + 63) / 64);
}

void dir_free(struct hw_model *hw)
{
	hw_big_free(hw->dir, (hw->dir_mask + 1) * sizeof(struct dir_line));
	free(hw->pool);
	hw->dir = NULL;
	hw->pool = NULL;
}

struct dir_line *dir_find(struct hw_model *hw, uint64_t line)
{
	for (uint64_t i = dir_hash(hw, line);; i = (i + 1) & hw->dir_mask) {
		struct dir_line *e = &hw->dir[i];
		if (e->line == line)
			return e;
		if (!e->line)
			return NULL;
	}
}

static struct dir_line *dir_insert(struct hw_model *hw, uint64_t line);

static void dir_grow(struct hw_model *hw)
{
	struct dir_line *old = hw->dir;
	uint64_t n = hw->dir_mask + 1;
	dir_alloc(hw, 64 - hw->dir_shift + 1);
	for (uint64_t i = 0; i < n; i++) {
		if (old[i].line) {
			struct dir_line *e = dir_insert(hw, old[i].line);
			*e = old[i];
		}
	}
	hw_big_free(old, n * sizeof(struct dir_line));
}

/* A fresh entry for a line not in the directory. */
static struct dir_line *dir_insert(struct hw_model *hw, uint64_t line)
{
	if ((hw->dir_used + 1) * 2 > hw->dir_mask + 1)
		dir_grow(hw);
	uint64_t i = dir_hash(hw, line);
	while (hw->dir[i].line)
		i = (i + 1) & hw->dir_mask;
	struct dir_line *e = &hw->dir[i];
	*e = (struct dir_line){ .line = line };
	hw->dir_used++;
	return e;
}

static void pool_put(struct hw_model *hw, uint32_t idx);

/* Remove e, shifting later entries of its probe run back (no tombstones). */
static void dir_delete(struct hw_model *hw, struct dir_line *e)
{
	if (e->nholders >= 2)
		pool_put(hw, e->u.map);
	uint64_t i = (uint64_t)(e - hw->dir);
	uint64_t j = i;
	for (;;) {
		hw->dir[i].line = 0;
		for (;;) {
			j = (j + 1) & hw->dir_mask;
			if (!hw->dir[j].line) {
				hw->dir_used--;
				return;
			}
			uint64_t k = dir_hash(hw, hw->dir[j].line);
			/* Can entry j move to slot i?  Only if its home k is not in (i, j]. */
			if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
				continue;
			hw->dir[i] = hw->dir[j];
			i = j;
			break;
		}
	}
}

/* ---- holder sets ---- */

static uint64_t *pool_map(struct hw_model *hw, uint32_t idx)
{
	return hw->pool + (size_t)(idx - 1) * hw->words_per_map;
}

static uint32_t pool_get(struct hw_model *hw)
{
	uint32_t idx;
	if (hw->pool_free) {
		idx = hw->pool_free;
		hw->pool_free = (uint32_t)pool_map(hw, idx)[0];
	} else {
		if (hw->pool_len == hw->pool_cap) {
			hw->pool_cap = hw->pool_cap ? 2 * hw->pool_cap : 64;
			hw->pool = realloc(hw->pool, (size_t)hw->pool_cap * hw->words_per_map *
							     sizeof(uint64_t));
			if (!hw->pool)
				sim_die("out of host memory for holder bitmaps");
		}
		idx = ++hw->pool_len;
	}
	memset(pool_map(hw, idx), 0, hw->words_per_map * sizeof(uint64_t));
	return idx;
}

static void pool_put(struct hw_model *hw, uint32_t idx)
{
	pool_map(hw, idx)[0] = hw->pool_free;
	hw->pool_free = idx;
}

static bool holds(struct hw_model *hw, const struct dir_line *e, int core)
{
	if (e->nholders == 1)
		return e->u.one.holder == core;
	return pool_map(hw, e->u.map)[core / 64] >> (core % 64) & 1;
}

/* The thread that last wrote a singly held line, or -1. */
static inline int dir_writer(const struct dir_line *e)
{
	return e->nholders == 1 ? e->u.one.writer : -1;
}

static inline void dir_set_writer(struct dir_line *e, int cpu)
{
	if (e->nholders == 1)
		e->u.one.writer = (int16_t)cpu;
}

static void holder_add(struct hw_model *hw, struct dir_line *e, int core)
{
	if (!e->nholders) {
		e->u.one.holder = (uint16_t)core;
		e->u.one.writer = -1;
		e->nholders = 1;
		return;
	}
	if (holds(hw, e, core))
		return;
	if (e->nholders == 1) {
		int first = e->u.one.holder;
		uint32_t idx = pool_get(hw);
		pool_map(hw, idx)[first / 64] |= 1ULL << (first % 64);
		e->u.map = idx;
	}
	pool_map(hw, e->u.map)[core / 64] |= 1ULL << (core % 64);
	e->nholders++;
}

static void holder_remove(struct hw_model *hw, struct dir_line *e, int core)
{
	if (e->nholders == 1) {
		if (e->u.one.holder == core)
			e->nholders = 0;
		return;
	}
	uint64_t *map = pool_map(hw, e->u.map);
	if (!(map[core / 64] >> (core % 64) & 1))
		return;
	map[core / 64] &= ~(1ULL << (core % 64));
	if (--e->nholders == 1) {
		/* Back to the inline form. */
		int last = -1;
		for (uint32_t w = 0; w < hw->words_per_map && last < 0; w++)
			if (map[w])
				last = (int)(w * 64 + (uint32_t)__builtin_ctzll(map[w]));
		pool_put(hw, e->u.map);
		e->u.one.holder = (uint16_t)last;
		e->u.one.writer = -1;
	}
}

/* The only holder is now `core` (after an RFO); its writer is to be set by the caller. */
static void holder_set_only(struct hw_model *hw, struct dir_line *e, int core)
{
	if (e->nholders >= 2)
		pool_put(hw, e->u.map);
	if (e->nholders != 1 || e->u.one.holder != core)
		e->u.one.writer = -1;
	e->u.one.holder = (uint16_t)core;
	e->nholders = 1;
}

/* Runs body with c bound to every holder core. */
#define for_each_holder(hw, e, c, body)                                                   \
	do {                                                                               \
		if ((e)->nholders >= 2) {                                                  \
			const uint64_t *map_ = pool_map(hw, (e)->u.map);                   \
			for (uint32_t w_ = 0; w_ < (hw)->words_per_map; w_++)              \
				for (uint64_t b_ = map_[w_]; b_; b_ &= b_ - 1) {           \
					int c = (int)(w_ * 64 + (uint32_t)__builtin_ctzll(b_)); \
					body;                                              \
				}                                                          \
		} else {                                                                   \
			int c = (e)->u.one.holder;                                         \
			body;                                                              \
		}                                                                          \
	} while (0)

bool hw_core_owns(struct hw_model *hw, int core, uint64_t line)
{
	struct dir_line *e = dir_find(hw, line);
	return e && e->nholders == 1 && holds(hw, e, core);
}

bool hw_core_holds(struct hw_model *hw, int core, uint64_t line)
{
	struct dir_line *e = dir_find(hw, line);
	return e && holds(hw, e, core);
}

int hw_home_node(const struct hw_model *hw, uint64_t line)
{
	uint64_t page = line >> 6;
	return (int)(((page * 0x9E3779B97F4A7C15ULL) >> 32) % (uint64_t)hw->nr_nodes);
}

/* ---- fills and evictions ---- */

/*
 * Core k's L2 dropped `victim`: it no longer holds it.  The LLC is a victim cache of the
 * L2s (Skylake-SP and later Xeons' non-inclusive LLC, AMD's L3): the line goes there.
 */
static void l2_evicted(struct hw_model *hw, int k, uint64_t victim)
{
	cache_drop(&hw->core[k].l1d, victim);
	struct dir_line *e = dir_find(hw, victim);
	if (!e || !holds(hw, e, k))
		return; /* a stale tag */
	uint64_t dummy;
	cache_access(&hw->llc[hw->core[k].llc], victim, &dummy);
	holder_remove(hw, e, k);
	if (!e->nholders)
		dir_delete(hw, e); /* a modified line has one holder: it goes here */
}

/*
 * Bring `line` into core k's L1D and L2 (the LLC gets it when the L2 evicts it).  May
 * delete other directory entries (evictions): directory pointers taken before are invalid
 * after.
 */
static void fill_core(struct hw_model *hw, int k, uint64_t line)
{
	uint64_t victim;
	struct hw_core *core = &hw->core[k];
	if (!cache_access(&core->l2, line, &victim) && victim)
		l2_evicted(hw, k, victim);
	cache_access(&core->l1d, line, &victim);
}

static sim_time_t dram(const struct hw_model *hw, int cpu, uint64_t line)
{
	return hw_home_node(hw, line) == hw->cpu[cpu].node ? hw->dram_local : hw->dram_remote;
}

static inline void count(struct task_stats *st, enum stat_event ev)
{
	if (st)
		st->ev[ev]++;
}

sim_time_t hw_line_access(struct hw_model *hw, int cpu, uint64_t line, enum hw_kind kind,
			  sim_time_t now, struct task_stats *st)
{
	const int k = hw->cpu[cpu].core;
	const bool write = kind != HW_LOAD;
	struct dir_line *e = dir_find(hw, line);
	sim_time_t cost;

	/* A modified line whose write is stamped after our own time: run-ahead at work.  (The
	 * stamp wraps every 4.3 s; a window between syncs is microseconds.) */
	if (e && e->dirty && (int32_t)(e->stamp - (uint32_t)(now / PS_PER_NS)) > 0 &&
	    dir_writer(e) != cpu)
		count(st, EV_HW_TIME_INVERTED);

	if (!e) {
		/* In no private cache: my LLC, else memory.  A bulk store (clear_page) is
		 * charged by bandwidth: no lookup needed to cost it. */
		if (kind == HW_BULK_STORE) {
			cost = 0;
		} else if (cache_touch(&hw->llc[hw->core[k].llc], line)) {
			cost = hw->llc_hit;
			count(st, EV_LLC_HIT);
		} else {
			cost = dram(hw, cpu, line);
			count(st, EV_DRAM);
		}
		fill_core(hw, k, line);
		e = dir_insert(hw, line);
		holder_add(hw, e, k);
	} else if (holds(hw, e, k)) {
		struct hw_core *core = &hw->core[k];
		if (cache_touch(&core->l1d, line)) {
			cost = hw->l1;
			count(st, EV_L1_HIT);
		} else {
			uint64_t victim;
			if (!cache_touch(&core->l2, line))
				sim_die("directory says core %d holds line %#llx, its L2 does not", k,
					(unsigned long long)line);
			cache_access(&core->l1d, line, &victim);
			cost = hw->l2;
			count(st, EV_L2_HIT);
		}
		if (e->dirty && dir_writer(e) >= 0 && dir_writer(e) != cpu) {
			/* The sibling thread's store is in the shared L1D but not yet visible
			 * to us without a pipeline round trip (the SMT ping-pong figure). */
			cost = hw->xfer[REL_SMT] > cost ? hw->xfer[REL_SMT] : cost;
			count(st, EV_C2C);
		}
		if (write && e->nholders > 1) {
			/* Upgrade: invalidate every other holder, wait for the farthest. */
			sim_time_t far = 0;
			for_each_holder(hw, e, c, {
				if (c != k) {
					sim_time_t x = hw->xfer[hw_core_relation(hw, k, c)];
					far = x > far ? x : far;
				}
			});
			cost = far > cost ? far : cost;
			holder_set_only(hw, e, k);
			count(st, EV_C2C);
		}
	} else {
		/* Other cores hold it; I do not. */
		if (e->dirty) {
			/* Modified in exactly one other core: it forwards the line. */
			cost = hw->xfer[hw_core_relation(hw, k, e->u.one.holder)];
			count(st, EV_C2C);
		} else {
			sim_time_t near = INT64_MAX, far = 0;
			bool in_domain = false;
			for_each_holder(hw, e, c, {
				sim_time_t x = hw->xfer[hw_core_relation(hw, k, c)];
				near = x < near ? x : near;
				far = x > far ? x : far;
				in_domain |= hw->core[c].llc == hw->core[k].llc;
			});
			if (in_domain || cache_probe(&hw->llc[hw->core[k].llc], line)) {
				cost = hw->llc_hit;
				count(st, EV_LLC_HIT);
			} else {
				sim_time_t d = dram(hw, cpu, line);
				cost = near < d ? near : d;
				count(st, near < d ? EV_C2C : EV_DRAM);
			}
			if (write && far > cost) {
				cost = far;
				count(st, EV_C2C);
			}
		}
		/* The state change, decided before the fill can move entries. */
		fill_core(hw, k, line);
		e = dir_find(hw, line);
		if (write) {
			holder_set_only(hw, e, k);
		} else {
			/* A modified copy is written back as the owner keeps a shared one;
			 * the LLC sees it only when an L2 evicts it. */
			holder_add(hw, e, k);
		}
		e->dirty = 0;
		dir_set_writer(e, -1);
	}

	switch (kind) {
	case HW_LOAD:
		if (dir_writer(e) >= 0 && dir_writer(e) != cpu)
			dir_set_writer(e, -1); /* the sibling's write is now observed */
		break;
	case HW_RMW:
		/* Uncontended: the atomic's own latency; contended: the transfer. */
		if (cost < hw->rmw)
			cost = hw->rmw;
		/* fall through */
	case HW_STORE:
	case HW_BULK_STORE:
		holder_set_only(hw, e, k); /* normalises a bitmap left with one holder */
		e->dirty = 1;
		dir_set_writer(e, cpu);
		e->stamp = (uint32_t)(now / PS_PER_NS);
		break;
	case HW_PREFETCHW:
		/* Exclusive, clean: the following store upgrades silently. */
		holder_set_only(hw, e, k);
		e->dirty = 0;
		dir_set_writer(e, -1);
		cost = hw->l1;
		break;
	}
	return cost;
}
