/*
 * The mm side of TLB management: mm_cpumask, switch_mm, flush_tlb_mm_range and the
 * mmu_gather that orders an unmap as the kernel does (mm/mmu_gather.c,
 * arch/x86/mm/tlb.c; kernel-algorithms.md H.5):
 *   1. clear the PTEs under their PTE lock, gathering the pages (pt_zap_range);
 *   2. unlink the emptied page tables, gathering them (pt_free_range);
 *   3. flush the range from every TLB (IPIs to the other CPUs of the mm's cpumask);
 *   4. only then free the pages and the page tables (the tables a grace period later when
 *      faults walk them under RCU alone: mm->pt_free_rcu).
 * Until step 3 another CPU may still translate through an old entry, as on hardware; the
 * pages are still allocated then, so it reads the old data, never a reused page.
 * mprotect uses the same gather with no pages: its flush makes the new protections
 * binding before mmap_lock is dropped.  The `inject` knob breaks steps 3-4 on purpose.
 */
#include "mm.h"
#include "mm/lru.h"
#include "hw/hw.h"
#include "die.h"
#include "sync/rcu.h"
#include "mmu_notifier.h"

void switch_mm(struct sim_task *t, struct mm_struct *mm)
{
	uint64_t *w = &mm->cpumask[t->cpu / 64], bit = 1ULL << (t->cpu % 64);
	sim_bug_on(t->cpu >= mm->zone->nr_cpus);
	if (!(*w & bit)) {
		/* cpumask_set_cpu: an atomic on the mask's line, once per CPU and mm. */
		hw_rmw(t, w, sizeof(*w));
		*w |= bit;
	}
	hw_tlb_switch(t, mm->asid);
}

sim_time_t flush_tlb_mm_range(struct sim_task *t, struct mm_struct *mm, unsigned long start,
			      unsigned long end, bool freed_tables)
{
	switch_mm(t, mm);
	/* The initiator reads the cpumask to pick its targets. */
	hw_load(t, mm->cpumask, sizeof(uint64_t));
	/* x86 flush_tlb_mm_range: secondary TLBs that share these page tables (6.6+). */
	mmu_notifier_arch_invalidate_secondary_tlbs(t, mm, start, end);
	return hw_tlb_flush_range(t, mm->cpumask, mm->zone->nr_cpus, mm->asid, start, end,
				  freed_tables);
}

void tlb_gather_mmu(struct mmu_gather *tlb, struct mm_struct *mm)
{
	*tlb = (struct mmu_gather){
		.mm = mm,
		.start = ~0UL,
		.end = 0,
		.pages = g_ptr_array_new(),
		.tables = g_ptr_array_new(),
	};
}

/* One batch of page tables waiting for a grace period (struct mmu_table_batch). */
struct pt_rcu_batch {
	struct rcu_head head;
	struct mm_struct *mm;
	GPtrArray *tables;
};

static void pt_rcu_batch_free(struct sim_task *t, struct rcu_head *head)
{
	struct pt_rcu_batch *b = (struct pt_rcu_batch *)head;
	/* Each table stops counting as pending just before its free, whose only blocking
	 * point (the pcp drain's zone lock) comes after the page is back on a pcp list: so
	 * the pending count and the pages in use agree wherever this callback is parked, or
	 * stopped with the rcu_gp daemon at the end of the run (the checker counts both). */
	for (unsigned i = 0; i < b->tables->len; i++) {
		b->mm->nr_pt_rcu_pending--;
		pt_free_table(t, b->mm, g_ptr_array_index(b->tables, i));
	}
	g_ptr_array_free(b->tables, TRUE);
	g_free(b);
}

/*
 * tlb_remove_table with MMU_GATHER_RCU_TABLE_FREE: a walker under rcu_read_lock alone
 * may still be reading the tables (and spinning on their split locks), and the flush
 * IPIs do not wait for it, so the tables go back to the allocator one grace period
 * later, as one batch.
 */
static void pt_free_tables_rcu(struct sim_task *t, struct mmu_gather *tlb)
{
	struct pt_rcu_batch *b = g_new0(struct pt_rcu_batch, 1);
	b->mm = tlb->mm;
	b->tables = tlb->tables;
	tlb->tables = g_ptr_array_new();
	tlb->mm->nr_pt_rcu_pending += b->tables->len;
	call_rcu(t, &b->head, pt_rcu_batch_free);
}

static void tlb_free_gathered(struct sim_task *t, struct mmu_gather *tlb)
{
	struct mm_struct *mm = tlb->mm;
	for (unsigned i = 0; i < tlb->pages->len; i++) {
		struct page *p = g_ptr_array_index(tlb->pages, i);
		if (mm->checker)
			mm_check_event(t, mm, p->index << PAGE_SHIFT, MEV_PAGE_FREE, p->pfn);
	}
	/* release_pages: off the LRU, uncharged, freed, as one batch. */
	if (tlb->pages->len)
		folios_free(t, mm->zone, (struct page **)tlb->pages->pdata, tlb->pages->len);
	if (mm->pt_free_rcu && tlb->tables->len)
		pt_free_tables_rcu(t, tlb);
	for (unsigned i = 0; i < tlb->tables->len; i++)
		pt_free_table(t, mm, g_ptr_array_index(tlb->tables, i));
	g_ptr_array_set_size(tlb->pages, 0);
	g_ptr_array_set_size(tlb->tables, 0);
}

void tlb_finish_mmu(struct sim_task *t, struct mmu_gather *tlb)
{
	struct mm_struct *mm = tlb->mm;
	if (mm->inject == INJECT_FREE_BEFORE_FLUSH)
		tlb_free_gathered(t, tlb); /* injected bug: other CPUs may still use them */
	if (tlb->start < tlb->end && mm->inject != INJECT_SKIP_TLB_FLUSH)
		flush_tlb_mm_range(t, mm, tlb->start, tlb->end, tlb->freed_tables);
	tlb_free_gathered(t, tlb);
	g_ptr_array_free(tlb->pages, TRUE);
	g_ptr_array_free(tlb->tables, TRUE);
	tlb->pages = tlb->tables = NULL;
}
