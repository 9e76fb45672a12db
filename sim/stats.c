/*
 * Counters and log-linear latency histograms (see stats.h).
 */
#include <string.h>
#include "stats.h"

const char *const stat_event_name[NR_STAT_EVENTS] = {
	[EV_FAULT] = "pgfault",
	[EV_FAULT_IN_WINDOW] = "fault_in_duration",
	[EV_FAULT_ANON] = "fault_anon",
	[EV_FAULT_ZERO] = "fault_zero_page",
	[EV_FAULT_WP] = "fault_wp_copy",
	[EV_FAULT_RACE] = "fault_pte_race",
	[EV_FAULT_SIGSEGV] = "fault_sigsegv",
	[EV_FAULT_OOM] = "fault_oom",
	[EV_MMAP] = "mmap",
	[EV_MUNMAP] = "munmap",
	[EV_MPROTECT] = "mprotect",
	[EV_MADV_DONTNEED] = "madvise_dontneed",
	[EV_VMA_MERGE_PREV] = "vma_merge_expand_prev",
	[EV_VMA_MERGE_NEXT] = "vma_merge_expand_next",
	[EV_VMA_MERGE_BOTH] = "vma_merge_both",
	[EV_MMAP_FIXED_REPLACED] = "mmap_fixed_replaced",
	[EV_USER_ACCESS] = "user_access",
	[EV_PAGE_WALK] = "page_walk",
	[EV_PGALLOC] = "pgalloc",
	[EV_PGFREE] = "pgfree",
	[EV_PT_ALLOC] = "pgtable_alloc",
	[EV_PT_FREE] = "pgtable_free",
	[EV_ZONE_LOCK] = "zone_lock",
	[EV_MMAP_LOCK_READ_WAIT] = "mmap_read_trylock_fail",
	[EV_MMAP_LOCK_WRITE_WAIT] = "mmap_write_lock_wait",
	[EV_SPIN_WAIT] = "spin_wait",
	[EV_VMA_LOCK_SUCCESS] = "vma_lock_success",
	[EV_VMA_LOCK_ABORT] = "vma_lock_abort",
	[EV_VMA_LOCK_MISS] = "vma_lock_miss",
	[EV_VMA_LOCK_RETRY] = "vma_lock_retry",
	[EV_MMAP_LOCK_FALLBACK] = "mmap_lock_fallback",
	[EV_VMA_WRITE_WAIT] = "vma_write_wait",
	[EV_SPF_SUCCESS] = "spf_success",
	[EV_SPF_ABORT_ODD] = "spf_abort_odd",
	[EV_SPF_ABORT_UNMAPPED] = "spf_abort_unmapped",
	[EV_SPF_ABORT_VMA_COPY] = "spf_abort_vma_copy",
	[EV_SPF_ABORT_ACCESS] = "spf_abort_access_error",
	[EV_SPF_ABORT_NO_TABLE] = "spf_abort_no_table",
	[EV_SPF_ABORT_SEQ1] = "spf_abort_pte_map_lock_seq1",
	[EV_SPF_ABORT_PMD] = "spf_abort_pte_map_lock_pmd",
	[EV_SPF_ABORT_PTL] = "spf_abort_pte_map_lock_ptl",
	[EV_SPF_ABORT_SEQ2] = "spf_abort_pte_map_lock_seq2",
	[EV_SPF_ABORT_PTE] = "spf_abort_pte_race",
	[EV_SPF_ABORT_NOMEM] = "spf_abort_nomem",
	[EV_SPF_WASTED_NS] = "spf_wasted_ns",
	[EV_SPF_ABORT_HUGE_PMD] = "spf_abort_huge_pmd",
	[EV_SPF_ABORT_COLLAPSE] = "spf_abort_collapse",
	[EV_RCU_TIER0] = "rcu_fault_tier0",
	[EV_RCU_TIER_PERVMA] = "rcu_fault_pervma",
	[EV_RCU_TIER_CLASSIC] = "rcu_fault_classic",
	[EV_RCU_FB_NO_VMA] = "rcu_fallback_no_vma",
	[EV_RCU_FB_VMA_LOCKED] = "rcu_fallback_vma_locked",
	[EV_RCU_FB_PGTABLE] = "rcu_fallback_pgtable",
	[EV_RCU_FB_NOWAIT] = "rcu_fallback_nowait",
	[EV_RCU_FB_SEQ] = "rcu_fallback_seq",
	[EV_RCU_FB_STALE] = "rcu_fallback_stale",
	[EV_RCU_FB_REENTER] = "rcu_fallback_reenter",
	[EV_RCU_WASTED_NS] = "rcu_fallback_wasted_ns",
	[EV_PGALLOC_NOWAIT_FAIL] = "pgalloc_nowait_fail",
	[EV_THP_FAULT_ALLOC] = "thp_fault_alloc",
	[EV_THP_FAULT_FALLBACK] = "thp_fault_fallback",
	[EV_THP_SPLIT_PMD] = "thp_split_pmd",
	[EV_THP_ZAP_PMD] = "thp_zap_pmd",
	[EV_COLLAPSE_WAIT] = "collapse_wait",
	[EV_FAULT_FILE_READ] = "fault_file_read",
	[EV_FAULT_FILE_COW] = "fault_file_cow",
	[EV_FAULT_FILE_SHARED] = "fault_file_shared",
	[EV_FAULT_FILE_WP] = "fault_file_wp",
	[EV_FAULT_MAJOR] = "fault_major",
	[EV_PGCACHE_HIT] = "pgcache_hit",
	[EV_PGCACHE_READ] = "pgcache_read",
	[EV_VMA_LOCK_NO_ANON_VMA] = "vma_lock_no_anon_vma",
	[EV_SPF_ABORT_ANON] = "spf_abort_anon",
	[EV_RCU_FB_ANON_VMA] = "rcu_fallback_anon_vma",
	[EV_ANON_VMA_PREPARE] = "anon_vma_prepare",
	[EV_ANON_VMA_PREPARE_LOST] = "anon_vma_prepare_lost",
	[EV_ANON_VMA_REUSE] = "anon_vma_reuse",
	[EV_FAULT_COW] = "fault_cow_copy",
	[EV_FAULT_COW_REUSE] = "fault_cow_reuse",
	[EV_FORK] = "fork",
	[EV_EXIT_MMAP] = "exit_mmap",
	[EV_FAULT_PREFETCHW_RFO] = "fault_prefetchw_rfo",
	[EV_MMAP_LOCK_TRYLOCK_RFO] = "mmap_lock_trylock_rfo",
	[EV_MN_INVALIDATE] = "mmu_notifier_invalidate",
	[EV_SPF_ABORT_NOTIFIER] = "spf_abort_notifier",
	[EV_RCU_FB_NOTIFIER] = "rcu_fallback_notifier",
	[EV_SMMU_ACCESS] = "smmu_access",
	[EV_SMMU_FAULT] = "smmu_fault",
	[EV_SMMU_GUP_SLOW] = "smmu_gup_slow",
	[EV_SMMU_FAULT_RETRY] = "smmu_fault_retry",
	[EV_SMMU_INVALIDATE] = "smmu_invalidate",
	[EV_SMMU_SPTE_ZAP] = "smmu_spte_zap",
	[EV_RMAP_SCANNED] = "rmap_scanned",
	[EV_RMAP_REFERENCED] = "rmap_referenced",
	[EV_RMAP_ROTATED] = "rmap_rotated",
	[EV_RMAP_CONTENDED] = "rmap_walk_contended",
	[EV_RMAP_FOLIO_LOCKED] = "rmap_folio_locked",
	[EV_RECLAIM_UNMAPPED] = "reclaim_unmapped",
	[EV_RECLAIM_EVICTED] = "reclaim_evicted",
	[EV_RECLAIM_DIRTY] = "reclaim_dirty_kept",
	[EV_RECLAIM_ANON_NOSWAP] = "reclaim_anon_noswap",
	[EV_MIGRATED] = "migrated",
	[EV_MIGRATE_FAIL] = "migrate_fail",
	[EV_MIGRATE_WAIT] = "migration_entry_wait",
	[EV_MIGRATE_WAIT_NS] = "migration_entry_wait_ns",
	[EV_SWAP_OUT] = "swap_out",
	[EV_SWAP_OUT_KEPT] = "swap_out_kept",
	[EV_SWAP_FULL] = "swap_full",
	[EV_SWAP_IN] = "swap_in",
	[EV_SWAP_CACHE_HIT] = "swap_cache_hit",
	[EV_SWAP_CACHE_RACE] = "swap_cache_race",
	[EV_FAULT_SWAP] = "fault_swap",
	[EV_COLLAPSE_SWAPIN] = "collapse_swapin",
	[EV_SPF_ABORT_NONPRESENT] = "spf_abort_nonpresent",
	[EV_RCU_FB_NONPRESENT] = "rcu_fallback_nonpresent",
	[EV_L1_HIT] = "l1d_hit",
	[EV_L2_HIT] = "l2_hit",
	[EV_LLC_HIT] = "llc_hit",
	[EV_DRAM] = "dram",
	[EV_C2C] = "c2c_transfer",
	[EV_HW_LINE_QUEUED] = "hw_line_queued",
	[EV_DTLB_HIT] = "dtlb_hit",
	[EV_STLB_HIT] = "stlb_hit",
	[EV_TLB_FLUSH] = "tlb_flush",
	[EV_TLB_SHOOTDOWN_IPI] = "tlb_shootdown_ipi",
	[EV_TLB_IPI_IRQS_OFF] = "tlb_ipi_irqs_off",
	[EV_TLB_LAZY_SKIP] = "tlb_lazy_skip",
	[EV_IPI_RECEIVED] = "ipi_received",
};

