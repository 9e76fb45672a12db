/*
 * The per-run state of the hardware model (see hw.h for the interface and
 * docs/model-hw.md for what is modelled).  Internal to models/hw and its unit tests.
 *
 * Three parts, each in its own file:
 *  - topology and costs (hw.c): every CPU's core, LLC domain, socket and NUMA node, and
 *    the preset's latencies converted once to picoseconds;
 *  - caches and coherence (cache.c, coherence.c): per-core L1D and L2 tag arrays, one LLC
 *    tag array per LLC domain, and a directory of the lines held in private caches;
 *  - TLBs and shootdowns (tlb.c): per-CPU L1 dTLB (4 KiB and 2 MiB) and STLB.
 *
 * Coherence is tracked per core: SMT siblings share their core's L1D and L2, so a line is
 * held by cores; `writer` remembers which hardware thread wrote it last, so a sibling
 * reading it pays the SMT transfer the ping-pong measurements show.
 */
#ifndef MMSIM_HW_MODEL_H
#define MMSIM_HW_MODEL_H

#include <stdint.h>
#include "cache.h"
#include "machine.h"
#include "simtime.h"
#include "task.h"

enum cpu_relation { REL_SELF, REL_SMT, REL_LLC, REL_SOCKET, REL_REMOTE, NR_REL };

/*
 * The directory is kept by groups of 64 consecutive simulated lines (DIR_GROUP_LINES): a
 * 4 KiB page of user memory, or 64 kernel lines numbered one after the other in
 * first-touch order (hw_line_of).  A fault's accesses cluster: clear_page writes all 64
 * lines of one page, and the L2 victims it evicts are mostly the lines of one older page,
 * so one group lookup serves many line accesses and the state they touch is contiguous in
 * host memory.  (Keyed by single lines, each access was a host cache miss into a table of
 * millions of entries.)  The state of each line is still exact and independent.
 *
 * Per line, 8 bytes.  A line held by one core (M, E, or a single S copy) names it inline
 * with the thread that wrote it last; a line shared by several cores points to a bitmap of
 * cores in the pool (shared lines are clean: no writer).  Whether the line is present,
 * modified or shared is a bit in the group's masks.
 */
#define DIR_GROUP_SHIFT 6
#define DIR_GROUP_LINES (1u << DIR_GROUP_SHIFT)

struct dir_line {
	uint32_t stamp;          /* ns (mod 2^32): when the last write completes (line queueing) */
	union {
		struct {
			uint16_t holder; /* not shared: the holder core */
			int16_t writer;  /* CPU whose write its SMT sibling has not seen; -1 */
		} one;
		uint32_t map;            /* shared: 1 + index of a bitmap in the pool */
	} u;
};

struct dir_group {
	uint64_t key;            /* line >> DIR_GROUP_SHIFT; free list link when unused */
	uint64_t present;        /* lines held in some private cache (>= 1 holder) */
	uint64_t dirty;          /* modified in their single holder's private cache */
	uint64_t shared;         /* held by >= 2 cores: u.map is a bitmap */
	struct dir_line line[DIR_GROUP_LINES];
};

/* A slot of the group hash table: key + 1 (0: empty) and the group's record. */
struct dir_slot {
	uint64_t key;
	struct dir_group *g;
};

struct hw_core {
	struct cache l1d, l2;
	int llc;                 /* LLC domain */
	int socket;
};

/* A TLB structure: key = valid | page-size bit | vpn | asid; val = pfn | writable. */
struct tlb_array {
	uint64_t *key, *val;
	uint32_t nsets;
	uint16_t ways;
};

struct hw_cpu {
	int core, llc, socket, node;
	struct tlb_array l1_4k, l1_2m, stlb;
	struct sim_task *task;   /* the task running here (for IPIs), NULL if none yet */
	unsigned loaded_asid;    /* address space whose translations are live (switch_mm) */
	/* call_single_queue: per-CPU llist head that IPI senders llist_add to (own line) */
	uint64_t *csq;
	/* An outstanding prefetchw (hw_prefetchw_async): its line (0: none) and when its RFO
	 * completes (ps).  The CPU's next access to that line waits for the rest. */
	uint64_t pf_line;
	sim_time_t pf_done;
};

#define HW_LCACHE 1024

struct hw_model {
	const struct machine *m;
	int nr_cpus, nr_cores, nr_llc, nr_nodes;
	struct hw_cpu *cpu;
	struct hw_core *core;
	struct cache *llc;       /* [nr_llc] */

	/* Costs in ps. */
	sim_time_t l1, l2, llc_hit, dram_local, dram_remote, rmw;
	sim_time_t xfer[NR_REL];
	sim_time_t stlb_hit, invlpg, flush_base, cr3_flush, irq_entry_exit;
	int flush_ceiling;

