/*
 * Statistics kept apart from output: models bump counters named by event enums and feed
 * latency histograms; sim/report.c turns them into CSV and JSON.
 *
 * The latency histogram is log-linear: 64 linear sub-buckets per power of two of
 * nanoseconds, so any recorded value is reported within 1/64 (1.6 %) of its true value,
 * and merging histograms is exact and order-independent (so results are deterministic).
 */
#ifndef MMSIM_STATS_H
#define MMSIM_STATS_H

#include <stdint.h>
#include <stdbool.h>
#include "simtime.h"

#define HIST_SUB_BITS 6
#define HIST_SUB (1u << HIST_SUB_BITS)
#define HIST_BUCKETS ((64 - HIST_SUB_BITS) * HIST_SUB)

struct latency_hist {
	uint64_t count;
	uint64_t max_ns;
	uint64_t sum_ns;
	uint64_t bucket[HIST_BUCKETS];
};

void hist_record(struct latency_hist *h, uint64_t ns);
void hist_merge(struct latency_hist *dst, const struct latency_hist *src);
/* The smallest recorded-bucket value v such that at least q of the samples are <= v. */
uint64_t hist_quantile(const struct latency_hist *h, double q);

/* Events counted per task; names in stat_event_name[] follow the kernel's vm events. */
enum stat_event {
	EV_FAULT,              /* handle_mm_fault entries (every attempt, incl. retries) */
	EV_FAULT_IN_WINDOW,    /* user-visible faults completed within the scenario's duration */
	EV_FAULT_ANON,         /* do_anonymous_page that installed a fresh page */
	EV_FAULT_ZERO,         /* read fault mapped the shared zero page */
	EV_FAULT_WP,           /* write-protect fault (COW of the zero page) */
	EV_FAULT_RACE,         /* PTE found populated under the PTL: another CPU won */
	EV_FAULT_SIGSEGV,      /* no VMA or access error */
	EV_FAULT_OOM,
	EV_MMAP,
	EV_MUNMAP,
	EV_MPROTECT,
	EV_MADV_DONTNEED,      /* madvise(MADV_DONTNEED) calls */
	/* VMA merges (models/mm/vma.c): a mapped range joined its neighbours */
	EV_VMA_MERGE_PREV,     /* the VMA before the range grew over it */
	EV_VMA_MERGE_NEXT,     /* the VMA after it grew down over it (mprotect: absorbed it) */
	EV_VMA_MERGE_BOTH,     /* the VMA before grew over the range and the VMA after it */
	EV_MMAP_FIXED_REPLACED, /* pages of old mappings a MAP_FIXED mmap replaced */
	EV_USER_ACCESS,        /* user loads/stores issued */
	EV_PAGE_WALK,          /* hardware page walks */
	EV_PGALLOC,            /* data pages allocated */
	EV_PGFREE,             /* data pages freed */
	EV_PT_ALLOC,           /* page-table pages allocated */
	EV_PT_FREE,            /* page-table pages freed */
	EV_ZONE_LOCK,          /* pcp refill or drain under zone->lock */
	EV_MMAP_LOCK_READ_WAIT,  /* classic fault: mmap_read_trylock failed, took down_read */
	EV_MMAP_LOCK_WRITE_WAIT, /* mmap_lock write acquisitions that had to wait */
	EV_SPIN_WAIT,          /* spinlock acquisitions that had to wait */
	/* per-VMA locks (the kernel's CONFIG_PER_VMA_LOCK_STATS vm events) */
	EV_VMA_LOCK_SUCCESS,   /* fault completed under the VMA lock */
	EV_VMA_LOCK_ABORT,     /* no VMA, VMA write-locked, trylock lost, wrong range/mm */
	EV_VMA_LOCK_MISS,      /* VMA detached between walk and lock: walked again */
	EV_VMA_LOCK_RETRY,     /* the handler needed mmap_lock (VM_FAULT_RETRY) */
	EV_MMAP_LOCK_FALLBACK, /* faults that went on to the mmap_lock path */
	EV_VMA_WRITE_WAIT,     /* vma_start_write / detach that waited for readers */
	/* speculative page faults (the SPF patchset's "anon spf statistics") */
	EV_SPF_SUCCESS,        /* fault completed speculatively */
	EV_SPF_ABORT_ODD,      /* mmap_seq odd at the start: a writer held mmap_lock */
	EV_SPF_ABORT_UNMAPPED, /* no VMA at the address in the lockless lookup */
	EV_SPF_ABORT_VMA_COPY, /* mmap_seq changed while the VMA was looked up and copied */
	EV_SPF_ABORT_ACCESS,   /* access_error on the copy: the mmap_lock path reports it */
	EV_SPF_ABORT_NO_TABLE, /* no page table to the PTE (SPF never allocates one) */
	EV_SPF_ABORT_SEQ1,     /* pte_map_lock: mmap_seq changed before the PTL */
	EV_SPF_ABORT_PMD,      /* pte_map_lock: the PMD entry changed since the walk */
	EV_SPF_ABORT_PTL,      /* pte_map_lock: spin_trylock of the PTL failed */
	EV_SPF_ABORT_SEQ2,     /* pte_map_lock: mmap_seq changed, seen under the PTL */
	EV_SPF_ABORT_PTE,      /* the PTE changed under us (another CPU mapped it) */
	EV_SPF_ABORT_NOMEM,    /* the page allocation failed */
	EV_SPF_WASTED_NS,      /* ns from the start of aborted attempts to their abort */
	EV_SPF_ABORT_HUGE_PMD, /* a huge PMD on the path: SPF handles PTE-level faults only */
	EV_SPF_ABORT_COLLAPSE, /* a collapse is at work on the table (marker, PMD sequence) */
	/* full-RCU faults (models/schemes/rcu.c): the tier each fault completed in ... */
	EV_RCU_TIER0,          /* under rcu_read_lock alone, committed under the PTE lock */
	EV_RCU_TIER_PERVMA,    /* after a Tier-0 fallback, under the per-VMA lock */
	EV_RCU_TIER_CLASSIC,   /* after both, under mmap_lock */
	/* ... why Tier 0 fell back (one per fallback) ... */
	EV_RCU_FB_NO_VMA,      /* no VMA at the address, or the access is not permitted */
	EV_RCU_FB_VMA_LOCKED,  /* the VMA was write-locked when sampled */
	EV_RCU_FB_PGTABLE,     /* a page-table level is missing (Tier 0 allocates none) */
	EV_RCU_FB_NOWAIT,      /* the GFP_NOWAIT page allocation failed */
	EV_RCU_FB_SEQ,         /* mm_lock_seq or vm_lock_seq moved by the commit */
	EV_RCU_FB_STALE,       /* at the commit: VMA detached, reused or shrunk, or PMD changed */
	EV_RCU_FB_REENTER,     /* rcu-drop: the sequences moved while outside RCU */
	/* ... and what the fallbacks cost */
	EV_RCU_WASTED_NS,      /* ns of Tier-0 work thrown away by fallbacks (a sum, not a count) */
	EV_PGALLOC_NOWAIT_FAIL, /* GFP_NOWAIT page allocations that failed (zone->nowait_fail) */
	/* THP and khugepaged (models/mm/huge_memory.c, khugepaged.c) */
	EV_THP_FAULT_ALLOC,    /* faults that mapped a huge PMD */
	EV_THP_FAULT_FALLBACK, /* huge faults that fell back to 4 KiB (no order-9 block) */
	EV_THP_SPLIT_PMD,      /* huge PMDs split into PTE tables */
	EV_THP_ZAP_PMD,        /* huge PMDs zapped whole */
	EV_COLLAPSE_WAIT,      /* walkers that met a collapse in progress and waited */
	/* file mappings (models/mm/filemap.c) */
	EV_FAULT_FILE_READ,    /* do_read_fault mapped a page cache page */
	EV_FAULT_FILE_COW,     /* private write: a copy of the cache page mapped (fault or wp) */
	EV_FAULT_FILE_SHARED,  /* do_shared_fault mapped the cache page writable */
	EV_FAULT_FILE_WP,      /* write to a read-only PTE made it writable (shared or reuse) */
	EV_FAULT_MAJOR,        /* file faults that had to read the page from the device */
	EV_PGCACHE_HIT,        /* filemap_fault found the page in the page cache */
	EV_PGCACHE_READ,       /* pages read into the page cache */
	/* anonymous rmap, fork and copy-on-write (models/mm/anon_vma.c, fork.c) */
	EV_VMA_LOCK_NO_ANON_VMA, /* 6.4 lock_vma_under_rcu: VMA without anon_vma (an ABORT) */
	EV_SPF_ABORT_ANON,     /* SPF: write fault needing anon_vma_prepare or a COW copy */
	EV_RCU_FB_ANON_VMA,    /* rcu Tier 0: write fault on a VMA without anon_vma */
	EV_ANON_VMA_PREPARE,   /* anon_vma_prepare that gave a VMA its anon_vma */
	EV_ANON_VMA_PREPARE_LOST, /* ... that found one published meanwhile and freed its own */
	EV_ANON_VMA_REUSE,     /* anon_vma_prepare that gave a VMA a neighbour's anon_vma */
	EV_FAULT_COW,          /* do_wp_page copied a shared anonymous page */
	EV_FAULT_COW_REUSE,    /* do_wp_page reused an exclusive anonymous page */
	EV_FORK,               /* fork(): dup_mmap */
	EV_EXIT_MMAP,          /* exit_mmap of a child */
	/* the mmap_lock line at fault entry (knob prefetchw) */
	EV_FAULT_PREFETCHW_RFO, /* #PF entry prefetchw that had to fetch the mmap_lock line */
	EV_MMAP_LOCK_TRYLOCK_RFO, /* mmap_read_lock whose trylock atomic found the line not
				   * exclusive in its core (an RFO on the atomic's path) */
	/* MMU notifiers and the secondary MMU (models/mm/mmu_notifier.c, secondary_mmu.c) */
	EV_MN_INVALIDATE,      /* invalidate_range_start calls on an mm with subscribers */
	EV_SPF_ABORT_NOTIFIER, /* SPF: a COW with MMU notifiers (callbacks may sleep) */
	EV_RCU_FB_NOTIFIER,    /* rcu Tier 0: a COW with MMU notifiers (not under RCU) */
	EV_SMMU_ACCESS,        /* guest accesses served by the shadow table */
	EV_SMMU_FAULT,         /* guest accesses that faulted into the secondary MMU */
	EV_SMMU_GUP_SLOW,      /* ... whose page was not present: faulted in by the scheme */
	EV_SMMU_FAULT_RETRY,   /* installs refused by mmu_invalidate_seq/in_progress: retried */
	EV_SMMU_INVALIDATE,    /* invalidate_range_start callbacks run by the secondary MMU */
	EV_SMMU_SPTE_ZAP,      /* shadow entries cleared by them */
	/* the rmap walker (models/mm/vmscan.c) */
	EV_RMAP_SCANNED,       /* folios isolated from the LRU and examined */
	EV_RMAP_REFERENCED,    /* ... whose folio_referenced found an accessed bit */
	EV_RMAP_ROTATED,       /* ... put back at the head of the LRU (referenced or kept) */
	EV_RMAP_CONTENDED,     /* rmap walks that gave up on a contended anon_vma/i_mmap lock */
	EV_RMAP_FOLIO_LOCKED,  /* page cache folios skipped: their folio lock was held */
	EV_RECLAIM_UNMAPPED,   /* unreferenced page cache folios unmapped by try_to_unmap */
	EV_RECLAIM_EVICTED,    /* ... clean, taken out of the page cache and freed */
	EV_RECLAIM_DIRTY,      /* ... dirty: kept (no writeback in the model) */
	EV_RECLAIM_ANON_NOSWAP, /* unreferenced anonymous folios put back: no swap to go to */
	EV_MIGRATED,           /* folios moved to a new frame (models/mm/migrate.c) */
	EV_MIGRATE_FAIL,       /* ... not moved: a reference was held elsewhere, or no memory */
	EV_MIGRATE_WAIT,       /* faults that met a migration entry and waited */
	EV_MIGRATE_WAIT_NS,    /* ns those faults slept (a sum, not a count) */
	/* swap (models/mm/swap.c) */
	EV_SWAP_OUT,           /* anonymous pages written to the swap device by reclaim */
	EV_SWAP_OUT_KEPT,      /* ... not freed after all: a fault mapped them back */
	EV_SWAP_FULL,          /* unreferenced anonymous folios kept: no free slot */
	EV_SWAP_IN,            /* pages read back from the device (major faults) */
	EV_SWAP_CACHE_HIT,     /* swap-in faults that found the page in the swap cache */
	EV_SWAP_CACHE_RACE,    /* ... that found another fault adding it and waited */
	EV_FAULT_SWAP,         /* faults resolved by do_swap_page (mapped from swap) */
	EV_COLLAPSE_SWAPIN,    /* swap entries khugepaged swapped in before a collapse */
	EV_SPF_ABORT_NONPRESENT, /* SPF: the PTE was a migration entry */
	EV_RCU_FB_NONPRESENT,  /* rcu Tier 0: the PTE was a migration entry */
	/* hardware model (models/hw) */
	EV_L1_HIT,             /* line accesses served by the core's L1D */
	EV_L2_HIT,             /* ... by its L2 */
	EV_LLC_HIT,            /* ... by the LLC of its socket or CCX */
	EV_DRAM,               /* ... by memory */
	EV_C2C,                /* ... needing another core: transfer or invalidation */
	EV_HW_LINE_QUEUED,     /* accesses that waited for another CPU's write of the line */
	EV_DTLB_HIT,           /* translations from the L1 dTLB */
	EV_STLB_HIT,           /* ... from the STLB */
	EV_TLB_FLUSH,          /* flush_tlb_mm_range calls */
	EV_TLB_SHOOTDOWN_IPI,  /* flush IPIs sent */
	EV_TLB_IPI_IRQS_OFF,   /* of those, handled late: the target had interrupts disabled */
	EV_TLB_LAZY_SKIP,      /* cpumask CPUs skipped in lazy TLB mode */
	EV_IPI_RECEIVED,       /* flush IPIs handled */
	NR_STAT_EVENTS
};

extern const char *const stat_event_name[NR_STAT_EVENTS];

struct task_stats {
	uint64_t ev[NR_STAT_EVENTS];
	struct latency_hist fault_latency; /* one sample per user-visible fault, entry to return */
	sim_time_t busy;                   /* ps charged as CPU work, incl. spinning */
	sim_time_t spin;                   /* ps spent spinning on locks (part of busy) */
	sim_time_t sleep_wait;             /* ps spent asleep on sleeping locks */
	sim_time_t idle;                   /* ps in explicit sleep() */
	sim_time_t irq;                    /* ps in interrupt handlers (part of busy) */
};

static inline void count_event(struct task_stats *s, enum stat_event e)
{
	s->ev[e]++;
}

void task_stats_merge(struct task_stats *dst, const struct task_stats *src);

#endif
