/*
 * Cache coherence and capacity: the cost of one access to one 64-byte line.
 *
 * State.  A directory records, for every line held in some core's private caches, the set
 * of holder cores and whether the copy is modified; it is the snoop filter of a real
 * socket, made exact.  It is stored by groups of 64 consecutive lines (hw_model.h: one
 * lookup per page cleared, contiguous state), each line's state exact and independent.
 * Capacity is the tag arrays of cache.c: per-core L1D and L2, one LLC per LLC domain.
 * Invariant: a holder core has the line in its L2 tag array (L2 evictions remove the core
 * from the holders, writing a modified line back to its LLC).  Tags of lines the directory took away from
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
 *    RFO overlaps with the code that follows.  HW_PREFETCHW_RFO is the prefetchw of a
 *    caller that knows how much work it overlaps (hw_prefetchw_overlap): it returns the
 *    RFO's own latency, queueing included, and leaves the line as a store does.
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
#include <glib.h>
#include "die.h"

/* ---- the directory ---- */

#define DIR_MIN_BITS 10
/* Group records come in 2 MiB chunks, huge-page backed and mapped lazily (hw_big_alloc). */
#define DIR_CHUNK_BYTES (2u << 20)
#define DIR_CHUNK (DIR_CHUNK_BYTES / sizeof(struct dir_group))

static inline uint64_t dir_hash(const struct hw_model *hw, uint64_t key)
{
	return (key * 0x9E3779B97F4A7C15ULL) >> hw->dir_shift;
}

static void dir_alloc(struct hw_model *hw, int bits)
{
	hw->dir = hw_big_alloc((1ULL << bits) * sizeof(struct dir_slot));
	hw->dir_mask = (1ULL << bits) - 1;
	hw->dir_shift = 64 - bits;
}

void dir_init(struct hw_model *hw)
{
	dir_alloc(hw, DIR_MIN_BITS);
	hw->dir_used = 0;
	hw->words_per_map = (uint32_t)((hw->nr_cores + 63) / 64);
}

void dir_free(struct hw_model *hw)
{
	hw_big_free(hw->dir, (hw->dir_mask + 1) * sizeof(struct dir_slot));
	for (uint32_t i = 0; i < hw->dir_nchunks; i++)
		hw_big_free(hw->dir_chunks[i], DIR_CHUNK_BYTES);
	free(hw->dir_chunks);
	free(hw->pool);
	hw->dir = NULL;
	hw->dir_chunks = NULL;
	hw->pool = NULL;
}

struct dir_group *dir_group_find(struct hw_model *hw, uint64_t line)
{
	uint64_t key = line >> DIR_GROUP_SHIFT;
	struct dir_group *g = hw->dir_last[0];
	if (g && g->key == key)
		return g;
	g = hw->dir_last[1];
	if (g && g->key == key) {
		hw->dir_last[1] = hw->dir_last[0];
		return hw->dir_last[0] = g;
	}
	for (uint64_t i = dir_hash(hw, key);; i = (i + 1) & hw->dir_mask) {
		const struct dir_slot *s = &hw->dir[i];
		if (s->key == key + 1) {
			hw->dir_last[1] = hw->dir_last[0];
			return hw->dir_last[0] = s->g;
		}
		if (!s->key)
			return NULL;
	}
}

static void dir_slot_put(struct hw_model *hw, struct dir_group *g)
{
	uint64_t i = dir_hash(hw, g->key);
	while (hw->dir[i].key)
		i = (i + 1) & hw->dir_mask;
	hw->dir[i] = (struct dir_slot){ .key = g->key + 1, .g = g };
}

static void dir_grow(struct hw_model *hw)
{
	struct dir_slot *old = hw->dir;
	uint64_t n = hw->dir_mask + 1;
	dir_alloc(hw, 64 - hw->dir_shift + 1);
	for (uint64_t i = 0; i < n; i++)
		if (old[i].key)
			dir_slot_put(hw, old[i].g);
	hw_big_free(old, n * sizeof(struct dir_slot));
}