static unsigned hist_index(uint64_t v)
{
	if (v < HIST_SUB)
		return (unsigned)v;
	unsigned msb = 63u - (unsigned)__builtin_clzll(v);
	unsigned shift = msb - HIST_SUB_BITS;
	unsigned sub = (unsigned)(v >> shift) & (HIST_SUB - 1);
	return (shift + 1) * HIST_SUB + sub;
}

/* Upper bound of the values that land in bucket i. */
static uint64_t hist_value(unsigned i)
{
	if (i < HIST_SUB)
		return i;
	unsigned shift = i / HIST_SUB - 1;
	uint64_t sub = i % HIST_SUB;
	return ((HIST_SUB + sub + 1) << shift) - 1;
}

void hist_record(struct latency_hist *h, uint64_t ns)
{
	h->count++;
	h->sum_ns += ns;
	if (ns > h->max_ns)
		h->max_ns = ns;
	h->bucket[hist_index(ns)]++;
}

void hist_merge(struct latency_hist *dst, const struct latency_hist *src)
{
	dst->count += src->count;
	dst->sum_ns += src->sum_ns;
	if (src->max_ns > dst->max_ns)
		dst->max_ns = src->max_ns;
	for (unsigned i = 0; i < HIST_BUCKETS; i++)
		dst->bucket[i] += src->bucket[i];
}

uint64_t hist_quantile(const struct latency_hist *h, double q)
{
	if (!h->count)
		return 0;
	uint64_t rank = (uint64_t)ceil(q * (double)h->count);
	if (rank < 1)
		rank = 1;
	uint64_t seen = 0;
	for (unsigned i = 0; i < HIST_BUCKETS; i++) {
		seen += h->bucket[i];
		if (seen >= rank) {
			uint64_t v = hist_value(i);
			return v < h->max_ns ? v : h->max_ns;
		}
	}
	return h->max_ns;
}

void task_stats_merge(struct task_stats *dst, const struct task_stats *src)
{
	for (int i = 0; i < NR_STAT_EVENTS; i++)
		dst->ev[i] += src->ev[i];
	hist_merge(&dst->fault_latency, &src->fault_latency);
	dst->busy += src->busy;
	dst->spin += src->spin;
	dst->sleep_wait += src->sleep_wait;
	dst->idle += src->idle;
	dst->irq += src->irq;
}