	/* Directory: groups in an open-addressing table (linear probing, backward-shift
	 * deletion); records in chunks that never move, recycled through a free list. */
	struct dir_slot *dir;
	uint64_t dir_mask;       /* capacity - 1 */
	uint64_t dir_used;
	int dir_shift;           /* 64 - log2(capacity) */
	struct dir_group **dir_chunks;
	uint32_t dir_nchunks, dir_chunk_used;
	struct dir_group *dir_free_rec;
	/* The two groups found last, most recent first (a bulk write alternates between the
	 * page written and the page its L2 victims belong to); NULL after a deletion. */
	struct dir_group *dir_last[2];
	/* Holder bitmaps for widely shared lines: words_per_map words each. */
	uint64_t *pool;
	uint32_t pool_len, pool_cap, pool_free; /* free list through word 0, 1-based */
	uint32_t words_per_map;

	uint8_t *csq_mem;        /* backing store of the per-CPU call_single_queue lines */
	uint32_t *tag_mem;       /* every cache's tag array, in one lazily mapped region */
	size_t tag_bytes;

	/* Host line -> simulated line, numbered in first-touch order (see hw_line_of). */
	uint64_t *lmap;          /* pairs: host line + 1 (0: empty), simulated line */
	uint64_t lmap_mask, lmap_used, next_line;
	/* Recent translations, direct-mapped by host line (a host line's number never
	 * changes within a run); hline ~0 marks an empty entry. */
	struct { uint64_t hline, line; } lcache[HW_LCACHE];
};

/*
 * The simulated line number of a host address.  Heap addresses, and even the offsets of
 * objects within host pages, change from run to run (ASLR, allocation order inside the
 * libraries we link), and the set a line maps to, or its NUMA home, must not.  So each host
 * line gets a simulated line number in the order lines are first touched, which the
 * deterministic simulation fixes.  Which objects share a line is still decided by their
 * layout: model objects are allocated 64-byte aligned, so that is deterministic too.
 * Pseudo-physical addresses of user pages (bit 62) are already simulated.
 */
uint64_t hw_line_lookup(struct hw_model *hw, uint64_t hline);
void hw_user_line_too_high(uint64_t addr) __attribute__((noreturn));
static inline uint64_t hw_line_of(struct hw_model *hw, uint64_t addr)
{
	if (addr >> 62) {
		/* Cache tags keep 31 bits of a user line (cache.h): pfns below 2^25. */
		if (__builtin_expect((addr & ((1ULL << 62) - 1)) >> 37, 0))
			hw_user_line_too_high(addr);
		return addr >> 6;
	}
	uint64_t hline = addr >> 6;
	typeof(hw->lcache[0]) *c = &hw->lcache[hline & (HW_LCACHE - 1)];
	if (c->hline != hline) {
		c->line = hw_line_lookup(hw, hline);
		c->hline = hline;
	}
	return c->line;
}

static inline enum cpu_relation hw_core_relation(const struct hw_model *hw, int a, int b)
{
	if (a == b)
		return REL_SMT;
	if (hw->core[a].llc == hw->core[b].llc)
		return REL_LLC;
	if (hw->core[a].socket == hw->core[b].socket)
		return REL_SOCKET;
	return REL_REMOTE;
}

static inline enum cpu_relation hw_cpu_relation(const struct hw_model *hw, int a, int b)
{
	if (a == b)
		return REL_SELF;
	return hw_core_relation(hw, hw->cpu[a].core, hw->cpu[b].core);
}

/* coherence.c */
void dir_init(struct hw_model *hw);
void dir_free(struct hw_model *hw);
/* The group of line (NULL if none of its lines is in the directory). */
struct dir_group *dir_group_find(struct hw_model *hw, uint64_t line);
/* Every line in the directory has holders that hold it in L2, a modified line one (NULL). */
char *dir_check(struct hw_model *hw);
/* The NUMA node whose memory holds the line (interleaved by 4 KiB page). */
int hw_home_node(const struct hw_model *hw, uint64_t line);
enum hw_kind {
	HW_LOAD, HW_STORE, HW_RMW, HW_PREFETCHW,
	HW_PREFETCHW_RFO, /* prefetchw whose caller accounts the overlap: costs the full RFO */
	HW_BULK_STORE,  /* a store of clear/copy_page: state as a store, cost charged apart */
};
/*
 * The cost for `cpu` of one access of `kind` to `line` at local time now, applying the
 * coherence and cache state change; counts cache events in st (may be NULL).
 */
sim_time_t hw_line_access(struct hw_model *hw, int cpu, uint64_t line, enum hw_kind kind,
			  sim_time_t now, struct task_stats *st);
/* Is core the only holder (M or E)? */
bool hw_core_owns(struct hw_model *hw, int core, uint64_t line);
/* Does core hold a valid copy? (tests) */
bool hw_core_holds(struct hw_model *hw, int core, uint64_t line);

/* tlb.c */
void tlb_init_cpu(struct hw_model *hw, struct hw_cpu *c);
void tlb_free_cpu(struct hw_cpu *c);

#endif