/* A new, empty group for line's key (not in the directory). */
static struct dir_group *dir_group_new(struct hw_model *hw, uint64_t line)
{
	struct dir_group *g = hw->dir_free_rec;
	if (g) {
		hw->dir_free_rec = (struct dir_group *)(uintptr_t)g->key;
	} else {
		if (!hw->dir_nchunks || hw->dir_chunk_used == DIR_CHUNK) {
			hw->dir_chunks = realloc(hw->dir_chunks,
						 (hw->dir_nchunks + 1) * sizeof(*hw->dir_chunks));
			if (!hw->dir_chunks ||
			    !(hw->dir_chunks[hw->dir_nchunks] =
				      hw_big_alloc(DIR_CHUNK_BYTES)))
				sim_die("out of host memory for the directory");
			hw->dir_nchunks++;
			hw->dir_chunk_used = 0;
		}
		g = &hw->dir_chunks[hw->dir_nchunks - 1][hw->dir_chunk_used++];
	}
	/* Only the masks need clearing: a line's state is written when it becomes present. */
	g->key = line >> DIR_GROUP_SHIFT;
	g->present = g->dirty = g->shared = 0;
	if ((hw->dir_used + 1) * 2 > hw->dir_mask + 1)
		dir_grow(hw);
	dir_slot_put(hw, g);
	hw->dir_used++;
	hw->dir_last[1] = hw->dir_last[0];
	return hw->dir_last[0] = g;
}

/* Remove an empty group: backward-shift deletion of its slot (no tombstones). */
static void dir_group_delete(struct hw_model *hw, struct dir_group *g)
{
	uint64_t i = dir_hash(hw, g->key);
	while (hw->dir[i].g != g)
		i = (i + 1) & hw->dir_mask;
	uint64_t j = i;
	for (;;) {
		hw->dir[i].key = 0;
		for (;;) {
			j = (j + 1) & hw->dir_mask;
			if (!hw->dir[j].key)
				goto done;
			uint64_t k = dir_hash(hw, hw->dir[j].key - 1);
			/* Can entry j move to slot i?  Only if its home k is not in (i, j]. */
			if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
				continue;
			hw->dir[i] = hw->dir[j];
			i = j;
			break;
		}
	}
done:
	hw->dir_used--;
	for (int m = 0; m < 2; m++)
		if (hw->dir_last[m] == g)
			hw->dir_last[m] = NULL;
	g->key = (uint64_t)(uintptr_t)hw->dir_free_rec;
	hw->dir_free_rec = g;
}

static inline unsigned ln_idx(uint64_t line)
{
	return (unsigned)(line & (DIR_GROUP_LINES - 1));
}

static inline bool ln_bit(uint64_t mask, unsigned i)
{
	return mask >> i & 1;
}

/*
 * A fresh entry for a line not in the directory, held (clean) by core k alone, in its group
 * g (NULL: none yet).
 */
static struct dir_group *dir_insert(struct hw_model *hw, struct dir_group *g, uint64_t line,
				    int k)
{
	if (!g)
		g = dir_group_new(hw, line);
	unsigned i = ln_idx(line);
	g->present |= 1ULL << i;
	g->dirty &= ~(1ULL << i);
	g->shared &= ~(1ULL << i);
	g->line[i] = (struct dir_line){ .u.one = { .holder = (uint16_t)k, .writer = -1 } };
	return g;
}

static void pool_put(struct hw_model *hw, uint32_t idx);

