/*
 * The swap device (models/mm/swap.c): where reclaim writes unreferenced anonymous pages
 * and whence do_swap_page reads them back.  Scenario field `swap_mb` (0: no device, the
 * default; reclaim then keeps anonymous folios as before).  The model and its sources:
 * docs/model-mm.md, Swap.
 */
#ifndef MMSIM_SWAP_H
#define MMSIM_SWAP_H

#include "mm/mm.h"
#include "mm/fs.h"

/*
 * swap_map values (mm/swapfile.c): the low bits count the swap entries (PTEs) naming the
 * slot; SWAP_HAS_CACHE: a page for the slot is in the swap cache.  SWAP_SLOT_CACHED, alone,
 * marks a slot sitting in a per-CPU slot cache: taken from the device and not handed out
 * yet, or freed and not given back yet.
 */
#define SWAP_HAS_CACHE 0x4000u
#define SWAP_SLOT_CACHED 0x8000u
#define SWAP_COUNT_MASK 0x3fffu
/* SWAP_BATCH / SWAP_SLOTS_CACHE_SIZE (include/linux/swap_slots.h): 64 slots moved between
 * a CPU's cache and the device per si->lock section. */
#define SWAP_SLOTS_CACHE_SIZE 64
/* SWAPFILE_CLUSTER: 256 slots share a cluster lock (ci->lock). */
#define SWAPFILE_CLUSTER 256
/* The checker's pseudo-frame of a slot: frame numbers above every real one. */
#define SWAP_PSEUDO_PFN (1ULL << 40)

/* swap_slots_cache: per CPU, slots ready to hand out and slots freed, each returned to
 * the device in one si->lock section when full.  CPU-local (no lock). */
struct swap_slots_cache {
	unsigned nr, nr_ret;
	uint32_t slots[SWAP_SLOTS_CACHE_SIZE];
	uint32_t slots_ret[SWAP_SLOTS_CACHE_SIZE];
} __attribute__((aligned(64)));

struct swap_cluster {
	struct spinlock lock;   /* ci->lock: swap_map[] of the cluster's slots */
} __attribute__((aligned(64)));

struct swap_info {
	/* si->lock: the allocator's scan position and inuse_pages; taken only by slot
	 * cache refills and returns. */
	struct spinlock lock;
	uint32_t nr_slots;
	uint32_t scan_next;         /* si->lock: where the next refill scan starts */
	uint32_t inuse_pages;       /* si->lock: slots out of the device (incl. cached) */
	uint16_t *swap_map;         /* [nr_slots]; its cluster's lock */
	struct swap_cluster *clusters;
	struct swap_slots_cache *pcp; /* [nr_cpus] */
	int nr_cpus;
	/* The swap cache (swap_address_space): slot -> struct page *, xa_lock for stores,
	 * RCU for lookups. */
	struct xarray cache;
	double read_ns, write_ns;   /* device latency per 4 KiB page (machine preset) */
	/* The checker: each slot's content generation (bumped at every write), so its
	 * pseudo-frame's old contents read as void, as a frame's content_gen. */
	uint32_t *slot_gen;
	bool no_writeback;          /* inject = "swap-no-writeback" */
};

/* A device of `bytes` (page multiple) for a zone of nr_cpus CPUs; latencies in ns. */
struct swap_info *swap_create(uint64_t bytes, int nr_cpus, double read_ns, double write_ns);
void swap_destroy(struct swap_info *si);

/*
 * shrink_folio_list's anonymous branch with swap space: add_to_swap (a slot, the swap
 * cache), try_to_unmap (every PTE becomes the swap entry), pageout (the device write;
 * the task sleeps), __remove_mapping (out of the swap cache, references frozen at 0).
 * The caller holds the folio lock and an isolation reference.  True: the folio is free
 * to go back to the allocator (refcount 0); false: kept (mapped again, no slot).
 */
bool swap_out_folio(struct sim_task *t, struct zone *z, struct mm_struct *check_mm,
		    struct page *p);
/* do_swap_page for the swap entry `orig` met at addr (table pt under *pmd): the locked
 * fault core's path (models/mm/fault.c), and khugepaged's swap-in (collapse_steps.c). */
vm_fault_t do_swap_page(struct sim_task *t, struct vm_area_struct *vma, unsigned long addr,
			unsigned int flags, pteval_t *pmd, struct page *pt, pteval_t orig);
/* copy_nonpresent_pte: fork copies a swap entry (both PTE locks held): swap_duplicate. */
void copy_swap_pte(struct sim_task *t, struct mm_struct *dst_mm, pteval_t *src, pteval_t *dst);
/* zap_nonpresent_ptes: free_swap_and_cache for a swap entry (its PTE lock held).  Returns
 * the cached page if it left the swap cache with its last reference (refcount 0), for
 * the caller to free after the PTE lock, with the gather's pages; else NULL. */
struct page *zap_swap_pte(struct sim_task *t, struct mm_struct *mm, pteval_t *pte,
			  unsigned long addr);
/*
 * The checker (check.c, end of run): entries maps slot -> swap entries found in every
 * mm's tables.  Each slot's count must equal them, the swap cache must match
 * SWAP_HAS_CACHE, and cached slots must sit in a slot cache.  *cache_only: pages held by
 * the swap cache alone (not in `seen`, the mapped ones, nor `batched`).  NULL or an error.
 */
char *swap_check(const struct zone *z, GHashTable *entries, GHashTable *seen,
		 GHashTable *batched, uint64_t *cache_only);
/* Is p held by the swap cache (one reference)? */
static inline bool folio_test_swapcache(const struct page *p)
{
	return p->flags & PG_swapcache;
}

#endif