/* Remove line i of g from the directory, and g when it was its last line. */
static void dir_delete(struct hw_model *hw, struct dir_group *g, unsigned i)
{
	if (ln_bit(g->shared, i))
		pool_put(hw, g->line[i].u.map);
	g->present &= ~(1ULL << i);
	g->dirty &= ~(1ULL << i);
	g->shared &= ~(1ULL << i);
	if (!g->present)
		dir_group_delete(hw, g);
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

static bool holds(struct hw_model *hw, const struct dir_group *g, unsigned i, int core)
{
	if (!ln_bit(g->shared, i))
		return g->line[i].u.one.holder == core;
	return pool_map(hw, g->line[i].u.map)[core / 64] >> (core % 64) & 1;
}

/* The thread that last wrote a singly held line, or -1. */
static inline int dir_writer(const struct dir_group *g, unsigned i)
{
	return ln_bit(g->shared, i) ? -1 : g->line[i].u.one.writer;
}

static inline void dir_set_writer(struct dir_group *g, unsigned i, int cpu)
{
	if (!ln_bit(g->shared, i))
		g->line[i].u.one.writer = (int16_t)cpu;
}

static void holder_add(struct hw_model *hw, struct dir_group *g, unsigned i, int core)
{
	if (holds(hw, g, i, core))
		return;
	struct dir_line *l = &g->line[i];
	if (!ln_bit(g->shared, i)) {
		int first = l->u.one.holder;
		uint32_t idx = pool_get(hw);
		pool_map(hw, idx)[first / 64] |= 1ULL << (first % 64);
		l->u.map = idx;
		g->shared |= 1ULL << i;
	}
	pool_map(hw, l->u.map)[core / 64] |= 1ULL << (core % 64);
}

/* Core no longer holds line i of g.  Returns true when nobody holds it any more. */
static bool holder_remove(struct hw_model *hw, struct dir_group *g, unsigned i, int core)
{
	struct dir_line *l = &g->line[i];
	if (!ln_bit(g->shared, i))
		return l->u.one.holder == core;
	uint64_t *map = pool_map(hw, l->u.map);
	if (!(map[core / 64] >> (core % 64) & 1))
		return false;
	map[core / 64] &= ~(1ULL << (core % 64));
	int n = 0, last = -1;
	for (uint32_t w = 0; w < hw->words_per_map; w++) {
		n += __builtin_popcountll(map[w]);
		if (map[w] && last < 0)
			last = (int)(w * 64 + (uint32_t)__builtin_ctzll(map[w]));
	}
	if (n == 1) {
		/* Back to the inline form. */
		pool_put(hw, l->u.map);
		g->shared &= ~(1ULL << i);
		l->u.one.holder = (uint16_t)last;
		l->u.one.writer = -1;
	}
	return false;
}

/* The only holder is now `core` (after an RFO); its writer is to be set by the caller. */
static void holder_set_only(struct hw_model *hw, struct dir_group *g, unsigned i, int core)
{
	struct dir_line *l = &g->line[i];
	if (ln_bit(g->shared, i)) {
		pool_put(hw, l->u.map);
		g->shared &= ~(1ULL << i);
		l->u.one.writer = -1;
	} else if (l->u.one.holder != core) {
		l->u.one.writer = -1;
	}
	l->u.one.holder = (uint16_t)core;
}

/* Runs body with c bound to every holder core of line i of g. */
#define for_each_holder(hw, g, i, c, body)                                                \
	do {                                                                               \
		if (ln_bit((g)->shared, i)) {                                              \
			const uint64_t *map_ = pool_map(hw, (g)->line[i].u.map);           \
			for (uint32_t w_ = 0; w_ < (hw)->words_per_map; w_++)              \
				for (uint64_t b_ = map_[w_]; b_; b_ &= b_ - 1) {           \
					int c = (int)(w_ * 64 + (uint32_t)__builtin_ctzll(b_)); \
					body;                                              \
				}                                                          \
		} else {                                                                   \
			int c = (g)->line[i].u.one.holder;                                 \
			body;                                                              \
		}                                                                          \
	} while (0)

/* The group of line if line is in the directory, else NULL. */
static inline struct dir_group *dir_find(struct hw_model *hw, uint64_t line)
{
	struct dir_group *g = dir_group_find(hw, line);
	return g && ln_bit(g->present, ln_idx(line)) ? g : NULL;
}

bool hw_core_owns(struct hw_model *hw, int core, uint64_t line)
{
	struct dir_group *g = dir_find(hw, line);
	return g && !ln_bit(g->shared, ln_idx(line)) && holds(hw, g, ln_idx(line), core);
}

bool hw_core_holds(struct hw_model *hw, int core, uint64_t line)
{
	struct dir_group *g = dir_find(hw, line);
	return g && holds(hw, g, ln_idx(line), core);
}

/* Line i of g: its holders hold it in L2; shared means >= 2 holders, modified exactly 1. */
static char *dir_check_line(struct hw_model *hw, struct dir_group *g, unsigned i)
{
	uint64_t line = g->key << DIR_GROUP_SHIFT | i;
	int n = 0;
	for_each_holder(hw, g, i, c, {
		n++;
		if (c < 0 || c >= hw->nr_cores || !cache_probe(&hw->core[c].l2, line))
			return g_strdup_printf("core %d holds line %#llx but its L2 does not", c,
					       (unsigned long long)line);
	});
	if (ln_bit(g->shared, i) && n < 2)
		return g_strdup_printf("line %#llx shared by %d cores", (unsigned long long)line,
				       n);
	if (ln_bit(g->dirty, i) && n != 1)
		return g_strdup_printf("line %#llx modified in %d cores", (unsigned long long)line,
				       n);
	return NULL;
}

char *dir_check(struct hw_model *hw)
{
	uint64_t groups = 0;
	for (uint64_t s = 0; s <= hw->dir_mask; s++) {
		struct dir_group *g = hw->dir[s].g;
		if (!hw->dir[s].key)
			continue;
		groups++;
		if (hw->dir[s].key != g->key + 1 || !g->present)
			return g_strdup_printf("directory group %#llx: bad key or empty",
					       (unsigned long long)g->key);
		if (dir_group_find(hw, g->key << DIR_GROUP_SHIFT) != g)
			return g_strdup_printf("directory group %#llx unreachable",
					       (unsigned long long)g->key);
		if ((g->dirty | g->shared) & ~g->present)
			return g_strdup_printf("directory group %#llx: state of absent lines",
					       (unsigned long long)g->key);
		for (uint64_t b = g->present; b; b &= b - 1) {
			char *err = dir_check_line(hw, g, (unsigned)__builtin_ctzll(b));
			if (err)
				return err;
		}
	}
	if (groups != hw->dir_used)
		return g_strdup_printf("directory counts %llu groups, holds %llu",
				       (unsigned long long)hw->dir_used,
				       (unsigned long long)groups);
	return NULL;
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
	struct dir_group *g = dir_find(hw, victim);
	unsigned i = ln_idx(victim);
	if (!g || !holds(hw, g, i, k))
		return; /* a stale tag */
	uint64_t dummy;
	cache_access(&hw->llc[hw->core[k].llc], victim, &dummy);
	if (holder_remove(hw, g, i, k))
		dir_delete(hw, g, i); /* a modified line has one holder: it goes here */
}

/*
 * Bring `line` into core k's L1D and L2 (the LLC gets it when the L2 evicts it).  May
 * delete other directory entries and groups (evictions): group pointers taken before are
 * invalid after, unless the group holds a line that stays in the directory.
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

#define QUEUE_MAX_NS 1000000 /* 1 ms */

sim_time_t hw_line_access(struct hw_model *hw, int cpu, uint64_t line, enum hw_kind kind,
			  sim_time_t now, struct task_stats *st)
{
	const int k = hw->cpu[cpu].core;
	const bool write = kind != HW_LOAD;
	const unsigned i = ln_idx(line);
	struct dir_group *g = dir_group_find(hw, line);
	const bool present = g && ln_bit(g->present, i);
	sim_time_t cost;

	/*
	 * A line another CPU writes is owned by it until its access completes (`stamp`: the
	 * completion time of the last write, ns; it wraps every 4.3 s, a window between syncs
	 * is microseconds).  An access issued before then queues behind it, as a contended
	 * line serialises its owners on hardware: each waiter pays the wait plus its own
	 * transfer.  The same rule absorbs run-ahead, where a task ahead in simulated time
	 * wrote the line before (in host order) a task behind it reads it.
	 */
	sim_time_t queue = 0;
	if (present && ln_bit(g->dirty, i) && dir_writer(g, i) != cpu) {
		int32_t ahead = (int32_t)(g->line[i].stamp - (uint32_t)(now / PS_PER_NS));
		/* A real wait is at most a few microseconds of run-ahead plus a queue of
		 * transfers; beyond QUEUE_MAX the stamp is one that wrapped (a line idle for
		 * 2^32 ns), not a pending write. */
		if (ahead > 0 && ahead < QUEUE_MAX_NS) {
			queue = (sim_time_t)ahead * PS_PER_NS;
			count(st, EV_HW_LINE_QUEUED);
		}
	}

	if (!present) {
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
		g = dir_insert(hw, dir_group_find(hw, line), line, k);
	} else if (holds(hw, g, i, k)) {
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
		int wr = dir_writer(g, i);
		if (ln_bit(g->dirty, i) && wr >= 0 && wr != cpu) {
			/* The sibling thread's store is in the shared L1D but not yet visible
			 * to us without a pipeline round trip (the SMT ping-pong figure). */
			cost = hw->xfer[REL_SMT] > cost ? hw->xfer[REL_SMT] : cost;
			count(st, EV_C2C);
		}
		if (write && ln_bit(g->shared, i)) {
			/* Upgrade: invalidate every other holder, wait for the farthest. */
			sim_time_t far = 0;
			for_each_holder(hw, g, i, c, {
				if (c != k) {
					sim_time_t x = hw->xfer[hw_core_relation(hw, k, c)];
					far = x > far ? x : far;
				}
			});
			cost = far > cost ? far : cost;
			holder_set_only(hw, g, i, k);
			count(st, EV_C2C);
		}
	} else {
		/* Other cores hold it; I do not. */
		if (ln_bit(g->dirty, i)) {
			/* Modified in exactly one other core: it forwards the line. */
			cost = hw->xfer[hw_core_relation(hw, k, g->line[i].u.one.holder)];
			count(st, EV_C2C);
		} else {
			sim_time_t near = INT64_MAX, far = 0;
			bool in_domain = false;
			for_each_holder(hw, g, i, c, {
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
		g = dir_find(hw, line);
		if (write) {
			holder_set_only(hw, g, i, k);
		} else {
			/* A modified copy is written back as the owner keeps a shared one;
			 * the LLC sees it only when an L2 evicts it. */
			holder_add(hw, g, i, k);
		}
		g->dirty &= ~(1ULL << i);
		dir_set_writer(g, i, -1);
	}

	switch (kind) {
	case HW_LOAD: {
		int wr = dir_writer(g, i);
		if (wr >= 0 && wr != cpu)
			dir_set_writer(g, i, -1); /* the sibling's write is now observed */
		break;
	}
	case HW_RMW:
		/* Uncontended: the atomic's own latency; contended: the transfer. */
		if (cost < hw->rmw)
			cost = hw->rmw;
		/* fall through */
	case HW_STORE:
	case HW_BULK_STORE:
	case HW_PREFETCHW_RFO:
		/* A prefetchw whose caller writes the line next (the #PF entry before the
		 * trylock's atomic) owns it like a store: later accessors queue behind its
		 * RFO, and the atomic that follows finds it modified here. */
		holder_set_only(hw, g, i, k); /* normalises a bitmap left with one holder */
		g->dirty |= 1ULL << i;
		dir_set_writer(g, i, cpu);
		/* Truncated to the ns: a hand-off observed exactly at completion must not
		 * queue for a rounding remainder. */
		g->line[i].stamp = (uint32_t)((now + queue + cost) / PS_PER_NS);
		break;
	case HW_PREFETCHW:
		/* Exclusive, clean: the following store upgrades silently. */
		holder_set_only(hw, g, i, k);
		g->dirty &= ~(1ULL << i);
		dir_set_writer(g, i, -1);
		cost = hw->l1;
		break;
	}
	return queue + cost;
}
